//! The AWS-compatible HTTP API (`statejet serve`): AWS JSON 1.0 over HTTP/1.1 (`POST /`,
//! `X-Amz-Target: AWSStepFunctions.<Operation>`), plus `/metrics` (Prometheus text) and
//! `/health`. The only place with wire types.
//!
//! A request goes: read (bounded size, bounded time) → authenticate (SigV4, when credentials
//! are configured) → parse the body → the operation → a JSON answer or AWS's error shape.
//! Invariant: no request can stop the server: every failure is an answer to that request alone,
//! and any `Host` is accepted (SDKs put `sync-` in front of it for `StartSyncExecution`).

mod executions;
mod machines;
mod page;
mod prometheus;
pub mod sigv4;
mod test_state;
pub mod wire;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::arn::Scope;
use crate::runtime::engine::{new_uuid, Engine};
use machines::Registry;
use sigv4::Credentials;
use wire::{ApiError, Input};

/// The largest request body AWS accepts (its "API request size" quota).
pub const MAX_REQUEST_BYTES: usize = 1_048_576;

/// How long a client may take to send a request's headers, or its body.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The API's state: the engine, the state machines' records, and the access rules.
pub struct Api {
    engine: Engine,
    machines: RwLock<Registry>,
    /// The region and account of the API's ARNs.
    scope: Scope,
    /// When non-empty, every API request must be signed with one of these.
    credentials: Vec<Credentials>,
    /// The latest failures of the executions this API started, for the live page.
    failures: Arc<page::Failures>,
}

impl Api {
    pub fn new(engine: Engine, credentials: Vec<Credentials>) -> Api {
        let scope = engine.config().scope();
        Api {
            engine,
            machines: RwLock::new(Registry::new()),
            scope,
            credentials,
            failures: Arc::default(),
        }
    }

