//! `/metrics`: the engine's counters and latency histograms in the Prometheus text format.
//!
//! Invariant: one sample per (metric, state machine[, label]) and every label value escaped, so
//! any machine name yields a valid exposition.

use std::fmt::Write as _;

use crate::runtime::engine::Engine;
use crate::runtime::metrics::Snapshot;

/// A metric with one sample per machine: name, help, type, and how to read it.
type Simple = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Snapshot) -> u64,
);

/// Quantiles of the execution duration summary.
const QUANTILES: [f64; 5] = [0.5, 0.9, 0.99, 0.999, 1.0];

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition text for every registered state machine.
pub fn render(engine: &Engine) -> String {
    let snapshots: Vec<_> = engine
        .state_machines()
        .into_iter()
        .filter_map(|name| engine.metrics(&name).map(|s| (label(&name), s)))
        .collect();
    let mut out = String::new();
    let simple: [Simple; 4] = [
        (
            "statejet_executions_started_total",
            "Executions admitted.",
            "counter",
            |s| s.started,
        ),
        (
            "statejet_executions_throttled_total",
            "Starts refused because the in-flight limit was reached.",
            "counter",
            |s| s.throttled,
        ),
        (
            "statejet_executions_redelivered_total",
            "Fire-and-forget executions run again after a panic.",
            "counter",
            |s| s.redelivered,
        ),
        (
            "statejet_executions_in_flight",
            "Executions started and not yet ended.",
            "gauge",
            |s| s.in_flight,
        ),
    ];
    for (name, help, kind, value) in simple {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (m, s) in &snapshots {
            let _ = writeln!(out, "{name}{{state_machine=\"{m}\"}} {}", value(s));
        }
    }
    let _ = writeln!(
        out,
        "# HELP statejet_executions_ended_total Executions ended, by status.\n# TYPE statejet_executions_ended_total counter"
    );
    for (m, s) in &snapshots {
        for (status, n) in [
            ("SUCCEEDED", s.succeeded),
            ("FAILED", s.failed),
            ("TIMED_OUT", s.timed_out),
            ("ABORTED", s.aborted),
        ] {
            let _ = writeln!(
                out,
                "statejet_executions_ended_total{{state_machine=\"{m}\",status=\"{status}\"}} {n}"
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP statejet_execution_duration_seconds Execution durations (hdrhistogram, 3 significant digits).\n# TYPE statejet_execution_duration_seconds summary"
    );
    for (m, s) in &snapshots {
        let h = &s.latency_us;
        for q in QUANTILES {
            let v = if h.is_empty() {
                0
            } else {
                h.value_at_quantile(q)
            };
            let _ = writeln!(
                out,
                "statejet_execution_duration_seconds{{state_machine=\"{m}\",quantile=\"{q}\"}} {}",
                v as f64 / 1e6
            );
        }
        let _ = writeln!(
            out,
            "statejet_execution_duration_seconds_sum{{state_machine=\"{m}\"}} {}",
            h.mean() * h.len() as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "statejet_execution_duration_seconds_count{{state_machine=\"{m}\"}} {}",
            h.len()
        );
    }
    out
}
