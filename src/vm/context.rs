//! The Context Object (`$$`): facts about the execution, the state and the Map item.
//!
//! Invariant: built from values the runtime passes in (ids, names, times); the VM never reads a
//! clock to fill it.

use std::cell::OnceCell;

use serde_json::{json, Value};

/// What an execution knows about itself, fixed when it starts.
#[derive(Debug, Clone)]
pub struct ExecutionInfo {
    /// The execution ARN (`arn:aws:states:...:express:SM:NAME:UUID`).
    pub id: String,
    pub name: String,
    pub input: Value,
    pub role_arn: String,
    /// RFC 3339 start time, as AWS formats it.
    pub start_time: String,
    pub state_machine_id: String,
    pub state_machine_name: String,
    /// `Execution.RedriveCount`: present for Standard and asynchronous Express executions,
    /// absent for synchronous Express ones, as AWS records show.
    pub redrive_count: Option<u32>,
}

/// The Context Object for a state: `State.RetryCount` only for Task, Parallel and Map,
/// `Map.Item` only while a Map evaluates its `ItemSelector`, and `Task.Token` only in a Task
/// that waits for a task token (`.waitForTaskToken`).
pub fn object(
    execution: &ExecutionInfo,
    state_name: &str,
    entered_time: &str,
    retry_count: Option<u32>,
    map_item: Option<(usize, &Value)>,
    task_token: Option<&str>,
) -> Value {
    let mut state = json!({"EnteredTime": entered_time, "Name": state_name});
    if let Some(n) = retry_count {
        state["RetryCount"] = json!(n);
    }
    let mut ctx = json!({
        "Execution": {
            "Id": execution.id,
            "Input": execution.input,
            "Name": execution.name,
            "RoleArn": execution.role_arn,
            "StartTime": execution.start_time,
        },
        "State": state,
        "StateMachine": {"Id": execution.state_machine_id, "Name": execution.state_machine_name},
    });
    if let Some(n) = execution.redrive_count {
        ctx["Execution"]["RedriveCount"] = json!(n);
    }
    if let Some((index, value)) = map_item {
        ctx["Map"] = json!({"Item": {"Index": index, "Value": value}});
    }
    if let Some(token) = task_token {
        ctx["Task"] = json!({"Token": token});
    }
    ctx
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
/// do, and building it copies the execution's input.
pub struct Lazy<'a> {
    value: OnceCell<Value>,
    make: Box<dyn Fn() -> Value + 'a>,
}

impl<'a> Lazy<'a> {
    pub fn new(make: impl Fn() -> Value + 'a) -> Lazy<'a> {
        Lazy {
            value: OnceCell::new(),
            make: Box::new(make),
        }
    }

    /// A context that is already built.
    pub fn ready(value: Value) -> Lazy<'a> {
        Lazy {
            value: OnceCell::from(value),
            make: Box::new(|| Value::Null),
        }
    }

    pub fn get(&self) -> &Value {
        self.value.get_or_init(|| (self.make)())
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
