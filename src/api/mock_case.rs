//! `stateMachineArn#TestCase` on StartExecution and StartSyncExecution, as Step Functions Local
//! takes it: the part after `#` names a test case of the mock configuration, which answers the
//! Task states it names for that execution.
//!
//! Invariant: a start with a test case either holds its mock session (a `Guard` that lives
//! until the execution's end) or is refused with AWS-shaped `InvalidName`; none runs unmocked.

use super::wire::ApiError;
use super::Api;
use crate::tasks::mock::{BeginError, Guard};

/// `arn#TestCase` → (`arn`, `Some("TestCase")`).
pub(super) fn split(arn: &str) -> (&str, Option<&str>) {
    // Most ARNs have no `#`: a scan without an early exit (vector code) says so for less than
    // `split_once`'s search.
    if !arn.bytes().fold(false, |found, b| found | (b == b'#')) {
        return (arn, None);
    }
    match arn.split_once('#') {
        Some((a, case)) => (a, Some(case)),
        None => (arn, None),
    }
}

impl Api {
    /// The session of a start naming `case`: the execution's name (one made up when the caller
    /// gave none, since the session is found by name) and the guard that keeps it.
    pub(super) fn mock_session(
        &self,
        machine: &str,
        definition: &crate::asl::machine::StateMachine,
        name: Option<String>,
        case: Option<&str>,
    ) -> Result<(Option<String>, Option<Guard>), ApiError> {
        let Some(case) = case else {
            return Ok((name, None));
        };
        let unknown = || {
            ApiError::new(
                "InvalidName",
                BeginError::UnknownCase {
                    machine: machine.to_owned(),
                    case: case.to_owned(),
                }
                .to_string(),
            )
        };
        let Some(mocks) = self.engine.mocks() else {
            return Err(unknown());
        };
        if self.intake.is_some() {
            return Err(ApiError::new(
                "ValidationException",
                format!("statejet serve --intake does not run mock test cases ('{machine}#{case}'): start it on a server without --intake"),
            ));
        }
        let name = name.unwrap_or_else(crate::runtime::engine::new_uuid);
        let guard = mocks
            .begin(machine, &name, case, definition)
            .map_err(|e| match e {
                BeginError::UnknownCase { .. } => unknown(),
                e @ BeginError::NotATask { .. } => {
                    ApiError::new("ValidationException", e.to_string())
                }
                e @ BeginError::Busy { .. } => {
                    ApiError::new("ExecutionAlreadyExists", e.to_string())
                }
            })?;
        Ok((Some(name), Some(guard)))
    }
}
