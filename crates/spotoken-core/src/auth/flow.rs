//! The login a long-running front end (the desktop app) has in progress.
//!
//! At most one login is pending at a time; starting another replaces it. A loopback
//! login waits on its listener in a task of its own; a deep-link login waits for the
//! URL that a second launch of the app hands over. Either way the outcome reaches the
//! `on_done` callback given at construction, exactly once per login, and a login that
//! nobody finishes ends with `LoginTimeout`. Callbacks that do not belong to the
//! pending login are refused and leave it waiting.

use super::login::PendingLogin;
use super::loopback::LoopbackListener;
use crate::config::{DEEP_LINK_REDIRECT, RedirectKind};
use crate::diagnose::Diagnosis;
use crate::engine::Engine;
use crate::error::{Error, Result};
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
    /// Present for deep-link logins until the callback arrives.
    login: Option<Arc<PendingLogin>>,
    task: JoinHandle<()>,
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
        f.debug_struct("LoginFlow").field("in_progress", &self.in_progress()).finish_non_exhaustive()
    }
}

impl LoginFlow {
    pub fn new(engine: Arc<Engine>, timeout: Duration, on_done: OnDone) -> Self {
        Self { engine, on_done, timeout, active: Arc::default(), next_serial: Mutex::new(0) }
    }

    /// Which redirect the pending login waits on, if one is pending.
    pub fn in_progress(&self) -> Option<RedirectKind> {
        lock(&self.active).as_ref().map(|a| a.kind)
    }

    /// Starts a login and returns the consent page's URL for the browser. Replaces any
    /// login in progress (whose outcome is `LoginCancelled`).
    pub async fn start(&self, kind: RedirectKind, scopes: &[String], show_dialog: bool) -> Result<Url> {
        self.cancel();
        let serial = {
            let mut next = lock(&self.next_serial);
            *next += 1;
            *next
        };
        let (url, active) = match kind {
            RedirectKind::Loopback => {
                let listener = LoopbackListener::bind(self.engine.settings().loopback_port).await?;
                let login = self.engine.begin_login(scopes, listener.redirect_uri(), show_dialog)?;
                let url = login.authorize_url().clone();
                let (engine, on_done, active, timeout) =
                    (self.engine.clone(), self.on_done.clone(), self.active.clone(), self.timeout);
                let task = tokio::spawn(async move {
                    let result = engine.complete_loopback(&listener, &login, timeout).await;
                    if finish(&active, serial) {
                        on_done(result.map_err(|e| e.diagnose()));
                    }
                });
                (url, Active { serial, kind, login: None, task })
            }
            RedirectKind::DeepLink => {
                let login = Arc::new(self.engine.begin_login(scopes, DEEP_LINK_REDIRECT.into(), show_dialog)?);
                let url = login.authorize_url().clone();
                let (on_done, active, timeout) = (self.on_done.clone(), self.active.clone(), self.timeout);
                let task = tokio::spawn(async move {
                    tokio::time::sleep(timeout).await;
                    if finish(&active, serial) {
                        on_done(Err(Error::LoginTimeout(timeout).diagnose()));
                    }
                });
                (url, Active { serial, kind, login: Some(login), task })
            }
        };
        *lock(&self.active) = Some(active);
        tracing::info!(?kind, "login started");
        Ok(url)
    }

    /// Completes the pending deep-link login from a `spotoken://` URL. A URL that is not
    /// this login's (another path, another `state`) is refused and the login keeps
    /// waiting; with no login pending, `NoLoginPending`.
    pub async fn deliver_deep_link(&self, url: &str) -> Result<AccountRecord> {
        let (serial, login) = {
            let guard = lock(&self.active);
            match guard.as_ref() {
                Some(Active { serial, login: Some(login), .. }) => (*serial, login.clone()),
                _ => {
                    tracing::warn!("a deep link arrived with no login waiting for it");
                    return Err(Error::NoLoginPending);
                }
            }
        };
        let code = match login.accept_callback(url) {
            Ok(code) => code,
            Err(refused) if !refused.state_verified => {
                tracing::warn!(reason = %refused.error, "refused a deep link that does not belong to this login");
                return Err(refused.error);
            }
            Err(failed) => {
                let error = failed.error;
                if finish(&self.active, serial) {
                    (self.on_done)(Err(error.diagnose()));
                }
                return Err(error);
            }
        };
        // The login is now spoken for: a second delivery finds nothing pending.
        if !finish(&self.active, serial) {
            return Err(Error::NoLoginPending);
        }
        tracing::info!("deep link received, state matched");
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

/// Ends login `serial` if it is still the active one; true if this call ended it.
fn finish(active: &Mutex<Option<Active>>, serial: u64) -> bool {
    let mut guard = lock(active);
    if guard.as_ref().is_some_and(|a| a.serial == serial) {
        *guard = None;
        true
    } else {
        false
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
