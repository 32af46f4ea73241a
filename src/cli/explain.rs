//! `statejet explain DEF`: the compiled program as a numbered listing.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::asl::{self, Config, MachineType};
use crate::compile;

#[derive(clap::Args)]
pub struct Args {
    /// The definition file.
    definition: PathBuf,
    /// The state machine type to validate for, as `validate` and `run` take it: Express
    /// rejects activities, `.sync` and `.waitForTaskToken`.
    #[arg(long = "type", default_value = "EXPRESS", value_parser = super::validate::parse_type)]
    machine_type: MachineType,
}

pub fn run(args: &Args) -> ExitCode {
    let file = args.definition.display().to_string();
    let text = match super::read_definition(&args.definition) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let config = Config {
        machine_type: args.machine_type,
    };
    match asl::validate(&text, &config) {
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
