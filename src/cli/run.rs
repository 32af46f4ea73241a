//! `statejet run DEF`: one execution, from the command line.
//!
//! Exit codes without `--result`: 0 succeeded (output on stdout), 1 failed, 3 timed out (error and
//! cause on stderr), 2 when the definition, input or functions file cannot be used. With
//! `--result`, one JSON object `{"status","output","error","cause"}` on stdout and exit 0.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::arn::Scope;
use crate::asl::{self, Config, MachineType};
use crate::compile;
use crate::runtime::{self, Clock, Status, SystemClock};
use crate::tasks::Functions;
use crate::vm::context::ExecutionInfo;

#[derive(clap::Args)]
pub struct Args {
    /// The definition file (Amazon States Language JSON).
    definition: PathBuf,
    /// The execution input, as JSON text (default `{}`).
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// A file holding the execution input.
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// Lambda functions: {"functions": {"NAME": {"command": [...]} | {"return": V} | {"throw": {"error", "cause"}}}}.
    #[arg(long)]
    functions: Option<PathBuf>,
    /// Print one JSON object with status, output, error and cause, and exit 0.
    #[arg(long)]
    result: bool,
    /// The execution's name (default: a new UUID).
    #[arg(long)]
    name: Option<String>,
    /// The state machine type: it decides validation and the shape of the Context Object
    /// (`Execution.Id`, `RedriveCount`). EXPRESS runs like `StartSyncExecution`.
    #[arg(long = "type", default_value = "EXPRESS", value_parser = super::validate::parse_type)]
    machine_type: MachineType,
    /// Start an EXPRESS execution as `StartExecution` does (asynchronously), not as
    /// `StartSyncExecution`: its Context Object then has `Execution.RedriveCount`. A STANDARD
    /// execution always starts so.
    #[arg(long = "async")]
    asynchronous: bool,
    /// EventBridge connections for HTTP Tasks, by ARN or name: {"Connections": {"NAME":
    /// {"AuthorizationType", "AuthParameters"}}} (CreateConnection's shape). Connections not in
    /// it are read from EventBridge (DescribeConnection, their secret from Secrets Manager).
    #[arg(long, env = "STATEJET_CONNECTIONS")]
    connections: Option<PathBuf>,
    /// A mock configuration in Step Functions Local's format (MockConfigFile.json).
    #[arg(long, env = "SFN_MOCK_CONFIG")]
    mock_config: Option<PathBuf>,
    /// The mock configuration's test case to run (as `stateMachineArn#TestCase` does): the
    /// state machine's name there is the definition file's name without `.asl.json`.
    #[arg(long, requires = "mock_config")]
    test_case: Option<String>,
}

/// A problem that stops the run before it starts.
fn usage(message: String) -> ExitCode {
    eprintln!("statejet run: {message}");
    ExitCode::from(2)
}

