//! Spotify's request quota, remembered per Client ID, in `quota.json` in the data folder.
//!
//! One developer account's quota is shared by every program that uses its Client IDs,
//! and Spotify's `QUOTA_EXCEEDED` answer can ask to wait 13 hours. What one
//! `spotoken api` learns is kept here so that `spotoken status`, the window and any
//! script can see it, and when it ends, before spending more. A call through the Client
//! ID that Spotify answers without a 429 clears it: the quota is back.

use super::lock::FileLock;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How long a quota answer without `Retry-After` is shown for: Spotify's window is
/// about a day.
pub const UNKNOWN_END_SHOWN_SECS: i64 = 24 * 3600;

/// One Client ID's used-up quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaNote {
    pub client_id: crate::client_id::ClientId,
    /// When Spotify said so.
    pub seen_at: Timestamp,
    /// When it ends, from `Retry-After`; `None` when Spotify did not say.
    pub until: Option<Timestamp>,
}

impl QuotaNote {
    /// Still in force at `now`.
    pub fn in_force(&self, now: Timestamp) -> bool {
        match self.until {
            Some(until) => until.0 > now.0,
            None => now.0 - self.seen_at.0 < UNKNOWN_END_SHOWN_SECS,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct QuotaFile {
    version: u32,
    client_ids: Vec<QuotaNote>,
}

/// The quota file and its lock.
#[derive(Debug, Clone)]
pub struct QuotaStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl QuotaStore {
    pub fn new(path: PathBuf, lock_path: PathBuf) -> Self {
        Self { path, lock_path }
    }

    /// Every note, in force or not. A file that cannot be read counts as none (it only
    /// ever adds information).
    pub fn load(&self) -> Vec<QuotaNote> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice::<QuotaFile>(&bytes).map(|f| f.client_ids).unwrap_or_else(|e| {
                tracing::warn!(error = %e, path = %self.path.display(), "the quota file is unreadable; ignored");
                Vec::new()
            }),
            Err(e) => {
                // Only what is logged depends on this test (a mutant of it is equivalent
                // to every test): no file and an unreadable one both count as no notes.
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, path = %self.path.display(), "cannot read the quota file");
                }
                Vec::new()
            }
        }
    }

    /// The note in force for `client_id` at `now`.
    pub fn in_force(&self, client_id: &str, now: Timestamp) -> Option<QuotaNote> {
        self.load().into_iter().find(|n| n.client_id == client_id && n.in_force(now))
    }

    /// Remembers that `client_id`'s quota is used up.
    pub fn note(&self, note: QuotaNote) -> Result<()> {
        self.update(|notes| {
            notes.retain(|n| n.client_id != note.client_id);
            notes.push(note);
            true
        })
    }

    /// Forgets `client_id`'s note (Spotify answered a call through it); writes only
    /// when there was one.
    pub fn clear(&self, client_id: &str) -> Result<()> {
        if !self.load().iter().any(|n| n.client_id == client_id) {
            return Ok(());
        }
        self.update(|notes| {
            let before = notes.len();
            notes.retain(|n| n.client_id != client_id);
            notes.len() != before
        })
    }

    /// Applies `change` under the lock; writes when it says something changed.
    fn update(&self, change: impl FnOnce(&mut Vec<QuotaNote>) -> bool) -> Result<()> {
        let _lock = FileLock::exclusive(&self.lock_path)?;
        let mut notes = self.load();
        if !change(&mut notes) {
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(&QuotaFile { version: 1, client_ids: notes })
            .map_err(|e| Error::Settings { path: self.path.clone(), reason: e.to_string() })?;
        super::write_atomically(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Client ID of one repeated character.
    fn id(c: &str) -> crate::client_id::ClientId {
        crate::client_id::ClientId::parse(&c.repeat(32)).unwrap()
    }

    fn store(dir: &tempfile::TempDir) -> QuotaStore {
        QuotaStore::new(dir.path().join("data/quota.json"), dir.path().join("state/quota.lock"))
    }

    #[test]
    fn a_note_is_kept_per_client_id_until_it_ends_or_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let quota = store(&dir);
        assert_eq!(quota.in_force(&id("a"), Timestamp(0)), None);
        quota.note(QuotaNote { client_id: id("a"), seen_at: Timestamp(100), until: Some(Timestamp(200)) }).unwrap();
        quota.note(QuotaNote { client_id: id("b"), seen_at: Timestamp(100), until: None }).unwrap();
        assert_eq!(quota.in_force(&id("a"), Timestamp(199)).map(|n| n.until), Some(Some(Timestamp(200))));
        assert_eq!(quota.in_force(&id("a"), Timestamp(200)), None, "ended");
        // No Retry-After: shown for a day.
        assert!(quota.in_force(&id("b"), Timestamp(100 + 23 * 3600)).is_some());
        assert!(quota.in_force(&id("b"), Timestamp(100 + UNKNOWN_END_SHOWN_SECS - 1)).is_some());
        assert!(quota.in_force(&id("b"), Timestamp(100 + UNKNOWN_END_SHOWN_SECS)).is_none());
        // A newer answer replaces the older one.
        quota.note(QuotaNote { client_id: id("a"), seen_at: Timestamp(150), until: Some(Timestamp(900)) }).unwrap();
        assert_eq!(quota.load().len(), 2);
        assert_eq!(quota.in_force(&id("a"), Timestamp(500)).map(|n| n.seen_at), Some(Timestamp(150)));
        quota.clear(&id("a")).unwrap();
        assert_eq!(quota.in_force(&id("a"), Timestamp(500)), None);
        assert_eq!(quota.load().len(), 1, "b is kept");
    }

    #[test]
    fn clearing_nothing_writes_nothing_and_a_broken_file_counts_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let quota = store(&dir);
        quota.clear(&id("a")).unwrap();
        assert!(!dir.path().join("data/quota.json").exists());
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/quota.json"), "{not json").unwrap();
        assert!(quota.load().is_empty());
        quota.note(QuotaNote { client_id: id("a"), seen_at: Timestamp(1), until: None }).unwrap();
        assert_eq!(quota.load().len(), 1);
    }
}
