//! The accounts service's token endpoint: code exchange and refresh, PKCE style (form
//! body with `client_id`, no client secret, no Authorization header).
//!
//! Spotify's error JSON is parsed before the success JSON: an answer with an `error`
//! field is an error whatever its status.

use super::{Answer, network, read_answer};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::secret::{AccessToken, AuthCode, CodeVerifier, RefreshToken};
use serde::Deserialize;
use url::Url;

/// A successful token answer, secrets wrapped at once.
#[derive(Debug)]
pub struct TokenGrant {
    pub access_token: AccessToken,
    /// Absent when Spotify chose not to rotate: keep using the old one.
    pub refresh_token: Option<RefreshToken>,
    pub expires_at: Timestamp,
    /// Spotify's `scope` field, when it sent one.
    pub scope: Option<String>,
}

/// The token endpoint of one Client ID.
#[derive(Debug)]
pub struct TokenEndpoint<'a> {
    pub http: &'a reqwest::Client,
    pub url: &'a Url,
    pub client_id: &'a str,
}

impl TokenEndpoint<'_> {
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        code: &AuthCode,
        verifier: &CodeVerifier,
        redirect_uri: &str,
        now: Timestamp,
    ) -> Result<TokenGrant> {
        self.post(
            &[
                ("grant_type", "authorization_code"),
                ("code", code.secret()),
                ("redirect_uri", redirect_uri),
                ("client_id", self.client_id),
                ("code_verifier", verifier.secret()),
            ],
            now,
        )
        .await
    }

    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &RefreshToken, now: Timestamp) -> Result<TokenGrant> {
        self.post(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.secret()),
                ("client_id", self.client_id),
            ],
            now,
        )
        .await
    }

    async fn post(&self, form: &[(&str, &str)], now: Timestamp) -> Result<TokenGrant> {
        let response = self.http.post(self.url.clone()).form(form).send().await.map_err(network)?;
        let answer = read_answer(response).await?;
        tracing::debug!(status = answer.status, "token endpoint answered");
        parse(&answer, now)
    }
}

/// Spotify's access tokens last an hour. A longer claim is capped here, so a broken or
/// hostile token endpoint cannot make Spotoken hand out one token for years.
pub const MAX_BELIEVED_LIFETIME_SECS: i64 = 24 * 3600;

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct GrantBody {
    access_token: String,
    token_type: Option<String>,
    scope: Option<String>,
    expires_in: i64,
    refresh_token: Option<String>,
}

