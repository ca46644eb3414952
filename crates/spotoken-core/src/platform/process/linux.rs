//! Linux: `/proc/PID/exe`, or the kernel's short name where the link is closed to us.

use super::{Executable, file_name};

pub fn parent() -> Option<Executable> {
    executable_of(std::os::unix::process::parent_id())
}

pub fn parent_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("PPid:")).and_then(|v| v.trim().parse().ok()).filter(|&p| p != 0)
}

pub fn executable_of(pid: u32) -> Option<Executable> {
    let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
    if let Ok(exe) = std::fs::read_link(proc_dir.join("exe")) {
        let path = exe.to_string_lossy().trim_end_matches(" (deleted)").to_string();
        return Some(Executable { name: file_name(&path)?, path: Some(path) });
    }
    // The executable link is closed to us (another user's process): the kernel's short
    // name is still readable.
    let comm = std::fs::read_to_string(proc_dir.join("comm")).ok()?;
    let name = comm.trim_end().to_string();
    (!name.is_empty()).then_some(Executable { name, path: None })
}
