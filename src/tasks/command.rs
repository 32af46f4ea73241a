//! Command functions: a program reads the payload on stdin and writes its result on stdout.
//!
//! Invariants: stdin is written while stdout is read (a program may answer before it has read
//! everything, and neither pipe can fill up and stop the other); a program still running when
//! its call ends (its Task's timeout, the execution's deadline, a shutdown's abort, a dropped
//! caller) is killed and reaped, and no thread waits on it; at most `Slots` programs run at
//! once, and further calls queue for a slot rather than fail.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::sync::Semaphore;

use crate::vm::failure::TIMEOUT;
use crate::vm::Failure;

/// The most a function may answer: Lambda's limit for a synchronous response (6 MB).
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// What a program's run produced.
pub struct Output {
    pub stdout: Vec<u8>,
    pub status: ExitStatus,
}

/// Runs `argv` with `input` on stdin, within `limit`, once one of `slots` is free (the wait for
/// a slot counts against `limit`, as everything the Task waits for does).
pub async fn run(
    name: &str,
    argv: &[String],
    input: Vec<u8>,
    limit: Option<Duration>,
    slots: &Semaphore,
) -> Result<Output, Failure> {
    let deadline = limit.map(|l| tokio::time::Instant::now() + l);
    let timed_out = || Failure::new(TIMEOUT, "");
    // The semaphore is never closed, so acquiring fails only by running out of time.
    let _slot = match deadline {
        None => slots.acquire().await.ok(),
        Some(d) => tokio::time::timeout_at(d, slots.acquire())
            .await
            .map_err(|_| timed_out())?
            .ok(),
    };
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // A call dropped while the program runs (the execution's deadline, a shutdown's abort)
        // kills it, and tokio reaps it; a timeout below kills and reaps it here.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            Failure::new(
                "Lambda.ServiceException",
                format!("function '{name}': cannot run {:?}: {e}", argv[0]),
            )
        })?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let write = async move {
        if let Some(mut stdin) = stdin {
            // A program that exits without reading its input is not an error of ours.
            let _ = stdin.write_all(&input).await;
            // Dropping stdin closes it: the program sees the end of its input.
        }
    };
    let read = async move {
        let mut buf = Vec::new();
        if let Some(stdout) = stdout {
            let mut limited = stdout.take(MAX_RESPONSE_BYTES as u64 + 1);
            let _ = limited.read_to_end(&mut buf).await;
        }
        buf
    };
    let talk = async {
        let ((), out) = tokio::join!(write, read);
        if out.len() > MAX_RESPONSE_BYTES {
            return Ok(Err(out.len()));
        }
        child.wait().await.map(|status| Ok((out, status)))
    };
    let talked = match deadline {
        None => Ok(talk.await),
        Some(d) => tokio::time::timeout_at(d, talk).await,
    };
    match talked {
        Ok(Ok(Ok((stdout, status)))) => Ok(Output { stdout, status }),
        Ok(Ok(Err(_))) => {
            let _ = child.kill().await;
            Err(Failure::new(
                "Lambda.Unknown",
                format!(
                    "function '{name}': Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                ),
            ))
        }
        Ok(Err(e)) => Err(Failure::new(
            "Lambda.ServiceException",
            format!("function '{name}': {e}"),
        )),
        Err(_) => {
            // Kill, and wait for the end, so nothing of the program outlives its call.
            let _ = child.kill().await;
            Err(timed_out())
        }
    }
}

/// `run` for a caller without a runtime (`statejet run`, TestState's blocking thread): on a
/// thread of its own with a small runtime, so it works whatever the calling thread is.
pub fn run_blocking(
    name: &str,
    argv: &[String],
    input: Vec<u8>,
    limit: Option<Duration>,
    slots: &Semaphore,
) -> Result<Output, Failure> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        Failure::new(
                            "Lambda.ServiceException",
                            format!("function '{name}': cannot start its runtime: {e}"),
                        )
                    })?;
                rt.block_on(run(name, argv, input, limit, slots))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(Failure::new(
                    "Lambda.ServiceException",
                    format!("function '{name}': its runner panicked"),
                ))
            })
    })
}
