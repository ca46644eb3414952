//! keyring's and D-Bus's failures turned into what a person can act on: by the D-Bus
//! error name when there is one, else by what the message says; never the stored secret.

use crate::error::Error;
use crate::provider::Provider;
use std::time::Duration;

/// The keychain did not answer in `waited`.
pub(super) fn timed_out(waited: Duration) -> Error {
    Error::KeychainTimeout(waited, Provider::detect())
}

pub(super) fn locked() -> Error {
    Error::KeychainLocked(Provider::detect())
}

/// Turns keyring's errors into ones a person can act on. Never formats `BadEncoding`,
/// whose payload is the stored secret.
pub(super) fn classify(account: &str, error: keyring::Error, timeout: Duration) -> Error {
    use keyring::Error as K;
    let detail = match &error {
        K::NoEntry => return Error::KeychainEntryMissing(account.to_string()),
        K::BadEncoding(_) => return Error::Keychain("the stored entry is not text".into()),
        K::Ambiguous(_) => {
            return Error::Keychain(format!("several keychain entries match account {account}"));
        }
        K::NoStorageAccess(e) | K::PlatformFailure(e) => e.to_string(),
        other => other.to_string(),
    };
    classify_text(&detail, timeout, matches!(error, K::NoStorageAccess(_)))
}

/// Classifies a keychain failure from its text: by the D-Bus error name in it when
/// there is one, else by what the message says.
pub(super) fn classify_text(detail: &str, timeout: Duration, no_storage_access: bool) -> Error {
    let detail = detail.to_string();
    // The D-Bus error name says what happened; its message is free text ("blocked",
    // "prompt"…) and is only consulted when no name is there.
    if let Some(name) = dbus_error_name(&detail) {
        let short = name.rsplit('.').next().unwrap_or_default();
        return match short {
            "ServiceUnknown" | "NameHasNoOwner" => Error::KeychainNoService(detail),
            "NoReply" | "Timeout" | "TimedOut" => timed_out(timeout),
            "IsLocked" => locked(),
            // `org.freedesktop.DBus.Error.Spawn.ExecFailed` ends in `ExecFailed`.
            "NoServer" | "FileNotFound" | "Disconnected" | "NotSupported" | "ExecFailed" => {
                Error::KeychainNoBus(detail)
            }
            _ => Error::Keychain(detail),
        };
    }
    let lower = detail.to_lowercase();
    let word = |w: &str| lower.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| t == w);
    if lower.contains("serviceunknown")
        || lower.contains("not provided by any .service files")
        || lower.contains("org.freedesktop.secrets")
    {
        Error::KeychainNoService(detail)
    } else if lower.contains("autolaunch")
        || lower.contains("dbus_session_bus_address")
        || lower.contains("failed to connect to socket")
        || lower.contains("no such file or directory")
        || lower.contains("connection refused")
    {
        Error::KeychainNoBus(detail)
    } else if lower.contains("did not receive a reply") {
        // libdbus's NoReply text, as the keyring crate passes it on without the name:
        // a keychain that stopped answering (hung, stopped, busy with a prompt).
        timed_out(timeout)
    } else if word("locked") || word("prompt") || no_storage_access {
        locked()
    } else {
        Error::Keychain(detail)
    }
}

