//! On a server, a Raspberry Pi or in a container: no D-Bus session at all, so no
//! keychain. The encrypted-file store chosen explicitly, a key made by
//! `spotoken store-key`, a sign-in with the address pasted from a browser elsewhere, the
//! agent serving a client over its socket and restarted (the tokens survive it), a wrong
//! key and a missing one said plainly, and no token in any file or log.
// Linux: the agent's Unix socket and the test's missing session bus.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};
use support::{Harness, assert_no_secret_in, printed_token, stderr};
use tokio::io::AsyncWriteExt;

/// The server's environment: no session bus, no display, the encrypted-file store.
fn server(cmd: &mut tokio::process::Command, key: &std::path::Path) {
    cmd.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("SPOTOKEN_STORE", "encrypted-file")
        .env("SPOTOKEN_KEY_FILE", key);
}

async fn start_agent(h: &Harness, key: &std::path::Path, log: &std::path::Path) -> tokio::process::Child {
    let mut cmd = h.command(&["agent"]);
    server(&mut cmd, key);
    let child = cmd.env("RUST_LOG", "spotoken_core=debug").stderr(std::fs::File::create(log).unwrap()).spawn().unwrap();
    let started = Instant::now();
    while std::os::unix::net::UnixStream::connect(h.agent_socket()).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the agent did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

fn curl_token(h: &Harness) -> serde_json::Value {
    let out = std::process::Command::new("curl")
        .args(["-s", "--fail-with-body", "--unix-socket", h.agent_socket().to_str().unwrap()])
        .arg("http://agent/v1/token")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_a_keychain_signs_in_serves_and_survives_restarts() {
    // Tokens live 30 s: each `token` (min-valid 60) refreshes, so refreshes are stored too.
    let h = Harness::with_ttl("server", 30).await;
    let key = h.home().join("secrets/spotoken.key");
    let run = |args: &[&str], key: &std::path::Path| {
        let mut cmd = h.command(args);
        server(&mut cmd, key);
        cmd
    };

    // Without the store chosen, the error names both ways out.
    let mut plain = h.command(&["login", "--no-browser"]);
    plain.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus").env_remove("DISPLAY");
    let out = plain.output().await.unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[keychain_no_session_bus]") && stderr(&out).contains("encrypted-file"),
        "{}",
        stderr(&out)
    );
    // The store chosen but no key: said plainly, before any browser.
    let out = run(&["login", "--no-browser"], &key).output().await.unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("[store_key_unusable]"), "{}", stderr(&out));
    let mut no_key = h.command(&["login", "--no-browser"]);
    no_key.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus").env("SPOTOKEN_STORE", "encrypted-file");
    let out = no_key.env_remove("SPOTOKEN_KEY_FILE").env_remove("CREDENTIALS_DIRECTORY").output().await.unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[store_key_missing]") && stderr(&out).contains("spotoken store-key"),
        "{}",
        stderr(&out)
    );
    assert!(h.sandbox.log().is_empty(), "nobody was sent to Spotify");

    let out = run(&["store-key", key.to_str().unwrap()], &key).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(key.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    assert_ne!(
        run(&["store-key", key.to_str().unwrap()], &key).output().await.unwrap().status.code(),
        Some(0),
        "never overwritten"
    );

    // Sign in with the address pasted from a browser elsewhere.
    let mut login = run(&["login", "--no-browser"], &key);
    let mut child = login
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = String::new();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
        said.push_str(&line);
        if let Some(rest) = line.trim().strip_prefix("http") {
            break format!("http{rest}");
        }
    };
    // Read on, as a terminal would: a closed stderr would end the login.
    let rest = tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            said.push_str(&line);
        }
        said
    });
    let location = h.authorize(&url).await;
    child.stdin.take().unwrap().write_all(format!("{location}\n").as_bytes()).await.unwrap();
    let login = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await.unwrap().unwrap();
    let said = rest.await.unwrap();
    assert_eq!(login.status.code(), Some(0), "{said} / {:?} {}", login.status, support::stdout(&login));
    let told = format!("{}{said}", support::stdout(&login));
    assert!(told.contains("Logged in"), "{told}");

    let tokens = h.home().join("data/spotoken/tokens");
    let files: Vec<_> = std::fs::read_dir(&tokens).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].metadata().unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(tokens.metadata().unwrap().permissions().mode() & 0o777, 0o700);

    // Tokens, refreshed and stored.
    let first = printed_token(&run(&["token"], &key).output().await.unwrap());
    assert_eq!(h.me_status(&first).await, 200);
    let second = printed_token(&run(&["token"], &key).output().await.unwrap());
    assert_ne!(first, second, "refreshed again");
    assert_eq!(h.me_status(&second).await, 200);
    assert!(h.sandbox.token_requests("refresh_token").iter().all(|r| r.status == 200));
    let status = run(&["status", "--json"], &key).output().await.unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["accounts"][0]["keychain"]["state"], "ok", "{status}");

    // The agent serves a client; restarted, it still does (the tokens were on disk).
    let log = h.home().join("agent.log");
    let mut agent = start_agent(&h, &key, &log).await;
    let served = curl_token(&h);
    assert_eq!(h.me_status(served["access_token"].as_str().unwrap()).await, 200);
    agent.kill().await.unwrap();
    let mut agent = start_agent(&h, &key, &h.home().join("agent-2.log")).await;
    let again = curl_token(&h);
    assert_eq!(h.me_status(again["access_token"].as_str().unwrap()).await, 200);
    agent.kill().await.unwrap();

    // A wrong key: said, and nothing changed.
    let other = h.home().join("secrets/other.key");
    assert_eq!(run(&["store-key", other.to_str().unwrap()], &other).output().await.unwrap().status.code(), Some(0));
    let before = std::fs::read(&files[0]).unwrap();
    let out = run(&["token"], &other).output().await.unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[store_key_wrong]") && stderr(&out).contains("Nothing was changed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&files[0]).unwrap(), before);
    assert_eq!(h.me_status(&printed_token(&run(&["token"], &key).output().await.unwrap())).await, 200);

    // No token anywhere on disk in the clear, the agent's debug logs included.
    assert_no_secret_in(&h, &h.files());
}
