//! The app's state and the few steps that need Tauri's plugins (browser, clipboard,
//! notifications, deep-link registration). Everything about tokens is the engine's.

use crate::ui_types::{Diagnosis, LoginFinished, LoginView, Overview, SettingsInput, SettingsView};
use spotoken_core::activity::{Channel, Recipient};
use spotoken_core::diagnose::WebPage;
use spotoken_core::login_flow::LoginFlow;
use spotoken_core::{AccountStatus, Engine, RedirectKind};
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::Notify;

/// Copy and Reveal hand out tokens valid for at least this long.
pub const HAND_OUT_MIN_VALID: std::time::Duration = std::time::Duration::from_secs(300);

/// A refresh the person asked for (the window's *Refresh now*, the tray's) takes at most
/// this long in all: the lock, every attempt, the waits between them.
pub const REFRESH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Managed state: the engine, the login in progress, the refresher's doorbell, and a
/// failure the person has not seen yet.
#[derive(Debug)]
pub struct Shell {
    engine: Arc<Engine>,
    login: LoginFlow,
    wake: Arc<Notify>,
    notice: Mutex<Option<Diagnosis>>,
    /// Held while the app runs, so `spotoken token` knows it can ask here.
    _asker: Option<spotoken_core::activity::approval::Asker>,
    /// "State changed": bumped by [`Shell::changed`], watched by whoever draws it.
    changes: tokio::sync::watch::Sender<u64>,
    /// The window's refreshes in progress, by account: notified to stop waiting.
    refreshing: Mutex<std::collections::HashMap<String, Arc<Notify>>>,
}

/// How a refresh the window asked for ended.
#[derive(Debug)]
pub enum RefreshEnd {
    Done(Result<(), Diagnosis>),
    /// The person stopped waiting; the refresh goes on to its deadline, and an answer
    /// that comes is stored.
    StoppedWaiting,
}

impl Shell {
    /// The engine everything here works through.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The login in progress, if any.
    pub fn login(&self) -> &LoginFlow {
        &self.login
    }

