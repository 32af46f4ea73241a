//! StateMachine → Program: the validated machine flattened into one table of blocks.
//!
//! Invariant: the only stage that reads the validated form. Every block (the machine, each
//! Parallel branch, each Map processor) gets a `BlockId`; each state's nested blocks are listed
//! by id in `Block::children`, and every id is in bounds by construction, so the VM indexes
//! without fallible lookups.

use std::fmt::Write as _;

use crate::asl::machine::{
    self, Assign, CatchOutput, Catcher, Condition, Dynamic, FailField, Flow, ItemSelector, Items,
    Jsonata, QueryLanguage, State, StateKind, StateMachine, StateRef, Transition, WaitFor,
};

/// The longest an Express execution may run, in seconds.
pub const EXPRESS_LIMIT_SECONDS: u64 = 300;

/// The index of a block in a `Program`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockId(pub u32);

/// A compiled definition: shared, immutable, by every execution of its state machine.
#[derive(Debug)]
pub struct Program {
    pub blocks: Vec<Block>,
    pub timeout_seconds: Option<u64>,
    /// Whether a step may compute for long: some state evaluates JSONata or is a Map (whose
    /// items are prepared in one step). Hosts run such steps where they starve no one.
    pub long_steps: bool,
}

/// One block: its states, where it starts, and for each state the blocks it runs
/// (a Parallel's branches in order, a Map's processor).
#[derive(Debug)]
pub struct Block {
    pub start_at: StateRef,
    pub states: Vec<State>,
    pub children: Vec<Vec<BlockId>>,
    /// For each state: whether a JSONata field may read `$states.context`, whose building
    /// copies the execution input (so it is built only where needed).
    pub reads_context: Vec<bool>,
}

impl Program {
    pub const TOP: BlockId = BlockId(0);

    pub fn block(&self, id: BlockId) -> &Block {
        &self.blocks[id.0 as usize]
    }

    /// How long an execution may run: its `TimeoutSeconds`, at most Express's 5 minutes.
    pub fn time_limit_seconds(&self) -> u64 {
        self.timeout_seconds
            .unwrap_or(EXPRESS_LIMIT_SECONDS)
            .min(EXPRESS_LIMIT_SECONDS)
    }
}

/// Compiles a validated machine.
pub fn compile(machine: StateMachine) -> Program {
    let mut program = Program {
        blocks: Vec::new(),
        timeout_seconds: machine.timeout_seconds,
        long_steps: false,
    };
    add_block(&mut program, machine.top);
    program
}

/// Adds `block` and, depth first, its nested blocks; returns its id.
fn add_block(program: &mut Program, block: machine::Block) -> BlockId {
    let id = BlockId(program.blocks.len() as u32);
    program.blocks.push(Block {
        start_at: block.start_at,
        states: Vec::new(),
        children: Vec::new(),
        reads_context: Vec::new(),
    });
    let mut states = block.states;
    let mut children = Vec::with_capacity(states.len());
    for state in &mut states {
        let nested: Vec<machine::Block> = match &mut state.kind {
            StateKind::Parallel(p) => std::mem::take(&mut p.branches),
            StateKind::Map(m) => vec![std::mem::replace(
                &mut m.processor,
                machine::Block {
                    comment: None,
                    start_at: StateRef(0),
                    states: Vec::new(),
                },
            )],
            _ => Vec::new(),
        };
        children.push(nested.into_iter().map(|b| add_block(program, b)).collect());
    }
    program.long_steps |= states
        .iter()
        .any(|s| s.query_language == QueryLanguage::Jsonata || matches!(s.kind, StateKind::Map(_)));
    let b = &mut program.blocks[id.0 as usize];
    b.reads_context = states.iter().map(reads_context).collect();
    b.states = states;
    b.children = children;
    id
}

