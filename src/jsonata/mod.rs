//! JSONata, through the `jsonata-core` crate: compiling expressions and evaluating them with
//! `$states`, workflow variables and the functions Step Functions adds.
//!
//! Invariant: the only module that knows `jsonata-core`. Expressions are parsed once, with the
//! definition, into an `Arc`'d tree shared by every execution; each evaluation gets a fresh
//! evaluator (the crate's evaluators are single-threaded) with limits set, `$eval` refused, and
//! `$partition`, `$range`, `$hash`, `$random`, `$uuid`, `$parse` bound as AWS defines them.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use crate::value::{Map, Number, Value};
use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::{JArray, JValue};

use crate::java::{hash, JavaRandom};

/// A parsed expression: its text (for messages) and its tree.
#[derive(Clone)]
pub struct Compiled {
    pub text: String,
    ast: Arc<AstNode>,
    /// Whether the expression may read `$states.context`, which is costly to build.
    pub reads_context: bool,
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{% {} %}}", self.text)
    }
}

impl PartialEq for Compiled {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Compiled {}

/// Parses `text` (what stands between `{%` and `%}`). The error is the parser's message
/// without its `S0xxx: ` code, as AWS reports it.
pub fn compile(text: &str) -> Result<Compiled, String> {
    match jsonata_core::parser::parse(text) {
        Ok(ast) => Ok(Compiled {
            text: text.to_owned(),
            ast: Arc::new(ast),
            reads_context: reads_context(text),
        }),
        Err(e) => Err(strip_code(&e.to_string()).to_owned()),
    }
}

/// Whether `text` may read `$states.context`: it names it, or uses `$states` other than through
/// `.input`, `.result` or `.errorOutput` (for example `$states` whole, or `$states[...]`).
fn reads_context(text: &str) -> bool {
    text.match_indices("$states").any(|(i, _)| {
        let rest = &text[i + "$states".len()..];
        !(rest.starts_with(".input")
            || rest.starts_with(".result")
            || rest.starts_with(".errorOutput"))
    })
}

fn strip_code(message: &str) -> &str {
    match message.split_once(": ") {
        Some((code, rest))
            if code.len() == 5
                && code.as_bytes()[0].is_ascii_uppercase()
                && code[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            rest
        }
        _ => message,
    }
}

/// Why an evaluation produced no usable value.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The expression returned nothing.
    Undefined,
    /// It returned a function (or another value JSON cannot hold).
    Unsupported,
    /// It raised an error: the JSONata message with its code (`T1006: ...`).
    Error(String),
    /// It ran until the time it was given (the execution's deadline) was over.
    Deadline,
}

/// Bounds on one evaluation, so a definition cannot hang a worker.
const TIMEOUT_MS: u64 = 10_000;
const MAX_STACK_DEPTH: usize = 5_000;
const MAX_SEQUENCE_LENGTH: usize = 10_000_000;

/// What an expression sees: `$states` and the variables in scope. One evaluator serves every
/// expression evaluated with the same bindings (the fields of one state), created on first use.
pub struct Bindings {
    /// How long evaluations may run, in milliseconds: the time left to the execution's
    /// deadline, or `TIMEOUT_MS` if that is sooner.
    limit_ms: u64,
    states: JValue,
    variables: Vec<(String, JValue)>,
    session: RefCell<Option<Session>>,
}

struct Session {
    evaluator: Evaluator,
    /// Which of AWS's functions are registered (bits in the order of `AWS_FUNCTIONS`).
    registered: u8,
    /// The state of the random stream behind `$random()` and `$uuid()`.
    random: Rc<Cell<u64>>,
}

impl Bindings {
    /// Bindings whose evaluations stop (`Problem::Deadline`) once `left_ms` (the time left to
    /// the execution's deadline) is over.
    pub fn new(states: &Value, variables: &Map, left_ms: u64) -> Bindings {
        Bindings {
            limit_ms: left_ms.min(TIMEOUT_MS),
            states: to_jvalue(states),
            variables: variables
                .iter()
                .map(|(k, v)| (k.to_string(), to_jvalue(v)))
                .collect(),
            session: RefCell::new(None),
        }
    }

    fn session(&self, random: &mut dyn FnMut() -> u64) -> std::cell::RefMut<'_, Session> {
        let mut slot = self.session.borrow_mut();
        if slot.is_none() {
            let mut context = Context::new();
            context.bind("states".into(), self.states.clone());
            for (k, v) in &self.variables {
                context.bind(k.clone(), v.clone());
            }
            let evaluator = Evaluator::with_options(
                context,
                EvaluatorOptions {
                    timeout_ms: Some(self.limit_ms),
                    max_stack_depth: Some(MAX_STACK_DEPTH),
                    max_sequence_length: Some(MAX_SEQUENCE_LENGTH),
                    ..EvaluatorOptions::default()
                },
            );
            *slot = Some(Session {
                evaluator,
                registered: 0,
                random: Rc::new(Cell::new(random())),
            });
        }
        std::cell::RefMut::map(slot, |s| s.as_mut().expect("created above"))
    }
}

