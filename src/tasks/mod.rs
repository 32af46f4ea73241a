//! Task resources: the only place that calls out of the engine. One trait, `Resource`, answers
//! a Task's invocation now, on a blocking thread, or asynchronously (`Answer`); the `Router`
//! maps a Task's resource to the implementation registered for it (an in-process handler, by
//! function name or resource ARN) or else to the functions file.
//!
//! Invariant: every resource either reaches a handler the user configured or fails the task with
//! an error that says so; nothing pretends to succeed. The driver, not the resource, decides
//! which thread awaits an answer.

pub mod activities;
pub mod aws;
pub mod command;
pub mod functions;
pub mod http;
pub mod mock;
pub mod nested;
pub mod tokens;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;

pub use functions::Functions;
pub use tokens::Callbacks;

use crate::asl::machine::{IntegrationPattern, ResourceKind};
use crate::vm::run::Invocation;
use crate::vm::Failure;

/// A task's result, or the error that failed it: in statejet's value type, which the run goes
/// on with.
pub type TaskResult = Result<crate::value::Value, Failure>;

/// How a resource answers an invocation.
pub enum Answer {
    /// At once, without blocking (an in-process function of the functions file).
    Now(TaskResult),
    /// By work that blocks (a program, a network call): the driver runs it where blocking
    /// holds up no other execution.
    Blocking(Box<dyn FnOnce() -> TaskResult + Send>),
    /// Asynchronously (an in-process handler).
    Later(Pin<Box<dyn Future<Output = TaskResult> + Send>>),
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Answer::Now(_) => "Answer::Now",
            Answer::Blocking(_) => "Answer::Blocking",
            Answer::Later(_) => "Answer::Later",
        })
    }
}

/// Waits for an answer on a thread that may block (a blocking-pool thread, or one with no
/// runtime), for callers that drive one state themselves (TestState). An asynchronous answer
/// runs on the current tokio runtime when there is one, so its work (a command's program)
/// stays under that runtime's reactor.
pub fn wait_blocking(answer: Answer) -> TaskResult {
    match answer {
        Answer::Now(r) => r,
        Answer::Blocking(work) => work(),
        Answer::Later(f) => match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.block_on(f),
            Err(_) => match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(f),
                Err(e) => Err(Failure::new(
                    crate::vm::failure::RUNTIME,
                    format!("cannot start a runtime for the task: {e}"),
                )),
            },
        },
    }
}

/// What performs a Task's invocation. `limit` is how long the call may take (the Task's
/// timeout, at most what is left of the execution's time): a blocking answer stops its work
/// past it; the driver times out the others.
pub trait Resource: Send + Sync {
    fn call(&self, invocation: Invocation, limit: Duration) -> Answer;
}

/// An in-process task handler in serde_json's type (the library's first registration API,
/// kept for its users): receives the Task's payload, returns its result or an error. Each call
/// converts the payload to serde_json's type and the result back; `ValueHandler` does not.
pub type Handler = Arc<
    dyn Fn(serde_json::Value) -> Pin<Box<dyn Future<Output = SerdeResult> + Send>> + Send + Sync,
>;

/// What a `Handler` answers: a result in serde_json's type, or the error that failed the task.
pub type SerdeResult = Result<serde_json::Value, Failure>;

impl Resource for Handler {
    fn call(&self, invocation: Invocation, _limit: Duration) -> Answer {
        let answer = self(invocation.payload.into_serde());
        Answer::Later(Box::pin(async move {
            answer.await.map(crate::value::Value::from)
        }))
    }
}

/// An in-process task handler in statejet's value type: the payload is the Task's effective
/// input itself (shared, not copied) and the result goes on in the run as it is.
pub type ValueHandler = Arc<
    dyn Fn(crate::value::Value) -> Pin<Box<dyn Future<Output = TaskResult> + Send>> + Send + Sync,
>;

impl Resource for ValueHandler {
    fn call(&self, invocation: Invocation, _limit: Duration) -> Answer {
        Answer::Later(self(invocation.payload))
    }
}

/// Maps each Task's resource to the implementation that answers it: a mocked response when the
/// execution runs a mock test case that names the state (`mock`), else one registered under the
/// Lambda function's name or the resource's ARN, else the AWS integrations when set (service
/// integrations, and Lambda functions the functions file lacks: `aws::Aws::takes`), else the
/// functions file.
#[derive(Default)]
pub struct Router {
    registered: DashMap<String, Arc<dyn Resource>>,
    functions: Functions,
    aws: std::sync::OnceLock<aws::Aws>,
    /// What starts executions of this server's own state machines (`states:startExecution`).
    nested: std::sync::OnceLock<Arc<dyn nested::Local>>,
    /// What answers activities and `.waitForTaskToken` tasks (`statejet serve` has it;
    /// `statejet run` does not, and says so).
    callbacks: Option<Callbacks>,
    /// Step Functions Local's mocked responses, asked before anything else.
    mocks: std::sync::OnceLock<Arc<mock::Mocks>>,
}

impl Router {
    pub fn new(functions: Functions) -> Router {
        Router {
            registered: DashMap::new(),
            functions,
            aws: std::sync::OnceLock::new(),
            nested: std::sync::OnceLock::new(),
            callbacks: None,
            mocks: std::sync::OnceLock::new(),
        }
    }

    /// Lets a mock configuration answer the states its test cases name (once, as `set_aws`).
    pub fn set_mocks(&self, mocks: Arc<mock::Mocks>) {
        let _ = self.mocks.set(mocks);
    }

    /// The mock configuration, if one was set.
    pub fn mocks(&self) -> Option<&Arc<mock::Mocks>> {
        self.mocks.get()
    }

