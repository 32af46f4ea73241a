//! The HTTP Task (`arn:aws:states:::http:invoke`): a Task's `ApiEndpoint`, `Method`, `Headers`,
//! `QueryParameters`, `RequestBody` and `Transform`, merged with its EventBridge connection's
//! authorization and invocation parameters, sent as one HTTP request; the answer in Step
//! Functions' shape (`Headers`, `ResponseBody`, `StatusCode`, `StatusText`), a status past 2xx as
//! `States.Http.StatusCode.NNN`. A connection comes from the connections file (`--connections`)
//! or from EventBridge (`DescribeConnection`, its secret from Secrets Manager).
//!
//! Invariant: a connection's secrets (API key value, password, OAuth client secret, invocation
//! parameter values) go only into the request sent; no error, log, result or page carries them.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use super::aws::client::{self, Request};
use super::aws::{models, protocol, Aws, CallError};
use super::SerdeResult as TaskResult;
pub use crate::asl::http_task::{forbidden_header, ARRAY_FORMATS, BODY_ENCODINGS, METHODS};
use crate::vm::Failure;

/// How much of a response Step Functions asks for (its `Range` header) and keeps.
const MAX_RESPONSE: usize = 262_144;
const SOCKET: &str = "States.Http.Socket";
const CONNECTION: &str = "Events.ConnectionResource";

/// A secret value: its `Debug` never shows it.
#[derive(Clone)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// Headers, query string and body parameters a connection adds to every request.
#[derive(Debug, Clone, Default)]
struct Params {
    headers: Vec<(String, Secret)>,
    query: Vec<(String, Secret)>,
    body: Vec<(String, Secret)>,
}

#[derive(Debug, Clone)]
enum Auth {
    ApiKey {
        name: String,
        value: Secret,
    },
    Basic {
        username: String,
        password: Secret,
    },
    ClientCredentials {
        endpoint: String,
        method: String,
        client_id: String,
        client_secret: Secret,
        params: Params,
    },
}

/// An EventBridge connection as the HTTP Task uses it.
#[derive(Debug, Clone)]
pub struct Connection {
    auth: Auth,
    invocation: Params,
}

/// The connections of the connections file, by ARN or by name.
#[derive(Debug, Default)]
pub struct Connections {
    by_key: HashMap<String, Connection>,
}

impl Connections {
    /// Reads a connections file: `{"Connections": {"ARN or name": {CreateConnection's
    /// AuthorizationType and AuthParameters}}}`. Errors name the file and the place.
    pub fn from_file(path: &Path) -> Result<Connections, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the connections file {}: {e}", path.display()))?;
        Connections::parse(&text).map_err(|e| format!("connections file {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Connections, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Some(top) = v.as_object() else {
            return Err("the file must be a JSON object with a \"Connections\" object".into());
        };
        if let Some(k) = top.keys().find(|k| *k != "Connections") {
            return Err(format!(
                "unknown field '{k}' at the top level (only \"Connections\")"
            ));
        }
        let Some(list) = top.get("Connections").and_then(Value::as_object) else {
            return Err("\"Connections\" must be an object of connections by ARN or name".into());
        };
        let mut by_key = HashMap::new();
        for (key, c) in list {
            let conn =
                Connection::from_create(c).map_err(|e| format!("/Connections/{key}: {e}"))?;
            by_key.insert(key.clone(), conn);
        }
        Ok(Connections { by_key })
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The connection an ARN names: by the whole ARN, else by its name
    /// (`arn:aws:events:REGION:ACCOUNT:connection/NAME/UUID`).
    fn get(&self, arn: &str) -> Option<&Connection> {
        self.by_key
            .get(arn)
            .or_else(|| connection_name(arn).and_then(|n| self.by_key.get(n)))
    }
}

/// `NAME` of `arn:aws:events:REGION:ACCOUNT:connection/NAME[/UUID]`.
fn connection_name(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":connection/")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// A key of `o` written in any of the casings AWS uses for it (`ApiKeyValue`, `api_key_value`,
/// `client_i_d` for `ClientID`).
fn field<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| *c != '_')
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let want = norm(name);
    o.iter().find(|(k, _)| norm(k) == want).map(|(_, v)| v)
}

