//! Nested workflows of this server: `states:startExecution` of a machine (or version, or
//! alias) the engine's registry has starts the child in the same engine, with no HTTP hop. A
//! STANDARD child is retained like any other execution (DescribeExecution, history,
//! StopExecution); `.sync` and `.sync:2` await its end as a future (no thread is held).
//!
//! Invariant: a `.sync` task never outlives its child silently: when the parent stops waiting
//! (its stop, a timeout, a failing sibling) a running STANDARD child is stopped, as AWS does.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::engine::{new_uuid, StandardStart, StartError, WeakEngine};
use super::executions::{Execution, Now, Started};
use super::registry::Machine;
use super::Status;
use crate::arn::Identity;
use crate::asl::machine::{IntegrationPattern, ResourceKind};
use crate::asl::MachineType;
use crate::tasks::nested::{self, Described, Local, StartParams};
use crate::tasks::{Answer, Resource, TaskResult};
use crate::vm::context::ExecutionInfo;
use crate::vm::run::{task_resource, text, EventType, Invocation};
use crate::vm::Failure;

/// The engine's nested workflows (held by its router, so the engine weakly).
pub struct Children {
    engine: WeakEngine,
}

impl Children {
    pub(super) fn new(engine: WeakEngine) -> Children {
        Children { engine }
    }
}

/// What a machine ARN starts here: the revision or version, and the ARNs it went through.
struct Target {
    machine: Arc<Machine>,
    version_arn: Option<String>,
    alias_arn: Option<String>,
}

impl Children {
    /// The machine `arn` names on this server: `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`
    /// in the engine's region and account, optionally `:VERSION` or `:ALIAS`.
    fn target(&self, arn: &str) -> Option<Target> {
        let engine = self.engine.upgrade()?;
        let scope = engine.scope();
        let prefix = format!(
            "arn:aws:states:{}:{}:stateMachine:",
            scope.region, scope.account
        );
        let rest = arn.strip_prefix(&prefix)?;
        let (name, qualifier) = match rest.split_once(':') {
            Some((n, q)) => (n, Some(q)),
            None => (rest, None),
        };
        let registry = engine.registry();
        let machine = registry.get(name)?;
        match qualifier {
            None => Some(Target {
                machine,
                version_arn: None,
                alias_arn: None,
            }),
            Some(q) => {
                let (number, alias_arn) = match q.parse::<u32>() {
                    Ok(n) => (n, None),
                    Err(_) => {
                        let alias = registry.alias(name, q)?;
                        (alias.pick(), Some(alias.arn))
                    }
                };
                let v = registry.version(name, number)?;
                Some(Target {
                    machine: v.machine.clone(),
                    version_arn: Some(v.arn.clone()),
                    alias_arn,
                })
            }
        }
    }
}

impl Local for Children {
    fn takes(&self, inv: &Invocation) -> bool {
        nested::start_execution_target(inv).is_some_and(|arn| self.target(arn).is_some())
    }
}

impl Resource for Children {
    fn call(&self, inv: Invocation, _limit: Duration) -> Answer {
        let child = match self.start(&inv) {
            Ok(child) => child,
            Err(f) => return Answer::Now(Err(f)),
        };
        // StartExecution's answer, with the headers this server's API would send with it.
        let body = json!({"executionArn": child.arn, "startDate": child.start_ms as f64 / 1000.0});
        let date = chrono::DateTime::from_timestamp_millis(child.start_ms as i64)
            .map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
            .unwrap_or_default();
        let started = nested::started(
            &child.arn,
            child.start_ms,
            &[
                ("x-amzn-RequestId".to_owned(), child.request_id.clone()),
                (
                    "Content-Length".to_owned(),
                    body.to_string().len().to_string(),
                ),
                ("Date".to_owned(), date),
                (
                    "Content-Type".to_owned(),
                    "application/x-amz-json-1.0".to_owned(),
                ),
            ],
        );
        match &inv.resource.kind {
            ResourceKind::Service {
                pattern: IntegrationPattern::Sync,
                ..
            } => {
                let (resource_type, resource) = task_resource(&inv.resource);
                inv.progress.record(
                    EventType::TaskSubmitted,
                    json!({"resourceType": resource_type, "resource": resource,
                        "output": text(&started), "outputDetails": {"truncated": false}}),
                );
                let json = nested::json_output(&inv);
                Answer::Later(Box::pin(child.finish(json)))
            }
            _ => Answer::Now(Ok(started.into())),
        }
    }
}

