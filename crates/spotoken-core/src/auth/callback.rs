//! Reading Spotify's redirect: `redirect_uri?code=…&state=…` or `?error=…&state=…`.
//!
//! The `state` is checked before anything else is believed, so a callback from another
//! login (or a forged one) can never get its code exchanged. Errors say whether the
//! state was verified: an unverified callback is refused and the login keeps waiting;
//! a verified one ends it.

use crate::error::Error;
use crate::secret::{AuthCode, LoginState};
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

pub(crate) fn parse(raw: &str, redirect: &Url, expected_state: &LoginState) -> Result<AuthCode, CallbackError> {
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
        Some(code) if !code.is_empty() => Ok(AuthCode::verified(code)),
        _ => Err(failed(Error::InvalidCallback("it carries neither a code nor an error".into()))),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, redirect: &str) -> Result<crate::secret::AuthCode, CallbackError> {
        parse(raw, &Url::parse(redirect).unwrap(), &crate::secret::Secret::of("S1".into()))
    }

    const LOOP: &str = "http://127.0.0.1:4567/callback";

    #[test]
    fn good_callbacks_from_both_redirects() {
        assert_eq!(check("http://127.0.0.1:4567/callback?code=C1&state=S1", LOOP).unwrap().secret(), "C1");
        let deep = check("spotoken://callback?code=C2&state=S1", "spotoken://callback").unwrap();
        assert_eq!(deep.secret(), "C2");
        assert!(check("spotoken://callback/?code=C2&state=S1", "spotoken://callback").is_ok());
        // Found by fuzzing, and right: a URL's tabs and line breaks are not part of it
        // (WHATWG), so a state cut by them is the same state.
        assert!(check("spotoken://callback/?code=C2&state=S\r\r1", "spotoken://callback").is_ok());
        assert!(check("spotoken://callback/?code=C2&state=S%31", "spotoken://callback").is_ok());
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
        let described =
            check("http://127.0.0.1:4567/callback?error=server_error&error_description=Try+later&state=S1", LOOP)
                .unwrap_err();
        assert!(
            matches!(described.error, Error::AuthorizationError { description: Some(ref d), .. } if d == "Try later"),
            "{:?}",
            described.error
        );
    }

    #[test]
    fn a_forged_state_whose_differences_cancel_out_is_refused() {
        // "ab" against "ba": the bytes differ by the same XOR twice, which a comparison
        // that XORs the differences together (instead of OR-ing them) would accept.
        let parse_with = |state: &str| {
            parse(
                &format!("{LOOP}?code=C&state={state}"),
                &Url::parse(LOOP).unwrap(),
                &crate::secret::Secret::of("abcd".into()),
            )
        };
        for forged in ["bacd", "abdc", "badc", "abc", "abcde", ""] {
            assert!(matches!(parse_with(forged).unwrap_err().error, Error::StateMismatch), "{forged}");
        }
        assert!(parse_with("abcd").is_ok());
        assert!(!constant_time_eq(b"ab", b"ba"));
        assert!(!constant_time_eq(b"ab", b"a"));
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"same", b"same"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const STATE: &str = "Zs0-state_value.~";
        static ACCEPTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

        #[test]
        fn the_generator_reaches_the_accepting_case() {
            a_code_needs_exactly_this_state();
            assert!(ACCEPTED.load(std::sync::atomic::Ordering::Relaxed) > 5, "the property never saw a good callback");
        }

        fn query_pair() -> impl Strategy<Value = (String, String)> {
            (
                prop_oneof![
                    Just("state".to_string()),
                    Just("code".to_string()),
                    Just("error".to_string()),
                    "\\PC{0,8}"
                ],
                prop_oneof![Just(STATE.to_string()), Just("C0DE".to_string()), Just(String::new()), "\\PC{0,12}"],
            )
        }

        proptest! {
            #![proptest_config(crate::proptest_config())]

            /// Anything at all: no panic, and no success without this login's state.
            #[test]
            fn arbitrary_text_never_panics_nor_passes_without_the_state(raw in "\\PC{0,80}") {
                for redirect in [LOOP, "spotoken://callback"] {
                    let result = parse(&raw, &Url::parse(redirect).unwrap(), &crate::secret::Secret::of(STATE.into()));
                    if let Ok(code) = result {
                        prop_assert!(raw.contains(STATE) && !code.secret().is_empty());
                    }
                }
            }

            /// Well-formed redirects with any query: a code comes out only when `state`
            /// appears once, equal to this login's, with no error and a non-empty code.
            #[test]
            fn a_code_needs_exactly_this_state(pairs in proptest::collection::vec(query_pair(), 0..6), deep in any::<bool>()) {
                let redirect = if deep { "spotoken://callback" } else { LOOP };
                let mut url = Url::parse(redirect).unwrap();
                url.query_pairs_mut().extend_pairs(&pairs);
                let result = parse(url.as_str(), &Url::parse(redirect).unwrap(), &crate::secret::Secret::of(STATE.into()));
                let values = |k: &str| pairs.iter().filter(|(key, _)| key == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
                let (states, codes, errors) = (values("state"), values("code"), values("error"));
                let good = states == [STATE] && errors.is_empty() && codes.len() == 1 && !codes[0].is_empty();
                prop_assert_eq!(result.is_ok(), good, "{}", url);
                if good {
                    ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if let Err(e) = result {
                    prop_assert_eq!(e.state_verified, states == [STATE] && codes.len() <= 1 && errors.len() <= 1
                        && pairs.iter().filter(|(k, _)| k == "error_description").count() <= 1);
                }
            }
        }
    }
}
