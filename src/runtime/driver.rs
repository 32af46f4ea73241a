//! The one driver core: steps a `Run`, performs its actions through a `Host`, and drives child
//! runs (Parallel branches, Map iterations) concurrently, writing their framing to the journal.
//!
//! The host says how time passes and how a resource's answer is awaited: `sequential` runs
//! everything on the calling thread with its `Clock` (virtual time in tests), `engine` on tokio.
//! Invariants: the execution's deadline bounds every sleep and every call; a fork ends at the
//! first failure past its tolerance (whatever the order children end in) and stops the others;
//! a panic in a step or a resource is the execution's failure, and the attempt remembers it.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use crate::value::Value;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use super::{terminal_details, terminal_kind, Outcome};
use crate::tasks::{Answer, Resource, TaskResult};
use crate::vm::failure::{self, Failure};
use crate::vm::run::{
    data_limit_exceeded, json_size_within, takes_token, Action, Child, Children, Event, EventType,
    Fork, Invocation, Journal, Progress, Run, TokenMint, MAX_PAYLOAD_BYTES,
};

/// How a driver's runs meet the outside world: a clock, timers, and a way to await answers.
pub trait Host: Clone + Send + Sync {
    /// The host's time, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Resolves once the host's time is `ms` or later.
    fn sleep_until(&self, ms: u64) -> impl Future<Output = ()> + Send;
    /// Awaits a resource's answer within `limit` (past it: `States.Timeout`); `Err` when the
    /// resource panicked.
    fn answer(
        &self,
        answer: Answer,
        limit: Duration,
    ) -> impl Future<Output = Result<crate::tasks::TaskResult, Panicked>> + Send;
    /// The resources Tasks call.
    fn resources(&self) -> &dyn Resource;
    /// A random stream for a new run.
    fn random(&self) -> Box<dyn FnMut() -> u64 + Send>;
    /// Runs one step; `long`: it may compute for long (JSONata, a Map's items), so a host whose
    /// threads serve other executions too runs it where it starves none of them.
    fn step(&self, long: bool, step: impl FnOnce() -> Action) -> Action {
        let _ = long;
        step()
    }
    /// Where task tokens come from (a host with a token store); `None`: the run makes its own,
    /// which no resource of this host can answer.
    fn token_mint(&self) -> Option<TokenMint> {
        None
    }
    /// The host's clock as a value a resource may keep, so that it can record a Task's events
    /// while it works (`Progress`); `None`: resources record nothing.
    fn clock(&self) -> Option<HostClock> {
        None
    }
}

/// A host's clock a resource may keep: milliseconds since the Unix epoch.
pub type HostClock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// A resource (or a step) panicked.
#[derive(Debug)]
pub struct Panicked;

/// Reached the execution's deadline.
#[derive(Debug)]
pub struct TimedOut;

/// What the runs of one execution attempt share: its journal, its deadline, and whether a panic
/// happened (which is what makes a fire-and-forget execution run again).
pub struct Attempt {
    journal: Mutex<Journal>,
    panicked: AtomicBool,
    deadline: u64,
    /// When the top-level run's Wait ends (host milliseconds), 0 while it is not in one: a
    /// shutdown aborts at once an execution that cannot end before its drain deadline.
    wakes_at: AtomicU64,
}

impl Attempt {
    pub fn new(journal: Journal, deadline: u64) -> Arc<Attempt> {
        Arc::new(Attempt {
            journal: Mutex::new(journal),
            panicked: AtomicBool::new(false),
            deadline,
            wakes_at: AtomicU64::new(0),
        })
    }

    /// Whether the execution sleeps in a top-level Wait that ends after `ms`, so that it
    /// cannot end (or even take its next step) by then.
    pub fn wakes_after(&self, ms: u64) -> bool {
        self.wakes_at.load(Ordering::Relaxed) > ms
    }

    pub fn panicked(&self) -> bool {
        self.panicked.load(Ordering::SeqCst)
    }

