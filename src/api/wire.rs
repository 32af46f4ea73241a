//! The AWS JSON 1.0 wire: request bodies read field by field with AWS's validation messages,
//! errors as `{"__type", "message"}`, timestamps as epoch seconds, and ARNs.
//!
//! Invariant: every way a request can be wrong maps to one `ApiError` with AWS's error name;
//! nothing here panics on client input.

use serde_json::{Map, Value};

/// An error answer: AWS's shape name, its message and the HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

impl ApiError {
    /// A client error (HTTP 400), the status of every modelled Step Functions error.
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            status: 400,
        }
    }

    pub fn with_status(mut self, status: u16) -> ApiError {
        self.status = status;
        self
    }

    /// The response body.
    pub fn body(&self) -> Value {
        serde_json::json!({"__type": self.code, "message": self.message})
    }

    /// `ValidationException` in the form AWS's request validation words it.
    pub fn constraint(value: &str, field: &str, constraint: &str) -> ApiError {
        ApiError::new(
            "ValidationException",
            format!("1 validation error detected: Value {value} at '{field}' failed to satisfy constraint: {constraint}"),
        )
    }

    pub fn invalid_arn(arn: &str, why: &str) -> ApiError {
        ApiError::new("InvalidArn", format!("Invalid Arn: '{why}{arn}'"))
    }
}

mod read;

use std::borrow::Cow;

use read::{Member, Text};

/// A request body: a JSON object whose fields are taken with their expected types.
///
/// Its fields are kept in a vector searched in order, the way they arrive: a request has a
/// handful, and serde_json's `Map` hashed each key with SipHash on insert and on every read,
/// and allocated a table per request. Past `FEW_FIELDS` (no operation has that many) the
/// fields go to a `Map`, so that a body of many keys costs no quadratic search. A body is read
/// by `read` (strings borrowed from it where they can be), or by serde_json where `read`
/// declines.
pub struct Input<'a>(Fields<'a>);

enum Fields<'a> {
    Few(Vec<(Cow<'a, str>, Member<'a>)>),
    Many(Map<String, Value>),
}

/// The most fields an `Input` searches in order.
const FEW_FIELDS: usize = 16;

