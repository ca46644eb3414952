//! What only the desktop app needs, kept out of the engine and still free of Tauri, so
//! it is tested (and mutation-tested) as fast as the engine:
//! - [`desktop_entry`]: the `spotoken://` handler's and the autostart's XDG desktop
//!   entries (Linux), registered with xdg-mime as a person's desktop would;
//! - [`autostart`]: starting in the tray at login, a file per OS;
//! - [`menu`]: the tray menu's model, drawn by the app's `tray.rs`.

pub mod autostart;
pub mod desktop_entry;
pub mod menu;
