//! Execution logs in the CloudWatch Logs format of Step Functions: which events a logging level
//! keeps, and each event as the JSON object AWS writes.
//!
//! Invariant: a pure function of the history event and the state machine's
//! `loggingConfiguration`; ids, links, timestamps and the redrive count are strings, and with
//! `includeExecutionData: false` the `input`, `inputDetails`, `output` and `outputDetails`
//! details are left out, as AWS records show.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::vm::run::{EventType, HistoryEvent};

/// `loggingConfiguration.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    All,
    Error,
    Fatal,
    #[default]
    Off,
}

impl Level {
    /// The level's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::All => "ALL",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
            Level::Off => "OFF",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Level, String> {
        match s {
            "ALL" => Ok(Level::All),
            "ERROR" => Ok(Level::Error),
            "FATAL" => Ok(Level::Fatal),
            "OFF" => Ok(Level::Off),
            other => Err(format!(
                "unknown logging level '{other}': expected ALL, ERROR, FATAL or OFF"
            )),
        }
    }
}

/// A state machine's `loggingConfiguration` (destinations aside: statejet's sinks are local).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoggingConfiguration {
    pub level: Level,
    pub include_execution_data: bool,
}

/// Whether `level` logs events of type `kind`: `FATAL` keeps the execution's failed ends,
/// `ERROR` those and every failure AWS's documented list names (of the types statejet records).
pub fn logs(level: Level, kind: EventType) -> bool {
    use EventType::*;
    let fatal = matches!(kind, ExecutionAborted | ExecutionFailed | ExecutionTimedOut);
    match level {
        Level::All => true,
        Level::Off => false,
        Level::Fatal => fatal,
        Level::Error => {
            fatal
                || matches!(
                    kind,
                    ActivityFailed
                        | ActivityTimedOut
                        | FailStateEntered
                        | LambdaFunctionFailed
                        | LambdaFunctionTimedOut
                        | MapIterationFailed
                        | MapStateFailed
                        | ParallelStateFailed
                        | TaskFailed
                        | TaskTimedOut
                )
        }
    }
}

/// `logs` for one level, as a function a `Journal` can hold, so that it records (and builds the
/// details of) only the events the level keeps.
pub fn filter(level: Level) -> fn(EventType) -> bool {
    match level {
        Level::All => |_| true,
        Level::Error => |kind| logs(Level::Error, kind),
        Level::Fatal => |kind| logs(Level::Fatal, kind),
        Level::Off => |_| false,
    }
}

/// The detail fields left out when `includeExecutionData` is false.
const EXECUTION_DATA: [&str; 4] = ["input", "inputDetails", "output", "outputDetails"];

/// One CloudWatch log event, keys in AWS's order.
pub fn event(
    e: &HistoryEvent,
    execution_arn: &str,
    redrive_count: u32,
    include_execution_data: bool,
) -> Value {
    let mut details = e.details.clone();
    if !include_execution_data {
        if let Value::Object(m) = &mut details {
            for k in EXECUTION_DATA {
                m.shift_remove(k);
            }
        }
    }
    json!({
        "id": e.id.to_string(),
        "type": e.kind.as_str(),
        "details": details,
        "previous_event_id": e.previous_event_id.to_string(),
        "event_timestamp": e.timestamp_ms.to_string(),
        "execution_arn": execution_arn,
        "redrive_count": redrive_count.to_string(),
    })
}

/// The log events of an execution's history under `config`.
pub fn events(
    history: &[HistoryEvent],
    execution_arn: &str,
    redrive_count: u32,
    config: LoggingConfiguration,
) -> Vec<Value> {
    history
        .iter()
        .filter(|e| logs(config.level, e.kind))
        .map(|e| {
            event(
                e,
                execution_arn,
                redrive_count,
                config.include_execution_data,
            )
        })
        .collect()
}

/// Marks a log event of an execution that the durable intake delivered again
/// (`redeliveries` times before this delivery), after AWS's keys, so that a redelivered
/// execution's lines say so; a first delivery's lines keep AWS's shape exactly.
pub fn mark_redelivered(event: &mut Value, redeliveries: u32) {
    if let (Value::Object(m), true) = (event, redeliveries > 0) {
        m.insert("redelivery_count".into(), redeliveries.to_string().into());
    }
}

