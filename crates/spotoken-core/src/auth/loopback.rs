//! The loopback redirect: a one-shot HTTP listener on `127.0.0.1:<port>/callback`.
//!
//! It answers only `GET /callback`, refuses callbacks whose `state` is not this
//! login's (and keeps waiting for the real one), and holds the browser's connection
//! open until the login has finished, so the page it shows tells the truth ("signed in"
//! or the error and its fix). It is deliberately a few lines of HTTP/1.1, not a server
//! framework: it serves one request that matters, then closes.

use super::login::PendingLogin;
use crate::diagnose::Diagnosis;
use crate::error::{Error, Result};
use crate::secret::Secret;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout_at};

pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_REQUEST_HEAD: usize = 16 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Listening on 127.0.0.1 for Spotify's redirect.
#[derive(Debug)]
pub struct LoopbackListener {
    listener: TcpListener,
    port: u16,
}

/// The callback that carried this login's code; the browser waits for [`Self::reply`].
#[derive(Debug)]
pub struct ReceivedCallback {
    pub code: Secret<String>,
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
        loop {
            let (mut stream, _) = match timeout_at(deadline, self.listener.accept()).await {
                Err(_) => return Err(Error::LoginTimeout(timeout)),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
                Ok(Ok(conn)) => conn,
            };
            let target = match read_request_target(&mut stream).await {
                Ok(target) => target,
                Err(status) => {
                    respond(&mut stream, status, "Not here", "Spotoken only answers Spotify's redirect to /callback.")
                        .await;
                    continue;
                }
            };
            let url = Secret::new(format!("http://127.0.0.1:{}{}", self.port, target.secret()));
            match login.accept_callback(url.secret()) {
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
                    respond(&mut stream, 200, "Spotoken: not signed in", &format!("{} {}", d.message, d.fix)).await;
                    return Err(failed.error);
                }
            }
        }
    }
}

impl ReceivedCallback {
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

/// Reads the request head; `Ok(target)` only for `GET /callback…`, else the status to send.
async fn read_request_target(stream: &mut TcpStream) -> std::result::Result<Secret<String>, u16> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + READ_TIMEOUT;
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => return Err(400),
            Ok(Ok(n)) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > MAX_REQUEST_HEAD {
            return Err(431);
        }
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = std::str::from_utf8(line).map_err(|_| 400u16)?;
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let path = target.split('?').next().unwrap_or_default();
    if path != "/callback" {
        return Err(404);
    }
    if method != "GET" {
        return Err(405);
    }
    Ok(Secret::new(target.to_string()))
}

async fn respond(stream: &mut TcpStream, status: u16, title: &str, text: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
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
