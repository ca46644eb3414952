//! Every failure as `{ code, message, fix }`: a stable code for programs to branch on,
//! a sentence saying what happened, and the next step for the person.
//!
//! The rows follow Spotify's error tables in `spotify-platform.md`. Nothing here reads
//! a token; messages quote only Spotify's error strings, which carry no secrets.

use crate::clock::human_duration;
use crate::error::Error;
use serde::{Deserialize, Serialize};

pub const DASHBOARD_URL: &str = "https://developer.spotify.com/dashboard";
pub const REVOKE_URL: &str = "https://www.spotify.com/account/apps/";

/// What went wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Stable, `snake_case`; documented in the README.
    pub code: String,
    pub message: String,
    pub fix: String,
}

impl Diagnosis {
    fn new(code: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { code: code.to_string(), message: message.into(), fix: fix.into() }
    }
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.message, self.fix)
    }
}

impl Error {
    pub fn diagnose(&self) -> Diagnosis {
        use Error as E;
        match self {
            E::NotConfigured => Diagnosis::new(
                "not_configured",
                "No Spotify Client ID is set.",
                format!("Create an app at {DASHBOARD_URL}, then pass --client-id or set SPOTOKEN_CLIENT_ID."),
            ),
            E::InvalidClientId { .. } => Diagnosis::new(
                "client_id_invalid",
                "That is not a Spotify Client ID.",
                "Copy the 32-character Client ID from your app's page on the Spotify dashboard.",
            ),
            E::UnknownScope(scope) => Diagnosis::new(
                "scope_unknown",
                format!("Spotify has no scope called \"{scope}\"."),
                "Run `spotoken login --help` for the list of scopes.",
            ),
            E::Settings { path, reason } => Diagnosis::new(
                "settings_invalid",
                format!("The settings file {} cannot be read: {reason}.", path.display()),
                "Fix or delete that file; Spotoken writes a new one on the next login.",
            ),
            E::NoAccount => Diagnosis::new("no_account", "No Spotify account is signed in.", "Run `spotoken login`."),
            E::AmbiguousAccount(ids) => Diagnosis::new(
                "account_ambiguous",
                format!("Several accounts are signed in: {}.", ids.join(", ")),
                "Name one with --account ID.",
            ),
            E::UnknownAccount(id) => Diagnosis::new(
                "account_unknown",
                format!("No signed-in account has the id \"{id}\"."),
                "Run `spotoken status` to list the accounts, or `spotoken login` to add one.",
            ),
            E::NeedsSignIn { account, reason } => Diagnosis::new(
                "needs_sign_in",
                format!("Spotify no longer accepts the sign-in of {account}: {reason}."),
                "Sign in again with `spotoken login` (access was revoked, or the 6-month limit ran out).",
            ),
            E::InvalidCallback(why) => Diagnosis::new(
                "callback_invalid",
                format!("The redirect from Spotify was not understood: {why}."),
                "Start the login again; if it keeps happening, check the redirect URI registered on the dashboard.",
            ),
            E::StateMismatch => Diagnosis::new(
                "callback_state_mismatch",
                "A redirect arrived that does not belong to this login (its state did not match), so it was refused.",
                "Finish the login in the browser tab Spotoken opened, or start the login again.",
            ),
            E::AccessDenied => Diagnosis::new(
                "login_denied",
                "Access was declined on Spotify's consent page.",
                "Start the login again and choose Agree.",
            ),
            E::AuthorizationError { error, description } => Diagnosis::new(
                "login_error",
                format!(
                    "Spotify's consent page answered \"{error}\"{}.",
                    description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
                ),
                "Check the Client ID, the scopes and the redirect URIs registered on the dashboard, then log in again.",
            ),
            E::LoginTimeout(waited) => Diagnosis::new(
                "login_timeout",
                format!("No answer came back from Spotify within {}.", human_duration(waited.as_secs() as i64)),
                "Start the login again and finish it in the browser; if the browser showed \"INVALID_CLIENT: Invalid redirect URI\", register http://127.0.0.1/callback on the dashboard.",
            ),
            E::NoLoginPending => Diagnosis::new(
                "login_not_pending",
                "A redirect from Spotify arrived, but no login is waiting for it (it finished, timed out or was cancelled).",
                "Click Log in and finish in the browser tab Spotoken opens.",
            ),
            E::ApprovalUnavailable { program, why } => Diagnosis::new(
                "approval_unavailable",
                format!("This account asks before a new program gets a token, and {program} is new to it: {why}."),
                "Start the Spotoken app (its window asks you) and run this again; or turn off \"Ask before a new program gets a token\" on the account's card.",
            ),
            E::HandOutDenied { program } => Diagnosis::new(
                "handout_denied",
                format!("A token for {program} was denied in the Spotoken window."),
                "Run it again and choose Allow if you meant it to have one.",
            ),
            E::LoginCancelled => {
                Diagnosis::new("login_cancelled", "The login was cancelled.", "Log in again when ready.")
            }
            E::Loopback(why) => Diagnosis::new(
                "loopback_unavailable",
                format!("Cannot listen on 127.0.0.1 for Spotify's redirect: {why}."),
                "Free the port, choose another with --port, or use the desktop app's deep link.",
            ),
            E::TokenEndpoint { error, description, .. } => token_endpoint(error, description),
            E::WebApi { status, message } => web_api(*status, message),
            E::RateLimited { retry_after } => Diagnosis::new(
                "rate_limited",
                format!(
                    "Spotify is rate limiting this Client ID{}.",
                    retry_after.map(|d| format!(" (retry after {} s)", d.as_secs())).unwrap_or_default()
                ),
                "Wait and try again; the quota is shared by all of one developer's apps.",
            ),
            E::ServerError { status } => Diagnosis::new(
                "spotify_unavailable",
                format!("Spotify's accounts service is failing (HTTP {status}). Your sign-in is kept."),
                "Try again in a minute.",
            ),
            E::Network(why) => Diagnosis::new(
                "network_down",
                format!("Spotify cannot be reached: {why}. Your sign-in is kept."),
                "Check the network connection and try again.",
            ),
            E::UnexpectedResponse { what, detail } => Diagnosis::new(
                "unexpected_response",
                format!("{what} sent an answer Spotoken does not understand: {detail}."),
                "Try again; if SPOTOKEN_ACCOUNTS_URL or SPOTOKEN_API_URL is set, check it points at Spotify.",
            ),
            E::KeychainNoService(_) => Diagnosis::new(
                "keychain_unavailable",
                "No keychain (Secret Service) is running in this session.",
                "Install and start one, e.g. gnome-keyring or KeePassXC with Secret Service enabled; in a headless session run `echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets`.",
            ),
            E::KeychainNoBus(_) => Diagnosis::new(
                "keychain_no_session_bus",
                "There is no D-Bus session bus, so the keychain cannot be reached.",
                "Run inside a desktop session, or start one with `dbus-run-session -- SHELL` and unlock gnome-keyring in it.",
            ),
            E::KeychainLocked => Diagnosis::new(
                "keychain_locked",
                "The keychain is locked.",
                "Unlock it (log in to the desktop, or open your keyring manager) and try again.",
            ),
            E::KeychainTimeout(waited) => Diagnosis::new(
                "keychain_timeout",
                format!(
                    "The keychain did not answer within {} s; it is probably locked and waiting for a password prompt.",
                    waited.as_secs()
                ),
                "Unlock the keyring (in a headless session: `echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets`) and try again.",
            ),
            E::KeychainEntryMissing(id) => Diagnosis::new(
                "keychain_entry_missing",
                format!("The keychain holds no tokens for {id} (it was deleted or this is another keychain)."),
                "Sign in again with `spotoken login`.",
            ),
            E::Keychain(why) => Diagnosis::new(
                "keychain_error",
                format!("The keychain failed: {why}."),
                "Check that the keyring is unlocked and working (`secret-tool search service spotoken`).",
            ),
            E::LockTimeout(id) => Diagnosis::new(
                "lock_timeout",
                format!("Another Spotoken process kept refreshing {id} for too long."),
                "Try again; if it persists, look for a stuck spotoken process.",
            ),
            E::Io { action, path, source } => Diagnosis::new(
                "io_error",
                format!("Could not {action} {}: {source}.", path.display()),
                "Check the permissions and free space of that folder.",
            ),
        }
    }
}

