//! `TestState`: runs one state on an input, with an optional mocked task result, and says what
//! it produced, where it would go next, and whether its error would be retried or caught.
//!
//! How: the state is put in a machine of its own, each state it can go to stands in as a
//! `Succeed` placeholder, and its `Retry` is taken out (TestState never retries: a retriable
//! error is reported as `RETRIABLE`). The machine runs on the single-thread driver with a clock
//! that skips waits; the history tells which placeholder was entered.
//! Invariant: the tested state runs with its own name, input, variables and query language,
//! exactly as it would inside its machine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::wire::{ApiError, Input};
use super::Api;
use crate::asl::{self, Diagnostic, MachineType};
use crate::compile;
use crate::runtime::{self, Clock, Status};
use crate::tasks::{Answer, Functions, Resource};
use crate::vm::context::{self, ExecutionInfo};
use crate::vm::run::{json_text, Inspection, Invocation};
use crate::vm::Failure;

/// The name a single state is tested under when the request gives none.
const DEFAULT_NAME: &str = "TestState";

/// What a task call returns in a test: the mock, or the real function.
struct Recorder<'a> {
    mock: Option<Result<Value, Failure>>,
    functions: &'a Functions,
    /// Each call's payload and result, in order.
    calls: Mutex<Vec<(Value, Result<Value, Failure>)>>,
}

impl Resource for Recorder<'_> {
    fn call(&self, inv: Invocation, limit: Duration) -> Answer {
        let payload = inv.payload.clone();
        let result = match &self.mock {
            Some(m) => m.clone(),
            None => match self.functions.call(inv, limit) {
                Answer::Now(r) => r,
                Answer::Blocking(work) => work(),
                // The functions file answers now or by blocking work: the answer is recorded.
                later @ Answer::Later(_) => return later,
            },
        };
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((payload, result.clone()));
        Answer::Now(result)
    }
}

/// A clock that starts now and jumps over every sleep: a tested Wait does not hold the caller.
struct Skipping(AtomicU64);

impl Clock for Skipping {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn sleep_until(&self, ms: u64) {
        self.0.fetch_max(ms, Ordering::Relaxed);
    }
}

/// The tested state and the machine built around it.
struct Harness {
    name: String,
    query_language: Option<Value>,
    state: Map<String, Value>,
    /// The `Retry` taken out of the state.
    retriers: Vec<Value>,
    /// Placeholder state name → the state name it stands for.
    placeholders: HashMap<String, String>,
}

fn bad_definition(message: impl Into<String>) -> ApiError {
    ApiError::new(
        "InvalidDefinition",
        format!("Invalid State Machine Definition: '{}'", message.into()),
    )
}

