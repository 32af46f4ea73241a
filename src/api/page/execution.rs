//! The page's execution view, the AWS console's execution inspector: one retained STANDARD
//! execution read from its history: each state's status, the selected state's input and
//! output, and the event table; and the list of a machine's running and recent executions.
//!
//! Invariant: everything is worked out from the retained history when asked (nothing is kept
//! here), each status follows from recorded events (nothing is guessed), and execution data
//! (inputs, outputs, parameters, errors, causes) leaves only where `Api::page_shows_data_of`
//! allows it.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::super::wire::timestamp;
use super::super::Api;
use crate::asl::MachineType;
use crate::runtime::executions::{status_name, Execution, Now};
use crate::vm::run::{EventType, HistoryEvent};

/// How many executions of each kind (running, ended) the list shows, and how many events the
/// event table shows (the newest): a page's worth; GetExecutionHistory pages through the rest.
const LISTED: usize = 50;
const EVENTS_SHOWN: usize = 1000;

/// Why an execution's data is not shown.
const REDACTED: &str = "inputs, outputs, parameters, errors and causes hidden: this state machine's loggingConfiguration does not include execution data (set includeExecutionData, or start statejet serve with --page-execution-data)";

/// The detail fields that carry no execution data: the only ones shown without it.
const METADATA: [&str; 9] = [
    "name",
    "resource",
    "resourceType",
    "region",
    "index",
    "length",
    "timeoutInSeconds",
    "heartbeatInSeconds",
    "roleArn",
];

/// A state's status in one execution, as the inspector shows it (a state with no entry in the
/// history is "not entered").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum StateStatus {
    // From the most to the least telling: a state whose entries differ shows a running one
    // first, and among the iterations of one Map run, the first of these any of them has.
    Running,
    Failed,
    Caught,
    /// Cut off before it finished: the execution was stopped, or a sibling branch or
    /// iteration failed the Parallel or Map around it.
    Aborted,
    Succeeded,
}

impl StateStatus {
    fn as_str(self) -> &'static str {
        match self {
            StateStatus::Running => "running",
            StateStatus::Failed => "failed",
            StateStatus::Caught => "caught",
            StateStatus::Aborted => "aborted",
            StateStatus::Succeeded => "succeeded",
        }
    }
}

/// One entry into a state: from its `*StateEntered` event to its `*StateExited` (if any).
struct Span {
    name: String,
    entered: usize,
    exited: Option<usize>,
    /// The Parallel or Map (entry) whose branch or iteration it is in.
    parent: Option<usize>,
    /// Which run of that Parallel or Map (a Retry runs it again) it is in.
    round: u32,
    /// For a Parallel or Map: how often it started its branches or iterations.
    runs: u32,
    /// `ParallelStateEntered` or `MapStateEntered` for those, else `None`.
    kind: Option<EventType>,
    is_fail_state: bool,
    /// Whether the last result recorded in it (a task's, a Parallel's or a Map's) was a failure.
    failed: bool,
    /// The index of the last failure event recorded in it.
    failure: Option<usize>,
    /// Whether an error that ended its Parallel, Map or execution came from it.
    blamed: bool,
    /// Whether the execution ended while it was open (a redrive runs on in new entries).
    cut: bool,
}

/// The history read back into entries: each event's entry (its state) and every entry.
struct Spans {
    owner: Vec<Option<usize>>,
    spans: Vec<Span>,
}

fn is_failure(kind: EventType) -> bool {
    use EventType::*;
    matches!(
        kind,
        TaskFailed
            | TaskTimedOut
            | LambdaFunctionFailed
            | LambdaFunctionTimedOut
            | ActivityFailed
            | ActivityTimedOut
            | ParallelStateFailed
            | MapStateFailed
    )
}

fn is_success(kind: EventType) -> bool {
    use EventType::*;
    matches!(
        kind,
        TaskSucceeded
            | LambdaFunctionSucceeded
            | ActivitySucceeded
            | ParallelStateSucceeded
            | MapStateSucceeded
    )
}

