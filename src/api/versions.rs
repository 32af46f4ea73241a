//! State machine versions and aliases on the wire: `PublishStateMachineVersion`,
//! `ListStateMachineVersions`, `DeleteStateMachineVersion`, the alias operations, and the
//! qualified ARNs (`NAME:1`, `NAME:ALIAS`) that starts and `DescribeStateMachine` take.
//!
//! Invariant: nothing is kept here; versions and aliases live in the registry beside their
//! machine (and are deleted with it).

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};

use super::machines::{logging_value, type_name};
use super::wire::{check_length, timestamp, ApiError, Arn, Input};
use super::Api;
use crate::runtime::registry::{Alias, Machine, PublishError};

/// What a (possibly qualified) state machine ARN starts: the machine revision or version, and
/// the version and alias it went through.
pub(super) struct Target {
    pub machine: Arc<Machine>,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
}

/// An alias's routing: (version number, weight) pairs.
type Routing = Vec<(u32, u32)>;

/// A qualifier: a version number or an alias name.
enum Qualifier<'a> {
    Version(u32),
    Alias(&'a str),
}

/// Splits `NAME[:QUALIFIER]` (the part of a state machine ARN after `stateMachine:`).
fn qualified(rest: &str) -> (&str, Option<Qualifier<'_>>) {
    match rest.split_once(':') {
        None => (rest, None),
        Some((name, q)) => match q.parse::<u32>() {
            Ok(n) if q.bytes().all(|b| b.is_ascii_digit()) => (name, Some(Qualifier::Version(n))),
            _ => (name, Some(Qualifier::Alias(q))),
        },
    }
}

