//! A TestState request, read field by field with AWS's checks and messages: the definition,
//! input, variables, the Context Object the caller supplies, and `stateConfiguration`.
//!
//! Invariant: everything the run uses is read here once; a field that does not apply to the
//! tested state is refused, never ignored.

use serde_json::{Map, Value};

use super::bad_definition;
use super::harness::Harness;
use crate::api::wire::{ApiError, Input};
use crate::asl::machine::{Block, IntegrationPattern, Items, Jsonata, ResourceKind, StateKind};

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationException", message)
}

/// `stateConfiguration`: how the tested state's surroundings are set up.
#[derive(Debug, Default)]
pub struct StateConfiguration {
    /// `retrierRetryCount`: how many retries the state has already had.
    pub retrier_retry_count: Option<u64>,
    /// `errorCausedByState`: the state of a Map's processor the mocked error comes from.
    pub error_caused_by_state: Option<String>,
    /// `mapIterationFailureCount`: how many of a mocked Map's iterations failed.
    pub map_iteration_failure_count: Option<u64>,
    /// `mapItemReaderData`: the items a Map's `ItemReader` reads, parsed.
    pub map_item_reader_data: Option<Value>,
}

pub struct Request {
    pub definition: Value,
    pub state_name: Option<String>,
    pub role_arn: Option<String>,
    pub input_text: String,
    pub input: Value,
    pub variables: Map<String, Value>,
    pub inspection_level: String,
    pub reveal_secrets: bool,
    pub mock: Option<Map<String, Value>>,
    /// The Context Object the caller gives, checked.
    pub context: Option<Value>,
    pub configuration: StateConfiguration,
}

fn count(c: &Map<String, Value>, field: &str) -> Result<Option<u64>, ApiError> {
    match c.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            ApiError::constraint(
                &v.to_string(),
                &format!("stateConfiguration.{field}"),
                "Member must have value greater than or equal to 0",
            )
        }),
    }
}

impl Request {
    pub fn read(i: &Input<'_>) -> Result<Request, ApiError> {
        let text = i.required("definition")?;
        let definition: Value = serde_json::from_str(text).map_err(|_| {
            // The front end words the syntax error as AWS does.
            match crate::asl::validate(text, &Default::default()) {
                Err(d) => bad_definition(
                    d.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                Ok(_) => bad_definition("INVALID_JSON_DESCRIPTION"),
            }
        })?;
        let state_name = i.string("stateName")?.map(str::to_owned);
        if state_name.as_deref() == Some("") {
            return Err(ApiError::constraint(
                "''",
                "stateName",
                "Member must have length greater than or equal to 1",
            ));
        }
        let inspection_level = i.string("inspectionLevel")?.unwrap_or("INFO").to_owned();
        if !["INFO", "DEBUG", "TRACE"].contains(&inspection_level.as_str()) {
            return Err(ApiError::constraint(
                &format!("'{inspection_level}'"),
                "inspectionLevel",
                "Member must satisfy enum value set: [INFO, DEBUG, TRACE]",
            ));
        }
        let input_text = i.string("input")?.unwrap_or("{}").to_owned();
        let input: Value = serde_json::from_str(&input_text).map_err(|e| {
            ApiError::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;
        let variables = match i.string("variables")? {
            None => Map::new(),
            Some(v) => match serde_json::from_str(v) {
                Ok(Value::Object(m)) => m,
                _ => return Err(invalid("variables must be a JSON object, as a string")),
            },
        };
        let context = match i.string("context")? {
            None => None,
            Some(text) => match serde_json::from_str(text) {
                Ok(v @ Value::Object(_)) => Some(v),
                _ => {
                    return Err(invalid(
                        "Invalid Context object provided: the context must be a JSON object",
                    ))
                }
            },
        };
        let mut configuration = StateConfiguration::default();
        if let Some(c) = i.object("stateConfiguration")? {
            for key in c.keys() {
                if ![
                    "retrierRetryCount",
                    "errorCausedByState",
                    "mapIterationFailureCount",
                    "mapItemReaderData",
                ]
                .contains(&key.as_str())
                {
                    return Err(invalid(format!("stateConfiguration has no field '{key}'")));
                }
            }
            configuration.retrier_retry_count = count(c, "retrierRetryCount")?;
            configuration.map_iteration_failure_count = count(c, "mapIterationFailureCount")?;
            configuration.error_caused_by_state = match c.get("errorCausedByState") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    return Err(invalid(
                        "stateConfiguration.errorCausedByState must be a string",
                    ))
                }
            };
            configuration.map_item_reader_data = match c.get("mapItemReaderData") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(serde_json::from_str(s).map_err(|_| {
                    invalid("stateConfiguration.mapItemReaderData must be valid JSON")
                })?),
                Some(_) => {
                    return Err(invalid(
                        "stateConfiguration.mapItemReaderData must be a string",
                    ))
                }
            };
        }
        Ok(Request {
            definition,
            state_name,
            role_arn: i.string("roleArn")?.map(str::to_owned),
            input_text,
            input,
            variables,
            inspection_level,
            reveal_secrets: i.bool("revealSecrets")?.unwrap_or(false),
            mock: i.object("mock")?.cloned(),
            context,
            configuration,
        })
    }

