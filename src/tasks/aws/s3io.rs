//! A Distributed Map's S3 I/O: its `ItemReader` (`s3:getObject` read as JSON, JSON Lines, CSV
//! or an S3 inventory manifest; `s3:listObjectsV2`) and its `ResultWriter` (`s3:putObject`:
//! the result files and `manifest.json` under `Prefix/<map run id>/`), on the AWS client.
//!
//! Invariant: what is read is bounded: an object's text streams through its parser and reading
//! stops at `MaxItems`; past `MAX_READ_BYTES` of text (decompressed) the reader fails rather than
//! hold more. Every failure is `States.ItemReaderFailed` / `States.ResultWriterFailed`, its
//! cause naming what failed (an S3 error by its SDK name: `S3.NoSuchKeyException`).

use std::io::Write;
use std::ops::ControlFlow;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::models::service::{self, Service};
use super::{client, protocol, sdk_failure, Aws, CallError};
use crate::asl::machine::{InputType, OutputType};
use crate::tasks::SerdeResult as TaskResult;
use crate::vm::run::map_io::{ItemRead, ResultWrite, ITEM_READER_FAILED, RESULT_WRITER_FAILED};
use crate::vm::run::Invocation;
use crate::vm::Failure;

/// The most text a reader takes in for one Map (decompressed): statejet holds a Map's items in
/// memory, so it bounds them here, well under AWS's 10 GB objects. Past it the Map fails
/// with `States.ItemReaderFailed` saying so; `MaxItems` stops reading before it is reached.
pub const MAX_READ_BYTES: usize = 256 * 1024 * 1024;

/// Answers an invocation of `s3:ACTION` made by a Map's reader or writer (`None`: the payload
/// is not one, so the Task is not answered here).
pub(super) async fn call(
    aws: &Aws,
    action: &str,
    inv: &Invocation,
    limit: Duration,
) -> Option<TaskResult> {
    let result = match (
        action,
        inv.payload.get("ItemReader"),
        inv.payload.get("ResultWriter"),
    ) {
        ("getObject" | "listObjectsV2", Some(r), _) => {
            let read: ItemRead = serde_json::from_value(r.to_serde()).ok()?;
            read_items(aws, action, &read, limit)
                .await
                .map(Value::Array)
                .map_err(|cause| Failure::new(ITEM_READER_FAILED, cause))
        }
        ("putObject", _, Some(w)) => {
            let write: ResultWrite = serde_json::from_value(w.to_serde()).ok()?;
            write_results(aws, &write, limit).await
        }
        _ => return None,
    };
    Some(result)
}

fn s3() -> Result<std::sync::Arc<Service>, String> {
    service::service("s3").ok_or_else(|| "statejet's AWS models hold no S3 service".to_owned())
}

/// A call that brought no answer, or an S3 error, as a cause.
fn cause(svc: &Service, e: CallError) -> String {
    match e {
        CallError::Parameters(m) => m,
        CallError::Client(m) => format!("{}.SdkClientException: {m}", svc.prefix),
    }
}

fn s3_error(svc: &Service, r: &client::Response) -> String {
    let f = sdk_failure(svc, &protocol::error(svc, r));
    format!("{}: {}", f.error, f.cause)
}

/// A string parameter of the reader's or writer's `Parameters`.
fn text<'a>(params: &'a Value, key: &str, of: &str) -> Result<&'a str, String> {
    match params.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("the {of}'s {key} must be a string, not {other}")),
        None => Err(format!("the {of}'s Parameters must give a {key}")),
    }
}

