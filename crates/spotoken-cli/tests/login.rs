//! `spotoken login` through the loopback redirect, as a person (or script) runs it.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use spotify_sandbox::{Control, Decision, Endpoint, Fault, User};
use std::time::{Duration, Instant};
use support::{Harness, printed_token, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn login_happy_path_stores_tokens_in_the_keychain() {
    let h = Harness::new("happy").await;
    let login = h.login(&["--scope", "user-read-private", "--preset", "playback"]).await;
    assert_eq!(login.output.status.code(), Some(0), "{}", stderr(&login.output));
    assert!(stdout(&login.output).contains(&format!("Logged in as {} ({})", h.user.display_name, h.user.id)));
    assert_eq!(login.page_status, 200);
    assert!(login.page.contains("Signed in as Tester happy"), "{}", login.page);

    // Exactly one exchange, PKCE style: no Authorization header.
    let exchanges = h.sandbox.token_requests("authorization_code");
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0].status, 200);
    assert!(!exchanges[0].had_authorization_header);

    // The token is in the real keychain and works against the API.
    let entry = h.keychain_entry().expect("no keychain entry");
    let token = printed_token(&h.token(&[]).await);
    assert!(entry.contains(&token), "keychain entry does not hold the token handed out");
    assert_eq!(h.me_status(&token).await, 200);
    assert!(h.sandbox.token_requests("refresh_token").is_empty(), "a fresh token must not be refreshed");

    let (code, json) = h.status_json().await;
    assert_eq!(code, Some(0));
    let account = &json["accounts"][0];
    assert_eq!(account["id"], h.user.id.as_str());
    assert_eq!(account["state"], "ok");
    let granted: Vec<&str> =
        account["scopes"]["granted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(
        granted,
        ["user-modify-playback-state", "user-read-currently-playing", "user-read-playback-state", "user-read-private"]
    );
    let left = account["access_token"]["seconds_left"].as_i64().unwrap();
    assert!((3500..=3600).contains(&left), "{left}");
    let refresh_left = account["refresh_token"]["seconds_left"].as_i64().unwrap();
    assert!(refresh_left > 180 * 86_400 && refresh_left <= 184 * 86_400, "{refresh_left}");

    let human = stdout(&h.run(&["status"]).await);
    assert!(human.contains("Tester happy") && human.contains("6 months left"), "{human}");
}

