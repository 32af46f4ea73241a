//! statejet's JSON value: what an execution carries from state to state.
//!
//! Invariants: arrays and objects are shared nodes (`Node`, an `Arc`), so a copy of a value is a
//! reference count and a write copies only the nodes on its way that someone else still holds
//! (`Arc::make_mut`); strings and keys are shared too (`Str`). An object keeps its fields in
//! insertion order with unique keys; a small object is scanned, a large one also has an index.
//! Text in and out is serde_json's exactly (numbers are `serde_json::Number`, serialized by
//! serde_json), and equality matches serde_json's (objects compare regardless of order), so
//! swapping `serde_json::Value` for this type changes no result.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
pub use serde_json::Number;

mod parse;

/// The text bound of `null`, `true` or `false` (`Value::known_bound`; the parser notes the
/// same).
pub(crate) const LITERAL_BOUND: usize = 5;

/// The text bound of any number (`Value::known_bound`; the parser notes the same).
pub(crate) const NUMBER_BOUND: usize = 24;

/// A JSON value.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Str),
    Array(Node<Vec<Value>>),
    Object(Node<Map>),
}

/// `serde_json::json!`, made a statejet value (through serde_json: for tests and cold paths,
/// never per state).
#[macro_export]
macro_rules! json {
    ($($t:tt)+) => {
        $crate::value::Value::from(::serde_json::json!($($t)+))
    };
}
pub use crate::json;

/// A shared string: cloning it counts a reference.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Str(Arc<str>);

