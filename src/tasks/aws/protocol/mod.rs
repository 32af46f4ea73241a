//! AWS's wire protocols, driven by a service's model: a Task's parameters (Step Functions'
//! casing: members with their first letter upper case) become a request in the service's
//! protocol (`json` 1.0/1.1, `rest-json`, `query`, `rest-xml`), and a response becomes the
//! result Step Functions gives (members first letter upper case, timestamps ISO-8601) or the
//! service's error code, message and request ids.
//!
//! Invariant: nothing here knows a service by name; every binding comes from the model.

mod request;
mod response;
mod xml;

pub use request::{request, Wire};
pub use response::{error, result, ServiceError};

use super::models::service::{Member, Service, Shape};

/// `stateMachineArn` → `StateMachineArn`: Step Functions' casing of a member name.
pub fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The member a parameter written in Step Functions' casing names: the member itself, or the
/// member whose name differs only in its first letter's case.
fn member<'a>(shape: &'a Shape, key: &str) -> Option<(&'a String, &'a Member)> {
    shape
        .members
        .get_key_value(key)
        .or_else(|| shape.members.iter().find(|(m, _)| upper_first(m) == key))
}

/// The shape a member refers to; models are closed, so a missing one is a broken extract,
/// reported rather than guessed.
fn shape_of<'a>(svc: &'a Service, name: &str) -> Result<&'a Shape, String> {
    svc.shape(name)
        .ok_or_else(|| format!("the {} model has no shape {name}", svc.sdk_name))
}
