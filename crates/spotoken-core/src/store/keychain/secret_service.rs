//! The Secret Service spoken to directly (Linux), through the same client and the same
//! item attributes as the keyring crate, so entries written either way are one entry:
//! the prepared write, the repair of several entries, the held search that waits for
//! KeePassXC's unlock window, and the collections' lock state.

use super::{Error, Provider, Repair, Result, Secret, StoredTokens, classify_text, locked};
use crate::store::tokens::newest_of;
use dbus_secret_service::{Collection, EncryptionType, Item, SecretService};
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

fn failed(timeout: Duration) -> impl Fn(dbus_secret_service::Error) -> Error {
    move |e| match e {
        dbus_secret_service::Error::Locked | dbus_secret_service::Error::Prompt => locked(),
        dbus_secret_service::Error::Unavailable => Error::KeychainNoService(e.to_string()),
        dbus_secret_service::Error::Dbus(d) => {
            let text = format!("{} ({})", d.message().unwrap_or_default(), d.name().unwrap_or_default());
            classify_text(&text, timeout, false)
        }
        other => Error::Keychain(other.to_string()),
    }
}

pub(super) fn check_ready(timeout: Duration) -> Result<()> {
    let failed = failed(timeout);
    let ss = SecretService::connect(EncryptionType::Dh).map_err(&failed)?;
    match ss.get_default_collection() {
        Ok(collection) => collection.ensure_unlocked().map_err(&failed),
        // No default collection yet: gnome-keyring's first write creates one, but
        // KeePassXC then opens its new-database wizard and holds the write until
        // someone finishes it. It needs a group exposed instead.
        Err(dbus_secret_service::Error::NoResult) => match Provider::detect() {
            Provider::KeePassXc => Err(Error::KeychainNoCollection(Provider::KeePassXc)),
            _ => Ok(()),
        },
        Err(e) => Err(failed(e)),
    }
}

/// Searches for the account's items with a D-Bus timeout of `left`, so a keychain
/// that holds the call while it asks the person (KeePassXC) is waited for; see
/// `Keychain::wait_for_unlock`.
pub(super) fn held_search(service: &str, user: &str, left: Duration) -> super::Unlock {
    let (service, user) = (service.to_string(), user.to_string());
    let search = super::on_thread("keychain-search", move || {
        let Ok(connection) = dbus::blocking::Connection::new_session() else { return super::Unlock::Unknown };
        let proxy = connection.with_proxy("org.freedesktop.secrets", "/org/freedesktop/secrets", left);
        let answer: std::result::Result<(Vec<dbus::Path<'static>>, Vec<dbus::Path<'static>>), dbus::Error> =
            proxy.method_call("org.freedesktop.Secret.Service", "SearchItems", (search_attributes(&service, &user),));
        held_answer(answer, || collections(left))
    });
    let Ok(search) = search else { return super::Unlock::Unknown };
    // KeePassXC exposing no group holds every read and search until the caller gives
    // up, as a locked database does while its unlock window is open: with no collection
    // at all there is nothing to wait for. Asked beside the search, not before it: a
    // search sent after the person dismissed the unlock window would open it again.
    if no_collection(left.min(Duration::from_secs(2))) {
        return super::Unlock::NoCollection;
    }
    search.recv_timeout(left).unwrap_or(super::Unlock::NoAnswer)
}

/// Whether the Secret Service lists no collection at all: one property read, where
/// [`collections`] opens a session and asks each collection whether it is locked.
fn no_collection(timeout: Duration) -> bool {
    use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
    let Ok(connection) = dbus::blocking::Connection::new_session() else { return false };
    let proxy = connection.with_proxy("org.freedesktop.secrets", "/org/freedesktop/secrets", timeout);
    let listed: std::result::Result<Vec<dbus::Path<'static>>, dbus::Error> =
        proxy.get("org.freedesktop.Secret.Service", "Collections");
    listed.is_ok_and(|l| l.is_empty())
}

