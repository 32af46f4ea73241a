//! Lambda functions from a functions file: `{"functions": {"NAME": handler}}` where a handler is
//! `{"command": [...]}` (a program reading the payload on stdin and writing the result on
//! stdout), `{"endpoint": "http://HOST:PORT"}` (a server of the Lambda Invoke API, as
//! `sam local start-lambda` runs one), `{"return": value}`, `{"throw": {"error", "cause"}}` or
//! `{"identity": {}}`.
//!
//! Invariant: a function is found by name whether the Task names it by Lambda ARN or through
//! `arn:aws:states:::lambda:invoke` with `FunctionName` (a name, partial ARN or full ARN), and an
//! optimized `lambda:invoke` result is wrapped as AWS wraps it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::json;
use crate::value::Value;

use super::{command, Answer, Resource};
use crate::arn::Scope;
use crate::asl::machine::{IntegrationPattern, ResourceKind};
use crate::vm::failure::TIMEOUT;
use crate::vm::run::Invocation;
use crate::vm::Failure;

/// A function of the functions file.
#[derive(Debug, Clone)]
pub enum Function {
    /// `{"identity": {}}`: returns its payload, in process. A benchmark aid: it measures the
    /// engine rather than process spawning.
    Identity,
    Command(Vec<String>),
    /// The base URL of a Lambda-Invoke-compatible server: the function is called with
    /// `POST {url}/2015-03-31/functions/{name}/invocations`.
    Endpoint(String),
    Return(Value),
    Throw {
        error: String,
        cause: String,
    },
}

/// The functions a run may call, by name. Cheap to clone (the engine hands a clone to each
/// blocking call).
#[derive(Debug, Clone)]
pub struct Functions {
    handlers: Arc<HashMap<String, Function>>,
    /// Slots for command functions' programs: one per program running.
    processes: Arc<tokio::sync::Semaphore>,
    /// Where the functions' ARNs are (AWS names them in its not-found message).
    scope: Scope,
}

/// How many command functions' programs run at once unless told otherwise: enough to keep a
/// few cores busy with short programs, few enough to stay far from process and file limits.
pub const DEFAULT_MAX_PROCESSES: usize = 64;

impl Default for Functions {
    fn default() -> Functions {
        Functions {
            handlers: Arc::default(),
            processes: Arc::new(tokio::sync::Semaphore::new(DEFAULT_MAX_PROCESSES)),
            scope: Scope::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the functions file is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the functions file must be an object with a \"functions\" object")]
    Shape,
    #[error("function '{0}': a handler is {{\"command\": [program, args...]}}, {{\"endpoint\": \"http://host:port\"}}, {{\"return\": value}}, {{\"throw\": {{\"error\": ..., \"cause\": ...}}}} or {{\"identity\": {{}}}}")]
    Handler(String),
}

impl Functions {
    /// Reads a functions file's text.
    pub fn parse(text: &str) -> Result<Functions, Error> {
        let doc = Value::parse(text)?;
        let map = doc
            .get("functions")
            .and_then(Value::as_object)
            .ok_or(Error::Shape)?;
        let mut handlers = HashMap::new();
        for (name, spec) in map {
            let handler = if spec.get("identity").is_some() {
                Function::Identity
            } else if let Some(cmd) = spec.get("command") {
                let argv: Option<Vec<String>> = cmd
                    .as_array()
                    .map(|a| a.iter().map(|s| s.as_str().map(str::to_owned)).collect())
                    .and_then(|v: Option<Vec<String>>| v.filter(|v| !v.is_empty()));
                Function::Command(argv.ok_or_else(|| Error::Handler(name.to_string()))?)
            } else if let Some(url) = spec.get("endpoint") {
                let url = url
                    .as_str()
                    .filter(|u| u.starts_with("http://"))
                    .ok_or_else(|| Error::Handler(name.to_string()))?;
                Function::Endpoint(url.trim_end_matches('/').to_owned())
            } else if let Some(v) = spec.get("return") {
                Function::Return(v.clone())
            } else if let Some(t) = spec.get("throw") {
                let error = t.get("error").and_then(Value::as_str);
                let cause = t.get("cause").and_then(Value::as_str).unwrap_or("");
                Function::Throw {
                    error: error
                        .ok_or_else(|| Error::Handler(name.to_string()))?
                        .to_owned(),
                    cause: cause.to_owned(),
                }
            } else {
                return Err(Error::Handler(name.to_string()));
            };
            handlers.insert(name.to_string(), handler);
        }
        Ok(Functions {
            handlers: Arc::new(handlers),
            ..Functions::default()
        })
    }

    /// At most `n` command functions' programs run at once (at least one); further calls wait
    /// for a slot within their Task's timeout.
    pub fn with_max_processes(mut self, n: usize) -> Functions {
        self.processes = Arc::new(tokio::sync::Semaphore::new(n.max(1)));
        self
    }

