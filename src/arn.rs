//! The ARNs statejet prints: state machines, executions (by machine type), roles, Lambda
//! functions and log groups, all in one `Scope` (region and account) that comes from
//! configuration. (The API reads ARNs with `api::wire::Arn`.)
//!
//! Invariant: no ARN is formatted anywhere else, and no region or account is a constant at its
//! use site: the defaults live in `Scope::default` alone.

use std::sync::Arc;

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
        match machine_type {
            // Every synchronous execution makes one: by pieces, as `format!` costs about four
            // times as many instructions.
            MachineType::Express => {
                let parts = [
                    "arn:aws:states:",
                    &self.region,
                    ":",
                    &self.account,
                    ":express:",
                    machine,
                    ":",
                    name,
                    ":",
                    id,
                ];
                let mut arn = String::with_capacity(parts.iter().map(|p| p.len()).sum());
                parts.iter().for_each(|p| arn.push_str(p));
                arn
            }
            MachineType::Standard => format!(
                "arn:aws:states:{}:{}:execution:{machine}:{name}",
                self.region, self.account
            ),
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
        assert_eq!(s.role("r"), "arn:aws:iam::123456789012:role/r");
        assert_eq!(region(&s.lambda_function("f")), Some("us-east-1"));
        assert_eq!(region("arn:aws:iam::1:role/r"), None);
    }
}
