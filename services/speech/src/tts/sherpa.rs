//! Downloaded neural voices: a sherpa-onnx VITS or Matcha model directory
//! per dialect (`[speech] neural_voices`), e.g. a Cantonese VITS voice
//! from the sherpa-onnx model zoo. No package registry reachable from the
//! build machines carries such a model, so what is tested here is finding
//! the model's files and every way loading can fail; speaking is untested.
//!
//! A directory holds `tokens.txt`, the model (`.onnx`: one for VITS; an
//! acoustic model and a vocoder named `vocos*`, `hifigan*` or `*vocoder*`
//! for Matcha), and how text becomes tokens: `lexicon.txt`, `dict/`
//! (jieba, for Chinese) and/or `espeak-ng-data/`. Every `.onnx` file is
//! opened with ONNX Runtime before sherpa-onnx sees it, because sherpa-onnx
//! aborts the process on a model it cannot read instead of returning an
//! error.

use super::{SynthError, Voice, VoiceStyle};
use sherpa_rs::sherpa_rs_sys as sys;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Which kind of model a directory holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    Vits { model: PathBuf },
    Matcha { acoustic: PathBuf, vocoder: PathBuf },
}

/// The files of a voice directory.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceFiles {
    pub model: Model,
    pub tokens: PathBuf,
    pub lexicon: Option<PathBuf>,
    pub dict_dir: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    /// Text normalisation rules shipped with Chinese voices.
    pub rule_fsts: Vec<PathBuf>,
}

fn is_vocoder(name: &str) -> bool {
    name.starts_with("vocos") || name.starts_with("hifigan") || name.contains("vocoder")
}

/// Finds a voice's files in `dir`; says what is missing or ambiguous.
pub fn find_files(dir: &Path) -> Result<VoiceFiles, SynthError> {
    let err = |reason: String| SynthError::Model {
        path: dir.display().to_string(),
        reason,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| err(e.to_string()))?;
    let mut onnx: Vec<String> = Vec::new();
    let mut fsts = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".onnx") {
            onnx.push(name);
        } else if name.ends_with(".fst") {
            fsts.push(dir.join(&name));
        }
    }
    onnx.sort();
    fsts.sort();
    let (vocoders, models): (Vec<&String>, Vec<&String>) = onnx.iter().partition(|n| is_vocoder(n));
    let one = |list: &[&String], what: &str| -> Result<PathBuf, SynthError> {
        match list {
            [only] => Ok(dir.join(only)),
            [] => Err(err(format!("no {what} (.onnx) in this directory"))),
            many => {
                let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                match many.iter().find(|n| n.as_str() == "model.onnx") {
                    Some(m) => Ok(dir.join(m)),
                    None => Err(err(format!(
                        "several {what}s ({}): keep one, or name it model.onnx",
                        names.join(", ")
                    ))),
                }
            }
        }
    };
    let model = if vocoders.is_empty() {
        Model::Vits {
            model: one(&models, "model")?,
        }
    } else {
        Model::Matcha {
            acoustic: one(&models, "acoustic model")?,
            vocoder: one(&vocoders, "vocoder")?,
        }
    };
    let tokens = dir.join("tokens.txt");
    if !tokens.is_file() {
        return Err(err("no tokens.txt in this directory".into()));
    }
    let present = |name: &str, is_dir: bool| {
        let p = dir.join(name);
        let there = if is_dir { p.is_dir() } else { p.is_file() };
        there.then_some(p)
    };
    let files = VoiceFiles {
        model,
        tokens,
        lexicon: present("lexicon.txt", false),
        dict_dir: present("dict", true),
        data_dir: present("espeak-ng-data", true),
        rule_fsts: fsts,
    };
    if files.lexicon.is_none() && files.data_dir.is_none() {
        return Err(err(
            "no lexicon.txt or espeak-ng-data/: nothing turns text into the model's tokens".into(),
        ));
    }
    Ok(files)
}

/// A sherpa-onnx voice, loaded once; one sentence at a time.
pub struct SherpaVoice {
    tts: Mutex<Handle>,
    rate: u32,
}