    fn journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The events recorded so far (a running execution's history).
    pub fn events(&self) -> Vec<crate::vm::run::HistoryEvent> {
        self.journal().events().to_vec()
    }

    /// Writes the event that ends the execution's history and hands the journal back; `now` is
    /// read only if the journal records.
    pub fn finish(&self, outcome: &Outcome, now: impl FnOnce() -> u64) -> Journal {
        // One lock, not one to read the last event and another to write after it.
        let mut j = self.journal();
        let last = j.last();
        finish_journal(&mut j, outcome, last, now)
    }

    /// Like `finish`, the terminal event linked to event `previous` (a `StopExecution` is caused
    /// by no event of the execution: AWS records its `ExecutionAborted` after event 0).
    pub fn finish_after(
        &self,
        outcome: &Outcome,
        previous: u64,
        now: impl FnOnce() -> u64,
    ) -> Journal {
        finish_journal(&mut self.journal(), outcome, previous, now)
    }
}

/// Writes the terminal event after event `previous` and takes the journal out.
fn finish_journal(
    j: &mut Journal,
    outcome: &Outcome,
    previous: u64,
    now: impl FnOnce() -> u64,
) -> Journal {
    let now = if j.records() { now() } else { 0 };
    j.emit(terminal_kind(outcome), previous, now, || {
        terminal_details(outcome)
    });
    std::mem::take(j)
}

/// The error of an execution that a panic ended: not an ASL error, so no Retry or Catch sees
/// it (`States.Runtime` is terminal), and the cause says what happened.
pub const ENGINE_FAULT: &str = failure::RUNTIME;

/// A run driven to its end: its result, or the execution's deadline.
pub type Driven<'h> =
    Pin<Box<dyn Future<Output = Result<Result<Value, Failure>, TimedOut>> + Send + 'h>>;

/// Drives a run (and, recursively, its children) to its end.
pub fn drive<'h, H: Host + 'h>(host: H, run: Run, attempt: Arc<Attempt>) -> Driven<'h> {
    let run = run
        .with_deadline(attempt.deadline)
        .with_token_mint(host.token_mint());
    drive_from(host, run, attempt, None, false)
}

/// A run after its first step, taken by `begin`: ended in it, or driven on from what it waits
/// for.
pub enum Begun<'h> {
    Ended(Ended),
    Driving(Driven<'h>),
}

/// `drive`, with the run's first steps taken now, by the caller, the first one at `now` (a time
/// the caller has just read: its start's): a run that ends in them (a sync execution of Pass
/// and Choice states, or of Tasks whose answers are ready at once, such as in-process
/// functions', or of a Parallel or Map whose children all do) is never driven by a future of its
/// caller's, so it costs no future's state and no poll there. A Task's call, and a fork's
/// future, are polled once here, with a waker that does nothing: one that is not ready goes on
/// in `drive`'s future, whose poll registers the real waker (a future may be polled with another
/// context each time). A run that waits goes on as `drive` would from there. Call it where
/// `drive`'s future would be polled (the steps run now, not later).
pub fn begin<'h, H: Host + 'h>(host: H, run: Run, attempt: Arc<Attempt>, now: u64) -> Begun<'h> {
    let mut run = run
        .with_deadline(attempt.deadline)
        .with_token_mint(host.token_mint());
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut event = Event::Start;
    // The first step reuses the caller's reading of the clock; the steps after a Task's
    // answer read it again.
    let mut now = Some(now);
    loop {
        let at = now.take().unwrap_or_else(|| host.now_ms());
        let wait = match advance_at(&host, &mut run, &attempt, event, false, at) {
            Err(ended) => return Begun::Ended(ended),
            Ok(wait) => wait,
        };
        event = match wait {
            Wait::Call(mut call, chain) => match call.as_mut().poll(&mut cx) {
                Poll::Ready(result) => task_done(&mut run, &attempt, result, chain),
                Poll::Pending => {
                    let first = Some(Wait::Call(call, chain));
                    return Begun::Driving(drive_from(host, run, attempt, first, false));
                }
            },
            // A fork's children begin in its first poll, and those that end in their first
            // steps end there (parallel4: all of them), so the whole run often ends in it:
            // polled here, such a run never becomes its caller's future to poll.
            Wait::Fork(fork) => {
                let first = Some(Wait::Fork(fork));
                let mut driven = drive_from(host, run, attempt, first, false);
                return match driven.as_mut().poll(&mut cx) {
                    Poll::Ready(ended) => Begun::Ended(ended),
                    Poll::Pending => Begun::Driving(driven),
                };
            }
            wait => return Begun::Driving(drive_from(host, run, attempt, Some(wait), false)),
        };
    }
}

