//! Unix: modes, `rename(2)`, one `write` on `O_APPEND`.

use super::Visibility;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub fn file_access(options: &mut OpenOptions, visibility: Visibility) {
    options.mode(if visibility == Visibility::Private { 0o600 } else { 0o644 });
}

pub fn private_folders(builder: &mut DirBuilder) {
    builder.mode(0o700);
}

pub fn replace(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::rename(from, to)
}

pub fn append_whole(file: &mut File, _dir: &Path, line: &[u8]) -> io::Result<()> {
    // One write: O_APPEND puts it whole at the end, whoever else is writing.
    file.write_all(line)
}

pub fn tighten(dirs: &[&Path]) {
    // Only what differs is changed. (Were the comparison's `&` an `|` or `^`, or every
    // entry that is no folder taken for a file, modes would be set that are already so,
    // or a socket made 0600: the same folders and files in the end.)
    let set = |path: &Path, mode: u32| {
        if let Ok(meta) = path.symlink_metadata()
            && !meta.file_type().is_symlink()
            && meta.permissions().mode() & 0o777 != mode
        {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        }
    };
    for dir in dirs {
        set(dir, 0o700);
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let path = entry.path();
                match entry.file_type() {
                    Ok(t) if t.is_dir() => {
                        set(&path, 0o700);
                        stack.push(path);
                    }
                    Ok(t) if t.is_file() => set(&path, 0o600),
                    _ => {}
                }
            }
        }
    }
}
