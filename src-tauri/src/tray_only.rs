//! Back to a small tray-only process after the window closes.
//!
//! Once a web view has run, WebKit keeps its network process and tens of MB in this
//! process for as long as it lives, and a tray app lives for weeks. So a few seconds
//! after the window closes, once nothing would be lost, the app replaces itself (exec:
//! same PID, same arguments plus `--tray`) with a fresh copy that never started WebKit
//! (scripts/bench-app: about 55 MB instead of 135).
//!
//! It waits while a sign-in or a program's request is waiting, while a token is being
//! exchanged or refreshed ([`spotoken_core::shutdown::quiesce`]), while a copied token
//! is on the clipboard (it lives in this process until cleared). What the person would
//! otherwise miss is carried over: the notice not yet seen, and text we put on the
//! clipboard that is still there. Other children (a browser started from `$BROWSER`)
//! stay children of the new image, which reaps them when they end.
//! `SPOTOKEN_TRAY_RESTART_SECS` sets the delay; `off` keeps the process as it is.

use crate::shell::Shell;
use crate::ui_types::Diagnosis;
use spotoken_core::shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tauri::{AppHandle, Manager, Runtime};

const DELAY_VAR: &str = "SPOTOKEN_TRAY_RESTART_SECS";
const DEFAULT_DELAY: Duration = Duration::from_secs(5);
/// How often a restart held back by something in progress is tried again.
const RETRY: Duration = Duration::from_secs(5);
/// Set in the restarted process.
const RESTARTED_VAR: &str = "SPOTOKEN_RESTARTED";
const NOTICE_VAR: &str = "SPOTOKEN_CARRIED_NOTICE";
const CLIPBOARD_VAR: &str = "SPOTOKEN_CARRIED_CLIPBOARD";
const CHILDREN_VAR: &str = "SPOTOKEN_INHERITED_CHILDREN";

static WAITING: AtomicBool = AtomicBool::new(false);

/// The delay after a close, `None` when restarts are off.
fn delay() -> Option<Duration> {
    match std::env::var(DELAY_VAR) {
        Ok(v) if v.trim().eq_ignore_ascii_case("off") => None,
        Ok(v) => Some(v.trim().parse::<u64>().map_or(DEFAULT_DELAY, Duration::from_secs)),
        Err(_) => Some(DEFAULT_DELAY),
    }
}

/// The window closed: restart tray-only when nothing would be lost.
pub fn window_closed<R: Runtime>(app: &AppHandle<R>) {
    let Some(delay) = delay() else { return };
    if WAITING.swap(true, Ordering::SeqCst) {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(delay).await;
        let mut said = None;
        loop {
            if app.get_webview_window(crate::window::LABEL).is_some() {
                break; // Opened again: its next close starts over.
            }
            match held_back(&app) {
                Ok((quiet, clipboard)) => {
                    let error = restart(&app, quiet, clipboard);
                    tracing::warn!(%error, "could not restart as a tray-only process; staying as is");
                    break;
                }
                Err(why) => {
                    if said != Some(why.clone()) {
                        tracing::info!(%why, "restarting as a tray-only process once this is done");
                        said = Some(why);
                    }
                }
            }
            tokio::time::sleep(RETRY).await;
        }
        WAITING.store(false, Ordering::SeqCst);
    });
}

/// Why not now, or the quiet that lets the restart go ahead and what of ours the
/// clipboard holds (read once: reading it is a round trip to its owner, this process).
fn held_back<R: Runtime>(app: &AppHandle<R>) -> Result<(shutdown::Quiet, crate::clipboard::Holding), String> {
    let shell = app.state::<Shell>();
    if shell.login().pending().is_some() {
        return Err("a sign-in is waiting for Spotify".into());
    }
    if !shell.engine().activity().pending_requests(shell.engine().clock().now()).is_empty() {
        return Err("a program is waiting for an answer".into());
    }
    let clipboard = crate::clipboard::holding(app);
    if clipboard == crate::clipboard::Holding::Token {
        return Err("a copied token is on the clipboard until it is cleared".into());
    }
    let quiet = shutdown::quiesce().ok_or_else(|| "a token is being exchanged or refreshed".to_string())?;
    Ok((quiet, clipboard))
}

fn is_webkit(name: &str) -> bool {
    name.starts_with("WebKit")
}

/// This process's children: (pid, name).
fn children() -> Vec<(i32, String)> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| {
            let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (name) state ppid …; the name may hold spaces and parentheses.
            let (head, tail) = stat.rsplit_once(')')?;
            let name = head.split_once('(')?.1.to_string();
            let ppid = tail.split_whitespace().nth(1)?;
            (ppid == me).then_some((pid, name))
        })
        .collect()
}

