//! `spotoken agent` (tokens served over a Unix socket, kept refreshed) and
//! `spotoken store-key` (the key of the encrypted-file store, for machines without a
//! keychain): the two commands for servers and containers.

use spotoken_core::{Engine, Error};
use std::path::Path;

use crate::exit::Exit;
use crate::io::Io;

/// Listens until SIGINT or SIGTERM (which wait for a token being stored, as
/// everywhere), refreshing in the background. A socket left behind is removed by the
/// next agent; clients meanwhile find no one there and go on without.
#[cfg(unix)]
pub async fn run(engine: Engine, io: &mut Io) -> Result<Exit, Error> {
    let socket = spotoken_core::agent::socket_path(engine.paths());
    serve_on(engine, &socket, io).await
}

/// [`run`] on `socket`.
#[cfg(unix)]
pub async fn serve_on(engine: Engine, socket: &Path, io: &mut Io) -> Result<Exit, Error> {
    use spotoken_core::background::{DEFAULT_LEAD, Refresher};
    // The machine's refresher for weeks on end: tokens served from memory while valid.
    let engine = std::sync::Arc::new(engine.with_tokens_in_memory());
    let listening = spotoken_core::agent::listen(socket)?;
    io.tell(format!("Spotoken agent: serving tokens on {} (Ctrl-C stops it).", listening.path().display()));
    let refresher = Refresher::new(engine.clone(), DEFAULT_LEAD).by(spotoken_core::activity::Actor::Agent);
    tokio::spawn(refresher.run(|event| tracing::info!(?event, "background refresh")));
    listening.serve(engine).await;
    Ok(Exit::Success)
}

#[cfg(not(unix))]
pub async fn run(_engine: Engine, io: &mut Io) -> Result<Exit, Error> {
    io.tell("spotoken: the agent listens on a Unix socket; this build has none. Use `spotoken token`.");
    Ok(Exit::OTHER)
}

pub fn store_key(file: &Path, io: &mut Io) -> Result<Exit, Error> {
    spotoken_core::store::encrypted::make_key_file(file)?;
    io.tell(format!(
        "Wrote a new key to {}. Keep it secret and backed up: the tokens stored with it cannot be read without it. \
         Use it with SPOTOKEN_STORE=encrypted-file SPOTOKEN_KEY_FILE={}.",
        file.display(),
        file.display()
    ));
    Ok(Exit::Success)
}
