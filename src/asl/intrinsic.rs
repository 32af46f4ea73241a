//! Intrinsic function calls (`States.Format('{}', $.a)`) → a typed [`Call`] tree.
//!
//! Parsed once at validation: the function name is resolved, arity is checked and literal
//! arguments are type-checked against the function's signature; paths are parsed by
//! [`super::path`]. Evaluation lives elsewhere.
//! Invariant: parsing never panics; every [`IntrinsicError`] carries the character offset in the
//! call text.

use std::fmt;

use super::path::{parse_path, Path};

/// AWS allows up to 10 nested intrinsic functions in one field; we count the outermost call as
/// one of the ten.
const MAX_NESTING: usize = 10;

/// The intrinsic functions Step Functions defines, all in the reserved `States.` namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    pub const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    /// The name as written in a definition, e.g. `"States.Format"`.
    pub fn name(&self) -> &'static str {
        match self {
            Function::Format => "States.Format",
            Function::StringToJson => "States.StringToJson",
            Function::JsonToString => "States.JsonToString",
            Function::Array => "States.Array",
            Function::ArrayPartition => "States.ArrayPartition",
            Function::ArrayContains => "States.ArrayContains",
            Function::ArrayRange => "States.ArrayRange",
            Function::ArrayGetItem => "States.ArrayGetItem",
            Function::ArrayLength => "States.ArrayLength",
            Function::ArrayUnique => "States.ArrayUnique",
            Function::Base64Encode => "States.Base64Encode",
            Function::Base64Decode => "States.Base64Decode",
            Function::Hash => "States.Hash",
            Function::JsonMerge => "States.JsonMerge",
            Function::MathRandom => "States.MathRandom",
            Function::MathAdd => "States.MathAdd",
            Function::StringSplit => "States.StringSplit",
            Function::Uuid => "States.UUID",
        }
    }

    /// The function with this exact (case-sensitive) name.
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    fn signature(self) -> Signature {
        use Param::*;
        let (required, optional, rest): (&'static [Param], &'static [Param], Option<Param>) =
            match self {
                Function::Format => (&[String], &[], Some(Any)),
                Function::StringToJson => (&[String], &[], None),
                Function::JsonToString => (&[PathOnly], &[], None),
                Function::Array => (&[], &[], Some(Any)),
                Function::ArrayPartition => (&[Array, PositiveNumber], &[], None),
                Function::ArrayContains => (&[Array, Any], &[], None),
                Function::ArrayRange => (&[Number, Number, NonZeroNumber], &[], None),
                Function::ArrayGetItem => (&[Array, Number], &[], None),
                Function::ArrayLength | Function::ArrayUnique => (&[Array], &[], None),
                Function::Base64Encode | Function::Base64Decode => (&[String], &[], None),
                Function::Hash => (&[Any, HashAlgorithm], &[], None),
                Function::JsonMerge => (&[Object, Object, Boolean], &[], None),
                Function::MathRandom => (&[Number, Number], &[Number], None),
                Function::MathAdd => (&[Number, Number], &[], None),
                Function::StringSplit => (&[String, String], &[], None),
                Function::Uuid => (&[], &[], None),
            };
        Signature {
            required,
            optional,
            rest,
        }
    }
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub function: Function,
    pub args: Vec<Arg>,
}

/// One argument of a [`Call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A string, number, `null` or boolean written in the call.
    ///
    /// String literals have their escapes resolved (`\'`, `\{`, `\}`, `\\`), except the template
    /// (first argument) of `States.Format`: there only `\'` is resolved and `\{`, `\}`, `\\` are
    /// kept, because the evaluator must still tell a `{}` placeholder from escaped braces.
    Literal(crate::value::Value),
    Path(Path),
    Call(Call),
}

/// Why a text is not a valid intrinsic function call, and where (offset counted in characters,
/// from 0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {offset})")]
pub struct IntrinsicError {
    pub message: String,
    pub offset: usize,
}

/// Parses `Name(args)`, including nested calls, checking names, arity and literal types.
/// Whitespace around the call and around arguments is allowed; anything else after the
/// closing parenthesis is an error.
pub fn parse_call(text: &str) -> Result<Call, IntrinsicError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    parser.skip_whitespace();
    let call = parser.parse_call(1)?;
    parser.skip_whitespace();
    if let Some(c) = parser.peek() {
        return parser.error(
            parser.pos,
            format!("unexpected '{c}' after the closing ')' of the call"),
        );
    }
    Ok(call)
}

