//! The managers' schedule: each campaign's plans by day; a day's plan as
//! a chart of planned calls per hour against capacity and a filterable,
//! paged table of its calls with their reasons; approving, pausing and
//! resuming it; and changing one call (exclude, include, priority,
//! channel, move). Every change goes to the store with who, why and from
//! where, and the store writes it with its audit line in one transaction.
//!
//! Phone numbers are shown masked; the full list is `huikuan plan
//! --export`, for those who may run it.

use super::form_error;
use super::paging::{on_page, page_number, pager, PAGE};
use super::{bad, when};
use crate::charts::{self, Hourly};
use crate::error::ConsoleError;
use crate::session::CurrentUser;
use crate::Console;
use axum::extract::{Form, Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;
use huikuan_core::staff::Permission;
use huikuan_core::{Channel, Dialect, PlanAction, PlannedCallState};
use huikuan_planner::plan::CapacityRecord;
use huikuan_planner::PlanBasis;
use huikuan_store::plans::lifecycle::Change;
use huikuan_store::plans::{PlanCallFilter, PlanDay, PlanEdit, PlannedCallRow};
use serde::{Deserialize, Serialize};

/// Days of plans listed per campaign.
const DAYS_LISTED: u64 = 14;

fn yuan(fen: i64) -> String {
    huikuan_core::Money::from_fen(fen).to_string()
}

/// A manager may open plan `id` (a well-formed id); a refusal is audited.
async fn allow_plan(console: &Console, me: &CurrentUser, id: &str) -> Result<(), ConsoleError> {
    console
        .allow(me, Permission::ManageSchedules, "/plans")
        .await?;
    path_id("plan", id)
}

/// A plan id or account id from a path: 1-80 characters.
fn path_id(field: &'static str, id: &str) -> Result<(), ConsoleError> {
    if id.is_empty() || id.chars().count() > 80 {
        return Err(bad(field, "1-80 characters"));
    }
    Ok(())
}

#[derive(Serialize)]
struct PlanRow {
    id: String,
    day: String,
    status: &'static str,
    calls: u64,
    excluded: u64,
    skipped: u64,
    made_by: String,
    approved_by: String,
}

#[derive(Serialize)]
struct CampaignPlans {
    name: String,
    status: &'static str,
    plans: Vec<PlanRow>,
}

async fn plan_row(console: &Console, p: &PlanDay) -> Result<PlanRow, ConsoleError> {
    let store = console.store();
    let by_state = store.plan_call_counts(&p.id).await?;
    let calls = by_state.iter().map(|(_, n)| n).sum();
    let excluded = by_state
        .iter()
        .find(|(state, _)| state == PlannedCallState::Excluded.as_str())
        .map_or(0, |(_, n)| *n);
    let skipped = store
        .plan_skip_counts(&p.id)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    Ok(PlanRow {
        id: p.id.clone(),
        day: p.day.to_string(),
        status: p.status.as_str(),
        calls,
        excluded,
        skipped,
        made_by: p.made_by.clone(),
        approved_by: p.approved_by.clone().unwrap_or_default(),
    })
}

/// Campaigns with their recent days' plans.
pub(super) async fn list(
    State(console): State<Console>,
    me: CurrentUser,
) -> Result<Html<String>, ConsoleError> {
    console
        .allow(&me, Permission::ManageSchedules, "/plans")
        .await?;
    let mut campaigns = Vec::new();
    for c in console.store().list_campaigns().await? {
        let mut plans = Vec::new();
        for p in console.store().plans_of(&c.id, DAYS_LISTED).await? {
            plans.push(plan_row(&console, &p).await?);
        }
        campaigns.push(CampaignPlans {
            name: c.name,
            status: c.status.as_str(),
            plans,
        });
    }
    let mut ctx = tera::Context::new();
    ctx.insert("campaigns", &campaigns);
    console.render(&me, "plans.html", ctx)
}

/// The table's filters as the query string has them (blank: any).
#[derive(Debug, Default, Deserialize, Serialize)]
pub(super) struct CallQuery {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    dialect: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    hour: String,
    #[serde(default)]
    page: String,
}

impl CallQuery {
    /// The filter and the page (from 1), or the field that is wrong.
    fn parse(&self) -> Result<(PlanCallFilter, u64), ConsoleError> {
        let some = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
        let channel = some(&self.channel);
        if let Some(c) = &channel {
            c.parse::<Channel>().map_err(|e| bad("channel", e))?;
        }
        let dialect = some(&self.dialect);
        if let Some(d) = &dialect {
            d.parse::<Dialect>().map_err(|e| bad("dialect", e))?;
        }
        let state = some(&self.state)
            .map(|s| s.parse::<PlannedCallState>())
            .transpose()
            .map_err(|e| bad("state", e))?;
        let account = some(&self.account);
        if account.as_ref().is_some_and(|a| a.chars().count() > 64) {
            return Err(bad("account", "at most 64 characters"));
        }
        let hour = some(&self.hour)
            .map(|h| h.parse::<i32>().ok().filter(|h| (0..24).contains(h)))
            .map(|h| h.ok_or_else(|| bad("hour", "an hour 0-23")))
            .transpose()?;
        let page = page_number(&self.page)?;
        Ok((
            PlanCallFilter {
                channel,
                dialect,
                state,
                account,
                hour,
            },
            page,
        ))
    }

    /// The query string of this filter on another page.
    fn on_page(&self, page: u64) -> String {
        on_page(
            &[
                ("channel", &self.channel),
                ("dialect", &self.dialect),
                ("state", &self.state),
                ("account", &self.account),
                ("hour", &self.hour),
            ],
            page,
        )
    }
}

/// One planned call as the table shows it.
#[derive(Serialize)]
struct CallRow {
    account: String,
    phone: String,
    channel: String,
    dialect: String,
    /// In the debtor's time, with its offset.
    local: String,
    centre_hour: i32,
    priority: i32,
    expected: String,
    reasons: Vec<String>,
    state: &'static str,
}

fn call_row(c: &PlannedCallRow) -> CallRow {
    let local = c
        .time_zone
        .parse::<Tz>()
        .ok()
        .and_then(|tz| tz.timestamp_millis_opt(c.planned_at_ms).single())
        .map(|t| t.format("%H:%M (UTC%:z)").to_string())
        .unwrap_or_default();
    CallRow {
        account: c.account_id.clone(),
        phone: huikuan_core::phone::mask(&c.phone),
        channel: c.channel.clone(),
        dialect: c.dialect.clone(),
        local,
        centre_hour: c.centre_hour,
        priority: c.priority,
        expected: yuan(c.expected_fen),
        reasons: c.reasons.split("; ").map(str::to_string).collect(),
        state: c.state.as_str(),
    }
}

/// The plan's header as its pages show it.
#[derive(Serialize)]
struct PlanHead {
    id: String,
    campaign: String,
    day: String,
    status: &'static str,
    made: String,
    made_by: String,
    approved: String,
    approved_by: String,
    notes: Vec<String>,
    /// What a manager may do to it now.
    actions: Vec<&'static str>,
    editable: bool,
    centre_time_zone: String,
}

async fn head(console: &Console, plan: &PlanDay) -> Result<PlanHead, ConsoleError> {
    let campaign = console.store().get_campaign(&plan.campaign_id).await?;
    let tz = centre_tz(plan);
    Ok(PlanHead {
        id: plan.id.clone(),
        campaign: campaign.name,
        day: plan.day.to_string(),
        status: plan.status.as_str(),
        made: when(plan.made_at_ms, tz),
        made_by: plan.made_by.clone(),
        approved: plan.approved_at_ms.map(|t| when(t, tz)).unwrap_or_default(),
        approved_by: plan.approved_by.clone().unwrap_or_default(),
        notes: plan.notes.clone(),
        actions: PlanAction::ALL
            .into_iter()
            .filter(|a| plan.status.after(*a).is_ok())
            .map(PlanAction::as_str)
            .collect(),
        editable: plan.status.editable(),
        centre_time_zone: tz.name().to_string(),
    })
}

fn capacity(plan: &PlanDay) -> Option<CapacityRecord> {
    serde_json::from_str(&plan.capacity).ok()
}

/// The centre's time zone the plan's hours are in (Beijing for plans
/// made without one).
fn centre_tz(plan: &PlanDay) -> Tz {
    capacity(plan)
        .and_then(|c| c.tz.parse().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai)
}

async fn plan_page(
    console: &Console,
    me: &CurrentUser,
    plan_id: &str,
    q: &CallQuery,
    error: Option<String>,
) -> Result<Html<String>, ConsoleError> {
    let plan = console.store().plan(plan_id).await?;
    let (filter, page) = q.parse()?;
    let (calls, total) = console
        .store()
        .planned_calls(plan_id, &filter, (page - 1) * PAGE, PAGE)
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("plan", &head(console, &plan).await?);
    ctx.insert("calls", &calls.iter().map(call_row).collect::<Vec<_>>());
    pager(&mut ctx, page, total, format!("/plans/{plan_id}"), |p| {
        q.on_page(p)
    });
    ctx.insert("q", q);
    ctx.insert("skips", &console.store().plan_skip_counts(plan_id).await?);
    ctx.insert("channels", &Channel::NAMES);
    ctx.insert(
        "dialects",
        &Dialect::ALL
            .iter()
            .filter(|d| **d != Dialect::Auto)
            .map(|d| d.as_str())
            .collect::<Vec<_>>(),
    );
    ctx.insert("states", &["planned", "excluded", "done"]);
    ctx.insert("error", &error);
    console.render(me, "plan.html", ctx)
}

/// A day's plan.
pub(super) async fn page(
    State(console): State<Console>,
    me: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<CallQuery>,
) -> Result<Html<String>, ConsoleError> {
    allow_plan(&console, &me, &id).await?;
    plan_page(&console, &me, &id, &q, None).await
}

/// Planned calls per hour of the centre's day, by channel, against the
/// capacity the plan was made for (SVG).
pub(super) async fn chart(
    State(console): State<Console>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    allow_plan(&console, &me, &id).await?;
    let plan = console.store().plan(&id).await?;
    let mut planned: [[u64; 24]; 3] = [[0; 24]; 3];
    for h in console.store().plan_hours(&id).await? {
        let (Some(c), Ok(hour)) = (
            Channel::NAMES.iter().position(|c| *c == h.channel),
            usize::try_from(h.hour),
        ) else {
            continue;
        };
        if hour < 24 {
            planned[c][hour] += h.calls;
        }
    }
    let colours = [charts::BLUE_, charts::GREEN_, charts::PURPLE];
    let bars: Vec<Hourly<'_>> = Channel::NAMES
        .iter()
        .zip(colours)
        .zip(planned)
        .map(|((name, colour), values)| Hourly {
            name,
            colour,
            values,
        })
        .collect();
    let mut lines = Vec::new();
    if let Some(cap) = capacity(&plan) {
        let widen = |v: [u32; 24]| v.map(u64::from);
        let mut agents = [0u64; 24];
        for per_hour in cap.agents.values() {
            for (h, n) in per_hour.iter().enumerate() {
                agents[h] += u64::from(*n);
            }
        }
        lines.push(Hourly {
            name: "robot capacity",
            colour: charts::RED_,
            values: widen(cap.robot),
        });
        lines.push(Hourly {
            name: "agent capacity",
            colour: charts::AMBER,
            values: agents,
        });
    }
    let title = format!(
        "Planned calls per hour ({}) against capacity",
        centre_tz(&plan).name()
    );
    let svg = charts::day_by_hour(&title, "calls", &bars, &lines)
        .map_err(|e| ConsoleError::Internal(anyhow::anyhow!(e)))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// The accounts-left-off page's query: a rule (blank: all) and a page.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SkipQuery {
    #[serde(default)]
    rule: String,
    #[serde(default)]
    page: String,
}

#[derive(Serialize)]
struct SkipView {
    account: String,
    rule: String,
    why: String,
}

/// The accounts a plan left off, each with the rule that did and why,
/// 50 to a page, one rule's or all.
pub(super) async fn skipped(
    State(console): State<Console>,
    me: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<SkipQuery>,
) -> Result<Html<String>, ConsoleError> {
    allow_plan(&console, &me, &id).await?;
    let plan = console.store().plan(&id).await?;
    let counts = console.store().plan_skip_counts(&id).await?;
    let rule = Some(q.rule.trim()).filter(|r| !r.is_empty());
    if let Some(r) = rule {
        if !counts.iter().any(|(c, _)| c == r) {
            return Err(bad(
                "rule",
                format!(
                    "no account of this plan was left off by '{}'",
                    huikuan_core::truncate(r, 40)
                ),
            ));
        }
    }
    let page = page_number(&q.page)?;
    let (rows, total) = console
        .store()
        .plan_skips(&id, rule, (page - 1) * PAGE, PAGE)
        .await?;
    let link = |p: u64| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(r) = rule {
            q.append_pair("rule", r);
        }
        q.append_pair("page", &p.to_string()).finish()
    };
    let mut ctx = tera::Context::new();
    ctx.insert("plan", &head(&console, &plan).await?);
    ctx.insert("counts", &counts);
    ctx.insert("rule", &rule);
    ctx.insert(
        "skips",
        &rows
            .into_iter()
            .map(|r| SkipView {
                account: r.account_id,
                rule: r.rule,
                why: r.why,
            })
            .collect::<Vec<_>>(),
    );
    pager(&mut ctx, page, total, format!("/plans/{id}/skipped"), link);
    console.render(&me, "plan_skipped.html", ctx)
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    action: String,
    #[serde(default)]
    why: String,
}

