//! A Distributed Map's S3 I/O as the VM sees it: the `ItemReader`'s request (an invocation the
//! driver performs like a Task's), the records of the children of a Map with a `ResultWriter`,
//! and the `ResultWriter`'s request or formatted output.
//!
//! Invariant: the VM still does no I/O: it evaluates the reader's and writer's `Parameters`
//! (or `Arguments`) and `MaxItems`, and `tasks::aws::s3io` does the reading and writing. A
//! child of a writer Map hands its driver `null` for a success (its output is in its record),
//! so the driver's 256 KiB bound on joined results does not apply to exported results.

use std::sync::{Arc, Mutex};

use crate::json;
use crate::value::Value;
use serde::{Deserialize, Serialize};

use super::flow::{as_integer, plain};
use super::*;
use crate::asl::machine::{
    InputType, IntegrationPattern, ItemReader, OutputType, ReaderSource, Resource, ResourceKind,
    ResultWriter, Transformation,
};

/// The error of every failure to read a Map's items.
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
/// The error of every failure to write a Map's results.
pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";

/// The most items a reader returns: larger `MaxItems` act as this cap, as AWS's do.
pub const MAX_ITEMS_CAP: u64 = 100_000_000;

/// The most a writer Map's records (its children's inputs and outputs, as JSON) may hold
/// until they are written: statejet keeps them in memory, where AWS streams them to S3. Past
/// it the records are dropped as they come and the Map fails with `States.ResultWriterFailed`.
pub const MAX_RECORD_BYTES: usize = 256 * 1024 * 1024;

/// What an `ItemReader` asks of S3, resolved: the payload of its invocation (under the key
/// `ItemReader`, which `tasks::aws::s3io` reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemRead {
    /// The `Parameters`/`Arguments` as evaluated: `Bucket`, `Key`, `VersionId`, `Prefix`...
    pub parameters: serde_json::Value,
    pub input_type: Option<InputType>,
    /// `None`: the CSV's first row is its header.
    pub csv_headers: Option<Vec<String>>,
    pub csv_delimiter: u8,
    /// At most this many items (1 to `MAX_ITEMS_CAP`); `None`: all of them.
    pub max_items: Option<u64>,
    pub items_pointer: Option<String>,
}

/// What a `ResultWriter` exports: the payload of its invocation (under `ResultWriter`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultWrite {
    /// `Bucket` and `Prefix`, as evaluated.
    pub parameters: serde_json::Value,
    pub output_type: OutputType,
    pub map_run_arn: String,
    pub succeeded: Vec<serde_json::Value>,
    pub failed: Vec<serde_json::Value>,
    pub pending: Vec<serde_json::Value>,
}

/// How a run takes part in a writer Map: the Map's run holds its children's records; each
/// child fills in its own.
pub(super) enum Recording {
    Parent {
        records: Records,
        next: usize,
    },
    Child {
        records: Records,
        index: usize,
        input: Value,
        started_ms: u64,
    },
}

/// The records of a writer Map's children, by child number (`None`: not ended), with their
/// size so far; `over`: past `MAX_RECORD_BYTES`, so records are no longer kept.
pub(super) type Records = Arc<Mutex<Kept>>;

#[derive(Default)]
pub(super) struct Kept {
    list: Vec<Option<Record>>,
    bytes: usize,
    over: bool,
}

/// One child's run: what the `ResultWriter` writes of it.
pub(super) struct Record {
    input: Value,
    started_ms: u64,
    stopped_ms: u64,
    result: Result<Value, Failure>,
}

/// The S3 resource a reader or writer invokes (a service integration of the AWS resource).
fn s3_resource(action: &str) -> Resource {
    Resource {
        arn: format!("arn:aws:states:::s3:{action}"),
        kind: ResourceKind::Service {
            service: "s3".to_owned(),
            action: action.to_owned(),
            pattern: IntegrationPattern::RequestResponse,
        },
    }
}

