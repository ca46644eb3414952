//! The state of each account as people and scripts see it: `spotoken status --json`
//! prints this shape, and the desktop window shows the same facts.
//!
//! The JSON is a documented, stable interface (README, "status --json"): fields may be
//! added, never renamed or removed, without bumping `version`.

use crate::clock::Timestamp;
use crate::diagnose::Diagnosis;
use crate::scopes;
use crate::store::accounts::AccountRecord;
use crate::store::quota::QuotaNote;
use serde::Serialize;

pub const STATUS_VERSION: u32 = 1;
/// Warn this long before the refresh token's 6 months run out.
pub const REFRESH_WARNING_SECS: i64 = 7 * 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    pub version: u32,
    pub generated_at: String,
    pub accounts: Vec<AccountStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Tokens work (the access token may be due for a refresh, which happens on demand).
    Ok,
    /// Spotify refused the refresh token: only a new login helps.
    NeedsSignIn,
    /// The last refresh failed for a passing reason; the sign-in is kept.
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiry {
    pub expires_at: String,
    pub expires_at_unix: i64,
    /// Negative once expired.
    pub seconds_left: i64,
}

impl Expiry {
    fn new(at: Timestamp, now: Timestamp) -> Self {
        Self { expires_at: at.to_rfc3339(), expires_at_unix: at.0, seconds_left: at.secs_after(now) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Scopes {
    pub requested: Vec<String>,
    pub granted: Vec<String>,
    /// Requested but not granted.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountStatus {
    pub id: String,
    pub display_name: Option<String>,
    pub client_id: crate::client_id::ClientId,
    pub state: AccountState,
    pub access_token: Expiry,
    /// Six calendar months from `authorized_at`; refreshing does not extend it.
    pub refresh_token: Expiry,
    pub authorized_at: String,
    pub last_refresh_at: Option<String>,
    pub scopes: Scopes,
    pub last_error: Option<Diagnosis>,
    /// Things to act on soon, in words.
    pub warnings: Vec<String>,
    /// The one of `warnings` about the refresh token's end, for views that show the
    /// missing scopes their own way.
    #[serde(skip)]
    pub refresh_warning: Option<String>,
    /// How long this account's refresh token lives in all (six calendar months).
    #[serde(skip)]
    pub refresh_lifetime_secs: i64,
    /// What the keychain holds for the account, when it was looked at (`spotoken status`
    /// does; the window does not, so a locked keychain cannot hold it up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keychain: Option<KeychainCheck>,
    /// Anomalies in the account's activity not acknowledged yet (`spotoken activity`).
    pub anomalies: Vec<crate::activity::Anomaly>,
    /// Spotify's request quota for the account's Client ID, while a call has found it
    /// used up (`QUOTA_EXCEEDED`) and it has not ended. Shared by every program using the
    /// Client ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_exceeded: Option<QuotaStatus>,
}

/// A used-up request quota, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaStatus {
    /// When Spotify said so (RFC 3339, UTC).
    pub seen_at: String,
    /// When it ends, from Spotify's `Retry-After` (RFC 3339, UTC); `null` when Spotify
    /// did not say (shown for a day).
    pub until: Option<String>,
    pub until_unix: Option<i64>,
    pub seconds_left: Option<i64>,
}

/// The keychain entry behind an account, as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeychainCheck {
    /// `ok`, `missing`, `locked`, `unlock_cancelled`, `timeout`, `unavailable` (no
    /// Secret Service or no session bus) or `error`.
    pub state: &'static str,
    /// What went wrong and what to do, unless `ok`.
    pub problem: Option<Diagnosis>,
}

impl KeychainCheck {
    pub fn from_result(result: &crate::Result<()>) -> Self {
        use crate::Error as E;
        let state = match result {
            Ok(()) => "ok",
            Err(E::KeychainEntryMissing(_) | E::KeychainEntryCut(_)) => "missing",
            Err(E::KeychainLocked(_)) => "locked",
            Err(E::KeychainUnlockCancelled { .. }) => "unlock_cancelled",
            Err(E::KeychainTimeout(..)) => "timeout",
            Err(E::KeychainNoService(_) | E::KeychainNoBus(_)) => "unavailable",
            Err(_) => "error",
        };
        Self { state, problem: result.as_ref().err().map(crate::Error::diagnose) }
    }
}

impl AccountStatus {
    pub fn new(record: &AccountRecord, now: Timestamp) -> Self {
        let refresh = Expiry::new(record.refresh_expires_at(), now);
        let state = if record.needs_sign_in {
            AccountState::NeedsSignIn
        } else if record.last_error.is_some() {
            AccountState::Error
        } else {
            AccountState::Ok
        };
        let missing = scopes::missing(&record.requested_scopes, &record.granted_scopes);
        let refresh_warning = if !record.needs_sign_in && refresh.seconds_left <= 0 {
            Some("The refresh token's 6 months have run out: sign in again.".to_string())
        } else if !record.needs_sign_in && refresh.seconds_left < REFRESH_WARNING_SECS {
            Some(format!(
                "The refresh token ends in {}: sign in again before then.",
                crate::clock::human_duration(refresh.seconds_left)
            ))
        } else {
            None
        };
        let mut warnings: Vec<String> = refresh_warning.iter().cloned().collect();
        if !missing.is_empty() {
            warnings.push(format!("Not granted: {}.", missing.join(", ")));
        }
        Self {
            id: record.id.clone(),
            display_name: record.display_name.clone(),
            client_id: record.client_id.clone(),
            state,
            access_token: Expiry::new(record.access_expires_at, now),
            refresh_token: refresh,
            authorized_at: record.authorized_at.to_rfc3339(),
            last_refresh_at: record.last_refresh_at.map(Timestamp::to_rfc3339),
            scopes: Scopes {
                requested: record.requested_scopes.clone(),
                granted: record.granted_scopes.clone(),
                missing,
            },
            last_error: record.last_error.clone(),
            anomalies: Vec::new(),
            warnings,
            refresh_warning,
            refresh_lifetime_secs: record.refresh_expires_at().secs_after(record.authorized_at),
            keychain: None,
            quota_exceeded: None,
        }
    }

