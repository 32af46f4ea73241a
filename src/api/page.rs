//! The live page at `/`: the state machines, each one's diagram with per-state count badges,
//! its execution counts by status, its recent executions and its recent failures, refreshed
//! every second by the page; and, for a STANDARD execution, the execution view (`execution`).
//!
//! Invariant: the page is one self-contained HTML file (no build step, nothing fetched from
//! elsewhere), and what it shows comes from the engine's counters, a small bounded ring of
//! the last executions this API saw end (status and times; error and cause only where the
//! machine's logging, or `--page-execution-data`, allows them), and the retained STANDARD
//! executions' histories, read when asked; the page keeps no history of its own.

mod execution;

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::wire::timestamp;
use super::Api;
use crate::asl::StateMachine;
use crate::graph::layout;
use crate::runtime::{Outcome, Status};

/// The page itself.
pub const HTML: &str = include_str!("page/index.html");

/// Why a failure's error and cause are not shown.
const REDACTED: &str = "error and cause hidden: they may carry execution data, and this state machine's loggingConfiguration does not include execution data (set includeExecutionData, or start statejet serve with --page-execution-data)";

/// How many ended executions, and how many failures among them, are kept per state machine:
/// a page's worth, so the ring's memory is bounded whatever the load.
const RECENT: usize = 50;
const RECENT_FAILURES: usize = 20;

/// The executions that ended last, per machine name: all of them, and the failed, timed-out
/// or aborted ones (which a busy machine's successes would soon push out of the first ring).
#[derive(Default)]
///
/// Keyed by machine name with foldhash (one look-up per ended execution; the keys are the
/// registry's names, see `Registry`'s map for why a fast seeded hash fits them).
pub struct Recent(Mutex<HashMap<String, Rings, foldhash::fast::RandomState>>);

#[derive(Default)]
struct Rings {
    ended: VecDeque<Arc<Entry>>,
    failures: VecDeque<Arc<Entry>>,
}

/// One ended execution as the rings keep it: its facts, made into the page's JSON only when a
/// page asks (`Entry::render`), so that an execution's end costs no `Value` of its own.
struct Entry {
    arn: String,
    status: Status,
    start_ms: u64,
    stop_ms: u64,
    /// A failure's error and cause, or why they are hidden (`None` for a success).
    failure: Option<Result<(String, String), Redacted>>,
}

/// The error and cause of a failure are not kept (`REDACTED` says why).
struct Redacted;

impl Entry {
    fn render(&self) -> Value {
        // `...:express:MACHINE:NAME:ID` or `...:execution:MACHINE:NAME`.
        let parts: Vec<&str> = self.arn.split(':').collect();
        let name = match parts.get(5) {
            Some(&"express") => parts.get(7),
            _ => parts.last(),
        };
        let name = name.copied().unwrap_or("");
        let mut entry = json!({
            "execution_arn": self.arn,
            "name": name,
            "status": self.status.as_str(),
            "start": timestamp(self.start_ms),
            "at": timestamp(self.stop_ms),
            "duration_ms": self.stop_ms.saturating_sub(self.start_ms),
        });
        match &self.failure {
            None => {}
            Some(Ok((error, cause))) => {
                entry["error"] = error.as_str().into();
                entry["cause"] = cause.as_str().into();
            }
            Some(Err(Redacted)) => entry["redacted"] = REDACTED.into(),
        }
        entry
    }
}

/// How an execution ended, as `Recent::note` is told it.
pub struct Ended<'a> {
    pub machine: &'a str,
    /// Owned when the caller has no more use for it: the entry keeps it without a copy.
    pub arn: Cow<'a, str>,
    pub outcome: &'a Outcome,
    pub start_ms: u64,
    pub stop_ms: u64,
    /// Whether its error and cause may be kept (see `Api::page_shows_data`).
    pub execution_data: bool,
}

