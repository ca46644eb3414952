//! The keychain store against the real Secret Service: gnome-keyring on the private
//! D-Bus session `scripts/test` starts (`scripts/keyring-session cargo test -p
//! spotoken-core --test keychain` alone). Each test keeps to a service name of its own,
//! so they run side by side and never touch Spotoken's own entries. Entries another
//! writer left (an older version, a restored keyring file, another collection) are
//! planted through the Secret Service API itself. Locked and hung keychains are tested
//! through `spotoken` and the app, where a person answers the unlock prompt.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../tests/support/secret_service.rs"]
mod secret_service;
mod support;

use secret_service::{entries, plant, remove, secret_of};
use spotoken_core::store::tokens::{Repair, StoredTokens};
use spotoken_core::{Error, Keychain, Timestamp, TokenStore};
use std::time::Duration;

/// A keychain under a service name of this test's own, and the account it uses.
fn keychain_for(test: &str) -> (Keychain, String, String) {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session: run these through scripts/test or scripts/keyring-session"
    );
    let service = format!("spotoken-test-{test}-{}", std::process::id());
    (Keychain::new(&service, Duration::from_secs(10)), service, format!("user-{test}"))
}

fn tokens(tag: &str, obtained: i64) -> StoredTokens {
    StoredTokens {
        access_token: format!("BQ-{tag}").into(),
        refresh_token: Some(format!("AQ-{tag}").into()),
        access_expires_at: Timestamp(obtained + 3600),
        obtained_at: Timestamp(obtained),
    }
}

/// The stored form, as Spotoken writes it (version 3, one line).
fn stored(tag: &str, obtained: i64) -> String {
    format!(
        "spotoken-tokens v3;access_token=BQ-{tag};refresh_token=AQ-{tag};access_expires_at={};obtained_at={obtained}",
        obtained + 3600
    )
}

/// As version 2 wrote it: one `key=value` per line.
fn stored_v2(tag: &str, obtained: i64) -> String {
    format!(
        "spotoken-tokens v2\naccess_token=BQ-{tag}\nrefresh_token=AQ-{tag}\naccess_expires_at={}\nobtained_at={obtained}\n",
        obtained + 3600
    )
}

