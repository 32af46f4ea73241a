//! ASL Paths (Jayway JSONPath text as Step Functions accepts it) → a typed [`Path`].
//!
//! A path is parsed once, when the definition is validated: a Reference Path becomes a list of
//! field/index [`Segment`]s; any other path is translated to RFC 9535 text and kept as a
//! compiled [`serde_json_path::JsonPath`]; a general path that AWS accepts but Jayway cannot
//! compile (a bare word in a filter) becomes an [`UncompilablePath`] that fails when evaluated.
//! Evaluation lives elsewhere.
//! Invariant: parsing never panics, and every [`PathError`] names the problem and its character
//! offset in the original text.

use std::fmt;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state's input (or whatever value the field is applied to).
    Input,
    /// `$$`: the Context Object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// One step of a Reference Path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// `.name`, `['name']` or `["name"]`, with escapes already resolved; shared, so a ResultPath
    /// that adds the field gives the object this key without an allocation.
    Field(crate::value::Str),
    /// `[n]` with `n` a non-negative integer.
    Index(usize),
}

/// A path that identifies at most one node: only field and index steps.
#[derive(Debug, Clone)]
pub struct ReferencePath {
    pub root: Root,
    pub segments: Vec<Segment>,
    /// The path exactly as written in the definition, for messages (AWS quotes it).
    pub text: String,
}

/// Two reference paths are equal when they select the same node, however they were written.
impl PartialEq for ReferencePath {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root && self.segments == other.segments
    }
}

impl Eq for ReferencePath {}

/// A path that may select many nodes (wildcards, slices, unions, filters, `..`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPath {
    pub root: Root,
    /// The selectors after the root, rooted at `$`: apply it to the value [`QueryPath::root`]
    /// names (the input, the Context Object or the variable's value).
    pub query: serde_json_path::JsonPath,
    /// The path exactly as written in the definition, for messages.
    pub text: String,
}

/// A general path that AWS accepts in a definition but that Jayway, which compiles a path when
/// it is evaluated, cannot compile: a filter comparing with a bare word (`[?(@.code==es)]`).
/// Every evaluation fails with Jayway's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncompilablePath {
    pub root: Root,
    /// Jayway's `InvalidPathException` message, which AWS quotes.
    pub message: String,
    /// The path exactly as written in the definition, for messages.
    pub text: String,
}

/// A parsed ASL Path. A path written with only field and index steps is always a
/// [`Path::Reference`], whichever field it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    Reference(ReferencePath),
    Query(QueryPath),
    Uncompilable(UncompilablePath),
}

impl Path {
    pub fn root(&self) -> &Root {
        match self {
            Path::Reference(r) => &r.root,
            Path::Query(q) => &q.root,
            Path::Uncompilable(u) => &u.root,
        }
    }

    pub fn is_reference(&self) -> bool {
        matches!(self, Path::Reference(_))
    }

    /// The path as written in the definition.
    pub fn text(&self) -> &str {
        match self {
            Path::Reference(r) => &r.text,
            Path::Query(q) => &q.text,
            Path::Uncompilable(u) => &u.text,
        }
    }
}

/// Why a text is not a valid path, and where (offset counted in characters, from 0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {offset})")]
pub struct PathError {
    pub message: String,
    pub offset: usize,
}

/// Parses any ASL Path: a Reference Path when it has only field and index steps, otherwise a
/// general (query) path.
pub fn parse_path(text: &str) -> Result<Path, PathError> {
    let parsed = Parser::trimmed(text).parse()?;
    if parsed.not_reference.is_none() {
        return Ok(Path::Reference(parsed.into_reference(text)));
    }
    let rfc = parsed.rfc_text();
    // Our own grammar is stricter than RFC 9535's except for what the RFC adds on top (integer
    // range, well-typed comparisons), so a rejection here is about the query's meaning.
    let query = serde_json_path::JsonPath::parse(&rfc).map_err(|e| PathError {
        message: format!("unsupported JSONPath query: {}", e.message()),
        offset: parsed.segments_start,
    })?;
    // The rest of the path is checked like any other (a bare word stands in as `null`), so only
    // the bare word is deferred to evaluation.
    if let Some(message) = parsed.uncompilable {
        return Ok(Path::Uncompilable(UncompilablePath {
            root: parsed.root,
            message,
            text: text.to_string(),
        }));
    }
    Ok(Path::Query(QueryPath {
        root: parsed.root,
        query,
        text: text.to_string(),
    }))
}

/// Parses a Reference Path; a valid general path is an error naming the first operator that a
/// Reference Path does not allow.
pub fn parse_reference_path(text: &str) -> Result<ReferencePath, PathError> {
    let parsed = Parser::trimmed(text).parse()?;
    match parsed.not_reference {
        None => Ok(parsed.into_reference(text)),
        Some((offset, what)) => Err(PathError {
            message: format!("{what} is not allowed in a reference path"),
            offset,
        }),
    }
}

impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Root::Input => f.write_str("$"),
            Root::Context => f.write_str("$$"),
            Root::Variable(name) => write!(f, "${name}"),
        }
    }
}

/// Canonical Jayway bracket text, e.g. `$['a']['b'][0]`: the form AWS quotes in its error
/// messages. It parses back to the same path.
impl fmt::Display for ReferencePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)?;
        for segment in &self.segments {
            match segment {
                Segment::Field(name) => {
                    let mut quoted = String::new();
                    push_quoted(&mut quoted, name);
                    write!(f, "[{quoted}]")?;
                }
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// A reference path prints canonically; any other path prints as written.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Reference(r) => r.fmt(f),
            Path::Query(q) => f.write_str(&q.text),
            Path::Uncompilable(u) => f.write_str(&u.text),
        }
    }
}

/// RFC 9535 integers are limited to the I-JSON exact range; checking it here gives a better
/// message than the translated query would.
const MAX_INDEX: i64 = (1 << 53) - 1;

/// Filters nest by recursion; people write one or two levels, and the bound keeps hostile
/// input from exhausting the stack.
const MAX_FILTER_DEPTH: usize = 16;

