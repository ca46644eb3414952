//! Requests to end the process: SIGINT, SIGTERM and SIGHUP on Unix; Ctrl-C, Ctrl-Break,
//! closing the console, logging off and shutting down on Windows.

#[cfg(unix)]
#[path = "unix.rs"]
mod os;
#[cfg(windows)]
#[path = "windows.rs"]
mod os;

/// Calls `on_request` on the current tokio runtime for each request to end, with the
/// exit code the process should end with for it (128 + the signal on Unix;
/// `STATUS_CONTROL_C_EXIT` on Windows, as a console program ended by Ctrl-C reports).
pub fn listen(on_request: fn(i32)) {
    os::listen(on_request);
}
