//! Handing out access tokens that are valid for long enough, refreshing when needed,
//! without ever losing a refresh token.
//!
//! The rules, from how Spotify behaves:
//! - single flight: one refresh per account at a time across threads and processes
//!   ([`AccountLock`]); whoever waited re-reads the keychain before deciding;
//! - a refresh answer's `refresh_token` replaces the old one; if omitted, the old one
//!   stays; the new pair is in the keychain before the access token is handed out;
//! - 5xx, network failures and 429 are retried with backoff (`Retry-After` honoured up
//!   to a cap) and never touch the stored refresh token;
//! - `invalid_grant` means Spotify says the refresh token is dead: the account is marked
//!   "needs sign-in" and that token is never sent again.

use crate::activity::approval::{ASK_TIMEOUT, Decision};
use crate::activity::{Actor, Event, Recipient, RefreshOutcome, fingerprint};
use crate::clock::Timestamp;
use crate::diagnose::Diagnosis;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::scopes;
use crate::store::accounts::AccountRecord;
use crate::store::lock::AccountLock;
use crate::store::tokens::StoredTokens;
use std::time::Duration;

/// An access token handed out, and until when it is good.
#[derive(Debug, Clone)]
pub struct FreshToken {
    pub account: String,
    pub access_token: crate::secret::AccessToken,
    pub expires_at: Timestamp,
    /// Whether this call refreshed (rather than reusing the stored token).
    pub refreshed: bool,
}

impl Engine {
    /// An access token for `account` (or the only account) valid for at least
    /// `min_valid`, refreshing first if needed. A `min_valid` longer than Spotify's token
    /// lifetime gets the freshest token there is.
    /// `by` is who asks: a token that leaves Spotoken goes through [`Self::hand_out`]
    /// instead, so the activity record sees it.
    pub async fn fresh_token(&self, account: Option<&str>, min_valid: Duration, by: Actor) -> Result<FreshToken> {
        let record = self.resolve_account(account)?;
        self.token_for(&record, Some(min_valid), by, self.retry.deadline).await
    }

    /// [`Self::fresh_token`] for a token handed out to `to`: recorded, served or failed,
    /// and checked against the anomaly rules (a new program, a burst).
    ///
    /// For an account set to ask before a new program gets a token, a program never
    /// seen for it waits for the person's answer in the app first.
    pub async fn hand_out(&self, account: Option<&str>, min_valid: Duration, to: &Recipient) -> Result<FreshToken> {
        let record = self.resolve_account(account)?;
        let settings = self.settings();
        let asking = to
            .program
            .as_ref()
            .filter(|p| settings.ask_before_new_program.contains(&record.id) && !self.activity.is_known(&record.id, p));
        let allowed = match asking {
            None => Ok(()),
            Some(program) => match self.activity.ask(&record.id, program, self.clock.now(), ASK_TIMEOUT).await {
                Ok(Decision::AllowOnce | Decision::Always) => Ok(()),
                Ok(Decision::Deny) => Err(Error::HandOutDenied { program: program.describe() }),
                Err(e) => Err(e),
            },
        };
        let result = match allowed {
            Ok(()) => self.token_for(&record, Some(min_valid), to.channel.actor(), self.retry.deadline).await,
            Err(e) => Err(e),
        };
        let now = self.clock.now();
        let served = result.as_ref().map(|t| (&t.access_token, t.refreshed));
        self.activity.record(&Event::handout(now, &record.id, to, served));
        if result.is_ok() {
            // A program the person was just asked about is not news.
            let program = if asking.is_some() { None } else { to.program.as_ref() };
            self.activity.check_handout(&record, program, now, settings.burst_limit());
        }
        result
    }

    /// Refreshes now, unless another process did so while this one waited for the lock.
    pub async fn refresh_now(&self, account: &str, by: Actor) -> Result<FreshToken> {
        let record = self.accounts.get(account)?;
        self.token_for(&record, None, by, self.retry.deadline).await
    }

    /// [`Engine::refresh_now`] within one bound for all of it (the lock, every attempt and
    /// the waits between them), as `spotoken token --deadline` has: what a person waits
    /// for in the window or the tray, instead of the attempts' timeouts stacked.
    pub async fn refresh_within(&self, account: &str, by: Actor, deadline: Duration) -> Result<FreshToken> {
        let record = self.accounts.get(account)?;
        let deadline = self.retry.deadline.map_or(deadline, |d| d.min(deadline));
        self.token_for(&record, None, by, Some(deadline)).await
    }

