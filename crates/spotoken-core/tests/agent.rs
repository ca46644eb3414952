//! The agent's socket driven in-process: real HTTP over a Unix socket from this test
//! and from curl (another program, as the kernel names it), the engine behind it with
//! the sandbox on 127.0.0.1 and tokens in a `MemoryStore`. `spotoken agent` itself is
//! tested through the binary in the command line's tests.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use spotify_sandbox::{Sandbox, SandboxConfig, User};
use spotoken_core::activity::{Filter, Kind};
use spotoken_core::agent::{Answer, ask_for_token, listen};
use spotoken_core::{Engine, Error, SystemClock};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Setup {
    dir: tempfile::TempDir,
    _sandbox: Sandbox,
    engine: Arc<Engine>,
    socket: PathBuf,
    user: User,
}

async fn setup(name: &str) -> Setup {
    let user = User { id: format!("agent-{name}-{}", std::process::id()), display_name: format!("Agent {name}") };
    let sandbox = Sandbox::start(SandboxConfig { user: user.clone(), ..Default::default() }, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = support::engine_on(dir.path(), &sandbox, Arc::new(SystemClock));
    support::sign_in(&engine, &[]).await;
    let socket = dir.path().join("run/spotoken/agent.sock");
    Setup { dir, _sandbox: sandbox, engine: Arc::new(engine), socket, user }
}

impl Setup {
    fn serve(&self) -> tokio::task::JoinHandle<()> {
        let listening = listen(&self.socket).unwrap();
        tokio::spawn(listening.serve(self.engine.clone()))
    }
}

/// `request` sent as it is; the status and the body of the answer.
async fn raw(socket: &Path, request: &[u8]) -> (u16, serde_json::Value) {
    let mut stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{answer:?}"));
    assert!(head.contains("Content-Type: application/json\r\n") && head.contains("Cache-Control: no-store"), "{head}");
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        other => panic!("{other} is not expected here"),
    };
    assert!(head.starts_with(&format!("HTTP/1.1 {status} {reason}\r\n")), "{head}");
    (status, serde_json::from_str(body).unwrap())
}

async fn get(socket: &Path, target: &str) -> (u16, serde_json::Value) {
    raw(socket, format!("GET {target} HTTP/1.1\r\nHost: agent\r\n\r\n").as_bytes()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_and_status_are_served_and_the_asker_recorded() {
    let s = setup("serve").await;
    let server = s.serve();
    let meta = std::fs::metadata(&s.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(s.socket.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);

    let Some(Answer::Token { access_token, object }) = ask_for_token(&s.socket, None, 60).await else {
        panic!("no token")
    };
    let object: serde_json::Value = serde_json::from_str(object.secret()).unwrap();
    assert_eq!(object["access_token"], access_token.secret().as_str());
    assert_eq!(object["account"], s.user.id.as_str());

    let (status, report) = get(&s.socket, "/v1/status").await;
    assert_eq!(status, 200);
    assert_eq!(report["accounts"][0]["id"], s.user.id.as_str());

    // curl is another program: the hand-out is recorded as curl's.
    let out = std::process::Command::new("curl")
        .args(["-sf", "--unix-socket", s.socket.to_str().unwrap(), "http://agent/v1/token?min_valid=30"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let served: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(served["token_type"], "Bearer");

    let this = std::env::current_exe().unwrap();
    let this_name = this.file_name().unwrap().to_string_lossy().into_owned();
    let handouts: Vec<_> = s
        .engine
        .activity()
        .events(&Filter::default(), s.engine.clock().now())
        .into_iter()
        .filter(|e| e.kind == Kind::Handout)
        .collect();
    assert_eq!(handouts.len(), 2, "{handouts:?}");
    assert!(handouts.iter().all(|e| e.channel.as_deref() == Some("agent")), "{handouts:?}");
    assert_eq!(handouts[1].program.as_deref(), Some("curl"), "{handouts:?}");
    // The first asker was this very program, as `spotoken token` asks on a script's
    // behalf: recorded is the program that started it, not itself.
    let first = handouts[0].program.as_deref().unwrap_or_default();
    assert!(!first.is_empty() && first != this_name, "{first} (this is {this_name})");
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_requests_get_a_status_and_a_fix() {
    let s = setup("wrong").await;
    let server = s.serve();
    let (status, body) = get(&s.socket, "/v1/nothing").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "request_invalid");
    let (status, _) = raw(&s.socket, b"POST /v1/token HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, 405);
    let (status, body) = get(&s.socket, "/v1/token?min_valid=soon").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["fix"], "Pass min_valid=60.");
    let (status, _) = raw(&s.socket, b"GET http://[::1 HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, 400);
    // Bare line feeds end a head too.
    let (status, body) = raw(&s.socket, b"GET /v1/token?account=nobody HTTP/1.0\n\n").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "account_unknown");
    let (status, body) =
        raw(&s.socket, &[b"GET /v1/token HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 17 * 1024]].concat()).await;
    assert_eq!(status, 431, "{body}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_agent_at_a_time_and_its_socket_goes_with_it() {
    let s = setup("one").await;
    let first = listen(&s.socket).unwrap();
    assert!(matches!(listen(&s.socket), Err(Error::AgentRunning(_))));
    drop(first);
    assert!(!s.socket.exists(), "the socket is removed when the agent stops");

    // A socket left by an agent that died is replaced.
    std::fs::write(&s.socket, b"").unwrap();
    let again = listen(&s.socket).unwrap();
    assert_eq!(again.path(), s.socket);
    drop(again);

    // Something there that cannot be removed is said as such.
    std::fs::create_dir_all(s.socket.join("inside")).unwrap();
    let e = listen(&s.socket).unwrap_err();
    assert!(e.diagnose().message.starts_with("Could not remove "), "{}", e.diagnose().message);
    let _ = s.dir;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_agent_there_is_none_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    assert!(ask_for_token(&dir.path().join("none.sock"), Some("a b"), 60).await.is_none());
    assert!(started.elapsed() < Duration::from_secs(2));
}
