//! `inspectionData`: the tested state's data-flow stages, as AWS lists them per state kind.
//!
//! The interpreter notes every stage it passes; AWS shows only the stages a kind of state has
//! (a Choice its `afterInputPath`, a Pass with `Result` its `result` but no input stages, a
//! mocked Parallel only its output stages, a Map its items and limits). Invariant: only the
//! tested state's own stages are shown, never a placeholder's after it.

use serde_json::{Map, Value};

use super::harness::Ran;
use super::request::Request;
use crate::asl::machine::{QueryLanguage, State, StateKind};
use crate::vm::run::{json_text, ENTERED};

/// Stages whose values AWS gives as numbers, not JSON text.
const NUMBERS: [&str; 3] = [
    "maxConcurrency",
    "toleratedFailureCount",
    "toleratedFailurePercentage",
];

/// The stages AWS shows for `state`, in its query language.
fn shown(state: &State) -> &'static [&'static str] {
    match (&state.kind, state.query_language == QueryLanguage::JsonPath) {
        (StateKind::Pass(p), true) if p.result.is_some() => {
            &["afterResultSelector", "afterResultPath"]
        }
        (StateKind::Pass(_), true) => &[
            "afterInputPath",
            "afterParameters",
            "afterResultSelector",
            "afterResultPath",
        ],
        (StateKind::Task(_), true) => &[
            "afterInputPath",
            "afterParameters",
            "afterResultSelector",
            "afterResultPath",
        ],
        (StateKind::Task(_), false) => &["afterArguments"],
        (StateKind::Parallel(_), true) => &["afterResultSelector", "afterResultPath"],
        (StateKind::Map(_), true) => &[
            "afterInputPath",
            "afterItemsPath",
            "maxConcurrency",
            "toleratedFailureCount",
            "toleratedFailurePercentage",
            "afterResultSelector",
            "afterResultPath",
        ],
        (StateKind::Map(_), false) => &[
            "maxConcurrency",
            "toleratedFailureCount",
            "toleratedFailurePercentage",
        ],
        (StateKind::Choice(_) | StateKind::Succeed(_) | StateKind::Wait(_), true) => {
            &["afterInputPath"]
        }
        _ => &[],
    }
}

/// The `inspectionData` of a run (without `errorDetails`, which the caller adds).
pub fn data(state: &State, req: &Request, ran: &Ran) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("input".into(), req.input_text.clone().into());
    let keep = shown(state);
    // The tested state is entered first; the next `entered` is a placeholder's.
    let own = ran
        .stages
        .iter()
        .skip_while(|(s, _)| *s == ENTERED)
        .take_while(|(s, _)| *s != ENTERED);
    for (stage, value) in own {
        if keep.contains(stage) && !data.contains_key(*stage) {
            let v = if NUMBERS.contains(stage) {
                value.clone()
            } else {
                json_text(value).into()
            };
            data.insert((*stage).into(), v);
        }
    }
    let jsonpath = state.query_language == QueryLanguage::JsonPath;
    match &state.kind {
        StateKind::Pass(p) if jsonpath => {
            if let Some(r) = &p.result {
                data.insert("result".into(), json_text(r).into());
            }
        }
        StateKind::Fail(_) if jsonpath => {
            // A Fail state has no InputPath: its effective input is its input.
            data.insert("afterInputPath".into(), req.input_text.clone().into());
        }
        StateKind::Task(_) => {
            if let Some(Ok(r)) = &ran.work {
                data.insert("result".into(), json_text(r).into());
            }
        }
        _ => {}
    }
    if !ran.variables.is_empty() {
        data.insert(
            "variables".into(),
            json_text(&Value::Object(ran.variables.clone())).into(),
        );
    }
    data
}