fn text(o: &Map<String, Value>, name: &str, at: &str) -> Result<String, String> {
    match field(o, name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{at}/{name} must be a string")),
        None => Err(format!("{at}/{name} is required")),
    }
}

fn object<'a>(
    o: &'a Map<String, Value>,
    name: &str,
    at: &str,
) -> Result<&'a Map<String, Value>, String> {
    match field(o, name) {
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(format!("{at}/{name} must be an object")),
        None => Err(format!("{at}/{name} is required")),
    }
}

/// `{"HeaderParameters": [{"Key", "Value", "IsValueSecret"}], "QueryStringParameters": [...],
/// "BodyParameters": [...]}`.
fn params(v: Option<&Value>, at: &str) -> Result<Params, String> {
    let Some(v) = v else {
        return Ok(Params::default());
    };
    let Some(o) = v.as_object() else {
        return Err(format!("{at} must be an object"));
    };
    let list = |name: &str| -> Result<Vec<(String, Secret)>, String> {
        let Some(items) = field(o, name) else {
            return Ok(Vec::new());
        };
        let Some(items) = items.as_array() else {
            return Err(format!(
                "{at}/{name} must be an array of {{\"Key\", \"Value\"}}"
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let at = format!("{at}/{name}[{i}]");
                let p = p
                    .as_object()
                    .ok_or_else(|| format!("{at} must be an object"))?;
                let key = text(p, "Key", &at)?;
                let value = match field(p, "Value") {
                    Some(Value::String(s)) => s.clone(),
                    Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
                    Some(_) => return Err(format!("{at}/Value must be a string")),
                    None => return Err(format!("{at}/Value is required")),
                };
                Ok((key, Secret(value)))
            })
            .collect()
    };
    Ok(Params {
        headers: list("HeaderParameters")?,
        query: list("QueryStringParameters")?,
        body: list("BodyParameters")?,
    })
}

impl Connection {
    /// A connection in CreateConnection's shape: `AuthorizationType` and `AuthParameters`
    /// (`ApiKeyAuthParameters`, `BasicAuthParameters` or `OAuthParameters`, and
    /// `InvocationHttpParameters`).
    fn from_create(v: &Value) -> Result<Connection, String> {
        let o = v.as_object().ok_or("a connection must be an object")?;
        let kind = text(o, "AuthorizationType", "")?;
        let auth = object(o, "AuthParameters", "")?;
        let at = "/AuthParameters";
        let auth_kind = match kind.as_str() {
            "API_KEY" => {
                let p = object(auth, "ApiKeyAuthParameters", at)?;
                let at = format!("{at}/ApiKeyAuthParameters");
                Auth::ApiKey {
                    name: text(p, "ApiKeyName", &at)?,
                    value: Secret(text(p, "ApiKeyValue", &at)?),
                }
            }
            "BASIC" => {
                let p = object(auth, "BasicAuthParameters", at)?;
                let at = format!("{at}/BasicAuthParameters");
                Auth::Basic {
                    username: text(p, "Username", &at)?,
                    password: Secret(text(p, "Password", &at)?),
                }
            }
            "OAUTH_CLIENT_CREDENTIALS" => {
                let p = object(auth, "OAuthParameters", at)?;
                let at = format!("{at}/OAuthParameters");
                let client = object(p, "ClientParameters", &at)?;
                let cat = format!("{at}/ClientParameters");
                let method = text(p, "HttpMethod", &at)?;
                if !["GET", "POST", "PUT"].contains(&method.as_str()) {
                    return Err(format!("{at}/HttpMethod must be GET, POST or PUT"));
                }
                Auth::ClientCredentials {
                    endpoint: text(p, "AuthorizationEndpoint", &at)?,
                    method,
                    client_id: text(client, "ClientID", &cat)?,
                    client_secret: Secret(text(client, "ClientSecret", &cat)?),
                    params: params(
                        field(p, "OAuthHttpParameters"),
                        &format!("{at}/OAuthHttpParameters"),
                    )?,
                }
            }
            other => {
                return Err(format!(
                    "/AuthorizationType is '{other}'; it must be API_KEY, BASIC or OAUTH_CLIENT_CREDENTIALS"
                ))
            }
        };
        Ok(Connection {
            auth: auth_kind,
            invocation: params(
                field(auth, "InvocationHttpParameters"),
                "/AuthParameters/InvocationHttpParameters",
            )?,
        })
    }
}

/// What an HTTP Task asks for, read from its (evaluated) parameters.
struct Call {
    endpoint: String,
    method: String,
    connection_arn: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<Value>,
    url_encoded: bool,
    array_format: String,
}

fn bad(m: impl Into<String>) -> Failure {
    Failure::runtime(format!("http:invoke: {}", m.into()))
}

/// A header or query value: a string, number or boolean as its text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

fn read_call(p: &Value) -> Result<Call, Failure> {
    let Some(p) = p.as_object() else {
        return Err(bad("the parameters must be an object"));
    };
    const KNOWN: &[&str] = &[
        "ApiEndpoint",
        "Method",
        "Authentication",
        "InvocationConfig",
        "Headers",
        "QueryParameters",
        "RequestBody",
        "Transform",
    ];
    if let Some(k) = p.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown parameter '{k}'; the HTTP Task takes {}",
            KNOWN.join(", ")
        )));
    }
    let endpoint = match p.get("ApiEndpoint") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(bad("ApiEndpoint must be a string")),
        None => return Err(bad("the parameter ApiEndpoint is required")),
    };
    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
        || endpoint.parse::<http::Uri>().is_err()
    {
        return Err(bad(format!(
            "ApiEndpoint '{endpoint}' is not an http(s) URL"
        )));
    }
    let method = match p.get("Method") {
        Some(Value::String(s)) if METHODS.contains(&s.as_str()) => s.clone(),
        Some(v) => {
            return Err(bad(format!(
                "Method {v} is not one of {}",
                METHODS.join(", ")
            )))
        }
        None => return Err(bad("the parameter Method is required")),
    };
    let arn = ["Authentication", "InvocationConfig"]
        .iter()
        .find_map(|k| p.get(*k)?.get("ConnectionArn")?.as_str());
    let Some(connection_arn) = arn.map(str::to_owned) else {
        return Err(bad(
            "Authentication.ConnectionArn is required (the EventBridge connection that authorizes the call)",
        ));
    };
    let mut headers = Vec::new();
    match p.get("Headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                if forbidden_header(k) {
                    return Err(bad(format!(
                        "the header '{k}' cannot be set in an HTTP Task"
                    )));
                }
                let values = match v {
                    Value::Array(a) => a.iter().map(scalar).collect::<Option<Vec<_>>>(),
                    v => scalar(v).map(|s| vec![s]),
                };
                let Some(values) = values else {
                    return Err(bad(format!("the header '{k}' must be a string")));
                };
                headers.extend(values.into_iter().map(|s| (k.clone(), s)));
            }
        }
        Some(_) => return Err(bad("Headers must be an object")),
    }
    let mut query = Vec::new();
    match p.get("QueryParameters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(q)) => {
            for (k, v) in q {
                let values = match v {
                    Value::Null => Some(Vec::new()),
                    Value::Array(a) => a.iter().map(scalar).collect::<Option<Vec<_>>>(),
                    v => scalar(v).map(|s| vec![s]),
                };
                let Some(values) = values else {
                    return Err(bad(format!(
                        "the query parameter '{k}' must be a string, number, boolean or array of them"
                    )));
                };
                query.extend(values.into_iter().map(|s| (k.clone(), s)));
            }
        }
        Some(_) => return Err(bad("QueryParameters must be an object")),
    }
    let (mut url_encoded, mut array_format) = (false, "INDICES".to_owned());
    match p.get("Transform") {
        None | Some(Value::Null) => {}
        Some(Value::Object(t)) => {
            match t.get("RequestBodyEncoding") {
                None => {}
                Some(Value::String(e)) if BODY_ENCODINGS.contains(&e.as_str()) => {
                    url_encoded = e == "URL_ENCODED"
                }
                Some(v) => {
                    return Err(bad(format!(
                        "Transform.RequestBodyEncoding {v} is not NONE or URL_ENCODED"
                    )))
                }
            }
            if let Some(o) = t.get("RequestEncodingOptions") {
                match o.get("ArrayFormat") {
                    None => {}
                    Some(Value::String(f)) if ARRAY_FORMATS.contains(&f.as_str()) => {
                        array_format = f.clone()
                    }
                    Some(v) => {
                        return Err(bad(format!(
                            "Transform.RequestEncodingOptions.ArrayFormat {v} is not one of {}",
                            ARRAY_FORMATS.join(", ")
                        )))
                    }
                }
            }
        }
        Some(_) => return Err(bad("Transform must be an object")),
    }
    let body = p.get("RequestBody").cloned();
    if url_encoded && !matches!(body, None | Some(Value::Object(_))) {
        return Err(bad(
            "with Transform.RequestBodyEncoding URL_ENCODED, RequestBody must be a JSON object",
        ));
    }
    Ok(Call {
        endpoint,
        method,
        connection_arn,
        headers,
        query,
        body,
        url_encoded,
        array_format,
    })
}

