//! `spotoken token`: an access token and a newline on stdout, nothing else; a running
//! agent answers first, without a keychain round trip.

use spotoken_core::activity::Recipient;
use spotoken_core::{Engine, Error, RetryPolicy};
use std::time::Duration;

use crate::commands::warn_of_anomalies_since;
use crate::exit::Exit;
use crate::io::Io;

#[derive(Debug)]
pub struct TokenOptions {
    pub account: Option<String>,
    pub min_valid: u64,
    pub deadline: u64,
    pub json: bool,
}

pub async fn run(engine: Engine, options: TokenOptions, io: &mut Io) -> Result<Exit, Error> {
    let TokenOptions { account, min_valid, deadline, json } = options;
    #[cfg(unix)]
    if std::env::var("SPOTOKEN_AGENT").as_deref() != Ok("off") {
        let socket = spotoken_core::agent::socket_path(engine.paths());
        match spotoken_core::agent::ask_for_token(&socket, account.as_deref(), min_valid).await {
            Some(spotoken_core::agent::Answer::Token { access_token, object }) => {
                tracing::debug!("the agent answered");
                return Ok(print_token(if json { object.secret() } else { access_token.secret() }, io));
            }
            Some(spotoken_core::agent::Answer::Failed(diagnosis)) => return Err(Error::Agent(diagnosis)),
            None => tracing::debug!("no agent answers; going to the keychain"),
        }
    }
    let retry = RetryPolicy { deadline: Some(Duration::from_secs(deadline.max(1))), ..Default::default() };
    let engine = engine.with_retry(retry);
    let started = engine.clock().now();
    let token = match engine.hand_out(account.as_deref(), Duration::from_secs(min_valid), &Recipient::cli()).await {
        Ok(token) => token,
        Err(e) => {
            // An alert raised by this very attempt is said along with the failure.
            warn_of_anomalies_since(&engine, account.as_deref(), started, true, io);
            return Err(e);
        }
    };
    if json {
        return Ok(print_token(&engine.token_object(&token).to_string(), io));
    }
    Ok(print_token(token.access_token.secret(), io))
}

/// The token and a newline, nothing else.
fn print_token(token: &str, io: &mut Io) -> Exit {
    match io.write_raw(format!("{token}\n").as_bytes()) {
        Ok(()) => Exit::Success,
        Err(e) => {
            io.tell(format!("spotoken: cannot write the token to stdout: {e}"));
            Exit::OTHER
        }
    }
}
