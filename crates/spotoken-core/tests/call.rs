//! `Engine::call_api` and `Engine::api_url`, driven directly against the sandbox over
//! 127.0.0.1 with tokens in a `MemoryStore`: the origin rule, one refresh for an expired
//! token, `Retry-After` waited out up to its bounds, Spotify's quota remembered and
//! cleared. (`spotoken api` is tested end to end through the binary too.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use spotify_sandbox::{Endpoint, Fault, Sandbox, SandboxConfig, User};
use spotoken_core::activity::{Channel, Recipient};
use spotoken_core::call::ApiRequest;
use spotoken_core::{Engine, Error, MemoryStore, RetryPolicy, SystemClock};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Setup {
    _dir: tempfile::TempDir,
    sandbox: Sandbox,
    engine: Engine,
}

async fn signed_in(name: &str) -> Setup {
    let user = User { id: format!("call-{name}-{}", std::process::id()), display_name: format!("Call {name}") };
    let sandbox = Sandbox::start(SandboxConfig { user, ..Default::default() }, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = support::engine_on(dir.path(), &sandbox, Arc::new(SystemClock))
        .with_retry(RetryPolicy { max_retry_after: Duration::from_secs(2), ..RetryPolicy::default() });
    support::sign_in(&engine, &["user-read-playback-state".to_string()]).await;
    Setup { _dir: dir, sandbox, engine }
}

fn player() -> ApiRequest {
    ApiRequest { method: "GET".into(), path: "/me/player".into(), ..ApiRequest::default() }
}

fn to() -> Recipient {
    Recipient::app(Channel::CliApi)
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_web_apis_origin_gets_the_token() {
    let s = signed_in("origin").await;
    let base = s.sandbox.url();
    let url = |path: &str, query: &[(&str, &str)]| {
        let query: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        s.engine.api_url(path, &query).map(|u| u.to_string())
    };
    assert_eq!(url("/me", &[]).unwrap(), format!("{base}/v1/me"));
    assert_eq!(url("me/player", &[]).unwrap(), format!("{base}/v1/me/player"));
    assert_eq!(url(" /v1/me ", &[]).unwrap(), format!("{base}/v1/me"));
    assert_eq!(url("/v1", &[]).unwrap(), format!("{base}/v1"));
    assert_eq!(url("/v1x/me", &[]).unwrap(), format!("{base}/v1/v1x/me"), "only `v1/` is the prefix");
    assert_eq!(
        url("/me/playlists?limit=2", &[("offset", "4")]).unwrap(),
        format!("{base}/v1/me/playlists?limit=2&offset=4")
    );
    assert_eq!(
        url("/me/playlists", &[]).unwrap(),
        format!("{base}/v1/me/playlists"),
        "no query added when none is given"
    );
    // Spotify's own address, and this API's: the same path here.
    assert_eq!(url("https://api.spotify.com/v1/me?limit=1", &[]).unwrap(), format!("{base}/v1/me?limit=1"));
    assert_eq!(url(&format!("{base}/v1/me"), &[]).unwrap(), format!("{base}/v1/me"));
    // Anywhere else never gets the token.
    for elsewhere in [
        "http://api.spotify.com/v1/me",
        "https://api.spotify.com.example/v1/me",
        "https://example.com/v1/me",
        "ftp://api.spotify.com/v1/me",
    ] {
        assert!(matches!(url(elsewhere, &[]), Err(Error::NotTheWebApi(_))), "{elsewhere}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refreshed_once_and_the_call_repeated_once() {
    let s = signed_in("expired").await;
    s.sandbox.push_fault(Fault::api_error(Endpoint::Api, 401, "The access token expired"));
    let answer = s.engine.call_api(&player(), &to()).await.unwrap();
    assert_eq!(answer.status, 200);
    assert!(answer.problem.is_none());
    assert_eq!(s.sandbox.token_requests("refresh_token").len(), 1);

    // Expired again after the refresh: one refresh per call, then Spotify's answer.
    s.sandbox.push_fault(Fault::api_error(Endpoint::Api, 401, "The access token expired"));
    s.sandbox.push_fault(Fault::api_error(Endpoint::Api, 401, "The access token expired"));
    let answer = s.engine.call_api(&player(), &to()).await.unwrap();
    assert_eq!(answer.status, 401);
    assert!(answer.problem.is_some());
    assert_eq!(s.sandbox.token_requests("refresh_token").len(), 2);
    // A 403 other than a missing scope, on a call that is not withdrawn: Spotify's words.
    s.sandbox.push_fault(Fault::api_error(Endpoint::Api, 403, "Forbidden for reasons of its own"));
    let answer = s.engine.call_api(&player(), &to()).await.unwrap();
    assert!(matches!(answer.problem, Some(Error::WebApi { status: 403, .. })), "{:?}", answer.problem);
    // Another 401 is Spotify's answer, not a reason to refresh.
    s.sandbox.push_fault(Fault::api_error(Endpoint::Api, 401, "Invalid access token"));
    assert_eq!(s.engine.call_api(&player(), &to()).await.unwrap().status, 401);
    assert_eq!(s.sandbox.token_requests("refresh_token").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_are_waited_out_within_bounds_and_a_quota_is_not() {
    let s = signed_in("limits").await;
    // A short Retry-After is waited out.
    s.sandbox.push_fault(Fault::rate_limit(Endpoint::Api, 1));
    let started = Instant::now();
    assert_eq!(s.engine.call_api(&player(), &to()).await.unwrap().status, 200);
    assert!(started.elapsed() >= Duration::from_secs(1));

    // Longer than the policy's bound (2 s here): reported, not waited.
    s.sandbox.push_fault(Fault::rate_limit(Endpoint::Api, 3));
    let started = Instant::now();
    let limited = s.engine.call_api(&player(), &to()).await.unwrap_err();
    assert!(
        matches!(limited, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(3)),
        "{limited:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    // At the bound itself: waited.
    s.sandbox.push_fault(Fault::rate_limit(Endpoint::Api, 2));
    assert_eq!(s.engine.call_api(&player(), &to()).await.unwrap().status, 200);

    // Without Retry-After: reported.
    s.sandbox.push_fault(Fault::status(Endpoint::Api, 429));
    assert!(matches!(s.engine.call_api(&player(), &to()).await, Err(Error::RateLimited { retry_after: None })));

    // Three short waits at most, then reported.
    for _ in 0..4 {
        s.sandbox.push_fault(Fault::rate_limit(Endpoint::Api, 0));
    }
    assert!(matches!(s.engine.call_api(&player(), &to()).await, Err(Error::RateLimited { .. })));
    let asked = s.sandbox.log().iter().filter(|e| e.endpoint == "player").count();
    // 1 + 1 + 1 + 1 + 1 (the answers above) + 4 here.
    assert_eq!(asked, 1 + 1 + 1 + 1 + 1 + 1 + 4, "{:?}", s.sandbox.log());

    // The quota, even with a short Retry-After: never waited, remembered for the Client ID.
    s.sandbox.push_fault(Fault::quota_exceeded(Endpoint::Api, 1));
    let quota = s.engine.call_api(&player(), &to()).await.unwrap_err();
    assert!(matches!(quota, Error::QuotaExceeded { retry_after: Some(d) } if d == Duration::from_secs(1)), "{quota:?}");
    let status = s.engine.status().unwrap();
    assert!(status.accounts[0].quota_exceeded.is_some());
    // The next answer clears it.
    assert_eq!(s.engine.call_api(&player(), &to()).await.unwrap().status, 200);
    assert!(s.engine.status().unwrap().accounts[0].quota_exceeded.is_none());
}

/// A refusal is explained from the catalog: the scopes a call needs that the account
/// lacks, a call withdrawn for development-mode apps with what replaced it, Spotify
/// failing.
#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_explained_from_the_catalog() {
    let s = signed_in("explain").await;
    let get = |path: &str| ApiRequest { method: "GET".into(), path: path.into(), ..ApiRequest::default() };

    let answer = s.engine.call_api(&get("/me/player/queue"), &to()).await.unwrap();
    assert_eq!(answer.status, 403);
    match answer.problem {
        Some(Error::ScopeMissing { missing, granted, .. }) => {
            assert_eq!(missing, ["user-read-currently-playing"]);
            assert_eq!(granted, ["user-read-playback-state"]);
        }
        other => panic!("{other:?}"),
    }

    let answer = s.engine.call_api(&get("/playlists/sandboxlist0/tracks"), &to()).await.unwrap();
    match answer.problem {
        Some(Error::Withdrawn { call, replacement }) => {
            assert_eq!(call, "GET /v1/playlists/sandboxlist0/tracks");
            assert_eq!(replacement.as_deref(), Some("GET /playlists/{playlist_id}/items"));
        }
        other => panic!("{other:?}"),
    }

    s.sandbox.push_fault(Fault::status(Endpoint::Api, 503));
    let answer = s.engine.call_api(&player(), &to()).await.unwrap();
    assert!(matches!(answer.problem, Some(Error::ServerError { status: 503 })), "{:?}", answer.problem);
    s.sandbox.push_fault(Fault::status(Endpoint::Api, 500));
    let answer = s.engine.call_api(&player(), &to()).await.unwrap();
    assert!(matches!(answer.problem, Some(Error::ServerError { status: 500 })), "{:?}", answer.problem);
}

/// The agent's engine keeps tokens in memory: a hand-out while the token is valid needs
/// no store at all, but the accounts file is still read (signed out elsewhere: refused),
/// and a token not valid long enough goes back to the store.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_kept_in_memory_are_served_while_valid_and_only_then() {
    let user = User { id: format!("memory-{}", std::process::id()), display_name: "Memory".into() };
    let sandbox = Sandbox::start(SandboxConfig { user: user.clone(), ..Default::default() }, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::default();
    let engine = |memory: bool| {
        let engine = support::engine_with(dir.path(), &sandbox, store.clone(), Arc::new(SystemClock));
        if memory { engine.with_tokens_in_memory() } else { engine }
    };
    let (agent, plain) = (engine(true), engine(false));
    support::sign_in(&plain, &[]).await;

    let first = agent.hand_out(None, Duration::from_secs(60), &to()).await.unwrap();
    // The store loses the entry: the agent still serves what it holds; a plain engine cannot.
    use spotoken_core::TokenStore;
    assert!(store.delete(&user.id).unwrap());
    let again = agent.hand_out(None, Duration::from_secs(60), &to()).await.unwrap();
    assert_eq!(again.access_token, first.access_token);
    assert!(matches!(plain.hand_out(None, Duration::from_secs(60), &to()).await, Err(Error::KeychainEntryMissing(_))));
    // Asked for longer than the kept token lives: back to the store (now empty).
    assert!(matches!(
        agent.hand_out(None, Duration::from_secs(7200), &to()).await,
        Err(Error::KeychainEntryMissing(_))
    ));
    // Signed out by another process: the accounts file says so, nothing is served.
    plain.logout(&user.id).unwrap();
    assert!(matches!(agent.hand_out(None, Duration::from_secs(60), &to()).await, Err(Error::NoAccount)));
    // Both hand-outs from memory were recorded.
    let served = agent.activity().report(&Default::default(), agent.clock().now()).events;
    assert_eq!(served.iter().filter(|e| e.outcome.as_deref() == Some("served")).count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_web_api_answer_of_megabytes_is_read_whole() {
    // A long library page or a playlist's JSON runs to megabytes: the Web API's answers
    // are read up to 32 MB, not the 64 KB the accounts service is allowed.
    let s = signed_in("large").await;
    let large = "x".repeat(3 * 1024 * 1024);
    s.sandbox.push_fault(Fault::text(Endpoint::Api, 200, &large));
    let answer = s.engine.call_api(&player(), &to()).await.unwrap();
    assert_eq!((answer.status, answer.body.len()), (200, large.len()));
    assert!(answer.problem.is_none());
}
