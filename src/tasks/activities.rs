//! Activities: named queues of activity tasks that workers take with `GetActivityTask`.
//! A scheduled task waits in its activity's queue (in scheduling order) until a worker's poll
//! takes it; a poll waits at most its limit (AWS's 60 seconds) and holds no thread.
//!
//! Invariant: a task is handed to one worker at most, in the order tasks were scheduled, and
//! only while it still waits (a stopped execution's task is skipped and forgotten).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

use super::tokens::Tokens;

/// AWS's quota of activities per account and region.
pub const MAX_ACTIVITIES: usize = 10_000;

/// AWS's bound on workers polling one activity at once.
pub const MAX_POLLERS: usize = 1_000;

/// The longest a `GetActivityTask` poll waits, as AWS's does.
pub const POLL_SECONDS: u64 = 60;

/// The activities of this process, by ARN.
pub struct Activities {
    by_arn: RwLock<BTreeMap<String, Arc<Activity>>>,
    /// How long a poll waits (`POLL_SECONDS`, unless `statejet serve` is told a shorter time).
    poll_ms: AtomicU64,
}

impl Default for Activities {
    fn default() -> Activities {
        Activities {
            by_arn: RwLock::default(),
            poll_ms: AtomicU64::new(POLL_SECONDS * 1000),
        }
    }
}

/// Why an activity could not be made, or a poll could not wait.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("The maximum number of activities ({MAX_ACTIVITIES}) has been reached. Existing activities must be deleted before a new activity can be created.")]
    ActivityLimitExceeded,
    #[error(
        "The maximum number of workers concurrently polling for activity tasks has been reached."
    )]
    ActivityWorkerLimitExceeded,
}

impl Error {
    /// AWS's error name.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ActivityLimitExceeded => "ActivityLimitExceeded",
            Error::ActivityWorkerLimitExceeded => "ActivityWorkerLimitExceeded",
        }
    }
}

/// One activity.
pub struct Activity {
    pub name: String,
    pub arn: String,
    /// Unique in the process, never 0: what an activity task's token names (one deleted and
    /// made again under its name is another activity, whose tasks the old tokens are not).
    pub id: u64,
    /// Milliseconds since the Unix epoch.
    pub creation_ms: u64,
    /// The activity's tags, in the order given (`CreateActivity`, `TagResource`).
    pub tags: Mutex<Vec<(String, String)>>,
    queue: Mutex<VecDeque<Queued>>,
    /// Wakes a waiting poll when a task is queued.
    ready: Notify,
    pollers: AtomicUsize,
}

struct Queued {
    seq: u64,
    token: String,
    input: String,
}

/// A task handed to a worker: its token and its input (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handed {
    pub token: String,
    pub input: String,
}

impl Activities {
    /// How long a `GetActivityTask` waits for a task.
    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms.load(Ordering::Relaxed))
    }

    pub fn set_poll(&self, wait: Duration) {
        self.poll_ms
            .store(wait.as_millis() as u64, Ordering::Relaxed);
    }

    /// Creates the activity, or returns the existing one of that ARN (`CreateActivity` is
    /// idempotent).
    pub fn create(&self, arn: String, name: &str, now_ms: u64) -> Result<Arc<Activity>, Error> {
        let mut all = self.by_arn.write().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = all.get(&arn) {
            return Ok(a.clone());
        }
        if all.len() >= MAX_ACTIVITIES {
            return Err(Error::ActivityLimitExceeded);
        }
        static IDS: AtomicU64 = AtomicU64::new(1);
        let activity = Arc::new(Activity {
            name: name.to_owned(),
            arn: arn.clone(),
            id: IDS.fetch_add(1, Ordering::Relaxed),
            creation_ms: now_ms,
            tags: Mutex::default(),
            queue: Mutex::default(),
            ready: Notify::new(),
            pollers: AtomicUsize::new(0),
        });
        all.insert(arn, activity.clone());
        Ok(activity)
    }

    pub fn get(&self, arn: &str) -> Option<Arc<Activity>> {
        let all = self.by_arn.read().unwrap_or_else(|p| p.into_inner());
        all.get(arn).cloned()
    }

    /// Whether the activity numbered `id` exists (was not deleted).
    pub fn exists(&self, id: u64) -> bool {
        let all = self.by_arn.read().unwrap_or_else(|p| p.into_inner());
        all.values().any(|a| a.id == id)
    }

    /// Every activity, by ARN (so, within one region and account, by name).
    pub fn list(&self) -> Vec<Arc<Activity>> {
        let all = self.by_arn.read().unwrap_or_else(|p| p.into_inner());
        all.values().cloned().collect()
    }

    /// Forgets an activity; whether it existed. Tasks already scheduled on it keep waiting in
    /// its queue (a worker polling it still may take them); new ones fail to schedule.
    pub fn delete(&self, arn: &str) -> bool {
        let mut all = self.by_arn.write().unwrap_or_else(|p| p.into_inner());
        all.remove(arn).is_some()
    }
}

impl Activity {
    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Queued>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a scheduled task.
    pub(super) fn push(&self, seq: u64, token: String, input: String) {
        self.queue().push_back(Queued { seq, token, input });
        self.ready.notify_one();
    }

    /// Drops a task no longer waiting (its execution ended before a worker took it).
    pub(super) fn forget(&self, seq: u64) {
        self.queue().retain(|q| q.seq != seq);
    }

    /// How many tasks wait for a worker.
    pub fn queued(&self) -> usize {
        self.queue().len()
    }

    /// The oldest task still waiting, now started by `worker`.
    fn take_now(&self, tokens: &Tokens, worker: &Option<String>) -> Option<Handed> {
        let mut queue = self.queue();
        while let Some(q) = queue.pop_front() {
            if tokens.start(q.seq, worker.clone()) {
                return Some(Handed {
                    token: q.token,
                    input: q.input,
                });
            }
        }
        None
    }

    /// `GetActivityTask`: the oldest waiting task, or `None` if none comes within `wait`.
    pub async fn take(
        &self,
        tokens: &Tokens,
        worker: Option<String>,
        wait: Duration,
    ) -> Result<Option<Handed>, Error> {
        if self.pollers.fetch_add(1, Ordering::SeqCst) >= MAX_POLLERS {
            self.pollers.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::ActivityWorkerLimitExceeded);
        }
        let _poller = Poller(&self.pollers);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let ready = self.ready.notified();
            tokio::pin!(ready);
            // Registered before looking, so a task queued in between wakes this poll.
            ready.as_mut().enable();
            if let Some(handed) = self.take_now(tokens, &worker) {
                return Ok(Some(handed));
            }
            tokio::select! {
                _ = &mut ready => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Ok(self.take_now(tokens, &worker));
                }
            }
        }
    }
}

/// One poll counted while it waits.
struct Poller<'a>(&'a AtomicUsize);

impl Drop for Poller<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
