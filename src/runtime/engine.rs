//! The engine: many executions at once on tokio's work-stealing scheduler, started
//! synchronously (await the result) or fire-and-forget (the result goes to the caller's sink).
//!
//! Lifecycle of an execution:
//! 1. `start`/`start_sync` (Express) and `start_standard` take an admission permit or refuse at
//!    once (`Throttled`): the engine never queues work without bound.
//! 2. A task drives the execution's `Run` with the one driver core (`driver`), the engine
//!    being its host: `Sleep` is a tokio timer (no thread is held), `Invoke` awaits the
//!    resource's answer (a blocking one on tokio's blocking pool), `Fork` drives the children
//!    concurrently (at most `MaxConcurrency` at a time); the execution's deadline (its
//!    `TimeoutSeconds`, at most its type's cap: 5 minutes, or a year) bounds every wait.
//! 3. A panic in a step or a handler is caught. A synchronous or STANDARD execution then fails
//!    with a clear error (at-most-once; exactly-once for STANDARD); an Express fire-and-forget
//!    one is run again from the start, up to `Config::redelivery_attempts` times
//!    (at-least-once).
//! 4. The permit is released when the execution ends; nothing about an Express execution is
//!    kept, a STANDARD one is retained (`executions`) until the bound evicts it.
//!
//! Invariant: every accepted fire-and-forget execution reports exactly one `Outcome`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::value::Value;
use futures::FutureExt;
use tokio::sync::Semaphore;

use super::driver::{self, Attempt, Host, Panicked};
use super::executions::{Conflict, Execution, Executions, NewExecution, Redriven, Started};
use super::logs::{self, Level, LogWriter, LoggingConfiguration};
use super::metrics::Snapshot;
use super::registry::{Logging, Machine, Registry, RegistryError};
use super::Outcome;
use crate::arn::{Identity, Scope};
use crate::asl::MachineType;
use crate::compile::Program;
use crate::tasks::{Answer, Callbacks, Functions, Resource, Router, TaskResult};
pub use crate::tasks::{Handler, ValueHandler};
use crate::vm::context::ExecutionInfo;
use crate::vm::failure::{self, Failure};
use crate::vm::run::{json_text, Action, EventType, HistoryEvent, Journal, Run};

/// Engine settings, with their defaults in one place.
#[derive(Debug, Clone)]
pub struct Config {
    /// Executions (of all machines) that may be in flight at once; past it, starts are refused.
    pub max_in_flight: usize,
    /// State machines that may be registered through the API at once; past it, creates are
    /// refused with `StateMachineLimitExceeded` (AWS's default quota per account and region).
    pub max_state_machines: usize,
    /// Ended STANDARD executions retained (for Describe, List, history); past it the oldest
    /// ended is evicted. Running executions are never evicted.
    pub max_retained_executions: usize,
    /// The most bytes (estimated) the ended STANDARD executions may hold; past it the oldest
    /// ended is evicted. `usize::MAX`: only the count bounds them.
    pub max_retained_bytes: usize,
    /// How many times a fire-and-forget execution whose step panicked is run again.
    pub redelivery_attempts: u32,
    pub region: String,
    pub account: String,
    /// Where execution logs go (state machines log as their `LoggingConfiguration` says).
    pub log_writer: Option<LogWriter>,
    /// The engine's time when it is made, in milliseconds since the Unix epoch (default: the
    /// wall clock's); tests fix it for repeatable timestamps.
    pub epoch_ms: Option<u64>,
}

impl Config {
    /// The region and account of the ARNs the engine makes.
    pub fn scope(&self) -> Scope {
        Scope {
            region: self.region.clone(),
            account: self.account.clone(),
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        let Scope { region, account } = Scope::default();
        Config {
            max_in_flight: 100_000,
            max_state_machines: 10_000,
            max_retained_executions: super::executions::DEFAULT_MAX_RETAINED,
            max_retained_bytes: usize::MAX,
            redelivery_attempts: 3,
            region,
            account,
            log_writer: None,
            epoch_ms: None,
        }
    }
}

/// Why an execution could not be started.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StartError {
    #[error("State Machine Does Not Exist: '{0}'")]
    StateMachineDoesNotExist(String),
    #[error("Rate exceeded: {0} executions are in flight")]
    Throttled(usize),
    #[error("The engine is shutting down")]
    ShuttingDown,
    #[error("Execution Already Exists: '{0}'")]
    ExecutionAlreadyExists(String),
}

/// Admission slots reserved for executions the durable intake is about to pull (one each);
/// dropping them frees what is not used.
pub struct Slots(tokio::sync::OwnedSemaphorePermit);

impl Slots {
    /// How many slots are held.
    pub fn len(&self) -> usize {
        self.0.num_permits()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One of the slots, for one execution; `None` when none is left.
    pub fn take(&mut self) -> Option<Slots> {
        self.0.split(1).map(Slots)
    }
}

/// An execution the durable intake delivers: who it is (the ARN its starter was told is made
/// of these), its input, and how many deliveries came before this one.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub id: String,
    pub name: String,
    pub input: Value,
    pub redeliveries: u32,
    /// Set on a delivery that must not run (the last one JetStream makes): the execution ends
    /// with this failure.
    pub give_up: Option<Failure>,
}

/// How a fire-and-forget execution came: started here, or delivered by the durable intake.
enum Delivery {
    First,
    Intake {
        redeliveries: u32,
        give_up: Option<Failure>,
    },
}

/// How a fire-and-forget execution ended, for the one who started it.
#[derive(Debug, Clone)]
pub struct Ended {
    /// Its ARN (`id`), name, input and state machine.
    pub execution: Arc<ExecutionInfo>,
    pub outcome: Outcome,
    pub start_ms: u64,
    pub stop_ms: u64,
    /// Whether its log lines were written and flushed (always, unless the output failed).
    pub logged: bool,
}

struct Inner {
    config: Config,
    /// The state machines: the one registry (the API reads and changes it too).
    registry: Registry,
    /// The retained executions of STANDARD machines.
    executions: Executions,
    /// What Tasks call: in-process handlers, then the functions file.
    router: Router,
    admission: Arc<Semaphore>,
    /// False once shutdown has begun: no new executions.
    accepting: AtomicBool,
    /// How far shutdown has gone: what running executions end as aborted.
    abort: tokio::sync::watch::Sender<Drain>,
    /// A receiver of `abort` that nobody reads, held so that an execution dropping its own is
    /// never the last one's drop, which wakes the sender's `closed()` waiters (parallel4, when
    /// its forks still awaited: 33 instructions in `notify_waiters` and its lock, per
    /// execution).
    _abort_held: tokio::sync::watch::Receiver<Drain>,
    /// The engine's clock: the wall time at creation plus tokio's monotonic time since, so that
    /// timers and timestamps agree (and tests can pause and advance it).
    epoch: (u64, tokio::time::Instant),
    /// The region and account of the ARNs the engine makes.
    scope: Scope,
    /// Who hears of each nested child's end (`statejet serve`: the live page).
    child_observer: std::sync::OnceLock<super::intake::Observer>,
}

