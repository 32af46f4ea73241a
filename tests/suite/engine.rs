//! The engine: many executions at once, sync and fire-and-forget, admission, panics, deadlines.
//! Time is tokio's paused clock, so Waits and back-offs take no real time.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use statejet::asl::MachineType;
use statejet::json;
use statejet::runtime::engine::{Config, Engine, Handler, StartError};
use statejet::runtime::Status;
use statejet::tasks::Functions;
use statejet::value::Value;
use statejet::vm::Failure;

fn echo() -> Handler {
    Arc::new(|v: serde_json::Value| Box::pin(async move { Ok(v) }))
}

fn engine(config: Config) -> Engine {
    let e = Engine::new(config, Functions::default());
    e.register_handler("echo", echo());
    e
}

type Answer = Pin<Box<dyn Future<Output = Result<serde_json::Value, Failure>> + Send>>;

/// Registers `handler` as `name`, called with the payload and how many calls came before;
/// returns the call count.
fn counted(
    e: &Engine,
    name: &str,
    handler: impl Fn(serde_json::Value, usize) -> Answer + Send + Sync + 'static,
) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    e.register_handler(
        name,
        Arc::new(move |v: serde_json::Value| handler(v, c.fetch_add(1, Ordering::Relaxed))),
    );
    calls
}

#[tokio::test(start_paused = true)]
async fn sync_executions_of_the_workloads_give_their_expected_output() {
    let e = engine(Config::default());
    let root = env!("CARGO_MANIFEST_DIR");
    for name in ["pass10", "choice_loop", "map100", "parallel4", "iot_event"] {
        let read = |ext: &str| {
            std::fs::read_to_string(format!("{root}/benches/workloads/{name}.{ext}")).unwrap()
        };
        e.register_state_machine(name, &read("asl.json"), MachineType::Express)
            .unwrap();
        let input: Value = serde_json::from_str(&read("input.json")).unwrap();
        let expected: Value = serde_json::from_str(&read("expected.json")).unwrap();
        let r = e.start_sync(name, None, input).await.unwrap();
        assert_eq!(
            r.outcome.status,
            Status::Succeeded,
            "{name}: {:?}",
            r.outcome.failure
        );
        assert_eq!(r.outcome.output, Some(expected), "{name}");
        assert!(r.execution.arn().starts_with(&format!(
            "arn:aws:states:us-east-1:123456789012:express:{name}:"
        )));
    }
}

const BUSY_WORKFLOW: &str = r#"{"StartAt": "W", "States": {
  "W": {"Type": "Wait", "Seconds": 2, "Next": "T"},
  "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
        "Parameters": {"attempt.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3}], "Next": "P"},
  "P": {"Type": "Parallel", "Branches": [
     {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
     {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Wait", "Seconds": 1, "End": true}}},
        "End": true}}}], "End": true}}}"#;

