use super::*;
use crate::error::Error;
use crate::error::explain::capitalised;
use crate::provider::Provider;
use std::time::Duration;

fn endpoint(error: &str, description: &str) -> String {
    Error::TokenEndpoint { status: 400, error: error.into(), description: description.into() }
        .diagnose()
        .code
        .to_string()
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
fn codes_are_written_as_their_names_and_an_unknown_one_reads_as_unknown() {
    let mut seen = std::collections::HashSet::new();
    for &code in Code::ALL {
        assert!(seen.insert(code.as_str()), "{code} twice");
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{code}\""));
        assert_eq!(serde_json::from_str::<Code>(&json).unwrap(), code);
    }
    assert!(Code::Unknown == "unknown" && Code::Unknown != "other", "a code equals its own name only");
    assert_eq!(serde_json::from_str::<Code>("\"from_a_newer_version\"").unwrap(), Code::Unknown);
    let stored = r#"{"code":"from_a_newer_version","message":"m","fix":"f"}"#;
    assert_eq!(serde_json::from_str::<Diagnosis>(stored).unwrap().code, Code::Unknown);
}

#[test]
fn a_next_step_is_a_command_on_the_command_line_and_words_for_everyone_else() {
    let d = Error::NeedsSignIn { account: "ann".into(), reason: "revoked".into() }.diagnose();
    assert_eq!(d.next, Some(NextStep::SignIn { account: Some("ann".into()) }));
    assert!(!d.fix.contains("spotoken"), "{}", d.fix);
    assert!(d.fix_for_command_line().ends_with("Run `spotoken login --account ann`."), "{}", d.fix_for_command_line());

    let d = Error::AmbiguousAccount(vec!["ann".into(), "bob".into()]).diagnose();
    assert!(d.fix_for_command_line().contains("`--account ID`, one of: ann, bob"), "{}", d.fix_for_command_line());

    // A page's address is in the fix already: the command line adds nothing.
    let d = Error::WebApi { status: 403, message: "User not registered in the Developer Dashboard".into() }.diagnose();
    assert_eq!(d.next, Some(NextStep::Open { page: WebPage::Dashboard }));
    assert_eq!(d.fix_for_command_line(), d.fix);

    // Stored before next steps existed: still read.
    let old = r#"{"code":"needs_sign_in","message":"m","fix":"f"}"#;
    assert_eq!(serde_json::from_str::<Diagnosis>(old).unwrap().next, None);
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
    let codes: Vec<Code> = [
        Error::KeychainNoService("x".into()),
        Error::KeychainNoBus("x".into()),
        Error::KeychainLocked(Provider::KeePassXc),
        Error::KeychainTimeout(Duration::from_secs(3), Provider::KeePassXc),
        Error::KeychainUnlockCancelled { account: "me".into(), provider: Provider::KeePassXc },
        Error::KeychainNoCollection(Provider::KeePassXc),
        Error::KeychainEntryMissing("me".into()),
        Error::KeychainEntryCut("me".into()),
    ]
    .iter()
    .map(|e| e.diagnose().code)
    .collect();
    let unique: std::collections::HashSet<&Code> = codes.iter().collect();
    assert_eq!(unique.len(), codes.len(), "{codes:?}");
    assert!(codes.iter().all(|c| c.as_str().starts_with("keychain_")));
}

// Written for the mutants the engine's tests left alive.

#[test]
fn only_the_apps_own_codes_are_app_only() {
    let app: Vec<&str> = Code::ALL.iter().filter(|c| c.app_only()).map(|c| c.as_str()).collect();
    assert_eq!(
        app,
        [
            "browser_unavailable",
            "clipboard_error",
            "window_error",
            "autostart_error",
            "activity_unreadable",
            "ipc_error"
        ]
    );
}

#[test]
fn pages_and_commands_are_the_exact_ones() {
    assert_eq!(WebPage::Dashboard.url(), DASHBOARD_URL);
    assert_eq!(WebPage::AccountApps.url(), REVOKE_URL);
    assert!(DASHBOARD_URL.starts_with("https://developer.spotify.com/") && REVOKE_URL.starts_with("https://"));
    let step = NextStep::add_scopes("ann", &["user-read-private".to_string()], &["user-top-read"]);
    let login = "spotoken login --account ann --show-dialog --scope user-read-private --scope user-top-read";
    assert_eq!(step.add_scopes_login().as_deref(), Some(login));
    assert_eq!(step.command(), Some(format!("Run `{login}`.")));
    // Scopes not known: no command beyond the fix.
    let unknown = NextStep::AddScopes { account: Some("ann".into()), scopes: Vec::new() };
    assert_eq!(unknown.add_scopes_login(), None);
    assert_eq!(
        unknown.command().as_deref(),
        Some("Run `spotoken login --account ann --scope SCOPE` (`spotoken login --help` lists them).")
    );
}

#[test]
fn a_diagnosis_reads_as_its_message_and_fix() {
    let d = Error::NoAccount.diagnose();
    assert_eq!(d.to_string(), format!("{} {}", d.message, d.fix));
    // Names start sentences capitalised.
    let d = Error::KeychainTimeout(Duration::from_secs(3), Provider::OtherSecretService).diagnose();
    assert!(d.message.starts_with("The keychain did not answer within 3 s"), "{}", d.message);
    let d = Error::KeychainNoCollection(Provider::KeePassXc).diagnose();
    assert!(d.message.starts_with("KeePassXC offers no place"), "{}", d.message);
    assert_eq!(capitalised(""), "");
}

#[test]
fn each_exit_class_has_its_documented_code() {
    use ExitClass::*;
    let classes = [Other, Usage, Config, SignIn, Unavailable, Keychain, LoginFailed, NotAllowed];
    assert_eq!(classes.map(ExitClass::exit_code), [1, 2, 3, 4, 5, 6, 7, 8]);
}
