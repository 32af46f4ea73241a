//! One thread of control over a block (the execution, a Parallel branch, a Map iteration),
//! stepped by its driver.
//!
//! Lifecycle: the driver calls `resume(Event::Start)`; the run executes states until it needs
//! the outside world and returns that need as an `Action` (invoke a resource, sleep until a time,
//! run child blocks, or done); the driver performs it and resumes the run with the matching
//! `Event`. Invariant: no I/O, no threads, no clock reads: time arrives as `now` in milliseconds.

mod choose;
mod flow;
mod history;
mod map;
pub mod map_io;
mod terminal;

use flow::check_size;
pub use flow::{data_limit_exceeded, json_size_within, larger_than};
pub use history::{
    json_text, task_resource, text, EventType, HistoryEvent, Journal, Progress, Tallied, Tally,
};

use std::sync::Arc;

use crate::json;
use crate::value::{Map, Value};

use super::choice;
use super::context::{self, ExecutionInfo, Lazy};
use super::failure::{self, Failure};
use super::jsonpath::{self, Roots};
use super::query;
use super::template;
use crate::asl::machine::{
    Assign, CatchOutput, Condition, Dynamic, Expr, FailField, Flow, IntegrationPattern,
    ItemSelector, Items, Jitter, Resource, ResourceKind, ResultPath, Retrier, Select, Template,
    WaitFor,
};
use crate::asl::path::Path;
use crate::compile::{
    BlockId, Catcher, Instruction, Op, Program, StateId, Transition, WorkKind, UPDATE_FIELDS,
};
use crate::jsonata;

/// The largest payload AWS lets a state produce: 256 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// The most all the variables of an execution may hold: 10 MiB.
const MAX_VARIABLE_BYTES: usize = 10 * 1024 * 1024;

/// The longest Wait AWS accepts, in seconds (a Java `int` of seconds).
const MAX_WAIT_SECONDS: i64 = i32::MAX as i64;

/// What the run needs from its driver.
#[derive(Debug)]
pub enum Action {
    /// Call a Task's resource; resume with `Event::TaskDone`. Boxed: an `Invocation` is 208
    /// bytes, and every `Step` of every state (an `Action` is one) was moved at that size with a
    /// call to `memcpy` (~29 instructions a state), though only a Task makes one.
    Invoke(Box<Invocation>),
    /// Resume with `Event::Woke` at (or after) this time.
    Sleep { until_ms: u64 },
    /// Run these child blocks; resume with `Event::ChildrenDone`, results in child order.
    Fork(Fork),
    /// The block finished: its output, or the failure that ended it.
    Done(Result<Value, Failure>),
}

#[derive(Debug, Clone)]
pub struct Invocation {
    pub state: String,
    pub resource: Resource,
    /// The Task's effective input, in statejet's value type end to end: a resource that needs
    /// serde_json's (an AWS SDK call's parameters) converts it there.
    pub payload: Value,
    /// The Task's timeout, if any: past it the driver answers `States.Timeout` (for an
    /// activity, its resource does: see `Invocation::timed_by_resource`).
    pub timeout_seconds: Option<u64>,
    /// The execution that calls (its ARN: what a resource that answers later, a task token's
    /// holder, needs to know whose task it is).
    pub execution: Arc<ExecutionInfo>,
    /// The Task's `HeartbeatSeconds`, if any: how long an activity or a `.waitForTaskToken`
    /// task may go without a `SendTaskHeartbeat`.
    pub heartbeat_seconds: Option<u64>,
    /// The task token of an activity or `.waitForTaskToken` task: a fresh one each attempt.
    pub task_token: Option<String>,
    /// Where the resource records the Task's events while it works (`ActivityStarted`,
    /// `TaskSubmitted`); the driver sets it, the VM leaves it recording nothing.
    pub progress: Progress,
}

impl Invocation {
    /// Whether the resource, not the driver, keeps the Task's `TimeoutSeconds`: an activity's
    /// counts from when a worker takes the task (`ActivityStarted`), not from its scheduling.
    pub fn timed_by_resource(&self) -> bool {
        matches!(self.resource.kind, ResourceKind::Activity { .. })
    }
}

/// Makes task tokens: the runtime's (unguessable, known to its token store); a run without
/// one makes tokens from its random stream.
pub type TokenMint = Arc<dyn Fn() -> String + Send + Sync>;

/// Whether a Task carries a task token: an activity, a `.waitForTaskToken` integration, or a
/// `.sync` job (whose token `SendTaskHeartbeat`, `SendTaskSuccess` and `SendTaskFailure` may
/// use, as AWS allows for the job run pattern).
pub fn takes_token(r: &Resource) -> bool {
    matches!(
        r.kind,
        ResourceKind::Activity { .. }
            | ResourceKind::Service {
                pattern: IntegrationPattern::WaitForTaskToken | IntegrationPattern::Sync,
                ..
            }
    )
}

