//! `spotoken logout`: an account's tokens deleted from the keychain and its records
//! from Spotoken; Spotify itself is told nothing (it has no revoke endpoint).

use spotoken_core::diagnose::REVOKE_URL;
use spotoken_core::{Engine, Error};

use crate::exit::Exit;
use crate::io::Io;

pub fn run(engine: &Engine, account: Option<&str>, all: bool, io: &mut Io) -> Result<Exit, Error> {
    let ids: Vec<String> = if all {
        engine.accounts()?.into_iter().map(|a| a.id).collect()
    } else {
        vec![engine.resolve_account(account)?.id]
    };
    if ids.is_empty() {
        io.tell("No account is signed in; nothing to forget.");
    }
    for id in ids {
        let gone = engine.logout(&id)?;
        let name = gone.display_name.as_deref().unwrap_or(&gone.id);
        io.say(format!(
            "Signed out {name} ({}): its tokens are deleted from the keychain and its records from Spotoken.",
            gone.id
        ));
    }
    io.tell(format!(
        "Spotify has no revoke endpoint, so it still trusts this app: remove it at {REVOKE_URL} \
         (an access token already handed out can keep working for up to an hour)."
    ));
    Ok(Exit::Success)
}
