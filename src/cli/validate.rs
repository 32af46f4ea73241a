//! `statejet validate FILE...`: diagnostics for people, or as JSON with `--json`.
//!
//! Exit codes: 0 when every file is valid, 1 when any is invalid, 2 when a file cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::asl::{self, Config, Diagnostic, MachineType};

#[derive(clap::Args)]
pub struct Args {
    /// Definition files (Amazon States Language JSON).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The state machine type to validate for: Express rejects activities, `.sync` and
    /// `.waitForTaskToken`.
    #[arg(long = "type", default_value = "EXPRESS", value_parser = parse_type)]
    machine_type: MachineType,
    /// Print one JSON document with every file's diagnostics.
    #[arg(long)]
    json: bool,
}

pub fn parse_type(s: &str) -> Result<MachineType, String> {
    s.to_ascii_uppercase().parse()
}

/// What became of one file.
enum Verdict {
    Valid,
    Invalid(Vec<Diagnostic>),
    Unreadable(String),
}

pub fn run(args: &Args) -> ExitCode {
    let config = Config {
        machine_type: args.machine_type,
    };
    let verdicts: Vec<(String, Verdict)> = args
        .files
        .iter()
        .map(|file| {
            let name = file.display().to_string();
            let verdict = match std::fs::read_to_string(file) {
                Err(e) => Verdict::Unreadable(e.to_string()),
                Ok(text) => match asl::validate(&text, &config) {
                    Ok(_) => Verdict::Valid,
                    Err(diagnostics) => Verdict::Invalid(diagnostics),
                },
            };
            (name, verdict)
        })
        .collect();
    if args.json {
        print_json(&verdicts, args.machine_type);
    } else {
        print_text(&verdicts, args.machine_type);
    }
    if verdicts
        .iter()
        .any(|(_, v)| matches!(v, Verdict::Unreadable(_)))
    {
        ExitCode::from(2)
    } else if verdicts
        .iter()
        .any(|(_, v)| matches!(v, Verdict::Invalid(_)))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_text(verdicts: &[(String, Verdict)], machine_type: MachineType) {
    for (file, verdict) in verdicts {
        match verdict {
            Verdict::Valid => println!("{file}: valid {} state machine", machine_type.as_str()),
            Verdict::Unreadable(e) => eprintln!("{file}: cannot read: {e}"),
            Verdict::Invalid(diagnostics) => print_diagnostics(file, diagnostics),
        }
    }
}

/// One line per diagnostic, `FILE: LOCATION: CODE: MESSAGE`, then a count.
pub fn print_diagnostics(file: &str, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        match (d.position, &d.location) {
            (Some((line, column)), _) => {
                println!("{file}:{line}:{column}: {}: {}", d.code, d.message)
            }
            (None, Some(at)) => println!("{file}: {at}: {}: {}", d.code, d.message),
            (None, None) => println!("{file}: {}: {}", d.code, d.message),
        }
    }
    let n = diagnostics.len();
    println!(
        "{file}: invalid: {n} problem{}",
        if n == 1 { "" } else { "s" }
    );
}

fn print_json(verdicts: &[(String, Verdict)], machine_type: MachineType) {
    let files: Vec<serde_json::Value> = verdicts
        .iter()
        .map(|(file, verdict)| match verdict {
            Verdict::Valid => json!({"file": file, "result": "OK", "diagnostics": []}),
            Verdict::Unreadable(e) => json!({"file": file, "result": "ERROR", "error": e}),
            Verdict::Invalid(diagnostics) => json!({
                "file": file,
                "result": "FAIL",
                "diagnostics": diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
            }),
        })
        .collect();
    let doc = json!({"type": machine_type.as_str(), "files": files});
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("JSON values always serialize")
    );
}

/// A diagnostic in the shape of `ValidateStateMachineDefinition`'s `diagnostics` items.
pub fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    let mut v = json!({
        "severity": d.severity.as_str(),
        "code": d.code.as_str(),
        "message": d.message,
    });
    if let Some(at) = &d.location {
        v["location"] = json!(at);
    }
    v
}
