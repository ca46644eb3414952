//! A wrapper for values that must never be printed: tokens, codes, verifiers, `state`.
//!
//! `Secret` has a `Debug` that prints `[redacted]`, no `Display` and no `Serialize`, so a
//! secret cannot reach a log line, a panic message or a JSON file by accident. Reading
//! the value takes an explicit `.secret()` call, which is easy to find in review.

use std::fmt;
use std::marker::PhantomData;

/// A value that is only reachable through [`Secret::secret`]. `K` says what kind of
/// secret it is, so one cannot be passed where another is meant (a verifier as a code, an
/// access token as a refresh token); the aliases below name the kinds.
///
/// A refresh takes a refresh token:
///
/// ```
/// use spotoken_core::secret::RefreshToken;
/// fn refresh(_: &RefreshToken) {}
/// refresh(&RefreshToken::from("AQ-refresh".to_string()));
/// ```
///
/// and an access token is not one (this does not compile):
///
/// ```compile_fail,E0308
/// use spotoken_core::secret::{AccessToken, RefreshToken};
/// fn refresh(_: &RefreshToken) {}
/// refresh(&AccessToken::from("BQ-access".to_string()));
/// ```
///
/// Only the callback checks make an [`AuthCode`]; anyone may make a verifier, but not a
/// code (this does not compile):
///
/// ```
/// let _ = spotoken_core::secret::CodeVerifier::of("verifier".to_string());
/// ```
///
/// ```compile_fail,E0599
/// let _ = spotoken_core::secret::AuthCode::of("AQ-code".to_string());
/// ```
pub struct Secret<T, K = Plain>(T, PhantomData<K>);

/// Kinds of secret (types only, never values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plain {}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verifier {}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirected {}

/// An access token (sent to the Web API, handed out).
pub type AccessToken = Secret<String, Access>;
/// A refresh token (sent only to the token endpoint, kept in the keychain).
pub type RefreshToken = Secret<String, Refresh>;
/// An authorization code from a callback whose `state` and redirect were checked
/// (exchanged once). Only those checks make one (`auth::callback`), so a code that
/// `Engine::complete_login` takes has always been verified.
pub type AuthCode = Secret<String, Code>;

/// Kinds anyone may make a secret of (all but [`Code`]).
pub trait Constructible {}
impl Constructible for Plain {}
impl Constructible for Access {}
impl Constructible for Refresh {}
impl Constructible for Verifier {}
impl Constructible for State {}
impl Constructible for Redirected {}
/// A PKCE code verifier (kept by the login, sent with the code).
pub type CodeVerifier = Secret<String, Verifier>;
/// A login's `state` (compared with the callback's).
pub type LoginState = Secret<String, State>;
/// The address the browser was sent back to: the loopback request, a `spotoken://`
/// link, or what the person pasted. Its query carries the code and `state`, so it stays
/// wrapped from where it arrives to the checks that take the code out.
pub type RedirectAddress = Secret<String, Redirected>;

impl RedirectAddress {
    /// The address without its query and fragment, for a log line.
    pub fn without_query(&self) -> &str {
        self.0.split(['?', '#']).next().unwrap_or_default()
    }
}

impl<T: Clone, K> Clone for Secret<T, K> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<T: PartialEq, K> PartialEq for Secret<T, K> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T: Eq, K> Eq for Secret<T, K> {}

impl<T> Secret<T> {
    /// A secret of no particular kind; the kinded ones come from `AccessToken::from(…)`
    /// and the like.
    pub fn new(value: T) -> Self {
        Self(value, PhantomData)
    }
}

impl<T, K: Constructible> Secret<T, K> {
    /// This value as a secret of kind `K`.
    pub fn of(value: T) -> Self {
        Self(value, PhantomData)
    }
}

impl AuthCode {
    /// The code of a callback that passed the checks.
    pub(crate) fn verified(code: String) -> Self {
        Self(code, PhantomData)
    }
}

impl<T, K> Secret<T, K> {
    /// The hidden value. Every call site is a place where a secret leaves this wrapper.
    pub fn secret(&self) -> &T {
        &self.0
    }

    pub fn into_secret(self) -> T {
        self.0
    }
}

impl<K: Constructible> From<String> for Secret<String, K> {
    fn from(value: String) -> Self {
        Self::of(value)
    }
}

impl<T, K> fmt::Debug for Secret<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// First 8 hex characters of the SHA-256 of `token`: names a token in the activity
/// record and the accounts file without giving it away.
pub fn fingerprint<K>(token: &Secret<String, K>) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.secret().as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = AccessToken::from("BQ-very-secret".to_string());
        let printed = format!("{secret:?} {:#?}", Some(&secret));
        assert!(!printed.contains("very-secret"), "{printed}");
        assert!(printed.contains("[redacted]"));
        assert_eq!(secret.secret(), "BQ-very-secret");
    }

    #[test]
    fn a_redirect_address_is_logged_without_its_code_and_state() {
        let address = RedirectAddress::of("spotoken://callback?code=AQ-code&state=S1#frag".to_string());
        assert_eq!(address.without_query(), "spotoken://callback");
        assert_eq!(format!("{address:?}"), "[redacted]");
        let bare = RedirectAddress::of("http://127.0.0.1:8888/callback".to_string());
        assert_eq!(bare.without_query(), "http://127.0.0.1:8888/callback");
    }
}
