//! The data flow of a state: effective input, result processing, `Assign`, Choice
//! conditions, and the fields read through paths or JSONata.
//!
//! Invariant: every read sees the variables as they were when the state was entered; values a
//! state assigns are committed only once its output is known.

use super::*;

impl Run {
    /// Evaluates a JSONPath `Assign` with `input` as `$`. Every read sees the variables as they
    /// were when the state was entered; the caller commits the values once the state's output is
    /// known, so they apply from the next state on.
    #[inline]
    pub(super) fn assign(
        &mut self,
        assign: &Option<Assign>,
        input: &Value,
    ) -> Result<Vec<(String, Value)>, Failure> {
        self.assign_with(assign, input, None, None)
    }

    /// `assign`, where JSONata's `$states.result` or `$states.errorOutput` is also in scope.
    /// Inlined for the common case, a state without `Assign`: no call per state.
    #[inline]
    pub(super) fn assign_with(
        &mut self,
        assign: &Option<Assign>,
        input: &Value,
        result: Option<&Value>,
        error_output: Option<&Value>,
    ) -> Result<Vec<(String, Value)>, Failure> {
        match assign {
            None => Ok(Vec::new()),
            Some(assign) => self.evaluate_assign(assign, input, result, error_output),
        }
    }

    fn evaluate_assign(
        &mut self,
        assign: &Assign,
        input: &Value,
        result: Option<&Value>,
        error_output: Option<&Value>,
    ) -> Result<Vec<(String, Value)>, Failure> {
        let entries = match assign {
            Assign::Jsonata(entries) => {
                let b = self.bindings(result, error_output, None);
                let mut out = Vec::with_capacity(entries.len());
                for (name, t) in entries {
                    let v = query::eval_tree(t, &format!("Assign/{name}"), &b, &mut *self.random)?;
                    out.push((name.clone(), v));
                }
                self.check_variable_sizes(&out)?;
                return Ok(out);
            }
            Assign::JsonPath(entries) => entries,
        };
        let ctx = self.context(true, None);
        let roots = Roots {
            input,
            context: Some(&ctx),
            variables: &self.variables,
        };
        let mut out = Vec::with_capacity(entries.len());
        for (name, t) in entries {
            let value = match t {
                Template::Path(p) => template::read_field(p, name, &roots)?,
                Template::Call(c) => template::call(c, name, &roots, &mut *self.random)?,
                other => template::eval(other, &roots, &mut *self.random)?,
            };
            out.push((name.clone(), value));
        }
        self.check_variable_sizes(&out)?;
        Ok(out)
    }

    /// Whether a Choice rule's condition holds for the effective input.
    pub(super) fn condition(
        &mut self,
        condition: &Condition,
        eff: &Value,
    ) -> Result<bool, Failure> {
        match condition {
            Condition::JsonPath(rule) => {
                let ctx = self.context(false, None);
                let roots = Roots {
                    input: eff,
                    context: Some(&ctx),
                    variables: &self.variables,
                };
                choice::holds(rule, &roots)
            }
            Condition::Jsonata(Dynamic::Fixed(b)) => Ok(*b),
            Condition::Jsonata(Dynamic::Expr(e)) => {
                let b = self.bindings(None, None, None);
                match query::eval(e, "Condition", &b, &mut *self.random)? {
                    Value::Bool(b) => Ok(b),
                    other => Err(query::unexpected_type(e, "Condition", "boolean", &other)),
                }
            }
            Condition::Jsonata(Dynamic::Path(_)) => Ok(false),
        }
    }

    /// Evaluates an integer field written as a JSONata expression.
    pub(super) fn jsonata_integer(&mut self, e: &Expr, field: &str) -> Result<i64, Failure> {
        let b = self.bindings(None, None, None);
        let v = query::eval(e, field, &b, &mut *self.random)?;
        match v.as_f64() {
            Some(f) if f.fract() == 0.0 => Ok(f as i64),
            _ => Err(query::unexpected_type(e, field, "integer", &v)),
        }
    }

