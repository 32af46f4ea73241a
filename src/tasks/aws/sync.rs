//! The job integrations (`glue:startJobRun`, `batch:submitJob`, `athena:startQueryExecution`,
//! `ecs:runTask`) and `states:startExecution` of a machine on another Step Functions endpoint:
//! the request-response start, and `.sync`, which starts the job, records the start's answer
//! as `TaskSubmitted`, then polls the service until the job ends, as Step Functions does.
//! The job's final description is the result; one that failed is `States.TaskFailed` with that
//! description as the cause.
//!
//! Invariant: a waiting job holds a timer, never a thread, and is polled at most every
//! `MAX_POLL`; a job whose task stops waiting (a timeout, a heartbeat, StopExecution, a failing
//! sibling) is cancelled with the service's own stop call, best effort, as AWS does.

use std::time::Duration;

use serde_json::{json, Value};

use super::models::service::Service;
use super::optimized::{self, V1};
use super::Aws;
use crate::tasks::nested::{self, Described, StartParams};
use crate::tasks::SerdeResult as TaskResult;
use crate::vm::failure;
use crate::vm::run::{json_text, task_resource, text, EventType, Invocation};
use crate::vm::Failure;

/// The first poll comes this long after the start; each later one waits half as long again,
/// up to `MAX_POLL` (AWS does not publish its cadence; jobs run for minutes, children for
/// seconds).
const FIRST_POLL: Duration = Duration::from_millis(500);
const MAX_POLL: Duration = Duration::from_secs(10);
/// Polls in a row that may fail for a passing reason (throttling, a 5xx, the network) before
/// the task fails with the last one's error: about two minutes of an endpoint gone.
const MAX_FAILED_POLLS: u32 = 15;

const GLUE: V1 = V1 {
    model: "glue",
    prefix: "Glue",
    name: "AWSGlue",
    base: "AWSGlueException",
    metadata: false,
};
const BATCH: V1 = V1 {
    model: "batch",
    prefix: "Batch",
    name: "AWSBatch",
    base: "AWSBatchException",
    metadata: true,
};
pub(super) const ATHENA: V1 = V1 {
    model: "athena",
    prefix: "Athena",
    name: "AmazonAthena",
    base: "AmazonAthenaException",
    metadata: false,
};
const ECS: V1 = V1 {
    model: "ecs",
    prefix: "ECS",
    name: "AmazonECS",
    base: "AmazonECSException",
    metadata: true,
};
const SFN: V1 = V1 {
    model: "stepfunctions",
    prefix: "StepFunctions",
    name: "AWSStepFunctions",
    base: "AWSStepFunctionsException",
    metadata: true,
};

/// A job integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Job {
    Glue,
    Batch,
    Athena,
    Ecs,
    /// `states:startExecution` of a machine this process does not have.
    Sfn,
}

/// What one poll found.
enum Poll {
    Running,
    Succeeded(Value),
    Failed(Value),
}

impl Job {
    /// The job integration an optimized resource names, if it is one.
    pub(super) fn of(service: &str, action: &str) -> Option<Job> {
        match (service, action) {
            ("glue", "startJobRun") => Some(Job::Glue),
            ("batch", "submitJob") => Some(Job::Batch),
            ("athena", "startQueryExecution") => Some(Job::Athena),
            ("ecs", "runTask") => Some(Job::Ecs),
            ("states", "startExecution") => Some(Job::Sfn),
            _ => None,
        }
    }