#[tokio::test(flavor = "multi_thread")]
async fn partly_granted_scopes_are_shown_as_missing() {
    let h = Harness::new("partial").await;
    h.control(Control { granted_scopes: Some(vec!["user-read-private".into()]), ..Default::default() });
    let login = h.login(&["--scope", "user-read-private", "--scope", "user-read-email"]).await;
    assert_eq!(login.output.status.code(), Some(0), "{}", stderr(&login.output));
    assert!(stdout(&login.output).contains("Not granted: user-read-email"));
    let (_, json) = h.status_json().await;
    assert_eq!(json["accounts"][0]["scopes"]["missing"], serde_json::json!(["user-read-email"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_with_the_wrong_state_is_refused_and_never_exchanged() {
    let h = Harness::new("state").await;
    let (child, url, _) = h.start_login(&[]).await;
    let location = h.authorize(&url).await;

    let forged = regex_replace_state(&location, "forged-state");
    let (status, page) = h.deliver(&forged).await;
    assert_eq!(status, 400);
    assert!(page.contains("does not belong to this login"), "{page}");
    let (status, _) = h.deliver(&format!("{}/favicon.ico", location.split("/callback").next().unwrap())).await;
    assert_eq!(status, 404);
    assert!(h.sandbox.token_requests("authorization_code").is_empty(), "a refused callback reached the token endpoint");

    // The real callback still completes the login, and its code is the only one exchanged.
    let (status, page) = h.deliver(&location).await;
    assert_eq!(status, 200, "{page}");
    let output = h.finish(child).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(h.sandbox.token_requests("authorization_code").len(), 1);
}

fn regex_replace_state(location: &str, state: &str) -> String {
    let mut url = url_parse(location);
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == "state" { state.to_string() } else { v.to_string() }))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

fn url_parse(s: &str) -> reqwest::Url {
    reqwest::Url::parse(s).unwrap()
}

/// A person not on a development-mode app's list: Spotify's `/v1/me` refuses in plain
/// text. The sign-in says to add them under User Management, and keeps nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_person_not_on_the_apps_list_is_told_so_from_a_plain_text_refusal() {
    let h = Harness::new("not-registered").await;
    let refusal = "The user is not registered for this application. Please ask the app owner to add you.";
    h.control(Control { faults: vec![Fault::text(Endpoint::Me, 403, refusal)], ..Default::default() });
    let login = h.login(&[]).await;
    let err = stderr(&login.output);
    assert_eq!(login.output.status.code(), Some(7), "{err}");
    assert!(err.contains("[user_not_registered]") && err.contains("User Management"), "{err}");
    assert!(h.keychain_entry().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn declining_on_the_consent_page_is_a_clear_error() {
    let h = Harness::new("denied").await;
    h.control(Control { decision: Some(Decision::Deny), ..Default::default() });
    let login = h.login(&[]).await;
    assert_eq!(login.output.status.code(), Some(7));
    let err = stderr(&login.output);
    assert!(err.contains("Access was declined") && err.contains("[login_denied]"), "{err}");
    assert!(login.page.contains("not signed in"), "{}", login.page);
    assert!(h.sandbox.token_requests("authorization_code").is_empty());
    assert!(h.keychain_entry().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_nobody_finishes_times_out() {
    let h = Harness::new("timeout").await;
    let started = Instant::now();
    let output = h.run(&["login", "--no-browser", "--timeout", "1"]).await;
    assert_eq!(output.status.code(), Some(7));
    assert!(stderr(&output).contains("[login_timeout]"), "{}", stderr(&output));
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_variable_plays_the_browser() {
    // $BROWSER is honoured: a tiny "browser" that records the URL it was given.
    let h = Harness::new("browser").await;
    let record = h.home().join("opened.txt");
    let script = h.home().join("browser.sh");
    std::fs::write(&script, format!("#!/bin/sh\nprintf '%s' \"$1\" > {}\n", record.display())).unwrap();
    std::process::Command::new("chmod").args(["+x", script.to_str().unwrap()]).status().unwrap();
    let mut child = h
        .command(&["login", "--timeout", "30"])
        .env("BROWSER", &script)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(url) = std::fs::read_to_string(&record)
                && !url.is_empty()
            {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the browser was never opened");
    assert!(url.starts_with(&format!("{}/authorize?", h.sandbox.url())), "{url}");
    let location = h.authorize(&url).await;
    h.deliver(&location).await;
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.unwrap().unwrap();
    assert!(status.success());
}

/// A data folder that cannot be written is found before the browser opens, not after
/// the consent: `login` stops at once, names the folder, and never reaches Spotify.
/// (The folder is a file here: root, which runs CI, writes in read-only folders.)
#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_data_folder_stops_the_login_before_the_browser() {
    let h = Harness::new("unwritable").await;
    std::fs::create_dir_all(h.home().join("data")).unwrap();
    std::fs::write(h.home().join("data/spotoken"), "not a folder").unwrap();
    let started = Instant::now();
    let out = h.command(&["login", "--no-browser"]).output().await.unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("[io_error]") && err.contains("data/spotoken"), "{err}");
    assert!(!err.contains("/authorize?"), "no consent page was offered: {err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(h.sandbox.log().is_empty(), "Spotify was never asked");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_client_ids_and_missing_configuration_are_explained() {
    let h = Harness::new("config").await;
    let out = h.command(&["token"]).env_remove("SPOTOKEN_CLIENT_ID").output().await.unwrap();
    assert_eq!(out.status.code(), Some(4), "no account yet: {}", stderr(&out));
    assert!(stderr(&out).contains("[no_account]"));

    let out = h.command(&["login", "--no-browser"]).env_remove("SPOTOKEN_CLIENT_ID").output().await.unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("[not_configured]"), "{}", stderr(&out));

    let out = h.run(&["login", "--client-id", "not-a-client-id"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("[client_id_invalid]"));

    let out = h.run(&["login", "--scope", "user-read-everything"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("user-read-everything"));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_accounts_need_account_to_choose() {
    let h = Harness::new("two").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    let second = User { id: format!("{}-b", h.user.id), display_name: "Second Person".into() };
    h.control(Control { user: Some(second.clone()), ..Default::default() });
    let login = h.login(&["--show-dialog"]).await;
    assert_eq!(login.output.status.code(), Some(0), "{}", stderr(&login.output));

    let out = h.token(&[]).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("--account"), "{}", stderr(&out));
    let first = printed_token(&h.token(&["--account", &h.user.id]).await);
    let other = printed_token(&h.token(&["--account", &second.id]).await);
    assert_ne!(first, other);
    let out = h.token(&["--account", "nobody"]).await;
    assert_eq!(out.status.code(), Some(4));

    let out = h.run(&["logout", "--all"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Second Person"));
    let (_, json) = h.status_json().await;
    assert_eq!(json["accounts"], serde_json::json!([]));
}

/// A headless machine: the browser is elsewhere, so its redirect to 127.0.0.1 never
/// reaches this machine's listener; the person pastes the address it ended on.
#[tokio::test(flavor = "multi_thread")]
async fn no_browser_login_completes_from_a_pasted_address() {
    use tokio::io::AsyncWriteExt;
    let h = Harness::new("pasted").await;
    let (mut child, url, _) = h.start_login(&[]).await;
    let started = Instant::now();
    while !h.stderr_so_far().contains("paste it here") {
        assert!(started.elapsed() < Duration::from_secs(20), "no paste hint: {}", h.stderr_so_far());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut stdin = child.stdin.take().unwrap();
    let location = h.authorize(&url).await;
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");

    // A foreign address (another login's state), a deep link, and noise: each refused,
    // the login keeps waiting, nothing is exchanged.
    let foreign = regex_replace_state(&location, "someone-elses-state");
    for wrong in [foreign.as_str(), "spotoken://callback?code=X&state=Y", "not an address"] {
        stdin.write_all(format!("{wrong}\n").as_bytes()).await.unwrap();
    }
    stdin.flush().await.unwrap();
    let started = Instant::now();
    while h.stderr_so_far().matches("That address was refused").count() < 3 {
        assert!(started.elapsed() < Duration::from_secs(20), "refusals not printed: {}", h.stderr_so_far());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let err = h.stderr_so_far();
    assert!(err.contains("[callback_state_mismatch]") && err.contains("[callback_invalid]"), "{err}");
    assert!(h.sandbox.token_requests("authorization_code").is_empty());

    // The real address, pasted with the spaces a terminal copy may add.
    stdin.write_all(format!("  {location}  \n").as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();
    let output = h.finish(child).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains(&format!("Logged in as {}", h.user.display_name)));
    assert_eq!(h.sandbox.token_requests("authorization_code").len(), 1);
    let token = printed_token(&h.token(&[]).await);
    assert_eq!(h.me_status(&token).await, 200);

    // Single use: the same address delivered to the listener now finds nobody.
    assert!(h.http.get(&location).send().await.is_err(), "the listener should be gone after the login");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_address_after_the_deadline_is_too_late() {
    use tokio::io::AsyncWriteExt;
    let h = Harness::new("stale").await;
    let (mut child, url, _) = h.start_login(&["--timeout", "2"]).await;
    let location = h.authorize(&url).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(format!("{location}\n").as_bytes()).await;
    let output = h.finish(child).await;
    assert_eq!(output.status.code(), Some(7));
    assert!(stderr(&output).contains("[login_timeout]"), "{}", stderr(&output));
    assert!(h.sandbox.token_requests("authorization_code").is_empty(), "a stale address must not be exchanged");
}

fn listener_port(consent_url: &str) -> u16 {
    let url = url_parse(consent_url);
    let redirect = url.query_pairs().find(|(k, _)| k == "redirect_uri").unwrap().1.to_string();
    url_parse(&redirect).port().unwrap()
}

/// A client that sends one byte a second, then stops.
fn dribble(port: u16, seconds: u64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        for byte in b"GET /callback?".iter().cycle().take(seconds as usize) {
            if slow.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_client_delays_neither_the_callback_nor_the_timeout() {
    let h = Harness::new("slow").await;
    let (child, url, _) = h.start_login(&[]).await;
    let port = listener_port(&url);
    let slow = dribble(port, 30);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let location = h.authorize(&url).await;
    let started = Instant::now();
    let (status, page) = h.deliver(&location).await;
    let waited = started.elapsed();
    assert_eq!(status, 200, "{page}");
    println!("callback answered in {} ms with a slow client open", waited.as_millis());
    assert!(waited < Duration::from_secs(3), "the slow client held up the callback for {waited:?}");
    assert_eq!(h.finish(child).await.status.code(), Some(0));
    slow.abort();

    // With nothing but a slow client, --timeout 4 ends after 4 s, not after its read timeout.
    let h = Harness::new("slow-timeout").await;
    let (child, url, _) = h.start_login(&["--timeout", "4"]).await;
    let started = Instant::now();
    let slow = dribble(listener_port(&url), 30);
    let output = h.finish(child).await;
    let took = started.elapsed();
    slow.abort();
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    assert!(stderr(&output).contains("[login_timeout]"));
    println!("--timeout 4 with a slow client open ended after {} ms", took.as_millis());
    assert!(took < Duration::from_secs(7), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_for_another_host_is_refused_even_with_the_right_state() {
    let h = Harness::new("host").await;
    let (child, url, _) = h.start_login(&[]).await;
    let location = h.authorize(&url).await;
    let rebinding = h.http.get(&location).header("Host", "attacker.example").send().await.unwrap();
    assert_eq!(rebinding.status().as_u16(), 421);
    assert!(h.sandbox.token_requests("authorization_code").is_empty(), "a rebinding request was exchanged");
    let (status, _) = h.deliver(&location).await;
    assert_eq!(status, 200);
    assert_eq!(h.finish(child).await.status.code(), Some(0));
}
