//! How the window is drawn: without a GPU, and without probing for one.
//!
//! The window is a form and a few cards. Asking for a GPU is what costs: on X11 GTK makes
//! a GLX context when it opens the display, and WebKit opens an EGL display when it
//! starts a web process (to find the GPU's device for DMA-BUF buffers). Each loads the
//! GL driver, and Mesa's is linked with LLVM, about 20 MB of relocated data per process
//! (scripts/bench-app: the app process 84 MB with them, 55 MB without; the tray-only
//! process loses the same). Three variables, read by GTK and WebKit and by no public
//! API, turn the probing off:
//!
//! - `GDK_GL=disable`: GTK makes no GL context (nothing in the app draws with GL);
//! - `WEBKIT_DISABLE_DMABUF_RENDERER=1`: the web process hands its frames over in shared
//!   memory, not DMA-BUF (also the known cure for WebKitGTK's blank windows on some GPUs);
//! - `WEBKIT_WEB_RENDER_DEVICE_FILE=/dev/null`: answers WebKit's question for the GPU's
//!   device without an EGL display. It names no GPU, and with no DMA-BUF renderer none is
//!   opened.
//!
//! A variable the person already set is left as it is. `SPOTOKEN_GPU=1` sets none of
//! them and leaves WebKit's hardware acceleration on its default. (On Linux only; other
//! systems set none.)

use std::sync::OnceLock;

/// Turns the probing off: `SPOTOKEN_GPU=1` leaves everything as it is.
const GPU_VAR: &str = "SPOTOKEN_GPU";

#[cfg(target_os = "linux")]
const SOFTWARE_ONLY: [(&str, &str); 3] =
    [("GDK_GL", "disable"), ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"), ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/null")];

/// The variables this process set (not ones it was given).
static SET_HERE: OnceLock<Vec<&'static str>> = OnceLock::new();

/// Whether the person asked for WebKit's GPU paths (`SPOTOKEN_GPU=1`).
pub fn gpu_allowed() -> bool {
    std::env::var(GPU_VAR).is_ok_and(|v| v.trim() == "1")
}

/// Sets the variables above before GTK starts. It must run first in `main`, while the
/// process has one thread: the environment is changed in place, and nothing can be
/// reading it yet.
pub fn software_only() {
    #[cfg(target_os = "linux")]
    let set_here = if gpu_allowed() {
        Vec::new()
    } else {
        SOFTWARE_ONLY
            .iter()
            .filter(|(name, _)| std::env::var_os(name).is_none())
            .filter(|(name, value)| gtk::glib::setenv(name, value, false).is_ok())
            .map(|(name, _)| *name)
            .collect()
    };
    #[cfg(not(target_os = "linux"))]
    let set_here = Vec::new();
    let _ = SET_HERE.set(set_here);
}

/// The variables this process set for itself. A program it starts (a browser, the
/// desktop's opener, its own tray-only restart) does not get them: they are this
/// window's choice, not the person's.
pub fn set_here() -> &'static [&'static str] {
    SET_HERE.get().map_or(&[], Vec::as_slice)
}

/// `command` without the variables this process set for itself (see [`set_here`]).
pub fn withhold(command: &mut std::process::Command) -> &mut std::process::Command {
    for name in set_here() {
        command.env_remove(name);
    }
    command
}
