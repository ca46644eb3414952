//! Termination signals that wait for a token to be stored.
//!
//! Between Spotify's answer to a rotating refresh and the keychain write, the new
//! refresh token exists only in this process: the old one is already dead. SIGINT,
//! SIGTERM and SIGHUP that arrive in that step are held until it is done, then end the
//! process as they would have. (SIGKILL cannot be held; [`crate::store::keychain::
//! PreparedWrite`] makes that step one D-Bus call instead.) Front ends call [`install`]
//! once at start; without it, signals keep their default action.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

static IN_COMMIT: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// The signal that arrived during a commit, 0 if none.
static PENDING: AtomicI32 = AtomicI32::new(0);

/// Held while a refreshed token is being stored.
#[derive(Debug)]
pub struct CommitGuard(());

impl CommitGuard {
    pub fn enter() -> Self {
        IN_COMMIT.fetch_add(1, Ordering::SeqCst);
        Self(())
    }
}

impl Drop for CommitGuard {
    fn drop(&mut self) {
        if IN_COMMIT.fetch_sub(1, Ordering::SeqCst) == 1 {
            let signal = PENDING.swap(0, Ordering::SeqCst);
            if signal != 0 {
                tracing::info!(signal, "the token is stored; ending as the signal asked");
                std::process::exit(128 + signal);
            }
        }
    }
}

/// Listens for SIGINT, SIGTERM and SIGHUP on the current tokio runtime: each ends the
/// process at once (exit 128 + the signal's number), or after the commit in progress.
#[cfg(unix)]
pub fn install() {
    use tokio::signal::unix::{SignalKind, signal};
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let kinds = [(SignalKind::interrupt(), 2), (SignalKind::terminate(), 15), (SignalKind::hangup(), 1)];
    for (kind, number) in kinds {
        let Ok(mut stream) = signal(kind) else {
            tracing::warn!(number, "cannot listen for a signal; it keeps its default action");
            continue;
        };
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if IN_COMMIT.load(Ordering::SeqCst) == 0 {
                    std::process::exit(128 + number);
                }
                tracing::warn!(signal = number, "storing a refreshed token; ending right after");
                PENDING.store(number, Ordering::SeqCst);
                // The commit may have ended between the two loads above.
                if IN_COMMIT.load(Ordering::SeqCst) == 0 && PENDING.swap(0, Ordering::SeqCst) != 0 {
                    std::process::exit(128 + number);
                }
            }
        });
    }
}

#[cfg(not(unix))]
pub fn install() {}
