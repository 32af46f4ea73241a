//! Activities and task tokens on the wire: `CreateActivity`, `DescribeActivity`,
//! `ListActivities`, `DeleteActivity`, `GetActivityTask`, `SendTaskSuccess`,
//! `SendTaskFailure`, `SendTaskHeartbeat`, and tags on activities.
//!
//! Invariant: wire translation only: requests are read and checked here, in AWS's words; the
//! activities and the tokens themselves live in `tasks` (`Engine::callbacks`).

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};

use super::wire::{check_encryption, check_name, timestamp, ApiError, Arn, Input};
use super::Api;
use crate::tasks::activities::Activity;
use crate::tasks::tokens::SendError;

/// AWS's bound on tags per resource.
const MAX_TAGS: usize = 50;

impl Api {
    pub(super) fn create_activity(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let name = i.required("name")?;
        if name.chars().count() > 80 {
            return Err(ApiError::constraint(
                &format!("'{name}'"),
                "name",
                "Member must have length less than or equal to 80",
            ));
        }
        check_name(name)?;
        check_encryption(i)?;
        let tags = tags(i.array("tags")?)?;
        let arn = self.scope.activity(name);
        let activity = self
            .engine
            .callbacks()
            .activities
            .create(arn, name, self.engine.now_ms())
            .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
        merge_tags(&activity, tags, &activity.arn)?;
        Ok(json!({"activityArn": activity.arn, "creationDate": timestamp(activity.creation_ms)}))
    }

    pub(super) fn describe_activity(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let a = self.activity(i.required("activityArn")?)?;
        Ok(json!({"activityArn": a.arn, "name": a.name,
            "creationDate": timestamp(a.creation_ms),
            "encryptionConfiguration": {"type": "AWS_OWNED_KEY"}}))
    }

    pub(super) fn list_activities(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let max = match i.integer("maxResults")? {
            None | Some(0) => 100,
            Some(n @ 1..=1000) => n as usize,
            Some(n) => {
                return Err(ApiError::constraint(
                    &format!("'{n}'"),
                    "maxResults",
                    "Member must have value less than or equal to 1000",
                ))
            }
        };
        let after = match i.bounded("nextToken", 1024)? {
            None => None,
            Some(t) => Some(decode_token(t)?),
        };
        let all = self.engine.callbacks().activities.list();
        let start = match &after {
            Some(a) => all.partition_point(|x| x.arn.as_str() <= a.as_str()),
            None => 0,
        };
        let page = &all[start..(start + max).min(all.len())];
        let items: Vec<Value> = page
            .iter()
            .map(|a| {
                json!({"activityArn": a.arn, "name": a.name,
                    "creationDate": timestamp(a.creation_ms)})
            })
            .collect();
        let mut out = json!({ "activities": items });
        if start + max < all.len() {
            if let Some(last) = page.last() {
                out["nextToken"] = base64::engine::general_purpose::STANDARD
                    .encode(&last.arn)
                    .into();
            }
        }
        Ok(out)
    }

    pub(super) fn delete_activity(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn = i.required("activityArn")?;
        Arn::parse(arn)?.expect("activity")?;
        self.engine.callbacks().activities.delete(arn);
        Ok(json!({}))
    }

    /// Long-polls for the activity's oldest waiting task, up to AWS's 60 seconds (or the
    /// server's `--activity-poll-seconds`); without one,
    /// an answer with no `taskToken`.
    pub(super) async fn get_activity_task(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let activity = self.activity(i.required("activityArn")?)?;
        let worker = i.bounded("workerName", 80)?.map(str::to_owned);
        let callbacks = self.engine.callbacks();
        let handed = activity
            .take(&callbacks.tokens, worker, callbacks.activities.poll())
            .await
            .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
        Ok(match handed {
            Some(h) => json!({"taskToken": h.token, "input": h.input}),
            None => json!({}),
        })
    }

    pub(super) fn send_task_success(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let token = task_token(i)?;
        let output = i
            .bounded("output", 262_144)?
            .ok_or_else(|| ApiError::constraint("null", "output", "Member must not be null"))?;
        let output: Value = serde_json::from_str(output).map_err(|e| {
            ApiError::new(
                "InvalidOutput",
                format!("Invalid Output: 'The output is not valid JSON: {e}'"),
            )
        })?;
        self.engine
            .callbacks()
            .succeed(token, output)
            .map_err(send_error)?;
        Ok(json!({}))
    }

