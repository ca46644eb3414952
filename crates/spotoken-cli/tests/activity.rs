//! The activity record and its anomalies, through the real binary: started by different
//! programs, many at once, against a sandbox that refuses a refresh token early or that
//! a thief has used.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use spotify_sandbox::Control;
use std::process::Output;
use support::{CLIENT_ID, Harness, printed_token, stderr, stdout};

/// `spotoken ARGS` started by `program` (`sh -c`, `python3 -c`), with the harness's
/// environment, as a script there would start it.
async fn run_from(h: &Harness, program: &str, args: &[&str]) -> Output {
    let cmd = h.command(args);
    let std_cmd = cmd.as_std();
    let envs: Vec<(std::ffi::OsString, std::ffi::OsString)> =
        std_cmd.get_envs().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))).collect();
    let bin = env!("CARGO_BIN_EXE_spotoken");
    let mut outer = match program {
        "sh" => {
            let mut c = tokio::process::Command::new("sh");
            // A command after it, so the shell cannot hand its process over to spotoken.
            c.arg("-c").arg(r#""$0" "$@"; status=$?; exit $status"#).arg(bin).args(args);
            c
        }
        "python3" => {
            // The system's, not a version manager's shim script in PATH.
            let mut c = tokio::process::Command::new("/usr/bin/python3");
            c.arg("-c")
                .arg("import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)")
                .arg(bin)
                .args(args);
            c
        }
        other => panic!("no way to start from {other}"),
    };
    outer.envs(envs).stdin(std::process::Stdio::null());
    outer.output().await.unwrap()
}

async fn activity(h: &Harness, extra: &[&str]) -> Value {
    let mut args = vec!["activity", "--json"];
    args.extend_from_slice(extra);
    let out = h.run(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn of_kind<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["events"].as_array().unwrap().iter().filter(|e| e["kind"] == kind).collect()
}

fn codes(report: &Value) -> Vec<String> {
    report["anomalies"].as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap().to_string()).collect()
}

/// `sha256sum`'s first 8 hex characters: the fingerprint, computed by another program.
fn sha256_prefix(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..8].to_string()
}

