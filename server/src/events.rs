//! The live-event hub: every stored result and run status change is published here, and each
//! SSE client subscribes and keeps the events of the run it watches.
//!
//! One broadcast channel for all runs keeps publishing O(1) regardless of how many runs are
//! watched; a client that falls behind by more than the channel's capacity is told to reload
//! instead of silently missing events.

use shared::api::RunEvent;
use tokio::sync::broadcast;

const CAPACITY: usize = 8192;

/// The broadcast of every run's live events; cloning it shares the channel.
#[derive(Clone)]
pub struct EventHub {
    sender: broadcast::Sender<RunEvent>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
        }
    }
}

impl EventHub {
    pub fn publish(&self, event: RunEvent) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<RunEvent> {
        self.sender.subscribe()
    }
}
