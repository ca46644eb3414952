//! What the record is made of: where a token went and who refreshed it, one line of
//! the record ([`Event`]), the anomalies, and what `spotoken activity --json` prints.

use super::{Program, Severity};
use crate::clock::Timestamp;
use crate::error::Error;
use serde::{Deserialize, Serialize};

/// Where a token was handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `spotoken token`.
    CliToken,
    /// `spotoken api`.
    CliApi,
    /// `spotoken exec`.
    CliExec,
    /// The tray menu's Copy access token.
    TrayCopy,
    /// The window's Copy.
    WindowCopy,
    /// The window's Reveal.
    WindowReveal,
    /// The agent's socket (`spotoken agent`), asked by the program its peer credentials
    /// name.
    Agent,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Self::CliToken,
        Self::CliApi,
        Self::CliExec,
        Self::TrayCopy,
        Self::WindowCopy,
        Self::WindowReveal,
        Self::Agent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CliToken => "cli-token",
            Self::CliApi => "cli-api",
            Self::CliExec => "cli-exec",
            Self::TrayCopy => "tray-copy",
            Self::WindowCopy => "window-copy",
            Self::WindowReveal => "window-reveal",
            Self::Agent => "agent",
        }
    }

    /// Who runs the refresh a hand-out needs.
    pub fn actor(self) -> Actor {
        match self {
            Self::CliToken | Self::CliApi | Self::CliExec => Actor::Cli,
            Self::TrayCopy => Actor::Tray,
            Self::WindowCopy | Self::WindowReveal => Actor::Window,
            Self::Agent => Actor::Agent,
        }
    }
}

/// Who ran a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The app's background refresher.
    AppBackground,
    Cli,
    Window,
    Tray,
    /// The agent (`spotoken agent`): its hand-outs and its background refresher.
    Agent,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AppBackground => "app-background",
            Self::Cli => "cli",
            Self::Window => "window",
            Self::Tray => "tray",
            Self::Agent => "agent",
        }
    }
}

/// Who a token goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub channel: Channel,
    /// The program that asked; `None` for the app's own channels (the clipboard and the
    /// screen do not say who reads them).
    pub program: Option<Program>,
}

impl Recipient {
    /// `spotoken token`, asked for by the process that started it.
    pub fn cli() -> Self {
        Self::cli_as(Channel::CliToken)
    }

    /// Another `spotoken` command (`api`, `exec`), asked for by the process that started it.
    pub fn cli_as(channel: Channel) -> Self {
        Self { channel, program: Program::parent() }
    }