pub fn run(args: &Args) -> ExitCode {
    let file = args.definition.display().to_string();
    let text = match std::fs::read_to_string(&args.definition) {
        Ok(t) => t,
        Err(e) => return usage(format!("{file}: cannot read: {e}")),
    };
    let config = Config {
        machine_type: args.machine_type,
    };
    let machine = match asl::validate(&text, &config) {
        Ok(m) => m,
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{file}: {}", d);
            }
            return usage(format!("{file} is not a valid definition"));
        }
    };
    let input_text = match (&args.input, &args.input_file) {
        (Some(t), _) => t.clone(),
        (None, Some(p)) => match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) => return usage(format!("{}: cannot read: {e}", p.display())),
        },
        (None, None) => "{}".to_owned(),
    };
    let input = match crate::value::Value::parse(&input_text) {
        Ok(v) => v,
        Err(e) => return usage(format!("the input is not JSON: {e}")),
    };
    let functions = match &args.functions {
        None => Functions::default(),
        Some(p) => match super::read_functions(p) {
            Ok(f) => f,
            Err(e) => return usage(e),
        },
    };
    let aws = match &args.connections {
        None => crate::tasks::aws::Aws::from_env(),
        Some(p) => match crate::tasks::http::Connections::from_file(p) {
            Ok(c) => crate::tasks::aws::Aws::from_env().with_connections(c),
            Err(e) => return usage(e),
        },
    };
    let mocks = match &args.mock_config {
        None => None,
        Some(p) => match crate::tasks::mock::Mocks::from_file(p) {
            Ok(m) => Some(Arc::new(m)),
            Err(e) => return usage(e),
        },
    };
    let sm_name = args
        .definition
        .file_stem()
        .map(|s| s.to_string_lossy().trim_end_matches(".asl").to_owned())
        .unwrap_or_else(|| "statemachine".to_owned());
    let clock = SystemClock;
    let name = args.name.clone().unwrap_or_else(|| {
        uuid::Builder::from_random_bytes(random_bytes(clock.now_ms()))
            .into_uuid()
            .to_string()
    });
    let id = uuid::Builder::from_random_bytes(random_bytes(clock.now_ms() ^ 0x5DEE_CE66))
        .into_uuid()
        .to_string();
    // A Standard execution's ARN has no UUID; a synchronous Express one has no RedriveCount.
    let scope = Scope::default();
    let arn = scope.execution(args.machine_type, &sm_name, &name, &id);
    let redrive_count = match args.machine_type {
        MachineType::Express => args.asynchronous.then_some(0),
        MachineType::Standard => Some(0),
    };
    let execution = Arc::new(ExecutionInfo {
        identity: crate::arn::Identity::given(arn, name),
        redrive_count,
        input,
        role_arn: scope.role("statejet").into(),
        machine_type: args.machine_type,
        start_ms: clock.now_ms(),
        state_machine_id: scope.state_machine(&sm_name).into(),
        state_machine_name: sm_name.into(),
    });
    // The machine type's cap: 5 minutes for EXPRESS, a year for STANDARD.
    let max = runtime::registry::max_duration_seconds(args.machine_type);
    let limit = machine.timeout_seconds.unwrap_or(max).min(max);
    let program = Arc::new(compile::compile(machine));
    // Through a router without a token store: activities and callbacks say they need serve.
    let router = crate::tasks::Router::new(functions);
    router.set_aws(aws);
    let _session = match (&mocks, &args.test_case) {
        (Some(m), Some(case)) => {
            match m.begin(
                &execution.state_machine_name,
                execution.name(),
                case,
                program.machine(),
            ) {
                Ok(g) => Some(g),
                Err(e) => return usage(e.to_string()),
            }
        }
        _ => None,
    };
    if let Some(m) = mocks {
        router.set_mocks(m);
    }
    let outcome = runtime::execute_within(program, limit, execution, &router, &clock);
    let (error, cause) = match &outcome.failure {
        Some(f) => (f.error.clone(), f.cause.clone()),
        None => (String::new(), String::new()),
    };
    if args.result {
        let mut r = json!({"status": outcome.status.as_str()});
        match outcome.status {
            Status::Succeeded => {
                r["output"] = outcome
                    .output
                    .map_or(Value::Null, crate::value::Value::into_serde)
            }
            // An absent Error or Cause (a Fail state without them) is null, as AWS omits it.
            _ => {
                r["error"] = if error.is_empty() {
                    Value::Null
                } else {
                    json!(error)
                };
                r["cause"] = if cause.is_empty() {
                    Value::Null
                } else {
                    json!(cause)
                };
            }
        }
        println!("{r}");
        return ExitCode::SUCCESS;
    }
    match outcome.status {
        Status::Succeeded => {
            println!("{}", outcome.output.unwrap_or_default());
            ExitCode::SUCCESS
        }
        Status::Failed => {
            eprintln!("FAILED: {error}: {cause}");
            ExitCode::from(1)
        }
        Status::TimedOut | Status::Aborted => {
            eprintln!("{}: {error}: {cause}", outcome.status.as_str());
            ExitCode::from(3)
        }
    }
}

/// Sixteen bytes for a v4 UUID from a seed (names need uniqueness, not secrecy).
fn random_bytes(seed: u64) -> [u8; 16] {
    let mut x = seed ^ std::process::id() as u64;
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out
}