/// What a held search's answer (unlocked items, locked items) says, with
/// `collections` (how many, how many locked) asked only when it found nothing.
pub(super) fn held_answer<P>(
    answer: std::result::Result<(Vec<P>, Vec<P>), dbus::Error>,
    collections: impl FnOnce() -> Result<(usize, usize)>,
) -> super::Unlock {
    use super::Unlock;
    match answer {
        Ok((unlocked, _)) if !unlocked.is_empty() => Unlock::Answered,
        // Found, but locked (gnome-keyring lists locked items): it did not hold the
        // call for a prompt, so there is nothing to learn here.
        Ok((_, locked)) if !locked.is_empty() => Unlock::Unknown,
        Ok(_) => match collections() {
            Ok((_, locked)) if locked > 0 => Unlock::Cancelled,
            _ => Unlock::Answered,
        },
        // No answer in the time left. (Read as `Unknown`, the caller would end with the
        // same timeout after one more pause: this only saves the pause.)
        Err(e)
            if matches!(
                e.name(),
                Some("org.freedesktop.DBus.Error.NoReply" | "org.freedesktop.DBus.Error.Timeout")
            ) =>
        {
            Unlock::NoAnswer
        }
        Err(e) => {
            tracing::debug!(error = %e, "a held search failed");
            Unlock::Unknown
        }
    }
}

/// How many collections there are, and how many of them are locked.
pub(super) fn collections(timeout: Duration) -> Result<(usize, usize)> {
    let failed = failed(timeout);
    let ss = SecretService::connect(EncryptionType::Dh).map_err(&failed)?;
    let all = ss.get_all_collections().map_err(&failed)?;
    let mut locked = 0;
    for collection in &all {
        if collection.is_locked().map_err(&failed)? {
            locked += 1;
        }
    }
    Ok((all.len(), locked))
}

/// What keyring searches by (every collection); items it creates also carry
/// `application`.
fn search_attributes<'a>(service: &'a str, user: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([("service", service), ("username", user), ("target", "default")])
}

/// Every item for the account, unlocked (a locked one asks the person).
fn matching<'s>(ss: &'s SecretService, service: &str, user: &str, timeout: Duration) -> Result<Vec<Item<'s>>> {
    let failed = failed(timeout);
    let found = ss.search_items(search_attributes(service, user)).map_err(&failed)?;
    for item in &found.locked {
        item.unlock().map_err(&failed)?;
    }
    Ok(found.unlocked.into_iter().chain(found.locked).collect())
}

