//! The one window. It is created on demand and destroyed when closed, so an app that
//! lives in the tray holds no web view (WebKit's web process exits with it).

use crate::ui_types::{Diagnosis, Page};
use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

pub const LABEL: &str = "main";

/// When the window was last created, for the first-paint figure: a window opened from
/// the tray long after start is timed from its own creation.
static CREATED: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);

/// Work held back until the window's first paint, so it does not take the CPU from
/// WebKit's start (on two cores a `xdg-mime` run is felt); `None` once it has run.
type Deferred = Vec<Box<dyn FnOnce() + Send>>;
static AFTER_FIRST_PAINT: std::sync::Mutex<Option<Deferred>> = std::sync::Mutex::new(Some(Vec::new()));

/// Runs `work` after the first window's first paint, or now when no window is opening
/// (a start in the tray) or it has painted already.
pub fn after_first_paint(work: impl FnOnce() + Send + 'static) {
    let opening = CREATED.lock().unwrap_or_else(|p| p.into_inner()).is_some();
    let mut queue = AFTER_FIRST_PAINT.lock().unwrap_or_else(|p| p.into_inner());
    match queue.as_mut() {
        Some(queue) if opening => queue.push(Box::new(work)),
        _ => {
            drop(queue);
            work();
        }
    }
}

fn run_deferred() {
    let work = AFTER_FIRST_PAINT.lock().unwrap_or_else(|p| p.into_inner()).take();
    for work in work.into_iter().flatten() {
        work();
    }
}

/// Shows the window, creating it if needed. A new window stays hidden until the UI
/// says it has painted (`ui_ready`), so it never flashes blank.
pub fn show<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    open(app, None)
}

/// Shows the window at `page`.
pub fn open<R: Runtime>(app: &AppHandle<R>, page: Option<Page>) -> tauri::Result<()> {
    if let Some(window) = app.get_webview_window(LABEL) {
        if let Some(page) = page {
            crate::events::emit_navigate(&window, &page)?;
        }
        window.unminimize()?;
        window.show()?;
        return window.set_focus();
    }
    let path = match page {
        Some(Page::Login) => "index.html#login",
        Some(Page::Activity) => "index.html#activity",
        None => "index.html",
    };
    *CREATED.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
    let window = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App(path.into()))
        .title("Spotoken")
        .initialization_script(crate::appearance::first_script(app))
        .inner_size(1000.0, 760.0)
        .min_inner_size(520.0, 480.0)
        .decorations(!compositor_draws_title_bars())
        .visible(false)
        .build()?;
    #[cfg(not(target_os = "linux"))]
    let _ = window;
    // A form and a few cards need no GPU compositing; without it WebKit's web process is
    // tens of MB smaller (measured by scripts/bench-app; see rendering.rs). Nor a
    // browser's page caches: the app loads one local page.
    #[cfg(target_os = "linux")]
    window.with_webview(|webview| {
        use webkit2gtk::{CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt};
        if let Some(settings) = webview.inner().settings()
            && !crate::rendering::gpu_allowed()
        {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
        if let Some(context) = webview.inner().context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    })?;
    tracing::info!("window created");
    // Should the UI never report in, show the window anyway rather than nothing at all.
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        if let Some(window) = app.get_webview_window(LABEL)
            && !window.is_visible().unwrap_or(true)
        {
            tracing::warn!("the UI did not report ready within 3 s; showing the window");
            let _ = window.show();
        }
        run_deferred();
    });
    Ok(())
}

/// Tiling Wayland compositors (sway, Hyprland, river…) give every window their own
/// title bar or none; GTK's drawn one would be a second. GNOME and KDE keep GTK's.
fn compositor_draws_title_bars() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let on_wayland = !var("WAYLAND_DISPLAY").is_empty() && !var("GDK_BACKEND").starts_with("x11");
    let desktop = var("XDG_CURRENT_DESKTOP").to_ascii_lowercase();
    let tiling = ["sway", "hyprland", "river", "niri", "wayfire", "labwc"];
    on_wayland
        && (!var("SWAYSOCK").is_empty()
            || !var("HYPRLAND_INSTANCE_SIGNATURE").is_empty()
            || desktop.split(':').any(|d| tiling.contains(&d)))
}

pub fn reveal<R: Runtime>(window: &WebviewWindow<R>) -> Result<(), Diagnosis> {
    if let Some(created) = CREATED.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let since_start = crate::STARTED.get().map(|s| s.elapsed().as_millis() as u64);
        tracing::info!(ms = created.elapsed().as_millis() as u64, since_start, "first paint");
    }
    run_deferred();
    window.show().and_then(|()| window.set_focus()).map_err(|e| {
        Diagnosis::new(
            spotoken_core::Code::WindowError,
            format!("The window could not be shown ({e})."),
            "Open Spotoken again from the tray.",
        )
    })
}