/// Form encoding: everything but unreserved characters.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, FORM).to_string()
}

/// A JSON object as `application/x-www-form-urlencoded`: nested objects as `a[b]=c`, arrays
/// by `format` (`a[0]=x&a[1]=y`, `a[]=x&a[]=y`, `a=x&a=y` or `a=x,y`).
pub fn form_encode(body: &Map<String, Value>, format: &str) -> String {
    fn value_text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            v => v.to_string(),
        }
    }
    fn walk(key: &str, v: &Value, format: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    walk(&format!("{key}[{}]", enc(k)), v, format, out);
                }
            }
            Value::Array(items) => match format {
                "COMMAS" if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
                    let joined: Vec<String> = items.iter().map(|i| enc(&value_text(i))).collect();
                    out.push(format!("{key}={}", joined.join(",")));
                }
                _ => {
                    for (i, item) in items.iter().enumerate() {
                        let k = match format {
                            "BRACKETS" => format!("{key}[]"),
                            "REPEAT" => key.to_owned(),
                            _ => format!("{key}[{i}]"),
                        };
                        walk(&k, item, format, out);
                    }
                }
            },
            v => out.push(format!("{key}={}", enc(&value_text(v)))),
        }
    }
    let mut out = Vec::new();
    for (k, v) in body {
        walk(&enc(k), v, format, &mut out);
    }
    out.join("&")
}

