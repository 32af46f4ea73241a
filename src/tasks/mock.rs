//! Mocked Task responses in Step Functions Local's format (`MockConfigFile.json`): state
//! machines → test cases → (Task state → mocked response), each mocked response numbered per
//! invocation (`"0"`, `"1-2"`) with a `Return` or a `Throw`. An execution started with
//! `stateMachineArn#TestCase` (or `statejet run --test-case`) holds a `Session`; while it runs,
//! the Router asks `Mocks::answer` first, and a state the test case names is answered from its
//! responses in call order (every attempt, retries included, takes the next one).
//!
//! Invariant: a mock file is checked whole when read (every error names the place); a session
//! lives exactly as long as its `Guard`, held by whatever awaits the execution's end.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{Answer, TaskResult};
use crate::asl::machine::{Block, ResourceKind, StateKind, StateMachine};
use crate::vm::run::Invocation;
use crate::vm::Failure;

/// One numbered answer.
#[derive(Debug, Clone)]
enum Response {
    /// In statejet's value type: each answer is a shared copy.
    Return(crate::value::Value),
    Throw {
        error: String,
        cause: String,
    },
}

/// A mocked response: answers by invocation number, from 0 without gaps.
#[derive(Debug)]
struct Responses {
    /// `(last invocation number, answer)`, in order; the first covers from 0.
    ranges: Vec<(usize, Response)>,
}

impl Responses {
    fn get(&self, n: usize) -> Option<&Response> {
        self.ranges
            .iter()
            .find(|(last, _)| n <= *last)
            .map(|(_, r)| r)
    }
}

/// A test case: Task state name → its mocked response.
type TestCase = HashMap<String, Arc<Responses>>;

/// A mock configuration file, checked.
#[derive(Debug, Default)]
pub struct Mocks {
    /// State machine name → test case name → test case.
    machines: HashMap<String, HashMap<String, Arc<TestCase>>>,
    /// The running executions that use a test case, by (state machine name, execution name).
    active: Mutex<HashMap<(String, String), Arc<Session>>>,
}

/// A running execution's test case and how often each mocked state was called.
#[derive(Debug)]
struct Session {
    machine: String,
    case_name: String,
    case: Arc<TestCase>,
    calls: Mutex<HashMap<String, usize>>,
}

/// Keeps a session active; dropping it ends the session.
#[must_use]
pub struct Guard {
    mocks: Arc<Mocks>,
    key: Option<(String, String)>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            if let Ok(mut a) = self.mocks.active.lock() {
                a.remove(&k);
            }
        }
    }
}

/// Why an execution cannot start with a test case.
#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    /// Step Functions Local's `InvalidName` (LocalStack's words).
    #[error("Invalid mock test case name '{case}' for state machine '{machine}'.Either the test case is not defined or the mock configuration file could not be loaded. See logs for details.")]
    UnknownCase { machine: String, case: String },
    /// A test case that names a state the definition has not, or one that is not a Task.
    #[error("the mock test case '{case}' of state machine '{machine}' names the state '{state}', which is not a Task state of its definition")]
    NotATask {
        machine: String,
        case: String,
        state: String,
    },
    #[error("an execution named '{name}' of state machine '{machine}' already runs with mock test case '{running}'; mocked executions need distinct names")]
    Busy {
        machine: String,
        name: String,
        running: String,
    },
}

fn at_err(at: &str, m: impl std::fmt::Display) -> String {
    format!("{at}: {m}")
}