impl Spans {
    /// Follows the history in id order. AWS links each event to the one it follows
    /// (`previousEventId`), across the interleaving of branches and iterations, so an event's
    /// state is found from the event before it: a state's events follow its entry, a branch's
    /// first state follows `ParallelStateStarted` or `MapIterationStarted`, a state after an
    /// exit is the exited state's sibling, and a Parallel's or Map's own events belong to the
    /// nearest one still open around the event they follow.
    fn read(history: &[HistoryEvent]) -> Spans {
        use EventType::*;
        let index: HashMap<u64, usize> =
            history.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
        let mut s = Spans {
            owner: Vec::with_capacity(history.len()),
            spans: Vec::new(),
        };
        for e in history {
            let prev = index.get(&e.previous_event_id).copied();
            let prev_owner = prev.and_then(|p| s.owner[p]);
            let name = e.details.get("name").and_then(Value::as_str);
            let kind = e.kind.as_str();
            let owner = if kind.ends_with("StateEntered") {
                let parent = match prev.map(|p| history[p].kind) {
                    None | Some(ExecutionStarted) => None,
                    Some(ParallelStateStarted | MapIterationStarted) => prev_owner,
                    Some(_) => prev_owner.and_then(|o| s.spans[o].parent),
                };
                s.spans.push(Span {
                    name: name.unwrap_or("").to_owned(),
                    entered: s.owner.len(),
                    exited: None,
                    parent,
                    round: parent.map_or(0, |p| s.spans[p].runs),
                    runs: 0,
                    kind: matches!(e.kind, ParallelStateEntered | MapStateEntered)
                        .then_some(e.kind),
                    is_fail_state: e.kind == FailStateEntered,
                    failed: false,
                    failure: None,
                    blamed: false,
                    cut: false,
                });
                Some(s.spans.len() - 1)
            } else if kind.ends_with("StateExited") {
                let o = s.open_around(prev_owner, |span| Some(span.name.as_str()) == name);
                if let Some(o) = o {
                    s.spans[o].exited = Some(s.owner.len());
                }
                o.or(prev_owner)
            } else {
                match e.kind {
                    ExecutionStarted | ExecutionSucceeded | ExecutionRedriven => None,
                    ExecutionFailed | ExecutionTimedOut | ExecutionAborted => {
                        if e.kind != ExecutionAborted {
                            s.blame(prev_owner, None);
                        }
                        for span in s.spans.iter_mut().filter(|s| s.exited.is_none()) {
                            span.cut = true;
                        }
                        None
                    }
                    ParallelStateSucceeded | ParallelStateFailed => {
                        s.open_around(prev_owner, |span| span.kind == Some(ParallelStateEntered))
                    }
                    MapStateSucceeded
                    | MapStateFailed
                    | MapIterationStarted
                    | MapIterationSucceeded
                    | MapIterationFailed => s.open_around(prev_owner, |span| {
                        span.kind == Some(MapStateEntered) && name.is_none_or(|n| span.name == n)
                    }),
                    _ => prev_owner,
                }
            };
            if matches!(
                e.kind,
                ParallelStateFailed | MapStateFailed | MapIterationFailed
            ) {
                s.blame(prev_owner, owner);
            }
            if let Some(o) = owner {
                if matches!(e.kind, ParallelStateStarted | MapStateStarted) {
                    // A new run (after a Retry): what failed before cuts none of its branches off.
                    s.spans[o].failed = false;
                    s.spans[o].runs += 1;
                } else if is_failure(e.kind) {
                    s.spans[o].failed = true;
                    s.spans[o].failure = Some(s.owner.len());
                } else if is_success(e.kind) {
                    s.spans[o].failed = false;
                }
            }
            s.owner.push(owner);
        }
        s
    }

    /// The nearest entry from `from` outwards that has not exited and that `matches`.
    fn open_around(&self, from: Option<usize>, matches: impl Fn(&Span) -> bool) -> Option<usize> {
        let mut at = from;
        while let Some(o) = at {
            let span = &self.spans[o];
            if span.exited.is_none() && matches(span) {
                return Some(o);
            }
            at = span.parent;
        }
        None
    }

