//! Where the engine keeps tokens, as the engine sees it: the OS keychain
//! ([`super::keychain::Keychain`]) in every front end, [`MemoryStore`] in engine tests
//! that need no Secret Service (the keychain itself is tested through the command line
//! and the app).

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::secret::{AccessToken, RefreshToken};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a store holds for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTokens {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub access_expires_at: Timestamp,
    /// When this access token was obtained.
    pub obtained_at: Timestamp,
}

/// How the stored form begins (version 3, one line).
const FORMAT_V3: &str = "spotoken-tokens v3";
/// Version 2's first line (one `key=value` per line after it).
const FORMAT_V2: &str = "spotoken-tokens v2";
/// Between the fields of version 3.
const SEPARATOR: char = ';';

impl StoredTokens {
    /// The stored form: `spotoken-tokens v3;access_token=…;refresh_token=…;
    /// access_expires_at=…;obtained_at=…` on one line, with no `{` or `}` anywhere.
    /// - One line: gnome-keyring writes a keyring without a password (an unencrypted
    ///   one, as autologin desktops make) as a text file, a secret's line breaks as they
    ///   are, and reads back only its first line when it starts again. Version 2's
    ///   lines lost everything but `spotoken-tokens v2` at a restart
    ///   ([`StoredTokens::is_cut`]).
    /// - No braces: KeePassXC resolves `{…}` placeholders in the secrets it hands out
    ///   (it logged "Maximum depth of replacement" over version 1's JSON).
    /// - No backslash: that file's reader takes `\n` and the like for escapes.
    ///
    /// Tokens are base64url text, so no value has any of these (checked, never assumed).
    pub(crate) fn to_text(&self) -> Result<String> {
        let mut fields = vec![FORMAT_V3.to_string(), format!("access_token={}", self.access_token.secret())];
        if let Some(refresh) = &self.refresh_token {
            fields.push(format!("refresh_token={}", refresh.secret()));
        }
        fields.push(format!("access_expires_at={}", self.access_expires_at.0));
        fields.push(format!("obtained_at={}", self.obtained_at.0));
        let values = std::iter::once(self.access_token.secret()).chain(self.refresh_token.as_ref().map(|r| r.secret()));
        for value in values {
            if value.contains(|c: char| c.is_whitespace() || c.is_control() || "{};\\".contains(c)) {
                return Err(Error::Keychain("Spotify sent a token with characters Spotoken does not store".into()));
            }
        }
        Ok(fields.join(&SEPARATOR.to_string()))
    }

    /// Version 2's entry with nothing after its first line: what gnome-keyring gives
    /// back of it after a restart when the keyring has no password (see
    /// [`StoredTokens::to_text`]). The tokens are gone.
    pub(crate) fn is_cut(text: &str) -> bool {
        text.trim() == FORMAT_V2
    }