/// One selector inside a segment, in the form it will be written as RFC 9535 text.
#[derive(Debug)]
enum Selector {
    Name(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// The RFC 9535 logical expression after `?`.
    Filter(String),
}

#[derive(Debug)]
struct JaywaySegment {
    descendant: bool,
    selectors: Vec<Selector>,
}

struct Parsed {
    root: Root,
    segments: Vec<JaywaySegment>,
    /// Character offset of the first segment, for errors about the whole query.
    segments_start: usize,
    /// The first construct that makes this a general path: offset and a description.
    not_reference: Option<(usize, &'static str)>,
    /// Jayway's message when it cannot compile the path (see [`UncompilablePath`]).
    uncompilable: Option<String>,
}

impl Parsed {
    /// Only called when `not_reference` is `None`, which guarantees every segment is a single
    /// name or non-negative index in the child position.
    fn into_reference(self, text: &str) -> ReferencePath {
        let segments = self
            .segments
            .into_iter()
            .filter_map(|s| match s.selectors.into_iter().next() {
                Some(Selector::Name(n)) => Some(Segment::Field(n.into())),
                Some(Selector::Index(i)) => usize::try_from(i).ok().map(Segment::Index),
                _ => None,
            })
            .collect();
        ReferencePath {
            root: self.root,
            segments,
            text: text.to_owned(),
        }
    }

