//! `loadtest`: drives statejet over HTTP (`StartSyncExecution`, `StartExecution`) or in process
//! (the library's engine) with a workload, and reports throughput, latency percentiles, errors
//! by kind and the server's CPU and memory.
//!
//! Load is a closed loop (N callers, each sending when its last call ended) or an open loop (a
//! fixed arrival rate; latency counts from each execution's intended send time, so a slow
//! server cannot hide its queueing: no coordinated omission). Every output is compared with the
//! workload's expected output; a wrong result is an error and makes the exit status 1.

mod report;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use statejet::value::Value;
use tokio::time::Instant;

use report::{ProcSample, Report};
use target::{Mode, Target};

// As the shipped binary allocates (statejet::alloc): in process, the engine's allocations are part of what is
// measured, and the system allocator costs about twice as many instructions per block.
#[global_allocator]
static GLOBAL: statejet::alloc::Allocator = statejet::alloc::Allocator;

#[derive(Parser)]
#[command(
    name = "loadtest",
    about = "Load-tests statejet (or any Step Functions API) with a workload"
)]
struct Args {
    /// The API endpoint, e.g. http://127.0.0.1:8083 (a running `statejet serve`).
    #[arg(
        long,
        conflicts_with = "in_process",
        required_unless_present = "in_process"
    )]
    endpoint: Option<String>,
    /// Run statejet's engine in this process instead of calling an endpoint.
    #[arg(long)]
    in_process: bool,
    /// A workload of benches/workloads (NAME.asl.json, NAME.input.json, NAME.expected.json).
    #[arg(long, default_value = "iot_event", conflicts_with = "definition")]
    workload: String,
    /// Where the workloads are.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/workloads"))]
    workloads: PathBuf,
    /// Any definition instead of a workload (with --input, and --expected to check outputs).
    #[arg(long)]
    definition: Option<PathBuf>,
    #[arg(long, requires = "definition")]
    input: Option<PathBuf>,
    #[arg(long, requires = "definition")]
    expected: Option<PathBuf>,
    /// How executions are started over HTTP.
    #[arg(long, value_enum, default_value = "sync")]
    mode: Mode,
    /// The state machine type to create (peers without StartSyncExecution may need STANDARD).
    #[arg(long = "type", default_value = "EXPRESS")]
    machine_type: String,
    /// The state machine's name (default: the workload's).
    #[arg(long)]
    name: Option<String>,
    /// Start executions of `STATE_MACHINE_ARN#CASE`: test case CASE of the server's mocked
    /// service responses (a Step Functions Local mock configuration, LocalStack's
    /// `SFN_MOCK_CONFIG`), for peers that cannot run the workload's Lambda functions.
    #[arg(long, value_name = "CASE")]
    mock_test_case: Option<String>,
    /// Closed loop: this many concurrent callers.
    #[arg(long, default_value_t = 64, conflicts_with = "rate")]
    concurrency: usize,
    /// Open loop: this many executions started per second, whatever the answers.
    #[arg(long)]
    rate: Option<f64>,
    /// Open loop: starts beyond this many unanswered ones are counted as errors, not sent.
    #[arg(long, default_value_t = 100_000)]
    max_outstanding: u64,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// The server's process id, for its CPU and memory (default: a local `statejet serve`).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Worker threads of the load generator (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// The workload's files, read.
