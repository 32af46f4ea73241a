//! JSON text straight into statejet's `Value`: one pass over the bytes without serde's visitor
//! layers, object keys shared through a small per-thread cache, each array and object allocated
//! once at its final size (its elements gather on a per-thread stack first).
//!
//! Invariant: the result is exactly what `Value`'s `Deserialize` makes through serde_json, or
//! there is none and the caller asks serde_json, which then also gives its error. Anything this
//! parser does not take on its fast path (any error, a number it would have to round, an escape
//! it does not decode, deep nesting) goes back to serde_json.

use std::cell::RefCell;

use super::{Map, Number, Str, Value};

/// Deeper than this, serde_json decides (its own limit is 128 levels).
const MAX_DEPTH: u32 = 100;

/// Slots of the key cache (a power of two): direct-mapped by the key's hash.
const KEY_SLOTS: usize = 256;

/// Longer keys are not cached (they are rarely a schema's field names).
const MAX_CACHED_KEY: usize = 64;

/// Past this many elements the gathering stacks are dropped rather than kept for the next
/// parse, so a thread does not hold a large input's worth of memory.
const MAX_KEPT: usize = 4096;

/// What a thread keeps between parses.
struct Cache {
    /// Recent object keys: a JSON input's keys mostly repeat (its schema's field names), and a
    /// shared one costs a reference count where a new one costs an allocation and its free.
    keys: [Option<Str>; KEY_SLOTS],
    /// The fields of the objects being parsed, innermost last, with their keys' hashes.
    fields: Vec<(u64, Str, Value)>,
    /// The elements of the arrays being parsed, innermost last.
    items: Vec<Value>,
}

thread_local! {
    static CACHE: RefCell<Cache> = const {
        RefCell::new(Cache {
            keys: [const { None }; KEY_SLOTS],
            fields: Vec::new(),
            items: Vec::new(),
        })
    };
}

/// `text` parsed, or `None` where serde_json must decide (see the module's invariant).
pub(super) fn parse(text: &str) -> Option<Value> {
    CACHE.with(|cache| {
        // A parse inside a parse (none today) would find the cache taken: serde_json answers.
        let mut cache = cache.try_borrow_mut().ok()?;
        let cache = &mut *cache;
        let mut p = Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            keys: &mut cache.keys,
            fields: &mut cache.fields,
            items: &mut cache.items,
        };
        let value = p.value(0).filter(|_| {
            p.skip_space();
            p.pos == p.bytes.len()
        });
        if value.is_none() {
            cache.fields.clear();
            cache.items.clear();
        }
        if cache.fields.capacity() > MAX_KEPT {
            cache.fields = Vec::new();
        }
        if cache.items.capacity() > MAX_KEPT {
            cache.items = Vec::new();
        }
        value
    })
}

/// Object key `s` with its hash, shared with the thread's cached copy when it has one (for
/// `Value`'s `Deserialize`, whose keys serde_json hands over one by one).
pub(super) fn key(s: &str) -> (u64, Str) {
    CACHE.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => cached(&mut cache.keys, s),
        Err(_) => (hash(s.as_bytes()), Str::from(s)),
    })
}

/// Key `s` from `keys` (a new one takes its slot), with its hash.
fn cached(keys: &mut [Option<Str>; KEY_SLOTS], s: &str) -> (u64, Str) {
    let hash = hash(s.as_bytes());
    if s.len() > MAX_CACHED_KEY {
        return (hash, Str::from(s));
    }
    let slot = &mut keys[(hash >> 56) as usize % KEY_SLOTS];
    match slot {
        Some(k) if k.as_str() == s => (hash, k.clone()),
        _ => {
            let key = Str::from(s);
            *slot = Some(key.clone());
            (hash, key)
        }
    }
}

