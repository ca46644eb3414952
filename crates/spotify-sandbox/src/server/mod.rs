//! The sandbox's HTTP routes (`accounts.rs`: authorize and token, as accounts.spotify.com;
//! `web_api.rs`: the Web API calls it answers). Each check mirrors one Spotify makes, with its exact
//! error string (`spotify-platform.md`, "Errors, exactly as Spotify sends them").

use crate::{
    AccessGrant, CodeGrant, Control, Decision, Endpoint, LogEntry, PendingConsent, RefreshGrant, Rotation, Shared,
    State, apply, lock,
};
use axum::Router;
use axum::extract::{Query, State as Ax};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

mod accounts;
mod web_api;

use accounts::{authorize, decide, token};
use web_api::{create_playlist, me, my_playlists, player, playlist_items, queue, unknown_route, withdrawn};

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/authorize", get(authorize))
        .route("/authorize/decide", get(decide))
        .route("/api/token", post(token))
        .route("/v1/me", get(me))
        // Spotify answers with or without a trailing slash (spotipy calls `/v1/me/`).
        .route("/v1/me/", get(me))
        .route("/v1/me/player", get(player))
        .route("/v1/me/player/queue", get(queue))
        .route("/v1/me/playlists", get(my_playlists).post(create_playlist))
        .route("/v1/playlists/{id}/items", get(playlist_items))
        .route("/v1/playlists/{id}/tracks", get(withdrawn).post(withdrawn).put(withdrawn).delete(withdrawn))
        .route("/v1/{*rest}", axum::routing::any(unknown_route))
        .route("/sandbox/control", post(control))
        .route("/sandbox/log", get(log))
        .route("/sandbox/secrets", get(secrets))
        .with_state(state)
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

fn random(prefix: &str) -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>{title}</title>\
         <body style=\"font:16px system-ui;max-width:32em;margin:10vh auto\"><h1>{title}</h1>{body}</body>"
    );
    (status, Html(html)).into_response()
}

/// Spotify's rule: exact match, except loopback IP literals may carry any port.
fn redirect_registered(registered: &[String], candidate: &str) -> bool {
    let Ok(url) = Url::parse(candidate) else {
        return false;
    };
    if url.host_str() == Some("localhost") {
        return false;
    }
    registered.iter().any(|r| {
        if r == candidate {
            return true;
        }
        let Ok(reg) = Url::parse(r) else { return false };
        let loopback = matches!(reg.host_str(), Some("127.0.0.1") | Some("[::1]"));
        loopback
            && reg.port().is_none()
            && reg.scheme() == "http"
            && url.scheme() == "http"
            && url.host_str() == reg.host_str()
            && url.path() == reg.path()
            && url.query().is_none()
    })
}

/// Spotify answers the consent page with `302 Found`.
fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_string())]).into_response()
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        Err(_) => base.to_string(),
    }
}

fn log_entry<'a>(state: &'a mut State, endpoint: &str, status: u16) -> &'a mut LogEntry {
    state.log.push(LogEntry {
        endpoint: endpoint.to_string(),
        grant_type: None,
        status,
        error: None,
        refresh_serial: None,
        issued_refresh_serial: None,
        had_authorization_header: false,
    });
    let last = state.log.len() - 1;
    &mut state.log[last]
}

/// Takes the next fault for `endpoint`, if one is queued.
fn next_fault(state: &Shared, endpoint: Endpoint) -> Option<crate::Fault> {
    let mut s = lock(state);
    let i = s.faults.iter().position(|f| f.endpoint == endpoint)?;
    s.faults.remove(i)
}

async fn apply_fault(state: &Shared, endpoint: Endpoint, name: &str) -> Option<Response> {
    let fault = next_fault(state, endpoint)?;
    tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    if fault.status == 0 {
        return None;
    }
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    log_entry(&mut lock(state), name, fault.status).error = Some(format!("scripted {}", fault.status));
    let mut response = if let Some(text) = &fault.text {
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text.clone()).into_response()
    } else if let Some(message) = &fault.message {
        (status, Json(json!({"error": {"status": fault.status, "message": message}}))).into_response()
    } else if let Some((error, description)) = &fault.oauth_error {
        (status, Json(json!({"error": error, "error_description": description}))).into_response()
    } else if fault.status == 429 {
        let mut body = json!({"error": {"status": 429, "message": "Too many requests"}});
        if let Some(reason) = &fault.reason {
            body["error"]["reason"] = json!(reason);
        }
        (status, Json(body)).into_response()
    } else {
        (status, Html("<html><body>upstream error</body></html>")).into_response()
    };
    if let Some(after) = fault.retry_after
        && let Ok(value) = after.to_string().parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

async fn control(Ax(state): Ax<Shared>, Json(control): Json<Control>) -> StatusCode {
    apply(&mut lock(&state), control);
    StatusCode::NO_CONTENT
}

async fn log(Ax(state): Ax<Shared>) -> Json<Vec<LogEntry>> {
    Json(lock(&state).log.clone())
}

async fn secrets(Ax(state): Ax<Shared>) -> Json<Vec<String>> {
    Json(lock(&state).secrets.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_match_any_port_but_not_localhost() {
        let registered = vec!["http://127.0.0.1/callback".to_string(), "spotoken://callback".to_string()];
        assert!(redirect_registered(&registered, "http://127.0.0.1:43123/callback"));
        assert!(redirect_registered(&registered, "http://127.0.0.1/callback"));
        assert!(redirect_registered(&registered, "spotoken://callback"));
        assert!(!redirect_registered(&registered, "http://localhost:43123/callback"));
        assert!(!redirect_registered(&registered, "http://127.0.0.1:43123/other"));
        assert!(!redirect_registered(&registered, "https://127.0.0.1:43123/callback"));
        assert!(!redirect_registered(&registered, "spotoken://callback/extra"));
    }
}