    #[tracing::instrument(skip_all, fields(account = %record.id))]
    async fn token_for(
        &self,
        record: &AccountRecord,
        min_valid: Option<Duration>,
        by: Actor,
        deadline: Option<Duration>,
    ) -> Result<FreshToken> {
        // An account Spotify refused is tried once more on each request (the background at
        // most hourly, see background.rs): Spotify has answered invalid_grant for healthy
        // refresh tokens during outages, and the refresh token is kept until a new sign-in
        // replaces it or the person signs out. No stored access token is handed out then.
        // Callers within a few seconds of a refusal share it: a script's loop or many
        // processes at once send one request, not one each.
        if record.needs_sign_in
            && record.last_error_at.is_some_and(|at| self.clock.now().0 - at.0 < REFUSAL_SHARED_SECS)
        {
            return Err(needs_sign_in(record));
        }
        let min_valid = if record.needs_sign_in { None } else { min_valid };
        let min_secs = min_valid.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        // The clock counts whole seconds (now is up to a second later than it says), and
        // the recorded expiry is never later than Spotify's: more than `m` whole seconds
        // left is at least `m` real ones, so a token asked for with `min_valid=1` is not
        // handed out with a few milliseconds to live.
        let is_fresh =
            |t: &StoredTokens, now: Timestamp| min_secs.is_some_and(|m| t.access_expires_at.secs_after(now) > m);
        if let Some(kept) = self.kept_tokens(&record.id).filter(|t| is_fresh(t, self.clock.now())) {
            return Ok(handed_out(&record.id, kept, false));
        }
        let before = self.stored_tokens(record).await?;
        if is_fresh(&before, self.clock.now()) {
            tracing::debug!("stored access token is fresh enough");
            self.heal_expiry(record, &before);
            return Ok(handed_out(&record.id, before, false));
        }

        let started = std::time::Instant::now();
        let lock_timeout = deadline.map_or(self.retry.lock_timeout, |d| d.min(self.retry.lock_timeout));
        let _lock = AccountLock::acquire(&self.paths.locks_dir(), &record.id, lock_timeout).await?;
        // Someone may have refreshed, or been told the token is dead, while we waited.
        let (waited_for, tried_at) = (record.needs_sign_in, record.last_error_at);
        let record = self.accounts.get(&record.id)?;
        if record.needs_sign_in && (!waited_for || record.last_error_at != tried_at) {
            // Refused, or tried again and refused, while this one waited for the lock: that
            // answer stands (one request for many callers at once).
            return Err(needs_sign_in(&record));
        }
        let current = self.stored_tokens(&record).await?;
        // A forced refresh is satisfied by any refresh that happened while it waited; the
        // access token changes with every refresh (timestamps can tie within a second).
        let refreshed_meanwhile = current.access_token != before.access_token;
        if is_fresh(&current, self.clock.now()) || (min_valid.is_none() && refreshed_meanwhile) {
            tracing::debug!("another caller refreshed while this one waited");
            self.heal_expiry(&record, &current);
            return Ok(handed_out(&record.id, current, false));
        }
        let work = crate::shutdown::WorkGuard::enter();
        let result = self.refresh_locked(&record, current, started, deadline).await;
        drop(work);
        let done = result.as_ref().map(|(tokens, outcome)| (&tokens.access_token, *outcome));
        self.activity.record(&Event::refresh(self.clock.now(), &record.id, by, done));
        Ok(handed_out(&record.id, result?.0, true))
    }

    /// The account's tokens from the keychain. Several entries for it (a crash in the
    /// middle of a write, a restored keyring, another collection) are put right and the
    /// repair recorded.
    async fn stored_tokens(&self, record: &AccountRecord) -> Result<StoredTokens> {
        let (id, newest) = (record.id.clone(), record.refresh_fingerprint.clone());
        let (tokens, repair) = self.on_keychain(move |k| k.read_repairing(&id, newest.as_deref())).await?;
        if let Some(repair) = repair {
            self.activity.record(&Event::keychain_repaired(self.clock.now(), &record.id, &repair));
        }
        self.keep_tokens(&record.id, &tokens);
        Ok(tokens)
    }

    /// The tokens kept in memory for `account`, if this engine keeps them.
    fn kept_tokens(&self, account: &str) -> Option<StoredTokens> {
        let kept = self.in_memory.as_ref()?.lock().unwrap_or_else(|p| p.into_inner());
        kept.get(account).cloned()
    }