    /// Creates an EXPRESS state machine as `CreateStateMachine` would (used to load a
    /// definitions folder at start).
    pub fn create(&self, name: &str, definition: &str) -> Result<String, ApiError> {
        let body = serde_json::json!({
            "name": name,
            "definition": definition,
            "roleArn": self.scope.role("statejet"),
            "type": "EXPRESS",
        });
        let out = self.create_state_machine(&Input::from_value(body))?;
        Ok(out["stateMachineArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Performs one operation on a parsed request body.
    pub async fn call(
        &self,
        operation: &str,
        input: &Input,
        trace: Option<&str>,
    ) -> Result<Value, ApiError> {
        match operation {
            "CreateStateMachine" => self.create_state_machine(input),
            "DescribeStateMachine" => self.describe_state_machine(input),
            "ListStateMachines" => self.list_state_machines(input),
            "UpdateStateMachine" => self.update_state_machine(input),
            "DeleteStateMachine" => self.delete_state_machine(input),
            "ValidateStateMachineDefinition" => self.validate_definition(input),
            "TagResource" => self.tag_resource(input),
            "UntagResource" => self.untag_resource(input),
            "ListTagsForResource" => self.list_tags(input),
            "StartExecution" => self.start_execution(input, trace),
            "StartSyncExecution" => self.start_sync_execution(input, trace).await,
            "DescribeExecution"
            | "StopExecution"
            | "GetExecutionHistory"
            | "DescribeStateMachineForExecution"
            | "RedriveExecution" => self.execution_record(input),
            "ListExecutions" => self.list_executions(input),
            "TestState" => self.test_state(input).await,
            other => Err(ApiError::new(
                "UnknownOperationException",
                format!("statejet does not implement the operation '{other}'"),
            )),
        }
    }
}

type Body = Full<Bytes>;

fn json_response(status: u16, body: &Value, request_id: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-RequestId", request_id)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response of valid parts")
}

fn text_response(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a response of valid parts")
}

fn error_response(e: &ApiError, request_id: &str) -> Response<Body> {
    json_response(e.status, &e.body(), request_id)
}

/// Answers one HTTP request.
async fn handle(api: Arc<Api>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let request_id = new_uuid();
    let path = req.uri().path().to_owned();
    match (req.method(), path.as_str()) {
        (&Method::GET, "/health") => {
            return Ok(text_response(
                StatusCode::OK,
                "application/json",
                r#"{"status":"ok"}"#.into(),
            ))
        }
        (&Method::GET, "/metrics") => {
            return Ok(text_response(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                prometheus::render(&api.engine),
            ))
        }
        (&Method::GET, "/") => {
            return Ok(text_response(
                StatusCode::OK,
                "text/html; charset=utf-8",
                page::HTML.into(),
            ))
        }
        (&Method::GET, "/ui/machines") => {
            return Ok(text_response(
                StatusCode::OK,
                "application/json",
                api.page_machines().to_string(),
            ))
        }
        (&Method::GET, "/ui/diagram") => {
            let query = req.uri().query().unwrap_or("");
            let name = query
                .split('&')
                .find_map(|p| p.strip_prefix("machine="))
                .map(|n| {
                    percent_encoding::percent_decode_str(n)
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .unwrap_or_default();
            return Ok(match api.page_diagram(&name) {
                Some(svg) => text_response(StatusCode::OK, "image/svg+xml", svg),
                None => text_response(
                    StatusCode::NOT_FOUND,
                    "text/plain",
                    format!("no state machine named '{name}'"),
                ),
            });
        }
        (&Method::POST, "/") => {}
        _ => {
            let e = ApiError::new(
                "UnknownOperationException",
                format!("No route for {} {path}", req.method()),
            )
            .with_status(404);
            return Ok(error_response(&e, &request_id));
        }
    }
    Ok(match api_request(&api, req).await {
        Ok(v) => json_response(200, &v, &request_id),
        Err(e) => error_response(&e, &request_id),
    })
}

/// An AWS JSON 1.0 request: target, body, signature, operation.
async fn api_request(api: &Api, req: Request<Incoming>) -> Result<Value, ApiError> {
    let (parts, body) = req.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let too_large = || {
        ApiError::new(
            "ValidationException",
            format!("The request is larger than {MAX_REQUEST_BYTES} bytes"),
        )
        .with_status(413)
    };
    if header("content-length")
        .and_then(|l| l.parse::<usize>().ok())
        .is_some_and(|l| l > MAX_REQUEST_BYTES)
    {
        return Err(too_large());
    }
    let collected = tokio::time::timeout(
        READ_TIMEOUT,
        Limited::new(body, MAX_REQUEST_BYTES).collect(),
    )
    .await
    .map_err(|_| {
        ApiError::new("RequestTimeout", "The request body did not arrive in time").with_status(408)
    })?;
    let body = match collected {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(e) => {
            return Err(ApiError::new(
                "SerializationException",
                format!("The request body could not be read: {e}"),
            ))
        }
    };
    if !api.credentials.is_empty() {
        let headers: Vec<(&str, &str)> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
            .collect();
        sigv4::verify(
            &sigv4::Request {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or(""),
                headers,
                body: &body,
            },
            &api.credentials,
        )?;
    }
    let target = header("x-amz-target").unwrap_or("");
    let Some(operation) = target.strip_prefix("AWSStepFunctions.") else {
        return Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown or missing X-Amz-Target: '{target}'"),
        ));
    };
    let input = Input::parse(&body)?;
    api.call(operation, &input, header("x-amzn-trace-id")).await
}

/// Serves the API on `listener` until `shutdown` completes; then stops accepting and lets the
/// engine finish (or abort, after `grace`) what is in flight.
pub async fn serve(
    listener: TcpListener,
    api: Arc<Api>,
    shutdown: impl std::future::Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: refuse this one, keep serving.
                Err(e) => {
                    eprintln!("statejet serve: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let api = api.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(api.clone(), req));
            // A connection that breaks or times out ends here, and only here.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    api.engine.shutdown(grace).await;
    Ok(())
}
