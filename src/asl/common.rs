//! Readers for the fields many states share: transitions, the input/output flow, payload
//! templates, JSONata values, `Assign`, and fields with `...Path` twins.
//!
//! Invariant: each shared field is read by exactly one function here, so a rule about it (its
//! type, its language, its message) holds for every state kind that has it.

use serde_json::Value;

use crate::value::Str;

use super::context::{Ctx, Scope};
use super::diagnostic::{Code, Diagnostic, Pointer};
use super::intrinsic::{self, Call};
use super::machine::{
    Assign, Dynamic, Expr, Flow, Jsonata, QueryLanguage, ResultPath, Select, Template, Transition,
};
use super::message;
use super::path::{self, Path, ReferencePath};
use super::reader::{integer_value, number_in_range, Object};

/// Largest value of integer fields such as `TimeoutSeconds` and `Seconds` (AWS's schema bound).
pub const MAX_SECONDS: i64 = 99_999_999;

/// Reads `Next` / `End`: exactly one of them, and `End` must be `true`.
pub fn transition(o: &mut Object, scope: &mut Scope, ctx: &mut Ctx) -> Transition {
    let next = o.string("Next", &mut ctx.d);
    let end = o.boolean("End", &mut ctx.d);
    match (o.has("Next"), o.has("End")) {
        (true, true) => {
            ctx.d.schema(message::only_one(&["Next", "End"]), o.at());
            // Still record the edge, so the target is not also reported unreachable.
            if let Some(name) = next {
                scope.target(name, &o.at_key("Next"), &mut ctx.d);
            }
            Transition::End
        }
        (false, false) => {
            ctx.d.schema(message::exactly_one(&["Next", "End"]), o.at());
            Transition::End
        }
        (true, false) => match next {
            Some(name) => Transition::Next(scope.target(name, &o.at_key("Next"), &mut ctx.d)),
            None => Transition::End,
        },
        (false, true) => {
            // `"End": false` ends nothing, so the state has no transition at all.
            if end == Some(false) {
                ctx.d.schema(message::exactly_one(&["Next", "End"]), o.at());
            }
            Transition::End
        }
    }
}

/// Which data-flow fields a state kind has, beyond `InputPath`/`OutputPath` and JSONata `Output`.
#[derive(Clone, Copy)]
pub struct FlowShape {
    pub parameters: bool,
    pub result_selector: bool,
    pub result_path: bool,
    pub arguments: bool,
}

impl FlowShape {
    /// Choice, Wait and Succeed: only paths in and out.
    pub const PATHS: FlowShape = FlowShape {
        parameters: false,
        result_selector: false,
        result_path: false,
        arguments: false,
    };
    /// Task and Parallel.
    pub const TASK: FlowShape = FlowShape {
        parameters: true,
        result_selector: true,
        result_path: true,
        arguments: true,
    };
}

/// Reads the data-flow fields of `shape` in the state's language; the other language's fields
/// are left untaken, so they are reported as not supported.
pub fn flow(o: &mut Object, lang: QueryLanguage, shape: FlowShape, ctx: &mut Ctx) -> Flow {
    match lang {
        QueryLanguage::JsonPath => Flow::JsonPath {
            input_path: select(o, "InputPath", ctx),
            parameters: if shape.parameters {
                template_field(o, "Parameters", ctx)
            } else {
                None
            },
            result_selector: if shape.result_selector {
                template_field(o, "ResultSelector", ctx)
            } else {
                None
            },
            result_path: if shape.result_path {
                result_path(o, "ResultPath", ctx)
            } else {
                ResultPath::Replace
            },
            output_path: select(o, "OutputPath", ctx),
        },
        QueryLanguage::Jsonata => {
            let arguments = if shape.arguments {
                jsonata_field(o, "Arguments", ctx)
            } else {
                None
            };
            // A Task's, Parallel's or Map's Output sees its result.
            ctx.states_result = shape.result_selector;
            let output = jsonata_field(o, "Output", ctx);
            ctx.states_result = false;
            Flow::Jsonata { arguments, output }
        }
    }
}

/// `InputPath` / `OutputPath`: a Path, or `null`.
pub fn select(o: &mut Object, key: &str, ctx: &mut Ctx) -> Select {
    let at = o.at_key(key);
    match o.take(key) {
        None => Select::Whole,
        Some(Value::Null) => Select::Nothing,
        Some(Value::String(s)) => match path::parse_path(s) {
            Ok(p) => Select::Path(p),
            Err(_) => {
                ctx.d.schema(message::INVALID_PATH, &at);
                Select::Whole
            }
        },
        Some(_) => {
            ctx.d.schema(message::wrong_type("STRING"), &at);
            Select::Whole
        }
    }
}

