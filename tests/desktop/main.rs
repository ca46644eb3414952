//! End-to-end tests of the desktop app, as a person uses it (see `support`).
// The app on X11 (Xvfb, openbox, trayer, WebKitWebDriver): Linux only.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod activity;
mod keychain;
mod sign_in;
mod tray;

use std::time::Duration;
use support::{CLIENT_ID, Desktop, ONE_AT_A_TIME, Setup};

const WAIT: Duration = Duration::from_secs(20);

/// From the empty window: Log in…, Continue in the browser (the test browser consents),
/// until the account's card shows.
async fn sign_in(s: &support::webdriver::Session) {
    s.click("[data-test=log-in-empty]").await;
    s.click("[data-test=continue-login]").await;
    s.wait_for("[data-test=account]", WAIT).await;
}

fn settings(redirect: &str, clear_secs: u64) -> String {
    format!("client_id = \"{CLIENT_ID}\"\nredirect = \"{redirect}\"\nclipboard_clear_secs = {clear_secs}\n")
}
