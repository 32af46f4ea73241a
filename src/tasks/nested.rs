//! Nested workflows: `arn:aws:states:::states:startExecution` (request-response, `.sync`,
//! `.sync:2`, `.waitForTaskToken`). What both ways of running a child share lives here: its
//! parameters, the start's result, and the `.sync` result and failure shaped as AWS records
//! them. A machine of this server runs in its engine (`Local`, the runtime's); any other goes
//! through the Step Functions endpoint (`aws::sync`).
//!
//! Invariant: a child's ending is reported in one shape whichever way it ran: `.sync` answers
//! DescribeExecution's fields with `Output` as text, `.sync:2` with `Input`/`Output` as JSON,
//! and a child that did not succeed fails the parent's task with `States.TaskFailed`.

use serde_json::{json, Map, Value};

use crate::value::Value as Payload;

use super::{Resource, TaskResult};
use crate::vm::run::{json_text, Invocation};
use crate::vm::Failure;

/// What starts executions of this server's own state machines: the engine.
pub trait Local: Resource {
    /// Whether `inv` is a `states:startExecution` of a machine (or version, or alias) this
    /// server has.
    fn takes(&self, inv: &Invocation) -> bool;
}

/// Whether `inv` is a `states:startExecution` task, and the machine ARN it names.
pub fn start_execution_target(inv: &Invocation) -> Option<&str> {
    match &inv.resource.kind {
        crate::asl::machine::ResourceKind::Service {
            service, action, ..
        } if service == "states" && action == "startExecution" => {
            inv.payload.get("StateMachineArn").and_then(Payload::as_str)
        }
        _ => None,
    }
}

/// Whether the task is `.sync:2` (the child's input and output as JSON).
pub fn json_output(inv: &Invocation) -> bool {
    inv.resource.arn.ends_with(".sync:2")
}

/// A start's parameters, read as Step Functions reads them.
#[derive(Debug, Clone)]
pub struct StartParams {
    pub state_machine_arn: String,
    /// The child's input text: a string is the text itself, any other JSON value its JSON
    /// text, none (or null) `{}`.
    pub input_text: String,
    pub name: Option<String>,
}

impl StartParams {
    pub fn read(inv: &Invocation) -> Result<StartParams, Failure> {
        let p = &inv.payload;
        let Some(arn) = p.get("StateMachineArn").and_then(Payload::as_str) else {
            return Err(Failure::new(
                "States.Runtime",
                format!(
                    "The state '{}' (arn:aws:states:::states:startExecution) needs the field 'StateMachineArn', a string",
                    inv.state
                ),
            ));
        };
        let input_text = match p.get("Input") {
            None | Some(Payload::Null) => "{}".to_owned(),
            Some(Payload::String(s)) => s.to_string(),
            Some(v) => json_text(v),
        };
        let name = match p.get("Name") {
            None | Some(Payload::Null) => None,
            Some(Payload::String(s)) => Some(s.to_string()),
            Some(other) => {
                return Err(Failure::new(
                    "States.Runtime",
                    format!(
                        "The state '{}': the field 'Name' of states:startExecution must be a string, not {other}",
                        inv.state
                    ),
                ))
            }
        };
        Ok(StartParams {
            state_machine_arn: arn.to_owned(),
            input_text,
            name,
        })
    }

    /// The parameters of the Step Functions API's StartExecution (the aws-sdk casing).
    pub fn api(&self, inv: &Invocation) -> Value {
        let mut p = json!({"StateMachineArn": self.state_machine_arn, "Input": self.input_text});
        if let Some(n) = &self.name {
            p["Name"] = json!(n);
        }
        if let Some(t) = inv.payload.get("TraceHeader") {
            p["TraceHeader"] = t.to_serde();
        }
        p
    }
}

/// A child execution as DescribeExecution describes it.
#[derive(Debug, Clone, Default)]
pub struct Described {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    pub start_ms: u64,
    pub stop_ms: Option<u64>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub redrive_count: Option<u64>,
    pub redrive_status: Option<String>,
    pub redrive_status_reason: Option<String>,
}

impl Described {
    pub fn running(&self) -> bool {
        self.status == "RUNNING" || self.status == "PENDING_REDRIVE"
    }

