//! JSON text straight into statejet's `Value`: one pass over the bytes without serde's visitor
//! layers, object keys shared through a small per-thread cache, each array and object allocated
//! once at its final size (its elements gather on a per-thread stack first), and each array's and
//! object's text bound (`Value::text_bound`) noted as it is read, so the engine's first payload
//! check of an input does not walk it.
//!
//! Invariant: the result is exactly what `Value`'s `Deserialize` makes through serde_json, or
//! there is none and the caller asks serde_json, which then also gives its error. Anything this
//! parser does not take on its fast path (any error, a number it would have to round, an escape
//! it does not decode, deep nesting) goes back to serde_json. A noted bound is exactly what
//! `Value::walk_bound` would find.
//!
//! The common input is compact and short-keyed: the hot path reads a scalar inside the loop of
//! its array or object (only a container is a call), takes a token without a white-space call,
//! and compares a cached key by words, not `memcmp`; escapes, white space and cache misses are
//! out of line.

use std::cell::RefCell;

use super::{Map, Number, Str, Value, LITERAL_BOUND, NUMBER_BOUND};

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
    /// The fields of the objects being parsed, innermost last.
    fields: Vec<(Str, Value)>,
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
        let value = p.top().filter(|_| {
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
        Ok(mut cache) => {
            let hash = hash(s.as_bytes());
            (hash, cached(&mut cache.keys, hash, s))
        }
        Err(_) => (hash(s.as_bytes()), Str::from(s)),
    })
}

/// Key `s` (of hash `hash`) from `keys`: in its slot or, where another key took that one, its
/// second (two keys of one slot had evicted each other every time: iot_event's `firmware` and
/// `lon`, ~200 instructions an execution). Inline for the common case, a hit in its slot: a call
/// cost a prologue and epilogue of ~30 instructions a key, and the slice `==` a `memcmp` call.
#[inline(always)]
fn cached(keys: &mut [Option<Str>; KEY_SLOTS], hash: u64, s: &str) -> Str {
    let first = (hash >> 56) as usize % KEY_SLOTS;
    match &keys[first] {
        Some(k) if same_text(k.as_bytes(), s.as_bytes()) => k.clone(),
        _ => second(keys, first, (hash >> 48) as usize % KEY_SLOTS, s),
    }
}

/// Key `s` not in its first slot: from its second, else a new one, which takes the first slot
/// if free, else the second (unless it is too long to keep).
#[inline(never)]
fn second(keys: &mut [Option<Str>; KEY_SLOTS], first: usize, second: usize, s: &str) -> Str {
    if let Some(k) = &keys[second] {
        if same_text(k.as_bytes(), s.as_bytes()) {
            return k.clone();
        }
    }
    let key = Str::from(s);
    if s.len() <= MAX_CACHED_KEY {
        let slot = if keys[first].is_none() { first } else { second };
        keys[slot] = Some(key.clone());
    }
    key
}

/// Whether `a` and `b` are the same bytes: up to 16 of them by two overlapping word loads
/// each (the hash's), where a slice `==` calls `memcmp`.
#[inline(always)]
fn same_text(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        // Positions 0, n/2 and n-1 are every position of a key of one to three bytes.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        0 => true,
        _ => a == b,
    }
}

/// The eight bytes of `b` at `at` (which the caller knows are there).
#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

