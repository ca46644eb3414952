//! The app in the tray: the window closed, the tray-only process, autostart, no display.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn closing_the_window_leaves_the_app_in_the_tray() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("close", Some(&settings("loopback", 60))).await;
    let s = d.session().await;
    s.wait_for("[data-test=log-in-empty]", WAIT).await;
    let windows = |d: &Desktop| d.x("xdotool", &["search", "--onlyvisible", "--name", "^Spotoken$"]);
    assert!(!windows(&d).trim().is_empty());

    // Close it as its title bar's close button does: through the window manager.
    d.x("wmctrl", &["-c", "Spotoken"]);
    d.wait_until("the window to close", WAIT, || windows(&d).trim().is_empty()).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!d.x("pgrep", &["-f", support::APP]).trim().is_empty(), "the app quit when its window closed");
    d.shot(None, "tray-only").await;

    // "Open Spotoken" from the tray brings a window back.
    d.open_tray_menu();
    d.keys(&["Down", "Return"]);
    d.wait_until("the window to come back", WAIT, || !windows(&d).trim().is_empty()).await;
    d.shot(None, "reopened").await;
    s.end().await;
}

/// This process's children by name, e.g. WebKit's helpers.
fn children_of(pid: &str) -> Vec<String> {
    let out = std::process::Command::new("pgrep").args(["-l", "-P", pid]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_whitespace().nth(1)).map(String::from).collect()
}

/// What a process's descriptors point at that only a process that ran WebKit opens
/// (its memory monitor's files): after a restart, none may have been inherited.
fn webkit_descriptors(pid: &str) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|t| t.display().to_string())
        .filter(|t| t == "/proc/meminfo" || t == "/proc/zoneinfo" || t.starts_with("/sys/fs/cgroup/"))
        .collect()
}

/// The GL driver's libraries in a process's memory: the window is drawn without a GPU,
/// so neither the app nor its tray-only restart may have loaded one (rendering.rs).
fn gl_driver_mapped(pid: &str) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut found: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|path| path.contains("/dri/") || path.contains("libLLVM"))
        .map(String::from)
        .collect();
    found.dedup();
    found
}

