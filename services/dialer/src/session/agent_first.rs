//! A call planned for an agent: no robot conversation. When the debtor
//! answers, the robot says who is calling, for which lender, and that the
//! call is recorded (the agent greeting, in the debtor's dialect), and
//! the call goes straight to the handoff stage ([`super::handoff`]) to
//! wait at the desk for the agent who was free when it was dialled.

use super::robot::Handoff;
use huikuan_core::call::{CallRecord, Event, Leg, Outcome, Party};
use huikuan_core::{Dialect, Disposition};
use huikuan_dialogue::conversation::{CallAccount, Engine};

/// The handoff reason of a call planned for an agent.
pub const REASON: &str = "planned_agent_call";

/// The record of the answered call and its handoff, at `answered_ms`.
pub fn start(
    dialogue: &Engine,
    dialect: Dialect,
    account: &CallAccount,
    answered_ms: u64,
) -> (CallRecord, Handoff) {
    let mut ctx = tera::Context::new();
    ctx.insert("platform", &account.platform);
    ctx.insert("name", &account.name);
    let line = dialogue
        .lines
        .render(dialect, "agent_greeting", &ctx)
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the agent greeting cannot be rendered");
            String::new()
        });
    let summary = "planned for an agent: handed to the desk on answer".to_string();
    let mut record = CallRecord::new(Disposition::HandedToAgent);
    record.note(answered_ms, Event::Answered);
    record.note(
        answered_ms,
        Event::HandoffRequested {
            reason: REASON.into(),
        },
    );
    record.legs.push(Leg {
        party: Party::Robot,
        who: None,
        joined_ms: answered_ms,
        left_ms: None,
    });
    record.outcome = Some(Outcome {
        disposition: Disposition::HandedToAgent,
        promise_date: None,
        promise_amount: None,
        callback_time: None,
        handoff_reason: Some(REASON.into()),
        identity_verified: false,
        debt_disclosed: false,
        turns: 0,
        summary: summary.clone(),
    });
    let handoff = Handoff {
        reason: REASON.into(),
        summary,
        line,
    };
    (record, handoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_greeting_names_the_lender_and_the_recording_in_each_dialect() {
        let engine = Engine::builtin();
        let account = CallAccount {
            name: "张三".into(),
            platform: "回款金融".into(),
            product: "消费贷".into(),
            overdue_amount: "1200.00".into(),
            due_date: "2026-11-01".into(),
            days_past_due: 35,
        };
        for dialect in [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese] {
            let (record, handoff) = start(&engine, dialect, &account, 120);
            assert!(
                handoff.line.contains("回款金融"),
                "{dialect}: {}",
                handoff.line
            );
            assert!(handoff.line.contains("录音"), "{dialect}: {}", handoff.line);
            // Nothing of the debt before the agent has checked who answered.
            assert!(
                !handoff.line.contains("1200"),
                "{dialect}: {}",
                handoff.line
            );
            assert_eq!(handoff.reason, REASON);
            assert_eq!(record.disposition, Disposition::HandedToAgent);
            assert!(record.timeline.iter().any(|e| e.event == Event::Answered));
            assert!(record.handed_over());
        }
    }
}
