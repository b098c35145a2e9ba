//! Public holidays, from a data file (`services/planner/holidays/cn.toml`
//! is built in): named ranges of days off, and the years the file covers,
//! so that a day of an uncovered year is reported instead of silently
//! treated as a working day.

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Mainland China's holidays, as shipped.
const BUILT_IN: &str = include_str!("../holidays/cn.toml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holidays {
    /// Each day off with its holiday's name.
    days: BTreeMap<NaiveDate, String>,
    years: Vec<i32>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HolidaysError {
    #[error("holidays file: {0}")]
    Syntax(String),
    #[error("holidays file, holiday {index} ({name}): {why}")]
    Entry {
        index: usize,
        name: String,
        why: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    years: Vec<i32>,
    #[serde(default)]
    holiday: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    from: NaiveDate,
    to: NaiveDate,
}

/// What a day is, for calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind<'a> {
    Working,
    Holiday(&'a str),
    /// The file does not cover the day's year.
    Unknown,
}

impl Holidays {
    /// The built-in calendar.
    pub fn built_in() -> Holidays {
        Holidays::parse(BUILT_IN).expect("the built-in holidays file is valid")
    }

    /// Reads a holidays file; an error names the entry and why.
    pub fn parse(text: &str) -> Result<Holidays, HolidaysError> {
        let file: File = toml::from_str(text).map_err(|e| HolidaysError::Syntax(e.to_string()))?;
        let mut days = BTreeMap::new();
        for (i, e) in file.holiday.iter().enumerate() {
            let entry = |why: String| HolidaysError::Entry {
                index: i + 1,
                name: e.name.clone(),
                why,
            };
            if e.to < e.from {
                return Err(entry(format!(
                    "ends ({}) before it starts ({})",
                    e.to, e.from
                )));
            }
            if (e.to - e.from).num_days() > 31 {
                return Err(entry("longer than 31 days".into()));
            }
            for year in [e.from.year(), e.to.year()] {
                if !file.years.contains(&year) {
                    return Err(entry(format!(
                        "falls in {year}, which `years` does not list"
                    )));
                }
            }
            for day in e.from.iter_days().take_while(|d| *d <= e.to) {
                if let Some(other) = days.insert(day, e.name.clone()) {
                    return Err(entry(format!("{day} is already a day of {other}")));
                }
            }
        }
        Ok(Holidays {
            days,
            years: file.years,
        })
    }

    pub fn kind(&self, day: NaiveDate) -> DayKind<'_> {
        match self.days.get(&day) {
            Some(name) => DayKind::Holiday(name),
            None if self.years.contains(&day.year()) => DayKind::Working,
            None => DayKind::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_built_in_calendar_knows_national_day_and_the_years_it_covers() {
        let h = Holidays::built_in();
        assert_eq!(h.kind(d("2026-10-01")), DayKind::Holiday("国庆节"));
        assert_eq!(h.kind(d("2026-10-07")), DayKind::Holiday("国庆节"));
        assert_eq!(h.kind(d("2026-10-08")), DayKind::Working);
        assert_eq!(h.kind(d("2030-10-01")), DayKind::Unknown);
    }

    #[test]
    fn a_bad_entry_is_named_with_why() {
        let bad = |body: &str| Holidays::parse(&format!("years = [2026]\n{body}")).unwrap_err();
        let e = bad("[[holiday]]\nname = \"x\"\nfrom = \"2026-05-05\"\nto = \"2026-05-01\"\n");
        assert_eq!(
            e.to_string(),
            "holidays file, holiday 1 (x): ends (2026-05-01) before it starts (2026-05-05)"
        );
        let e = bad("[[holiday]]\nname = \"y\"\nfrom = \"2027-01-01\"\nto = \"2027-01-01\"\n");
        assert!(
            e.to_string().contains("2027, which `years` does not list"),
            "{e}"
        );
        let e = bad(concat!(
            "[[holiday]]\nname = \"a\"\nfrom = \"2026-05-01\"\nto = \"2026-05-02\"\n",
            "[[holiday]]\nname = \"b\"\nfrom = \"2026-05-02\"\nto = \"2026-05-03\"\n"
        ));
        assert!(
            e.to_string()
                .contains("holiday 2 (b): 2026-05-02 is already a day of a"),
            "{e}"
        );
        assert!(matches!(
            Holidays::parse("years = [2026]\n[[holiday]]\nname = 1\n"),
            Err(HolidaysError::Syntax(_))
        ));
    }
}
