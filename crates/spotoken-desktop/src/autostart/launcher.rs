//! Windows (the `Run` key) and macOS (a LaunchAgent), through `auto-launch`.

use auto_launch::{AutoLaunch, AutoLaunchBuilder};
use std::path::Path;

/// The name of the `Run` value and of the LaunchAgent (`Spotoken.plist`).
const NAME: &str = "Spotoken";

fn launcher(binary: &Path) -> Result<AutoLaunch, String> {
    let mut builder = AutoLaunchBuilder::new();
    builder.set_app_name(NAME).set_args(&["--tray"]);
    // The Run value is one command line, the path then the arguments: quoted, so a path
    // with a space in it (`C:\Program Files\…`) is one program and not a guess. Per
    // person (HKCU), never the whole machine's (HKLM, which an administrator could write).
    #[cfg(windows)]
    builder
        .set_app_path(&format!("\"{}\"", binary.to_string_lossy()))
        .set_windows_enable_mode(auto_launch::WindowsEnableMode::CurrentUser);
    // A LaunchAgent's ProgramArguments: the path as it is.
    #[cfg(not(windows))]
    builder.set_app_path(&binary.to_string_lossy()).set_macos_launch_mode(auto_launch::MacOSLaunchMode::LaunchAgent);
    builder.build().map_err(|e| e.to_string())
}

fn this_binary() -> Result<std::path::PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot tell where the app is ({e})"))
}

pub fn enabled(_data_dir: &Path) -> Option<bool> {
    launcher(&this_binary().ok()?).ok()?.is_enabled().ok()
}

pub fn set(_data_dir: &Path, binary: &Path, on: bool) -> Result<(), String> {
    let launcher = launcher(binary)?;
    let done = if on { launcher.enable() } else { launcher.disable() };
    match done {
        Ok(()) => Ok(()),
        // Turning off what is already off.
        Err(_) if !on && launcher.is_enabled().is_ok_and(|e| !e) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

pub fn refresh(data_dir: &Path, binary: &Path) -> Result<(), String> {
    // The value names the binary: writing it again points it here.
    if enabled(data_dir) == Some(true) { set(data_dir, binary, true) } else { Ok(()) }
}

#[cfg(all(test, windows))]
mod tests {
    use super::*;

    /// The `Run` value as `reg.exe` shows it, if there is one.
    fn run_value() -> Option<String> {
        let out = std::process::Command::new("reg")
            .args(["query", r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run", "/v", NAME])
            .output()
            .unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    // It changes the person's login items: run by scripts/check-platforms in a Wine
    // prefix of its own (`--include-ignored`), never by a plain `cargo test` on Windows.
    #[test]
    #[ignore = "changes the login items of whoever runs it: scripts/check-platforms runs it under Wine"]
    fn starting_at_login_is_the_run_key_and_follows_the_binary() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old place").join("spotoken-app.exe");
        let new = dir.path().join("spotoken-app.exe");
        set(dir.path(), &old, false).unwrap();
        assert_eq!(enabled(dir.path()), Some(false));
        assert_eq!(run_value(), None);

        set(dir.path(), &old, true).unwrap();
        assert_eq!(enabled(dir.path()), Some(true));
        let value = run_value().expect("a Run value");
        assert!(value.contains(&format!("\"{}\" --tray", old.to_string_lossy())), "quoted, with --tray: {value}");

        refresh(dir.path(), &new).unwrap();
        let value = run_value().expect("a Run value");
        assert!(value.contains(&*new.to_string_lossy()) && !value.contains("old place"), "{value}");

        set(dir.path(), &new, false).unwrap();
        assert_eq!(enabled(dir.path()), Some(false));
        assert_eq!(run_value(), None);
        // Off twice is still off, not an error.
        set(dir.path(), &new, false).unwrap();
    }
}
