//! The sandbox's HTTP routes. Each check mirrors one Spotify makes, with its exact
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

const SCOPES: &[&str] = &[
    "user-read-private",
    "user-read-email",
    "user-read-playback-state",
    "user-modify-playback-state",
    "user-read-currently-playing",
    "user-read-playback-position",
    "user-read-recently-played",
    "user-top-read",
    "user-library-read",
    "user-library-modify",
    "user-follow-read",
    "user-follow-modify",
    "playlist-read-private",
    "playlist-read-collaborative",
    "playlist-modify-private",
    "playlist-modify-public",
    "ugc-image-upload",
    "streaming",
    "app-remote-control",
];

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

async fn authorize(Ax(state): Ax<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = lock(&state);
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let fail = |s: &mut State, error: &str| {
        log_entry(s, "authorize", 400).error = Some(error.to_string());
        page(StatusCode::BAD_REQUEST, "Spotify (sandbox)", &format!("<p><code>{error}</code></p>"))
    };
    if !s.config.client_ids.iter().any(|c| c == get("client_id")) {
        return fail(&mut s, "INVALID_CLIENT: Invalid client");
    }
    let redirect_uri = get("redirect_uri").to_string();
    if !redirect_registered(&s.config.redirect_uris, &redirect_uri) {
        return fail(&mut s, "INVALID_CLIENT: Invalid redirect URI");
    }
    if get("response_type") != "code" {
        return fail(&mut s, "unsupported_response_type");
    }
    let requested: Vec<String> = get("scope").split_whitespace().map(str::to_string).collect();
    if requested.iter().any(|r| !SCOPES.contains(&r.as_str())) {
        return fail(&mut s, "Illegal scope");
    }
    let challenge = get("code_challenge").to_string();
    if get("code_challenge_method") != "S256"
        || challenge.len() != 43
        || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return fail(&mut s, "code_challenge must be an S256 challenge");
    }
    let scopes = match &s.granted_scopes {
        Some(only) => requested.iter().filter(|r| only.contains(r)).cloned().collect(),
        None => requested,
    };
    let state_param = q.get("state").cloned();
    let grant = CodeGrant {
        client_id: get("client_id").to_string(),
        redirect_uri: redirect_uri.clone(),
        challenge,
        scopes,
        user: s.config.user.clone(),
        expires_at: now() + s.config.code_ttl_secs,
        used: false,
    };
    let decision = s.config.decision;
    log_entry(&mut s, "authorize", 302);
    match decision {
        Decision::Approve => found(&issue_code(&mut s, redirect_uri, state_param, grant)).into_response(),
        Decision::Deny => {
            let mut pairs = vec![("error", "access_denied")];
            if let Some(st) = &state_param {
                pairs.push(("state", st));
            }
            found(&with_query(&redirect_uri, &pairs)).into_response()
        }
        Decision::Ask => {
            let id = random("");
            let user = grant.user.display_name.clone();
            let list: String = grant.scopes.iter().map(|sc| format!("<li><code>{sc}</code></li>")).collect();
            s.consents.insert(id.clone(), PendingConsent { redirect_uri, state: state_param, grant });
            page(
                StatusCode::OK,
                "Spotify (sandbox)",
                &format!(
                    "<p>Spotoken wants to sign in as <b>{user}</b> with:</p><ul>{list}</ul>\
                     <p><a href=\"/authorize/decide?id={id}&answer=agree\"><button>Agree</button></a> \
                     <a href=\"/authorize/decide?id={id}&answer=cancel\"><button>Cancel</button></a></p>"
                ),
            )
        }
    }
}

fn issue_code(s: &mut State, redirect_uri: String, state: Option<String>, grant: CodeGrant) -> String {
    let code = random("AQC");
    s.secrets.push(code.clone());
    s.codes.insert(code.clone(), grant);
    let mut pairs = vec![("code", code.as_str())];
    if let Some(st) = &state {
        pairs.push(("state", st));
    }
    with_query(&redirect_uri, &pairs)
}