/// The four bytes of `b` at `at` (which the caller knows are there).
#[inline(always)]
fn half(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

/// The bit of a key's hash in an object's set of seen keys (`Parser::object`).
pub(super) fn seen_bit(hash: u64) -> u64 {
    // Bits 50 to 55: `wrapping_shl` takes the count modulo 64, as the machine's shift does.
    1u64.wrapping_shl((hash >> 50) as u32)
}

/// A text bound (`Value::text_bound`) as the parser sums it. A value's bound is at most 24 times
/// its text's length (a one-byte number's is 24; a string's `6·len + 2` and a container's own
/// brackets, commas, colons and quotes are less per byte), so in a text of at most
/// `MAX_NOTED_TEXT` bytes every sum fits a node's note and none overflows: plain additions
/// (saturating ones cost 223 instructions an iot_event execution, 2,305 a map100 one). A
/// longer text's sums may wrap and are not noted.
type Bound = usize;

/// The longest text whose bounds are noted: 24 times it is below `u32::MAX`, what
/// `Node::note_bound` keeps.
const MAX_NOTED_TEXT: usize = u32::MAX as usize / 24;

/// A string of `len` bytes: `Value::known_bound`'s `6·len + 2`.
#[inline(always)]
fn string_bound(len: usize) -> Bound {
    len.wrapping_mul(6).wrapping_add(2)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    keys: &'a mut [Option<Str>; KEY_SLOTS],
    fields: &'a mut Vec<(Str, Value)>,
    items: &'a mut Vec<Value>,
}

impl<'a> Parser<'a> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte past white space, consumed. Inline for compact text: every token byte is
    /// above a space, and only a byte at or below one (white space, or a control character,
    /// which the caller then refuses) takes the call.
    #[inline(always)]
    fn next_token(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        if b > b' ' {
            return Some(b);
        }
        self.token_after_space()
    }

    /// Consumes byte `want`, the next past white space (compact text's next byte: one compare).
    #[inline(always)]
    fn expect(&mut self, want: u8) -> Option<()> {
        if self.bytes.get(self.pos) == Some(&want) {
            self.pos += 1;
            return Some(());
        }
        self.expect_after_space(want)
    }

    /// `expect` where the next byte is not `want`: white space first, or an error.
    #[inline(never)]
    fn expect_after_space(&mut self, want: u8) -> Option<()> {
        self.skip_space();
        (self.bytes.get(self.pos) == Some(&want)).then(|| self.pos += 1)
    }

    /// `next_token` where its byte was at or below a space (already consumed).
    #[inline(never)]
    fn token_after_space(&mut self) -> Option<u8> {
        self.pos -= 1;
        self.skip_space();
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// The whole text's value (white space after it is the caller's).
    fn top(&mut self) -> Option<Value> {
        let b = self.next_token()?;
        self.value(b, 0).map(|(value, _)| value)
    }

    /// A value whose first byte `b` is consumed, at `depth` containers deep, with its text
    /// bound. A scalar is read inline (in each array's and object's loop); a container is a
    /// call.
    #[inline(always)]
    fn value(&mut self, b: u8, depth: u32) -> Option<(Value, Bound)> {
        // Strings and numbers, the common values, first: two compares rather than a jump table
        // (measured with `key` taking no length check and `same_text`'s three loads for a short
        // key: iot_event's parse 7,701 -> 7,259 instructions an execution).
        if b == b'"' {
            let s = match self.string()? {
                Text::Slice(s) => Str::from(s),
                Text::Owned(s) => Str::from(s),
            };
            let bound = string_bound(s.len());
            return Some((Value::String(s), bound));
        }
        if b.wrapping_sub(b'0') < 10 || b == b'-' {
            self.pos -= 1;
            return Some((Value::Number(self.number()?), NUMBER_BOUND));
        }
        match b {
            b'{' | b'[' if depth < MAX_DEPTH => self.container(b, depth + 1),
            b't' => self.literal(b"rue", Value::Bool(true)),
            b'f' => self.literal(b"alse", Value::Bool(false)),
            b'n' => self.literal(b"ull", Value::Null),
            _ => None,
        }
    }

    fn literal(&mut self, rest: &[u8], value: Value) -> Option<(Value, Bound)> {
        let end = self.pos + rest.len();
        (self.bytes.get(self.pos..end)? == rest).then(|| {
            self.pos = end;
            (value, LITERAL_BOUND)
        })
    }

    /// An array or object (`b` its opening byte, consumed), `depth` deep, its bound noted.
    #[inline(never)]
    fn container(&mut self, b: u8, depth: u32) -> Option<(Value, Bound)> {
        let (value, bound) = if b == b'[' {
            self.array(depth)?
        } else {
            self.object(depth)?
        };
        if self.bytes.len() <= MAX_NOTED_TEXT {
            match &value {
                Value::Array(items) => items.note_bound(bound),
                Value::Object(m) => m.note_bound(bound),
                _ => {}
            }
        }
        Some((value, bound))
    }

    #[inline(always)]
    fn array(&mut self, depth: u32) -> Option<(Value, Bound)> {
        let mut b = self.next_token()?;
        if b == b']' {
            return Some((Value::array(Vec::new()), 2));
        }
        let base = self.items.len();
        let mut bound: Bound = 2;
        loop {
            let (item, item_bound) = self.value(b, depth)?;
            // One for its comma (or, the last, for nothing: the brackets' two start the sum).
            bound = bound.wrapping_add(item_bound).wrapping_add(1);
            self.items.push(item);
            match self.next_token()? {
                b',' => b = self.next_token()?,
                b']' => break,
                _ => return None,
            }
        }
        // `2 + len + Σ item`, as `walk_bound` sums it.
        Some((Value::array(self.items.split_off(base)), bound))
    }

    #[inline(always)]
    fn object(&mut self, depth: u32) -> Option<(Value, Bound)> {
        match self.next_token()? {
            b'}' => return Some((Value::object(Map::new()), 2)),
            b'"' => {}
            _ => return None,
        }
        let base = self.fields.len();
        let mut bound: Bound = 2;
        // One bit per key's hash: only a key whose bit is already set can be a repeat, and
        // only then are the fields before it searched for it.
        let mut seen = 0u64;
        let mut repeat = false;
        loop {
            let (hash, key) = self.key()?;
            let b = self.next_token()?;
            let (value, value_bound) = self.value(b, depth)?;
            // `2·len + Σ (6·keylen + 2 + value)`: two for its colon and comma, two for its
            // key's quotes.
            bound = (bound.wrapping_add(string_bound(key.len())))
                .wrapping_add(value_bound)
                .wrapping_add(2);
            let bit = seen_bit(hash);
            if seen & bit != 0 && !repeat {
                let key = key.as_bytes();
                repeat = (self.fields[base..].iter()).any(|(k, _)| same_text(k.as_bytes(), key));
            }
            seen |= bit;
            self.fields.push((key, value));
            // Compact text's `,"` in one compare.
            if self.bytes.get(self.pos..self.pos + 2) == Some(b",\"") {
                self.pos += 2;
                continue;
            }
            match self.next_token()? {
                b',' if self.next_token()? == b'"' => {}
                b'}' => break,
                _ => return None,
            }
        }
        if !repeat {
            // The common object: its entries moved once into their final place.
            let entries = self.fields.split_off(base);
            return Some((Value::object(Map::from_unique(entries)), bound));
        }
        Some(self.merged(base))
    }

    /// The object of the fields from `base` on, some of whose keys repeat: a repeated key keeps
    /// its first place and takes the last value, as serde_json's; its bound summed again over
    /// what it keeps (its values' are known in a text short enough to note them).
    #[inline(never)]
    fn merged(&mut self, base: usize) -> (Value, Bound) {
        let mut m = Map::with_capacity(self.fields.len() - base);
        for (key, value) in self.fields.drain(base..) {
            m.insert(key, value);
        }
        let bound = (m.iter()).fold(2usize, |bound, (k, v)| {
            (bound.wrapping_add(string_bound(k.len())))
                .wrapping_add(v.known_bound().unwrap_or(0))
                .wrapping_add(2)
        });
        (Value::object(m), bound)
    }

    /// An object's key (past its opening quote) and its colon: the key shared with the cache's
    /// copy when it has one, with its hash.
    #[inline(always)]
    fn key(&mut self) -> Option<(u64, Str)> {
        let start = self.pos;
        let end = special(self.bytes, start);
        let s = if self.bytes.get(end..end + 2) == Some(b"\":") {
            // Compact text's key: its closing quote and its colon in one compare.
            self.pos = end + 2;
            let text: &'a str = self.text;
            Text::Slice(text.get(start..end)?)
        } else {
            let s = self.string_to(start, end)?;
            self.expect(b':')?;
            s
        };
        let s = match &s {
            Text::Slice(s) => s,
            Text::Owned(s) => s.as_str(),
        };
        // A key too long to cache matches no cached one: it takes `cached`'s miss path.
        let hash = hash(s.as_bytes());
        Some((hash, cached(self.keys, hash, s)))
    }

    /// A string's text (past its opening quote, through its closing one). Inline for the common
    /// string, without escapes: a range of the input; one with an escape is decoded out of line.
    #[inline(always)]
    fn string(&mut self) -> Option<Text<'a>> {
        let start = self.pos;
        let end = special(self.bytes, start);
        self.string_to(start, end)
    }

    /// `string` from `start` whose first special byte is at `end`.
    #[inline(always)]
    fn string_to(&mut self, start: usize, end: usize) -> Option<Text<'a>> {
        if self.bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            let text: &'a str = self.text;
            return Some(Text::Slice(text.get(start..end)?));
        }
        self.escaped(start, end)
    }

    /// A string (from `start`, past its opening quote) whose first special byte, at `end`, is
    /// not its closing quote: an escape, decoded, or a control character or the text's end,
    /// serde_json's error.
    #[inline(never)]
    fn escaped(&mut self, start: usize, end: usize) -> Option<Text<'a>> {
        if self.bytes.get(end) != Some(&b'\\') {
            // A control character must be escaped: serde_json says so.
            return None;
        }
        self.pos = end;
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
    /// serde_json's own number parser, through `Number`'s `FromStr`, out of line.
    ///
    /// Read with local positions and a digit loop of one compare (iot_event's eight numbers
    /// cost ~1,250 instructions an execution through `self.pos` and `peek`, ~380 so).
    #[inline(always)]
    fn number(&mut self) -> Option<Number> {
        let bytes = self.bytes;
        let start = self.pos;
        let negative = bytes.get(start) == Some(&b'-');
        let int_start = start + usize::from(negative);
        let (significand, int_end) = digits(bytes, int_start, 0);
        let int_digits = int_end - int_start;
        let dot = bytes.get(int_end) == Some(&b'.');
        let (significand, end) = if dot {
            digits(bytes, int_end + 1, significand)
        } else {
            (significand, int_end)
        };
        let fraction_digits = if dot { end - int_end - 1 } else { 0 };
        let plain = int_digits > 0
            && (int_digits == 1 || bytes[int_start] != b'0')
            && int_digits + fraction_digits <= 19
            && !matches!(bytes.get(end), Some(b'e' | b'E' | b'.'));
        if plain {
            if dot && fraction_digits == 0 {
                // `1.`: serde_json's error.
                return None;
            }
            if fraction_digits == 0 {
                if !negative {
                    self.pos = end;
                    return Some(Number::from(significand));
                }
                if significand != 0 && int_digits <= 18 {
                    self.pos = end;
                    return Some(Number::from(-(significand as i64)));
                }
            } else if significand <= 1 << 53 && fraction_digits <= 22 {
                let f = significand as f64 / POW10[fraction_digits];
                self.pos = end;
                return Number::from_f64(if negative { -f } else { f });
            }
        }
        self.other_number(start, end)
    }

    /// A number `number` does not read (from `start`; its digits run to `end`): serde_json's.
    #[inline(never)]
    fn other_number(&mut self, start: usize, end: usize) -> Option<Number> {
        self.pos = end;
        while let Some(b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        self.text[start..self.pos].parse().ok()
    }
}

