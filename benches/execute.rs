//! Executions of the shared workloads, in process, on one thread with a clock that never sleeps.
//!
//! Guards the interpreter's per-execution cost (the data flow, templates, Choice, intrinsics,
//! Map and Parallel) against regressions; `echo` is the in-process identity function.

#[allow(dead_code)]
mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use serde_json::{json, Value};
use statejet::asl::{self, Config};
use statejet::compile;
use statejet::runtime::{self, Status};
use statejet::tasks::Functions;

use common::{execution, median_ratio, FixedClock, Workload, WORKLOADS};

/// The allocator the binary uses (`src/main.rs`), so figures are the shipped ones.
#[global_allocator]
static ALLOCATOR: statejet::alloc::Allocator = statejet::alloc::Allocator;

fn execute(c: &mut Criterion) {
    let functions = Functions::parse(r#"{"functions": {"echo": {"identity": {}}}}"#).unwrap();
    for name in WORKLOADS {
        let w = Workload::load(name);
        let program = w.program();
        let execution = execution(w.input.clone());
        let clock = FixedClock::default();
        let check = runtime::execute(program.clone(), execution.clone(), &functions, &clock);
        assert_eq!(
            check.status,
            Status::Succeeded,
            "{name}: {:?}",
            check.failure
        );
        assert_eq!(check.output.as_ref(), Some(&w.expected), "{name} output");
        c.bench_function(&format!("execute/{name}"), |b| {
            b.iter(|| runtime::execute(program.clone(), execution.clone(), &functions, &clock))
        });
    }
}

/// The same state in both query languages: a JSONata state must not cost much more than its
/// JSONPath twin (the ratio of these two is reported in BENCHMARKS.md).
fn query_languages(c: &mut Criterion) {
    let jsonpath = r#"{"StartAt": "S", "States": {"S": {"Type": "Pass", "Parameters": {
        "device.$": "$.deviceId", "temp.$": "$.reading.temperature",
        "key.$": "States.Format('{}#{}', $.site, $.deviceId)"}, "End": true}}}"#;
    let jsonata = r#"{"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Pass", "Output": {
        "device": "{% $states.input.deviceId %}", "temp": "{% $states.input.reading.temperature %}",
        "key": "{% $states.input.site & '#' & $states.input.deviceId %}"}, "End": true}}}"#;
    let input = Workload::load("iot_event").input;
    let functions = Functions::default();
    let mut outputs = Vec::new();
    for (name, text) in [("jsonpath", jsonpath), ("jsonata", jsonata)] {
        let machine = asl::validate(text, &Config::default()).unwrap();
        let program = std::sync::Arc::new(compile::compile(machine));
        let execution = execution(input.clone());
        let clock = FixedClock::default();
        let o = runtime::execute(program.clone(), execution.clone(), &functions, &clock);
        outputs.push(o.output);
        c.bench_function(&format!("query_language/{name}"), |b| {
            b.iter(|| runtime::execute(program.clone(), execution.clone(), &functions, &clock))
        });
    }
    assert_eq!(
        outputs[0], outputs[1],
        "both states compute the same output"
    );
}

/// `iot_event` written by hand on `serde_json::Value`, the interpreter's value type, with the
/// same data flow: the Choice, the Pass results placed by ResultPath, the template with its
/// intrinsics, the Task's payload (echo), the OutputPath.
fn iot_event_by_hand(input: &Value) -> Value {
    fn echo(v: Value) -> Value {
        v
    }
    let mut state = input.clone();
    state["severity"] = Value::from(severity(&state));
    state["enriched"] = enrich(&state, &state["severity"]);
    state["stored"] = echo(state["enriched"].clone());
    state["stored"].take()
}

/// The same output straight from the input: no state carried from step to step, only what the
/// output needs. A lower bound, not the workflow's data flow.
fn iot_event_direct(input: &Value) -> Value {
    enrich(input, &Value::from(severity(input)))
}

/// The Choice of `iot_event`.
fn severity(state: &Value) -> &'static str {
    match state["reading"]["temperature"].as_f64() {
        Some(t) if t >= 90.0 => "CRITICAL",
        Some(t) if t >= 75.0 => "WARN",
        _ => "OK",
    }
}

/// The `Enrich` state's Parameters.
fn enrich(state: &Value, severity: &Value) -> Value {
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    };
    json!({
        "deviceId": state["deviceId"].clone(),
        "severity": severity.clone(),
        "key": format!("{}#{}#{}", text(&state["site"]), text(&state["deviceId"]), text(&state["ts"])),
        "nextSeq": state["seq"].as_i64().unwrap_or(0) + 1,
        "tagCount": state["tags"].as_array().map_or(0, Vec::len),
        "temp": state["reading"]["temperature"].clone(),
        "labels": [state["site"].clone(), severity.clone()],
    })
}

/// The interpreter against the same work written by hand (target: at most 3x), and against the
/// direct computation of the output; prints the ratios after criterion's own report.
fn overhead(c: &mut Criterion) {
    let functions = Functions::parse(r#"{"functions": {"echo": {"identity": {}}}}"#).unwrap();
    let w = Workload::load("iot_event");
    // The hand-written versions work on serde_json's values, as hand-written Rust would.
    let (input, expected) = (w.input.to_serde(), w.expected.to_serde());
    assert_eq!(iot_event_by_hand(&input), expected, "by hand");
    assert_eq!(iot_event_direct(&input), expected, "direct");
    let program = w.program();
    let execution = execution(w.input.clone());
    let clock = FixedClock::default();
    let interpreted = || runtime::execute(program.clone(), execution.clone(), &functions, &clock);
    let by_hand = || iot_event_by_hand(black_box(&input));
    let direct = || iot_event_direct(black_box(&input));
    let mut group = c.benchmark_group("overhead/iot_event");
    group.bench_function("interpreter", |b| b.iter(interpreted));
    group.bench_function("by_hand", |b| b.iter(by_hand));
    group.bench_function("direct", |b| b.iter(direct));
    group.finish();
    let ratio = median_ratio(2_000, interpreted, by_hand);
    println!("overhead/iot_event: interpreter / by hand = {ratio:.2}x (target: at most 3x)");
    let ratio = median_ratio(2_000, interpreted, direct);
    println!("overhead/iot_event: interpreter / direct = {ratio:.2}x");
}

criterion_group!(benches, execute, query_languages, overhead);
criterion_main!(benches);
