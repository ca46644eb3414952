//! Which program asked for a token: for the command line, the process that started
//! `spotoken` (a shell, a script's interpreter, a home-automation daemon).
//!
//! Only the executable's name and path are taken, never its command line: arguments
//! can hold secrets (`curl -H "Authorization: Bearer …"`). Where the parent cannot be
//! looked at (another user's process), the program is unknown rather than guessed.
//! How each OS is asked: [`crate::platform::process`].

use serde::{Deserialize, Serialize};

/// A program, by its executable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// The executable's file name (`bash`, `python3.11`).
    pub name: String,
    /// Its full path, when it could be read.
    pub path: Option<String>,
}

impl Program {
    /// The program that started this process, if the OS will say.
    pub fn parent() -> Option<Self> {
        crate::platform::process::parent().map(Self::from)
    }

    /// The program running as process `pid`.
    pub fn of_process(pid: u32) -> Option<Self> {
        crate::platform::process::executable_of(pid).map(Self::from)
    }

    /// How two sightings are compared: by path when known, else by name.
    pub fn key(&self) -> &str {
        self.path.as_deref().unwrap_or(&self.name)
    }

    /// `bash (/usr/bin/bash)`.
    pub fn describe(&self) -> String {
        match &self.path {
            Some(path) => format!("{} ({path})", self.name),
            None => self.name.clone(),
        }
    }
}

impl From<crate::platform::process::Executable> for Program {
    /// Names and paths are cleaned: they are shown in the window and at a terminal.
    fn from(exe: crate::platform::process::Executable) -> Self {
        Self { name: crate::text::clean(&exe.name), path: exe.path.as_deref().map(crate::text::clean) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_by_its_executable() {
        let me = Program::of_process(std::process::id()).unwrap();
        let exe = std::env::current_exe().unwrap();
        assert_eq!(me.name, exe.file_name().unwrap().to_str().unwrap());
        assert_eq!(me.key(), me.path.as_deref().unwrap());
    }

    #[test]
    fn control_characters_in_a_name_are_cleaned() {
        let exe = crate::platform::process::Executable {
            name: "evil\u{1b}[2J".into(),
            path: Some("/tmp/evil\u{1b}[2J".into()),
        };
        let program = Program::from(exe);
        assert!(!program.name.contains('\u{1b}') && !program.key().contains('\u{1b}'));
    }

    #[test]
    fn a_process_that_is_gone_is_unknown() {
        assert_eq!(Program::of_process(u32::MAX - 1), None);
    }
}
