//! The one registry of state machines: each machine's name, ARN, type, definition text, validated
//! form and compiled program, logging, tags, role, revision and creation date, with typed
//! operations (create, update, delete, describe, list, tag). The API translates the wire to
//! these calls; the engine starts executions from what it finds here.
//!
//! Invariant: a registered machine is an immutable `Arc<Machine>`, replaced whole by an update,
//! so an execution keeps the program and settings it started with across updates and deletes;
//! only a new definition is validated and compiled again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use indexmap::IndexMap;

use super::logs::{Level, LoggingConfiguration};
use super::metrics::MachineMetrics;
use crate::arn::{ExecutionPrefix, Scope, StateMachineArn};
use crate::asl::{self, Diagnostic, MachineType, StateMachine};
use crate::compile::{self, Program};
use crate::vm::run::Tally;

/// The most tags a resource may have (AWS's quota).
pub const MAX_TAGS: usize = 50;

/// The longest an Express execution may run, in seconds (5 minutes).
pub const EXPRESS_MAX_SECONDS: u64 = 300;

/// The longest a Standard execution may run, in seconds (one year).
pub const STANDARD_MAX_SECONDS: u64 = 365 * 24 * 3600;

/// How long an execution of a machine of `machine_type` may run, in seconds.
pub fn max_duration_seconds(machine_type: MachineType) -> u64 {
    match machine_type {
        MachineType::Express => EXPRESS_MAX_SECONDS,
        MachineType::Standard => STANDARD_MAX_SECONDS,
    }
}

/// A machine's `loggingConfiguration`, typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Logging {
    pub level: Level,
    pub include_execution_data: bool,
    /// The log groups given (`None`: no `destinations` field at all). statejet writes its logs
    /// to its own sink and keeps these to describe the machine as it was configured.
    pub destinations: Option<Vec<LogDestination>>,
}

/// One entry of `loggingConfiguration.destinations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDestination {
    /// `cloudWatchLogsLogGroup.logGroupArn`, if given.
    pub log_group_arn: Option<String>,
}

impl Logging {
    /// The logging statejet gives a machine that came without a `loggingConfiguration`: `level`
    /// (with one destination, as the API requires of a level: the log group `/statejet/NAME`).
    pub fn server_default(
        scope: &Scope,
        name: &str,
        level: Level,
        include_execution_data: bool,
    ) -> Logging {
        Logging {
            level,
            include_execution_data,
            destinations: (level != Level::Off).then(|| {
                vec![LogDestination {
                    log_group_arn: Some(scope.log_group(&format!("/statejet/{name}"))),
                }]
            }),
        }
    }

    /// The name of the log group the logs go to: the first destination's (its ARN's name part).
    pub fn log_group(&self) -> Option<Arc<str>> {
        let arn = self
            .destinations
            .as_ref()?
            .first()?
            .log_group_arn
            .as_deref()?;
        crate::arn::log_group_name(arn).map(Arc::from)
    }

    /// What the log writer needs to know.
    pub fn configuration(&self) -> LoggingConfiguration {
        LoggingConfiguration {
            level: self.level,
            include_execution_data: self.include_execution_data,
        }
    }
}

/// A registered state machine, as one revision of it is: immutable.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Shared (as `role_arn` and `arn`) with every execution of this revision.
    pub name: Arc<str>,
    pub arn: StateMachineArn,
    /// What its executions' ARNs start with (they are made when read).
    pub execution_prefix: ExecutionPrefix,
    /// EXPRESS or STANDARD: the execution ARNs' form and the time cap follow it.
    pub machine_type: MachineType,
    /// `None` until the first update.
    pub revision_id: Option<String>,
    pub definition: String,
    /// The validated form (the live page draws it; nothing re-validates the text).
    pub validated: Arc<StateMachine>,
    /// What executions run; shared by every execution of this revision.
    pub program: Arc<Program>,
    pub logging: Logging,
    /// `tracingConfiguration.enabled`.
    pub tracing: bool,
    pub role_arn: Arc<str>,
    pub creation_ms: u64,
    /// When this revision was made (its creation, or the update that made it).
    pub updated_ms: u64,
    pub tags: IndexMap<String, String>,
    /// Counters of every execution of the name (kept across updates).
    pub metrics: Arc<MachineMetrics>,
    /// Per-state counts of this program's executions (they start again with a new program).
    pub tally: Arc<Tally>,
}