    /// Whether the file defines the function `name`.
    pub fn has(&self, name: &str) -> bool {
        self.handlers.contains_key(name)
    }

    /// These functions, with ARNs in `scope`.
    pub fn in_scope(self, scope: Scope) -> Functions {
        Functions { scope, ..self }
    }
}

impl Resource for Functions {
    /// Finds the Task's function (by its Lambda ARN, or `lambda:invoke`'s `FunctionName`) and
    /// answers at once for the in-process kinds; a command's program runs asynchronously where
    /// there is a tokio runtime (holding no thread; dropping the call kills it) and on a thread
    /// of its own elsewhere; an endpoint's call blocks. Both stop at `limit` (`States.Timeout`).
    fn call(&self, inv: Invocation, limit: Duration) -> Answer {
        let (name, target, payload, wrapped) = match &inv.resource.kind {
            ResourceKind::Lambda { function } => {
                (function.as_str(), inv.resource.arn.as_str(), inv.payload, false)
            }
            ResourceKind::Service {
                service,
                action,
                pattern: IntegrationPattern::RequestResponse,
            } if service == "lambda" && action == "invoke" => {
                let Some(target) = inv.payload.get("FunctionName").and_then(Value::as_str) else {
                    return Answer::Now(Err(Failure::new(
                        "States.Runtime",
                        "The field 'FunctionName' is required by arn:aws:states:::lambda:invoke",
                    )));
                };
                // A string Payload is sent as the request body itself, so a string holding JSON
                // reaches the function as that JSON, as with AWS. Without a Payload, or with a
                // null one (which the request omits), Lambda hands the function `{}`.
                let payload = match inv.payload.get("Payload") {
                    None | Some(Value::Null) => json!({}),
                    Some(Value::String(s)) => {
                        Value::parse(s).unwrap_or_else(|_| Value::String(s.clone()))
                    }
                    Some(v) => v.clone(),
                };
                (function_name(target), target, payload, true)
            }
            // A Distributed Map's S3 reader or writer needs the AWS integrations.
            _ if super::map_io(&inv).is_some() => return Answer::Now(Err(super::no_s3(&inv))),
            _ => {
                return Answer::Now(Err(Failure::new(
                    "States.TaskFailed",
                    format!(
                        "statejet has no handler for the resource '{}' of state '{}': only Lambda functions from the functions file can be called",
                        inv.resource.arn, inv.state
                    ),
                )))
            }
        };
        let shape = move |r: Result<Reply, Failure>| {
            r.map(|reply| if wrapped { wrap(reply) } else { reply.result })
        };
        let result = match self.handlers.get(name) {
            None => Err(Failure::new(
                "Lambda.ResourceNotFoundException",
                format!(
                    "Function not found: {} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {}; Proxy: null)",
                    qualified(&self.scope, target),
                    uuid::Uuid::nil()
                ),
            )),
            Some(Function::Return(v)) => Ok(Reply::serialized(v.clone())),
            Some(Function::Identity) => Ok(Reply::serialized(payload)),
            Some(Function::Throw { error, cause }) => Err(Failure::new(error.clone(), cause.clone())),
            Some(Function::Command(argv)) => {
                let (name, argv, slots) = (name.to_owned(), argv.clone(), self.processes.clone());
                let input = payload.to_string().into_bytes();
                if tokio::runtime::Handle::try_current().is_ok() {
                    return Answer::Later(Box::pin(async move {
                        let out = command::run(&name, &argv, input, Some(limit), &slots).await;
                        shape(out.and_then(|out| command_result(&name, out)))
                    }));
                }
                return Answer::Blocking(Box::new(move || {
                    let out = command::run_blocking(&name, &argv, input, Some(limit), &slots);
                    shape(out.and_then(|out| command_result(&name, out)))
                }));
            }
            Some(Function::Endpoint(url)) => {
                let (name, url) = (name.to_owned(), url.clone());
                let arn = qualified(&self.scope, &name);
                return Answer::Blocking(Box::new(move || {
                    shape(call_endpoint(&name, &arn, &url, &payload, Some(limit)))
                }));
            }
        };
        Answer::Now(shape(result))
    }
}

/// The function name in a `FunctionName`: a name, `NAME:QUALIFIER`, a partial ARN
/// (`ACCOUNT:function:NAME`) or a full ARN.
pub fn function_name(target: &str) -> &str {
    match target.find("function:") {
        Some(i) => {
            let rest = &target[i + "function:".len()..];
            rest.split(':').next().unwrap_or(rest)
        }
        None => target.split(':').next().unwrap_or(target),
    }
}

/// The ARN AWS names in its not-found message: `...:function:NAME:$LATEST`.
fn qualified(scope: &Scope, target: &str) -> String {
    if target.starts_with("arn:") {
        format!("{target}:$LATEST")
    } else {
        format!("{}:$LATEST", scope.lambda_function(target))
    }
}