/// The HTTP Task's call: connection, request, answer.
pub(crate) async fn invoke(aws: &Aws, payload: &Value, limit: Duration) -> TaskResult {
    let call = read_call(payload)?;
    let connection = match aws.connections().get(&call.connection_arn) {
        Some(c) => c.clone(),
        None => describe(aws, &call.connection_arn, limit).await?,
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    let set = |headers: &mut Vec<(String, String)>, k: &str, v: String| {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        headers.push((k.to_owned(), v));
    };
    // The task's headers, then the connection's, which win where both name one.
    headers.extend(call.headers.iter().cloned());
    for (k, v) in &connection.invocation.headers {
        set(&mut headers, k, v.0.clone());
    }
    let mut query: Vec<(String, String)> = call.query.clone();
    for (k, v) in &connection.invocation.query {
        query.retain(|(q, _)| q != k);
        query.push((k.clone(), v.0.clone()));
    }
    let mut body = call.body.clone();
    if !connection.invocation.body.is_empty() {
        let mut merged = match body {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(bad(format!(
                    "the connection {} adds body parameters, so RequestBody must be a JSON object",
                    call.connection_arn
                )))
            }
        };
        for (k, v) in &connection.invocation.body {
            merged.insert(k.clone(), json!(v.0));
        }
        body = Some(Value::Object(merged));
    }
    let bytes = match &body {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(m)) if call.url_encoded => {
            set(
                &mut headers,
                "Content-Type",
                "application/x-www-form-urlencoded".into(),
            );
            form_encode(m, &call.array_format).into_bytes()
        }
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(v) => v.to_string().into_bytes(),
    };
    if !bytes.is_empty()
        && !headers
            .iter()
            .any(|(h, _)| h.eq_ignore_ascii_case("content-type"))
    {
        headers.push((
            "Content-Type".into(),
            "application/json; charset=UTF-8".into(),
        ));
    }
    match &connection.auth {
        Auth::ApiKey { name, value } => set(&mut headers, name, value.0.clone()),
        Auth::Basic { username, password } => {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{}", password.0));
            set(&mut headers, "Authorization", format!("Basic {token}"));
        }
        Auth::ClientCredentials { .. } => {
            let token = oauth_token(&connection.auth, &call.connection_arn, limit).await?;
            set(&mut headers, "Authorization", format!("Bearer {token}"));
        }
    }
    set(
        &mut headers,
        "User-Agent",
        format!("Amazon|StepFunctions|HttpInvoke|{}", aws.config().region),
    );
    set(&mut headers, "Range", format!("bytes=0-{MAX_RESPONSE}"));
    let shown = call.endpoint.clone();
    let mut url = call.endpoint.clone();
    if !query.is_empty() {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&q.join("&"));
    }
    let request = Request {
        method: call.method.clone(),
        url: url.clone(),
        headers,
        body: bytes,
    };
    let response = match client::send_unsigned(request, limit).await {
        Ok(r) => r,
        // The Task's own TimeoutSeconds (or the execution's end) came first: a Task timeout,
        // as for any Task, not the HTTP Task's 60-second socket limit.
        Err(client::Error::Timeout { .. }) if limit < client::READ_TIMEOUT => {
            return Err(Failure::new(crate::vm::failure::TIMEOUT, ""))
        }
        // The URL may carry the connection's query parameters: errors show the endpoint only.
        Err(e) => return Err(Failure::new(SOCKET, e.to_string().replace(&url, &shown))),
    };
    result(&response)
}

