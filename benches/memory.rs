//! Memory of a suspended execution: the bytes one fire-and-forget execution holds while it waits
//! in a Wait state (target: at most 2 KiB).
//!
//! Guards the engine's footprint per waiting execution, which bounds how many can be in flight.
//! A counting global allocator tracks live bytes (and live blocks by size) around
//! `EXECUTIONS` starts of a one-state `Wait` of an hour, measured twice: once started but not
//! yet run (what `start` allocates), once every execution is asleep in its Wait.
//!
//! Then retained STANDARD executions (`runtime::executions`): the bytes one ended `iot_event`
//! execution holds while it is kept (its history included), against the store's estimate
//! (`retained_size`, what `--max-retained-memory` counts), and that live memory stays flat
//! once the retention bound is reached (`RETAINED` kept, `2 * RETAINED` run); then the memory
//! bound alone (`MEMORY_BOUND` bytes) over `BOUNDED_RUN` executions: live bytes and the
//! process's RSS sampled as they run, flat once the bound is reached.

#[allow(dead_code)]
mod common;

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use statejet::asl::MachineType;
use statejet::json;
use statejet::runtime::engine::{Config, Engine};
use statejet::tasks::Functions;
use statejet::vm::context::ExecutionInfo;
use statejet::vm::{Journal, Run};

const EXECUTIONS: usize = 100_000;

/// Blocks are counted by size in 16-byte classes up to this size, the rest in the last class.
const LARGEST_CLASS: usize = 8192;
const CLASSES: usize = LARGEST_CLASS / 16 + 1;

/// The binary's allocator (`src/main.rs`), counting the bytes and blocks asked of it.
struct Counting {
    live_bytes: AtomicIsize,
    live_blocks: [AtomicIsize; CLASSES],
}

fn class(size: usize) -> usize {
    (size.div_ceil(16)).min(CLASSES - 1)
}

impl Counting {
    fn count(&self, size: usize, sign: isize) {
        self.live_bytes
            .fetch_add(sign * size as isize, Ordering::Relaxed);
        self.live_blocks[class(size)].fetch_add(sign, Ordering::Relaxed);
    }

    fn snapshot(&self) -> (isize, Vec<isize>) {
        let blocks = self
            .live_blocks
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        (self.live_bytes.load(Ordering::Relaxed), blocks)
    }
}

