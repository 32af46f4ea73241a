//! AWS service integrations: what statejet knows of AWS's services themselves.
//!
//! Invariant: knowledge of a service's API comes from botocore's models (`models`), extracted by
//! a committed script, never written by hand.

pub mod models;
