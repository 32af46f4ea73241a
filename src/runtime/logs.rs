//! Execution logs in the CloudWatch Logs format of Step Functions: which events a logging level
//! keeps, and each event as the JSON object AWS writes.
//!
//! Invariant: a pure function of the history event and the state machine's
//! `loggingConfiguration`; ids, links, timestamps and the redrive count are strings, and with
//! `includeExecutionData: false` the `input`, `inputDetails`, `output` and `outputDetails`
//! details are left out, as AWS records show.

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

/// Writes log lines (one JSON object each) to an output on a thread of its own, so executions
/// never wait on I/O; the channel is bounded, so a slow output makes finishing executions wait
/// for room (holding their admission permits) instead of losing lines. An execution's lines go
/// out in one write, and `flush` returns once everything queued before it is written and
/// flushed, so a shutdown that flushes ends on a whole line with every accepted line out.
#[derive(Clone)]
pub struct LogWriter {
    tx: tokio::sync::mpsc::Sender<Message>,
}

/// What the writer thread receives.
enum Message {
    /// One execution's lines.
    Lines(Vec<String>),
    /// Flush the output, then answer.
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogWriter")
    }
}

impl LogWriter {
    /// Starts the writer thread; `capacity` is how many executions' batches may wait.
    pub fn spawn(mut out: Box<dyn std::io::Write + Send>, capacity: usize) -> LogWriter {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(capacity.max(1));
        std::thread::spawn(move || {
            let mut text = String::new();
            while let Some(message) = rx.blocking_recv() {
                match message {
                    Message::Lines(batch) => {
                        text.clear();
                        for line in batch {
                            text.push_str(&line);
                            text.push('\n');
                        }
                        // A broken output cannot be reported anywhere better than here.
                        if out.write_all(text.as_bytes()).is_err() {
                            eprintln!("statejet: cannot write execution logs");
                        }
                        // Flushing once the queue is empty keeps a busy output's writes large.
                        if rx.is_empty() {
                            let _ = out.flush();
                        }
                    }
                    Message::Flush(done) => {
                        let _ = out.flush();
                        let _ = done.send(());
                    }
                }
            }
            let _ = out.flush();
        });
        LogWriter { tx }
    }

    /// Queues one execution's log lines, waiting while the writer is behind.
    pub async fn write(&self, lines: Vec<String>) {
        if !lines.is_empty() {
            // Fails only when the writer thread is gone, which ends the process's logging anyway.
            let _ = self.tx.send(Message::Lines(lines)).await;
        }
    }

    /// Waits until every line queued before this call is written and the output flushed.
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}
