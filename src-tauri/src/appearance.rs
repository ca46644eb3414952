//! Light or dark, as the desktop says.
//!
//! WebKitGTK's `prefers-color-scheme` does not follow the desktop in this window: with
//! the rendering settings of `rendering.rs` it stays light whatever the GTK theme is. So
//! the app reads the desktop's choice itself: the page's first script sets it before
//! anything is drawn ([`first_script`]), the page then asks once more (`appearance`, which
//! also knows the settings portal's view through the window) and hears of every change
//! (the `appearance` event). On Windows and macOS the web view's own
//! `prefers-color-scheme` follows the system, and the page uses it (no script, and
//! `None` from the command).

use crate::ui_types::Theme;
use tauri::{AppHandle, Manager, Runtime, WebviewWindow};

/// The desktop's theme, where the page cannot see it itself. On the main thread (a
/// synchronous command): GTK's settings live there.
pub fn current<R: Runtime>(window: &WebviewWindow<R>) -> Option<Theme> {
    #[cfg(target_os = "linux")]
    {
        watch(window.app_handle());
        let portal_dark = matches!(window.theme(), Ok(tauri::Theme::Dark));
        Some(if portal_dark { Theme::Dark } else { gtk_theme() })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = window;
        None
    }
}

/// The page's first script, run before any of its own: the desktop's theme set on the
/// root element, so the first paint is in the right colours without a round trip to
/// the app first. Empty where the page decides itself (not Linux), or when called off
/// GTK's thread (the page then asks with `appearance`).
pub fn first_script<R: Runtime>(app: &AppHandle<R>) -> String {
    #[cfg(target_os = "linux")]
    if gtk::is_initialized_main_thread() {
        watch(app);
        let theme = serde_json::to_string(&gtk_theme()).unwrap_or_else(|_| "\"light\"".into());
        return format!("document.documentElement.dataset.theme = {theme};");
    }
    let _ = app;
    String::new()
}

/// Whether a GTK theme name, as `GTK_THEME` or `gtk-theme-name` give it, is a dark one:
/// `Adwaita:dark` (a theme and its variant), `Adwaita-dark`, `Yaru-dark`, `Breeze-Dark`.
pub fn is_dark_theme_name(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    let (theme, variant) = name.split_once(':').unwrap_or((&name, ""));
    variant == "dark" || theme.ends_with("-dark") || theme.ends_with("_dark") || theme.ends_with(" dark")
}

/// The theme GTK's own signs give: dark for `GTK_THEME`, the application-prefers-dark
/// setting (which XSETTINGS, the settings portal or settings.ini set), or a dark theme's
/// name.
#[cfg(target_os = "linux")]
fn gtk_theme() -> Theme {
    use gtk::prelude::GtkSettingsExt;
    let dark = match std::env::var("GTK_THEME") {
        Ok(forced) if !forced.trim().is_empty() => is_dark_theme_name(&forced),
        _ => gtk::Settings::default().is_some_and(|settings| {
            settings.is_gtk_application_prefer_dark_theme()
                || settings.gtk_theme_name().is_some_and(|name| is_dark_theme_name(&name))
        }),
    };
    if dark { Theme::Dark } else { Theme::Light }
}

/// Tells the window whenever GTK's theme settings change (the settings portal's changes
/// reach `changed` through the window's theme event). Connected once per process.
#[cfg(target_os = "linux")]
fn watch<R: Runtime>(app: &AppHandle<R>) {
    use gtk::glib::object::ObjectExt;
    static WATCHING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if WATCHING.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let Some(settings) = gtk::Settings::default() else { return };
    for property in ["gtk-theme-name", "gtk-application-prefer-dark-theme"] {
        let app = app.clone();
        settings.connect_notify_local(Some(property), move |_, _| changed(&app));
    }
}

/// Sends the window (every window there is) the theme it should show now.
pub fn changed<R: Runtime>(app: &AppHandle<R>) {
    for window in app.webview_windows().values() {
        if let Some(theme) = current(window) {
            tracing::debug!(?theme, "the desktop's theme changed");
            let _ = crate::events::emit_appearance(window, &theme);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_dark_theme_name;

    #[test]
    fn dark_themes_are_known_by_their_names() {
        for dark in ["Adwaita:dark", "Adwaita-dark", "Yaru-dark", "Breeze-Dark", "Arc-Dark", " adwaita:DARK "] {
            assert!(is_dark_theme_name(dark), "{dark}");
        }
        for light in ["Adwaita", "Adwaita:light", "Yaru", "Breeze", "Darkroom", "HighContrast", ""] {
            assert!(!is_dark_theme_name(light), "{light}");
        }
    }
}
