//! statejet: runs Amazon States Language workflows the way Step Functions Express runs them.
//!
//! The pipeline is the folder structure: `asl` turns definition text into a validated
//! `StateMachine` (every problem reported with a JSON Pointer); later stages compile that into a
//! flat program and run it. `cli` is the command-line edge.

pub mod alloc;
pub mod api;
pub mod arn;
pub mod asl;
pub mod cli;
pub mod compile;
pub mod graph;
pub mod java;
pub mod jsonata;
pub mod runtime;
pub mod tasks;
pub mod value;
pub mod vm;
