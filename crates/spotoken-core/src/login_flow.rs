//! The login a long-running front end (the desktop app) has in progress.
//!
//! At most one login is pending at a time; starting another replaces it. A loopback
//! login waits on its listener in a task of its own; a deep-link login waits for the
//! URL that a second launch of the app hands over. Either kind can also be finished by
//! the address the browser ended on, pasted by the person (a browser on another
//! profile or machine, or a desktop that did not hand the link back): the same checks
//! apply (this login's `state`, this login's redirect, once, before the deadline).
//! The outcome reaches the `on_done` callback given at construction, exactly once per
//! login, and a login that nobody finishes ends with `LoginTimeout`. Callbacks that do
//! not belong to the pending login are refused and leave it waiting.

use crate::auth::login::PendingLogin;
use crate::auth::loopback::LoopbackListener;
use crate::clock::Timestamp;
use crate::config::{DEEP_LINK_REDIRECT, RedirectKind};
use crate::diagnose::Diagnosis;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::secret::{RedirectAddress, Secret};
use crate::store::accounts::AccountRecord;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use url::Url;

/// Called once with how each login ended.
pub type OnDone = Arc<dyn Fn(std::result::Result<AccountRecord, Diagnosis>) + Send + Sync>;

struct Active {
    serial: u64,
    kind: RedirectKind,
    login: Arc<PendingLogin>,
    expires_at: Timestamp,
    /// The listener (loopback) or the timer (deep link); stopped when the login ends.
    task: JoinHandle<()>,
}

/// What the window shows about the login in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInfo {
    pub kind: RedirectKind,
    /// The consent page, for Copy: it carries `state`, so it is shown, never logged.
    pub address: Secret<String>,
    /// When the login stops waiting.
    pub expires_at: Timestamp,
}

/// The login in progress, if any.
pub struct LoginFlow {
    engine: Arc<Engine>,
    on_done: OnDone,
    timeout: Duration,
    active: Arc<Mutex<Option<Active>>>,
    next_serial: Mutex<u64>,
}

impl std::fmt::Debug for LoginFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginFlow").field("in_progress", &self.pending().map(|p| p.kind)).finish_non_exhaustive()
    }
}

impl LoginFlow {
    pub fn new(engine: Arc<Engine>, timeout: Duration, on_done: OnDone) -> Self {
        Self { engine, on_done, timeout, active: Arc::default(), next_serial: Mutex::new(0) }
    }

    /// The pending login, as the window shows it.
    pub fn pending(&self) -> Option<PendingInfo> {
        lock(&self.active).as_ref().map(|a| PendingInfo {
            kind: a.kind,
            address: Secret::new(a.login.authorize_url().to_string()),
            expires_at: a.expires_at,
        })
    }

