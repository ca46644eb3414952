//! The engine's view of the signed-in accounts: the list, their state (with or without
//! a look at each one's keychain entry), naming one, and signing one out.

use super::{Engine, SignedOut};
use crate::activity::Event;
use crate::error::{Error, Result};
use crate::status::StatusReport;
use crate::store::accounts::AccountRecord;

impl Engine {
    pub fn accounts(&self) -> Result<Vec<AccountRecord>> {
        self.accounts.load()
    }

    /// Every account's state now, with its open anomalies. Reads no secrets, so it
    /// works with a locked keychain.
    pub fn status(&self) -> Result<StatusReport> {
        Ok(self.status_of(&self.accounts()?))
    }

    /// [`Self::status`] of these records.
    fn status_of(&self, records: &[AccountRecord]) -> StatusReport {
        let now = self.clock.now();
        let mut report = StatusReport::new(records, now);
        for account in &mut report.accounts {
            if let Some(note) = self.quota.in_force(&account.client_id, now) {
                account.set_quota(&note, now);
            }
        }
        let mut open = self.activity.open_anomalies(None);
        for account in &mut report.accounts {
            let (mine, rest) = open.into_iter().partition(|a| a.account == account.id);
            account.anomalies = mine;
            open = rest;
        }
        report
    }

    /// [`Self::status`], with each account's keychain entry looked at (each look bounded
    /// by the keychain timeout): a locked keychain or a missing entry is reported, not
    /// assumed fine.
    pub fn status_checked(&self) -> Result<StatusReport> {
        let records = self.accounts()?;
        let mut report = self.status_of(&records);
        for account in &mut report.accounts {
            let newest = records.iter().find(|r| r.id == account.id).and_then(|r| r.refresh_fingerprint.as_deref());
            let found = self.keychain.read_repairing(&account.id, newest).map(|(_, repair)| {
                if let Some(repair) = repair {
                    self.activity.record(&Event::keychain_repaired(self.clock.now(), &account.id, &repair));
                }
            });
            account.keychain = Some(crate::status::KeychainCheck::from_result(&found));
        }
        Ok(report)
    }

    /// The named account, or the only one when none is named.
    /// The account `id` names: its key, the user id when only one account has it, or
    /// `user@prefix` with the start of a Client ID. `None`: the only account there is.
    pub fn resolve_account(&self, id: Option<&str>) -> Result<AccountRecord> {
        let mut all = self.accounts.load()?;
        let Some(id) = id else {
            return match all.len() {
                1 => Ok(all.remove(0)),
                0 => Err(Error::NoAccount),
                _ => Err(Error::AmbiguousAccount(all.into_iter().map(|a| a.id).collect())),
            };
        };
        if let Some(found) = all.iter().position(|a| a.id == id) {
            return Ok(all.remove(found));
        }
        let mut matching: Vec<AccountRecord> = match id.rsplit_once('@') {
            Some((user, prefix)) if !prefix.is_empty() => {
                all.into_iter().filter(|a| a.user() == user && a.client_id.starts_with(prefix)).collect()
            }
            _ => all.into_iter().filter(|a| a.user() == id).collect(),
        };
        match matching.len() {
            1 => Ok(matching.remove(0)),
            0 => Err(Error::UnknownAccount(id.to_string())),
            _ => Err(Error::AmbiguousAccount(matching.into_iter().map(|a| a.id).collect())),
        }
    }

    /// Forgets an account's tokens and metadata. Spotify has no revoke endpoint: the
    /// person revokes the app at [`crate::diagnose::REVOKE_URL`].
    pub fn logout(&self, id: &str) -> Result<SignedOut> {
        let record = self.accounts.get(id)?;
        let tokens_deleted = self.keychain.delete(id)?;
        self.accounts.remove(id)?;
        self.activity.record(&Event::sign_out(self.clock.now(), id));
        tracing::info!(account = %id, "signed out");
        Ok(SignedOut { id: record.id, display_name: record.display_name, tokens_deleted })
    }
}
