//! Drives runs to completion: performs their actions with a clock and task resources.
//!
//! Invariant: the only place with a clock, and one driver: `driver` steps runs, frames Map
//! iterations, cuts a fork short at its first failure past tolerance and writes the terminal
//! event, for two hosts: `execute` runs one execution on the calling thread (`sequential`: its
//! runs take turns, time is the given `Clock`), which is what `statejet run` needs; `engine`
//! runs many at once on tokio's work-stealing scheduler.

pub mod driver;
pub mod engine;
pub mod executions;
pub mod intake;
pub mod logs;
pub mod metrics;
pub mod nested;
pub mod registry;
pub mod sequential;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::value::Value;

use crate::compile::Program;
use crate::tasks::Resource;
use crate::vm::context::ExecutionInfo;
use crate::vm::failure::{self, Failure};
use crate::vm::run::{text, EventType, HistoryEvent, Inspection, Journal, Run};
use driver::{Attempt, Host};
use sequential::Sequential;

/// How an execution ended, as `StartSyncExecution` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
    /// Ended by the engine's shutdown before it could finish.
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub output: Option<Value>,
    pub failure: Option<Failure>,
}

/// How long an execution of `program` may run, in seconds: the definition's `TimeoutSeconds`,
/// at most what its machine type allows (`registry::max_duration_seconds`).
pub fn time_limit_seconds(program: &Program, execution: &ExecutionInfo) -> u64 {
    let max = registry::max_duration_seconds(execution.machine_type);
    program.timeout_seconds().unwrap_or(max).min(max)
}

/// Where time comes from.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
    fn sleep_until(&self, ms: u64);
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn sleep_until(&self, ms: u64) {
        let now = self.now_ms();
        if ms > now {
            std::thread::sleep(Duration::from_millis(ms - now));
        }
    }
}

/// Runs one execution on the calling thread that starts with `variables` already assigned,
/// calling `resources` for its tasks; returns its outcome and history (`TestState` runs a state
/// this way).
pub fn execute_with(
    program: Arc<Program>,
    execution: Arc<ExecutionInfo>,
    resources: &dyn Resource,
    clock: &dyn Clock,
    variables: crate::value::Map,
    inspection: Option<Inspection>,
) -> (Outcome, Vec<HistoryEvent>) {
    let journal = Journal::recording(&execution, clock.now_ms());
    let limit = time_limit_seconds(&program, &execution);
    let (outcome, journal) = run_sequential(
        program,
        limit,
        execution,
        resources,
        clock,
        journal,
        |run| {
            let run = run.with_variables(variables);
            match inspection {
                Some(i) => run.inspected(i),
                None => run,
            }
        },
    );
    (outcome, journal.events().to_vec())
}

/// Runs one execution to its end on the calling thread (within its machine type's time cap, or the
/// definition's `TimeoutSeconds`).
pub fn execute(
    program: Arc<Program>,
    execution: Arc<ExecutionInfo>,
    resources: &dyn Resource,
    clock: &dyn Clock,
) -> Outcome {
    let limit = time_limit_seconds(&program, &execution);
    execute_within(program, limit, execution, resources, clock)
}

/// Like `execute`, within `limit_seconds` (a machine type's cap: `registry::Machine`'s).
pub fn execute_within(
    program: Arc<Program>,
    limit_seconds: u64,
    execution: Arc<ExecutionInfo>,
    resources: &dyn Resource,
    clock: &dyn Clock,
) -> Outcome {
    run_sequential(
        program,
        limit_seconds,
        execution,
        resources,
        clock,
        Journal::started(),
        |run| run,
    )
    .0
}

/// Runs one execution to its end on the calling thread and returns its history events too,
/// from `ExecutionStarted` to the terminal event.
pub fn execute_recorded(
    program: Arc<Program>,
    execution: Arc<ExecutionInfo>,
    resources: &dyn Resource,
    clock: &dyn Clock,
) -> (Outcome, Vec<HistoryEvent>) {
    execute_with(
        program,
        execution,
        resources,
        clock,
        Default::default(),
        None,
    )
}

fn run_sequential(
    program: Arc<Program>,
    limit_seconds: u64,
    execution: Arc<ExecutionInfo>,
    resources: &dyn Resource,
    clock: &dyn Clock,
    journal: Journal,
    prepare: impl FnOnce(Run) -> Run,
) -> (Outcome, Journal) {
    let start = clock.now_ms();
    let deadline = start + limit_seconds * 1000;
    let host = Sequential::new(clock, resources, start ^ 0x9E37_79B9_7F4A_7C15);
    let run = prepare(Run::top(program, execution, host.random()));
    let attempt = Attempt::new(journal, deadline);
    let result = host.block_on(driver::drive(host.clone(), run, attempt.clone()));
    let outcome = Outcome::of(result.ok());
    let journal = attempt.finish(&outcome, || clock.now_ms());
    (outcome, journal)
}

/// The type of the event that ends an execution's history.
pub fn terminal_kind(outcome: &Outcome) -> EventType {
    match outcome.status {
        Status::Succeeded => EventType::ExecutionSucceeded,
        Status::Aborted => EventType::ExecutionAborted,
        Status::TimedOut => EventType::ExecutionTimedOut,
        Status::Failed => EventType::ExecutionFailed,
    }
}

/// The details of the event that ends an execution's history (the output's text, for a
/// success: built only when the event is recorded).
pub fn terminal_details(outcome: &Outcome) -> serde_json::Value {
    match (&outcome.status, &outcome.failure) {
        (Status::Succeeded, _) => serde_json::json!({
            "output": text(outcome.output.as_ref().unwrap_or(&Value::Null)),
            "outputDetails": {"truncated": false}}),
        (Status::TimedOut, f) => serde_json::json!({
            "error": f.as_ref().map(|f| f.error.as_str()),
            "cause": f.as_ref().map(|f| f.cause.as_str())}),
        // A StopExecution without error or cause is recorded as `{}`, as AWS records it.
        (Status::Aborted, f) => {
            let mut d = serde_json::Map::new();
            if let Some(f) = f {
                if !f.error.is_empty() {
                    d.insert("error".into(), f.error.clone().into());
                }
                if !f.cause.is_empty() {
                    d.insert("cause".into(), f.cause.clone().into());
                }
            }
            serde_json::Value::Object(d)
        }
        (Status::Failed, f) => {
            let mut d = serde_json::Map::new();
            if let Some(f) = f {
                if !f.error.is_empty() {
                    d.insert("error".into(), f.error.clone().into());
                }
                if !f.cause.is_empty() {
                    d.insert("cause".into(), f.cause.clone().into());
                }
            }
            serde_json::Value::Object(d)
        }
    }
}

impl Outcome {
    /// The outcome of an execution that ended with `result`, or (`None`) reached its deadline.
    pub fn of(result: Option<Result<Value, Failure>>) -> Outcome {
        match result {
            None => Outcome {
                status: Status::TimedOut,
                output: None,
                failure: Some(Failure::new(
                    failure::TIMEOUT,
                    "The execution exceeded its time limit",
                )),
            },
            Some(Ok(output)) => Outcome {
                status: Status::Succeeded,
                output: Some(output),
                failure: None,
            },
            Some(Err(f)) => Outcome {
                status: Status::Failed,
                output: None,
                failure: Some(f),
            },
        }
    }
}

/// A SplitMix64 stream from `seed`.
pub(crate) fn random_stream(seed: u64) -> Box<dyn FnMut() -> u64 + Send> {
    let mut state = seed;
    Box::new(move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}
