//! Drives the real `spotoken` binary against the real sandbox over 127.0.0.1 and the
//! real Secret Service of the session `scripts/test` starts.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../../tests/support/xvfb.rs"]
mod xvfb;
#[allow(unused_imports)] // Not every test binary uses them.
pub use xvfb::{start_xvfb, stop_politely};
#[path = "../../../../tests/support/private_bus.rs"]
mod private_bus;
#[allow(unused_imports)] // Not every test binary uses it.
pub use private_bus::BareBus;
#[path = "../../../../tests/support/keepassxc.rs"]
pub mod keepassxc;

use spotify_sandbox::{Control, Sandbox, SandboxConfig, User};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

pub const CLIENT_ID: &str = spotify_sandbox::DEMO_CLIENT_ID;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One isolated Spotoken home and one sandbox.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub sandbox: Sandbox,
    pub user: User,
    pub http: reqwest::Client,
    pending_stderr: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    stderr_lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The Windows `spotoken.exe` run by Wine instead of this build's binary.
    pub wine: Option<Wine>,
}

/// The Windows build of `spotoken` and the Wine prefix it runs in
/// (`scripts/check-platforms wine` sets both).
pub struct Wine {
    pub exe: PathBuf,
    pub prefix: PathBuf,
}

impl Wine {
    pub fn from_env() -> Self {
        let var =
            |k: &str| std::env::var_os(k).unwrap_or_else(|| panic!("{k} is not set: run scripts/check-platforms wine"));
        let exe = PathBuf::from(var("SPOTOKEN_WINDOWS_EXE"));
        assert!(exe.is_file(), "{} is not built", exe.display());
        Self { exe, prefix: PathBuf::from(var("WINEPREFIX")) }
    }

    /// `C:\users\<user>` of the prefix, where Spotoken's `%APPDATA%` folders are.
    pub fn profile(&self) -> PathBuf {
        let users = self.prefix.join("drive_c/users");
        std::fs::read_dir(&users)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().is_some_and(|n| n != "Public") && p.join("AppData").is_dir())
            .expect("the Wine prefix has a user profile")
    }

    /// Spotoken's folders in the profile: `AppData\Roaming\spotoken` (settings, records)
    /// and `AppData\Local\spotoken` (locks).
    pub fn spotoken_folders(&self) -> [PathBuf; 2] {
        let profile = self.profile();
        [profile.join("AppData/Roaming/spotoken"), profile.join("AppData/Local/spotoken")]
    }
}

/// What the person would have seen: the command's output and the browser's page.
pub struct Login {
    pub output: Output,
    pub page: String,
    pub page_status: u16,
}

impl Harness {
    pub async fn new(name: &str) -> Self {
        Self::with_ttl(name, 3600).await
    }