fn does_not_exist(arn: &str) -> ApiError {
    ApiError::new(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

fn resource_not_found() -> ApiError {
    ApiError::new(
        "ResourceNotFound",
        "Request references a resource that does not exist.",
    )
}

pub(super) fn publish_error(e: PublishError, arn: &str) -> ApiError {
    match e {
        PublishError::MachineDoesNotExist(_) => does_not_exist(arn),
        PublishError::Conflict(m) => ApiError::new("ConflictException", m),
        PublishError::NotFound(m) => ApiError::new("ResourceNotFound", m),
        PublishError::Invalid(m) => ApiError::new("ValidationException", m),
        PublishError::LimitExceeded(m) => ApiError::new("ServiceQuotaExceededException", m),
    }
}

impl Api {
    /// The machine an unqualified ARN of this server names, with its name.
    fn base_machine<'a>(
        &self,
        arn_text: &'a str,
    ) -> Result<(Arc<Machine>, Option<Qualifier<'a>>), ApiError> {
        self.base_machine_of(arn_text, Arn::parse(arn_text)?)
    }

    /// `base_machine` of an ARN already parsed (`arn` is `arn_text`'s).
    fn base_machine_of<'a>(
        &self,
        arn_text: &'a str,
        arn: Arn<'a>,
    ) -> Result<(Arc<Machine>, Option<Qualifier<'a>>), ApiError> {
        let arn = arn.expect("stateMachine")?;
        let (_, qualifier) = qualified(arn.rest);
        if qualifier.is_none() {
            return Ok((self.machine_of(arn_text, &arn)?, None));
        }
        // The machine's ARN is the given one without its qualifier (region and account kept).
        let plain = arn_text.rsplit_once(':').map_or(arn_text, |(p, _)| p);
        let m = self.machine(plain).map_err(|mut e| {
            // The error names the ARN as given.
            e.message = e
                .message
                .replace(&format!("'{plain}'"), &format!("'{arn_text}'"));
            e
        })?;
        Ok((m, qualifier))
    }

    /// What a state machine, version or alias ARN starts. An alias picks one of its versions
    /// by weight, per start.
    pub(super) fn start_target(&self, arn_text: &str) -> Result<Target, ApiError> {
        self.start_target_of(arn_text, Arn::parse(arn_text)?)
    }

    /// `start_target` of an ARN already parsed (`arn` is `arn_text`'s): a start parses its
    /// machine's ARN once.
    pub(super) fn start_target_of(&self, arn_text: &str, arn: Arn<'_>) -> Result<Target, ApiError> {
        let (m, qualifier) = self.base_machine_of(arn_text, arn)?;
        let registry = self.engine.registry();
        match qualifier {
            None => Ok(Target {
                machine: m,
                version_arn: None,
                alias_arn: None,
            }),
            Some(Qualifier::Version(n)) => {
                let v = registry
                    .version(&m.name, n)
                    .ok_or_else(|| does_not_exist(arn_text))?;
                Ok(Target {
                    machine: v.machine.clone(),
                    version_arn: Some(v.arn.clone()),
                    alias_arn: None,
                })
            }
            Some(Qualifier::Alias(a)) => {
                let alias = registry
                    .alias(&m.name, a)
                    .ok_or_else(|| does_not_exist(arn_text))?;
                let number = alias.pick();
                let v = registry
                    .version(&m.name, number)
                    .ok_or_else(|| does_not_exist(arn_text))?;
                Ok(Target {
                    machine: v.machine.clone(),
                    version_arn: Some(v.arn.clone()),
                    alias_arn: Some(alias.arn),
                })
            }
        }
    }

    /// `DescribeStateMachine` of a version ARN: the version's definition and settings, its
    /// ARN as `stateMachineArn`, its description.
    pub(super) fn describe_version(&self, arn_text: &str) -> Result<Option<Value>, ApiError> {
        let (m, qualifier) = self.base_machine(arn_text)?;
        let n = match qualifier {
            None => return Ok(None),
            Some(Qualifier::Version(n)) => n,
            Some(Qualifier::Alias(_)) => return Err(does_not_exist(arn_text)),
        };
        let v = self
            .engine
            .registry()
            .version(&m.name, n)
            .ok_or_else(|| does_not_exist(arn_text))?;
        let vm = &v.machine;
        let mut out = json!({
            "stateMachineArn": v.arn,
            "name": &*vm.name,
            "status": "ACTIVE",
            "definition": vm.definition,
            "roleArn": &*vm.role_arn,
            "type": type_name(vm.machine_type),
            "creationDate": timestamp(v.creation_ms),
            "loggingConfiguration": logging_value(&vm.logging),
            "tracingConfiguration": {"enabled": vm.tracing},
        });
        if let Some(r) = &vm.revision_id {
            out["revisionId"] = r.clone().into();
        }
        if let Some(d) = &v.description {
            out["description"] = d.clone().into();
        }
        Ok(Some(out))
    }

    /// Publishes `m`'s current revision; the version's ARN.
    pub(super) fn publish(
        &self,
        m: &Machine,
        revision_id: Option<&str>,
        description: Option<&str>,
    ) -> Result<(String, u64), ApiError> {
        let v = self
            .engine
            .registry()
            .publish(
                &m.name,
                revision_id,
                description.map(str::to_owned),
                self.engine.now_ms(),
            )
            .map_err(|e| publish_error(e, m.arn.as_str()))?;
        Ok((v.arn.clone(), v.creation_ms))
    }

    pub(super) fn publish_state_machine_version(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn = i.required("stateMachineArn")?;
        let revision = i.string("revisionId")?;
        let description = i.string("description")?;
        if let Some(d) = description {
            check_length(d, "description", 0, 256)?;
        }
        let m = self.machine(arn)?;
        let (version_arn, creation_ms) = self.publish(&m, revision, description)?;
        Ok(json!({"creationDate": timestamp(creation_ms), "stateMachineVersionArn": version_arn}))
    }

    pub(super) fn list_state_machine_versions(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let m = self.machine(i.required("stateMachineArn")?)?;
        let versions = self.engine.registry().versions(&m.name);
        let items: Vec<Value> = versions
            .iter()
            .map(|v| json!({"stateMachineVersionArn": v.arn, "creationDate": timestamp(v.creation_ms)}))
            .collect();
        page(i, items, "stateMachineVersions")
    }

    pub(super) fn delete_state_machine_version(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn_text = i.required("stateMachineVersionArn")?;
        let arn = Arn::parse(arn_text)?.expect("stateMachine")?;
        let (name, qualifier) = qualified(arn.rest);
        let Some(Qualifier::Version(n)) = qualifier else {
            return Err(ApiError::new(
                "ValidationException",
                format!(
                    "Invalid Arn: a state machine version ARN must end in ':NUMBER': '{arn_text}'"
                ),
            ));
        };
        if arn.region == self.scope.region && arn.account == self.scope.account {
            self.engine
                .registry()
                .delete_version(name, n)
                .map_err(|e| publish_error(e, arn_text))?;
        }
        Ok(json!({}))
    }

    /// Reads and checks a `routingConfiguration`: one or two distinct versions of `machine`,
    /// weights 0 to 100 adding up to 100.
    fn routing(
        &self,
        i: &Input<'_>,
        machine: Option<&str>,
    ) -> Result<Option<(String, Routing)>, ApiError> {
        let Some(items) = i.array("routingConfiguration")? else {
            return Ok(None);
        };
        let mut arns = Vec::new();
        let mut weights = Vec::new();
        for (k, item) in items.iter().enumerate() {
            let arn = item
                .get("stateMachineVersionArn")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ApiError::constraint(
                        "null",
                        &format!(
                            "routingConfiguration.{}.member.stateMachineVersionArn",
                            k + 1
                        ),
                        "Member must not be null",
                    )
                })?;
            let weight = item.get("weight").and_then(Value::as_i64).ok_or_else(|| {
                ApiError::constraint(
                    "null",
                    &format!("routingConfiguration.{}.member.weight", k + 1),
                    "Member must not be null",
                )
            })?;
            if weight > 100 {
                return Err(ApiError::constraint(
                    &format!("'{weight}'"),
                    &format!("routingConfiguration.{}.member.weight", k + 1),
                    "Member must have value less than or equal to 100",
                ));
            }
            if weight < 0 {
                return Err(ApiError::constraint(
                    &format!("'{weight}'"),
                    &format!("routingConfiguration.{}.member.weight", k + 1),
                    "Member must have value greater than or equal to 0",
                ));
            }
            arns.push(arn.to_owned());
            weights.push(weight as u32);
        }
        if items.is_empty() || items.len() > 2 {
            let listed: Vec<String> = arns
                .iter()
                .zip(&weights)
                .map(|(a, w)| {
                    format!("RoutingConfigurationListItem(stateMachineVersionArn={a}, weight={w})")
                })
                .collect();
            let bound = if items.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 2"
            };
            return Err(ApiError::constraint(
                &format!("'[{}]'", listed.join(", ")),
                "routingConfiguration",
                bound,
            ));
        }
        let mut machine_name: Option<String> = machine.map(str::to_owned);
        let mut routing = Vec::new();
        for (arn, w) in arns.iter().zip(&weights) {
            let parsed = Arn::parse(arn)?.expect("stateMachine")?;
            let (name, qualifier) = qualified(parsed.rest);
            let Some(Qualifier::Version(n)) = qualifier else {
                return Err(ApiError::new("ValidationException", format!("Routing configuration must contain state machine version ARNs. Received: [{}]", arns.join(", "))));
            };
            match &machine_name {
                Some(m) if m != name => {
                    return Err(ApiError::new("ValidationException", format!("Routing configuration must contain versions of one state machine. Received: [{}]", arns.join(", "))));
                }
                _ => machine_name = Some(name.to_owned()),
            }
            routing.push((n, *w));
        }
        if routing.len() == 2 && routing[0].0 == routing[1].0 {
            return Err(ApiError::new("ValidationException", format!("Routing configuration must contain distinct state machine version ARNs. Received: [{}]", arns.join(", "))));
        }
        if weights.iter().sum::<u32>() != 100 {
            let w: Vec<String> = weights.iter().map(u32::to_string).collect();
            return Err(ApiError::new(
                "ValidationException",
                format!(
                    "Sum of routing configuration weights must equal 100. Received: [{}]",
                    w.join(", ")
                ),
            ));
        }
        Ok(machine_name.map(|m| (m, routing)))
    }

    pub(super) fn create_state_machine_alias(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let name = i.required("name")?;
        check_alias_name(name)?;
        let description = i.string("description")?;
        if let Some(d) = description {
            check_length(d, "description", 0, 256)?;
        }
        let Some((machine, routing)) = self.routing(i, None)? else {
            return Err(ApiError::constraint(
                "null",
                "routingConfiguration",
                "Member must not be null",
            ));
        };
        let a = self
            .engine
            .registry()
            .create_alias(
                &machine,
                name,
                description.map(str::to_owned),
                routing,
                self.engine.now_ms(),
            )
            .map_err(|e| publish_error(e, &self.scope.state_machine(&machine)))?;
        Ok(json!({"stateMachineAliasArn": a.arn, "creationDate": timestamp(a.creation_ms)}))
    }

    /// The machine and alias an alias ARN names (`None`: no such machine or alias ARN form).
    fn alias_of(&self, arn_text: &str) -> Result<Option<(String, String)>, ApiError> {
        let arn = Arn::parse(arn_text)?.expect("stateMachine")?;
        let (name, qualifier) = qualified(arn.rest);
        let Some(Qualifier::Alias(alias)) = qualifier else {
            return Err(ApiError::new(
                "ValidationException",
                format!(
                    "Invalid Arn: a state machine alias ARN must end in ':ALIAS': '{arn_text}'"
                ),
            ));
        };
        if arn.region != self.scope.region || arn.account != self.scope.account {
            return Ok(None);
        }
        Ok(Some((name.to_owned(), alias.to_owned())))
    }

    pub(super) fn describe_state_machine_alias(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn = i.required("stateMachineAliasArn")?;
        let (machine, alias) = self.alias_of(arn)?.ok_or_else(resource_not_found)?;
        let a = self
            .engine
            .registry()
            .alias(&machine, &alias)
            .ok_or_else(resource_not_found)?;
        Ok(alias_value(&a, self, &machine))
    }

    pub(super) fn update_state_machine_alias(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn = i.required("stateMachineAliasArn")?;
        let description = i.string("description")?;
        if let Some(d) = description {
            check_length(d, "description", 0, 256)?;
        }
        let (machine, alias) = self.alias_of(arn)?.ok_or_else(resource_not_found)?;
        let routing = self.routing(i, Some(&machine))?.map(|(_, r)| r);
        if description.is_none() && routing.is_none() {
            return Err(ApiError::new(
                "MissingRequiredParameter",
                "Either the description or the RoutingConfiguration must be specified",
            ));
        }
        let a = self
            .engine
            .registry()
            .update_alias(
                &machine,
                &alias,
                description.map(str::to_owned),
                routing,
                self.engine.now_ms(),
            )
            .map_err(|e| publish_error(e, arn))?;
        Ok(json!({ "updateDate": timestamp(a.update_ms) }))
    }

    pub(super) fn delete_state_machine_alias(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let arn = i.required("stateMachineAliasArn")?;
        if let Some((machine, alias)) = self.alias_of(arn)? {
            self.engine.registry().delete_alias(&machine, &alias);
        }
        Ok(json!({}))
    }

    pub(super) fn list_state_machine_aliases(&self, i: &Input<'_>) -> Result<Value, ApiError> {
        let m = self.machine(i.required("stateMachineArn")?)?;
        let items: Vec<Value> = self
            .engine
            .registry()
            .aliases(&m.name)
            .iter()
            .map(|a| json!({"stateMachineAliasArn": a.arn, "creationDate": timestamp(a.creation_ms)}))
            .collect();
        page(i, items, "stateMachineAliases")
    }
}