async fn decide(Ax(state): Ax<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = lock(&state);
    let Some(consent) = q.get("id").and_then(|id| s.consents.remove(id)) else {
        return page(StatusCode::BAD_REQUEST, "Spotify (sandbox)", "<p>This consent page has expired.</p>");
    };
    if q.get("answer").map(String::as_str) == Some("agree") {
        found(&issue_code(&mut s, consent.redirect_uri, consent.state, consent.grant)).into_response()
    } else {
        let mut pairs = vec![("error", "access_denied")];
        if let Some(st) = &consent.state {
            pairs.push(("state", st));
        }
        found(&with_query(&consent.redirect_uri, &pairs)).into_response()
    }
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({ "error": error, "error_description": description }))).into_response()
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

async fn token(Ax(state): Ax<Shared>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    if let Some(response) = apply_fault(&state, Endpoint::Token, "token").await {
        return response;
    }
    let delay = lock(&state).token_delay_ms;
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let mut s = lock(&state);
    let had_auth = headers.contains_key(header::AUTHORIZATION);
    let grant_type = form.get("grant_type").cloned();
    let (response, entry) = match grant_type.as_deref() {
        Some("authorization_code") => exchange(&mut s, &form),
        Some("refresh_token") => refresh(&mut s, &form),
        _ => (
            token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            ),
            Outcome::error(400, "unsupported_grant_type"),
        ),
    };
    let logged = log_entry(&mut s, "token", entry.status);
    logged.grant_type = grant_type;
    logged.error = entry.error;
    logged.refresh_serial = entry.refresh_serial;
    logged.issued_refresh_serial = entry.issued;
    logged.had_authorization_header = had_auth;
    response
}

#[derive(Default)]
struct Outcome {
    status: u16,
    error: Option<String>,
    refresh_serial: Option<u32>,
    issued: Option<u32>,
}

impl Outcome {
    fn error(status: u16, error: &str) -> Self {
        Self { status, error: Some(error.to_string()), ..Default::default() }
    }
}

fn invalid_grant(description: &str, serial: Option<u32>) -> (Response, Outcome) {
    let mut outcome = Outcome::error(400, &format!("invalid_grant: {description}"));
    outcome.refresh_serial = serial;
    (token_error(StatusCode::BAD_REQUEST, "invalid_grant", description), outcome)
}

fn client_ok(s: &State, form: &HashMap<String, String>) -> bool {
    form.get("client_id").is_some_and(|c| s.config.client_ids.contains(c))
}

