//! A service's response read as Step Functions gives it: the result in Step Functions' casing,
//! or the error's code, message and request ids.

use serde_json::{Map, Number, Value};

use super::{shape_of, upper_first};
use crate::tasks::aws::client::Response;
use crate::tasks::aws::models::service::{Member, Operation, Service, Shape};

/// A service's error answer.
#[derive(Debug, Clone)]
pub struct ServiceError {
    /// The error code (`ResourceNotFoundException`, `NoSuchKey`), without namespace.
    pub code: String,
    /// A query-compatible service's query-protocol code (SQS's `x-amzn-query-error`:
    /// `AWS.SimpleQueueService.NonExistentQueue`), which the query-era SDKs report.
    pub query_code: Option<String>,
    pub message: String,
    pub status: u16,
    pub request_id: String,
    /// S3's `x-amz-id-2`.
    pub extended_request_id: Option<String>,
}

/// The result of `op` from a successful `response`.
pub fn result(svc: &Service, op: &Operation, response: &Response) -> Result<Value, String> {
    let Some(output) = &op.output else {
        return Ok(Value::Object(Map::new()));
    };
    let shape = shape_of(svc, &output.shape)?;
    let r = Read { svc };
    match svc.metadata.protocol.as_str() {
        "json" => {
            let body = json_body(&response.body)?;
            r.json(shape, &body, false)
        }
        "query" => {
            let text = String::from_utf8_lossy(&response.body);
            let doc = roxmltree::Document::parse(&text)
                .map_err(|e| format!("the response is not XML: {e}"))?;
            let root = doc.root_element();
            let node = match &output.result_wrapper {
                Some(w) => root.children().find(|c| c.has_tag_name(w.as_str())),
                None => Some(root),
            };
            match node {
                Some(n) => r.xml(shape, n),
                None => Ok(Value::Object(Map::new())),
            }
        }
        "rest-json" | "rest-xml" => r.rest(shape, response),
        other => Err(format!("the {other} protocol is not supported")),
    }
}

fn json_body(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|e| format!("the response is not JSON: {e}"))
}

/// The error of an unsuccessful `response`, in the service's protocol.
pub fn error(svc: &Service, response: &Response) -> ServiceError {
    let request_id = response
        .header("x-amzn-requestid")
        .or_else(|| response.header("x-amz-request-id"))
        .unwrap_or_default()
        .to_owned();
    let mut e = ServiceError {
        code: String::new(),
        query_code: None,
        message: String::new(),
        status: response.status,
        request_id,
        extended_request_id: response.header("x-amz-id-2").map(str::to_owned),
    };
    let xml = matches!(svc.metadata.protocol.as_str(), "query" | "rest-xml");
    if xml {
        let text = String::from_utf8_lossy(&response.body);
        if let Ok(doc) = roxmltree::Document::parse(&text) {
            let find = |tag: &str| {
                doc.descendants()
                    .find(|n| n.has_tag_name(tag))
                    .and_then(|n| n.text())
                    .map(str::to_owned)
            };
            e.code = find("Code").unwrap_or_default();
            e.message = find("Message").unwrap_or_default();
            if let Some(id) = find("RequestId") {
                e.request_id = id;
            }
            if let Some(id) = find("HostId") {
                e.extended_request_id = Some(id);
            }
        }
    } else {
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        // A query-compatible service (SQS) names the query protocol's code in a header.
        e.query_code = response
            .header("x-amzn-query-error")
            .map(|h| h.split(';').next().unwrap_or(h).to_owned());
        let code = response
            .header("x-amzn-errortype")
            .map(str::to_owned)
            .or_else(|| field("__type"))
            .or_else(|| field("code"))
            .or_else(|| field("Code"))
            .unwrap_or_default();
        e.code = bare_code(&code).to_owned();
        e.message = field("message")
            .or_else(|| field("Message"))
            .or_else(|| field("errorMessage"))
            .unwrap_or_default();
    }
    if e.code.is_empty() {
        // A body-less answer (a HEAD request's): its status names it, as the SDKs do.
        e.code = match response.status {
            400 => "BadRequest",
            403 => "Forbidden",
            404 => "NotFound",
            405 => "MethodNotAllowed",
            409 => "Conflict",
            413 => "RequestEntityTooLarge",
            429 => "TooManyRequestsException",
            500 => "InternalFailure",
            503 => "ServiceUnavailable",
            _ => "UnknownError",
        }
        .to_owned();
    }
    e
}

/// `aws.protocoltests#ValidationException:http://...` → `ValidationException`.
fn bare_code(code: &str) -> &str {
    let code = code.rsplit('#').next().unwrap_or(code);
    code.split(':').next().unwrap_or(code)
}

struct Read<'a> {
    svc: &'a Service,
}