// SAFETY: every call is passed on unchanged to mimalloc; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.count(layout.size(), 1);
        // SAFETY: the caller's contract, passed on.
        unsafe { statejet::alloc::Allocator.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.count(layout.size(), 1);
        // SAFETY: the caller's contract, passed on.
        unsafe { statejet::alloc::Allocator.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.count(layout.size(), -1);
        // SAFETY: the caller's contract, passed on.
        unsafe { statejet::alloc::Allocator.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.count(layout.size(), -1);
        self.count(new_size, 1);
        // SAFETY: the caller's contract, passed on.
        unsafe { statejet::alloc::Allocator.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting {
    live_bytes: AtomicIsize::new(0),
    live_blocks: [const { AtomicIsize::new(0) }; CLASSES],
};

/// Live bytes per execution between two snapshots, and the block sizes that make them up
/// (classes holding at least one block per ten executions).
fn report(stage: &str, before: &(isize, Vec<isize>), after: &(isize, Vec<isize>)) {
    let per = (after.0 - before.0) as f64 / EXECUTIONS as f64;
    println!("{stage}: {per:.0} bytes per execution");
    for (i, (b, a)) in before.1.iter().zip(&after.1).enumerate() {
        let blocks = (a - b) as f64 / EXECUTIONS as f64;
        if blocks.abs() >= 0.1 {
            let size = if i == CLASSES - 1 {
                format!("> {LARGEST_CLASS}")
            } else {
                format!("{}-{}", i * 16 - 15, i * 16)
            };
            println!("  {blocks:>5.2} blocks of {size} bytes");
        }
    }
}

fn main() {
    println!(
        "sizes: ExecutionInfo {} B, Run {} B, Journal {} B (their own heap data aside)",
        size_of::<ExecutionInfo>(),
        size_of::<Run>(),
        size_of::<Journal>()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let _entered = rt.enter();
    let engine = Engine::new(
        Config {
            max_in_flight: EXECUTIONS,
            ..Config::default()
        },
        Functions::default(),
    );
    let wait =
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#;
    engine
        .register_state_machine("wait", wait, MachineType::Express)
        .expect("valid definition");
    // One execution first, so that lazily built runtime structures are not counted.
    engine
        .start("wait", None, json!({}), |_, _| {})
        .expect("admitted");
    rt.block_on(tokio::time::sleep(Duration::from_millis(10)));

    let base = ALLOCATOR.snapshot();
    for _ in 1..EXECUTIONS {
        engine
            .start("wait", None, json!({}), |_, _| {})
            .expect("admitted");
    }
    let started = ALLOCATOR.snapshot();
    // Run every task until it sleeps: wait for the live bytes to settle.
    let mut asleep = started.clone();
    loop {
        rt.block_on(tokio::time::sleep(Duration::from_millis(200)));
        let now = ALLOCATOR.snapshot();
        if now.0 == asleep.0 {
            break;
        }
        asleep = now;
    }
    assert_eq!(engine.in_flight(), EXECUTIONS, "every execution is waiting");
    println!("{EXECUTIONS} executions of a one-state Wait(3600 s), fire-and-forget:");
    report("started, not yet run", &base, &started);
    report("running to the Wait", &started, &asleep);
    report("suspended in the Wait (total)", &base, &asleep);
    drop(engine);
    rt.block_on(retained());
}

/// How many STANDARD executions the retention bound keeps in the second measurement.
const RETAINED: usize = 10_000;

/// Bytes per retained ended STANDARD execution of `iot_event`, and live bytes after the bound
/// is reached and as many again have run (flat: the oldest ended are evicted).
async fn retained() {
    use statejet::runtime::engine::StandardStart;
    use statejet::runtime::executions::Started;
    let engine = Engine::new(
        Config {
            max_retained_executions: RETAINED,
            ..Config::default()
        },
        Functions::default(),
    );
    engine.register_handler("echo", common::echo());
    let w = common::Workload::load("iot_event");
    engine
        .register_state_machine("iot", &w.definition, MachineType::Standard)
        .expect("valid workload");
    let m = engine.registry().get("iot").expect("registered");
    let run = |n: usize| {
        let engine = engine.clone();
        let m = m.clone();
        let input = w.input.clone();
        async move {
            for _ in 0..n {
                let start = StandardStart {
                    name: None,
                    input: input.clone(),
                    input_text: input.to_string(),
                    version_arn: None,
                    alias_arn: None,
                };
                if let Ok(Started::New(e)) = engine.start_standard(m.clone(), start, |_| {}) {
                    e.finished().await;
                }
            }
        }
    };
    run(1).await;
    let base = ALLOCATOR.snapshot();
    run(RETAINED - 1).await;
    let full = ALLOCATOR.snapshot();
    run(RETAINED).await;
    let after = ALLOCATOR.snapshot();
    assert_eq!(engine.executions().len(), RETAINED, "the bound holds");
    let per = (full.0 - base.0) as f64 / (RETAINED - 1) as f64;
    let estimated = engine.executions().retained_bytes() as f64 / RETAINED as f64;
    println!(
        "{RETAINED} retained STANDARD iot_event executions (history included): {per:.0} bytes per execution measured, {estimated:.0} estimated ({:+.1}%)",
        (estimated - per) * 100.0 / per
    );
    println!(
        "after {RETAINED} more: live bytes changed by {:+.1}% (the oldest ended are evicted)",
        (after.0 - full.0) as f64 * 100.0 / (full.0 - base.0) as f64
    );
    drop(engine);
    bounded(&w).await;
}

/// The memory bound of the third measurement, and how many executions run under it.
const MEMORY_BOUND: usize = 64 << 20;
const BOUNDED_RUN: usize = 100_000;

/// `BOUNDED_RUN` STANDARD `iot_event` executions under `--max-retained-memory MEMORY_BOUND`
/// alone (no count bound to speak of): live bytes and RSS every tenth of the run.
async fn bounded(w: &common::Workload) {
    use statejet::runtime::engine::StandardStart;
    use statejet::runtime::executions::Started;
    let engine = Engine::new(
        Config {
            max_retained_executions: usize::MAX,
            max_retained_bytes: MEMORY_BOUND,
            ..Config::default()
        },
        Functions::default(),
    );
    engine.register_handler("echo", common::echo());
    engine
        .register_state_machine("iot", &w.definition, MachineType::Standard)
        .expect("valid workload");
    let m = engine.registry().get("iot").expect("registered");
    let base = ALLOCATOR.snapshot();
    println!(
        "{BOUNDED_RUN} executions under a {} MiB memory bound:",
        MEMORY_BOUND >> 20
    );
    println!("  executions  retained  estimated MiB  live MiB  RSS MiB");
    for i in 1..=BOUNDED_RUN {
        let start = StandardStart {
            name: None,
            input: w.input.clone(),
            input_text: w.input.to_string(),
            version_arn: None,
            alias_arn: None,
        };
        if let Ok(Started::New(e)) = engine.start_standard(m.clone(), start, |_| {}) {
            e.finished().await;
        }
        if i % (BOUNDED_RUN / 10) == 0 {
            let live = (ALLOCATOR.snapshot().0 - base.0) as f64 / (1 << 20) as f64;
            println!(
                "  {i:>10}  {:>8}  {:>13.1}  {live:>8.1}  {:>7.1}",
                engine.executions().len(),
                engine.executions().retained_bytes() as f64 / (1 << 20) as f64,
                rss_mib()
            );
        }
    }
    assert!(
        engine.executions().retained_bytes() <= MEMORY_BOUND,
        "the bound holds"
    );
}

/// The process's resident set, in MiB (Linux: /proc/self/statm, pages of 4 KiB).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(f64::NAN, |pages| pages * 4096.0 / (1 << 20) as f64)
}
