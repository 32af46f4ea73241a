//! The Context Object (`$$`): facts about the execution, the state and the Map item.
//!
//! Invariant: built from values the runtime passes in (ids, names, times); the VM never reads a
//! clock to fill it.

use std::cell::OnceCell;
use std::sync::Arc;

use crate::value::{Map, Value};

use crate::arn::Identity;
use crate::asl::path::Segment;
use crate::asl::MachineType;
use crate::compile::{BlockId, Program, StateId};

/// What an execution knows about itself, fixed when it starts. What is its machine's (role,
/// ARN, name) is shared with the machine, and its ARN, name and start time are text only when
/// read: a suspended execution holds this for as long as it waits.
#[derive(Debug, Clone)]
pub struct ExecutionInfo {
    /// Its ARN (`arn:aws:states:...:express:SM:NAME:UUID`) and name (`arn`, `name`).
    pub identity: Identity,
    pub input: Value,
    pub role_arn: Arc<str>,
    /// The type of its state machine, which decides (among others) how long it may run.
    pub machine_type: MachineType,
    /// Milliseconds since the Unix epoch (`start_time` gives the text).
    pub start_ms: u64,
    pub state_machine_id: Arc<str>,
    pub state_machine_name: Arc<str>,
    /// `Execution.RedriveCount`: present for Standard and asynchronous Express executions,
    /// absent for synchronous Express ones, as AWS records show.
    pub redrive_count: Option<u32>,
}

impl ExecutionInfo {
    /// The execution's ARN (`Execution.Id`).
    pub fn arn(&self) -> &str {
        self.identity.arn()
    }

    /// The execution's name.
    pub fn name(&self) -> &str {
        self.identity.name()
    }

    /// The ARN, taken out of the last reference to the execution (else copied).
    pub fn into_arn(execution: Arc<ExecutionInfo>) -> String {
        match Arc::try_unwrap(execution) {
            Ok(e) => e.identity.into_arn(),
            Err(e) => e.arn().to_owned(),
        }
    }

    /// `Execution.StartTime`: RFC 3339, as AWS formats it.
    pub fn start_time(&self) -> String {
        timestamp(self.start_ms)
    }
}

/// The Context Object for a state: `State.RetryCount` only for Task, Parallel and Map,
/// `Map.Item` only while a Map evaluates its `ItemSelector`, and `Task.Token` only in a Task
/// that waits for a task token (`.waitForTaskToken`). Without `with_input`,
/// `Execution.Input` is `null`: for reads that never reach it (`Lazy::reference_root`).
pub fn object(
    execution: &ExecutionInfo,
    state_name: &str,
    entered_time: &str,
    retry_count: Option<u32>,
    map_item: Option<(usize, &Value)>,
    with_input: bool,
    task_token: Option<&str>,
) -> Value {
    // Built field by field (no `json!`, which goes through serde): a Context Object is built
    // for every state that reads `$$`.
    let mut state = Map::with_capacity(3);
    state.push_new("EnteredTime", entered_time.into());
    state.push_new("Name", state_name.into());
    if let Some(n) = retry_count {
        state.push_new("RetryCount", n.into());
    }
    let mut exec = Map::with_capacity(6);
    exec.push_new("Id", execution.arn().into());
    let input = match with_input {
        true => execution.input.clone(),
        false => Value::Null,
    };
    exec.push_new("Input", input);
    exec.push_new("Name", execution.name().into());
    exec.push_new("RoleArn", (*execution.role_arn).into());
    exec.push_new("StartTime", execution.start_time().into());
    if let Some(n) = execution.redrive_count {
        exec.push_new("RedriveCount", n.into());
    }
    let mut machine = Map::with_capacity(2);
    machine.push_new("Id", (*execution.state_machine_id).into());
    machine.push_new("Name", (*execution.state_machine_name).into());
    let mut ctx = Map::with_capacity(5);
    ctx.push_new("Execution", exec.into());
    ctx.push_new("State", state.into());
    ctx.push_new("StateMachine", machine.into());
    if let Some((index, value)) = map_item {
        let mut item = Map::with_capacity(2);
        item.push_new("Index", index.into());
        item.push_new("Value", value.clone());
        let mut m = Map::with_capacity(1);
        m.push_new("Item", item.into());
        ctx.push_new("Map", m.into());
    }
    if let Some(token) = task_token {
        let mut t = Map::with_capacity(1);
        t.push_new("Token", token.into());
        ctx.push_new("Task", t.into());
    }
    Value::object(ctx)
}