/// The engine. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// An engine that may have gone: what its own parts (the router's nested workflows) hold.
#[derive(Clone)]
pub(super) struct WeakEngine(std::sync::Weak<Inner>);

impl WeakEngine {
    pub(super) fn upgrade(&self) -> Option<Engine> {
        self.0.upgrade().map(|inner| Engine { inner })
    }
}

/// What a synchronous start returns, as `StartSyncExecution` does.
#[derive(Debug, Clone)]
pub struct SyncResult {
    /// Its ARN (`arn()`), name and input: the ARN and the name are made when first read (a
    /// caller that does not read them never makes them).
    pub execution: Arc<ExecutionInfo>,
    pub outcome: Outcome,
    pub start_ms: u64,
    pub stop_ms: u64,
}

/// The rest of a synchronous execution that did not end in its caller's first poll, as the
/// task it becomes (a function of its own so that profiles, and `benches/instructions.sh`, tell
/// it from the caller's part).
async fn waiting_sync<F: Future>(run: std::pin::Pin<Box<F>>) -> F::Output {
    run.await
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Engine {
    /// An engine; `functions` are the Lambda functions of a functions file (may be empty).
    pub fn new(config: Config, functions: Functions) -> Engine {
        let admission = Arc::new(Semaphore::new(config.max_in_flight));
        let scope = config.scope();
        let epoch = (
            config.epoch_ms.unwrap_or_else(now_ms),
            tokio::time::Instant::now(),
        );
        let (abort, _abort_held) = tokio::sync::watch::channel(Drain::Running);
        let engine = Engine {
            inner: Arc::new(Inner {
                router: Router::new(functions.in_scope(scope.clone()))
                    .with_callbacks(Callbacks::default()),
                registry: Registry::new(scope.clone(), config.max_state_machines),
                executions: Executions::new(
                    config.max_retained_executions,
                    config.max_retained_bytes,
                ),
                scope,
                config,
                admission,
                accepting: AtomicBool::new(true),
                abort,
                _abort_held,
                epoch,
                child_observer: std::sync::OnceLock::new(),
            }),
        };
        // The engine's own machines run as nested workflows in it; the router holds it weakly
        // (the engine owns the router).
        let children = super::nested::Children::new(engine.downgrade());
        engine.inner.router.set_nested(Arc::new(children));
        engine
    }

    /// Tells `observer` of the end of each execution started by a `states:startExecution`
    /// task (once; a second call is ignored).
    pub fn observe_children(&self, observer: super::intake::Observer) {
        let _ = self.inner.child_observer.set(observer);
    }

    pub(super) fn child_observer(&self) -> Option<super::intake::Observer> {
        self.inner.child_observer.get().cloned()
    }

    /// A handle that does not keep the engine alive.
    pub(super) fn downgrade(&self) -> WeakEngine {
        WeakEngine(Arc::downgrade(&self.inner))
    }

    /// The region and account of the engine's ARNs.
    pub fn scope(&self) -> &Scope {
        &self.inner.scope
    }

    /// The state machines.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Validates and compiles a definition once and registers it under `name` (replacing any
    /// machine of that name); its executions share the program. Returns its ARN.
    pub fn register_state_machine(
        &self,
        name: &str,
        definition: &str,
        machine_type: MachineType,
    ) -> Result<String, RegistryError> {
        self.register_logged_state_machine(name, definition, machine_type, Default::default())
    }

    /// Like `register_state_machine`, with the machine's `loggingConfiguration`.
    pub fn register_logged_state_machine(
        &self,
        name: &str,
        definition: &str,
        machine_type: MachineType,
        logging: LoggingConfiguration,
    ) -> Result<String, RegistryError> {
        let logging = Logging {
            level: logging.level,
            include_execution_data: logging.include_execution_data,
            destinations: None,
        };
        let now = self.now_ms();
        let m = self
            .inner
            .registry
            .put(name, definition, machine_type, logging, now)?;
        Ok(m.arn.to_string())
    }

    /// The names of the registered state machines, sorted.
    pub fn state_machines(&self) -> Vec<String> {
        self.inner.registry.names()
    }

    /// The task tokens and activities of this engine's Tasks.
    pub fn callbacks(&self) -> &Callbacks {
        self.inner
            .router
            .callbacks()
            .expect("an engine's router answers task tokens")
    }

    /// The functions of the functions file the engine was built with.
    pub fn functions(&self) -> &Functions {
        self.inner.router.functions()
    }

    /// The engine's settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Lets the AWS integrations answer the service integrations (and Lambda functions the
    /// functions file lacks).
    pub fn set_aws(&self, aws: crate::tasks::aws::Aws) {
        self.inner.router.set_aws(aws);
    }

    /// Lets a mock configuration (Step Functions Local's format) answer the Task states of
    /// executions started with a test case.
    pub fn set_mocks(&self, mocks: Arc<crate::tasks::mock::Mocks>) {
        self.inner.router.set_mocks(mocks);
    }

    /// The mock configuration, if one was set.
    pub fn mocks(&self) -> Option<&Arc<crate::tasks::mock::Mocks>> {
        self.inner.router.mocks()
    }

    /// Registers an in-process handler for a Lambda function name or a resource ARN, in
    /// serde_json's type (each call converts the payload and the result; `register_value_handler`
    /// does not).
    pub fn register_handler(&self, key: &str, handler: Handler) {
        self.inner.router.register(key, Arc::new(handler));
    }

    /// Registers an in-process handler in statejet's value type for a Lambda function name or a
    /// resource ARN: it gets the Task's payload itself and its result goes on as it is.
    pub fn register_value_handler(&self, key: &str, handler: ValueHandler) {
        self.inner.router.register(key, Arc::new(handler));
    }

    /// Makes `resource` answer the Tasks that name `key` (a Lambda function name or a resource
    /// ARN).
    pub fn register_resource(&self, key: &str, resource: Arc<dyn Resource>) {
        self.inner.router.register(key, resource);
    }

    /// The engine's time, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.ms_at(tokio::time::Instant::now())
    }

    /// The engine's time at `t` (truncated to the millisecond).
    fn ms_at(&self, t: tokio::time::Instant) -> u64 {
        self.ms_of(self.reading(t))
    }

    /// The engine's clock at `t`, as its time since the engine's start: one subtraction of
    /// instants (about 40 instructions) gives a start's timestamp, its deadline and its
    /// latency's start, and one more its stop time and latency.
    fn reading(&self, t: tokio::time::Instant) -> Reading {
        Reading(t.saturating_duration_since(self.inner.epoch.1))
    }

    /// A reading's time, in milliseconds since the Unix epoch (truncated).
    fn ms_of(&self, r: Reading) -> u64 {
        self.inner.epoch.0 + r.0.as_secs() * 1000 + u64::from(r.0.subsec_millis())
    }

    /// The deadline of an execution that starts at `start` with a limit of `limit_seconds`.
    /// `now_ms` truncates, so the start is rounded up here: the deadline (reached once `now_ms`
    /// is at it) never comes before the whole limit has passed. (In whole seconds and the
    /// nanoseconds past them: no 128-bit division.)
    fn deadline_from(&self, start: Reading, limit_seconds: u64) -> u64 {
        let sub_ms = u64::from(start.0.subsec_nanos()).div_ceil(1_000_000);
        self.inner.epoch.0 + start.0.as_secs() * 1000 + sub_ms + limit_seconds * 1000
    }

    /// A state machine's counters and latencies, if it is registered.
    pub fn metrics(&self, machine: &str) -> Option<Snapshot> {
        self.inner
            .registry
            .get(machine)
            .map(|m| m.metrics.snapshot())
    }

    /// Per-state counts of a machine's executions: `[entered, succeeded, failed, retried]`.
    pub fn state_counts(&self, machine: &str) -> Option<Vec<(String, [u64; 4])>> {
        self.inner.registry.get(machine).map(|m| m.tally.snapshot())
    }

    /// Whether the engine still admits executions (false once shutdown has begun).
    pub fn accepting(&self) -> bool {
        self.inner.accepting.load(Ordering::SeqCst)
    }

    /// How many executions have started and not ended, counted per machine: unlike
    /// `in_flight`, neither a shutdown's drain (which holds admission while it waits) nor the
    /// intake's reserved slots count.
    pub fn running(&self) -> u64 {
        let registry = &self.inner.registry;
        registry
            .names()
            .iter()
            .filter_map(|n| registry.get(n))
            .map(|m| m.metrics.in_flight())
            .sum()
    }

    /// How many executions are in flight.
    pub fn in_flight(&self) -> usize {
        self.inner.config.max_in_flight - self.inner.admission.available_permits()
    }

    /// Graceful shutdown: stops admitting, lets in-flight executions finish for up to `grace`,
    /// then aborts the rest (each ends, and is logged, as `ExecutionAborted`; a command function
    /// it was waiting on is killed). Returns when none is left and every log line is written.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.accepting.store(false, Ordering::SeqCst);
        // What sleeps past the grace period is aborted now rather than with everything else at
        // its end, so that the abort's work (events, log lines) spreads over the grace period
        // instead of piling up in its last part.
        let by = self.now_ms().saturating_add(grace.as_millis() as u64);
        self.inner.abort.send_replace(Drain::Until(by));
        let all = self.inner.config.max_in_flight as u32;
        let drained = tokio::time::timeout(grace, self.inner.admission.acquire_many(all)).await;
        if drained.is_err() {
            self.inner.abort.send_replace(Drain::Abort);
            // Aborted executions end promptly; holding every permit means none is left.
            let _ = self.inner.admission.acquire_many(all).await;
        }
        // Each execution queued its lines before releasing its permit.
        if let Some(w) = &self.inner.config.log_writer {
            w.flush().await;
        }
    }

    /// The machine registered as `machine`.
    fn machine(&self, machine: &str) -> Result<Arc<Machine>, StartError> {
        self.inner
            .registry
            .get(machine)
            .ok_or_else(|| StartError::StateMachineDoesNotExist(machine.to_owned()))
    }

    fn admit(
        &self,
        m: Arc<Machine>,
    ) -> Result<(Arc<Machine>, tokio::sync::OwnedSemaphorePermit), StartError> {
        if !self
            .inner
            .accepting
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StartError::ShuttingDown);
        }
        let permit = match self.inner.admission.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                m.metrics.throttled();
                return Err(StartError::Throttled(self.inner.config.max_in_flight));
            }
        };
        m.metrics.started();
        Ok((m, permit))
    }

    /// A new execution of `m` that starts at `start_ms`, named `name` (else by its UUID), its
    /// ARN and name made when read.
    fn new_execution(
        &self,
        m: &Machine,
        name: Option<String>,
        input: Value,
        sync: bool,
        start_ms: u64,
    ) -> Arc<ExecutionInfo> {
        let identity = Identity::new(m.execution_prefix.clone(), name, random_uuid());
        self.execution(m, identity, input, sync, start_ms)
    }

    fn execution(
        &self,
        m: &Machine,
        identity: Identity,
        input: Value,
        sync: bool,
        start_ms: u64,
    ) -> Arc<ExecutionInfo> {
        Arc::new(ExecutionInfo {
            identity,
            input,
            role_arn: m.role_arn.clone(),
            machine_type: m.machine_type,
            start_ms,
            state_machine_id: m.arn.shared(),
            state_machine_name: m.name.clone(),
            // AWS gives RedriveCount to Standard and asynchronous Express executions only.
            redrive_count: (!sync || m.machine_type == MachineType::Standard).then_some(0),
        })
    }

    /// Runs an execution and waits for its end (at-most-once: a panic fails it).
    pub async fn start_sync(
        &self,
        machine: &str,
        name: Option<String>,
        input: Value,
    ) -> Result<SyncResult, StartError> {
        let m = self.machine(machine)?;
        self.start_sync_of(m, name, input).await
    }

    /// `start_sync` of a given revision or version of a machine.
    pub async fn start_sync_of(
        &self,
        m: Arc<Machine>,
        name: Option<String>,
        input: Value,
    ) -> Result<SyncResult, StartError> {
        let (m, permit) = self.admit(m)?;
        // A synchronous execution runs once (a panic fails it), so when no state reads the
        // input from the Context Object, the run takes the input itself: no copy is kept.
        let (input, run_input) = match m.program.reads_execution_input() {
            true => (input, None),
            false => (Value::Null, Some(input)),
        };
        // One clock read for the start time, the deadline, the first step's time and the
        // latency's start; one for the stop time and the latency's end.
        let began = self.reading(tokio::time::Instant::now());
        let start_ms = self.ms_of(began);
        let execution = self.new_execution(&m, name, input, true, start_ms);
        // The caller's reference: the result hands it on, so that its ARN and name are made
        // only if the caller reads them.
        let info = execution.clone();
        // The attempt and its first steps, here in the caller's task (a panic outside the
        // driver's own catch is an engine fault, as in `drive_sync_on`'s poll). Most synchronous
        // executions (Pass, Choice, Tasks answered at once, forks of those) end in those steps;
        // one that logs nothing then ends here, with no future made, boxed or polled.
        let begun = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let (attempt, logging) =
                self.attempt_of(&m, &execution, run_input, &Delivery::First, began);
            match (attempt, logging) {
                (Err((outcome, _, _)), None) => {
                    let stop_ms = self.ended_sync(&m, &outcome, began);
                    Ok((outcome, stop_ms))
                }
                (attempt, logging) => Err((attempt.map_err(Box::new), logging)),
            }
        }));
        let ended = match begun {
            Ok(Ok(ended)) => {
                drop(permit);
                Ok(ended)
            }
            Ok(Err((attempt, logging))) => {
                self.drive_sync_on(m, execution, attempt, logging, permit, began)
                    .await
            }
            Err(_) => Err(()),
        };
        let (outcome, stop_ms) = ended.unwrap_or_else(|()| {
            // The driver catches panics of steps and handlers; only a fault past it (or the
            // runtime going away) ends here.
            let outcome = Outcome {
                status: super::Status::Failed,
                output: None,
                failure: Some(Failure::new(
                    super::driver::ENGINE_FAULT,
                    "statejet engine fault: the execution's driver stopped",
                )),
            };
            (outcome, self.now_ms())
        });
        Ok(SyncResult {
            execution: info,
            outcome,
            start_ms,
            stop_ms,
        })
    }

    /// A synchronous execution that started at `began` ended with `outcome`: counted, with its
    /// latency, and its stop time (one clock read for both).
    fn ended_sync(&self, m: &Machine, outcome: &Outcome, began: Reading) -> u64 {
        let stopped = self.reading(tokio::time::Instant::now());
        let latency = stopped.0.saturating_sub(began.0);
        m.metrics.ended(outcome.status, latency.as_micros() as u64);
        self.ms_of(stopped)
    }

    /// The rest of a synchronous execution whose first step `start_sync_of` took: driven to
    /// its end, logged and counted. It is polled first here, in the caller's task (most that
    /// get here end in that poll: an in-process function's answer, or a log line written at
    /// once); one that waits becomes a task of its own, so that a caller that goes away (a
    /// dropped connection) drops only its wait, and the execution still runs to its end, is
    /// logged and counted. (A future may be polled again with another context: the task's poll
    /// registers the task's waker.) `Err`: an engine fault (a panic past the driver's catch).
    ///
    /// Not an `async fn`: the execution's future is made and boxed here, so that the future
    /// returned (which `start_sync_of`'s holds) keeps only its box, not the arguments and the
    /// unboxed future besides, and moves as such (parallel4 moved ~400 bytes several times).
    fn drive_sync_on(
        &self,
        m: Arc<Machine>,
        execution: Arc<ExecutionInfo>,
        attempt: Settled,
        logging: Option<LoggingConfiguration>,
        permit: tokio::sync::OwnedSemaphorePermit,
        began: Reading,
    ) -> impl Future<Output = Result<(Outcome, u64), ()>> + Send + 'static {
        let engine = self.clone();
        let mut run = Box::pin(async move {
            let (outcome, log, _) = engine
                .ended_attempt(execution, attempt, &Delivery::First, logging)
                .await;
            engine.write_log(&m, log).await;
            let stop_ms = engine.ended_sync(&m, &outcome, began);
            drop(permit);
            (outcome, stop_ms)
        });
        async move {
            let first = std::future::poll_fn(|cx| {
                Poll::Ready(std::panic::catch_unwind(AssertUnwindSafe(|| {
                    run.as_mut().poll(cx)
                })))
            })
            .await;
            match first {
                Ok(Poll::Ready(r)) => Ok(r),
                Ok(Poll::Pending) => tokio::spawn(waiting_sync(run)).await.map_err(drop),
                Err(_) => Err(()),
            }
        }
    }

    /// Starts an execution and returns its ARN at once; `done` receives its outcome
    /// (at-least-once: a panicking execution runs again from the start).
    pub fn start(
        &self,
        machine: &str,
        name: Option<String>,
        input: Value,
        done: impl FnOnce(String, Outcome) + Send + 'static,
    ) -> Result<String, StartError> {
        let m = self.machine(machine)?;
        self.start_of(m, name, input, done)
    }

    /// `start` of a given revision or version of a machine.
    pub fn start_of(
        &self,
        m: Arc<Machine>,
        name: Option<String>,
        input: Value,
        done: impl FnOnce(String, Outcome) + Send + 'static,
    ) -> Result<String, StartError> {
        let (m, permit) = self.admit(m)?;
        let execution = self.new_execution(&m, name, input, false, self.now_ms());
        let arn = execution.arn().to_owned();
        self.spawn_fire_and_forget(m, permit, execution, Delivery::First, move |ended| {
            done(ended.execution.arn().to_owned(), ended.outcome)
        });
        Ok(arn)
    }

    /// Waits for room in admission and reserves it: at least one slot and at most `most`, as
    /// many as are free. The durable intake pulls only as many messages as it holds slots.
    pub async fn reserve(&self, most: usize) -> Result<Slots, StartError> {
        if !self.inner.accepting.load(Ordering::SeqCst) {
            return Err(StartError::ShuttingDown);
        }
        let mut permit = self
            .inner
            .admission
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StartError::ShuttingDown)?;
        let more = self
            .inner
            .admission
            .available_permits()
            .min(most.max(1) - 1);
        if let Ok(p) = self
            .inner
            .admission
            .clone()
            .try_acquire_many_owned(more as u32)
        {
            permit.merge(p);
        }
        if !self.inner.accepting.load(Ordering::SeqCst) {
            return Err(StartError::ShuttingDown);
        }
        Ok(Slots(permit))
    }

    /// Starts a fire-and-forget execution delivered by the durable intake in a slot reserved
    /// with `reserve`, under the given id and name (the ARN its starter was told). `done` is
    /// called once its terminal log event is written and flushed (`Ended::logged` says whether
    /// that worked); a delivery with `give_up` runs nothing and ends with that failure.
    pub fn start_delivered(
        &self,
        slot: Slots,
        machine: &str,
        delivered: Delivered,
        done: impl FnOnce(Ended) + Send + 'static,
    ) -> Result<String, StartError> {
        let m = self
            .inner
            .registry
            .get(machine)
            .ok_or_else(|| StartError::StateMachineDoesNotExist(machine.to_owned()))?;
        if !self.inner.accepting.load(Ordering::SeqCst) {
            return Err(StartError::ShuttingDown);
        }
        m.metrics.started();
        if delivered.redeliveries > 0 {
            m.metrics.redelivered();
        }
        let arn =
            self.inner
                .scope
                .execution(m.machine_type, &m.name, &delivered.name, &delivered.id);
        let identity = Identity::given(arn.clone(), delivered.name);
        let execution = self.execution(&m, identity, delivered.input, false, self.now_ms());
        let delivery = Delivery::Intake {
            redeliveries: delivered.redeliveries,
            give_up: delivered.give_up,
        };
        self.spawn_fire_and_forget(m, slot.0, execution, delivery, done);
        Ok(arn)
    }

    /// The task of one fire-and-forget execution: drives it (again after a panic, up to
    /// `redelivery_attempts` times), writes its log, counts it, reports it, then frees its slot.
    fn spawn_fire_and_forget(
        &self,
        m: Arc<Machine>,
        permit: tokio::sync::OwnedSemaphorePermit,
        execution: Arc<ExecutionInfo>,
        delivery: Delivery,
        done: impl FnOnce(Ended) + Send + 'static,
    ) {
        let engine = self.clone();
        let start_ms = self.now_ms();
        tokio::spawn(async move {
            let attempts = engine.inner.config.redelivery_attempts + 1;
            let began = tokio::time::Instant::now();
            let mut attempt = 0;
            // Nothing of an attempt's result is kept across the next one's awaits, which keeps
            // a suspended execution's state small.
            let (outcome, log) = loop {
                if attempt > 0 {
                    m.metrics.redelivered();
                }
                let (o, log, panicked) = engine
                    .drive_execution_of(
                        &m,
                        execution.clone(),
                        None,
                        &delivery,
                        engine.reading(tokio::time::Instant::now()),
                    )
                    .await;
                attempt += 1;
                // Only a panic is redelivered: an ASL failure would fail the same way again.
                if !panicked || attempt == attempts {
                    break (o, log);
                }
            };
            // Only the attempt that counts is logged: one terminal event per execution.
            let logged = match (&delivery, &engine.inner.config.log_writer) {
                (Delivery::Intake { .. }, Some(w)) => {
                    w.write_flushed(m.logging.log_group(), log).await
                }
                (Delivery::Intake { .. }, None) => true,
                (Delivery::First, _) => {
                    engine.write_log(&m, log).await;
                    true
                }
            };
            m.metrics
                .ended(outcome.status, began.elapsed().as_micros() as u64);
            // Report before releasing the permit: when shutdown returns, every callback has run.
            done(Ended {
                execution,
                outcome,
                start_ms,
                stop_ms: engine.now_ms(),
                logged,
            });
            drop(permit);
        });
    }

    /// Drives one execution to its end within its deadline; with its log lines if its machine
    /// logs. `input` is the execution's input given apart (`Some`) when `execution` keeps none
    /// (`Value::Null`) because no state reads it from the Context Object. Its deadline counts
    /// from `started`.
    ///
    /// Not an `async fn`, nor is `run`: the run is made and boxed before the future is, so that
    /// a suspended execution's future keeps neither the input nor the journal it was made from
    /// (an async fn keeps its arguments in its state until it ends).
    fn drive_execution_of<'a>(
        &'a self,
        m: &'a Machine,
        execution: Arc<ExecutionInfo>,
        input: Option<Value>,
        delivery: &'a Delivery,
        started: Reading,
    ) -> impl Future<Output = (Outcome, Vec<String>, bool)> + Send + 'a {
        let (attempt, logging) = self.attempt_of(m, &execution, input, delivery, started);
        // An ended attempt is boxed, which keeps a suspended execution's future small (an
        // ended result inline is ~100 B).
        self.ended_attempt(execution, attempt.map_err(Box::new), delivery, logging)
    }

    /// `drive_execution_of`'s synchronous part: the attempt, its first step taken (or given
    /// up), and the machine's logging configuration when it logs.
    fn attempt_of(
        &self,
        m: &Machine,
        execution: &Arc<ExecutionInfo>,
        input: Option<Value>,
        delivery: &Delivery,
        started: Reading,
    ) -> (Result<GoingOn, AttemptEnd>, Option<LoggingConfiguration>) {
        let config = m.logging.configuration();
        let logging = self.inner.config.log_writer.is_some() && config.level != Level::Off;
        let start_ms = self.ms_of(started);
        let journal = if logging {
            let input = input.as_ref().unwrap_or(&execution.input);
            Journal::recording_input(execution, input, start_ms, logs::filter(config.level))
        } else {
            Journal::started()
        };
        let attempt = match delivery {
            Delivery::Intake {
                give_up: Some(failure),
                ..
            } => {
                let outcome = Outcome {
                    status: super::Status::Failed,
                    output: None,
                    failure: Some(failure.clone()),
                };
                let journal = Attempt::new(journal, 0).finish(&outcome, || self.now_ms());
                Err((outcome, journal, false))
            }
            _ => self.driving(
                m.program.clone(),
                self.deadline_from(started, m.time_limit_seconds()),
                start_ms,
                execution.clone(),
                input,
                journal.with_tally(m.tally.clone()),
            ),
        };
        (attempt, logging.then_some(config))
    }

    /// `drive_execution_of`'s future: the attempt driven (or given up) and its log lines made
    /// (with `logging`, the machine's logging configuration when it logs).
    async fn ended_attempt(
        &self,
        execution: Arc<ExecutionInfo>,
        attempt: Settled,
        delivery: &Delivery,
        logging: Option<LoggingConfiguration>,
    ) -> (Outcome, Vec<String>, bool) {
        let (outcome, journal, panicked) = match attempt {
            Ok(going_on) => self.drive_to_end(going_on).await,
            Err(ended) => *ended,
        };
        let mut lines = Vec::new();
        if let Some(config) = logging {
            let redrive = execution.redrive_count.unwrap_or(0);
            let redeliveries = match delivery {
                Delivery::Intake { redeliveries, .. } => *redeliveries,
                Delivery::First => 0,
            };
            lines = logs::events(journal.events(), execution.arn(), redrive, config)
                .into_iter()
                .map(|mut e| {
                    logs::mark_redelivered(&mut e, redeliveries);
                    json_text(&e)
                })
                .collect();
        }
        (outcome, lines, panicked)
    }

    /// Drives one execution of `program` to its end (or, at shutdown, its abort) on this engine,
    /// writing to `journal`; and whether a step or a resource panicked. Its first step is
    /// taken when it is called (`driving`), not when its future is first polled.
    fn run(
        &self,
        program: Arc<Program>,
        limit_seconds: u64,
        execution: Arc<ExecutionInfo>,
        input: Option<Value>,
        journal: Journal,
    ) -> impl Future<Output = (Outcome, Journal, bool)> + Send + '_ {
        let now = self.reading(tokio::time::Instant::now());
        let deadline = self.deadline_from(now, limit_seconds);
        match self.driving(
            program,
            deadline,
            self.ms_of(now),
            execution,
            input,
            journal,
        ) {
            Err(ended) => futures::future::Either::Left(std::future::ready(ended)),
            Ok(going_on) => futures::future::Either::Right(self.drive_to_end(going_on)),
        }
    }

    /// An attempt of one execution of `program` (until `deadline`), its first steps taken now
    /// (`driver::begin`), the first at `now_ms`: ended in them (`Err`: its outcome, journal,
    /// and whether a step panicked; nothing to await, nothing a shutdown could abort), or going
    /// on, its run boxed to be driven. Call it where the execution is to run, inside the future
    /// that drives it, as every caller here does. The ended attempt is not boxed: most
    /// synchronous executions end so, and it is taken apart at once (`start_sync_of`).
    #[allow(clippy::result_large_err)]
    fn driving(
        &self,
        program: Arc<Program>,
        deadline: u64,
        now_ms: u64,
        execution: Arc<ExecutionInfo>,
        input: Option<Value>,
        journal: Journal,
    ) -> Result<GoingOn, AttemptEnd> {
        let attempt = Attempt::new(journal, deadline);
        let run = match input {
            Some(input) => Run::top_with(program, execution, input, self.random()),
            None => Run::top(program, execution, self.random()),
        };
        match driver::begin(self.clone(), run, attempt.clone(), now_ms) {
            driver::Begun::Ended(ended) => Err(self.finished(&attempt, Outcome::of(ended.ok()))),
            driver::Begun::Driving(driven) => Ok((driven, attempt)),
        }
    }

    /// Drives an attempt that did not end in its first step to its end (or, at shutdown, its
    /// abort): its outcome, journal, and whether a step or a resource panicked.
    async fn drive_to_end(&self, going_on: GoingOn) -> AttemptEnd {
        let (driven, attempt) = going_on;
        let mut abort = self.inner.abort.subscribe();
        // The run first: `select!` then draws no random branch order.
        let outcome = tokio::select! {
            biased;
            driven = driven => Outcome::of(driven.ok()),
            _ = abort.wait_for(|drain| drain.aborts(&attempt)) => shutdown_abort(),
        };
        self.finished(&attempt, outcome)
    }

    /// The end of an attempt with `outcome`: its journal finished, and whether a step or a
    /// resource panicked.
    fn finished(&self, attempt: &Attempt, outcome: Outcome) -> AttemptEnd {
        let journal = attempt.finish(&outcome, || self.now_ms());
        (outcome, journal, attempt.panicked())
    }

    /// Starts an execution of a STANDARD machine (`m`: the revision or version it runs) and
    /// retains it; `done` is called once it has ended and is retained as ended. Exactly once: a
    /// panicking step or handler fails it, nothing is run again. The same name and input of a
    /// running execution answers that execution (`Started::Again`), as AWS does.
    pub fn start_standard(
        &self,
        m: Arc<Machine>,
        start: StandardStart,
        done: impl FnOnce(&Execution) + Send + 'static,
    ) -> Result<Started, StartError> {
        if !self.inner.accepting.load(Ordering::SeqCst) {
            return Err(StartError::ShuttingDown);
        }
        let name = start.name.unwrap_or_else(new_uuid);
        let arn = self
            .inner
            .scope
            .execution(MachineType::Standard, &m.name, &name, "");
        let start_ms = self.now_ms();
        let new = NewExecution {
            arn,
            name,
            machine: m.clone(),
            version_arn: start.version_arn,
            alias_arn: start.alias_arn,
            input: start.input,
            input_text: start.input_text,
            start_ms,
        };
        let e = match self.inner.executions.start(new) {
            Ok(Started::New(e)) => e,
            Ok(again) => return Ok(again),
            Err(Conflict::AlreadyExists(arn)) => {
                return Err(StartError::ExecutionAlreadyExists(arn))
            }
        };
        let permit = match self.inner.admission.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                self.inner.executions.forget(&e);
                m.metrics.throttled();
                return Err(StartError::Throttled(self.inner.config.max_in_flight));
            }
        };
        m.metrics.started();
        let info = Arc::new(ExecutionInfo {
            identity: Identity::given(e.arn.clone(), e.name.clone()),
            input: e.input.clone(),
            role_arn: m.role_arn.clone(),
            machine_type: m.machine_type,
            start_ms,
            state_machine_id: m.arn.shared(),
            state_machine_name: m.name.clone(),
            redrive_count: Some(0),
        });
        let mut journal = Journal::recording(&info, start_ms).keeping_variables();
        if let Some(v) = &e.version_arn {
            journal.note_started("stateMachineVersionArn", v);
        }
        if let Some(a) = &e.alias_arn {
            journal.note_started("stateMachineAliasArn", a);
        }
        let run = Run::top(m.program.clone(), info.clone(), self.random());
        self.spawn_standard(Standard {
            e: e.clone(),
            m,
            info,
            journal,
            run,
            start_ms,
            logged_from: 0,
            permit,
            done: Box::new(done),
        });
        Ok(Started::New(e))
    }

    /// Redrives an ended STANDARD execution at `now` (AWS's `RedriveExecution`): it runs
    /// again from its latest top-level state that did not exit (with that state's input and
    /// the variables as they were), its history goes on after an `ExecutionRedriven` event,
    /// and its `redriveCount` grows by one. A Parallel or Map state is re-run whole. A
    /// `client_token` of one of its recent redrives answers that redrive again. `done` is
    /// called once it has ended again.
    pub fn redrive_standard(
        &self,
        e: &Arc<Execution>,
        client_token: Option<&str>,
        done: impl FnOnce(&Execution) + Send + 'static,
    ) -> Result<u64, RedriveError> {
        if !self.inner.accepting.load(Ordering::SeqCst) {
            return Err(RedriveError::ShuttingDown);
        }
        let m = e.machine.clone();
        let permit = self
            .inner
            .admission
            .clone()
            .try_acquire_owned()
            .map_err(|_| RedriveError::ExecutionLimitExceeded(self.inner.config.max_in_flight));
        let now = self.now_ms();
        // Checked first: the client token of a recent redrive answers it again even when
        // admission is full.
        let permit = match (permit, client_token) {
            (Ok(p), _) => p,
            (Err(limit), Some(t)) => {
                return match self.inner.executions.redrive_again(e, now, t) {
                    Some(at) => Ok(at),
                    None => Err(limit),
                }
            }
            (Err(limit), None) => return Err(limit),
        };
        let r = match self.inner.executions.redrive(e, now, client_token) {
            Ok(Redriven::New(r)) => r,
            Ok(Redriven::Again { redrive_ms }) => return Ok(redrive_ms),
            Err(why) => return Err(RedriveError::NotRedrivable(why)),
        };
        m.metrics.started();
        let info = Arc::new(ExecutionInfo {
            identity: Identity::given(e.arn.clone(), e.name.clone()),
            input: e.input.clone(),
            role_arn: m.role_arn.clone(),
            machine_type: m.machine_type,
            start_ms: e.start_ms,
            state_machine_id: m.arn.shared(),
            state_machine_name: m.name.clone(),
            redrive_count: Some(r.count),
        });
        let resume = redrive_point(&m.program, &r.history);
        let mut journal = Journal::resumed(r.history);
        let logged_from = journal.last();
        let count = r.count;
        let redriven = journal.emit(
            EventType::ExecutionRedriven,
            logged_from,
            now,
            || serde_json::json!({ "redriveCount": count }),
        );
        let random = self.random();
        let run = match resume {
            Some((state, input)) => Run::redriven(
                m.program.clone(),
                info.clone(),
                &state,
                input,
                r.variables,
                redriven,
                random,
            ),
            None => None,
        };
        // No top-level state was entered (or its name is gone): from the start.
        let run = run.unwrap_or_else(|| {
            let mut run = Run::top(m.program.clone(), info.clone(), self.random());
            run.follow(redriven);
            run
        });
        self.spawn_standard(Standard {
            e: e.clone(),
            m,
            info,
            journal,
            run,
            start_ms: now,
            logged_from,
            permit,
            done: Box::new(done),
        });
        Ok(r.redrive_ms)
    }

    /// The task of one STANDARD execution (a start or a redrive): drives its run within its
    /// deadline (counted from `start_ms`) until it ends, is stopped, or the engine shuts
    /// down; writes its log (the events after `logged_from`), counts it, records its end.
    fn spawn_standard(&self, s: Standard) {
        let engine = self.clone();
        tokio::spawn(async move {
            let Standard {
                e,
                m,
                info,
                journal,
                run,
                start_ms,
                logged_from,
                permit,
                done,
            } = s;
            let began = tokio::time::Instant::now();
            let journal = journal.with_tally(m.tally.clone());
            let deadline = start_ms + m.time_limit_seconds() * 1000;
            let attempt = Attempt::new(journal, deadline);
            e.running(attempt.clone());
            let mut abort = engine.inner.abort.subscribe();
            let (outcome, stopped) = tokio::select! {
                driven = driver::drive(engine.clone(), run, attempt.clone()) => (Outcome::of(driven.ok()), false),
                _ = abort.wait_for(|drain| drain.aborts(&attempt)) => (shutdown_abort(), false),
                (error, cause) = e.stopped() => (stopped_outcome(error, cause), true),
            };
            let mut journal = if stopped {
                attempt.finish_after(&outcome, 0, || engine.now_ms())
            } else {
                attempt.finish(&outcome, || engine.now_ms())
            };
            let config = m.logging.configuration();
            if engine.inner.config.log_writer.is_some() && config.level != Level::Off {
                let redrive = info.redrive_count.unwrap_or(0);
                let new = journal
                    .events()
                    .iter()
                    .position(|ev| ev.id > logged_from)
                    .unwrap_or(journal.events().len());
                let lines = logs::events(&journal.events()[new..], info.arn(), redrive, config)
                    .iter()
                    .map(json_text)
                    .collect();
                engine.write_log(&m, lines).await;
            }
            let stop_ms = engine.now_ms();
            m.metrics
                .ended(outcome.status, began.elapsed().as_micros() as u64);
            let variables = journal.take_variables();
            let events = journal.take_events();
            engine
                .inner
                .executions
                .end(&e, outcome, stop_ms, events, variables);
            done(&e);
            drop(permit);
        });
    }

    /// The retained executions of STANDARD machines.
    pub fn executions(&self) -> &Executions {
        &self.inner.executions
    }

    /// Runs one execution of a compiled program outside the registry (no admission, metrics or
    /// logs) and returns its outcome and history: the data-driven run cases run on this driver
    /// this way, as they do on the sequential one.
    pub async fn execute_recorded(
        &self,
        program: Arc<Program>,
        execution: Arc<ExecutionInfo>,
    ) -> (Outcome, Vec<HistoryEvent>) {
        let journal = Journal::recording(&execution, self.now_ms());
        let limit = super::time_limit_seconds(&program, &execution);
        let (outcome, journal, _) = self.run(program, limit, execution, None, journal).await;
        (outcome, journal.events().to_vec())
    }

    /// Writes an execution's log lines, to its machine's log group where it names one.
    async fn write_log(&self, m: &Machine, lines: Vec<String>) {
        if let Some(w) = &self.inner.config.log_writer {
            w.write(m.logging.log_group(), lines).await;
        }
    }
}

