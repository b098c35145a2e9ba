use super::*;
use crate::contact_model::PastAttempt;
use crate::rules::NumberHistory;
use chrono_tz::Asia::Shanghai;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const DAY: &str = "2026-12-09";
/// 07:00 in Shanghai, before the window.
const EARLY: &str = "2026-12-08T23:00:00Z";

fn account(id: &str, overdue_fen: i64) -> PlanAccount {
    PlanAccount {
        day: AccountDay {
            account_id: id.into(),
            tz: Shanghai,
            numbers: vec![NumberHistory {
                contact_id: format!("{id}/c1"),
                dnc: false,
                attempts: vec![],
            }],
            promise: None,
            complaint_hold_until: None,
            callback_at: None,
        },
        segment: "early".into(),
        dialect: "mandarin".into(),
        overdue_fen,
        days_past_due: 10,
        broken_promises: 0,
        hardship: false,
        payment_propensity: 0.5,
        own_hours: [(0, 0); 24],
    }
}

/// Debtors in segment "early" answer at 19:00 far more than at other hours.
fn model() -> ContactModel {
    let mut h = Vec::new();
    for hour in 8..21u8 {
        let answered = if hour == 19 { 30 } else { 5 };
        for i in 0..50 {
            h.push(PastAttempt {
                segment: "early".into(),
                local_hour: hour,
                right_party: i < answered,
                weekend: false,
            });
        }
    }
    ContactModel::learn(&h)
}

fn capacity(robot_per_hour: u32, agents_per_hour: u32) -> Capacity {
    Capacity {
        tz: Shanghai,
        robot: [robot_per_hour; 24],
        agents: BTreeMap::from([("mandarin".to_string(), [agents_per_hour; 24])]),
        specialist: [0; 24],
    }
}

fn run(accounts: &[PlanAccount], capacity: &Capacity) -> Plan {
    let rules = CampaignRules::default();
    let holidays = Holidays::built_in();
    let strategy = Strategy::default();
    let model = model();
    plan(
        &PlanInput {
            day: DAY.parse().unwrap(),
            now: utc(EARLY),
            rules: &rules,
            holidays: &holidays,
            strategy: &strategy,
            model: &model,
            capacity,
        },
        accounts,
    )
}

fn local_hour(at: DateTime<Utc>) -> u32 {
    at.with_timezone(&Shanghai).hour()
}

#[test]
fn a_debtor_is_called_at_the_best_hour_with_the_reasons() {
    let p = run(&[account("A1", 325_050)], &capacity(10, 10));
    assert!(p.not_planned.is_empty(), "{:?}", p.not_planned);
    let c = &p.calls[0];
    assert_eq!(c.at, utc("2026-12-09T11:00:00Z")); // 19:00 local
    assert_eq!(
        (c.channel, c.contact_id.as_str()),
        (Channel::Robot, "A1/c1")
    );
    assert!((c.contact_p - 0.57).abs() < 0.03, "{}", c.contact_p);
    assert_eq!(
        c.expected_fen,
        (c.contact_p * 0.5 * 325_050.0).round() as i64
    );
    assert_eq!(
        c.reasons[0],
        format!(
            "contact chance {:.0}% at 19:00 (segment early: 30 answers in 50 calls, 30 of 50 on weekdays; this debtor: 0 of 0)",
            c.contact_p * 100.0
        )
    );
    assert_eq!(c.reasons[1], "robot call: strategy rule \"robot first\"");
    assert_eq!(c.reasons[2], "3 of 3 attempts left today");
}

#[test]
fn a_full_hour_sends_the_smaller_debts_to_their_next_best_hour() {
    let accounts = [account("A1", 100_000), account("A2", 900_000)];
    let p = run(&accounts, &capacity(1, 0));
    let at = |id: &str| p.calls.iter().find(|c| c.account_id == id).unwrap();
    // The larger debt takes 19:00; the other the next best hour.
    assert_eq!(local_hour(at("A2").at), 19);
    assert_ne!(local_hour(at("A1").at), 19);
    assert!(at("A1")
        .reasons
        .contains(&"19:00 would be better but is full for the robot".to_string()));
}

