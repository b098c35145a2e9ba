//! `huikuan dev simulate-collections`: the planner against a naive
//! dialler on a synthetic portfolio whose truth neither of them sees.
//!
//! The world: debtors in three segments whose working lives put their
//! reachable hours in different places (salaried: evenings; shift
//! workers: mornings and mid-afternoon; self-employed: midday), each with
//! a hidden hour of their own near their segment's, a hidden chance of
//! answering, of promising once reached and of keeping a promise. A call
//! at a time reaches the debtor with the hidden chance for that hour; a
//! promise falls due 1-3 days later and is kept (the overdue amount is
//! recovered and the account closes) or broken.
//!
//! Both diallers have the same lines per hour and the same hard rules
//! (08:00-21:00 in the debtor's zone, 3 attempts a day, 10 a week, no
//! call while a promise is pending). The baseline calls everyone at 09:00,
//! in account order as lines free up, and retries every 2 hours. The
//! planner sees only what a collections department sees (segments, the
//! attempts and their outcomes, promises kept and broken, balances) and
//! plans each hour again from the outcomes so far.
//!
//! Fair draws: whether a call connects, and what the debtor says, is
//! drawn from a hash of (seed, account, day, minute, purpose), so the two
//! diallers meet the same luck when they call the same person at the
//! same time.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use huikuan_planner::rules::{NumberHistory, Promise};
use huikuan_planner::{
    plan, AccountDay, CampaignRules, Capacity, ContactModel, Holidays, PastAttempt, PlanAccount,
    PlanInput, PromiseRecord, Propensity, Strategy,
};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// What a simulation is asked to do.
#[derive(Debug, Clone)]
pub struct World {
    pub days: u32,
    pub accounts: usize,
    /// Calls each dialler may start per hour.
    pub lines_per_hour: u32,
    pub seed: u64,
}

/// What one dialler achieved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub attempts: u64,
    pub right_party: u64,
    pub promises: u64,
    pub promised_fen: i64,
    pub kept: u64,
    pub recovered_fen: i64,
}

impl Tally {
    pub fn right_party_per_attempt(&self) -> f64 {
        self.right_party as f64 / self.attempts.max(1) as f64
    }
    pub fn recovered_per_attempt(&self) -> f64 {
        self.recovered_fen as f64 / self.attempts.max(1) as f64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub planner: Tally,
    pub baseline: Tally,
}

impl Report {
    /// Right-party contacts per attempt, planner over baseline.
    pub fn right_party_ratio(&self) -> f64 {
        self.planner.right_party_per_attempt() / self.baseline.right_party_per_attempt().max(1e-12)
    }
    /// Amount recovered per attempt, planner over baseline.
    pub fn recovered_ratio(&self) -> f64 {
        self.planner.recovered_per_attempt() / self.baseline.recovered_per_attempt().max(1e-12)
    }
}

const SEGMENTS: [(&str, u32); 3] = [("salaried", 19), ("shift", 9), ("self_employed", 13)];
const START: &str = "2026-11-02";
const CENTRE: Tz = chrono_tz::Asia::Shanghai;

/// One debtor's hidden truth.
#[derive(Debug, Clone)]
struct Debtor {
    id: String,
    segment: &'static str,
    tz: Tz,
    overdue_fen: i64,
    peak: f64,
    reach: f64,
    promise_p: f64,
    keep_p: f64,
}

impl Debtor {
    /// The chance a call at local `hour` reaches the debtor.
    fn reach_at(&self, hour: u32) -> f64 {
        let d = f64::from(hour) - self.peak;
        self.reach * (0.15 + 0.85 * (-(d * d) / (2.0 * 1.5 * 1.5)).exp())
    }
}

/// What each dialler knows of one account and what became of it.
#[derive(Debug, Clone, Default)]
struct Ledger {
    attempts: Vec<DateTime<Utc>>,
    own_hours: [(u32, u32); 24],
    promise: Option<(NaiveDate, i64)>,
    record: PromiseRecord,
    last_broken: Option<NaiveDate>,
    closed: bool,
}

fn portfolio(world: &World) -> Vec<Debtor> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(world.seed);
    (0..world.accounts)
        .map(|i| {
            let (segment, peak) = SEGMENTS[rng.random_range(0..SEGMENTS.len())];
            let tz = if rng.random_bool(0.1) {
                chrono_tz::Asia::Urumqi
            } else {
                CENTRE
            };
            Debtor {
                id: format!("S{i:06}"),
                segment,
                tz,
                // 500 to 50,000 yuan, spread evenly on a log scale.
                overdue_fen: (50_000.0 * 100f64.powf(rng.random::<f64>())) as i64,
                peak: f64::from(peak) + rng.random_range(-1.5..1.5),
                reach: rng.random_range(0.15..0.7),
                promise_p: rng.random_range(0.2..0.8),
                keep_p: rng.random_range(0.2..0.95),
            }
        })
        .collect()
}

