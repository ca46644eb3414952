//! KeePassXC as the keychain, as many people on bare window managers and KDE run it:
//! Debian's `keepassxc` on a real X display (Xvfb), owning the Secret Service on a
//! private session bus, with a database made by `keepassxc-cli` that exposes its root
//! group (exported to XML, `FDO_SECRETS_EXPOSED_GROUP` added to its custom data, imported
//! again: the command line has no switch for it). Its unlock window is answered as a
//! person would, with the keyboard (xdotool); `keepassxc --lock` locks it.
// Linux's Secret Service; scripts/install-deps --for-tests installs KeePassXC.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};
use support::keepassxc::{KeePassXc, PASSWORD};
use support::{Harness, printed_token, stderr, stdout};
use tokio::io::{AsyncBufReadExt, BufReader};

/// One KeePassXC at a time: the tests type into whatever dialog shows on their display,
/// and two key derivations at once slow each other on two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `h` signed in, its tokens in KeePassXC.
async fn signed_in(h: &Harness, kp: &KeePassXc) {
    let (child, url, _) = h.start_login_env(&[], &kp.on_bus()).await;
    let location = h.authorize(&url).await;
    assert_eq!(h.deliver(&location).await.0, 200);
    let login = h.finish(child).await;
    assert_eq!(login.status.code(), Some(0), "{}", stderr(&login));
}

/// `spotoken ARGS` on KeePassXC's bus, waiting up to `wait_secs` for the keychain, its
/// stderr read as it comes: returns the child and the first line it printed.
async fn started(
    h: &Harness,
    kp: &KeePassXc,
    args: &[&str],
    wait_secs: u32,
) -> (tokio::process::Child, tokio::io::Lines<BufReader<tokio::process::ChildStderr>>) {
    started_with(h, kp, args, wait_secs, &[]).await
}

/// [`started`] with `envs` added.
async fn started_with(
    h: &Harness,
    kp: &KeePassXc,
    args: &[&str],
    wait_secs: u32,
    envs: &[(&str, &str)],
) -> (tokio::process::Child, tokio::io::Lines<BufReader<tokio::process::ChildStderr>>) {
    let mut child = h
        .command(args)
        .envs(kp.on_bus())
        .envs(envs.iter().copied())
        .env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", wait_secs.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    (child, lines)
}

/// The rest of a started command: its output with everything it printed on stderr.
async fn finished(
    child: tokio::process::Child,
    mut lines: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    said: Vec<String>,
) -> (std::process::Output, String) {
    let rest = tokio::spawn(async move {
        let mut said = said;
        while let Ok(Some(line)) = lines.next_line().await {
            said.push(line);
        }
        said.join("\n")
    });
    let output = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output()).await.unwrap().unwrap();
    (output, rest.await.unwrap())
}

/// Reads stderr until a line says Spotoken waits for the unlock.
async fn until_waiting(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStderr>>) -> Vec<String> {
    until_said(lines, "to continue", Vec::new()).await
}

/// Reads stderr, adding to `said`, until a line contains `words`.
async fn until_said(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    words: &str,
    mut said: Vec<String>,
) -> Vec<String> {
    while !said.last().is_some_and(|l: &String| l.contains(words)) {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap();
        said.push(line.unwrap_or_else(|| panic!("nothing said about {words:?}: {said:?}")));
    }
    said
}

/// Has Spotoken log the search it asks KeePassXC first, and when a keychain call timed
/// out on D-Bus and it searches again.
const HOLDING: (&str, &str) = ("RUST_LOG", "spotoken_core::store::keychain=debug");

