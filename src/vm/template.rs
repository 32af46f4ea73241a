//! Evaluating payload templates (`Parameters`, `ResultSelector`, `ItemSelector`, JSONPath
//! `Assign`, ...) and the intrinsic calls inside them.
//!
//! Invariant: a template's literal parts are copied as they are; only `.$` fields are computed,
//! and a path that selects nothing is a `States.Runtime` failure naming the field, as AWS words it.

use crate::value::{Map, Str, Value};

use super::failure::Failure;
use super::intrinsic;
use super::jsonpath::{self, Roots};
use crate::asl::intrinsic::{Arg, Call, Function};
use crate::asl::machine::Template;
use crate::asl::path::Path;

/// Where randomness comes from (`States.UUID`, `States.MathRandom`): injected, so runs can be
/// replayed in tests.
pub type Random<'r> = &'r mut dyn FnMut() -> u64;

/// Evaluates a template against `roots`.
pub fn eval(t: &Template, roots: &Roots, random: Random) -> Result<Value, Failure> {
    match t {
        Template::Literal(v) => Ok(v.clone()),
        Template::Object(fields) => {
            let mut entries = Vec::with_capacity(fields.len());
            // The object's text bound as `Value::text_bound` sums it, while its fields' are
            // known: the payload check that follows then walks nothing.
            let mut bound = Some(2 + 2 * fields.len());
            for (name, value) in fields {
                let v = match value {
                    Template::Path(p) => path_field(p, name, roots)?,
                    Template::Call(c) => call(c, name, roots, random)?,
                    Template::Literal(v) => v.clone(),
                    nested => eval(nested, roots, random)?,
                };
                bound = bound
                    .zip(v.known_bound())
                    .and_then(|(b, n)| b.checked_add(name.len() * 6 + 2)?.checked_add(n));
                entries.push((name.clone(), v));
            }
            // The names are unique: validation refuses a template that repeats one.
            let out = Value::object(Map::from_unique(entries));
            if let (Value::Object(node), Some(bound)) = (&out, bound) {
                node.note_bound(bound);
            }
            Ok(out)
        }
        Template::Array(items) => items
            .iter()
            .map(|i| eval(i, roots, random))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::array),
        // A bare path or call only occurs as the value of a `.$` field, handled above.
        Template::Path(p) => read_field(p, "", roots),
        Template::Call(c) => call(c, "", roots, random),
    }
}

/// Evaluates an object template's fields into `values` (a slot per field, in order) as `eval`
/// does, without building the object (`Run::update_field` may write them into an old one), and
/// gives the object's text bound as `eval` sums it, if known.
pub fn eval_fields(
    fields: &[(Str, Template)],
    roots: &Roots,
    random: Random,
    values: &mut [Value],
) -> Result<Option<usize>, Failure> {
    let mut bound = Some(2 + 2 * fields.len());
    // `eval`'s loop, written out again on purpose: one shared `#[inline(always)]` step for
    // both cost pass10 +1.1%, choice_loop +1.0%, map100 +0.3% (measured, session twelve).
    for ((name, value), slot) in fields.iter().zip(values) {
        let v = match value {
            Template::Path(p) => path_field(p, name, roots)?,
            Template::Call(c) => call(c, name, roots, random)?,
            Template::Literal(v) => v.clone(),
            nested => eval(nested, roots, random)?,
        };
        bound = bound
            .zip(v.known_bound())
            .and_then(|(b, n)| b.checked_add(name.len() * 6 + 2)?.checked_add(n));
        *slot = v;
    }
    Ok(bound)
}

/// The object `eval` builds of `fields`' names and the `values` `eval_fields` gave (taken), its
/// `bound` noted.
pub fn object_of(fields: &[(Str, Template)], values: &mut [Value], bound: Option<usize>) -> Value {
    let entries = (fields.iter().zip(values))
        .map(|((name, _), v)| (name.clone(), v.take()))
        .collect();
    // The names are unique: validation refuses a template that repeats one.
    let out = Value::object(Map::from_unique(entries));
    if let (Value::Object(node), Some(bound)) = (&out, bound) {
        node.note_bound(bound);
    }
    out
}

