//! Tokens in files encrypted with age, for machines with no keychain (a server, a
//! container, a systemd service): chosen explicitly (`store = "encrypted-file"` or
//! `SPOTOKEN_STORE=encrypted-file`), never a silent fallback.
//!
//! One file per account, `tokens/<account>.age` in the data folder, holding the same
//! stored form as a keychain entry, encrypted to the key's own recipient. The key is an
//! age X25519 identity in a file named by `SPOTOKEN_KEY_FILE`, or the systemd credential
//! `spotoken-key` (`$CREDENTIALS_DIRECTORY/spotoken-key`, from `LoadCredentialEncrypted=`).
//! The same guarantees as the keychain: the key is checked and the folder found writable
//! before a refresh is sent, and each write replaces the file atomically, fsynced, 0600.

use super::tokens::StoredTokens;
use super::tokens::{PreparedStore, TokenStore};
use crate::error::{Error, Result};
use age::secrecy::ExposeSecret;
use std::path::{Path, PathBuf};

/// The systemd credential's name.
pub const CREDENTIAL: &str = "spotoken-key";

/// The encrypted-file store.
#[derive(Debug, Clone)]
pub struct EncryptedFileStore {
    dir: PathBuf,
    key_file: Option<PathBuf>,
}

impl EncryptedFileStore {
    pub fn new(dir: PathBuf, key_file: Option<PathBuf>) -> Self {
        Self { dir, key_file }
    }

    /// In `data_dir/tokens`, the key from `SPOTOKEN_KEY_FILE`, else the systemd
    /// credential when the service was given one.
    pub fn from_env(data_dir: &Path) -> Self {
        Self::from_vars(data_dir, std::env::var_os("SPOTOKEN_KEY_FILE"), std::env::var_os("CREDENTIALS_DIRECTORY"))
    }

    /// `SPOTOKEN_KEY_FILE` (`named`) wins over the credential systemd put in
    /// `CREDENTIALS_DIRECTORY`, which counts only when it is there; empty is unset.
    fn from_vars(
        data_dir: &Path,
        named: Option<std::ffi::OsString>,
        credentials_dir: Option<std::ffi::OsString>,
    ) -> Self {
        let named = named.filter(|p| !p.is_empty()).map(PathBuf::from);
        let credential = credentials_dir
            .filter(|p| !p.is_empty())
            .map(|dir| PathBuf::from(dir).join(CREDENTIAL))
            .filter(|p| p.exists());
        Self::new(data_dir.join("tokens"), named.or(credential))
    }

    fn key_file(&self) -> Result<&Path> {
        self.key_file.as_deref().ok_or(Error::StoreKeyMissing)
    }

    fn identity(&self) -> Result<age::x25519::Identity> {
        let path = self.key_file()?;
        let unusable = |why: String| Error::StoreKeyUnusable { path: path.to_path_buf(), why };
        let text = std::fs::read_to_string(path).map_err(|e| unusable(e.to_string()))?;
        // age-keygen's files have comment lines; the key is the line that starts so.
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .ok_or_else(|| unusable("it holds no age identity (a line AGE-SECRET-KEY-1…)".into()))?;
        // Never say what the line held.
        line.parse::<age::x25519::Identity>().map_err(|_| unusable("its age identity is damaged".into()))
    }

    fn file(&self, account: &str) -> PathBuf {
        // Spotify ids are [A-Za-z0-9._-] (and `user@client`); anything else is replaced
        // so a name cannot leave the folder.
        let safe: String =
            account.chars().map(|c| if c.is_ascii_alphanumeric() || "._-@".contains(c) { c } else { '_' }).collect();
        self.dir.join(format!("{safe}.age"))
    }

    fn store(&self, account: &str, tokens: &StoredTokens, recipient: &age::x25519::Recipient) -> Result<()> {
        let text = crate::secret::Secret::new(tokens.to_text()?);
        let encrypted = age::encrypt(recipient, text.secret().as_bytes())
            .map_err(|e| Error::Keychain(format!("the tokens could not be encrypted: {e}")))?;
        super::write_atomically(&self.file(account), &encrypted)?;
        tracing::debug!("tokens written to the encrypted file");
        Ok(())
    }
}