impl Str {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Str {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Str> for String {
    fn eq(&self, other: &Str) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Str> for str {
    fn eq(&self, other: &Str) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Str> for &str {
    fn eq(&self, other: &Str) -> bool {
        *self == &*other.0
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Str {
        Str(Arc::from(s))
    }
}

impl From<String> for Str {
    fn from(s: String) -> Str {
        Str(Arc::from(s))
    }
}

impl From<&String> for Str {
    fn from(s: &String) -> Str {
        Str(Arc::from(s.as_str()))
    }
}

impl From<Box<str>> for Str {
    fn from(s: Box<str>) -> Str {
        Str(Arc::from(s))
    }
}

impl From<Str> for String {
    fn from(s: Str) -> String {
        s.0.to_string()
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A shared array or object node. Reading goes through `Deref`; writing through `DerefMut`
/// copies the node first if another value still holds it (copy on write), so a value's copies
/// never see each other's writes. A node also remembers the bound of its JSON text's length
/// once one is computed (`Value::text_bound`), until it is written: every state's payload is
/// checked against the 256 KiB limit, and most of it is the nodes the previous check saw.
#[derive(Clone, Default)]
pub struct Node<T>(Arc<Inner<T>>);

#[derive(Default)]
struct Inner<T> {
    value: T,
    /// The text bound plus one; 0 while not known. Relaxed: a racing reader at worst computes
    /// the same number again.
    bound: AtomicU32,
}

impl<T: Clone> Clone for Inner<T> {
    fn clone(&self) -> Inner<T> {
        Inner {
            value: self.value.clone(),
            bound: AtomicU32::new(self.bound.load(Relaxed)),
        }
    }
}

impl<T: Clone> Node<T> {
    pub fn new(value: T) -> Node<T> {
        Node(Arc::new(Inner {
            value,
            bound: AtomicU32::new(0),
        }))
    }

    /// The node's contents, moved out when no one else holds them, else copied.
    pub fn into_inner(self) -> T {
        Arc::unwrap_or_clone(self.0).value
    }

    /// Whether two nodes are one (a cheap equality test that may say false for equal nodes).
    pub fn same(a: &Node<T>, b: &Node<T>) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// The node's contents to write, if no other value holds them (no copy is ever made, and
    /// no count changed, where `DerefMut` would copy a shared node); the remembered bound is
    /// forgotten, as for any write.
    pub fn unique_mut(&mut self) -> Option<&mut T> {
        let inner = Arc::get_mut(&mut self.0)?;
        *inner.bound.get_mut() = 0;
        Some(&mut inner.value)
    }
}

impl Node<Map> {
    /// The field `key` to write, added as `null` if absent, and whether it was added. The key
    /// is shared (a compiled path's): a new field takes it by a reference count, not a copy of
    /// its text. A shared object that gains the field is copied once with room to grow, not
    /// copied at its length by copy on write and then grown by the push (a reallocation and a
    /// second copy of its fields: each of parallel4's branches adds three fields to the input
    /// the four share). The room is the next power of two, at least four, as the `Vec`'s own
    /// growth would give after the push.
    pub fn field_or_null(&mut self, key: &Str) -> (&mut Value, bool) {
        if let Some(i) = self.position(key) {
            // Copied at its length if shared: it does not grow.
            return (&mut self.entries[i].1, false);
        }
        if Arc::get_mut(&mut self.0).is_none() {
            let room = (self.len() + 1).next_power_of_two().max(4);
            let mut copy = Map::with_capacity(room);
            copy.entries.extend(self.entries.iter().cloned());
            copy.index.clone_from(&self.index);
            *self = Node::new(copy);
        }
        let m = &mut **self;
        m.push_new(key.clone(), Value::Null);
        let last = m.entries.len() - 1;
        (&mut m.entries[last].1, true)
    }
}

impl<T> Node<T> {
    #[inline]
    pub(crate) fn known_bound(&self) -> Option<usize> {
        match self.0.bound.load(Relaxed) {
            0 => None,
            n => Some(n as usize - 1),
        }
    }

    /// Remembers `bound` as the node's text bound: the caller knows it is what `text_bound`
    /// would find (a write that kept the arithmetic, `jsonpath::put`).
    pub(crate) fn note_bound(&self, bound: usize) {
        if let Ok(n) = u32::try_from(bound + 1) {
            self.0.bound.store(n, Relaxed);
        }
    }
}

impl<T> Deref for Node<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.value
    }
}

impl<T: Clone> DerefMut for Node<T> {
    fn deref_mut(&mut self) -> &mut T {
        let inner = Arc::make_mut(&mut self.0);
        // Written from here on: the remembered bound no longer holds.
        *inner.bound.get_mut() = 0;
        &mut inner.value
    }
}

impl<T: PartialEq> PartialEq for Node<T> {
    fn eq(&self, other: &Node<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.value == other.0.value
    }
}

impl<T: Eq> Eq for Node<T> {}

impl<T: Clone> From<T> for Node<T> {
    fn from(t: T) -> Node<T> {
        Node::new(t)
    }
}

impl<T: fmt::Debug> fmt::Debug for Node<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.value.fmt(f)
    }
}

impl FromIterator<Value> for Node<Vec<Value>> {
    fn from_iter<I: IntoIterator<Item = Value>>(items: I) -> Self {
        Node::new(items.into_iter().collect())
    }
}

impl IntoIterator for Node<Vec<Value>> {
    type Item = Value;
    type IntoIter = std::vec::IntoIter<Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_inner().into_iter()
    }
}

impl<'a> IntoIterator for &'a Node<Vec<Value>> {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for Node<Map> {
    type Item = (Str, Value);
    type IntoIter = std::vec::IntoIter<(Str, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_inner().into_iter()
    }
}

impl<'a> IntoIterator for &'a Node<Map> {
    type Item = (&'a Str, &'a Value);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Past this many fields an object keeps an index from key to position; below it a lookup
/// compares keys in order, which costs less than hashing the name (keys mostly differ in
/// length or first bytes).
const INDEXED_FIELDS: usize = 16;

/// FNV-1a: keys are short and chosen by the workflow's author, not an attacker who could
/// flood a table (a request's input could, so the index is only a speed-up over the scan and
/// a lookup stays correct whatever the hashes).
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    /// FNV-1a's offset basis.
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Index = HashMap<Str, usize, BuildHasherDefault<Fnv>>;

/// Whether two keys are equal: a short one (as almost every key is) byte by byte, which costs
/// less than the call to `memcmp` that comparing slices makes; the first byte and the length
/// settle most misses.
#[inline]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return a == b;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A large object's lookup, out of line: hashing is long and rare next to the scan.
#[inline(never)]
fn indexed(index: &Index, key: &str) -> Option<usize> {
    index.get(key).copied()
}

/// A JSON object: fields in insertion order, keys unique.
#[derive(Clone, Default)]
pub struct Map {
    entries: Vec<(Str, Value)>,
    /// Key to position, kept while the object has more than `INDEXED_FIELDS` fields.
    index: Option<Box<Index>>,
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn with_capacity(n: usize) -> Map {
        Map {
            entries: Vec::with_capacity(n),
            index: None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where field `key` is. Inline: most objects are small and scanned, and a call saving six
    /// registers cost more than the scan of three keys (pass10: 136 instructions a state).
    #[inline]
    pub fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => indexed(index, key),
            None => {
                let key = key.as_bytes();
                (self.entries.iter()).position(|(k, _)| same_key(k.as_bytes(), key))
            }
        }
    }