    fn keep_tokens(&self, account: &str, tokens: &StoredTokens) {
        if let Some(kept) = &self.in_memory {
            kept.lock().unwrap_or_else(|p| p.into_inner()).insert(account.to_string(), tokens.clone());
        }
    }

    /// A token as the agent hands it out and `spotoken token --json` prints it:
    /// `{"access_token", "token_type": "Bearer", "expires_at" (RFC 3339), "expires_in",
    /// "scope" (the account's granted scopes), "account"}`.
    pub fn token_object(&self, token: &FreshToken) -> serde_json::Value {
        let now = self.clock.now();
        let scope = self.accounts.get(&token.account).map(|a| a.granted_scopes.join(" ")).unwrap_or_default();
        serde_json::json!({
            "access_token": token.access_token.secret(),
            "token_type": "Bearer",
            "expires_at": token.expires_at.to_rfc3339(),
            "expires_in": token.expires_at.secs_after(now).max(0),
            "scope": scope,
            "account": token.account,
        })
    }

    /// The keychain's expiry is the truth; the accounts file only mirrors it for the
    /// status and the background refresher. Should they differ (a write lost to a crash
    /// between the two, a file restored from a backup), the file follows the keychain:
    /// otherwise the refresher would see a refresh due that this call then declines,
    /// again and again.
    fn heal_expiry(&self, record: &AccountRecord, tokens: &StoredTokens) {
        if record.access_expires_at == tokens.access_expires_at {
            return;
        }
        tracing::info!("the accounts file had another access-token expiry than the keychain; corrected");
        if let Err(e) = self.accounts.modify(&record.id, |r| r.access_expires_at = tokens.access_expires_at) {
            tracing::warn!(error = %e, "could not correct the accounts file");
        }
    }