/// True when `text` has the shape of a call (`Identifier(`...), so a failed parse should be
/// reported as a bad intrinsic function rather than a bad path.
pub fn looks_like_call(text: &str) -> bool {
    let mut chars = text.trim_start().chars();
    if !chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        return false;
    }
    chars.find(|c| !is_name_char(*c)) == Some('(')
}

/// Prints the call so that [`parse_call`] reads it back to an equal [`Call`].
impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.function.name())?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match arg {
                Arg::Literal(crate::value::Value::String(s)) => {
                    let template = self.function == Function::Format && i == 0;
                    f.write_str("'")?;
                    for c in s.chars() {
                        match c {
                            '\'' => f.write_str("\\'")?,
                            // A Format template already holds these escaped.
                            '{' | '}' | '\\' if !template => write!(f, "\\{c}")?,
                            c => write!(f, "{c}")?,
                        }
                    }
                    f.write_str("'")?;
                }
                Arg::Literal(v) => write!(f, "{v}")?,
                Arg::Path(p) => write!(f, "{p}")?,
                Arg::Call(c) => write!(f, "{c}")?,
            }
        }
        f.write_str(")")
    }
}

/// What a parameter accepts when the argument is a literal. Paths and nested calls are typed
/// only at run time, except where the function demands a path.
#[derive(Debug, Clone, Copy)]
enum Param {
    Any,
    String,
    Number,
    /// A number that rounds (Java `Math.round`) to at least 1: a partition size.
    PositiveNumber,
    /// A number that does not round to 0: a range step.
    NonZeroNumber,
    Boolean,
    /// Literals are never arrays or objects, so these accept only paths and calls.
    Array,
    Object,
    /// `States.JsonToString` reads the value a path names; nothing else is accepted.
    PathOnly,
    HashAlgorithm,
}

#[cfg(test)]
const HASH_ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];

struct Signature {
    required: &'static [Param],
    optional: &'static [Param],
    rest: Option<Param>,
}

impl Signature {
    fn param(&self, index: usize) -> Option<Param> {
        self.required
            .iter()
            .chain(self.optional)
            .nth(index)
            .copied()
            .or(self.rest)
    }

    fn describe_arity(&self) -> String {
        let min = self.required.len();
        let max = min + self.optional.len();
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        if self.rest.is_some() {
            format!("at least {min} {}", plural(min))
        } else if min == max {
            format!("exactly {min} {}", plural(min))
        } else {
            format!("{min} to {max} arguments")
        }
    }

