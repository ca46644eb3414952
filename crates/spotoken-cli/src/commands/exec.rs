//! `spotoken exec`: a command run with `SPOTIFY_ACCESS_TOKEN` set, ending as it ends.

use spotoken_core::activity::{Channel, Recipient};
use spotoken_core::{Engine, Error};
use std::time::Duration;

use crate::exit::Exit;
use crate::io::Io;

pub async fn run(
    engine: &Engine,
    account: Option<&str>,
    min_valid: u64,
    command: &[String],
    io: &mut Io,
) -> Result<Exit, Error> {
    let Some((program, args)) = command.split_first() else {
        return Ok(Exit::CannotRun);
    };
    let to = Recipient::cli_as(Channel::CliExec);
    let token = engine.hand_out(account, Duration::from_secs(min_valid), &to).await?;
    let status = std::process::Command::new(program)
        .args(args)
        .env("SPOTIFY_ACCESS_TOKEN", token.access_token.secret())
        .status();
    match status {
        // As a shell reports it: the code, or 128 + the signal that ended it.
        Ok(status) => Ok(spotoken_core::platform::process::exit_code(status)
            .and_then(|c| u8::try_from(c).ok())
            .map_or(Exit::OTHER, Exit::Command)),
        Err(e) => {
            io.tell(format!("spotoken: cannot run {program}: {e}. Fix: check the command's name and PATH."));
            Ok(Exit::CannotRun)
        }
    }
}