#[test]
fn no_hour_goes_over_capacity_and_everyone_is_accounted_for() {
    let accounts: Vec<PlanAccount> = (0..40)
        .map(|i| account(&format!("A{i:02}"), 100_000 + i * 1000))
        .collect();
    // Two robot calls an hour, 13 hours: 26 fit, 14 do not.
    let p = run(&accounts, &capacity(2, 0));
    assert_eq!(p.calls.len(), 26);
    assert_eq!(p.not_planned.len(), 14);
    assert!(p.not_planned.iter().all(
        |n| n.rule == "no_capacity" && n.why == "no robot capacity left in the calling window"
    ));
    let mut per_hour = BTreeMap::new();
    for c in &p.calls {
        *per_hour.entry(local_hour(c.at)).or_insert(0) += 1;
    }
    assert!(per_hour.values().all(|n| *n <= 2), "{per_hour:?}");
    assert!(per_hour.keys().all(|h| (8..21).contains(h)));
    // The same inputs, the same plan.
    assert_eq!(p, run(&accounts, &capacity(2, 0)));
}

#[test]
fn agents_take_broken_promises_only_when_one_speaks_the_dialect() {
    let mut broken = account("B1", 200_000);
    broken.day.promise = Some(crate::rules::Promise::Broken {
        date: "2026-12-05".parse().unwrap(),
    });
    broken.broken_promises = 1;
    let p = run(std::slice::from_ref(&broken), &capacity(5, 1));
    let c = &p.calls[0];
    assert_eq!(c.channel, Channel::Agent);
    assert!(c
        .reasons
        .contains(&"promise of 2026-12-05 broken: follow-up".to_string()));
    let cantonese = PlanAccount {
        dialect: "cantonese".into(),
        ..broken
    };
    let p = run(&[cantonese], &capacity(5, 1));
    assert!(p.calls.is_empty());
    assert_eq!(
        p.not_planned[0].why,
        "no cantonese agent has room in the calling window"
    );
}

#[test]
fn a_callback_is_planned_at_the_time_asked_and_skips_name_their_rule() {
    let mut cb = account("C1", 50_000);
    cb.day.callback_at = Some(utc("2026-12-09T02:30:00Z")); // 10:30 local
    let mut dnc = account("D1", 50_000);
    dnc.day.numbers[0].dnc = true;
    let p = run(&[cb, dnc], &capacity(5, 0));
    assert_eq!(p.calls.len(), 1);
    assert_eq!(p.calls[0].at, utc("2026-12-09T02:30:00Z"));
    assert!(p.calls[0]
        .reasons
        .contains(&"callback asked for at 10:30".to_string()));
    assert_eq!(
        p.not_planned,
        [NotPlanned {
            account_id: "D1".into(),
            rule: "do_not_call",
            why: "every number is on the do-not-call list".into()
        }]
    );
}

#[test]
fn equal_worth_goes_to_the_smaller_account_id_whatever_the_input_order() {
    let accounts = [account("B7", 500_000), account("A3", 500_000)];
    let p = run(&accounts, &capacity(1, 0));
    let at = |id: &str| p.calls.iter().find(|c| c.account_id == id).unwrap();
    assert_eq!(local_hour(at("A3").at), 19);
    assert_ne!(local_hour(at("B7").at), 19);
    let mut reversed = accounts.clone();
    reversed.reverse();
    let mut q = run(&reversed, &capacity(1, 0));
    // The same calls; each names its account's place in its own input.
    for c in &mut q.calls {
        assert_eq!(reversed[c.account].day.account_id, c.account_id);
        c.account = 1 - c.account;
    }
    assert_eq!(p, q);
}
