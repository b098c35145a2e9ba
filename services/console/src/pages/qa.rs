//! The quality pages, for supervisors and managers (who may read every
//! call): the inspected calls, newest first, filtered by flag type, by who
//! spoke for the lender and by score; the hourly reports, each also as
//! CSV; and one call: its recording in a player, its transcript by
//! speaker with its flags inline (a click plays from there), and a chart
//! of each side's pitch and loudness.
//!
//! The recording is served from the recordings directory only, by the
//! path the store holds for the call (never one from the request), with
//! ranges so the player can seek. Opening a call and playing its
//! recording are audited.

use super::paging::{on_page, page_number, pager, PAGE};
use super::{bad, when};
use crate::audit::Action;
use crate::charts::voice::{voice_chart, Side};
use crate::error::ConsoleError;
use crate::session::CurrentUser;
use crate::Console;
use axum::extract::{Path, Query, Request, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use chrono::TimeZone;
use chrono_tz::Tz;
use huikuan_core::flag_kind::FlagKind;
use huikuan_core::staff::Permission;
use huikuan_store::{Collector, HourReport, InspectionFilter, InspectionRow, InspectionView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use tower::ServiceExt;

/// Hours of reports the list page shows.
const REPORT_HOURS: i64 = 24;
const HOUR_MS: i64 = huikuan_store::inspections::HOUR_MS;

/// `m:ss` of call time.
fn clock(ms: u64) -> String {
    format!("{}:{:02}", ms / 60_000, ms / 1000 % 60)
}

async fn allow(console: &Console, me: &CurrentUser, what: &str) -> Result<(), ConsoleError> {
    console.allow(me, Permission::ReadAllCalls, what).await
}

/// A call (attempt) id from a query: 1-300 characters, none a control
/// character (ids hold `/`, so they travel in the query, not the path).
fn attempt_id(id: &str) -> Result<(), ConsoleError> {
    let ok = !id.is_empty() && id.chars().count() <= 300 && !id.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(bad("id", "a call's id: 1-300 characters"))
    }
}

/// `id=ATTEMPT`, encoded for a query string.
fn id_query(id: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("id", id)
        .finish()
}

/// Which call a call page or its parts are about.
#[derive(Debug, Deserialize)]
pub(super) struct CallQuery {
    #[serde(default)]
    id: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    kind: String,
    /// `robot`, or an agent's name.
    #[serde(default)]
    collector: String,
    #[serde(default)]
    max_score: String,
    /// The centre's day, YYYY-MM-DD.
    #[serde(default)]
    day: String,
    #[serde(default)]
    page: String,
}

impl ListQuery {
    fn parse(&self, tz: Tz) -> Result<(InspectionFilter, u64), ConsoleError> {
        let some = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
        let kind = some(&self.kind)
            .map(|k| k.parse::<FlagKind>().map(|k| k.as_str().to_string()))
            .transpose()
            .map_err(|e| bad("kind", e))?;
        let collector = some(&self.collector)
            .map(|c| {
                if c.chars().count() > 64 {
                    Err(bad("collector", "at most 64 characters"))
                } else if c == "robot" {
                    Ok(Collector::Robot)
                } else {
                    Ok(Collector::Agent(c))
                }
            })
            .transpose()?;
        let max_score = some(&self.max_score)
            .map(|s| {
                s.parse::<f64>()
                    .ok()
                    .filter(|v| (0.0..=100.0).contains(v))
                    .ok_or_else(|| bad("max_score", "a score from 0 to 100"))
            })
            .transpose()?;
        let (since_ms, until_ms) = match some(&self.day) {
            Some(d) => {
                let day = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| bad("day", "a date as YYYY-MM-DD"))?;
                let start = |d: chrono::NaiveDate| {
                    tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
                        .earliest()
                        .map(|t| t.timestamp_millis())
                };
                (start(day), day.succ_opt().and_then(start))
            }
            None => (None, None),
        };
        let page = page_number(&self.page)?;
        Ok((
            InspectionFilter {
                kind,
                collector,
                max_score,
                since_ms,
                until_ms,
            },
            page,
        ))
    }

    fn on_page(&self, page: u64) -> String {
        on_page(
            &[
                ("kind", &self.kind),
                ("collector", &self.collector),
                ("max_score", &self.max_score),
                ("day", &self.day),
            ],
            page,
        )
    }
}

/// Who spoke for the lender, as a person reads it.
fn collector_of(agent: &Option<String>, dialect: &str) -> String {
    match agent {
        Some(a) => a.clone(),
        None => format!("robot ({dialect})"),
    }
}

