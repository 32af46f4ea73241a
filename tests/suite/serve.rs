//! `statejet serve` end to end, through the clients people use: boto3 and the AWS CLI drive a
//! running server through every operation (tests/e2e/sfn_clients.py), and headless Chromium
//! opens its live page. The clients are installed from PyPI, at pinned versions, into a virtual
//! environment under `target/` the first time; Chromium from Debian when it is missing.
//!
//! Below those, its faults on real processes and loopback sockets: command functions (large
//! payloads, timeouts, the process limit), SIGTERM under heavy logging and with a stuck
//! function, a sync caller that hangs up, framing errors and typed request fields.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use statejet::tasks::command;

/// The client versions the test was written against (prometheus_client for its parser of the
/// text format /metrics answers in).
const PACKAGES: [&str; 3] = [
    "boto3==1.43.11",
    "awscli==1.45.11",
    "prometheus_client==0.26.0",
];

/// A Python with boto3, the AWS CLI and prometheus_client, made once per target folder; one
/// test makes it while the others wait (as `aws::python`).
pub(crate) fn python() -> PathBuf {
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _making = MAKING.lock().unwrap_or_else(|e| e.into_inner());
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

/// Held by whichever test runs apt-get (Chromium here, nats-server in `intake`): two apt-gets
/// at once fail on dpkg's lock (a clean clone's CI failed
/// the_live_page_shows_the_diagram_and_the_counts so), so the others wait, then find it installed.
pub(crate) static APT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Debian's Chromium, installed with apt-get the first time when it is missing (as `.ci/run`
/// runs, as root).
fn chromium() -> PathBuf {
    let _apt = APT.lock().unwrap_or_else(|e| e.into_inner());
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
    e2e_script("sfn_clients.py", args);
}

/// Runs `tests/e2e/<script>` against the statejet binary, with `args`.
fn e2e_script(script: &str, args: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python())
        .arg(root.join("tests/e2e").join(script))
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

/// Activities and task tokens through boto3: every operation and its errors, heartbeat
/// timeouts, spent tokens, SendTaskFailure caught by Catch (tests/e2e/callbacks.py).
#[test]
fn boto3_drives_activities_and_task_tokens() {
    e2e_script("callbacks.py", &[]);
}

/// STANDARD machines through boto3: retained executions and their history (compared whole with
/// AWS's recording), names and the idempotent restart, stop, paging, the retention bound,
/// versions, aliases and qualified ARNs (tests/e2e/standard.py).
#[test]
fn standard_workflows_keep_their_executions_within_the_bound() {
    e2e_script("standard.py", &[]);
}

/// `/metrics` parsed by prometheus_client's parser: families, types, histograms, bounded labels,
/// counts that follow executions and API calls, and HTTP Basic with `--credentials`
/// (tests/e2e/prometheus_metrics.py).
#[test]
fn the_metrics_parse_as_prometheus_text_and_follow_the_load() {
    e2e_script("prometheus_metrics.py", &[]);
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

/// The execution view for real STANDARD executions (succeeded, failed through a Catch, waiting
/// for an activity and then approved while the page is open): state statuses on the graph, a
/// chosen state's input and output, the event table against GetExecutionHistory, the feeds'
/// credentials and the execution-data rule (tests/e2e/execution_view.py). Screenshots are kept
/// as `target/e2e-artifacts/standard-executions.png` and `execution-*.png`.
#[test]
fn the_live_page_inspects_one_standard_execution() {
    let chromium = chromium();
    e2e_script(
        "execution_view.py",
        &["--chromium", chromium.to_str().expect("a UTF-8 path")],
    );
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

// ---------------------------------------------------------------------------------------------
// Faults: command functions, SIGTERM, dropped callers. Real processes, real sockets (loopback).

/// A scratch folder of its own for one test.
pub(super) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/tmp/serve")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// A `statejet serve` process on a free loopback port.
pub(super) struct Served {
    pub(super) child: Child,
    pub(super) addr: String,
    pub(super) logs: PathBuf,
}

impl Served {
    /// Starts a server with `functions` (the functions file's object), the definitions of
    /// `machines` (name, definition) logged at ALL, and `args`.
    pub(super) fn start(
        dir: &Path,
        functions: Value,
        machines: &[(&str, Value)],
        args: &[&str],
    ) -> Served {
        let defs = dir.join("definitions");
        std::fs::create_dir_all(&defs).unwrap();
        for (name, def) in machines {
            std::fs::write(defs.join(format!("{name}.asl.json")), def.to_string()).unwrap();
        }
        let functions_file = dir.join("functions.json");
        std::fs::write(
            &functions_file,
            json!({ "functions": functions }).to_string(),
        )
        .unwrap();
        let logs = dir.join("logs.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_statejet"))
            .args(["serve", "--listen", "127.0.0.1:0", "--log-level", "ALL"])
            .arg("--definitions")
            .arg(&defs)
            .arg("--functions")
            .arg(&functions_file)
            .arg("--logs")
            .arg(&logs)
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("statejet serve starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "statejet serve ended before listening"
            );
            if let Some(a) = line
                .trim()
                .strip_prefix("statejet serve: listening on http://")
            {
                break a.to_owned();
            }
        };
        // Keep reading stderr so the server never blocks on it.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Served { child, addr, logs }
    }

    pub(super) fn connect(&self) -> Conn {
        Conn::new(&self.addr)
    }

    pub(super) fn arn(&self, machine: &str) -> String {
        format!("arn:aws:states:us-east-1:123456789012:stateMachine:{machine}")
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`; returns how long that took.
    fn wait_exit(&mut self, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return started.elapsed();
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!("statejet serve did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The log file's events; every line must be a whole JSON object.
    pub(super) fn log_events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.logs).unwrap_or_default();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "the log ends mid-line: {:?}",
            &text[text.len().saturating_sub(200)..]
        );
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
            .collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive HTTP/1.1 connection speaking the API.
pub(super) struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub(super) fn new(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    /// Sends raw request bytes; returns the status and body of the answer.
    fn raw(&mut self, request: &[u8]) -> std::io::Result<(u16, String)> {
        self.reader.get_mut().write_all(request)?;
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    pub(super) fn call(&mut self, operation: &str, body: &Value) -> std::io::Result<(u16, Value)> {
        let body = body.to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.{operation}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (status, text) = self.raw(request.as_bytes())?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub(super) fn get(&mut self, path: &str) -> (u16, String) {
        self.raw(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap()
    }
}

/// The terminal events of a log, by execution ARN.
pub(super) fn terminal_events(events: &[Value]) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for e in events {
        let kind = e["type"].as_str().unwrap_or("");
        if matches!(
            kind,
            "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut"
        ) {
            out.entry(e["execution_arn"].as_str().unwrap_or("").to_owned())
                .or_default()
                .push(kind.to_owned());
        }
    }
    out
}

/// Whether a process is still running (a zombie, killed but not reaped by its parent, counts).
fn process_exists(pid: &str) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// A command that writes its process id to `pid_file`, then sleeps `seconds`.
fn sleeper(pid_file: &Path, seconds: u32) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!("echo $$ > {}; exec sleep {seconds}", pid_file.display()),
    ]
}

fn wait_for_file(path: &Path) -> String {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_owned();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The README's `cat` function: stdin is written while stdout is read, so payloads far past a
/// pipe's buffer go through (writing all of stdin first deadlocked at about 200 KB).
#[test]
fn command_functions_pass_large_payloads_through() {
    let rt = runtime();
    let slots = tokio::sync::Semaphore::new(4);
    let cat = vec!["cat".to_owned()];
    for size in [200_000usize, 1_000_000, 6_000_000] {
        let input: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
        let started = Instant::now();
        let out = rt
            .block_on(command::run(
                "cat",
                &cat,
                input.clone(),
                Some(Duration::from_secs(20)),
                &slots,
            ))
            .unwrap_or_else(|f| panic!("{size} bytes: {f:?}"));
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), size, "{size} bytes came back whole");
        assert!(out.stdout == input);
        eprintln!("cat: {size} bytes in {:?}", started.elapsed());
    }
    // Past Lambda's response limit, the function fails with Lambda's words.
    let big = vec![b'x'; command::MAX_RESPONSE_BYTES + 10];
    let f = rt
        .block_on(command::run(
            "cat",
            &cat,
            big,
            Some(Duration::from_secs(20)),
            &slots,
        ))
        .err()
        .expect("too large an answer fails");
    assert!(f.cause.contains("Response payload size exceeded"), "{f:?}");

    // And through `statejet run`: a 250 KB input (near the 256 KiB payload limit) to `cat`.
    let dir = scratch("cat");
    let def = json!({"StartAt": "Echo", "States": {"Echo": {"Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo", "End": true}}});
    std::fs::write(dir.join("def.json"), def.to_string()).unwrap();
    std::fs::write(
        dir.join("functions.json"),
        json!({"functions": {"echo": {"command": ["cat"]}}}).to_string(),
    )
    .unwrap();
    let input = json!({ "blob": "z".repeat(250_000) });
    std::fs::write(dir.join("input.json"), input.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_statejet"))
        .arg("run")
        .arg(dir.join("def.json"))
        .arg("--input-file")
        .arg(dir.join("input.json"))
        .arg("--functions")
        .arg(dir.join("functions.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, input);
}

/// A command past its Task's timeout is killed and reaped at once; no thread is left on it.
#[test]
fn a_timed_out_command_is_killed_and_reaped() {
    let rt = runtime();
    let dir = scratch("timeout");
    let slots = tokio::sync::Semaphore::new(4);
    let pid_file = dir.join("pid");
    let started = Instant::now();
    let r = rt.block_on(command::run(
        "stuck",
        &sleeper(&pid_file, 1000),
        b"{}".to_vec(),
        Some(Duration::from_millis(500)),
        &slots,
    ));
    let took = started.elapsed();
    assert_eq!(r.err().map(|f| f.error), Some("States.Timeout".to_owned()));
    assert!(took < Duration::from_secs(3), "timed out after {took:?}");
    let pid = wait_for_file(&pid_file);
    assert!(
        !process_exists(&pid),
        "process {pid} is still there after its timeout"
    );
    // Every slot is free again.
    assert_eq!(slots.available_permits(), 4);

    // Hundreds of timed-out calls leave nothing behind: the next call still runs at once.
    let stuck = vec!["sleep".to_owned(), "1000".to_owned()];
    let started = Instant::now();
    let results = rt.block_on(async {
        let calls = (0..300).map(|_| {
            command::run(
                "stuck",
                &stuck,
                Vec::new(),
                Some(Duration::from_millis(50)),
                &slots,
            )
        });
        futures::future::join_all(calls).await
    });
    assert!(results
        .iter()
        .all(|r| r.as_ref().err().map(|f| f.error.as_str()) == Some("States.Timeout")));
    let out = rt
        .block_on(command::run(
            "cat",
            &["cat".to_owned()],
            b"{}".to_vec(),
            Some(Duration::from_secs(5)),
            &slots,
        ))
        .unwrap();
    assert_eq!(out.stdout, b"{}");
    eprintln!(
        "300 timed-out calls, then one more: {:?}",
        started.elapsed()
    );
    let sleeping = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| c == "sleep\x001000\x00")
        .count();
    assert_eq!(sleeping, 0, "programs left running after their timeout");
}

/// Past the slots, command calls queue (back-pressure) instead of failing; at most that many
/// programs run at once.
#[test]
fn command_calls_past_the_process_limit_wait_for_a_slot() {
    let rt = runtime();
    let dir = scratch("slots");
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(2));
    // Each call notes its start and end, so the most that ran at once can be counted.
    let journal = dir.join("journal");
    let argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        format!(
            "echo start >> {j}; sleep 0.3; echo end >> {j}; cat",
            j = journal.display()
        ),
    ];
    let started = Instant::now();
    let results = rt.block_on(async {
        let calls = (0..6).map(|i| {
            let (slots, argv) = (slots.clone(), argv.clone());
            tokio::spawn(async move {
                command::run(
                    "slow",
                    &argv,
                    format!("{i}").into_bytes(),
                    Some(Duration::from_secs(30)),
                    &slots,
                )
                .await
            })
        });
        futures::future::join_all(calls).await
    });
    let took = started.elapsed();
    for (i, r) in results.into_iter().enumerate() {
        let out = r.unwrap().unwrap_or_else(|f| panic!("call {i}: {f:?}"));
        assert_eq!(String::from_utf8_lossy(&out.stdout), i.to_string());
    }
    let (mut running, mut most) = (0i32, 0i32);
    for line in std::fs::read_to_string(&journal).unwrap().lines() {
        running += if line == "start" { 1 } else { -1 };
        most = most.max(running);
    }
    assert_eq!(most, 2, "at most two programs ran at once");
    assert!(
        took >= Duration::from_millis(900),
        "six calls, two at a time: {took:?}"
    );
}

/// SIGTERM while fire-and-forget executions pour in and log every event: each accepted
/// execution has exactly one terminal event, the log ends on a whole line, and the process
/// exits within its grace period.
#[test]
fn sigterm_under_heavy_logging_loses_no_terminal_event() {
    // Executions that end within the grace period, then executions it has to abort.
    let drained = sigterm_under_load("sigterm-drain", 1, 10);
    assert_eq!(
        drained, 0,
        "a grace period of 10 s lets 1 s executions finish"
    );
    let aborted = sigterm_under_load("sigterm-abort", 30, 4);
    assert!(
        aborted > 100,
        "executions of 30 s past a 4 s grace period are aborted: {aborted}"
    );
}

/// Pours fire-and-forget executions (Pass, Wait `wait` seconds, Pass, logged at ALL) into a
/// server for 1.5 s, then sends SIGTERM; checks every accepted execution's terminal event and
/// returns how many were aborted.
fn sigterm_under_load(name: &str, wait: u32, grace: u32) -> usize {
    let dir = scratch(name);
    let machine = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.a", "Next": "W"},
        "W": {"Type": "Wait", "Seconds": wait, "Next": "B"},
        "B": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Succeed"}}});
    let grace_arg = grace.to_string();
    let mut server = Served::start(
        &dir,
        json!({}),
        &[("work", machine)],
        &["--grace-seconds", &grace_arg],
    );
    let arn = server.arn("work");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let mut conn = server.connect();
            let (arn, stop) = (arn.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut accepted = Vec::new();
                let mut refused = 0;
                let body = json!({"stateMachineArn": arn, "input": "{\"k\": \"v\"}"});
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match conn.call("StartExecution", &body) {
                        Ok((200, v)) => {
                            accepted.push(v["executionArn"].as_str().unwrap().to_owned())
                        }
                        Ok(_) => refused += 1,
                        Err(_) => break,
                    }
                }
                (accepted, refused)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.terminate();
    let exit = server.wait_exit(Duration::from_secs(u64::from(grace) + 5));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut accepted = HashSet::new();
    let mut refused = 0;
    for s in senders {
        let (a, r) = s.join().unwrap();
        accepted.extend(a);
        refused += r;
    }
    let events = server.log_events();
    let terminal = terminal_events(&events);
    let missing = accepted
        .iter()
        .filter(|a| !terminal.contains_key(*a))
        .count();
    let doubled = terminal.values().filter(|t| t.len() != 1).count();
    let aborted = terminal
        .values()
        .filter(|t| t[0] == "ExecutionAborted")
        .count();
    eprintln!(
        "SIGTERM under logging (Wait {wait} s, grace {grace} s): {} accepted, {refused} refused after the signal, {} terminal events ({aborted} aborted), {} log lines, exit {exit:?} after SIGTERM",
        accepted.len(),
        terminal.values().map(Vec::len).sum::<usize>(),
        events.len()
    );
    assert!(
        accepted.len() > 100,
        "load ran: {} accepted",
        accepted.len()
    );
    assert_eq!(missing, 0, "accepted executions without a terminal event");
    assert_eq!(doubled, 0, "executions with more than one terminal event");
    assert_eq!(
        terminal.len(),
        accepted.len(),
        "no terminal event of an unknown execution"
    );
    assert!(
        exit <= Duration::from_secs(u64::from(grace)),
        "exit took {exit:?}, past the grace period"
    );
    aborted
}

/// SIGTERM with a function stuck in its program: the execution is aborted (and logged), the
/// program killed, and the process exits within the grace period.
#[test]
fn sigterm_with_a_stuck_function_exits_within_the_grace_period() {
    let dir = scratch("sigterm-stuck");
    let pid_file = dir.join("pid");
    let machine = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:stuck", "End": true}}});
    let mut server = Served::start(
        &dir,
        json!({"stuck": {"command": sleeper(&pid_file, 1000)}}),
        &[("stuck", machine)],
        &["--grace-seconds", "2"],
    );
    let (status, v) = server
        .connect()
        .call(
            "StartExecution",
            &json!({"stateMachineArn": server.arn("stuck")}),
        )
        .unwrap();
    assert_eq!(status, 200, "{v}");
    let execution = v["executionArn"].as_str().unwrap().to_owned();
    let pid = wait_for_file(&pid_file);
    server.terminate();
    let exit = server.wait_exit(Duration::from_secs(10));
    eprintln!("SIGTERM with a stuck function: exit {exit:?} after SIGTERM (grace 2 s)");
    assert!(exit <= Duration::from_millis(2300), "exit took {exit:?}");
    let terminal = terminal_events(&server.log_events());
    assert_eq!(
        terminal.get(&execution),
        Some(&vec!["ExecutionAborted".to_owned()])
    );
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        state.is_empty() || state.contains(") Z"),
        "the stuck program {pid} is still running: {state}"
    );
}

/// A sync caller that goes away does not take its execution with it: it runs to its end, is
/// logged, and the in-flight gauge comes back to zero.
#[test]
fn a_dropped_sync_caller_leaves_its_execution_running_and_counted() {
    let dir = scratch("disconnect");
    let machine =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": true}}});
    let server = Served::start(&dir, json!({}), &[("slow", machine)], &[]);
    {
        let mut stream = TcpStream::connect(&server.addr).unwrap();
        let body = json!({"stateMachineArn": server.arn("slow")}).to_string();
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.StartSyncExecution\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // The caller hangs up while the execution waits.
    }
    let metrics = |conn: &mut Conn| conn.get("/metrics").1;
    let mut conn = server.connect();
    assert!(metrics(&mut conn).contains("statejet_executions_in_flight{state_machine=\"slow\"} 1"));
    // The execution ends about 2 s after it started; a loaded machine may take longer, so
    // wait for the gauge rather than for a fixed time.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let m = loop {
        let m = metrics(&mut conn);
        if m.contains("statejet_executions_in_flight{state_machine=\"slow\"} 0")
            || std::time::Instant::now() > deadline
        {
            break m;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        m.contains("statejet_executions_in_flight{state_machine=\"slow\"} 0"),
        "{m}"
    );
    assert!(
        m.contains(
            "statejet_executions_ended_total{state_machine=\"slow\",status=\"SUCCEEDED\"} 1"
        ),
        "{m}"
    );
    // The request is counted though its answer had no one to go to.
    let requests: Vec<&str> = m
        .lines()
        .filter(|l| l.starts_with("statejet_api_requests_total{operation=\"StartSyncExecution\""))
        .collect();
    assert_eq!(
        requests,
        ["statejet_api_requests_total{operation=\"StartSyncExecution\",code=\"499\"} 1"],
        "{m}"
    );
    // The log writer flushes on its own schedule: wait for the line, not for a fixed time.
    let terminal = loop {
        let terminal = terminal_events(&server.log_events());
        if !terminal.is_empty() || std::time::Instant::now() > deadline {
            break terminal;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(terminal.len(), 1, "{terminal:?}");
    assert_eq!(
        terminal.values().next().unwrap(),
        &vec!["ExecutionSucceeded".to_owned()]
    );
}

/// A request hyper cannot parse gets AWS's error shape, not a bare status.
#[test]
fn framing_errors_answer_in_aws_shape() {
    let dir = scratch("framing");
    let server = Served::start(&dir, json!({}), &[], &[]);
    for request in [
        &b"GARBAGE\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    ] {
        let (status, body) = server.connect().raw(request).unwrap();
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(request));
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body:?}: {e}"));
        assert_eq!(v["__type"], "SerializationException", "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // The server still serves.
    let (status, _) = server
        .connect()
        .call("ListStateMachines", &json!({}))
        .unwrap();
    assert_eq!(status, 200);
}

/// Wrong-typed and out-of-bounds fields of CreateStateMachine get AWS's errors.
#[test]
fn create_state_machine_fields_are_typed_and_bounded() {
    let dir = scratch("fields");
    let server = Served::start(&dir, json!({}), &[], &[]);
    let base = json!({"name": "m", "type": "EXPRESS", "roleArn": "arn:aws:iam::123456789012:role/r",
        "definition": "{\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Pass\", \"End\": true}}}"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("publish", json!("maybe")), "SerializationException", "STRING_VALUE can not be converted to an Boolean"),
        (with("publish", json!(1)), "SerializationException", "NUMBER_VALUE can not be converted to a Boolean"),
        (with("versionDescription", json!(7)), "SerializationException", "NUMBER_VALUE can not be converted to a String"),
        (with("versionDescription", json!("v1")), "ValidationException", "Version description can only be set when publish is true"),
        (with("encryptionConfiguration", json!("AWS_OWNED_KEY")), "SerializationException", "Expected null"),
        (with("encryptionConfiguration", json!([])), "SerializationException", "Start of list found where not expected"),
        (with("encryptionConfiguration", json!({"type": "NOPE"})), "ValidationException",
         "1 validation error detected: Value 'NOPE' at 'encryptionConfiguration.type' failed to satisfy constraint: Member must satisfy enum value set: [AWS_OWNED_KEY, CUSTOMER_MANAGED_KMS_KEY]"),
        (with("roleArn", json!("a".repeat(100_000))), "ValidationException", "Member must have length less than or equal to 256"),
        (with("roleArn", json!("arn:aws:s3:::bucket")), "InvalidArn", "Invalid Arn"),
    ];
    let mut conn = server.connect();
    for (body, code, message) in cases {
        let (status, v) = conn.call("CreateStateMachine", &body).unwrap();
        assert_eq!((status, v["__type"].as_str()), (400, Some(code)), "{v}");
        assert!(v["message"].as_str().unwrap().contains(message), "{v}");
    }
    let ok = with("encryptionConfiguration", json!({"type": "AWS_OWNED_KEY"}));
    assert_eq!(conn.call("CreateStateMachine", &ok).unwrap().0, 200);
}

/// A state machine ARN of another account or region (LocalStack's 000000000000, say) gets AWS's
/// `StateMachineDoesNotExist`, followed by the server's own region and account and the flags
/// that would serve it.
#[tokio::test]
async fn an_arn_of_another_account_says_which_flags_would_serve_it() {
    use statejet::api::wire::Input;
    use statejet::api::Api;
    use statejet::runtime::engine::{Config, Engine};
    use statejet::tasks::Functions;
    let api = Api::new(
        Engine::new(Config::default(), Functions::default()),
        Vec::new(),
    );
    let arn = "arn:aws:states:us-east-1:000000000000:stateMachine:orders";
    let answer = api
        .call(
            "DescribeStateMachine",
            &Input::from_value(serde_json::json!({ "stateMachineArn": arn })),
            None,
        )
        .await;
    let body = answer.expect_err("no such machine").body();
    assert_eq!(body["__type"], "StateMachineDoesNotExist");
    assert_eq!(
        body["message"],
        format!(
            "State Machine Does Not Exist: '{arn}' (this server's ARNs are in region us-east-1 and account 123456789012; start statejet serve with --region us-east-1 --account 000000000000 to serve this ARN's)"
        )
    );
    // An execution ARN of theirs says the same after AWS's words.
    let arn = "arn:aws:states:eu-west-1:000000000000:execution:orders:o-1";
    let answer = api
        .call(
            "DescribeExecution",
            &Input::from_value(serde_json::json!({ "executionArn": arn })),
            None,
        )
        .await;
    let body = answer.expect_err("no such execution").body();
    assert_eq!(body["__type"], "ExecutionDoesNotExist");
    assert_eq!(
        body["message"],
        format!(
            "Execution Does Not Exist: '{arn}' (this server's ARNs are in region us-east-1 and account 123456789012; start statejet serve with --region eu-west-1 --account 000000000000 to serve this ARN's)"
        )
    );
}

/// A machine created through the API without a `loggingConfiguration` logs at the server's
/// `--log-level` (ALL by default), so a fire-and-forget execution's end is never invisible; with
/// `--logs-dir`, each log group's lines go to their own file (the group's name as a path), and
/// `ExecutionStarted.roleArn` is the machine's own role.
#[test]
fn log_groups_get_their_own_files_and_unconfigured_machines_still_log() {
    let dir = scratch("log-groups");
    let groups = dir.join("groups");
    let server = Served::start(
        &dir,
        json!({}),
        &[],
        &["--logs-dir", groups.to_str().unwrap()],
    );
    let definition =
        "{\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Pass\", \"End\": true}}}";
    let mut conn = server.connect();
    let create = |name: &str, role: &str, logging: Option<Value>| {
        let mut body = json!({"name": name, "type": "EXPRESS", "definition": definition,
            "roleArn": format!("arn:aws:iam::123456789012:role/{role}")});
        if let Some(l) = logging {
            body["loggingConfiguration"] = l;
        }
        body
    };
    let orders = json!({"level": "ALL", "includeExecutionData": true, "destinations": [
        {"cloudWatchLogsLogGroup": {"logGroupArn":
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/orders:*"}}]});
    let silent = json!({"level": "OFF", "includeExecutionData": false});
    for body in [
        create("orders", "orders-role", Some(orders)),
        create("plain", "plain-role", None),
        create("silent", "silent-role", Some(silent)),
    ] {
        let (status, v) = conn.call("CreateStateMachine", &body).unwrap();
        assert_eq!(status, 200, "{v}");
    }
    let (_, described) = conn
        .call(
            "DescribeStateMachine",
            &json!({"stateMachineArn": server.arn("plain")}),
        )
        .unwrap();
    assert_eq!(
        described["loggingConfiguration"],
        json!({"level": "ALL", "includeExecutionData": false, "destinations": [
            {"cloudWatchLogsLogGroup": {"logGroupArn":
                "arn:aws:logs:us-east-1:123456789012:log-group:/statejet/plain:*"}}]}),
        "what the server applies is what Describe says"
    );
    let mut arns = HashMap::new();
    for name in ["orders", "plain", "silent"] {
        let (status, v) = conn
            .call(
                "StartExecution",
                &json!({"stateMachineArn": server.arn(name), "input": "{\"n\": 1}"}),
            )
            .unwrap();
        assert_eq!(status, 200, "{v}");
        arns.insert(name, v["executionArn"].as_str().unwrap().to_owned());
    }
    let read = |path: &Path| -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let orders_file = groups.join("aws/vendedlogs/states/orders.log");
    let plain_file = groups.join("statejet/plain.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    let ended = |events: &[Value]| events.iter().any(|e| e["type"] == "ExecutionSucceeded");
    while !(ended(&read(&orders_file)) && ended(&read(&plain_file))) {
        assert!(
            Instant::now() < deadline,
            "no terminal events in the group files"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for (file, name, role, data) in [
        (&orders_file, "orders", "orders-role", true),
        (&plain_file, "plain", "plain-role", false),
    ] {
        let events = read(file);
        assert!(
            events
                .iter()
                .all(|e| e["execution_arn"] == arns[name].as_str()),
            "{events:?}"
        );
        let started = events
            .iter()
            .find(|e| e["type"] == "ExecutionStarted")
            .unwrap();
        assert_eq!(
            started["details"]["roleArn"],
            format!("arn:aws:iam::123456789012:role/{role}"),
            "{started}"
        );
        assert_eq!(started["details"].get("input").is_some(), data, "{started}");
    }
    // Nothing of the others in the main log, and nothing at all of the machine that said OFF.
    server.terminate();
    let events = server.log_events();
    assert!(events.is_empty(), "{events:?}");
}
