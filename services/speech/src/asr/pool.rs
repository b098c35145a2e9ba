//! Async access to a blocking recognizer: decodes run on tokio's blocking
//! threads and share a budget of threads, so a burst of calls queues
//! instead of thrashing the CPU.
//!
//! A decode takes up to `threads_per_decode` threads from the budget when
//! they are free and at least one: alone on the machine it runs on all of
//! them (the lowest latency), and under load decodes run side by side on
//! one thread each, which gets more decoding out of the cores (a
//! multi-threaded decode spends part of its time with threads waiting for
//! each other, and more when other work holds a core). Nor does a decode
//! take more threads than the machine has cores free of other processes'
//! work ([`super::neighbours`]).
//!
//! A pool made with [`AsrPool::for_transcripts`] sends its decodes to the
//! process's low-priority lane instead ([`super::background`]): for words
//! nobody waits on to reply, such as both sides of a call bridged to a
//! person.

use super::{AsrError, Decoding, RecognizeRequest, Recognizer, Transcript};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Cores free for this process's decodes, as the pool asks for them.
type FreeCores = Arc<dyn Fn() -> usize + Send + Sync>;

#[derive(Clone)]
pub struct AsrPool {
    recognizer: Arc<dyn Recognizer>,
    /// One permit per thread of the budget.
    threads: Arc<Semaphore>,
    budget: usize,
    threads_per_decode: usize,
    free_cores: FreeCores,
    /// Decode on the low-priority lane, not from the budget.
    background: bool,
}

