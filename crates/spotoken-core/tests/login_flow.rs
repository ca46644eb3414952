//! The login in progress as the desktop app holds it ([`LoginFlow`]): what the window is
//! shown of it, a redirect that is not its own refused while it keeps waiting, one
//! outcome per login (replaced, finished, timed out), through the sandbox on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use spotify_sandbox::{Sandbox, SandboxConfig, User};
use spotoken_core::login_flow::LoginFlow;
use spotoken_core::secret::RedirectAddress;
use spotoken_core::{Diagnosis, ManualClock, RedirectKind, Timestamp};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Outcomes = Arc<Mutex<Vec<Result<String, Diagnosis>>>>;

async fn flow(name: &str, timeout: Duration) -> (LoginFlow, Outcomes, Sandbox, tempfile::TempDir, User) {
    let user = User { id: format!("flow-{name}-{}", std::process::id()), display_name: format!("Flow {name}") };
    let sandbox = Sandbox::start(SandboxConfig { user: user.clone(), ..Default::default() }, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = support::engine_on(dir.path(), &sandbox, Arc::new(ManualClock::new(Timestamp(1_790_000_000))));
    let outcomes = Outcomes::default();
    let told = outcomes.clone();
    let flow = LoginFlow::new(
        Arc::new(engine),
        timeout,
        Arc::new(move |outcome| told.lock().unwrap().push(outcome.map(|record| record.id))),
    );
    (flow, outcomes, sandbox, dir, user)
}

fn codes(outcomes: &Outcomes) -> Vec<String> {
    outcomes
        .lock()
        .unwrap()
        .iter()
        .map(|o| match o {
            Ok(id) => format!("ok {id}"),
            Err(d) => d.code.to_string(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deep_link_login_is_shown_replaced_refused_and_finished_once() {
    let (flow, outcomes, sandbox, _dir, user) = flow("deep", Duration::from_secs(600)).await;
    assert_eq!(flow.timeout(), Duration::from_secs(600));
    assert!(flow.pending().is_none());
    let scopes = vec!["user-read-private".to_string()];

    let first = flow.start(RedirectKind::DeepLink, &scopes, false, None).await.unwrap();
    let shown = flow.pending().expect("the window is shown the login in progress");
    assert_eq!((shown.kind, shown.address.secret().as_str()), (RedirectKind::DeepLink, first.as_str()));
    assert_eq!(shown.expires_at, Timestamp(1_790_000_000 + 600));
    // Debug names what is in progress and never the consent page (it carries `state`).
    let debug = format!("{flow:?}");
    assert!(debug.contains("LoginFlow") && debug.contains("DeepLink"), "{debug}");
    assert!(!debug.contains("state") && !debug.contains("http"), "{debug}");

    // A second start replaces the first, which ends as cancelled; its redirect is refused.
    let second = flow.start(RedirectKind::DeepLink, &scopes, false, None).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(codes(&outcomes), ["login_cancelled"]);
    let stale = support::consent(&first).await;
    let refused = flow.deliver_deep_link(RedirectAddress::of(stale)).await.unwrap_err();
    assert_eq!(refused.diagnose().code, "callback_state_mismatch");
    // Refused without ending the login that waits, and without asking Spotify.
    assert_eq!(flow.pending().unwrap().address.secret().as_str(), second.as_str());
    assert_eq!(codes(&outcomes), ["login_cancelled"]);
    assert!(sandbox.token_requests("authorization_code").is_empty());

    let location = support::consent(&second).await;
    let record = flow.deliver_deep_link(RedirectAddress::of(location.clone())).await.unwrap();
    assert_eq!(record.id, user.id);
    assert!(flow.pending().is_none());
    assert_eq!(codes(&outcomes), ["login_cancelled".to_string(), format!("ok {}", user.id)]);
    // Delivered twice (the desktop hands the link over again): nothing is pending.
    let again = flow.deliver_deep_link(RedirectAddress::of(location)).await.unwrap_err();
    assert_eq!(again.diagnose().code, "login_not_pending");
    assert_eq!(sandbox.token_requests("authorization_code").len(), 1);
}

/// This login's redirect carrying Spotify's refusal ends it (its `state` matched): the
/// window is told once, and nothing waits any more.
#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_for_this_login_ends_it() {
    let (flow, outcomes, sandbox, _dir, _user) = flow("refused", Duration::from_secs(600)).await;
    let url = flow.start(RedirectKind::DeepLink, &[], false, None).await.unwrap();
    let state = url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let denied = format!("spotoken://callback?error=access_denied&state={state}");
    let error = flow.deliver_pasted(RedirectAddress::of(format!("  {denied}\n"))).await.unwrap_err();
    assert_eq!(error.diagnose().code, "login_denied");
    assert!(flow.pending().is_none());
    assert_eq!(codes(&outcomes), ["login_denied"]);
    assert!(sandbox.token_requests("authorization_code").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_nobody_finishes_times_out_once() {
    let (flow, outcomes, _sandbox, _dir, _user) = flow("timeout", Duration::from_secs(1)).await;
    flow.start(RedirectKind::DeepLink, &[], false, None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(flow.pending().is_none());
    assert_eq!(codes(&outcomes), ["login_timeout"]);
    flow.cancel();
    assert_eq!(codes(&outcomes), ["login_timeout"], "nothing left to cancel");
}
