//! A keychain that holds a call open while it asks the person to unlock it (KeePassXC's
//! unlock window): how its answer is waited for, and what an answer of nothing means.

use super::{Keychain, Telling, timed_out};
#[cfg(target_os = "linux")]
use super::{await_answer, on_thread, secret_service};
use crate::error::Error;
use crate::provider::Provider;
use std::time::Duration;

impl Keychain {
    /// Waits up to `left` for the keychain's answer to a search for the account, asked
    /// with a D-Bus timeout of that length (the keyring crate's calls give up after 2 s,
    /// while KeePassXC holds a search of a locked database until its unlock window is
    /// answered, then answers it), telling the person after 1.5 s unless `telling` has
    /// already. Asking again instead would open the window anew after the person
    /// dismissed it, and a dismissal would never be seen.
    pub(super) fn wait_for_unlock(&self, account: &str, left: Duration, telling: &mut Telling) -> Unlock {
        #[cfg(target_os = "linux")]
        {
            let (service, user) = (self.service.clone(), account.to_string());
            let Ok(rx) = on_thread("keychain-held", move || secret_service::held_search(&service, &user, left)) else {
                return Unlock::Unknown;
            };
            // A second's margin over the search's own D-Bus timeout, so its answer, not
            // this wait, ends it. (A second less instead ends it sooner with the same
            // timeout's error, so that mutant survives.)
            await_answer(&rx, left + Duration::from_secs(1), self.timeout, telling).unwrap_or(Unlock::NoAnswer)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (account, left, telling);
            Unlock::Unknown
        }
    }

    /// KeePassXC holds a search of a locked database until its unlock window is
    /// answered, so it is asked first with a search of its own whose D-Bus timeout is
    /// the whole wait: the window's answer, the password or Escape, is heard whenever it
    /// is given. Asked only after the keyring crate's own call had given up (at 2 s), a
    /// search arriving just after the person dismissed the window would open it again.
    /// Other keychains are not asked first: gnome-keyring answers a search of a locked
    /// collection at once, without a prompt, so its answer says nothing about one, and
    /// no other is known to hold a search.
    pub(super) fn held_first(&self, account: &str, telling: &mut Telling) -> Unlock {
        if Provider::detect() != Provider::KeePassXc {
            return Unlock::Unknown;
        }
        tracing::debug!("asking KeePassXC first, with a search it holds while its unlock window is open");
        self.wait_for_unlock(account, self.timeout, telling)
    }

    /// What a search that found nothing means. KeePassXC answers a search of a locked
    /// database, once its unlock window is dismissed, with nothing at all: with a
    /// collection still locked, the entry is not missing but unreadable, and nobody must
    /// be told to sign in again. A locked gnome-keyring still finds its entries
    /// ([`Provider::finds_locked_entries`]): none found there is missing. Any other
    /// Secret Service, locked, is said to be locked. No collection at all (KeePassXC
    /// exposing no group) is said as such.
    pub(super) fn missing_or_locked(&self, account: &str) -> Error {
        #[cfg(target_os = "linux")]
        {
            let timeout = self.timeout;
            let looked = on_thread("keychain-collections", move || secret_service::collections(timeout))
                .ok()
                .and_then(|rx| rx.recv_timeout(timeout).ok());
            match looked {
                Some(Ok((_, locked))) if locked > 0 => match Provider::detect() {
                    provider if provider.finds_locked_entries() => {}
                    // The search asked first (`held_first`) hears a dismissed unlock
                    // window; this is reached only when the database is locked again
                    // between that search and this read, or that search could not be
                    // asked. No test locks it in that instant.
                    p @ Provider::KeePassXc => {
                        return Error::KeychainUnlockCancelled { account: account.to_string(), provider: p };
                    }
                    // Not verified: whether the entry is there cannot be told while locked.
                    provider => return Error::KeychainLocked(provider),
                },
                // For a Secret Service that answers a read at once with no collection.
                // Neither tested here answers so (gnome-keyring always has its session
                // collection; KeePassXC holds the read, and `held_search` says it), so no
                // test reaches this arm.
                Some(Ok((0, _))) => return Error::KeychainNoCollection(Provider::detect()),
                // Only logged: without this arm the same "missing" follows, unlogged.
                Some(Err(e)) => tracing::debug!(error = %e, "could not list the keychain's collections"),
                _ => {}
            }
        }
        Error::KeychainEntryMissing(account.to_string())
    }
}

/// How a keychain that held a call open answered it in the end. Only the Secret
/// Service holds calls open; elsewhere every answer is `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(super) enum Unlock {
    /// It answered: unlocked (or nothing was locked); ask again now.
    Answered,
    /// It answered with nothing while a collection stayed locked: its unlock window was
    /// dismissed.
    Cancelled,
    /// It answered with nothing, and there is no collection at all to wait for.
    NoCollection,
    /// Not within the time left.
    NoAnswer,
    /// Could not be asked this way; ask again after a pause.
    Unknown,
}

impl Unlock {
    /// What the person is told when the answer ends the operation (`waited`: the
    /// keychain's timeout); `None` when the keychain is to be asked (again).
    pub(super) fn error(self, account: &str, waited: Duration) -> Option<Error> {
        match self {
            Self::Answered | Self::Unknown => None,
            Self::Cancelled => {
                Some(Error::KeychainUnlockCancelled { account: account.to_string(), provider: Provider::detect() })
            }
            Self::NoCollection => Some(Error::KeychainNoCollection(Provider::detect())),
            Self::NoAnswer => Some(timed_out(waited)),
        }
    }
}
