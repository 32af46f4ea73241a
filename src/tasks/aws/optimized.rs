//! The optimized integrations (`arn:aws:states:::sqs:sendMessage`, ...): the same operations as
//! the AWS SDK integration, with Step Functions' own rules on top. Parameters that take a string
//! take any JSON value as its text; results carry `SdkHttpMetadata` and `SdkResponseMetadata`
//! (SQS, SNS, DynamoDB, Lambda); errors are named and worded as the AWS SDK for Java v1 names
//! them (`DynamoDB.ResourceNotFoundException`, `... (Service: AmazonDynamoDBv2; Status Code:
//! 400; Error Code: ...; Request ID: ...; Proxy: null)`).

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::models::service::{self, Service};
use super::protocol::{self, ServiceError};
use super::{no_handler, Aws, CallError};
use crate::tasks::SerdeResult as TaskResult;
use crate::vm::run::Invocation;
use crate::vm::Failure;

/// An optimized integration's service: the botocore model it calls and its Java v1 names.
pub(super) struct V1 {
    pub(super) model: &'static str,
    /// The error prefix (`DynamoDB`).
    pub(super) prefix: &'static str,
    /// The service name in causes (`AmazonDynamoDBv2`).
    pub(super) name: &'static str,
    /// The exception of codes the model does not declare (`AmazonDynamoDBException`).
    pub(super) base: &'static str,
    /// Whether the result carries the HTTP metadata.
    pub(super) metadata: bool,
}

const DYNAMODB: V1 = V1 {
    model: "dynamodb",
    prefix: "DynamoDB",
    name: "AmazonDynamoDBv2",
    base: "AmazonDynamoDBException",
    metadata: true,
};
const SQS: V1 = V1 {
    model: "sqs",
    prefix: "SQS",
    name: "AmazonSQS",
    base: "AmazonSQSException",
    metadata: true,
};
const SNS: V1 = V1 {
    model: "sns",
    prefix: "SNS",
    name: "AmazonSNS",
    base: "AmazonSNSException",
    metadata: true,
};
const LAMBDA: V1 = V1 {
    model: "lambda",
    prefix: "Lambda",
    name: "AWSLambda",
    base: "AWSLambdaException",
    metadata: true,
};
const EVENTS: V1 = V1 {
    model: "events",
    prefix: "EventBridge",
    name: "AmazonEventBridge",
    base: "AmazonEventBridgeException",
    metadata: false,
};

pub(super) async fn call(
    aws: &Aws,
    service: &str,
    action: &str,
    inv: &Invocation,
    limit: Duration,
) -> TaskResult {
    let mut params = inv.payload.to_serde();
    let v1 = match (service, action) {
        ("dynamodb", "getItem" | "putItem" | "updateItem" | "deleteItem") => &DYNAMODB,
        ("sqs", "sendMessage") => {
            stringify(&mut params, "MessageBody");
            &SQS
        }
        ("sns", "publish") => {
            stringify(&mut params, "Message");
            &SNS
        }
        ("events", "putEvents") => {
            // AWS adds the execution's and the state machine's ARNs to every entry's Resources.
            let arns = [inv.execution.arn(), &*inv.execution.state_machine_id];
            if let Some(Value::Array(entries)) = params.get_mut("Entries") {
                for e in entries.iter_mut() {
                    stringify(e, "Detail");
                    if let Some(o) = e.as_object_mut() {
                        let resources = o.entry("Resources").or_insert_with(|| json!([]));
                        if let Value::Array(list) = resources {
                            list.extend(arns.iter().map(|a| json!(a)));
                        }
                    }
                }
            }
            &EVENTS
        }
        ("athena", "stopQueryExecution" | "getQueryExecution" | "getQueryResults") => {
            &super::sync::ATHENA
        }
        ("lambda", "invoke") => return lambda(aws, inv, limit, true).await,
        _ => {
            return Err(no_handler(
                inv,
                "statejet calls aws-sdk integrations, lambda:invoke, sns:publish, sqs:sendMessage, dynamodb:getItem/putItem/updateItem/deleteItem, events:putEvents, apigateway:invoke, states:startExecution, glue:startJobRun, batch:submitJob, ecs:runTask and athena:startQueryExecution/stopQueryExecution/getQueryExecution/getQueryResults",
            ))
        }
    };
    let svc = model(v1)?;
    let op = protocol::upper_first(action);
    let result = request(aws, &svc, v1, &op, &params, limit).await?;
    let failed = result.get("FailedEntryCount").and_then(Value::as_u64);
    if v1.model == "events" && failed.unwrap_or(0) > 0 {
        return Err(Failure::new("EventBridge.FailedEntry", result.to_string()));
    }
    Ok(result)
}

/// A Task whose resource is a Lambda function's ARN, for a function the functions file does
/// not have: Lambda's Invoke, the function's payload as the result.
pub(super) async fn legacy_lambda(aws: &Aws, inv: &Invocation, limit: Duration) -> TaskResult {
    lambda(aws, inv, limit, false).await
}

