//! The one Web API call Spotoken makes: `GET /v1/me`, to learn whose tokens these are.

use super::{network, read_answer};
use crate::error::{Error, Result};
use crate::secret::AccessToken;
use serde::Deserialize;
use url::Url;

/// The parts of `/v1/me` Spotoken keeps.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Profile {
    pub id: String,
    pub display_name: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn current_user(http: &reqwest::Client, me: &Url, access_token: &AccessToken) -> Result<Profile> {
    let response = http.get(me.clone()).bearer_auth(access_token.secret()).send().await.map_err(network)?;
    let answer = read_answer(response).await?;
    tracing::debug!(status = answer.status, "Web API answered /v1/me");
    parse(answer.status, answer.retry_after, &answer.body)
}

fn parse(status: u16, retry_after: Option<std::time::Duration>, body: &[u8]) -> Result<Profile> {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: ApiError,
    }
    #[derive(Deserialize)]
    struct ApiError {
        status: Option<u16>,
        message: String,
    }
    if status == 429 {
        return Err(Error::RateLimited { retry_after });
    }
    if let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) {
        let message = crate::text::clean(&error.message);
        return Err(Error::WebApi { status: error.status.unwrap_or(status), message });
    }
    match status {
        200 => {
            let profile = serde_json::from_slice::<Profile>(body).map_err(|e| Error::UnexpectedResponse {
                what: "Spotify's Web API",
                detail: format!("malformed profile: {e}"),
            })?;
            // The id names the keychain entry and is printed: it must be plain text.
            if profile.id.is_empty() || profile.id.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(Error::UnexpectedResponse {
                    what: "Spotify's Web API",
                    detail: "the profile's id is empty or holds control characters".into(),
                });
            }
            Ok(Profile { display_name: profile.display_name.map(|n| crate::text::clean(&n)), ..profile })
        }
        s if s >= 500 => Err(Error::ServerError { status: s }),
        // A refusal in plain text (Spotify's allowlist 403 may come so): its words.
        s if (400..500).contains(&s) => match std::str::from_utf8(body).map(str::trim) {
            Ok(text) if !text.is_empty() && !text.starts_with(['{', '[', '<']) => {
                Err(Error::WebApi { status: s, message: crate::text::clean(text) })
            }
            _ => Err(Error::UnexpectedResponse { what: "Spotify's Web API", detail: format!("HTTP {s}") }),
        },
        s => Err(Error::UnexpectedResponse { what: "Spotify's Web API", detail: format!("HTTP {s}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_and_error_shapes() {
        let me = parse(200, None, br#"{"id":"wizzler","display_name":"Wiz","type":"user","followers":{"total":3}}"#)
            .unwrap();
        assert_eq!(me, Profile { id: "wizzler".into(), display_name: Some("Wiz".into()) });
        let err =
            parse(403, None, br#"{"error":{"status":403,"message":"User not registered in the Developer Dashboard"}}"#)
                .unwrap_err();
        assert_eq!(err.diagnose().code, "user_not_registered");
        assert!(matches!(
            parse(401, None, br#"{"error":{"status":401,"message":"The access token expired"}}"#),
            Err(Error::WebApi { status: 401, .. })
        ));
        assert!(matches!(parse(429, None, b"{}"), Err(Error::RateLimited { .. })));
        // The allowlist's refusal in plain text, as Spotify also sends it.
        let plain = b"The user is not registered for this application. Please ask the app owner to add you.\n";
        let err = parse(403, None, plain).unwrap_err();
        assert_eq!(err.diagnose().code, "user_not_registered");
        assert!(err.diagnose().fix.contains("User Management"), "{}", err.diagnose().fix);
        assert_eq!(parse(403, None, b"<html>no</html>").unwrap_err().diagnose().code, "unexpected_response");
        // Plain text is a refusal's words only on a 4xx: a 5xx is Spotify failing, and
        // anything else is not an answer Spotoken knows.
        assert!(matches!(parse(502, None, b"Bad Gateway"), Err(Error::ServerError { status: 502 })));
        assert!(matches!(parse(500, None, b""), Err(Error::ServerError { status: 500 })));
        assert!(matches!(
            parse(302, None, b"Found"),
            Err(Error::UnexpectedResponse { ref detail, .. }) if detail == "HTTP 302"
        ));
    }

    #[test]
    fn outside_text_reaches_no_terminal_raw() {
        let me = parse(200, None, "{\"id\":\"ann\",\"display_name\":\"Ann\\u001b]0;x\\u0007\"}".as_bytes()).unwrap();
        assert_eq!(me.display_name.as_deref(), Some("Ann\u{FFFD}]0;x\u{FFFD}"));
        assert!(parse(200, None, br#"{"id":"a\u001bb"}"#).is_err());
        let err = parse(403, None, br#"{"error":{"status":403,"message":"no\u001b[31m"}}"#).unwrap_err();
        assert!(matches!(err, Error::WebApi { ref message, .. } if message == "no\u{FFFD}[31m"));
    }
}
