//! What a run measured: throughput, latency percentiles (hdrhistogram), errors by kind, and the
//! server's CPU and memory, as a table for people or JSON for scripts.
//!
//! Invariant: only executions that both started and ended inside the measured window count;
//! the warm-up's are left out.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// The percentiles reported.
const PERCENTILES: [(f64, &str); 4] =
    [(50.0, "p50"), (90.0, "p90"), (99.0, "p99"), (99.9, "p99.9")];

/// Latencies from 1 µs to 10 minutes at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

pub struct Report {
    pub target: String,
    pub workload: String,
    pub load: String,
    pub elapsed: Duration,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub latency_us: Histogram<u64>,
    pub server: Option<ServerUsage>,
}

/// A process's CPU and memory over the measured window.
#[derive(Debug, Clone, Copy)]
pub struct ServerUsage {
    /// CPU time used, as a share of one core (1.0 = one core busy all the time).
    pub cpu_cores: f64,
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
}

/// A reading of `/proc/PID`: CPU ticks so far and memory.
pub struct ProcSample {
    ticks: u64,
    rss: u64,
    peak: u64,
}

/// Linux's `USER_HZ`, the unit of `/proc/PID/stat` times, is 100 on every supported platform.
const TICKS_PER_SECOND: f64 = 100.0;

impl ProcSample {
    pub fn read(pid: u32) -> Option<ProcSample> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kb = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(0, |v| v * 1024)
        };
        Some(ProcSample {
            ticks,
            rss: kb("VmRSS:"),
            peak: kb("VmHWM:"),
        })
    }

    pub fn usage_since(&self, start: &ProcSample, elapsed: Duration) -> ServerUsage {
        ServerUsage {
            cpu_cores: (self.ticks - start.ticks) as f64
                / TICKS_PER_SECOND
                / elapsed.as_secs_f64().max(1e-9),
            rss_bytes: self.rss,
            peak_rss_bytes: self.peak,
        }
    }
}

/// The first process whose command line is `... statejet serve ...`.
pub fn find_server() -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        let is_server = args.first().is_some_and(|a| a.ends_with(b"statejet"))
            && args.get(1) == Some(&&b"serve"[..]);
        is_server.then_some(pid)
    })
}

impl Report {
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn ms(us: u64) -> f64 {
        us as f64 / 1000.0
    }

    pub fn to_json(&self) -> Value {
        let h = &self.latency_us;
        let mut latency = serde_json::Map::new();
        for (p, name) in PERCENTILES {
            latency.insert(name.into(), json!(Report::ms(h.value_at_percentile(p))));
        }
        latency.insert("max".into(), json!(Report::ms(h.max())));
        json!({
            "target": self.target,
            "workload": self.workload,
            "load": self.load,
            "seconds": self.elapsed.as_secs_f64(),
            "executions": self.ok,
            "executions_per_second": self.throughput(),
            "latency_ms": latency,
            "errors": self.errors,
            "server": self.server.map(|s| json!({
                "cpu_cores": s.cpu_cores, "rss_bytes": s.rss_bytes, "peak_rss_bytes": s.peak_rss_bytes})),
        })
    }

    pub fn to_table(&self) -> String {
        let h = &self.latency_us;
        let mut out = format!(
            "target    {}\nworkload  {}\nload      {}\nmeasured  {:.1} s\n\nexecutions      {}\nthroughput      {:.0} executions/s\n",
            self.target,
            self.workload,
            self.load,
            self.elapsed.as_secs_f64(),
            self.ok,
            self.throughput()
        );
        out.push_str("latency (ms)   ");
        for (p, name) in PERCENTILES {
            out.push_str(&format!(
                " {name} {:.3}",
                Report::ms(h.value_at_percentile(p))
            ));
        }
        out.push_str(&format!("  max {:.3}\n", Report::ms(h.max())));
        if self.errors.is_empty() {
            out.push_str("errors          none\n");
        } else {
            out.push_str(&format!("errors          {}\n", self.error_count()));
            for (kind, n) in &self.errors {
                out.push_str(&format!("  {n:>10}  {kind}\n"));
            }
        }
        if let Some(s) = self.server {
            out.push_str(&format!(
                "server          {:.2} cores busy, RSS {:.1} MiB (peak {:.1} MiB)\n",
                s.cpu_cores,
                s.rss_bytes as f64 / 1048576.0,
                s.peak_rss_bytes as f64 / 1048576.0
            ));
        }
        out
    }
}