struct Handle(*const sys::SherpaOnnxOfflineTts);

// The handle is only used under the mutex.
unsafe impl Send for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: made by SherpaOnnxCreateOfflineTts, destroyed once.
        unsafe { sys::SherpaOnnxDestroyOfflineTts(self.0) }
    }
}

fn c_path(p: &Option<PathBuf>) -> CString {
    c_str(
        &p.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    )
}

fn c_str(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

impl SherpaVoice {
    /// Loads the voice in `dir` ([`find_files`]), each model file first
    /// opened with ONNX Runtime (`onnxruntime`: its library).
    pub fn load(dir: &Path, threads: usize, onnxruntime: &Path) -> Result<SherpaVoice, SynthError> {
        let files = find_files(dir)?;
        super::zhtts::init_onnxruntime(onnxruntime)?;
        let models = match &files.model {
            Model::Vits { model } => vec![model],
            Model::Matcha { acoustic, vocoder } => vec![acoustic, vocoder],
        };
        for m in models {
            super::zhtts::session(m, 1).map_err(|e| match e {
                SynthError::Model { path, reason } => SynthError::Model {
                    path,
                    reason: format!("not a model ONNX Runtime can open: {reason}"),
                },
                other => other,
            })?;
        }
        let none = c_str("");
        let tokens = c_str(&files.tokens.display().to_string());
        let lexicon = c_path(&files.lexicon);
        let dict = c_path(&files.dict_dir);
        let data = c_path(&files.data_dir);
        let provider = c_str("cpu");
        let fsts = c_str(
            &files
                .rule_fsts
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
        let (model, acoustic, vocoder) = match &files.model {
            Model::Vits { model } => (c_path(&Some(model.clone())), c_str(""), c_str("")),
            Model::Matcha { acoustic, vocoder } => (
                c_str(""),
                c_path(&Some(acoustic.clone())),
                c_path(&Some(vocoder.clone())),
            ),
        };
        let is_vits = matches!(files.model, Model::Vits { .. });
        // SAFETY: every pointer is to a CString alive until the call
        // returns; the zeroed structs are the C API's "not used".
        let tts = unsafe {
            let mut model_config: sys::SherpaOnnxOfflineTtsModelConfig = std::mem::zeroed();
            model_config.num_threads = threads.max(1) as i32;
            model_config.provider = provider.as_ptr();
            if is_vits {
                model_config.vits.model = model.as_ptr();
                model_config.vits.tokens = tokens.as_ptr();
                model_config.vits.lexicon = lexicon.as_ptr();
                model_config.vits.dict_dir = dict.as_ptr();
                model_config.vits.data_dir = data.as_ptr();
                model_config.vits.noise_scale = 0.667;
                model_config.vits.noise_scale_w = 0.8;
                model_config.vits.length_scale = 1.0;
            } else {
                model_config.matcha.acoustic_model = acoustic.as_ptr();
                model_config.matcha.vocoder = vocoder.as_ptr();
                model_config.matcha.tokens = tokens.as_ptr();
                model_config.matcha.lexicon = lexicon.as_ptr();
                model_config.matcha.dict_dir = dict.as_ptr();
                model_config.matcha.data_dir = data.as_ptr();
                model_config.matcha.noise_scale = 0.667;
                model_config.matcha.length_scale = 1.0;
            }
            let mut config: sys::SherpaOnnxOfflineTtsConfig = std::mem::zeroed();
            config.model = model_config;
            config.max_num_sentences = 1;
            config.rule_fsts = if files.rule_fsts.is_empty() {
                none.as_ptr()
            } else {
                fsts.as_ptr()
            };
            config.rule_fars = none.as_ptr();
            config.silence_scale = 0.2;
            sys::SherpaOnnxCreateOfflineTts(&config)
        };
        if tts.is_null() {
            return Err(SynthError::Model {
                path: dir.display().to_string(),
                reason: "sherpa-onnx refused the voice's configuration (see its log above)".into(),
            });
        }
        let handle = Handle(tts);
        // SAFETY: a live handle.
        let rate = unsafe { sys::SherpaOnnxOfflineTtsSampleRate(handle.0) };
        Ok(SherpaVoice {
            tts: Mutex::new(handle),
            rate: rate.max(1) as u32,
        })
    }
}

impl Voice for SherpaVoice {
    fn rate(&self) -> u32 {
        self.rate
    }

    /// Speaks at `style.speed`; sherpa-onnx voices have no pitch control.
    fn speak_sentence(&self, spoken: &str, style: VoiceStyle) -> Result<Vec<f32>, SynthError> {
        let handle = self.tts.lock().map_err(|_| SynthError::Closed)?;
        let text = CString::new(spoken).map_err(|e| SynthError::Synthesis(e.to_string()))?;
        // SAFETY: a live handle used under its lock; the audio is copied
        // out and freed once.
        unsafe {
            let audio = sys::SherpaOnnxOfflineTtsGenerate(handle.0, text.as_ptr(), 0, style.speed);
            if audio.is_null() {
                return Err(SynthError::Synthesis("sherpa-onnx made no audio".into()));
            }
            let a = &*audio;
            let samples = if a.samples.is_null() || a.n <= 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts(a.samples, a.n as usize).to_vec()
            };
            sys::SherpaOnnxDestroyOfflineTtsGeneratedAudio(audio);
            Ok(samples)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[&str], dirs: &[&str]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for f in files {
            std::fs::write(d.path().join(f), b"x").unwrap();
        }
        for sub in dirs {
            std::fs::create_dir(d.path().join(sub)).unwrap();
        }
        d
    }

    fn reason(d: &tempfile::TempDir) -> String {
        match find_files(d.path()) {
            Err(SynthError::Model { reason, .. }) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_vits_and_a_matcha_directory_are_told_apart() {
        let vits = dir_with(
            &["vits-yue.onnx", "tokens.txt", "lexicon.txt", "number.fst"],
            &["dict"],
        );
        let f = find_files(vits.path()).unwrap();
        assert_eq!(
            f.model,
            Model::Vits {
                model: vits.path().join("vits-yue.onnx")
            }
        );
        assert!(f.lexicon.is_some() && f.dict_dir.is_some() && f.data_dir.is_none());
        assert_eq!(f.rule_fsts, vec![vits.path().join("number.fst")]);
        let matcha = dir_with(
            &["model-steps-3.onnx", "vocos-22khz-univ.onnx", "tokens.txt"],
            &["espeak-ng-data"],
        );
        let f = find_files(matcha.path()).unwrap();
        assert_eq!(
            f.model,
            Model::Matcha {
                acoustic: matcha.path().join("model-steps-3.onnx"),
                vocoder: matcha.path().join("vocos-22khz-univ.onnx"),
            }
        );
    }

    #[test]
    fn what_a_voice_directory_lacks_is_said() {
        assert_eq!(
            reason(&dir_with(&["tokens.txt", "lexicon.txt"], &[])),
            "no model (.onnx) in this directory"
        );
        assert_eq!(
            reason(&dir_with(
                &["a.onnx", "b.onnx", "tokens.txt", "lexicon.txt"],
                &[]
            )),
            "several models (a.onnx, b.onnx): keep one, or name it model.onnx"
        );
        assert_eq!(
            reason(&dir_with(
                &["hifigan_v2.onnx", "tokens.txt", "lexicon.txt"],
                &[]
            )),
            "no acoustic model (.onnx) in this directory"
        );
        assert_eq!(
            reason(&dir_with(&["model.onnx", "lexicon.txt"], &[])),
            "no tokens.txt in this directory"
        );
        assert!(reason(&dir_with(&["model.onnx", "tokens.txt"], &[])).starts_with("no lexicon.txt"));
        // Two models, one of them model.onnx: that one.
        let d = dir_with(
            &["model.onnx", "old.onnx", "tokens.txt", "lexicon.txt"],
            &[],
        );
        assert!(find_files(d.path()).is_ok());
    }
}
