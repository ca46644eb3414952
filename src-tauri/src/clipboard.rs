//! Copying to the clipboard, wiping a copied token a while later if it is still there,
//! and knowing whether what this process put there still is (the clipboard's content
//! lives in its owner, so a process that replaces itself must know).
//!
//! The token goes from the engine straight to the clipboard in Rust; the web UI never
//! sees it for a copy. Only the newest copy's timer clears: an older timer finds its
//! generation outdated and leaves the clipboard alone.

use crate::ui_types::{Copied, Diagnosis};
use spotoken_core::Secret;
use spotoken_core::activity::fingerprint;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tauri::{AppHandle, Runtime};
use tauri_plugin_clipboard_manager::ClipboardExt;

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// What this process last put on the clipboard: a token (by fingerprint only) or text
/// that is no secret (a redirect URI, a sign-in address).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Placed {
    Token(String),
    Text(String),
}

static PLACED: Mutex<Option<Placed>> = Mutex::new(None);

fn place(placed: Option<Placed>) {
    *PLACED.lock().unwrap_or_else(|p| p.into_inner()) = placed;
}

/// What of ours the clipboard holds right now.
#[derive(Debug, PartialEq, Eq)]
pub enum Holding {
    Nothing,
    Token,
    Text(String),
}

/// Reads the clipboard and compares it with what this process put there last.
pub fn holding<R: Runtime>(app: &AppHandle<R>) -> Holding {
    let Some(placed) = PLACED.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
        return Holding::Nothing;
    };
    let current = app.clipboard().read_text().unwrap_or_default();
    let held = match &placed {
        Placed::Token(print) => fingerprint(&Secret::new(current)) == *print,
        Placed::Text(text) => current == *text,
    };
    if !held {
        place(None);
        return Holding::Nothing;
    }
    match placed {
        Placed::Token(_) => Holding::Token,
        Placed::Text(text) => Holding::Text(text),
    }
}

/// Puts text that is no secret on the clipboard.
pub fn copy_text<R: Runtime>(app: &AppHandle<R>, text: String) -> Result<(), Diagnosis> {
    app.clipboard().write_text(text.clone()).map_err(|e| {
        Diagnosis::new(
            spotoken_core::Code::ClipboardError,
            format!("The clipboard refused the text ({e})."),
            "Select the address and copy it by hand.",
        )
    })?;
    GENERATION.fetch_add(1, Ordering::SeqCst);
    place(Some(Placed::Text(text)));
    Ok(())
}

pub fn copy<R: Runtime>(
    app: &AppHandle<R>,
    account: &str,
    token: spotoken_core::secret::AccessToken,
    clear_secs: u64,
) -> Result<Copied, String> {
    app.clipboard().write_text(token.secret().clone()).map_err(|e| e.to_string())?;
    let generation = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    place(Some(Placed::Token(fingerprint(&token))));
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
        if GENERATION.load(Ordering::SeqCst) == generation {
            place(None);
        }
    });
    Ok(Copied { account: account.into(), clears_in_secs: Some(clear_secs) })
}
