//! Diagrams of the bundled definitions (`examples/`, `benches/workloads/`) and of the cases in
//! `tests/data/graph/*.asl.json` (names every format must escape, loops, deep nesting): Mermaid
//! and DOT compared with snapshots beside the cases, SVG parsed as XML and checked for every
//! state name and for overlapping boxes. `STATEJET_UPDATE_SNAPSHOTS=1 cargo test` rewrites
//! the snapshots.

use std::path::{Path, PathBuf};

use statejet::graph::layout::{self, BlockLayout, Point, Rect};
use statejet::graph::{self, Block, Diagram, Role};

use crate::{
    bundled_definitions, check_all, compare_snapshot, data_dir, definitions_in, validated,
};

fn cases() -> Vec<(String, PathBuf)> {
    let mut all = bundled_definitions();
    all.extend(definitions_in(&data_dir().join("graph")));
    all
}

fn diagram(definition: &Path) -> Diagram {
    graph::build(&validated(definition))
}

#[test]
fn mermaid_and_dot_match_snapshots() {
    let cases = cases().into_iter().map(|(n, p)| (n.clone(), (n, p)));
    check_all(cases, |(name, path)| {
        let d = diagram(&path);
        let dir = data_dir().join("graph");
        compare_snapshot(
            &dir.join(format!("{name}.mmd")),
            &graph::mermaid::render(&d),
        )?;
        compare_snapshot(&dir.join(format!("{name}.dot")), &graph::dot::render(&d))
    });
}

#[test]
fn svg_is_xml_naming_every_state() {
    check_all(cases(), |path| {
        let d = diagram(&path);
        let svg = graph::svg::render(&d);
        let doc = roxmltree::Document::parse(&svg).map_err(|e| format!("not XML: {e}"))?;
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        for block in d.top.all() {
            for state in block.states() {
                if !texts.contains(&state.name.as_str()) {
                    return Err(format!("no text names state {}", state.name));
                }
            }
        }
        Ok(())
    });
}

#[test]
fn svg_boxes_do_not_overlap() {
    check_all(cases(), |path| {
        let d = diagram(&path);
        overlaps(&d.top, &layout::layout(&d), Point { x: 0.0, y: 0.0 })
    });
}

/// Checks one block's boxes (states, markers, labels) pairwise, then each nested block's.
fn overlaps(block: &Block, l: &BlockLayout, at: Point) -> Result<(), String> {
    let mut boxes: Vec<(String, Rect)> = Vec::new();
    for (node, nl) in block.nodes.iter().zip(&l.nodes) {
        let name = match node.role {
            Role::State(_) => node.name.clone(),
            _ => format!("{} marker", node.id),
        };
        boxes.push((name, nl.rect.offset(at)));
        for (inner, (origin, inner_layout)) in node.blocks.iter().zip(&nl.blocks) {
            let inner_at = Point {
                x: at.x + nl.rect.x + origin.x,
                y: at.y + nl.rect.y + origin.y,
            };
            overlaps(inner, inner_layout, inner_at)?;
        }
    }
    for e in &l.edges {
        if let Some(label) = &e.label {
            boxes.push((format!("label {:?}", label.lines), label.rect.offset(at)));
        }
    }
    for (i, (a, ra)) in boxes.iter().enumerate() {
        for (b, rb) in &boxes[i + 1..] {
            if ra.overlaps(rb) {
                return Err(format!("{a} {ra:?} overlaps {b} {rb:?}"));
            }
        }
    }
    Ok(())
}
