//! Evaluating ASL paths on values: reading (Reference and query paths) and writing (`ResultPath`).
//!
//! Invariant: reads never modify their inputs; a miss is reported as a `Miss` in Jayway's words
//! (what AWS quotes), and turning it into a `States.Runtime` cause is the caller's job, since the
//! wording depends on the field.

use std::borrow::Cow;

use crate::value::{Map, Value};

use super::context::Lazy;
use crate::asl::path::{Path, ReferencePath, Root, Segment};

/// What a path is evaluated against.
#[derive(Clone, Copy)]
pub struct Roots<'a> {
    /// `$`: the value the field applies to (usually the state's effective input).
    pub input: &'a Value,
    /// `$$`: the Context Object, built when first read; `None` for a definition that never
    /// reads it (no `$$` anywhere), which then has nothing to make, lend or drop.
    pub context: Option<&'a Lazy<'a>>,
    /// `$name`: the workflow variables in scope.
    pub variables: &'a Map,
}

/// Why a path selected nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// Jayway could not compile the path, which it does when the path is evaluated: its
    /// message (an `InvalidPathException`, as the misses below are).
    Uncompilable(String),
    /// The last step is missing: Jayway's `No results for path: $['a']['b']`.
    NoResults(String),
    /// A step before the last is missing: `Missing property in path $['a']`.
    MissingProperty(String),
    /// The variable was never assigned.
    NoVariable(String),
}

impl Miss {
    /// Jayway's text, as AWS quotes it after `Invalid path '<path>' : `.
    pub fn detail(&self) -> String {
        match self {
            Miss::Uncompilable(message) => message.clone(),
            Miss::NoResults(p) => format!("No results for path: {p}"),
            Miss::MissingProperty(p) => format!("Missing property in path {p}"),
            Miss::NoVariable(name) => format!("The variable '{name}' is not defined"),
        }
    }
}

/// Evaluates a path: a Reference Path selects one value; a query path gathers its matches into
/// an array (empty when nothing matches, as Jayway does for indefinite paths).
pub fn read(path: &Path, roots: &Roots) -> Result<Value, Miss> {
    read_ref(path, roots).map(Cow::into_owned)
}

/// `read`, borrowing the node a Reference Path selects (a query path's array is made): for a
/// reader that only looks at the value (a Choice rule), no copy.
pub fn read_ref<'a>(path: &Path, roots: &Roots<'a>) -> Result<Cow<'a, Value>, Miss> {
    match path {
        // The common case first: a Reference Path on the input, read in place.
        Path::Reference(r) => match &r.root {
            Root::Input => get_from(roots.input, r, 0).map(Cow::Borrowed),
            Root::Context => {
                let (root, consumed) = match roots.context {
                    Some(c) => c.reference_root(&r.segments),
                    None => (&Value::Null, 0),
                };
                get_from(root, r, consumed).map(Cow::Borrowed)
            }
            other => get(root_value(other, roots)?, r).map(Cow::Borrowed),
        },
        // serde_json_path reads serde_json's values: the query runs on a copy in that type
        // (query paths are the rare kind; Reference Paths read in place).
        Path::Query(q) => {
            let root = root_value(&q.root, roots)?.to_serde();
            Ok(Cow::Owned(
                q.query
                    .query(&root)
                    .all()
                    .into_iter()
                    .map(Value::from)
                    .collect(),
            ))
        }
        // Jayway compiles the path before it reads the root.
        Path::Uncompilable(u) => Err(Miss::Uncompilable(u.message.clone())),
    }
}

fn root_value<'a>(root: &Root, roots: &Roots<'a>) -> Result<&'a Value, Miss> {
    match root {
        Root::Input => Ok(roots.input),
        Root::Context => Ok(roots.context.map_or(&Value::Null, Lazy::get)),
        Root::Variable(name) => roots
            .variables
            .get(name)
            .ok_or_else(|| Miss::NoVariable(name.clone())),
    }
}