/// A uniform draw in [0, 1) fixed by the seed and the situation.
fn draw(seed: u64, account: usize, at: DateTime<Utc>, purpose: u64) -> f64 {
    // SplitMix64 over the mixed inputs.
    let mut x = seed
        ^ (account as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (at.timestamp() as u64 / 60).wrapping_mul(0xBF58_476D_1CE4_E5B9)
        ^ purpose.wrapping_mul(0x94D0_49BB_1331_11EB);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Both diallers' shared rules of the world.
struct Sim<'a> {
    world: &'a World,
    debtors: &'a [Debtor],
    rules: CampaignRules,
}

impl Sim<'_> {
    /// Makes a call: its outcome into the ledger and the tally.
    fn call(&self, i: usize, at: DateTime<Utc>, ledger: &mut Ledger, tally: &mut Tally) {
        let d = &self.debtors[i];
        let hour = at.with_timezone(&d.tz).hour();
        ledger.attempts.push(at);
        tally.attempts += 1;
        let own = &mut ledger.own_hours[hour as usize];
        own.0 += 1;
        if draw(self.world.seed, i, at, 1) >= d.reach_at(hour) {
            return;
        }
        own.1 += 1;
        tally.right_party += 1;
        if draw(self.world.seed, i, at, 2) < d.promise_p {
            let days = 1 + (draw(self.world.seed, i, at, 3) * 3.0) as i64;
            let date = at.with_timezone(&d.tz).date_naive() + Duration::days(days);
            ledger.promise = Some((date, d.overdue_fen));
            tally.promises += 1;
            tally.promised_fen += d.overdue_fen;
        }
    }

    /// Promises due by the start of `day` are kept or broken.
    fn settle(&self, day: NaiveDate, ledgers: &mut [Ledger], tally: &mut Tally) {
        for (i, l) in ledgers.iter_mut().enumerate() {
            let Some((date, fen)) = l.promise else {
                continue;
            };
            if date >= day {
                continue;
            }
            l.promise = None;
            let when = Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN));
            if draw(self.world.seed, i, when, 4) < self.debtors[i].keep_p {
                l.record.kept += 1;
                l.closed = true;
                tally.kept += 1;
                tally.recovered_fen += fen;
            } else {
                l.record.broken += 1;
                l.last_broken = Some(date);
            }
        }
    }

    /// Whether the hard rules let `i` be called at `at`.
    fn allowed(&self, i: usize, at: DateTime<Utc>, l: &Ledger) -> bool {
        let d = &self.debtors[i];
        let local = at.with_timezone(&d.tz);
        let day = local.date_naive();
        if l.closed
            || local.time() < self.rules.window_start
            || local.time() >= self.rules.window_end
            || l.promise.is_some()
        {
            return false;
        }
        let day_from =
            d.tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
                .earliest()
                .map_or(at, |t| t.with_timezone(&Utc));
        let today = l.attempts.iter().filter(|t| **t >= day_from).count() as u32;
        let week = l
            .attempts
            .iter()
            .filter(|t| **t >= day_from - Duration::days(6))
            .count() as u32;
        let gap_ok = l
            .attempts
            .last()
            .is_none_or(|t| at - *t >= Duration::minutes(i64::from(self.rules.min_gap_minutes)));
        today < self.rules.attempts_per_day && week < self.rules.attempts_per_week && gap_ok
    }

    fn hours(&self, day: NaiveDate) -> impl Iterator<Item = DateTime<Utc>> {
        (0..24).filter_map(move |h| {
            CENTRE
                .from_local_datetime(&day.and_hms_opt(h, 0, 0)?)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        })
    }

    /// Everyone at 09:00 local in account order, as lines free up; those
    /// not reached again every 2 hours.
    fn baseline_day(&self, day: NaiveDate, ledgers: &mut [Ledger], tally: &mut Tally) {
        // The time each account is next due today.
        let mut due: Vec<Option<DateTime<Utc>>> = self
            .debtors
            .iter()
            .map(|d| {
                d.tz.from_local_datetime(&day.and_hms_opt(9, 0, 0).expect("09:00"))
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            })
            .collect();
        for hour in self.hours(day) {
            let end = hour + Duration::hours(1);
            let mut lines = self.world.lines_per_hour;
            for i in 0..self.debtors.len() {
                if lines == 0 {
                    break;
                }
                let Some(at) = due[i].filter(|t| *t < end) else {
                    continue;
                };
                let at = at.max(hour);
                if !self.allowed(i, at, &ledgers[i]) {
                    continue;
                }
                lines -= 1;
                let before = tally.right_party;
                self.call(i, at, &mut ledgers[i], tally);
                due[i] = (tally.right_party == before).then_some(at + Duration::hours(2));
            }
        }
    }

    /// The planner's day: each hour, plan the rest of the day from what is
    /// known and make the calls planned in that hour.
    fn planner_day(&self, day: NaiveDate, ledgers: &mut [Ledger], tally: &mut Tally) {
        let holidays = Holidays::parse("years = [2026, 2027]").expect("an empty calendar");
        let strategy =
            Strategy::parse("[[rule]]\nname = \"robot for everyone\"\nchannel = \"robot\"\n")
                .expect("a one-rule strategy");
        let mut capacity = Capacity {
            tz: CENTRE,
            robot: [0; 24],
            agents: BTreeMap::new(),
            specialist: [0; 24],
        };
        for hour in self.hours(day) {
            let end = hour + Duration::hours(1);
            let h = hour.with_timezone(&CENTRE).hour() as usize;
            capacity.robot = [0; 24];
            // What is left of the day's lines: this hour's and later ones.
            for later in h..24 {
                capacity.robot[later] = self.world.lines_per_hour;
            }
            let (model, propensity) = self.learn(ledgers);
            let open: Vec<usize> = (0..self.debtors.len())
                .filter(|i| !ledgers[*i].closed)
                .collect();
            let accounts: Vec<PlanAccount> = open
                .iter()
                .map(|i| self.plan_account(*i, &ledgers[*i], &propensity))
                .collect();
            let p = plan(
                &PlanInput {
                    day,
                    now: hour,
                    rules: &self.rules,
                    holidays: &holidays,
                    strategy: &strategy,
                    model: &model,
                    capacity: &capacity,
                },
                &accounts,
            );
            for c in p.calls.iter().filter(|c| c.at < end) {
                let i = self.index(&c.account_id);
                self.call(i, c.at, &mut ledgers[i], tally);
            }
        }
    }

    fn index(&self, id: &str) -> usize {
        id.trim_start_matches('S').parse().unwrap_or(0)
    }

    fn learn(&self, ledgers: &[Ledger]) -> (ContactModel, Propensity) {
        let mut past = Vec::new();
        for (d, l) in self.debtors.iter().zip(ledgers) {
            for (hour, (attempts, contacts)) in l.own_hours.iter().enumerate() {
                for k in 0..*attempts {
                    // The simulated world has no weekday effect: its
                    // ledger keeps hours only.
                    past.push(PastAttempt {
                        segment: d.segment.to_string(),
                        local_hour: hour as u8,
                        right_party: k < *contacts,
                        weekend: false,
                    });
                }
            }
        }
        let model = ContactModel::learn(&past);
        let propensity = Propensity::learn(
            self.debtors
                .iter()
                .zip(ledgers)
                .map(|(d, l)| (d.segment, l.record)),
        );
        (model, propensity)
    }

    fn plan_account(&self, i: usize, l: &Ledger, propensity: &Propensity) -> PlanAccount {
        let d = &self.debtors[i];
        PlanAccount {
            day: AccountDay {
                account_id: d.id.clone(),
                tz: d.tz,
                numbers: vec![NumberHistory {
                    contact_id: d.id.clone(),
                    dnc: false,
                    attempts: l.attempts.clone(),
                }],
                promise: match (l.promise, l.last_broken) {
                    (Some((date, _)), _) => Some(Promise::Pending { date }),
                    (None, Some(date)) => Some(Promise::Broken { date }),
                    (None, None) => None,
                },
                complaint_hold_until: None,
                callback_at: None,
            },
            segment: d.segment.to_string(),
            dialect: "mandarin".into(),
            overdue_fen: d.overdue_fen,
            days_past_due: 30,
            broken_promises: l.record.broken,
            hardship: false,
            payment_propensity: propensity.of(d.segment, l.record),
            own_hours: l.own_hours,
        }
    }
}