    /// The refresh itself; the caller holds the account's lock.
    async fn refresh_locked(
        &self,
        record: &AccountRecord,
        current: StoredTokens,
        started: std::time::Instant,
        deadline: Option<Duration>,
    ) -> Result<(StoredTokens, RefreshOutcome)> {
        let Some(refresh_token) = current.refresh_token.clone() else {
            return Err(self.mark_needs_sign_in(record, "Spotify never gave this account a refresh token".into()));
        };
        let endpoint = self.token_endpoint(&record.client_id)?;
        // Ready before Spotify is asked: a keychain that cannot take the answer means no
        // refresh is sent, and the answer is stored in one call.
        let id = record.id.clone();
        let prepared = std::sync::Arc::new(self.on_keychain(move |k| k.prepare_write(&id)).await?);
        let mut failures = 0;
        // What is left of the hand-out's deadline, if it has one.
        let left = || deadline.map(|d| d.saturating_sub(started.elapsed()));
        let out_of_time = |failures: u32| {
            let waited = started.elapsed().as_secs_f64();
            Error::Network(format!(
                "no answer within the {waited:.0} s this may take ({failures} attempt{})",
                if failures == 1 { "" } else { "s" }
            ))
        };
        loop {
            let now = self.clock.now();
            let request = endpoint.refresh(&refresh_token, now);
            let answer = match left() {
                None => request.await,
                Some(left) => match tokio::time::timeout(left, request).await {
                    Ok(answer) => answer,
                    Err(_) => return Err(self.remember(record, out_of_time(failures + 1))),
                },
            };
            let error = match answer {
                Ok(grant) => {
                    let outcome = match &grant.refresh_token {
                        None => RefreshOutcome::Omitted,
                        Some(new) if new == &refresh_token => RefreshOutcome::Kept,
                        Some(_) => RefreshOutcome::Rotated,
                    };
                    let rotated = outcome == RefreshOutcome::Rotated;
                    let new_fingerprint = grant.refresh_token.as_ref().map(fingerprint);
                    let tokens = StoredTokens {
                        access_token: grant.access_token,
                        refresh_token: grant.refresh_token.or(Some(refresh_token)),
                        access_expires_at: grant.expires_at,
                        obtained_at: now,
                    };
                    // The old refresh token may already be dead: persist before anything else,
                    // and let no SIGINT/SIGTERM/SIGHUP end the process half way.
                    {
                        let _guard = crate::shutdown::CommitGuard::enter();
                        let (id, stored, prepared) = (record.id.clone(), tokens.clone(), prepared.clone());
                        self.on_keychain(move |k| {
                            prepared.commit(&stored).or_else(|e| {
                                // The keyring may have restarted under us: one more try on a
                                // fresh connection before the new token is given up.
                                tracing::warn!(error = %e, "the prepared keychain write failed; trying a fresh connection");
                                k.write(&id, &stored)
                            })
                        })
                        .await?;
                    }
                    let mut scopes_before = None;
                    self.accounts.modify(&record.id, |r| {
                        if r.needs_sign_in {
                            tracing::info!("Spotify accepts the refresh token it refused before");
                        }
                        r.needs_sign_in = false;
                        r.sign_in_reason = None;
                        r.access_expires_at = tokens.access_expires_at;
                        r.last_refresh_at = Some(now);
                        r.last_error = None;
                        r.last_error_at = None;
                        if new_fingerprint.is_some() {
                            r.refresh_fingerprint = new_fingerprint;
                        }
                        if grant.scope.is_some() {
                            let granted = scopes::parse_granted(grant.scope.as_deref());
                            scopes_before = Some(std::mem::replace(&mut r.granted_scopes, granted));
                        }
                    })?;
                    if let Some(before) = scopes_before {
                        let after = scopes::parse_granted(grant.scope.as_deref());
                        if let Some(change) = Event::scopes(now, &record.id, &before, &after) {
                            self.activity.record(&change);
                        }
                    }
                    tracing::info!(rotated, "refreshed");
                    self.keep_tokens(&record.id, &tokens);
                    return Ok((tokens, outcome));
                }
                Err(e) => e,
            };
            match &error {
                Error::TokenEndpoint { error: kind, description, .. } if kind == "invalid_grant" => {
                    tracing::warn!(%description, "Spotify refused the refresh token");
                    // The newest one Spotify gave us, unless a crash lost a newer one
                    // (records from before fingerprints: assume the newest).
                    let newest = record.refresh_fingerprint.as_ref().is_none_or(|f| *f == fingerprint(&refresh_token));
                    self.activity.check_rejection(record, newest, now);
                    return Err(self.mark_needs_sign_in(record, description.clone()));
                }
                e if e.is_transient() && failures + 1 < self.retry.attempts => {
                    failures += 1;
                    let wait = match e {
                        Error::RateLimited { retry_after: Some(after) } if *after > self.retry.max_retry_after => {
                            tracing::warn!(?after, "Retry-After is longer than Spotoken waits");
                            return Err(self.remember(record, error));
                        }
                        Error::RateLimited { retry_after: Some(after) } => *after,
                        _ => self.retry.backoff(failures),
                    };
                    if left().is_some_and(|left| left <= wait) {
                        tracing::warn!(error = %e, "refresh failed and no time is left to retry; the refresh token is kept");
                        return Err(self.remember(record, out_of_time(failures)));
                    }
                    tracing::warn!(error = %e, ?wait, attempt = failures, "refresh failed; the refresh token is kept, retrying");
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(self.remember(record, error)),
            }
        }
    }

    /// Notes the last failure in the account's metadata (for `status` and the window).
    fn remember(&self, record: &AccountRecord, error: Error) -> Error {
        let diagnosis = error.diagnose();
        let now = self.clock.now();
        if let Err(e) = self.accounts.modify(&record.id, |r| {
            r.last_error = Some(diagnosis);
            r.last_error_at = Some(now);
        }) {
            tracing::warn!(error = %e, "could not record the failure");
        }
        error
    }

    fn mark_needs_sign_in(&self, record: &AccountRecord, reason: String) -> Error {
        let error = Error::NeedsSignIn { account: record.id.clone(), reason: reason.clone() };
        let diagnosis: Diagnosis = error.diagnose();
        let now = self.clock.now();
        if let Err(e) = self.accounts.modify(&record.id, |r| {
            r.needs_sign_in = true;
            r.sign_in_reason = Some(reason);
            r.last_error = Some(diagnosis);
            r.last_error_at = Some(now);
        }) {
            tracing::warn!(error = %e, "could not record that the account needs sign-in");
        }
        error
    }
}

/// A refusal this recent answers a request for a refused account without asking again.
pub const REFUSAL_SHARED_SECS: i64 = 5;

fn needs_sign_in(record: &AccountRecord) -> Error {
    let reason = record.sign_in_reason.clone().unwrap_or_else(|| "Spotify refused its refresh token".into());
    Error::NeedsSignIn { account: record.id.clone(), reason }
}

fn handed_out(account: &str, tokens: StoredTokens, refreshed: bool) -> FreshToken {
    FreshToken {
        account: account.to_string(),
        access_token: tokens.access_token,
        expires_at: tokens.access_expires_at,
        refreshed,
    }
}