    /// Shows `note`, in force at `now`, on this account.
    pub fn set_quota(&mut self, note: &QuotaNote, now: Timestamp) {
        let left = note.until.map(|u| u.secs_after(now));
        self.quota_exceeded = Some(QuotaStatus {
            seen_at: note.seen_at.to_rfc3339(),
            until: note.until.map(Timestamp::to_rfc3339),
            until_unix: note.until.map(|u| u.0),
            seconds_left: left,
        });
    }
}

impl StatusReport {
    pub fn new(records: &[AccountRecord], now: Timestamp) -> Self {
        Self {
            version: STATUS_VERSION,
            generated_at: now.to_rfc3339(),
            accounts: records.iter().map(|r| AccountStatus::new(r, now)).collect(),
        }
    }

    pub fn any_needs_sign_in(&self) -> bool {
        self.accounts.iter().any(|a| a.state == AccountState::NeedsSignIn)
    }

    /// The exit class of the keychain problem to act on first, found when the entries
    /// were looked at, if any: an entry not there (4, sign in) before a locked keychain (6).
    pub fn keychain_problem(&self) -> Option<crate::ExitClass> {
        self.accounts.iter().filter_map(|a| a.keychain.as_ref()?.problem.as_ref()).map(|d| d.code.exit_class()).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::sample;

    #[test]
    fn states_and_warnings() {
        let mut record = sample("alice");
        record.authorized_at = Timestamp(1_768_478_400); // 2026-01-15
        record.requested_scopes = vec!["user-read-email".into(), "user-read-private".into()];
        record.granted_scopes = vec!["user-read-private".into()];
        let now = Timestamp(1_768_478_400 + 30 * 86_400);
        let status = AccountStatus::new(&record, now);
        assert_eq!(status.state, AccountState::Ok);
        assert_eq!(status.scopes.missing, ["user-read-email"]);
        assert_eq!(status.refresh_token.expires_at, "2026-07-15T12:00:00Z");
        assert_eq!(status.warnings, ["Not granted: user-read-email."]);
        assert_eq!(status.refresh_warning, None);
        // 15 Jan to 15 Jul: 181 days.
        assert_eq!(status.refresh_lifetime_secs, 181 * 86_400);

        let late = Timestamp(record.refresh_expires_at().0 - 3 * 86_400);
        let status = AccountStatus::new(&record, late);
        assert!(status.warnings[0].contains("ends in 3d"), "{:?}", status.warnings);
        assert_eq!(status.refresh_warning.as_deref(), Some(status.warnings[0].as_str()));

        assert!(!StatusReport::new(&[record.clone(), sample("bob")], now).any_needs_sign_in());
        record.needs_sign_in = true;
        let report = StatusReport::new(&[sample("bob"), record], now);
        assert!(report.any_needs_sign_in());
        assert_eq!(report.accounts[1].state, AccountState::NeedsSignIn);
    }

    /// The keychain's problems decide the report's: none looked at, or all fine, is none;
    /// an entry not there (4: sign in) comes before a locked keychain (6), as a needed
    /// sign-in heads `status`'s exit.
    #[test]
    fn the_keychain_problem_to_act_on_first_is_the_reports() {
        let mut report = StatusReport::new(&[sample("ann"), sample("bob"), sample("cid")], Timestamp(0));
        assert_eq!(report.keychain_problem(), None);
        report.accounts[0].keychain = Some(KeychainCheck::from_result(&Ok(())));
        assert_eq!(report.keychain_problem(), None);
        report.accounts[1].keychain = Some(KeychainCheck::from_result(&Err(crate::Error::KeychainLocked(
            crate::provider::Provider::GnomeKeyring,
        ))));
        assert_eq!(report.keychain_problem(), Some(crate::ExitClass::Keychain));
        report.accounts[2].keychain =
            Some(KeychainCheck::from_result(&Err(crate::Error::KeychainEntryMissing("cid".into()))));
        assert_eq!(report.keychain_problem(), Some(crate::ExitClass::SignIn));
    }

    #[test]
    fn json_shape_is_stable() {
        let report = StatusReport::new(&[sample("bob")], Timestamp(400));
        let json = serde_json::to_value(&report).unwrap();
        let account = &json["accounts"][0];
        assert_eq!(json["version"], 1);
        assert_eq!(account["state"], "ok");
        assert_eq!(account["access_token"]["seconds_left"], 600);
        assert_eq!(account["access_token"]["expires_at"], "1970-01-01T00:16:40Z");
        for key in [
            "id",
            "display_name",
            "client_id",
            "refresh_token",
            "authorized_at",
            "last_refresh_at",
            "scopes",
            "last_error",
            "warnings",
        ] {
            assert!(account.get(key).is_some(), "missing {key}");
        }
    }
}