/// The node a Reference Path on the input selects, if it selects one: `read_ref`'s common case
/// without its `Cow` and miss (a caller that gets `None` asks `read_ref` for the miss).
#[inline]
pub fn input_node<'v>(path: &Path, input: &'v Value) -> Option<&'v Value> {
    let Path::Reference(r) = path else {
        return None;
    };
    if !matches!(r.root, Root::Input) {
        return None;
    }
    let mut at = input;
    for segment in &r.segments {
        at = match (segment, at) {
            (Segment::Field(name), Value::Object(m)) => m.get(name)?,
            (Segment::Index(n), Value::Array(a)) => a.get(*n)?,
            _ => return None,
        };
    }
    Some(at)
}

/// Follows a Reference Path's steps from `root`.
pub fn get<'v>(root: &'v Value, path: &ReferencePath) -> Result<&'v Value, Miss> {
    get_from(root, path, 0)
}

/// Follows a Reference Path's steps after its first `consumed` from `at` (where those led);
/// misses name the whole path.
fn get_from<'v>(at: &'v Value, path: &ReferencePath, consumed: usize) -> Result<&'v Value, Miss> {
    let mut at = at;
    for (i, segment) in path.segments.iter().enumerate().skip(consumed) {
        let next = match (segment, at) {
            (Segment::Field(name), Value::Object(m)) => m.get(name),
            (Segment::Index(n), Value::Array(a)) => a.get(*n),
            _ => None,
        };
        at = match next {
            Some(v) => v,
            None => return Err(missed(path, i)),
        };
    }
    Ok(at)
}

/// The miss of a Reference Path whose step `i` found nothing (out of the reading loop).
#[cold]
fn missed(path: &ReferencePath, i: usize) -> Miss {
    match i + 1 == path.segments.len() {
        true => Miss::NoResults(canonical(&path.root, &path.segments)),
        false => Miss::MissingProperty(canonical(&path.root, &path.segments[..=i])),
    }
}

/// Jayway's bracket form of a path, e.g. `$['a'][0]`.
fn canonical(root: &Root, segments: &[Segment]) -> String {
    ReferencePath {
        root: root.clone(),
        segments: segments.to_vec(),
        text: String::new(),
    }
    .to_string()
}

/// Takes the node a `$` Reference Path selects out of `root` (leaving `null` in its place), for
/// a reader that owns `root` and needs nothing else of it: a move where `read` would copy.
/// `None`, with `root` unchanged, when the path selects nothing or starts elsewhere than `$`.
pub fn take(root: &mut Value, path: &ReferencePath) -> Option<Value> {
    if !matches!(path.root, Root::Input) {
        return None;
    }
    let mut at = root;
    for segment in &path.segments {
        at = match (segment, at) {
            (Segment::Field(name), Value::Object(m)) => m.get_mut(name)?,
            (Segment::Index(n), Value::Array(a)) => a.get_mut(*n)?,
            _ => return None,
        };
    }
    Some(std::mem::take(at))
}

/// Writes `value` into `target` at `path` (a `ResultPath`), creating objects on the way.
/// Fails when a step runs into something that is not an object (or an array, for an index).
pub fn put(target: Value, path: &ReferencePath, value: Value) -> Result<Value, String> {
    let mut target = target;
    let value = match put_field(&mut target, path, value) {
        Ok(()) => return Ok(target),
        Err(value) => value,
    };
    match put_in(&mut target, &path.segments, value) {
        Some(()) => Ok(target),
        None => Err(format!("Unable to apply ResultPath '{}'", path.text)),
    }
}

/// `put`'s common case in place, one field of an object (`$.result`): `put_in`'s step without
/// its recursion, and no move of the target in and out. Any other path or target gives `value`
/// back, `target` unchanged.
#[inline]
pub fn put_field(target: &mut Value, path: &ReferencePath, value: Value) -> Result<(), Value> {
    let ([Segment::Field(name)], Value::Object(m)) = (path.segments.as_slice(), target) else {
        return Err(value);
    };
    let before = m.known_bound();
    let new = value.known_bound();
    let (child, added) = m.field_or_null(name);
    let old = child.known_bound();
    *child = value;
    let after = match (before, added, old, new) {
        (Some(b), true, _, Some(n)) => b.checked_add(name.len() * 6 + 4 + n),
        (Some(b), false, Some(o), Some(n)) => b.checked_sub(o).and_then(|b| b.checked_add(n)),
        _ => None,
    };
    if let Some(bound) = after {
        m.note_bound(bound);
    }
    Ok(())
}