/// A closed window leaves a small process: the app restarts itself tray-only (same
/// PID, no WebKit helpers), keeping what the person copied, and waits while a copied
/// token is on the clipboard.
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_window_leaves_a_tray_only_process_and_nothing_is_lost() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let setup = Setup {
        settings: Some(&settings("loopback", 8)),
        env: vec![("SPOTOKEN_TRAY_RESTART_SECS", "1".to_string())],
        ..Setup::default()
    };
    let d = Desktop::start_with("tray-only", setup).await;
    let s = d.session().await;
    sign_in(&s).await;
    let pid = d.x("pgrep", &["-f", support::APP]).lines().next().expect("the app's pid").to_string();
    assert!(children_of(&pid).iter().any(|c| c.starts_with("WebKit")), "{:?}", children_of(&pid));
    assert_eq!(gl_driver_mapped(&pid), Vec::<String>::new(), "the app loaded a GL driver");
    // The app's rendering choices stay its own: the browser it started did not get them.
    let browser_env = d.browser_env();
    assert!(browser_env.contains("SPOTOKEN_TEST_DIR="), "the browser's environment was not recorded");
    for name in ["GDK_GL=", "WEBKIT_DISABLE_DMABUF_RENDERER=", "WEBKIT_WEB_RENDER_DEVICE_FILE="] {
        assert!(!browser_env.lines().any(|l| l.starts_with(name)), "the browser inherited {name}");
    }
    let restarts = |d: &Desktop| d.app_log().matches("restarted as a tray-only process").count();

    // Text put on the clipboard in the window is still there after the restart.
    s.click("[data-test=nav-settings]").await;
    s.click("[data-test=copy-uri-loopback]").await;
    d.wait_until("the redirect URI on the clipboard", WAIT, || d.clipboard() == "http://127.0.0.1/callback").await;
    d.x("wmctrl", &["-c", "Spotoken"]);
    d.wait_until("the tray-only restart", WAIT, || restarts(&d) == 1).await;
    assert_eq!(d.x("pgrep", &["-f", support::APP]).lines().collect::<Vec<_>>(), [pid.as_str()]);
    assert!(!children_of(&pid).iter().any(|c| c.starts_with("WebKit")), "{:?}", children_of(&pid));
    assert_eq!(d.clipboard(), "http://127.0.0.1/callback");
    assert_eq!(webkit_descriptors(&pid), Vec::<String>::new(), "descriptors leaked into the restart");
    assert_eq!(gl_driver_mapped(&pid), Vec::<String>::new(), "the tray-only process loaded a GL driver");
    d.shot(None, "restarted").await;

    // The restarted tray copies a working token; the window comes back from it. (The
    // tray host embeds the new process's icon a moment after it starts: a click that
    // came too early is made again, as a person would.)
    for attempt in 1..=3 {
        d.open_tray_menu();
        d.keys(&["Down", "Return"]);
        let copied = || d.clipboard().starts_with("BQ");
        let started = std::time::Instant::now();
        while !copied() && started.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if copied() {
            break;
        }
        assert!(attempt < 3, "the restarted tray never copied a token");
    }
    assert_eq!(d.me_status(&d.clipboard()).await, 200);
    let windows = |d: &Desktop| d.x("xdotool", &["search", "--onlyvisible", "--name", "^Spotoken$"]);
    d.open_tray_menu();
    d.keys(&["Down", "Down", "Down", "Return"]);
    d.wait_until("the window to come back", WAIT, || !windows(&d).trim().is_empty()).await;
    d.shot(None, "reopened").await;
    assert!(children_of(&pid).iter().any(|c| c.starts_with("WebKit")));

    // Closed again while the copied token is on the clipboard: the restart waits for
    // the clear (it would take the token with it), then happens.
    d.x("wmctrl", &["-c", "Spotoken"]);
    d.wait_until("the second restart", Duration::from_secs(40), || restarts(&d) == 2).await;
    let log = d.app_log();
    let waited = log.find("once this is done why=a copied token is on the clipboard").expect("no wait for the token");
    let cleared = log.find("cleared the copied token from the clipboard").expect("the token was not cleared");
    let second = log.rfind("the window is closed: restarting as a tray-only process").unwrap();
    assert!(waited < cleared && cleared < second, "restarted before the token was cleared");
    assert_eq!(d.x("pgrep", &["-f", support::APP]).lines().collect::<Vec<_>>(), [pid.as_str()]);
    assert!(!children_of(&pid).iter().any(|c| c.starts_with("WebKit")));
    assert_eq!(webkit_descriptors(&pid), Vec::<String>::new(), "descriptors leaked into the restart");
    for secret in d.sandbox.secrets() {
        assert!(!log.contains(&secret), "a secret reached the app's log");
    }
    s.end().await;
}

