//! The desktop app tested as a person uses it: the real binary under Xvfb with a real
//! tray host (trayer), driven over WebDriver (tauri-driver + WebKitWebDriver), against
//! the sandbox on 127.0.0.1 and the real Secret Service of `scripts/test`'s session.
//! Screenshots of every step land in `target/e2e-screenshots/<test>/`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod keepassxc;
pub mod private_bus;
pub mod webdriver;
pub mod xvfb;

use spotify_sandbox::{Sandbox, SandboxConfig, User};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use webdriver::Session;

pub const CLIENT_ID: &str = spotify_sandbox::DEMO_CLIENT_ID;
pub const APP: &str = env!("CARGO_BIN_EXE_spotoken-app");
/// The `spotoken` command line, built beside the app (`cargo test --workspace` builds it).
pub static CLI: std::sync::LazyLock<PathBuf> = std::sync::LazyLock::new(|| {
    let cli = Path::new(APP).with_file_name("spotoken");
    assert!(cli.exists(), "{} is missing: `cargo build -p spotoken-cli` (scripts/test builds it)", cli.display());
    cli
});

/// One app instance per D-Bus session (single-instance): desktop tests take turns.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How the test desktop is set up beyond the defaults.
#[derive(Default)]
pub struct Setup<'a> {
    /// settings.toml, written before the app starts.
    pub settings: Option<&'a str>,
    /// `XDG_CURRENT_DESKTOP`; `None` is a bare window manager (xdg-open's generic mode).
    pub current_desktop: Option<&'a str>,
    /// Run a copy of the app from this path under the test's folder (e.g. with spaces).
    pub app_copy: Option<&'a str>,
    /// Extra environment for the app.
    pub env: Vec<(&'a str, String)>,
}