    /// `$states` and the variables, for the current state's JSONata fields.
    pub(super) fn bindings(
        &self,
        result: Option<&Value>,
        error_output: Option<&Value>,
        map_item: Option<(usize, &Value)>,
    ) -> jsonata::Bindings {
        let ctx = self.context(true, map_item);
        // Building the Context Object copies the execution input: only when a field reads it.
        let reads_context = self.current().reads_context;
        let context = reads_context.then(|| ctx.get());
        let states = query::states(&self.input, context, result, error_output);
        query::bindings(&states, &self.variables, self.time_left())
    }

    pub(super) fn commit(&mut self, assigned: Vec<(String, Value)>) {
        // Most states assign nothing: no call into the map's `extend`.
        if !assigned.is_empty() {
            self.variables.extend(assigned);
        }
    }

    /// AWS's limits on what one `Assign` may store: 256 KiB per variable and per `Assign`, and
    /// 10 MiB for all the variables of an execution.
    pub(super) fn check_variable_sizes(&self, assigned: &[(String, Value)]) -> Result<(), Failure> {
        let mut total = 0;
        for (name, value) in assigned {
            let size = json_size(value);
            if size > MAX_PAYLOAD_BYTES {
                return Err(Failure::new(
                    failure::DATA_LIMIT_EXCEEDED,
                    format!("The variable '{name}' is {size} bytes long, more than the {MAX_PAYLOAD_BYTES} bytes a variable may hold"),
                ));
            }
            total += size;
        }
        if total > MAX_PAYLOAD_BYTES {
            return Err(Failure::new(
                failure::DATA_LIMIT_EXCEEDED,
                format!("The Assign of state '{}' stores {total} bytes, more than the {MAX_PAYLOAD_BYTES} bytes one Assign may store", self.current().name),
            ));
        }
        let kept: usize = self
            .variables
            .iter()
            .filter(|(k, _)| !assigned.iter().any(|(n, _)| n == *k))
            .map(|(_, v)| json_size(v))
            .sum();
        if kept + total > MAX_VARIABLE_BYTES {
            return Err(Failure::new(
                failure::DATA_LIMIT_EXCEEDED,
                format!("The variables of the execution would take {} bytes, more than the {MAX_VARIABLE_BYTES} bytes allowed", kept + total),
            ));
        }
        Ok(())
    }

    /// InputPath, then Parameters.
    pub(super) fn input_stage(&mut self, flow: &Flow) -> Result<Value, Failure> {
        let (input_path, parameters) = match flow {
            Flow::JsonPath {
                input_path,
                parameters,
                ..
            } => (input_path, parameters),
            Flow::Jsonata {
                arguments: Some(t), ..
            } => {
                let b = self.bindings(None, None, None);
                let v = query::eval_tree(t, "Arguments", &b, &mut *self.random)?;
                self.check_output_size(&v)?;
                note(&self.inspection, "afterArguments", &v);
                return Ok(v);
            }
            Flow::Jsonata { .. } => {
                note(&self.inspection, "afterArguments", &self.input);
                return Ok(self.input.clone());
            }
        };
        let Some(t) = parameters else {
            let spends_input = self.current().spends_input;
            // Nothing reads the raw input later in this state: move it (or the node InputPath
            // selects) instead of copying it.
            let taken = match input_path {
                Select::Whole if spends_input => Some(std::mem::take(&mut self.input)),
                Select::Path(Path::Reference(r)) if spends_input => {
                    jsonpath::take(&mut self.input, r)
                }
                _ => None,
            };
            let v = match taken {
                Some(v) => v,
                None => self.select(input_path, &self.input, Some(&self.context(true, None)))?,
            };
            note(&self.inspection, "afterInputPath", &v);
            note(&self.inspection, "afterParameters", &v);
            return Ok(v);
        };
        // A definition that never reads the Context Object has none to make (24 instructions a
        // state in pass10 to make and drop an unread one).
        let built;
        let ctx = match self.context_unread() {
            true => None,
            false => {
                built = self.context_facts(true, None);
                Some(&built)
            }
        };
        // Without an InputPath, Parameters reads the raw input where it is, without a copy.
        let selected = match input_path {
            Select::Whole => None,
            other => Some(self.select(other, &self.input, ctx)?),
        };
        let input = selected.as_ref().unwrap_or(&self.input);
        note(&self.inspection, "afterInputPath", input);
        let roots = Roots {
            input,
            context: ctx,
            variables: &self.variables,
        };
        let v = template::eval(t, &roots, &mut *self.random)?;
        self.check_output_size(&v)?;
        note(&self.inspection, "afterParameters", &v);
        Ok(v)
    }