impl Host for Engine {
    fn now_ms(&self) -> u64 {
        Engine::now_ms(self)
    }

    fn sleep_until(&self, ms: u64) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(Duration::from_millis(ms.saturating_sub(self.now_ms())))
    }

    /// A blocking answer runs on tokio's blocking pool, off the scheduler's threads; an
    /// asynchronous one that is not ready at its first poll gets a timer for `limit`.
    fn answer(
        &self,
        answer: Answer,
        limit: Duration,
    ) -> impl Future<Output = Result<TaskResult, Panicked>> + Send {
        let timed_out = || Ok(Err(Failure::new(failure::TIMEOUT, "")));
        async move {
            match answer {
                Answer::Now(r) => Ok(r),
                Answer::Later(f) => {
                    let mut f = AssertUnwindSafe(f).catch_unwind();
                    if let std::task::Poll::Ready(r) = futures::poll!(&mut f) {
                        return r.map_err(|_| Panicked);
                    }
                    match tokio::time::timeout(limit, f).await {
                        Ok(r) => r.map_err(|_| Panicked),
                        Err(_) => timed_out(),
                    }
                }
                Answer::Blocking(work) => {
                    match tokio::time::timeout(limit, tokio::task::spawn_blocking(work)).await {
                        Ok(r) => r.map_err(|_| Panicked),
                        Err(_) => timed_out(),
                    }
                }
            }
        }
    }

    fn resources(&self) -> &dyn Resource {
        &self.inner.router
    }

    /// Every run draws from the process's one sequence (`draw`): no clock read, and no
    /// allocation (the box holds a function, of no size), for each of a Map's iterations; two
    /// runs never see the same values, even started in the same millisecond.
    fn random(&self) -> Box<dyn FnMut() -> u64 + Send> {
        Box::new(draw)
    }

    fn token_mint(&self) -> Option<crate::vm::run::TokenMint> {
        Some(self.callbacks().mint.clone())
    }

    fn clock(&self) -> Option<driver::HostClock> {
        let engine = self.clone();
        Some(Arc::new(move || engine.now_ms()))
    }

    /// A step that may compute for long runs with `block_in_place` on a multi-thread runtime:
    /// the worker's other tasks (`/health`, other executions) move to another thread meanwhile,
    /// so one heavy execution starves nobody. Short steps (JSONPath machines without Map) stay
    /// inline, where a step costs nothing more.
    fn step(&self, long: bool, step: impl FnOnce() -> Action) -> Action {
        let multi_thread = long
            && tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(step)
        } else {
            step()
        }
    }
}

