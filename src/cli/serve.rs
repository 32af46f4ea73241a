//! `statejet serve`: the Step Functions API over HTTP, for the AWS CLI, boto3 and the SDKs.
//!
//! Startup: read the functions file, build the engine and its log sink, load every definition
//! of `--definitions DIR` (a bad one stops the start: replicas must come up identical), bind,
//! then serve until Ctrl-C or SIGTERM, and shut down gracefully.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::api::sigv4::Credentials;
use crate::api::Api;
use crate::asl::MachineType;
use crate::runtime::engine::{Config, Engine};
use crate::runtime::intake;
use crate::runtime::logs::LogWriter;
use crate::runtime::registry::{Logging, NewMachine};
use crate::tasks::Functions;

#[derive(clap::Args)]
pub struct Args {
    /// The address to listen on. Anything but loopback should come with --credentials.
    #[arg(long, default_value = "127.0.0.1:8083")]
    listen: SocketAddr,
    /// A folder of definitions to create at start, one state machine per file
    /// (`NAME.asl.json`, or a `NAME.json` holding a definition, becomes state machine NAME, type
    /// EXPRESS; `NAME.standard.asl.json` becomes NAME of type STANDARD; `*.input.json`,
    /// `*.expected.json` and other JSON files that are not definitions, such as a functions
    /// file, are passed over).
    #[arg(long)]
    definitions: Option<PathBuf>,
    /// Lambda functions, as for `statejet run`.
    #[arg(long)]
    functions: Option<PathBuf>,
    /// EventBridge connections for HTTP Tasks, as for `statejet run`.
    #[arg(long, env = "STATEJET_CONNECTIONS")]
    connections: Option<PathBuf>,
    /// A mock configuration in Step Functions Local's format (MockConfigFile.json): a start
    /// with `stateMachineArn#TestCase` runs that test case's mocked responses.
    #[arg(long, env = "SFN_MOCK_CONFIG")]
    mock_config: Option<PathBuf>,
    /// Where execution logs go, as JSON lines: a file, or `-` for stdout.
    #[arg(long, default_value = "-")]
    logs: String,
    /// The logging level of state machines without a loggingConfiguration of their own: those
    /// loaded with --definitions and those created without one (ALL: fire-and-forget results are
    /// never invisible; OFF is AWS's default). Their log group is /statejet/NAME.
    #[arg(long, default_value = "ALL")]
    log_level: crate::runtime::logs::Level,
    /// Whether the logs of those state machines carry inputs and outputs (off by default:
    /// execution data reaches the logs only when asked for).
    #[arg(long)]
    include_execution_data: bool,
    /// A folder where each log group's lines go to a file of their own (the group's name as a
    /// path, with `.log`: /statejet/orders → DIR/statejet/orders.log); the lines of machines
    /// without a log group still go to --logs.
    #[arg(long)]
    logs_dir: Option<PathBuf>,
    /// Executions in flight at once; past it, starts are refused with ThrottlingException.
    #[arg(long, default_value_t = Config::default().max_in_flight)]
    max_in_flight: usize,
    /// State machines that may exist at once; past it, CreateStateMachine is refused with
    /// StateMachineLimitExceeded (AWS's default quota is 10,000 per account and region).
    #[arg(long, default_value_t = Config::default().max_state_machines)]
    max_state_machines: usize,
    /// STANDARD executions kept for DescribeExecution, ListExecutions and GetExecutionHistory;
    /// past it the execution that ended first is forgotten (running ones never are). Nothing
    /// is kept across a restart.
    #[arg(long, default_value_t = Config::default().max_retained_executions)]
    max_retained_executions: usize,
    /// The most memory the ended STANDARD executions kept may hold (their histories, inputs
    /// and outputs, as estimated per execution), e.g. 512MiB, 2GB or a number of bytes; past
    /// it the execution that ended first is forgotten (running ones never are). Default: no
    /// bound but --max-retained-executions.
    #[arg(long, value_parser = parse_size)]
    max_retained_memory: Option<usize>,
    /// Require SigV4-signed requests made with this key (ACCESS_KEY_ID:SECRET_ACCESS_KEY);
    /// repeatable. Also read from STATEJET_CREDENTIALS.
    #[arg(long, env = "STATEJET_CREDENTIALS", value_delimiter = ',')]
    credentials: Vec<Credentials>,
    /// The region and account in the ARNs this server makes.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = "123456789012")]
    account: String,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// The longest a shutdown takes: executions in flight may run on until shortly before it
    /// ends (then they are aborted, their processes killed), and every log line is written.
    #[arg(long, default_value_t = 30)]
    grace_seconds: u64,
    /// Show execution data on the live page for every state machine: failures' errors and
    /// causes, and a Standard execution's inputs, outputs and task parameters in the execution
    /// view (by default only for machines whose logging includes execution data).
    #[arg(long)]
    page_execution_data: bool,
    /// Command functions running at once; further calls wait for a slot (within their Task's
    /// timeout).
    #[arg(long, default_value_t = crate::tasks::functions::DEFAULT_MAX_PROCESSES)]
    max_processes: usize,
    /// How long a GetActivityTask waits for a task before answering without one (AWS: 60).
    #[arg(long, default_value_t = crate::tasks::activities::POLL_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=crate::tasks::activities::POLL_SECONDS))]
    activity_poll_seconds: u64,
    #[command(flatten)]
    intake: IntakeArgs,
}

