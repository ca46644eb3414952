//! The app on native Wayland, as a person on sway has it: a headless sway with waybar
//! hosting the tray (StatusNotifierItem over D-Bus), the person's gnome-keyring, the app
//! started by the compositor straight into the tray. "Copy access token" is clicked
//! through the tray's D-Bus menu (what waybar does on a click) and the clipboard is read
//! back with wl-paste, another Wayland client; then a `spotoken://` link goes through
//! `xdg-open` to the running app, as a browser on sway hands it. sway refuses to run as root, so as root
//! this runs as a dedicated user (`spotoken-e2e`, created if missing).
// The app on headless sway: Linux only.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use spotify_sandbox::{Sandbox, SandboxConfig, User};
use std::path::Path;
use std::process::Command;

const APP: &str = env!("CARGO_BIN_EXE_spotoken-app");
const USER: &str = "spotoken-e2e";

fn run(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).status().is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tray_copies_a_token_on_sway_with_waybar() {
    let user = User { id: format!("wayland-{}", std::process::id()), display_name: "Way Land".into() };
    let sandbox = Sandbox::start(SandboxConfig { user: user.clone(), ..Default::default() }, 0).await.unwrap();
    let cli_built = Path::new(APP).with_file_name("spotoken");
    assert!(
        cli_built.exists(),
        "build the command line first (cargo test --workspace builds it): {}",
        cli_built.display()
    );

    let dir = tempfile::Builder::new().prefix("spotoken-wayland").tempdir().unwrap();
    let out = dir.path();
    for sub in ["home", "run", "config", "data", "state"] {
        std::fs::create_dir_all(out.join(sub)).unwrap();
    }
    std::fs::write(
        out.join("browser.sh"),
        "#!/bin/sh\n# The CLI's browser: consent, then follow Spotify's redirect to the loopback listener.\n\
         loc=$(curl -s -o /dev/null -w '%{redirect_url}' \"$1\")\ncurl -s \"$loc\" >/dev/null\n",
    )
    .unwrap();
    std::fs::set_permissions(out.join("browser.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        out.join("sway.conf"),
        format!(
            "xwayland disable\noutput HEADLESS-1 resolution 1280x800\nexec waybar -c {0}/waybar.json\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::write(
        out.join("waybar.json"),
        r#"{"layer": "top", "position": "top", "height": 30, "modules-right": ["tray", "clock"], "tray": {"spacing": 8}}"#,
    )
    .unwrap();
    // Copies the ordinary user can run wherever this checkout lives (root's home is 0700).
    let script = out.join("wayland-session.sh");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/wayland-session.sh"), &script).unwrap();
    let (app, cli) = (out.join("spotoken-app"), out.join("spotoken"));
    std::fs::copy(APP, &app).unwrap();
    std::fs::copy(&cli_built, &cli).unwrap();

    let as_root = std::env::var("USER").as_deref() == Ok("root")
        || Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut session = if as_root {
        if !run("id", &["-u", USER]) {
            assert!(run("useradd", &["--create-home", "--shell", "/bin/sh", USER]), "cannot create the user {USER}");
        }
        assert!(run("chown", &["-R", USER, out.to_str().unwrap()]));
        assert!(run("chmod", &["0755", out.to_str().unwrap()]));
        let mut c = Command::new("runuser");
        c.args(["-u", USER, "--", "env", "-i"]);
        c
    } else {
        let mut c = Command::new("env");
        c.arg("-i");
        c
    };
    std::fs::set_permissions(out.join("run"), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let vars = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_string()),
        ("HOME", out.join("home").display().to_string()),
        ("XDG_RUNTIME_DIR", out.join("run").display().to_string()),
        ("XDG_CONFIG_HOME", out.join("config").display().to_string()),
        ("XDG_DATA_HOME", out.join("data").display().to_string()),
        ("XDG_STATE_HOME", out.join("state").display().to_string()),
        ("SPOTOKEN_ACCOUNTS_URL", sandbox.url()),
        ("SPOTOKEN_API_URL", sandbox.url()),
        ("CLIENT_ID", spotify_sandbox::DEMO_CLIENT_ID.to_string()),
        ("OUT", out.display().to_string()),
        ("APP", app.display().to_string()),
        ("CLI", cli.display().to_string()),
    ];
    for (k, v) in &vars {
        session.arg(format!("{k}={v}"));
    }
    session.args(["dbus-run-session", "--", "sh", script.to_str().unwrap()]);
    let output = tokio::task::spawn_blocking(move || session.output()).await.unwrap().unwrap();
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    let report = format!(
        "session stderr:\n{}\n--- login.err ---\n{}\n--- app.log ---\n{}\n--- sway.log (tail) ---\n{}",
        String::from_utf8_lossy(&output.stderr),
        read("login.err"),
        read("app.log"),
        read("sway.log").lines().rev().take(15).collect::<Vec<_>>().join("\n")
    );
    assert!(output.status.success(), "{report}");

    // The clipboard holds a working token, read by another Wayland client.
    let copied = read("clipboard");
    assert!(copied.starts_with("BQ"), "{report}");
    let http = reqwest::Client::new();
    let me = http.get(format!("{}/v1/me", sandbox.url())).bearer_auth(&copied).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 200);
    // Straight into the tray: no window; the menu line carries the expiry.
    let tree = read("tree.json");
    assert!(!tree.contains("\"app_id\": \"spotoken-app\""), "a window opened: {tree}");
    let menu = read("menu.txt");
    assert!(menu.contains("Way Land: token valid until"), "{menu}");
    println!(
        "copied through waybar's D-Bus menu on sway and read back with wl-paste; menu line: {}",
        menu.split('\'').find(|s| s.starts_with("Way Land")).unwrap_or_default()
    );
    // The link xdg-open handed over reached the running app (and, with no login
    // waiting, was refused without its query reaching the log).
    let log = read("app.log");
    assert!(log.contains("deep link refused") && log.contains("login_not_pending"), "{report}");
    assert!(!log.contains("WAYLAND-CODE") && !log.contains("WAYLAND-STATE"), "a link's query reached the log");
    // Nothing secret in the app's log.
    assert!(log.contains("access token copied to the clipboard"), "{report}");
    for secret in sandbox.secrets() {
        assert!(!log.contains(&secret), "a secret reached the app's log");
    }
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screenshots/wayland");
    std::fs::create_dir_all(&shots).unwrap();
    let _ = std::fs::copy(out.join("screen.png"), shots.join("01-sway-waybar-tray.png"));
    // The window, opened from the tray on native Wayland, painted with no GL driver in
    // the app.
    assert!(!read("app.pid").trim().is_empty(), "{report}");
    assert_eq!(read("gl-maps.txt"), "", "the app loaded a GL driver on Wayland");
    let window = std::fs::metadata(out.join("window.png")).map(|m| m.len()).unwrap_or(0);
    assert!(window > 0, "no screenshot of the window on sway");
    let _ = std::fs::copy(out.join("window.png"), shots.join("02-sway-window.png"));
    // Closed, it restarted itself tray-only in the same process, and the new tray item
    // copies a working token.
    assert_eq!(read("app-after.pid"), read("app.pid"), "the restart is not the same process");
    let log = read("app.log");
    assert!(log.contains("restarted as a tray-only process"), "{report}");
    let again = read("clipboard-after");
    assert!(again.starts_with("BQ"), "{report}");
    let me = http.get(format!("{}/v1/me", sandbox.url())).bearer_auth(&again).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 200);
    for secret in sandbox.secrets() {
        assert!(!log.contains(&secret), "a secret reached the app's log");
    }
}