/// The event a Task's answer makes, its run brought to the latest event the Task recorded
/// (`chain`, for one that records while it works).
fn task_done(
    run: &mut Run,
    attempt: &Attempt,
    result: Result<TaskResult, Panicked>,
    chain: Option<Arc<AtomicU64>>,
) -> Event {
    if let Some(chain) = chain {
        run.follow(chain.load(Ordering::SeqCst));
    }
    Event::TaskDone(match result {
        Ok(result) => result,
        Err(Panicked) => Err(panicked(attempt, run.state_name())),
    })
}

/// What a driven run ends with: its result, or the execution's deadline.
pub type Ended = Result<Result<Value, Failure>, TimedOut>;

/// A Task's call, as the driver awaits it.
type Call<'h> = Pin<Box<dyn Future<Output = Result<TaskResult, Panicked>> + Send + 'h>>;

/// Drives `run` to its end from `first`, what its latest step (taken by the caller) waits for,
/// or from its start; `long`: every step may compute for long, whatever the run's block (a
/// child of a large fork, see `LONG_FORK`).
fn drive_from<'h, H: Host + 'h>(
    host: H,
    mut run: Run,
    attempt: Arc<Attempt>,
    mut first: Option<Wait<Call<'h>>>,
    long: bool,
) -> Driven<'h> {
    // `run` is used as captured, not bound again inside: a `Run` moved into the future and
    // bound there would be kept twice in its state (about 480 bytes more per execution).
    Box::pin(async move {
        let mut event = Event::Start;
        loop {
            // The step's action becomes what to await in `advance`, before anything is
            // awaited, so that it is not part of a suspended execution's state.
            let wait = match first.take() {
                Some(wait) => wait,
                None => match advance(&host, &mut run, &attempt, event, long) {
                    Ok(wait) => wait,
                    Err(ended) => return ended,
                },
            };
            event = match wait {
                Wait::Until(until_ms) => {
                    let top = run.is_top();
                    if top {
                        attempt.wakes_at.store(until_ms, Ordering::Relaxed);
                    }
                    host.sleep_until(until_ms).await;
                    if top {
                        attempt.wakes_at.store(0, Ordering::Relaxed);
                    }
                    Event::Woke
                }
                Wait::Call(call, chain) => {
                    let result = call.await;
                    task_done(&mut run, &attempt, result, chain)
                }
                Wait::Fork(fork) => {
                    // The children borrow the run (which selects a Map's items as they start).
                    let children = Box::pin(children(host.clone(), &attempt, &mut run, *fork));
                    match children.await? {
                        Ok(results) => Event::ChildrenDone(results),
                        Err(f) => Event::ChildrenFailed(f),
                    }
                }
            };
        }
    })
}

/// Steps `run` with `event` and makes its action what to await; `Err`: the run ended (its
/// result, or the deadline, which is checked first). The step is long (`Host::step`) when
/// `long` or when the run's block may compute for long.
fn advance<'h, H: Host + 'h>(
    host: &H,
    run: &mut Run,
    attempt: &Arc<Attempt>,
    event: Event,
    long: bool,
) -> Result<Wait<Call<'h>>, Ended> {
    advance_at(host, run, attempt, event, long, host.now_ms())
}

/// `advance` as of `now`, a time the caller has just read (a fork beginning its children in
/// one go reads the clock once for several of them: `CLOCK_READS_PER`).
fn advance_at<'h, H: Host + 'h>(
    host: &H,
    run: &mut Run,
    attempt: &Arc<Attempt>,
    event: Event,
    long: bool,
    now: u64,
) -> Result<Wait<Call<'h>>, Ended> {
    if now >= attempt.deadline {
        return Err(Err(TimedOut));
    }
    // The call and the fork are boxed so that a suspended execution's state stays small
    // (inline, a call is about 700 bytes): see benches/memory.rs.
    Ok(
        match host.step(long || run.may_run_long(), || {
            step(run, attempt, event, now)
        }) {
            // The deadline reached inside the step (a long JSONata evaluation).
            Action::Done(Err(f)) if f.is_deadline() => return Err(Err(TimedOut)),
            Action::Done(result) => return Err(Ok(result)),
            Action::Sleep { until_ms } => Wait::Until(until_ms.min(attempt.deadline)),
            Action::Invoke(mut inv) => {
                // A Task answered through a token records events while it waits.
                let clock = takes_token(&inv.resource).then(|| host.clock()).flatten();
                let chain = clock.map(|clock| {
                    let chain = Arc::new(AtomicU64::new(run.last_event()));
                    inv.progress = progress(attempt.clone(), chain.clone(), clock);
                    chain
                });
                let call: Call<'h> = Box::pin(call(host.clone(), inv, attempt.clone(), now));
                Wait::Call(call, chain)
            }
            Action::Fork(fork) => Wait::Fork(Box::new(fork)),
        },
    )
}

