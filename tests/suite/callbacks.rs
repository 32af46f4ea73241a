//! Activities and `.waitForTaskToken` through the driver on the engine: histories compared whole
//! (ids, links, details) with AWS's recorded shapes (`../shared/reference/
//! standard-and-callbacks.md`), heartbeats and timeouts on tokio's paused clock, and what a
//! token answers once its task has ended.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use statejet::arn::Identity;
use statejet::asl::{self, Config as AslConfig, MachineType};
use statejet::compile;
use statejet::json;
use statejet::runtime::engine::{Config, Engine, Handler};
use statejet::runtime::{Outcome, Status};
use statejet::tasks::tokens::SendError;
use statejet::tasks::Functions;
use statejet::value::Value;
use statejet::vm::context::ExecutionInfo;
use statejet::vm::run::HistoryEvent;

const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:a1";

fn engine() -> Engine {
    Engine::new(Config::default(), Functions::default())
}

fn execution(input: Value) -> Arc<ExecutionInfo> {
    Arc::new(ExecutionInfo {
        identity: Identity::given(
            "arn:aws:states:us-east-1:123456789012:execution:sm:e1".into(),
            "e1".into(),
        ),
        input,
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        start_ms: 1_704_067_200_000, // 2024-01-01T00:00:00Z
        state_machine_id: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
        state_machine_name: "sm".into(),
        redrive_count: Some(0),
        machine_type: MachineType::Standard,
    })
}

type Run = tokio::task::JoinHandle<(Outcome, Vec<HistoryEvent>)>;

/// Starts a STANDARD execution of `definition` on the engine, in a task of its own.
fn start(e: &Engine, definition: Value, input: Value) -> Run {
    let machine = asl::validate(
        &definition.to_string(),
        &AslConfig {
            machine_type: MachineType::Standard,
        },
    )
    .unwrap();
    let program = Arc::new(compile::compile(machine));
    let e = e.clone();
    tokio::spawn(async move { e.execute_recorded(program, execution(input)).await })
}

/// The events as `[id, previous, type, details]`, timestamps left out.
fn events(history: &[HistoryEvent]) -> Vec<Value> {
    history
        .iter()
        .map(|e| json!([e.id, e.previous_event_id, e.kind.as_str(), e.details]))
        .collect()
}

fn activity_machine(extra: Value) -> Value {
    let mut task = json!({"Type": "Task", "Resource": ACTIVITY, "End": true});
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({"StartAt": "ActivityTask", "States": {"ActivityTask": task}})
}