fn exchange(s: &mut State, form: &HashMap<String, String>) -> (Response, Outcome) {
    if !client_ok(s, form) {
        return (
            token_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client"),
            Outcome::error(400, "invalid_client"),
        );
    }
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (code, verifier) = (field("code"), field("code_verifier"));
    if !verifier.is_empty() {
        s.secrets.push(verifier.clone());
    }
    let Some(grant) = s.codes.get_mut(&code) else {
        return invalid_grant("Invalid authorization code", None);
    };
    if grant.used {
        return invalid_grant("Invalid authorization code", None);
    }
    grant.used = true;
    if grant.expires_at <= now() {
        return invalid_grant("Authorization code expired", None);
    }
    if grant.redirect_uri != field("redirect_uri") {
        return invalid_grant("Invalid redirect URI", None);
    }
    if grant.client_id != field("client_id") {
        return (
            token_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client"),
            Outcome::error(400, "invalid_client"),
        );
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if !(43..=128).contains(&verifier.len()) || computed != grant.challenge {
        return invalid_grant("code_verifier was incorrect", None);
    }
    let (user, scopes, client_id) = (grant.user.clone(), grant.scopes.clone(), grant.client_id.clone());
    let refresh = random("AQ");
    let serial = s.next_serial;
    s.next_serial += 1;
    s.secrets.push(refresh.clone());
    s.refresh_tokens.insert(
        refresh.clone(),
        RefreshGrant { serial, client_id, scopes: scopes.clone(), user: user.clone(), dead: None },
    );
    let body = grant_body(s, &user, &scopes, Some(&refresh));
    (Json(body).into_response(), Outcome { status: 200, issued: Some(serial), ..Default::default() })
}

fn refresh(s: &mut State, form: &HashMap<String, String>) -> (Response, Outcome) {
    if !client_ok(s, form) {
        return (
            token_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client"),
            Outcome::error(400, "invalid_client"),
        );
    }
    let presented = form.get("refresh_token").cloned().unwrap_or_default();
    let Some(grant) = s.refresh_tokens.get(&presented) else {
        return invalid_grant("Invalid refresh token", None);
    };
    let serial = grant.serial;
    if let Some(description) = grant.dead.clone() {
        return invalid_grant(&description, Some(serial));
    }
    if form.get("client_id") != Some(&grant.client_id) {
        return invalid_grant("Invalid refresh token", Some(serial));
    }
    let (user, scopes, client_id) = (grant.user.clone(), grant.scopes.clone(), grant.client_id.clone());
    let (body, issued) = match s.rotation {
        Rotation::Omit => (grant_body(s, &user, &scopes, None), None),
        Rotation::Same => (grant_body(s, &user, &scopes, Some(&presented)), Some(serial)),
        Rotation::Rotate => {
            let new = random("AQ");
            let new_serial = s.next_serial;
            s.next_serial += 1;
            s.secrets.push(new.clone());
            if let Some(old) = s.refresh_tokens.get_mut(&presented) {
                old.dead = Some("Invalid refresh token".into());
            }
            s.refresh_tokens.insert(
                new.clone(),
                RefreshGrant { serial: new_serial, client_id, scopes: scopes.clone(), user: user.clone(), dead: None },
            );
            (grant_body(s, &user, &scopes, Some(&new)), Some(new_serial))
        }
    };
    (Json(body).into_response(), Outcome { status: 200, refresh_serial: Some(serial), issued, ..Default::default() })
}

fn grant_body(s: &mut State, user: &crate::User, scopes: &[String], refresh: Option<&str>) -> serde_json::Value {
    let access = random("BQ");
    s.secrets.push(access.clone());
    let ttl = s.config.access_ttl_secs;
    s.access_tokens
        .insert(access.clone(), AccessGrant { user: user.clone(), expires_at: now() + ttl, scopes: scopes.to_vec() });
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "scope": scopes.join(" "),
        "expires_in": ttl,
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    body
}

fn api_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": {"status": status.as_u16(), "message": message}}))).into_response()
}

async fn me(Ax(state): Ax<Shared>, headers: HeaderMap) -> Response {
    // No scope needed: `user-read-private` and `user-read-email` only add fields.
    let (user, _) = match web_api_at(&state, &headers, Endpoint::Me, "me", &[]).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    Json(json!({
        "id": user.id,
        "display_name": user.display_name,
        "type": "user",
        "uri": format!("spotify:user:{}", user.id),
        "href": format!("https://api.spotify.com/v1/users/{}", user.id),
        "external_urls": {"spotify": format!("https://open.spotify.com/user/{}", user.id)},
        "images": [],
        "followers": {"href": null, "total": 0},
        "account_id": format!("acct-{}", user.id),
    }))
    .into_response()
}

/// What every scoped Web API route checks first, in Spotify's order: a scripted fault, a
/// bearer token (401 `No token provided` / `Invalid access token` / `The access token
/// expired`), then the scopes (403 `Insufficient client scope`). The grant's user and scopes.
async fn web_api(
    state: &Shared,
    headers: &HeaderMap,
    name: &str,
    required: &[&str],
) -> Result<(crate::User, Vec<String>), Response> {
    web_api_at(state, headers, Endpoint::Api, name, required).await
}

