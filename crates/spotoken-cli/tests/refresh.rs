//! `spotoken token` when the access token is due: rotation, omission, failures,
//! revocation and many callers at once. The sandbox hands out 30-second access
//! tokens, so every `token` (default --min-valid 60) must refresh.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use spotify_sandbox::{Control, Endpoint, Fault, Rotation};
use std::time::{Duration, Instant};
use support::{Harness, printed_token, stderr};

async fn signed_in(name: &str) -> Harness {
    let h = Harness::with_ttl(name, 30).await;
    let login = h.login(&[]).await;
    assert_eq!(login.output.status.code(), Some(0), "{}", stderr(&login.output));
    h
}

/// (refresh token serial used, serial issued) for each successful refresh.
fn refreshes(h: &Harness) -> Vec<(Option<u32>, Option<u32>, u16)> {
    h.sandbox
        .token_requests("refresh_token")
        .into_iter()
        .map(|e| (e.refresh_serial, e.issued_refresh_serial, e.status))
        .collect()
}

/// What the sandbox's log shows for the first successful refresh after the sign-in, in
/// the rotation it runs (`SPOTIFY_SANDBOX_ROTATION`): refresh token #1 used, and #2
/// issued where Spotify rotates.
fn first_refresh(h: &Harness) -> (Option<u32>, Option<u32>, u16) {
    match h.sandbox.rotation() {
        Rotation::Rotate => (Some(1), Some(2), 200),
        Rotation::Omit => (Some(1), None, 200),
        Rotation::Same => (Some(1), Some(1), 200),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_refresh_token_replaces_the_old_one() {
    let h = signed_in("rotate").await;
    h.sandbox.set_rotation(Rotation::Rotate);
    let first = printed_token(&h.token(&[]).await);
    let second = printed_token(&h.token(&[]).await);
    assert_ne!(first, second);
    // Login issued #1; the first refresh used #1 and got #2; the second must use #2.
    assert_eq!(refreshes(&h), [(Some(1), Some(2), 200), (Some(2), Some(3), 200)]);
    assert!(h.sandbox.token_requests("refresh_token").iter().all(|e| !e.had_authorization_header));
    assert_eq!(h.me_status(&second).await, 200);
    let (_, json) = h.status_json().await;
    assert!(json["accounts"][0]["last_refresh_at"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_omitted_refresh_token_keeps_the_old_one() {
    let h = signed_in("omit").await;
    h.sandbox.set_rotation(Rotation::Omit);
    printed_token(&h.token(&[]).await);
    let token = printed_token(&h.token(&[]).await);
    assert_eq!(refreshes(&h), [(Some(1), None, 200), (Some(1), None, 200)]);
    assert_eq!(h.me_status(&token).await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn min_valid_decides_whether_to_refresh() {
    let h = signed_in("minvalid").await;
    let stored = printed_token(&h.token(&["--min-valid", "5"]).await);
    assert!(refreshes(&h).is_empty(), "a token with 30 s left satisfies --min-valid 5");
    let fresh = printed_token(&h.token(&["--min-valid", "20"]).await);
    assert_eq!(stored, fresh, "30 s left still satisfies --min-valid 20");
    let refreshed = printed_token(&h.token(&["--min-valid", "60"]).await);
    assert_ne!(stored, refreshed);
    assert_eq!(refreshes(&h).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_processes_at_once_cause_exactly_one_refresh() {
    let h = signed_in("crowd").await;
    // Fresh tokens from now on last an hour; a slow token endpoint widens the race.
    h.control(Control { access_ttl_secs: Some(3600), token_delay_ms: Some(400), ..Default::default() });
    let runs: Vec<_> = (0..8).map(|_| h.command(&["token"]).output()).collect();
    let outputs = futures_join(runs).await;
    let tokens: Vec<String> = outputs.into_iter().map(|o| printed_token(&o.unwrap())).collect();
    assert_eq!(refreshes(&h).len(), 1, "{:?}", refreshes(&h));
    assert!(tokens.iter().all(|t| t == &tokens[0]), "processes handed out different tokens");
    assert_eq!(h.me_status(&tokens[0]).await, 200);
}

async fn futures_join<F: std::future::Future + Send + 'static>(futures: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_is_retried_and_nothing_is_lost() {
    let h = signed_in("flaky").await;
    h.sandbox.push_fault(Fault::status(Endpoint::Token, 503));
    h.sandbox.push_fault(Fault::status(Endpoint::Token, 502));
    let token = printed_token(&h.token(&[]).await);
    let log = h.sandbox.log();
    let statuses: Vec<u16> = log.iter().filter(|e| e.endpoint == "token").skip(1).map(|e| e.status).collect();
    assert_eq!(statuses, [503, 502, 200]);
    assert_eq!(refreshes(&h), [first_refresh(&h)]);
    assert_eq!(h.me_status(&token).await, 200);
    let (code, json) = h.status_json().await;
    assert_eq!(code, Some(0));
    assert_eq!(json["accounts"][0]["state"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn spotify_down_for_longer_keeps_the_sign_in() {
    let h = signed_in("down").await;
    for _ in 0..4 {
        h.sandbox.push_fault(Fault::status(Endpoint::Token, 500));
    }
    let out = h.token(&[]).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("[spotify_unavailable]") && stderr(&out).contains("sign-in is kept"));
    let (code, json) = h.status_json().await;
    assert_eq!(code, Some(0), "a transient failure is not a needed sign-in");
    assert_eq!(json["accounts"][0]["state"], "error");
    assert_eq!(json["accounts"][0]["last_error"]["code"], "spotify_unavailable");
    // Once Spotify is back, the same refresh token works and the error clears.
    let token = printed_token(&h.token(&[]).await);
    assert_eq!(h.me_status(&token).await, 200);
    assert_eq!(h.status_json().await.1["accounts"][0]["state"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_waits_for_retry_after() {
    let h = signed_in("limited").await;
    h.sandbox.push_fault(Fault::rate_limit(Endpoint::Token, 2));
    let started = Instant::now();
    let token = printed_token(&h.token(&[]).await);
    assert!(started.elapsed() >= Duration::from_secs(2), "Retry-After was not honoured");
    let statuses: Vec<u16> =
        h.sandbox.log().iter().filter(|e| e.endpoint == "token").skip(1).map(|e| e.status).collect();
    assert_eq!(statuses, [429, 200]);
    assert_eq!(h.me_status(&token).await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_retry_after_is_reported_not_waited() {
    let h = signed_in("quota").await;
    h.sandbox.push_fault(Fault::rate_limit(Endpoint::Token, 3600));
    let started = Instant::now();
    let out = h.token(&[]).await;
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr(&out).contains("retry after 3600 s"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(60));
    // Nothing was lost: the next call refreshes with refresh token #1.
    printed_token(&h.token(&[]).await);
    assert_eq!(refreshes(&h).last(), Some(&first_refresh(&h)));
}

/// A refresh token Spotify really revoked: needs sign-in, kept, tried once more per
/// request (in case Spotify was wrong), and a new sign-in replaces it.
#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_refresh_token_needs_sign_in_and_is_tried_once_per_request() {
    let h = signed_in("revoked").await;
    h.control(Control { revoke: Some("Refresh token revoked".into()), ..Default::default() });
    let out = h.token(&[]).await;
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(err.contains("[needs_sign_in]") && err.contains("Refresh token revoked"), "{err}");
    assert_eq!(refreshes(&h).len(), 1);

    assert!(err.contains("tried once more on a later request"), "{err}");
    assert!(h.keychain_entry().is_some(), "the refresh token is kept until a new sign-in replaces it");

    // Within a few seconds the refusal is shared: no request.
    assert_eq!(h.token(&[]).await.status.code(), Some(4));
    assert_eq!(refreshes(&h).len(), 1);
    // The next request after that tries it once more (one request), and says the same.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let again = h.token(&[]).await;
    assert_eq!(again.status.code(), Some(4));
    assert_eq!(refreshes(&h).len(), 2, "one more try, no more");
    // Several at once share that one try.
    for out in h.run_at_once(4, &["token"]).await {
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    }
    assert_eq!(refreshes(&h).len(), 2, "four processes right after a refusal share it");
    let (code, json) = h.status_json().await;
    assert_eq!(code, Some(1));
    let account = &json["accounts"][0];
    assert_eq!(account["state"], "needs_sign_in");
    assert_eq!(account["id"], h.user.id.as_str(), "the account's metadata is kept so the person sees why");

    // Signing in again brings it back.
    let login = h.login(&[]).await;
    assert_eq!(login.output.status.code(), Some(0));
    assert_eq!(h.status_json().await.0, Some(0));
    printed_token(&h.token(&[]).await);
}

/// Spotify answering `invalid_grant` for a healthy refresh token (as during an outage):
/// the account reads as needing sign-in, the token is kept, and the next request finds
/// Spotify well again: a fresh token, and the account back to normal.
#[tokio::test(flavor = "multi_thread")]
async fn a_false_invalid_grant_ends_nothing_and_the_next_request_recovers() {
    let h = signed_in("false-refusal").await;
    h.control(Control {
        faults: vec![Fault::oauth(400, "invalid_grant", "Invalid refresh token")],
        ..Default::default()
    });
    let out = h.token(&[]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(h.status_json().await.1["accounts"][0]["state"], "needs_sign_in");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let token = printed_token(&h.token(&[]).await);
    assert_eq!(h.me_status(&token).await, 200);
    let (code, json) = h.status_json().await;
    assert_eq!(code, Some(0), "{json:#}");
    assert_ne!(json["accounts"][0]["state"], "needs_sign_in");
    // (The scripted refusal is logged without its grant type: this is the second try.)
    assert_eq!(refreshes(&h).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_network_is_reported_and_the_refresh_token_is_kept() {
    let h = signed_in("offline").await;
    // Nothing listens on port 9 of 127.0.0.1: every connection is refused.
    let out = h.command(&["token"]).env("SPOTOKEN_ACCOUNTS_URL", "http://127.0.0.1:9").output().await.unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("[network_down]") && err.contains("sign-in is kept"), "{err}");
    assert!(refreshes(&h).is_empty());
    // Back online: refresh token #1 still works.
    printed_token(&h.token(&[]).await);
    assert_eq!(refreshes(&h), [first_refresh(&h)]);
}

/// A Spotify that answers too slowly: `token` gives up at its deadline (default 20 s,
/// `--deadline`), says how long it waited, and keeps the sign-in.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_token_endpoint_meets_the_deadline_and_keeps_the_sign_in() {
    let h = signed_in("deadline").await;
    h.control(Control { rotation: Some(Rotation::Omit), token_delay_ms: Some(6000), ..Default::default() });
    let started = Instant::now();
    let out = h.token(&["--deadline", "2"]).await;
    let took = started.elapsed();
    println!("token --deadline 2 against a 6 s token endpoint ended after {} ms", took.as_millis());
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("within the 2 s") && err.contains("sign-in is kept"), "{err}");
    assert!(took < Duration::from_secs(4), "took {took:?}");

    h.control(Control { token_delay_ms: Some(0), ..Default::default() });
    let token = printed_token(&h.token(&[]).await);
    assert_eq!(h.me_status(&token).await, 200);
}

/// Only `invalid_grant` means the refresh token is dead. Spotify's other refusals
/// (`invalid_request`, `invalid_client`, `unsupported_grant_type`…) are reported and
/// leave the sign-in as it was.
#[tokio::test(flavor = "multi_thread")]
async fn other_token_endpoint_errors_do_not_end_the_sign_in() {
    let h = signed_in("other-errors").await;
    for (status, error, description) in [
        (400, "invalid_request", "Invalid request"),
        (400, "invalid_client", "Invalid client"),
        (400, "unsupported_grant_type", "Unsupported grant type"),
    ] {
        h.control(Control { faults: vec![Fault::oauth(status, error, description)], ..Default::default() });
        let out = h.token(&[]).await;
        assert_ne!(out.status.code(), Some(0), "{error}: {}", stderr(&out));
        assert_ne!(out.status.code(), Some(4), "{error} must not read as needs sign-in: {}", stderr(&out));
        let (_, json) = h.status_json().await;
        assert_ne!(json["accounts"][0]["state"], "needs_sign_in", "{error}: {json}");
        assert!(
            json["accounts"][0]["last_error"]["message"].as_str().unwrap().contains(description)
                || error != "invalid_request"
        );
    }
    // Nothing was lost: the next refresh goes through with the same sign-in.
    let token = printed_token(&h.token(&[]).await);
    assert_eq!(h.me_status(&token).await, 200);
}