impl Machine {
    /// How long an execution may run, in seconds: the definition's `TimeoutSeconds`, at most
    /// what its type allows.
    pub fn time_limit_seconds(&self) -> u64 {
        let max = max_duration_seconds(self.machine_type);
        self.validated.timeout_seconds.unwrap_or(max).min(max)
    }
}

/// What `create` is given.
#[derive(Debug, Clone)]
pub struct NewMachine {
    pub name: String,
    pub definition: String,
    pub machine_type: MachineType,
    pub role_arn: String,
    pub logging: Logging,
    pub tracing: bool,
    pub tags: IndexMap<String, String>,
}

/// What `update` changes (`None`: keep).
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging: Option<Logging>,
    pub tracing: Option<bool>,
}

/// Why a registry operation was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RegistryError {
    #[error("invalid definition: {}", .0.iter().map(Diagnostic::to_string).collect::<Vec<_>>().join(", "))]
    InvalidDefinition(Vec<Diagnostic>),
    /// Another machine of this name (a different definition or role) exists.
    #[error("State Machine Already Exists: '{0}'")]
    AlreadyExists(StateMachineArn),
    /// As many machines as allowed are registered.
    #[error("at most {0} state machines may be registered")]
    LimitExceeded(usize),
    #[error("State Machine Does Not Exist: '{0}'")]
    DoesNotExist(String),
    #[error("a resource may have at most {MAX_TAGS} tags")]
    TooManyTags,
}

/// The registry. Reads are lock-free per machine (executions look their machine up on every
/// start); writes are serialized, so a create's checks and its insert are one step.
pub struct Registry {
    /// Hashed with foldhash, not SipHash: a start looks its machine up by name on every
    /// request, and SipHash cost more than the rest of the look-up. Its keys are names stored
    /// only by `CreateStateMachine` (signed, when the server has credentials) and the
    /// definitions folder, at most `max_machines` of them: a request's name is only looked up,
    /// so a client cannot fill a bucket by naming things; and foldhash's seed is random per
    /// process, so colliding names cannot be worked out ahead. A flood would need to create
    /// machines, and is bounded by `max_machines` per look-up whatever the hash.
    machines: DashMap<String, Arc<Machine>, foldhash::fast::RandomState>,
    writes: Mutex<()>,
    /// Versions and aliases, per machine name (deleted with their machine).
    published: Mutex<HashMap<String, Published>>,
    scope: Scope,
    max_machines: usize,
}

impl Registry {
    pub fn new(scope: Scope, max_machines: usize) -> Registry {
        Registry {
            machines: DashMap::default(),
            writes: Mutex::new(()),
            published: Mutex::default(),
            scope,
            max_machines,
        }
    }

