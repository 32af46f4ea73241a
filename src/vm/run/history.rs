//! The history events of an execution, as Step Functions records them (and its CloudWatch logs
//! show them): numbered, linked to the event that caused them, with AWS's detail fields.
//!
//! Invariant: ids are assigned in the order events happen; an event's `previous_event_id` is the
//! event before it on the same thread of control (0 for the execution's first state, as AWS
//! records). Every event has one `EventType`, chosen where it happens; its details are built
//! only when the journal records it. A machine's `Tally` counts, per state, entries, successes,
//! failures (caught or not) and retries.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value as Json};

use crate::value::{Map, Value};

use super::Run;
use crate::asl::machine::{Resource, ResourceKind};
use crate::compile::{BlockId, Op, Program, StateId, Task, WorkKind};
use crate::vm::context::ExecutionInfo;

/// One history event.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp_ms: u64,
    pub kind: EventType,
    /// The camelCase `*EventDetails` of the event.
    pub details: Json,
}

/// The type of a history event, as AWS names it (`EventType::as_str`): every event statejet
/// records has one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionAborted,
    /// A redrive: the execution runs again from its unsuccessful state.
    ExecutionRedriven,
    PassStateEntered,
    PassStateExited,
    TaskStateEntered,
    TaskStateExited,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateExited,
    MapStateEntered,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapStateExited,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    TaskScheduled,
    TaskStarted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    /// A `.waitForTaskToken` task's call was made; the task waits for its token.
    TaskSubmitted,
    ActivityScheduled,
    ActivityStarted,
    ActivitySucceeded,
    ActivityFailed,
    ActivityTimedOut,
    LambdaFunctionScheduled,
    LambdaFunctionStarted,
    LambdaFunctionSucceeded,
    LambdaFunctionFailed,
    LambdaFunctionTimedOut,
}

impl EventType {
    /// AWS's name of the type.
    pub fn as_str(self) -> &'static str {
        use EventType::*;
        match self {
            ExecutionStarted => "ExecutionStarted",
            ExecutionRedriven => "ExecutionRedriven",
            ExecutionSucceeded => "ExecutionSucceeded",
            ExecutionFailed => "ExecutionFailed",
            ExecutionTimedOut => "ExecutionTimedOut",
            ExecutionAborted => "ExecutionAborted",
            PassStateEntered => "PassStateEntered",
            PassStateExited => "PassStateExited",
            TaskStateEntered => "TaskStateEntered",
            TaskStateExited => "TaskStateExited",
            ChoiceStateEntered => "ChoiceStateEntered",
            ChoiceStateExited => "ChoiceStateExited",
            WaitStateEntered => "WaitStateEntered",
            WaitStateExited => "WaitStateExited",
            SucceedStateEntered => "SucceedStateEntered",
            SucceedStateExited => "SucceedStateExited",
            FailStateEntered => "FailStateEntered",
            ParallelStateEntered => "ParallelStateEntered",
            ParallelStateStarted => "ParallelStateStarted",
            ParallelStateSucceeded => "ParallelStateSucceeded",
            ParallelStateFailed => "ParallelStateFailed",
            ParallelStateExited => "ParallelStateExited",
            MapStateEntered => "MapStateEntered",
            MapStateStarted => "MapStateStarted",
            MapStateSucceeded => "MapStateSucceeded",
            MapStateFailed => "MapStateFailed",
            MapStateExited => "MapStateExited",
            MapIterationStarted => "MapIterationStarted",
            MapIterationSucceeded => "MapIterationSucceeded",
            MapIterationFailed => "MapIterationFailed",
            TaskScheduled => "TaskScheduled",
            TaskStarted => "TaskStarted",
            TaskSucceeded => "TaskSucceeded",
            TaskFailed => "TaskFailed",
            TaskTimedOut => "TaskTimedOut",
            TaskSubmitted => "TaskSubmitted",
            ActivityScheduled => "ActivityScheduled",
            ActivityStarted => "ActivityStarted",
            ActivitySucceeded => "ActivitySucceeded",
            ActivityFailed => "ActivityFailed",
            ActivityTimedOut => "ActivityTimedOut",
            LambdaFunctionScheduled => "LambdaFunctionScheduled",
            LambdaFunctionStarted => "LambdaFunctionStarted",
            LambdaFunctionSucceeded => "LambdaFunctionSucceeded",
            LambdaFunctionFailed => "LambdaFunctionFailed",
            LambdaFunctionTimedOut => "LambdaFunctionTimedOut",
        }
    }

    /// `<Type>StateEntered` of a state.
    pub fn entered(op: &Op) -> EventType {
        use EventType::*;
        match op {
            Op::Pass(_) => PassStateEntered,
            Op::Choice(_) => ChoiceStateEntered,
            Op::Wait(_) => WaitStateEntered,
            Op::Succeed(_) => SucceedStateEntered,
            Op::Fail(_) => FailStateEntered,
            Op::Work(w) => match w.kind {
                WorkKind::Task(_) => TaskStateEntered,
                WorkKind::Parallel(_) => ParallelStateEntered,
                WorkKind::Map(_) => MapStateEntered,
            },
        }
    }

    /// `<Type>StateExited` of a state (a Fail state never exits: it ends its run).
    pub fn exited(op: &Op) -> EventType {
        use EventType::*;
        match op {
            Op::Pass(_) => PassStateExited,
            Op::Choice(_) => ChoiceStateExited,
            Op::Wait(_) => WaitStateExited,
            Op::Succeed(_) | Op::Fail(_) => SucceedStateExited,
            Op::Work(w) => match w.kind {
                WorkKind::Task(_) => TaskStateExited,
                WorkKind::Parallel(_) => ParallelStateExited,
                WorkKind::Map(_) => MapStateExited,
            },
        }
    }

    /// Whether a state was entered (TestState looks for the state it went to).
    pub fn is_state_entered(self) -> bool {
        use EventType::*;
        matches!(
            self,
            PassStateEntered
                | TaskStateEntered
                | ChoiceStateEntered
                | WaitStateEntered
                | SucceedStateEntered
                | FailStateEntered
                | ParallelStateEntered
                | MapStateEntered
        )
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Numbers (and, when asked, records) the events of one execution, and counts what happens
/// to each state in its machine's `Tally` when it has one.
#[derive(Debug, Default)]
pub struct Journal {
    last: u64,
    events: Option<Vec<HistoryEvent>>,
    tally: Option<Arc<Tally>>,
    /// Which event types are recorded (all when `None`); the others are only numbered.
    keep: Option<fn(EventType) -> bool>,
    /// A STANDARD execution's variables as its latest top-level state was entered: what a
    /// redrive enters that state with (`None`: not kept).
    variables: Option<Box<Map>>,
}

/// What a `Tally` counts per state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tallied {
    Entered = 0,
    /// Left with an output (a caught failure counts as failed, not here).
    Succeeded = 1,
    /// Failed: the failure went to a catcher or ended the run.
    Failed = 2,
    /// A retrier scheduled another attempt.
    Retried = 3,
}

