//! Personas, one TOML file each, picked by the number dialed:
//!
//! ```toml
//! number = "13800000001"
//! dialect = "sichuanese"
//! answer = "answer"        # answer | busy | no_answer | reject | announcement | early_announcement
//! reject_code = 404        # with answer = "reject"
//! announcement = "您拨打的电话已关机"
//! ring_ms = 800
//! greeting = "喂？"         # said on answer, before the robot speaks
//! listen = "live"          # or "after_call": take turns on end of speech only
//!                          # and recognise what was heard after the call
//!                          # (load tests; the persona cannot be asked to repeat)
//! max_call_s = 180         # the phone hangs up after this long at most
//! line = { echo_delay_ms = 100, echo_db = -12, noise_dbfs = -60 }
//!                          # the phone's line sends back the robot's voice
//!                          # this much later and quieter, and hisses
//!
//! [[turns]]
//! say = "是我，啥子事嘛？"   # the reply after the robot's line ("" = stay silent)
//! barge_in_ms = 1500       # or: cut in this long after the robot starts
//! hangup_ms = 1000         # or: hang up this long after the robot starts
//!
//! [[turns]]
//! say = "好的，我五号还。"
//! after_heard = ["经理", "客服"]  # only once a line heard contains one of
//!                          # these (an agent who took the call over);
//!                          # lines before it get no answer
//! ```

use huikuan_core::Dialect;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    #[default]
    Answer,
    Busy,
    NoAnswer,
    Reject,
    /// Answered, then a recording plays (voicemail, a carrier message).
    Announcement,
    /// A carrier message as early media (183) before any answer.
    EarlyAnnouncement,
}

/// When the simulated phone recognises what the robot says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Listen {
    /// During the call (the persona can be asked to repeat itself).
    #[default]
    Live,
    /// After the call: during it, only where the robot's lines end is
    /// found, so a load test's phones take little of the machine.
    AfterCall,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PersonaTurn {
    #[serde(default)]
    pub say: String,
    #[serde(default)]
    pub barge_in_ms: Option<u64>,
    #[serde(default)]
    pub hangup_ms: Option<u64>,
    /// Said only in answer to a line containing one of these; what is
    /// heard before that gets no answer.
    #[serde(default)]
    pub after_heard: Vec<String>,
}

impl PersonaTurn {
    /// Whether this turn answers `heard`.
    pub fn answers(&self, heard: &str) -> bool {
        self.after_heard.is_empty() || self.after_heard.iter().any(|w| heard.contains(w.as_str()))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    #[serde(default)]
    pub name: String,
    pub number: String,
    pub dialect: String,
    #[serde(default)]
    pub answer: Answer,
    #[serde(default)]
    pub reject_code: Option<u16>,
    #[serde(default)]
    pub announcement: Option<String>,
    #[serde(default = "default_ring")]
    pub ring_ms: u64,
    #[serde(default)]
    pub greeting: Option<String>,
    /// The language the persona actually speaks when it differs from the
    /// account's dialect (a Cantonese account answered in Mandarin).
    #[serde(default)]
    pub speaks: Option<String>,
    #[serde(default)]
    pub listen: Listen,
    /// Echo and noise this phone's line adds.
    #[serde(default)]
    pub line: Option<crate::media::LineSimulation>,
    /// The phone hangs up after this long on a call (default 180 s; a
    /// bridged call in a load test lasts longer).
    #[serde(default)]
    pub max_call_s: Option<u64>,
    #[serde(default)]
    pub turns: Vec<PersonaTurn>,
}

fn default_ring() -> u64 {
    600
}

impl Persona {
    pub fn dialect(&self) -> Dialect {
        self.dialect.parse().unwrap_or(Dialect::Mandarin)
    }

    /// The voice and ear the simulator uses.
    pub fn speaking(&self) -> Dialect {
        self.speaks
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| self.dialect())
    }

