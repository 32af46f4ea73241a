//! The live page at `/`: the state machines, each one's diagram with per-state counts, its
//! execution counts by status and its recent failures, refreshed every second by the page.
//!
//! Invariant: the page is one self-contained HTML file (no build step, nothing fetched from
//! elsewhere), and what it shows comes from the engine's counters and the last failures this
//! API saw; no execution is kept for it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::{json, Value};

use super::wire::timestamp;
use super::Api;
use crate::asl::{self, MachineType};
use crate::runtime::{Outcome, Status};

/// The page itself.
pub const HTML: &str = include_str!("page/index.html");

/// Why a failure's error and cause are not shown.
const REDACTED: &str = "error and cause hidden: they may carry execution data, and this state machine's loggingConfiguration does not include execution data (set includeExecutionData, or start statejet serve with --page-execution-data)";

/// How many recent failures are kept per state machine.
const RECENT: usize = 20;

/// The latest failed, timed-out or aborted executions, per machine name.
#[derive(Default)]
pub struct Failures(Mutex<HashMap<String, VecDeque<Value>>>);

impl Failures {
    /// Notes an execution's end (only failures are kept). Without `execution_data` its error
    /// and cause are not kept (either may carry input data, through `ErrorPath`/`CausePath` or
    /// a function's message): the entry says why they are hidden instead.
    pub fn note(
        &self,
        machine: &str,
        arn: &str,
        outcome: &Outcome,
        at_ms: u64,
        execution_data: bool,
    ) {
        if outcome.status == Status::Succeeded {
            return;
        }
        let f = outcome.failure.as_ref();
        let mut entry = json!({
            "execution_arn": arn,
            "status": outcome.status.as_str(),
            "at": timestamp(at_ms),
        });
        if execution_data {
            entry["error"] = f.map(|f| f.error.as_str()).unwrap_or("").into();
            entry["cause"] = f.map(|f| f.cause.as_str()).unwrap_or("").into();
        } else {
            entry["redacted"] = REDACTED.into();
        }
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let list = all.entry(machine.to_owned()).or_default();
        list.push_front(entry);
        list.truncate(RECENT);
    }

    fn of(&self, machine: &str) -> Vec<Value> {
        let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.get(machine)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Api {
    /// Whether the page may show the execution data (errors and causes) of `machine`'s
    /// executions: when its logging includes execution data, or the server was told so.
    pub(super) fn page_shows_data(&self, machine: &str) -> bool {
        if self.page_execution_data {
            return true;
        }
        let machines = self.machines.read().unwrap_or_else(|p| p.into_inner());
        machines
            .get(machine)
            .is_some_and(|r| r.logging["includeExecutionData"].as_bool() == Some(true))
    }

    /// `GET /ui/machines`: every machine with its counts, state counts and recent failures.
    pub(super) fn page_machines(&self) -> Value {
        let records: Vec<(String, Option<String>)> = {
            let machines = self.machines.read().unwrap_or_else(|p| p.into_inner());
            machines
                .values()
                .map(|r| (r.name.clone(), r.revision_id.clone()))
                .collect()
        };
        let list: Vec<Value> = records
            .into_iter()
            .filter_map(|(name, revision)| {
                let m = self.engine.metrics(&name)?;
                let states = self.engine.state_counts(&name).unwrap_or_default();
                let states: serde_json::Map<String, Value> = states
                    .into_iter()
                    .map(|(s, c)| {
                        (s, json!({"entered": c[0], "succeeded": c[1], "failed": c[2], "retried": c[3]}))
                    })
                    .collect();
                let ms = |q: f64| {
                    if m.latency_us.is_empty() {
                        0.0
                    } else {
                        m.latency_us.value_at_quantile(q) as f64 / 1000.0
                    }
                };
                Some(json!({
                    "name": name,
                    "revision": revision.unwrap_or_else(|| "0".into()),
                    "started": m.started, "in_flight": m.in_flight, "succeeded": m.succeeded,
                    "failed": m.failed, "timed_out": m.timed_out, "aborted": m.aborted,
                    "throttled": m.throttled, "p50_ms": ms(0.5), "p99_ms": ms(0.99),
                    "states": states,
                    "recent_failures": self.failures.of(&name),
                }))
            })
            .collect();
        Value::Array(list)
    }

    /// `GET /ui/diagram?machine=NAME`: the machine's diagram as SVG.
    pub(super) fn page_diagram(&self, machine: &str) -> Option<String> {
        let definition = {
            let machines = self.machines.read().unwrap_or_else(|p| p.into_inner());
            machines.get(machine)?.definition.clone()
        };
        let validated = asl::validate(
            &definition,
            &asl::Config {
                machine_type: MachineType::Express,
            },
        )
        .ok()?;
        Some(crate::graph::svg::render(&crate::graph::build(&validated)))
    }
}
