//! The HTTP Task's parameters (`arn:aws:states:::http:invoke`) as validation checks them: the
//! required `ApiEndpoint`, `Method` and connection, and the values a literal field may hold
//! (methods, headers a Task may not set, `Transform`'s encodings). `tasks::http` checks the
//! same rules again on the evaluated parameters, where a field was dynamic.
//!
//! Invariant: only literal values are judged here; a `.$` field or a JSONata string is left to
//! the run.

use serde_json::{Map, Value};

use super::context::Ctx;
use super::diagnostic::Pointer;
use super::machine::QueryLanguage;
use super::message;
use super::reader::Object;

/// The methods an HTTP Task may use.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
/// `Transform.RequestBodyEncoding`'s values.
pub const BODY_ENCODINGS: &[&str] = &["NONE", "URL_ENCODED"];
/// `Transform.RequestEncodingOptions.ArrayFormat`'s values (INDICES by default).
pub const ARRAY_FORMATS: &[&str] = &["BRACKETS", "COMMAS", "INDICES", "REPEAT"];
/// Whether an HTTP Task may not set header `name` (Step Functions sets or forbids these:
/// hop-by-hop and caching headers, the authorization the connection owns, AWS's own).
pub fn forbidden_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    const NAMES: &[&str] = &[
        "a-im",
        "accept-charset",
        "accept-datetime",
        "accept-encoding",
        "authorization",
        "cache-control",
        "connection",
        "content-encoding",
        "content-length",
        "content-md5",
        "date",
        "expect",
        "forwarded",
        "from",
        "host",
        "http2-settings",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "max-forwards",
        "origin",
        "pragma",
        "proxy-authorization",
        "range",
        "referer",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "via",
        "warning",
    ];
    NAMES.contains(&n.as_str())
        || n.starts_with("x-forwarded-")
        || n.starts_with("x-amz-")
        || n.starts_with("x-amzn-")
}

/// Checks an HTTP Task's `Parameters` (JSONPath) or `Arguments` (JSONata), if literal.
pub(super) fn check(o: &Object, lang: QueryLanguage, ctx: &mut Ctx) {
    let key = match lang {
        QueryLanguage::JsonPath => "Parameters",
        QueryLanguage::Jsonata => "Arguments",
    };
    let at = o.at_key(key);
    let p = match o.peek(key) {
        Some(Value::Object(p)) => p,
        // A JSONata string is evaluated at run time; another type is the reader's to report.
        Some(_) => return,
        None => {
            ctx.d.schema(message::required_field(key), o.at());
            return;
        }
    };
    let dynamic = |v: &Value| lang == QueryLanguage::Jsonata && is_jsonata(v);
    // The field itself, or (JSONPath) its `.$` form.
    let get = |name: &str| -> Option<(Option<&Value>, Pointer)> {
        if let Some(v) = p.get(name) {
            return Some((Some(v), at.key(name)));
        }
        let dollar = format!("{name}.$");
        (lang == QueryLanguage::JsonPath && p.contains_key(&dollar))
            .then(|| (None, at.key(&dollar)))
    };
    for f in ["ApiEndpoint", "Method"] {
        if get(f).is_none() {
            ctx.d.schema(message::required_field(f), &at);
        }
    }
    if let Some((Some(v), vat)) = get("Method") {
        if !dynamic(v) && !v.as_str().is_some_and(|m| METHODS.contains(&m)) {
            ctx.d
                .schema(message::not_one_of("Method", v, METHODS), &vat);
        }
    }
    if let Some((Some(v), vat)) = get("ApiEndpoint") {
        let url = v.as_str().unwrap_or("");
        if !(dynamic(v) || url.starts_with("https://") || url.starts_with("http://")) {
            ctx.d.schema(message::http_endpoint(v), &vat);
        }
    }
    // The connection: `Authentication` (public APIs) or `InvocationConfig` (private ones).
    let connection = ["Authentication", "InvocationConfig"]
        .into_iter()
        .find_map(&get);
    match connection {
        None => ctx.d.schema(message::required_field("Authentication"), &at),
        Some((Some(Value::Object(c)), cat)) => {
            let has = c.contains_key("ConnectionArn")
                || (lang == QueryLanguage::JsonPath && c.contains_key("ConnectionArn.$"));
            if !has {
                ctx.d.schema(message::required_field("ConnectionArn"), &cat);
            }
        }
        Some(_) => {}
    }
    if let Some((Some(Value::Object(h)), hat)) = get("Headers") {
        for name in h.keys() {
            let bare = match lang {
                QueryLanguage::JsonPath => name.strip_suffix(".$").unwrap_or(name),
                QueryLanguage::Jsonata => name,
            };
            if forbidden_header(bare) {
                ctx.d.schema(message::http_header(bare), &hat.key(name));
            }
        }
    }
    if let Some((Some(Value::Object(t)), tat)) = get("Transform") {
        check_enum(t, "RequestBodyEncoding", BODY_ENCODINGS, &tat, lang, ctx);
        if let Some(Value::Object(opts)) = t.get("RequestEncodingOptions") {
            let oat = tat.key("RequestEncodingOptions");
            check_enum(opts, "ArrayFormat", ARRAY_FORMATS, &oat, lang, ctx);
        }
    }
}

fn check_enum(
    o: &Map<String, Value>,
    name: &str,
    allowed: &[&str],
    at: &Pointer,
    lang: QueryLanguage,
    ctx: &mut Ctx,
) {
    let Some(v) = o.get(name) else { return };
    if lang == QueryLanguage::Jsonata && is_jsonata(v) {
        return;
    }
    if !v.as_str().is_some_and(|s| allowed.contains(&s)) {
        ctx.d
            .schema(message::not_one_of(name, v, allowed), &at.key(name));
    }
}

fn is_jsonata(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.starts_with("{%") && s.ends_with("%}"))
}
