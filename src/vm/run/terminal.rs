//! Wait's deadline and Fail's error and cause.
//!
//! Invariant: Wait reads its paths from the raw state input; both report AWS's runtime causes.

use super::flow::plain;
use super::*;

impl Run {
    /// When a Wait state ends.
    pub(super) fn wait_until(&mut self, until: &WaitFor, now: u64) -> Result<u64, Failure> {
        // Wait's paths read the raw input (before InputPath), as AWS does.
        let input = self.input.clone();
        let seconds: i64 = match until {
            WaitFor::Seconds(Dynamic::Fixed(s)) => *s as i64,
            WaitFor::Seconds(Dynamic::Path(p)) => {
                let v = self.read_reference(p, &input).map_err(|_| {
                    Failure::runtime(format!(
                        "The SecondsPath parameter does not reference an input value: {}",
                        p.text
                    ))
                })?;
                match v {
                    Value::Number(n) if n.as_i64().is_some() => {
                        let s = n.as_i64().unwrap_or_default();
                        if s < 0 {
                            return Err(Failure::runtime(format!(
                                "The SecondsPath parameter references a negative value: {} == {}",
                                p.text, n
                            )));
                        }
                        s
                    }
                    other => {
                        return Err(Failure::runtime(format!(
                            "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                            p.text,
                            plain(&other)
                        )))
                    }
                }
            }
            WaitFor::Timestamp(Dynamic::Fixed(t)) => seconds_until(t.timestamp_millis(), now),
            WaitFor::Timestamp(Dynamic::Path(p)) => {
                let v = self.read_reference(p, &input).ok();
                let t = v
                    .as_ref()
                    .and_then(Value::as_str)
                    .and_then(crate::asl::timestamp::parse);
                match t {
                    Some(t) => seconds_until(t.timestamp_millis(), now),
                    None => {
                        return Err(Failure::runtime(format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                            p.text,
                            v.as_ref().map(plain).unwrap_or_default()
                        )))
                    }
                }
            }
            WaitFor::Seconds(Dynamic::Expr(e)) => self.jsonata_integer(e, "Seconds")?,
            WaitFor::Timestamp(Dynamic::Expr(e)) => {
                let b = self.bindings(None, None, None);
                let v = query::eval(e, "Timestamp", &b, &mut *self.random)?;
                match v.as_str().and_then(crate::asl::timestamp::parse) {
                    Some(t) => seconds_until(t.timestamp_millis(), now),
                    None => {
                        return Err(Failure::new(
                            query::QUERY_EVALUATION_ERROR,
                            format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}", plain(&v)),
                        ))
                    }
                }
            }
        };
        if seconds > MAX_WAIT_SECONDS {
            return Err(Failure::runtime("Wait state delay is too long."));
        }
        let _ = &mut self.random;
        Ok(now + seconds.max(0) as u64 * 1000)
    }

    pub(super) fn fail_state(&mut self, f: &crate::compile::Fail) -> Failure {
        let jsonata = [&f.error, &f.cause]
            .iter()
            .any(|x| matches!(x, Some(FailField::Expr(_))));
        let bindings = jsonata.then(|| self.bindings(None, None, None));
        let ctx = self.context(false, None);
        let roots = Roots {
            input: &self.input,
            context: Some(&ctx),
            variables: &self.variables,
        };
        let mut resolve = |field: &Option<FailField>,
                           name: &str|
         -> Result<Option<String>, Failure> {
            Ok(match field {
                None => None,
                Some(FailField::Fixed(s)) => Some(s.clone()),
                Some(FailField::Path(p)) => {
                    let v = jsonpath::read(p, &roots)
                        .map_err(|_| template::not_found(p, name, &roots))?;
                    Some(plain(&v))
                }
                Some(FailField::Call(c)) => {
                    let v = template::call(c, name, &roots, &mut *self.random)?;
                    Some(plain(&v))
                }
                Some(FailField::Expr(e)) => {
                    // In JSONata the fields are `Error` and `Cause`, and must be strings.
                    let field = name.strip_suffix("Path").unwrap_or(name);
                    let b = bindings.as_ref().expect("built for JSONata fields");
                    match query::eval(e, field, b, &mut *self.random)? {
                        Value::String(s) => Some(s.to_string()),
                        other => return Err(query::unexpected_type(e, field, "string", &other)),
                    }
                }
            })
        };
        let error = match resolve(&f.error, "ErrorPath") {
            Ok(e) => e,
            Err(e) => return self.runtime(e),
        };
        let cause = match resolve(&f.cause, "CausePath") {
            Ok(c) => c,
            Err(e) => return self.runtime(e),
        };
        Failure::new(error.unwrap_or_default(), cause.unwrap_or_default())
    }
}

pub(super) fn seconds_until(epoch_ms: i64, now: u64) -> i64 {
    let delta = epoch_ms - now as i64;
    if delta <= 0 {
        0
    } else {
        (delta + 999) / 1000
    }
}
