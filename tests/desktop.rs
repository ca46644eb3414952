//! End-to-end tests of the desktop app, as a person uses it (see `support`).
// The app on X11 (Xvfb, openbox, trayer, WebKitWebDriver): Linux only.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;
use support::{CLIENT_ID, Desktop, ONE_AT_A_TIME, Setup};

const WAIT: Duration = Duration::from_secs(20);

/// From the empty window: Log in…, Continue in the browser (the test browser consents),
/// until the account's card shows.
async fn sign_in(s: &support::webdriver::Session) {
    s.click("[data-test=log-in-empty]").await;
    s.click("[data-test=continue-login]").await;
    s.wait_for("[data-test=account]", WAIT).await;
}

fn settings(redirect: &str, clear_secs: u64) -> String {
    format!("client_id = \"{CLIENT_ID}\"\nredirect = \"{redirect}\"\nclipboard_clear_secs = {clear_secs}\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_deep_link_login_then_refresh_reveal_copy_and_sign_out() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("first-run", None).await;
    let s = d.session().await;

    // First run: the Client ID is asked for, the redirect URIs are shown.
    s.wait_for("[data-test=setup]", WAIT).await;
    assert_eq!(s.text("[data-test=uri-loopback]").await, "http://127.0.0.1/callback");
    assert_eq!(s.text("[data-test=uri-deep-link]").await, "spotoken://callback");
    s.type_into("[data-test=client-id]", "not-a-client-id").await;
    let complaint = s.text(".bad").await;
    assert!(complaint.contains("32 hexadecimal characters"), "{complaint}");
    assert_eq!(s.attribute("[data-test=save-settings]", "disabled").await.as_deref(), Some("true"));
    d.shot(Some(&s), "first-run").await;

    // The first run tests the deep link through the desktop (xdg-open in its generic
    // mode: no desktop environment here) and, since it came back, offers it.
    let check = s.wait_text("[data-test=link-check]", WAIT, |t| !t.is_empty()).await;
    assert_eq!(s.attribute("[data-test=link-check]", "data-ok").await.as_deref(), Some("true"), "{check}");
    assert!(check.contains("come back to Spotoken"), "{check}");
    assert_eq!(s.property("[data-test=redirect-deep-link]", "checked").await, "true");
    let entry = d.handler_entry().expect("the handler entry");
    assert!(entry.contains(&format!("\nExec={} %u\n", support::APP)), "{entry}");
    assert_eq!(d.default_handler(), "spotoken-handler.desktop");
    d.shot(Some(&s), "first-run-link-checked").await;

    s.type_into("[data-test=client-id]", CLIENT_ID).await;
    s.click("[data-test=save-settings]").await;

    // Scopes, then Log in: the "browser" follows the consent page and hands the
    // spotoken:// redirect to xdg-open, which launches the registered handler.
    s.wait_for("[data-test=login-panel]", WAIT).await;
    s.click("[data-test=preset-playback]").await;
    d.shot(Some(&s), "scopes").await;
    s.click("[data-test=continue-login]").await;

    s.wait_for("[data-test=account]", WAIT).await;
    d.shot(Some(&s), "signed-in").await;
    assert_eq!(s.text("[data-test=account-name]").await, d.user.display_name);
    let countdown = s.text("[data-test=access-countdown]").await;
    assert!(countdown.starts_with("59:") || countdown.starts_with("1:00:"), "{countdown}");
    let granted = s.texts("[data-test=granted]").await;
    assert!(granted.contains(&"user-modify-playback-state".to_string()), "{granted:?}");
    assert!(granted.contains(&"user-read-private".to_string()), "{granted:?}");
    assert_eq!(d.sandbox.token_requests("authorization_code").len(), 1);
    assert!(d.keychain_entry().is_some(), "the tokens should be in the keychain");
    let log = d.app_log();
    assert!(log.contains("deep link received, state matched"), "the login should have come through the deep link");

    // The countdown ticks while the window is visible.
    let later = s.wait_text("[data-test=access-countdown]", WAIT, |t| t != countdown).await;
    assert_ne!(later, countdown);

    s.click("[data-test=refresh]").await;
    s.wait_text("[data-test=toast]", WAIT, |t| t.contains("Refreshed")).await;
    assert_eq!(d.sandbox.token_requests("refresh_token").len(), 1);

    s.click("[data-test=reveal]").await;
    let started = std::time::Instant::now();
    let revealed = loop {
        let text = s.text_content("[data-test=token]").await;
        if text.starts_with("BQ") {
            break text;
        }
        assert!(started.elapsed() < WAIT, "the token was not revealed: {text:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(d.me_status(&revealed).await, 200);
    d.shot(Some(&s), "revealed").await;

    s.click("[data-test=copy]").await;
    s.wait_text("[data-test=toast]", WAIT, |t| t.contains("Token copied")).await;
    assert_eq!(d.clipboard(), revealed, "Copy should put the same fresh token on the clipboard");
    assert_eq!(d.sandbox.token_requests("refresh_token").len(), 1, "a fresh token needs no refresh");

    s.click("[data-test=sign-out]").await;
    s.wait_text("[data-test=sign-out]", WAIT, |t| t.contains("Click again")).await;
    s.click("[data-test=sign-out]").await;
    s.wait_gone("[data-test=account]", WAIT).await;
    d.shot(Some(&s), "signed-out").await;
    assert!(d.keychain_entry().is_none(), "sign-out should delete the keychain entry");

    // Nothing secret reached the app's log.
    let log = d.app_log();
    for secret in d.sandbox.secrets() {
        assert!(!log.contains(&secret), "a secret reached the app's log");
    }
    s.end().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_login_and_the_tray_copies_a_fresh_token() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("tray", Some(&settings("loopback", 3))).await;
    let s = d.session().await;

    sign_in(&s).await;
    let page = std::fs::read_to_string(d.dir.path().join("callback-page.html")).unwrap();
    assert!(page.contains("Signed in as"), "the browser tab should say the login worked: {page}");
    assert!(d.app_log().contains("callback received, state matched"));
    d.shot(Some(&s), "signed-in-loopback").await;

    // The tray: open its menu, pick "Copy access token" (the first item that acts).
    d.open_tray_menu();
    d.shot(None, "tray-menu").await;
    d.keys(&["Down", "Return"]);
    d.wait_until("the token on the clipboard", WAIT, || d.clipboard().starts_with("BQ")).await;
    let copied = d.clipboard();
    assert_eq!(d.me_status(&copied).await, 200, "the tray should copy a working token");

    // Cleared after the configured 3 s, since it is still what the clipboard holds.
    d.wait_until("the clipboard to be cleared", WAIT, || d.clipboard() != copied).await;
    assert!(d.clipboard().is_empty());

    // The keychain entry vanishes (another tool wiped it): the tray's copy fails. With
    // no notification daemon here, the log, the tray menu and the window say so.
    let cleared = std::process::Command::new("secret-tool")
        .args(["clear", "service", "spotoken", "username", &d.user.id])
        .status()
        .unwrap();
    assert!(cleared.success());
    d.open_tray_menu();
    d.keys(&["Down", "Return"]);
    d.wait_until("the failure in the log", WAIT, || d.app_log().contains("the tray could not copy a token")).await;
    s.wait_for("[data-test=error][data-code=keychain_entry_missing]", WAIT).await;
    let said = s.text("[data-test=error][data-code=keychain_entry_missing]").await;
    assert!(said.contains("Copy from the tray failed"), "{said}");
    d.open_tray_menu();
    d.shot(None, "tray-menu-after-failed-copy").await;
    d.keys(&["Escape"]);
    // The engine's next step is a button here ("Sign in again…"), the fix's words a command in the CLI.
    let step = s.attribute("[data-test=error][data-code=keychain_entry_missing] [data-test=next-step]", "data-step");
    assert_eq!(step.await.as_deref(), Some("sign_in"));
    s.click("[data-test=error][data-code=keychain_entry_missing] button[aria-label=Dismiss]").await;
    s.wait_gone("[data-test=error][data-code=keychain_entry_missing]", WAIT).await;

    // "Log in…" in the tray opens the window at the login page.
    d.open_tray_menu();
    d.keys(&["Down", "Down", "Down", "Down", "Return"]);
    s.wait_for("[data-test=login-panel]", WAIT).await;
    d.shot(Some(&s), "login-from-tray").await;

    // The running app serves programs on the agent's socket, as `spotoken agent` does
    // (signed in again first, from the login page the tray opened: the entry was wiped
    // above), and the program is new to it.
    s.click("[data-test=continue-login]").await;
    s.wait_for("[data-test=account] [data-test=refresh]", WAIT).await;
    let served = std::process::Command::new("curl")
        .args(["-s", "--fail-with-body", "--unix-socket", d.agent_socket().to_str().unwrap(), "http://agent/v1/token"])
        .output()
        .unwrap();
    assert!(served.status.success(), "{}", String::from_utf8_lossy(&served.stdout));
    let served: serde_json::Value = serde_json::from_slice(&served.stdout).unwrap();
    assert_eq!(d.me_status(served["access_token"].as_str().unwrap()).await, 200);
    let noticed = s.wait_text("[data-test=anomaly]", WAIT, |t| t.contains("curl")).await;
    assert!(noticed.contains("for the first time"), "{noticed}");
    s.end().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deep_links_that_are_not_this_logins_are_refused() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("refused", Some(&settings("deep-link", 60))).await;
    let s = d.session().await;
    s.wait_for("[data-test=log-in-empty]", WAIT).await;

    // With no login waiting. Every link goes through the desktop's xdg-open.
    d.wait_for_handler().await;
    assert!(d.open_link("spotoken://callback?code=NOPE-CODE-1&state=NOPE-STATE-1").success());
    d.wait_until("the refusal in the log", WAIT, || d.app_log().contains("deep link refused")).await;

    // A login waiting, and a link with another state and another path. The browser
    // script is not used here: this test delivers the links itself.
    s.click("[data-test=log-in-empty]").await;
    let browser_off = std::fs::write(d.dir.path().join("browser.sh"), "#!/bin/sh\nexit 0\n");
    browser_off.unwrap();
    s.click("[data-test=continue-login]").await;
    s.wait_for("[data-test=waiting]", WAIT).await;
    assert!(d.open_link("spotoken://callback?code=NOPE-CODE-2&state=NOPE-STATE-2").success());
    assert!(d.open_link("spotoken://elsewhere?code=NOPE-CODE-3&state=NOPE-STATE-3").success());
    d.wait_until("both refusals", WAIT, || d.app_log().matches("deep link refused").count() >= 3).await;
    d.shot(Some(&s), "still-waiting").await;
    s.wait_for("[data-test=waiting]", WAIT).await;
    assert!(d.sandbox.token_requests("authorization_code").is_empty(), "a refused link must not be exchanged");

    let log = d.app_log();
    assert!(log.contains("callback_state_mismatch") && log.contains("login_not_pending"), "{log}");
    for leaked in ["NOPE-CODE", "NOPE-STATE"] {
        assert!(!log.contains(leaked), "a deep link's query reached the log");
    }
    s.click("[data-test=cancel-login]").await;
    s.wait_for("[data-test=login-panel]", WAIT).await;
    s.end().await;
}

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

/// GNOME's way (xdg-open delegates to gio, which parses Exec by the spec), from a
/// binary whose path has a space, after the binary moved: the app re-points the
/// handler at itself on start, through a bare symlink that every reader can run.
#[tokio::test(flavor = "multi_thread")]
async fn deep_link_through_gio_from_a_moved_binary_with_a_space_in_its_path() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let setup = Setup {
        settings: Some(&settings("deep-link", 60)),
        current_desktop: Some("GNOME"),
        app_copy: Some("My Apps/spotoken-app"),
        ..Setup::default()
    };
    let d = Desktop::start_with("gio", setup).await;
    // An entry left by a build that has since moved.
    let applications = d.dir.path().join("data/applications");
    std::fs::create_dir_all(&applications).unwrap();
    std::fs::write(
        applications.join("spotoken-handler.desktop"),
        "[Desktop Entry]\nType=Application\nName=Spotoken\nExec=/gone/spotoken-app %u\nMimeType=x-scheme-handler/spotoken;\n",
    )
    .unwrap();
    let s = d.session().await;
    s.wait_for("[data-test=log-in-empty]", WAIT).await;
    d.wait_until("the entry to be re-pointed", WAIT, || d.handler_entry().is_some_and(|e| !e.contains("/gone/"))).await;
    let entry = d.handler_entry().unwrap();
    let link = d.dir.path().join("data/spotoken/bin/spotoken-app");
    assert!(entry.contains(&format!("\nExec={} %u\n", link.display())), "{entry}");
    assert_eq!(std::fs::read_link(&link).unwrap(), d.app);

    // Settings → Test the link: through xdg-open → gio → the entry → this app.
    s.click("[data-test=nav-settings]").await;
    s.click("[data-test=test-link]").await;
    let check = s.wait_text("[data-test=link-check]", WAIT, |t| !t.is_empty()).await;
    assert_eq!(s.attribute("[data-test=link-check]", "data-ok").await.as_deref(), Some("true"), "{check}");
    d.shot(Some(&s), "link-tested").await;
    s.click("[data-test=nav-accounts]").await;

    sign_in(&s).await;
    assert!(d.app_log().contains("deep link received, state matched"));
    assert_eq!(d.sandbox.token_requests("authorization_code").len(), 1);
    d.shot(Some(&s), "signed-in-through-gio").await;
    s.end().await;
}

/// The waiting view strands nobody: time left, the address to copy for a browser
/// elsewhere, a field for the address that browser ended on, and a clear end.
#[tokio::test(flavor = "multi_thread")]
async fn waiting_view_copies_the_address_takes_a_pasted_one_and_says_when_time_ran_out() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let setup = Setup {
        settings: Some(&settings("loopback", 60)),
        env: vec![("SPOTOKEN_LOGIN_TIMEOUT_SECS", "15".to_string())],
        ..Setup::default()
    };
    let d = Desktop::start_with("paste", setup).await;
    // The browser here opens nothing: the person signs in on another machine.
    std::fs::write(d.dir.path().join("browser.sh"), "#!/bin/sh\nexit 0\n").unwrap();
    let s = d.session().await;
    s.click("[data-test=log-in-empty]").await;
    s.click("[data-test=continue-login]").await;
    s.wait_for("[data-test=waiting]", WAIT).await;
    let left = s.text("[data-test=time-left]").await;
    assert!(left.starts_with("0:1") && left.ends_with("left."), "{left}");

    s.click("[data-test=copy-login-address]").await;
    let address = s.text_content("[data-test=login-address]").await;
    d.wait_until("the address on the clipboard", WAIT, || d.clipboard() == address).await;
    assert!(address.contains("/authorize?") && address.contains("code_challenge="), "{address}");
    d.shot(Some(&s), "waiting").await;

    // The other machine's browser: consent, then the redirect it could not follow.
    let response = d.http.get(&address).send().await.unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let foreign = location.replace("state=", "state=x");
    s.type_into("[data-test=paste-address]", &foreign).await;
    s.click("[data-test=paste-finish]").await;
    s.wait_for("[data-test=waiting] [data-test=error][data-code=callback_state_mismatch]", WAIT).await;
    d.shot(Some(&s), "foreign-address-refused").await;
    assert!(d.sandbox.token_requests("authorization_code").is_empty());

    s.type_into("[data-test=paste-address]", &location).await;
    s.click("[data-test=paste-finish]").await;
    s.wait_for("[data-test=account]", WAIT).await;
    assert_eq!(d.sandbox.token_requests("authorization_code").len(), 1);
    assert!(d.app_log().contains("pasted address received, state matched"));
    // Single use: the loopback listener is gone with the login.
    assert!(d.http.get(&location).send().await.is_err(), "the listener outlived the login");

    // A login nobody finishes: it says so and offers to start again.
    s.click("[data-test=log-in]").await;
    s.click("[data-test=continue-login]").await;
    s.wait_for("[data-test=waiting]", WAIT).await;
    s.wait_for("[data-test=timed-out]", Duration::from_secs(30)).await;
    let said = s.text("[data-test=timed-out]").await;
    assert!(said.contains("No answer came back from Spotify within 15s"), "{said}");
    d.shot(None, "timed-out").await;
    s.click("[data-test=start-again]").await;
    s.wait_for("[data-test=waiting]", WAIT).await;
    s.click("[data-test=cancel-login]").await;
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

/// Where the link cannot come back (here: no xdg-utils, as on a minimal install), the
/// first run says so with what to do, and offers the loopback redirect instead.
#[tokio::test(flavor = "multi_thread")]
async fn first_run_without_a_working_deep_link_offers_the_loopback_redirect() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let bare = tempfile::tempdir().unwrap();
    let setup = Setup { env: vec![("PATH", bare.path().display().to_string())], ..Setup::default() };
    let d = Desktop::start_with("no-xdg-utils", setup).await;
    let s = d.session().await;
    s.wait_for("[data-test=setup]", WAIT).await;
    let check = s.wait_text("[data-test=link-check]", WAIT, |t| !t.is_empty()).await;
    assert_eq!(s.attribute("[data-test=link-check]", "data-ok").await.as_deref(), Some("false"), "{check}");
    assert!(check.contains("install xdg-utils"), "{check}");
    assert_eq!(
        s.text("[data-test=link-check-command]").await,
        "xdg-mime default spotoken-handler.desktop x-scheme-handler/spotoken"
    );
    assert_eq!(s.property("[data-test=redirect-loopback]", "checked").await, "true");
    assert_eq!(s.property("[data-test=redirect-deep-link]", "checked").await, "false");
    d.shot(Some(&s), "link-check-failed").await;
    s.end().await;
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

#[tokio::test(flavor = "multi_thread")]
async fn activity_records_every_channel_and_anomalies_reach_the_card_the_tray_and_a_notification() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("activity", Some(&settings("loopback", 0))).await;
    let daemon = d.notification_daemon();
    let s = d.session().await;
    sign_in(&s).await;

    // Hand-outs through each of the app's channels.
    s.click("[data-test=copy]").await;
    s.wait_text("[data-test=toast]", WAIT, |t| t.contains("Token copied")).await;
    let window_copy = d.clipboard();
    s.click("[data-test=reveal]").await;
    let started = std::time::Instant::now();
    while !s.text_content("[data-test=token]").await.starts_with("BQ") {
        assert!(started.elapsed() < WAIT, "the token was not revealed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.open_tray_menu();
    d.keys(&["Down", "Return"]);
    d.wait_until("the tray's copy", WAIT, || d.app_log().matches("access token copied to the clipboard").count() == 2)
        .await;

    // A script gets a token through the command line: a program new for the account.
    // The app hears of it from the record itself, with nothing clicked.
    let out = d.cli_from_shell(&["token"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    s.wait_for("[data-test=account] [data-test=anomaly][data-code=new_program]", WAIT).await;
    let said = s.text("[data-test=account] [data-test=anomaly]").await;
    assert!(said.contains("A new program got a token") && said.contains("(/usr/bin/dash)"), "{said}");
    assert_eq!(s.text("[data-test=anomaly-count]").await, "1");
    d.shot(Some(&s), "anomaly-on-card").await;

    // The tray leads with it; its first item opens the Activity view.
    d.open_tray_menu();
    d.shot(None, "tray-menu-with-anomaly").await;
    d.keys(&["Down", "Return"]);
    s.wait_for("[data-test=activity] [data-test=timeline]", WAIT).await;
    let channels = s.attributes("[data-test=event]", "data-channel").await;
    for channel in ["window-copy", "window-reveal", "tray-copy", "cli-token"] {
        assert!(channels.iter().any(|c| c.as_deref() == Some(channel)), "{channel} missing from {channels:?}");
    }
    let rows = s.texts("[data-test=event]").await;
    assert!(rows[0].contains("dash") && rows[0].contains("cli-token"), "newest first: {rows:?}");
    assert!(!s.find_all("[data-test=chart] rect").await.is_empty(), "the chart shows this hour's hand-outs");
    // (The screen capture: WebKitWebDriver's own screenshot stalls on this view.)
    d.shot(None, "activity").await;

    // Filter to the tray: only its copy is left.
    s.click("[data-test=filter-channel] option[value=tray-copy]").await;
    s.wait_text("[data-test=timeline]", WAIT, |t| !t.contains("window-copy")).await;
    assert_eq!(s.attributes("[data-test=event]", "data-channel").await, [Some("tray-copy".to_string())]);
    d.shot(None, "activity-tray-only").await;
    s.click("[data-test=filter-channel] option[value=cli-token]").await;
    s.wait_text("[data-test=timeline]", WAIT, |t| t.contains("cli-token")).await;

    // Acknowledged, it leaves the card and the count.
    s.click("[data-test=open-anomalies] [data-test=acknowledge]").await;
    s.wait_gone("[data-test=anomaly-count]", WAIT).await;
    s.wait_gone("[data-test=open-anomalies]", WAIT).await;

    // Spotify refuses the refresh token months early: an alert, and a notification
    // through the desktop's notification daemon. The new program was not notified
    // (off by default).
    d.sandbox.control(spotify_sandbox::Control { revoke: Some("Refresh token revoked".into()), ..Default::default() });
    s.click("[data-test=nav-accounts]").await;
    s.click("[data-test=refresh]").await;
    s.wait_for("[data-test=account] [data-test=anomaly][data-code=refresh_token_rejected_early]", WAIT).await;
    d.shot(None, "alert-on-card").await;
    d.wait_until("the notification", WAIT, || daemon.shown().contains("Refresh token refused early")).await;
    let shown = daemon.shown();
    assert!(shown.contains("possibly used elsewhere or access removed"), "{shown}");
    assert!(!shown.contains("A new program got a token"), "only the first rule notifies by default: {shown}");

    // Notifications for new programs are a choice in Settings: chosen, the next new
    // program pops one up.
    s.click("[data-test=nav-settings]").await;
    s.click("[data-test=notify-new_program]").await;
    s.click("[data-test=save-settings]").await;
    s.wait_text("[data-test=toast]", WAIT, |t| t.contains("Settings saved")).await;
    let settings_file = std::fs::read_to_string(d.dir.path().join("config/spotoken/settings.toml")).unwrap();
    assert!(settings_file.contains("new_program"), "{settings_file}");
    // (The account needs sign-in since the alert: signed in again first.)
    s.click("[data-test=nav-accounts]").await;
    s.click("[data-test=sign-in-again]").await;
    s.click("[data-test=continue-login]").await;
    s.wait_text("[data-test=account-state]", WAIT, |t| t == "fresh").await;
    let from_python = token_from_python(&d).wait_with_output().unwrap();
    assert!(from_python.status.success(), "{}", String::from_utf8_lossy(&from_python.stderr));
    d.wait_until("the new-program notification", WAIT, || daemon.shown().contains("A new program got a token")).await;
    assert!(daemon.shown().contains("python3"), "{}", daemon.shown());

    // The record names each hand-out's token by fingerprint only.
    let record = d.dir.path().join("data/spotoken/activity");
    let mut text = String::new();
    for entry in std::fs::read_dir(&record).unwrap().flatten() {
        text.push_str(&std::fs::read_to_string(entry.path()).unwrap());
    }
    assert!(text.contains("\"tray-copy\"") && text.contains("\"window-reveal\""));
    assert!(!text.contains(&window_copy));
    for secret in d.sandbox.secrets() {
        assert!(!text.contains(&secret), "a secret is in the activity record");
        assert!(!d.app_log().contains(&secret), "a secret reached the app's log");
    }
    s.end().await;
}

/// `spotoken token` started by Python, as a script would, in this desktop's session.
fn token_from_python(d: &Desktop) -> std::process::Child {
    d.desktop_command("/usr/bin/python3")
        .args(["-c", "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"])
        .arg(support::CLI.as_path())
        .arg("token")
        .env("SPOTOKEN_ACCOUNTS_URL", d.sandbox.url())
        .env("SPOTOKEN_API_URL", d.sandbox.url())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_program_waits_for_the_person_to_allow_it_once_always_or_deny_it() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("ask", Some(&settings("loopback", 0))).await;
    let s = d.session().await;
    sign_in(&s).await;
    s.click("[data-test=ask-new-programs]").await;
    let settings_file = d.dir.path().join("config/spotoken/settings.toml");
    d.wait_until("the setting to be saved", WAIT, || {
        std::fs::read_to_string(&settings_file)
            .unwrap_or_default()
            .contains(&format!("ask_before_new_program = [\"{}\"]", d.user.id))
    })
    .await;

    // Allow once: the waiting command gets a working token; the next run asks again.
    let waiting = token_from_python(&d);
    let asked = s.wait_text("[data-test=request]", WAIT, |t| t.contains("asks for a token")).await;
    assert!(asked.starts_with("python3"), "{asked}");
    assert!(asked.contains("/usr/bin/python3") && asked.contains(&d.user.display_name), "{asked}");
    d.shot(Some(&s), "asked").await;
    s.click("[data-test=request] [data-test=allow-once]").await;
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(d.me_status(token.trim()).await, 200);
    s.wait_gone("[data-test=request]", WAIT).await;

    // Deny: exit code 8 and why; nothing on stdout.
    let waiting = token_from_python(&d);
    s.click("[data-test=request] [data-test=deny]").await;
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[handout_denied]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Always: allowed now and from then on without asking.
    let waiting = token_from_python(&d);
    s.click("[data-test=request] [data-test=allow-always]").await;
    assert_eq!(waiting.wait_with_output().unwrap().status.code(), Some(0));
    let again = token_from_python(&d).wait_with_output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(s.find_all("[data-test=request]").await.is_empty());

    // The record says what happened to each; the program the person allowed is no anomaly.
    let out = d
        .desktop_command(support::CLI.to_str().unwrap())
        .args(["activity", "--json"])
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes: Vec<String> = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "handout")
        .map(|e| format!("{}:{}", e["outcome"].as_str().unwrap(), e["code"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(outcomes, ["served:", "failed:handout_denied", "served:", "served:"]);
    assert!(report["anomalies"].as_array().unwrap().is_empty(), "{report:#}");
    s.end().await;
}

/// Holds the session's Secret Service still (SIGSTOP) until dropped (SIGCONT).
struct FrozenKeychain(u32);

impl FrozenKeychain {
    fn freeze() -> Self {
        let text = support::ask_bus("GetConnectionUnixProcessID", "org.freedesktop.secrets");
        let pid: u32 = text
            .trim()
            .trim_start_matches("(uint32 ")
            .trim_end_matches(",)")
            .parse()
            .unwrap_or_else(|_| panic!("no Secret Service on the session bus: {text}"));
        assert!(std::process::Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap().success());
        Self(pid)
    }
}

impl Drop for FrozenKeychain {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-CONT", &self.0.to_string()]).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_keychain_that_stopped_answering_holds_up_neither_the_window_nor_the_tray() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("frozen-keychain", Some(&settings("loopback", 0))).await;
    let s = d.session().await;
    sign_in(&s).await;

    let frozen = FrozenKeychain::freeze();
    // Two hand-outs wait on the keychain: the window's Copy and the tray's.
    s.click("[data-test=copy]").await;
    d.open_tray_menu();
    d.keys(&["Down", "Return"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!d.app_log().contains("access token copied"), "the keychain was meant to be stopped");

    // Meanwhile the window answers: the Activity view loads (an async command), the
    // tray's Log in… navigates the window (the main thread).
    let started = std::time::Instant::now();
    s.click("[data-test=nav-activity]").await;
    s.wait_for("[data-test=activity] [data-test=timeline]", Duration::from_secs(10)).await;
    let activity_after = started.elapsed();
    d.open_tray_menu();
    d.shot(None, "keychain-stopped-tray-menu").await;
    d.keys(&["Down", "Down", "Down", "Down", "Return"]);
    s.wait_for("[data-test=login-panel]", Duration::from_secs(10)).await;
    eprintln!(
        "with the keychain stopped: Activity view in {activity_after:?}, tray → window in {:?}",
        started.elapsed()
    );
    d.shot(None, "keychain-stopped-window-answers").await;
    assert!(!d.app_log().contains("access token copied"), "no copy can finish while the keychain is stopped");

    // The keychain comes back: the waiting copies finish.
    drop(frozen);
    d.wait_until("both copies", WAIT, || d.app_log().matches("access token copied to the clipboard").count() == 2)
        .await;
    assert!(d.clipboard().starts_with("BQ"));
    s.end().await;
}

/// KeePassXC as the keychain, locked: the window's Copy and the tray's bring up its
/// unlock window and finish once the person types the password; a dismissed unlock is
/// said as such on the card, never as missing tokens.
#[tokio::test(flavor = "multi_thread")]
async fn the_window_and_the_tray_copy_through_a_locked_keepassxc() {
    use support::keepassxc::{KeePassXc, PASSWORD};
    let _turn = ONE_AT_A_TIME.lock().await;
    let bus = support::private_bus::BareBus::start(false);
    let setup = Setup {
        settings: Some(&settings("loopback", 0)),
        env: vec![("DBUS_SESSION_BUS_ADDRESS", bus.address.clone())],
        ..Setup::default()
    };
    let d = Desktop::start_with("keepassxc", setup).await;
    let kp = KeePassXc::start_on(bus, &d.display, true);
    let s = d.session().await;
    sign_in(&s).await;
    let clear_clipboard = || {
        let mut xclip = std::process::Command::new("xclip")
            .args(["-selection", "clipboard"])
            .env("DISPLAY", &d.display)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut xclip.stdin.take().unwrap(), b"nothing yet").unwrap();
        xclip.wait().unwrap();
    };

    // The window's Copy, locked: KeePassXC asks, the person unlocks, the token arrives.
    clear_clipboard();
    kp.lock();
    s.click("[data-test=copy]").await;
    kp.answer_unlock(Some(PASSWORD)).await;
    d.wait_until("the window's copy", WAIT, || d.clipboard().starts_with("BQ")).await;
    assert_eq!(d.me_status(&d.clipboard()).await, 200);

    // Dismissed: the card says so, and nothing says the tokens are gone.
    kp.lock();
    s.click("[data-test=copy]").await;
    kp.answer_unlock(None).await;
    s.wait_for("[data-test=error][data-code=keychain_unlock_cancelled]", WAIT).await;
    let said = s.text("[data-test=error][data-code=keychain_unlock_cancelled]").await;
    assert!(said.contains("KeePassXC") && said.contains("nothing was removed"), "{said}");
    assert!(s.find_all("[data-code=keychain_entry_missing]").await.is_empty());
    d.shot(Some(&s), "keepassxc-unlock-cancelled").await;

    // The tray's Copy, locked.
    clear_clipboard();
    kp.lock();
    d.open_tray_menu();
    d.keys(&["Down", "Return"]);
    kp.answer_unlock(Some(PASSWORD)).await;
    d.wait_until("the tray's copy", WAIT, || d.clipboard().starts_with("BQ")).await;
    assert_eq!(d.me_status(&d.clipboard()).await, 200);
    let log = kp.log();
    assert!(!log.contains("Maximum depth of replacement"), "{log}");
    s.end().await;
}

/// A Client ID from `SPOTOKEN_CLIENT_ID` is used and shown, and saving Settings leaves
/// the settings file without it.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_id_from_the_environment_is_not_written_to_the_settings() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let setup = Setup {
        settings: Some("redirect = \"loopback\"\n"),
        env: vec![("SPOTOKEN_CLIENT_ID", CLIENT_ID.to_string())],
        ..Setup::default()
    };
    let d = Desktop::start_with("client-id-from-env", setup).await;
    let s = d.session().await;
    s.wait_for("[data-test=log-in-empty]", WAIT).await;
    s.click("[data-test=nav-settings]").await;
    assert_eq!(s.property("[data-test=client-id]", "value").await, CLIENT_ID);
    assert_eq!(s.property("[data-test=client-id]", "disabled").await, "true");
    s.type_into("[data-test=clear-secs]", "45").await;
    s.click("[data-test=save-settings]").await;
    s.wait_text("[data-test=toast]", WAIT, |t| t.contains("Settings saved")).await;
    let saved = std::fs::read_to_string(d.dir.path().join("config/spotoken/settings.toml")).unwrap();
    assert!(saved.contains("clipboard_clear_secs = 45"), "{saved}");
    assert!(!saved.contains("client_id"), "the environment's Client ID was written to the file:\n{saved}");
    s.end().await;
}

/// "Can it call…?" on the card: the engine's catalog against the account's scopes, and
/// one button to add the missing ones through the consent page.
#[tokio::test(flavor = "multi_thread")]
async fn the_card_says_whether_the_account_can_make_a_call_and_adds_the_missing_scopes() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("can-call", Some(&settings("loopback", 60))).await;
    let s = d.session().await;
    sign_in(&s).await;
    // The card names the Client ID it signed in through (a person may use several).
    assert_eq!(s.text("[data-test=client-id]").await, format!("client {}…", &CLIENT_ID[..8]));

    s.type_into("[data-test=can-call]", "GET /v1/me/player/queue").await;
    let row = "[data-test=call-check][data-path='/me/player/queue'][data-method=GET]";
    s.wait_for(row, WAIT).await;
    assert_eq!(s.attribute(row, "data-ok").await.as_deref(), Some("false"));
    let said = s.text(row).await;
    assert!(said.contains("Missing: user-read-currently-playing, user-read-playback-state"), "{said}");
    d.shot(Some(&s), "cannot-call").await;

    // Words find it too, and a withdrawn call says what replaced it.
    s.type_into("[data-test=can-call]", "GET /playlists/37i9dQZF1DXcBWIGoYBM5M/tracks").await;
    let old = "[data-test=call-check][data-path='/playlists/{playlist_id}/tracks']";
    let said = s.wait_text(old, WAIT, |t| t.contains("Withdrawn")).await;
    assert!(said.contains("use GET /playlists/{playlist_id}/items"), "{said}");

    // Add these scopes: the login opens with them chosen and asks Spotify to show consent.
    s.type_into("[data-test=can-call]", "GET /me/player/queue").await;
    s.wait_for(&format!("{row} [data-test=add-call-scopes]"), WAIT).await;
    s.click(&format!("{row} [data-test=add-call-scopes]")).await;
    s.wait_for("[data-test=login-panel]", WAIT).await;
    for scope in ["user-read-currently-playing", "user-read-playback-state", "user-read-private"] {
        assert_eq!(s.property(&format!("[data-test=scope-{scope}]"), "checked").await, "true", "{scope}");
    }
    s.click("[data-test=continue-login]").await;
    s.wait_for("[data-test=account]", WAIT).await;
    let granted = s.wait_text("[data-test=scopes]", WAIT, |t| t.contains("user-read-playback-state")).await;
    assert!(granted.contains("user-read-currently-playing"), "{granted}");
    assert_eq!(d.sandbox.token_requests("authorization_code").len(), 2);

    s.type_into("[data-test=can-call]", "GET /me/player/queue").await;
    let ok = s.wait_text(row, WAIT, |t| !t.contains("Missing")).await;
    assert_eq!(s.attribute(row, "data-ok").await.as_deref(), Some("true"), "{ok}");
    d.shot(Some(&s), "can-call").await;
    s.end().await;
}
