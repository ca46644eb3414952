//! `spotoken://` links: registering this binary as their handler, handing each link
//! that arrives to the pending login, and the self-test that proves the desktop hands
//! them back.
//!
//! The self-test goes the way a browser's redirect goes: `xdg-open` (macOS `open`) on a
//! `spotoken://self-test?nonce=…` link, which the desktop turns into a second launch of
//! the app, which single-instance hands to this one. Nothing shorter would prove it.

use crate::ui_types::LinkCheck;
use spotoken_core::secret::RedirectAddress;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::oneshot;

/// How long the self-test waits for its link to come back.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
const SELF_TEST_HOST: &str = "self-test";

/// The self-test waiting for its link, if one is.
#[derive(Debug, Default)]
pub struct SelfTest {
    waiting: Mutex<Option<(String, oneshot::Sender<()>)>>,
}

/// Hands each self-test link to the self-test waiting for it, and gives back the others
/// (a login's redirect, for the pending login), each wrapped at once: its query carries
/// the code and the state.
pub fn sort<R: Runtime>(app: &AppHandle<R>, urls: Vec<tauri::Url>) -> Vec<RedirectAddress> {
    let mut for_the_login = Vec::new();
    for url in urls {
        if url.host_str() == Some(SELF_TEST_HOST) {
            self_test_arrived(app, &url);
        } else {
            for_the_login.push(RedirectAddress::of(String::from(url)));
        }
    }
    for_the_login
}

fn self_test_arrived<R: Runtime>(app: &AppHandle<R>, url: &tauri::Url) {
    let nonce = url.query_pairs().find(|(k, _)| k == "nonce").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let test = app.state::<SelfTest>();
    let mut waiting = test.waiting.lock().unwrap_or_else(|p| p.into_inner());
    match waiting.take() {
        Some((expected, done)) if expected == nonce => {
            tracing::info!("deep-link self-test came back");
            let _ = done.send(());
        }
        other => {
            *waiting = other;
            tracing::warn!("a self-test link arrived that no self-test is waiting for");
        }
    }
}

/// Makes the desktop hand `spotoken://` to this binary: on Linux the handler entry of
/// [`spotoken_desktop::desktop_entry`] (re-pointed when the binary has moved); on Windows the
/// plugin's registry keys; on macOS the app bundle declares it.
/// `data_dir`: Spotoken's data folder (where a symlink to a binary whose path needs
/// quoting goes).
pub fn register<R: Runtime>(app: &AppHandle<R>, data_dir: &Path) -> Result<(), String> {
    // Each platform needs one of them: Linux the folder, Windows the plugin.
    let _ = (app, data_dir);
    #[cfg(target_os = "linux")]
    {
        use spotoken_desktop::desktop_entry::{HandlerPaths, register};
        let paths = HandlerPaths::new(data_dir).ok_or("no home folder")?;
        let binary = std::env::current_exe().map_err(|e| format!("cannot tell where the app is ({e})"))?;
        let done = register(&paths, &binary).map_err(|e| e.0)?;
        if !done.generic_safe {
            tracing::warn!(
                "the app's path needs quoting: GNOME and KDE follow spotoken:// links, plain xdg-open may not"
            );
        }
        Ok(())
    }
    #[cfg(windows)]
    {
        use tauri_plugin_deep_link::DeepLinkExt;
        app.deep_link().register_all().map_err(|e| e.to_string())
    }
    #[cfg(not(any(target_os = "linux", windows)))]
    {
        Ok(())
    }
}

/// Registers in the background, for a start with the deep link chosen: a binary that
/// moved (a new build folder, a reinstall) gets its links back.
pub fn register_in_background<R: Runtime>(app: &AppHandle<R>, data_dir: PathBuf) {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        if let Err(why) = register(&app, &data_dir) {
            tracing::warn!(%why, "could not register spotoken://; the loopback redirect still works");
        }
    });
}

