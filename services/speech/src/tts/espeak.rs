//! The Cantonese voice: eSpeak NG's `yue` voice through libespeak-ng
//! (formant synthesis: intelligible but plainly synthetic; the best
//! Cantonese voice with weights obtainable from the package registries).
//! libespeak-ng keeps global state, so one process has one instance and
//! sentences are spoken one at a time.

use super::{SynthError, Voice, VoiceStyle};
use espeakng_sys as es;
use std::cell::RefCell;
use std::ffi::CString;
use std::os::raw::{c_int, c_short};
use std::sync::Mutex;

thread_local! {
    static SAMPLES: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
}

unsafe extern "C" fn collect(wav: *mut c_short, n: c_int, _events: *mut es::espeak_EVENT) -> c_int {
    if !wav.is_null() && n > 0 {
        // SAFETY: eSpeak hands us `n` samples it owns for this call.
        let s = unsafe { std::slice::from_raw_parts(wav, n as usize) };
        SAMPLES.with(|b| b.borrow_mut().extend_from_slice(s));
    }
    0
}

/// The directory that contains `espeak-ng-data` (Debian puts it under the
/// multiarch lib directory, upstream under /usr/share).
fn data_parent() -> Option<String> {
    let mut candidates: Vec<std::path::PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("ESPEAK_DATA_PATH") {
        candidates.push(p.into());
    }
    candidates.extend(
        [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib",
            "/usr/share",
            "/usr/local/share",
        ]
        .map(std::path::PathBuf::from),
    );
    candidates
        .into_iter()
        .find(|p| p.join("espeak-ng-data/phontab").is_file())
        .map(|p| p.display().to_string())
}

pub struct EspeakVoice {
    rate: u32,
    lock: Mutex<()>,
}

static INSTANCE: Mutex<Option<(u32, String)>> = Mutex::new(None);

impl EspeakVoice {
    /// Initialises libespeak-ng with `voice` (e.g. "yue"). Call once.
    pub fn load(voice: &str) -> Result<Self, SynthError> {
        let mut inst = INSTANCE.lock().map_err(|_| SynthError::Closed)?;
        if let Some((rate, v)) = inst.as_ref() {
            if v != voice {
                return Err(SynthError::Model {
                    path: format!("espeak-ng:{voice}"),
                    reason: format!("eSpeak NG already speaks '{v}' in this process"),
                });
            }
            return Ok(EspeakVoice {
                rate: *rate,
                lock: Mutex::new(()),
            });
        }
        let err = |reason: String| SynthError::Model {
            path: format!("espeak-ng:{voice}"),
            reason,
        };
        // espeak_Initialize exits the process when its data is missing:
        // find the folder holding espeak-ng-data/phontab first.
        let data_parent = data_parent().ok_or_else(|| {
            err("espeak-ng-data not found (apt-get install espeak-ng-data, or set ESPEAK_DATA_PATH)".into())
        })?;
        let path = CString::new(data_parent).map_err(|e| err(e.to_string()))?;
        // SAFETY: plain C initialisation; `path` outlives the call.
        let rate = unsafe {
            es::espeak_Initialize(
                es::espeak_AUDIO_OUTPUT_AUDIO_OUTPUT_SYNCHRONOUS,
                0,
                path.as_ptr(),
                0,
            )
        };
        if rate <= 0 {
            return Err(err(
                "libespeak-ng did not initialise (is espeak-ng-data installed?)".into(),
            ));
        }
        let name = CString::new(voice).map_err(|e| err(e.to_string()))?;
        // SAFETY: `collect` matches t_espeak_callback; `name` outlives the call.
        let rc = unsafe {
            es::espeak_SetSynthCallback(Some(collect));
            es::espeak_SetVoiceByName(name.as_ptr())
        };
        if rc != es::espeak_ERROR_EE_OK {
            return Err(err(format!("no eSpeak NG voice '{voice}' (error {rc})")));
        }
        *inst = Some((rate as u32, voice.to_string()));
        Ok(EspeakVoice {
            rate: rate as u32,
            lock: Mutex::new(()),
        })
    }
}

impl Voice for EspeakVoice {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn speak_sentence(&self, spoken: &str, style: VoiceStyle) -> Result<Vec<f32>, SynthError> {
        let _guard = self.lock.lock().map_err(|_| SynthError::Closed)?;
        let text = CString::new(spoken.replace('\0', ""))
            .map_err(|e| SynthError::Synthesis(e.to_string()))?;
        SAMPLES.with(|b| b.borrow_mut().clear());
        let wpm = (175.0 * style.speed.clamp(0.5, 2.0)) as c_int;
        // eSpeak's pitch runs 0..=100 around 50.
        let pitch = (50.0 * style.pitch).clamp(0.0, 100.0) as c_int;
        // SAFETY: synchronous mode: the callback runs on this thread before
        // espeak_Synth returns; `text` outlives the call.
        let rc = unsafe {
            es::espeak_SetParameter(es::espeak_PARAMETER_espeakRATE, wpm, 0);
            es::espeak_SetParameter(es::espeak_PARAMETER_espeakPITCH, pitch, 0);
            es::espeak_Synth(
                text.as_ptr().cast(),
                text.as_bytes().len() + 1,
                0,
                es::espeak_POSITION_TYPE_POS_CHARACTER,
                0,
                es::espeakCHARS_UTF8,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if rc != es::espeak_ERROR_EE_OK {
            return Err(SynthError::Synthesis(format!("espeak_Synth error {rc}")));
        }
        Ok(SAMPLES.with(|b| b.borrow().iter().map(|&s| s as f32 / 32768.0).collect()))
    }
}