    /// Inline, as `position` is: a call cost more than the scan it makes of a small object
    /// (choice_loop's `$.i`: 59 instructions a lookup out of line). A small object's scan
    /// yields the value itself, not a position to index again (a bounds check and a multiply:
    /// pass10 +3.9% by `position`).
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.index {
            Some(index) => indexed(index, key).map(|i| &self.entries[i].1),
            None => {
                let key = key.as_bytes();
                (self.entries.iter())
                    .find(|(k, _)| same_key(k.as_bytes(), key))
                    .map(|(_, v)| v)
            }
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.position(key).map(move |i| &mut self.entries[i].1)
    }

    /// Whether the object's keys are `keys`, in that order.
    pub fn keys_are<'k>(&self, keys: impl ExactSizeIterator<Item = &'k str>) -> bool {
        self.entries.len() == keys.len()
            && (self.entries.iter().zip(keys))
                .all(|((k, _), n)| same_key(k.as_bytes(), n.as_bytes()))
    }

    pub fn get_key_value(&self, key: &str) -> Option<(&Str, &Value)> {
        self.position(key).map(|i| {
            let (k, v) = &self.entries[i];
            (k, v)
        })
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets field `key`: an existing one keeps its place (and its old value is returned), a new
    /// one goes last.
    pub fn insert(&mut self, key: impl Into<Str>, value: Value) -> Option<Value> {
        let key = key.into();
        if let Some(i) = self.position(&key) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        self.push_new(key, value);
        None
    }

    /// The field `key`, added as `null` if absent.
    pub fn entry_or_null(&mut self, key: &str) -> &mut Value {
        let i = match self.position(key) {
            Some(i) => i,
            None => {
                self.push_new(key, Value::Null);
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    /// The object of `entries`, whose keys the caller knows are unique (the parser, which has
    /// checked): no search and no growth, only the index a large object keeps.
    pub(crate) fn from_unique(entries: Vec<(Str, Value)>) -> Map {
        debug_assert!(
            (entries.iter().enumerate())
                .all(|(i, (k, _))| entries[..i].iter().all(|(j, _)| j != k)),
            "repeated keys"
        );
        let mut m = Map {
            entries,
            index: None,
        };
        if m.entries.len() > INDEXED_FIELDS {
            m.reindex();
        }
        m
    }

    /// Appends a field the caller knows is not there (a template's fields, unique by
    /// validation; an object built field by field): no search for it.
    pub fn push_new(&mut self, key: impl Into<Str>, value: Value) {
        let key = key.into();
        debug_assert!(!self.contains_key(&key), "{key} is already there");
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), self.entries.len());
        }
        self.entries.push((key, value));
        if self.index.is_none() && self.entries.len() > INDEXED_FIELDS {
            self.reindex();
        }
    }

    fn reindex(&mut self) {
        self.index = (self.entries.len() > INDEXED_FIELDS).then(|| {
            let mut index = Index::with_capacity_and_hasher(self.entries.len(), Default::default());
            for (i, (k, _)) in self.entries.iter().enumerate() {
                index.insert(k.clone(), i);
            }
            Box::new(index)
        });
    }

    /// Removes field `key` the way serde_json's ordered map does (`swap_remove`: the last field
    /// takes its place), so that results stay serde_json's.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        let (_, v) = self.entries.swap_remove(i);
        if self.index.is_some() {
            self.reindex();
        }
        Some(v)
    }

