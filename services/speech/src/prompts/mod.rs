//! Recorded prompt packs: the robot's fixed lines said by a person.
//!
//! **Problem.** A synthesized voice is what tells a debtor at once that a
//! machine is calling. Collection robots that sound human play recordings
//! of their fixed wording and make only what changes per call (the name,
//! the amount, the date) another way.
//!
//! **Mechanism.** A pack (one folder per dialect) holds recordings, each
//! with the text it says:
//! * **line phrases**: the fixed wording of every line, cut at its
//!   punctuation and at its `{{ variables }}` ([`script`] lists them, so a
//!   studio knows what to record); extra recordings of words the company
//!   always says (its name, its products) are line phrases too;
//! * **pieces**: digits, 十百千万, 元角分, 月日, 点半... from which amounts,
//!   dates and times are assembled.
//!
//! Text goes in, as for any [`Synthesizer`](crate::tts::Synthesizer):
//! [`PromptPack::plan`] covers a sentence with recordings (longest first,
//! pieces only inside numbers, never across a punctuation mark) and leaves
//! the rest (a name) to the synthesized voice; [`PromptedVoice`] plays the
//! plan: recordings and synthesized parts at one loudness, joined with a
//! short cross-fade, pauses only where the text has punctuation.
//!
//! **Guarantees.** A sentence with no recording in it is synthesized
//! exactly as without a pack. Every recording in an installed pack passed
//! [`recording::prepare`] (rate, mono, no clipping, not silent) and is
//! stored at one loudness. [`import`] replaces an installed pack only when
//! every file of the new one is valid, so a bad delivery loses nothing.

pub mod assemble;
pub mod import;
pub mod plan;
pub mod recording;
pub mod script;

pub use assemble::PromptedVoice;
pub use plan::Part;

use crate::audio;
use huikuan_core::Dialect;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The rate recordings are kept at (wideband; the line takes 8 kHz).
pub const PACK_RATE: u32 = 16_000;
/// The list of an installed pack's recordings: `kind<TAB>name<TAB>text`.
pub const INDEX_FILE: &str = "prompts.tsv";

/// What a recording is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Fixed wording (a phrase of a line, or an extra word the company
    /// records): used wherever its text occurs.
    Line,
    /// A part of a number, an amount, a date or a time: used only inside
    /// those.
    Piece,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Line => "line",
            Kind::Piece => "piece",
        }
    }

    fn named(s: &str) -> Option<Kind> {
        match s {
            "line" => Some(Kind::Line),
            "piece" => Some(Kind::Piece),
            _ => None,
        }
    }
}

/// One recording of a pack, ready to play.
#[derive(Clone)]
pub struct Recording {
    /// Its file in the pack, without `.wav` (`lines/confirm.2`, `pieces/三`).
    pub name: String,
    pub kind: Kind,
    /// What it says.
    pub text: String,
    /// At [`PACK_RATE`] and at the line's rate, loudness-normalised.
    wide: Arc<[f32]>,
    narrow: Arc<[f32]>,
}

impl Recording {
    pub fn new(name: &str, kind: Kind, text: &str, samples: Vec<f32>) -> Recording {
        let narrow = audio::convert(&samples, PACK_RATE, audio::LINE_RATE).unwrap_or_default();
        Recording {
            name: name.to_string(),
            kind,
            text: text.to_string(),
            wide: samples.into(),
            narrow: narrow.into(),
        }
    }

    /// The recording at `rate` Hz.
    pub fn samples(&self, rate: u32) -> Vec<f32> {
        match rate {
            PACK_RATE => self.wide.to_vec(),
            audio::LINE_RATE => self.narrow.to_vec(),
            _ => audio::convert(&self.wide, PACK_RATE, rate).unwrap_or_default(),
        }
    }

    pub fn seconds(&self) -> f64 {
        self.wide.len() as f64 / PACK_RATE as f64
    }
}

