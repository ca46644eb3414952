//! Benchmark: `spotoken token` on a valid stored token, as a whole process, beside
//! `secret-tool lookup` reading the same keychain entry, in the same run.
//!
//! Run it with `scripts/bench` (it needs the private keyring session). It prints
//! figures; it asserts nothing about speed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 31;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time_runs(mut make: impl FnMut() -> Command) -> Vec<Duration> {
    (0..RUNS)
        .map(|_| {
            let mut cmd = make();
            let started = Instant::now();
            let out = cmd.output().unwrap();
            let elapsed = started.elapsed();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            elapsed
        })
        .collect()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let h = support::Harness::new("bench").await;
    let login = h.login(&[]).await;
    assert!(login.output.status.success(), "{}", support::stderr(&login.output));

    let spotoken = |_: ()| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_spotoken"));
        cmd.arg("token")
            .env("XDG_CONFIG_HOME", h.home().join("config"))
            .env("XDG_DATA_HOME", h.home().join("data"))
            .env("XDG_STATE_HOME", h.home().join("state"))
            .env("SPOTOKEN_ACCOUNTS_URL", h.sandbox.url())
            .env("SPOTOKEN_API_URL", h.sandbox.url());
        cmd
    };
    let lookup = || {
        let mut cmd = Command::new("secret-tool");
        cmd.args(["lookup", "service", "spotoken", "username", &h.user.id]);
        cmd
    };
    // Warm both up once (page cache, keyring), then interleave the series.
    time_runs(|| spotoken(()));
    time_runs(lookup);
    let ours = median(time_runs(|| spotoken(())));
    let theirs = median(time_runs(lookup));
    assert!(h.sandbox.token_requests("refresh_token").is_empty(), "the benchmark must not refresh");

    println!("spotoken token (valid stored token), median of {RUNS} runs: {}", ms(ours));
    println!("secret-tool lookup (same entry), median of {RUNS} runs:      {}", ms(theirs));
    println!("ratio: {:.2}x (target: at most 1.5x)", ours.as_secs_f64() / theirs.as_secs_f64());
    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_spotoken")).unwrap().len();
    println!("spotoken binary: {:.1} MB", binary as f64 / 1_000_000.0);
    h.run(&["logout"]).await;
}
