//! The tokio `Engine` under a closed-loop load: executions per second and latency percentiles of
//! each workload on one worker thread and on two, and the cost of each logging level.
//!
//! Guards the engine's per-execution overhead (admission, ARNs, the driver, metrics, logs) on top
//! of the interpreter's (`benches/execute.rs`). `CLIENTS` tasks each call `start_sync` in a loop
//! with the in-process `echo` handler, so no process is spawned. Criterion reports throughput;
//! the table printed at the end adds latency percentiles (hdrhistogram, from every call timed).

#[allow(dead_code)]
mod common;

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use hdrhistogram::Histogram;
use statejet::asl::MachineType;
use statejet::runtime::engine::{Config, Engine};
use statejet::runtime::logs::{Level, LogWriter, LoggingConfiguration};
use statejet::runtime::Status;
use statejet::tasks::Functions;
use statejet::value::Value;
use tokio::runtime::Runtime;

use common::{echo, Workload, WORKLOADS};

/// The allocator the binary uses (`src/main.rs`), so figures are the shipped ones.
#[global_allocator]
static ALLOCATOR: statejet::alloc::Allocator = statejet::alloc::Allocator;

/// Calls in flight at once: enough to keep both workers busy whatever a call waits on.
const CLIENTS: u64 = 128;

/// What one case measured across all of criterion's batches.
struct Tally {
    executions: u64,
    elapsed: Duration,
    latency_ns: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            executions: 0,
            elapsed: Duration::ZERO,
            // 1 ns to 100 s, 3 significant digits.
            latency_ns: Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("bounds"),
        }
    }

    /// A table row, if criterion ran this case (a filter may have left it out).
    fn row(&self, case: &str) -> Option<String> {
        if self.executions == 0 {
            return None;
        }
        let q = |p: f64| self.latency_ns.value_at_quantile(p) as f64 / 1_000.0;
        Some(format!(
            "| {case} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |",
            self.executions as f64 / self.elapsed.as_secs_f64(),
            q(0.50),
            q(0.90),
            q(0.99),
            q(0.999)
        ))
    }
}

fn runtime(workers: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// An engine on `rt` with the `echo` handler.
fn engine(rt: &Runtime, log_writer: Option<LogWriter>) -> Engine {
    let _entered = rt.enter();
    let e = Engine::new(
        Config {
            log_writer,
            ..Config::default()
        },
        Functions::default(),
    );
    e.register_handler("echo", echo());
    e
}

/// Runs `executions` executions of `machine`, `CLIENTS` at a time; each call's latency (from the
/// call to its return, while the others are in flight) goes into `tally`.
fn closed_loop(
    rt: &Runtime,
    engine: &Engine,
    machine: &str,
    input: &Value,
    executions: u64,
    tally: &mut Tally,
) -> Duration {
    let next = Arc::new(AtomicU64::new(0));
    let began = Instant::now();
    let latencies = rt.block_on(async {
        let clients: Vec<_> = (0..CLIENTS.min(executions))
            .map(|_| {
                let (engine, next, machine, input) = (
                    engine.clone(),
                    next.clone(),
                    machine.to_owned(),
                    input.clone(),
                );
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity((executions / CLIENTS + 1) as usize);
                    while next.fetch_add(1, Ordering::Relaxed) < executions {
                        let t = Instant::now();
                        let r = engine.start_sync(&machine, None, input.clone()).await;
                        latencies.push(t.elapsed().as_nanos() as u64);
                        let status = r.expect("admitted").outcome.status;
                        assert_eq!(status, Status::Succeeded, "{machine}");
                        // Let the other clients' calls in, as requests from a network would.
                        tokio::task::yield_now().await;
                    }
                    latencies
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in clients {
            all.extend(c.await.expect("client"));
        }
        all
    });
    let elapsed = began.elapsed();
    for ns in latencies {
        tally.latency_ns.saturating_record(ns.max(1));
    }
    tally.executions += executions;
    tally.elapsed += elapsed;
    elapsed
}

/// Checks one execution's output, then measures the closed loop under criterion.
fn measure(
    c: &mut Criterion,
    id: &str,
    (rt, engine): (&Runtime, &Engine),
    w: &Workload,
    machine: &str,
) -> Tally {
    let r = rt
        .block_on(engine.start_sync(machine, None, w.input.clone()))
        .expect("admitted");
    assert_eq!(r.outcome.output.as_ref(), Some(&w.expected), "{id}");
    let mut tally = Tally::new();
    let mut group = c.benchmark_group("engine");
    group
        .throughput(Throughput::Elements(1))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10);
    group.bench_function(id, |b| {
        b.iter_custom(|n| closed_loop(rt, engine, machine, &w.input, n, &mut tally))
    });
    group.finish();
    tally
}

/// Each workload on one worker thread, then on two.
fn throughput(c: &mut Criterion) -> Vec<String> {
    let mut rows = Vec::new();
    for workers in [1, 2] {
        let rt = runtime(workers);
        let engine = engine(&rt, None);
        for name in WORKLOADS {
            let w = Workload::load(name);
            engine
                .register_state_machine(name, &w.definition, MachineType::Express)
                .expect("valid workload");
            let id = format!("{name}/{workers}-thread");
            let tally = measure(c, &id, (&rt, &engine), &w, name);
            rows.extend(tally.row(&format!("{name} | {workers}")));
        }
    }
    rows
}

/// `iot_event` at each logging level, lines going to a writer thread that discards them; one
/// worker thread, so the writer has the other core.
fn logging(c: &mut Criterion) -> Vec<String> {
    let w = Workload::load("iot_event");
    let levels = [
        ("no-writer", Level::Off, false),
        ("OFF", Level::Off, false),
        ("FATAL", Level::Fatal, false),
        ("ERROR", Level::Error, false),
        ("ALL-no-data", Level::All, false),
        ("ALL-data", Level::All, true),
    ];
    let mut rows = Vec::new();
    for (case, level, include_execution_data) in levels {
        let rt = runtime(1);
        let writer = (case != "no-writer").then(|| LogWriter::spawn(Box::new(io::sink()), 1024));
        let engine = engine(&rt, writer);
        let logging = LoggingConfiguration {
            level,
            include_execution_data,
        };
        engine
            .register_logged_state_machine(case, &w.definition, MachineType::Express, logging)
            .expect("valid workload");
        let tally = measure(c, &format!("logging/{case}"), (&rt, &engine), &w, case);
        rows.extend(tally.row(case));
    }
    rows
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let throughput = throughput(&mut c);
    let logging = logging(&mut c);
    c.final_summary();
    let header = "| exec/s | p50 µs | p90 µs | p99 µs | p99.9 µs |\n";
    let rule = "|---|---:|---:|---:|---:|---:|";
    println!("\nClosed loop, {CLIENTS} start_sync calls in flight:\n");
    println!("| workload | worker threads {header}|---{rule}");
    throughput.iter().for_each(|r| println!("{r}"));
    println!("\niot_event by logging level (1 worker thread, lines to io::sink):\n");
    println!("| level {header}{rule}");
    logging.iter().for_each(|r| println!("{r}"));
}
