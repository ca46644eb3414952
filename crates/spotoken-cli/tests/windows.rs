//! The Windows `spotoken.exe`, run for real by Wine, against the sandbox on 127.0.0.1:
//! sign-in through the loopback redirect and through a pasted address, `token`, a
//! refresh, `status`, `activity`, `api`, `exec`, `logout`. The tokens must land in
//! Windows' Credential Manager (Wine's, through the keyring crate's Windows backend)
//! and nowhere else on disk.
//!
//! The test itself runs on Linux. It needs the Windows build and a Wine prefix, which
//! `scripts/check-platforms wine` makes and then runs this with `--ignored`, one test
//! at a time (Windows keeps Spotoken's files in the profile's folders, one set per
//! prefix).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::{Harness, assert_no_secret_in, printed_token, stderr, stdout};

/// The generic credentials Wine's Credential Manager holds, listed by target name.
fn credentials() -> String {
    let out = std::process::Command::new("wine")
        .args(["reg", "query", r"HKCU\Software\Wine\Credential Manager", "/s"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file the Windows build could have written to: Spotoken's folders in the
/// profile, and the prefix's registry files (where the Credential Manager keeps its
/// encrypted entries).
fn written_files(h: &Harness) -> Vec<PathBuf> {
    let wine = h.wine.as_ref().unwrap();
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() { walk(&path, out) } else { out.push(path) }
        }
    }
    let mut files = Vec::new();
    for folder in wine.spotoken_folders() {
        walk(&folder, &mut files);
    }
    files.extend(
        ["user.reg", "system.reg", "userdef.reg"].map(|f| wine.prefix.join(f)).into_iter().filter(|p| p.exists()),
    );
    files
}

/// Wine writes the registry to its files when its server goes idle: wait for that.
fn flush_registry() {
    let _ = std::process::Command::new("wineserver").arg("-w").status();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the Windows build and Wine: scripts/check-platforms wine"]
async fn the_windows_command_line_signs_in_serves_and_forgets() {
    let h = Harness::under_wine("win", 3600).await;
    let target = format!("{}.spotoken", h.user.id);
    assert!(!credentials().contains(&target), "a credential from an earlier run is left");

    // Sign-in through the loopback redirect: the browser's redirect reaches the
    // Windows process's listener on 127.0.0.1.
    let login = h.login(&["--scope", "user-read-private", "--preset", "playback"]).await;
    assert_eq!(login.output.status.code(), Some(0), "{}", stderr(&login.output));
    assert!(stdout(&login.output).contains(&format!("Logged in as {} ({})", h.user.display_name, h.user.id)));
    assert_eq!(login.page_status, 200);
    assert!(credentials().contains(&target), "no credential {target} in Wine's Credential Manager");

    // The settings and records are in %APPDATA%, not in XDG_* (which Windows ignores).
    let [roaming, _local] = h.wine.as_ref().unwrap().spotoken_folders();
    assert!(roaming.join("data/accounts.json").is_file(), "no accounts.json under {}", roaming.display());
    // (Wine itself makes menu and MIME folders there.)
    for xdg in ["config", "data", "state"] {
        assert!(!h.home().join(xdg).join("spotoken").exists(), "the Windows build wrote to XDG's {xdg} folder");
    }

    let token = printed_token(&h.token(&[]).await);
    assert_eq!(h.me_status(&token).await, 200);
    assert!(h.sandbox.token_requests("refresh_token").is_empty());

    // The program that asked: cmd.exe, read from Windows' process table.
    let out = h.command_through(&["cmd", "/c"], &["token"]).output().await.unwrap();
    assert_eq!(printed_token(&out), token);

    let (code, status) = h.status_json().await;
    assert_eq!(code, Some(0), "{status}");
    let account = &status["accounts"][0];
    assert_eq!(account["state"], "ok");
    assert_eq!(account["keychain"]["state"], "ok", "{account}");

    // api and exec, through the same hand-out.
    let me = h.run(&["api", "/me"]).await;
    assert_eq!(me.status.code(), Some(0), "{}", stderr(&me));
    let me: serde_json::Value = serde_json::from_slice(&me.stdout).unwrap();
    assert_eq!(me["id"], h.user.id.as_str());
    let exec = h.run(&["exec", "--", "cmd", "/c", "exit 3"]).await;
    assert_eq!(exec.status.code(), Some(3), "exec passes the command's code on: {}", stderr(&exec));
    let echoed = h.run(&["exec", "--", "cmd", "/c", "echo %SPOTIFY_ACCESS_TOKEN%"]).await;
    assert_eq!(stdout(&echoed).trim(), token, "{}", stderr(&echoed));
    let missing = h.run(&["exec", "--", "no-such-program-here"]).await;
    assert_eq!(missing.status.code(), Some(127), "{}", stderr(&missing));

    let activity = h.run(&["activity", "--json"]).await;
    assert_eq!(activity.status.code(), Some(0), "{}", stderr(&activity));
    let activity: serde_json::Value = serde_json::from_slice(&activity.stdout).unwrap();
    let events = activity["events"].as_array().unwrap();
    let channels: Vec<&str> = events.iter().filter_map(|e| e["channel"].as_str()).collect();
    for channel in ["cli-token", "cli-api", "cli-exec"] {
        assert!(channels.contains(&channel), "no {channel} hand-out recorded: {channels:?}");
    }
    let by_cmd = events
        .iter()
        .find(|e| e["program"].as_str().is_some_and(|p| p.eq_ignore_ascii_case("cmd.exe")))
        .unwrap_or_else(|| panic!("the hand-out through cmd.exe names it: {events:?}"));
    let path = by_cmd["program_path"].as_str().unwrap_or_default().to_ascii_lowercase();
    assert!(path.ends_with(r"\cmd.exe") && path.starts_with("c:\\"), "a Windows path: {path}");

    flush_registry();
    assert_no_secret_in(&h, &written_files(&h));

    let out = h.run(&["logout"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!credentials().contains(&target), "logout left the credential behind");
    let after = h.token(&[]).await;
    assert_eq!(after.status.code(), Some(4), "no account after logout: {}", stderr(&after));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the Windows build and Wine: scripts/check-platforms wine"]
async fn the_windows_command_line_signs_in_from_a_pasted_address_and_refreshes() {
    use tokio::io::AsyncWriteExt;
    // Tokens that live 30 s: every `token` (at least 60 s valid) refreshes.
    let h = Harness::under_wine("winpaste", 30).await;
    let (mut child, url, _) = h.start_login(&[]).await;
    let started = Instant::now();
    while !h.stderr_so_far().contains("paste it here") {
        assert!(started.elapsed() < Duration::from_secs(30), "no paste hint: {}", h.stderr_so_far());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let location = h.authorize(&url).await;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"not an address\r\n").await.unwrap();
    stdin.write_all(format!("{location}\r\n").as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();
    let output = h.finish(child).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("[callback_invalid]"), "the noise was refused: {}", stderr(&output));
    assert_eq!(h.sandbox.token_requests("authorization_code").len(), 1);

    let first = printed_token(&h.token(&[]).await);
    let second = printed_token(&h.token(&[]).await);
    assert_ne!(first, second, "each token was refreshed");
    assert_eq!(h.sandbox.token_requests("refresh_token").len(), 2);
    assert_eq!(h.me_status(&second).await, 200);

    // Eight processes asking at once, while the stored token has under a minute left
    // and Spotify now gives hour-long ones: the lock (LockFileEx) lets one refresh, the
    // others wait, re-read the Credential Manager and hand out its token.
    h.control(spotify_sandbox::Control { access_ttl_secs: Some(3600), ..Default::default() });
    let outputs = h.run_at_once(8, &["token"]).await;
    let tokens: std::collections::BTreeSet<String> = outputs.iter().map(printed_token).collect();
    assert_eq!(tokens.len(), 1, "all eight got the one refreshed token: {tokens:?}");
    assert_eq!(h.sandbox.token_requests("refresh_token").len(), 3, "exactly one more refresh");

    let activity: serde_json::Value = serde_json::from_slice(&h.run(&["activity", "--json"]).await.stdout).unwrap();
    let events = activity["events"].as_array().unwrap();
    assert_eq!(events.iter().filter(|e| e["kind"] == "refresh").count(), 3, "{activity}");
    // Appends from nine processes, none lost or torn (each line parsed above).
    assert_eq!(events.iter().filter(|e| e["kind"] == "handout").count(), 10, "{activity}");

    flush_registry();
    assert_no_secret_in(&h, &written_files(&h));
    assert_eq!(h.run(&["logout"]).await.status.code(), Some(0));
}