/// A started child, awaited by a `.sync` task.
struct Child {
    arn: String,
    start_ms: u64,
    request_id: String,
    ending: Ending,
}

enum Ending {
    /// A retained STANDARD execution.
    Standard(Arc<Execution>),
    /// An EXPRESS one, whose outcome arrives once.
    Express {
        machine_arn: String,
        name: String,
        input_text: String,
        rx: tokio::sync::oneshot::Receiver<(super::Outcome, u64)>,
    },
}

/// Stops a STANDARD child whose parent stopped waiting for it (dropped unless disarmed).
struct StopOnDrop(Option<Arc<Execution>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(e) = self.0.take() {
            e.request_stop(None, None);
        }
    }
}

impl Child {
    async fn finish(self, json: bool) -> TaskResult {
        match self.ending {
            Ending::Standard(e) => {
                let mut guard = StopOnDrop(Some(e.clone()));
                e.finished().await;
                guard.0 = None;
                describe_standard(&e)
                    .ok_or_else(|| engine_gone(&e.arn))?
                    .sync_result(json)
            }
            Ending::Express {
                machine_arn,
                name,
                input_text,
                rx,
            } => {
                let (outcome, stop_ms) = rx.await.map_err(|_| engine_gone(&self.arn))?;
                let mut d = Described {
                    execution_arn: self.arn,
                    state_machine_arn: machine_arn,
                    name,
                    status: outcome.status.as_str().to_owned(),
                    start_ms: self.start_ms,
                    stop_ms: Some(stop_ms),
                    input: Some(input_text),
                    ..Described::default()
                };
                fill_outcome(&mut d, &outcome);
                d.sync_result(json)
            }
        }
    }
}

fn engine_gone(arn: &str) -> Failure {
    Failure::runtime(format!(
        "statejet engine fault: the child execution {arn} ended without an outcome"
    ))
}

/// A STANDARD child as DescribeExecution shows it, once it has ended.
fn describe_standard(e: &Execution) -> Option<Described> {
    let Now::Ended(end) = e.now() else {
        return None;
    };
    let mut d = Described {
        execution_arn: e.arn.clone(),
        state_machine_arn: e.machine.arn.to_string(),
        name: e.name.clone(),
        status: end.outcome.status.as_str().to_owned(),
        start_ms: e.start_ms,
        stop_ms: Some(end.stop_ms),
        input: Some(e.input_text.clone()),
        redrive_count: Some(0),
        redrive_status: Some("NOT_REDRIVABLE".to_owned()),
        redrive_status_reason: Some(
            if end.outcome.status == Status::Succeeded {
                "Execution is SUCCEEDED and cannot be redriven"
            } else {
                "statejet does not redrive executions"
            }
            .to_owned(),
        ),
        ..Described::default()
    };
    fill_outcome(&mut d, &end.outcome);
    Some(d)
}

/// The output of a succeeded child, the error and cause of another (none for a timeout, as
/// DescribeExecution shows it).
fn fill_outcome(d: &mut Described, o: &super::Outcome) {
    if o.status == Status::Succeeded {
        d.output = Some(
            o.output
                .as_ref()
                .map_or("null".to_owned(), |v| v.to_string()),
        );
    }
    if let Some(f) = &o.failure {
        if o.status != Status::TimedOut {
            d.error = (!f.error.is_empty()).then(|| f.error.clone());
            d.cause = (!f.cause.is_empty()).then(|| f.cause.clone());
        }
    }
}

