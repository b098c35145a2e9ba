use super::*;
use chrono_tz::Asia::{Shanghai, Urumqi};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn t(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}

/// A Shanghai debtor with one number and no history; planned for
/// Wednesday 2026-12-09 at 07:00 local (before the window).
fn account() -> AccountDay {
    AccountDay {
        account_id: "A1".into(),
        tz: Shanghai,
        numbers: vec![NumberHistory {
            contact_id: "A1/c1".into(),
            dnc: false,
            attempts: vec![],
        }],
        promise: None,
        complaint_hold_until: None,
        callback_at: None,
    }
}

const DAY: &str = "2026-12-09";
const EARLY: &str = "2026-12-08T23:00:00Z"; // 07:00 in Shanghai

fn window(a: &AccountDay, rules: &CampaignRules) -> Result<DayWindow, Skip> {
    a.window(d(DAY), utc(EARLY), rules, &Holidays::built_in())
}

#[test]
fn a_fresh_account_is_callable_from_the_window_start_to_its_end() {
    let w = window(&account(), &CampaignRules::default()).unwrap();
    assert_eq!(w.contact_id, "A1/c1");
    assert_eq!(w.from, utc("2026-12-09T00:00:00Z")); // 08:00 local
    assert_eq!(w.until, utc("2026-12-09T13:00:00Z")); // 21:00 local
    assert_eq!(w.attempts_left, 3);
    assert_eq!(w.reasons, ["3 of 3 attempts left today"]);
}

#[test]
fn no_configuration_opens_the_night_or_a_seventh_daily_attempt() {
    let rules = CampaignRules {
        window_start: t("06:00"),
        window_end: t("23:30"),
        attempts_per_day: 9,
        attempts_per_week: 30,
        ..CampaignRules::default()
    };
    let (effective, notes) = rules.effective();
    assert_eq!(
        (effective.window_start, effective.window_end),
        (t("08:00"), t("22:00"))
    );
    assert_eq!(effective.attempts_per_day, 6);
    assert_eq!(notes.len(), 3, "{notes:?}");
    let w = window(&account(), &rules).unwrap();
    assert_eq!(w.from, utc("2026-12-09T00:00:00Z"));
    assert_eq!(w.until, utc("2026-12-09T14:00:00Z")); // 22:00 local
    assert_eq!(w.attempts_left, 6);
}

#[test]
fn the_window_is_the_debtors_local_time() {
    let a = AccountDay {
        tz: Urumqi, // UTC+6: 08:00 there is 02:00 UTC
        ..account()
    };
    let w = window(&a, &CampaignRules::default()).unwrap();
    assert_eq!(w.from, utc("2026-12-09T02:00:00Z"));
    assert_eq!(w.until, utc("2026-12-09T15:00:00Z"));
}

#[test]
fn configuration_that_means_nothing_is_named_by_field() {
    let bad = |r: CampaignRules| r.validate().unwrap_err();
    let e = bad(CampaignRules {
        window_start: t("20:00"),
        window_end: t("09:00"),
        ..CampaignRules::default()
    });
    assert!(
        e.starts_with("window_start 20:00:00 must be before window_end"),
        "{e}"
    );
    let e = bad(CampaignRules {
        attempts_per_day: 0,
        ..CampaignRules::default()
    });
    assert_eq!(e, "attempts_per_day must be at least 1");
    let e = bad(CampaignRules {
        attempts_per_week: 2,
        ..CampaignRules::default()
    });
    assert!(e.starts_with("attempts_per_week (2)"), "{e}");
    assert!(CampaignRules::default().validate().is_ok());
    let unknown = toml::from_str::<CampaignRules>("atempts_per_day = 2");
    assert!(unknown.unwrap_err().to_string().contains("atempts_per_day"));
}

