//! A `Diagram` in Graphviz DOT: states as nodes shaped by type, Parallel and Map states as
//! `cluster_` subgraphs holding one nested cluster per branch or item processor.
//!
//! Invariant: every text is a quoted, escaped DOT string. An edge to or from a Parallel or Map
//! state is drawn to the edge of its cluster (`compound=true` with `lhead`/`ltail`), anchored on
//! a marker of its first nested block.

use std::fmt::Write;

use super::{Block, Diagram, EdgeKind, Node, Role, Type};

/// The text of a `.dot` file.
pub fn render(diagram: &Diagram) -> String {
    let mut out = String::from(
        "digraph statejet {\n  \
         graph [rankdir=TB, compound=true, fontname=\"Helvetica\", fontsize=11];\n  \
         node [fontname=\"Helvetica\", fontsize=11, shape=box, style=\"rounded,filled\", \
         fillcolor=\"#f3f4f6\", color=\"#6b7280\"];\n  \
         edge [fontname=\"Helvetica\", fontsize=10, color=\"#374151\"];\n",
    );
    nodes(&mut out, &diagram.top, 1);
    for block in diagram.top.all() {
        edges(&mut out, block);
    }
    out.push_str("}\n");
    out
}

fn nodes(out: &mut String, block: &Block, depth: usize) {
    let pad = "  ".repeat(depth);
    let top = depth == 1;
    for node in block.reading_order() {
        let id = &node.id;
        let attributes = match node.role {
            Role::Start if top => "label=\"Start\", shape=circle, fillcolor=\"#1f2937\", \
                                   color=\"#1f2937\", fontcolor=\"#ffffff\""
                .to_owned(),
            Role::End if top => "label=\"End\", shape=doublecircle, fillcolor=\"#1f2937\", \
                                 color=\"#1f2937\", fontcolor=\"#ffffff\""
                .to_owned(),
            Role::Start => {
                "label=\"\", shape=point, width=0.15, fillcolor=\"#1f2937\", color=\"#1f2937\""
                    .to_owned()
            }
            Role::End => "label=\"\", shape=doublecircle, width=0.12, style=filled, \
                          fillcolor=\"#1f2937\", color=\"#1f2937\""
                .to_owned(),
            Role::State(Type::Parallel | Type::Map) => {
                let _ = writeln!(
                    out,
                    "{pad}subgraph cluster_{id} {{\n{pad}  label=\"{}\";\n{pad}  \
                     style=\"rounded,filled\"; fillcolor=\"#f8fafc\"; color=\"#475569\";",
                    label(node)
                );
                for inner in &node.blocks {
                    let title = escape(inner.title.as_deref().unwrap_or_default());
                    let _ = writeln!(
                        out,
                        "{pad}  subgraph cluster_{} {{\n{pad}    label=\"{title}\";\n{pad}    \
                         style=\"rounded,dashed,filled\"; fillcolor=\"#ffffff\"; \
                         color=\"#94a3b8\";",
                        inner.id
                    );
                    nodes(out, inner, depth + 2);
                    let _ = writeln!(out, "{pad}  }}");
                }
                let _ = writeln!(out, "{pad}}}");
                continue;
            }
            Role::State(ty) => {
                let style = match ty {
                    Type::Task => "style=filled, fillcolor=\"#dbeafe\", color=\"#2563eb\"",
                    Type::Choice => {
                        "shape=diamond, style=filled, fillcolor=\"#fef3c7\", color=\"#d97706\""
                    }
                    Type::Wait => {
                        "shape=hexagon, style=filled, fillcolor=\"#ede9fe\", color=\"#7c3aed\""
                    }
                    Type::Succeed => "fillcolor=\"#dcfce7\", color=\"#16a34a\"",
                    Type::Fail => "fillcolor=\"#fee2e2\", color=\"#dc2626\"",
                    Type::Pass | Type::Parallel | Type::Map => "",
                };
                let sep = if style.is_empty() { "" } else { ", " };
                format!("label=\"{}\"{sep}{style}", label(node))
            }
        };
        let _ = writeln!(out, "{pad}{id} [{attributes}];");
    }
}

fn edges(out: &mut String, block: &Block) {
    for e in &block.edges {
        let (from, to) = (block.node(e.from), block.node(e.to));
        let mut attributes = Vec::new();
        // A Parallel or Map state has no node of its own: anchor on its cluster's markers.
        let tail = match from.blocks.first() {
            Some(inner) => {
                attributes.push(format!("ltail=cluster_{}", from.id));
                &inner.node(inner.end()).id
            }
            None => &from.id,
        };
        let head = match to.blocks.first() {
            Some(inner) => {
                attributes.push(format!("lhead=cluster_{}", to.id));
                &inner.node(inner.start()).id
            }
            None => &to.id,
        };
        if let Some(text) = &e.label {
            attributes.push(format!("label=\"{}\"", escape(text)));
        }
        if e.kind == EdgeKind::Catch {
            attributes.push("style=dashed, color=\"#dc2626\", fontcolor=\"#dc2626\"".to_owned());
        }
        if attributes.is_empty() {
            let _ = writeln!(out, "  {tail} -> {head};");
        } else {
            let _ = writeln!(out, "  {tail} -> {head} [{}];", attributes.join(", "));
        }
    }
}

/// Name, type and notes, one per line.
fn label(node: &Node) -> String {
    let lines: Vec<String> = node.lines().iter().map(|l| escape(l)).collect();
    lines.join("\\n")
}

/// A DOT string's body: backslashes and quotes escaped, so no `\l`, `\N` or `"` in a name acts,
/// and `&` written as `&amp;`, since Graphviz reads entities (`&lt;`) in every label.
fn escape(text: &str) -> String {
    super::escape_with(text, |c| match c {
        '&' => Some("&amp;"),
        '\\' => Some("\\\\"),
        '"' => Some("\\\""),
        _ => None,
    })
}
