//! Dialect-trained recognizers for users who can download them: a
//! sherpa-onnx SenseVoice model directory (model.onnx or model.int8.onnx,
//! plus tokens.txt), e.g. sherpa-onnx-sense-voice-zh-en-ja-ko-yue. No
//! package registry reachable from the build machines carries such a model,
//! so only loading and its errors are tested here.

use super::{AsrError, RecognizeRequest, Recognizer, Transcript};
use crate::text::clean_transcript;
use sherpa_rs::sense_voice::{SenseVoiceConfig, SenseVoiceRecognizer};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

pub struct SenseVoice {
    dir: PathBuf,
    inner: Mutex<SenseVoiceRecognizer>,
}

impl SenseVoice {
    pub fn load(dir: &Path, threads: i32) -> Result<Self, AsrError> {
        let err = |reason: String| AsrError::Model {
            path: dir.display().to_string(),
            reason,
        };
        let model = ["model.int8.onnx", "model.onnx"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| err("no model.onnx or model.int8.onnx in this directory".into()))?;
        let tokens = dir.join("tokens.txt");
        if !tokens.is_file() {
            return Err(err("no tokens.txt in this directory".into()));
        }
        let inner = SenseVoiceRecognizer::new(SenseVoiceConfig {
            model: model.display().to_string(),
            tokens: tokens.display().to_string(),
            language: "auto".into(),
            use_itn: true,
            num_threads: Some(threads.max(1)),
            ..Default::default()
        })
        .map_err(|e| err(format!("sherpa-onnx could not load it: {e}")))?;
        Ok(SenseVoice {
            dir: dir.to_path_buf(),
            inner: Mutex::new(inner),
        })
    }
}

impl Recognizer for SenseVoice {
    fn recognize(&self, req: &RecognizeRequest<'_>) -> Result<Transcript, AsrError> {
        let started = Instant::now();
        let text = {
            let mut r = self.inner.lock().map_err(|_| AsrError::Closed)?;
            r.transcribe(16_000, req.samples).text
        };
        let text = clean_transcript(&text);
        Ok(Transcript {
            // SenseVoice reports no probabilities of its own.
            confidence: if text.is_empty() { 0.0 } else { 1.0 },
            text,
            no_speech_prob: 0.0,
            decode_ms: started.elapsed().as_millis() as u64,
            nbest: Vec::new(),
        })
    }

    fn describe(&self) -> String {
        format!("sherpa-onnx SenseVoice ({})", self.dir.display())
    }
}
