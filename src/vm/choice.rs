//! Evaluating JSONPath Choice rules.
//!
//! Invariant: a type mismatch makes a comparison false, never an error (as AWS records show);
//! only a `Variable` (or `...Path` operand) that selects nothing fails, and `IsPresent` never does.
//! `holds_on` (the input alone, no answer on a miss) and `holds` (every root, with the miss's
//! error) agree wherever the first answers: both compare through `compare`.

use std::borrow::Cow;

use crate::value::Value;

use super::failure::Failure;
use super::jsonpath::{self, Roots};
use crate::asl::machine::{Comparison, Operand, Ordering, Rule};
use crate::asl::path::Path;
use crate::asl::timestamp;

/// Whether `rule` holds.
pub fn holds(rule: &Rule, roots: &Roots) -> Result<bool, Failure> {
    match rule {
        Rule::And(rules) => {
            for r in rules {
                if !holds(r, roots)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rules) => {
            for r in rules {
                if holds(r, roots)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(r) => Ok(!holds(r, roots)?),
        Rule::Test {
            variable,
            comparison,
        } => {
            let read =
                |p: &Path| jsonpath::read_ref(p, roots).map_err(|m| invalid_path(p, &m.detail()));
            // The common case, a Reference Path into the input that selects a node: read in
            // place, without `read_ref`'s `Cow` and miss.
            if let Some(v) = jsonpath::input_node(variable, roots.input) {
                return compare(v, comparison, read);
            }
            let value = jsonpath::read_ref(variable, roots);
            if let Comparison::IsPresent(want) = comparison {
                // A path Jayway cannot compile is an error, not an absent value.
                return match value {
                    Err(m @ jsonpath::Miss::Uncompilable(_)) => {
                        Err(invalid_path(variable, &m.detail()))
                    }
                    v => Ok(v.is_ok() == *want),
                };
            }
            let value = value.map_err(|m| invalid_path(variable, &m.detail()))?;
            compare(&value, comparison, read)
        }
    }
}

/// Whether `rule` holds, when every path it reads selects a node of `input`; `None` when one
/// reads another root (the Context Object, a variable), is a query path or selects nothing,
/// and `holds` must answer (with the miss's failure, or `IsPresent`'s answer). Most rules read
/// only the input: this way builds no Context Object's roots and carries no `Failure`.
///
/// Inline for a top-level test (almost every rule), so that a Choice decides it with no call;
/// `And`, `Or` and `Not` recurse out of line.
#[inline]
pub fn holds_on(rule: &Rule, input: &Value) -> Option<bool> {
    match rule {
        Rule::Test {
            variable,
            comparison,
        } => test_on(variable, comparison, input),
        _ => holds_on_nested(rule, input),
    }
}

#[inline(never)]
fn holds_on_nested(rule: &Rule, input: &Value) -> Option<bool> {
    match rule {
        Rule::And(rules) => {
            for r in rules {
                if !holds_on(r, input)? {
                    return Some(false);
                }
            }
            Some(true)
        }
        Rule::Or(rules) => {
            for r in rules {
                if holds_on(r, input)? {
                    return Some(true);
                }
            }
            Some(false)
        }
        Rule::Not(r) => holds_on(r, input).map(|b| !b),
        Rule::Test {
            variable,
            comparison,
        } => test_on(variable, comparison, input),
    }
}

/// `holds_on` of one test. A number against a literal (a loop's bound, a threshold) is
/// compared here; any other comparison, out of line.
#[inline]
fn test_on(variable: &Path, comparison: &Comparison, input: &Value) -> Option<bool> {
    let v = jsonpath::input_node(variable, input)?;
    if let Comparison::Numeric(ord, Operand::Literal(r)) = comparison {
        return Some(numeric(v, *r, *ord));
    }
    compare_on(v, comparison, input)
}

#[inline(never)]
fn compare_on(v: &Value, comparison: &Comparison, input: &Value) -> Option<bool> {
    let read = |p: &Path| jsonpath::input_node(p, input).map(Cow::Borrowed).ok_or(());
    compare(v, comparison, read).ok()
}

/// A numeric comparison: false unless `value` is a number (a type mismatch is no error).
#[inline]
fn numeric(value: &Value, rhs: f64, ord: Ordering) -> bool {
    match value.as_f64() {
        Some(l) => l.partial_cmp(&rhs).is_some_and(|c| ordered(c, ord)),
        None => false,
    }
}

fn invalid_path(p: &Path, detail: &str) -> Failure {
    Failure::runtime(format!("Invalid path '{}' : {detail}", p.text()))
}

/// Compares the variable's `value` by `comparison`, whose `...Path` operand `read` reads (first,
/// so that its miss fails the rule whatever the variable holds). A literal operand is used
/// where it is, not copied.
#[inline]
fn compare<'v, E>(
    value: &Value,
    comparison: &Comparison,
    read: impl Fn(&Path) -> Result<Cow<'v, Value>, E>,
) -> Result<bool, E> {
    Ok(match comparison {
        Comparison::String(ord, o) => {
            let read_value;
            let rhs = match o {
                Operand::Literal(s) => Some(s.as_str()),
                Operand::Path(p) => {
                    read_value = read(p)?;
                    read_value.as_str()
                }
            };
            match (value.as_str(), rhs) {
                // Equal UTF-16 is equal text: no need to encode.
                (Some(l), Some(r)) if *ord == Ordering::Equals => l == r,
                (Some(l), Some(r)) => ordered(java_compare(l, r), *ord),
                _ => false,
            }
        }
        Comparison::Numeric(ord, o) => {
            let rhs = match o {
                Operand::Literal(n) => Some(*n),
                Operand::Path(p) => read(p)?.as_f64(),
            };
            rhs.is_some_and(|r| numeric(value, r, *ord))
        }
        Comparison::Timestamp(ord, o) => {
            let rhs = match o {
                Operand::Literal(t) => Some(*t),
                Operand::Path(p) => read(p)?.as_str().and_then(timestamp::parse),
            };
            match (value.as_str().and_then(timestamp::parse), rhs) {
                (Some(l), Some(r)) => ordered(l.cmp(&r), *ord),
                _ => false,
            }
        }
        Comparison::BooleanEquals(o) => {
            let rhs = match o {
                Operand::Literal(b) => Some(*b),
                Operand::Path(p) => read(p)?.as_bool(),
            };
            matches!((value.as_bool(), rhs), (Some(l), Some(r)) if l == r)
        }
        Comparison::StringMatches(pattern) => {
            value.as_str().is_some_and(|s| string_matches(s, pattern))
        }
        Comparison::IsNull(want) => value.is_null() == *want,
        Comparison::IsPresent(want) => *want,
        Comparison::IsNumeric(want) => value.is_number() == *want,
        Comparison::IsString(want) => value.is_string() == *want,
        Comparison::IsBoolean(want) => value.is_boolean() == *want,
        Comparison::IsTimestamp(want) => {
            value.as_str().and_then(timestamp::parse).is_some() == *want
        }
    })
}

fn ordered(c: std::cmp::Ordering, ord: Ordering) -> bool {
    use std::cmp::Ordering as C;
    match ord {
        Ordering::Equals => c == C::Equal,
        Ordering::LessThan => c == C::Less,
        Ordering::GreaterThan => c == C::Greater,
        Ordering::LessThanEquals => c != C::Greater,
        Ordering::GreaterThanEquals => c != C::Less,
    }
}

/// Java's `String.compareTo`: by UTF-16 code units.
fn java_compare(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are a literal star and
/// backslash.
pub fn string_matches(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Char(char),
        Star,
    }
    let mut parts = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        parts.push(match c {
            '\\' => P::Char(chars.next().unwrap_or('\\')),
            '*' => P::Star,
            c => P::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with backtracking to the last star: linear in practice.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match parts.get(p) {
            Some(P::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(P::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    parts[p..].iter().all(|x| *x == P::Star)
}

#[cfg(test)]
mod tests {
    use super::string_matches;

    #[test]
    fn string_matches_globs() {
        let cases = [
            ("log-2024.txt", "log-*.txt", true),
            ("log-.txt", "log-*.txt", true),
            ("log.txt", "log-*.txt", false),
            ("abc", "*", true),
            ("", "*", true),
            ("", "", true),
            ("a*c", "a\\*c", true),
            ("abc", "a\\*c", false),
            ("a\\c", "a\\\\c", true),
            ("aXbXc", "*b*c", true),
            ("abcabd", "*abd", true),
            ("abc", "ab", false),
        ];
        for (text, pattern, want) in cases {
            assert_eq!(string_matches(text, pattern), want, "{text} ~ {pattern}");
        }
    }
}
