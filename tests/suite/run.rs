//! Executions with an injected clock: each case in `tests/data/run/` gives a definition, an
//! input and functions, and the exact result (status and output, or error and cause).
//! `STATEJET_UPDATE_SNAPSHOTS=1` fills in cases whose `expect` is null (review them!).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use statejet::arn::Identity;
use statejet::asl::{self, Config};
use statejet::compile;
use statejet::runtime::{self, engine, Clock, Outcome, Status};
use statejet::tasks::Functions;
use statejet::vm::context::ExecutionInfo;

use crate::{check_all, data_dir, named_files, read_json};

/// A clock that jumps to whatever time a run sleeps until.
pub struct TestClock(AtomicU64);

/// 2024-01-01T00:00:00Z.
const EPOCH_2024: u64 = 1_704_067_200_000;

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn sleep_until(&self, ms: u64) {
        self.0.fetch_max(ms, Ordering::Relaxed);
    }
}

fn execute(definition: &Value, input: Value, functions: &Functions, clock: &dyn Clock) -> Outcome {
    let machine = asl::validate(&definition.to_string(), &Config::default())
        .unwrap_or_else(|d| panic!("invalid definition: {d:?}"));
    runtime::execute(
        Arc::new(compile::compile(machine)),
        execution(input),
        functions,
        clock,
    )
}

fn execution(input: Value) -> Arc<ExecutionInfo> {
    Arc::new(ExecutionInfo {
        identity: Identity::given("arn:aws:states:us-east-1:123456789012:express:test:run:00000000-0000-4000-8000-000000000000".into(), "run".into()),
        input: input.into(),
        role_arn: "arn:aws:iam::123456789012:role/statejet".into(),
        machine_type: statejet::asl::MachineType::Express,
        start_ms: 1_704_067_200_000, // 2024-01-01T00:00:00Z
        state_machine_id: "arn:aws:states:us-east-1:123456789012:stateMachine:test".into(),
        state_machine_name: "test".into(),
        redrive_count: None,
    })
}

fn result(o: Outcome) -> Value {
    match o.status {
        Status::Succeeded => json!({"status": "SUCCEEDED", "output": o.output}),
        s => {
            let f = o.failure.expect("a failed run has a failure");
            json!({"status": s.as_str(), "error": f.error, "cause": f.cause})
        }
    }
}

#[test]
fn executions_match_expected_results() {
    let cases = named_files(&data_dir().join("run"));
    check_all(cases, |path| {
        let mut case = read_json(&path);
        let functions = functions_of(&case)?;
        let clock = TestClock(AtomicU64::new(EPOCH_2024));
        let got = result(execute(
            &case["definition"],
            case["input"].clone(),
            &functions,
            &clock,
        ));
        compare(&mut case, &path, got)
    });
}

/// The same cases on the engine's host of the driver (tokio, its clock paused so that time
/// passes only when every run waits): both drivers give the same results.
#[test]
fn executions_match_expected_results_on_the_engine() {
    let cases = named_files(&data_dir().join("run"));
    check_all(cases, |path| {
        let mut case = read_json(&path);
        let functions = functions_of(&case)?;
        let machine = asl::validate(&case["definition"].to_string(), &Config::default())
            .map_err(|d| format!("{d:?}"))?;
        // A paused clock jumps to the next timer whenever the runtime is idle, also while a
        // command function's program runs, which would time the program out at once: cases
        // that run programs keep real time (and need the I/O driver for their pipes).
        let runs_programs = case["functions"].to_string().contains("\"command\"");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(!runs_programs)
            .build()
            .map_err(|e| e.to_string())?;
        let (outcome, _) = runtime.block_on(async {
            let config = engine::Config {
                epoch_ms: Some(EPOCH_2024),
                ..Default::default()
            };
            engine::Engine::new(config, functions)
                .execute_recorded(
                    Arc::new(compile::compile(machine)),
                    execution(case["input"].clone()),
                )
                .await
        });
        compare(&mut case, &path, result(outcome))
    });
}

#[test]
fn an_hour_long_wait_takes_no_time() {
    let clock = TestClock(AtomicU64::new(EPOCH_2024));
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "Next": "Seen"},
        "Seen": {"Type": "Pass", "Parameters": {"at.$": "$$.State.EnteredTime"}, "End": true}}});
    // An hour is past the Express limit of five minutes: the execution times out at 300 s.
    let o = execute(&def, json!({}), &Functions::default(), &clock);
    assert_eq!(o.status, Status::TimedOut);
    assert_eq!(clock.now_ms() - EPOCH_2024, 300_000);

    let clock = TestClock(AtomicU64::new(EPOCH_2024));
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 240, "Next": "Seen"},
        "Seen": {"Type": "Pass", "Parameters": {"at.$": "$$.State.EnteredTime"}, "End": true}}});
    let o = execute(&def, json!({}), &Functions::default(), &clock);
    assert_eq!(
        o.output,
        Some(statejet::json!({"at": "2024-01-01T00:04:00Z"}))
    );
}

