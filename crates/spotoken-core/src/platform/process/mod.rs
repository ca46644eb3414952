//! The program that started this process, and the exit code a finished child reports.
//!
//! Only the executable's name and path are read, never a command line: arguments can
//! hold secrets (`curl -H "Authorization: Bearer …"`). Where the OS will not say (a
//! process of another user, one that has ended) the answer is `None`, never a guess.
//! Linux reads `/proc`; Windows and macOS ask the OS through the `sysinfo` crate (on
//! Windows a process snapshot for the parent and `QueryFullProcessImageNameW` for its
//! image; on macOS `proc_pidinfo` and `proc_pidpath`).

#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod os;
#[cfg(not(target_os = "linux"))]
#[path = "sysinfo.rs"]
mod os;

/// An executable, as the OS names it: its file name and, when readable, full path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executable {
    pub name: String,
    pub path: Option<String>,
}

/// The process that started this one, by its executable.
pub fn parent() -> Option<Executable> {
    os::parent()
}

/// The process that started process `pid`.
pub fn parent_of(pid: u32) -> Option<u32> {
    os::parent_of(pid)
}

/// The executable of process `pid`.
pub fn executable_of(pid: u32) -> Option<Executable> {
    os::executable_of(pid)
}

/// The exit code a shell would report for `status`: the child's own code, or on Unix
/// 128 + the number of the signal that ended it. `None` only where neither is known.
pub fn exit_code(status: std::process::ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.code().or_else(|| status.signal().map(|s| 128 + s))
    }
    // Windows: every process ends with a 32-bit code (a crash too, as an NTSTATUS).
    #[cfg(not(unix))]
    status.code()
}

fn file_name(path: &str) -> Option<String> {
    // Both separators: a Windows path read on any system still splits.
    let name = path.rsplit(['/', '\\']).next()?;
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_by_its_executable() {
        let me = executable_of(std::process::id()).unwrap();
        let exe = std::env::current_exe().unwrap();
        // Under Wine a path may be given in another spelling of the same file.
        let path = me.path.expect("the path of this process's own executable is readable");
        assert!(
            std::path::Path::new(&path).canonicalize().unwrap() == exe.canonicalize().unwrap(),
            "{path} is not {exe:?}"
        );
        assert_eq!(me.name, exe.file_name().unwrap().to_str().unwrap());
    }

    #[test]
    fn the_parent_is_the_program_that_started_this_one() {
        if let Some(out) = std::env::var_os(crate::TEST_CHILD_OUT) {
            // The child: started by the test below, so its parent is this test binary.
            let found = parent().map(|p| format!("{}\n{}", p.name, p.path.unwrap_or_default()));
            std::fs::write(out, found.unwrap_or_default()).unwrap();
            return;
        }
        let found =
            crate::run_as_child("platform::process::tests::the_parent_is_the_program_that_started_this_one", &[]);
        let (name, path) = found.split_once('\n').expect("the child found its parent");
        let exe = std::env::current_exe().unwrap();
        assert_eq!(name, exe.file_name().unwrap().to_str().unwrap());
        assert_eq!(std::path::Path::new(path).canonicalize().unwrap(), exe.canonicalize().unwrap());
    }

    #[test]
    fn a_process_that_is_gone_is_unknown() {
        // Past any system's largest pid: no such process.
        assert_eq!(executable_of(u32::MAX - 1), None);
    }

    #[test]
    fn names_are_split_on_either_separator() {
        assert_eq!(file_name("/usr/bin/python3.11").as_deref(), Some("python3.11"));
        assert_eq!(file_name(r"C:\Windows\System32\cmd.exe").as_deref(), Some("cmd.exe"));
        assert_eq!(file_name("/trailing/"), None);
    }

    #[test]
    fn exit_codes_are_passed_through() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "no-such-test", "--quiet"])
            .output()
            .unwrap()
            .status;
        assert_eq!(exit_code(status), Some(0), "a test binary that ran no test exits 0");
    }

    /// A child's own code, and on Unix 128 + the signal that ended one, as a shell says.
    #[cfg(unix)]
    #[test]
    fn a_code_or_a_signal_is_said_as_a_shell_would() {
        let run = |script: &str| exit_code(std::process::Command::new("sh").args(["-c", script]).status().unwrap());
        assert_eq!(run("exit 3"), Some(3));
        assert_eq!(run("kill -TERM $$"), Some(128 + 15));
        assert_eq!(run("kill -KILL $$"), Some(128 + 9));
    }

    /// The parent of a process this one started is this one (asked while the child
    /// runs: an ended process is not found everywhere).
    #[test]
    fn a_childs_parent_is_the_process_that_started_it() {
        const LINGER: &str = "SPOTOKEN_TEST_LINGER";
        if std::env::var_os(LINGER).is_some() {
            std::thread::sleep(std::time::Duration::from_secs(30));
            return;
        }
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "platform::process::tests::a_childs_parent_is_the_process_that_started_it", "--quiet"])
            .env(LINGER, "1")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let parent = parent_of(child.id());
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(parent, Some(std::process::id()));
        assert_eq!(parent_of(u32::MAX - 1), None, "no such process");
    }
}