/// The first D-Bus error name (`org.freedesktop.DBus.Error.NoReply`,
/// `org.freedesktop.Secret.Error.IsLocked`…) in an error's text.
fn dbus_error_name(text: &str) -> Option<&str> {
    text.match_indices("org.freedesktop.").find_map(|(start, _)| {
        let rest = &text[start..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_')).unwrap_or(rest.len());
        let name = rest[..end].trim_end_matches('.');
        name.contains(".Error.").then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_t(account: &str, error: keyring::Error) -> Error {
        classify(account, error, super::super::DEFAULT_TIMEOUT)
    }

    #[test]
    fn a_nameless_message_is_read_by_its_words() {
        let platform = |s: &str| keyring::Error::PlatformFailure(s.to_string().into());
        assert!(matches!(classify_t("a", platform("the collection is locked")), Error::KeychainLocked(_)));
        assert!(matches!(classify_t("a", platform("a prompt was dismissed")), Error::KeychainLocked(_)));
        // Whole words only: "unlocked" and "prompted" are not the words.
        assert!(matches!(classify_t("a", platform("unlocked but prompted")), Error::Keychain(_)));
    }

    #[test]
    fn dbus_failures_are_classified() {
        let platform = |s: &str| keyring::Error::PlatformFailure(s.to_string().into());
        assert!(matches!(
            classify_t(
                "a",
                platform(
                    "D-Bus error: The name org.freedesktop.secrets was not provided by any .service files (org.freedesktop.DBus.Error.ServiceUnknown)"
                )
            ),
            Error::KeychainNoService(_)
        ));
        assert!(matches!(
            classify_t("a", platform("D-Bus error: Unable to autolaunch a dbus-daemon without a $DISPLAY for X11")),
            Error::KeychainNoBus(_)
        ));
        assert!(matches!(
            classify_t("a", keyring::Error::NoStorageAccess("collection is locked".to_string().into())),
            Error::KeychainLocked(_)
        ));
        assert!(matches!(classify_t("a", keyring::Error::NoEntry), Error::KeychainEntryMissing(a) if a == "a"));
    }

    /// Each name and each phrase on its own, so that none of them is left unread.
    #[test]
    fn every_name_and_phrase_is_read() {
        let of = |s: &str| classify_text(s, Duration::from_secs(1), false);
        for name in ["NoServer", "FileNotFound", "Disconnected", "NotSupported", "Spawn.ExecFailed"] {
            let text = format!("it failed (org.freedesktop.DBus.Error.{name})");
            assert!(matches!(of(&text), Error::KeychainNoBus(_)), "{name}");
        }
        for name in ["ServiceUnknown", "NameHasNoOwner"] {
            let text = format!("it failed (org.freedesktop.DBus.Error.{name})");
            assert!(matches!(of(&text), Error::KeychainNoService(_)), "{name}");
        }
        for name in ["NoReply", "Timeout", "TimedOut"] {
            let text = format!("it failed (org.freedesktop.DBus.Error.{name})");
            assert!(matches!(of(&text), Error::KeychainTimeout(..)), "{name}");
        }
        for phrase in ["ServiceUnknown", "not provided by any .service files", "the org.freedesktop.secrets name"] {
            assert!(matches!(of(phrase), Error::KeychainNoService(_)), "{phrase}");
        }
        for phrase in [
            "cannot autolaunch",
            "DBUS_SESSION_BUS_ADDRESS is unset",
            "Failed to connect to socket /run/bus",
            "No such file or directory",
            "Connection refused",
        ] {
            assert!(matches!(of(phrase), Error::KeychainNoBus(_)), "{phrase}");
        }
        assert!(matches!(of("it went wrong"), Error::Keychain(_)));
        assert!(matches!(classify_text("it went wrong", Duration::from_secs(1), true), Error::KeychainLocked(_)));
    }

    #[test]
    fn the_dbus_error_name_decides_not_the_message() {
        let platform = |s: &str| keyring::Error::PlatformFailure(s.to_string().into());
        // libdbus's NoReply text says "blocked": that is not a locked keychain.
        let no_reply = "D-Bus error: Did not receive a reply. Possible causes include: the remote application did not \
                        send a reply, the message bus security policy blocked the reply, the reply timeout expired, or \
                        the network connection was broken. (org.freedesktop.DBus.Error.NoReply)";
        assert!(matches!(classify_t("a", platform(no_reply)), Error::KeychainTimeout(..)));
        // The same text without the name, as a stopped gnome-keyring gives it.
        let nameless = no_reply.trim_end_matches(" (org.freedesktop.DBus.Error.NoReply)");
        assert!(matches!(classify_t("a", platform(nameless)), Error::KeychainTimeout(..)));
        assert!(matches!(
            classify_t("a", platform("Cannot unlock (org.freedesktop.Secret.Error.IsLocked)")),
            Error::KeychainLocked(_)
        ));
        assert!(matches!(
            classify_t("a", platform("The name is not activatable (org.freedesktop.DBus.Error.NameHasNoOwner)")),
            Error::KeychainNoService(_)
        ));
        assert!(matches!(classify_t("a", platform("the reply was blocked by policy")), Error::Keychain(_)));
        assert_eq!(
            dbus_error_name("x (org.freedesktop.DBus.Error.NoReply)."),
            Some("org.freedesktop.DBus.Error.NoReply")
        );
        assert_eq!(dbus_error_name("name org.freedesktop.secrets was not provided"), None);
    }
}