    fn rfc_text(&self) -> String {
        let mut out = String::from("$");
        push_rfc_segments(&mut out, &self.segments);
        out
    }
}

fn push_rfc_segments(out: &mut String, segments: &[JaywaySegment]) {
    for segment in segments {
        if segment.descendant {
            out.push_str("..");
        }
        out.push('[');
        for (i, selector) in segment.selectors.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match selector {
                Selector::Name(n) => push_quoted(out, n),
                Selector::Index(i) => out.push_str(&i.to_string()),
                Selector::Wildcard => out.push('*'),
                Selector::Slice(start, end, step) => {
                    if let Some(s) = start {
                        out.push_str(&s.to_string());
                    }
                    out.push(':');
                    if let Some(e) = end {
                        out.push_str(&e.to_string());
                    }
                    if let Some(s) = step {
                        out.push(':');
                        out.push_str(&s.to_string());
                    }
                }
                Selector::Filter(expr) => {
                    out.push('?');
                    out.push_str(expr);
                }
            }
        }
        out.push(']');
    }
}

/// Writes `s` as a single-quoted string that both RFC 9535 and our own parser read back as `s`.
fn push_quoted(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// Where a dot-notation field name is being read: a filter expression ends names at its
/// operators, while at the top level those characters are mistakes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    TopLevel,
    Filter,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Depth of filter expressions being read; only top-level constructs decide whether the
    /// path is a Reference Path.
    filter_depth: usize,
    /// Characters trimmed from the start of the text as written, added to error offsets.
    offset: usize,
    not_reference: Option<(usize, &'static str)>,
    /// Jayway's message for the first filter it could not compile.
    uncompilable: Option<String>,
}

impl Parser {
    fn new(text: &str) -> Self {
        Parser {
            chars: text.chars().collect(),
            pos: 0,
            filter_depth: 0,
            offset: 0,
            not_reference: None,
            uncompilable: None,
        }
    }

    /// A parser of `text` without the spaces at either end: Jayway's path compiler, which AWS
    /// uses, trims them (spaces only, not other whitespace) before it reads a path. Offsets in
    /// errors still count from the text as written.
    fn trimmed(text: &str) -> Self {
        let start = text.trim_start_matches(' ');
        let lead = text.len() - start.len();
        let mut inner = start.trim_end_matches(' ');
        // A space escaped by a backslash (`$.a\ `) is part of the last field name.
        let backslashes = inner.len() - inner.trim_end_matches('\\').len();
        if backslashes % 2 == 1 && inner.len() < start.len() {
            inner = &start[..inner.len() + 1];
        }
        Parser {
            offset: lead,
            ..Parser::new(inner)
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn error<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, PathError> {
        Err(PathError {
            message: message.into(),
            offset: self.offset + offset,
        })
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("'{c}'"),
            None => "end of path".to_string(),
        }
    }

    fn mark_general(&mut self, offset: usize, what: &'static str) {
        if self.filter_depth == 0 && self.not_reference.is_none() {
            self.not_reference = Some((offset, what));
        }
    }

    fn skip_whitespace(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn parse(mut self) -> Result<Parsed, PathError> {
        let root = self.parse_root()?;
        let segments_start = self.pos;
        let segments = self.parse_segments(Context::TopLevel)?;
        if self.pos < self.chars.len() {
            return self.error(
                self.pos,
                format!("expected '.' or '[' but found {}", self.found()),
            );
        }
        Ok(Parsed {
            root,
            segments,
            segments_start: self.offset + segments_start,
            not_reference: self
                .not_reference
                .map(|(at, what)| (self.offset + at, what)),
            uncompilable: self.uncompilable,
        })
    }

    fn parse_root(&mut self) -> Result<Root, PathError> {
        if self.peek() != Some('$') {
            return self.error(
                0,
                format!("a path must start with '$', found {}", self.found()),
            );
        }
        self.pos = 1;
        match self.peek() {
            None | Some('.') | Some('[') => Ok(Root::Input),
            Some('$') => {
                self.pos = 2;
                match self.peek() {
                    None | Some('.') | Some('[') => Ok(Root::Context),
                    Some(_) => self.error(
                        2,
                        format!("expected '.' or '[' after '$$' but found {}", self.found()),
                    ),
                }
            }
            Some(_) => {
                let name = self.parse_variable_name()?;
                Ok(Root::Variable(name))
            }
        }
    }

    /// A variable name starts with a letter or `_` and continues with letters, digits or `_`
    /// up to the first `.` or `[`.
    fn parse_variable_name(&mut self) -> Result<String, PathError> {
        let start = self.pos;
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c == '.' || c == '[' {
                break;
            }
            let ok = if name.is_empty() {
                c.is_alphabetic() || c == '_'
            } else {
                c.is_alphanumeric() || c == '_'
            };
            if !ok {
                return self.error(
                    self.pos,
                    format!("invalid character '{c}' in variable name"),
                );
            }
            name.push(c);
            self.pos += 1;
        }
        if name.is_empty() {
            return self.error(start, "empty variable name");
        }
        Ok(name)
    }

    fn parse_segments(&mut self, context: Context) -> Result<Vec<JaywaySegment>, PathError> {
        let mut segments = Vec::new();
        while let Some(c) = self.peek() {
            let start = self.pos;
            let segment = match c {
                '.' if self.peek_at(1) == Some('.') => {
                    self.mark_general(start, "recursive descent '..'");
                    self.pos += 2;
                    let selectors = self.parse_after_dot(context)?;
                    JaywaySegment {
                        descendant: true,
                        selectors,
                    }
                }
                '.' => {
                    self.pos += 1;
                    let selectors = self.parse_after_dot(context)?;
                    JaywaySegment {
                        descendant: false,
                        selectors,
                    }
                }
                '[' => JaywaySegment {
                    descendant: false,
                    selectors: self.parse_bracket()?,
                },
                _ => break,
            };
            segments.push(segment);
        }
        Ok(segments)
    }

    /// After `.` or `..`: a wildcard, a bracket (Jayway's `.['name']` form) or a field name.
    fn parse_after_dot(&mut self, context: Context) -> Result<Vec<Selector>, PathError> {
        match self.peek() {
            Some('*') => {
                self.mark_general(self.pos, "wildcard '*'");
                self.pos += 1;
                Ok(vec![Selector::Wildcard])
            }
            Some('[') => self.parse_bracket(),
            _ => Ok(vec![Selector::Name(self.parse_dot_name(context)?)]),
        }
    }

    /// A dot-notation field name: a backslash makes the next character part of the name
    /// (`$.store\.book` is one field), so the spec's escape examples need no special cases.
    fn parse_dot_name(&mut self, context: Context) -> Result<String, PathError> {
        let start = self.pos;
        let mut name = String::new();
        while let Some(c) = self.peek() {
            match c {
                '\\' => match self.peek_at(1) {
                    Some(escaped) => {
                        name.push(escaped);
                        self.pos += 2;
                        continue;
                    }
                    None => return self.error(self.pos, "a backslash must be followed by a character"),
                },
                '.' | '[' => break,
                _ if context == Context::Filter && ends_name_in_filter(c) => break,
                '@' | ',' | ':' | '?' | '*' => {
                    return self.error(
                        self.pos,
                        format!("'{c}' is not allowed unescaped in a field name; escape it as '\\{c}' or use ['...']"),
                    )
                }
                '(' | ')' => {
                    return self.error(
                        self.pos,
                        format!("'{c}' is not allowed in a field name (JSONPath functions are not supported)"),
                    )
                }
                ']' => return self.error(self.pos, "unexpected ']'"),
                _ if c.is_whitespace() => {
                    return self.error(self.pos, "whitespace is not allowed in a field name; use ['...']")
                }
                _ => {
                    name.push(c);
                    self.pos += 1;
                }
            }
        }
        if name.is_empty() {
            return self.error(
                start,
                format!("expected a field name but found {}", self.found()),
            );
        }
        Ok(name)
    }

    /// `[` selector (`,` selector)* `]`.
    fn parse_bracket(&mut self) -> Result<Vec<Selector>, PathError> {
        let bracket = self.pos;
        self.pos += 1; // '['
        let mut selectors = Vec::new();
        loop {
            self.skip_whitespace();
            let start = self.pos;
            let selector = match self.peek() {
                Some(q @ ('\'' | '"')) => Selector::Name(self.parse_quoted(q)?),
                Some('*') => {
                    self.mark_general(start, "wildcard '*'");
                    self.pos += 1;
                    Selector::Wildcard
                }
                Some('?') => {
                    self.mark_general(start, "filter expression '?'");
                    self.pos += 1;
                    Selector::Filter(self.parse_filter(bracket)?)
                }
                Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => {
                    self.parse_index_or_slice()?
                }
                Some('(') => {
                    return self.error(start, "script expressions '[(...)]' are not supported")
                }
                Some(']') if selectors.is_empty() => {
                    return self.error(start, "empty brackets '[]'")
                }
                _ => {
                    return self.error(
                        start,
                        format!(
                            "expected a quoted name, an index, '*' or '?' but found {}",
                            self.found()
                        ),
                    )
                }
            };
            selectors.push(selector);
            self.skip_whitespace();
            match self.peek() {
                Some(',') => {
                    self.mark_general(self.pos, "union ','");
                    self.pos += 1;
                }
                Some(']') => {
                    self.pos += 1;
                    return Ok(selectors);
                }
                _ => {
                    return self.error(
                        self.pos,
                        format!("expected ',' or ']' but found {}", self.found()),
                    )
                }
            }
        }
    }

    fn parse_index_or_slice(&mut self) -> Result<Selector, PathError> {
        let start = self.pos;
        let first = self.parse_optional_int()?;
        self.skip_whitespace();
        if self.peek() != Some(':') {
            return match first {
                Some(i) if i < 0 => {
                    self.mark_general(start, "negative index");
                    Ok(Selector::Index(i))
                }
                Some(i) => Ok(Selector::Index(i)),
                None => self.error(start, "expected an index"),
            };
        }
        self.mark_general(self.pos, "slice ':'");
        self.pos += 1;
        self.skip_whitespace();
        let end = self.parse_optional_int()?;
        self.skip_whitespace();
        let mut step = None;
        if self.peek() == Some(':') {
            self.pos += 1;
            self.skip_whitespace();
            step = self.parse_optional_int()?;
        }
        Ok(Selector::Slice(first, end, step))
    }

    fn parse_optional_int(&mut self) -> Result<Option<i64>, PathError> {
        let start = self.pos;
        let mut digits = String::new();
        if self.peek() == Some('-') {
            digits.push('-');
            self.pos += 1;
        }
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            digits.push(c);
            self.pos += 1;
        }
        match digits.as_str() {
            "" => Ok(None),
            "-" => self.error(start, "expected digits after '-'"),
            _ => match digits.parse::<i64>() {
                Ok(n) if (-MAX_INDEX..=MAX_INDEX).contains(&n) => Ok(Some(n)),
                _ => self.error(start, format!("integer {digits} is out of range")),
            },
        }
    }

    /// A quoted name: JSON escapes plus `\'`, so both quote styles read the same way.
    fn parse_quoted(&mut self, quote: char) -> Result<String, PathError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.error(start, "unterminated quoted name");
            };
            self.pos += 1;
            if c == quote {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let escape_at = self.pos - 1;
            let Some(e) = self.peek() else {
                return self.error(start, "unterminated quoted name");
            };
            self.pos += 1;
            match e {
                '\'' | '"' | '\\' | '/' => out.push(e),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => out.push(self.parse_unicode_escape(escape_at)?),
                _ => {
                    return self.error(escape_at, format!("invalid escape '\\{e}' in quoted name"))
                }
            }
        }
    }