/// Approve, pause or resume.
pub(super) async fn act(
    State(console): State<Console>,
    me: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Response, ConsoleError> {
    allow_plan(&console, &me, &id).await?;
    let done = async {
        let action: PlanAction = f.action.parse().map_err(|e| bad("action", e))?;
        console
            .store()
            .plan_action(&id, action, change(&me, &f.why))
            .await?;
        Ok::<_, ConsoleError>(())
    }
    .await;
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/plans/{id}")).into_response()),
        Err(e) => {
            let (status, message) = form_error(e)?;
            let html = plan_page(&console, &me, &id, &CallQuery::default(), Some(message)).await?;
            Ok((status, html).into_response())
        }
    }
}

/// Who makes a change and why, for the store's audit line.
fn change<'a>(me: &'a CurrentUser, why: &'a str) -> Change<'a> {
    Change {
        who: &me.user.name,
        why,
        remote: &me.remote,
    }
}

async fn planned_call(
    console: &Console,
    plan_id: &str,
    account: &str,
) -> Result<PlannedCallRow, ConsoleError> {
    console
        .store()
        .planned_call(plan_id, account)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("a planned call of {account}")))
}

/// One planned call and the changes a manager may make to it.
async fn call_page(
    console: &Console,
    me: &CurrentUser,
    plan_id: &str,
    account: &str,
    error: Option<String>,
) -> Result<Html<String>, ConsoleError> {
    let plan = console.store().plan(plan_id).await?;
    let call = planned_call(console, plan_id, account).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("plan", &head(console, &plan).await?);
    ctx.insert("call", &call_row(&call));
    ctx.insert("time_zone", &call.time_zone);
    ctx.insert("channels", &Channel::NAMES);
    ctx.insert("error", &error);
    console.render(me, "plan_call.html", ctx)
}

