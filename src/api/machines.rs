//! State machine operations on the wire: create, describe, list, update, delete, validate, tags.
//!
//! Invariant: nothing here holds state machine state: every operation reads the wire, calls the
//! one registry (`runtime::registry`, through the engine) and answers AWS's shape.

use std::sync::Arc;

use base64::Engine as _;
use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::wire::{
    array_value, bool_value, check_encryption, check_name, check_publish, check_role_arn,
    string_value, timestamp, ApiError, Arn, Input,
};
use super::Api;
use crate::asl::{self, Diagnostic, MachineType, Severity};
use crate::runtime::logs::Level;
use crate::runtime::registry::{
    new_revision, LogDestination, Logging, Machine, NewMachine, RegistryError, Update, MAX_TAGS,
};

impl Api {
    /// The registered machine an ARN of this region and account names, or
    /// `StateMachineDoesNotExist`.
    pub(super) fn machine(&self, arn_text: &str) -> Result<Arc<Machine>, ApiError> {
        let arn = Arn::parse(arn_text)?.expect("stateMachine")?;
        self.machine_of(arn_text, &arn)
    }

    /// `machine` of an ARN already parsed (`arn` is `arn_text`'s, of type `stateMachine`).
    pub(super) fn machine_of(
        &self,
        arn_text: &str,
        arn: &Arn<'_>,
    ) -> Result<Arc<Machine>, ApiError> {
        if let Some(hint) = self.elsewhere(arn) {
            let mut e = does_not_exist(arn_text);
            e.message.push_str(&hint);
            return Err(e);
        }
        self.engine
            .registry()
            .get(arn.rest)
            .ok_or_else(|| does_not_exist(arn_text))
    }

    /// For an ARN of another region or account, why this server has nothing under it, to
    /// follow AWS's "does not exist" words: scripts written for LocalStack (account
    /// 000000000000) or another region meet this first, and the fix is a flag of this server's.
    pub(super) fn elsewhere(&self, arn: &Arn<'_>) -> Option<String> {
        (arn.region != self.scope.region || arn.account != self.scope.account).then(|| {
            format!(
                " (this server's ARNs are in region {} and account {}; start statejet serve with --region {} --account {} to serve this ARN's)",
                self.scope.region, self.scope.account, arn.region, arn.account
            )
        })
    }

    /// Creates a state machine from typed settings (loading a definitions folder at start), with
    /// the API's errors.
    pub fn create(&self, spec: NewMachine) -> Result<Arc<Machine>, ApiError> {
        self.engine
            .registry()
            .create(spec, self.engine.now_ms())
            .map_err(|e| registry_error(e, "new state machine"))
    }

    pub(super) fn create_state_machine(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let name = i.required("name")?;
        let definition = i.required("definition")?;
        let role_arn = i.required("roleArn")?;
        check_name(name)?;
        check_role_arn(role_arn, "roleArn")?;
        let (publish, version_description) = check_publish(i)?;
        check_encryption(i)?;
        let machine_type = machine_type(i.string("type")?.unwrap_or("STANDARD"))?;
        let logging = match i.object("loggingConfiguration")? {
            Some(given) => logging_configuration(Some(given))?,
            None => {
                let (level, include) = self.default_logging;
                Logging::server_default(&self.scope, name, level, include)
            }
        };
        let tracing = tracing_configuration(i.object("tracingConfiguration")?)?;
        let tags = tags(i.array("tags")?)?;
        let m = self.create(NewMachine {
            name: name.to_owned(),
            definition: definition.to_owned(),
            machine_type,
            role_arn: role_arn.to_owned(),
            logging,
            tracing,
            tags,
        })?;
        let mut out =
            json!({"stateMachineArn": m.arn.as_str(), "creationDate": timestamp(m.creation_ms)});
        if publish {
            let (version_arn, _) = self.publish(&m, None, version_description)?;
            out["stateMachineVersionArn"] = version_arn.into();
        }
        Ok(out)
    }

