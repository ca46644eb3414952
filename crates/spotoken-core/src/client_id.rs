//! Spotify Client IDs: checked once, where one comes in (the settings, `SPOTOKEN_CLIENT_ID`,
//! `--client-id`), and carried as a [`ClientId`] from there on.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How many hexadecimal characters a Spotify Client ID has.
pub const CLIENT_ID_LEN: usize = 32;

/// A Spotify Client ID: [`CLIENT_ID_LEN`] lowercase or uppercase hexadecimal characters.
/// Not a secret (it is in every consent page's address). Read back from the files
/// Spotoken wrote as it was written there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// `value` without the spaces around it, if it is a Client ID.
    pub fn parse(value: &str) -> Result<Self> {
        let value = value.trim();
        if value.len() == CLIENT_ID_LEN && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(value.to_string()))
        } else {
            Err(Error::InvalidClientId { value: value.chars().take(64).collect() })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As shown beside an account and in its name (`user@5a0d0b0e`): its first 8
    /// characters.
    pub fn short(&self) -> &str {
        self.0.get(..8).unwrap_or(&self.0)
    }
}

impl std::ops::Deref for ClientId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<&str> for ClientId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_32_hex_characters() {
        let id = ClientId::parse(" 0123456789abcdef0123456789ABCDEF ").unwrap();
        assert_eq!(id.as_str(), "0123456789abcdef0123456789ABCDEF");
        assert_eq!(id.short(), "01234567");
        assert_eq!(id, "0123456789abcdef0123456789ABCDEF");
        assert_eq!(id.to_string(), "0123456789abcdef0123456789ABCDEF");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"0123456789abcdef0123456789ABCDEF\"");
        for bad in ["", "0123456789abcdef", "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0"] {
            assert!(matches!(ClientId::parse(bad), Err(Error::InvalidClientId { .. })), "{bad}");
        }
    }
}
