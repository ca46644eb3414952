//! Every type that crosses between Rust and the web UI, and only those.
//!
//! They are generated into `ui/src/bindings.ts` (ts-rs) by `bindings.rs`, whose test
//! fails when that file is stale (`UPDATE_BINDINGS=1 cargo test -p spotoken-app --lib`
//! rewrites it). The UI never hand-writes a type defined here. Timestamps are Unix
//! seconds; the UI counts down from them while it is visible.

use serde::{Deserialize, Serialize};
use spotoken_core::activity::{Anomaly, AnomalyCode, Event, Severity};
use spotoken_core::config::{DEEP_LINK_REDIRECT, LOOPBACK_REDIRECT_TO_REGISTER};
use spotoken_core::status::{AccountState, AccountStatus, Scopes};
/// The engine's own types, as the window sees them: a failure (`{ code, message, fix,
/// next }`) and how a sign-in comes back.
pub use spotoken_core::{Diagnosis, RedirectKind};
use spotoken_core::{Settings, scopes};
use ts_rs::TS;

/// Whether an account can make one Web API call: the engine's, as the window shows it.
pub use spotoken_core::catalog::CallCheck;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AccountView {
    pub id: String,
    pub display_name: Option<String>,
    /// The Client ID it signed in through, shortened (a person may use several).
    pub client_id_short: String,
    pub state: AccountState,
    pub access_expires_at: i64,
    pub refresh_expires_at: i64,
    pub authorized_at: String,
    pub last_refresh_at: Option<String>,
    pub scopes: Scopes,
    pub last_error: Option<Diagnosis>,
    /// What to act on soon, other than missing scopes (shown as chips).
    pub warnings: Vec<String>,
    /// How long the refresh token lives in all, for its meter.
    pub refresh_lifetime_secs: i64,
    /// Under this much left, the refresh token's meter turns amber.
    pub refresh_warning_secs: i64,
    /// The background refresher renews the access token this long before it ends.
    pub refresh_lead_secs: i64,
    /// Anomalies not acknowledged yet.
    pub anomalies: Vec<AnomalyView>,
    /// A program new to the account waits for the person's answer before it gets a token.
    pub asks_before_new_program: bool,
    /// Spotify's request quota for the Client ID is used up (`QUOTA_EXCEEDED`): until
    /// then (unix seconds), or `None` when Spotify did not say. `null`: not used up.
    pub quota_exceeded: Option<QuotaView>,
}

/// A program waiting for the person to allow it a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RequestView {
    pub id: String,
    /// Unix seconds.
    pub at: i64,
    pub account: String,
    pub program: String,
    pub program_path: Option<String>,
}

impl From<spotoken_core::activity::approval::Request> for RequestView {
    fn from(r: spotoken_core::activity::approval::Request) -> Self {
        Self { id: r.id, at: r.at.0, account: r.account, program: r.program.name, program_path: r.program.path }
    }
}

/// The person's answer to a [`RequestView`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    AllowOnce,
    Always,
    Deny,
}

impl From<Approval> for spotoken_core::activity::approval::Decision {
    fn from(a: Approval) -> Self {
        match a {
            Approval::AllowOnce => Self::AllowOnce,
            Approval::Always => Self::Always,
            Approval::Deny => Self::Deny,
        }
    }
}

/// A used-up request quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct QuotaView {
    /// When it ends (unix seconds), if Spotify said.
    pub until: Option<i64>,
}

/// An anomaly in an account's activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AnomalyView {
    pub id: String,
    /// Unix seconds.
    pub at: i64,
    pub account: String,
    pub code: String,
    /// `alert` (the tokens may be in other hands) or `notice`.
    pub severity: String,
    pub title: String,
    pub message: String,
    pub fix: String,
    pub acknowledged: bool,
}