#[derive(Serialize)]
struct CallRow {
    attempt: String,
    /// The call page's address.
    link: String,
    account: String,
    ended: String,
    collector: String,
    dialect: String,
    score: String,
    low: bool,
    kinds: Vec<String>,
}

fn call_row(r: &InspectionRow, tz: Tz) -> CallRow {
    CallRow {
        attempt: r.attempt_id.clone(),
        link: format!("/qa/call?{}", id_query(&r.attempt_id)),
        account: r.account_id.clone(),
        ended: when(r.finished_at_ms, tz),
        collector: collector_of(&r.agent_name, &r.dialect),
        dialect: r.dialect.clone(),
        score: format!("{:.0}", r.score),
        low: r.score < 80.0,
        kinds: r.kinds.clone(),
    }
}

#[derive(Serialize)]
struct HourRow {
    start_ms: i64,
    hour: String,
    calls: i64,
    inspected: i64,
    failed: i64,
    complete: bool,
    mean_score: String,
    flags: Vec<(String, i64)>,
    made: String,
}

fn hour_row(r: &HourReport, tz: Tz) -> HourRow {
    HourRow {
        start_ms: r.hour_start_ms,
        hour: when(r.hour_start_ms, tz),
        calls: r.calls,
        inspected: r.inspected,
        failed: r.failed,
        complete: r.complete(),
        mean_score: r.mean_score.map_or("–".into(), |s| format!("{s:.1}")),
        flags: r.flags.iter().map(|(k, n)| (k.clone(), *n)).collect(),
        made: when(r.made_at_ms, tz),
    }
}

/// Figures per collector over several hours' reports.
#[derive(Serialize)]
struct CollectorRow {
    collector: String,
    calls: i64,
    mean_score: String,
    flags: Vec<(String, i64)>,
}

fn collectors(reports: &[HourReport]) -> Vec<CollectorRow> {
    let mut by: BTreeMap<&str, (i64, f64, BTreeMap<&str, i64>)> = BTreeMap::new();
    for r in reports {
        for (who, f) in &r.by_collector {
            let e = by.entry(who.as_str()).or_default();
            e.0 += f.calls;
            e.1 += f.mean_score * f.calls as f64;
            for (k, n) in &f.flags {
                *e.2.entry(k.as_str()).or_default() += n;
            }
        }
    }
    by.into_iter()
        .map(|(who, (calls, sum, flags))| CollectorRow {
            collector: who
                .strip_prefix("robot:")
                .map_or(who.to_string(), |d| format!("robot ({d})")),
            calls,
            mean_score: if calls > 0 {
                format!("{:.1}", sum / calls as f64)
            } else {
                "–".into()
            },
            flags: flags.into_iter().map(|(k, n)| (k.to_string(), n)).collect(),
        })
        .collect()
}

/// `/qa`: the inspected calls and the last day's hourly reports.
pub(super) async fn list(
    State(console): State<Console>,
    me: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, ConsoleError> {
    allow(&console, &me, "/qa").await?;
    let tz = console.config().centre_tz();
    let (filter, page) = q.parse(tz)?;
    let store = console.store();
    let (rows, total) = store.inspections(&filter, (page - 1) * PAGE, PAGE).await?;
    let now = crate::now_ms();
    let this_hour = now.div_euclid(HOUR_MS) * HOUR_MS;
    let reports = store
        .hour_reports(this_hour - REPORT_HOURS * HOUR_MS, this_hour + HOUR_MS)
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert(
        "calls",
        &rows.iter().map(|r| call_row(r, tz)).collect::<Vec<_>>(),
    );
    pager(&mut ctx, page, total, "/qa".into(), |p| q.on_page(p));
    ctx.insert("q", &q);
    ctx.insert(
        "kinds",
        &FlagKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.about()))
            .collect::<Vec<_>>(),
    );
    ctx.insert("agents", &store.inspected_agents().await?);
    ctx.insert(
        "hours",
        &reports.iter().map(|r| hour_row(r, tz)).collect::<Vec<_>>(),
    );
    ctx.insert("collectors", &collectors(&reports));
    ctx.insert("backlog", &store.inspection_backlog().await?);
    ctx.insert("time_zone", tz.name());
    console.render(&me, "qa.html", ctx)
}

