//! Engine counters and latency histograms, per state machine, and the fixed-bucket duration
//! histogram that `/metrics` exposes (the API's request latencies use it too).
//!
//! Invariant: updating a counter never blocks an execution for long: counters are atomics, and
//! the latency histogram's lock is held only to record one value or to copy it out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hdrhistogram::Histogram;

use super::Status;

/// Latencies are kept in microseconds, from 1 µs to the 5-minute Express limit (and a margin),
/// with 3 significant digits: enough to tell p99.9 apart, at a fixed size.
const MAX_LATENCY_US: u64 = 10 * 60 * 1_000_000;

/// Upper bounds of the duration buckets, in microseconds (`le` in seconds: 10 µs … 300 s).
///
/// Why these: in a release build an execution of Pass, Choice and Fail states takes tens of
/// microseconds (34 µs at the median for `examples/order.asl.json`), one calling an in-process
/// function about as long, command functions and Lambda endpoints milliseconds to seconds, and
/// Wait states seconds to minutes, up to the 5-minute Express limit, the last bound. Three bounds
/// a decade (1, 2.5, 5) keep a quantile estimated from them within a factor of 3 over that whole
/// range, in few enough series (24 buckets) to scrape cheaply. The bounds are fixed and the same in
/// every replica, so `sum by (le)` across replicas is exact, which a summary's quantiles cannot be.
pub const DURATION_BUCKETS_US: [u64; 23] = [
    10,
    25,
    50,
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    30_000_000,
    60_000_000,
    120_000_000,
    300_000_000,
];

/// Durations counted into [`DURATION_BUCKETS_US`] (and one bucket past the last bound), with
/// their exact sum: lock-free, so recording costs a few atomic adds.
#[derive(Debug, Default)]
pub struct DurationHistogram {
    /// Non-cumulative: `counts[i]` holds durations in `(bound[i-1], bound[i]]`; the last one
    /// those above every bound.
    counts: [AtomicU64; DURATION_BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

/// A copy of a [`DurationHistogram`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DurationCounts {
    /// Non-cumulative counts, as in [`DurationHistogram`].
    pub counts: [u64; DURATION_BUCKETS_US.len() + 1],
    pub sum_us: u64,
}

/// The bucket a duration counts in: the first whose bound it does not exceed.
fn bucket(duration_us: u64) -> usize {
    DURATION_BUCKETS_US.partition_point(|&bound| bound < duration_us)
}

impl DurationHistogram {
    pub fn record(&self, duration_us: u64) {
        self.counts[bucket(duration_us)].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(duration_us, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> DurationCounts {
        DurationCounts {
            counts: std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed)),
            sum_us: self.sum_us.load(Ordering::Relaxed),
        }
    }
}

impl DurationCounts {
    /// Counts one duration (where the copy itself is the store, under its owner's lock).
    pub fn record(&mut self, duration_us: u64) {
        self.counts[bucket(duration_us)] += 1;
        self.sum_us += duration_us;
    }

    /// How many durations were recorded (the `+Inf` bucket's count, so the two always agree).
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Adds another copy's counts to these.
    pub fn add(&mut self, other: &DurationCounts) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.sum_us += other.sum_us;
    }
}

#[derive(Debug)]
pub struct MachineMetrics {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    timed_out: AtomicU64,
    aborted: AtomicU64,
    throttled: AtomicU64,
    redelivered: AtomicU64,
    /// Made by the first execution that ends: an empty one takes about 190 KiB (hdrhistogram's
    /// counts for three significant figures up to ten minutes), most of a machine's cost.
    latency_us: Mutex<Option<Box<Histogram<u64>>>>,
    duration: DurationHistogram,
}

/// A copy of one machine's metrics.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub started: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub aborted: u64,
    pub throttled: u64,
    pub redelivered: u64,
    /// Executions started and not yet ended.
    pub in_flight: u64,
    /// Fine-grained latencies, for percentiles (the live page); `None` until an execution ends.
    pub latency_us: Option<Box<Histogram<u64>>>,
    /// The same latencies in fixed buckets, for `/metrics`.
    pub duration: DurationCounts,
}

impl Default for MachineMetrics {
    fn default() -> MachineMetrics {
        MachineMetrics {
            started: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            redelivered: AtomicU64::new(0),
            latency_us: Mutex::new(None),
            duration: DurationHistogram::default(),
        }
    }
}

impl MachineMetrics {
    pub fn started(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    pub fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub fn redelivered(&self) {
        self.redelivered.fetch_add(1, Ordering::Relaxed);
    }

    /// An execution ended with `status` after `latency_us`.
    pub fn ended(&self, status: Status, latency_us: u64) {
        let counter = match status {
            Status::Succeeded => &self.succeeded,
            Status::Failed => &self.failed,
            Status::TimedOut => &self.timed_out,
            Status::Aborted => &self.aborted,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.duration.record(latency_us);
        let mut h = self.latency_us.lock().unwrap_or_else(|p| p.into_inner());
        h.get_or_insert_with(|| {
            Box::new(
                Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds"),
            )
        })
        .saturating_record(latency_us.max(1));
    }

    /// Executions started and not yet ended (the snapshot's figure, without copying it).
    pub fn in_flight(&self) -> u64 {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let ended = load(&self.succeeded)
            + load(&self.failed)
            + load(&self.timed_out)
            + load(&self.aborted);
        load(&self.started).saturating_sub(ended)
    }

    pub fn snapshot(&self) -> Snapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (succeeded, failed, timed_out, aborted) = (
            load(&self.succeeded),
            load(&self.failed),
            load(&self.timed_out),
            load(&self.aborted),
        );
        let started = load(&self.started);
        Snapshot {
            started,
            succeeded,
            failed,
            timed_out,
            aborted,
            throttled: load(&self.throttled),
            redelivered: load(&self.redelivered),
            in_flight: started.saturating_sub(succeeded + failed + timed_out + aborted),
            latency_us: self
                .latency_us
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            duration: self.duration.snapshot(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A duration on a bound counts in that bound's bucket (`le` is "less or equal").
    #[test]
    fn bucket_bounds_are_inclusive() {
        let h = DurationHistogram::default();
        for us in [0, 10, 11, 300_000_000, 300_000_001] {
            h.record(us);
        }
        let c = h.snapshot();
        assert_eq!((c.counts[0], c.counts[1]), (2, 1));
        assert_eq!(c.counts[DURATION_BUCKETS_US.len() - 1], 1);
        assert_eq!(c.counts[DURATION_BUCKETS_US.len()], 1);
        assert_eq!(c.count(), 5);
        assert_eq!(c.sum_us, 600_000_022);
    }
}