    /// Removes field `key`, keeping the others in order.
    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        let (_, v) = self.entries.remove(i);
        if self.index.is_some() {
            self.reindex();
        }
        Some(v)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Str, &mut Value) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
        if self.index.is_some() {
            self.reindex();
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Str, &mut Value)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Str> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut Value> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Sorts the fields by key (serde_json's `sort_keys`).
    pub fn sort_keys(&mut self) {
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        if self.index.is_some() {
            self.reindex();
        }
    }
}

impl PartialEq for Map {
    /// As serde_json's: the same fields with equal values, in any order.
    fn eq(&self, other: &Map) -> bool {
        self.len() == other.len()
            && self
                .entries
                .iter()
                .enumerate()
                .all(|(i, (k, v))| match other.entries.get(i) {
                    // The usual case: the same order.
                    Some((ok, ov)) if ok == k => ov == v,
                    _ => other.get(k) == Some(v),
                })
    }
}

impl Eq for Map {}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The fields of a map, in order.
pub struct Iter<'a>(std::slice::Iter<'a, (Str, Value)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Str, &'a Value);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a Str, &'a Value);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for Map {
    type Item = (Str, Value);
    type IntoIter = std::vec::IntoIter<(Str, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<K: Into<Str>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(items: I) -> Map {
        let mut m = Map::new();
        m.extend(items);
        m
    }
}

impl<K: Into<Str>> Extend<(K, Value)> for Map {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, items: I) {
        for (k, v) in items {
            self.insert(k, v);
        }
    }
}

impl std::ops::Index<&str> for Map {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

static NULL: Value = Value::Null;

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn is_boolean(&self) -> bool {
        matches!(self, Value::Bool(_))
    }
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Number(_))
    }
    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
    pub fn is_i64(&self) -> bool {
        matches!(self, Value::Number(n) if n.is_i64())
    }
    pub fn is_u64(&self) -> bool {
        matches!(self, Value::Number(n) if n.is_u64())
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Field `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(key))
    }

    /// Element `i` of an array.
    pub fn at(&self, i: usize) -> Option<&Value> {
        self.as_array().and_then(|a| a.get(i))
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_object_mut().and_then(|m| m.get_mut(key))
    }

    /// At least the length of the value as compact JSON, or `None` once that bound passes
    /// `limit`: a string counts six bytes a byte (serde_json's worst escape, `\u001f`) and its
    /// quotes, a number the longest an `i64`, `u64` or `f64` prints (24 bytes; serde_json's
    /// `arbitrary_precision`, which would print longer ones, is off). A node's bound is
    /// remembered until the node is written, so a check of a value most of whose nodes were
    /// checked before walks only the new ones.
    ///
    /// Inline for the common case, a node whose bound is remembered (every state checks its
    /// output, most of it the nodes the previous check saw): no call; a walk is out of line.
    #[inline]
    pub fn text_bound(&self, limit: usize) -> Option<usize> {
        match self.known_bound() {
            Some(size) => (size <= limit).then_some(size),
            None => self.walk_bound(limit),
        }
    }

    /// `text_bound` of a node whose bound is not remembered: walks it (its nodes whose bounds
    /// are remembered, not), and remembers what it finds.
    #[inline(never)]
    fn walk_bound(&self, limit: usize) -> Option<usize> {
        let size = match self {
            Value::Array(items) => {
                let mut size = 2 + items.len();
                for item in items.iter() {
                    size += item.text_bound(limit.checked_sub(size)?)?;
                }
                items.note_bound(size);
                size
            }
            Value::Object(m) => {
                let mut size = 2 + m.len() * 2;
                for (k, item) in m.iter() {
                    size += k.len().checked_mul(6)?.checked_add(2)?;
                    size += item.text_bound(limit.checked_sub(size)?)?;
                }
                m.note_bound(size);
                size
            }
            // A scalar's bound is always known, but a string's too long to count.
            _ => return None,
        };
        (size <= limit).then_some(size)
    }

    /// The text bound `text_bound` would find, if known without a walk: a scalar's, or a node's
    /// remembered one.
    #[inline]
    pub fn known_bound(&self) -> Option<usize> {
        match self {
            Value::Null | Value::Bool(_) => Some(LITERAL_BOUND),
            Value::Number(_) => Some(NUMBER_BOUND),
            Value::String(s) => s.len().checked_mul(6)?.checked_add(2),
            Value::Array(items) => items.known_bound(),
            Value::Object(m) => m.known_bound(),
        }
    }

    /// Moves the value out, leaving `null`.
    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }

    /// A JSON Pointer lookup (RFC 6901), as serde_json's `pointer`.
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        let mut at = self;
        for token in rest.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            at = match at {
                Value::Object(m) => m.get(&token)?,
                Value::Array(a) => a.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(at)
    }

    pub fn object(m: Map) -> Value {
        Value::Object(Node::new(m))
    }

    pub fn array(a: Vec<Value>) -> Value {
        Value::Array(Node::new(a))
    }

    pub fn string(s: impl Into<Str>) -> Value {
        Value::String(s.into())
    }

    /// The same value as serde_json's type (a copy).
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Value::to_serde).collect()),
            Value::Object(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_serde()))
                    .collect(),
            ),
        }
    }

    /// The value as serde_json's type.
    pub fn into_serde(self) -> serde_json::Value {
        match self {
            Value::Array(a) => {
                serde_json::Value::Array(a.into_iter().map(Value::into_serde).collect())
            }
            Value::Object(m) => serde_json::Value::Object(
                m.into_iter()
                    .map(|(k, v)| (String::from(k), v.into_serde()))
                    .collect(),
            ),
            other => other.to_serde(),
        }
    }

    /// Parses JSON text: what `serde_json::from_str` gives, the common text read by `parse`'s
    /// own pass (see its invariant), the rest (and every error) by serde_json.
    pub fn parse(text: &str) -> Result<Value, serde_json::Error> {
        match parse::parse(text) {
            Some(v) => Ok(v),
            None => serde_json::from_str(text),
        }
    }

    /// Parses JSON bytes, as `parse` (bytes that are not UTF-8 are serde_json's to report).
    pub fn parse_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
        match std::str::from_utf8(bytes).ok().and_then(parse::parse) {
            Some(v) => Ok(v),
            None => serde_json::from_slice(bytes),
        }
    }

    /// Compact JSON text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| unreachable!("a Value always serializes"))
    }
}

impl fmt::Display for Value {
    /// Compact JSON, or indented with `{:#}`, as serde_json's `Display`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let text = if f.alternate() {
            serde_json::to_string_pretty(self)
        } else {
            serde_json::to_string(self)
        };
        f.write_str(&text.map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl std::ops::Index<&str> for Value {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl std::ops::Index<usize> for Value {
    type Output = Value;
    fn index(&self, i: usize) -> &Value {
        self.at(i).unwrap_or(&NULL)
    }
}

impl std::ops::IndexMut<&str> for Value {
    /// As serde_json's: `null` becomes an object, a missing field is added as `null`; any
    /// other value panics.
    fn index_mut(&mut self, key: &str) -> &mut Value {
        if self.is_null() {
            *self = Value::object(Map::new());
        }
        match self {
            Value::Object(m) => m.entry_or_null(key),
            other => panic!("cannot index {other} with a key"),
        }
    }
}

impl std::ops::Index<&Str> for Value {
    type Output = Value;
    fn index(&self, key: &Str) -> &Value {
        &self[key.as_str()]
    }
}

impl std::ops::IndexMut<&Str> for Value {
    fn index_mut(&mut self, key: &Str) -> &mut Value {
        &mut self[key.as_str()]
    }
}

// Comparisons with plain Rust values, as serde_json's.
impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<String> for Value {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == Some(other.as_str())
    }
}

impl PartialEq<bool> for Value {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

impl PartialEq<f64> for Value {
    fn eq(&self, other: &f64) -> bool {
        self.as_f64() == Some(*other)
    }
}

macro_rules! eq_integer {
    ($($t:ty)*) => {$(
        impl PartialEq<$t> for Value {
            fn eq(&self, other: &$t) -> bool {
                match self {
                    Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                        (Some(i), _) => i128::from(i) == *other as i128,
                        (_, Some(u)) => i128::from(u) == *other as i128,
                        _ => false,
                    },
                    _ => false,
                }
            }
        }
    )*};
}
eq_integer!(i32 i64 u32 u64 usize);

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s.into()),
            serde_json::Value::Array(a) => Value::array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(m) => {
                let mut out = Map::with_capacity(m.len());
                for (k, v) in m {
                    out.push_new(k, v.into());
                }
                Value::object(out)
            }
        }
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.clone()),
            serde_json::Value::String(s) => Value::String(s.as_str().into()),
            serde_json::Value::Array(a) => Value::array(a.iter().map(Value::from).collect()),
            serde_json::Value::Object(m) => {
                let mut out = Map::with_capacity(m.len());
                for (k, v) in m {
                    out.push_new(k.as_str(), v.into());
                }
                Value::object(out)
            }
        }
    }
}

