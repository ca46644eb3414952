//! Talking to Spotify over HTTP: the accounts service's token endpoint and the Web API.
//!
//! Requests are made with reqwest directly rather than through oauth2's token request,
//! because Spotoken needs the status code and `Retry-After` of failed answers, which
//! oauth2's error type drops. Redirects are never followed: a token request that is
//! redirected is an error, not something to replay elsewhere.

pub mod accounts;
pub mod api;

use crate::error::{Error, Result};
use std::time::Duration;

/// Answers larger than this are not Spotify's and are not read.
const MAX_BODY: usize = 64 * 1024;

pub fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("spotoken/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Network(e.without_url().to_string()))
}

/// A network failure, described without the URL (which could carry a query string).
pub(crate) fn network(error: reqwest::Error) -> Error {
    let kind = if error.is_timeout() {
        "the request timed out"
    } else if error.is_connect() {
        "the connection failed"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() { Error::Network(kind.into()) } else { Error::Network(format!("{kind} ({cause})")) }
}

/// The status, `Retry-After` and body of an answer, read up to [`MAX_BODY`].
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

pub(crate) async fn read_answer(response: reqwest::Response) -> Result<Answer> {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(Error::UnexpectedResponse { what: "Spotify", detail: "the answer is too large".into() });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, retry_after, body })
}