#[test]
fn an_entry_is_written_read_replaced_and_removed() {
    let (keychain, service, user) = keychain_for("one");
    keychain.check_ready().unwrap();
    // Nothing there yet, with every collection unlocked: missing, not locked. Said at
    // once: only a keychain that does not answer is waited for, so a person is never
    // asked to unlock a keychain that answered.
    let told = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = told.clone();
    let keychain = keychain.telling(std::sync::Arc::new(move |_| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    assert!(matches!(keychain.read(&user), Err(Error::KeychainEntryMissing(a)) if a == user));
    assert!(!keychain.delete(&user).unwrap(), "nothing to remove");
    assert_eq!(told.load(std::sync::atomic::Ordering::SeqCst), 0, "nobody was told the keychain waits");

    keychain.write(&user, &tokens("first", 1_000)).unwrap();
    assert_eq!(keychain.read(&user).unwrap(), tokens("first", 1_000));
    let written = entries(&service, &user);
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(secret_of(&written[0]), stored("first", 1_000), "the stored form, without braces");

    // Written again: the same entry holds the new tokens, and nothing was repaired.
    let without_refresh = StoredTokens { refresh_token: None, ..tokens("second", 2_000) };
    keychain.write(&user, &without_refresh).unwrap();
    assert_eq!(entries(&service, &user), written);
    assert_eq!(keychain.read_repairing(&user, None).unwrap(), (without_refresh, None));

    // Through the store the engine sees, as the engine calls it: a write, a prepared
    // write's commit, each read back.
    let store: &dyn TokenStore = &keychain;
    store.check_ready().unwrap();
    store.write(&user, &tokens("through-the-trait", 3_000)).unwrap();
    assert_eq!(store.read(&user).unwrap(), tokens("through-the-trait", 3_000));
    store.prepare_write(&user).unwrap().commit(&tokens("committed-through-it", 4_000)).unwrap();
    assert_eq!(store.read_repairing(&user, None).unwrap(), (tokens("committed-through-it", 4_000), None));
    // For a person at a terminal or the window: the keychain with time to answer its
    // unlock prompt.
    let for_a_person = format!("{:?}", store.for_a_person().expect("the keychain waits longer for a person"));
    assert!(for_a_person.contains("120s"), "{for_a_person}");
    assert!(store.delete(&user).unwrap());
    assert!(entries(&service, &user).is_empty());
    assert!(matches!(keychain.read(&user), Err(Error::KeychainEntryMissing(_))));
    assert!(!store.delete(&user).unwrap());
}

#[test]
fn the_keychain_is_known_by_the_program_that_owns_the_secret_service() {
    keychain_for("provider");
    let provider = spotoken_core::store::provider::Provider::detect();
    assert_eq!(provider, spotoken_core::store::provider::Provider::GnomeKeyring, "gnome-keyring-daemon runs here");
}

#[test]
fn of_several_entries_the_newest_is_kept_wherever_it_is() {
    let (keychain, service, user) = keychain_for("several");
    plant(&service, &user, &stored("old", 100), "default");
    let newest = plant(&service, &user, &stored("newest", 300), "session");
    plant(&service, &user, &stored_v2("middle", 200), "default");
    plant(&service, &user, "not Spotoken's format", "default");
    assert_eq!(entries(&service, &user).len(), 4);

    let (read, repair) = keychain.read_repairing(&user, None).unwrap();
    assert_eq!(read, tokens("newest", 300));
    assert_eq!(repair, Some(Repair { found: 4, removed: 3 }));
    assert_eq!(entries(&service, &user), [newest], "the newest entry is the one left, in its collection");
    // Repaired: a plain read now finds the one entry.
    assert_eq!(keychain.read_repairing(&user, None).unwrap(), (tokens("newest", 300), None));
}

/// What a keyring without a password gives back of version 2's lines after it starts
/// again (the restart itself is in the command line's keychain tests): not "missing",
/// and nothing is removed.
#[test]
fn an_entry_cut_to_its_first_line_is_told_as_such() {
    let (keychain, service, user) = keychain_for("cut");
    plant(&service, &user, "spotoken-tokens v2", "default");
    assert!(matches!(keychain.read(&user), Err(Error::KeychainEntryCut(a)) if a == user));
    assert_eq!(entries(&service, &user).len(), 1);
    // A sign-in's write replaces it.
    keychain.write(&user, &tokens("signed-in", 900)).unwrap();
    assert_eq!(keychain.read(&user).unwrap(), tokens("signed-in", 900));
    assert!(keychain.delete(&user).unwrap());
}

#[test]
fn among_equally_new_entries_the_refresh_token_the_accounts_file_names_is_kept() {
    let (keychain, service, user) = keychain_for("tied");
    for tag in ["a", "b", "c"] {
        plant(&service, &user, &stored(tag, 500), "default");
    }
    let named = spotoken_core::activity::fingerprint(&tokens("b", 500).refresh_token.unwrap());
    let (read, repair) = keychain.read_repairing(&user, Some(&named)).unwrap();
    assert_eq!(read, tokens("b", 500));
    assert_eq!(repair, Some(Repair { found: 3, removed: 2 }));
    assert_eq!(entries(&service, &user).len(), 1);
}

#[test]
fn several_entries_none_of_them_spotokens_are_reported_and_left_alone() {
    let (keychain, service, user) = keychain_for("foreign");
    plant(&service, &user, "hunter2", "default");
    plant(&service, &user, "{\"token\": \"hunter3\"}", "session");
    let Err(Error::Keychain(said)) = keychain.read(&user) else { panic!("read two foreign entries") };
    assert_eq!(said, format!("2 keychain entries match account {user} and none is in Spotoken's format"));
    assert_eq!(entries(&service, &user).len(), 2, "nothing removed that Spotoken cannot read");
    // One foreign entry alone: not Spotoken's format, said without its content.
    let (keychain, service, user) = keychain_for("foreign-one");
    plant(&service, &user, "hunter2", "default");
    let said = keychain.read(&user).unwrap_err().to_string();
    assert!(said.contains("not Spotoken's format") && !said.contains("hunter2"), "{said}");
}

#[test]
fn a_write_and_a_removal_put_right_several_entries() {
    let (keychain, service, user) = keychain_for("write-several");
    plant(&service, &user, &stored_v2("old", 100), "default");
    plant(&service, &user, &stored("older", 50), "session");
    keychain.write(&user, &tokens("signed-in", 900)).unwrap();
    let left = entries(&service, &user);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(secret_of(&left[0]), stored("signed-in", 900));
    assert_eq!(keychain.read_repairing(&user, None).unwrap(), (tokens("signed-in", 900), None));

    plant(&service, &user, &stored("again", 100), "session");
    plant(&service, &user, "junk", "default");
    assert!(keychain.delete(&user).unwrap());
    assert!(entries(&service, &user).is_empty());
    assert!(!keychain.delete(&user).unwrap());
}

#[test]
fn a_prepared_write_stores_only_when_committed() {
    // Nothing there: the commit creates the entry.
    let (keychain, service, user) = keychain_for("prepared-new");
    let prepared = keychain.prepare_write(&user).unwrap();
    assert!(entries(&service, &user).is_empty(), "preparing writes nothing");
    prepared.commit(&tokens("committed", 700)).unwrap();
    assert_eq!(keychain.read(&user).unwrap(), tokens("committed", 700));
    assert_eq!(entries(&service, &user).len(), 1);

    // Dropped without a commit (the refresh failed): the entry is as it was.
    let before = entries(&service, &user);
    drop(keychain.prepare_write(&user).unwrap());
    assert_eq!(entries(&service, &user), before);
    assert_eq!(secret_of(&before[0]), stored("committed", 700));

    // Several there: the commit stores into one and removes the others.
    let (keychain, service, user) = keychain_for("prepared-several");
    plant(&service, &user, &stored("x", 100), "default");
    plant(&service, &user, &stored("y", 200), "session");
    let prepared = keychain.prepare_write(&user).unwrap();
    assert_eq!(entries(&service, &user).len(), 2, "nothing removed before the commit");
    prepared.commit(&tokens("rotated", 800)).unwrap();
    let left = entries(&service, &user);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(secret_of(&left[0]), stored("rotated", 800));

    // Several there, and the one the commit writes into is removed meanwhile by another
    // program: the commit fails, and the others are kept (one of them may hold the only
    // refresh token that still works).
    let (keychain, service, user) = keychain_for("prepared-failed");
    plant(&service, &user, &stored("x", 100), "default");
    plant(&service, &user, &stored("y", 200), "session");
    let prepared = keychain.prepare_write(&user).unwrap();
    let listed = entries(&service, &user);
    remove(&listed[0]);
    assert!(prepared.commit(&tokens("rotated", 800)).is_err(), "the entry written into was gone");
    assert_eq!(entries(&service, &user), listed[1..], "the other entry was kept");
}

#[test]
fn a_token_that_cannot_be_stored_whole_is_refused_before_anything_is_written() {
    let (keychain, service, user) = keychain_for("odd");
    let odd = StoredTokens { access_token: "BQ-{placeholder}".to_string().into(), ..tokens("odd", 1) };
    assert!(matches!(keychain.write(&user, &odd), Err(Error::Keychain(_))));
    let prepared = keychain.prepare_write(&user).unwrap();
    assert!(matches!(prepared.commit(&odd), Err(Error::Keychain(_))));
    assert!(entries(&service, &user).is_empty());
}

/// Many keychain calls at once from one process, as the agent makes when scripts ask
/// side by side: every one answered right.
#[test]
fn calls_side_by_side_are_all_answered() {
    const THREADS: usize = 16;
    let (keychain, service, _) = keychain_for("side-by-side");
    let workers: Vec<_> = (0..THREADS)
        .map(|n| {
            let keychain = keychain.clone();
            std::thread::spawn(move || {
                let user = format!("user-{n}");
                for round in 0..4 {
                    let tag = format!("{n}-{round}");
                    keychain.write(&user, &tokens(&tag, 1_000 + round)).unwrap();
                    assert_eq!(keychain.read(&user).unwrap(), tokens(&tag, 1_000 + round));
                    let prepared = keychain.prepare_write(&user).unwrap();
                    prepared.commit(&tokens(&format!("{tag}-r"), 2_000 + round)).unwrap();
                    assert_eq!(keychain.read(&user).unwrap(), tokens(&format!("{tag}-r"), 2_000 + round));
                }
                assert!(keychain.delete(&user).unwrap());
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    for n in 0..THREADS {
        assert!(entries(&service, &format!("user-{n}")).is_empty());
    }
}

/// `spotoken status` checks each account's entry and repairs several: among equally new
/// entries it keeps the one whose refresh token that account's own record names. Two
/// accounts signed in through the sandbox; each is given a copy of its entry holding
/// the other account's refresh token, so going by the other account's record would keep
/// the copy whatever order the keychain lists them in.
#[tokio::test(flavor = "multi_thread")]
async fn status_repairs_each_account_by_its_own_records_refresh_token() {
    let (keychain, service, _) = keychain_for("status");
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(spotoken_core::ManualClock::new(Timestamp(1_790_000_000)));
    let mut signed_in = Vec::new();
    for name in ["ann", "bob"] {
        let id = format!("status-{name}-{}", std::process::id());
        let user = spotify_sandbox::User { id: id.clone(), display_name: name.to_string() };
        let config = spotify_sandbox::SandboxConfig { user, ..Default::default() };
        let sandbox = spotify_sandbox::Sandbox::start(config, 0).await.unwrap();
        let engine = support::engine_with(dir.path(), &sandbox, keychain.clone(), clock.clone());
        support::sign_in(&engine, &[]).await;
        let [own] = <[String; 1]>::try_from(entries(&service, &id)).expect("one entry after the sign-in");
        signed_in.push((id, secret_of(&own), engine));
    }
    let refresh_of = |text: &str| text.split(';').find(|f| f.starts_with("refresh_token=")).unwrap().to_string();
    for (this, other) in [(0, 1), (1, 0)] {
        let (id, text, _) = &signed_in[this];
        let copy = text.replace(&refresh_of(text), &refresh_of(&signed_in[other].1));
        plant(&service, id, &copy, "default");
        assert_eq!(entries(&service, id).len(), 2);
    }

    let report = signed_in[1].2.status_checked().unwrap();
    assert_eq!(report.accounts.len(), 2);
    for (id, text, _) in &signed_in {
        let left = entries(&service, id);
        assert_eq!(left.len(), 1, "{id}: {left:?}");
        assert_eq!(&secret_of(&left[0]), text, "{id} kept the entry its own record names");
        let account = report.accounts.iter().find(|a| &a.id == id).unwrap();
        assert_eq!(account.keychain.as_ref().map(|k| k.state), Some("ok"), "{id}");
        assert!(keychain.delete(id).unwrap());
    }
}