/// Runs both diallers over the same world.
pub fn simulate(world: &World, progress: &ProgressBar) -> Report {
    let debtors = portfolio(world);
    let sim = Sim {
        world,
        debtors: &debtors,
        rules: CampaignRules {
            // The promise is kept off the phone until it falls due, then
            // followed up at once (the baseline does the same).
            promise_grace_days: 0,
            skip_holidays: false,
            ..CampaignRules::default()
        },
    };
    let start: NaiveDate = START.parse().expect("a date");
    let mut planner = (vec![Ledger::default(); debtors.len()], Tally::default());
    let mut baseline = (vec![Ledger::default(); debtors.len()], Tally::default());
    for day in (0..world.days).map(|d| start + Duration::days(i64::from(d))) {
        sim.settle(day, &mut planner.0, &mut planner.1);
        sim.settle(day, &mut baseline.0, &mut baseline.1);
        sim.planner_day(day, &mut planner.0, &mut planner.1);
        sim.baseline_day(day, &mut baseline.0, &mut baseline.1);
        progress.inc(1);
    }
    // Promises still pending at the end are counted when due.
    let after = start + Duration::days(i64::from(world.days) + 4);
    sim.settle(after, &mut planner.0, &mut planner.1);
    sim.settle(after, &mut baseline.0, &mut baseline.1);
    Report {
        planner: planner.1,
        baseline: baseline.1,
    }
}

