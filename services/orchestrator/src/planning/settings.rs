//! A campaign's planning configuration: its hard rules, strategy,
//! holidays and capacity (robot lines, and agents per dialect from a
//! roster), as `[planning]` in the configuration file, with
//! `[planning.campaign."NAME"]` tables for campaigns that differ. Every
//! key is documented in README.md.

use chrono::NaiveTime;
use chrono_tz::Tz;
use huikuan_planner::{CampaignRules, Capacity, Holidays, Strategy};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[planning]` (and each `[planning.campaign."NAME"]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanSettings {
    /// The hard rules as the campaign sets them (held to the limits no
    /// configuration passes).
    pub rules: CampaignRules,
    /// The time zone of the centre's day: capacity's hours are its hours.
    pub centre_time_zone: String,
    /// Robot calls at once (trunk lines the robot may hold).
    pub robot_lines: u32,
    /// Robot calls one line starts per hour (60 / the average call's
    /// minutes, with ringing and wrap-up).
    pub robot_calls_per_line_hour: u32,
    /// Calls one agent starts per hour.
    pub agent_calls_per_hour: u32,
    /// The agents' shifts (TOML, see README); none: no agent capacity.
    pub roster: Option<PathBuf>,
    /// The strategy file; none: the built-in one.
    pub strategy: Option<PathBuf>,
    /// The public holidays file; none: the built-in calendar.
    pub holidays: Option<PathBuf>,
    /// Days no call is planned after a complaint or a dispute.
    pub complaint_hold_days: u32,
    /// Days of attempts the contact model learns from.
    pub history_days: u32,
    /// From this time of the centre's day, the next day's plan is drafted
    /// for every active campaign that has none; none: plans are made only
    /// with `huikuan plan`.
    pub draft_at: Option<NaiveTime>,
    /// Campaigns that differ, by name: each a whole table of these keys
    /// (a key it leaves out takes the built-in default).
    pub campaign: BTreeMap<String, PlanSettings>,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            rules: CampaignRules::default(),
            centre_time_zone: huikuan_core::region::CHINA_TIME.name().into(),
            robot_lines: 8,
            robot_calls_per_line_hour: 20,
            agent_calls_per_hour: 8,
            roster: None,
            strategy: None,
            holidays: None,
            complaint_hold_days: 30,
            history_days: 90,
            draft_at: None,
            campaign: BTreeMap::new(),
        }
    }
}

/// One agent's shifts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterAgent {
    name: String,
    /// The first is the one the agent is counted in.
    dialects: Vec<String>,
    /// `HH:MM-HH:MM` in the centre's time zone; an hour counts when the
    /// shift covers all of it.
    hours: Vec<String>,
    #[serde(default)]
    specialist: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterFile {
    #[serde(default)]
    agent: Vec<RosterAgent>,
}

/// A campaign's settings, read and checked: what planning runs on.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub rules: CampaignRules,
    pub strategy: Strategy,
    pub holidays: Holidays,
    pub capacity: Capacity,
    pub complaint_hold_days: u32,
    pub history_days: u32,
}

/// Agents on shift per centre hour, by dialect.
pub type AgentsByDialect = BTreeMap<String, [u32; 24]>;

/// Agents on shift per centre hour, from roster TOML: by dialect, and the
/// specialists. An error names the agent and the field.
pub fn roster_hours(text: &str) -> Result<(AgentsByDialect, [u32; 24]), String> {
    let file: RosterFile = toml::from_str(text).map_err(|e| format!("roster: {e}"))?;
    let mut agents: BTreeMap<String, [u32; 24]> = BTreeMap::new();
    let mut specialists = [0u32; 24];
    for (i, a) in file.agent.iter().enumerate() {
        let named = |why: String| format!("roster agent {} ({}): {why}", i + 1, a.name);
        let Some(dialect) = a.dialects.first() else {
            return Err(named("dialects: name at least one".into()));
        };
        let dialect = match dialect.parse::<huikuan_core::Dialect>() {
            Ok(huikuan_core::Dialect::Auto) | Err(_) => {
                return Err(named(format!(
                    "dialects: '{dialect}' is not mandarin, sichuanese or cantonese"
                )))
            }
            Ok(d) => d.as_str().to_string(),
        };
        let mut on = [false; 24];
        for h in &a.hours {
            let (from, to) = parse_shift(h).map_err(|e| named(format!("hours: '{h}': {e}")))?;
            for (hour, slot) in on.iter_mut().enumerate() {
                let start = NaiveTime::from_hms_opt(hour as u32, 0, 0).expect("an hour");
                // A shift ending at 00:00 runs to the end of the day.
                let covered = start >= from
                    && (to == NaiveTime::MIN
                        || NaiveTime::from_hms_opt(hour as u32 + 1, 0, 0)
                            .is_some_and(|end| end <= to));
                *slot |= covered;
            }
        }
        let row = if a.specialist {
            &mut specialists
        } else {
            agents.entry(dialect).or_insert([0; 24])
        };
        for (hour, n) in row.iter_mut().enumerate() {
            *n += u32::from(on[hour]);
        }
    }
    Ok((agents, specialists))
}

