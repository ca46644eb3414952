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
    let mut innermost = None;
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        if let Some(said) = s.downcast_ref::<std::io::Error>().and_then(|io| in_words(io.kind())) {
            return Some(said.to_string());
        }
        innermost = Some(s.to_string());
        source = s.source();
    }
    innermost.map(|text| cause_in_words(&text))
}

/// A failure known only by the library's words: a name lookup or a secure connection
/// said so; anything else kept as it is.
fn cause_in_words(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if lower.contains("dns") || lower.contains("lookup address") || lower.contains("name or service not known") {
        "the name could not be looked up (no DNS answer)".to_string()
    } else if lower.contains("certificate") || lower.contains("tls") {
        format!("the secure connection could not be set up ({text})")
    } else {
        text.to_string()
    }
}

/// What an I/O failure of this kind means, for people; `None` for those said as they are.
fn in_words(kind: std::io::ErrorKind) -> Option<&'static str> {
    use std::io::ErrorKind;
    match kind {
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
    }
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
pub(crate) mod tests {
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
    fn each_io_failure_is_said_in_words() {
        use std::io::ErrorKind as K;
        let cut = Some("the connection was cut off");
        let away = Some("this computer is not connected to a network that reaches it");
        for (kind, said) in [
            (K::ConnectionRefused, Some("nothing answered at that address (the connection was refused)")),
            (K::ConnectionReset, cut),
            (K::ConnectionAborted, cut),
            (K::BrokenPipe, cut),
            (K::NetworkUnreachable, away),
            (K::HostUnreachable, away),
            (K::NetworkDown, away),
            (K::TimedOut, Some("the connection timed out")),
            (K::UnexpectedEof, Some("the connection ended before the answer did")),
            (K::PermissionDenied, None),
        ] {
            assert_eq!(in_words(kind), said, "{kind:?}");
        }
    }

    #[test]
    fn lookups_and_secure_connections_are_named() {
        let lookup = "the name could not be looked up (no DNS answer)";
        for text in ["dns error", "failed to lookup address information", "Name or service not known"] {
            assert_eq!(cause_in_words(text), lookup, "{text}");
        }
        for text in ["invalid peer certificate: UnknownIssuer", "TLS handshake eof"] {
            assert_eq!(cause_in_words(text), format!("the secure connection could not be set up ({text})"));
        }
        assert_eq!(cause_in_words("something else"), "something else");
    }

    /// A server on 127.0.0.1 that answers one request with `answer` and hands back the
    /// request's head.
    pub(crate) async fn answering_once(answer: Vec<u8>) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                socket.read_exact(&mut byte).await.unwrap();
                head.push(byte[0]);
            }
            socket.write_all(&answer).await.unwrap();
            socket.shutdown().await.unwrap();
            String::from_utf8(head).unwrap()
        });
        (url, served)
    }

    pub(crate) fn answer_of(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
        let mut answer =
            format!("HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len())
                .into_bytes();
        answer.extend_from_slice(body);
        answer
    }

    /// A redirect is handed back, not followed (a token request must not be replayed
    /// elsewhere), and Spotoken says who it is.
    #[tokio::test]
    async fn redirects_are_not_followed_and_spotoken_names_itself() {
        let (url, served) =
            answering_once(answer_of("302 Found", "Location: http://127.0.0.1:9/elsewhere\r\n", b"")).await;
        let response = http_client().unwrap().post(format!("{url}/api/token")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 302);
        let head = served.await.unwrap().to_ascii_lowercase();
        assert!(head.contains(&format!("user-agent: spotoken/{}", env!("CARGO_PKG_VERSION"))), "{head}");
    }

    /// Answers up to 64 KiB are read whole; one byte more is refused as not Spotify's.
    #[tokio::test]
    async fn answers_are_read_up_to_64_kib() {
        for (size, read) in [(65_536, true), (65_537, false)] {
            let body = vec![b'x'; size];
            let (url, _served) = answering_once(answer_of("200 OK", "", &body)).await;
            let response = http_client().unwrap().get(url).send().await.unwrap();
            match read_answer(response).await {
                Ok(answer) => assert!(read && answer.body == body && answer.status == 200, "{size} bytes read"),
                Err(Error::UnexpectedResponse { detail, .. }) => {
                    assert!(!read && detail.contains("too large"), "{size} bytes: {detail}");
                }
                Err(other) => panic!("{size} bytes: {other:?}"),
            }
        }
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