/// [`web_api`] with the faults scripted for `endpoint` (`/v1/me` has its own).
async fn web_api_at(
    state: &Shared,
    headers: &HeaderMap,
    endpoint: Endpoint,
    name: &str,
    required: &[&str],
) -> Result<(crate::User, Vec<String>), Response> {
    if let Some(response) = apply_fault(state, endpoint, name).await {
        return Err(response);
    }
    let mut s = lock(state);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let (status, message) = match bearer.as_ref().map(|t| s.access_tokens.get(t)) {
        None => (401, "No token provided"),
        Some(None) => (401, "Invalid access token"),
        Some(Some(grant)) if grant.expires_at <= now() => (401, "The access token expired"),
        Some(Some(grant)) if required.iter().any(|r| !grant.scopes.iter().any(|g| g == r)) => {
            (403, "Insufficient client scope")
        }
        Some(Some(grant)) => {
            let found = (grant.user.clone(), grant.scopes.clone());
            log_entry(&mut s, name, 200);
            return Ok(found);
        }
    };
    log_entry(&mut s, name, status).error = Some(message.to_string());
    Err(api_error(StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED), message))
}

async fn player(Ax(state): Ax<Shared>, headers: HeaderMap) -> Response {
    match web_api(&state, &headers, "player", &["user-read-playback-state"]).await {
        Err(response) => response,
        Ok(_) => Json(json!({
            "device": {"id": "sandbox-device", "is_active": true, "name": "Sandbox Speaker", "type": "Speaker", "volume_percent": 50},
            "repeat_state": "off", "shuffle_state": false, "is_playing": true, "progress_ms": 1000,
            "currently_playing_type": "track", "item": track(0),
        }))
        .into_response(),
    }
}

async fn queue(Ax(state): Ax<Shared>, headers: HeaderMap) -> Response {
    let scopes = ["user-read-currently-playing", "user-read-playback-state"];
    match web_api(&state, &headers, "queue", &scopes).await {
        Err(response) => response,
        Ok(_) => Json(json!({"currently_playing": track(0), "queue": [track(1), track(2)]})).into_response(),
    }
}

fn track(n: usize) -> serde_json::Value {
    json!({"type": "track", "id": format!("sandboxtrack{n}"), "name": format!("Sandbox Track {n}"),
           "uri": format!("spotify:track:sandboxtrack{n}"), "duration_ms": 180_000})
}

/// `limit` (1–50, default 20) and `offset` (default 0), as Spotify reads them; a bad one
/// is Spotify's 400.
fn page_params(query: &HashMap<String, String>) -> Result<(usize, usize), &'static str> {
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 20,
        Some(Ok(l)) if (1..=50).contains(&l) => l,
        Some(_) => return Err("Invalid limit"),
    };
    let offset = match query.get("offset").map(|o| o.parse::<usize>()) {
        None => 0,
        Some(Ok(o)) => o,
        Some(Err(_)) => return Err("Invalid offset"),
    };
    Ok((limit, offset))
}

/// A Spotify paging object over `total` items made by `item`, with `next`/`previous`
/// pointing back at this sandbox.
fn paging(
    state: &Shared,
    headers: &HeaderMap,
    path: &str,
    (limit, offset): (usize, usize),
    total: usize,
    item: impl Fn(usize) -> serde_json::Value,
) -> serde_json::Value {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let href = |offset: usize| format!("http://{host}{path}?offset={offset}&limit={limit}");
    let (total, wrap) = match lock(state).paging {
        crate::Paging::Normal => (total, false),
        crate::Paging::BackToStart => (total, true),
        crate::Paging::Endless => (usize::MAX / 2, false),
    };
    let end = offset.saturating_add(limit).min(total);
    let next = if end < total { Some(href(end)) } else { wrap.then(|| href(0)) };
    // Items are made only for the page asked for (an endless list stays cheap).
    json!({
        "href": href(offset),
        "items": (offset.min(total)..end).map(item).collect::<Vec<_>>(),
        "limit": limit,
        "offset": offset,
        "total": total,
        "next": next,
        "previous": (offset > 0).then(|| href(offset.saturating_sub(limit))),
    })
}