impl Mocks {
    /// Reads a mock configuration file; an error names the file and the place in it.
    pub fn from_file(path: &Path) -> Result<Mocks, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the mock configuration {}: {e}", path.display()))?;
        Mocks::parse(&text).map_err(|e| format!("mock configuration {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Mocks, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let top = v.as_object().ok_or(
            "the file must be a JSON object with \"StateMachines\" and \"MockedResponses\"",
        )?;
        for k in top.keys() {
            if k != "StateMachines" && k != "MockedResponses" {
                return Err(format!(
                    "unknown field '{k}' at the top level (a mock configuration has \"StateMachines\" and \"MockedResponses\")"
                ));
            }
        }
        let responses = match top.get("MockedResponses") {
            None => serde_json::Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err("/MockedResponses must be an object".into()),
        };
        let mut parsed: HashMap<String, Arc<Responses>> = HashMap::new();
        for (name, r) in &responses {
            let at = format!("/MockedResponses/{name}");
            parsed.insert(name.clone(), Arc::new(read_responses(r, &at)?));
        }
        let machines_v = match top.get("StateMachines") {
            None => serde_json::Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err("/StateMachines must be an object".into()),
        };
        let mut machines = HashMap::new();
        for (machine, m) in &machines_v {
            let at = format!("/StateMachines/{machine}");
            let m = m
                .as_object()
                .ok_or_else(|| at_err(&at, "must be an object with \"TestCases\""))?;
            if let Some(k) = m.keys().find(|k| *k != "TestCases") {
                return Err(at_err(
                    &at,
                    format!("unknown field '{k}' (only \"TestCases\")"),
                ));
            }
            let cases = match m.get("TestCases") {
                Some(Value::Object(c)) => c,
                Some(_) => return Err(at_err(&format!("{at}/TestCases"), "must be an object")),
                None => return Err(at_err(&at, "\"TestCases\" is required")),
            };
            let mut by_case = HashMap::new();
            for (case, states) in cases {
                let at = format!("{at}/TestCases/{case}");
                let states = states.as_object().ok_or_else(|| {
                    at_err(
                        &at,
                        "must be an object of Task state names to mocked response names",
                    )
                })?;
                let mut tc = TestCase::new();
                for (state, response) in states {
                    let at = format!("{at}/{state}");
                    let Some(name) = response.as_str() else {
                        return Err(at_err(
                            &at,
                            "must be the name of a mocked response (a string)",
                        ));
                    };
                    let Some(r) = parsed.get(name) else {
                        return Err(at_err(
                            &at,
                            format!("names the mocked response '{name}', which MockedResponses does not define"),
                        ));
                    };
                    tc.insert(state.clone(), r.clone());
                }
                by_case.insert(case.clone(), Arc::new(tc));
            }
            machines.insert(machine.clone(), by_case);
        }
        Ok(Mocks {
            machines,
            active: Mutex::default(),
        })
    }

    /// Whether `machine` has the test case `case`.
    pub fn has_case(&self, machine: &str, case: &str) -> bool {
        self.machines
            .get(machine)
            .is_some_and(|c| c.contains_key(case))
    }

    /// Starts the session of execution `name` of `machine` with test case `case`. The same
    /// test case for a running execution of that name answers that session (a Standard start
    /// repeated while it runs is that execution again), with a guard that ends nothing.
    pub fn begin(
        self: &Arc<Mocks>,
        machine: &str,
        name: &str,
        case: &str,
        definition: &StateMachine,
    ) -> Result<Guard, BeginError> {
        let Some(tc) = self.machines.get(machine).and_then(|c| c.get(case)) else {
            return Err(BeginError::UnknownCase {
                machine: machine.to_owned(),
                case: case.to_owned(),
            });
        };
        // Only Task states call out; a name that is none of them would be a mock never used.
        let mut tasks = Vec::new();
        task_names(&definition.top, &mut tasks);
        let mut named: Vec<&String> = tc.keys().collect();
        named.sort();
        if let Some(state) = named.into_iter().find(|s| !tasks.contains(&s.as_str())) {
            return Err(BeginError::NotATask {
                machine: machine.to_owned(),
                case: case.to_owned(),
                state: state.clone(),
            });
        }
        let key = (machine.to_owned(), name.to_owned());
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = active.get(&key) {
            if s.case_name == case {
                return Ok(Guard {
                    mocks: self.clone(),
                    key: None,
                });
            }
            return Err(BeginError::Busy {
                machine: machine.to_owned(),
                name: name.to_owned(),
                running: s.case_name.clone(),
            });
        }
        active.insert(
            key.clone(),
            Arc::new(Session {
                machine: machine.to_owned(),
                case_name: case.to_owned(),
                case: tc.clone(),
                calls: Mutex::default(),
            }),
        );
        Ok(Guard {
            mocks: self.clone(),
            key: Some(key),
        })
    }

    /// The mocked answer to `inv`, when its execution runs a test case that names its state.
    pub fn answer(&self, inv: &Invocation) -> Option<Answer> {
        let session = {
            let active = self.active.lock().unwrap_or_else(|e| e.into_inner());
            if active.is_empty() {
                return None;
            }
            let key = (
                inv.execution.state_machine_name.to_string(),
                inv.execution.name().to_owned(),
            );
            active.get(&key)?.clone()
        };
        let responses = session.case.get(&inv.state)?;
        let n = {
            let mut calls = session.calls.lock().unwrap_or_else(|e| e.into_inner());
            let c = calls.entry(inv.state.clone()).or_insert(0);
            let n = *c;
            *c += 1;
            n
        };
        let result: TaskResult = match responses.get(n) {
            None => Err(Failure::runtime(format!(
                "No Local mocked response definition for state '{}' and invocation number '{n}' (test case '{}' of state machine '{}')",
                inv.state, session.case_name, session.machine
            ))),
            Some(Response::Throw { error, cause }) => Err(Failure::new(error, cause)),
            // A Lambda function's ARN as the resource: its result is the Invoke response's
            // Payload, as for the unmocked call.
            Some(Response::Return(v)) => Ok(match (&inv.resource.kind, v.get("Payload")) {
                (ResourceKind::Lambda { .. }, Some(p)) => p.clone(),
                _ => v.clone(),
            }),
        };
        Some(Answer::Now(result))
    }
}

