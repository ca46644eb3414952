//! Tokens in the OS keychain: Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows, through the `keyring` crate.
//!
//! One entry per account (service `spotoken`, user = the Spotify user id) holds a small
//! JSON document with both tokens and the access token's expiry, so a reader always sees
//! a consistent pair. Every call runs on its own thread with a timeout: a locked
//! gnome-keyring waits forever on a password prompt that may be on no screen, and a hung
//! keychain must not hang Spotoken.

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::secret::Secret;
use std::sync::mpsc;
use std::time::Duration;

pub const SERVICE: &str = "spotoken";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the keychain holds for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTokens {
    pub access_token: Secret<String>,
    pub refresh_token: Option<Secret<String>>,
    pub access_expires_at: Timestamp,
    /// When this access token was obtained.
    pub obtained_at: Timestamp,
}

impl StoredTokens {
    fn to_json(&self) -> String {
        serde_json::json!({
            "v": 1,
            "access_token": self.access_token.secret(),
            "refresh_token": self.refresh_token.as_ref().map(|t| t.secret()),
            "access_expires_at": self.access_expires_at,
            "obtained_at": self.obtained_at,
        })
        .to_string()
    }

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
            access_token: Secret::new(raw.access_token),
            refresh_token: raw.refresh_token.map(Secret::new),
            access_expires_at: raw.access_expires_at,
            obtained_at: raw.obtained_at,
        })
    }
}

/// The OS keychain, seen through one service name.
#[derive(Debug, Clone)]
pub struct Keychain {
    service: String,
    timeout: Duration,
}

impl Default for Keychain {
    fn default() -> Self {
        Self::new(SERVICE, DEFAULT_TIMEOUT)
    }
}

impl Keychain {
    pub fn new(service: &str, timeout: Duration) -> Self {
        Self { service: service.to_string(), timeout }
    }

