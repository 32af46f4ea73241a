//! Drives runs to completion: performs their actions with a clock and task handlers.
//!
//! Invariant: the only place with a clock. Two drivers share the `Run` protocol: `execute` runs
//! one execution on the calling thread (children one after another, in order), which is what
//! `statejet run` needs; `engine` runs many at once on tokio's work-stealing scheduler.

pub mod engine;
pub mod logs;
pub mod metrics;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::compile::Program;
use crate::tasks::Functions;
use crate::vm::context::ExecutionInfo;
use crate::vm::failure::{self, Failure};
use crate::vm::run::{text, Action, Event, HistoryEvent, Inspection, Invocation, Journal, Run};

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

/// Where time comes from.
pub trait Clock {
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

/// Reached the execution's deadline.
struct TimedOut;

/// What performs a Task's invocation for the single-thread driver: the functions file, or
/// (for `TestState`) a mock.
pub trait Invoker {
    fn invoke(&self, inv: &Invocation, limit: Option<Duration>) -> Result<Value, Failure>;
}

impl Invoker for Functions {
    fn invoke(&self, inv: &Invocation, limit: Option<Duration>) -> Result<Value, Failure> {
        Functions::invoke(self, inv, limit)
    }
}

/// Runs one execution that starts with `variables` already assigned, calling `invoker` for its
/// tasks; returns its outcome and history (`TestState` runs a state this way).
pub fn execute_with(
    program: Arc<Program>,
    execution: Arc<ExecutionInfo>,
    invoker: &dyn Invoker,
    clock: &dyn Clock,
    variables: serde_json::Map<String, Value>,
    inspection: Option<Inspection>,
) -> (Outcome, Vec<HistoryEvent>) {
    let journal = Journal::recording(&execution, clock.now_ms());
    let (outcome, mut journal) =
        run_execution(program, execution, invoker, clock, journal, |run| {
            let run = run.with_variables(variables);
            match inspection {
                Some(i) => run.inspected(i),
                None => run,
            }
        });
    let last = journal.last();
    let now = clock.now_ms();
    journal.emit(
        || terminal_kind(&outcome).to_owned(),
        last,
        now,
        || terminal_details(&outcome),
    );
    (outcome, journal.events().to_vec())
}

/// Runs one execution to its end.
pub fn execute(
    program: Arc<Program>,
    execution: Arc<ExecutionInfo>,
    functions: &Functions,
    clock: &dyn Clock,
) -> Outcome {
    run_execution(
        program,
        execution,
        functions,
        clock,
        Journal::started(),
        |run| run,
    )
    .0
}

/// Runs one execution to its end and returns its history events too, from `ExecutionStarted`
/// to the terminal event.
pub fn execute_recorded(
    program: Arc<Program>,
    execution: Arc<ExecutionInfo>,
    functions: &Functions,
    clock: &dyn Clock,
) -> (Outcome, Vec<HistoryEvent>) {
    execute_with(
        program,
        execution,
        functions,
        clock,
        Default::default(),
        None,
    )
}

/// The type of the event that ends an execution's history.
pub fn terminal_kind(outcome: &Outcome) -> &'static str {
    match outcome.status {
        Status::Succeeded => "ExecutionSucceeded",
        Status::Aborted => "ExecutionAborted",
        Status::TimedOut => "ExecutionTimedOut",
        Status::Failed => "ExecutionFailed",
    }
}

/// The details of the event that ends an execution's history (the output's text, for a
/// success: built only when the event is recorded).
pub fn terminal_details(outcome: &Outcome) -> Value {
    match (&outcome.status, &outcome.failure) {
        (Status::Succeeded, _) => serde_json::json!({
            "output": text(outcome.output.as_ref().unwrap_or(&Value::Null)),
            "outputDetails": {"truncated": false}}),
        (Status::Aborted | Status::TimedOut, f) => serde_json::json!({
            "error": f.as_ref().map(|f| f.error.as_str()),
            "cause": f.as_ref().map(|f| f.cause.as_str())}),
        (Status::Failed, f) => {
            let mut d = serde_json::Map::new();
            if let Some(f) = f {
                if !f.error.is_empty() {
                    d.insert("error".into(), Value::from(f.error.clone()));
                }
                if !f.cause.is_empty() {
                    d.insert("cause".into(), Value::from(f.cause.clone()));
                }
            }
            Value::Object(d)
        }
    }
}

