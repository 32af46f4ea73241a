//! `statejet explain DEF`: the compiled program as a numbered listing.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::asl::{self, Config};
use crate::compile;

#[derive(clap::Args)]
pub struct Args {
    /// The definition file.
    definition: PathBuf,
}

pub fn run(args: &Args) -> ExitCode {
    let file = args.definition.display().to_string();
    let text = match super::read_definition(&args.definition) {
        Ok(t) => t,
        Err(code) => return code,
    };
    match asl::validate(&text, &Config::default()) {
        Ok(machine) => {
            print!("{}", compile::listing(&compile::compile(machine)));
            ExitCode::SUCCESS
        }
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{file}: {d}");
            }
            ExitCode::from(1)
        }
    }
}
