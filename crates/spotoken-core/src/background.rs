//! Keeping every account's access token fresh in the background, for the desktop app.
//!
//! The loop works out when something is next due — an access token `lead` before it
//! expires, a retry after a failure, the 7-day warning before a refresh token's 6
//! months run out — and sleeps until then on the **wall clock**, so a laptop that was
//! suspended wakes on time (a monotonic sleep would fire late by the length of the
//! suspend). When nothing is due it sleeps until told something changed: no polling.
//! Refreshes go through [`Engine::fresh_token`], so they share the cross-process lock
//! with the command line and keep every rule about refresh tokens.

use crate::clock::Timestamp;
use crate::diagnose::Diagnosis;
use crate::engine::Engine;
use crate::error::Error;
use crate::status::REFRESH_WARNING_SECS;
use crate::store::accounts::AccountRecord;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Refresh this long before an access token expires.
pub const DEFAULT_LEAD: Duration = Duration::from_secs(300);
const FIRST_RETRY_SECS: i64 = 60;
const MAX_RETRY_SECS: i64 = 1800;

/// Something the person may want to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshEvent {
    Refreshed {
        account: String,
    },
    /// A passing failure; the sign-in is kept and the refresh will be retried.
    Failed {
        account: String,
        diagnosis: Diagnosis,
        retry_in_secs: i64,
    },
    /// Spotify refused the refresh token: only a new login helps.
    NeedsSignIn {
        account: String,
        name: String,
        diagnosis: Diagnosis,
    },
    /// The refresh token's 6 months end within 7 days (said once per account per run).
    RefreshTokenEnding {
        account: String,
        name: String,
        seconds_left: i64,
    },
}

/// What is due now and when to look again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub due: Vec<String>,
    pub ending: Vec<(String, i64)>,
    pub next_wake: Option<Timestamp>,
}

/// Pure scheduling: which accounts to refresh at `now`, which to warn about, and when
/// the next thing falls due. Accounts that need sign-in are left alone.
pub fn plan(
    records: &[AccountRecord],
    now: Timestamp,
    lead: Duration,
    retry_at: &HashMap<String, Timestamp>,
    warned: &HashSet<String>,
) -> Plan {
    let lead = i64::try_from(lead.as_secs()).unwrap_or(i64::MAX);
    let mut out = Plan::default();
    let mut consider = |at: Timestamp| {
        // Only moments after `now` reach here (the callers send the rest elsewhere), so
        // `>=` would behave the same: an equivalent mutant that cargo-mutants reports.
        if at > now {
            out.next_wake = Some(out.next_wake.map_or(at, |w| w.min(at)));
        }
    };
    for r in records {
        let due_at = match retry_at.get(&r.id) {
            // Refused by Spotify: tried again at most hourly (it may have been wrong).
            _ if r.needs_sign_in => r.last_error_at.unwrap_or(now).plus_secs(REFUSED_RETRY_SECS),
            Some(retry) => *retry,
            None => r.access_expires_at.plus_secs(-lead),
        };
        if due_at <= now {
            out.due.push(r.id.clone());
        } else {
            consider(due_at);
        }
        let ends = r.refresh_expires_at();
        if !warned.contains(&r.id) && !r.needs_sign_in {
            let warn_at = ends.plus_secs(-REFRESH_WARNING_SECS);
            if warn_at <= now && ends > now {
                out.ending.push((r.id.clone(), ends.secs_after(now)));
            } else {
                consider(warn_at);
            }
        }
    }
    out
}

/// How often an account Spotify refused (`invalid_grant`) is tried again in the
/// background: its refresh token is kept in case Spotify was wrong.
pub const REFUSED_RETRY_SECS: i64 = 3600;

/// Seconds before retrying after the `failures`-th failure in a row: 1 minute,
/// doubling, at most 30 minutes.
pub fn retry_wait(failures: u32) -> i64 {
    (FIRST_RETRY_SECS << failures.saturating_sub(1).min(10)).min(MAX_RETRY_SECS)
}

/// Failures in a row per account, and the wait each one earns.
#[derive(Debug, Default)]
struct Failures(HashMap<String, u32>);

impl Failures {
    /// Counts a failure of `account`; the seconds to wait before trying again.
    fn record(&mut self, account: &str) -> i64 {
        let n = self.0.entry(account.to_string()).or_insert(0);
        *n += 1;
        retry_wait(*n)
    }

