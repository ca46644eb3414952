//! An advisory lock per account, shared by every Spotoken process and thread.
//!
//! Refreshing is single-flight: whoever holds the lock refreshes, and everyone else
//! waits, then re-reads the store and finds a fresh token. The lock is `flock` on a
//! file opened anew for each acquisition, so it excludes threads of one process as
//! well as other processes, and the kernel drops it if a holder dies.

use crate::error::{Error, Result};
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Held while refreshing one account; released on drop.
#[derive(Debug)]
pub struct AccountLock {
    _file: File,
}

impl AccountLock {
    /// Waits up to `timeout` for the lock on `account`.
    pub async fn acquire(locks_dir: &Path, account: &str, timeout: Duration) -> Result<Self> {
        super::create_private_dir(locks_dir)?;
        let path = lock_path(locks_dir, account);
        let file = super::open_private(&path).map_err(Error::io("open", &path))?;
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(5);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(pause).await;
                    // Only how often it looks (`pause / 2` would look more often).
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::LockTimeout(account.to_string()));
                }
                Err(TryLockError::Error(e)) => return Err(Error::io("lock", &path)(e)),
            }
        }
    }
}

/// A short blocking lock around a read-modify-write of a shared file.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    pub(crate) fn exclusive(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            super::create_private_dir(dir)?;
        }
        let file = super::open_private(path).map_err(Error::io("open", path))?;
        file.lock().map_err(Error::io("lock", path))?;
        Ok(Self { _file: file })
    }
}

fn lock_path(dir: &Path, account: &str) -> PathBuf {
    // Spotify ids are [A-Za-z0-9._-]; anything else is replaced so a name cannot escape.
    let safe: String =
        account.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    dir.join(format!("{safe}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_and_then_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let first = AccountLock::acquire(dir.path(), "alice", Duration::from_secs(1)).await.unwrap();
        let second = AccountLock::acquire(dir.path(), "alice", Duration::from_millis(100)).await;
        assert!(matches!(second, Err(Error::LockTimeout(ref a)) if a == "alice"));
        // Other accounts are not held up.
        AccountLock::acquire(dir.path(), "bob", Duration::from_millis(100)).await.unwrap();
        drop(first);
        AccountLock::acquire(dir.path(), "alice", Duration::from_millis(100)).await.unwrap();
    }

    #[test]
    fn account_names_cannot_escape_the_folder() {
        let path = lock_path(Path::new("/locks"), "../../etc/passwd");
        assert_eq!(path, Path::new("/locks/.._.._etc_passwd.lock"));
    }
}
