//! The other readings of a beam search.
//!
//! Problem: whisper.cpp keeps `beam_size` candidate sequences while it
//! decodes but returns only the best, so a reading the debtor's words
//! would favour (the amount said, not its near-homophone) is lost before
//! anyone who knows what was asked can look at it.
//!
//! Mechanism: whisper.cpp calls its logits callback for every live
//! candidate at every step, with the candidate's tokens so far (each with
//! the log-probability it was chosen with) and the logits of the next
//! token. [`BeamTrace::observe`] records, per prefix, the sum of its
//! tokens' log-probabilities and the log-probability of the end of text
//! after it. A prefix after which the end of text is plausible
//! ([`END_PLAUSIBLE`]) is a complete reading the search could have
//! returned; [`BeamTrace::readings`] scores each as whisper does (the mean
//! log-probability of its tokens and the end) and gives the best, best
//! first.
//!
//! Guarantees: only prefixes the search really held are read (nothing is
//! invented); the callback leaves the logits untouched, so the decode and
//! its best reading are the same with or without the trace; callbacks from
//! whisper's parallel decoder threads are serialised by a mutex. The end
//! of text's probability is read before whisper's last filters (regular
//! expressions, timestamp rules; neither is used here), so a score may
//! differ from whisper's own by those.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::Mutex;
use whisper_rs_sys::{whisper_context, whisper_state, whisper_token_data};

/// The end of text at least this likely (log-probability; 10%) after a
/// prefix makes the prefix a complete reading.
pub const END_PLAUSIBLE: f32 = -2.3;

#[derive(Debug, Clone, Copy)]
struct Prefix {
    log_sum: f32,
    end_logprob: f32,
}

/// What the beam search held, step by step (see the module doc).
#[derive(Debug)]
pub struct BeamTrace {
    eot: i32,
    prefixes: Mutex<HashMap<Vec<i32>, Prefix>>,
}

impl BeamTrace {
    /// A trace for a model whose end-of-text token is `eot`.
    pub fn new(eot: i32) -> Self {
        BeamTrace {
            eot,
            prefixes: Mutex::new(HashMap::new()),
        }
    }

    /// One candidate at one step: its tokens so far as (id,
    /// log-probability) and the logits of its next token.
    pub fn observe(&self, tokens: &[(i32, f32)], logits: &[f32]) {
        let Some(&eot_logit) = usize::try_from(self.eot).ok().and_then(|i| logits.get(i)) else {
            return;
        };
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if !max.is_finite() {
            return;
        }
        let sum: f32 = logits
            .iter()
            .filter(|l| l.is_finite())
            .map(|l| (l - max).exp())
            .sum();
        let end_logprob = eot_logit - max - sum.ln();
        let key: Vec<i32> = tokens.iter().map(|t| t.0).collect();
        let log_sum = tokens.iter().map(|t| t.1).sum();
        if let Ok(mut p) = self.prefixes.lock() {
            p.insert(
                key,
                Prefix {
                    log_sum,
                    end_logprob,
                },
            );
        }
    }

    /// The complete readings the search held, as (text tokens, score),
    /// best first, at most `n`. Tokens at or above the end of text
    /// (timestamps, specials) are left out of the readings.
    pub fn readings(&self, n: usize) -> Vec<(Vec<i32>, f32)> {
        let Ok(prefixes) = self.prefixes.lock() else {
            return Vec::new();
        };
        let mut out: Vec<(Vec<i32>, f32)> = prefixes
            .iter()
            .filter(|(tokens, p)| !tokens.is_empty() && p.end_logprob >= END_PLAUSIBLE)
            .map(|(tokens, p)| {
                let score = (p.log_sum + p.end_logprob) / (tokens.len() + 1) as f32;
                let text: Vec<i32> = tokens.iter().copied().filter(|t| *t < self.eot).collect();
                (text, score)
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.truncate(n);
        out
    }
}

/// whisper.cpp's logits callback recording into a [`BeamTrace`].
///
/// # Safety
/// `user_data` must point to a `BeamTrace` that outlives the decode;
/// whisper passes `n_tokens` valid tokens and a full vocabulary of logits.
pub unsafe extern "C" fn record(
    ctx: *mut whisper_context,
    _state: *mut whisper_state,
    tokens: *const whisper_token_data,
    n_tokens: c_int,
    logits: *mut f32,
    user_data: *mut c_void,
) {
    if user_data.is_null() || logits.is_null() || ctx.is_null() {
        return;
    }
    // SAFETY: as the function's contract says.
    let trace = unsafe { &*(user_data as *const BeamTrace) };
    let n_vocab = unsafe { whisper_rs_sys::whisper_n_vocab(ctx) };
    let Ok(n_vocab) = usize::try_from(n_vocab) else {
        return;
    };
    let tokens: Vec<(i32, f32)> = match usize::try_from(n_tokens) {
        Ok(n) if n > 0 && !tokens.is_null() => {
            // SAFETY: whisper passes `n_tokens` tokens.
            unsafe { std::slice::from_raw_parts(tokens, n) }
                .iter()
                .map(|t| (t.id, t.plog))
                .collect()
        }
        _ => Vec::new(),
    };
    // SAFETY: whisper passes a full vocabulary of logits.
    let logits = unsafe { std::slice::from_raw_parts(logits as *const f32, n_vocab) };
    trace.observe(&tokens, logits);
}

#[cfg(test)]
mod tests {
    use super::*;

    const EOT: i32 = 9;

    /// Logits over a 10-token vocabulary where the end of text has
    /// probability `p_end` and the rest share what is left.
    fn logits(p_end: f32) -> Vec<f32> {
        let rest = (1.0 - p_end) / 9.0;
        (0..10)
            .map(|i| {
                if i == EOT as usize {
                    p_end.ln()
                } else {
                    rest.ln()
                }
            })
            .collect()
    }

    #[test]
    fn completed_prefixes_are_readings_scored_by_mean_log_probability() {
        let trace = BeamTrace::new(EOT);
        // The first step: no end possible before any word.
        trace.observe(&[], &logits(0.0));
        trace.observe(&[(1, -0.1)], &logits(0.01));
        trace.observe(&[(2, -0.7)], &logits(0.01));
        trace.observe(&[(1, -0.1), (3, -0.2)], &logits(0.9));
        trace.observe(&[(2, -0.7), (3, -0.1)], &logits(0.8));
        let r = trace.readings(5);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[0].0, vec![1, 3]);
        assert_eq!(r[1].0, vec![2, 3]);
        let expected = (-0.1 - 0.2 + 0.9f32.ln()) / 3.0;
        assert!((r[0].1 - expected).abs() < 1e-4, "{}", r[0].1);
        assert!(r[0].1 > r[1].1);
        assert_eq!(trace.readings(1).len(), 1);
    }

    #[test]
    fn special_tokens_are_not_part_of_a_reading_and_bad_logits_are_ignored() {
        let trace = BeamTrace::new(EOT);
        trace.observe(&[(1, -0.1), (12, 0.0)], &logits(0.5));
        assert_eq!(trace.readings(5)[0].0, vec![1]);
        let trace = BeamTrace::new(EOT);
        trace.observe(&[(1, -0.1)], &[f32::NEG_INFINITY; 10]);
        trace.observe(&[(1, -0.1)], &[0.0; 3]);
        assert!(trace.readings(5).is_empty());
    }
}
