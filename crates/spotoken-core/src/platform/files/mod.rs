//! Private files and folders, the atomic replace, and whole-line appends.
//!
//! Unix: files 0600 and folders 0700, `rename(2)` replaces atomically, and a single
//! `write` to a file opened with `O_APPEND` lands whole at its end whoever else is
//! appending. Windows has none of these as such: its files take the folder's access
//! list, and Spotoken's folders are in the person's profile (`%APPDATA%`,
//! `%LOCALAPPDATA%`), whose list admits only that person, SYSTEM and the
//! administrators; a replace can be refused for a moment while another process reads
//! the file; and appends are made whole by a lock held around each one.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::Path;

#[cfg(unix)]
#[path = "unix.rs"]
mod os;
#[cfg(windows)]
#[path = "windows.rs"]
mod os;

/// Files only the person may read (`Private`) or that the desktop reads (`Shared`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Private,
    Shared,
}

/// Makes files opened with `options` private (or readable by all, for `Shared`).
pub fn file_access(options: &mut OpenOptions, visibility: Visibility) {
    os::file_access(options, visibility);
}

/// Makes folders created by `builder` private.
pub fn private_folders(builder: &mut DirBuilder) {
    os::private_folders(builder);
}

/// Puts `from` in place of `to` in one step: a reader sees the old file or the new one.
pub fn replace(from: &Path, to: &Path) -> io::Result<()> {
    os::replace(from, to)
}

/// Appends `line` to `file` (opened for appending, in the folder `dir`) in one piece,
/// however many processes append to it at once.
pub fn append_whole(file: &mut File, dir: &Path, line: &[u8]) -> io::Result<()> {
    os::append_whole(file, dir, line)
}

/// Tightens what earlier versions made too open: folders and the files in them.
pub fn tighten(dirs: &[&Path]) {
    os::tighten(dirs);
}
