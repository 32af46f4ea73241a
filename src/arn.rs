//! The ARNs statejet prints: state machines, executions (by machine type), roles, Lambda
//! functions and log groups, all in one `Scope` (region and account) that comes from
//! configuration. (The API reads ARNs with `api::wire::Arn`.)
//!
//! Invariant: no ARN is formatted anywhere else, and no region or account is a constant at its
//! use site: the defaults live in `Scope::default` alone.

use std::sync::{Arc, OnceLock};

use uuid::Uuid;

use crate::asl::MachineType;

/// Where statejet's resources live: the region and account of every ARN it prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub region: String,
    pub account: String,
}

impl Default for Scope {
    /// AWS's documentation region and account, as local emulators use them.
    fn default() -> Scope {
        Scope {
            region: "us-east-1".into(),
            account: "123456789012".into(),
        }
    }
}

/// A state machine's ARN (`arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`), made only by
/// `Scope::state_machine_arn`. Shared: every execution of the machine holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateMachineArn(Arc<str>);

impl StateMachineArn {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text itself, shared (no copy).
    pub fn shared(&self) -> Arc<str> {
        self.0.clone()
    }
}

impl std::fmt::Display for StateMachineArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Scope {
    /// A state machine's typed ARN.
    pub fn state_machine_arn(&self, name: &str) -> StateMachineArn {
        StateMachineArn(self.state_machine(name).into())
    }

    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`.
    pub fn state_machine(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:stateMachine:{name}",
            self.region, self.account
        )
    }

    /// A state machine version's ARN: the machine's with `:N`.
    pub fn state_machine_version(&self, name: &str, number: u32) -> String {
        format!("{}:{number}", self.state_machine(name))
    }

    /// A state machine alias's ARN: the machine's with `:ALIAS`.
    pub fn state_machine_alias(&self, name: &str, alias: &str) -> String {
        format!("{}:{alias}", self.state_machine(name))
    }

    /// An execution's ARN: `express:MACHINE:NAME:UUID` for an Express machine (its name need not
    /// be unique), `execution:MACHINE:NAME` for a Standard one.
    pub fn execution(
        &self,
        machine_type: MachineType,
        machine: &str,
        name: &str,
        id: &str,
    ) -> String {
        // By pieces, as `format!` costs about four times as many instructions.
        let mut arn = String::with_capacity(64 + machine.len() + name.len() + id.len());
        for part in ["arn:aws:states:", &self.region, ":", &self.account, ":"] {
            arn.push_str(part);
        }
        arn.push_str(execution_kind(machine_type));
        for part in [":", machine, ":"] {
            arn.push_str(part);
        }
        push_execution_tail(&mut arn, machine_type, name, id);
        arn
    }

    /// What every execution ARN of `machine` starts with (`Scope::execution` up to its name):
    /// made once per machine, so that an execution's ARN is made only when read.
    pub fn execution_prefix(&self, machine_type: MachineType, machine: &str) -> ExecutionPrefix {
        let text = format!(
            "arn:aws:states:{}:{}:{}:{machine}:",
            self.region,
            self.account,
            execution_kind(machine_type)
        );
        ExecutionPrefix {
            text: text.into(),
            machine_type,
        }
    }

    /// `arn:aws:iam::ACCOUNT:role/NAME` (IAM is global: no region).
    pub fn role(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", self.account)
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`.
    pub fn lambda_function(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.region, self.account
        )
    }

    /// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`.
    pub fn log_group(&self, name: &str) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:{name}:*",
            self.region, self.account
        )
    }

    /// `arn:aws:states:REGION:ACCOUNT:activity:NAME`.
    pub fn activity(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:activity:{name}",
            self.region, self.account
        )
    }
}

/// The resource kind in an execution ARN of a machine of `machine_type`.
fn execution_kind(machine_type: MachineType) -> &'static str {
    match machine_type {
        MachineType::Express => "express",
        MachineType::Standard => "execution",
    }
}

/// Appends what follows the machine's name in an execution ARN: `NAME:UUID` (Express), `NAME`
/// (Standard).
fn push_execution_tail(arn: &mut String, machine_type: MachineType, name: &str, id: &str) {
    arn.push_str(name);
    if machine_type == MachineType::Express {
        arn.push(':');
        arn.push_str(id);
    }
}

/// The start of a machine's execution ARNs (`arn:aws:states:REGION:ACCOUNT:express:MACHINE:`),
/// made by `Scope::execution_prefix`; shared by every execution of the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionPrefix {
    text: Arc<str>,
    machine_type: MachineType,
}

impl ExecutionPrefix {
    /// The ARN of the execution `name` (with its UUID `id`), as `Scope::execution` makes it.
    pub fn arn(&self, name: &str, id: &str) -> String {
        let mut arn = String::with_capacity(self.text.len() + name.len() + 1 + id.len());
        arn.push_str(&self.text);
        push_execution_tail(&mut arn, self.machine_type, name, id);
        arn
    }
}

/// Who an execution is: its ARN and its name. Text made when first read (and then kept),
/// from its machine's `ExecutionPrefix`, its UUID and the name it was given: most synchronous
/// executions are never asked, and the text costs more than a short run (a UUID's digits, an
/// ARN of a hundred bytes, two allocations).
///
/// Invariant: what it reads is what `Scope::execution` makes of the same machine, name and
/// UUID; an execution without a name of its own is named by its UUID.
#[derive(Debug, Clone)]
pub struct Identity {
    arn: OnceLock<String>,
    name: OnceLock<String>,
    /// What the text is made from (`None`: both were given).
    parts: Option<(ExecutionPrefix, Uuid)>,
}

