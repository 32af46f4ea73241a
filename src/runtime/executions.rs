//! Retained executions of STANDARD state machines, in memory: each one's identity, the machine
//! revision it runs, its input, its status and its history, for `DescribeExecution`,
//! `ListExecutions`, `GetExecutionHistory`, `DescribeStateMachineForExecution` and
//! `StopExecution`. Nothing survives the process.
//!
//! Invariant: bounded. At most `max_retained` executions are kept, and the ended ones hold at
//! most `max_bytes` (an estimate of each one's heap: its history, input and output); past
//! either, the execution that ended first is evicted first, and a running execution (a
//! redriven one too) is never evicted. A name is unique per machine while an execution of that
//! name is retained.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::value::{Map, Value};
use tokio::sync::Notify;

use super::driver::Attempt;
use super::registry::Machine;
use super::{Outcome, Status};
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
    /// The variables as its latest top-level state was entered (what a redrive re-enters
    /// that state with), once it ended.
    variables: Map,
    /// The estimated bytes it holds once ended (what the memory bound counts).
    size: usize,
    /// How many times it was redriven, and when last.
    redrive_count: u32,
    redrive_ms: Option<u64>,
    /// The client tokens of its latest successful redrives (at most `REDRIVE_TOKENS`), each
    /// with its redrive's time (when it was first used).
    redrive_tokens: VecDeque<(String, u64)>,
}

/// How long a redrive's client token answers again with the same redrive, and how many are
/// remembered (AWS: "the last 10 client tokens ... valid for up to 15 minutes").
const REDRIVE_TOKENS: usize = 10;
const REDRIVE_TOKEN_MS: u64 = 15 * 60 * 1000;

/// How long after its end an execution may be redriven: 14 days.
pub const REDRIVE_WINDOW_MS: u64 = 14 * 24 * 3600 * 1000;

/// The most events a history may have; past it an execution cannot be redriven.
pub const MAX_HISTORY_EVENTS: usize = 25_000;

/// The longest an execution may stay open, from its start, redrives included: one year.
const MAX_OPEN_MS: u64 = 365 * 24 * 3600 * 1000;

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

/// Whether an execution may be redriven now, or AWS's reason why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redrivable {
    Yes,
    No(String),
}

/// What a redrive starts from: the history so far, the variables, and the redrive's number.
pub struct Redrive {
    pub history: Vec<HistoryEvent>,
    pub variables: Map,
    pub count: u32,
    pub redrive_ms: u64,
}

/// What a `RedriveExecution` finds.
pub enum Redriven {
    /// Redriven now: run it from `Redrive`.
    New(Redrive),
    /// The client token of a recent redrive: that redrive, answered again.
    Again { redrive_ms: u64 },
}

impl Execution {
    /// How many times it was redriven, and when last.
    pub fn redrives(&self) -> (u32, Option<u64>) {
        let p = self.lock();
        (p.redrive_count, p.redrive_ms)
    }

