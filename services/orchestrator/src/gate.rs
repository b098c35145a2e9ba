//! Admission control: each kind of work has a gate with a fixed number of
//! places, a short line in front of it, and a longest wait.
//!
//! Under a flood (thousands of campaign reads a second) queueing everything
//! only makes every request late, memory grow, and the dialers' leases and
//! reports wait behind reads. So a request either gets a place at once,
//! waits briefly in a bounded line, or is refused at once with
//! `RESOURCE_EXHAUSTED` (the line is full) or `UNAVAILABLE` (it waited its
//! longest), which a client retries with backoff. Dispatch (LeaseCalls,
//! ReportOutcome) has a gate of its own, so no amount of reading takes its
//! places, and reads get fewer places than the database has connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

/// How many requests of a kind run at once and may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateLimits {
    pub running: usize,
    pub waiting: usize,
    pub max_wait: Duration,
}

pub struct Gate {
    name: &'static str,
    places: Arc<Semaphore>,
    waiting: AtomicUsize,
    limits: GateLimits,
}

/// Leaves the line when dropped, however the wait ended.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    pub fn new(name: &'static str, limits: GateLimits) -> Gate {
        Gate {
            name,
            places: Arc::new(Semaphore::new(limits.running)),
            waiting: AtomicUsize::new(0),
            limits,
        }
    }

    /// A place for one request, held until the permit is dropped.
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Status> {
        if let Ok(place) = self.places.clone().try_acquire_owned() {
            return Ok(place);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.limits.waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Status::resource_exhausted(format!(
                "server busy: {} {} requests running and {} waiting; retry with backoff",
                self.limits.running, self.name, self.limits.waiting
            )));
        }
        let _line = InLine(&self.waiting);
        match tokio::time::timeout(self.limits.max_wait, self.places.clone().acquire_owned()).await
        {
            Ok(Ok(place)) => Ok(place),
            Ok(Err(_)) => Err(Status::unavailable("server shutting down")),
            Err(_) => Err(Status::unavailable(format!(
                "server busy: no place for a {} request within {} ms; retry with backoff",
                self.name,
                self.limits.max_wait.as_millis()
            ))),
        }
    }
}

/// The orchestrator's gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Campaign and account reads and campaign changes.
    pub reads: GateLimits,
    /// LeaseCalls, ReportOutcome(s).
    pub dispatch: GateLimits,
    /// ImportAccounts streams.
    pub imports: GateLimits,
    /// WatchEvents streams open at once.
    pub watchers: usize,
}

impl Limits {
    /// Defaults for a store with `connections` database connections:
    /// reads may use at most half of them.
    pub fn for_connections(connections: usize) -> Limits {
        Limits {
            reads: GateLimits {
                running: (connections / 2).max(1),
                waiting: 64,
                max_wait: Duration::from_millis(250),
            },
            dispatch: GateLimits {
                running: 64,
                waiting: 4096,
                max_wait: Duration::from_secs(10),
            },
            imports: GateLimits {
                running: 2,
                waiting: 0,
                max_wait: Duration::ZERO,
            },
            watchers: 256,
        }
    }
}

pub struct Gates {
    pub reads: Gate,
    pub dispatch: Gate,
    pub imports: Gate,
    pub watchers: Gate,
}

impl Gates {
    pub fn new(limits: Limits) -> Gates {
        Gates {
            reads: Gate::new("read", limits.reads),
            dispatch: Gate::new("dispatch", limits.dispatch),
            imports: Gate::new("import", limits.imports),
            watchers: Gate::new(
                "WatchEvents",
                GateLimits {
                    running: limits.watchers,
                    waiting: 0,
                    max_wait: Duration::ZERO,
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_gate_refuses_at_once_and_a_line_waits_its_longest() {
        let gate = Gate::new(
            "read",
            GateLimits {
                running: 1,
                waiting: 1,
                max_wait: Duration::from_millis(50),
            },
        );
        let first = gate.enter().await.unwrap();
        // One may wait; the next is refused without waiting.
        let (waited, refused) = tokio::join!(gate.enter(), async {
            tokio::task::yield_now().await;
            gate.enter().await
        });
        assert_eq!(refused.unwrap_err().code(), tonic::Code::ResourceExhausted);
        assert_eq!(waited.unwrap_err().code(), tonic::Code::Unavailable);
        // A place given back is taken by the next one.
        drop(first);
        assert!(gate.enter().await.is_ok());
        assert_eq!(gate.waiting.load(Ordering::Acquire), 0);
    }
}
