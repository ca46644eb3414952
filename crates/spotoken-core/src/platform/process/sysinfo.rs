//! Windows and macOS: the OS's process table through `sysinfo` (safe wrappers over the
//! Toolhelp snapshot and `QueryFullProcessImageNameW` on Windows, `proc_pidinfo` and
//! `proc_pidpath` on macOS). Only the asked-for processes are read.

use super::{Executable, file_name};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

fn read(pid: u32) -> Option<(Option<Executable>, Option<u32>)> {
    let mut system = System::new();
    let pid = Pid::from_u32(pid);
    let kind = ProcessRefreshKind::nothing().with_exe(UpdateKind::Always);
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), true, kind);
    let process = system.process(pid)?;
    let path = process.exe().map(|p| p.to_string_lossy().into_owned()).filter(|p| !p.is_empty());
    let name = path.as_deref().and_then(file_name).or_else(|| {
        let name = process.name().to_string_lossy().into_owned();
        (!name.is_empty()).then_some(name)
    });
    let executable = name.map(|name| Executable { name, path });
    Some((executable, process.parent().map(Pid::as_u32)))
}

pub fn parent() -> Option<Executable> {
    executable_of(parent_of(std::process::id())?)
}

pub fn parent_of(pid: u32) -> Option<u32> {
    read(pid)?.1
}

pub fn executable_of(pid: u32) -> Option<Executable> {
    read(pid)?.0
}
