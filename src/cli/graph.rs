//! `statejet graph DEF`: the definition as a diagram (Mermaid, DOT or SVG).
//!
//! Exit codes: 0 drawn, 1 the definition is invalid (its diagnostics printed as `validate` prints
//! them), 2 a file cannot be read or written.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::asl::{self, Config, MachineType};
use crate::graph;

#[derive(clap::Args)]
pub struct Args {
    /// The definition file (Amazon States Language JSON).
    definition: PathBuf,
    /// The diagram's format.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
    /// Write the diagram to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// The state machine type to validate for.
    #[arg(long = "type", default_value = "EXPRESS", value_parser = super::validate::parse_type)]
    machine_type: MachineType,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// A Mermaid flowchart.
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// An SVG picture, laid out by statejet.
    Svg,
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
    let machine = match asl::validate(&text, &config) {
        Ok(m) => m,
        Err(diagnostics) => {
            super::validate::print_diagnostics(&file, &diagnostics);
            return ExitCode::from(1);
        }
    };
    let diagram = graph::build(&machine);
    let drawn = match args.format {
        Format::Mermaid => graph::mermaid::render(&diagram),
        Format::Dot => graph::dot::render(&diagram),
        Format::Svg => graph::svg::render(&diagram),
    };
    match &args.output {
        None => {
            print!("{drawn}");
            ExitCode::SUCCESS
        }
        Some(path) => match std::fs::write(path, drawn) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{}: cannot write: {e}", path.display());
                ExitCode::from(2)
            }
        },
    }
}