/// `/qa/hours/{start_ms}/report.csv`: an hour's report, one line for the
/// hour and one per collector, a column per flag type.
pub(super) async fn hour_csv(
    State(console): State<Console>,
    me: CurrentUser,
    Path(start): Path<String>,
) -> Result<Response, ConsoleError> {
    allow(&console, &me, "/qa/hours").await?;
    let start_ms = start
        .parse::<i64>()
        .ok()
        .filter(|s| s.rem_euclid(HOUR_MS) == 0)
        .ok_or_else(|| bad("hour", "an hour's start in epoch milliseconds"))?;
    let report = console
        .store()
        .hour_report(start_ms)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("no report for that hour yet".into()))?;
    let tz = console.config().centre_tz();
    let csv = hour_report_csv(&report, tz);
    let name = format!(
        "qa-{}.csv",
        tz.timestamp_millis_opt(start_ms)
            .single()
            .map(|t| t.format("%Y%m%d-%H00").to_string())
            .unwrap_or_else(|| start_ms.to_string())
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        csv,
    )
        .into_response())
}

/// The CSV of an hour's report: `hour,collector,calls,inspected,failed,
/// mean_score` and a column per flag type (every type, in their order).
fn hour_report_csv(r: &HourReport, tz: Tz) -> String {
    let hour = tz
        .timestamp_millis_opt(r.hour_start_ms)
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    let mut out = String::from("hour,collector,calls,inspected,failed,mean_score");
    for k in FlagKind::ALL {
        out.push(',');
        out.push_str(k.as_str());
    }
    out.push('\n');
    let score = |s: Option<f64>| s.map_or(String::new(), |s| format!("{s:.1}"));
    let mut line = |who: &str,
                    calls: i64,
                    inspected: i64,
                    failed: String,
                    mean: String,
                    flags: &BTreeMap<String, i64>| {
        out.push_str(&format!(
            "{hour},{},{calls},{inspected},{failed},{mean}",
            csv_field(who)
        ));
        for k in FlagKind::ALL {
            out.push_str(&format!(",{}", flags.get(k.as_str()).copied().unwrap_or(0)));
        }
        out.push('\n');
    };
    line(
        "all",
        r.calls,
        r.inspected,
        r.failed.to_string(),
        score(r.mean_score),
        &r.flags,
    );
    for (who, f) in &r.by_collector {
        line(
            who,
            f.calls,
            f.calls,
            String::new(),
            score(Some(f.mean_score)),
            &f.flags,
        );
    }
    out
}

/// A CSV field, quoted when it must be, and never read as a formula by a
/// spreadsheet.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

async fn view_of(console: &Console, id: &str) -> Result<InspectionView, ConsoleError> {
    attempt_id(id)?;
    console
        .store()
        .inspection(id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("no inspection of that call (yet)".into()))
}

#[derive(Serialize)]
struct FlagView {
    kind: String,
    about: &'static str,
    channel: String,
    start_ms: u64,
    end_ms: u64,
    at: String,
    rule: String,
    evidence: String,
}