    pub(super) fn describe_state_machine(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn = i.required("stateMachineArn")?;
        if let Some(version) = self.describe_version(arn)? {
            return Ok(version);
        }
        let m = self.machine(arn)?;
        let mut out = json!({
            "stateMachineArn": m.arn.as_str(),
            "name": &*m.name,
            "status": "ACTIVE",
            "definition": m.definition,
            "roleArn": &*m.role_arn,
            "type": type_name(m.machine_type),
            "creationDate": timestamp(m.creation_ms),
            "loggingConfiguration": logging_value(&m.logging),
            "tracingConfiguration": {"enabled": m.tracing},
        });
        if let Some(rev) = &m.revision_id {
            out["revisionId"] = rev.clone().into();
        }
        Ok(out)
    }

    pub(super) fn list_state_machines(&self, i: &Input<'_>) -> Result<Value, ApiError> {
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
        let (page, more) = self.engine.registry().list(after.as_deref(), max);
        let items: Vec<Value> = page
            .iter()
            .map(|m| {
                json!({"stateMachineArn": m.arn.as_str(), "name": &*m.name,
                       "type": type_name(m.machine_type),
                       "creationDate": timestamp(m.creation_ms)})
            })
            .collect();
        let mut out = json!({ "stateMachines": items });
        if let (true, Some(last)) = (more, page.last()) {
            out["nextToken"] = base64::engine::general_purpose::STANDARD
                .encode(last.name.as_bytes())
                .into();
        }
        Ok(out)
    }

    pub(super) fn update_state_machine(&self, i: &Input<'_>) -> Result<Value, ApiError> {
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
        let (publish, version_description) = check_publish(i)?;
        check_encryption(i)?;
        let change = Update {
            definition: definition.map(str::to_owned),
            role_arn: role_arn.map(str::to_owned),
            logging: logging
                .map(|l| logging_configuration(Some(l)))
                .transpose()?,
            tracing: tracing
                .map(|t| tracing_configuration(Some(t)))
                .transpose()?,
        };
        let name = self.machine(arn)?.name.clone();
        let m = self
            .engine
            .registry()
            .update(&name, change, new_revision(), self.engine.now_ms())
            .map_err(|e| registry_error(e, arn))?;
        let mut out = json!({"updateDate": timestamp(m.updated_ms),
                  "revisionId": m.revision_id.clone().unwrap_or_default()});
        if publish {
            let (version_arn, _) = self.publish(&m, None, version_description)?;
            out["stateMachineVersionArn"] = version_arn.into();
        }
        Ok(out)
    }

    pub(super) fn delete_state_machine(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn_text = i.required("stateMachineArn")?;
        let arn = Arn::parse(arn_text)?.expect("stateMachine")?;
        if arn.region == self.scope.region && arn.account == self.scope.account {
            self.engine.registry().delete(arn.rest);
        }
        // Deleting is idempotent, as with AWS: an unknown machine is already gone.
        Ok(json!({}))
    }

    pub(super) fn validate_definition(&self, i: &Input<'_>) -> Result<Value, ApiError> {
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

    /// The name of the machine a tagging request's `arn` names, or `ResourceNotFound`.
    fn tagged(&self, arn: &str) -> Result<String, ApiError> {
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "stateMachine"
            || parsed.region != self.scope.region
            || parsed.account != self.scope.account
            || self.engine.registry().get(parsed.rest).is_none()
        {
            return Err(not_found(arn));
        }
        Ok(parsed.rest.to_owned())
    }

    pub(super) fn tag_resource(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn = i.required("resourceArn")?;
        let new = tags(Some(i.array("tags")?.ok_or_else(|| {
            ApiError::constraint("null", "tags", "Member must not be null")
        })?))?;
        let name = self.tagged(arn)?;
        self.engine
            .registry()
            .tag(&name, new)
            .map_err(|e| registry_error(e, arn))?;
        Ok(json!({}))
    }

    pub(super) fn untag_resource(&self, i: &Input<'_>) -> Result<Value, ApiError> {
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
        let name = self.tagged(arn)?;
        self.engine
            .registry()
            .untag(&name, &keys)
            .map_err(|e| registry_error(e, arn))?;
        Ok(json!({}))
    }

    pub(super) fn list_tags(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn = i.required("resourceArn")?;
        let name = self.tagged(arn)?;
        let m = self
            .engine
            .registry()
            .get(&name)
            .ok_or_else(|| not_found(arn))?;
        let tags: Vec<Value> = m
            .tags
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        Ok(json!({ "tags": tags }))
    }
}

fn does_not_exist(arn_text: &str) -> ApiError {
    ApiError::new(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn_text}'"),
    )
}

