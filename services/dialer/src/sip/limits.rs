//! Per-trunk limits: at most N calls at once and at most C new calls per
//! second (carriers reject or block trunks that exceed either). The pacing
//! is a next-free-slot clock: each call takes the next 1/C-second slot.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

#[derive(Clone)]
pub struct CallLimiter {
    concurrent: Arc<Semaphore>,
    interval: Duration,
    next_slot: Arc<Mutex<Instant>>,
}

/// Held for the life of one call; dropping it frees the line.
pub struct CallSlot {
    _permit: OwnedSemaphorePermit,
}

impl CallLimiter {
    pub fn new(max_concurrent: usize, calls_per_second: f64) -> Self {
        let cps = if calls_per_second > 0.0 {
            calls_per_second
        } else {
            1000.0
        };
        CallLimiter {
            concurrent: Arc::new(Semaphore::new(max_concurrent.max(1))),
            interval: Duration::from_secs_f64(1.0 / cps),
            next_slot: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Waits for a free line and for the next CPS slot.
    pub async fn acquire(&self) -> CallSlot {
        let permit = self
            .concurrent
            .clone()
            .acquire_owned()
            .await
            .expect("the limiter's semaphore is never closed");
        let wait_until = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(wait_until).await;
        CallSlot { _permit: permit }
    }

    pub fn available(&self) -> usize {
        self.concurrent.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_are_paced_and_capped() {
        let l = CallLimiter::new(3, 10.0);
        let start = tokio::time::Instant::now();
        let mut slots = Vec::new();
        for _ in 0..3 {
            slots.push(l.acquire().await);
        }
        // Three calls at 10 CPS: the third starts 200 ms after the first.
        assert_eq!(start.elapsed(), Duration::from_millis(200));
        assert_eq!(l.available(), 0);
        let l2 = l.clone();
        let waiter = tokio::spawn(async move { l2.acquire().await });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiter.is_finished(), "a fourth call waits for a free line");
        slots.pop();
        let _slot = waiter.await.unwrap();
    }
}
