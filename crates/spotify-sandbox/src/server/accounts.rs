//! accounts.spotify.com as the sandbox plays it: the consent page, its decision, and the
//! token endpoint (code exchange and refresh, with rotation as configured).

use super::*;

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

pub(super) async fn authorize(Ax(state): Ax<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
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

pub(super) async fn decide(Ax(state): Ax<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
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

pub(super) async fn token(
    Ax(state): Ax<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
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