    /// `access_ttl` seconds of access-token lifetime; under 60 makes every
    /// `spotoken token` (default --min-valid 60) refresh.
    pub async fn with_ttl(name: &str, access_ttl: i64) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let user = User { id: format!("{name}-{}-{n}", std::process::id()), display_name: format!("Tester {name}") };
        let config = SandboxConfig { user: user.clone(), access_ttl_secs: access_ttl, ..SandboxConfig::default() };
        let sandbox = Sandbox::start(config, 0).await.unwrap();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self {
            dir: tempfile::tempdir().unwrap(),
            sandbox,
            user,
            http,
            pending_stderr: Default::default(),
            stderr_lines: Default::default(),
            wine: None,
        }
    }

    /// A harness whose `spotoken` is the Windows build run by Wine. Windows keeps
    /// Spotoken's files in the profile's known folders, not in `XDG_*`: they are
    /// emptied first, so tests using this must run one at a time.
    pub async fn under_wine(name: &str, access_ttl: i64) -> Self {
        let wine = Wine::from_env();
        for folder in wine.spotoken_folders() {
            let _ = std::fs::remove_dir_all(folder);
        }
        Self { wine: Some(wine), ..Self::with_ttl(name, access_ttl).await }
    }

    /// A harness whose user signed in with these scopes.
    pub async fn signed_in(name: &str, scopes: &[&str]) -> Self {
        let h = Self::new(name).await;
        let args: Vec<&str> = scopes.iter().flat_map(|s| ["--scope", s]).collect();
        let login = h.login(&args).await;
        assert_eq!(login.output.status.code(), Some(0), "{}", stderr(&login.output));
        h
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// Where this harness's `spotoken agent` listens.
    pub fn agent_socket(&self) -> PathBuf {
        self.home().join("run/spotoken/agent.sock")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.command_through(&[], args)
    }

    /// `spotoken ARGS` started by another program (`launcher`, e.g. `cmd /c`), in the
    /// same environment as [`Self::command`].
    pub fn command_through(&self, launcher: &[&str], args: &[&str]) -> Command {
        let binary = match &self.wine {
            Some(wine) => wine.exe.clone(),
            None => PathBuf::from(env!("CARGO_BIN_EXE_spotoken")),
        };
        let mut cmd = match (&self.wine, launcher.split_first()) {
            (Some(_), _) => {
                let mut cmd = Command::new("wine");
                cmd.args(launcher);
                cmd
            }
            (None, Some((first, rest))) => {
                let mut cmd = Command::new(first);
                cmd.args(rest);
                cmd
            }
            (None, None) => Command::new(&binary),
        };
        if self.wine.is_some() || !launcher.is_empty() {
            cmd.arg(&binary);
        }
        let home = self.home();
        cmd.args(args)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_STATE_HOME", home.join("state"))
            // Each harness its own agent socket: tests run at once in one session.
            .env("SPOTOKEN_AGENT_SOCKET", self.agent_socket())
            .env("SPOTOKEN_ACCOUNTS_URL", self.sandbox.url())
            .env("SPOTOKEN_API_URL", self.sandbox.url())
            .env("SPOTOKEN_CLIENT_ID", CLIENT_ID)
            .env_remove("BROWSER")
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.unwrap()
    }

    pub fn control(&self, control: Control) {
        self.sandbox.control(control);
    }

    /// Starts `spotoken login --no-browser`, reads the consent URL from stderr, and
    /// returns the running child, the URL, and the stderr read so far.
    pub async fn start_login(&self, extra: &[&str]) -> (tokio::process::Child, String, Vec<String>) {
        self.start_login_env(extra, &[]).await
    }

    /// [`Self::start_login`] with extra environment variables.
    pub async fn start_login_env(
        &self,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> (tokio::process::Child, String, Vec<String>) {
        let mut args = vec!["login", "--no-browser"];
        args.extend_from_slice(extra);
        let mut child = self
            .command(&args)
            .envs(envs.iter().copied())
            // Open and unwritten unless a test pastes an address into it.
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                seen.push(line.clone());
                if let Some(url) = line.trim().strip_prefix("http") {
                    return format!("http{url}");
                }
            }
            panic!("login printed no URL: {seen:?}");
        })
        .await
        .expect("no consent URL within 30 s");
        // Keep draining stderr so the child never blocks on a full pipe.
        *self.stderr_lines.lock().unwrap() = seen.clone();
        let all = self.stderr_lines.clone();
        let rest = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                all.lock().unwrap().push(line);
            }
        });
        self.pending_stderr.lock().unwrap().replace(rest);
        (child, url, seen)
    }

    /// Plays the browser: asks the consent page, returns where Spotify redirects.
    pub async fn authorize(&self, url: &str) -> String {
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 302, "consent page did not redirect: {:?}", response.text().await);
        response.headers()["location"].to_str().unwrap().to_string()
    }

    /// Delivers a redirect to the loopback listener like a browser would.
    pub async fn deliver(&self, location: &str) -> (u16, String) {
        let response = self.http.get(location).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A whole login: start, consent, deliver, wait.
    pub async fn login(&self, extra: &[&str]) -> Login {
        let (child, url, _) = self.start_login(extra).await;
        let location = self.authorize(&url).await;
        let (page_status, page) = self.deliver(&location).await;
        let output = self.finish(child).await;
        Login { output, page, page_status }
    }

    /// The stderr lines a running login has printed so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr_lines.lock().unwrap().join("\n")
    }

    /// Waits for the login process; its stderr, all of it, comes back in the output.
    pub async fn finish(&self, child: tokio::process::Child) -> Output {
        let mut output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("login did not end")
            .unwrap();
        let pending = self.pending_stderr.lock().unwrap().take();
        if let Some(rest) = pending {
            rest.await.unwrap();
            output.stderr = self.stderr_so_far().into_bytes();
        }
        output
    }

    /// `spotoken ARGS` started `n` times at once (all running before any is awaited),
    /// and their outputs in the order they were started.
    pub async fn run_at_once(&self, n: usize, args: &[&str]) -> Vec<Output> {
        let children: Vec<_> = (0..n)
            .map(|_| {
                self.command(args)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut outputs = Vec::new();
        for child in children {
            outputs.push(child.wait_with_output().await.unwrap());
        }
        outputs
    }

    pub async fn token(&self, extra: &[&str]) -> Output {
        let mut args = vec!["token"];
        args.extend_from_slice(extra);
        self.run(&args).await
    }

    /// Asks the sandbox's `/v1/me` with `token`: proves a token works for real.
    /// The keychain entry's fields (access_token, refresh_token, access_expires_at,
    /// obtained_at), read from its stored form (`key=value` lines; version 1's JSON too).
    pub fn keychain_tokens(&self) -> Option<serde_json::Value> {
        self.keychain_entry().map(|text| stored_fields(&text))
    }

    pub async fn me_status(&self, token: &str) -> u16 {
        let url = format!("{}/v1/me", self.sandbox.url());
        self.http.get(url).bearer_auth(token).send().await.unwrap().status().as_u16()
    }

    pub async fn status_json(&self) -> (Option<i32>, serde_json::Value) {
        let out = self.run(&["status", "--json"]).await;
        (out.status.code(), serde_json::from_slice(&out.stdout).unwrap())
    }

    /// The keychain entry for this harness's user, read with libsecret's own tool.
    pub fn keychain_entry(&self) -> Option<String> {
        let out = std::process::Command::new("secret-tool")
            .args(["lookup", "service", "spotoken", "username", &self.user.id])
            .output()
            .unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Every regular file under this Spotoken home.
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                // Sockets and the like (the agent's) hold nothing to read.
                if path.is_dir() {
                    walk(&path, out);
                } else if path.is_file() {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.home(), &mut out);
        out
    }
}

/// The fields of a keychain entry's stored form, as JSON: the `key=value` fields after
/// `spotoken-tokens v3;` (numbers for the times), or version 1's JSON as it is.
pub fn stored_fields(text: &str) -> serde_json::Value {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).unwrap();
    }
    let rest = text.strip_prefix("spotoken-tokens v3;").expect("Spotoken's stored form, on one line");
    let mut fields = serde_json::Map::new();
    for pair in rest.split(';') {
        let (key, value) = pair.split_once('=').expect("key=value");
        let value = value.parse::<i64>().map_or_else(|_| serde_json::Value::from(value), serde_json::Value::from);
        fields.insert(key.to_string(), value);
    }
    serde_json::Value::Object(fields)
}

/// Fails if any of `files` holds any secret the sandbox issued or received.
pub fn assert_no_secret_in(h: &Harness, files: &[PathBuf]) {
    let secrets = h.sandbox.secrets();
    assert!(!secrets.is_empty(), "the sandbox should have seen secrets");
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a secret was written to {}", file.display());
        }
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The access token printed by `spotoken token`, after checking it printed only that.
pub fn printed_token(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "token failed: {}", stderr(output));
    let text = stdout(output);
    assert!(text.ends_with('\n') && text.lines().count() == 1, "stdout is not one line: {text:?}");
    text.trim_end().to_string()
}