    /// The input and output stages of a Pass whose Parameters object replaces its input or
    /// goes into the one field its ResultPath names (`Pass::updates_field`): the object's
    /// values are evaluated first (they may read the old ones), then swapped with the old
    /// object's values when the input (or its field) is an object nobody else holds with the
    /// same keys in the same order (a loop's state updating itself or its own field), so the
    /// new object costs no allocation and the old one no free; otherwise the object is built
    /// and put as `input_stage` and `output_stage` do.
    pub(super) fn update_field(&mut self, flow: &Flow) -> Result<Value, Failure> {
        let Flow::JsonPath {
            parameters: Some(Template::Object(fields)),
            result_path,
            ..
        } = flow
        else {
            return self
                .input_stage(flow)
                .and_then(|eff| self.output_stage(flow, eff));
        };
        // An input that cannot take the object in its place (not an object of as many fields:
        // a Map's item reshaped) takes the general stages, with nothing evaluated twice.
        let elsewhere = matches!(result_path, ResultPath::Replace)
            && !matches!(&self.input, Value::Object(m) if m.len() == fields.len());
        if self.inspection.is_some() || fields.len() > UPDATE_FIELDS || elsewhere {
            return self
                .input_stage(flow)
                .and_then(|eff| self.output_stage(flow, eff));
        }
        // As `input_stage`: no Context Object for a definition that never reads it.
        let built;
        let ctx = match self.context_unread() {
            true => None,
            false => {
                built = self.context_facts(true, None);
                Some(&built)
            }
        };
        let roots = Roots {
            input: &self.input,
            context: ctx,
            variables: &self.variables,
        };
        let mut values: [Value; UPDATE_FIELDS] = Default::default();
        let values = &mut values[..fields.len()];
        let bound = template::eval_fields(fields, &roots, &mut *self.random, values)?;
        // A bound within the payload limit is what `input_stage`'s check would pass.
        if let Some(b) = bound.filter(|b| *b <= MAX_PAYLOAD_BYTES) {
            let keys = fields.iter().map(|(k, _)| k.as_str());
            let written = match result_path {
                // The raw input is spent here: nothing reads it after the Parameters.
                ResultPath::Replace => jsonpath::overwrite(&mut self.input, keys, values, b),
                ResultPath::Path(path) => {
                    jsonpath::overwrite_field(&mut self.input, path, keys, values, b)
                }
                ResultPath::Discard => false,
            };
            if written {
                return Ok(std::mem::take(&mut self.input));
            }
        }
        let v = template::object_of(fields, values, bound);
        self.check_output_size(&v)?;
        self.output_stage(flow, v)
    }

    /// ResultSelector, ResultPath, OutputPath. Inlined for the common case, a JSONPath state
    /// that keeps its result whole (no ResultSelector, ResultPath or OutputPath) when no
    /// inspector looks: the result is the output, with no call. A result put into one field of
    /// a uniquely held input (`ResultPath: $.last`) replaces that field where it is.
    #[inline]
    pub(super) fn output_stage(&mut self, flow: &Flow, result: Value) -> Result<Value, Failure> {
        match flow {
            Flow::JsonPath {
                result_selector: None,
                result_path: ResultPath::Replace,
                output_path: Select::Whole,
                ..
            } if self.inspection.is_none() => Ok(result),
            // The next most common: the result put into one field of the input, in place.
            Flow::JsonPath {
                result_selector: None,
                result_path: ResultPath::Path(p),
                output_path: Select::Whole,
                ..
            } if self.inspection.is_none() => match jsonpath::put_field(&mut self.input, p, result)
            {
                Ok(()) => Ok(std::mem::take(&mut self.input)),
                Err(result) => self.process_output(flow, result),
            },
            _ => self.process_output(flow, result),
        }
    }

