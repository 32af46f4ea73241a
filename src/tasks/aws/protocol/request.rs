//! A Task's parameters serialized as one operation's request.

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use super::xml::Writer;
use super::{member, shape_of};
use crate::tasks::aws::models::service::{Member, Operation, Service, Shape};

/// What AWS's URI encoding leaves as it is: the unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// A greedy label (`{Key+}`) keeps its slashes.
const GREEDY: &AsciiSet = &UNRESERVED.remove(b'/');

/// A request before its endpoint and signature: path with query, headers, body.
#[derive(Debug, Default)]
pub struct Wire {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The request of operation `op_name` with `params` (Step Functions' casing).
pub fn request(
    svc: &Service,
    op_name: &str,
    op: &Operation,
    params: &Value,
) -> Result<Wire, String> {
    let empty = Value::Object(Map::new());
    let params = match params {
        Value::Null => &empty,
        Value::Object(_) => params,
        _ => return Err("the parameters must be an object".to_owned()),
    };
    let input = match &op.input {
        Some(i) => Some(shape_of(svc, &i.shape)?),
        None => None,
    };
    if input.is_none() && params.as_object().is_some_and(|o| !o.is_empty()) {
        return Err(format!("{op_name} takes no parameters"));
    }
    let s = Ser { svc };
    match svc.metadata.protocol.as_str() {
        "json" => {
            let body = match input {
                Some(shape) => s.json(shape, params, false, "")?,
                None => empty.clone(),
            };
            let version = svc.metadata.json_version.as_deref().unwrap_or("1.0");
            let target = svc.metadata.target_prefix.as_deref().unwrap_or_default();
            Ok(Wire {
                method: "POST".to_owned(),
                path: "/".to_owned(),
                headers: vec![
                    ("x-amz-target".to_owned(), format!("{target}.{op_name}")),
                    (
                        "content-type".to_owned(),
                        format!("application/x-amz-json-{version}"),
                    ),
                ],
                body: body.to_string().into_bytes(),
            })
        }
        "query" => {
            let mut pairs = vec![
                ("Action".to_owned(), op_name.to_owned()),
                ("Version".to_owned(), svc.metadata.api_version.clone()),
            ];
            if let Some(shape) = input {
                s.query(shape, params, "", &mut pairs)?;
            }
            let body = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k, UNRESERVED), encode(v, UNRESERVED)))
                .collect::<Vec<_>>()
                .join("&");
            Ok(Wire {
                method: "POST".to_owned(),
                path: "/".to_owned(),
                headers: vec![(
                    "content-type".to_owned(),
                    "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
                )],
                body: body.into_bytes(),
            })
        }
        "rest-json" | "rest-xml" => s.rest(op, input, params),
        other => Err(format!("the {other} protocol is not supported")),
    }
}

fn encode(s: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(s, set).to_string()
}

/// A value a string member takes: strings as they are, anything else as its JSON text (as
/// Step Functions passes an object where the API takes a string).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A timestamp parameter's instant: ISO-8601 text or seconds since the epoch.
fn instant(v: &Value, field: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let bad =
        || format!("the field '{field}' must be a timestamp (ISO-8601 text or epoch seconds)");
    match v {
        Value::Number(n) => {
            let secs = n.as_f64().ok_or_else(bad)?;
            chrono::DateTime::from_timestamp_millis((secs * 1000.0).round() as i64).ok_or_else(bad)
        }
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&chrono::Utc))
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A blob parameter's bytes: Step Functions writes a JSON value as its JSON text (a string
/// keeps its quotes: AWS's recorded S3 PutObject of `"text data"` stores 11 bytes).
fn blob(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

struct Ser<'a> {
    svc: &'a Service,
}