    /// After `\u`: four hex digits, or a surrogate pair written as two escapes.
    fn parse_unicode_escape(&mut self, escape_at: usize) -> Result<char, PathError> {
        let high = self.parse_hex4(escape_at)?;
        if !(0xD800..0xDC00).contains(&high) {
            return char::from_u32(high).map_or_else(
                || self.error(escape_at, "lone low surrogate in \\u escape"),
                Ok,
            );
        }
        if self.peek() != Some('\\') || self.peek_at(1) != Some('u') {
            return self.error(
                escape_at,
                "high surrogate must be followed by a low surrogate",
            );
        }
        self.pos += 2;
        let low = self.parse_hex4(escape_at)?;
        if !(0xDC00..0xE000).contains(&low) {
            return self.error(
                escape_at,
                "high surrogate must be followed by a low surrogate",
            );
        }
        let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        char::from_u32(code).map_or_else(|| self.error(escape_at, "invalid \\u escape"), Ok)
    }

    fn parse_hex4(&mut self, escape_at: usize) -> Result<u32, PathError> {
        let mut value = 0;
        for _ in 0..4 {
            let Some(d) = self.peek().and_then(|c| c.to_digit(16)) else {
                return self.error(escape_at, "\\u must be followed by four hex digits");
            };
            value = value * 16 + d;
            self.pos += 1;
        }
        Ok(value)
    }

    /// After `?`: a Jayway filter such as `(@.price < 10)`, translated token by token into
    /// RFC 9535 text. Jayway-only operators (`=~`, `in`, `size`...) and functions have no
    /// RFC 9535 equivalent and are rejected rather than guessed at. A bare word where a value
    /// belongs is Jayway's failure to compile, recorded for evaluation (see [`bare_word_message`]).
    fn parse_filter(&mut self, bracket: usize) -> Result<String, PathError> {
        let filter_start = self.pos;
        if self.filter_depth >= MAX_FILTER_DEPTH {
            return self.error(
                filter_start,
                format!("filter expressions can be nested at most {MAX_FILTER_DEPTH} deep"),
            );
        }
        self.filter_depth += 1;
        let mut out = String::new();
        let mut parens = 0usize;
        let mut last = Last::Open;
        // The first bare word: where it starts, the word, and the token before it.
        let mut bare: Option<(usize, String, Last)> = None;
        loop {
            if self.skip_whitespace() && !out.is_empty() {
                out.push(' ');
            }
            let start = self.pos;
            let Some(c) = self.peek() else {
                return self.error(filter_start, "unterminated filter expression");
            };
            match c {
                // A bare ']' always ends the filter (brackets inside it belong to queries);
                // unclosed parentheses are reported below.
                ']' => break,
                ',' if parens == 0 => break,
                '(' => {
                    parens += 1;
                    self.pos += 1;
                    out.push('(');
                    last = Last::Open;
                }
                ')' => {
                    if parens == 0 {
                        return self.error(start, "unbalanced ')' in filter expression");
                    }
                    parens -= 1;
                    self.pos += 1;
                    out.push(')');
                    last = Last::Value { query: false };
                }
                '\'' | '"' => {
                    let s = self.parse_quoted(c)?;
                    push_quoted(&mut out, &s);
                    last = Last::Value { query: false };
                }
                '@' | '$' => {
                    self.parse_filter_query(&mut out)?;
                    last = Last::Value { query: true };
                }
                '=' => match self.peek_at(1) {
                    Some('=') => {
                        self.pos += 2;
                        out.push_str("==");
                        last = last.comparison();
                    }
                    Some('~') => {
                        return self.error(start, "regular expression match '=~' is not supported")
                    }
                    _ => return self.error(start, "'=' is not an operator; use '=='"),
                },
                '!' | '<' | '>' => {
                    self.pos += 1;
                    out.push(c);
                    if self.peek() == Some('=') {
                        self.pos += 1;
                        out.push('=');
                        last = last.comparison();
                    } else if c == '!' {
                        last = Last::Open;
                    } else {
                        last = last.comparison();
                    }
                }
                '&' | '|' => {
                    if self.peek_at(1) != Some(c) {
                        return self.error(start, format!("expected '{c}{c}'"));
                    }
                    self.pos += 2;
                    out.push(c);
                    out.push(c);
                    last = Last::Open;
                }
                '-' | '0'..='9' => {
                    self.copy_number(&mut out);
                    last = Last::Value { query: false };
                }
                c if c.is_alphabetic() || c == '_' => {
                    let mut word = String::new();
                    while let Some(w) = self.peek().filter(|w| !ends_name_in_filter(*w)) {
                        word.push(w);
                        self.pos += 1;
                    }
                    let after_value = matches!(last, Last::Value { .. });
                    match word.as_str() {
                        "true" | "false" | "null" => out.push_str(&word),
                        "in" | "nin" | "subsetof" | "anyof" | "noneof" | "size" | "empty"
                        | "contains"
                            if after_value =>
                        {
                            return self
                                .error(start, format!("unsupported filter operator '{word}'"))
                        }
                        _ if after_value => {
                            let m = format!("'{word}' is not a value: quote a string ('{word}')");
                            return self.error(start, m);
                        }
                        // Where a value belongs, Jayway reads a bare word as a literal it cannot
                        // parse, so the path does not compile; AWS accepts the definition and
                        // fails when the path is evaluated. `null` keeps the rest checkable.
                        _ => {
                            if bare.is_none() {
                                bare = Some((start, word.clone(), last));
                            }
                            out.push_str("null");
                        }
                    }
                    last = Last::Value { query: false };
                }
                _ => return self.error(start, format!("unexpected '{c}' in filter expression")),
            }
        }
        if parens != 0 {
            return self.error(filter_start, "unclosed '(' in filter expression");
        }
        if out.trim().is_empty() {
            return self.error(filter_start, "empty filter expression");
        }
        if let Some((at, word, before)) = bare {
            if self.uncompilable.is_none() {
                // Jayway compiles the filter's own text, from its '[' to its ']'.
                let end = (self.pos + 1).min(self.chars.len());
                let criteria = &self.chars[bracket..end];
                self.uncompilable = Some(bare_word_message(criteria, at - bracket, &word, before));
            }
        }
        self.filter_depth -= 1;
        Ok(out.trim_end().to_string())
    }

