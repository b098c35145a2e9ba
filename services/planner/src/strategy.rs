//! Who calls an account: the robot, an agent, or a specialist, by rules a
//! collections manager writes as data (a TOML file per campaign), first
//! match wins. For example: early delinquency robot-first; high balances
//! or broken promises to agents; hardship to the specialist queue.
//!
//! ```toml
//! [[rule]]
//! name = "hardship to specialists"
//! hardship = true
//! channel = "specialist"
//!
//! [[rule]]
//! name = "broken promises to agents"
//! min_broken_promises = 1
//! channel = "agent"
//!
//! [[rule]]
//! name = "robot first"
//! channel = "robot"
//! ```

use serde::Deserialize;

pub use huikuan_core::Channel;

/// What a strategy looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct DebtFacts<'a> {
    pub segment: &'a str,
    pub days_past_due: i32,
    /// Overdue amount in fen.
    pub overdue_fen: i64,
    pub broken_promises: u32,
    pub hardship: bool,
}

/// One rule: every condition given must hold.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyRule {
    pub name: String,
    pub segments: Option<Vec<String>>,
    pub min_days_past_due: Option<i32>,
    pub max_days_past_due: Option<i32>,
    /// Yuan.
    pub min_overdue: Option<f64>,
    pub min_broken_promises: Option<u32>,
    pub hardship: Option<bool>,
    pub channel: Channel,
}

impl StrategyRule {
    fn matches(&self, f: &DebtFacts<'_>) -> bool {
        self.segments
            .as_ref()
            .is_none_or(|s| s.iter().any(|s| s == f.segment))
            && self.min_days_past_due.is_none_or(|d| f.days_past_due >= d)
            && self.max_days_past_due.is_none_or(|d| f.days_past_due <= d)
            && self
                .min_overdue
                .is_none_or(|y| f.overdue_fen as f64 >= y * 100.0)
            && self
                .min_broken_promises
                .is_none_or(|n| f.broken_promises >= n)
            && self.hardship.is_none_or(|h| f.hardship == h)
    }
}

/// A campaign's rules, in order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    #[serde(default)]
    pub rule: Vec<StrategyRule>,
}

impl Default for Strategy {
    /// Hardship to specialists, broken promises and balances from 10,000
    /// yuan to agents, everyone else to the robot first.
    fn default() -> Self {
        Strategy::parse(include_str!("../strategy/default.toml"))
            .expect("the built-in strategy is valid")
    }
}

impl Strategy {
    /// Reads a strategy; errors name the rule (by position and name) and
    /// the field.
    pub fn parse(text: &str) -> Result<Strategy, String> {
        let s: Strategy = toml::from_str(text).map_err(|e| format!("strategy: {e}"))?;
        for (i, r) in s.rule.iter().enumerate() {
            let named = |why: String| format!("strategy rule {} ({}): {why}", i + 1, r.name);
            if r.name.trim().is_empty() {
                return Err(format!("strategy rule {}: name is empty", i + 1));
            }
            if let (Some(lo), Some(hi)) = (r.min_days_past_due, r.max_days_past_due) {
                if lo > hi {
                    return Err(named(format!(
                        "min_days_past_due {lo} is above max_days_past_due {hi}"
                    )));
                }
            }
            if r.min_overdue.is_some_and(|y| !y.is_finite() || y < 0.0) {
                return Err(named("min_overdue must be a non-negative amount".into()));
            }
        }
        Ok(s)
    }

    /// The channel for a debt and the rule that chose it; the robot, by
    /// "no rule matched", when none does.
    pub fn channel_for(&self, f: &DebtFacts<'_>) -> (Channel, &str) {
        self.rule
            .iter()
            .find(|r| r.matches(f))
            .map_or((Channel::Robot, "no rule matched"), |r| {
                (r.channel, r.name.as_str())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> DebtFacts<'static> {
        DebtFacts {
            segment: "early",
            days_past_due: 12,
            overdue_fen: 325_050,
            broken_promises: 0,
            hardship: false,
        }
    }

    #[test]
    fn the_built_in_strategy_sends_each_case_where_a_manager_expects() {
        let s = Strategy::default();
        assert_eq!(s.channel_for(&facts()).0, Channel::Robot);
        let broken = DebtFacts {
            broken_promises: 1,
            ..facts()
        };
        assert_eq!(s.channel_for(&broken).0, Channel::Agent);
        let high = DebtFacts {
            overdue_fen: 1_500_000,
            ..facts()
        };
        assert_eq!(s.channel_for(&high).0, Channel::Agent);
        let hardship = DebtFacts {
            hardship: true,
            broken_promises: 2,
            ..facts()
        };
        let (channel, rule) = s.channel_for(&hardship);
        assert_eq!(
            (channel, rule),
            (Channel::Specialist, "hardship to specialists")
        );
    }

    #[test]
    fn first_match_wins_and_no_match_is_the_robot_named() {
        let s = Strategy::parse(
            r#"
            [[rule]]
            name = "late"
            min_days_past_due = 30
            channel = "agent"
            [[rule]]
            name = "late, any"
            min_days_past_due = 30
            channel = "specialist"
            "#,
        )
        .unwrap();
        let late = DebtFacts {
            days_past_due: 45,
            ..facts()
        };
        assert_eq!(s.channel_for(&late), (Channel::Agent, "late"));
        assert_eq!(s.channel_for(&facts()), (Channel::Robot, "no rule matched"));
    }

    #[test]
    fn a_bad_rule_is_named_with_its_field() {
        let e = Strategy::parse(
            "[[rule]]\nname = \"x\"\nmin_days_past_due = 9\nmax_days_past_due = 3\nchannel = \"robot\"\n",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "strategy rule 1 (x): min_days_past_due 9 is above max_days_past_due 3"
        );
        let e = Strategy::parse("[[rule]]\nname = \"y\"\nchannel = \"fax\"\n").unwrap_err();
        assert!(e.contains("fax"), "{e}");
        let e = Strategy::parse("[[rule]]\nname = \"z\"\nchanel = \"robot\"\n").unwrap_err();
        assert!(e.contains("chanel"), "{e}");
    }
}
