//! The window as a person sees it: the desktop's light or dark theme on the painted
//! page, no serious accessibility problem on any view (axe-core run inside the real app
//! through WebKitWebDriver), a refresh that locks nothing, and messages that come and go
//! without moving the buttons (see `support` for the desktop these run on).
// The app on X11 (Xvfb, openbox, trayer, WebKitWebDriver): Linux only.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use spotify_sandbox::{Endpoint, Fault};
use std::time::{Duration, Instant};
use support::webdriver::Session;
use support::{CLIENT_ID, Desktop, ONE_AT_A_TIME, Setup};

const WAIT: Duration = Duration::from_secs(20);

fn settings(redirect: &str) -> String {
    format!("client_id = \"{CLIENT_ID}\"\nredirect = \"{redirect}\"\nclipboard_clear_secs = 60\n")
}

/// The colour most of the window is painted in (its background), from a screenshot.
fn background(png_bytes: &[u8]) -> [u8; 3] {
    let decoder = png::Decoder::new(png_bytes);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    let mut counts = std::collections::HashMap::<[u8; 3], usize>::new();
    for px in buf[..info.buffer_size()].chunks_exact(step) {
        *counts.entry([px[0], px[1], px[2]]).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).unwrap().0
}

/// Relative luminance (WCAG) of an sRGB colour, 0 (black) to 1 (white).
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// axe-core's serious and critical findings on the page as it is now, one line each.
async fn accessibility_problems(s: &Session) -> Vec<String> {
    static AXE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(path).expect("axe-core is missing: `npm ci` in ui/ (scripts/test runs it)")
    });
    let loaded = s.execute("return typeof window.axe === 'object';", json!([])).await.unwrap();
    if loaded != Value::Bool(true) {
        s.execute(&format!("{}\nreturn true;", *AXE), json!([])).await.unwrap();
    }
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { resultTypes: ["violations"] })
          .then((r) => done(r.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`))))
          .catch((e) => done([`axe failed: ${e}`]));"#;
    let found = s.execute_async(script, json!([])).await.unwrap();
    found.as_array().unwrap().iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect()
}

/// Checks the view in both window sizes: axe-core finds nothing serious, and the
/// screenshots are kept.
async fn check_view(d: &Desktop, s: &Session, theme: &str, view: &str, problems: &mut Vec<String>) {
    for (width, height) in [(1280, 800), (640, 480)] {
        d.resize(s, width, height).await;
        for problem in accessibility_problems(s).await {
            problems.push(format!("{theme} {view} at {width}×{height}: {problem}"));
        }
        d.keep(&format!("{theme}-{view}-{width}x{height}"), &d.window_png());
    }
    d.resize(s, 1280, 800).await;
}

/// Every view in the desktop's light and dark theme: the painted background follows the
/// GTK theme (with the app's default rendering settings), and axe-core finds no serious
/// or critical problem on any of them.
#[tokio::test(flavor = "multi_thread")]
async fn every_view_follows_the_desktop_theme_and_has_no_serious_accessibility_problem() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut problems = Vec::new();
    for (theme, gtk_theme) in [("light", "Adwaita"), ("dark", "Adwaita:dark")] {
        let setup = Setup { env: vec![("GTK_THEME", gtk_theme.to_string())], ..Setup::default() };
        let d = Desktop::start_with(&format!("theme-{theme}"), setup).await;
        let s = d.session().await;

        s.wait_for("[data-test=setup]", WAIT).await;
        d.resize(&s, 1280, 800).await;
        let painted = background(&d.window_png());
        let l = luminance(painted);
        match theme {
            "dark" => assert!(l < 0.05, "a dark GTK theme should paint a dark window, not {painted:?} ({l:.3})"),
            _ => assert!(l > 0.8, "a light GTK theme should paint a light window, not {painted:?} ({l:.3})"),
        }
        let scheme = s.execute("return getComputedStyle(document.documentElement).colorScheme;", json!([])).await;
        // Dark declares it (native controls drawn dark); light leaves WebKit's default,
        // which is light (see app.css).
        let scheme = scheme.unwrap();
        match theme {
            "dark" => assert_eq!(scheme, json!("dark"), "native controls should be drawn dark"),
            _ => assert!(scheme == json!("normal") || scheme == json!("light"), "{scheme}"),
        }

        // First run, with a complaint about the Client ID showing.
        s.type_into("[data-test=client-id]", "not-a-client-id").await;
        check_view(&d, &s, theme, "first-run", &mut problems).await;
        s.type_into("[data-test=client-id]", CLIENT_ID).await;
        s.click("[data-test=save-settings]").await;

        // The scope picker, then the waiting view (a browser that never comes back).
        s.wait_for("[data-test=login-panel]", WAIT).await;
        // An unchecked box in the theme's colours (WebKitGTK's own is white in both).
        let script =
            "return getComputedStyle(document.querySelector('input[type=checkbox]:not(:checked)')).backgroundColor;";
        let css = s.execute(script, json!([])).await.unwrap();
        let rgb: Vec<u8> = css
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .filter_map(|c| c.trim().parse().ok())
            .collect();
        assert!(css.as_str().is_some_and(|c| c.starts_with("rgb(")), "the box is painted, opaque: {css}");
        let box_luminance = luminance([rgb[0], rgb[1], rgb[2]]);
        match theme {
            "dark" => assert!(box_luminance < 0.05, "an unchecked box should be dark: {css}"),
            _ => assert!(box_luminance > 0.8, "an unchecked box should be light: {css}"),
        }
        check_view(&d, &s, theme, "login", &mut problems).await;
        let browser = d.dir.path().join("browser.sh");
        let consenting = std::fs::read_to_string(&browser).unwrap();
        std::fs::write(&browser, "#!/bin/sh\nexit 0\n").unwrap();
        s.click("[data-test=continue-login]").await;
        s.wait_for("[data-test=waiting]", WAIT).await;
        check_view(&d, &s, theme, "waiting", &mut problems).await;
        s.click("[data-test=cancel-login]").await;

        // Signed in: the accounts view (a cancelled sign-in goes back to the scope picker).
        std::fs::write(&browser, consenting).unwrap();
        s.wait_for("[data-test=continue-login]", WAIT).await;
        s.click("[data-test=continue-login]").await;
        s.wait_for("[data-test=account]", WAIT).await;
        s.wait_gone("[data-test=toast]", WAIT).await; // "Signed in as …", for a clean picture
        check_view(&d, &s, theme, "accounts", &mut problems).await;
        // The card uses the window's width, not a narrow column in it.
        let [_, _, card_width, _] = s.rect("[data-test=account]").await;
        assert!(card_width > 1100, "at 1280 px the card should fill the window, not {card_width} px");

        // A refresh Spotify refuses for good: the card in its needs-sign-in state.
        d.sandbox.push_fault(Fault::oauth(400, "invalid_grant", "Refresh token revoked"));
        s.click("[data-test=refresh]").await;
        s.wait_for("[data-test=sign-in-again]", WAIT).await;
        // Said once, on the access token's line: no second box repeats it.
        let why = s.wait_text("[data-test=why-signed-out]", WAIT, |t| t.contains("Refresh token revoked")).await;
        assert!(why.contains("sign in again"), "{why}");
        assert!(s.find_all("[data-test=account] [data-test=error]").await.is_empty(), "one place per message");
        let refused = Instant::now();
        check_view(&d, &s, theme, "needs-sign-in", &mut problems).await;
        // Spotify may refuse a healthy refresh token by mistake: the kept one is tried
        // again from the card (a refusal is shared for 5 s) and the account comes back.
        tokio::time::sleep(Duration::from_secs(6).saturating_sub(refused.elapsed())).await;
        s.click("[data-test=retry]").await;
        s.wait_for("[data-test=refresh]", WAIT).await;
        assert!(s.find_all("[data-test=sign-in-again]").await.is_empty(), "the account is back");
        if theme == "light" {
            // A script meets Spotify's used-up quota: the card says until when, locally.
            d.sandbox.push_fault(Fault::quota_exceeded(Endpoint::Me, 47_000));
            let out = d.cli_from_shell(&["api", "/me"]).output().unwrap();
            assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
            let said = s.wait_text("[data-test=quota]", WAIT, |t| t.contains(" until ")).await;
            assert!(said.contains("QUOTA_EXCEEDED") && said.contains("every program"), "{said}");
        }

        s.click("[data-test=nav-activity]").await;
        s.wait_for("[data-test=timeline]", WAIT).await;
        check_view(&d, &s, theme, "activity", &mut problems).await;
        // Outcomes in words; the codes only in each row's details.
        let outcomes = s.texts("[data-test=event] [data-test=outcome] > span").await;
        assert!(outcomes.iter().any(|o| o.starts_with("Failed: ")), "{outcomes:?}");
        assert!(!outcomes.iter().any(|o| o.contains('_') || o.contains("failed")), "codes shown: {outcomes:?}");
        s.click("[data-test=nav-settings]").await;
        s.wait_for("[data-test=setup]", WAIT).await;
        check_view(&d, &s, theme, "settings", &mut problems).await;
        s.end().await;
    }
    assert!(problems.is_empty(), "axe-core found serious problems:\n{}", problems.join("\n"));
}

/// Navigation moves the keyboard's focus to the new view's heading, and Escape goes back
/// to the accounts.
#[tokio::test(flavor = "multi_thread")]
async fn navigation_moves_the_focus_to_the_new_views_heading() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("focus", Some(&settings("loopback"))).await;
    let s = d.session().await;
    s.wait_for("[data-test=log-in-empty]", WAIT).await;
    let focused = || async {
        let v =
            s.execute("const e = document.activeElement; return e ? e.tagName + ':' + e.textContent : '';", json!([]));
        v.await.unwrap().as_str().unwrap_or_default().to_string()
    };
    for (button, heading) in
        [("nav-activity", "H2:Activity"), ("nav-settings", "H2:Settings"), ("nav-accounts", "H2:No account yet")]
    {
        s.click(&format!("[data-test={button}]")).await;
        let started = Instant::now();
        while !focused().await.starts_with(heading) {
            assert!(started.elapsed() < WAIT, "after {button} the focus is on {:?}, not {heading}", focused().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    s.click("[data-test=nav-activity]").await;
    s.wait_for("[data-test=activity]", WAIT).await;
    d.keys(&["Escape"]);
    s.wait_gone("[data-test=activity]", WAIT).await;
    s.end().await;
}

/// With Spotify's token endpoint not answering, *Refresh now* shows how long it has been
/// waiting and can be stopped; Copy of the still valid token, Reveal and Sign out stay
/// usable; the refresh ends within its one deadline, keeping the refresh token; and
/// neither its error appearing nor it going moves the card's buttons.
#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_refresh_locks_nothing_can_be_stopped_and_moves_no_button() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("hanging-refresh", Some(&settings("loopback"))).await;
    let s = d.session().await;
    s.click("[data-test=log-in-empty]").await;
    s.click("[data-test=continue-login]").await;
    s.wait_for("[data-test=account]", WAIT).await;
    let buttons = ["[data-test=refresh]", "[data-test=sign-out]", "[data-test=copy]", "[data-test=reveal]"];
    let mut before = Vec::new();
    for b in buttons {
        before.push(s.rect(b).await);
    }

    // Spotify takes a minute to answer. (Were the attempts' own timeouts stacked, a second
    // attempt would get through and no error would show.)
    d.sandbox.push_fault(Fault { delay_ms: 60_000, ..Fault::status(Endpoint::Token, 0) });
    let clicked = Instant::now();
    s.click("[data-test=refresh]").await;
    let progress = s.wait_text("[data-test=refresh]", WAIT, |t| t.starts_with("Refreshing")).await;
    assert!(progress.ends_with(" s"), "the refresh should show how long it has waited: {progress}");
    for b in ["[data-test=copy]", "[data-test=reveal]", "[data-test=sign-out]", "[data-test=nav-activity]"] {
        assert_eq!(s.attribute(b, "disabled").await, None, "{b} should stay usable during a refresh");
    }
    d.keep("refreshing", &d.window_png());
    s.click("[data-test=copy]").await;
    s.wait_text("[data-test=toast]", WAIT, |t| t.contains("Token copied")).await;
    let copied = d.clipboard();
    assert_eq!(d.me_status(&copied).await, 200, "the still valid token should be copied during the refresh");

    s.click("[data-test=stop-refresh]").await;
    s.wait_text("[data-test=refresh]", WAIT, |t| t == "Refresh now").await;
    d.keep("stopped-waiting", &d.window_png());

    // The refresh itself ends at its deadline (30 s), not after four timeouts: its error
    // shows in the card, below the buttons, which have not moved.
    s.wait_for("[data-test=account] [data-test=error]", Duration::from_secs(60)).await;
    let waited = clicked.elapsed();
    assert!(waited < Duration::from_secs(50), "the refresh should end within its deadline, not after {waited:?}");
    let error = s.text("[data-test=account] [data-test=error]").await;
    assert!(error.contains("Spotify"), "the error should say what happened: {error}");
    d.keep("refresh-error", &d.window_png());
    for (b, was) in buttons.iter().zip(&before) {
        assert_eq!(s.rect(b).await, *was, "{b} moved when the error appeared");
    }
    // The one attempt was cut off unanswered (the sandbox logs a request when it answers):
    // a second attempt would have been answered, and logged.
    assert!(d.sandbox.token_requests("refresh_token").is_empty(), "one attempt, cut off at the deadline");
    assert!(d.keychain_entry().is_some(), "the refresh token is kept");

    // A refresh that works clears the error, and again nothing moves.
    s.click("[data-test=refresh]").await;
    s.wait_text("[data-test=toast]", WAIT, |t| t.contains("Refreshed")).await;
    s.wait_gone("[data-test=account] [data-test=error]", WAIT).await;
    for (b, was) in buttons.iter().zip(&before) {
        assert_eq!(s.rect(b).await, *was, "{b} moved when the error went");
    }
    s.end().await;
}

/// Unsaved settings are never dropped silently: leaving asks, *Keep editing* keeps them,
/// *Discard changes* leaves; saved settings leave without asking. Save says why it is
/// disabled.
#[tokio::test(flavor = "multi_thread")]
async fn leaving_unsaved_settings_asks_first() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let d = Desktop::start("unsaved", Some(&settings("loopback"))).await;
    let s = d.session().await;
    s.wait_for("[data-test=log-in-empty]", WAIT).await;
    s.click("[data-test=nav-settings]").await;
    s.wait_for("[data-test=setup]", WAIT).await;
    s.click("[data-test=nav-activity]").await;
    s.wait_for("[data-test=activity]", WAIT).await; // nothing changed: no question

    s.click("[data-test=nav-settings]").await;
    s.type_into("[data-test=clear-secs]", "45").await;
    s.click("[data-test=nav-accounts]").await;
    s.wait_for("[data-test=unsaved]", WAIT).await;
    d.keep("unsaved-settings", &d.window_png());
    s.click("[data-test=keep-editing]").await;
    s.wait_gone("[data-test=unsaved]", WAIT).await;
    assert_eq!(s.property("[data-test=clear-secs]", "value").await, "45", "keeping on editing keeps the change");

    s.click("[data-test=nav-accounts]").await;
    s.click("[data-test=discard-settings]").await;
    s.wait_for("[data-test=log-in-empty]", WAIT).await;

    // A Client ID cleared (a blank left): Save is disabled and says why.
    s.click("[data-test=nav-settings]").await;
    s.type_into("[data-test=client-id]", " ").await;
    assert_eq!(s.text("[data-test=save-why]").await, "Paste the Client ID first.");
    assert_eq!(s.attribute("[data-test=save-settings]", "disabled").await.as_deref(), Some("true"));
    s.type_into("[data-test=client-id]", CLIENT_ID).await;
    s.type_into("[data-test=clear-secs]", "45").await;
    s.click("[data-test=save-settings]").await;
    // Saved, with no account yet: on to the login, not asked.
    s.wait_for("[data-test=login-panel]", WAIT).await;
    assert!(s.find_all("[data-test=unsaved]").await.is_empty());
    s.end().await;
}
