//! Tokens in the OS keychain: Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows, through the `keyring` crate.
//!
//! One entry per account (service `spotoken`, user = the Spotify user id) holds both
//! tokens and the access token's expiry as `key=value` lines (see
//! [`StoredTokens`]'s stored form), so a reader always sees a consistent pair. Every call runs on its own thread with a timeout: a locked
//! gnome-keyring waits forever on a password prompt that may be on no screen, and a hung
//! keychain must not hang Spotoken.

use super::provider::Provider;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::secret::{AccessToken, RefreshToken, Secret};
use std::sync::mpsc;
use std::time::Duration;

pub const SERVICE: &str = "spotoken";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a person at a terminal or in the window is given to answer the keychain's
/// unlock prompt (gnome-keyring's dialog, KeePassXC's unlock window).
pub const PROMPT_TIMEOUT: Duration = Duration::from_secs(120);
/// A keychain that has not answered by now is most likely asking the person.
const ASKING_AFTER: Duration = Duration::from_millis(1500);

type WaitingHook = Box<dyn Fn(Duration) + Send + Sync>;
static ON_WAITING: std::sync::OnceLock<WaitingHook> = std::sync::OnceLock::new();

/// How a front end tells the person that the keychain is waiting for them (called
/// once per keychain operation that has not answered within 1.5 s, with how long
/// Spotoken will wait in all). The command line prints "Unlock KeePassXC to continue…".
pub fn on_waiting(hook: impl Fn(Duration) + Send + Sync + 'static) {
    let _ = ON_WAITING.set(Box::new(hook));
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
fn await_answer<T>(rx: &mpsc::Receiver<T>, timeout: Duration, total: Duration, told: &mut bool) -> Option<T> {
    let first = ASKING_AFTER.min(timeout);
    match rx.recv_timeout(first) {
        Ok(answer) => return Some(answer),
        Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        // Out of time already: nothing to tell the person to do.
        Err(mpsc::RecvTimeoutError::Timeout) if first == timeout => return None,
        Err(mpsc::RecvTimeoutError::Timeout) => {}
    }
    if !*told {
        *told = true;
        tracing::info!(?total, "the keychain has not answered; it may be asking to be unlocked");
        if let Some(hook) = ON_WAITING.get() {
            hook(total);
        }
    }
    rx.recv_timeout(timeout.saturating_sub(first)).ok()
}

/// What the keychain holds for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTokens {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub access_expires_at: Timestamp,
    /// When this access token was obtained.
    pub obtained_at: Timestamp,
}

/// The first line of the stored form.
const FORMAT_V2: &str = "spotoken-tokens v2";

impl StoredTokens {
    /// The stored form: one `key=value` per line, with no `{` or `}` anywhere.
    /// KeePassXC resolves `{…}` placeholders in the secrets it hands out (it logged
    /// "Maximum depth of replacement" over version 1's JSON): a form without braces can
    /// never be rewritten by it, whatever a token holds. Tokens are base64url text, so
    /// no value has a line break or a brace (checked, never assumed).
    pub(crate) fn to_text(&self) -> Result<String> {
        let mut text = format!("{FORMAT_V2}\naccess_token={}\n", self.access_token.secret());
        if let Some(refresh) = &self.refresh_token {
            text.push_str(&format!("refresh_token={}\n", refresh.secret()));
        }
        text.push_str(&format!("access_expires_at={}\nobtained_at={}\n", self.access_expires_at.0, self.obtained_at.0));
        if text.lines().count() != if self.refresh_token.is_some() { 5 } else { 4 } || text.contains(['{', '}', '\r']) {
            return Err(Error::Keychain("Spotify sent a token with characters Spotoken does not store".into()));
        }
        Ok(text)
    }

