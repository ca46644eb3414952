//! The Web API calls the sandbox answers, each checking the token and scopes as
//! Spotify does, and paging lists as Spotify pages them.

use super::*;

fn api_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": {"status": status.as_u16(), "message": message}}))).into_response()
}

pub(super) async fn me(Ax(state): Ax<Shared>, headers: HeaderMap) -> Response {
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

pub(super) async fn player(Ax(state): Ax<Shared>, headers: HeaderMap) -> Response {
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

pub(super) async fn queue(Ax(state): Ax<Shared>, headers: HeaderMap) -> Response {
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

pub(super) async fn my_playlists(
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
pub(super) async fn create_playlist(Ax(state): Ax<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
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

pub(super) async fn playlist_items(
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
pub(super) async fn withdrawn(Ax(state): Ax<Shared>, headers: HeaderMap) -> Response {
    if let Err(response) = web_api(&state, &headers, "playlist-tracks", &[]).await {
        return response;
    }
    log_entry(&mut lock(&state), "playlist-tracks", 403).error = Some("Forbidden".into());
    api_error(StatusCode::FORBIDDEN, "Forbidden")
}

pub(super) async fn unknown_route() -> Response {
    api_error(StatusCode::NOT_FOUND, "Service not found")
}