/// The value of field `name.$` whose value is path `p`. A Reference Path into the input that
/// selects a node (almost every `.$` field) is read in place; a miss, or another root, takes
/// the general way.
#[inline]
fn path_field(p: &Path, name: &str, roots: &Roots) -> Result<Value, Failure> {
    match jsonpath::input_node(p, roots.input) {
        Some(v) => Ok(v.clone()),
        None => read_field(p, name, roots),
    }
}

/// Reads the path of field `name.$`.
pub fn read_field(p: &Path, name: &str, roots: &Roots) -> Result<Value, Failure> {
    jsonpath::read(p, roots).map_err(|_| not_found(p, &format!("{name}.$"), roots))
}

/// AWS's cause for a `.$` path (or `ErrorPath`/`CausePath`) that selects nothing.
pub fn not_found(p: &Path, field: &str, roots: &Roots) -> Failure {
    Failure::runtime(format!(
        "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
        p.text(),
        roots.input
    ))
}

/// Evaluates an intrinsic call: its arguments first (paths, nested calls), then the function.
pub fn call(c: &Call, name: &str, roots: &Roots, random: Random) -> Result<Value, Failure> {
    let f = c.function;
    // Up to four arguments (almost every call: a `Format` of three placeholders has four) in an
    // array on the stack: no allocation.
    match c.args.as_slice() {
        [] => intrinsic::call(f, &[], random),
        [a] => {
            let args = [arg(a, name, roots, random)?];
            intrinsic::call(f, &args, random)
        }
        [a, b] => {
            // A counter's step (`States.MathAdd($.i, 1)`): two small integers, read where they
            // are (no copies to make and drop), add without the general call; anything else (a
            // float, a sum out of `int` range, an argument that is not a node) takes it.
            if f == Function::MathAdd {
                if let (Some(x), Some(y)) = (arg_node(a, roots), arg_node(b, roots)) {
                    if let Some(sum) = small_sum(x, y) {
                        return Ok(Value::from(sum));
                    }
                }
            }
            let args = [arg(a, name, roots, random)?, arg(b, name, roots, random)?];
            intrinsic::call(f, &args, random)
        }
        [a, b, c] => {
            let args = [
                arg(a, name, roots, random)?,
                arg(b, name, roots, random)?,
                arg(c, name, roots, random)?,
            ];
            intrinsic::call(f, &args, random)
        }
        [a, b, c, d] => {
            let args = [
                arg(a, name, roots, random)?,
                arg(b, name, roots, random)?,
                arg(c, name, roots, random)?,
                arg(d, name, roots, random)?,
            ];
            intrinsic::call(f, &args, random)
        }
        more => {
            let mut args = Vec::with_capacity(more.len());
            for a in more {
                args.push(arg(a, name, roots, random)?);
            }
            intrinsic::call(f, &args, random)
        }
    }
}

/// `a + b` when both are integers and the sum fits an `int`: then `MathAdd`'s general path
/// (Java's `Math.round` of each, an `int` sum) gives this same integer.
#[inline]
fn small_sum(a: &Value, b: &Value) -> Option<i64> {
    let (Value::Number(a), Value::Number(b)) = (a, b) else {
        return None;
    };
    let sum = i32::try_from(a.as_i64()?)
        .ok()?
        .checked_add(i32::try_from(b.as_i64()?).ok()?)?;
    Some(i64::from(sum))
}

/// An argument that is a literal or a path selecting a node of the input, where it is.
#[inline]
fn arg_node<'v>(a: &'v Arg, roots: &Roots<'v>) -> Option<&'v Value> {
    match a {
        Arg::Literal(v) => Some(v),
        Arg::Path(p) => jsonpath::input_node(p, roots.input),
        Arg::Call(_) => None,
    }
}

/// One argument of an intrinsic call, evaluated. Inlined into `call`: a literal or a path read
/// in place is a few instructions, less than the call.
#[inline]
fn arg(a: &Arg, name: &str, roots: &Roots, random: Random) -> Result<Value, Failure> {
    match a {
        Arg::Literal(v) => Ok(v.clone()),
        Arg::Path(p) => path_field(p, name, roots),
        Arg::Call(inner) => call(inner, name, roots, random),
    }
}
