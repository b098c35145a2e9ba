//! Dialect packs (`dialects/<name>/dialect.toml` + `lexicon.tsv`): what the
//! recognizer is told (language, prompt, vocabulary), which voice speaks,
//! the lexical cues that reveal the dialect, and the dialect-to-standard
//! lexicon used by understanding.
//!
//! The packs in the repository are compiled in; a directory given at run
//! time (config `speech.dialects_dir`) replaces them, so a deployment can
//! edit wording without a rebuild.

use crate::Dialect;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{file}: {reason}")]
    Invalid { file: String, reason: String },
    #[error("{file}: line {line}: {reason}")]
    Lexicon {
        file: String,
        line: usize,
        reason: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsrSection {
    pub language: String,
    #[serde(default)]
    pub initial_prompt: String,
    #[serde(default)]
    pub vocabulary: Vec<String>,
    /// What debtors are likely to say at each stage of a call (a stage of
    /// `dialects/policy.toml` -> phrases), told to the recognizer with
    /// the prompt while the robot waits for an answer at that stage.
    #[serde(default)]
    pub expect: std::collections::BTreeMap<String, Vec<String>>,
}

/// What the recognizer is told to expect of the next turn: the stage of
/// the call the robot is at and the words in play (the debtor's name, the
/// lender's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectation {
    pub stage: Option<String>,
    pub words: Vec<String>,
}

