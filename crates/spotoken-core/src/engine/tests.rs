//! The engine's own tests: naming accounts, their status, settings, and what a login
//! checks before it sends anyone to Spotify.

use super::Engine;
use crate::client_id::ClientId;
use crate::clock::{ManualClock, Timestamp};
use crate::error::{Error, Result};
use crate::store::accounts::AccountRecord;
use crate::store::accounts::sample;
use crate::{Endpoints, MemoryStore, Paths};

/// An engine under `dir` whose Spotify is at `spotify` (its clock at `now`), holding
/// `records`, with the sandbox's demo Client ID.
fn engine_at(dir: &std::path::Path, spotify: &str, now: Timestamp, records: Vec<AccountRecord>) -> Engine {
    let clock = std::sync::Arc::new(ManualClock::new(now));
    let endpoints = Endpoints::new(spotify, spotify).unwrap();
    let engine = Engine::new(Paths::under(dir), endpoints, MemoryStore::default(), clock)
        .unwrap()
        .with_client_id_override(Some(spotify_sandbox::DEMO_CLIENT_ID.into()));
    for record in records {
        engine.accounts.upsert(record).unwrap();
    }
    engine
}

/// [`engine_at`] with nothing answering for Spotify.
fn engine_with(dir: &std::path::Path, records: Vec<AccountRecord>) -> Engine {
    engine_at(dir, "http://127.0.0.1:9", Timestamp(0), records)
}

fn ids(found: Result<AccountRecord>) -> String {
    match found {
        Ok(record) => record.id,
        Err(Error::AmbiguousAccount(ids)) => format!("ambiguous {}", ids.join(" ")),
        Err(Error::UnknownAccount(id)) => format!("unknown {id}"),
        Err(Error::NoAccount) => "none".into(),
        Err(other) => panic!("{other:?}"),
    }
}

/// An account is named by its key, its user id when only one account has it, or
/// `user@` the start of its Client ID; with none named, the only one there is.
#[test]
fn accounts_are_named_by_key_user_or_user_at_client_id() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(ids(engine_with(dir.path(), vec![]).resolve_account(None)), "none");
    let second = ClientId::parse(&"b0b0b0b0".repeat(4)).unwrap();
    let ann_first = sample("ann");
    let ann_second =
        AccountRecord { id: "ann@b0b0b0b0".into(), user_id: "ann".into(), client_id: second, ..sample("x") };
    let engine = engine_with(dir.path(), vec![ann_first, ann_second, sample("bob")]);
    let resolve = |id: Option<&str>| ids(engine.resolve_account(id));

    assert_eq!(resolve(None), "ambiguous ann ann@b0b0b0b0 bob");
    assert_eq!(resolve(Some("bob")), "bob");
    assert_eq!(resolve(Some("ann@b0b0b0b0")), "ann@b0b0b0b0", "a key");
    assert_eq!(resolve(Some("ann@b0b0")), "ann@b0b0b0b0", "the start of a Client ID");
    assert_eq!(resolve(Some("ann@0123")), "ann", "the first Client ID's account");
    assert_eq!(resolve(Some("bob@b0b0")), "unknown bob@b0b0", "bob has no account with that Client ID");
    assert_eq!(resolve(Some("ann@ffff")), "unknown ann@ffff");
    assert_eq!(resolve(Some("ann@")), "unknown ann@", "an empty Client ID names nothing");
    // "ann" is a key itself; a user id held by several keys only is ambiguous.
    assert_eq!(resolve(Some("ann")), "ann");
    engine.accounts.remove("ann").unwrap();
    let third = ClientId::parse(&"c0c0c0c0".repeat(4)).unwrap();
    engine
        .accounts
        .upsert(AccountRecord { id: "ann@c0c0c0c0".into(), user_id: "ann".into(), client_id: third, ..sample("y") })
        .unwrap();
    assert_eq!(resolve(Some("ann")), "ambiguous ann@b0b0b0b0 ann@c0c0c0c0");
    engine.accounts.remove("ann@c0c0c0c0").unwrap();
    assert_eq!(resolve(Some("ann")), "ann@b0b0b0b0", "the user id of the only account that has it");
    engine.accounts.remove("ann@b0b0b0b0").unwrap();
    assert_eq!(resolve(None), "bob");
}

