//! What the window's commands do: one-line adapters onto the engine. Tauri reaches them
//! through [`crate::ipc`], which declares each one's parameters (the names the window
//! sends) once, in `command_list.rs`.
//!
//! Each returns either its result or a [`Diagnosis`] (`{ code, message, fix }`). The UI
//! receives a raw token only from `reveal_token`, on an explicit Reveal; Copy happens
//! here, in Rust.

use crate::shell::{Shell, changed};
use crate::ui_types::{
    ActivityQuery, ActivityView, Approval, CallCheck, Copied, Diagnosis, LinkCheck, Overview, RedirectKind,
    ScopeCatalog, SettingsInput, Theme,
};
use spotoken_core::activity::Channel;
use spotoken_core::diagnose::WebPage;
use tauri::{AppHandle, Manager, Runtime, State, WebviewWindow};

pub fn overview(shell: State<'_, Shell>) -> Result<Overview, Diagnosis> {
    shell.overview()
}

pub fn scope_catalog() -> Result<ScopeCatalog, Diagnosis> {
    Ok(ScopeCatalog::default())
}

pub fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    input: SettingsInput,
) -> Result<Overview, Diagnosis> {
    shell.save_settings(&app, input)?;
    changed(&app)
}

pub async fn start_login<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    scopes: Vec<String>,
    show_dialog: bool,
    account: Option<String>,
) -> Result<Overview, Diagnosis> {
    shell.start_login(&app, &scopes, show_dialog, account.as_deref()).await?;
    changed(&app)
}

pub fn cancel_login<R: Runtime>(app: AppHandle<R>, shell: State<'_, Shell>) -> Result<Overview, Diagnosis> {
    shell.login().cancel();
    changed(&app)
}

pub async fn refresh_now<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    account: String,
) -> Result<Overview, Diagnosis> {
    let redraw = app.clone();
    let end = shell
        .refresh(&account, move || {
            let _ = changed(&redraw);
        })
        .await;
    let overview = changed(&app);
    match end {
        crate::shell::RefreshEnd::Done(result) => result.and(overview),
        crate::shell::RefreshEnd::StoppedWaiting => overview,
    }
}

/// Stops the window waiting for its refresh of `account` (the refresh itself ends within
/// its deadline, and keeps what Spotify answers).
pub fn stop_refresh(shell: State<'_, Shell>, account: String) -> Result<bool, Diagnosis> {
    Ok(shell.stop_waiting_for_refresh(&account))
}

pub async fn copy_token<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    account: String,
) -> Result<Copied, Diagnosis> {
    shell.copy_token(&app, &account, Channel::WindowCopy).await
}

pub async fn reveal_token<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    account: String,
) -> Result<String, Diagnosis> {
    Ok(shell.hand_out(&app, &account, Channel::WindowReveal).await?.into_secret())
}

/// Off the main thread: deleting from a keychain that asks to be unlocked can take
/// as long as the person takes.
pub async fn sign_out<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    account: String,
) -> Result<Overview, Diagnosis> {
    let engine = shell.engine().clone();
    tauri::async_runtime::spawn_blocking(move || engine.logout(&account))
        .await
        .map_err(|e| Diagnosis::from(spotoken_core::Error::Keychain(format!("signing out stopped: {e}"))))??;
    changed(&app)
}

pub fn copy_redirect_uri<R: Runtime>(app: AppHandle<R>, which: RedirectKind) -> Result<(), Diagnosis> {
    crate::shell::copy_redirect_uri(&app, &which)
}

pub fn open_link(link: WebPage) -> Result<(), Diagnosis> {
    crate::shell::open_link(link)
}

/// The UI has painted: show the window (it starts hidden, so it never flashes blank).
pub fn ui_ready<R: Runtime>(window: WebviewWindow<R>) -> Result<(), Diagnosis> {
    crate::window::reveal(&window)
}

