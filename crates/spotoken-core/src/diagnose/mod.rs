//! Every failure as `{ code, message, fix }`: a stable code for programs to branch on,
//! a sentence saying what happened, and the next step for the person.
//!
//! The rows follow Spotify's error tables in `spotify-platform.md`. Nothing here reads
//! a token; messages quote only Spotify's error strings, which carry no secrets.

use serde::{Deserialize, Serialize};

pub const DASHBOARD_URL: &str = "https://developer.spotify.com/dashboard";
pub const REVOKE_URL: &str = "https://www.spotify.com/account/apps/";

/// The kinds of failure behind the command line's exit codes (README, *Exit codes*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitClass {
    /// 1: unexpected, or only the desktop app reports it.
    Other,
    /// 2: wrong arguments.
    Usage,
    /// 3: settings, Client ID, scopes.
    Config,
    /// 4: sign in (again).
    SignIn,
    /// 5: Spotify unreachable, failing or rate limiting; nothing lost.
    Unavailable,
    /// 6: the keychain.
    Keychain,
    /// 7: a login (or what Spotify said of a token) failed.
    LoginFailed,
    /// 8: a hand-out was not allowed.
    NotAllowed,
}

impl ExitClass {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Other => 1,
            Self::Usage => 2,
            Self::Config => 3,
            Self::SignIn => 4,
            Self::Unavailable => 5,
            Self::Keychain => 6,
            Self::LoginFailed => 7,
            Self::NotAllowed => 8,
        }
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal => $class:ident,)*) => {
        /// Every failure's stable code, declared once with its exit class: the README's
        /// table, the command line's exit code and the UI's type come from here.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Code {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
            /// A code this version does not know (written by a newer one).
            #[serde(other, rename = "unknown")]
            Unknown,
        }

        impl Code {
            /// Every code but [`Code::Unknown`].
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                    Code::Unknown => "unknown",
                }
            }

            pub fn exit_class(self) -> ExitClass {
                match self {
                    $(Code::$variant => ExitClass::$class,)*
                    Code::Unknown => ExitClass::Other,
                }
            }
        }
    };
}

codes! {
    EndpointUnknown = "endpoint_unknown" => Usage,
    NotTheWebApi = "not_the_web_api" => Usage,
    NotConfigured = "not_configured" => Config,
    ClientIdInvalid = "client_id_invalid" => Config,
    ScopeUnknown = "scope_unknown" => Config,
    SettingsInvalid = "settings_invalid" => Config,
    NoAccount = "no_account" => SignIn,
    AccountAmbiguous = "account_ambiguous" => SignIn,
    AccountUnknown = "account_unknown" => SignIn,
    NeedsSignIn = "needs_sign_in" => SignIn,
    KeychainEntryMissing = "keychain_entry_missing" => SignIn,
    KeychainEntryCut = "keychain_entry_cut" => SignIn,
    RateLimited = "rate_limited" => Unavailable,
    QuotaExceeded = "quota_exceeded" => Unavailable,
    SpotifyUnavailable = "spotify_unavailable" => Unavailable,
    NetworkDown = "network_down" => Unavailable,
    LockTimeout = "lock_timeout" => Unavailable,
    /// `api --paginate` stopped: a `next` seen before, or the page limit.
    PaginationStopped = "pagination_stopped" => Unavailable,
    KeychainUnavailable = "keychain_unavailable" => Keychain,
    KeychainNoSessionBus = "keychain_no_session_bus" => Keychain,
    KeychainLocked = "keychain_locked" => Keychain,
    KeychainTimeout = "keychain_timeout" => Keychain,
    /// The keychain's unlock prompt was dismissed: the tokens are kept, not missing.
    KeychainUnlockCancelled = "keychain_unlock_cancelled" => Keychain,
    /// A Secret Service with no collection to keep tokens in (KeePassXC exposing no group).
    KeychainNoCollection = "keychain_no_collection" => Keychain,
    KeychainError = "keychain_error" => Keychain,
    /// `store` / `SPOTOKEN_STORE` names no store Spotoken has.
    StoreUnknown = "store_unknown" => Config,
    /// The encrypted-file store and no key (`SPOTOKEN_KEY_FILE`, systemd credentials).
    StoreKeyMissing = "store_key_missing" => Keychain,
    /// The key file cannot be read or holds no age identity.
    StoreKeyUnusable = "store_key_unusable" => Keychain,
    /// The key does not decrypt the stored tokens (another key wrote them).
    StoreKeyWrong = "store_key_wrong" => Keychain,
    /// `spotoken agent` while another agent (or the app) listens on the socket.
    AgentRunning = "agent_running" => Config,
    CallbackInvalid = "callback_invalid" => LoginFailed,
    CallbackStateMismatch = "callback_state_mismatch" => LoginFailed,
    LoginDenied = "login_denied" => LoginFailed,
    LoginError = "login_error" => LoginFailed,
    LoginTimeout = "login_timeout" => LoginFailed,
    LoginCancelled = "login_cancelled" => LoginFailed,
    LoginNotPending = "login_not_pending" => LoginFailed,
    LoopbackUnavailable = "loopback_unavailable" => LoginFailed,
    CodeInvalid = "code_invalid" => LoginFailed,
    CodeExpired = "code_expired" => LoginFailed,
    PkceMismatch = "pkce_mismatch" => LoginFailed,
    RedirectUriMismatch = "redirect_uri_mismatch" => LoginFailed,
    RefreshRevoked = "refresh_revoked" => LoginFailed,
    ClientInvalid = "client_invalid" => LoginFailed,
    TokenEndpointError = "token_endpoint_error" => LoginFailed,
    AccessTokenExpired = "access_token_expired" => LoginFailed,
    AccessTokenInvalid = "access_token_invalid" => LoginFailed,
    ScopeMissing = "scope_missing" => LoginFailed,
    UserNotRegistered = "user_not_registered" => LoginFailed,
    PremiumRequired = "premium_required" => LoginFailed,
    WebApiError = "web_api_error" => LoginFailed,
    EndpointWithdrawn = "endpoint_withdrawn" => LoginFailed,
    ApprovalUnavailable = "approval_unavailable" => NotAllowed,
    HandoutDenied = "handout_denied" => NotAllowed,
    UnexpectedResponse = "unexpected_response" => Other,
    IoError = "io_error" => Other,
    /// Desktop app only, as are the five below.
    BrowserUnavailable = "browser_unavailable" => Other,
    ClipboardError = "clipboard_error" => Other,
    WindowError = "window_error" => Other,
    AutostartError = "autostart_error" => Other,
    ActivityUnreadable = "activity_unreadable" => Other,
    /// The window's call did not reach the app (set by the UI itself).
    IpcError = "ipc_error" => Other,
}

