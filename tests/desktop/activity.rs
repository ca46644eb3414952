//! What the app watches: every channel recorded, anomalies on the card, in the tray and as a notification, a new program asked about, whether an account can make a call.

use super::*;

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
