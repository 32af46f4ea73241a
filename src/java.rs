//! Java compatibility: what AWS's Java implementation does where statejet must match it, for the
//! intrinsic functions (`vm::intrinsic`) and AWS's JSONata functions (`jsonata`) alike: Java's
//! `toString` of JSON values and of doubles, Jackson's compact JSON, `hashCode`/`equals` and
//! `HashSet` order, `java.util.Random`, and the digests `States.Hash` and `$hash` offer.
//!
//! Invariant: below both `vm` and `jsonata` (it imports neither): pure functions of their inputs.

use std::collections::HashMap;

use crate::value::Value;

/// `java.util.Random`: a 48-bit linear congruential generator.
pub struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    pub fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed as u64 ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        (self.seed >> (48 - bits)) as i32
    }

    /// `nextDouble()`: 53 random bits in [0, 1).
    pub fn next_double(&mut self) -> f64 {
        let high = i64::from(self.next(26)) << 27;
        let low = i64::from(self.next(27));
        (high + low) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `nextInt(bound)` for a positive bound, including Java's rejection loop.
    pub fn next_int(&mut self, bound: i32) -> i32 {
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }
}

/// The lowercase hex digest of `data`, or `None` for an algorithm AWS does not offer (names
/// are case-sensitive).
pub fn hash(data: &[u8], algorithm: &str) -> Option<String> {
    use sha2::Digest as _;
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// The Java type a JSON number becomes when AWS reads it (Jackson's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JavaNumber {
    Integer(i32),
    Long(i64),
    /// An integer above `Long.MAX_VALUE`, kept as `BigInteger`.
    BigInteger(u64),
    Double(f64),
}

impl JavaNumber {
    pub fn of(n: &serde_json::Number) -> JavaNumber {
        if let Some(i) = n.as_i64() {
            i32::try_from(i).map_or(JavaNumber::Long(i), JavaNumber::Integer)
        } else if let Some(u) = n.as_u64() {
            JavaNumber::BigInteger(u)
        } else {
            JavaNumber::Double(n.as_f64().unwrap_or(0.0))
        }
    }

    fn hash_code(self) -> i32 {
        match self {
            JavaNumber::Integer(i) => i,
            JavaNumber::Long(l) => (l ^ (l >> 32)) as i32,
            JavaNumber::BigInteger(u) => {
                // BigInteger hashes its 32-bit magnitude words, most significant first.
                let (high, low) = ((u >> 32) as i32, u as i32);
                high.wrapping_mul(31).wrapping_add(low)
            }
            JavaNumber::Double(d) => {
                let bits = d.to_bits();
                (bits ^ (bits >> 32)) as i32
            }
        }
    }

    /// Java `equals`: same boxed type and value; `Double` compares bit patterns, so
    /// `0.0 != -0.0`.
    fn java_equals(self, other: JavaNumber) -> bool {
        match (self, other) {
            (JavaNumber::Double(a), JavaNumber::Double(b)) => a.to_bits() == b.to_bits(),
            (a, b) => a == b,
        }
    }
}

/// Java's `toString` of the value (`String.valueOf` for `null`): how `Format` inserts values,
/// how `ArrayContains` compares them and how `Hash` reads a non-string.
pub fn java_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string(),
        other => {
            let mut out = String::new();
            write_java(other, &mut out);
            out
        }
    }
}

pub fn write_java(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_java_number(JavaNumber::of(n), out),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                write_java(item, out);
            }
            out.push('}');
        }
    }
}

pub fn write_java_number(n: JavaNumber, out: &mut String) {
    match n {
        JavaNumber::Integer(i) => write_integer(i < 0, u64::from(i.unsigned_abs()), out),
        JavaNumber::Long(l) => write_integer(l < 0, l.unsigned_abs(), out),
        JavaNumber::BigInteger(u) => write_integer(false, u, out),
        JavaNumber::Double(d) => out.push_str(&java_double(d)),
    }
}

/// An integer's decimal digits, as `Integer`, `Long` and `BigInteger` print them, written
/// without the formatter's machinery: a `write!` of one costs about 250 instructions, and a
/// Map whose items `States.Format` a number pays it for every item.
fn write_integer(negative: bool, magnitude: u64, out: &mut String) {
    let mut buffer = [0u8; 20];
    if negative {
        out.push('-');
    }
    let digits = decimal_digits(magnitude, &mut buffer);
    out.push_str(std::str::from_utf8(digits).expect("decimal digits are ASCII"));
}

/// `n`'s decimal digits, written at the end of `buffer` (20 bytes hold any `u64`). Inlined: a
/// Map that formats a number per item calls it per item.
#[inline]
pub(crate) fn decimal_digits(mut n: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buffer[at..]
}