    fn accepts_count(&self, n: usize) -> bool {
        n >= self.required.len()
            && (self.rest.is_some() || n <= self.required.len() + self.optional.len())
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '_'
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn error<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, IntrinsicError> {
        Err(IntrinsicError {
            message: message.into(),
            offset,
        })
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("'{c}'"),
            None => "end of text".to_string(),
        }
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn read_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|c| is_name_char(*c)) {
            name.push(c);
            self.pos += 1;
        }
        name
    }

    /// `Name(args)` with the cursor on the name; `depth` counts this call.
    fn parse_call(&mut self, depth: usize) -> Result<Call, IntrinsicError> {
        let start = self.pos;
        if depth > MAX_NESTING {
            return self.error(
                start,
                format!("intrinsic functions can be nested at most {MAX_NESTING} deep"),
            );
        }
        let name = self.read_name();
        if name.is_empty() {
            return self.error(
                start,
                format!(
                    "expected an intrinsic function name but found {}",
                    self.found()
                ),
            );
        }
        if self.peek() != Some('(') {
            return self.error(
                self.pos,
                format!("expected '(' after '{name}' but found {}", self.found()),
            );
        }
        let Some(function) = Function::from_name(&name) else {
            return self.error(start, format!("unknown intrinsic function '{name}'"));
        };
        self.pos += 1; // '('
        let args = self.parse_args(function, depth)?;
        self.check_signature(function, start, &args)?;
        Ok(Call {
            function,
            args: args.into_iter().map(|(_, arg)| arg).collect(),
        })
    }

    /// Arguments up to and including the closing `)`, each with its start offset.
    fn parse_args(
        &mut self,
        function: Function,
        depth: usize,
    ) -> Result<Vec<(usize, Arg)>, IntrinsicError> {
        let mut args = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            self.skip_whitespace();
            let start = self.pos;
            let template = function == Function::Format && args.is_empty();
            let arg = self.parse_arg(depth, template)?;
            args.push((start, arg));
            self.skip_whitespace();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(args);
                }
                None => return self.error(self.pos, "missing ')' at end of call"),
                Some(_) => {
                    return self.error(
                        self.pos,
                        format!("expected ',' or ')' but found {}", self.found()),
                    )
                }
            }
        }
    }

    fn parse_arg(&mut self, depth: usize, template: bool) -> Result<Arg, IntrinsicError> {
        let start = self.pos;
        match self.peek() {
            Some('\'') => Ok(Arg::Literal(crate::value::Value::string(
                self.parse_string(template)?,
            ))),
            Some('$') => self.parse_path_arg(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.parse_number(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let word = self.read_name();
                // A dotted name can only be a function, so a missing '(' is reported as such.
                if self.peek() == Some('(') || word.contains('.') {
                    self.pos = start;
                    return Ok(Arg::Call(self.parse_call(depth + 1)?));
                }
                match word.as_str() {
                    "null" => Ok(Arg::Literal(crate::value::Value::Null)),
                    "true" => Ok(Arg::Literal(crate::value::Value::Bool(true))),
                    "false" => Ok(Arg::Literal(crate::value::Value::Bool(false))),
                    _ => self.error(
                        start,
                        format!("unexpected '{word}': expected a string, number, null, boolean, path or function call"),
                    ),
                }
            }
            Some(')') | Some(',') | None => self.error(start, "expected an argument"),
            Some(c) => self.error(
                start,
                format!("unexpected '{c}': expected a string, number, null, boolean, path or function call"),
            ),
        }
    }

    /// A `'...'` literal. Only `\'`, `\{`, `\}` and `\\` are escapes; a Format template keeps
    /// the last three as written (see [`Arg::Literal`]).
    fn parse_string(&mut self, template: bool) -> Result<String, IntrinsicError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.error(start, "unterminated string literal");
            };
            self.pos += 1;
            match c {
                '\'' => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return self.error(start, "unterminated string literal");
                    };
                    match e {
                        '\'' => out.push('\''),
                        '{' | '}' | '\\' if template => {
                            out.push('\\');
                            out.push(e);
                        }
                        '{' | '}' | '\\' => out.push(e),
                        _ => {
                            return self.error(
                                self.pos - 1,
                                format!("invalid escape '\\{e}' in string literal: only \\', \\{{, \\}} and \\\\ are allowed"),
                            )
                        }
                    }
                    self.pos += 1;
                }
                c => out.push(c),
            }
        }
    }

    /// A path runs to the next `,` or `)` that is outside brackets, parentheses (filters),
    /// quotes and backslash escapes; trailing whitespace is not part of it.
    fn parse_path_arg(&mut self) -> Result<Arg, IntrinsicError> {
        let start = self.pos;
        let mut end = start;
        let mut brackets = 0usize;
        let mut parens = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            let top_level = quote.is_none() && brackets == 0 && parens == 0;
            if top_level && (c == ',' || c == ')') {
                break;
            }
            self.pos += 1;
            if c == '\\' {
                // The escaped character belongs to the path whatever it is.
                if self.peek().is_some() {
                    self.pos += 1;
                }
                end = self.pos;
                continue;
            }
            match (quote, c) {
                (Some(q), _) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[') => brackets += 1,
                (None, ']') => brackets = brackets.saturating_sub(1),
                (None, '(') => parens += 1,
                (None, ')') => parens = parens.saturating_sub(1),
                (None, _) => {}
            }
            if quote.is_some() || !c.is_whitespace() {
                end = self.pos;
            }
        }
        let text: String = self.chars[start..end].iter().collect();
        match parse_path(&text) {
            Ok(path) => Ok(Arg::Path(path)),
            Err(e) => self.error(
                start + e.offset,
                format!("invalid path '{text}': {}", e.message),
            ),
        }
    }

    /// JSON number syntax, including negatives, fractions and exponents.
    fn parse_number(&mut self) -> Result<Arg, IntrinsicError> {
        let start = self.pos;
        let mut text = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            text.push(c);
            self.pos += 1;
        }
        match serde_json::from_str::<serde_json::Number>(&text) {
            Ok(n) => Ok(Arg::Literal(crate::value::Value::Number(n))),
            Err(_) => self.error(start, format!("invalid number '{text}'")),
        }
    }

    fn check_signature(
        &self,
        function: Function,
        call_start: usize,
        args: &[(usize, Arg)],
    ) -> Result<(), IntrinsicError> {
        let signature = function.signature();
        if !signature.accepts_count(args.len()) {
            return self.error(
                call_start,
                format!(
                    "{} takes {}, got {}",
                    function.name(),
                    signature.describe_arity(),
                    args.len()
                ),
            );
        }
        for (index, (offset, arg)) in args.iter().enumerate() {
            let Some(param) = signature.param(index) else {
                continue;
            };
            if let Some(problem) = mismatch(param, arg) {
                return self.error(
                    *offset,
                    format!("{} argument {}: {problem}", function.name(), index + 1),
                );
            }
        }
        Ok(())
    }
}

