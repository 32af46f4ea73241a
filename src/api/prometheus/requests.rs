//! The API's request counts and latencies, by operation and outcome, for `/metrics`.
//!
//! Invariant: label values stay few whatever clients send: an operation is one of the Step
//! Functions API's or `unknown`, an outcome an HTTP status code and one of statejet's own error
//! names (`&'static str`), so no request can add a series of its own making.

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use crate::api::wire::ApiError;
use crate::runtime::metrics::DurationCounts;

/// Every operation of the Step Functions API (botocore's `stepfunctions` 2016-11-23 model),
/// those statejet does not implement too: a client calling one shows under its own name. In
/// byte order (a series' key sorts by it).
const OPERATIONS: [&str; 37] = [
    "CreateActivity",
    "CreateStateMachine",
    "CreateStateMachineAlias",
    "DeleteActivity",
    "DeleteStateMachine",
    "DeleteStateMachineAlias",
    "DeleteStateMachineVersion",
    "DescribeActivity",
    "DescribeExecution",
    "DescribeMapRun",
    "DescribeStateMachine",
    "DescribeStateMachineAlias",
    "DescribeStateMachineForExecution",
    "GetActivityTask",
    "GetExecutionHistory",
    "ListActivities",
    "ListExecutions",
    "ListMapRuns",
    "ListStateMachineAliases",
    "ListStateMachineVersions",
    "ListStateMachines",
    "ListTagsForResource",
    "PublishStateMachineVersion",
    "RedriveExecution",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "SendTaskSuccess",
    "StartExecution",
    "StartSyncExecution",
    "StopExecution",
    "TagResource",
    "TestState",
    "UntagResource",
    "UpdateMapRun",
    "UpdateStateMachine",
    "UpdateStateMachineAlias",
    "ValidateStateMachineDefinition",
];

/// The one label value for any other target, a missing one included.
const UNKNOWN: &str = "unknown";

/// The status recorded for a request whose client hung up before its answer (nginx's "client
/// closed request"): such a request is counted, not lost.
const CLIENT_CLOSED: u16 = 499;

/// An operation of [`OPERATIONS`] by index; `OPERATIONS.len()` stands for [`UNKNOWN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operation(usize);

impl Operation {
    /// The operation an `X-Amz-Target` header names.
    pub fn of(target: Option<&str>) -> Operation {
        // A table made once: a search by halves compared six names per request (290
        // instructions), a look-up hashes one and compares it.
        static INDEX: LazyLock<HashMap<&str, usize, foldhash::fast::FixedState>> =
            LazyLock::new(|| {
                OPERATIONS
                    .iter()
                    .enumerate()
                    .map(|(i, op)| (*op, i))
                    .collect()
            });
        let index = target
            .and_then(|t| t.strip_prefix("AWSStepFunctions."))
            .and_then(|op| INDEX.get(op).copied());
        Operation(index.unwrap_or(OPERATIONS.len()))
    }

    pub fn name(self) -> &'static str {
        OPERATIONS.get(self.0).copied().unwrap_or(UNKNOWN)
    }
}

/// One series' key: operation, HTTP status, error name (`None` for an answer without one).
pub type Key = (Operation, u16, Option<&'static str>);

/// Counts and latencies of the requests answered, per [`Key`]. Latencies share the executions'
/// buckets: most operations answer in microseconds to milliseconds, and a `StartSyncExecution`
/// takes as long as its execution, up to the Express limit.
#[derive(Debug, Default)]
pub struct Requests {
    /// Held only to add one request, or to copy the map out.
    series: Mutex<BTreeMap<Key, DurationCounts>>,
}

impl Requests {
    /// Starts timing one request to `operation`; it is counted when its [`Timing`] ends or is
    /// dropped.
    pub fn start(&self, operation: Operation) -> Timing<'_> {
        Timing {
            requests: self,
            operation,
            began: Instant::now(),
            ended: false,
        }
    }

    fn record(&self, key: Key, duration_us: u64) {
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        series.entry(key).or_default().record(duration_us);
    }

    /// Every series so far, in key order.
    pub fn snapshot(&self) -> Vec<(Key, DurationCounts)> {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        series.iter().map(|(k, v)| (*k, v.clone())).collect()
    }
}

/// One request being answered.
pub struct Timing<'a> {
    requests: &'a Requests,
    operation: Operation,
    began: Instant,
    ended: bool,
}

impl Timing<'_> {
    /// The request was answered: 200, or `error`'s status and name.
    pub fn end(mut self, error: Option<&ApiError>) {
        self.ended = true;
        let (status, name) = error.map_or((200, None), |e| (e.status, Some(e.code)));
        self.requests
            .record((self.operation, status, name), elapsed_us(self.began));
    }
}

impl Drop for Timing<'_> {
    /// Dropped unanswered: hyper drops a request's future when its connection closes.
    fn drop(&mut self) {
        if !self.ended {
            self.requests.record(
                (self.operation, CLIENT_CLOSED, None),
                elapsed_us(self.began),
            );
        }
    }
}

fn elapsed_us(began: Instant) -> u64 {
    u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_outside_the_api_share_one_label_value() {
        assert_eq!(
            Operation::of(Some("AWSStepFunctions.StartExecution")).name(),
            "StartExecution"
        );
        for target in [
            None,
            Some(""),
            Some("AWSStepFunctions.Nope"),
            Some("StartExecution"),
            Some("AWSStepFunctions.startexecution"),
        ] {
            assert_eq!(Operation::of(target).name(), UNKNOWN, "{target:?}");
        }
    }

    #[test]
    fn the_operation_list_is_sorted_and_unique() {
        assert!(OPERATIONS.windows(2).all(|w| w[0] < w[1]));
    }
}