pub struct Desktop {
    pub dir: tempfile::TempDir,
    /// The binary the session runs.
    pub app: PathBuf,
    pub sandbox: Sandbox,
    pub user: User,
    pub display: String,
    driver_url: String,
    children: Vec<Child>,
    shots: PathBuf,
    step: AtomicU32,
    pub http: reqwest::Client,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Desktop {
    /// A fresh home, a sandbox whose user is `name`, Xvfb, a tray host and tauri-driver.
    /// `settings` is written as the app's settings.toml when given.
    pub async fn start(name: &str, settings: Option<&str>) -> Self {
        Self::start_with(name, Setup { settings, ..Setup::default() }).await
    }

    pub async fn start_with(name: &str, setup: Setup<'_>) -> Self {
        let settings = setup.settings;
        end_app_instances(Path::new(APP));
        let user = User { id: format!("desk-{name}-{}", std::process::id()), display_name: format!("Desk {name}") };
        let sandbox = Sandbox::start(SandboxConfig { user: user.clone(), ..Default::default() }, 0).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        if let Some(settings) = settings {
            let config = dir.path().join("config/spotoken");
            std::fs::create_dir_all(&config).unwrap();
            std::fs::write(config.join("settings.toml"), settings).unwrap();
        }
        let app = match setup.app_copy {
            None => PathBuf::from(APP),
            Some(relative) => {
                let copy = dir.path().join(relative);
                std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
                std::fs::copy(APP, &copy).unwrap();
                copy
            }
        };
        let browser = dir.path().join("browser.sh");
        std::fs::write(
            &browser,
            "#!/bin/sh\n\
             # Plays the person's browser: asks the consent page, follows its redirect, and\n\
             # hands a scheme it does not know to the desktop, as Chromium and Firefox do.\n\
             env > \"$SPOTOKEN_TEST_DIR/browser-env\"\n\
             loc=$(curl -s -o /dev/null -w '%{redirect_url}' \"$1\")\n\
             case \"$loc\" in\n\
               spotoken:*) exec xdg-open \"$loc\" ;;\n\
               *) curl -s \"$loc\" > \"$SPOTOKEN_TEST_DIR/callback-page.html\" ;;\n\
             esac\n",
        )
        .unwrap();
        Command::new("chmod").args(["+x", browser.to_str().unwrap()]).status().unwrap();

        let (xvfb, display) = xvfb::start_xvfb(90..200, "1280x860x24");
        // A window manager, as on a desktop: it draws title bars and forwards close requests.
        let wm = Command::new("openbox")
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openbox is not installed (scripts/install-deps installs it)");
        let trayer = Command::new("trayer")
            .args(["--edge", "top", "--align", "right", "--widthtype", "request", "--height", "32"])
            .args(["--transparent", "false", "--tint", "0x333333", "--SetDockType", "true"])
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("trayer is not installed (scripts/install-deps installs it)");
        let (port, native) = (free_port(), free_port());
        let log = std::fs::File::create(dir.path().join("app.log")).unwrap();
        let which = |program: &str| {
            let out = Command::new("sh").args(["-c", &format!("command -v {program}")]).output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let mut driver = Command::new(which("tauri-driver"));
        driver.args(["--port", &port.to_string(), "--native-port", &native.to_string()]);
        if let Some((_, path)) = setup.env.iter().find(|(k, _)| *k == "PATH") {
            // A PATH of the test's own: tauri-driver must still find WebKitWebDriver.
            driver.args(["--native-driver", &which("WebKitWebDriver")]).env("PATH", path);
        }
        driver
            .env("DISPLAY", &display)
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            // The app's agent socket, this desktop's own (tests share one session).
            .env("SPOTOKEN_AGENT_SOCKET", dir.path().join("run/spotoken/agent.sock"))
            .env("SPOTOKEN_ACCOUNTS_URL", sandbox.url())
            .env("SPOTOKEN_API_URL", sandbox.url())
            .env("BROWSER", &browser)
            .env("SPOTOKEN_TEST_DIR", dir.path())
            .env("RUST_LOG", "spotoken_core=debug,spotoken_app=debug")
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env_remove("SPOTOKEN_CLIENT_ID")
            .env_remove("XDG_CURRENT_DESKTOP")
            .env_remove("DESKTOP_SESSION")
            .env_remove("KDE_FULL_SESSION")
            .env_remove("GNOME_DESKTOP_SESSION_ID")
            .envs(setup.env.iter().map(|(k, v)| (k, v)))
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(desktop) = setup.current_desktop {
            driver.env("XDG_CURRENT_DESKTOP", desktop);
        }
        let driver = driver.spawn().expect("tauri-driver is not installed (scripts/install-deps installs it)");
        // tauri-driver accepts sessions before its WebKitWebDriver listens: wait for that.
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", native)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(15), "WebKitWebDriver did not start (webkit2gtk-driver)");
            std::thread::sleep(Duration::from_millis(50));
        }
        let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots").join(name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self {
            dir,
            app,
            sandbox,
            user,
            display,
            driver_url: format!("http://127.0.0.1:{port}"),
            children: vec![driver, trayer, wm, xvfb],
            shots,
            step: AtomicU32::new(0),
            http,
        }
    }

    pub async fn session(&self) -> Session {
        Session::start(&self.driver_url, self.app.to_str().unwrap(), &[]).await.expect("WebDriver session")
    }

    /// Keeps a screenshot of the window and one of the whole screen (tray included).
    pub async fn shot(&self, session: Option<&Session>, step: &str) {
        let n = self.step.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(session) = session {
            std::fs::write(self.shots.join(format!("{n:02}-{step}.png")), session.screenshot().await).unwrap();
        }
        let screen = self.shots.join(format!("{n:02}-{step}-screen.png"));
        let _ = Command::new("import")
            .args(["-window", "root", screen.to_str().unwrap()])
            .env("DISPLAY", &self.display)
            .status();
    }

    /// Keeps a picture taken otherwise (e.g. [`Self::window_png`]) among the step's shots.
    pub fn keep(&self, step: &str, png: &[u8]) {
        let n = self.step.fetch_add(1, Ordering::SeqCst) + 1;
        std::fs::write(self.shots.join(format!("{n:02}-{step}.png")), png).unwrap();
    }

    pub fn x(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program).args(args).env("DISPLAY", &self.display).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn clipboard(&self) -> String {
        self.x("xclip", &["-o", "-selection", "clipboard"])
    }

