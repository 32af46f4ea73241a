//! Where `svg` draws things: a layered (Sugiyama-style) layout of each block on its own.
//!
//! Per block: (1) cycles are broken by a depth-first walk from the start marker, back edges
//! reversed; (2) layers by longest path, a labelled edge spanning at least two so its label can
//! sit in the layer between; (3) long edges get a dummy vertex per layer crossed (the first one
//! carries the label's box); (4) a few barycenter sweeps order each layer, keeping the order with
//! the fewest crossings; (5) x by ordered least squares (pool-adjacent-violators) towards the
//! neighbours' mean, a few sweeps; (6) y by layer bands. A Parallel or Map state is measured by
//! laying out its blocks first, side by side, so the recursion lays out the innermost first.
//!
//! With `Config::badges` (the live page) every state box also holds a count badge: a strip
//! along its bottom (a Parallel's or Map's under its header), so the box guarantees below cover
//! the badge too.
//!
//! Invariant: within a block no two boxes (states, markers, edge labels) overlap, and an edge
//! crosses no box: it runs vertically inside a layer's band and bends only between bands.

use super::{Block, Diagram, EdgeKind, Node, Role, Type};

/// Text is drawn in a monospace font of 12 px, whose advance is 0.6 em: widths are predictable.
pub const FONT_SIZE: f64 = 12.0;
pub const CHAR_W: f64 = 7.3;
pub const LINE_H: f64 = 16.0;
/// Padding around a state's text.
pub const PAD_X: f64 = 10.0;
pub const PAD_Y: f64 = 6.0;
/// How far a Choice's hexagon points stick out beside its text.
pub const CHOICE_TIP: f64 = 10.0;
/// Padding inside a nested block's frame, and the height of its title.
pub const FRAME_PAD: f64 = 12.0;
pub const TITLE_H: f64 = 18.0;
/// The margin around the whole drawing.
const MARGIN: f64 = 16.0;
/// Vertical space between layer bands: room for an arrow's curve.
const LAYER_GAP: f64 = 30.0;
/// Horizontal space between two boxes of a layer, and beside an edge passing through.
const NODE_GAP: f64 = 28.0;
const DUMMY_GAP: f64 = 12.0;
/// Between the blocks of a Parallel, side by side.
const BLOCK_GAP: f64 = 16.0;
/// Size of a nested block's start and end markers; the machine's are labelled pills.
pub const MARKER: f64 = 18.0;
const PILL_H: f64 = 22.0;
/// Edge labels longer than this are cut (the SVG keeps the whole text as a tooltip).
pub const LABEL_CHARS: usize = 48;
/// How far a self-loop bulges right of its state.
const LOOP_W: f64 = 30.0;
/// A count badge holds this many characters of 11 px text (`▶999 ✔999 ✖99 ↻9`; the page
/// writes larger counts in short form), one line high.
pub const BADGE_CHARS: usize = 16;
pub const BADGE_CHAR_W: f64 = CHAR_W * 11.0 / 12.0;
pub const BADGE_H: f64 = LINE_H;
/// Ordering and placement sweeps: enough to settle graphs of a few dozen states.
const ORDER_SWEEPS: usize = 8;
const PLACE_SWEEPS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    pub fn center_x(&self) -> f64 {
        self.x + self.w / 2.0
    }

    pub fn center_y(&self) -> f64 {
        self.y + self.h / 2.0
    }

    /// Whether the two share any area (touching edges do not count).
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }

    pub fn offset(&self, by: Point) -> Rect {
        Rect {
            x: self.x + by.x,
            y: self.y + by.y,
            ..*self
        }
    }
}

/// What the drawing holds besides the definition.
#[derive(Debug, Clone, Copy, Default)]
pub struct Config {
    /// Room in each state box for a count badge, as the live page fills it.
    pub badges: bool,
}

/// A laid-out block, in its own coordinates (origin at its top-left corner).
#[derive(Debug, Clone)]
pub struct BlockLayout {
    pub width: f64,
    pub height: f64,
    /// One per node of the block, same index.
    pub nodes: Vec<NodeLayout>,
    pub edges: Vec<EdgeLayout>,
}