    /// Whether it may be redriven at `now_ms`, as DescribeExecution's `redriveStatus` says.
    pub fn redrivable(&self, now_ms: u64) -> Redrivable {
        let p = self.lock();
        redrivable(&p, self.start_ms, now_ms)
    }

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

fn redrivable(p: &Progress, start_ms: u64, now_ms: u64) -> Redrivable {
    let no = |why: &str| Redrivable::No(why.to_owned());
    let Some(ended) = &p.ended else {
        return no("Execution is RUNNING and cannot be redriven");
    };
    match ended.outcome.status {
        Status::Succeeded => no("Execution is SUCCEEDED and cannot be redriven"),
        _ if ended.history.len() >= MAX_HISTORY_EVENTS => {
            no("Execution history event limit exceeded")
        }
        _ if now_ms.saturating_sub(start_ms) >= MAX_OPEN_MS => {
            no("Execution has exceeded the max execution time")
        }
        _ if now_ms.saturating_sub(ended.stop_ms) >= REDRIVE_WINDOW_MS => {
            no("Execution redrivable period exceeded")
        }
        _ => Redrivable::Yes,
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
    /// The most bytes the ended executions may hold (estimated: `retained_size`).
    max_bytes: usize,
}

#[derive(Default)]
struct Store {
    by_arn: HashMap<String, Arc<Execution>>,
    /// Per machine name, by start order.
    by_machine: HashMap<String, BTreeMap<u64, Arc<Execution>>>,
    /// Executions in the order they ended, each with its redrive count then: the eviction
    /// order. An entry whose execution was redriven since is stale (it is queued again when
    /// it ends again).
    ended: VecDeque<(Arc<Execution>, u32)>,
    /// The estimated bytes of the ended executions.
    bytes: usize,
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
    /// A store of at most `max_retained` executions whose ended ones hold at most `max_bytes`
    /// (`usize::MAX`: no bound but the count).
    pub fn new(max_retained: usize, max_bytes: usize) -> Executions {
        Executions {
            inner: Mutex::default(),
            max_retained: max_retained.max(1),
            max_bytes,
        }
    }

    /// The estimated bytes the ended executions hold.
    pub fn retained_bytes(&self) -> usize {
        self.lock().bytes
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
            .entry(e.machine.name.to_string())
            .or_default()
            .insert(seq, e.clone());
        self.evict(&mut store);
        Ok(Started::New(e))
    }

    /// Forgets a start that could not run (refused admission).
    pub fn forget(&self, e: &Execution) {
        let mut store = self.lock();
        store.by_arn.remove(&e.arn);
        if let Some(m) = store.by_machine.get_mut(&*e.machine.name) {
            m.remove(&e.seq);
        }
    }

    /// Records an execution's end (with the variables a redrive would re-enter its latest
    /// top-level state with); from now on it may be evicted.
    pub fn end(
        &self,
        e: &Arc<Execution>,
        outcome: Outcome,
        stop_ms: u64,
        history: Vec<HistoryEvent>,
        variables: Map,
    ) {
        let size = retained_size(e, &outcome, &history, &variables);
        let count = {
            let mut p = e.lock();
            p.attempt = None;
            p.ended = Some(Ended {
                outcome,
                stop_ms,
                history: Arc::new(history),
            });
            p.variables = variables;
            p.size = size;
            p.redrive_count
        };
        e.finished.send_replace(true);
        let mut store = self.lock();
        store.ended.push_back((e.clone(), count));
        store.bytes += size;
        self.evict(&mut store);
    }

    /// Starts a redrive of `e` at `now_ms` if it may be redriven (`Redrivable::Yes`): it is
    /// running again from here on (never evicted until it ends again). A `client_token` of one
    /// of its recent redrives answers that redrive again instead.
    pub fn redrive(
        &self,
        e: &Arc<Execution>,
        now_ms: u64,
        client_token: Option<&str>,
    ) -> Result<Redriven, String> {
        let mut store = self.lock();
        if !store.by_arn.get(&e.arn).is_some_and(|r| Arc::ptr_eq(r, e)) {
            // Evicted since it was looked up.
            return Err(format!("Execution Does Not Exist: '{}'", e.arn));
        }
        let mut p = e.lock();
        if let Some(token) = client_token {
            p.redrive_tokens
                .retain(|(_, at)| now_ms.saturating_sub(*at) < REDRIVE_TOKEN_MS);
            if let Some((_, at)) = p.redrive_tokens.iter().find(|(t, _)| t == token) {
                return Ok(Redriven::Again { redrive_ms: *at });
            }
        }
        if let Redrivable::No(why) = redrivable(&p, e.start_ms, now_ms) {
            return Err(why);
        }
        let ended = p.ended.take().expect("a redrivable execution has ended");
        let history = Arc::try_unwrap(ended.history).unwrap_or_else(|h| Vec::clone(&h));
        store.bytes -= std::mem::take(&mut p.size);
        p.redrive_count += 1;
        p.redrive_ms = Some(now_ms);
        p.stop = None;
        if let Some(token) = client_token {
            if p.redrive_tokens.len() == REDRIVE_TOKENS {
                p.redrive_tokens.pop_front();
            }
            p.redrive_tokens.push_back((token.to_owned(), now_ms));
        }
        let redrive = Redrive {
            history,
            variables: std::mem::take(&mut p.variables),
            count: p.redrive_count,
            redrive_ms: now_ms,
        };
        drop(p);
        e.finished.send_replace(false);
        Ok(Redriven::New(redrive))
    }

    /// The redrive a recent `client_token` of `e` made, if any (its time).
    pub fn redrive_again(&self, e: &Execution, now_ms: u64, client_token: &str) -> Option<u64> {
        let p = e.lock();
        p.redrive_tokens
            .iter()
            .find(|(t, at)| t == client_token && now_ms.saturating_sub(*at) < REDRIVE_TOKEN_MS)
            .map(|(_, at)| *at)
    }

    /// Evicts ended executions, oldest ended first, while more than the bounds are retained.
    fn evict(&self, store: &mut Store) {
        while store.by_arn.len() > self.max_retained || store.bytes > self.max_bytes {
            let Some((e, count)) = store.ended.pop_front() else {
                // Every retained execution runs: none may go.
                return;
            };
            let p = e.lock();
            // Redriven since it was queued: it is queued again when it ends again.
            if p.ended.is_none() || p.redrive_count != count {
                continue;
            }
            let size = p.size;
            drop(p);
            store.bytes -= size;
            store.by_arn.remove(&e.arn);
            if let Some(m) = store.by_machine.get_mut(&*e.machine.name) {
                m.remove(&e.seq);
                if m.is_empty() {
                    store.by_machine.remove(&*e.machine.name);
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

/// An estimate of the heap bytes an ended execution holds while retained: its record, its
/// input (text and value), its history (every event's details, and the list's spare room),
/// its output and kept variables, and its entries in the store's indexes. It follows how
/// `serde_json`'s ordered maps and vectors allocate (room for 4 at least, then doubling);
/// `benches/memory.rs` compares it with the bytes measured.
pub fn retained_size(
    e: &Execution,
    outcome: &Outcome,
    history: &[HistoryEvent],
    variables: &Map,
) -> usize {
    // The record in its `Arc`, the ARN kept twice more (the ARN index and the ended queue's
    // entry), and the two index entries.
    const RECORD: usize = size_of::<Execution>() + 16 + 2 * 64;
    let strings = 2 * e.arn.len() + e.name.len() + e.input_text.len();
    let versions =
        e.version_arn.as_ref().map_or(0, String::len) + e.alias_arn.as_ref().map_or(0, String::len);
    let events: usize = room(history.len()) * size_of::<HistoryEvent>()
        + history
            .iter()
            .map(|h| details_size(&h.details))
            .sum::<usize>();
    let output = outcome.output.as_ref().map_or(0, value_size);
    let failure = outcome
        .failure
        .as_ref()
        .map_or(0, |f| f.error.len() + f.cause.len());
    RECORD
        + strings
        + versions
        + value_size(&e.input)
        + events
        + output
        + failure
        + object_size(variables)
}

/// The room a vector grown one push at a time has for `n` elements.
fn room(n: usize) -> usize {
    match n {
        0 => 0,
        n => n.next_power_of_two().max(4),
    }
}

/// The heap bytes of a statejet object: its node (two counts, a bound, the map), its entries'
/// vector (key, value per entry), an index past 16 fields (a word and a control byte per
/// slot, at most 7/8 full, and a key per entry), and what its keys (each its own node of two
/// counts and the text) and values hold. Shared nodes are counted in full at each holder: an
/// overestimate, which keeps the bound a bound.
fn object_size(m: &Map) -> usize {
    // Two counts, the remembered text bound (padded to a word) and the map.
    let node = 3 * size_of::<usize>() + size_of::<Map>();
    if m.is_empty() {
        return node;
    }
    let entry = size_of::<crate::value::Str>() + size_of::<Value>();
    let index = if m.len() > 16 {
        let slots = (m.len() * 8 / 7 + 1).next_power_of_two().max(4);
        slots * (size_of::<usize>() + size_of::<crate::value::Str>() + 1) + 16
    } else {
        0
    };
    let members: usize = m
        .iter()
        .map(|(k, v)| 2 * size_of::<usize>() + k.len() + value_size(v))
        .sum();
    node + room(m.len()) * entry + index + members
}

/// The heap bytes a statejet value holds (beside the value itself).
fn value_size(v: &Value) -> usize {
    match v {
        Value::String(s) => 2 * size_of::<usize>() + s.len(),
        Value::Array(a) => {
            3 * size_of::<usize>()
                + size_of::<Vec<Value>>()
                + room(a.len()) * size_of::<Value>()
                + a.iter().map(value_size).sum::<usize>()
        }
        Value::Object(m) => object_size(m),
        _ => 0,
    }
}

/// The heap bytes a serde_json value holds (an event's details): an ordered map's entries'
/// vector (hash, key, value per entry) and index table, strings' bytes.
fn details_size(v: &serde_json::Value) -> usize {
    use serde_json::Value as Json;
    match v {
        Json::String(s) => s.len(),
        Json::Array(a) => {
            room(a.len()) * size_of::<Json>() + a.iter().map(details_size).sum::<usize>()
        }
        Json::Object(m) if m.is_empty() => 0,
        Json::Object(m) => {
            let entry = size_of::<usize>() + size_of::<String>() + size_of::<Json>();
            let slots = (m.len() * 8 / 7 + 1).next_power_of_two().max(4);
            let table = slots * (size_of::<usize>() + 1) + 16;
            let members: usize = m.iter().map(|(k, v)| k.len() + details_size(v)).sum();
            room(m.len()) * entry + table + members
        }
        _ => 0,
    }
}

/// A retained execution's status name.
pub fn status_name(now: &Now) -> &'static str {
    match now {
        Now::Running => "RUNNING",
        Now::Ended(e) => e.outcome.status.as_str(),
    }
}
