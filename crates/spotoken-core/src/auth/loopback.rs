//! The loopback redirect: a one-shot HTTP listener on `127.0.0.1:<port>/callback`.
//!
//! It answers only `GET /callback` addressed to `Host: 127.0.0.1:<port>` (a page on
//! another site that re-points its name at 127.0.0.1 — DNS rebinding — sends its own
//! host name and is refused), refuses callbacks whose `state` is not this login's (and
//! keeps waiting for the real one), and holds the browser's connection open until the
//! login has finished, so the page it shows tells the truth ("signed in" or the error
//! and its fix). Connections are read side by side, each bounded by the time the login
//! has left, so a client that sends slowly delays nobody. It is deliberately a few
//! lines of HTTP/1.1, not a server framework: it serves one request that matters.

use super::login::PendingLogin;
use crate::diagnose::Diagnosis;
use crate::error::{Error, Result};
use crate::secret::{AuthCode, RedirectAddress, Secret};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout_at};

pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_REQUEST_HEAD: usize = 16 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections being read at once; more are closed at once.
const MAX_CONNECTIONS: usize = 32;

/// Listening on 127.0.0.1 for Spotify's redirect.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    port: u16,
}

/// The callback that carried this login's code; the browser waits for [`Self::reply`].
#[derive(Debug)]
pub struct ReceivedCallback {
    pub code: AuthCode,
    stream: TcpStream,
}

impl LoopbackListener {
    /// Binds `127.0.0.1:port`; port 0 picks a free one.
    pub async fn bind(port: u16) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| Error::Loopback(e.to_string()))?;
        let port = listener.local_addr().map_err(|e| Error::Loopback(e.to_string()))?.port();
        Ok(Self { listener, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// Waits for this login's callback, until `timeout` has passed.
    #[tracing::instrument(skip_all, fields(port = self.port))]
    pub async fn wait(&self, login: &PendingLogin, timeout: Duration) -> Result<ReceivedCallback> {
        let deadline = Instant::now() + timeout;
        let (heads, mut read) = mpsc::channel::<(TcpStream, std::result::Result<Secret<String>, u16>)>(4);
        // Dropped on return: every connection still being read is abandoned then.
        let mut readers = JoinSet::new();
        loop {
            tokio::select! {
                () = sleep_until(deadline) => return Err(Error::LoginTimeout(timeout)),
                accepted = self.listener.accept() => {
                    let mut stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            continue;
                        }
                    };
                    while readers.try_join_next().is_some() {}
                    if readers.len() >= MAX_CONNECTIONS {
                        tracing::warn!("too many connections at once; closed one");
                        continue;
                    }
                    let (heads, port) = (heads.clone(), self.port);
                    readers.spawn(async move {
                        let read_by = deadline.min(Instant::now() + READ_TIMEOUT);
                        let head = read_request_target(&mut stream, port, read_by).await;
                        let _ = heads.send((stream, head)).await;
                    });
                }
                Some((mut stream, head)) = read.recv() => {
                    let target = match head {
                        Ok(target) => target,
                        Err(status) => {
                            let text = if status == 421 {
                                "Spotoken only answers requests addressed to 127.0.0.1."
                            } else {
                                "Spotoken only answers Spotify's redirect to /callback."
                            };
                            respond(&mut stream, status, "Not here", text).await;
                            continue;
                        }
                    };
                    let address = RedirectAddress::of(format!("http://127.0.0.1:{}{}", self.port, target.secret()));
                    match login.accept_callback(&address) {
                        Ok(code) => {
                            tracing::info!("callback received, state matched");
                            return Ok(ReceivedCallback { code, stream });
                        }
                        Err(refused) if !refused.state_verified => {
                            tracing::warn!(reason = %refused.error, "refused a callback that does not belong to this login");
                            let d = refused.error.diagnose();
                            respond(&mut stream, 400, "Not this login", &format!("{} {}", d.message, d.fix)).await;
                        }
                        Err(failed) => {
                            tracing::info!(reason = %failed.error, "the login ended with an error");
                            let d = failed.error.diagnose();
                            respond(&mut stream, 200, "Spotoken: not signed in", &format!("{} {}", d.message, d.fix))
                                .await;
                            return Err(failed.error);
                        }
                    }
                }
            }
        }
    }
}

impl ReceivedCallback {
    /// Tells the browser how the login that this callback started ended.
    pub async fn answer(self, outcome: &Result<crate::store::accounts::AccountRecord>) {
        match outcome {
            Ok(record) => self.reply(Ok(record.name())).await,
            Err(e) => self.reply(Err(&e.diagnose())).await,
        }
    }

    /// Tells the browser how the login ended, and closes the connection.
    pub async fn reply(mut self, outcome: std::result::Result<&str, &Diagnosis>) {
        match outcome {
            Ok(name) => {
                let body = format!("Signed in as {name}. You can close this tab and return to Spotoken.");
                respond(&mut self.stream, 200, "Spotoken: signed in", &body).await;
            }
            Err(d) => {
                respond(&mut self.stream, 200, "Spotoken: not signed in", &format!("{} {}", d.message, d.fix)).await
            }
        }
    }
}

/// Reads the request head by `deadline`; `Ok(target)` only for `GET /callback…` sent to
/// `127.0.0.1:port`, else the status to send.
async fn read_request_target(
    stream: &mut TcpStream,
    port: u16,
    deadline: Instant,
) -> std::result::Result<Secret<String>, u16> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => return Err(400),
            Ok(Ok(n)) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > MAX_REQUEST_HEAD {
            return Err(431);
        }
    }
    parse_head(&head, port)
}

