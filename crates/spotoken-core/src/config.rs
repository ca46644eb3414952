//! Where Spotoken reads its settings and keeps its files, and which Spotify it talks to.
//!
//! Settings are a small TOML file in the platform's config folder (`$XDG_CONFIG_HOME`
//! on Linux); the Client ID may come from `SPOTOKEN_CLIENT_ID` instead. Endpoints
//! default to Spotify's and are replaced by `SPOTOKEN_ACCOUNTS_URL` / `SPOTOKEN_API_URL`
//! (the sandbox and the tests use these). Nothing secret is ever written here.

pub use crate::client_id::{CLIENT_ID_LEN, ClientId};
use crate::error::{Error, Result};
use crate::scopes;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use url::Url;

pub const DEFAULT_ACCOUNTS_URL: &str = "https://accounts.spotify.com";
pub const DEFAULT_API_URL: &str = "https://api.spotify.com";
pub const DEEP_LINK_REDIRECT: &str = "spotoken://callback";
/// The loopback URI to register on the dashboard: Spotify lets the port vary.
pub const LOOPBACK_REDIRECT_TO_REGISTER: &str = "http://127.0.0.1/callback";

/// How Spotify's redirect comes back to Spotoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum RedirectKind {
    /// `http://127.0.0.1:<port>/callback`: always works, needs nothing installed.
    #[default]
    Loopback,
    /// `spotoken://callback`: needs the desktop app's URL handler.
    DeepLink,
}

/// The person's settings, as stored in `settings.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub client_id: Option<String>,
    /// Scopes asked for by a login that names none.
    pub scopes: Vec<String>,
    pub redirect: RedirectKind,
    /// Fixed loopback port; 0 or absent picks a free one each time.
    pub loopback_port: u16,
    /// Seconds before a copied token is wiped from the clipboard; 0 disables it
    /// (absent: [`DEFAULT_CLIPBOARD_CLEAR_SECS`]; read it through [`Settings::clipboard_clear`]).
    pub clipboard_clear_secs: Option<u64>,
    /// More hand-outs than this for one account within a minute is a burst anomaly
    /// (default [`crate::activity::rules::DEFAULT_BURST_PER_MINUTE`]).
    pub burst_per_minute: Option<u32>,
    /// Anomaly codes shown as desktop notifications; absent: only
    /// `refresh_token_rejected_early`.
    pub notify_anomalies: Option<Vec<String>>,
    /// Accounts for which a program new to them waits for the person's approval in the
    /// app before `spotoken token` hands it a token.
    pub ask_before_new_program: Vec<String>,
    /// Where tokens are kept: `secret-service` (the OS keychain; the default) or
    /// `encrypted-file` (age-encrypted files in the data folder, for machines without a
    /// keychain). `SPOTOKEN_STORE` overrides it for one run.
    pub store: Option<String>,
}

/// A copied token is wiped from the clipboard after this long unless settings say otherwise.
pub const DEFAULT_CLIPBOARD_CLEAR_SECS: u64 = 60;

impl Settings {
    /// Seconds before a copied token is wiped from the clipboard; 0: never.
    pub fn clipboard_clear(&self) -> u64 {
        self.clipboard_clear_secs.unwrap_or(DEFAULT_CLIPBOARD_CLEAR_SECS)
    }

    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| Error::Settings { path: path.to_path_buf(), reason: e.message().to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io("read", path)(e)),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| Error::Settings { path: path.to_path_buf(), reason: e.to_string() })?;
        crate::store::write_atomically(path, text.as_bytes())
    }

    pub fn burst_limit(&self) -> u32 {
        self.burst_per_minute.unwrap_or(crate::activity::rules::DEFAULT_BURST_PER_MINUTE).max(1)
    }

    /// Whether an anomaly with `code` is shown as a desktop notification.
    pub fn notifies(&self, code: &str) -> bool {
        match &self.notify_anomalies {
            Some(codes) => codes.iter().any(|c| c == code),
            None => crate::activity::AnomalyCode::parse(code).is_some_and(|c| c.notifies_by_default()),
        }
    }

    /// Requested scopes, or the defaults when none are set.
    pub fn scopes_or_default(&self) -> Vec<String> {
        if self.scopes.is_empty() {
            scopes::DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
        } else {
            self.scopes.clone()
        }
    }
}