/// An attempt that did not end in its first steps: its run, boxed to be driven on, and what
/// its runs share.
type GoingOn = (driver::Driven<'static>, Arc<Attempt>);

/// How an attempt ended: its outcome, its finished journal, and whether a step or a resource
/// panicked.
type AttemptEnd = (Outcome, Journal, bool);

/// An attempt after its first steps as its future awaits it: going on, or ended (in those
/// steps, or given up before them: an intake delivery out of attempts), boxed so that the
/// future stays small.
type Settled = Result<GoingOn, Box<AttemptEnd>>;

/// The engine's clock read once: the time since the engine's start (`Engine::reading`).
#[derive(Clone, Copy)]
struct Reading(Duration);

/// A shutdown's progress, as running executions see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Drain {
    /// No shutdown.
    Running,
    /// Executions may run on until this engine time (ms); one asleep in a Wait past it cannot
    /// end by then and is aborted.
    Until(u64),
    /// The grace period is over: every execution still running is aborted.
    Abort,
}

impl Drain {
    fn aborts(self, attempt: &Attempt) -> bool {
        match self {
            Drain::Running => false,
            Drain::Until(by) => attempt.wakes_after(by),
            Drain::Abort => true,
        }
    }
}

/// How an execution ends when the engine shuts down under it.
fn shutdown_abort() -> Outcome {
    Outcome {
        status: super::Status::Aborted,
        output: None,
        failure: Some(Failure::new(
            "States.Aborted",
            "The engine shut down before the execution finished",
        )),
    }
}