/// Removes every item but `keep`; how many went. One that cannot be removed stays
/// (the next read tries again).
fn remove_all_but(items: &[Item<'_>], keep: Option<usize>) -> usize {
    let mut removed = 0;
    for (i, item) in items.iter().enumerate() {
        if Some(i) == keep {
            continue;
        }
        match item.delete() {
            Ok(()) => removed += 1,
            Err(e) => tracing::warn!(error = %e, "could not remove a duplicate keychain entry"),
        }
    }
    removed
}

/// Reads every entry for the account, keeps the newest and removes the others.
pub(super) fn repair(
    service: &str,
    user: &str,
    newest_refresh: Option<&str>,
    timeout: Duration,
) -> Result<(StoredTokens, Repair)> {
    let failed = failed(timeout);
    let ss = SecretService::connect(EncryptionType::Dh).map_err(&failed)?;
    let items = matching(&ss, service, user, timeout)?;
    let mut entries = Vec::with_capacity(items.len());
    for item in &items {
        let bytes = item.get_secret().map_err(&failed)?;
        entries.push(String::from_utf8(bytes).ok().and_then(|text| StoredTokens::from_text(&text).ok()));
    }
    let Some(keep) = newest_of(&entries, newest_refresh) else {
        return match items.len() {
            0 => Err(Error::KeychainEntryMissing(user.to_string())),
            n => Err(Error::Keychain(format!(
                "{n} keychain entries match account {user} and none is in Spotoken's format"
            ))),
        };
    };
    let removed = remove_all_but(&items, Some(keep));
    let tokens = entries.swap_remove(keep).ok_or_else(|| Error::Keychain("the kept entry went missing".into()))?;
    Ok((tokens, Repair { found: items.len(), removed }))
}

/// With `secret`: stores it in the account's first item and removes the others (the
/// secret is stored before anything is removed); without: removes them all.
pub(super) fn on_every_entry(
    service: &str,
    user: &str,
    secret: Option<&Secret<String>>,
    timeout: Duration,
) -> Result<usize> {
    let failed = failed(timeout);
    let ss = SecretService::connect(EncryptionType::Dh).map_err(&failed)?;
    let items = matching(&ss, service, user, timeout)?;
    let keep = match (secret, items.first()) {
        (Some(secret), Some(first)) => {
            first.set_secret(secret.secret().as_bytes(), "text/plain").map_err(&failed)?;
            Some(0)
        }
        (Some(secret), None) => {
            create_in(&default_collection(&ss, timeout)?, service, user, secret.secret().as_bytes(), timeout)?;
            None
        }
        (None, _) => None,
    };
    Ok(remove_all_but(&items, keep))
}

/// The default collection, unlocked (asking the person if it is locked).
fn default_collection(ss: &SecretService, timeout: Duration) -> Result<Collection<'_>> {
    let failed = failed(timeout);
    let collection = ss.get_default_collection().map_err(&failed)?;
    collection.ensure_unlocked().map_err(&failed)?;
    Ok(collection)
}

/// A new item for the account, with the attributes and label keyring gives its own.
fn create_in(collection: &Collection<'_>, service: &str, user: &str, secret: &[u8], timeout: Duration) -> Result<()> {
    let mut attributes = search_attributes(service, user);
    attributes.insert("application", "rust-keyring");
    let label = format!("{user}@{service}:default (keyring v3.6.3)");
    collection.create_item(&label, attributes, secret, true, "text/plain").map(drop).map_err(failed(timeout))
}

pub(super) fn serve_prepared_write(
    service: &str,
    user: &str,
    timeout: Duration,
    ready: &mpsc::SyncSender<Result<()>>,
    requests: &mpsc::Receiver<(Secret<String>, mpsc::SyncSender<Result<()>>)>,
) {
    let failed = failed(timeout);
    let ss = match SecretService::connect(EncryptionType::Dh) {
        Ok(ss) => ss,
        Err(e) => {
            let _ = ready.send(Err(failed(e)));
            return;
        }
    };
    // Several items (see `Repair`): the answer goes into the first, the others are
    // removed after it is stored. None: the default collection takes a new one.
    let prepared = matching(&ss, service, user, timeout).and_then(|items| {
        let collection = if items.is_empty() { Some(default_collection(&ss, timeout)?) } else { None };
        Ok((items, collection))
    });
    let (items, collection) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    // Dropped without a commit (the refresh failed): nothing is written.
    let Ok((text, reply)) = requests.recv() else { return };
    let secret = text.secret().as_bytes();
    let written = match (items.first(), &collection) {
        (Some(item), _) => item.set_secret(secret, "text/plain").map_err(&failed),
        (None, Some(collection)) => create_in(collection, service, user, secret, timeout),
        (None, None) => Err(Error::Keychain("no keychain collection to write to".into())),
    };
    // Only after a write that worked: another entry may hold the only refresh token
    // that still works. (With one entry, `remove_all_but` has nothing to remove.)
    if written.is_ok() && items.len() > 1 {
        let removed = remove_all_but(&items, Some(0));
        tracing::warn!(found = items.len(), removed, "the keychain held several entries for the account; one is left");
    }
    let _ = reply.send(written);
}