/// Ends WebKit's helpers (so none is left a zombie of the new image), then replaces
/// this process. Returns only when the exec failed.
fn restart<R: Runtime>(
    app: &AppHandle<R>,
    quiet: shutdown::Quiet,
    clipboard: crate::clipboard::Holding,
) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let shell = app.state::<Shell>();
    let mut command = std::process::Command::new(executable());
    command.args(restart_args(std::env::args().skip(1))).env(RESTARTED_VAR, "1");
    // The new process sets its rendering variables itself (and so knows them as its own).
    crate::rendering::withhold(&mut command);
    match shell.notice().and_then(|n| serde_json::to_string(&n).ok()) {
        Some(notice) => command.env(NOTICE_VAR, notice),
        None => command.env_remove(NOTICE_VAR),
    };
    match clipboard {
        crate::clipboard::Holding::Text(text) => command.env(CLIPBOARD_VAR, text),
        _ => command.env_remove(CLIPBOARD_VAR),
    };
    end_webkit_helpers();
    let others: Vec<String> = children().into_iter().map(|(pid, _)| pid.to_string()).collect();
    command.env(CHILDREN_VAR, others.join(","));
    close_on_exec();
    tracing::info!("the window is closed: restarting as a tray-only process");
    let error = command.exec();
    drop(quiet);
    error
}

/// The binary as installed now (an upgrade may have replaced it), else this image.
fn executable() -> std::path::PathBuf {
    std::env::current_exe().ok().filter(|p| p.is_file()).unwrap_or_else(|| std::path::PathBuf::from("/proc/self/exe"))
}

/// The arguments for the restart: as given, without a `spotoken:` link (delivered
/// already), with `--tray` once.
fn restart_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut kept: Vec<String> = args.filter(|a| !a.starts_with("spotoken:") && a != "--tray").collect();
    kept.push("--tray".into());
    kept
}

fn end_webkit_helpers() {
    use nix::sys::signal::{Signal, kill};
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use nix::unistd::Pid;
    let helpers: Vec<Pid> =
        children().into_iter().filter(|(_, name)| is_webkit(name)).map(|(pid, _)| Pid::from_raw(pid)).collect();
    for &pid in &helpers {
        let _ = kill(pid, Signal::SIGTERM);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    for &pid in &helpers {
        // GLib may reap it first (then ECHILD): either way it is gone.
        while let Ok(WaitStatus::StillAlive) = waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            if std::time::Instant::now() > deadline {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Libraries (WebKit's memory monitor, GTK) open descriptors without close-on-exec:
/// each restart would inherit them, one more set each time. All but stdin, stdout and
/// stderr are marked close-on-exec first.
fn close_on_exec() {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return };
    let fds: Vec<i32> = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    for fd in fds.into_iter().filter(|&fd| fd > 2) {
        let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    }
}

/// In a restarted process: whether this is one, after the previous image's
/// single-instance name is gone (else the plugin would take this for a second launch).
pub fn restarted(identifier: &str) -> bool {
    if std::env::var_os(RESTARTED_VAR).is_none() {
        return false;
    }
    let name = format!("{identifier}.SingleInstance");
    if let Ok(bus) = dbus::blocking::Connection::new_session() {
        let proxy = bus.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", Duration::from_millis(500));
        for _ in 0..100 {
            let owned: Result<(bool,), _> = proxy.method_call("org.freedesktop.DBus", "NameHasOwner", (&name,));
            if !matches!(owned, Ok((true,))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    true
}

/// In a restarted process: puts back what the previous image carried over.
pub fn restore<R: Runtime>(app: &AppHandle<R>) {
    if let Some(notice) = std::env::var(NOTICE_VAR).ok().and_then(|n| serde_json::from_str::<Diagnosis>(&n).ok()) {
        app.state::<Shell>().set_notice(Some(notice));
    }
    if let Ok(text) = std::env::var(CLIPBOARD_VAR)
        && let Err(e) = crate::clipboard::copy_text(app, text)
    {
        tracing::warn!(error = %e.message, "could not put the copied text back on the clipboard");
    }
    let inherited = std::env::var(CHILDREN_VAR).unwrap_or_default();
    for pid in inherited.split(',').filter_map(|p| p.parse().ok()).map(nix::unistd::Pid::from_raw) {
        std::thread::spawn(move || nix::sys::wait::waitpid(pid, None));
    }
    tracing::info!("restarted as a tray-only process");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_keeps_the_arguments_drops_links_and_adds_tray_once() {
        let args = |a: &[&str]| restart_args(a.iter().map(|s| s.to_string()));
        assert_eq!(args(&[]), ["--tray"]);
        assert_eq!(args(&["--tray"]), ["--tray"]);
        assert_eq!(args(&["spotoken://callback?code=x&state=y", "--verbose"]), ["--verbose", "--tray"]);
    }

    #[test]
    fn children_lists_a_child_with_its_name() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let found = children();
        let _ = child.kill();
        let _ = child.wait();
        let pid = i32::try_from(child.id()).unwrap();
        assert!(found.contains(&(pid, "sleep".to_string())), "{found:?}");
    }
}
