//! Task tokens: the tasks that wait for `SendTaskSuccess`, `SendTaskFailure` and
//! `SendTaskHeartbeat` (activities and `.waitForTaskToken` integrations), behind the one
//! resource seam. A waiting task is a future (`Answer::Later`) and an entry in `Tokens`; it
//! holds no thread, and dropping it (a stop, the deadline, a shutdown) removes its token.
//!
//! Invariant: a token is this process's if its MAC checks (else `InvalidToken`); an activity
//! task's token names its activity, and once that activity is deleted every send is
//! `TaskDoesNotExist`; otherwise a token is live while its task waits, and once the task ends,
//! however it ends, every send is `TaskTimedOut`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use dashmap::DashMap;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::activities::{Activities, Activity};
use super::{Answer, TaskResult};
use crate::vm::failure::{self, Failure};
use crate::vm::run::{json_text, task_resource, text, EventType, Invocation, Progress, TokenMint};

/// Why a `SendTask*` call was refused, in AWS's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Not a token of this process (garbage, or one from before a restart).
    #[error("Invalid Token: 'Invalid token'")]
    InvalidToken,
    /// The token's task has ended (succeeded, failed, timed out, or its execution stopped).
    #[error("Task Timed Out: 'Provided task does not exist anymore'")]
    TaskTimedOut,
    /// The token is an activity task's, and that activity was deleted (AWS: "The activity
    /// does not exist").
    #[error("Task Does Not Exist: 'The activity of this task does not exist'")]
    TaskDoesNotExist,
}

impl SendError {
    /// AWS's error name.
    pub fn code(&self) -> &'static str {
        match self {
            SendError::InvalidToken => "InvalidToken",
            SendError::TaskTimedOut => "TaskTimedOut",
            SendError::TaskDoesNotExist => "TaskDoesNotExist",
        }
    }
}

/// What reaches a waiting task.
#[derive(Debug)]
enum Signal {
    Success(Value),
    Failure(Failure),
    Heartbeat,
    /// A worker took the activity task (`GetActivityTask`).
    Started {
        worker: Option<String>,
    },
}

/// The live tokens of this process and the key that makes them.
pub struct Tokens {
    key: [u8; 32],
    next: AtomicU64,
    live: DashMap<u64, mpsc::UnboundedSender<Signal>>,
}

impl Default for Tokens {
    fn default() -> Tokens {
        Tokens::new()
    }
}

/// Bytes of a token: its number, for an activity task its activity's id, then the first bytes
/// of its MAC (of both).
const SEQ_BYTES: usize = 8;
const ACTIVITY_BYTES: usize = 8;
const TAG_BYTES: usize = 24;

/// What a token of this process names: its task's number, and its activity's id if it is an
/// activity task's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    seq: u64,
    pub activity: Option<u64>,
}

impl Tokens {
    /// A store with a fresh random key (from the standard library's OS-seeded hasher keys).
    pub fn new() -> Tokens {
        let mut key = [0u8; 32];
        for (i, chunk) in key.chunks_mut(8).enumerate() {
            let mut h = RandomState::new().build_hasher();
            h.write_usize(i);
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        Tokens {
            key,
            next: AtomicU64::new(1),
            live: DashMap::new(),
        }
    }

    fn tag(&self, seq: u64, activity: Option<u64>) -> [u8; TAG_BYTES] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(&seq.to_be_bytes());
        if let Some(a) = activity {
            mac.update(&a.to_be_bytes());
        }
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }

    /// A new token: unguessable, and recognisable as this process's.
    pub fn mint(&self) -> String {
        self.mint_named(None)
    }

    /// A new token of a task of the activity numbered `activity`.
    pub fn mint_for_activity(&self, activity: u64) -> String {
        self.mint_named(Some(activity))
    }

