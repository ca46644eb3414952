//! A locked keychain that asks the person: gnome-keyring's own unlock dialog (its
//! prompter, gcr-prompter) on a real X display (Xvfb), answered as a person would,
//! with the keyboard (xdotool). Spotoken must say what it waits for, wait long enough,
//! and go on once the keychain is unlocked; and `login` must not send anyone to Spotify
//! while the keychain cannot take the tokens.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{BareBus, Harness, printed_token, stderr};
use tokio::io::{AsyncBufReadExt, BufReader};

const PASSWORD: &str = "spotoken-unlock";

/// One display and one prompt at a time: the tests here type into whatever dialog shows.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Display {
    xvfb: Child,
    name: String,
}

impl Display {
    fn start() -> Self {
        let (xvfb, name) = support::start_xvfb(210..260, "1024x768x24");
        Self { xvfb, name }
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool").args(args).env("DISPLAY", &self.name).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits for the unlock dialog, types the password (or presses Escape) into it.
    async fn answer_prompt(&self, password: Option<&str>) {
        let started = Instant::now();
        while self.xdotool(&["search", "--onlyvisible", "--name", "."]).trim().is_empty() {
            assert!(started.elapsed() < Duration::from_secs(20), "no unlock dialog appeared");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        match password {
            Some(password) => {
                self.xdotool(&["type", "--delay", "30", password]);
                self.xdotool(&["key", "Return"]);
            }
            None => {
                self.xdotool(&["key", "Escape"]);
            }
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        support::stop_politely(&mut self.xvfb);
    }
}

/// Stops the keyring that owns the Secret Service on `bus`: its keyring is locked the
/// next time the bus starts it.
fn stop_keyring(bus: &BareBus) {
    let pid = bus.owner_pid("org.freedesktop.secrets").expect("a keyring on the bus");
    Command::new("kill").arg(pid.to_string()).status().unwrap();
    let started = Instant::now();
    while bus.owner_pid("org.freedesktop.secrets").is_some() {
        assert!(started.elapsed() < Duration::from_secs(10), "the keyring did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `program` (gnome-keyring's daemon, or a copy under another name) as the
/// Secret Service on `bus`: with `password`, its login keyring is created with it (or
/// unlocked with it); without, the keyring is left locked.
fn start_keyring(bus: &BareBus, program: &std::ffi::OsStr, password: Option<&str>) {
    let mut keyring = Command::new(program)
        .args(if password.is_some() { &["--unlock", "--components=secrets"][..] } else { &["--components=secrets"] })
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("HOME", bus.home())
        .env("XDG_DATA_HOME", bus.home().join("data"))
        .env("XDG_RUNTIME_DIR", bus.home())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        keyring.stdin.take().unwrap().write_all(password.unwrap_or_default().as_bytes()).unwrap();
    }
    let _ = keyring.wait();
    let started = Instant::now();
    while bus.owner_pid("org.freedesktop.secrets").is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "gnome-keyring did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A display, a private bus that starts gnome-keyring (and its prompter) on demand, a
/// password-protected keyring unlocked for now (run by `program`), and `h` signed in
/// with its tokens in it.
async fn signed_in_on_a_keyring_with_a_password_run_by(h: &Harness, program: &std::ffi::OsStr) -> (Display, BareBus) {
    let display = Display::start();
    let bus = BareBus::start_on(true, Some(&display.name));
    let on_bus = [("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())];
    start_keyring(&bus, program, Some(PASSWORD));
    let (child, url, _) = h.start_login_env(&[], &on_bus).await;
    let location = h.authorize(&url).await;
    assert_eq!(h.deliver(&location).await.0, 200);
    assert_eq!(h.finish(child).await.status.code(), Some(0));
    (display, bus)
}

async fn signed_in_on_a_keyring_with_a_password(h: &Harness) -> (Display, BareBus) {
    signed_in_on_a_keyring_with_a_password_run_by(h, "gnome-keyring-daemon".as_ref()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_keychain_that_asks_is_waited_for_and_login_waits_for_it_first() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let h = Harness::new("unlock").await;
    let (display, bus) = signed_in_on_a_keyring_with_a_password(&h).await;
    let on_bus = [("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())];
    stop_keyring(&bus);

    // Locked now: `token` says what it waits for; the person types the password.
    let mut token = h
        .command(&["token"])
        .envs(on_bus)
        .env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "60")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(token.stderr.take().unwrap()).lines();
    let said = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.unwrap().unwrap().unwrap();
    assert!(said.contains("Unlock gnome-keyring to continue") && said.contains("1m 00s"), "{said}");
    assert!(said.contains("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS"), "how to wait longer: {said}");
    let asked_at = Instant::now();
    display.answer_prompt(Some(PASSWORD)).await;
    let output = tokio::time::timeout(Duration::from_secs(60), token.wait_with_output()).await.unwrap().unwrap();
    println!("the unlock prompt was answered {} ms after Spotoken said it was waiting", asked_at.elapsed().as_millis());
    let printed = printed_token(&output);
    assert_eq!(h.me_status(&printed).await, 200);

    // Locked again, and the person cancels the prompt: `login` stops before the browser.
    stop_keyring(&bus);
    let opened = h.home().join("browser-opened");
    let browser = h.home().join("browser.sh");
    std::fs::write(&browser, format!("#!/bin/sh\ntouch '{}'\n", opened.display())).unwrap();
    Command::new("chmod").args(["+x", browser.to_str().unwrap()]).status().unwrap();
    let login = h
        .command(&["login"])
        .envs(on_bus)
        .env("BROWSER", &browser)
        .env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "60")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    display.answer_prompt(None).await;
    let output = tokio::time::timeout(Duration::from_secs(60), login.wait_with_output()).await.unwrap().unwrap();
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert!(stderr(&output).contains("[keychain_locked]"), "{}", stderr(&output));
    assert!(!opened.exists(), "the browser was opened although the tokens would have had nowhere to go");
    assert!(h.sandbox.token_requests("authorization_code").len() == 1, "only the first login reached Spotify");
}

/// The rest of a child's standard error, kept open (closed, the child's next line would
/// fail to be written).
type StderrLines = tokio::io::Lines<BufReader<tokio::process::ChildStderr>>;

/// `spotoken token` refreshing slowly (Spotify takes 1.5 s) while the keyring is killed
/// under it: returns once the store of Spotify's answer, tried again on a fresh
/// connection, waits for the person to unlock the restarted keyring.
async fn refreshing_while_the_keyring_dies(h: &Harness, bus: &BareBus) -> (tokio::process::Child, StderrLines) {
    let mut token = h
        .command(&["token"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "60")
        .env("RUST_LOG", "spotoken_core=warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The write is prepared before the refresh is sent; kill the keyring while Spotify
    // takes its time to answer.
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop_keyring(bus);
    let mut lines = BufReader::new(token.stderr.take().unwrap()).lines();
    let mut said = Vec::new();
    while !said.last().is_some_and(|l: &String| l.contains("Unlock gnome-keyring to continue")) {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.unwrap().unwrap();
        said.push(line.unwrap_or_else(|| panic!("no unlock request: {said:?}")));
    }
    // It was the answer's write that failed and was tried again, not an earlier step.
    assert!(said.iter().any(|l| l.contains("the prepared keychain write failed")), "{said:?}");
    (token, lines)
}

/// The keyring dies while Spotify is answering a rotating refresh: the old refresh token
/// is already dead, so the new one must still be stored. The prepared write fails; a
/// fresh connection starts the keyring again (locked, so it asks), and once the person
/// unlocks it the token is stored and the sign-in survives.
#[tokio::test(flavor = "multi_thread")]
async fn a_keyring_that_dies_during_a_refresh_still_gets_the_new_token() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let h = Harness::with_ttl("keyring-dies", 30).await;
    let (display, bus) = signed_in_on_a_keyring_with_a_password(&h).await;
    let on_bus = [("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())];
    h.control(spotify_sandbox::Control { token_delay_ms: Some(1500), ..Default::default() });
    let (token, _stderr) = refreshing_while_the_keyring_dies(&h, &bus).await;
    display.answer_prompt(Some(PASSWORD)).await;
    let output = tokio::time::timeout(Duration::from_secs(60), token.wait_with_output()).await.unwrap().unwrap();
    let printed = printed_token(&output);
    assert_eq!(h.me_status(&printed).await, 200);

    // The rotated refresh token was kept: the next refresh works.
    h.control(spotify_sandbox::Control { token_delay_ms: Some(0), ..Default::default() });
    let next = h.command(&["token"]).envs(on_bus).output().await.unwrap();
    let again = printed_token(&next);
    assert_eq!(h.me_status(&again).await, 200);
    assert!(h.sandbox.token_requests("refresh_token").len() >= 2);
}

/// Removes `h`'s keychain entry as another program would (`secret-tool clear`), then
/// stops the keyring: started again, it is locked.
fn remove_entry_and_lock(h: &Harness, bus: &BareBus) {
    let cleared = Command::new("secret-tool")
        .args(["clear", "service", "spotoken", "username", &h.user.id])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .status()
        .unwrap();
    assert!(cleared.success());
    stop_keyring(bus);
}

/// A locked gnome-keyring still finds its entries (only their secrets wait for the
/// password), so finding none for the account while it is locked means the tokens are
/// gone: that is said at once, with no unlock dialog, and not as a cancelled unlock
/// (whose message says nothing was removed). Signing out of such an account is not
/// stopped either.
#[tokio::test(flavor = "multi_thread")]
async fn a_locked_keyring_without_the_entry_says_it_is_missing_without_asking() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let h = Harness::new("locked-missing").await;
    let (display, bus) = signed_in_on_a_keyring_with_a_password(&h).await;
    let on_bus = [("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())];
    remove_entry_and_lock(&h, &bus);

    let started = Instant::now();
    let token = h.command(&["token"]).envs(on_bus).env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "60").output().await.unwrap();
    let took = started.elapsed();
    let said = stderr(&token);
    assert_eq!(token.status.code(), Some(4), "{said}");
    assert!(said.contains("[keychain_entry_missing]") && said.contains("Sign in again"), "{said}");
    assert!(!said.contains("Unlock") && !said.contains("cancelled"), "{said}");
    assert!(took < Duration::from_secs(20), "said after {took:?}");
    assert!(
        display.xdotool(&["search", "--onlyvisible", "--name", "."]).trim().is_empty(),
        "an unlock dialog was opened for an entry that is not there"
    );

    let logout = h.command(&["logout"]).envs(on_bus).output().await.unwrap();
    assert_eq!(logout.status.code(), Some(0), "{}", stderr(&logout));
    assert!(h.sandbox.token_requests("refresh_token").is_empty(), "nothing was sent to Spotify");
}

/// A Secret Service Spotoken does not know (gnome-keyring run under another name) is not
/// trusted to find a locked collection's entries: finding none while it is locked is
/// said as a locked keychain, never as tokens lost nor as an unlock cancelled (nobody
/// was asked), and signing out is refused rather than leaving an entry behind.
#[tokio::test(flavor = "multi_thread")]
async fn a_locked_unknown_keychain_finding_nothing_is_not_said_to_have_lost_the_tokens() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let h = Harness::new("locked-unknown").await;
    let renamed = tempfile::tempdir().unwrap();
    let program = renamed.path().join("secretsd");
    std::fs::copy(which("gnome-keyring-daemon"), &program).unwrap();
    let (_display, bus) = signed_in_on_a_keyring_with_a_password_run_by(&h, program.as_os_str()).await;
    let on_bus = [("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())];
    remove_entry_and_lock(&h, &bus);
    start_keyring(&bus, program.as_os_str(), None);

    for args in [&["token"][..], &["logout"]] {
        let out = h.command(args).envs(on_bus).env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "60").output().await.unwrap();
        let said = stderr(&out);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {said}");
        assert!(said.contains("[keychain_locked]") && said.contains("The keychain is locked"), "{said}");
        assert!(!said.contains("gnome-keyring") && !said.contains("Sign in again"), "{said}");
        assert!(!said.contains("missing") && !said.contains("cancelled"), "nobody was asked: {said}");
    }
    assert!(h.sandbox.token_requests("refresh_token").is_empty(), "nothing was sent to Spotify");
}

fn which(program: &str) -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

/// A request to end (SIGTERM, as a service manager or a closing terminal sends) that
/// arrives while a rotated refresh token is being stored waits for it: here the store
/// waits for the person to unlock a keyring that died under the refresh. The process
/// lives on until the token is stored, then ends as asked; the sign-in survives, although
/// Spotify has already killed the old refresh token.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_to_end_during_the_tokens_commit_waits_for_it() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let h = Harness::with_ttl("term-commit", 30).await;
    let (display, bus) = signed_in_on_a_keyring_with_a_password(&h).await;
    let on_bus = [("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())];
    h.control(spotify_sandbox::Control {
        rotation: Some(spotify_sandbox::Rotation::Rotate),
        token_delay_ms: Some(1500),
        ..Default::default()
    });
    let (mut token, _stderr) = refreshing_while_the_keyring_dies(&h, &bus).await;

    // Asked to end while the rotated token waits to be stored: it does not end yet.
    let pid = token.id().unwrap().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(token.try_wait().unwrap().is_none(), "ended before the new refresh token was stored");
    display.answer_prompt(Some(PASSWORD)).await;
    let status = tokio::time::timeout(Duration::from_secs(60), token.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(128 + 15), "ended as SIGTERM asked, once the token was stored");

    // The rotated refresh token was stored: the next refresh works with it.
    h.control(spotify_sandbox::Control { token_delay_ms: Some(0), ..Default::default() });
    let next = h.command(&["token"]).envs(on_bus).output().await.unwrap();
    assert_eq!(h.me_status(&printed_token(&next)).await, 200);
    let refreshes = h.sandbox.token_requests("refresh_token");
    assert!(refreshes.len() >= 2 && refreshes.iter().all(|r| r.status == 200), "{refreshes:?}");
}
