//! Pulling from the durable consumer: each replica reserves admission slots first and asks
//! JetStream for at most that many messages, so a busy engine or a slow log output slows
//! pulling instead of queueing work; each message's execution is acked once its terminal log
//! event is written and flushed, signalled as in progress while it runs.
//!
//! Invariant: every pulled message gets exactly one last word: ack (logged), a request to
//! deliver it again (shutdown, unknown machine), a termination (it can start no execution), or
//! silence (its log could not be written): JetStream delivers it again after the ack wait.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::message::{AckKind, Acker};
use futures::StreamExt;
use serde_json::json;
use sha2::Digest;

use super::publish::{EXECUTION_ID, EXECUTION_NAME};
use super::{Intake, Rejected};
use crate::runtime::engine::{Delivered, Ended, Engine, Slots, StartError};
use crate::runtime::Status;
use crate::vm::failure::Failure;

/// What the server's caller wants to know of each pulled execution's end (the live page).
pub type Observer = Arc<dyn Fn(&Ended) + Send + Sync>;

/// The most messages one pull request asks for. Larger batches amortize the request's round
/// trip (about 0.1 ms on loopback) over more messages; past a few hundred nothing is gained,
/// and slots reserved for a batch are slots a direct start cannot take meanwhile.
const BATCH_MAX: usize = 256;

/// How long one pull request waits for messages. Messages are handled as they arrive, so this
/// adds no latency; it bounds how long idle slots stay reserved.
const PULL_EXPIRES: Duration = Duration::from_millis(500);

/// How often a waiting pull looks whether the engine is shutting down.
const SHUTDOWN_CHECK: Duration = Duration::from_millis(50);

/// The error of an execution ended at its last delivery.
pub const DELIVERY_LIMIT: &str = "Statejet.DeliveryLimitReached";

/// JetStream's duplicate-detection header; for a device's message, the execution's name too.
const MSG_ID: &str = "Nats-Msg-Id";

impl Intake {
    /// Starts pulling for `engine`, until the engine shuts down.
    pub fn spawn_pulling(&self, engine: Engine, observer: Observer) -> tokio::task::JoinHandle<()> {
        tokio::spawn(pull(self.clone(), engine, observer))
    }
}