/// A failure of the reader's call as AWS names it: `States.ItemReaderFailed`, whatever the
/// resource reported (its own error named in the cause).
pub(super) fn reader_failure(f: Failure) -> Failure {
    if f.error == ITEM_READER_FAILED || f.is_terminal() {
        return f;
    }
    Failure::new(ITEM_READER_FAILED, format!("{}: {}", f.error, f.cause))
}

/// Like `reader_failure`, for the writer's call.
pub(super) fn writer_failure(f: Failure) -> Failure {
    if f.error == RESULT_WRITER_FAILED || f.is_terminal() {
        return f;
    }
    Failure::new(RESULT_WRITER_FAILED, format!("{}: {}", f.error, f.cause))
}

impl Run {
    /// The invocation that reads a Map's items: its `Parameters`/`Arguments` and `MaxItems`
    /// evaluated against the effective input.
    pub(super) fn read_items(&mut self, reader: &ItemReader) -> Result<Invocation, Failure> {
        let parameters = self.io_arguments(reader.arguments.as_ref(), "ItemReader")?;
        let config = &reader.config;
        let max_items = match &config.max_items {
            None => None,
            Some(Dynamic::Path(p)) => {
                let v = self.path_value(p)?;
                match as_integer(&v) {
                    None => {
                        return Err(Failure::runtime(format!(
                            "The MaxItemsPath field refers to value \"{}\" which is not a valid integer: {}",
                            plain(&v),
                            p.text
                        )))
                    }
                    Some(n) if n < 0 => {
                        return Err(Failure::new(
                            ITEM_READER_FAILED,
                            "field MaxItems must be positive",
                        ))
                    }
                    Some(n) => Some(n as u64),
                }
            }
            Some(Dynamic::Expr(e)) => {
                let n = self.jsonata_integer(e, "MaxItems")?;
                if n < 0 {
                    return Err(Failure::new(
                        ITEM_READER_FAILED,
                        "field MaxItems must be positive",
                    ));
                }
                Some(n as u64)
            }
            Some(Dynamic::Fixed(n)) => Some(*n),
        };
        let read = ItemRead {
            parameters: parameters.into_serde(),
            input_type: config.input_type,
            csv_headers: config.csv_headers.clone(),
            csv_delimiter: config.csv_delimiter,
            // 0 is no limit.
            max_items: max_items.filter(|n| *n > 0).map(|n| n.min(MAX_ITEMS_CAP)),
            items_pointer: config.items_pointer.clone(),
        };
        let action = match reader.source {
            ReaderSource::GetObject => "getObject",
            ReaderSource::ListObjectsV2 => "listObjectsV2",
        };
        Ok(self.io_invocation(action, json!({ "ItemReader": read })))
    }

    /// `Parameters` (a payload template) or `Arguments` (JSONata) of a reader or writer, as
    /// an object.
    fn io_arguments(&mut self, args: Option<&ItemSelector>, field: &str) -> Result<Value, Failure> {
        let v = match args {
            None => return Ok(json!({})),
            Some(ItemSelector::JsonPath(t)) => {
                let ctx = self.context(true, None);
                let roots = Roots {
                    input: &self.effective,
                    context: Some(&ctx),
                    variables: &self.variables,
                };
                template::eval(t, &roots, &mut *self.random)?
            }
            Some(ItemSelector::Jsonata(t)) => {
                let b = self.bindings(None, None, None);
                query::eval_tree(t, &format!("{field}/Arguments"), &b, &mut *self.random)?
            }
        };
        match v {
            Value::Object(_) => Ok(v),
            other => Err(Failure::runtime(format!(
                "The {field}'s parameters must be an object, not {other}"
            ))),
        }
    }

    fn io_invocation(&self, action: &str, payload: Value) -> Invocation {
        Invocation {
            state: self.current().name.clone(),
            resource: s3_resource(action),
            payload,
            timeout_seconds: None,
            heartbeat_seconds: None,
            task_token: None,
            progress: Progress::default(),
            execution: self.execution.clone(),
        }
    }

