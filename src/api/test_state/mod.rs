//! `TestState`: runs one state on an input, with an optional mock of its work, and says what it
//! produced, where it would go next, and whether its error would be retried or caught.
//!
//! Pipeline: the request is read and checked (`request`), the definition is validated and the
//! tested state put in a harness machine (`harness`), the mock is checked against the state and
//! the service's API shape (`mock`), the harness runs on the interpreter, and the answer is
//! shaped as AWS gives it (`inspection` for `inspectionData`). Invariant: the tested state runs
//! from its validated form, with AWS's harness name, input, variables and Context Object.

mod harness;
mod inspection;
mod mock;
mod request;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::wire::{ApiError, Input};
use super::Api;
use crate::asl::machine::{Retrier, StateKind};
use crate::tasks::Functions;
use crate::vm::context::{self, ExecutionInfo};
use crate::vm::run::{Fork, Invocation};
use crate::vm::Failure;

use harness::{Answer, Harness};
use mock::Mock;
use request::Request;

/// The state machine name the harness runs under (AWS's is a generated name too).
const MACHINE_NAME: &str = "TestStateMachine";

pub(super) fn bad_definition(message: impl Into<String>) -> ApiError {
    ApiError::new(
        "InvalidDefinition",
        format!("Invalid State Machine Definition: '{}'", message.into()),
    )
}

/// The longest a tested Task without a `TimeoutSeconds` may take: an Express execution's
/// limit, since a TestState call answers synchronously as StartSyncExecution does.
const MAX_TASK_SECONDS: u64 = crate::runtime::registry::EXPRESS_MAX_SECONDS;

/// What answers the tested state's work: the mock, or the real function.
struct Work<'a> {
    mock: Option<&'a Mock>,
    functions: &'a Functions,
    /// `stateConfiguration.mapIterationFailureCount`.
    failed_iterations: Option<u64>,
    /// Whether the tested Map declares a tolerated failure count or percentage.
    tolerates: bool,
}

impl Answer for Work<'_> {
    fn invoke(&self, inv: &Invocation) -> Result<Value, Failure> {
        match self.mock {
            Some(m) => m.answer(),
            None => {
                // The Task's own timeout, or the longest a tested state may take.
                let limit = Duration::from_secs(inv.timeout_seconds.unwrap_or(MAX_TASK_SECONDS));
                let answer = crate::tasks::Resource::call(self.functions, inv.clone(), limit);
                crate::tasks::wait_blocking(answer).map(crate::value::Value::into_serde)
            }
        }
    }

    fn fork(&self, fork: &Fork) -> Result<Value, Failure> {
        let Some(m) = self.mock else {
            // Checked before running: Map and Parallel states are only tested with a mock.
            return Err(Failure::runtime("a Map or Parallel state needs a mock"));
        };
        let answer = m.answer()?;
        match self.failed_iterations {
            Some(n) if self.tolerates && n > fork.max_failures as u64 => Err(Failure::new(
                crate::vm::failure::TOLERATED_FAILURE,
                "The specified tolerated failure threshold was exceeded",
            )),
            _ => Ok(answer),
        }
    }
}

/// What a retrier does with the error a tested state met after `retries` retries: retry it
/// (with its back-off, in seconds) or give up.
fn retry_details(retriers: &[Retrier], f: &Failure, retries: u64) -> Option<(usize, Option<u64>)> {
    let (index, r) = retriers
        .iter()
        .enumerate()
        .find(|(_, r)| f.matches(&r.error_equals))?;
    if retries >= r.max_attempts {
        return Some((index, None));
    }
    let mut seconds = r.interval_seconds as f64 * r.backoff_rate.powi(retries as i32);
    if let Some(max) = r.max_delay_seconds {
        seconds = seconds.min(max as f64);
    }
    Some((index, Some(seconds as u64)))
}