#[tokio::test(flavor = "multi_thread")]
async fn unlocked_sign_in_token_and_status_work_and_nothing_is_rewritten() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let kp = KeePassXc::start(true);
    let h = Harness::new("kp-unlocked").await;
    signed_in(&h, &kp).await;
    let token = printed_token(&h.command(&["token"]).envs(kp.on_bus()).output().await.unwrap());
    assert_eq!(h.me_status(&token).await, 200);
    // A refresh stores into KeePassXC too, and reads back unchanged.
    let fresh =
        printed_token(&h.command(&["token", "--min-valid", "999999"]).envs(kp.on_bus()).output().await.unwrap());
    assert_ne!(fresh, token);
    assert_eq!(h.me_status(&fresh).await, 200);
    let again = printed_token(&h.command(&["token"]).envs(kp.on_bus()).output().await.unwrap());
    assert_eq!(again, fresh, "the stored token came back as it was stored");
    let status = h.command(&["status"]).envs(kp.on_bus()).output().await.unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", stdout(&status));
    assert!(stdout(&status).contains("keychain       ok"), "{}", stdout(&status));
    // KeePassXC resolves {…} placeholders in what it hands out: nothing it read of
    // Spotoken's made it try.
    let log = kp.log();
    assert!(!log.contains("Maximum depth of replacement"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn locked_then_unlocked_while_waiting_gives_the_token() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let kp = KeePassXc::start(true);
    let h = Harness::new("kp-unlock").await;
    signed_in(&h, &kp).await;
    let before = printed_token(&h.command(&["token"]).envs(kp.on_bus()).output().await.unwrap());
    kp.lock();

    let (child, mut lines) = started(&h, &kp, &["token"], 60).await;
    let said = until_waiting(&mut lines).await;
    let waiting = said.last().unwrap();
    assert!(waiting.contains("Unlock KeePassXC to continue"), "{said:?}");
    assert!(waiting.contains("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS"), "{said:?}");
    let asked_at = Instant::now();
    kp.answer_unlock(Some(PASSWORD)).await;
    let (output, _) = finished(child, lines, said).await;
    println!("the token came {} ms after the password was typed", asked_at.elapsed().as_millis());
    assert_eq!(printed_token(&output), before);
}

/// Escape on KeePassXC's unlock window: the tokens are there, so the answer is a
/// cancelled unlock, never missing tokens or "sign in again", and nothing is dropped:
/// the next run, unlocked, gives the same token.
#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_unlock_is_not_lost_tokens() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let kp = KeePassXc::start(true);
    let h = Harness::new("kp-cancel").await;
    signed_in(&h, &kp).await;
    let before = printed_token(&h.command(&["token"]).envs(kp.on_bus()).output().await.unwrap());
    kp.lock();

    // Escape pressed half a second after the window is found (`answer_unlock`) once
    // Spotoken says it waits (1.5 s in), so about 2 s in: when D-Bus gives up on a call,
    // the instant a search sent only then would meet the dismissed window and open it
    // again. Then a little and a second later.
    for (args, after) in [(&["token"][..], 0), (&["status"], 250), (&["logout"], 1000)] {
        let (child, mut lines) = started_with(&h, &kp, args, 60, &[HOLDING]).await;
        let said = until_waiting(&mut lines).await;
        tokio::time::sleep(Duration::from_millis(after)).await;
        kp.answer_unlock(None).await;
        let (output, said) = finished(child, lines, said).await;
        assert_eq!(output.status.code(), Some(6), "{args:?}: {said}\n{}", stdout(&output));
        assert!(!said.contains("keychain_entry_missing") && !said.contains("Sign in again"), "{args:?}: {said}");
        // The search asked first heard the window's answer: no call timed out on D-Bus.
        assert!(said.contains("asking KeePassXC first"), "{args:?}: {said}");
        assert!(!said.contains("waiting for the keychain's own answer"), "{args:?}: {said}");
        assert_eq!(kp.unlock_windows(), 0, "{args:?}: the unlock window did not open again");
        match args[0] {
            "status" => {
                let text = stdout(&output);
                assert!(text.lines().next().unwrap().ends_with("KEYCHAIN UNLOCK CANCELLED"), "{text}");
                assert!(text.contains("was cancelled") && text.contains("nothing was removed"), "{text}");
            }
            _ => {
                assert!(said.contains("[keychain_unlock_cancelled]"), "{args:?}: {said}");
                assert!(said.contains("unlock KeePassXC when it asks"), "{said}");
            }
        }
    }
    // Still signed in, and the entry is intact.
    let (child, mut lines) = started(&h, &kp, &["token"], 60).await;
    let said = until_waiting(&mut lines).await;
    kp.answer_unlock(Some(PASSWORD)).await;
    let (output, _) = finished(child, lines, said).await;
    assert_eq!(printed_token(&output), before);
    let status = h.command(&["status"]).envs(kp.on_bus()).output().await.unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", stdout(&status));
}

