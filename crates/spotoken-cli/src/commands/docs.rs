//! `spotoken completions` and `spotoken manpage`: the command line describing itself,
//! with no engine, no keychain and no settings read.

use crate::cli::{Command, command};
use crate::exit::Exit;
use crate::io::Io;

/// `Some` when `command` is one of these (and has run).
pub fn run(which: &Command, io: &mut Io) -> Option<Exit> {
    match which {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command(), "spotoken", &mut script);
            Some(print(&script, io))
        }
        Command::Manpage { dir: Some(dir) } => Some(match clap_mangen::generate_to(command(), dir) {
            Ok(()) => Exit::Success,
            Err(e) => {
                io.tell(format!("spotoken: cannot write the man pages to {}: {e}", dir.display()));
                Exit::OTHER
            }
        }),
        Command::Manpage { dir: None } => {
            let mut page = Vec::new();
            if let Err(e) = clap_mangen::Man::new(command()).render(&mut page) {
                io.tell(format!("spotoken: cannot make the man page: {e}"));
                return Some(Exit::OTHER);
            }
            Some(print(&page, io))
        }
        _ => None,
    }
}

/// A reader that went away (`| head`) is no failure.
fn print(bytes: &[u8], io: &mut Io) -> Exit {
    match io.write_raw(bytes) {
        Ok(()) => Exit::Success,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Success,
        Err(e) => {
            io.tell(format!("spotoken: cannot write to stdout: {e}"));
            Exit::OTHER
        }
    }
}