/// `ResultPath` (also a Catcher's): a Reference Path on the input (not `$$`, not a variable),
/// or `null`.
pub fn result_path(o: &mut Object, key: &str, ctx: &mut Ctx) -> ResultPath {
    let at = o.at_key(key);
    match o.take(key) {
        None => ResultPath::Replace,
        Some(Value::Null) => ResultPath::Discard,
        Some(Value::String(s)) => match path::parse_reference_path(s) {
            Ok(p) if matches!(p.root, path::Root::Input) => ResultPath::Path(p),
            Ok(_) => {
                ctx.d.schema(message::RESULT_PATH_ROOT, &at);
                ResultPath::Replace
            }
            Err(e) => {
                ctx.d.schema(reference_path_error(s, &e), &at);
                ResultPath::Replace
            }
        },
        Some(_) => {
            ctx.d.schema(message::wrong_type("STRING"), &at);
            ResultPath::Replace
        }
    }
}

/// A string field holding a Reference Path (`ItemsPath`, `SecondsPath`, ...).
pub fn reference_path(o: &mut Object, key: &str, ctx: &mut Ctx) -> Option<ReferencePath> {
    let s = o.string(key, &mut ctx.d)?;
    match path::parse_reference_path(s) {
        Ok(p) => Some(p),
        Err(e) => {
            ctx.d.schema(reference_path_error(s, &e), &o.at_key(key));
            None
        }
    }
}

/// AWS's message for a bad Reference Path: `Value is not a Reference Path: <why>`.
pub fn reference_path_error(text: &str, e: &path::PathError) -> String {
    if text.trim_start_matches(' ').starts_with('$') {
        message::not_reference_path(&e.message)
    } else {
        message::not_reference_path(message::NO_DOLLAR)
    }
}

/// A string field holding a Path (Choice `Variable`, `...Path` operands); AWS words its errors
/// as Reference Path errors.
pub fn path_field(o: &mut Object, key: &str, ctx: &mut Ctx) -> Option<Path> {
    let at = o.at_key(key);
    let v = o.take(key)?;
    operand_path(v, &at, ctx)
}

/// A Path in a Choice rule (`Variable` or a `...Path` operator's value).
pub fn operand_path(v: &Value, at: &Pointer, ctx: &mut Ctx) -> Option<Path> {
    let Value::String(s) = v else {
        ctx.d.schema(message::wrong_type("STRING"), at);
        return None;
    };
    match path::parse_path(s) {
        Ok(p) => Some(p),
        Err(e) => {
            ctx.d.schema(reference_path_error(s, &e), at);
            None
        }
    }
}

/// Reads a payload template field (`Parameters`, `ResultSelector`, `ItemSelector`, ...).
pub fn template_field(o: &mut Object, key: &str, ctx: &mut Ctx) -> Option<Template> {
    let at = o.at_key(key);
    let v = o.take(key)?;
    Some(template(v, &at, ctx))
}

/// Reads a payload template: `key.$` fields hold paths or intrinsic calls, anywhere inside
/// objects and arrays. Problems are located at the template's root, as AWS locates them.
pub fn template(v: &Value, root: &Pointer, ctx: &mut Ctx) -> Template {
    match v {
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            let mut dynamic = false;
            for (key, value) in map {
                if let Some(name) = key.strip_suffix(".$") {
                    if map.contains_key(name) {
                        ctx.d.schema(message::duplicate_template_key(name), root);
                    }
                    dynamic = true;
                    fields.push((name.into(), dynamic_value(key, value, root, ctx)));
                } else {
                    let t = template(value, root, ctx);
                    dynamic |= !matches!(t, Template::Literal(_));
                    fields.push((key.as_str().into(), t));
                }
            }
            if dynamic {
                Template::Object(fields)
            } else {
                Template::Literal(v.into())
            }
        }
        Value::Array(items) => {
            let items: Vec<Template> = items.iter().map(|i| template(i, root, ctx)).collect();
            if items.iter().all(|t| matches!(t, Template::Literal(_))) {
                Template::Literal(v.into())
            } else {
                Template::Array(items)
            }
        }
        other => Template::Literal(other.into()),
    }
}