async fn my_playlists(
    Ax(state): Ax<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (user, _) = match web_api(&state, &headers, "playlists", &["playlist-read-private"]).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let params = match page_params(&query) {
        Ok(p) => p,
        Err(message) => return api_error(StatusCode::BAD_REQUEST, message),
    };
    let total = lock(&state).config.playlists;
    Json(paging(&state, &headers, "/v1/me/playlists", params, total, |n| {
        json!({"type": "playlist", "id": format!("sandboxlist{n}"), "name": format!("Sandbox Playlist {n}"),
               "owner": {"id": user.id, "display_name": user.display_name}, "public": false,
               "items": {"href": null, "total": 3}})
    }))
    .into_response()
}

/// `POST /v1/me/playlists` (Create Playlist): the body's members are checked for their
/// JSON types (`name` a string; `public`, `collaborative` booleans; `description` a
/// string) and echoed in the playlist made, so a client's typing of fields is seen. The
/// 400 messages are the sandbox's own words; the statuses and the scope rule are
/// Spotify's (a public playlist needs `playlist-modify-public`, a private one
/// `playlist-modify-private`).
async fn create_playlist(Ax(state): Ax<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    use serde_json::Value;
    let (user, scopes) = match web_api(&state, &headers, "create-playlist", &[]).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return api_error(StatusCode::BAD_REQUEST, "Error parsing JSON.");
    };
    let name = match body.get("name") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        None => return api_error(StatusCode::BAD_REQUEST, "Missing required field: name"),
        Some(_) => return api_error(StatusCode::BAD_REQUEST, "Invalid value for field: name"),
    };
    // A flag that is present but not a boolean: `Err(its name)`.
    let flag = |key: &'static str, default: bool| match body.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(key),
    };
    let (public, collaborative) = match (flag("public", true), flag("collaborative", false)) {
        (Ok(p), Ok(c)) => (p, c),
        (Err(key), _) | (_, Err(key)) => {
            return api_error(StatusCode::BAD_REQUEST, &format!("Invalid value for field: {key}"));
        }
    };
    let description = match body.get("description") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(d)) => Value::String(d.clone()),
        Some(_) => return api_error(StatusCode::BAD_REQUEST, "Invalid value for field: description"),
    };
    let needed = if public { "playlist-modify-public" } else { "playlist-modify-private" };
    if !scopes.iter().any(|s| s == needed) {
        return api_error(StatusCode::FORBIDDEN, "Insufficient client scope");
    }
    let id = {
        let mut s = lock(&state);
        s.next_serial += 1;
        format!("sandboxnew{}", s.next_serial)
    };
    let playlist = json!({"type": "playlist", "id": id, "name": name, "public": public,
        "collaborative": collaborative, "description": description,
        "owner": {"id": user.id, "display_name": user.display_name}, "items": {"href": null, "total": 0}});
    (StatusCode::CREATED, Json(playlist)).into_response()
}

async fn playlist_items(
    Ax(state): Ax<Shared>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(response) = web_api(&state, &headers, "playlist-items", &["playlist-read-private"]).await {
        return response;
    }
    let params = match page_params(&query) {
        Ok(p) => p,
        Err(message) => return api_error(StatusCode::BAD_REQUEST, message),
    };
    if !id.starts_with("sandboxlist") {
        return api_error(StatusCode::NOT_FOUND, "Resource not found");
    }
    Json(paging(
        &state,
        &headers,
        &format!("/v1/playlists/{id}/items"),
        params,
        3,
        |n| json!({"added_at": "2026-01-01T00:00:00Z", "is_local": false, "item": track(n)}),
    ))
    .into_response()
}

/// A playlist's `/tracks`, withdrawn from development-mode apps (Feb 2026): Spotify's 403
/// `Forbidden`, after the token checks.
async fn withdrawn(Ax(state): Ax<Shared>, headers: HeaderMap) -> Response {
    if let Err(response) = web_api(&state, &headers, "playlist-tracks", &[]).await {
        return response;
    }
    log_entry(&mut lock(&state), "playlist-tracks", 403).error = Some("Forbidden".into());
    api_error(StatusCode::FORBIDDEN, "Forbidden")
}

async fn unknown_route() -> Response {
    api_error(StatusCode::NOT_FOUND, "Service not found")
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