/// What a run's driver awaits: a time, a task's call (with the latest event it recorded, for
/// a Task that records while it works), or child runs.
enum Wait<C> {
    Until(u64),
    Call(C, Option<Arc<AtomicU64>>),
    Fork(Box<Fork>),
}

/// A Task's `Progress`: its events follow one another from the Task's latest, in the
/// execution's journal, stamped with the host's clock.
fn progress(attempt: Arc<Attempt>, chain: Arc<AtomicU64>, clock: HostClock) -> Progress {
    Progress::new(move |kind, details| {
        let mut journal = attempt.journal();
        let id = journal.emit(kind, chain.load(Ordering::SeqCst), clock(), || details);
        chain.store(id, Ordering::SeqCst);
    })
}

/// Resumes a run with `event`; a panic in the step becomes the execution's failure.
fn step(run: &mut Run, attempt: &Attempt, event: Event, now: u64) -> Action {
    let stepped = std::panic::catch_unwind(AssertUnwindSafe(|| {
        run.resume(event, now, &mut attempt.journal())
    }));
    stepped.unwrap_or_else(|_| {
        attempt.panicked.store(true, Ordering::SeqCst);
        Action::Done(Err(Failure::new(
            ENGINE_FAULT,
            "statejet engine fault: a step of this execution panicked",
        )))
    })
}

/// Calls a Task's resource within the sooner of the Task's timeout and the execution's
/// deadline: the first gives the task `States.Timeout` (which Retry and Catch see), the second
/// ends the execution. A panic of the resource is `Err(Panicked)` (the caller names the state).
async fn call<H: Host>(
    host: H,
    inv: Box<Invocation>,
    attempt: Arc<Attempt>,
    started: u64,
) -> Result<TaskResult, Panicked> {
    let to_deadline = attempt.deadline.saturating_sub(started);
    let task_ms = match inv.timed_by_resource() {
        true => None,
        false => inv.timeout_seconds.map(|t| t.saturating_mul(1000)),
    };
    let limit = Duration::from_millis(task_ms.map_or(to_deadline, |t| t.min(to_deadline)));
    let answer = std::panic::catch_unwind(AssertUnwindSafe(|| host.resources().call(*inv, limit)));
    let result = match answer {
        Ok(answer) => host.answer(answer, limit).await,
        Err(_) => Err(Panicked),
    };
    // Past the deadline, the drive loop ends the execution before it sees this result; the
    // clock is read here only for a Task with a timeout.
    if let Some(t) = task_ms {
        if host.now_ms().saturating_sub(started) >= t {
            return Ok(Err(Failure::new(failure::TIMEOUT, "")));
        }
    }
    result
}

fn panicked(attempt: &Attempt, state: &str) -> Failure {
    attempt.panicked.store(true, Ordering::SeqCst);
    Failure::new(
        ENGINE_FAULT,
        format!("the handler of state '{state}' panicked"),
    )
}