    /// Reads the stored form, or version 1's JSON (written before version 2).
    pub(crate) fn from_text(text: &str) -> Result<Self> {
        if text.trim_start().starts_with('{') {
            return Self::from_json(text);
        }
        let mut lines = text.lines();
        if lines.next() != Some(FORMAT_V2) {
            return Err(Error::Keychain("the stored entry is not Spotoken's format".into()));
        }
        let mut fields = std::collections::HashMap::new();
        for line in lines.filter(|l| !l.is_empty()) {
            // Say only where it broke, never what the line holds.
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| Error::Keychain("the stored entry has a line that is not key=value".into()))?;
            fields.insert(key, value);
        }
        let time = |key: &str| {
            fields
                .get(key)
                .and_then(|v| v.parse::<i64>().ok())
                .map(Timestamp)
                .ok_or_else(|| Error::Keychain(format!("the stored entry has no valid {key}")))
        };
        Ok(Self {
            access_token: AccessToken::from(
                fields
                    .get("access_token")
                    .ok_or_else(|| Error::Keychain("the stored entry has no access_token".into()))?
                    .to_string(),
            ),
            refresh_token: fields.get("refresh_token").map(|t| RefreshToken::from(t.to_string())),
            access_expires_at: time("access_expires_at")?,
            obtained_at: time("obtained_at")?,
        })
    }

    /// Version 1: a JSON object.
    fn from_json(text: &str) -> Result<Self> {
        #[derive(serde::Deserialize)]
        struct Raw {
            access_token: String,
            refresh_token: Option<String>,
            access_expires_at: Timestamp,
            obtained_at: Timestamp,
        }
        // serde's message could quote a value; say only where it broke.
        let raw: Raw = serde_json::from_str(text).map_err(|e| {
            Error::Keychain(format!(
                "the stored entry is not Spotoken's format (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        Ok(Self {
            access_token: AccessToken::from(raw.access_token),
            refresh_token: raw.refresh_token.map(RefreshToken::from),
            access_expires_at: raw.access_expires_at,
            obtained_at: raw.obtained_at,
        })
    }
}

/// What a read did when the keychain held several entries for one account: a crash
/// of the keychain in the middle of a write, an older version, a keyring file restored
/// from a backup, or the same entry in another collection. The newest is kept
/// ([`newest_of`]), the others removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repair {
    /// Entries found for the account.
    pub found: usize,
    /// Entries removed (every one but the kept one, unless a removal failed).
    pub removed: usize,
}

impl Repair {
    /// In words, for the activity record and the log.
    pub fn describe(&self) -> String {
        let failed = self.found - 1 - self.removed;
        let mut text =
            format!("{} entries held tokens for this account; kept the newest, removed {}", self.found, self.removed);
        if failed > 0 {
            text.push_str(&format!(" ({failed} could not be removed and will be tried again)"));
        }
        text
    }
}

