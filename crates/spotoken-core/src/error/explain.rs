//! Every failure in words a person can act on: what happened, what to do, and the
//! code that says which, from the engine's errors, the token endpoint's answers and the
//! Web API's.

use super::Error;
use crate::clock::human_duration;
use crate::diagnose::{Code, DASHBOARD_URL, Diagnosis, NextStep, WebPage};

impl Error {
    pub fn diagnose(&self) -> Diagnosis {
        use Error as E;
        match self {
            E::NotConfigured => Diagnosis::new(
                Code::NotConfigured,
                "No Spotify Client ID is set.",
                format!("Create an app at {DASHBOARD_URL} and give Spotoken its Client ID."),
            )
            .then(NextStep::SetClientId),
            E::InvalidClientId { .. } => Diagnosis::new(
                Code::ClientIdInvalid,
                "That is not a Spotify Client ID.",
                "Copy the 32-character Client ID from your app's page on the Spotify dashboard.",
            ),
            E::UnknownScope(scope) => Diagnosis::new(
                Code::ScopeUnknown,
                format!("Spotify has no scope called \"{scope}\"."),
                "Choose one of Spotify's scopes.",
            )
            .then(NextStep::ShowScopes),
            E::Settings { path, reason } => Diagnosis::new(
                Code::SettingsInvalid,
                format!("The settings file {} cannot be read: {reason}.", path.display()),
                "Fix or delete that file; Spotoken writes a new one on the next login.",
            ),
            E::NoAccount => Diagnosis::new(Code::NoAccount, "No Spotify account is signed in.", "Sign in first.")
                .then(NextStep::SignIn { account: None }),
            E::AmbiguousAccount(ids) => Diagnosis::new(
                Code::AccountAmbiguous,
                format!("Several accounts are signed in: {}.", ids.join(", ")),
                "Name the one you mean.",
            )
            .then(NextStep::ChooseAccount { accounts: ids.clone() }),
            E::UnknownEndpoint(path) => Diagnosis::new(
                Code::EndpointUnknown,
                format!("No Spotify Web API operation matches \"{path}\"."),
                "Check the path against Spotify's Web API reference (paths like /me/player/queue or /v1/playlists/ID/items).",
            ),
            E::NotTheWebApi(what) => Diagnosis::new(
                Code::NotTheWebApi,
                format!("That is not a Spotify Web API request ({what}); no token was sent."),
                "Give a path on the Web API (/me, /v1/me/playlists) or a URL on https://api.spotify.com, a method GET/POST/PUT/DELETE, and no Authorization header of your own.",
            ),
            E::ScopeMissing { call, account, missing, granted } => Diagnosis::new(
                Code::ScopeMissing,
                if missing.is_empty() {
                    format!("Spotify refused {call} for {account}: a scope is missing (\"Insufficient client scope\").")
                } else {
                    format!("{call} needs {}, which {account} has not granted.", missing.join(", "))
                },
                "Sign in again granting it; Spotoken asks Spotify to show the consent page again.",
            )
            .then(NextStep::add_scopes(account, granted, missing)),
            E::Withdrawn { call, replacement } => Diagnosis::new(
                Code::EndpointWithdrawn,
                format!("Spotify refused {call}: it is withdrawn for development-mode apps."),
                match replacement {
                    Some(r) => format!("Call {r} instead."),
                    None => "Only apps with extended quota may still call it; there is no replacement.".into(),
                },
            ),
            E::QuotaExceeded { retry_after } => Diagnosis::new(
                Code::QuotaExceeded,
                format!(
                    "Spotify says the request quota is used up (QUOTA_EXCEEDED){}.",
                    retry_after
                        .map(|d| format!("; it asks to wait {}", human_duration(d.as_secs() as i64)))
                        .unwrap_or_default()
                ),
                "Wait that long (`spotoken status` shows when it ends); the quota is shared by all of one developer's development-mode apps.",
            ),
            E::UnknownAccount(id) => Diagnosis::new(
                Code::AccountUnknown,
                format!("No signed-in account has the id \"{id}\"."),
                "Check the id against the accounts signed in, or sign that account in.",
            )
            .then(NextStep::ShowAccounts),
            E::NeedsSignIn { account, reason } => Diagnosis::new(
                Code::NeedsSignIn,
                format!(
                    "Spotify no longer accepts the sign-in of {account}: {reason}. Its refresh token is kept and tried once more on a later request (a few seconds on; in the background at most hourly), in case Spotify refused it by mistake."
                ),
                "Sign in again (access was revoked, or the 6-month limit ran out).",
            )
            .then(NextStep::SignIn { account: Some(account.clone()) }),
            E::InvalidCallback(why) => Diagnosis::new(
                Code::CallbackInvalid,
                format!("The redirect from Spotify was not understood: {why}."),
                "Start the login again; if it keeps happening, check the redirect URI registered on the dashboard.",
            ),
            E::StateMismatch => Diagnosis::new(
                Code::CallbackStateMismatch,
                "A redirect arrived that does not belong to this login (its state did not match), so it was refused.",
                "Finish the login in the browser tab Spotoken opened, or start the login again.",
            ),
            E::AccessDenied => Diagnosis::new(
                Code::LoginDenied,
                "Access was declined on Spotify's consent page.",
                "Start the login again and choose Agree.",
            ),
            E::AuthorizationError { error, description } => Diagnosis::new(
                Code::LoginError,
                format!(
                    "Spotify's consent page answered \"{error}\"{}.",
                    description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
                ),
                "Check the Client ID, the scopes and the redirect URIs registered on the dashboard, then log in again.",
            ),
            E::LoginTimeout(waited) => Diagnosis::new(
                Code::LoginTimeout,
                format!("No answer came back from Spotify within {}.", human_duration(waited.as_secs() as i64)),
                "Start the login again and finish it in the browser. If Spotify's page said \"redirect_uri: Not matching configuration\" or \"INVALID_CLIENT: Invalid redirect URI\", register http://127.0.0.1/callback (no port) on the dashboard; \"redirect_uri: Insecure\": use 127.0.0.1, not localhost; \"client_id: Invalid\" or \"INVALID_CLIENT: Invalid client\": copy the Client ID again.",
            ),
            E::NoLoginPending => Diagnosis::new(
                Code::LoginNotPending,
                "A redirect from Spotify arrived, but no login is waiting for it (it finished, timed out or was cancelled).",
                "Click Log in and finish in the browser tab Spotoken opens.",
            ),
            E::ApprovalUnavailable { program, why } => Diagnosis::new(
                Code::ApprovalUnavailable,
                format!("This account asks before a new program gets a token, and {program} is new to it: {why}."),
                "Start the Spotoken app (its window asks you) and run this again; or turn off \"Ask before a new program gets a token\" on the account's card.",
            ),
            E::HandOutDenied { program } => Diagnosis::new(
                Code::HandoutDenied,
                format!("A token for {program} was denied in the Spotoken window."),
                "Run it again and choose Allow if you meant it to have one.",
            ),
            E::LoginCancelled => {
                Diagnosis::new(Code::LoginCancelled, "The login was cancelled.", "Log in again when ready.")
            }
            E::Loopback(why) => Diagnosis::new(
                Code::LoopbackUnavailable,
                format!("Cannot listen on 127.0.0.1 for Spotify's redirect: {why}."),
                "Free the port, choose another with --port, or use the desktop app's deep link.",
            ),
            E::TokenEndpoint { error, description, .. } => token_endpoint(error, description),
            E::WebApi { status, message } => web_api(*status, message),
            E::RateLimited { retry_after } => Diagnosis::new(
                Code::RateLimited,
                format!(
                    "Spotify is rate limiting this Client ID{}.",
                    retry_after.map(|d| format!(" (retry after {} s)", d.as_secs())).unwrap_or_default()
                ),
                "Wait and try again; the quota is shared by all of one developer's apps.",
            ),
            E::ServerError { status } => Diagnosis::new(
                Code::SpotifyUnavailable,
                format!("Spotify's accounts service is failing (HTTP {status}). Your sign-in is kept."),
                "Try again in a minute.",
            ),
            E::Network(why) => Diagnosis::new(
                Code::NetworkDown,
                format!("Spotify cannot be reached: {why}. Your sign-in is kept."),
                "Check the network connection and try again.",
            ),
            E::UnexpectedResponse { what, detail } => Diagnosis::new(
                Code::UnexpectedResponse,
                format!("{what} sent an answer Spotoken does not understand: {detail}."),
                "Try again; if SPOTOKEN_ACCOUNTS_URL or SPOTOKEN_API_URL is set, check it points at Spotify.",
            ),
            E::KeychainNoService(_) => Diagnosis::new(
                Code::KeychainUnavailable,
                "No keychain (Secret Service) is running in this session.",
                "Install and start one, e.g. gnome-keyring or KeePassXC with Secret Service enabled (in a headless session: `echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets`); on a server or in a container, use the encrypted-file store instead (SPOTOKEN_STORE=encrypted-file with a key from `spotoken store-key`).",
            ),
            E::KeychainNoBus(_) => Diagnosis::new(
                Code::KeychainNoSessionBus,
                "There is no D-Bus session bus, so the keychain cannot be reached.",
                "Run inside a desktop session, or start one with `dbus-run-session -- SHELL` and unlock gnome-keyring in it; on a server or in a container, use the encrypted-file store instead (SPOTOKEN_STORE=encrypted-file with a key from `spotoken store-key`).",
            ),
            E::KeychainLocked(provider) => Diagnosis::new(
                Code::KeychainLocked,
                format!("{} is locked.", provider.locked_thing()),
                format!("{} Then try again.", provider.unlock_fix()),
            ),
            E::KeychainTimeout(waited, provider) => Diagnosis::new(
                Code::KeychainTimeout,
                format!(
                    "{} did not answer within {} s: it is probably locked and waiting for its password (its unlock \
                     window may still be open).",
                    capitalised(provider.name()),
                    waited.as_secs()
                ),
                format!(
                    "{} Then try again: the same unlock window is used, no second one opens. {}{}",
                    provider.unlock_fix(),
                    crate::provider::WAIT_LONGER,
                    if *provider == crate::provider::Provider::GnomeKeyring {
                        " If gnome-keyring stopped answering altogether, restart it (`gnome-keyring-daemon --replace`)."
                    } else {
                        ""
                    }
                ),
            ),
            E::KeychainUnlockCancelled { account, provider } => Diagnosis::new(
                Code::KeychainUnlockCancelled,
                format!(
                    "The unlock of {} was cancelled, so the tokens for {account} could not be read; nothing was \
                     removed.",
                    provider.name()
                ),
                format!("Try again and unlock {} when it asks.", provider.name()),
            ),
            E::KeychainNoCollection(provider) => Diagnosis::new(
                Code::KeychainNoCollection,
                format!("{} offers no place to keep tokens: it has no collection.", capitalised(provider.name())),
                provider.no_collection_fix(),
            ),
            E::KeychainEntryMissing(id) => Diagnosis::new(
                Code::KeychainEntryMissing,
                format!("The keychain holds no tokens for {id} (it was deleted or this is another keychain)."),
                "Sign in again.",
            )
            .then(NextStep::SignIn { account: Some(id.clone()) }),
            E::KeychainEntryCut(id) => Diagnosis::new(
                Code::KeychainEntryCut,
                format!(
                    "The keychain gave back only the first line of the tokens for {id}. gnome-keyring keeps a keyring \
                     that has no password as a text file and loses all but the first line of a secret when it starts \
                     again; earlier versions of Spotoken stored tokens on several lines."
                ),
                "Sign in again. Tokens are now stored on one line, which such a keyring keeps; a keyring password \
                 (Passwords and Keys → Change Password) also keeps them encrypted on disk.",
            )
            .then(NextStep::SignIn { account: Some(id.clone()) }),
            E::Keychain(why) => Diagnosis::new(
                Code::KeychainError,
                format!("The keychain failed: {why}."),
                "Check that the keyring is unlocked and working (`secret-tool search service spotoken`).",
            ),
            E::StoreUnknown(name) => Diagnosis::new(
                Code::StoreUnknown,
                format!("\"{}\" is not a token store Spotoken has.", crate::text::clean(name)),
                "Set store (settings.toml) or SPOTOKEN_STORE to secret-service (the OS keychain) or encrypted-file.",
            ),
            E::StoreKeyMissing => Diagnosis::new(
                Code::StoreKeyMissing,
                "The encrypted-file store needs a key, and none was given.",
                "Make one with `spotoken store-key FILE` and name it in SPOTOKEN_KEY_FILE (or give it to a systemd \
                 service as the credential `spotoken-key`, found through CREDENTIALS_DIRECTORY).",
            ),
            E::StoreKeyUnusable { path, why } => Diagnosis::new(
                Code::StoreKeyUnusable,
                format!("The key file {} cannot be used: {why}.", path.display()),
                "Point SPOTOKEN_KEY_FILE at the file `spotoken store-key` wrote (an age identity, AGE-SECRET-KEY-1…).",
            ),
            E::StoreKeyWrong { key, file } => Diagnosis::new(
                Code::StoreKeyWrong,
                format!(
                    "The key in {} does not open {}: another key wrote it. Nothing was changed.",
                    key.display(),
                    file.display()
                ),
                "Use the key the tokens were stored with; or sign in again with this key (`spotoken login`), which \
                 replaces them.",
            ),
            E::AgentRunning(path) => Diagnosis::new(
                Code::AgentRunning,
                format!("Another Spotoken agent (or the app) already serves tokens on {}.", path.display()),
                "Use that one; stop it first to start another here, or set SPOTOKEN_AGENT_SOCKET to listen elsewhere.",
            ),
            E::Agent(diagnosis) => diagnosis.clone(),
            E::PaginationStopped { pages, why } => Diagnosis::new(
                Code::PaginationStopped,
                format!(
                    "Stopped following `next` after {pages} page{}: {why}. What was fetched is printed.",
                    if *pages == 1 { "" } else { "s" }
                ),
                "If the list really is that long, raise --max-pages; otherwise page by hand with offset and limit.",
            ),
            E::LockTimeout(id) => Diagnosis::new(
                Code::LockTimeout,
                format!("Another Spotoken process kept refreshing {id} for too long."),
                "Try again; if it persists, look for a stuck spotoken process.",
            ),
            E::Io { action, path, source } => Diagnosis::new(
                Code::IoError,
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
            Code::CodeInvalid,
            format!("{said} The code was already used, expired, or belongs to another login."),
            "Start the login again.",
        ),
        ("invalid_grant", "Authorization code expired") => Diagnosis::new(
            Code::CodeExpired,
            format!("{said} The consent took too long."),
            "Start the login again and finish it promptly.",
        ),
        ("invalid_grant", "code_verifier was incorrect") => Diagnosis::new(
            Code::PkceMismatch,
            format!("{said} The redirect belongs to a different login attempt."),
            "Start the login again and use only the newest browser tab.",
        ),
        ("invalid_grant", "Invalid redirect URI") => Diagnosis::new(
            Code::RedirectUriMismatch,
            format!("{said} The redirect URI differs from the one the login started with."),
            "Start the login again; register http://127.0.0.1/callback and spotoken://callback on the dashboard.",
        ),
        ("invalid_grant", "Invalid refresh token" | "Refresh token revoked") => Diagnosis::new(
            Code::RefreshRevoked,
            format!("{said} Access was revoked, or the 6-month limit ran out."),
            "Sign in again.",
        )
        .then(NextStep::SignIn { account: None }),
        ("invalid_client", _) => Diagnosis::new(
            Code::ClientInvalid,
            format!("{said} The Client ID is wrong or the app was deleted."),
            format!("Copy the Client ID from your app at {DASHBOARD_URL}."),
        )
        .then(NextStep::SetClientId),
        _ => Diagnosis::new(
            Code::TokenEndpointError,
            said,
            "Start the login again; if it repeats, check the app on the Spotify dashboard.",
        ),
    }
}

fn web_api(status: u16, message: &str) -> Diagnosis {
    let said = format!("Spotify's Web API said \"{message}\" (HTTP {status}).");
    match (status, message) {
        (401, "The access token expired") => {
            Diagnosis::new(Code::AccessTokenExpired, said, "Run `spotoken token` again; it refreshes first.")
        }
        (401, _) => {
            Diagnosis::new(Code::AccessTokenInvalid, said, "Sign in again.").then(NextStep::SignIn { account: None })
        }
        (403, "Insufficient client scope") => Diagnosis::new(
            Code::ScopeMissing,
            format!("{said} A scope this call needs was not granted."),
            "Sign in again granting the missing scope; Spotoken asks Spotify to show the consent page again.",
        )
        .then(NextStep::AddScopes { account: None, scopes: Vec::new() }),
        // JSON's "User not registered in the Developer Dashboard", or the plain text "The
        // user is not registered for this application…" Spotify also sends (2026).
        (403, m) if m.to_ascii_lowercase().contains("not registered") => Diagnosis::new(
            Code::UserNotRegistered,
            format!("{said} The app is in development mode and this person is not on its list."),
            format!("Add the person's Spotify email under User Management at {DASHBOARD_URL} (up to 5 users)."),
        )
        .then(NextStep::Open { page: WebPage::Dashboard }),
        (403, "Active premium subscription required for the owner of the app") => Diagnosis::new(
            Code::PremiumRequired,
            format!("{said} Development-mode apps need a Premium owner."),
            "The dashboard owner of this Client ID needs an active Premium subscription.",
        ),
        _ => {
            Diagnosis::new(Code::WebApiError, said, "Try again; if it repeats, check the app on the Spotify dashboard.")
        }
    }
}

/// "KeePassXC", "The keychain": a name at the start of a sentence.
pub(crate) fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
impl From<Error> for Diagnosis {
    fn from(e: Error) -> Self {
        e.diagnose()
    }
}
