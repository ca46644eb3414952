use tokio::signal::unix::{SignalKind, signal};

pub fn listen(on_request: fn(i32)) {
    let kinds = [(SignalKind::interrupt(), 2), (SignalKind::terminate(), 15), (SignalKind::hangup(), 1)];
    for (kind, number) in kinds {
        let Ok(mut stream) = signal(kind) else {
            tracing::warn!(number, "cannot listen for a signal; it keeps its default action");
            continue;
        };
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                on_request(128 + number);
            }
        });
    }
}