#[tokio::test(start_paused = true)]
async fn an_activity_task_is_handed_to_a_worker_and_succeeds() {
    let e = engine();
    let callbacks = e.callbacks().clone();
    let activity = callbacks
        .activities
        .create(ACTIVITY.into(), "a1", e.now_ms())
        .unwrap();
    let def = activity_machine(json!({"TimeoutSeconds": 60, "HeartbeatSeconds": 10}));
    let run = start(&e, def, json!({"Value1": "HelloWorld"}));
    let handed = activity
        .take(
            &callbacks.tokens,
            Some("BASE_ID_ACTIVITY_CONSUMER".into()),
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .expect("a task within the poll");
    assert_eq!(handed.input, r#"{"Value1":"HelloWorld"}"#);
    callbacks
        .tokens
        .heartbeat(&handed.token)
        .expect("a live token");
    tokio::time::sleep(Duration::from_secs(5)).await;
    callbacks
        .tokens
        .succeed(&handed.token, serde_json::json!({"Value1": "HelloWorld"}))
        .unwrap();
    let (outcome, history) = run.await.unwrap();
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        events(&history),
        vec![
            json!([1, 0, "ExecutionStarted", {"input": "{\"Value1\":\"HelloWorld\"}",
                "inputDetails": {"truncated": false}, "roleArn": "arn:aws:iam::123456789012:role/r"}]),
            json!([2, 0, "TaskStateEntered", {"name": "ActivityTask",
                "input": "{\"Value1\":\"HelloWorld\"}", "inputDetails": {"truncated": false}}]),
            json!([3, 2, "ActivityScheduled", {"resource": ACTIVITY,
                "input": "{\"Value1\":\"HelloWorld\"}", "inputDetails": {"truncated": false},
                "timeoutInSeconds": 60, "heartbeatInSeconds": 10}]),
            json!([4, 3, "ActivityStarted", {"workerName": "BASE_ID_ACTIVITY_CONSUMER"}]),
            json!([5, 4, "ActivitySucceeded", {"output": "{\"Value1\":\"HelloWorld\"}",
                "outputDetails": {"truncated": false}}]),
            json!([6, 5, "TaskStateExited", {"name": "ActivityTask",
                "output": "{\"Value1\":\"HelloWorld\"}", "outputDetails": {"truncated": false}}]),
            json!([7, 6, "ExecutionSucceeded", {"output": "{\"Value1\":\"HelloWorld\"}",
                "outputDetails": {"truncated": false}}]),
        ]
    );
    // The task has ended: its token is spent.
    assert_eq!(
        callbacks
            .tokens
            .succeed(&handed.token, serde_json::json!(1)),
        Err(SendError::TaskTimedOut)
    );
    assert_eq!(callbacks.tokens.waiting(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_missed_heartbeat_times_the_activity_out_as_states_timeout() {
    let e = engine();
    let callbacks = e.callbacks().clone();
    let activity = callbacks
        .activities
        .create(ACTIVITY.into(), "a1", e.now_ms())
        .unwrap();
    let def = activity_machine(json!({"HeartbeatSeconds": 2}));
    let run = start(&e, def, json!({}));
    let poll = Duration::from_secs(60);
    let handed = activity
        .take(&callbacks.tokens, None, poll)
        .await
        .unwrap()
        .unwrap();
    // Two heartbeats a second apart keep it alive past its first two seconds.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        callbacks.tokens.heartbeat(&handed.token).unwrap();
    }
    let began = tokio::time::Instant::now();
    let (outcome, history) = run.await.unwrap();
    assert_eq!(began.elapsed(), Duration::from_secs(2));
    assert_eq!(outcome.status, Status::Failed);
    let f = outcome.failure.unwrap();
    assert_eq!((f.error.as_str(), f.cause.as_str()), ("States.Timeout", ""));
    let events = events(&history);
    assert_eq!(events[3], json!([4, 3, "ActivityStarted", {}]));
    assert_eq!(
        events[4],
        json!([5, 4, "ActivityTimedOut", {"error": "States.Timeout"}])
    );
    assert_eq!(
        events[5],
        json!([6, 5, "ExecutionFailed", {"error": "States.Timeout"}])
    );
    assert_eq!(
        callbacks.tokens.heartbeat(&handed.token),
        Err(SendError::TaskTimedOut)
    );
}

#[tokio::test(start_paused = true)]
async fn an_activity_timeout_counts_from_its_start_and_a_poll_ends_empty() {
    let e = engine();
    let callbacks = e.callbacks().clone();
    let activity = callbacks
        .activities
        .create(ACTIVITY.into(), "a1", e.now_ms())
        .unwrap();
    // No task yet: the poll waits its whole time and ends with nothing.
    let began = tokio::time::Instant::now();
    let none = activity
        .take(&callbacks.tokens, None, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((none, began.elapsed()), (None, Duration::from_secs(60)));
    let run = start(
        &e,
        activity_machine(json!({"TimeoutSeconds": 5})),
        json!({}),
    );
    // Unclaimed for longer than its TimeoutSeconds: it still waits for a worker.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let handed = activity
        .take(&callbacks.tokens, None, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let began = tokio::time::Instant::now();
    let (outcome, history) = run.await.unwrap();
    assert_eq!(began.elapsed(), Duration::from_secs(5));
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        events(&history)[4],
        json!([5, 4, "ActivityTimedOut", {"error": "States.Timeout"}])
    );
    assert_eq!(
        callbacks
            .tokens
            .succeed(&handed.token, serde_json::json!({})),
        Err(SendError::TaskTimedOut)
    );
}

#[tokio::test(start_paused = true)]
async fn tasks_are_handed_out_in_the_order_they_were_scheduled() {
    let e = engine();
    let callbacks = e.callbacks().clone();
    let activity = callbacks
        .activities
        .create(ACTIVITY.into(), "a1", e.now_ms())
        .unwrap();
    let runs: Vec<Run> = (0..3)
        .map(|i| start(&e, activity_machine(json!({})), json!({"n": i})))
        .collect();
    // Each execution schedules its task before the next one starts.
    tokio::time::sleep(Duration::from_millis(10)).await;
    for _ in 0..3 {
        let h = activity
            .take(&callbacks.tokens, None, Duration::from_secs(1))
            .await
            .unwrap()
            .unwrap();
        let input: serde_json::Value = serde_json::from_str(&h.input).unwrap();
        callbacks.tokens.succeed(&h.token, input).unwrap();
    }
    let mut outputs = Vec::new();
    for r in runs {
        outputs.push(r.await.unwrap().0.output.unwrap());
    }
    assert_eq!(
        outputs,
        vec![json!({"n": 0}), json!({"n": 1}), json!({"n": 2})]
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_activity_fails_the_state_with_states_runtime_and_no_activity_event() {
    let e = engine();
    let (outcome, history) = start(&e, activity_machine(json!({})), json!({}))
        .await
        .unwrap();
    assert_eq!(outcome.status, Status::Failed);
    let events = events(&history);
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[2],
        json!([3, 2, "ExecutionFailed", {"error": "States.Runtime",
            "cause": format!("An error occurred while executing the state 'ActivityTask' (entered at the event id #2). The activity {ACTIVITY} does not exist.")}])
    );
}

/// A `lambda:invoke` handler that keeps the token it is given and answers `{"StatusCode": 200}`.
fn token_keeper(e: &Engine) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let handler: Handler = Arc::new(move |v: serde_json::Value| {
        let token = v["Payload"]["token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        s.lock().unwrap().push(token);
        Box::pin(async move { Ok(serde_json::json!({"StatusCode": 200})) })
    });
    e.register_handler("arn:aws:states:::lambda:invoke", handler);
    seen
}

fn callback_machine(extra: Value, catch: bool) -> Value {
    let mut task = json!({"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "approver", "Payload": {"token.$": "$$.Task.Token"}},
        "End": true});
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    if !catch {
        return json!({"StartAt": "Approve", "States": {"Approve": task}});
    }
    task["Catch"] = json!([{"ErrorEquals": ["Rejected"], "Next": "Rejected"}]);
    json!({"StartAt": "Approve", "States": {"Approve": task,
        "Rejected": {"Type": "Pass", "End": true}}})
}

async fn first_token(seen: &Mutex<Vec<String>>) -> String {
    loop {
        if let Some(t) = seen.lock().unwrap().first() {
            return t.clone();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn wait_for_task_token_succeeds_with_the_sent_output() {
    let e = engine();
    let seen = token_keeper(&e);
    let run = start(&e, callback_machine(json!({}), false), json!({}));
    let token = first_token(&seen).await;
    let tokens = e.callbacks().tokens.clone();
    assert_eq!(
        tokens.heartbeat("not a token"),
        Err(SendError::InvalidToken)
    );
    tokens
        .succeed(&token, serde_json::json!("approved"))
        .unwrap();
    let (outcome, history) = run.await.unwrap();
    assert_eq!(outcome.output, Some(json!("approved")));
    let params = format!(r#"{{"FunctionName":"approver","Payload":{{"token":"{token}"}}}}"#);
    let events = events(&history);
    assert_eq!(
        events[2..6],
        [
            json!([3, 2, "TaskScheduled", {"resourceType": "lambda",
                "resource": "invoke.waitForTaskToken", "region": "us-east-1",
                "parameters": params}]),
            json!([4, 3, "TaskStarted", {"resourceType": "lambda",
                "resource": "invoke.waitForTaskToken"}]),
            json!([5, 4, "TaskSubmitted", {"resourceType": "lambda",
                "resource": "invoke.waitForTaskToken", "output": "{\"StatusCode\":200}",
                "outputDetails": {"truncated": false}}]),
            json!([6, 5, "TaskSucceeded", {"resourceType": "lambda",
                "resource": "invoke.waitForTaskToken", "output": "\"approved\"",
                "outputDetails": {"truncated": false}}]),
        ]
    );
    assert_eq!(
        tokens.succeed(&token, serde_json::json!(1)),
        Err(SendError::TaskTimedOut)
    );
}

#[tokio::test(start_paused = true)]
async fn send_task_failure_is_caught_and_a_retry_gets_a_new_token() {
    let e = engine();
    let seen = token_keeper(&e);
    let def = callback_machine(
        json!({"Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 1}]}),
        true,
    );
    let run = start(&e, def, json!({}));
    let tokens = e.callbacks().tokens.clone();
    let first = first_token(&seen).await;
    tokens.fail(&first, "Busy", "try again").unwrap();
    let second = loop {
        if let Some(t) = seen.lock().unwrap().get(1) {
            break t.clone();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    assert_ne!(first, second);
    tokens.fail(&second, "Rejected", "no budget").unwrap();
    let (outcome, history) = run.await.unwrap();
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!({"Error": "Rejected", "Cause": "no budget"}))
    );
    let failed: Vec<Value> = events(&history)
        .into_iter()
        .filter(|e| e[2] == "TaskFailed")
        .collect();
    assert_eq!(
        failed[1][3],
        json!({"resourceType": "lambda", "resource": "invoke.waitForTaskToken",
            "error": "Rejected", "cause": "no budget"})
    );
}

#[tokio::test(start_paused = true)]
async fn a_callback_times_out_on_its_heartbeat_and_on_its_timeout() {
    let e = engine();
    let seen = token_keeper(&e);
    let run = start(
        &e,
        callback_machine(json!({"HeartbeatSeconds": 3}), false),
        json!({}),
    );
    let began = tokio::time::Instant::now();
    first_token(&seen).await;
    let (outcome, history) = run.await.unwrap();
    assert_eq!(began.elapsed(), Duration::from_secs(3));
    assert_eq!(outcome.failure.unwrap().error, "States.Timeout");
    let events = events(&history);
    assert_eq!(
        events[5],
        json!([6, 5, "TaskTimedOut", {"resourceType": "lambda",
            "resource": "invoke.waitForTaskToken", "error": "States.Timeout"}])
    );
    seen.lock().unwrap().clear();
    let run = start(
        &e,
        callback_machine(json!({"TimeoutSeconds": 4, "HeartbeatSeconds": 3}), false),
        json!({}),
    );
    let began = tokio::time::Instant::now();
    let token = first_token(&seen).await;
    let tokens = e.callbacks().tokens.clone();
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokens.heartbeat(&token).unwrap();
    let (outcome, _) = run.await.unwrap();
    assert_eq!(began.elapsed(), Duration::from_secs(4));
    assert_eq!(outcome.failure.unwrap().error, "States.Timeout");
}

#[tokio::test(start_paused = true)]
async fn an_execution_that_goes_away_takes_its_tokens_with_it() {
    let e = engine();
    let seen = token_keeper(&e);
    let run = start(&e, callback_machine(json!({}), false), json!({}));
    let token = first_token(&seen).await;
    let tokens = e.callbacks().tokens.clone();
    assert_eq!(tokens.waiting(), 1);
    run.abort();
    let _ = run.await;
    assert_eq!(tokens.waiting(), 0);
    assert_eq!(
        tokens.succeed(&token, serde_json::json!({})),
        Err(SendError::TaskTimedOut)
    );
    // An activity task still queued is forgotten too: no worker is handed it.
    let callbacks = e.callbacks().clone();
    let activity = callbacks
        .activities
        .create(ACTIVITY.into(), "a1", e.now_ms())
        .unwrap();
    let run = start(&e, activity_machine(json!({})), json!({}));
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(activity.queued(), 1);
    run.abort();
    let _ = run.await;
    assert_eq!(activity.queued(), 0);
}

/// `statejet run`'s driver has no token store: such a task ends the execution at once, saying
/// what would answer it, rather than waiting for a send that cannot come.
#[test]
fn without_a_token_store_a_callback_fails_at_once_naming_statejet_serve() {
    struct Fixed;
    impl statejet::runtime::Clock for Fixed {
        fn now_ms(&self) -> u64 {
            1_704_067_200_000
        }
        fn sleep_until(&self, _: u64) {}
    }
    let router = statejet::tasks::Router::new(Functions::default());
    for def in [
        activity_machine(json!({})),
        callback_machine(json!({}), false),
    ] {
        let machine = asl::validate(
            &def.to_string(),
            &AslConfig {
                machine_type: MachineType::Standard,
            },
        )
        .unwrap();
        let program = Arc::new(compile::compile(machine));
        let o = statejet::runtime::execute(program, execution(json!({})), &router, &Fixed);
        let f = o.failure.unwrap();
        assert_eq!(
            (o.status, f.error.as_str()),
            (Status::Failed, "States.Runtime")
        );
        assert!(
            f.cause.contains("only `statejet serve` can answer"),
            "{}",
            f.cause
        );
    }
}

#[tokio::test(start_paused = true)]
async fn jsonata_reads_the_token_from_states_context() {
    let e = engine();
    let seen = token_keeper(&e);
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Arguments": {"FunctionName": "approver",
            "Payload": {"token": "{% $states.context.Task.Token %}"}},
        "Output": "{% $states.result.verdict %}", "End": true}}});
    let run = start(&e, def, json!({}));
    let token = first_token(&seen).await;
    assert!(!token.is_empty());
    e.callbacks()
        .tokens
        .succeed(&token, serde_json::json!({"verdict": "yes"}))
        .unwrap();
    let (outcome, _) = run.await.unwrap();
    assert_eq!(outcome.output, Some(json!("yes")));
}
