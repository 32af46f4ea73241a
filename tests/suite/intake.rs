//! The durable intake on NATS JetStream, end to end: a real `nats-server` (Debian's, installed
//! with apt-get when missing) on a free loopback port, `statejet serve` replicas pulling from it,
//! devices publishing straight to the stream (and over MQTT), SIGKILL of a replica under load,
//! the broker going away and coming back, and the last delivery of a message that keeps failing.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::serve::{scratch, terminal_events, Served};

/// Debian's `nats-server`, installed when missing.
fn nats_server() -> PathBuf {
    let found = |dir: &str| Path::new(dir).join("nats-server");
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        if found(dir).exists() {
            return found(dir);
        }
    }
    let status = Command::new("sh")
        .args([
            "-c",
            "(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server",
        ])
        .stdout(Stdio::null())
        .status()
        .expect("apt-get runs");
    assert!(status.success(), "apt-get install nats-server failed");
    found("/usr/sbin")
}

/// A port nobody listens on now, on loopback.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `nats-server -js` of this test's own, storing in `dir`, stopped when dropped.
struct Nats {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nats {
    fn start(dir: &Path) -> Nats {
        Nats::start_on(dir, free_port())
    }

    fn start_on(dir: &Path, port: u16) -> Nats {
        let store = dir.join("jetstream");
        std::fs::create_dir_all(&store).unwrap();
        let child = Command::new(nats_server())
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("nats-{port}.log"))).unwrap())
            .spawn()
            .expect("nats-server starts");
        wait_for_port(port);
        Nats {
            child,
            port,
            dir: dir.to_owned(),
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and store.
    fn restart(&mut self) {
        self.stop();
        let again = Nats::start_on(&self.dir, self.port);
        *self = again;
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_for_port(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "port {port} never opened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The test's own NATS client runtime: one worker, so the client's connection runs between
/// the test's calls too (a subscription receives meanwhile).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Publishes `count` device messages to JetStream (`Nats-Msg-Id` = `dev-<i>`), over `spread`.
fn publish_devices(url: &str, machine: &str, count: usize, spread: Duration) {
    runtime().block_on(async {
        let client = async_nats::connect(url.trim_start_matches("nats://"))
            .await
            .expect("the test's NATS client connects");
        let js = async_nats::jetstream::new(client);
        let pause = spread / (count as u32 / 100).max(1);
        for chunk in 0..count.div_ceil(100) {
            let mut acks = Vec::new();
            for i in chunk * 100..((chunk + 1) * 100).min(count) {
                let message = async_nats::jetstream::message::PublishMessage::build()
                    .payload(json!({"device": i}).to_string().into())
                    .message_id(format!("dev-{i}"));
                acks.push(
                    js.send_publish(format!("statejet.executions.{machine}"), message)
                        .await
                        .expect("publish"),
                );
            }
            for a in acks {
                a.await.expect("JetStream stores a device's message");
            }
            tokio::time::sleep(pause).await;
        }
    });
}

/// The execution name in an express execution ARN (`...:express:MACHINE:NAME:ID`).
fn name_of(arn: &str) -> String {
    arn.split(':').nth(7).unwrap_or("").to_owned()
}

/// Terminal events across replicas' logs, by execution name.
fn terminal_by_name(logs: &[Vec<Value>]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for events in logs {
        for (arn, kinds) in terminal_events(events) {
            *out.entry(name_of(&arn)).or_default() += kinds.len();
        }
    }
    out
}

/// Starts a replica of `machines` pulling from `nats`, with `args`.
fn replica(dir: &Path, nats: &Nats, machines: &[(&str, Value)], args: &[&str]) -> Served {
    replica_at(dir, &nats.url(), machines, args)
}

fn replica_at(dir: &Path, url: &str, machines: &[(&str, Value)], args: &[&str]) -> Served {
    let mut all = vec!["--intake", url];
    all.extend_from_slice(args);
    Served::start(dir, json!({}), machines, &all)
}

fn work_machine(wait_seconds: u32) -> Value {
    json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "W"},
        "W": {"Type": "Wait", "Seconds": wait_seconds, "Next": "Done"},
        "Done": {"Type": "Succeed"}}})
}