    /// Opens the tray menu by clicking the icon in trayer.
    pub fn open_tray_menu(&self) {
        let started = Instant::now();
        loop {
            let ids = self.x("xdotool", &["search", "--class", "trayer"]);
            for id in ids.lines() {
                let geometry = self.x("xdotool", &["getwindowgeometry", "--shell", id]);
                let field = |k: &str| -> i32 {
                    geometry
                        .lines()
                        .find_map(|l| l.strip_prefix(&format!("{k}=")))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                let (x, y, w, h) = (field("X"), field("Y"), field("WIDTH"), field("HEIGHT"));
                if w >= 16 && h >= 16 {
                    let (cx, cy) = ((x + w - 16).to_string(), (y + h / 2).to_string());
                    self.x("xdotool", &["mousemove", &cx, &cy, "click", "3"]);
                    std::thread::sleep(Duration::from_millis(700));
                    return;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(15), "no tray icon appeared in trayer");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The app's window as X shows it, its inner part (no title bar), as a PNG.
    pub fn window_png(&self) -> Vec<u8> {
        let id = self.app_window();
        let out =
            Command::new("import").args(["-window", &id, "png:-"]).env("DISPLAY", &self.display).output().unwrap();
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The X window id of the app's window, once it is on the screen (the page may be
    /// ready a moment before the window is shown).
    pub fn app_window(&self) -> String {
        let started = Instant::now();
        loop {
            let ids = self.x("xdotool", &["search", "--onlyvisible", "--name", "^Spotoken$"]);
            if let Some(id) = ids.lines().last() {
                return id.to_string();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the app's window is not on the screen");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Resizes the app's window through the window manager, as a person dragging its
    /// corner would, and waits until the page has the new width. (WebKitWebDriver's
    /// screenshot never answers once the window was resized: take [`Self::window_png`].)
    pub async fn resize(&self, session: &Session, width: u32, height: u32) {
        let id = self.app_window();
        self.x("xdotool", &["windowsize", &id, &width.to_string(), &height.to_string()]);
        let started = Instant::now();
        loop {
            let inner = session.execute("return window.innerWidth;", serde_json::json!([])).await;
            if inner.ok().and_then(|v| v.as_u64()) == Some(u64::from(width)) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the window did not take the width {width}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The layout settles on the next frames.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.x("xdotool", &["key", key]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn keychain_entry(&self) -> Option<String> {
        let out = Command::new("secret-tool")
            .args(["lookup", "service", "spotoken", "username", &self.user.id])
            .output()
            .unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub async fn me_status(&self, token: &str) -> u16 {
        let url = format!("{}/v1/me", self.sandbox.url());
        self.http.get(url).bearer_auth(token).send().await.unwrap().status().as_u16()
    }

    /// The environment the last browser started with (the browser script writes it).
    pub fn browser_env(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("browser-env")).unwrap_or_default()
    }

    pub fn app_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("app.log")).unwrap_or_default()
    }

    /// Hands a `spotoken://` URL to the desktop, as a browser does: `xdg-open` (generic
    /// mode) finds the registered handler and launches the app with it.
    pub fn open_link(&self, url: &str) -> std::process::ExitStatus {
        self.desktop_command("xdg-open").arg(url).status().unwrap()
    }

    /// A command in this desktop's session: its display and its XDG folders.
    /// Where the app serves the agent's socket.
    pub fn agent_socket(&self) -> PathBuf {
        self.dir.path().join("run/spotoken/agent.sock")
    }

    pub fn desktop_command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("DISPLAY", &self.display)
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("SPOTOKEN_AGENT_SOCKET", self.agent_socket())
            .env_remove("XDG_CURRENT_DESKTOP")
            .env_remove("BROWSER")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// The desktop's default handler for `spotoken://`, as xdg-open finds it.
    pub fn default_handler(&self) -> String {
        let out = self
            .desktop_command("xdg-mime")
            .args(["query", "default", "x-scheme-handler/spotoken"])
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until the app has made itself the `spotoken://` handler.
    pub async fn wait_for_handler(&self) {
        self.wait_until("spotoken:// to be registered", Duration::from_secs(20), || {
            self.handler_entry().is_some() && self.default_handler() == "spotoken-handler.desktop"
        })
        .await;
    }

    /// The `spotoken://` handler entry the app registered, if any.
    pub fn handler_entry(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("data/applications/spotoken-handler.desktop")).ok()
    }

    /// The `spotoken` command line, built beside the app, against this desktop's
    /// sandbox and folders, started by `sh` as a script would start it.
    pub fn cli_from_shell(&self, args: &[&str]) -> Command {
        let mut cmd = self.desktop_command("sh");
        cmd.arg("-c")
            .arg(r#""$0" "$@"; status=$?; exit $status"#)
            .arg(CLI.as_path())
            .args(args)
            .env("SPOTOKEN_ACCOUNTS_URL", self.sandbox.url())
            .env("SPOTOKEN_API_URL", self.sandbox.url())
            // The command line's own path (its channels, its parent) is what these tests
            // look at, not the app's agent.
            .env("SPOTOKEN_AGENT", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts a notification daemon (dunst) on this desktop's display and the session
    /// bus, as a desktop has; it ends with the returned guard.
    pub fn notification_daemon(&self) -> NotificationDaemon {
        let child = Command::new("dunst")
            .env("DISPLAY", &self.display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dunst is not installed (scripts/install-deps installs it)");
        // Asked without starting anything: `dunstctl` would have D-Bus start a second
        // dunst (its service file) with no display.
        let owned = || ask_bus("NameHasOwner", "org.freedesktop.Notifications").contains("true");
        let started = Instant::now();
        while !owned() {
            assert!(started.elapsed() < Duration::from_secs(10), "dunst did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        NotificationDaemon { child }
    }

    pub async fn wait_until(&self, what: &str, timeout: Duration, check: impl Fn() -> bool) {
        let started = Instant::now();
        while !check() {
            assert!(started.elapsed() < timeout, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Asks the session bus itself (`org.freedesktop.DBus.METHOD NAME`, e.g. who owns a
/// name) without starting any service; its answer as gdbus prints it.
pub fn ask_bus(method: &str, name: &str) -> String {
    let out = Command::new("gdbus")
        .args(["call", "--session", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus"])
        .args(["--method", &format!("org.freedesktop.DBus.{method}"), name])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running dunst; stopped when dropped.
pub struct NotificationDaemon {
    child: Child,
}

impl NotificationDaemon {
    /// The summaries and bodies of every notification shown so far (those on screen are
    /// closed into the history first).
    pub fn shown(&self) -> String {
        let _ = Command::new("dunstctl").arg("close-all").status();
        std::thread::sleep(Duration::from_millis(300));
        let out = Command::new("dunstctl").arg("history").output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for NotificationDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ends every instance of the app binary at `app` (WebKitWebDriver's may outlive
/// tauri-driver, and an app left in the tray would take the next test's launch as its
/// second instance).
pub fn end_app_instances(app: &Path) {
    let app = app.to_str().unwrap();
    let running = || Command::new("pgrep").args(["-f", app]).output().map(|o| !o.stdout.is_empty()).unwrap_or(false);
    let _ = Command::new("pkill").args(["-f", app]).status();
    let started = Instant::now();
    while running() {
        if started.elapsed() > Duration::from_secs(3) {
            let _ = Command::new("pkill").args(["-9", "-f", app]).status();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the app would not quit");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let screen = self.shots.join("failure-screen.png");
            let _ = Command::new("import")
                .args(["-window", "root", screen.to_str().unwrap()])
                .env("DISPLAY", &self.display)
                .status();
            eprintln!("--- app and tauri-driver log ---\n{}\n--- end of log ---", self.app_log());
            for entry in std::fs::read_dir(self.dir.path()).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "log") && !path.ends_with("app.log") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    eprintln!("--- {} ---\n{text}\n--- end ---", path.display());
                }
            }
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        end_app_instances(&self.app);
    }
}
