//! The HTTP Task against a real HTTP server on loopback (`tests/data/http/`), and Step
//! Functions Local's mock format (`tests/data/mock/`). An HTTP case gives a definition (its
//! text may say `{{endpoint}}` for the server's `http://127.0.0.1:PORT`), a connections file,
//! the server's answers in order, the requests the server must have received (method, target,
//! the headers named, body) and the result; `secrets` must appear in no result. A mock case
//! gives a definition, a mock configuration, the test case run and the result.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use statejet::arn::Identity;
use statejet::asl::{self, Config};
use statejet::compile;
use statejet::runtime::{self, Status};
use statejet::tasks::aws::{config, Aws};
use statejet::tasks::http::Connections;
use statejet::tasks::mock::Mocks;
use statejet::tasks::{Functions, Router};
use statejet::vm::context::ExecutionInfo;

use crate::{check_all, data_dir, named_files, read_json};

/// What the server received.
#[derive(Debug)]
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// A server on a loopback port answering `answers` in order, one connection each, then
/// stopping; what it received is in the returned list. With no answers nothing listens, but the
/// port stays bound (the returned socket, kept for the case's length) so that no other test's
/// server can take it meanwhile: a connection is refused, not answered by a stranger.
fn server(
    answers: Vec<Value>,
) -> (
    u16,
    Arc<Mutex<Vec<Received>>>,
    Option<tokio::net::TcpSocket>,
) {
    if answers.is_empty() {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("a loopback port");
        let port = socket.local_addr().expect("bound").port();
        return (port, Arc::new(Mutex::new(Vec::new())), Some(socket));
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("bound").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for answer in answers {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            reader.read_line(&mut line).expect("request line");
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_owned();
            let target = parts.next().unwrap_or("").to_owned();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).expect("header");
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
            }
            let length: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            seen.lock().unwrap().push(Received {
                method,
                target,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            if answer.get("hang").is_some() {
                // Never answers: the Task's timeout ends the call.
                std::thread::sleep(std::time::Duration::from_secs(5));
                continue;
            }
            let status = answer["status"].as_u64().unwrap_or(200);
            let reason = answer["reason"].as_str().unwrap_or("OK");
            let body = match &answer["body"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                v => v.to_string(),
            };
            let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
            if let Some(h) = answer["headers"].as_object() {
                for (k, v) in h {
                    head.push_str(&format!("{k}: {}\r\n", v.as_str().unwrap_or("")));
                }
            }
            head.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            let mut stream = stream;
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    (port, got, None)
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

/// AWS settings with no credentials and no shared files: only the connections file answers.
fn no_aws() -> config::Config {
    config::Config::load(
        [
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    )
}

/// A clock that jumps to whatever time a run sleeps until (Retry intervals pass at once).
struct JumpClock(AtomicU64);

impl runtime::Clock for JumpClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn sleep_until(&self, ms: u64) {
        self.0.fetch_max(ms, Ordering::Relaxed);
    }
}

fn run(definition: &str, machine_type: &Value, input: Value, router: &Router) -> Value {
    let config = Config {
        machine_type: machine_type
            .as_str()
            .unwrap_or("EXPRESS")
            .parse()
            .expect("a type"),
    };
    let machine =
        asl::validate(definition, &config).unwrap_or_else(|d| panic!("invalid definition: {d:?}"));
    let clock = JumpClock(AtomicU64::new(1_704_067_200_000));
    let o = runtime::execute_within(
        Arc::new(compile::compile(machine)),
        60,
        execution(input),
        router,
        &clock,
    );
    match o.status {
        Status::Succeeded => json!({"status": "SUCCEEDED", "output": o.output}),
        s => {
            let f = o.failure.expect("a failed run has a failure");
            json!({"status": s.as_str(), "error": f.error, "cause": f.cause})
        }
    }
}

/// `want` holds: objects by the keys `want` names, a string `{{prefix}}TEXT` by its start,
/// everything else equal.
fn matches(want: &Value, got: &Value) -> bool {
    if let (Some(w), Some(g)) = (want.as_str(), got.as_str()) {
        if let Some(prefix) = w.strip_prefix("{{prefix}}") {
            return g.starts_with(prefix);
        }
    }
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| matches(v, gv))),
        _ => want == got,
    }
}