/// A field as the typed accessors see it: a string (however it was read), or another value.
#[derive(Clone, Copy)]
enum Field<'v> {
    Text(&'v str),
    Value(&'v Value),
}

impl<'v> Field<'v> {
    fn of(v: &'v Value) -> Field<'v> {
        match v {
            Value::String(s) => Field::Text(s),
            v => Field::Value(v),
        }
    }
}

impl<'a> Fields<'a> {
    #[inline]
    fn get(&self, field: &str) -> Option<Field<'_>> {
        match self {
            Fields::Few(v) => v.iter().find(|(k, _)| k == field).map(|(_, m)| match m {
                Member::Text(t) => Field::Text(&t.value),
                Member::Value(v) => Field::of(v),
            }),
            Fields::Many(m) => m.get(field).map(Field::of),
        }
    }

    /// Adds a field; a repeated key keeps its first place and its last value, as `Map` does.
    fn insert(&mut self, key: Cow<'a, str>, value: Member<'a>) {
        match self {
            Fields::Few(v) => match v.iter().position(|(k, _)| *k == key) {
                Some(at) => v[at].1 = value,
                None if v.len() < FEW_FIELDS => v.push((key, value)),
                None => {
                    let mut m: Map<String, Value> = std::mem::take(v)
                        .into_iter()
                        .map(|(k, m)| (k.into_owned(), member_value(m)))
                        .collect();
                    m.insert(key.into_owned(), member_value(value));
                    *self = Fields::Many(m);
                }
            },
            Fields::Many(m) => {
                m.insert(key.into_owned(), member_value(value));
            }
        }
    }
}

fn member_value(m: Member<'_>) -> Value {
    match m {
        Member::Text(t) => Value::String(t.value.into_owned()),
        Member::Value(v) => v,
    }
}

/// A request body as parsed by serde_json: its fields if it is a JSON object, `None` for any
/// other value.
struct Body(Option<Fields<'static>>);

impl<'de> serde::Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Body, D::Error> {
        d.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> serde::de::Visitor<'de> for BodyVisitor {
    type Value = Body;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        let mut fields = Fields::Few(Vec::with_capacity(map.size_hint().unwrap_or(4).min(8)));
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Value>()?;
            fields.insert(Cow::Owned(key), Member::Value(value));
        }
        Ok(Body(Some(fields)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Body(None))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Body, E> {
        Ok(Body(None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Body, E> {
        Ok(Body(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Body, E> {
        Ok(Body(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Body, E> {
        Ok(Body(None))
    }

    fn visit_str<E>(self, _: &str) -> Result<Body, E> {
        Ok(Body(None))
    }

    fn visit_unit<E>(self) -> Result<Body, E> {
        Ok(Body(None))
    }
}

impl<'a> Input<'a> {
    /// Parses a request body; an empty body is an empty request, as AWS accepts it.
    pub fn parse(body: &'a [u8]) -> Result<Input<'a>, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Input(Fields::Few(Vec::new())));
        }
        if let Some(members) = read::object(body) {
            // Distinct keys (what clients send) are the fields as they are.
            let distinct = members.len() <= FEW_FIELDS
                && (1..members.len()).all(|i| members[..i].iter().all(|(k, _)| *k != members[i].0));
            if distinct {
                return Ok(Input(Fields::Few(members)));
            }
            let mut fields = Fields::Few(Vec::with_capacity(members.len().min(FEW_FIELDS)));
            for (k, m) in members {
                fields.insert(k, m);
            }
            return Ok(Input(fields));
        }
        match serde_json::from_slice::<Body>(body) {
            Ok(Body(Some(fields))) => Ok(Input(fields)),
            Ok(Body(None)) => Err(ApiError::new(
                "SerializationException",
                "The request body must be a JSON object",
            )),
            Err(e) => Err(ApiError::new(
                "SerializationException",
                format!("The request body is not valid JSON: {e}"),
            )),
        }
    }

    /// A request body given as a JSON value (tests call `Api::call` so); in-process callers use
    /// the registry's typed operations instead.
    pub fn from_value(v: Value) -> Input<'static> {
        match v {
            Value::Object(m) => Input(Fields::Many(m)),
            _ => Input(Fields::Few(Vec::new())),
        }
    }

    /// An optional string field (JSON null counts as absent, as AWS's deserializer treats it).
    #[inline]
    pub fn string(&self, field: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(field) {
            Some(Field::Text(s)) => Ok(Some(s)),
            Some(Field::Value(v)) => string_value(Some(v)),
            None => Ok(None),
        }
    }

    /// A string field's text as the request wrote it between its quotes, when that is how
    /// serde_json escapes the string (an answer may copy it as it is); `None` otherwise.
    pub fn written(&self, field: &str) -> Option<&str> {
        match &self.0 {
            Fields::Few(v) => match v.iter().find(|(k, _)| k == field) {
                Some((_, Member::Text(Text { written, .. }))) => *written,
                _ => None,
            },
            Fields::Many(_) => None,
        }
    }

    /// A required string field.
    #[inline]
    pub fn required(&self, field: &str) -> Result<&str, ApiError> {
        self.string(field)?
            .ok_or_else(|| ApiError::constraint("null", field, "Member must not be null"))
    }

    pub fn bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(field) {
            Some(Field::Text(s)) => bool_text(s).map(Some),
            Some(Field::Value(v)) => bool_value(Some(v)),
            None => Ok(None),
        }
    }

    pub fn integer(&self, field: &str) -> Result<Option<i64>, ApiError> {
        match self.0.get(field) {
            Some(Field::Text(_)) => Err(serialization(
                "STRING_VALUE can not be converted to an Integer",
            )),
            Some(Field::Value(v)) => integer_value(Some(v)),
            None => Ok(None),
        }
    }

    pub fn object(&self, field: &str) -> Result<Option<&Map<String, Value>>, ApiError> {
        match self.0.get(field) {
            Some(Field::Text(_)) => Err(serialization("Expected null")),
            Some(Field::Value(v)) => object_value(Some(v)),
            None => Ok(None),
        }
    }

    pub fn array(&self, field: &str) -> Result<Option<&Vec<Value>>, ApiError> {
        match self.0.get(field) {
            Some(Field::Text(_)) => Err(serialization("Expected list or null")),
            Some(Field::Value(v)) => array_value(Some(v)),
            None => Ok(None),
        }
    }

    /// A string field that must be no longer than `max` characters.
    pub fn bounded(&self, field: &str, max: usize) -> Result<Option<&str>, ApiError> {
        let s = self.string(field)?;
        if let Some(s) = s {
            if s.chars().count() > max {
                return Err(ApiError::constraint(
                    &format!("'{}'", abbreviate(s)),
                    field,
                    &format!("Member must have length less than or equal to {max}"),
                ));
            }
        }
        Ok(s)
    }
}

/// AWS's deserializer's error for a value of the wrong JSON type (Coral's words, as recorded
/// against AWS's JSON services by dynalite and floci).
fn serialization(message: &str) -> ApiError {
    ApiError::new("SerializationException", message)
}

/// The deserializer's name for a scalar's JSON type.
fn scalar_kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "STRING_VALUE",
        Value::Number(_) => "NUMBER_VALUE",
        Value::Bool(true) => "TRUE_VALUE",
        Value::Bool(false) => "FALSE_VALUE",
        _ => "NULL_VALUE",
    }
}

/// A list or an object where a scalar belongs.
fn unexpected_start(v: &Value) -> ApiError {
    if v.is_array() {
        serialization("Start of list found where not expected")
    } else {
        serialization("Start of structure or map found where not expected.")
    }
}

/// A string member (absent and null are `None`).
pub fn string_value(v: Option<&Value>) -> Result<Option<&str>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Err(serialization(&format!(
            "{} can not be converted to a String",
            scalar_kind(v)
        ))),
        Some(v) => Err(unexpected_start(v)),
    }
}

/// A boolean member; the deserializer also takes the strings it reads as booleans.
pub fn bool_value(v: Option<&Value>) -> Result<Option<bool>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => bool_text(s).map(Some),
        Some(Value::Number(_)) => Err(serialization(
            "NUMBER_VALUE can not be converted to a Boolean",
        )),
        Some(v) => Err(unexpected_start(v)),
    }
}