impl From<Value> for serde_json::Value {
    fn from(v: Value) -> serde_json::Value {
        v.into_serde()
    }
}

impl From<&Value> for serde_json::Value {
    fn from(v: &Value) -> serde_json::Value {
        v.to_serde()
    }
}

impl PartialEq<serde_json::Value> for Value {
    fn eq(&self, other: &serde_json::Value) -> bool {
        match (self, other) {
            (Value::Null, serde_json::Value::Null) => true,
            (Value::Bool(a), serde_json::Value::Bool(b)) => a == b,
            (Value::Number(a), serde_json::Value::Number(b)) => a == b,
            (Value::String(a), serde_json::Value::String(b)) => a == b,
            (Value::Array(a), serde_json::Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
            }
            (Value::Object(a), serde_json::Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k.as_str()).is_some_and(|w| v == w))
            }
            _ => false,
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s.into())
    }
}

impl From<Str> for Value {
    fn from(s: Str) -> Value {
        Value::String(s)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

macro_rules! from_integer {
    ($($t:ty)*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Number(Number::from(n))
            }
        }
    )*};
}
from_integer!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize);

impl From<f64> for Value {
    /// As serde_json's: a non-finite float is `null`.
    fn from(f: f64) -> Value {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Value {
        Value::array(a)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::object(m)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::Null, Into::into)
    }
}