    /// The region and account of the registry's ARNs.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The machine registered under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Machine>> {
        self.machines.get(name).map(|m| m.clone())
    }

    /// How many machines are registered.
    pub fn len(&self) -> usize {
        self.machines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.machines.is_empty()
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.machines.iter().map(|m| m.key().clone()).collect();
        names.sort();
        names
    }

    /// Up to `max` machines in name order after `after`, and whether more follow.
    pub fn list(&self, after: Option<&str>, max: usize) -> (Vec<Arc<Machine>>, bool) {
        let mut all: Vec<Arc<Machine>> = self
            .machines
            .iter()
            .filter(|m| after.is_none_or(|a| m.key().as_str() > a))
            .map(|m| m.value().clone())
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let more = all.len() > max;
        all.truncate(max);
        (all, more)
    }

    /// Validates, compiles and registers a machine made at `now_ms`. A repeated identical create
    /// (same definition and role) answers the existing machine, as AWS's is idempotent.
    pub fn create(&self, spec: NewMachine, now_ms: u64) -> Result<Arc<Machine>, RegistryError> {
        let validated = validate(&spec.definition, spec.machine_type)?;
        let _writing = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = self.get(&spec.name) {
            if existing.definition == spec.definition && *existing.role_arn == *spec.role_arn {
                return Ok(existing);
            }
            return Err(RegistryError::AlreadyExists(existing.arn.clone()));
        }
        if self.machines.len() >= self.max_machines {
            return Err(RegistryError::LimitExceeded(self.max_machines));
        }
        if spec.tags.len() > MAX_TAGS {
            return Err(RegistryError::TooManyTags);
        }
        let (program, tally) = compiled(&validated, &spec.definition);
        let machine = Arc::new(Machine {
            arn: self.scope.state_machine_arn(&spec.name),
            execution_prefix: self.scope.execution_prefix(spec.machine_type, &spec.name),
            name: spec.name.into(),
            machine_type: spec.machine_type,
            revision_id: None,
            definition: spec.definition,
            validated,
            program,
            logging: spec.logging,
            tracing: spec.tracing,
            role_arn: spec.role_arn.into(),
            creation_ms: now_ms,
            updated_ms: now_ms,
            tags: spec.tags,
            metrics: Arc::default(),
            tally,
        });
        self.machines
            .insert(machine.name.to_string(), machine.clone());
        Ok(machine)
    }

    /// Registers `definition` under `name` whatever is there (replacing it, as an update of its
    /// definition would): for in-process users that own their names (tests, benches, loadtest).
    pub fn put(
        &self,
        name: &str,
        definition: &str,
        machine_type: MachineType,
        logging: Logging,
        now_ms: u64,
    ) -> Result<Arc<Machine>, RegistryError> {
        if self
            .get(name)
            .is_some_and(|m| m.machine_type == machine_type)
        {
            let change = Update {
                definition: Some(definition.to_owned()),
                logging: Some(logging),
                ..Update::default()
            };
            return self.update(name, change, new_revision(), now_ms);
        }
        self.machines.remove(name);
        self.create(
            NewMachine {
                name: name.to_owned(),
                definition: definition.to_owned(),
                machine_type,
                role_arn: self.scope.role("statejet"),
                logging,
                tracing: false,
                tags: IndexMap::new(),
            },
            now_ms,
        )
    }

    /// Applies `change` as a new revision `revision_id`. Only a new definition is validated and
    /// compiled (a logging or role change keeps the program and its per-state counts).
    pub fn update(
        &self,
        name: &str,
        change: Update,
        revision_id: String,
        now_ms: u64,
    ) -> Result<Arc<Machine>, RegistryError> {
        let missing = || RegistryError::DoesNotExist(name.to_owned());
        let machine_type = self.get(name).ok_or_else(missing)?.machine_type;
        let validated = change
            .definition
            .as_deref()
            .map(|d| validate(d, machine_type))
            .transpose()?;
        let _writing = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.get(name).ok_or_else(missing)?;
        let mut next = (*current).clone();
        if let (Some(v), Some(d)) = (validated, change.definition) {
            let (program, tally) = compiled(&v, &d);
            next.validated = v;
            next.program = program;
            next.tally = tally;
            next.definition = d;
        }
        if let Some(r) = change.role_arn {
            next.role_arn = r.into();
        }
        if let Some(l) = change.logging {
            next.logging = l;
        }
        if let Some(t) = change.tracing {
            next.tracing = t;
        }
        next.revision_id = Some(revision_id);
        next.updated_ms = now_ms;
        let next = Arc::new(next);
        self.machines.insert(name.to_owned(), next.clone());
        Ok(next)
    }

    /// Forgets a machine; its executions in flight run to their end. Whether it was there.
    pub fn delete(&self, name: &str) -> bool {
        let _writing = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.published().remove(name);
        self.machines.remove(name).is_some()
    }

    /// Adds (or overwrites) tags of a machine; refused past `MAX_TAGS` in all.
    pub fn tag(&self, name: &str, tags: IndexMap<String, String>) -> Result<(), RegistryError> {
        self.retag(name, |t| {
            t.extend(tags);
            if t.len() > MAX_TAGS {
                return Err(RegistryError::TooManyTags);
            }
            Ok(())
        })
    }

    /// Removes tags of a machine (absent keys are no error).
    pub fn untag(&self, name: &str, keys: &[String]) -> Result<(), RegistryError> {
        self.retag(name, |t| {
            for k in keys {
                t.shift_remove(k);
            }
            Ok(())
        })
    }

    fn retag(
        &self,
        name: &str,
        f: impl FnOnce(&mut IndexMap<String, String>) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError> {
        let _writing = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let current = self
            .get(name)
            .ok_or_else(|| RegistryError::DoesNotExist(name.to_owned()))?;
        let mut next = (*current).clone();
        f(&mut next.tags)?;
        self.machines.insert(name.to_owned(), Arc::new(next));
        Ok(())
    }
}