/// Makes a new key file: an age identity, readable by its owner only. Refuses to
/// overwrite one.
pub fn make_key_file(path: &Path) -> Result<()> {
    let identity = age::x25519::Identity::generate();
    let text = format!(
        "# Spotoken's key for its encrypted-file token store (an age X25519 identity).\n# public key: {}\n{}\n",
        identity.to_public(),
        identity.to_string().expose_secret()
    );
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        super::create_private_dir(dir)?;
    }
    let mut options = std::fs::File::options();
    options.write(true).create_new(true);
    crate::platform::files::file_access(&mut options, crate::platform::files::Visibility::Private);
    let mut file = options.open(path).map_err(Error::io("create", path))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(Error::io("write", path))?;
    file.sync_all().map_err(Error::io("write", path))
}

impl TokenStore for EncryptedFileStore {
    fn check_ready(&self) -> Result<()> {
        self.identity()?;
        super::check_writable(&self.dir)
    }

    fn read(&self, account: &str) -> Result<StoredTokens> {
        let identity = self.identity()?;
        let file = self.file(account);
        let encrypted = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::KeychainEntryMissing(account.to_string()));
            }
            Err(e) => return Err(Error::io("read", &file)(e)),
        };
        let text = age::decrypt(&identity, &encrypted).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                Error::StoreKeyWrong { key: self.key_file.clone().unwrap_or_default(), file: file.clone() }
            }
            other => Error::Keychain(format!("{} is damaged: {other}", file.display())),
        })?;
        let text = crate::secret::Secret::new(
            String::from_utf8(text).map_err(|_| Error::Keychain(format!("{} is not Spotoken's", file.display())))?,
        );
        StoredTokens::from_text(text.secret())
    }

    fn write(&self, account: &str, tokens: &StoredTokens) -> Result<()> {
        let recipient = self.identity()?.to_public();
        self.store(account, tokens, &recipient)
    }

    fn prepare_write(&self, account: &str) -> Result<Box<dyn PreparedStore>> {
        // The key and the folder checked before Spotify is asked.
        let recipient = self.identity()?.to_public();
        super::check_writable(&self.dir)?;
        Ok(Box::new(PreparedFile { store: self.clone(), account: account.to_string(), recipient }))
    }

    fn delete(&self, account: &str) -> Result<bool> {
        let file = self.file(account);
        match std::fs::remove_file(&file) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("remove", &file)(e)),
        }
    }
}

struct PreparedFile {
    store: EncryptedFileStore,
    account: String,
    recipient: age::x25519::Recipient,
}

impl std::fmt::Debug for PreparedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedFile").field("account", &self.account).finish_non_exhaustive()
    }
}