    /// Marks the entries an error came through, from `from` outwards up to `until` (the
    /// Parallel or Map it failed; `None`: the execution).
    fn blame(&mut self, from: Option<usize>, until: Option<usize>) {
        let mut at = from;
        while let Some(o) = at {
            if Some(o) == until {
                return;
            }
            if self.spans[o].exited.is_none() {
                self.spans[o].blamed = true;
            }
            at = self.spans[o].parent;
        }
    }

    /// Whether an entry still runs: it has not exited, and neither it nor any Parallel or Map
    /// around it has ended or failed, in a running execution.
    fn alive(&self, o: usize, running: bool) -> bool {
        let mut at = Some(o);
        while let Some(i) = at {
            let span = &self.spans[i];
            if span.exited.is_some() || span.cut || (i != o && span.failed) {
                return false;
            }
            at = span.parent;
        }
        running
    }

    /// A state's status over its entries (in entry order): a running one if any runs; else
    /// the last one's, or, when that is an iteration of a Map, the most telling among the
    /// iterations of that Map run (a loop or a Retry is judged by how it ended).
    fn summed(&self, entries: &[(usize, StateStatus)]) -> StateStatus {
        if entries.iter().any(|(_, s)| *s == StateStatus::Running) {
            return StateStatus::Running;
        }
        let Some(&(last, status)) = entries.last() else {
            return StateStatus::Succeeded;
        };
        let span = &self.spans[last];
        let in_map = span
            .parent
            .is_some_and(|p| self.spans[p].kind == Some(EventType::MapStateEntered));
        if !in_map {
            return status;
        }
        entries
            .iter()
            .filter(|(o, _)| {
                let other = &self.spans[*o];
                (other.parent, other.round) == (span.parent, span.round)
            })
            .map(|(_, s)| *s)
            .min()
            .unwrap_or(status)
    }

    fn status(&self, o: usize, running: bool) -> StateStatus {
        let span = &self.spans[o];
        match span.exited {
            Some(_) if span.failed => StateStatus::Caught,
            Some(_) => StateStatus::Succeeded,
            None if self.alive(o, running) => StateStatus::Running,
            None if span.failed || span.blamed || span.is_fail_state => StateStatus::Failed,
            None => StateStatus::Aborted,
        }
    }
}