/// The acceptance test: two replicas, 3,000 device executions published to the subject and a
/// few hundred StartExecution calls, while one replica is killed with SIGKILL and restarted.
/// Every accepted execution ends with at least one terminal event across the logs.
#[test]
fn replicas_lose_no_accepted_execution_when_one_is_killed() {
    let dir = scratch("intake-kill");
    let nats = Nats::start(&dir);
    // Wait 1 s: when the replica dies it holds hundreds of executions in flight.
    let machines = [("work", work_machine(1))];
    let args = ["--intake-ack-wait-seconds", "2"];
    let (dir_a, dir_b) = (dir.join("a"), dir.join("b"));
    let mut a = replica(&dir_a, &nats, &machines, &args);
    let b = replica(&dir_b, &nats, &machines, &args);
    let arn = b.arn("work");

    let url = nats.url();
    let devices =
        std::thread::spawn(move || publish_devices(&url, "work", 3000, Duration::from_secs(3)));
    // StartExecution on both replicas (A's fail while it is down: not accepted).
    let starters: Vec<_> = [a.addr.clone(), b.addr.clone()]
        .into_iter()
        .enumerate()
        .map(|(r, addr)| {
            let arn = arn.clone();
            std::thread::spawn(move || {
                let mut accepted = Vec::new();
                let mut refused = 0;
                for i in 0..200 {
                    let body = json!({"stateMachineArn": arn, "name": format!("api-{r}-{i}"), "input": "{}"});
                    // A replica that is down refuses the connection: not accepted.
                    let answer = match TcpStream::connect(&addr) {
                        Ok(_) => std::panic::catch_unwind(|| {
                            super::serve::Conn::new(&addr).call("StartExecution", &body)
                        }),
                        Err(e) => Ok(Err(e)),
                    };
                    match answer {
                        Ok(Ok((200, v))) => accepted.push(v["executionArn"].as_str().unwrap().to_owned()),
                        _ => refused += 1,
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                (accepted, refused)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let killed_at = Instant::now();
    std::thread::sleep(Duration::from_millis(700));
    let a = replica(&dir_a, &nats, &machines, &args);
    let restarted = killed_at.elapsed();
    devices.join().unwrap();
    let mut accepted: HashSet<String> = (0..3000).map(|i| format!("dev-{i}")).collect();
    let mut refused = 0;
    for s in starters {
        let (ok, no) = s.join().unwrap();
        accepted.extend(ok.iter().map(|a| name_of(a)));
        refused += no;
    }
    let api_accepted = accepted.len() - 3000;
    let started = Instant::now();
    let terminal = loop {
        let terminal = terminal_by_name(&[a.log_events(), b.log_events()]);
        if accepted.iter().all(|n| terminal.contains_key(n))
            || started.elapsed() > Duration::from_secs(60)
        {
            break terminal;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let missing: Vec<_> = accepted
        .iter()
        .filter(|n| !terminal.contains_key(*n))
        .collect();
    let duplicated = terminal.values().filter(|n| **n > 1).count();
    let events: Vec<Value> = a.log_events().into_iter().chain(b.log_events()).collect();
    let redelivered_lines = events
        .iter()
        .filter(|e| e.get("redelivery_count").is_some())
        .count();
    let metrics = a.connect().get("/metrics").1 + &b.connect().get("/metrics").1;
    let redelivered_metric: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("statejet_intake_redeliveries_total "))
        .filter_map(|l| l.split(' ').nth(1)?.parse::<f64>().ok())
        .sum();
    eprintln!(
        "intake under SIGKILL: {} accepted (3000 published, {api_accepted} by StartExecution, {refused} refused while a replica was down), {} with a terminal event, {} missing, {duplicated} with more than one, {redelivered_lines} log lines of redelivered executions, {redelivered_metric} redeliveries in /metrics, replica back {restarted:?} after SIGKILL, all ended {:?} after the last publish",
        accepted.len(),
        terminal.len(),
        missing.len(),
        started.elapsed()
    );
    assert!(
        missing.is_empty(),
        "{} accepted executions without a terminal event, among them {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        api_accepted >= 200,
        "StartExecution accepted {api_accepted}"
    );
    assert!(
        redelivered_lines > 0,
        "the killed replica's executions were delivered again, and their logs say so"
    );
    assert!(redelivered_metric > 0.0, "/metrics counts the redeliveries");
}

/// A message that keeps failing (each replica that takes it dies before acking) ends at its last
/// delivery with a logged ExecutionFailed saying why, and its result is published.
#[test]
fn the_last_delivery_ends_the_execution_with_a_failure_saying_why() {
    let dir = scratch("intake-last");
    let nats = Nats::start(&dir);
    let machines = [("slow", work_machine(60))];
    let args = [
        "--intake-ack-wait-seconds",
        "1",
        "--intake-max-deliveries",
        "2",
        "--results-subject",
        "statejet.results",
    ];
    let rt = runtime();
    // The client's subscription is dropped in the runtime's context, even on a failure.
    let _context = rt.enter();
    let client = rt
        .block_on(async_nats::connect(
            nats.url().trim_start_matches("nats://"),
        ))
        .unwrap();
    let mut results = rt.block_on(client.subscribe("statejet.results")).unwrap();
    rt.block_on(client.flush()).unwrap();
    let mut a = replica(&dir.join("a"), &nats, &machines, &args);
    let (status, answer) = a
        .connect()
        .call(
            "StartExecution",
            &json!({"stateMachineArn": a.arn("slow"), "name": "poison", "input": "{\"x\": 1}"}),
        )
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    let arn = answer["executionArn"].as_str().unwrap().to_owned();
    // Its log lines are written at its end: its start shows in /metrics.
    let started = Instant::now();
    while !a
        .connect()
        .get("/metrics")
        .1
        .contains("statejet_executions_in_flight{state_machine=\"slow\"} 1")
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the execution never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let b = replica(&dir.join("b"), &nats, &machines, &args);
    let started = Instant::now();
    let failed = loop {
        if let Some(e) = b
            .log_events()
            .into_iter()
            .find(|e| e["type"] == "ExecutionFailed")
        {
            break e;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no ExecutionFailed at the last delivery"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        failed["execution_arn"],
        arn.as_str(),
        "the ARN StartExecution answered"
    );
    assert_eq!(failed["details"]["error"], "Statejet.DeliveryLimitReached");
    let cause = failed["details"]["cause"].as_str().unwrap();
    assert!(
        cause.contains("delivered this execution 2 times"),
        "{cause}"
    );
    assert_eq!(failed["redelivery_count"], "1");
    let result = rt
        .block_on(tokio::time::timeout(
            Duration::from_secs(10),
            futures::StreamExt::next(&mut results),
        ))
        .expect("a result on --results-subject")
        .unwrap();
    let result: Value = serde_json::from_slice(&result.payload).unwrap();
    assert_eq!(result["executionArn"], arn.as_str());
    assert_eq!(result["status"], "FAILED");
    assert_eq!(result["error"], "Statejet.DeliveryLimitReached");
    assert_eq!(result["redeliveryCount"], 1);
}

/// With the broker gone, StartExecution fails with a clear error (nothing is accepted and then
/// lost); when it comes back the replica reconnects, and what was stored before runs.
#[test]
fn a_broker_that_goes_away_fails_starts_clearly_and_pulling_resumes() {
    let dir = scratch("intake-down");
    // Nothing listens: the replica does not come up, and says why.
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_statejet"))
        .args(["serve", "--listen", "127.0.0.1:0", "--intake"])
        .arg(format!("nats://127.0.0.1:{port}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach NATS at nats://127.0.0.1:{port}")),
        "{stderr}"
    );

    let mut nats = Nats::start(&dir);
    let machines = [("quick", work_machine(0)), ("later", work_machine(0))];
    let s = replica(&dir.join("a"), &nats, &machines, &[]);
    let start = |name: &str, machine: &str| {
        s.connect()
            .call(
                "StartExecution",
                &json!({"stateMachineArn": s.arn(machine), "name": name}),
            )
            .unwrap()
    };
    assert_eq!(start("before", "quick").0, 200);
    nats.stop();
    // The client notices the closed connection at once; give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    let (status, answer) = start("while-down", "quick");
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["__type"], "ServiceUnavailable");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("unreachable") && message.contains("not started"),
        "{message}"
    );
    nats.restart();
    let started = Instant::now();
    let after = loop {
        let (status, answer) = start("after", "quick");
        if status == 200 {
            break answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never reconnected: {answer}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let arn = after["executionArn"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let terminal = terminal_events(&s.log_events());
        if terminal.contains_key(&arn) {
            assert!(
                !terminal.keys().any(|a| name_of(a) == "while-down"),
                "a refused start ran"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "pulling never resumed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A device publishing over MQTT (NATS's own MQTT support) starts an execution: topic
/// `statejet/executions/<machine>` is subject `statejet.executions.<machine>`.
#[test]
fn an_mqtt_device_starts_an_execution_through_nats() {
    let dir = scratch("intake-mqtt");
    let (port, mqtt_port) = (free_port(), free_port());
    let config = dir.join("nats.conf");
    std::fs::write(
        &config,
        mqtt_config(port, mqtt_port, &dir.join("jetstream")),
    )
    .unwrap();
    let mut child = Command::new(nats_server())
        .arg("-c")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("nats.log")).unwrap())
        .spawn()
        .unwrap();
    wait_for_port(port);
    wait_for_port(mqtt_port);
    let url = format!("nats://127.0.0.1:{port}");
    let s = replica_at(&dir.join("a"), &url, &[("sensor", work_machine(0))], &[]);
    mqtt_publish(
        mqtt_port,
        "statejet/executions/sensor",
        br#"{"celsius": 21.5}"#,
    );
    let started = Instant::now();
    let ended = loop {
        let events = s.log_events();
        if let Some(e) = events.iter().find(|e| e["type"] == "ExecutionSucceeded") {
            break e.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the MQTT message started nothing"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(ended["execution_arn"]
        .as_str()
        .unwrap()
        .contains(":express:sensor:"));
    let _ = child.kill();
    let _ = child.wait();
}

/// The server configuration the README documents for MQTT devices.
fn mqtt_config(port: u16, mqtt_port: u16, store: &Path) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/nats/nats-mqtt.conf"),
    )
    .expect("examples/nats/nats-mqtt.conf");
    text.replace("4222", &port.to_string())
        .replace("1883", &mqtt_port.to_string())
        .replace("/var/lib/nats", &store.display().to_string())
}

/// One MQTT 3.1.1 publish at QoS 1: CONNECT, PUBLISH, wait for PUBACK, DISCONNECT.
fn mqtt_publish(port: u16, topic: &str, payload: &[u8]) {
    fn packet(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        let mut n = body.len();
        loop {
            let mut b = (n % 128) as u8;
            n /= 128;
            if n > 0 {
                b |= 128;
            }
            out.push(b);
            if n == 0 {
                break;
            }
        }
        out.extend_from_slice(body);
        out
    }
    fn string(s: &[u8]) -> Vec<u8> {
        let mut out = (s.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(s);
        out
    }
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut connect = string(b"MQTT");
    connect.extend([4, 0b0000_0010, 0, 30]); // level 4, clean session, keep-alive 30 s
    connect.extend(string(b"statejet-test-device"));
    stream.write_all(&packet(0x10, &connect)).unwrap();
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).unwrap();
    assert_eq!((connack[0], connack[3]), (0x20, 0), "CONNACK accepted");
    let mut publish = string(topic.as_bytes());
    publish.extend([0, 1]); // packet id 1
    publish.extend_from_slice(payload);
    stream.write_all(&packet(0x32, &publish)).unwrap(); // PUBLISH, QoS 1
    let mut puback = [0u8; 4];
    stream.read_exact(&mut puback).unwrap();
    assert_eq!(puback, [0x40, 2, 0, 1], "PUBACK for packet 1");
    stream.write_all(&[0xe0, 0]).unwrap();
}