impl From<Anomaly> for AnomalyView {
    fn from(a: Anomaly) -> Self {
        Self {
            title: AnomalyCode::parse(&a.code).map_or("Anomaly", AnomalyCode::title).into(),
            severity: match a.severity {
                Severity::Alert => "alert",
                Severity::Notice => "notice",
            }
            .into(),
            id: a.id,
            at: a.at.0,
            account: a.account,
            code: a.code,
            message: a.message,
            fix: a.fix,
            acknowledged: a.acknowledged,
        }
    }
}

/// One line of the activity timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ActivityEventView {
    /// Unix seconds.
    pub at: i64,
    pub account: String,
    /// `handout`, `refresh`, `sign-in`, `sign-out`, `scopes` or `keychain` (a repair).
    pub kind: String,
    pub channel: Option<String>,
    pub by: Option<String>,
    pub program: Option<String>,
    pub program_path: Option<String>,
    pub fingerprint: Option<String>,
    pub outcome: Option<String>,
    pub code: Option<String>,
    pub detail: Option<String>,
}

impl From<Event> for ActivityEventView {
    fn from(e: Event) -> Self {
        Self {
            kind: serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            at: e.at.0,
            account: e.account,
            channel: e.channel,
            by: e.by,
            program: e.program,
            program_path: e.program_path,
            fingerprint: e.fingerprint,
            outcome: e.outcome,
            code: e.code,
            detail: e.detail,
        }
    }
}

/// Which part of the activity the window asks for; empty fields mean all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, TS)]
pub struct ActivityQuery {
    pub account: Option<String>,
    pub channel: Option<String>,
    pub program: Option<String>,
}

/// The Activity view: the timeline (newest first), the chart, the anomalies, and what
/// the filters can choose from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ActivityView {
    pub events: Vec<ActivityEventView>,
    /// Events left out of `events` beyond the first [`ACTIVITY_PAGE`].
    pub more: usize,
    /// Hand-outs per hour over the last 7 days, oldest first, after the filters.
    pub per_hour: Vec<u32>,
    /// Unix seconds at which the first hour of `per_hour` starts.
    pub per_hour_from: i64,
    /// Open anomalies first, then the acknowledged, newest first within each.
    pub anomalies: Vec<AnomalyView>,
    pub accounts: Vec<String>,
    pub channels: Vec<String>,
    pub programs: Vec<String>,
}

/// The timeline shows this many events at most.
pub const ACTIVITY_PAGE: usize = 500;