struct Workload {
    name: String,
    definition: String,
    input: String,
    expected: Option<Value>,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

impl Workload {
    fn load(args: &Args) -> anyhow::Result<Workload> {
        if let Some(def) = &args.definition {
            let name = def
                .file_name()
                .map(|n| {
                    n.to_string_lossy()
                        .trim_end_matches(".json")
                        .trim_end_matches(".asl")
                        .to_owned()
                })
                .unwrap_or_else(|| "loadtest".into());
            let input = match &args.input {
                Some(p) => read(p)?,
                None => "{}".into(),
            };
            let expected = match &args.expected {
                Some(p) => Some(serde_json::from_str(&read(p)?)?),
                None => None,
            };
            return Ok(Workload {
                name,
                definition: read(def)?,
                input,
                expected,
            });
        }
        let file = |suffix: &str| args.workloads.join(format!("{}.{suffix}", args.workload));
        Ok(Workload {
            name: args.workload.clone(),
            definition: read(&file("asl.json"))?,
            input: read(&file("input.json"))?,
            expected: Some(serde_json::from_str(&read(&file("expected.json"))?)?),
        })
    }
}

/// One execution's record: when it was meant to start, when it ended, how.
struct Sample {
    start: Instant,
    end: Instant,
    result: Result<(), target::Failure>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build().expect("a tokio runtime");
    match rt.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let workload = Workload::load(&args)?;
    // Inputs are sent as text; compact them once, as a client would.
    let input: Value = serde_json::from_str(&workload.input).context("the input is not JSON")?;
    let input = input.to_string();
    let name = args.name.clone().unwrap_or_else(|| workload.name.clone());
    let (target, target_name) = match &args.endpoint {
        Some(url) => (
            Target::http(
                url,
                &name,
                &workload.definition,
                &args.machine_type,
                args.mode,
                args.mock_test_case.as_deref(),
            )
            .await?,
            format!("{url} ({:?})", args.mode).to_lowercase(),
        ),
        None => (
            Target::in_process(&name, &workload.definition)?,
            "statejet engine, in process".to_owned(),
        ),
    };
    // A first execution checks the set-up before any load.
    check(&target.execute(&input).await, &workload.expected).map_err(|e| {
        anyhow::anyhow!(
            "the first execution, run to check the set-up, failed, so no load was sent: {e}"
        )
    })?;

    let target = Arc::new(target);
    let input: Arc<str> = input.into();
    let expected = Arc::new(workload.expected.clone());
    let warmup = Duration::from_secs_f64(args.warmup);
    let measured = Duration::from_secs_f64(args.duration);
    let begin = Instant::now();
    let measure_from = begin + warmup;
    let stop_at = measure_from + measured;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Sample>();

