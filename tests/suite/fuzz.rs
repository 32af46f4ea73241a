//! Property tests: whatever the input, the front end answers with a machine or diagnostics and
//! never panics. Four generators, from blind to targeted: arbitrary bytes, arbitrary JSON,
//! ASL-shaped definitions built from the language's own vocabulary, and random mutations of the
//! conformance corpus's real definitions. Then the API's edges: request bodies of every
//! operation built from its field names answer in AWS's error shape and never panic; SigV4
//! `Authorization` headers never panic the verifier or pass it, and a correctly signed request
//! passes while any change to it (body, headers, date) fails.
//!
//! `STATEJET_FUZZ_CASES` sets the number of inputs per generator (default 2,000); the README's
//! Tests section has the command for a longer run.

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Map, Value};
use statejet::asl::{self, Config, MachineType};

use crate::{json_files, read_json, shared_dir};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use statejet::api::sigv4::{self, Credentials, Verifier};
use statejet::api::wire::Input;
use statejet::api::Api;

fn cases() -> u32 {
    std::env::var("STATEJET_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000)
}

fn runner() -> TestRunner {
    TestRunner::new(RunnerConfig {
        cases: cases(),
        failure_persistence: None,
        ..RunnerConfig::default()
    })
}

/// Validates as both machine types; a panic fails the property.
fn validate_both(text: &str) {
    for machine_type in [MachineType::Express, MachineType::Standard] {
        let _ = asl::validate(text, &Config { machine_type });
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        asl_string(),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Field names of the language, plus a few others and `.$` forms.
fn field_name() -> impl Strategy<Value = String> {
    const FIELDS: &[&str] = &[
        "StartAt",
        "States",
        "Type",
        "Next",
        "End",
        "Comment",
        "QueryLanguage",
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Result",
        "Resource",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
        "RoleArn",
        "Retry",
        "Catch",
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Choices",
        "Default",
        "Variable",
        "And",
        "Or",
        "Not",
        "StringEquals",
        "NumericLessThanPath",
        "BooleanEquals",
        "TimestampEquals",
        "StringMatches",
        "IsPresent",
        "Condition",
        "Seconds",
        "SecondsPath",
        "Timestamp",
        "TimestampPath",
        "Error",
        "ErrorPath",
        "Cause",
        "CausePath",
        "Branches",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "ItemProcessor",
        "Iterator",
        "ProcessorConfig",
        "Mode",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailureCount",
        "ToleratedFailurePercentagePath",
        "ItemBatcher",
        "MaxItemsPerBatch",
        "ItemReader",
        "ResultWriter",
        "Label",
        "Assign",
        "Arguments",
        "Output",
        "Version",
        "x",
        "x.$",
        "a.$",
    ];
    prop_oneof![
        4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => "[A-Za-z.$]{0,6}",
    ]
}

/// Strings that mean something in ASL: paths, intrinsic calls, JSONata, state names, types.
fn asl_string() -> impl Strategy<Value = Value> {
    const STRINGS: &[&str] = &[
        "$",
        "$$",
        "$.a",
        "$.a.b[0]",
        "$['a']",
        "$.a[*]",
        "$..b",
        "$.a[?(@.x > 1)]",
        "$$.Map.Item.Value",
        "$var",
        "$.a[",
        "$[",
        "States.Format('{}', $.a)",
        "States.Array(1, 'x', null)",
        "States.MathAdd($.a, 1)",
        "States.ArrayRange(0, 10, 0)",
        "States.Hash($.a, 'SHA-1')",
        "States.Nope()",
        "States.Format(",
        "{% $states.input %}",
        "{%%}",
        "{% %}",
        "A",
        "B",
        "C",
        "Pass",
        "Task",
        "Choice",
        "Wait",
        "Succeed",
        "Fail",
        "Parallel",
        "Map",
        "JSONata",
        "JSONPath",
        "States.ALL",
        "States.Timeout",
        "FULL",
        "DISTRIBUTED",
        "INLINE",
        "arn:aws:lambda:us-east-1:1:function:f",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "arn:aws:states:::states:startExecution.sync",
        "arn:aws:states:us-east-1:1:activity:a",
        "2016-03-14T01:59:00Z",
        "2016-03-14 01:59:00",
    ];
    prop::sample::select(STRINGS).prop_map(|s| Value::String(s.to_owned()))
}

/// A definition whose `States` are objects with a `Type` and random fields, named A, B, C.
fn asl_shaped() -> impl Strategy<Value = Value> {
    let state = (
        prop::sample::select(
            &[
                "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
            ][..],
        ),
        prop::collection::vec((field_name(), arbitrary_json()), 0..6),
    )
        .prop_map(|(t, fields)| {
            let mut m: Map<String, Value> = fields.into_iter().collect();
            m.insert("Type".into(), Value::from(t));
            Value::Object(m)
        });
    (
        prop::collection::vec(state, 1..4),
        prop::option::of(prop::sample::select(&["JSONPath", "JSONata"][..])),
    )
        .prop_map(|(states, lang)| {
            let mut m = Map::new();
            m.insert("StartAt".into(), "A".into());
            if let Some(l) = lang {
                m.insert("QueryLanguage".into(), l.into());
            }
            let states: Map<String, Value> = states
                .into_iter()
                .zip(["A", "B", "C"])
                .map(|(s, n)| (n.to_owned(), s))
                .collect();
            m.insert("States".into(), Value::Object(states));
            Value::Object(m)
        })
}

#[test]
fn arbitrary_bytes_never_panic() {
    runner()
        .run(&prop::collection::vec(any::<u8>(), 0..256), |bytes| {
            validate_both(&String::from_utf8_lossy(&bytes));
            Ok(())
        })
        .unwrap();
}

#[test]
fn arbitrary_json_never_panics() {
    runner()
        .run(&arbitrary_json(), |v| {
            validate_both(&v.to_string());
            Ok(())
        })
        .unwrap();
}

#[test]
fn asl_shaped_definitions_never_panic() {
    runner()
        .run(&asl_shaped(), |v| {
            validate_both(&v.to_string());
            Ok(())
        })
        .unwrap();
}

/// Replaces, removes or retypes one node of `v`, chosen by `pick`.
fn mutate(v: &mut Value, pick: &mut u64, replacement: &Value) {
    // Walk down children chosen by successive digits of `pick` until it runs out or a leaf.
    *pick /= 3;
    let stop = *pick % 4 == 0;
    match v {
        Value::Object(m) if !m.is_empty() && !stop => {
            let i = (*pick as usize / 4) % m.len();
            let key = m.keys().nth(i).cloned().expect("index in range");
            if *pick % 7 == 0 {
                m.shift_remove(&key);
            } else {
                mutate(m.get_mut(&key).expect("key exists"), pick, replacement);
            }
        }
        Value::Array(a) if !a.is_empty() && !stop => {
            let i = (*pick as usize / 4) % a.len();
            if *pick % 7 == 0 {
                a.remove(i);
            } else {
                mutate(&mut a[i], pick, replacement);
            }
        }
        _ => *v = replacement.clone(),
    }
}

#[test]
fn mutated_conformance_definitions_never_panic() {
    let definitions: Vec<Value> = json_files(&shared_dir().join("conformance/cases"))
        .iter()
        .map(|p| read_json(p)["definition"].clone())
        .collect();
    let strategy = (
        0..definitions.len(),
        any::<u64>(),
        arbitrary_json(),
        1..4usize,
    );
    runner()
        .run(&strategy, |(i, mut pick, replacement, times)| {
            let mut def = definitions[i].clone();
            for _ in 0..times {
                mutate(&mut def, &mut pick, &replacement);
                pick = pick
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
            }
            validate_both(&def.to_string());
            Ok(())
        })
        .unwrap();
}

#[test]
fn jsonata_expressions_never_panic_the_parser() {
    // Text from JSONata's own alphabet, so that most inputs get deep into the parser.
    let text = "[ $a-z0-9.,:;()\\[\\]{}'\"&|=<>!?*/%^@#~+-]{0,40}";
    runner()
        .run(&text, |t| {
            let def = serde_json::json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
                "A": {"Type": "Pass", "Output": format!("{{% {t} %}}"), "End": true}}});
            validate_both(&def.to_string());
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The API: request bodies, and the SigV4 verifier.

const OPERATIONS: &[&str] = &[
    "CreateStateMachine",
    "DescribeStateMachine",
    "ListStateMachines",
    "UpdateStateMachine",
    "DeleteStateMachine",
    "ValidateStateMachineDefinition",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "StartExecution",
    "StartSyncExecution",
    "DescribeExecution",
    "StopExecution",
    "GetExecutionHistory",
    "ListExecutions",
    "DescribeStateMachineForExecution",
    "RedriveExecution",
    "PublishStateMachineVersion",
    "ListStateMachineVersions",
    "DeleteStateMachineVersion",
    "CreateStateMachineAlias",
    "DescribeStateMachineAlias",
    "UpdateStateMachineAlias",
    "DeleteStateMachineAlias",
    "ListStateMachineAliases",
    "TestState",
    "Nope",
];

/// The API's field names and values that mean something to it, and arbitrary JSON.
fn api_value() -> impl Strategy<Value = Value> {
    const STRINGS: &[&str] = &[
        "arn:aws:states:us-east-1:123456789012:stateMachine:m",
        "arn:aws:states:us-east-1:123456789012:stateMachine:gone",
        "arn:aws:states:us-east-1:123456789012:stateMachine:m/label",
        "arn:aws:states:us-east-1:123456789012:express:m:n:u",
        "arn:aws:states:us-east-1:123456789012:execution:m:n",
        "arn:aws:states:us-east-1:123456789012:stateMachine:m:1",
        "arn:aws:states:us-east-1:123456789012:stateMachine:m:PROD",
        "STANDARD",
        "arn:aws:iam::123456789012:role/r",
        "arn:aws:s3:::b",
        "EXPRESS",
        "STANDARD",
        "ALL",
        "OFF",
        "ERROR",
        "WARNING",
        "DEBUG",
        "TRACE",
        "AWS_OWNED_KEY",
        "CUSTOMER_MANAGED_KMS_KEY",
        "METADATA_ONLY",
        "{}",
        "[]",
        "{\"a\": 1}",
        "{\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Pass\", \"End\": true}}}",
        "{\"StartAt\": \"F\", \"States\": {\"F\": {\"Type\": \"Fail\", \"Error\": \"E\"}}}",
        "{\"StartAt\": \"W\", \"States\": {\"W\": {\"Type\": \"Wait\", \"Seconds\": 100000, \"End\": true}}}",
        "{\"Type\": \"Pass\", \"End\": true}",
        "{\"Type\": \"Task\", \"Resource\": \"arn:aws:lambda:us-east-1:1:function:f\", \"End\": true}",
        "bm90IGEgdG9rZW4=",
        "m",
        "",
    ];
    prop_oneof![
        3 => prop::sample::select(STRINGS).prop_map(|s| Value::String(s.to_owned())),
        1 => arbitrary_json(),
    ]
}

fn api_field() -> impl Strategy<Value = String> {
    const FIELDS: &[&str] = &[
        "name",
        "definition",
        "roleArn",
        "type",
        "loggingConfiguration",
        "tracingConfiguration",
        "tags",
        "tagKeys",
        "publish",
        "versionDescription",
        "revisionId",
        "description",
        "routingConfiguration",
        "stateMachineVersionArn",
        "stateMachineAliasArn",
        "weight",
        "statusFilter",
        "reverseOrder",
        "includeExecutionData",
        "error",
        "cause",
        "encryptionConfiguration",
        "stateMachineArn",
        "executionArn",
        "mapRunArn",
        "resourceArn",
        "input",
        "traceHeader",
        "includedData",
        "maxResults",
        "nextToken",
        "severity",
        "inspectionLevel",
        "revealSecrets",
        "variables",
        "stateName",
        "mock",
        "context",
        "level",
        "includeExecutionData",
        "destinations",
        "enabled",
        "key",
        "value",
        "result",
        "errorOutput",
    ];
    prop::sample::select(FIELDS).prop_map(str::to_owned)
}

/// A request body: an object of API fields (nested once, for the structured fields).
fn api_body() -> impl Strategy<Value = Value> {
    fn nested() -> impl Strategy<Value = Value> {
        prop::collection::vec((api_field(), api_value()), 0..4)
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
    }
    let value = prop_oneof![
        3 => api_value(),
        1 => nested(),
        1 => prop::collection::vec(nested(), 0..3).prop_map(Value::Array),
    ];
    prop::collection::vec((api_field(), value), 0..7)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
}

#[test]
fn api_request_bodies_answer_in_aws_shape_and_never_panic() {
    // Paused time: a generated Wait of a day passes at once.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let api = rt.block_on(async {
        let engine = statejet::runtime::engine::Engine::new(
            statejet::runtime::engine::Config::default(),
            statejet::tasks::Functions::default(),
        );
        engine
            .register_state_machine(
                "m",
                r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
                statejet::asl::MachineType::Express,
            )
            .unwrap();
        Api::new(engine, Vec::new())
    });
    let strategy = (prop::sample::select(OPERATIONS), api_body(), any::<bool>());
    runner()
        .run(&strategy, |(operation, body, as_bytes)| {
            let text = body.to_string();
            // Half the cases go through the byte parser with a byte cut off the end.
            let parsed = if as_bytes {
                Input::parse(&text.as_bytes()[..text.len().saturating_sub(1)])
            } else {
                Input::parse(text.as_bytes())
            };
            let answer = match parsed {
                Ok(input) => rt.block_on(api.call(operation, &input, None)),
                Err(e) => Err(e),
            };
            if let Err(e) = answer {
                let body = e.body();
                prop_assert!(
                    !e.code.is_empty() && e.code.chars().all(|c| c.is_ascii_alphanumeric()),
                    "error name {:?}",
                    e.code
                );
                prop_assert!((400..=503).contains(&e.status), "status {}", e.status);
                prop_assert_eq!(body["__type"].as_str(), Some(e.code));
                prop_assert!(body["message"].is_string());
            }
            Ok(())
        })
        .unwrap();
}

const NOW_MS: u64 = 1_764_583_200_000; // 2025-12-01T10:00:00Z
const AMZ_DATE: &str = "20251201T100000Z";

fn keys() -> Vec<Credentials> {
    vec![Credentials {
        access_key_id: "AKIDFUZZ".into(),
        secret_access_key: "fuzz-secret".into(),
    }]
}

fn verifier(creds: &[Credentials]) -> Verifier<'_> {
    Verifier {
        credentials: creds,
        region: "us-east-1",
        service: sigv4::SERVICE,
        now_ms: NOW_MS,
    }
}