    fn clear(&mut self, account: &str) {
        self.0.remove(account);
    }
}

/// A token that is already due again the moment it is handed out (Spotify gave one
/// that lives less than `lead`): refreshing it again at once would spin.
pub fn lives_shorter_than_lead(expires_at: Timestamp, lead: Duration, now: Timestamp) -> bool {
    expires_at.plus_secs(-i64::try_from(lead.as_secs()).unwrap_or(i64::MAX)) <= now
}

/// The background refresher; run it once per app.
#[derive(Debug)]
pub struct Refresher {
    engine: Arc<Engine>,
    lead: Duration,
    wake: Arc<Notify>,
    /// Who the activity record says refreshed.
    actor: crate::activity::Actor,
}

impl Refresher {
    pub fn new(engine: Arc<Engine>, lead: Duration) -> Self {
        Self { engine, lead, wake: Arc::new(Notify::new()), actor: crate::activity::Actor::AppBackground }
    }

    /// The same refresher run by someone else than the app (the agent).
    pub fn by(mut self, actor: crate::activity::Actor) -> Self {
        self.actor = actor;
        self
    }

    /// Notify this after anything that changes accounts (login, sign-out, refresh).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub async fn run(self, on_event: impl Fn(RefreshEvent) + Send + Sync + 'static) {
        let mut retry_at: HashMap<String, Timestamp> = HashMap::new();
        let mut failures = Failures::default();
        let mut warned: HashSet<String> = HashSet::new();
        loop {
            let records = match self.engine.accounts() {
                Ok(records) => records,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the accounts; looking again in a minute");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                        _ = self.wake.notified() => {}
                    }
                    continue;
                }
            };
            retry_at.retain(|id, _| records.iter().any(|r| &r.id == id));
            let now = self.engine.clock().now();
            let plan = plan(&records, now, self.lead, &retry_at, &warned);
            let name = |id: &str| records.iter().find(|r| r.id == id).map(|r| r.name().to_string()).unwrap_or_default();
            for (account, seconds_left) in plan.ending {
                warned.insert(account.clone());
                on_event(RefreshEvent::RefreshTokenEnding { name: name(&account), account, seconds_left });
            }
            for account in &plan.due {
                retry_at.remove(account);
                // Due means at most `lead` left; asking for a second more makes the
                // engine agree that the token needs refreshing.
                let min_valid = self.lead + Duration::from_secs(1);
                match self.engine.fresh_token(Some(account), min_valid, self.actor).await {
                    Ok(token) => {
                        failures.clear(account);
                        if lives_shorter_than_lead(token.expires_at, self.lead, self.engine.clock().now()) {
                            // Spotify's tokens live shorter than the lead: do not spin.
                            retry_at.insert(account.clone(), self.engine.clock().now().plus_secs(FIRST_RETRY_SECS));
                        }
                        if token.refreshed {
                            on_event(RefreshEvent::Refreshed { account: account.clone() });
                        }
                    }
                    // Already known: the hourly retry says nothing new.
                    Err(Error::NeedsSignIn { .. }) if records.iter().any(|r| &r.id == account && r.needs_sign_in) => {}
                    Err(e @ Error::NeedsSignIn { .. }) => {
                        on_event(RefreshEvent::NeedsSignIn {
                            account: account.clone(),
                            name: name(account),
                            diagnosis: e.diagnose(),
                        });
                    }
                    Err(e) => {
                        let wait = failures.record(account);
                        retry_at.insert(account.clone(), self.engine.clock().now().plus_secs(wait));
                        tracing::warn!(%account, error = %e, wait, "background refresh failed; will retry");
                        on_event(RefreshEvent::Failed {
                            account: account.clone(),
                            diagnosis: e.diagnose(),
                            retry_in_secs: wait,
                        });
                    }
                }
            }
            if !plan.due.is_empty() {
                continue;
            }
            tracing::debug!(next = ?plan.next_wake.map(Timestamp::to_rfc3339), "background refresher sleeping");
            tokio::select! {
                _ = wall_clock::sleep_until(plan.next_wake, self.engine.clock().now()) => {}
                _ = self.wake.notified() => {}
            }
        }
    }
}

/// Sleeping until a moment of wall-clock time.
mod wall_clock {
    use crate::clock::Timestamp;

