//! The non-secret facts about each account, in `accounts.json` in the data folder.
//!
//! Kept here rather than in the keychain so `status` works without touching secrets
//! (and while the keychain is locked). Every change is a read-modify-write under a file
//! lock, written atomically, so processes working on different accounts never undo each
//! other's updates.

use super::lock::FileLock;
use crate::clock::Timestamp;
use crate::diagnose::Diagnosis;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Spotify ends refresh tokens this many months after the person authorized.
pub const REFRESH_TOKEN_MONTHS: u32 = 6;

/// What Spotoken knows about one signed-in account. No secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The account's key: the Spotify user id, or `user@client` (the first 8 characters
    /// of the Client ID) for the same person signed in through a second Client ID. It
    /// names the keychain entry and the lock; it never changes once given.
    pub id: String,
    /// The Spotify user id. Records written before several Client IDs per person were
    /// possible lack it: their `id` is the user id ([`AccountRecord::user`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_id: String,
    pub display_name: Option<String>,
    pub client_id: crate::client_id::ClientId,
    pub requested_scopes: Vec<String>,
    pub granted_scopes: Vec<String>,
    pub access_expires_at: Timestamp,
    /// When the person consented; the refresh token dies 6 months later.
    pub authorized_at: Timestamp,
    pub last_refresh_at: Option<Timestamp>,
    /// Set once Spotify has said the refresh token is dead; no request uses it again.
    pub needs_sign_in: bool,
    /// Spotify's words when it refused the refresh token.
    #[serde(default)]
    pub sign_in_reason: Option<String>,
    pub last_error: Option<Diagnosis>,
    pub last_error_at: Option<Timestamp>,
    /// [`crate::secret::fingerprint`] of the newest refresh token Spotify gave us: a
    /// refused token that matches it was not lost to a crash, so its refusal is news.
    #[serde(default)]
    pub refresh_fingerprint: Option<String>,
}

impl AccountRecord {
    pub fn refresh_expires_at(&self) -> Timestamp {
        self.authorized_at.plus_months(REFRESH_TOKEN_MONTHS)
    }

    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.id)
    }

    /// The Spotify user id.
    pub fn user(&self) -> &str {
        if self.user_id.is_empty() { &self.id } else { &self.user_id }
    }

    /// The key for `user` signing in through `client_id`, given the accounts there are:
    /// the user id, unless another Client ID already holds it for this user.
    pub fn key_for(user: &str, client_id: &crate::client_id::ClientId, known: &[AccountRecord]) -> String {
        if let Some(same) = known.iter().find(|a| a.user() == user && a.client_id == *client_id) {
            return same.id.clone();
        }
        if known.iter().any(|a| a.id == user || a.user() == user) {
            format!("{user}@{}", client_id.short())
        } else {
            user.to_string()
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AccountsFile {
    version: u32,
    accounts: Vec<AccountRecord>,
}

/// The accounts file and its lock.
#[derive(Debug, Clone)]
pub struct AccountStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl AccountStore {
    pub fn new(path: PathBuf, lock_path: PathBuf) -> Self {
        Self { path, lock_path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All accounts, in the order they were added.
    pub fn load(&self) -> Result<Vec<AccountRecord>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice::<AccountsFile>(&bytes)
                .map(|f| f.accounts)
                .map_err(|e| Error::Settings { path: self.path.clone(), reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io("read", &self.path)(e)),
        }
    }

    pub fn get(&self, id: &str) -> Result<AccountRecord> {
        self.load()?.into_iter().find(|a| a.id == id).ok_or_else(|| Error::UnknownAccount(id.to_string()))
    }

    /// Applies `change` to the list under the lock and writes the result.
    pub fn update<T>(&self, change: impl FnOnce(&mut Vec<AccountRecord>) -> T) -> Result<T> {
        let _lock = FileLock::exclusive(&self.lock_path)?;
        let mut accounts = self.load()?;
        let out = change(&mut accounts);
        let file = AccountsFile { version: 1, accounts };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| Error::Settings { path: self.path.clone(), reason: e.to_string() })?;
        super::write_atomically(&self.path, &bytes)?;
        Ok(out)
    }

    /// Inserts `record`, or replaces the account with the same id in place.
    pub fn upsert(&self, record: AccountRecord) -> Result<()> {
        self.update(|accounts| match accounts.iter_mut().find(|a| a.id == record.id) {
            Some(existing) => *existing = record,
            None => accounts.push(record),
        })
    }

    /// Changes one account; `UnknownAccount` if it is gone.
    pub fn modify(&self, id: &str, change: impl FnOnce(&mut AccountRecord)) -> Result<()> {
        self.update(|accounts| accounts.iter_mut().find(|a| a.id == id).map(change))?
            .ok_or_else(|| Error::UnknownAccount(id.to_string()))
    }

    /// Removes one account; `Ok(false)` if it was not there.
    pub fn remove(&self, id: &str) -> Result<bool> {
        self.update(|accounts| {
            let before = accounts.len();
            accounts.retain(|a| a.id != id);
            accounts.len() != before
        })
    }
}

/// An account record for tests (here and, with the `fixtures` feature, other crates').
#[cfg(any(test, feature = "fixtures"))]
pub fn sample(id: &str) -> AccountRecord {
    AccountRecord {
        id: id.to_string(),
        user_id: String::new(),
        display_name: Some(format!("{id} name")),
        client_id: crate::client_id::ClientId::parse("0123456789abcdef0123456789abcdef")
            .unwrap_or_else(|_| unreachable!()),
        requested_scopes: vec!["user-read-private".into()],
        granted_scopes: vec!["user-read-private".into()],
        access_expires_at: Timestamp(1_000),
        authorized_at: Timestamp(0),
        last_refresh_at: None,
        needs_sign_in: false,
        sign_in_reason: None,
        last_error: None,
        last_error_at: None,
        refresh_fingerprint: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_modify_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = AccountStore::new(dir.path().join("data/accounts.json"), dir.path().join("state/accounts.lock"));
        assert!(store.load().unwrap().is_empty());
        store.upsert(sample("alice")).unwrap();
        store.upsert(sample("bob")).unwrap();
        store.modify("alice", |a| a.needs_sign_in = true).unwrap();
        let mut again = sample("bob");
        again.display_name = Some("Bobby".into());
        store.upsert(again).unwrap();
        let ids: Vec<_> = store.load().unwrap().into_iter().map(|a| (a.id, a.needs_sign_in, a.display_name)).collect();
        assert_eq!(
            ids,
            [("alice".into(), true, Some("alice name".into())), ("bob".into(), false, Some("Bobby".into()))]
        );
        assert!(matches!(store.modify("carol", |_| ()), Err(Error::UnknownAccount(_))));
        assert!(store.remove("alice").unwrap());
        assert!(!store.remove("alice").unwrap());
        assert_eq!(store.load().unwrap().len(), 1);
    }

    #[test]
    fn only_a_missing_file_reads_as_no_accounts() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be: not "no accounts", an error.
        std::fs::create_dir_all(dir.path().join("accounts.json")).unwrap();
        let store = AccountStore::new(dir.path().join("accounts.json"), dir.path().join("accounts.lock"));
        assert!(store.load().is_err());
        std::fs::write(dir.path().join("broken.json"), "{").unwrap();
        let broken = AccountStore::new(dir.path().join("broken.json"), dir.path().join("accounts.lock"));
        assert!(matches!(broken.load(), Err(Error::Settings { .. })));
    }

    #[test]
    fn concurrent_updates_to_different_accounts_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = AccountStore::new(dir.path().join("accounts.json"), dir.path().join("accounts.lock"));
        std::thread::scope(|s| {
            for i in 0..8 {
                let store = store.clone();
                s.spawn(move || store.upsert(sample(&format!("user{i}"))).unwrap());
            }
        });
        assert_eq!(store.load().unwrap().len(), 8);
    }

    #[test]
    fn refresh_token_lifetime_is_six_calendar_months() {
        let mut record = sample("a");
        record.authorized_at = Timestamp(1_768_478_400); // 2026-01-15T12:00:00Z
        assert_eq!(record.refresh_expires_at().to_rfc3339(), "2026-07-15T12:00:00Z");
    }
}

