//! `/metrics`: the engine's counters and duration histograms per state machine, the API's
//! requests per operation, the process's figures and the build, in the Prometheus text format
//! (version 0.0.4).
//!
//! Invariant: every family has its HELP and TYPE lines before its samples, one sample per
//! (metric, label set), and every label value escaped, so any machine name yields a valid
//! exposition; histograms have fixed buckets, so replicas' series add up.

mod process;
mod requests;

use std::fmt::Write as _;

use crate::runtime::engine::Engine;
use crate::runtime::intake::{self, Intake};
use crate::runtime::metrics::{DurationCounts, Snapshot, DURATION_BUCKETS_US};
pub use requests::{Operation, Requests};

/// A metric with one sample per machine: name, help, type, and how to read it.
type Simple = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Snapshot) -> u64,
);

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A family's HELP and TYPE lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One histogram's samples: cumulative `_bucket`s up to `+Inf`, `_sum` and `_count`, each with
/// `labels` (already escaped, without braces) in front of `le`.
fn histogram(out: &mut String, name: &str, labels: &str, h: &DurationCounts) {
    let mut cumulative = 0;
    for (i, n) in h.counts.iter().enumerate() {
        cumulative += n;
        let le = DURATION_BUCKETS_US
            .get(i)
            .map_or("+Inf".to_owned(), |&us| (us as f64 / 1e6).to_string());
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
    }
    let _ = writeln!(
        out,
        "{name}_sum{{{labels}}} {}\n{name}_count{{{labels}}} {cumulative}",
        h.sum_us as f64 / 1e6
    );
}

/// The exposition text: every registered state machine, the API's requests, the durable
/// intake (when there is one), the process.
pub fn render(engine: &Engine, requests: &Requests, intake: Option<&Intake>) -> String {
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
            "Fire-and-forget executions run again: after a panic, or delivered again by the durable intake.",
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
        family(&mut out, name, kind, help);
        for (m, s) in &snapshots {
            let _ = writeln!(out, "{name}{{state_machine=\"{m}\"}} {}", value(s));
        }
    }
    family(
        &mut out,
        "statejet_executions_ended_total",
        "counter",
        "Executions ended, by status.",
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
    family(
        &mut out,
        "statejet_execution_duration_seconds",
        "histogram",
        "Durations of the executions ended, from admission to their end.",
    );
    for (m, s) in &snapshots {
        histogram(
            &mut out,
            "statejet_execution_duration_seconds",
            &format!("state_machine=\"{m}\""),
            &s.duration,
        );
    }
    render_requests(&mut out, requests);
    if let Some(intake) = intake {
        render_intake(&mut out, &intake.stats());
    }
    render_process(&mut out, &process::Process::read());
    family(
        &mut out,
        "statejet_build_info",
        "gauge",
        "The running build: its version and Cargo profile; always 1.",
    );
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let _ = writeln!(
        out,
        "statejet_build_info{{version=\"{}\",profile=\"{profile}\"}} 1",
        label(env!("CARGO_PKG_VERSION"))
    );
    out
}

/// The API's requests: a counter by operation, status code and error name, and a latency
/// histogram by operation and status code.
fn render_requests(out: &mut String, requests: &Requests) {
    let series = requests.snapshot();
    family(
        out,
        "statejet_api_requests_total",
        "counter",
        "API requests answered, by operation (X-Amz-Target), HTTP status code (499: the client hung up first) and error name.",
    );
    for ((op, code, error), h) in &series {
        let error = error.map_or(String::new(), |e| format!(",error=\"{}\"", label(e)));
        let _ = writeln!(
            out,
            "statejet_api_requests_total{{operation=\"{}\",code=\"{code}\"{error}}} {}",
            op.name(),
            h.count()
        );
    }
    family(
        out,
        "statejet_api_request_duration_seconds",
        "histogram",
        "API request latencies, from the request's headers to its answer, by operation and HTTP status code.",
    );
    // The keys are in order, so the error names of one (operation, code) are adjacent.
    let mut merged: Vec<((Operation, u16), DurationCounts)> = Vec::new();
    for ((op, code, _), h) in series {
        match merged.last_mut() {
            Some((key, sum)) if *key == (op, code) => sum.add(&h),
            _ => merged.push(((op, code), h)),
        }
    }
    for ((op, code), h) in &merged {
        histogram(
            out,
            "statejet_api_request_duration_seconds",
            &format!("operation=\"{}\",code=\"{code}\"", op.name()),
            h,
        );
    }
}

/// The durable intake's counters: one sample per family, the rejections by reason.
fn render_intake(out: &mut String, s: &intake::Stats) {
    let figures: [(&str, &str, &str, u64); 7] = [
        (
            "statejet_intake_stored_total",
            "counter",
            "StartExecution requests that JetStream confirmed storing.",
            s.stored,
        ),
        (
            "statejet_intake_store_failures_total",
            "counter",
            "StartExecution requests refused because JetStream did not confirm storing them.",
            s.store_failures,
        ),
        (
            "statejet_intake_deliveries_total",
            "counter",
            "Messages this replica received from the durable consumer (every delivery).",
            s.delivered,
        ),
        (
            "statejet_intake_redeliveries_total",
            "counter",
            "Of those, deliveries after the first (a replica stopped or did not ack in time).",
            s.redelivered,
        ),
        (
            "statejet_intake_acked_total",
            "counter",
            "Messages acknowledged once their execution's terminal log event was written and flushed.",
            s.acked,
        ),
        (
            "statejet_intake_deliveries_exhausted_total",
            "counter",
            "Executions ended as failed (Statejet.DeliveryLimitReached) at their last delivery.",
            s.exhausted,
        ),
        (
            "statejet_intake_connected",
            "gauge",
            "Whether this replica is connected to NATS now (1) or not (0).",
            u64::from(s.connected),
        ),
    ];
    for (name, kind, help, value) in figures {
        family(out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    family(
        out,
        "statejet_intake_rejected_total",
        "counter",
        "Messages that started no execution, by reason; they are not delivered again.",
    );
    for (why, n) in intake::Rejected::ALL.iter().zip(s.rejected) {
        let _ = writeln!(
            out,
            "statejet_intake_rejected_total{{reason=\"{}\"}} {n}",
            why.as_str()
        );
    }
}

/// The process figures that could be read, each as a family of one sample.
fn render_process(out: &mut String, p: &process::Process) {
    let figures: [(&str, &str, &str, Option<f64>); 6] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            p.cpu_seconds,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            p.resident_bytes.map(|b| b as f64),
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            p.virtual_bytes.map(|b| b as f64),
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            p.open_fds.map(|n| n as f64),
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            p.max_fds.map(|n| n as f64),
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            p.start_time_seconds,
        ),
    ];
    for (name, kind, help, value) in figures {
        if let Some(v) = value {
            family(out, name, kind, help);
            let _ = writeln!(out, "{name} {v}");
        }
    }
}
