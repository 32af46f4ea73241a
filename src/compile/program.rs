//! The program's types: blocks of instructions addressed by `BlockId` and `StateId`.
//!
//! Invariant: a `Program` is built only by `compile`, so every id in it is in bounds and every
//! field holds what runs (no placeholder, no emptied field). Expressions, paths, templates and
//! retriers are the validated form's own leaf types, shared as they are; the instructions and
//! their edges are this module's.

use std::sync::Arc;

use crate::value::Value;

use crate::asl::machine::{
    Assign, CatchOutput, Condition, Dynamic, FailField, Flow, ItemBatcher, ItemSelector, Items,
    Jsonata, Resource, ResourceKind, Retrier, StateMachine, WaitFor,
};

/// The index of a block (the machine, a Parallel branch, a Map processor) in its `Program`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockId(pub(super) u32);

impl BlockId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The index of a state (an instruction) within its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateId(pub(super) u32);

impl StateId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a state goes once it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// To this state of the same block.
    Next(StateId),
    /// The block ends with the state's output.
    End,
}

/// A compiled definition: shared, immutable, by every execution of its state machine.
#[derive(Debug)]
pub struct Program {
    pub(super) machine: Arc<StateMachine>,
    pub(super) blocks: Vec<Block>,
    /// Whether a state may read the execution's input through the Context Object
    /// (`$$.Execution.Input`, `$states.context`): unless its definition's text shows it cannot
    /// (`Program::reading_context_as`), an execution keeps a copy of its input for that.
    pub(super) reads_execution_input: bool,
}

/// One block: its instructions and the one it starts with.
#[derive(Debug)]
pub struct Block {
    pub start_at: StateId,
    pub states: Vec<Instruction>,
    /// Whether a step in this block may compute for long: one of its states evaluates JSONata
    /// (a step may pass through several of the block's states, never another block's) or is a
    /// Map (whose fork and join go over all its items in one step). A Map processor of JSONPath
    /// Pass states is not long, though its Map is: its iterations' steps stay inline.
    pub long_steps: bool,
}

/// One state, lowered.
#[derive(Debug)]
pub struct Instruction {
    pub name: String,
    /// Whether a JSONata field may read `$states.context`, whose building copies the execution
    /// input (so it is built only where needed).
    pub reads_context: bool,
    /// Whether nothing reads the raw input once the effective input is made (a Pass whose
    /// result replaces its input, Choice, Wait, Succeed), so it may be moved instead of copied.
    pub spends_input: bool,
    pub op: Op,
}

impl Instruction {
    /// The state's work and its handling, if it is a Task, Parallel or Map.
    pub fn work(&self) -> Option<&Work> {
        match &self.op {
            Op::Work(w) => Some(w),
            _ => None,
        }
    }
}

/// What a state does. Edges (`Transition`, `StateId`) point into the state's own block; a
/// nested block (`BlockId`) is run as children of the state.
// Built once per definition; the VM reads one in place, so variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Op {
    /// `Pass`: its result (or effective input) through the output stage, then `next`.
    Pass(Pass),
    /// `Choice`: the first rule that holds goes to its `next`, else `default`; none is
    /// `States.NoChoiceMatched`.
    Choice(Choice),
    /// `Wait`: sleeps until its time, then `next`.
    Wait(Wait),
    /// `Succeed`: ends the block with its output.
    Succeed(Succeed),
    /// `Fail`: ends the block with its error and cause.
    Fail(Fail),
    /// `Task`, `Parallel`, `Map`: work answered from outside, with Retry and Catch.
    Work(Work),
}

impl Op {
    /// The `Type` field's value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Op::Pass(_) => "Pass",
            Op::Choice(_) => "Choice",
            Op::Wait(_) => "Wait",
            Op::Succeed(_) => "Succeed",
            Op::Fail(_) => "Fail",
            Op::Work(w) => match w.kind {
                WorkKind::Task(_) => "Task",
                WorkKind::Parallel(_) => "Parallel",
                WorkKind::Map(_) => "Map",
            },
        }
    }
}

#[derive(Debug)]
pub struct Pass {
    pub flow: Flow,
    pub result: Option<Value>,
    /// Whether `result` is the state's result as it is: JSONPath with no `InputPath` or
    /// `Parameters`, so the effective input need not be made.
    pub result_only: bool,
    /// Whether its Parameters object replaces its input, or goes into the one field its
    /// `ResultPath` names, with nothing in between (JSONPath, no `Result`, `InputPath`,
    /// `ResultSelector` or `OutputPath`, at most `UPDATE_FIELDS` fields), so the VM may write
    /// the object's values over the old object there (`Run::update_field`).
    pub updates_field: bool,
    pub assign: Option<Assign>,
    pub next: Transition,
}

/// The most fields of a Parameters object that `Pass::updates_field` allows: the VM gathers
/// their values on the stack before it writes them.
pub const UPDATE_FIELDS: usize = 4;

#[derive(Debug)]
pub struct Choice {
    pub flow: Flow,
    /// Whether the state passes its raw input on as it is: JSONPath with no `InputPath` or
    /// `OutputPath`, so its rules read the input where it is and it leaves as the output.
    pub in_place: bool,
    pub rules: Vec<ChoiceRule>,
    pub default: Option<StateId>,
    /// Applies only when no rule held (a rule has its own).
    pub assign: Option<Assign>,
}

