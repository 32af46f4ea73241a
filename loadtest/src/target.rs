//! What the load is sent to: a Step Functions API over HTTP (statejet serve, or a peer such as
//! moto or LocalStack), or statejet's engine in this process.
//!
//! Invariant: `execute` returns the execution's output only for an execution that succeeded;
//! every other end is an `Err` naming its kind, so the report can count errors by kind.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use statejet::asl::MachineType;
use statejet::runtime::engine::{Config, Engine, ValueHandler};
use statejet::runtime::Status;
use statejet::tasks::Functions;
/// An execution's output: statejet's own value, as the engine gives it (an HTTP answer's
/// output text is parsed into it too).
use statejet::value::Value as Output;

/// How an execution is started over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// `StartSyncExecution`: the answer carries the output, which is checked.
    Sync,
    /// `StartExecution` only: the answer is an ARN, so outputs cannot be checked.
    Async,
    /// `StartExecution`, then `DescribeExecution` until it ends (for engines without
    /// `StartSyncExecution`, such as moto); the output is checked.
    Poll,
}

pub enum Target {
    Http {
        client: Client<HttpConnector, Full<Bytes>>,
        endpoint: String,
        /// What executions are started with: the machine's ARN, and `#CASE` for a mock test case.
        machine_arn: String,
        mode: Mode,
        /// `StartExecution` names are this run's prefix and a count: a STANDARD machine refuses
        /// a name it has seen (and moto names every unnamed execution `None`).
        run_id: String,
        started: AtomicU64,
    },
    InProcess {
        engine: Engine,
        machine: String,
    },
}

/// One execution's failure: its kind, by which the report groups failures (`FAILED:
/// States.TaskFailed`, an API error type), and what explains this one (the cause, the message).
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: String,
    pub detail: String,
}

impl Failure {
    pub fn new(kind: impl Into<String>, detail: impl Into<String>) -> Failure {
        Failure {
            kind: kind.into(),
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.detail.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}: {}", self.kind, self.detail)
        }
    }
}