/// The command: runs the simulation with a progress bar and prints the
/// figures and the ratios.
pub fn run(world: World) -> anyhow::Result<std::process::ExitCode> {
    let progress = ProgressBar::new(u64::from(world.days));
    progress.set_style(
        ProgressStyle::with_template("simulating {pos}/{len} days {bar:30} {elapsed}")
            .map_err(|e| anyhow::anyhow!("progress style: {e}"))?,
    );
    let started = std::time::Instant::now();
    let report = simulate(&world, &progress);
    progress.finish_and_clear();
    let row = |name: &str, t: &Tally| {
        println!(
            "{name:<9} attempts {:>7}  right-party {:>6} ({:.3}/attempt)  promises {:>5} ({:.0} yuan)  kept {:>5}  recovered {:.0} yuan ({:.2} yuan/attempt)",
            t.attempts,
            t.right_party,
            t.right_party_per_attempt(),
            t.promises,
            t.promised_fen as f64 / 100.0,
            t.kept,
            t.recovered_fen as f64 / 100.0,
            t.recovered_per_attempt() / 100.0,
        )
    };
    println!(
        "{} accounts, {} days, {} lines per hour, seed {} ({:.1} s)",
        world.accounts,
        world.days,
        world.lines_per_hour,
        world.seed,
        started.elapsed().as_secs_f64()
    );
    row("planner", &report.planner);
    row("baseline", &report.baseline);
    println!(
        "right-party contacts per attempt: x{:.2}  amount recovered per attempt: x{:.2}  amount recovered: x{:.2}",
        report.right_party_ratio(),
        report.recovered_ratio(),
        report.planner.recovered_fen as f64 / report.baseline.recovered_fen.max(1) as f64,
    );
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_planner_reaches_more_debtors_per_attempt_and_recovers_more_than_the_baseline() {
        let world = World {
            days: 8,
            accounts: 400,
            lines_per_hour: 12,
            seed: 7,
        };
        let r = simulate(&world, &ProgressBar::hidden());
        assert!(r.planner.attempts > 0 && r.baseline.attempts > 0, "{r:?}");
        assert!(r.right_party_ratio() > 1.0, "{r:?}");
        assert!(r.recovered_ratio() > 1.0, "{r:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_figures_and_another_seed_others() {
        let world = World {
            days: 3,
            accounts: 100,
            lines_per_hour: 5,
            seed: 1,
        };
        let a = simulate(&world, &ProgressBar::hidden());
        let b = simulate(&world, &ProgressBar::hidden());
        assert_eq!(a, b);
        let c = simulate(&World { seed: 2, ..world }, &ProgressBar::hidden());
        assert_ne!(a, c);
    }
}