/// What a function answered: its result, and the length in bytes of the text it answered with
/// (the response's `Content-Length`, which a `lambda:invoke` result reports).
#[derive(Debug)]
struct Reply {
    result: Value,
    /// `None` for an in-process answer: its serialization's length, counted only when the
    /// `lambda:invoke` shape asks for it.
    length: Option<usize>,
}

impl Reply {
    /// The answer of an in-process function, which answers with statejet's serialization.
    fn serialized(result: Value) -> Reply {
        Reply {
            result,
            length: None,
        }
    }
}

/// The result of `arn:aws:states:::lambda:invoke`, as AWS shapes it. `Content-Length` counts
/// the function's own answer text, whose spacing (Python's `json.dumps` puts a space after `:`
/// and `,`) a re-serialization would lose.
fn wrap(reply: Reply) -> Value {
    let Reply { result, length } = reply;
    let length = length
        .unwrap_or_else(|| result.to_string().len())
        .to_string();
    // The payload goes in as it is (not through serde_json's `json!`): null holds its place.
    let mut wrapped = json!({
        "ExecutedVersion": "$LATEST",
        "Payload": null,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-Remapped-Content-Length": ["0"],
                "Connection": ["keep-alive"],
                "x-amzn-RequestId": [uuid::Uuid::nil().to_string()],
                "Content-Length": [length],
                "Date": [chrono::Utc::now().to_rfc2822()],
                "X-Amzn-Trace-Id": ["Root=1-00000000-000000000000000000000000;Sampled=0"],
                "Content-Type": ["application/json"]
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/json",
                "Date": chrono::Utc::now().to_rfc2822(),
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-Remapped-Content-Length": "0",
                "x-amzn-RequestId": uuid::Uuid::nil().to_string(),
                "X-Amzn-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0"
            },
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": {"RequestId": uuid::Uuid::nil().to_string()},
        "StatusCode": 200
    });
    wrapped["Payload"] = result;
    wrapped
}

/// A command's result from its stdout and exit status.
fn command_result(name: &str, out: command::Output) -> Result<Reply, Failure> {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    function_result(name, stdout, !out.status.success())
}

/// A function's answer: with `failed`, an error named by the body's `errorType` (the whole body
/// is the cause, as Step Functions reports Lambda errors); else the body as JSON (empty: null).
fn function_result(name: &str, body: String, failed: bool) -> Result<Reply, Failure> {
    if failed {
        let error = Value::parse(&body)
            .ok()
            .and_then(|v| {
                v.get("errorType")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "Lambda.Unknown".to_owned());
        return Err(Failure::new(error, body));
    }
    let length = body.len();
    if body.trim().is_empty() {
        return Ok(Reply {
            result: Value::Null,
            length: Some(length),
        });
    }
    let result = Value::parse(&body).map_err(|e| {
        Failure::new(
            "Lambda.Unknown",
            format!("function '{name}' returned a result that is not JSON: {e}"),
        )
    })?;
    Ok(Reply {
        result,
        length: Some(length),
    })
}

/// Calls a function through the Lambda Invoke API. A response with `X-Amz-Function-Error` is a
/// function error named by its `errorType`, with the whole body as the cause, as Step Functions
/// reports Lambda errors.
fn call_endpoint(
    name: &str,
    arn: &str,
    url: &str,
    payload: &Value,
    limit: Option<Duration>,
) -> Result<Reply, Failure> {
    let mut request = ureq::post(&format!("{url}/2015-03-31/functions/{name}/invocations"))
        .set("Content-Type", "application/json");
    if let Some(l) = limit {
        request = request.timeout(l);
    }
    let response = match request.send_string(&payload.to_string()) {
        Ok(r) => r,
        Err(ureq::Error::Status(404, _)) => {
            return Err(Failure::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {arn} (at {url})"),
            ))
        }
        Err(ureq::Error::Status(code, r)) => {
            let body = r.into_string().unwrap_or_default();
            return Err(Failure::new(
                "Lambda.ServiceException",
                format!("function '{name}' at {url}: HTTP {code}: {body}"),
            ));
        }
        Err(ureq::Error::Transport(t)) if t.kind() == ureq::ErrorKind::Io && limit.is_some() => {
            // ureq reports its timeout as an I/O error; so does a reset, which is rarer locally.
            return Err(Failure::new(TIMEOUT, ""));
        }
        Err(ureq::Error::Transport(t)) => {
            return Err(Failure::new(
                "Lambda.ServiceException",
                format!("function '{name}': cannot reach {url}: {t}"),
            ))
        }
    };
    let function_error = response.header("X-Amz-Function-Error").is_some();
    let body = response.into_string().map_err(|e| {
        Failure::new(
            "Lambda.ServiceException",
            format!("function '{name}' at {url}: cannot read the response: {e}"),
        )
    })?;
    function_result(name, body, function_error)
}
