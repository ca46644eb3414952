//! Reading Spotify's redirect: `redirect_uri?code=…&state=…` or `?error=…&state=…`.
//!
//! The `state` is checked before anything else is believed, so a callback from another
//! login (or a forged one) can never get its code exchanged. Errors say whether the
//! state was verified: an unverified callback is refused and the login keeps waiting;
//! a verified one ends it.

use crate::error::Error;
use crate::secret::Secret;
use url::Url;

/// A refused callback, and whether it was proven to belong to this login.
#[derive(Debug)]
pub struct CallbackError {
    pub error: Error,
    pub state_verified: bool,
}

impl From<CallbackError> for Error {
    fn from(value: CallbackError) -> Self {
        value.error
    }
}

fn refused(error: Error) -> CallbackError {
    CallbackError { error, state_verified: false }
}

fn failed(error: Error) -> CallbackError {
    CallbackError { error, state_verified: true }
}

pub(crate) fn parse(
    raw: &str,
    redirect: &Url,
    expected_state: &Secret<String>,
) -> Result<Secret<String>, CallbackError> {
    let url = Url::parse(raw).map_err(|_| refused(Error::InvalidCallback("it is not a URL".into())))?;
    let trim = |p: &str| p.trim_end_matches('/').to_string();
    if url.scheme() != redirect.scheme()
        || url.host_str() != redirect.host_str()
        || url.port_or_known_default() != redirect.port_or_known_default()
        || trim(url.path()) != trim(redirect.path())
    {
        return Err(refused(Error::InvalidCallback("it is not this login's redirect URI".into())));
    }
    let (mut state, mut code, mut error, mut description) = (None, None, None, None);
    for (key, value) in url.query_pairs() {
        let slot = match key.as_ref() {
            "state" => &mut state,
            "code" => &mut code,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(refused(Error::InvalidCallback(format!("\"{key}\" appears twice"))));
        }
    }
    let state = state.ok_or_else(|| refused(Error::InvalidCallback("it has no state".into())))?;
    if !constant_time_eq(state.as_bytes(), expected_state.secret().as_bytes()) {
        return Err(refused(Error::StateMismatch));
    }
    if let Some(error) = error {
        return Err(failed(if error == "access_denied" {
            Error::AccessDenied
        } else {
            Error::AuthorizationError {
                error: crate::text::clean(&error),
                description: description.map(|d| crate::text::clean(&d)),
            }
        }));
    }
    match code {
        Some(code) if !code.is_empty() => Ok(Secret::new(code)),
        _ => Err(failed(Error::InvalidCallback("it carries neither a code nor an error".into()))),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, redirect: &str) -> Result<Secret<String>, CallbackError> {
        parse(raw, &Url::parse(redirect).unwrap(), &Secret::new("S1".into()))
    }

    const LOOP: &str = "http://127.0.0.1:4567/callback";

    #[test]
    fn good_callbacks_from_both_redirects() {
        assert_eq!(check("http://127.0.0.1:4567/callback?code=C1&state=S1", LOOP).unwrap().secret(), "C1");
        let deep = check("spotoken://callback?code=C2&state=S1", "spotoken://callback").unwrap();
        assert_eq!(deep.secret(), "C2");
        assert!(check("spotoken://callback/?code=C2&state=S1", "spotoken://callback").is_ok());
    }

    #[test]
    fn wrong_or_missing_state_is_refused_unverified() {
        for raw in [
            "http://127.0.0.1:4567/callback?code=C1&state=S2",
            "http://127.0.0.1:4567/callback?code=C1",
            "http://127.0.0.1:4567/callback?code=C1&state=S1&state=S2",
            "http://127.0.0.1:4567/callback?error=access_denied&state=nope",
        ] {
            let err = check(raw, LOOP).unwrap_err();
            assert!(!err.state_verified, "{raw}: {:?}", err.error);
        }
        assert!(matches!(
            check("http://127.0.0.1:4567/callback?code=C&state=S2", LOOP).unwrap_err().error,
            Error::StateMismatch
        ));
    }

    #[test]
    fn other_paths_ports_and_schemes_are_refused() {
        for raw in [
            "http://127.0.0.1:4567/callbacks?code=C1&state=S1",
            "http://127.0.0.1:4568/callback?code=C1&state=S1",
            "http://localhost:4567/callback?code=C1&state=S1",
            "spotoken://callback?code=C1&state=S1",
            "not a url",
        ] {
            assert!(matches!(check(raw, LOOP).unwrap_err().error, Error::InvalidCallback(_)), "{raw}");
        }
    }

    #[test]
    fn errors_with_the_right_state_end_the_login() {
        let denied = check("http://127.0.0.1:4567/callback?error=access_denied&state=S1", LOOP).unwrap_err();
        assert!(denied.state_verified && matches!(denied.error, Error::AccessDenied));
        let other =
            check("http://127.0.0.1:4567/callback?error=server_error&error_description=x&state=S1", LOOP).unwrap_err();
        assert!(matches!(other.error, Error::AuthorizationError { ref error, .. } if error == "server_error"));
        let empty = check("http://127.0.0.1:4567/callback?state=S1&code=", LOOP).unwrap_err();
        assert!(empty.state_verified && matches!(empty.error, Error::InvalidCallback(_)));
    }
}