#[cfg(test)]
mod keys {
    use super::*;
    use crate::client_id::ClientId;

    #[test]
    fn a_second_client_id_gets_its_own_key_and_the_first_keeps_the_user_id() {
        let first = AccountRecord { client_id: ClientId::parse(&"aaaaaaaa".repeat(4)).unwrap(), ..sample("ann") };
        assert_eq!(first.user(), "ann", "records from before user_id read their id");
        let known = vec![first.clone()];
        assert_eq!(AccountRecord::key_for("ann", &first.client_id, &known), "ann");
        let second = ClientId::parse(&"bbbbbbbb".repeat(4)).unwrap();
        assert_eq!(AccountRecord::key_for("ann", &second, &known), "ann@bbbbbbbb");
        assert_eq!(AccountRecord::key_for("bob", &second, &known), "bob");
        let both = vec![
            first,
            AccountRecord {
                id: "ann@bbbbbbbb".into(),
                user_id: "ann".into(),
                client_id: second.clone(),
                ..sample("x")
            },
        ];
        assert_eq!(AccountRecord::key_for("ann", &second, &both), "ann@bbbbbbbb", "signing in again keeps the key");
        // A user held only under a suffixed key, or a key that is the user's name for
        // someone else, still makes a third Client ID's key its own.
        let third = ClientId::parse(&"cccccccc".repeat(4)).unwrap();
        assert_eq!(AccountRecord::key_for("ann", &third, &both[1..]), "ann@cccccccc");
        let named_ann = AccountRecord { id: "ann".into(), user_id: "someone".into(), ..sample("x") };
        assert_eq!(AccountRecord::key_for("ann", &third, &[named_ann]), "ann@cccccccc");
        // Old files (no user_id) still load, and user_id is not written when empty.
        let text = serde_json::to_string(&sample("old")).unwrap();
        assert!(!text.contains("user_id"), "{text}");
        let back: AccountRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back.user(), "old");
    }
}