impl From<AccountStatus> for AccountView {
    fn from(a: AccountStatus) -> Self {
        Self {
            client_id_short: a.client_id.short().to_string(),
            id: a.id,
            display_name: a.display_name,
            state: a.state,
            access_expires_at: a.access_token.expires_at_unix,
            refresh_expires_at: a.refresh_token.expires_at_unix,
            authorized_at: a.authorized_at,
            last_refresh_at: a.last_refresh_at,
            scopes: a.scopes,
            last_error: a.last_error,
            warnings: a.refresh_warning.into_iter().collect(),
            refresh_lifetime_secs: a.refresh_lifetime_secs,
            refresh_warning_secs: spotoken_core::status::REFRESH_WARNING_SECS,
            refresh_lead_secs: spotoken_core::background::DEFAULT_LEAD.as_secs() as i64,
            anomalies: a.anomalies.into_iter().map(AnomalyView::from).collect(),
            asks_before_new_program: false,
            quota_exceeded: a.quota_exceeded.map(|q| QuotaView { until: q.until_unix }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SettingsView {
    pub client_id: Option<String>,
    /// Set by `SPOTOKEN_CLIENT_ID`, which wins over the settings file.
    pub client_id_from_env: bool,
    pub redirect: RedirectKind,
    pub scopes: Vec<String>,
    /// 0: never clear copied tokens from the clipboard.
    pub clipboard_clear_secs: u64,
    /// Starts in the tray when the person logs in; `null` where that cannot be arranged.
    pub autostart: Option<bool>,
    /// Each kind of anomaly, and whether it is shown as a desktop notification.
    pub anomaly_kinds: Vec<AnomalyKind>,
    /// More hand-outs than this for one account within a minute is a burst.
    pub burst_per_minute: u32,
}

/// A kind of anomaly as Settings lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AnomalyKind {
    pub code: String,
    pub title: String,
    pub notify: bool,
}

impl SettingsView {
    pub fn new(settings: Settings, client_id_from_env: Option<String>, autostart: Option<bool>) -> Self {
        Self {
            autostart,
            client_id_from_env: client_id_from_env.is_some(),
            client_id: client_id_from_env.or(settings.client_id.clone()),
            redirect: settings.redirect,
            scopes: settings.scopes_or_default(),
            clipboard_clear_secs: settings.clipboard_clear(),
            anomaly_kinds: AnomalyCode::ALL
                .iter()
                .map(|c| AnomalyKind {
                    code: c.as_str().into(),
                    title: c.title().into(),
                    notify: settings.notifies(c.as_str()),
                })
                .collect(),
            burst_per_minute: settings.burst_limit(),
        }
    }
}

/// What the person changes in the settings form.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct SettingsInput {
    pub client_id: String,
    pub redirect: RedirectKind,
    pub scopes: Vec<String>,
    pub clipboard_clear_secs: u64,
    /// The anomaly codes to show as desktop notifications.
    pub notify_anomalies: Vec<String>,
    pub burst_per_minute: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RedirectUris {
    pub deep_link: String,
    pub loopback: String,
}

/// Everything the window shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Overview {
    pub settings: SettingsView,
    pub accounts: Vec<AccountView>,
    /// The login in progress, if one is pending.
    pub login: Option<LoginView>,
    pub redirect_uris: RedirectUris,
    /// A failure the person has not seen (a tray copy with no notification daemon).
    pub notice: Option<Diagnosis>,
    /// Programs waiting for the person to allow them a token, oldest first.
    pub requests: Vec<RequestView>,
    /// How times of day are written, as the tray writes them.
    pub clock: spotoken_core::ClockStyle,
}

/// The login in progress, as the waiting view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct LoginView {
    pub redirect: RedirectKind,
    /// The consent page's address, for a browser on another profile or machine.
    pub address: String,
    /// Unix seconds: when the login stops waiting.
    pub expires_at: i64,
    /// How long a login waits, in seconds.
    pub timeout_secs: u64,
}

/// What the deep-link self-test found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct LinkCheck {
    pub ok: bool,
    pub message: String,
    /// What to do when it failed; empty when it passed.
    pub fix: String,
    /// The exact command to try, when there is one.
    pub command: Option<String>,
}

impl LinkCheck {
    pub fn failed(message: String, fix: &str, command: Option<String>) -> Self {
        Self { ok: false, message, fix: fix.into(), command }
    }
}

impl Overview {
    pub fn redirect_uris() -> RedirectUris {
        RedirectUris { deep_link: DEEP_LINK_REDIRECT.into(), loopback: LOOPBACK_REDIRECT_TO_REGISTER.into() }
    }
}

/// How a login ended; exactly one of the two is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct LoginFinished {
    pub account: Option<AccountView>,
    pub error: Option<Diagnosis>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ScopeInfo {
    pub name: String,
    pub meaning: String,
    pub group: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Preset {
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ScopeCatalog {
    pub scopes: Vec<ScopeInfo>,
    pub presets: Vec<Preset>,
}

impl Default for ScopeCatalog {
    fn default() -> Self {
        Self {
            scopes: scopes::SCOPES
                .iter()
                .map(|s| ScopeInfo { name: s.name.into(), meaning: s.meaning.into(), group: s.group.into() })
                .collect(),
            presets: scopes::PRESETS
                .iter()
                .map(|p| Preset { name: p.name.into(), scopes: p.scopes.iter().map(|s| s.to_string()).collect() })
                .collect(),
        }
    }
}

/// What Copy did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Copied {
    pub account: String,
    /// Seconds until the clipboard is cleared, if it will be.
    pub clears_in_secs: Option<u64>,
}

/// The desktop's light or dark theme (see `appearance.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Theme {
    Light,
    Dark,
}

/// A part of the window the tray can open directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Page {
    Login,
    Activity,
}