    /// Makes this run record the `count` children it is about to fork (a writer Map).
    pub(super) fn record_children(&mut self, count: usize) {
        self.recording = Some(Box::new(Recording::Parent {
            records: Arc::new(Mutex::new(Kept {
                list: (0..count).map(|_| None).collect(),
                ..Kept::default()
            })),
            next: 0,
        }));
    }

    /// The recording of the next child this run makes, if it records its children.
    pub(super) fn child_recording(&mut self, input: &Value) -> Option<Box<Recording>> {
        match self.recording.as_deref_mut() {
            Some(Recording::Parent { records, next }) => {
                let index = *next;
                *next += 1;
                Some(Box::new(Recording::Child {
                    records: records.clone(),
                    index,
                    input: input.clone(),
                    started_ms: 0,
                }))
            }
            _ => None,
        }
    }

    /// Notes a recorded child's start.
    pub(super) fn recording_started(&mut self, now: u64) {
        if let Some(Recording::Child { started_ms, .. }) = self.recording.as_deref_mut() {
            *started_ms = now;
        }
    }

    /// The block's end as its driver sees it: a recorded child keeps its output in its record
    /// and hands back `null`.
    pub(super) fn done(&mut self, result: Result<Value, Failure>) -> Action {
        let Some(Recording::Child {
            records,
            index,
            input,
            started_ms,
        }) = self.recording.take().map(|r| *r)
        else {
            return Action::Done(result);
        };
        let reported = match &result {
            Ok(_) => Ok(Value::Null),
            Err(f) => Err(f.clone()),
        };
        let size = json_size_within(&input, MAX_RECORD_BYTES)
            + match &result {
                Ok(v) => json_size_within(v, MAX_RECORD_BYTES),
                Err(f) => f.error.len() + f.cause.len(),
            };
        let mut kept = records.lock().unwrap_or_else(|p| p.into_inner());
        kept.bytes = kept.bytes.saturating_add(size);
        if kept.bytes > MAX_RECORD_BYTES {
            // Nothing more is kept; the writer fails the Map.
            kept.over = true;
            kept.list.clear();
        }
        let over = kept.over;
        if let Some(slot) = kept.list.get_mut(index).filter(|_| !over) {
            *slot = Some(Record {
                input,
                started_ms,
                stopped_ms: self.now_ms,
                result,
            });
        }
        Action::Done(reported)
    }

    /// After a writer Map's children: its formatted output (`WriterConfig` alone), or the
    /// invocation that exports the results. `failure`: the children's failure (past the
    /// tolerance), which the Map reports once the results are written.
    pub(super) fn write_results(
        &mut self,
        m: &crate::compile::Map,
        writer: &ResultWriter,
    ) -> Result<Result<Invocation, Value>, Failure> {
        let kept = match self.recording.take().map(|r| *r) {
            Some(Recording::Parent { records, .. }) => {
                std::mem::take(&mut *records.lock().unwrap_or_else(|p| p.into_inner()))
            }
            _ => Kept::default(),
        };
        if kept.over {
            return Err(Failure::new(
                RESULT_WRITER_FAILED,
                format!(
                    "the Map's results are larger than statejet holds until it writes them ({} MiB)",
                    MAX_RECORD_BYTES / (1024 * 1024)
                ),
            ));
        }
        let records = kept.list;
        let uuid = self.uuid();
        let (map_run_arn, child_machine) = self.map_run_arn(m, &uuid);
        let mut succeeded = Vec::new();
        let mut failed = Vec::new();
        for r in records.into_iter().flatten() {
            match r.result {
                Ok(output) => match writer.transformation {
                    Transformation::None => {
                        let name = self.uuid();
                        succeeded.push(record(
                            &child_machine,
                            &name,
                            &r.input,
                            r.started_ms,
                            r.stopped_ms,
                            Ok(&output),
                        ));
                    }
                    Transformation::Compact => succeeded.push(output),
                    Transformation::Flatten => match output {
                        Value::Array(items) => succeeded.extend(items),
                        other => succeeded.push(other),
                    },
                },
                // A failed child is written as its record whatever the transformation.
                Err(f) => {
                    let name = self.uuid();
                    failed.push(record(
                        &child_machine,
                        &name,
                        &r.input,
                        r.started_ms,
                        r.stopped_ms,
                        Err(&f),
                    ));
                }
            }
        }
        let Some(export) = &writer.export else {
            succeeded.extend(failed);
            return Ok(Err(Value::array(succeeded)));
        };
        let parameters = self.io_arguments(Some(export), "ResultWriter")?;
        let write = ResultWrite {
            parameters: parameters.into_serde(),
            output_type: writer.output_type,
            map_run_arn,
            succeeded: succeeded.into_iter().map(Value::into_serde).collect(),
            failed: failed.into_iter().map(Value::into_serde).collect(),
            pending: Vec::new(),
        };
        Ok(Ok(self.io_invocation(
            "putObject",
            json!({ "ResultWriter": write }),
        )))
    }