    fn v1(self) -> &'static V1 {
        match self {
            Job::Glue => &GLUE,
            Job::Batch => &BATCH,
            Job::Athena => &ATHENA,
            Job::Ecs => &ECS,
            Job::Sfn => &SFN,
        }
    }

    fn start_op(self) -> &'static str {
        match self {
            Job::Glue => "StartJobRun",
            Job::Batch => "SubmitJob",
            Job::Athena => "StartQueryExecution",
            Job::Ecs => "RunTask",
            Job::Sfn => "StartExecution",
        }
    }

    /// The describe call that polls the job `started` (the start's result) is.
    fn poll_request(self, params: &Value, started: &Value) -> Option<(&'static str, Value)> {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(match self {
            Job::Glue => (
                "GetJobRun",
                json!({"JobName": s(params, "JobName")?, "RunId": s(started, "JobRunId")?}),
            ),
            Job::Batch => ("DescribeJobs", json!({"Jobs": [s(started, "JobId")?]})),
            Job::Athena => (
                "GetQueryExecution",
                json!({"QueryExecutionId": s(started, "QueryExecutionId")?}),
            ),
            Job::Ecs => {
                let task = started.get("Tasks")?.get(0)?;
                (
                    "DescribeTasks",
                    json!({"Cluster": s(task, "ClusterArn")?, "Tasks": [s(task, "TaskArn")?]}),
                )
            }
            Job::Sfn => (
                "DescribeExecution",
                json!({"ExecutionArn": s(started, "ExecutionArn")?}),
            ),
        })
    }

    /// The call that stops the job, sent when its task stops waiting.
    fn cancel_request(self, poll: &Value) -> (&'static str, Value) {
        const REASON: &str =
            "The AWS Step Functions task that started this job stopped waiting for it (statejet)";
        match self {
            Job::Glue => (
                "BatchStopJobRun",
                json!({"JobName": poll["JobName"], "JobRunIds": [poll["RunId"]]}),
            ),
            Job::Batch => (
                "TerminateJob",
                json!({"JobId": poll["Jobs"][0], "Reason": REASON}),
            ),
            Job::Athena => (
                "StopQueryExecution",
                json!({"QueryExecutionId": poll["QueryExecutionId"]}),
            ),
            Job::Ecs => (
                "StopTask",
                json!({"Cluster": poll["Cluster"], "Task": poll["Tasks"][0], "Reason": REASON}),
            ),
            Job::Sfn => (
                "StopExecution",
                json!({"ExecutionArn": poll["ExecutionArn"]}),
            ),
        }
    }

    /// Whether the described job has ended, and how.
    fn judge(self, d: Value, json_output: bool) -> Result<Poll, Failure> {
        let at = |v: &Value, path: &[&str]| {
            let mut v = v;
            for p in path {
                v = v.get(*p)?;
            }
            v.as_str().map(str::to_owned)
        };
        Ok(match self {
            Job::Glue => {
                let run = d.get("JobRun").cloned().unwrap_or(Value::Null);
                // AWS does not record how a STOPPED run ends the task (LocalStack: success); a
                // stopped run did not run to its end, so here it fails the task.
                match at(&run, &["JobRunState"]).as_deref() {
                    Some("SUCCEEDED") => Poll::Succeeded(run),
                    Some("FAILED" | "TIMEOUT" | "ERROR" | "EXPIRED" | "STOPPED") => {
                        Poll::Failed(run)
                    }
                    _ => Poll::Running,
                }
            }
            Job::Batch => {
                let job = d["Jobs"].get(0).cloned().unwrap_or(Value::Null);
                match at(&job, &["Status"]).as_deref() {
                    Some("SUCCEEDED") => Poll::Succeeded(job),
                    Some("FAILED") => Poll::Failed(job),
                    _ => Poll::Running,
                }
            }
            Job::Athena => match at(&d, &["QueryExecution", "Status", "State"]).as_deref() {
                Some("SUCCEEDED") => Poll::Succeeded(d),
                Some("FAILED" | "CANCELLED") => Poll::Failed(d),
                _ => Poll::Running,
            },
            Job::Ecs => {
                let task = d["Tasks"].get(0).cloned().unwrap_or(Value::Null);
                if at(&task, &["LastStatus"]).as_deref() != Some("STOPPED") {
                    return Ok(Poll::Running);
                }
                // A task that never started, or whose container exited other than 0, failed.
                let never_started =
                    at(&task, &["StopCode"]).as_deref() == Some("TaskFailedToStart");
                let exited_badly = task["Containers"].as_array().is_some_and(|cs| {
                    cs.iter().any(|c| {
                        c.get("ExitCode")
                            .and_then(Value::as_i64)
                            .is_some_and(|x| x != 0)
                    })
                });
                if never_started || exited_badly {
                    Poll::Failed(task)
                } else {
                    Poll::Succeeded(task)
                }
            }
            Job::Sfn => {
                let described = described(&d);
                if described.running() {
                    return Ok(Poll::Running);
                }
                return Ok(match described.sync_result(json_output) {
                    Ok(v) => Poll::Succeeded(v.into_serde()),
                    // The failure's cause is already the description's text.
                    Err(f) => Poll::Failed(serde_json::from_str(&f.cause).unwrap_or(Value::Null)),
                });
            }
        })
    }
}