/// The Spotify endpoints Spotoken talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authorize: Url,
    pub token: Url,
    pub me: Url,
    /// The Web API's root (`https://api.spotify.com`), for `spotoken api`.
    pub api: Url,
}

impl Endpoints {
    pub fn new(accounts_base: &str, api_base: &str) -> Result<Self> {
        let join = |base: &str, path: &str| -> Result<Url> {
            let base = base.trim_end_matches('/');
            Url::parse(&format!("{base}{path}")).map_err(|e| Error::Settings {
                path: PathBuf::from("environment"),
                reason: format!("bad endpoint URL {base:?}: {e}"),
            })
        };
        Ok(Self {
            authorize: join(accounts_base, "/authorize")?,
            token: join(accounts_base, "/api/token")?,
            me: join(api_base, "/v1/me")?,
            api: join(api_base, "/")?,
        })
    }

    /// Spotify's, unless `SPOTOKEN_ACCOUNTS_URL` / `SPOTOKEN_API_URL` say otherwise.
    pub fn from_env() -> Result<Self> {
        let accounts = std::env::var("SPOTOKEN_ACCOUNTS_URL").unwrap_or_else(|_| DEFAULT_ACCOUNTS_URL.into());
        let api = std::env::var("SPOTOKEN_API_URL").unwrap_or_else(|_| DEFAULT_API_URL.into());
        Self::new(&accounts, &api)
    }
}

/// The folders Spotoken uses, following the platform's conventions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
}

