//! New anomalies reach the person wherever they are raised: the command line raises
//! them too, so the app watches the activity folder (inotify on Linux) rather than
//! polling it, redraws the tray and the window, and shows a desktop notification for
//! the kinds the settings choose (by default only a refresh token refused early).

use crate::shell::{Shell, changed};
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};
use std::time::Duration;
use tauri::{AppHandle, Manager, Runtime};

/// Changes closer together than this are taken as one.
const SETTLE: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy)]
struct Change {
    anomalies: bool,
    asked: bool,
}

/// A program is waiting to be allowed a token: bring the window forward (it holds the
/// buttons) and say so in a notification, once per request.
fn announce_requests<R: Runtime>(app: &AppHandle<R>) {
    static ANNOUNCED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let shell = app.state::<Shell>();
    let waiting = shell.engine().activity().pending_requests(shell.engine().clock().now());
    let mut announced = ANNOUNCED.lock().unwrap_or_else(|p| p.into_inner());
    announced.retain(|id| waiting.iter().any(|r| &r.id == id));
    let fresh: Vec<_> = waiting.into_iter().filter(|r| !announced.contains(&r.id)).collect();
    for request in &fresh {
        announced.push(request.id.clone());
        let account = shell.engine().accounts().ok().and_then(|all| all.into_iter().find(|a| a.id == request.account));
        let name = account.as_ref().map_or(request.account.as_str(), |a| a.name());
        crate::shell::notify(
            app,
            &format!("{} asks for a token", request.program.name),
            &format!("{} wants {name}'s access token. Answer in the Spotoken window.", request.program.describe()),
        );
        if let Err(e) = crate::window::show(app) {
            tracing::warn!(error = %e, "cannot show the window to ask");
        }
    }
}

/// Notifies the open anomalies not notified yet (of the kinds chosen), once each.
pub fn notify_new<R: Runtime>(app: &AppHandle<R>) {
    let shell = app.state::<Shell>();
    let settings = shell.engine().settings();
    let fresh: Vec<_> = shell
        .engine()
        .activity()
        .open_anomalies(None)
        .into_iter()
        .filter(|a| !a.notified && settings.notifies(&a.code))
        .collect();
    if fresh.is_empty() {
        return;
    }
    for a in &fresh {
        let title = spotoken_core::activity::AnomalyCode::parse(&a.code).map_or("Anomaly", |c| c.title());
        crate::shell::notify(app, &format!("Spotoken: {title}"), &a.message);
    }
    let ids: Vec<String> = fresh.into_iter().map(|a| a.id).collect();
    if let Err(e) = shell.engine().activity().mark_notified(&ids) {
        tracing::warn!(error = %e, "could not note the anomalies as notified");
    }
}

/// Watches the activity folder for the life of the app: a new anomaly (from any
/// process) redraws everything and may notify; new events refresh an open Activity view.
pub fn watch<R: Runtime>(app: &AppHandle<R>) {
    let dir = app.state::<Shell>().engine().activity().dir().to_path_buf();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        tracing::warn!(error = %e, "cannot watch the activity record; anomalies from the command line show on the next change");
        return;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Change>();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only writes: reading the record (as every redraw does) must not count, or
        // each redraw would start the next.
        if let Ok(event) = event
            && (event.kind.is_create()
                || event.kind.is_modify()
                || event.kind.is_remove()
                || matches!(event.kind, EventKind::Access(AccessKind::Close(AccessMode::Write))))
        {
            let name =
                |p: &std::path::PathBuf| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let asked = event.paths.iter().any(|p| name(p).starts_with("request-"));
            let anomalies = asked || event.paths.iter().any(|p| name(p) == "watch.json");
            let _ = tx.send(Change { anomalies, asked });
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the activity record");
            return;
        }
    };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!(error = %e, "cannot watch the activity record");
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let _keep = watcher;
        while let Some(first) = rx.recv().await {
            let mut change = first;
            // A program waiting for an answer is shown at once.
            if !change.asked {
                tokio::time::sleep(SETTLE).await;
            }
            while let Ok(more) = rx.try_recv() {
                change.anomalies |= more.anomalies;
                change.asked |= more.asked;
            }
            tracing::debug!(anomalies = change.anomalies, asked = change.asked, "the activity record changed");
            if change.anomalies {
                let _ = changed(&app);
            }
            if change.asked {
                announce_requests(&app);
            }
            let _ = crate::events::emit_activity(&app, &());
        }
    });
}
