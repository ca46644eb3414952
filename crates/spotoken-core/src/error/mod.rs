//! The engine's one error type, shaped so callers can match on what happened.
//!
//! Messages here are for logs and developers; what a person reads comes from
//! [`crate::diagnose`], which turns each variant into a code, a sentence and a fix.
//! No variant carries a token, code, verifier or `state`.

use crate::provider::Provider;
use std::path::PathBuf;
use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no Spotify Client ID is configured")]
    NotConfigured,
    #[error("{value:?} is not a Spotify Client ID (32 hexadecimal characters)")]
    InvalidClientId { value: String },
    #[error("unknown scope {0:?}")]
    UnknownScope(String),
    #[error("no Web API operation matches {0:?}")]
    UnknownEndpoint(String),
    #[error("not a Web API request: {0}")]
    NotTheWebApi(String),
    #[error("{call} needs scopes {account} was not granted: {}", missing.join(", "))]
    ScopeMissing { call: String, account: String, missing: Vec<String>, granted: Vec<String> },
    #[error("{call} is withdrawn for development-mode apps")]
    Withdrawn { call: String, replacement: Option<String> },
    #[error("Spotify's request quota is used up (retry after {retry_after:?})")]
    QuotaExceeded { retry_after: Option<Duration> },
    #[error("cannot read settings {path}: {reason}")]
    Settings { path: PathBuf, reason: String },

    #[error("no account is signed in")]
    NoAccount,
    #[error("several accounts are signed in ({})", .0.join(", "))]
    AmbiguousAccount(Vec<String>),
    #[error("no signed-in account {0:?}")]
    UnknownAccount(String),
    #[error("account {account} needs to sign in again: {reason}")]
    NeedsSignIn { account: String, reason: String },

    #[error("the callback is not a valid redirect: {0}")]
    InvalidCallback(String),
    #[error("the callback's state does not match this login")]
    StateMismatch,
    #[error("the person declined access on Spotify's consent page")]
    AccessDenied,
    #[error("Spotify's consent page answered {error}")]
    AuthorizationError { error: String, description: Option<String> },
    #[error("no callback arrived within {0:?}")]
    LoginTimeout(Duration),
    #[error("a redirect arrived but no login is waiting for it")]
    NoLoginPending,
    #[error("the login was cancelled")]
    LoginCancelled,
    #[error("cannot listen for the loopback redirect: {0}")]
    Loopback(String),

    #[error("token endpoint answered HTTP {status} {error}: {description}")]
    TokenEndpoint { status: u16, error: String, description: String },
    #[error("Spotify's Web API answered HTTP {status}: {message}")]
    WebApi { status: u16, message: String },
    #[error("Spotify is rate limiting (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    #[error("Spotify answered HTTP {status}")]
    ServerError { status: u16 },
    #[error("cannot reach Spotify: {0}")]
    Network(String),
    #[error("unexpected answer from {what}: {detail}")]
    UnexpectedResponse { what: &'static str, detail: String },

    #[error("no Secret Service is running on the session bus: {0}")]
    KeychainNoService(String),
    #[error("no D-Bus session bus to reach the keychain: {0}")]
    KeychainNoBus(String),
    #[error("the keychain ({name}) is locked", name = .0.name())]
    KeychainLocked(Provider),
    #[error("the keychain ({name}) did not answer within {waited:?}", name = .1.name(), waited = .0)]
    KeychainTimeout(Duration, Provider),
    #[error("the unlock of the keychain ({name}) was cancelled; the tokens for {account} are kept", name = .provider.name())]
    KeychainUnlockCancelled { account: String, provider: Provider },
    #[error("the keychain ({name}) offers no collection to keep tokens in", name = .0.name())]
    KeychainNoCollection(Provider),
    #[error("the keychain holds no tokens for account {0}")]
    KeychainEntryMissing(String),
    /// An entry of version 2 that a passwordless gnome-keyring cut to its first line at
    /// a restart (see `StoredTokens::to_text`).
    #[error("the keychain gave back only the first line of the tokens for account {0}")]
    KeychainEntryCut(String),
    #[error("keychain error: {0}")]
    Keychain(String),

    #[error("the token store {0:?} is not one Spotoken knows")]
    StoreUnknown(String),
    #[error("the encrypted-file store has no key file")]
    StoreKeyMissing,
    #[error("the key file {} cannot be used: {why}", .path.display())]
    StoreKeyUnusable { path: PathBuf, why: String },
    #[error("the key in {} does not open {}", .key.display(), .file.display())]
    StoreKeyWrong { key: PathBuf, file: PathBuf },

    #[error("an agent already listens on {}", .0.display())]
    AgentRunning(PathBuf),
    /// A failure the agent reported, as it diagnosed it.
    #[error("the agent answered: {}", .0.message)]
    Agent(crate::diagnose::Diagnosis),

    #[error("{program} needs your approval to get a token, which cannot be asked now: {why}")]
    ApprovalUnavailable { program: String, why: String },
    #[error("a token for {program} was denied in the Spotoken window")]
    HandOutDenied { program: String },

    #[error("stopped following next after {pages} pages: {why}")]
    PaginationStopped { pages: usize, why: String },
    #[error("another Spotoken process held the lock on account {0} too long")]
    LockTimeout(String),
    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { action, path, source }
    }

    /// Worth trying again soon with the same refresh token: nothing says it is dead.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::ServerError { .. } | Self::Network(_))
    }
}

/// Each error in words: [`Error::diagnose`].
pub(crate) mod explain;