    pub(super) fn send_task_failure(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let token = task_token(i)?;
        let error = i.bounded("error", 256)?.unwrap_or("");
        let cause = i.bounded("cause", 32_768)?.unwrap_or("");
        self.engine
            .callbacks()
            .fail(token, error, cause)
            .map_err(send_error)?;
        Ok(json!({}))
    }

    pub(super) fn send_task_heartbeat(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let token = task_token(i)?;
        self.engine
            .callbacks()
            .heartbeat(token)
            .map_err(send_error)?;
        Ok(json!({}))
    }

    /// `TagResource`, `UntagResource` and `ListTagsForResource` on an activity ARN.
    pub(super) fn activity_tags(&self, operation: &str, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn = i.required("resourceArn")?;
        let activity = self.engine.callbacks().activities.get(arn).ok_or_else(|| {
            ApiError::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
        })?;
        match operation {
            "TagResource" => {
                let given = i.array("tags")?.ok_or_else(|| {
                    ApiError::constraint("null", "tags", "Member must not be null")
                })?;
                merge_tags(&activity, tags(Some(given))?, arn)?;
                Ok(json!({}))
            }
            "UntagResource" => {
                let keys = i.array("tagKeys")?.ok_or_else(|| {
                    ApiError::constraint("null", "tagKeys", "Member must not be null")
                })?;
                let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
                let mut t = activity.tags.lock().unwrap_or_else(|p| p.into_inner());
                t.retain(|(k, _)| !keys.contains(&k.as_str()));
                Ok(json!({}))
            }
            _ => {
                let t = activity.tags.lock().unwrap_or_else(|p| p.into_inner());
                let tags: Vec<Value> = t
                    .iter()
                    .map(|(k, v)| json!({"key": k, "value": v}))
                    .collect();
                Ok(json!({ "tags": tags }))
            }
        }
    }

    /// The activity an `activityArn` names, or AWS's errors for a malformed or unknown one.
    fn activity(&self, arn: &str) -> Result<Arc<Activity>, ApiError> {
        Arn::parse(arn)?.expect("activity")?;
        self.engine.callbacks().activities.get(arn).ok_or_else(|| {
            ApiError::new(
                "ActivityDoesNotExist",
                format!("Activity Does Not Exist: '{arn}'"),
            )
        })
    }
}

/// Whether a tagging request is about an activity (the others are state machines').
pub(super) fn names_activity(i: &Input<'_>) -> bool {
    i.string("resourceArn")
        .ok()
        .flatten()
        .and_then(|a| Arn::parse(a).ok())
        .is_some_and(|a| a.resource_type == "activity")
}

/// `taskToken`: required, 1 to 2048 characters.
fn task_token<'i>(i: &'i Input<'_>) -> Result<&'i str, ApiError> {
    let token = i
        .bounded("taskToken", 2048)?
        .ok_or_else(|| ApiError::constraint("null", "taskToken", "Member must not be null"))?;
    if token.is_empty() {
        return Err(ApiError::constraint(
            "''",
            "taskToken",
            "Member must have length greater than or equal to 1",
        ));
    }
    Ok(token)
}

fn send_error(e: SendError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}

/// A `nextToken` of `ListActivities`: the last ARN of the previous page.
fn decode_token(token: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::new("InvalidToken", format!("Invalid Token: '{token}'")))
}

/// Tags as given, read as `CreateStateMachine`'s are (`machines::tags`).
fn tags(given: Option<&Vec<Value>>) -> Result<Vec<(String, String)>, ApiError> {
    Ok(super::machines::tags(given)?.into_iter().collect())
}

/// Adds `new` to an activity's tags (a key given again takes the new value), within AWS's
/// bound.
fn merge_tags(activity: &Activity, new: Vec<(String, String)>, arn: &str) -> Result<(), ApiError> {
    let mut t = activity.tags.lock().unwrap_or_else(|p| p.into_inner());
    let mut merged = t.clone();
    for (k, v) in new {
        match merged.iter_mut().find(|(key, _)| *key == k) {
            Some(e) => e.1 = v,
            None => merged.push((k, v)),
        }
    }
    if merged.len() > MAX_TAGS {
        return Err(ApiError::new(
            "TooManyTags",
            format!("Too many tags: '{arn}' may have at most {MAX_TAGS}"),
        ));
    }
    *t = merged;
    Ok(())
}
