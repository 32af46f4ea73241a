//! The words on a diagram: Choice conditions, catchers, retriers and Task resources, rendered
//! for people (`$.x > 10`, `And(...)`, `retry: States.ALL ×3`).
//!
//! Invariant: labels are plain text on one line; each output format escapes them itself.

use chrono::SecondsFormat;

use crate::asl::machine::{
    Catcher, Comparison, Condition, Dynamic, IntegrationPattern, Operand, Ordering, Resource,
    ResourceKind, Retrier, Rule,
};

/// A Choice rule's condition: JSONPath rules as `$.x > 10`, `And(..., ...)`; JSONata as the
/// expression's text.
pub fn condition(c: &Condition) -> String {
    match c {
        Condition::JsonPath(rule) => jsonpath_rule(rule),
        Condition::Jsonata(Dynamic::Fixed(b)) => b.to_string(),
        Condition::Jsonata(Dynamic::Path(p)) => p.text.clone(),
        Condition::Jsonata(Dynamic::Expr(e)) => one_line(&e.text),
    }
}

fn jsonpath_rule(rule: &Rule) -> String {
    let list = |name: &str, rules: &[Rule]| {
        let inner: Vec<String> = rules.iter().map(jsonpath_rule).collect();
        format!("{name}({})", inner.join(", "))
    };
    match rule {
        Rule::And(rules) => list("And", rules),
        Rule::Or(rules) => list("Or", rules),
        Rule::Not(rule) => format!("Not({})", jsonpath_rule(rule)),
        Rule::Test {
            variable,
            comparison,
        } => format!("{} {}", variable.text(), comparison_text(comparison)),
    }
}

fn comparison_text(c: &Comparison) -> String {
    let is = |what: &str, yes: bool| format!("is {}{what}", if yes { "" } else { "not " });
    match c {
        Comparison::String(o, operand) => {
            let v = operand_text(operand, |s| quoted(s));
            format!("{} {v}", symbol(*o))
        }
        Comparison::Numeric(o, operand) => {
            format!("{} {}", symbol(*o), operand_text(operand, f64::to_string))
        }
        Comparison::Timestamp(o, operand) => {
            let v = operand_text(operand, |t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
            format!("{} {v}", symbol(*o))
        }
        Comparison::BooleanEquals(operand) => {
            format!("== {}", operand_text(operand, bool::to_string))
        }
        Comparison::StringMatches(pattern) => format!("matches {}", quoted(pattern)),
        Comparison::IsNull(yes) => is("null", *yes),
        Comparison::IsPresent(yes) => is("present", *yes),
        Comparison::IsNumeric(yes) => is("numeric", *yes),
        Comparison::IsString(yes) => is("string", *yes),
        Comparison::IsBoolean(yes) => is("boolean", *yes),
        Comparison::IsTimestamp(yes) => is("timestamp", *yes),
    }
}

fn operand_text<T>(operand: &Operand<T>, literal: impl Fn(&T) -> String) -> String {
    match operand {
        Operand::Literal(v) => literal(v),
        Operand::Path(p) => p.text().to_owned(),
    }
}

fn symbol(o: Ordering) -> &'static str {
    match o {
        Ordering::Equals => "==",
        Ordering::LessThan => "<",
        Ordering::GreaterThan => ">",
        Ordering::LessThanEquals => "<=",
        Ordering::GreaterThanEquals => ">=",
    }
}

fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Collapses every run of whitespace (JSONata expressions may span lines) into one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `catch: A, B`.
pub fn catcher(c: &Catcher) -> String {
    format!("catch: {}", c.error_equals.join(", "))
}

/// `retry: A, B ×3`.
pub fn retrier(r: &Retrier) -> String {
    format!("retry: {} ×{}", r.error_equals.join(", "), r.max_attempts)
}

/// A Task's resource in a few words: `lambda: NAME`, `SERVICE:ACTION`, `activity: NAME`.
pub fn resource(r: &Resource) -> String {
    match &r.kind {
        ResourceKind::Lambda { function } => format!("lambda: {function}"),
        ResourceKind::Service {
            service,
            action,
            pattern,
        } => {
            let suffix = match pattern {
                IntegrationPattern::RequestResponse => "",
                IntegrationPattern::Sync => ".sync",
                IntegrationPattern::WaitForTaskToken => ".waitForTaskToken",
            };
            format!("{service}:{action}{suffix}")
        }
        ResourceKind::Activity { name } => format!("activity: {name}"),
    }
}
