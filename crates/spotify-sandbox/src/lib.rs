//! A fake Spotify accounts service and Web API, faithful to `spotify-platform.md`.
//!
//! It serves `/authorize`, `/api/token` and `/v1/me` on 127.0.0.1 with Spotify's rules
//! and exact error strings, plus switches the tests need: refresh-token rotation,
//! omission or revocation, scripted faults (5xx, 429 with `Retry-After`, delays), and a
//! request log. Tests drive it through [`Sandbox`]'s methods; other programs (and people)
//! through `/sandbox/control` and `/sandbox/log`. It is a test double that behaves, not
//! a mock that echoes: every check it makes is one Spotify makes.
//!
//! It keeps everything in memory and stores nothing; it is never meant to face a network.

mod server;

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// A Spotify user the sandbox signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub display_name: String,
}

/// What a refresh answer does with the refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    /// A new refresh token each time; the old one stops working at once: how Spotify
    /// answered PKCE refreshes until July 2026.
    Rotate,
    /// No `refresh_token` field: the client must keep the one it has, which works until
    /// its six months end. How Spotify answers PKCE refreshes since July 2026.
    #[default]
    Omit,
    /// The same refresh token again.
    Same,
}

/// A list whose `next` is broken, as a faulty or hostile server could send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Paging {
    /// `next` until the last page, as Spotify pages.
    #[default]
    Normal,
    /// The last page's `next` points back to the first page.
    BackToStart,
    /// Every page has a `next`: a list without end.
    Endless,
}

/// How `/authorize` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Redirect with a code at once (tests).
    #[default]
    Approve,
    /// Redirect with `error=access_denied`.
    Deny,
    /// Show a consent page with Agree and Cancel (trying Spotoken by hand).
    Ask,
}

/// Which endpoint a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Token,
    Me,
    /// Every other Web API route.
    Api,
}

/// One scripted failure, used once, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub endpoint: Endpoint,
    /// HTTP status to answer with; 0 answers normally after the delay.
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub delay_ms: u64,
    /// Answer with this OAuth `error` (and `error_description`) as JSON, as the token
    /// endpoint does, instead of an HTML page.
    #[serde(default)]
    pub oauth_error: Option<(String, String)>,
    /// A 429's `reason` (`QUOTA_EXCEEDED`).
    #[serde(default)]
    pub reason: Option<String>,
    /// Answer with this plain text instead (as Spotify's allowlist 403 may come).
    #[serde(default)]
    pub text: Option<String>,
    /// Answer with the Web API's error JSON and this `message`
    /// (`{"error": {"status", "message"}}`).
    #[serde(default)]
    pub message: Option<String>,
}

impl Fault {
    pub fn status(endpoint: Endpoint, status: u16) -> Self {
        Self {
            endpoint,
            status,
            retry_after: None,
            delay_ms: 0,
            oauth_error: None,
            reason: None,
            text: None,
            message: None,
        }
    }

    pub fn rate_limit(endpoint: Endpoint, retry_after: u64) -> Self {
        Self { retry_after: Some(retry_after), ..Self::status(endpoint, 429) }
    }

    /// The token endpoint answering `status` with Spotify's error JSON.
    pub fn oauth(status: u16, error: &str, description: &str) -> Self {
        Self {
            oauth_error: Some((error.to_string(), description.to_string())),
            ..Self::status(Endpoint::Token, status)
        }
    }

    /// `status` with a plain-text body.
    pub fn text(endpoint: Endpoint, status: u16, text: &str) -> Self {
        Self { text: Some(text.to_string()), ..Self::status(endpoint, status) }
    }

    /// The Web API's error JSON with `message` (`The access token expired`, …).
    pub fn api_error(endpoint: Endpoint, status: u16, message: &str) -> Self {
        Self { message: Some(message.to_string()), ..Self::status(endpoint, status) }
    }