/// Which of several entries for one account to keep: the one with the newest access
/// token (`obtained_at` grows with every refresh and sign-in); among equals, the one
/// whose refresh token the accounts file names as the newest (`newest_refresh`, a
/// [`crate::activity::fingerprint`]). The accounts file is written just after the
/// keychain, so after a crash between the two it can name an older refresh token than
/// the newest entry holds: the time decides first. `None` for an entry that is not
/// Spotoken's format; `None` back when no entry is.
pub fn newest_of(entries: &[Option<StoredTokens>], newest_refresh: Option<&str>) -> Option<usize> {
    let named = |t: &StoredTokens| {
        newest_refresh.is_some_and(|f| t.refresh_token.as_ref().is_some_and(|r| crate::activity::fingerprint(r) == f))
    };
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.as_ref().map(|t| (i, t)))
        .max_by_key(|(i, t)| (t.obtained_at, named(t), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
}

/// The OS keychain, seen through one service name.
#[derive(Debug, Clone)]
pub struct Keychain {
    service: String,
    timeout: Duration,
    /// Set by `SPOTOKEN_KEYCHAIN_TIMEOUT_SECS`: then nothing else changes the timeout.
    timeout_is_set: bool,
}

impl Default for Keychain {
    fn default() -> Self {
        Self::new(SERVICE, DEFAULT_TIMEOUT)
    }
}

impl Keychain {
    pub fn new(service: &str, timeout: Duration) -> Self {
        Self { service: service.to_string(), timeout, timeout_is_set: false }
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

    /// Timeout from `SPOTOKEN_KEYCHAIN_TIMEOUT_SECS`, else [`DEFAULT_TIMEOUT`].
    pub fn from_env() -> Self {
        let set = std::env::var("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
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
            let mut told = false;
            await_answer(&rx, self.timeout, self.timeout, &mut told).unwrap_or(Err(timed_out(self.timeout)))
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
    /// ([`newest_of`], with `newest_refresh` from the accounts file), the others removed,
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
            rx.recv_timeout(left + Duration::from_secs(1)).unwrap_or(Unlock::NoAnswer)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (account, left);
            Unlock::Unknown
        }
    }

    /// What a search that found nothing means. KeePassXC answers a search of a locked
    /// database, once its unlock window is dismissed, with nothing at all: with a
    /// collection still locked, the entry is not missing but unreadable, and nobody must
    /// be told to sign in again. No collection at all (KeePassXC exposing no group) is
    /// said as such.
    fn missing_or_locked(&self, account: &str) -> Error {
        #[cfg(target_os = "linux")]
        {
            let timeout = self.timeout;
            let looked = on_thread("keychain-collections", move || secret_service::collections(timeout))
                .ok()
                .and_then(|rx| rx.recv_timeout(timeout).ok());
            match looked {
                Some(Ok((_, locked))) if locked > 0 => {
                    return Error::KeychainUnlockCancelled {
                        account: account.to_string(),
                        provider: Provider::detect(),
                    };
                }
                Some(Ok((0, _))) => return Error::KeychainNoCollection(Provider::detect()),
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
        let mut told = false;
        await_answer(&rx, self.timeout, self.timeout, &mut told).unwrap_or(Err(timed_out(self.timeout)))
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
        let mut told = false;
        let removed =
            await_answer(&rx, self.timeout, self.timeout, &mut told).unwrap_or(Err(timed_out(self.timeout)))?;
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
        let mut told = false;
        loop {
            let (service, user, op) = (self.service.clone(), account.to_string(), op.clone());
            let rx = on_thread("keychain", move || keyring::Entry::new(&service, &user).and_then(|entry| op(&entry)))?;
            let left = self.timeout.saturating_sub(started.elapsed());
            let error = match await_answer(&rx, left, self.timeout, &mut told) {
                Some(Ok(value)) => return Ok(value),
                Some(Err(e)) => classify(account, e, self.timeout),
                None => {
                    tracing::warn!(timeout = ?self.timeout, "the keychain did not answer");
                    return Err(timed_out(self.timeout));
                }
            };
            // D-Bus gives up on a call after 2 s, but a keychain that holds the call open
            // while it shows its unlock window (KeePassXC) answers the same call once
            // the person has unlocked it: ask again while time is left.
            if matches!(error, Error::KeychainTimeout(..)) && started.elapsed() + RETRY_PAUSE < self.timeout {
                if !std::mem::replace(&mut told, true)
                    && let Some(hook) = ON_WAITING.get()
                {
                    hook(self.timeout);
                }
                tracing::debug!("the keychain call timed out on D-Bus; waiting for the keychain's own answer");
                match self.wait_for_unlock(account, self.timeout.saturating_sub(started.elapsed())) {
                    Unlock::Answered => continue,
                    Unlock::Cancelled => {
                        return Err(Error::KeychainUnlockCancelled {
                            account: account.to_string(),
                            provider: Provider::detect(),
                        });
                    }
                    Unlock::NoAnswer => return Err(timed_out(self.timeout)),
                    Unlock::Unknown => {
                        std::thread::sleep(RETRY_PAUSE);
                        continue;
                    }
                }
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
}

impl super::tokens::PreparedStore for PreparedWrite {
    fn commit(&self, tokens: &StoredTokens) -> Result<()> {
        PreparedWrite::commit(self, tokens)
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
    /// Not within the time left.
    NoAnswer,
    /// Could not be asked this way; ask again after a pause.
    Unknown,
}

/// The pause before asking a keychain again that did not answer in D-Bus's time.
const RETRY_PAUSE: Duration = Duration::from_millis(300);

/// A keychain write made ready ahead of time; see [`Keychain::prepare_write`].
#[derive(Debug)]
pub struct PreparedWrite {
    account: String,
    timeout: Duration,
    #[cfg(target_os = "linux")]
    commit: mpsc::SyncSender<(Secret<String>, mpsc::SyncSender<Result<()>>)>,
    #[cfg(not(target_os = "linux"))]
    keychain: Keychain,
}

impl PreparedWrite {
    #[cfg(target_os = "linux")]
    fn open(keychain: &Keychain, account: &str) -> Result<Self> {
        let (ready_tx, ready) = mpsc::sync_channel::<Result<()>>(1);
        let (commit, requests) = mpsc::sync_channel::<(Secret<String>, mpsc::SyncSender<Result<()>>)>(1);
        let (service, user, timeout) = (keychain.service.clone(), account.to_string(), keychain.timeout);
        std::thread::Builder::new()
            .name("keychain-write".into())
            .spawn(move || secret_service::serve_prepared_write(&service, &user, timeout, &ready_tx, &requests))
            .map_err(|e| Error::Keychain(format!("cannot start a thread: {e}")))?;
        let mut told = false;
        match await_answer(&ready, keychain.timeout, keychain.timeout, &mut told) {
            Some(Ok(())) => Ok(Self { account: account.to_string(), timeout: keychain.timeout, commit }),
            Some(Err(e)) => Err(e),
            None => Err(timed_out(keychain.timeout)),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn open(keychain: &Keychain, account: &str) -> Result<Self> {
        Ok(Self { account: account.to_string(), timeout: keychain.timeout, keychain: keychain.clone() })
    }

    /// Stores `tokens` in the prepared entry.
    #[tracing::instrument(skip_all, fields(account = %self.account))]
    pub fn commit(&self, tokens: &StoredTokens) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            let (reply, answer) = mpsc::sync_channel(1);
            self.commit
                .send((Secret::new(tokens.to_text()?), reply))
                .map_err(|_| Error::Keychain("the prepared keychain write ended early".into()))?;
            match answer.recv_timeout(self.timeout) {
                Ok(result) => result?,
                Err(_) => return Err(timed_out(self.timeout)),
            }
            tracing::debug!("tokens written to the keychain");
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = self.timeout;
            self.keychain.write(&self.account, tokens)
        }
    }
}

/// The prepared write on Linux, through the same Secret Service client and the same
/// item attributes as the keyring crate, so entries written either way are one entry.
#[cfg(target_os = "linux")]
mod secret_service {
    use super::{Error, Provider, Repair, Result, Secret, StoredTokens, classify_text, locked, newest_of};
    use dbus_secret_service::{Collection, EncryptionType, Item, SecretService};
    use std::collections::HashMap;
    use std::sync::mpsc;
    use std::time::Duration;

    fn failed(timeout: Duration) -> impl Fn(dbus_secret_service::Error) -> Error {
        move |e| match e {
            dbus_secret_service::Error::Locked | dbus_secret_service::Error::Prompt => locked(),
            dbus_secret_service::Error::Unavailable => Error::KeychainNoService(e.to_string()),
            dbus_secret_service::Error::Dbus(d) => {
                let text = format!("{} ({})", d.message().unwrap_or_default(), d.name().unwrap_or_default());
                classify_text(&text, timeout, false)
            }
            other => Error::Keychain(other.to_string()),
        }
    }

    pub(super) fn check_ready(timeout: Duration) -> Result<()> {
        let failed = failed(timeout);
        let ss = SecretService::connect(EncryptionType::Dh).map_err(&failed)?;
        match ss.get_default_collection() {
            Ok(collection) => collection.ensure_unlocked().map_err(&failed),
            // No default collection yet: gnome-keyring's first write creates one, but
            // KeePassXC then opens its new-database wizard and holds the write until
            // someone finishes it. It needs a group exposed instead.
            Err(dbus_secret_service::Error::NoResult) => match Provider::detect() {
                Provider::KeePassXc => Err(Error::KeychainNoCollection(Provider::KeePassXc)),
                _ => Ok(()),
            },
            Err(e) => Err(failed(e)),
        }
    }

    /// Searches for the account's items with a D-Bus timeout of `left`, so a keychain
    /// that holds the call while it asks the person (KeePassXC) is waited for; see
    /// `Keychain::wait_for_unlock`.
    pub(super) fn held_search(service: &str, user: &str, left: Duration) -> super::Unlock {
        use super::Unlock;
        let Ok(connection) = dbus::blocking::Connection::new_session() else { return Unlock::Unknown };
        let proxy = connection.with_proxy("org.freedesktop.secrets", "/org/freedesktop/secrets", left);
        let answer: std::result::Result<(Vec<dbus::Path<'static>>, Vec<dbus::Path<'static>>), dbus::Error> =
            proxy.method_call("org.freedesktop.Secret.Service", "SearchItems", (search_attributes(service, user),));
        match answer {
            Ok((unlocked, _)) if !unlocked.is_empty() => Unlock::Answered,
            // Found, but locked (gnome-keyring lists locked items): it did not hold the
            // call for a prompt, so there is nothing to learn here.
            Ok((_, locked)) if !locked.is_empty() => Unlock::Unknown,
            Ok(_) => match collections(left) {
                Ok((_, locked)) if locked > 0 => Unlock::Cancelled,
                _ => Unlock::Answered,
            },
            Err(e)
                if matches!(
                    e.name(),
                    Some("org.freedesktop.DBus.Error.NoReply" | "org.freedesktop.DBus.Error.Timeout")
                ) =>
            {
                Unlock::NoAnswer
            }
            Err(e) => {
                tracing::debug!(error = %e, "a held search failed");
                Unlock::Unknown
            }
        }
    }

    /// How many collections there are, and how many of them are locked.
    pub(super) fn collections(timeout: Duration) -> Result<(usize, usize)> {
        let failed = failed(timeout);
        let ss = SecretService::connect(EncryptionType::Dh).map_err(&failed)?;
        let all = ss.get_all_collections().map_err(&failed)?;
        let mut locked = 0;
        for collection in &all {
            if collection.is_locked().map_err(&failed)? {
                locked += 1;
            }
        }
        Ok((all.len(), locked))
    }

    /// What keyring searches by (every collection); items it creates also carry
    /// `application`.
    fn search_attributes<'a>(service: &'a str, user: &'a str) -> HashMap<&'a str, &'a str> {
        HashMap::from([("service", service), ("username", user), ("target", "default")])
    }

    /// Every item for the account, unlocked (a locked one asks the person).
    fn matching<'s>(ss: &'s SecretService, service: &str, user: &str, timeout: Duration) -> Result<Vec<Item<'s>>> {
        let failed = failed(timeout);
        let found = ss.search_items(search_attributes(service, user)).map_err(&failed)?;
        for item in &found.locked {
            item.unlock().map_err(&failed)?;
        }
        Ok(found.unlocked.into_iter().chain(found.locked).collect())
    }

    /// Removes every item but `keep`; how many went. One that cannot be removed stays
    /// (the next read tries again).
    fn remove_all_but(items: &[Item<'_>], keep: Option<usize>) -> usize {
        let mut removed = 0;
        for (i, item) in items.iter().enumerate() {
            if Some(i) == keep {
                continue;
            }
            match item.delete() {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(error = %e, "could not remove a duplicate keychain entry"),
            }
        }
        removed
    }

    /// Reads every entry for the account, keeps the newest and removes the others.
    pub(super) fn repair(
        service: &str,
        user: &str,
        newest_refresh: Option<&str>,
        timeout: Duration,
    ) -> Result<(StoredTokens, Repair)> {
        let failed = failed(timeout);
        let ss = SecretService::connect(EncryptionType::Dh).map_err(&failed)?;
        let items = matching(&ss, service, user, timeout)?;
        let mut entries = Vec::with_capacity(items.len());
        for item in &items {
            let bytes = item.get_secret().map_err(&failed)?;
            entries.push(String::from_utf8(bytes).ok().and_then(|text| StoredTokens::from_text(&text).ok()));
        }
        let Some(keep) = newest_of(&entries, newest_refresh) else {
            return match items.len() {
                0 => Err(Error::KeychainEntryMissing(user.to_string())),
                n => Err(Error::Keychain(format!(
                    "{n} keychain entries match account {user} and none is in Spotoken's format"
                ))),
            };
        };
        let removed = remove_all_but(&items, Some(keep));
        let tokens = entries.swap_remove(keep).ok_or_else(|| Error::Keychain("the kept entry went missing".into()))?;
        Ok((tokens, Repair { found: items.len(), removed }))
    }

    /// With `secret`: stores it in the account's first item and removes the others (the
    /// secret is stored before anything is removed); without: removes them all.
    pub(super) fn on_every_entry(
        service: &str,
        user: &str,
        secret: Option<&Secret<String>>,
        timeout: Duration,
    ) -> Result<usize> {
        let failed = failed(timeout);
        let ss = SecretService::connect(EncryptionType::Dh).map_err(&failed)?;
        let items = matching(&ss, service, user, timeout)?;
        let keep = match (secret, items.first()) {
            (Some(secret), Some(first)) => {
                first.set_secret(secret.secret().as_bytes(), "text/plain").map_err(&failed)?;
                Some(0)
            }
            (Some(secret), None) => {
                create_in(&default_collection(&ss, timeout)?, service, user, secret.secret().as_bytes(), timeout)?;
                None
            }
            (None, _) => None,
        };
        Ok(remove_all_but(&items, keep))
    }

    /// The default collection, unlocked (asking the person if it is locked).
    fn default_collection(ss: &SecretService, timeout: Duration) -> Result<Collection<'_>> {
        let failed = failed(timeout);
        let collection = ss.get_default_collection().map_err(&failed)?;
        collection.ensure_unlocked().map_err(&failed)?;
        Ok(collection)
    }

    /// A new item for the account, with the attributes and label keyring gives its own.
    fn create_in(
        collection: &Collection<'_>,
        service: &str,
        user: &str,
        secret: &[u8],
        timeout: Duration,
    ) -> Result<()> {
        let mut attributes = search_attributes(service, user);
        attributes.insert("application", "rust-keyring");
        let label = format!("{user}@{service}:default (keyring v3.6.3)");
        collection.create_item(&label, attributes, secret, true, "text/plain").map(drop).map_err(failed(timeout))
    }

    pub(super) fn serve_prepared_write(
        service: &str,
        user: &str,
        timeout: Duration,
        ready: &mpsc::SyncSender<Result<()>>,
        requests: &mpsc::Receiver<(Secret<String>, mpsc::SyncSender<Result<()>>)>,
    ) {
        let failed = failed(timeout);
        let ss = match SecretService::connect(EncryptionType::Dh) {
            Ok(ss) => ss,
            Err(e) => {
                let _ = ready.send(Err(failed(e)));
                return;
            }
        };
        // Several items (see `Repair`): the answer goes into the first, the others are
        // removed after it is stored. None: the default collection takes a new one.
        let prepared = matching(&ss, service, user, timeout).and_then(|items| {
            let collection = if items.is_empty() { Some(default_collection(&ss, timeout)?) } else { None };
            Ok((items, collection))
        });
        let (items, collection) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        if ready.send(Ok(())).is_err() {
            return;
        }
        // Dropped without a commit (the refresh failed): nothing is written.
        let Ok((text, reply)) = requests.recv() else { return };
        let secret = text.secret().as_bytes();
        let written = match (items.first(), &collection) {
            (Some(item), _) => item.set_secret(secret, "text/plain").map_err(&failed),
            (None, Some(collection)) => create_in(collection, service, user, secret, timeout),
            (None, None) => Err(Error::Keychain("no keychain collection to write to".into())),
        };
        if written.is_ok() && items.len() > 1 {
            let removed = remove_all_but(&items, Some(0));
            tracing::warn!(
                found = items.len(),
                removed,
                "the keychain held several entries for the account; one is left"
            );
        }
        let _ = reply.send(written);
    }
}

/// The keychain did not answer in `waited`.
fn timed_out(waited: Duration) -> Error {
    Error::KeychainTimeout(waited, Provider::detect())
}

fn locked() -> Error {
    Error::KeychainLocked(Provider::detect())
}

/// Turns keyring's errors into ones a person can act on. Never formats `BadEncoding`,
/// whose payload is the stored secret.
fn classify(account: &str, error: keyring::Error, timeout: Duration) -> Error {
    use keyring::Error as K;
    let detail = match &error {
        K::NoEntry => return Error::KeychainEntryMissing(account.to_string()),
        K::BadEncoding(_) => return Error::Keychain("the stored entry is not text".into()),
        K::Ambiguous(_) => {
            return Error::Keychain(format!("several keychain entries match account {account}"));
        }
        K::NoStorageAccess(e) | K::PlatformFailure(e) => e.to_string(),
        other => other.to_string(),
    };
    classify_text(&detail, timeout, matches!(error, K::NoStorageAccess(_)))
}

/// Classifies a keychain failure from its text: by the D-Bus error name in it when
/// there is one, else by what the message says.
fn classify_text(detail: &str, timeout: Duration, no_storage_access: bool) -> Error {
    let detail = detail.to_string();
    // The D-Bus error name says what happened; its message is free text ("blocked",
    // "prompt"…) and is only consulted when no name is there.
    if let Some(name) = dbus_error_name(&detail) {
        let short = name.rsplit('.').next().unwrap_or_default();
        return match short {
            "ServiceUnknown" | "NameHasNoOwner" => Error::KeychainNoService(detail),
            "NoReply" | "Timeout" | "TimedOut" => timed_out(timeout),
            "IsLocked" => locked(),
            "NoServer" | "FileNotFound" | "Disconnected" | "NotSupported" | "Spawn.ExecFailed" => {
                Error::KeychainNoBus(detail)
            }
            _ => Error::Keychain(detail),
        };
    }
    let lower = detail.to_lowercase();
    let word = |w: &str| lower.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| t == w);
    if lower.contains("serviceunknown")
        || lower.contains("not provided by any .service files")
        || lower.contains("org.freedesktop.secrets")
    {
        Error::KeychainNoService(detail)
    } else if lower.contains("autolaunch")
        || lower.contains("dbus_session_bus_address")
        || lower.contains("failed to connect to socket")
        || lower.contains("no such file or directory")
        || lower.contains("connection refused")
    {
        Error::KeychainNoBus(detail)
    } else if lower.contains("did not receive a reply") {
        // libdbus's NoReply text, as the keyring crate passes it on without the name:
        // a keychain that stopped answering (hung, stopped, busy with a prompt).
        timed_out(timeout)
    } else if word("locked") || word("prompt") || no_storage_access {
        locked()
    } else {
        Error::Keychain(detail)
    }
}

/// The first D-Bus error name (`org.freedesktop.DBus.Error.NoReply`,
/// `org.freedesktop.Secret.Error.IsLocked`…) in an error's text.
fn dbus_error_name(text: &str) -> Option<&str> {
    text.match_indices("org.freedesktop.").find_map(|(start, _)| {
        let rest = &text[start..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_')).unwrap_or(rest.len());
        let name = rest[..end].trim_end_matches('.');
        name.contains(".Error.").then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_t(account: &str, error: keyring::Error) -> Error {
        classify(account, error, DEFAULT_TIMEOUT)
    }

    #[test]
    fn the_stored_form_round_trips_has_no_braces_and_debug_is_redacted() {
        let tokens = StoredTokens {
            access_token: Secret::of("BQ-access".into()),
            refresh_token: Some(Secret::of("AQ-refresh".into())),
            access_expires_at: Timestamp(2_000),
            obtained_at: Timestamp(1_000),
        };
        let text = tokens.to_text().unwrap();
        assert!(!text.contains(['{', '}']), "{text}");
        assert_eq!(StoredTokens::from_text(&text).unwrap(), tokens);
        let without = StoredTokens { refresh_token: None, ..tokens.clone() };
        assert_eq!(StoredTokens::from_text(&without.to_text().unwrap()).unwrap(), without);
        // Version 1's JSON still reads.
        let v1 = r#"{"v":1,"access_token":"BQ-access","refresh_token":"AQ-refresh","access_expires_at":2000,"obtained_at":1000}"#;
        assert_eq!(StoredTokens::from_text(v1).unwrap(), tokens);
        // A token with a brace or a line break is refused, not stored half.
        let odd = StoredTokens { access_token: Secret::of("BQ{x}".into()), ..tokens.clone() };
        assert!(odd.to_text().is_err());
        let odd = StoredTokens { access_token: Secret::of("BQ\nrefresh_token=AQ-evil".into()), ..tokens.clone() };
        assert!(odd.to_text().is_err());
        let debug = format!("{tokens:?}");
        assert!(!debug.contains("BQ-access") && !debug.contains("AQ-refresh"), "{debug}");
    }

    #[test]
    fn of_several_entries_the_newest_is_kept() {
        let entry = |refresh: &str, obtained: i64| {
            Some(StoredTokens {
                access_token: Secret::of(format!("BQ-{refresh}")),
                refresh_token: Some(Secret::of(refresh.into())),
                access_expires_at: Timestamp(obtained + 3600),
                obtained_at: Timestamp(obtained),
            })
        };
        let named = |refresh: &str| crate::activity::fingerprint(&RefreshToken::of(refresh.into()));
        // The newest access token wins, whatever the accounts file names (it is written
        // after the keychain and can be one refresh behind).
        let entries = [entry("AQ-old", 100), entry("AQ-new", 200), None];
        assert_eq!(newest_of(&entries, None), Some(1));
        assert_eq!(newest_of(&entries, Some(&named("AQ-old"))), Some(1));
        // Among equals the named refresh token wins, wherever it is.
        let tied = [entry("AQ-a", 100), entry("AQ-b", 100), entry("AQ-c", 100)];
        assert_eq!(newest_of(&tied, Some(&named("AQ-b"))), Some(1));
        assert_eq!(newest_of(&tied, Some(&named("AQ-c"))), Some(2));
        // Nothing named: the first of equals.
        assert_eq!(newest_of(&tied, None), Some(0));
        assert_eq!(newest_of(&tied, Some(&named("AQ-gone"))), Some(0));
        // No entry in Spotoken's format: none to keep.
        assert_eq!(newest_of(&[None, None], None), None);
        assert_eq!(newest_of(&[], None), None);
    }

    /// A keychain slower than 1.5 s is said to be waiting for the person, once per
    /// operation, with the whole wait; one that answers in time or is given less than
    /// that is not.
    #[test]
    fn a_slow_keychain_is_said_to_wait_for_the_person_once() {
        use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        static TOLD_TOTAL: AtomicU64 = AtomicU64::new(0);
        on_waiting(|total| {
            CALLS.fetch_add(1, Ordering::SeqCst);
            TOLD_TOTAL.store(total.as_secs(), Ordering::SeqCst);
        });
        let answer_after = |delay: Duration| {
            let (tx, rx) = mpsc::sync_channel(1);
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let _ = tx.send(7);
            });
            rx
        };
        let (ten, total) = (Duration::from_secs(10), Duration::from_secs(120));
        let mut told = false;
        assert_eq!(await_answer(&answer_after(Duration::ZERO), ten, total, &mut told), Some(7));
        assert!(!told && CALLS.load(Ordering::SeqCst) == 0, "a quick answer says nothing");
        assert_eq!(await_answer(&answer_after(Duration::from_millis(1800)), ten, total, &mut told), Some(7));
        assert!(told);
        assert_eq!((CALLS.load(Ordering::SeqCst), TOLD_TOTAL.load(Ordering::SeqCst)), (1, 120));
        // Told already in this operation: not again.
        assert_eq!(await_answer(&answer_after(Duration::from_millis(1800)), ten, total, &mut told), Some(7));
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
        // Less time than that, and no answer: nothing said, nothing handed back.
        let mut told = false;
        let short = Duration::from_millis(200);
        assert_eq!(await_answer(&answer_after(Duration::from_secs(1)), short, short, &mut told), None);
        assert!(!told && CALLS.load(Ordering::SeqCst) == 1);
    }

    #[test]
    fn a_repair_says_what_it_did() {
        assert_eq!(
            Repair { found: 3, removed: 2 }.describe(),
            "3 entries held tokens for this account; kept the newest, removed 2"
        );
        assert_eq!(
            Repair { found: 3, removed: 1 }.describe(),
            "3 entries held tokens for this account; kept the newest, removed 1 (1 could not be removed and will be \
             tried again)"
        );
    }

    #[test]
    fn a_foreign_entry_is_reported_without_its_content() {
        let err = StoredTokens::from_text("{\"access_token\": 5, \"x\": \"hunter2\"}").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        let err = StoredTokens::from_text("spotoken-tokens v2\nhunter2\n").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn dbus_failures_are_classified() {
        let platform = |s: &str| keyring::Error::PlatformFailure(s.to_string().into());
        assert!(matches!(
            classify_t(
                "a",
                platform(
                    "D-Bus error: The name org.freedesktop.secrets was not provided by any .service files (org.freedesktop.DBus.Error.ServiceUnknown)"
                )
            ),
            Error::KeychainNoService(_)
        ));
        assert!(matches!(
            classify_t("a", platform("D-Bus error: Unable to autolaunch a dbus-daemon without a $DISPLAY for X11")),
            Error::KeychainNoBus(_)
        ));
        assert!(matches!(
            classify_t("a", keyring::Error::NoStorageAccess("collection is locked".to_string().into())),
            Error::KeychainLocked(_)
        ));
        assert!(matches!(classify_t("a", keyring::Error::NoEntry), Error::KeychainEntryMissing(a) if a == "a"));
    }

    #[test]
    fn the_dbus_error_name_decides_not_the_message() {
        let platform = |s: &str| keyring::Error::PlatformFailure(s.to_string().into());
        // libdbus's NoReply text says "blocked": that is not a locked keychain.
        let no_reply = "D-Bus error: Did not receive a reply. Possible causes include: the remote application did not \
                        send a reply, the message bus security policy blocked the reply, the reply timeout expired, or \
                        the network connection was broken. (org.freedesktop.DBus.Error.NoReply)";
        assert!(matches!(classify_t("a", platform(no_reply)), Error::KeychainTimeout(..)));
        // The same text without the name, as a stopped gnome-keyring gives it.
        let nameless = no_reply.trim_end_matches(" (org.freedesktop.DBus.Error.NoReply)");
        assert!(matches!(classify_t("a", platform(nameless)), Error::KeychainTimeout(..)));
        assert!(matches!(
            classify_t("a", platform("Cannot unlock (org.freedesktop.Secret.Error.IsLocked)")),
            Error::KeychainLocked(_)
        ));
        assert!(matches!(
            classify_t("a", platform("The name is not activatable (org.freedesktop.DBus.Error.NameHasNoOwner)")),
            Error::KeychainNoService(_)
        ));
        assert!(matches!(classify_t("a", platform("the reply was blocked by policy")), Error::Keychain(_)));
        assert_eq!(
            dbus_error_name("x (org.freedesktop.DBus.Error.NoReply)."),
            Some("org.freedesktop.DBus.Error.NoReply")
        );
        assert_eq!(dbus_error_name("name org.freedesktop.secrets was not provided"), None);
    }
}