/// How an execution ends when `StopExecution` stops it (error and cause as given, if given).
fn stopped_outcome(error: Option<String>, cause: Option<String>) -> Outcome {
    Outcome {
        status: super::Status::Aborted,
        output: None,
        failure: Some(Failure::new(
            error.unwrap_or_default(),
            cause.unwrap_or_default(),
        )),
    }
}

/// What the task of a STANDARD execution runs (`Engine::spawn_standard`).
struct Standard {
    e: Arc<Execution>,
    m: Arc<Machine>,
    info: Arc<ExecutionInfo>,
    journal: Journal,
    run: Run,
    start_ms: u64,
    /// The id of the last event already logged (a redrive logs only its own).
    logged_from: u64,
    permit: tokio::sync::OwnedSemaphorePermit,
    done: Box<dyn FnOnce(&Execution) + Send>,
}

/// Why a redrive was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RedriveError {
    /// AWS's reason (`redriveStatusReason`).
    #[error("{0}")]
    NotRedrivable(String),
    #[error("Maximum number of running executions reached: {0} executions are in flight")]
    ExecutionLimitExceeded(usize),
    #[error("the engine is shutting down")]
    ShuttingDown,
}

/// Where a redrive goes on: the latest state of the machine's own block that was entered and
/// did not exit (the state that failed, timed out or was stopped; a Parallel or Map whose
/// children failed), with the input it was entered with. `None`: none was entered.
fn redrive_point(program: &Program, history: &[HistoryEvent]) -> Option<(String, Value)> {
    let top = program.block(Program::TOP);
    let is_top = |name: &str| top.states.iter().any(|s| s.name == name);
    let mut open: Option<&HistoryEvent> = None;
    for ev in history {
        let Some(name) = ev.details.get("name").and_then(serde_json::Value::as_str) else {
            continue;
        };
        if !is_top(name) {
            continue;
        }
        if ev.kind.is_state_entered() {
            open = Some(ev);
        } else if ev.kind.as_str().ends_with("StateExited")
            && open.is_some_and(|o| {
                o.details.get("name").and_then(serde_json::Value::as_str) == Some(name)
            })
        {
            open = None;
        }
    }
    let entered = open?;
    let name = entered.details.get("name")?.as_str()?.to_owned();
    let input = entered
        .details
        .get("input")
        .and_then(serde_json::Value::as_str)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    Some((name, input))
}