    pub fn app(channel: Channel) -> Self {
        Self { channel, program: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Handout,
    Refresh,
    SignIn,
    SignOut,
    Scopes,
    /// The keychain held several entries for the account and was put right.
    Keychain,
    /// Written by a later version.
    #[serde(other)]
    Other,
}

/// One line of the record. `channel`, `by` and `outcome` are words rather than enums
/// so that a record written by a later version still reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(with = "rfc3339")]
    pub at: Timestamp,
    pub account: String,
    pub kind: Kind,
    /// Hand-outs: where the token went (`cli-token`, `tray-copy`, …).
    pub channel: Option<String>,
    /// Hand-outs from the command line: the executable that asked.
    pub program: Option<String>,
    /// First 8 hex characters of the SHA-256 of the access token handed out or
    /// obtained.
    pub fingerprint: Option<String>,
    /// Hand-outs: `served`, `refreshed` or `failed`; refreshes: `rotated` (a new
    /// refresh token), `kept` (the same one again), `omitted` (none in the answer, the
    /// old one kept) or `failed`; sign-ins: `new` or `again`.
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_path: Option<String>,
    /// Refreshes: `app-background`, `cli`, `window` or `tray`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// A failure's code (the README's table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Scope changes: `+added -removed`; keychain repairs: what was kept and removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Event {
    fn new(at: Timestamp, account: &str, kind: Kind) -> Self {
        Self {
            at,
            account: account.to_string(),
            kind,
            channel: None,
            program: None,
            fingerprint: None,
            outcome: None,
            program_path: None,
            by: None,
            code: None,
            detail: None,
        }
    }

    /// A hand-out, served (`Ok(token, refreshed)`) or failed (the error's code).
    pub fn handout(
        at: Timestamp,
        account: &str,
        to: &Recipient,
        result: std::result::Result<(&crate::secret::AccessToken, bool), &Error>,
    ) -> Self {
        let mut event = Self::new(at, account, Kind::Handout);
        event.channel = Some(to.channel.as_str().into());
        event.program = to.program.as_ref().map(|p| p.name.clone());
        event.program_path = to.program.as_ref().and_then(|p| p.path.clone());
        match result {
            Ok((token, refreshed)) => {
                event.fingerprint = Some(fingerprint(token));
                event.outcome = Some(if refreshed { "refreshed" } else { "served" }.into());
            }
            Err(e) => {
                event.outcome = Some("failed".into());
                event.code = Some(e.diagnose().code.to_string());
            }
        }
        event
    }

    /// A refresh that got `token` (rotated, kept or omitted) or failed.
    pub fn refresh(
        at: Timestamp,
        account: &str,
        by: Actor,
        result: std::result::Result<(&crate::secret::AccessToken, RefreshOutcome), &Error>,
    ) -> Self {
        let mut event = Self::new(at, account, Kind::Refresh);
        event.by = Some(by.as_str().into());
        match result {
            Ok((token, outcome)) => {
                event.fingerprint = Some(fingerprint(token));
                event.outcome = Some(outcome.as_str().into());
            }
            Err(e) => {
                event.outcome = Some("failed".into());
                event.code = Some(e.diagnose().code.to_string());
            }
        }
        event
    }

    pub fn sign_in(at: Timestamp, account: &str, token: &crate::secret::AccessToken, again: bool) -> Self {
        let mut event = Self::new(at, account, Kind::SignIn);
        event.fingerprint = Some(fingerprint(token));
        event.outcome = Some(if again { "again" } else { "new" }.into());
        event
    }

    pub fn sign_out(at: Timestamp, account: &str) -> Self {
        Self::new(at, account, Kind::SignOut)
    }

    pub fn keychain_repaired(at: Timestamp, account: &str, repair: &crate::store::tokens::Repair) -> Self {
        let mut event = Self::new(at, account, Kind::Keychain);
        event.detail = Some(repair.describe());
        event
    }

    /// Granted scopes went from `before` to `after`; `None` if they did not change.
    pub fn scopes(at: Timestamp, account: &str, before: &[String], after: &[String]) -> Option<Self> {
        let added: Vec<String> = after.iter().filter(|s| !before.contains(s)).map(|s| format!("+{s}")).collect();
        let removed: Vec<String> = before.iter().filter(|s| !after.contains(s)).map(|s| format!("-{s}")).collect();
        if added.is_empty() && removed.is_empty() {
            return None;
        }
        let mut event = Self::new(at, account, Kind::Scopes);
        event.detail = Some([added, removed].concat().join(" "));
        Some(event)
    }
}

/// What a successful refresh did with the refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    Rotated,
    Kept,
    Omitted,
}

impl RefreshOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rotated => "rotated",
            Self::Kept => "kept",
            Self::Omitted => "omitted",
        }
    }
}

/// Something about an account's tokens that looks wrong, shown until acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    /// 8 hex characters, for `spotoken activity --ack`.
    pub id: String,
    #[serde(with = "rfc3339")]
    pub at: Timestamp,
    pub account: String,
    /// An [`AnomalyCode`]'s word.
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub fix: String,
    pub acknowledged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
    /// The program concerned, for the new-program rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Whether the app has shown it as a desktop notification.
    #[serde(default)]
    pub notified: bool,
}

/// `spotoken activity --json`: version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityReport {
    pub version: u32,
    pub events: Vec<Event>,
    pub anomalies: Vec<Anomaly>,
}

/// Which events to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub account: Option<String>,
    pub since: Option<Timestamp>,
}

impl Filter {
    pub(super) fn keeps_account(&self, account: &str) -> bool {
        self.account.as_deref().is_none_or(|a| a == account)
    }
}

pub use crate::secret::fingerprint;

/// `Timestamp` as `YYYY-MM-DDTHH:MM:SSZ` in the record.
pub(super) mod rfc3339 {
    use crate::clock::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&at.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&text).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 UTC time"))
    }
}
