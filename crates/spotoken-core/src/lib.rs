//! Spotoken's engine: gets, keeps and refreshes Spotify Web API tokens.
//!
//! Everything about OAuth, PKCE, the keychain, refreshing and explaining failures lives
//! here, with no Tauri in it, so the `spotoken` command line and the desktop app share
//! one behaviour and the tests build fast. Start at [`Engine`].

pub mod activity;
#[cfg(unix)]
pub mod agent;
pub mod auth;
pub mod background;
pub mod browser;
pub mod call;
pub mod catalog;
pub mod client_id;
pub mod clock;
pub mod config;
pub mod diagnose;
mod engine;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod login_flow;
pub mod platform;
pub mod provider;
mod refresh;
mod retry;
pub mod scopes;
pub mod secret;
pub mod shutdown;
pub mod spotify;
pub mod status;
pub mod store;
pub mod text;

/// What the property tests share: a fixed seed and a bounded number of cases, so CI
/// runs the same cases every time.
#[cfg(test)]
pub(crate) fn proptest_config() -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: 512,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5107_0CE2),
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

pub use auth::login::{LoginRequest, PendingLogin};
pub use auth::loopback::{DEFAULT_LOGIN_TIMEOUT, LoopbackListener};
pub use clock::{Clock, ClockStyle, ManualClock, SystemClock, Timestamp};
pub use config::{Endpoints, Paths, RedirectKind, Settings};
pub use diagnose::{Code, Diagnosis, ExitClass, NextStep};
pub use engine::{Engine, LoopbackLogin, SignedOut};
pub use error::{Error, Result};
pub use refresh::FreshToken;
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use status::{AccountState, AccountStatus, StatusReport};
pub use store::accounts::AccountRecord;
pub use store::keychain::Keychain;
pub use store::tokens::{MemoryStore, TokenStore};