    fn mint_named(&self, activity: Option<u64>) -> String {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let mut bytes = Vec::with_capacity(SEQ_BYTES + ACTIVITY_BYTES + TAG_BYTES);
        bytes.extend_from_slice(&seq.to_be_bytes());
        if let Some(a) = activity {
            bytes.extend_from_slice(&a.to_be_bytes());
        }
        bytes.extend_from_slice(&self.tag(seq, activity));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// What one of this process's tokens names (`InvalidToken` for any other text).
    pub fn named(&self, token: &str) -> Result<Named, SendError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| SendError::InvalidToken)?;
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            u64::from_be_bytes(w)
        };
        let (seq, activity, given) = match bytes.len() {
            n if n == SEQ_BYTES + TAG_BYTES => (word(&bytes[..8]), None, &bytes[8..]),
            n if n == SEQ_BYTES + ACTIVITY_BYTES + TAG_BYTES => {
                (word(&bytes[..8]), Some(word(&bytes[8..16])), &bytes[16..])
            }
            _ => return Err(SendError::InvalidToken),
        };
        // Compared in constant time, as a MAC should be.
        let tag = self.tag(seq, activity);
        let same = tag.iter().zip(given).fold(0u8, |d, (a, b)| d | (a ^ b));
        match same {
            0 => Ok(Named { seq, activity }),
            _ => Err(SendError::InvalidToken),
        }
    }

    /// The number of one of this process's tokens.
    fn seq(&self, token: &str) -> Result<u64, SendError> {
        self.named(token).map(|n| n.seq)
    }

    /// `SendTaskSuccess`: the task's result is `output`.
    pub fn succeed(&self, token: &str, output: Value) -> Result<(), SendError> {
        self.close(token, Signal::Success(output))
    }

    /// `SendTaskFailure`: the task fails with `error` and `cause` (empty when not given).
    pub fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), SendError> {
        self.close(token, Signal::Failure(Failure::new(error, cause)))
    }

    /// `SendTaskHeartbeat`: the task's heartbeat clock starts again.
    pub fn heartbeat(&self, token: &str) -> Result<(), SendError> {
        let seq = self.seq(token)?;
        let sent = self
            .live
            .get(&seq)
            .is_some_and(|tx| tx.send(Signal::Heartbeat).is_ok());
        sent.then_some(()).ok_or(SendError::TaskTimedOut)
    }

    /// Ends a task: whoever removes the entry (this, or the task timing out) decides.
    fn close(&self, token: &str, signal: Signal) -> Result<(), SendError> {
        let seq = self.seq(token)?;
        match self.live.remove(&seq) {
            Some((_, tx)) if tx.send(signal).is_ok() => Ok(()),
            _ => Err(SendError::TaskTimedOut),
        }
    }

    /// Tells an activity task that a worker took it; false if the task no longer waits.
    pub(super) fn start(&self, seq: u64, worker: Option<String>) -> bool {
        self.live
            .get(&seq)
            .is_some_and(|tx| tx.send(Signal::Started { worker }).is_ok())
    }

    /// How many tasks wait for their token.
    pub fn waiting(&self) -> usize {
        self.live.len()
    }

    /// Makes `token` live; its task waits on the returned end.
    fn register(self: &Arc<Self>, token: &str) -> Option<Waiting> {
        let seq = self.seq(token).ok()?;
        let (tx, rx) = mpsc::unbounded_channel();
        self.live.insert(seq, tx);
        Some(Waiting {
            tokens: self.clone(),
            seq,
            rx,
            queued: None,
        })
    }
}

/// A task waiting for its token. Dropping it removes the token (and an activity task still
/// queued), so that later sends are `TaskTimedOut`.
struct Waiting {
    tokens: Arc<Tokens>,
    seq: u64,
    rx: mpsc::UnboundedReceiver<Signal>,
    /// The activity whose queue holds the task until a worker takes it.
    queued: Option<Arc<Activity>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.tokens.live.remove(&self.seq);
        if let Some(activity) = &self.queued {
            activity.forget(self.seq);
        }
    }
}

/// The task's clocks: `HeartbeatSeconds` since the last sign of life, and (for an activity,
/// whose `TimeoutSeconds` counts from `ActivityStarted`) the timeout.
struct Clocks {
    heartbeat: Option<Duration>,
    timeout: Option<Duration>,
    /// When the clocks started (`None`: an activity task no worker has taken yet).
    started: Option<Instant>,
    last_beat: Instant,
}

