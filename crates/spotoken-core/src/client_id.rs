//! Spotify Client IDs: what one looks like, and how it is shown beside an account.

use crate::error::{Error, Result};

/// How many hexadecimal characters a Spotify Client ID has.
pub const CLIENT_ID_LEN: usize = 32;

/// A Spotify Client ID: [`CLIENT_ID_LEN`] lowercase or uppercase hexadecimal characters.
pub fn validate_client_id(value: &str) -> Result<String> {
    let value = value.trim();
    if value.len() == CLIENT_ID_LEN && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_string())
    } else {
        Err(Error::InvalidClientId { value: value.chars().take(64).collect() })
    }
}

/// A Client ID as shown beside an account and in its name (`user@5a0d0b0e`): its
/// first 8 characters.
pub fn short_client_id(client_id: &str) -> &str {
    client_id.get(..8).unwrap_or(client_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_32_hex_characters() {
        assert_eq!(
            validate_client_id(" 0123456789abcdef0123456789ABCDEF ").ok().as_deref(),
            Some("0123456789abcdef0123456789ABCDEF")
        );
        for bad in ["", "0123456789abcdef", "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0"] {
            assert!(matches!(validate_client_id(bad), Err(Error::InvalidClientId { .. })), "{bad}");
        }
    }
}