impl Harness {
    fn new(definition: &str, state_name: Option<&str>) -> Result<Harness, ApiError> {
        let doc: Value = serde_json::from_str(definition)
            .map_err(|e| bad_definition(format!("INVALID_JSON_DESCRIPTION: {e}")))?;
        let (name, query_language, state) = match state_name {
            Some(n) => {
                let state = doc
                    .get("States")
                    .and_then(|s| s.get(n))
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        ApiError::new(
                            "ValidationException",
                            format!("The state '{n}' is not in the definition's States"),
                        )
                    })?;
                (
                    n.to_owned(),
                    doc.get("QueryLanguage").cloned(),
                    state.clone(),
                )
            }
            None => {
                let state = doc.as_object().ok_or_else(|| {
                    bad_definition("SCHEMA_VALIDATION_FAILED: a state must be a JSON object")
                })?;
                (DEFAULT_NAME.to_owned(), None, state.clone())
            }
        };
        let mut state = state;
        let retriers = match state.remove("Retry") {
            Some(Value::Array(r)) => r,
            _ => Vec::new(),
        };
        let mut h = Harness {
            name,
            query_language,
            state,
            retriers,
            placeholders: HashMap::new(),
        };
        h.stand_in_for_targets();
        Ok(h)
    }

    /// Gives every transition target a placeholder; a target that is the state itself gets
    /// another name, so that reaching it ends the test instead of running the state again.
    fn stand_in_for_targets(&mut self) {
        let own = self.name.clone();
        let mut placeholders = HashMap::new();
        let mut rename = |v: &mut Value| {
            if let Value::String(t) = v {
                let alias = if *t == own {
                    format!("{own} (next)")
                } else {
                    t.clone()
                };
                placeholders.insert(alias.clone(), t.clone());
                *t = alias;
            }
        };
        for field in ["Next", "Default"] {
            if let Some(v) = self.state.get_mut(field) {
                rename(v);
            }
        }
        for list in ["Choices", "Catch"] {
            if let Some(Value::Array(items)) = self.state.get_mut(list) {
                for item in items {
                    if let Some(v) = item.get_mut("Next") {
                        rename(v);
                    }
                }
            }
        }
        self.placeholders = placeholders;
    }

    fn machine(&self) -> Value {
        let mut states = Map::new();
        states.insert(self.name.clone(), Value::Object(self.state.clone()));
        for p in self.placeholders.keys() {
            states.insert(p.clone(), json!({"Type": "Succeed"}));
        }
        let mut m = json!({"StartAt": self.name, "States": states});
        if let Some(q) = &self.query_language {
            m["QueryLanguage"] = q.clone();
        }
        m
    }

    /// The first retrier that would retry `f`, with its first back-off interval.
    fn retrier(&self, f: &Failure) -> Option<(usize, f64)> {
        self.retriers.iter().enumerate().find_map(|(i, r)| {
            let errors: Vec<String> = r["ErrorEquals"]
                .as_array()?
                .iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect();
            let attempts = r.get("MaxAttempts").and_then(Value::as_i64).unwrap_or(3);
            let interval = r
                .get("IntervalSeconds")
                .and_then(Value::as_f64)
                .unwrap_or(1.0);
            (attempts > 0 && f.matches(&errors)).then_some((i, interval))
        })
    }

    /// The index of the first catcher that takes `f`.
    fn catcher(&self, f: &Failure) -> Option<usize> {
        self.state.get("Catch")?.as_array()?.iter().position(|c| {
            let errors: Vec<String> = c["ErrorEquals"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            f.matches(&errors)
        })
    }
}

fn parse_mock(
    mock: Option<&Map<String, Value>>,
) -> Result<Option<Result<Value, Failure>>, ApiError> {
    let Some(mock) = mock else { return Ok(None) };
    match (mock.get("result"), mock.get("errorOutput")) {
        (Some(Value::String(r)), None) => {
            serde_json::from_str(r).map(|v| Some(Ok(v))).map_err(|e| {
                ApiError::new(
                    "ValidationException",
                    format!("mock.result is not valid JSON: {e}"),
                )
            })
        }
        (None, Some(Value::Object(e))) => {
            let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            Ok(Some(Err(Failure::new(text("error"), text("cause")))))
        }
        _ => Err(ApiError::new(
            "ValidationException",
            "mock must have exactly one of result (a JSON string) and errorOutput ({error, cause})",
        )),
    }
}