/// The durable intake on NATS JetStream (README, "Scaling out").
#[derive(clap::Args)]
struct IntakeArgs {
    /// Store every StartExecution in NATS JetStream before answering it, and run the executions
    /// pulled from its durable consumer, shared by every replica started with the same intake
    /// (nats://HOST:PORT). Devices may publish executions straight to the stream.
    #[arg(long, value_name = "nats://HOST:PORT")]
    intake: Option<String>,
    /// The JetStream stream that stores the executions (created when missing).
    #[arg(long, default_value_t = intake::Config::new("").stream, requires = "intake")]
    intake_stream: String,
    /// Executions of state machine M are messages on PREFIX.M (the stream captures PREFIX.>).
    #[arg(long, default_value_t = intake::Config::new("").subject_prefix, requires = "intake")]
    intake_subject_prefix: String,
    /// The durable pull consumer the replicas share (created when missing).
    #[arg(long, default_value_t = intake::Config::new("").consumer, requires = "intake")]
    intake_consumer: String,
    /// Seconds a delivered execution may go unacknowledged (a running one signals progress)
    /// before JetStream delivers it again.
    #[arg(long, default_value_t = intake::Config::new("").ack_wait.as_secs_f64(), requires = "intake")]
    intake_ack_wait_seconds: f64,
    /// The delivery of an execution that runs nothing and ends it with a logged ExecutionFailed
    /// (Statejet.DeliveryLimitReached): the ones before it run it. At least 2.
    #[arg(long, default_value_t = intake::Config::new("").max_deliveries, requires = "intake")]
    intake_max_deliveries: u32,
    /// Also publish each pulled execution's end to this NATS subject, as one JSON object
    /// (executionArn, status, output or error and cause, ...).
    #[arg(long, requires = "intake")]
    results_subject: Option<String>,
}

impl IntakeArgs {
    fn config(&self) -> Option<Result<intake::Config, String>> {
        let url = self.intake.as_deref()?;
        let seconds = self.intake_ack_wait_seconds;
        if !(seconds.is_finite() && seconds >= 0.1) {
            return Some(Err(format!(
                "--intake-ack-wait-seconds must be at least 0.1, not {seconds}"
            )));
        }
        Some(Ok(intake::Config {
            url: url.to_owned(),
            stream: self.intake_stream.clone(),
            subject_prefix: self.intake_subject_prefix.clone(),
            consumer: self.intake_consumer.clone(),
            ack_wait: Duration::from_secs_f64(seconds),
            max_deliveries: self.intake_max_deliveries,
            results_subject: self.results_subject.clone(),
        }))
    }
}

/// The most a shutdown waits, after the engine's, for the intake's last acks to go out.
const INTAKE_CLOSE: Duration = Duration::from_secs(2);

fn fail(message: String) -> ExitCode {
    eprintln!("statejet serve: {message}");
    ExitCode::from(2)
}

