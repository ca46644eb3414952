//! Every failure as `{ code, message, fix }`: a stable code for programs to branch on,
//! a sentence saying what happened, and the next step for the person.
//!
//! The rows follow Spotify's error tables in `spotify-platform.md`. Nothing here reads
//! a token; messages quote only Spotify's error strings, which carry no secrets.

use crate::clock::human_duration;
use crate::error::Error;
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

/// What went wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Stable, `snake_case`; documented in the README.
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

    fn then(mut self, next: NextStep) -> Self {
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

impl Error {
    pub fn diagnose(&self) -> Diagnosis {
        use Error as E;
        match self {
            E::NotConfigured => Diagnosis::new(
                Code::NotConfigured,
                "No Spotify Client ID is set.",
                format!("Create an app at {DASHBOARD_URL} and give Spotoken its Client ID."),
            )
            .then(NextStep::SetClientId),
            E::InvalidClientId { .. } => Diagnosis::new(
                Code::ClientIdInvalid,
                "That is not a Spotify Client ID.",
                "Copy the 32-character Client ID from your app's page on the Spotify dashboard.",
            ),
            E::UnknownScope(scope) => Diagnosis::new(
                Code::ScopeUnknown,
                format!("Spotify has no scope called \"{scope}\"."),
                "Choose one of Spotify's scopes.",
            )
            .then(NextStep::ShowScopes),
            E::Settings { path, reason } => Diagnosis::new(
                Code::SettingsInvalid,
                format!("The settings file {} cannot be read: {reason}.", path.display()),
                "Fix or delete that file; Spotoken writes a new one on the next login.",
            ),
            E::NoAccount => Diagnosis::new(Code::NoAccount, "No Spotify account is signed in.", "Sign in first.")
                .then(NextStep::SignIn { account: None }),
            E::AmbiguousAccount(ids) => Diagnosis::new(
                Code::AccountAmbiguous,
                format!("Several accounts are signed in: {}.", ids.join(", ")),
                "Name the one you mean.",
            )
            .then(NextStep::ChooseAccount { accounts: ids.clone() }),
            E::UnknownEndpoint(path) => Diagnosis::new(
                Code::EndpointUnknown,
                format!("No Spotify Web API operation matches \"{path}\"."),
                "Check the path against Spotify's Web API reference (paths like /me/player/queue or /v1/playlists/ID/items).",
            ),
            E::NotTheWebApi(what) => Diagnosis::new(
                Code::NotTheWebApi,
                format!("That is not a Spotify Web API request ({what}); no token was sent."),
                "Give a path on the Web API (/me, /v1/me/playlists) or a URL on https://api.spotify.com, a method GET/POST/PUT/DELETE, and no Authorization header of your own.",
            ),
            E::ScopeMissing { call, account, missing, granted } => Diagnosis::new(
                Code::ScopeMissing,
                if missing.is_empty() {
                    format!("Spotify refused {call} for {account}: a scope is missing (\"Insufficient client scope\").")
                } else {
                    format!("{call} needs {}, which {account} has not granted.", missing.join(", "))
                },
                "Sign in again granting it; Spotoken asks Spotify to show the consent page again.",
            )
            .then(NextStep::add_scopes(account, granted, missing)),
            E::Withdrawn { call, replacement } => Diagnosis::new(
                Code::EndpointWithdrawn,
                format!("Spotify refused {call}: it is withdrawn for development-mode apps."),
                match replacement {
                    Some(r) => format!("Call {r} instead."),
                    None => "Only apps with extended quota may still call it; there is no replacement.".into(),
                },
            ),
            E::QuotaExceeded { retry_after } => Diagnosis::new(
                Code::QuotaExceeded,
                format!(
                    "Spotify says the request quota is used up (QUOTA_EXCEEDED){}.",
                    retry_after
                        .map(|d| format!("; it asks to wait {}", human_duration(d.as_secs() as i64)))
                        .unwrap_or_default()
                ),
                "Wait that long (`spotoken status` shows when it ends); the quota is shared by all of one developer's development-mode apps.",
            ),
            E::UnknownAccount(id) => Diagnosis::new(
                Code::AccountUnknown,
                format!("No signed-in account has the id \"{id}\"."),
                "Check the id against the accounts signed in, or sign that account in.",
            )
            .then(NextStep::ShowAccounts),
            E::NeedsSignIn { account, reason } => Diagnosis::new(
                Code::NeedsSignIn,
                format!(
                    "Spotify no longer accepts the sign-in of {account}: {reason}. Its refresh token is kept and tried once more on a later request (a few seconds on; in the background at most hourly), in case Spotify refused it by mistake."
                ),
                "Sign in again (access was revoked, or the 6-month limit ran out).",
            )
            .then(NextStep::SignIn { account: Some(account.clone()) }),
            E::InvalidCallback(why) => Diagnosis::new(
                Code::CallbackInvalid,
                format!("The redirect from Spotify was not understood: {why}."),
                "Start the login again; if it keeps happening, check the redirect URI registered on the dashboard.",
            ),
            E::StateMismatch => Diagnosis::new(
                Code::CallbackStateMismatch,
                "A redirect arrived that does not belong to this login (its state did not match), so it was refused.",
                "Finish the login in the browser tab Spotoken opened, or start the login again.",
            ),
            E::AccessDenied => Diagnosis::new(
                Code::LoginDenied,
                "Access was declined on Spotify's consent page.",
                "Start the login again and choose Agree.",
            ),
            E::AuthorizationError { error, description } => Diagnosis::new(
                Code::LoginError,
                format!(
                    "Spotify's consent page answered \"{error}\"{}.",
                    description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
                ),
                "Check the Client ID, the scopes and the redirect URIs registered on the dashboard, then log in again.",
            ),
            E::LoginTimeout(waited) => Diagnosis::new(
                Code::LoginTimeout,
                format!("No answer came back from Spotify within {}.", human_duration(waited.as_secs() as i64)),
                "Start the login again and finish it in the browser. If Spotify's page said \"redirect_uri: Not matching configuration\" or \"INVALID_CLIENT: Invalid redirect URI\", register http://127.0.0.1/callback (no port) on the dashboard; \"redirect_uri: Insecure\": use 127.0.0.1, not localhost; \"client_id: Invalid\" or \"INVALID_CLIENT: Invalid client\": copy the Client ID again.",
            ),
            E::NoLoginPending => Diagnosis::new(
                Code::LoginNotPending,
                "A redirect from Spotify arrived, but no login is waiting for it (it finished, timed out or was cancelled).",
                "Click Log in and finish in the browser tab Spotoken opens.",
            ),
            E::ApprovalUnavailable { program, why } => Diagnosis::new(
                Code::ApprovalUnavailable,
                format!("This account asks before a new program gets a token, and {program} is new to it: {why}."),
                "Start the Spotoken app (its window asks you) and run this again; or turn off \"Ask before a new program gets a token\" on the account's card.",
            ),
            E::HandOutDenied { program } => Diagnosis::new(
                Code::HandoutDenied,
                format!("A token for {program} was denied in the Spotoken window."),
                "Run it again and choose Allow if you meant it to have one.",
            ),
            E::LoginCancelled => {
                Diagnosis::new(Code::LoginCancelled, "The login was cancelled.", "Log in again when ready.")
            }
            E::Loopback(why) => Diagnosis::new(
                Code::LoopbackUnavailable,
                format!("Cannot listen on 127.0.0.1 for Spotify's redirect: {why}."),
                "Free the port, choose another with --port, or use the desktop app's deep link.",
            ),
            E::TokenEndpoint { error, description, .. } => token_endpoint(error, description),
            E::WebApi { status, message } => web_api(*status, message),
            E::RateLimited { retry_after } => Diagnosis::new(
                Code::RateLimited,
                format!(
                    "Spotify is rate limiting this Client ID{}.",
                    retry_after.map(|d| format!(" (retry after {} s)", d.as_secs())).unwrap_or_default()
                ),
                "Wait and try again; the quota is shared by all of one developer's apps.",
            ),
            E::ServerError { status } => Diagnosis::new(
                Code::SpotifyUnavailable,
                format!("Spotify's accounts service is failing (HTTP {status}). Your sign-in is kept."),
                "Try again in a minute.",
            ),
            E::Network(why) => Diagnosis::new(
                Code::NetworkDown,
                format!("Spotify cannot be reached: {why}. Your sign-in is kept."),
                "Check the network connection and try again.",
            ),
            E::UnexpectedResponse { what, detail } => Diagnosis::new(
                Code::UnexpectedResponse,
                format!("{what} sent an answer Spotoken does not understand: {detail}."),
                "Try again; if SPOTOKEN_ACCOUNTS_URL or SPOTOKEN_API_URL is set, check it points at Spotify.",
            ),
            E::KeychainNoService(_) => Diagnosis::new(
                Code::KeychainUnavailable,
                "No keychain (Secret Service) is running in this session.",
                "Install and start one, e.g. gnome-keyring or KeePassXC with Secret Service enabled (in a headless session: `echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets`); on a server or in a container, use the encrypted-file store instead (SPOTOKEN_STORE=encrypted-file with a key from `spotoken store-key`).",
            ),
            E::KeychainNoBus(_) => Diagnosis::new(
                Code::KeychainNoSessionBus,
                "There is no D-Bus session bus, so the keychain cannot be reached.",
                "Run inside a desktop session, or start one with `dbus-run-session -- SHELL` and unlock gnome-keyring in it; on a server or in a container, use the encrypted-file store instead (SPOTOKEN_STORE=encrypted-file with a key from `spotoken store-key`).",
            ),
            E::KeychainLocked(provider) => Diagnosis::new(
                Code::KeychainLocked,
                format!("{} is locked.", provider.locked_thing()),
                format!("{} Then try again.", provider.unlock_fix()),
            ),
            E::KeychainTimeout(waited, provider) => Diagnosis::new(
                Code::KeychainTimeout,
                format!(
                    "{} did not answer within {} s: it is probably locked and waiting for its password (its unlock \
                     window may still be open).",
                    capitalised(provider.name()),
                    waited.as_secs()
                ),
                format!(
                    "{} Then try again: the same unlock window is used, no second one opens. {}{}",
                    provider.unlock_fix(),
                    crate::store::provider::WAIT_LONGER,
                    if *provider == crate::store::provider::Provider::GnomeKeyring {
                        " If gnome-keyring stopped answering altogether, restart it (`gnome-keyring-daemon --replace`)."
                    } else {
                        ""
                    }
                ),
            ),
            E::KeychainUnlockCancelled { account, provider } => Diagnosis::new(
                Code::KeychainUnlockCancelled,
                format!(
                    "The unlock of {} was cancelled, so the tokens for {account} could not be read. They are still \
                     there: nothing was removed.",
                    provider.name()
                ),
                format!("Try again and unlock {} when it asks.", provider.name()),
            ),
            E::KeychainNoCollection(provider) => Diagnosis::new(
                Code::KeychainNoCollection,
                format!("{} offers no place to keep tokens: it has no collection.", capitalised(provider.name())),
                provider.no_collection_fix(),
            ),
            E::KeychainEntryMissing(id) => Diagnosis::new(
                Code::KeychainEntryMissing,
                format!("The keychain holds no tokens for {id} (it was deleted or this is another keychain)."),
                "Sign in again.",
            )
            .then(NextStep::SignIn { account: Some(id.clone()) }),
            E::Keychain(why) => Diagnosis::new(
                Code::KeychainError,
                format!("The keychain failed: {why}."),
                "Check that the keyring is unlocked and working (`secret-tool search service spotoken`).",
            ),
            E::StoreUnknown(name) => Diagnosis::new(
                Code::StoreUnknown,
                format!("\"{}\" is not a token store Spotoken has.", crate::text::clean(name)),
                "Set store (settings.toml) or SPOTOKEN_STORE to secret-service (the OS keychain) or encrypted-file.",
            ),
            E::StoreKeyMissing => Diagnosis::new(
                Code::StoreKeyMissing,
                "The encrypted-file store needs a key, and none was given.",
                "Make one with `spotoken store-key FILE` and name it in SPOTOKEN_KEY_FILE (or give it to a systemd \
                 service as the credential `spotoken-key`, found through CREDENTIALS_DIRECTORY).",
            ),
            E::StoreKeyUnusable { path, why } => Diagnosis::new(
                Code::StoreKeyUnusable,
                format!("The key file {} cannot be used: {why}.", path.display()),
                "Point SPOTOKEN_KEY_FILE at the file `spotoken store-key` wrote (an age identity, AGE-SECRET-KEY-1…).",
            ),
            E::StoreKeyWrong { key, file } => Diagnosis::new(
                Code::StoreKeyWrong,
                format!(
                    "The key in {} does not open {}: another key wrote it. Nothing was changed.",
                    key.display(),
                    file.display()
                ),
                "Use the key the tokens were stored with; or sign in again with this key (`spotoken login`), which \
                 replaces them.",
            ),
            E::AgentRunning(path) => Diagnosis::new(
                Code::AgentRunning,
                format!("Another Spotoken agent (or the app) already serves tokens on {}.", path.display()),
                "Use that one; stop it first to start another here, or set SPOTOKEN_AGENT_SOCKET to listen elsewhere.",
            ),
            E::Agent(diagnosis) => diagnosis.clone(),
            E::PaginationStopped { pages, why } => Diagnosis::new(
                Code::PaginationStopped,
                format!(
                    "Stopped following `next` after {pages} page{}: {why}. What was fetched is printed.",
                    if *pages == 1 { "" } else { "s" }
                ),
                "If the list really is that long, raise --max-pages; otherwise page by hand with offset and limit.",
            ),
            E::LockTimeout(id) => Diagnosis::new(
                Code::LockTimeout,
                format!("Another Spotoken process kept refreshing {id} for too long."),
                "Try again; if it persists, look for a stuck spotoken process.",
            ),
            E::Io { action, path, source } => Diagnosis::new(
                Code::IoError,
                format!("Could not {action} {}: {source}.", path.display()),
                "Check the permissions and free space of that folder.",
            ),
        }
    }
}

fn token_endpoint(error: &str, description: &str) -> Diagnosis {
    let said = format!("Spotify said \"{error}: {description}\".");
    match (error, description) {
        ("invalid_grant", "Invalid authorization code") => Diagnosis::new(
            Code::CodeInvalid,
            format!("{said} The code was already used, expired, or belongs to another login."),
            "Start the login again.",
        ),
        ("invalid_grant", "Authorization code expired") => Diagnosis::new(
            Code::CodeExpired,
            format!("{said} The consent took too long."),
            "Start the login again and finish it promptly.",
        ),
        ("invalid_grant", "code_verifier was incorrect") => Diagnosis::new(
            Code::PkceMismatch,
            format!("{said} The redirect belongs to a different login attempt."),
            "Start the login again and use only the newest browser tab.",
        ),
        ("invalid_grant", "Invalid redirect URI") => Diagnosis::new(
            Code::RedirectUriMismatch,
            format!("{said} The redirect URI differs from the one the login started with."),
            "Start the login again; register http://127.0.0.1/callback and spotoken://callback on the dashboard.",
        ),
        ("invalid_grant", "Invalid refresh token" | "Refresh token revoked") => Diagnosis::new(
            Code::RefreshRevoked,
            format!("{said} Access was revoked, or the 6-month limit ran out."),
            "Sign in again.",
        )
        .then(NextStep::SignIn { account: None }),
        ("invalid_client", _) => Diagnosis::new(
            Code::ClientInvalid,
            format!("{said} The Client ID is wrong or the app was deleted."),
            format!("Copy the Client ID from your app at {DASHBOARD_URL}."),
        )
        .then(NextStep::SetClientId),
        _ => Diagnosis::new(
            Code::TokenEndpointError,
            said,
            "Start the login again; if it repeats, check the app on the Spotify dashboard.",
        ),
    }
}

fn web_api(status: u16, message: &str) -> Diagnosis {
    let said = format!("Spotify's Web API said \"{message}\" (HTTP {status}).");
    match (status, message) {
        (401, "The access token expired") => {
            Diagnosis::new(Code::AccessTokenExpired, said, "Run `spotoken token` again; it refreshes first.")
        }
        (401, _) => {
            Diagnosis::new(Code::AccessTokenInvalid, said, "Sign in again.").then(NextStep::SignIn { account: None })
        }
        (403, "Insufficient client scope") => Diagnosis::new(
            Code::ScopeMissing,
            format!("{said} A scope this call needs was not granted."),
            "Sign in again granting the missing scope; Spotoken asks Spotify to show the consent page again.",
        )
        .then(NextStep::AddScopes { account: None, scopes: Vec::new() }),
        // JSON's "User not registered in the Developer Dashboard", or the plain text "The
        // user is not registered for this application…" Spotify also sends (2026).
        (403, m) if m.to_ascii_lowercase().contains("not registered") => Diagnosis::new(
            Code::UserNotRegistered,
            format!("{said} The app is in development mode and this person is not on its list."),
            format!("Add the person's Spotify email under User Management at {DASHBOARD_URL} (up to 5 users)."),
        )
        .then(NextStep::Open { page: WebPage::Dashboard }),
        (403, "Active premium subscription required for the owner of the app") => Diagnosis::new(
            Code::PremiumRequired,
            format!("{said} Development-mode apps need a Premium owner."),
            "The dashboard owner of this Client ID needs an active Premium subscription.",
        ),
        _ => {
            Diagnosis::new(Code::WebApiError, said, "Try again; if it repeats, check the app on the Spotify dashboard.")
        }
    }
}

/// "KeePassXC", "The keychain": a name at the start of a sentence.
fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::provider::Provider;
    use std::time::Duration;

    fn endpoint(error: &str, description: &str) -> String {
        Error::TokenEndpoint { status: 400, error: error.into(), description: description.into() }
            .diagnose()
            .code
            .to_string()
    }

    #[test]
    fn each_token_endpoint_row_has_its_own_code() {
        let rows = [
            ("invalid_grant", "Invalid authorization code", "code_invalid"),
            ("invalid_grant", "Authorization code expired", "code_expired"),
            ("invalid_grant", "code_verifier was incorrect", "pkce_mismatch"),
            ("invalid_grant", "Invalid redirect URI", "redirect_uri_mismatch"),
            ("invalid_grant", "Invalid refresh token", "refresh_revoked"),
            ("invalid_grant", "Refresh token revoked", "refresh_revoked"),
            ("invalid_client", "Invalid client", "client_invalid"),
            ("server_error", "boom", "token_endpoint_error"),
        ];
        for (error, description, code) in rows {
            assert_eq!(endpoint(error, description), code, "{error}: {description}");
        }
    }

    #[test]
    fn each_web_api_row_has_its_own_code() {
        let rows = [
            (401, "The access token expired", "access_token_expired"),
            (401, "Invalid access token", "access_token_invalid"),
            (401, "No token provided", "access_token_invalid"),
            (403, "Insufficient client scope", "scope_missing"),
            (403, "User not registered in the Developer Dashboard", "user_not_registered"),
            (403, "Active premium subscription required for the owner of the app", "premium_required"),
            (404, "Not found", "web_api_error"),
        ];
        for (status, message, code) in rows {
            let d = Error::WebApi { status, message: message.into() }.diagnose();
            assert_eq!(d.code, code, "{status} {message}");
            assert!(!d.fix.is_empty());
        }
    }

    #[test]
    fn codes_are_written_as_their_names_and_an_unknown_one_reads_as_unknown() {
        let mut seen = std::collections::HashSet::new();
        for &code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(serde_json::from_str::<Code>(&json).unwrap(), code);
        }
        assert_eq!(serde_json::from_str::<Code>("\"from_a_newer_version\"").unwrap(), Code::Unknown);
        let stored = r#"{"code":"from_a_newer_version","message":"m","fix":"f"}"#;
        assert_eq!(serde_json::from_str::<Diagnosis>(stored).unwrap().code, Code::Unknown);
    }

    #[test]
    fn a_next_step_is_a_command_on_the_command_line_and_words_for_everyone_else() {
        let d = Error::NeedsSignIn { account: "ann".into(), reason: "revoked".into() }.diagnose();
        assert_eq!(d.next, Some(NextStep::SignIn { account: Some("ann".into()) }));
        assert!(!d.fix.contains("spotoken"), "{}", d.fix);
        assert!(
            d.fix_for_command_line().ends_with("Run `spotoken login --account ann`."),
            "{}",
            d.fix_for_command_line()
        );

        let d = Error::AmbiguousAccount(vec!["ann".into(), "bob".into()]).diagnose();
        assert!(d.fix_for_command_line().contains("`--account ID`, one of: ann, bob"), "{}", d.fix_for_command_line());

        // A page's address is in the fix already: the command line adds nothing.
        let d =
            Error::WebApi { status: 403, message: "User not registered in the Developer Dashboard".into() }.diagnose();
        assert_eq!(d.next, Some(NextStep::Open { page: WebPage::Dashboard }));
        assert_eq!(d.fix_for_command_line(), d.fix);

        // Stored before next steps existed: still read.
        let old = r#"{"code":"needs_sign_in","message":"m","fix":"f"}"#;
        assert_eq!(serde_json::from_str::<Diagnosis>(old).unwrap().next, None);
    }

    #[test]
    fn transient_failures_say_the_sign_in_is_kept() {
        for e in [Error::ServerError { status: 503 }, Error::Network("connection refused".into())] {
            assert!(e.is_transient());
            assert!(e.diagnose().message.contains("sign-in is kept"), "{:?}", e.diagnose());
        }
        let limited = Error::RateLimited { retry_after: Some(Duration::from_secs(7)) }.diagnose();
        assert_eq!(limited.code, "rate_limited");
        assert!(limited.message.contains("7 s"));
        assert!(!Error::StateMismatch.is_transient());
    }

    #[test]
    fn keychain_failures_are_told_apart() {
        let codes: Vec<Code> = [
            Error::KeychainNoService("x".into()),
            Error::KeychainNoBus("x".into()),
            Error::KeychainLocked(Provider::KeePassXc),
            Error::KeychainTimeout(Duration::from_secs(3), Provider::KeePassXc),
            Error::KeychainUnlockCancelled { account: "me".into(), provider: Provider::KeePassXc },
            Error::KeychainNoCollection(Provider::KeePassXc),
            Error::KeychainEntryMissing("me".into()),
        ]
        .iter()
        .map(|e| e.diagnose().code)
        .collect();
        let unique: std::collections::HashSet<&Code> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len(), "{codes:?}");
        assert!(codes.iter().all(|c| c.as_str().starts_with("keychain_")));
    }

    // Written for the mutants the engine's tests left alive.

    #[test]
    fn only_the_apps_own_codes_are_app_only() {
        let app: Vec<&str> = Code::ALL.iter().filter(|c| c.app_only()).map(|c| c.as_str()).collect();
        assert_eq!(
            app,
            [
                "browser_unavailable",
                "clipboard_error",
                "window_error",
                "autostart_error",
                "activity_unreadable",
                "ipc_error"
            ]
        );
    }

    #[test]
    fn pages_and_commands_are_the_exact_ones() {
        assert_eq!(WebPage::Dashboard.url(), DASHBOARD_URL);
        assert_eq!(WebPage::AccountApps.url(), REVOKE_URL);
        assert!(DASHBOARD_URL.starts_with("https://developer.spotify.com/") && REVOKE_URL.starts_with("https://"));
        let step = NextStep::add_scopes("ann", &["user-read-private".to_string()], &["user-top-read"]);
        let login = "spotoken login --account ann --show-dialog --scope user-read-private --scope user-top-read";
        assert_eq!(step.add_scopes_login().as_deref(), Some(login));
        assert_eq!(step.command(), Some(format!("Run `{login}`.")));
        // Scopes not known: no command beyond the fix.
        let unknown = NextStep::AddScopes { account: Some("ann".into()), scopes: Vec::new() };
        assert_eq!(unknown.add_scopes_login(), None);
        assert_eq!(
            unknown.command().as_deref(),
            Some("Run `spotoken login --account ann --scope SCOPE` (`spotoken login --help` lists them).")
        );
    }

    #[test]
    fn a_diagnosis_reads_as_its_message_and_fix() {
        let d = Error::NoAccount.diagnose();
        assert_eq!(d.to_string(), format!("{} {}", d.message, d.fix));
        // Names start sentences capitalised.
        let d = Error::KeychainTimeout(Duration::from_secs(3), Provider::OtherSecretService).diagnose();
        assert!(d.message.starts_with("The keychain did not answer within 3 s"), "{}", d.message);
        let d = Error::KeychainNoCollection(Provider::KeePassXc).diagnose();
        assert!(d.message.starts_with("KeePassXC offers no place"), "{}", d.message);
        assert_eq!(capitalised(""), "");
    }
}