impl Paths {
    /// `$XDG_CONFIG_HOME/spotoken`, `$XDG_DATA_HOME/spotoken`, `$XDG_STATE_HOME/spotoken`
    /// on Linux; the usual Application Support / AppData folders elsewhere.
    pub fn from_platform() -> Result<Self> {
        let dirs = directories::ProjectDirs::from("", "", "spotoken").ok_or_else(|| Error::Settings {
            path: PathBuf::from("$HOME"),
            reason: "no home folder to keep settings in".into(),
        })?;
        Ok(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
            state_dir: dirs.state_dir().unwrap_or(dirs.data_local_dir()).to_path_buf(),
        })
    }

    /// Everything under one folder; for tests and portable setups.
    pub fn under(root: &Path) -> Self {
        Self { config_dir: root.join("config"), data_dir: root.join("data"), state_dir: root.join("state") }
    }

    pub fn settings_file(&self) -> PathBuf {
        self.config_dir.join("settings.toml")
    }

    pub fn accounts_file(&self) -> PathBuf {
        self.data_dir.join("accounts.json")
    }

    /// The activity record: see [`crate::activity`].
    pub fn activity_dir(&self) -> PathBuf {
        self.data_dir.join("activity")
    }

    pub fn locks_dir(&self) -> PathBuf {
        self.state_dir.join("locks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_join_paths_onto_any_base() {
        let e = Endpoints::new("http://127.0.0.1:9/", "http://127.0.0.1:9").unwrap();
        assert_eq!(e.token.as_str(), "http://127.0.0.1:9/api/token");
        assert_eq!(e.authorize.as_str(), "http://127.0.0.1:9/authorize");
        assert_eq!(e.me.as_str(), "http://127.0.0.1:9/v1/me");
        assert!(Endpoints::new("not a url", "x").is_err());
    }

    #[test]
    fn settings_round_trip_and_reject_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/settings.toml");
        assert_eq!(Settings::load(&path).unwrap(), Settings::default());
        let settings = Settings {
            client_id: Some("0123456789abcdef0123456789abcdef".into()),
            scopes: vec!["user-top-read".into()],
            redirect: RedirectKind::DeepLink,
            loopback_port: 0,
            clipboard_clear_secs: Some(30),
            burst_per_minute: Some(10),
            notify_anomalies: Some(vec!["new_program".into()]),
            ask_before_new_program: vec!["ann".into()],
            store: Some("encrypted-file".into()),
        };
        settings.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), settings);
        std::fs::write(&path, "client_idd = \"x\"\n").unwrap();
        assert!(matches!(Settings::load(&path), Err(Error::Settings { .. })));
    }

    #[test]
    fn unset_settings_read_as_their_defaults() {
        let default = Settings::default();
        assert_eq!(default.clipboard_clear(), DEFAULT_CLIPBOARD_CLEAR_SECS);
        assert_eq!(Settings { clipboard_clear_secs: Some(0), ..Settings::default() }.clipboard_clear(), 0);
        assert_eq!(default.scopes_or_default(), scopes::DEFAULT_SCOPES);
        let chosen = Settings { scopes: vec!["user-top-read".into()], ..Settings::default() };
        assert_eq!(chosen.scopes_or_default(), ["user-top-read"]);
    }

    #[test]
    fn only_a_missing_settings_file_reads_as_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be: an error naming it, not the defaults
        // (which a later save would write over whatever the person meant).
        let path = dir.path().join("settings.toml");
        std::fs::create_dir(&path).unwrap();
        assert!(matches!(Settings::load(&path), Err(Error::Io { path: p, .. }) if p == path));
    }

    #[test]
    fn locks_are_kept_with_the_state_not_the_data() {
        let paths = Paths::under(Path::new("/home/ann"));
        assert_eq!(paths.locks_dir(), Path::new("/home/ann/state/locks"));
        assert_eq!(paths.activity_dir(), Path::new("/home/ann/data/activity"));
    }

    #[test]
    fn only_the_first_rule_notifies_unless_chosen() {
        let default = Settings::default();
        assert!(default.notifies("refresh_token_rejected_early"));
        assert!(!default.notifies("new_program") && !default.notifies("burst"));
        assert_eq!(default.burst_limit(), 30);
        let chosen = Settings { notify_anomalies: Some(vec!["burst".into()]), burst_per_minute: Some(0), ..default };
        assert!(chosen.notifies("burst") && !chosen.notifies("refresh_token_rejected_early"));
        assert_eq!(chosen.burst_limit(), 1, "0 would raise on every hand-out");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(crate::proptest_config())]

            /// Any file: read without panic (an error names the file); anything written
            /// reads back the same.
            #[test]
            fn any_settings_file_loads_or_says_why(text in "\\PC{0,120}") {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("settings.toml");
                std::fs::write(&path, &text).unwrap();
                match Settings::load(&path) {
                    Ok(_) => {}
                    Err(Error::Settings { path: p, .. }) => prop_assert_eq!(p, path),
                    Err(other) => prop_assert!(false, "unexpected {other:?}"),
                }
            }

            #[test]
            fn saved_settings_read_back(
                client_id in proptest::option::of("[0-9a-f]{32}"),
                scopes in proptest::collection::vec("[a-z-]{1,20}", 0..4),
                deep in any::<bool>(),
                port in any::<u16>(),
                clear in proptest::option::of(any::<u64>().prop_map(|n| n % (1 << 53))),
                burst in proptest::option::of(any::<u32>()),
                notify in proptest::option::of(proptest::collection::vec("[a-z_]{1,30}", 0..3)),
            ) {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("settings.toml");
                let settings = Settings {
                    client_id,
                    scopes,
                    redirect: if deep { RedirectKind::DeepLink } else { RedirectKind::Loopback },
                    loopback_port: port,
                    clipboard_clear_secs: clear,
                    burst_per_minute: burst,
                    notify_anomalies: notify,
                    ask_before_new_program: Vec::new(),
                    store: None,
                };
                settings.save(&path).unwrap();
                prop_assert_eq!(Settings::load(&path).unwrap(), settings);
            }
        }
    }
}
