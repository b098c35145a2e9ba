//! Async access to a blocking recognizer: decodes run on tokio's blocking
//! threads, at most `max_concurrent` at a time (each already uses several
//! threads), so a burst of calls queues instead of thrashing the CPU.

use super::{AsrError, RecognizeRequest, Recognizer, Transcript};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct AsrPool {
    recognizer: Arc<dyn Recognizer>,
    permits: Arc<Semaphore>,
}

impl AsrPool {
    pub fn new(recognizer: Arc<dyn Recognizer>, max_concurrent: usize) -> Self {
        AsrPool {
            recognizer,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    /// A decode could start now without waiting.
    pub fn has_free_slot(&self) -> bool {
        self.permits.available_permits() > 0
    }

    pub fn recognizer(&self) -> &Arc<dyn Recognizer> {
        &self.recognizer
    }

    /// Decodes queued behind at most `max_concurrent` others. The permit
    /// goes with the decode onto its blocking thread: a caller that gives
    /// up (an aborted speculative decode) cannot stop a decode once it
    /// runs, and its permit is held until that decode is done.
    pub async fn recognize(
        &self,
        samples: Vec<f32>,
        language: String,
        prompt: String,
    ) -> Result<Transcript, AsrError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AsrError::Closed)?;
        let r = self.recognizer.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            r.recognize(&RecognizeRequest {
                samples: &samples,
                language: &language,
                prompt: &prompt,
            })
        })
        .await
        .map_err(|e| AsrError::Decode(format!("decode task failed: {e}")))?
    }
}
