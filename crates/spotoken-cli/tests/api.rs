//! `spotoken api` and `spotoken exec` against the sandbox's scoped Web API routes, which
//! answer Spotify's own 401/403/429 bodies.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use spotify_sandbox::{Control, Endpoint, Fault, Paging};
use support::{Harness, stderr, stdout};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn api_calls(h: &Harness, endpoint: &str) -> usize {
    h.sandbox.log().iter().filter(|e| e.endpoint == endpoint).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn api_prints_the_answer_and_the_hand_out_is_recorded() {
    let h = Harness::signed_in("api-me", &["user-read-private"]).await;
    for path in ["/me", "/v1/me/", "https://api.spotify.com/v1/me"] {
        let out = h.run(&["api", path]).await;
        assert_eq!(out.status.code(), Some(0), "{path}: {}", stderr(&out));
        assert_eq!(json(&out)["id"], h.user.id.as_str(), "{path}");
    }
    let out = h.run(&["api", "-i", "me"]).await;
    assert!(stdout(&out).starts_with("HTTP 200 OK\n"), "{}", stdout(&out));
    assert!(stdout(&out).to_lowercase().contains("content-type: application/json"), "{}", stdout(&out));

    let out = h.run(&["activity", "--json"]).await;
    let record = json(&out);
    let api = record["events"].as_array().unwrap().iter().filter(|e| e["channel"] == "cli-api").count();
    assert_eq!(api, 4, "{record:#}");
    support::assert_no_secret_in(&h, &h.files());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_scope_is_named_with_the_login_that_adds_it() {
    let h = Harness::signed_in("api-scope", &["user-read-private"]).await;
    let out = h.run(&["api", "/me/player/queue"]).await;
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    // Spotify's own answer on stdout, the explanation on stderr.
    assert_eq!(json(&out)["error"]["message"], "Insufficient client scope");
    let said = stderr(&out);
    assert!(
        said.contains("GET /v1/me/player/queue needs user-read-currently-playing, user-read-playback-state"),
        "{said}"
    );
    let fix = format!(
        "Run `spotoken login --account {} --show-dialog --scope user-read-private --scope user-read-currently-playing --scope user-read-playback-state`.",
        h.user.id
    );
    assert!(said.contains(&fix) && said.ends_with("[scope_missing]\n"), "{said}");

    let again = h
        .login(&[
            "--account",
            &h.user.id,
            "--show-dialog",
            "--scope",
            "user-read-private",
            "--scope",
            "user-read-currently-playing",
            "--scope",
            "user-read-playback-state",
        ])
        .await;
    assert_eq!(again.output.status.code(), Some(0));
    let out = h.run(&["api", "/me/player/queue"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["queue"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn paginate_follows_next_and_joins_the_items() {
    let h = Harness::signed_in("api-pages", &["playlist-read-private"]).await;
    let out = h.run(&["api", "--paginate", "/me/playlists", "-f", "limit=2"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let items = json(&out);
    let names: Vec<&str> = items.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 7, "{names:?}");
    assert_eq!(names[0], "Sandbox Playlist 0");
    assert_eq!(names[6], "Sandbox Playlist 6");
    assert_eq!(api_calls(&h, "playlists"), 4, "7 playlists, 2 a page");

    // Without --paginate: the page as Spotify sent it, `next` included.
    let out = h.run(&["api", "/v1/me/playlists?limit=5"]).await;
    let page = json(&out);
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert!(page["next"].as_str().unwrap().contains("offset=5"), "{page}");
    let out = h.run(&["api", "--paginate", "/playlists/sandboxlist0/items"]).await;
    assert_eq!(json(&out).as_array().unwrap().len(), 3);
}

/// A `next` back to a page already fetched, and a list without end: `--paginate` stops
/// with `pagination_stopped` (exit 5), says why, and what it fetched is valid JSON.
#[tokio::test(flavor = "multi_thread")]
async fn paginate_stops_on_a_repeated_next_and_at_max_pages() {
    let h = Harness::signed_in("api-endless", &["playlist-read-private"]).await;
    h.control(Control { paging: Some(Paging::BackToStart), ..Default::default() });
    let out = h.run(&["api", "--paginate", "/me/playlists", "-f", "limit=3"]).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("pagination_stopped") && said.contains("already fetched"), "{said}");
    assert_eq!(json(&out).as_array().unwrap().len(), 7, "the three pages fetched, printed once each");
    assert_eq!(api_calls(&h, "playlists"), 3, "no page fetched twice");

    h.control(Control { paging: Some(Paging::Endless), ..Default::default() });
    let before = api_calls(&h, "playlists");
    let out = h.run(&["api", "--paginate", "--max-pages", "4", "/me/playlists", "-f", "limit=5"]).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("--max-pages is 4"), "{}", stderr(&out));
    assert_eq!(json(&out).as_array().unwrap().len(), 20, "4 pages of 5, a closed array");
    assert_eq!(api_calls(&h, "playlists") - before, 4);

    // The default bound holds too (200 pages), and no more.
    let before = api_calls(&h, "playlists");
    let out = h.run(&["api", "--paginate", "/me/playlists", "-f", "limit=1"]).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(json(&out).as_array().unwrap().len(), 200);
    assert_eq!(api_calls(&h, "playlists") - before, 200);

    // --max-pages means nothing without --paginate, and 0 is refused.
    assert_eq!(h.run(&["api", "--max-pages", "3", "/me/playlists"]).await.status.code(), Some(2));
    assert_eq!(h.run(&["api", "--paginate", "--max-pages", "0", "/me/playlists"]).await.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refreshed_once_and_the_call_repeated() {
    let h = Harness::signed_in("api-expired", &["user-read-private"]).await;
    // Spotify ends the token early; the keychain still believes it fresh.
    h.control(Control { expire_access_tokens: true, ..Default::default() });
    let out = h.run(&["api", "/me"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["id"], h.user.id.as_str());
    assert_eq!(h.sandbox.token_requests("refresh_token").len(), 1);
    let me: Vec<u16> = h.sandbox.log().iter().filter(|e| e.endpoint == "me").map(|e| e.status).collect();
    assert_eq!(me[me.len() - 2..], [401, 200]);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_are_waited_out_when_short_and_reported_when_long() {
    let h = Harness::signed_in("api-429", &["user-read-playback-state"]).await;
    h.control(Control { faults: vec![Fault::rate_limit(Endpoint::Api, 1)], ..Default::default() });
    let started = std::time::Instant::now();
    let out = h.run(&["api", "/me/player"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "Retry-After was not waited out");
    assert_eq!(json(&out)["device"]["name"], "Sandbox Speaker");

    h.control(Control { faults: vec![Fault::rate_limit(Endpoint::Api, 3600)], ..Default::default() });
    let out = h.run(&["api", "/me/player"]).await;
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr(&out).contains("retry after 3600 s") && stderr(&out).contains("[rate_limited]"), "{}", stderr(&out));

    h.control(Control { faults: vec![Fault::quota_exceeded(Endpoint::Api, 7200)], ..Default::default() });
    let out = h.run(&["api", "/me/player"]).await;
    assert_eq!(out.status.code(), Some(5));
    let said = stderr(&out);
    assert!(
        said.contains("QUOTA_EXCEEDED") && said.contains("wait 2h 00m") && said.contains("[quota_exceeded]"),
        "{said}"
    );
}

/// `-F` types its values (numbers, booleans, null as JSON), `-f` never does, and
/// `-F key=@file` (or `@-`, standard input) sends a file's contents: a JSON value in it as
/// that value, other text as a string. Seen by the sandbox's Create Playlist, which checks
/// each member's JSON type.
#[tokio::test(flavor = "multi_thread")]
async fn typed_fields_and_files_reach_spotify_as_their_types() {
    let h = Harness::signed_in(
        "api-fields",
        &["playlist-modify-private", "playlist-modify-public", "playlist-read-private"],
    )
    .await;
    let description = h.home().join("description.txt");
    std::fs::write(&description, "Made by a script: {not JSON}\n").unwrap();
    let out = h
        .run(&[
            "api",
            "-X",
            "POST",
            "/me/playlists",
            "-f",
            "name=true",
            "-F",
            "public=false",
            "-F",
            "collaborative=true",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let made = json(&out);
    // -f keeps "true" a string; -F makes false and true booleans.
    assert_eq!((&made["name"], &made["public"], &made["collaborative"]), (&json!("true"), &json!(false), &json!(true)));

    let arg = format!("description=@{}", description.display());
    let out = h.run(&["api", "-X", "POST", "/me/playlists", "-f", "name=Mix", "-F", &arg]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["description"], "Made by a script: {not JSON}\n", "a file's text, as it is");
    assert_eq!(json(&out)["public"], true, "Spotify's default when public is not sent");

    // A JSON value in a file (here from standard input) is sent as that value.
    let mut child = h
        .command(&["api", "-X", "POST", "/me/playlists", "-f", "name=Mix", "-F", "description=@-", "-F", "public=null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"  \"quoted\"\n").await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    // `public: null` is not a boolean: Spotify's 400, printed, exit 7.
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(json(&out)["error"]["message"], "Invalid value for field: public");

    // Numbers are numbers: a name of 42 is refused as not a string.
    let out = h.run(&["api", "-X", "POST", "/me/playlists", "-F", "name=42"]).await;
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(json(&out)["error"]["message"], "Invalid value for field: name");
    let out = h.run(&["api", "-X", "POST", "/me/playlists", "-F", "name=4.5e1"]).await;
    assert_eq!(json(&out)["error"]["message"], "Invalid value for field: name");

    // A file that is not there is named, and nothing is sent.
    let before = h.sandbox.log().len();
    let out =
        h.run(&["api", "-X", "POST", "/me/playlists", "-f", "name=Mix", "-F", "description=@/nonexistent/d.txt"]).await;
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("/nonexistent/d.txt"), "{}", stderr(&out));
    assert_eq!(h.sandbox.log().len(), before, "nothing reached Spotify");

    // In a GET, typed fields are query parameters, as text.
    let out = h.run(&["api", "/me/playlists", "-F", "limit=2", "-F", "offset=1"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["items"][0]["id"], "sandboxlist1");
    assert_eq!(json(&out)["limit"], 2);
}

/// A used-up quota (Spotify's Retry-After can be 13 hours) is remembered for the Client
/// ID: `status` shows it, with when it ends in local time, until a call goes through.
#[tokio::test(flavor = "multi_thread")]
async fn a_used_up_quota_is_remembered_for_the_client_id_until_a_call_goes_through() {
    let h = Harness::signed_in("api-quota", &["user-read-playback-state"]).await;
    let (_, status) = h.status_json().await;
    assert!(status["accounts"][0].get("quota_exceeded").is_none(), "{status}");

    h.control(Control { faults: vec![Fault::quota_exceeded(Endpoint::Api, 47_000)], ..Default::default() });
    let asked_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let out = h.run(&["api", "/me/player"]).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));

    // Another script, later: status says so, in JSON and in words.
    let (code, status) = h.status_json().await;
    assert_eq!(code, Some(0), "the sign-in itself is fine: {status}");
    let quota = &status["accounts"][0]["quota_exceeded"];
    let until = quota["until_unix"].as_i64().unwrap();
    assert!((asked_at + 46_990..=asked_at + 47_010).contains(&until), "{quota}");
    assert!(quota["seconds_left"].as_i64().unwrap() > 46_900, "{quota}");
    assert!(quota["until"].as_str().unwrap().ends_with('Z'), "{quota}");
    let text = stdout(&h.run(&["status"]).await);
    let line = text.lines().find(|l| l.trim_start().starts_with("quota")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("USED UP until ") && line.contains("(local time, in 13h 0"), "{line}");
    assert!(line.contains("every program using this Client ID"), "{line}");

    // The quota is back: the next call that Spotify answers clears it.
    let out = h.run(&["api", "/me"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, status) = h.status_json().await;
    assert!(status["accounts"][0].get("quota_exceeded").is_none(), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawn_call_names_its_replacement_and_no_token_leaves_the_web_api() {
    let h = Harness::signed_in("api-withdrawn", &["playlist-read-private"]).await;
    let out = h.run(&["api", "/playlists/sandboxlist0/tracks"]).await;
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(json(&out)["error"]["message"], "Forbidden");
    let said = stderr(&out);
    assert!(
        said.contains("withdrawn for development-mode apps")
            && said.contains("Call GET /playlists/{playlist_id}/items instead"),
        "{said}"
    );
    assert!(said.contains("[endpoint_withdrawn]"), "{said}");

    let before = h.sandbox.log().len();
    for (args, what) in [
        (vec!["api", "https://example.com/v1/me"], "another host"),
        (vec!["api", "/me", "-H", "Authorization: Bearer mine"], "an own Authorization header"),
    ] {
        let out = h.run(&args).await;
        assert_eq!(out.status.code(), Some(2), "{what}");
        assert!(stderr(&out).contains("[not_the_web_api]"), "{what}: {}", stderr(&out));
    }
    assert_eq!(h.sandbox.log().len(), before, "a request went out");
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_runs_a_command_with_a_fresh_token_and_its_exit_code() {
    let h = Harness::signed_in("exec", &["user-read-private"]).await;
    let out = h.run(&["exec", "--", "sh", "-c", "printf %s \"$SPOTIFY_ACCESS_TOKEN\""]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let token = stdout(&out);
    assert!(token.starts_with("BQ"), "{token}");
    assert_eq!(h.me_status(&token).await, 200);

    let out = h.run(&["exec", "--", "sh", "-c", "exit 3"]).await;
    assert_eq!(out.status.code(), Some(3));
    let out = h.run(&["exec", "--", "no-such-program-here"]).await;
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("cannot run no-such-program-here"), "{}", stderr(&out));

    // A token valid for at least --min-valid: asking for more than it has left refreshes.
    let out = h.run(&["exec", "--min-valid", "7200", "--", "true"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(h.sandbox.token_requests("refresh_token").len(), 1);
    let record = json(&h.run(&["activity", "--json"]).await);
    assert!(record["events"].as_array().unwrap().iter().any(|e| e["channel"] == "cli-exec"), "{record:#}");
}