    pub fn new(engine: Arc<Engine>, login: LoginFlow, wake: Arc<Notify>) -> Self {
        let asker = match engine.activity().hold_asker() {
            Ok(asker) => Some(asker),
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the asker's lock; programs cannot be asked about here");
                None
            }
        };
        let changes = tokio::sync::watch::Sender::new(0);
        Self { engine, login, wake, notice: Mutex::new(None), _asker: asker, changes, refreshing: Mutex::default() }
    }

    /// Refreshes `account` within [`REFRESH_DEADLINE`], unless the person stops waiting
    /// first ([`Shell::stop_waiting_for_refresh`]). The refresh runs in a task of its own,
    /// so stopping never drops a request Spotify may already have answered: that answer
    /// is stored when it comes.
    /// `ended` runs when the refresh itself has ended, waited for or not (the window
    /// redraws then: a refresh it stopped waiting for may still succeed or fail).
    pub async fn refresh(&self, account: &str, ended: impl FnOnce() + Send + 'static) -> RefreshEnd {
        let stop = Arc::new(Notify::new());
        self.refreshing.lock().unwrap_or_else(|p| p.into_inner()).insert(account.to_string(), stop.clone());
        let (engine, id) = (self.engine.clone(), account.to_string());
        let work = tauri::async_runtime::spawn(async move {
            let result =
                engine.refresh_within(&id, spotoken_core::activity::Actor::Window, REFRESH_DEADLINE).await.map(drop);
            ended();
            result
        });
        let end = tokio::select! {
            done = work => RefreshEnd::Done(match done {
                Ok(result) => result.map_err(Diagnosis::from),
                Err(e) => Err(Diagnosis::new(
                    spotoken_core::Code::UnexpectedResponse,
                    format!("The refresh stopped before it finished ({e})."),
                    "Try again; the stored tokens were not changed.",
                )),
            }),
            () = stop.notified() => RefreshEnd::StoppedWaiting,
        };
        let mut refreshing = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        if refreshing.get(account).is_some_and(|s| Arc::ptr_eq(s, &stop)) {
            refreshing.remove(account);
        }
        end
    }

    /// The window no longer waits for its refresh of `account` (false: none was going on).
    pub fn stop_waiting_for_refresh(&self, account: &str) -> bool {
        let stop = self.refreshing.lock().unwrap_or_else(|p| p.into_inner()).remove(account);
        stop.inspect(|s| s.notify_one()).is_some()
    }

    /// Something the window or tray shows may have changed; also wakes the refresher.
    pub fn changed(&self) {
        self.wake.notify_one();
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The "state changed" signal (bursts coalesce into one).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub fn overview(&self) -> Result<Overview, Diagnosis> {
        let status = self.engine.status()?;
        let settings = self.engine.settings();
        let now = self.engine.clock().now();
        Ok(Overview {
            clock: spotoken_core::ClockStyle::of_process().clone(),
            requests: self.engine.activity().pending_requests(now).into_iter().map(Into::into).collect(),
            settings: SettingsView::new(
                self.engine.settings(),
                self.engine.client_id_from_env().map(str::to_string),
                crate::autostart::enabled(&self.engine.paths().data_dir),
            ),
            accounts: status
                .accounts
                .into_iter()
                .map(|a| {
                    let asks = settings.ask_before_new_program.contains(&a.id);
                    crate::ui_types::AccountView { asks_before_new_program: asks, ..a.into() }
                })
                .collect(),
            login: self.login.pending().map(|p| LoginView {
                redirect: p.kind,
                address: p.address.into_secret(),
                expires_at: p.expires_at.0,
                timeout_secs: self.login.timeout().as_secs(),
            }),
            redirect_uris: Overview::redirect_uris(),
            notice: self.notice(),
        })
    }

    /// The failure the person has not seen yet, if any.
    pub fn notice(&self) -> Option<Diagnosis> {
        self.notice.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_notice(&self, notice: Option<Diagnosis>) {
        *self.notice.lock().unwrap_or_else(|p| p.into_inner()) = notice;
    }

    pub fn save_settings<R: Runtime>(&self, app: &AppHandle<R>, input: SettingsInput) -> Result<(), Diagnosis> {
        // A Client ID from SPOTOKEN_CLIENT_ID is shown, not saved: the engine keeps the file's.
        let saved = self.engine.update_settings(|settings| {
            settings.client_id = Some(input.client_id);
            settings.scopes = input.scopes;
            settings.redirect = input.redirect;
            settings.clipboard_clear_secs = Some(input.clipboard_clear_secs);
            settings.notify_anomalies = Some(input.notify_anomalies);
            settings.burst_per_minute = Some(input.burst_per_minute.max(1));
            Ok(())
        })?;
        let deep_link = saved.redirect == RedirectKind::DeepLink;
        if deep_link {
            crate::deep_link::register_in_background(app, self.engine.paths().data_dir.clone());
        }
        Ok(())
    }

    pub async fn start_login<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        scopes: &[String],
        show_dialog: bool,
        account: Option<&str>,
    ) -> Result<(), Diagnosis> {
        let kind = self.engine.settings().redirect;
        if kind == RedirectKind::DeepLink {
            // Before the browser opens: its redirect must find the handler in place.
            let registering = {
                let (app, data_dir) = (app.clone(), self.engine.paths().data_dir.clone());
                tauri::async_runtime::spawn_blocking(move || crate::deep_link::register(&app, &data_dir))
            };
            if let Ok(Err(why)) = registering.await {
                tracing::warn!(%why, "could not register spotoken://; paste the address or use the loopback redirect");
            }
        }
        let url = self.login.start(kind, scopes, show_dialog, account).await?;
        open_in_browser(
            url.as_str(),
            "Set the BROWSER variable, or install xdg-utils and a browser, then log in again.",
        )
    }

    /// A token valid for at least [`HAND_OUT_MIN_VALID`], for Copy and Reveal. When
    /// getting it meant a refresh, the window and tray hear of the new expiry.
    pub async fn hand_out<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        account: &str,
        channel: Channel,
    ) -> Result<spotoken_core::secret::AccessToken, Diagnosis> {
        let token = self.engine.hand_out(Some(account), HAND_OUT_MIN_VALID, &Recipient::app(channel)).await?;
        if token.refreshed {
            let _ = changed(app);
        }
        Ok(token.access_token)
    }

    pub async fn copy_token<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        account: &str,
        channel: Channel,
    ) -> Result<crate::ui_types::Copied, Diagnosis> {
        let token = self.hand_out(app, account, channel).await?;
        let clear = self.engine.settings().clipboard_clear();
        crate::clipboard::copy(app, account, token, clear).map_err(|why| {
            Diagnosis::new(
                spotoken_core::Code::ClipboardError,
                format!("The clipboard refused the token ({why})."),
                "Try again.",
            )
        })
    }
}