/// Each account's card and status show its own open anomalies, not another's.
#[test]
fn each_account_is_shown_its_own_anomalies() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with(dir.path(), vec![sample("ann"), sample("bob"), sample("cid")]);
    let sh = crate::activity::Program { name: "sh".into(), path: Some("/bin/sh".into()) };
    assert_eq!(engine.activity.check_handout(&sample("bob"), Some(&sh), Timestamp(0), 30).len(), 1);
    let status = engine.status().unwrap();
    let open: Vec<(&str, usize)> = status.accounts.iter().map(|a| (a.id.as_str(), a.anomalies.len())).collect();
    assert_eq!(open, [("ann", 0), ("bob", 1), ("cid", 0)]);
}

/// Settings changed through the engine are what it reads back; asking before a new
/// program is kept per account, and switching it off for one leaves the others.
#[test]
fn settings_changes_are_read_back_and_kept_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with(dir.path(), vec![]);
    engine.set_ask_before_new_program("ann", true).unwrap();
    engine.set_ask_before_new_program("bob", true).unwrap();
    engine.set_ask_before_new_program("ann", true).unwrap();
    assert_eq!(engine.settings().ask_before_new_program, ["bob", "ann"]);
    engine.set_ask_before_new_program("ann", false).unwrap();
    assert_eq!(engine.settings().ask_before_new_program, ["bob"]);
    let again = engine_with(dir.path(), vec![]);
    assert_eq!(again.settings().ask_before_new_program, ["bob"], "saved, not only in memory");
}

/// A folder a sign-in must write into that cannot be one is found before the browser.
#[test]
fn a_login_is_refused_before_the_browser_when_a_folder_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with(dir.path(), vec![]);
    engine.check_ready_for_login().unwrap();
    std::fs::remove_dir_all(engine.paths().locks_dir()).unwrap();
    std::fs::write(engine.paths().locks_dir(), "a file where the locks go").unwrap();
    let refused = engine.check_ready_for_login().unwrap_err();
    assert!(matches!(refused, Error::Io { ref path, .. } if *path == engine.paths().locks_dir()), "{refused:?}");
}

/// Signing an account in again is told apart from a first sign-in: the record says
/// "again", a change of scopes is recorded, and only the account signed in again is
/// compared with who came back (another account's user is not this one's).
#[tokio::test(flavor = "multi_thread")]
async fn signing_in_again_is_recorded_as_such_against_that_account_only() {
    use crate::activity::{Filter, Kind};
    use crate::secret::RedirectAddress;
    let user = spotify_sandbox::User { id: "again-ann".into(), display_name: "Ann".into() };
    let config = spotify_sandbox::SandboxConfig { user, ..Default::default() };
    let sandbox = spotify_sandbox::Sandbox::start(config, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_at(dir.path(), &sandbox.url(), Timestamp(1_790_000_000), vec![sample("someone-else")]);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (account, scopes) in
        [(None, vec!["user-read-private"]), (Some("again-ann"), vec!["user-read-private", "user-top-read"])]
    {
        let scopes: Vec<String> = scopes.into_iter().map(String::from).collect();
        let login = engine.begin_login_for(account, &scopes, "spotoken://callback".into(), false).unwrap();
        let consent = http.get(login.authorize_url().as_str()).send().await.unwrap();
        let location = consent.headers()["location"].to_str().unwrap().to_string();
        engine.complete_login_from_url(&login, &RedirectAddress::of(location)).await.unwrap();
    }
    let filter = Filter { account: Some("again-ann".into()), since: None };
    let events = engine.activity.events(&filter, Timestamp(1_790_000_000));
    let signed_in: Vec<_> = events.iter().filter(|e| e.kind == Kind::SignIn).map(|e| e.outcome.clone()).collect();
    assert_eq!(signed_in, [Some("new".to_string()), Some("again".to_string())]);
    let scopes: Vec<_> = events.iter().filter(|e| e.kind == Kind::Scopes).map(|e| e.detail.clone()).collect();
    assert_eq!(scopes, [Some("+user-top-read".to_string())]);
    assert!(engine.activity.open_anomalies(None).is_empty(), "{:?}", engine.activity.open_anomalies(None));
}

/// Every request the engine makes goes through Spotoken's own HTTP client: redirects
/// handed back, not followed, and Spotoken named.
#[tokio::test]
async fn the_engine_asks_through_spotokens_own_client() {
    use crate::spotify::tests::{answer_of, answering_once};
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with(dir.path(), vec![]);
    let (url, served) = answering_once(answer_of("302 Found", "Location: http://127.0.0.1:9/\r\n", b"")).await;
    let response = engine.http().unwrap().get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302);
    assert!(served.await.unwrap().to_ascii_lowercase().contains("user-agent: spotoken/"));
}
