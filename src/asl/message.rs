//! The texts of static diagnostics, in AWS's wording.
//!
//! Invariant: every message a reader emits is built here, so matching AWS's wording is a change
//! to this one file. Wordings recorded from AWS are marked; the rest follow AWS's patterns.

/// Recorded for empty `Branches`.
pub const EMPTY: &str = "Value cannot be empty";

/// Recorded for `"QueryLanguage": 5`.
pub fn wrong_type(expected: &str) -> String {
    format!("Expected value of type [{expected}]")
}

/// Recorded for `"MaxConcurrency": -1`.
pub fn minimum(bound: &str) -> String {
    format!("Minimum value is {bound}")
}

pub fn maximum(bound: &str) -> String {
    format!("Maximum value is {bound}")
}

/// Recorded for `{}` (`[States, StartAt]`).
pub fn required(keys: &[&str]) -> String {
    format!("These fields are required: [{}]", keys.join(", "))
}

/// Recorded.
pub fn not_supported(key: &str) -> String {
    format!("Field '{key}' is not supported")
}

/// Recorded for a JSONPath-only field in a JSONata state and the reverse.
pub fn other_language(lang: &str, field: &str, other: &str) -> String {
    format!("The QueryLanguage is set to '{lang}', but field '{field}' is only supported for the '{other}' QueryLanguage")
}

/// Recorded for `Type`.
pub fn type_one_of(values: &[&str]) -> String {
    format!(
        "The field 'Type' should have one of these values: [{}]",
        values.join(", ")
    )
}

/// Recorded for `QueryLanguage`.
pub fn one_of(values: &[&str]) -> String {
    format!(
        "Value should be one of the following: [{}]",
        values.join(", ")
    )
}

/// Two or more of fields of which at most one may be set.
pub fn only_one(fields: &[&str]) -> String {
    format!(
        "There should only be one of the following fields: [{}]",
        fields.join(", ")
    )
}

/// None of fields of which exactly one must be set.
pub fn exactly_one(fields: &[&str]) -> String {
    format!(
        "This object should have only one of the following fields: [{}]",
        fields.join(", ")
    )
}

/// Recorded, for every kind of transition (`StartAt`, `Next`, `Default`, Catch, Choice rules).
pub fn missing_next(target: &str) -> String {
    format!("Missing 'Next' target: {target}")
}

/// Recorded.
pub fn unreachable(name: &str) -> String {
    format!("State \"{name}\" is not reachable.")
}

/// Recorded (with no location).
pub const NO_TERMINAL: &str = "Workflow has no terminal state";

pub fn duplicate_state(name: &str) -> String {
    format!("Duplicate State name: {name}")
}

/// Recorded.
pub fn state_name_too_long(name: &str) -> String {
    format!(
        "Invalid State name: State '{name}' exceeds the 80-character limit allowed by the service"
    )
}

pub const STATE_NAME_EMPTY: &str = "Invalid State name: State name must not be empty";

/// Recorded for `OutputPath`.
pub const INVALID_PATH: &str = "Value must be a valid JSONPath.";

/// Recorded for a Choice `Variable` without `$`.
pub fn not_reference_path(detail: &str) -> String {
    format!("Value is not a Reference Path: {detail}")
}

pub const NO_DOLLAR: &str = "Reference path didn't start with '$'";

pub const RESULT_PATH_ROOT: &str =
    "ResultPath must refer to the state input ('$'), not to the Context Object or a variable";

/// Recorded.
pub fn invalid_template_value(field: &str) -> String {
    format!("The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call")
}

pub fn invalid_fail_path(field: &str) -> String {
    format!(
        "The value for the field '{field}' must be a valid Reference Path or a valid intrinsic function call returning a string"
    )
}

pub fn invalid_jsonata(field: &str) -> String {
    format!(
        "The value for the field '{field}' must be a boolean or a JSONata expression in {{% %}}"
    )
}

pub fn empty_jsonata(text: &str) -> String {
    format!("The JSONata expression '{text}' is empty")
}

pub fn invalid_variable_name(name: &str) -> String {
    if name == "states" {
        "The variable name 'states' is reserved".to_owned()
    } else {
        format!("The variable name '{name}' is not valid: it must be an identifier of at most 80 characters")
    }
}

pub fn duplicate_template_key(name: &str) -> String {
    format!("The field '{name}' appears both with and without the '.$' suffix")
}