async fn read_items(
    aws: &Aws,
    action: &str,
    read: &ItemRead,
    limit: Duration,
) -> Result<Vec<Value>, String> {
    let svc = s3()?;
    let max = read.max_items.map_or(usize::MAX, |n| n as usize);
    if action == "listObjectsV2" {
        return list_objects(aws, &svc, &read.parameters, max, limit).await;
    }
    text(&read.parameters, "Bucket", "ItemReader")?;
    text(&read.parameters, "Key", "ItemReader")?;
    let mut items = Vec::new();
    match read.input_type {
        Some(InputType::Json) => {
            let body = get_whole(aws, &svc, &read.parameters, limit).await?;
            let doc: Value = serde_json::from_slice(&body)
                .map_err(|e| format!("the object is not JSON: {e}"))?;
            let found = match &read.items_pointer {
                Some(p) => doc.pointer(p).ok_or_else(|| {
                    format!("ItemsPointer {p} points to nothing in the object")
                })?,
                None => &doc,
            };
            match found {
                Value::Array(a) => items.extend(a.iter().take(max).cloned()),
                _ => return Err("Attempting to map over non-iterable node.".to_owned()),
            }
        }
        Some(InputType::Jsonl) => {
            let mut lines = Lines::default();
            let mut failed = None;
            stream(aws, &svc, &read.parameters, limit, &mut |chunk| {
                lines.push(chunk, &mut |line| jsonl_item(line, &mut items, max, &mut failed))
            })
            .await?;
            lines.finish(&mut |line| jsonl_item(line, &mut items, max, &mut failed));
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Some(InputType::Csv) => {
            let mut rows = CsvItems::new(read.csv_delimiter, read.csv_headers.clone(), max)?;
            stream(aws, &svc, &read.parameters, limit, &mut |chunk| rows.push(chunk)).await?;
            items = rows.finish()?;
        }
        Some(InputType::Manifest) => {
            items = manifest(aws, &svc, &read.parameters, max, limit).await?;
        }
        Some(InputType::Parquet) => {
            return Err("statejet does not read PARQUET objects (InputType PARQUET): give the items as CSV, JSON or JSON Lines".to_owned())
        }
        None => return Err("the ItemReader's ReaderConfig gives no InputType".to_owned()),
    }
    Ok(items)
}

/// One JSON Lines line as an item (blank lines are skipped).
fn jsonl_item(
    line: &[u8],
    items: &mut Vec<Value>,
    max: usize,
    failed: &mut Option<String>,
) -> ControlFlow<()> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return ControlFlow::Continue(());
    }
    match serde_json::from_slice(line) {
        Ok(v) => items.push(v),
        Err(e) => {
            *failed = Some(format!(
                "line {} of the JSON Lines object is not JSON: {e}",
                items.len() + 1
            ));
            return ControlFlow::Break(());
        }
    }
    match items.len() >= max {
        true => ControlFlow::Break(()),
        false => ControlFlow::Continue(()),
    }
}

/// Streams `GetObject`'s body to `chunk` (bounded by `MAX_READ_BYTES`).
async fn stream(
    aws: &Aws,
    svc: &Service,
    params: &Value,
    limit: Duration,
    chunk: &mut (dyn FnMut(&[u8]) -> ControlFlow<()> + Send),
) -> Result<(), String> {
    let (request, signing) = aws
        .build(svc, "GetObject", params)
        .map_err(|e| cause(svc, e))?;
    let mut read = 0usize;
    let mut over = false;
    let mut bounded = |data: &[u8]| {
        read += data.len();
        if read > MAX_READ_BYTES {
            over = true;
            return ControlFlow::Break(());
        }
        chunk(data)
    };
    let r = client::send_streaming(request, &signing, limit, &mut bounded)
        .await
        .map_err(|e| cause(svc, CallError::Client(e.to_string())))?;
    if r.status >= 300 {
        return Err(s3_error(svc, &r));
    }
    if over {
        return Err(too_large());
    }
    Ok(())
}

fn too_large() -> String {
    format!(
        "the items' object is larger than statejet reads for a Map ({} MiB): set ReaderConfig.MaxItems, or split the object",
        MAX_READ_BYTES / (1024 * 1024)
    )
}

/// `GetObject`'s whole body (bounded by `MAX_READ_BYTES`).
async fn get_whole(
    aws: &Aws,
    svc: &Service,
    params: &Value,
    limit: Duration,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    stream(aws, svc, params, limit, &mut |data| {
        body.extend_from_slice(data);
        ControlFlow::Continue(())
    })
    .await?;
    Ok(body)
}