fn parse_shift(s: &str) -> Result<(NaiveTime, NaiveTime), String> {
    let (a, b) = s.split_once('-').ok_or("write it as HH:MM-HH:MM")?;
    let t = |x: &str| {
        NaiveTime::parse_from_str(x.trim(), "%H:%M")
            .map_err(|_| format!("'{}' is not HH:MM", x.trim()))
    };
    let (from, to) = (t(a)?, t(b)?);
    if to <= from && to != NaiveTime::MIN {
        return Err("the shift must end after it starts".into());
    }
    Ok((from, to))
}

fn read(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

impl PlanSettings {
    /// The settings for `campaign`: its own table, else these.
    pub fn for_campaign(&self, campaign: &str) -> &PlanSettings {
        self.campaign.get(campaign).unwrap_or(self)
    }

    /// Reads the files the settings name and checks everything, naming
    /// the key that is wrong.
    pub fn resolve(&self) -> Result<Resolved, String> {
        if !self.campaign.values().all(|c| c.campaign.is_empty()) {
            return Err("planning.campaign: a campaign's table cannot hold campaigns".into());
        }
        self.rules
            .validate()
            .map_err(|e| format!("planning.rules: {e}"))?;
        let tz: Tz = self.centre_time_zone.parse().map_err(|_| {
            format!(
                "planning.centre_time_zone: '{}' is not an IANA time zone",
                self.centre_time_zone
            )
        })?;
        let strategy = match &self.strategy {
            Some(p) => Strategy::parse(&read(p, "planning.strategy")?)
                .map_err(|e| format!("planning.strategy {}: {e}", p.display()))?,
            None => Strategy::default(),
        };
        let holidays = match &self.holidays {
            Some(p) => Holidays::parse(&read(p, "planning.holidays")?)
                .map_err(|e| format!("planning.holidays {}: {e}", p.display()))?,
            None => Holidays::built_in(),
        };
        let (agents, specialists) = match &self.roster {
            Some(p) => roster_hours(&read(p, "planning.roster")?)
                .map_err(|e| format!("planning.roster {}: {e}", p.display()))?,
            None => (BTreeMap::new(), [0; 24]),
        };
        let per_agent = self.agent_calls_per_hour;
        let scale = |row: [u32; 24]| row.map(|n| n.saturating_mul(per_agent));
        Ok(Resolved {
            rules: self.rules.clone(),
            strategy,
            holidays,
            capacity: Capacity {
                tz,
                robot: [self
                    .robot_lines
                    .saturating_mul(self.robot_calls_per_line_hour); 24],
                agents: agents.into_iter().map(|(d, row)| (d, scale(row))).collect(),
                specialist: scale(specialists),
            },
            complaint_hold_days: self.complaint_hold_days,
            history_days: self.history_days.max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roster_counts_each_agent_in_the_hours_their_shifts_cover() {
        let (agents, specialists) = roster_hours(
            r#"
            [[agent]]
            name = "li.na"
            dialects = ["mandarin", "sichuanese"]
            hours = ["09:00-12:00", "13:30-18:00"]

            [[agent]]
            name = "chan.w"
            dialects = ["cantonese"]
            hours = ["18:00-00:00"]

            [[agent]]
            name = "wang.f"
            dialects = ["mandarin"]
            hours = ["10:00-11:00"]
            specialist = true
            "#,
        )
        .unwrap();
        let m = agents["mandarin"];
        assert_eq!(&m[8..19], &[0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0]);
        assert!(!agents.contains_key("sichuanese"));
        assert_eq!(&agents["cantonese"][17..24], &[0, 1, 1, 1, 1, 1, 1]);
        assert_eq!(specialists[10], 1);
        assert_eq!(specialists.iter().sum::<u32>(), 1);
    }

    #[test]
    fn a_bad_roster_names_the_agent_and_the_field() {
        let e = roster_hours("[[agent]]\nname = \"x\"\ndialects = [\"klingon\"]\nhours = []\n")
            .unwrap_err();
        assert!(e.contains("agent 1 (x)") && e.contains("dialects"), "{e}");
        let e =
            roster_hours("[[agent]]\nname = \"y\"\ndialects = [\"mandarin\"]\nhours = [\"9-5\"]\n")
                .unwrap_err();
        assert!(e.contains("agent 1 (y)") && e.contains("hours"), "{e}");
        let e = roster_hours(
            "[[agent]]\nname = \"z\"\ndialects = [\"mandarin\"]\nhours = [\"18:00-09:00\"]\n",
        )
        .unwrap_err();
        assert!(e.contains("end after"), "{e}");
    }

    #[test]
    fn settings_are_checked_by_key() {
        let s = PlanSettings {
            centre_time_zone: "Mars/Olympus".into(),
            ..PlanSettings::default()
        };
        assert!(s.resolve().unwrap_err().contains("centre_time_zone"));
        let r = PlanSettings::default().resolve().unwrap();
        assert_eq!(r.capacity.robot[10], 160);
    }
}
