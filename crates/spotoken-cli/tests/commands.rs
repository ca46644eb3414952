//! Each command run in-process, as `main` runs it, against the sandbox on 127.0.0.1:
//! the engine with tokens in a `MemoryStore` (the keychain is the end-to-end tests'
//! business), standard streams replaced by `Io::test`. Fast, and they see what the
//! command wrote and how it ended without spawning the binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use spotify_sandbox::{DEMO_CLIENT_ID, Sandbox, SandboxConfig, User};
use spotoken_cli::{Cli, Exit, Io, io::Captured};
use spotoken_core::{Endpoints, Engine, ExitClass, MemoryStore, Paths, SystemClock};
use std::sync::Arc;
use std::time::Duration;

struct Setup {
    dir: tempfile::TempDir,
    sandbox: Sandbox,
    store: MemoryStore,
    user: User,
}

async fn setup(name: &str) -> Setup {
    let user = User { id: format!("cmd-{name}-{}", std::process::id()), display_name: format!("Cmd {name}") };
    let config = SandboxConfig { user: user.clone(), playlists: 7, ..Default::default() };
    let sandbox = Sandbox::start(config, 0).await.unwrap();
    Setup { dir: tempfile::tempdir().unwrap(), sandbox, store: MemoryStore::default(), user }
}

impl Setup {
    fn engine(&self) -> Engine {
        Engine::new(
            Paths::under(self.dir.path()),
            Endpoints::new(&self.sandbox.url(), &self.sandbox.url()).unwrap(),
            self.store.clone(),
            Arc::new(SystemClock),
        )
        .unwrap()
        .with_client_id_override(Some(DEMO_CLIENT_ID.into()))
    }

    /// `spotoken ARGS`, in-process, with `input` on standard input.
    async fn run_with(&self, args: &[&str], input: &[u8]) -> (Exit, Captured) {
        let cli = Cli::parse_from_args(std::iter::once("spotoken").chain(args.iter().copied())).unwrap();
        let (mut io, captured) = Io::test(input);
        let exit = match spotoken_cli::run(cli.command, self.engine(), &mut io).await {
            Ok(exit) => exit,
            Err(e) => spotoken_cli::report(&e, &mut io),
        };
        (exit, captured)
    }

    async fn run(&self, args: &[&str]) -> (Exit, Captured) {
        self.run_with(args, b"").await
    }