/// `s3:listObjectsV2`: one item per object, page after page, as Step Functions shapes them.
async fn list_objects(
    aws: &Aws,
    svc: &Service,
    params: &Value,
    max: usize,
    limit: Duration,
) -> Result<Vec<Value>, String> {
    text(params, "Bucket", "ItemReader")?;
    let op = &svc.operations["ListObjectsV2"];
    let mut params = params.clone();
    let mut items = Vec::new();
    loop {
        let r = aws
            .send(svc, "ListObjectsV2", &params, limit)
            .await
            .map_err(|e| cause(svc, e))?;
        if r.status >= 300 {
            return Err(s3_error(svc, &r));
        }
        let page = protocol::result(svc, op, &r)?;
        if let Some(Value::Array(contents)) = page.get("Contents") {
            for o in contents {
                if items.len() >= max {
                    return Ok(items);
                }
                // AWS's item names the ETag `Etag`.
                let mut item = Map::new();
                for (from, to) in [
                    ("ETag", "Etag"),
                    ("Key", "Key"),
                    ("LastModified", "LastModified"),
                    ("Size", "Size"),
                    ("StorageClass", "StorageClass"),
                ] {
                    if let Some(v) = o.get(from) {
                        item.insert(to.to_owned(), v.clone());
                    }
                }
                items.push(Value::Object(item));
            }
        }
        let token = page.get("NextContinuationToken").and_then(Value::as_str);
        match (page.get("IsTruncated"), token) {
            (Some(Value::Bool(true)), Some(t)) if items.len() < max => {
                params["ContinuationToken"] = json!(t);
            }
            _ => return Ok(items),
        }
    }
}

/// `InputType` MANIFEST: an S3 inventory report's `manifest.json`, whose CSV data files (gzip
/// compressed, as S3 Inventory writes them) hold one item per row, named by its `fileSchema`.
async fn manifest(
    aws: &Aws,
    svc: &Service,
    params: &Value,
    max: usize,
    limit: Duration,
) -> Result<Vec<Value>, String> {
    let body = get_whole(aws, svc, params, limit).await?;
    let m: Value =
        serde_json::from_slice(&body).map_err(|e| format!("the manifest is not JSON: {e}"))?;
    match m.get("fileFormat").and_then(Value::as_str) {
        Some("CSV") => {}
        Some(other) => {
            return Err(format!(
                "the manifest's fileFormat is {other}: statejet reads CSV inventories"
            ))
        }
        None => {
            return Err(
                "the manifest has no fileFormat (is it an S3 Inventory manifest.json?)".to_owned(),
            )
        }
    }
    let schema: Vec<String> = m
        .get("fileSchema")
        .and_then(Value::as_str)
        .ok_or("the manifest has no fileSchema")?
        .split(',')
        .map(|c| c.trim().to_owned())
        .collect();
    let bucket = m
        .get("destinationBucket")
        .and_then(Value::as_str)
        .ok_or("the manifest has no destinationBucket")?;
    // `arn:aws:s3:::NAME`, or a plain name.
    let bucket = bucket.rsplit(":::").next().unwrap_or(bucket).to_owned();
    let files = m
        .get("files")
        .and_then(Value::as_array)
        .ok_or("the manifest has no files")?;
    let mut items = Vec::new();
    for f in files {
        if items.len() >= max {
            break;
        }
        let key = f
            .get("key")
            .and_then(Value::as_str)
            .ok_or("a file of the manifest has no key")?;
        let left = max - items.len();
        let mut rows = CsvItems::new(b',', Some(schema.clone()), left)?;
        let file = json!({"Bucket": bucket, "Key": key});
        if key.ends_with(".gz") {
            let mut gz = flate2::write::GzDecoder::new(Feed {
                rows: &mut rows,
                decompressed: 0,
                over: false,
            });
            let mut bad = None;
            stream(
                aws,
                svc,
                &file,
                limit,
                &mut |chunk| match gz.write_all(chunk) {
                    Ok(()) if gz.get_ref().over || gz.get_ref().rows.full() => {
                        ControlFlow::Break(())
                    }
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        bad = Some(format!("the inventory file {key} is not gzip: {e}"));
                        ControlFlow::Break(())
                    }
                },
            )
            .await?;
            if let Some(e) = bad {
                return Err(e);
            }
            if gz.get_ref().over {
                return Err(too_large());
            }
            let _ = gz.try_finish();
        } else {
            stream(aws, svc, &file, limit, &mut |chunk| rows.push(chunk)).await?;
        }
        items.extend(rows.finish()?);
    }
    Ok(items)
}

/// Where a gzip decoder writes: the CSV rows, bounded like any object's text.
struct Feed<'a> {
    rows: &'a mut CsvItems,
    decompressed: usize,
    over: bool,
}

