//! A `Diagram` as a Mermaid flowchart: states as nodes shaped by type, Parallel and Map states
//! as `subgraph`s holding one nested `subgraph` per branch or item processor.
//!
//! Invariant: every text is quoted and escaped with Mermaid's entity codes, so no state name or
//! condition can end a label early; ids are the diagram's generated ones.

use std::fmt::Write;

use super::{Block, Diagram, EdgeKind, Node, Role, Type};

/// The text of a `.mmd` file.
pub fn render(diagram: &Diagram) -> String {
    let mut out = String::from("flowchart TD\n");
    let mut classes = Classes::default();
    nodes(&mut out, &diagram.top, 1, &mut classes);
    for block in diagram.top.all() {
        edges(&mut out, block);
    }
    out.push_str(
        "classDef task fill:#dbeafe,stroke:#2563eb\n\
         classDef choice fill:#fef3c7,stroke:#d97706\n\
         classDef wait fill:#ede9fe,stroke:#7c3aed\n\
         classDef succeed fill:#dcfce7,stroke:#16a34a\n\
         classDef fail fill:#fee2e2,stroke:#dc2626\n\
         classDef marker fill:#1f2937,stroke:#1f2937,color:#ffffff\n",
    );
    for (class, ids) in [
        ("task", &classes.task),
        ("choice", &classes.choice),
        ("wait", &classes.wait),
        ("succeed", &classes.succeed),
        ("fail", &classes.fail),
        ("marker", &classes.marker),
    ] {
        if !ids.is_empty() {
            let _ = writeln!(out, "class {} {class}", ids.join(","));
        }
    }
    out
}

/// Node ids by style class.
#[derive(Default)]
struct Classes {
    task: Vec<String>,
    choice: Vec<String>,
    wait: Vec<String>,
    succeed: Vec<String>,
    fail: Vec<String>,
    marker: Vec<String>,
}

fn nodes(out: &mut String, block: &Block, depth: usize, classes: &mut Classes) {
    let pad = "  ".repeat(depth);
    let top = depth == 1;
    for node in block.reading_order() {
        let id = &node.id;
        match node.role {
            Role::Start if top => {
                let _ = writeln!(out, "{pad}{id}((\"Start\"))");
            }
            Role::End if top => {
                let _ = writeln!(out, "{pad}{id}(((\"End\")))");
            }
            Role::Start | Role::End => {
                let shape = if node.role == Role::Start {
                    "((\" \"))"
                } else {
                    "(((\" \")))"
                };
                let _ = writeln!(out, "{pad}{id}{shape}");
                classes.marker.push(id.clone());
            }
            Role::State(Type::Parallel | Type::Map) => {
                // One line: Mermaid draws a subgraph's title over its contents past the first.
                let title = escape(&node.lines().join(" · "));
                let _ = writeln!(out, "{pad}subgraph {id}[\"{title}\"]");
                for inner in &node.blocks {
                    let title = escape(inner.title.as_deref().unwrap_or_default());
                    let _ = writeln!(out, "{pad}  subgraph {}[\"{title}\"]", inner.id);
                    nodes(out, inner, depth + 2, classes);
                    let _ = writeln!(out, "{pad}  end");
                }
                let _ = writeln!(out, "{pad}end");
            }
            Role::State(ty) => {
                let (open, close, class) = match ty {
                    Type::Task => ("[", "]", Some(&mut classes.task)),
                    Type::Choice => ("{", "}", Some(&mut classes.choice)),
                    Type::Wait => ("{{", "}}", Some(&mut classes.wait)),
                    Type::Succeed => ("([", "])", Some(&mut classes.succeed)),
                    Type::Fail => ("([", "])", Some(&mut classes.fail)),
                    Type::Pass | Type::Parallel | Type::Map => ("(", ")", None),
                };
                if let Some(class) = class {
                    class.push(id.clone());
                }
                let _ = writeln!(out, "{pad}{id}{open}\"{}\"{close}", label(node));
            }
        }
    }
}

fn edges(out: &mut String, block: &Block) {
    for e in &block.edges {
        let arrow = if e.kind == EdgeKind::Catch {
            "-.->"
        } else {
            "-->"
        };
        let (from, to) = (&block.node(e.from).id, &block.node(e.to).id);
        match &e.label {
            Some(text) => {
                let _ = writeln!(out, "  {from} {arrow}|\"{}\"| {to}", escape(text));
            }
            None => {
                let _ = writeln!(out, "  {from} {arrow} {to}");
            }
        }
    }
}

/// Name, type and notes, one per line.
fn label(node: &Node) -> String {
    let lines: Vec<String> = node.lines().iter().map(|l| escape(l)).collect();
    lines.join("<br/>")
}

/// Mermaid's entity codes for every character that could end or reinterpret a quoted label.
fn escape(text: &str) -> String {
    super::escape_with(text, |c| match c {
        '#' => Some("#35;"),
        '"' => Some("#quot;"),
        '<' => Some("#lt;"),
        '>' => Some("#gt;"),
        '&' => Some("#amp;"),
        '|' => Some("#124;"),
        '`' => Some("#96;"),
        _ => None,
    })
}