async fn pull(intake: Intake, engine: Engine, observer: Observer) {
    let s = &intake.shared;
    let mut failing = false;
    loop {
        let Ok(mut slots) = engine.reserve(BATCH_MAX).await else {
            return;
        };
        // Messages still buffered when the client ends a batch on its own timer (the expiry plus
        // 5 s, a replica far behind its work) are dropped unhandled; JetStream delivers them
        // again after the ack wait, at any delivery: the consumer has no delivery limit.
        let batch = s
            .consumer
            .batch()
            .max_messages(slots.len())
            .expires(PULL_EXPIRES)
            .messages()
            .await;
        let mut batch = match batch {
            Ok(b) => b,
            Err(e) => {
                // Disconnected: the client reconnects by itself; pulling resumes with it.
                if !failing {
                    eprintln!(
                        "statejet serve: intake: cannot pull from {}: {e}; retrying",
                        s.config.url
                    );
                }
                failing = true;
                drop(slots);
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
        };
        if failing {
            eprintln!(
                "statejet serve: intake: pulling again from {}",
                s.config.url
            );
            failing = false;
        }
        loop {
            // A shutdown frees the slots at once, so the engine's drain does not wait for the
            // pull request to expire (and counts no reserved slot as an execution in flight).
            let next = tokio::select! {
                next = batch.next() => next,
                _ = tokio::time::sleep(SHUTDOWN_CHECK) => {
                    if engine.accepting() {
                        continue;
                    }
                    None
                }
            };
            let Some(next) = next else {
                break;
            };
            match next {
                Ok(message) => match slots.take() {
                    Some(slot) => handle(&intake, &engine, &observer, message, slot),
                    // The server never sends more than asked for; if it did, later.
                    None => {
                        let _ = message.ack_with(AckKind::Nak(None)).await;
                    }
                },
                Err(e) => {
                    eprintln!(
                        "statejet serve: intake: pull from {} ended: {e}",
                        s.config.url
                    );
                    break;
                }
            }
        }
    }
}

/// Starts the execution a message carries, or says why it cannot.
fn handle(
    intake: &Intake,
    engine: &Engine,
    observer: &Observer,
    message: async_nats::jetstream::Message,
    slot: Slots,
) {
    let s = &intake.shared;
    s.counters.delivered.fetch_add(1, Ordering::Relaxed);
    let (delivered, sequence) = match message.info() {
        Ok(i) => (
            u32::try_from(i.delivered.max(1)).unwrap_or(u32::MAX),
            i.stream_sequence,
        ),
        Err(_) => (1, 0),
    };
    if delivered > 1 {
        s.counters.redelivered.fetch_add(1, Ordering::Relaxed);
    }
    let (message, acker) = message.split();
    // Closing: a message pulled now is left to another replica (or this one, restarted).
    let Some(task) = s.tasks.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
        tokio::spawn(async move { acker.ack_with(AckKind::Nak(None)).await });
        return;
    };
    // By name, not `HeaderMap::get`: a received `Nats-Msg-Id` is the client's standard header
    // name, which a name made from a `&str` does not equal.
    let header = |name: &str| {
        let (_, values) = message
            .headers
            .as_ref()?
            .iter()
            .find(|(k, _)| AsRef::<str>::as_ref(k).eq_ignore_ascii_case(name))?;
        values.first().map(|v| v.as_str().to_owned())
    };
    let machine = message
        .subject
        .as_str()
        .strip_prefix(&s.config.subject_prefix)
        .and_then(|m| m.strip_prefix('.'))
        .unwrap_or("")
        .to_owned();
    let id = header(EXECUTION_ID)
        .filter(|id| crate::arn::valid_name(id))
        .unwrap_or_else(|| derived_id(&s.config.stream, sequence));
    let name = header(EXECUTION_NAME)
        .or_else(|| header(MSG_ID))
        .unwrap_or_else(|| id.clone());
    // The last delivery, or one after it whose end no replica recorded: it runs nothing.
    let last = delivered >= s.config.max_deliveries;
    let reject = |why: Rejected, detail: String| {
        s.counters.rejected[why as usize].fetch_add(1, Ordering::Relaxed);
        eprintln!(
            "statejet serve: intake: message #{sequence} on {} starts no execution ({}): {detail}",
            message.subject,
            why.as_str()
        );
        AckKind::Term
    };
    if engine
        .registry()
        .get(&machine)
        .is_some_and(|m| m.machine_type == crate::asl::MachineType::Standard)
    {
        let kind = reject(
            Rejected::StandardStateMachine,
            format!("'{machine}' is a STANDARD state machine: start it with StartExecution"),
        );
        return last_word(acker, kind, task);
    }
    if !crate::arn::valid_name(&name) {
        let kind = reject(
            Rejected::InvalidName,
            format!("'{name}' is not a valid execution name"),
        );
        return last_word(acker, kind, task);
    }
    let body = &message.payload;
    let input = if body.iter().all(u8::is_ascii_whitespace) {
        // An empty body is an execution without input, which AWS gives `{}`.
        Ok(crate::value::Value::object(crate::value::Map::new()))
    } else {
        crate::value::Value::parse_slice(body)
    };
    let input = match input {
        Ok(v) => v,
        Err(e) => {
            let kind = reject(Rejected::InvalidInput, format!("the body is not JSON: {e}"));
            return last_word(acker, kind, task);
        }
    };
    let give_up = last.then(|| {
        Failure::new(
            DELIVERY_LIMIT,
            format!(
                "JetStream delivered this execution {delivered} times (--intake-max-deliveries) and no replica that took it acknowledged its end within the ack wait of {} s: each stopped, lost its connection, or could not write the log; it is not run again",
                s.config.ack_wait.as_secs_f64()
            ),
        )
    });
    let gave_up = give_up.is_some();
    let (tx, ended) = tokio::sync::oneshot::channel();
    let started = engine.start_delivered(
        slot,
        &machine,
        Delivered {
            id,
            name,
            input,
            redeliveries: delivered - 1,
            give_up,
        },
        move |e| {
            let _ = tx.send(e);
        },
    );
    match started {
        Ok(_) => {
            let settle = Settle {
                intake: intake.clone(),
                acker,
                observer: observer.clone(),
                redeliveries: delivered - 1,
                gave_up,
            };
            tokio::spawn(async move {
                settle.run(ended).await;
                drop(task);
            });
        }
        // Another replica may know it (one created by the API on it alone); at the last
        // delivery no replica that took it did.
        Err(StartError::StateMachineDoesNotExist(_)) if last => {
            let kind = reject(
                Rejected::UnknownStateMachine,
                format!("no state machine '{machine}' on the replicas it was delivered to"),
            );
            last_word(acker, kind, task);
        }
        Err(StartError::StateMachineDoesNotExist(_)) => {
            last_word(acker, AckKind::Nak(Some(Duration::from_secs(1))), task)
        }
        Err(_) => last_word(acker, AckKind::Nak(None), task),
    }
}

