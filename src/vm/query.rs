//! JSONata fields of a state: evaluating `{% %}` values with `$states` and the variables, and
//! AWS's `States.QueryEvaluationError` causes.
//!
//! Invariant: every JSONata evaluation of a run goes through `eval` here, so an undefined
//! result, a function result and an evaluation error are reported in AWS's words, naming the
//! field (`Output/result`, `Arguments/FunctionName`, `Assign/x`).

use crate::value::{Map, Value};

use super::failure::Failure;
use crate::asl::machine::{Expr, Jsonata};
use crate::jsonata::{self, Bindings, Problem};

pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// What `$states` holds for one state: the input and context always; the result and error
/// output where AWS provides them.
pub fn states(
    input: &Value,
    context: Option<&Value>,
    result: Option<&Value>,
    error_output: Option<&Value>,
) -> Value {
    let mut m = Map::with_capacity(4);
    m.insert("input", input.clone());
    if let Some(c) = context {
        m.insert("context", c.clone());
    }
    if let Some(r) = result {
        m.insert("result", r.clone());
    }
    if let Some(e) = error_output {
        m.insert("errorOutput", e.clone());
    }
    Value::object(m)
}

/// `left_ms`: the time left to the execution's deadline, which bounds the evaluations.
pub fn bindings(states: &Value, variables: &Map, left_ms: u64) -> Bindings {
    Bindings::new(states, variables, left_ms)
}

fn failure(e: &Expr, field: &str, what: &str) -> Failure {
    Failure::new(
        QUERY_EVALUATION_ERROR,
        format!(
            "The JSONata expression '{}' specified for the field '{field}' {what}",
            e.text
        ),
    )
}

/// Evaluates one expression of field `field`.
pub fn eval(
    e: &Expr,
    field: &str,
    b: &Bindings,
    random: &mut dyn FnMut() -> u64,
) -> Result<Value, Failure> {
    jsonata::evaluate(e, b, random).map_err(|p| match p {
        Problem::Undefined => failure(e, field, "returned nothing (undefined)."),
        Problem::Unsupported => failure(e, field, "returned an unsupported result type."),
        Problem::Error(m) => failure(e, field, &format!("threw an error during evaluation. {m}")),
        Problem::Deadline => Failure::deadline(),
    })
}

/// Evaluates a JSONata value: literals as written, every `{% %}` string inside evaluated.
pub fn eval_tree(
    t: &Jsonata,
    field: &str,
    b: &Bindings,
    random: &mut dyn FnMut() -> u64,
) -> Result<Value, Failure> {
    match t {
        Jsonata::Literal(v) => Ok(v.clone()),
        Jsonata::Expr(e) => eval(e, field, b, random),
        Jsonata::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (k, v) in fields {
                out.insert(k.clone(), eval_tree(v, &format!("{field}/{k}"), b, random)?);
            }
            Ok(Value::object(out))
        }
        Jsonata::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| eval_tree(v, &format!("{field}[{i}]"), b, random))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::array),
    }
}

/// AWS's cause for a result of the wrong type, e.g. `Expected 'array', but was 'string' for
/// value: "x"`.
pub fn unexpected_type(e: &Expr, field: &str, expected: &str, got: &Value) -> Failure {
    failure(
        e,
        field,
        &format!(
            "returned an unexpected result type. Expected '{expected}', but was '{}' for value: {got}",
            type_name(got)
        ),
    )
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