pub fn run(args: &Args) -> ExitCode {
    let functions = match &args.functions {
        None => Functions::default(),
        Some(p) => match super::read_functions(p) {
            Ok(f) => f,
            Err(e) => return fail(e),
        },
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let code = rt.block_on(serve(args, functions));
    // What could still hold the runtime (a Lambda endpoint call blocking a thread) gets the
    // grace period's reserve, not forever: the process exits within the grace period.
    rt.shutdown_timeout(crate::api::RUNTIME_SHUTDOWN);
    code
}

async fn serve(args: &Args, functions: Functions) -> ExitCode {
    let sink: Box<dyn std::io::Write + Send> = if args.logs == "-" {
        Box::new(std::io::stdout())
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args.logs)
        {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => return fail(format!("{}: cannot open for logs: {e}", args.logs)),
        }
    };
    let config = Config {
        max_in_flight: args.max_in_flight.max(1),
        max_state_machines: args.max_state_machines,
        max_retained_executions: args.max_retained_executions.max(1),
        max_retained_bytes: args.max_retained_memory.unwrap_or(usize::MAX),
        region: args.region.clone(),
        account: args.account.clone(),
        // Room for as many finished executions' batches as may be in flight: a slow sink then
        // holds their permits, which is what throttles new starts.
        log_writer: Some(match &args.logs_dir {
            None => LogWriter::spawn(sink, 1024),
            Some(dir) => LogWriter::spawn_routed(sink, dir.clone(), 1024),
        }),
        ..Config::default()
    };
    let functions = functions.with_max_processes(args.max_processes);
    let engine = Engine::new(config, functions);
    let mut aws = crate::tasks::aws::Aws::from_env();
    if let Some(p) = &args.connections {
        match crate::tasks::http::Connections::from_file(p) {
            Ok(c) => aws = aws.with_connections(c),
            Err(e) => return fail(e),
        }
    }
    engine.set_aws(aws);
    if let Some(p) = &args.mock_config {
        match crate::tasks::mock::Mocks::from_file(p) {
            Ok(m) => engine.set_mocks(std::sync::Arc::new(m)),
            Err(e) => return fail(e),
        }
    }
    engine
        .callbacks()
        .activities
        .set_poll(std::time::Duration::from_secs(args.activity_poll_seconds));
    let mut api = Api::new(engine.clone(), args.credentials.clone())
        .with_default_logging(args.log_level, args.include_execution_data)
        .with_page_execution_data(args.page_execution_data);
    if let Some(dir) = &args.definitions {
        if let Err(e) = load_definitions(&api, dir, args) {
            return fail(e);
        }
    }
    // Connected before listening: a replica that cannot store starts does not come up.
    let intake = match args.intake.config() {
        None => None,
        Some(Err(e)) => return fail(e),
        Some(Ok(config)) => match intake::Intake::connect(config).await {
            Ok(i) => Some(i),
            Err(e) => return fail(format!("intake: {e}")),
        },
    };
    if let Some(i) = &intake {
        api = api.with_intake(i.clone());
    }
    let api = Arc::new(api);
    // Nested children end on the live page too.
    engine.observe_children(api.intake_observer());
    if let Some(i) = &intake {
        let c = i.config();
        eprintln!(
            "statejet serve: intake: stream {} (subjects {}.>), consumer {}, ack wait {} s, at most {} deliveries",
            c.stream,
            c.subject_prefix,
            c.consumer,
            c.ack_wait.as_secs_f64(),
            c.max_deliveries
        );
        i.spawn_pulling(engine.clone(), api.intake_observer());
    }
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot listen on {}: {e}", args.listen)),
    };
    let addr = listener.local_addr().unwrap_or(args.listen);
    if !addr.ip().is_loopback() && args.credentials.is_empty() {
        eprintln!(
            "statejet serve: warning: listening on {addr} without --credentials: anyone who can reach it can run workflows"
        );
    }
    eprintln!("statejet serve: listening on http://{addr}");
    let grace = Duration::from_secs(args.grace_seconds);
    let signal = async move {
        shutdown_signal().await;
        tokio::spawn(report_drain(engine, grace));
    };
    let served = crate::api::serve(listener, api, signal, grace).await;
    if let Some(i) = &intake {
        // Every execution has ended: the acks (and the requests to deliver aborted ones
        // again) go out before the process exits.
        i.close(INTAKE_CLOSE).await;
    }
    match served {
        Ok(()) => {
            eprintln!("statejet serve: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.to_string()),
    }
}

/// Ctrl-C, or SIGTERM where there is one.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Says what a shutdown is doing while it drains, once a second, so a person watching knows it
/// has not hung: how many executions are still in flight, and when the rest will be aborted.
async fn report_drain(engine: Engine, grace: Duration) {
    let running = usize::try_from(engine.running()).unwrap_or(usize::MAX);
    let run_on = grace.saturating_sub(crate::api::shutdown_reserve(grace, running));
    eprintln!(
        "statejet serve: shutting down: new starts are refused; {} executions in flight may run for up to {:.1} s, then the rest are aborted",
        running,
        run_on.as_secs_f64()
    );
    let started = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let left = engine.running();
        if left == 0 {
            eprintln!("statejet serve: every execution has ended; writing the last log lines");
            return;
        }
        eprintln!(
            "statejet serve: draining: {left} executions in flight after {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
}

/// Creates one state machine per definition file in `dir`, in name order. `NAME.asl.json` is
/// always a definition (an invalid one stops the start); `NAME.input.json` and
/// `NAME.expected.json` never are; another `NAME.json` is one when it is a JSON object with
/// `StartAt`, so a functions file may sit beside definitions (as in `examples/`): each such file
/// passed over is named on stderr, never skipped silently.
fn load_definitions(api: &Api, dir: &Path, args: &Args) -> Result<(), String> {
    let scope = crate::arn::Scope {
        region: args.region.clone(),
        account: args.account.clone(),
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("{}: cannot read: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| {
            // Inputs and expected outputs sit beside definitions by this naming (benches/workloads).
            let n = p.to_string_lossy();
            !n.ends_with(".input.json") && !n.ends_with(".expected.json")
        })
        .collect();
    files.sort();
    for path in files {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let (name, machine_type) = match file_name.strip_suffix(".asl.json") {
            Some(stem) => match stem.strip_suffix(".standard") {
                Some(name) => (name.to_owned(), MachineType::Standard),
                None => (stem.to_owned(), MachineType::Express),
            },
            None if looks_like_definition(&text) => (
                file_name.trim_end_matches(".json").to_owned(),
                MachineType::Express,
            ),
            None => {
                eprintln!(
                    "statejet serve: {}: not a state machine definition (no \"StartAt\"), passed over",
                    path.display()
                );
                continue;
            }
        };
        let logging =
            Logging::server_default(&scope, &name, args.log_level, args.include_execution_data);
        let spec = NewMachine {
            role_arn: scope.role("statejet"),
            name,
            definition: text,
            machine_type,
            logging,
            tracing: false,
            tags: Default::default(),
        };
        let m = api
            .create(spec)
            .map_err(|e| format!("{}: {}: {}", path.display(), e.code, e.message))?;
        eprintln!("statejet serve: {}", m.arn);
    }
    Ok(())
}

/// Whether a `.json` file's text is meant as a definition: a JSON object with `StartAt`. Text that
/// is not JSON is meant as one too, so that its syntax error is reported rather than passed over.
fn looks_like_definition(text: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(doc)) => doc.contains_key("StartAt"),
        Ok(_) => false,
        Err(_) => true,
    }
}

/// A size in bytes: a number, optionally followed by a unit (B, KB, MB, GB: powers of 1000;
/// KiB, MiB, GiB: powers of 1024), e.g. `512MiB`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let n: usize = number
        .parse()
        .map_err(|_| format!("'{s}' is not a size: expected a number of bytes, e.g. 512MiB"))?;
    let scale: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "'{s}': unknown size unit '{other}' (B, KB, MB, GB, KiB, MiB or GiB)"
            ))
        }
    };
    n.checked_mul(scale)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("'{s}' is not a size this machine can hold, or is zero"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_their_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("10 kib"), Ok(10_240));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs")
            .unwrap_err()
            .contains("unknown size unit"));
        assert!(parse_size("MiB").is_err());
    }
}
