//! The agent: fresh tokens for programs over a Unix socket, for daemons that need one for
//! weeks (a player on a Raspberry Pi, a home-automation add-on, a bot) without a
//! keychain round trip per request.
//!
//! It speaks plain HTTP/1.1 on `$XDG_RUNTIME_DIR/spotoken/agent.sock` (folder 0700,
//! socket 0600; `SPOTOKEN_AGENT_SOCKET` names another), so `curl --unix-socket` and any
//! HTTP client can ask:
//! - `GET /v1/token?account=A&min_valid=SECS` → `200 {"access_token", "token_type":
//!   "Bearer", "expires_at", "expires_in", "scope", "account"}`;
//! - `GET /v1/status` → the accounts as `spotoken status --json` shows them;
//! - errors → `{"error": {"code", "message", "fix"}}` with the codes of the command line
//!   and an HTTP status that fits.
//!
//! Who asked comes from the socket's peer credentials (the kernel's, not the client's
//! word): the hand-out is recorded with that program, and *Ask before a new program*
//! applies to it. When the peer is `spotoken token` itself, the program is the one that
//! started it, as without the agent. One agent listens at a time (a lock beside the
//! socket); the engine's lock keeps it from racing the app or other `spotoken` processes.

use crate::activity::{Channel, Program, Recipient};
use crate::diagnose::{Diagnosis, ExitClass};
use crate::engine::Engine;
use crate::error::{Error, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// A request head longer than this is refused.
const MAX_HEAD: usize = 16 * 1024;
/// A client that sends nothing for this long is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the agent listens: `SPOTOKEN_AGENT_SOCKET`, else
/// `$XDG_RUNTIME_DIR/spotoken/agent.sock`, else `agent.sock` in the state folder.
pub fn socket_path(paths: &crate::Paths) -> PathBuf {
    socket_path_from(paths, std::env::var_os("SPOTOKEN_AGENT_SOCKET"), std::env::var_os("XDG_RUNTIME_DIR"))
}

/// [`socket_path`] given those two variables (empty is unset).
fn socket_path_from(paths: &crate::Paths, socket: Option<OsString>, runtime: Option<OsString>) -> PathBuf {
    if let Some(path) = socket.filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    match runtime.filter(|p| !p.is_empty()) {
        Some(runtime) => PathBuf::from(runtime).join("spotoken/agent.sock"),
        None => paths.state_dir.join("agent.sock"),
    }
}

/// A listening agent; [`Listening::serve`] answers until the process ends.
#[derive(Debug)]
pub struct Listening {
    listener: UnixListener,
    path: PathBuf,
    /// Held while listening: the one agent.
    _lock: std::fs::File,
}

/// Takes the socket at `path`: its folder made 0700, the lock beside it taken (another
/// agent or the app listening: [`Error::AgentRunning`]), a socket left by one that died
/// removed, the new one 0600.
pub fn listen(path: &Path) -> Result<Listening> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::store::create_private_dir(dir)?;
    let lock_path = path.with_extension("lock");
    let lock = crate::store::open_private(&lock_path).map_err(Error::io("open", &lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(Error::AgentRunning(path.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &lock_path)(e)),
    }
    match std::fs::remove_file(path) {
        Ok(()) => tracing::info!("removed the socket of an agent that is gone"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("remove", path)(e)),
    }
    let listener = UnixListener::bind(path).map_err(Error::io("listen on", path))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(Error::io("protect", path))?;
    }
    Ok(Listening { listener, path: path.to_path_buf(), _lock: lock })
}