/// A boolean member given as a string, as the deserializer reads it.
fn bool_text(s: &str) -> Result<bool, ApiError> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "t" | "1" => Ok(true),
        "false" | "no" | "n" | "f" | "0" => Ok(false),
        _ => Err(serialization(
            "STRING_VALUE can not be converted to an Boolean",
        )),
    }
}

/// An integer member; a fractional number is truncated, as the deserializer does.
pub fn integer_value(v: Option<&Value>) -> Result<Option<i64>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            Ok(Some(n.as_i64().unwrap_or_else(|| {
                n.as_f64().unwrap_or(0.0).trunc() as i64
            })))
        }
        Some(v @ (Value::String(_) | Value::Bool(_))) => Err(serialization(&format!(
            "{} can not be converted to an Integer",
            scalar_kind(v)
        ))),
        Some(v) => Err(unexpected_start(v)),
    }
}

/// A structure member.
pub fn object_value(v: Option<&Value>) -> Result<Option<&Map<String, Value>>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(Value::Array(_)) => Err(serialization("Start of list found where not expected")),
        Some(_) => Err(serialization("Expected null")),
    }
}

/// A list member.
pub fn array_value(v: Option<&Value>) -> Result<Option<&Vec<Value>>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(Value::Object(_)) => Err(serialization(
            "Start of structure or map found where not expected.",
        )),
        Some(_) => Err(serialization("Expected list or null")),
    }
}

/// A string's length within the model's bounds, in AWS's validation words.
pub fn check_length(value: &str, field: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = value.chars().count();
    let constraint = if n < min {
        format!("Member must have length greater than or equal to {min}")
    } else if n > max {
        format!("Member must have length less than or equal to {max}")
    } else {
        return Ok(());
    };
    Err(ApiError::constraint(
        &format!("'{}'", abbreviate(value)),
        field,
        &constraint,
    ))
}

/// A role ARN as `CreateStateMachine` and `UpdateStateMachine` take it: the model's `Arn`
/// shape (1 to 256 characters), then the form of an IAM role,
/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
pub fn check_role_arn(role: &str, field: &str) -> Result<(), ApiError> {
    check_length(role, field, 1, 256)?;
    let parts: Vec<&str> = role.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || !parts[1].starts_with("aws") {
        return Err(ApiError::invalid_arn(role, "Invalid ARN prefix: "));
    }
    let account_ok = parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit());
    let name = parts[5].strip_prefix("role/").unwrap_or("");
    let name = name.rsplit('/').next().unwrap_or("");
    if parts[2] != "iam" || !parts[3].is_empty() || !account_ok || name.is_empty() {
        return Err(ApiError::invalid_arn(
            role,
            "Not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME): ",
        ));
    }
    Ok(())
}

/// `publish` and `versionDescription` of `CreateStateMachine`/`UpdateStateMachine`: typed and
/// bounded as the model says, a description only with `publish` (AWS's rule).
pub fn check_publish<'i>(i: &'i Input<'_>) -> Result<(bool, Option<&'i str>), ApiError> {
    let publish = i.bool("publish")?.unwrap_or(false);
    let description = i.string("versionDescription")?;
    if let Some(d) = description {
        check_length(d, "versionDescription", 0, 256)?;
        if !publish {
            return Err(ApiError::new(
                "ValidationException",
                "Version description can only be set when publish is true",
            ));
        }
    }
    Ok((publish, description))
}

/// `encryptionConfiguration`, typed and bounded as the model says. AWS-owned keys (the default)
/// are what statejet's memory-only state amounts to; a customer managed KMS key is refused,
/// since statejet has no KMS to use it with.
pub fn check_encryption(i: &Input<'_>) -> Result<(), ApiError> {
    let Some(config) = i.object("encryptionConfiguration")? else {
        return Ok(());
    };
    let field = |name: &str| format!("encryptionConfiguration.{name}");
    let kind = string_value(config.get("type"))?
        .ok_or_else(|| ApiError::constraint("null", &field("type"), "Member must not be null"))?;
    if let Some(key) = string_value(config.get("kmsKeyId"))? {
        check_length(key, &field("kmsKeyId"), 1, 2048)?;
    }
    if let Some(period) = integer_value(config.get("kmsDataKeyReusePeriodSeconds"))? {
        let constraint = if period < 60 {
            "Member must have value greater than or equal to 60"
        } else if period > 900 {
            "Member must have value less than or equal to 900"
        } else {
            ""
        };
        if !constraint.is_empty() {
            return Err(ApiError::constraint(
                &format!("'{period}'"),
                &field("kmsDataKeyReusePeriodSeconds"),
                constraint,
            ));
        }
    }
    match kind {
        "AWS_OWNED_KEY" => Ok(()),
        "CUSTOMER_MANAGED_KMS_KEY" => Err(ApiError::new(
            "InvalidEncryptionConfiguration",
            "statejet has no KMS: a customer managed KMS key cannot be used; use type AWS_OWNED_KEY",
        )),
        other => Err(ApiError::constraint(
            &format!("'{other}'"),
            &field("type"),
            "Member must satisfy enum value set: [AWS_OWNED_KEY, CUSTOMER_MANAGED_KMS_KEY]",
        )),
    }
}

