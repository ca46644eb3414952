//! Which program asked for a token: for the command line, the process that started
//! `spotoken` (a shell, a script's interpreter, a home-automation daemon).
//!
//! Only the executable's name and path are taken, never its command line: arguments
//! can hold secrets (`curl -H "Authorization: Bearer …"`). Where the parent cannot be
//! looked at (another user's process, no `/proc`), the program is unknown rather than
//! guessed.

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
    /// The program that started this process, if it can be told.
    pub fn parent() -> Option<Self> {
        #[cfg(unix)]
        {
            Self::of_process(std::os::unix::process::parent_id())
        }
        #[cfg(not(unix))]
        {
            None
        }
    }

    /// The program running as process `pid`.
    #[cfg(target_os = "linux")]
    pub fn of_process(pid: u32) -> Option<Self> {
        let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
        if let Ok(exe) = std::fs::read_link(proc_dir.join("exe")) {
            let path = exe.to_string_lossy().trim_end_matches(" (deleted)").to_string();
            let name = std::path::Path::new(&path).file_name()?.to_string_lossy().into_owned();
            return Some(Self { name: crate::text::clean(&name), path: Some(crate::text::clean(&path)) });
        }
        // The executable link is closed to us (another user's process): the kernel's
        // short name is still readable.
        let comm = std::fs::read_to_string(proc_dir.join("comm")).ok()?;
        let name = crate::text::clean(comm.trim_end());
        (!name.is_empty()).then_some(Self { name, path: None })
    }

    #[cfg(all(unix, not(target_os = "linux")))]
    pub fn of_process(_pid: u32) -> Option<Self> {
        None
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_by_its_executable() {
        let me = Program::of_process(std::process::id()).unwrap();
        let exe = std::env::current_exe().unwrap();
        assert_eq!(me.path.as_deref(), Some(exe.to_str().unwrap()));
        assert_eq!(me.name, exe.file_name().unwrap().to_str().unwrap());
        assert_eq!(me.key(), exe.to_str().unwrap());
    }

    #[test]
    fn a_process_that_is_gone_is_unknown() {
        // Past the kernel's largest pid: no such process.
        assert_eq!(Program::of_process(u32::MAX - 1), None);
    }
}