/// Characters a recording's text is matched on: its words without
/// punctuation or spaces.
pub fn said_chars(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| plan::pause_ms(*c).is_none())
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{file}:{line}: {reason}")]
    Index {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

/// One dialect's recordings.
pub struct PromptPack {
    pub dialect: Dialect,
    recordings: Vec<Recording>,
    /// What each recording says, as matched ([`said_chars`]).
    keys: Vec<Vec<char>>,
    /// Recordings by the first character of their text, longest first.
    by_first: HashMap<char, Vec<usize>>,
}

impl PromptPack {
    pub fn new(dialect: Dialect, recordings: Vec<Recording>) -> PromptPack {
        let keys: Vec<Vec<char>> = recordings.iter().map(|r| said_chars(&r.text)).collect();
        let mut by_first: HashMap<char, Vec<usize>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            if let Some(c) = key.first() {
                by_first.entry(*c).or_default().push(i);
            }
        }
        for list in by_first.values_mut() {
            list.sort_by_key(|&i| std::cmp::Reverse(keys[i].len()));
        }
        PromptPack {
            dialect,
            recordings,
            keys,
            by_first,
        }
    }

    pub fn recordings(&self) -> &[Recording] {
        &self.recordings
    }

    pub fn recording(&self, i: usize) -> &Recording {
        &self.recordings[i]
    }

    /// Reads an installed pack: `dir/prompts.tsv` and the WAV files it
    /// names. A bad line of the index names its line; a missing or bad
    /// recording names its file.
    pub fn load(dir: &Path, dialect: Dialect) -> Result<PromptPack, PackError> {
        let index = dir.join(INDEX_FILE);
        let text = std::fs::read_to_string(&index).map_err(|e| PackError::File {
            path: index.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut recordings = Vec::new();
        for (i, row) in text.lines().enumerate() {
            let at = |reason: String| PackError::Index {
                file: index.display().to_string(),
                line: i + 1,
                reason,
            };
            if row.trim().is_empty() || row.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = row.split('\t').collect();
            let [kind, name, said] = cols[..] else {
                return Err(at(format!(
                    "{} columns; expected kind, name and text separated by tabs",
                    cols.len()
                )));
            };
            let kind = Kind::named(kind)
                .ok_or_else(|| at(format!("kind '{kind}' is neither 'line' nor 'piece'")))?;
            if said_chars(said).is_empty() {
                return Err(at("text: empty".into()));
            }
            if name.contains("..") || name.starts_with('/') {
                return Err(at(format!("name '{name}': must stay inside the pack")));
            }
            let path = dir.join(format!("{name}.wav"));
            let samples = recording::prepare(&path).map_err(|reason| PackError::File {
                path: path.display().to_string(),
                reason,
            })?;
            recordings.push(Recording::new(name, kind, said, samples));
        }
        Ok(PromptPack::new(dialect, recordings))
    }
}

/// The packs of the dialects that have one.
#[derive(Default)]
pub struct PromptPacks {
    packs: HashMap<Dialect, Arc<PromptPack>>,
}

impl PromptPacks {
    /// Every dialect's pack under `dir` (`dir/mandarin`, ...); a dialect
    /// without a folder has none (everything it says is synthesized).
    pub fn load(dir: &Path) -> Result<PromptPacks, PackError> {
        if !dir.is_dir() {
            return Err(PackError::File {
                path: dir.display().to_string(),
                reason: "no such folder".into(),
            });
        }
        let mut packs = PromptPacks::default();
        for dialect in [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese] {
            let d = PromptPacks::folder(dir, dialect);
            if d.is_dir() {
                let pack = PromptPack::load(&d, dialect)?;
                tracing::info!(
                    %dialect,
                    recordings = pack.recordings.len(),
                    "recorded prompts loaded"
                );
                packs.packs.insert(dialect, Arc::new(pack));
            }
        }
        Ok(packs)
    }

    /// Where a dialect's pack is installed under `dir`.
    pub fn folder(dir: &Path, dialect: Dialect) -> PathBuf {
        dir.join(dialect.to_string())
    }

    pub fn with(mut self, pack: PromptPack) -> PromptPacks {
        self.packs.insert(pack.dialect, Arc::new(pack));
        self
    }

    pub fn get(&self, dialect: Dialect) -> Option<&Arc<PromptPack>> {
        self.packs.get(&dialect)
    }
}
