//! The robot's lines per dialect (`dialects/*/lines.toml`), rendered with
//! tera. Filters read values out loud: `yuan` (fen -> 三千二百五十元五角),
//! `date_cn` (2026-12-01 -> 十二月一日), `day_cn(today=today)` (the day
//! the date falls on seen from today: 明天, 这周五, 下周三), `time_cn`
//! (2026-11-24T15:00 -> 十一月二十四日十五点). Missing variables are
//! errors, which is what keeps
//! debt details out of lines said before identity is confirmed.

use crate::script::{line_of_key, ScriptError};
use huikuan_core::numerals::{read_integer, read_yuan};
use huikuan_core::Dialect;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use tera::{Context, Tera, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinesFile {
    lines: BTreeMap<String, String>,
}

pub struct Lines {
    tera: Tera,
    /// (dialect, line name) -> template name
    names: HashMap<(Dialect, String), String>,
    sources: Vec<(Dialect, String, String)>,
}

fn yuan(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let fen = v
        .as_i64()
        .ok_or_else(|| tera::Error::msg("yuan: expected fen as an integer"))?;
    let s = format!("{}.{:02}", fen / 100, fen % 100);
    Ok(Value::String(read_yuan(&s).unwrap_or(s)))
}

fn date_cn(v: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let s = v
        .as_str()
        .ok_or_else(|| tera::Error::msg("date_cn: expected a date string"))?;
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| tera::Error::msg(format!("date_cn: {s}: {e}")))?;
    use chrono::Datelike;
    Ok(Value::String(huikuan_core::numerals::read_date(
        d.year(),
        d.month(),
        d.day(),
        false,
    )))
}

fn day_cn(v: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let date = |v: Option<&Value>, what: &str| {
        let s = v
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg(format!("day_cn: {what}: expected a date string")))?;
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|e| tera::Error::msg(format!("day_cn: {what}: {s}: {e}")))
    };
    let day = date(Some(v), "value")?;
    let today = date(args.get("today"), "today")?;
    Ok(Value::String(huikuan_core::numerals::read_day(day, today)))
}

fn time_cn(v: &Value, h: &HashMap<String, Value>) -> tera::Result<Value> {
    let s = v
        .as_str()
        .ok_or_else(|| tera::Error::msg("time_cn: expected a time string"))?;
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .map_err(|e| tera::Error::msg(format!("time_cn: {s}: {e}")))?;
    let date = date_cn(&Value::String(t.date().to_string()), h)?;
    use chrono::Timelike;
    let mut out = format!(
        "{}{}点",
        date.as_str().unwrap_or(""),
        read_integer(t.hour() as u64)
    );
    if t.minute() == 30 {
        out.push('半');
    } else if t.minute() > 0 {
        out.push_str(&read_integer(t.minute() as u64));
        out.push('分');
    }
    Ok(Value::String(out))
}

impl Lines {
    pub fn builtin() -> Lines {
        Lines::parse(&[
            (
                Dialect::Mandarin,
                "dialects/mandarin/lines.toml",
                include_str!("../../../dialects/mandarin/lines.toml"),
            ),
            (
                Dialect::Sichuanese,
                "dialects/sichuanese/lines.toml",
                include_str!("../../../dialects/sichuanese/lines.toml"),
            ),
            (
                Dialect::Cantonese,
                "dialects/cantonese/lines.toml",
                include_str!("../../../dialects/cantonese/lines.toml"),
            ),
        ])
        .expect("built-in lines are valid")
    }

    /// Parses each dialect's lines (dialect, file name, text). A line that
    /// does not parse as a template, or says any of `forbidden`, is an
    /// error naming its file and line.
    pub fn parse(files: &[(Dialect, &str, &str)]) -> Result<Lines, ScriptError> {
        Lines::parse_checked(files, &[])
    }

    pub fn parse_checked(
        files: &[(Dialect, &str, &str)],
        forbidden: &[String],
    ) -> Result<Lines, ScriptError> {
        let mut tera = Tera::default();
        tera.register_filter("yuan", yuan);
        tera.register_filter("date_cn", date_cn);
        tera.register_filter("day_cn", day_cn);
        tera.register_filter("time_cn", time_cn);
        let mut names = HashMap::new();
        let mut sources = Vec::new();
        for (dialect, file, text) in files {
            let f: LinesFile =
                toml::from_str(text).map_err(|e| ScriptError::toml(file, text, &e))?;
            // Line names are looked for below the `[lines]` header.
            let section = text
                .lines()
                .position(|l| l.trim() == "[lines]")
                .map_or(1, |i| i + 1);
            for (name, src) in f.lines {
                let at = || line_of_key(text, &name, section).or(Some(section));
                if let Some(word) = forbidden.iter().find(|w| src.contains(w.as_str())) {
                    return Err(ScriptError::new(
                        file,
                        at(),
                        format!("lines.{name}: says forbidden wording '{word}' (dialects/forbidden.txt)"),
                    ));
                }
                let tname = format!("{dialect}/{name}");
                tera.add_raw_template(&tname, &src).map_err(|e| {
                    let mut msg = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(s) = source {
                        msg.push_str(": ");
                        msg.push_str(&s.to_string());
                        source = s.source();
                    }
                    ScriptError::new(file, at(), format!("lines.{name}: {msg}"))
                })?;
                names.insert((*dialect, name.clone()), tname);
                sources.push((*dialect, name, src));
            }
        }
        Ok(Lines {
            tera,
            names,
            sources,
        })
    }

    pub fn render(&self, dialect: Dialect, name: &str, ctx: &Context) -> Result<String, String> {
        let d = if dialect == Dialect::Auto {
            Dialect::Mandarin
        } else {
            dialect
        };
        let t = self
            .names
            .get(&(d, name.to_string()))
            .or_else(|| self.names.get(&(Dialect::Mandarin, name.to_string())))
            .ok_or_else(|| format!("no line '{name}' for {d}"))?;
        self.tera.render(t, ctx).map_err(|e| {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            msg
        })
    }

    pub fn has(&self, dialect: Dialect, name: &str) -> bool {
        self.names.contains_key(&(dialect, name.to_string()))
    }

    /// (dialect, name, template source) of every line.
    pub fn sources(&self) -> &[(Dialect, String, String)] {
        &self.sources
    }
}