impl Target {
    /// Connects to an API endpoint and creates the state machine there (an existing one with
    /// the same name is used as it is); executions run the mocked-service test case
    /// `mock_test_case` when there is one.
    pub async fn http(
        endpoint: &str,
        name: &str,
        definition: &str,
        machine_type: &str,
        mode: Mode,
        mock_test_case: Option<&str>,
    ) -> anyhow::Result<Target> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(usize::MAX)
            .build(connector);
        let mut target = Target::Http {
            client,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            machine_arn: String::new(),
            mode,
            run_id: format!(
                "loadtest-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
            ),
            started: AtomicU64::new(0),
        };
        let created = target
            .call(
                "CreateStateMachine",
                json!({"name": name, "definition": definition, "type": machine_type,
                       "roleArn": "arn:aws:iam::123456789012:role/loadtest"}),
            )
            .await
            .context("CreateStateMachine")?;
        let arn = match created {
            Ok(v) => v["stateMachineArn"].as_str().unwrap_or_default().to_owned(),
            Err((kind, body)) if kind == "StateMachineAlreadyExists" => body["message"]
                .as_str()
                .and_then(|m| m.split('\'').nth(1))
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("StateMachineAlreadyExists without an ARN: {body}"))?,
            Err((kind, body)) => bail!("CreateStateMachine failed: {kind}: {body}"),
        };
        if let Target::Http { machine_arn, .. } = &mut target {
            *machine_arn = match mock_test_case {
                Some(case) => format!("{arn}#{case}"),
                None => arn,
            };
        }
        Ok(target)
    }

    /// statejet's engine in this process, with `echo` as an in-process identity function.
    pub fn in_process(name: &str, definition: &str) -> anyhow::Result<Target> {
        let engine = Engine::new(
            Config {
                max_in_flight: 1_000_000,
                ..Config::default()
            },
            Functions::default(),
        );
        // In statejet's value type, as the engine's own resources answer (no conversion).
        let echo: ValueHandler = Arc::new(|v: Output| Box::pin(async move { Ok(v) }));
        engine.register_value_handler("echo", echo);
        engine
            .register_state_machine(name, definition, MachineType::Express)
            .map_err(|d| anyhow!("the definition is invalid: {d:?}"))?;
        Ok(Target::InProcess {
            engine,
            machine: name.to_owned(),
        })
    }

    /// One API call: `Ok(body)` on HTTP 200, else `Err((error type, body))`.
    async fn call(
        &self,
        operation: &str,
        body: Value,
    ) -> anyhow::Result<Result<Value, (String, Value)>> {
        let Target::Http {
            client, endpoint, ..
        } = self
        else {
            bail!("not an HTTP target");
        };
        let req = hyper::Request::post(format!("{endpoint}/"))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AWSStepFunctions.{operation}"))
            // Some servers (LocalStack) route by the signing region in the Authorization header.
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(Full::new(Bytes::from(body.to_string())))?;
        let resp = client.request(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            Ok(Ok(value))
        } else {
            let kind = value["__type"]
                .as_str()
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
                .unwrap_or_else(|| format!("HTTP {status}"));
            Ok(Err((kind, value)))
        }
    }

    /// Runs one execution with `input` (JSON text) and returns its output.
    pub async fn execute(&self, input: &str) -> Result<Option<Output>, Failure> {
        match self {
            Target::InProcess { engine, machine } => {
                let input = Output::parse(input)
                    .map_err(|e| Failure::new("input is not JSON", e.to_string()))?;
                let r = engine
                    .start_sync(machine, None, input)
                    .await
                    .map_err(|e| Failure::new("refused", e.to_string()))?;
                match r.outcome.status {
                    Status::Succeeded => Ok(r.outcome.output),
                    s => {
                        let (error, cause) = r
                            .outcome
                            .failure
                            .map(|f| (f.error, f.cause))
                            .unwrap_or_default();
                        Err(Failure::new(format!("{}: {error}", s.as_str()), cause))
                    }
                }
            }
            Target::Http {
                machine_arn,
                mode,
                run_id,
                started,
                ..
            } => {
                let mut body = json!({"stateMachineArn": machine_arn, "input": input});
                let operation = match mode {
                    Mode::Sync => "StartSyncExecution",
                    Mode::Async | Mode::Poll => {
                        let n = started.fetch_add(1, Ordering::Relaxed);
                        body["name"] = json!(format!("{run_id}-{n}"));
                        "StartExecution"
                    }
                };
                let answer = self
                    .call(operation, body)
                    .await
                    .map_err(transport)?
                    .map_err(api_error)?;
                match mode {
                    Mode::Sync => finished(&answer),
                    Mode::Async => Ok(None),
                    Mode::Poll => self.poll(&answer["executionArn"]).await,
                }
            }
        }
    }

    /// Polls `DescribeExecution` until the execution is no longer RUNNING.
    async fn poll(&self, arn: &Value) -> Result<Option<Output>, Failure> {
        let mut wait = Duration::from_millis(1);
        loop {
            let d = self
                .call("DescribeExecution", json!({ "executionArn": arn }))
                .await
                .map_err(transport)?
                .map_err(api_error)?;
            if d["status"] != "RUNNING" {
                return finished(&d);
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_millis(50));
        }
    }
}

/// The output of a finished execution's description, or its failure.
fn finished(d: &Value) -> Result<Option<Output>, Failure> {
    match d["status"].as_str() {
        Some("SUCCEEDED") => {
            let text = d["output"].as_str().unwrap_or("null");
            serde_json::from_str(text)
                .map(Some)
                .map_err(|e| Failure::new("output is not JSON", format!("{e}: {text}")))
        }
        Some(s) => Err(Failure::new(
            format!("{s}: {}", d["error"].as_str().unwrap_or("")),
            d["cause"].as_str().unwrap_or(""),
        )),
        None => Err(Failure::new("answer without status", d.to_string())),
    }
}

fn transport(e: anyhow::Error) -> Failure {
    Failure::new("transport", root_cause(&e))
}

/// An API error answer: its type is the kind, its message the detail.
fn api_error((kind, body): (String, Value)) -> Failure {
    let message = body["message"]
        .as_str()
        .or_else(|| body["Message"].as_str())
        .unwrap_or("");
    Failure::new(kind, message)
}

fn root_cause(e: &anyhow::Error) -> String {
    e.chain()
        .last()
        .map(|c| c.to_string())
        .unwrap_or_else(|| e.to_string())
}