/// The answer in Step Functions' shape, or `States.Http.StatusCode.NNN` past 2xx.
fn result(r: &client::Response) -> TaskResult {
    let media = r
        .header("content-type")
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if media == "application/octet-stream"
        || ["image/", "video/", "audio/"]
            .iter()
            .any(|p| media.starts_with(p))
    {
        return Err(bad(format!(
            "the response's content type {media} is not supported: an HTTP Task takes text answers only"
        )));
    }
    let body = &r.body[..r.body.len().min(MAX_RESPONSE)];
    let text = String::from_utf8_lossy(body).into_owned();
    let json_type = media == "application/json" || media.ends_with("+json");
    let response_body = match json_type {
        true => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        false => Value::String(text),
    };
    let mut headers = Map::new();
    for (k, v) in &r.headers {
        let entry = headers.entry(k.clone()).or_insert_with(|| json!([]));
        if let Value::Array(a) = entry {
            a.push(json!(v));
        }
    }
    let out = json!({
        "Headers": headers,
        "ResponseBody": response_body,
        "StatusCode": r.status,
        "StatusText": r.reason,
    });
    if (200..300).contains(&r.status) {
        Ok(out)
    } else {
        Err(Failure::new(
            format!("States.Http.StatusCode.{}", r.status),
            out.to_string(),
        ))
    }
}

