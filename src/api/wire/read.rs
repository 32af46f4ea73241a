//! A request body read in one pass over its bytes, for the bodies SDKs send: a JSON object whose
//! members are strings or scalars. Strings are borrowed from the body when they hold no escape
//! (ARNs, names), and a string's text as written is kept when it is what serde_json would write
//! for it, so that an answer echoing it (`StartSyncExecution`'s `input`) copies it as it came.
//!
//! Invariant: this reader accepts only what serde_json's reading accepts, to the same fields;
//! anything else it declines (`None`), and the caller reads the body with serde_json, which
//! gives the error or the fields (nested objects and arrays always go that way).

use std::borrow::Cow;

use serde_json::Value;

/// A string member as read.
#[derive(Debug)]
pub(super) struct Text<'a> {
    pub value: Cow<'a, str>,
    /// The string's text between its quotes, when that is exactly how serde_json escapes
    /// `value` (only `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`; no `\/`, no `\u`).
    pub written: Option<&'a str>,
}

/// A member's value: a string, or any other JSON value.
#[derive(Debug)]
pub(super) enum Member<'a> {
    Text(Text<'a>),
    Value(Value),
}

/// Reads `body` as a JSON object, its members in order (a repeated key appears twice); `None`
/// where this reader declines (see the module's invariant).
pub(super) fn object(body: &[u8]) -> Option<Vec<(Cow<'_, str>, Member<'_>)>> {
    // serde_json reads only UTF-8 (outside strings any other byte is an error, inside them
    // it is checked): the body is checked once here, and every string is a slice of it.
    let text = std::str::from_utf8(body).ok()?;
    let mut r = Reader { text, body, at: 0 };
    r.space();
    r.expect(b'{')?;
    let mut members = Vec::with_capacity(4);
    r.space();
    if r.peek()? == b'}' {
        r.at += 1;
    } else {
        loop {
            r.space();
            r.expect(b'"')?;
            let key = r.string()?.value;
            r.space();
            r.expect(b':')?;
            r.space();
            let value = match r.peek()? {
                b'"' => {
                    r.at += 1;
                    Member::Text(r.string()?)
                }
                b'{' | b'[' => return None,
                _ => Member::Value(r.scalar()?),
            };
            members.push((key, value));
            r.space();
            match r.peek()? {
                b',' => r.at += 1,
                b'}' => {
                    r.at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    r.space();
    (r.at == body.len()).then_some(members)
}

struct Reader<'a> {
    text: &'a str,
    /// `text`'s bytes.
    body: &'a [u8],
    at: usize,
}

/// Whether a byte ends a string's run of plain bytes: its closing quote, an escape, or a
/// control character (which JSON forbids unescaped, and serde_json refuses).
fn special(b: u8) -> bool {
    (b == b'"') | (b == b'\\') | (b < 0x20)
}

/// How many plain bytes `b` starts with. Eight at a time first, each word tested for a quote,
/// a backslash and a byte below 0x20 at once (the "has a zero byte" test, exact for whether
/// any byte matches, and where the first is), where a byte-by-byte search costs a compare and
/// a branch per byte.
fn plain_len(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut n = 0;
    for chunk in b.chunks_exact(8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("a chunk of 8"));
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let found = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        if found & HIGH != 0 {
            // The lowest flag is the first match (a borrow only carries upward from one).
            return n + (found & HIGH).trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + b[n..]
        .iter()
        .position(|&c| special(c))
        .unwrap_or(b.len() - n)
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.body.get(self.at).copied()
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.at += 1)
    }

    /// Skips JSON's whitespace (serde_json's four characters).
    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// A string's contents and closing quote (the opening one is read). Its runs between
    /// escapes end at ASCII bytes, so every slice of `text` here is on character boundaries.
    fn string(&mut self) -> Option<Text<'a>> {
        let start = self.at;
        self.at += plain_len(&self.body[self.at..]);
        if self.peek()? == b'"' {
            let text = &self.text[start..self.at];
            self.at += 1;
            return Some(Text {
                value: Cow::Borrowed(text),
                written: Some(text),
            });
        }
        // The text as written is no shorter than its value: room for the rest of the body
        // never grows.
        let mut value = String::with_capacity(self.body.len() - start);
        value.push_str(&self.text[start..self.at]);
        let mut canonical = true;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => {}
                _ => return None,
            }
            let escape = *self.body.get(self.at + 1)?;
            // `\"`, `\\` and `\/` stand for their second byte, which is copied with the run
            // after it: one copy per such escape, not a push and a copy (most escapes are
            // quotes, in a JSON text sent as a string).
            self.at += 2;
            let from = match escape {
                b'"' | b'\\' => self.at - 1,
                b'/' => {
                    canonical = false;
                    self.at - 1
                }
                _ => {
                    let c = match escape {
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            canonical = false;
                            self.unicode_escape()?
                        }
                        _ => return None,
                    };
                    value.push(c);
                    self.at
                }
            };
            self.at += plain_len(&self.body[self.at..]);
            value.push_str(&self.text[from..self.at]);
        }
        let written = canonical.then(|| &self.text[start..self.at]);
        self.at += 1;
        Some(Text {
            value: Cow::Owned(value),
            written,
        })
    }

    /// The character of a `\uXXXX` escape (its `\u` read), a surrogate pair as one; a lone
    /// surrogate is declined (serde_json refuses it).
    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        match high {
            0xD800..=0xDBFF => {
                if self.body.get(self.at..self.at + 2)? != b"\\u" {
                    return None;
                }
                self.at += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return None;
                }
                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            }
            _ => char::from_u32(high),
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.body.get(self.at..self.at + 4)?;
        let mut n = 0;
        for &d in digits {
            n = n * 16 + char::from(d).to_digit(16)?;
        }
        self.at += 4;
        Some(n)
    }

    /// A number, `true`, `false` or `null`, read by serde_json (its numbers exactly as the
    /// whole body's reading makes them); it stops at the value's end.
    fn scalar(&mut self) -> Option<Value> {
        let mut values =
            serde_json::Deserializer::from_slice(&self.body[self.at..]).into_iter::<Value>();
        let value = values.next()?.ok()?;
        self.at += values.byte_offset();
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The members as serde_json reads the same body (a `Map` keeps a repeated key's last
    /// value at its first place; here both are kept, in order).
    fn check(body: &str) {
        let ours = object(body.as_bytes()).unwrap_or_else(|| panic!("declined {body:?}"));
        let theirs: serde_json::Map<String, Value> = serde_json::from_str(body).unwrap();
        let mut read = serde_json::Map::new();
        for (k, m) in ours {
            let v = match m {
                Member::Text(t) => {
                    if let Some(w) = t.written {
                        let escaped = serde_json::to_string(&t.value).unwrap();
                        assert_eq!(&escaped[1..escaped.len() - 1], w, "{body:?}");
                    }
                    Value::String(t.value.into_owned())
                }
                Member::Value(v) => v,
            };
            read.insert(k.into_owned(), v);
        }
        assert_eq!(read, theirs, "{body:?}");
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for body in [
            "{}",
            " {\r\n\t} ",
            r#"{"stateMachineArn":"arn:aws:states:us-east-1:1:stateMachine:m","input":"{\"id\":\"abc\",\"val\":42}"}"#,
            r#"{"a": "x", "b": 1, "c": -1.5e3, "d": true, "e": false, "f": null, "a": "y"}"#,
            r#"{"esc": "q\" b\\ s\/ \b\f\n\r\t \u00e9 \u0001 \ud83d\ude00 end", "k\u0041": 1}"#,
            r#"{"long": "0123456789abcdef0123456789abcdef0123456789\"abcdef0123456789"}"#,
            r#"{"n": 18446744073709551615, "m": -9223372036854775808, "f": 0.1}"#,
            "{\"utf8\": \"é 😀 \u{2028}\"}",
        ] {
            check(body);
        }
    }

    /// Bodies built from JSON's delicate pieces: whatever this reader reads, serde_json reads
    /// to the same members.
    #[test]
    fn agrees_with_serde_json_on_generated_bodies() {
        use proptest::prelude::*;
        let piece = prop::sample::select(vec![
            "{", "}", "\"", "\\", ":", ",", " ", "\t", "a", "k", "u", "0", "1", "-", ".", "e",
            "d8", "dc", "3d", "00", "1f", "null", "true", "é", "😀", "\u{1}", "/", "b", "n",
        ]);
        let body = prop::collection::vec(piece, 0..40).prop_map(|p| p.concat());
        let framed = (
            body,
            prop::collection::vec(any::<u8>(), 0..3),
            any::<bool>(),
        )
            .prop_map(|(b, noise, scalar)| {
                let mut text = match scalar {
                    true => format!("{{\"k\":\"{b}\",\"x\":{b}}}"),
                    false => format!("{{\"k{b}\":\"{b}\", \"s\": \"{b}\"}}"),
                }
                .into_bytes();
                for n in noise {
                    let at = usize::from(n) % (text.len() + 1);
                    text.insert(at, b"\"\\ ,:{}"[usize::from(n) % 7]);
                }
                text
            });
        let read_some = std::cell::Cell::new(0);
        let config = proptest::test_runner::Config::with_cases(4096);
        proptest::test_runner::TestRunner::new(config)
            .run(&framed, |body| {
                if let Some(ours) = object(&body) {
                    read_some.set(read_some.get() + 1);
                    let theirs: serde_json::Map<String, Value> =
                        serde_json::from_slice(&body).expect("serde_json reads what we read");
                    let mut read = serde_json::Map::new();
                    for (k, m) in ours {
                        let v = match m {
                            Member::Text(t) => {
                                if let Some(w) = t.written {
                                    let escaped = serde_json::to_string(&t.value).unwrap();
                                    prop_assert_eq!(&escaped[1..escaped.len() - 1], w);
                                }
                                Value::String(t.value.into_owned())
                            }
                            Member::Value(v) => v,
                        };
                        read.insert(k.into_owned(), v);
                    }
                    prop_assert_eq!(read, theirs);
                }
                Ok(())
            })
            .unwrap();
        assert!(read_some.get() > 100, "{} bodies read", read_some.get());
    }

    #[test]
    fn declines_what_it_does_not_read() {
        for body in [
            &b""[..],
            b"[]",
            b"{\"a\": {}}",
            b"{\"a\": [1]}",
            b"{\"a\": 1} x",
            b"{\"a\": 1,}",
            b"{\"a\" 1}",
            b"{\"a\": \"\x01\"}",
            b"{\"a\": \"\xff\"}",
            b"{\"a\": \"\\ud800\"}",
            b"{\"a\": \"\\udc00\"}",
            b"{\"a\": \"\\x\"}",
            b"{\"a\": 01}",
            b"{\"a\": tru}",
            b"{\"a\": \"open",
            b"\xef\xbb\xbf{}",
            b"{\x0c}",
        ] {
            assert!(
                object(body).is_none(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