/// Registers, sends a self-test link through the desktop, and says within
/// [`CHECK_TIMEOUT`] whether it came back.
pub async fn check<R: Runtime>(app: &AppHandle<R>, data_dir: PathBuf) -> LinkCheck {
    let registering = {
        let app = app.clone();
        tauri::async_runtime::spawn_blocking(move || register(&app, &data_dir))
    };
    let registered = match tokio::time::timeout(CHECK_TIMEOUT, registering).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("registering took too long".into()),
    };
    if let Err(why) = registered {
        return LinkCheck::failed(
            format!("Spotoken could not register itself for spotoken:// links ({why})."),
            if cfg!(target_os = "linux") {
                "Use the loopback address, or install xdg-utils and test again."
            } else {
                "Use the loopback address."
            },
            cfg!(target_os = "linux").then(spotoken_desktop::desktop_entry::default_handler_command),
        );
    }

    // Not a secret: it only tells this self-test's link from a stale one.
    let nonce = format!("{:016x}", spotoken_core::store::unpredictable());
    let (done, arrived) = oneshot::channel();
    *app.state::<SelfTest>().waiting.lock().unwrap_or_else(|p| p.into_inner()) = Some((nonce.clone(), done));
    let link = format!("spotoken://{SELF_TEST_HOST}?nonce={nonce}");
    let (opener, opener_args) = spotoken_core::browser::desktop_opener(&link);
    let started = std::time::Instant::now();
    // The desktop starts the handler with its own environment, not this window's choices.
    let mut command = std::process::Command::new(opener);
    crate::rendering::withhold(&mut command);
    let sent = tokio::process::Command::from(command)
        .args(&opener_args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(false)
        .spawn();
    let mut child = match sent {
        Ok(child) => child,
        Err(e) => {
            return LinkCheck::failed(
                format!("{opener} could not be run ({e}), so links cannot come back to Spotoken."),
                if cfg!(target_os = "linux") {
                    "Install xdg-utils, or use the loopback address."
                } else {
                    "Use the loopback address."
                },
                None,
            );
        }
    };
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, async {
        tokio::pin!(arrived);
        tokio::select! {
            // A dropped sender means another self-test replaced this one.
            came = &mut arrived => came.map_err(|_| None),
            status = child.wait() => match status {
                // The desktop ran the handler and it exited: the link may still be on its way.
                Ok(s) if s.success() => arrived.await.map_err(|_| None),
                Ok(s) => Err(s.code()),
                Err(_) => Err(None),
            },
        }
    })
    .await;
    *app.state::<SelfTest>().waiting.lock().unwrap_or_else(|p| p.into_inner()) = None;
    let command = handler_command(opener);
    match outcome {
        Ok(Ok(())) => {
            let ms = started.elapsed().as_millis();
            tracing::info!(ms = ms as u64, "deep-link self-test passed");
            LinkCheck {
                ok: true,
                message: format!("spotoken:// links come back to Spotoken (in {ms} ms)."),
                fix: String::new(),
                command: None,
            }
        }
        Ok(Err(code)) => LinkCheck::failed(
            format!(
                "Your desktop did not hand the test link to Spotoken ({opener} ended with {}).",
                code.map_or("an error".to_string(), |c| format!("exit code {c}"))
            ),
            "Use the loopback address, or make Spotoken the handler and try the link yourself:",
            Some(command.clone()),
        ),
        Err(_) => LinkCheck::failed(
            format!("The test link did not come back within {} s.", CHECK_TIMEOUT.as_secs()),
            "Use the loopback address, or make Spotoken the handler and try the link yourself:",
            Some(command),
        ),
    }
}

/// What a person runs to make Spotoken the handler and try a link themselves.
fn handler_command(opener: &str) -> String {
    let link = format!("spotoken://{SELF_TEST_HOST}");
    if cfg!(target_os = "linux") {
        format!("{}; {opener} '{link}'", spotoken_desktop::desktop_entry::default_handler_command())
    } else if cfg!(windows) {
        // Opening Settings registers the link (HKCU\Software\Classes\spotoken) again.
        format!("start \"\" \"{link}\"")
    } else {
        // macOS: only a bundled Spotoken.app declares the scheme (CFBundleURLTypes).
        format!("open -a Spotoken; open '{link}'")
    }
}