/// Why `arg` cannot fill `param`, if it cannot. AWS accepts definitions whose literal arguments
/// have the wrong type or value (`States.MathAdd('a', 1)`) and fails them when they run, with
/// `States.Runtime`; so only `JsonToString`'s path is judged here.
fn mismatch(param: Param, arg: &Arg) -> Option<String> {
    match (param, arg) {
        (Param::PathOnly, Arg::Path(_)) => None,
        (Param::PathOnly, _) => Some("must be a path".to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A compact, comparable rendering of a parse result: calls as `Name(arg, ...)` with
    /// literals as JSON and paths as `path:<Display>`.
    fn render(call: &Call) -> String {
        let args: Vec<String> = call
            .args
            .iter()
            .map(|a| match a {
                Arg::Literal(v) => v.to_string(),
                Arg::Path(p) => format!("path:{p}"),
                Arg::Call(c) => render(c),
            })
            .collect();
        format!("{}({})", call.function.name(), args.join(", "))
    }

    /// `Ok(rendering)` or `Err(substring of the message)`.
    fn check(input: &str, expect: Result<&str, &str>) {
        match (parse_call(input), expect) {
            (Ok(call), Ok(want)) => {
                assert_eq!(render(&call), want, "input {input:?}");
                let printed = call.to_string();
                assert_eq!(
                    parse_call(&printed).as_ref(),
                    Ok(&call),
                    "reparse of {printed:?}"
                );
            }
            (Err(e), Err(want)) => {
                assert!(
                    e.message.contains(want),
                    "input {input:?}: got {e}, want {want:?}"
                );
                assert!(
                    e.offset <= input.chars().count(),
                    "input {input:?}: offset {}",
                    e.offset
                );
            }
            (got, want) => panic!("input {input:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn valid_calls() {
        let cases: Vec<(&str, Result<&str, &str>)> = vec![
            ("States.Format('Hello, {}', $.name)", Ok("States.Format(\"Hello, {}\", path:$['name'])")),
            ("States.Format('{} {}',1,-2.5e3)", Ok("States.Format(\"{} {}\", 1, -2500.0)")),
            ("States.Format('x')", Ok("States.Format(\"x\")")),
            ("  States.UUID()  ", Ok("States.UUID()")),
            ("States.UUID( )", Ok("States.UUID()")),
            ("States.Array()", Ok("States.Array()")),
            (
                "States.Array( 'a' , 1 , null , true , false , $$.Execution.Id , $v )",
                Ok("States.Array(\"a\", 1, null, true, false, path:$$['Execution']['Id'], path:$v)"),
            ),
            ("States.StringToJson($.s)", Ok("States.StringToJson(path:$['s'])")),
            ("States.StringToJson('{\"a\":1}')", Ok("States.StringToJson(\"{\\\"a\\\":1}\")")),
            ("States.JsonToString($.a)", Ok("States.JsonToString(path:$['a'])")),
            ("States.JsonToString($)", Ok("States.JsonToString(path:$)")),
            ("States.ArrayPartition($.a, 2)", Ok("States.ArrayPartition(path:$['a'], 2)")),
            ("States.ArrayPartition($.a, 0.5)", Ok("States.ArrayPartition(path:$['a'], 0.5)")),
            (
                "States.ArrayContains(States.Array(1,2), 2)",
                Ok("States.ArrayContains(States.Array(1, 2), 2)"),
            ),
            ("States.ArrayRange(0, 10, 3)", Ok("States.ArrayRange(0, 10, 3)")),
            ("States.ArrayRange(10, 0, -1)", Ok("States.ArrayRange(10, 0, -1)")),
            ("States.ArrayGetItem($.a, $.i)", Ok("States.ArrayGetItem(path:$['a'], path:$['i'])")),
            ("States.ArrayLength($.a)", Ok("States.ArrayLength(path:$['a'])")),
            ("States.ArrayUnique($.a)", Ok("States.ArrayUnique(path:$['a'])")),
            ("States.Base64Encode('hi')", Ok("States.Base64Encode(\"hi\")")),
            ("States.Base64Decode('aGk=')", Ok("States.Base64Decode(\"aGk=\")")),
            ("States.Hash('input data', 'SHA-1')", Ok("States.Hash(\"input data\", \"SHA-1\")")),
            ("States.Hash($.d, $.alg)", Ok("States.Hash(path:$['d'], path:$['alg'])")),
            ("States.JsonMerge($.a, $.b, false)", Ok("States.JsonMerge(path:$['a'], path:$['b'], false)")),
            ("States.MathRandom(1, 999)", Ok("States.MathRandom(1, 999)")),
            ("States.MathRandom(1, 999, $.seed)", Ok("States.MathRandom(1, 999, path:$['seed'])")),
            ("States.MathAdd(-1.5, 0)", Ok("States.MathAdd(-1.5, 0)")),
            ("States.StringSplit('a,b', ',')", Ok("States.StringSplit(\"a,b\", \",\")")),
            ("States.StringSplit('Hello\nWorld', '\n')", Ok("States.StringSplit(\"Hello\\nWorld\", \"\\n\")")),
            // Paths that contain the argument separators.
            ("States.Array($.a[0,1])", Ok("States.Array(path:$.a[0,1])")),
            ("States.Array($['x,y)'], 1)", Ok("States.Array(path:$['x,y)'], 1)")),
            ("States.Array($.a\\,b)", Ok("States.Array(path:$['a,b'])")),
            ("States.Array($.abc.['def ghi'])", Ok("States.Array(path:$['abc']['def ghi'])")),
            (
                "States.Array($.b[?(@.p < 10 && @.q == 'a,b')], 2)",
                Ok("States.Array(path:$.b[?(@.p < 10 && @.q == 'a,b')], 2)"),
            ),
            ("States.Array($.a\\ )", Ok("States.Array(path:$['a '])")),
            ("States.Array(nullx())", Err("unknown intrinsic function 'nullx'")),
        ];
        for (input, expect) in cases {
            check(input, expect);
        }
    }

    #[test]
    fn string_escapes() {
        let cases: Vec<(&str, Result<&str, &str>)> = vec![
            (r"States.Array('it\'s')", Ok(r#"States.Array("it's")"#)),
            (r"States.Array('\{\}')", Ok(r#"States.Array("{}")"#)),
            (r"States.Array('a\\b')", Ok(r#"States.Array("a\\b")"#)),
            (r"States.Array('\\\'')", Ok(r#"States.Array("\\'")"#)),
            (r"States.Array('a,b)')", Ok(r#"States.Array("a,b)")"#)),
            (r"States.Array('')", Ok(r#"States.Array("")"#)),
            // A Format template keeps brace and backslash escapes for the evaluator.
            (
                r"States.Format('\{\} {} \\ \'', 1)",
                Ok(r#"States.Format("\\{\\} {} \\\\ '", 1)"#),
            ),
            (
                r"States.Format('{}', 'a\{b')",
                Ok(r#"States.Format("{}", "a{b")"#),
            ),
            (r"States.Array('a\n')", Err(r"invalid escape '\n'")),
            (r"States.Array('\x')", Err("invalid escape")),
            (r"States.Array('\", Err("unterminated string literal")),
            (r"States.Array('abc)", Err("unterminated string literal")),
            (r"States.Array('abc", Err("unterminated string literal")),
            (r#"States.Array("abc")"#, Err("unexpected '\"'")),
        ];
        for (input, expect) in cases {
            check(input, expect);
        }
    }

    #[test]
    fn arity_errors() {
        let cases: Vec<(&str, &str)> = vec![
            (
                "States.Format()",
                "States.Format takes at least 1 argument, got 0",
            ),
            (
                "States.StringToJson()",
                "States.StringToJson takes exactly 1 argument, got 0",
            ),
            (
                "States.StringToJson('a', 'b')",
                "takes exactly 1 argument, got 2",
            ),
            (
                "States.JsonToString()",
                "States.JsonToString takes exactly 1 argument, got 0",
            ),
            (
                "States.JsonToString($.a, $.b)",
                "takes exactly 1 argument, got 2",
            ),
            (
                "States.ArrayPartition($.a)",
                "States.ArrayPartition takes exactly 2 arguments, got 1",
            ),
            (
                "States.ArrayPartition($.a, 1, 2)",
                "exactly 2 arguments, got 3",
            ),
            (
                "States.ArrayContains($.a)",
                "States.ArrayContains takes exactly 2 arguments, got 1",
            ),
            (
                "States.ArrayRange(1, 2)",
                "States.ArrayRange takes exactly 3 arguments, got 2",
            ),
            (
                "States.ArrayRange(1, 2, 3, 4)",
                "exactly 3 arguments, got 4",
            ),
            (
                "States.ArrayGetItem($.a)",
                "States.ArrayGetItem takes exactly 2 arguments, got 1",
            ),
            (
                "States.ArrayLength()",
                "States.ArrayLength takes exactly 1 argument, got 0",
            ),
            ("States.ArrayLength($.a, $.b)", "exactly 1 argument, got 2"),
            (
                "States.ArrayUnique()",
                "States.ArrayUnique takes exactly 1 argument, got 0",
            ),
            (
                "States.Base64Encode()",
                "States.Base64Encode takes exactly 1 argument, got 0",
            ),
            (
                "States.Base64Decode('a', 'b')",
                "States.Base64Decode takes exactly 1 argument, got 2",
            ),
            (
                "States.Hash('a')",
                "States.Hash takes exactly 2 arguments, got 1",
            ),
            (
                "States.JsonMerge($.a, $.b)",
                "States.JsonMerge takes exactly 3 arguments, got 2",
            ),
            (
                "States.MathRandom(1)",
                "States.MathRandom takes 2 to 3 arguments, got 1",
            ),
            (
                "States.MathRandom(1, 2, 3, 4)",
                "States.MathRandom takes 2 to 3 arguments, got 4",
            ),
            (
                "States.MathAdd(1)",
                "States.MathAdd takes exactly 2 arguments, got 1",
            ),
            ("States.MathAdd(1, 2, 3)", "exactly 2 arguments, got 3"),
            (
                "States.StringSplit('a')",
                "States.StringSplit takes exactly 2 arguments, got 1",
            ),
            (
                "States.UUID(1)",
                "States.UUID takes exactly 0 arguments, got 1",
            ),
        ];
        for &(input, want) in &cases {
            check(input, Err(want));
        }
        // Every function with an arity limit has a case above.
        for f in Function::ALL.into_iter().filter(|f| *f != Function::Array) {
            let prefix = format!("{}(", f.name());
            assert!(
                cases.iter().any(|(input, _)| input.starts_with(&prefix)),
                "no arity case for {}",
                f.name()
            );
        }
        // States.Array has no arity limit.
        let many = format!("States.Array({})", vec!["1"; 200].join(","));
        assert_eq!(parse_call(&many).unwrap().args.len(), 200);
    }

    #[test]
    fn literal_type_errors() {
        let cases: Vec<(&str, &str)> = vec![
            (
                "States.Format(1)",
                "States.Format argument 1: must be a string, got a number literal",
            ),
            ("States.Format(null)", "must be a string, got null"),
            ("States.StringToJson(1)", "must be a string"),
            (
                "States.JsonToString('a')",
                "States.JsonToString argument 1: must be a path",
            ),
            ("States.JsonToString(States.Array())", "must be a path"),
            ("States.ArrayPartition('a', 2)", "must be an array"),
            (
                "States.ArrayPartition($.a, '2')",
                "must be a number, got a string literal",
            ),
            (
                "States.ArrayPartition($.a, 0)",
                "must be a positive integer",
            ),
            (
                "States.ArrayPartition($.a, 0.4)",
                "must be a positive integer",
            ),
            (
                "States.ArrayPartition($.a, -3)",
                "must be a positive integer",
            ),
            ("States.ArrayContains(1, 1)", "must be an array"),
            (
                "States.ArrayRange(0, 'x', 1)",
                "argument 2: must be a number",
            ),
            ("States.ArrayRange(0, 10, 0)", "must not be zero"),
            ("States.ArrayRange(0, 10, 0.4)", "must not be zero"),
            ("States.ArrayRange(0, 10, -0.5)", "must not be zero"),
            (
                "States.ArrayGetItem($.a, true)",
                "must be a number, got a boolean literal",
            ),
            ("States.ArrayLength(null)", "must be an array"),
            ("States.ArrayUnique('a')", "must be an array"),
            ("States.Base64Encode(1)", "must be a string"),
            ("States.Base64Decode(false)", "must be a string"),
            (
                "States.Hash('a', 'SHA-2')",
                "unsupported hash algorithm 'SHA-2'",
            ),
            ("States.Hash('a', 'sha-256')", "unsupported hash algorithm"),
            ("States.Hash('a', 256)", "must be a string"),
            ("States.JsonMerge('a', $.b, false)", "must be an object"),
            ("States.JsonMerge($.a, $.b, 'false')", "must be a boolean"),
            ("States.MathRandom('1', 2)", "must be a number"),
            (
                "States.MathRandom(1, 2, 'seed')",
                "argument 3: must be a number",
            ),
            (
                "States.MathAdd('1', 2)",
                "States.MathAdd argument 1: must be a number, got a string literal",
            ),
            (
                "States.MathAdd(1, null)",
                "argument 2: must be a number, got null",
            ),
            ("States.StringSplit('a', 1)", "must be a string"),
        ];
        // Definitions with these calls are accepted: AWS fails them at run time, with
        // `States.Runtime: Invalid arguments in States.X`.
        for (input, want) in cases {
            if want.contains("must be a path") {
                check(input, Err(want));
                continue;
            }
            assert!(
                parse_call(input).is_ok(),
                "{input} is accepted ({want} at run time)"
            );
        }
        for alg in HASH_ALGORITHMS {
            check(
                &format!("States.Hash($.a, '{alg}')"),
                Ok(&format!("States.Hash(path:$['a'], \"{alg}\")")),
            );
        }
    }

    #[test]
    fn nesting_limit() {
        fn nested(depth: usize) -> String {
            let mut text = "States.Array()".to_string();
            for _ in 1..depth {
                text = format!("States.Array({text})");
            }
            text
        }
        assert!(parse_call(&nested(MAX_NESTING)).is_ok());
        let e = parse_call(&nested(MAX_NESTING + 1)).unwrap_err();
        assert!(e.message.contains("nested at most 10"), "{e}");
        assert_eq!(e.offset, "States.Array(".len() * MAX_NESTING);
        // Deep nesting well past the limit still ends in an error, not a stack overflow.
        assert!(parse_call(&nested(10_000)).is_err());
    }

    #[test]
    fn invalid_calls() {
        let cases: Vec<(&str, &str)> = vec![
            ("", "expected an intrinsic function name"),
            ("   ", "expected an intrinsic function name"),
            ("$.a", "expected an intrinsic function name"),
            ("States.Format", "expected '(' after 'States.Format'"),
            ("States.Format ('x')", "expected '(' after 'States.Format'"),
            ("States.Nope()", "unknown intrinsic function 'States.Nope'"),
            ("states.format('x')", "unknown intrinsic function"),
            ("Format('x')", "unknown intrinsic function 'Format'"),
            ("States.UUID()x", "unexpected 'x' after the closing ')'"),
            ("States.UUID())", "unexpected ')' after"),
            ("States.UUID() States.UUID()", "unexpected 'S' after"),
            ("States.Array(", "expected an argument"),
            ("States.Array(1", "missing ')'"),
            ("States.Array(1,", "expected an argument"),
            ("States.Array(1,)", "expected an argument"),
            ("States.Array(,1)", "expected an argument"),
            ("States.Array(1 2)", "expected ',' or ')' but found '2'"),
            ("States.Array('a' 'b')", "expected ',' or ')'"),
            ("States.Array(+1)", "unexpected '+'"),
            ("States.Array(.5)", "unexpected '.'"),
            ("States.Array(01)", "invalid number '01'"),
            ("States.Array(1.)", "invalid number '1.'"),
            ("States.Array(-)", "invalid number '-'"),
            ("States.Array(1e)", "invalid number '1e'"),
            ("States.Array(1e999)", "invalid number"),
            ("States.Array(1-2)", "invalid number"),
            ("States.Array(nul)", "unexpected 'nul'"),
            ("States.Array(True)", "unexpected 'True'"),
            ("States.Array(@)", "unexpected '@'"),
            ("States.Array([1])", "unexpected '['"),
            ("States.Array($.a b)", "invalid path '$.a b'"),
            ("States.Array($..)", "invalid path"),
            ("States.Array($[)", "invalid path"),
            ("States.Array($['a)", "invalid path"),
            ("States.Array($.a[?(@.b =~ /x/)])", "invalid path"),
            ("States.Array($$x)", "invalid path"),
            (
                "States.Array(States.Nope())",
                "unknown intrinsic function 'States.Nope'",
            ),
            (
                "States.Array(States.MathAdd(1))",
                "States.MathAdd takes exactly 2 arguments",
            ),
            (
                "States.Array(States.UUID",
                "expected '(' after 'States.UUID'",
            ),
        ];
        for (input, want) in cases {
            check(input, Err(want));
        }
    }

    #[test]
    fn error_offsets_point_into_the_call_text() {
        let cases = [
            ("States.JsonToString('x')", 20),
            ("States.Array(1, $.a b)", 19),
            ("States.Array(1, States.Nope())", 16),
            ("  States.Nope()", 2),
            ("States.Array('abc", 13),
        ];
        for (input, offset) in cases {
            assert_eq!(parse_call(input).unwrap_err().offset, offset, "{input}");
        }
    }

    #[test]
    fn literals_are_json_values() {
        let call = parse_call("States.Array(1, -0.5, 2e2, 'x', null, true)").unwrap();
        let values: Vec<crate::value::Value> = call
            .args
            .into_iter()
            .map(|a| match a {
                Arg::Literal(v) => v,
                other => panic!("not a literal: {other:?}"),
            })
            .collect();
        assert_eq!(
            values,
            vec![
                json!(1),
                json!(-0.5),
                json!(200.0),
                json!("x"),
                json!(null),
                json!(true)
            ]
        );
    }

    #[test]
    fn function_names_round_trip() {
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.name()), Some(f));
        }
        assert_eq!(Function::from_name("States.Uuid"), None);
        assert_eq!(Function::from_name("States.UUID"), Some(Function::Uuid));
    }

    #[test]
    fn looks_like_call_cases() {
        let cases = [
            ("States.Format('x')", true),
            ("States.Nope(", true),
            ("  Foo(", true),
            ("_x(", true),
            ("States.Format", false),
            ("States.Format ('x')", false),
            ("$.a", false),
            ("$f(1)", false),
            ("(x)", false),
            ("", false),
            ("1abc(", false),
            ("hello world", false),
        ];
        for (input, want) in cases {
            assert_eq!(looks_like_call(input), want, "{input:?}");
        }
    }

    #[test]
    fn never_panics_on_random_text() {
        const ALPHABET: &[u8] = b"$.[]()'\\,@?*:-0123456789abc ";
        const PREFIXES: [&str; 4] = ["", "States.Array(", "States.Format(", "States.MathAdd("];
        let mut state: u64 = 0xc0ffee;
        for i in 0..5000 {
            // Numerical Recipes LCG constants: a full-period generator, good enough for fuzzing.
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (state >> 59) as usize + 1;
            let mut text = PREFIXES[i % PREFIXES.len()].to_string();
            for _ in 0..len {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push(ALPHABET[(state >> 33) as usize % ALPHABET.len()] as char);
            }
            if let Err(e) = parse_call(&text) {
                assert!(e.offset <= text.chars().count(), "{text:?}: {e}");
            }
            let _ = looks_like_call(&text);
        }
    }
}
