//! State machine operations: create, describe, list, update, delete, validate, and tags.
//!
//! Invariant: the registry and the engine agree: a machine is in the registry exactly when the
//! engine has its compiled program under the same name, and only valid EXPRESS definitions get
//! there. Executions in flight keep the program they started with across updates and deletes.

use std::collections::BTreeMap;

use base64::Engine as _;
use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::wire::{
    array_value, bool_value, check_encryption, check_name, check_publish, check_role_arn,
    string_value, timestamp, ApiError, Arn, Input,
};
use super::Api;
use crate::asl::{self, Diagnostic, MachineType, Severity};
use crate::runtime::logs::{Level, LoggingConfiguration};

/// The most tags a resource may have.
const MAX_TAGS: usize = 50;

/// What the API keeps of a state machine besides its compiled program (which the engine holds).
#[derive(Debug, Clone)]
pub struct Record {
    pub name: String,
    pub arn: String,
    pub definition: String,
    pub role_arn: String,
    pub creation_ms: u64,
    /// As the client gave it, defaults filled in (AWS echoes it back in this shape).
    pub logging: Value,
    pub tracing: Value,
    pub tags: IndexMap<String, String>,
    pub revision_id: Option<String>,
    pub description: Option<String>,
}

pub type Registry = BTreeMap<String, Record>;

impl Api {
    /// The registered name an ARN of this region and account names, or `StateMachineDoesNotExist`.
    pub(super) fn machine_name(&self, arn_text: &str) -> Result<String, ApiError> {
        let arn = Arn::parse(arn_text)?.expect("stateMachine")?;
        let missing = || {
            ApiError::new(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{arn_text}'"),
            )
        };
        if arn.region != self.scope.region || arn.account != self.scope.account {
            // AWS's words, and then why: scripts written for LocalStack (account 000000000000)
            // or another region meet this first, and the fix is a flag of this server's.
            let mut e = missing();
            e.message.push_str(&format!(
                " (this server's ARNs are in region {} and account {}; start statejet serve with --region {} --account {} to serve this ARN's)",
                self.scope.region, self.scope.account, arn.region, arn.account
            ));
            return Err(e);
        }
        let machines = self.machines.read().unwrap_or_else(|p| p.into_inner());
        if machines.contains_key(arn.rest) {
            Ok(arn.rest.to_owned())
        } else {
            Err(missing())
        }
    }

    pub(super) fn machine_arn(&self, name: &str) -> String {
        self.scope.state_machine(name)
    }

    /// A copy of a registered machine's record.
    pub(super) fn record(&self, arn_text: &str) -> Result<Record, ApiError> {
        let name = self.machine_name(arn_text)?;
        let machines = self.machines.read().unwrap_or_else(|p| p.into_inner());
        machines.get(&name).cloned().ok_or_else(|| {
            ApiError::new(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{arn_text}'"),
            )
        })
    }

    /// Validates a definition for this API: only EXPRESS machines run here.
    fn compile(&self, definition: &str) -> Result<asl::StateMachine, ApiError> {
        asl::validate(
            definition,
            &asl::Config {
                machine_type: MachineType::Express,
            },
        )
        .map_err(|d| invalid_definition(&d))
    }

    /// Sets a machine's logging level, as an `UpdateStateMachine` with a log destination would.
    pub fn set_logging(&self, name: &str, level: Level, include: bool) -> Result<(), ApiError> {
        let level_text = match level {
            Level::All => "ALL",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
            Level::Off => "OFF",
        };
        let body = json!({
            "stateMachineArn": self.machine_arn(name),
            "loggingConfiguration": {
                "level": level_text,
                "includeExecutionData": include,
                "destinations": [{"cloudWatchLogsLogGroup": {
                    "logGroupArn": self.scope.log_group(&format!("/statejet/{name}"))}}],
            },
        });
        self.update_state_machine(&Input::from_value(body))
            .map(|_| ())
    }