    /// Reads the stored form, version 2's lines, or version 1's JSON.
    pub(crate) fn from_text(text: &str) -> Result<Self> {
        if text.trim_start().starts_with('{') {
            return Self::from_json(text);
        }
        let pairs: Vec<&str> = if let Some(rest) = text.strip_prefix(FORMAT_V3) {
            match rest.strip_prefix(SEPARATOR) {
                Some(rest) => rest.split(SEPARATOR).collect(),
                None => return Err(Error::Keychain("the stored entry is not Spotoken's format".into())),
            }
        } else {
            let mut lines = text.lines();
            if lines.next() != Some(FORMAT_V2) {
                return Err(Error::Keychain("the stored entry is not Spotoken's format".into()));
            }
            lines.filter(|l| !l.is_empty()).collect()
        };
        let mut fields = std::collections::HashMap::new();
        for pair in pairs {
            // Say only where it broke, never what the field holds.
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| Error::Keychain("the stored entry has a field that is not key=value".into()))?;
            fields.insert(key, value);
        }
        let time = |key: &str| {
            fields
                .get(key)
                .and_then(|v| v.parse::<i64>().ok())
                .map(Timestamp)
                .ok_or_else(|| Error::Keychain(format!("the stored entry has no valid {key}")))
        };
        Ok(Self {
            access_token: AccessToken::from(
                fields
                    .get("access_token")
                    .ok_or_else(|| Error::Keychain("the stored entry has no access_token".into()))?
                    .to_string(),
            ),
            refresh_token: fields.get("refresh_token").map(|t| RefreshToken::from(t.to_string())),
            access_expires_at: time("access_expires_at")?,
            obtained_at: time("obtained_at")?,
        })
    }

    /// Version 1: a JSON object.
    fn from_json(text: &str) -> Result<Self> {
        #[derive(serde::Deserialize)]
        struct Raw {
            access_token: String,
            refresh_token: Option<String>,
            access_expires_at: Timestamp,
            obtained_at: Timestamp,
        }
        // serde's message could quote a value; say only where it broke.
        let raw: Raw = serde_json::from_str(text).map_err(|e| {
            Error::Keychain(format!(
                "the stored entry is not Spotoken's format (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        Ok(Self {
            access_token: AccessToken::from(raw.access_token),
            refresh_token: raw.refresh_token.map(RefreshToken::from),
            access_expires_at: raw.access_expires_at,
            obtained_at: raw.obtained_at,
        })
    }
}

/// What a read did when a store (the keychain) held several entries for one account: a crash
/// of the keychain in the middle of a write, an older version, a keyring file restored
/// from a backup, or the same entry in another collection. The newest is kept
/// ([`newest_of`]), the others removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repair {
    /// Entries found for the account.
    pub found: usize,
    /// Entries removed (every one but the kept one, unless a removal failed).
    pub removed: usize,
}

impl Repair {
    /// In words, for the activity record and the log.
    pub fn describe(&self) -> String {
        let failed = self.found - 1 - self.removed;
        let mut text =
            format!("{} entries held tokens for this account; kept the newest, removed {}", self.found, self.removed);
        if failed > 0 {
            text.push_str(&format!(" ({failed} could not be removed and will be tried again)"));
        }
        text
    }
}