impl Read<'_> {
    /// A JSON value of `shape`, members renamed to Step Functions' casing.
    fn json(&self, shape: &Shape, v: &Value, rest: bool) -> Result<Value, String> {
        Ok(match (shape.r#type.as_str(), v) {
            ("structure", _) if shape.document => v.clone(),
            ("structure", Value::Object(o)) => {
                let mut out = Map::new();
                for (name, m) in &shape.members {
                    if rest && m.location.is_some() {
                        continue;
                    }
                    let wire = if rest {
                        m.location_name.as_ref().unwrap_or(name)
                    } else {
                        name
                    };
                    if let Some(val) = o.get(wire) {
                        let inner = shape_of(self.svc, &m.shape)?;
                        out.insert(upper_first(name), self.json(inner, val, rest)?);
                    }
                }
                Value::Object(out)
            }
            ("list", Value::Array(items)) => {
                let inner = shape_of(self.svc, &part(shape.member.as_deref())?.shape)?;
                Value::Array(
                    items
                        .iter()
                        .map(|i| self.json(inner, i, rest))
                        .collect::<Result<_, _>>()?,
                )
            }
            ("map", Value::Object(o)) => {
                let inner = shape_of(self.svc, &part(shape.value.as_deref())?.shape)?;
                let mut out = Map::new();
                for (k, val) in o {
                    out.insert(k.clone(), self.json(inner, val, rest)?);
                }
                Value::Object(out)
            }
            ("timestamp", Value::Number(n)) => match n.as_f64() {
                Some(secs) => Value::String(iso_millis((secs * 1000.0).round() as i64)),
                None => v.clone(),
            },
            ("timestamp", Value::String(s)) => Value::String(normalize_time(s)),
            _ => v.clone(),
        })
    }

    /// A REST response: members bound to headers and the status code, then the payload or the
    /// body's members.
    fn rest(&self, shape: &Shape, response: &Response) -> Result<Value, String> {
        let xml = self.svc.metadata.protocol == "rest-xml";
        let mut out = Map::new();
        for (name, m) in &shape.members {
            let inner = shape_of(self.svc, &m.shape)?;
            let wire = m.location_name.as_deref().unwrap_or(name);
            match m.location.as_deref() {
                Some("header") => {
                    if let Some(h) = response.header(wire) {
                        out.insert(upper_first(name), self.header_value(inner, m, h));
                    }
                }
                Some("headers") => {
                    let prefix = wire.to_ascii_lowercase();
                    let map: Map<String, Value> = response
                        .headers
                        .iter()
                        .filter_map(|(k, v)| {
                            k.to_ascii_lowercase()
                                .strip_prefix(&prefix)
                                .map(|rest| (rest.to_owned(), Value::String(v.clone())))
                        })
                        .collect();
                    out.insert(upper_first(name), Value::Object(map));
                }
                Some("statusCode") => {
                    out.insert(upper_first(name), Value::from(response.status));
                }
                _ => {}
            }
        }
        match &shape.payload {
            Some(p) => {
                let m = shape
                    .members
                    .get(p)
                    .ok_or_else(|| format!("the model names a payload {p} it does not have"))?;
                let ps = shape_of(self.svc, &m.shape)?;
                let value = match ps.r#type.as_str() {
                    // Step Functions gives a blob payload (S3's Body) as text.
                    "blob" | "string" => {
                        Value::String(String::from_utf8_lossy(&response.body).into_owned())
                    }
                    _ if response.body.is_empty() => return Ok(Value::Object(out)),
                    _ if xml => {
                        let text = String::from_utf8_lossy(&response.body);
                        let doc = roxmltree::Document::parse(&text)
                            .map_err(|e| format!("the response is not XML: {e}"))?;
                        self.xml(ps, doc.root_element())?
                    }
                    _ => self.json(ps, &json_body(&response.body)?, true)?,
                };
                out.insert(upper_first(p), value);
            }
            None if response.body.iter().all(u8::is_ascii_whitespace) => {}
            None if xml => {
                let text = String::from_utf8_lossy(&response.body);
                let doc = roxmltree::Document::parse(&text)
                    .map_err(|e| format!("the response is not XML: {e}"))?;
                if let Value::Object(body) = self.xml(shape, doc.root_element())? {
                    out.extend(body);
                }
            }
            None => {
                if let Value::Object(body) = self.json(shape, &json_body(&response.body)?, true)? {
                    out.extend(body);
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn header_value(&self, shape: &Shape, m: &Member, h: &str) -> Value {
        if m.jsonvalue {
            use base64::Engine as _;
            return base64::engine::general_purpose::STANDARD
                .decode(h)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_else(|| Value::String(h.to_owned()));
        }
        scalar(shape, h)
    }

    /// An XML element of `shape`.
    fn xml(&self, shape: &Shape, node: roxmltree::Node) -> Result<Value, String> {
        Ok(match shape.r#type.as_str() {
            "structure" => {
                let mut out = Map::new();
                for (name, m) in &shape.members {
                    if m.location.is_some() {
                        continue;
                    }
                    let inner = shape_of(self.svc, &m.shape)?;
                    let flattened = inner.r#type == "list" && (inner.flattened || m.flattened);
                    let flat_map = inner.r#type == "map" && (inner.flattened || m.flattened);
                    let wire = match (flattened, inner.member.as_deref()) {
                        (true, Some(em)) if m.location_name.is_none() => {
                            em.location_name.as_deref().unwrap_or(name)
                        }
                        _ => m.location_name.as_deref().unwrap_or(name),
                    };
                    if m.xml_attribute {
                        if let Some(a) = node.attributes().find(|a| a.name() == wire) {
                            out.insert(upper_first(name), scalar(inner, a.value()));
                        }
                        continue;
                    }
                    let mut matching = node
                        .children()
                        .filter(|c| c.is_element() && c.tag_name().name() == wire);
                    if flattened {
                        let es = shape_of(self.svc, &part(inner.member.as_deref())?.shape)?;
                        let items: Vec<Value> = matching
                            .map(|c| self.xml(es, c))
                            .collect::<Result<_, _>>()?;
                        if !items.is_empty() {
                            out.insert(upper_first(name), Value::Array(items));
                        }
                    } else if flat_map {
                        let entries: Vec<roxmltree::Node> = matching.collect();
                        if !entries.is_empty() {
                            out.insert(upper_first(name), self.map_entries(inner, entries)?);
                        }
                    } else if let Some(c) = matching.next() {
                        out.insert(upper_first(name), self.xml(inner, c)?);
                    }
                }
                Value::Object(out)
            }
            "list" => {
                let em = part(shape.member.as_deref())?;
                let es = shape_of(self.svc, &em.shape)?;
                let tag = em.location_name.as_deref().unwrap_or("member");
                Value::Array(
                    node.children()
                        .filter(|c| c.is_element() && c.tag_name().name() == tag)
                        .map(|c| self.xml(es, c))
                        .collect::<Result<_, _>>()?,
                )
            }
            "map" => {
                let entries = node
                    .children()
                    .filter(|c| c.is_element() && c.tag_name().name() == "entry")
                    .collect();
                self.map_entries(shape, entries)?
            }
            _ => scalar(shape, node.text().unwrap_or_default()),
        })
    }

    fn map_entries(&self, shape: &Shape, entries: Vec<roxmltree::Node>) -> Result<Value, String> {
        let (km, vm) = (part(shape.key.as_deref())?, part(shape.value.as_deref())?);
        let vs = shape_of(self.svc, &vm.shape)?;
        let (kt, vt) = (
            km.location_name.as_deref().unwrap_or("key"),
            vm.location_name.as_deref().unwrap_or("value"),
        );
        let mut out = Map::new();
        for e in entries {
            let k = e
                .children()
                .find(|c| c.has_tag_name(kt))
                .and_then(|c| c.text())
                .unwrap_or_default();
            if let Some(v) = e.children().find(|c| c.has_tag_name(vt)) {
                out.insert(k.to_owned(), self.xml(vs, v)?);
            }
        }
        Ok(Value::Object(out))
    }
}

fn part(m: Option<&Member>) -> Result<&Member, String> {
    m.ok_or_else(|| "a list or map shape without its members".to_owned())
}

/// A scalar written as text (XML, headers) as its JSON value.
fn scalar(shape: &Shape, t: &str) -> Value {
    match shape.r#type.as_str() {
        "integer" | "long" => t
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(t.to_owned())),
        "float" | "double" => t
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(t.to_owned())),
        "boolean" => Value::Bool(t.trim() == "true"),
        "timestamp" => Value::String(normalize_time(t)),
        _ => Value::String(t.to_owned()),
    }
}

fn iso_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A timestamp as Step Functions' aws-sdk results give it: ISO-8601 with milliseconds and `Z`
/// (from ISO-8601, HTTP-date or epoch-seconds text); text that is none of them stays as it is.
fn normalize_time(t: &str) -> String {
    let t = t.trim();
    let parsed = chrono::DateTime::parse_from_rfc3339(t)
        .or_else(|_| chrono::DateTime::parse_from_rfc2822(t))
        .map(|d| d.timestamp_millis())
        .ok()
        .or_else(|| t.parse::<f64>().ok().map(|s| (s * 1000.0).round() as i64));
    match parsed {
        Some(ms) => iso_millis(ms),
        None => t.to_owned(),
    }
}
