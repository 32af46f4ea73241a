//! Execution operations, as AWS answers them for Express state machines: `StartSyncExecution`
//! returns the whole result (HTTP 200 even when the execution failed), `StartExecution` returns
//! the ARN at once and the result goes to the logs, and the operations that need a stored
//! history (`DescribeExecution`, `StopExecution`, `GetExecutionHistory`, `ListExecutions`) give
//! AWS's Express refusals.
//!
//! Invariant: nothing about an execution is kept here; what a caller learns of it comes in the
//! answer to the call that started it, or from the logs.

use serde_json::{json, Value};

use super::wire::{check_name, timestamp, ApiError, Arn, Input};
use super::{page, Api};
use crate::runtime::engine::StartError;
use crate::runtime::Status;

/// The largest execution input, in bytes of UTF-8.
const MAX_INPUT_BYTES: usize = 262_144;

/// AWS bills Express executions in 100 ms steps.
const BILLING_STEP_MS: u64 = 100;

/// What a start request names: the machine, the execution's name and its input.
struct Start {
    machine: String,
    machine_arn: String,
    name: Option<String>,
    input_text: String,
    input: Value,
    trace_header: Option<String>,
}

impl Api {
    fn start_request(&self, i: &Input, trace: Option<&str>) -> Result<Start, ApiError> {
        let machine_arn = i.required("stateMachineArn")?;
        let arn = Arn::parse(machine_arn)?;
        if arn.resource_type == "stateMachine" && arn.rest.contains('/') {
            return Err(ApiError::new(
                "ValidationException",
                format!("Invalid Arn: a Map Run label cannot be started: '{machine_arn}'"),
            ));
        }
        // The name is all a start needs: the engine starts what the registry holds then.
        let machine = self.machine(machine_arn)?.name.clone();
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
        let input: Value = serde_json::from_str(input_text).map_err(|e| {
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
            machine_arn: self.scope.state_machine(&machine),
            machine,
            name: name.map(str::to_owned),
            input_text: input_text.to_owned(),
            input,
            trace_header,
        })
    }

    pub(super) fn start_execution(
        &self,
        i: &Input,
        trace: Option<&str>,
    ) -> Result<Value, ApiError> {
        let s = self.start_request(i, trace)?;
        let start_ms = self.engine.now_ms();
        let (recent, engine, machine) =
            (self.recent.clone(), self.engine.clone(), s.machine.clone());
        let shows_data = self.page_shows_data(&s.machine);
        let arn = self
            .engine
            .start(&s.machine, s.name, s.input, move |arn, outcome| {
                recent.note(page::Ended {
                    machine: &machine,
                    arn: &arn,
                    outcome: &outcome,
                    start_ms,
                    stop_ms: engine.now_ms(),
                    execution_data: shows_data,
                });
            })
            .map_err(|e| start_error(e, &s.machine_arn))?;
        Ok(json!({"executionArn": arn, "startDate": timestamp(start_ms)}))
    }

    pub(super) async fn start_sync_execution(
        &self,
        i: &Input,
        trace: Option<&str>,
    ) -> Result<Value, ApiError> {
        let s = self.start_request(i, trace)?;
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
        let r = self
            .engine
            .start_sync(&s.machine, s.name, s.input)
            .await
            .map_err(|e| start_error(e, &s.machine_arn))?;
        let shows_data = self.page_shows_data(&s.machine);
        self.recent.note(page::Ended {
            machine: &s.machine,
            arn: &r.execution_arn,
            outcome: &r.outcome,
            start_ms: r.start_ms,
            stop_ms: r.stop_ms,
            execution_data: shows_data,
        });
        let mut out = json!({
            "executionArn": r.execution_arn,
            "stateMachineArn": s.machine_arn,
            "name": r.name,
            "startDate": timestamp(r.start_ms),
            "stopDate": timestamp(r.stop_ms),
            "status": r.outcome.status.as_str(),
        });
        if included {
            out["input"] = s.input_text.into();
        }
        out["inputDetails"] = json!({ "included": included });
        if r.outcome.status == Status::Succeeded && included {
            if let Some(o) = &r.outcome.output {
                out["output"] = o.to_string().into();
            }
        }
        out["outputDetails"] = json!({ "included": included });
        if let Some(f) = &r.outcome.failure {
            out["error"] = f.error.clone().into();
            if !f.cause.is_empty() {
                out["cause"] = f.cause.clone().into();
            }
        }
        if let Some(t) = s.trace_header {
            out["traceHeader"] = t.into();
        }
        let elapsed = r.stop_ms.saturating_sub(r.start_ms);
        let billed = elapsed.div_ceil(BILLING_STEP_MS).max(1) * BILLING_STEP_MS;
        out["billingDetails"] =
            json!({"billedDurationInMilliseconds": billed, "billedMemoryUsedInMB": 64});
        Ok(out)
    }

    /// `DescribeExecution`, `StopExecution`, `GetExecutionHistory` and
    /// `DescribeStateMachineForExecution`: an Express execution has no stored record, and AWS
    /// refuses its ARN; no other execution exists here.
    pub(super) fn execution_record(&self, i: &Input) -> Result<Value, ApiError> {
        let text = i.required("executionArn")?;
        let arn = Arn::parse(text)?;
        if arn.resource_type == "express" {
            return Err(ApiError::new(
                "InvalidArn",
                "Invalid Arn: 'Resource type not valid in this context: express'",
            ));
        }
        arn.expect("execution")?;
        Err(ApiError::new(
            "ExecutionDoesNotExist",
            format!("Execution Does Not Exist: '{text}'"),
        ))
    }

    pub(super) fn list_executions(&self, i: &Input) -> Result<Value, ApiError> {
        match (i.string("stateMachineArn")?, i.string("mapRunArn")?) {
            (Some(arn), None) => {
                self.machine(arn)?;
                Err(ApiError::new(
                    "StateMachineTypeNotSupported",
                    "This operation is not supported by this type of state machine",
                ))
            }
            (None, Some(arn)) => {
                Arn::parse(arn)?.expect("mapRun")?;
                Err(ApiError::new(
                    "ResourceNotFound",
                    format!("Resource not found: '{arn}'"),
                ))
            }
            _ => Err(ApiError::new(
                "ValidationException",
                "Exactly one of stateMachineArn and mapRunArn must be given",
            )),
        }
    }
}

fn start_error(e: StartError, machine_arn: &str) -> ApiError {
    match e {
        StartError::StateMachineDoesNotExist(_) => ApiError::new(
            "StateMachineDoesNotExist",
            format!("State Machine Does Not Exist: '{machine_arn}'"),
        ),
        StartError::Throttled(_) => ApiError::new("ThrottlingException", "Rate exceeded"),
        StartError::ShuttingDown => {
            ApiError::new("ServiceUnavailable", "statejet is shutting down").with_status(503)
        }
    }
}
