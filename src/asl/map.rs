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
    Dynamic, InputType, ItemBatcher, ItemReader, ItemSelector, Items, Map, OutputType,
    ProcessorMode, QueryLanguage, ReaderConfig, ReaderSource, ResultWriter, Transformation,
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
    let item_reader = item_reader(o, lang, ctx);
    let item_batcher = item_batcher(o, lang, ctx);
    let result_writer = result_writer(o, lang, ctx);
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

/// The S3 resources a reader or writer may name, as written without region and account.
const GET_OBJECT: &str = "arn:aws:states:::s3:getObject";
const LIST_OBJECTS_V2: &str = "arn:aws:states:::s3:listObjectsV2";
const PUT_OBJECT: &str = "arn:aws:states:::s3:putObject";

/// `Parameters` (JSONPath) or `Arguments` (JSONata) of a reader or writer.
fn arguments(o: &mut Object, lang: QueryLanguage, ctx: &mut Ctx) -> Option<ItemSelector> {
    match lang {
        QueryLanguage::JsonPath => {
            common::template_field(o, "Parameters", ctx).map(ItemSelector::JsonPath)
        }
        QueryLanguage::Jsonata => {
            common::jsonata_field(o, "Arguments", ctx).map(ItemSelector::Jsonata)
        }
    }
}

/// `ItemReader`: an S3 object (`s3:getObject`, read as its `InputType` says) or an S3 listing
/// (`s3:listObjectsV2`); `ReaderConfig` may limit the items with `MaxItems` or `MaxItemsPath`,
/// not both (AWS's documented rule).
fn item_reader(o: &mut Object, lang: QueryLanguage, ctx: &mut Ctx) -> Option<ItemReader> {
    let mut r = o.object("ItemReader", &mut ctx.d)?;
    r.require(&["Resource"], &mut ctx.d);
    let source = match r.string("Resource", &mut ctx.d) {
        Some(GET_OBJECT) | None => ReaderSource::GetObject,
        Some(LIST_OBJECTS_V2) => ReaderSource::ListObjectsV2,
        Some(_) => {
            ctx.d.schema(
                message::one_of(&[GET_OBJECT, LIST_OBJECTS_V2]),
                &r.at_key("Resource"),
            );
            ReaderSource::GetObject
        }
    };
    let arguments = arguments(&mut r, lang, ctx);
    let mut config = ReaderConfig {
        input_type: None,
        csv_headers: None,
        csv_delimiter: b',',
        max_items: None,
        items_pointer: None,
    };
    let typed = r
        .peek("ReaderConfig")
        .is_some_and(|c| c.get("InputType").is_some());
    if let Some(mut c) = r.object("ReaderConfig", &mut ctx.d) {
        const TYPES: [&str; 5] = ["CSV", "JSON", "JSONL", "MANIFEST", "PARQUET"];
        config.input_type = match c.string("InputType", &mut ctx.d) {
            None => None,
            Some(t) => match serde_json::from_value(Value::String(t.to_owned())) {
                Ok(t) => Some(t),
                Err(_) => {
                    ctx.d
                        .schema(message::one_of(&TYPES), &c.at_key("InputType"));
                    None
                }
            },
        };
        let given = match c.string("CSVHeaderLocation", &mut ctx.d) {
            None | Some("FIRST_ROW") => false,
            Some("GIVEN") => true,
            Some(_) => {
                ctx.d.schema(
                    message::one_of(&["FIRST_ROW", "GIVEN"]),
                    &c.at_key("CSVHeaderLocation"),
                );
                false
            }
        };
        let located = c.has("CSVHeaderLocation");
        let headers_at = c.at_key("CSVHeaders");
        if let Some(headers) = c.array("CSVHeaders", false, &mut ctx.d) {
            let names: Option<Vec<String>> = headers
                .iter()
                .map(|h| h.as_str().map(str::to_owned))
                .collect();
            match names {
                Some(n) => config.csv_headers = Some(n),
                None => ctx.d.schema(message::wrong_type("STRING"), &headers_at),
            }
            if !given {
                ctx.d.schema(message::CSV_HEADERS_NOT_GIVEN, &headers_at);
            }
        } else if given {
            ctx.d.schema(message::required(&["CSVHeaders"]), c.at());
        }
        config.csv_delimiter = match c.string("CSVDelimiter", &mut ctx.d) {
            None | Some("COMMA") => b',',
            Some("PIPE") => b'|',
            Some("SEMICOLON") => b';',
            Some("SPACE") => b' ',
            Some("TAB") => b'\t',
            Some(_) => {
                ctx.d.schema(
                    message::one_of(&["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"]),
                    &c.at_key("CSVDelimiter"),
                );
                b','
            }
        };
        config.max_items = common::dynamic_integer(&mut c, "MaxItems", lang, 0, i64::MAX, ctx);
        config.items_pointer = c.string("ItemsPointer", &mut ctx.d).map(str::to_owned);
        if let Some(p) = &config.items_pointer {
            if !p.is_empty() && !p.starts_with('/') {
                ctx.d
                    .schema(message::ITEMS_POINTER, &c.at_key("ItemsPointer"));
            }
        }
        let csv_only = given || located || c.has("CSVDelimiter");
        if csv_only && config.input_type.is_some_and(|t| t != InputType::Csv) {
            ctx.d.schema(message::CSV_ONLY, c.at());
        }
        if config.items_pointer.is_some() && config.input_type != Some(InputType::Json) {
            ctx.d
                .schema(message::ITEMS_POINTER_JSON_ONLY, &c.at_key("ItemsPointer"));
        }
        c.finish(&mut ctx.d);
    }
    match (source, config.input_type) {
        (ReaderSource::GetObject, None) if !typed => ctx
            .d
            .schema(message::input_type_required(GET_OBJECT), r.at()),
        (ReaderSource::ListObjectsV2, Some(_)) => ctx.d.schema(
            message::input_type_not_listing(LIST_OBJECTS_V2),
            &r.at_key("ReaderConfig"),
        ),
        _ => {}
    }
    r.finish(&mut ctx.d);
    Some(ItemReader {
        source,
        arguments,
        config,
    })
}