/// Nobody unlocks within a script's wait: a timeout that names KeePassXC and says how to
/// wait longer; KeePassXC's window stays open and the next call picks it up (no second
/// window), and the person's unlock then serves it.
#[tokio::test(flavor = "multi_thread")]
async fn no_unlock_within_the_wait_is_a_timeout_and_the_next_call_picks_the_window_up() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let kp = KeePassXc::start(true);
    let h = Harness::new("kp-timeout").await;
    signed_in(&h, &kp).await;
    let before = printed_token(&h.command(&["token"]).envs(kp.on_bus()).output().await.unwrap());
    kp.lock();

    let started_at = Instant::now();
    let out =
        h.command(&["token"]).envs(kp.on_bus()).env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "5").output().await.unwrap();
    assert!(started_at.elapsed() < Duration::from_secs(20), "{:?}", started_at.elapsed());
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("[keychain_timeout]") && said.contains("KeePassXC did not answer within 5 s"), "{said}");
    assert!(said.contains("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS") && !said.contains("gnome-keyring"), "{said}");
    assert_eq!(kp.unlock_windows(), 1, "KeePassXC's unlock window stays open");

    // status, in the same state: its headline is the keychain's, not "ok".
    let status =
        h.command(&["status"]).envs(kp.on_bus()).env("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS", "3").output().await.unwrap();
    assert_eq!(status.status.code(), Some(6), "{}", stdout(&status));
    let text = stdout(&status);
    assert!(text.lines().next().unwrap().ends_with("KEYCHAIN TIMEOUT"), "{text}");
    assert!(text.contains("KeePassXC"), "{text}");

    let (child, mut lines) = started(&h, &kp, &["token"], 60).await;
    let said = until_waiting(&mut lines).await;
    assert_eq!(kp.unlock_windows(), 1, "no second unlock window");
    kp.answer_unlock(Some(PASSWORD)).await;
    let (output, _) = finished(child, lines, said).await;
    assert_eq!(printed_token(&output), before);
}

/// An account whose tokens are not in KeePassXC's unlocked database (signed in on
/// another keychain, here gnome-keyring) is said to be missing, with the way out: not a
/// cancelled unlock, and no unlock window.
#[tokio::test(flavor = "multi_thread")]
async fn an_entry_not_in_the_unlocked_database_is_missing_not_a_cancelled_unlock() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let kp = KeePassXc::start(true);
    let h = Harness::signed_in("kp-missing", &[]).await;
    let out = h.command(&["token"]).envs(kp.on_bus()).output().await.unwrap();
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(said.contains("[keychain_entry_missing]") && said.contains("Sign in again"), "{said}");
    assert!(!said.contains("cancelled") && !said.contains("Unlock"), "{said}");
    assert_eq!(kp.unlock_windows(), 0);
}

/// A database that exposes no group: `login` says what to switch on in KeePassXC before
/// anyone is sent to Spotify, and an account signed in before (into gnome-keyring, here)
/// is not said to be missing, as if a sign-in were needed: what to switch on is said.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_exposing_no_group_is_said_before_the_browser_and_when_reading() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let kp = KeePassXc::start(false);
    let h = Harness::signed_in("kp-nogroup", &[]).await;
    let before = h.sandbox.log().len();
    // Within a minute: a login that went on would wait for Spotify's answer for good.
    let login = h.command(&["login", "--no-browser"]).envs(kp.on_bus()).stdin(Stdio::null()).output();
    let out = tokio::time::timeout(Duration::from_secs(60), login).await.expect("login went on").unwrap();
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(6), "{said}");
    assert!(said.contains("[keychain_no_collection]") && said.contains("expose a group"), "{said}");
    assert!(!said.contains("http"), "no consent address was printed: {said}");

    let out = h.command(&["token"]).envs(kp.on_bus()).output().await.unwrap();
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(6), "{said}");
    assert!(said.contains("[keychain_no_collection]") && said.contains("expose a group"), "{said}");
    assert!(!said.contains("keychain_entry_missing") && !said.contains("Sign in again"), "{said}");
    assert_eq!(h.sandbox.log().len(), before, "nothing reached Spotify");
    // On its own keychain the account is as it was.
    assert_eq!(h.token(&[]).await.status.code(), Some(0));
}
