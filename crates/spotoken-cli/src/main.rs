//! `spotoken`: parses the command line, runs it, exits. Everything else is the library
//! (`lib.rs`), where commands are tested in-process.

use spotoken_cli::{Cli, Io};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::parse_from_args(std::env::args_os()) {
        Ok(cli) => cli,
        // Help, version and usage errors (exit 2), as clap prints them.
        Err(e) => e.exit(),
    };
    ExitCode::from(spotoken_cli::main(cli, &mut Io::std()).code())
}
