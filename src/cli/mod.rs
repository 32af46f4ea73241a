//! The command line: `statejet validate`, `run`, `explain`, `graph`, `serve`, `completions`.
//!
//! Invariant: this is the only place that reads files named by the user, prints for people, and
//! picks exit codes; the library below it returns values and typed errors.

mod explain;
mod graph;
mod run;
mod serve;
mod validate;

use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "statejet",
    version,
    about = "Runs Amazon States Language workflows like Step Functions Express"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check definitions as AWS does; print every problem with its location.
    Validate(validate::Args),
    /// Run one execution of a definition and print its output.
    Run(run::Args),
    /// Print the compiled program as a numbered listing.
    Explain(explain::Args),
    /// Serve the Step Functions API (AWS JSON 1.0) for the AWS CLI, boto3 and the SDKs.
    // Boxed: its flags (the intake's among them) make it several times the others' size.
    Serve(Box<serve::Args>),
    /// Draw the definition: Mermaid, Graphviz DOT, or SVG.
    Graph(graph::Args),
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Completions { shell } => completions(shell),
    }
}

/// Prints the completion script; a closed pipe (`| head`) is not an error worth a panic.
fn completions(shell: clap_complete::Shell) -> ExitCode {
    use std::io::Write as _;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "statejet", &mut script);
    match std::io::stdout().write_all(&script) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("statejet completions: {e}");
            ExitCode::from(2)
        }
    }
}

/// Reads a functions file, with the file's name in the error.
fn read_functions(path: &Path) -> Result<crate::tasks::Functions, String> {
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| crate::tasks::Functions::parse(&t).map_err(|e| e.to_string()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The text of a definition file, or (having said why) exit code 2.
fn read_definition(path: &Path) -> Result<String, ExitCode> {
    std::fs::read_to_string(path).map_err(|e| {
        eprintln!("{}: cannot read: {e}", path.display());
        ExitCode::from(2)
    })
}