fn check_http(case: Value) -> Result<(), String> {
    let answers = case["responses"].as_array().cloned().unwrap_or_default();
    let (port, received, _reserved) = server(answers);
    let endpoint = format!("http://127.0.0.1:{port}");
    let definition = case["definition"]
        .to_string()
        .replace("{{endpoint}}", &endpoint);
    let connections_text = case["connections"]
        .to_string()
        .replace("{{endpoint}}", &endpoint);
    let connections =
        Connections::parse(&connections_text).map_err(|e| format!("connections: {e}"))?;
    let router = Router::new(Functions::default());
    router.set_aws(Aws::new(no_aws()).with_connections(connections));
    let mut input = case["input"].clone();
    if input.is_null() {
        input = json!({});
    }
    let input: Value =
        serde_json::from_str(&input.to_string().replace("{{endpoint}}", &endpoint)).unwrap();
    let got = run(&definition, &case["type"], input, &router);
    let text = got.to_string();
    for s in case["secrets"].as_array().into_iter().flatten() {
        let s = s.as_str().unwrap_or_default();
        if text.contains(s) {
            return Err(format!("the secret {s:?} reached the result: {text}"));
        }
    }
    let want = case["expect"]
        .to_string()
        .replace("{{endpoint}}", &endpoint);
    let want: Value = serde_json::from_str(&want).unwrap();
    if !matches(&want, &got) {
        return Err(format!("\n  want {want}\n  got  {got}"));
    }
    let received = received.lock().unwrap();
    let wanted = case["requests"].as_array().cloned().unwrap_or_default();
    if received.len() != wanted.len() {
        return Err(format!(
            "the server received {} requests, the case expects {}: {received:?}",
            received.len(),
            wanted.len()
        ));
    }
    for (i, (w, r)) in wanted.iter().zip(received.iter()).enumerate() {
        let mut headers = Map::new();
        for (k, v) in &r.headers {
            headers.insert(k.clone(), json!(v));
        }
        let got =
            json!({"method": r.method, "target": r.target, "headers": headers, "body": r.body});
        let mut shape = w.clone();
        // `absent_headers` is the harness's own, not part of the request's shape.
        if let Some(o) = shape.as_object_mut() {
            o.remove("absent_headers");
        }
        if !matches(&shape, &got) {
            return Err(format!("request {i}:\n  want {w}\n  got  {got}"));
        }
        if let Some(absent) = w.get("absent_headers").and_then(Value::as_array) {
            for h in absent {
                if headers.contains_key(h.as_str().unwrap_or_default()) {
                    return Err(format!("request {i} has header {h}, which it must not"));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn http_tasks_call_a_local_server() {
    let cases = named_files(&data_dir().join("http"))
        .into_iter()
        .map(|(name, p)| (name, read_json(&p)));
    check_all(cases, check_http);
}

fn check_mock(case: Value) -> Result<(), String> {
    let mocks = Arc::new(
        Mocks::parse(&case["mock_config"].to_string()).map_err(|e| format!("mock config: {e}"))?,
    );
    let functions = match case.get("functions") {
        Some(f) => Functions::parse(&f.to_string()).map_err(|e| e.to_string())?,
        None => Functions::default(),
    };
    let router = Router::new(functions);
    router.set_aws(Aws::new(no_aws()));
    router.set_mocks(mocks.clone());
    let case_name = case["test_case"].as_str().unwrap_or_default();
    let definition = case["definition"].to_string();
    let config = Config {
        machine_type: case["type"]
            .as_str()
            .unwrap_or("EXPRESS")
            .parse()
            .expect("a type"),
    };
    let validated = asl::validate(&definition, &config).map_err(|d| format!("{d:?}"))?;
    let _session = mocks
        .begin("test", "run", case_name, &validated)
        .map_err(|e| e.to_string())?;
    let got = run(&definition, &case["type"], case["input"].clone(), &router);
    if !matches(&case["expect"], &got) {
        return Err(format!("\n  want {}\n  got  {got}", case["expect"]));
    }
    Ok(())
}

#[test]
fn mocked_test_cases_answer_their_states() {
    let cases = named_files(&data_dir().join("mock"))
        .into_iter()
        .map(|(name, p)| (name, read_json(&p)));
    check_all(cases, check_mock);
}

/// Bad mock files are refused whole, naming what is wrong and where.
#[test]
fn bad_mock_configurations_name_the_place() {
    let cases = [
        (
            r#"{"StateMachines": {}, "MockedResponses": {"R": {"0": {"Return": 1, "Throw": {"Error": "E", "Cause": "C"}}}}}"#,
            "/MockedResponses/R/0: has both \"Return\" and \"Throw\"; a response is one of them",
        ),
        (
            r#"{"MockedResponses": {"R": {"0": {"Throw": {"Error": "E"}}}}}"#,
            "/MockedResponses/R/0/Throw: \"Cause\" is required",
        ),
        (
            r#"{"MockedResponses": {"R": {"1-2": {"Return": 1}}}}"#,
            "/MockedResponses/R: inconsistent invocation numbering: expected a response for invocation 0, found one starting at 1 (numbers start at 0 and run without gaps or overlaps)",
        ),
        (
            r#"{"MockedResponses": {"R": {"x": {"Return": 1}}}}"#,
            "/MockedResponses/R/x: the key must be an invocation number (\"3\") or an inclusive range (\"1-2\")",
        ),
        (
            r#"{"StateMachines": {"M": {"TestCases": {"T": {"S": "Missing"}}}}}"#,
            "/StateMachines/M/TestCases/T/S: names the mocked response 'Missing', which MockedResponses does not define",
        ),
        (
            r#"{"StateMachine": {}}"#,
            "unknown field 'StateMachine' at the top level (a mock configuration has \"StateMachines\" and \"MockedResponses\")",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(Mocks::parse(text).unwrap_err(), want, "for {text}");
    }
    let mocks = Arc::new(
        Mocks::parse(
            r#"{"StateMachines": {"M": {"TestCases": {"T": {"P": "R"}}}},
                "MockedResponses": {"R": {"0": {"Return": 1}}}}"#,
        )
        .unwrap(),
    );
    let definition = asl::validate(
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
        &Config::default(),
    )
    .unwrap();
    let e = mocks
        .begin("M", "run", "Nope", &definition)
        .err()
        .expect("an unknown case");
    assert_eq!(
        e.to_string(),
        "Invalid mock test case name 'Nope' for state machine 'M'.Either the test case is not defined or the mock configuration file could not be loaded. See logs for details."
    );
    let e = mocks
        .begin("M", "run", "T", &definition)
        .err()
        .expect("a Pass state named");
    assert_eq!(
        e.to_string(),
        "the mock test case 'T' of state machine 'M' names the state 'P', which is not a Task state of its definition"
    );
}

/// Runs `tests/e2e/<script>` with `python` against the statejet binary.
fn e2e(python: std::path::PathBuf, script: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(python)
        .arg(root.join("tests/e2e").join(script))
        .args(["--bin", env!("CARGO_BIN_EXE_statejet")])
        .current_dir(root)
        .output()
        .expect("the end-to-end script runs");
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An EventBridge connection in moto: DescribeConnection, its secret from Secrets Manager, the
/// call to a loopback server (tests/e2e/http_moto.py).
#[test]
fn http_task_reads_an_eventbridge_connection_from_moto() {
    e2e(crate::aws::python(), "http_moto.py");
}

/// boto3 against `statejet serve --mock-config`, starting `arn#TestCase`
/// (tests/e2e/mocks_serve.py).
#[test]
fn boto3_starts_mock_test_cases_through_serve() {
    e2e(crate::serve::python(), "mocks_serve.py");
}

/// `statejet run --mock-config FILE --test-case NAME`: the machine's name is the definition
/// file's; an unknown test case stops the run before it starts (exit 2).
#[test]
fn statejet_run_takes_a_test_case() {
    let dir = std::env::temp_dir().join(format!("statejet-mock-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let def = dir.join("checkout.asl.json");
    std::fs::write(
        &def,
        r#"{"StartAt": "Pay", "States": {"Pay": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "pay"}, "OutputPath": "$.Payload", "End": true}}}"#,
    )
    .unwrap();
    let mocks = dir.join("MockConfigFile.json");
    std::fs::write(
        &mocks,
        r#"{"StateMachines": {"checkout": {"TestCases": {"Paid": {"Pay": "Ok"}}}},
            "MockedResponses": {"Ok": {"0": {"Return": {"Payload": {"paid": true}}}}}}"#,
    )
    .unwrap();
    let run = |case: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_statejet"))
            .arg("run")
            .arg(&def)
            .arg("--mock-config")
            .arg(&mocks)
            .args(["--test-case", case])
            .env_remove("SFN_MOCK_CONFIG")
            .output()
            .expect("statejet runs")
    };
    let ok = run("Paid");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout).trim(),
        r#"{"paid":true}"#
    );
    let bad = run("Unpaid");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("Invalid mock test case name 'Unpaid' for state machine 'checkout'"));
    std::fs::remove_dir_all(&dir).unwrap();
}