    fn check(&self) -> Result<(), String> {
        self.dialect
            .parse::<Dialect>()
            .map_err(|e| format!("dialect: {e}"))?;
        if let Some(s) = &self.speaks {
            s.parse::<Dialect>().map_err(|e| format!("speaks: {e}"))?;
        }
        if self.number.trim().is_empty() {
            return Err("number: empty".into());
        }
        if let Some(line) = &self.line {
            if line.echo_db.is_some_and(|db| !(-60.0..=0.0).contains(&db)) {
                return Err("line.echo_db: echo comes back 0 to 60 dB quieter (-60..=0)".into());
            }
            if line
                .noise_dbfs
                .is_some_and(|db| !(-90.0..=-10.0).contains(&db))
            {
                return Err("line.noise_dbfs: within -90..=-10".into());
            }
            if line.echo_delay_ms > 1_000 {
                return Err("line.echo_delay_ms: at most 1000".into());
            }
        }
        if self.max_call_s.is_some_and(|s| !(10..=3600).contains(&s)) {
            return Err("max_call_s: 10 to 3600 seconds".into());
        }
        match self.answer {
            Answer::Reject if self.reject_code.is_none_or(|c| !(400..700).contains(&c)) => {
                Err("reject_code: needs a SIP code 400-699 with answer = \"reject\"".into())
            }
            Answer::Announcement | Answer::EarlyAnnouncement if self.announcement.is_none() => {
                Err("announcement: the recording's words are needed".into())
            }
            _ => Ok(()),
        }
    }
}

/// All personas of a directory, by number.
#[derive(Debug, Clone, Default)]
pub struct PersonaSet {
    by_number: HashMap<String, Persona>,
}

impl PersonaSet {
    pub fn load_dir(dir: &Path) -> Result<PersonaSet, String> {
        let mut set = PersonaSet::default();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        entries.sort();
        for path in entries {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut p: Persona =
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            p.check().map_err(|e| format!("{}: {e}", path.display()))?;
            if p.name.is_empty() {
                p.name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
            }
            if let Some(other) = set.by_number.get(&p.number) {
                return Err(format!(
                    "{}: number: {} is already persona '{}'",
                    path.display(),
                    p.number,
                    other.name
                ));
            }
            set.by_number.insert(p.number.clone(), p);
        }
        Ok(set)
    }

    pub fn insert(&mut self, p: Persona) {
        self.by_number.insert(p.number.clone(), p);
    }

    /// The persona for a dialed number (digits compared, so +86 prefixes
    /// and separators do not matter).
    pub fn for_number(&self, dialed: &str) -> Option<&Persona> {
        let digits = |s: &str| -> String { s.chars().filter(|c| c.is_ascii_digit()).collect() };
        let d = digits(dialed);
        self.by_number.values().find(|p| {
            let n = digits(&p.number);
            !n.is_empty() && (d == n || d.ends_with(&n))
        })
    }

    pub fn len(&self) -> usize {
        self.by_number.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_number.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personas_load_and_bad_ones_name_the_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("promise.toml"),
            "number = \"13800000001\"\ndialect = \"sichuanese\"\n[[turns]]\nsay = \"是我\"\n",
        )
        .unwrap();
        let set = PersonaSet::load_dir(dir.path()).unwrap();
        let p = set.for_number("+8613800000001").unwrap();
        assert_eq!(p.name, "promise");
        assert_eq!(p.dialect(), Dialect::Sichuanese);
        assert!(set.for_number("13900000000").is_none());

        std::fs::write(
            dir.path().join("z_bad.toml"),
            "number = \"2\"\ndialect = \"klingon\"\n",
        )
        .unwrap();
        let e = PersonaSet::load_dir(dir.path()).unwrap_err();
        assert!(e.contains("z_bad.toml: dialect"), "{e}");
        std::fs::write(
            dir.path().join("z_bad.toml"),
            "number = \"2\"\ndialect = \"mandarin\"\nanswer = \"reject\"\n",
        )
        .unwrap();
        let e = PersonaSet::load_dir(dir.path()).unwrap_err();
        assert!(e.contains("reject_code"), "{e}");
        std::fs::write(
            dir.path().join("z_bad.toml"),
            "number = \"2\"\ndialect = \"mandarin\"\nline = { echo_db = 6 }\n",
        )
        .unwrap();
        let e = PersonaSet::load_dir(dir.path()).unwrap_err();
        assert!(e.contains("z_bad.toml: line.echo_db"), "{e}");
        std::fs::write(
            dir.path().join("z_bad.toml"),
            "number = \"2\"\ndialect = \"mandarin\"\nline = { echo_db = -12, hum = 1 }\n",
        )
        .unwrap();
        let e = PersonaSet::load_dir(dir.path()).unwrap_err();
        assert!(e.contains("z_bad.toml") && e.contains("hum"), "{e}");
    }
}