    /// How long a login waits before it gives up.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Starts a login and returns the consent page's URL for the browser. Replaces any
    /// login in progress (whose outcome is `LoginCancelled`).
    /// `account`: the account this login signs in again, if any.
    pub async fn start(
        &self,
        kind: RedirectKind,
        scopes: &[String],
        show_dialog: bool,
        account: Option<&str>,
    ) -> Result<Url> {
        self.cancel();
        // Before the browser opens: consent given to Spotify must have a keychain to
        // land in. Off the async threads: it may wait for the person to unlock it.
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.check_ready_for_login())
            .await
            .map_err(|e| Error::Keychain(format!("the keychain check stopped: {e}")))??;
        // Each login's number, so a task or a redirect of a replaced login cannot end
        // this one. (Numbering every login alike is seen only in a race between a
        // login's end and its replacement: the old one's task is aborted otherwise.)
        let serial = {
            let mut next = lock(&self.next_serial);
            *next += 1;
            *next
        };
        let expires_at = self.engine.clock().now().plus_secs(self.timeout.as_secs() as i64);
        let (login, task) = match kind {
            RedirectKind::Loopback => {
                let listener = LoopbackListener::bind(self.engine.settings().loopback_port).await?;
                let login =
                    Arc::new(self.engine.begin_login_for(account, scopes, listener.redirect_uri(), show_dialog)?);
                let (engine, on_done, active, timeout, waiting) =
                    (self.engine.clone(), self.on_done.clone(), self.active.clone(), self.timeout, login.clone());
                let task = tokio::spawn(async move {
                    let callback = match listener.wait(&waiting, timeout).await {
                        Ok(callback) => callback,
                        Err(e) => {
                            if take(&active, serial).is_some() {
                                on_done(Err(e.diagnose()));
                            }
                            return;
                        }
                    };
                    // The login is spoken for before the exchange: a pasted address for
                    // it now finds nothing pending, so the code is exchanged once.
                    if take(&active, serial).is_none() {
                        return;
                    }
                    let result = engine.complete_login(&waiting, &callback.code).await;
                    callback.answer(&result).await;
                    on_done(result.map_err(|e| e.diagnose()));
                });
                (login, task)
            }
            RedirectKind::DeepLink => {
                let login =
                    Arc::new(self.engine.begin_login_for(account, scopes, DEEP_LINK_REDIRECT.into(), show_dialog)?);
                let (on_done, active, timeout) = (self.on_done.clone(), self.active.clone(), self.timeout);
                let task = tokio::spawn(async move {
                    tokio::time::sleep(timeout).await;
                    if take(&active, serial).is_some() {
                        on_done(Err(Error::LoginTimeout(timeout).diagnose()));
                    }
                });
                (login, task)
            }
        };
        let url = login.authorize_url().clone();
        *lock(&self.active) = Some(Active { serial, kind, login, expires_at, task });
        tracing::info!(?kind, "login started");
        Ok(url)
    }

    /// Completes the pending deep-link login from a `spotoken://` URL. A URL that is not
    /// this login's (another path, another `state`) is refused and the login keeps
    /// waiting; with no login pending, `NoLoginPending`.
    pub async fn deliver_deep_link(&self, address: RedirectAddress) -> Result<AccountRecord> {
        self.deliver(address, "deep link").await
    }

    /// Completes the pending login (either redirect) from the address the browser
    /// ended on, pasted by the person. The same checks as a delivered redirect.
    pub async fn deliver_pasted(&self, address: RedirectAddress) -> Result<AccountRecord> {
        let trimmed = RedirectAddress::of(address.secret().trim().to_string());
        self.deliver(trimmed, "pasted address").await
    }

    async fn deliver(&self, address: RedirectAddress, how: &'static str) -> Result<AccountRecord> {
        let (serial, login) = {
            let guard = lock(&self.active);
            match guard.as_ref() {
                Some(active) => (active.serial, active.login.clone()),
                None => {
                    tracing::warn!(how, "a redirect arrived with no login waiting for it");
                    return Err(Error::NoLoginPending);
                }
            }
        };
        let code = match login.accept_callback(&address) {
            Ok(code) => code,
            Err(refused) if !refused.state_verified => {
                tracing::warn!(how, reason = %refused.error, "refused a redirect that does not belong to this login");
                return Err(refused.error);
            }
            Err(failed) => {
                let error = failed.error;
                if let Some(active) = take(&self.active, serial) {
                    active.task.abort();
                    (self.on_done)(Err(error.diagnose()));
                }
                return Err(error);
            }
        };
        // The login is now spoken for: a second delivery finds nothing pending.
        let Some(active) = take(&self.active, serial) else {
            return Err(Error::NoLoginPending);
        };
        active.task.abort();
        tracing::info!("{how} received, state matched");
        let result = self.engine.complete_login(&login, &code).await;
        (self.on_done)(result.as_ref().map(AccountRecord::clone).map_err(Error::diagnose));
        result
    }

    /// Abandons the login in progress; its outcome is `LoginCancelled`.
    pub fn cancel(&self) {
        let taken = lock(&self.active).take();
        if let Some(active) = taken {
            active.task.abort();
            tracing::info!("login cancelled");
            (self.on_done)(Err(Error::LoginCancelled.diagnose()));
        }
    }
}

/// Takes login `serial` if it is still the active one; `Some` if this call ended it.
fn take(active: &Mutex<Option<Active>>, serial: u64) -> Option<Active> {
    let mut guard = lock(active);
    if guard.as_ref().is_some_and(|a| a.serial == serial) { guard.take() } else { None }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
