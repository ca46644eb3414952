//! A keychain that holds several entries for one account: left by a keyring that died
//! in the middle of a write, an older version, a keyring file restored from a backup, or
//! the same entry in another collection. Planted here with libsecret's own `secret-tool`
//! in the session's real gnome-keyring, in the default collection and in the `session`
//! collection; Spotoken must keep the newest, remove the others, say so in the activity
//! record, and a new sign-in or a sign-out must always be able to put things right. And
//! gnome-keyring killed around the moment a refresh is stored must leave nothing stuck.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../tests/support/secret_service.rs"]
mod secret_service;
mod support;

use spotify_sandbox::Rotation;
use support::{Harness, printed_token, stderr, stdout};

fn plant(h: &Harness, secret: &str, collection: &str) {
    secret_service::plant("spotoken", &h.user.id, secret, collection);
}

fn entries(h: &Harness) -> Vec<String> {
    secret_service::entries("spotoken", &h.user.id)
}

/// The entry Spotoken stored, with its tokens and times changed: an older copy.
/// Written as version 1 (JSON) wrote it: both forms must be read and repaired.
fn older_copy(entry: &str, tag: &str, seconds_older: i64) -> String {
    let mut doc = support::stored_fields(entry);
    doc["access_token"] = format!("BQ-{tag}").into();
    doc["refresh_token"] = format!("AQ-{tag}").into();
    for key in ["obtained_at", "access_expires_at"] {
        doc[key] = (doc[key].as_i64().unwrap() - seconds_older).into();
    }
    doc.to_string()
}