/// An OAuth client-credentials token from the connection's authorization endpoint: the client
/// id and secret as HTTP Basic, the connection's OAuth parameters added, `access_token` read.
async fn oauth_token(auth: &Auth, arn: &str, limit: Duration) -> Result<String, Failure> {
    let Auth::ClientCredentials {
        endpoint,
        method,
        client_id,
        client_secret,
        params,
    } = auth
    else {
        return Err(bad("not an OAuth connection"));
    };
    let fail = |why: String| {
        Failure::new(
            format!("{CONNECTION}.InvalidConnectionState"),
            format!("The connection {arn} could not get an OAuth token from {endpoint}: {why}"),
        )
    };
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{client_id}:{}", client_secret.0));
    let mut headers = vec![("Authorization".to_owned(), format!("Basic {basic}"))];
    headers.extend(params.headers.iter().map(|(k, v)| (k.clone(), v.0.clone())));
    let mut form = Map::new();
    if !params.body.iter().any(|(k, _)| k == "grant_type") {
        form.insert("grant_type".into(), json!("client_credentials"));
    }
    for (k, v) in &params.body {
        form.insert(k.clone(), json!(v.0));
    }
    let mut url = endpoint.clone();
    if !params.query.is_empty() {
        let q: Vec<String> = params
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(&v.0)))
            .collect();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&q.join("&"));
    }
    let body = match method.as_str() {
        "GET" => Vec::new(),
        _ => {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            form_encode(&form, "INDICES").into_bytes()
        }
    };
    let request = Request {
        method: method.clone(),
        url: url.clone(),
        headers,
        body,
    };
    let r = client::send_unsigned(request, limit)
        .await
        .map_err(|e| fail(e.to_string().replace(&url, endpoint)))?;
    if !(200..300).contains(&r.status) {
        return Err(fail(format!("status {} {}", r.status, r.reason)));
    }
    let token: Option<String> = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v.get("access_token")?.as_str().map(str::to_owned));
    token.ok_or_else(|| fail("the answer has no access_token".into()))
}

/// A connection from EventBridge: `DescribeConnection` for its state, type and public
/// parameters; its secrets from the Secrets Manager secret EventBridge keeps them in
/// (`SecretArn`), as Step Functions reads them.
async fn describe(aws: &Aws, arn: &str, limit: Duration) -> Result<Connection, Failure> {
    let name = connection_name(arn).unwrap_or(arn);
    let not_found = |why: String| {
        Failure::new(
            format!("{CONNECTION}.ResourceNotFound"),
            format!(
                "The connection {arn} is not in the connections file (--connections) and {why}"
            ),
        )
    };
    if aws.config().credentials.is_none() {
        return Err(not_found(format!(
            "cannot be read from EventBridge: {}",
            aws.config().credential_sources()
        )));
    }
    let described = call(
        aws,
        "eventbridge",
        "DescribeConnection",
        json!({"Name": name}),
        limit,
    )
    .await
    .map_err(|(code, m)| match code.as_deref() {
        Some("ResourceNotFoundException") => {
            not_found(format!("EventBridge has no connection '{name}': {m}"))
        }
        _ => Failure::new(
            format!("{CONNECTION}.AccessDenied"),
            format!("DescribeConnection of {arn} failed: {m}"),
        ),
    })?;
    let state = described
        .get("ConnectionState")
        .and_then(Value::as_str)
        .unwrap_or("");
    match state {
        "AUTHORIZED" => {}
        "AUTHORIZING" => {
            return Err(Failure::new(
                format!("{CONNECTION}.AuthInProgress"),
                format!("The connection {arn} is AUTHORIZING"),
            ))
        }
        s => {
            return Err(Failure::new(
                format!("{CONNECTION}.InvalidConnectionState"),
                format!("The connection {arn} is {s}, not AUTHORIZED"),
            ))
        }
    }
    let secret_arn = described
        .get("SecretArn")
        .and_then(Value::as_str)
        .unwrap_or("");
    let denied = |m: String| {
        Failure::new(
            format!("{CONNECTION}.AccessDenied"),
            format!(
                "The credentials of connection {arn} (secret {secret_arn}) could not be read: {m}"
            ),
        )
    };
    let secret = call(
        aws,
        "secretsmanager",
        "GetSecretValue",
        json!({"SecretId": secret_arn}),
        limit,
    )
    .await
    .map_err(|(_, m)| denied(m))?;
    let secret: Value = secret
        .get("SecretString")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| denied("the secret is not a JSON object".into()))?;
    let merged = overlay(&described, &secret);
    // The secret's values reach no message: a shape error names the field only.
    Connection::from_create(&merged).map_err(|e| denied(format!("the connection lacks {e}")))
}

