//! The program as a numbered listing (`statejet explain`): a block a section, a state a line
//! with its edges, the blocks it runs, and its Retry and Catch.
//!
//! Invariant: printed from the program alone, so the listing shows what runs.

use std::fmt::Write as _;

use super::program::{Op, Program, Transition, WorkKind};

pub fn listing(program: &Program) -> String {
    let mut out = String::new();
    for (b, block) in program.blocks() {
        let _ = writeln!(
            out,
            "block {} (start {}):",
            b.index(),
            block.start_at.index()
        );
        for (i, state) in block.states.iter().enumerate() {
            let to = |t: Transition| match t {
                Transition::Next(s) => format!("→ {}", s.index()),
                Transition::End => "→ end".to_owned(),
            };
            let mut kids = Vec::new();
            let mut handling = String::new();
            let edge = match &state.op {
                Op::Pass(s) => to(s.next),
                Op::Wait(s) => to(s.next),
                Op::Choice(c) => {
                    let mut e: Vec<String> = c
                        .rules
                        .iter()
                        .map(|r| format!("? → {}", r.next.index()))
                        .collect();
                    if let Some(d) = c.default {
                        e.push(format!("default → {}", d.index()));
                    }
                    e.join(", ")
                }
                Op::Succeed(_) => "succeed".to_owned(),
                Op::Fail(_) => "fail".to_owned(),
                Op::Work(w) => {
                    for r in &w.retry {
                        let _ = write!(
                            handling,
                            "; retry {:?} every {}s x{} (backoff {}{})",
                            r.error_equals,
                            r.interval_seconds,
                            r.max_attempts,
                            r.backoff_rate,
                            r.max_delay_seconds
                                .map(|m| format!(", max {m}s"))
                                .unwrap_or_default()
                        );
                    }
                    for c in &w.catch {
                        let _ = write!(
                            handling,
                            "; catch {:?} → {}",
                            c.error_equals,
                            c.next.index()
                        );
                    }
                    match &w.kind {
                        WorkKind::Task(t) => format!("{} {}", t.resource.arn, to(w.next)),
                        WorkKind::Parallel(p) => {
                            kids.extend(p.branches.iter().copied());
                            to(w.next)
                        }
                        WorkKind::Map(m) => {
                            kids.push(m.processor);
                            to(w.next)
                        }
                    }
                }
            };
            let kids: Vec<String> = kids
                .iter()
                .map(|c| format!("block {}", c.index()))
                .collect();
            let kids = if kids.is_empty() {
                String::new()
            } else {
                format!(" runs {}", kids.join(", "))
            };
            let _ = writeln!(
                out,
                "  {i:>3} {:<8} {:?} {edge}{kids}{handling}",
                state.op.type_name(),
                state.name
            );
        }
    }
    out
}