/// Counts per state of one compiled program, shared by all executions of it (the live page's
/// figures). Counters are laid out by block and state index when the program is installed, so
/// counting is an index and an atomic add: no hashing, no lock, on the execution path.
#[derive(Debug)]
pub struct Tally {
    program: Arc<Program>,
    /// `[entered, succeeded, failed, retried]` per state, per block.
    counts: Vec<Vec<[AtomicU64; 4]>>,
}

impl Tally {
    pub fn new(program: Arc<Program>) -> Tally {
        let counts = program
            .blocks()
            .map(|(_, b)| b.states.iter().map(|_| Default::default()).collect())
            .collect();
        Tally { program, counts }
    }

    pub fn add(&self, block: BlockId, state: StateId, what: Tallied) {
        // A run only steps states of its own program, so the indexes are in bounds.
        if let Some(c) = self
            .counts
            .get(block.index())
            .and_then(|b| b.get(state.index()))
        {
            c[what as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Each state's `[entered, succeeded, failed, retried]`, by name, for the states that were
    /// entered at least once.
    pub fn snapshot(&self) -> Vec<(String, [u64; 4])> {
        let mut all: Vec<(String, [u64; 4])> = Vec::new();
        for ((_, block), counts) in self.program.blocks().zip(&self.counts) {
            for (state, c) in block.states.iter().zip(counts) {
                let c: [u64; 4] = std::array::from_fn(|i| c[i].load(Ordering::Relaxed));
                if c[Tallied::Entered as usize] > 0 {
                    all.push((state.name.clone(), c));
                }
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// Records the events of a Task while its resource works on it (`ActivityScheduled`,
/// `ActivityStarted`, `TaskSubmitted`), on the Task's thread of control: the driver makes one
/// per call over the execution's journal; the default one records nothing.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn Fn(EventType, Json) + Send + Sync>>);

impl Progress {
    pub fn new(record: impl Fn(EventType, Json) + Send + Sync + 'static) -> Progress {
        Progress(Some(Arc::new(record)))
    }

    /// Writes an event of the Task, after its latest one.
    pub fn record(&self, kind: EventType, details: Json) {
        if let Some(r) = &self.0 {
            r(kind, details);
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress"
        } else {
            "Progress(none)"
        })
    }
}

/// A payload in event details: JSON text, as AWS writes it.
pub fn text<T: serde::Serialize + ?Sized>(v: &T) -> Json {
    Json::String(json_text(v))
}

/// `v` as compact JSON text, by serde_json's writer rather than `Display`, which goes through a
/// formatter a token at a time and costs about twice as much.
pub fn json_text<T: serde::Serialize + ?Sized>(v: &T) -> String {
    // Cannot fail: a `Value`'s keys are strings.
    serde_json::to_string(v).unwrap_or_default()
}

impl Journal {
    /// A journal that only numbers events; `ExecutionStarted` is id 1.
    pub fn started() -> Journal {
        Journal {
            last: 1,
            events: None,
            tally: None,
            keep: None,
            variables: None,
        }
    }

    /// A journal that goes on from `events` (a redriven execution's history so far), keeping
    /// every event and the variables as for a STANDARD execution.
    pub fn resumed(events: Vec<HistoryEvent>) -> Journal {
        Journal {
            last: events.last().map_or(0, |e| e.id),
            events: Some(events),
            tally: None,
            keep: None,
            variables: Some(Box::default()),
        }
    }

    /// This journal keeping the variables of the top-level states it sees entered (a
    /// STANDARD execution's, for a redrive).
    pub fn keeping_variables(mut self) -> Journal {
        self.variables = Some(Box::default());
        self
    }

    /// Notes the variables as a top-level state is entered, if this journal keeps them.
    #[inline]
    pub fn note_variables(&mut self, variables: &Map) {
        if let Some(kept) = &mut self.variables {
            // Both empty (a machine without Assign): nothing to copy.
            if !(kept.is_empty() && variables.is_empty()) {
                **kept = variables.clone();
            }
        }
    }

    /// The variables last noted (empty if none were).
    pub fn take_variables(&mut self) -> Map {
        self.variables.take().map(|v| *v).unwrap_or_default()
    }

    /// A journal that keeps every event, starting with `ExecutionStarted`.
    pub fn recording(execution: &ExecutionInfo, now: u64) -> Journal {
        Journal::recording_only(execution, now, |_| true)
    }

    /// A journal that keeps the events whose type `keep` accepts (a logging level's), and builds
    /// details for those alone.
    pub fn recording_only(
        execution: &ExecutionInfo,
        now: u64,
        keep: fn(EventType) -> bool,
    ) -> Journal {
        Journal::recording_input(execution, &execution.input, now, keep)
    }

    /// `recording_only`, for an execution whose input is `input` (one that keeps no copy).
    pub fn recording_input(
        execution: &ExecutionInfo,
        input: &Value,
        now: u64,
        keep: fn(EventType) -> bool,
    ) -> Journal {
        let started = keep(EventType::ExecutionStarted).then(|| HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp_ms: now,
            kind: EventType::ExecutionStarted,
            details: json!({"input": text(input),
                "inputDetails": {"truncated": false}, "roleArn": &*execution.role_arn}),
        });
        Journal {
            last: 1,
            events: Some(started.into_iter().collect()),
            keep: Some(keep),
            tally: None,
            variables: None,
        }
    }

    /// This journal, counting states in `tally` too.
    pub fn with_tally(mut self, tally: Arc<Tally>) -> Journal {
        self.tally = Some(tally);
        self
    }

    /// Counts `what` for `state` of `block`, if this journal counts.
    #[inline]
    pub fn count(&self, block: BlockId, state: StateId, what: Tallied) {
        if let Some(t) = &self.tally {
            t.add(block, state, what);
        }
    }

    /// Whether this journal keeps events (not only numbers them).
    pub fn records(&self) -> bool {
        self.events.is_some()
    }

    /// The id of the latest event.
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Writes an event; `details` is only called when the journal records. Inlined: most
    /// journals only number events (an Express execution that logs nothing), which is an
    /// increment; keeping one is out of line (`keep_event`).
    #[inline]
    pub fn emit(
        &mut self,
        kind: EventType,
        previous: u64,
        now: u64,
        details: impl FnOnce() -> Json,
    ) -> u64 {
        self.emit_with(|| kind, previous, now, details)
    }

    /// `emit` for an event whose type is looked up (a state's `...StateEntered`, from its
    /// instruction): looked up only when the journal records (choice_loop: 18 instructions a
    /// state for two matches whose answer nobody read). Inlined: most journals only number
    /// events (an Express execution that logs nothing), which is an increment; keeping one is
    /// out of line (`keep_event`).
    #[inline]
    pub(super) fn emit_with(
        &mut self,
        kind: impl FnOnce() -> EventType,
        previous: u64,
        now: u64,
        details: impl FnOnce() -> Json,
    ) -> u64 {
        self.last += 1;
        if self.events.is_some() {
            self.keep_event(kind(), previous, now, details);
        }
        self.last
    }

    #[inline(never)]
    fn keep_event(
        &mut self,
        kind: EventType,
        previous: u64,
        now: u64,
        details: impl FnOnce() -> Json,
    ) {
        if let Some(events) = &mut self.events {
            if self.keep.is_none_or(|keep| keep(kind)) {
                events.push(HistoryEvent {
                    id: self.last,
                    previous_event_id: previous,
                    timestamp_ms: now,
                    kind,
                    details: details(),
                });
            }
        }
    }

    /// `MapIterationStarted` / `MapIterationSucceeded` / `MapIterationFailed`, which the driver
    /// writes around each iteration of Map `map`.
    pub fn map_iteration(
        &mut self,
        kind: EventType,
        map: &str,
        index: usize,
        previous: u64,
        now: u64,
    ) -> u64 {
        self.emit(kind, previous, now, || json!({"name": map, "index": index}))
    }

    /// Adds `key: value` to the recorded `ExecutionStarted` event's details (the version and
    /// alias a STANDARD execution was started through).
    pub fn note_started(&mut self, key: &str, value: &str) {
        if let Some(first) = self.events.as_mut().and_then(|e| e.first_mut()) {
            if first.kind == EventType::ExecutionStarted {
                first.details[key] = Json::from(value);
            }
        }
    }

    /// The recorded events, taken out of the journal.
    pub fn take_events(&mut self) -> Vec<HistoryEvent> {
        self.events.take().unwrap_or_default()
    }

    /// The recorded events so far.
    pub fn events(&self) -> &[HistoryEvent] {
        self.events.as_deref().unwrap_or_default()
    }
}

/// `resourceType` and `resource` of a service integration's Task events: the resource keeps
/// its pattern (`invoke.waitForTaskToken`), as AWS records it.
pub fn task_resource(r: &Resource) -> (String, String) {
    match &r.kind {
        ResourceKind::Service { service, .. } => {
            let prefix = format!("{service}:");
            let tail = r.arn.splitn(6, ':').nth(5).unwrap_or_default();
            let resource = tail.strip_prefix(&prefix).unwrap_or(tail);
            (service.clone(), resource.to_owned())
        }
        _ => ("unknown".into(), r.arn.clone()),
    }
}

impl Run {
    /// Writes an event on this run's thread of control.
    pub(super) fn record(
        &mut self,
        journal: &mut Journal,
        now: u64,
        kind: EventType,
        details: impl FnOnce() -> Json,
    ) -> u64 {
        let id = journal.emit(kind, self.last_event, now, details);
        self.last_event = id;
        id
    }

    #[inline]
    pub(super) fn record_entered(&mut self, journal: &mut Journal, now: u64) -> u64 {
        let this = &*self;
        let id = journal.emit_with(
            || EventType::entered(&this.current().op),
            this.last_event,
            now,
            || {
                json!({"name": this.current().name, "input": text(&this.input),
                    "inputDetails": {"truncated": false}})
            },
        );
        self.last_event = id;
        id
    }

    #[inline]
    pub(super) fn record_exited(&mut self, journal: &mut Journal, now: u64, output: &Value) {
        let this = &*self;
        let id = journal.emit_with(
            || EventType::exited(&this.current().op),
            this.last_event,
            now,
            || {
                json!({"name": this.current().name, "output": text(output),
                    "outputDetails": {"truncated": false}})
            },
        );
        self.last_event = id;
    }

    /// `TaskScheduled` and `TaskStarted` (or their Lambda twins) for the current Task.
    pub(super) fn record_task_started(
        &mut self,
        journal: &mut Journal,
        now: u64,
        task: &Task,
        payload: &Value,
        (timeout_seconds, heartbeat_seconds): (Option<u64>, Option<u64>),
    ) {
        let (resource, lambda) = (&task.resource, task.lambda);
        // An activity's resource records `ActivityScheduled` itself, once it knows the activity
        // exists (AWS records nothing for a missing one).
        if matches!(resource.kind, ResourceKind::Activity { .. }) {
            return;
        }
        let execution = self.execution.clone();
        let (scheduled, started) = if lambda {
            (
                EventType::LambdaFunctionScheduled,
                EventType::LambdaFunctionStarted,
            )
        } else {
            (EventType::TaskScheduled, EventType::TaskStarted)
        };
        self.record(journal, now, scheduled, || {
            let mut d = if lambda {
                json!({"resource": resource.arn, "input": text(payload),
                    "inputDetails": {"truncated": false}})
            } else {
                let (resource_type, action) = task_resource(resource);
                let region = crate::arn::region(&execution.state_machine_id);
                json!({"resourceType": resource_type, "resource": action,
                    "region": region, "parameters": json_text(payload)})
            };
            if let Some(t) = timeout_seconds {
                d["timeoutInSeconds"] = json!(t);
            }
            if let (Some(h), false) = (heartbeat_seconds, lambda) {
                d["heartbeatInSeconds"] = json!(h);
            }
            d
        });
        self.record(journal, now, started, || {
            if lambda {
                json!({})
            } else {
                let (resource_type, action) = task_resource(resource);
                json!({"resourceType": resource_type, "resource": action})
            }
        });
    }

    /// The end of the current Task's call: succeeded, failed or timed out.
    pub(super) fn record_task_done(
        &mut self,
        journal: &mut Journal,
        now: u64,
        result: &Result<Value, crate::vm::Failure>,
    ) {
        let this = &*self;
        let Some(WorkKind::Task(t)) = this.current().work().map(|w| &w.kind) else {
            return;
        };
        if matches!(t.resource.kind, ResourceKind::Activity { .. }) {
            return self.record_activity_done(journal, now, result);
        }
        let callback = super::takes_token(&t.resource);
        let lambda = t.lambda;
        let timed_out = matches!(result, Err(f) if f.error == crate::vm::failure::TIMEOUT);
        let kind = match (lambda, result.is_ok(), timed_out) {
            (true, true, _) => EventType::LambdaFunctionSucceeded,
            (true, false, true) => EventType::LambdaFunctionTimedOut,
            (true, false, false) => EventType::LambdaFunctionFailed,
            (false, true, _) => EventType::TaskSucceeded,
            (false, false, true) => EventType::TaskTimedOut,
            (false, false, false) => EventType::TaskFailed,
        };
        let id = journal.emit(kind, this.last_event, now, || {
            let mut d = if lambda {
                serde_json::Map::new()
            } else {
                let (resource_type, action) = task_resource(&t.resource);
                let mut m = serde_json::Map::new();
                m.insert("resourceType".into(), json!(resource_type));
                m.insert("resource".into(), json!(action));
                m
            };
            match result {
                Ok(v) => {
                    d.insert("output".into(), text(v));
                    d.insert("outputDetails".into(), json!({"truncated": false}));
                }
                // A callback's failure has the keys `SendTaskFailure` gave (none, if neither),
                // and its timeout only the error, as AWS records them.
                Err(f) if callback => {
                    if !f.error.is_empty() {
                        d.insert("error".into(), json!(f.error));
                    }
                    if !f.cause.is_empty() {
                        d.insert("cause".into(), json!(f.cause));
                    }
                }
                Err(f) => {
                    d.insert("error".into(), json!(f.error));
                    d.insert("cause".into(), json!(f.cause));
                }
            }
            Json::Object(d)
        });
        self.last_event = id;
    }

    /// `ActivitySucceeded`, `ActivityFailed` (with the keys the worker gave) or
    /// `ActivityTimedOut` (`States.Timeout`, no cause).
    fn record_activity_done(
        &mut self,
        journal: &mut Journal,
        now: u64,
        result: &Result<Value, crate::vm::Failure>,
    ) {
        let kind = match result {
            Ok(_) => EventType::ActivitySucceeded,
            Err(f) if f.error == crate::vm::failure::TIMEOUT => EventType::ActivityTimedOut,
            Err(_) => EventType::ActivityFailed,
        };
        let id = journal.emit(kind, self.last_event, now, || match result {
            Ok(v) => json!({"output": text(v), "outputDetails": {"truncated": false}}),
            Err(f) => {
                let mut d = serde_json::Map::new();
                if !f.error.is_empty() {
                    d.insert("error".into(), json!(f.error));
                }
                if !f.cause.is_empty() {
                    d.insert("cause".into(), json!(f.cause));
                }
                Json::Object(d)
            }
        });
        self.last_event = id;
    }
}
