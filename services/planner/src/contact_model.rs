//! How likely a call reaches the right person, by segment and local hour,
//! learned from past attempts.
//!
//! Problem: the planner must pick each debtor's best hour, but most
//! segments have few attempts at most hours, and an hour tried twice and
//! answered once is not a 50% hour.
//!
//! Mechanism: counts of attempts and right-party contacts per (segment,
//! hour), per hour over all segments, and overall. An estimate is shrunk
//! towards the level above it, as if [`PRIOR_WEIGHT`] attempts had been
//! seen there at that level's rate (a beta prior): segment-hour towards
//! the hour over all segments, the hour towards the overall rate, the
//! overall rate towards [`FLOOR_RATE`] when there is no history at all.
//! One account's own history refines its segment's estimate the same way.
//! Weekdays and weekends differ (people are at work, or not): the counts
//! are also kept per (segment, day kind, hour), and an estimate for a day
//! kind is shrunk towards its segment-hour estimate over all days.
//!
//! Guarantees: deterministic; every estimate lies strictly between 0 and
//! 1; with no history it is the floor rate; with many attempts it tends to
//! the observed rate; each estimate carries the counts it rests on, for
//! the plan's reasons.

use std::collections::BTreeMap;

/// Pseudo-attempts the level above is worth.
pub const PRIOR_WEIGHT: f64 = 10.0;
/// The rate assumed before any history: a cautious right-party rate.
pub const FLOOR_RATE: f64 = 0.15;

/// One past attempt, as the model learns from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastAttempt {
    pub segment: String,
    /// The debtor's local hour the attempt started in (0-23).
    pub local_hour: u8,
    pub right_party: bool,
    /// Made on a Saturday or Sunday in the debtor's time.
    pub weekend: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Count {
    attempts: u32,
    contacts: u32,
}

impl Count {
    fn add(&mut self, right_party: bool) {
        self.attempts += 1;
        self.contacts += u32::from(right_party);
    }

    /// The rate shrunk towards `prior`.
    fn shrunk(self, prior: f64) -> f64 {
        (f64::from(self.contacts) + PRIOR_WEIGHT * prior)
            / (f64::from(self.attempts) + PRIOR_WEIGHT)
    }
}

/// A right-party-contact probability and what it rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub p: f64,
    /// Attempts and contacts at this hour in the segment (or the account).
    pub attempts: u32,
    pub contacts: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactModel {
    /// By segment, then local hour.
    by_segment_hour: BTreeMap<String, [Count; 24]>,
    /// By segment, then day kind (weekday, weekend), then local hour.
    by_segment_day_hour: BTreeMap<String, [[Count; 24]; 2]>,
    by_hour: [Count; 24],
    overall: Count,
}

