//! What a plan was made on, kept beside it: the campaign's rules, the
//! contact model's counts and the payment propensity. Re-planning an
//! account later uses the same models; a manager's move of a call is
//! checked against the same rules ([`PlanBasis::check_move`]).

use crate::rules::{CampaignRules, EARLIEST, LATEST};
use crate::{ContactModel, Propensity};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanBasis {
    pub rules: CampaignRules,
    /// (segment, local hour, attempts, right-party contacts).
    pub contact: Vec<(String, u8, u32, u32)>,
    /// (segment, weekend, local hour, attempts, right-party contacts);
    /// plans kept before day kinds were counted have none.
    #[serde(default)]
    pub contact_by_day: Vec<(String, bool, u8, u32, u32)>,
    pub propensity: Propensity,
}

impl PlanBasis {
    pub fn new(rules: &CampaignRules, model: &ContactModel, propensity: Propensity) -> Self {
        PlanBasis {
            rules: rules.clone(),
            contact: model.counts(),
            contact_by_day: model.day_counts(),
            propensity,
        }
    }

    pub fn model(&self) -> ContactModel {
        ContactModel::from_counts(self.contact.iter().cloned())
            .with_day_counts(self.contact_by_day.iter().cloned())
    }

    /// Whether a call to a debtor in `tz` may be moved to `at` on the
    /// plan's `day`: on that local day, inside the campaign's window and
    /// never 22:00-08:00. The why names the rule.
    pub fn check_move(&self, tz: Tz, day: NaiveDate, at: DateTime<Utc>) -> Result<(), String> {
        let (rules, _) = self.rules.effective();
        let local = at.with_timezone(&tz);
        if local.date_naive() != day {
            return Err(format!(
                "{} is not on the plan's day {day} in the debtor's time ({tz})",
                local.format("%Y-%m-%d %H:%M")
            ));
        }
        let t = local.time();
        if t < EARLIEST.max(rules.window_start) || t >= LATEST.min(rules.window_end) {
            return Err(format!(
                "{} is outside the calling window {}-{} in the debtor's time ({tz})",
                local.format("%H:%M"),
                rules.window_start.format("%H:%M"),
                rules.window_end.format("%H:%M")
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_move_stays_on_the_day_and_inside_the_window_in_the_debtors_time() {
        let b = PlanBasis::default();
        let day: NaiveDate = "2026-12-09".parse().unwrap();
        let urumqi = chrono_tz::Asia::Urumqi; // UTC+6
        let at = |h, m| {
            urumqi
                .with_ymd_and_hms(2026, 12, 9, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert!(b.check_move(urumqi, day, at(15, 30)).is_ok());
        assert!(b
            .check_move(urumqi, day, at(7, 59))
            .unwrap_err()
            .contains("window"));
        assert!(b
            .check_move(urumqi, day, at(21, 0))
            .unwrap_err()
            .contains("window"));
        let next = urumqi.with_ymd_and_hms(2026, 12, 10, 10, 0, 0).unwrap();
        assert!(b
            .check_move(urumqi, day, next.with_timezone(&Utc))
            .unwrap_err()
            .contains("not on the plan's day"));
        // 22:00 is never a calling time, whatever the campaign says.
        let late = PlanBasis {
            rules: CampaignRules {
                window_end: chrono::NaiveTime::from_hms_opt(23, 30, 0).unwrap(),
                ..CampaignRules::default()
            },
            ..PlanBasis::default()
        };
        assert!(late.check_move(urumqi, day, at(21, 30)).is_ok());
        assert!(late.check_move(urumqi, day, at(22, 0)).is_err());
    }

    #[test]
    fn a_basis_reads_back_what_was_written() {
        let b = PlanBasis {
            contact: vec![("early".into(), 19, 14, 9)],
            ..PlanBasis::default()
        };
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<PlanBasis>(&json).unwrap(), b);
        assert_eq!(b.model().estimate("early", 19).attempts, 14);
    }
}
