//! A low-priority decoding lane for transcripts nobody waits on to reply.
//!
//! Problem: a live call needs two kinds of recognition. The robot's turns
//! must be decoded at once (the debtor waits for the reply), but the
//! transcript of a call bridged to a person (both sides, on the agent's
//! screen and in the record) only has to keep up on average. Sharing one
//! queue, twenty bridged calls' transcripts hold up every robot turn on the
//! machine; giving them their own threads at normal priority, they take the
//! cores from the robot's turns and from the 20 ms media ticks.
//!
//! Mechanism: one thread per process decodes these utterances in the order
//! they were heard, on one thread each, at a low scheduling priority
//! (nice 10 on Linux: about a tenth of a core's share against normal
//! work), so it runs mostly on the time the robot's decodes and the media
//! leave free, and is never starved outright. Utterances whose caller has gone (the call ended
//! before its words were reached and nobody waits) are skipped.
//!
//! Guarantees: every utterance handed in is decoded (or answered with an
//! error), in order, unless its caller stopped waiting for it; the lane never takes time from normal-priority work
//! beyond its low share while that work wants the cores; under sustained overload the lane falls
//! behind (its backlog is [`BackgroundLane::backlog`]) instead of slowing
//! the calls. Two functions: [`BackgroundLane::shared`] and
//! [`BackgroundLane::recognize`].

use super::pool::CancelOnDrop;
use super::{AsrError, Decoding, RecognizeRequest, Recognizer, Transcript};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::oneshot;

/// One utterance for the lane.
struct Job {
    recognizer: Arc<dyn Recognizer>,
    samples: Vec<f32>,
    decoding: Decoding,
    cancelled: Arc<AtomicBool>,
    reply: oneshot::Sender<Result<Transcript, AsrError>>,
}

pub struct BackgroundLane {
    jobs: Mutex<mpsc::Sender<Job>>,
    backlog: Arc<AtomicUsize>,
}

impl BackgroundLane {
    /// The process's lane, its thread started on first use.
    pub fn shared() -> Result<&'static BackgroundLane, AsrError> {
        static LANE: OnceLock<Result<BackgroundLane, String>> = OnceLock::new();
        LANE.get_or_init(BackgroundLane::start)
            .as_ref()
            .map_err(|e| AsrError::Decode(e.clone()))
    }

    fn start() -> Result<BackgroundLane, String> {
        let (tx, rx) = mpsc::channel::<Job>();
        let backlog = Arc::new(AtomicUsize::new(0));
        let left = backlog.clone();
        std::thread::Builder::new()
            .name("asr-background".into())
            .spawn(move || {
                lower_own_priority();
                for job in rx {
                    left.fetch_sub(1, Ordering::Relaxed);
                    if job.cancelled.load(Ordering::Relaxed) || job.reply.is_closed() {
                        continue;
                    }
                    let result = job.recognizer.recognize(&RecognizeRequest {
                        samples: &job.samples,
                        language: &job.decoding.language,
                        prompt: &job.decoding.prompt,
                        threads: Some(1),
                        cancelled: Some(&job.cancelled),
                        answers: &job.decoding.answers,
                    });
                    let _ = job.reply.send(result);
                }
            })
            .map_err(|e| format!("starting the background decoding thread: {e}"))?;
        Ok(BackgroundLane {
            jobs: Mutex::new(tx),
            backlog,
        })
    }

    /// Decodes `samples` once the utterances handed in before it are done.
    /// Dropping the future before then skips it (or stops it at the
    /// recognizer's next step).
    pub async fn recognize(
        &self,
        recognizer: Arc<dyn Recognizer>,
        samples: Vec<f32>,
        decoding: Decoding,
    ) -> Result<Transcript, AsrError> {
        let cancelled = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(cancelled.clone());
        let (reply, answer) = oneshot::channel();
        let job = Job {
            recognizer,
            samples,
            decoding,
            cancelled,
            reply,
        };
        let waiting = self.backlog.fetch_add(1, Ordering::Relaxed) + 1;
        if waiting.is_multiple_of(BEHIND_EVERY) {
            tracing::warn!(
                waiting,
                "live transcripts are falling behind: the machine is overloaded"
            );
        }
        let sent = self
            .jobs
            .lock()
            .map_err(|_| AsrError::Closed)?
            .send(job)
            .map_err(|_| AsrError::Closed);
        if sent.is_err() {
            self.backlog.fetch_sub(1, Ordering::Relaxed);
        }
        sent?;
        answer.await.map_err(|_| AsrError::Closed)?
    }

    /// Utterances handed in and not yet started.
    pub fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Relaxed)
    }
}

