//! `spotoken login`: a sign-in through the loopback redirect, the browser opened here,
//! or (`--no-browser`) the address printed and the one the browser ended on pasted
//! back. The Client ID given is saved; the presets and scopes were checked by clap.

use spotoken_core::clock::human_duration;
use spotoken_core::config::{ClientId, LOOPBACK_REDIRECT_TO_REGISTER};
use spotoken_core::diagnose::DASHBOARD_URL;
use spotoken_core::{AccountStatus, Engine, Error, LoopbackLogin, scopes};
use std::io::BufRead;
use std::time::Duration;

use crate::commands::{list_or_none, warn_of_anomalies_since};
use crate::exit::Exit;
use crate::io::Io;

#[derive(Debug)]
pub struct LoginOptions {
    pub scopes: Vec<String>,
    pub presets: Vec<String>,
    pub no_browser: bool,
    pub client_id: Option<String>,
    pub show_dialog: bool,
    pub timeout: Duration,
    pub port: Option<u16>,
    pub account: Option<String>,
}

pub async fn run(mut engine: Engine, options: LoginOptions, io: &mut Io) -> Result<Exit, Error> {
    if let Some(id) = options.client_id {
        let id = ClientId::parse(&id)?;
        if engine.settings().client_id.as_deref() != Some(id.as_str()) {
            engine.update_settings(|settings| {
                settings.client_id = Some(id.to_string());
                Ok(())
            })?;
            io.tell(format!("Saved the Client ID to {}.", engine.paths().settings_file().display()));
        }
        engine = engine.with_client_id_override(Some(id.to_string()));
    }
    let mut wanted = options.scopes;
    // Each name is one of the presets': clap allows no other.
    for name in &options.presets {
        for preset in scopes::PRESETS.iter().filter(|p| p.name == name) {
            wanted.extend(preset.scopes.iter().map(|s| s.to_string()));
        }
    }
    // The account's key, however it was named (user id, user@client-prefix).
    let account = match options.account {
        Some(id) => Some(engine.resolve_account(Some(&id))?.id),
        None => None,
    };
    let timeout = options.timeout;
    let login =
        LoopbackLogin { scopes: wanted, show_dialog: options.show_dialog, port: options.port, timeout, account };
    // Only with --no-browser is standard input read: otherwise a script never waits on it.
    let (paste_tx, mut pasted) = tokio::sync::mpsc::unbounded_channel();
    let input = if options.no_browser { io.take_input() } else { None };
    let teller = io.teller();
    let show = |url: &url::Url| {
        teller.tell("Sign in to Spotify in your browser. If it did not open, visit:");
        teller.tell("");
        teller.tell(format!("  {url}"));
        teller.tell("");
        teller.tell(format!(
            "(If Spotify shows \"redirect_uri: Not matching configuration\" or \"INVALID_CLIENT: Invalid redirect URI\", \
             add {LOOPBACK_REDIRECT_TO_REGISTER} to your app at {DASHBOARD_URL}.)"
        ));
        if options.no_browser {
            teller.tell(
                "Browser on another machine? After you agree, it goes to http://127.0.0.1:…/callback?… \
                 and may say it cannot connect: copy that whole address from its address bar and \
                 paste it here, then press Enter.",
            );
            if let Some(input) = input {
                read_pasted_lines(input, paste_tx);
            }
        } else if let Err(why) = spotoken_core::browser::open(url.as_str()) {
            teller.tell(format!("Could not open a browser ({why}); open the address above yourself."));
        }
        teller.tell(format!("Waiting for Spotify (up to {})…", human_duration(timeout.as_secs() as i64)));
    };
    let refused = |d: &spotoken_core::Diagnosis| {
        teller.tell(format!(
            "That address was refused: {} {} [{}] Still waiting; paste the right one.",
            d.message,
            d.fix_for_command_line(),
            d.code
        ));
    };
    let record = engine.login_loopback_or_pasted(&login, show, &mut pasted, refused).await?;
    let status = AccountStatus::new(&record, engine.clock().now());
    io.say(format!("Logged in as {} ({}).", record.name(), record.id));
    warn_of_anomalies_since(&engine, None, record.authorized_at, false, io);
    io.say(format!("Granted scopes: {}", list_or_none(&status.scopes.granted)));
    if !status.scopes.missing.is_empty() {
        io.say(format!("Not granted: {}", status.scopes.missing.join(", ")));
    }
    Ok(Exit::Success)
}

/// Sends each line of `input` to `lines`, from a thread of its own: a blocking read
/// must not keep the process alive once the login has finished another way.
fn read_pasted_lines(input: Box<dyn BufRead + Send>, lines: tokio::sync::mpsc::UnboundedSender<String>) {
    std::thread::spawn(move || {
        for line in input.lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
}