impl Recent {
    /// Notes an execution's end. Without `execution_data` a failure's error and cause are not
    /// kept (either may carry input data, through `ErrorPath`/`CausePath` or a function's
    /// message): the entry says why they are hidden instead.
    pub fn note(&self, e: Ended<'_>) {
        let failed = e.outcome.status != Status::Succeeded;
        let failure = failed.then(|| {
            let f = e.outcome.failure.as_ref();
            if e.execution_data {
                Ok((
                    f.map(|f| f.error.clone()).unwrap_or_default(),
                    f.map(|f| f.cause.clone()).unwrap_or_default(),
                ))
            } else {
                Err(Redacted)
            }
        });
        let entry = Arc::new(Entry {
            arn: e.arn.into_owned(),
            status: e.outcome.status,
            start_ms: e.start_ms,
            stop_ms: e.stop_ms,
            failure,
        });
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let rings = match all.get_mut(e.machine) {
            Some(r) => r,
            None => all.entry(e.machine.to_owned()).or_default(),
        };
        if failed {
            rings.failures.push_front(entry.clone());
            rings.failures.truncate(RECENT_FAILURES);
        }
        rings.ended.push_front(entry);
        rings.ended.truncate(RECENT);
    }

    /// The machine's last ended executions and last failures, newest first.
    fn of(&self, machine: &str) -> (Vec<Value>, Vec<Value>) {
        // The entries are taken under the lock and made into JSON after it.
        let (ended, failures): (Vec<Arc<Entry>>, Vec<Arc<Entry>>) = {
            let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
            all.get(machine)
                .map(|r| {
                    (
                        r.ended.iter().cloned().collect(),
                        r.failures.iter().cloned().collect(),
                    )
                })
                .unwrap_or_default()
        };
        let render = |entries: Vec<Arc<Entry>>| entries.iter().map(|e| e.render()).collect();
        (render(ended), render(failures))
    }
}

impl Api {
    /// Whether the page may show the execution data (errors and causes) of `machine`'s
    /// executions: when its logging includes execution data, or the server was told so.
    pub(super) fn page_shows_data(&self, machine: &str) -> bool {
        if self.page_execution_data {
            return true;
        }
        self.engine
            .registry()
            .get(machine)
            .is_some_and(|m| m.logging.include_execution_data)
    }

    /// `GET /ui/machines`: every machine with its counts, state counts, recent executions and
    /// recent failures.
    pub(super) fn page_machines(&self) -> Value {
        let (machines, _) = self.engine.registry().list(None, usize::MAX);
        let list: Vec<Value> = machines
            .into_iter()
            .map(|machine| {
                let (name, revision) = (machine.name.clone(), machine.revision_id.clone());
                let m = machine.metrics.snapshot();
                let states = machine.tally.snapshot();
                let states: serde_json::Map<String, Value> = states
                    .into_iter()
                    .map(|(s, c)| {
                        (s, json!({"entered": c[0], "succeeded": c[1], "failed": c[2], "retried": c[3]}))
                    })
                    .collect();
                let ms = |q: f64| match &m.latency_us {
                    Some(h) if !h.is_empty() => h.value_at_quantile(q) as f64 / 1000.0,
                    _ => 0.0,
                };
                let (executions, failures) = self.recent.of(&name);
                let last_ended = executions.first().map_or(Value::Null, |e| e["at"].clone());
                json!({
                    "name": &*name,
                    "type": machine.machine_type.as_str(),
                    "revision": revision.unwrap_or_else(|| "0".into()),
                    "started": m.started, "in_flight": m.in_flight, "succeeded": m.succeeded,
                    "failed": m.failed, "timed_out": m.timed_out, "aborted": m.aborted,
                    "throttled": m.throttled, "p50_ms": ms(0.5), "p99_ms": ms(0.99),
                    "states": states,
                    "last_ended": last_ended,
                    "recent_executions": executions,
                    "recent_failures": failures,
                })
            })
            .collect();
        Value::Array(list)
    }

    /// `GET /ui/diagram?machine=NAME`: the machine's diagram as SVG, with room in each state's
    /// box for the badge the page fills.
    pub(super) fn page_diagram(&self, machine: &str) -> Option<String> {
        Some(diagram(&self.engine.registry().get(machine)?.validated))
    }
}

/// A validated machine's diagram as SVG, with room in each state's box for a badge.
fn diagram(validated: &StateMachine) -> String {
    let config = layout::Config { badges: true };
    crate::graph::svg::render_with(&crate::graph::build(validated), &config)
}