    /// A random UUID (version 4 layout) from the run's random stream.
    fn uuid(&mut self) -> String {
        let (a, b) = ((self.random)(), (self.random)());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// The Map Run's ARN (`…:mapRun:MACHINE/LABEL:UUID`) and the ARN of the state machine its
    /// children run (`…:stateMachine:MACHINE/LABEL`).
    fn map_run_arn(&self, m: &crate::compile::Map, uuid: &str) -> (String, String) {
        let label = m
            .label
            .clone()
            .unwrap_or_else(|| self.current().name.clone());
        let machine = &self.execution.state_machine_id;
        let child_machine = format!("{machine}/{label}");
        let run = match machine.split_once(":stateMachine:") {
            Some((head, name)) => format!("{head}:mapRun:{name}/{label}:{uuid}"),
            None => format!("{machine}/{label}:{uuid}"),
        };
        (run, child_machine)
    }
}

/// A record's date: ISO-8601 with milliseconds, as statejet's aws-sdk results give dates.
fn iso(epoch_millis: u64) -> String {
    chrono::DateTime::from_timestamp_millis(epoch_millis as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A child execution's record, as DescribeExecution shows one (AWS's `NONE` transformation).
fn record(
    child_machine: &str,
    name: &str,
    input: &Value,
    started_ms: u64,
    stopped_ms: u64,
    result: Result<&Value, &Failure>,
) -> Value {
    let execution = match child_machine.split_once(":stateMachine:") {
        Some((head, tail)) => format!("{head}:execution:{tail}:{name}"),
        None => format!("{child_machine}:{name}"),
    };
    let mut r = json!({
        "ExecutionArn": execution,
        "Input": input.to_string(),
        "InputDetails": {"Included": true},
        "Name": name,
        "RedriveCount": 0,
        "StartDate": iso(started_ms),
        "StateMachineArn": child_machine,
        "StopDate": iso(stopped_ms),
    });
    let fields = r.as_object_mut().expect("a record is an object");
    match result {
        Ok(output) => {
            fields.insert("Output", Value::string(output.to_string()));
            fields.insert("OutputDetails", json!({"Included": true}));
            fields.insert("RedriveStatus", json!("NOT_REDRIVABLE"));
            fields.insert(
                "RedriveStatusReason",
                json!("Execution is SUCCEEDED and cannot be redriven"),
            );
            fields.insert("Status", json!("SUCCEEDED"));
        }
        Err(f) => {
            fields.insert("Error", Value::from(f.error.as_str()));
            fields.insert("Cause", Value::from(f.cause.as_str()));
            fields.insert("RedriveStatus", json!("NOT_REDRIVABLE"));
            fields.insert(
                "RedriveStatusReason",
                json!("statejet does not redrive executions"),
            );
            fields.insert("Status", json!("FAILED"));
        }
    }
    // In the order AWS's files show the fields: by name.
    fields.sort_keys();
    r
}
