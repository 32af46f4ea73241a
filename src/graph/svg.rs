//! A `Diagram` as an SVG picture, drawn from `layout`'s boxes and paths without any external
//! program: states shaped and coloured by type, Parallel and Map states as boxes holding their
//! blocks' frames, catch edges dashed, long labels cut with the whole text as a tooltip.
//!
//! With `layout::Config::badges`, each state's badge is an empty `<text class="badge"
//! data-state="NAME">` in the room its box keeps for it, for the live page to fill.
//!
//! Invariant: every text and attribute value is XML-escaped, and the output is one well-formed
//! document whose `<text>` elements include every state's name.

use std::fmt::Write;

use super::layout::{
    self, BlockLayout, Path, Point, Rect, Segment, CHOICE_TIP, FONT_SIZE, FRAME_PAD, LINE_H, PAD_Y,
    TITLE_H,
};
use super::{Block, Diagram, EdgeKind, Node, Role, Type};

const INK: &str = "#1f2937";
const CATCH: &str = "#dc2626";

/// The text of a `.svg` file.
pub fn render(diagram: &Diagram) -> String {
    render_with(diagram, &layout::Config::default())
}

/// The text of a `.svg` file, laid out with `config`.
pub fn render_with(diagram: &Diagram, config: &layout::Config) -> String {
    let l = layout::layout(diagram, config);
    let (w, h) = (num(l.width), num(l.height));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" \
         font-size=\"{}\">",
        num(FONT_SIZE)
    );
    out.push_str("<defs>\n");
    for (id, colour) in [("arrow", INK), ("arrow-catch", CATCH)] {
        let _ = writeln!(
            out,
            "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
             markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" \
             fill=\"{colour}\"/></marker>"
        );
    }
    out.push_str("</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    block(&mut out, &diagram.top, &l, true);
    out.push_str("</svg>\n");
    out
}

fn block(out: &mut String, b: &Block, l: &BlockLayout, top: bool) {
    for (node, nl) in b.nodes.iter().zip(&l.nodes) {
        let _ = writeln!(out, "<g id=\"{}\">", node.id);
        let tooltip = match node.role {
            Role::Start => "Start".to_owned(),
            Role::End => "End".to_owned(),
            Role::State(_) => node.lines().join("\n"),
        };
        let _ = writeln!(out, "<title>{}</title>", escape(&tooltip));
        match node.role {
            Role::Start | Role::End => marker(out, node.role, nl.rect, top),
            Role::State(Type::Parallel | Type::Map) => {
                let r = nl.rect;
                rect(out, r, 8.0, "#f8fafc", "#475569", "");
                lines(out, node, r);
                badge(out, node, nl.badge);
                for (inner, (origin, il)) in node.blocks.iter().zip(&nl.blocks) {
                    let at = Point {
                        x: r.x + origin.x,
                        y: r.y + origin.y,
                    };
                    let _ = writeln!(
                        out,
                        "<g transform=\"translate({},{})\">",
                        num(at.x),
                        num(at.y)
                    );
                    let frame = Rect {
                        x: 0.0,
                        y: 0.0,
                        w: il.width,
                        h: il.height,
                    };
                    rect(
                        out,
                        frame,
                        6.0,
                        "#ffffff",
                        "#94a3b8",
                        " stroke-dasharray=\"4 3\"",
                    );
                    if let Some(title) = &inner.title {
                        let _ = writeln!(
                            out,
                            "<text x=\"{}\" y=\"{}\" fill=\"#475569\" font-size=\"11\">{}</text>",
                            num(FRAME_PAD),
                            num(FRAME_PAD + TITLE_H - 8.0),
                            escape(title)
                        );
                    }
                    block(out, inner, il, false);
                    out.push_str("</g>\n");
                }
            }
            Role::State(ty) => {
                let r = nl.rect;
                let (fill, stroke) = colours(ty);
                match ty {
                    Type::Choice => {
                        let (x0, x1, y0, y1) = (r.x, r.right(), r.y, r.bottom());
                        let points = [
                            (x0 + CHOICE_TIP, y0),
                            (x1 - CHOICE_TIP, y0),
                            (x1, r.center_y()),
                            (x1 - CHOICE_TIP, y1),
                            (x0 + CHOICE_TIP, y1),
                            (x0, r.center_y()),
                        ];
                        let points: Vec<String> = points
                            .iter()
                            .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
                            .collect();
                        let _ = writeln!(
                            out,
                            "<polygon points=\"{}\" fill=\"{fill}\" stroke=\"{stroke}\"/>",
                            points.join(" ")
                        );
                    }
                    Type::Pass | Type::Succeed | Type::Fail => rect(out, r, 10.0, fill, stroke, ""),
                    _ => rect(out, r, 3.0, fill, stroke, ""),
                }
                lines(out, node, r);
                badge(out, node, nl.badge);
            }
        }
        out.push_str("</g>\n");
    }
    for el in &l.edges {
        let catch = b.edges[el.edges[0]].kind == EdgeKind::Catch;
        let (colour, arrow, dash) = if catch {
            (CATCH, "arrow-catch", " stroke-dasharray=\"5 4\"")
        } else {
            (INK, "arrow", "")
        };
        let _ = writeln!(
            out,
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.3\"{dash} \
             marker-end=\"url(#{arrow})\"/>",
            path_data(&el.path)
        );
    }
    for el in &l.edges {
        let Some(label) = &el.label else { continue };
        let catch = b.edges[el.edges[0]].kind == EdgeKind::Catch;
        let colour = if catch { CATCH } else { "#374151" };
        let full: Vec<&str> = el
            .edges
            .iter()
            .filter_map(|&e| b.edges[e].label.as_deref())
            .collect();
        let r = label.rect;
        out.push_str("<g>");
        let _ = write!(out, "<title>{}</title>", escape(&full.join("\n")));
        rect(out, r, 3.0, "#ffffff", "none", " fill-opacity=\"0.9\"");
        for (i, line) in label.lines.iter().enumerate() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{colour}\" \
                 font-size=\"11\">{}</text>",
                num(r.center_x()),
                num(r.y + 2.0 + i as f64 * LINE_H + 12.0),
                escape(line)
            );
        }
        out.push_str("</g>\n");
    }
}