async fn lambda(aws: &Aws, inv: &Invocation, limit: Duration, wrapped: bool) -> TaskResult {
    let svc = model(&LAMBDA)?;
    let mut params = if wrapped {
        let mut p = inv.payload.to_serde();
        // A string Payload is the request body itself (JSON text reaches the function as that
        // JSON); none, or null, is `{}`, as Lambda hands the function.
        let payload = match p.get("Payload") {
            None | Some(Value::Null) => json!({}),
            Some(Value::String(s)) => {
                serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
            }
            Some(v) => v.clone(),
        };
        p["Payload"] = payload;
        p
    } else {
        json!({"FunctionName": inv.resource.arn, "Payload": inv.payload})
    };
    if params.get("FunctionName").is_none() {
        return Err(Failure::new(
            "States.Runtime",
            "The field 'FunctionName' is required by arn:aws:states:::lambda:invoke",
        ));
    }
    if let Some(o) = params.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    let response = match aws.send(&svc, "Invoke", &params, limit).await {
        Ok(r) => r,
        Err(e) => return Err(call_failure(&LAMBDA, e)),
    };
    if response.status >= 300 {
        return Err(failure(&svc, &LAMBDA, &protocol::error(&svc, &response)));
    }
    let text = String::from_utf8_lossy(&response.body).into_owned();
    if response.header("x-amz-function-error").is_some() {
        let error = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("errorType")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "Lambda.Unknown".to_owned());
        return Err(Failure::new(error, text));
    }
    let payload = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).map_err(|e| {
            Failure::new(
                "Lambda.Unknown",
                format!("the function returned a result that is not JSON: {e}"),
            )
        })?
    };
    if !wrapped {
        return Ok(payload);
    }
    let mut result = Map::new();
    result.insert(
        "ExecutedVersion".to_owned(),
        json!(response
            .header("x-amz-executed-version")
            .unwrap_or("$LATEST")),
    );
    result.insert("Payload".to_owned(), payload);
    add_metadata(&mut result, &response);
    result.insert("StatusCode".to_owned(), json!(response.status));
    Ok(Value::Object(result))
}

pub(super) fn model(v1: &V1) -> Result<std::sync::Arc<Service>, Failure> {
    service::by_model(v1.model).ok_or_else(|| {
        Failure::new(
            "States.Runtime",
            format!("statejet's AWS models lack {}", v1.model),
        )
    })
}

/// One request-response call: the result in Step Functions' casing, with the HTTP metadata
/// where the integration carries it; keys in the Java SDK's order (alphabetical).
pub(super) async fn request(
    aws: &Aws,
    svc: &Service,
    v1: &V1,
    op: &str,
    params: &Value,
    limit: Duration,
) -> TaskResult {
    let response = aws
        .send(svc, op, params, limit)
        .await
        .map_err(|e| call_failure(v1, e))?;
    if response.status >= 300 {
        return Err(failure(svc, v1, &protocol::error(svc, &response)));
    }
    let result = protocol::result(svc, &svc.operations[op], &response)
        .map_err(|e| Failure::new(format!("{}.{}", v1.prefix, v1.base), e))?;
    let mut out = match result {
        Value::Object(o) => o,
        other => return Ok(other),
    };
    if v1.metadata {
        add_metadata(&mut out, &response);
    }
    out.sort_keys();
    Ok(Value::Object(out))
}

/// `SdkHttpMetadata` and `SdkResponseMetadata`, from the response's headers.
fn add_metadata(out: &mut Map<String, Value>, response: &super::client::Response) {
    let mut all = Map::new();
    let mut single = Map::new();
    for (k, v) in &response.headers {
        let name = header_name(k);
        match all.get_mut(&name) {
            Some(Value::Array(vs)) => vs.push(json!(v)),
            _ => {
                all.insert(name.clone(), json!([v]));
            }
        }
        single.insert(name, json!(v));
    }
    let id = response
        .header("x-amzn-requestid")
        .or_else(|| response.header("x-amz-request-id"))
        .unwrap_or_default();
    out.insert(
        "SdkHttpMetadata".to_owned(),
        json!({"AllHttpHeaders": all, "HttpHeaders": single, "HttpStatusCode": response.status}),
    );
    out.insert("SdkResponseMetadata".to_owned(), json!({"RequestId": id}));
}

/// A header name as AWS's services write it (HTTP/1 readers lower-case them):
/// `Content-Type`, `x-amzn-RequestId`, `x-amz-crc32`.
pub(super) fn header_name(k: &str) -> String {
    if k.eq_ignore_ascii_case("x-amzn-requestid") {
        return "x-amzn-RequestId".to_owned();
    }
    if k.starts_with("x-amz") {
        return k.to_owned();
    }
    k.split('-')
        .map(super::protocol::upper_first)
        .collect::<Vec<_>>()
        .join("-")
}

/// A parameter that takes a string given any other JSON value: its JSON text.
pub(super) fn stringify(params: &mut Value, key: &str) {
    if let Some(v) = params.get_mut(key) {
        if !v.is_string() && !v.is_null() {
            *v = Value::String(v.to_string());
        }
    }
}

pub(super) fn call_failure(v1: &V1, e: CallError) -> Failure {
    match e {
        CallError::Parameters(m) => Failure::new(format!("{}.{}", v1.prefix, v1.base), m),
        CallError::Client(m) => Failure::new(format!("{}.SdkClientException", v1.prefix), m),
    }
}

/// A service error named and worded as the AWS SDK for Java v1 reports it.
pub(super) fn failure(svc: &Service, v1: &V1, e: &ServiceError) -> Failure {
    let name = match svc
        .exception(&e.code)
        .or_else(|| e.query_code.as_deref().and_then(|q| svc.exception(q)))
    {
        Some(shape) if shape.ends_with("Exception") => format!("{}.{shape}", v1.prefix),
        Some(shape) => format!("{}.{shape}Exception", v1.prefix),
        None => format!("{}.{}", v1.prefix, v1.base),
    };
    Failure::new(
        name,
        format!(
            "{} (Service: {}; Status Code: {}; Error Code: {}; Request ID: {}; Proxy: null)",
            e.message,
            v1.name,
            e.status,
            e.query_code.as_deref().unwrap_or(&e.code),
            e.request_id
        ),
    )
}