fn not_found(arn: &str) -> ApiError {
    ApiError::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
}

/// A registry refusal as the API answers it; `arn` is the ARN the request named.
pub(super) fn registry_error(e: RegistryError, arn: &str) -> ApiError {
    match e {
        RegistryError::InvalidDefinition(d) => invalid_definition(&d),
        RegistryError::AlreadyExists(existing) => ApiError::new(
            "StateMachineAlreadyExists",
            format!("State Machine Already Exists: '{existing}'"),
        ),
        // AWS's words, then the limit and the flag that sets it.
        RegistryError::LimitExceeded(limit) => ApiError::new(
            "StateMachineLimitExceeded",
            format!("The maximum number of state machines has been reached. Existing state machines must be deleted before a new state machine can be created. (This server holds at most {limit}; statejet serve --max-state-machines sets it.)"),
        ),
        RegistryError::DoesNotExist(_) => does_not_exist(arn),
        RegistryError::TooManyTags => too_many_tags(arn),
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

/// A machine's `type` (STANDARD, the API's default, or EXPRESS).
fn machine_type(t: &str) -> Result<MachineType, ApiError> {
    match t {
        "EXPRESS" => Ok(MachineType::Express),
        "STANDARD" => Ok(MachineType::Standard),
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

/// The wire name of a machine type.
pub(super) fn type_name(t: MachineType) -> &'static str {
    match t {
        MachineType::Express => "EXPRESS",
        MachineType::Standard => "STANDARD",
    }
}

/// Reads a `loggingConfiguration` (absent: level OFF, no execution data).
fn logging_configuration(given: Option<&Map<String, Value>>) -> Result<Logging, ApiError> {
    let Some(given) = given else {
        return Ok(Logging::default());
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
    let destinations = destinations
        .map(|all| {
            all.iter()
                .map(|d| {
                    let group = d.get("cloudWatchLogsLogGroup");
                    let arn = string_value(group.and_then(|g| g.get("logGroupArn")))?;
                    Ok(LogDestination {
                        log_group_arn: arn.map(str::to_owned),
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .transpose()?;
    Ok(Logging {
        level,
        include_execution_data: include,
        destinations,
    })
}

/// A `loggingConfiguration` as Describe answers it.
pub(super) fn logging_value(l: &Logging) -> Value {
    let mut value = json!({
        "level": l.level.as_str(),
        "includeExecutionData": l.include_execution_data,
    });
    if let Some(d) = &l.destinations {
        let d: Vec<Value> = d
            .iter()
            .map(|d| match &d.log_group_arn {
                Some(arn) => json!({"cloudWatchLogsLogGroup": {"logGroupArn": arn}}),
                None => json!({}),
            })
            .collect();
        value["destinations"] = Value::Array(d);
    }
    value
}

fn tracing_configuration(given: Option<&Map<String, Value>>) -> Result<bool, ApiError> {
    Ok(bool_value(given.and_then(|g| g.get("enabled")))?.unwrap_or(false))
}

fn too_many_tags(arn: &str) -> ApiError {
    ApiError::new(
        "TooManyTags",
        format!("Too many tags: a resource may have at most {MAX_TAGS} tags ('{arn}')"),
    )
}

/// Reads `[{"key", "value"}]` into an ordered map (a repeated key keeps its last value).
pub(super) fn tags(given: Option<&Vec<Value>>) -> Result<IndexMap<String, String>, ApiError> {
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