impl Api {
    pub(super) async fn test_state(&self, i: &Input) -> Result<Value, ApiError> {
        let definition = i.required("definition")?;
        for unsupported in ["context", "stateConfiguration"] {
            if i.object(unsupported)?.is_some() || i.string(unsupported).ok().flatten().is_some() {
                return Err(ApiError::new(
                    "ValidationException",
                    format!("statejet's TestState does not support '{unsupported}'"),
                ));
            }
        }
        let level = i.string("inspectionLevel")?.unwrap_or("INFO");
        if !["INFO", "DEBUG", "TRACE"].contains(&level) {
            return Err(ApiError::constraint(
                &format!("'{level}'"),
                "inspectionLevel",
                "Member must satisfy enum value set: [INFO, DEBUG, TRACE]",
            ));
        }
        let input_text = i.string("input")?.unwrap_or("{}").to_owned();
        let input: Value = serde_json::from_str(&input_text).map_err(|e| {
            ApiError::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;
        let variables = match i.string("variables")? {
            None => Map::new(),
            Some(v) => match serde_json::from_str(v) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(ApiError::new(
                        "ValidationException",
                        "variables must be a JSON object, as a string",
                    ))
                }
            },
        };
        let mock = parse_mock(i.object("mock")?)?;
        let harness = Harness::new(definition, i.string("stateName")?)?;
        // STANDARD validation: with a mock, `.sync` and `.waitForTaskToken` tasks are testable.
        let machine = asl::validate_value(
            &harness.machine(),
            &asl::Config {
                machine_type: MachineType::Standard,
            },
        )
        .map_err(|d| {
            let all: Vec<String> = d.iter().map(Diagnostic::to_string).collect();
            bad_definition(all.join(", "))
        })?;
        let program = Arc::new(compile::compile(machine));
        let now = self.engine.now_ms();
        let id = crate::runtime::engine::new_uuid();
        let execution = Arc::new(ExecutionInfo {
            id: self
                .scope
                .execution(MachineType::Express, "TestStateMachine", &id, &id),
            name: id,
            input,
            role_arn: i
                .string("roleArn")?
                .map(str::to_owned)
                .unwrap_or_else(|| self.scope.role("statejet")),
            start_time: context::timestamp(now),
            state_machine_id: self.scope.state_machine("TestStateMachine"),
            state_machine_name: "TestStateMachine".into(),
            redrive_count: None,
        });
        let functions = self.engine.functions().clone();
        let debug = level != "INFO";
        let ran = tokio::task::spawn_blocking(move || {
            let recorder = Recorder {
                mock,
                functions: &functions,
                calls: Mutex::new(Vec::new()),
            };
            let clock = Skipping(AtomicU64::new(now));
            let inspection = Inspection::default();
            let (outcome, history) = runtime::execute_with(
                program,
                execution,
                &recorder,
                &clock,
                variables,
                Some(inspection.clone()),
            );
            let calls = recorder
                .calls
                .into_inner()
                .unwrap_or_else(|p| p.into_inner());
            let stages = std::mem::take(&mut *inspection.lock().unwrap_or_else(|p| p.into_inner()));
            (outcome, history, calls, stages)
        })
        .await
        .map_err(|_| {
            ApiError::new("InternalFailure", "the tested state panicked").with_status(500)
        })?;
        let (outcome, history, calls, stages) = ran;
        let next = history
            .iter()
            .filter(|e| e.kind.is_state_entered())
            .filter_map(|e| e.details["name"].as_str())
            .find_map(|n| harness.placeholders.get(n).cloned());
        // The error the state met, caught or not: its task's, or the one the run ended with.
        let met = calls
            .iter()
            .rev()
            .find_map(|(_, r)| r.as_ref().err().cloned())
            .or_else(|| outcome.failure.clone());
        let mut out = Map::new();
        let mut details = Map::new();
        let retrier = met.as_ref().and_then(|f| harness.retrier(f));
        let status = match (&outcome.status, &met, retrier) {
            (_, Some(_), Some((index, interval))) => {
                details.insert("retryIndex".into(), index.into());
                details.insert("retryBackoffIntervalSeconds".into(), json!(interval as i64));
                "RETRIABLE"
            }
            (Status::Succeeded, Some(f), None) => {
                if let Some(index) = harness.catcher(f) {
                    details.insert("catchIndex".into(), index.into());
                }
                "CAUGHT_ERROR"
            }
            (Status::Succeeded, None, _) => "SUCCEEDED",
            _ => "FAILED",
        };
        if let Some(f) = met {
            out.insert("error".into(), f.error.into());
            out.insert("cause".into(), f.cause.into());
        }
        if matches!(status, "SUCCEEDED" | "CAUGHT_ERROR") {
            if let Some(o) = &outcome.output {
                out.insert("output".into(), o.to_string().into());
            }
            if let Some(n) = next {
                out.insert("nextState".into(), n.into());
            }
        }
        out.insert("status".into(), status.into());
        if debug {
            let mut data = Map::new();
            data.insert("input".into(), input_text.into());
            // The tested state runs first: each stage's first value is its own (the placeholder
            // it goes to notes its stages after it).
            for (stage, value) in &stages {
                if !data.contains_key(*stage) {
                    data.insert((*stage).into(), json_text(value).into());
                }
                if *stage == "afterParameters" || *stage == "afterArguments" {
                    // The task's result sits between the input stages and the output stages.
                    if let Some((_, Ok(r))) = calls.first() {
                        data.entry("result").or_insert_with(|| json_text(r).into());
                    }
                }
            }
            if !details.is_empty() {
                data.insert("errorDetails".into(), Value::Object(details));
            }
            out.insert("inspectionData".into(), Value::Object(data));
        }
        Ok(Value::Object(out))
    }
}