    /// Returns at `deadline` by the wall clock (never, for `None`).
    pub async fn sleep_until(deadline: Option<Timestamp>, now: Timestamp) {
        let Some(deadline) = deadline else { return std::future::pending().await };
        #[cfg(target_os = "linux")]
        if let Ok(()) = linux::sleep_until(deadline).await {
            return;
        }
        // Elsewhere (or if timerfd fails): short monotonic naps that re-read the clock,
        // so a suspend delays the wake-up by at most one nap.
        let mut now = now;
        while now < deadline {
            let nap = deadline.secs_after(now).clamp(1, 60) as u64;
            tokio::time::sleep(std::time::Duration::from_secs(nap)).await;
            now = crate::clock::Clock::now(&crate::clock::SystemClock);
        }
    }

    #[cfg(target_os = "linux")]
    mod linux {
        use crate::clock::Timestamp;
        use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};
        use tokio::io::unix::AsyncFd;

        /// A `CLOCK_REALTIME` timerfd armed at an absolute time: it fires at that wall
        /// time even if the machine slept in between.
        pub async fn sleep_until(deadline: Timestamp) -> std::io::Result<()> {
            let fd =
                rustix::time::timerfd_create(TimerfdClockId::Realtime, TimerfdFlags::CLOEXEC | TimerfdFlags::NONBLOCK)?;
            let zero = Timespec { tv_sec: 0, tv_nsec: 0 };
            let spec = Itimerspec { it_interval: zero, it_value: Timespec { tv_sec: deadline.0.max(1), tv_nsec: 0 } };
            rustix::time::timerfd_settime(&fd, TimerfdTimerFlags::ABSTIME, &spec)?;
            // `new` is deprecated because a borrowed fd could be closed under tokio; this
            // one is an `OwnedFd` moved in, which is what `register`'s contract asks.
            #[allow(deprecated)]
            let fd = AsyncFd::new(fd)?;
            loop {
                let mut guard = fd.readable().await?;
                let mut buf = [0u8; 8];
                match rustix::io::read(guard.get_inner(), &mut buf) {
                    Ok(_) => return Ok(()),
                    Err(rustix::io::Errno::AGAIN) => guard.clear_ready(),
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::sample;

    fn record(id: &str, access_expires_at: i64) -> AccountRecord {
        let mut r = sample(id);
        r.access_expires_at = Timestamp(access_expires_at);
        r.authorized_at = Timestamp(0);
        r
    }

    const LEAD: Duration = Duration::from_secs(300);

    #[test]
    fn due_accounts_and_the_next_wake() {
        let records = [record("a", 1_000), record("b", 5_000)];
        let p = plan(&records, Timestamp(800), LEAD, &HashMap::new(), &HashSet::new());
        assert_eq!(p.due, ["a"]);
        assert_eq!(p.next_wake, Some(Timestamp(4_700)));
        let p = plan(&records, Timestamp(600), LEAD, &HashMap::new(), &HashSet::new());
        assert!(p.due.is_empty());
        assert_eq!(p.next_wake, Some(Timestamp(700)));
    }

    #[test]
    fn accounts_spotify_refused_are_tried_again_hourly() {
        let mut r = record("a", 1_000);
        r.needs_sign_in = true;
        r.last_error_at = Some(Timestamp(4_000));
        let p = plan(std::slice::from_ref(&r), Timestamp(5_000), LEAD, &HashMap::new(), &HashSet::new());
        assert!(p.due.is_empty(), "refused 1000 s ago: not yet");
        assert_eq!(p.next_wake, Some(Timestamp(4_000 + REFUSED_RETRY_SECS)));
        let p = plan(&[r], Timestamp(4_000 + REFUSED_RETRY_SECS), LEAD, &HashMap::new(), &HashSet::new());
        assert_eq!(p.due, ["a"]);
        assert!(p.ending.is_empty());
    }

    #[test]
    fn a_failed_account_waits_for_its_retry() {
        let records = [record("a", 1_000)];
        let retry = HashMap::from([("a".to_string(), Timestamp(2_000))]);
        let p = plan(&records, Timestamp(1_500), LEAD, &retry, &HashSet::new());
        assert!(p.due.is_empty());
        assert_eq!(p.next_wake, Some(Timestamp(2_000)));
        let p = plan(&records, Timestamp(2_000), LEAD, &retry, &HashSet::new());
        assert_eq!(p.due, ["a"]);
    }

    #[test]
    fn the_seven_day_warning_is_due_once() {
        let r = record("a", i64::MAX / 2);
        let ends = r.refresh_expires_at();
        let warn_at = ends.plus_secs(-REFRESH_WARNING_SECS);
        let p = plan(std::slice::from_ref(&r), Timestamp(warn_at.0 - 10), LEAD, &HashMap::new(), &HashSet::new());
        assert!(p.ending.is_empty());
        assert_eq!(p.next_wake, Some(warn_at));
        let p = plan(std::slice::from_ref(&r), warn_at, LEAD, &HashMap::new(), &HashSet::new());
        assert_eq!(p.ending, [("a".to_string(), REFRESH_WARNING_SECS)]);
        let warned = HashSet::from(["a".to_string()]);
        let p = plan(std::slice::from_ref(&r), warn_at, LEAD, &HashMap::new(), &warned);
        assert!(p.ending.is_empty());
        assert_eq!(p.next_wake, Some(r.access_expires_at.plus_secs(-300)), "only the access token is left to wake for");
    }

    #[test]
    fn retries_back_off_from_a_minute_to_half_an_hour() {
        let waits: Vec<i64> = (1..=7).map(retry_wait).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1800, 1800]);
        assert_eq!(retry_wait(0), 60);
        assert_eq!(retry_wait(u32::MAX), 1800);
    }

    #[test]
    fn each_failure_in_a_row_waits_longer_and_a_success_starts_again() {
        let mut failures = Failures::default();
        assert_eq!([failures.record("a"), failures.record("a"), failures.record("a")], [60, 120, 240]);
        assert_eq!(failures.record("b"), 60, "accounts count apart");
        failures.clear("a");
        assert_eq!(failures.record("a"), 60);
    }

    #[test]
    fn a_token_shorter_than_the_lead_is_not_refreshed_again_at_once() {
        let now = Timestamp(1_000);
        assert!(lives_shorter_than_lead(Timestamp(1_200), LEAD, now));
        assert!(lives_shorter_than_lead(Timestamp(1_300), LEAD, now), "exactly the lead is due");
        assert!(!lives_shorter_than_lead(Timestamp(1_301), LEAD, now));
        assert!(!lives_shorter_than_lead(Timestamp(4_600), LEAD, now));
    }

    #[test]
    fn boundaries_of_due_wake_and_warning() {
        // Due exactly at the lead; a wake is only ever in the future.
        let records = [record("a", 1_300)];
        let p = plan(&records, Timestamp(1_000), LEAD, &HashMap::new(), &HashSet::new());
        assert_eq!(p.due, ["a"]);
        assert_ne!(p.next_wake, Some(Timestamp(1_000)));
        let p = plan(&records, Timestamp(999), LEAD, &HashMap::new(), &HashSet::new());
        assert!(p.due.is_empty());
        assert_eq!(p.next_wake, Some(Timestamp(1_000)));
        // A refresh token whose months are over gets no "ending soon" warning.
        let r = record("b", i64::MAX / 2);
        let ends = r.refresh_expires_at();
        let p = plan(std::slice::from_ref(&r), ends, LEAD, &HashMap::new(), &HashSet::new());
        assert!(p.ending.is_empty());
        let p = plan(std::slice::from_ref(&r), Timestamp(ends.0 - 1), LEAD, &HashMap::new(), &HashSet::new());
        assert_eq!(p.ending, [("b".to_string(), 1)]);
    }

    #[tokio::test]
    async fn the_wall_clock_sleep_wakes_at_the_deadline() {
        let now = crate::clock::Clock::now(&crate::clock::SystemClock);
        let started = std::time::Instant::now();
        wall_clock::sleep_until(Some(now.plus_secs(2)), now).await;
        let slept = started.elapsed();
        // Timestamps are whole seconds: two of them ahead is between one and two from now.
        assert!(slept >= Duration::from_millis(900), "woke early: {slept:?}");
        assert!(slept <= Duration::from_secs(4), "{slept:?}");
        // A deadline in the past returns at once.
        let started = std::time::Instant::now();
        wall_clock::sleep_until(Some(Timestamp(now.0 - 100)), now).await;
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
