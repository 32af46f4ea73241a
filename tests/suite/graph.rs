//! Diagrams. Mermaid and DOT of the bundled definitions (`examples/`, `benches/workloads/`) and
//! of the cases in `tests/data/graph/*.asl.json` (names every format must escape, loops, deep
//! nesting) are compared with snapshots beside those cases; `STATEJET_UPDATE_SNAPSHOTS=1 cargo
//! test` rewrites them. The SVG of those and of every conformance definition must parse as XML,
//! name every state, and have no two boxes of a block overlapping, drawn plain and with the
//! live page's count badges (each inside its state's box, clear of every other box and edge).

use std::path::PathBuf;

use statejet::asl::machine::StateMachine;
use statejet::graph::layout::{self, BlockLayout, Point, Rect};
use statejet::graph::{self, Block, Role};

use crate::validate::conformance_machine;
use crate::{
    bundled_definitions, check_all, compare_snapshot, data_dir, definitions_in, named_files,
    read_json, shared_dir, validated,
};

fn cases() -> Vec<(String, PathBuf)> {
    let mut all = bundled_definitions();
    all.extend(definitions_in(&data_dir().join("graph")));
    all
}

#[test]
fn mermaid_and_dot_match_snapshots() {
    let cases = cases().into_iter().map(|(n, p)| (n.clone(), (n, p)));
    check_all(cases, |(name, path)| {
        let d = graph::build(&validated(&path));
        let dir = data_dir().join("graph");
        compare_snapshot(
            &dir.join(format!("{name}.mmd")),
            &graph::mermaid::render(&d),
        )?;
        compare_snapshot(&dir.join(format!("{name}.dot")), &graph::dot::render(&d))
    });
}

#[test]
fn svg_of_every_case_is_well_formed() {
    check_all(cases(), |path| check_svg(&validated(&path)));
}

#[test]
fn svg_of_every_conformance_definition_is_well_formed() {
    let cases = named_files(&shared_dir().join("conformance/cases"));
    check_all(cases, |path| {
        check_svg(&conformance_machine(&read_json(&path))?)
    });
}

/// The SVG parses as XML, has a `<text>` naming each state, no boxes overlap and no edge runs
/// through a box, with and without badges.
fn check_svg(machine: &StateMachine) -> Result<(), String> {
    for config in [layout::Config::default(), layout::Config { badges: true }] {
        check_svg_with(machine, &config).map_err(|e| format!("{config:?}: {e}"))?;
    }
    Ok(())
}

fn check_svg_with(machine: &StateMachine, config: &layout::Config) -> Result<(), String> {
    let d = graph::build(machine);
    let svg = graph::svg::render_with(&d, config);
    let doc = roxmltree::Document::parse(&svg).map_err(|e| format!("not XML: {e}"))?;
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    let badges: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("class") == Some("badge"))
        .filter_map(|n| n.attribute("data-state"))
        .collect();
    for block in d.top.all() {
        for state in block.states() {
            if !texts.contains(&state.name.as_str()) {
                return Err(format!("no text names state {:?}", state.name));
            }
            if config.badges != badges.contains(&state.name.as_str()) {
                return Err(format!(
                    "state {:?}: badge drawn is not {}",
                    state.name, config.badges
                ));
            }
        }
    }
    overlaps(
        &d.top,
        &layout::layout(&d, config),
        Point { x: 0.0, y: 0.0 },
    )
}

