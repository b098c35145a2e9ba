//! In-process fan-out of events to `WatchEvents` subscribers.
//!
//! Publishing never waits for a subscriber: each has a buffer of
//! [`CAPACITY`] events, and one that falls further behind loses the oldest
//! of them. It is told so: its stream carries an `EventsMissed` event with
//! the count where the gap is, then goes on.

use crate::pb::{self, event::Kind, Event};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

/// Events a subscriber may be behind before it misses some.
const CAPACITY: usize = 4096;

/// Event fan-out; `close` ends every subscriber's stream (at shutdown, so
/// that open `WatchEvents` calls do not hold the server up).
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
    closed: watch::Sender<bool>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::with_capacity(CAPACITY)
    }
}

fn event(campaign_id: &str, kind: Kind) -> Event {
    Event {
        at: chrono::Utc::now().to_rfc3339(),
        campaign_id: campaign_id.to_string(),
        kind: Some(kind),
    }
}

impl EventBus {
    pub fn with_capacity(capacity: usize) -> Self {
        EventBus {
            tx: broadcast::channel(capacity).0,
            closed: watch::channel(false).0,
        }
    }

    pub fn publish(&self, campaign_id: &str, kind: Kind) {
        // No subscribers is fine.
        let _ = self.tx.send(event(campaign_id, kind));
    }

    /// The events of one campaign (all when `campaign_id` is empty) from
    /// now on, with an `EventsMissed` marker wherever the subscriber fell
    /// behind; ends when the bus is closed.
    pub fn watch(&self, campaign_id: String) -> impl Stream<Item = Event> + Send + 'static {
        let mut rx = self.tx.subscribe();
        let mut closed = self.closed.subscribe();
        async_stream::stream! {
            loop {
                // What was published before the close is still delivered.
                let received = tokio::select! {
                    biased;
                    r = rx.recv() => r,
                    _ = closed.wait_for(|c| *c) => break,
                };
                match received {
                    Ok(ev) if campaign_id.is_empty() || ev.campaign_id == campaign_id => yield ev,
                    Ok(_) => {}
                    Err(RecvError::Lagged(count)) => {
                        tracing::warn!(missed = count, "event watcher fell behind");
                        yield event(&campaign_id, Kind::EventsMissed(pb::EventsMissed { count }));
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        }
    }

    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Becomes `true` once `close` was called.
    pub fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn expired(n: usize) -> Kind {
        Kind::LeaseExpired(pb::LeaseExpired {
            attempt_id: format!("a{n}"),
        })
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_how_much_it_missed() {
        let bus = EventBus::with_capacity(4);
        let mut events = Box::pin(bus.watch(String::new()));
        for n in 0..10 {
            bus.publish("c", expired(n));
        }
        bus.close();
        let got: Vec<Kind> = events
            .by_ref()
            .map(|e| e.kind.unwrap())
            .collect::<Vec<_>>()
            .await;
        assert_eq!(
            got,
            std::iter::once(Kind::EventsMissed(pb::EventsMissed { count: 6 }))
                .chain((6..10).map(expired))
                .collect::<Vec<_>>()
        );
    }
}