/// A warning is logged each time this many more utterances are waiting.
const BEHIND_EVERY: usize = 25;

/// The lane's nice value: a tenth of a normal thread's CPU share when the
/// cores are contended.
const NICE: i32 = 10;

/// Puts the calling thread (and the threads it starts) at a low
/// scheduling priority ([`NICE`]):
/// on Linux `setpriority` with the thread's id applies to that thread only.
pub fn lower_own_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions; setpriority only reads its
        // arguments and changes this thread's nice value.
        let r = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, NICE)
        };
        if r != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "background decoding runs at normal priority"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Answers with the utterance's length, noting the order and the
    /// thread's nice value; the first utterance waits to be released.
    struct Counter {
        started: AtomicBool,
        release: Mutex<mpsc::Receiver<()>>,
        heard: Mutex<Vec<usize>>,
        nice: Mutex<Vec<i32>>,
    }

    impl Recognizer for Counter {
        fn recognize(&self, req: &RecognizeRequest<'_>) -> Result<Transcript, AsrError> {
            if !self.started.swap(true, Ordering::SeqCst) {
                let _ = self
                    .release
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10));
            }
            self.heard.lock().unwrap().push(req.samples.len());
            #[cfg(target_os = "linux")]
            // SAFETY: getpriority only reads; 0 means the calling thread.
            self.nice
                .lock()
                .unwrap()
                .push(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) });
            Ok(Transcript {
                text: format!("{} on {:?}", req.samples.len(), req.threads),
                no_speech_prob: 0.0,
                confidence: 1.0,
                decode_ms: 0,
                nbest: Vec::new(),
            })
        }
        fn describe(&self) -> String {
            "counter".into()
        }
    }

    async fn until(what: &str, done: impl Fn() -> bool) {
        for _ in 0..1000 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{what} never happened");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn utterances_are_decoded_in_order_at_low_priority_and_unwanted_ones_skipped() {
        let (release, rx) = mpsc::channel();
        let counter = Arc::new(Counter {
            started: AtomicBool::new(false),
            release: Mutex::new(rx),
            heard: Mutex::new(Vec::new()),
            nice: Mutex::new(Vec::new()),
        });
        let lane = BackgroundLane::shared().unwrap();
        let decode = |n: usize| {
            let r: Arc<dyn Recognizer> = counter.clone();
            tokio::spawn(lane.recognize(r, vec![0.0; n], Decoding::default()))
        };
        let first = decode(1);
        until("the first decode", || {
            counter.started.load(Ordering::SeqCst)
        })
        .await;
        // The second waits behind the first; its caller gives up.
        let abandoned = decode(2);
        until("the second queued", || lane.backlog() == 1).await;
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        let third = decode(3);
        until("the third queued", || lane.backlog() == 2).await;
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap().text, "1 on Some(1)");
        assert_eq!(third.await.unwrap().unwrap().text, "3 on Some(1)");
        assert_eq!(*counter.heard.lock().unwrap(), vec![1, 3]);
        #[cfg(target_os = "linux")]
        assert!(counter.nice.lock().unwrap().iter().all(|&n| n == NICE));
        assert_eq!(lane.backlog(), 0);
    }
}
