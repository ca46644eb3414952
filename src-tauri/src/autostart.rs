//! Starting Spotoken in the tray when the person logs in (Linux: the XDG autostart
//! entry of [`spotoken_core::desktop_entry`]).

use crate::shell::Shell;
use crate::ui_types::UiError;
use tauri::{AppHandle, Manager, Runtime};

#[cfg(target_os = "linux")]
fn paths_for(engine: &spotoken_core::Engine) -> Option<spotoken_core::desktop_entry::HandlerPaths> {
    spotoken_core::desktop_entry::HandlerPaths::new(&engine.paths().data_dir)
}

#[cfg(target_os = "linux")]
fn paths<R: Runtime>(app: &AppHandle<R>) -> Option<spotoken_core::desktop_entry::HandlerPaths> {
    paths_for(&app.state::<Shell>().engine)
}

/// Whether Spotoken starts at login; `None` where the app cannot arrange it.
pub fn enabled(engine: &spotoken_core::Engine) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        paths_for(engine).map(|p| spotoken_core::desktop_entry::autostart_program(&p).is_some())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = engine;
        None
    }
}

pub fn set<R: Runtime>(app: &AppHandle<R>, on: bool) -> Result<(), UiError> {
    let failed = |why: String| {
        UiError::app(
            spotoken_core::Code::AutostartError,
            format!("Spotoken could not change whether it starts at login ({why})."),
            "Check that your config folder is writable, then try again.",
        )
    };
    #[cfg(target_os = "linux")]
    {
        let paths = paths(app).ok_or_else(|| failed("no home folder".into()))?;
        let binary = std::env::current_exe().map_err(|e| failed(e.to_string()))?;
        spotoken_core::desktop_entry::set_autostart(&paths, &binary, on).map_err(|e| failed(e.0))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (app, on);
        Err(failed("not supported on this system yet".into()))
    }
}

/// At start: an entry that names a binary that moved is re-pointed at this one.
pub fn refresh_in_background<R: Runtime>(app: &AppHandle<R>) {
    #[cfg(target_os = "linux")]
    {
        let app = app.clone();
        tauri::async_runtime::spawn_blocking(move || {
            let Some(paths) = paths(&app) else { return };
            let Ok(binary) = std::env::current_exe() else { return };
            if let Err(e) = spotoken_core::desktop_entry::refresh_autostart(&paths, &binary) {
                tracing::warn!(why = %e.0, "could not update the autostart entry");
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}