/// Drives a fork's child runs, at most `max_concurrency` at a time, and returns their results
/// in child order. More than `max_failures` failures end the fork at once, whichever child
/// fails and whatever the others are doing: the others are stopped and only the children that
/// ended are reported. A Map's item is selected (by `run`) only as its iteration starts, and the
/// results are measured as they arrive: past the payload limit, or when a selection fails, the
/// fork ends with that failure. So a fork holds at most `max_concurrency` inputs and about the
/// payload limit of results, whatever its item count.
///
/// Children begin in child order, each with its first step taken here: one that ends in it (a
/// Map iteration of Pass states) costs no future of its own; one that waits is driven on among
/// the running ones, polled once as it begins, so its events come in the order they would if
/// every child were a future from the start.
fn children<'r, H: Host + 'r>(
    host: H,
    attempt: &Arc<Attempt>,
    run: &'r mut Run,
    fork: Fork,
) -> impl Future<Output = Result<Result<Vec<Result<Value, Failure>>, Failure>, TimedOut>> + Send + 'r
{
    let limit = match fork.max_concurrency {
        0 => usize::MAX,
        n => n,
    };
    // The state's name is copied only for a Map's frame; a fork that passes the payload
    // limit reads it from the run, which it still holds.
    let frame = fork.iterations.then(|| Frame {
        map: run.state_name().to_owned(),
        origin: run.last_event(),
    });
    let max_failures = fork.max_failures;
    let count = fork.children.len();
    let long = count > LONG_FORK;
    // The random streams are taken up front, in child order, as when the runs were made up
    // front: a seeded host gives every child the same stream whatever the order they start in.
    let mut randoms: Vec<_> = (0..count).map(|_| Some(host.random())).collect();
    let (mut ready, mut items, block) = match fork.children {
        Children::Ready(c) => (c.into_iter(), Vec::new(), None),
        Children::Items { block, items } => (Vec::new().into_iter(), items, Some(block)),
    };
    let attempt = attempt.clone();
    async move {
        // A child's input (a Map's item selected) as it is started; its run is made only as it
        // begins, so a child waiting its turn holds its input alone, not a run.
        let mut next_child = |run: &mut Run, index: usize| -> Option<Result<Child, Failure>> {
            Some(Ok(match block {
                None => ready.next()?,
                // Each item is started once: its iteration takes it.
                Some(block) => match run.take_item(index, std::mem::take(items.get_mut(index)?)) {
                    Ok(input) => Child { block, input },
                    Err(f) => return Some(Err(f)),
                },
            }))
        };
        let mut results: Vec<Option<Result<Value, Failure>>> = (0..count).map(|_| None).collect();
        // Children started and not begun yet, in child order; children begun that wait.
        let mut fresh = VecDeque::with_capacity(count.min(limit));
        // Made only when a child waits: a fork whose children all end in their first step
        // (Parallel branches of Pass states) costs no queue (an allocation, and its drop).
        let mut running: Option<FuturesUnordered<_>> = None;
        let mut started = 0;
        while started < count.min(limit) {
            // Selecting items is work the deadline bounds too: a fork of many thousand
            // iterations starts them in one go.
            if started % 1024 == 1023 && host.now_ms() >= attempt.deadline {
                return Err(TimedOut);
            }
            match next_child(run, started) {
                Some(Ok(child)) => fresh.push_back((started, child)),
                Some(Err(f)) => return Ok(Err(f)),
                None => break,
            }
            started += 1;
        }
        let mut failures = 0;
        let mut joined = Joined::new();
        // The time read for the children begun since (at most `CLOCK_READS_PER` of them), or
        // `None` after the fork awaited: children begun in one poll share one clock read. A
        // long fork's children each read it, as its first steps may add up to seconds.
        let mut clock: Option<(u64, usize)> = None;
        loop {
            let (index, r) = match fresh.pop_front() {
                Some((index, child)) => {
                    // Made in child order, as the children were started.
                    let Some(random) = randoms[index].take() else {
                        break;
                    };
                    let mut child = run.child(child, random);
                    if let Some(f) = &frame {
                        child.follow(f.started(&host, &attempt, index));
                    }
                    let now = match &mut clock {
                        Some((now, n)) if !long && *n < CLOCK_READS_PER => {
                            *n += 1;
                            *now
                        }
                        _ => clock.insert((host.now_ms(), 1)).0,
                    };
                    match advance_at(&host, &mut child, &attempt, Event::Start, long, now) {
                        Err(ended) => (index, ended),
                        Ok(wait) => {
                            let mut driven =
                                drive_from(host.clone(), child, attempt.clone(), Some(wait), long)
                                    .map(move |r| (index, r));
                            match poll_fn(|cx| Poll::Ready(driven.poll_unpin(cx))).await {
                                Poll::Ready(ended) => ended,
                                Poll::Pending => {
                                    running
                                        .get_or_insert_with(FuturesUnordered::new)
                                        .push(driven);
                                    continue;
                                }
                            }
                        }
                    }
                }
                None => match &mut running {
                    Some(running) => match running.next().await {
                        Some(ended) => {
                            clock = None;
                            ended
                        }
                        None => break,
                    },
                    None => break,
                },
            };
            let r = r?;
            if let Some(f) = &frame {
                f.ended(&host, &attempt, index, &r);
            }
            failures += usize::from(r.is_err());
            joined.add(&r);
            results[index] = Some(r);
            if failures > max_failures {
                // Dropping the others stops them where they are.
                break;
            }
            if joined.passes_limit(&results) {
                return Ok(Err(data_limit_exceeded(run.state_name())));
            }
            if started < count {
                match next_child(run, started) {
                    Some(Ok(child)) => fresh.push_back((started, child)),
                    Some(Err(f)) => return Ok(Err(f)),
                    None => {}
                }
                started += 1;
            }
        }
        Ok(Ok(results.into_iter().flatten().collect()))
    }
}

