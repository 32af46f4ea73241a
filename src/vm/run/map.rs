//! Map states: their items, the children they fork, and how the children's results combine.
//!
//! Invariant: a Map's tolerance is decided once, when it forks, relative to all its items.

use std::borrow::Cow;

use super::flow::{as_integer, as_number, plain};
use super::*;

impl Run {
    /// The items a Map iterates over: `ItemsPath` on the effective input, or JSONata `Items`
    /// (default: the input).
    pub(super) fn map_items(&mut self, items: &Items, ctx: &Lazy) -> Result<Vec<Value>, Failure> {
        let items_path = match items {
            Items::Path(p) => p,
            Items::Jsonata(t) => {
                let v = match t {
                    Some(t) => {
                        let b = self.bindings(None, None, None);
                        query::eval_tree(t, "Items", &b, &mut *self.random)?
                    }
                    None => self.effective.clone(),
                };
                return match (v, t) {
                    (Value::Array(a), _) => Ok(a.into_inner()),
                    (other, Some(crate::asl::machine::Jsonata::Expr(e))) => {
                        Err(query::unexpected_type(e, "Items", "array", &other))
                    }
                    (other, _) => Err(Failure::new(
                        query::QUERY_EVALUATION_ERROR,
                        format!("Map state input must be an array but was: {other}"),
                    )),
                };
            }
        };
        let found = match &items_path.root {
            crate::asl::path::Root::Input => jsonpath::get(&self.effective, items_path),
            // The Context Object is built only for an `ItemsPath` that reads it.
            crate::asl::path::Root::Context => jsonpath::get(ctx.get(), items_path),
            crate::asl::path::Root::Variable(v) => match self.variables.get(v) {
                Some(val) => jsonpath::get(val, items_path),
                None => Err(jsonpath::Miss::NoVariable(v.clone())),
            },
        }
        .map_err(|m| {
            Failure::runtime(format!(
                "Invalid path '{}' : {}",
                items_path.text,
                m.detail()
            ))
        })?;
        match found {
            Value::Array(items) => {
                note(&self.inspection, "afterItemsPath", found);
                Ok(Vec::clone(items))
            }
            // AWS reads a `$$` path against the Context Object as a `$` path, and names it so
            // (`$$.Execution.Input` is "$.Execution.Input").
            _ => Err(Failure::runtime(format!(
                "Reference path \"{}\" must point to array.",
                match items_path.root {
                    crate::asl::path::Root::Context => &items_path.text[1..],
                    _ => &items_path.text,
                }
            ))),
        }
    }

    pub(super) fn map_children(
        &mut self,
        m: &crate::compile::Map,
        read: Option<Vec<Value>>,
    ) -> Result<(Fork, Option<usize>), Failure> {
        let processor = m.processor;
        let ctx = self.context(true, None);
        // Items an `ItemReader` read replace the input's (`ItemsPath`/`Items` select from the
        // state's input, which then only feeds the reader's parameters and ItemSelector).
        let items = match read {
            Some(items) => items,
            None => self.map_items(&m.items, &ctx)?,
        };
        let max_concurrency = self.dynamic_u64(&m.max_concurrency, "MaxConcurrencyPath")? as usize;
        note(&self.inspection, "maxConcurrency", &json!(max_concurrency));
        let tolerated = self.tolerated(m, items.len())?;
        let children = match &m.item_batcher {
            Some(b) => {
                let max_items = match &b.max_items_per_batch {
                    Some(d) => self.dynamic_u64(d, "MaxItemsPerBatchPath")? as usize,
                    None => usize::MAX,
                };
                let max_bytes = match &b.max_input_bytes_per_batch {
                    Some(d) => self.dynamic_u64(d, "MaxInputBytesPerBatchPath")? as usize,
                    None => MAX_PAYLOAD_BYTES,
                };
                let base = match &b.batch_input {
                    Some(ItemSelector::JsonPath(t)) => {
                        let roots = Roots {
                            input: &self.effective,
                            context: Some(&ctx),
                            variables: &self.variables,
                        };
                        Some(template::eval(t, &roots, &mut *self.random)?)
                    }
                    Some(ItemSelector::Jsonata(t)) => {
                        let b = self.bindings(None, None, None);
                        Some(query::eval_tree(
                            t,
                            "ItemBatcher/BatchInput",
                            &b,
                            &mut *self.random,
                        )?)
                    }
                    None => None,
                };
                Children::Ready(
                    batches(base, &items, max_items.max(1), max_bytes)
                        .into_iter()
                        .map(|input| Child {
                            block: processor,
                            input,
                        })
                        .collect(),
                )
            }
            // Each item is selected as its iteration starts (`select_item`), not here.
            None => Children::Items {
                block: processor,
                items,
            },
        };
        let fork = Fork {
            children,
            max_concurrency,
            max_failures: tolerated.unwrap_or(0),
            iterations: true,
        };
        Ok((fork, tolerated))
    }

    /// The input of the Map iteration over `item` (at `index`): the Map's `ItemSelector` on
    /// it, or the item itself. The run stays in the Map state while its children run, so this
    /// reads the same effective input, variables and Context Object as at the fork.
    pub fn select_item(&mut self, index: usize, item: &Value) -> Result<Value, Failure> {
        self.select_item_of(index, Cow::Borrowed(item))
    }

    /// `select_item` of an item the caller gives up: without an `ItemSelector` the item is
    /// the iteration's input as it is, moved.
    pub fn take_item(&mut self, index: usize, item: Value) -> Result<Value, Failure> {
        self.select_item_of(index, Cow::Owned(item))
    }

