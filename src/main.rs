//! The `statejet` binary: the command line over the library.

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: statejet::alloc::Allocator = statejet::alloc::Allocator;

fn main() -> ExitCode {
    statejet::cli::main()
}
