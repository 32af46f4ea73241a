//! AWS service integrations: Tasks that call AWS's services (or LocalStack, or moto) over
//! HTTP. `Aws` is the resource: the AWS SDK integration (`aws-sdk:SERVICE:ACTION`, any service
//! of the shipped models) and the optimized integrations (`optimized`), configured as the AWS
//! tools are (`config`), sent by one pooled client (`client`) in each service's wire protocol
//! (`protocol`).
//!
//! Invariant: knowledge of a service's API comes from botocore's models (`models`), extracted by
//! a committed script, never written by hand; a call that cannot be made fails its Task with an
//! ASL error saying why (no endpoint answering, no credentials, a parameter the API lacks).

mod apigateway;
pub mod client;
pub mod config;
pub mod models;
mod optimized;
pub mod protocol;
mod s3io;
mod sync;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;

use super::{Answer, Functions, Resource, SerdeResult, TaskResult};
use crate::asl::machine::{IntegrationPattern, ResourceKind};
use crate::vm::run::Invocation;
use crate::vm::Failure;
use client::{Request, Response, Signing};
use config::Config;
use models::service::Service;

/// The AWS service integrations, with the process's configuration.
#[derive(Clone)]
pub struct Aws {
    config: Arc<Config>,
    /// The HTTP Task's connections file (`--connections`): read before EventBridge is asked.
    connections: Arc<super::http::Connections>,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("region", &self.config.region)
            .finish_non_exhaustive()
    }
}

/// Why a call brought no service answer.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The parameters do not fit the API (named in the text).
    Parameters(String),
    /// No credentials, no connection, no answer in time.
    Client(String),
}

impl Aws {
    pub fn new(config: Config) -> Aws {
        Aws {
            config: Arc::new(config),
            connections: Arc::default(),
        }
    }

    /// These integrations, with the HTTP Task's connections file.
    pub fn with_connections(mut self, connections: super::http::Connections) -> Aws {
        self.connections = Arc::new(connections);
        self
    }

    pub(crate) fn connections(&self) -> &super::http::Connections {
        &self.connections
    }

    /// The integrations as the process's environment and shared files configure them.
    pub fn from_env() -> Aws {
        Aws::new(Config::from_env())
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether this resource answers `inv` rather than the functions file: every service
    /// integration, and a Lambda function the functions file lacks when there are credentials
    /// to call Lambda with (without them the functions file's not-found answer stands).
    pub fn takes(&self, inv: &Invocation, functions: &Functions) -> bool {
        match &inv.resource.kind {
            ResourceKind::Lambda { function } => {
                self.config.credentials.is_some() && !functions.has(function)
            }
            ResourceKind::Service {
                service, action, ..
            } if service == "lambda" && action == "invoke" => {
                let name = (inv.payload.get("FunctionName")).and_then(crate::value::Value::as_str);
                self.config.credentials.is_some()
                    && name.is_some_and(|n| !functions.has(super::functions::function_name(n)))
            }
            ResourceKind::Service { .. } => true,
            ResourceKind::Activity { .. } => false,
        }
    }

    /// The call, its result made statejet's value (the AWS calls speak serde_json's type:
    /// requests are built from it, answers parsed into it).
    async fn invoke(self, inv: Invocation, limit: Duration) -> TaskResult {
        self.invoke_serde(inv, limit)
            .await
            .map(crate::value::Value::from)
    }

    async fn invoke_serde(self, inv: Invocation, limit: Duration) -> SerdeResult {
        match &inv.resource.kind {
            ResourceKind::Service {
                service,
                action,
                pattern,
            } => {
                // A Distributed Map's ItemReader and ResultWriter (their payloads say so; no
                // Task has an optimized S3 integration).
                if service == "s3" && *pattern == IntegrationPattern::RequestResponse {
                    if let Some(answer) = s3io::call(&self, action, &inv, limit).await {
                        return answer;
                    }
                }
                let job = sync::Job::of(service, action);
                match (service.strip_prefix("aws-sdk:"), pattern, job) {
                    (Some(sdk), IntegrationPattern::RequestResponse, _) => {
                        self.sdk(sdk, action, &inv.payload.to_serde(), limit).await
                    }
                    (None, IntegrationPattern::RequestResponse, Some(job)) => {
                        sync::start(&self, job, &inv, limit).await
                    }
                    (None, IntegrationPattern::RequestResponse, None) if service == "http" => {
                        super::http::invoke(&self, &inv.payload.to_serde(), limit).await
                    }
                    (None, IntegrationPattern::RequestResponse, None)
                        if service == "apigateway" && action == "invoke" =>
                    {
                        apigateway::invoke(&self, &inv, limit).await
                    }
                    (None, IntegrationPattern::RequestResponse, None) => {
                        optimized::call(&self, service, action, &inv, limit).await
                    }
                    (None, IntegrationPattern::Sync, Some(job)) => {
                        sync::run(&self, job, &inv, limit).await
                    }
                    _ => Err(no_handler(
                        &inv,
                        "statejet runs .sync for states:startExecution, glue:startJobRun, batch:submitJob, athena:startQueryExecution and ecs:runTask; .waitForTaskToken through statejet serve",
                    )),
                }
            }
            ResourceKind::Lambda { .. } => optimized::legacy_lambda(&self, &inv, limit).await,
            ResourceKind::Activity { .. } => Err(no_handler(&inv, "statejet has no activities")),
        }
    }

    /// `arn:aws:states:::aws-sdk:SERVICE:ACTION`: the action's operation of the service's
    /// model, its result in Step Functions' casing, its errors named `Prefix.Code`.
    async fn sdk(&self, sdk: &str, action: &str, params: &Value, limit: Duration) -> SerdeResult {
        let Some(svc) = models::service::service(sdk) else {
            return Err(Failure::new(
                "States.Runtime",
                format!("statejet's AWS models hold no service '{sdk}' (aws-sdk:{sdk}:{action}): the name is the AWS SDK's service name in lower case, as in aws-sdk:dynamodb or aws-sdk:sfn"),
            ));
        };
        let op_name = protocol::upper_first(action);
        let prefix = svc.prefix.clone();
        match self.send(&svc, &op_name, params, limit).await {
            Ok(r) if r.status < 300 => protocol::result(&svc, &svc.operations[&op_name], &r)
                .map_err(|e| Failure::new(format!("{prefix}.{prefix}Exception"), e)),
            Ok(r) => {
                let e = protocol::error(&svc, &r);
                Err(sdk_failure(&svc, &e))
            }
            Err(CallError::Parameters(m)) => Err(Failure::new(
                "States.Runtime",
                format!("aws-sdk:{sdk}:{action}: {m}"),
            )),
            Err(CallError::Client(m)) => {
                Err(Failure::new(format!("{prefix}.SdkClientException"), m))
            }
        }
    }

    /// Serializes, signs and sends one operation of `svc`.
    pub(crate) async fn send(
        &self,
        svc: &Service,
        op_name: &str,
        params: &Value,
        limit: Duration,
    ) -> Result<Response, CallError> {
        let (request, signing) = self.build(svc, op_name, params)?;
        client::send(request, &signing, limit)
            .await
            .map_err(|e| CallError::Client(e.to_string()))
    }

    /// The request of one operation of `svc` and how to sign it.
    pub(crate) fn build<'a>(
        &'a self,
        svc: &'a Service,
        op_name: &str,
        params: &Value,
    ) -> Result<(Request, Signing<'a>), CallError> {
        let Some(op) = svc.operations.get(op_name) else {
            let mut ops: Vec<String> = svc.operations.keys().map(|o| lower_first(o)).collect();
            ops.sort();
            return Err(CallError::Parameters(format!(
                "the {} API has no action '{}'; its actions are {}",
                svc.metadata.service_id,
                lower_first(op_name),
                ops.join(", ")
            )));
        };
        let wire = protocol::request(svc, op_name, op, params).map_err(CallError::Parameters)?;
        let Some(credentials) = &self.config.credentials else {
            return Err(CallError::Client(format!(
                "Unable to load credentials: {}",
                self.config.credential_sources()
            )));
        };
        let endpoint = self.endpoint(svc);
        let request = Request {
            method: wire.method,
            url: format!("{endpoint}{}", wire.path),
            headers: wire.headers,
            body: wire.body,
        };
        let signing = Signing {
            credentials,
            region: &self.config.region,
            service: svc.signing_name(),
            s3: svc.metadata.protocol == "rest-xml" && svc.signing_name() == "s3",
        };
        Ok((request, signing))
    }