impl FromIterator<Value> for Value {
    fn from_iter<I: IntoIterator<Item = Value>>(items: I) -> Value {
        Value::array(items.into_iter().collect())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(t) => s.serialize_str(t),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for item in a.iter() {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    map.serialize_entry(k.as_str(), v)?;
                }
                map.end()
            }
        }
    }
}

impl Serialize for Str {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k.as_str(), v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Map {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Map, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(m) => Ok(m.into_inner()),
            other => Err(de::Error::custom(format!(
                "expected an object, got {other}"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Str, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.into()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s.into()))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        // One bit per key's hash: only a key whose bit is set can be a repeat, searched for.
        let mut seen = 0u64;
        while let Some(Key(hash, key)) = access.next_key::<Key>()? {
            let value = access.next_value()?;
            let bit = parse::seen_bit(hash);
            if seen & bit != 0 && m.contains_key(&key) {
                // A repeated key keeps its first place and takes the last value, as serde_json's.
                m.insert(key, value);
            } else {
                m.push_new(key, value);
            }
            seen |= bit;
        }
        Ok(Value::object(m))
    }
}

/// An object's key as `Value`'s `Deserialize` reads it: shared with the thread's recent keys
/// (`parse::key`), with its hash.
struct Key(u64, Str);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        d.deserialize_str(SharedKeyVisitor)
    }
}

struct SharedKeyVisitor;

impl Visitor<'_> for SharedKeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E>(self, s: &str) -> Result<Key, E> {
        let (hash, key) = parse::key(s);
        Ok(Key(hash, key))
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Str;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E>(self, s: &str) -> Result<Str, E> {
        Ok(s.into())
    }
    fn visit_string<E>(self, s: String) -> Result<Str, E> {
        Ok(s.into())
    }
}