impl Identity {
    /// An execution of the machine with `prefix`, with the UUID `uuid` and the name it was
    /// given (else its UUID).
    pub fn new(prefix: ExecutionPrefix, name: Option<String>, uuid: Uuid) -> Identity {
        Identity {
            arn: OnceLock::new(),
            name: name.map_or_else(OnceLock::new, OnceLock::from),
            parts: Some((prefix, uuid)),
        }
    }

    /// An execution whose ARN and name are already made.
    pub fn given(arn: String, name: String) -> Identity {
        Identity {
            arn: OnceLock::from(arn),
            name: OnceLock::from(name),
            parts: None,
        }
    }

    /// The execution's ARN (`Execution.Id` in the Context Object).
    pub fn arn(&self) -> &str {
        self.arn.get_or_init(|| match &self.parts {
            Some((prefix, uuid)) => {
                // An execution named by its UUID: the ARN does not make the name's own copy
                // (a fire-and-forget start reads its ARN; a suspended execution keeps what it
                // made).
                let text = uuid_text(uuid);
                let name = self.name.get().map_or(text.as_str(), String::as_str);
                prefix.arn(name, text.as_str())
            }
            None => String::new(),
        })
    }

    /// The execution's name.
    pub fn name(&self) -> &str {
        if let Some(name) = self.name.get() {
            return name;
        }
        match &self.parts {
            // Named by its UUID, which ends its ARN: the name is the ARN's tail, not a text of
            // its own (a sync start over HTTP reads both).
            Some(_) => {
                let arn = self.arn();
                &arn[arn.len() - uuid::fmt::Hyphenated::LENGTH..]
            }
            None => "",
        }
    }

    /// The ARN, taken out (made if it was not).
    pub fn into_arn(mut self) -> String {
        self.arn();
        self.arn.take().unwrap_or_default()
    }
}

/// A UUID as AWS writes it: lowercase, hyphenated.
fn uuid_text(uuid: &Uuid) -> UuidText {
    let mut text = UuidText([0; uuid::fmt::Hyphenated::LENGTH]);
    // Encoded into a buffer: `to_string` goes through the formatter.
    uuid.hyphenated().encode_lower(&mut text.0);
    text
}

/// The text of a UUID, on the stack.
struct UuidText([u8; uuid::fmt::Hyphenated::LENGTH]);

impl UuidText {
    fn as_str(&self) -> &str {
        // `encode_lower` writes ASCII hex digits and hyphens only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The name in a log group ARN (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME`, with or without
/// AWS's trailing `:*`).
pub fn log_group_name(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":log-group:")?.1;
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    (!name.is_empty()).then_some(name)
}

/// The region of an ARN (`arn:PARTITION:SERVICE:REGION:...`), if it has one.
pub fn region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// Whether a state machine or execution name is one AWS accepts: 1 to 80 characters, none of
/// the characters it forbids (so a name never breaks an ARN, or a NATS subject token apart
/// from `.`).
pub fn valid_name(name: &str) -> bool {
    let forbidden = |c: char| {
        c.is_whitespace()
            || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
            || ('\u{0}'..='\u{1f}').contains(&c)
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || c == '\u{fffe}'
            || c == '\u{ffff}'
    };
    let n = name.chars().count();
    (1..=80).contains(&n) && !name.chars().any(forbidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_of_each_kind() {
        let s = Scope::default();
        assert_eq!(
            s.state_machine("M"),
            "arn:aws:states:us-east-1:123456789012:stateMachine:M"
        );
        assert_eq!(
            s.execution(MachineType::Express, "M", "n", "u"),
            "arn:aws:states:us-east-1:123456789012:express:M:n:u"
        );
        assert_eq!(
            s.execution(MachineType::Standard, "M", "n", "u"),
            "arn:aws:states:us-east-1:123456789012:execution:M:n"
        );
        for t in [MachineType::Express, MachineType::Standard] {
            assert_eq!(
                s.execution_prefix(t, "M").arn("n", "u"),
                s.execution(t, "M", "n", "u")
            );
        }
        assert_eq!(s.role("r"), "arn:aws:iam::123456789012:role/r");
        assert_eq!(region(&s.lambda_function("f")), Some("us-east-1"));
        assert_eq!(region("arn:aws:iam::1:role/r"), None);
    }

    /// An identity made from its parts reads as `Scope::execution` and `new_uuid` would make
    /// it, with and without a name of its own.
    #[test]
    fn identities_read_as_made() {
        let s = Scope::default();
        let uuid = Uuid::from_bytes([0xab; 16]);
        let text = uuid.hyphenated().to_string();
        for t in [MachineType::Express, MachineType::Standard] {
            let unnamed = Identity::new(s.execution_prefix(t, "M"), None, uuid);
            assert_eq!(unnamed.arn(), s.execution(t, "M", &text, &text));
            assert_eq!(unnamed.name(), text);
            // The name read first (it is the ARN's tail) reads the same.
            let unnamed = Identity::new(s.execution_prefix(t, "M"), None, uuid);
            assert_eq!(unnamed.name(), text);
            assert_eq!(unnamed.arn(), s.execution(t, "M", &text, &text));
            let named = Identity::new(s.execution_prefix(t, "M"), Some("n".into()), uuid);
            assert_eq!(named.arn(), s.execution(t, "M", "n", &text));
            assert_eq!(named.name(), "n");
            assert_eq!(named.clone().into_arn(), named.arn());
        }
        let given = Identity::given("arn".into(), "n".into());
        assert_eq!((given.arn(), given.name()), ("arn", "n"));
    }
}