impl ContactModel {
    /// Learns from past attempts (an hour above 23 is ignored).
    pub fn learn<'a>(history: impl IntoIterator<Item = &'a PastAttempt>) -> ContactModel {
        let mut m = ContactModel::default();
        for a in history {
            let Some(hour) = m.by_hour.get_mut(usize::from(a.local_hour)) else {
                continue;
            };
            hour.add(a.right_party);
            m.overall.add(a.right_party);
            let h = usize::from(a.local_hour);
            match m.by_segment_hour.get_mut(a.segment.as_str()) {
                Some(hours) => hours[h].add(a.right_party),
                None => {
                    let mut hours = [Count::default(); 24];
                    hours[h].add(a.right_party);
                    m.by_segment_hour.insert(a.segment.clone(), hours);
                }
            }
            let day = usize::from(a.weekend);
            match m.by_segment_day_hour.get_mut(a.segment.as_str()) {
                Some(days) => days[day][h].add(a.right_party),
                None => {
                    let mut days = [[Count::default(); 24]; 2];
                    days[day][h].add(a.right_party);
                    m.by_segment_day_hour.insert(a.segment.clone(), days);
                }
            }
        }
        m
    }

    /// The counts the model rests on, per segment and hour: (segment,
    /// hour, attempts, right-party contacts). [`ContactModel::from_counts`]
    /// gives the same model back, so a plan can keep the model it was made
    /// with and re-plan with it later.
    pub fn counts(&self) -> Vec<(String, u8, u32, u32)> {
        self.by_segment_hour
            .iter()
            .flat_map(|(s, hours)| {
                (0u8..)
                    .zip(hours)
                    .filter(|(_, c)| **c != Count::default())
                    .map(|(h, c)| (s.clone(), h, c.attempts, c.contacts))
            })
            .collect()
    }

    /// The counts per segment, day kind and hour: (segment, weekend,
    /// hour, attempts, right-party contacts); [`ContactModel::with_day_counts`]
    /// puts them back.
    pub fn day_counts(&self) -> Vec<(String, bool, u8, u32, u32)> {
        let mut out = Vec::new();
        for (s, days) in &self.by_segment_day_hour {
            for (weekend, hours) in [false, true].into_iter().zip(days) {
                for (h, c) in (0u8..).zip(hours) {
                    if *c != Count::default() {
                        out.push((s.clone(), weekend, h, c.attempts, c.contacts));
                    }
                }
            }
        }
        out
    }

    /// This model with these counts per day kind (an hour above 23 is
    /// ignored). A model kept before day kinds were counted has none: its
    /// estimates are the same whatever the day.
    pub fn with_day_counts(
        mut self,
        counts: impl IntoIterator<Item = (String, bool, u8, u32, u32)>,
    ) -> ContactModel {
        for (segment, weekend, hour, attempts, contacts) in counts {
            if hour > 23 {
                continue;
            }
            let c = &mut self
                .by_segment_day_hour
                .entry(segment)
                .or_insert([[Count::default(); 24]; 2])[usize::from(weekend)][usize::from(hour)];
            c.attempts += attempts;
            c.contacts += contacts.min(attempts);
        }
        self
    }

    /// The model of these counts (an hour above 23 is ignored).
    pub fn from_counts(counts: impl IntoIterator<Item = (String, u8, u32, u32)>) -> ContactModel {
        let mut m = ContactModel::default();
        for (segment, hour, attempts, contacts) in counts {
            let Some(h) = m.by_hour.get_mut(usize::from(hour)) else {
                continue;
            };
            let contacts = contacts.min(attempts);
            for c in [&mut *h, &mut m.overall] {
                c.attempts += attempts;
                c.contacts += contacts;
            }
            let c = &mut m
                .by_segment_hour
                .entry(segment)
                .or_insert([Count::default(); 24])[usize::from(hour)];
            c.attempts += attempts;
            c.contacts += contacts;
        }
        m
    }

    fn hour_rate(&self, hour: u8) -> f64 {
        let overall = self.overall.shrunk(FLOOR_RATE);
        self.by_hour
            .get(usize::from(hour))
            .map_or(overall, |c| c.shrunk(overall))
    }

    /// The chance a call in `segment` at local `hour` reaches the right
    /// person.
    pub fn estimate(&self, segment: &str, hour: u8) -> Estimate {
        let c = self
            .by_segment_hour
            .get(segment)
            .and_then(|hours| hours.get(usize::from(hour)))
            .copied()
            .unwrap_or_default();
        Estimate {
            p: c.shrunk(self.hour_rate(hour)),
            attempts: c.attempts,
            contacts: c.contacts,
        }
    }

    /// The same on a weekday or a weekend: that day kind's counts, shrunk
    /// towards the estimate over all days.
    pub fn estimate_on(&self, segment: &str, hour: u8, weekend: bool) -> Estimate {
        let c = self
            .by_segment_day_hour
            .get(segment)
            .and_then(|days| days[usize::from(weekend)].get(usize::from(hour)))
            .copied()
            .unwrap_or_default();
        Estimate {
            p: c.shrunk(self.estimate(segment, hour).p),
            attempts: c.attempts,
            contacts: c.contacts,
        }
    }

    /// The same for one account on a day kind, refined by its own attempts
    /// at that hour (`own`: its attempts there, how many reached the
    /// debtor).
    pub fn for_account(&self, segment: &str, hour: u8, weekend: bool, own: (u32, u32)) -> Estimate {
        ContactModel::refined(self.estimate_on(segment, hour, weekend).p, own)
    }

    /// [`ContactModel::estimate_on`]'s chance at each hour of the day: an
    /// account's priors, before its own attempts.
    pub fn priors_on(&self, segment: &str, weekend: bool) -> [f64; 24] {
        std::array::from_fn(|hour| self.estimate_on(segment, hour as u8, weekend).p)
    }

    /// An account's own attempts at an hour (`own`: attempts, how many
    /// reached the debtor), shrunk towards `prior`.
    pub fn refined(prior: f64, own: (u32, u32)) -> Estimate {
        let c = Count {
            attempts: own.0,
            contacts: own.1.min(own.0),
        };
        Estimate {
            p: c.shrunk(prior),
            attempts: c.attempts,
            contacts: c.contacts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempts(segment: &str, hour: u8, n: u32, answered: u32) -> Vec<PastAttempt> {
        (0..n)
            .map(|i| PastAttempt {
                segment: segment.into(),
                local_hour: hour,
                right_party: i < answered,
                weekend: false,
            })
            .collect()
    }

    #[test]
    fn a_model_is_the_same_when_rebuilt_from_its_counts() {
        let mut h = attempts("early", 19, 40, 22);
        h.extend(attempts("late", 9, 7, 1));
        h.extend(attempts("late", 25, 7, 1));
        h.extend(
            attempts("early", 19, 5, 4)
                .into_iter()
                .map(|a| PastAttempt { weekend: true, ..a }),
        );
        let m = ContactModel::learn(&h);
        assert_eq!(
            ContactModel::from_counts(m.counts()).with_day_counts(m.day_counts()),
            m
        );
    }

    #[test]
    fn weekends_differ_from_weekdays_as_far_as_their_counts_show() {
        // Reached at 10:00 on weekends, hardly ever on weekdays.
        let mut h = attempts("early", 10, 300, 15);
        h.extend(
            attempts("early", 10, 100, 70)
                .into_iter()
                .map(|a| PastAttempt { weekend: true, ..a }),
        );
        let m = ContactModel::learn(&h);
        let all = m.estimate("early", 10);
        let weekday = m.estimate_on("early", 10, false);
        let weekend = m.estimate_on("early", 10, true);
        assert_eq!((weekend.attempts, weekend.contacts), (100, 70));
        assert!(
            weekday.p < all.p && all.p < weekend.p,
            "{weekday:?} {all:?} {weekend:?}"
        );
        assert!((weekend.p - 0.7).abs() < 0.05, "{weekend:?}");
        assert!((weekday.p - 0.05).abs() < 0.05, "{weekday:?}");
        // No day counts (a model kept before they were): every day alike.
        let old = ContactModel::from_counts(m.counts());
        assert_eq!(
            old.estimate_on("early", 10, true).p,
            old.estimate_on("early", 10, false).p
        );
        assert!((old.estimate_on("early", 10, true).p - all.p).abs() < 1e-12);
    }

    #[test]
    fn with_no_history_every_hour_is_the_floor_rate() {
        let m = ContactModel::learn(&[]);
        for h in 0..24 {
            assert!((m.estimate("early", h).p - FLOOR_RATE).abs() < 1e-12);
        }
    }

    #[test]
    fn sparse_hours_are_shrunk_and_rich_ones_follow_the_data() {
        let mut h = attempts("early", 19, 200, 120); // 60% at 19:00
        h.extend(attempts("early", 10, 200, 20)); // 10% at 10:00
        h.extend(attempts("early", 14, 2, 1)); // 1 of 2 at 14:00
        let m = ContactModel::learn(&h);
        let at19 = m.estimate("early", 19);
        assert!((at19.p - 0.6).abs() < 0.02, "{at19:?}");
        assert_eq!((at19.attempts, at19.contacts), (200, 120));
        assert!((m.estimate("early", 10).p - 0.1).abs() < 0.02);
        // Two attempts, one answered: nowhere near 50%, near the overall.
        let at14 = m.estimate("early", 14).p;
        let overall = 141.0 / 402.0;
        assert!((at14 - overall).abs() < 0.1 && at14 < 0.45, "{at14}");
        // A segment never seen borrows the hour over all segments.
        assert!(m.estimate("late", 19).p > m.estimate("late", 10).p);
        for hour in 0..24 {
            let p = m.estimate("late", hour).p;
            assert!(p > 0.0 && p < 1.0);
        }
    }

    #[test]
    fn an_accounts_own_answers_move_its_estimate() {
        let m = ContactModel::learn(&attempts("early", 19, 100, 30));
        let segment = m.estimate_on("early", 19, false).p;
        let never = m.for_account("early", 19, false, (6, 0)).p;
        let always = m.for_account("early", 19, false, (6, 6)).p;
        assert!(
            never < segment && segment < always,
            "{never} {segment} {always}"
        );
        assert!((m.for_account("early", 19, false, (0, 0)).p - segment).abs() < 1e-12);
        // More contacts than attempts (bad data) counts as all answered.
        assert_eq!(m.for_account("early", 19, false, (2, 5)).contacts, 2);
    }

    #[test]
    fn learning_is_deterministic_and_ignores_impossible_hours() {
        let mut h = attempts("a", 9, 10, 3);
        h.push(PastAttempt {
            segment: "a".into(),
            local_hour: 24,
            right_party: true,
            weekend: false,
        });
        assert_eq!(ContactModel::learn(&h), ContactModel::learn(&h[..10]));
    }
}