#[tokio::test(start_paused = true)]
async fn ten_thousand_fire_and_forget_executions_each_end_exactly_once() {
    let e = engine(Config::default());
    // Fails each execution's first attempt, so every task retries once.
    let calls = counted(&e, "flaky", |v, _| {
        Box::pin(async move {
            if v["attempt"] == 0 {
                Err(Failure::new("Flaky", "try again"))
            } else {
                Ok(serde_json::json!({"items": [1, 2, 3], "in": v}))
            }
        })
    });
    e.register_state_machine("busy", BUSY_WORKFLOW, MachineType::Express)
        .unwrap();
    const N: usize = 10_000;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..N {
        let tx = tx.clone();
        e.start(
            "busy",
            Some(format!("run-{i}")),
            json!({}),
            move |arn, outcome| {
                let _ = tx.send((arn, outcome));
            },
        )
        .unwrap();
    }
    drop(tx);
    let mut ends: HashMap<String, usize> = HashMap::new();
    while let Some((arn, outcome)) = rx.recv().await {
        assert_eq!(outcome.status, Status::Succeeded, "{:?}", outcome.failure);
        *ends.entry(arn).or_default() += 1;
    }
    assert_eq!(ends.len(), N);
    assert!(ends.values().all(|&n| n == 1));
    assert_eq!(
        calls.load(Ordering::Relaxed),
        2 * N,
        "one failed try and one retry each"
    );
    assert_eq!(e.in_flight(), 0);
    let m = e.metrics("busy").unwrap();
    assert_eq!(
        (m.started, m.succeeded, m.failed, m.in_flight),
        (N as u64, N as u64, 0, 0)
    );
    let latency = m
        .latency_us
        .expect("executions ended, so the histogram exists");
    assert_eq!(latency.len(), N as u64);
    // Wait 2 s, one 1 s back-off, and the Map's three 1 s Waits two at a time: 5 s, which the
    // histogram holds to 3 significant digits.
    assert!(
        latency.equivalent(latency.min(), 5_000_000),
        "{}",
        latency.min()
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_handler_fails_a_sync_execution_and_is_rerun_when_fire_and_forget() {
    let e = engine(Config::default());
    let calls = counted(&e, "boom", |_, _| {
        Box::pin(async move { panic!("handler bug") })
    });
    let def = r#"{"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:boom", "End": true}}}"#;
    e.register_state_machine("boom", def, MachineType::Express)
        .unwrap();

    let r = e.start_sync("boom", None, json!({})).await.unwrap();
    assert_eq!(r.outcome.status, Status::Failed);
    let f = r.outcome.failure.unwrap();
    assert_eq!(f.error, "States.Runtime");
    assert_eq!(f.cause, "the handler of state 'T' panicked");
    assert_eq!(calls.load(Ordering::Relaxed), 1, "sync is at-most-once");

    let done = Arc::new(Mutex::new(Vec::new()));
    let d = done.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    e.start("boom", None, json!({}), move |_, o| {
        d.lock().unwrap().push(o);
        let _ = tx.send(());
    })
    .unwrap();
    rx.await.unwrap();
    // One try plus three redeliveries, then one terminal outcome.
    assert_eq!(calls.load(Ordering::Relaxed), 1 + 4);
    let m = e.metrics("boom").unwrap();
    assert_eq!((m.started, m.failed, m.redelivered), (2, 2, 3));
    assert_eq!(done.lock().unwrap().len(), 1);
    // An ASL failure is not a panic: it is not run again.
    e.register_state_machine(
        "bad_path",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": true}}}"#,
        MachineType::Express,
    )
    .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    e.start("bad_path", None, json!({}), move |_, o| {
        let _ = tx.send(o);
    })
    .unwrap();
    let o = rx.await.unwrap();
    assert_eq!(o.failure.unwrap().error, "States.Runtime");
    assert_eq!(e.metrics("bad_path").unwrap().redelivered, 0);
    // The engine keeps serving.
    e.register_state_machine(
        "ok",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
        MachineType::Express,
    )
    .unwrap();
    let r = e.start_sync("ok", None, json!({"a": 1})).await.unwrap();
    assert_eq!(r.outcome.output, Some(json!({"a": 1})));
}

#[tokio::test(start_paused = true)]
async fn admission_past_the_limit_is_refused_at_once() {
    let e = engine(Config {
        max_in_flight: 2,
        ..Config::default()
    });
    let def = r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}}"#;
    e.register_state_machine("slow", def, MachineType::Express)
        .unwrap();
    e.start("slow", None, json!({}), |_, _| {}).unwrap();
    e.start("slow", None, json!({}), |_, _| {}).unwrap();
    assert_eq!(
        e.start("slow", None, json!({}), |_, _| {}),
        Err(StartError::Throttled(2))
    );
    assert!(matches!(
        e.start_sync("slow", None, json!({})).await,
        Err(StartError::Throttled(2))
    ));
    let m = e.metrics("slow").unwrap();
    assert_eq!((m.started, m.throttled, m.in_flight), (2, 2, 2));
    assert_eq!(
        e.start("nope", None, json!({}), |_, _| {}),
        Err(StartError::StateMachineDoesNotExist("nope".into()))
    );
}

#[tokio::test(start_paused = true)]
async fn deadlines_end_executions_as_timed_out() {
    let e = engine(Config::default());
    let own = r#"{"TimeoutSeconds": 5, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}"#;
    let cap = r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}"#;
    let in_task = r#"{"TimeoutSeconds": 5, "StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hang", "End": true}}}"#;
    e.register_handler(
        "hang",
        Arc::new(|_v: serde_json::Value| Box::pin(futures::future::pending())),
    );
    for (name, def) in [("own", own), ("cap", cap), ("in_task", in_task)] {
        e.register_state_machine(name, def, MachineType::Express)
            .unwrap();
        let start = tokio::time::Instant::now();
        let r = e.start_sync(name, None, json!({})).await.unwrap();
        assert_eq!(r.outcome.status, Status::TimedOut, "{name}");
        assert_eq!(r.outcome.failure.unwrap().error, "States.Timeout");
        let waited = start.elapsed().as_secs();
        assert_eq!(waited, if name == "cap" { 300 } else { 5 }, "{name}");
    }
}

