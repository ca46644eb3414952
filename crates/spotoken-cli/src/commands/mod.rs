//! One file per command, each a function of the engine and an [`Io`]; [`run`] picks
//! the one the command line names. What more than one command says is here.

pub mod activity;
pub mod agent;
pub mod api;
pub mod docs;
pub mod exec;
pub mod login;
pub mod logout;
pub mod scopes;
pub mod status;
pub mod token;

use serde::Serialize;
use spotoken_core::activity::Severity;
use spotoken_core::{Engine, Error, Timestamp};
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::Command;
use crate::exit::Exit;
use crate::io::Io;

/// Runs `command` with `engine`, writing to `io`. A failure comes back as the error, for
/// the caller to say (see [`crate::report`]); anything else as how the command ended.
pub async fn run(command: Command, engine: Engine, io: &mut Io) -> Result<Exit, Error> {
    if let Some(exit) = docs::run(&command, io) {
        return Ok(exit);
    }
    match command {
        Command::Login { scopes, presets, no_browser, client_id, show_dialog, timeout, port, account } => {
            let timeout = Duration::from_secs(timeout);
            let options =
                login::LoginOptions { scopes, presets, no_browser, client_id, show_dialog, timeout, port, account };
            login::run(engine, options, io).await
        }
        Command::Token { account, min_valid, deadline, json } => {
            token::run(engine, token::TokenOptions { account, min_valid, deadline, json }, io).await
        }
        Command::Status { json } => status::run(&engine, json, io),
        Command::Activity { account, since, json, ack } => {
            activity::run(&engine, activity::ActivityOptions { account, since, json, ack }, io)
        }
        Command::Scopes { list: true, json, .. } => scopes::list(json, io),
        Command::Scopes { call, account, json, list: false } => {
            scopes::run(&engine, &call, account.as_deref(), json, io)
        }
        Command::Api { path, method, raw_fields, fields, input, headers, paginate, max_pages, include, account } => {
            let options =
                api::ApiOptions { method, raw_fields, fields, input, headers, paginate, max_pages, include, account };
            api::run(&engine, &path, options, io).await
        }
        Command::Exec { account, min_valid, command } => {
            exec::run(&engine, account.as_deref(), min_valid, &command, io).await
        }
        Command::Agent => agent::run(engine, io).await,
        Command::StoreKey { file } => agent::store_key(&file, io),
        Command::Logout { account, all } => logout::run(&engine, account.as_deref(), all, io),
        Command::Completions { .. } | Command::Manpage { .. } => Ok(Exit::Success),
    }
}

/// `value` as pretty JSON on stdout (`--json`).
pub fn print_json(io: &mut Io, value: &impl Serialize) -> Result<(), Error> {
    let failed = |source: std::io::Error| Error::Io { action: "write", path: PathBuf::from("standard output"), source };
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| failed(e.into()))?;
    text.push(b'\n');
    io.write_raw(&text).map_err(failed)
}

/// The open anomalies (of `account`, or all) raised at or after `since`, as warnings on
/// stderr: only alerts when `alerts_only`.
pub fn warn_of_anomalies_since(
    engine: &Engine,
    account: Option<&str>,
    since: Timestamp,
    alerts_only: bool,
    io: &mut Io,
) {
    for a in engine.activity().open_anomalies(account) {
        if a.at >= since && (!alerts_only || a.severity == Severity::Alert) {
            io.tell(format!("spotoken: WARNING: {} {}", a.message, a.fix));
        }
    }
}

pub fn list_or_none(items: &[String]) -> String {
    if items.is_empty() { "(none)".into() } else { items.join(", ") }
}
