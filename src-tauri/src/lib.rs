//! Spotoken's desktop app: a thin Tauri shell over `spotoken-core`.
//!
//! It wires the window, the tray, the deep link and the background refresher to the
//! engine; commands are adapters ([`commands`]) and the types the UI sees live in
//! [`ui_types`]. Logic about tokens does not belong here.

pub mod anomalies;
pub mod appearance;
pub mod autostart;
pub mod bindings;
pub mod clipboard;
pub mod commands;
pub mod deep_link;
pub mod events;
pub mod ipc;
pub mod rendering;
pub mod shell;
pub mod tray;
#[cfg(target_os = "linux")]
pub mod tray_only;
pub mod ui_types;
pub mod window;

use shell::Shell;
use spotoken_core::background::{DEFAULT_LEAD, RefreshEvent, Refresher};
use spotoken_core::login_flow::LoginFlow;
use spotoken_core::{DEFAULT_LOGIN_TIMEOUT, Engine};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tauri::{Manager, RunEvent};
use tauri_plugin_deep_link::DeepLinkExt;

pub use ipc::COMMANDS;

/// When the process started, for the first-paint figure.
pub static STARTED: OnceLock<Instant> = OnceLock::new();

/// How long a login waits for Spotify: `SPOTOKEN_LOGIN_TIMEOUT_SECS`, else 5 minutes.
fn login_timeout() -> std::time::Duration {
    std::env::var("SPOTOKEN_LOGIN_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(DEFAULT_LOGIN_TIMEOUT, std::time::Duration::from_secs)
}

/// Why the app could not run, and the process exit code that says so (documented in
/// the README).
#[derive(Debug)]
pub enum StartError {
    /// GTK found no display to open (exit code 3).
    NoDisplay(String),
    /// Anything else (exit code 1).
    Other(String),
}

impl StartError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NoDisplay(_) => 3,
            Self::Other(_) => 1,
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoDisplay(why) | Self::Other(why) => f.write_str(why),
        }
    }
}

/// GTK must start before Tauri does: tao panics ("Failed to initialize gtk backend!")
/// where this returns a reason and a fix.
#[cfg(target_os = "linux")]
fn check_display() -> Result<(), StartError> {
    gtk::init().map_err(|_| {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let seen = match (var("DISPLAY"), var("WAYLAND_DISPLAY"), var("GDK_BACKEND")) {
            (None, None, _) => "neither DISPLAY nor WAYLAND_DISPLAY is set".to_string(),
            (x11, wayland, backend) => format!(
                "DISPLAY={}, WAYLAND_DISPLAY={}, GDK_BACKEND={}",
                x11.unwrap_or_else(|| "(unset)".into()),
                wayland.unwrap_or_else(|| "(unset)".into()),
                backend.unwrap_or_else(|| "(unset)".into())
            ),
        };
        StartError::NoDisplay(format!(
            "cannot open a window: GTK found no display it could use ({seen}). Fix: start Spotoken from your \
             desktop session (or set DISPLAY / WAYLAND_DISPLAY to it, and unset a GDK_BACKEND that names \
             another one); on a machine without a desktop use the `spotoken` command line, e.g. \
             `spotoken login --no-browser`."
        ))
    })
}

