//! The Task state: calls a resource (a Lambda function, a service integration, an activity).
//!
//! Invariant: a Task's `Resource` is classified here, once; integrations Express cannot run
//! (activities, `.sync`, `.waitForTaskToken`) are rejected for Express machines, as AWS does.

use serde_json::Value;

use super::common::{self, FlowShape, MAX_SECONDS};
use super::context::{Ctx, Scope};
use super::machine::{
    Credentials, Dynamic, IntegrationPattern, QueryLanguage, Resource, ResourceKind, Task,
};
use super::message;
use super::reader::Object;
use super::retry;
use super::MachineType;

pub fn read(o: &mut Object, lang: QueryLanguage, scope: &mut Scope, ctx: &mut Ctx) -> Task {
    o.require(&["Resource"], &mut ctx.d);
    let resource = resource(o, ctx);
    if let Some(Resource {
        kind: ResourceKind::Service {
            service, action, ..
        },
        ..
    }) = &resource
    {
        if service == "http" && action == "invoke" {
            super::http_task::check(o, lang, ctx);
        }
    }
    let flow = common::flow(o, lang, FlowShape::TASK, ctx);
    let timeout_seconds = common::dynamic_integer(o, "TimeoutSeconds", lang, 1, MAX_SECONDS, ctx);
    let heartbeat_seconds =
        common::dynamic_integer(o, "HeartbeatSeconds", lang, 1, MAX_SECONDS, ctx);
    if let (Some(Dynamic::Fixed(t)), Some(Dynamic::Fixed(h))) =
        (&timeout_seconds, &heartbeat_seconds)
    {
        if h >= t {
            ctx.d
                .schema(message::HEARTBEAT_TOO_LONG, &o.at_key("HeartbeatSeconds"));
        }
    }
    let credentials = credentials(o, lang, ctx);
    let retry = retry::retry(o, ctx);
    let catch = retry::catch(o, lang, scope, ctx);
    // Assign sees the state's result, as its Output does.
    ctx.states_result = true;
    let assign = common::assign(o, lang, ctx);
    ctx.states_result = false;
    let transition = common::transition(o, scope, ctx);
    Task {
        resource: resource.unwrap_or(Resource {
            arn: String::new(),
            kind: ResourceKind::Activity {
                name: String::new(),
            },
        }),
        flow,
        timeout_seconds,
        heartbeat_seconds,
        credentials,
        retry,
        catch,
        assign,
        transition,
    }
}

fn resource(o: &mut Object, ctx: &mut Ctx) -> Option<Resource> {
    let arn = o.string("Resource", &mut ctx.d)?;
    let at = o.at_key("Resource");
    let Some(kind) = classify(arn) else {
        ctx.d.schema(message::unknown_resource(arn), &at);
        return None;
    };
    if ctx.config.machine_type == MachineType::Express {
        let refusal = match &kind {
            ResourceKind::Activity { .. } => Some(message::EXPRESS_ACTIVITY),
            ResourceKind::Service {
                pattern: IntegrationPattern::Sync,
                ..
            } => Some(message::EXPRESS_SYNC),
            ResourceKind::Service {
                pattern: IntegrationPattern::WaitForTaskToken,
                ..
            } => Some(message::EXPRESS_CALLBACK),
            _ => None,
        };
        if let Some(m) = refusal {
            ctx.d.schema(m, &at);
        }
    }
    Some(Resource {
        arn: canonical(arn, &kind),
        kind,
    })
}

/// Sorts a resource ARN into the kinds Step Functions knows, or `None` if it is not one.
pub fn classify(arn: &str) -> Option<ResourceKind> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || parts[1].is_empty() {
        return None;
    }
    match (parts[2], parts[5]) {
        ("lambda", "function") if parts.len() == 7 => {
            let (function, qualifier) = match parts[6].split_once(':') {
                Some((f, q)) => (f, Some(q)),
                None => (parts[6], None),
            };
            let valid = lambda_name(function, MAX_FUNCTION_NAME)
                && qualifier.is_none_or(|q| q == "$LATEST" || lambda_name(q, MAX_QUALIFIER));
            valid.then(|| ResourceKind::Lambda {
                function: function.to_owned(),
            })
        }
        ("states", "activity") if parts.len() == 7 && !parts[6].is_empty() => {
            Some(ResourceKind::Activity {
                name: parts[6].to_owned(),
            })
        }
        // arn:aws:states:::SERVICE:ACTION[.pattern], or aws-sdk:SERVICE:ACTION[.pattern]; AWS
        // also accepts the region and account filled in (CloudFormation's
        // `arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:...` gives them), and
        // runs it as the same integration.
        ("states", _) => {
            let rest = arn.splitn(6, ':').nth(5)?;
            service(rest)
        }
        _ => None,
    }
}

/// Lambda's limits: a function name in an ARN has at most 64 characters, an alias 128.
const MAX_FUNCTION_NAME: usize = 64;
const MAX_QUALIFIER: usize = 128;