/// Whether any JSONata field of `state` may read `$states.context`.
fn reads_context(state: &State) -> bool {
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
    let catchers = |cs: &[Catcher]| {
        cs.iter().any(|c| {
            assign(&c.assign)
                || matches!(&c.output, CatchOutput::Jsonata(Some(t)) if t.reads_context())
        })
    };
    match &state.kind {
        StateKind::Pass(s) => flow(&s.flow) || assign(&s.assign),
        StateKind::Succeed(s) => flow(&s.flow),
        StateKind::Wait(s) => {
            flow(&s.flow)
                || assign(&s.assign)
                || matches!(&s.until, WaitFor::Seconds(Dynamic::Expr(e)) if e.reads_context)
                || matches!(&s.until, WaitFor::Timestamp(Dynamic::Expr(e)) if e.reads_context)
        }
        StateKind::Fail(f) => [&f.error, &f.cause]
            .iter()
            .any(|x| matches!(x, Some(FailField::Expr(e)) if e.reads_context)),
        StateKind::Choice(c) => flow(&c.flow) || assign(&c.assign) || c.choices.iter().any(|r| {
            assign(&r.assign)
                || r.output.as_ref().is_some_and(Jsonata::reads_context)
                || matches!(&r.condition, Condition::Jsonata(Dynamic::Expr(e)) if e.reads_context)
        }),
        StateKind::Task(t) => {
            flow(&t.flow)
                || assign(&t.assign)
                || catchers(&t.catch)
                || expr(t.timeout_seconds.as_ref())
                || expr(t.heartbeat_seconds.as_ref())
        }
        StateKind::Parallel(p) => flow(&p.flow) || assign(&p.assign) || catchers(&p.catch),
        StateKind::Map(m) => {
            flow(&m.flow)
                || assign(&m.assign)
                || catchers(&m.catch)
                || matches!(&m.items, Items::Jsonata(Some(t)) if t.reads_context())
                || matches!(&m.item_selector, Some(ItemSelector::Jsonata(t)) if t.reads_context())
                || expr(Some(&m.max_concurrency))
                || expr(m.tolerated_failure_count.as_ref())
                || matches!(&m.tolerated_failure_percentage, Some(Dynamic::Expr(e)) if e.reads_context)
                || matches!(&m.item_batcher, Some(b) if matches!(&b.batch_input, Some(ItemSelector::Jsonata(t)) if t.reads_context()))
        }
    }
}

/// The program as a numbered listing: `statejet explain`.
pub fn listing(program: &Program) -> String {
    let mut out = String::new();
    for (b, block) in program.blocks.iter().enumerate() {
        let _ = writeln!(out, "block {b} (start {}):", block.start_at.0);
        for (i, state) in block.states.iter().enumerate() {
            let to = |t: &Transition| match t {
                Transition::Next(r) => format!("→ {}", r.0),
                Transition::End => "→ end".to_owned(),
            };
            let edge = match &state.kind {
                StateKind::Pass(s) => to(&s.transition),
                StateKind::Task(s) => format!("{} {}", s.resource.arn, to(&s.transition)),
                StateKind::Wait(s) => to(&s.transition),
                StateKind::Parallel(s) => to(&s.transition),
                StateKind::Map(s) => to(&s.transition),
                StateKind::Choice(c) => {
                    let mut e: Vec<String> = c
                        .choices
                        .iter()
                        .map(|r| format!("? → {}", r.next.0))
                        .collect();
                    if let Some(d) = c.default {
                        e.push(format!("default → {}", d.0));
                    }
                    e.join(", ")
                }
                StateKind::Succeed(_) => "succeed".to_owned(),
                StateKind::Fail(_) => "fail".to_owned(),
            };
            let (retry, catch) = match &state.kind {
                StateKind::Task(t) => (&t.retry[..], &t.catch[..]),
                StateKind::Parallel(p) => (&p.retry[..], &p.catch[..]),
                StateKind::Map(m) => (&m.retry[..], &m.catch[..]),
                _ => (&[][..], &[][..]),
            };
            let mut handling = String::new();
            for r in retry {
                let _ = write!(
                    handling,
                    "; retry {:?} every {}s x{} (backoff {}{})",
                    r.error_equals,
                    r.interval_seconds,
                    r.max_attempts,
                    r.backoff_rate,
                    r.max_delay_seconds
                        .map(|m| format!(", max {m}s"))
                        .unwrap_or_default()
                );
            }
            for c in catch {
                let _ = write!(handling, "; catch {:?} → {}", c.error_equals, c.next.0);
            }
            let kids: Vec<String> = block.children[i]
                .iter()
                .map(|c| format!("block {}", c.0))
                .collect();
            let kids = if kids.is_empty() {
                String::new()
            } else {
                format!(" runs {}", kids.join(", "))
            };
            let _ = writeln!(
                out,
                "  {i:>3} {:<8} {:?} {edge}{kids}{handling}",
                state.kind.type_name(),
                state.name
            );
        }
    }
    out
}