    /// The description in AWS's `.sync` shape (keys alphabetical, dates in epoch
    /// milliseconds as the Java SDK writes them); `json`: `.sync:2`'s parsed Input/Output.
    fn value(&self, json: bool) -> Value {
        let text_or_json = |t: &str| {
            if json {
                serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned()))
            } else {
                Value::String(t.to_owned())
            }
        };
        let mut m = Map::new();
        if let Some(c) = &self.cause {
            m.insert("Cause".into(), json!(c));
        }
        if let Some(e) = &self.error {
            m.insert("Error".into(), json!(e));
        }
        m.insert("ExecutionArn".into(), json!(self.execution_arn));
        if let Some(i) = &self.input {
            m.insert("Input".into(), text_or_json(i));
            m.insert("InputDetails".into(), json!({"Included": true}));
        }
        m.insert("Name".into(), json!(self.name));
        if let Some(o) = &self.output {
            m.insert("Output".into(), text_or_json(o));
            m.insert("OutputDetails".into(), json!({"Included": true}));
        }
        if let Some(n) = self.redrive_count {
            m.insert("RedriveCount".into(), json!(n));
        }
        if let Some(s) = &self.redrive_status {
            m.insert("RedriveStatus".into(), json!(s));
        }
        if let Some(r) = &self.redrive_status_reason {
            m.insert("RedriveStatusReason".into(), json!(r));
        }
        m.insert("StartDate".into(), json!(self.start_ms));
        m.insert("StateMachineArn".into(), json!(self.state_machine_arn));
        m.insert("Status".into(), json!(self.status));
        if let Some(s) = self.stop_ms {
            m.insert("StopDate".into(), json!(s));
        }
        Value::Object(m)
    }

    /// The `.sync` task's result for an ended child: its description if it succeeded, else
    /// `States.TaskFailed` with the description as the cause (the child's own error and cause
    /// inside it), as AWS records it.
    pub fn sync_result(&self, json: bool) -> TaskResult {
        let v = self.value(json);
        if self.status == "SUCCEEDED" {
            return Ok(v.into());
        }
        Err(Failure::new("States.TaskFailed", json_text(&v)))
    }
}

/// The request-response result of a start: the new execution's ARN and start date (epoch
/// milliseconds), with the HTTP metadata of StartExecution's answer.
pub fn started(execution_arn: &str, start_ms: u64, headers: &[(String, String)]) -> Value {
    let mut all = Map::new();
    let mut single = Map::new();
    for (k, v) in headers {
        all.insert(k.clone(), json!([v]));
        single.insert(k.clone(), json!(v));
    }
    let id = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-RequestId"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    json!({
        "ExecutionArn": execution_arn,
        "SdkHttpMetadata": {"AllHttpHeaders": all, "HttpHeaders": single, "HttpStatusCode": 200},
        "SdkResponseMetadata": {"RequestId": id},
        "StartDate": start_ms,
    })
}

/// A refused start, named and worded as the Java SDK v1 reports Step Functions' errors.
pub fn start_failure(code: &str, message: &str, request_id: &str) -> Failure {
    let name = if code.ends_with("Exception") {
        format!("StepFunctions.{code}")
    } else {
        format!("StepFunctions.{code}Exception")
    };
    Failure::new(
        name,
        format!("{message} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; Request ID: {request_id}; Proxy: null)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(status: &str) -> Described {
        Described {
            execution_arn: "arn:aws:states:us-east-1:111111111111:execution:child:TestStartTarget"
                .into(),
            state_machine_arn: "arn:aws:states:us-east-1:111111111111:stateMachine:child".into(),
            name: "TestStartTarget".into(),
            status: status.into(),
            start_ms: 1_790_676_767_025,
            stop_ms: Some(1_790_676_767_999),
            input: Some("{}".into()),
            ..Described::default()
        }
    }

    /// The shapes AWS recorded (../shared/conformance/cases/test_callback__test_start_execution_sync*).
    #[test]
    fn sync_results_have_aws_shapes() {
        let mut ok = child("SUCCEEDED");
        ok.output = Some(r#"{"Arg1":"argument1"}"#.into());
        let text = ok.sync_result(false).unwrap();
        assert_eq!(
            json_text(&text),
            r#"{"ExecutionArn":"arn:aws:states:us-east-1:111111111111:execution:child:TestStartTarget","Input":"{}","InputDetails":{"Included":true},"Name":"TestStartTarget","Output":"{\"Arg1\":\"argument1\"}","OutputDetails":{"Included":true},"StartDate":1790676767025,"StateMachineArn":"arn:aws:states:us-east-1:111111111111:stateMachine:child","Status":"SUCCEEDED","StopDate":1790676767999}"#
        );
        let parsed = ok.sync_result(true).unwrap();
        assert_eq!(parsed["Input"], json!({}));
        assert_eq!(parsed["Output"], json!({"Arg1": "argument1"}));

        let mut failed = child("FAILED");
        failed.error = Some("SomeFailure".into());
        failed.cause = Some("This state machines raises a 'SomeFailure' failure.".into());
        let f = failed.sync_result(false).unwrap_err();
        assert_eq!(f.error, "States.TaskFailed");
        assert!(f.cause.starts_with(
            r#"{"Cause":"This state machines raises a 'SomeFailure' failure.","Error":"SomeFailure","ExecutionArn":"#
        ));
        // A child whose task timed out: its error only, and the parent's task still TaskFailed.
        let mut timed_out = child("FAILED");
        timed_out.error = Some("States.Timeout".into());
        let f = timed_out.sync_result(false).unwrap_err();
        assert_eq!(f.error, "States.TaskFailed");
        assert!(f
            .cause
            .starts_with(r#"{"Error":"States.Timeout","ExecutionArn":"#));
        assert!(!f.cause.contains("Output"));
    }

    #[test]
    fn refused_starts_are_named_as_the_java_sdk_does() {
        let f = start_failure(
            "StateMachineDoesNotExist",
            "State Machine Does Not Exist: 'arn:x'",
            "r-1",
        );
        assert_eq!(f.error, "StepFunctions.StateMachineDoesNotExistException");
        assert_eq!(f.cause, "State Machine Does Not Exist: 'arn:x' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: r-1; Proxy: null)");
    }
}