pub(super) async fn call(
    State(console): State<Console>,
    me: CurrentUser,
    Path((id, account)): Path<(String, String)>,
) -> Result<Html<String>, ConsoleError> {
    allow_plan(&console, &me, &id).await?;
    path_id("account", &account)?;
    call_page(&console, &me, &id, &account, None).await
}

#[derive(Deserialize)]
pub(super) struct EditForm {
    edit: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    why: String,
}

/// The store's edit from the form: `value` is the priority, the channel
/// or the new time (HH:MM in the debtor's time, on the plan's day,
/// inside the campaign's calling window).
fn edit_of(f: &EditForm, plan: &PlanDay, call: &PlannedCallRow) -> Result<PlanEdit, ConsoleError> {
    let value = f.value.trim();
    Ok(match f.edit.as_str() {
        "exclude" => PlanEdit::Exclude,
        "include" => PlanEdit::Include,
        "priority" => PlanEdit::Priority(
            value
                .parse::<i32>()
                .ok()
                .filter(|p| (-1_000_000..=1_000_000).contains(p))
                .ok_or_else(|| bad("value", "a priority is a whole number, higher first"))?,
        ),
        "channel" => PlanEdit::Channel(
            value
                .parse()
                .map_err(|e: String| bad("value", format!("the channel {e}")))?,
        ),
        "move" => {
            let t = NaiveTime::parse_from_str(value, "%H:%M")
                .map_err(|_| bad("value", "a time HH:MM in the debtor's time"))?;
            let tz: Tz = call
                .time_zone
                .parse()
                .map_err(|_| bad("value", format!("unknown time zone {}", call.time_zone)))?;
            let at = tz
                .from_local_datetime(&plan.day.and_time(t))
                .single()
                .ok_or_else(|| {
                    bad(
                        "value",
                        format!("{value} does not exist once on {} in {tz}", plan.day),
                    )
                })?
                .with_timezone(&chrono::Utc);
            let basis: PlanBasis = if plan.model.trim().is_empty() {
                PlanBasis::default()
            } else {
                serde_json::from_str(&plan.model)
                    .map_err(|e| ConsoleError::Internal(anyhow::anyhow!("plan basis: {e}")))?
            };
            basis
                .check_move(tz, plan.day, at)
                .map_err(|e| bad("value", e))?;
            PlanEdit::Move {
                at_ms: at.timestamp_millis(),
                centre_hour: at.with_timezone(&centre_tz(plan)).hour() as i32,
            }
        }
        _ => {
            return Err(bad(
                "edit",
                "one of exclude, include, priority, channel, move",
            ))
        }
    })
}

