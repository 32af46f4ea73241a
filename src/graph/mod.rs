//! Diagrams of a validated `StateMachine`: `build` turns it into a `Diagram` (nodes and labelled
//! edges per States block), which `mermaid`, `dot` and `svg` (through `layout`) render as text.
//!
//! Invariant: the diagram is built from the validated form only (never from JSON), and every
//! edge joins two nodes of the same `Block`, as transitions do: a Parallel or Map state is one
//! node that holds its branches or item processor as nested blocks, each with its own start and
//! end markers. Node ids are generated, unique in the diagram and safe in every output format.

pub mod dot;
mod label;
pub mod layout;
pub mod mermaid;
pub mod svg;

use crate::asl::machine::{self, StateKind, StateMachine, Transition};

/// A whole definition, ready to draw.
#[derive(Debug, Clone)]
pub struct Diagram {
    pub top: Block,
}

/// One States block as drawn: its states in definition order, then its start and end markers.
#[derive(Debug, Clone)]
pub struct Block {
    /// Unique in the diagram; the prefix of its nodes' ids.
    pub id: String,
    /// `Branch N` or `Item processor`; none for the machine itself.
    pub title: Option<String>,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// The index of a node within its `Block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeIx(pub u32);

impl NodeIx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    /// Unique in the diagram: letters, digits and `_` only.
    pub id: String,
    pub role: Role,
    /// The state's name (empty for markers).
    pub name: String,
    /// Extra lines under the type: the Task's resource, one line per retrier.
    pub notes: Vec<String>,
    /// A Parallel's branches or a Map's item processor.
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Points at the block's `StartAt`.
    Start,
    /// Where `End` states, Succeed and Fail lead.
    End,
    State(Type),
}

/// A state's `Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::Pass => "Pass",
            Type::Task => "Task",
            Type::Choice => "Choice",
            Type::Wait => "Wait",
            Type::Succeed => "Succeed",
            Type::Fail => "Fail",
            Type::Parallel => "Parallel",
            Type::Map => "Map",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Edge {
    pub from: NodeIx,
    pub to: NodeIx,
    pub kind: EdgeKind,
    /// A Choice rule's condition, `Default`, or a catcher's error names.
    pub label: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// From the start marker to `StartAt`.
    Start,
    Next,
    /// A Choice rule or its `Default`.
    Choice,
    Catch,
    /// To the end marker.
    End,
}

impl Block {
    pub fn start(&self) -> NodeIx {
        NodeIx(self.nodes.len() as u32 - 2)
    }

    pub fn end(&self) -> NodeIx {
        NodeIx(self.nodes.len() as u32 - 1)
    }

    pub fn node(&self, ix: NodeIx) -> &Node {
        &self.nodes[ix.index()]
    }

    /// The states, without the markers.
    pub fn states(&self) -> &[Node] {
        &self.nodes[..self.nodes.len() - 2]
    }

    /// Its nodes in reading order: start marker, states, end marker.
    pub fn reading_order(&self) -> impl Iterator<Item = &Node> {
        let n = self.nodes.len();
        std::iter::once(&self.nodes[n - 2])
            .chain(self.states())
            .chain(std::iter::once(&self.nodes[n - 1]))
    }

    /// This block and every block nested in it, parents before children.
    pub fn all(&self) -> Vec<&Block> {
        let mut all = vec![self];
        for node in &self.nodes {
            for inner in &node.blocks {
                all.extend(inner.all());
            }
        }
        all
    }
}

impl Node {
    /// A state's text, one line each: name, type, notes. Markers have none.
    pub fn lines(&self) -> Vec<String> {
        let Role::State(ty) = self.role else {
            return Vec::new();
        };
        let mut lines = vec![self.name.clone(), ty.name().to_owned()];
        lines.extend(self.notes.iter().cloned());
        lines
    }
}

/// The diagram of a validated machine.
pub fn build(machine: &StateMachine) -> Diagram {
    Diagram {
        top: block(&machine.top, "s", None),
    }
}

