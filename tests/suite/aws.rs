//! The AWS service integrations end to end against moto's server (tests/e2e/aws_moto.py,
//! tests/e2e/nested_moto.py):
//! `statejet run` configured by environment variables alone calls DynamoDB, SQS, SNS, S3,
//! Lambda, Secrets Manager and EventBridge in their four wire protocols, names their errors as
//! Step Functions does, retries a throttled call and fails clearly without an endpoint or
//! credentials. moto is installed from PyPI, at a pinned version, into a virtual environment
//! under `target/` the first time. A Distributed Map's ItemReader and ResultWriter run against
//! the same server (tests/e2e/dmap_moto.py), with the conformance corpus's recorded S3 cases
//! when `../shared/conformance` is there.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The moto release the checks were written against (its server serves all the services).
const MOTO: &str = "moto[server]==5.2.5";

/// The boto3 the checks' own clients use, pinned with moto (which takes any): botocore 1.44
/// speaks Athena's rest-json protocol, which moto 5.2.5 does not route (its server answers
/// 404), where 1.43 speaks the JSON protocol moto serves. The same release as serve.rs's.
const BOTO3: &str = "boto3==1.43.11";

/// A Python with moto's server, made once per target folder. Tests run as threads and several
/// need it: one makes it while the others wait (two `venv`s into one folder at once fail with
/// "File exists" on a clean clone).
pub(crate) fn python() -> PathBuf {
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _making = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target/moto-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join(format!("{MOTO}+{BOTO3}").replace(['=', '[', ']', '+'], "_"));
    if !stamp.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is needed for the moto tests");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                MOTO,
                BOTO3,
            ])
            .status()
            .expect("pip runs");
        assert!(
            status.success(),
            "installing {MOTO} and {BOTO3} from PyPI failed"
        );
        std::fs::write(&stamp, "").expect("stamp file");
    }
    python
}

#[test]
fn aws_integrations_call_moto_in_every_protocol() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python())
        .arg(root.join("tests/e2e/aws_moto.py"))
        .args(["--bin", env!("CARGO_BIN_EXE_statejet")])
        .current_dir(root)
        .output()
        .expect("the moto script runs");
    assert!(
        out.status.success(),
        "AWS integration checks failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn distributed_map_reads_and_writes_s3_on_moto() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(python());
    cmd.arg(root.join("tests/e2e/dmap_moto.py"))
        .args(["--bin", env!("CARGO_BIN_EXE_statejet")])
        .current_dir(root);
    let corpus = root.join("../shared/conformance");
    if corpus.join("compare.py").exists() {
        cmd.arg("--conformance").arg(corpus);
    }
    let out = cmd.output().expect("the moto script runs");
    assert!(
        out.status.success(),
        "Distributed Map S3 checks failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Nested workflows (this server's machines in its engine, another endpoint's through its
/// API), `.sync` jobs polled on moto, `apigateway:invoke` on a local server and
/// `.waitForTaskToken` over SQS and SNS (tests/e2e/nested_moto.py).
#[test]
fn nested_workflows_sync_jobs_and_api_gateway() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python())
        .arg(root.join("tests/e2e/nested_moto.py"))
        .args(["--bin", env!("CARGO_BIN_EXE_statejet")])
        .current_dir(root)
        .output()
        .expect("the nested script runs");
    assert!(
        out.status.success(),
        "nested workflow checks failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