/// The value of a `key.$` field: a Path or an intrinsic function call.
fn dynamic_value(key: &str, value: &Value, root: &Pointer, ctx: &mut Ctx) -> Template {
    match path_or_call(value) {
        Some(PathOrCall::Path(p)) => Template::Path(p),
        Some(PathOrCall::Call(c)) => Template::Call(c),
        None => {
            ctx.d.schema(message::invalid_template_value(key), root);
            Template::Literal(crate::value::Value::Null)
        }
    }
}

pub enum PathOrCall {
    Path(Path),
    Call(Call),
}

/// Parses a string that must be a Path or an intrinsic function call.
pub fn path_or_call(value: &Value) -> Option<PathOrCall> {
    let text = value.as_str()?;
    // Paths are read with the spaces around them trimmed (see `path`); intrinsic calls are not.
    if text.trim_start_matches(' ').starts_with('$') {
        path::parse_path(text).ok().map(PathOrCall::Path)
    } else {
        intrinsic::parse_call(text).ok().map(PathOrCall::Call)
    }
}

/// The text of a JSONata expression string: what stands between a leading `{%` and a trailing
/// `%}`, or `None` when the string is not one.
pub fn jsonata_text(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}")
}

/// Parses a JSONata expression; problems are diagnostics at `at`. AWS refuses `$$` and the
/// `$states` fields a field cannot see (`result` outside a Task's, Parallel's or Map's Output and
/// Assign, `errorOutput` outside a catcher); those are found in the text, so a string literal
/// that spells them is refused too.
pub fn compile_expr(inner: &str, at: &Pointer, ctx: &mut Ctx) -> Option<Expr> {
    let text = inner.trim();
    if text.is_empty() {
        ctx.d.schema(message::empty_jsonata(inner), at);
        return None;
    }
    let unsupported = |m: String, ctx: &mut Ctx| {
        ctx.d
            .push(Diagnostic::error(Code::UnsupportedJsonataExpression, m, at));
        None
    };
    if text.contains("$$") {
        return unsupported(message::DOUBLE_DOLLAR.to_owned(), ctx);
    }
    for (field, allowed) in [
        ("errorOutput", ctx.states_error_output),
        ("result", ctx.states_result),
    ] {
        if !allowed && mentions(text, &format!("$states.{field}")) {
            return unsupported(message::no_such_states_field(field), ctx);
        }
    }
    match crate::jsonata::compile(text) {
        Ok(e) => Some(e),
        Err(m) => {
            ctx.d
                .push(Diagnostic::error(Code::InvalidJsonataExpression, m, at));
            None
        }
    }
}