    /// The service's configured endpoint, else AWS's own for the region.
    fn endpoint(&self, svc: &Service) -> String {
        if let Some(e) = self.config.endpoint(&svc.metadata.service_id) {
            return e;
        }
        match &svc.metadata.global_endpoint {
            Some(host) => format!("https://{host}"),
            None => format!(
                "https://{}.{}.amazonaws.com",
                svc.metadata.endpoint_prefix, self.config.region
            ),
        }
    }
}

impl Resource for Aws {
    /// A future on the caller's tokio runtime; where there is none (`statejet run`, TestState),
    /// the call runs on a small runtime of its own from a blocking answer.
    fn call(&self, inv: Invocation, limit: Duration) -> Answer {
        let call = self.clone().invoke(inv, limit);
        if tokio::runtime::Handle::try_current().is_ok() {
            return Answer::Later(Box::pin(call));
        }
        Answer::Blocking(Box::new(move || match own_runtime() {
            Ok(rt) => rt.block_on(call),
            Err(e) => Err(Failure::new(
                crate::vm::failure::RUNTIME,
                format!("cannot start a runtime for the AWS call: {e}"),
            )),
        }))
    }
}

/// The runtime of AWS calls made outside one (its pool's connections live on it).
fn own_runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("statejet-aws")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An aws-sdk error as Step Functions names it: `Prefix.Code` (with `Exception` appended) for
/// an error the model declares, `Prefix.PrefixException` for any other; the cause in the AWS
/// SDK for Java v2's words.
fn sdk_failure(svc: &Service, e: &protocol::ServiceError) -> Failure {
    let prefix = &svc.prefix;
    let name = match svc
        .exception(&e.code)
        .or_else(|| e.query_code.as_deref().and_then(|q| svc.exception(q)))
    {
        Some(shape) if shape.ends_with("Exception") => format!("{prefix}.{shape}"),
        Some(shape) => format!("{prefix}.{shape}Exception"),
        None => format!("{prefix}.{prefix}Exception"),
    };
    let mut cause = format!(
        "{} (Service: {prefix}, Status Code: {}, Request ID: {}",
        e.message, e.status, e.request_id
    );
    if let Some(id) = &e.extended_request_id {
        cause.push_str(&format!(", Extended Request ID: {id}"));
    }
    cause.push(')');
    Failure::new(name, cause)
}

/// The failure of a resource statejet does not call.
fn no_handler(inv: &Invocation, why: &str) -> Failure {
    Failure::new(
        "States.TaskFailed",
        format!(
            "statejet has no handler for the resource '{}' of state '{}': {why}",
            inv.resource.arn, inv.state
        ),
    )
}
