//! The engine: one value that the command line and the desktop app both drive.
//!
//! It wires settings, endpoints, the keychain, the accounts file and the clock, and
//! offers the operations a person has: log in, get a fresh token, see the state of
//! each account, sign out. Refreshing lives in [`crate::refresh`].

use crate::activity::{Activity, Event};
use crate::auth::login::{LoginRequest, PendingLogin};
use crate::auth::loopback::LoopbackListener;
use crate::clock::{Clock, SystemClock};
use crate::config::{ClientId, Endpoints, Paths, Settings};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::scopes;
use crate::secret::RedirectAddress;
use crate::spotify::accounts::TokenEndpoint;
use crate::spotify::{api, http_client};
use crate::store::accounts::{AccountRecord, AccountStore};
use crate::store::keychain::Keychain;
use crate::store::quota::QuotaStore;
use crate::store::tokens::StoredTokens;
use crate::store::tokens::TokenStore;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

/// Spotoken's engine.
#[derive(Debug)]
pub struct Engine {
    pub(crate) paths: Paths,
    settings: RwLock<Settings>,
    pub(crate) client_id_override: Option<String>,
    pub(crate) endpoints: Endpoints,
    pub(crate) keychain: Arc<dyn TokenStore>,
    pub(crate) accounts: AccountStore,
    /// Spotify's request quota, per Client ID.
    pub(crate) quota: QuotaStore,
    pub(crate) activity: Activity,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) retry: RetryPolicy,
    http: OnceLock<reqwest::Client>,
    /// The tokens last read or refreshed, by account, when this engine keeps them in
    /// memory ([`Engine::with_tokens_in_memory`]: the agent).
    pub(crate) in_memory: Option<std::sync::Mutex<std::collections::HashMap<String, StoredTokens>>>,
}

/// How to run a login through the loopback redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopbackLogin {
    /// Empty: the settings' scopes, else the defaults.
    pub scopes: Vec<String>,
    pub show_dialog: bool,
    /// 127.0.0.1 port; `None` takes the settings' (0: a free one).
    pub port: Option<u16>,
    pub timeout: Duration,
    /// The account signed in again, if this login is for one.
    pub account: Option<String>,
}

impl Default for LoopbackLogin {
    fn default() -> Self {
        Self {
            scopes: Vec::new(),
            show_dialog: false,
            port: None,
            timeout: crate::DEFAULT_LOGIN_TIMEOUT,
            account: None,
        }
    }
}

/// What signing out did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOut {
    pub id: String,
    pub display_name: Option<String>,
    /// False if the keychain had no entry (already gone).
    pub tokens_deleted: bool,
}

impl Engine {
    /// An engine keeping tokens in `keychain` (the OS keychain, [`Keychain`], outside tests).
    pub fn new(
        paths: Paths,
        endpoints: Endpoints,
        keychain: impl TokenStore + 'static,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        // Files from versions that wrote them world-readable: 0600 now, folders 0700.
        crate::store::tighten(&[&paths.config_dir, &paths.data_dir, &paths.state_dir]);
        let settings = Settings::load(&paths.settings_file())?;
        let accounts = AccountStore::new(paths.accounts_file(), paths.state_dir.join("accounts.lock"));
        let activity = Activity::new(paths.activity_dir(), paths.state_dir.join("activity.lock"));
        let quota = QuotaStore::new(paths.data_dir.join("quota.json"), paths.state_dir.join("quota.lock"));
        Ok(Self {
            paths,
            settings: RwLock::new(settings),
            client_id_override: None,
            endpoints,
            keychain: Arc::new(keychain),
            accounts,
            quota,
            activity,
            clock,
            retry: RetryPolicy::default(),
            http: OnceLock::new(),
            in_memory: None,
        })
    }