impl Children {
    /// Starts the child `inv` names, as StartExecution would.
    fn start(&self, inv: &Invocation) -> Result<Child, Failure> {
        let p = StartParams::read(inv)?;
        let request_id = new_uuid();
        let refuse =
            |code: &str, message: String| nested::start_failure(code, &message, &request_id);
        let Some(engine) = self.engine.upgrade() else {
            return Err(refuse(
                "ServiceUnavailable",
                "statejet is shutting down".to_owned(),
            ));
        };
        let Some(target) = self.target(&p.state_machine_arn) else {
            return Err(refuse(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{}'", p.state_machine_arn),
            ));
        };
        if let Some(n) = &p.name {
            if n.is_empty() || n.chars().count() > 80 || !crate::arn::valid_name(n) {
                return Err(refuse("InvalidName", format!("Invalid Name: '{n}'")));
            }
        }
        let input = crate::value::Value::parse(&p.input_text).map_err(|e| {
            refuse(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;
        let refused = |e: StartError| match e {
            StartError::StateMachineDoesNotExist(_) => refuse(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{}'", p.state_machine_arn),
            ),
            StartError::Throttled(_) => refuse("ThrottlingException", "Rate exceeded".to_owned()),
            StartError::ExecutionAlreadyExists(arn) => refuse(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ),
            StartError::ShuttingDown => {
                refuse("ServiceUnavailable", "statejet is shutting down".to_owned())
            }
        };
        let machine_arn = target.machine.arn.to_string();
        match target.machine.machine_type {
            MachineType::Standard => {
                let start = StandardStart {
                    name: p.name.clone(),
                    input,
                    input_text: p.input_text.clone(),
                    version_arn: target.version_arn,
                    alias_arn: target.alias_arn,
                };
                let observer = engine.child_observer();
                let role = target.machine.role_arn.clone();
                let told = move |e: &Execution| {
                    if let (Some(tell), Now::Ended(end)) = (observer, e.now()) {
                        tell(&ended(e, role, end));
                    }
                };
                let e = match engine
                    .start_standard(target.machine, start, told)
                    .map_err(refused)?
                {
                    Started::New(e) | Started::Again(e) => e,
                };
                Ok(Child {
                    arn: e.arn.clone(),
                    start_ms: e.start_ms,
                    request_id,
                    ending: Ending::Standard(e),
                })
            }
            MachineType::Express => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let start_ms = engine.now_ms();
                let clock = engine.clone();
                let name = p.name.clone();
                let observer = engine.child_observer();
                let info = ExecutionInfo {
                    identity: Identity::given(String::new(), String::new()),
                    input: input.clone(),
                    role_arn: target.machine.role_arn.clone(),
                    machine_type: MachineType::Express,
                    start_ms,
                    state_machine_id: target.machine.arn.shared(),
                    state_machine_name: target.machine.name.clone(),
                    redrive_count: Some(0),
                };
                let arn = engine
                    .start_of(target.machine, name, input, move |arn, outcome| {
                        let stop_ms = clock.now_ms();
                        if let Some(tell) = observer {
                            let execution = Arc::new(ExecutionInfo {
                                identity: Identity::given(arn.clone(), express_name(&arn)),
                                ..info
                            });
                            tell(&super::engine::Ended {
                                execution,
                                outcome: outcome.clone(),
                                start_ms,
                                stop_ms,
                                logged: true,
                            });
                        }
                        let _ = tx.send((outcome, stop_ms));
                    })
                    .map_err(refused)?;
                let name = p.name.unwrap_or_else(|| express_name(&arn));
                Ok(Child {
                    arn,
                    start_ms,
                    request_id,
                    ending: Ending::Express {
                        machine_arn,
                        name,
                        input_text: p.input_text,
                        rx,
                    },
                })
            }
        }
    }
}

/// A STANDARD child's end, as the engine's observer hears of it.
fn ended(e: &Execution, role_arn: Arc<str>, end: super::executions::Ended) -> super::engine::Ended {
    super::engine::Ended {
        execution: Arc::new(ExecutionInfo {
            identity: Identity::given(e.arn.clone(), e.name.clone()),
            input: e.input.clone(),
            role_arn,
            machine_type: MachineType::Standard,
            start_ms: e.start_ms,
            state_machine_id: e.machine.arn.shared(),
            state_machine_name: e.machine.name.clone(),
            redrive_count: Some(0),
        }),
        outcome: end.outcome,
        start_ms: e.start_ms,
        stop_ms: end.stop_ms,
        logged: true,
    }
}

/// The name in an Express execution ARN (`...:express:MACHINE:NAME:UUID`).
fn express_name(arn: &str) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    parts
        .len()
        .checked_sub(2)
        .map_or_else(String::new, |i| parts[i].to_owned())
}
