//! Signing in from the window: the deep link and the loopback redirect, a pasted address, links that are not this login's, the first run, a Client ID from the environment.

use super::*;

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
