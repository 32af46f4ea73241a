//! Runtime errors as ASL sees them: an error name and a cause, which Retry and Catch match.
//!
//! Invariant: `States.Runtime` and `States.DataLimitExceeded` are terminal: no retrier or
//! catcher ever matches them, not even one that names them.

use std::fmt;

/// A failed state, branch or execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub cause: String,
}

pub const RUNTIME: &str = "States.Runtime";
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
pub const TIMEOUT: &str = "States.Timeout";
pub const ALL: &str = "States.ALL";
pub const TASK_FAILED: &str = "States.TaskFailed";
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
pub const TOLERATED_FAILURE: &str = "States.ExceedToleratedFailureThreshold";
/// The cause that marks `Failure::deadline()`.
const DEADLINE_CAUSE: &str = "The execution reached its TimeoutSeconds during a step";

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Failure {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    pub fn runtime(cause: impl Into<String>) -> Failure {
        Failure::new(RUNTIME, cause)
    }

    /// The execution's deadline (its `TimeoutSeconds`) reached inside a step, for example in a
    /// long JSONata evaluation: the driver ends the execution as timed out; no Retry or Catch
    /// sees it (a Task's own `TimeoutSeconds` is the catchable `States.Timeout` with no cause).
    pub fn deadline() -> Failure {
        Failure::new(TIMEOUT, DEADLINE_CAUSE)
    }

    /// Whether this is `Failure::deadline()`.
    pub fn is_deadline(&self) -> bool {
        self.error == TIMEOUT && self.cause == DEADLINE_CAUSE
    }

    /// Whether Retry and Catch may handle this error at all.
    pub fn is_terminal(&self) -> bool {
        self.error == RUNTIME || self.error == DATA_LIMIT_EXCEEDED || self.is_deadline()
    }

    /// Whether an `ErrorEquals` list matches this error: by name, by `States.ALL`, or by
    /// `States.TaskFailed`, which stands for every error but `States.Timeout`.
    pub fn matches(&self, error_equals: &[String]) -> bool {
        !self.is_terminal()
            && error_equals.iter().any(|e| {
                e == &self.error || e == ALL || (e == TASK_FAILED && self.error != TIMEOUT)
            })
    }

    /// The error output Catch passes on: `{"Error": ..., "Cause": ...}`.
    pub fn to_output(&self) -> crate::value::Value {
        let mut m = crate::value::Map::with_capacity(2);
        m.insert("Error", self.error.as_str().into());
        m.insert("Cause", self.cause.as_str().into());
        crate::value::Value::object(m)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}