    pub(super) fn create_state_machine(&self, i: &Input) -> Result<Value, ApiError> {
        let name = i.required("name")?;
        let definition = i.required("definition")?;
        let role_arn = i.required("roleArn")?;
        check_name(name)?;
        check_role_arn(role_arn, "roleArn")?;
        check_publish(i)?;
        check_encryption(i)?;
        machine_type(i.string("type")?.unwrap_or("STANDARD"))?;
        let (logging, logging_value) = logging_configuration(i.object("loggingConfiguration")?)?;
        let tracing = tracing_configuration(i.object("tracingConfiguration")?)?;
        let tags = tags(i.array("tags")?)?;
        let machine = self.compile(definition)?;
        let arn = self.machine_arn(name);
        let mut machines = self.machines.write().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = machines.get(name) {
            // AWS makes a repeated identical create idempotent, and refuses a different one.
            if existing.definition == definition && existing.role_arn == role_arn {
                return Ok(
                    json!({"stateMachineArn": existing.arn, "creationDate": timestamp(existing.creation_ms)}),
                );
            }
            return Err(ApiError::new(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{arn}'"),
            ));
        }
        let limit = self.engine.config().max_state_machines;
        if machines.len() >= limit {
            // AWS's words, then the limit and the flag that sets it.
            return Err(ApiError::new(
                "StateMachineLimitExceeded",
                format!("The maximum number of state machines has been reached. Existing state machines must be deleted before a new state machine can be created. (This server holds at most {limit}; statejet serve --max-state-machines sets it.)"),
            ));
        }
        let creation_ms = self.engine.now_ms();
        self.engine.install_state_machine(name, machine, logging);
        machines.insert(
            name.to_owned(),
            Record {
                name: name.to_owned(),
                arn: arn.clone(),
                definition: definition.to_owned(),
                role_arn: role_arn.to_owned(),
                creation_ms,
                logging: logging_value,
                tracing,
                tags,
                revision_id: None,
                description: None,
            },
        );
        Ok(json!({"stateMachineArn": arn, "creationDate": timestamp(creation_ms)}))
    }

    pub(super) fn describe_state_machine(&self, i: &Input) -> Result<Value, ApiError> {
        let r = self.record(i.required("stateMachineArn")?)?;
        let mut out = json!({
            "stateMachineArn": r.arn,
            "name": r.name,
            "status": "ACTIVE",
            "definition": r.definition,
            "roleArn": r.role_arn,
            "type": "EXPRESS",
            "creationDate": timestamp(r.creation_ms),
            "loggingConfiguration": r.logging,
            "tracingConfiguration": r.tracing,
        });
        if let Some(rev) = r.revision_id {
            out["revisionId"] = rev.into();
        }
        if let Some(d) = r.description {
            out["description"] = d.into();
        }
        Ok(out)
    }

    pub(super) fn list_state_machines(&self, i: &Input) -> Result<Value, ApiError> {
        let max = match i.integer("maxResults")? {
            None | Some(0) => 100,
            Some(n @ 1..=1000) => n as usize,
            Some(n) => {
                return Err(ApiError::constraint(
                    &format!("'{n}'"),
                    "maxResults",
                    "Member must have value less than or equal to 1000",
                ))
            }
        };
        let after = match i.string("nextToken")? {
            None => None,
            Some(t) => Some(decode_token(t)?),
        };
        let machines = self.machines.read().unwrap_or_else(|p| p.into_inner());
        let range = match &after {
            Some(a) => machines
                .range::<String, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
            None => machines.range::<String, _>(..),
        };
        let page: Vec<&Record> = range.take(max + 1).map(|(_, r)| r).collect();
        let more = page.len() > max;
        let items: Vec<Value> = page
            .iter()
            .take(max)
            .map(|r| {
                json!({"stateMachineArn": r.arn, "name": r.name, "type": "EXPRESS",
                       "creationDate": timestamp(r.creation_ms)})
            })
            .collect();
        let mut out = json!({ "stateMachines": items });
        if more {
            let last = &page[max - 1].name;
            out["nextToken"] = base64::engine::general_purpose::STANDARD
                .encode(last)
                .into();
        }
        Ok(out)
    }

