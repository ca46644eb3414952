use super::*;

#[test]
fn a_person_is_given_longer_unless_the_environment_said_how_long() {
    let script = Keychain::new(SERVICE, DEFAULT_TIMEOUT);
    assert_eq!(script.timeout, DEFAULT_TIMEOUT);
    assert_eq!(script.clone().interactive().timeout, PROMPT_TIMEOUT);
    let set = Keychain { timeout_is_set: true, ..Keychain::new(SERVICE, Duration::from_secs(3)) };
    assert_eq!(set.interactive().timeout, Duration::from_secs(3));
    // Told when waiting only where a front end asked to be.
    assert!(script.on_waiting.is_none() && format!("{script:?}").contains("tells_when_waiting: false"));
    let told = script.telling(std::sync::Arc::new(|_| {}));
    assert!(told.on_waiting.is_some() && format!("{told:?}").contains("tells_when_waiting: true"), "{told:?}");
}

#[test]
fn the_timeout_variable_is_believed_only_as_seconds_above_zero() {
    let of = |v: Option<&str>| {
        let k = Keychain::with_timeout_var(v);
        assert_eq!(k.service, SERVICE);
        (k.timeout, k.timeout_is_set)
    };
    assert_eq!(of(Some("2.5")), (Duration::from_millis(2500), true));
    assert_eq!(of(Some(" 40 ")), (Duration::from_secs(40), true));
    for unusable in [None, Some(""), Some("0"), Some("-1"), Some("inf"), Some("-inf"), Some("NaN"), Some("soon")] {
        assert_eq!(of(unusable), (DEFAULT_TIMEOUT, false), "{unusable:?}");
    }
}

/// The held search against the session's real Secret Service (gnome-keyring,
/// unlocked): an entry found, or none with nothing locked, is an answer, not a
/// cancelled unlock.
#[cfg(target_os = "linux")]
#[test]
fn a_held_search_that_finds_nothing_in_an_unlocked_keychain_is_an_answer() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session: run this through scripts/test or scripts/keyring-session"
    );
    let service = format!("spotoken-test-held-{}", std::process::id());
    let keychain = Keychain::new(&service, DEFAULT_TIMEOUT);
    assert_eq!(keychain.wait_for_unlock("nobody", Duration::from_secs(5), &mut keychain.told_once()), Unlock::Answered);
    let tokens = StoredTokens {
        access_token: Secret::of("BQ-held".into()),
        refresh_token: None,
        access_expires_at: crate::clock::Timestamp(2),
        obtained_at: crate::clock::Timestamp(1),
    };
    keychain.write("somebody", &tokens).unwrap();
    assert_eq!(
        keychain.wait_for_unlock("somebody", Duration::from_secs(5), &mut keychain.told_once()),
        Unlock::Answered
    );
    assert!(keychain.delete("somebody").unwrap());
}

/// The collections as the session's Secret Service lists them (gnome-keyring, unlocked:
/// its login keyring and its session collection), none of them locked.
#[cfg(target_os = "linux")]
#[test]
fn the_collections_are_counted_as_the_secret_service_lists_them() {
    use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
    let connection = dbus::blocking::Connection::new_session().unwrap();
    let proxy = connection.with_proxy("org.freedesktop.secrets", "/org/freedesktop/secrets", DEFAULT_TIMEOUT);
    let listed: Vec<dbus::Path<'static>> = proxy.get("org.freedesktop.Secret.Service", "Collections").unwrap();
    assert!(listed.len() >= 2, "{listed:?}");
    assert_eq!(secret_service::collections(DEFAULT_TIMEOUT).unwrap(), (listed.len(), 0));
}

/// A keychain slower than 1.5 s is said to be waiting for the person, once per
/// operation, with the whole wait; one that answers in time or is given less than
/// that is not.
#[test]
fn a_slow_keychain_is_said_to_wait_for_the_person_once() {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    static TOLD_TOTAL: AtomicU64 = AtomicU64::new(0);
    let keychain = Keychain::new(SERVICE, DEFAULT_TIMEOUT).telling(std::sync::Arc::new(|total| {
        CALLS.fetch_add(1, Ordering::SeqCst);
        TOLD_TOTAL.store(total.as_secs(), Ordering::SeqCst);
    }));
    let answer_after = |delay: Duration| {
        let (tx, rx) = mpsc::sync_channel(1);
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = tx.send(7);
        });
        rx
    };
    let (ten, total) = (Duration::from_secs(10), Duration::from_secs(120));
    let mut told = keychain.told_once();
    assert_eq!(await_answer(&answer_after(Duration::ZERO), ten, total, &mut told), Some(7));
    assert!(!told.told && CALLS.load(Ordering::SeqCst) == 0, "a quick answer says nothing");
    assert_eq!(await_answer(&answer_after(Duration::from_millis(1800)), ten, total, &mut told), Some(7));
    assert!(told.told);
    assert_eq!((CALLS.load(Ordering::SeqCst), TOLD_TOTAL.load(Ordering::SeqCst)), (1, 120));
    // Told already in this operation: not again.
    assert_eq!(await_answer(&answer_after(Duration::from_millis(1800)), ten, total, &mut told), Some(7));
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
    // Less time than that, and no answer: nothing said, nothing handed back.
    let mut told = keychain.told_once();
    let short = Duration::from_millis(200);
    assert_eq!(await_answer(&answer_after(Duration::from_secs(1)), short, short, &mut told), None);
    assert!(!told.told && CALLS.load(Ordering::SeqCst) == 1);
}

/// What a held search's answer says, for every shape it can take: an entry found
/// unlocked is an answer even while another collection stays locked; found only locked
/// tells nothing; nothing found is a dismissed unlock only while a collection stays
/// locked; D-Bus giving up is no answer, any other failure unknown.
#[cfg(target_os = "linux")]
#[test]
fn a_held_search_is_read_by_what_it_found_and_what_stays_locked() {
    use secret_service::held_answer;
    let item = || vec!["/org/freedesktop/secrets/collection/login/1"];
    let none = Vec::<&str>::new;
    let dbus = |name: &str| dbus::Error::new_custom(name, "said by the bus");
    let locked = |n: usize| move || Ok((2, n));
    let unused = || -> Result<(usize, usize)> { panic!("the collections were not needed") };
    assert_eq!(held_answer(Ok((item(), none())), unused), Unlock::Answered);
    assert_eq!(held_answer(Ok((item(), item())), unused), Unlock::Answered);
    assert_eq!(held_answer(Ok((none(), item())), unused), Unlock::Unknown);
    assert_eq!(held_answer(Ok((none(), none())), locked(1)), Unlock::Cancelled);
    assert_eq!(held_answer(Ok((none(), none())), locked(0)), Unlock::Answered);
    assert_eq!(held_answer(Ok((none(), none())), || Err(Error::Keychain("gone".into()))), Unlock::Answered);
    assert_eq!(held_answer::<&str>(Err(dbus("org.freedesktop.DBus.Error.NoReply")), unused), Unlock::NoAnswer);
    assert_eq!(held_answer::<&str>(Err(dbus("org.freedesktop.DBus.Error.Timeout")), unused), Unlock::NoAnswer);
    let other = dbus("org.freedesktop.DBus.Error.ServiceUnknown");
    assert_eq!(held_answer::<&str>(Err(other), unused), Unlock::Unknown);
}
