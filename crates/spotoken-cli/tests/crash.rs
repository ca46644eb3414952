//! Fault injection: `spotoken token` killed with SIGKILL at random moments while it
//! refreshes against a server that rotates the refresh token (the old one dies the
//! moment the new one is issued). A kill after Spotify's answer and before the keychain
//! write loses the sign-in; this counts how often that happens in 100 kills.
//!
//! A measurement, not a pass/fail check: run it with `scripts/crash-test`, which prints
//! the figure. It fails only when something other than a lost sign-in goes wrong.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};
use support::{Harness, stderr};

const KILLS: u32 = 100;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement; scripts/crash-test runs it"]
async fn sigkill_during_rotating_refreshes_loses_few_sign_ins() {
    let h = Harness::with_ttl("crash", 30).await;
    // Where Spotify omits the refresh token no kill can lose the sign-in: measure the
    // case where it rotates.
    h.sandbox.set_rotation(spotify_sandbox::Rotation::Rotate);
    let login = h.login(&[]).await;
    assert_eq!(login.output.status.code(), Some(0), "{}", stderr(&login.output));

    // How long a refreshing `token` takes here: kills land anywhere inside that.
    let mut runs = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        let out = h.token(&[]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        runs.push(started.elapsed());
    }
    runs.sort();
    let run = runs[runs.len() / 2];

    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut random = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed >> 33
    };
    let (mut lost, mut refreshed_before_kill) = (0, 0);
    for _ in 0..KILLS {
        let before = h.sandbox.token_requests("refresh_token").len();
        let mut child = h.command(&["token"]).spawn().unwrap();
        let delay = Duration::from_micros(random() % run.as_micros().max(1) as u64);
        tokio::time::sleep(delay).await;
        let _ = child.start_kill();
        let _ = child.wait().await;
        if h.sandbox.token_requests("refresh_token").len() > before {
            refreshed_before_kill += 1;
        }
        let after = h.token(&[]).await;
        match after.status.code() {
            Some(0) => {}
            Some(4) => {
                lost += 1;
                let again = h.login(&["--show-dialog"]).await;
                assert_eq!(again.output.status.code(), Some(0), "{}", stderr(&again.output));
            }
            other => panic!("unexpected exit {other:?}: {}", stderr(&after)),
        }
    }
    println!(
        "SIGKILL during rotating refreshes: {lost} sign-ins lost in {KILLS} kills \
         ({refreshed_before_kill} kills came after Spotify had answered; a refreshing `token` takes {} ms here)",
        run.as_millis()
    );
    // A measurement: the kills land at moments drawn from the clock, so the count varies
    // from run to run (3 to 8 in 100 on the 2-core machine). The target it is read
    // against, at most 5 in 100, is the README's; nothing here fails on it.
    println!("target: at most 5 in {KILLS}");
}