/// Formats milliseconds since the epoch as AWS formats timestamps: UTC, `Z`, and fractional
/// seconds with trailing zeros removed.
pub fn timestamp(epoch_millis: u64) -> String {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(epoch_millis as i64).unwrap_or_default();
    let millis = epoch_millis % 1000;
    let mut out = String::with_capacity(24);
    if (0..=9999).contains(&t.year()) {
        // Digit by digit: every execution start and Context Object formats one, and chrono's
        // format strings cost ten times as much.
        let fields = [
            ('-', t.month()),
            ('-', t.day()),
            ('T', t.hour()),
            (':', t.minute()),
            (':', t.second()),
        ];
        push_digits(&mut out, t.year() as u32, 4);
        for (separator, n) in fields {
            out.push(separator);
            push_digits(&mut out, n, 2);
        }
    } else {
        out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    }
    if millis != 0 {
        let frac = format!(".{millis:03}");
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Appends the last `width` decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, n: u32, width: u32) {
    for p in (0..width).rev() {
        out.push(char::from(b'0' + (n / 10u32.pow(p) % 10) as u8));
    }
}

/// The Context Object of one state, built the first time a `$$` path reads it: most states never
/// do. Building it whole copies the execution's input, so a Reference Path into
/// `$$.Execution.Input` reads the input where it is, and one elsewhere reads a context built
/// without it: a Map whose `ItemSelector` reads `$$.Map.Item` costs no copy of the input per
/// item (which made a large Map's selection quadratic).
pub struct Lazy<'a> {
    whole: OnceCell<Value>,
    without_input: OnceCell<Value>,
    /// What the context is built from (absent for a context given whole). Plain facts rather
    /// than a boxed closure: every state makes a `Lazy` or two, and most never build it.
    facts: Option<Facts<'a>>,
}

/// What a state's Context Object says, before it is built.
pub struct Facts<'a> {
    pub execution: Arc<ExecutionInfo>,
    /// The state, by its program, block and index (its name is read only when built).
    pub program: Arc<Program>,
    pub block: BlockId,
    pub state: StateId,
    pub entered_ms: u64,
    pub retry_count: Option<u32>,
    pub map_item: Option<(usize, &'a Value)>,
    pub task_token: Option<Box<str>>,
}

impl Facts<'_> {
    fn build(&self, with_input: bool) -> Value {
        object(
            &self.execution,
            &self.program.instruction(self.block, self.state).name,
            &timestamp(self.entered_ms),
            self.retry_count,
            self.map_item,
            with_input,
            self.task_token.as_deref(),
        )
    }
}

impl<'a> Lazy<'a> {
    /// The context of the state `facts` describe.
    pub fn new(facts: Facts<'a>) -> Lazy<'a> {
        Lazy {
            whole: OnceCell::new(),
            without_input: OnceCell::new(),
            facts: Some(facts),
        }
    }

    /// The context of a state whose fields never read it (their definition has no `$$`):
    /// nothing to build it from, nothing to drop.
    pub fn unread() -> Lazy<'a> {
        Lazy {
            whole: OnceCell::new(),
            without_input: OnceCell::new(),
            facts: None,
        }
    }

    /// A context that is already built.
    pub fn ready(value: Value) -> Lazy<'a> {
        Lazy {
            whole: OnceCell::from(value),
            without_input: OnceCell::new(),
            facts: None,
        }
    }

    /// Builds the context, with or without `Execution.Input`.
    fn make(&self, with_input: bool) -> Value {
        self.facts
            .as_ref()
            .map_or(Value::Null, |f| f.build(with_input))
    }

    /// The whole context.
    pub fn get(&self) -> &Value {
        self.whole.get_or_init(|| self.make(true))
    }

    /// Where a Reference Path of `segments` (after `$$`) starts reading, and how many of its
    /// segments that start has consumed: the execution's own input for `Execution.Input...`,
    /// the context without its input for any other path that goes below `Execution`, else the
    /// whole context.
    pub fn reference_root(&self, segments: &[Segment]) -> (&Value, usize) {
        let field = |i: usize| match segments.get(i) {
            Some(Segment::Field(f)) => Some(f.as_str()),
            _ => None,
        };
        let Some(execution) = self.facts.as_ref().map(|f| &f.execution) else {
            return (self.get(), 0);
        };
        if self.whole.get().is_some() {
            return (self.get(), 0);
        }
        match (field(0), field(1)) {
            (Some("Execution"), Some("Input")) => (&execution.input, 2),
            (Some("Execution"), None) if segments.len() == 1 => (self.get(), 0),
            (Some(_), _) => (self.without_input.get_or_init(|| self.make(false)), 0),
            _ => (self.get(), 0),
        }
    }
}

#[cfg(test)]
mod tests {
    /// The digit-by-digit timestamp is chrono's `%Y-%m-%dT%H:%M:%S`, then AWS's fraction.
    #[test]
    fn timestamps_match_chrono() {
        for ms in [
            0,
            999,
            1_000,
            1_704_067_200_000,
            1_714_564_800_120,
            951_782_400_001,
            253_402_300_799_999,
            253_402_300_800_000,
        ] {
            let t = chrono::DateTime::from_timestamp_millis(ms as i64).unwrap();
            let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            let frac = format!("{:03}", ms % 1000);
            let expected = match frac.trim_end_matches('0') {
                "" => format!("{base}Z"),
                f => format!("{base}.{f}Z"),
            };
            assert_eq!(super::timestamp(ms), expected);
        }
    }
}