pub(crate) fn parse(answer: &Answer, now: Timestamp) -> Result<TokenGrant> {
    if let Ok(body) = serde_json::from_slice::<ErrorBody>(&answer.body)
        && answer.status != 429
        && answer.status < 500
    {
        return Err(Error::TokenEndpoint {
            status: answer.status,
            error: crate::text::clean(&body.error),
            description: crate::text::clean(&body.error_description.unwrap_or_default()),
        });
    }
    match answer.status {
        200 => {}
        429 => {
            return Err(Error::RateLimited { retry_after: answer.retry_after });
        }
        s if s >= 500 => return Err(Error::ServerError { status: s }),
        s => {
            return Err(Error::UnexpectedResponse {
                what: "the token endpoint",
                detail: format!("HTTP {s} without an error field"),
            });
        }
    }
    let body: GrantBody = serde_json::from_slice(&answer.body).map_err(|e| Error::UnexpectedResponse {
        what: "the token endpoint",
        detail: format!("malformed JSON at line {} column {}", e.line(), e.column()),
    })?;
    if body.token_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("bearer")) {
        return Err(Error::UnexpectedResponse {
            what: "the token endpoint",
            detail: "token type is not Bearer".into(),
        });
    }
    if body.access_token.is_empty() || body.expires_in <= 0 {
        return Err(Error::UnexpectedResponse {
            what: "the token endpoint",
            detail: "empty access token or no lifetime".into(),
        });
    }
    // (`>=` would give the same lifetime at exactly a day, with a warning.)
    let lifetime = if body.expires_in > MAX_BELIEVED_LIFETIME_SECS {
        tracing::warn!(
            expires_in = body.expires_in,
            believed = MAX_BELIEVED_LIFETIME_SECS,
            "the token endpoint claims an unusually long access-token lifetime; not believed"
        );
        MAX_BELIEVED_LIFETIME_SECS
    } else {
        body.expires_in
    };
    Ok(TokenGrant {
        access_token: AccessToken::from(body.access_token),
        refresh_token: body.refresh_token.filter(|t| !t.is_empty()).map(RefreshToken::from),
        expires_at: now.plus_secs(lifetime),
        scope: body.scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status, retry_after: Some(Duration::from_secs(3)), body: body.as_bytes().to_vec() }
    }

    #[test]
    fn success_with_and_without_rotation() {
        let rotated = parse(
            &answer(
                200,
                r#"{"access_token":"BQ1","token_type":"Bearer","scope":"a b","expires_in":3600,"refresh_token":"AQ2"}"#,
            ),
            Timestamp(100),
        )
        .unwrap();
        assert_eq!(rotated.expires_at, Timestamp(3700));
        assert_eq!(rotated.refresh_token.as_ref().map(|t| t.secret().as_str()), Some("AQ2"));
        let kept =
            parse(&answer(200, r#"{"access_token":"BQ1","token_type":"Bearer","expires_in":3600}"#), Timestamp(0))
                .unwrap();
        assert!(kept.refresh_token.is_none() && kept.scope.is_none());
    }

    #[test]
    fn spotify_error_json_wins_over_status() {
        let err = parse(
            &answer(400, r#"{"error":"invalid_grant","error_description":"Refresh token revoked"}"#),
            Timestamp(0),
        )
        .unwrap_err();
        assert!(matches!(err, Error::TokenEndpoint { ref error, ref description, status: 400 }
            if error == "invalid_grant" && description == "Refresh token revoked"));
        // An error field on a 200 is still an error.
        let err =
            parse(&answer(200, r#"{"error":"invalid_client","error_description":"Invalid client"}"#), Timestamp(0))
                .unwrap_err();
        assert!(matches!(err, Error::TokenEndpoint { .. }));
    }

    #[test]
    fn transient_statuses() {
        assert!(matches!(parse(&answer(429, "Too many requests"), Timestamp(0)),
            Err(Error::RateLimited { retry_after: Some(d) }) if d.as_secs() == 3));
        assert!(matches!(parse(&answer(503, "<html>"), Timestamp(0)), Err(Error::ServerError { status: 503 })));
        assert!(matches!(
            parse(&answer(502, r#"{"error":"server_error"}"#), Timestamp(0)),
            Err(Error::ServerError { .. })
        ));
        // From 500 on, an error field does not make it the token endpoint's refusal.
        assert!(matches!(
            parse(&answer(500, r#"{"error":"server_error"}"#), Timestamp(0)),
            Err(Error::ServerError { status: 500 })
        ));
        // Below 500 without an error field: not an answer Spotoken knows, not Spotify failing.
        assert!(matches!(
            parse(&answer(404, "<html>"), Timestamp(0)),
            Err(Error::UnexpectedResponse { ref detail, .. }) if detail == "HTTP 404 without an error field"
        ));
    }

    #[test]
    fn malformed_success_is_reported_without_its_body() {
        let err = parse(&answer(200, r#"{"access_token":"BQ-secret","expires_in":"soon"}"#), Timestamp(0)).unwrap_err();
        assert!(matches!(err, Error::UnexpectedResponse { .. }));
        assert!(!format!("{err} {err:?}").contains("BQ-secret"));
    }

    #[test]
    fn an_implausible_lifetime_is_capped_at_a_day() {
        let grant = parse(
            &answer(200, r#"{"access_token":"BQ1","token_type":"Bearer","expires_in":1000000000}"#),
            Timestamp(100),
        )
        .unwrap();
        assert_eq!(grant.expires_at, Timestamp(100 + 86_400));
        // Up to a day is believed. (Exactly a day is the same either way: `>` or `>=`
        // the cap gives the same lifetime.)
        for believed in [3600, 12 * 3600, 86_400] {
            let text = format!(r#"{{"access_token":"BQ1","token_type":"Bearer","expires_in":{believed}}}"#);
            assert_eq!(parse(&answer(200, &text), Timestamp(0)).unwrap().expires_at, Timestamp(believed));
        }
    }

    #[test]
    fn control_characters_in_errors_are_neutralised() {
        let err = parse(
            &answer(
                400,
                r#"{"error":"invalid_grant\u001b[2J","error_description":"Refresh\u001b]0;pwned\u0007 revoked"}"#,
            ),
            Timestamp(0),
        )
        .unwrap_err();
        let Error::TokenEndpoint { error, description, .. } = &err else { panic!("{err:?}") };
        assert!(!error.chars().chain(description.chars()).any(char::is_control), "{err:?}");
        let d = err.diagnose();
        assert!(!format!("{} {}", d.message, d.fix).chars().any(char::is_control));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(crate::proptest_config())]

            /// Any answer: no panic, a lifetime never believed past a day, and the
            /// access token never in an error's text.
            #[test]
            fn any_answer_is_safe(
                status in prop_oneof![Just(200u16), Just(400), Just(401), Just(429), Just(500), 100u16..600],
                expires_in in any::<i64>(),
                token in "[A-Za-z0-9]{1,20}",
                noise in "\\PC{0,40}",
                shape in 0..4u8,
            ) {
                let secret = format!("BQ{token}SECRET");
                let body = match shape {
                    0 => format!(r#"{{"access_token":"{secret}","token_type":"Bearer","expires_in":{expires_in}}}"#),
                    1 => format!(r#"{{"error":{},"error_description":{}}}"#, serde_json::json!(noise), serde_json::json!(noise)),
                    2 => format!(r#"{{"access_token":"{secret}","expires_in":{}}}"#, serde_json::json!(noise)),
                    _ => noise.clone(),
                };
                match parse(&answer(status, &body), Timestamp(1_000)) {
                    Ok(grant) => {
                        prop_assert!(grant.expires_at.0 <= 1_000 + MAX_BELIEVED_LIFETIME_SECS);
                        prop_assert!(grant.expires_at.0 > 1_000);
                    }
                    Err(e) => {
                        let shown = format!("{e} {e:?} {}", e.diagnose());
                        prop_assert!(!shown.contains(&secret));
                        prop_assert!(!shown.chars().any(|c| c.is_control() && c != '\n'));
                    }
                }
            }
        }
    }
}