/// Checks one block's boxes (states, markers, labels) pairwise and against the edges that do
/// not end at them, then each nested block's. A badge must lie inside its own state's box, clear
/// of its nested blocks' frames, of every other box and of every edge, its state's included.
fn overlaps(block: &Block, l: &BlockLayout, at: Point) -> Result<(), String> {
    let mut boxes: Vec<(String, Rect)> = Vec::new();
    let mut badges: Vec<(usize, String, Rect)> = Vec::new();
    for (i, (node, nl)) in block.nodes.iter().zip(&l.nodes).enumerate() {
        let name = match node.role {
            Role::State(_) => node.name.clone(),
            _ => format!("{} marker", node.id),
        };
        let r = nl.rect.offset(at);
        boxes.push((name.clone(), r));
        if let Some(b) = nl.badge {
            let b = b.offset(at);
            let inside =
                b.x >= r.x && b.right() <= r.right() && b.y >= r.y && b.bottom() <= r.bottom();
            if !inside {
                return Err(format!(
                    "the badge of {name} {b:?} is not inside its box {r:?}"
                ));
            }
            badges.push((i, format!("badge of {name}"), b));
        }
        for (inner, (origin, inner_layout)) in node.blocks.iter().zip(&nl.blocks) {
            let inner_at = Point {
                x: at.x + nl.rect.x + origin.x,
                y: at.y + nl.rect.y + origin.y,
            };
            let frame = Rect {
                x: inner_at.x,
                y: inner_at.y,
                w: inner_layout.width,
                h: inner_layout.height,
            };
            if let Some((_, badge, b)) = badges.last().filter(|(j, _, _)| *j == i) {
                if b.overlaps(&frame) {
                    return Err(format!(
                        "the {badge} {b:?} overlaps a nested block {frame:?}"
                    ));
                }
            }
            overlaps(inner, inner_layout, inner_at)?;
        }
    }
    for (i, badge, b) in &badges {
        for (j, (other, r)) in boxes.iter().enumerate() {
            if j != *i && b.overlaps(r) {
                return Err(format!("the {badge} {b:?} overlaps {other} {r:?}"));
            }
        }
        // Paths are in the block's own coordinates.
        let own = b.offset(Point { x: -at.x, y: -at.y });
        let through = |p: &Point| {
            p.x > own.x + 1.0
                && p.x < own.right() - 1.0
                && p.y > own.y + 1.0
                && p.y < own.bottom() - 1.0
        };
        for e in &l.edges {
            if points(&e.path).iter().any(through) {
                return Err(format!("an edge of {:?} runs through the {badge}", e.edges));
            }
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
    for e in &l.edges {
        let first = &block.edges[e.edges[0]];
        let ends = [first.from.index(), first.to.index()];
        let path = points(&e.path);
        for (i, (node, nl)) in block.nodes.iter().zip(&l.nodes).enumerate() {
            // A hair inside the box: paths start and end on its border.
            let inside = |p: &Point| {
                let r = nl.rect;
                p.x > r.x + 1.0
                    && p.x < r.right() - 1.0
                    && p.y > r.y + 1.0
                    && p.y < r.bottom() - 1.0
            };
            if !ends.contains(&i) && path.iter().any(inside) {
                return Err(format!(
                    "an edge of {:?} runs through {:?}",
                    e.edges, node.name
                ));
            }
        }
    }
    Ok(())
}

/// Points along a path, 16 per segment.
fn points(path: &layout::Path) -> Vec<Point> {
    let mut all = vec![path.start];
    let mut from = path.start;
    for s in &path.segments {
        match *s {
            layout::Segment::Line(to) => {
                all.extend((1..=16).map(|i| {
                    let t = i as f64 / 16.0;
                    Point {
                        x: from.x + (to.x - from.x) * t,
                        y: from.y + (to.y - from.y) * t,
                    }
                }));
                from = to;
            }
            layout::Segment::Curve(a, b, to) => {
                all.extend((1..=16).map(|i| {
                    let t = i as f64 / 16.0;
                    let u = 1.0 - t;
                    let mix = |p: f64, q: f64, r: f64, s: f64| {
                        u * u * u * p + 3.0 * u * u * t * q + 3.0 * u * t * t * r + t * t * t * s
                    };
                    Point {
                        x: mix(from.x, a.x, b.x, to.x),
                        y: mix(from.y, a.y, b.y, to.y),
                    }
                }));
                from = to;
            }
        }
    }
    all
}