    /// Lets the AWS integrations answer service integrations (once; a second call is ignored,
    /// the first configuration staying in force for the process).
    pub fn set_aws(&self, aws: aws::Aws) {
        let _ = self.aws.set(aws);
    }

    /// Lets `local` answer `states:startExecution` of the machines it has (once).
    pub fn set_nested(&self, local: Arc<dyn nested::Local>) {
        let _ = self.nested.set(local);
    }

    /// This router, answering activities and `.waitForTaskToken` tasks through `callbacks`.
    pub fn with_callbacks(mut self, callbacks: Callbacks) -> Router {
        self.callbacks = Some(callbacks);
        self
    }

    /// The token store and activities, if this router answers through them.
    pub fn callbacks(&self) -> Option<&Callbacks> {
        self.callbacks.as_ref()
    }

    /// Makes `resource` answer the Tasks that name `key`: a Lambda function name or a resource
    /// ARN (replacing any earlier registration of it).
    pub fn register(&self, key: &str, resource: Arc<dyn Resource>) {
        self.registered.insert(key.to_owned(), resource);
    }

    /// The functions of the functions file.
    pub fn functions(&self) -> &Functions {
        &self.functions
    }

    fn registered(&self, invocation: &Invocation) -> Option<Arc<dyn Resource>> {
        let by_name = match &invocation.resource.kind {
            ResourceKind::Lambda { function } => self.registered.get(function.as_str()),
            _ => None,
        };
        by_name
            .or_else(|| self.registered.get(invocation.resource.arn.as_str()))
            .map(|r| r.clone())
    }
}

impl Router {
    /// The resource's own answer, past the token patterns: a registered resource, this
    /// server's state machines, the AWS integrations, the functions file.
    fn route(&self, invocation: Invocation, limit: Duration) -> Answer {
        if let Some(r) = self.registered(&invocation) {
            return r.call(invocation, limit);
        }
        // Only a states:startExecution task asks the engine (no dynamic call on other paths).
        if nested::start_execution_target(&invocation).is_some() {
            if let Some(local) = self.nested.get().filter(|l| l.takes(&invocation)) {
                return local.call(invocation, limit);
            }
        }
        match self.aws.get() {
            Some(aws) if aws.takes(&invocation, &self.functions) => aws.call(invocation, limit),
            _ => self.functions.call(invocation, limit),
        }
    }
}

impl Resource for Router {
    fn call(&self, invocation: Invocation, limit: Duration) -> Answer {
        // A mocked state answers at once, whatever its resource (`.waitForTaskToken` too).
        if let Some(answer) = self.mocks.get().and_then(|m| m.answer(&invocation)) {
            return answer;
        }
        let pattern = match &invocation.resource.kind {
            ResourceKind::Activity { .. } => None,
            ResourceKind::Service { pattern, .. } => Some(*pattern),
            ResourceKind::Lambda { .. } => Some(IntegrationPattern::RequestResponse),
        };
        match (pattern, &self.callbacks) {
            (None, Some(c)) => c.activity(invocation),
            (Some(IntegrationPattern::WaitForTaskToken), Some(c)) => {
                c.wait_for_token(invocation, |inv| self.call(inv, limit))
            }
            // A job's token takes heartbeats and an early SendTaskSuccess/Failure.
            (Some(IntegrationPattern::Sync), Some(c)) => {
                c.job(invocation, |inv| self.route(inv, limit))
            }
            (None | Some(IntegrationPattern::WaitForTaskToken), None) => {
                Answer::Now(Err(needs_serve(&invocation)))
            }
            _ => self.route(invocation, limit),
        }
    }
}

/// Where nothing can answer a task token (`statejet run`): the execution fails at once
/// (`States.Runtime`, which no Catch takes) rather than wait for a send that cannot come.
fn needs_serve(inv: &Invocation) -> Failure {
    let (what, how) = match inv.resource.kind {
        ResourceKind::Activity { .. } => (
            "is an activity task",
            "GetActivityTask, then SendTaskSuccess or SendTaskFailure",
        ),
        _ => (
            "waits for a task token",
            "SendTaskSuccess or SendTaskFailure",
        ),
    };
    Failure::runtime(format!(
        "The state '{}' {what} ({}), which only `statejet serve` can answer ({how}): run the machine there as a STANDARD state machine",
        inv.state, inv.resource.arn
    ))
}

/// Whether `inv` is a Distributed Map's reader (`Some(true)`) or writer (`Some(false)`).
pub(crate) fn map_io(inv: &Invocation) -> Option<bool> {
    match &inv.resource.kind {
        ResourceKind::Service { service, .. } if service == "s3" => {
            if inv.payload.get("ItemReader").is_some() {
                Some(true)
            } else if inv.payload.get("ResultWriter").is_some() {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Where no AWS integrations are configured, a Map's S3 reader or writer fails saying so
/// (never iterating its input instead).
pub(crate) fn no_s3(inv: &Invocation) -> Failure {
    use crate::vm::run::map_io::{ITEM_READER_FAILED, RESULT_WRITER_FAILED};
    let (error, what) = match map_io(inv) {
        Some(true) => (ITEM_READER_FAILED, "reads its items from"),
        _ => (RESULT_WRITER_FAILED, "writes its results to"),
    };
    Failure::new(
        error,
        format!(
            "The Map '{}' {what} S3 ({}), and no AWS integrations are configured here: `statejet run` and `statejet serve` configure them from the environment (AWS_ENDPOINT_URL, the credentials, the region)",
            inv.state, inv.resource.arn
        ),
    )
}