#[test]
fn each_rule_that_keeps_an_account_off_the_day_is_named() {
    let rules = CampaignRules::default();
    let at = |s: &str| utc(s);
    let cases: Vec<(&str, AccountDay, &str, &str)> = vec![
        (
            "do not call",
            AccountDay {
                numbers: vec![NumberHistory {
                    dnc: true,
                    ..account().numbers[0].clone()
                }],
                ..account()
            },
            "do_not_call",
            "every number is on the do-not-call list",
        ),
        (
            "no number",
            AccountDay {
                numbers: vec![],
                ..account()
            },
            "no_number",
            "no phone number",
        ),
        (
            "complaint hold through the day",
            AccountDay {
                complaint_hold_until: Some(d(DAY)),
                ..account()
            },
            "complaint_hold",
            "complaint hold until 2026-12-09",
        ),
        (
            "promise due tomorrow",
            AccountDay {
                promise: Some(Promise::Pending {
                    date: d("2026-12-10"),
                }),
                ..account()
            },
            "promise_pending",
            "promised to pay by 2026-12-10: no call before 2026-12-12",
        ),
        (
            "promise due yesterday, within its grace day",
            AccountDay {
                promise: Some(Promise::Pending {
                    date: d("2026-12-08"),
                }),
                ..account()
            },
            "promise_pending",
            "promised to pay by 2026-12-08: no call before 2026-12-10",
        ),
        (
            "three attempts today",
            AccountDay {
                numbers: vec![NumberHistory {
                    attempts: vec![
                        at("2026-12-08T16:30:00Z"), // 00:30 local on the day
                        at("2026-12-08T17:00:00Z"),
                        at("2026-12-08T17:30:00Z"),
                    ],
                    ..account().numbers[0].clone()
                }],
                ..account()
            },
            "daily_cap",
            "3 of 3 attempts today used",
        ),
        (
            "ten attempts in the week",
            AccountDay {
                numbers: vec![NumberHistory {
                    attempts: (3..=7)
                        .flat_map(|day| {
                            [8, 12].map(|h| at(&format!("2026-12-0{day}T0{}:00:00Z", h / 2)))
                        })
                        .collect(),
                    ..account().numbers[0].clone()
                }],
                ..account()
            },
            "weekly_cap",
            "10 of 10 attempts in 7 days used",
        ),
        (
            "callback asked for tomorrow",
            AccountDay {
                callback_at: Some(at("2026-12-10T02:00:00Z")),
                ..account()
            },
            "callback_later",
            "asked to be called back at 2026-12-10 10:00",
        ),
    ];
    for (what, a, rule, words) in cases {
        let skip = window(&a, &rules).expect_err(what);
        assert_eq!(skip.rule(), rule, "{what}");
        assert_eq!(skip.explain(Shanghai), words, "{what}");
    }
}

#[test]
fn holidays_and_days_of_unknown_years_are_not_planned_unless_configured() {
    let a = account();
    let h = Holidays::built_in();
    let rules = CampaignRules::default();
    let national = a
        .window(d("2026-10-02"), utc("2026-10-01T23:00:00Z"), &rules, &h)
        .unwrap_err();
    assert_eq!(national.explain(Shanghai), "public holiday (国庆节)");
    let unknown = a
        .window(d("2031-03-04"), utc("2031-03-03T23:00:00Z"), &rules, &h)
        .unwrap_err();
    assert_eq!(unknown.rule(), "no_holiday_data");
    let anyway = CampaignRules {
        skip_holidays: false,
        ..rules
    };
    assert!(a
        .window(d("2026-10-02"), utc("2026-10-01T23:00:00Z"), &anyway, &h)
        .is_ok());
}

#[test]
fn the_least_gap_after_the_last_attempt_moves_the_start_or_ends_the_day() {
    let rules = CampaignRules::default();
    let with_last = |last: &str| AccountDay {
        numbers: vec![NumberHistory {
            attempts: vec![utc(last)],
            ..account().numbers[0].clone()
        }],
        ..account()
    };
    // Called at 09:00 local; planning at 09:30: not before 11:00.
    let a = with_last("2026-12-09T01:00:00Z");
    let w = a
        .window(
            d(DAY),
            utc("2026-12-09T01:30:00Z"),
            &rules,
            &Holidays::built_in(),
        )
        .unwrap();
    assert_eq!(w.from, utc("2026-12-09T03:00:00Z"));
    assert_eq!(w.attempts_left, 2);
    assert_eq!(
        w.reasons,
        [
            "2 of 3 attempts left today",
            "not before 11:00: 120 min after the last attempt"
        ]
    );
    // Called at 20:00 local: the gap runs past 21:00.
    let a = with_last("2026-12-09T12:00:00Z");
    let skip = a
        .window(
            d(DAY),
            utc("2026-12-09T12:10:00Z"),
            &rules,
            &Holidays::built_in(),
        )
        .unwrap_err();
    assert_eq!(skip.rule(), "min_gap");
    assert_eq!(
        skip.explain(Shanghai),
        "the next attempt may start at 2026-12-09 22:00, after the calling window"
    );
    // Planning after the window: nothing left today.
    let skip = account()
        .window(
            d(DAY),
            utc("2026-12-09T13:30:00Z"),
            &rules,
            &Holidays::built_in(),
        )
        .unwrap_err();
    assert_eq!(skip.rule(), "window_over");
}

