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

    /// Waits up to `left` for the keychain's answer to a search for the account, asked
    /// with a D-Bus timeout of that length (the keyring crate's calls give up after 2 s,
    /// while KeePassXC holds a search of a locked database until its unlock window is
    /// answered, then answers it). Asking again instead would open the window anew after
    /// the person dismissed it, and a dismissal would never be seen.
    fn wait_for_unlock(&self, account: &str, left: Duration) -> Unlock {
        #[cfg(target_os = "linux")]
        {
            let (service, user) = (self.service.clone(), account.to_string());
            let Ok(rx) = on_thread("keychain-held", move || secret_service::held_search(&service, &user, left)) else {
                return Unlock::Unknown;
            };
            // A second's margin over the search's own D-Bus timeout, so its answer, not
            // this wait, ends it.
            rx.recv_timeout(left + Duration::from_secs(1)).unwrap_or(Unlock::NoAnswer)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (account, left);
            Unlock::Unknown
        }
    }

    /// KeePassXC holds a search of a locked database until its unlock window is
    /// answered, so it is asked first with a search of its own whose D-Bus timeout is
    /// the whole wait: the window's answer, the password or Escape, is heard whenever it
    /// is given. Asked only after the keyring crate's own call had given up (at 2 s), a
    /// search arriving just after the person dismissed the window would open it again.
    /// Other keychains are not asked first: gnome-keyring answers a search of a locked
    /// collection at once, without a prompt, so its answer says nothing about one, and
    /// no other is known to hold a search.
    fn held_first(&self, account: &str, telling: &mut Telling) -> Unlock {
        #[cfg(target_os = "linux")]
        {
            if Provider::detect() != Provider::KeePassXc {
                return Unlock::Unknown;
            }
            tracing::debug!("asking KeePassXC first, with a search it holds while its unlock window is open");
            let (service, user, left) = (self.service.clone(), account.to_string(), self.timeout);
            let Ok(rx) = on_thread("keychain-held", move || secret_service::held_search(&service, &user, left)) else {
                return Unlock::Unknown;
            };
            // A second's margin over the search's own D-Bus timeout, as in
            // `wait_for_unlock`.
            await_answer(&rx, left + Duration::from_secs(1), self.timeout, telling).unwrap_or(Unlock::NoAnswer)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (account, telling);
            Unlock::Unknown
        }
    }

    /// What a search that found nothing means. KeePassXC answers a search of a locked
    /// database, once its unlock window is dismissed, with nothing at all: with a
    /// collection still locked, the entry is not missing but unreadable, and nobody must
    /// be told to sign in again. A locked gnome-keyring still finds its entries
    /// ([`Provider::finds_locked_entries`]): none found there is missing. Any other
    /// Secret Service, locked, is said to be locked. No collection at all (KeePassXC
    /// exposing no group) is said as such.
    fn missing_or_locked(&self, account: &str) -> Error {
        #[cfg(target_os = "linux")]
        {
            let timeout = self.timeout;
            let looked = on_thread("keychain-collections", move || secret_service::collections(timeout))
                .ok()
                .and_then(|rx| rx.recv_timeout(timeout).ok());
            match looked {
                Some(Ok((_, locked))) if locked > 0 => match Provider::detect() {
                    provider if provider.finds_locked_entries() => {}
                    // The search asked first (`held_first`) hears a dismissed unlock
                    // window; this is reached only when the database is locked again
                    // between that search and this read, or that search could not be
                    // asked. No test locks it in that instant.
                    p @ Provider::KeePassXc => {
                        return Error::KeychainUnlockCancelled { account: account.to_string(), provider: p };
                    }
                    // Not verified: whether the entry is there cannot be told while locked.
                    provider => return Error::KeychainLocked(provider),
                },
                // For a Secret Service that answers a read at once with no collection.
                // Neither tested here answers so (gnome-keyring always has its session
                // collection; KeePassXC holds the read, and `held_search` says it), so no
                // test reaches this arm.
                Some(Ok((0, _))) => return Error::KeychainNoCollection(Provider::detect()),
                // Only logged: without this arm the same "missing" follows, unlogged.
                Some(Err(e)) => tracing::debug!(error = %e, "could not list the keychain's collections"),
                _ => {}
            }
        }
        Error::KeychainEntryMissing(account.to_string())
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
                let unlock = self.wait_for_unlock(account, self.timeout.saturating_sub(started.elapsed()));
                if let Some(error) = unlock.error(account, self.timeout) {
                    return Err(error);
                }
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

/// How a keychain that held a call open answered it in the end. Only the Secret
/// Service holds calls open; elsewhere every answer is `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
enum Unlock {
    /// It answered: unlocked (or nothing was locked); ask again now.
    Answered,
    /// It answered with nothing while a collection stayed locked: its unlock window was
    /// dismissed.
    Cancelled,
    /// It answered with nothing, and there is no collection at all to wait for.
    NoCollection,
    /// Not within the time left.
    NoAnswer,
    /// Could not be asked this way; ask again after a pause.
    Unknown,
}

impl Unlock {
    /// What the person is told when the answer ends the operation (`waited`: the
    /// keychain's timeout); `None` when the keychain is to be asked (again).
    fn error(self, account: &str, waited: Duration) -> Option<Error> {
        match self {
            Self::Answered | Self::Unknown => None,
            Self::Cancelled => {
                Some(Error::KeychainUnlockCancelled { account: account.to_string(), provider: Provider::detect() })
            }
            Self::NoCollection => Some(Error::KeychainNoCollection(Provider::detect())),
            Self::NoAnswer => Some(timed_out(waited)),
        }
    }
}

/// The pause before asking a keychain again that did not answer in D-Bus's time.
const RETRY_PAUSE: Duration = Duration::from_millis(300);

mod prepared;
pub use prepared::PreparedWrite;

/// The Secret Service spoken to directly: see its module.
#[cfg(target_os = "linux")]
mod secret_service;

mod errors;
use errors::{classify, timed_out};
#[cfg(target_os = "linux")]
use errors::{classify_text, locked};

#[cfg(test)]
mod tests;
