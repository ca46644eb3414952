//! Starting Spotoken in the tray when the person logs in: on Linux the XDG autostart
//! entry of [`crate::desktop_entry`] (which GNOME, KDE, Xfce and `dex` run); on Windows
//! a value under `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`; on macOS a
//! LaunchAgent in `~/Library/LaunchAgents` (both through the `auto-launch` crate, which
//! tauri-plugin-autostart uses for them too). Each starts `BINARY --tray`.

use std::path::Path;

#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod os;
#[cfg(not(target_os = "linux"))]
#[path = "launcher.rs"]
mod os;

/// Whether Spotoken starts at login; `None` when that cannot be told (no home folder).
pub fn enabled(data_dir: &Path) -> Option<bool> {
    os::enabled(data_dir)
}

/// Makes `binary` start in the tray at login, or stops it. The error is a reason.
pub fn set(data_dir: &Path, binary: &Path, on: bool) -> Result<(), String> {
    os::set(data_dir, binary, on)
}

/// When starting at login is on and names another binary (a reinstall, a new build
/// folder), points it at `binary`.
pub fn refresh(data_dir: &Path, binary: &Path) -> Result<(), String> {
    os::refresh(data_dir, binary)
}
