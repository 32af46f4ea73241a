//! The `statejet` binary as users run it: arguments in, text and exit code out.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Runs `statejet` with `args` from the project root; returns (exit code, stdout, stderr).
fn statejet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_statejet"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the statejet binary runs");
    (
        out.status.code().expect("exited normally"),
        String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    )
}

/// Writes `text` to a fresh file named `name` and returns its path.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("statejet-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp file");
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn validate_accepts_the_bundled_example() {
    let (code, out, _) = statejet(&["validate", "examples/order.asl.json"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "examples/order.asl.json: valid EXPRESS state machine\n"
    );
}

#[test]
fn validate_lists_every_problem_with_its_location() {
    let bad = temp_file(
        "two-problems.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Pass", "End": true, "Bogus": 1}}}"#,
    );
    let (code, out, _) = statejet(&["validate", s(&bad), "examples/order.asl.json"]);
    assert_eq!(code, 1, "{out}");
    let f = s(&bad);
    assert_eq!(
        out,
        format!(
            "{f}: /States/A/Next: MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere\n\
             {f}: /States/B: SCHEMA_VALIDATION_FAILED: Field 'Bogus' is not supported\n\
             {f}: /States/B: MISSING_TRANSITION_TARGET: State \"B\" is not reachable.\n\
             {f}: invalid: 3 problems\n\
             examples/order.asl.json: valid EXPRESS state machine\n"
        )
    );
}

#[test]
fn validate_json_output_has_the_api_shape() {
    let bad = temp_file(
        "json-output.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Wait", "End": true}}}"#,
    );
    let (code, out, _) = statejet(&["validate", "--json", s(&bad)]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(
        doc,
        serde_json::json!({"type": "EXPRESS", "files": [{
            "file": s(&bad),
            "result": "FAIL",
            "diagnostics": [{
                "severity": "ERROR",
                "code": "SCHEMA_VALIDATION_FAILED",
                "message": "This object should have only one of the following fields: [SecondsPath, Seconds, TimestampPath, Timestamp]",
                "location": "/States/A"
            }]
        }]})
    );
}

#[test]
fn validate_gives_line_and_column_for_malformed_json() {
    let bad = temp_file(
        "malformed.json",
        "{\"StartAt\": \"A\",\n \"States\": {\n  \"A\": }\n}",
    );
    let (code, out, _) = statejet(&["validate", s(&bad)]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "{f}:3:8: INVALID_JSON_DESCRIPTION: expected value at line 3 column 8\n{f}: invalid: 1 problem\n",
            f = s(&bad)
        )
    );
}

#[test]
fn validate_type_decides_whether_activities_are_allowed() {
    let def = temp_file(
        "activity.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:a", "End": true}}}"#,
    );
    let (code, out, _) = statejet(&["validate", "--type", "STANDARD", s(&def)]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = statejet(&["validate", s(&def)]);
    assert_eq!(code, 1);
    assert!(
        out.contains("/States/A/Resource: SCHEMA_VALIDATION_FAILED: Express state machine does not support Activity ARN"),
        "{out}"
    );
}

#[test]
fn explain_takes_the_machine_type_as_validate_does() {
    let def = temp_file(
        "explain-activity.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:a", "End": true}}}"#,
    );
    let (code, out, err) = statejet(&["explain", "--type", "STANDARD", s(&def)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("arn:aws:states:us-east-1:123456789012:activity:a"),
        "{out}"
    );
    let (code, _, err) = statejet(&["explain", s(&def)]);
    assert_eq!(code, 1);
    assert!(
        err.contains("SCHEMA_VALIDATION_FAILED: Express state machine does not support Activity ARN at /States/A/Resource"),
        "{err}"
    );
}

