//! Handing due attempts to dialer workers as leases: the calling window,
//! one call per contact at a time, the daily cap, and a fresh random token
//! per lease.

use super::{new_lease_token, placeholders, stmt, AgentRoom, DispatchPolicy, Lease};
use crate::entity::{account, call_attempt, campaign, contact, debt};
use crate::{Result, Store, StoreError, DEBTOR_TIME_ZONES, DEBTOR_TIME_ZONE_COLUMN};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huikuan_core::{AttemptStatus, CallingRules, Channel, Dialect, PlanStatus, Region};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter,
    TransactionTrait, Value,
};
use std::collections::HashMap;
use std::time::Duration;

struct Candidate {
    id: String,
    contact_id: String,
    time_zone: String,
    /// The plan that released it.
    plan_id: String,
    /// A dialled channel.
    channel: Channel,
}

impl Store {
    /// The time zones debtors live in: few, so the window check can be
    /// pushed into the candidate query as `time_zone IN (...)`. Cached for a
    /// few seconds; imports in this process invalidate it at once.
    async fn debtor_time_zones(&self) -> Result<Vec<String>> {
        if let Some(zones) = self.tz_cache.get() {
            return Ok(zones);
        }
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                &format!("SELECT {DEBTOR_TIME_ZONE_COLUMN} FROM {DEBTOR_TIME_ZONES}"),
                vec![],
            ))
            .await?;
        let zones = rows
            .iter()
            .map(|r| {
                r.try_get::<String>("", DEBTOR_TIME_ZONE_COLUMN)
                    .map_err(StoreError::from)
            })
            .collect::<Result<Vec<_>>>()?;
        self.tz_cache.put(zones.clone());
        Ok(zones)
    }

    /// Leases up to `max` due robot calls to `worker` for `ttl`.
    pub async fn lease_calls(
        &self,
        worker: &str,
        max: u32,
        ttl: Duration,
        now: DateTime<Utc>,
        policy: &DispatchPolicy,
    ) -> Result<Vec<Lease>> {
        self.lease_calls_with_agents(worker, max, ttl, now, policy, &AgentRoom::new())
            .await
    }

    /// Leases up to `max` due calls to `worker` for `ttl`: the agents'
    /// first, as many of each dialect as `agents` has room for, then the
    /// robot's.
    pub async fn lease_calls_with_agents(
        &self,
        worker: &str,
        max: u32,
        ttl: Duration,
        now: DateTime<Utc>,
        policy: &DispatchPolicy,
        agents: &AgentRoom,
    ) -> Result<Vec<Lease>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let rules = &policy.rules;
        let open: Vec<String> = self
            .debtor_time_zones()
            .await?
            .into_iter()
            .filter(|tz| {
                tz.parse::<Tz>()
                    .map(|tz| rules.in_window(now, tz))
                    .unwrap_or(false)
            })
            .collect();
        if open.is_empty() {
            return Ok(Vec::new());
        }
        // Only calls a plan in force released are dialled.
        let plans = Store::plans_in_force(&self.db).await?;
        if plans.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.backend();
        let now_ms = now.timestamp_millis();
        let expires = now_ms + ttl.as_millis() as i64;
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        let lock = if backend == DatabaseBackend::Postgres {
            " FOR UPDATE OF a SKIP LOCKED"
        } else {
            ""
        };
        // Due calls of `channel` (of the agents' of one dialect), best
        // first.
        let due = |channel: Channel, dialect: Option<&str>, limit: u32| {
            let (join, on) = match dialect {
                Some(_) => (
                    " JOIN planned_calls p ON p.plan_day_id = a.plan_day_id AND p.account_id = a.account_id",
                    " AND p.dialect = ?",
                ),
                None => ("", ""),
            };
            // Attempts released before channels were kept are the robot's.
            let which = match channel {
                Channel::Robot => format!(
                    "(a.plan_channel IS NULL OR a.plan_channel = '{}')",
                    Channel::Robot
                ),
                other => format!("a.plan_channel = '{other}'"),
            };
            let sql = format!(
                "SELECT a.id, a.contact_id, a.time_zone, a.plan_day_id FROM call_attempts a JOIN campaigns c ON c.id = a.campaign_id{join} \
                 WHERE a.status = '{queued}' AND a.plan_day_id IS NOT NULL AND {which}{on} AND a.not_before_ms <= ? AND c.status = 'active' \
                 AND a.time_zone IN ({}) AND a.plan_day_id IN ({}) \
                 ORDER BY a.plan_priority DESC, a.not_before_ms LIMIT ?{lock}",
                placeholders(open.len()),
                placeholders(plans.len()),
                queued = AttemptStatus::Queued.as_str(),
            );
            let mut values: Vec<Value> = dialect.map(Value::from).into_iter().collect();
            values.push(now_ms.into());
            values.extend(open.iter().map(|tz| Value::from(tz.as_str())));
            values.extend(plans.iter().map(|p| Value::from(p.as_str())));
            values.push(i64::from(limit).into());
            stmt(backend, &sql, values)
        };
        let mut wanted: Vec<(Channel, Option<&str>, u32)> = agents
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(d, n)| (Channel::Agent, Some(d.as_str()), *n))
            .collect();
        wanted.push((Channel::Robot, None, max));
        let mut candidates: Vec<Candidate> = Vec::new();
        for (channel, dialect, limit) in wanted {
            let limit = limit.min(max.saturating_sub(candidates.len() as u32));
            if limit == 0 {
                continue;
            }
            for r in txn.query_all(due(channel, dialect, limit)).await? {
                candidates.push(Candidate {
                    id: r.try_get_by_index(0)?,
                    contact_id: r.try_get_by_index(1)?,
                    time_zone: r.try_get_by_index(2)?,
                    plan_id: r.try_get_by_index(3)?,
                    channel,
                });
            }
        }

        // One attempt per contact per batch: two campaigns must not ring the
        // same phone at once. The others stay queued for the next call.
        let mut seen = std::collections::HashSet::new();
        let candidates: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| seen.insert(c.contact_id.clone()))
            .collect();

        // Count the attempt against each contact's daily cap, set-based per
        // local day (usually one), only where the contact is callable.
        let mut by_day: HashMap<String, Vec<&Candidate>> = HashMap::new();
        for c in &candidates {
            let tz: Tz = c.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
            let day = rules.local_day(now, tz).format("%Y-%m-%d").to_string();
            by_day.entry(day).or_default().push(c);
        }
        let mut counted: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (day, group) in &by_day {
            let sql = format!(
                "UPDATE contacts SET attempts_today = CASE WHEN attempts_day = ? THEN attempts_today + 1 ELSE 1 END, \
                 attempts_day = ? WHERE id IN ({}) AND dnc = ? AND (attempts_day IS NULL OR attempts_day <> ? OR attempts_today < ?) \
                 RETURNING id",
                placeholders(group.len())
            );
            let mut values: Vec<Value> = vec![day.clone().into(), day.clone().into()];
            values.extend(group.iter().map(|c| Value::from(c.contact_id.as_str())));
            values.extend([
                false.into(),
                day.clone().into(),
                (rules.daily_cap as i32).into(),
            ]);
            for r in txn.query_all(stmt(backend, &sql, values)).await? {
                counted.insert(r.try_get_by_index::<String>(0)?);
            }
        }
        let (callable, uncallable): (Vec<&Candidate>, Vec<&Candidate>) = candidates
            .iter()
            .partition(|c| counted.contains(&c.contact_id));
        for c in uncallable {
            let tz: Tz = c.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
            self.park_uncallable(&txn, c, now, tz, rules).await?;
        }

        let mut leased: Vec<(String, i64)> = Vec::with_capacity(callable.len());
        if !callable.is_empty() {
            // `+status` keeps SQLite's planner on the primary key: with the
            // status index it would scan every queued attempt.
            let status = if backend == DatabaseBackend::Sqlite {
                "+status"
            } else {
                "status"
            };
            // Each lease gets a token of its own from the operating
            // system's random source: a report must carry it, so nobody
            // can report on a lease they were not given by guessing.
            let sql = format!(
                "UPDATE call_attempts SET status = ?, lease_owner = ?, lease_token = CASE id {} END, \
                 leased_at_ms = ?, lease_expires_at_ms = ? WHERE id IN ({}) AND {status} = ? RETURNING id, lease_token",
                "WHEN ? THEN ? ".repeat(callable.len()),
                placeholders(callable.len())
            );
            let mut values: Vec<Value> = vec![AttemptStatus::Leased.as_str().into(), worker.into()];
            for c in &callable {
                values.push(c.id.as_str().into());
                values.push(new_lease_token().into());
            }
            values.extend([now_ms.into(), expires.into()]);
            values.extend(callable.iter().map(|c| Value::from(c.id.as_str())));
            values.push(AttemptStatus::Queued.as_str().into());
            for r in txn.query_all(stmt(backend, &sql, values)).await? {
                leased.push((r.try_get_by_index(0)?, r.try_get_by_index(1)?));
            }
        }
        if leased.len() < callable.len() {
            // Another process took some between our read and write: give
            // their counts back.
            let got: std::collections::HashSet<&str> =
                leased.iter().map(|(id, _)| id.as_str()).collect();
            for c in callable.iter().filter(|c| !got.contains(c.id.as_str())) {
                txn.execute(stmt(
                    backend,
                    "UPDATE contacts SET attempts_today = attempts_today - 1 WHERE id = ?",
                    vec![c.contact_id.clone().into()],
                ))
                .await?;
            }
        }
        // The plans whose first calls these are now execute.
        let got: std::collections::HashSet<&str> =
            leased.iter().map(|(id, _)| id.as_str()).collect();
        let executing: std::collections::BTreeSet<&str> = candidates
            .iter()
            .filter(|c| got.contains(c.id.as_str()))
            .map(|c| c.plan_id.as_str())
            .collect();
        if !executing.is_empty() {
            let sql = format!(
                "UPDATE plan_days SET status = ?, updated_at_ms = ? WHERE status = ? AND id IN ({})",
                placeholders(executing.len())
            );
            let mut values: Vec<Value> = vec![
                PlanStatus::Executing.as_str().into(),
                now_ms.into(),
                PlanStatus::Approved.as_str().into(),
            ];
            values.extend(executing.iter().map(|p| Value::from(*p)));
            txn.execute(stmt(backend, &sql, values)).await?;
        }
        let channels: HashMap<&str, Channel> = candidates
            .iter()
            .map(|c| (c.id.as_str(), c.channel))
            .collect();
        let leases = self
            .describe_leases(&txn, &leased, &channels, expires)
            .await?;
        txn.commit().await?;
        Ok(leases)
    }

    /// A candidate whose contact is do-not-call is cancelled; one whose
    /// contact is at today's cap waits for the next day's window.
    async fn park_uncallable(
        &self,
        txn: &DatabaseTransaction,
        c: &Candidate,
        now: DateTime<Utc>,
        tz: Tz,
        rules: &CallingRules,
    ) -> Result<()> {
        let contact = contact::Entity::find_by_id(c.contact_id.clone())
            .one(txn)
            .await?;
        let mut update =
            call_attempt::Entity::update_many().filter(call_attempt::Column::Id.eq(c.id.as_str()));
        update = match contact {
            Some(ct) if !ct.dnc => update.col_expr(
                call_attempt::Column::NotBeforeMs,
                sea_orm::sea_query::Expr::value(
                    rules.next_window_open(now, tz, true).timestamp_millis(),
                ),
            ),
            _ => update.col_expr(
                call_attempt::Column::Status,
                sea_orm::sea_query::Expr::value(AttemptStatus::Cancelled.as_str()),
            ),
        };
        update.exec(txn).await?;
        Ok(())
    }

    async fn describe_leases(
        &self,
        txn: &DatabaseTransaction,
        leased: &[(String, i64)],
        channels: &HashMap<&str, Channel>,
        expires: i64,
    ) -> Result<Vec<Lease>> {
        if leased.is_empty() {
            return Ok(Vec::new());
        }
        let attempts = call_attempt::Entity::find()
            .filter(call_attempt::Column::Id.is_in(leased.iter().map(|(id, _)| id.as_str())))
            .all(txn)
            .await?;
        let account_ids: Vec<&str> = attempts.iter().map(|a| a.account_id.as_str()).collect();
        let accounts: HashMap<String, account::Model> = account::Entity::find()
            .filter(account::Column::Id.is_in(account_ids.iter().copied()))
            .all(txn)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let contacts: HashMap<String, contact::Model> = contact::Entity::find()
            .filter(contact::Column::Id.is_in(attempts.iter().map(|a| a.contact_id.as_str())))
            .all(txn)
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let caller_ids: HashMap<String, Option<String>> = campaign::Entity::find()
            .filter(campaign::Column::Id.is_in(attempts.iter().map(|a| a.campaign_id.as_str())))
            .all(txn)
            .await?
            .into_iter()
            .map(|c| (c.id, c.caller_id))
            .collect();
        let mut debts: HashMap<String, debt::Model> = HashMap::new();
        for d in debt::Entity::find()
            .filter(crate::of_accounts(
                txn.get_database_backend(),
                debt::Column::Id,
                debt::Column::AccountId,
                account_ids,
            ))
            .all(txn)
            .await?
        {
            // Several loans: the call is about the total, due date of the oldest.
            debts
                .entry(d.account_id.clone())
                .and_modify(|acc| {
                    acc.overdue_fen += d.overdue_fen;
                    acc.days_past_due = acc.days_past_due.max(d.days_past_due);
                    if d.due_date < acc.due_date {
                        acc.due_date = d.due_date.clone();
                    }
                })
                .or_insert(d);
        }
        let tokens: HashMap<&str, i64> = leased.iter().map(|(id, t)| (id.as_str(), *t)).collect();
        let mut out = Vec::with_capacity(attempts.len());
        for a in attempts {
            let (Some(acc), Some(ct)) = (accounts.get(&a.account_id), contacts.get(&a.contact_id))
            else {
                return Err(StoreError::Conflict(format!(
                    "attempt {} refers to a missing account or contact",
                    a.id
                )));
            };
            let d = debts.get(&a.account_id);
            let stated: Dialect = acc.dialect.parse().unwrap_or(Dialect::Auto);
            let dialect = match stated {
                Dialect::Auto => Region::new(&acc.province, None, None)
                    .map(|r| r.dialect_prior())
                    .unwrap_or(Dialect::Mandarin),
                d => d,
            };
            let channel = channels
                .get(a.id.as_str())
                .copied()
                .unwrap_or(Channel::Robot);
            out.push(Lease {
                lease_token: tokens.get(a.id.as_str()).copied().unwrap_or(a.lease_token),
                attempt_id: a.id,
                expires_at_ms: expires,
                caller_id: caller_ids.get(&a.campaign_id).cloned().flatten(),
                campaign_id: a.campaign_id,
                account_id: a.account_id,
                debtor_name: acc.name.clone(),
                phone: ct.phone.clone(),
                dialect,
                time_zone: acc.time_zone.clone(),
                overdue_fen: d.map(|d| d.overdue_fen).unwrap_or(0),
                product: d.map(|d| d.product.clone()).unwrap_or_default(),
                due_date: d.map(|d| d.due_date.clone()).unwrap_or_default(),
                days_past_due: d.map(|d| d.days_past_due).unwrap_or(0),
                channel,
            });
        }
        Ok(out)
    }
}

impl Store {
    /// True when `worker` holds the lease `token` on the attempt and it has
    /// not expired at `now`: what the handoff stream checks before it
    /// queues a call for an agent.
    pub async fn holds_lease(
        &self,
        attempt_id: &str,
        worker: &str,
        token: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let Some(a) = call_attempt::Entity::find_by_id(attempt_id.to_string())
            .one(&self.db)
            .await?
        else {
            return Ok(false);
        };
        Ok(a.status == AttemptStatus::Leased.as_str()
            && a.lease_owner.as_deref() == Some(worker)
            && a.lease_token == token
            && a.lease_expires_at_ms
                .is_some_and(|t| t > now.timestamp_millis()))
    }
}
