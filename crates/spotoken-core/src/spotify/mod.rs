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

/// `Retry-After` as Spotify sends it: whole seconds. Anything else (an HTTP date, a
/// negative or absurd number) is not believed.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// The status, `Retry-After` and body of an answer, read up to [`MAX_BODY`].
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

pub(crate) async fn read_answer(response: reqwest::Response) -> Result<Answer> {
    read_answer_up_to(response, MAX_BODY).await
}

/// As [`read_answer`], for answers that may be larger (a Web API call made for a person).
pub(crate) async fn read_answer_up_to(response: reqwest::Response, max_body: usize) -> Result<Answer> {
    let status = response.status().as_u16();
    let retry_after =
        response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > max_body {
            return Err(Error::UnexpectedResponse { what: "Spotify", detail: "the answer is too large".into() });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, retry_after, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn retry_after_is_whole_seconds_only() {
        assert_eq!(parse_retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        for bad in ["", "-5", "+5", "1.5", "Wed, 21 Oct 2026 07:28:00 GMT", "99999999999", "3 0"] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
    }

    proptest! {
        #![proptest_config(crate::proptest_config())]

        #[test]
        fn retry_after_never_panics_and_believes_only_digits(value in "\\PC{0,16}") {
            if let Some(d) = parse_retry_after(&value) {
                prop_assert!(value.trim().bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(d.as_secs(), value.trim().parse::<u64>().unwrap());
            }
        }

        #[test]
        fn seconds_round_trip(secs in 0u64..=9_999_999_999) {
            prop_assert_eq!(parse_retry_after(&secs.to_string()), Some(Duration::from_secs(secs)));
        }
    }
}