/// Whether `text` names `field` as a whole (not as the start of a longer name).
fn mentions(text: &str, field: &str) -> bool {
    text.match_indices(field).any(|(i, _)| {
        !text[i + field.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Reads a JSONata field, which may be any JSON with `{% %}` strings anywhere inside.
pub fn jsonata_field(o: &mut Object, key: &str, ctx: &mut Ctx) -> Option<Jsonata> {
    let at = o.at_key(key);
    let v = o.take(key)?;
    Some(jsonata(v, &at, ctx))
}

pub fn jsonata(v: &Value, at: &Pointer, ctx: &mut Ctx) -> Jsonata {
    match v {
        Value::String(s) => match jsonata_text(s).map(|inner| compile_expr(inner, at, ctx)) {
            Some(Some(e)) => Jsonata::Expr(e),
            _ => Jsonata::Literal(v.into()),
        },
        Value::Object(map) => {
            let fields: Vec<(Str, Jsonata)> = map
                .iter()
                .map(|(k, x)| (k.as_str().into(), jsonata(x, &at.key(k), ctx)))
                .collect();
            if fields.iter().all(|(_, j)| matches!(j, Jsonata::Literal(_))) {
                Jsonata::Literal(v.into())
            } else {
                Jsonata::Object(fields)
            }
        }
        Value::Array(items) => {
            let items: Vec<Jsonata> = items
                .iter()
                .enumerate()
                .map(|(i, x)| jsonata(x, &at.index(i), ctx))
                .collect();
            if items.iter().all(|j| matches!(j, Jsonata::Literal(_))) {
                Jsonata::Literal(v.into())
            } else {
                Jsonata::Array(items)
            }
        }
        other => Jsonata::Literal(other.into()),
    }
}

/// Reads `Assign`: an object from variable names to values, in the state's language.
pub fn assign(o: &mut Object, lang: QueryLanguage, ctx: &mut Ctx) -> Option<Assign> {
    let at = o.at_key("Assign");
    let mut a = o.object("Assign", &mut ctx.d)?;
    let mut entries = Vec::new();
    let keys: Vec<String> = a.keys().cloned().collect();
    for key in keys {
        let value = a.take(&key).expect("key listed from the object");
        let (name, dynamic) = match (lang, key.strip_suffix(".$")) {
            (QueryLanguage::JsonPath, Some(name)) => (name, true),
            _ => (key.as_str(), false),
        };
        if !valid_variable_name(name) {
            ctx.d
                .schema(message::invalid_variable_name(name), &at.key(&key));
            continue;
        }
        entries.push((name.to_owned(), key.clone(), value, dynamic));
    }
    a.finish(&mut ctx.d);
    Some(match lang {
        QueryLanguage::JsonPath => Assign::JsonPath(
            entries
                .into_iter()
                .map(|(name, key, value, dynamic)| {
                    let t = if dynamic {
                        dynamic_value(&key, value, &at, ctx)
                    } else {
                        template(value, &at, ctx)
                    };
                    (name, t)
                })
                .collect(),
        ),
        QueryLanguage::Jsonata => Assign::Jsonata(
            entries
                .into_iter()
                .map(|(name, key, value, _)| (name, jsonata(value, &at.key(&key), ctx)))
                .collect(),
        ),
    })
}

/// Longest variable name AWS accepts.
const MAX_VARIABLE_NAME: usize = 80;

/// A variable name: an identifier (Unicode letters, digits after the first character, `_`), at
/// most 80 characters, and not the reserved `states`.
pub fn valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    name != "states"
        && name.chars().count() <= MAX_VARIABLE_NAME
        && (first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// A non-negative integer field with a `...Path` twin (JSONPath) or a `{% %}` form (JSONata):
/// `TimeoutSeconds`, `HeartbeatSeconds`, `MaxConcurrency`, `ToleratedFailureCount`, ...
pub fn dynamic_integer(
    o: &mut Object,
    key: &str,
    lang: QueryLanguage,
    min: i64,
    max: i64,
    ctx: &mut Ctx,
) -> Option<Dynamic<u64>> {
    let path_key = format!("{key}Path");
    let fixed = dynamic_fixed(o, key, lang, ctx, |v, at, ctx| {
        integer_value(v, min, max, at, &mut ctx.d).map(|i| i as u64)
    });
    dynamic_with_path(o, key, &path_key, lang, fixed, ctx)
}

/// Like `dynamic_integer`, for a number such as `ToleratedFailurePercentage`.
pub fn dynamic_number(
    o: &mut Object,
    key: &str,
    lang: QueryLanguage,
    min: f64,
    max: f64,
    ctx: &mut Ctx,
) -> Option<Dynamic<f64>> {
    let path_key = format!("{key}Path");
    let fixed = dynamic_fixed(o, key, lang, ctx, |v, at, ctx| match v {
        Value::Number(n) => {
            number_in_range(n.as_f64().unwrap_or(f64::NAN), min, max, at, &mut ctx.d)
        }
        _ => {
            ctx.d.schema(message::wrong_type("NUMBER"), at);
            None
        }
    });
    dynamic_with_path(o, key, &path_key, lang, fixed, ctx)
}

/// Reads `key` as a fixed value, or in JSONata states as a `{% %}` expression.
pub fn dynamic_fixed<T>(
    o: &mut Object,
    key: &str,
    lang: QueryLanguage,
    ctx: &mut Ctx,
    read: impl FnOnce(&Value, &Pointer, &mut Ctx) -> Option<T>,
) -> Option<Dynamic<T>> {
    let at = o.at_key(key);
    let v = o.take(key)?;
    if lang == QueryLanguage::Jsonata {
        if let Some(inner) = v.as_str().and_then(jsonata_text) {
            return compile_expr(inner, &at, ctx).map(Dynamic::Expr);
        }
    }
    read(v, &at, ctx).map(Dynamic::Fixed)
}

/// Combines a fixed field with its JSONPath `...Path` twin: at most one of the two.
fn dynamic_with_path<T>(
    o: &mut Object,
    key: &str,
    path_key: &str,
    lang: QueryLanguage,
    fixed: Option<Dynamic<T>>,
    ctx: &mut Ctx,
) -> Option<Dynamic<T>> {
    if lang != QueryLanguage::JsonPath || !o.has(path_key) {
        return fixed;
    }
    if o.has(key) {
        ctx.d
            .schema(message::only_one(&[key, path_key]), &o.at_key(key));
    }
    let p = reference_path(o, path_key, ctx)?;
    Some(Dynamic::Path(p))
}
