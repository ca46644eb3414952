//! `spotoken scopes`: which scopes a call needs, against an account signed in through
//! the sandbox with some scopes and not others.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Harness, stderr, stdout};

async fn signed_in(name: &str) -> Harness {
    Harness::signed_in(name, &["user-read-private", "user-read-currently-playing"]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_the_account_can_make_exits_0() {
    let h = signed_in("scopes-can").await;
    // GET /me: its two scopes only add fields, and this account has one of them.
    for path in ["/v1/me/", "https://api.spotify.com/v1/me?fields=id", "me"] {
        let out = h.run(&["scopes", "GET", path]).await;
        assert_eq!(out.status.code(), Some(0), "{path}: {}{}", stdout(&out), stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("GET /me — Get Current User's Profile"), "{text}");
        assert!(text.contains(&format!("✓ Tester scopes-can ({}): can call it", h.user.id)), "{text}");
        assert!(text.contains("optional     user-read-private, user-read-email"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_scope_exits_9_and_says_how_to_add_it() {
    let h = signed_in("scopes-missing").await;
    let out = h.run(&["scopes", "GET", "/me/player/queue", "--account", &h.user.id]).await;
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("needs        user-read-currently-playing, user-read-playback-state"), "{text}");
    assert!(text.contains("missing user-read-playback-state."), "{text}");
    let fix_start = format!("Run `spotoken login --account {} --show-dialog --scope ", h.user.id);
    let fix_line = text.lines().find(|l| l.contains(&fix_start)).unwrap_or_else(|| panic!("{text}"));
    for scope in ["user-read-private", "user-read-currently-playing", "user-read-playback-state"] {
        assert!(fix_line.contains(&format!("--scope {scope}")), "{fix_line}");
    }

    // The same as JSON, and the fix works: after it the call is possible.
    let out = h.run(&["scopes", "GET", "/me/player/queue", "--json"]).await;
    assert_eq!(out.status.code(), Some(9));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["can_call"], false);
    assert_eq!(json["operations"][0]["operation_id"], "get-queue");
    assert_eq!(json["accounts"][0]["missing"], serde_json::json!(["user-read-playback-state"]));
    let fix = json["accounts"][0]["fix"].as_str().unwrap();
    assert!(fix_line.contains(fix), "{fix_line} / {fix}");
    let args: Vec<&str> = fix.split_whitespace().skip(2).collect();
    let again = h.login(&args).await;
    assert_eq!(again.output.status.code(), Some(0), "{}", stderr(&again.output));
    let out = h.run(&["scopes", "GET", "/me/player/queue"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawn_call_names_its_replacement_and_exits_9() {
    let h = Harness::signed_in("scopes-withdrawn", &["playlist-read-private"]).await;
    let out = h.run(&["scopes", "GET", "/v1/playlists/37i9dQZF1DXcBWIGoYBM5M/tracks?limit=5"]).await;
    assert_eq!(out.status.code(), Some(9));
    let text = stdout(&out);
    assert!(
        text.contains("WITHDRAWN    for development-mode apps; use GET /playlists/{playlist_id}/items instead"),
        "{text}"
    );
    assert!(text.contains("has the scopes, but the call is withdrawn"), "{text}");
    let out = h.run(&["scopes", "GET", "/v1/playlists/37i9dQZF1DXcBWIGoYBM5M/items"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_paths_the_list_and_several_methods() {
    let h = Harness::new("scopes-list").await;
    let out = h.run(&["scopes", "GET", "/v1/nothing/here"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("[endpoint_unknown]"), "{}", stderr(&out));

    let out = h.run(&["scopes", "--list"]).await;
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), spotoken_core::catalog::operations().len());
    assert!(
        lines.iter().any(|l| l.starts_with("GET    /me/player/queue")
            && l.ends_with("user-read-currently-playing,user-read-playback-state")),
        "{lines:?}"
    );
    let out = h.run(&["scopes", "--list", "--json"]).await;
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["operations"].as_array().unwrap().len(), lines.len());

    // A path alone: every method on it; no account signed in: it cannot be called.
    let out = h.run(&["scopes", "/me/player/queue"]).await;
    assert_eq!(out.status.code(), Some(9));
    let text = stdout(&out);
    assert!(text.contains("GET /me/player/queue") && text.contains("POST /me/player/queue"), "{text}");
    assert!(text.contains("No account is signed in"), "{text}");
}

/// Completions and the man page come from the same definitions as `--help`.
#[tokio::test(flavor = "multi_thread")]
async fn completions_and_the_man_page_know_every_command() {
    let h = Harness::new("completions").await;
    let out = h.run(&["completions", "bash"]).await;
    assert_eq!(out.status.code(), Some(0));
    let script = h.home().join("spotoken.bash");
    std::fs::write(&script, stdout(&out)).unwrap();
    // Through bash itself: what completing `spotoken s` and `spotoken api --p` offers.
    let offered = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(spotoken s); COMP_CWORD=1; _spotoken spotoken s spotoken; echo \"${{COMPREPLY[*]}}\"; \
             COMP_WORDS=(spotoken api --p); COMP_CWORD=2; _spotoken spotoken --p api; echo \"${{COMPREPLY[*]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&offered.stdout);
    let mut lines = offered.lines();
    let mut first: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    first.sort();
    assert_eq!(first, ["scopes", "status", "store-key"], "{offered}");
    assert_eq!(lines.next().unwrap_or_default().trim(), "--paginate", "{offered}");

    for shell in ["zsh", "fish"] {
        let out = h.run(&["completions", shell]).await;
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout(&out).contains("paginate"), "{shell}");
    }
    let out = h.run(&["manpage"]).await;
    let page = stdout(&out);
    assert!(page.contains(".TH spotoken 1"), "{page}");
    for command in ["login", "token", "status", "activity", "scopes", "api", "exec", "completions", "logout"] {
        assert!(page.contains(&format!("spotoken\\-{command}")), "{command} is not in the man page");
    }
    // A page for each command, as the package ships them.
    let dir = h.home().join("man");
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(h.run(&["manpage", dir.to_str().unwrap()]).await.status.code(), Some(0));
    let api = std::fs::read_to_string(dir.join("spotoken-api.1")).unwrap();
    assert!(api.contains(".TH spotoken-api 1") && api.contains("paginate"), "{api}");
}