/// Whether a Task's Context Object shows its token (`$$.Task.Token`): for a
/// `.waitForTaskToken` or `.sync` integration (an activity's worker gets it from
/// `GetActivityTask`).
fn shows_token(r: &Resource) -> bool {
    matches!(
        r.kind,
        ResourceKind::Service {
            pattern: IntegrationPattern::WaitForTaskToken | IntegrationPattern::Sync,
            ..
        }
    )
}

#[derive(Debug)]
pub struct Fork {
    pub children: Children,
    /// How many children may run at once; 0 means no limit.
    pub max_concurrency: usize,
    /// The driver may stop starting children once more than this many have failed.
    pub max_failures: usize,
    /// Map iterations: each child is framed by `MapIterationStarted` and
    /// `MapIterationSucceeded`/`Failed` events, which the driver writes to the journal.
    pub iterations: bool,
}

/// A fork's children: their inputs known up front (Parallel branches, ItemBatcher batches),
/// or a Map's items, each made an input by the run (`Run::select_item`) only as its iteration
/// starts, so that at most `max_concurrency` selected inputs exist at once.
#[derive(Debug)]
pub enum Children {
    Ready(Vec<Child>),
    Items { block: BlockId, items: Vec<Value> },
}

impl Children {
    pub fn len(&self) -> usize {
        match self {
            Children::Ready(c) => c.len(),
            Children::Items { items, .. } => items.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug)]
pub struct Child {
    pub block: BlockId,
    pub input: Value,
}

/// What the driver reports back.
#[derive(Debug)]
pub enum Event {
    Start,
    TaskDone(Result<Value, Failure>),
    Woke,
    /// One result per child started; children never started are missing from the end.
    ChildrenDone(Vec<Result<Value, Failure>>),
    /// The children as a whole failed: an item's selection failed, or their results passed
    /// the payload limit.
    ChildrenFailed(Failure),
}

/// What a state does after its own work.
// A value returned from one state's step to the loop that runs it, never stored: boxing the
// action would cost an allocation per Task for no memory saved.
#[allow(clippy::large_enum_variant)]
enum Step {
    Next(StateId, Value),
    End(Value),
    Wait(Action),
    Fail(Failure),
}

/// What the run is waiting for.
enum Pending {
    None,
    Task,
    /// Children running; `tolerance` is a Map's tolerated failure count, if it has one.
    Children {
        tolerance: Option<usize>,
    },
    /// A Map's `ItemReader` reading its items.
    Reading,
    /// A Map's `ResultWriter` exporting its results; `failure`: the children's, reported
    /// once they are written.
    Writing {
        failure: Option<Failure>,
    },
    /// A Wait state's effective input and the variables it assigns when it ends.
    WaitState(Value, Vec<(String, Value)>),
    Retry,
    /// Handed control back after `STATES_PER_STEP` states; enter the current one on waking.
    Enter,
}

/// The most states one `resume` enters: a loop of states that never wait (a Choice and a Pass
/// counting) would otherwise hold its thread and outrun the deadline, which the driver checks
/// between steps.
const STATES_PER_STEP: u32 = 1_000;

pub struct Run {
    program: Arc<Program>,
    execution: Arc<ExecutionInfo>,
    block: BlockId,
    variables: Map,
    state: StateId,
    /// The current state's raw input.
    input: Value,
    /// After InputPath and Parameters (for Task, Parallel, Map while they wait).
    effective: Value,
    entered_id: u64,
    /// The latest history event of this thread of control, which the next one points back to.
    last_event: u64,
    entered_ms: u64,
    retries: Vec<u64>,
    retry_count: u32,
    pending: Pending,
    random: Box<dyn FnMut() -> u64 + Send>,
    /// Where the data-flow stages are noted, when someone inspects this run (`TestState`).
    inspection: Option<Inspection>,
    /// A Context Object given from outside (`TestState`), used as it is instead of one built
    /// from the execution.
    fixed_context: Option<Arc<Value>>,
    /// The execution's deadline (ms since the epoch; `u64::MAX`: none) and the time of the
    /// current resume: what bounds a step's long evaluations, with no clock read.
    deadline_ms: u64,
    now_ms: u64,
    /// Where task tokens come from, and the current Task attempt's token.
    mint: Option<TokenMint>,
    task_token: Option<Box<str>>,
    /// A writer Map's records of its children (in the Map's run and in each child's).
    recording: Option<Box<map_io::Recording>>,
}

/// The data-flow stages of a run's states, in order: `("afterInputPath", value)`, ...
pub type Inspection = Arc<std::sync::Mutex<Vec<(&'static str, Value)>>>;

/// The stage noted (with `null`) when a state is entered: the stages after it are that state's.
pub const ENTERED: &str = "entered";

/// Notes a stage's value, if the run is inspected (a copy is made only then).
#[inline(always)]
fn note(inspection: &Option<Inspection>, stage: &'static str, value: &Value) {
    if let Some(i) = inspection {
        note_to(i, stage, value);
    }
}

/// `note`'s work, out of the way of the states that nobody inspects (every one but
/// `TestState`'s).
#[cold]
#[inline(never)]
fn note_to(inspection: &Inspection, stage: &'static str, value: &Value) {
    inspection
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((stage, value.clone()));
}

impl Run {
    pub fn new(
        program: Arc<Program>,
        execution: Arc<ExecutionInfo>,
        block: BlockId,
        input: Value,
        variables: Map,
        random: Box<dyn FnMut() -> u64 + Send>,
    ) -> Run {
        let start = program.block(block).start_at;
        Run {
            program,
            execution,
            block,
            variables,
            state: start,
            input,
            effective: Value::Null,
            entered_id: 0,
            last_event: 0,
            entered_ms: 0,
            retries: Vec::new(),
            retry_count: 0,
            pending: Pending::None,
            random,
            inspection: None,
            fixed_context: None,
            deadline_ms: u64::MAX,
            now_ms: 0,
            mint: None,
            task_token: None,
            recording: None,
        }
    }

    /// The top-level run of an execution: the machine's block, the execution's input, no
    /// variables yet.
    pub fn top(
        program: Arc<Program>,
        execution: Arc<ExecutionInfo>,
        random: Box<dyn FnMut() -> u64 + Send>,
    ) -> Run {
        let input = execution.input.clone();
        Run::top_with(program, execution, input, random)
    }

    /// The top-level run of an execution with its input given apart (an execution that keeps
    /// no copy of it, as no state reads it from the Context Object).
    pub fn top_with(
        program: Arc<Program>,
        execution: Arc<ExecutionInfo>,
        input: Value,
        random: Box<dyn FnMut() -> u64 + Send>,
    ) -> Run {
        Run::new(program, execution, Program::TOP, input, Map::new(), random)
    }

    /// The top-level run of a redriven execution: it enters the state `name` of the
    /// machine's own block with `input` (that state's input when it first ran) and the
    /// variables as they stood then, and its first event follows event `after` (the
    /// `ExecutionRedriven`). `None` if the machine's block has no state of that name.
    pub fn redriven(
        program: Arc<Program>,
        execution: Arc<ExecutionInfo>,
        name: &str,
        input: Value,
        variables: Map,
        after: u64,
        random: Box<dyn FnMut() -> u64 + Send>,
    ) -> Option<Run> {
        let state = program.state_named(Program::TOP, name)?;
        let mut run = Run::new(program, execution, Program::TOP, input, variables, random);
        run.state = state;
        run.last_event = after;
        Some(run)
    }

    /// This run with `variables` assigned before its first state (as `TestState` allows).
    pub fn with_variables(mut self, variables: Map) -> Run {
        self.variables = variables;
        self
    }

    /// This run within the execution's deadline (ms since the epoch): a step's JSONata
    /// evaluations stop there, and the run fails with `Failure::deadline()`.
    pub fn with_deadline(mut self, deadline_ms: u64) -> Run {
        self.deadline_ms = deadline_ms;
        self
    }

    /// This run making its task tokens with `mint` (its children too).
    pub fn with_token_mint(mut self, mint: Option<TokenMint>) -> Run {
        self.mint = mint;
        self
    }

    /// A token for the current Task attempt.
    fn mint_token(&mut self) -> String {
        match &self.mint {
            Some(mint) => mint(),
            None => format!("{:016x}{:016x}", (self.random)(), (self.random)()),
        }
    }

    /// Milliseconds left to the deadline, as of the current resume.
    pub(super) fn time_left(&self) -> u64 {
        self.deadline_ms.saturating_sub(self.now_ms)
    }

    /// Whether a step of this run may compute for long (a JSONata evaluation, a Map's items),
    /// so that a host sharing its threads among executions runs it where it starves none.
    pub fn may_run_long(&self) -> bool {
        self.program.long_steps(self.block)
    }

    /// This run, noting its states' data-flow stages in `inspection`.
    pub fn inspected(mut self, inspection: Inspection) -> Run {
        self.inspection = Some(inspection);
        self
    }

    /// This run with `context` as every state's Context Object (`TestState`'s `context`).
    pub fn with_context(mut self, context: Value) -> Run {
        self.fixed_context = Some(Arc::new(context));
        self
    }

    /// The run's variables as they stand.
    pub fn variables(&self) -> &Map {
        &self.variables
    }

    /// A run of one of the current state's child blocks.
    pub fn child(&mut self, child: Child, random: Box<dyn FnMut() -> u64 + Send>) -> Run {
        let recording = self.child_recording(&child.input);
        // Built whole, not through `Run::new` and then field by field: one call and one
        // move of the 300-byte run fewer per child.
        Run {
            program: self.program.clone(),
            execution: self.execution.clone(),
            block: child.block,
            // Most runs have no variables: nothing to copy.
            variables: match self.variables.is_empty() {
                true => Map::new(),
                false => self.variables.clone(),
            },
            state: self.program.block(child.block).start_at,
            input: child.input,
            effective: Value::Null,
            entered_id: 0,
            // A branch's first event points back to the Parallel's (or the iteration's) start.
            last_event: self.last_event,
            entered_ms: 0,
            retries: Vec::new(),
            retry_count: 0,
            pending: Pending::None,
            random,
            inspection: None,
            fixed_context: None,
            deadline_ms: self.deadline_ms,
            now_ms: 0,
            mint: self.mint.clone(),
            task_token: None,
            recording,
        }
    }

    /// The latest history event of this run.
    pub fn last_event(&self) -> u64 {
        self.last_event
    }

    /// Makes `id` the event this run's next event points back to (a Map iteration's start).
    pub fn follow(&mut self, id: u64) {
        self.last_event = id;
    }

    /// Whether this is an execution's top-level run (not a Parallel branch or Map iteration).
    pub fn is_top(&self) -> bool {
        self.block == Program::TOP
    }

    /// The name of the state the run is in.
    pub fn state_name(&self) -> &str {
        &self.current().name
    }

    /// Advances the run with `event` until it needs the driver again.
    pub fn resume(&mut self, event: Event, now: u64, journal: &mut Journal) -> Action {
        self.now_ms = now;
        let pending = std::mem::replace(&mut self.pending, Pending::None);
        let mut step = match (pending, event) {
            (Pending::None, Event::Start) => {
                self.recording_started(now);
                self.enter(now, journal)
            }
            (Pending::Reading, Event::TaskDone(result)) => match result {
                Ok(Value::Array(items)) => self.fork_map(Some(items.into_inner()), now, journal),
                Ok(other) => Step::Fail(Failure::runtime(format!(
                    "statejet engine fault: the ItemReader answered {other}, not an array"
                ))),
                Err(f) => self.recover(map_io::reader_failure(f), now, journal),
            },
            (Pending::Writing { failure }, Event::TaskDone(result)) => {
                let result = match (result, failure) {
                    (Err(f), _) => Err(map_io::writer_failure(f)),
                    (Ok(_), Some(f)) => Err(f),
                    (Ok(out), None) => Ok(out),
                };
                self.map_ended(result, now, journal)
            }
            (Pending::Task, Event::TaskDone(result)) => {
                let result = match result {
                    // An activity that could not be scheduled (it does not exist) fails its
                    // state with no Activity event, as AWS records it.
                    Err(f) if f.error == failure::RUNTIME && self.is_activity() => {
                        Err(self.runtime(f))
                    }
                    result => {
                        self.record_task_done(journal, now, &result);
                        result
                    }
                };
                self.after_work(result, now, journal)
            }
            // A driver that stands in for the children as a whole (TestState's mock of a
            // Parallel or Map) answers with the state's result directly.
            (Pending::Children { .. }, Event::TaskDone(result)) => {
                self.after_work(result, now, journal)
            }
            (Pending::Children { tolerance }, Event::ChildrenDone(results))
                if self.writes_results() =>
            {
                let joined = self.join(results, tolerance);
                self.last_event = journal.last();
                self.write_map(joined.err(), now, journal)
            }
            (Pending::Children { tolerance }, Event::ChildrenDone(results)) => {
                let result = self.join(results, tolerance);
                // The state's end points back to the last event of its children.
                self.last_event = journal.last();
                let kind = match (self.in_parallel(), result.is_ok()) {
                    (true, true) => EventType::ParallelStateSucceeded,
                    (true, false) => EventType::ParallelStateFailed,
                    (false, true) => EventType::MapStateSucceeded,
                    (false, false) => EventType::MapStateFailed,
                };
                self.record(journal, now, kind, || serde_json::json!({}));
                self.after_work(result, now, journal)
            }
            (Pending::Children { .. }, Event::ChildrenFailed(f)) => {
                self.last_event = journal.last();
                self.recording = None;
                let kind = match self.in_parallel() {
                    true => EventType::ParallelStateFailed,
                    false => EventType::MapStateFailed,
                };
                self.record(journal, now, kind, || serde_json::json!({}));
                self.after_work(Err(f), now, journal)
            }
            (Pending::WaitState(output, assigned), Event::Woke) => {
                self.exit(output, assigned, now, journal)
            }
            (Pending::Retry, Event::Woke) => self.start_work(now, journal),
            (Pending::Enter, Event::Woke) => self.enter(now, journal),
            (_, event) => Step::Fail(Failure::new(
                "States.Runtime",
                format!("statejet engine fault: unexpected event {event:?}"),
            )),
        };
        let mut entered = 0;
        loop {
            step = match step {
                Step::Next(next, output) => {
                    self.state = next;
                    self.input = output;
                    entered += 1;
                    if entered == STATES_PER_STEP {
                        // Back to the driver, which goes on at once if time is left.
                        self.pending = Pending::Enter;
                        return Action::Sleep { until_ms: now };
                    }
                    self.enter(now, journal)
                }
                Step::End(output) => return self.done(Ok(output)),
                Step::Fail(f) => {
                    journal.count(self.block, self.state, Tallied::Failed);
                    return self.done(Err(f));
                }
                Step::Wait(action) => return action,
            }
        }
    }

    fn current(&self) -> &Instruction {
        self.program.instruction(self.block, self.state)
    }

    /// Whether the current state is a Parallel (else a Map, while children run).
    fn in_parallel(&self) -> bool {
        matches!(self.current().work(), Some(w) if matches!(w.kind, WorkKind::Parallel(_)))
    }

    fn is_activity(&self) -> bool {
        matches!(self.current().work(), Some(w) if matches!(&w.kind, WorkKind::Task(t) if matches!(t.resource.kind, ResourceKind::Activity { .. })))
    }

    /// The current state's Context Object, built only if a `$$` path reads it.
    #[inline]
    fn context<'v>(&self, retry: bool, map_item: Option<(usize, &'v Value)>) -> Lazy<'v> {
        // A definition that never writes `$$`, `$states` or `$eval` never reads the Context
        // Object: no facts to gather (two reference counts and a drop per read, most states),
        // and no call.
        if self.context_unread() {
            return Lazy::unread();
        }
        self.context_facts(retry, map_item)
    }

    /// Whether this run's definition never reads its Context Object (no `$$`, `$states` or
    /// `$eval` anywhere, and no context given whole).
    #[inline]
    pub(super) fn context_unread(&self) -> bool {
        self.fixed_context.is_none() && !self.program.reads_execution_input()
    }

    fn context_facts<'v>(&self, retry: bool, map_item: Option<(usize, &'v Value)>) -> Lazy<'v> {
        if let Some(fixed) = &self.fixed_context {
            return Lazy::ready(Value::clone(fixed));
        }
        // `State.RetryCount` belongs to Task, Parallel and Map alone.
        let retry_count = match self.current().op {
            Op::Work(_) if retry => Some(self.retry_count),
            _ => None,
        };
        let task_token = match self.current().work().map(|w| &w.kind) {
            Some(WorkKind::Task(t)) if shows_token(&t.resource) => self.task_token.clone(),
            _ => None,
        };
        Lazy::new(context::Facts {
            execution: self.execution.clone(),
            program: self.program.clone(),
            block: self.block,
            state: self.state,
            entered_ms: self.entered_ms,
            retry_count,
            map_item,
            task_token,
        })
    }

    /// AWS's prefix for a `States.Runtime` or `States.QueryEvaluationError` failure raised by
    /// the current state itself.
    fn runtime(&self, mut f: Failure) -> Failure {
        let own = f.error == failure::RUNTIME || f.error == query::QUERY_EVALUATION_ERROR;
        if own
            && !f
                .cause
                .starts_with("An error occurred while executing the state")
        {
            f.cause = format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
                self.current().name,
                self.entered_id,
                f.cause
            );
        }
        f
    }

    /// Enters the current state with `self.input`.
    fn enter(&mut self, now: u64, journal: &mut Journal) -> Step {
        self.entered_id = self.record_entered(journal, now);
        if self.block == Program::TOP {
            // What a redrive re-enters this state with (a STANDARD journal keeps it).
            journal.note_variables(&self.variables);
        }
        journal.count(self.block, self.state, Tallied::Entered);
        self.entered_ms = now;
        self.retries.clear();
        self.retry_count = 0;
        let program = self.program.clone();
        let state = program.instruction(self.block, self.state);
        // Marks where each state's stages begin, for an inspector that wants one state's.
        note(&self.inspection, ENTERED, &Value::Null);
        match &state.op {
            // The common Pass, which assigns nothing: no variables to evaluate and commit, and
            // one `Result` less to pass along. Its result is worked out as in the general arm
            // below, written out twice on purpose: through one shared `#[inline]` helper the
            // two arms cost pass10 +0.8%, choice_loop +1.5%, parallel4 +1.5% (measured).
            // A loop's Pass writing its Parameters into its own field (`$.last`): in place.
            Op::Pass(p) if p.updates_field && p.assign.is_none() => {
                let r = self.update_field(&p.flow);
                self.finish(r, p.next, now, journal)
            }
            Op::Pass(p) if p.assign.is_none() => {
                let r = match &p.result {
                    Some(result) if p.result_only => Ok(result.clone()),
                    _ => self
                        .input_stage(&p.flow)
                        .map(|eff| p.result.clone().unwrap_or(eff)),
                };
                let r = r.and_then(|result| self.output_stage(&p.flow, result));
                self.finish(r, p.next, now, journal)
            }
            Op::Pass(p) => {
                let r = match &p.result {
                    // A `Result` replaces an effective input that would only be a copy.
                    Some(result) if p.result_only => Ok(result.clone()),
                    _ => self
                        .input_stage(&p.flow)
                        .map(|eff| p.result.clone().unwrap_or(eff)),
                };
                let r = r.and_then(|result| {
                    let assigned = self.assign(&p.assign, &result)?;
                    let out = self.output_stage(&p.flow, result)?;
                    self.commit(assigned);
                    Ok(out)
                });
                self.finish(r, p.next, now, journal)
            }
            Op::Succeed(s) => {
                let r = self
                    .input_stage(&s.flow)
                    .and_then(|eff| self.output_stage(&s.flow, eff));
                self.finish(r, Transition::End, now, journal)
            }
            Op::Fail(f) => Step::Fail(self.fail_state(f)),
            Op::Choice(c) => self.choose(c, now, journal),
            Op::Wait(w) => {
                let r = self.wait_until(&w.until, now).and_then(|until_ms| {
                    let eff = self.input_stage(&w.flow)?;
                    let assigned = self.assign(&w.assign, &eff)?;
                    Ok((until_ms, eff, assigned))
                });
                match r {
                    Ok((until_ms, eff, assigned)) => {
                        self.pending = Pending::WaitState(eff, assigned);
                        Step::Wait(Action::Sleep { until_ms })
                    }
                    Err(f) => Step::Fail(self.runtime(f)),
                }
            }
            Op::Work(_) => self.start_work(now, journal),
        }
    }

    /// Computes a Task's, Parallel's or Map's effective input, then starts its work. Runs again
    /// on each retry; an error here (a JSONata `Arguments` that fails) goes to Retry and Catch
    /// like an error of the work itself, unless it is terminal.
    fn start_work(&mut self, now: u64, journal: &mut Journal) -> Step {
        // A retry's Context Object has another `State.RetryCount`.
        let program = self.program.clone();
        let Some(w) = program.instruction(self.block, self.state).work() else {
            return Step::Fail(not_work());
        };
        if let WorkKind::Task(t) = &w.kind {
            // Each attempt has its own token, in the Context Object before Parameters.
            self.task_token = takes_token(&t.resource).then(|| self.mint_token().into());
        }
        match self.input_stage(&w.flow) {
            Ok(eff) => {
                self.effective = eff;
                self.work(now, journal)
            }
            Err(f) if f.is_terminal() => Step::Fail(self.runtime(f)),
            Err(f) => {
                let f = self.runtime(f);
                self.recover(f, now, journal)
            }
        }
    }

    /// Starts (or restarts, on retry) the work of a Task, Parallel or Map.
    fn work(&mut self, _now: u64, journal: &mut Journal) -> Step {
        let program = self.program.clone();
        let state = program.instruction(self.block, self.state);
        let Some(w) = state.work() else {
            return Step::Fail(not_work());
        };
        match &w.kind {
            WorkKind::Task(t) => {
                let timeout_seconds = match &t.timeout_seconds {
                    None => None,
                    Some(d) => match self.dynamic_u64(d, "TimeoutSecondsPath") {
                        Ok(v) => Some(v),
                        Err(f) => return Step::Fail(self.runtime(f)),
                    },
                };
                let heartbeat_seconds = match &t.heartbeat_seconds {
                    None => None,
                    Some(d) => match self.dynamic_u64(d, "HeartbeatSecondsPath") {
                        Ok(v) => Some(v),
                        Err(f) => return Step::Fail(self.runtime(f)),
                    },
                };
                // The payload is the effective input itself: nothing reads it after this (a
                // retry computes it again).
                let payload = std::mem::take(&mut self.effective);
                let limits = (timeout_seconds, heartbeat_seconds);
                self.record_task_started(journal, _now, t, &payload, limits);
                self.pending = Pending::Task;
                Step::Wait(Action::Invoke(Box::new(Invocation {
                    state: state.name.clone(),
                    resource: t.resource.clone(),
                    payload,
                    timeout_seconds,
                    heartbeat_seconds,
                    task_token: self.task_token.as_deref().map(str::to_owned),
                    progress: Progress::default(),
                    execution: self.execution.clone(),
                })))
            }
            WorkKind::Parallel(p) => {
                self.record(journal, _now, EventType::ParallelStateStarted, || {
                    serde_json::json!({})
                });
                let children = (p.branches.iter())
                    .map(|b| Child {
                        block: *b,
                        input: self.effective.clone(),
                    })
                    .collect();
                self.pending = Pending::Children { tolerance: None };
                Step::Wait(Action::Fork(Fork {
                    children: Children::Ready(children),
                    max_concurrency: 0,
                    max_failures: 0,
                    iterations: false,
                }))
            }
            WorkKind::Map(m) => match &m.item_reader {
                // The items come from S3 first; the fork follows (`Pending::Reading`).
                Some(reader) => match self.read_items(reader) {
                    Ok(inv) => {
                        self.pending = Pending::Reading;
                        Step::Wait(Action::Invoke(Box::new(inv)))
                    }
                    Err(f) if f.is_terminal() => Step::Fail(self.runtime(f)),
                    Err(f) => {
                        let f = self.runtime(f);
                        self.recover(f, _now, journal)
                    }
                },
                None => self.fork_map(None, _now, journal),
            },
        }
    }

    /// Forks the current Map's children over `items` (read by its `ItemReader`), or over the
    /// items of its input.
    fn fork_map(&mut self, items: Option<Vec<Value>>, now: u64, journal: &mut Journal) -> Step {
        let program = self.program.clone();
        let Some(WorkKind::Map(m)) = program
            .instruction(self.block, self.state)
            .work()
            .map(|w| &w.kind)
        else {
            return Step::Fail(not_work());
        };
        match self.map_children(m, items) {
            Ok((fork, tolerance)) => {
                let length = fork.children.len();
                self.record(
                    journal,
                    now,
                    EventType::MapStateStarted,
                    || serde_json::json!({"length": length}),
                );
                if m.result_writer.is_some() {
                    self.record_children(length);
                }
                self.pending = Pending::Children { tolerance };
                Step::Wait(Action::Fork(fork))
            }
            Err(f) => Step::Fail(self.runtime(f)),
        }
    }

    /// Whether the current state is a Map with a `ResultWriter`.
    fn writes_results(&self) -> bool {
        matches!(self.current().work(), Some(w) if matches!(&w.kind, WorkKind::Map(m) if m.result_writer.is_some()))
    }

    /// A writer Map's children ended (`failure`: past the tolerance): formats their results,
    /// or exports them and resumes with `Pending::Writing`.
    fn write_map(&mut self, failure: Option<Failure>, now: u64, journal: &mut Journal) -> Step {
        let program = self.program.clone();
        let Some(WorkKind::Map(m)) = program
            .instruction(self.block, self.state)
            .work()
            .map(|w| &w.kind)
        else {
            return Step::Fail(not_work());
        };
        let Some(writer) = &m.result_writer else {
            return Step::Fail(not_work());
        };
        match self.write_results(m, writer) {
            Ok(Ok(inv)) => {
                self.pending = Pending::Writing { failure };
                Step::Wait(Action::Invoke(Box::new(inv)))
            }
            Ok(Err(output)) => self.map_ended(failure.map_or(Ok(output), Err), now, journal),
            Err(f) => {
                let f = self.runtime(f);
                self.map_ended(Err(f), now, journal)
            }
        }
    }

    /// Records the end of a Map's work, then goes on as after any work.
    fn map_ended(
        &mut self,
        result: Result<Value, Failure>,
        now: u64,
        journal: &mut Journal,
    ) -> Step {
        let kind = match result.is_ok() {
            true => EventType::MapStateSucceeded,
            false => EventType::MapStateFailed,
        };
        self.record(journal, now, kind, || serde_json::json!({}));
        self.after_work(result, now, journal)
    }

    /// After a Task's, Parallel's or Map's work: retry, catch, or carry on with the result.
    fn after_work(
        &mut self,
        result: Result<Value, Failure>,
        now: u64,
        journal: &mut Journal,
    ) -> Step {
        let program = self.program.clone();
        let state = program.instruction(self.block, self.state);
        let Some(w) = state.work() else {
            return Step::Fail(not_work());
        };
        let result = result.and_then(|raw| {
            if let WorkKind::Task(_) = w.kind {
                check_size(&raw, &state.name)?;
            }
            // Assign sees the raw result, "at the same time as ResultSelector".
            let assigned = self
                .assign_with(&w.assign, &raw, Some(&raw), None)
                .map_err(|f| self.runtime(f))?;
            let out = self
                .output_stage(&w.flow, raw)
                .map_err(|f| self.runtime(f))?;
            self.commit(assigned);
            Ok(out)
        });
        match result {
            Ok(out) => self.finish(Ok(out), w.next, now, journal),
            Err(f) => self.recover(f, now, journal),
        }
    }

    /// A Task's, Parallel's or Map's failure: the first matching retrier (if not exhausted)
    /// schedules a retry; otherwise the first matching catcher takes over; otherwise it fails.
    fn recover(&mut self, f: Failure, now: u64, journal: &mut Journal) -> Step {
        let program = self.program.clone();
        let (retry, catch): (&[Retrier], &[Catcher]) =
            match program.instruction(self.block, self.state).work() {
                Some(w) => (&w.retry, &w.catch),
                None => (&[], &[]),
            };
        if f.is_terminal() {
            return Step::Fail(f);
        }
        if let Some(i) = retry.iter().position(|r| f.matches(&r.error_equals)) {
            let r = &retry[i];
            if self.retries.len() < retry.len() {
                self.retries.resize(retry.len(), 0);
            }
            if self.retries[i] < r.max_attempts {
                let attempt = self.retries[i];
                self.retries[i] += 1;
                self.retry_count += 1;
                journal.count(self.block, self.state, Tallied::Retried);
                let delay = self.backoff(r, attempt);
                self.pending = Pending::Retry;
                return Step::Wait(Action::Sleep {
                    until_ms: now + delay,
                });
            }
        }
        if let Some(c) = catch.iter().find(|c| f.matches(&c.error_equals)) {
            let output = f.to_output();
            // The catcher's Assign replaces the state's, and sees the error output as `$`.
            let assigned = self.assign_with(&c.assign, &output, None, Some(&output));
            let out = assigned.and_then(|assigned| {
                let out = match &c.output {
                    CatchOutput::ResultPath(rp) => self.result_path(rp, output),
                    CatchOutput::Jsonata(Some(t)) => {
                        let b = self.bindings(None, Some(&output), None);
                        query::eval_tree(t, "Output", &b, &mut *self.random)
                    }
                    CatchOutput::Jsonata(None) => Ok(output),
                }?;
                self.commit(assigned);
                Ok(out)
            });
            journal.count(self.block, self.state, Tallied::Failed);
            return match out {
                Ok(out) => {
                    self.record_exited(journal, now, &out);
                    Step::Next(c.next, out)
                }
                Err(f) => Step::Fail(self.runtime(f)),
            };
        }
        Step::Fail(f)
    }

    /// The wait before retry number `attempt` (0-based), in milliseconds.
    fn backoff(&mut self, r: &Retrier, attempt: u64) -> u64 {
        let mut seconds = r.interval_seconds as f64 * r.backoff_rate.powi(attempt as i32);
        if let Some(max) = r.max_delay_seconds {
            seconds = seconds.min(max as f64);
        }
        let mut ms = (seconds * 1000.0) as u64;
        if r.jitter == Jitter::Full {
            ms = (self.random)() % (ms + 1);
        }
        ms
    }

    /// Ends the state with `result`: emits its exit and moves on.
    fn finish(
        &mut self,
        result: Result<Value, Failure>,
        t: Transition,
        _now: u64,
        journal: &mut Journal,
    ) -> Step {
        match result {
            Ok(out) => {
                if let Err(f) = self.check_output_size(&out) {
                    return Step::Fail(f);
                }
                self.record_exited(journal, _now, &out);
                journal.count(self.block, self.state, Tallied::Succeeded);
                match t {
                    Transition::Next(n) => Step::Next(n, out),
                    Transition::End => Step::End(out),
                }
            }
            Err(f) => Step::Fail(self.runtime(f)),
        }
    }

    fn exit(
        &mut self,
        output: Value,
        assigned: Vec<(String, Value)>,
        now: u64,
        journal: &mut Journal,
    ) -> Step {
        let program = self.program.clone();
        match &program.instruction(self.block, self.state).op {
            Op::Wait(w) => {
                let r = self.output_stage(&w.flow, output);
                if r.is_ok() {
                    self.commit(assigned);
                }
                self.finish(r, w.next, now, journal)
            }
            _ => Step::Fail(Failure::runtime(
                "statejet engine fault: exit of a non-Wait state",
            )),
        }
    }
}

/// The engine fault of a Task's, Parallel's or Map's step reached in another state.
fn not_work() -> Failure {
    Failure::runtime("statejet engine fault: work on a non-work state")
}

/// Whether a resource is a Lambda function (for the driver's event vocabulary).
pub fn is_lambda(r: &Resource) -> bool {
    matches!(r.kind, ResourceKind::Lambda { .. })
}