/// Verifies `(headers, body)` as a `POST /` request.
fn check(headers: &[(String, String)], body: &[u8]) -> Result<(), statejet::api::wire::ApiError> {
    let creds = keys();
    sigv4::verify(
        &sigv4::Request {
            method: "POST",
            path: "/",
            query: "",
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            body,
        },
        &verifier(&creds),
    )
}

#[test]
fn sigv4_authorization_headers_never_panic_or_pass() {
    let piece = prop_oneof![
        Just("AKIDFUZZ/20251201/us-east-1/states/aws4_request".to_owned()),
        Just("AKIDFUZZ/20251201/us-east-1/states".to_owned()),
        Just("host;x-amz-date".to_owned()),
        Just("host;x-amz-date;x-amz-content-sha256".to_owned()),
        Just("0".repeat(64)),
        "[a-zA-Z0-9/;=, _-]{0,40}".prop_map(|s| s),
        ".{0,12}".prop_map(|s| s),
    ];
    let param = (
        prop::sample::select(&["Credential", "SignedHeaders", "Signature", "X", ""][..]),
        piece.clone(),
        prop::sample::select(&[",", ", ", " ", ",,", "="][..]),
    );
    let header = (
        prop::sample::select(
            &[
                "AWS4-HMAC-SHA256",
                "AWS4-HMAC-SHA25",
                "AWS4-",
                "AWS4",
                "Basic",
                "",
            ][..],
        ),
        prop::sample::select(&[" ", "  ", "", "\t"][..]),
        prop::collection::vec(param, 0..5),
    )
        .prop_map(|(algorithm, space, params)| {
            let mut h = format!("{algorithm}{space}");
            for (k, v, sep) in params {
                h.push_str(&format!("{k}={v}{sep}"));
            }
            h
        });
    let date = prop_oneof![
        Just(Some(AMZ_DATE.to_owned())),
        Just(Some("20251201T103000Z".to_owned())),
        Just(Some("2025-12-01T10:00:00Z".to_owned())),
        Just(None),
        "[0-9TZ]{0,18}".prop_map(Some),
    ];
    let strategy = (
        header,
        date,
        prop::option::of(piece),
        prop::collection::vec(any::<u8>(), 0..64),
    );
    runner()
        .run(&strategy, |(auth, date, sha, body)| {
            let mut headers = vec![
                ("Host".to_owned(), "127.0.0.1:8083".to_owned()),
                ("Authorization".to_owned(), auth),
            ];
            if let Some(d) = date {
                headers.push(("X-Amz-Date".to_owned(), d));
            }
            if let Some(s) = sha {
                headers.push(("X-Amz-Content-Sha256".to_owned(), s));
            }
            let r = check(&headers, &body);
            prop_assert!(r.is_err(), "an unsigned request passed: {headers:?}");
            Ok(())
        })
        .unwrap();
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A SigV4 signature written from the specification, independently of the verifier: headers
/// are the request's (lowercase, sorted), the body's hash is of `body`.
fn sign(headers: &mut Vec<(String, String)>, body: &[u8], date: &str, secret: &str) {
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    signed.sort();
    let names: Vec<&str> = signed.iter().map(|(k, _)| k.as_str()).collect();
    let names = names.join(";");
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical = format!(
        "POST\n/\n\n{canonical_headers}\n{names}\n{}",
        hex(&Sha256::digest(body))
    );
    let day = &date[..8];
    let scope = format!("{day}/us-east-1/states/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), day);
    for part in ["us-east-1", "states", "aws4_request"] {
        key = hmac(&key, part);
    }
    let signature = hex(&hmac(&key, &to_sign));
    headers.push((
        "Authorization".into(),
        format!("AWS4-HMAC-SHA256 Credential=AKIDFUZZ/{scope}, SignedHeaders={names}, Signature={signature}"),
    ));
}

/// A change to apply to a signed request.
#[derive(Debug, Clone)]
enum Change {
    /// Flip a bit of a body byte.
    Body(usize, u8),
    /// Append to a signed header's value.
    Header(usize, String),
    /// State the original body's hash, unsigned, and send another body (the body swap).
    Swap(Vec<u8>),
    /// Sign with another secret.
    Secret,
    /// Date (and sign) the request this many minutes off the server's clock.
    Skew(i64),
}

#[test]
fn signed_requests_pass_and_any_change_fails() {
    let change = prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Change::Body(i, b)),
        (any::<usize>(), "[a-z0-9 ]{1,8}").prop_map(|(i, s)| Change::Header(i, s)),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Change::Swap),
        Just(Change::Secret),
        prop_oneof![-10_000i64..-16, 16..10_000i64].prop_map(Change::Skew),
    ];
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..256),
        prop::sample::select(OPERATIONS),
        prop::option::of(change),
    );
    runner()
        .run(&strategy, |(body, operation, change)| {
            let mut date = AMZ_DATE.to_owned();
            if let Some(Change::Skew(minutes)) = &change {
                let t = chrono::DateTime::from_timestamp_millis(NOW_MS as i64).unwrap()
                    + chrono::Duration::minutes(*minutes);
                date = t.format("%Y%m%dT%H%M%SZ").to_string();
            }
            let mut headers = vec![
                ("Host".to_owned(), "127.0.0.1:8083".to_owned()),
                ("X-Amz-Date".to_owned(), date.clone()),
                (
                    "X-Amz-Target".to_owned(),
                    format!("AWSStepFunctions.{operation}"),
                ),
                (
                    "Content-Type".to_owned(),
                    "application/x-amz-json-1.0".to_owned(),
                ),
            ];
            let secret = match change {
                Some(Change::Secret) => "another-secret",
                _ => "fuzz-secret",
            };
            sign(&mut headers, &body, &date, secret);
            let mut sent = body.clone();
            match &change {
                None | Some(Change::Secret) | Some(Change::Skew(_)) => {}
                Some(Change::Body(i, bit)) => {
                    if sent.is_empty() {
                        sent.push(*bit);
                    } else {
                        let i = i % sent.len();
                        sent[i] ^= bit;
                    }
                }
                Some(Change::Header(i, extra)) => {
                    // Any of the signed headers (all but Authorization).
                    if extra.trim().is_empty() {
                        // Trailing spaces are trimmed by the canonical form: no change.
                        return Ok(());
                    }
                    let i = i % (headers.len() - 1);
                    headers[i].1.push_str(extra);
                }
                Some(Change::Swap(other)) => {
                    if *other == body {
                        return Ok(());
                    }
                    headers.push(("X-Amz-Content-Sha256".into(), hex(&Sha256::digest(&body))));
                    sent = other.clone();
                }
            }
            let r = check(&headers, &sent);
            match change {
                None => prop_assert_eq!(r, Ok(())),
                Some(c) => prop_assert!(r.is_err(), "{c:?} passed"),
            }
            Ok(())
        })
        .unwrap();
}