    /// The platform's folders, `SPOTOKEN_*` environment variables, the system clock.
    pub fn from_env() -> Result<Self> {
        let mut engine =
            Self::new(Paths::from_platform()?, Endpoints::from_env()?, Keychain::from_env(), Arc::new(SystemClock))?;
        // The store the person chose; never a silent fallback from one to the other.
        if crate::store::StoreKind::chosen(engine.settings().store.as_deref())?
            == crate::store::StoreKind::EncryptedFile
        {
            engine.keychain = Arc::new(crate::store::encrypted::EncryptedFileStore::from_env(&engine.paths.data_dir));
        }
        engine.client_id_override = std::env::var("SPOTOKEN_CLIENT_ID").ok().filter(|s| !s.trim().is_empty());
        Ok(engine)
    }

    /// Keeps each account's tokens in memory once read or refreshed, and hands out an
    /// access token from there while it is valid long enough: no keychain round trip
    /// per request. For the agent, a long-running process that is the machine's
    /// refresher; what the accounts file says (signed out, needs sign-in) is still read
    /// on every request, and every hand-out is still recorded and asked about.
    pub fn with_tokens_in_memory(mut self) -> Self {
        self.in_memory = Some(std::sync::Mutex::default());
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// For a person who can answer the keychain's unlock prompt: see
    /// [`Keychain::interactive`].
    pub fn with_interactive_keychain(mut self) -> Self {
        if let Some(store) = self.keychain.for_a_person() {
            self.keychain = store;
        }
        self
    }

    /// `on_waiting` is called when the keychain seems to be asking the person to unlock
    /// it, with how long it is waited for (the command line says "Unlock KeePassXC to
    /// continue…").
    pub fn with_keychain_waiting_told(mut self, on_waiting: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        if let Some(store) = self.keychain.telling_when_waiting(std::sync::Arc::new(on_waiting)) {
            self.keychain = store;
        }
        self
    }

    /// Runs a keychain call on the blocking pool: a keychain that does not answer (locked,
    /// stopped, asking the person) then holds up only that call, bounded by the keychain
    /// timeout, never an async worker that other work is waiting for.
    pub(crate) async fn on_keychain<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn TokenStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let keychain = self.keychain.clone();
        tokio::task::spawn_blocking(move || work(keychain.as_ref()))
            .await
            .map_err(|e| Error::Keychain(format!("the keychain call stopped: {e}")))?
    }

    /// Checks that the keychain can take tokens now (asking to unlock it if needed), and
    /// that the folders a sign-in writes (the account list, the activity record, the
    /// locks) can be written: before a login sends anyone to Spotify.
    pub fn check_ready_for_login(&self) -> Result<()> {
        for dir in [self.paths.data_dir.clone(), self.paths.activity_dir(), self.paths.locks_dir()] {
            crate::store::check_writable(&dir)?;
        }
        self.keychain.check_ready()
    }