/// A new revision id (a UUID, as AWS's are).
pub fn new_revision() -> String {
    super::engine::new_uuid()
}

fn validate(
    definition: &str,
    machine_type: MachineType,
) -> Result<Arc<StateMachine>, RegistryError> {
    asl::validate(definition, &asl::Config { machine_type })
        .map(Arc::new)
        .map_err(RegistryError::InvalidDefinition)
}

fn compiled(validated: &Arc<StateMachine>, definition: &str) -> (Arc<Program>, Arc<Tally>) {
    // The program keeps the same validated form, not a copy of it.
    let program =
        Arc::new(compile::compile_shared(validated.clone()).reading_context_as(definition));
    let tally = Arc::new(Tally::new(program.clone()));
    (program, tally)
}

impl Alias {
    /// The version a start through this alias runs: one of its routes, drawn by weight per
    /// start.
    pub fn pick(&self) -> u32 {
        let draw = u32::from_str_radix(&super::engine::new_uuid()[..8], 16).unwrap_or(0) % 100;
        let mut sum = 0;
        for (v, w) in &self.routing {
            sum += w;
            if draw < sum {
                return *v;
            }
        }
        self.routing.last().map_or(0, |(v, _)| *v)
    }
}

/// The most versions a machine may have, and aliases (AWS's quotas).
pub const MAX_VERSIONS: usize = 1000;
pub const MAX_ALIASES: usize = 100;

/// A published version: a snapshot of one revision, numbered from 1, never reused.
#[derive(Debug, Clone)]
pub struct Version {
    pub number: u32,
    pub arn: String,
    pub machine: Arc<Machine>,
    pub description: Option<String>,
    pub creation_ms: u64,
}

/// An alias: a name routing starts to one or two versions by weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    /// (version number, weight); the weights add up to 100.
    pub routing: Vec<(u32, u32)>,
    pub creation_ms: u64,
    pub update_ms: u64,
}

/// A machine's versions and aliases.
#[derive(Debug, Default)]
struct Published {
    next: u32,
    versions: std::collections::BTreeMap<u32, Arc<Version>>,
    aliases: IndexMap<String, Alias>,
}

/// Why a version or alias operation was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PublishError {
    #[error("State Machine Does Not Exist: '{0}'")]
    MachineDoesNotExist(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    LimitExceeded(String),
}

impl Registry {
    fn published(&self) -> std::sync::MutexGuard<'_, HashMap<String, Published>> {
        self.published.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes the machine's current revision as a version (the latest version again when it
    /// is of this revision). `revision_id`, when given, must be the current one (`INITIAL`: the
    /// machine was never updated).
    pub fn publish(
        &self,
        name: &str,
        revision_id: Option<&str>,
        description: Option<String>,
        now_ms: u64,
    ) -> Result<Arc<Version>, PublishError> {
        let _writing = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let current = self
            .get(name)
            .ok_or_else(|| PublishError::MachineDoesNotExist(name.to_owned()))?;
        let current_revision = current.revision_id.as_deref().unwrap_or("INITIAL");
        if let Some(r) = revision_id {
            if r != current_revision {
                return Err(PublishError::Conflict(format!("Failed to publish the State Machine version for revision {r}. The current State Machine revision is {current_revision}.")));
            }
        }
        let mut all = self.published();
        let p = all.entry(name.to_owned()).or_default();
        if let Some((_, latest)) = p.versions.iter().next_back() {
            if Arc::ptr_eq(&latest.machine, &current) {
                return Ok(latest.clone());
            }
        }
        if p.versions.len() >= MAX_VERSIONS {
            return Err(PublishError::LimitExceeded(format!(
                "a state machine may have at most {MAX_VERSIONS} versions"
            )));
        }
        p.next += 1;
        let number = p.next;
        let v = Arc::new(Version {
            number,
            arn: self.scope.state_machine_version(name, number),
            machine: current,
            description,
            creation_ms: now_ms,
        });
        p.versions.insert(number, v.clone());
        Ok(v)
    }