/// The bit of a key's hash in an object's set of seen keys (`Parser::object`).
pub(super) fn seen_bit(hash: u64) -> u64 {
    1u64 << ((hash >> 50) & 63)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    keys: &'a mut [Option<Str>; KEY_SLOTS],
    fields: &'a mut Vec<(u64, Str, Value)>,
    items: &'a mut Vec<Value>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// The next byte past white space, consumed.
    fn next_token(&mut self) -> Option<u8> {
        self.skip_space();
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn value(&mut self, depth: u32) -> Option<Value> {
        match self.next_token()? {
            b'"' => {
                let s = self.string()?;
                Some(Value::String(match s {
                    Text::Slice(a, b) => Str::from(&self.text[a..b]),
                    Text::Owned(s) => Str::from(s),
                }))
            }
            b'{' if depth < MAX_DEPTH => self.object(depth + 1),
            b'[' if depth < MAX_DEPTH => self.array(depth + 1),
            b't' => self.literal(b"rue", Value::Bool(true)),
            b'f' => self.literal(b"alse", Value::Bool(false)),
            b'n' => self.literal(b"ull", Value::Null),
            b'-' | b'0'..=b'9' => {
                self.pos -= 1;
                self.number().map(Value::Number)
            }
            _ => None,
        }
    }

    fn literal(&mut self, rest: &[u8], value: Value) -> Option<Value> {
        let end = self.pos + rest.len();
        (self.bytes.get(self.pos..end)? == rest).then(|| {
            self.pos = end;
            value
        })
    }

    fn array(&mut self, depth: u32) -> Option<Value> {
        self.skip_space();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Some(Value::array(Vec::new()));
        }
        let base = self.items.len();
        loop {
            let item = self.value(depth)?;
            self.items.push(item);
            match self.next_token()? {
                b',' => {}
                b']' => break,
                _ => return None,
            }
        }
        Some(Value::array(self.items.drain(base..).collect()))
    }

    fn object(&mut self, depth: u32) -> Option<Value> {
        match self.next_token()? {
            b'}' => return Some(Value::object(Map::new())),
            b'"' => {}
            _ => return None,
        }
        let base = self.fields.len();
        loop {
            let (hash, key) = self.key()?;
            if self.next_token()? != b':' {
                return None;
            }
            let value = self.value(depth)?;
            self.fields.push((hash, key, value));
            match self.next_token()? {
                b',' if self.next_token()? == b'"' => {}
                b'}' => break,
                _ => return None,
            }
        }
        // One bit per key's hash: only a key whose bit is already set can be a repeat, and
        // only then are the fields before it searched for it (a hash, then the text).
        let fields = &self.fields[base..];
        let mut seen = 0u64;
        let mut repeat = false;
        for (i, (hash, key, _)) in fields.iter().enumerate() {
            let bit = seen_bit(*hash);
            if seen & bit != 0 && (fields[..i].iter()).any(|(h, k, _)| h == hash && k == key) {
                repeat = true;
                break;
            }
            seen |= bit;
        }
        if !repeat {
            // The common object: its entries moved once into their final place.
            let entries = self.fields.drain(base..).map(|(_, k, v)| (k, v)).collect();
            return Some(Value::object(Map::from_unique(entries)));
        }
        let mut m = Map::with_capacity(self.fields.len() - base);
        let mut seen = 0u64;
        for (hash, key, value) in self.fields.drain(base..) {
            let bit = seen_bit(hash);
            if seen & bit != 0 && m.contains_key(&key) {
                // A repeated key keeps its first place and takes the last value, as serde_json's.
                m.insert(key, value);
            } else {
                m.push_new(key, value);
            }
            seen |= bit;
        }
        Some(Value::object(m))
    }

    /// An object's key (past its opening quote), shared with the cache's copy when it has one.
    fn key(&mut self) -> Option<(u64, Str)> {
        let key = match self.string()? {
            Text::Slice(a, b) => cached(self.keys, &self.text[a..b]),
            Text::Owned(s) => cached(self.keys, &s),
        };
        Some(key)
    }

    /// A string's text (past its opening quote, through its closing one).
    fn string(&mut self) -> Option<Text> {
        let start = self.pos;
        let end = special(self.bytes, start);
        match self.bytes.get(end)? {
            b'"' => {
                self.pos = end + 1;
                return Some(Text::Slice(start, end));
            }
            b'\\' => self.pos = end,
            // A control character must be escaped: serde_json says so.
            _ => return None,
        }
        let mut out = String::with_capacity(end - start + 16);
        out.push_str(&self.text[start..end]);
        loop {
            let run = self.pos;
            self.pos = special(self.bytes, run);
            out.push_str(&self.text[run..self.pos]);
            match self.bytes.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some(Text::Owned(out));
                }
                b'\\' => self.pos += 1,
                _ => return None,
            }
            let c = match *self.bytes.get(self.pos)? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    self.pos += 1;
                    let unit = self.hex4()?;
                    let c = match unit {
                        0xd800..=0xdbff => {
                            // A leading surrogate must be followed by a trailing one; a lone
                            // one is serde_json's to report.
                            if self.bytes.get(self.pos..self.pos + 2)? != b"\\u" {
                                return None;
                            }
                            self.pos += 2;
                            let low = self.hex4()?;
                            if !(0xdc00..=0xdfff).contains(&low) {
                                return None;
                            }
                            let code = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                            char::from_u32(code)?
                        }
                        0xdc00..=0xdfff => return None,
                        _ => char::from_u32(unit)?,
                    };
                    out.push(c);
                    continue;
                }
                _ => return None,
            };
            self.pos += 1;
            out.push(c);
        }
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4)?;
        let mut n = 0;
        for d in digits {
            n = n * 16 + char::from(*d).to_digit(16)?;
        }
        self.pos += 4;
        Some(n)
    }

    /// A number. The common ones are read here: an integer of at most 19 digits (18 when
    /// negative), and a decimal without exponent whose digits make at most 2^53 with at most
    /// 22 after the point (so one correctly rounded division by an exact power of ten gives
    /// serde_json's float, with or without its `float_roundtrip`). Any other goes to
    /// serde_json's own number parser, through `Number`'s `FromStr`.
    fn number(&mut self) -> Option<Number> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        let mut significand: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            significand = significand
                .wrapping_mul(10)
                .wrapping_add(u64::from(d - b'0'));
            self.pos += 1;
        }
        let int_digits = self.pos - int_start;
        let mut fraction_digits = 0;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            while let Some(d @ b'0'..=b'9') = self.peek() {
                significand = significand
                    .wrapping_mul(10)
                    .wrapping_add(u64::from(d - b'0'));
                self.pos += 1;
                fraction_digits += 1;
            }
        }
        let plain = int_digits > 0
            && (int_digits == 1 || self.bytes[int_start] != b'0')
            && int_digits + fraction_digits <= 19
            && !matches!(self.peek(), Some(b'e' | b'E' | b'.'));
        if plain {
            if self.bytes[self.pos - 1] == b'.' {
                // `1.`: serde_json's error.
                return None;
            }
            if fraction_digits == 0 {
                if !negative {
                    return Some(Number::from(significand));
                }
                if significand != 0 && int_digits <= 18 {
                    return Some(Number::from(-(significand as i64)));
                }
            } else if significand <= 1 << 53 && fraction_digits <= 22 {
                let f = significand as f64 / POW10[fraction_digits];
                return Number::from_f64(if negative { -f } else { f });
            }
        }
        while let Some(b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E') = self.peek() {
            self.pos += 1;
        }
        self.text[start..self.pos].parse().ok()
    }
}