/// The desktop's light or dark theme where the page cannot tell (Linux), else `None`.
/// Synchronous, so it runs on the main thread, where GTK's settings are.
pub fn appearance<R: Runtime>(window: WebviewWindow<R>) -> Result<Option<Theme>, Diagnosis> {
    Ok(crate::appearance::current(&window))
}

/// Sends a `spotoken://` self-test through the desktop and says whether it came back.
pub async fn check_deep_link<R: Runtime>(app: AppHandle<R>) -> Result<LinkCheck, Diagnosis> {
    let data_dir = app.state::<Shell>().engine().paths().data_dir.clone();
    Ok(crate::deep_link::check(&app, data_dir).await)
}

/// Finishes the pending login from the address the browser ended on.
pub async fn paste_redirect<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    address: String,
) -> Result<Overview, Diagnosis> {
    shell.login().deliver_pasted(spotoken_core::secret::RedirectAddress::of(address)).await?;
    changed(&app)
}

/// Copies the pending login's consent page address, for a browser elsewhere.
pub fn copy_login_address<R: Runtime>(app: AppHandle<R>, shell: State<'_, Shell>) -> Result<(), Diagnosis> {
    let pending = shell.login().pending().ok_or_else(|| Diagnosis::from(spotoken_core::Error::NoLoginPending))?;
    crate::clipboard::copy_text(&app, pending.address.into_secret())
}

/// The person has seen the notice (a failed tray copy).
pub fn dismiss_notice<R: Runtime>(app: AppHandle<R>, shell: State<'_, Shell>) -> Result<Overview, Diagnosis> {
    shell.set_notice(None);
    changed(&app)
}

/// The Activity view. Off the main thread: it reads up to 10 MB of record.
pub async fn activity(shell: State<'_, Shell>, query: ActivityQuery) -> Result<ActivityView, Diagnosis> {
    let engine = shell.engine().clone();
    tauri::async_runtime::spawn_blocking(move || crate::shell::activity_view(&engine, &query)).await.map_err(|e| {
        Diagnosis::new(
            spotoken_core::Code::ActivityUnreadable,
            format!("The activity record could not be read ({e})."),
            "Try again; `spotoken activity` reads the same record.",
        )
    })
}

/// Acknowledges one anomaly (`id`), an account's, or all.
pub fn acknowledge<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    id: Option<String>,
    account: Option<String>,
) -> Result<Overview, Diagnosis> {
    let now = shell.engine().clock().now();
    shell.engine().activity().acknowledge(id.as_deref(), account.as_deref(), now)?;
    changed(&app)
}

/// Answers a program waiting for a token.
pub fn answer_request<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    id: String,
    approval: Approval,
) -> Result<Overview, Diagnosis> {
    let now = shell.engine().clock().now();
    shell.engine().activity().answer(&id, approval.into(), now)?;
    changed(&app)
}

/// Turns asking before a new program gets the account's token on or off.
pub fn set_ask_new_programs<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    account: String,
    enabled: bool,
) -> Result<Overview, Diagnosis> {
    shell.engine().set_ask_before_new_program(&account, enabled)?;
    changed(&app)
}

/// The operations `query` names (a path, or words of a summary), each checked against
/// the account's granted scopes.
pub fn can_call(shell: State<'_, Shell>, account: String, query: String) -> Result<Vec<CallCheck>, Diagnosis> {
    let record = shell.engine().resolve_account(Some(&account))?;
    Ok(spotoken_core::catalog::search(&query, 8)
        .into_iter()
        .map(|op| CallCheck::new(op, &record.granted_scopes))
        .collect())
}

/// Starts Spotoken in the tray when the person logs in, or stops doing so.
pub fn set_autostart<R: Runtime>(app: AppHandle<R>, enabled: bool) -> Result<Overview, Diagnosis> {
    crate::autostart::set(&app.state::<Shell>().engine().paths().data_dir, enabled)?;
    changed(&app)
}