/// A DescribeExecution answer (aws-sdk casing, ISO dates) as the `.sync` shape's fields.
fn described(d: &Value) -> Described {
    let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
    Described {
        execution_arn: s("ExecutionArn").unwrap_or_default(),
        state_machine_arn: s("StateMachineArn").unwrap_or_default(),
        name: s("Name").unwrap_or_default(),
        status: s("Status").unwrap_or_default(),
        start_ms: d.get("StartDate").and_then(epoch_ms).unwrap_or(0),
        stop_ms: d.get("StopDate").and_then(epoch_ms),
        input: s("Input"),
        output: s("Output"),
        error: s("Error"),
        cause: s("Cause"),
        redrive_count: d.get("RedriveCount").and_then(Value::as_u64),
        redrive_status: s("RedriveStatus"),
        redrive_status_reason: s("RedriveStatusReason"),
    }
}

/// An aws-sdk result's ISO-8601 date as epoch milliseconds (the Java SDK's form in optimized
/// results).
fn epoch_ms(v: &Value) -> Option<u64> {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
    u64::try_from(t.timestamp_millis()).ok()
}

/// The parameters the start sends: Step Functions' own additions made.
fn start_params(job: Job, inv: &Invocation, sync: bool) -> Result<Value, Failure> {
    let mut params = inv.payload.to_serde();
    match job {
        Job::Sfn => params = StartParams::read(inv)?.api(inv),
        // AWS marks the tasks it runs and waits for.
        Job::Ecs if sync => {
            if let Some(o) = params.as_object_mut() {
                o.entry("StartedBy").or_insert(json!("AWS Step Functions"));
            }
        }
        _ => {}
    }
    Ok(params)
}

/// The request-response start: the service's answer, shaped as the optimized integration
/// gives it.
pub(super) async fn start(aws: &Aws, job: Job, inv: &Invocation, limit: Duration) -> TaskResult {
    start_job(aws, job, inv, limit, false).await.map(|(_, r)| r)
}

async fn start_job(
    aws: &Aws,
    job: Job,
    inv: &Invocation,
    limit: Duration,
    sync: bool,
) -> Result<(Value, Value), Failure> {
    let v1 = job.v1();
    let svc = optimized::model(v1)?;
    let params = start_params(job, inv, sync)?;
    if job == Job::Sfn && aws.config().credentials.is_none() {
        return Err(Failure::new(
            "StepFunctions.SdkClientException",
            format!(
                "Unable to load credentials: '{}' is not a state machine of this statejet process (`statejet run` has none; `statejet serve` has those created or loaded with --definitions), so it is started through the Step Functions endpoint (AWS_ENDPOINT_URL_SFN), which needs AWS credentials: {}",
                params["StateMachineArn"].as_str().unwrap_or_default(),
                aws.config().credential_sources()
            ),
        ));
    }
    let mut result = optimized::request(aws, &svc, v1, job.start_op(), &params, limit).await?;
    match job {
        // "The JobName field is extracted from the request and inserted into the response."
        Job::Glue => {
            if let (Some(o), Some(n)) = (result.as_object_mut(), params.get("JobName")) {
                o.insert("JobName".to_owned(), n.clone());
                o.sort_keys();
            }
        }
        Job::Sfn => {
            if let Some(ms) = result.get("StartDate").and_then(epoch_ms) {
                result["StartDate"] = json!(ms);
            }
        }
        _ => {}
    }
    Ok((params, result))
}

