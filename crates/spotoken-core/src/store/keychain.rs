//! Tokens in the OS keychain: Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows, through the `keyring` crate.
//!
//! One entry per account (service `spotoken`, user = the Spotify user id) holds both
//! tokens and the access token's expiry on one line (see [`StoredTokens`]'s stored
//! form), so a reader always sees a consistent pair. Every
//! call runs on its own thread with a timeout: a locked
//! gnome-keyring waits forever on a password prompt that may be on no screen, and a hung
//! keychain must not hang Spotoken.
//!
//! What only Windows and macOS compile (`cfg(not(target_os = "linux"))`) is tested there
//! (the engine's tests under Wine), not by the mutation tests, which run on Linux: its
//! mutants are reported as missed without having been built.

use super::tokens::{Repair, StoredTokens};
use crate::error::{Error, Result};
#[cfg(target_os = "linux")]
use crate::provider::Provider;
use crate::secret::Secret;
use std::sync::mpsc;
use std::time::Duration;

pub const SERVICE: &str = "spotoken";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a person at a terminal or in the window is given to answer the keychain's
/// unlock prompt (gnome-keyring's dialog, KeePassXC's unlock window).
pub const PROMPT_TIMEOUT: Duration = Duration::from_secs(120);
/// A keychain that has not answered by now is most likely asking the person.
const ASKING_AFTER: Duration = Duration::from_millis(1500);

/// How a front end tells the person that the keychain is waiting for them (called
/// once per keychain operation that has not answered within 1.5 s, with how long
/// Spotoken will wait in all). The command line prints "Unlock KeePassXC to continue…".
pub type WaitingHook = std::sync::Arc<dyn Fn(Duration) + Send + Sync>;

/// Tells the person once, during one keychain operation, that the keychain waits.
struct Telling {
    hook: Option<WaitingHook>,
    told: bool,
}

impl Telling {
    /// Says it (logged, and through the hook), unless it was said already.
    fn now(&mut self, total: Duration) {
        if std::mem::replace(&mut self.told, true) {
            return;
        }
        tracing::info!(?total, "the keychain has not answered; it may be asking to be unlocked");
        if let Some(hook) = &self.hook {
            hook(total);
        }
    }
}

/// Runs `work` on a thread of its own and hands back where its answer will arrive. A
/// hung keychain call keeps its thread; the caller moves on with an error.
fn on_thread<T: Send + 'static>(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Result<mpsc::Receiver<T>> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|e| Error::Keychain(format!("cannot start a thread: {e}")))?;
    Ok(rx)
}

/// Waits up to `timeout` for an answer, saying after [`ASKING_AFTER`] that the keychain
/// may be asking the person. `None`: no answer in time.
fn await_answer<T>(rx: &mpsc::Receiver<T>, timeout: Duration, total: Duration, telling: &mut Telling) -> Option<T> {
    let first = ASKING_AFTER.min(timeout);
    match rx.recv_timeout(first) {
        Ok(answer) => return Some(answer),
        Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        // Out of time already: nothing to tell the person to do.
        Err(mpsc::RecvTimeoutError::Timeout) if first == timeout => return None,
        Err(mpsc::RecvTimeoutError::Timeout) => {}
    }
    telling.now(total);
    rx.recv_timeout(timeout.saturating_sub(first)).ok()
}

/// The OS keychain, seen through one service name.
#[derive(Clone)]
pub struct Keychain {
    service: String,
    timeout: Duration,
    /// Set by `SPOTOKEN_KEYCHAIN_TIMEOUT_SECS`: then nothing else changes the timeout.
    timeout_is_set: bool,
    /// Told when the keychain seems to wait for the person ([`Keychain::interactive`]).
    on_waiting: Option<WaitingHook>,
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keychain")
            .field("service", &self.service)
            .field("timeout", &self.timeout)
            .field("timeout_is_set", &self.timeout_is_set)
            .field("tells_when_waiting", &self.on_waiting.is_some())
            .finish()
    }
}

impl Default for Keychain {
    fn default() -> Self {
        Self::new(SERVICE, DEFAULT_TIMEOUT)
    }
}

impl Keychain {
    pub fn new(service: &str, timeout: Duration) -> Self {
        Self { service: service.to_string(), timeout, timeout_is_set: false, on_waiting: None }
    }