    /// Timeout from `SPOTOKEN_KEYCHAIN_TIMEOUT_SECS`, else [`DEFAULT_TIMEOUT`].
    pub fn from_env() -> Self {
        let timeout = std::env::var("SPOTOKEN_KEYCHAIN_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_TIMEOUT);
        Self::new(SERVICE, timeout)
    }

    #[tracing::instrument(skip(self))]
    pub fn read(&self, account: &str) -> Result<StoredTokens> {
        let text = self.call(account, |entry| entry.get_password()).map_err(|e| match e {
            Error::KeychainEntryMissing(_) => Error::KeychainEntryMissing(account.to_string()),
            other => other,
        })?;
        StoredTokens::from_json(&text)
    }

    #[tracing::instrument(skip_all, fields(account))]
    pub fn write(&self, account: &str, tokens: &StoredTokens) -> Result<()> {
        let text = tokens.to_json();
        self.call(account, move |entry| entry.set_password(&text))?;
        tracing::debug!("tokens written to the keychain");
        Ok(())
    }

    /// Removes the entry; `Ok(false)` if there was none.
    #[tracing::instrument(skip(self))]
    pub fn delete(&self, account: &str) -> Result<bool> {
        match self.call(account, |entry| entry.delete_credential()) {
            Ok(()) => Ok(true),
            Err(Error::KeychainEntryMissing(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn call<T, F>(&self, account: &str, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&keyring::Entry) -> keyring::Result<T> + Send + 'static,
    {
        let (service, user) = (self.service.clone(), account.to_string());
        let (tx, rx) = mpsc::sync_channel(1);
        // A hung call keeps its thread; the caller moves on with an error.
        std::thread::Builder::new()
            .name("keychain".into())
            .spawn(move || {
                let result = keyring::Entry::new(&service, &user).and_then(|entry| op(&entry));
                let _ = tx.send(result);
            })
            .map_err(|e| Error::Keychain(format!("cannot start a thread: {e}")))?;
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result.map_err(|e| classify(account, e, self.timeout)),
            Err(_) => {
                tracing::warn!(timeout = ?self.timeout, "the keychain did not answer");
                Err(Error::KeychainTimeout(self.timeout))
            }
        }
    }
}

/// Turns keyring's errors into ones a person can act on. Never formats `BadEncoding`,
/// whose payload is the stored secret.
fn classify(account: &str, error: keyring::Error, timeout: Duration) -> Error {
    use keyring::Error as K;
    let detail = match &error {
        K::NoEntry => return Error::KeychainEntryMissing(account.to_string()),
        K::BadEncoding(_) => return Error::Keychain("the stored entry is not text".into()),
        K::Ambiguous(_) => {
            return Error::Keychain(format!("several keychain entries match account {account}"));
        }
        K::NoStorageAccess(e) | K::PlatformFailure(e) => e.to_string(),
        other => other.to_string(),
    };
    // The D-Bus error name says what happened; its message is free text ("blocked",
    // "prompt"…) and is only consulted when no name is there.
    if let Some(name) = dbus_error_name(&detail) {
        let short = name.rsplit('.').next().unwrap_or_default();
        return match short {
            "ServiceUnknown" | "NameHasNoOwner" => Error::KeychainNoService(detail),
            "NoReply" | "Timeout" | "TimedOut" => Error::KeychainTimeout(timeout),
            "IsLocked" => Error::KeychainLocked,
            "NoServer" | "FileNotFound" | "Disconnected" | "NotSupported" | "Spawn.ExecFailed" => {
                Error::KeychainNoBus(detail)
            }
            _ => Error::Keychain(detail),
        };
    }
    let lower = detail.to_lowercase();
    let word = |w: &str| lower.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| t == w);
    if lower.contains("serviceunknown")
        || lower.contains("not provided by any .service files")
        || lower.contains("org.freedesktop.secrets")
    {
        Error::KeychainNoService(detail)
    } else if lower.contains("autolaunch")
        || lower.contains("dbus_session_bus_address")
        || lower.contains("failed to connect to socket")
        || lower.contains("no such file or directory")
        || lower.contains("connection refused")
    {
        Error::KeychainNoBus(detail)
    } else if word("locked") || word("prompt") || matches!(error, K::NoStorageAccess(_)) {
        Error::KeychainLocked
    } else {
        Error::Keychain(detail)
    }
}

/// The first D-Bus error name (`org.freedesktop.DBus.Error.NoReply`,
/// `org.freedesktop.Secret.Error.IsLocked`…) in an error's text.
fn dbus_error_name(text: &str) -> Option<&str> {
    text.match_indices("org.freedesktop.").find_map(|(start, _)| {
        let rest = &text[start..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_')).unwrap_or(rest.len());
        let name = rest[..end].trim_end_matches('.');
        name.contains(".Error.").then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_t(account: &str, error: keyring::Error) -> Error {
        classify(account, error, DEFAULT_TIMEOUT)
    }

    #[test]
    fn entry_json_round_trips_and_debug_is_redacted() {
        let tokens = StoredTokens {
            access_token: Secret::new("BQ-access".into()),
            refresh_token: Some(Secret::new("AQ-refresh".into())),
            access_expires_at: Timestamp(2_000),
            obtained_at: Timestamp(1_000),
        };
        assert_eq!(StoredTokens::from_json(&tokens.to_json()).unwrap(), tokens);
        let debug = format!("{tokens:?}");
        assert!(!debug.contains("BQ-access") && !debug.contains("AQ-refresh"), "{debug}");
    }

    #[test]
    fn a_foreign_entry_is_reported_without_its_content() {
        let err = StoredTokens::from_json("{\"access_token\": 5, \"x\": \"hunter2\"}").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn dbus_failures_are_classified() {
        let platform = |s: &str| keyring::Error::PlatformFailure(s.to_string().into());
        assert!(matches!(
            classify_t(
                "a",
                platform(
                    "D-Bus error: The name org.freedesktop.secrets was not provided by any .service files (org.freedesktop.DBus.Error.ServiceUnknown)"
                )
            ),
            Error::KeychainNoService(_)
        ));
        assert!(matches!(
            classify_t("a", platform("D-Bus error: Unable to autolaunch a dbus-daemon without a $DISPLAY for X11")),
            Error::KeychainNoBus(_)
        ));
        assert!(matches!(
            classify_t("a", keyring::Error::NoStorageAccess("collection is locked".to_string().into())),
            Error::KeychainLocked
        ));
        assert!(matches!(classify_t("a", keyring::Error::NoEntry), Error::KeychainEntryMissing(a) if a == "a"));
    }

    #[test]
    fn the_dbus_error_name_decides_not_the_message() {
        let platform = |s: &str| keyring::Error::PlatformFailure(s.to_string().into());
        // libdbus's NoReply text says "blocked": that is not a locked keychain.
        let no_reply = "D-Bus error: Did not receive a reply. Possible causes include: the remote application did not \
                        send a reply, the message bus security policy blocked the reply, the reply timeout expired, or \
                        the network connection was broken. (org.freedesktop.DBus.Error.NoReply)";
        assert!(matches!(classify_t("a", platform(no_reply)), Error::KeychainTimeout(_)));
        assert!(matches!(
            classify_t("a", platform("Cannot unlock (org.freedesktop.Secret.Error.IsLocked)")),
            Error::KeychainLocked
        ));
        assert!(matches!(
            classify_t("a", platform("The name is not activatable (org.freedesktop.DBus.Error.NameHasNoOwner)")),
            Error::KeychainNoService(_)
        ));
        assert!(matches!(classify_t("a", platform("the reply was blocked by policy")), Error::Keychain(_)));
        assert_eq!(
            dbus_error_name("x (org.freedesktop.DBus.Error.NoReply)."),
            Some("org.freedesktop.DBus.Error.NoReply")
        );
        assert_eq!(dbus_error_name("name org.freedesktop.secrets was not provided"), None);
    }
}