    /// `stateConfiguration` against the tested state and the mock (AWS checks it before the
    /// mock itself).
    pub fn check_configuration(&self, harness: &Harness) -> Result<(), ApiError> {
        let c = &self.configuration;
        let map = match &harness.state.kind {
            StateKind::Map(m) => Some(m),
            _ => None,
        };
        if let Some(n) = c.map_iteration_failure_count {
            if map.is_none() {
                return Err(invalid(
                    "TestState supports MapIterationFailureCount only for a Map state.",
                ));
            }
            let Some(mock) = &self.mock else {
                return Err(invalid(
                    "TestState does not support MapIterationFailureCount when a mock is not specified.",
                ));
            };
            let items = mock
                .get("result")
                .and_then(Value::as_str)
                .and_then(|r| serde_json::from_str::<Value>(r).ok());
            if let Some(Value::Array(items)) = items {
                if n > items.len() as u64 {
                    return Err(invalid(
                        "Map iteration failure count must be less than or equal to the number of Map iterations",
                    ));
                }
            }
        }
        if let Some(name) = &c.error_caused_by_state {
            let nested: Vec<&Block> = match &harness.state.kind {
                StateKind::Map(m) => vec![&m.processor],
                StateKind::Parallel(p) => p.branches.iter().collect(),
                _ => Vec::new(),
            };
            if !nested.iter().any(|b| contains(b, name)) {
                return Err(invalid(format!(
                    "ErrorCausedByState '{name}' is not a state of the tested state's ItemProcessor or Branches"
                )));
            }
        }
        if c.map_item_reader_data.is_some() && map.is_none_or(|m| m.item_reader.is_none()) {
            return Err(invalid(
                "TestState supports MapItemReaderData only for a Map state with an ItemReader.",
            ));
        }
        if c.retrier_retry_count.is_some() && harness.retriers().is_empty() {
            return Err(invalid(
                "TestState supports RetrierRetryCount only for a state with a Retry field.",
            ));
        }
        Ok(())
    }

    /// The Context Object the caller gave, against what a Context Object may hold.
    pub fn check_context(&self, harness: &Harness) -> Result<(), ApiError> {
        let Some(Value::Object(ctx)) = &self.context else {
            return Ok(());
        };
        let bad = |m: String| invalid(format!("Invalid Context object provided: {m}"));
        let fields: &[(&str, &[(&str, Kind)])] = &[
            (
                "Execution",
                &[
                    ("Id", Kind::String),
                    ("Input", Kind::Any),
                    ("Name", Kind::String),
                    ("RoleArn", Kind::String),
                    ("StartTime", Kind::String),
                ],
            ),
            (
                "State",
                &[
                    ("EnteredTime", Kind::String),
                    ("Name", Kind::String),
                    ("RetryCount", Kind::Integer),
                ],
            ),
            (
                "StateMachine",
                &[("Id", Kind::String), ("Name", Kind::String)],
            ),
            ("Task", &[("Token", Kind::String)]),
        ];
        for (key, value) in ctx {
            if key == "Map" {
                return Err(bad(
                    "'Map' field is not supported when mocking a Context object".into(),
                ));
            }
            let Some((_, members)) = fields.iter().find(|(k, _)| k == key) else {
                return Err(bad(format!("Field '{key}' is not allowed")));
            };
            let Value::Object(inner) = value else {
                return Err(bad(format!("{key} must be a object")));
            };
            for (field, v) in inner {
                let Some((_, kind)) = members.iter().find(|(f, _)| f == field) else {
                    return Err(bad(format!("Field '{field}' is not allowed")));
                };
                if let Some(expected) = kind.mismatch(v) {
                    return Err(bad(format!("{key}.{field} must be a {expected}")));
                }
            }
        }
        let waits_for_token = match &harness.state.kind {
            StateKind::Task(t) => matches!(
                t.resource.kind,
                ResourceKind::Service {
                    pattern: IntegrationPattern::Sync | IntegrationPattern::WaitForTaskToken,
                    ..
                }
            ),
            _ => false,
        };
        if ctx.contains_key("Task") && !waits_for_token {
            return Err(bad("Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern".into()));
        }
        Ok(())
    }
}

/// The JSON types of Context Object fields.
#[derive(Clone, Copy)]
enum Kind {
    String,
    Integer,
    Any,
}

impl Kind {
    /// The type a value should have had, if it has another.
    fn mismatch(self, v: &Value) -> Option<&'static str> {
        match self {
            Kind::String if !v.is_string() && !v.is_null() => Some("string"),
            Kind::Integer if !(v.is_i64() || v.is_u64() || v.is_null()) => Some("integer"),
            _ => None,
        }
    }
}

fn contains(block: &Block, name: &str) -> bool {
    block.states.iter().any(|s| {
        s.name == name
            || match &s.kind {
                StateKind::Map(m) => contains(&m.processor, name),
                StateKind::Parallel(p) => p.branches.iter().any(|b| contains(b, name)),
                _ => false,
            }
    })
}

/// A mocked Map with an `ItemReader` iterates over `mapItemReaderData` (no reader runs in a
/// test); without it, over no items, the mock standing for the whole result.
pub fn read_items(harness: &mut Harness, data: Option<Value>) {
    if let StateKind::Map(m) = &mut harness.machine.top.states[0].kind {
        if m.item_reader.take().is_some() {
            let items = data.unwrap_or_else(|| Value::Array(Vec::new()));
            m.items = Items::Jsonata(Some(Jsonata::Literal(items.into())));
        }
    }
}