    /// `login --no-browser`, its address followed as a browser would (the redirect
    /// lands on the command's own loopback listener).
    async fn login(&self, extra: &[&str]) -> (Exit, Captured) {
        let mut args = vec!["login", "--no-browser", "--timeout", "30"];
        args.extend_from_slice(extra);
        let cli = Cli::parse_from_args(std::iter::once("spotoken").chain(args.iter().copied())).unwrap();
        let (mut io, captured) = Io::test(b"not an address\n");
        let engine = self.engine();
        let browser = {
            let captured = captured.clone();
            async move {
                let url = loop {
                    if let Some(line) = captured.err().lines().find(|l| l.trim_start().starts_with("http")) {
                        break line.trim().to_string();
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                };
                reqwest::get(&url).await.unwrap().status()
            }
        };
        let (ran, status) = tokio::join!(spotoken_cli::run(cli.command, engine, &mut io), browser);
        assert!(status.is_success(), "{status}");
        let exit = ran.unwrap_or_else(|e| spotoken_cli::report(&e, &mut io));
        (exit, captured)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_shows_the_address_refuses_a_wrong_paste_and_signs_in_through_the_loopback() {
    let s = setup("login").await;
    let (exit, out) = s.login(&["--preset", "playlists"]).await;
    assert_eq!(exit, Exit::Success, "{}", out.err());
    let err = out.err();
    assert!(err.contains("Sign in to Spotify in your browser"), "{err}");
    assert!(err.contains("paste it here"), "{err}");
    assert!(err.contains("That address was refused"), "{err}");
    assert!(err.contains("Waiting for Spotify (up to 30s)"), "{err}");
    let said = out.out();
    assert!(said.starts_with(&format!("Logged in as {} ({}).\n", s.user.display_name, s.user.id)), "{said}");
    assert!(said.contains("Granted scopes: ") && said.contains("playlist-read-private"), "{said}");
    // The Client ID came from the engine, so nothing was saved.
    assert!(!err.contains("Saved the Client ID"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn token_prints_the_token_and_nothing_else() {
    let s = setup("token").await;
    assert_eq!(s.login(&[]).await.0, Exit::Success);
    let (exit, out) = s.run(&["token"]).await;
    assert_eq!(exit, Exit::Success, "{}", out.err());
    let token = out.out();
    assert!(token.ends_with('\n') && token.trim().len() > 10 && !token.trim().contains(char::is_whitespace));
    assert!(s.sandbox.secrets().contains(&token.trim().to_string()), "not a token the sandbox issued");

    let (exit, out) = s.run(&["token", "--json"]).await;
    assert_eq!(exit, Exit::Success);
    let object: serde_json::Value = serde_json::from_str(&out.out()).unwrap();
    assert_eq!(object["account"], s.user.id.as_str());
    assert_eq!(object["token_type"], "Bearer");
    assert!(object["expires_in"].as_i64().unwrap() > 60, "{object}");

    let (exit, out) = s.run(&["token", "--account", "nobody"]).await;
    assert_eq!(exit, Exit::Failed(ExitClass::SignIn));
    assert!(out.out().is_empty());
    assert!(out.err().starts_with("spotoken: ") && out.err().contains("[account_unknown]"), "{}", out.err());
}

#[tokio::test(flavor = "multi_thread")]
async fn status_says_each_account_in_text_and_json() {
    let s = setup("status").await;
    let (exit, out) = s.run(&["status"]).await;
    assert_eq!(exit, Exit::Success);
    assert_eq!(out.err(), "No account is signed in. Run `spotoken login`.\n");
    assert_eq!(s.login(&[]).await.0, Exit::Success);

    let (exit, out) = s.run(&["status"]).await;
    assert_eq!(exit, Exit::Success, "{}", out.err());
    let text = out.out();
    assert!(text.starts_with(&format!("{} ({})  ok\n", s.user.display_name, s.user.id)), "{text}");
    assert!(text.contains("  access token   valid for "), "{text}");
    assert!(text.contains(" of 6 months left (until "), "{text}");
    assert!(text.contains("  scopes         granted: user-read-email, user-read-private"), "{text}");

    let (exit, out) = s.run(&["status", "--json"]).await;
    assert_eq!(exit, Exit::Success);
    let report: serde_json::Value = serde_json::from_str(&out.out()).unwrap();
    assert_eq!(report["accounts"][0]["id"], s.user.id.as_str());
    assert_eq!(report["accounts"][0]["state"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn activity_lists_what_happened_and_acks_by_id() {
    let s = setup("activity").await;
    assert_eq!(s.login(&[]).await.0, Exit::Success);
    assert_eq!(s.run(&["token"]).await.0, Exit::Success);

    let (exit, out) = s.run(&["activity"]).await;
    assert_eq!(exit, Exit::Success);
    let text = out.out();
    assert!(text.contains("WHEN (UTC)") && text.contains("PROGRAM"), "{text}");
    assert!(text.lines().any(|l| l.contains(&s.user.id) && l.contains("handout")), "{text}");

    let (exit, out) = s.run(&["activity", "--json", "--since", "1h"]).await;
    assert_eq!(exit, Exit::Success);
    let report: serde_json::Value = serde_json::from_str(&out.out()).unwrap();
    assert!(report["events"].as_array().unwrap().len() >= 2, "{report}");

    let (exit, out) = s.run(&["activity", "--ack", "no-such-id"]).await;
    assert_eq!(exit, Exit::OTHER);
    assert!(out.err().contains("no open anomaly has the id no-such-id"), "{}", out.err());
    // The first hand-out to a program is an anomaly of its own (a new program).
    let (exit, out) = s.run(&["activity", "--json"]).await;
    assert_eq!(exit, Exit::Success);
    let open = serde_json::from_str::<serde_json::Value>(&out.out()).unwrap()["anomalies"].as_array().unwrap().len();
    assert!(open >= 1);
    let (exit, out) = s.run(&["activity", "--ack", "all"]).await;
    assert_eq!(exit, Exit::Success);
    let word = if open == 1 { "anomaly" } else { "anomalies" };
    assert_eq!(out.err(), format!("Acknowledged {open} {word}.\n"));
    let (_, out) = s.run(&["activity", "--ack", "all"]).await;
    assert_eq!(out.err(), "Acknowledged 0 anomalies.\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn scopes_says_what_is_missing_and_exits_cannot_call() {
    let s = setup("scopes").await;
    let (exit, out) = s.run(&["scopes", "GET", "/me/player/queue"]).await;
    assert_eq!(exit, Exit::CannotCall);
    assert!(out.out().contains("No account is signed in."), "{}", out.out());
    assert_eq!(s.login(&[]).await.0, Exit::Success);

    let (exit, out) = s.run(&["scopes", "GET", "/me/player/queue"]).await;
    assert_eq!(exit, Exit::CannotCall);
    let text = out.out();
    assert!(text.contains("  needs        user-read-currently-playing, user-read-playback-state"), "{text}");
    assert!(text.contains(&format!("✗ {} ({}): missing ", s.user.display_name, s.user.id)), "{text}");
    assert!(text.contains("--show-dialog"), "{text}");

    let (exit, out) = s.run(&["scopes", "/me", "--json"]).await;
    assert_eq!(exit, Exit::Success);
    let answer: serde_json::Value = serde_json::from_str(&out.out()).unwrap();
    assert_eq!(answer["version"], 1);
    assert_eq!(answer["can_call"], true);
    assert_eq!(answer["operations"][0]["operation_id"], "get-current-users-profile");
    assert_eq!(answer["accounts"][0]["missing"], serde_json::json!([]));
    assert_eq!(answer["accounts"][0]["fix"], serde_json::Value::Null);

    // A withdrawn call: the scopes are there, the call is not.
    let (exit, out) = s.run(&["scopes", "GET", "/browse/featured-playlists"]).await;
    assert_eq!(exit, Exit::CannotCall);
    assert!(out.out().contains("WITHDRAWN"), "{}", out.out());

    let (exit, out) = s.run(&["scopes", "--list"]).await;
    assert_eq!(exit, Exit::Success);
    assert!(out.out().lines().count() > 50);
    let (exit, out) = s.run(&["scopes", "GET", "/no/such/thing"]).await;
    assert_eq!(exit, Exit::Failed(ExitClass::Usage));
    assert!(out.err().contains("[endpoint_unknown]"), "{}", out.err());
}

#[tokio::test(flavor = "multi_thread")]
async fn api_prints_the_answer_and_pages_into_one_array() {
    let s = setup("api").await;
    assert_eq!(s.login(&["--preset", "playlists"]).await.0, Exit::Success);
    let (exit, out) = s.run(&["api", "/me"]).await;
    assert_eq!(exit, Exit::Success, "{}", out.err());
    let me: serde_json::Value = serde_json::from_str(&out.out()).unwrap();
    assert_eq!(me["id"], s.user.id.as_str());

    let (exit, out) = s.run(&["api", "--paginate", "/me/playlists", "-f", "limit=3"]).await;
    assert_eq!(exit, Exit::Success, "{}", out.err());
    let items: Vec<serde_json::Value> = serde_json::from_str(&out.out()).unwrap();
    assert_eq!(items.len(), 7);

    let (exit, out) = s.run(&["api", "--paginate", "--max-pages", "2", "/me/playlists", "-f", "limit=3"]).await;
    assert_eq!(exit, Exit::Failed(ExitClass::Unavailable));
    let items: Vec<serde_json::Value> = serde_json::from_str(&out.out()).unwrap();
    assert_eq!(items.len(), 6, "what was fetched stays valid JSON");
    assert!(out.err().contains("[pagination_stopped]"), "{}", out.err());

    let (exit, out) = s.run(&["api", "-i", "/me"]).await;
    assert_eq!(exit, Exit::Success);
    assert!(out.out().starts_with("HTTP 200 OK\n"), "{}", out.out());

    let (exit, out) = s
        .run_with(&["api", "-X", "POST", "/me/playlists", "-f", "name=Mix", "-F", "description=@-"], b"\"From stdin\"")
        .await;
    assert_eq!(exit, Exit::Success, "{}", out.err());
    let made: serde_json::Value = serde_json::from_str(&out.out()).unwrap();
    assert_eq!((made["name"].as_str(), made["description"].as_str()), (Some("Mix"), Some("From stdin")));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn exec_runs_the_command_with_the_token_and_ends_as_it_ends() {
    let s = setup("exec").await;
    assert_eq!(s.login(&[]).await.0, Exit::Success);
    let (exit, out) = s.run(&["exec", "--", "sh", "-c", "test -n \"$SPOTIFY_ACCESS_TOKEN\" && exit 42"]).await;
    assert_eq!(exit, Exit::Command(42), "{}", out.err());
    assert_eq!(exit.code(), 42);
    let (exit, out) = s.run(&["exec", "--", "/no/such/program"]).await;
    assert_eq!(exit, Exit::CannotRun);
    assert!(out.err().contains("cannot run /no/such/program"), "{}", out.err());
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_forgets_the_account_and_says_spotify_still_trusts_the_app() {
    let s = setup("logout").await;
    let (exit, out) = s.run(&["logout", "--all"]).await;
    assert_eq!(exit, Exit::Success);
    assert!(out.err().starts_with("No account is signed in; nothing to forget.\n"), "{}", out.err());
    assert_eq!(s.login(&[]).await.0, Exit::Success);
    let (exit, out) = s.run(&["logout"]).await;
    assert_eq!(exit, Exit::Success, "{}", out.err());
    assert!(out.out().starts_with(&format!("Signed out {} ({})", s.user.display_name, s.user.id)), "{}", out.out());
    assert!(out.err().contains("Spotify has no revoke endpoint"), "{}", out.err());
    assert!(s.engine().accounts().unwrap().is_empty());
    let (exit, _) = s.run(&["token"]).await;
    assert_eq!(exit, Exit::Failed(ExitClass::SignIn));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_agent_serves_tokens_on_its_socket() {
    use spotoken_core::agent::{Answer, ask_for_token};
    let s = setup("agent").await;
    assert_eq!(s.login(&[]).await.0, Exit::Success);
    let socket = s.dir.path().join("agent.sock");
    let (mut io, out) = Io::test(b"");
    let agent = {
        let (engine, socket) = (s.engine(), socket.clone());
        tokio::spawn(async move { spotoken_cli::commands::agent::serve_on(engine, &socket, &mut io).await })
    };
    let answer = loop {
        if let Some(answer) = ask_for_token(&socket, None, 60).await {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let Answer::Token { access_token, .. } = answer else { panic!("{answer:?}") };
    assert!(s.sandbox.secrets().contains(&access_token.secret().to_string()));
    assert!(out.err().starts_with(&format!("Spotoken agent: serving tokens on {}", socket.display())), "{}", out.err());
    agent.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn store_key_writes_a_key_only_its_owner_reads() {
    let s = setup("store-key").await;
    let file = s.dir.path().join("key.txt");
    let (exit, out) = s.run(&["store-key", file.to_str().unwrap()]).await;
    assert_eq!(exit, Exit::Success, "{}", out.err());
    assert!(std::fs::read_to_string(&file).unwrap().contains("AGE-SECRET-KEY-"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(out.err().contains("SPOTOKEN_KEY_FILE="), "{}", out.err());
    // Never over an existing key: the tokens it protects would be lost.
    let (exit, _) = s.run(&["store-key", file.to_str().unwrap()]).await;
    assert_ne!(exit, Exit::Success);
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_and_the_man_page_describe_every_command() {
    let s = setup("docs").await;
    let (exit, out) = s.run(&["completions", "bash"]).await;
    assert_eq!(exit, Exit::Success);
    for command in ["login", "token", "status", "activity", "scopes", "api", "exec", "agent", "store-key", "logout"] {
        assert!(out.out().contains(command), "{command}");
    }
    let (exit, out) = s.run(&["manpage"]).await;
    assert_eq!(exit, Exit::Success);
    assert!(out.out().starts_with(".ie") || out.out().contains(".TH spotoken"), "{}", &out.out()[..200]);
}

#[test]
fn arguments_clap_refuses_are_usage_errors_that_name_the_way_out() {
    let parse = |args: &[&str]| Cli::parse_from_args(std::iter::once("spotoken").chain(args.iter().copied()));
    let e = parse(&["login", "--preset", "everything"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
    assert!(e.to_string().contains("playback"), "{e}");
    for bad in [&["api", "/me", "-f", "limit"][..], &["api", "/me", "-F", "x"], &["api", "/me", "-H", "Accept"]] {
        let e = parse(bad).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}");
        assert_eq!(e.exit_code(), 2);
    }
    assert!(parse(&["activity", "--since", "soon"]).unwrap_err().to_string().contains("30m, 24h, 7d or 2w"));
}

#[test]
fn a_failure_is_one_line_safe_for_a_terminal() {
    let (mut io, out) = Io::test(b"");
    let e = spotoken_core::Error::UnknownEndpoint("GET /x\u{1b}[2J\nspotoken: fake line".into());
    assert_eq!(spotoken_cli::report(&e, &mut io), Exit::Failed(ExitClass::Usage));
    let said = out.err();
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(!said.trim_end().contains(char::is_control), "{said:?}");
    assert!(said.starts_with("spotoken: ") && said.trim_end().ends_with("[endpoint_unknown]"), "{said}");
}