    /// `@...` or `$...` inside a filter. Context and variable roots have no RFC 9535 meaning
    /// there, so they are rejected.
    fn parse_filter_query(&mut self, out: &mut String) -> Result<(), PathError> {
        let start = self.pos;
        let root = self.peek().unwrap_or('@');
        self.pos += 1;
        if root == '$'
            && self
                .peek()
                .is_some_and(|c| c == '$' || c == '_' || c.is_alphanumeric())
        {
            return self.error(
                start,
                "only '$' and '@' queries are supported inside a filter expression",
            );
        }
        let segments = self.parse_segments(Context::Filter)?;
        if self.peek() == Some('(') {
            return self.error(self.pos, "JSONPath functions are not supported");
        }
        out.push(root);
        push_rfc_segments(out, &segments);
        Ok(())
    }

    /// Copies a JSON-style number; serde_json_path judges its exact form.
    fn copy_number(&mut self, out: &mut String) {
        let mut prev = ' ';
        while let Some(c) = self.peek() {
            let sign_after_exponent = (c == '-' || c == '+') && (prev == 'e' || prev == 'E');
            let first_minus = c == '-' && prev == ' ';
            if !(c.is_ascii_digit()
                || c == '.'
                || c == 'e'
                || c == 'E'
                || sign_after_exponent
                || first_minus)
            {
                break;
            }
            out.push(c);
            prev = c;
            self.pos += 1;
        }
    }
}

/// The token before a bare word in a filter, which decides how Jayway fails on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    /// The start, `(`, `!`, `&&` or `||`: an operand begins.
    Open,
    /// A value: a query (`@...`, `$...`) or a literal or a closed group.
    Value { query: bool },
    /// A comparison operator, after a query or not.
    Comparison { after_query: bool },
}

impl Last {
    fn comparison(self) -> Last {
        Last::Comparison {
            after_query: matches!(self, Last::Value { query: true }),
        }
    }
}

/// Jayway's `InvalidPathException` message for a filter `criteria` (its text from `[` to `]`)
/// with a bare word at offset `at`, following `FilterCompiler` (json-path 2.1 and later):
/// a word not starting with `t`, `f` or `n` is read as a number (`BigDecimal` fails, reported
/// with the position after the number characters read); `t`/`f`/`n` words are read as
/// `true`/`false`/`null`, whose failure after a comparison makes Jayway fall back to an
/// existence check and then miss the `)` it expects.
fn bare_word_message(criteria: &[char], at: usize, word: &str, before: Last) -> String {
    let first = word.chars().next().unwrap_or(' ');
    let literal = match first {
        't' => "true",
        'f' => "false",
        'n' => "null",
        _ => {
            let number_char = |c: &char| c.is_ascii_digit() || matches!(c, '-' | '.' | 'e' | 'E');
            let read = criteria[at..].iter().take_while(|c| number_char(c)).count();
            let position = at + read;
            let text: String = criteria.iter().collect();
            let c = criteria.get(position).copied().unwrap_or(' ');
            return format!(
                "Failed to parse filter: {text}, error on position: {position}, char: {c}"
            );
        }
    };
    let read_whole = word.starts_with(literal);
    match before {
        Last::Comparison { after_query: true } => "Expected character: )",
        Last::Comparison { .. } if read_whole => "Expected character: )",
        Last::Comparison { .. } => "Expected path node",
        _ if read_whole => "Expected path node",
        _ if first == 'n' => "Expected <null> value",
        _ => "Expected boolean literal",
    }
    .to_string()
}

