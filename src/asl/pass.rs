//! The Pass state: passes its input (or a fixed `Result`) to its output.
//!
//! Invariant: `Result` exists only in JSONPath Pass states.

use super::common::{self, FlowShape};
use super::context::{Ctx, Scope};
use super::machine::{Pass, QueryLanguage};
use super::reader::Object;

const SHAPE: FlowShape = FlowShape {
    parameters: true,
    result_selector: false,
    result_path: true,
    arguments: false,
};

pub fn read(o: &mut Object, lang: QueryLanguage, scope: &mut Scope, ctx: &mut Ctx) -> Pass {
    let flow = common::flow(o, lang, SHAPE, ctx);
    let result = match lang {
        QueryLanguage::JsonPath => o.take("Result").map(crate::value::Value::from),
        QueryLanguage::Jsonata => None,
    };
    let assign = common::assign(o, lang, ctx);
    let transition = common::transition(o, scope, ctx);
    Pass {
        flow,
        result,
        assign,
        transition,
    }
}