/// Sends a message's last word without waiting for it; `task` is held until it is out.
fn last_word(acker: Acker, kind: AckKind, task: tokio::sync::mpsc::Sender<()>) {
    tokio::spawn(async move {
        let _ = acker.ack_with(kind).await;
        drop(task);
    });
}

/// What remains to do for one started message: keep it in progress while it runs, then give
/// JetStream its last word.
struct Settle {
    intake: Intake,
    acker: Acker,
    observer: Observer,
    redeliveries: u32,
    gave_up: bool,
}

impl Settle {
    async fn run(self, ended: tokio::sync::oneshot::Receiver<Ended>) {
        let s = &self.intake.shared;
        // Three signals per ack wait: one may be late or lost without a redelivery.
        let every = (s.config.ack_wait / 3).max(Duration::from_millis(100));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tokio::pin!(ended);
        let ended = loop {
            tokio::select! {
                e = &mut ended => break e,
                _ = tick.tick() => {
                    let _ = self.acker.ack_with(AckKind::Progress).await;
                }
            }
        };
        // The engine went away without an end (the runtime stopping): JetStream delivers it
        // again after the ack wait.
        let Ok(ended) = ended else {
            return;
        };
        (self.observer)(&ended);
        if ended.outcome.status == Status::Aborted {
            // Aborted by this replica's shutdown: another replica runs it again.
            let _ = self.acker.ack_with(AckKind::Nak(None)).await;
            return;
        }
        if !ended.logged {
            return;
        }
        if let Some(subject) = &s.config.results_subject {
            let line = result(&ended, self.redeliveries);
            let _ = s.client.publish(subject.clone(), line.into()).await;
        }
        if self.acker.ack().await.is_ok() {
            s.counters.acked.fetch_add(1, Ordering::Relaxed);
        }
        if self.gave_up {
            s.counters.exhausted.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// An execution's end as one JSON object, in `StartSyncExecution`'s words.
fn result(e: &Ended, redeliveries: u32) -> String {
    let x = &e.execution;
    let mut out = json!({
        "executionArn": x.arn(),
        "stateMachineArn": &*x.state_machine_id,
        "name": x.name(),
        "status": e.outcome.status.as_str(),
        "startDate": e.start_ms as f64 / 1000.0,
        "stopDate": e.stop_ms as f64 / 1000.0,
        "redeliveryCount": redeliveries,
    });
    if let Some(o) = &e.outcome.output {
        out["output"] = o.to_string().into();
    }
    if let Some(f) = &e.outcome.failure {
        out["error"] = f.error.clone().into();
        if !f.cause.is_empty() {
            out["cause"] = f.cause.clone().into();
        }
    }
    out.to_string()
}

/// The id of an execution a device published (no id header): the same for every delivery of
/// the message, so each replica that runs it logs the same ARN.
fn derived_id(stream: &str, sequence: u64) -> String {
    let digest = sha2::Sha256::digest(format!("{stream}/{sequence}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}