/// Characters that end a dot-notation name inside a filter expression.
fn ends_name_in_filter(c: char) -> bool {
    c.is_whitespace() || "[]()=!<>&|,'\"~@?:*$".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &str) -> Segment {
        Segment::Field(s.into())
    }

    /// Expected outcome of parsing one text.
    enum Expect<'a> {
        /// A reference path with this root and these segments.
        Reference(Root, Vec<Segment>),
        /// A general path whose RFC 9535 translation is this text.
        Query(&'a str),
        /// An error whose message contains this text.
        Error(&'a str),
    }

    fn check(input: &str, expect: Expect<'_>) {
        let result = parse_path(input);
        match (expect, result) {
            (Expect::Reference(root, segments), Ok(Path::Reference(r))) => {
                assert_eq!(
                    (&r.root, &r.segments),
                    (&root, &segments),
                    "input {input:?}"
                );
                assert_eq!(r.text, input, "original text kept");
                // Canonical text round-trips.
                let again = parse_reference_path(&r.to_string())
                    .unwrap_or_else(|e| panic!("{input:?} → {r} does not reparse: {e}"));
                assert_eq!(again, r, "round trip of {input:?}");
                assert!(parse_reference_path(input).is_ok());
            }
            (Expect::Query(rfc), Ok(Path::Query(q))) => {
                let translated = Parser::new(input).parse().unwrap().rfc_text();
                assert_eq!(translated, rfc, "input {input:?}");
                assert_eq!(q.query, serde_json_path::JsonPath::parse(rfc).unwrap());
                assert_eq!(q.text, input);
                let e = parse_reference_path(input).expect_err(input);
                assert!(
                    e.message.contains("not allowed in a reference path"),
                    "{input:?}: {e}"
                );
            }
            (Expect::Error(msg), Err(e)) => {
                assert!(
                    e.to_string().contains(msg),
                    "input {input:?}: got {e}, want {msg:?}"
                );
                assert!(parse_reference_path(input).is_err());
            }
            (_, got) => panic!("input {input:?}: unexpected {got:?}"),
        }
    }

    #[test]
    fn reference_paths() {
        use Expect::Reference as R;
        use Root::*;
        let cases: Vec<(&str, Expect)> = vec![
            ("$", R(Input, vec![])),
            ("$$", R(Context, vec![])),
            ("$.a", R(Input, vec![field("a")])),
            (
                "$$.Execution.Id",
                R(Context, vec![field("Execution"), field("Id")]),
            ),
            ("$x", R(Variable("x".into()), vec![])),
            (
                "$_v1.a[2]",
                R(Variable("_v1".into()), vec![field("a"), Segment::Index(2)]),
            ),
            ("$ärger.b", R(Variable("ärger".into()), vec![field("b")])),
            ("$var['k']", R(Variable("var".into()), vec![field("k")])),
            ("$.store\\.book", R(Input, vec![field("store.book")])),
            (
                "$.\\stor\\e.boo\\k",
                R(Input, vec![field("store"), field("book")]),
            ),
            ("$.foo.\\.bar", R(Input, vec![field("foo"), field(".bar")])),
            (
                "$.foo\\@bar.baz\\[\\[.\\?pretty",
                R(
                    Input,
                    vec![field("foo@bar"), field("baz[["), field("?pretty")],
                ),
            ),
            (
                "$.&Ж中.\\uD800\\uDF46",
                R(Input, vec![field("&Ж中"), field("uD800uDF46")]),
            ),
            ("$.&Ж中.𐍆", R(Input, vec![field("&Ж中"), field("𐍆")])),
            (
                "$.ledgers[0][22][315].foo",
                R(
                    Input,
                    vec![
                        field("ledgers"),
                        Segment::Index(0),
                        Segment::Index(22),
                        Segment::Index(315),
                        field("foo"),
                    ],
                ),
            ),
            (
                "$['store']['book']",
                R(Input, vec![field("store"), field("book")]),
            ),
            (
                "$['store'][0]['book']",
                R(
                    Input,
                    vec![field("store"), Segment::Index(0), field("book")],
                ),
            ),
            (
                "$[\"store\"][ 0 ]",
                R(Input, vec![field("store"), Segment::Index(0)]),
            ),
            (
                "$.abc.['def ghi']",
                R(Input, vec![field("abc"), field("def ghi")]),
            ),
            ("$.a.[1]", R(Input, vec![field("a"), Segment::Index(1)])),
            ("$['it\\'s']", R(Input, vec![field("it's")])),
            ("$[\"say \\\"hi\\\"\"]", R(Input, vec![field("say \"hi\"")])),
            ("$['a\\\\b']", R(Input, vec![field("a\\b")])),
            ("$['tab\\there']", R(Input, vec![field("tab\there")])),
            ("$['\\u00e9\\uD83D\\uDE00']", R(Input, vec![field("é😀")])),
            ("$['a.b']", R(Input, vec![field("a.b")])),
            ("$['']", R(Input, vec![field("")])),
            ("$[007]", R(Input, vec![Segment::Index(7)])),
            (
                "$.a-b.c$d.it's",
                R(Input, vec![field("a-b"), field("c$d"), field("it's")]),
            ),
            ("$.0", R(Input, vec![field("0")])),
        ];
        for (input, expect) in cases {
            check(input, expect);
        }
    }

    #[test]
    fn general_paths() {
        use Expect::Query as Q;
        let cases: Vec<(&str, Expect)> = vec![
            ("$.*", Q("$[*]")),
            ("$[*]", Q("$[*]")),
            ("$.a[*].b", Q("$['a'][*]['b']")),
            ("$..author", Q("$..['author']")),
            ("$..*", Q("$..[*]")),
            ("$..[0]", Q("$..[0]")),
            ("$..['a','b']", Q("$..['a','b']")),
            ("$.a[1:3]", Q("$['a'][1:3]")),
            ("$.a[-3:]", Q("$['a'][-3:]")),
            ("$.a[:2]", Q("$['a'][:2]")),
            ("$.a[::2]", Q("$['a'][::2]")),
            ("$.a[ 1 : 3 ]", Q("$['a'][1:3]")),
            ("$.a[-1]", Q("$['a'][-1]")),
            ("$.a[0,1]", Q("$['a'][0,1]")),
            ("$['a','b']", Q("$['a','b']")),
            ("$[ 'a' , \"b\" ]", Q("$['a','b']")),
            (
                "$.book[?(@.price < 10)]",
                Q("$['book'][?(@['price'] < 10)]"),
            ),
            ("$.book[?(@.isbn)]", Q("$['book'][?(@['isbn'])]")),
            (
                "$.book[?(@.a == 'x' && @.b > 2)]",
                Q("$['book'][?(@['a'] == 'x' && @['b'] > 2)]"),
            ),
            (
                "$.b[?(@.a=='x'||@.b>=2)]",
                Q("$['b'][?(@['a']=='x'||@['b']>=2)]"),
            ),
            ("$.b[?(!(@.a))]", Q("$['b'][?(!(@['a']))]")),
            ("$.b[?(@.a != null)]", Q("$['b'][?(@['a'] != null)]")),
            ("$.b[?(@.a == true)]", Q("$['b'][?(@['a'] == true)]")),
            ("$.b[?(@.p <= -1.5e3)]", Q("$['b'][?(@['p'] <= -1.5e3)]")),
            ("$.b[?(@['x y'] == \"q\")]", Q("$['b'][?(@['x y'] == 'q')]")),
            ("$.b[?(@.x.y[0] == 1)]", Q("$['b'][?(@['x']['y'][0] == 1)]")),
            (
                "$.b[?(@.x == $.limit)]",
                Q("$['b'][?(@['x'] == $['limit'])]"),
            ),
            ("$.b[?(@)]", Q("$['b'][?(@)]")),
            ("$.b[?@.x]", Q("$['b'][?@['x']]")),
            ("$.b[?(@.c[?(@.d)])]", Q("$['b'][?(@['c'][?(@['d'])])]")),
            ("$.b[?(@.first\\ name)]", Q("$['b'][?(@['first name'])]")),
            ("$.b[*,0]", Q("$['b'][*,0]")),
            ("$$.Execution.*", Q("$['Execution'][*]")),
            ("$items[0:2]", Q("$[0:2]")),
            ("$.&Ж中[*]", Q("$['&Ж中'][*]")),
        ];
        for (input, expect) in cases {
            check(input, expect);
        }
        assert_eq!(parse_path("$$.a[*]").unwrap().root(), &Root::Context);
        assert_eq!(
            parse_path("$v..x").unwrap().root(),
            &Root::Variable("v".into())
        );
    }

    #[test]
    fn invalid_paths() {
        use Expect::Error as E;
        let cases: Vec<(&str, Expect)> = vec![
            ("", E("must start with '$'")),
            ("a.b", E("must start with '$'")),
            ("\t$", E("must start with '$'")),
            ("$.", E("expected a field name")),
            ("$.a.", E("expected a field name")),
            ("$a.", E("expected a field name")),
            ("$..", E("expected a field name")),
            ("$...a", E("expected a field name")),
            ("$.a\\", E("backslash")),
            ("$.a b", E("whitespace")),
            ("$.a\t", E("whitespace")),
            ("$ .a", E("invalid character ' ' in variable name")),
            ("$$$", E("after '$$'")),
            ("$$x", E("after '$$'")),
            ("$1x", E("invalid character '1'")),
            ("$a-b", E("invalid character '-'")),
            ("$.a@b", E("'@' is not allowed unescaped")),
            ("$.a,b", E("','")),
            ("$.a:b", E("':'")),
            ("$.a?", E("'?'")),
            ("$.a*", E("'*'")),
            ("$.length()", E("functions are not supported")),
            ("$.a]", E("unexpected ']'")),
            ("$a]", E("invalid character ']'")),
            ("$[]", E("empty brackets")),
            ("$[", E("expected a quoted name")),
            ("$['a'", E("expected ',' or ']'")),
            ("$['a", E("unterminated quoted name")),
            ("$['a\\", E("unterminated quoted name")),
            ("$['a\\q']", E("invalid escape")),
            ("$['\\u12']", E("four hex digits")),
            ("$['\\uD800']", E("low surrogate")),
            ("$['\\uDC00']", E("lone low surrogate")),
            ("$[a]", E("expected a quoted name")),
            ("$[0", E("expected ',' or ']'")),
            ("$[-]", E("digits after '-'")),
            ("$[1.5]", E("expected ',' or ']'")),
            ("$[99999999999999999999]", E("out of range")),
            ("$[9007199254740992]", E("out of range")),
            ("$[(@.length-1)]", E("script expressions")),
            ("$['a']x", E("expected '.' or '['")),
            ("$[0]]", E("expected '.' or '['")),
            ("$[?(@.a =~ /x/)]", E("'=~'")),
            ("$[?(@.a in ['x'])]", E("'in'")),
            ("$[?(@.a size 2)]", E("'size'")),
            ("$[?(@.a = 1)]", E("'=='")),
            ("$[?(@.a & @.b)]", E("'&&'")),
            ("$[?(@.a)", E("unterminated filter")),
            ("$[?(@.a]", E("unclosed '('")),
            ("$[?@.a)]", E("unbalanced ')'")),
            ("$[?]", E("empty filter")),
            (
                "$[?(@.a es)]",
                E("'es' is not a value: quote a string ('es')"),
            ),
            ("$[?(@.a == es es)]", E("'es' is not a value")),
            ("$[?(@.a == es(1))]", E("unsupported JSONPath query")),
            ("$[?(@.a == es)", E("unterminated filter")),
            (
                "$[?(@.a == 01 || @.b == es)]",
                E("unsupported JSONPath query"),
            ),
            ("$[?(@.a in [1, 2])]", E("unsupported filter operator 'in'")),
            ("$[?(@.length() > 1)]", E("functions are not supported")),
            ("$[?($$.a)]", E("only '$' and '@'")),
            ("$[?($v.a)]", E("only '$' and '@'")),
            ("$[?(@.a # 1)]", E("unexpected '#'")),
            ("$[?(@.a == 01)]", E("unsupported JSONPath query")),
            ("$[?(@.* == 1)]", E("unsupported JSONPath query")),
        ];
        for (input, expect) in cases {
            check(input, expect);
        }
    }

    /// A bare word where a filter value belongs: accepted, with Jayway's compile error kept for
    /// evaluation; the words Jayway reads as literals still are literals.
    #[test]
    fn bare_words_fail_when_evaluated() {
        let cases = [
            (
                "$.langs[?(@.code==es)]",
                "Failed to parse filter: [?(@.code==es)], error on position: 12, char: s",
            ),
            (
                "$.a[?(@.name==ecs.availability-zone)].value",
                "Failed to parse filter: [?(@.name==ecs.availability-zone)], error on position: 12, char: c",
            ),
            (
                "$[?(@.s == subject_completed)]",
                "Failed to parse filter: [?(@.s == subject_completed)], error on position: 10, char: s",
            ),
            (
                " $..x[?( @.a > 1 && @.b != Zed )]",
                "Failed to parse filter: [?( @.a > 1 && @.b != Zed )], error on position: 22, char: Z",
            ),
            ("$[?(@.a == foo)]", "Expected character: )"),
            ("$[?(@.a == nope)]", "Expected character: )"),
            ("$[?(@.a == trueish)]", "Expected character: )"),
            ("$[?(foo == @.a)]", "Expected boolean literal"),
            ("$[?(nil == @.a)]", "Expected <null> value"),
            ("$[?(1 == foo)]", "Expected path node"),
            ("$[?(@.a == x && @.b == y)]", "Failed to parse filter: [?(@.a == x && @.b == y)], error on position: 10, char: x"),
        ];
        for (input, message) in cases {
            match parse_path(input) {
                Ok(Path::Uncompilable(u)) => {
                    assert_eq!(u.message, message, "{input}");
                    assert_eq!(u.text, input);
                    assert_eq!(Path::Uncompilable(u).to_string(), input);
                }
                other => panic!("{input}: {other:?}"),
            }
            assert!(parse_reference_path(input).is_err(), "{input}");
        }
        for literal in [
            "$[?(@.a == true)]",
            "$[?(@.a == false)]",
            "$[?(@.a != null)]",
            "$[?(@.a == -1)]",
            "$[?(@.a >= 1.5e3)]",
            "$[?(@.a == 'es')]",
        ] {
            assert!(
                matches!(parse_path(literal), Ok(Path::Query(_))),
                "{literal}"
            );
        }
        assert_eq!(
            parse_path("$v[?(@.a == x)]").unwrap().root(),
            &Root::Variable("v".into())
        );
    }

    #[test]
    fn reference_errors_name_the_operator() {
        let cases = [
            ("$..a", "recursive descent '..'", 1),
            ("$.a.*", "wildcard '*'", 4),
            ("$.a[*]", "wildcard '*'", 4),
            ("$.a[?(@.b)]", "filter expression '?'", 4),
            ("$.a[1:2]", "slice ':'", 5),
            ("$.a[0,1]", "union ','", 5),
            ("$.a[-1]", "negative index", 4),
            ("$.a[0]..b[*]", "recursive descent '..'", 6),
        ];
        for (input, what, offset) in cases {
            let e = parse_reference_path(input).unwrap_err();
            assert_eq!(
                e,
                PathError {
                    message: format!("{what} is not allowed in a reference path"),
                    offset
                },
                "{input}"
            );
        }
    }

    #[test]
    fn display_is_canonical() {
        let cases = [
            ("$", "$"),
            ("$$", "$$"),
            ("$.NoSuchInputPath", "$['NoSuchInputPath']"),
            ("$.no.such.result.path", "$['no']['such']['result']['path']"),
            ("$$.Execution.Input[3]", "$$['Execution']['Input'][3]"),
            ("$v.a", "$v['a']"),
            ("$[\"it's\"]", "$['it\\'s']"),
            ("$.a\\\\b", "$['a\\\\b']"),
            ("$['\\n\\u0001']", "$['\\n\\u0001']"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_reference_path(input).unwrap().to_string(), want);
            assert_eq!(parse_path(input).unwrap().to_string(), want);
        }
        assert_eq!(parse_path("$..a").unwrap().to_string(), "$..a");
    }

    #[test]
    fn error_display_names_offset() {
        let e = parse_path("$.a b").unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(e.to_string().ends_with("(at character 3)"), "{e}");
        // Offsets count characters, not bytes.
        assert_eq!(parse_path("$.Ж中 x").unwrap_err().offset, 4);
    }

    #[test]
    fn spaces_around_a_path_are_trimmed_as_jayway_does() {
        let r = parse_reference_path("  $.a[0] ").unwrap();
        assert_eq!(r.segments, vec![field("a"), Segment::Index(0)]);
        assert_eq!(r.text, "  $.a[0] ", "the text as written, for messages");
        assert!(matches!(parse_path(" $.a[*] "), Ok(Path::Query(_))));
        // Offsets still count from the text as written.
        assert_eq!(parse_path("  $.a b").unwrap_err().offset, 5);
        let e = parse_reference_path(" $.a[*]").unwrap_err();
        assert_eq!(e.offset, 5, "{e}");
        // An escaped space stays in the name.
        let r = parse_reference_path("$.a\\  ").unwrap();
        assert_eq!(r.segments, vec![field("a ")]);
        // Jayway trims spaces only.
        assert!(parse_path("\t$.a").is_err());
        assert!(parse_path("$.a\n").is_err());
    }

    #[test]
    fn queries_select_what_jayway_would() {
        let doc = serde_json::json!({
            "store": {"book": [
                {"title": "a", "price": 8, "isbn": "1"},
                {"title": "b", "price": 12},
                {"title": "c", "price": 5}
            ]}
        });
        let cases: [(&str, serde_json::Value); 5] = [
            (
                "$.store.book[?(@.price < 10)].title",
                serde_json::json!(["a", "c"]),
            ),
            ("$.store.book[?(@.isbn)].title", serde_json::json!(["a"])),
            ("$..title", serde_json::json!(["a", "b", "c"])),
            ("$.store.book[-2:].price", serde_json::json!([12, 5])),
            ("$.store.book[0,2]['title']", serde_json::json!(["a", "c"])),
        ];
        for (input, want) in cases {
            let Path::Query(q) = parse_path(input).unwrap() else {
                panic!("{input} should be a query path");
            };
            let got: Vec<serde_json::Value> =
                q.query.query(&doc).all().into_iter().cloned().collect();
            assert_eq!(serde_json::Value::Array(got), want, "{input}");
        }
    }

    #[test]
    fn filter_nesting_is_bounded() {
        let nested = |depth: usize| format!("${}{}", "[?(@".repeat(depth), ")]".repeat(depth));
        assert!(parse_path(&nested(MAX_FILTER_DEPTH)).is_ok());
        let e = parse_path(&nested(MAX_FILTER_DEPTH + 1)).unwrap_err();
        assert!(e.message.contains("nested at most"), "{e}");
        assert!(parse_path(&nested(100_000)).is_err());
    }

    #[test]
    fn never_panics_on_random_text() {
        const ALPHABET: &[u8] = b"$.[]()'\\,@?*:-0123456789abc ";
        let mut state: u64 = 0x5eed;
        for _ in 0..5000 {
            // Numerical Recipes LCG constants: a full-period generator, good enough for fuzzing.
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (state >> 59) as usize + 1;
            let mut text = String::from("$");
            for _ in 0..len {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push(ALPHABET[(state >> 33) as usize % ALPHABET.len()] as char);
            }
            let _ = parse_path(&text);
            let _ = parse_path(&text[1..]);
            let _ = parse_reference_path(&text);
        }
    }
}