    pub(super) fn update_state_machine(&self, i: &Input) -> Result<Value, ApiError> {
        let arn = i.required("stateMachineArn")?;
        let definition = i.string("definition")?;
        let role_arn = i.string("roleArn")?;
        let logging = i.object("loggingConfiguration")?;
        let tracing = i.object("tracingConfiguration")?;
        if definition.is_none() && role_arn.is_none() && logging.is_none() && tracing.is_none() {
            return Err(ApiError::new(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        if let Some(r) = role_arn {
            check_role_arn(r, "roleArn")?;
        }
        check_publish(i)?;
        check_encryption(i)?;
        let logging = logging
            .map(|l| logging_configuration(Some(l)))
            .transpose()?;
        let tracing = tracing
            .map(|t| tracing_configuration(Some(t)))
            .transpose()?;
        let machine = definition.map(|d| self.compile(d)).transpose()?;
        let name = self.machine_name(arn)?;
        let mut machines = self.machines.write().unwrap_or_else(|p| p.into_inner());
        let Some(r) = machines.get_mut(&name) else {
            return Err(ApiError::new(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{arn}'"),
            ));
        };
        let current_logging = match &logging {
            Some((l, _)) => *l,
            None => parse_level(&r.logging),
        };
        let machine = match machine {
            Some(m) => Some(m),
            // A logging change alone re-installs the current definition with the new settings.
            None if logging.is_some() => Some(self.compile(&r.definition)?),
            None => None,
        };
        if let Some(m) = machine {
            self.engine.install_state_machine(&name, m, current_logging);
        }
        if let Some(d) = definition {
            r.definition = d.to_owned();
        }
        if let Some(role) = role_arn {
            r.role_arn = role.to_owned();
        }
        if let Some((_, v)) = logging {
            r.logging = v;
        }
        if let Some(t) = tracing {
            r.tracing = t;
        }
        let revision = crate::runtime::engine::new_uuid();
        r.revision_id = Some(revision.clone());
        Ok(json!({"updateDate": timestamp(self.engine.now_ms()), "revisionId": revision}))
    }

    pub(super) fn delete_state_machine(&self, i: &Input) -> Result<Value, ApiError> {
        let arn_text = i.required("stateMachineArn")?;
        let arn = Arn::parse(arn_text)?.expect("stateMachine")?;
        if arn.region == self.scope.region && arn.account == self.scope.account {
            let mut machines = self.machines.write().unwrap_or_else(|p| p.into_inner());
            if machines.remove(arn.rest).is_some() {
                self.engine.remove_state_machine(arn.rest);
            }
        }
        // Deleting is idempotent, as with AWS: an unknown machine is already gone.
        Ok(json!({}))
    }

    pub(super) fn validate_definition(&self, i: &Input) -> Result<Value, ApiError> {
        let definition = i.required("definition")?;
        let machine_type = machine_type_for_validation(i.string("type")?.unwrap_or("STANDARD"))?;
        let severity = match i.string("severity")?.unwrap_or("ERROR") {
            "ERROR" => Severity::Error,
            "WARNING" => Severity::Warning,
            other => {
                return Err(ApiError::constraint(
                    &format!("'{other}'"),
                    "severity",
                    "Member must satisfy enum value set: [ERROR, WARNING]",
                ))
            }
        };
        let max = match i.integer("maxResults")? {
            None | Some(0) => 100,
            Some(n @ 1..=100) => n as usize,
            Some(n) => {
                return Err(ApiError::constraint(
                    &format!("'{n}'"),
                    "maxResults",
                    "Member must have value less than or equal to 100",
                ))
            }
        };
        let diagnostics = match asl::validate(definition, &asl::Config { machine_type }) {
            Ok(_) => Vec::new(),
            Err(d) => d,
        };
        let kept: Vec<&Diagnostic> = diagnostics
            .iter()
            .filter(|d| severity == Severity::Warning || d.severity == Severity::Error)
            .collect();
        let result = if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            "FAIL"
        } else {
            "OK"
        };
        let listed: Vec<Value> = kept
            .iter()
            .take(max)
            .map(|d| {
                let mut v = json!({"severity": d.severity.as_str(), "code": d.code.as_str(),
                                   "message": d.message});
                if let Some(at) = &d.location {
                    v["location"] = at.clone().into();
                }
                v
            })
            .collect();
        Ok(json!({"result": result, "diagnostics": listed, "truncated": kept.len() > max}))
    }

    /// Runs `f` on the tags of the machine `arn` names, or answers `ResourceNotFound`.
    fn with_tags<T>(
        &self,
        arn: &str,
        f: impl FnOnce(&mut IndexMap<String, String>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let not_found =
            || ApiError::new("ResourceNotFound", format!("Resource not found: '{arn}'"));
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "stateMachine"
            || parsed.region != self.scope.region
            || parsed.account != self.scope.account
        {
            return Err(not_found());
        }
        let mut machines = self.machines.write().unwrap_or_else(|p| p.into_inner());
        let r = machines.get_mut(parsed.rest).ok_or_else(not_found)?;
        f(&mut r.tags)
    }

    pub(super) fn tag_resource(&self, i: &Input) -> Result<Value, ApiError> {
        let arn = i.required("resourceArn")?;
        let new = tags(Some(i.array("tags")?.ok_or_else(|| {
            ApiError::constraint("null", "tags", "Member must not be null")
        })?))?;
        self.with_tags(arn, |t| {
            let mut merged = t.clone();
            merged.extend(new);
            if merged.len() > MAX_TAGS {
                return Err(too_many_tags(arn));
            }
            *t = merged;
            Ok(json!({}))
        })
    }

    pub(super) fn untag_resource(&self, i: &Input) -> Result<Value, ApiError> {
        let arn = i.required("resourceArn")?;
        let keys = i
            .array("tagKeys")?
            .ok_or_else(|| ApiError::constraint("null", "tagKeys", "Member must not be null"))?;
        let keys: Vec<String> = keys
            .iter()
            .map(|k| {
                k.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::new(
                        "SerializationException",
                        "tagKeys must be a list of strings",
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        self.with_tags(arn, |t| {
            for k in &keys {
                t.shift_remove(k);
            }
            Ok(json!({}))
        })
    }

    pub(super) fn list_tags(&self, i: &Input) -> Result<Value, ApiError> {
        let arn = i.required("resourceArn")?;
        self.with_tags(arn, |t| {
            let tags: Vec<Value> = t
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect();
            Ok(json!({ "tags": tags }))
        })
    }
}

/// AWS's `InvalidDefinition` message: every diagnostic in its one-line form.
fn invalid_definition(diagnostics: &[Diagnostic]) -> ApiError {
    let all: Vec<String> = diagnostics.iter().map(Diagnostic::to_string).collect();
    ApiError::new(
        "InvalidDefinition",
        format!("Invalid State Machine Definition: '{}'", all.join(", ")),
    )
}

/// The machine types this API runs. A STANDARD machine would promise what statejet does not
/// keep (execution history that outlives the execution), so it is refused, with the way out.
fn machine_type(t: &str) -> Result<(), ApiError> {
    match t {
        "EXPRESS" => Ok(()),
        "STANDARD" => Err(ApiError::new(
            "StateMachineTypeNotSupported",
            "statejet runs EXPRESS state machines only (STANDARD keeps execution history, which statejet does not store): create the state machine with type EXPRESS",
        )),
        other => Err(enum_error(other, "type")),
    }
}

fn machine_type_for_validation(t: &str) -> Result<MachineType, ApiError> {
    match t {
        "EXPRESS" => Ok(MachineType::Express),
        "STANDARD" => Ok(MachineType::Standard),
        other => Err(enum_error(other, "type")),
    }
}

fn enum_error(value: &str, field: &str) -> ApiError {
    ApiError::constraint(
        &format!("'{value}'"),
        field,
        "Member must satisfy enum value set: [STANDARD, EXPRESS]",
    )
}

fn parse_level(logging: &Value) -> LoggingConfiguration {
    LoggingConfiguration {
        level: logging["level"]
            .as_str()
            .and_then(|l| l.parse().ok())
            .unwrap_or(Level::Off),
        include_execution_data: logging["includeExecutionData"].as_bool().unwrap_or(false),
    }
}

/// Reads a `loggingConfiguration`: the engine's settings and the value Describe echoes.
fn logging_configuration(
    given: Option<&Map<String, Value>>,
) -> Result<(LoggingConfiguration, Value), ApiError> {
    let Some(given) = given else {
        return Ok((
            LoggingConfiguration::default(),
            json!({"level": "OFF", "includeExecutionData": false}),
        ));
    };
    let level = match string_value(given.get("level"))? {
        None => Level::Off,
        Some(s) => s.parse().map_err(|_| {
            ApiError::constraint(
                &format!("'{s}'"),
                "loggingConfiguration.level",
                "Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]",
            )
        })?,
    };
    let include = bool_value(given.get("includeExecutionData"))?.unwrap_or(false);
    let destinations = array_value(given.get("destinations"))?;
    let count = destinations.map_or(0, Vec::len);
    if level != Level::Off && count != 1 {
        return Err(ApiError::new(
            "InvalidLoggingConfiguration",
            "Invalid Logging Configuration: Must specify exactly one Log Destination.",
        ));
    }
    let mut value = json!({
        "level": given.get("level").and_then(Value::as_str).unwrap_or("OFF"),
        "includeExecutionData": include,
    });
    if let Some(d) = destinations {
        value["destinations"] = Value::Array(d.clone());
    }
    Ok((
        LoggingConfiguration {
            level,
            include_execution_data: include,
        },
        value,
    ))
}

fn tracing_configuration(given: Option<&Map<String, Value>>) -> Result<Value, ApiError> {
    let enabled = bool_value(given.and_then(|g| g.get("enabled")))?.unwrap_or(false);
    Ok(json!({ "enabled": enabled }))
}

fn too_many_tags(arn: &str) -> ApiError {
    ApiError::new(
        "TooManyTags",
        format!("Too many tags: a resource may have at most {MAX_TAGS} tags ('{arn}')"),
    )
}

/// Reads `[{"key", "value"}]` into an ordered map (a repeated key keeps its last value).
fn tags(given: Option<&Vec<Value>>) -> Result<IndexMap<String, String>, ApiError> {
    let mut out = IndexMap::new();
    for t in given.into_iter().flatten() {
        let key = t.get("key").and_then(Value::as_str);
        let value = t.get("value").and_then(Value::as_str).unwrap_or("");
        let Some(key) = key else {
            return Err(ApiError::new(
                "SerializationException",
                "each tag must be {\"key\": string, \"value\": string}",
            ));
        };
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(ApiError::constraint(
                &format!("'{key}'"),
                "tags.member.key",
                "Member must have length between 1 and 128 (and value at most 256)",
            ));
        }
        out.insert(key.to_owned(), value.to_owned());
    }
    if out.len() > MAX_TAGS {
        return Err(too_many_tags("new state machine"));
    }
    Ok(out)
}

/// A `nextToken` of `ListStateMachines`: the last name of the previous page.
fn decode_token(token: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::new("InvalidToken", format!("Invalid Token: '{token}'")))
}
