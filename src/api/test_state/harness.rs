//! The machine a tested state runs in, built from the validated definition, and the driver that
//! runs it.
//!
//! The tested state is copied out of its block under AWS's harness name (`StateName`), every
//! state it can go to stands in as a `Succeed` placeholder, and its `Retry` is taken out
//! (TestState reports a retriable error instead of retrying). Invariant: the tested state keeps
//! its own fields, query language and nested blocks exactly as validated.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::bad_definition;
use crate::api::wire::ApiError;
use crate::asl::machine::{
    Block, Flow, QueryLanguage, ResultPath, Retrier, Select, State, StateKind, StateMachine,
    StateRef, Succeed, Transition,
};
use crate::asl::{self, Diagnostic, MachineType};
use crate::compile::{self, Program};
use crate::vm::context::ExecutionInfo;
use crate::vm::run::{Action, Children, Event, Fork, Inspection, Invocation, Journal, Run};
use crate::vm::Failure;

/// The name AWS runs a tested state under, whatever it is called in its definition (its
/// diagnostics say `/States/StateName/...`, its Context Object `State.Name: "StateName"`).
pub const HARNESS_NAME: &str = "StateName";

/// The tested state (as validated, with its `Retry`) and the machine built around it.
pub struct Harness {
    pub state: State,
    pub machine: StateMachine,
    /// Placeholder state name → the name of the state it stands for.
    placeholders: HashMap<String, String>,
}

/// What a run of the harness did.
pub struct Ran {
    /// How the run ended: the tested state's output (possibly after a catch), or its failure.
    pub result: Result<Value, Failure>,
    /// The answer to the tested state's work (task call or mocked children), if it did any.
    pub work: Option<Result<Value, Failure>>,
    /// The state the tested state went to, by its name in the definition.
    pub next: Option<String>,
    /// The data-flow stages the interpreter noted, in order.
    pub stages: Vec<(&'static str, Value)>,
    pub variables: Map<String, Value>,
}

fn validated(value: &Value) -> Result<StateMachine, ApiError> {
    // STANDARD rules: with a mock, `.sync` and `.waitForTaskToken` tasks are testable.
    let config = asl::Config {
        machine_type: MachineType::Standard,
    };
    asl::validate_value(value, &config).map_err(|d| {
        let all: Vec<String> = d.iter().map(Diagnostic::to_string).collect();
        bad_definition(all.join(", "))
    })
}

/// The first state called `name`: in the block itself, then in the blocks nested in its states
/// (Map processors, Parallel branches), depth first.
fn find<'a>(block: &'a Block, name: &str) -> Option<(&'a Block, usize)> {
    if let Some(i) = block.states.iter().position(|s| s.name == name) {
        return Some((block, i));
    }
    block.states.iter().find_map(|s| match &s.kind {
        StateKind::Map(m) => find(&m.processor, name),
        StateKind::Parallel(p) => p.branches.iter().find_map(|b| find(b, name)),
        _ => None,
    })
}

/// The names a lone state's transitions point to. A lone state's targets are not in its
/// definition, so they are read from the text to stand in for them before validation.
fn lone_targets(state: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |v: Option<&Value>| {
        if let Some(Value::String(t)) = v {
            if t != HARNESS_NAME && !out.contains(t) {
                out.push(t.clone());
            }
        }
    };
    add(state.get("Next"));
    add(state.get("Default"));
    for list in ["Choices", "Catch"] {
        if let Some(Value::Array(items)) = state.get(list) {
            for item in items {
                add(item.get("Next"));
            }
        }
    }
    out
}

fn next_of(t: &mut Transition) -> Option<&mut StateRef> {
    match t {
        Transition::Next(r) => Some(r),
        Transition::End => None,
    }
}

fn placeholder(name: String) -> State {
    State {
        name,
        comment: None,
        query_language: QueryLanguage::JsonPath,
        kind: StateKind::Succeed(Succeed {
            flow: Flow::JsonPath {
                input_path: Select::Whole,
                parameters: None,
                result_selector: None,
                result_path: ResultPath::Replace,
                output_path: Select::Whole,
            },
        }),
    }
}

impl Harness {
    /// The harness for `definition` (a whole machine when `state_name` is given, else one state).
    pub fn build(definition: &Value, state_name: Option<&str>) -> Result<Harness, ApiError> {
        let machine = match state_name {
            Some(_) => validated(definition)?,
            None => {
                let Value::Object(state) = definition else {
                    return Err(bad_definition(
                        "SCHEMA_VALIDATION_FAILED: a state must be a JSON object",
                    ));
                };
                let mut states = Map::new();
                states.insert(HARNESS_NAME.into(), definition.clone());
                for t in lone_targets(state) {
                    states.insert(t, serde_json::json!({"Type": "Succeed"}));
                }
                validated(&serde_json::json!({"StartAt": HARNESS_NAME, "States": states}))?
            }
        };
        let name = state_name.unwrap_or(HARNESS_NAME);
        let (block, index) = find(&machine.top, name)
            .ok_or_else(|| ApiError::new("ValidationException", "State not found in definition"))?;
        Ok(Harness::around(block, index, machine.query_language))
    }

