//! `StartExecution` through the intake: the request is published to its machine's subject and
//! answered only once JetStream has confirmed storing it.
//!
//! Invariant: a start that JetStream did not confirm is refused (never answered with an ARN);
//! the headers carry the execution's id and name, so whichever replica runs it logs the ARN the
//! caller was given.

use std::sync::atomic::Ordering;

use async_nats::jetstream::message::PublishMessage;

use super::Intake;
use crate::asl::MachineType;
use crate::runtime::engine::{new_uuid, Engine};

/// The header holding the execution's id (the last part of its ARN).
pub(super) const EXECUTION_ID: &str = "Statejet-Execution-Id";
/// The header holding the execution's name (a start without a name is named by its id).
pub(super) const EXECUTION_NAME: &str = "Statejet-Execution-Name";

/// Why a start could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the intake at {0} is unreachable; the execution was not started")]
    Unreachable(String),
    #[error("the intake at {url} did not confirm storing the execution, which was not started: {detail}")]
    NotStored { url: String, detail: String },
}

impl Intake {
    /// Stores a fire-and-forget start of `machine` and returns the execution's ARN once
    /// JetStream has confirmed it. The message id (JetStream's duplicate key) is the
    /// execution's id, so a retried publish of this start is stored once.
    pub async fn start(
        &self,
        engine: &Engine,
        machine: &str,
        name: Option<&str>,
        input: &str,
    ) -> Result<String, PublishError> {
        let s = &self.shared;
        let failed = |e: PublishError| {
            s.counters.store_failures.fetch_add(1, Ordering::Relaxed);
            e
        };
        // The client would buffer a publish while disconnected and send it on reconnecting:
        // refused now, it must not run later.
        if !s.connected.load(Ordering::SeqCst) {
            return Err(failed(PublishError::Unreachable(s.config.url.clone())));
        }
        let id = new_uuid();
        let name = name.unwrap_or(&id).to_owned();
        let message = PublishMessage::build()
            .payload(input.to_owned().into())
            .message_id(&id)
            .header(EXECUTION_ID, id.as_str())
            .header(EXECUTION_NAME, name.as_str());
        let not_stored = |e: &dyn std::fmt::Display| {
            failed(PublishError::NotStored {
                url: s.config.url.clone(),
                detail: e.to_string(),
            })
        };
        let ack = s
            .jetstream
            .send_publish(s.config.subject(machine), message)
            .await
            .map_err(|e| not_stored(&e))?;
        ack.await.map_err(|e| not_stored(&e))?;
        s.counters.stored.fetch_add(1, Ordering::Relaxed);
        Ok(engine
            .config()
            .scope()
            .execution(MachineType::Express, machine, &name, &id))
    }
}