/// Recorded (AWS repeats it in some listings; statejet reports it once).
pub const STATES_ALL: &str = "States.ALL must appear alone and at end of list";

/// Recorded.
pub fn required_field(field: &str) -> String {
    format!("The field '{field}' is required but was missing")
}

/// statejet's words (AWS's wording for these HTTP Task checks is not recorded).
pub fn not_one_of(field: &str, value: &serde_json::Value, allowed: &[&str]) -> String {
    format!(
        "The value {value} of the field '{field}' is not valid; it must be one of {}",
        allowed.join(", ")
    )
}

/// statejet's words.
pub fn http_endpoint(value: &serde_json::Value) -> String {
    format!("The value {value} of the field 'ApiEndpoint' is not an http:// or https:// URL")
}

/// statejet's words.
pub fn http_header(name: &str) -> String {
    format!("The header '{name}' cannot be set in an HTTP Task: Step Functions sets it or does not allow it")
}

/// Recorded.
pub fn unknown_resource(arn: &str) -> String {
    format!("The resource provided {arn} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region.")
}

/// Recorded.
pub const EXPRESS_ACTIVITY: &str = "Express state machine does not support Activity ARN";
/// Recorded.
pub const EXPRESS_SYNC: &str = "Express state machine does not support '.sync' service integration";
/// Recorded, trailing space included.
pub const EXPRESS_CALLBACK: &str =
    "Express state machine does not support '.waitForTaskToken' service integration ";

pub const HEARTBEAT_TOO_LONG: &str = "HeartbeatSeconds must be smaller than TimeoutSeconds";

/// A Choice rule with neither a data test nor `And`/`Or`/`Not`.
pub const NO_OPERATOR: &str =
    "A Choice Rule must have one comparison operator or one of the fields [And, Or, Not]";

pub const INVALID_LABEL: &str =
    "Label must be at most 40 characters, without whitespace or control characters";

pub const BATCHER_NEEDS_MAX: &str = "ItemBatcher must set at least one of the fields [MaxItemsPerBatch, MaxItemsPerBatchPath, MaxInputBytesPerBatch, MaxInputBytesPerBatchPath]";

pub fn too_deeply_nested(limit: usize) -> String {
    format!("States are nested more than {limit} levels deep")
}

/// Recorded.
pub const JSONPATH_IN_JSONATA: &str =
    "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine";

/// Recorded.
pub const NOT_AN_OBJECT: &str = "Definition must be a valid JSON object";

pub fn too_large(len: usize, max: usize) -> String {
    format!("Definition is {len} bytes long; the maximum is {max} bytes")
}

/// Recorded wording.
pub const TIMESTAMP: &str = "String does not match RFC3339 timestamp";

pub fn reassigned_outer_variable(name: &str) -> String {
    format!("The variable '{name}' is assigned in an enclosing scope and cannot be assigned again in a Parallel branch or Map processor")
}

/// Recorded.
pub const DOUBLE_DOLLAR: &str = "Reference to '$$' is not supported.";

/// Recorded for `$states.errorOutput` outside a catcher.
pub fn no_such_states_field(field: &str) -> String {
    format!("Field '$states.{field}' does not exist.")
}

/// A Distributed Map's `ItemReader`/`ResultWriter` field that does not fit the others
/// (statejet's wording: AWS's validator has its own for these).
pub const CSV_HEADERS_NOT_GIVEN: &str = "CSVHeaders can be given only with CSVHeaderLocation GIVEN";
pub const ITEMS_POINTER: &str = "ItemsPointer must be a JSON Pointer: empty, or starting with '/'";
pub const CSV_ONLY: &str =
    "CSVHeaderLocation, CSVHeaders and CSVDelimiter apply to InputType CSV only";
pub const ITEMS_POINTER_JSON_ONLY: &str = "ItemsPointer applies to InputType JSON only";

pub fn input_type_required(resource: &str) -> String {
    format!("ReaderConfig.InputType is required when the ItemReader's Resource is {resource}")
}

pub fn input_type_not_listing(resource: &str) -> String {
    format!("ReaderConfig.InputType does not apply to {resource}")
}

pub fn writer_fields(args: &str) -> String {
    format!("ResultWriter needs WriterConfig, or Resource and {args}, or all three")
}
