//! The keychain misbehaving under the window and the tray: one that stopped answering, a locked KeePassXC.

use super::*;

/// Holds the session's Secret Service still (SIGSTOP) until dropped (SIGCONT).
struct FrozenKeychain(u32);

impl FrozenKeychain {
    fn freeze() -> Self {
        let text = support::ask_bus("GetConnectionUnixProcessID", "org.freedesktop.secrets");
        let pid: u32 = text
            .trim()
            .trim_start_matches("(uint32 ")
            .trim_end_matches(",)")
            .parse()
            .unwrap_or_else(|_| panic!("no Secret Service on the session bus: {text}"));
        assert!(std::process::Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap().success());
        Self(pid)
    }
}

impl Drop for FrozenKeychain {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-CONT", &self.0.to_string()]).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_keychain_that_stopped_answering_holds_up_neither_the_window_nor_the_tray() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("frozen-keychain", Some(&settings("loopback", 0))).await;
    let s = d.session().await;
    sign_in(&s).await;

    let frozen = FrozenKeychain::freeze();
    // Two hand-outs wait on the keychain: the window's Copy and the tray's.
    s.click("[data-test=copy]").await;
    d.open_tray_menu();
    d.keys(&["Down", "Return"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!d.app_log().contains("access token copied"), "the keychain was meant to be stopped");

    // Meanwhile the window answers: the Activity view loads (an async command), the
    // tray's Log in… navigates the window (the main thread).
    let started = std::time::Instant::now();
    s.click("[data-test=nav-activity]").await;
    s.wait_for("[data-test=activity] [data-test=timeline]", Duration::from_secs(10)).await;
    let activity_after = started.elapsed();
    d.open_tray_menu();
    d.shot(None, "keychain-stopped-tray-menu").await;
    d.keys(&["Down", "Down", "Down", "Down", "Return"]);
    s.wait_for("[data-test=login-panel]", Duration::from_secs(10)).await;
    eprintln!(
        "with the keychain stopped: Activity view in {activity_after:?}, tray → window in {:?}",
        started.elapsed()
    );
    d.shot(None, "keychain-stopped-window-answers").await;
    assert!(!d.app_log().contains("access token copied"), "no copy can finish while the keychain is stopped");

    // The keychain comes back: the waiting copies finish.
    drop(frozen);
    d.wait_until("both copies", WAIT, || d.app_log().matches("access token copied to the clipboard").count() == 2)
        .await;
    assert!(d.clipboard().starts_with("BQ"));
    s.end().await;
}

/// KeePassXC as the keychain, locked: the window's Copy and the tray's bring up its
/// unlock window and finish once the person types the password; a dismissed unlock is
/// said as such on the card, never as missing tokens.
#[tokio::test(flavor = "multi_thread")]
async fn the_window_and_the_tray_copy_through_a_locked_keepassxc() {
    use support::keepassxc::{KeePassXc, PASSWORD};
    let _turn = ONE_AT_A_TIME.lock().await;
    let bus = support::private_bus::BareBus::start(false);
    let setup = Setup {
        settings: Some(&settings("loopback", 0)),
        env: vec![("DBUS_SESSION_BUS_ADDRESS", bus.address.clone())],
        ..Setup::default()
    };
    let d = Desktop::start_with("keepassxc", setup).await;
    let kp = KeePassXc::start_on(bus, &d.display, true);
    let s = d.session().await;
    sign_in(&s).await;
    let clear_clipboard = || {
        let mut xclip = std::process::Command::new("xclip")
            .args(["-selection", "clipboard"])
            .env("DISPLAY", &d.display)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut xclip.stdin.take().unwrap(), b"nothing yet").unwrap();
        xclip.wait().unwrap();
    };

    // The window's Copy, locked: KeePassXC asks, the person unlocks, the token arrives.
    clear_clipboard();
    kp.lock();
    s.click("[data-test=copy]").await;
    kp.answer_unlock(Some(PASSWORD)).await;
    d.wait_until("the window's copy", WAIT, || d.clipboard().starts_with("BQ")).await;
    assert_eq!(d.me_status(&d.clipboard()).await, 200);

    // Dismissed: the card says so, and nothing says the tokens are gone.
    kp.lock();
    s.click("[data-test=copy]").await;
    kp.answer_unlock(None).await;
    s.wait_for("[data-test=error][data-code=keychain_unlock_cancelled]", WAIT).await;
    let said = s.text("[data-test=error][data-code=keychain_unlock_cancelled]").await;
    assert!(said.contains("KeePassXC") && said.contains("nothing was removed"), "{said}");
    assert!(s.find_all("[data-code=keychain_entry_missing]").await.is_empty());
    d.shot(Some(&s), "keepassxc-unlock-cancelled").await;

    // The tray's Copy, locked.
    clear_clipboard();
    kp.lock();
    d.open_tray_menu();
    d.keys(&["Down", "Return"]);
    kp.answer_unlock(Some(PASSWORD)).await;
    d.wait_until("the tray's copy", WAIT, || d.clipboard().starts_with("BQ")).await;
    assert_eq!(d.me_status(&d.clipboard()).await, 200);
    let log = kp.log();
    assert!(!log.contains("Maximum depth of replacement"), "{log}");
    s.end().await;
}