/// What a STANDARD start names besides the machine.
#[derive(Debug, Clone)]
pub struct StandardStart {
    pub name: Option<String>,
    pub input: Value,
    /// The input as the caller wrote it (DescribeExecution answers it so).
    pub input_text: String,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
}

/// A random (version 4) UUID, as text: the API's request and revision ids, Standard
/// executions' names.
pub(crate) fn new_uuid() -> String {
    // Encoded into a buffer: `to_string` goes through the formatter.
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    random_uuid().hyphenated().encode_lower(&mut buf).to_owned()
}

/// A random (version 4) UUID: an Express execution's id (text only when read).
pub(crate) fn random_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rand_bytes()).into_uuid()
}

/// Sixteen random-looking bytes for an execution's UUID: two draws (`draw`), so distinct for
/// every call in the process and across processes.
fn rand_bytes() -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&draw().to_le_bytes());
    out[8..].copy_from_slice(&draw().to_le_bytes());
    out
}

/// The next value of the process's random sequence: SplitMix64 at the next position of a
/// stream seeded once, from the start time and the process id (a system call each). The mix
/// is a bijection and a counter feeds it, so no two draws in the process are equal, whichever
/// runs or threads make them; other processes start elsewhere in the sequence.
fn draw() -> u64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    static DRAWS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ (u64::from(std::process::id()) << 32)
    });
    let n = DRAWS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    split_mix(seed.wrapping_add(n.wrapping_add(1).wrapping_mul(GAMMA)))
}

/// SplitMix64's output function (as `super::random_stream` uses).
fn split_mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