#[derive(Serialize)]
struct LineView {
    channel: String,
    start_ms: u64,
    end_ms: u64,
    at: String,
    text: String,
    /// Indexes into the call's flags.
    flags: Vec<usize>,
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// `/qa/call?id=ATTEMPT`: one call's inspection.
pub(super) async fn call(
    State(console): State<Console>,
    me: CurrentUser,
    Query(CallQuery { id }): Query<CallQuery>,
) -> Result<Html<String>, ConsoleError> {
    allow(&console, &me, "/qa/calls").await?;
    let view = view_of(&console, &id).await?;
    console
        .audit_by(
            &me,
            Action::ViewInspection,
            &view.row.account_id,
            &format!("call {id}"),
        )
        .await?;
    let tz = console.config().centre_tz();
    let result: Value = serde_json::from_str(&view.result).unwrap_or(Value::Null);
    let flags: Vec<FlagView> = view
        .flags
        .iter()
        .map(|f| FlagView {
            kind: f.kind.clone(),
            about: f.kind.parse::<FlagKind>().map_or("", FlagKind::about),
            channel: f.channel.clone(),
            start_ms: f.start_ms.max(0) as u64,
            end_ms: f.end_ms.max(0) as u64,
            at: clock(f.start_ms.max(0) as u64),
            rule: f.rule.clone(),
            evidence: f.evidence.clone(),
        })
        .collect();
    let mut lines: Vec<LineView> = result["transcript"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|l| {
            let (start, end) = (u(&l["start_ms"]), u(&l["end_ms"]));
            let channel = l["channel"].as_str().unwrap_or_default().to_string();
            LineView {
                end_ms: end,
                flags: Vec::new(),
                at: clock(start),
                start_ms: start,
                text: l["text"].as_str().unwrap_or_default().to_string(),
                channel,
            }
        })
        .collect();
    lines.sort_by_key(|l| l.start_ms);
    // Each flag inline on the first line of its side it overlaps.
    for (i, f) in flags.iter().enumerate() {
        let overlaps = |l: &&mut LineView| {
            l.channel == f.channel
                && f.start_ms < l.end_ms.max(l.start_ms + 1)
                && l.start_ms < f.end_ms.max(f.start_ms + 1)
        };
        if let Some(l) = lines.iter_mut().find(|l| overlaps(l)) {
            l.flags.push(i);
        }
    }
    let talk = &result["talk"];
    let mut ctx = tera::Context::new();
    ctx.insert("attempt", &id);
    ctx.insert("id_query", &id_query(&id));
    ctx.insert("account", &view.row.account_id);
    let campaign = match console.store().get_campaign(&view.row.campaign_id).await {
        Ok(c) => c.name,
        Err(_) => view.row.campaign_id.clone(),
    };
    ctx.insert("campaign", &campaign);
    ctx.insert("ended", &when(view.row.finished_at_ms, tz));
    ctx.insert("inspected", &when(view.row.inspected_at_ms, tz));
    ctx.insert(
        "collector",
        &collector_of(&view.row.agent_name, &view.row.dialect),
    );
    ctx.insert("dialect", &view.row.dialect);
    ctx.insert("score", &format!("{:.0}", view.row.score));
    ctx.insert("low", &(view.row.score < 80.0));
    ctx.insert("duration", &clock(u(&result["duration_ms"])));
    ctx.insert(
        "agent_share",
        &format!(
            "{:.0}%",
            talk["agent_share"].as_f64().unwrap_or(0.0) * 100.0
        ),
    );
    ctx.insert(
        "overlap_s",
        &format!("{:.1}", u(&talk["overlap_ms"]) as f64 / 1000.0),
    );
    ctx.insert(
        "longest_silence_s",
        &format!("{:.1}", u(&talk["longest_silence_ms"]) as f64 / 1000.0),
    );
    ctx.insert(
        "chars_per_minute",
        &result["agent_chars_per_minute"]
            .as_f64()
            .map_or("–".into(), |r| format!("{r:.0}")),
    );
    ctx.insert("flags", &flags);
    ctx.insert("lines", &lines);
    ctx.insert("has_recording", &view.recording_path.is_some());
    console.render(&me, "qa_call.html", ctx)
}

/// `/qa/call/chart.svg?id=ATTEMPT`: each side's pitch and loudness.
pub(super) async fn chart(
    State(console): State<Console>,
    me: CurrentUser,
    Query(CallQuery { id }): Query<CallQuery>,
) -> Result<Response, ConsoleError> {
    allow(&console, &me, "/qa/calls").await?;
    let view = view_of(&console, &id).await?;
    let result: Value = serde_json::from_str(&view.result).unwrap_or(Value::Null);
    let points = |side: &str| -> Vec<(u64, Option<f32>, f32)> {
        result["tracks"][side]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                (
                    u(&p[0]),
                    p[1].as_f64().map(|h| h as f32),
                    p[2].as_f64().unwrap_or(-90.0) as f32,
                )
            })
            .collect()
    };
    let flagged = |side: &str| -> Vec<(u64, u64)> {
        view.flags
            .iter()
            .filter(|f| f.channel == side && f.kind == FlagKind::Agitation.as_str())
            .map(|f| (f.start_ms.max(0) as u64, f.end_ms.max(0) as u64))
            .collect()
    };
    let (agent, debtor) = (points("agent"), points("debtor"));
    let (agent_flags, debtor_flags) = (flagged("agent"), flagged("debtor"));
    let level = |i: usize, key: &str| result["voices"][i][key].as_f64().map(|v| v as f32);
    let collector = collector_of(&view.row.agent_name, &view.row.dialect);
    let agent_name = format!("collector: {collector}");
    let svg = voice_chart(
        &[
            Side {
                name: &agent_name,
                points: &agent,
                baseline_pitch_hz: level(0, "baseline_pitch_hz"),
                baseline_loudness_db: level(0, "baseline_loudness_db"),
                flagged: &agent_flags,
            },
            Side {
                name: "debtor",
                points: &debtor,
                baseline_pitch_hz: level(1, "baseline_pitch_hz"),
                baseline_loudness_db: level(1, "baseline_loudness_db"),
                flagged: &debtor_flags,
            },
        ],
        u(&result["duration_ms"]),
    )
    .map_err(|e| ConsoleError::Internal(anyhow::anyhow!(e)))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// `/qa/call/audio?id=ATTEMPT`: the call's recording, with ranges.