    /// A fresh [`Telling`] for one operation.
    fn told_once(&self) -> Telling {
        Telling { hook: self.on_waiting.clone(), told: false }
    }

    /// The answer of one operation run [`on_thread`], within this keychain's timeout
    /// (the person told if it waits), or the timeout's error.
    #[cfg(target_os = "linux")]
    fn answer<T>(&self, rx: &mpsc::Receiver<Result<T>>) -> Result<T> {
        await_answer(rx, self.timeout, self.timeout, &mut self.told_once())
            .unwrap_or_else(|| Err(timed_out(self.timeout)))
    }

    /// For a person who can answer the keychain's unlock prompt (a terminal, the
    /// window): waits up to [`PROMPT_TIMEOUT`] unless `SPOTOKEN_KEYCHAIN_TIMEOUT_SECS`
    /// says otherwise. Scripts keep the short default, so a locked keychain cannot hold
    /// them for minutes.
    pub fn interactive(mut self) -> Self {
        if !self.timeout_is_set {
            self.timeout = PROMPT_TIMEOUT;
        }
        self
    }

    /// Calls `on_waiting` when the keychain seems to be asking the person (see
    /// [`WaitingHook`]).
    pub fn telling(mut self, on_waiting: WaitingHook) -> Self {
        self.on_waiting = Some(on_waiting);
        self
    }

    /// Timeout from `SPOTOKEN_KEYCHAIN_TIMEOUT_SECS`, else [`DEFAULT_TIMEOUT`]. (The
    /// engine's tests leave the variable unset, where this is `Default`; the command
    /// line's keychain and unlock tests set it, through the real binary.)
    pub fn from_env() -> Self {
        Self::with_timeout_var(std::env::var("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS").ok().as_deref())
    }