    /// Spotify's quota answer: 429 with `"reason": "QUOTA_EXCEEDED"`.
    pub fn quota_exceeded(endpoint: Endpoint, retry_after: u64) -> Self {
        Self { reason: Some("QUOTA_EXCEEDED".into()), ..Self::rate_limit(endpoint, retry_after) }
    }
}

/// Starting configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    pub client_ids: Vec<String>,
    /// Registered redirect URIs; `http://127.0.0.1/callback` matches any port.
    pub redirect_uris: Vec<String>,
    pub user: User,
    pub decision: Decision,
    pub access_ttl_secs: i64,
    pub code_ttl_secs: i64,
    /// How many playlists `/v1/me/playlists` lists (paged as Spotify pages them).
    pub playlists: usize,
    /// What refresh answers do with the refresh token at the start ([`Control`] changes it).
    pub rotation: Rotation,
}

pub const DEMO_CLIENT_ID: &str = "5a0d0b0e5a0d0b0e5a0d0b0e5a0d0b0e";
/// A second registered Client ID (a developer may have up to 25).
pub const SECOND_CLIENT_ID: &str = "0b5e55ed0b5e55ed0b5e55ed0b5e55ed";

/// The Python with spotipy that tests drive the sandbox (and Spotoken) with:
/// `SPOTOKEN_TEST_PYTHON`, else `target/test-python`, where `scripts/install-deps
/// --for-tests` puts it (`scripts/mutants` sets the variable: its copies of the tree
/// have no `target/`).
pub fn test_python() -> std::path::PathBuf {
    std::env::var_os("SPOTOKEN_TEST_PYTHON").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-python/bin/python")
    })
}

impl Rotation {
    /// The rotation `SPOTIFY_SANDBOX_ROTATION` names (`rotate`, `omit`, `same`), else
    /// today's Spotify ([`Rotation::Omit`]). `scripts/test` runs the command line's
    /// tests once in each of the two modes Spotify has had.
    pub fn from_env() -> Self {
        match std::env::var("SPOTIFY_SANDBOX_ROTATION").as_deref() {
            Ok("rotate") => Self::Rotate,
            Ok("same") => Self::Same,
            Ok("omit" | "") | Err(_) => Self::Omit,
            Ok(other) => panic!("SPOTIFY_SANDBOX_ROTATION={other}: expected rotate, omit or same"),
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            rotation: Rotation::from_env(),
            client_ids: vec![DEMO_CLIENT_ID.to_string(), SECOND_CLIENT_ID.to_string()],
            redirect_uris: vec!["http://127.0.0.1/callback".into(), "spotoken://callback".into()],
            user: User { id: "sandbox-listener".into(), display_name: "Sandbox Listener".into() },
            decision: Decision::Approve,
            access_ttl_secs: 3600,
            code_ttl_secs: 600,
            playlists: 7,
        }
    }
}

/// One request as the sandbox saw it. No secrets: tokens appear as serial numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub endpoint: String,
    pub grant_type: Option<String>,
    pub status: u16,
    pub error: Option<String>,
    /// For refresh requests: which refresh token (1 = the one issued at login).
    pub refresh_serial: Option<u32>,
    /// For answers that issued a refresh token: its serial.
    pub issued_refresh_serial: Option<u32>,
    /// Whether the request carried an Authorization header (PKCE clients must not).
    pub had_authorization_header: bool,
}

/// Changes sent to `/sandbox/control` (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Control {
    pub rotation: Option<Rotation>,
    pub decision: Option<Decision>,
    pub access_ttl_secs: Option<i64>,
    pub user: Option<User>,
    /// Grant only these scopes (of those requested); `[]` grants none.
    pub granted_scopes: Option<Vec<String>>,
    /// Revoke every refresh token with this `error_description`.
    pub revoke: Option<String>,
    pub faults: Vec<Fault>,
    /// Added to every token answer (widens race windows in tests).
    pub token_delay_ms: Option<u64>,
    /// Expire every access token now.
    pub expire_access_tokens: bool,
    /// How lists page from now on.
    pub paging: Option<Paging>,
}