/// A long value as AWS quotes it in validation messages: the start of it.
fn abbreviate(s: &str) -> String {
    if s.chars().count() <= 64 {
        s.to_owned()
    } else {
        let head: String = s.chars().take(64).collect();
        format!("{head}...")
    }
}

/// Epoch milliseconds as the protocol's timestamp: epoch seconds, fractional.
pub fn timestamp(ms: u64) -> Value {
    Value::from(ms as f64 / 1000.0)
}

/// A JSON object written straight to its text, for answers on the hot path (`StartSyncExecution`):
/// no `Map` to build, hash and drop. Keys are the caller's literals (written as given, so they
/// must need no escaping); values are escaped and formatted exactly as serde_json writes a `Value`.
///
/// The methods that write a key are inlined, so that each key's length is a constant where it
/// is written and its copy is a few moves, not a `memcpy` call (13 keys per answer); what they
/// write after it is out of line.
pub struct ObjectText {
    text: Vec<u8>,
    /// Where the innermost open object's `{` is (`nested`): a key after it takes a comma.
    open: usize,
}

impl ObjectText {
    pub fn with_capacity(capacity: usize) -> ObjectText {
        let mut text = Vec::with_capacity(capacity);
        text.push(b'{');
        ObjectText { text, open: 0 }
    }

    #[inline(always)]
    fn key(&mut self, key: &'static str) {
        debug_assert!(!key.contains(['"', '\\']) && !key.chars().any(char::is_control));
        if self.text.len() > self.open + 1 {
            self.text.push(b',');
        }
        self.text.push(b'"');
        self.text.extend_from_slice(key.as_bytes());
        self.text.extend_from_slice(b"\":");
    }

    /// A field whose value is a string.
    #[inline]
    pub fn str(&mut self, key: &'static str, value: &str) {
        self.key(key);
        self.string(value);
    }

    /// A string value, escaped as serde_json escapes it.
    fn string(&mut self, value: &str) {
        // Most strings here (ARNs, names, statuses) need no escape: copied as they are.
        // Writing a `str` to a `Vec` cannot fail.
        self.text.push(b'"');
        if push_plain(&mut self.text, value) {
            self.text.push(b'"');
        } else {
            self.text.pop();
            let _ = serde_json::to_writer(&mut self.text, value);
        }
    }

    /// A string field whose escaped text is already at hand (`Input::written`): copied whole
    /// between its quotes, with no scan.
    #[inline]
    pub fn written_str(&mut self, key: &'static str, written: &str) {
        self.key(key);
        self.quoted(written);
    }

    fn quoted(&mut self, written: &str) {
        self.text.push(b'"');
        self.text.extend_from_slice(written.as_bytes());
        self.text.push(b'"');
    }