/// The decimal digits of `bytes` from `i` on, accumulated onto `n` (wrapping: the caller
/// counts them), and where they end.
#[inline(always)]
fn digits(bytes: &[u8], mut i: usize, mut n: u64) -> (u64, usize) {
    while let Some(&b) = bytes.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    (n, i)
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
enum Text<'a> {
    Slice(&'a str),
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

    /// A xorshift sequence from `state`: the random tests' inputs, the same on every run.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn random_numbers_as_serde_json() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
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

    /// Every array's and object's bound in `ours` (noted by the parse) against what
    /// `walk_bound` finds for the same node of `fresh` (built through serde_json, nothing noted).
    fn same_bounds(ours: &Value, fresh: &Value) {
        assert_eq!(ours.known_bound(), fresh.text_bound(usize::MAX), "{ours}");
        match (ours, fresh) {
            (Value::Array(a), Value::Array(b)) => {
                a.iter().zip(b.iter()).for_each(|(x, y)| same_bounds(x, y));
            }
            (Value::Object(a), Value::Object(b)) => {
                a.values()
                    .zip(b.values())
                    .for_each(|(x, y)| same_bounds(x, y));
            }
            _ => {}
        }
    }

    /// A random document: nested arrays and objects, keys that repeat (also past the cache's
    /// length and the word compare's), strings with escapes, numbers, literals, white space.
    fn random_document(next: &mut impl FnMut() -> u64, depth: u32, out: &mut String) {
        let r = next();
        let space = |out: &mut String, r: u64| {
            if r % 7 == 0 {
                out.push_str([" ", "\n", "\t ", "\r\n  "][(r / 7 % 4) as usize]);
            }
        };
        let key = |r: u64| -> String {
            let len = [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 40, 64, 65, 90][(r % 14) as usize];
            let c = char::from(b'a' + (r / 14 % 3) as u8);
            let mut k: String = std::iter::repeat_n(c, len).collect();
            if len > 0 && r / 42 % 5 == 0 {
                k.replace_range(len - 1.., "\\u00e9");
            }
            k
        };
        match if depth > 4 { r % 4 } else { r % 7 } {
            0 => out.push_str(["null", "true", "false"][(r / 7 % 3) as usize]),
            1 => out.push_str(&format!("{}", (r >> 8) as i64 % 100_000 - 500)),
            2 => out.push_str(&format!("{}.{}", r % 1000, (r >> 20) % 10_000)),
            3 => out.push_str(&format!("\"{}\"", key(r >> 3))),
            4 | 5 => {
                out.push('{');
                for i in 0..(r >> 8) % 12 {
                    if i > 0 {
                        out.push(',');
                    }
                    space(out, next());
                    out.push_str(&format!("\"{}\"", key(next())));
                    space(out, next());
                    out.push(':');
                    space(out, next());
                    random_document(next, depth + 1, out);
                    space(out, next());
                }
                out.push('}');
            }
            _ => {
                out.push('[');
                for i in 0..(r >> 8) % 8 {
                    if i > 0 {
                        out.push(',');
                    }
                    space(out, next());
                    random_document(next, depth + 1, out);
                    space(out, next());
                }
                out.push(']');
            }
        }
    }

    #[test]
    fn random_documents_parse_as_serde_json_parses_them_with_walk_bounds() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let mut fast = 0;
        for _ in 0..5_000 {
            let mut text = String::new();
            random_document(&mut next, 0, &mut text);
            check(&text);
            if let Some(ours) = parse(&text) {
                fast += 1;
                same_bounds(&ours, &serde(&text).unwrap());
            }
        }
        assert!(fast > 4_000, "{fast} took the fast pass");
    }

    #[test]
    fn noted_bounds_are_walk_bounds() {
        for text in [
            include_str!("../../benches/workloads/iot_event.input.json"),
            include_str!("../../benches/workloads/map100.input.json"),
            r#"[[],{},[[]],{"":{}},"",0,-1.5,null,true,false,"\u00e9\n"]"#,
            r#"{"a":1,"b":{"c":[1,2,{"d":"e"}]},"a":2}"#,
        ] {
            same_bounds(&parse(text).unwrap(), &serde(text).unwrap());
        }
    }

    #[test]
    fn arrays_and_objects_are_allocated_at_their_size() {
        fn exact(v: &Value) {
            match v {
                Value::Array(a) => {
                    assert_eq!(a.capacity(), a.len(), "{v}");
                    a.iter().for_each(exact);
                }
                Value::Object(m) => m.values().for_each(exact),
                _ => {}
            }
        }
        for text in [
            "[1,2,3]",
            "[[1,2,3],[4,5,6,7,8],[9]]",
            r#"{"a":[1,2,3],"b":[[4],[5,6,7]]}"#,
            include_str!("../../benches/workloads/map100.input.json"),
        ] {
            exact(&parse(text).unwrap());
        }
    }

    #[test]
    fn keys_compare_by_words_at_every_length_and_place() {
        for len in 0..40usize {
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_text(&a, &a.clone()));
            assert!(!same_text(&a, &a[..len.saturating_sub(1)]) || len == 0);
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 1;
                assert!(!same_text(&a, &b), "{len} {at}");
            }
        }
    }

    #[test]
    fn white_space_and_control_characters_between_tokens_as_serde_json() {
        for text in [
            "[ 1 ,\n2\t]",
            "{ \"a\" :\r\n1 , \"b\":[ ] }",
            "[\u{1}1]",
            "[1\u{1}]",
            "{\"a\"\u{1f}:1}",
            "[1,\u{0}2]",
            "\u{1}",
            "[1, ]",
            "{\"a\":1 ,}",
        ] {
            check(text);
        }
    }

    #[test]
    fn keys_of_one_slot_are_both_kept() {
        // `firmware` and `lon` share their first slot: the second key takes its second one.
        let (h1, h2) = (hash(b"firmware"), hash(b"lon"));
        assert_eq!(h1 >> 56, h2 >> 56);
        let text = r#"[{"firmware":1,"lon":2},{"lon":3,"firmware":4}]"#;
        let a = Value::parse(text).unwrap();
        let b = Value::parse(text).unwrap();
        for (x, y) in [(&a[0], &b[0]), (&a[0], &a[1]), (&a[1], &b[1])] {
            for key in ["firmware", "lon"] {
                let kx = x.as_object().unwrap().get_key_value(key).unwrap().0;
                let ky = y.as_object().unwrap().get_key_value(key).unwrap().0;
                assert!(std::sync::Arc::ptr_eq(&kx.0, &ky.0), "{key}");
            }
        }
        // Many keys of one first slot: each parse still finds every one.
        let keys: Vec<String> = (0..5000)
            .map(|i| format!("k{i}"))
            .filter(|k| hash(k.as_bytes()) >> 56 == h1 >> 56)
            .collect();
        assert!(keys.len() > 3);
        let text = format!(
            "{{{}}}",
            (keys.iter().enumerate())
                .map(|(i, k)| format!("\"{k}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        for _ in 0..3 {
            check(&text);
        }
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