impl Code {
    /// Reported only by the desktop app.
    pub fn app_only(self) -> bool {
        matches!(
            self,
            Self::BrowserUnavailable
                | Self::ClipboardError
                | Self::WindowError
                | Self::AutostartError
                | Self::ActivityUnreadable
                | Self::IpcError
        )
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A page a next step opens (only these: the window opens no address it is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum WebPage {
    /// The Spotify developer dashboard.
    Dashboard,
    /// The person's list of apps with access, where access is revoked.
    AccountApps,
}

impl WebPage {
    pub fn url(self) -> &'static str {
        match self {
            Self::Dashboard => DASHBOARD_URL,
            Self::AccountApps => REVOKE_URL,
        }
    }
}

/// The next step, typed: the command line words it as a command ([`NextStep::command`]),
/// the window as a button. The `fix` sentence beside it says what to do in words that
/// suit both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum NextStep {
    /// Sign in (again), as this account when it is known.
    SignIn { account: Option<String> },
    /// Grant more scopes by signing in again with the consent page shown: `scopes` are
    /// all those to ask for (those granted and those missing), when known.
    AddScopes { account: Option<String>, scopes: Vec<String> },
    /// Give Spotoken a Client ID.
    SetClientId,
    /// Name one of several accounts.
    ChooseAccount { accounts: Vec<String> },
    /// See which accounts are signed in.
    ShowAccounts,
    /// See Spotify's scopes.
    ShowScopes,
    /// Open a page in the browser.
    Open { page: WebPage },
}

impl NextStep {
    /// Signing `account` in again, asking for the scopes it has and the `missing` ones.
    pub fn add_scopes(account: &str, granted: &[String], missing: &[impl AsRef<str>]) -> Self {
        let mut scopes = granted.to_vec();
        scopes.extend(missing.iter().map(|m| m.as_ref().to_string()).filter(|m| !granted.contains(m)));
        Self::AddScopes { account: Some(account.to_string()), scopes }
    }

    /// The exact `spotoken login` that adds the scopes, when they are known.
    pub fn add_scopes_login(&self) -> Option<String> {
        match self {
            Self::AddScopes { account, scopes } if !scopes.is_empty() => Some(format!(
                "spotoken login{} --show-dialog{}",
                account.as_deref().map(|id| format!(" --account {id}")).unwrap_or_default(),
                scopes.iter().map(|s| format!(" --scope {s}")).collect::<String>()
            )),
            _ => None,
        }
    }
    /// The step as the command line says it, if there is more to say than the `fix`
    /// (a page's address is in the `fix` already).
    pub fn command(&self) -> Option<String> {
        Some(match self {
            Self::SignIn { account: None } => "Run `spotoken login`.".into(),
            Self::SignIn { account: Some(id) } => format!("Run `spotoken login --account {id}`."),
            Self::AddScopes { scopes, .. } if !scopes.is_empty() => {
                format!("Run `{}`.", self.add_scopes_login().unwrap_or_default())
            }
            Self::AddScopes { account, .. } => format!(
                "Run `spotoken login{} --scope SCOPE` (`spotoken login --help` lists them).",
                account.as_deref().map(|id| format!(" --account {id}")).unwrap_or_default()
            ),
            Self::SetClientId => "Run `spotoken login --client-id ID`, or set SPOTOKEN_CLIENT_ID.".into(),
            Self::ChooseAccount { accounts } => format!("Add `--account ID`, one of: {}.", accounts.join(", ")),
            Self::ShowAccounts => "Run `spotoken status` to list them, or `spotoken login` to add one.".into(),
            Self::ShowScopes => "Run `spotoken login --help` for the list of scopes.".into(),
            Self::Open { .. } => return None,
        })
    }
}

/// What went wrong and what to do about it: what the command line prints, and what the
/// window is answered with when a command fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Diagnosis {
    /// Stable, `snake_case`; documented in the README.
    #[cfg_attr(feature = "ts", ts(type = "ErrorCode"))]
    pub code: Code,
    pub message: String,
    /// What to do, in words for any front end.
    pub fix: String,
    /// The same as a step a front end can offer: a command, a button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<NextStep>,
}

impl Diagnosis {
    pub fn new(code: Code, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { code, message: message.into(), fix: fix.into(), next: None }
    }

    pub(crate) fn then(mut self, next: NextStep) -> Self {
        self.next = Some(next);
        self
    }

    /// `fix`, then the next step as a command: what the command line prints.
    pub fn fix_for_command_line(&self) -> String {
        match self.next.as_ref().and_then(NextStep::command) {
            Some(command) => format!("{} {command}", self.fix),
            None => self.fix.clone(),
        }
    }
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.message, self.fix)
    }
}

#[cfg(test)]
mod tests;