impl Listening {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers every connection, each on a task of its own.
    pub async fn serve(self, engine: Arc<Engine>) {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    let engine = engine.clone();
                    tokio::spawn(async move {
                        if let Err(e) = answer(&engine, stream).await {
                            tracing::debug!(error = %e, "an agent connection ended early");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the agent could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The program behind a connection: its peer's executable, or, when the peer is this
/// very program (`spotoken token` asking on a script's behalf), the one that started it.
fn requester(stream: &UnixStream) -> Option<Program> {
    let pid = u32::try_from(stream.peer_cred().ok()?.pid()?).ok()?;
    let peer = Program::of_process(pid)?;
    let this = Program::of_process(std::process::id());
    let spotoken = peer.name == "spotoken" || this.is_some_and(|me| me.path.is_some() && me.path == peer.path);
    if spotoken {
        crate::platform::process::parent_of(pid).and_then(Program::of_process).or(Some(peer))
    } else {
        Some(peer)
    }
}

async fn answer(engine: &Engine, mut stream: UnixStream) -> std::io::Result<()> {
    let program = requester(&stream);
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => {
            return respond(
                &mut stream,
                431,
                &problem("request_invalid", "The request head is too long.", "Send a short GET request."),
            )
            .await;
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    let (status, body) = route(engine, &head, program).await;
    respond(&mut stream, status, &body).await
}

/// The head up to its blank line; `None` past [`MAX_HEAD`].
async fn read_head(stream: &mut UnixStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
    }
    Ok(Some(String::from_utf8_lossy(&head).into_owned()))
}

/// The answer to one request head: status and JSON body.
pub(crate) async fn route(engine: &Engine, head: &str, program: Option<Program>) -> (u16, serde_json::Value) {
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let Ok(url) = url::Url::parse("http://agent").and_then(|base| base.join(target)) else {
        return (400, problem("request_invalid", "The request line is not HTTP.", "Send `GET /v1/token HTTP/1.1`."));
    };
    if method != "GET" {
        return (405, problem("request_invalid", &format!("{method} is not answered here."), "Use GET."));
    }
    let query = |key: &str| url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned());
    match url.path() {
        "/v1/token" => {
            let min_valid = match query("min_valid").map(|v| v.parse::<u64>()) {
                None => 60,
                Some(Ok(secs)) => secs,
                Some(Err(_)) => {
                    return (
                        400,
                        problem("request_invalid", "min_valid is not a number of seconds.", "Pass min_valid=60."),
                    );
                }
            };
            let account = query("account");
            let to = Recipient { channel: Channel::Agent, program };
            match engine.hand_out(account.as_deref(), Duration::from_secs(min_valid), &to).await {
                Ok(token) => (200, engine.token_object(&token)),
                Err(e) => failure(&e.diagnose()),
            }
        }
        "/v1/status" => match engine.status() {
            Ok(report) => (200, serde_json::to_value(&report).unwrap_or_default()),
            Err(e) => failure(&e.diagnose()),
        },
        other => (
            404,
            problem(
                "request_invalid",
                &format!("Nothing is answered at {}.", crate::text::clean(other)),
                "Ask GET /v1/token or GET /v1/status.",
            ),
        ),
    }
}

/// A failure as the agent sends it, with an HTTP status that fits its class.
fn failure(d: &Diagnosis) -> (u16, serde_json::Value) {
    let status = match d.code.exit_class() {
        ExitClass::Usage | ExitClass::Config => 400,
        ExitClass::SignIn => 401,
        ExitClass::NotAllowed => 403,
        ExitClass::Unavailable | ExitClass::Keychain => 503,
        ExitClass::LoginFailed => 502,
        ExitClass::Other => 500,
    };
    (status, serde_json::json!({ "error": d }))
}

/// A failure of the request itself (not one of the engine's codes).
fn problem(code: &str, message: &str, fix: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "code": code, "message": message, "fix": fix } })
}

async fn respond(stream: &mut UnixStream, status: u16, body: &serde_json::Value) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// What a client of the agent gets: the token's answer, or the agent's failure.
#[derive(Debug)]
pub enum Answer {
    /// The token, and the whole object it came in ([`Engine::token_object`]'s shape).
    Token {
        access_token: crate::secret::AccessToken,
        object: crate::secret::Secret<String>,
    },
    Failed(Diagnosis),
}

/// Asks the agent at `path` for a token, as `spotoken token` does before going to the
/// keychain itself. `None`: no agent answers there (go on without it).
pub async fn ask_for_token(path: &Path, account: Option<&str>, min_valid: u64) -> Option<Answer> {
    let mut stream = tokio::time::timeout(Duration::from_secs(1), UnixStream::connect(path)).await.ok()?.ok()?;
    let mut target = format!("/v1/token?min_valid={min_valid}");
    if let Some(account) = account {
        let encoded: String = url::form_urlencoded::byte_serialize(account.as_bytes()).collect();
        target.push_str(&format!("&account={encoded}"));
    }
    let request = format!("GET {target} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    // The agent may wait on a refresh or an unlock: as long as `spotoken token` would.
    tokio::time::timeout(Duration::from_secs(180), stream.read_to_end(&mut answer)).await.ok()?.ok()?;
    let text = String::from_utf8(answer).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    if status == 200 {
        let token = json["access_token"].as_str()?;
        return Some(Answer::Token {
            access_token: crate::secret::AccessToken::from(token.to_string()),
            object: crate::secret::Secret::new(json.to_string()),
        });
    }
    serde_json::from_value::<Diagnosis>(json["error"].clone()).ok().map(Answer::Failed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_socket_is_the_one_named_else_in_the_runtime_folder_else_the_state_folder() {
        let paths = crate::Paths::under(Path::new("/home/p"));
        let some = |s: &str| Some(OsString::from(s));
        assert_eq!(socket_path_from(&paths, some("/s.sock"), some("/run/u")), Path::new("/s.sock"));
        assert_eq!(socket_path_from(&paths, some(""), some("/run/u")), Path::new("/run/u/spotoken/agent.sock"));
        assert_eq!(socket_path_from(&paths, None, some("")), Path::new("/home/p/state/agent.sock"));
        assert_eq!(socket_path_from(&paths, None, None), Path::new("/home/p/state/agent.sock"));
        // And from this process's own variables (read, never set: tests run at once).
        let own =
            socket_path_from(&paths, std::env::var_os("SPOTOKEN_AGENT_SOCKET"), std::env::var_os("XDG_RUNTIME_DIR"));
        assert_eq!(socket_path(&paths), own);
        assert!(own.ends_with("agent.sock") || std::env::var_os("SPOTOKEN_AGENT_SOCKET").is_some(), "{own:?}");
    }

    #[test]
    fn each_class_of_failure_has_its_http_status() {
        use crate::diagnose::Code;
        for (code, status) in [
            (Code::EndpointUnknown, 400),
            (Code::NotConfigured, 400),
            (Code::NoAccount, 401),
            (Code::HandoutDenied, 403),
            (Code::RateLimited, 503),
            (Code::KeychainLocked, 503),
            (Code::RefreshRevoked, 502),
            (Code::IoError, 500),
        ] {
            let (got, body) = failure(&Diagnosis::new(code, "m", "f"));
            assert_eq!(got, status, "{code:?}");
            assert_eq!(body["error"]["code"], code.as_str());
        }
    }

    #[tokio::test]
    async fn each_status_goes_out_with_its_reason() {
        for (status, reason) in [
            (403, "Forbidden"),
            (502, "Bad Gateway"),
            (503, "Service Unavailable"),
            (500, "Internal Server Error"),
            (418, "Internal Server Error"),
        ] {
            let (mut ours, mut theirs) = UnixStream::pair().unwrap();
            respond(&mut ours, status, &serde_json::json!({"a": 1})).await.unwrap();
            let mut answer = String::new();
            theirs.read_to_string(&mut answer).await.unwrap();
            assert!(answer.starts_with(&format!("HTTP/1.1 {status} {reason}\r\n")), "{answer}");
            assert!(
                answer.ends_with("Content-Length: 7\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{\"a\":1}"),
                "{answer}"
            );
        }
    }

    /// What `read_head` makes of `sent`, the writer closing after it.
    async fn head_of(sent: Vec<u8>) -> Option<String> {
        let (mut ours, mut theirs) = UnixStream::pair().unwrap();
        let writer = tokio::spawn(async move {
            for chunk in sent.chunks(1000) {
                // Several reads: the end of the head may come in any of them.
                let _ = theirs.write_all(chunk).await;
            }
        });
        let head = read_head(&mut ours).await.unwrap();
        writer.await.unwrap();
        head
    }

    #[tokio::test]
    async fn a_head_ends_at_its_blank_line_and_may_be_as_long_as_the_limit() {
        assert_eq!(
            head_of(b"GET / HTTP/1.1\r\nA: b\r\n\r\n".to_vec()).await.as_deref(),
            Some("GET / HTTP/1.1\r\nA: b\r\n\r\n")
        );
        assert_eq!(head_of(b"GET / HTTP/1.0\n\n".to_vec()).await.as_deref(), Some("GET / HTTP/1.0\n\n"));
        // No blank line: whatever came before the writer closed.
        assert_eq!(head_of(b"GET / HTTP/1.1\r\n".to_vec()).await.as_deref(), Some("GET / HTTP/1.1\r\n"));
        let mut at_limit = b"GET / HTTP/1.1\r\nX: ".to_vec();
        at_limit.resize(MAX_HEAD, b'a');
        assert_eq!(head_of(at_limit.clone()).await.map(|h| h.len()), Some(MAX_HEAD));
        at_limit.push(b'a');
        assert_eq!(head_of(at_limit).await, None);
    }
}