impl Ser<'_> {
    /// JSON bodies: `json` (member names) and `rest-json` (`locationName` where given; only
    /// the members bound to the body).
    fn json(&self, shape: &Shape, v: &Value, rest: bool, field: &str) -> Result<Value, String> {
        Ok(match shape.r#type.as_str() {
            "structure" if shape.document => v.clone(),
            "structure" => {
                let Value::Object(o) = v else {
                    return Err(format!("the field '{field}' must be an object"));
                };
                let mut out = Map::new();
                for (k, val) in o {
                    let Some((name, m)) = member(shape, k) else {
                        return Err(unknown(k, field, shape));
                    };
                    if val.is_null() || (rest && m.location.is_some()) {
                        continue;
                    }
                    let wire = if rest {
                        m.location_name.as_ref().unwrap_or(name)
                    } else {
                        name
                    };
                    let inner = shape_of(self.svc, &m.shape)?;
                    out.insert(wire.clone(), self.json(inner, val, rest, k)?);
                }
                Value::Object(out)
            }
            "list" => {
                let Value::Array(items) = v else {
                    return Err(format!("the field '{field}' must be an array"));
                };
                let m = element(shape, "member")?;
                let inner = shape_of(self.svc, &m.shape)?;
                Value::Array(
                    items
                        .iter()
                        .map(|i| self.json(inner, i, rest, field))
                        .collect::<Result<_, _>>()?,
                )
            }
            "map" => {
                let Value::Object(o) = v else {
                    return Err(format!("the field '{field}' must be an object"));
                };
                let inner = shape_of(self.svc, &element(shape, "value")?.shape)?;
                let mut out = Map::new();
                for (k, val) in o {
                    out.insert(k.clone(), self.json(inner, val, rest, k)?);
                }
                Value::Object(out)
            }
            "string" => Value::String(text(v)),
            "blob" => Value::String(base64::engine::general_purpose::STANDARD.encode(match v {
                Value::String(s) => s.as_bytes().to_vec(),
                other => blob(other),
            })),
            "timestamp" => match shape.timestamp_format.as_deref() {
                Some("iso8601") => Value::String(iso(instant(v, field)?)),
                _ => {
                    let t = instant(v, field)?;
                    serde_json::Number::from_f64(t.timestamp_millis() as f64 / 1000.0)
                        .map(Value::Number)
                        .unwrap_or(Value::Null)
                }
            },
            "boolean" => match v {
                Value::Bool(_) => v.clone(),
                Value::String(s) if s == "true" || s == "false" => Value::Bool(s == "true"),
                _ => return Err(format!("the field '{field}' must be a boolean")),
            },
            "integer" | "long" | "float" | "double" => match v {
                Value::Number(_) => v.clone(),
                Value::String(s) => serde_json::from_str::<serde_json::Number>(s)
                    .map(Value::Number)
                    .map_err(|_| format!("the field '{field}' must be a number"))?,
                _ => return Err(format!("the field '{field}' must be a number")),
            },
            _ => v.clone(),
        })
    }

    /// `query` parameters: `Name.Sub`, lists as `Name.member.N` (or `Name.N` flattened), maps as
    /// `Name.entry.N.key` / `.value` (botocore's QuerySerializer).
    fn query(
        &self,
        shape: &Shape,
        v: &Value,
        prefix: &str,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), String> {
        let join = |a: &str, b: &str| {
            if a.is_empty() {
                b.to_owned()
            } else {
                format!("{a}.{b}")
            }
        };
        match shape.r#type.as_str() {
            "structure" => {
                let Value::Object(o) = v else {
                    return Err(format!("the field '{prefix}' must be an object"));
                };
                for (k, val) in o {
                    let Some((name, m)) = member(shape, k) else {
                        return Err(unknown(k, prefix, shape));
                    };
                    if val.is_null() {
                        continue;
                    }
                    let inner = shape_of(self.svc, &m.shape)?;
                    let wire = m.location_name.as_ref().unwrap_or(name);
                    let p = join(prefix, wire);
                    // A flattened list member named on the member reference itself.
                    self.query_member(inner, m, val, &p, out)?;
                }
            }
            "list" | "map" => self.query_member(shape, &Member::default(), v, prefix, out)?,
            "boolean" => out.push((
                prefix.to_owned(),
                match v {
                    Value::Bool(b) => b.to_string(),
                    other => text(other),
                },
            )),
            "timestamp" => out.push((prefix.to_owned(), iso(instant(v, prefix)?))),
            "blob" => out.push((
                prefix.to_owned(),
                base64::engine::general_purpose::STANDARD.encode(match v {
                    Value::String(s) => s.as_bytes().to_vec(),
                    other => blob(other),
                }),
            )),
            _ => out.push((prefix.to_owned(), text(v))),
        }
        Ok(())
    }

    fn query_member(
        &self,
        shape: &Shape,
        reference: &Member,
        v: &Value,
        prefix: &str,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), String> {
        let flattened = shape.flattened || reference.flattened;
        match shape.r#type.as_str() {
            "list" => {
                let Value::Array(items) = v else {
                    return Err(format!("the field '{prefix}' must be an array"));
                };
                if items.is_empty() {
                    out.push((prefix.to_owned(), String::new()));
                    return Ok(());
                }
                let m = element(shape, "member")?;
                let list_prefix = if flattened {
                    match &m.location_name {
                        Some(n) => match prefix.rsplit_once('.') {
                            Some((head, _)) => format!("{head}.{n}"),
                            None => n.clone(),
                        },
                        None => prefix.to_owned(),
                    }
                } else {
                    format!(
                        "{prefix}.{}",
                        m.location_name.as_deref().unwrap_or("member")
                    )
                };
                let inner = shape_of(self.svc, &m.shape)?;
                for (i, item) in items.iter().enumerate() {
                    self.query(inner, item, &format!("{list_prefix}.{}", i + 1), out)?;
                }
            }
            "map" => {
                let Value::Object(o) = v else {
                    return Err(format!("the field '{prefix}' must be an object"));
                };
                let full = if flattened {
                    prefix.to_owned()
                } else {
                    format!("{prefix}.entry")
                };
                let key = element(shape, "key")?;
                let value = element(shape, "value")?;
                let key_name = key.location_name.as_deref().unwrap_or("key");
                let value_name = value.location_name.as_deref().unwrap_or("value");
                let (ks, vs) = (
                    shape_of(self.svc, &key.shape)?,
                    shape_of(self.svc, &value.shape)?,
                );
                for (i, (k, val)) in o.iter().enumerate() {
                    let n = i + 1;
                    self.query(
                        ks,
                        &Value::String(k.clone()),
                        &format!("{full}.{n}.{key_name}"),
                        out,
                    )?;
                    self.query(vs, val, &format!("{full}.{n}.{value_name}"), out)?;
                }
            }
            _ => self.query(shape, v, prefix, out)?,
        }
        Ok(())
    }

    /// REST protocols: members bound to the URI, the query string and headers; the rest (or
    /// the payload member) in the body as JSON or XML.
    fn rest(&self, op: &Operation, input: Option<&Shape>, params: &Value) -> Result<Wire, String> {
        let (path_template, literal_query) = match op.http.request_uri.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (op.http.request_uri.clone(), None),
        };
        let mut path = path_template;
        let mut query: Vec<(String, Option<String>)> = Vec::new();
        if let Some(q) = literal_query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some((k, v)) => query.push((k.to_owned(), Some(v.to_owned()))),
                    None => query.push((pair.to_owned(), None)),
                }
            }
        }
        let mut headers = Vec::new();
        let mut body_params = Map::new();
        let mut body = Vec::new();
        let xml = self.svc.metadata.protocol == "rest-xml";
        let o = params.as_object().cloned().unwrap_or_default();
        if let Some(shape) = input {
            for (k, val) in &o {
                let Some((name, m)) = member(shape, k) else {
                    return Err(unknown(k, "", shape));
                };
                if val.is_null() {
                    continue;
                }
                let inner = shape_of(self.svc, &m.shape)?;
                let wire = m.location_name.clone().unwrap_or_else(|| name.clone());
                match m.location.as_deref() {
                    Some("uri") => {
                        let value = scalar_text(inner, val, k)?;
                        let greedy = format!("{{{wire}+}}");
                        let plain = format!("{{{wire}}}");
                        if path.contains(&greedy) {
                            path = path.replace(&greedy, &encode(&value, GREEDY));
                        } else {
                            path = path.replace(&plain, &encode(&value, UNRESERVED));
                        }
                    }
                    Some("querystring") => match (inner.r#type.as_str(), val) {
                        ("list", Value::Array(items)) => {
                            for i in items {
                                query.push((wire.clone(), Some(text(i))));
                            }
                        }
                        ("map", Value::Object(m)) => {
                            for (mk, mv) in m {
                                match mv {
                                    Value::Array(vs) => {
                                        for v in vs {
                                            query.push((mk.clone(), Some(text(v))));
                                        }
                                    }
                                    other => query.push((mk.clone(), Some(text(other)))),
                                }
                            }
                        }
                        _ => query.push((wire, Some(scalar_text(inner, val, k)?))),
                    },
                    Some("header") => {
                        let value = if m.jsonvalue {
                            base64::engine::general_purpose::STANDARD.encode(val.to_string())
                        } else if inner.r#type == "timestamp" {
                            instant(val, k)?
                                .format("%a, %d %b %Y %H:%M:%S GMT")
                                .to_string()
                        } else if let Value::Array(items) = val {
                            items.iter().map(text).collect::<Vec<_>>().join(",")
                        } else {
                            scalar_text(inner, val, k)?
                        };
                        headers.push((wire, value));
                    }
                    Some("headers") => {
                        let Value::Object(m) = val else {
                            return Err(format!("the field '{k}' must be an object"));
                        };
                        for (hk, hv) in m {
                            headers.push((format!("{wire}{hk}"), text(hv)));
                        }
                    }
                    _ => {
                        body_params.insert(k.clone(), val.clone());
                    }
                }
            }
            // A label nobody filled is a required parameter missing.
            if let Some(start) = path.find('{') {
                let label = path[start + 1..].split('}').next().unwrap_or_default();
                let label = label.trim_end_matches('+');
                let name = shape
                    .members
                    .iter()
                    .find(|(n, m)| {
                        m.location.as_deref() == Some("uri")
                            && m.location_name.as_deref().unwrap_or(n) == label
                    })
                    .map(|(n, _)| super::upper_first(n))
                    .unwrap_or_else(|| label.to_owned());
                return Err(format!("the field '{name}' is required"));
            }
            match &shape.payload {
                Some(p) => {
                    let (pname, pm) = shape
                        .members
                        .get_key_value(p)
                        .ok_or_else(|| format!("the model names a payload {p} it does not have"))?;
                    let ps = shape_of(self.svc, &pm.shape)?;
                    let given = body_params
                        .iter()
                        .find(|(k, _)| member(shape, k).is_some_and(|(n, _)| n == pname))
                        .map(|(_, v)| v.clone());
                    if let Some(v) = given {
                        match ps.r#type.as_str() {
                            "blob" => {
                                body = blob(&v);
                                if !headers
                                    .iter()
                                    .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                                {
                                    headers.push((
                                        "content-type".to_owned(),
                                        "text/plain; charset=UTF-8".to_owned(),
                                    ));
                                }
                            }
                            "string" => body = text(&v).into_bytes(),
                            _ if xml => {
                                let root =
                                    pm.location_name.clone().unwrap_or_else(|| pname.clone());
                                let ns = pm.xml_namespace.as_ref().or(ps.xml_namespace.as_ref());
                                let mut w = Writer::new();
                                self.xml(
                                    &mut w,
                                    &root,
                                    ns.and_then(|n| n.uri.as_deref()),
                                    ps,
                                    &v,
                                    pname,
                                )?;
                                body = w.finish();
                                headers.push((
                                    "content-type".to_owned(),
                                    "application/xml".to_owned(),
                                ));
                            }
                            _ => {
                                body = self.json(ps, &v, true, pname)?.to_string().into_bytes();
                                headers.push((
                                    "content-type".to_owned(),
                                    "application/json".to_owned(),
                                ));
                            }
                        }
                    }
                }
                None => {
                    let has_body_members = shape.members.values().any(|m| m.location.is_none());
                    if xml {
                        if !body_params.is_empty() {
                            let root = op
                                .input
                                .as_ref()
                                .and_then(|i| i.location_name.clone())
                                .unwrap_or_else(|| {
                                    op.input
                                        .as_ref()
                                        .map(|i| i.shape.clone())
                                        .unwrap_or_default()
                                });
                            let ns = op.input.as_ref().and_then(|i| i.xml_namespace.as_ref());
                            let mut w = Writer::new();
                            self.xml(
                                &mut w,
                                &root,
                                ns.and_then(|n| n.uri.as_deref()),
                                shape,
                                &Value::Object(body_params),
                                "",
                            )?;
                            body = w.finish();
                            headers.push(("content-type".to_owned(), "application/xml".to_owned()));
                        }
                    } else if has_body_members {
                        body = self
                            .json(shape, &Value::Object(body_params), true, "")?
                            .to_string()
                            .into_bytes();
                        headers.push(("content-type".to_owned(), "application/json".to_owned()));
                    }
                }
            }
        }
        if !query.is_empty() {
            let q = query
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{}={}", encode(k, UNRESERVED), encode(v, UNRESERVED)),
                    None => encode(k, UNRESERVED),
                })
                .collect::<Vec<_>>()
                .join("&");
            path = format!("{path}?{q}");
        }
        Ok(Wire {
            method: op.http.method.clone(),
            path,
            headers,
            body,
        })
    }

    /// One XML element for `v` of `shape`.
    fn xml(
        &self,
        w: &mut Writer,
        name: &str,
        ns: Option<&str>,
        shape: &Shape,
        v: &Value,
        field: &str,
    ) -> Result<(), String> {
        match shape.r#type.as_str() {
            "structure" => {
                let Value::Object(o) = v else {
                    return Err(format!("the field '{field}' must be an object"));
                };
                let mut attributes = Vec::new();
                if let Some(ns) = ns {
                    attributes.push(("xmlns".to_owned(), ns.to_owned()));
                }
                let mut children = Vec::new();
                for (k, val) in o {
                    let Some((mname, m)) = member(shape, k) else {
                        return Err(unknown(k, field, shape));
                    };
                    if val.is_null() || m.location.is_some() {
                        continue;
                    }
                    let wire = m.location_name.clone().unwrap_or_else(|| mname.clone());
                    if m.xml_attribute {
                        attributes.push((wire, text(val)));
                    } else {
                        children.push((wire, m, val, k));
                    }
                }
                w.open(name, &attributes);
                for (wire, m, val, k) in children {
                    let inner = shape_of(self.svc, &m.shape)?;
                    let ns = m.xml_namespace.as_ref().and_then(|n| n.uri.as_deref());
                    if inner.r#type == "list" && (inner.flattened || m.flattened) {
                        let Value::Array(items) = val else {
                            return Err(format!("the field '{k}' must be an array"));
                        };
                        let em = element(inner, "member")?;
                        let es = shape_of(self.svc, &em.shape)?;
                        for item in items {
                            self.xml(w, &wire, None, es, item, k)?;
                        }
                    } else {
                        self.xml(w, &wire, ns, inner, val, k)?;
                    }
                }
                w.close(name);
            }
            "list" => {
                let Value::Array(items) = v else {
                    return Err(format!("the field '{field}' must be an array"));
                };
                let em = element(shape, "member")?;
                let es = shape_of(self.svc, &em.shape)?;
                let item_name = em.location_name.as_deref().unwrap_or("member");
                w.open(name, &[]);
                for item in items {
                    self.xml(w, item_name, None, es, item, field)?;
                }
                w.close(name);
            }
            "map" => {
                let Value::Object(o) = v else {
                    return Err(format!("the field '{field}' must be an object"));
                };
                let (km, vm) = (element(shape, "key")?, element(shape, "value")?);
                let vs = shape_of(self.svc, &vm.shape)?;
                w.open(name, &[]);
                for (k, val) in o {
                    w.open("entry", &[]);
                    w.leaf(km.location_name.as_deref().unwrap_or("key"), k);
                    self.xml(
                        w,
                        vm.location_name.as_deref().unwrap_or("value"),
                        None,
                        vs,
                        val,
                        k,
                    )?;
                    w.close("entry");
                }
                w.close(name);
            }
            "timestamp" => w.leaf(name, &iso(instant(v, field)?)),
            "blob" => w.leaf(
                name,
                &base64::engine::general_purpose::STANDARD.encode(match v {
                    Value::String(s) => s.as_bytes().to_vec(),
                    other => blob(other),
                }),
            ),
            _ => w.leaf(name, &text(v)),
        }
        Ok(())
    }
}

/// A scalar bound to the URI, query string or a header, as text.
fn scalar_text(shape: &Shape, v: &Value, field: &str) -> Result<String, String> {
    Ok(match shape.r#type.as_str() {
        "timestamp" => iso(instant(v, field)?),
        "blob" => base64::engine::general_purpose::STANDARD.encode(blob(v)),
        _ => text(v),
    })
}

fn element<'a>(shape: &'a Shape, which: &str) -> Result<&'a Member, String> {
    let m = match which {
        "member" => shape.member.as_deref(),
        "key" => shape.key.as_deref(),
        _ => shape.value.as_deref(),
    };
    m.ok_or_else(|| format!("a {} shape without its {which}", shape.r#type))
}

/// A parameter the operation does not have, with the ones it has.
fn unknown(key: &str, within: &str, shape: &Shape) -> String {
    let known: Vec<String> = shape
        .members
        .keys()
        .map(|k| super::upper_first(k))
        .collect();
    let at = if within.is_empty() {
        String::new()
    } else {
        format!(" in '{within}'")
    };
    format!(
        "the field '{key}'{at} is not a parameter of the API; its parameters are {}",
        known.join(", ")
    )
}
