//! A Web API call made for a person (`spotoken api`): the token from the same hand-out
//! as `spotoken token` (so the activity record sees it), one refresh and retry when
//! Spotify says the token expired, `Retry-After` waited out up to a bound, and a refusal
//! explained from the endpoint catalog (the scope missing, or the call withdrawn).
//!
//! The token goes only to the Web API's own origin: a full URL elsewhere, or a `next`
//! link that leaves it, is refused before anything is sent.

use crate::activity::Recipient;
use crate::catalog;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::spotify::{network, read_answer_up_to};
use std::time::Duration;
use url::Url;

/// Answers larger than this are not read.
const MAX_BODY: usize = 32 * 1024 * 1024;
/// 429s waited out before giving up.
const MAX_RATE_LIMITED: u32 = 3;

/// What to send.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    /// `/me`, `/v1/me/player`, `me/playlists?limit=5`, or a full URL on the Web API.
    pub path: String,
    /// Query parameters added to the path's own.
    pub query: Vec<(String, String)>,
    /// A JSON body.
    pub body: Option<Vec<u8>>,
    /// Extra headers (`Authorization` cannot be one).
    pub headers: Vec<(String, String)>,
    pub account: Option<String>,
}

/// What came back. `problem` explains a refusal (4xx/5xx) the way every failure is
/// explained; the body is Spotify's, as sent.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub problem: Option<Error>,
    /// The account whose token was used.
    pub account: String,
}

impl Engine {
    /// The URL for `path` on the Web API, refusing any other origin.
    pub fn api_url(&self, path: &str, query: &[(String, String)]) -> Result<Url> {
        let base = &self.endpoints().api;
        let path = path.trim();
        let mut url = if path.contains("://") {
            let url = Url::parse(path).map_err(|e| Error::NotTheWebApi(format!("{path} ({e})")))?;
            let spotify = url.scheme() == "https" && url.host_str() == Some("api.spotify.com");
            if url.origin() != base.origin() && !spotify {
                return Err(Error::NotTheWebApi(url.origin().ascii_serialization()));
            }
            // Spotify's own URL, with the API somewhere else (the sandbox): same path there.
            let mut there = base.clone();
            there.set_path(url.path());
            there.set_query(url.query());
            there
        } else {
            let relative = path.trim_start_matches('/');
            let relative = if relative == "v1" || relative.starts_with("v1/") {
                relative.to_string()
            } else {
                format!("v1/{relative}")
            };
            base.join(&relative).map_err(|e| Error::NotTheWebApi(format!("{path} ({e})")))?
        };
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Makes the call; see the module's description.
    pub async fn call_api(&self, request: &ApiRequest, to: &Recipient) -> Result<ApiResponse> {
        let url = self.api_url(&request.path, &request.query)?;
        let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::NotTheWebApi(format!("method {}", request.method)))?;
        if request.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
            return Err(Error::NotTheWebApi("an Authorization header of its own".into()));
        }
        let mut token = self.hand_out(request.account.as_deref(), Duration::from_secs(60), to).await?;
        let mut refreshed = false;
        let mut rate_limited = 0;
        loop {
            let mut builder = self
                .http()?
                .request(method.clone(), url.clone())
                .bearer_auth(token.access_token.secret())
                .timeout(Duration::from_secs(60));
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            if let Some(body) = &request.body {
                builder = builder.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
            }
            let response = builder.send().await.map_err(network)?;
            let reason = response.status().canonical_reason().unwrap_or_default().to_string();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let answer = read_answer_up_to(response, MAX_BODY).await?;
            let (message, error_reason) = spotify_error(&answer.body);
            match (answer.status, message.as_deref()) {
                (401, Some("The access token expired")) if !refreshed => {
                    tracing::info!("the access token expired on the way; refreshing once and asking again");
                    token = self.refresh_now(&token.account, to.channel.actor()).await?;
                    refreshed = true;
                    continue;
                }
                (429, _) => {
                    let quota = error_reason.as_deref() == Some("QUOTA_EXCEEDED");
                    let wait = answer.retry_after;
                    match wait {
                        Some(wait)
                            if !quota && wait <= self.retry.max_retry_after && rate_limited < MAX_RATE_LIMITED =>
                        {
                            rate_limited += 1;
                            tracing::info!(secs = wait.as_secs(), "rate limited; waiting as Spotify asked");
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        _ if quota => {
                            self.note_quota(&token.account, wait);
                            return Err(Error::QuotaExceeded { retry_after: wait });
                        }
                        _ => return Err(Error::RateLimited { retry_after: wait }),
                    }
                }
                _ => {}
            }
            if answer.status != 429 {
                self.quota_back(&token.account);
            }
            let problem = (answer.status >= 400)
                .then(|| self.explain(&request.method, &url, answer.status, message, &token.account));
            return Ok(ApiResponse {
                status: answer.status,
                reason,
                headers,
                body: answer.body,
                problem,
                account: token.account,
            });
        }
    }

    /// Remembers that the account's Client ID has used up Spotify's quota, for `status`,
    /// the window and every other script (see [`crate::store::quota`]).
    fn note_quota(&self, account: &str, retry_after: Option<Duration>) {
        let now = self.clock.now();
        // (The fallback cannot be reached: Retry-After is believed up to 10 digits. So a
        // mutant of `i64::MAX / 2` is equivalent.)
        let until = retry_after.map(|d| now.plus_secs(i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)));
        let noted = self.accounts.get(account).and_then(|record| {
            self.quota.note(crate::store::quota::QuotaNote { client_id: record.client_id, seen_at: now, until })
        });
        if let Err(e) = noted {
            tracing::warn!(error = %e, "could not remember the used-up quota");
        }
    }

    /// Spotify answered a call through the account's Client ID: its quota is back.
    fn quota_back(&self, account: &str) {
        if self.quota.load().is_empty() {
            return;
        }
        let cleared = self.accounts.get(account).and_then(|record| self.quota.clear(&record.client_id));
        if let Err(e) = cleared {
            tracing::warn!(error = %e, "could not clear the used-up quota");
        }
    }

    /// A refusal in words: a 403 for a scope is named from the catalog against the
    /// account's granted scopes; a 403 on a withdrawn call names what replaced it.
    fn explain(&self, method: &str, url: &Url, status: u16, message: Option<String>, account: &str) -> Error {
        let message = message.map(|m| crate::text::clean(&m)).unwrap_or_else(|| format!("HTTP {status}"));
        let op = catalog::find(Some(method), url.path()).into_iter().next();
        let call = format!("{} {}", method.to_ascii_uppercase(), url.path());
        match (status, message.as_str(), op) {
            (403, "Insufficient client scope", Some(op)) => {
                let granted = self.accounts.get(account).map(|a| a.granted_scopes).unwrap_or_default();
                let missing: Vec<String> = op.missing(&granted).into_iter().map(str::to_string).collect();
                Error::ScopeMissing { call, account: account.to_string(), missing, granted }
            }
            (403, _, Some(op)) if op.deprecated => Error::Withdrawn {
                call,
                replacement: catalog::replacement(op).map(|r| format!("{} {}", r.method, r.path)),
            },
            (s, _, _) if s >= 500 => Error::ServerError { status: s },
            _ => Error::WebApi { status, message },
        }
    }
}

/// `error.message` and `error.reason` of Spotify's error body, if it is one.
pub(crate) fn spotify_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return (None, None) };
    let field = |name: &str| value["error"][name].as_str().map(str::to_string);
    (field("message"), field("reason"))
}