    /// A field whose value is the JSON text of `value`, as a string (`"output"`): the text is
    /// written escaped as it is serialized, with no text of its own to build and scan again.
    /// Equal to `str(key, &to_string(value))` (`Nested`). Only the tests call it now, as the
    /// reference `value_string`'s own walk is held to.
    #[cfg(test)]
    pub fn json_string(&mut self, key: &'static str, value: &impl serde::Serialize) {
        self.key(key);
        self.text.push(b'"');
        let _ = value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut self.text,
            Nested,
        ));
        self.text.push(b'"');
    }

    /// `json_string` of a statejet value (the output), written by a walk of its own: equal to
    /// what serde_json's serializer writes through `Nested`, without a call through the
    /// serializer and its formatter per token (about half the instructions for an output like
    /// `pass10`'s). Strings that need an escape, and fractional numbers, are still written by
    /// serde_json, so every escape and every float's digits are its own.
    #[inline]
    pub fn value_string(&mut self, key: &'static str, value: &crate::value::Value) {
        self.key(key);
        self.text.push(b'"');
        self.nested_value(value);
        self.text.push(b'"');
    }

    fn nested_value(&mut self, value: &crate::value::Value) {
        use crate::value::Value as V;
        match value {
            V::Null => self.text.extend_from_slice(b"null"),
            V::Bool(true) => self.text.extend_from_slice(b"true"),
            V::Bool(false) => self.text.extend_from_slice(b"false"),
            V::Number(n) => {
                if let Some(u) = n.as_u64() {
                    self.text
                        .extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
                } else if let Some(i) = n.as_i64() {
                    self.text
                        .extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
                } else {
                    // A float's text has no character to escape.
                    let _ = serde_json::to_writer(&mut self.text, n);
                }
            }
            V::String(s) => self.nested_str(s),
            V::Array(items) => {
                self.text.push(b'[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        self.text.push(b',');
                    }
                    self.nested_value(item);
                }
                self.text.push(b']');
            }
            V::Object(fields) => {
                self.text.push(b'{');
                for (n, (k, v)) in fields.iter().enumerate() {
                    if n > 0 {
                        self.text.push(b',');
                    }
                    self.nested_str(k);
                    self.text.push(b':');
                    self.nested_value(v);
                }
                self.text.push(b'}');
            }
        }
    }

    /// A string of a value inside a string: its quotes escaped, and its escapes once more.
    fn nested_str(&mut self, s: &str) {
        self.text.extend_from_slice(b"\\\"");
        if push_plain(&mut self.text, s) {
            self.text.extend_from_slice(b"\\\"");
        } else {
            self.text.truncate(self.text.len() - 2);
            use serde::Serializer as _;
            let _ = serde_json::Serializer::with_formatter(&mut self.text, Nested).serialize_str(s);
        }
    }

    /// A field whose value is a JSON value (as `Value`'s serializer writes it).
    pub fn value(&mut self, key: &'static str, value: &impl serde::Serialize) {
        self.key(key);
        let _ = serde_json::to_writer(&mut self.text, value);
    }

    /// A field whose value is JSON text already written (`raw` must be one JSON value).
    #[inline]
    pub fn raw(&mut self, key: &'static str, raw: &'static str) {
        self.key(key);
        self.text.extend_from_slice(raw.as_bytes());
    }

    /// A field holding an epoch-milliseconds time as the protocol's timestamp (`timestamp`).
    #[inline]
    pub fn timestamp(&mut self, key: &'static str, ms: u64) {
        if ms >= 1000 << 32 {
            // Past 2106 the nearest double may print otherwise: as the value prints.
            return self.value(key, &timestamp(ms));
        }
        self.key(key);
        self.seconds(ms);
    }

    /// Epoch milliseconds below 2^32 seconds as serde_json prints `ms / 1000.0`. Below 2^32
    /// seconds a double's spacing is under a microsecond, so the shortest text that reads back
    /// as `ms / 1000.0` is the decimal itself: the seconds, a point, the milliseconds without
    /// trailing zeros (`.0` for none).
    fn seconds(&mut self, ms: u64) {
        let (secs, millis) = (ms / 1000, ms % 1000);
        self.text
            .extend_from_slice(itoa::Buffer::new().format(secs).as_bytes());
        self.text.push(b'.');
        let fraction = [
            b'0' + (millis / 100) as u8,
            b'0' + (millis / 10 % 10) as u8,
            b'0' + (millis % 10) as u8,
        ];
        let keep = match millis {
            0 => 1,
            m if m % 100 == 0 => 1,
            m if m % 10 == 0 => 2,
            _ => 3,
        };
        self.text.extend_from_slice(&fraction[..keep]);
    }

    /// A field whose value is another object.
    pub fn object(&mut self, key: &'static str, object: ObjectText) {
        self.key(key);
        self.text.extend_from_slice(&object.finish());
    }

    /// A field whose value is an object that `fields` writes, in place (no text of its own).
    #[inline]
    pub fn nested(&mut self, key: &'static str, fields: impl FnOnce(&mut ObjectText)) {
        self.key(key);
        let outer = std::mem::replace(&mut self.open, self.text.len());
        self.text.push(b'{');
        fields(self);
        self.text.push(b'}');
        self.open = outer;
    }

    /// A field whose value is a whole number, as serde_json writes it.
    #[inline]
    pub fn integer(&mut self, key: &'static str, n: u64) {
        self.key(key);
        self.digits(n);
    }

    /// `n` in decimal (serde_json's own digits: itoa).
    fn digits(&mut self, n: u64) {
        self.text
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.text.push(b'}');
        self.text
    }
}

/// Whether serde_json escapes anything in `s` (a quote, a backslash, a control character).
/// A fold, not `all`: without the early exit the scan compiles to vector code. (Kept out of
/// line it measured 850 instructions per sync answer against 600 inlined.)
fn needs_escape(s: &str) -> bool {
    s.bytes()
        .fold(false, |e, b| e | (b < 0x20) | (b == b'"') | (b == b'\\'))
}

/// Appends `s` as it is when serde_json escapes nothing in it (`true`); otherwise appends
/// nothing (`false`). (A byte-at-a-time test and copy for short strings, measured, cost more
/// than the scan and the `memcpy` call: 25 instructions a byte.)
fn push_plain(text: &mut Vec<u8>, s: &str) -> bool {
    if needs_escape(s) {
        return false;
    }
    text.extend_from_slice(s.as_bytes());
    true
}

/// serde_json's compact format, written as the contents of a JSON string: every quote and
/// escape of the text escaped once more (a string's `"` as `\"`, its escape `\n` as `\\n`).
/// Only strings hold characters that need it; everything else is written as it is.
struct Nested;