/// `.sync`: start, record the start's answer, poll to the end; bounded by `limit`.
pub(super) async fn run(aws: &Aws, job: Job, inv: &Invocation, limit: Duration) -> TaskResult {
    // Where no token store keeps the heartbeat clock (`statejet run`), nothing can send a
    // heartbeat: the task then times out at HeartbeatSeconds, as it would on AWS.
    let bound = match inv.heartbeat_seconds {
        Some(h) => limit.min(Duration::from_secs(h)),
        None => limit,
    };
    match tokio::time::timeout(bound, run_within(aws, job, inv, limit)).await {
        Ok(r) => r,
        Err(_) => Err(Failure::new(failure::TIMEOUT, "")),
    }
}

async fn run_within(aws: &Aws, job: Job, inv: &Invocation, limit: Duration) -> TaskResult {
    let v1 = job.v1();
    let svc = optimized::model(v1)?;
    let (params, started) = start_job(aws, job, inv, limit, true).await?;
    if job == Job::Ecs {
        if let Some(fs) = started.get("Failures").and_then(Value::as_array) {
            if !fs.is_empty() {
                return Err(Failure::new("AmazonECS.Unknown", json_text(&json!(fs))));
            }
        }
    }
    let (resource_type, resource) = task_resource(&inv.resource);
    inv.progress.record(
        EventType::TaskSubmitted,
        json!({"resourceType": resource_type, "resource": resource,
            "output": text(&started), "outputDetails": {"truncated": false}}),
    );
    let Some((op, poll)) = job.poll_request(&params, &started) else {
        return Err(Failure::new(
            "States.TaskFailed",
            format!(
                "{}'s answer to {} names no job to wait for: {}",
                v1.name,
                job.start_op(),
                json_text(&started)
            ),
        ));
    };
    let mut cancel = Cancel(Some((aws.clone(), job, poll.clone(), limit)));
    let json_output = nested::json_output(inv);
    let mut wait = FIRST_POLL;
    let mut failed_polls = 0;
    loop {
        tokio::time::sleep(wait).await;
        wait = (wait * 3 / 2).min(MAX_POLL);
        let described = match describe(aws, &svc, v1, op, &poll, limit).await {
            Ok(d) => d,
            Err(f) if retriable(&f) && failed_polls < MAX_FAILED_POLLS => {
                failed_polls += 1;
                continue;
            }
            Err(f) => return Err(f),
        };
        failed_polls = 0;
        match job.judge(described, json_output)? {
            Poll::Running => continue,
            Poll::Succeeded(v) => {
                cancel.0 = None;
                return Ok(v);
            }
            Poll::Failed(v) => {
                cancel.0 = None;
                return Err(Failure::new("States.TaskFailed", json_text(&v)));
            }
        }
    }
}

/// One poll: the service's answer in the aws-sdk casing, without HTTP metadata.
async fn describe(
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
        .map_err(|e| optimized::call_failure(v1, e))?;
    if response.status >= 300 {
        return Err(optimized::failure(
            svc,
            v1,
            &super::protocol::error(svc, &response),
        ));
    }
    super::protocol::result(svc, &svc.operations[op], &response)
        .map_err(|e| Failure::new(format!("{}.{}", v1.prefix, v1.base), e))
}

/// A poll that failed for a reason that passes (throttling, a service's 5xx, the network):
/// the next poll tries again.
fn retriable(f: &Failure) -> bool {
    f.error.ends_with(".SdkClientException")
        || f.error.contains("Throttl")
        || f.cause.contains("Status Code: 5")
        || f.cause.contains("Error Code: ThrottlingException")
}

/// The job's stop call, made if the wait is dropped before the job ended.
struct Cancel(Option<(Aws, Job, Value, Duration)>);

impl Drop for Cancel {
    fn drop(&mut self) {
        let Some((aws, job, poll, limit)) = self.0.take() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (op, params) = job.cancel_request(&poll);
        handle.spawn(async move {
            let v1 = job.v1();
            if let Ok(svc) = optimized::model(v1) {
                // Best effort, as AWS's: a failed stop changes nothing for the task.
                let _ = aws.send(&svc, op, &params, limit.min(CANCEL_LIMIT)).await;
            }
        });
    }
}

/// How long a cancel call may take.
const CANCEL_LIMIT: Duration = Duration::from_secs(30);
