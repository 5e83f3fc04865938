//! Live updates: a run's Server-Sent Events bump a counter that pages use to refetch.

use leptos::prelude::*;

/// Subscribes to `/api/v1/runs/{run}/events` while the calling component lives; `tick` is
/// incremented on every event.
#[cfg(feature = "csr")]
pub fn follow_run(run: String, tick: RwSignal<u64>) {
    use futures::StreamExt;
    use gloo_net::eventsource::futures::EventSource;

    let Ok(mut source) = EventSource::new(&format!("/api/v1/runs/{run}/events")) else {
        return;
    };
    let mut streams = Vec::new();
    for name in ["result", "status", "summary"] {
        if let Ok(s) = source.subscribe(name) {
            streams.push(s);
        }
    }
    let mut merged = futures::stream::select_all(streams);
    leptos::task::spawn_local(async move {
        while let Some(Ok(_)) = merged.next().await {
            if tick.try_update(|t| *t += 1).is_none() {
                break;
            }
        }
    });
    let source = send_wrapper::SendWrapper::new(source);
    on_cleanup(move || source.take().close());
}

#[cfg(not(feature = "csr"))]
pub fn follow_run(_run: String, _tick: RwSignal<u64>) {}