impl Api {
    pub(super) async fn test_state(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let req = Request::read(i)?;
        let mut harness = Harness::build(&req.definition, req.state_name.as_deref())?;
        req.check_configuration(&harness)?;
        let mock = mock::check(&req, &harness)?;
        req.check_context(&harness)?;
        if mock.is_none()
            && req.role_arn.is_none()
            && matches!(harness.state.kind, StateKind::Task(_))
        {
            return Err(ApiError::new(
                "ValidationException",
                "RoleArn must be specified when testing a Task state",
            ));
        }
        request::read_items(&mut harness, req.configuration.map_item_reader_data.clone());
        let now = self.engine.now_ms();
        let name = crate::runtime::engine::new_uuid();
        let arn = format!(
            "arn:aws:states:{}:{}:express:{MACHINE_NAME}:{name}",
            self.scope.region, self.scope.account
        );
        let execution = Arc::new(ExecutionInfo {
            identity: crate::arn::Identity::given(arn, name),
            input: req.input.clone().into(),
            role_arn: req.role_arn.as_deref().unwrap_or_default().into(),
            // It answers synchronously under an Express ARN, as StartSyncExecution does.
            machine_type: crate::asl::MachineType::Express,
            start_ms: now,
            state_machine_id: self.scope.state_machine(MACHINE_NAME).into(),
            state_machine_name: MACHINE_NAME.into(),
            redrive_count: None,
        });
        let retries = req.configuration.retrier_retry_count.unwrap_or(0);
        let context = match &req.context {
            Some(c) => c.clone(),
            None => default_context(&execution, &req, &harness, now, retries),
        };
        let functions = self.engine.functions().clone();
        let tolerates = match &harness.state.kind {
            StateKind::Map(m) => {
                m.tolerated_failure_count.is_some() || m.tolerated_failure_percentage.is_some()
            }
            _ => false,
        };
        let failed_iterations = req.configuration.map_iteration_failure_count;
        let variables = req.variables.clone();
        let (harness, ran) = tokio::task::spawn_blocking(move || {
            let work = Work {
                mock: mock.as_ref(),
                functions: &functions,
                failed_iterations,
                tolerates,
            };
            let ran = harness::run(&harness, execution, context, variables, &work, now);
            (harness, ran)
        })
        .await
        .map_err(|_| {
            ApiError::new("InternalFailure", "the tested state panicked").with_status(500)
        })?;

        // The error the state met, caught or not: its work's, or the one the run ended with.
        let met = match (&ran.work, &ran.result) {
            (Some(Err(f)), _) => Some(f.clone()),
            (_, Err(f)) => Some(f.clone()),
            _ => None,
        };
        let mut out = Map::new();
        let mut details = Map::new();
        let retry = met
            .as_ref()
            .and_then(|f| retry_details(harness.retriers(), f, retries));
        if let Some((index, _)) = retry {
            details.insert("retryIndex".into(), index.into());
        }
        let status = match (&ran.result, &met, retry) {
            (_, Some(_), Some((_, Some(backoff)))) => {
                details.insert("retryBackoffIntervalSeconds".into(), backoff.into());
                "RETRIABLE"
            }
            (Ok(_), Some(f), _) => {
                if let Some(index) = harness.catcher(f) {
                    details.insert("catchIndex".into(), index.into());
                }
                "CAUGHT_ERROR"
            }
            (Ok(_), None, _) => "SUCCEEDED",
            (Err(_), _, _) => "FAILED",
        };
        if let Some(f) = &met {
            out.insert("error".into(), f.error.clone().into());
            out.insert("cause".into(), without_event_id(&f.cause).into());
        }
        if matches!(status, "SUCCEEDED" | "CAUGHT_ERROR") {
            if let Ok(o) = &ran.result {
                out.insert("output".into(), o.to_string().into());
            }
            if let Some(n) = &ran.next {
                out.insert("nextState".into(), n.clone().into());
            }
        }
        out.insert("status".into(), status.into());
        if req.inspection_level != "INFO" {
            let mut data = inspection::data(&harness.state, &req, &ran);
            if !details.is_empty() {
                data.insert("errorDetails".into(), Value::Object(details));
            }
            out.insert("inspectionData".into(), Value::Object(data));
        }
        Ok(Value::Object(out))
    }
}

/// A runtime cause without the interpreter's `An error occurred while executing the state 'S'
/// (entered at the event id #N). ` prefix: a test has no history for it to point into, and AWS's
/// TestState causes carry none.
fn without_event_id(cause: &str) -> &str {
    match cause.strip_prefix("An error occurred while executing the state '") {
        Some(rest) => rest
            .split_once("). ")
            .filter(|(head, _)| head.contains("' (entered at the event id #"))
            .map_or(cause, |(_, tail)| tail),
        None => cause,
    }
}

/// The Context Object AWS gives a tested state when the request brings none: the harness's
/// execution and machine, `State.Name` the harness name, `RoleArn` null without a `roleArn`.
fn default_context(
    execution: &ExecutionInfo,
    req: &Request,
    harness: &Harness,
    now: u64,
    retries: u64,
) -> Value {
    let mut state = json!({"Name": harness::HARNESS_NAME, "EnteredTime": context::timestamp(now)});
    if matches!(
        harness.state.kind,
        StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_)
    ) {
        state["RetryCount"] = json!(retries);
    }
    json!({
        "Execution": {
            "Id": execution.arn(),
            "Input": execution.input,
            "Name": execution.name(),
            "RoleArn": req.role_arn,
            "StartTime": execution.start_time(),
        },
        "StateMachine": {
            "Id": &*execution.state_machine_id,
            "Name": &*execution.state_machine_name,
        },
        "State": state,
    })
}