/// A Lambda function name or qualifier (a version or an alias), as Lambda's API pattern allows
/// them in an ARN: letters, digits, `-` and `_`.
fn lambda_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The ARN an integration is known by whatever region and account it was written with:
/// `arn:PARTITION:states:::SERVICE:ACTION...`. Other resources keep their ARN as written.
fn canonical(arn: &str, kind: &ResourceKind) -> String {
    match kind {
        ResourceKind::Service { .. } => {
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            format!("arn:{}:states:::{}", parts[1], parts[5])
        }
        _ => arn.to_owned(),
    }
}

fn service(rest: &str) -> Option<ResourceKind> {
    let (service, action) = match rest.strip_prefix("aws-sdk:") {
        Some(sdk) => {
            let (svc, action) = sdk.split_once(':')?;
            (format!("aws-sdk:{svc}"), action)
        }
        None => {
            let (svc, action) = rest.split_once(':')?;
            (svc.to_owned(), action)
        }
    };
    let (action, pattern) = if let Some(a) = action.strip_suffix(".waitForTaskToken") {
        (a, IntegrationPattern::WaitForTaskToken)
    } else if let Some(a) = action
        .strip_suffix(".sync:2")
        .or_else(|| action.strip_suffix(".sync"))
    {
        (a, IntegrationPattern::Sync)
    } else {
        (action, IntegrationPattern::RequestResponse)
    };
    let known = if service.starts_with("aws-sdk:") {
        service.len() > "aws-sdk:".len()
            && !action.is_empty()
            && action.chars().all(|c| c.is_ascii_alphanumeric())
    } else {
        OPTIMIZED
            .iter()
            .any(|(s, actions)| *s == service && actions.contains(&action))
    };
    known.then(|| ResourceKind::Service {
        service,
        action: action.to_owned(),
        pattern,
    })
}

/// The optimized service integrations Step Functions offers, by service.
const OPTIMIZED: &[(&str, &[&str])] = &[
    ("lambda", &["invoke"]),
    ("sns", &["publish"]),
    ("sqs", &["sendMessage"]),
    (
        "dynamodb",
        &["getItem", "putItem", "updateItem", "deleteItem"],
    ),
    ("events", &["putEvents"]),
    ("states", &["startExecution"]),
    ("http", &["invoke"]),
    ("apigateway", &["invoke"]),
    ("batch", &["submitJob"]),
    ("ecs", &["runTask"]),
    ("glue", &["startJobRun"]),
    ("databrew", &["startJobRun"]),
    (
        "athena",
        &[
            "startQueryExecution",
            "stopQueryExecution",
            "getQueryExecution",
            "getQueryResults",
        ],
    ),
    (
        "codebuild",
        &[
            "startBuild",
            "stopBuild",
            "batchDeleteBuilds",
            "batchGetReports",
            "startBuildBatch",
            "stopBuildBatch",
            "retryBuild",
            "retryBuildBatch",
            "deleteBuildBatch",
        ],
    ),
    (
        "eks",
        &[
            "createCluster",
            "deleteCluster",
            "createFargateProfile",
            "deleteFargateProfile",
            "createNodegroup",
            "deleteNodegroup",
            "runJob",
            "call",
        ],
    ),
    (
        "elasticmapreduce",
        &[
            "createCluster",
            "terminateCluster",
            "addStep",
            "cancelStep",
            "setClusterTerminationProtection",
            "modifyInstanceFleetByName",
            "modifyInstanceGroupByName",
        ],
    ),
    (
        "emr-containers",
        &[
            "createVirtualCluster",
            "deleteVirtualCluster",
            "startJobRun",
        ],
    ),
    (
        "emr-serverless",
        &[
            "createApplication",
            "startApplication",
            "stopApplication",
            "deleteApplication",
            "startJobRun",
            "cancelJobRun",
        ],
    ),
    (
        "sagemaker",
        &[
            "createEndpoint",
            "createEndpointConfig",
            "createHyperParameterTuningJob",
            "createLabelingJob",
            "createModel",
            "createProcessingJob",
            "createTrainingJob",
            "createTransformJob",
            "updateEndpoint",
        ],
    ),
    ("mediaconvert", &["createJob"]),
    ("bedrock", &["invokeModel", "createModelCustomizationJob"]),
    ("s3", &["getObject", "listObjectsV2", "putObject"]),
];

fn credentials(o: &mut Object, lang: QueryLanguage, ctx: &mut Ctx) -> Option<Credentials> {
    let at = o.at_key("Credentials");
    let v = o.take("Credentials")?;
    let Value::Object(map) = v else {
        ctx.d.schema(message::wrong_type("OBJECT"), &at);
        return None;
    };
    let has_role = map.contains_key("RoleArn")
        || (lang == QueryLanguage::JsonPath && map.contains_key("RoleArn.$"));
    if !has_role {
        ctx.d.schema(message::required_field("RoleArn"), &at);
    }
    Some(match lang {
        QueryLanguage::JsonPath => Credentials::JsonPath(common::template(v, &at, ctx)),
        QueryLanguage::Jsonata => Credentials::Jsonata(common::jsonata(v, &at, ctx)),
    })
}
