//! A keychain write made ready before a refresh is sent: see
//! [`Keychain::prepare_write`](super::Keychain::prepare_write).

#[cfg(target_os = "linux")]
use super::timed_out;
use super::{Keychain, StoredTokens};
use crate::error::Result;
#[cfg(target_os = "linux")]
use crate::{error::Error, secret::Secret};
#[cfg(target_os = "linux")]
use std::sync::mpsc;
use std::time::Duration;

/// A keychain write made ready ahead of time; see [`Keychain::prepare_write`].
#[derive(Debug)]
pub struct PreparedWrite {
    account: String,
    timeout: Duration,
    #[cfg(target_os = "linux")]
    commit: mpsc::SyncSender<(Secret<String>, mpsc::SyncSender<Result<()>>)>,
    #[cfg(not(target_os = "linux"))]
    keychain: Keychain,
}

impl PreparedWrite {
    #[cfg(target_os = "linux")]
    pub(super) fn open(keychain: &Keychain, account: &str) -> Result<Self> {
        let (ready_tx, ready) = mpsc::sync_channel::<Result<()>>(1);
        let (commit, requests) = mpsc::sync_channel::<(Secret<String>, mpsc::SyncSender<Result<()>>)>(1);
        let (service, user, timeout) = (keychain.service.clone(), account.to_string(), keychain.timeout);
        std::thread::Builder::new()
            .name("keychain-write".into())
            .spawn(move || super::secret_service::serve_prepared_write(&service, &user, timeout, &ready_tx, &requests))
            .map_err(|e| Error::Keychain(format!("cannot start a thread: {e}")))?;
        keychain.answer(&ready)?;
        Ok(Self { account: account.to_string(), timeout: keychain.timeout, commit })
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn open(keychain: &Keychain, account: &str) -> Result<Self> {
        Ok(Self { account: account.to_string(), timeout: keychain.timeout, keychain: keychain.clone() })
    }

    /// Stores `tokens` in the prepared entry.
    #[tracing::instrument(skip_all, fields(account = %self.account))]
    pub fn commit(&self, tokens: &StoredTokens) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            let (reply, answer) = mpsc::sync_channel(1);
            self.commit
                .send((Secret::new(tokens.to_text()?), reply))
                .map_err(|_| Error::Keychain("the prepared keychain write ended early".into()))?;
            match answer.recv_timeout(self.timeout) {
                Ok(result) => result?,
                Err(_) => return Err(timed_out(self.timeout)),
            }
            tracing::debug!("tokens written to the keychain");
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = self.timeout;
            self.keychain.write(&self.account, tokens)
        }
    }
}

impl crate::store::tokens::PreparedStore for PreparedWrite {
    fn commit(&self, tokens: &StoredTokens) -> Result<()> {
        PreparedWrite::commit(self, tokens)
    }
}
