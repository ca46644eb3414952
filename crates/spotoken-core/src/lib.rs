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

/// Runs the test named `test` (its path in this crate, `clock::tests::…`) again in a
/// child run of this test binary, with `envs` added to its environment, and hands back
/// what the child wrote to the file named by `SPOTOKEN_TEST_CHILD_OUT`: for what only a
/// process of its own can show (its environment, its parent), since a test cannot
/// change its own process's environment while others run. The child test finds that
/// variable set and writes its findings there instead of starting another child.
#[cfg(test)]
pub(crate) fn run_as_child(test: &str, envs: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("child.txt");
    let run = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--quiet", "--test-threads=1"])
        .envs(envs.iter().copied())
        .env(TEST_CHILD_OUT, &out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{test} as a child: {}", String::from_utf8_lossy(&run.stdout));
    std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{test} as a child wrote nothing: {e}"))
}

/// See [`run_as_child`].
#[cfg(test)]
pub(crate) const TEST_CHILD_OUT: &str = "SPOTOKEN_TEST_CHILD_OUT";

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
