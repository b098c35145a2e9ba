//! Scoring the inspection against the labelled set: per flag type, how
//! many flags were right (precision) and how many labelled findings were
//! flagged (recall), and how many clean calls raised anything.
//!
//! A flag matches a label of its type when their spans overlap (within
//! [`SLACK_MS`]), or anywhere in the call when the label has no span. A
//! flag of a type the call is not labelled with is a false alarm.

use crate::evalset::LabelledCall;
use crate::flag::{Flag, FlagKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// Spans may disagree this much at either end.
pub const SLACK_MS: u64 = 1000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct TypeScore {
    pub labelled: usize,
    pub found: usize,
    pub flags: usize,
    pub right_flags: usize,
}

impl TypeScore {
    pub fn precision(&self) -> Option<f64> {
        (self.flags > 0).then(|| self.right_flags as f64 / self.flags as f64)
    }
    pub fn recall(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.found as f64 / self.labelled as f64)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub calls: usize,
    pub by_type: BTreeMap<String, TypeScore>,
    pub clean_calls: usize,
    pub clean_calls_flagged: usize,
    /// Calls and what went wrong in them (missed labels, false flags).
    pub mistakes: Vec<String>,
}

impl EvalReport {
    pub fn false_alarm_rate(&self) -> Option<f64> {
        (self.clean_calls > 0).then(|| self.clean_calls_flagged as f64 / self.clean_calls as f64)
    }

    /// Adds one call's flags.
    pub fn add(&mut self, call: &LabelledCall, flags: &[Flag]) {
        self.calls += 1;
        let matches = |f: &Flag, e: &crate::evalset::Expected| {
            f.kind.as_str() == e.kind
                && match (e.start_ms, e.end_ms) {
                    (Some(s), Some(end)) => f.start_ms < end + SLACK_MS && s < f.end_ms + SLACK_MS,
                    _ => true,
                }
        };
        for e in &call.expect {
            let t = self.by_type.entry(e.kind.clone()).or_default();
            t.labelled += 1;
            if flags.iter().any(|f| matches(f, e)) {
                t.found += 1;
            } else {
                self.mistakes.push(format!(
                    "{}: missed {} at {:?}-{:?}",
                    call.file, e.kind, e.start_ms, e.end_ms
                ));
            }
        }
        for f in flags {
            let t = self.by_type.entry(f.kind.as_str().into()).or_default();
            t.flags += 1;
            if call.expect.iter().any(|e| matches(f, e)) {
                t.right_flags += 1;
            } else {
                self.mistakes.push(format!(
                    "{}: false {} {}-{} ms ({}): {}",
                    call.file, f.kind, f.start_ms, f.end_ms, f.rule, f.evidence
                ));
            }
        }
        if call.expect.is_empty() {
            self.clean_calls += 1;
            if !flags.is_empty() {
                self.clean_calls_flagged += 1;
            }
        }
    }

    /// The table: one row per flag type.
    pub fn table(&self) -> String {
        let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.1}%", v * 100.0));
        let mut out = format!(
            "{:<20} {:>9} {:>6} {:>6} {:>10} {:>8}\n",
            "type", "labelled", "found", "flags", "precision", "recall"
        );
        for kind in FlagKind::ALL {
            let Some(t) = self.by_type.get(kind.as_str()) else {
                continue;
            };
            out.push_str(&format!(
                "{:<20} {:>9} {:>6} {:>6} {:>10} {:>8}\n",
                kind.as_str(),
                t.labelled,
                t.found,
                t.flags,
                pct(t.precision()),
                pct(t.recall())
            ));
        }
        out.push_str(&format!(
            "clean calls flagged: {} of {} ({})\n",
            self.clean_calls_flagged,
            self.clean_calls,
            pct(self.false_alarm_rate())
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evalset::Expected;
    use crate::flag::Speaker;
    use huikuan_core::Dialect;

    fn call(expect: Vec<Expected>) -> LabelledCall {
        LabelledCall {
            file: "calls/x.wav".into(),
            dialect: Dialect::Mandarin,
            case: "x".into(),
            lender: "安心借".into(),
            debtor: "voice".into(),
            duration_ms: 30_000,
            expect,
        }
    }

    fn flag(kind: FlagKind, start_ms: u64, end_ms: u64) -> Flag {
        Flag {
            kind,
            speaker: Speaker::Agent,
            start_ms,
            end_ms,
            evidence: String::new(),
            rule: String::new(),
            voice: None,
        }
    }

    #[test]
    fn flags_are_right_only_of_the_labelled_type_and_near_its_span() {
        let mut r = EvalReport::default();
        let talk_over = Expected {
            kind: "talk_over".into(),
            start_ms: Some(10_000),
            end_ms: Some(12_000),
        };
        r.add(
            &call(vec![talk_over.clone()]),
            &[
                flag(FlagKind::TalkOver, 20_000, 22_000),
                flag(FlagKind::LongSilence, 1, 9000),
            ],
        );
        r.add(
            &call(vec![talk_over]),
            &[flag(FlagKind::TalkOver, 11_500, 13_000)],
        );
        r.add(&call(vec![]), &[]);
        r.add(&call(vec![]), &[flag(FlagKind::Agitation, 0, 1000)]);
        let t = &r.by_type["talk_over"];
        assert_eq!((t.labelled, t.found, t.flags, t.right_flags), (2, 1, 2, 1));
        assert_eq!(r.by_type["long_silence"].precision(), Some(0.0));
        assert_eq!(r.false_alarm_rate(), Some(0.5));
        assert_eq!(r.mistakes.len(), 4, "{:?}", r.mistakes);
        assert!(r.table().contains("talk_over"));
    }
}