    fn process_output(&mut self, flow: &Flow, result: Value) -> Result<Value, Failure> {
        let (result_selector, result_path, output_path) = match flow {
            Flow::JsonPath {
                result_selector,
                result_path,
                output_path,
                ..
            } => (result_selector, result_path, output_path),
            Flow::Jsonata {
                output: Some(t), ..
            } => {
                let b = self.bindings(Some(&result), None, None);
                return query::eval_tree(t, "Output", &b, &mut *self.random);
            }
            Flow::Jsonata { output: None, .. } => return Ok(result),
        };
        // The Context Object's facts are gathered only for a field that may read them (most
        // states have neither a ResultSelector nor an OutputPath).
        let result = match result_selector {
            Some(t) => {
                let ctx = self.context(true, None);
                let roots = Roots {
                    input: &result,
                    context: Some(&ctx),
                    variables: &self.variables,
                };
                template::eval(t, &roots, &mut *self.random)?
            }
            None => result,
        };
        note(&self.inspection, "afterResultSelector", &result);
        let combined = self.result_path(result_path, result)?;
        note(&self.inspection, "afterResultPath", &combined);
        match output_path {
            // The common case moves the value through instead of copying it.
            Select::Whole => Ok(combined),
            // The combined value is dropped after this: the selected node is moved out of it.
            Select::Path(Path::Reference(r)) => {
                let mut combined = combined;
                match jsonpath::take(&mut combined, r) {
                    Some(v) => Ok(v),
                    None => self.select(output_path, &combined, Some(&self.context(true, None))),
                }
            }
            other => self.select(other, &combined, Some(&self.context(true, None))),
        }
    }

    /// Places `result` into the state's raw input as `ResultPath` says. The raw input is spent
    /// here, so it is moved, not copied: the state ends next, and any failure after this point
    /// (a bad ResultPath or OutputPath) is `States.Runtime`, which no retrier or catcher sees.
    pub(super) fn result_path(&mut self, rp: &ResultPath, result: Value) -> Result<Value, Failure> {
        match rp {
            ResultPath::Replace => Ok(result),
            ResultPath::Discard => Ok(std::mem::take(&mut self.input)),
            ResultPath::Path(p) => {
                jsonpath::put(std::mem::take(&mut self.input), p, result).map_err(Failure::runtime)
            }
        }
    }

    /// InputPath / OutputPath.
    pub(super) fn select(
        &self,
        s: &Select,
        value: &Value,
        ctx: Option<&Lazy>,
    ) -> Result<Value, Failure> {
        match s {
            Select::Whole => Ok(value.clone()),
            Select::Nothing => Ok(Value::object(Map::new())),
            Select::Path(p) => {
                let roots = Roots {
                    input: value,
                    context: ctx,
                    variables: &self.variables,
                };
                jsonpath::read(p, &roots).map_err(|m| {
                    Failure::runtime(format!("Invalid path '{}' : {}", p.text(), m.detail()))
                })
            }
        }
    }

    /// A Reference Path read on the effective input, for `...Path` fields.
    pub(super) fn path_value(&self, p: &crate::asl::path::ReferencePath) -> Result<Value, Failure> {
        let ctx = self.context(true, None);
        let roots = Roots {
            input: &self.effective,
            context: Some(&ctx),
            variables: &self.variables,
        };
        jsonpath::read(&Path::Reference(p.clone()), &roots)
            .map_err(|m| Failure::runtime(format!("Invalid path '{}' : {}", p.text, m.detail())))
    }

    pub(super) fn dynamic_u64(&mut self, d: &Dynamic<u64>, field: &str) -> Result<u64, Failure> {
        match d {
            Dynamic::Fixed(n) => Ok(*n),
            Dynamic::Path(p) => {
                let v = self.path_value(p)?;
                as_integer(&v)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| {
                        Failure::runtime(format!(
                        "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                        plain(&v),
                        p.text
                    ))
                    })
            }
            Dynamic::Expr(e) => {
                // The JSONata form of `TimeoutSecondsPath` is the field `TimeoutSeconds`.
                let name = field.strip_suffix("Path").unwrap_or(field);
                let n = self.jsonata_integer(e, name)?;
                u64::try_from(n).map_err(|_| {
                    query::unexpected_type(e, name, "non-negative integer", &Value::from(n))
                })
            }
        }
    }

    /// Reads a Reference Path from its root: `input` for `$`, the Context Object, or a variable.
    pub(super) fn read_reference(
        &self,
        p: &crate::asl::path::ReferencePath,
        input: &Value,
    ) -> Result<Value, jsonpath::Miss> {
        let ctx = self.context(false, None);
        let roots = Roots {
            input,
            context: Some(&ctx),
            variables: &self.variables,
        };
        jsonpath::read(&Path::Reference(p.clone()), &roots)
    }
}