/// The names of the Task states of `block` and of the blocks inside it.
fn task_names<'a>(block: &'a Block, out: &mut Vec<&'a str>) {
    for s in &block.states {
        match &s.kind {
            StateKind::Task(_) => out.push(&s.name),
            StateKind::Parallel(p) => p.branches.iter().for_each(|b| task_names(b, out)),
            StateKind::Map(m) => task_names(&m.processor, out),
            _ => {}
        }
    }
}

/// A mocked response: `{"0": {...}, "1-2": {...}}`, numbered from 0 without gap or overlap.
fn read_responses(v: &Value, at: &str) -> Result<Responses, String> {
    let o = v.as_object().ok_or_else(|| {
        at_err(
            at,
            "must be an object of invocation numbers (\"0\", \"1-2\") to responses",
        )
    })?;
    let mut ranges: Vec<(usize, usize, Response)> = Vec::new();
    for (key, r) in o {
        let at = format!("{at}/{key}");
        let number = |s: &str| {
            s.trim().parse::<usize>().map_err(|_| {
                at_err(
                    &at,
                    "the key must be an invocation number (\"3\") or an inclusive range (\"1-2\")",
                )
            })
        };
        let (first, last) = match key.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let n = number(key)?;
                (n, n)
            }
        };
        if last < first {
            return Err(at_err(&at, "the range ends before it starts"));
        }
        let r = r
            .as_object()
            .ok_or_else(|| at_err(&at, "must be an object with \"Return\" or \"Throw\""))?;
        if let Some(k) = r.keys().find(|k| *k != "Return" && *k != "Throw") {
            return Err(at_err(
                &at,
                format!("unknown field '{k}' (only \"Return\" or \"Throw\")"),
            ));
        }
        let response = match (r.get("Return"), r.get("Throw")) {
            (Some(v), None) => Response::Return(v.into()),
            (None, Some(t)) => {
                let at = format!("{at}/Throw");
                let t = t
                    .as_object()
                    .ok_or_else(|| at_err(&at, "must be an object with \"Error\" and \"Cause\""))?;
                if let Some(k) = t.keys().find(|k| *k != "Error" && *k != "Cause") {
                    return Err(at_err(
                        &at,
                        format!("unknown field '{k}' (only \"Error\" and \"Cause\")"),
                    ));
                }
                let field = |name: &str| match t.get(name) {
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(_) => Err(at_err(&at, format!("\"{name}\" must be a string"))),
                    None => Err(at_err(&at, format!("\"{name}\" is required"))),
                };
                Response::Throw {
                    error: field("Error")?,
                    cause: field("Cause")?,
                }
            }
            (Some(_), Some(_)) => {
                return Err(at_err(
                    &at,
                    "has both \"Return\" and \"Throw\"; a response is one of them",
                ))
            }
            (None, None) => return Err(at_err(&at, "needs \"Return\" or \"Throw\"")),
        };
        ranges.push((first, last, response));
    }
    ranges.sort_by_key(|(first, _, _)| *first);
    let mut next = 0;
    for (first, last, _) in &ranges {
        if *first != next {
            return Err(at_err(
                at,
                format!(
                    "inconsistent invocation numbering: expected a response for invocation {next}, found one starting at {first} (numbers start at 0 and run without gaps or overlaps)"
                ),
            ));
        }
        next = last + 1;
    }
    if ranges.is_empty() {
        return Err(at_err(at, "defines no response"));
    }
    Ok(Responses {
        ranges: ranges.into_iter().map(|(_, last, r)| (last, r)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_has_no_gaps() {
        let e =
            Mocks::parse(r#"{"MockedResponses": {"R": {"0": {"Return": 1}, "2": {"Return": 2}}}}"#)
                .unwrap_err();
        assert!(e.starts_with("/MockedResponses/R: inconsistent invocation numbering: expected a response for invocation 1"), "{e}");
    }

    #[test]
    fn a_test_case_names_defined_responses() {
        let e = Mocks::parse(
            r#"{"StateMachines": {"M": {"TestCases": {"T": {"S": "Nope"}}}}, "MockedResponses": {}}"#,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "/StateMachines/M/TestCases/T/S: names the mocked response 'Nope', which MockedResponses does not define"
        );
    }
}
