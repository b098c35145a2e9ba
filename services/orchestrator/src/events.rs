//! In-process fan-out of events to `WatchEvents` subscribers.

use crate::pb::{event::Kind, Event};
use tokio::sync::{broadcast, watch};

/// Subscribers that fall this far behind miss events (and are told so in
/// the log) rather than slowing the dispatch path.
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
        EventBus {
            tx: broadcast::channel(CAPACITY).0,
            closed: watch::channel(false).0,
        }
    }
}

impl EventBus {
    pub fn publish(&self, campaign_id: &str, kind: Kind) {
        let event = Event {
            at: chrono::Utc::now().to_rfc3339(),
            campaign_id: campaign_id.to_string(),
            kind: Some(kind),
        };
        // No subscribers is fine.
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Becomes `true` once `close` was called.
    pub fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }
}
