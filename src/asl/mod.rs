//! The front end: definition text → validated `StateMachine`, or every problem found.
//!
//! Pipeline: JSON text → `serde_json::Value` (syntax errors get a line and column) → readers
//! walk the value once, field by field, with a JSON Pointer in hand (`reader`, `block`, one
//! module per state kind, `common` for shared fields) → the validated types of `machine`.
//! Invariant: validation never stops at the first problem and never panics, whatever the input;
//! a `StateMachine` is returned only when there is no error.

mod block;
mod choice;
mod common;
mod context;
pub mod diagnostic;
mod fail;
pub mod http_task;
pub mod intrinsic;
pub mod machine;
mod map;
mod message;
mod parallel;
mod pass;
pub mod path;
mod reader;
mod retry;
mod scope;
mod succeed;
mod task;
pub mod timestamp;
mod wait;

use serde_json::Value;

pub use diagnostic::{Code, Diagnostic, Pointer, Severity};
pub use machine::StateMachine;

use context::Ctx;
use reader::Object;

/// The largest definition AWS accepts, in bytes.
pub const MAX_DEFINITION_BYTES: usize = 1_048_576;

/// The largest execution `TimeoutSeconds` the schema accepts.
const MAX_TIMEOUT_SECONDS: i64 = 99_999_999;

/// The two kinds of state machine; Express forbids some integrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MachineType {
    Standard,
    #[default]
    Express,
}

impl MachineType {
    pub fn as_str(self) -> &'static str {
        match self {
            MachineType::Standard => "STANDARD",
            MachineType::Express => "EXPRESS",
        }
    }
}

impl std::str::FromStr for MachineType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "STANDARD" => Ok(MachineType::Standard),
            "EXPRESS" => Ok(MachineType::Express),
            other => Err(format!(
                "unknown state machine type '{other}': expected STANDARD or EXPRESS"
            )),
        }
    }
}

/// What validation needs to know beyond the definition.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub machine_type: MachineType,
}

/// Parses and validates definition text.
pub fn validate(text: &str, config: &Config) -> Result<StateMachine, Vec<Diagnostic>> {
    if text.len() > MAX_DEFINITION_BYTES {
        return Err(vec![Diagnostic::error_nowhere(
            Code::SchemaValidationFailed,
            message::too_large(text.len(), MAX_DEFINITION_BYTES),
        )]);
    }
    if text.trim().is_empty() {
        return Err(vec![Diagnostic::error_nowhere(
            Code::SchemaValidationFailed,
            message::NOT_AN_OBJECT,
        )]);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => validate_value(&value, config),
        Err(e) => Err(vec![syntax_error(text, &e)]),
    }
}

/// Validates a definition already parsed as JSON.
pub fn validate_value(value: &Value, config: &Config) -> Result<StateMachine, Vec<Diagnostic>> {
    let mut ctx = Ctx::new(config);
    let machine = read_machine(value, &mut ctx);
    if let Some(m) = &machine {
        if !ctx.d.has_errors() {
            scope::check(m, &mut ctx.d);
        }
    }
    match machine {
        Some(m) if !ctx.d.has_errors() => Ok(m),
        _ => Err(ctx.d.into_vec()),
    }
}

fn read_machine(value: &Value, ctx: &mut Ctx) -> Option<StateMachine> {
    let Value::Object(_) = value else {
        ctx.d.push(Diagnostic::error_nowhere(
            Code::SchemaValidationFailed,
            message::NOT_AN_OBJECT,
        ));
        return None;
    };
    let mut o = Object::new(value, Pointer::root(), &mut ctx.d)?;
    let query_language = block::query_language(&mut o, ctx).unwrap_or_default();
    ctx.top_language = query_language;
    let version = o.string("Version", &mut ctx.d).map(str::to_owned);
    if version.as_deref().is_some_and(|v| v != "1.0") {
        ctx.d
            .schema(message::one_of(&["1.0"]), &o.at_key("Version"));
    }
    let timeout_seconds = o
        .integer("TimeoutSeconds", 0, MAX_TIMEOUT_SECONDS, &mut ctx.d)
        .map(|s| s as u64);
    let top = block::read(&mut o, true, ctx);
    o.finish(&mut ctx.d);
    let top = top?;
    Some(StateMachine {
        comment: top.comment.clone(),
        version,
        timeout_seconds,
        query_language,
        top,
    })
}

/// A JSON syntax error. The location has the shape AWS (Jackson) gives it,
/// `[Source: (String)"<text>"; line: L, column: C]`, so tools that read line and column from
/// AWS's diagnostics read ours too.
fn syntax_error(text: &str, e: &serde_json::Error) -> Diagnostic {
    const SHOWN: usize = 500;
    let shown: String = text.chars().take(SHOWN).collect();
    let ellipsis = if shown.len() < text.len() {
        "[truncated]"
    } else {
        ""
    };
    Diagnostic {
        severity: Severity::Error,
        code: Code::InvalidJsonDescription,
        message: e.to_string(),
        location: Some(format!(
            "[Source: (String)\"{shown}\"{ellipsis}; line: {}, column: {}]",
            e.line(),
            e.column()
        )),
        position: Some((e.line(), e.column())),
    }
}