    let progress = indicatif::ProgressBar::new((warmup + measured).as_millis() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:40}] {elapsed}/{duration} {msg}")
            .expect("a valid template"),
    );
    let done = Arc::new(AtomicU64::new(0));

    // What every caller shares, cloned into each task.
    let shared = || {
        (
            target.clone(),
            input.clone(),
            expected.clone(),
            tx.clone(),
            done.clone(),
        )
    };
    let load = match args.rate {
        None => {
            for _ in 0..args.concurrency.max(1) {
                let (target, input, expected, tx, done) = shared();
                tokio::spawn(async move {
                    while Instant::now() < stop_at {
                        let start = Instant::now();
                        let result = check(&target.execute(&input).await, &expected);
                        done.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.send(Sample {
                            start,
                            end: Instant::now(),
                            result,
                        });
                    }
                });
            }
            format!("closed loop, {} callers", args.concurrency.max(1))
        }
        Some(rate) => {
            let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
            let outstanding = Arc::new(AtomicU64::new(0));
            let max_outstanding = args.max_outstanding;
            let (target, input, expected, tx, done) = shared();
            tokio::spawn(async move {
                let mut n: u32 = 0;
                loop {
                    let intended = begin + interval * n;
                    n += 1;
                    if intended >= stop_at {
                        break;
                    }
                    tokio::time::sleep_until(intended).await;
                    if outstanding.load(Ordering::Relaxed) >= max_outstanding {
                        let _ = tx.send(Sample {
                            start: intended,
                            end: intended,
                            result: Err(target::Failure::new(
                                "not sent",
                                format!("{max_outstanding} outstanding"),
                            )),
                        });
                        continue;
                    }
                    outstanding.fetch_add(1, Ordering::Relaxed);
                    let (target, input, expected, tx, done, outstanding) = (
                        target.clone(),
                        input.clone(),
                        expected.clone(),
                        tx.clone(),
                        done.clone(),
                        outstanding.clone(),
                    );
                    tokio::spawn(async move {
                        let result = check(&target.execute(&input).await, &expected);
                        outstanding.fetch_sub(1, Ordering::Relaxed);
                        done.fetch_add(1, Ordering::Relaxed);
                        // Latency from the intended send time: queueing in the generator counts.
                        let _ = tx.send(Sample {
                            start: intended,
                            end: Instant::now(),
                            result,
                        });
                    });
                }
            });
            format!("open loop, {rate} executions/s")
        }
    };
    drop(tx);

    let pid = if args.in_process {
        Some(std::process::id())
    } else {
        args.server_pid.or_else(report::find_server)
    };
    let mut latency = report::histogram();
    let mut ok = 0u64;
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    // CPU and memory are read by a thread of their own at the window's ends, on time even when
    // the load saturates the runtime (in process it shares the runtime with the engine).
    let sampler = std::thread::spawn({
        let (from, to) = (measure_from.into_std(), stop_at.into_std());
        move || {
            std::thread::sleep(from.saturating_duration_since(std::time::Instant::now()));
            let start = pid
                .and_then(ProcSample::read)
                .map(|s| (s, std::time::Instant::now()));
            std::thread::sleep(to.saturating_duration_since(std::time::Instant::now()));
            let end = pid
                .and_then(ProcSample::read)
                .map(|s| (s, std::time::Instant::now()));
            (start, end)
        }
    });
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut last = (Instant::now(), 0u64);
    let mut last_line = Instant::now();
    loop {
        tokio::select! {
            sample = rx.recv() => {
                let Some(s) = sample else { break };
                if s.start < measure_from || s.end > stop_at {
                    continue;
                }
                match s.result {
                    Ok(()) => {
                        ok += 1;
                        let us = (s.end - s.start).as_micros().max(1) as u64;
                        latency.saturating_record(us);
                    }
                    Err(failure) => *errors.entry(failure.kind).or_default() += 1,
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                let n = done.load(Ordering::Relaxed);
                let rate = (n - last.1) as f64 / (now - last.0).as_secs_f64().max(1e-9);
                last = (now, n);
                progress.set_position((now - begin).as_millis() as u64);
                let phase = if now < measure_from { "warm-up" } else { "measuring" };
                let line = format!("{phase}: {n} executions, {rate:.0}/s");
                if progress.is_hidden() {
                    // Not a terminal (a log, CI): a plain line every few seconds instead of a bar.
                    if now >= last_line + Duration::from_secs(5) {
                        last_line = now;
                        eprintln!("loadtest: {:.0} s: {line}", (now - begin).as_secs_f64());
                    }
                } else {
                    progress.set_message(line);
                }
                if now >= stop_at + Duration::from_secs(30) {
                    // Answers later than this are not waited for; they are not counted anyway.
                    break;
                }
            }
        }
    }
    progress.finish_and_clear();
    let (usage_start, usage_end) = sampler.join().unwrap_or((None, None));
    let server = match (usage_start, usage_end) {
        (Some((start, from)), Some((end, to))) if to > from => {
            Some(end.usage_since(&start, to - from))
        }
        _ => None,
    };
    let report = Report {
        target: target_name,
        workload: workload.name,
        load,
        elapsed: measured,
        ok,
        errors,
        latency_us: latency,
        server,
    };
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    let wrong = report.errors.get(WRONG_OUTPUT).copied().unwrap_or(0);
    Ok(if wrong > 0 {
        eprintln!("loadtest: {wrong} executions returned a wrong result");
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

const WRONG_OUTPUT: &str = "wrong output";

/// An execution's result against the expected output.
fn check(
    result: &Result<Option<Value>, target::Failure>,
    expected: &Option<Value>,
) -> Result<(), target::Failure> {
    match (result, expected) {
        (Err(failure), _) => Err(failure.clone()),
        (Ok(Some(out)), Some(want)) if out != want => Err(target::Failure {
            kind: WRONG_OUTPUT.to_owned(),
            detail: format!("got {}, expected {}", clip(out), clip(want)),
        }),
        _ => Ok(()),
    }
}

/// A value's text, cut to a length that reads on one terminal screen.
fn clip(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(600) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}