#[derive(Debug, Clone)]
pub struct NodeLayout {
    pub rect: Rect,
    /// A state's count badge, inside `rect` (with `Config::badges`).
    pub badge: Option<Rect>,
    /// A Parallel's or Map's blocks, each with its origin relative to `rect`'s corner.
    pub blocks: Vec<(Point, BlockLayout)>,
}

/// One drawn path: edges with the same ends and style share it, their labels stacked.
#[derive(Debug, Clone)]
pub struct EdgeLayout {
    /// Indexes into the block's `edges`.
    pub edges: Vec<usize>,
    pub path: Path,
    pub label: Option<Label>,
}

#[derive(Debug, Clone)]
pub struct Label {
    pub rect: Rect,
    /// One line per labelled edge, cut to `LABEL_CHARS`.
    pub lines: Vec<String>,
}

/// A path from `start`; it ends where an arrowhead belongs.
#[derive(Debug, Clone)]
pub struct Path {
    pub start: Point,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy)]
pub enum Segment {
    Line(Point),
    /// A cubic Bézier: two control points, then the end.
    Curve(Point, Point, Point),
}

/// The layout of the whole diagram: its top block with a margin and no frame.
pub fn layout(diagram: &Diagram, config: &Config) -> BlockLayout {
    block(&diagram.top, true, config)
}

/// The text of a state box, and how wide it must be.
pub fn text_width(lines: &[String]) -> f64 {
    let chars = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    chars as f64 * CHAR_W
}

/// The header of a Parallel or Map box: its name, type and notes (and its badge).
pub fn header_height(node: &Node, config: &Config) -> f64 {
    node.lines().len() as f64 * LINE_H + 2.0 * PAD_Y + badge_height(config)
}

fn badge_height(config: &Config) -> f64 {
    if config.badges {
        BADGE_H
    } else {
        0.0
    }
}

/// How wide a state's text area must be: its widest line, or the badge's width.
fn content_width(lines: &[String], config: &Config) -> f64 {
    let badge = if config.badges {
        BADGE_CHARS as f64 * BADGE_CHAR_W
    } else {
        0.0
    };
    text_width(lines).max(badge)
}

/// A vertex of the layered graph: a node of the block, or a dummy on a long edge.
struct Vertex {
    /// Half widths: a self-loop widens its state on the right only.
    left: f64,
    right: f64,
    height: f64,
    layer: usize,
    dummy: bool,
}

/// Edges with the same ends and style, drawn as one.
struct Route {
    from: usize,
    to: usize,
    edges: Vec<usize>,
    lines: Vec<String>,
    /// Whether the layered graph holds it reversed (a back edge).
    reversed: bool,
    /// The vertices it runs through, top to bottom, ends included.
    chain: Vec<usize>,
}

