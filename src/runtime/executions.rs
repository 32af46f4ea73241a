//! Retained executions of STANDARD state machines, in memory: each one's identity, the machine
//! revision it runs, its input, its status and its history, for `DescribeExecution`,
//! `ListExecutions`, `GetExecutionHistory`, `DescribeStateMachineForExecution` and
//! `StopExecution`. Nothing survives the process.
//!
//! Invariant: bounded. At most `max_retained` executions are kept; past it the execution that
//! ended first is evicted first, and a running execution is never evicted. A name is unique per
//! machine while an execution of that name is retained.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::Notify;

use super::driver::Attempt;
use super::registry::Machine;
use super::Outcome;
use crate::vm::run::HistoryEvent;

/// How many ended executions are retained by default.
pub const DEFAULT_MAX_RETAINED: usize = 10_000;

/// One retained execution.
pub struct Execution {
    pub arn: String,
    pub name: String,
    /// The revision (or version) of the machine it runs, as it was when it started.
    pub machine: Arc<Machine>,
    /// The version and alias ARNs it was started through, if any.
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
    pub input: Value,
    pub input_text: String,
    pub start_ms: u64,
    /// Its place in start order (listing is newest first).
    seq: u64,
    progress: Mutex<Progress>,
    stop: Notify,
    /// True once it has ended.
    finished: tokio::sync::watch::Sender<bool>,
}

#[derive(Default)]
struct Progress {
    /// While it runs: the attempt whose journal is its history so far.
    attempt: Option<Arc<Attempt>>,
    /// Once it ended: how, when, and its whole history.
    ended: Option<Ended>,
    /// What a `StopExecution` asked (error, cause), once asked.
    stop: Option<(Option<String>, Option<String>)>,
}

/// How a retained execution ended.
#[derive(Debug, Clone)]
pub struct Ended {
    pub outcome: Outcome,
    pub stop_ms: u64,
    pub history: Arc<Vec<HistoryEvent>>,
}

/// What `DescribeExecution` shows of an execution's state now.
#[derive(Debug, Clone)]
pub enum Now {
    Running,
    Ended(Ended),
}

impl Execution {
    /// Whether it still runs, or how it ended.
    pub fn now(&self) -> Now {
        match &self.lock().ended {
            Some(e) => Now::Ended(e.clone()),
            None => Now::Running,
        }
    }

    /// Its history so far (every event, in id order).
    pub fn history(&self) -> Arc<Vec<HistoryEvent>> {
        let p = self.lock();
        match (&p.ended, &p.attempt) {
            (Some(e), _) => e.history.clone(),
            (None, Some(a)) => Arc::new(a.events()),
            (None, None) => Arc::default(),
        }
    }

    /// Asks a running execution to stop with `error` and `cause`: its driver's future is
    /// dropped (and with it every call it awaits) and it ends ABORTED. False if it had ended.
    pub fn request_stop(&self, error: Option<String>, cause: Option<String>) -> bool {
        let mut p = self.lock();
        if p.ended.is_some() {
            return false;
        }
        p.stop.get_or_insert((error, cause));
        drop(p);
        self.stop.notify_one();
        true
    }

    /// Resolves once a stop is requested.
    pub async fn stopped(&self) -> (Option<String>, Option<String>) {
        loop {
            if let Some(s) = self.lock().stop.clone() {
                return s;
            }
            self.stop.notified().await;
        }
    }

    /// Resolves once it has ended (and is recorded as ended).
    pub async fn finished(&self) {
        let mut rx = self.finished.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }

    pub(super) fn running(&self, attempt: Arc<Attempt>) {
        self.lock().attempt = Some(attempt);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a start was refused by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// An execution of this name is retained (closed, or with another input).
    AlreadyExists(String),
}

/// What a start finds.
pub enum Started {
    New(Arc<Execution>),
    /// The same name and input while the first still runs: AWS answers it again.
    Again(Arc<Execution>),
}

/// The retained executions.
pub struct Executions {
    inner: Mutex<Store>,
    max_retained: usize,
}

#[derive(Default)]
struct Store {
    by_arn: HashMap<String, Arc<Execution>>,
    /// Per machine name, by start order.
    by_machine: HashMap<String, BTreeMap<u64, Arc<Execution>>>,
    /// ARNs in the order their executions ended: the eviction order.
    ended: VecDeque<String>,
    next_seq: u64,
}

/// What a new execution is.
pub struct NewExecution {
    pub arn: String,
    pub name: String,
    pub machine: Arc<Machine>,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
    pub input: Value,
    pub input_text: String,
    pub start_ms: u64,
}

impl Executions {
    pub fn new(max_retained: usize) -> Executions {
        Executions {
            inner: Mutex::default(),
            max_retained: max_retained.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Retains a new execution, unless one of its name is retained: then the same name and
    /// input of a running one is `Again`, anything else `AlreadyExists`.
    pub fn start(&self, new: NewExecution) -> Result<Started, Conflict> {
        let mut store = self.lock();
        if let Some(existing) = store.by_arn.get(&new.arn) {
            let running = matches!(existing.now(), Now::Running);
            if running && existing.input == new.input {
                return Ok(Started::Again(existing.clone()));
            }
            return Err(Conflict::AlreadyExists(new.arn));
        }
        let seq = store.next_seq;
        store.next_seq += 1;
        let e = Arc::new(Execution {
            arn: new.arn,
            name: new.name,
            machine: new.machine,
            version_arn: new.version_arn,
            alias_arn: new.alias_arn,
            input: new.input,
            input_text: new.input_text,
            start_ms: new.start_ms,
            seq,
            progress: Mutex::default(),
            stop: Notify::new(),
            finished: tokio::sync::watch::channel(false).0,
        });
        store.by_arn.insert(e.arn.clone(), e.clone());
        store
            .by_machine
            .entry(e.machine.name.clone())
            .or_default()
            .insert(seq, e.clone());
        self.evict(&mut store);
        Ok(Started::New(e))
    }

    /// Forgets a start that could not run (refused admission).
    pub fn forget(&self, e: &Execution) {
        let mut store = self.lock();
        store.by_arn.remove(&e.arn);
        if let Some(m) = store.by_machine.get_mut(&e.machine.name) {
            m.remove(&e.seq);
        }
    }

    /// Records an execution's end; from now on it may be evicted.
    pub fn end(&self, e: &Execution, outcome: Outcome, stop_ms: u64, history: Vec<HistoryEvent>) {
        {
            let mut p = e.lock();
            p.attempt = None;
            p.ended = Some(Ended {
                outcome,
                stop_ms,
                history: Arc::new(history),
            });
        }
        e.finished.send_replace(true);
        let mut store = self.lock();
        store.ended.push_back(e.arn.clone());
        self.evict(&mut store);
    }

    /// Evicts ended executions, oldest ended first, while more than the bound are retained.
    fn evict(&self, store: &mut Store) {
        while store.by_arn.len() > self.max_retained {
            let Some(arn) = store.ended.pop_front() else {
                // Every retained execution runs: none may go.
                return;
            };
            if let Some(e) = store.by_arn.remove(&arn) {
                if let Some(m) = store.by_machine.get_mut(&e.machine.name) {
                    m.remove(&e.seq);
                    if m.is_empty() {
                        store.by_machine.remove(&e.machine.name);
                    }
                }
            }
        }
    }

    /// The retained execution of this ARN.
    pub fn get(&self, arn: &str) -> Option<Arc<Execution>> {
        self.lock().by_arn.get(arn).cloned()
    }

    /// How many executions are retained.
    pub fn len(&self) -> usize {
        self.lock().by_arn.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A machine's executions, newest first, that `keep` accepts: up to `max` of them started
    /// before the one numbered `before` (paging), and the number to continue from if more follow.
    pub fn list(
        &self,
        machine: &str,
        before: Option<u64>,
        max: usize,
        keep: impl Fn(&Execution) -> bool,
    ) -> (Vec<Arc<Execution>>, Option<u64>) {
        let store = self.lock();
        let Some(all) = store.by_machine.get(machine) else {
            return (Vec::new(), None);
        };
        let range = all.range(..before.unwrap_or(u64::MAX)).rev();
        let mut page = Vec::new();
        for (_, e) in range.filter(|(_, e)| keep(e)) {
            if page.len() == max {
                return (page, Some(e.seq + 1));
            }
            page.push(e.clone());
        }
        (page, None)
    }
}

/// A retained execution's status name.
pub fn status_name(now: &Now) -> &'static str {
    match now {
        Now::Running => "RUNNING",
        Now::Ended(e) => e.outcome.status.as_str(),
    }
}
