//! The AWS-compatible HTTP API (`statejet serve`): AWS JSON 1.0 over HTTP/1.1 (`POST /`,
//! `X-Amz-Target: AWSStepFunctions.<Operation>`), plus `/metrics` (Prometheus text) and
//! `/health`. The only place with wire types.
//!
//! A request goes: read (bounded size, bounded time) → authenticate (SigV4, when credentials
//! are configured) → parse the body → the operation → a JSON answer or AWS's error shape.
//! Invariant: no request can stop the server: every failure is an answer to that request alone,
//! and any `Host` is accepted (SDKs put `sync-` in front of it for `StartSyncExecution`).

mod activities;
mod executions;
mod framing;
mod machines;
mod mock_case;
mod page;
mod prometheus;
pub mod sigv4;
mod test_state;
mod versions;
pub mod wire;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
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
use crate::runtime::intake::Intake;
use crate::runtime::logs::Level;
use sigv4::Credentials;
use wire::{ApiError, Input};

/// The largest request body AWS accepts (its "API request size" quota).
pub const MAX_REQUEST_BYTES: usize = 1_048_576;

/// How long a client may take to send a request's headers, or its body.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The API's state: the engine (which holds the state machines' registry), the page's ring of
/// recent executions, and the access rules. No state machine state is kept here.
pub struct Api {
    engine: Engine,
    /// The region and account of the API's ARNs.
    scope: Scope,
    /// When non-empty, every API request must be signed with one of these.
    credentials: Vec<Credentials>,
    /// The last executions this API started that ended, and the last failures, for the page.
    recent: Arc<page::Recent>,
    /// Whether the page shows execution data (errors, causes, inputs, outputs) for every
    /// machine, not only for those whose logging includes it.
    page_execution_data: bool,
    /// The API requests answered, for /metrics.
    requests: prometheus::Requests,
    /// The durable intake, when `StartExecution` goes through JetStream.
    intake: Option<Intake>,
    /// The logging of a machine created without a `loggingConfiguration`: AWS's (`OFF`) unless
    /// the server says otherwise (`statejet serve --log-level`).
    default_logging: (Level, bool),
}

impl Api {
    pub fn new(engine: Engine, credentials: Vec<Credentials>) -> Api {
        let scope = engine.config().scope();
        Api {
            engine,
            scope,
            credentials,
            recent: Arc::default(),
            page_execution_data: false,
            requests: prometheus::Requests::default(),
            intake: None,
            default_logging: (Level::Off, false),
        }
    }

    /// Sends `StartExecution` through the durable intake: answered once JetStream stored it.
    pub fn with_intake(mut self, intake: Intake) -> Api {
        self.intake = Some(intake);
        self
    }

    /// Machines created without a `loggingConfiguration` log at `level` (to a log group named
    /// `/statejet/NAME`), with their inputs and outputs if `include_execution_data`.
    pub fn with_default_logging(mut self, level: Level, include_execution_data: bool) -> Api {
        self.default_logging = (level, include_execution_data);
        self
    }

    /// Shows execution data on the live page (failures' errors and causes, the execution
    /// view's inputs and outputs) whatever the machines' logging says.
    pub fn with_page_execution_data(mut self, show: bool) -> Api {
        self.page_execution_data = show;
        self
    }

    /// Performs one operation on a parsed request body.
    pub async fn call(
        &self,
        operation: &str,
        input: &Input<'_>,
        trace: Option<&str>,
    ) -> Result<Answer, ApiError> {
        if operation == "StartSyncExecution" {
            return self
                .start_sync_execution(input, trace)
                .await
                .map(Answer::Text);
        }
        self.call_value(operation, input, trace)
            .await
            .map(Answer::Value)
    }

