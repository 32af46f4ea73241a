//! Validation against AWS's recorded diagnostics (`tests/data/validate/`) and the conformance
//! corpus, whose definitions AWS accepted.

use serde_json::{json, Value};
use statejet::asl::machine::StateMachine;
use statejet::asl::{self, Config, MachineType};

use crate::{check_all, data_dir, named_files, read_json, shared_dir};

/// The text of a case's definition: `definition_text` as written, or `definition` as JSON.
fn definition_text(case: &Value) -> String {
    match case.get("definition_text") {
        Some(Value::String(s)) => s.clone(),
        _ => serde_json::to_string(&case["definition"]).expect("JSON values serialize"),
    }
}

fn config(machine_type: &Value) -> Config {
    Config {
        machine_type: machine_type
            .as_str()
            .unwrap_or("EXPRESS")
            .parse()
            .expect("case names a valid type"),
    }
}

/// Checks one case: the diagnostics, in order, are exactly those expected.
fn check(case: Value) -> Result<(), String> {
    let text = definition_text(&case);
    let got: Vec<Value> = match asl::validate(&text, &config(&case["type"])) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics
            .iter()
            .map(|d| json!({"code": d.code.as_str(), "message": d.message, "location": d.location}))
            .collect(),
    };
    let want = case["expect"].as_array().cloned().unwrap_or_default();
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "\n  want {}\n  got  {}",
            Value::Array(want),
            Value::Array(got)
        ))
    }
}

#[test]
fn diagnostics_match_aws() {
    let cases = named_files(&data_dir().join("validate"))
        .into_iter()
        .map(|(name, p)| (name, read_json(&p)));
    check_all(cases, check);
}

/// The recording masked the ARN of an activity that the test created.
const ACTIVITY_PLACEHOLDER: &str = "«mock:fixture:create_activity()['activityArn']»";
const ACTIVITY_ARN: &str = "arn:aws:states:us-east-1:111111111111:activity:fixture";

#[test]
fn accepts_every_conformance_definition() {
    let cases = named_files(&shared_dir().join("conformance/cases"))
        .into_iter()
        .map(|(name, p)| (name, read_json(&p)));
    check_all(cases, |case| conformance_machine(&case).map(|_| ()));
}

/// The validated machine of a conformance case's definition.
pub fn conformance_machine(case: &Value) -> Result<StateMachine, String> {
    let text = serde_json::to_string(&case["definition"])
        .expect("JSON values serialize")
        .replace(ACTIVITY_PLACEHOLDER, ACTIVITY_ARN);
    let machine_type = config(&case["state_machine_type"]).machine_type;
    asl::validate(&text, &Config { machine_type }).map_err(|d| format!("{d:?}"))
}

#[test]
fn express_is_the_default_type() {
    assert_eq!(Config::default().machine_type, MachineType::Express);
}
