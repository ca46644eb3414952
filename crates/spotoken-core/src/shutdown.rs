//! Termination signals that wait for a token to be stored.
//!
//! Between Spotify's answer to a rotating refresh and the keychain write, the new
//! refresh token exists only in this process: the old one is already dead. SIGINT,
//! SIGTERM and SIGHUP that arrive in that step are held until it is done, then end the
//! process as they would have. (SIGKILL cannot be held; [`crate::store::keychain::
//! PreparedWrite`] makes that step one D-Bus call instead.) Front ends call [`install`]
//! once at start; without it, signals keep their default action.
//!
//! A process that replaces itself (the app going back to a tray-only process after its
//! window closed) waits for more: no token exchange or refresh may be under way at all,
//! since one cut off after Spotify answered loses a rotated refresh token. Such work
//! holds a [`WorkGuard`]; [`quiesce`] succeeds only when none is held, and holds new
//! work back until the process is replaced (or the attempt is given up).

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

static IN_COMMIT: AtomicUsize = AtomicUsize::new(0);
static IN_WORK: AtomicUsize = AtomicUsize::new(0);
static QUIESCED: AtomicBool = AtomicBool::new(false);
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// The exit code asked for by a request to end that arrived during a commit, 0 if none.
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
            let code = PENDING.swap(0, Ordering::SeqCst);
            if code != 0 {
                tracing::info!(code, "the token is stored; ending as asked");
                std::process::exit(code);
            }
        }
    }
}

/// Held from asking Spotify for tokens until they are stored.
#[derive(Debug)]
pub struct WorkGuard(());

impl WorkGuard {
    /// Waits (briefly: only while the process is being replaced) if [`quiesce`] holds.
    pub fn enter() -> Self {
        loop {
            IN_WORK.fetch_add(1, Ordering::SeqCst);
            if !QUIESCED.load(Ordering::SeqCst) {
                return Self(());
            }
            IN_WORK.fetch_sub(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for WorkGuard {
    fn drop(&mut self) {
        IN_WORK.fetch_sub(1, Ordering::SeqCst);
    }
}

/// While held, no [`WorkGuard`] can be entered: the process may be replaced.
#[derive(Debug)]
pub struct Quiet(());

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIESCED.store(false, Ordering::SeqCst);
    }
}

/// [`Quiet`] when no token work is under way, else `None` (try again later).
pub fn quiesce() -> Option<Quiet> {
    if QUIESCED.swap(true, Ordering::SeqCst) {
        return None;
    }
    if IN_WORK.load(Ordering::SeqCst) == 0 && IN_COMMIT.load(Ordering::SeqCst) == 0 {
        Some(Quiet(()))
    } else {
        QUIESCED.store(false, Ordering::SeqCst);
        None
    }
}

/// Listens for requests to end (SIGINT, SIGTERM and SIGHUP on Unix; console control
/// events on Windows: [`crate::platform::signals`]) on the current tokio runtime: each
/// ends the process at once, or after the commit in progress.
pub fn install() {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    crate::platform::signals::listen(on_request);
}

fn on_request(code: i32) {
    if IN_COMMIT.load(Ordering::SeqCst) == 0 {
        std::process::exit(code);
    }
    tracing::warn!(code, "storing a refreshed token; ending right after");
    PENDING.store(code, Ordering::SeqCst);
    // The commit may have ended between the two loads above. Only that race reaches the
    // `!= 0` below (no test can time it), so scripts/mutants' `!=`→`==` there survives.
    if IN_COMMIT.load(Ordering::SeqCst) == 0 && PENDING.swap(0, Ordering::SeqCst) != 0 {
        std::process::exit(code);
    }
}
