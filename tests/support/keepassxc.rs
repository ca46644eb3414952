//! KeePassXC as the Secret Service, for the command line's tests and the desktop's:
//! Debian's `keepassxc` on an X display, owning the Secret Service on a private session
//! bus, with a database made by `keepassxc-cli` that exposes its root group (exported to
//! XML, `FDO_SECRETS_EXPOSED_GROUP` added to its custom data, imported again: the
//! command line has no switch for it). Its unlock window is answered as a person would,
//! with the keyboard (xdotool); `keepassxc --lock` locks it.

use super::private_bus::BareBus;
use super::xvfb::{start_xvfb, stop_politely};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "spotoken-keepassxc";
const UNLOCK_WINDOW: &str = "Unlock Database - KeePassXC";

/// A display, a private bus with no service files (nothing but KeePassXC can answer as
/// the Secret Service), and KeePassXC on them with its database unlocked.
pub struct KeePassXc {
    /// Started once the rest is in place.
    app: Option<Child>,
    /// Its own display, when it was not given one.
    xvfb: Option<Child>,
    pub display: String,
    pub bus: BareBus,
    home: tempfile::TempDir,
    database: PathBuf,
}

impl KeePassXc {
    /// On a display and bus of its own. `exposed`: the database exposes its root group
    /// to the Secret Service.
    pub fn start(exposed: bool) -> Self {
        let (xvfb, display) = start_xvfb(260..310, "1024x768x24");
        let bus = BareBus::start_on(false, Some(&display));
        Self::start_with(bus, display, Some(xvfb), exposed)
    }

    /// On `display` (a desktop's), owning the Secret Service on `bus`.
    pub fn start_on(bus: BareBus, display: &str, exposed: bool) -> Self {
        Self::start_with(bus, display.to_string(), None, exposed)
    }

    fn start_with(bus: BareBus, display: String, xvfb: Option<Child>, exposed: bool) -> Self {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join("config/keepassxc");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::create_dir_all(home.path().join("run")).unwrap();
        // Secret Service on; no confirmation per item read or deleted; no update check.
        std::fs::write(
            config.join("keepassxc.ini"),
            "[General]\nConfigVersion=2\nUpdateCheckMessageShown=true\n\n[GUI]\nCheckForUpdates=false\n\n\
             [FdoSecrets]\nEnabled=true\nConfirmAccessItem=false\nConfirmDeleteItem=false\nShowNotification=false\n",
        )
        .unwrap();
        let database = make_database(home.path(), exposed);
        let mut kp = Self { app: None, xvfb, display, bus, home, database };
        kp.app = Some(kp.launch());
        kp
    }

    /// The environment KeePassXC and its command line share (its single-instance socket
    /// lives under these folders).
    fn env(&self, cmd: &mut Command) {
        cmd.env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus.address)
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("XDG_DATA_HOME", self.home.path().join("data"))
            .env("XDG_RUNTIME_DIR", self.home.path().join("run"))
            .env("QT_QPA_PLATFORM", "xcb");
    }

    fn launch(&self) -> Child {
        let log = std::fs::File::create(self.log_path()).unwrap();
        let mut cmd = Command::new("keepassxc");
        self.env(&mut cmd);
        let mut app = cmd
            .arg("--pw-stdin")
            .arg(&self.database)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("keepassxc is not installed (scripts/install-deps --for-tests installs it)");
        {
            use std::io::Write;
            writeln!(app.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        }
        let started = Instant::now();
        while self.bus.owner_pid("org.freedesktop.secrets").is_none() {
            assert!(started.elapsed() < Duration::from_secs(30), "KeePassXC did not take the Secret Service");
            std::thread::sleep(Duration::from_millis(100));
        }
        // Owned once the integration starts; the database opens a moment later.
        std::thread::sleep(Duration::from_millis(1500));
        app
    }

    fn log_path(&self) -> PathBuf {
        self.home.path().join("keepassxc.log")
    }

    /// What KeePassXC printed (its warnings).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn on_bus(&self) -> [(&str, &str); 1] {
        [("DBUS_SESSION_BUS_ADDRESS", self.bus.address.as_str())]
    }

    pub fn lock(&self) {
        let mut cmd = Command::new("keepassxc");
        self.env(&mut cmd);
        assert!(cmd.arg("--lock").stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap().success());
        std::thread::sleep(Duration::from_millis(700));
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool").args(args).env("DISPLAY", &self.display).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The unlock windows on the screen.
    pub fn unlock_windows(&self) -> usize {
        self.xdotool(&["search", "--onlyvisible", "--name", &format!("^{UNLOCK_WINDOW}$")]).lines().count()
    }

    /// Waits for KeePassXC's unlock window and types the password into it (or presses
    /// Escape), as a person would.
    pub async fn answer_unlock(&self, password: Option<&str>) {
        let started = Instant::now();
        while self.unlock_windows() == 0 {
            assert!(started.elapsed() < Duration::from_secs(20), "KeePassXC showed no unlock window");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let window = self.xdotool(&["search", "--onlyvisible", "--name", &format!("^{UNLOCK_WINDOW}$")]);
        let window = window.lines().next().unwrap().to_string();
        self.xdotool(&["windowactivate", "--sync", &window]);
        match password {
            Some(password) => {
                self.xdotool(&["type", "--delay", "20", password]);
                self.xdotool(&["key", "Return"]);
            }
            None => {
                self.xdotool(&["key", "Escape"]);
            }
        }
    }
}

impl Drop for KeePassXc {
    fn drop(&mut self) {
        if let Some(app) = &mut self.app {
            let _ = app.kill();
            let _ = app.wait();
        }
        if let Some(xvfb) = &mut self.xvfb {
            stop_politely(xvfb);
        }
    }
}

/// A new database in `dir`, its root group exposed to the Secret Service if `exposed`.
fn make_database(dir: &Path, exposed: bool) -> PathBuf {
    let cli = |args: &[&str], input: String| {
        let mut child = Command::new("keepassxc-cli")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("keepassxc-cli is not installed (scripts/install-deps --for-tests installs it)");
        {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "keepassxc-cli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let twice = format!("{PASSWORD}\n{PASSWORD}\n");
    let plain = dir.join("plain.kdbx");
    cli(&["db-create", "--set-password", "--decryption-time", "100", plain.to_str().unwrap()], twice.clone());
    if !exposed {
        return plain;
    }
    let xml = cli(&["export", "--format", "xml", plain.to_str().unwrap()], format!("{PASSWORD}\n"));
    // The root group's UUID, base64 in the XML, braced hex where KeePassXC names it.
    let root = xml.split("<Root>").nth(1).unwrap();
    let b64 = root.split("<UUID>").nth(1).unwrap().split("</UUID>").next().unwrap();
    let bytes = base64_decode(b64);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!("{{{}-{}-{}-{}-{}}}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
    let custom = format!(
        "<CustomData><Item><Key>FDO_SECRETS_EXPOSED_GROUP</Key><Value>{uuid}</Value></Item></CustomData></Meta>"
    );
    let xml = xml.replacen("</Meta>", &custom, 1);
    let xml_path = dir.join("exposed.xml");
    std::fs::write(&xml_path, xml).unwrap();
    let exposed = dir.join("exposed.kdbx");
    cli(&["import", "--set-password", xml_path.to_str().unwrap(), exposed.to_str().unwrap()], twice);
    std::fs::remove_file(xml_path).unwrap();
    exposed
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        acc = (acc << 6) | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
