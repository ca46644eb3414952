//! Copying a token, and wiping it from the clipboard a while later if it is still there.
//!
//! The token goes from the engine straight to the clipboard in Rust; the web UI never
//! sees it for a copy. Only the newest copy's timer clears: an older timer finds its
//! generation outdated and leaves the clipboard alone.

use crate::transport::Copied;
use spotoken_core::Secret;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tauri::{AppHandle, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;

pub const DEFAULT_CLEAR_SECS: u64 = 60;

static GENERATION: AtomicU64 = AtomicU64::new(0);

pub fn copy<R: Runtime>(
    app: &AppHandle<R>,
    account: &str,
    token: Secret<String>,
    clear_secs: u64,
) -> Result<Copied, String> {
    app.clipboard().write_text(token.secret().clone()).map_err(|e| e.to_string())?;
    let generation = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    tracing::info!(%account, clear_secs, "access token copied to the clipboard");
    if clear_secs == 0 {
        return Ok(Copied { account: account.into(), clears_in_secs: None });
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(Duration::from_secs(clear_secs)).await;
        if GENERATION.load(Ordering::SeqCst) != generation {
            return;
        }
        match app.clipboard().read_text() {
            Ok(current) if current == *token.secret() => {
                let cleared = app.clipboard().clear().or_else(|_| app.clipboard().write_text(String::new()));
                tracing::info!(ok = cleared.is_ok(), "cleared the copied token from the clipboard");
            }
            _ => tracing::debug!("the clipboard changed since the copy; left alone"),
        }
    });
    Ok(Copied { account: account.into(), clears_in_secs: Some(clear_secs) })
}
