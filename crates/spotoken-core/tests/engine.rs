//! The engine driven directly, as the desktop app drives it: the deep-link path, a
//! clock the test controls, and concurrent callers inside one process. Real HTTP to the
//! sandbox on 127.0.0.1; tokens in a `MemoryStore`, so these need no Secret Service (the
//! keychain is tested through `spotoken` and the app).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use spotify_sandbox::{Sandbox, SandboxConfig, User};
use spotoken_core::activity::Actor;
use spotoken_core::secret::RedirectAddress;
use spotoken_core::{Endpoints, Engine, Error, ManualClock, MemoryStore, Paths, Timestamp};
use std::sync::Arc;
use std::time::Duration;

const DEEP_LINK: &str = "spotoken://callback";

struct Setup {
    _dir: tempfile::TempDir,
    sandbox: Sandbox,
    engine: Arc<Engine>,
    clock: ManualClock,
    user: User,
}

async fn setup(name: &str) -> Setup {
    let user = User { id: format!("engine-{name}-{}", std::process::id()), display_name: format!("Engine {name}") };
    let sandbox = Sandbox::start(SandboxConfig { user: user.clone(), ..Default::default() }, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Timestamp(1_790_000_000));
    let engine = support::engine_on(dir.path(), &sandbox, Arc::new(clock.clone()));
    Setup { _dir: dir, sandbox, engine: Arc::new(engine), clock, user }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deep_link_callback_completes_the_login_that_started_it() {
    let s = setup("deeplink").await;
    let scopes = vec!["user-top-read".to_string()];
    let login = s.engine.begin_login(&scopes, DEEP_LINK.into(), false).unwrap();
    let other = s.engine.begin_login(&scopes, DEEP_LINK.into(), false).unwrap();
    let location = support::consent(login.authorize_url()).await;
    assert!(location.starts_with("spotoken://callback?code="), "{location}");

    // The callback belongs to `login`; `other` refuses it without exchanging.
    let refused = s.engine.complete_login_from_url(&other, &RedirectAddress::of(location.clone())).await.unwrap_err();
    assert!(matches!(refused, Error::StateMismatch), "{refused:?}");
    assert!(s.sandbox.token_requests("authorization_code").is_empty());

    let record = s.engine.complete_login_from_url(&login, &RedirectAddress::of(location.clone())).await.unwrap();
    assert_eq!(record.id, s.user.id);
    assert_eq!(record.granted_scopes, ["user-top-read"]);
    assert_eq!(record.authorized_at, Timestamp(1_790_000_000));
    // Codes are single-use: replaying the same callback fails at Spotify.
    let replay = s.engine.complete_login_from_url(&login, &RedirectAddress::of(location.clone())).await.unwrap_err();
    assert_eq!(replay.diagnose().code, "code_invalid");
    s.engine.logout(&s.user.id).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clock_decides_when_to_refresh_and_when_to_warn() {
    let s = setup("clock").await;
    let login = s.engine.begin_login(&[], DEEP_LINK.into(), false).unwrap();
    let location = support::consent(login.authorize_url()).await;
    s.engine.complete_login_from_url(&login, &RedirectAddress::of(location.clone())).await.unwrap();

    let first = s.engine.fresh_token(None, Duration::from_secs(300), Actor::Cli).await.unwrap();
    assert!(!first.refreshed);
    s.clock.advance(Duration::from_secs(3600 - 301));
    let kept = s.engine.fresh_token(None, Duration::from_secs(300), Actor::Cli).await.unwrap();
    assert!(!kept.refreshed, "301 s left is more than the 300 s asked for");
    assert_eq!(kept.access_token, first.access_token);
    // 300 whole seconds on a clock that counts whole seconds may be 299.1 real ones.
    s.clock.advance(Duration::from_secs(1));
    let second = s.engine.fresh_token(None, Duration::from_secs(300), Actor::Cli).await.unwrap();
    assert!(second.refreshed, "300 s left on the clock is not at least 300 s");
    assert_ne!(first.access_token, second.access_token);

    let status = s.engine.status().unwrap();
    assert!(status.accounts[0].warnings.is_empty());
    s.clock.advance(Duration::from_secs(178 * 86_400));
    let status = s.engine.status().unwrap();
    assert!(
        status.accounts[0].warnings.iter().any(|w| w.contains("refresh token ends in")),
        "{:?}",
        status.accounts[0].warnings
    );
    s.engine.logout(&s.user.id).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_refresh_now_in_one_process_refreshes_once() {
    let s = setup("threads").await;
    let login = s.engine.begin_login(&[], DEEP_LINK.into(), false).unwrap();
    let location = support::consent(login.authorize_url()).await;
    s.engine.complete_login_from_url(&login, &RedirectAddress::of(location.clone())).await.unwrap();
    s.sandbox.control(spotify_sandbox::Control { token_delay_ms: Some(300), ..Default::default() });

    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let engine = s.engine.clone();
            let id = s.user.id.clone();
            tokio::spawn(async move { engine.refresh_now(&id, Actor::Cli).await.unwrap() })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap().access_token);
    }
    assert_eq!(s.sandbox.token_requests("refresh_token").len(), 1);
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    s.engine.logout(&s.user.id).unwrap();
}

/// A user, a sandbox and a home for a test that runs on the real clock (the background
/// refresher sleeps on it).
async fn on_the_wall_clock(name: &str, display_name: &str) -> (User, Sandbox, tempfile::TempDir) {
    let user = User { id: format!("engine-{name}-{}", std::process::id()), display_name: display_name.into() };
    let sandbox = Sandbox::start(SandboxConfig { user: user.clone(), ..Default::default() }, 0).await.unwrap();
    (user, sandbox, tempfile::tempdir().unwrap())
}

fn wall_clock_engine(sandbox: &Sandbox, dir: &tempfile::TempDir) -> Engine {
    Engine::new(
        Paths::under(dir.path()),
        Endpoints::new(&sandbox.url(), &sandbox.url()).unwrap(),
        MemoryStore::default(),
        Arc::new(spotoken_core::SystemClock),
    )
    .unwrap()
    .with_client_id_override(Some(spotify_sandbox::DEMO_CLIENT_ID.into()))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_background_refresher_refreshes_ahead_of_expiry_and_reports_a_dead_sign_in() {
    use spotoken_core::background::{RefreshEvent, Refresher};
    let (user, sandbox, dir) = on_the_wall_clock("background", "Background").await;
    let engine = Arc::new(wall_clock_engine(&sandbox, &dir));
    let login = engine.begin_login(&[], DEEP_LINK.into(), false).unwrap();
    let location = support::consent(login.authorize_url()).await;
    engine.complete_login_from_url(&login, &RedirectAddress::of(location.clone())).await.unwrap();

    // Tokens live an hour; a lead of 3598 s makes the refresh due 2 s from now.
    let refresher = Refresher::new(engine.clone(), Duration::from_secs(3598));
    let wake = refresher.waker();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(refresher.run(move |event| {
        let _ = tx.send(event);
    }));
    let first = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await.expect("no refresh within 15 s");
    assert_eq!(first, Some(RefreshEvent::Refreshed { account: user.id.clone() }));
    assert_eq!(sandbox.token_requests("refresh_token").len(), 1);

    // Spotify revokes the sign-in: the next due refresh reports it, once.
    sandbox.control(spotify_sandbox::Control { revoke: Some("Refresh token revoked".into()), ..Default::default() });
    wake.notify_one();
    let next = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await.expect("no event within 15 s");
    assert!(
        matches!(next, Some(RefreshEvent::NeedsSignIn { ref account, ref name, .. })
            if account == &user.id && name == "Background"),
        "{next:?}"
    );
    wake.notify_one();
    assert!(
        tokio::time::timeout(Duration::from_secs(3), rx.recv()).await.is_err(),
        "an account needing sign-in must be left alone"
    );
    assert_eq!(sandbox.token_requests("refresh_token").len(), 2);
    task.abort();
    engine.logout(&user.id).unwrap();
}

/// The accounts file mirrors the keychain's expiry; when the two disagree (a write lost
/// between them), a hand-out corrects the file instead of leaving the background
/// refresher to see a refresh due that never happens.
#[tokio::test(flavor = "multi_thread")]
async fn an_accounts_file_that_disagrees_with_the_keychain_is_corrected() {
    let s = setup("heal").await;
    let login = s.engine.begin_login(&[], DEEP_LINK.into(), false).unwrap();
    let location = support::consent(login.authorize_url()).await;
    let record = s.engine.complete_login_from_url(&login, &RedirectAddress::of(location.clone())).await.unwrap();
    let truth = record.access_expires_at;

    let file = s._dir.path().join("data/accounts.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let stale = text.replace(&truth.0.to_string(), &(truth.0 - 3500).to_string());
    assert_ne!(stale, text);
    std::fs::write(&file, stale).unwrap();
    assert_eq!(s.engine.accounts().unwrap()[0].access_expires_at, Timestamp(truth.0 - 3500));

    let token = s.engine.fresh_token(None, Duration::from_secs(60), Actor::Cli).await.unwrap();
    assert!(!token.refreshed, "the keychain's token is fresh: no refresh");
    assert!(s.sandbox.token_requests("refresh_token").is_empty());
    assert_eq!(s.engine.accounts().unwrap()[0].access_expires_at, truth);
}

/// The refresher sleeps with nothing to do until told, reports a failure with its
/// back-off, and then leaves the account alone until the retry is due.
#[tokio::test(flavor = "multi_thread")]
async fn the_background_refresher_wakes_when_told_and_backs_off_after_a_failure() {
    use spotoken_core::background::{RefreshEvent, Refresher};
    let (user, sandbox, dir) = on_the_wall_clock("backoff", "Backoff").await;
    let engine = Arc::new(
        wall_clock_engine(&sandbox, &dir).with_retry(spotoken_core::RetryPolicy { attempts: 1, ..Default::default() }),
    );
    // No account yet: the refresher has nothing to wait for and sleeps until told.
    let refresher = Refresher::new(engine.clone(), Duration::from_secs(7200));
    let wake = refresher.waker();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(refresher.run(move |event| {
        let _ = tx.send(event);
    }));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let login = engine.begin_login(&[], DEEP_LINK.into(), false).unwrap();
    let location = support::consent(login.authorize_url()).await;
    engine.complete_login_from_url(&login, &RedirectAddress::of(location.clone())).await.unwrap();
    sandbox.control(spotify_sandbox::Control {
        faults: vec![spotify_sandbox::Fault::status(spotify_sandbox::Endpoint::Token, 503)],
        ..Default::default()
    });
    wake.notify_one();
    let event = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await.expect("the refresher was not woken");
    assert!(
        matches!(event, Some(RefreshEvent::Failed { ref account, retry_in_secs: 60, .. }) if account == &user.id),
        "{event:?}"
    );

    // Told again, it looks, finds the retry a minute away, and sends nothing.
    wake.notify_one();
    assert!(tokio::time::timeout(Duration::from_secs(2), rx.recv()).await.is_err(), "it retried at once");
    // (The failed attempt was answered by the scripted 503; a retry would have succeeded.)
    assert!(sandbox.token_requests("refresh_token").is_empty(), "the back-off was not kept");
    task.abort();
    engine.logout(&user.id).unwrap();
}

/// Settings changes are read-modify-writes under one lock: engines in parallel (as the
/// window, a card's switch and `spotoken login --client-id` are) lose none of each
/// other's changes, and the Client ID from the environment is never written back.
#[test]
fn settings_changes_from_several_engines_at_once_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let engine = |env_id: Option<&str>| {
        Engine::new(
            Paths::under(dir.path()),
            Endpoints::new("http://127.0.0.1:9", "http://127.0.0.1:9").unwrap(),
            MemoryStore::default(),
            Arc::new(spotoken_core::SystemClock),
        )
        .unwrap()
        .with_client_id_override(env_id.map(str::to_string))
    };
    let stored = "0123456789abcdef0123456789abcdef";
    engine(None)
        .update_settings(|s| {
            s.client_id = Some(stored.into());
            Ok(())
        })
        .unwrap();

    let from_env = "fedcba9876543210fedcba9876543210";
    std::thread::scope(|scope| {
        for n in 0..8 {
            let engine = engine(Some(from_env));
            scope.spawn(move || {
                for k in 0..10 {
                    engine
                        .update_settings(|s| {
                            s.ask_before_new_program.push(format!("account-{n}-{k}"));
                            // What the window sends back: the Client ID it shows, the env's.
                            s.client_id = Some(from_env.into());
                            Ok(())
                        })
                        .unwrap();
                }
            });
        }
    });
    let settings = spotoken_core::Settings::load(&Paths::under(dir.path()).settings_file()).unwrap();
    assert_eq!(settings.ask_before_new_program.len(), 80, "{:?}", settings.ask_before_new_program);
    assert_eq!(settings.client_id.as_deref(), Some(stored), "the environment's Client ID was written");

    // A Client ID given explicitly (not the environment's) is saved.
    let other = "00000000000000000000000000000000";
    engine(Some(from_env))
        .update_settings(|s| {
            s.client_id = Some(other.into());
            Ok(())
        })
        .unwrap();
    let settings = spotoken_core::Settings::load(&Paths::under(dir.path()).settings_file()).unwrap();
    assert_eq!(settings.client_id.as_deref(), Some(other));
}