/// The machine's start and end are labelled pills; a nested block's are a dot and a ring.
fn marker(out: &mut String, role: Role, r: Rect, top: bool) {
    if top {
        rect(out, r, r.h / 2.0, INK, INK, "");
        let word = if role == Role::Start { "Start" } else { "End" };
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#ffffff\">{word}</text>",
            num(r.center_x()),
            num(r.center_y() + 4.0)
        );
        return;
    }
    let (cx, cy, radius) = (num(r.center_x()), num(r.center_y()), r.w / 2.0);
    if role == Role::Start {
        let _ = writeln!(
            out,
            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{}\" fill=\"{INK}\"/>",
            num(radius)
        );
    } else {
        let _ = writeln!(
            out,
            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{}\" fill=\"#ffffff\" stroke=\"{INK}\" \
             stroke-width=\"1.5\"/><circle cx=\"{cx}\" cy=\"{cy}\" r=\"{}\" fill=\"{INK}\"/>",
            num(radius - 1.0),
            num(radius - 5.0)
        );
    }
}

/// A state's text: its name in bold, then its type and notes, centred in `r`'s top.
fn lines(out: &mut String, node: &Node, r: Rect) {
    for (i, line) in node.lines().iter().enumerate() {
        let style = match i {
            0 => " font-weight=\"bold\"".to_owned(),
            1 => format!(
                " font-size=\"11\" font-style=\"italic\" fill=\"{}\"",
                "#4b5563"
            ),
            _ => format!(" font-size=\"11\" fill=\"{}\"", "#4b5563"),
        };
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\"{style}>{}</text>",
            num(r.center_x()),
            num(r.y + PAD_Y + i as f64 * LINE_H + 12.0),
            escape(line)
        );
    }
}

/// A badge's room: a faint rule above it and an empty text the page fills, centred in it.
fn badge(out: &mut String, node: &Node, room: Option<Rect>) {
    let Some(b) = room else { return };
    let _ = writeln!(
        out,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#9ca3af\" \
         stroke-opacity=\"0.5\"/>",
        num(b.x),
        num(b.y + 1.0),
        num(b.right()),
        num(b.y + 1.0)
    );
    let _ = writeln!(
        out,
        "<text class=\"badge\" data-state=\"{}\" x=\"{}\" y=\"{}\" \
         data-width=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#9ca3af\"></text>",
        escape(&node.name),
        num(b.center_x()),
        num(b.y + 13.0),
        num(b.w)
    );
}

fn rect(out: &mut String, r: Rect, round: f64, fill: &str, stroke: &str, extra: &str) {
    let _ = writeln!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"{fill}\" \
         stroke=\"{stroke}\"{extra}/>",
        num(r.x),
        num(r.y),
        num(r.w),
        num(r.h),
        num(round)
    );
}

fn colours(ty: Type) -> (&'static str, &'static str) {
    match ty {
        Type::Task => ("#dbeafe", "#2563eb"),
        Type::Choice => ("#fef3c7", "#d97706"),
        Type::Wait => ("#ede9fe", "#7c3aed"),
        Type::Succeed => ("#dcfce7", "#16a34a"),
        Type::Fail => ("#fee2e2", "#dc2626"),
        Type::Pass | Type::Parallel | Type::Map => ("#f3f4f6", "#6b7280"),
    }
}

fn path_data(p: &Path) -> String {
    let mut d = format!("M{},{}", num(p.start.x), num(p.start.y));
    for s in &p.segments {
        match s {
            Segment::Line(to) => {
                let _ = write!(d, " L{},{}", num(to.x), num(to.y));
            }
            Segment::Curve(a, b, to) => {
                let _ = write!(
                    d,
                    " C{},{} {},{} {},{}",
                    num(a.x),
                    num(a.y),
                    num(b.x),
                    num(b.y),
                    num(to.x),
                    num(to.y)
                );
            }
        }
    }
    d
}

/// A coordinate with at most one decimal, so the output is short and stable.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Text content or an attribute value. Characters XML 1.0 forbids even as references (control
/// characters other than tab and newlines) become U+FFFD.
fn escape(text: &str) -> String {
    super::escape_with(text, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&apos;"),
        '\t' | '\n' | '\r' => None,
        c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => Some("\u{fffd}"),
        _ => None,
    })
}
