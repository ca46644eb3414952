//! Where the engine keeps tokens, as the engine sees it: the OS keychain
//! ([`super::keychain::Keychain`]) in every front end, [`MemoryStore`] in engine tests
//! that need no Secret Service (the keychain itself is tested through the command line
//! and the app).

use super::keychain::{Repair, StoredTokens};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A place for each account's tokens.
pub trait TokenStore: std::fmt::Debug + Send + Sync {
    /// Can take tokens now (a login checks this before sending anyone to Spotify).
    fn check_ready(&self) -> Result<()>;
    /// `Error::KeychainEntryMissing` when the account has none.
    fn read(&self, account: &str) -> Result<StoredTokens>;
    /// [`Self::read`], where a store that can hold several entries for one account keeps
    /// the newest (by `newest_refresh`, the accounts file's fingerprint, among equals),
    /// removes the others and says so.
    fn read_repairing(&self, account: &str, newest_refresh: Option<&str>) -> Result<(StoredTokens, Option<Repair>)> {
        let _ = newest_refresh;
        self.read(account).map(|tokens| (tokens, None))
    }
    fn write(&self, account: &str, tokens: &StoredTokens) -> Result<()>;
    /// Everything a write needs but the write, done before a refresh is sent, so storing
    /// Spotify's answer is one step ([`PreparedStore::commit`]).
    fn prepare_write(&self, account: &str) -> Result<Box<dyn PreparedStore>>;
    /// `Ok(false)` when there was nothing to delete.
    fn delete(&self, account: &str) -> Result<bool>;
    /// The same store for a person who can answer an unlock prompt (longer waits), if
    /// that makes a difference here.
    fn for_a_person(&self) -> Option<Arc<dyn TokenStore>> {
        None
    }
}

/// A write made ready by [`TokenStore::prepare_write`].
pub trait PreparedStore: std::fmt::Debug + Send + Sync {
    fn commit(&self, tokens: &StoredTokens) -> Result<()>;
}

/// Tokens in memory only, for tests of the engine.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    entries: Arc<Mutex<HashMap<String, StoredTokens>>>,
}

impl MemoryStore {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredTokens>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TokenStore for MemoryStore {
    fn check_ready(&self) -> Result<()> {
        Ok(())
    }

    fn read(&self, account: &str) -> Result<StoredTokens> {
        self.entries().get(account).cloned().ok_or_else(|| Error::KeychainEntryMissing(account.to_string()))
    }

    fn write(&self, account: &str, tokens: &StoredTokens) -> Result<()> {
        self.entries().insert(account.to_string(), tokens.clone());
        Ok(())
    }

    fn prepare_write(&self, account: &str) -> Result<Box<dyn PreparedStore>> {
        Ok(Box::new(MemoryWrite { store: self.clone(), account: account.to_string() }))
    }

    fn delete(&self, account: &str) -> Result<bool> {
        Ok(self.entries().remove(account).is_some())
    }
}

#[derive(Debug)]
struct MemoryWrite {
    store: MemoryStore,
    account: String,
}

impl PreparedStore for MemoryWrite {
    fn commit(&self, tokens: &StoredTokens) -> Result<()> {
        self.store.write(&self.account, tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::secret::Secret;

    #[test]
    fn the_memory_store_keeps_replaces_and_deletes() {
        let store = MemoryStore::default();
        let tokens = |access: &str| StoredTokens {
            access_token: Secret::of(access.into()),
            refresh_token: None,
            access_expires_at: Timestamp(2),
            obtained_at: Timestamp(1),
        };
        assert!(matches!(store.read("ann"), Err(Error::KeychainEntryMissing(_))));
        store.prepare_write("ann").unwrap().commit(&tokens("BQ1")).unwrap();
        store.write("ann", &tokens("BQ2")).unwrap();
        assert_eq!(store.read("ann").unwrap(), tokens("BQ2"));
        assert_eq!(store.read_repairing("ann", None).unwrap(), (tokens("BQ2"), None));
        assert!(store.delete("ann").unwrap());
        assert!(!store.delete("ann").unwrap());
        assert!(matches!(store.read("ann"), Err(Error::KeychainEntryMissing(_))));
    }
}
