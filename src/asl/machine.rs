//! The validated form of a definition: what the compiler reads.
//!
//! Invariant: a value of these types only exists for a definition without errors. Transitions are
//! resolved to indexes into their own `Block`, Retry defaults are filled in, every path, template
//! and intrinsic call is parsed, and each state holds only the fields of its query language.

use crate::value::{Str, Value};
use chrono::{DateTime, FixedOffset};

use super::intrinsic::Call;
use super::path::{Path, ReferencePath};

/// `QueryLanguage`: how a state's dynamic fields are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    #[default]
    JsonPath,
    Jsonata,
}

/// A whole definition.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub comment: Option<String>,
    pub version: Option<String>,
    /// The execution's `TimeoutSeconds`, if set.
    pub timeout_seconds: Option<u64>,
    pub query_language: QueryLanguage,
    pub top: Block,
}

/// One `States` object with its `StartAt`: the machine itself, a Parallel branch, or a Map's
/// item processor. Transitions only ever point inside their own block.
#[derive(Debug, Clone)]
pub struct Block {
    pub comment: Option<String>,
    pub start_at: StateRef,
    pub states: Vec<State>,
}

/// The index of a state within its `Block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateRef(pub u32);

impl StateRef {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a state goes when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Next(StateRef),
    End,
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub comment: Option<String>,
    pub query_language: QueryLanguage,
    pub kind: StateKind,
}

// The validated form is built once per definition and read once by the compiler; variant sizes
// do not matter here, so boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StateKind {
    Pass(Pass),
    Task(Task),
    Choice(Choice),
    Wait(Wait),
    Succeed(Succeed),
    Fail(Fail),
    Parallel(Parallel),
    Map(Map),
}