fn run_execution(
    program: Arc<Program>,
    execution: Arc<ExecutionInfo>,
    functions: &dyn Invoker,
    clock: &dyn Clock,
    mut journal: Journal,
    prepare: impl FnOnce(Run) -> Run,
) -> (Outcome, Journal) {
    let start = clock.now_ms();
    let deadline = start + program.time_limit_seconds() * 1000;
    let mut seed = start ^ 0x9E37_79B9_7F4A_7C15;
    let run = prepare(Run::top(program, execution, random(&mut seed)));
    let driver = Driver {
        functions,
        clock,
        deadline,
    };
    let outcome = Outcome::of(driver.drive(run, &mut journal, &mut seed).ok());
    (outcome, journal)
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

/// A SplitMix64 stream: `States.UUID`, `MathRandom` and retry jitter need randomness, not
/// secrecy.
fn random(seed: &mut u64) -> Box<dyn FnMut() -> u64 + Send> {
    *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    random_stream(*seed)
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

struct Driver<'a> {
    functions: &'a dyn Invoker,
    clock: &'a dyn Clock,
    deadline: u64,
}

impl Driver<'_> {
    fn drive(
        &self,
        mut run: Run,
        journal: &mut Journal,
        seed: &mut u64,
    ) -> Result<Result<Value, Failure>, TimedOut> {
        let mut event = Event::Start;
        loop {
            let now = self.clock.now_ms();
            if now >= self.deadline {
                return Err(TimedOut);
            }
            event = match run.resume(event, now, journal) {
                Action::Done(result) => return Ok(result),
                Action::Sleep { until_ms } => {
                    self.clock.sleep_until(until_ms.min(self.deadline));
                    Event::Woke
                }
                Action::Invoke(inv) => Event::TaskDone(self.invoke(&inv)?),
                Action::Fork(fork) => {
                    let mut results = Vec::with_capacity(fork.children.len());
                    let mut failures = 0;
                    let map = run.state_name().to_owned();
                    for (index, child) in fork.children.into_iter().enumerate() {
                        let mut child = run.child(child, random(seed));
                        if fork.iterations {
                            let now = self.clock.now_ms();
                            let id = journal.map_iteration(
                                "MapIterationStarted",
                                &map,
                                index,
                                run.last_event(),
                                now,
                            );
                            child.follow(id);
                        }
                        let r = self.drive(child, journal, seed)?;
                        if fork.iterations {
                            let kind = if r.is_ok() {
                                "MapIterationSucceeded"
                            } else {
                                "MapIterationFailed"
                            };
                            let last = journal.last();
                            journal.map_iteration(kind, &map, index, last, self.clock.now_ms());
                        }
                        failures += usize::from(r.is_err());
                        results.push(r);
                        if failures > fork.max_failures {
                            break;
                        }
                    }
                    Event::ChildrenDone(results)
                }
            };
        }
    }

    /// Calls the resource within the sooner of the Task's timeout and the execution's deadline:
    /// the first gives the task `States.Timeout` (which Retry and Catch see), the second ends the
    /// execution.
    fn invoke(&self, inv: &Invocation) -> Result<Result<Value, Failure>, TimedOut> {
        let started = self.clock.now_ms();
        let to_deadline = self.deadline.saturating_sub(started);
        let task_ms = inv.timeout_seconds.map(|t| t.saturating_mul(1000));
        let limit_ms = task_ms.map_or(to_deadline, |t| t.min(to_deadline));
        let result = self
            .functions
            .invoke(inv, Some(Duration::from_millis(limit_ms)));
        let now = self.clock.now_ms();
        let task_timed_out = task_ms.is_some_and(|t| now.saturating_sub(started) >= t);
        if task_timed_out {
            return Ok(Err(Failure::new(failure::TIMEOUT, "")));
        }
        if now >= self.deadline {
            return Err(TimedOut);
        }
        Ok(result)
    }
}
