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

/// A request body: a JSON object whose fields are taken with their expected types.
pub struct Input(Map<String, Value>);

impl Input {
    /// Parses a request body; an empty body is an empty request, as AWS accepts it.
    pub fn parse(body: &[u8]) -> Result<Input, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Input(Map::new()));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(Input(m)),
            Ok(_) => Err(ApiError::new(
                "SerializationException",
                "The request body must be a JSON object",
            )),
            Err(e) => Err(ApiError::new(
                "SerializationException",
                format!("The request body is not valid JSON: {e}"),
            )),
        }
    }

    /// A request built in process (loading a definitions folder), as if it had come on the wire.
    pub fn from_value(v: Value) -> Input {
        match v {
            Value::Object(m) => Input(m),
            _ => Input(Map::new()),
        }
    }

    fn wrong_type(field: &str, expected: &str) -> ApiError {
        ApiError::new(
            "SerializationException",
            format!("The field '{field}' must be {expected}"),
        )
    }

    /// An optional string field (JSON null counts as absent, as AWS's deserializer treats it).
    pub fn string(&self, field: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Input::wrong_type(field, "a string")),
        }
    }

    /// A required string field.
    pub fn required(&self, field: &str) -> Result<&str, ApiError> {
        self.string(field)?
            .ok_or_else(|| ApiError::constraint("null", field, "Member must not be null"))
    }

    pub fn bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Input::wrong_type(field, "a boolean")),
        }
    }

    pub fn integer(&self, field: &str) -> Result<Option<i64>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| Input::wrong_type(field, "an integer")),
        }
    }

    pub fn object(&self, field: &str) -> Result<Option<&Map<String, Value>>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(Input::wrong_type(field, "an object")),
        }
    }

    pub fn array(&self, field: &str) -> Result<Option<&Vec<Value>>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(Input::wrong_type(field, "a list")),
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
        let parts: Vec<&str> = text.splitn(7, ':').collect();
        if parts.len() < 7 || parts[0] != "arn" || !parts[1].starts_with("aws") {
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

/// Checks a state machine or execution name as AWS does: 1 to 80 characters, none of the
/// characters AWS forbids.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let forbidden = |c: char| {
        c.is_whitespace()
            || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
            || ('\u{0}'..='\u{1f}').contains(&c)
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || c == '\u{fffe}'
            || c == '\u{ffff}'
    };
    let n = name.chars().count();
    if n == 0 || n > 80 || name.chars().any(forbidden) {
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
        assert!(check_name("ok-name_1").is_ok());
        for bad in ["", "a b", "a:b", "x{", &"n".repeat(81)] {
            assert_eq!(check_name(bad).unwrap_err().code, "InvalidName", "{bad}");
        }
    }

    #[test]
    fn fields_are_typed() {
        let i = Input::parse(br#"{"a": "s", "b": 1, "c": null}"#).unwrap();
        assert_eq!(i.string("a").unwrap(), Some("s"));
        assert_eq!(i.string("c").unwrap(), None);
        assert_eq!(i.string("b").unwrap_err().code, "SerializationException");
        assert_eq!(
            i.required("x").unwrap_err().message,
            "1 validation error detected: Value null at 'x' failed to satisfy constraint: Member must not be null"
        );
        assert!(Input::parse(b"").is_ok());
        assert_eq!(
            Input::parse(b"[1]").err().unwrap().code,
            "SerializationException"
        );
    }
}
