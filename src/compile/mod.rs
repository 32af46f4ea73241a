//! StateMachine → Program: the validated machine lowered into one table of blocks of
//! instructions (`program.rs`), which the VM runs.
//!
//! Invariant: the only stage that reads the validated form on the way to running, which it
//! leaves whole (kept behind an `Arc` in the program). Every block (the machine, each Parallel
//! branch, each Map processor) gets a `BlockId`, every state a `StateId` in its block, and every
//! id is in bounds by construction, so the VM indexes without fallible lookups.

mod listing;
mod program;

use std::sync::Arc;

pub use listing::listing;
pub use program::{
    Block, BlockId, Catcher, Choice, ChoiceRule, Fail, Instruction, Map, Op, Parallel, Pass,
    Program, StateId, Succeed, Task, Transition, Wait, Work, WorkKind, UPDATE_FIELDS,
};

use crate::asl::machine::{
    self, Assign, CatchOutput, Condition, Dynamic, FailField, Flow, ItemSelector, Items, Jsonata,
    QueryLanguage, ResultPath, Retrier, Select, State, StateKind, StateMachine, StateRef, Template,
    WaitFor,
};
use crate::asl::path::Segment;

/// Compiles a validated machine.
pub fn compile(machine: StateMachine) -> Program {
    compile_shared(Arc::new(machine))
}

/// Compiles a validated machine that is already shared.
pub fn compile_shared(machine: Arc<StateMachine>) -> Program {
    let mut lowering = Lowering { blocks: Vec::new() };
    lowering.block(&machine.top);
    Program {
        blocks: (lowering.blocks.into_iter())
            .map(|b| b.expect("every reserved block is lowered before compile returns"))
            .collect(),
        reads_execution_input: true,
        machine,
    }
}

/// The program as it is built: a block's slot is reserved (its id taken) before its nested
/// blocks are lowered, so ids run depth first in definition order.
struct Lowering {
    blocks: Vec<Option<Block>>,
}

impl Lowering {
    /// Lowers `block` and, depth first, its nested blocks; returns its id.
    fn block(&mut self, block: &machine::Block) -> BlockId {
        let id = BlockId(self.blocks.len() as u32);
        self.blocks.push(None);
        let states = block.states.iter().map(|s| self.state(s)).collect();
        self.blocks[id.index()] = Some(Block {
            start_at: state_id(block.start_at),
            states,
            long_steps: block.states.iter().any(|s| {
                s.query_language == QueryLanguage::Jsonata || matches!(s.kind, StateKind::Map(_))
            }),
        });
        id
    }

    fn state(&mut self, state: &State) -> Instruction {
        let op = match &state.kind {
            StateKind::Pass(p) => Op::Pass(Pass {
                result_only: p.result.is_some()
                    && matches!(
                        p.flow,
                        Flow::JsonPath {
                            input_path: Select::Whole,
                            parameters: None,
                            ..
                        }
                    ),
                updates_field: p.result.is_none() && updates_field(&p.flow),
                flow: p.flow.clone(),
                result: p.result.clone(),
                assign: p.assign.clone(),
                next: transition(p.transition),
            }),
            StateKind::Choice(c) => Op::Choice(Choice {
                flow: c.flow.clone(),
                in_place: matches!(
                    c.flow,
                    Flow::JsonPath {
                        input_path: Select::Whole,
                        parameters: None,
                        result_selector: None,
                        result_path: ResultPath::Replace,
                        output_path: Select::Whole,
                    }
                ),
                rules: c
                    .choices
                    .iter()
                    .map(|r| ChoiceRule {
                        condition: r.condition.clone(),
                        next: state_id(r.next),
                        assign: r.assign.clone(),
                        output: r.output.clone(),
                    })
                    .collect(),
                default: c.default.map(state_id),
                assign: c.assign.clone(),
            }),
            StateKind::Wait(w) => Op::Wait(Wait {
                flow: w.flow.clone(),
                until: w.until.clone(),
                assign: w.assign.clone(),
                next: transition(w.transition),
            }),
            StateKind::Succeed(s) => Op::Succeed(Succeed {
                flow: s.flow.clone(),
            }),
            StateKind::Fail(f) => Op::Fail(Fail {
                error: f.error.clone(),
                cause: f.cause.clone(),
            }),
            StateKind::Task(t) => {
                let task = WorkKind::Task(Task {
                    lambda: program::is_lambda(&t.resource),
                    resource: t.resource.clone(),
                    timeout_seconds: t.timeout_seconds.clone(),
                    heartbeat_seconds: t.heartbeat_seconds.clone(),
                });
                work(task, &t.flow, (&t.retry, &t.catch), &t.assign, t.transition)
            }
            StateKind::Parallel(p) => {
                let parallel = WorkKind::Parallel(Parallel {
                    branches: p.branches.iter().map(|b| self.block(b)).collect(),
                });
                work(
                    parallel,
                    &p.flow,
                    (&p.retry, &p.catch),
                    &p.assign,
                    p.transition,
                )
            }
            StateKind::Map(m) => {
                let map = WorkKind::Map(Map {
                    processor: self.block(&m.processor),
                    items: m.items.clone(),
                    item_selector: m.item_selector.clone(),
                    item_batcher: m.item_batcher.clone(),
                    max_concurrency: m.max_concurrency.clone(),
                    tolerated_failure_count: m.tolerated_failure_count.clone(),
                    tolerated_failure_percentage: m.tolerated_failure_percentage.clone(),
                    item_reader: m.item_reader.clone(),
                    result_writer: m.result_writer.clone(),
                    label: m.label.clone(),
                });
                work(map, &m.flow, (&m.retry, &m.catch), &m.assign, m.transition)
            }
        };
        Instruction {
            name: state.name.clone(),
            reads_context: reads_context(&op),
            spends_input: spends_input(&state.kind),
            op,
        }
    }
}

