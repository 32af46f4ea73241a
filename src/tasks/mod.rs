//! Task resources: the only place that calls out of the engine.
//!
//! Invariant: every resource either reaches a handler the user configured or fails the task with
//! an error that says so; nothing pretends to succeed.

pub mod aws;
pub mod command;
pub mod functions;

pub use functions::Functions;