    /// A version of a machine.
    pub fn version(&self, name: &str, number: u32) -> Option<Arc<Version>> {
        self.published()
            .get(name)
            .and_then(|p| p.versions.get(&number).cloned())
    }

    /// A machine's versions, newest first.
    pub fn versions(&self, name: &str) -> Vec<Arc<Version>> {
        self.published()
            .get(name)
            .map(|p| p.versions.values().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// Deletes a version (an unknown one is already gone); refused while an alias routes to it.
    /// Executions of it run on.
    pub fn delete_version(&self, name: &str, number: u32) -> Result<(), PublishError> {
        let mut all = self.published();
        let Some(p) = all.get_mut(name) else {
            return Ok(());
        };
        let referencing: Vec<&str> = p
            .aliases
            .values()
            .filter(|a| a.routing.iter().any(|(v, _)| *v == number))
            .map(|a| a.name.as_str())
            .collect();
        if !referencing.is_empty() {
            return Err(PublishError::Conflict(format!("Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]", referencing.join(", "))));
        }
        p.versions.remove(&number);
        Ok(())
    }

    /// Checks that every routed version exists.
    fn check_routing(p: Option<&Published>, routing: &[(u32, u32)]) -> Result<(), PublishError> {
        for (v, _) in routing {
            if p.is_none_or(|p| !p.versions.contains_key(v)) {
                return Err(PublishError::NotFound(
                    "Request references a resource that does not exist.".into(),
                ));
            }
        }
        Ok(())
    }

    /// Creates an alias (the same one again is no error; the same name routed otherwise is).
    pub fn create_alias(
        &self,
        machine: &str,
        alias: &str,
        description: Option<String>,
        routing: Vec<(u32, u32)>,
        now_ms: u64,
    ) -> Result<Alias, PublishError> {
        if self.get(machine).is_none() {
            return Err(PublishError::MachineDoesNotExist(machine.to_owned()));
        }
        let mut all = self.published();
        Self::check_routing(all.get(machine), &routing)?;
        let p = all.entry(machine.to_owned()).or_default();
        if let Some(existing) = p.aliases.get(alias) {
            if existing.description == description && existing.routing == routing {
                return Ok(existing.clone());
            }
            return Err(PublishError::Conflict("Failed to create alias because an alias with the same name and a different routing configuration already exists.".into()));
        }
        if p.aliases.len() >= MAX_ALIASES {
            return Err(PublishError::LimitExceeded(format!(
                "a state machine may have at most {MAX_ALIASES} aliases"
            )));
        }
        let a = Alias {
            name: alias.to_owned(),
            arn: self.scope.state_machine_alias(machine, alias),
            description,
            routing,
            creation_ms: now_ms,
            update_ms: now_ms,
        };
        p.aliases.insert(alias.to_owned(), a.clone());
        Ok(a)
    }

    /// An alias of a machine.
    pub fn alias(&self, machine: &str, alias: &str) -> Option<Alias> {
        self.published()
            .get(machine)
            .and_then(|p| p.aliases.get(alias).cloned())
    }

    /// A machine's aliases, in creation order.
    pub fn aliases(&self, machine: &str) -> Vec<Alias> {
        self.published()
            .get(machine)
            .map(|p| p.aliases.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Changes an alias's description and/or routing.
    pub fn update_alias(
        &self,
        machine: &str,
        alias: &str,
        description: Option<String>,
        routing: Option<Vec<(u32, u32)>>,
        now_ms: u64,
    ) -> Result<Alias, PublishError> {
        let mut all = self.published();
        let not_found =
            || PublishError::NotFound("Request references a resource that does not exist.".into());
        if let Some(r) = &routing {
            Self::check_routing(all.get(machine), r)?;
        }
        let a = all
            .get_mut(machine)
            .and_then(|p| p.aliases.get_mut(alias))
            .ok_or_else(not_found)?;
        if let Some(d) = description {
            a.description = Some(d);
        }
        if let Some(r) = routing {
            a.routing = r;
        }
        a.update_ms = now_ms;
        Ok(a.clone())
    }

    /// Deletes an alias (an unknown one is already gone).
    pub fn delete_alias(&self, machine: &str, alias: &str) {
        if let Some(p) = self.published().get_mut(machine) {
            p.aliases.shift_remove(alias);
        }
    }
}