impl PreparedStore for PreparedFile {
    fn commit(&self, tokens: &StoredTokens) -> Result<()> {
        self.store.store(&self.account, tokens, &self.recipient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::secret::Secret;

    fn tokens() -> StoredTokens {
        StoredTokens {
            access_token: Secret::of("BQ-access".into()),
            refresh_token: Some(Secret::of("AQ-refresh".into())),
            access_expires_at: Timestamp(2_000),
            obtained_at: Timestamp(1_000),
        }
    }

    #[test]
    fn tokens_round_trip_encrypted_and_a_wrong_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        make_key_file(&key).unwrap();
        assert!(make_key_file(&key).is_err(), "an existing key is never overwritten");
        let store = EncryptedFileStore::new(dir.path().join("tokens"), Some(key.clone()));
        store.check_ready().unwrap();
        assert!(matches!(store.read("ann"), Err(Error::KeychainEntryMissing(a)) if a == "ann"));
        store.prepare_write("ann").unwrap().commit(&tokens()).unwrap();
        assert_eq!(store.read("ann").unwrap(), tokens());
        let file = std::fs::read(dir.path().join("tokens/ann.age")).unwrap();
        assert!(!String::from_utf8_lossy(&file).contains("BQ-access"), "the file is encrypted");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| p.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("tokens/ann.age")), 0o600);
            assert_eq!(mode(&key), 0o600);
        }

        let other = dir.path().join("other-key");
        make_key_file(&other).unwrap();
        let wrong = EncryptedFileStore::new(dir.path().join("tokens"), Some(other));
        assert!(matches!(wrong.read("ann"), Err(Error::StoreKeyWrong { .. })));
        assert_eq!(store.read("ann").unwrap(), tokens(), "nothing was changed");

        assert!(store.delete("ann").unwrap());
        assert!(!store.delete("ann").unwrap());

        // Written directly (a sign-in), and what the prepared write shows of itself.
        store.write("bob", &tokens()).unwrap();
        assert_eq!(store.read("bob").unwrap(), tokens());
        let prepared = format!("{:?}", store.prepare_write("bob").unwrap());
        assert_eq!(prepared, "PreparedFile { account: \"bob\", .. }");
        // A file that cannot be read or removed is that, not a missing sign-in.
        std::fs::create_dir_all(dir.path().join("tokens/cy.age/inside")).unwrap();
        let unreadable = store.read("cy").unwrap_err();
        assert!(!matches!(unreadable, Error::KeychainEntryMissing(_)), "{unreadable:?}");
        let kept = store.delete("cy").unwrap_err();
        assert!(kept.to_string().contains("cy.age"), "{kept}");
    }

    #[test]
    fn the_key_is_the_named_file_else_systemds_credential_when_there() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let credentials = dir.path().join("credentials");
        std::fs::create_dir_all(&credentials).unwrap();
        let os = |p: &Path| Some(p.as_os_str().to_os_string());
        let key_of = |named, credentials_dir| EncryptedFileStore::from_vars(&data, named, credentials_dir).key_file;
        let named = dir.path().join("named-key");
        // The credential counts only once systemd has put it there.
        assert_eq!(key_of(None, os(&credentials)), None);
        assert_eq!(key_of(Some("".into()), Some("".into())), None, "empty is unset");
        std::fs::write(credentials.join(CREDENTIAL), "").unwrap();
        assert_eq!(key_of(None, os(&credentials)), Some(credentials.join(CREDENTIAL)));
        assert_eq!(key_of(Some("".into()), os(&credentials)), Some(credentials.join(CREDENTIAL)));
        assert_eq!(key_of(os(&named), os(&credentials)), Some(named.clone()), "the named file wins");
        assert_eq!(key_of(os(&named), None), Some(named));
        assert_eq!(EncryptedFileStore::from_vars(&data, None, None).dir, data.join("tokens"));
    }

    #[test]
    fn a_key_file_is_made_with_its_folder_private() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("new/folder/key");
        make_key_file(&key).unwrap();
        let text = std::fs::read_to_string(&key).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("AGE-SECRET-KEY-1")).count(), 1, "one identity");
        assert!(text.lines().any(|l| l.starts_with("# public key: age1")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(dir.path().join("new/folder").metadata().unwrap().permissions().mode() & 0o777, 0o700);
        }
    }

    #[test]
    fn a_missing_or_unusable_key_says_so_and_never_what_it_held() {
        let dir = tempfile::tempdir().unwrap();
        let none = EncryptedFileStore::new(dir.path().join("tokens"), None);
        assert!(matches!(none.check_ready(), Err(Error::StoreKeyMissing)));
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "AGE-SECRET-KEY-1HUNTER2\n").unwrap();
        let store = EncryptedFileStore::new(dir.path().join("tokens"), Some(bad));
        let err = store.check_ready().unwrap_err();
        assert!(matches!(err, Error::StoreKeyUnusable { .. }), "{err:?}");
        assert!(!err.to_string().contains("HUNTER2") && !err.diagnose().message.contains("HUNTER2"));
        let gone = EncryptedFileStore::new(dir.path().join("tokens"), Some(dir.path().join("nowhere")));
        assert!(matches!(gone.check_ready(), Err(Error::StoreKeyUnusable { .. })));
        // Account names cannot leave the folder.
        assert_eq!(none.file("../../etc/passwd"), dir.path().join("tokens/.._.._etc_passwd.age"));
    }
}