/// `ResultWriter`: `WriterConfig` alone (the output formatted), `Resource` with
/// `Parameters`/`Arguments` (exported to S3), or all three.
fn result_writer(o: &mut Object, lang: QueryLanguage, ctx: &mut Ctx) -> Option<ResultWriter> {
    let mut w = o.object("ResultWriter", &mut ctx.d)?;
    let resource = w.string("Resource", &mut ctx.d);
    if resource.is_some_and(|r| r != PUT_OBJECT) {
        ctx.d
            .schema(message::one_of(&[PUT_OBJECT]), &w.at_key("Resource"));
    }
    let args_key = match lang {
        QueryLanguage::JsonPath => "Parameters",
        QueryLanguage::Jsonata => "Arguments",
    };
    let has_args = w.has(args_key);
    let export = arguments(&mut w, lang, ctx);
    let mut output_type = OutputType::Json;
    let mut transformation = None;
    let configured = w.has("WriterConfig");
    if let Some(mut c) = w.object("WriterConfig", &mut ctx.d) {
        if let Some(t) = c.string("OutputType", &mut ctx.d) {
            match serde_json::from_value(Value::String(t.to_owned())) {
                Ok(t) => output_type = t,
                Err(_) => ctx
                    .d
                    .schema(message::one_of(&["JSON", "JSONL"]), &c.at_key("OutputType")),
            }
        }
        if let Some(t) = c.string("Transformation", &mut ctx.d) {
            match serde_json::from_value(Value::String(t.to_owned())) {
                Ok(t) => transformation = Some(t),
                Err(_) => ctx.d.schema(
                    message::one_of(&["NONE", "COMPACT", "FLATTEN"]),
                    &c.at_key("Transformation"),
                ),
            }
        }
        c.finish(&mut ctx.d);
    }
    match (resource.is_some(), has_args) {
        (true, false) => ctx.d.schema(message::required(&[args_key]), w.at()),
        (false, true) => ctx.d.schema(message::required(&["Resource"]), w.at()),
        (false, false) if !configured => ctx.d.schema(message::writer_fields(args_key), w.at()),
        _ => {}
    }
    w.finish(&mut ctx.d);
    let exported = resource.is_some();
    Some(ResultWriter {
        export: if exported { export } else { None },
        output_type,
        // Exporting writes the children's records unless told otherwise; formatting alone
        // keeps their outputs (AWS's two defaults).
        transformation: transformation.unwrap_or(match exported {
            true => Transformation::None,
            false => Transformation::Compact,
        }),
    })
}