/// The Activity view for `query`: at most [`crate::ui_types::ACTIVITY_PAGE`] events,
/// anomalies open first.
pub fn activity_view(engine: &Engine, query: &crate::ui_types::ActivityQuery) -> crate::ui_types::ActivityView {
    use crate::ui_types::{ACTIVITY_PAGE, ActivityView, AnomalyView};
    let now = engine.clock().now();
    let timeline =
        engine.activity().timeline(query.account.as_deref(), query.channel.as_deref(), query.program.as_deref(), now);
    let more = timeline.events.len().saturating_sub(ACTIVITY_PAGE);
    ActivityView {
        events: timeline.events.into_iter().take(ACTIVITY_PAGE).map(Into::into).collect(),
        more,
        per_hour: timeline.per_hour,
        per_hour_from: timeline.per_hour_from.0,
        anomalies: timeline.anomalies.into_iter().map(AnomalyView::from).collect(),
        accounts: timeline.accounts,
        channels: timeline.channels,
        programs: timeline.programs,
    }
}

/// After any change: wake the refresher and signal it (the composition root redraws the
/// tray and the window on the signal); the overview, for commands that return it.
pub fn changed<R: Runtime>(app: &AppHandle<R>) -> Result<Overview, Diagnosis> {
    let shell = app.state::<Shell>();
    shell.changed();
    shell.overview()
}

/// Hands each `spotoken://` link to the self-test waiting for it or to the pending
/// login, each login's on a task of its own.
pub fn deliver_links<R: Runtime>(app: &AppHandle<R>, urls: Vec<tauri::Url>) {
    for address in crate::deep_link::sort(app, urls) {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let shell = app.state::<Shell>();
            let shown = address.without_query().to_string();
            if let Err(e) = shell.login.deliver_deep_link(address).await {
                tracing::warn!(url = shown, code = %e.diagnose().code, "deep link refused");
            }
        });
    }
}

/// Tells the window how a login ended and brings it forward.
pub fn login_finished<R: Runtime>(
    app: &AppHandle<R>,
    outcome: Result<spotoken_core::AccountRecord, spotoken_core::Diagnosis>,
) {
    let shell = app.state::<Shell>();
    let now = shell.engine.clock().now();
    let payload = match outcome {
        Ok(record) => LoginFinished { account: Some(AccountStatus::new(&record, now).into()), error: None },
        Err(d) => LoginFinished { account: None, error: Some(d) },
    };
    if payload.account.is_some() {
        let _ = crate::window::show(app);
    }
    let _ = crate::events::emit_login_finished(app, &payload);
    let _ = changed(app);
}

pub fn notify<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!(error = %e, "notification not shown");
    }
}

pub fn copy_redirect_uri<R: Runtime>(app: &AppHandle<R>, which: &RedirectKind) -> Result<(), Diagnosis> {
    let uris = Overview::redirect_uris();
    crate::clipboard::copy_text(
        app,
        match which {
            RedirectKind::DeepLink => uris.deep_link,
            RedirectKind::Loopback => uris.loopback,
        },
    )
}

pub fn open_link(page: WebPage) -> Result<(), Diagnosis> {
    let url = page.url();
    open_in_browser(url, &format!("Open {url} yourself."))
}

/// `$BROWSER` when set (tests use it), else the desktop's opener: the same as the
/// command line's, without this window's rendering variables.
fn open_in_browser(url: &str, fix: &str) -> Result<(), Diagnosis> {
    spotoken_core::browser::open_without(url, crate::rendering::set_here()).map_err(|why| {
        Diagnosis::new(spotoken_core::Code::BrowserUnavailable, format!("No browser could be opened ({why})."), fix)
    })
}