fn alias_value(a: &Alias, api: &Api, machine: &str) -> Value {
    let routing: Vec<Value> = a
        .routing
        .iter()
        .map(|(v, w)| json!({"stateMachineVersionArn": api.scope.state_machine_version(machine, *v), "weight": w}))
        .collect();
    let mut out = json!({
        "stateMachineAliasArn": a.arn,
        "name": a.name,
        "routingConfiguration": routing,
        "creationDate": timestamp(a.creation_ms),
        "updateDate": timestamp(a.update_ms),
    });
    if let Some(d) = &a.description {
        out["description"] = d.clone().into();
    }
    out
}

/// An alias name as AWS allows it: 1 to 80 of letters, digits, `_-.`, not only digits.
fn check_alias_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > 80 {
        return Err(ApiError::constraint(
            &format!("'{name}'"),
            "name",
            "Member must have length less than or equal to 80",
        ));
    }
    let allowed = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    let not_digits = name.chars().any(|c| !c.is_ascii_digit());
    if name.is_empty() || !allowed || !not_digits {
        return Err(ApiError::constraint(&format!("'{name}'"), "name", "Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$"));
    }
    Ok(())
}

/// A page of `items` by `maxResults` and `nextToken` (a position, base64-encoded).
fn page(i: &Input<'_>, items: Vec<Value>, key: &str) -> Result<Value, ApiError> {
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
    let invalid = || ApiError::new("InvalidToken", "Invalid Token: 'Invalid token'");
    let from = match i.bounded("nextToken", 1024)? {
        None => 0,
        Some(t) => base64::engine::general_purpose::STANDARD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(invalid)?,
    };
    let total = items.len();
    let listed: Vec<Value> = items.into_iter().skip(from).take(max).collect();
    let mut out = json!({ key: listed });
    if from.saturating_add(max) < total {
        out["nextToken"] = base64::engine::general_purpose::STANDARD
            .encode((from.saturating_add(max)).to_string())
            .into();
    }
    Ok(out)
}
