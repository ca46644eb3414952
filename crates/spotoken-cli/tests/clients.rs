//! One person through several Client IDs: each (Client ID, user) is its own account,
//! with its own keychain entry and refreshes through its own Client ID; accounts kept by
//! an older version (keyed by user id alone) keep working beside them.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use spotify_sandbox::{DEMO_CLIENT_ID, SECOND_CLIENT_ID};
use support::{Harness, printed_token, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn a_second_client_id_adds_an_account_instead_of_replacing_the_first() {
    let h = Harness::new("clients").await;
    let user = h.user.id.clone();
    assert_eq!(h.login(&[]).await.output.status.code(), Some(0));
    // As a version before user_id would have written it: the record keyed by user id only.
    let accounts = h.home().join("data/spotoken/accounts.json");
    let mut file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&accounts).unwrap()).unwrap();
    file["accounts"][0].as_object_mut().unwrap().remove("user_id");
    std::fs::write(&accounts, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    let first_entry = h.keychain_entry().expect("the first account's keychain entry");

    let second = h.login(&["--client-id", SECOND_CLIENT_ID]).await;
    assert_eq!(second.output.status.code(), Some(0), "{}", stderr(&second.output));
    let second_key = format!("{user}@0b5e55ed");

    // Both accounts, each with its Client ID; the first untouched.
    let (_, status) = h.status_json().await;
    let ids: Vec<&str> = status["accounts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [user.as_str(), second_key.as_str()], "{status:#}");
    let clients: Vec<&str> =
        status["accounts"].as_array().unwrap().iter().map(|a| a["client_id"].as_str().unwrap()).collect();
    assert_eq!(clients, [DEMO_CLIENT_ID, SECOND_CLIENT_ID]);
    assert_eq!(h.keychain_entry().as_deref(), Some(first_entry.as_str()), "the first entry changed");
    let text = stdout(&h.run(&["status"]).await);
    assert!(text.contains("client id      5a0d0b0e…") && text.contains("client id      0b5e55ed…"), "{text}");

    // No --account is ambiguous now (the error names both); a key, the user id (which
    // stays the first account's key, so scripts that named it keep working) and
    // user@client-prefix each name one.
    let out = h.run(&["token"]).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains(&second_key) && stderr(&out).contains("[account_ambiguous]"), "{}", stderr(&out));
    for (name, expected_key) in [
        (user.clone(), user.clone()),
        (format!("{user}@5a0d"), user.clone()),
        (format!("{user}@0b5e55ed"), second_key.clone()),
        (second_key.clone(), second_key.clone()),
    ] {
        // A refresh each (--min-valid beyond the hour): through that account's Client ID,
        // which the sandbox checks against the refresh token's.
        let out = h.run(&["token", "--account", &name, "--min-valid", "7200"]).await;
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert_eq!(h.me_status(&printed_token(&out)).await, 200, "{name}");
        let record = h.run(&["activity", "--json"]).await;
        let events: serde_json::Value = serde_json::from_str(&stdout(&record)).unwrap();
        let last = events["events"].as_array().unwrap().iter().rev().find(|e| e["kind"] == "handout").unwrap();
        assert_eq!(last["account"], expected_key.as_str(), "{name}");
    }
    assert_eq!(h.sandbox.token_requests("refresh_token").iter().filter(|r| r.status == 200).count(), 4);

    // Signing in again through the second Client ID keeps its key.
    assert_eq!(h.login(&["--client-id", SECOND_CLIENT_ID]).await.output.status.code(), Some(0));
    let (_, status) = h.status_json().await;
    assert_eq!(status["accounts"].as_array().unwrap().len(), 2);
    let out = h.run(&["logout", "--account", &format!("{user}@0b5e")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, status) = h.status_json().await;
    let ids: Vec<&str> = status["accounts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [user.as_str()]);
    assert!(h.keychain_entry().is_some(), "the first account's entry went with the second");
    let second_entry = std::process::Command::new("secret-tool")
        .args(["lookup", "service", "spotoken", "username", &second_key])
        .output()
        .unwrap();
    assert!(!second_entry.status.success(), "the second account's entry is still there");
}