/// Where the first `"`, `\\` or control character at or past `i` is (the end if none): eight
/// bytes at a time (in each word, the lowest byte flagged is exact; a borrow can only flag bytes
/// above a flagged one).
fn special(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let found = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | w.wrapping_sub(ONES * 0x20) & !w)
            & HIGHS;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// Powers of ten that are exact as `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A string's text: a range of the input (no escapes), or decoded.
enum Text {
    Slice(usize, usize),
    Owned(String),
}

/// A key's hash for the cache and the repeat check: its length and up to 16 of its bytes
/// (the first and last 8), mixed; two keys with one hash differ only by a cache miss or a
/// search.
fn hash(b: &[u8]) -> u64 {
    let n = b.len();
    let x = if n >= 8 {
        let head = u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
        let tail = u64::from_le_bytes(b[n - 8..].try_into().unwrap_or_default());
        head ^ tail.rotate_left(29)
    } else if n >= 4 {
        let head = u32::from_le_bytes(b[..4].try_into().unwrap_or_default());
        let tail = u32::from_le_bytes(b[n - 4..].try_into().unwrap_or_default());
        u64::from(head) | (u64::from(tail) << 32)
    } else if n > 0 {
        u64::from(b[0]) | (u64::from(b[n / 2]) << 8) | (u64::from(b[n - 1]) << 16)
    } else {
        0
    };
    (x ^ ((n as u64) << 59) ^ n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde_json's answer through `Value`'s `Deserialize`, which the fast pass must match.
    fn serde(text: &str) -> Result<Value, String> {
        serde_json::from_str::<Value>(text).map_err(|e| e.to_string())
    }

    /// The same value, down to each float's bits and each object's order.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                x == y
                    && x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits)
                    && x.is_f64() == y.is_f64()
                    && x.is_i64() == y.is_i64()
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y.iter()).all(|(x, y)| same(x, y))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y.iter())
                        .all(|((kx, x), (ky, y))| kx == ky && same(x, y))
            }
            _ => a == b,
        }
    }

    fn check(text: &str) {
        let ours = Value::parse(text).map_err(|e| e.to_string());
        let theirs = serde(text);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => assert!(same(a, b), "{text}: {a} against {b}"),
            (Err(a), Err(b)) => assert_eq!(a, b, "{text}"),
            _ => panic!("{text}: {ours:?} against {theirs:?}"),
        }
        let slice = Value::parse_slice(text.as_bytes()).map_err(|e| e.to_string());
        assert_eq!(format!("{slice:?}"), format!("{ours:?}"), "{text}");
    }

    #[test]
    fn documents_parse_as_serde_json_parses_them() {
        for text in [
            r#"{"deviceId":"sensor-0042","site":"plant-7","seq":12345,"reading":{"temperature":78.5,"humidity":41.2},"tags":["line-a","zone-3"],"ok":true,"none":null}"#,
            " \t\n\r[ 1 , {\"a\" : [ ] , \"b\" : { } } , \"x\" ] \n",
            "[]",
            "{}",
            "\"\"",
            "null",
            "true",
            "false",
            "0",
            "  42  ",
            r#"{"a":{"a":{"a":{}}}}"#,
            &format!(
                "{{{}}}",
                (0..40)
                    .map(|i| format!("\"k{i}\":{i}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ] {
            check(text);
            assert!(parse(text).is_some(), "{text} takes the fast pass");
        }
    }

    #[test]
    fn repeated_keys_keep_their_first_place_and_take_the_last_value() {
        check(r#"{"a":1,"b":2,"a":3}"#);
        check(r#"{"a":1,"a":2,"a":{"a":1,"a":[]}}"#);
        let many = (0..30)
            .chain(0..30)
            .map(|i| format!("\"k{}\":{i}", i % 20))
            .collect::<Vec<_>>()
            .join(",");
        check(&format!("{{{many}}}"));
        for text in [r#"{"a":1,"b":2,"a":3}"#, &format!("{{{many}}}")] {
            let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(Value::parse(text).unwrap().to_text(), theirs.to_string());
            let through_serde: Value = serde_json::from_str(text).unwrap();
            assert_eq!(through_serde.to_text(), theirs.to_string());
        }
        let v = Value::parse(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(v.to_text(), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn a_large_object_finds_every_field() {
        // Forty keys: many share a bit of the repeat check without being repeats, and past
        // sixteen fields the object keeps an index, built once from the parsed entries.
        let text = format!(
            "{{{}}}",
            (0..40)
                .map(|i| format!("\"key{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        check(&text);
        let v = parse(&text).unwrap();
        let m = v.as_object().unwrap();
        for i in 0..40u64 {
            assert_eq!(m.get(&format!("key{i}")), Some(&Value::Number(i.into())));
        }
        assert_eq!(m.get("key40"), None);
    }

    #[test]
    fn strings_and_escapes_as_serde_json() {
        for text in [
            r#""plain""#,
            r#""\"\\\/\b\f\n\r\t""#,
            r#""\u0041\u00e9\u20ac\ud83d\ude00 after""#,
            r#""caf\u00e9 and caf√© and üòÄ""#,
            r#"{"k\u0065y":"v","key":"w"}"#,
            r#"{"\u00e9":1,"√©":2}"#,
            // Lone surrogates, bad escapes, control characters: serde_json's errors.
            r#""\ud83d""#,
            r#""\ud83d\u0041""#,
            r#""\ude00""#,
            r#""\x""#,
            r#""\u12""#,
            r#""\u12g4""#,
            "\"tab\there\"",
            "\"new\nline\"",
            r#""unterminated"#,
            r#""escape at end\"#,
        ] {
            check(text);
        }
    }

    #[test]
    fn every_special_byte_is_found_wherever_it_is() {
        // The scan reads eight bytes at a time: each special byte at each place of a word, after
        // plain and non-ASCII text.
        for len in 0..20 {
            for at in 0..=len {
                for special in ["\\n", "\\u00e9", "\u{1}", "\u{1f}", "\"x", "\\"] {
                    for fill in ["a", "é", " ", "\u{7f}"] {
                        let body: String = (0..len)
                            .map(|i| if i == at { special } else { fill })
                            .collect();
                        check(&format!("\"{body}\""));
                        check(&format!("{{\"{body}\":1}}"));
                    }
                }
            }
        }
    }

    #[test]
    fn errors_are_serde_json_errors() {
        for text in [
            "",
            " ",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "[1 2]",
            "tru",
            "nul",
            "nulls",
            "[true false]",
            "{\"a\":1}}",
            "[1]x",
            "{\"a\"",
            "[",
            "{",
            "-",
            "+1",
            "01",
            "1.",
            ".5",
            "1e",
            "1e+",
            "--1",
            "0x10",
            "1.2.3",
            "[1,2",
            "\u{feff}1",
        ] {
            check(text);
        }
    }

    #[test]
    fn numbers_as_serde_json() {
        for text in [
            "0",
            "-0",
            "-0.0",
            "0.0",
            "1",
            "-1",
            "78.5",
            "41.2",
            "1013.2",
            "0.031",
            "52.52",
            "13.405",
            "1e3",
            "1E3",
            "1e-3",
            "-1.5e+10",
            "9007199254740992.5",
            "9007199254740993",
            "0.1",
            "0.30000000000000004",
            "123456789012345678",
            "1234567890123456789",
            "12345678901234567890",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "-999999999999999999",
            "-1000000000000000000",
            "1e308",
            "1e309",
            "-1e309",
            "1e-400",
            "0.0000000000000000000001",
            "0.00000000000000000000001",
            "1.7976931348623157e308",
            "2.2250738585072014e-308",
            "5e-324",
            "123.456789012345678901234567890",
            "100000000000000000000000000000",
            "4.35",
            "8.589973e9",
            "2.718281828459045",
        ] {
            check(text);
            check(&format!("[{text}]"));
            check(&format!("{{\"n\":{text}}}"));
        }
    }

    #[test]
    fn random_numbers_as_serde_json() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let r = next();
            let int_digits = 1 + (r % 20) as usize;
            let frac_digits = ((r >> 8) % 24) as usize;
            let mut text = String::new();
            if r & (1 << 20) != 0 {
                text.push('-');
            }
            let digits = next();
            for i in 0..int_digits {
                let d = (digits >> (i * 3 % 60)) % 10;
                text.push(char::from(
                    b'0' + if i == 0 && int_digits > 1 {
                        1 + d as u8 % 9
                    } else {
                        d as u8
                    },
                ));
            }
            if frac_digits > 0 {
                text.push('.');
                let digits = next();
                for i in 0..frac_digits {
                    text.push(char::from(b'0' + ((digits >> (i * 2 % 60)) % 10) as u8));
                }
            }
            if r & (1 << 21) != 0 {
                text.push_str(&format!("e{}", (r >> 32) as i64 % 40 - 20));
            }
            check(&text);
        }
    }

    #[test]
    fn nesting_past_serde_jsons_limit_is_its_error() {
        for depth in [1, 99, 100, 101, 127, 128, 129, 200] {
            check(&format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
            check(&format!(
                "{}1{}",
                "{\"a\":".repeat(depth),
                "}".repeat(depth)
            ));
        }
    }

    #[test]
    fn keys_are_shared_between_parses() {
        let a = Value::parse(r#"{"temperature":1}"#).unwrap();
        let b = Value::parse(r#"[{"temperature":2}]"#).unwrap();
        let ka = a.as_object().unwrap().keys().next().unwrap().clone();
        let kb = b[0].as_object().unwrap().keys().next().unwrap().clone();
        assert!(std::sync::Arc::ptr_eq(&ka.0, &kb.0));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_serde_jsons_error() {
        let bytes = b"[\"\xff\"]";
        assert_eq!(
            Value::parse_slice(bytes).unwrap_err().to_string(),
            serde_json::from_slice::<Value>(bytes)
                .unwrap_err()
                .to_string()
        );
    }
}