/// Start at login: the Settings switch writes an XDG autostart entry, and the session's
/// autostart runner (openbox's, as on a bare window manager) starts Spotoken in the
/// tray, which refreshes a token that is about to expire without any window.
#[tokio::test(flavor = "multi_thread")]
async fn autostart_starts_the_tray_which_refreshes_in_the_background() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("autostart", Some(&settings("loopback", 60))).await;
    // Tokens that live 5 min 20 s: due for a background refresh 20 s after each one.
    d.sandbox.control(spotify_sandbox::Control { access_ttl_secs: Some(320), ..Default::default() });
    let s = d.session().await;
    sign_in(&s).await;

    s.click("[data-test=nav-settings]").await;
    assert_eq!(s.property("[data-test=autostart]", "checked").await, "false");
    s.click("[data-test=autostart]").await;
    s.click("[data-test=save-settings]").await;
    s.wait_text("[data-test=toast]", WAIT, |t| t.contains("Settings saved")).await;
    let entry_path = d.dir.path().join("config/autostart/spotoken.desktop");
    let entry = std::fs::read_to_string(&entry_path).expect("the autostart entry");
    assert!(entry.contains(&format!("\nExec={} --tray\n", support::APP)), "{entry}");
    s.click("[data-test=nav-settings]").await;
    assert_eq!(s.property("[data-test=autostart]", "checked").await, "true");
    s.end().await;

    // The person logs out. Their token is due for a refresh (5 minutes before expiry)
    // shortly after they log back in.
    support::end_app_instances(std::path::Path::new(support::APP));
    let refreshes_before = d.sandbox.token_requests("refresh_token").len();
    let before = d.keychain_entry().unwrap();

    // Logging in: the session runs the XDG autostart entries (the person's only; the
    // system's in /etc/xdg/autostart would start this machine's own services).
    let log = std::fs::File::create(d.dir.path().join("autostart.log")).unwrap();
    let runner = d
        .desktop_command("/usr/lib/x86_64-linux-gnu/openbox-xdg-autostart")
        .env("XDG_CONFIG_DIRS", d.dir.path().join("no-system-autostart"))
        .env("SPOTOKEN_ACCOUNTS_URL", d.sandbox.url())
        .env("SPOTOKEN_API_URL", d.sandbox.url())
        .env("RUST_LOG", "spotoken_core=debug,spotoken_app=debug")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .expect("openbox-xdg-autostart (openbox, python3-xdg)");
    assert!(runner.success());
    d.wait_until("a background refresh", Duration::from_secs(60), || {
        d.sandbox.token_requests("refresh_token").len() > refreshes_before
    })
    .await;
    d.wait_until("the new token in the keychain", WAIT, || d.keychain_entry().unwrap() != before).await;
    let running = d.x("pgrep", &["-af", support::APP]);
    assert!(running.contains("--tray"), "{running}");
    let windows = d.x("xdotool", &["search", "--onlyvisible", "--name", "^Spotoken$"]);
    assert!(windows.trim().is_empty(), "the autostarted app opened a window");
    // The activity record names the background refresher as the one that refreshed.
    let outcome = if d.sandbox.rotation() == spotify_sandbox::Rotation::Rotate { "rotated" } else { "omitted" };
    let record = d.dir.path().join("data/spotoken/activity");
    d.wait_until("the refresh in the activity record", WAIT, || {
        std::fs::read_dir(&record).into_iter().flatten().flatten().any(|f| {
            std::fs::read_to_string(f.path()).unwrap_or_default().lines().any(|l| {
                l.contains(r#""kind":"refresh""#)
                    && l.contains(r#""by":"app-background""#)
                    && l.contains(&format!(r#""outcome":"{outcome}""#))
            })
        })
    })
    .await;
    d.shot(None, "autostarted-in-the-tray").await;
}

/// No display GTK can use (an SSH session, a wrong GDK_BACKEND): a readable error with
/// the fix and exit code 3, not a panic.
#[tokio::test(flavor = "multi_thread")]
async fn no_display_is_a_clear_error_not_a_panic() {
    // Other tests end every instance of the app binary between them: take a turn.
    let _turn = ONE_AT_A_TIME.lock().await;
    for (display, backend) in [(Some(":239"), Some("x11")), (None, None)] {
        let mut app = std::process::Command::new(support::APP);
        app.arg("--tray").env_remove("WAYLAND_DISPLAY").env_remove("DISPLAY").env_remove("GDK_BACKEND");
        if let Some(display) = display {
            app.env("DISPLAY", display);
        }
        if let Some(backend) = backend {
            app.env("GDK_BACKEND", backend);
        }
        let out = app.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains("cannot open a window") && err.contains("Fix:"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
