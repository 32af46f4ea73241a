//! The driver core on the calling thread (`statejet run`, TestState, the benches): a small
//! executor that polls the execution's runs in turn and, when every one of them waits for a
//! time, moves its `Clock` to the earliest one.
//!
//! Invariant: nothing here starts a thread; child runs take turns, so a branch that waits never
//! holds up one that can run, and time passes only when every run waits (a test clock jumps).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures::FutureExt as _;

use super::driver::{Host, Panicked};
use super::{random_stream, Clock};
use crate::tasks::{Answer, Resource, TaskResult};

/// The host of the sequential driver: a clock, the resources, and the times runs wait for.
#[derive(Clone)]
pub struct Sequential<'a> {
    clock: &'a dyn Clock,
    resources: &'a dyn Resource,
    shared: Arc<Shared>,
}

struct Shared {
    /// Each waiting run's wake-up time.
    timers: Mutex<Vec<(u64, Waker)>>,
    /// Where the next run's random stream starts.
    seed: AtomicU64,
}

impl<'a> Sequential<'a> {
    /// A host over `clock` and `resources`; the runs' random streams follow from `seed`.
    pub fn new(clock: &'a dyn Clock, resources: &'a dyn Resource, seed: u64) -> Sequential<'a> {
        Sequential {
            clock,
            resources,
            shared: Arc::new(Shared {
                timers: Mutex::new(Vec::new()),
                seed: AtomicU64::new(seed),
            }),
        }
    }

    fn timers(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Waker)>> {
        self.shared.timers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The earliest wake-up time, with the wakers of the runs waiting for it.
    fn earliest(&self) -> Option<(u64, Vec<Waker>)> {
        let mut timers = self.timers();
        let at = timers.iter().map(|(t, _)| *t).min()?;
        let mut due = Vec::new();
        timers.retain(|(t, w)| {
            let keep = *t != at;
            if !keep {
                due.push(w.clone());
            }
            keep
        });
        Some((at, due))
    }

    /// Polls `future` to its end on this thread; whenever it waits for nothing but timers, the
    /// clock moves to the earliest one.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let signal = Arc::new(Signal {
            woken: AtomicBool::new(false),
            thread: std::thread::current(),
        });
        let waker = Waker::from(signal.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            signal.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            if signal.woken.load(Ordering::SeqCst) {
                continue;
            }
            match self.earliest() {
                Some((at, due)) => {
                    self.clock.sleep_until(at);
                    due.into_iter().for_each(Waker::wake);
                }
                // Nothing waits for a time: an asynchronous answer is awaited.
                None => {
                    while !signal.woken.load(Ordering::SeqCst) {
                        std::thread::park();
                    }
                }
            }
        }
    }
}

/// Wakes the executor's thread.
struct Signal {
    woken: AtomicBool,
    thread: std::thread::Thread,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// A timer of the sequential host.
struct Sleep<'a> {
    host: Sequential<'a>,
    until: u64,
}

impl Future for Sleep<'_> {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.host.clock.now_ms() >= self.until {
            return Poll::Ready(());
        }
        self.host.timers().push((self.until, cx.waker().clone()));
        Poll::Pending
    }
}

impl Host for Sequential<'_> {
    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    fn sleep_until(&self, ms: u64) -> impl Future<Output = ()> + Send {
        Sleep {
            host: self.clone(),
            until: ms,
        }
    }

    /// A blocking answer is worked out right here (stopping at the limit is the resource's
    /// part); an asynchronous one is awaited as the other runs take their turns.
    async fn answer(&self, answer: Answer, _limit: Duration) -> Result<TaskResult, Panicked> {
        match answer {
            Answer::Now(r) => Ok(r),
            Answer::Blocking(work) => {
                std::panic::catch_unwind(AssertUnwindSafe(work)).map_err(|_| Panicked)
            }
            Answer::Later(f) => AssertUnwindSafe(f)
                .catch_unwind()
                .await
                .map_err(|_| Panicked),
        }
    }

    fn resources(&self) -> &dyn Resource {
        self.resources
    }

    fn random(&self) -> Box<dyn FnMut() -> u64 + Send> {
        const STEP: u64 = 0x9E37_79B9_7F4A_7C15;
        let seed = self.shared.seed.fetch_add(STEP, Ordering::Relaxed);
        random_stream(seed.wrapping_add(STEP))
    }
}