/// Writes log lines (one JSON object each) to an output on a thread of its own, so executions
/// never wait on I/O; the channel is bounded, so a slow output makes finishing executions wait
/// for room (holding their admission permits) instead of losing lines. An execution's lines go
/// out in one write, and `flush` returns once everything queued before it is written and
/// flushed, so a shutdown that flushes ends on a whole line with every accepted line out.
/// With a folder of log groups (`spawn_routed`), an execution whose machine names a log group
/// writes to that group's own file there, so shippers tell groups apart by file.
#[derive(Clone)]
pub struct LogWriter {
    tx: tokio::sync::mpsc::Sender<Message>,
}

/// What the writer thread receives.
enum Message {
    /// One execution's lines, the log group they belong to (if its machine names one), and
    /// whom to tell once they are written and flushed.
    Lines(
        Option<Arc<str>>,
        Vec<String>,
        Option<tokio::sync::oneshot::Sender<()>>,
    ),
    /// Flush the outputs, then answer.
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogWriter")
    }
}

/// At most this many log group files are open at once; past it they are closed (after a flush)
/// and reopened as lines come, so many groups cost no more descriptors than this.
const MAX_OPEN_GROUP_FILES: usize = 128;

/// The writer thread's outputs: the default one, and the log groups' files under a folder.
struct Outputs {
    default: Box<dyn Write + Send>,
    groups: Option<Groups>,
}

struct Groups {
    dir: PathBuf,
    open: HashMap<Arc<str>, BufWriter<File>>,
    /// Groups whose file could not be opened, reported once each; their lines go to the
    /// default output (never lost).
    refused: HashSet<Arc<str>>,
}

impl Outputs {
    fn output(&mut self, group: Option<&Arc<str>>) -> &mut dyn Write {
        let (Some(groups), Some(group)) = (self.groups.as_mut(), group) else {
            return &mut *self.default;
        };
        if groups.refused.contains(group) {
            return &mut *self.default;
        }
        if !groups.open.contains_key(group) {
            if groups.open.len() >= MAX_OPEN_GROUP_FILES {
                for (_, mut f) in groups.open.drain() {
                    let _ = f.flush();
                }
            }
            match open_group_file(&groups.dir, group) {
                Ok(f) => {
                    groups.open.insert(group.clone(), BufWriter::new(f));
                }
                Err(why) => {
                    eprintln!(
                        "statejet: log group '{group}': {why}; its lines go to the main log output"
                    );
                    groups.refused.insert(group.clone());
                    return &mut *self.default;
                }
            }
        }
        match groups.open.get_mut(group) {
            Some(f) => f,
            None => &mut *self.default,
        }
    }

    /// Flushes every output; whether all of them took it.
    fn flush(&mut self) -> bool {
        let mut ok = self.default.flush().is_ok();
        if let Some(groups) = &mut self.groups {
            for f in groups.open.values_mut() {
                ok &= f.flush().is_ok();
            }
        }
        ok
    }
}

/// The file of log group `name` under `dir`: the group's `/`-separated name as folders, with
/// `.log` added (`/aws/vendedlogs/states/orders` → `DIR/aws/vendedlogs/states/orders.log`).
/// Only CloudWatch's log group characters are allowed, and no `.` or `..` segment, so a name
/// never reaches outside `dir`.
pub fn group_file(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#');
    if let Some(c) = name.chars().find(|&c| !allowed(c)) {
        return Err(format!(
            "'{c}' is not allowed in a log group name (letters, digits, '.', '-', '_', '/', '#')"
        ));
    }
    let segments: Vec<&str> = name.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        return Err("an empty log group name".to_owned());
    }
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return Err("'.' and '..' are not allowed as parts of a log group name".to_owned());
    }
    let mut path = dir.to_path_buf();
    for s in &segments[..segments.len() - 1] {
        path.push(s);
    }
    path.push(format!("{}.log", segments[segments.len() - 1]));
    Ok(path)
}