/// No token, refresh token or code the sandbox issued is anywhere in the record.
fn assert_record_holds_no_secret(h: &Harness) {
    let files: Vec<_> = h.files().into_iter().filter(|f| f.to_string_lossy().contains("/activity/")).collect();
    assert!(files.iter().any(|f| f.to_string_lossy().contains("events-")), "no record written: {files:?}");
    support::assert_no_secret_in(h, &files);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_handout_names_the_program_that_asked_and_new_ones_are_raised() {
    let h = Harness::new("programs").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));

    let from_sh = printed_token(&run_from(&h, "sh", &["token"]).await);
    let from_python = printed_token(&run_from(&h, "python3", &["token"]).await);
    printed_token(&run_from(&h, "sh", &["token"]).await);
    let direct = printed_token(&h.token(&[]).await);

    let report = activity(&h, &[]).await;
    let handouts = of_kind(&report, "handout");
    assert_eq!(handouts.len(), 4, "{report:#}");
    assert!(handouts.iter().all(|e| e["channel"] == "cli-token" && e["outcome"] == "served"));
    let sh_path = std::fs::canonicalize(which("sh")).unwrap();
    let python_path = std::fs::canonicalize("/usr/bin/python3").unwrap();
    assert_eq!(handouts[0]["program_path"], sh_path.to_str().unwrap(), "{:#}", handouts[0]);
    assert_eq!(handouts[0]["program"], sh_path.file_name().unwrap().to_str().unwrap());
    assert_eq!(handouts[1]["program_path"], python_path.to_str().unwrap(), "{:#}", handouts[1]);
    let test_binary = std::env::current_exe().unwrap();
    assert_eq!(handouts[3]["program_path"], test_binary.to_str().unwrap());
    // The fingerprint is the token's SHA-256, as another program computes it.
    assert_eq!(handouts[0]["fingerprint"], sha256_prefix(&from_sh));
    assert_eq!(handouts[1]["fingerprint"], sha256_prefix(&from_python));
    assert_eq!(handouts[3]["fingerprint"], sha256_prefix(&direct));
    assert_eq!(of_kind(&report, "sign-in").len(), 1);

    // Three programs, each new once.
    assert_eq!(codes(&report), ["new_program", "new_program", "new_program"]);
    assert!(report["anomalies"][1]["message"].as_str().unwrap().contains(python_path.to_str().unwrap()));

    // Status mentions them; its exit code is still about sign-in only.
    let status = h.run(&["status"]).await;
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    assert_eq!(stdout(&status).matches("ANOMALY").count(), 3, "{}", stdout(&status));
    let (code, json) = h.status_json().await;
    assert_eq!(code, Some(0));
    assert_eq!(json["accounts"][0]["anomalies"].as_array().unwrap().len(), 3);

    // Acknowledged one by one or all at once, they leave status; the record keeps them.
    let id = report["anomalies"][0]["id"].as_str().unwrap();
    assert_eq!(h.run(&["activity", "--ack", id]).await.status.code(), Some(0));
    let unknown = h.run(&["activity", "--ack", "ffffffff"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no open anomaly has the id ffffffff"), "{}", stderr(&unknown));
    assert_eq!(h.status_json().await.1["accounts"][0]["anomalies"].as_array().unwrap().len(), 2);
    assert_eq!(h.run(&["activity", "--ack", "all"]).await.status.code(), Some(0));
    assert!(!stdout(&h.run(&["status"]).await).contains("ANOMALY"));
    let after = activity(&h, &[]).await;
    assert_eq!(after["anomalies"].as_array().unwrap().len(), 3);
    assert!(after["anomalies"].as_array().unwrap().iter().all(|a| a["acknowledged"] == true));

    // The table for people says the same.
    let table = stdout(&h.run(&["activity"]).await);
    assert!(table.contains("cli-token") && table.contains(&sha256_prefix(&from_python)), "{table}");
    assert!(table.contains(python_path.to_str().unwrap()), "{table}");
    assert_record_holds_no_secret(&h);
}

fn which(program: &str) -> std::path::PathBuf {
    let out = std::process::Command::new("sh").args(["-c", &format!("command -v {program}")]).output().unwrap();
    std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[tokio::test(flavor = "multi_thread")]
async fn many_processes_at_once_lose_nothing_and_a_burst_is_raised() {
    // Tokens live 30 s, so each `spotoken token` (min-valid 60) refreshes: hand-outs
    // and refreshes are written by 30 processes at once.
    let h = Harness::with_ttl("burst", 30).await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    let outputs = h.run_at_once(30, &["token"]).await;
    let tokens: Vec<String> = outputs.iter().map(printed_token).collect();

    let report = activity(&h, &[]).await;
    let handouts = of_kind(&report, "handout");
    assert_eq!(handouts.len(), 30, "a hand-out was lost");
    let refreshes = of_kind(&report, "refresh");
    assert_eq!(refreshes.len(), 30);
    let outcome = match h.sandbox.rotation() {
        spotify_sandbox::Rotation::Rotate => "rotated",
        spotify_sandbox::Rotation::Omit => "omitted",
        spotify_sandbox::Rotation::Same => "kept",
    };
    assert!(refreshes.iter().all(|e| e["outcome"] == outcome && e["by"] == "cli"), "{report:#}");
    let mut printed: Vec<String> = tokens.iter().map(|t| sha256_prefix(t)).collect();
    let mut recorded: Vec<String> = handouts.iter().map(|e| e["fingerprint"].as_str().unwrap().to_string()).collect();
    printed.sort();
    recorded.sort();
    assert_eq!(printed, recorded, "each token handed out is recorded once");
    // 30 in a minute is the limit, not over it.
    assert!(!codes(&report).contains(&"burst".to_string()), "{:?}", codes(&report));

    printed_token(&h.token(&[]).await);
    let report = activity(&h, &[]).await;
    let bursts: Vec<&Value> = report["anomalies"].as_array().unwrap().iter().filter(|a| a["code"] == "burst").collect();
    assert_eq!(bursts.len(), 1, "{report:#}");
    assert!(bursts[0]["message"].as_str().unwrap().starts_with("31 access tokens"), "{}", bursts[0]);
    assert_record_holds_no_secret(&h);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_refused_months_early_is_an_alert() {
    let h = Harness::new("early").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    h.control(Control {
        revoke: Some("Refresh token revoked".into()),
        expire_access_tokens: true,
        ..Default::default()
    });
    let out = h.token(&["--min-valid", "4000"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("possibly used elsewhere or access removed"), "{}", stderr(&out));

    let report = activity(&h, &[]).await;
    assert_eq!(codes(&report), ["refresh_token_rejected_early"]);
    let anomaly = &report["anomalies"][0];
    assert!(anomaly["message"].as_str().unwrap().contains("days before it was due to end"), "{anomaly}");
    let refresh = of_kind(&report, "refresh");
    assert_eq!(refresh.len(), 1);
    assert_eq!((&refresh[0]["outcome"], &refresh[0]["code"]), (&Value::from("failed"), &Value::from("needs_sign_in")));
    let handout = of_kind(&report, "handout");
    assert_eq!((&handout[0]["outcome"], &handout[0]["fingerprint"]), (&Value::from("failed"), &Value::Null));

    // Status keeps its documented exit code (1: needs sign-in) and names the anomaly.
    let status = h.run(&["status"]).await;
    assert_eq!(status.status.code(), Some(1));
    assert!(stdout(&status).contains("ANOMALY        Spotify refused"), "{}", stdout(&status));
    // Asking again right away shares that refusal (no request) and raises nothing new.
    h.token(&["--min-valid", "4000"]).await;
    assert_eq!(codes(&activity(&h, &[]).await), ["refresh_token_rejected_early"]);
    assert_eq!(h.sandbox.token_requests("refresh_token").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thief_using_the_refresh_token_is_noticed_at_the_next_refresh() {
    let h = Harness::new("thief").await;
    // Only where Spotify rotates does a thief's refresh kill Spotoken's copy; where it
    // omits the refresh token (PKCE since July 2026), both copies go on working and
    // nothing on Spotoken's side can tell (the README says so).
    h.sandbox.set_rotation(spotify_sandbox::Rotation::Rotate);
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    // The thief has a copy of the keychain entry and refreshes with it: Spotify
    // rotates, so the copy Spotoken holds is dead from now on.
    let entry: Value = h.keychain_tokens().unwrap();
    let stolen = entry["refresh_token"].as_str().unwrap();
    let answer = h
        .http
        .post(format!("{}/api/token", h.sandbox.url()))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", stolen), ("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);

    // Hand-outs of the still-valid access token go on; the next refresh finds out.
    printed_token(&h.token(&[]).await);
    assert!(codes(&activity(&h, &[]).await).iter().all(|c| c == "new_program"));
    let out = h.token(&["--min-valid", "4000"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let report = activity(&h, &[]).await;
    assert!(codes(&report).contains(&"refresh_token_rejected_early".to_string()), "{report:#}");
    assert_record_holds_no_secret(&h);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_of_an_older_token_than_spotify_last_gave_is_not_an_alert() {
    let h = Harness::new("older").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    // As if a crash lost the newest refresh token: the record's fingerprint is of
    // another one than the keychain holds.
    let accounts = h.home().join("data/spotoken/accounts.json");
    let text = std::fs::read_to_string(&accounts).unwrap();
    let mut json: Value = serde_json::from_str(&text).unwrap();
    assert!(json["accounts"][0]["refresh_fingerprint"].is_string(), "{json:#}");
    json["accounts"][0]["refresh_fingerprint"] = "00000000".into();
    std::fs::write(&accounts, serde_json::to_vec(&json).unwrap()).unwrap();
    h.control(Control { revoke: Some("Invalid refresh token".into()), ..Default::default() });
    assert_eq!(h.token(&["--min-valid", "4000"]).await.status.code(), Some(4));
    assert!(codes(&activity(&h, &[]).await).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_again_with_fewer_scopes_is_raised_and_filters_apply() {
    let h = Harness::new("scopes").await;
    let both = ["--scope", "user-read-private", "--scope", "user-read-email"];
    assert_eq!(h.login(&both).await.output.status.code(), Some(0));
    h.control(Control { granted_scopes: Some(vec!["user-read-private".into()]), ..Default::default() });
    assert_eq!(h.login(&both).await.output.status.code(), Some(0));

    let report = activity(&h, &[]).await;
    let sign_ins: Vec<&Value> = of_kind(&report, "sign-in");
    assert_eq!(sign_ins.iter().map(|e| e["outcome"].as_str().unwrap()).collect::<Vec<_>>(), ["new", "again"]);
    let scopes = of_kind(&report, "scopes");
    assert_eq!(scopes.len(), 1);
    assert_eq!(scopes[0]["detail"], "-user-read-email");
    assert_eq!(codes(&report), ["scopes_reduced"]);

    // Filters: another account has nothing; a short --since still has the last minute.
    let other = activity(&h, &["--account", "someone-else"]).await;
    assert!(other["events"].as_array().unwrap().is_empty() && other["anomalies"].as_array().unwrap().is_empty());
    assert_eq!(activity(&h, &["--since", "5m"]).await["events"].as_array().unwrap().len(), 3);
    let bad = h.run(&["activity", "--since", "yesterday"]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("30m, 24h, 7d or 2w"), "{}", stderr(&bad));

    // Signing out is recorded too.
    assert_eq!(h.run(&["logout"]).await.status.code(), Some(0));
    assert_eq!(of_kind(&activity(&h, &[]).await, "sign-out").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_an_account_in_again_as_another_user_is_an_alert() {
    let h = Harness::new("identity").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    // The browser is signed in to another Spotify account by now.
    let other = spotify_sandbox::User { id: format!("{}-other", h.user.id), display_name: "Someone Else".into() };
    h.control(Control { user: Some(other.clone()), ..Default::default() });
    let again = h.login(&["--account", &h.user.id]).await;
    assert_eq!(again.output.status.code(), Some(0), "{}", stderr(&again.output));
    assert!(stdout(&again.output).contains(&other.id));
    assert!(
        stderr(&again.output).contains("WARNING: Signing in Tester identity again came back as another Spotify user"),
        "{}",
        stderr(&again.output)
    );

    let report = activity(&h, &["--account", &h.user.id]).await;
    assert_eq!(codes(&report), ["identity_changed"]);
    assert_eq!(report["anomalies"][0]["severity"], "alert");
    // Both accounts are kept; the first one was not overwritten.
    let (_, status) = h.status_json().await;
    assert_eq!(status["accounts"].as_array().unwrap().len(), 2);
    // Signing in again as the same user raises nothing.
    h.control(Control { user: Some(h.user.clone()), ..Default::default() });
    assert_eq!(h.login(&["--account", &h.user.id]).await.output.status.code(), Some(0));
    assert_eq!(codes(&activity(&h, &[]).await), ["identity_changed"]);
    // An account that is not signed in cannot be signed in again.
    let unknown = h.run(&["login", "--account", "nobody", "--no-browser"]).await;
    assert_eq!(unknown.status.code(), Some(4), "{}", stderr(&unknown));
}

#[tokio::test(flavor = "multi_thread")]
async fn asking_before_a_new_program_without_the_app_fails_fast_and_known_programs_pass() {
    let h = Harness::new("ask").await;
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    // Known before asking is turned on: the test binary itself.
    printed_token(&h.token(&[]).await);
    let settings = h.home().join("config/spotoken/settings.toml");
    let mut text = std::fs::read_to_string(&settings).unwrap_or_default();
    text.push_str(&format!("ask_before_new_program = [\"{}\"]\n", h.user.id));
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, text).unwrap();

    printed_token(&h.token(&[]).await);
    let started = std::time::Instant::now();
    let out = run_from(&h, "python3", &["token"]).await;
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "it must not wait for an app that is not there");
    assert!(stdout(&out).is_empty());
    let said = stderr(&out);
    assert!(said.contains("asks before a new program gets a token") && said.contains("not running"), "{said}");
    assert!(said.contains("[approval_unavailable]"), "{said}");

    let report = activity(&h, &[]).await;
    let last = of_kind(&report, "handout").pop().unwrap().clone();
    assert_eq!((&last["outcome"], &last["code"]), (&Value::from("failed"), &Value::from("approval_unavailable")));
    assert_eq!(last["program_path"], std::fs::canonicalize("/usr/bin/python3").unwrap().to_str().unwrap());
}
