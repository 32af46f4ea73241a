//! Pool choice: the same CPU-bound executions on tokio's multi-threaded scheduler and on a minimal
//! work-stealing pool built on crossbeam-deque, two worker threads each, with the batch run on
//! the calling thread alone as the reference.
//!
//! Guards the decision recorded in ARCHITECTURE.md (Decisions: the engine's pool). A job is one
//! `iot_event` execution by the single-thread driver (`runtime::execute`: no timers, no I/O), so
//! the pools differ only in how they hand out work. Both are fed from outside their workers (the
//! tokio runtime's injection queue, the pool's `Injector`).

#[allow(dead_code)]
mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle, Thread};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crossbeam_deque::{Injector, Stealer, Worker};
use statejet::compile::Program;
use statejet::runtime::{self, Status};
use statejet::tasks::Functions;
use statejet::vm::context::ExecutionInfo;

use common::{execution, median_ratio, FixedClock, Workload};

/// The allocator the binary uses (`src/main.rs`), so figures are the shipped ones.
#[global_allocator]
static ALLOCATOR: statejet::alloc::Allocator = statejet::alloc::Allocator;

/// Jobs per batch: about 30 ms of work for two threads.
const JOBS: usize = 10_000;
const THREADS: usize = 2;

/// How many times an idle worker looks for work (yielding between looks) before it parks.
const IDLE_ROUNDS: u32 = 64;

type Job = Box<dyn FnOnce() + Send>;

/// A minimal work-stealing pool: a global `Injector`, a FIFO deque per worker, and stealing
/// from the others when both are empty (crossbeam-deque's documented scheme). An idle worker
/// looks again a few times, then parks; `submit` wakes them all.
struct Pool {
    injector: Arc<Injector<Job>>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    fn new(threads: usize) -> Pool {
        let injector = Arc::new(Injector::new());
        let stop = Arc::new(AtomicBool::new(false));
        let locals: Vec<Worker<Job>> = (0..threads).map(|_| Worker::new_fifo()).collect();
        let stealers: Arc<Vec<Stealer<Job>>> =
            Arc::new(locals.iter().map(Worker::stealer).collect());
        let workers = locals
            .into_iter()
            .map(|local| {
                let (injector, stealers, stop) = (injector.clone(), stealers.clone(), stop.clone());
                thread::spawn(move || {
                    let mut idle = 0;
                    loop {
                        match next_job(&local, &injector, &stealers) {
                            Some(job) => {
                                idle = 0;
                                job()
                            }
                            None if stop.load(Ordering::Acquire) => break,
                            // Another worker's deque may still fill: look again for a while
                            // before sleeping until the next `submit`.
                            None if idle < IDLE_ROUNDS => {
                                idle += 1;
                                thread::yield_now()
                            }
                            None => {
                                idle = 0;
                                thread::park()
                            }
                        }
                    }
                })
            })
            .collect();
        Pool {
            injector,
            stop,
            workers,
        }
    }

    fn submit(&self, jobs: impl IntoIterator<Item = Job>) {
        for job in jobs {
            self.injector.push(job);
        }
        self.workers.iter().for_each(|w| w.thread().unpark());
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for w in self.workers.drain(..) {
            w.thread().unpark();
            let _ = w.join();
        }
    }
}

/// The worker's own queue first, then a batch from the injector, then another worker's.
fn next_job(
    local: &Worker<Job>,
    injector: &Injector<Job>,
    stealers: &[Stealer<Job>],
) -> Option<Job> {
    local.pop().or_else(|| {
        std::iter::repeat_with(|| {
            injector
                .steal_batch_and_pop(local)
                .or_else(|| stealers.iter().map(Stealer::steal).collect())
        })
        .find(|s| !s.is_retry())
        .and_then(|s| s.success())
    })
}

/// Counts a batch's jobs down and wakes the submitting thread after the last.
struct Countdown {
    left: AtomicUsize,
    waiter: Thread,
}

impl Countdown {
    fn new(jobs: usize) -> Arc<Countdown> {
        Arc::new(Countdown {
            left: AtomicUsize::new(jobs),
            waiter: thread::current(),
        })
    }

    fn done(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.waiter.unpark();
        }
    }

    fn wait(&self) {
        while self.left.load(Ordering::Acquire) > 0 {
            thread::park();
        }
    }
}

/// What every job shares: the compiled workload, the execution, the `echo` function.
#[derive(Clone)]
struct Shared {
    program: Arc<Program>,
    execution: Arc<ExecutionInfo>,
    functions: Arc<Functions>,
}

impl Shared {
    /// One job: an execution, then the countdown.
    fn job(&self, countdown: &Arc<Countdown>) -> impl FnOnce() + Send + 'static {
        let (shared, countdown) = (self.clone(), countdown.clone());
        move || {
            shared.run();
            countdown.done();
        }
    }

    fn run(&self) {
        let o = runtime::execute(
            self.program.clone(),
            self.execution.clone(),
            &*self.functions,
            &FixedClock::default(),
        );
        assert_eq!(black_box(o.status), Status::Succeeded);
    }
}

fn pools(c: &mut Criterion) {
    let w = Workload::load("iot_event");
    let shared = Shared {
        program: w.program(),
        execution: execution(w.input.clone()),
        functions: Arc::new(
            Functions::parse(r#"{"functions": {"echo": {"identity": {}}}}"#).expect("functions"),
        ),
    };
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS)
        .build()
        .expect("tokio runtime");
    let pool = Pool::new(THREADS);

    let mut group = c.benchmark_group("pool/iot_event");
    group
        .throughput(Throughput::Elements(JOBS as u64))
        .sample_size(10);
    group.bench_function("inline-1-thread", |b| {
        b.iter(|| (0..JOBS).for_each(|_| shared.run()))
    });
    let on_tokio = || {
        let countdown = Countdown::new(JOBS);
        for _ in 0..JOBS {
            let job = shared.job(&countdown);
            tokio.spawn(async move { job() });
        }
        countdown.wait();
    };
    let on_pool = || {
        let countdown = Countdown::new(JOBS);
        pool.submit((0..JOBS).map(|_| Box::new(shared.job(&countdown)) as Job));
        countdown.wait();
    };
    group.bench_function("tokio-2-threads", |b| b.iter(on_tokio));
    group.bench_function("crossbeam-2-threads", |b| b.iter(on_pool));
    group.finish();
    // Time on tokio over time on the pool: the pool's throughput over tokio's.
    let ratio = median_ratio(1, on_tokio, on_pool);
    println!("pool/iot_event: crossbeam throughput / tokio throughput = {ratio:.2}");
}

criterion_group!(benches, pools);
criterion_main!(benches);