pub(super) fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// Whether `v` written as compact JSON takes more than `limit` bytes. A walk bounds the length
/// from above first (no formatting), which settles every payload well under the limit; only one
/// whose bound passes it is serialized and counted, stopping at the limit.
#[inline]
pub fn larger_than(v: &Value, limit: usize) -> bool {
    v.text_bound(limit).is_none() && counted(v, limit).is_none()
}

/// The length of `v` as compact JSON, serialized into a counter that stops once it passes
/// `limit` (`None` then), so an oversized value is never written out whole.
fn counted(v: &Value, limit: usize) -> Option<usize> {
    struct Counter {
        written: usize,
        limit: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.written += buf.len();
            if self.written > self.limit {
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter { written: 0, limit };
    serde_json::to_writer(&mut counter, v)
        .ok()
        .map(|()| counter.written)
}

/// The length of `v` as compact JSON.
pub(super) fn json_size(v: &Value) -> usize {
    counted(v, usize::MAX).unwrap_or(usize::MAX)
}

/// The length of `v` as compact JSON if it is at most `limit`, else `limit + 1` (counting
/// stops there).
pub fn json_size_within(v: &Value, limit: usize) -> usize {
    counted(v, limit).unwrap_or(limit + 1)
}

/// AWS's failure for a state's result past the payload limit.
pub fn data_limit_exceeded(state: &str) -> Failure {
    Failure::new(
        failure::DATA_LIMIT_EXCEEDED,
        format!("The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit."),
    )
}

pub(super) fn check_size(v: &Value, state: &str) -> Result<(), Failure> {
    if larger_than(v, MAX_PAYLOAD_BYTES) {
        return Err(data_limit_exceeded(state));
    }
    Ok(())
}

impl Run {
    /// `check_size` for the current state, whose name is looked up only for the failure (the
    /// look-up's bounds checks cost more than the check of a remembered bound).
    #[inline]
    pub(super) fn check_output_size(&self, v: &Value) -> Result<(), Failure> {
        match larger_than(v, MAX_PAYLOAD_BYTES) {
            false => Ok(()),
            true => Err(self.too_large()),
        }
    }

    #[cold]
    #[inline(never)]
    fn too_large(&self) -> Failure {
        data_limit_exceeded(&self.current().name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `states` (a machine's `States`, starting at `A`) on `input`: the output's text.
    fn output_of(states: Value, input: &str) -> String {
        let definition = json!({"StartAt": "A", "States": states}).to_text();
        let machine = crate::asl::validate(&definition, &Default::default()).unwrap();
        let info = Arc::new(ExecutionInfo {
            identity: crate::arn::Identity::given("arn".into(), "n".into()),
            input: Value::parse(input).unwrap(),
            role_arn: "role".into(),
            machine_type: crate::asl::MachineType::Express,
            start_ms: 0,
            state_machine_id: "machine".into(),
            state_machine_name: "m".into(),
            redrive_count: None,
        });
        let program = Arc::new(crate::compile::compile(machine));
        let functions = crate::tasks::Functions::default();
        let clock = crate::runtime::SystemClock;
        let outcome = crate::runtime::execute(program, info, &functions, &clock);
        outcome.output.expect("succeeded").to_text()
    }

    /// A Pass writing its Parameters into its own field (`Pass::updates_field`) gives what the
    /// general stages give, whether the old object is overwritten or a new one is put: the
    /// values read the old ones first, a shared old object is not written, keys in another
    /// order or another kind of value get a new object, and `$$` is read as usual.
    #[test]
    fn a_pass_updating_its_own_field_gives_what_the_general_stages_give() {
        let pass = |params: Value, next: Option<&str>| {
            let mut p = json!({"Type": "Pass", "Parameters": params, "ResultPath": "$.last"});
            match next {
                Some(n) => p["Next"] = json!(n),
                None => p["End"] = json!(true),
            }
            p
        };
        let twice =
            |params: Value| json!({"A": pass(params.clone(), Some("B")), "B": pass(params, None)});
        let cases = [
            (
                twice(json!({"v.$": "$.last.v", "step": 2})),
                r#"{"id":"x","last":{"v":42,"step":1}}"#,
                r#"{"id":"x","last":{"v":42,"step":2}}"#,
            ),
            // Each value reads the old object, not the one being written.
            (
                json!({"A": pass(json!({"a.$": "$.last.b", "b.$": "$.last.a"}), None)}),
                r#"{"last":{"a":1,"b":[2]},"z":0}"#,
                r#"{"last":{"a":[2],"b":1},"z":0}"#,
            ),
            // The old object is read whole into the new one: it stays as it was.
            (
                twice(json!({"a.$": "$.last", "b": 1})),
                r#"{"last":{"a":0,"b":0}}"#,
                r#"{"last":{"a":{"a":{"a":0,"b":0},"b":1},"b":1}}"#,
            ),
            // Another order of keys, another kind of value, no field yet: a new object.
            (
                twice(json!({"a": 5, "b.$": "$.n"})),
                r#"{"last":{"b":1,"a":2},"n":3}"#,
                r#"{"last":{"a":5,"b":3},"n":3}"#,
            ),
            (
                twice(json!({"a": 5, "b.$": "$.n"})),
                r#"{"last":[1],"n":3}"#,
                r#"{"last":{"a":5,"b":3},"n":3}"#,
            ),
            (
                twice(json!({"a": 5, "b.$": "$.n", "c": null, "d": [1]})),
                r#"{"n":3}"#,
                r#"{"n":3,"last":{"a":5,"b":3,"c":null,"d":[1]}}"#,
            ),
            (
                twice(json!({"name.$": "$$.Execution.Name", "n.$": "States.MathAdd($.last.n, 1)"})),
                r#"{"last":{"name":"-","n":1}}"#,
                r#"{"last":{"name":"n","n":3}}"#,
            ),
        ];
        for (states, input, want) in cases {
            assert_eq!(
                output_of(states.clone(), input),
                want,
                "{states} on {input}"
            );
        }
        // The object replaces the input (`ResultPath` `$`, as when there is none).
        let counter = |params: Value| {
            json!({
                "A": {"Type": "Pass", "Parameters": params.clone(), "Next": "B"},
                "B": {"Type": "Pass", "Parameters": params, "End": true},
            })
        };
        let cases = [
            (
                counter(json!({"i.$": "States.MathAdd($.i, 1)"})),
                r#"{"i":0}"#,
                r#"{"i":2}"#,
            ),
            (
                counter(json!({"a.$": "$.b", "b.$": "$.a"})),
                r#"{"a":1,"b":[2]}"#,
                r#"{"a":1,"b":[2]}"#,
            ),
            (
                counter(json!({"a": 5, "b.$": "$.a"})),
                r#"{"b":1,"a":2}"#,
                r#"{"a":5,"b":5}"#,
            ),
            (counter(json!({"j": 1})), r#"{"i":0}"#, r#"{"j":1}"#),
            (counter(json!({"j": 1})), r#"[0]"#, r#"{"j":1}"#),
            // The Context Object's copy of the input holds it: not written.
            (
                counter(json!({"i.$": "States.MathAdd($$.Execution.Input.i, 1)"})),
                r#"{"i":0}"#,
                r#"{"i":1}"#,
            ),
        ];
        for (states, input, want) in cases {
            assert_eq!(
                output_of(states.clone(), input),
                want,
                "{states} on {input}"
            );
        }
    }

    /// The bound is never below the exact length, and `larger_than` agrees with counting.
    #[test]
    fn the_size_bound_is_at_least_the_exact_length() {
        let values = [
            json!(null),
            json!(false),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(f64::MIN),
            json!(-5e-324),
            json!(-2.2250738585072014e-308),
            json!("\u{1}\u{1f}\"\\é😀"),
            json!({"\u{2}k": [1, -1.5e300, "x", {}, []], "": {"a": null}}),
        ];
        for v in values {
            let exact = json_size(&v);
            assert!(v.text_bound(usize::MAX).unwrap() >= exact, "{v}");
            for limit in [0, exact - 1, exact, exact + 1] {
                assert_eq!(larger_than(&v, limit), exact > limit, "{v} against {limit}");
            }
        }
    }
}
