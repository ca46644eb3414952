//! Starting Spotoken in the tray when the person logs in, through the engine's
//! [`spotoken_desktop::autostart`] (an XDG autostart entry on Linux, the `Run`
//! key on Windows, a LaunchAgent on macOS).

use crate::ui_types::Diagnosis;
use spotoken_desktop::autostart;
use std::path::{Path, PathBuf};

/// Whether Spotoken starts at login; `None` where that cannot be told. `data_dir`:
/// Spotoken's data folder (where a symlink to a binary whose path needs quoting goes).
pub fn enabled(data_dir: &Path) -> Option<bool> {
    autostart::enabled(data_dir)
}

pub fn set(data_dir: &Path, on: bool) -> Result<(), Diagnosis> {
    let failed = |why: String| {
        Diagnosis::new(
            spotoken_core::Code::AutostartError,
            format!("Spotoken could not change whether it starts at login ({why})."),
            "Check that your config folder is writable, then try again.",
        )
    };
    let binary = std::env::current_exe().map_err(|e| failed(e.to_string()))?;
    autostart::set(data_dir, &binary, on).map_err(failed)
}

/// At start: an entry that names a binary that moved is re-pointed at this one.
pub fn refresh_in_background(data_dir: PathBuf) {
    tauri::async_runtime::spawn_blocking(move || {
        let Ok(binary) = std::env::current_exe() else { return };
        if let Err(why) = autostart::refresh(&data_dir, &binary) {
            tracing::warn!(%why, "could not update the autostart entry");
        }
    });
}
