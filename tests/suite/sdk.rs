//! `statejet serve` through the AWS SDK for Rust (aws-sdk-sfn): a plain-HTTP client, static
//! credentials and an interceptor that undoes the SDK's `sync-` host prefix, which it always adds
//! for `StartSyncExecution` and `TestState` and has no switch for.
//!
//! The SDK is built without its default HTTPS client (rustls, aws-lc, h2): [`PlainHttp`], one
//! hyper HTTP/1 connection per request, is all a loopback server needs.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::RuntimeComponents;
use aws_sdk_sfn::config::{BehaviorVersion, ConfigBag, Credentials, Intercept, Region};
use aws_sdk_sfn::operation::describe_state_machine::DescribeStateMachineError;
use aws_sdk_sfn::types::{
    StateMachineType, SyncExecutionStatus, TestExecutionStatus,
    ValidateStateMachineDefinitionResultCode,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use hyper_util::rt::TokioIo;

const ROLE: &str = "arn:aws:iam::123456789012:role/statejet";

/// Sends `sync-HOST` requests to `HOST`: the SDK adds the prefix for `StartSyncExecution` and
/// `TestState` even with a custom endpoint URL, and `sync-127.0.0.1` does not resolve. It runs
/// before signing, so a SigV4 signature covers the host actually sent. `stripped` counts the
/// requests it changed.
#[derive(Debug)]
struct StripSyncPrefix {
    stripped: Arc<AtomicUsize>,
}

impl Intercept for StripSyncPrefix {
    fn name(&self) -> &'static str {
        "StripSyncPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if request.uri().contains("://sync-") {
            let uri = request.uri().replacen("://sync-", "://", 1);
            request.set_uri(uri)?;
            self.stripped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// The SDK's HTTP client: plain HTTP/1.1, a new connection per request, no timeouts of its own.
#[derive(Debug)]
struct PlainHttp;

impl PlainHttp {
    fn client() -> SharedHttpClient {
        http_client_fn(|_settings, _components| SharedHttpConnector::new(PlainHttp))
    }
}

impl HttpConnector for PlainHttp {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        fn user(e: impl Into<BoxError>) -> ConnectorError {
            ConnectorError::user(e.into())
        }
        fn io(e: impl Into<BoxError>) -> ConnectorError {
            ConnectorError::io(e.into())
        }
        HttpConnectorFuture::new(async move {
            let mut request = request.try_into_http1x().map_err(user)?;
            // Sent in origin form, with the authority as `Host`.
            let authority = request
                .uri()
                .authority()
                .ok_or_else(|| user("the request URI has no host"))?
                .to_string();
            let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
            *request.uri_mut() = target.parse().map_err(user)?;
            let host = authority.parse().map_err(user)?;
            request.headers_mut().insert(hyper::header::HOST, host);

            let stream = tokio::net::TcpStream::connect(&authority)
                .await
                .map_err(io)?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(io)?;
            tokio::spawn(connection);
            let response = sender.send_request(request).await.map_err(io)?;
            Response::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// A `statejet serve` process on a free loopback port, killed when dropped.
struct Server {
    child: Child,
    url: String,
    functions: PathBuf,
}

impl Server {
    fn start() -> Server {
        let functions = std::env::temp_dir().join(format!(
            "statejet-sdk-functions-{}.json",
            std::process::id()
        ));
        std::fs::write(&functions, r#"{"functions": {"echo": {"identity": {}}}}"#)
            .expect("functions file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_statejet"))
            .args(["serve", "--listen", "127.0.0.1:0", "--functions"])
            .arg(&functions)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("statejet serve starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut seen = String::new();
        let url = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).expect("stderr reads") == 0 {
                let _ = child.kill();
                panic!("statejet serve exited before listening:\n{seen}");
            }
            if let Some(url) = line.trim().strip_prefix("statejet serve: listening on ") {
                break url.to_owned();
            }
            seen.push_str(&line);
        };
        // Keep draining stderr so that the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Server {
            child,
            url,
            functions,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.functions);
    }
}

#[tokio::test]
async fn the_aws_sdk_for_rust_drives_the_api() {
    let server = Server::start();
    let stripped = Arc::new(AtomicUsize::new(0));
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&server.url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .http_client(PlainHttp::client())
        .interceptor(StripSyncPrefix {
            stripped: stripped.clone(),
        })
        .build();
    let sfn = aws_sdk_sfn::Client::from_conf(config);

    let definition = serde_json::json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                "ResultSelector": {"got.$": "$.value"},
                "End": true
            }
        }
    })
    .to_string();
    let created = sfn
        .create_state_machine()
        .name("echo")
        .definition(&definition)
        .role_arn(ROLE)
        .r#type(StateMachineType::Express)
        .send()
        .await
        .expect("create_state_machine");
    let arn = created.state_machine_arn().to_owned();
    assert!(arn.ends_with(":stateMachine:echo"), "{arn}");

    let described = sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect("describe_state_machine");
    assert_eq!(described.name(), "echo");
    assert_eq!(described.r#type(), &StateMachineType::Express);
    assert_eq!(described.role_arn(), ROLE);

    let listed = sfn
        .list_state_machines()
        .send()
        .await
        .expect("list_state_machines");
    let arns: Vec<&str> = listed
        .state_machines()
        .iter()
        .map(|m| m.state_machine_arn())
        .collect();
    assert_eq!(arns, [arn.as_str()]);

    let run = sfn
        .start_sync_execution()
        .state_machine_arn(&arn)
        .input(r#"{"value": 42}"#)
        .send()
        .await
        .expect("start_sync_execution");
    assert_eq!(run.status(), &SyncExecutionStatus::Succeeded, "{run:?}");
    let output: serde_json::Value =
        serde_json::from_str(run.output().expect("an output")).expect("output is JSON");
    assert_eq!(output, serde_json::json!({"got": 42}));

    let started = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .name("async-1")
        .input("{}")
        .send()
        .await
        .expect("start_execution");
    // An Express execution's ARN: `...:express:MACHINE:NAME:UUID`.
    assert!(
        started.execution_arn().contains(":express:echo:async-1:"),
        "{started:?}"
    );

    let missing = sfn
        .describe_state_machine()
        .state_machine_arn(format!("{arn}-gone"))
        .send()
        .await
        .expect_err("describing a missing machine fails");
    let missing = missing.into_service_error();
    assert!(
        matches!(
            missing,
            DescribeStateMachineError::StateMachineDoesNotExist(_)
        ),
        "{missing:?}"
    );

    let valid = sfn
        .validate_state_machine_definition()
        .definition(&definition)
        .r#type(StateMachineType::Express)
        .send()
        .await
        .expect("validate_state_machine_definition");
    assert_eq!(
        valid.result(),
        &ValidateStateMachineDefinitionResultCode::Ok
    );
    let invalid = sfn
        .validate_state_machine_definition()
        .definition("{}")
        .send()
        .await
        .expect("validate_state_machine_definition");
    assert_eq!(
        invalid.result(),
        &ValidateStateMachineDefinitionResultCode::Fail
    );
    assert!(!invalid.diagnostics().is_empty(), "{invalid:?}");

    let tested = sfn
        .test_state()
        .definition(r#"{"Type": "Pass", "Parameters": {"x.$": "$.a"}, "End": true}"#)
        .role_arn(ROLE)
        .input(r#"{"a": 1}"#)
        .send()
        .await
        .expect("test_state");
    assert_eq!(tested.status(), Some(&TestExecutionStatus::Succeeded));
    let output: serde_json::Value =
        serde_json::from_str(tested.output().expect("an output")).expect("output is JSON");
    assert_eq!(output, serde_json::json!({"x": 1}));

    // StartSyncExecution and TestState went to `sync-HOST`; nothing else did.
    assert_eq!(stripped.load(Ordering::Relaxed), 2);

    sfn.delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect("delete_state_machine");
    let listed = sfn
        .list_state_machines()
        .send()
        .await
        .expect("list_state_machines");
    assert!(listed.state_machines().is_empty(), "{listed:?}");
}