fn token_endpoint(error: &str, description: &str) -> Diagnosis {
    let said = format!("Spotify said \"{error}: {description}\".");
    match (error, description) {
        ("invalid_grant", "Invalid authorization code") => Diagnosis::new(
            "code_invalid",
            format!("{said} The code was already used, expired, or belongs to another login."),
            "Start the login again.",
        ),
        ("invalid_grant", "Authorization code expired") => Diagnosis::new(
            "code_expired",
            format!("{said} The consent took too long."),
            "Start the login again and finish it promptly.",
        ),
        ("invalid_grant", "code_verifier was incorrect") => Diagnosis::new(
            "pkce_mismatch",
            format!("{said} The redirect belongs to a different login attempt."),
            "Start the login again and use only the newest browser tab.",
        ),
        ("invalid_grant", "Invalid redirect URI") => Diagnosis::new(
            "redirect_uri_mismatch",
            format!("{said} The redirect URI differs from the one the login started with."),
            "Start the login again; register http://127.0.0.1/callback and spotoken://callback on the dashboard.",
        ),
        ("invalid_grant", "Invalid refresh token" | "Refresh token revoked") => Diagnosis::new(
            "refresh_revoked",
            format!("{said} Access was revoked, or the 6-month limit ran out."),
            "Sign in again with `spotoken login`.",
        ),
        ("invalid_client", _) => Diagnosis::new(
            "client_invalid",
            format!("{said} The Client ID is wrong or the app was deleted."),
            format!("Copy the Client ID from your app at {DASHBOARD_URL}."),
        ),
        _ => Diagnosis::new(
            "token_endpoint_error",
            said,
            "Start the login again; if it repeats, check the app on the Spotify dashboard.",
        ),
    }
}