async fn keychain_events(h: &Harness) -> Vec<String> {
    let out = h.run(&["activity", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "keychain")
        .map(|e| e["detail"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_entries_are_repaired_keeping_the_newest() {
    let h = Harness::signed_in("duplicates", &[]).await;
    h.sandbox.set_rotation(Rotation::Rotate);
    let entry = h.keychain_entry().expect("the sign-in's entry");
    let path = entries(&h);
    assert_eq!(path.len(), 1, "{path:?}");
    // Two older copies: one beside it, one in another collection (not the default one).
    plant(&h, &older_copy(&entry, "restored-from-backup", 600), "default");
    plant(&h, &older_copy(&entry, "in-the-session-collection", 1200), "session");
    let planted = entries(&h);
    assert_eq!(planted.len(), 3, "{planted:?}");
    assert!(planted.iter().any(|p| p.contains("/collection/session/")), "{planted:?}");

    // A refresh (forced): it must use the real refresh token, which a rotating Spotify
    // knows, and leave one entry.
    let out = h.token(&["--min-valid", "999999"]).await;
    let token = printed_token(&out);
    assert_eq!(h.me_status(&token).await, 200);
    assert_eq!(h.sandbox.token_requests("refresh_token").len(), 1);
    assert_eq!(entries(&h), path, "the sign-in's own entry is the one left");
    let kept: serde_json::Value = h.keychain_tokens().unwrap();
    assert_eq!(kept["access_token"], token.as_str());
    let said = keychain_events(&h).await;
    assert_eq!(said, ["3 entries held tokens for this account; kept the newest, removed 2"], "{said:?}");

    // The next refresh, with the rotated token the repair kept, works too.
    let again = printed_token(&h.token(&["--min-valid", "999999"]).await);
    assert_eq!(h.me_status(&again).await, 200);
    assert_eq!(keychain_events(&h).await.len(), 1, "nothing more to repair");
}

/// `status` reads every account's entry: it repairs too, and its keychain line is fine.
#[tokio::test(flavor = "multi_thread")]
async fn status_repairs_duplicates_and_a_newer_copy_wins() {
    let h = Harness::signed_in("duplicates-status", &[]).await;
    let entry = h.keychain_entry().unwrap();
    // A copy newer than the sign-in's: a refresh whose accounts-file update a crash lost.
    plant(&h, &older_copy(&entry, "newer", -60), "default");
    plant(&h, "not Spotoken's format", "session");
    let (code, status) = h.status_json().await;
    assert_eq!(code, Some(0), "{status}");
    assert_eq!(status["accounts"][0]["keychain"]["state"], "ok", "{status}");
    assert_eq!(entries(&h).len(), 1);
    let kept: serde_json::Value = h.keychain_tokens().unwrap();
    assert_eq!(kept["access_token"], "BQ-newer");
    assert_eq!(keychain_events(&h).await.len(), 1);
}

/// Whatever is there, a new sign-in replaces it with one entry, and a sign-out removes
/// them all.
#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_replaces_duplicates_and_a_sign_out_removes_them_all() {
    let h = Harness::signed_in("duplicates-login", &[]).await;
    let entry = h.keychain_entry().unwrap();
    plant(&h, &older_copy(&entry, "one", 60), "default");
    plant(&h, "junk", "session");
    assert_eq!(entries(&h).len(), 3);

    let login = h.login(&[]).await;
    assert_eq!(login.output.status.code(), Some(0), "{}", stderr(&login.output));
    assert_eq!(entries(&h).len(), 1, "one entry after the sign-in");
    let kept: serde_json::Value = h.keychain_tokens().unwrap();
    let token = printed_token(&h.token(&[]).await);
    assert_eq!(kept["access_token"], token.as_str(), "the entry left holds the new sign-in's token");
    assert_eq!(h.me_status(&token).await, 200);

    plant(&h, &older_copy(&entry, "two", 60), "session");
    let out = h.run(&["logout", "--account", &h.user.id]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(entries(&h).is_empty(), "{:?}", entries(&h));
}

/// gnome-keyring on a private bus that cannot start another (so a killed one stays dead
/// until started again): password-protected and unlocked, or with a keyring that has no
/// password, which gnome-keyring keeps as a text file.
struct KillableKeyring {
    bus: support::BareBus,
    pid: u32,
    password: Option<&'static str>,
}

impl KillableKeyring {
    fn start() -> Self {
        let keyring = Self { bus: support::BareBus::start(false), pid: 0, password: Some("spotoken-kill") };
        Self { pid: keyring.launch(), ..keyring }
    }

    /// A default keyring with no password, as autologin desktops set one up: written
    /// here in gnome-keyring's own text format before the daemon starts, as it writes
    /// such a keyring itself.
    fn without_password() -> Self {
        let keyring = Self { bus: support::BareBus::start(false), pid: 0, password: None };
        let dir = keyring.keyrings();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Default_keyring.keyring"),
            "[keyring]\ndisplay-name=Default keyring\nctime=0\nmtime=0\nlock-on-idle=false\nlock-after=false\n",
        )
        .unwrap();
        std::fs::write(dir.join("default"), "Default_keyring").unwrap();
        Self { pid: keyring.launch(), ..keyring }
    }

    /// Where the daemon keeps its keyring files.
    fn keyrings(&self) -> std::path::PathBuf {
        self.bus.home().join("data/keyrings")
    }

    /// Starts (or starts again) the daemon on the bus, unlocked with the password if
    /// there is one: the keyring file in the bus's home is read back.
    fn launch(&self) -> u32 {
        use std::io::Write;
        let mut daemon = std::process::Command::new("gnome-keyring-daemon")
            .args(if self.password.is_some() {
                &["--unlock", "--components=secrets"][..]
            } else {
                &["--components=secrets"]
            })
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus.address)
            .env("HOME", self.bus.home())
            .env("XDG_DATA_HOME", self.bus.home().join("data"))
            .env("XDG_RUNTIME_DIR", self.bus.home())
            .stdin(if self.password.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() })
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        if let Some(password) = self.password {
            daemon.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
        }
        let _ = daemon.wait();
        let started = std::time::Instant::now();
        loop {
            if let Some(pid) = self.bus.owner_pid("org.freedesktop.secrets") {
                return pid;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "gnome-keyring did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a crash or an OOM kill would, and at once a new daemon.
    fn kill_and_restart(&mut self) {
        std::process::Command::new("kill").args(["-9", &self.pid.to_string()]).status().unwrap();
        let started = std::time::Instant::now();
        while self.bus.owner_pid("org.freedesktop.secrets") == Some(self.pid) {
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "the keyring did not die");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        self.pid = self.launch();
    }

    /// The account's entries, as the Secret Service lists them.
    fn entries(&self, account: &str) -> usize {
        let mut channel = dbus::channel::Channel::open_private(&self.bus.address).unwrap();
        channel.register().unwrap();
        let connection = dbus::blocking::Connection::from(channel);
        let service = connection.with_proxy(
            "org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            std::time::Duration::from_secs(5),
        );
        let attributes = std::collections::HashMap::from([("service", "spotoken"), ("username", account)]);
        let (unlocked, locked): (Vec<dbus::Path>, Vec<dbus::Path>) =
            service.method_call("org.freedesktop.Secret.Service", "SearchItems", (attributes,)).unwrap();
        unlocked.len() + locked.len()
    }
}

/// gnome-keyring killed (SIGKILL) around the moment a refresh's answer is stored, at a
/// different moment each round, and started again at once: whatever the kill cut,
/// Spotoken is never stuck afterwards. The next `token` works (or, where Spotify rotates
/// and the new refresh token was lost with the keyring, says to sign in again, and a
/// sign-in works), and the keychain holds one entry.
#[tokio::test(flavor = "multi_thread")]
async fn a_keyring_killed_around_a_refresh_leaves_nothing_stuck() {
    const ROUNDS: u64 = 8;
    let h = Harness::new("keyring-killed").await;
    let mut keyring = KillableKeyring::start();
    let address = keyring.bus.address.clone();
    let envs = || [("DBUS_SESSION_BUS_ADDRESS", address.as_str())];
    let (child, url, _) = h.start_login_env(&[], &envs()).await;
    let location = h.authorize(&url).await;
    assert_eq!(h.deliver(&location).await.0, 200);
    assert_eq!(h.finish(child).await.status.code(), Some(0));
    // Spotify answers 300 ms after the request: the kill lands from just before the
    // answer to 60 ms after it, when the commit is under way or done.
    h.control(spotify_sandbox::Control { token_delay_ms: Some(300), ..Default::default() });
    let (mut outcomes, mut lost) = (Vec::new(), 0);
    for round in 0..ROUNDS {
        let refresh = h
            .command(&["token", "--min-valid", "999999"])
            .envs(envs())
            .env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "10")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(280 + round * 10)).await;
        keyring.kill_and_restart();
        let first = refresh.wait_with_output().await.unwrap();
        outcomes.push(first.status.code());

        let next = h.command(&["token"]).envs(envs()).output().await.unwrap();
        let said = stderr(&next);
        assert!(!said.contains("keychain_error") && !said.contains("several"), "round {round}: stuck: {said}");
        match next.status.code() {
            Some(0) => assert_eq!(h.me_status(&printed_token(&next)).await, 200, "round {round}"),
            // The rotated refresh token died with the keyring: a sign-in puts it right.
            Some(4) if h.sandbox.rotation() == Rotation::Rotate => {
                lost += 1;
                let (child, url, _) = h.start_login_env(&[], &envs()).await;
                let location = h.authorize(&url).await;
                assert_eq!(h.deliver(&location).await.0, 200);
                assert_eq!(h.finish(child).await.status.code(), Some(0), "round {round}: the sign-in after a loss");
            }
            other => panic!("round {round}: token ended {other:?}: {said}"),
        }
        assert_eq!(keyring.entries(&h.user.id), 1, "round {round}: one entry");
    }
    println!("refreshes cut by the kill ended {outcomes:?}; sign-ins lost: {lost} of {ROUNDS}");
    let status = h.command(&["status"]).envs(envs()).output().await.unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", stdout(&status));
}

/// A keyring without a password (a text file) restarted, as at every boot: the tokens
/// Spotoken stored come back whole and refresh. An entry an earlier version wrote on
/// several lines comes back as its first line only: that is said as such, nothing is
/// taken for missing, and one sign-in puts it right for good.
#[tokio::test(flavor = "multi_thread")]
async fn a_keyring_without_a_password_keeps_the_tokens_across_a_restart() {
    let h = Harness::new("keyring-plain").await;
    h.sandbox.set_rotation(Rotation::Rotate);
    let mut keyring = KillableKeyring::without_password();
    let address = keyring.bus.address.clone();
    let envs = || [("DBUS_SESSION_BUS_ADDRESS", address.as_str())];
    let sign_in = || async {
        let (child, url, _) = h.start_login_env(&[], &envs()).await;
        let location = h.authorize(&url).await;
        assert_eq!(h.deliver(&location).await.0, 200);
        let out = h.finish(child).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    };
    sign_in().await;
    let file = keyring.keyrings().join("Default_keyring.keyring");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("secret=spotoken-tokens v3;access_token="),
        "stored on one line in the file:\n{}",
        text.len()
    );

    keyring.kill_and_restart();
    // A refresh needs the refresh token the file kept; the rotated one goes back in.
    let out = h.command(&["token", "--min-valid", "999999"]).envs(envs()).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(h.me_status(&printed_token(&out)).await, 200);
    keyring.kill_and_restart();
    let out = h.command(&["token", "--min-valid", "999999"]).envs(envs()).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "the rotated refresh token after a restart: {}", stderr(&out));

    // The entry as an earlier version left it in the file: one key=value per line.
    let text = std::fs::read_to_string(&file).unwrap();
    let several: String = text
        .lines()
        .map(|line| match line.strip_prefix("secret=spotoken-tokens v3;") {
            Some(fields) => format!("secret=spotoken-tokens v2\n{}\n", fields.replace(';', "\n")),
            None => format!("{line}\n"),
        })
        .collect();
    assert_ne!(several, text);
    std::fs::write(&file, several).unwrap();
    keyring.kill_and_restart();
    let out = h.command(&["token"]).envs(envs()).output().await.unwrap();
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(
        said.contains("[keychain_entry_cut]") && said.contains("first line") && said.contains("spotoken login"),
        "{said}"
    );
    let status = h.command(&["status", "--json"]).envs(envs()).output().await.unwrap();
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["accounts"][0]["keychain"]["state"], "missing", "{report}");
    assert_eq!(report["accounts"][0]["keychain"]["problem"]["code"], "keychain_entry_cut", "{report}");

    sign_in().await;
    keyring.kill_and_restart();
    let out = h.command(&["token", "--min-valid", "999999"]).envs(envs()).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "after signing in again and a restart: {}", stderr(&out));
    assert_eq!(keyring.entries(&h.user.id), 1);
}
