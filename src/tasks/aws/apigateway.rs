//! `arn:aws:states:::apigateway:invoke`: an HTTPS call to an API Gateway endpoint
//! (`https://ApiEndpoint/Stage/Path?QueryParameters`), unsigned (`NO_AUTH`) or SigV4-signed
//! for `execute-api` (`IAM_ROLE`, `RESOURCE_POLICY`). A local endpoint is reached as the AWS
//! tools reach one: `AWS_ENDPOINT_URL_EXECUTE_API` (or `AWS_ENDPOINT_URL`, or the shared
//! config's `execute_api` / `endpoint_url`) replaces the scheme and host, and the request keeps
//! `Host: ApiEndpoint`, which LocalStack and moto route by.
//!
//! Invariant: the result is AWS's `{Headers, ResponseBody, StatusCode, StatusText}`; a
//! status outside 2xx fails the task as `ApiGateway.<status>` with the body as the cause.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use super::client::{self, Request, Signing};
use super::Aws;
use crate::tasks::SerdeResult as TaskResult;
use crate::vm::run::{json_text, Invocation};
use crate::vm::Failure;

/// Characters a path segment or query part keeps as they are (RFC 3986's unreserved).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// Headers Step Functions does not let a task send (AWS's list).
fn forbidden(header: &str) -> bool {
    let h = header.to_ascii_lowercase();
    h.starts_with("x-forwarded")
        || h.starts_with("x-amz")
        || [
            "authorization",
            "connection",
            "content-md5",
            "expect",
            "host",
            "max-forwards",
            "proxy-authenticate",
            "server",
            "te",
            "transfer-encoding",
            "trailer",
            "upgrade",
            "via",
            "www-authenticate",
        ]
        .contains(&h.as_str())
}

fn bad(inv: &Invocation, what: String) -> Failure {
    Failure::new(
        "States.Runtime",
        format!(
            "The state '{}' (arn:aws:states:::apigateway:invoke): {what}",
            inv.state
        ),
    )
}

/// `{name: [values]}` (a single value is taken as a list of one), as pairs.
fn multi(inv: &Invocation, field: &str) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    match inv.payload.to_serde().get(field) {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let values = match v {
                    Value::Array(vs) => vs.clone(),
                    other => vec![other.clone()],
                };
                for v in values {
                    let text = match v {
                        Value::String(s) => s,
                        other => json_text(&other),
                    };
                    out.push((k.clone(), text));
                }
            }
        }
        Some(other) => {
            return Err(bad(
                inv,
                format!("'{field}' must be an object of lists of strings, not {other}"),
            ))
        }
    }
    Ok(out)
}

/// Removes nulls from a request body (unless `AllowNullValues`).
fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(vs) => vs.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

pub(super) async fn invoke(aws: &Aws, inv: &Invocation, limit: Duration) -> TaskResult {
    let p = &inv.payload.to_serde();
    let Some(host) = p.get("ApiEndpoint").and_then(Value::as_str) else {
        return Err(bad(
            inv,
            "the field 'ApiEndpoint' (the API's host, as in abc123.execute-api.us-east-1.amazonaws.com) is required".to_owned(),
        ));
    };
    if host.contains("://") || host.contains('/') {
        return Err(bad(
            inv,
            format!("'ApiEndpoint' is a host name, without scheme or path, not '{host}' (a local endpoint is set with AWS_ENDPOINT_URL_EXECUTE_API)"),
        ));
    }
    let method = p.get("Method").and_then(Value::as_str).unwrap_or_default();
    if !METHODS.contains(&method) {
        return Err(bad(
            inv,
            format!(
                "'Method' must be one of {}, not '{method}'",
                METHODS.join(", ")
            ),
        ));
    }
    let auth = p
        .get("AuthType")
        .and_then(Value::as_str)
        .unwrap_or("NO_AUTH");
    if !["NO_AUTH", "IAM_ROLE", "RESOURCE_POLICY"].contains(&auth) {
        return Err(bad(
            inv,
            format!("'AuthType' must be NO_AUTH, IAM_ROLE or RESOURCE_POLICY, not '{auth}'"),
        ));
    }
    let mut path = String::new();
    for part in ["Stage", "Path"] {
        if let Some(s) = p.get(part).and_then(Value::as_str) {
            for seg in s.split('/').filter(|s| !s.is_empty()) {
                path.push('/');
                path.push_str(&utf8_percent_encode(seg, ENCODE).to_string());
            }
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    let query: Vec<String> = multi(inv, "QueryParameters")?
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, ENCODE),
                utf8_percent_encode(v, ENCODE)
            )
        })
        .collect();
    let mut headers = multi(inv, "Headers")?;
    if let Some((h, _)) = headers.iter().find(|(h, _)| forbidden(h)) {
        return Err(bad(inv, format!("the header '{h}' may not be set")));
    }
    let body = match p.get("RequestBody") {
        None => Vec::new(),
        Some(_) if !["POST", "PUT", "PATCH"].contains(&method) => {
            return Err(bad(
                inv,
                format!("'RequestBody' is sent with PATCH, POST and PUT only, not {method}"),
            ))
        }
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(v) => {
            let mut v = v.clone();
            if p.get("AllowNullValues").and_then(Value::as_bool) != Some(true) {
                drop_nulls(&mut v);
            }
            if !headers
                .iter()
                .any(|(h, _)| h.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
            }
            json_text(&v).into_bytes()
        }
    };
    let base = aws
        .config()
        .endpoint("Execute API")
        .unwrap_or_else(|| format!("https://{host}"));
    headers.push(("Host".to_owned(), host.to_owned()));
    let mut url = format!("{base}{path}");
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    let request = Request {
        method: method.to_owned(),
        url,
        headers,
        body,
    };
    let sent = if auth == "NO_AUTH" {
        client::send_unsigned(request, limit).await
    } else {
        let Some(credentials) = &aws.config().credentials else {
            return Err(Failure::new(
                "ApiGateway.SdkClientException",
                format!(
                    "Unable to load credentials for AuthType {auth}: {}",
                    aws.config().credential_sources()
                ),
            ));
        };
        // The API's region is in its host (ID.execute-api.REGION.amazonaws.com).
        let region = host
            .split('.')
            .skip_while(|s| *s != "execute-api")
            .nth(1)
            .unwrap_or(&aws.config().region)
            .to_owned();
        let signing = Signing {
            credentials,
            region: &region,
            service: "execute-api",
            s3: false,
        };
        client::send(request, &signing, limit).await
    };
    let response =
        sent.map_err(|e| Failure::new("ApiGateway.SdkClientException", e.to_string()))?;
    let text = String::from_utf8_lossy(&response.body).into_owned();
    if !(200..300).contains(&response.status) {
        return Err(Failure::new(
            format!("ApiGateway.{}", response.status),
            text,
        ));
    }
    let mut names = Map::new();
    for (k, v) in &response.headers {
        let name = super::optimized::header_name(k);
        match names.get_mut(&name) {
            Some(Value::Array(vs)) => vs.push(json!(v)),
            _ => {
                names.insert(name, json!([v]));
            }
        }
    }
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    let status_text = http::StatusCode::from_u16(response.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    Ok(json!({
        "Headers": names,
        "ResponseBody": body,
        "StatusCode": response.status,
        "StatusText": status_text,
    }))
}
