//! Linux: `$XDG_CONFIG_HOME/autostart/spotoken.desktop`.

use crate::desktop_entry::{self, HandlerPaths};
use std::path::Path;

fn paths(data_dir: &Path) -> Result<HandlerPaths, String> {
    HandlerPaths::new(data_dir).ok_or_else(|| "no home folder".to_string())
}

pub fn enabled(data_dir: &Path) -> Option<bool> {
    HandlerPaths::new(data_dir).map(|p| desktop_entry::autostart_program(&p).is_some())
}

pub fn set(data_dir: &Path, binary: &Path, on: bool) -> Result<(), String> {
    desktop_entry::set_autostart(&paths(data_dir)?, binary, on).map_err(|e| e.0)
}

pub fn refresh(data_dir: &Path, binary: &Path) -> Result<(), String> {
    desktop_entry::refresh_autostart(&paths(data_dir)?, binary).map_err(|e| e.0)
}