pub(super) async fn edit(
    State(console): State<Console>,
    me: CurrentUser,
    Path((id, account)): Path<(String, String)>,
    Form(f): Form<EditForm>,
) -> Result<Response, ConsoleError> {
    allow_plan(&console, &me, &id).await?;
    path_id("account", &account)?;
    let done = async {
        let plan = console.store().plan(&id).await?;
        let call = planned_call(&console, &id, &account).await?;
        let edit = edit_of(&f, &plan, &call)?;
        console
            .store()
            .edit_planned_call(&id, &account, &edit, change(&me, &f.why))
            .await?;
        Ok::<_, ConsoleError>(())
    }
    .await;
    match done {
        Ok(()) => {
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("account", &account)
                .finish();
            Ok(Redirect::to(&format!("/plans/{id}?{q}")).into_response())
        }
        Err(e) => {
            let (status, message) = form_error(e)?;
            let html = call_page(&console, &me, &id, &account, Some(message)).await?;
            Ok((status, html).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_filters_name_the_field_that_is_wrong() {
        let q = |pairs: &[(&str, &str)]| {
            let s = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            serde_urlencoded_parse(&s)
        };
        let (f, page) = q(&[("channel", "robot"), ("hour", "19"), ("page", "2")])
            .parse()
            .unwrap();
        assert_eq!(
            (f.channel.as_deref(), f.hour, page),
            (Some("robot"), Some(19), 2)
        );
        let (f, page) = q(&[("channel", ""), ("state", "")]).parse().unwrap();
        assert_eq!((f.channel, f.state, page), (None, None, 1));
        for (field, value) in [
            ("channel", "fax"),
            ("dialect", "klingon"),
            ("state", "gone"),
            ("hour", "24"),
            ("page", "0"),
        ] {
            match q(&[(field, value)]).parse() {
                Err(ConsoleError::BadInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}={value}: {other:?}"),
            }
        }
        let again = q(&[("channel", "agent"), ("account", "A 1")]).on_page(3);
        assert_eq!(again, "channel=agent&account=A+1&page=3");
    }

    fn serde_urlencoded_parse(s: &str) -> CallQuery {
        let mut q = CallQuery::default();
        for (k, v) in form_urlencoded::parse(s.as_bytes()) {
            let v = v.into_owned();
            match k.as_ref() {
                "channel" => q.channel = v,
                "dialect" => q.dialect = v,
                "state" => q.state = v,
                "account" => q.account = v,
                "hour" => q.hour = v,
                "page" => q.page = v,
                _ => {}
            }
        }
        q
    }
}
