//! The live-event hub: every stored result and run status change is published here, and each
//! SSE client subscribes and keeps the events of the run it watches.
//!
//! One broadcast channel for all runs keeps publishing O(1) regardless of how many runs are
//! watched; a client that falls behind by more than the channel's capacity is told to reload
//! instead of silently missing events. When several servers share one database, the store
//! relays each server's events to the others ([`EventHub::relay_to`], [`EventHub::deliver`]).

use std::sync::{Arc, OnceLock};

use shared::api::RunEvent;
use tokio::sync::{broadcast, mpsc};

const CAPACITY: usize = 8192;

/// The broadcast of every run's live events; cloning it shares the channel.
#[derive(Clone)]
pub struct EventHub {
    sender: broadcast::Sender<RunEvent>,
    /// Where this server's own events also go, to reach the other servers' clients.
    relay: Arc<OnceLock<mpsc::Sender<RunEvent>>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            relay: Arc::default(),
        }
    }
}

impl EventHub {
    /// An event of this server: to its own clients, and to the other servers' if it shares a
    /// database with any.
    pub fn publish(&self, event: RunEvent) {
        if let Some(relay) = self.relay.get() {
            if relay.try_send(event.clone()).is_err() {
                tracing::warn!(
                    run = %event.run_id(),
                    "live events are not reaching the other servers fast enough; their clients \
                     miss this one until they reload"
                );
            }
        }
        self.deliver(event);
    }

    /// Whether an event published now reaches anyone: a client of this server or another
    /// server. Publishing a sync's thousand results costs a copy of each, worth saving when
    /// nobody watches.
    pub fn is_watched(&self) -> bool {
        self.relay.get().is_some() || self.sender.receiver_count() > 0
    }

    /// An event to this server's clients only (one another server published).
    pub fn deliver(&self, event: RunEvent) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<RunEvent> {
        self.sender.subscribe()
    }

    /// From now on, this server's events also go to the receiver returned, which carries them
    /// to the other servers. Set once: a second call returns `None`.
    pub fn relay_to(&self) -> Option<mpsc::Receiver<RunEvent>> {
        let (tx, rx) = mpsc::channel(CAPACITY);
        self.relay.set(tx).ok().map(|()| rx)
    }
}
