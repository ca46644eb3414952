//! Benchmark: `spotoken token` on a valid stored token, as a whole process, beside
//! `secret-tool lookup` reading the same keychain entry, in the same run.
//!
//! Each hand-out is written to the activity record, so it is timed twice: with a
//! fresh record and with one filled to its 10 MB limit. With `SPOTOKEN_BENCH_BASELINE`
//! set to another `spotoken` binary (`scripts/bench --baseline REV` builds one), that
//! binary is timed in the same run, interleaved.
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

fn time_one(mut cmd: Command) -> Option<Duration> {
    let started = Instant::now();
    let out = cmd.output().unwrap();
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(elapsed)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// What writing one hand-out and running the rules on it cost, without the process
/// around it: against a record with a busy minute in it (the rules read that minute).
fn in_process_cost(h: &support::Harness) -> (Duration, Duration) {
    use spotoken_core::activity::{Activity, Channel, Event, Program, Recipient};
    let dir = tempfile::tempdir().unwrap();
    let record = Activity::new(dir.path().join("activity"), dir.path().join("activity.lock"));
    // The signed-in account, as the engine stored it.
    let accounts = spotoken_core::store::accounts::AccountStore::new(
        h.home().join("data/spotoken/accounts.json"),
        h.home().join("state/spotoken/accounts.lock"),
    );
    let account = accounts.get(&h.user.id).unwrap();
    let program = Program { name: "bash".into(), path: Some("/usr/bin/bash".into()) };
    let to = Recipient { channel: Channel::CliToken, program: Some(program.clone()) };
    let token = spotoken_core::secret::AccessToken::of("not-a-real-token".to_string());
    let now = spotoken_core::Clock::now(&spotoken_core::SystemClock);
    let (mut write, mut check) = (Vec::new(), Vec::new());
    for _ in 0..1001 {
        let started = Instant::now();
        record.record(&Event::handout(now, &account.id, &to, Ok((&token, false))));
        write.push(started.elapsed());
        let started = Instant::now();
        record.check_handout(&account, Some(&program), now, 30);
        check.push(started.elapsed());
    }
    (median(write), median(check))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let h = support::Harness::new("bench").await;
    let login = h.login(&[]).await;
    assert!(login.output.status.success(), "{}", support::stderr(&login.output));

    let baseline = std::env::var("SPOTOKEN_BENCH_BASELINE").ok().filter(|b| !b.is_empty());
    let run = |binary: &str| {
        let mut cmd = Command::new(binary);
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
    let spotoken = || run(env!("CARGO_BIN_EXE_spotoken"));
    // Warm up once (page cache, keyring), then interleave the series.
    time_runs(spotoken);
    time_runs(lookup);
    let ours = median(time_runs(spotoken));
    let theirs = median(time_runs(lookup));
    // Alternating run by run, so drift in the machine's load hits both alike.
    let paired = baseline.as_deref().map(|b| {
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            mine.extend(time_one(spotoken()));
            theirs.extend(time_one(run(b)));
        }
        (median(mine), median(theirs))
    });
    let ours_again = median(time_runs(spotoken));
    let (through_agent, raw_request) = time_agent(&h, &run);
    let full = fill_record(&h);
    let ours_full = median(time_runs(spotoken));
    assert!(h.sandbox.token_requests("refresh_token").is_empty(), "the benchmark must not refresh");

    println!("spotoken token (valid stored token), median of {RUNS} runs: {}", ms(ours));
    println!("  again, after the others:                           {}", ms(ours_again));
    println!("  with the activity record at {:.1} MB:                {}", full as f64 / 1e6, ms(ours_full));
    println!("secret-tool lookup (same entry), median of {RUNS} runs:      {}", ms(theirs));
    println!("ratio: {:.2}x (target: at most 1.5x)", ours.as_secs_f64() / theirs.as_secs_f64());
    if let (Some(b), Some((mine, before))) = (&baseline, paired) {
        println!(
            "alternating run by run, median of {RUNS} each: this build {}, baseline {} ({b})",
            ms(mine),
            ms(before)
        );
        let delta = (mine.as_secs_f64() - before.as_secs_f64()) * 1000.0;
        println!("this build minus baseline: {delta:+.2} ms (target: at most +1 ms)");
    }
    println!("spotoken token through a running agent, median of {RUNS} runs: {}", ms(through_agent));
    println!(
        "  ratio to secret-tool lookup: {:.2}x (target: at most 0.3x)",
        through_agent.as_secs_f64() / theirs.as_secs_f64()
    );
    println!("a raw request on the agent's socket (connect, GET /v1/token, read), median of 1001: {}", us(raw_request));
    let (write, check) = in_process_cost(&h);
    println!("in process, median of 1001: record a hand-out {}, check it against the rules {}", us(write), us(check));
    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_spotoken")).unwrap().len();
    println!("spotoken binary: {:.1} MB", binary as f64 / 1_000_000.0);
    h.run(&["logout"]).await;
}

/// `spotoken token` through a running `spotoken agent`, as whole processes, and a raw
/// HTTP request on its socket from this process.
fn time_agent(h: &support::Harness, run: &dyn Fn(&str) -> Command) -> (Duration, Duration) {
    use std::io::{Read, Write};
    let socket = h.home().join("bench-agent/agent.sock");
    // `run` makes `spotoken token`: the agent gets the same environment.
    let template = run(env!("CARGO_BIN_EXE_spotoken"));
    let mut agent = Command::new(env!("CARGO_BIN_EXE_spotoken"));
    agent.arg("agent").env("SPOTOKEN_AGENT_SOCKET", &socket).stderr(std::process::Stdio::null());
    for (k, v) in template.get_envs() {
        if let Some(v) = v {
            agent.env(k, v);
        }
    }
    let mut agent = agent.spawn().unwrap();
    let started = Instant::now();
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the agent did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let through = || {
        let mut cmd = run(env!("CARGO_BIN_EXE_spotoken"));
        cmd.env("SPOTOKEN_AGENT_SOCKET", &socket);
        cmd
    };
    time_runs(through);
    let processes = median(time_runs(through));
    let raw = (0..1001)
        .map(|_| {
            let started = Instant::now();
            let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
            stream.write_all(b"GET /v1/token HTTP/1.1\r\nHost: agent\r\n\r\n").unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            let elapsed = started.elapsed();
            assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
            elapsed
        })
        .collect();
    let _ = agent.kill();
    let _ = agent.wait();
    (processes, median(raw))
}

/// Fills the activity record to just under its limit with hand-outs over the last 80
/// days, as months of heavy use would; returns its size in bytes.
fn fill_record(h: &support::Harness) -> u64 {
    use spotoken_core::activity::{Activity, Channel, Event, Program, Recipient};
    let dir = h.home().join("data/spotoken/activity");
    let record = Activity::new(dir.clone(), h.home().join("state/spotoken/activity.lock"));
    let to = Recipient {
        channel: Channel::CliToken,
        program: Some(Program { name: "bash".into(), path: Some("/usr/bin/bash".into()) }),
    };
    let token = spotoken_core::secret::AccessToken::of("not-a-real-token".to_string());
    let now = spotoken_core::Clock::now(&spotoken_core::SystemClock);
    let size = || -> u64 { std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.metadata().unwrap().len()).sum() };
    let mut at = now.plus_secs(-80 * 86_400);
    while size() < 9_000_000 {
        for _ in 0..5_000 {
            record.record(&Event::handout(at, &h.user.id, &to, Ok((&token, false))));
            at = at.plus_secs(120);
        }
    }
    size()
}