#[test]
fn a_used_up_number_gives_way_to_the_next_and_do_not_call_numbers_are_passed_over() {
    let full = NumberHistory {
        contact_id: "A1/c1".into(),
        dnc: false,
        attempts: vec![
            utc("2026-12-08T16:30:00Z"),
            utc("2026-12-08T17:00:00Z"),
            utc("2026-12-08T17:30:00Z"),
        ],
    };
    let barred = NumberHistory {
        contact_id: "A1/c2".into(),
        dnc: true,
        attempts: vec![],
    };
    let spare = NumberHistory {
        contact_id: "A1/c3".into(),
        dnc: false,
        attempts: vec![],
    };
    let a = AccountDay {
        numbers: vec![full, barred, spare],
        ..account()
    };
    let w = window(&a, &CampaignRules::default()).unwrap();
    assert_eq!(w.contact_id, "A1/c3");
}

#[test]
fn callbacks_are_honoured_and_promises_past_their_grace_are_followed_up() {
    let a = AccountDay {
        callback_at: Some(utc("2026-12-09T11:15:00Z")), // 19:15 local
        promise: Some(Promise::Pending {
            date: d("2026-12-07"),
        }),
        ..account()
    };
    let w = window(&a, &CampaignRules::default()).unwrap();
    assert_eq!(w.from, utc("2026-12-09T11:15:00Z"));
    assert!(w.callback && w.promise_follow_up);
    assert_eq!(
        w.reasons,
        [
            "promise of 2026-12-07 not kept: follow-up",
            "callback asked for at 19:15",
            "3 of 3 attempts left today"
        ]
    );
    let broken = AccountDay {
        promise: Some(Promise::Broken {
            date: d("2026-12-08"),
        }),
        ..account()
    };
    let w = window(&broken, &CampaignRules::default()).unwrap();
    assert!(w.promise_follow_up);
    let kept = AccountDay {
        promise: Some(Promise::Kept),
        ..account()
    };
    assert!(
        !window(&kept, &CampaignRules::default())
            .unwrap()
            .promise_follow_up
    );
}

/// Whatever the configuration and history, a window never opens before
/// 08:00 or reaches past 22:00 local, and never gives more than 6 attempts.
#[test]
fn no_window_ever_breaks_the_hard_limits() {
    let h = Holidays::built_in();
    for start_h in [0u32, 5, 8, 12, 21] {
        for end_h in [9u32, 18, 22, 23] {
            for per_day in [1u32, 3, 6, 12] {
                let rules = CampaignRules {
                    window_start: NaiveTime::from_hms_opt(start_h, 0, 0).unwrap(),
                    window_end: NaiveTime::from_hms_opt(end_h, 59, 0).unwrap(),
                    attempts_per_day: per_day,
                    attempts_per_week: 100,
                    ..CampaignRules::default()
                };
                for tz in [Shanghai, Urumqi] {
                    for now_h in 0..24 {
                        let now = utc(&format!("2026-12-09T{now_h:02}:00:00Z"));
                        let a = AccountDay { tz, ..account() };
                        if let Ok(w) = a.window(d(DAY), now, &rules, &h) {
                            let from = w.from.with_timezone(&tz);
                            let until = w.until.with_timezone(&tz);
                            assert!(from.time() >= EARLIEST, "{rules:?} {w:?}");
                            assert!(until.time() <= LATEST, "{rules:?} {w:?}");
                            assert!(from < until && from >= now);
                            assert!(w.attempts_left <= MOST_PER_DAY);
                        }
                    }
                }
            }
        }
    }
}
