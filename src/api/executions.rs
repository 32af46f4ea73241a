//! Execution operations on the wire. Express: `StartSyncExecution` returns the whole result
//! (HTTP 200 even when the execution failed), `StartExecution` returns the ARN at once and the
//! result goes to the logs, and the operations that need a stored history give AWS's Express
//! refusals. Standard: `StartExecution` starts a retained execution (`runtime::executions`),
//! which `DescribeExecution`, `ListExecutions`, `GetExecutionHistory`,
//! `DescribeStateMachineForExecution`, `StopExecution` and `RedriveExecution` read.
//!
//! Invariant: nothing about an execution is kept here: the engine's store holds the retained
//! ones, and an Express execution is known only to the call that started it, and the logs.

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::wire::{check_name, timestamp, ApiError, Arn, Input, ObjectText};
use super::{page, Api};
use crate::asl::MachineType;
use crate::runtime::engine::{Ended, RedriveError, StandardStart, StartError};
use crate::runtime::executions::{status_name, Execution, Now, Redrivable, Started};
use crate::runtime::intake::Observer;
use crate::runtime::registry::Machine;
use crate::runtime::Status;
use crate::vm::context::ExecutionInfo;
use crate::vm::run::{EventType, HistoryEvent};

/// The largest execution input, in bytes of UTF-8.
const MAX_INPUT_BYTES: usize = 262_144;

/// AWS bills Express executions in 100 ms steps.
const BILLING_STEP_MS: u64 = 100;

/// What a start request names: the machine, the execution's name and its input (its text
/// borrowed from the request).
struct Start<'a> {
    machine: Arc<str>,
    /// The revision (or version) the start runs.
    resolved: Arc<Machine>,
    version_arn: Option<String>,
    alias_arn: Option<String>,
    /// The machine's own ARN (without a version or alias).
    machine_arn: Arc<str>,
    name: Option<String>,
    input_text: &'a str,
    input: crate::value::Value,
    trace_header: Option<String>,
    /// The mock test case of `stateMachineArn#TestCase`.
    test_case: Option<String>,
}