    /// `call` of the operations that answer with a `Value`.
    async fn call_value(
        &self,
        operation: &str,
        input: &Input<'_>,
        trace: Option<&str>,
    ) -> Result<Value, ApiError> {
        match operation {
            "CreateStateMachine" => self.create_state_machine(input),
            "DescribeStateMachine" => self.describe_state_machine(input),
            "ListStateMachines" => self.list_state_machines(input),
            "UpdateStateMachine" => self.update_state_machine(input),
            "DeleteStateMachine" => self.delete_state_machine(input),
            "ValidateStateMachineDefinition" => self.validate_definition(input),
            "TagResource" | "UntagResource" | "ListTagsForResource"
                if activities::names_activity(input) =>
            {
                self.activity_tags(operation, input)
            }
            "TagResource" => self.tag_resource(input),
            "UntagResource" => self.untag_resource(input),
            "ListTagsForResource" => self.list_tags(input),
            "CreateActivity" => self.create_activity(input),
            "DescribeActivity" => self.describe_activity(input),
            "ListActivities" => self.list_activities(input),
            "DeleteActivity" => self.delete_activity(input),
            "GetActivityTask" => self.get_activity_task(input).await,
            "SendTaskSuccess" => self.send_task_success(input),
            "SendTaskFailure" => self.send_task_failure(input),
            "SendTaskHeartbeat" => self.send_task_heartbeat(input),
            "StartExecution" => self.start_execution(input, trace).await,
            "DescribeExecution" => self.describe_execution(input),
            "StopExecution" => self.stop_execution(input).await,
            "GetExecutionHistory" => self.get_execution_history(input),
            "DescribeStateMachineForExecution" => self.describe_state_machine_for_execution(input),
            "RedriveExecution" => self.redrive_execution(input),
            "PublishStateMachineVersion" => self.publish_state_machine_version(input),
            "ListStateMachineVersions" => self.list_state_machine_versions(input),
            "DeleteStateMachineVersion" => self.delete_state_machine_version(input),
            "CreateStateMachineAlias" => self.create_state_machine_alias(input),
            "DescribeStateMachineAlias" => self.describe_state_machine_alias(input),
            "UpdateStateMachineAlias" => self.update_state_machine_alias(input),
            "DeleteStateMachineAlias" => self.delete_state_machine_alias(input),
            "ListStateMachineAliases" => self.list_state_machine_aliases(input),
            "ListExecutions" => self.list_executions(input),
            "TestState" => self.test_state(input).await,
            other => Err(ApiError::new(
                "UnknownOperationException",
                format!("statejet does not implement the operation '{other}'"),
            )),
        }
    }
}

/// An operation's answer: a JSON value, or the JSON text of one, written without building
/// the value (`StartSyncExecution`, the operation a load is made of).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Value(Value),
    Text(Vec<u8>),
}

impl Answer {
    /// The answer as a value (a `Text` parsed back), for callers in process.
    pub fn into_value(self) -> Value {
        match self {
            Answer::Value(v) => v,
            Answer::Text(t) => serde_json::from_slice(&t).expect("an answer's text is JSON"),
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        match self {
            Answer::Value(v) => json_text(&v),
            Answer::Text(t) => t,
        }
    }
}

type Body = Full<Bytes>;

/// A value's JSON text, by serde_json's `io::Write` serializer: `Value`'s `Display` (what
/// `to_string` uses) goes through `fmt::Write` a token at a time, at twice the instructions.
fn json_text(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a Value always serializes")
}

fn json_response(status: u16, body: &Value, request_id: String) -> Response<Body> {
    json_bytes_response(status, json_text(body), request_id)
}

/// An API answer: AWS JSON 1.0 with the request's id. The header names are made once (a name
/// given as text is parsed and checked per response); HTTP/1.1 writes them in lower case.
fn json_bytes_response(status: u16, body: Vec<u8>, request_id: String) -> Response<Body> {
    static REQUEST_ID: hyper::header::HeaderName =
        hyper::header::HeaderName::from_static("x-amzn-requestid");
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).expect("an ApiError's status is valid");
    let headers = r.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    // The id's own bytes become the value (checked, not copied).
    headers.insert(
        &REQUEST_ID,
        hyper::header::HeaderValue::from_maybe_shared(Bytes::from(request_id))
            .expect("a request id is a UUID"),
    );
    r
}

fn text_response(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a response of valid parts")
}

/// A page feed that may carry execution data: never cached by the browser, never read as
/// anything but JSON.
fn data_response(body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .body(Full::new(Bytes::from(json_text(body))))
        .expect("a response of valid parts")
}

fn not_found(message: String) -> Response<Body> {
    text_response(StatusCode::NOT_FOUND, "text/plain", message)
}

