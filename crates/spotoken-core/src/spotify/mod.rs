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
    match plain_cause(&error) {
        Some(cause) => Error::Network(format!("{kind}: {cause}")),
        None => Error::Network(kind.into()),
    }
}

/// The innermost cause of a network failure in words for people ("nothing answered at
/// that address"), not the OS's ("Connection refused (os error 111)"); an unknown cause
/// is kept as the library says it.
fn plain_cause(error: &reqwest::Error) -> Option<String> {
    use std::io::ErrorKind;
    let mut innermost = None;
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            let said = match io.kind() {
                ErrorKind::ConnectionRefused => Some("nothing answered at that address (the connection was refused)"),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                    Some("the connection was cut off")
                }
                ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable | ErrorKind::NetworkDown => {
                    Some("this computer is not connected to a network that reaches it")
                }
                ErrorKind::TimedOut => Some("the connection timed out"),
                ErrorKind::UnexpectedEof => Some("the connection ended before the answer did"),
                _ => None,
            };
            if let Some(said) = said {
                return Some(said.to_string());
            }
        }
        innermost = Some(s.to_string());
        source = s.source();
    }
    let text = innermost?;
    let lower = text.to_ascii_lowercase();
    Some(if lower.contains("dns") || lower.contains("lookup address") || lower.contains("name or service not known") {
        "the name could not be looked up (no DNS answer)".to_string()
    } else if lower.contains("certificate") || lower.contains("tls") {
        format!("the secure connection could not be set up ({text})")
    } else {
        text
    })
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

    /// A real refused connection (a port on 127.0.0.1 nothing listens on) in words for
    /// people, without the OS's error number.
    #[tokio::test]
    async fn a_refused_connection_is_said_plainly() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let error = http_client().unwrap().get(format!("http://127.0.0.1:{port}/api/token")).send().await.unwrap_err();
        let Error::Network(said) = network(error) else { panic!("not a network error") };
        assert_eq!(said, "the connection failed: nothing answered at that address (the connection was refused)");
        assert!(!said.contains("os error") && !said.contains("127.0.0.1"), "{said}");
    }

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
