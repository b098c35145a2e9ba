//! How likely a debtor pays once reached, from promises kept and broken.
//!
//! The segment's record (promises kept out of promises due, over all its
//! accounts) is the prior, itself shrunk towards [`DEFAULT_RATE`] when the
//! segment has little history; one account's own promises refine it, as
//! if [`PRIOR_WEIGHT`] promises had been seen at the prior's rate. An
//! account with no promises due is its segment's rate.

use std::collections::BTreeMap;

/// Promises the level above is worth.
pub const PRIOR_WEIGHT: f64 = 4.0;
/// Kept share assumed before any history.
pub const DEFAULT_RATE: f64 = 0.5;

/// One account's promises that came due.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PromiseRecord {
    pub kept: u32,
    pub broken: u32,
}

impl PromiseRecord {
    fn shrunk(self, prior: f64) -> f64 {
        (f64::from(self.kept) + PRIOR_WEIGHT * prior)
            / (f64::from(self.kept + self.broken) + PRIOR_WEIGHT)
    }
}

/// Kept shares by segment, learned from accounts' records.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Propensity {
    by_segment: BTreeMap<String, PromiseRecord>,
}

impl Propensity {
    pub fn learn<'a>(records: impl IntoIterator<Item = (&'a str, PromiseRecord)>) -> Propensity {
        let mut by_segment: BTreeMap<String, PromiseRecord> = BTreeMap::new();
        for (segment, r) in records {
            let s = by_segment.entry(segment.to_string()).or_default();
            s.kept += r.kept;
            s.broken += r.broken;
        }
        Propensity { by_segment }
    }

    /// The chance an account of `segment` with `own` record pays once
    /// reached: strictly between 0 and 1.
    pub fn of(&self, segment: &str, own: PromiseRecord) -> f64 {
        let prior = self
            .by_segment
            .get(segment)
            .copied()
            .unwrap_or_default()
            .shrunk(DEFAULT_RATE);
        own.shrunk(prior)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kept: u32, broken: u32) -> PromiseRecord {
        PromiseRecord { kept, broken }
    }

    #[test]
    fn an_account_without_history_is_its_segments_rate() {
        let p = Propensity::learn([("early", r(80, 20)), ("late", r(10, 90))]);
        let early = p.of("early", r(0, 0));
        let late = p.of("late", r(0, 0));
        assert!((early - 0.79).abs() < 0.02, "{early}");
        assert!((late - 0.12).abs() < 0.02, "{late}");
        assert!((p.of("unknown", r(0, 0)) - DEFAULT_RATE).abs() < 1e-12);
    }

    #[test]
    fn broken_promises_lower_it_and_kept_ones_raise_it_never_to_the_ends() {
        let p = Propensity::learn([("early", r(50, 50))]);
        let base = p.of("early", r(0, 0));
        let broke_twice = p.of("early", r(0, 2));
        let kept_twice = p.of("early", r(2, 0));
        assert!(broke_twice < base && base < kept_twice);
        let always_broke = p.of("early", r(0, 1000));
        let always_kept = p.of("early", r(1000, 0));
        assert!(always_broke > 0.0 && always_kept < 1.0);
    }
}