/// Flags the decode as unwanted when the caller's future is dropped.
pub(super) struct CancelOnDrop(pub(super) Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl AsrPool {
    /// `max_concurrent` decodes of `threads_per_decode` threads each make
    /// the budget.
    pub fn new(
        recognizer: Arc<dyn Recognizer>,
        max_concurrent: usize,
        threads_per_decode: usize,
    ) -> Self {
        let threads_per_decode = threads_per_decode.max(1);
        let budget = max_concurrent.max(1) * threads_per_decode;
        super::neighbours::start();
        AsrPool {
            recognizer,
            threads: Arc::new(Semaphore::new(budget)),
            budget,
            threads_per_decode,
            free_cores: Arc::new(super::neighbours::free_cores),
            background: false,
        }
    }

    /// Asks `free_cores` how many cores a decode may use instead of
    /// the machine.
    pub fn with_free_cores(
        mut self,
        free_cores: impl Fn() -> usize + Send + Sync + 'static,
    ) -> Self {
        self.free_cores = Arc::new(free_cores);
        self
    }

    /// The same recognizer, decoding on the process's low-priority lane
    /// (one thread at nice 10, in the order handed in) for transcripts
    /// that may fall behind under load while the robot's turns may not.
    pub fn for_transcripts(&self) -> AsrPool {
        AsrPool {
            background: true,
            ..self.clone()
        }
    }

    /// No decode is running or queued: a decode started now gets every
    /// thread.
    pub fn is_idle(&self) -> bool {
        self.threads.available_permits() == self.budget
    }

    pub fn recognizer(&self) -> &Arc<dyn Recognizer> {
        &self.recognizer
    }

    /// Waits for one thread of the budget, then takes as many more (up to
    /// `threads_per_decode`, and no more than the cores other processes
    /// leave free) as are free right now. Permits released go to queued
    /// decodes first, so a free one is never taken from a waiter.
    async fn take_threads(&self) -> Result<Vec<OwnedSemaphorePermit>, AsrError> {
        let first = self
            .threads
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AsrError::Closed)?;
        let mut permits = vec![first];
        let most = self.threads_per_decode.min((self.free_cores)());
        if most < self.threads_per_decode {
            tracing::debug!(
                threads = most,
                "other processes hold cores: fewer decode threads"
            );
        }
        while permits.len() < most {
            match self.threads.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        Ok(permits)
    }

    /// Decodes once a thread of the budget is free. The permits go with
    /// the decode onto its blocking thread and stay taken until it ends.
    /// A caller that gives up (an aborted speculative decode) tells the
    /// decode to stop: whisper stops at its next step (after the encoder,
    /// or after the decoder step it is in).
    pub async fn recognize(
        &self,
        samples: Vec<f32>,
        decoding: Decoding,
    ) -> Result<Transcript, AsrError> {
        if self.background {
            let lane = super::background::BackgroundLane::shared()?;
            return lane
                .recognize(self.recognizer.clone(), samples, decoding)
                .await;
        }
        let permits = self.take_threads().await?;
        let threads = permits.len() as i32;
        let r = self.recognizer.clone();
        let cancelled = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(cancelled.clone());
        tokio::task::spawn_blocking(move || {
            let _permits = permits;
            r.recognize(&RecognizeRequest {
                samples: &samples,
                language: &decoding.language,
                prompt: &decoding.prompt,
                threads: Some(threads),
                cancelled: Some(&cancelled),
                answers: &decoding.answers,
            })
        })
        .await
        .map_err(|e| AsrError::Decode(format!("decode task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    /// Records the threads each decode was given and holds it until told.
    struct Probe {
        given: Mutex<Vec<i32>>,
        release: Mutex<std::sync::mpsc::Receiver<()>>,
    }

    impl Recognizer for Probe {
        fn recognize(&self, req: &RecognizeRequest<'_>) -> Result<Transcript, AsrError> {
            self.given.lock().unwrap().push(req.threads.unwrap_or(0));
            self.release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(10))
                .map_err(|e| AsrError::Decode(e.to_string()))?;
            Ok(Transcript {
                text: String::new(),
                no_speech_prob: 0.0,
                confidence: 1.0,
                decode_ms: 0,
                nbest: Vec::new(),
            })
        }
        fn describe(&self) -> String {
            "probe".into()
        }
    }

    impl Probe {
        /// A probe, and the sender that lets each of its decodes end.
        fn new() -> (std::sync::mpsc::Sender<()>, Arc<Probe>) {
            let (tx, rx) = std::sync::mpsc::channel();
            let probe = Arc::new(Probe {
                given: Mutex::new(Vec::new()),
                release: Mutex::new(rx),
            });
            (tx, probe)
        }
    }

    /// A decode of a short silence through `pool`, as its own task.
    fn decode(pool: &AsrPool) -> tokio::task::JoinHandle<Result<Transcript, AsrError>> {
        let pool = pool.clone();
        tokio::spawn(async move { pool.recognize(vec![0.0; 160], Decoding::default()).await })
    }

    async fn given_when(n: usize, p: &Probe) {
        for _ in 0..500 {
            if p.given.lock().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{n} decodes never started: {:?}", p.given.lock().unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_decode_gets_every_thread_and_queued_ones_share_them() {
        let (tx, probe) = Probe::new();
        let pool = AsrPool::new(probe.clone(), 1, 2).with_free_cores(|| 2);
        let decode = || decode(&pool);
        // Alone: both threads.
        let first = decode();
        given_when(1, &probe).await;
        assert!(!pool.is_idle());
        // Two more queue behind it; when it ends they run side by side on
        // one thread each.
        let second = decode();
        let third = decode();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            probe.given.lock().unwrap().len(),
            1,
            "queued decodes ran early"
        );
        tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        given_when(3, &probe).await;
        assert_eq!(*probe.given.lock().unwrap(), vec![2, 1, 1]);
        tx.send(()).unwrap();
        tx.send(()).unwrap();
        second.await.unwrap().unwrap();
        third.await.unwrap().unwrap();
        // Alone again: both threads again.
        let fourth = decode();
        given_when(4, &probe).await;
        assert_eq!(probe.given.lock().unwrap()[3], 2);
        tx.send(()).unwrap();
        fourth.await.unwrap().unwrap();
        assert!(pool.is_idle());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_decode_takes_no_more_threads_than_cores_others_leave_free() {
        let (tx, probe) = Probe::new();
        let free = Arc::new(std::sync::atomic::AtomicUsize::new(1));
        let f = free.clone();
        let pool =
            AsrPool::new(probe.clone(), 1, 2).with_free_cores(move || f.load(Ordering::Relaxed));
        // One core free, then both: a lone decode takes one, then two.
        for (n, cores) in [(1, 1), (2, 2)] {
            free.store(cores, Ordering::Relaxed);
            let lone = decode(&pool);
            given_when(n, &probe).await;
            tx.send(()).unwrap();
            lone.await.unwrap().unwrap();
            assert_eq!(probe.given.lock().unwrap()[n - 1], cores as i32);
        }
    }

    /// Waits until the caller gives up, then says whether it was told.
    struct Patient {
        stopped: Arc<AtomicBool>,
    }

    impl Recognizer for Patient {
        fn recognize(&self, req: &RecognizeRequest<'_>) -> Result<Transcript, AsrError> {
            let flag = req.cancelled.expect("the pool passes a cancel flag");
            for _ in 0..2_000 {
                if flag.load(Ordering::Relaxed) {
                    self.stopped.store(true, Ordering::Relaxed);
                    return Err(AsrError::Decode("stopped".into()));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(AsrError::Decode("never told to stop".into()))
        }
        fn describe(&self) -> String {
            "patient".into()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_decode_nobody_waits_for_is_told_to_stop_and_frees_its_threads() {
        let stopped = Arc::new(AtomicBool::new(false));
        let pool = AsrPool::new(
            Arc::new(Patient {
                stopped: stopped.clone(),
            }),
            1,
            2,
        );
        let p = pool.clone();
        let task =
            tokio::spawn(async move { p.recognize(vec![0.0; 160], Decoding::default()).await });
        while pool.is_idle() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!stopped.load(Ordering::Relaxed));
        task.abort();
        for _ in 0..400 {
            if pool.is_idle() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            stopped.load(Ordering::Relaxed),
            "the decode was not told to stop"
        );
        assert!(pool.is_idle(), "the stopped decode kept its threads");
    }
}