impl Write for Feed<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.decompressed += buf.len();
        if self.decompressed > MAX_READ_BYTES {
            self.over = true;
        } else if !self.rows.full() {
            let _ = self.rows.push(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Splits text into lines as it arrives.
#[derive(Default)]
struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    fn push(
        &mut self,
        mut data: &[u8],
        line: &mut dyn FnMut(&[u8]) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        while let Some(at) = data.iter().position(|b| *b == b'\n') {
            let flow = if self.partial.is_empty() {
                line(&data[..at])
            } else {
                self.partial.extend_from_slice(&data[..at]);
                let whole = std::mem::take(&mut self.partial);
                line(&whole)
            };
            flow?;
            data = &data[at + 1..];
        }
        self.partial.extend_from_slice(data);
        ControlFlow::Continue(())
    }

    fn finish(&mut self, line: &mut dyn FnMut(&[u8]) -> ControlFlow<()>) {
        if !self.partial.is_empty() {
            let whole = std::mem::take(&mut self.partial);
            let _ = line(&whole);
        }
    }
}

/// CSV rows (RFC 4180: quoted fields may hold delimiters, quotes doubled, line breaks) made
/// items as Step Functions makes them: an object of strings per row, keyed by the headers
/// (given, or the first row); a missing trailing field is `""`, fields past the headers are
/// dropped.
struct CsvItems {
    delimiter: u8,
    headers: Option<Vec<String>>,
    max: usize,
    items: Vec<Value>,
    field: Vec<u8>,
    row: Vec<String>,
    quoted: bool,
    /// A quote seen inside a quoted field: the field's end, or the first of a doubled quote.
    quote: bool,
    started: bool,
    failed: Option<String>,
}

impl CsvItems {
    fn new(delimiter: u8, headers: Option<Vec<String>>, max: usize) -> Result<CsvItems, String> {
        if let Some(h) = &headers {
            check_headers(h)?;
        }
        Ok(CsvItems {
            delimiter,
            headers,
            max,
            items: Vec::new(),
            field: Vec::new(),
            row: Vec::new(),
            quoted: false,
            quote: false,
            started: false,
            failed: None,
        })
    }

    fn full(&self) -> bool {
        self.items.len() >= self.max || self.failed.is_some()
    }

    fn push(&mut self, data: &[u8]) -> ControlFlow<()> {
        let mut data = data;
        if !self.started {
            self.started = true;
            // A UTF-8 byte order mark is not part of the first header.
            data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        }
        for &b in data {
            if self.quoted {
                if b == b'"' {
                    self.quoted = false;
                    self.quote = true;
                } else {
                    self.field.push(b);
                }
                continue;
            }
            if self.quote {
                self.quote = false;
                if b == b'"' {
                    self.field.push(b'"');
                    self.quoted = true;
                    continue;
                }
            }
            match b {
                b'"' if self.field.is_empty() => self.quoted = true,
                b'\n' => {
                    self.end_field();
                    self.end_row();
                    if self.full() {
                        return ControlFlow::Break(());
                    }
                }
                b'\r' => {}
                _ if b == self.delimiter => self.end_field(),
                _ => self.field.push(b),
            }
        }
        ControlFlow::Continue(())
    }

    fn end_field(&mut self) {
        let f = std::mem::take(&mut self.field);
        self.row.push(String::from_utf8_lossy(&f).into_owned());
    }

    fn end_row(&mut self) {
        let row = std::mem::take(&mut self.row);
        // A blank line is no row.
        if row.len() == 1 && row[0].is_empty() {
            return;
        }
        let Some(headers) = &self.headers else {
            if let Err(e) = check_headers(&row) {
                self.failed = Some(e);
            }
            self.headers = Some(row);
            return;
        };
        if self.items.len() >= self.max {
            return;
        }
        let mut item = Map::new();
        for (i, h) in headers.iter().enumerate() {
            let v = row.get(i).cloned().unwrap_or_default();
            item.insert(h.clone(), Value::String(v));
        }
        self.items.push(Value::Object(item));
    }

    fn finish(mut self) -> Result<Vec<Value>, String> {
        if !self.full() && (!self.field.is_empty() || !self.row.is_empty() || self.quote) {
            self.end_field();
            self.end_row();
        }
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.items),
        }
    }
}

fn check_headers(headers: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    match headers.iter().all(|h| seen.insert(h)) {
        true => Ok(()),
        false => Err("CSV headers cannot contain duplicates.".to_owned()),
    }
}