/// An event's detail fields as the page may show them: without execution data, only those
/// that carry none.
fn shown_details(details: &Value, data: bool) -> Value {
    match details.as_object() {
        Some(fields) if !data => Value::Object(
            fields
                .iter()
                .filter(|(k, _)| METADATA.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => details.clone(),
    }
}

fn detail_text(e: &HistoryEvent, key: &str) -> Value {
    e.details.get(key).cloned().unwrap_or(Value::Null)
}

/// An execution as the list shows it.
fn listed(e: &Execution) -> Value {
    let now = e.now();
    let mut item = json!({
        "execution_arn": e.arn,
        "name": e.name,
        "status": status_name(&now),
        "start": timestamp(e.start_ms),
    });
    if let Now::Ended(end) = &now {
        item["at"] = timestamp(end.stop_ms);
        item["duration_ms"] = end.stop_ms.saturating_sub(e.start_ms).into();
    }
    item
}

impl Api {
    /// Whether the page may show an execution's data: where the logging of the revision it
    /// runs includes execution data, or the server was told so (`--page-execution-data`).
    fn page_shows_data_of(&self, e: &Execution) -> bool {
        self.page_execution_data || e.machine.logging.include_execution_data
    }

    /// `GET /ui/executions?machine=NAME`: a STANDARD machine's running executions and its
    /// retained ended ones, newest first (`None` for a machine that does not exist).
    pub(in crate::api) fn page_executions(&self, machine: &str) -> Option<Value> {
        let m = self.engine.registry().get(machine)?;
        if m.machine_type != MachineType::Standard {
            // Express executions are not retained (AWS keeps none either): the page shows the
            // ring of those that ended (`/ui/machines`) and the count of those in flight.
            return Some(json!({"retained": false}));
        }
        let store = self.engine.executions();
        let running = |e: &Execution| matches!(e.now(), Now::Running);
        let (run, more_running) = store.list(machine, None, LISTED, running);
        let (ended, more_ended) = store.list(machine, None, LISTED, |e| !running(e));
        Some(json!({
            "retained": true,
            "running": run.iter().map(|e| listed(e)).collect::<Vec<_>>(),
            "more_running": more_running.is_some(),
            "ended": ended.iter().map(|e| listed(e)).collect::<Vec<_>>(),
            "more_ended": more_ended.is_some(),
        }))
    }

    /// `GET /ui/diagram?execution=ARN`: the diagram of the revision a retained execution runs.
    pub(in crate::api) fn page_execution_diagram(&self, arn: &str) -> Option<String> {
        let e = self.engine.executions().get(arn)?;
        Some(super::diagram(&e.machine.validated))
    }

    /// `GET /ui/execution?arn=ARN`: one retained execution: its description, each entered
    /// state's status (with the input and output of its last entry), and its events (the
    /// newest `EVENTS_SHOWN`), with execution data only where the page may show it.
    pub(in crate::api) fn page_execution(&self, arn: &str) -> Option<Value> {
        let e = self.engine.executions().get(arn)?;
        let data = self.page_shows_data_of(&e);
        let now = e.now();
        let history = e.history();
        let running = matches!(now, Now::Running);
        let spans = Spans::read(&history);

        let mut execution = json!({
            "execution_arn": e.arn,
            "name": e.name,
            "machine": &*e.machine.name,
            "revision": e.machine.revision_id.clone().unwrap_or_else(|| "0".into()),
            "status": status_name(&now),
            "start": timestamp(e.start_ms),
        });
        if let Some(v) = e.alias_arn.as_ref().or(e.version_arn.as_ref()) {
            execution["started_through"] = v.clone().into();
        }
        if let Now::Ended(end) = &now {
            execution["at"] = timestamp(end.stop_ms);
            execution["duration_ms"] = end.stop_ms.saturating_sub(e.start_ms).into();
            if data {
                if let Some(o) = &end.outcome.output {
                    execution["output"] = o.to_string().into();
                }
                if let Some(f) = &end.outcome.failure {
                    execution["error"] = f.error.clone().into();
                    execution["cause"] = f.cause.clone().into();
                }
            }
        }
        if data {
            execution["input"] = e.input_text.clone().into();
        }

        // Each state: the summed-up status of its entries and the last entry's data.
        let mut states: Map<String, Value> = Map::new();
        let mut entries: HashMap<&str, Vec<(usize, StateStatus)>> = HashMap::new();
        for (o, span) in spans.spans.iter().enumerate() {
            let status = spans.status(o, running);
            entries
                .entry(span.name.as_str())
                .or_default()
                .push((o, status));
            let mut last = json!({
                "entered_event": history[span.entered].id,
                "last_status": status.as_str(),
            });
            if let Some(x) = span.exited {
                last["exited_event"] = history[x].id.into();
            }
            if data {
                last["input"] = detail_text(&history[span.entered], "input");
                if let Some(x) = span.exited {
                    last["output"] = detail_text(&history[x], "output");
                }
                if let Some(f) = span.failure {
                    last["error"] = detail_text(&history[f], "error");
                    last["cause"] = detail_text(&history[f], "cause");
                }
            }
            states.insert(span.name.clone(), last);
        }
        for (name, of) in entries {
            if let Some(Value::Object(s)) = states.get_mut(name) {
                s.insert("status".into(), spans.summed(&of).as_str().into());
                s.insert("entries".into(), of.len().into());
            }
        }

        let skipped = history.len().saturating_sub(EVENTS_SHOWN);
        let events: Vec<Value> = history
            .iter()
            .enumerate()
            .skip(skipped)
            .map(|(i, ev)| {
                let state = spans.owner[i].map(|o| spans.spans[o].name.as_str());
                json!({
                    "id": ev.id,
                    "previous": ev.previous_event_id,
                    "type": ev.kind.as_str(),
                    "state": state,
                    "timestamp": timestamp(ev.timestamp_ms),
                    "details": shown_details(&ev.details, data),
                })
            })
            .collect();
        let mut out = json!({
            "execution": execution,
            "states": states,
            "events": events,
            "events_left_out": skipped,
        });
        if !data {
            out["redacted"] = REDACTED.into();
        }
        Some(out)
    }
}
