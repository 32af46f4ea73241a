//! What the benches share: the workload files, a compiled program, an execution's facts, a clock
//! that never sleeps, and the in-process `echo` handler.
//!
//! Each bench includes this module (`mod common;`) and uses part of it.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use statejet::asl::{self, Config};
use statejet::compile::{self, Program};
use statejet::runtime::engine::Handler;
use statejet::runtime::Clock;
use statejet::value::Value;
use statejet::vm::context::ExecutionInfo;

/// The shared workloads (`benches/workloads/NAME.{asl,input,expected}.json`).
pub const WORKLOADS: [&str; 5] = ["pass10", "choice_loop", "map100", "parallel4", "iot_event"];

/// The text of `benches/workloads/{file}`.
pub fn read(file: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/benches/workloads/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("workload file")
}

/// One workload: its definition text, input and expected output.
pub struct Workload {
    pub name: &'static str,
    pub definition: String,
    pub input: Value,
    pub expected: Value,
}

impl Workload {
    pub fn load(name: &'static str) -> Workload {
        let json = |ext: &str| -> Value {
            serde_json::from_str(&read(&format!("{name}.{ext}"))).expect("workload JSON")
        };
        Workload {
            name,
            definition: read(&format!("{name}.asl.json")),
            input: json("input.json"),
            expected: json("expected.json"),
        }
    }

    /// The definition, validated and compiled.
    pub fn program(&self) -> Arc<Program> {
        let machine = asl::validate(&self.definition, &Config::default()).expect("valid workload");
        Arc::new(compile::compile(machine))
    }
}

/// An execution's facts, as the engine would fill them, around `input`.
pub fn execution(input: Value) -> Arc<ExecutionInfo> {
    Arc::new(ExecutionInfo {
        identity: statejet::arn::Identity::given(
            "arn:aws:states:us-east-1:123456789012:express:bench:run:0".into(),
            "run".into(),
        ),
        input,
        role_arn: "arn:aws:iam::123456789012:role/statejet".into(),
        machine_type: statejet::asl::MachineType::Express,
        start_ms: 1_704_067_200_000, // 2024-01-01T00:00:00Z
        state_machine_id: "arn:aws:states:us-east-1:123456789012:stateMachine:bench".into(),
        state_machine_name: "bench".into(),
        redrive_count: None,
    })
}

/// A clock whose sleeps only move its time: a Wait costs nothing.
pub struct FixedClock(AtomicU64);

impl Default for FixedClock {
    fn default() -> FixedClock {
        FixedClock(AtomicU64::new(1_704_067_200_000))
    }
}

impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn sleep_until(&self, ms: u64) {
        self.0.fetch_max(ms, Ordering::Relaxed);
    }
}

/// The in-process identity function, for `Engine::register_handler("echo", ...)`.
pub fn echo() -> Handler {
    Arc::new(|v: serde_json::Value| Box::pin(async move { Ok(v) }))
}

/// The median, over 21 rounds, of the time of `calls` calls of `a` over that of `calls` calls of
/// `b`, run one after the other so that both see the same load on a shared machine.
pub fn median_ratio<T, U>(calls: u32, mut a: impl FnMut() -> T, mut b: impl FnMut() -> U) -> f64 {
    let batch = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..calls {
            f();
        }
        t.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..21)
        .map(|_| {
            let ta = batch(&mut || {
                black_box(a());
            });
            let tb = batch(&mut || {
                black_box(b());
            });
            ta / tb
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}