/// Writes the result files and the manifest; the Map's output names them.
async fn write_results(aws: &Aws, write: &ResultWrite, limit: Duration) -> TaskResult {
    let fail = |cause: String| Failure::new(RESULT_WRITER_FAILED, cause);
    let svc = s3().map_err(fail)?;
    let bucket = text(&write.parameters, "Bucket", "ResultWriter").map_err(fail)?;
    let prefix = match write.parameters.get("Prefix") {
        None => "",
        Some(_) => text(&write.parameters, "Prefix", "ResultWriter").map_err(fail)?,
    };
    // The Map Run's id: the last part of its ARN.
    let id = write.map_run_arn.rsplit(':').next().unwrap_or_default();
    let base = match prefix.trim_end_matches('/') {
        "" => format!("{id}/"),
        p => format!("{p}/{id}/"),
    };
    let extension = match write.output_type {
        OutputType::Json => "json",
        OutputType::Jsonl => "jsonl",
    };
    let mut files = Map::new();
    for (status, records) in [
        ("FAILED", &write.failed),
        ("PENDING", &write.pending),
        ("SUCCEEDED", &write.succeeded),
    ] {
        let mut listed = Vec::new();
        if !records.is_empty() {
            let body = match write.output_type {
                OutputType::Json => Value::Array(records.clone()).to_string().into_bytes(),
                OutputType::Jsonl => {
                    let mut out = Vec::new();
                    for r in records {
                        out.extend_from_slice(r.to_string().as_bytes());
                        out.push(b'\n');
                    }
                    out
                }
            };
            let key = format!("{base}{status}_0.{extension}");
            let size = body.len();
            put(aws, &svc, bucket, &key, body, limit)
                .await
                .map_err(fail)?;
            listed.push(json!({"Key": key, "Size": size}));
        }
        files.insert(status.to_owned(), Value::Array(listed));
    }
    let manifest = json!({
        "DestinationBucket": bucket,
        "MapRunArn": write.map_run_arn,
        "ResultFiles": files,
    });
    let key = format!("{base}manifest.json");
    put(
        aws,
        &svc,
        bucket,
        &key,
        manifest.to_string().into_bytes(),
        limit,
    )
    .await
    .map_err(fail)?;
    Ok(json!({
        "MapRunArn": write.map_run_arn,
        "ResultWriterDetails": {"Bucket": bucket, "Key": key},
    }))
}

/// `PutObject` of `body` as it is (not as a Task's JSON-encoded `Body` parameter).
async fn put(
    aws: &Aws,
    svc: &Service,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    limit: Duration,
) -> Result<(), String> {
    let params = json!({"Bucket": bucket, "Key": key, "ContentType": "application/json"});
    let (mut request, signing) = aws
        .build(svc, "PutObject", &params)
        .map_err(|e| cause(svc, e))?;
    request.body = body;
    let r = client::send(request, &signing, limit)
        .await
        .map_err(|e| cause(svc, CallError::Client(e.to_string())))?;
    match r.status < 300 {
        true => Ok(()),
        false => Err(s3_error(svc, &r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str, headers: Option<Vec<String>>, max: usize) -> Result<Vec<Value>, String> {
        let mut rows = CsvItems::new(b',', headers, max)?;
        // Fed in small pieces, as a body arrives.
        for piece in text.as_bytes().chunks(3) {
            if rows.push(piece).is_break() {
                break;
            }
        }
        rows.finish()
    }

    #[test]
    fn csv_rows_are_objects_of_strings() {
        let got = csv(
            "a,b,c\r\n1,\"x, \"\"y\"\"\",true\n2\n\n3,4,5,6\n",
            None,
            usize::MAX,
        );
        assert_eq!(
            got.unwrap(),
            vec![
                json!({"a": "1", "b": "x, \"y\"", "c": "true"}),
                json!({"a": "2", "b": "", "c": ""}),
                json!({"a": "3", "b": "4", "c": "5"}),
            ]
        );
        let given = csv("1,2\n3,4", Some(vec!["p".into(), "q".into()]), 1).unwrap();
        assert_eq!(given, vec![json!({"p": "1", "q": "2"})]);
        assert_eq!(
            csv("a,a\n1,2\n", None, usize::MAX).unwrap_err(),
            "CSV headers cannot contain duplicates."
        );
    }

    #[test]
    fn lines_split_across_pieces() {
        let mut lines = Lines::default();
        let mut got = Vec::new();
        for piece in [&b"{\"a\":"[..], b"1}\n[2", b"]\n\n3"] {
            let _ = lines.push(piece, &mut |l| {
                got.push(String::from_utf8_lossy(l).into_owned());
                ControlFlow::Continue(())
            });
        }
        lines.finish(&mut |l| {
            got.push(String::from_utf8_lossy(l).into_owned());
            ControlFlow::Continue(())
        });
        assert_eq!(got, ["{\"a\":1}", "[2]", "", "3"]);
    }
}
