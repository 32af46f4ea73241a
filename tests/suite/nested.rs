//! Nested workflows in one engine, on tokio's paused clock: `states:startExecution.sync:2` of a
//! machine of the same engine (result shape, `TaskSubmitted`, the child retained), a parent's
//! `TimeoutSeconds` stopping its child, and a `.sync` task's token taking heartbeats and an
//! early `SendTaskSuccess` (`../shared/reference/standard-and-callbacks.md` §8).

use std::sync::Arc;
use std::time::Duration;

use statejet::arn::Identity;
use statejet::asl::{self, Config as AslConfig, MachineType};
use statejet::compile;
use statejet::json;
use statejet::runtime::engine::{Config, Engine};
use statejet::runtime::executions::{status_name, Now};
use statejet::runtime::{Outcome, Status};
use statejet::tasks::Functions;
use statejet::value::Value;
use statejet::vm::context::ExecutionInfo;
use statejet::vm::run::HistoryEvent;

const CHILD: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:child";

fn engine_with_child(definition: Value) -> Engine {
    let e = Engine::new(Config::default(), Functions::default());
    e.register_state_machine("child", &definition.to_string(), MachineType::Standard)
        .unwrap();
    e
}

/// Runs a STANDARD parent of `definition` on the engine, in a task of its own.
fn start(e: &Engine, definition: Value) -> tokio::task::JoinHandle<(Outcome, Vec<HistoryEvent>)> {
    let machine = asl::validate(
        &definition.to_string(),
        &AslConfig {
            machine_type: MachineType::Standard,
        },
    )
    .unwrap();
    let program = Arc::new(compile::compile(machine));
    let info = Arc::new(ExecutionInfo {
        identity: Identity::given(
            "arn:aws:states:us-east-1:123456789012:execution:parent:p1".into(),
            "p1".into(),
        ),
        input: json!({}),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        start_ms: 1_704_067_200_000, // 2024-01-01T00:00:00Z
        state_machine_id: "arn:aws:states:us-east-1:123456789012:stateMachine:parent".into(),
        state_machine_name: "parent".into(),
        redrive_count: Some(0),
        machine_type: MachineType::Standard,
    });
    let e = e.clone();
    tokio::spawn(async move { e.execute_recorded(program, info).await })
}

fn task(resource: &str, params: Value, extra: Value) -> Value {
    let mut t = json!({"Type": "Task", "Resource": resource, "Parameters": params, "End": true});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    json!({"StartAt": "T", "States": {"T": t}})
}

fn status(e: &Engine, arn: &str) -> String {
    status_name(&e.executions().get(arn).unwrap().now()).to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_child_of_the_same_engine_runs_sync_2() {
    let e = engine_with_child(json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 10, "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"got.$": "$.a", "id.$": "$$.Execution.Id"}, "End": true}}}));
    let run = start(
        &e,
        task(
            "arn:aws:states:::states:startExecution.sync:2",
            json!({"StateMachineArn": CHILD, "Name": "kid", "Input": {"a": 1}}),
            json!({}),
        ),
    );
    let (outcome, history) = run.await.unwrap();
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:?}");
    let out = outcome.output.unwrap();
    let kid = "arn:aws:states:us-east-1:123456789012:execution:child:kid";
    assert_eq!(out["ExecutionArn"], kid);
    assert_eq!(out["Input"], json!({"a": 1}));
    assert_eq!(out["Output"], json!({"got": 1, "id": kid}));
    assert_eq!(out["Status"], "SUCCEEDED");
    let stop = out["StopDate"].as_u64().unwrap();
    assert_eq!(stop - out["StartDate"].as_u64().unwrap(), 10_000);
    let kinds: Vec<&str> = history.iter().map(|h| h.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let submitted = &history[4].details["output"];
    let submitted: Value = serde_json::from_str(submitted.as_str().unwrap()).unwrap();
    assert_eq!(submitted["ExecutionArn"], kid);
    assert_eq!(status(&e, kid), "SUCCEEDED");
}

#[tokio::test(start_paused = true)]
async fn a_parent_that_times_out_stops_its_child() {
    let e = engine_with_child(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}}),
    );
    let run = start(
        &e,
        task(
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn": CHILD, "Name": "slow"}),
            json!({"TimeoutSeconds": 5}),
        ),
    );
    let (outcome, _) = run.await.unwrap();
    assert_eq!(outcome.failure.unwrap().error, "States.Timeout");
    let kid = "arn:aws:states:us-east-1:123456789012:execution:child:slow";
    let child = e.executions().get(kid).unwrap();
    tokio::time::timeout(Duration::from_secs(1), child.finished())
        .await
        .unwrap();
    assert_eq!(status(&e, kid), "ABORTED");
}

#[tokio::test(start_paused = true)]
async fn a_sync_task_token_takes_heartbeats_and_an_early_success() {
    let e = engine_with_child(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1000, "End": true}}}),
    );
    let run = start(
        &e,
        task(
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn": CHILD, "Name": "beat", "Input": {"token.$": "$$.Task.Token"}}),
            json!({"HeartbeatSeconds": 3}),
        ),
    );
    let kid = "arn:aws:states:us-east-1:123456789012:execution:child:beat";
    let child = loop {
        if let Some(c) = e.executions().get(kid) {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let token = child.input["token"].as_str().unwrap().to_owned();
    let tokens = e.callbacks().tokens.clone();
    // Ten seconds of heartbeats, two seconds apart: past HeartbeatSeconds three times over.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        tokens.heartbeat(&token).unwrap();
    }
    tokens
        .succeed(&token, serde_json::json!({"early": true}))
        .unwrap();
    let (outcome, _) = run.await.unwrap();
    assert_eq!(outcome.output, Some(json!({"early": true})), "{outcome:?}");
    child.finished().await;
    assert!(matches!(child.now(), Now::Ended(end) if end.outcome.status == Status::Aborted));

    // Without heartbeats the task ends at HeartbeatSeconds.
    let run = start(
        &e,
        task(
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn": CHILD, "Name": "quiet"}),
            json!({"HeartbeatSeconds": 3}),
        ),
    );
    let (outcome, _) = run.await.unwrap();
    assert_eq!(outcome.failure.unwrap().error, "States.Timeout");
}
