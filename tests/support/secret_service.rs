//! The Secret Service of the session's bus, spoken to directly (not through Spotoken):
//! items planted as another writer would leave them, and the items a search finds.
//! Shared by the engine's and the command line's keychain tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use dbus::arg::{RefArg, Variant};
use std::collections::HashMap;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// `call`, tried again while gnome-keyring answers that the method "is not implemented"
/// (`UnknownMethod`). gnome-keyring 42 answers so when a handler fails before it can
/// reply (such as opening its PKCS#11 session for a client while other clients are
/// busy), once in a while when tests run side by side; the next try works.
fn retried<T>(mut call: impl FnMut() -> Result<T, dbus::Error>) -> T {
    for _ in 0..20 {
        match call() {
            Err(e) if e.name() == Some("org.freedesktop.DBus.Error.UnknownMethod") => {
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other.unwrap(),
        }
    }
    call().unwrap()
}

/// A connection to the session bus and a Secret Service session on it that passes
/// secrets unencrypted (`plain`).
fn plain_session() -> (dbus::blocking::Connection, dbus::Path<'static>) {
    let connection = dbus::blocking::Connection::new_session().unwrap();
    let proxy = connection.with_proxy("org.freedesktop.secrets", "/org/freedesktop/secrets", TIMEOUT);
    let (_, session): (Variant<Box<dyn RefArg>>, dbus::Path<'static>) = retried(|| {
        proxy.method_call(
            "org.freedesktop.Secret.Service",
            "OpenSession",
            ("plain", Variant(Box::new(String::new()) as Box<dyn RefArg>)),
        )
    });
    (connection, session)
}

/// Stores `secret` under keyring's attributes for `service` and `user`, as a new item
/// beside any there (`replace` false: `secret-tool store` would replace the one in the
/// same collection) in `collection` (an alias: `default`, `session`). Returns its path.
pub fn plant(service: &str, user: &str, secret: &str, collection: &str) -> String {
    let (connection, session) = plain_session();
    let proxy = connection.with_proxy("org.freedesktop.secrets", "/org/freedesktop/secrets", TIMEOUT);
    let (path,): (dbus::Path,) =
        proxy.method_call("org.freedesktop.Secret.Service", "ReadAlias", (collection,)).unwrap();
    assert_ne!(&*path, "/", "no {collection} collection");
    let attributes = HashMap::from([
        ("service".to_string(), service.to_string()),
        ("username".to_string(), user.to_string()),
        ("target".to_string(), "default".to_string()),
        ("application".to_string(), "rust-keyring".to_string()),
    ]);
    let mut properties: HashMap<&str, Variant<Box<dyn RefArg>>> = HashMap::new();
    properties.insert("org.freedesktop.Secret.Item.Label", Variant(Box::new("planted".to_string())));
    properties.insert("org.freedesktop.Secret.Item.Attributes", Variant(Box::new(attributes)));
    let value = (session, Vec::<u8>::new(), secret.as_bytes().to_vec(), "text/plain".to_string());
    let (item, _prompt): (dbus::Path, dbus::Path) = connection
        .with_proxy("org.freedesktop.secrets", path, TIMEOUT)
        .method_call("org.freedesktop.Secret.Collection", "CreateItem", (properties, value, false))
        .unwrap();
    assert_ne!(&*item, "/", "the planted item needed a prompt");
    item.to_string()
}

/// The item paths a search for `service` and `user` finds in every collection, as the
/// Secret Service itself lists them.
pub fn entries(service: &str, user: &str) -> Vec<String> {
    let connection = dbus::blocking::Connection::new_session().unwrap();
    let proxy = connection.with_proxy("org.freedesktop.secrets", "/org/freedesktop/secrets", TIMEOUT);
    let attributes = HashMap::from([("service", service), ("username", user), ("target", "default")]);
    let (unlocked, locked): (Vec<dbus::Path>, Vec<dbus::Path>) =
        retried(|| proxy.method_call("org.freedesktop.Secret.Service", "SearchItems", (attributes.clone(),)));
    unlocked.into_iter().chain(locked).map(|p| p.to_string()).collect()
}

/// The secret an item holds, read in a plain session.
pub fn secret_of(item: &str) -> String {
    let (connection, session) = plain_session();
    let ((_, _, value, _),): ((dbus::Path, Vec<u8>, Vec<u8>, String),) = connection
        .with_proxy("org.freedesktop.secrets", item.to_string(), TIMEOUT)
        .method_call("org.freedesktop.Secret.Item", "GetSecret", (session,))
        .unwrap();
    String::from_utf8(value).unwrap()
}

/// Removes an item, as another program would (`secret-tool clear`).
pub fn remove(item: &str) {
    let connection = dbus::blocking::Connection::new_session().unwrap();
    let (prompt,): (dbus::Path,) = retried(|| {
        connection.with_proxy("org.freedesktop.secrets", item.to_string(), TIMEOUT).method_call(
            "org.freedesktop.Secret.Item",
            "Delete",
            (),
        )
    });
    assert_eq!(&*prompt, "/", "removing the item needed a prompt");
}
