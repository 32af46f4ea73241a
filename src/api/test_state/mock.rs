//! TestState's `mock`: what stands for the tested state's work, checked as AWS checks it.
//!
//! Only Task, Map and Parallel states take a mock, and Map and Parallel need one; a mocked
//! result must fit the state (an array per Parallel branch, a Map's array or ResultWriter
//! object) and, for a service integration, the service's API output shape
//! (`fieldValidationMode`). Invariant: a `Mock` exists only for a request that passed them all.

use serde_json::{Map, Value};

use super::harness::Harness;
use super::request::Request;
use crate::api::wire::ApiError;
use crate::asl::machine::{ResourceKind, StateKind};
use crate::tasks::aws::models::{self, Mode};
use crate::vm::Failure;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationException", message)
}

/// A checked mock: the tested state's work answers this.
pub struct Mock {
    answer: Result<Value, Failure>,
}

impl Mock {
    pub fn answer(&self) -> Result<Value, Failure> {
        self.answer.clone()
    }
}

/// The request's mock, checked against the tested state; `None` when there is none.
pub fn check(req: &Request, harness: &Harness) -> Result<Option<Mock>, ApiError> {
    let kind = &harness.state.kind;
    let Some(mock) = &req.mock else {
        if matches!(kind, StateKind::Map(_) | StateKind::Parallel(_)) {
            return Err(ApiError::new(
                "InvalidDefinition",
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
            ));
        }
        return Ok(None);
    };
    if !matches!(
        kind,
        StateKind::Task(_) | StateKind::Map(_) | StateKind::Parallel(_)
    ) {
        return Err(invalid(format!(
            "State type '{}' is not supported when a mock is specified",
            kind.type_name()
        )));
    }
    if req.reveal_secrets {
        return Err(invalid(
            "TestState does not support RevealSecrets when a mock is specified.",
        ));
    }
    for key in mock.keys() {
        if !["result", "errorOutput", "fieldValidationMode"].contains(&key.as_str()) {
            return Err(invalid(format!("The mock has no field '{key}'")));
        }
    }
    let mode = match mock.get("fieldValidationMode") {
        None | Some(Value::Null) => Mode::Strict,
        Some(Value::String(m)) => match m.as_str() {
            "STRICT" => Mode::Strict,
            "PRESENT" => Mode::Present,
            "NONE" => Mode::None,
            other => {
                return Err(ApiError::constraint(
                    &format!("'{other}'"),
                    "mock.fieldValidationMode",
                    "Member must satisfy enum value set: [STRICT, PRESENT, NONE]",
                ))
            }
        },
        Some(_) => return Err(invalid("mock.fieldValidationMode must be a string")),
    };
    let result = mock.get("result").filter(|v| !v.is_null());
    let error = mock.get("errorOutput").filter(|v| !v.is_null());
    let answer =
        match (result, error) {
            (Some(_), Some(_)) => return Err(invalid(
                "A test mock should have only one of the following fields: [result, errorOutput].",
            )),
            (None, None) => {
                return Err(invalid(
                    "A test mock should have one of the following fields: [result, errorOutput].",
                ))
            }
            (Some(r), None) => {
                let text = r
                    .as_str()
                    .ok_or_else(|| invalid("Mocked result must be valid JSON"))?;
                let value: Value = serde_json::from_str(text)
                    .map_err(|_| invalid("Mocked result must be valid JSON"))?;
                check_result(&value, harness, mode)?;
                Ok(value)
            }
            (None, Some(e)) => Err(error_output(e)?),
        };
    Ok(Some(Mock { answer }))
}

fn error_output(e: &Value) -> Result<Failure, ApiError> {
    let Value::Object(e) = e else {
        return Err(invalid("mock.errorOutput must be an object"));
    };
    let text = |m: &Map<String, Value>, k: &str| match m.get(k) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(format!("mock.errorOutput.{k} must be a string"))),
    };
    Ok(Failure::new(text(e, "error")?, text(e, "cause")?))
}

/// A mocked result against the state it stands for.
fn check_result(value: &Value, harness: &Harness, mode: Mode) -> Result<(), ApiError> {
    match &harness.state.kind {
        // An exporting Map's result is its `ResultWriterDetails` object; any other, an array.
        StateKind::Map(m) => {
            let exports = m.result_writer.as_ref().is_some_and(|w| w.export.is_some());
            match (exports, value) {
                (true, Value::Object(_)) | (false, Value::Array(_)) => Ok(()),
                (true, _) => Err(invalid("Mocked result must be a JSON object.")),
                (false, _) => Err(invalid("Mocked result must be an array.")),
            }
        }
        StateKind::Parallel(p) => match value {
            Value::Array(a) if a.len() == p.branches.len() => Ok(()),
            Value::Array(_) => Err(invalid(
                "Mocked result must contain the same number of items as number of Parallel branches.",
            )),
            _ => Err(invalid("Mocked result must be an array.")),
        },
        StateKind::Task(t) => match &t.resource.kind {
            ResourceKind::Service {
                service,
                action,
                pattern,
            } if mode != Mode::None => {
                models::check_output(service, action, *pattern, value, mode).map_err(|e| {
                    invalid(format!("Mock result schema validation error: {e}"))
                })
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}