fn web_api(status: u16, message: &str) -> Diagnosis {
    let said = format!("Spotify's Web API said \"{message}\" (HTTP {status}).");
    match (status, message) {
        (401, "The access token expired") => {
            Diagnosis::new("access_token_expired", said, "Run `spotoken token` again; it refreshes first.")
        }
        (401, _) => Diagnosis::new("access_token_invalid", said, "Sign in again with `spotoken login`."),
        (403, "Insufficient client scope") => Diagnosis::new(
            "scope_missing",
            format!("{said} A scope this call needs was not granted."),
            "Log in again with the missing --scope; Spotoken asks Spotify to show the consent page again.",
        ),
        (403, "User not registered in the Developer Dashboard") => Diagnosis::new(
            "user_not_registered",
            format!("{said} The app is in development mode and this person is not on its list."),
            format!("Add the person's Spotify email under User Management at {DASHBOARD_URL} (up to 5 users)."),
        ),
        (403, "Active premium subscription required for the owner of the app") => Diagnosis::new(
            "premium_required",
            format!("{said} Development-mode apps need a Premium owner."),
            "The dashboard owner of this Client ID needs an active Premium subscription.",
        ),
        _ => Diagnosis::new("web_api_error", said, "Try again; if it repeats, check the app on the Spotify dashboard."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn endpoint(error: &str, description: &str) -> String {
        Error::TokenEndpoint { status: 400, error: error.into(), description: description.into() }.diagnose().code
    }

    #[test]
    fn each_token_endpoint_row_has_its_own_code() {
        let rows = [
            ("invalid_grant", "Invalid authorization code", "code_invalid"),
            ("invalid_grant", "Authorization code expired", "code_expired"),
            ("invalid_grant", "code_verifier was incorrect", "pkce_mismatch"),
            ("invalid_grant", "Invalid redirect URI", "redirect_uri_mismatch"),
            ("invalid_grant", "Invalid refresh token", "refresh_revoked"),
            ("invalid_grant", "Refresh token revoked", "refresh_revoked"),
            ("invalid_client", "Invalid client", "client_invalid"),
            ("server_error", "boom", "token_endpoint_error"),
        ];
        for (error, description, code) in rows {
            assert_eq!(endpoint(error, description), code, "{error}: {description}");
        }
    }

    #[test]
    fn each_web_api_row_has_its_own_code() {
        let rows = [
            (401, "The access token expired", "access_token_expired"),
            (401, "Invalid access token", "access_token_invalid"),
            (401, "No token provided", "access_token_invalid"),
            (403, "Insufficient client scope", "scope_missing"),
            (403, "User not registered in the Developer Dashboard", "user_not_registered"),
            (403, "Active premium subscription required for the owner of the app", "premium_required"),
            (404, "Not found", "web_api_error"),
        ];
        for (status, message, code) in rows {
            let d = Error::WebApi { status, message: message.into() }.diagnose();
            assert_eq!(d.code, code, "{status} {message}");
            assert!(!d.fix.is_empty());
        }
    }

    #[test]
    fn transient_failures_say_the_sign_in_is_kept() {
        for e in [Error::ServerError { status: 503 }, Error::Network("connection refused".into())] {
            assert!(e.is_transient());
            assert!(e.diagnose().message.contains("sign-in is kept"), "{:?}", e.diagnose());
        }
        let limited = Error::RateLimited { retry_after: Some(Duration::from_secs(7)) }.diagnose();
        assert_eq!(limited.code, "rate_limited");
        assert!(limited.message.contains("7 s"));
        assert!(!Error::StateMismatch.is_transient());
    }

    #[test]
    fn keychain_failures_are_told_apart() {
        let codes: Vec<String> = [
            Error::KeychainNoService("x".into()),
            Error::KeychainNoBus("x".into()),
            Error::KeychainLocked,
            Error::KeychainTimeout(Duration::from_secs(3)),
            Error::KeychainEntryMissing("me".into()),
        ]
        .iter()
        .map(|e| e.diagnose().code)
        .collect();
        let unique: std::collections::BTreeSet<&String> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len(), "{codes:?}");
        assert!(codes.iter().all(|c| c.starts_with("keychain_")));
    }
}
