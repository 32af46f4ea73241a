//! `TestState` as AWS answers it: each `tests/data/test_state/*.json` is one request and the
//! answer it must get, run on the API in process. A success answer is compared whole (JSON-text
//! fields parsed: `output`, `inspectionData.*`, `variables`); an error answer by its code and
//! message. The recorded AWS cases in `../shared/conformance/teststate/` are scored by
//! `.ci/run`; these cases hold each class of behaviour in place.

use serde_json::Value;
use statejet::api::wire::Input;
use statejet::api::Api;
use statejet::runtime::engine::{Config, Engine};
use statejet::tasks::Functions;

/// Parses a JSON-text field the API returns as a string.
fn parsed(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

/// The answer with its JSON-text fields parsed, as the cases write them.
fn readable(mut answer: Value) -> Value {
    if let Some(o) = answer.get_mut("output") {
        *o = parsed(o);
    }
    if let Some(Value::Object(data)) = answer.get_mut("inspectionData") {
        for (k, v) in data.iter_mut() {
            if k != "errorDetails" {
                *v = parsed(v);
            }
        }
    }
    answer
}

#[tokio::test]
async fn test_state_cases() {
    let api = Api::new(
        Engine::new(Config::default(), Functions::default()),
        Vec::new(),
    );
    let dir = crate::data_dir().join("test_state");
    let mut failures = Vec::new();
    let files = crate::json_files(&dir);
    assert!(!files.is_empty(), "no cases in {}", dir.display());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("case reads");
        let case: Value = serde_json::from_str(&text).expect("case is JSON");
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let answer = api
            .call(
                "TestState",
                &Input::from_value(case["request"].clone()),
                None,
            )
            .await;
        let got = match answer {
            Ok(v) => readable(v.into_value()),
            Err(e) => {
                let body = e.body();
                serde_json::json!({"error": {"code": body["__type"], "message": body["message"]}})
            }
        };
        if got != case["expected"] {
            failures.push(format!(
                "{name}:\n  expected {}\n  got      {got}",
                case["expected"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `CreateStateMachine` past `max_state_machines` is refused with AWS's
/// `StateMachineLimitExceeded`; a repeated identical create still answers, and a delete makes
/// room again.
#[tokio::test]
async fn creates_past_the_state_machine_limit_are_refused() {
    let config = Config {
        max_state_machines: 3,
        ..Config::default()
    };
    let api = Api::new(Engine::new(config, Functions::default()), Vec::new());
    let create = |name: &str| {
        Input::from_value(serde_json::json!({
            "name": name,
            "definition": r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
            "roleArn": "arn:aws:iam::123456789012:role/r",
            "type": "EXPRESS",
        }))
    };
    for n in 0..3 {
        let name = format!("m{n}");
        let made = api.call("CreateStateMachine", &create(&name), None).await;
        assert!(
            made.is_ok(),
            "create {name}: {:?}",
            made.err().map(|e| e.body())
        );
    }
    let refused = api
        .call("CreateStateMachine", &create("m3"), None)
        .await
        .expect_err("a fourth machine is past the limit");
    let body = refused.body();
    assert_eq!(body["__type"], "StateMachineLimitExceeded", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("The maximum number of state machines has been reached."),
        "{body}"
    );
    // The same create again is idempotent, not a new machine.
    assert!(api
        .call("CreateStateMachine", &create("m0"), None)
        .await
        .is_ok());
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:m0";
    let deleted = api
        .call(
            "DeleteStateMachine",
            &Input::from_value(serde_json::json!({ "stateMachineArn": arn })),
            None,
        )
        .await;
    assert!(deleted.is_ok());
    assert!(api
        .call("CreateStateMachine", &create("m3"), None)
        .await
        .is_ok());
}
