//! The Choice state's step: the first rule that holds picks the next state, else the default.
//!
//! Invariant: a rule sees the variables as the state was entered; the chosen rule's `Assign`
//! (or the state's, for the default) is committed only once the output is known.

use super::*;
use crate::compile::Choice;

impl Run {
    /// Runs the Choice state `c` on `self.input`.
    #[inline]
    pub(super) fn choose(&mut self, c: &Choice, now: u64, journal: &mut Journal) -> Step {
        if c.in_place && self.inspection.is_none() {
            return self.choose_in_place(c, now, journal);
        }
        let r = self.input_stage(&c.flow).and_then(|eff| {
            for rule in &c.rules {
                if self.condition(&rule.condition, &eff)? {
                    return Ok((rule.next, &rule.assign, Some(&rule.output), eff));
                }
            }
            match c.default {
                // The state's own Assign and Output apply only when no rule matched.
                Some(d) => Ok((d, &c.assign, None, eff)),
                None => Err(no_choice_matched()),
            }
        });
        let r = r.and_then(|(next, assign, rule_output, eff)| {
            let assigned = self.assign(assign, &eff)?;
            let out = match rule_output {
                // A JSONata rule's own Output (the input when it has none).
                Some(Some(t)) => {
                    let b = self.bindings(None, None, None);
                    query::eval_tree(t, "Output", &b, &mut *self.random)?
                }
                Some(None) if matches!(c.flow, Flow::Jsonata { .. }) => eff,
                _ => self.output_stage(&c.flow, eff)?,
            };
            self.commit(assigned);
            Ok((next, out))
        });
        match r {
            Ok((next, out)) => {
                self.record_exited(journal, now, &out);
                journal.count(self.block, self.state, Tallied::Succeeded);
                Step::Next(next, out)
            }
            Err(f) => Step::Fail(self.runtime(f)),
        }
    }

    /// A Choice whose input is its effective input and its output (`Choice::in_place`), when
    /// no inspector notes the stages: the rules read the raw input where it is, and it goes on
    /// moved, without the input and output stages. A rule whose paths all select a node of the
    /// input (`choice::holds_on`) is decided with no Context Object; any other takes
    /// `Run::condition`.
    fn choose_in_place(&mut self, c: &Choice, now: u64, journal: &mut Journal) -> Step {
        let input = std::mem::take(&mut self.input);
        let mut picked = None;
        for rule in &c.rules {
            let holds = match &rule.condition {
                Condition::JsonPath(r) => choice::holds_on(r, &input),
                Condition::Jsonata(_) => None,
            };
            let holds = match holds {
                Some(holds) => holds,
                None => match self.condition(&rule.condition, &input) {
                    Ok(holds) => holds,
                    Err(f) => return Step::Fail(self.runtime(f)),
                },
            };
            if holds {
                picked = Some((rule.next, &rule.assign));
                break;
            }
        }
        let (next, assign) = match (picked, c.default) {
            (Some(p), _) => p,
            // The state's own Assign applies only when no rule matched.
            (None, Some(d)) => (d, &c.assign),
            (None, None) => return Step::Fail(self.runtime(no_choice_matched())),
        };
        // Most Choices assign nothing: no call.
        if assign.is_some() {
            match self.assign(assign, &input) {
                Ok(assigned) => self.commit(assigned),
                Err(f) => return Step::Fail(self.runtime(f)),
            }
        }
        self.record_exited(journal, now, &input);
        journal.count(self.block, self.state, Tallied::Succeeded);
        Step::Next(next, input)
    }
}

fn no_choice_matched() -> Failure {
    Failure::new(failure::NO_CHOICE_MATCHED, "No Matches!")
}