/// DescribeConnection's answer with the secret's values (EventBridge keeps them there, in
/// snake_case: `api_key_value`, `password`, `client_parameters.client_secret`,
/// `invocation_http_parameters`) put in CreateConnection's shape.
fn overlay(described: &Value, secret: &Value) -> Value {
    let mut out = json!({
        "AuthorizationType": described.get("AuthorizationType").cloned().unwrap_or(Value::Null),
        "AuthParameters": described.get("AuthParameters").cloned().unwrap_or(json!({})),
    });
    let Some(s) = secret.as_object() else {
        return out;
    };
    let auth = out["AuthParameters"].as_object_mut().expect("an object");
    let mut put = |group: &str, name: &str, v: Option<&Value>| {
        if let Some(v) = v {
            let g = auth.entry(group).or_insert_with(|| json!({}));
            if let Some(g) = g.as_object_mut() {
                g.insert(name.to_owned(), v.clone());
            }
        }
    };
    put("ApiKeyAuthParameters", "ApiKeyName", field(s, "ApiKeyName"));
    put(
        "ApiKeyAuthParameters",
        "ApiKeyValue",
        field(s, "ApiKeyValue"),
    );
    put("BasicAuthParameters", "Username", field(s, "Username"));
    put("BasicAuthParameters", "Password", field(s, "Password"));
    for name in [
        "AuthorizationEndpoint",
        "HttpMethod",
        "ClientParameters",
        "OAuthHttpParameters",
    ] {
        put("OAuthParameters", name, field(s, name));
    }
    if let Some(i) = field(s, "InvocationHttpParameters") {
        auth.insert("InvocationHttpParameters".into(), i.clone());
    }
    out
}

/// One AWS API call for the connection: its result, or the error code and a message.
async fn call(
    aws: &Aws,
    sdk: &str,
    op: &str,
    params: Value,
    limit: Duration,
) -> Result<Value, (Option<String>, String)> {
    let Some(svc) = models::service::service(sdk) else {
        return Err((None, format!("statejet's models lack {sdk}")));
    };
    match aws.send(&svc, op, &params, limit).await {
        Ok(r) if r.status < 300 => {
            protocol::result(&svc, &svc.operations[op], &r).map_err(|e| (None, e))
        }
        Ok(r) => {
            let e = protocol::error(&svc, &r);
            Err((Some(e.code.clone()), format!("{}: {}", e.code, e.message)))
        }
        Err(CallError::Parameters(m) | CallError::Client(m)) => Err((None, m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_follows_the_array_format() {
        let body = json!({"array": ["a", "b", "c"], "n": 1, "o": {"k": "v w"}});
        let m = body.as_object().unwrap();
        assert_eq!(
            form_encode(m, "INDICES"),
            "array[0]=a&array[1]=b&array[2]=c&n=1&o[k]=v%20w"
        );
        assert_eq!(
            form_encode(m, "BRACKETS"),
            "array[]=a&array[]=b&array[]=c&n=1&o[k]=v%20w"
        );
        assert_eq!(
            form_encode(m, "REPEAT"),
            "array=a&array=b&array=c&n=1&o[k]=v%20w"
        );
        assert_eq!(form_encode(m, "COMMAS"), "array=a,b,c&n=1&o[k]=v%20w");
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Connections::parse(
            r#"{"Connections": {"c": {"AuthorizationType": "API_KEY", "AuthParameters":
            {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cr3t"}}}}}"#,
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn bad_connections_name_the_place() {
        let e = Connections::parse(
            r#"{"Connections": {"c": {"AuthorizationType": "BASIC", "AuthParameters":
            {"BasicAuthParameters": {"Username": "u"}}}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "/Connections/c: /AuthParameters/BasicAuthParameters/Password is required"
        );
    }
}
