//! Entry points for fuzzing every parser that reads what others send (feature
//! `fuzzing`; the targets are in `crates/spotoken-core/fuzz/`, `scripts/fuzz` runs them).
//! Each takes arbitrary bytes, must never panic, and checks what must hold of any
//! answer: a parsed value that is written again reads back the same, a refusal never
//! quotes a secret it was given.

use crate::clock::Timestamp;
use std::time::Duration;

fn text(data: &[u8]) -> &str {
    std::str::from_utf8(data).unwrap_or_default()
}

/// A callback address (the loopback redirect's or a deep link), against both redirects.
pub fn callback(data: &[u8]) {
    let raw = text(data);
    let state = crate::secret::Secret::of("fuzz-state".into());
    for redirect in ["http://127.0.0.1:4567/callback", "spotoken://callback"] {
        let redirect = url::Url::parse(redirect).unwrap_or_else(|_| unreachable!());
        if let Ok(code) = crate::auth::callback::parse(raw, &redirect, &state) {
            // Only a callback that carried the state can yield a code: its one `state`
            // as the URL reads it (which drops tabs and line breaks and decodes `%xx`).
            let url = url::Url::parse(raw).unwrap_or_else(|_| unreachable!());
            let states: Vec<String> = url.query_pairs().filter(|(k, _)| k == "state").map(|(_, v)| v.into()).collect();
            assert_eq!(states, ["fuzz-state"], "a code came from a callback without the state");
            assert!(!code.secret().is_empty());
        }
    }
}

/// The request head the loopback listener reads from the browser.
pub fn loopback_head(data: &[u8]) {
    let _ = crate::auth::loopback::parse_head(data, 4567);
}

/// A token endpoint answer, with the status chosen by the first byte.
pub fn token_answer(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else { return };
    let status = [200, 400, 401, 403, 429, 500, 503][usize::from(first) % 7];
    let answer = crate::spotify::Answer { status, retry_after: None, body: body.to_vec() };
    let now = Timestamp(1_800_000_000);
    match crate::spotify::accounts::parse(&answer, now) {
        Ok(grant) => {
            assert_eq!(status, 200, "a grant from HTTP {status}");
            assert!(!grant.access_token.secret().is_empty(), "an empty access token was taken");
            assert!(grant.expires_at.0 > now.0, "an access token that was dead on arrival was taken");
        }
        Err(e) => {
            // Every refusal has a code and words.
            assert!(!e.diagnose().message.is_empty());
        }
    }
}

/// A Web API error body, as `spotoken api` reads it.
pub fn api_error(data: &[u8]) {
    let _ = crate::call::spotify_error(data);
}

/// `Retry-After`.
pub fn retry_after(data: &[u8]) {
    if let Some(wait) = crate::spotify::parse_retry_after(text(data)) {
        assert!(wait <= Duration::from_secs(9_999_999_999));
    }
}

/// A path or URL given to `spotoken api` or `spotoken scopes`.
pub fn catalog_path(data: &[u8]) {
    let path = text(data);
    let normal = crate::catalog::normalize(path);
    // A path relative to /v1: one leading slash, no query, fragment, trailing slash or
    // space at its ends. (Not idempotent by design: `/v1/v1/x` is `/v1/x`, which read
    // again is `/x`.)
    assert!(normal.starts_with('/') && !normal.starts_with("//"), "{path:?} → {normal:?}");
    assert!(!normal.contains(['?', '#']), "{path:?} → {normal:?}");
    assert!(normal == "/" || !normal.ends_with(|c: char| c == '/' || c.is_whitespace()), "{path:?} → {normal:?}");
    let _ = crate::catalog::find(None, path);
    let _ = crate::catalog::find(Some("GET"), path);
    let _ = crate::catalog::search(path, 5);
}

/// Lines of the activity record (written by any version, cut by a crash).
pub fn record_lines(data: &[u8]) {
    for event in crate::activity::parse_lines(text(data)) {
        let line = serde_json::to_string(&event).unwrap_or_else(|_| unreachable!());
        let again: crate::activity::Event = serde_json::from_str(&line).unwrap_or_else(|_| unreachable!());
        assert_eq!(again, event, "an event does not read back as written");
    }
}

/// `settings.toml`, as a person may have edited it.
pub fn settings(data: &[u8]) {
    if let Ok(settings) = toml::from_str::<crate::config::Settings>(text(data)) {
        let written = toml::to_string_pretty(&settings).unwrap_or_else(|_| unreachable!());
        let again: crate::config::Settings = toml::from_str(&written).unwrap_or_else(|_| unreachable!());
        assert_eq!(again, settings, "settings do not read back as written");
    }
}

/// A keychain entry, as the keychain (or another program) hands it back.
pub fn stored_tokens(data: &[u8]) {
    if let Ok(tokens) = crate::store::tokens::StoredTokens::from_text(text(data))
        && let Ok(written) = tokens.to_text()
    {
        let again = crate::store::tokens::StoredTokens::from_text(&written).unwrap_or_else(|_| unreachable!());
        assert_eq!(again, tokens, "stored tokens do not read back as written");
    }
}

/// A duration the person types (`--since 30m`) and a time in a record.
pub fn durations_and_times(data: &[u8]) {
    let _ = crate::clock::parse_duration(text(data));
    if let Some(at) = Timestamp::parse_rfc3339(text(data)) {
        assert_eq!(Timestamp::parse_rfc3339(&at.to_rfc3339()), Some(at));
    }
}
