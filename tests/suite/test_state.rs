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
            Ok(v) => readable(v),
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
