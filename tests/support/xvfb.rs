//! Xvfb for the tests that need an X display: the desktop tests here and the unlock
//! prompt tests of the command line (`crates/spotoken-cli/tests/support` includes this
//! file), so both find a free display and clean up after a server the same way.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether X display `:n` can be taken: no lock, or a lock left by an X server that is
/// gone (its socket and lock are removed then).
pub fn display_free(n: u32) -> bool {
    let (lock, socket) = (format!("/tmp/.X{n}-lock"), format!("/tmp/.X11-unix/X{n}"));
    match std::fs::read_to_string(&lock) {
        Err(_) => !Path::new(&socket).exists(),
        Ok(pid) => {
            let alive = pid.trim().parse::<u32>().is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                let _ = std::fs::remove_file(&lock);
                let _ = std::fs::remove_file(&socket);
            }
            !alive
        }
    }
}

/// Starts Xvfb on the first free display in `displays` with a screen of `screen`
/// (`1280x860x24`); returns the server and its display name (`:90`).
pub fn start_xvfb(displays: std::ops::Range<u32>, screen: &str) -> (Child, String) {
    for n in displays {
        if !display_free(n) {
            continue;
        }
        let mut child = Command::new("Xvfb")
            .args([&format!(":{n}"), "-screen", "0", screen, "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is not installed (scripts/install-deps installs it)");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (child, format!(":{n}"));
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("no free X display for Xvfb");
}

/// Ends a server with SIGTERM, so it removes its own lock and socket; SIGKILL after 5 s.
pub fn stop_politely(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
