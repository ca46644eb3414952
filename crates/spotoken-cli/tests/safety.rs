//! Secrets never leak, a broken keychain is explained quickly, and signing out forgets.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};
use support::{BareBus, Harness, printed_token, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_trace_output_or_any_file() {
    let h = Harness::with_ttl("leak", 30).await;
    let trace_all = [("RUST_LOG", "trace")];
    let (child, url, _) = h.start_login_env(&[], &trace_all).await;
    let location = h.authorize(&url).await;
    let (_, page) = h.deliver(&location).await;
    let login = h.finish(child).await;
    assert_eq!(login.status.code(), Some(0), "{}", stderr(&login));

    let mut trace = stderr(&login);
    for args in [&["token"][..], &["token"], &["status"], &["status", "--json"], &["token", "--min-valid", "1"]] {
        let out = h.command(args).envs(trace_all).output().await.unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        trace.push_str(&stderr(&out));
    }
    assert_eq!(h.sandbox.token_requests("refresh_token").len(), 2);
    assert!(trace.contains("code exchanged for tokens"), "the trace should show the login");
    assert!(trace.contains("refreshed"), "the trace should show the refreshes");
    assert!(trace.contains("TRACE"), "RUST_LOG=trace should turn on every crate's tracing");

    let secrets = h.sandbox.secrets();
    // One code, one verifier, three access tokens, and three refresh tokens where
    // Spotify rotates (one where it does not).
    let refresh_tokens = if h.sandbox.rotation() == spotify_sandbox::Rotation::Rotate { 3 } else { 1 };
    assert_eq!(secrets.len(), 5 + refresh_tokens, "the sandbox should have seen every secret");
    for secret in &secrets {
        assert!(!trace.contains(secret.as_str()), "a secret reached the log output");
        assert!(!page.contains(secret.as_str()), "a secret reached the browser page");
    }
    let files = h.files();
    assert!(files.iter().any(|f| f.ends_with("accounts.json")), "metadata file expected: {files:?}");
    let record = files.iter().any(|f| f.to_string_lossy().contains("/activity/events-"));
    assert!(record, "the activity record is among the files scanned: {files:?}");
    support::assert_no_secret_in(&h, &files);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_session_bus_is_a_clear_keychain_error_within_seconds() {
    let h = Harness::new("nobus").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    let started = Instant::now();
    let out = h
        .command(&["token"])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/spotoken-test-bus")
        .env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "30")
        .env_remove("DISPLAY")
        .output()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("[keychain_no_session_bus]"), "{err}");
    assert!(err.contains("dbus-run-session"), "the fix should say how to get a session bus: {err}");
    assert!(stdout(&out).is_empty());
    assert!(elapsed < Duration::from_secs(30), "it waited for the timeout instead of failing at once");
    // Status still works, and its headline and exit code say the tokens cannot be read.
    let status =
        h.command(&["status"]).env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent").output().await.unwrap();
    assert_eq!(status.status.code(), Some(6), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(text.lines().next().unwrap().ends_with("KEYCHAIN UNAVAILABLE"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_service_on_the_bus_is_a_clear_error() {
    let h = Harness::new("noservice").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    let bus = BareBus::start(false);
    let out = h.command(&["token"]).env("DBUS_SESSION_BUS_ADDRESS", &bus.address).output().await.unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("[keychain_unavailable]"), "{}", stderr(&out));
    assert!(stderr(&out).contains("gnome-keyring"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_keyring_is_reported_as_locked() {
    // The bus starts a second gnome-keyring on demand, with no keyring unlocked: it
    // cannot show its password prompt, as on a locked desktop with no one at it.
    let h = Harness::new("locked").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    let bus = BareBus::start(true);
    let out = h
        .command(&["token"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "5")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    // Depending on whether the prompt can be shown, gnome-keyring refuses or never answers.
    assert!(err.contains("[keychain_locked]") || err.contains("[keychain_timeout]"), "{err}");
    assert!(err.contains("nlock"), "the fix should say to unlock: {err}");
    // The account and its tokens are untouched in the real keychain.
    assert!(h.keychain_entry().is_some());
    printed_token(&h.token(&[]).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_keychain_that_never_answers_times_out() {
    // Something owns org.freedesktop.secrets on the bus but never replies: a hung keyring.
    let h = Harness::new("hung").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    let bus = BareBus::start(false);
    let channel = dbus::channel::Channel::open_private(&bus.address).unwrap();
    let mut channel = channel;
    channel.register().unwrap();
    let squatter = dbus::blocking::Connection::from(channel);
    squatter.request_name("org.freedesktop.secrets", false, true, true).unwrap();

    let started = Instant::now();
    let out = h
        .command(&["token"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "2")
        .output()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("[keychain_timeout]") && err.contains("within 2 s"), "{err}");
    assert!(elapsed >= Duration::from_secs(2), "gave up before the timeout: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(20), "the timeout did not fire: {elapsed:?}");
    drop(squatter);
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_forgets_and_says_spotify_has_no_revoke() {
    let h = Harness::new("logout").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    assert!(h.keychain_entry().is_some());
    let out = h.run(&["logout"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(&h.user.id));
    let err = stderr(&out);
    assert!(err.contains("no revoke endpoint") && err.contains("https://www.spotify.com/account/apps/"), "{err}");
    assert!(h.keychain_entry().is_none(), "the keychain entry is still there");
    assert_eq!(h.status_json().await.1["accounts"], serde_json::json!([]));
    let out = h.token(&[]).await;
    assert_eq!(out.status.code(), Some(4));
}

/// `status` looks at the keychain instead of saying `ok` blind: what it found is in the
/// text and in `--json` (an added field), heads the account's text, and sets the exit
/// code (6 for a keychain that did not open, 4 for an entry not there).
#[tokio::test(flavor = "multi_thread")]
async fn status_says_what_the_keychain_holds() {
    let h = Harness::new("status-keychain").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    let (code, json) = h.status_json().await;
    assert_eq!(code, Some(0));
    assert_eq!(json["version"], 1);
    assert_eq!(json["accounts"][0]["keychain"]["state"], "ok");
    assert!(stdout(&h.run(&["status"]).await).contains("keychain       ok"));

    // A locked keychain: reported, not "ok", within the keychain timeout.
    let bus = BareBus::start(true);
    let out = h
        .command(&["status", "--json"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "3")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let state = json["accounts"][0]["keychain"]["state"].as_str().unwrap().to_string();
    assert!(state == "locked" || state == "timeout", "{json}");
    assert!(json["accounts"][0]["keychain"]["problem"]["fix"].as_str().unwrap().contains("nlock"), "{json}");
    drop(bus);

    // The entry gone (another tool wiped it).
    let cleared = std::process::Command::new("secret-tool")
        .args(["clear", "service", "spotoken", "username", &h.user.id])
        .status()
        .unwrap();
    assert!(cleared.success());
    let (code, json) = h.status_json().await;
    assert_eq!(code, Some(4), "{json}");
    assert_eq!(json["accounts"][0]["keychain"]["state"], "missing");
    let text = stdout(&h.run(&["status"]).await);
    assert!(text.contains("keychain       MISSING"), "{text}");
    assert!(text.lines().next().unwrap().ends_with("KEYCHAIN MISSING"), "{text}");
}
