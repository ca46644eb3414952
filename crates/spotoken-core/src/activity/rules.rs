//! The anomaly rules: what in an account's activity looks wrong, and what to do.
//!
//! Each rule raises at most one anomaly per occurrence (a program is new once, one
//! burst is open at a time), so an open anomaly stays one line on the card however
//! often the cause repeats.

use super::{Activity, Anomaly, Program};
use crate::clock::Timestamp;
use crate::diagnose::REVOKE_URL;
use crate::store::accounts::AccountRecord;
use serde::{Deserialize, Serialize};

/// Hand-outs per minute above which a burst is raised, unless the settings say otherwise.
pub const DEFAULT_BURST_PER_MINUTE: u32 = 30;
/// A refresh token rejected with more than this left of its six months is "early".
pub const EARLY_REJECTION_SECS: i64 = 30 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The tokens may be in someone else's hands.
    Alert,
    /// Worth a look; often the person's own doing.
    Notice,
}

/// The rules, by the code each anomaly carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnomalyCode {
    /// The newest refresh token was refused months before its end.
    RefreshTokenRejectedEarly,
    /// A program never seen for the account got a token.
    NewProgram,
    /// More hand-outs in a minute than the limit.
    Burst,
    /// Spotify answered as another user than the account signed in again.
    IdentityChanged,
    /// Signing in again granted fewer scopes than before.
    ScopesReduced,
}

impl AnomalyCode {
    pub const ALL: [AnomalyCode; 5] =
        [Self::RefreshTokenRejectedEarly, Self::NewProgram, Self::Burst, Self::IdentityChanged, Self::ScopesReduced];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RefreshTokenRejectedEarly => "refresh_token_rejected_early",
            Self::NewProgram => "new_program",
            Self::Burst => "burst",
            Self::IdentityChanged => "identity_changed",
            Self::ScopesReduced => "scopes_reduced",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    pub fn severity(self) -> Severity {
        match self {
            Self::RefreshTokenRejectedEarly | Self::IdentityChanged => Severity::Alert,
            Self::NewProgram | Self::Burst | Self::ScopesReduced => Severity::Notice,
        }
    }

    /// Shown as a desktop notification unless the settings say otherwise.
    pub fn notifies_by_default(self) -> bool {
        self == Self::RefreshTokenRejectedEarly
    }

    /// A few words, for the tray and the settings.
    pub fn title(self) -> &'static str {
        match self {
            Self::RefreshTokenRejectedEarly => "Refresh token refused early",
            Self::NewProgram => "A new program got a token",
            Self::Burst => "Burst of hand-outs",
            Self::IdentityChanged => "Another Spotify user answered",
            Self::ScopesReduced => "Fewer scopes than before",
        }
    }
}

fn anomaly(code: AnomalyCode, at: Timestamp, account: &str, message: String, fix: String) -> Anomaly {
    Anomaly {
        id: format!("{:08x}", crate::store::unpredictable() as u32),
        at,
        account: account.to_string(),
        code: code.as_str().to_string(),
        severity: code.severity(),
        message,
        fix,
        acknowledged: false,
        acknowledged_at: None,
        program: None,
        notified: false,
    }
}