/// Which of several entries for one account to keep: the one with the newest access
/// token (`obtained_at` grows with every refresh and sign-in); among equals, the one
/// whose refresh token the accounts file names as the newest (`newest_refresh`, a
/// [`crate::secret::fingerprint`]). The accounts file is written just after the
/// keychain, so after a crash between the two it can name an older refresh token than
/// the newest entry holds: the time decides first. `None` for an entry that is not
/// Spotoken's format; `None` back when no entry is.
pub fn newest_of(entries: &[Option<StoredTokens>], newest_refresh: Option<&str>) -> Option<usize> {
    let named = |t: &StoredTokens| {
        newest_refresh.is_some_and(|f| t.refresh_token.as_ref().is_some_and(|r| crate::secret::fingerprint(r) == f))
    };
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.as_ref().map(|t| (i, t)))
        .max_by_key(|(i, t)| (t.obtained_at, named(t), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
}

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
    /// The same store, calling `on_waiting` when it seems to wait for the person to
    /// unlock it, if it can.
    fn telling_when_waiting(&self, on_waiting: super::keychain::WaitingHook) -> Option<Arc<dyn TokenStore>> {
        let _ = on_waiting;
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
    use crate::secret::Secret;

    #[test]
    fn the_stored_form_round_trips_has_no_braces_and_debug_is_redacted() {
        let tokens = StoredTokens {
            access_token: Secret::of("BQ-access".into()),
            refresh_token: Some(Secret::of("AQ-refresh".into())),
            access_expires_at: Timestamp(2_000),
            obtained_at: Timestamp(1_000),
        };
        let text = tokens.to_text().unwrap();
        assert_eq!(
            text,
            "spotoken-tokens v3;access_token=BQ-access;refresh_token=AQ-refresh;access_expires_at=2000;obtained_at=1000"
        );
        assert!(!text.contains(['{', '}', '\n']), "{text}");
        assert_eq!(StoredTokens::from_text(&text).unwrap(), tokens);
        // Version 2's lines still read.
        let v2 = "spotoken-tokens v2\naccess_token=BQ-access\nrefresh_token=AQ-refresh\naccess_expires_at=2000\n\
                  obtained_at=1000\n";
        assert_eq!(StoredTokens::from_text(v2).unwrap(), tokens);
        assert!(!StoredTokens::is_cut(v2) && !StoredTokens::is_cut(&text));
        // What a passwordless gnome-keyring gives back of version 2 after a restart.
        assert!(StoredTokens::is_cut("spotoken-tokens v2") && StoredTokens::is_cut("spotoken-tokens v2\n"));
        assert!(StoredTokens::from_text("spotoken-tokens v2").is_err());
        // Not version 3 without its separator.
        assert!(StoredTokens::from_text("spotoken-tokens v3access_token=BQ-access").is_err());
        let without = StoredTokens { refresh_token: None, ..tokens.clone() };
        assert_eq!(StoredTokens::from_text(&without.to_text().unwrap()).unwrap(), without);
        // Version 1's JSON still reads.
        let v1 = r#"{"v":1,"access_token":"BQ-access","refresh_token":"AQ-refresh","access_expires_at":2000,"obtained_at":1000}"#;
        assert_eq!(StoredTokens::from_text(v1).unwrap(), tokens);
        // A token with a brace or a line break is refused, not stored half.
        let odd = StoredTokens { access_token: Secret::of("BQ{x}".into()), ..tokens.clone() };
        assert!(odd.to_text().is_err());
        for odd in ["BQ\nrefresh_token=AQ-evil", "BQ;refresh_token=AQ-evil", "BQ\\n", "BQ x", "BQ\r"] {
            let bad_access = StoredTokens { access_token: Secret::of(odd.into()), ..tokens.clone() };
            assert!(bad_access.to_text().is_err(), "{odd:?}");
            let bad_refresh = StoredTokens { refresh_token: Some(Secret::of(odd.into())), ..tokens.clone() };
            assert!(bad_refresh.to_text().is_err(), "{odd:?}");
        }
        let debug = format!("{tokens:?}");
        assert!(!debug.contains("BQ-access") && !debug.contains("AQ-refresh"), "{debug}");
    }

    #[test]
    fn of_several_entries_the_newest_is_kept() {
        let entry = |refresh: &str, obtained: i64| {
            Some(StoredTokens {
                access_token: Secret::of(format!("BQ-{refresh}")),
                refresh_token: Some(Secret::of(refresh.into())),
                access_expires_at: Timestamp(obtained + 3600),
                obtained_at: Timestamp(obtained),
            })
        };
        let named = |refresh: &str| crate::secret::fingerprint(&RefreshToken::of(refresh.into()));
        // The newest access token wins, whatever the accounts file names (it is written
        // after the keychain and can be one refresh behind).
        let entries = [entry("AQ-old", 100), entry("AQ-new", 200), None];
        assert_eq!(newest_of(&entries, None), Some(1));
        assert_eq!(newest_of(&entries, Some(&named("AQ-old"))), Some(1));
        // Among equals the named refresh token wins, wherever it is.
        let tied = [entry("AQ-a", 100), entry("AQ-b", 100), entry("AQ-c", 100)];
        assert_eq!(newest_of(&tied, Some(&named("AQ-b"))), Some(1));
        assert_eq!(newest_of(&tied, Some(&named("AQ-c"))), Some(2));
        // Nothing named: the first of equals.
        assert_eq!(newest_of(&tied, None), Some(0));
        assert_eq!(newest_of(&tied, Some(&named("AQ-gone"))), Some(0));
        // No entry in Spotoken's format: none to keep.
        assert_eq!(newest_of(&[None, None], None), None);
        assert_eq!(newest_of(&[], None), None);
    }

    #[test]
    fn a_repair_says_what_it_did() {
        assert_eq!(
            Repair { found: 3, removed: 2 }.describe(),
            "3 entries held tokens for this account; kept the newest, removed 2"
        );
        assert_eq!(
            Repair { found: 3, removed: 1 }.describe(),
            "3 entries held tokens for this account; kept the newest, removed 1 (1 could not be removed and will be \
             tried again)"
        );
    }

    #[test]
    fn a_foreign_entry_is_reported_without_its_content() {
        let err = StoredTokens::from_text("{\"access_token\": 5, \"x\": \"hunter2\"}").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        let err = StoredTokens::from_text("spotoken-tokens v2\nhunter2\n").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        let err = StoredTokens::from_text("spotoken-tokens v3;hunter2").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

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
