//! Everything that differs between operating systems, one module per concern and a
//! file per OS behind one set of functions, so a reader finds all of one system's
//! behaviour by opening its files (the layout of Rust's own `std::sys`).
//!
//! - [`process`]: which program started this one (the activity record, ask before a
//!   new program) and how a child's end becomes an exit code.
//! - [`files`]: private files and folders, the atomic replace, and appends that many
//!   processes make to one file at once.
//! - [`signals`]: termination requests (signals on Unix, console control events on
//!   Windows) for [`crate::shutdown`].
//!
//! Concerns that belong to one part stay there, each behind its own seam: the
//! keychain's readiness (`store::keychain`), the wall-clock timer (`background`);
//! starting at login is the desktop's (`spotoken-desktop`'s `autostart`).
//! Supported: Linux, Windows, macOS. Another Unix builds with the macOS code where it
//! is plain Unix.

pub mod files;
pub mod process;
pub mod signals;