    fn select_item_of(&mut self, index: usize, item: Cow<Value>) -> Result<Value, Failure> {
        let item = match item {
            Cow::Owned(item) if !self.selects_items() => return Ok(item),
            item => item,
        };
        let item = &*item;
        let program = self.program.clone();
        let Some(WorkKind::Map(m)) = program
            .instruction(self.block, self.state)
            .work()
            .map(|w| &w.kind)
        else {
            return Ok(item.clone());
        };
        let selected = match &m.item_selector {
            Some(ItemSelector::JsonPath(t)) => {
                let ctx = self.context(true, Some((index, item)));
                let roots = Roots {
                    input: &self.effective,
                    context: Some(&ctx),
                    variables: &self.variables,
                };
                template::eval(t, &roots, &mut *self.random)
            }
            Some(ItemSelector::Jsonata(t)) => {
                let b = self.bindings(None, None, Some((index, item)));
                query::eval_tree(t, "ItemSelector", &b, &mut *self.random)
            }
            None => return Ok(item.clone()),
        };
        selected.map_err(|f| self.runtime(f))
    }

    /// Whether the current state is a Map with an `ItemSelector`.
    fn selects_items(&self) -> bool {
        matches!(self.current().work().map(|w| &w.kind), Some(WorkKind::Map(m)) if m.item_selector.is_some())
    }

    /// How many iterations may fail before the Map fails, if it tolerates failures at all.
    pub(super) fn tolerated(
        &mut self,
        m: &crate::compile::Map,
        items: usize,
    ) -> Result<Option<usize>, Failure> {
        let mut limit = usize::MAX;
        let mut any = false;
        if let Some(count) = &m.tolerated_failure_count {
            let n = match count {
                Dynamic::Fixed(n) => *n as i64,
                Dynamic::Path(p) => {
                    let v = self.path_value(p)?;
                    match as_integer(&v) {
                        Some(n) => n,
                        None => {
                            return Err(Failure::runtime(format!(
                                "The ToleratedFailureCountPath field refers to value \"{}\" which is not a valid integer: {}",
                                plain(&v), p.text
                            )))
                        }
                    }
                }
                Dynamic::Expr(e) => self.jsonata_integer(e, "ToleratedFailureCount")?,
            };
            if n < 0 {
                return Err(Failure::runtime(
                    "ToleratedFailureCount cannot be negative.",
                ));
            }
            note(&self.inspection, "toleratedFailureCount", &json!(n));
            limit = limit.min(n as usize);
            any = true;
        }
        if let Some(pct) = &m.tolerated_failure_percentage {
            let p = match pct {
                Dynamic::Fixed(p) => *p,
                Dynamic::Path(path) => {
                    let v = self.path_value(path)?;
                    match as_number(&v) {
                        Some(p) => p,
                        None => {
                            return Err(Failure::runtime(format!(
                                "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                                plain(&v), path.text
                            )))
                        }
                    }
                }
                Dynamic::Expr(e) => {
                    let b = self.bindings(None, None, None);
                    let v = query::eval(e, "ToleratedFailurePercentage", &b, &mut *self.random)?;
                    v.as_f64().ok_or_else(|| {
                        query::unexpected_type(e, "ToleratedFailurePercentage", "number", &v)
                    })?
                }
            };
            if !(0.0..=100.0).contains(&p) {
                return Err(Failure::runtime(
                    "ToleratedFailurePercentage must be between 0 and 100.",
                ));
            }
            note(&self.inspection, "toleratedFailurePercentage", &json!(p));
            limit = limit.min((p / 100.0 * items as f64).floor() as usize);
            any = true;
        }
        Ok(any.then_some(limit))
    }

    /// Combines the children's results into the Parallel's or Map's result.
    pub(super) fn join(
        &self,
        results: Vec<Result<Value, Failure>>,
        tolerance: Option<usize>,
    ) -> Result<Value, Failure> {
        let failures = results.iter().filter(|r| r.is_err()).count();
        match tolerance {
            // Without a tolerance the first failing child fails the state with its own error.
            None if failures > 0 => Err(results
                .into_iter()
                .find_map(Result::err)
                .expect("a failure was counted")),
            Some(n) if failures > n => Err(Failure::new(
                failure::TOLERATED_FAILURE,
                "The specified tolerated failure threshold was exceeded",
            )),
            _ => {
                let items: Vec<Value> = results
                    .into_iter()
                    .map(|r| r.unwrap_or_else(|f| f.to_output()))
                    .collect();
                // The array's text bound as `Value::text_bound` would sum it, from its items'
                // remembered ones (each child's output passed its own check): the state's
                // check then walks nothing.
                let bound = (items.iter()).try_fold(2 + items.len(), |b, v| {
                    v.known_bound().and_then(|n| b.checked_add(n))
                });
                let out = Value::array(items);
                if let (Value::Array(node), Some(b)) = (&out, bound) {
                    node.note_bound(b);
                }
                Ok(out)
            }
        }
    }
}

pub(super) fn batches(
    base: Option<Value>,
    items: &[Value],
    max_items: usize,
    max_bytes: usize,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut bytes = 0;
    for item in items {
        let size = item.to_string().len();
        if !current.is_empty() && (current.len() >= max_items || bytes + size > max_bytes) {
            out.push(batch(&base, std::mem::take(&mut current)));
            bytes = 0;
        }
        bytes += size;
        current.push(item.clone());
    }
    if !current.is_empty() {
        out.push(batch(&base, current));
    }
    out
}

pub(super) fn batch(base: &Option<Value>, items: Vec<Value>) -> Value {
    let mut m = Map::new();
    if let Some(b) = base {
        m.insert("BatchInput", b.clone());
    }
    m.insert("Items", Value::array(items));
    Value::object(m)
}