/// `put_field` of an object whose keys are `keys` and whose fields are `values`, when field
/// `path` of `target` already holds an object with those keys in that order and nobody else
/// holds it or `target` (a loop's state updating its own field): the values are swapped with
/// the old ones where they are (the old ones are left in `values`), so no node is made and none
/// freed. `bound` is the new object's text bound. `false`, with nothing written and `values`
/// untouched, otherwise.
pub fn overwrite_field<'k>(
    target: &mut Value,
    path: &ReferencePath,
    keys: impl ExactSizeIterator<Item = &'k str>,
    values: &mut [Value],
    bound: usize,
) -> bool {
    let ([Segment::Field(name)], Value::Object(m)) = (path.segments.as_slice(), target) else {
        return false;
    };
    let before = m.known_bound();
    let Some(outer) = m.unique_mut() else {
        return false;
    };
    match swap_into(outer, name, keys, values, bound) {
        // The same arithmetic as `put_field`'s for a field replaced.
        Some(old) => {
            if let Some(after) = before
                .zip(old)
                .and_then(|(b, o)| b.checked_sub(o)?.checked_add(bound))
            {
                m.note_bound(after);
            }
            true
        }
        // Nothing was written: the bound still holds.
        None => {
            if let Some(b) = before {
                m.note_bound(b);
            }
            false
        }
    }
}

/// `overwrite_field` for a `ResultPath` of `$`: `target` itself becomes the object, when it is
/// an object nobody else holds with those keys in that order.
pub fn overwrite<'k>(
    target: &mut Value,
    keys: impl ExactSizeIterator<Item = &'k str>,
    values: &mut [Value],
    bound: usize,
) -> bool {
    let Value::Object(m) = target else {
        return false;
    };
    if !m.keys_are(keys) {
        return false;
    }
    let Some(fields) = m.unique_mut() else {
        return false;
    };
    for (slot, v) in fields.values_mut().zip(values) {
        std::mem::swap(slot, v);
    }
    m.note_bound(bound);
    true
}

/// `overwrite_field`'s write into `outer`'s field `name`: the old object's bound if it was
/// written (one scan of `outer`, no copy).
#[inline]
fn swap_into<'k>(
    outer: &mut Map,
    name: &str,
    keys: impl ExactSizeIterator<Item = &'k str>,
    values: &mut [Value],
    bound: usize,
) -> Option<Option<usize>> {
    let Value::Object(old) = outer.get_mut(name)? else {
        return None;
    };
    if !old.keys_are(keys) {
        return None;
    }
    let old_bound = old.known_bound();
    let fields = old.unique_mut()?;
    for (slot, v) in fields.values_mut().zip(values) {
        std::mem::swap(slot, v);
    }
    old.note_bound(bound);
    Some(old_bound)
}