fn state_id(r: StateRef) -> StateId {
    StateId(r.0)
}

fn transition(t: machine::Transition) -> Transition {
    match t {
        machine::Transition::Next(r) => Transition::Next(state_id(r)),
        machine::Transition::End => Transition::End,
    }
}

/// A Task, Parallel or Map: `kind` with the part the three share.
fn work(
    kind: WorkKind,
    flow: &Flow,
    (retry, catch): (&[Retrier], &[machine::Catcher]),
    assign: &Option<Assign>,
    next: machine::Transition,
) -> Op {
    Op::Work(Work {
        flow: flow.clone(),
        kind,
        retry: retry.to_vec(),
        catch: catchers(catch),
        assign: assign.clone(),
        next: transition(next),
    })
}

fn catchers(catch: &[machine::Catcher]) -> Vec<Catcher> {
    catch
        .iter()
        .map(|c| Catcher {
            error_equals: c.error_equals.clone(),
            next: state_id(c.next),
            output: c.output.clone(),
            assign: c.assign.clone(),
        })
        .collect()
}

/// Whether the state never reads its raw input after its input stage: a Pass whose result
/// replaces its input, and Choice, Wait and Succeed (Task, Parallel and Map keep it for Catch
/// and retries).
fn spends_input(kind: &StateKind) -> bool {
    match kind {
        StateKind::Pass(p) => matches!(
            p.flow,
            Flow::JsonPath {
                result_path: ResultPath::Replace,
                ..
            }
        ),
        StateKind::Choice(_) | StateKind::Wait(_) | StateKind::Succeed(_) => true,
        _ => false,
    }
}

/// Whether a Pass's Parameters object (of at most `UPDATE_FIELDS` fields) goes straight into
/// its input's place or one field of it: no InputPath, ResultSelector or OutputPath, and a
/// ResultPath of `$` or of one field (`$.last`). See `Pass::updates_field`.
fn updates_field(flow: &Flow) -> bool {
    match flow {
        Flow::JsonPath {
            input_path: Select::Whole,
            parameters: Some(Template::Object(fields)),
            result_selector: None,
            result_path,
            output_path: Select::Whole,
        } => {
            fields.len() <= UPDATE_FIELDS
                && match result_path {
                    ResultPath::Replace => true,
                    ResultPath::Path(p) => matches!(p.segments.as_slice(), [Segment::Field(_)]),
                    ResultPath::Discard => false,
                }
        }
        _ => false,
    }
}

/// Whether any JSONata field of `op` may read `$states.context`.
fn reads_context(op: &Op) -> bool {
    let flow = |f: &Flow| match f {
        Flow::Jsonata { arguments, output } => {
            arguments.as_ref().is_some_and(Jsonata::reads_context)
                || output.as_ref().is_some_and(Jsonata::reads_context)
        }
        Flow::JsonPath { .. } => false,
    };
    let assign = |a: &Option<Assign>| match a {
        Some(Assign::Jsonata(entries)) => entries.iter().any(|(_, v)| v.reads_context()),
        _ => false,
    };
    let expr = |d: Option<&Dynamic<u64>>| matches!(d, Some(Dynamic::Expr(e)) if e.reads_context);
    let selector =
        |s: Option<&ItemSelector>| matches!(s, Some(ItemSelector::Jsonata(t)) if t.reads_context());
    match op {
        Op::Pass(s) => flow(&s.flow) || assign(&s.assign),
        Op::Succeed(s) => flow(&s.flow),
        Op::Wait(s) => {
            flow(&s.flow)
                || assign(&s.assign)
                || matches!(&s.until, WaitFor::Seconds(Dynamic::Expr(e)) if e.reads_context)
                || matches!(&s.until, WaitFor::Timestamp(Dynamic::Expr(e)) if e.reads_context)
        }
        Op::Fail(f) => [&f.error, &f.cause]
            .iter()
            .any(|x| matches!(x, Some(FailField::Expr(e)) if e.reads_context)),
        Op::Choice(c) => flow(&c.flow) || assign(&c.assign) || c.rules.iter().any(|r| {
            assign(&r.assign)
                || r.output.as_ref().is_some_and(Jsonata::reads_context)
                || matches!(&r.condition, Condition::Jsonata(Dynamic::Expr(e)) if e.reads_context)
        }),
        Op::Work(w) => {
            let own = match &w.kind {
                WorkKind::Task(t) => expr(t.timeout_seconds.as_ref()),
                WorkKind::Parallel(_) => false,
                WorkKind::Map(m) => {
                    matches!(&m.items, Items::Jsonata(Some(t)) if t.reads_context())
                        || selector(m.item_selector.as_ref())
                        || expr(Some(&m.max_concurrency))
                        || expr(m.tolerated_failure_count.as_ref())
                        || matches!(&m.tolerated_failure_percentage, Some(Dynamic::Expr(e)) if e.reads_context)
                        || m.item_batcher
                            .as_ref()
                            .is_some_and(|b| selector(b.batch_input.as_ref()))
                }
            };
            own || flow(&w.flow)
                || assign(&w.assign)
                || w.catch.iter().any(|c| {
                    assign(&c.assign)
                        || matches!(&c.output, CatchOutput::Jsonata(Some(t)) if t.reads_context())
                })
        }
    }
}
