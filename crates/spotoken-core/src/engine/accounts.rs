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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_id::ClientId;
    use crate::clock::{ManualClock, Timestamp};
    use crate::store::accounts::sample;
    use crate::{Endpoints, MemoryStore, Paths};

    fn engine_with(dir: &std::path::Path, records: Vec<AccountRecord>) -> Engine {
        let clock = std::sync::Arc::new(ManualClock::new(Timestamp(0)));
        let endpoints = Endpoints::new("http://127.0.0.1:9", "http://127.0.0.1:9").unwrap();
        let engine = Engine::new(Paths::under(dir), endpoints, MemoryStore::default(), clock).unwrap();
        for record in records {
            engine.accounts.upsert(record).unwrap();
        }
        engine
    }

    fn ids(found: Result<AccountRecord>) -> String {
        match found {
            Ok(record) => record.id,
            Err(Error::AmbiguousAccount(ids)) => format!("ambiguous {}", ids.join(" ")),
            Err(Error::UnknownAccount(id)) => format!("unknown {id}"),
            Err(Error::NoAccount) => "none".into(),
            Err(other) => panic!("{other:?}"),
        }
    }

    /// An account is named by its key, its user id when only one account has it, or
    /// `user@` the start of its Client ID; with none named, the only one there is.
    #[test]
    fn accounts_are_named_by_key_user_or_user_at_client_id() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ids(engine_with(dir.path(), vec![]).resolve_account(None)), "none");
        let second = ClientId::parse(&"b0b0b0b0".repeat(4)).unwrap();
        let ann_first = sample("ann");
        let ann_second =
            AccountRecord { id: "ann@b0b0b0b0".into(), user_id: "ann".into(), client_id: second, ..sample("x") };
        let engine = engine_with(dir.path(), vec![ann_first, ann_second, sample("bob")]);
        let resolve = |id: Option<&str>| ids(engine.resolve_account(id));

        assert_eq!(resolve(None), "ambiguous ann ann@b0b0b0b0 bob");
        assert_eq!(resolve(Some("bob")), "bob");
        assert_eq!(resolve(Some("ann@b0b0b0b0")), "ann@b0b0b0b0", "a key");
        assert_eq!(resolve(Some("ann@b0b0")), "ann@b0b0b0b0", "the start of a Client ID");
        assert_eq!(resolve(Some("ann@0123")), "ann", "the first Client ID's account");
        assert_eq!(resolve(Some("bob@b0b0")), "unknown bob@b0b0", "bob has no account with that Client ID");
        assert_eq!(resolve(Some("ann@ffff")), "unknown ann@ffff");
        assert_eq!(resolve(Some("ann@")), "unknown ann@", "an empty Client ID names nothing");
        // "ann" is a key itself; a user id held by several keys only is ambiguous.
        assert_eq!(resolve(Some("ann")), "ann");
        engine.accounts.remove("ann").unwrap();
        let third = ClientId::parse(&"c0c0c0c0".repeat(4)).unwrap();
        engine
            .accounts
            .upsert(AccountRecord { id: "ann@c0c0c0c0".into(), user_id: "ann".into(), client_id: third, ..sample("y") })
            .unwrap();
        assert_eq!(resolve(Some("ann")), "ambiguous ann@b0b0b0b0 ann@c0c0c0c0");
        engine.accounts.remove("ann@c0c0c0c0").unwrap();
        assert_eq!(resolve(Some("ann")), "ann@b0b0b0b0", "the user id of the only account that has it");
        engine.accounts.remove("ann@b0b0b0b0").unwrap();
        assert_eq!(resolve(None), "bob");
    }

    /// Each account's card and status show its own open anomalies, not another's.
    #[test]
    fn each_account_is_shown_its_own_anomalies() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine_with(dir.path(), vec![sample("ann"), sample("bob"), sample("cid")]);
        let sh = crate::activity::Program { name: "sh".into(), path: Some("/bin/sh".into()) };
        assert_eq!(engine.activity.check_handout(&sample("bob"), Some(&sh), Timestamp(0), 30).len(), 1);
        let status = engine.status().unwrap();
        let open: Vec<(&str, usize)> = status.accounts.iter().map(|a| (a.id.as_str(), a.anomalies.len())).collect();
        assert_eq!(open, [("ann", 0), ("bob", 1), ("cid", 0)]);
    }
}
