//! Front-end cost: validating each workload definition, and validating plus compiling it.
//!
//! Guards against a regression in `asl::validate` and `compile::compile`, which run once per
//! state machine registration (not per execution), so they matter for start-up and
//! `CreateStateMachine` latency.

#[allow(dead_code)]
mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use statejet::asl::{self, Config};
use statejet::compile;

use common::{read, WORKLOADS};

/// The allocator the binary uses (`src/main.rs`), so figures are the shipped ones.
#[global_allocator]
static ALLOCATOR: statejet::alloc::Allocator = statejet::alloc::Allocator;

fn validate(c: &mut Criterion) {
    let config = Config::default();
    for name in WORKLOADS {
        let text = read(&format!("{name}.asl.json"));
        assert!(asl::validate(&text, &config).is_ok(), "{name} is valid");
        c.bench_function(&format!("validate/{name}"), |b| {
            b.iter(|| asl::validate(black_box(&text), &config))
        });
        c.bench_function(&format!("validate_and_compile/{name}"), |b| {
            b.iter(|| asl::validate(black_box(&text), &config).map(compile::compile))
        });
    }
}

criterion_group!(benches, validate);
criterion_main!(benches);
