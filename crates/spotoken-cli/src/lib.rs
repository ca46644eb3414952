//! `spotoken`: Spotify Web API tokens for scripts, from the OS keychain.
//!
//! A thin layer over `spotoken-core`, shaped like gh's commands: `cli.rs` is the
//! command line as clap reads it, `commands/` has a file per command, each a function
//! of the engine and an [`Io`] that tests replace ([`Io::test`]), and `exit.rs` is the
//! one table of exit codes. Every failure is one line of reason and fix on stderr plus
//! the exit code its code carries. Standard input is read only for
//! `login --no-browser` (the pasted address) and `@-`/`--input -`, so scripts cannot
//! hang on it.

pub mod cli;
pub mod commands;
pub mod exit;
pub mod io;

pub use cli::{Cli, Command};
pub use commands::run;
pub use exit::Exit;
pub use io::Io;

use spotoken_core::clock::human_duration;
use spotoken_core::provider::Provider;
use spotoken_core::{Engine, Error};

/// The program once its arguments are parsed: the engine the environment describes,
/// the command, and the failure said.
pub fn main(cli: Cli, io: &mut Io) -> Exit {
    // These need no engine: they describe the command line itself.
    if let Some(exit) = commands::docs::run(&cli.command, io) {
        return exit;
    }
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            io.tell(format!("spotoken: cannot start: {e}"));
            return Exit::OTHER;
        }
    };
    let ran = runtime.block_on(async {
        // A refreshed token being stored finishes before Ctrl-C or SIGTERM ends us.
        spotoken_core::shutdown::install();
        let engine = engine_from_env(io)?;
        run(cli.command, engine, io).await
    });
    ran.unwrap_or_else(|e| report(&e, io))
}

/// `e` said as one line on stderr, and the exit code its code carries.
pub fn report(e: &Error, io: &mut Io) -> Exit {
    let d = e.diagnose();
    io.tell(format!("spotoken: {} Fix: {} [{}]", d.message, d.fix_for_command_line(), d.code));
    Exit::from(e)
}

/// The engine the platform and `SPOTOKEN_*` describe. A person at a terminal can
/// answer the keychain's unlock prompt: they get time, and are told what is waited for;
/// scripts keep the short timeout.
fn engine_from_env(io: &Io) -> Result<Engine, Error> {
    let mut engine = Engine::from_env()?;
    if io.interactive {
        engine = engine.with_interactive_keychain();
    }
    let teller = io.teller();
    Ok(engine.with_keychain_waiting_told(move |up_to| {
        let name = match Provider::detect() {
            Provider::OtherSecretService => "your keychain".to_string(),
            other => other.name().to_string(),
        };
        teller.tell(format!(
            "Unlock {name} to continue (its unlock window may be open on your screen); Spotoken waits up to {}. \
             Longer: SPOTOKEN_KEYCHAIN_TIMEOUT_SECS.",
            human_duration(up_to.as_secs() as i64)
        ));
    }))
}

fn init_tracing(verbose: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.is_empty() => f,
        _ if verbose => "spotoken_core=info,spotoken=info,spotoken_cli=info".into(),
        _ => "off".into(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