pub(super) async fn audio(
    State(console): State<Console>,
    me: CurrentUser,
    Query(CallQuery { id }): Query<CallQuery>,
    req: Request,
) -> Result<Response, ConsoleError> {
    allow(&console, &me, "/qa/calls").await?;
    let view = view_of(&console, &id).await?;
    let file = console.recording_file(view.recording_path.as_deref())?;
    // The player asks for the file in ranges: the first request (the
    // whole file, or from its start) is the one audited.
    let from_start = req
        .headers()
        .get(header::RANGE)
        .and_then(|r| r.to_str().ok())
        .is_none_or(|r| r.trim() == "bytes=0-");
    if from_start {
        console
            .audit_by(
                &me,
                Action::PlayRecording,
                &view.row.account_id,
                &format!("call {id}"),
            )
            .await?;
    }
    let served = tower_http::services::ServeFile::new_with_mime(
        file,
        &"audio/wav".parse().expect("a MIME type"),
    )
    .oneshot(req)
    .await
    .map_err(|e| ConsoleError::Internal(anyhow::anyhow!("recording {id}: {e}")))?;
    Ok(served.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use huikuan_store::inspections::CollectorFigures;

    #[test]
    fn an_hour_report_as_csv_has_a_line_for_the_hour_and_each_collector() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let mut flags = BTreeMap::new();
        flags.insert("forbidden_wording".to_string(), 2);
        let mut by = BTreeMap::new();
        by.insert(
            "=wang".to_string(),
            CollectorFigures {
                calls: 3,
                mean_score: 71.5,
                flags: flags.clone(),
            },
        );
        by.insert("robot:mandarin".to_string(), CollectorFigures::default());
        let r = HourReport {
            hour_start_ms: 1_796_000_400_000 / HOUR_MS * HOUR_MS,
            made_at_ms: 0,
            calls: 4,
            inspected: 3,
            failed: 1,
            mean_score: Some(71.5),
            flags,
            by_collector: by,
        };
        let csv = hour_report_csv(&r, tz);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "{csv}");
        let head: Vec<&str> = lines[0].split(',').collect();
        assert_eq!(
            head[..6],
            [
                "hour",
                "collector",
                "calls",
                "inspected",
                "failed",
                "mean_score"
            ]
        );
        assert_eq!(head.len(), 6 + FlagKind::ALL.len());
        let at = head.iter().position(|h| *h == "forbidden_wording").unwrap();
        let all: Vec<&str> = lines[1].split(',').collect();
        assert!(all[0].ends_with("+08:00"), "{}", all[0]);
        assert_eq!(all[1..6], ["all", "4", "3", "1", "71.5"]);
        assert_eq!(all[at], "2");
        // A name a spreadsheet would run as a formula is defused.
        let wang: Vec<&str> = lines[2].split(',').collect();
        assert_eq!(wang[1..3], ["'=wang", "3"]);
        assert_eq!(wang[at], "2");
        assert_eq!(lines[3].split(',').nth(1), Some("robot:mandarin"));
    }

    #[test]
    fn filters_are_checked_field_by_field() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let q = |kind: &str, score: &str, day: &str, page: &str| ListQuery {
            kind: kind.into(),
            collector: "robot".into(),
            max_score: score.into(),
            day: day.into(),
            page: page.into(),
        };
        let (f, page) = q("talk_over", "80", "2026-12-07", "").parse(tz).unwrap();
        assert_eq!(f.kind.as_deref(), Some("talk_over"));
        assert_eq!(f.collector, Some(Collector::Robot));
        assert_eq!(f.max_score, Some(80.0));
        assert_eq!(page, 1);
        assert_eq!(f.until_ms.unwrap() - f.since_ms.unwrap(), 24 * HOUR_MS);
        for (query, field) in [
            (q("shouting", "", "", ""), "kind"),
            (q("", "101", "", ""), "max_score"),
            (q("", "", "7 Dec", ""), "day"),
            (q("", "", "", "0"), "page"),
        ] {
            match query.parse(tz) {
                Err(ConsoleError::BadInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {:?}", other.map(|_| ())),
            }
        }
        for bad_id in ["", "a\nb", &"x".repeat(301)] {
            assert!(attempt_id(bad_id).is_err(), "{bad_id}");
        }
        assert!(attempt_id("ACC-1/c9f2/camp/0").is_ok());
    }
}
