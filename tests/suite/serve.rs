//! `statejet serve` end to end, through the clients people use: boto3 and the AWS CLI drive a
//! running server through every operation (tests/e2e/sfn_clients.py), and headless Chromium
//! opens its live page. The clients are installed from PyPI, at pinned versions, into a virtual
//! environment under `target/` the first time; Chromium from Debian when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The client versions the test was written against.
const PACKAGES: [&str; 2] = ["boto3==1.43.11", "awscli==1.45.11"];

/// A Python with boto3 and the AWS CLI, made once per target folder.
fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target/e2e-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join(PACKAGES.join(" ").replace(['=', ' '], "_"));
    if !stamp.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is needed for the end-to-end tests");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PACKAGES)
            .status()
            .expect("pip runs");
        assert!(status.success(), "installing {PACKAGES:?} from PyPI failed");
        std::fs::write(&stamp, "").expect("stamp file");
    }
    python
}

/// Debian's Chromium, installed with apt-get the first time when it is missing (as `.ci/run`
/// runs, as root).
fn chromium() -> PathBuf {
    let path = PathBuf::from("/usr/bin/chromium");
    if !path.exists() {
        let status = Command::new("sh")
            .args([
                "-c",
                "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium",
            ])
            .status()
            .expect("apt-get runs");
        assert!(
            status.success() && path.exists(),
            "the live-page test needs Debian's chromium package (apt-get install chromium)"
        );
    }
    path
}

/// Runs the end-to-end script with `args`.
fn e2e(args: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python())
        .arg(root.join("tests/e2e/sfn_clients.py"))
        .args(["--bin", env!("CARGO_BIN_EXE_statejet")])
        .args(args)
        .current_dir(root)
        .output()
        .expect("the end-to-end script runs");
    assert!(
        out.status.success(),
        "end-to-end checks failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn boto3_and_the_aws_cli_drive_every_operation() {
    e2e(&[]);
}

/// README.md's commands, run in order as a user pastes them (tests/e2e/readme.py says which
/// few are replaced, and why).
#[test]
fn the_readme_commands_work_as_pasted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = python();
    let venv = python
        .parent()
        .and_then(Path::parent)
        .expect("the venv folder");
    let out = Command::new(&python)
        .arg(root.join("tests/e2e/readme.py"))
        .args(["--bin", env!("CARGO_BIN_EXE_statejet")])
        .arg("--venv")
        .arg(venv)
        .output()
        .expect("the README test script runs");
    assert!(
        out.status.success(),
        "a README command failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The page's screenshot is kept as `target/e2e-artifacts/page.png`.
#[test]
fn the_live_page_shows_the_diagram_and_the_counts() {
    let chromium = chromium();
    e2e(&["--chromium", chromium.to_str().expect("a UTF-8 path")]);
}

/// `--definitions examples` starts with the examples' machines and names the functions file it
/// passes over, rather than refusing it as a bad definition.
#[test]
fn definitions_folder_passes_over_files_that_are_not_definitions() {
    use std::io::{BufRead as _, BufReader};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut server = Command::new(env!("CARGO_BIN_EXE_statejet"))
        .args(["serve", "--listen", "127.0.0.1:0", "--definitions"])
        .arg(root.join("examples"))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("statejet serve starts");
    let mut said = Vec::new();
    for line in BufReader::new(server.stderr.take().expect("stderr is piped")).lines() {
        let line = line.expect("stderr is text");
        let listening = line.contains("listening on");
        said.push(line);
        if listening {
            break;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    let said = said.join("\n");
    assert!(
        said.contains("listening on"),
        "serve did not start:\n{said}"
    );
    for machine in ["stateMachine:fulfilment", "stateMachine:order"] {
        assert!(said.contains(machine), "{machine} not created:\n{said}");
    }
    assert!(
        said.contains("functions.json: not a state machine definition"),
        "the functions file is not named as passed over:\n{said}"
    );
    assert!(!said.contains("order.input.json"), "{said}");
}