    fn around(block: &Block, index: usize, language: QueryLanguage) -> Harness {
        let original = block.states[index].clone();
        let mut state = original.clone();
        state.name = HARNESS_NAME.into();
        // (placeholder name, the name of the state it stands for), in harness order.
        let mut names: Vec<(String, String)> = Vec::new();
        let mut remap = |r: &mut StateRef| {
            let target = block.states[r.index()].name.clone();
            let alias = if target == HARNESS_NAME {
                format!("{HARNESS_NAME} (next)")
            } else {
                target.clone()
            };
            let at = names
                .iter()
                .position(|(n, _)| *n == alias)
                .unwrap_or_else(|| {
                    names.push((alias, target));
                    names.len() - 1
                });
            *r = StateRef(1 + at as u32);
        };
        match &mut state.kind {
            StateKind::Pass(p) => {
                if let Some(r) = next_of(&mut p.transition) {
                    remap(r)
                }
            }
            StateKind::Wait(w) => {
                if let Some(r) = next_of(&mut w.transition) {
                    remap(r)
                }
            }
            StateKind::Task(t) => {
                if let Some(r) = next_of(&mut t.transition) {
                    remap(r)
                };
                t.retry.clear();
                t.catch.iter_mut().for_each(|c| remap(&mut c.next));
            }
            StateKind::Parallel(p) => {
                if let Some(r) = next_of(&mut p.transition) {
                    remap(r)
                };
                p.retry.clear();
                p.catch.iter_mut().for_each(|c| remap(&mut c.next));
            }
            StateKind::Map(m) => {
                if let Some(r) = next_of(&mut m.transition) {
                    remap(r)
                };
                m.retry.clear();
                m.catch.iter_mut().for_each(|c| remap(&mut c.next));
            }
            StateKind::Choice(c) => {
                c.choices.iter_mut().for_each(|r| remap(&mut r.next));
                if let Some(d) = &mut c.default {
                    remap(d);
                }
            }
            StateKind::Succeed(_) | StateKind::Fail(_) => {}
        }
        let mut states = vec![state];
        states.extend(names.iter().map(|(n, _)| placeholder(n.clone())));
        let placeholders = names.into_iter().collect();
        let machine = StateMachine {
            comment: None,
            version: None,
            timeout_seconds: None,
            query_language: language,
            top: Block {
                comment: None,
                start_at: StateRef(0),
                states,
            },
        };
        Harness {
            state: original,
            machine,
            placeholders,
        }
    }

    /// The tested state's `Retry`, as validated (defaults filled in).
    pub fn retriers(&self) -> &[Retrier] {
        match &self.state.kind {
            StateKind::Task(t) => &t.retry,
            StateKind::Parallel(p) => &p.retry,
            StateKind::Map(m) => &m.retry,
            _ => &[],
        }
    }

    /// The index of the first catcher of the tested state that takes `f`.
    pub fn catcher(&self, f: &Failure) -> Option<usize> {
        let catch = match &self.state.kind {
            StateKind::Task(t) => &t.catch,
            StateKind::Parallel(p) => &p.catch,
            StateKind::Map(m) => &m.catch,
            _ => return None,
        };
        catch.iter().position(|c| f.matches(&c.error_equals))
    }

    pub fn program(&self) -> Arc<Program> {
        Arc::new(compile::compile(self.machine.clone()))
    }
}

/// What answers the tested state's work: its task calls, and (mocked) its children as a whole.
pub trait Answer {
    fn invoke(&self, inv: &Invocation) -> Result<Value, Failure>;
    fn fork(&self, fork: &Fork) -> Result<Value, Failure>;
}

/// Runs the harness once on the calling thread; sleeps (a Wait, nothing else: Retry is out)
/// are skipped, so a tested Wait does not hold the caller.
pub fn run(
    harness: &Harness,
    execution: Arc<ExecutionInfo>,
    context: Value,
    variables: Map<String, Value>,
    answer: &dyn Answer,
    now: u64,
) -> Ran {
    let inspection = Inspection::default();
    let mut run = Run::top(
        harness.program(),
        execution,
        crate::runtime::random_stream(now),
    )
    // The request speaks serde_json's type; the run, statejet's own.
    .with_variables(
        variables
            .into_iter()
            .map(|(k, v)| (k, crate::value::Value::from(v)))
            .collect(),
    )
    .with_context(context.into())
    .inspected(inspection.clone());
    let mut journal = Journal::started();
    let mut work = None;
    let mut event = Event::Start;
    let mut now = now;
    let result = loop {
        event = match run.resume(event, now, &mut journal) {
            Action::Done(result) => break result,
            Action::Sleep { until_ms } => {
                now = now.max(until_ms);
                Event::Woke
            }
            Action::Invoke(inv) => {
                let r = answer.invoke(&inv);
                work.get_or_insert_with(|| r.clone());
                Event::TaskDone(r.map(Into::into))
            }
            Action::Fork(fork) => {
                // The mock stands in for the iterations, not for their inputs: a selection
                // that fails fails the state (one at a time, as a driver selects them).
                let selected = match &fork.children {
                    Children::Items { items, .. } => items
                        .iter()
                        .enumerate()
                        .try_for_each(|(i, item)| run.select_item(i, item).map(drop)),
                    Children::Ready(_) => Ok(()),
                };
                let r = selected.and_then(|()| answer.fork(&fork));
                work.get_or_insert_with(|| r.clone());
                Event::TaskDone(r.map(Into::into))
            }
        };
    };
    let next = match &result {
        Ok(_) => harness.placeholders.get(run.state_name()).cloned(),
        Err(_) => None,
    };
    let stages = std::mem::take(&mut *inspection.lock().unwrap_or_else(|p| p.into_inner()));
    Ran {
        result: result.map(crate::value::Value::into_serde),
        work,
        next,
        stages: stages
            .into_iter()
            .map(|(k, v)| (k, v.into_serde()))
            .collect(),
        variables: run
            .variables()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_serde()))
            .collect(),
    }
}