/// Writes `value` at `segments` below `at` (`None`: a step ran into the wrong kind of value).
/// A node written on the way keeps its remembered text bound when the bounds of what changed
/// are known: the bound is a sum over fields, so it follows by arithmetic what a walk of the
/// node would find, and the state's payload check costs no walk of its whole output.
fn put_in(at: &mut Value, segments: &[Segment], value: Value) -> Option<()> {
    let Some((segment, rest)) = segments.split_first() else {
        *at = value;
        return Some(());
    };
    let before = at.known_bound();
    // What the step's field adds to the node's bound besides its value, if it is new.
    let (child, added) = match (segment, &mut *at) {
        (Segment::Field(name), Value::Object(m)) => {
            let (child, added) = m.field_or_null(name);
            (child, added.then(|| name.len() * 6 + 4))
        }
        (Segment::Index(n), Value::Array(a)) if *n < a.len() => (&mut a[*n], None),
        _ => return None,
    };
    let old = child.known_bound();
    if child.is_null() && !rest.is_empty() {
        let empty = Value::object(Map::new());
        if let Value::Object(node) = &empty {
            node.note_bound(2);
        }
        *child = empty;
    }
    put_in(child, rest, value)?;
    let new = child.known_bound();
    let after = match (before, added, old, new) {
        (Some(b), Some(a), _, Some(n)) => b.checked_add(a).and_then(|b| b.checked_add(n)),
        (Some(b), None, Some(o), Some(n)) => b.checked_sub(o).and_then(|b| b.checked_add(n)),
        _ => None,
    };
    if let Some(bound) = after {
        match at {
            Value::Object(m) => m.note_bound(bound),
            Value::Array(a) => a.note_bound(bound),
            _ => {}
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::path::{parse_path, parse_reference_path};
    use crate::json;

    fn read_text(path: &str, input: Value) -> Result<Value, Miss> {
        let ctx = Lazy::ready(json!({"Execution": {"Name": "e"}}));
        let vars = Map::new();
        read(
            &parse_path(path).unwrap(),
            &Roots {
                input: &input,
                context: Some(&ctx),
                variables: &vars,
            },
        )
    }

    #[test]
    fn reads() {
        let doc = json!({"a": {"b": [10, 20, {"c": true}]}, "x y": 1});
        let cases: &[(&str, Result<Value, Miss>)] = &[
            ("$", Ok(doc.clone())),
            ("$.a.b[1]", Ok(json!(20))),
            ("$.a.b[2].c", Ok(json!(true))),
            ("$['x y']", Ok(json!(1))),
            ("$.a.b[*]", Ok(json!([10, 20, {"c": true}]))),
            ("$.a.b[0:2]", Ok(json!([10, 20]))),
            ("$..c", Ok(json!([true]))),
            ("$.a.b[?(@.c)]", Ok(json!([{"c": true}]))),
            ("$.nothing[*]", Ok(json!([]))),
            ("$$.Execution.Name", Ok(json!("e"))),
            ("$.missing", Err(Miss::NoResults("$['missing']".into()))),
            (
                "$.no.such.path",
                Err(Miss::MissingProperty("$['no']".into())),
            ),
            ("$.a.b[7]", Err(Miss::NoResults("$['a']['b'][7]".into()))),
            ("$v", Err(Miss::NoVariable("v".into()))),
            (
                "$v[?(@.code==es)]",
                Err(Miss::Uncompilable(
                    "Failed to parse filter: [?(@.code==es)], error on position: 12, char: s"
                        .into(),
                )),
            ),
        ];
        for (path, want) in cases {
            assert_eq!(&read_text(path, doc.clone()), want, "{path}");
        }
    }

    #[test]
    fn puts() {
        let cases: &[(&str, Value, Value, Result<Value, String>)] = &[
            ("$", json!({"a": 1}), json!(2), Ok(json!(2))),
            (
                "$.r",
                json!({"a": 1}),
                json!(2),
                Ok(json!({"a": 1, "r": 2})),
            ),
            ("$.a", json!({"a": 1}), json!(2), Ok(json!({"a": 2}))),
            (
                "$.x.y.z",
                json!({}),
                json!(1),
                Ok(json!({"x": {"y": {"z": 1}}})),
            ),
            (
                "$.l[1]",
                json!({"l": [0, 0]}),
                json!(1),
                Ok(json!({"l": [0, 1]})),
            ),
            (
                "$.x",
                json!("text"),
                json!(1),
                Err("Unable to apply ResultPath '$.x'".into()),
            ),
        ];
        for (path, target, value, want) in cases {
            let p = parse_reference_path(path).unwrap();
            assert_eq!(&put(target.clone(), &p, value.clone()), want, "{path}");
        }
    }

    /// A write keeps the nodes' remembered text bounds equal to what a fresh walk finds.
    #[test]
    fn puts_keep_text_bounds() {
        let cases: &[(&str, Value, Value)] = &[
            ("$.r", json!({"a": 1}), json!({"b": "x"})),
            ("$.a", json!({"a": {"long": [1, 2, 3]}}), json!(2)),
            ("$.a.b", json!({"a": {"b": "é", "c": null}}), json!([true])),
            ("$.x.y.z", json!({"k": "v"}), json!(1)),
            ("$.l[1]", json!({"l": [0, "zz"]}), json!({"n": -1.5})),
        ];
        for (path, target, value) in cases {
            let p = parse_reference_path(path).unwrap();
            target.text_bound(usize::MAX).unwrap();
            value.text_bound(usize::MAX).unwrap();
            let out = put(target.clone(), &p, value.clone()).unwrap();
            let fresh = Value::parse(&out.to_text()).unwrap();
            assert_eq!(out.known_bound(), fresh.text_bound(usize::MAX), "{path}");
            assert_eq!(out.text_bound(usize::MAX), fresh.text_bound(usize::MAX));
        }
    }
}