/// A query parameter of a GET, percent-decoded.
fn query(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.uri().query()?.split('&').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

fn error_response(e: &ApiError, request_id: String) -> Response<Body> {
    json_response(e.status, &e.body(), request_id)
}

/// The request headers an API request reads, named once (a name given as text is parsed and
/// checked at each look-up).
static X_AMZ_TARGET: hyper::header::HeaderName =
    hyper::header::HeaderName::from_static("x-amz-target");
static X_AMZN_TRACE_ID: hyper::header::HeaderName =
    hyper::header::HeaderName::from_static("x-amzn-trace-id");

/// Answers one HTTP request.
async fn handle(api: Arc<Api>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let request_id = new_uuid();
    let get = req.method() == Method::GET;
    // The live page, its feeds and the metrics show what runs here: with credentials, they need
    // them too. /health stays open for load balancers; it tells nothing.
    if get && req.uri().path() != "/health" && !api.page_access(&req) {
        return Ok(unauthorized(&request_id));
    }
    match (req.method(), req.uri().path()) {
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
                prometheus::render(&api.engine, &api.requests, api.intake.as_ref()),
            ))
        }
        (&Method::GET, "/") => {
            return Ok(text_response(
                StatusCode::OK,
                "text/html; charset=utf-8",
                page::HTML.into(),
            ))
        }
        (&Method::GET, "/ui/machines") => return Ok(data_response(&api.page_machines())),
        (&Method::GET, "/ui/diagram") => {
            let (machine, execution) = (query(&req, "machine"), query(&req, "execution"));
            let svg = match &execution {
                Some(arn) => api.page_execution_diagram(arn),
                None => api.page_diagram(machine.as_deref().unwrap_or("")),
            };
            return Ok(match svg {
                Some(svg) => text_response(StatusCode::OK, "image/svg+xml", svg),
                None => not_found(match execution {
                    Some(arn) => format!("no retained execution '{arn}'"),
                    None => format!("no state machine named '{}'", machine.unwrap_or_default()),
                }),
            });
        }
        (&Method::GET, "/ui/executions") => {
            let machine = query(&req, "machine").unwrap_or_default();
            return Ok(match api.page_executions(&machine) {
                Some(v) => data_response(&v),
                None => not_found(format!("no state machine named '{machine}'")),
            });
        }
        (&Method::GET, "/ui/execution") => {
            let arn = query(&req, "arn").unwrap_or_default();
            return Ok(match api.page_execution(&arn) {
                Some(v) => data_response(&v),
                None => not_found(format!("no retained execution '{arn}'")),
            });
        }
        (&Method::POST, "/") => {}
        _ => {
            let e = ApiError::new(
                "UnknownOperationException",
                format!("No route for {} {}", req.method(), req.uri().path()),
            )
            .with_status(404);
            return Ok(error_response(&e, request_id));
        }
    }
    let answer = api_request(&api, req).await;
    Ok(match answer {
        Ok(a) => json_bytes_response(200, a.into_bytes(), request_id),
        Err(e) => error_response(&e, request_id),
    })
}

/// The answer to a GET without the server's credentials: a browser asks for them (HTTP Basic).
fn unauthorized(request_id: &str) -> Response<Body> {
    let e = ApiError::new(
        "MissingAuthenticationTokenException",
        "This server requires credentials: HTTP Basic with an access key id as the user name and its secret access key as the password (or a SigV4-signed request)",
    );
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "www-authenticate",
            "Basic realm=\"statejet\", charset=\"UTF-8\"",
        )
        .header("x-amzn-RequestId", request_id)
        .body(Full::new(Bytes::from(e.body().to_string())))
        .expect("a response of valid parts")
}

impl Api {
    /// Whether a GET may see the page, its feeds and the metrics: always without credentials;
    /// with them, given HTTP Basic credentials of a configured key or a valid SigV4 signature.
    fn page_access(&self, req: &Request<Incoming>) -> bool {
        if self.credentials.is_empty() {
            return true;
        }
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if sigv4::verify_basic(auth, &self.credentials) {
            return true;
        }
        auth.is_some_and(|a| a.trim_start().starts_with("AWS4-"))
            && self
                .verify_signature(req.method(), req.uri(), req.headers(), b"")
                .is_ok()
    }

    /// Checks a request's SigV4 signature against this server's keys, scope and clock.
    fn verify_signature(
        &self,
        method: &Method,
        uri: &hyper::Uri,
        headers: &hyper::HeaderMap,
        body: &[u8],
    ) -> Result<(), ApiError> {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
            .collect();
        sigv4::verify(
            &sigv4::Request {
                method: method.as_str(),
                path: uri.path(),
                query: uri.query().unwrap_or(""),
                headers,
                body,
            },
            &sigv4::Verifier {
                credentials: &self.credentials,
                region: &self.scope.region,
                service: sigv4::SERVICE,
                now_ms: self.engine.now_ms(),
            },
        )
    }
}

/// An AWS JSON 1.0 request, counted and timed for /metrics by its operation.
async fn api_request(api: &Api, req: Request<Incoming>) -> Result<Answer, ApiError> {
    let (parts, body) = req.into_parts();
    let (target, trace) = amz_headers(&parts.headers);
    let timing = api.requests.start(prometheus::Operation::of(target));
    let answer = api_call(api, &parts, body, target, trace).await;
    timing.end(answer.as_ref().err());
    answer
}

