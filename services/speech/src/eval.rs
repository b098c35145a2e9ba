//! Recognition scoring over a folder of clips: `transcripts.tsv` (header
//! row with at least `filename` and `transcript` columns) beside the WAV
//! files. Per clip and total CER, and the real-time factor.

use crate::asr::{AsrError, RecognizeRequest, Recognizer};
use crate::audio::{self, Law, ASR_RATE};
use crate::pack::DialectPack;
use crate::text::CerCount;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {reason}")]
    Manifest { path: String, reason: String },
    #[error("{path}: line {line}: {reason}")]
    Row {
        path: String,
        line: usize,
        reason: String,
    },
    #[error(transparent)]
    Wav(#[from] audio::wav::WavError),
    #[error(transparent)]
    Resample(#[from] audio::resample::ResampleError),
    #[error("{file}: {source}")]
    Asr { file: String, source: AsrError },
}

/// The shared folder of real speech clips (one folder per dialect, each
/// with its `transcripts.tsv`) for tests and measurements:
/// `HUIKUAN_SPEECH_TESTDATA` when set, else `shared/testdata/speech` beside
/// the checkout, if there.
pub fn speech_testdata() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("HUIKUAN_SPEECH_TESTDATA") {
        return Some(PathBuf::from(d));
    }
    [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/speech"),
        PathBuf::from("/work/shared/testdata/speech"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

#[derive(Debug, Clone)]
pub struct EvalItem {
    pub file: PathBuf,
    pub reference: String,
}

/// Reads `dir/transcripts.tsv`.
pub fn read_manifest(dir: &Path) -> Result<Vec<EvalItem>, EvalError> {
    let path = dir.join("transcripts.tsv");
    let p = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| EvalError::Manifest {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, h)| h.split('\t').map(str::trim).collect())
        .unwrap_or_default();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| EvalError::Manifest {
                path: p.clone(),
                reason: format!("header has no '{name}' column"),
            })
    };
    let (fcol, tcol) = (col("filename")?, col("transcript")?);
    let mut items = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        let (Some(f), Some(t)) = (cells.get(fcol), cells.get(tcol)) else {
            return Err(EvalError::Row {
                path: p.clone(),
                line: i + 1,
                reason: format!("expected at least {} columns", fcol.max(tcol) + 1),
            });
        };
        items.push(EvalItem {
            file: dir.join(f.trim()),
            reference: t.trim().to_string(),
        });
    }
    Ok(items)
}

#[derive(Debug, Clone)]
pub struct ClipResult {
    pub file: String,
    pub reference: String,
    pub hypothesis: String,
    pub cer: CerCount,
    pub audio_s: f64,
    pub decode_s: f64,
}

#[derive(Debug, Clone, Default)]
pub struct EvalTotals {
    pub cer: CerCount,
    pub audio_s: f64,
    pub decode_s: f64,
}

impl EvalTotals {
    pub fn rtf(&self) -> f64 {
        if self.audio_s > 0.0 {
            self.decode_s / self.audio_s
        } else {
            0.0
        }
    }

    pub fn add(&mut self, c: &ClipResult) {
        self.cer.add(c.cer);
        self.audio_s += c.audio_s;
        self.decode_s += c.decode_s;
    }
}

/// Loads one clip as 16 kHz mono, through the telephone band when `line`
/// names a G.711 law.
pub fn load_clip(file: &Path, line: Option<Law>) -> Result<(Vec<f32>, f64), EvalError> {
    let clip = audio::read_mono(file)?;
    let secs = clip.seconds();
    let samples = match line {
        Some(law) => audio::telephone_band(&clip.samples, clip.rate, law)?,
        None => audio::convert(&clip.samples, clip.rate, ASR_RATE)?,
    };
    Ok((samples, secs))
}

/// Recognizes and scores one clip.
pub fn score_clip(
    recognizer: &dyn Recognizer,
    pack: &DialectPack,
    prompt: &str,
    item: &EvalItem,
    line: Option<Law>,
) -> Result<ClipResult, EvalError> {
    let (samples, audio_s) = load_clip(&item.file, line)?;
    let t = recognizer
        .recognize(&RecognizeRequest {
            samples: &samples,
            language: &pack.asr.language,
            prompt,
            threads: None,
            cancelled: None,
            answers: &[],
        })
        .map_err(|source| EvalError::Asr {
            file: item.file.display().to_string(),
            source,
        })?;
    Ok(ClipResult {
        file: item
            .file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        cer: CerCount::of(&item.reference, &t.text),
        reference: item.reference.clone(),
        hypothesis: t.text,
        audio_s,
        decode_s: t.decode_ms as f64 / 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_by_column_name_with_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("transcripts.tsv"),
            "source\tfilename\ttranscript\nx\ta.wav\t你好\n\ny\tb.wav\t再见\n",
        )
        .unwrap();
        let items = read_manifest(dir.path()).unwrap();
        assert_eq!(items.len(), 2);
        assert!(items[1].file.ends_with("b.wav"));
        assert_eq!(items[1].reference, "再见");
        std::fs::write(
            dir.path().join("transcripts.tsv"),
            "filename\ttranscript\na.wav\n",
        )
        .unwrap();
        let e = read_manifest(dir.path()).unwrap_err().to_string();
        assert!(
            e.ends_with("transcripts.tsv: line 2: expected at least 2 columns"),
            "{e}"
        );
        std::fs::write(dir.path().join("transcripts.tsv"), "name\ttext\n").unwrap();
        let e = read_manifest(dir.path()).unwrap_err().to_string();
        assert!(e.contains("no 'filename' column"), "{e}");
    }
}