/// A top-level Choice rule: where to go when its condition holds.
#[derive(Debug)]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: StateId,
    pub assign: Option<Assign>,
    /// The rule's JSONata `Output`.
    pub output: Option<Jsonata>,
}

#[derive(Debug)]
pub struct Wait {
    pub flow: Flow,
    pub until: WaitFor,
    pub assign: Option<Assign>,
    pub next: Transition,
}

#[derive(Debug)]
pub struct Succeed {
    pub flow: Flow,
}

#[derive(Debug)]
pub struct Fail {
    pub error: Option<FailField>,
    pub cause: Option<FailField>,
}

/// What Task, Parallel and Map have in common: the effective input is made (again on each
/// retry), `kind` is answered from outside; a failure goes to the first matching retrier, then
/// the first matching catcher (whose `next` is taken); a result goes through `assign` and the
/// output stage, then `next`.
#[derive(Debug)]
pub struct Work {
    pub flow: Flow,
    pub kind: WorkKind,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub assign: Option<Assign>,
    pub next: Transition,
}

#[allow(clippy::large_enum_variant)] // see `Op`
#[derive(Debug)]
pub enum WorkKind {
    /// One call of a resource, its payload the effective input.
    Task(Task),
    /// Each branch run with the effective input; the result is their outputs in order.
    Parallel(Parallel),
    /// The processor run once per item (or batch); the result is their outputs in order.
    Map(Map),
}

#[derive(Debug)]
pub struct Task {
    pub resource: Resource,
    /// Whether the resource is a Lambda function (its history events are `LambdaFunction*`).
    pub lambda: bool,
    pub timeout_seconds: Option<Dynamic<u64>>,
    /// `HeartbeatSeconds`: how long a task may go without a heartbeat (activities, task tokens).
    pub heartbeat_seconds: Option<Dynamic<u64>>,
}

#[derive(Debug)]
pub struct Parallel {
    pub branches: Vec<BlockId>,
}

#[derive(Debug)]
pub struct Map {
    pub processor: BlockId,
    pub items: Items,
    pub item_selector: Option<ItemSelector>,
    pub item_batcher: Option<ItemBatcher>,
    pub max_concurrency: Dynamic<u64>,
    pub tolerated_failure_count: Option<Dynamic<u64>>,
    pub tolerated_failure_percentage: Option<Dynamic<f64>>,
    /// A Distributed Map's `ItemReader` (its items come from S3, not from its input) and
    /// `ResultWriter` (its children's results are formatted, and exported to S3).
    pub item_reader: Option<crate::asl::machine::ItemReader>,
    pub result_writer: Option<crate::asl::machine::ResultWriter>,
    /// The Map's `Label` (its Map Run's name; the state's name without one).
    pub label: Option<String>,
}

/// One entry of `Catch`: a failure it matches goes to `next` of the same block.
#[derive(Debug)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: StateId,
    pub output: CatchOutput,
    pub assign: Option<Assign>,
}

impl Program {
    /// The machine's own block.
    pub const TOP: BlockId = BlockId(0);

    pub fn block(&self, id: BlockId) -> &Block {
        &self.blocks[id.index()]
    }

    /// The state `state` of block `block`.
    pub fn instruction(&self, block: BlockId, state: StateId) -> &Instruction {
        &self.block(block).states[state.index()]
    }

    /// The state named `name` of block `block`, if it has one (state names are unique in a
    /// block).
    pub fn state_named(&self, block: BlockId, name: &str) -> Option<StateId> {
        let states = &self.block(block).states;
        let i = states.iter().position(|s| s.name == name)?;
        Some(StateId(i as u32))
    }

    /// Every block, in `BlockId` order.
    pub fn blocks(&self) -> impl ExactSizeIterator<Item = (BlockId, &Block)> {
        self.blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (BlockId(i as u32), b))
    }

    /// The validated machine this program was compiled from (`graph`, the live page and
    /// TestState read it; running reads only the program).
    pub fn machine(&self) -> &Arc<StateMachine> {
        &self.machine
    }

    /// The definition's `TimeoutSeconds`, if it has one. The cap of its machine type is the
    /// runtime's to apply (`runtime::time_limit_ms`).
    pub fn timeout_seconds(&self) -> Option<u64> {
        self.machine.timeout_seconds
    }

    /// Whether a step of a run of `block` may compute for long (`Block::long_steps`). Hosts
    /// run such steps where they starve no one.
    pub fn long_steps(&self, block: BlockId) -> bool {
        self.blocks[block.index()].long_steps
    }

    /// This program, knowing from its definition's text whether a state may read the Context
    /// Object: a JSONPath read of it is written `$$`, and a JSONata one goes through `$states`
    /// (or code `$eval` builds). A definition with none of them never reads it; one with a
    /// `\u` escape might spell them so, and counts as reading it. The VM builds no Context
    /// Object facts for a program that never reads it.
    pub fn reading_context_as(mut self, definition: &str) -> Program {
        self.reads_execution_input = ["$$", "$states", "$eval", "\\u"]
            .iter()
            .any(|needle| definition.contains(needle));
        self
    }

    /// Whether a state may read the execution's input through the Context Object (see
    /// `reading_context_as`; `true` when the program was compiled without its text).
    pub fn reads_execution_input(&self) -> bool {
        self.reads_execution_input
    }
}

/// Whether a resource is a Lambda function.
pub(super) fn is_lambda(r: &Resource) -> bool {
    matches!(r.kind, ResourceKind::Lambda { .. })
}