/// Evaluates `c` with `bindings`. `random` seeds `$random()` and `$uuid()`.
pub fn evaluate(
    c: &Compiled,
    bindings: &Bindings,
    random: &mut dyn FnMut() -> u64,
) -> Result<Value, Problem> {
    if bindings.limit_ms == 0 {
        return Err(Problem::Deadline);
    }
    let mut session = bindings.session(random);
    register(&mut session, c);
    // A panic inside the JSONata engine fails this expression, not the worker running it.
    let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        session.evaluator.evaluate(&c.ast, &JValue::Undefined)
    }));
    let result = match evaluated {
        Ok(r) => r.map_err(|e| {
            let m = message(&e);
            // D1012 is the crate's timeout: the execution's deadline when that came first.
            if m.starts_with("D1012") && bindings.limit_ms < TIMEOUT_MS {
                Problem::Deadline
            } else {
                Problem::Error(m)
            }
        })?,
        Err(_) => {
            return Err(Problem::Error(
                "the JSONata engine failed on this expression".to_owned(),
            ))
        }
    };
    match from_jvalue(&result) {
        Some(Ok(v)) => Ok(v),
        Some(Err(())) => Err(Problem::Unsupported),
        None => Err(Problem::Undefined),
    }
}

/// The next number of a SplitMix64 stream kept in `state`.
fn next(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The error's message in jsonata-js's words (which AWS quotes): jsonata-core names the callee
/// after T1006's text, which jsonata-js does not.
fn message(e: &EvaluatorError) -> String {
    const T1006: &str = "T1006: Attempted to invoke a non-function";
    let m = match e {
        EvaluatorError::TypeError(m)
        | EvaluatorError::ReferenceError(m)
        | EvaluatorError::EvaluationError(m) => m.clone(),
        #[allow(unreachable_patterns)]
        other => other.to_string(),
    };
    if m.starts_with(T1006) {
        T1006.to_owned()
    } else {
        m
    }
}

fn fail(message: impl Into<String>) -> EvaluatorError {
    EvaluatorError::EvaluationError(message.into())
}

/// The functions AWS adds (and `$eval`, which it refuses), in the order of `Session::registered`.
const AWS_FUNCTIONS: [&str; 7] = [
    "partition",
    "range",
    "hash",
    "random",
    "uuid",
    "parse",
    "eval",
];

/// Binds the functions AWS adds that the expression names and the session lacks (registration
/// costs time, so only what is used).
fn register(session: &mut Session, c: &Compiled) {
    let mut wanted = 0u8;
    for (i, name) in AWS_FUNCTIONS.iter().enumerate() {
        if session.registered & (1 << i) == 0 && c.text.contains(&format!("${name}")) {
            wanted |= 1 << i;
        }
    }
    if wanted == 0 {
        return;
    }
    session.registered |= wanted;
    let uses = |name: &str| {
        let i = AWS_FUNCTIONS
            .iter()
            .position(|n| *n == name)
            .expect("listed");
        wanted & (1 << i) != 0
    };
    let ev = &mut session.evaluator;
    if uses("partition") {
        let _ = ev.register_fn("partition", |a: &[JValue]| {
            let items = array_arg(a, 0, "$partition")?;
            let size = int_arg(a, 1, "$partition")?;
            if size < 1 {
                return Err(fail(
                    "The second argument of $partition must be a positive integer",
                ));
            }
            Ok(JValue::Array(JArray::new(
                items
                    .chunks(size as usize)
                    .map(|c| JValue::Array(JArray::new(c.to_vec())))
                    .collect(),
            )))
        });
    }
    if uses("range") {
        let _ = ev.register_fn("range", |a: &[JValue]| {
            let (start, end) = (int_arg(a, 0, "$range")?, int_arg(a, 1, "$range")?);
            let step = if a.len() > 2 {
                int_arg(a, 2, "$range")?
            } else {
                1
            };
            if step == 0 {
                return Err(fail("The step of $range must not be 0"));
            }
            let mut out = Vec::new();
            let mut x = start;
            while (step > 0 && x <= end) || (step < 0 && x >= end) {
                if out.len() >= 1000 {
                    return Err(fail("$range may produce at most 1000 items"));
                }
                out.push(JValue::Number(x as f64));
                x += step;
            }
            // A single item is returned bare, as JSONata sequences are.
            Ok(if out.len() == 1 {
                out.remove(0)
            } else {
                JValue::Array(JArray::new(out))
            })
        });
    }
    if uses("hash") {
        let _ = ev.register_fn("hash", |a: &[JValue]| {
            let data = match a.first() {
                Some(JValue::String(s)) => s.to_string(),
                Some(v) => match from_jvalue(v) {
                    Some(Ok(v)) => v.to_string(),
                    _ => return Err(fail("The first argument of $hash must be a value")),
                },
                None => return Err(fail("$hash needs data and an algorithm")),
            };
            let algorithm = match a.get(1) {
                Some(JValue::String(s)) => s.to_string(),
                _ => return Err(fail("The second argument of $hash must be an algorithm name")),
            };
            hash(data.as_bytes(), &algorithm)
                .map(|h| JValue::from(h.as_str()))
                .ok_or_else(|| {
                    fail(format!(
                        "Unsupported hash algorithm '{algorithm}': use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
                    ))
                })
        });
    }
    if uses("random") {
        let stream = session.random.clone();
        let _ = ev.register_fn_override("random", move |a: &[JValue]| {
            let mut r = match a.first() {
                Some(JValue::Number(seed)) => JavaRandom::new(seed.floor() as i64),
                _ => JavaRandom::new(next(&stream) as i64),
            };
            Ok(JValue::Number(r.next_double()))
        });
    }
    if uses("uuid") {
        let stream = session.random.clone();
        let _ = ev.register_fn("uuid", move |_: &[JValue]| {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&next(&stream).to_le_bytes());
            bytes[8..].copy_from_slice(&next(&stream).to_le_bytes());
            let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
            Ok(JValue::from(id.to_string().as_str()))
        });
    }
    if uses("parse") {
        let _ = ev.register_fn("parse", |a: &[JValue]| match a.first() {
            Some(JValue::String(s)) => serde_json::from_str::<Value>(s)
                .map(|v| to_jvalue(&v))
                .map_err(|e| fail(format!("$parse: the argument is not JSON: {e}"))),
            _ => Err(fail("The argument of $parse must be a string")),
        });
    }
    if uses("eval") {
        let _ = ev.register_fn_override("eval", |_: &[JValue]| {
            Err(fail("The $eval function is not supported"))
        });
    }
}