#[derive(Debug)]
pub(crate) struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub scopes: Vec<String>,
    pub user: User,
    pub expires_at: i64,
    pub used: bool,
}

#[derive(Debug)]
pub(crate) struct RefreshGrant {
    pub serial: u32,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub user: User,
    /// `Some(description)` once dead.
    pub dead: Option<String>,
}

#[derive(Debug)]
pub(crate) struct AccessGrant {
    pub user: User,
    pub expires_at: i64,
    pub scopes: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct PendingConsent {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub grant: CodeGrant,
}

#[derive(Debug)]
pub(crate) struct State {
    pub config: SandboxConfig,
    pub rotation: Rotation,
    pub paging: Paging,
    pub granted_scopes: Option<Vec<String>>,
    pub token_delay_ms: u64,
    pub faults: VecDeque<Fault>,
    pub codes: HashMap<String, CodeGrant>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    pub access_tokens: HashMap<String, AccessGrant>,
    pub consents: HashMap<String, PendingConsent>,
    pub next_serial: u32,
    pub log: Vec<LogEntry>,
    /// Every code, token and verifier issued or received, for leak tests.
    pub secrets: Vec<String>,
}

/// A running sandbox; stops when dropped.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sandbox {
    /// Serves on `127.0.0.1:port` (0 picks a free port) from the current tokio runtime.
    pub async fn start(config: SandboxConfig, port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            rotation: config.rotation,
            config,
            paging: Paging::default(),
            granted_scopes: None,
            token_delay_ms: 0,
            faults: VecDeque::new(),
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            access_tokens: HashMap::new(),
            consents: HashMap::new(),
            next_serial: 1,
            log: Vec::new(),
            secrets: Vec::new(),
        }));
        let app = server::router(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "sandbox stopped");
            }
        });
        Ok(Self { addr, state, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn control(&self, control: Control) {
        apply(&mut lock(&self.state), control);
    }

    /// What refresh answers do with the refresh token now.
    pub fn rotation(&self) -> Rotation {
        lock(&self.state).rotation
    }

    pub fn set_rotation(&self, rotation: Rotation) {
        self.control(Control { rotation: Some(rotation), ..Default::default() });
    }

    pub fn push_fault(&self, fault: Fault) {
        self.control(Control { faults: vec![fault], ..Default::default() });
    }

    pub fn log(&self) -> Vec<LogEntry> {
        lock(&self.state).log.clone()
    }

    /// Log entries for the token endpoint with this grant type.
    pub fn token_requests(&self, grant_type: &str) -> Vec<LogEntry> {
        self.log()
            .into_iter()
            .filter(|e| e.endpoint == "token" && e.grant_type.as_deref() == Some(grant_type))
            .collect()
    }

    /// Every code, token and verifier that passed through, for leak tests.
    pub fn secrets(&self) -> Vec<String> {
        lock(&self.state).secrets.clone()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn apply(state: &mut State, control: Control) {
    let Control {
        rotation,
        decision,
        access_ttl_secs,
        user,
        granted_scopes,
        revoke,
        faults,
        token_delay_ms,
        expire_access_tokens,
        paging,
    } = control;
    if let Some(p) = paging {
        state.paging = p;
    }
    if let Some(r) = rotation {
        state.rotation = r;
    }
    if let Some(d) = decision {
        state.config.decision = d;
    }
    if let Some(t) = access_ttl_secs {
        state.config.access_ttl_secs = t;
    }
    if let Some(u) = user {
        state.config.user = u;
    }
    if granted_scopes.is_some() {
        state.granted_scopes = granted_scopes;
    }
    if let Some(description) = revoke {
        for grant in state.refresh_tokens.values_mut() {
            grant.dead.get_or_insert_with(|| description.clone());
        }
    }
    state.faults.extend(faults);
    if let Some(d) = token_delay_ms {
        state.token_delay_ms = d;
    }
    if expire_access_tokens {
        for grant in state.access_tokens.values_mut() {
            grant.expires_at = 0;
        }
    }
}
