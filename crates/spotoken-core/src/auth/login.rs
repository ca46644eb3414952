//! A login in progress: it owns the PKCE verifier and the `state`, builds the
//! authorize URL, and accepts only the callback that carries its own `state`.
//!
//! oauth2 generates the verifier (32 random bytes, 43 characters), the S256 challenge
//! and a 256-bit `state`, and builds the URL; the values are moved into [`Secret`] at
//! once, because oauth2's own types can be serialized.

use super::callback::{self, CallbackError};
use crate::clock::Timestamp;
use crate::config::Endpoints;
use crate::error::{Error, Result};
use crate::secret::{AuthCode, CodeVerifier, LoginState, RedirectAddress, Secret};
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope, TokenUrl};
use url::Url;

/// What a login asks Spotify for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub client_id: crate::client_id::ClientId,
    pub scopes: Vec<String>,
    /// The exact redirect URI, e.g. `http://127.0.0.1:53682/callback` or `spotoken://callback`.
    pub redirect_uri: String,
    /// Ask Spotify to show the consent page again (adding scopes, switching accounts).
    pub show_dialog: bool,
    /// The account this login signs in again (Sign in again, Add scopes, `login
    /// --account`): should Spotify answer as another user, that is an anomaly.
    pub account: Option<String>,
}

/// A login waiting for its callback.
pub struct PendingLogin {
    request: LoginRequest,
    redirect: Url,
    authorize_url: Secret<Url>,
    state: LoginState,
    verifier: CodeVerifier,
    started_at: Timestamp,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("request", &self.request)
            .field("state", &self.state)
            .field("verifier", &self.verifier)
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

impl PendingLogin {
    pub fn new(endpoints: &Endpoints, request: LoginRequest, now: Timestamp) -> Result<Self> {
        let redirect = Url::parse(&request.redirect_uri)
            .map_err(|e| Error::InvalidCallback(format!("the redirect URI is not a URL ({e})")))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = oauth2::basic::BasicClient::new(ClientId::new(request.client_id.to_string()))
            .set_auth_uri(AuthUrl::from_url(endpoints.authorize.clone()))
            .set_token_uri(TokenUrl::from_url(endpoints.token.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect.clone()));
        let mut authorize = client
            .authorize_url(|| CsrfToken::new_random_len(32))
            .add_scopes(request.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge);
        if request.show_dialog {
            authorize = authorize.add_extra_param("show_dialog", "true");
        }
        let (url, state) = authorize.url();
        Ok(Self {
            request,
            redirect,
            authorize_url: Secret::new(url),
            state: LoginState::of(state.into_secret()),
            verifier: CodeVerifier::of(verifier.into_secret()),
            started_at: now,
        })
    }

    /// The consent page to open in the browser. It carries `state`: show it to the
    /// person, never to a log.
    pub fn authorize_url(&self) -> &Url {
        self.authorize_url.secret()
    }

    pub fn request(&self) -> &LoginRequest {
        &self.request
    }

    pub fn started_at(&self) -> Timestamp {
        self.started_at
    }

    pub(crate) fn verifier(&self) -> &CodeVerifier {
        &self.verifier
    }

    /// The authorization code from a callback URL that belongs to this login.
    pub fn accept_callback(&self, address: &RedirectAddress) -> Result<AuthCode, CallbackError> {
        callback::parse(address.secret(), &self.redirect, &self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pending(show_dialog: bool) -> PendingLogin {
        let endpoints = Endpoints::new("http://127.0.0.1:1", "http://127.0.0.1:1").unwrap();
        let request = LoginRequest {
            client_id: crate::client_id::ClientId::parse("0123456789abcdef0123456789abcdef").unwrap(),
            scopes: vec!["user-read-private".into(), "playlist-read-private".into()],
            redirect_uri: "http://127.0.0.1:4567/callback".into(),
            show_dialog,
            account: None,
        };
        PendingLogin::new(&endpoints, request, Timestamp(0)).unwrap()
    }

    #[test]
    fn authorize_url_has_everything_spotify_wants() {
        let login = pending(true);
        let query: HashMap<String, String> = login.authorize_url().query_pairs().into_owned().collect();
        assert_eq!(login.authorize_url().path(), "/authorize");
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], "0123456789abcdef0123456789abcdef");
        assert_eq!(query["redirect_uri"], "http://127.0.0.1:4567/callback");
        assert_eq!(query["scope"], "user-read-private playlist-read-private");
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["code_challenge"].len(), 43);
        assert_eq!(query["show_dialog"], "true");
        // 32 random bytes of state: 256 bits, well over the 128 asked for.
        assert_eq!(query["state"].len(), 43);
        assert_eq!(&query["state"], login.state.secret());
        assert!(!pending(false).authorize_url().as_str().contains("show_dialog"));
    }

    #[test]
    fn verifier_is_pkce_shaped_and_each_login_is_new() {
        let (a, b) = (pending(false), pending(false));
        let v = a.verifier().secret();
        assert!((43..=128).contains(&v.len()));
        assert!(v.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)));
        assert_ne!(a.verifier(), b.verifier());
        assert_ne!(a.state, b.state);
    }

    #[test]
    fn debug_shows_no_secret() {
        let login = pending(false);
        let debug = format!("{login:?}");
        assert!(!debug.contains(login.state.secret().as_str()));
        assert!(!debug.contains(login.verifier().secret().as_str()));
        // The fields are there, redacted; the consent URL (which carries `state`) is not.
        assert!(debug.contains("state: [redacted]") && debug.contains("verifier: [redacted]"), "{debug}");
        assert!(!debug.contains(login.authorize_url().query().unwrap()), "{debug}");
    }
}
