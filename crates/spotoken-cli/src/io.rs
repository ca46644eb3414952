//! Where a command's words go: standard output for what a script reads (a token, JSON,
//! an answer's body, the lines of `status`), standard error for what a person reads,
//! standard input for what a person pastes. Tests replace all three with
//! [`Io::test`], as gh's commands write to an `IOStreams` that its tests replace.
//!
//! Text for people is made safe here, once, on its way out, a line at a time
//! ([`Io::say`], [`Io::tell`]): a display name, Spotify's error string or a path in it
//! cannot move the cursor, recolour or retitle the terminal, or break a line. Bytes meant for programs ([`Io::write_raw`]) go out
//! as they are.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

/// A command's standard streams.
pub struct Io {
    out: Box<dyn Write + Send>,
    err: Teller,
    input: Option<Box<dyn BufRead + Send>>,
    /// A person can answer on this terminal (the keychain's unlock prompt, for one).
    pub interactive: bool,
}

impl Io {
    /// The process's own streams.
    pub fn std() -> Self {
        Self {
            out: Box::new(std::io::stdout()),
            err: Teller::new(std::io::stderr()),
            input: Some(Box::new(std::io::BufReader::new(std::io::stdin()))),
            interactive: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }

    /// Streams a test reads back: `input` is what standard input holds.
    pub fn test(input: &[u8]) -> (Self, Captured) {
        let captured = Captured::default();
        let io = Self {
            out: Box::new(Shared(captured.out.clone())),
            err: Teller::new(Shared(captured.err.clone())),
            input: Some(Box::new(std::io::Cursor::new(input.to_vec()))),
            interactive: false,
        };
        (io, captured)
    }

    /// A line of text for people on standard output (`status`, `scopes`, `activity`);
    /// a line break in it becomes a space, as any control character is neutralised.
    pub fn say(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", terminal_safe(text.as_ref()));
    }

    /// A line of text for people on standard error: progress, warnings, failures.
    pub fn tell(&mut self, text: impl AsRef<str>) {
        self.err.tell(text);
    }

    /// Standard error for whatever tells the person something while a command waits
    /// (a login's address, the keychain's unlock prompt): it may outlive the borrow.
    pub fn teller(&self) -> Teller {
        self.err.clone()
    }

    /// Bytes for programs, as they are (a token, JSON, an answer's body).
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)?;
        self.out.flush()
    }

    /// Standard output itself, for output written as it arrives (`api --paginate`).
    pub fn out(&mut self) -> &mut (dyn Write + Send) {
        &mut *self.out
    }

    /// Standard input, once: whoever reads it owns it.
    pub fn take_input(&mut self) -> Option<Box<dyn BufRead + Send>> {
        self.input.take()
    }
}

/// Standard error, shared.
#[derive(Clone)]
pub struct Teller(Arc<Mutex<Box<dyn Write + Send>>>);

impl Teller {
    fn new(err: impl Write + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(Box::new(err))))
    }

    /// See [`Io::tell`].
    pub fn tell(&self, text: impl AsRef<str>) {
        let mut err = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(err, "{}", terminal_safe(text.as_ref()));
        let _ = err.flush();
    }
}

/// The most characters of one line for people: room for a few fields of outside text
/// (each already cut to `spotoken_core::text::MAX_CHARS` where it came in).
const MAX_LINE_CHARS: usize = 4 * spotoken_core::text::MAX_CHARS;

/// One line, safe for a terminal: a display name or Spotify's error string in it cannot
/// move the cursor, recolour the terminal or start a line that looks like ours.
fn terminal_safe(line: &str) -> String {
    spotoken_core::text::clean_to(line, MAX_LINE_CHARS)
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io").field("interactive", &self.interactive).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Teller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Teller")
    }
}

/// What a command wrote, for a test to read.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
