//! `spotoken agent`: tokens for programs over a Unix socket, asked with plain HTTP by
//! curl (as any client would), from this process tree and from another user namespace;
//! `spotoken token` asking it first; the hand-outs recorded with the program the kernel
//! names as the peer.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};
use support::{Harness, printed_token, stderr, stdout};

/// A running `spotoken agent` for `h`, stopped when dropped (killed on drop, as every
/// harness command is).
struct Agent {
    _child: tokio::process::Child,
}

impl Agent {
    async fn start(h: &Harness) -> Self {
        let child = h
            .command(&["agent"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::os::unix::net::UnixStream::connect(h.agent_socket()).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "the agent did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { _child: child }
    }
}

/// `curl --unix-socket` (through `launcher`, e.g. `unshare …`): status and JSON body.
fn curl(h: &Harness, launcher: &[&str], path: &str) -> (u16, serde_json::Value) {
    let socket = h.agent_socket();
    let out = std::process::Command::new(launcher.first().copied().unwrap_or("curl"))
        .args(launcher.iter().skip(1))
        .args(if launcher.is_empty() { vec![] } else { vec!["curl"] })
        .args(["-s", "-w", "\n%{http_code}", "--unix-socket", socket.to_str().unwrap()])
        .arg(format!("http://agent{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap_or_else(|| panic!("curl said {text:?}"));
    (status.parse().unwrap(), serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}")))
}

/// (channel, program) of every hand-out in an `activity --json` report.
fn handouts(report: &str) -> Vec<(String, String)> {
    let report: serde_json::Value = serde_json::from_str(report).unwrap();
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "handout")
        .map(|e| (e["channel"].as_str().unwrap_or("").to_string(), e["program"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn programs_get_tokens_from_the_agent_and_are_named_by_the_kernel() {
    let h = Harness::signed_in("agent", &["user-read-private"]).await;
    let agent = Agent::start(&h).await;
    let socket = h.agent_socket();
    assert_eq!(socket.metadata().unwrap().permissions().mode() & 0o777, 0o600, "the socket is the person's only");
    assert_eq!(socket.parent().unwrap().metadata().unwrap().permissions().mode() & 0o777, 0o700);

    // curl, as any HTTP client.
    let (status, answer) = curl(&h, &[], "/v1/token?min_valid=60");
    assert_eq!(status, 200, "{answer}");
    let token = answer["access_token"].as_str().unwrap().to_string();
    assert_eq!(h.me_status(&token).await, 200);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["account"], h.user.id.as_str());
    assert!(answer["scope"].as_str().unwrap().contains("user-read-private"), "{answer}");
    let expires_in = answer["expires_in"].as_i64().unwrap();
    assert!((3000..=3600).contains(&expires_in), "{answer}");
    assert!(answer["expires_at"].as_str().unwrap().ends_with('Z'));

    let (status, report) = curl(&h, &[], "/v1/status");
    assert_eq!(status, 200);
    assert_eq!(report["accounts"][0]["id"], h.user.id.as_str());

    // Errors: the command line's codes, an HTTP status that fits.
    let (status, answer) = curl(&h, &[], "/v1/token?account=nobody");
    assert_eq!((status, &answer["error"]["code"]), (401, &serde_json::json!("account_unknown")), "{answer}");
    assert!(answer["error"]["fix"].as_str().is_some_and(|f| !f.is_empty()));
    let (status, answer) = curl(&h, &[], "/v1/token?min_valid=soon");
    assert_eq!(status, 400, "{answer}");
    let (status, _) = curl(&h, &[], "/v1/elsewhere");
    assert_eq!(status, 404);

    // A client in another user namespace and process tree (a container's view).
    let (status, answer) = curl(&h, &["unshare", "--user", "--map-root-user", "setsid"], "/v1/token");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["access_token"].as_str().unwrap(), token);

    // `spotoken token` asks the agent first; SPOTOKEN_AGENT=off goes to the keychain.
    let through = printed_token(&h.token(&[]).await);
    assert_eq!(through, token);
    let direct = h.command(&["token"]).env("SPOTOKEN_AGENT", "off").output().await.unwrap();
    assert_eq!(printed_token(&direct), token);

    // Only one agent listens.
    let second = h.command(&["agent"]).output().await.unwrap();
    assert_eq!(second.status.code(), Some(3), "{}", stderr(&second));
    assert!(stderr(&second).contains("[agent_running]"), "{}", stderr(&second));

    // The record: curl by name (the kernel's peer), `spotoken token` as the program that
    // started it (this test), the direct one as before.
    let report = stdout(&h.run(&["activity", "--json"]).await);
    let seen = handouts(&report);
    let me = std::env::current_exe().unwrap().file_name().unwrap().to_str().unwrap().to_string();
    // The two that got a token: from here and from the other namespace.
    assert_eq!(seen.iter().filter(|(c, p)| c == "agent" && p == "curl").count(), 2, "{seen:?}");
    assert!(seen.contains(&("agent".to_string(), me.clone())), "{seen:?}");
    assert!(seen.contains(&("cli-token".to_string(), me)), "{seen:?}");
    assert!(!report.contains(&token), "the record holds no token");

    // Stopped: `spotoken token` goes on without it.
    drop(agent);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(printed_token(&h.token(&[]).await), token);
}

/// A failure the agent meets is said by `spotoken token` as if it had met it itself:
/// same words, same code, same exit code.
#[tokio::test(flavor = "multi_thread")]
async fn a_failure_through_the_agent_reads_as_the_command_lines_own() {
    let h = Harness::with_ttl("agent-refused", 30).await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    let _agent = Agent::start(&h).await;
    h.sandbox.push_fault(spotify_sandbox::Fault::oauth(400, "invalid_grant", "Refresh token revoked"));
    let through = h.token(&[]).await;
    assert_eq!(through.status.code(), Some(4), "{}", stderr(&through));
    let said = stderr(&through);
    assert!(said.starts_with("spotoken: ") && said.contains("[needs_sign_in]"), "{said}");
    assert!(said.contains("Refresh token revoked") && said.contains("spotoken login"), "{said}");
}

/// spotipy from PyPI with `contrib/python`'s auth manager: every token from the agent
/// (then, with no agent, from `spotoken token --json`), none refreshed or stored by the
/// library. Tokens live 8 s here, so 15 s of calls cross several refreshes: every call
/// succeeds, every refresh Spotify is asked for succeeds (with rotation too: one
/// refresher, nothing lost), and spotipy writes no cache.
#[tokio::test(flavor = "multi_thread")]
async fn spotipy_takes_its_tokens_from_the_agent() {
    let python = spotify_sandbox::test_python();
    assert!(python.exists(), "{} is missing: run scripts/install-deps --for-tests", python.display());
    let h = Harness::with_ttl("agent-spotipy", 8).await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    let _agent = Agent::start(&h).await;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The command line spotipy falls back to, in this harness's environment.
    let spotoken = h.home().join("spotoken.sh");
    std::fs::write(
        &spotoken,
        format!(
            "#!/bin/sh\nexport XDG_CONFIG_HOME='{home}/config' XDG_DATA_HOME='{home}/data' XDG_STATE_HOME='{home}/state' \
             SPOTOKEN_ACCOUNTS_URL='{url}' SPOTOKEN_API_URL='{url}'\nexec '{bin}' \"$@\"\n",
            home = h.home().display(),
            url = h.sandbox.url(),
            bin = env!("CARGO_BIN_EXE_spotoken")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&spotoken, std::fs::Permissions::from_mode(0o755)).unwrap();
    let workdir = h.home().join("script");
    std::fs::create_dir_all(&workdir).unwrap();
    let out = tokio::process::Command::new(&python)
        .arg(root.join("crates/spotoken-cli/tests/spotipy_on_spotoken.py"))
        .arg(root.join("contrib/python"))
        .arg(h.sandbox.url())
        .arg(h.agent_socket())
        .arg(&spotoken)
        .arg("15")
        .current_dir(&workdir)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let result: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    println!("{result}");
    assert_eq!(result["failures"], serde_json::json!([]), "{result}");
    assert!(result["calls"].as_u64().unwrap() > 50, "{result}");
    assert!(result["tokens"].as_u64().unwrap() >= 2, "tokens were refreshed on the way: {result}");
    assert_eq!(result["source"], "agent");
    assert_eq!(
        (&result["fallback_me"], &result["fallback_source"]),
        (&serde_json::json!(h.user.id), &serde_json::json!("command line"))
    );
    assert_eq!(result["unknown_account"], "account_unknown");
    let refreshes = h.sandbox.token_requests("refresh_token");
    assert!(refreshes.len() >= 2 && refreshes.iter().all(|r| r.status == 200), "{refreshes:?}");
    // spotipy kept nothing of its own (its default cache file is `.cache`).
    assert!(std::fs::read_dir(&workdir).unwrap().next().is_none(), "spotipy wrote a cache");
    assert!(!printed_token(&h.token(&[]).await).is_empty());
}