fn array_arg<'a>(a: &'a [JValue], i: usize, f: &str) -> Result<&'a [JValue], EvaluatorError> {
    match a.get(i) {
        Some(JValue::Array(items)) => Ok(items.as_slice()),
        _ => Err(fail(format!("Argument {} of {f} must be an array", i + 1))),
    }
}

/// An integer argument; AWS rounds non-integers down.
fn int_arg(a: &[JValue], i: usize, f: &str) -> Result<i64, EvaluatorError> {
    match a.get(i) {
        Some(JValue::Number(n)) if n.is_finite() => Ok(n.floor() as i64),
        _ => Err(fail(format!("Argument {} of {f} must be a number", i + 1))),
    }
}

/// JSON → JSONata value.
pub fn to_jvalue(v: &Value) -> JValue {
    match v {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JValue::from(s.as_str()),
        Value::Array(a) => JValue::Array(JArray::new(a.iter().map(to_jvalue).collect())),
        Value::Object(o) => {
            let mut m = indexmap::IndexMap::with_capacity(o.len());
            for (k, x) in o {
                m.insert(k.to_string(), to_jvalue(x));
            }
            JValue::object(m)
        }
    }
}

/// JSONata value → JSON: `None` for undefined, `Err` for values JSON cannot hold (functions).
/// Whole numbers become JSON integers, and undefined members and items are dropped, as
/// jsonata-js's JSON output does.
pub fn from_jvalue(v: &JValue) -> Option<Result<Value, ()>> {
    Some(Ok(match v {
        JValue::Undefined => return None,
        JValue::Null => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n),
        JValue::String(s) => Value::string(&**s),
        JValue::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for item in a.iter() {
                match from_jvalue(item) {
                    Some(Ok(x)) => out.push(x),
                    Some(Err(())) => return Some(Err(())),
                    None => {}
                }
            }
            Value::array(out)
        }
        JValue::Object(o) => {
            let mut m = Map::with_capacity(o.len());
            for (k, x) in o.iter() {
                match from_jvalue(x) {
                    Some(Ok(x)) => {
                        m.insert(&**k, x);
                    }
                    Some(Err(())) => return Some(Err(())),
                    None => {}
                }
            }
            Value::object(m)
        }
        _ => return Some(Err(())),
    }))
}

fn number(f: f64) -> Value {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        return Value::Number(Number::from(f as i64));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}