/// A log output the test can read back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn every_logged_fire_and_forget_execution_has_exactly_one_terminal_event() {
    use statejet::runtime::logs::{Level, LogWriter, LoggingConfiguration};
    let out = Buffer::default();
    let e = engine(Config {
        log_writer: Some(LogWriter::spawn(Box::new(out.clone()), 64)),
        ..Config::default()
    });
    // Panics on the first call only: that execution is redelivered once.
    let calls = counted(&e, "once", |v, before| {
        Box::pin(async move {
            if before == 0 {
                panic!("first call");
            }
            Ok(v)
        })
    });
    let def = r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "T"},
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:once", "End": true}}}"#;
    let logging = LoggingConfiguration {
        level: Level::All,
        include_execution_data: false,
    };
    e.register_logged_state_machine("logged", def, MachineType::Express, logging)
        .unwrap();
    const N: usize = 200;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..N {
        let tx = tx.clone();
        e.start("logged", None, json!({"k": 1}), move |arn, o| {
            let _ = tx.send((arn, o));
        })
        .unwrap();
    }
    drop(tx);
    let mut arns = Vec::new();
    while let Some((arn, o)) = rx.recv().await {
        assert_eq!(o.status, Status::Succeeded, "{:?}", o.failure);
        arns.push(arn);
    }
    // The writer thread runs on its own; give it real time to drain.
    for _ in 0..200 {
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        if text.matches("ExecutionSucceeded").count() == N {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for arn in &arns {
        let mine: Vec<&Value> = events
            .iter()
            .filter(|e| e["execution_arn"] == *arn)
            .collect();
        let terminal = mine
            .iter()
            .filter(|e| {
                e["type"].as_str().unwrap().starts_with("Execution")
                    && e["type"] != "ExecutionStarted"
            })
            .count();
        assert_eq!(terminal, 1, "{arn}");
        assert_eq!(mine.len(), 9, "{arn}: {mine:?}");
        assert_eq!(mine[0]["type"], "ExecutionStarted");
        assert_eq!(
            mine[0]["details"],
            json!({"roleArn": "arn:aws:iam::123456789012:role/statejet"})
        );
        assert_eq!(mine[0]["redrive_count"], "0");
    }
    // One call per execution, and one more for the attempt that panicked.
    assert_eq!(calls.load(Ordering::Relaxed), N + 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_short_executions_finish_and_aborts_the_rest() {
    use statejet::runtime::logs::{Level, LogWriter, LoggingConfiguration};
    let out = Buffer::default();
    let e = engine(Config {
        log_writer: Some(LogWriter::spawn(Box::new(out.clone()), 16)),
        ..Config::default()
    });
    let logging = LoggingConfiguration {
        level: Level::Fatal,
        include_execution_data: false,
    };
    let wait = |s: u32| {
        format!(
            r#"{{"StartAt": "W", "States": {{"W": {{"Type": "Wait", "Seconds": {s}, "End": true}}}}}}"#
        )
    };
    e.register_logged_state_machine("short", &wait(1), MachineType::Express, logging)
        .unwrap();
    e.register_logged_state_machine("long", &wait(100), MachineType::Express, logging)
        .unwrap();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let began = tokio::time::Instant::now();
    let ended_at = Arc::new(Mutex::new(Vec::new()));
    for machine in ["short", "long", "long"] {
        let (o, at) = (outcomes.clone(), ended_at.clone());
        e.start(machine, None, json!({}), move |_, outcome| {
            o.lock().unwrap().push((machine, outcome.status));
            at.lock().unwrap().push((machine, began.elapsed()));
        })
        .unwrap();
    }
    tokio::task::yield_now().await;
    e.shutdown(std::time::Duration::from_secs(10)).await;
    // The long ones sleep past the grace period: aborted at the signal, not at its end; the
    // shutdown is over once the short one has finished.
    let one = std::time::Duration::from_secs(1);
    for (machine, at) in ended_at.lock().unwrap().iter() {
        match *machine {
            "long" => assert!(*at < one, "long aborted after {at:?}"),
            _ => assert!(*at >= one, "short ended after {at:?}"),
        }
    }
    assert!(
        began.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(
        e.start("short", None, json!({}), |_, _| {}),
        Err(StartError::ShuttingDown)
    );
    let mut got = outcomes.lock().unwrap().clone();
    got.sort_by_key(|(m, _)| *m);
    assert_eq!(
        got,
        vec![
            ("long", Status::Aborted),
            ("long", Status::Aborted),
            ("short", Status::Succeeded)
        ]
    );
    for _ in 0..200 {
        if String::from_utf8(out.0.lock().unwrap().clone())
            .unwrap()
            .matches("ExecutionAborted")
            .count()
            == 2
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // FATAL logs only the two aborted executions' ends.
    assert_eq!(events.len(), 2, "{text}");
    for ev in &events {
        assert_eq!(ev["type"], "ExecutionAborted");
        assert_eq!(
            ev["details"],
            json!({"error": "States.Aborted", "cause": "The engine shut down before the execution finished"})
        );
    }
}

/// A Pass whose JSONata output computes for far longer than any timeout (a doubly recursive
/// Fibonacci), under the machine's `TimeoutSeconds`.
fn heavy_jsonata(timeout_seconds: u64) -> String {
    format!(
        r#"{{"QueryLanguage": "JSONata", "TimeoutSeconds": {timeout_seconds}, "StartAt": "F",
        "States": {{"F": {{"Type": "Pass", "End": true, "Output":
        "{{% ($f := function($n) {{ $n < 2 ? $n : $f($n - 1) + $f($n - 2) }}; $f(60)) %}}"}}}}}}"#
    )
}

/// The execution's deadline holds inside a long JSONata evaluation (it ends TIMED_OUT, no
/// Catch sees it) and in a loop of states that never wait, and while either computes, a short execution on the same single worker thread
/// still runs to its end: a long step does not hold the runtime's only worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_cpu_heavy_step_times_out_and_starves_no_other_execution() {
    let e = engine(Config::default());
    e.register_state_machine("heavy", &heavy_jsonata(2), MachineType::Express)
        .unwrap();
    let caught = r#"{"QueryLanguage": "JSONata", "TimeoutSeconds": 2, "StartAt": "M",
        "States": {"M": {"Type": "Map", "Items": [1], "End": true,
          "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
          "ItemProcessor": {"StartAt": "F", "States": {"F": {"Type": "Pass", "End": true,
            "Output": "{% ($f := function($n) { $n < 2 ? $n : $f($n - 1) + $f($n - 2) }; $f(60)) %}"}}}},
          "Caught": {"Type": "Succeed"}}}"#;
    e.register_state_machine("caught", caught, MachineType::Express)
        .unwrap();
    // States that never wait, looping: the driver still sees the deadline between steps.
    let looping = r#"{"TimeoutSeconds": 2, "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 0, "Next": "P"}],
              "Default": "E"},
        "P": {"Type": "Pass", "Next": "C"},
        "E": {"Type": "Succeed"}}}"#;
    e.register_state_machine("looping", looping, MachineType::Express)
        .unwrap();
    e.register_state_machine(
        "short",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
        MachineType::Express,
    )
    .unwrap();
    for name in ["heavy", "caught", "looping"] {
        let started = std::time::Instant::now();
        let heavy = {
            let e = e.clone();
            tokio::spawn(async move { e.start_sync(name, None, json!({"x": 0})).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let short = {
            let e = e.clone();
            tokio::spawn(async move { e.start_sync("short", None, json!({"x": 1})).await })
        };
        let short = short.await.unwrap().unwrap();
        assert_eq!(short.outcome.status, Status::Succeeded);
        assert!(
            !heavy.is_finished(),
            "{name}: the short one ended before the heavy one"
        );
        let r = heavy.await.unwrap().unwrap();
        let took = started.elapsed();
        assert_eq!(r.outcome.status, Status::TimedOut, "{name}");
        assert_eq!(r.outcome.failure.unwrap().error, "States.Timeout", "{name}");
        assert!(took.as_secs_f64() >= 2.0, "{name}: ended after {took:?}");
        // The heavy work alone would run for hours; a loose upper bound keeps this a test of
        // the deadline firing, not of the machine's speed (a loaded 2-core CI box is slow).
        assert!(took.as_secs_f64() < 30.0, "{name}: ended after {took:?}");
    }
}

/// A STANDARD execution runs exactly once: a panicking handler fails it and nothing runs again.
/// A stop drops the execution's driver, and with it a call still pending (its future is
/// dropped); the resource saw the execution's ARN in its invocation.
#[tokio::test(start_paused = true)]
async fn a_standard_execution_runs_once_and_a_stop_drops_its_pending_call() {
    use statejet::runtime::engine::StandardStart;
    use statejet::runtime::executions::{Now, Started};
    use statejet::tasks::{Answer as Answered, Resource};
    use statejet::vm::run::Invocation;
    use std::sync::atomic::AtomicBool;

    let e = engine(Config::default());
    let calls = counted(&e, "boom", |_, _| {
        Box::pin(async move { panic!("handler bug") })
    });
    let task = |f: &str| {
        format!(
            r#"{{"StartAt": "T", "States": {{"T": {{"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:{f}", "End": true}}}}}}"#
        )
    };
    e.register_state_machine("boom", &task("boom"), MachineType::Standard)
        .unwrap();
    let start = |name: &str| StandardStart {
        name: Some(name.into()),
        input: json!({}),
        input_text: "{}".into(),
        version_arn: None,
        alias_arn: None,
    };
    let m = e.registry().get("boom").unwrap();
    let Ok(Started::New(x)) = e.start_standard(m, start("once"), |_| {}) else {
        panic!("a new execution")
    };
    assert_eq!(
        x.arn,
        "arn:aws:states:us-east-1:123456789012:execution:boom:once"
    );
    x.finished().await;
    let Now::Ended(end) = x.now() else {
        panic!("ended")
    };
    assert_eq!(end.outcome.status, Status::Failed);
    assert_eq!(end.outcome.failure.unwrap().error, "States.Runtime");
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "exactly once: no redelivery"
    );
    assert_eq!(e.metrics("boom").unwrap().redelivered, 0);

    struct Guard(Arc<AtomicBool>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    struct Hang {
        seen: Mutex<Option<String>>,
        dropped: Arc<AtomicBool>,
    }
    impl Resource for Hang {
        fn call(&self, invocation: Invocation, _limit: std::time::Duration) -> Answered {
            *self.seen.lock().unwrap() = Some(invocation.execution.arn().to_owned());
            let guard = Guard(self.dropped.clone());
            Answered::Later(Box::pin(async move {
                let _guard = guard;
                std::future::pending().await
            }))
        }
    }
    let hang = Arc::new(Hang {
        seen: Mutex::new(None),
        dropped: Arc::new(AtomicBool::new(false)),
    });
    e.register_resource("hang", hang.clone());
    e.register_state_machine("hang", &task("hang"), MachineType::Standard)
        .unwrap();
    let m = e.registry().get("hang").unwrap();
    let Ok(Started::New(x)) = e.start_standard(m, start("waits"), |_| {}) else {
        panic!("a new execution")
    };
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    assert!(
        matches!(x.now(), Now::Running),
        "a STANDARD call may wait an hour"
    );
    assert_eq!(hang.seen.lock().unwrap().as_deref(), Some(x.arn.as_str()));
    assert!(!hang.dropped.load(Ordering::SeqCst));
    assert!(x.request_stop(Some("Stopped".into()), None));
    x.finished().await;
    assert!(
        hang.dropped.load(Ordering::SeqCst),
        "the pending call is dropped"
    );
    let Now::Ended(end) = x.now() else {
        panic!("ended")
    };
    assert_eq!(end.outcome.status, Status::Aborted);
    let last = end.history.last().unwrap();
    assert_eq!(last.kind.as_str(), "ExecutionAborted");
    assert_eq!(last.previous_event_id, 0);
    assert_eq!(last.details, serde_json::json!({"error": "Stopped"}));
}

/// Random intrinsics differ per Map item and per execution on the engine's host: the items of
/// one Map start within the same millisecond, and each run once drew from a stream seeded with
/// the clock's millisecond, which gave items started together the same `States.UUID`.
#[tokio::test]
async fn random_intrinsics_differ_per_map_item_and_per_execution() {
    let e = engine(Config::default());
    let definition = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
      "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "U", "States": {
        "U": {"Type": "Pass", "Parameters": {"id.$": "States.UUID()",
          "n.$": "States.MathRandom(0, 1000000000)"}, "End": true}}},
      "End": true}}}"#;
    e.register_state_machine("uuids", definition, MachineType::Express)
        .unwrap();
    let items: Vec<u32> = (0..50).collect();
    let mut ids = std::collections::HashSet::new();
    let mut numbers = std::collections::HashSet::new();
    for _ in 0..2 {
        let r = e
            .start_sync("uuids", None, json!({ "items": items }))
            .await
            .unwrap();
        assert_eq!(
            r.outcome.status,
            Status::Succeeded,
            "{:?}",
            r.outcome.failure
        );
        let Some(Value::Array(out)) = r.outcome.output else {
            panic!("not an array: {:?}", r.outcome.output)
        };
        assert_eq!(out.len(), 50);
        for item in out.iter() {
            let id = item.get("id").and_then(Value::as_str).unwrap().to_owned();
            assert_eq!(id.len(), 36, "{id}");
            assert!(ids.insert(id.clone()), "{id} came twice");
            numbers.insert(item.get("n").and_then(Value::as_u64).unwrap());
        }
    }
    assert_eq!(ids.len(), 100);
    // 100 draws out of a billion: a repeat would mean shared streams, not chance.
    assert!(numbers.len() >= 99, "{} distinct of 100", numbers.len());
}