impl Activity {
    /// After a token went to `program` (if known): a program new for the account, a burst.
    pub fn check_handout(
        &self,
        record: &AccountRecord,
        program: Option<&Program>,
        now: Timestamp,
        burst_per_minute: u32,
    ) -> Vec<Anomaly> {
        let mut raised = Vec::new();
        if let Some(program) = program {
            match self.learn_program(&record.id, program, now) {
                Ok(true) => {
                    let mut a = anomaly(
                        AnomalyCode::NewProgram,
                        now,
                        &record.id,
                        format!("{} got an access token for {} for the first time.", program.describe(), record.name()),
                        format!(
                            "If you ran it, acknowledge this. If not, sign out of {} in Spotoken and remove the app's access at {REVOKE_URL}.",
                            record.name()
                        ),
                    );
                    a.program = Some(program.key().to_string());
                    let key = program.key().to_string();
                    raised.extend(self.raise(a, |o| {
                        o.account == record.id
                            && o.code == AnomalyCode::NewProgram.as_str()
                            && o.program.as_deref() == Some(&key)
                    }));
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not check whether the program is new"),
            }
        }
        let minute_ago = now.plus_secs(-60);
        let count = self.handouts_since(&record.id, minute_ago.plus_secs(1), now);
        if count > burst_per_minute as usize {
            let a = anomaly(
                AnomalyCode::Burst,
                now,
                &record.id,
                format!(
                    "{count} access tokens were handed out for {} within a minute (more than {burst_per_minute}).",
                    record.name()
                ),
                "If a script of yours calls `spotoken token` in a loop, let it reuse the token until it nears \
                 expiry. If not, the Activity view shows which program asked."
                    .into(),
            );
            raised.extend(
                // One open burst at a time: a script looping all day is one line to look
                // at, not one per minute.
                self.raise(a, |o| o.account == record.id && o.code == AnomalyCode::Burst.as_str() && !o.acknowledged),
            );
        }
        raised
    }

    /// Spotify refused the refresh token. Raised when it was the newest one Spotify gave
    /// Spotoken (`newest`) and more than [`EARLY_REJECTION_SECS`] were left: with
    /// rotation, a stolen refresh token that was used shows up exactly like this.
    pub fn check_rejection(&self, record: &AccountRecord, newest: bool, now: Timestamp) -> Option<Anomaly> {
        let left = record.refresh_expires_at().secs_after(now);
        if !newest || left <= EARLY_REJECTION_SECS {
            return None;
        }
        let days = left / 86_400;
        let a = anomaly(
            AnomalyCode::RefreshTokenRejectedEarly,
            now,
            &record.id,
            format!(
                "Spotify refused {}'s refresh token {days} days before it was due to end, although it was the newest \
                 one Spotify had given Spotoken: possibly used elsewhere or access removed at \
                 spotify.com/account/apps. (Each use of a refresh token replaces it, so a copy used elsewhere stops \
                 this one working.)",
                record.name()
            ),
            format!(
                "If you did not remove access at {REVOKE_URL}, someone may have your refresh token: remove access \
                 there, look at where tokens went in the Activity view, then sign in again."
            ),
        );
        self.raise(a, |o| {
            o.account == record.id && o.code == AnomalyCode::RefreshTokenRejectedEarly.as_str() && !o.acknowledged
        })
    }

    /// A re-login granted fewer scopes than the account had.
    pub fn check_scopes(&self, record: &AccountRecord, before: &[String], now: Timestamp) -> Option<Anomaly> {
        let lost: Vec<&str> =
            before.iter().filter(|s| !record.granted_scopes.contains(s)).map(String::as_str).collect();
        if lost.is_empty() {
            return None;
        }
        let a = anomaly(
            AnomalyCode::ScopesReduced,
            now,
            &record.id,
            format!("Signing in again granted {} fewer scopes than before: {}.", lost.len(), lost.join(", ")),
            "If you meant to drop them, acknowledge this; otherwise use Add scopes (or `spotoken login --show-dialog \
             --scope …`) and approve them all."
                .into(),
        );
        self.raise(a, |_| false)
    }

    /// A login meant for `expected` came back as `record`, another Spotify user.
    pub fn check_identity(&self, expected: &AccountRecord, answered: &str, now: Timestamp) -> Option<Anomaly> {
        if expected.user() == answered {
            return None;
        }
        let a = anomaly(
            AnomalyCode::IdentityChanged,
            now,
            &expected.id,
            format!(
                "Signing in {} again came back as another Spotify user ({answered}); {} was left as it was.",
                expected.name(),
                expected.id
            ),
            "If you meant to add another account, acknowledge this. If not, check which Spotify account the browser is \
             signed in to, and sign in again."
                .into(),
        );
        self.raise(a, |_| false)
    }
}