impl Clocks {
    fn next_expiry(&self) -> Option<Instant> {
        let started = self.started?;
        let beat = self.heartbeat.map(|h| self.last_beat + h);
        let end = self.timeout.map(|t| started + t);
        match (beat, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Waiting {
    /// Waits for the task's end: a send, or a clock running out (`States.Timeout`).
    async fn settle(mut self, mut clocks: Clocks, progress: Progress) -> TaskResult {
        loop {
            let expiry = clocks.next_expiry();
            let signal = tokio::select! {
                s = self.rx.recv() => s,
                _ = sleep_until(expiry) => {
                    // The task ends unless a send took its token first: then that send's
                    // outcome is on its way.
                    if self.tokens.live.remove(&self.seq).is_some() {
                        return Err(Failure::new(failure::TIMEOUT, ""));
                    }
                    clocks.heartbeat = None;
                    clocks.timeout = None;
                    continue;
                }
            };
            match signal {
                Some(Signal::Success(v)) => return Ok(v.into()),
                Some(Signal::Failure(f)) => return Err(f),
                Some(Signal::Heartbeat) => clocks.last_beat = Instant::now(),
                Some(Signal::Started { worker }) => {
                    self.queued = None;
                    let now = Instant::now();
                    clocks.started = Some(now);
                    clocks.last_beat = now;
                    let details = match worker {
                        Some(w) => json!({"workerName": w}),
                        None => json!({}),
                    };
                    progress.record(EventType::ActivityStarted, details);
                }
                // Every sender is gone: the store dropped the entry without a send.
                None => return Err(Failure::new(failure::TIMEOUT, "")),
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The token store and the activities: what answers Tasks through task tokens.
#[derive(Clone)]
pub struct Callbacks {
    pub tokens: Arc<Tokens>,
    pub activities: Arc<Activities>,
    /// The store's `mint`, made once: runs take a clone.
    pub mint: TokenMint,
}

impl Default for Callbacks {
    fn default() -> Callbacks {
        let tokens = Arc::new(Tokens::new());
        let minting = tokens.clone();
        Callbacks {
            tokens,
            activities: Arc::default(),
            mint: Arc::new(move || minting.mint()),
        }
    }
}

impl Callbacks {
    /// A token's task, checked as AWS checks it: this process's (`InvalidToken`), of an
    /// activity that still exists (`TaskDoesNotExist`). Whether the task still waits is the
    /// send's to find out (`TaskTimedOut`).
    fn check(&self, token: &str) -> Result<(), SendError> {
        let named = self.tokens.named(token)?;
        match named.activity {
            Some(id) if !self.activities.exists(id) => Err(SendError::TaskDoesNotExist),
            _ => Ok(()),
        }
    }

    /// `SendTaskSuccess`, with AWS's errors.
    pub fn succeed(&self, token: &str, output: Value) -> Result<(), SendError> {
        self.check(token)?;
        self.tokens.succeed(token, output)
    }

    /// `SendTaskFailure`, with AWS's errors.
    pub fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), SendError> {
        self.check(token)?;
        self.tokens.fail(token, error, cause)
    }

    /// `SendTaskHeartbeat`, with AWS's errors.
    pub fn heartbeat(&self, token: &str) -> Result<(), SendError> {
        self.check(token)?;
        self.tokens.heartbeat(token)
    }

    /// An activity task: scheduled (`ActivityScheduled`) in its activity's queue, started
    /// when a worker takes it, ended by a send or a clock. A missing activity fails the state
    /// with `States.Runtime`, as AWS does, before anything is scheduled.
    pub fn activity(&self, inv: Invocation) -> Answer {
        let Some(activity) = self.activities.get(&inv.resource.arn) else {
            return Answer::Now(Err(Failure::runtime(format!(
                "The activity {} does not exist.",
                inv.resource.arn
            ))));
        };
        // The worker's token names the activity (the run's own token is never shown for an
        // activity task), so that a send after the activity's deletion is TaskDoesNotExist.
        let token = self.tokens.mint_for_activity(activity.id);
        let Some(mut waiting) = self.tokens.register(&token) else {
            return Answer::Now(Err(no_token(&inv)));
        };
        let input = json_text(&inv.payload);
        let mut details = json!({"resource": inv.resource.arn, "input": input,
            "inputDetails": {"truncated": false}});
        if let Some(t) = inv.timeout_seconds {
            details["timeoutInSeconds"] = json!(t);
        }
        if let Some(h) = inv.heartbeat_seconds {
            details["heartbeatInSeconds"] = json!(h);
        }
        inv.progress.record(EventType::ActivityScheduled, details);
        activity.push(waiting.seq, token, input);
        waiting.queued = Some(activity);
        let clocks = Clocks {
            heartbeat: inv.heartbeat_seconds.map(Duration::from_secs),
            timeout: inv.timeout_seconds.map(Duration::from_secs),
            started: None,
            last_beat: Instant::now(),
        };
        Answer::Later(Box::pin(waiting.settle(clocks, inv.progress)))
    }

    /// A `.waitForTaskToken` task: `call` is the integration's own request-response answer
    /// (made by the caller, after the token is live, so that a function that answers the token
    /// at once is heard). Its response is recorded as `TaskSubmitted`; the task's result is
    /// then what `SendTaskSuccess` gives. `TimeoutSeconds` is the driver's; heartbeats are here.
    pub fn wait_for_token(
        &self,
        inv: Invocation,
        call: impl FnOnce(Invocation) -> Answer,
    ) -> Answer {
        let Some(waiting) = inv
            .task_token
            .as_deref()
            .and_then(|t| self.tokens.register(t))
        else {
            return Answer::Now(Err(no_token(&inv)));
        };
        let progress = inv.progress.clone();
        let heartbeat = inv.heartbeat_seconds.map(Duration::from_secs);
        let (resource_type, resource) = task_resource(&inv.resource);
        let answer = call(request_response(inv));
        let started = Instant::now();
        Answer::Later(Box::pin(async move {
            let response = settle_answer(answer).await?;
            progress.record(
                EventType::TaskSubmitted,
                json!({"resourceType": resource_type, "resource": resource,
                    "output": text(&response), "outputDetails": {"truncated": false}}),
            );
            let clocks = Clocks {
                heartbeat,
                timeout: None,
                started: Some(started),
                last_beat: started,
            };
            waiting.settle(clocks, progress).await
        }))
    }
    /// A `.sync` job (`call` starts it and polls it to its end): its token is live meanwhile,
    /// so `SendTaskHeartbeat` restarts its `HeartbeatSeconds` clock and `SendTaskSuccess` or
    /// `SendTaskFailure` ends it early, as AWS allows for the job run pattern. Whichever ends
    /// first decides; the other is dropped (a dropped job cancels what it started).
    /// A run whose token is not this store's (TestState's harness) runs the job without one.
    pub fn job(&self, inv: Invocation, call: impl FnOnce(Invocation) -> Answer) -> Answer {
        let Some(waiting) = inv
            .task_token
            .as_deref()
            .and_then(|t| self.tokens.register(t))
        else {
            return call(inv);
        };
        let heartbeat = inv.heartbeat_seconds.map(Duration::from_secs);
        let mut inner = inv;
        // The heartbeat clock is kept here, where heartbeats arrive.
        inner.heartbeat_seconds = None;
        let answer = call(inner);
        let started = Instant::now();
        Answer::Later(Box::pin(async move {
            let clocks = Clocks {
                heartbeat,
                timeout: None,
                started: Some(started),
                last_beat: started,
            };
            tokio::select! {
                r = settle_answer(answer) => r,
                r = waiting.settle(clocks, Progress::default()) => r,
            }
        }))
    }
}

/// A task that should carry a token but does not: an engine fault, said plainly.
fn no_token(inv: &Invocation) -> Failure {
    Failure::runtime(format!(
        "statejet engine fault: the task of state '{}' has no task token of this server",
        inv.state
    ))
}

/// The invocation of a `.waitForTaskToken` integration's own call: the same resource in the
/// request-response pattern.
fn request_response(mut inv: Invocation) -> Invocation {
    use crate::asl::machine::{IntegrationPattern, ResourceKind};
    if let ResourceKind::Service { pattern, .. } = &mut inv.resource.kind {
        *pattern = IntegrationPattern::RequestResponse;
    }
    if let Some(arn) = inv.resource.arn.strip_suffix(".waitForTaskToken") {
        inv.resource.arn = arn.to_owned();
    }
    inv.task_token = None;
    inv.heartbeat_seconds = None;
    inv.progress = Progress::default();
    inv
}

/// Awaits an answer inside a future: blocking work on tokio's blocking pool.
async fn settle_answer(answer: Answer) -> TaskResult {
    match answer {
        Answer::Now(r) => r,
        Answer::Later(f) => f.await,
        Answer::Blocking(work) => tokio::task::spawn_blocking(work).await.unwrap_or_else(|_| {
            Err(Failure::runtime(
                "statejet engine fault: the task's call panicked",
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_recognised_and_end_once() {
        let tokens = Arc::new(Tokens::new());
        let t = tokens.mint();
        assert!(t.len() <= 1024);
        assert_eq!(tokens.heartbeat("garbage"), Err(SendError::InvalidToken));
        assert_eq!(tokens.heartbeat(&t), Err(SendError::TaskTimedOut));
        let other = Tokens::new().mint();
        assert_eq!(
            tokens.succeed(&other, json!(1)),
            Err(SendError::InvalidToken)
        );
        let mut waiting = tokens.register(&t).unwrap();
        assert_eq!(tokens.heartbeat(&t), Ok(()));
        assert_eq!(tokens.succeed(&t, json!(1)), Ok(()));
        assert_eq!(tokens.succeed(&t, json!(2)), Err(SendError::TaskTimedOut));
        assert!(matches!(waiting.rx.try_recv(), Ok(Signal::Heartbeat)));
        assert!(matches!(waiting.rx.try_recv(), Ok(Signal::Success(_))));
        let t2 = tokens.mint();
        let w2 = tokens.register(&t2).unwrap();
        drop(w2);
        assert_eq!(tokens.fail(&t2, "E", "C"), Err(SendError::TaskTimedOut));
        assert_eq!(tokens.waiting(), 0);
    }

    #[test]
    fn an_activity_tasks_token_names_its_activity() {
        let callbacks = Callbacks::default();
        let a = callbacks
            .activities
            .create("arn:a".into(), "a", 0)
            .expect("made");
        let t = callbacks.tokens.mint_for_activity(a.id);
        assert!(t.len() <= 1024);
        let named = callbacks.tokens.named(&t).expect("ours");
        assert_eq!(named.activity, Some(a.id));
        // Another activity's id under the token's MAC is not a token of ours.
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut bytes = b64.decode(&t).expect("base64");
        bytes[15] ^= 1;
        assert_eq!(
            callbacks.tokens.named(&b64.encode(bytes)),
            Err(SendError::InvalidToken)
        );
        assert_eq!(callbacks.heartbeat(&t), Err(SendError::TaskTimedOut));
        let _waiting = callbacks.tokens.register(&t).expect("live");
        assert_eq!(callbacks.heartbeat(&t), Ok(()));
        callbacks.activities.delete("arn:a");
        assert_eq!(callbacks.heartbeat(&t), Err(SendError::TaskDoesNotExist));
        assert_eq!(
            callbacks.succeed(&t, json!(1)),
            Err(SendError::TaskDoesNotExist)
        );
        // Made again under the same name: another activity, still not the token's.
        callbacks
            .activities
            .create("arn:a".into(), "a", 0)
            .expect("made");
        assert_eq!(
            callbacks.fail(&t, "E", "C"),
            Err(SendError::TaskDoesNotExist)
        );
        assert_eq!(
            callbacks.fail("garbage", "E", "C"),
            Err(SendError::InvalidToken)
        );
    }
}