    pub fn with_client_id_override(mut self, client_id: Option<String>) -> Self {
        self.client_id_override = client_id;
        self
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// A copy of the current settings.
    pub fn settings(&self) -> Settings {
        self.settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The activity record and its anomalies.
    pub fn activity(&self) -> &Activity {
        &self.activity
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Changes the settings: reads the file afresh, applies `change`, checks and writes
    /// the result, all under a lock shared with every Spotoken process, so two changes
    /// (the window's Settings, `spotoken login --client-id`, a card's switch) never undo
    /// each other. The Client ID from `SPOTOKEN_CLIENT_ID` is not written back.
    pub fn update_settings(&self, change: impl FnOnce(&mut Settings) -> Result<()>) -> Result<Settings> {
        let path = self.paths.settings_file();
        let _lock = crate::store::lock::FileLock::exclusive(&self.paths.locks_dir().join("settings.lock"))?;
        let mut memory = self.settings.write().unwrap_or_else(|p| p.into_inner());
        let mut settings = if path.exists() { Settings::load(&path)? } else { memory.clone() };
        let stored_client_id = settings.client_id.clone();
        change(&mut settings)?;
        // The window shows (and sends back) the Client ID in force; one that came from
        // the environment stays there.
        if settings.client_id != stored_client_id && settings.client_id.as_deref() == self.client_id_from_env() {
            settings.client_id = stored_client_id;
        }
        if let Some(id) = &settings.client_id {
            settings.client_id = Some(ClientId::parse(id)?.to_string());
        }
        scopes::validate(&settings.scopes)?;
        settings.save(&path)?;
        *memory = settings.clone();
        Ok(settings)
    }

    /// Whether a program new to `account` must be allowed in the app before it gets a token.
    pub fn set_ask_before_new_program(&self, account: &str, enabled: bool) -> Result<()> {
        self.update_settings(|settings| {
            settings.ask_before_new_program.retain(|a| a != account);
            if enabled {
                settings.ask_before_new_program.push(account.to_string());
            }
            Ok(())
        })
        .map(drop)
    }

    /// The Client ID from `SPOTOKEN_CLIENT_ID` (or given for this run), which wins over the settings.
    pub fn client_id_from_env(&self) -> Option<&str> {
        self.client_id_override.as_deref()
    }

    /// `SPOTOKEN_CLIENT_ID` if set, else the settings file's.
    pub fn client_id(&self) -> Result<ClientId> {
        let from_settings = self.settings().client_id;
        let id = self.client_id_override.as_ref().or(from_settings.as_ref()).ok_or(Error::NotConfigured)?;
        ClientId::parse(id)
    }

    pub(crate) fn http(&self) -> Result<&reqwest::Client> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = http_client()?;
        Ok(self.http.get_or_init(|| client))
    }

    pub(crate) fn token_endpoint<'a>(&'a self, client_id: &'a str) -> Result<TokenEndpoint<'a>> {
        Ok(TokenEndpoint { http: self.http()?, url: &self.endpoints.token, client_id })
    }

    /// Starts a login; `scopes` empty means the settings' (or the default) scopes.
    pub fn begin_login(&self, scopes: &[String], redirect_uri: String, show_dialog: bool) -> Result<PendingLogin> {
        self.begin_login_for(None, scopes, redirect_uri, show_dialog)
    }

    /// [`Self::begin_login`] signing `account` in again, when given.
    pub fn begin_login_for(
        &self,
        account: Option<&str>,
        scopes: &[String],
        redirect_uri: String,
        show_dialog: bool,
    ) -> Result<PendingLogin> {
        let scopes = if scopes.is_empty() { self.settings().scopes_or_default() } else { scopes.to_vec() };
        let request = LoginRequest {
            client_id: self.client_id()?,
            scopes: scopes::validate(&scopes)?,
            redirect_uri,
            show_dialog,
            account: account.map(str::to_string),
        };
        PendingLogin::new(&self.endpoints, request, self.clock.now())
    }

    /// Finishes a login from a callback URL, however it arrived (the deep-link path).
    pub async fn complete_login_from_url(
        &self,
        login: &PendingLogin,
        address: &RedirectAddress,
    ) -> Result<AccountRecord> {
        let code = login.accept_callback(address)?;
        self.complete_login(login, &code).await
    }

    /// Exchanges the code, learns who signed in, and stores the account.
    #[tracing::instrument(skip_all)]
    pub async fn complete_login(&self, login: &PendingLogin, code: &crate::secret::AuthCode) -> Result<AccountRecord> {
        let request = login.request();
        let now = self.clock.now();
        let _work = crate::shutdown::WorkGuard::enter();
        let grant = self
            .token_endpoint(&request.client_id)?
            .exchange_code(code, login.verifier(), &request.redirect_uri, now)
            .await?;
        tracing::info!("code exchanged for tokens");
        let profile = api::current_user(self.http()?, &self.endpoints.me, &grant.access_token).await?;
        tracing::info!(account = %profile.id, "identified the account");
        let tokens = StoredTokens {
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
            access_expires_at: grant.expires_at,
            obtained_at: now,
        };
        let known = self.accounts.load()?;
        if let Some(expected) = request.account.as_deref().and_then(|id| known.iter().find(|a| a.id == id)) {
            self.activity.check_identity(expected, &profile.id, now);
        }
        // One account per person and Client ID: signing in through another Client ID
        // adds an account (`user@client`) rather than replacing this one.
        let key = AccountRecord::key_for(&profile.id, &request.client_id, &known);
        let previous = known.into_iter().find(|a| a.id == key);
        let record = AccountRecord {
            id: key,
            user_id: profile.id.clone(),
            display_name: profile.display_name.filter(|n| !n.is_empty()),
            client_id: request.client_id.clone(),
            requested_scopes: request.scopes.clone(),
            granted_scopes: scopes::parse_granted(grant.scope.as_deref()),
            access_expires_at: tokens.access_expires_at,
            authorized_at: now,
            last_refresh_at: None,
            needs_sign_in: false,
            sign_in_reason: None,
            last_error: None,
            last_error_at: None,
            refresh_fingerprint: tokens.refresh_token.as_ref().map(crate::activity::fingerprint),
        };
        // Tokens first: an account in the file always has tokens behind it.
        let (id, stored) = (record.id.clone(), tokens.clone());
        self.on_keychain(move |k| k.write(&id, &stored)).await?;
        self.accounts.upsert(record.clone())?;
        self.activity.record(&Event::sign_in(now, &record.id, &tokens.access_token, previous.is_some()));
        if let Some(before) = &previous {
            if let Some(change) = Event::scopes(now, &record.id, &before.granted_scopes, &record.granted_scopes) {
                self.activity.record(&change);
            }
            self.activity.check_scopes(&record, &before.granted_scopes, now);
        }
        Ok(record)
    }

    /// A whole login through the loopback redirect: bind, hand the authorize URL to
    /// `show_url` (print it, open a browser), wait, exchange, answer the browser.
    pub async fn login_loopback(
        &self,
        options: &LoopbackLogin,
        show_url: impl FnOnce(&url::Url),
    ) -> Result<AccountRecord> {
        let (_, mut nothing_pasted) = tokio::sync::mpsc::unbounded_channel();
        self.login_loopback_or_pasted(options, show_url, &mut nothing_pasted, |_| {}).await
    }

    /// [`Self::login_loopback`] that also takes the address the browser ended on from
    /// `pasted` (for a browser on another machine, where the redirect to 127.0.0.1
    /// cannot reach this one). A pasted address that is not this login's goes to
    /// `on_refused` and the login keeps waiting; whichever way the right one comes
    /// first finishes the login, once.
    pub async fn login_loopback_or_pasted(
        &self,
        options: &LoopbackLogin,
        show_url: impl FnOnce(&url::Url),
        pasted: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
        on_refused: impl Fn(&crate::Diagnosis),
    ) -> Result<AccountRecord> {
        // Before the browser opens: consent given to Spotify must have a keychain to land in.
        self.check_ready_for_login()?;
        let listener = LoopbackListener::bind(options.port.unwrap_or(self.settings().loopback_port)).await?;
        let login = self.begin_login_for(
            options.account.as_deref(),
            &options.scopes,
            listener.redirect_uri(),
            options.show_dialog,
        )?;
        show_url(login.authorize_url());
        let waiting = self.complete_loopback(&listener, &login, options.timeout);
        tokio::pin!(waiting);
        let mut open = true;
        loop {
            tokio::select! {
                result = &mut waiting => return result,
                line = pasted.recv(), if open => match line {
                    None => open = false,
                    Some(text) if text.trim().is_empty() => {}
                    Some(text) => match login.accept_callback(&RedirectAddress::of(text.trim().to_string())) {
                        Ok(code) => {
                            tracing::info!("pasted address received, state matched");
                            return self.complete_login(&login, &code).await;
                        }
                        Err(refused) if !refused.state_verified => on_refused(&refused.error.diagnose()),
                        Err(failed) => return Err(failed.error),
                    },
                },
            }
        }
    }

    /// Waits on `listener` for `login`'s callback, exchanges the code, and tells the
    /// browser tab how it ended.
    pub async fn complete_loopback(
        &self,
        listener: &LoopbackListener,
        login: &PendingLogin,
        timeout: Duration,
    ) -> Result<AccountRecord> {
        let callback = listener.wait(login, timeout).await?;
        let result = self.complete_login(login, &callback.code).await;
        callback.answer(&result).await;
        result
    }
}

mod accounts;
#[cfg(test)]
mod tests;
