//! The Map state: runs its item processor once per item of an array; its result is their
//! outputs in item order.
//!
//! Invariant: the processor is a block of its own; `ItemsPath`/`Items` and
//! `ItemSelector`/`Parameters` are read in the state's language; every `...Path` twin excludes
//! its fixed field.

use serde_json::Value;

use super::block;
use super::common::{self, FlowShape};
use super::context::{Ctx, Scope};
use super::diagnostic::{Code, Diagnostic};
use super::machine::{
    Dynamic, ItemBatcher, ItemSelector, Items, Map, ProcessorMode, QueryLanguage,
};
use super::message;
use super::path::{ReferencePath, Root};
use super::reader::Object;
use super::retry;

const SHAPE: FlowShape = FlowShape {
    parameters: false,
    result_selector: true,
    result_path: true,
    arguments: false,
};

/// Longest `Label` AWS accepts.
const MAX_LABEL: usize = 40;

pub fn read(o: &mut Object, lang: QueryLanguage, scope: &mut Scope, ctx: &mut Ctx) -> Map {
    let flow = common::flow(o, lang, SHAPE, ctx);
    let items = match lang {
        QueryLanguage::JsonPath => Items::Path(
            common::reference_path(o, "ItemsPath", ctx).unwrap_or(ReferencePath {
                root: Root::Input,
                segments: Vec::new(),
                text: "$".to_owned(),
            }),
        ),
        QueryLanguage::Jsonata => Items::Jsonata(common::jsonata_field(o, "Items", ctx)),
    };
    let item_selector = item_selector(o, lang, ctx);
    let (processor, mode) = processor(o, ctx);
    let item_reader = item_reader(o, ctx);
    let item_batcher = item_batcher(o, lang, ctx);
    let result_writer = opaque_object(o, "ResultWriter", ctx);
    let max_concurrency = common::dynamic_integer(o, "MaxConcurrency", lang, 0, i64::MAX, ctx)
        .unwrap_or(Dynamic::Fixed(0));
    let tolerated_failure_count =
        common::dynamic_integer(o, "ToleratedFailureCount", lang, 0, i64::MAX, ctx);
    let tolerated_failure_percentage =
        common::dynamic_number(o, "ToleratedFailurePercentage", lang, 0.0, 100.0, ctx);
    let label = o.string("Label", &mut ctx.d).map(str::to_owned);
    if let Some(l) = &label {
        if l.chars().count() > MAX_LABEL || l.chars().any(|c| c.is_whitespace() || c.is_control()) {
            ctx.d.push(Diagnostic::error(
                Code::InvalidLabelName,
                message::INVALID_LABEL,
                &o.at_key("Label"),
            ));
        }
    }
    let retry = retry::retry(o, ctx);
    let catch = retry::catch(o, lang, scope, ctx);
    // Assign sees the state's result, as its Output does.
    ctx.states_result = true;
    let assign = common::assign(o, lang, ctx);
    ctx.states_result = false;
    let transition = common::transition(o, scope, ctx);
    Map {
        flow,
        items,
        item_selector,
        processor: processor.unwrap_or_else(block::placeholder),
        mode,
        item_reader,
        item_batcher,
        result_writer,
        max_concurrency,
        tolerated_failure_count,
        tolerated_failure_percentage,
        label,
        retry,
        catch,
        assign,
        transition,
    }
}

/// `ItemSelector`, or in JSONPath its deprecated name `Parameters`.
fn item_selector(o: &mut Object, lang: QueryLanguage, ctx: &mut Ctx) -> Option<ItemSelector> {
    match lang {
        QueryLanguage::JsonPath => {
            if o.has("ItemSelector") && o.has("Parameters") {
                ctx.d.schema(
                    message::only_one(&["ItemSelector", "Parameters"]),
                    &o.at_key("ItemSelector"),
                );
            }
            common::template_field(o, "ItemSelector", ctx)
                .or_else(|| common::template_field(o, "Parameters", ctx))
                .map(ItemSelector::JsonPath)
        }
        QueryLanguage::Jsonata => {
            common::jsonata_field(o, "ItemSelector", ctx).map(ItemSelector::Jsonata)
        }
    }
}

