//! Windows: the profile's access list, a replace that waits out readers, appends under
//! a lock (`LockFileEx`, through `File::lock`).

use super::Visibility;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

pub fn file_access(_options: &mut OpenOptions, _visibility: Visibility) {
    // A new file takes its folder's access list; Spotoken's folders are in the
    // person's profile, which only they, SYSTEM and the administrators can read.
}

pub fn private_folders(_builder: &mut DirBuilder) {
    // As files: the profile's access list is inherited.
}

/// How long a replace waits for readers that hold the file without delete sharing
/// (other programs: a virus scanner, an editor; Spotoken's own readers share).
const REPLACE_PATIENCE: Duration = Duration::from_secs(2);

pub fn replace(from: &Path, to: &Path) -> io::Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match std::fs::rename(from, to) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied && started.elapsed() < REPLACE_PATIENCE => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

pub fn append_whole(file: &mut File, dir: &Path, line: &[u8]) -> io::Result<()> {
    // Appends are not atomic here: each is made under an exclusive lock on a file of
    // its own (locking the record itself would make readers fail while it is held).
    let lock_path = dir.join(".append.lock");
    let lock = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
    lock.lock()?;
    let written = file.write_all(line).and_then(|()| file.flush());
    drop(lock);
    written
}

pub fn tighten(_dirs: &[&Path]) {
    // Nothing earlier versions made is more open than the profile's access list.
}