/// The `X-Amz-Target` and `X-Amzn-Trace-Id` headers, found in one pass over the request's
/// headers: each is the first value of its name if that is text, as `HeaderMap::get` and
/// `to_str` give it. (Three look-ups by name, the target twice, hashed a name and probed each:
/// about 190 instructions apiece.)
fn amz_headers(headers: &hyper::HeaderMap) -> (Option<&str>, Option<&str>) {
    let (mut target, mut trace) = (None, None);
    let (mut seen_target, mut seen_trace) = (false, false);
    for (name, value) in headers {
        if !seen_target && *name == X_AMZ_TARGET {
            seen_target = true;
            target = value.to_str().ok();
        } else if !seen_trace && *name == X_AMZN_TRACE_ID {
            seen_trace = true;
            trace = value.to_str().ok();
        }
    }
    (target, trace)
}

/// An AWS JSON 1.0 request: body, signature, operation.
async fn api_call(
    api: &Api,
    parts: &hyper::http::request::Parts,
    body: Incoming,
    target: Option<&str>,
    trace: Option<&str>,
) -> Result<Answer, ApiError> {
    let too_large = || {
        ApiError::new(
            "ValidationException",
            format!("The request is larger than {MAX_REQUEST_BYTES} bytes"),
        )
        .with_status(413)
    };
    // hyper has read and checked the Content-Length: its figure is the body's size hint (no
    // header to look up and parse again); a chunked body is bounded as it is collected.
    if hyper::body::Body::size_hint(&body).lower() > MAX_REQUEST_BYTES as u64 {
        return Err(too_large());
    }
    // A body that came with its headers (most do: one packet) is collected in the first poll,
    // with no timer to set and cancel; one still arriving gets `READ_TIMEOUT`.
    let mut collect = std::pin::pin!(Limited::new(body, MAX_REQUEST_BYTES).collect());
    let first = std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await;
    let collected = match first {
        Poll::Ready(c) => c,
        Poll::Pending => tokio::time::timeout(READ_TIMEOUT, collect)
            .await
            .map_err(|_| {
                ApiError::new("RequestTimeout", "The request body did not arrive in time")
                    .with_status(408)
            })?,
    };
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
        api.verify_signature(&parts.method, &parts.uri, &parts.headers, &body)?;
    }
    let target = target.unwrap_or("");
    let Some(operation) = target.strip_prefix("AWSStepFunctions.") else {
        return Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown or missing X-Amz-Target: '{target}'"),
        ));
    };
    let input = Input::parse(&body)?;
    api.call(operation, &input, trace).await
}

/// The part of a shutdown's grace period kept for what follows the executions' run-on time
/// (aborting the rest, writing their log lines): a quarter of it, between 0.5 and 5 seconds, or
/// more when many executions are in flight, at `ABORT_COST` each, so that every one of them is
/// aborted and logged before the process exits (at most the whole grace period).
pub fn shutdown_reserve(grace: Duration, in_flight: usize) -> Duration {
    let base = (grace / 4).clamp(Duration::from_millis(500), Duration::from_secs(5));
    let needed = ABORT_COST.saturating_mul(u32::try_from(in_flight).unwrap_or(u32::MAX));
    base.max(needed).min(grace)
}

/// What aborting one execution and writing its last log lines may take, with margin: about
/// 0.14 ms was measured per execution for a debug build on a loaded 2-core machine (7,196
/// aborted and logged in 1 s with log level ALL), so 0.5 ms leaves room for a slower machine.
const ABORT_COST: Duration = Duration::from_micros(500);

/// What the caller's runtime shutdown gets, at the very end of the grace period, for threads
/// still blocked (a Lambda endpoint call): async work has ended by then.
pub const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(100);

/// Serves the API on `listener` until `shutdown` completes; then stops accepting, lets the
/// engine finish what is in flight and aborts the rest, so that the whole shutdown (with the
/// caller's runtime shutdown of `RUNTIME_SHUTDOWN`) takes at most `grace`.
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
                .serve_connection(TokioIo::new(framing::Framed::new(stream)), service)
                .await;
        });
    }
    let reserve = shutdown_reserve(grace, api.engine.in_flight());
    let run_on = grace.saturating_sub(reserve);
    // Aborted executions end at once and log; only an output that takes no more lines could
    // hold this past the reserve.
    let bound = grace.saturating_sub(RUNTIME_SHUTDOWN);
    let _ = tokio::time::timeout(bound, api.engine.shutdown(run_on)).await;
    Ok(())
}
