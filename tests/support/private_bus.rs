//! A private D-Bus session bus for tests that need their own: with no Secret Service on
//! it (and none it may start), or with one of the test's choosing (gnome-keyring started
//! on demand, KeePassXC). Shared by the command line's tests and the desktop's.

use std::path::Path;
use std::time::Duration;

/// A session bus with no Secret Service on it, and no way to start one.
pub struct BareBus {
    child: std::process::Child,
    pub address: String,
    dir: tempfile::TempDir,
}

impl BareBus {
    pub fn start(with_activation: bool) -> Self {
        Self::start_on(with_activation, None)
    }

    /// With `display`, services the bus starts (gnome-keyring, its unlock prompter)
    /// show their windows there.
    pub fn start_on(with_activation: bool, display: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let services = if with_activation { "/usr/share/dbus-1/services" } else { "/nonexistent" };
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                "<busconfig><type>session</type><listen>unix:dir={}</listen><servicedir>{services}</servicedir>\
                 <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>\
                 <allow own=\"*\"/></policy></busconfig>",
                dir.path().display()
            ),
        )
        .unwrap();
        let mut daemon = std::process::Command::new("dbus-daemon");
        if let Some(display) = display {
            daemon.env("DISPLAY", display);
        } else {
            daemon.env_remove("DISPLAY");
        }
        let mut child = daemon
            .args(["--nofork", "--print-address", &format!("--config-file={}", config.display())])
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_RUNTIME_DIR", dir.path())
            .env("HOME", dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        Self { child, address: line.trim().to_string(), dir }
    }

    /// The home the bus gives the services it starts (their keyrings live there).
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// The process that owns `name` on this bus.
    pub fn owner_pid(&self, name: &str) -> Option<u32> {
        let mut channel = dbus::channel::Channel::open_private(&self.address).ok()?;
        channel.register().ok()?;
        let connection = dbus::blocking::Connection::from(channel);
        let proxy = connection.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", Duration::from_secs(2));
        let (pid,): (u32,) = proxy.method_call("org.freedesktop.DBus", "GetConnectionUnixProcessID", (name,)).ok()?;
        Some(pid)
    }
}

impl Drop for BareBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
