//! Where tokens and what is known about accounts are kept.
//!
//! Tokens go to the OS keychain ([`keychain`]) or, where the person chose it, to files
//! encrypted with age ([`encrypted`]), both behind [`tokens::TokenStore`]; the
//! non-secret facts about each account go to a JSON file ([`accounts`]); `lock` keeps
//! processes from refreshing the same account at once. There is no plaintext fallback
//! for tokens, and no silent fallback from one store to the other, on purpose.

pub mod accounts;
pub mod encrypted;
pub mod keychain;
pub(crate) mod lock;
/// Which keychain answers (its own module: errors and their fixes name it).
pub use crate::provider;
pub(crate) mod quota;
pub mod tokens;

use crate::error::{Error, Result};
use crate::platform::files;
use std::io::Write;
use std::path::Path;

/// Where tokens are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The OS keychain: the Secret Service on Linux, Credential Manager, the macOS
    /// Keychain.
    SecretService,
    /// Files encrypted with age ([`encrypted`]).
    EncryptedFile,
}

impl StoreKind {
    /// `SPOTOKEN_STORE` for this run, else the settings' `store`, else the keychain.
    pub fn chosen(from_settings: Option<&str>) -> crate::error::Result<Self> {
        Self::from_choices(std::env::var("SPOTOKEN_STORE").ok().as_deref(), from_settings)
    }

    /// The store `SPOTOKEN_STORE` (`from_env`; empty is unset) or else the settings name.
    fn from_choices(from_env: Option<&str>, from_settings: Option<&str>) -> crate::error::Result<Self> {
        let from_env = from_env.filter(|s| !s.trim().is_empty());
        match from_env.or(from_settings).map(str::trim) {
            None | Some("secret-service" | "keychain") => Ok(Self::SecretService),
            Some("encrypted-file") => Ok(Self::EncryptedFile),
            Some(other) => Err(crate::error::Error::StoreUnknown(other.to_string())),
        }
    }
}

/// Who may read a file Spotoken writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Settings, account records, locks: they name the account, the Client ID and the
    /// scopes. Files 0600, folders 0700.
    Private,
    /// Desktop entries, which the desktop reads as the person: files 0644.
    Desktop,
}

impl Access {
    fn visibility(self) -> files::Visibility {
        match self {
            Self::Private => files::Visibility::Private,
            Self::Desktop => files::Visibility::Shared,
        }
    }
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never
/// half, and no other user can read it (how, on each OS: [`crate::platform::files`]).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file(path, bytes, Access::Private)
}

/// `write_atomically` for a file the desktop reads as the person (a desktop entry,
/// 0644; its folder made as any other): for `spotoken-desktop`.
pub fn write_desktop_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file(path, bytes, Access::Desktop)
}

/// [`write_atomically`] with the given access. The temporary file has an
/// unpredictable name and is created exclusively (`O_EXCL`), so nothing planted at a
/// guessable path (a symlink to another file, say) is ever written through.
pub(crate) fn write_file(path: &Path, bytes: &[u8], access: Access) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    match access {
        Access::Private => create_private_dir(dir)?,
        Access::Desktop => std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?,
    }
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    remove_stale_temporaries(dir, file_name);
    let tmp = dir.join(format!(".{file_name}.{}.{:016x}.tmp", std::process::id(), unpredictable()));
    let result = (|| {
        let mut options = std::fs::File::options();
        options.write(true).create_new(true);
        files::file_access(&mut options, access.visibility());
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        files::replace(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(Error::io("write", path))
}

/// Creates `dir` (and missing parents) readable by the person only.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    files::private_folders(&mut builder);
    builder.create(dir).map_err(Error::io("create", dir))
}

/// Whether files can be written in `dir` now (created if missing): a probe file is made
/// and removed. Before a login sends anyone to Spotify, so a folder that cannot take the
/// account is found first, not after the consent.
pub(crate) fn check_writable(dir: &Path) -> Result<()> {
    create_private_dir(dir)?;
    let probe = dir.join(format!(".write-probe.{}", std::process::id()));
    open_private(&probe).map_err(Error::io("write in", dir))?;
    std::fs::remove_file(&probe).map_err(Error::io("remove a probe file in", dir))
}

/// Opens (creating if needed) a lock file readable by the person only.
pub(crate) fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::File::options();
    options.create(true).truncate(false).write(true);
    files::file_access(&mut options, files::Visibility::Private);
    options.open(path)
}

/// Temporaries of `file_name` left by a writer that died, older than a few minutes (a
/// live writer renames its own within milliseconds).
fn remove_stale_temporaries(dir: &Path, file_name: &str) {
    let prefix = format!(".{file_name}.");
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(&prefix) || !name.ends_with(".tmp") {
            continue;
        }
        // symlink_metadata: a planted symlink is removed, never followed.
        let old = entry
            .path()
            .symlink_metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            // `>=` would differ only for a temporary exactly 600 s old to the nanosecond.
            .is_some_and(|age| age > std::time::Duration::from_secs(600));
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// 64 bits nobody can guess from outside the process (std's per-process random keys):
/// names of temporaries, the deep-link self-test's nonce. Not for secrets.
pub fn unpredictable() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.finish()
}