impl StateKind {
    /// The `Type` field's value.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed(_) => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

/// `InputPath` / `OutputPath`: absent means `$`, `null` means `{}`.
#[derive(Debug, Clone)]
pub enum Select {
    Whole,
    Nothing,
    Path(Path),
}

/// `ResultPath`: absent means `$` (the result replaces the input), `null` discards the result.
#[derive(Debug, Clone)]
pub enum ResultPath {
    Replace,
    Discard,
    Path(ReferencePath),
}

/// A JSONPath payload template (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign`, ...).
#[derive(Debug, Clone)]
pub enum Template {
    /// A value with no `.$` field anywhere inside: used as it is.
    Literal(Value),
    Object(Vec<(Str, Template)>),
    Array(Vec<Template>),
    /// The value of a `key.$` field that is a path.
    Path(Path),
    /// The value of a `key.$` field that is an intrinsic function call.
    Call(Call),
}

/// A JSONata expression (the text between `{%` and `%}`), parsed.
pub use crate::jsonata::Compiled as Expr;

/// A JSONata-language value: JSON in which every string of the form `{% ... %}` is an expression.
#[derive(Debug, Clone)]
pub enum Jsonata {
    Literal(Value),
    Expr(Expr),
    Object(Vec<(Str, Jsonata)>),
    Array(Vec<Jsonata>),
}

impl Jsonata {
    /// Whether any expression inside may read `$states.context`.
    pub fn reads_context(&self) -> bool {
        match self {
            Jsonata::Literal(_) => false,
            Jsonata::Expr(e) => e.reads_context,
            Jsonata::Object(fields) => fields.iter().any(|(_, v)| v.reads_context()),
            Jsonata::Array(items) => items.iter().any(Jsonata::reads_context),
        }
    }
}

/// A field whose value is written out, taken from the input by a `...Path` twin, or (in JSONata
/// states) computed by an expression.
#[derive(Debug, Clone)]
pub enum Dynamic<T> {
    Fixed(T),
    Path(ReferencePath),
    Expr(Expr),
}

/// `Assign`, in the form of its state's query language.
#[derive(Debug, Clone)]
pub enum Assign {
    JsonPath(Vec<(String, Template)>),
    Jsonata(Vec<(String, Jsonata)>),
}

/// How a state turns its input into its effective input and its result into its output.
#[allow(clippy::large_enum_variant)] // built once per state; see `StateKind`
#[derive(Debug, Clone)]
pub enum Flow {
    JsonPath {
        input_path: Select,
        /// `Parameters` (or a Map's `ItemSelector`-less `Parameters`).
        parameters: Option<Template>,
        result_selector: Option<Template>,
        result_path: ResultPath,
        output_path: Select,
    },
    Jsonata {
        arguments: Option<Jsonata>,
        output: Option<Jsonata>,
    },
}

#[derive(Debug, Clone)]
pub struct Pass {
    pub flow: Flow,
    pub result: Option<Value>,
    pub assign: Option<Assign>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub resource: Resource,
    pub flow: Flow,
    pub timeout_seconds: Option<Dynamic<u64>>,
    pub heartbeat_seconds: Option<Dynamic<u64>>,
    pub credentials: Option<Credentials>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub assign: Option<Assign>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub enum Credentials {
    JsonPath(Template),
    Jsonata(Jsonata),
}

/// A Task's `Resource`, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The ARN as written, except that a service integration's is written without region and
    /// account (`arn:aws:states:::lambda:invoke`), so both spellings run as one resource.
    pub arn: String,
    pub kind: ResourceKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceKind {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    Lambda { function: String },
    /// `arn:aws:states:::SERVICE:ACTION[.sync|.sync:2|.waitForTaskToken]`, including `aws-sdk:...`.
    Service {
        service: String,
        action: String,
        pattern: IntegrationPattern,
    },
    /// `arn:aws:states:REGION:ACCOUNT:activity:NAME`.
    Activity { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationPattern {
    RequestResponse,
    Sync,
    WaitForTaskToken,
}

/// One entry of `Retry`, with AWS's defaults filled in.
#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
}

/// One entry of `Catch`.
#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: StateRef,
    pub output: CatchOutput,
    pub assign: Option<Assign>,
}

/// Where a caught error goes: JSONPath `ResultPath`, or a JSONata `Output` (default: the error).
#[derive(Debug, Clone)]
pub enum CatchOutput {
    ResultPath(ResultPath),
    Jsonata(Option<Jsonata>),
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub flow: Flow,
    pub choices: Vec<ChoiceRule>,
    pub default: Option<StateRef>,
    pub assign: Option<Assign>,
}

/// A top-level Choice rule: a condition and where to go when it holds.
#[derive(Debug, Clone)]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: StateRef,
    pub assign: Option<Assign>,
    /// JSONata `Output` of the rule.
    pub output: Option<Jsonata>,
}

#[derive(Debug, Clone)]
pub enum Condition {
    JsonPath(Rule),
    /// JSONata `Condition`: a literal boolean or an expression.
    Jsonata(Dynamic<bool>),
}

/// A JSONPath Choice rule.
#[derive(Debug, Clone)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test {
        variable: Path,
        comparison: Comparison,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

/// A data-test operator with its operand.
#[derive(Debug, Clone)]
pub enum Comparison {
    String(Ordering, Operand<String>),
    Numeric(Ordering, Operand<f64>),
    Timestamp(Ordering, Operand<DateTime<FixedOffset>>),
    BooleanEquals(Operand<bool>),
    StringMatches(String),
    IsNull(bool),
    IsPresent(bool),
    IsNumeric(bool),
    IsString(bool),
    IsBoolean(bool),
    IsTimestamp(bool),
}

/// A comparison's right-hand side: a literal, or a path (the `...Path` operators).
#[derive(Debug, Clone)]
pub enum Operand<T> {
    Literal(T),
    Path(Path),
}

#[derive(Debug, Clone)]
pub struct Wait {
    pub flow: Flow,
    pub until: WaitFor,
    pub assign: Option<Assign>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub enum WaitFor {
    Seconds(Dynamic<u64>),
    Timestamp(Dynamic<DateTime<FixedOffset>>),
}

#[derive(Debug, Clone)]
pub struct Succeed {
    pub flow: Flow,
}

#[derive(Debug, Clone)]
pub struct Fail {
    pub error: Option<FailField>,
    pub cause: Option<FailField>,
}

/// Fail's `Error`/`Cause`: a string, an `ErrorPath`/`CausePath` (a path or an intrinsic call),
/// or a JSONata expression.
#[derive(Debug, Clone)]
pub enum FailField {
    Fixed(String),
    Path(Path),
    Call(Call),
    Expr(Expr),
}

#[derive(Debug, Clone)]
pub struct Parallel {
    pub flow: Flow,
    pub branches: Vec<Block>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub assign: Option<Assign>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub struct Map {
    pub flow: Flow,
    pub items: Items,
    pub item_selector: Option<ItemSelector>,
    pub processor: Block,
    pub mode: ProcessorMode,
    pub item_reader: Option<ItemReader>,
    pub item_batcher: Option<ItemBatcher>,
    pub result_writer: Option<ResultWriter>,
    pub max_concurrency: Dynamic<u64>,
    pub tolerated_failure_count: Option<Dynamic<u64>>,
    pub tolerated_failure_percentage: Option<Dynamic<f64>>,
    pub label: Option<String>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub assign: Option<Assign>,
    pub transition: Transition,
}

/// Which items a Map iterates over.
#[derive(Debug, Clone)]
pub enum Items {
    /// `ItemsPath` (absent means `$`).
    Path(ReferencePath),
    /// JSONata `Items` (absent means the state input).
    Jsonata(Option<Jsonata>),
}

#[derive(Debug, Clone)]
pub enum ItemSelector {
    JsonPath(Template),
    Jsonata(Jsonata),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorMode {
    Inline,
    /// Distributed: statejet runs it in memory with inline semantics.
    Distributed,
}

/// A Distributed Map's `ItemReader`: the S3 object or listing its items come from.
#[derive(Debug, Clone)]
pub struct ItemReader {
    pub source: ReaderSource,
    /// `Parameters` (JSONPath: a payload template) or `Arguments` (JSONata): the S3 request's
    /// `Bucket`, `Key`, `Prefix`, ...
    pub arguments: Option<ItemSelector>,
    pub config: ReaderConfig,
}

/// The S3 action an `ItemReader` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderSource {
    /// `arn:aws:states:::s3:getObject`: one object's items (`ReaderConfig.InputType`).
    GetObject,
    /// `arn:aws:states:::s3:listObjectsV2`: one item per object of a bucket and prefix.
    ListObjectsV2,
}

/// `ReaderConfig`, with AWS's defaults filled in (`FIRST_ROW`, `COMMA`).
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// Required for `s3:getObject`, absent for `s3:listObjectsV2`.
    pub input_type: Option<InputType>,
    /// `CSVHeaders` when `CSVHeaderLocation` is `GIVEN`; `None`: the first row's.
    pub csv_headers: Option<Vec<String>>,
    pub csv_delimiter: u8,
    /// `MaxItems` / `MaxItemsPath` (or a JSONata `MaxItems`).
    pub max_items: Option<Dynamic<u64>>,
    /// `ItemsPointer`: the JSON Pointer of the array within a JSON object.
    pub items_pointer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InputType {
    Json,
    Jsonl,
    Csv,
    Manifest,
    Parquet,
}

/// A Distributed Map's `ResultWriter`: where its children's results go and in what form.
#[derive(Debug, Clone)]
pub struct ResultWriter {
    /// `Parameters`/`Arguments` (`Bucket`, `Prefix`) with `Resource`
    /// `arn:aws:states:::s3:putObject`; `None`: `WriterConfig` alone (the state's output is
    /// formatted, nothing is exported).
    pub export: Option<ItemSelector>,
    pub output_type: OutputType,
    pub transformation: Transformation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OutputType {
    Json,
    Jsonl,
}

/// What of each child is written: `NONE` (the execution's record, the default when
/// exporting), `COMPACT` (its output), `FLATTEN` (its output, an array's items spliced in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Transformation {
    None,
    Compact,
    Flatten,
}

#[derive(Debug, Clone)]
pub struct ItemBatcher {
    pub max_items_per_batch: Option<Dynamic<u64>>,
    pub max_input_bytes_per_batch: Option<Dynamic<u64>>,
    pub batch_input: Option<ItemSelector>,
}