/// Java's `Double.toString`: the shortest digits that round-trip, written plainly when
/// 10^-3 <= |d| < 10^7 (always with a fractional digit: `1.0`) and as `d.dddE±n` otherwise.
pub fn java_double(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits, e.g. "1.2345e-5". Java never
    // settles for one digit: it takes the closest two-digit decimal (5e-324 prints 4.9E-324).
    let mut scientific = format!("{:e}", d.abs());
    if !scientific.contains('.') {
        scientific = format!("{:.1e}", d.abs());
    }
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = match digits.trim_end_matches('0') {
        "" => "0",
        trimmed => trimmed,
    };
    let sign = if d < 0.0 { "-" } else { "" };
    if !(-3..7).contains(&exponent) {
        let fraction = if digits.len() > 1 { &digits[1..] } else { "0" };
        return format!("{sign}{}.{fraction}E{exponent}", &digits[..1]);
    }
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exponent as usize + 1;
    if digits.len() <= int_len {
        let zeros = "0".repeat(int_len - digits.len());
        format!("{sign}{digits}{zeros}.0")
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

/// Compact JSON as Jackson writes it: no spaces, keys in order, doubles in Java's form.
pub fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => out.push_str(&value.to_string()),
        Value::Number(n) => write_java_number(JavaNumber::of(n), out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

/// Java `hashCode` of the value as a Java object (`Map`, `List`, `String`, boxed numbers).
pub fn java_hash_code(value: &Value) -> i32 {
    match value {
        Value::Null => 0,
        Value::Bool(b) => {
            if *b {
                1231
            } else {
                1237
            }
        }
        Value::Number(n) => JavaNumber::of(n).hash_code(),
        Value::String(s) => s.encode_utf16().fold(0i32, |h, unit| {
            h.wrapping_mul(31).wrapping_add(i32::from(unit))
        }),
        Value::Array(items) => items.iter().fold(1i32, |h, item| {
            h.wrapping_mul(31).wrapping_add(java_hash_code(item))
        }),
        Value::Object(map) => map.iter().fold(0i32, |h, (key, item)| {
            let key_hash = java_hash_code(&Value::String(key.clone()));
            h.wrapping_add(key_hash ^ java_hash_code(item))
        }),
    }
}

/// Java `equals` of the values as Java objects: maps ignore entry order, numbers must have the
/// same boxed type (`1` is an `Integer`, `1.0` a `Double`, so they differ).
pub fn java_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => JavaNumber::of(x).java_equals(JavaNumber::of(y)),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| java_equals(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, p)| y.get(key).is_some_and(|q| java_equals(p, q)))
        }
        (a, b) => a == b,
    }
}

/// The distinct items in the order `new ArrayList<>(new HashSet<>(items))` gives, which is what
/// AWS returns (observed: `[true, false, true]` → `[false, true]`).
///
/// Java's `HashMap` iterates bucket by bucket and, within a bucket, in insertion order; a
/// resize splits buckets without reordering them. So the result is the distinct items stably
/// sorted by their bucket in the final table, and only the final capacity needs simulating:
/// presized from the item count, doubled past the 0.75 load factor, and doubled when a bucket
/// would reach 9 entries while the table is below 64 (Java resizes instead of treeifying).
/// Buckets of 9+ entries in tables of 64+ become trees in Java, whose order this does not
/// model; that needs ≥ 9 colliding distinct values.
pub fn java_hash_set_order(items: &[Value]) -> Vec<Value> {
    const MIN_TREEIFY_CAPACITY: usize = 64;
    const TREEIFY_THRESHOLD: usize = 8;
    // HashSet(Collection): capacity max(n / .75f + 1, 16), rounded up to a power of two.
    let presize = ((items.len() as f32 / 0.75) as usize + 1).max(16);
    let mut capacity = presize.next_power_of_two();
    let spread = |h: i32| (h ^ ((h as u32) >> 16) as i32) as u32 as usize;

    let mut kept: Vec<(usize, &Value)> = Vec::new();
    let mut by_hash: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut bucket_sizes = vec![0usize; capacity];
    for item in items {
        let hash = spread(java_hash_code(item));
        let candidates = by_hash.entry(hash).or_default();
        if candidates.iter().any(|&i| java_equals(kept[i].1, item)) {
            continue;
        }
        candidates.push(kept.len());
        kept.push((hash, item));
        let bucket = hash & (capacity - 1);
        let crowded = bucket_sizes[bucket] >= TREEIFY_THRESHOLD;
        let mut resized = crowded && capacity < MIN_TREEIFY_CAPACITY;
        bucket_sizes[bucket] += 1;
        if resized {
            capacity *= 2;
        }
        if kept.len() > capacity / 4 * 3 {
            capacity *= 2;
            resized = true;
        }
        if resized {
            bucket_sizes = vec![0; capacity];
            for (h, _) in &kept {
                bucket_sizes[h & (capacity - 1)] += 1;
            }
        }
    }
    kept.sort_by_key(|(hash, _)| hash & (capacity - 1));
    kept.into_iter().map(|(_, item)| item.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_random_matches_aws_seeded_jsonata_random() {
        // AWS's JSONata `$random(42)` is `new Random(42).nextDouble()`: 0.7275636800328681.
        let mut r = JavaRandom::new(42);
        let high = i64::from(r.next(26)) << 27;
        let value = (high + i64::from(r.next(27))) as f64 * (1.0 / (1u64 << 53) as f64);
        assert_eq!(value, 0.727_563_680_032_868_1);
    }

    #[test]
    fn integers_print_as_their_decimal_digits() {
        let numbers = [
            0,
            7,
            -7,
            10,
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ];
        for n in numbers {
            let mut out = String::new();
            write_java_number(JavaNumber::of(&n.into()), &mut out);
            assert_eq!(out, n.to_string());
        }
        let mut out = String::new();
        write_java_number(JavaNumber::of(&u64::MAX.into()), &mut out);
        assert_eq!(out, u64::MAX.to_string());
    }

    #[test]
    fn java_double_matches_double_to_string() {
        // Printed by Java's Double.toString.
        let cases = [
            (1.0, "1.0"),
            (1.1, "1.1"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1e7, "1.0E7"),
            (9_999_999.0, "9999999.0"),
            (1e21, "1.0E21"),
            (123_456_789.123, "1.23456789123E8"),
            (-0.0, "-0.0"),
            (1e-7, "1.0E-7"),
            (0.1 + 0.2, "0.30000000000000004"),
            (100.0, "100.0"),
            (5e-324, "4.9E-324"),
            (f64::MAX, "1.7976931348623157E308"),
            (2.5e-3, "0.0025"),
            (-1.5, "-1.5"),
        ];
        for (value, want) in cases {
            assert_eq!(java_double(value), want, "{value:e}");
        }
    }
}
