//! The process figures Prometheus client libraries export under the standard `process_*` names,
//! read from Linux's /proc at each scrape, as they read them.
//!
//! Invariant: a figure whose source cannot be read (no /proc: another OS, a sandbox) is left
//! out, never reported as zero.

use std::fs;

/// /proc's clock ticks per second (USER_HZ). Linux fixes it at 100 for userspace on every
/// architecture statejet builds for (x86, ARM, RISC-V), whatever the kernel's own HZ; the Go
/// client's procfs assumes the same. Reading it (`sysconf`) would take `unsafe` or a crate.
const TICKS_PER_SECOND: f64 = 100.0;

/// The figures that could be read.
#[derive(Debug, Default)]
pub struct Process {
    /// User and system CPU time.
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    /// The soft limit on open files (absent when unlimited).
    pub max_fds: Option<u64>,
    /// Since the Unix epoch.
    pub start_time_seconds: Option<f64>,
}

impl Process {
    /// This process, now.
    pub fn read() -> Process {
        let stat = fs::read_to_string("/proc/self/stat").ok();
        // The fields after the command name, which is in parentheses and may hold spaces:
        // fields[0] is field 3 of proc(5), `state`.
        let fields: Vec<&str> = stat
            .as_deref()
            .and_then(|s| s.rsplit_once(')'))
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        let ticks = |n: usize| field(n).map(|t| t as f64 / TICKS_PER_SECOND);
        let cpu_seconds = ticks(14).zip(ticks(15)).map(|(user, system)| user + system);
        let boot_time = fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|t| t.trim().parse::<u64>().ok())
        });
        let start_time_seconds = boot_time
            .zip(ticks(22))
            .map(|(boot, since)| boot as f64 + since);
        Process {
            cpu_seconds,
            resident_bytes: status_kb("VmRSS:").map(|kb| kb * 1024),
            virtual_bytes: field(23),
            open_fds: fs::read_dir("/proc/self/fd")
                .ok()
                .map(|entries| entries.count() as u64),
            max_fds: max_open_files(),
            start_time_seconds,
        }
    }
}

/// A `kB` figure of /proc/self/status (which, unlike /proc/self/stat, needs no page size).
fn status_kb(key: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// The soft limit of `Max open files` in /proc/self/limits.
fn max_open_files() -> Option<u64> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn linux_gives_every_figure() {
        let p = Process::read();
        assert!(p.cpu_seconds.is_some_and(|s| s >= 0.0), "{p:?}");
        assert!(p.resident_bytes.is_some_and(|b| b > 0), "{p:?}");
        assert!(
            p.virtual_bytes
                .zip(p.resident_bytes)
                .is_some_and(|(v, r)| v >= r),
            "{p:?}"
        );
        assert!(
            p.open_fds
                .zip(p.max_fds)
                .is_some_and(|(o, m)| o > 0 && o <= m),
            "{p:?}"
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        assert!(
            p.start_time_seconds
                .is_some_and(|t| t <= now + 1.0 && t > now - 86_400.0 * 365.0),
            "{p:?}"
        );
    }
}
