//! How hard a refresh tries before it gives up on a transient failure. Its own module so
//! the engine's configuration does not depend on the refresh that uses it.

use std::time::Duration;

/// How hard to try before giving up on a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests in all, the first included.
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited out; the caller hears "rate limited".
    pub max_retry_after: Duration,
    /// How long to wait for another process that is refreshing the same account.
    pub lock_timeout: Duration,
    /// How long one hand-out may take in all, lock, requests and waits between them
    /// included (`spotoken token --deadline`); `None`: no bound beyond the above.
    pub deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(120),
            deadline: None,
        }
    }
}

impl RetryPolicy {
    pub(crate) fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1));
        self.first_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..Default::default()
        };
        let waits: Vec<u128> = (1..=5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
    }
}