/// Hashes a key the way the index does (for tests of the index).
#[cfg(test)]
fn fnv(key: &str) -> u64 {
    let mut h = Fnv::default();
    key.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_as_serde_json_does() {
        for text in [
            r#"{"b":1,"a":[1,2.5,-3,"x\n\u0001",null,true],"c":{"d":{}}}"#,
            r#"[1e300,0.1,18446744073709551615,-9223372036854775808]"#,
            r#""\u00e9\ud83d\ude00""#,
            r#"{"a":1,"a":2,"b":3}"#,
        ] {
            let ours = Value::parse(text).unwrap();
            let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours.to_text(), theirs.to_string(), "{text}");
            assert_eq!(format!("{ours:#}"), format!("{theirs:#}"), "{text}");
            assert_eq!(Value::from(theirs.clone()), ours);
            assert_eq!(ours.to_serde(), theirs);
        }
    }

    #[test]
    fn objects_compare_regardless_of_order() {
        assert_eq!(json!({"a": 1, "b": [2]}), json!({"b": [2], "a": 1}));
        assert_ne!(json!({"a": 1}), json!({"a": 1, "b": 2}));
        assert_ne!(json!({"a": 1, "b": 2}), json!({"a": 1, "c": 2}));
    }

    #[test]
    fn a_write_copies_only_what_is_shared() {
        let a = json!({"x": {"y": [1, 2]}, "z": 3});
        let mut b = a.clone();
        b["x"]["w"] = json!(true);
        assert_eq!(a, json!({"x": {"y": [1, 2]}, "z": 3}));
        assert_eq!(b, json!({"x": {"y": [1, 2], "w": true}, "z": 3}));
        let (Value::Object(am), Value::Object(bm)) = (&a, &b) else {
            unreachable!()
        };
        let (Some(Value::Array(ay)), Some(Value::Array(by))) = (am["x"].get("y"), bm["x"].get("y"))
        else {
            unreachable!()
        };
        assert!(Node::same(ay, by), "the untouched array stays shared");
    }

    /// A shared object that gains a field through `Node::field_or_null` is copied (with room,
    /// so the fields that follow need no growth); its other holder sees nothing; a field it has
    /// already is written in a copy too; a unique object is written in place.
    #[test]
    fn a_field_added_to_a_shared_object_goes_into_a_copy() {
        let a = json!({"x": 1, "big": [1, 2, 3]});
        let mut b = a.clone();
        let Value::Object(m) = &mut b else {
            unreachable!()
        };
        for (i, key) in ["s1", "s2", "s3", "x"].into_iter().enumerate() {
            let (slot, added) = m.field_or_null(&Str::from(key));
            assert_eq!(added, key != "x", "{key}");
            *slot = json!(i);
            if i == 0 {
                // Three fields in a copy with room for a fourth: no growth at the next push.
                assert!(m.entries.capacity() >= 4, "the copy has room to grow");
            }
        }
        assert_eq!(a, json!({"x": 1, "big": [1, 2, 3]}));
        assert_eq!(
            b,
            json!({"x": 3, "big": [1, 2, 3], "s1": 0, "s2": 1, "s3": 2})
        );
        let c = a.clone();
        let mut d = a.clone();
        drop(c);
        let Value::Object(m) = &mut d else {
            unreachable!()
        };
        *m.field_or_null(&Str::from("x")).0 = json!(9);
        assert_eq!(a["x"], json!(1));
        assert_eq!(d["x"], json!(9));
    }

    #[test]
    fn a_remembered_text_bound_is_forgotten_when_written() {
        let mut v = json!({"a": {"b": "x"}, "c": [1]});
        let exact = v.to_text().len();
        let first = v.text_bound(usize::MAX).unwrap();
        assert!(first >= exact);
        assert_eq!(v.text_bound(usize::MAX), Some(first), "remembered");
        let copy = v.clone();
        v["a"]["b"] = Value::from("y".repeat(1000));
        let grown = v.text_bound(usize::MAX).unwrap();
        assert!(grown >= v.to_text().len(), "{grown}");
        assert_eq!(
            copy.text_bound(usize::MAX),
            Some(first),
            "the copy kept its own"
        );
        assert_eq!(v.text_bound(100), None);
        if let Some(a) = v.as_array_mut() {
            a.clear();
        }
        let Value::Object(m) = &mut v else {
            unreachable!()
        };
        m.remove("a");
        assert!(v.text_bound(usize::MAX).unwrap() >= v.to_text().len());
        assert!(v.text_bound(usize::MAX).unwrap() < 100);
    }

    #[test]
    fn large_objects_keep_order_and_find_every_key() {
        let mut m = Map::new();
        for i in 0..100 {
            m.insert(format!("k{i}"), Value::from(i));
        }
        m.insert("k5", Value::from(-5));
        assert_eq!(m.len(), 100);
        assert_eq!(m.get("k5"), Some(&Value::from(-5)));
        assert_eq!(m.keys().next().map(Str::as_str), Some("k0"));
        assert_eq!(m.remove("k0"), Some(Value::from(0)));
        // swap_remove: the last field takes the first place, as serde_json's map does.
        assert_eq!(m.keys().next().map(Str::as_str), Some("k99"));
        for i in 1..100 {
            assert!(m.contains_key(&format!("k{i}")), "k{i}");
        }
        let mut theirs = serde_json::Map::new();
        for i in 0..100 {
            theirs.insert(format!("k{i}"), i.into());
        }
        theirs.insert("k5".into(), (-5).into());
        theirs.remove("k0");
        assert_eq!(
            Value::object(m).to_text(),
            serde_json::Value::Object(theirs).to_string()
        );
        assert_ne!(fnv("a"), fnv("b"));
    }
}