fn open_group_file(dir: &Path, name: &str) -> Result<File, String> {
    let path = group_file(dir, name)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

impl LogWriter {
    /// Starts the writer thread; `capacity` is how many executions' batches may wait.
    pub fn spawn(out: Box<dyn Write + Send>, capacity: usize) -> LogWriter {
        LogWriter::start(
            Outputs {
                default: out,
                groups: None,
            },
            capacity,
        )
    }

    /// Like `spawn`, with each log group's lines in its own file under `dir` (`group_file`);
    /// lines of machines that name no log group go to `out`.
    pub fn spawn_routed(out: Box<dyn Write + Send>, dir: PathBuf, capacity: usize) -> LogWriter {
        LogWriter::start(
            Outputs {
                default: out,
                groups: Some(Groups {
                    dir,
                    open: HashMap::new(),
                    refused: HashSet::new(),
                }),
            },
            capacity,
        )
    }

    fn start(mut outputs: Outputs, capacity: usize) -> LogWriter {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(capacity.max(1));
        std::thread::spawn(move || {
            let mut text = String::new();
            // Writers waiting for their lines to be flushed: told at the next flush, so a
            // busy output still flushes once per queue-emptying, not once per execution.
            let mut waiting: Vec<tokio::sync::oneshot::Sender<()>> = Vec::new();
            while let Some(message) = rx.blocking_recv() {
                match message {
                    Message::Lines(group, batch, flushed) => {
                        text.clear();
                        for line in batch {
                            text.push_str(&line);
                            text.push('\n');
                        }
                        // A broken output cannot be reported anywhere better than here; a writer
                        // waiting for these lines is told nothing (its sender dropped), so a
                        // durable intake leaves their message unacknowledged.
                        if outputs
                            .output(group.as_ref())
                            .write_all(text.as_bytes())
                            .is_err()
                        {
                            eprintln!("statejet: cannot write execution logs");
                        } else {
                            waiting.extend(flushed);
                        }
                        // Flushing once the queue is empty keeps a busy output's writes large.
                        if rx.is_empty() {
                            let ok = outputs.flush();
                            for w in waiting.drain(..) {
                                if ok {
                                    let _ = w.send(());
                                }
                            }
                        }
                    }
                    Message::Flush(done) => {
                        let ok = outputs.flush();
                        for w in waiting.drain(..) {
                            if ok {
                                let _ = w.send(());
                            }
                        }
                        let _ = done.send(());
                    }
                }
            }
            outputs.flush();
        });
        LogWriter { tx }
    }

    /// Queues one execution's log lines (of log group `group`, if its machine names one),
    /// waiting while the writer is behind.
    pub async fn write(&self, group: Option<Arc<str>>, lines: Vec<String>) {
        if !lines.is_empty() {
            // Fails only when the writer thread is gone, which ends the process's logging anyway.
            let _ = self.tx.send(Message::Lines(group, lines, None)).await;
        }
    }

    /// Like `write`, and returns once the lines are written and the output flushed (to the
    /// operating system: a killed process loses none of them); false when that failed or the
    /// writer is gone, so they may be lost.
    pub async fn write_flushed(&self, group: Option<Arc<str>>, lines: Vec<String>) -> bool {
        if lines.is_empty() {
            return true;
        }
        let (tx, flushed) = tokio::sync::oneshot::channel();
        if self
            .tx
            .send(Message::Lines(group, lines, Some(tx)))
            .await
            .is_err()
        {
            return false;
        }
        flushed.await.is_ok()
    }

    /// Waits until every line queued before this call is written and the outputs flushed.
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_group_name_is_a_path_under_the_folder_and_never_leaves_it() {
        let dir = Path::new("/logs");
        assert_eq!(
            group_file(dir, "/aws/vendedlogs/states/orders").unwrap(),
            Path::new("/logs/aws/vendedlogs/states/orders.log")
        );
        assert_eq!(
            group_file(dir, "plain").unwrap(),
            Path::new("/logs/plain.log")
        );
        assert_eq!(
            group_file(dir, "a//b#1.x").unwrap(),
            Path::new("/logs/a/b#1.x.log")
        );
        for bad in [
            "/a/../../etc/passwd",
            "..",
            "a/./b",
            "",
            "///",
            "a b",
            "a\\b",
            "é",
        ] {
            assert!(group_file(dir, bad).is_err(), "{bad:?}");
        }
    }
}