#[test]
fn validate_reports_unreadable_files_and_exits_2() {
    let (code, out, err) = statejet(&["validate", "no/such/file.json", "examples/order.asl.json"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("no/such/file.json: cannot read:"), "{err}");
    assert!(out.contains("examples/order.asl.json: valid"), "{out}");
}

#[test]
fn unknown_type_is_a_usage_error() {
    let (code, _, err) = statejet(&["validate", "--type", "LOCAL", "examples/order.asl.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown state machine type 'LOCAL'"), "{err}");
}

#[test]
fn run_prints_the_output_of_the_bundled_example() {
    let (code, out, err) = statejet(&[
        "run",
        "examples/order.asl.json",
        "--input-file",
        "examples/order.input.json",
        "--functions",
        "examples/functions.json",
    ]);
    assert_eq!(code, 0, "{err}");
    let output: Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(
        output,
        serde_json::json!({"customer": "c-42", "lines": 2,
            "reservation": {"reservationId": "r-7781", "held": true},
            "invoice": {"invoiceId": "inv-311", "status": "SENT"}})
    );
}

#[test]
fn run_async_gives_an_express_execution_its_redrive_count() {
    let def = temp_file(
        "redrive-count.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"execution.$": "$$.Execution"}, "OutputPath": "$.execution", "End": true}}}"#,
    );
    let run = |extra: &[&str]| -> Value {
        let mut args = vec!["run", s(&def)];
        args.extend_from_slice(extra);
        let (code, out, err) = statejet(&args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).expect("JSON output")
    };
    // As StartSyncExecution: no RedriveCount; as StartExecution, and on STANDARD: 0.
    assert_eq!(run(&[]).get("RedriveCount"), None);
    assert_eq!(run(&["--async"])["RedriveCount"], 0);
    assert_eq!(run(&["--type", "STANDARD"])["RedriveCount"], 0);
}

#[test]
fn run_reports_failures_and_bad_inputs() {
    let def = temp_file(
        "fails.json",
        r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "on purpose"}}}"#,
    );
    let (code, out, err) = statejet(&["run", s(&def)]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "FAILED: Oops: on purpose\n");
    let (code, out, _) = statejet(&["run", s(&def), "--result"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::json!({"status": "FAILED", "error": "Oops", "cause": "on purpose"})
    );
    let (code, _, err) = statejet(&["run", s(&def), "--input", "{not json"]);
    assert_eq!(code, 2);
    assert!(err.contains("the input is not JSON"), "{err}");
}

#[test]
fn a_task_past_its_timeout_fails_with_states_timeout() {
    let def = temp_file(
        "slow.json",
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:slow", "TimeoutSeconds": 1, "End": true}}}"#,
    );
    let functions = temp_file(
        "slow-functions.json",
        r#"{"functions": {"slow": {"command": ["sleep", "30"]}}}"#,
    );
    let (code, out, _) = statejet(&["run", s(&def), "--functions", s(&functions), "--result"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::json!({"status": "FAILED", "error": "States.Timeout", "cause": null})
    );
}

#[test]
fn graph_draws_mermaid_by_default_and_writes_svg_to_a_file() {
    let (code, out, _) = statejet(&["graph", "examples/order.asl.json"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("flowchart TD\n"), "{out}");

    let svg = std::env::temp_dir().join(format!("statejet-cli-{}.svg", std::process::id()));
    let (code, out, _) = statejet(&[
        "graph",
        "examples/order.asl.json",
        "--format",
        "svg",
        "--output",
        s(&svg),
    ]);
    assert_eq!((code, out.as_str()), (0, ""));
    let text = std::fs::read_to_string(&svg).expect("the SVG file");
    assert!(text.starts_with("<svg "), "{text}");
}

#[test]
fn graph_of_an_invalid_definition_prints_its_diagnostics() {
    let bad = temp_file(
        "graph-invalid.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Bogus": 1}}}"#,
    );
    let (code, out, _) = statejet(&["graph", s(&bad)]);
    assert_eq!(code, 1);
    let f = s(&bad);
    assert_eq!(
        out,
        format!(
            "{f}: /States/A: SCHEMA_VALIDATION_FAILED: Field 'Bogus' is not supported\n\
             {f}: invalid: 1 problem\n"
        )
    );
}

/// A Map over 100,000 items whose ItemSelector reads the Context Object, with the execution's
/// input (about 200 KB) beside them: each item's context must not copy that input (which made
/// the selection quadratic: minutes, past any TimeoutSeconds). The run ends, either done or at
/// its 5 s timeout on a slow machine, and when done every item was selected from its context.
#[test]
fn a_large_map_reading_the_context_object_ends() {
    let def = temp_file(
        "bigmap.json",
        r#"{"TimeoutSeconds": 5, "StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
            "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index",
                             "name.$": "$$.Execution.Name", "first.$": "$$.Execution.Input.items[0]"},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": "$.value", "End": true}}},
            "ResultSelector": {"count.$": "States.ArrayLength($)", "last.$": "$[99999]"},
            "End": true}}}"#,
    );
    let items = vec!["7"; 100_000].join(",");
    let input = temp_file("bigmap-input.json", &format!("{{\"items\": [{items}]}}"));
    let (code, out, err) = statejet(&[
        "run",
        s(&def),
        "--input-file",
        s(&input),
        "--name",
        "big",
        "--result",
    ]);
    assert_eq!(code, 0, "{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    match result["status"].as_str() {
        Some("SUCCEEDED") => assert_eq!(
            result["output"],
            serde_json::json!({"count": 100000, "last": 7}),
            "{result}"
        ),
        Some("TIMED_OUT") => assert_eq!(result["error"], "States.Timeout", "{result}"),
        _ => panic!("{result}"),
    }
}