/// The request line and `Host` of a complete head.
pub(crate) fn parse_head(head: &[u8], port: u16) -> std::result::Result<Secret<String>, u16> {
    let text = std::str::from_utf8(head).map_err(|_| 400u16)?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let path = target.split('?').next().unwrap_or_default();
    if path != "/callback" {
        return Err(404);
    }
    if method != "GET" {
        return Err(405);
    }
    let hosts: Vec<&str> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.trim())
        .collect();
    if hosts != [format!("127.0.0.1:{port}").as_str()] {
        return Err(421);
    }
    Ok(Secret::new(target.to_string()))
}

async fn respond(stream: &mut TcpStream, status: u16, title: &str, text: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        421 => "Misdirected Request",
        _ => "Request Header Fields Too Large",
    };
    let body = page(title, text);
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>{t}</title><style>body{{font:16px system-ui,sans-serif;max-width:36em;margin:15vh auto;padding:0 1em;\
         color:#1b1b1b;background:#fafafa}}h1{{font-size:1.4em}}@media(prefers-color-scheme:dark){{body{{color:#eee;\
         background:#161616}}}}</style><h1>{t}</h1><p>{x}</p></html>",
        t = escape(title),
        x = escape(text)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_port_is_the_one_listened_on() {
        let listener = LoopbackListener::bind(0).await.unwrap();
        assert_ne!(listener.port(), 0);
        assert_eq!(listener.redirect_uri(), format!("http://127.0.0.1:{}/callback", listener.port()));
        assert!(tokio::net::TcpStream::connect(("127.0.0.1", listener.port())).await.is_ok());
    }

    /// Sends `head` in one write and returns what `read_request_target` made of it.
    async fn read_head(head: Vec<u8>) -> std::result::Result<String, u16> {
        let server = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = server.local_addr().unwrap().port();
        let client = tokio::spawn(async move {
            let mut c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            c.write_all(&head).await.unwrap();
            c
        });
        let (mut stream, _) = server.accept().await.unwrap();
        let _client = client.await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        read_request_target(&mut stream, 4567, deadline).await.map(Secret::into_secret)
    }

    #[tokio::test]
    async fn the_request_head_may_be_exactly_the_bound_and_no_longer() {
        let head = |len: usize| {
            let start = "GET /callback HTTP/1.1\r\nHost: 127.0.0.1:4567\r\nX-Pad: ";
            let pad = len - start.len() - 4;
            format!("{start}{}\r\n\r\n", "p".repeat(pad)).into_bytes()
        };
        assert_eq!(head(MAX_REQUEST_HEAD).len(), MAX_REQUEST_HEAD);
        assert_eq!(read_head(head(MAX_REQUEST_HEAD)).await, Ok("/callback".to_string()));
        assert_eq!(read_head(head(MAX_REQUEST_HEAD + 1)).await, Err(431));
    }

    fn head(text: &str) -> std::result::Result<String, u16> {
        parse_head(text.as_bytes(), 4567).map(|t| t.into_secret())
    }

    #[test]
    fn only_get_callback_for_this_host_and_port() {
        assert_eq!(
            head("GET /callback?code=C&state=S HTTP/1.1\r\nHost: 127.0.0.1:4567\r\n\r\n").unwrap(),
            "/callback?code=C&state=S"
        );
        assert_eq!(head("GET /callback HTTP/1.1\r\nhost:127.0.0.1:4567\r\nAccept: */*\r\n\r\n").unwrap(), "/callback");
        for (request, status) in [
            ("GET /callback HTTP/1.1\r\nHost: attacker.example\r\n\r\n", 421),
            ("GET /callback HTTP/1.1\r\nHost: attacker.example:4567\r\n\r\n", 421),
            ("GET /callback HTTP/1.1\r\nHost: 127.0.0.1:4568\r\n\r\n", 421),
            ("GET /callback HTTP/1.1\r\nHost: localhost:4567\r\n\r\n", 421),
            ("GET /callback HTTP/1.1\r\n\r\n", 421),
            ("GET /callback HTTP/1.1\r\nHost: 127.0.0.1:4567\r\nHost: evil\r\n\r\n", 421),
            ("GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1:4567\r\n\r\n", 404),
            ("POST /callback HTTP/1.1\r\nHost: 127.0.0.1:4567\r\n\r\n", 405),
        ] {
            assert_eq!(head(request).unwrap_err(), status, "{request:?}");
        }
        assert_eq!(parse_head(b"GET /callback\xff HTTP/1.1\r\n\r\n", 1).unwrap_err(), 400);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(crate::proptest_config())]

            /// Any bytes: no panic, and a target only for `GET /callback…` to this host.
            #[test]
            fn any_head_is_judged_without_panic(head in proptest::collection::vec(any::<u8>(), 0..300)) {
                if let Ok(target) = parse_head(&head, 4567) {
                    let text = String::from_utf8(head).unwrap();
                    prop_assert!(text.starts_with("GET /callback"));
                    prop_assert!(text.to_ascii_lowercase().contains("host"));
                    prop_assert!(target.secret().starts_with("/callback"));
                }
            }

            #[test]
            fn any_host_but_this_one_is_refused(host in "\\PC{0,30}", target in "/callback(\\?[a-z=&]{0,20})?") {
                let head = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n");
                let result = parse_head(head.as_bytes(), 4567);
                if host.trim() == "127.0.0.1:4567" {
                    prop_assert_eq!(result.map(Secret::into_secret), Ok(target));
                } else if !host.contains("\r\n") {
                    prop_assert!(result.is_err());
                }
            }
        }
    }
}