/// How many children a fork begins, one after another in one poll, on one read of the clock
/// (their first steps' time, and the deadline check): a read costs about 70 instructions, a
/// map100 iteration about 5,000, so 64 of them begin in about a tenth of a millisecond, within
/// the clock's grain (ms), and the deadline is still checked every 64 first steps. Only a fork
/// of at most `LONG_FORK` children shares reads; a larger one's children each read the clock,
/// so that its deadline is checked as often as before (a test clock that ticks per read ends a
/// Map of 100,000 items there).
const CLOCK_READS_PER: usize = 64;

/// The most children a fork runs with their steps as their blocks have them; a larger fork's
/// children step as long ones (`Host::step`). Its children begin one after another in one poll
/// of the fork, so a fork of many short iterations (a Map of 20,000 Pass items: about 100 ms)
/// would hold its thread as a long step does, while a thousand (about 5 ms) are not worth the
/// hand-off, which costs about 220 instructions a step (a fifth of a Pass iteration).
const LONG_FORK: usize = 1000;

/// The length of a fork's results joined into one JSON array, as they arrive. Each result
/// adds its text bound (`Value::text_bound`, which its own size check has mostly computed and
/// its nodes remember), so no result is serialized while the bound stays within the payload
/// limit; once it passes, the results so far are counted exactly and so is every later one:
/// the fork fails only when the exact length passes the limit.
struct Joined {
    /// The brackets, a comma per result (one more than the array has), and the results.
    size: usize,
    exact: bool,
}

impl Joined {
    /// The most the size of the joined results may be: one comma too many is counted.
    const LIMIT: usize = MAX_PAYLOAD_BYTES + 1;

    fn new() -> Joined {
        Joined {
            size: 2,
            exact: false,
        }
    }

    fn add(&mut self, r: &Result<Value, Failure>) {
        self.size += 1 + self.measure(r);
    }

    /// At least the length of `r`'s JSON (exactly, once the bound passed the limit), or the
    /// limit plus one when past it.
    fn measure(&self, r: &Result<Value, Failure>) -> usize {
        let output;
        let v = match r {
            Ok(v) => v,
            Err(f) => {
                output = f.to_output();
                &output
            }
        };
        match self.exact {
            false => (v.text_bound(MAX_PAYLOAD_BYTES))
                .unwrap_or_else(|| json_size_within(v, MAX_PAYLOAD_BYTES)),
            true => json_size_within(v, MAX_PAYLOAD_BYTES),
        }
    }

    /// Whether the results so far, joined, pass the payload limit: a bound past it is made
    /// exact first, by counting the results gathered so far.
    fn passes_limit(&mut self, results: &[Option<Result<Value, Failure>>]) -> bool {
        if self.size > Self::LIMIT && !self.exact {
            self.exact = true;
            self.size = 2;
            for r in results.iter().flatten() {
                self.size += 1 + self.measure(r);
                if self.size > Self::LIMIT {
                    break;
                }
            }
        }
        self.size > Self::LIMIT
    }
}

/// Where a Map's iterations are framed: the Map's name and the event they follow.
struct Frame {
    map: String,
    origin: u64,
}

impl Frame {
    /// Writes iteration `index`'s `MapIterationStarted`; its id is what the iteration's first
    /// event follows. The clock is read only for a journal that records.
    fn started<H: Host>(&self, host: &H, attempt: &Attempt, index: usize) -> u64 {
        let mut j = attempt.journal();
        let now = if j.records() { host.now_ms() } else { 0 };
        let kind = EventType::MapIterationStarted;
        j.map_iteration(kind, &self.map, index, self.origin, now)
    }

    /// Writes iteration `index`'s `MapIterationSucceeded` or `MapIterationFailed`.
    fn ended<H: Host>(
        &self,
        host: &H,
        attempt: &Attempt,
        index: usize,
        r: &Result<Value, Failure>,
    ) {
        let kind = match r {
            Ok(_) => EventType::MapIterationSucceeded,
            Err(_) => EventType::MapIterationFailed,
        };
        let mut j = attempt.journal();
        let last = j.last();
        let now = if j.records() { host.now_ms() } else { 0 };
        j.map_iteration(kind, &self.map, index, last, now);
    }
}