/// History events (without timestamps) of the cases in `tests/data/history/`.
#[test]
fn history_events_match_aws_shapes() {
    let cases = named_files(&data_dir().join("history"));
    check_all(cases, |path| {
        let mut case = read_json(&path);
        let functions = functions_of(&case)?;
        let clock = TestClock(AtomicU64::new(EPOCH_2024));
        let machine = asl::validate(&case["definition"].to_string(), &Config::default())
            .map_err(|d| format!("{d:?}"))?;
        let (_, events) = runtime::execute_recorded(
            Arc::new(compile::compile(machine)),
            execution(case["input"].clone()),
            &functions,
            &clock,
        );
        let got: Vec<Value> = events
            .iter()
            .map(|e| {
                let mut details = e.details.clone();
                mask_dates(&mut details);
                json!({"id": e.id, "previous_event_id": e.previous_event_id, "type": e.kind.as_str(), "details": details})
            })
            .collect();
        let got = Value::Array(got);
        compare(&mut case, &path, got)
    });
}

/// The `Date` headers of a `lambda:invoke` result (inside an event's `output` text) carry the
/// time of the call; they are masked so the comparison is about shapes.
fn mask_dates(details: &mut Value) {
    let Some(Value::String(text)) = details.get("output") else {
        return;
    };
    let Ok(mut output) = serde_json::from_str::<Value>(text) else {
        return;
    };
    if let Some(meta) = output.get_mut("SdkHttpMetadata") {
        meta["HttpHeaders"]["Date"] = json!("date");
        meta["AllHttpHeaders"]["Date"] = json!(["date"]);
        details["output"] = Value::String(output.to_string());
    }
}

/// A case's functions file (`"functions": {"functions": {...}}`), or none.
fn functions_of(case: &Value) -> Result<Functions, String> {
    match case.get("functions") {
        Some(f) if f.get("functions").is_some() => {
            Functions::parse(&f.to_string()).map_err(|e| e.to_string())
        }
        _ => Ok(Functions::default()),
    }
}

/// Log events (CloudWatch format) of the cases in `tests/data/logs/`, whole.
#[test]
fn log_events_match_aws_format_at_every_level() {
    use statejet::runtime::logs::{self, LoggingConfiguration};
    let cases = named_files(&data_dir().join("logs"));
    check_all(cases, |path| {
        let mut case = read_json(&path);
        let functions = functions_of(&case)?;
        let config = LoggingConfiguration {
            level: case["loggingConfiguration"]["level"]
                .as_str()
                .unwrap_or("OFF")
                .parse()?,
            include_execution_data: case["loggingConfiguration"]["includeExecutionData"]
                .as_bool()
                .unwrap_or(false),
        };
        let clock = TestClock(AtomicU64::new(EPOCH_2024));
        let machine = asl::validate(&case["definition"].to_string(), &Config::default())
            .map_err(|d| format!("{d:?}"))?;
        let execution = execution(case["input"].clone());
        let (_, history) = runtime::execute_recorded(
            Arc::new(compile::compile(machine)),
            execution.clone(),
            &functions,
            &clock,
        );
        let got = Value::Array(logs::events(&history, execution.arn(), 0, config));
        compare(&mut case, &path, got)
    });
}

/// Compares `got` with the case's `expect`; with `STATEJET_UPDATE_SNAPSHOTS` set, an `expect`
/// that is still null is filled in from `got` (review it!).
fn compare(case: &mut Value, path: &std::path::Path, got: Value) -> Result<(), String> {
    if case["expect"].is_null() && std::env::var_os("STATEJET_UPDATE_SNAPSHOTS").is_some() {
        case["expect"] = got.clone();
        std::fs::write(path, serde_json::to_string_pretty(case).unwrap()).unwrap();
    }
    if got == case["expect"] {
        Ok(())
    } else {
        Err(format!("\n  want {}\n  got  {got}", case["expect"]))
    }
}

/// A clock that moves on a millisecond each time it is read (and jumps to whatever time a run
/// sleeps until): work that reads the clock as it goes sees time pass, with no real waiting.
struct TickingClock(AtomicU64);

impl Clock for TickingClock {
    fn now_ms(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }

    fn sleep_until(&self, ms: u64) {
        self.0.fetch_max(ms, Ordering::Relaxed);
    }
}

/// Issue 14: a Map over 100,000 items whose ItemSelector reads `$$` ran for minutes past its
/// 5 s `TimeoutSeconds`, each selection copying the execution input (which holds the items)
/// and none looking at the deadline. Selection now reads the clock before each item and the
/// Context Object is built once for the Map, so the execution times out as the deadline passes.
#[test]
fn a_map_selecting_many_items_from_the_context_object_times_out() {
    let def = json!({"TimeoutSeconds": 5, "StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemsPath": "$.items",
            "ItemSelector": {"index.$": "$$.Map.Item.Index", "first.$": "$$.Execution.Input.items[0]"},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}});
    let items: Vec<Value> = (0..100_000).map(|i| json!({"n": i})).collect();
    let clock = TickingClock(AtomicU64::new(EPOCH_2024));
    let o = execute(&def, json!({"items": items}), &Functions::default(), &clock);
    assert_eq!(o.status, Status::TimedOut);
    let f = o.failure.expect("a timed-out execution has a failure");
    assert_eq!(f.error, "States.Timeout");

    // Within its time, every item sees its own index and the one shared input.
    let items: Vec<Value> = (0..3).map(|i| json!({"n": i})).collect();
    let clock = TickingClock(AtomicU64::new(EPOCH_2024));
    let o = execute(&def, json!({"items": items}), &Functions::default(), &clock);
    assert_eq!(o.status, Status::Succeeded);
    assert_eq!(
        o.output,
        Some(statejet::json!([
            {"index": 0, "first": {"n": 0}},
            {"index": 1, "first": {"n": 0}},
            {"index": 2, "first": {"n": 0}}
        ]))
    );
}
