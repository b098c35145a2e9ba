//! The managers' live dashboard of the centre's day: calls in progress,
//! contact and right-party rates, promises (rate and amount), how
//! promises turn out, robot containment (answered calls finished without
//! a person), handoffs, calls abandoned in the queue, and calls per hour
//! against the day's plans. The page refreshes itself from
//! `/api/dashboard` and its chart from `/dashboard/hours.svg`.
//!
//! Figures come from the store (reported calls of the centre's day,
//! indexed by report time), and the calls waiting now from the floor.

use crate::charts::{self, Hourly};
use crate::error::ConsoleError;
use crate::session::CurrentUser;
use crate::Console;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::{Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use huikuan_core::staff::Permission;
use huikuan_core::Disposition;
use huikuan_store::figures::CallFigures;
use serde::Serialize;

/// Promises made this many days back count for the kept rate.
const KEPT_DAYS: i64 = 30;

/// One figure as the page shows it.
#[derive(Debug, Serialize)]
pub(super) struct Kpi {
    key: &'static str,
    label: &'static str,
    value: String,
    /// What it is made of, in words.
    detail: String,
}

#[derive(Debug, Serialize)]
pub(super) struct DashboardView {
    day: String,
    time_zone: String,
    kpis: Vec<Kpi>,
    /// Reported calls by disposition, most first.
    dispositions: Vec<(String, u64)>,
}

/// `part / whole` as a percentage, or a dash with nothing to divide.
fn rate(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.0}%", 100.0 * part as f64 / whole as f64)
    }
}

/// The centre's day: its date and its bounds in epoch ms.
fn day_of(tz: Tz, now: chrono::DateTime<Utc>) -> (NaiveDate, i64, i64) {
    let day = now.with_timezone(&tz).date_naive();
    let start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
            .earliest()
            .map_or(0, |t| t.timestamp_millis())
    };
    (day, start(day), start(day + Duration::days(1)))
}

/// The figures, from what the store and the floor hold.
fn kpis(
    f: &CallFigures,
    kept: u64,
    broken: u64,
    in_progress: u64,
    queue: &crate::acd::QueueFigures,
    this_hour: u64,
) -> Vec<Kpi> {
    let calls = f.total();
    let contacts = f.contacts();
    let right_party = contacts - f.of(Disposition::WrongParty);
    let promises = f.of(Disposition::PromiseToPay);
    let k = |key, label, value: String, detail: String| Kpi {
        key,
        label,
        value,
        detail,
    };
    vec![
        k(
            "in_progress",
            "Calls in progress",
            in_progress.to_string(),
            "robot and handed-over calls on the line now".into(),
        ),
        k(
            "calls",
            "Calls today",
            calls.to_string(),
            format!("{this_hour} this hour"),
        ),
        k(
            "contact_rate",
            "Contact rate",
            rate(contacts, calls),
            format!("{contacts} of {calls} calls answered"),
        ),
        k(
            "rpc_rate",
            "Right-party rate",
            rate(right_party, calls),
            format!("{right_party} of {calls} calls reached the debtor"),
        ),
        k(
            "promise_rate",
            "Promise rate",
            rate(promises, right_party),
            format!("{promises} promises from {right_party} right-party contacts"),
        ),
        k(
            "promised",
            "Promised today",
            format!("¥{}", huikuan_core::Money::from_fen(f.promised_fen)),
            format!("{promises} promises to pay"),
        ),
        k(
            "kept_rate",
            "Promises kept",
            rate(kept, kept + broken),
            format!("{kept} kept, {broken} broken (made in the last {KEPT_DAYS} days)"),
        ),
        k(
            "containment",
            "Robot containment",
            rate(f.contacts_robot_only, contacts),
            format!(
                "{} of {contacts} answered calls finished without a person",
                f.contacts_robot_only
            ),
        ),
        k(
            "handoffs",
            "Handoffs",
            f.handed_over.to_string(),
            format!("{} taken by an agent", f.taken_by_agent),
        ),
        k(
            "abandoned",
            "Abandoned in the queue",
            f.abandoned.to_string(),
            format!(
                "{} waiting now; {} given a callback when no agent came",
                queue.waiting, f.given_up
            ),
        ),
    ]
}

async fn view(console: &Console) -> Result<DashboardView, ConsoleError> {
    let tz = console.config().centre_tz();
    let now = Utc::now();
    let (day, from, until) = day_of(tz, now);
    let store = console.store();
    let f = store.call_figures(from, until).await?;
    let p = store
        .promise_figures((now - Duration::days(KEPT_DAYS)).timestamp_millis())
        .await?;
    let hour_start = now.timestamp_millis() - now.timestamp_millis() % 3_600_000;
    let this_hour = f.by_hour.get(&hour_start).copied().unwrap_or(0);
    let mut dispositions: Vec<(String, u64)> = f
        .by_disposition
        .iter()
        .map(|(d, n)| (d.clone(), *n))
        .collect();
    dispositions.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let v = DashboardView {
        day: day.to_string(),
        time_zone: tz.name().to_string(),
        kpis: kpis(
            &f,
            p.kept,
            p.broken,
            store.calls_in_progress().await?,
            &console.floor().figures(),
            this_hour,
        ),
        dispositions,
    };
    Ok(v)
}