impl serde_json::ser::Formatter for Nested {
    fn begin_string<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b"\\\"")
    }

    fn end_string<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b"\\\"")
    }

    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        use serde_json::ser::CharEscape::*;
        let text: &[u8] = match escape {
            Quote => b"\\\\\\\"",
            ReverseSolidus => b"\\\\\\\\",
            Solidus => b"\\\\/",
            Backspace => b"\\\\b",
            FormFeed => b"\\\\f",
            LineFeed => b"\\\\n",
            CarriageReturn => b"\\\\r",
            Tab => b"\\\\t",
            AsciiControl(byte) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let (high, low) = (HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]);
                return w.write_all(&[b'\\', b'\\', b'u', b'0', b'0', high, low]);
            }
        };
        w.write_all(text)
    }
}

/// The parts of a Step Functions ARN: `arn:PARTITION:states:REGION:ACCOUNT:TYPE:NAME[:...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub resource_type: &'a str,
    /// What follows the resource type: `NAME`, or for executions `MACHINE:NAME[:UUID]`.
    pub rest: &'a str,
}

impl<'a> Arn<'a> {
    /// Parses an ARN of the `states` service; any other text is `InvalidArn` as AWS words it.
    pub fn parse(text: &'a str) -> Result<Arn<'a>, ApiError> {
        // The first six colons, found eight bytes at a time (a byte-by-byte search was 440
        // instructions of a start's checks; `splitn` into a `Vec`, before it, ten times that).
        let colons = six_colons(text.as_bytes());
        let mut parts = [""; 7];
        let mut count = 0;
        let mut from = 0;
        for &at in &colons {
            if at == usize::MAX {
                break;
            }
            parts[count] = &text[from..at];
            count += 1;
            from = at + 1;
        }
        if count == 6 {
            parts[6] = &text[from..];
            count = 7;
        }
        if count < 7 || parts[0] != "arn" || !parts[1].starts_with("aws") {
            return Err(ApiError::invalid_arn(text, "Invalid ARN prefix: "));
        }
        if parts[2] != "states" {
            return Err(ApiError::invalid_arn(text, "Invalid ARN service: "));
        }
        if parts[6].is_empty() {
            return Err(ApiError::invalid_arn(text, "Invalid ARN resource: "));
        }
        Ok(Arn {
            region: parts[3],
            account: parts[4],
            resource_type: parts[5],
            rest: parts[6],
        })
    }

    /// Requires the resource type `expected`; another is AWS's "not valid in this context".
    pub fn expect(self, expected: &str) -> Result<Arn<'a>, ApiError> {
        if self.resource_type == expected {
            Ok(self)
        } else {
            Err(ApiError::new(
                "InvalidArn",
                format!(
                    "Invalid Arn: 'Resource type not valid in this context: {}'",
                    self.resource_type
                ),
            ))
        }
    }
}

/// Where the first six colons of `b` are, in order; `usize::MAX` for those it lacks. Each word
/// of eight bytes is tested for colons at once: a byte of `x` (the word with colons made zero)
/// is zero exactly where its high bit comes out set from `!((x & 0x7f..) + 0x7f.. | x | 0x7f..)`
/// (no carry crosses bytes, so every colon of the word is found, and nothing else).
fn six_colons(b: &[u8]) -> [usize; 6] {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut found = [usize::MAX; 6];
    let mut count = 0;
    let mut base = 0;
    for chunk in b.chunks_exact(8) {
        let x =
            u64::from_le_bytes(chunk.try_into().expect("a chunk of 8")) ^ (ONES * u64::from(b':'));
        let mut zero = !(((x & LOW7) + LOW7) | x | LOW7);
        while zero != 0 {
            found[count] = base + zero.trailing_zeros() as usize / 8;
            count += 1;
            if count == 6 {
                return found;
            }
            zero &= zero - 1;
        }
        base += 8;
    }
    for (i, &c) in b.iter().enumerate().skip(base) {
        if c == b':' {
            found[count] = i;
            count += 1;
            if count == 6 {
                break;
            }
        }
    }
    found
}