fn block(b: &Block, top: bool, config: &Config) -> BlockLayout {
    let mut nodes: Vec<NodeLayout> = b.nodes.iter().map(|n| measure(n, top, config)).collect();
    let routes = routes(b);
    let (loops, mut routes): (Vec<Route>, Vec<Route>) =
        routes.into_iter().partition(|r| r.from == r.to);

    let mut vertices: Vec<Vertex> = nodes
        .iter()
        .map(|n| Vertex {
            left: n.rect.w / 2.0,
            right: n.rect.w / 2.0,
            height: n.rect.h,
            layer: 0,
            dummy: false,
        })
        .collect();
    for l in &loops {
        vertices[l.from].right += LOOP_W + label_size(&l.lines).map_or(0.0, |(w, _)| w + 4.0);
    }

    break_cycles(b, &mut routes);
    assign_layers(b, &routes, &mut vertices);
    let labels = add_dummies(&mut routes, &mut vertices);
    let layers = order(b, &routes, &vertices);
    let mut x = place(&routes, &vertices, &layers);

    let (origin, pad) = if top {
        (
            Point {
                x: MARGIN,
                y: MARGIN,
            },
            MARGIN,
        )
    } else {
        let title = if b.title.is_some() { TITLE_H } else { 0.0 };
        let origin = Point {
            x: FRAME_PAD,
            y: FRAME_PAD + title,
        };
        (origin, FRAME_PAD)
    };
    // Move everything right of the origin; under a title wider than the drawing, centre it.
    let left = (0..vertices.len())
        .map(|v| x[v] - vertices[v].left)
        .fold(f64::INFINITY, f64::min);
    let right = (0..vertices.len())
        .map(|v| x[v] + vertices[v].right)
        .fold(f64::NEG_INFINITY, f64::max);
    let title_w = b
        .title
        .as_ref()
        .map_or(0.0, |t| t.chars().count() as f64 * CHAR_W);
    let shift = origin.x - left + ((title_w - (right - left)) / 2.0).max(0.0);
    for v in &mut x {
        *v += shift;
    }
    let width = (right + shift).max(origin.x + title_w) + pad;

    let bands = Bands::new(&layers, &vertices, origin.y);
    let rect_of = |v: usize, w: f64| {
        let vx = &vertices[v];
        let (top, bottom) = bands.span(vx.layer);
        Rect {
            x: x[v] - w / 2.0,
            y: (top + bottom - vx.height) / 2.0,
            w,
            h: vx.height,
        }
    };
    for (v, node) in nodes.iter_mut().enumerate() {
        node.rect = rect_of(v, node.rect.w);
        let corner = Point {
            x: node.rect.x,
            y: node.rect.y,
        };
        node.badge = node.badge.map(|b| b.offset(corner));
    }

    let port = ports(&routes, &vertices, &x, &nodes);
    let mut edges = Vec::with_capacity(routes.len() + loops.len());
    for (r, route) in routes.iter().enumerate() {
        let ends = (port.out[r], port.r#in[r]);
        let mut path = path(route, ends, &x, &nodes, &vertices, &bands);
        if route.reversed {
            path = reverse(&path);
        }
        let label = labels[r].map(|v| Label {
            rect: rect_of(v, vertices[v].left * 2.0),
            lines: route.lines.clone(),
        });
        edges.push(EdgeLayout {
            edges: route.edges.clone(),
            path,
            label,
        });
    }
    edges.extend(loops.into_iter().map(|l| {
        let r = nodes[l.from].rect;
        self_loop(l, r)
    }));

    BlockLayout {
        width,
        height: bands.bottom() + pad,
        nodes,
        edges,
    }
}

/// Each layer's band: as tall as its tallest box, with `LAYER_GAP` between bands.
struct Bands {
    top: Vec<f64>,
    height: Vec<f64>,
}

impl Bands {
    fn new(layers: &[Vec<usize>], vertices: &[Vertex], y: f64) -> Bands {
        let mut bands = Bands {
            top: Vec::with_capacity(layers.len()),
            height: Vec::with_capacity(layers.len()),
        };
        let mut y = y;
        for layer in layers {
            let h = layer
                .iter()
                .map(|&v| vertices[v].height)
                .fold(0.0, f64::max);
            bands.top.push(y);
            bands.height.push(h);
            y += h + LAYER_GAP;
        }
        bands
    }

    /// The layer's top and bottom.
    fn span(&self, layer: usize) -> (f64, f64) {
        (self.top[layer], self.top[layer] + self.height[layer])
    }

    fn bottom(&self) -> f64 {
        self.span(self.top.len() - 1).1
    }
}

/// A route from its top vertex's bottom side (at `ends.0`) to its bottom vertex's top side (at
/// `ends.1`): straight down inside each band, an S-curve across each gap.
fn path(
    route: &Route,
    ends: (f64, f64),
    x: &[f64],
    nodes: &[NodeLayout],
    vertices: &[Vertex],
    bands: &Bands,
) -> Path {
    let chain = &route.chain;
    let (first, last) = (chain[0], chain[chain.len() - 1]);
    let start = Point {
        x: ends.0,
        y: nodes[first].rect.bottom(),
    };
    let mut segments = Vec::new();
    let mut at = Point {
        x: ends.0,
        y: bands.span(vertices[first].layer).1,
    };
    if at.y > start.y {
        segments.push(Segment::Line(at));
    }
    for &v in &chain[1..] {
        let (top, bottom) = bands.span(vertices[v].layer);
        let (vx, down_to) = if v == last {
            (ends.1, nodes[last].rect.y)
        } else {
            (x[v], bottom)
        };
        let mid = (at.y + top) / 2.0;
        let to = Point { x: vx, y: top };
        segments.push(Segment::Curve(
            Point { x: at.x, y: mid },
            Point { x: vx, y: mid },
            to,
        ));
        at = Point { x: vx, y: down_to };
        if down_to > top {
            segments.push(Segment::Line(at));
        }
    }
    Path { start, segments }
}

/// A loop bulging out of the state's right side, its label beside it (in the room `block`
/// reserved there).
fn self_loop(l: Route, r: Rect) -> EdgeLayout {
    let (cy, side) = (r.center_y(), r.right());
    let reach = side + LOOP_W;
    let at = |x, dy| Point { x, y: cy + dy };
    let path = Path {
        start: at(side, -6.0),
        segments: vec![Segment::Curve(
            at(reach, -18.0),
            at(reach, 18.0),
            at(side, 6.0),
        )],
    };
    let label = label_size(&l.lines).map(|(w, h)| Label {
        rect: Rect {
            x: reach + 4.0,
            y: cy - h / 2.0,
            w,
            h,
        },
        lines: l.lines,
    });
    EdgeLayout {
        edges: l.edges,
        path,
        label,
    }
}

/// A node's box (at the origin), and for a Parallel or Map its blocks laid out inside it.
fn measure(node: &Node, top: bool, config: &Config) -> NodeLayout {
    let lines = node.lines();
    let badge_h = badge_height(config);
    let (w, h, blocks) = match node.role {
        Role::Start | Role::End if top => (5.0 * CHAR_W + 2.0 * PAD_X, PILL_H, Vec::new()),
        Role::Start | Role::End => (MARKER, MARKER, Vec::new()),
        Role::State(Type::Parallel | Type::Map) => {
            let inner: Vec<BlockLayout> = node
                .blocks
                .iter()
                .map(|b| block(b, false, config))
                .collect();
            let total = inner.iter().map(|l| l.width).sum::<f64>()
                + BLOCK_GAP * inner.len().saturating_sub(1) as f64;
            let tallest = inner.iter().map(|l| l.height).fold(0.0, f64::max);
            let header = header_height(node, config);
            let w = (content_width(&lines, config) + 2.0 * PAD_X).max(total + 2.0 * FRAME_PAD);
            let mut x = (w - total) / 2.0;
            let mut blocks = Vec::with_capacity(inner.len());
            for l in inner {
                let width = l.width;
                blocks.push((Point { x, y: header }, l));
                x += width + BLOCK_GAP;
            }
            (w, header + tallest + FRAME_PAD, blocks)
        }
        Role::State(ty) => {
            let tips = if ty == Type::Choice {
                2.0 * CHOICE_TIP
            } else {
                0.0
            };
            let w = content_width(&lines, config) + 2.0 * PAD_X + tips;
            let h = lines.len() as f64 * LINE_H + 2.0 * PAD_Y + badge_h;
            (w, h, Vec::new())
        }
    };
    // The badge: the line under the state's text, as wide as the text area (a Choice's
    // between its hexagon's tips).
    let badge = match node.role {
        Role::State(ty) if config.badges => {
            let inset = PAD_X + if ty == Type::Choice { CHOICE_TIP } else { 0.0 };
            Some(Rect {
                x: inset,
                y: lines.len() as f64 * LINE_H + PAD_Y,
                w: w - 2.0 * inset,
                h: BADGE_H,
            })
        }
        _ => None,
    };
    NodeLayout {
        rect: Rect {
            x: 0.0,
            y: 0.0,
            w,
            h,
        },
        badge,
        blocks,
    }
}

/// The block's edges grouped by ends and style, each group's labels cut to size.
fn routes(b: &Block) -> Vec<Route> {
    let mut routes: Vec<Route> = Vec::new();
    for (i, e) in b.edges.iter().enumerate() {
        let (from, to) = (e.from.index(), e.to.index());
        let catch = e.kind == EdgeKind::Catch;
        let same = routes.iter_mut().find(|r| {
            r.from == from && r.to == to && (b.edges[r.edges[0]].kind == EdgeKind::Catch) == catch
        });
        let route = match same {
            Some(r) => r,
            None => {
                routes.push(Route {
                    from,
                    to,
                    edges: Vec::new(),
                    lines: Vec::new(),
                    reversed: false,
                    chain: Vec::new(),
                });
                routes.last_mut().expect("just pushed")
            }
        };
        route.edges.push(i);
        if let Some(text) = &e.label {
            route.lines.push(cut(text));
        }
    }
    routes
}

fn cut(text: &str) -> String {
    if text.chars().count() <= LABEL_CHARS {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(LABEL_CHARS - 1).collect();
        s.push('…');
        s
    }
}

/// A label's box size, if it has any text.
fn label_size(lines: &[String]) -> Option<(f64, f64)> {
    if lines.is_empty() {
        return None;
    }
    Some((text_width(lines) + 8.0, lines.len() as f64 * LINE_H + 4.0))
}

/// Marks back edges: those a depth-first walk from the start marker (then from any node not yet
/// reached) meets going to a node still on its stack.
fn break_cycles(b: &Block, routes: &mut [Route]) {
    let n = b.nodes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (r, route) in routes.iter().enumerate() {
        out[route.from].push(r);
    }
    // 0: not reached, 1: on the stack, 2: done.
    let mut state = vec![0u8; n];
    let roots = std::iter::once(b.start().index()).chain(0..n);
    for root in roots {
        if state[root] != 0 {
            continue;
        }
        state[root] = 1;
        let mut stack = vec![(root, 0usize)];
        while let Some((v, next)) = stack.last_mut() {
            let v = *v;
            if let Some(&r) = out[v].get(*next) {
                *next += 1;
                let to = routes[r].to;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => routes[r].reversed = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
}

/// The route's ends as the layered graph holds them: top, then bottom.
fn ends(route: &Route) -> (usize, usize) {
    if route.reversed {
        (route.to, route.from)
    } else {
        (route.from, route.to)
    }
}

/// Longest path from the sources; labelled routes span two layers; the end marker goes last.
fn assign_layers(b: &Block, routes: &[Route], vertices: &mut [Vertex]) {
    let n = vertices.len();
    let mut indegree = vec![0usize; n];
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for route in routes {
        let (a, z) = ends(route);
        let span = if route.lines.is_empty() { 1 } else { 2 };
        out[a].push((z, span));
        indegree[z] += 1;
    }
    let mut ready: Vec<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    while let Some(v) = ready.pop() {
        for &(z, span) in &out[v] {
            vertices[z].layer = vertices[z].layer.max(vertices[v].layer + span);
            indegree[z] -= 1;
            if indegree[z] == 0 {
                ready.push(z);
            }
        }
    }
    let end = b.end().index();
    let deepest = (0..n)
        .filter(|&v| v != end)
        .map(|v| vertices[v].layer)
        .max()
        .unwrap_or(0);
    vertices[end].layer = deepest + 1;
}

/// Gives every route its chain of vertices, adding a dummy per layer crossed. Returns, per
/// route, the dummy that carries its label.
fn add_dummies(routes: &mut [Route], vertices: &mut Vec<Vertex>) -> Vec<Option<usize>> {
    let mut labels = vec![None; routes.len()];
    for (r, route) in routes.iter_mut().enumerate() {
        let (a, z) = ends(route);
        let mut chain = vec![a];
        let size = label_size(&route.lines);
        for layer in vertices[a].layer + 1..vertices[z].layer {
            let (w, h) = match size {
                Some(s) if layer == vertices[a].layer + 1 => {
                    labels[r] = Some(vertices.len());
                    s
                }
                _ => (0.0, 0.0),
            };
            chain.push(vertices.len());
            vertices.push(Vertex {
                left: w / 2.0,
                right: w / 2.0,
                height: h,
                layer,
                dummy: true,
            });
        }
        chain.push(z);
        route.chain = chain;
    }
    labels
}

/// Each layer's vertices, left to right: first as a walk from the start meets them, then
/// improved by barycenter sweeps; the order with the fewest crossings wins.
fn order(b: &Block, routes: &[Route], vertices: &[Vertex]) -> Vec<Vec<usize>> {
    let n = vertices.len();
    let (up, down) = neighbours(routes, n);
    // Discovery order of a depth-first walk over the layered graph.
    let mut seen = vec![usize::MAX; n];
    let mut count = 0;
    let roots = std::iter::once(b.start().index()).chain(0..n);
    for root in roots {
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            if seen[v] != usize::MAX {
                continue;
            }
            seen[v] = count;
            count += 1;
            stack.extend(down[v].iter().rev().map(|&(z, _)| z));
        }
    }
    let depth = vertices.iter().map(|v| v.layer).max().unwrap_or(0) + 1;
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for v in 0..n {
        layers[vertices[v].layer].push(v);
    }
    for layer in &mut layers {
        layer.sort_by_key(|&v| seen[v]);
    }

    let mut best = layers.clone();
    let mut fewest = crossings(&layers, &down);
    for sweep in 0..ORDER_SWEEPS {
        let downward = sweep % 2 == 0;
        let mut pos = vec![0.0; n];
        for layer in &layers {
            for (i, &v) in layer.iter().enumerate() {
                pos[v] = i as f64;
            }
        }
        let sequence: Vec<usize> = if downward {
            (1..depth).collect()
        } else {
            (0..depth.saturating_sub(1)).rev().collect()
        };
        for l in sequence {
            let adjacent = if downward { &up } else { &down };
            let keys: Vec<(usize, f64)> = layers[l]
                .iter()
                .map(|&v| {
                    let near = &adjacent[v];
                    let key = if near.is_empty() {
                        pos[v]
                    } else {
                        near.iter().map(|&(u, _)| pos[u]).sum::<f64>() / near.len() as f64
                    };
                    (v, key)
                })
                .collect();
            let mut sorted = keys;
            sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
            layers[l] = sorted.into_iter().map(|(v, _)| v).collect();
            for (i, &v) in layers[l].iter().enumerate() {
                pos[v] = i as f64;
            }
        }
        let c = crossings(&layers, &down);
        if c < fewest {
            fewest = c;
            best = layers.clone();
        }
    }
    best
}

/// For each vertex, its neighbours in the layer above and below, with the pull of the link:
/// straight runs of dummies pull hardest, as in Graphviz.
#[allow(clippy::type_complexity)]
fn neighbours(routes: &[Route], n: usize) -> (Vec<Vec<(usize, f64)>>, Vec<Vec<(usize, f64)>>) {
    let mut up = vec![Vec::new(); n];
    let mut down = vec![Vec::new(); n];
    for route in routes {
        let last = route.chain.len() - 1;
        for (i, pair) in route.chain.windows(2).enumerate() {
            let dummies = usize::from(i > 0) + usize::from(i + 1 < last);
            let weight = [1.0, 2.0, 8.0][dummies];
            down[pair[0]].push((pair[1], weight));
            up[pair[1]].push((pair[0], weight));
        }
    }
    (up, down)
}

fn crossings(layers: &[Vec<usize>], down: &[Vec<(usize, f64)>]) -> usize {
    let mut pos = vec![0usize; down.len()];
    for layer in layers {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
    let mut total = 0;
    for layer in layers {
        let links: Vec<(usize, usize)> = layer
            .iter()
            .flat_map(|&v| down[v].iter().map(move |&(z, _)| (v, z)))
            .map(|(v, z)| (pos[v], pos[z]))
            .collect();
        for (i, a) in links.iter().enumerate() {
            total += links[i + 1..]
                .iter()
                .filter(|b| (a.0 < b.0 && a.1 > b.1) || (a.0 > b.0 && a.1 < b.1))
                .count();
        }
    }
    total
}

/// Centre x of every vertex: packed left to right, then moved towards the weighted mean of its
/// neighbours, sweeping down and up, keeping each layer's order and gaps.
fn place(routes: &[Route], vertices: &[Vertex], layers: &[Vec<usize>]) -> Vec<f64> {
    let (up, down) = neighbours(routes, vertices.len());
    let gap = |a: usize, b: usize| {
        let g = if vertices[a].dummy || vertices[b].dummy {
            DUMMY_GAP
        } else {
            NODE_GAP
        };
        vertices[a].right + g + vertices[b].left
    };
    let mut x = vec![0.0; vertices.len()];
    for layer in layers {
        for pair in layer.windows(2) {
            x[pair[1]] = x[pair[0]] + gap(pair[0], pair[1]);
        }
    }
    let depth = layers.len();
    for sweep in 0..PLACE_SWEEPS {
        // Down, up, ..., and the last two sweeps look both ways.
        let both = sweep + 2 >= PLACE_SWEEPS;
        let downward = sweep % 2 == 0;
        let sequence: Vec<usize> = if downward {
            (0..depth).collect()
        } else {
            (0..depth).rev().collect()
        };
        for l in sequence {
            let layer = &layers[l];
            let wanted: Vec<f64> = layer
                .iter()
                .map(|&v| {
                    let near: Vec<&(usize, f64)> = if both {
                        up[v].iter().chain(&down[v]).collect()
                    } else if downward {
                        up[v].iter().collect()
                    } else {
                        down[v].iter().collect()
                    };
                    let weight: f64 = near.iter().map(|&&(_, w)| w).sum();
                    if weight == 0.0 {
                        x[v]
                    } else {
                        near.iter().map(|&&(u, w)| x[u] * w).sum::<f64>() / weight
                    }
                })
                .collect();
            let gaps: Vec<f64> = layer.windows(2).map(|p| gap(p[0], p[1])).collect();
            for (v, placed) in layer.iter().zip(fit(&wanted, &gaps)) {
                x[*v] = placed;
            }
        }
    }
    x
}

/// The positions closest (least squares) to `wanted` such that position `i + 1` is at least
/// `gaps[i]` right of position `i`: subtract the cumulative gaps, take the isotonic regression
/// (pool adjacent violators), add them back.
fn fit(wanted: &[f64], gaps: &[f64]) -> Vec<f64> {
    let mut offset = Vec::with_capacity(wanted.len());
    let mut total = 0.0;
    for i in 0..wanted.len() {
        if i > 0 {
            total += gaps[i - 1];
        }
        offset.push(total);
    }
    // Pools of (sum, count), each pool's mean above the previous one's.
    let mut pools: Vec<(f64, usize)> = Vec::new();
    for (w, o) in wanted.iter().zip(&offset) {
        pools.push((w - o, 1));
        while pools.len() > 1 {
            let (s2, c2) = pools[pools.len() - 1];
            let (s1, c1) = pools[pools.len() - 2];
            if s1 / c1 as f64 <= s2 / c2 as f64 {
                break;
            }
            pools.pop();
            let last = pools.len() - 1;
            pools[last] = (s1 + s2, c1 + c2);
        }
    }
    let mut placed = Vec::with_capacity(wanted.len());
    for (sum, count) in pools {
        placed.extend(std::iter::repeat_n(sum / count as f64, count));
    }
    placed.iter().zip(&offset).map(|(p, o)| p + o).collect()
}

/// Where each route leaves its top vertex and enters its bottom one: a vertex's routes are
/// spread along its side in the order of their other ends.
struct Ports {
    out: Vec<f64>,
    r#in: Vec<f64>,
}

fn ports(routes: &[Route], vertices: &[Vertex], x: &[f64], nodes: &[NodeLayout]) -> Ports {
    let mut out = vec![0.0; routes.len()];
    let mut r#in = vec![0.0; routes.len()];
    let mut leaving: Vec<Vec<(f64, usize)>> = vec![Vec::new(); vertices.len()];
    let mut entering: Vec<Vec<(f64, usize)>> = vec![Vec::new(); vertices.len()];
    for (r, route) in routes.iter().enumerate() {
        let c = &route.chain;
        leaving[c[0]].push((x[c[1]], r));
        entering[c[c.len() - 1]].push((x[c[c.len() - 2]], r));
    }
    for (sides, result) in [(&mut leaving, &mut out), (&mut entering, &mut r#in)] {
        for (v, side) in sides.iter_mut().enumerate() {
            side.sort_by(|a, b| a.0.total_cmp(&b.0));
            let k = side.len();
            let width = nodes.get(v).map_or(0.0, |n| n.rect.w);
            let step = if k > 1 {
                (width * 0.6 / (k - 1) as f64).min(14.0)
            } else {
                0.0
            };
            for (i, &(_, r)) in side.iter().enumerate() {
                result[r] = x[v] + (i as f64 - (k - 1) as f64 / 2.0) * step;
            }
        }
    }
    Ports { out, r#in }
}

/// The same path walked from its end.
fn reverse(path: &Path) -> Path {
    let mut points = vec![path.start];
    for s in &path.segments {
        points.push(match s {
            Segment::Line(p) | Segment::Curve(_, _, p) => *p,
        });
    }
    let mut segments = Vec::with_capacity(path.segments.len());
    for (i, s) in path.segments.iter().enumerate().rev() {
        let back_to = points[i];
        segments.push(match s {
            Segment::Line(_) => Segment::Line(back_to),
            Segment::Curve(c1, c2, _) => Segment::Curve(*c2, *c1, back_to),
        });
    }
    Path {
        start: *points.last().expect("a path has a start"),
        segments,
    }
}