/// `prefix` makes ids: state `i` is `{prefix}{i}`, the markers `{prefix}in` and `{prefix}out`,
/// and block `k` of state `i` has prefix `{prefix}{i}_{k}_`.
fn block(b: &machine::Block, prefix: &str, title: Option<String>) -> Block {
    let count = b.states.len() as u32;
    let (start, end) = (NodeIx(count), NodeIx(count + 1));
    let target = |r: machine::StateRef| NodeIx(r.0);
    let mut nodes = Vec::with_capacity(b.states.len() + 2);
    let mut edges = vec![Edge {
        from: start,
        to: target(b.start_at),
        kind: EdgeKind::Start,
        label: None,
    }];
    for (i, state) in b.states.iter().enumerate() {
        let from = NodeIx(i as u32);
        let id = format!("{prefix}{i}");
        let mut edge = |to, kind, label| {
            edges.push(Edge {
                from,
                to,
                kind,
                label,
            })
        };
        let mut transition = |t: &Transition| match t {
            Transition::Next(r) => edge(target(*r), EdgeKind::Next, None),
            Transition::End => edge(end, EdgeKind::End, None),
        };
        let mut notes = Vec::new();
        let mut blocks = Vec::new();
        let (ty, retry, catch): (Type, &[machine::Retrier], &[machine::Catcher]) = match &state.kind
        {
            StateKind::Pass(s) => {
                transition(&s.transition);
                (Type::Pass, &[], &[])
            }
            StateKind::Task(s) => {
                transition(&s.transition);
                notes.push(label::resource(&s.resource));
                (Type::Task, &s.retry, &s.catch)
            }
            StateKind::Wait(s) => {
                transition(&s.transition);
                (Type::Wait, &[], &[])
            }
            StateKind::Parallel(s) => {
                transition(&s.transition);
                for (k, branch) in s.branches.iter().enumerate() {
                    let title = format!("Branch {}", k + 1);
                    blocks.push(block(branch, &format!("{id}_{k}_"), Some(title)));
                }
                (Type::Parallel, &s.retry, &s.catch)
            }
            StateKind::Map(s) => {
                transition(&s.transition);
                let title = "Item processor".to_owned();
                blocks.push(block(&s.processor, &format!("{id}_0_"), Some(title)));
                (Type::Map, &s.retry, &s.catch)
            }
            StateKind::Choice(s) => {
                for rule in &s.choices {
                    let condition = label::condition(&rule.condition);
                    edge(target(rule.next), EdgeKind::Choice, Some(condition));
                }
                if let Some(d) = s.default {
                    edge(target(d), EdgeKind::Choice, Some("Default".to_owned()));
                }
                (Type::Choice, &[], &[])
            }
            StateKind::Succeed(_) => {
                edge(end, EdgeKind::End, None);
                (Type::Succeed, &[], &[])
            }
            StateKind::Fail(_) => {
                edge(end, EdgeKind::End, None);
                (Type::Fail, &[], &[])
            }
        };
        for c in catch {
            edge(target(c.next), EdgeKind::Catch, Some(label::catcher(c)));
        }
        notes.extend(retry.iter().map(label::retrier));
        nodes.push(Node {
            id,
            role: Role::State(ty),
            name: state.name.clone(),
            notes,
            blocks,
        });
    }
    for (role, suffix) in [(Role::Start, "in"), (Role::End, "out")] {
        nodes.push(Node {
            id: format!("{prefix}{suffix}"),
            role,
            name: String::new(),
            notes: Vec::new(),
            blocks: Vec::new(),
        });
    }
    Block {
        id: prefix.trim_end_matches('_').to_owned(),
        title,
        nodes,
        edges,
    }
}

/// `text` with each character that `replace` maps written as its replacement: every format's
/// escaping.
fn escape_with(text: &str, replace: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match replace(c) {
            Some(r) => out.push_str(r),
            None => out.push(c),
        }
    }
    out
}