pub(super) async fn page(
    State(console): State<Console>,
    me: CurrentUser,
) -> Result<Html<String>, ConsoleError> {
    console
        .allow(&me, Permission::WatchFloor, "/dashboard")
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("dash", &view(&console).await?);
    console.render(&me, "dashboard.html", ctx)
}

/// The same, as JSON, for the page to refresh itself.
pub(super) async fn api(
    State(console): State<Console>,
    me: CurrentUser,
) -> Result<Json<DashboardView>, ConsoleError> {
    console
        .allow(&me, Permission::WatchFloor, "/api/dashboard")
        .await?;
    Ok(Json(view(&console).await?))
}

/// Calls per hour of the centre's day, answered or not, against the
/// calls the plans in force hold for each hour (SVG).
pub(super) async fn hours_chart(
    State(console): State<Console>,
    me: CurrentUser,
) -> Result<Response, ConsoleError> {
    console
        .allow(&me, Permission::WatchFloor, "/dashboard")
        .await?;
    // Only what the chart draws: the day's calls and plans.
    let tz = console.config().centre_tz();
    let (day, from, until) = day_of(tz, Utc::now());
    let f = console.store().call_figures(from, until).await?;
    let by_local_hour = |m: &std::collections::BTreeMap<i64, u64>| {
        let mut v = [0u64; 24];
        for (at, n) in m {
            if let Some(t) = tz.timestamp_millis_opt(*at).single() {
                v[t.hour() as usize] += n;
            }
        }
        v
    };
    let all = by_local_hour(&f.by_hour);
    let answered = by_local_hour(&f.contacts_by_hour);
    let unanswered: [u64; 24] = std::array::from_fn(|h| all[h].saturating_sub(answered[h]));
    let planned = by_local_hour(&console.store().planned_per_hour(from, until).await?);
    let svg = charts::day_by_hour(
        &format!("Calls per hour, {day} ({})", tz.name()),
        "calls",
        &[
            Hourly {
                name: "answered",
                colour: charts::GREEN_,
                values: answered,
            },
            Hourly {
                name: "not answered",
                colour: charts::GREY,
                values: unanswered,
            },
        ],
        &[Hourly {
            name: "planned",
            colour: charts::BLUE_,
            values: planned,
        }],
    )
    .map_err(|e| ConsoleError::Internal(anyhow::anyhow!(e)))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_shares_of_their_own_whole() {
        let mut f = CallFigures::default();
        for (d, n) in [
            ("promise_to_pay", 3),
            ("refused", 4),
            ("wrong_party", 1),
            ("no_answer", 2),
        ] {
            f.by_disposition.insert(d.into(), n);
        }
        f.handed_over = 2;
        f.taken_by_agent = 1;
        f.contacts_robot_only = 6;
        f.abandoned = 2;
        f.given_up = 1;
        f.promised_fen = 123_450;
        let queue = crate::acd::QueueFigures {
            waiting: 1,
            longest_wait_ms: 0,
            answered: 1,
            answered_within_target: 1,
            abandoned: 0,
            given_up: 0,
        };
        let k = kpis(&f, 3, 1, 5, &queue, 4);
        let get = |key: &str| k.iter().find(|k| k.key == key).unwrap().value.clone();
        assert_eq!(get("calls"), "10");
        assert_eq!(get("contact_rate"), "80%");
        assert_eq!(get("rpc_rate"), "70%");
        assert_eq!(get("promise_rate"), "43%", "3 of 7 right-party contacts");
        assert_eq!(get("promised"), "¥1234.50");
        assert_eq!(get("kept_rate"), "75%");
        assert_eq!(get("containment"), "75%", "6 of 8 answered");
        assert_eq!(get("handoffs"), "2");
        assert_eq!(get("abandoned"), "2", "the day's, from the store");
        assert_eq!(get("in_progress"), "5");
        let empty = kpis(&CallFigures::default(), 0, 0, 0, &queue, 0);
        assert!(empty
            .iter()
            .filter(|k| k.key.ends_with("rate"))
            .all(|k| k.value == "–"));
    }

    #[test]
    fn the_centres_day_runs_midnight_to_midnight_in_its_zone() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // 17:30 UTC is 01:30 the next day in Beijing.
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 17, 30, 0).unwrap();
        let (day, from, until) = day_of(tz, now);
        assert_eq!(day.to_string(), "2026-12-06");
        assert_eq!(
            from,
            Utc.with_ymd_and_hms(2026, 12, 5, 16, 0, 0)
                .unwrap()
                .timestamp_millis()
        );
        assert_eq!(until - from, 24 * 3_600_000);
    }
}