/// Checks a state machine or execution name as AWS does: 1 to 80 characters, none of the
/// characters AWS forbids.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if !crate::arn::valid_name(name) {
        return Err(ApiError::new(
            "InvalidName",
            format!("Invalid Name: '{name}'"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_names() {
        let a = Arn::parse("arn:aws:states:us-east-1:123456789012:stateMachine:M").unwrap();
        assert_eq!((a.resource_type, a.rest), ("stateMachine", "M"));
        let e = Arn::parse("arn:aws:states:us-east-1:1:express:M:n:u").unwrap();
        assert_eq!(e.rest, "M:n:u");
        assert_eq!(
            Arn::parse("nope").unwrap_err().message,
            "Invalid Arn: 'Invalid ARN prefix: nope'"
        );
        assert_eq!(
            e.expect("execution").unwrap_err().message,
            "Invalid Arn: 'Resource type not valid in this context: express'"
        );
        // Six colons exactly, and none: the prefix error; a seventh part empty: the resource's.
        let six = Arn::parse("arn:aws:states:r:a:stateMachine").unwrap_err();
        assert_eq!(
            six.message,
            "Invalid Arn: 'Invalid ARN prefix: arn:aws:states:r:a:stateMachine'"
        );
        assert_eq!(
            Arn::parse("arn:aws:states:r:a:stateMachine:")
                .unwrap_err()
                .message,
            "Invalid Arn: 'Invalid ARN resource: arn:aws:states:r:a:stateMachine:'"
        );
        assert_eq!(
            Arn::parse("arn:aws:sqs:r:a:queue:q").unwrap_err().message,
            "Invalid Arn: 'Invalid ARN service: arn:aws:sqs:r:a:queue:q'"
        );
        assert!(check_name("ok-name_1").is_ok());
        for bad in ["", "a b", "a:b", "x{", &"n".repeat(81)] {
            assert_eq!(check_name(bad).unwrap_err().code, "InvalidName", "{bad}");
        }
    }

    #[test]
    fn object_text_is_what_a_value_serializes_to() {
        let tricky = "quote \" backslash \\ tab \t nul \u{0} del \u{7f} é \u{2028} 😀";
        let mut out = ObjectText::with_capacity(0);
        out.str("plain", "arn:aws:states:us-east-1:1:express:m:n:u");
        out.str("tricky", tricky);
        out.str("empty", "");
        out.timestamp("at", 1_764_583_200_123);
        out.timestamp("whole", 1_764_583_200_000);
        let times = [
            0,
            5,
            10,
            100,
            999,
            1_000,
            1_010,
            1_764_583_200_450,
            4_294_967_295_999,
        ];
        let spread = (0..5_000u64).map(|k| k.wrapping_mul(858_993_459_967) % (1 << 42));
        for (n, ms) in times
            .into_iter()
            .chain(spread)
            .chain([1 << 42, u64::MAX / 3])
            .enumerate()
        {
            let mut one = ObjectText::with_capacity(0);
            one.timestamp("t", ms);
            let expected = serde_json::json!({"t": timestamp(ms)});
            assert_eq!(
                one.finish(),
                serde_json::to_vec(&expected).unwrap(),
                "{n}: {ms}"
            );
        }
        out.raw("raw", r#"{"included":true}"#);
        let mut inner = ObjectText::with_capacity(0);
        inner.value("n", &100u64);
        out.object("inner", inner);
        out.nested("empty_in_place", |_| {});
        out.nested("in_place", |o| {
            o.integer("zero", 0);
            o.integer("max", u64::MAX);
            o.nested("deeper", |o| o.str("s", "x"));
            o.integer("after", 64);
        });
        let data = serde_json::json!({"s": tricky, "a": [1.5, null, true, "\\\""], "o": {}});
        out.json_string("text", &data);
        out.value_string("walked", &crate::value::Value::from(data.clone()));
        let expected = serde_json::json!({
            "plain": "arn:aws:states:us-east-1:1:express:m:n:u",
            "tricky": tricky,
            "empty": "",
            "at": timestamp(1_764_583_200_123),
            "whole": timestamp(1_764_583_200_000),
            "raw": {"included": true},
            "inner": {"n": 100},
            "empty_in_place": {},
            "in_place": {"zero": 0, "max": u64::MAX, "deeper": {"s": "x"}, "after": 64},
            "text": serde_json::to_string(&data).unwrap(),
            "walked": serde_json::to_string(&data).unwrap(),
        });
        assert_eq!(
            String::from_utf8(out.finish()).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
        assert_eq!(ObjectText::with_capacity(0).finish(), b"{}");
    }

    /// `value_string`'s own walk writes what serde_json's serializer writes through `Nested`:
    /// fixed values with every kind of number, escape and nesting, then generated ones.
    #[test]
    fn a_walked_value_string_is_the_serialized_one() {
        fn check(v: &serde_json::Value) -> Result<(), String> {
            let value = crate::value::Value::from(v.clone());
            let mut walked = ObjectText::with_capacity(0);
            walked.value_string("o", &value);
            let mut serialized = ObjectText::with_capacity(0);
            serialized.json_string("o", &value);
            let (walked, serialized) = (walked.finish(), serialized.finish());
            let expected = serde_json::to_vec(&serde_json::json!({"o": v.to_string()})).unwrap();
            if walked != serialized || walked != expected {
                return Err(format!(
                    "{v}: {} against {}",
                    String::from_utf8_lossy(&walked),
                    String::from_utf8_lossy(&expected)
                ));
            }
            Ok(())
        }
        let fixed = serde_json::json!({
            "u": u64::MAX, "i": i64::MIN, "z": 0, "neg": -1, "f": 0.1, "e": 1e300, "small": 5e-324,
            "whole_float": 2.0, "s": "plain", "esc": "q\" b\\ / \u{8}\u{c}\n\r\t \u{0} \u{1f} \u{7f} é 😀 \u{2028}",
            "nested": {"a": [[], {}, [null, true, false, {"k\"ey": "v"}]], "": ""},
            "last": {"v": 42, "step": 10}
        });
        check(&fixed).unwrap();
        for v in [
            serde_json::json!(null),
            serde_json::json!([]),
            serde_json::json!("x\""),
        ] {
            check(&v).unwrap();
        }
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            "[a-z\"\\\\/\u{0}-\u{1f}\u{7f}é😀]{0,8}".prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::vec(("[a-z\"\\\\\u{1}]{0,4}", inner), 0..6)
                    .prop_map(|fields| serde_json::Value::Object(fields.into_iter().collect())),
            ]
        });
        let config = proptest::test_runner::Config::with_cases(2048);
        proptest::test_runner::TestRunner::new(config)
            .run(&value, |v| {
                check(&v).map_err(proptest::test_runner::TestCaseError::fail)
            })
            .unwrap();
    }

    /// `six_colons` finds what a byte-by-byte search finds, wherever the colons fall in the
    /// words (and beside bytes one bit away from a colon: `;`, `8`, `\u{ba}`).
    #[test]
    fn colons_are_found_as_a_byte_search_finds_them() {
        let pieces = [":", ";", "8", "a", "é", "\u{ba}", "::", "arn:aws:states:"];
        let mut cases = vec![String::new()];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for pad in 0..9 {
                        cases.push(format!(
                            "{}{a}{}{b}{c}{}",
                            "x".repeat(pad),
                            ";".repeat(pad % 3),
                            "y".repeat(9 - pad)
                        ));
                    }
                }
            }
        }
        cases.push("arn:aws:states:us-east-1:123456789012:stateMachine:pass10".into());
        for text in &cases {
            let mut expected = [usize::MAX; 6];
            for (slot, (i, _)) in expected
                .iter_mut()
                .zip(text.bytes().enumerate().filter(|&(_, b)| b == b':'))
            {
                *slot = i;
            }
            assert_eq!(six_colons(text.as_bytes()), expected, "{text:?}");
        }
    }

    #[test]
    fn fields_are_typed() {
        let i = Input::parse(br#"{"a": "s", "b": 1, "c": null}"#).unwrap();
        assert_eq!(i.string("a").unwrap(), Some("s"));
        assert_eq!(i.string("c").unwrap(), None);
        assert_eq!(
            i.string("b").unwrap_err().message,
            "NUMBER_VALUE can not be converted to a String"
        );
        let i = Input::parse(br#"{"p": "yes", "q": "maybe", "r": [1], "s": 1, "t": "x"}"#).unwrap();
        assert_eq!(i.bool("p").unwrap(), Some(true));
        assert_eq!(
            i.bool("q").unwrap_err().message,
            "STRING_VALUE can not be converted to an Boolean"
        );
        assert_eq!(
            i.bool("r").unwrap_err().message,
            "Start of list found where not expected"
        );
        assert_eq!(i.object("s").unwrap_err().message, "Expected null");
        assert_eq!(i.array("t").unwrap_err().message, "Expected list or null");
        assert!(check_role_arn("arn:aws:iam::123456789012:role/path/r", "roleArn").is_ok());
        assert_eq!(
            check_role_arn(&"a".repeat(257), "roleArn")
                .unwrap_err()
                .code,
            "ValidationException"
        );
        for bad in [
            "arn:aws:s3:::bucket",
            "arn:aws:iam::1:role/r",
            "arn:aws:iam::123456789012:user/u",
        ] {
            assert_eq!(
                check_role_arn(bad, "roleArn").unwrap_err().code,
                "InvalidArn",
                "{bad}"
            );
        }
        assert_eq!(
            i.required("x").unwrap_err().message,
            "1 validation error detected: Value null at 'x' failed to satisfy constraint: Member must not be null"
        );
        assert!(Input::parse(b"").is_ok());
        // A repeated key keeps its last value, as serde_json's `Map` did; past FEW_FIELDS the
        // fields go to a map and read the same.
        let i = Input::parse(br#"{"a": "first", "b": "x", "a": "last"}"#).unwrap();
        assert_eq!(i.string("a").unwrap(), Some("last"));
        let many: Map<String, Value> = (0..40)
            .map(|n| (format!("k{n}"), Value::from(n)))
            .chain([("k3".to_owned(), Value::from("again"))])
            .collect();
        let text = serde_json::to_vec(&many).unwrap();
        let i = Input::parse(&text).unwrap();
        assert_eq!(i.integer("k39").unwrap(), Some(39));
        assert_eq!(i.string("k3").unwrap(), Some("again"));
        assert_eq!(i.string("k40").unwrap(), None);
        for other in [
            &b"[1, {\"a\": 2}]"[..],
            b"\"text\"",
            b"12",
            b"-1.5",
            b"null",
            b"true",
        ] {
            assert_eq!(
                Input::parse(other).err().unwrap().message,
                "The request body must be a JSON object"
            );
        }
        assert!(Input::parse(b"{\"a\": 1} x")
            .err()
            .unwrap()
            .message
            .starts_with("The request body is not valid JSON: trailing characters"));
        assert_eq!(
            Input::parse(b"[1]").err().unwrap().code,
            "SerializationException"
        );
    }
}