impl Api {
    fn start_request<'a>(&self, i: &'a Input, trace: Option<&str>) -> Result<Start<'a>, ApiError> {
        let (machine_arn, test_case) = super::mock_case::split(i.required("stateMachineArn")?);
        let arn = Arn::parse(machine_arn)?;
        if arn.resource_type == "stateMachine" && arn.rest.bytes().any(|b| b == b'/') {
            return Err(ApiError::new(
                "ValidationException",
                format!("Invalid Arn: a Map Run label cannot be started: '{machine_arn}'"),
            ));
        }
        let target = self.start_target_of(machine_arn, arn)?;
        let name = i.bounded("name", 80)?;
        if let Some(n) = name {
            check_name(n)?;
        }
        let input_text = i.string("input")?.unwrap_or("{}");
        if input_text.len() > MAX_INPUT_BYTES {
            return Err(ApiError::constraint(
                "'<input>'",
                "input",
                &format!("Member must have length less than or equal to {MAX_INPUT_BYTES}"),
            ));
        }
        let input = crate::value::Value::parse(input_text).map_err(|e| {
            ApiError::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;
        // The X-Amzn-Trace-Id header wins over the body's traceHeader, as with AWS.
        let trace_header = match trace {
            Some(t) => Some(t.to_owned()),
            None => i.bounded("traceHeader", 256)?.map(str::to_owned),
        };
        Ok(Start {
            // A version's revision has its machine's name and unqualified ARN.
            machine: target.machine.name.clone(),
            machine_arn: target.machine.arn.shared(),
            resolved: target.machine,
            version_arn: target.version_arn,
            alias_arn: target.alias_arn,
            name: name.map(str::to_owned),
            input_text,
            input,
            trace_header,
            test_case: test_case.map(str::to_owned),
        })
    }

    pub(super) async fn start_execution(
        &self,
        i: &Input<'_>,
        trace: Option<&str>,
    ) -> Result<Value, ApiError> {
        let mut s = self.start_request(i, trace)?;
        let (name, mock) = self.mock_session(
            &s.machine,
            s.resolved.program.machine(),
            s.name.take(),
            s.test_case.as_deref(),
        )?;
        s.name = name;
        if s.resolved.machine_type == MachineType::Standard {
            return self.start_standard(s, mock);
        }
        let start_ms = self.engine.now_ms();
        if let (Some(_), Some(qualified)) = (
            &self.intake,
            s.alias_arn.as_ref().or(s.version_arn.as_ref()),
        ) {
            // A replica pulling the message runs the machine by name: its latest revision.
            return Err(ApiError::new(
                "ValidationException",
                format!("statejet serve --intake runs the latest revision of a state machine; a start of the version or alias '{qualified}' cannot go through the intake: start the unqualified state machine ARN"),
            ));
        }
        if let Some(intake) = &self.intake {
            // Stored in JetStream before the answer; a replica pulls and runs it.
            let arn = intake
                .start(&self.engine, &s.machine, s.name.as_deref(), s.input_text)
                .await
                .map_err(|e| ApiError::new("ServiceUnavailable", e.to_string()).with_status(503))?;
            return Ok(json!({"executionArn": arn, "startDate": timestamp(start_ms)}));
        }
        let (recent, engine, machine) =
            (self.recent.clone(), self.engine.clone(), s.machine.clone());
        let shows_data = self.page_shows_data(&s.machine);
        let arn = self
            .engine
            .start_of(s.resolved, s.name, s.input, move |arn, outcome| {
                drop(mock);
                recent.note(page::Ended {
                    machine: &machine,
                    arn: Cow::Owned(arn),
                    outcome: &outcome,
                    start_ms,
                    stop_ms: engine.now_ms(),
                    execution_data: shows_data,
                });
            })
            .map_err(|e| start_error(e, &s.machine_arn))?;
        Ok(json!({"executionArn": arn, "startDate": timestamp(start_ms)}))
    }

    /// `StartSyncExecution`, answered as JSON text (`ObjectText`): the fields in AWS's order,
    /// as a `Value` of them would serialize.
    pub(super) async fn start_sync_execution(
        &self,
        i: &Input<'_>,
        trace: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        let mut s = self.start_request(i, trace)?;
        if s.resolved.machine_type == MachineType::Standard {
            return Err(ApiError::new(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        let included = match i.string("includedData")?.unwrap_or("ALL_DATA") {
            "ALL_DATA" => true,
            "METADATA_ONLY" => false,
            other => {
                return Err(ApiError::constraint(
                    &format!("'{other}'"),
                    "includedData",
                    "Member must satisfy enum value set: [ALL_DATA, METADATA_ONLY]",
                ))
            }
        };
        let (name, mock) = self.mock_session(
            &s.machine,
            s.resolved.program.machine(),
            s.name.take(),
            s.test_case.as_deref(),
        )?;
        let r = self
            .engine
            .start_sync_of(s.resolved.clone(), name, s.input)
            .await
            .map_err(|e| start_error(e, &s.machine_arn))?;
        drop(mock);
        let output = match (&r.outcome.output, r.outcome.status, included) {
            (Some(o), Status::Succeeded, true) => Some(o),
            _ => None,
        };
        // The output's text is not made apart: room for one about the input's size, escaped.
        let arn = r.execution.arn();
        let mut out = ObjectText::with_capacity(400 + arn.len() * 2 + s.input_text.len() * 4);
        out.str("executionArn", arn);
        out.str("stateMachineArn", &s.machine_arn);
        out.str("name", r.execution.name());
        out.timestamp("startDate", r.start_ms);
        out.timestamp("stopDate", r.stop_ms);
        out.str("status", r.outcome.status.as_str());
        if included {
            // The input as the request wrote it, when that is how it is written back.
            match i.written("input") {
                Some(written) => out.written_str("input", written),
                None => out.str("input", s.input_text),
            }
        }
        let details = match included {
            true => r#"{"included":true}"#,
            false => r#"{"included":false}"#,
        };
        out.raw("inputDetails", details);
        if let Some(o) = &output {
            out.value_string("output", o);
        }
        out.raw("outputDetails", details);
        if let Some(f) = &r.outcome.failure {
            out.str("error", &f.error);
            if !f.cause.is_empty() {
                out.str("cause", &f.cause);
            }
        }
        if let Some(t) = &s.trace_header {
            out.str("traceHeader", t);
        }
        let elapsed = r.stop_ms.saturating_sub(r.start_ms);
        let billed = elapsed.div_ceil(BILLING_STEP_MS).max(1) * BILLING_STEP_MS;
        out.nested("billingDetails", |b| {
            b.integer("billedDurationInMilliseconds", billed);
            b.integer("billedMemoryUsedInMB", 64);
        });
        // Noted once the answer is written, so that the page's entry takes the ARN itself.
        // Only a failure's error and cause may be hidden: a success needs no look-up.
        let shows_data = r.outcome.status != Status::Succeeded && self.page_shows_data(&s.machine);
        self.recent.note(page::Ended {
            machine: &s.machine,
            arn: Cow::Owned(ExecutionInfo::into_arn(r.execution)),
            outcome: &r.outcome,
            start_ms: r.start_ms,
            stop_ms: r.stop_ms,
            execution_data: shows_data,
        });
        Ok(out.finish())
    }

    /// What the durable intake reports of each execution it pulled and ran, and the engine of
    /// each nested child it started (`states:startExecution`): the live page's last
    /// executions, as for those started here.
    pub fn intake_observer(self: &Arc<Api>) -> Observer {
        let api = Arc::downgrade(self);
        Arc::new(move |ended: &Ended| {
            let Some(api) = api.upgrade() else { return };
            let machine = &ended.execution.state_machine_name;
            api.recent.note(page::Ended {
                machine,
                arn: Cow::Borrowed(ended.execution.arn()),
                outcome: &ended.outcome,
                start_ms: ended.start_ms,
                stop_ms: ended.stop_ms,
                execution_data: api.page_shows_data(machine),
            });
        })
    }

    /// A STANDARD start: retained, answered at once (the same name and input of a running
    /// execution answer it again).
    fn start_standard(
        &self,
        s: Start,
        mock: Option<crate::tasks::mock::Guard>,
    ) -> Result<Value, ApiError> {
        let (recent, machine) = (self.recent.clone(), s.machine.clone());
        let shows_data = self.page_shows_data(&s.machine);
        let start = StandardStart {
            name: s.name,
            input: s.input,
            input_text: s.input_text.to_owned(),
            version_arn: s.version_arn,
            alias_arn: s.alias_arn,
        };
        let started = self
            .engine
            .start_standard(s.resolved, start, move |e| {
                drop(mock);
                if let Now::Ended(end) = e.now() {
                    recent.note(page::Ended {
                        machine: &machine,
                        arn: Cow::Borrowed(&e.arn),
                        outcome: &end.outcome,
                        start_ms: e.start_ms,
                        stop_ms: end.stop_ms,
                        execution_data: shows_data,
                    });
                }
            })
            .map_err(|e| start_error(e, &s.machine_arn))?;
        let e = match started {
            Started::New(e) | Started::Again(e) => e,
        };
        Ok(json!({"executionArn": e.arn, "startDate": timestamp(e.start_ms)}))
    }

    /// The retained execution an `executionArn` names: an Express ARN is AWS's `InvalidArn`,
    /// an unknown one `ExecutionDoesNotExist`.
    fn retained(&self, i: &Input<'_>) -> Result<Arc<Execution>, ApiError> {
        let text = i.required("executionArn")?;
        let arn = Arn::parse(text)?;
        if arn.resource_type == "express" {
            return Err(ApiError::new(
                "InvalidArn",
                "Invalid Arn: 'Resource type not valid in this context: express'",
            ));
        }
        let arn = arn.expect("execution")?;
        self.engine.executions().get(text).ok_or_else(|| {
            ApiError::new(
                "ExecutionDoesNotExist",
                format!(
                    "Execution Does Not Exist: '{text}'{}",
                    self.elsewhere(&arn).unwrap_or_default()
                ),
            )
        })
    }

    pub(super) fn describe_execution(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let e = self.retained(i)?;
        let included = included_data(i)?;
        let now = e.now();
        let mut out = json!({
            "executionArn": e.arn,
            "stateMachineArn": e.machine.arn.as_str(),
            "name": e.name,
            "status": status_name(&now),
            "startDate": timestamp(e.start_ms),
        });
        if let Some(v) = &e.version_arn {
            out["stateMachineVersionArn"] = v.clone().into();
        }
        if let Some(a) = &e.alias_arn {
            out["stateMachineAliasArn"] = a.clone().into();
        }
        if let Now::Ended(end) = &now {
            out["stopDate"] = timestamp(end.stop_ms);
        }
        if included {
            out["input"] = e.input_text.clone().into();
        }
        out["inputDetails"] = json!({ "included": included });
        if let Now::Ended(end) = &now {
            let o = &end.outcome;
            if o.status == Status::Succeeded {
                if included {
                    if let Some(v) = &o.output {
                        out["output"] = v.to_string().into();
                    }
                }
                out["outputDetails"] = json!({ "included": included });
            }
            if let Some(f) = &o.failure {
                if !f.error.is_empty() && o.status != Status::TimedOut {
                    out["error"] = f.error.clone().into();
                }
                if !f.cause.is_empty() && o.status != Status::TimedOut {
                    out["cause"] = f.cause.clone().into();
                }
            }
        }
        let (count, redriven) = e.redrives();
        out["redriveCount"] = count.into();
        if let Some(at) = redriven {
            out["redriveDate"] = timestamp(at);
        }
        match e.redrivable(self.engine.now_ms()) {
            Redrivable::Yes => out["redriveStatus"] = "REDRIVABLE".into(),
            Redrivable::No(why) => {
                out["redriveStatus"] = "NOT_REDRIVABLE".into();
                out["redriveStatusReason"] = why.into();
            }
        }
        Ok(out)
    }

    pub(super) async fn stop_execution(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let error = i.bounded("error", 256)?.map(str::to_owned);
        let cause = i.bounded("cause", 32768)?.map(str::to_owned);
        let e = self.retained(i)?;
        if e.request_stop(error, cause) {
            // The driver's future is dropped at once; the execution is recorded as ended
            // before this answers, so a DescribeExecution that follows sees ABORTED.
            e.finished().await;
        }
        let stop_ms = match e.now() {
            Now::Ended(end) => end.stop_ms,
            Now::Running => self.engine.now_ms(),
        };
        Ok(json!({ "stopDate": timestamp(stop_ms) }))
    }

    pub(super) fn get_execution_history(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let e = self.retained(i)?;
        let max = match i.integer("maxResults")? {
            None | Some(0) => 100,
            Some(n @ 1..=1000) => n as usize,
            Some(n) => return Err(max_results(n)),
        };
        let reverse = i.bool("reverseOrder")?.unwrap_or(false);
        let data = i.bool("includeExecutionData")?.unwrap_or(true);
        let from = match i.bounded("nextToken", 1024)? {
            None => 0,
            Some(t) => decode_position(t)?,
        };
        let history = e.history();
        let ordered: Vec<&HistoryEvent> = if reverse {
            history.iter().rev().collect()
        } else {
            history.iter().collect()
        };
        let page: Vec<Value> = ordered
            .iter()
            .skip(from)
            .take(max)
            .map(|ev| history_event(ev, data))
            .collect();
        let mut out = json!({ "events": page });
        if from.saturating_add(max) < ordered.len() {
            out["nextToken"] = encode_position(from.saturating_add(max)).into();
        }
        Ok(out)
    }

    pub(super) fn describe_state_machine_for_execution(
        &self,
        i: &Input<'_>,
    ) -> Result<Value, ApiError> {
        let e = self.retained(i)?;
        let m = &e.machine;
        let mut out = json!({
            "stateMachineArn": m.arn.as_str(),
            "name": &*m.name,
            "definition": m.definition,
            "roleArn": &*m.role_arn,
            "updateDate": timestamp(m.updated_ms),
            "loggingConfiguration": super::machines::logging_value(&m.logging),
            "tracingConfiguration": {"enabled": m.tracing},
        });
        if let Some(r) = &m.revision_id {
            out["revisionId"] = r.clone().into();
        }
        Ok(out)
    }

    /// `RedriveExecution`: a STANDARD execution that ended FAILED, TIMED_OUT or ABORTED in
    /// the last 14 days runs again from its unsuccessful state (`Engine::redrive_standard`);
    /// anything else is AWS's `ExecutionNotRedrivable`, with the reason DescribeExecution
    /// gives. An Express execution is never retained, so never redrivable.
    pub(super) fn redrive_execution(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let text = i.required("executionArn")?;
        if Arn::parse(text)?.resource_type == "express" {
            return Err(ApiError::new(
                "ExecutionNotRedrivable",
                "This API action is not supported by EXPRESS state machines",
            ));
        }
        let client_token = i.bounded("clientToken", 64)?;
        let e = self.retained(i)?;
        let recent = self.recent.clone();
        let machine = e.machine.name.clone();
        let shows_data = self.page_shows_data(&machine);
        let redrive_ms = self
            .engine
            .redrive_standard(&e, client_token, move |e| {
                if let Now::Ended(end) = e.now() {
                    recent.note(page::Ended {
                        machine: &machine,
                        arn: Cow::Borrowed(&e.arn),
                        outcome: &end.outcome,
                        start_ms: e.start_ms,
                        stop_ms: end.stop_ms,
                        execution_data: shows_data,
                    });
                }
            })
            .map_err(|err| match err {
                RedriveError::NotRedrivable(why) => ApiError::new("ExecutionNotRedrivable", why),
                RedriveError::ExecutionLimitExceeded(_) => {
                    ApiError::new("ExecutionLimitExceeded", err.to_string())
                }
                RedriveError::ShuttingDown => {
                    ApiError::new("ServiceUnavailable", "statejet is shutting down")
                        .with_status(503)
                }
            })?;
        Ok(json!({ "redriveDate": timestamp(redrive_ms) }))
    }

    pub(super) fn list_executions(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn = match (i.string("stateMachineArn")?, i.string("mapRunArn")?) {
            (Some(arn), None) => arn,
            (None, Some(arn)) => {
                Arn::parse(arn)?.expect("mapRun")?;
                return Err(ApiError::new(
                    "ResourceNotFound",
                    format!("Resource not found: '{arn}'"),
                ));
            }
            _ => {
                return Err(ApiError::new(
                    "ValidationException",
                    "Exactly one of stateMachineArn and mapRunArn must be given",
                ))
            }
        };
        let target = self.start_target(arn)?;
        if target.machine.machine_type != MachineType::Standard {
            return Err(ApiError::new(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        let status = match i.string("statusFilter")? {
            None => None,
            Some(s @ ("RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED")) => Some(s),
            Some("PENDING_REDRIVE") => {
                return Err(ApiError::new(
                    "ValidationException",
                    "The PENDING_REDRIVE status filter is only valid with a mapRunArn",
                ))
            }
            Some(other) => {
                return Err(ApiError::constraint(
                    &format!("'{other}'"),
                    "statusFilter",
                    "Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]",
                ))
            }
        };
        let max = match i.integer("maxResults")? {
            None | Some(0) => 100,
            Some(n @ 1..=1000) => n as usize,
            Some(n) => return Err(max_results(n)),
        };
        let before = match i.bounded("nextToken", 3096)? {
            None => None,
            Some(t) => Some(decode_position(t)? as u64),
        };
        let redriven = match i.string("redriveFilter")? {
            None => None,
            Some("REDRIVEN") => Some(true),
            Some("NOT_REDRIVEN") => Some(false),
            Some(other) => {
                return Err(ApiError::constraint(
                    &format!("'{other}'"),
                    "redriveFilter",
                    "Member must satisfy enum value set: [REDRIVEN, NOT_REDRIVEN]",
                ))
            }
        };
        let qualified = (target.version_arn.clone(), target.alias_arn.clone());
        let (page, next) = self
            .engine
            .executions()
            .list(&target.machine.name, before, max, |e| {
                status.is_none_or(|s| status_name(&e.now()) == s)
                    && redriven.is_none_or(|r| (e.redrives().0 > 0) == r)
                    && match &qualified {
                        (_, Some(alias)) => e.alias_arn.as_ref() == Some(alias),
                        (Some(version), None) => e.version_arn.as_ref() == Some(version),
                        (None, None) => true,
                    }
            });
        let items: Vec<Value> = page
            .iter()
            .map(|e| {
                let now = e.now();
                let mut item = json!({
                    "executionArn": e.arn,
                    "stateMachineArn": e.machine.arn.as_str(),
                    "name": e.name,
                    "status": status_name(&now),
                    "startDate": timestamp(e.start_ms),
                });
                if let Now::Ended(end) = &now {
                    item["stopDate"] = timestamp(end.stop_ms);
                }
                if let Some(v) = &e.version_arn {
                    item["stateMachineVersionArn"] = v.clone().into();
                }
                if let Some(a) = &e.alias_arn {
                    item["stateMachineAliasArn"] = a.clone().into();
                }
                let (count, redriven) = e.redrives();
                item["redriveCount"] = count.into();
                if let Some(at) = redriven {
                    item["redriveDate"] = timestamp(at);
                }
                item
            })
            .collect();
        let mut out = json!({ "executions": items });
        if let Some(n) = next {
            out["nextToken"] = encode_position(n as usize).into();
        }
        Ok(out)
    }
}

/// `includedData` of DescribeExecution and StartSyncExecution: whether input and output are
/// included.
fn included_data(i: &Input<'_>) -> Result<bool, ApiError> {
    match i.string("includedData")?.unwrap_or("ALL_DATA") {
        "ALL_DATA" => Ok(true),
        "METADATA_ONLY" => Ok(false),
        other => Err(ApiError::constraint(
            &format!("'{other}'"),
            "includedData",
            "Member must satisfy enum value set: [ALL_DATA, METADATA_ONLY]",
        )),
    }
}

fn max_results(n: i64) -> ApiError {
    ApiError::constraint(
        &format!("'{n}'"),
        "maxResults",
        "Member must have value less than or equal to 1000",
    )
}

/// A paging token: a position, base64-encoded.
fn encode_position(n: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(n.to_string())
}

fn decode_position(token: &str) -> Result<usize, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::new("InvalidToken", format!("Invalid Token: '{token}'")))
}

/// The member of a history event that holds its details (`None`: AWS records none).
fn details_key(kind: EventType) -> Option<String> {
    use EventType::*;
    let name = kind.as_str();
    if name.ends_with("StateEntered") {
        return Some("stateEnteredEventDetails".into());
    }
    if name.ends_with("StateExited") {
        return Some("stateExitedEventDetails".into());
    }
    match kind {
        ParallelStateStarted
        | ParallelStateSucceeded
        | ParallelStateFailed
        | MapStateSucceeded
        | MapStateFailed
        | LambdaFunctionStarted => None,
        _ => {
            let mut key = name[..1].to_ascii_lowercase();
            key.push_str(&name[1..]);
            key.push_str("EventDetails");
            Some(key)
        }
    }
}

/// One history event as `GetExecutionHistory` answers it; without execution data, the
/// payloads (input, output and their details) are left out, as the logs leave them out.
fn history_event(e: &HistoryEvent, data: bool) -> Value {
    let mut out = json!({
        "timestamp": timestamp(e.timestamp_ms),
        "type": e.kind.as_str(),
        "id": e.id,
        "previousEventId": e.previous_event_id,
    });
    if let Some(key) = details_key(e.kind) {
        let mut details = e.details.as_object().cloned().unwrap_or_else(Map::new);
        if !data {
            for k in ["input", "inputDetails", "output", "outputDetails"] {
                details.remove(k);
            }
        }
        out[key] = Value::Object(details);
    }
    out
}

fn start_error(e: StartError, machine_arn: &str) -> ApiError {
    match e {
        StartError::StateMachineDoesNotExist(_) => ApiError::new(
            "StateMachineDoesNotExist",
            format!("State Machine Does Not Exist: '{machine_arn}'"),
        ),
        StartError::Throttled(_) => ApiError::new("ThrottlingException", "Rate exceeded"),
        StartError::ExecutionAlreadyExists(arn) => ApiError::new(
            "ExecutionAlreadyExists",
            format!("Execution Already Exists: '{arn}'"),
        ),
        StartError::ShuttingDown => {
            ApiError::new("ServiceUnavailable", "statejet is shutting down").with_status(503)
        }
    }
}