/// Runs the app. `--tray` starts with no window.
pub fn run() -> Result<(), StartError> {
    let _ = STARTED.set(Instant::now());
    // First, while this is the only thread.
    rendering::software_only();
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "spotoken_core=info,spotoken_app=info".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    #[cfg(target_os = "linux")]
    check_display()?;
    // A person is at the window: the keychain may ask them to unlock it.
    let engine = Engine::from_env().map_err(|e| StartError::Other(e.diagnose().to_string()))?;
    let engine = Arc::new(engine.with_interactive_keychain());
    let start_in_tray = std::env::args().any(|a| a == "--tray");
    let context = tauri::generate_context!();
    #[cfg(target_os = "linux")]
    let restarted = tray_only::restarted(&context.config().identifier);

    let app = tauri::Builder::default()
        // First, so a second launch hands its arguments (a spotoken:// URL) over and exits.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            if !argv.iter().any(|a| a.starts_with("spotoken:")) {
                let _ = window::show(app);
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(ipc::handler())
        .setup(move |app| {
            let handle = app.handle().clone();
            let on_done = {
                let handle = handle.clone();
                Arc::new(move |outcome| shell::login_finished(&handle, outcome))
            };
            let refresher = Refresher::new(engine.clone(), DEFAULT_LEAD);
            let wake = refresher.waker();
            let deep_link_chosen = engine.settings().redirect == spotoken_core::RedirectKind::DeepLink;
            let data_dir = engine.paths().data_dir.clone();
            app.manage(Shell::new(engine.clone(), LoginFlow::new(engine, login_timeout(), on_done), wake));
            app.manage(deep_link::SelfTest::default());
            // The window first: WebKit starts its processes while the rest is set up.
            if !start_in_tray {
                window::show(&handle)?;
            }
            // Desktop entries are kept up to date once the window has painted.
            let entries = handle.clone();
            window::after_first_paint(move || {
                if deep_link_chosen {
                    deep_link::register_in_background(&entries, data_dir.clone());
                }
                autostart::refresh_in_background(data_dir);
            });

            // A refreshed token being stored finishes before SIGTERM or SIGINT ends the app.
            tauri::async_runtime::spawn(async { spotoken_core::shutdown::install() });
            tray::create(&handle)?;
            #[cfg(target_os = "linux")]
            if restarted {
                tray_only::restore(&handle);
            }
            anomalies::watch(&handle);
            anomalies::notify_new(&handle);
            // One signal, two views: the tray and the window redraw whenever the shell
            // says something changed (neither knows the other).
            let mut changes = app.state::<Shell>().subscribe();
            let views = handle.clone();
            tauri::async_runtime::spawn(async move {
                while changes.changed().await.is_ok() {
                    redraw(&views);
                }
            });
            let events = handle.clone();
            tauri::async_runtime::spawn(refresher.run(move |event| on_refresh_event(&events, event)));
            // The app serves programs on the agent's socket too, unless a `spotoken agent`
            // (or another instance) already does: one listener, one refresher's record.
            #[cfg(unix)]
            {
                let engine = app.state::<Shell>().engine().clone();
                tauri::async_runtime::spawn(async move {
                    let socket = spotoken_core::agent::socket_path(engine.paths());
                    match spotoken_core::agent::listen(&socket) {
                        Ok(listening) => {
                            tracing::info!(socket = %listening.path().display(), "serving tokens on the agent's socket");
                            listening.serve(engine).await;
                        }
                        Err(e) => tracing::info!(error = %e, "not serving the agent's socket"),
                    }
                });
            }

            let links = handle.clone();
            app.deep_link().on_open_url(move |event| shell::deliver_links(&links, event.urls()));
            // A cold start carrying a URL: no login can be waiting for it, but say so.
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                shell::deliver_links(&handle, urls);
            }
            Ok(())
        })
        .build(context)
        .map_err(|e| StartError::Other(format!("cannot start the app: {e}")))?;

    app.run(|app, event| {
        // The tray-only restart is Linux's: it gives back what WebKitGTK keeps in a process
        // that has shown a web view (see tray_only.rs). WebView2 (Windows) and WKWebView
        // (macOS) run the page in processes of their own; what the app keeps after a close
        // there has not been measured, so nothing is restarted.
        #[cfg(not(target_os = "linux"))]
        let _ = app;
        match event {
            // Closing the window leaves the app in the tray; only Quit (exit with a code) ends it.
            RunEvent::ExitRequested { api, code: None, .. } => api.prevent_exit(),
            #[cfg(target_os = "linux")]
            RunEvent::WindowEvent { label, event: tauri::WindowEvent::Destroyed, .. } if label == window::LABEL => {
                tray_only::window_closed(app);
            }
            // The settings portal's colour scheme changed (tao watches it).
            #[cfg(target_os = "linux")]
            RunEvent::WindowEvent { event: tauri::WindowEvent::ThemeChanged(_), .. } => appearance::changed(app),
            _ => {}
        }
    });
    Ok(())
}

/// Redraws the tray and the window, and notifies anomalies not yet notified.
fn redraw<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    tray::update(app);
    anomalies::notify_new(app);
    if let Ok(overview) = app.state::<Shell>().overview() {
        let _ = crate::events::emit_overview(app, &overview);
    }
}

fn on_refresh_event<R: tauri::Runtime>(app: &tauri::AppHandle<R>, event: RefreshEvent) {
    match &event {
        RefreshEvent::NeedsSignIn { name, diagnosis, .. } => {
            shell::notify(app, &format!("{name} needs to sign in again"), &diagnosis.message);
        }
        RefreshEvent::RefreshTokenEnding { name, seconds_left, .. } => {
            let days = seconds_left / 86_400;
            shell::notify(
                app,
                &format!("{name}: sign in again soon"),
                &format!(
                    "Spotify ends this sign-in in {days} days ({} months after you authorized). Log in again before then.",
                    spotoken_core::store::accounts::REFRESH_TOKEN_MONTHS
                ),
            );
        }
        RefreshEvent::Refreshed { .. } | RefreshEvent::Failed { .. } => {}
    }
    let _ = shell::changed(app);
}