/// `ItemProcessor`, or its deprecated name `Iterator`: a block plus `ProcessorConfig`.
fn processor(o: &mut Object, ctx: &mut Ctx) -> (Option<super::machine::Block>, ProcessorMode) {
    let key = match (o.has("ItemProcessor"), o.has("Iterator")) {
        (true, true) => {
            ctx.d
                .schema(message::only_one(&["ItemProcessor", "Iterator"]), o.at());
            "ItemProcessor"
        }
        (true, false) => "ItemProcessor",
        (false, true) => "Iterator",
        (false, false) => {
            ctx.d
                .schema(message::exactly_one(&["ItemProcessor", "Iterator"]), o.at());
            return (None, ProcessorMode::Inline);
        }
    };
    let Some(mut p) = o.object(key, &mut ctx.d) else {
        return (None, ProcessorMode::Inline);
    };
    let mut mode = ProcessorMode::Inline;
    if let Some(mut config) = p.object("ProcessorConfig", &mut ctx.d) {
        match config.string("Mode", &mut ctx.d) {
            None | Some("INLINE") => {}
            Some("DISTRIBUTED") => mode = ProcessorMode::Distributed,
            Some(_) => ctx.d.schema(
                message::one_of(&["INLINE", "DISTRIBUTED"]),
                &config.at_key("Mode"),
            ),
        }
        if let Some(t) = config.string("ExecutionType", &mut ctx.d) {
            if t != "STANDARD" && t != "EXPRESS" {
                ctx.d.schema(
                    message::one_of(&["STANDARD", "EXPRESS"]),
                    &config.at_key("ExecutionType"),
                );
            }
        }
        config.finish(&mut ctx.d);
    }
    let block = block::nested(&mut p, ctx);
    p.finish(&mut ctx.d);
    (block, mode)
}

fn item_batcher(o: &mut Object, lang: QueryLanguage, ctx: &mut Ctx) -> Option<ItemBatcher> {
    let mut b = o.object("ItemBatcher", &mut ctx.d)?;
    let max_items_per_batch =
        common::dynamic_integer(&mut b, "MaxItemsPerBatch", lang, 1, i64::MAX, ctx);
    let max_input_bytes_per_batch =
        common::dynamic_integer(&mut b, "MaxInputBytesPerBatch", lang, 1, 262_144, ctx);
    let batch_input = match lang {
        QueryLanguage::JsonPath => {
            common::template_field(&mut b, "BatchInput", ctx).map(ItemSelector::JsonPath)
        }
        QueryLanguage::Jsonata => {
            common::jsonata_field(&mut b, "BatchInput", ctx).map(ItemSelector::Jsonata)
        }
    };
    if max_items_per_batch.is_none()
        && max_input_bytes_per_batch.is_none()
        && !b.has("MaxItemsPerBatch")
        && !b.has("MaxInputBytesPerBatch")
    {
        ctx.d.schema(message::BATCHER_NEEDS_MAX, b.at());
    }
    b.finish(&mut ctx.d);
    Some(ItemBatcher {
        max_items_per_batch,
        max_input_bytes_per_batch,
        batch_input,
    })
}

/// `ItemReader`, kept as written (see `opaque_object`); its `ReaderConfig` may limit the items
/// with `MaxItems` or `MaxItemsPath`, not both (AWS's documented rule).
fn item_reader(o: &mut Object, ctx: &mut Ctx) -> Option<Value> {
    let at = o.at_key("ItemReader");
    let reader = opaque_object(o, "ItemReader", ctx)?;
    if let Some(Value::Object(config)) = reader.get("ReaderConfig") {
        if config.contains_key("MaxItems") && config.contains_key("MaxItemsPath") {
            ctx.d.schema(
                message::only_one(&["MaxItems", "MaxItemsPath"]),
                &at.key("ReaderConfig").key("MaxItems"),
            );
        }
    }
    Some(reader)
}

/// `ItemReader` / `ResultWriter`: objects naming an S3 `Resource`, kept as written; statejet has
/// no S3, so the runtime reports them as unsupported resources when they run.
fn opaque_object(o: &mut Object, key: &str, ctx: &mut Ctx) -> Option<Value> {
    let at = o.at_key(key);
    let v = o.take(key)?;
    match v {
        Value::Object(map) if !map.contains_key("Resource") => {
            ctx.d.schema(message::required(&["Resource"]), &at);
        }
        Value::Object(_) => {}
        _ => ctx.d.schema(message::wrong_type("OBJECT"), &at),
    }
    Some(v.clone())
}