    /// As [`Keychain::from_env`], given the variable's value: a number of seconds above
    /// zero, else the default.
    fn with_timeout_var(value: Option<&str>) -> Self {
        let set = value
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64);
        Self { timeout_is_set: set.is_some(), ..Self::new(SERVICE, set.unwrap_or(DEFAULT_TIMEOUT)) }
    }

    /// Makes sure the keychain can take tokens now — a Secret Service is there, its
    /// collection unlocked (asking the person if it is locked) — before a login sends
    /// anyone to Spotify's consent page whose answer would have nowhere to go.
    #[tracing::instrument(skip(self))]
    pub fn check_ready(&self) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            let timeout = self.timeout;
            let rx = on_thread("keychain-check", move || secret_service::check_ready(timeout))?;
            self.answer(&rx)
        }
        // Windows' Credential Manager and the macOS Keychain: a real write, read and
        // delete of an entry of its own (a locked macOS keychain asks the person here).
        #[cfg(not(target_os = "linux"))]
        {
            let probe = Secret::new(format!("probe {:016x}", super::unpredictable()));
            let matched = self.call(READINESS_PROBE, move |entry| {
                entry.set_password(probe.secret())?;
                let back = entry.get_password();
                entry.delete_credential()?;
                Ok(back? == *probe.secret())
            })?;
            if matched {
                Ok(())
            } else {
                Err(Error::Keychain("the keychain gave back something other than what was stored in it".into()))
            }
        }
    }

    pub fn read(&self, account: &str) -> Result<StoredTokens> {
        self.read_repairing(account, None).map(|(tokens, _)| tokens)
    }

    /// The account's tokens. Several entries for it are repaired: the newest is kept
    /// ([`newest_of`](super::tokens::newest_of), with `newest_refresh` from the accounts file), the others removed,
    /// and what was done is handed back.
    #[tracing::instrument(skip(self))]
    pub fn read_repairing(
        &self,
        account: &str,
        newest_refresh: Option<&str>,
    ) -> Result<(StoredTokens, Option<Repair>)> {
        let text = self
            .call(account, |entry| match entry.get_password() {
                // Several entries: read them all below.
                Err(keyring::Error::Ambiguous(_)) => Ok(None),
                other => other.map(Some),
            })
            .map_err(|e| match e {
                Error::KeychainEntryMissing(_) => self.missing_or_locked(account),
                other => other,
            })?;
        match text {
            Some(text) if StoredTokens::is_cut(&text) => {
                tracing::warn!("the keychain gave back only the first line of the account's tokens");
                Err(Error::KeychainEntryCut(account.to_string()))
            }
            Some(text) => Ok((StoredTokens::from_text(&text)?, None)),
            None => {
                let (tokens, repair) = self.repair(account, newest_refresh)?;
                tracing::warn!(
                    found = repair.found,
                    removed = repair.removed,
                    "the keychain held several entries for the account; kept the newest"
                );
                Ok((tokens, Some(repair)))
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn repair(&self, account: &str, newest_refresh: Option<&str>) -> Result<(StoredTokens, Repair)> {
        let (service, user, timeout) = (self.service.clone(), account.to_string(), self.timeout);
        let newest = newest_refresh.map(str::to_string);
        let rx =
            on_thread("keychain-repair", move || secret_service::repair(&service, &user, newest.as_deref(), timeout))?;
        self.answer(&rx)
    }

    /// One entry per service and account is all Credential Manager and the macOS
    /// Keychain can hold.
    #[cfg(not(target_os = "linux"))]
    fn repair(&self, account: &str, _newest_refresh: Option<&str>) -> Result<(StoredTokens, Repair)> {
        Err(Error::Keychain(format!("several keychain entries match account {account}")))
    }

    /// Stores `tokens` as the account's only entry: several entries (see [`Repair`])
    /// are replaced by one, so a sign-in can always put right whatever is there.
    #[tracing::instrument(skip_all, fields(account))]
    pub fn write(&self, account: &str, tokens: &StoredTokens) -> Result<()> {
        let text = tokens.to_text()?;
        let several = self.call(account, move |entry| match entry.set_password(&text) {
            Err(keyring::Error::Ambiguous(_)) => Ok(true),
            other => other.map(|()| false),
        })?;
        if several {
            self.on_every_entry(account, Some(Secret::new(tokens.to_text()?)))?;
        }
        tracing::debug!("tokens written to the keychain");
        Ok(())
    }

    /// With `Some(secret)`: writes it into one of the account's entries and removes the
    /// others; with `None`: removes them all. How many were removed.
    #[cfg(target_os = "linux")]
    fn on_every_entry(&self, account: &str, secret: Option<Secret<String>>) -> Result<usize> {
        let (service, user, timeout) = (self.service.clone(), account.to_string(), self.timeout);
        let rx = on_thread("keychain-all", move || {
            secret_service::on_every_entry(&service, &user, secret.as_ref(), timeout)
        })?;
        let removed = self.answer(&rx)?;
        tracing::warn!(removed, "the keychain held several entries for the account; one is left");
        Ok(removed)
    }

    #[cfg(not(target_os = "linux"))]
    fn on_every_entry(&self, account: &str, _secret: Option<Secret<String>>) -> Result<usize> {
        Err(Error::Keychain(format!("several keychain entries match account {account}")))
    }

    /// Does everything a write needs except the write itself — connects, opens the
    /// Secret Service session, finds the entry (or its collection) — so that after
    /// Spotify answers a refresh, [`PreparedWrite::commit`] is one D-Bus call. Rotation
    /// kills the old refresh token the moment Spotify answers; the shorter the time
    /// until the new one is stored, the fewer sign-ins a crash can lose. Failing here
    /// also means no refresh is sent that could not be stored.
    #[tracing::instrument(skip(self))]
    pub fn prepare_write(&self, account: &str) -> Result<PreparedWrite> {
        PreparedWrite::open(self, account)
    }

    /// Removes the entry; `Ok(false)` if there was none.
    #[tracing::instrument(skip(self))]
    pub fn delete(&self, account: &str) -> Result<bool> {
        match self.call(account, |entry| match entry.delete_credential() {
            Err(keyring::Error::Ambiguous(_)) => Ok(true),
            other => other.map(|()| false),
        }) {
            Ok(false) => Ok(true),
            Ok(true) => self.on_every_entry(account, None).map(|_| true),
            // Not found because the keychain stayed locked is not "already gone": the
            // entry would outlive the sign-out.
            Err(Error::KeychainEntryMissing(_)) => match self.missing_or_locked(account) {
                Error::KeychainEntryMissing(_) => Ok(false),
                other => Err(other),
            },
            Err(e) => Err(e),
        }
    }

    fn call<T, F>(&self, account: &str, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&keyring::Entry) -> keyring::Result<T> + Send + Sync + 'static,
    {
        let op = std::sync::Arc::new(op);
        let started = std::time::Instant::now();
        let mut telling = self.told_once();
        if let Some(error) = self.held_first(account, &mut telling).error(account, self.timeout) {
            return Err(error);
        }
        loop {
            let (service, user, op) = (self.service.clone(), account.to_string(), op.clone());
            let rx = on_thread("keychain", move || keyring::Entry::new(&service, &user).and_then(|entry| op(&entry)))?;
            let left = self.timeout.saturating_sub(started.elapsed());
            let error = match await_answer(&rx, left, self.timeout, &mut telling) {
                Some(Ok(value)) => return Ok(value),
                Some(Err(e)) => classify(account, e, self.timeout),
                None => {
                    tracing::warn!(timeout = ?self.timeout, "the keychain did not answer");
                    return Err(timed_out(self.timeout));
                }
            };
            // D-Bus gives up on a call after 2 s, but a keychain that holds the call open
            // while it shows its unlock window (KeePassXC) answers the same call once
            // the person has unlocked it: ask again while time is left. (Any other
            // error is said at once. Whether the last 300 ms still allow one more try,
            // `<` or `<=`, `+` or `-` the pause, changes only when the same timeout
            // comes, not what is said.)
            if matches!(error, Error::KeychainTimeout(..)) && started.elapsed() + RETRY_PAUSE < self.timeout {
                telling.now(self.timeout);
                tracing::debug!("the keychain call timed out on D-Bus; waiting for the keychain's own answer");
                let unlock =
                    self.wait_for_unlock(account, self.timeout.saturating_sub(started.elapsed()), &mut telling);
                if let Some(error) = unlock.error(account, self.timeout) {
                    return Err(error);
                }
                // (Only when the next try goes out: pausing after `Answered` instead
                // of `Unknown` changes no answer, so that mutant survives.)
                if unlock == Unlock::Unknown {
                    std::thread::sleep(RETRY_PAUSE);
                }
                continue;
            }
            return Err(error);
        }
    }
}

impl super::tokens::TokenStore for Keychain {
    fn check_ready(&self) -> Result<()> {
        Keychain::check_ready(self)
    }

    fn read(&self, account: &str) -> Result<StoredTokens> {
        Keychain::read(self, account)
    }

    fn read_repairing(&self, account: &str, newest_refresh: Option<&str>) -> Result<(StoredTokens, Option<Repair>)> {
        Keychain::read_repairing(self, account, newest_refresh)
    }

    fn write(&self, account: &str, tokens: &StoredTokens) -> Result<()> {
        Keychain::write(self, account, tokens)
    }

    fn prepare_write(&self, account: &str) -> Result<Box<dyn super::tokens::PreparedStore>> {
        Ok(Box::new(Keychain::prepare_write(self, account)?))
    }

    fn delete(&self, account: &str) -> Result<bool> {
        Keychain::delete(self, account)
    }

    fn for_a_person(&self) -> Option<std::sync::Arc<dyn super::tokens::TokenStore>> {
        Some(std::sync::Arc::new(self.clone().interactive()))
    }

    fn telling_when_waiting(&self, on_waiting: WaitingHook) -> Option<std::sync::Arc<dyn super::tokens::TokenStore>> {
        Some(std::sync::Arc::new(self.clone().telling(on_waiting)))
    }
}

/// The entry [`Keychain::check_ready`] writes and removes where no lock state can be
/// read: not a Spotify user id (those have no spaces).
#[cfg(not(target_os = "linux"))]
const READINESS_PROBE: &str = "spotoken readiness probe";

/// The pause before asking a keychain again that did not answer in D-Bus's time.
const RETRY_PAUSE: Duration = Duration::from_millis(300);

mod prepared;
pub use prepared::PreparedWrite;

mod unlock;
use unlock::Unlock;

/// The Secret Service spoken to directly: see its module.
#[cfg(target_os = "linux")]
mod secret_service;

mod errors;
use errors::{classify, timed_out};
#[cfg(target_os = "linux")]
use errors::{classify_text, locked};

#[cfg(test)]
mod tests;