impl Expectation {
    /// The words in play, trimmed, blanks left out.
    pub fn words_in_play(&self) -> Vec<&str> {
        self.words
            .iter()
            .map(|w| w.trim())
            .filter(|w| !w.is_empty())
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtsSection {
    pub voice: String,
    #[serde(default = "one")]
    pub speed: f32,
}

fn one() -> f32 {
    1.0
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectSection {
    /// (word, weight) pairs.
    #[serde(default)]
    pub cues: Vec<(String, f32)>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    name: String,
    display_name: String,
    asr: AsrSection,
    tts: TtsSection,
    #[serde(default)]
    detect: DetectSection,
}

#[derive(Debug, Clone)]
pub struct DialectPack {
    pub dialect: Dialect,
    pub display_name: String,
    pub asr: AsrSection,
    pub tts: TtsSection,
    pub detect: DetectSection,
    /// (dialect form, standard form), longest dialect form first.
    pub lexicon: Vec<(String, String)>,
}

impl DialectPack {
    pub fn parse(
        file: &str,
        toml_text: &str,
        lexicon_file: &str,
        lexicon_text: &str,
    ) -> Result<DialectPack, PackError> {
        let invalid = |reason: String| PackError::Invalid {
            file: file.to_string(),
            reason,
        };
        let f: PackFile = toml::from_str(toml_text).map_err(|e| invalid(e.to_string()))?;
        let dialect: Dialect = f
            .name
            .parse()
            .map_err(|e: String| invalid(format!("name: {e}")))?;
        if dialect == Dialect::Auto {
            return Err(invalid("name: a pack is for one dialect, not auto".into()));
        }
        if f.asr.language.trim().is_empty() {
            return Err(invalid("asr.language: empty".into()));
        }
        let mut lexicon = Vec::new();
        for (i, line) in lexicon_text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (from, to) = line.split_once('\t').ok_or_else(|| PackError::Lexicon {
                file: lexicon_file.to_string(),
                line: i + 1,
                reason: "expected 'dialect<TAB>standard'".into(),
            })?;
            if from.trim().is_empty() {
                return Err(PackError::Lexicon {
                    file: lexicon_file.to_string(),
                    line: i + 1,
                    reason: "empty dialect form".into(),
                });
            }
            lexicon.push((from.trim().to_string(), to.trim().to_string()));
        }
        lexicon.sort_by_key(|(from, _)| std::cmp::Reverse(from.chars().count()));
        Ok(DialectPack {
            dialect,
            display_name: f.display_name,
            asr: f.asr,
            tts: f.tts,
            detect: f.detect,
            lexicon,
        })
    }

    /// The prompt given to the recognizer: the pack's prompt followed by
    /// its vocabulary.
    pub fn asr_prompt(&self) -> String {
        let mut p = self.asr.initial_prompt.clone();
        if !self.asr.vocabulary.is_empty() {
            p.push_str(&self.asr.vocabulary.join("、"));
            p.push('。');
        }
        p
    }

    /// The prompt for a turn expected as `e` says: the pack's prompt,
    /// then the words in play, then what is likely said at the stage
    /// (last, where it weighs most on the recognizer).
    pub fn asr_prompt_expecting(&self, e: &Expectation) -> String {
        let mut p = self.asr_prompt();
        let words = e.words_in_play();
        if !words.is_empty() {
            p.push_str(&words.join("、"));
            p.push('。');
        }
        let phrases = self.likely_answers(e);
        if !phrases.is_empty() {
            p.push_str(&phrases.join("，"));
            p.push('。');
        }
        p
    }

    /// What is likely said at the stage `e` names (none for no stage or
    /// a stage the pack says nothing about).
    pub fn likely_answers(&self, e: &Expectation) -> Vec<&str> {
        e.stage
            .as_ref()
            .and_then(|s| self.asr.expect.get(s))
            .map(|p| p.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether a transcript is only the prompt coming back (a known failure
    /// of prompted recognizers on short or unclear audio: "利息、利息、分期"):
    /// two or more pieces, each a vocabulary word or part of the prompt.
    pub fn is_prompt_echo(&self, text: &str) -> bool {
        let pieces: Vec<&str> = text
            .split(|c: char| "、，,。.!！?？ ".contains(c))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if pieces.is_empty() {
            return false;
        }
        // The prompt's own sentences, to catch one coming back with a
        // word misheard (这下是普通话的句子 for 以下是普通话的句子).
        let sentences: Vec<&str> = self
            .asr
            .initial_prompt
            .split(|c: char| "、，,。.!！?？ ".contains(c))
            .map(str::trim)
            .filter(|s| s.chars().count() >= 4)
            .collect();
        let known = |p: &str| {
            let n = p.chars().count();
            self.asr.vocabulary.iter().any(|v| v == p)
                || (n >= 4 && self.asr.initial_prompt.contains(p))
                || (n >= 4
                    && sentences.iter().any(|s| {
                        let longest = n.max(s.chars().count());
                        strsim::levenshtein(p, s) * 4 <= longest
                    }))
        };
        (pieces.len() >= 2 || pieces[0].chars().count() >= 4) && pieces.iter().all(|p| known(p))
    }
}

/// The three packs.
#[derive(Debug, Clone)]
pub struct DialectPacks {
    packs: Vec<DialectPack>,
}

macro_rules! builtin {
    ($name:literal) => {
        (
            concat!("dialects/", $name, "/dialect.toml"),
            include_str!(concat!("../../../dialects/", $name, "/dialect.toml")),
            concat!("dialects/", $name, "/lexicon.tsv"),
            include_str!(concat!("../../../dialects/", $name, "/lexicon.tsv")),
        )
    };
}

impl DialectPacks {
    /// The packs compiled into this binary.
    pub fn builtin() -> DialectPacks {
        let sources = [
            builtin!("mandarin"),
            builtin!("sichuanese"),
            builtin!("cantonese"),
        ];
        let packs = sources
            .iter()
            .map(|(f, t, lf, lt)| DialectPack::parse(f, t, lf, lt).expect("built-in pack is valid"))
            .collect();
        DialectPacks { packs }
    }

    /// Packs already parsed, one per dialect (the first stands in for a
    /// dialect without one).
    pub fn from_packs(packs: Vec<DialectPack>) -> DialectPacks {
        assert!(!packs.is_empty(), "at least one dialect pack");
        DialectPacks { packs }
    }

    /// Packs from `dir/<dialect>/{dialect.toml,lexicon.tsv}`.
    pub fn load(dir: &Path) -> Result<DialectPacks, PackError> {
        let mut packs = Vec::new();
        for name in ["mandarin", "sichuanese", "cantonese"] {
            let toml_path = dir.join(name).join("dialect.toml");
            let lex_path = dir.join(name).join("lexicon.tsv");
            let read = |p: &Path| {
                std::fs::read_to_string(p).map_err(|e| PackError::Invalid {
                    file: p.display().to_string(),
                    reason: e.to_string(),
                })
            };
            let t = read(&toml_path)?;
            let l = if lex_path.exists() {
                read(&lex_path)?
            } else {
                String::new()
            };
            packs.push(DialectPack::parse(
                &toml_path.display().to_string(),
                &t,
                &lex_path.display().to_string(),
                &l,
            )?);
        }
        Ok(DialectPacks { packs })
    }

    /// The pack of a dialect (`Auto` gets Mandarin until detection decides).
    pub fn get(&self, dialect: Dialect) -> &DialectPack {
        let want = if dialect == Dialect::Auto {
            Dialect::Mandarin
        } else {
            dialect
        };
        self.packs
            .iter()
            .find(|p| p.dialect == want)
            .unwrap_or(&self.packs[0])
    }

    pub fn iter(&self) -> impl Iterator<Item = &DialectPack> {
        self.packs.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_packs_load_with_lexicons_and_cues() {
        let packs = DialectPacks::builtin();
        let s = packs.get(Dialect::Sichuanese);
        assert!(s.lexicon.iter().any(|(a, b)| a == "莫得" && b == "没有"));
        let c = packs.get(Dialect::Cantonese);
        assert!(c.lexicon.iter().any(|(a, b)| a == "聽日" && b == "明天"));
        assert!(!c.detect.cues.is_empty());
        assert!(packs.get(Dialect::Mandarin).asr_prompt().contains("还款"));
        // A stage's likely answers come last, after the words in play.
        let m = packs.get(Dialect::Mandarin);
        let e = Expectation {
            stage: Some("identify".into()),
            words: vec!["张伟".into(), " ".into(), "易贷".into()],
        };
        let p = m.asr_prompt_expecting(&e);
        assert!(p.starts_with(&m.asr_prompt()), "{p}");
        assert!(p.contains("张伟、易贷。"), "{p}");
        let first = &m.asr.expect["identify"][0];
        assert!(p.ends_with('。') && p.contains(first.as_str()), "{p}");
        assert!(p.find("张伟") < p.find(first.as_str()), "{p}");
        assert_eq!(
            m.asr_prompt_expecting(&Expectation::default()),
            m.asr_prompt()
        );
        for pack in packs.iter() {
            for stage in ["identify", "pay", "confirm", "callback"] {
                assert!(
                    pack.asr.expect.contains_key(stage),
                    "{:?} {stage}",
                    pack.dialect
                );
            }
        }
        // Longest forms first, so 好多钱 wins over 好多.
        let pos = |w: &str| s.lexicon.iter().position(|(a, _)| a == w).unwrap();
        assert!(pos("好多钱") < pos("好多"));
    }

    #[test]
    fn bad_pack_files_name_the_problem() {
        let e = DialectPack::parse("x.toml", "name = \"klingon\"\n", "l.tsv", "")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.toml:"), "{e}");
        let good = include_str!("../../../dialects/mandarin/dialect.toml");
        let e = DialectPack::parse("x.toml", good, "l.tsv", "# c\nok\tfine\nbroken\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "l.tsv: line 3: expected 'dialect<TAB>standard'");
    }
}

#[cfg(test)]
mod prompt_echo_tests {
    use super::*;

    #[test]
    fn prompt_echoes_are_recognised() {
        let packs = DialectPacks::builtin();
        let m = packs.get(Dialect::Mandarin);
        assert!(m.is_prompt_echo("利息、利息、分期。"));
        assert!(m.is_prompt_echo("还款，逾期"));
        assert!(m.is_prompt_echo("以下是普通话的句子。"));
        // The prompt with a word misheard is still the prompt.
        assert!(m.is_prompt_echo("这下是普通话的句子。"));
        assert!(!m.is_prompt_echo("这不是我的电话。"));
        assert!(!m.is_prompt_echo("利息"));
        assert!(!m.is_prompt_echo("对，没问题。"));
        assert!(!m.is_prompt_echo("利息太高了，分期吧"));
        assert!(!m.is_prompt_echo(""));
    }
}