/// Makes Spotoken's folders 0700 and its files 0600, for installs made before they
/// were created that way. Missing paths are skipped.
pub(crate) fn tighten(dirs: &[&Path]) {
    files::tighten(dirs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_while_another_process_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spotoken/settings.toml");
        write_atomically(&path, b"old").unwrap();
        // Opened as Spotoken's own readers open it (std shares read, write and delete),
        // and held for a while. Linux replaces at once; Windows 10 and later too (POSIX
        // rename semantics); older Windows and Wine refuse until the reader closes, and
        // the replace waits for that.
        replace_while_held(&path, std::fs::File::open(&path).unwrap());
    }

    /// Writes `path` anew while `reader` holds it open for 300 ms; checks the new
    /// content is there and returns how long the write took.
    fn replace_while_held(path: &Path, reader: std::fs::File) -> std::time::Duration {
        let started = std::time::Instant::now();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(reader);
        });
        write_atomically(path, b"new").unwrap();
        let took = started.elapsed();
        release.join().unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap(), "new");
        took
    }

    /// A reader that does not share delete (a virus scanner, an editor) holds the
    /// replace back on Windows: it waits, then goes through.
    #[cfg(windows)]
    #[test]
    fn a_replace_waits_for_a_reader_that_does_not_share() {
        use std::os::windows::fs::OpenOptionsExt;
        const FILE_SHARE_READ: u32 = 1;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spotoken/settings.toml");
        write_atomically(&path, b"old").unwrap();
        let reader = std::fs::File::options().read(true).share_mode(FILE_SHARE_READ).open(&path).unwrap();
        let took = replace_while_held(&path, reader);
        assert!(took >= std::time::Duration::from_millis(250), "it waited for the reader: {took:?}");
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_and_a_planted_symlink_is_never_written_through() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("data/spotoken");
        let path = home.join("accounts.json");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        // The name the old code used, planted.
        std::fs::create_dir_all(&home).unwrap();
        let planted = home.join(format!(".accounts.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();

        write_atomically(&path, b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!path.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
        assert_eq!(path.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        let fresh_home = dir.path().join("config/spotoken");
        write_atomically(&fresh_home.join("settings.toml"), b"").unwrap();
        assert_eq!(fresh_home.metadata().unwrap().permissions().mode() & 0o777, 0o700);

        // An old leftover temporary is cleaned; a fresh one (a live writer's) is not.
        let stale = home.join(".accounts.json.1.00.tmp");
        std::fs::write(&stale, "x").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options().write(true).open(&stale).unwrap().set_modified(old).unwrap();
        let fresh = home.join(".accounts.json.2.00.tmp");
        std::fs::write(&fresh, "y").unwrap();
        // Old files that are not its temporaries are not its to remove.
        let others = [home.join(".accounts.json.backup"), home.join(".settings.toml.3.tmp"), home.join("x.tmp")];
        for other in &others {
            std::fs::write(other, "z").unwrap();
            std::fs::File::options().write(true).open(other).unwrap().set_modified(old).unwrap();
        }
        write_atomically(&path, b"{}").unwrap();
        assert!(!stale.exists() && fresh.exists());
        assert!(others.iter().all(|o| o.exists()), "only the file's own temporaries go");
    }

    #[test]
    fn a_folder_that_cannot_take_files_is_found_by_the_check() {
        let dir = tempfile::tempdir().unwrap();
        check_writable(&dir.path().join("new/folder")).unwrap();
        assert!(dir.path().join("new/folder").is_dir(), "created");
        assert_eq!(std::fs::read_dir(dir.path().join("new/folder")).unwrap().count(), 0, "the probe is gone");
        // A file where the folder should be, and a probe's name taken by a folder: both
        // refused (whatever the permissions, so also for root).
        std::fs::write(dir.path().join("file"), "").unwrap();
        assert!(check_writable(&dir.path().join("file")).is_err());
        assert!(check_writable(&dir.path().join("file/below")).is_err());
        let taken = dir.path().join("taken");
        std::fs::create_dir_all(taken.join(format!(".write-probe.{}", std::process::id()))).unwrap();
        assert!(check_writable(&taken).is_err());
    }

    #[test]
    fn the_store_is_the_environments_then_the_settings_then_the_keychain() {
        let chosen = |env, settings| StoreKind::from_choices(env, settings).map_err(|e| e.to_string());
        assert_eq!(chosen(None, None), Ok(StoreKind::SecretService));
        assert_eq!(chosen(None, Some("encrypted-file")), Ok(StoreKind::EncryptedFile));
        assert_eq!(chosen(Some(" encrypted-file\n"), None), Ok(StoreKind::EncryptedFile));
        assert_eq!(chosen(Some("keychain"), Some("encrypted-file")), Ok(StoreKind::SecretService));
        assert_eq!(chosen(Some("secret-service"), Some("encrypted-file")), Ok(StoreKind::SecretService));
        // An empty SPOTOKEN_STORE is unset: the settings decide.
        assert_eq!(chosen(Some("  "), Some("encrypted-file")), Ok(StoreKind::EncryptedFile));
        let unknown = chosen(Some("plaintext"), None).unwrap_err();
        assert!(unknown.contains("plaintext"), "{unknown}");
        assert!(chosen(None, Some("")).is_err(), "an empty store setting is not a store");
    }

    #[cfg(unix)]
    #[test]
    fn existing_files_are_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("spotoken");
        std::fs::create_dir_all(home.join("locks")).unwrap();
        std::fs::write(home.join("settings.toml"), "").unwrap();
        std::fs::write(home.join("locks/a.lock"), "").unwrap();
        for p in [home.clone(), home.join("locks")] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for p in [home.join("settings.toml"), home.join("locks/a.lock")] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        tighten(&[&home, &dir.path().join("missing")]);
        let mode = |p: &Path| p.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&home), 0o700);
        assert_eq!(mode(&home.join("locks")), 0o700);
        assert_eq!(mode(&home.join("settings.toml")), 0o600);
        assert_eq!(mode(&home.join("locks/a.lock")), 0o600);
    }
}
