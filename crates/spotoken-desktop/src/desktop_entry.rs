//! Desktop entries on Linux: the one that makes the desktop hand `spotoken://` links to
//! this binary, and the one that starts Spotoken in the tray when the person logs in.
//!
//! Browsers hand a scheme they do not know to `xdg-open`, which finds the default
//! handler in `mimeapps.list` and runs the `Exec` line of its desktop entry. Three
//! readers of that line matter: GNOME's gio and KDE parse it by the Desktop Entry
//! spec (quotes and escapes), but xdg-open's generic mode (no desktop environment
//! detected: openbox, i3, sway…) takes the first whitespace-separated word as the
//! program, quotes and all. So the entry written here never needs quotes: `Exec` names
//! the binary directly when its path has no reserved character, else a symlink to it
//! in Spotoken's data folder; only if that folder's path needs quoting too is the spec's
//! quoting used (then only gio and KDE can run it, and the self-test says so).
//!
//! The .deb ships its own entry (`Exec=spotoken-app %u`); this is for every other way
//! of running the app. Registering changes the person's URL handlers, so the app does
//! it only when the deep link is chosen or tested. Nothing here is secret.
//!
//! The autostart entry follows the XDG autostart spec (`$XDG_CONFIG_HOME/autostart`),
//! read by GNOME, KDE, Xfce and, for bare window managers, `dex` or
//! `openbox-xdg-autostart`. It is written here rather than by tauri-plugin-autostart,
//! whose Linux backend writes to `~/.config/autostart` whatever `$XDG_CONFIG_HOME` says
//! and puts the binary's path in `Exec` unquoted, so a path with a space never starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The scheme's MIME type in `mimeapps.list`.
pub const MIME_TYPE: &str = "x-scheme-handler/spotoken";
/// The entry's file name in `$XDG_DATA_HOME/applications`.
pub const ENTRY_FILE: &str = "spotoken-handler.desktop";
/// What earlier versions registered through tauri-plugin-deep-link (quoted `Exec`).
const OLD_ENTRY_FILE: &str = "spotoken-app-handler.desktop";

/// The command that makes the entry the default handler, for the person to run.
pub fn default_handler_command() -> String {
    format!("xdg-mime default {ENTRY_FILE} {MIME_TYPE}")
}

/// Characters the Desktop Entry spec reserves in an unquoted `Exec` argument, plus `%`
/// (field codes) and anything that is not printable.
fn needs_quoting(arg: &str) -> bool {
    arg.is_empty()
        || arg.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '"' | '\''
                        | '\\'
                        | '>'
                        | '<'
                        | '~'
                        | '|'
                        | '&'
                        | ';'
                        | '$'
                        | '*'
                        | '?'
                        | '#'
                        | '`'
                        | '('
                        | ')'
                        | '%'
                )
        })
}

/// One `Exec` argument as the spec wants it: bare when it can be, else in double quotes
/// with `"`, `` ` ``, `$` and `\` escaped, then the string-value escaping of `\` on top
/// (so one backslash becomes four), and `%` doubled.
pub fn exec_argument(arg: &str) -> String {
    if !needs_quoting(arg) {
        return arg.to_string();
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' => {
                quoted.push_str("\\\\");
                quoted.push(c);
            }
            '\\' => quoted.push_str("\\\\\\\\"),
            '%' => quoted.push_str("%%"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Reads the program back out of an `Exec` value (the inverse of [`exec_argument`] for
/// its first argument).
pub fn exec_program(exec: &str) -> Option<String> {
    let exec = exec.trim_start();
    let Some(rest) = exec.strip_prefix('"') else {
        return exec.split_whitespace().next().map(str::to_string);
    };
    // Undo the string escaping first, then the quoting.
    let mut unescaped = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\\') => unescaped.push('\\'),
                Some('n') => unescaped.push('\n'),
                Some('t') => unescaped.push('\t'),
                Some('r') => unescaped.push('\r'),
                Some('s') => unescaped.push(' '),
                Some(other) => {
                    unescaped.push('\\');
                    unescaped.push(other);
                }
                None => unescaped.push('\\'),
            }
        } else {
            unescaped.push(c);
        }
    }
    let mut program = String::new();
    let mut chars = unescaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => program.push(chars.next()?),
            '"' => return Some(program.replace("%%", "%")),
            c => program.push(c),
        }
    }
    None
}

/// The autostart entry's file name in `$XDG_CONFIG_HOME/autostart`.
pub const AUTOSTART_FILE: &str = "spotoken.desktop";

/// The autostart entry for `program`: straight into the tray.
pub fn autostart_text(program: &str) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName=Spotoken\nComment=Keeps Spotify tokens fresh from the tray\n\
         Exec={} --tray\nTerminal=false\nStartupNotify=false\nX-GNOME-Autostart-enabled=true\n",
        exec_argument(program)
    )
}

/// The handler entry for `program` (already the path `Exec` should name).
pub fn entry_text(program: &str) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName=Spotoken\nComment=Hands spotoken:// sign-in links to Spotoken\n\
         Exec={} %u\nTerminal=false\nNoDisplay=true\nMimeType={MIME_TYPE};\n",
        exec_argument(program)
    )
}

/// Where the entries and the symlink go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerPaths {
    /// `$XDG_DATA_HOME/applications`.
    pub applications: PathBuf,
    /// `$XDG_CONFIG_HOME/autostart`.
    pub autostart: PathBuf,
    /// Spotoken's data folder, for the symlink when the binary's path needs quoting.
    pub data_dir: PathBuf,
}

impl HandlerPaths {
    /// `$XDG_DATA_HOME` (or `~/.local/share`), `$XDG_CONFIG_HOME` (or `~/.config`) and
    /// Spotoken's data folder.
    pub fn new(data_dir: &Path) -> Option<Self> {
        let base = directories::BaseDirs::new()?;
        Some(Self {
            applications: base.data_dir().join("applications"),
            autostart: base.config_dir().join("autostart"),
            data_dir: data_dir.to_path_buf(),
        })
    }

    pub fn entry(&self) -> PathBuf {
        self.applications.join(ENTRY_FILE)
    }

    pub fn autostart_entry(&self) -> PathBuf {
        self.autostart.join(AUTOSTART_FILE)
    }

    /// `program` (xdg-mime, update-desktop-database) run on the folders these paths are
    /// in: the same as the session's own for [`HandlerPaths::new`], a test's for a test.
    fn xdg_command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        if let Some(data_home) = self.applications.parent() {
            command.env("XDG_DATA_HOME", data_home);
        }
        if let Some(config_home) = self.autostart.parent() {
            command.env("XDG_CONFIG_HOME", config_home);
        }
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        command
    }

    fn link(&self) -> PathBuf {
        self.data_dir.join("bin").join("spotoken-app")
    }

    /// The path an entry's `Exec` should name for `binary`: itself when it needs no
    /// quoting, else a symlink to it in the data folder (made or re-pointed here).
    fn program_for(&self, binary: &Path) -> Result<(PathBuf, bool), NotRegistered> {
        let binary_text = binary.to_str().ok_or_else(|| NotRegistered("the app's path is not UTF-8".into()))?;
        if !needs_quoting(binary_text) {
            return Ok((binary.to_path_buf(), false));
        }
        let link = self.link();
        if std::fs::read_link(&link).ok().as_deref() == Some(binary) {
            return Ok((link, false));
        }
        let dir = link.parent().unwrap_or(&self.data_dir);
        std::fs::create_dir_all(dir).map_err(|e| NotRegistered(format!("cannot create {}: {e}", dir.display())))?;
        let _ = std::fs::remove_file(&link);
        symlink(binary, &link).map_err(|e| NotRegistered(format!("cannot link {}: {e}", link.display())))?;
        Ok((link, true))
    }
}

/// Starts Spotoken in the tray at login (writes the autostart entry), or stops it.
pub fn set_autostart(paths: &HandlerPaths, binary: &Path, enabled: bool) -> Result<(), NotRegistered> {
    let entry = paths.autostart_entry();
    if !enabled {
        return match std::fs::remove_file(&entry) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(NotRegistered(format!("cannot remove {}: {e}", entry.display()))),
        };
    }
    let (program, _) = paths.program_for(binary)?;
    let text = autostart_text(&program.to_string_lossy());
    spotoken_core::store::write_desktop_file(&entry, text.as_bytes()).map_err(|e| NotRegistered(e.to_string()))?;
    tracing::info!(entry = %entry.display(), "Spotoken starts in the tray at login");
    Ok(())
}

/// Whether the autostart entry is there, and the program it starts.
pub fn autostart_program(paths: &HandlerPaths) -> Option<PathBuf> {
    entry_program(&paths.autostart_entry())
}

/// At start: an autostart entry that names another binary (the app moved) is
/// re-pointed at this one.
pub fn refresh_autostart(paths: &HandlerPaths, binary: &Path) -> Result<(), NotRegistered> {
    match autostart_program(paths) {
        None => Ok(()),
        Some(program) if same_file(&program, binary) => Ok(()),
        Some(_) => set_autostart(paths, binary, true),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// What registering did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The path `Exec` names: the binary, or the symlink to it.
    pub program: PathBuf,
    /// False when the entry and the default were already right.
    pub changed: bool,
    /// False when `Exec` had to be quoted: xdg-open's generic mode cannot run it.
    pub generic_safe: bool,
}

/// Why registering failed, in words for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRegistered(pub String);

/// Writes the entry for `binary` if it is missing or names another program, points
/// the symlink at `binary` when one is used, and makes the entry the default handler
/// (`xdg-mime default`) unless it already is. Safe to call at every start: it is how
/// a binary that moved gets the links back.
pub fn register(paths: &HandlerPaths, binary: &Path) -> Result<Registered, NotRegistered> {
    let (program, mut changed) = paths.program_for(binary)?;
    let program_text = program.to_string_lossy().into_owned();
    let text = entry_text(&program_text);
    let entry = paths.entry();
    if std::fs::read_to_string(&entry).ok().as_deref() != Some(text.as_str()) {
        spotoken_core::store::write_desktop_file(&entry, text.as_bytes()).map_err(|e| NotRegistered(e.to_string()))?;
        changed = true;
    }
    let _ = std::fs::remove_file(paths.applications.join(OLD_ENTRY_FILE));
    if query_default(paths).as_deref() != Some(ENTRY_FILE) {
        let status = paths
            .xdg_command("xdg-mime")
            .args(["default", ENTRY_FILE, MIME_TYPE])
            .status()
            .map_err(|e| NotRegistered(format!("xdg-mime could not be run ({e}); install xdg-utils")))?;
        if !status.success() {
            return Err(NotRegistered(format!("`{}` failed ({status})", default_handler_command())));
        }
        changed = true;
    }
    if changed {
        // The MIME cache some desktops read; the default above is what xdg-open uses.
        let _ = paths.xdg_command("update-desktop-database").arg(&paths.applications).status();
        tracing::info!(entry = %entry.display(), program = %program.display(), "registered spotoken:// for this binary");
    }
    Ok(Registered { generic_safe: !needs_quoting(&program_text), program, changed })
}

/// The desktop's default handler for `spotoken://`, as `xdg-open` finds it.
pub fn query_default(paths: &HandlerPaths) -> Option<String> {
    let out =
        paths.xdg_command("xdg-mime").args(["query", "default", MIME_TYPE]).stdout(Stdio::piped()).output().ok()?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !name.is_empty()).then_some(name)
}

/// The program the registered entry runs, if there is an entry.
pub fn registered_program(paths: &HandlerPaths) -> Option<PathBuf> {
    entry_program(&paths.entry())
}

/// The program a desktop entry file's `Exec` runs.
fn entry_program(entry: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(entry).ok()?;
    let exec = text.lines().find_map(|l| l.strip_prefix("Exec="))?;
    exec_program(exec).map(PathBuf::from)
}

/// One function for every platform, so that what a test on one platform checks is the
/// function the others run too.
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    return std::os::unix::fs::symlink(target, link);
    #[cfg(not(unix))]
    {
        let _ = (target, link);
        Err(std::io::Error::other("symlinks are only made on Unix"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_stay_bare_so_every_reader_runs_them() {
        assert_eq!(
            exec_argument("/home/ann/src/spotoken/target/release/spotoken-app"),
            "/home/ann/src/spotoken/target/release/spotoken-app"
        );
        let entry = entry_text("/opt/spotoken-app");
        assert!(entry.contains("\nExec=/opt/spotoken-app %u\n"), "{entry}");
        assert!(entry.contains("\nMimeType=x-scheme-handler/spotoken;\n"));
    }

    #[test]
    fn reserved_characters_are_quoted_and_escaped_as_the_spec_says() {
        assert_eq!(exec_argument("/home/ann/My Apps/spotoken-app"), "\"/home/ann/My Apps/spotoken-app\"");
        assert_eq!(exec_argument("/a/b\"c"), "\"/a/b\\\\\"c\"");
        assert_eq!(exec_argument("/a/$HOME"), "\"/a/\\\\$HOME\"");
        assert_eq!(exec_argument("/a/back\\slash"), "\"/a/back\\\\\\\\slash\"");
        assert_eq!(exec_argument("/a/100%"), "\"/a/100%%\"");
        for bare in ["/usr/bin/spotoken-app", "/a-b_c.d/e+f=g,h@i:j"] {
            assert!(!exec_argument(bare).starts_with('"'), "{bare}");
        }
        for reserved in
            ["/a b", "/a'b", "/a~b", "/a|b", "/a&b", "/a;b", "/a*b", "/a?b", "/a#b", "/a`b", "/a(b", "/a)b", "/a<b"]
        {
            assert!(exec_argument(reserved).starts_with('"'), "{reserved}");
        }
    }

    #[test]
    fn the_program_reads_back_the_same() {
        for path in [
            "/usr/bin/spotoken-app",
            "/home/ann/My Apps/spotoken-app",
            "/a/b\"c",
            "/a/$HOME/x",
            "/a/back\\slash",
            "/a/100%",
            "/tab\there",
        ] {
            let entry = entry_text(path);
            let exec = entry.lines().find_map(|l| l.strip_prefix("Exec=")).unwrap();
            assert_eq!(exec_program(exec).as_deref(), Some(path), "{exec}");
        }
        assert_eq!(exec_program("\"unterminated"), None);
    }

    // Desktop entries and their symlinks are made on Linux only.
    #[cfg(unix)]
    #[test]
    fn a_path_needing_quotes_is_reached_through_a_bare_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("My Apps/spotoken-app");
        std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
        std::fs::write(&binary, "").unwrap();
        // A program: xdg-mime passes over a default whose Exec cannot be run.
        std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let paths = HandlerPaths {
            applications: dir.path().join("applications"),
            autostart: dir.path().join("autostart"),
            data_dir: dir.path().join("data"),
        };
        // xdg-mime (xdg-utils, which scripts/test installs) works in the test's folders,
        // where another program is the default handler.
        std::fs::create_dir_all(&paths.applications).unwrap();
        // No default yet: xdg-mime succeeds and prints nothing, which is no handler.
        assert_eq!(query_default(&paths), None);
        std::fs::write(
            paths.applications.join("other-handler.desktop"),
            "[Desktop Entry]\nType=Application\nName=Other\nExec=/bin/true %u\nMimeType=x-scheme-handler/spotoken;\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("mimeapps.list"),
            "[Default Applications]\nx-scheme-handler/spotoken=other-handler.desktop\n",
        )
        .unwrap();
        assert_eq!(query_default(&paths).as_deref(), Some("other-handler.desktop"));
        let registered = register(&paths, &binary).unwrap();
        let program = registered_program(&paths).unwrap();
        assert_eq!(registered, Registered { program: program.clone(), changed: true, generic_safe: true });
        assert_eq!(query_default(&paths).as_deref(), Some(ENTRY_FILE));
        let defaults = std::fs::read_to_string(dir.path().join("mimeapps.list")).unwrap();
        assert!(defaults.contains("x-scheme-handler/spotoken=spotoken-handler.desktop"), "{defaults}");
        // Again: nothing to change.
        assert!(!register(&paths, &binary).unwrap().changed);
        // A data folder whose path needs quoting too: the quoted path, which xdg-open's
        // generic mode cannot run, and said so.
        let quoted = HandlerPaths { data_dir: dir.path().join("My Data"), ..paths.clone() };
        let registered = register(&quoted, &binary).unwrap();
        assert!(registered.changed && !registered.generic_safe, "{registered:?}");
        assert_eq!(registered_program(&quoted), Some(dir.path().join("My Data/bin/spotoken-app")));
        register(&paths, &binary).unwrap();
        assert_eq!(program, dir.path().join("data/bin/spotoken-app"));
        assert_eq!(std::fs::read_link(&program).unwrap(), binary);
        let entry = std::fs::read_to_string(paths.entry()).unwrap();
        assert!(!entry.contains('"'), "{entry}");

        // Autostart: the same bare program, straight into the tray; off removes it.
        set_autostart(&paths, &binary, true).unwrap();
        let text = std::fs::read_to_string(paths.autostart_entry()).unwrap();
        assert!(text.contains(&format!("\nExec={} --tray\n", program.display())), "{text}");
        assert_eq!(autostart_program(&paths), Some(program.clone()));
        // Still this binary: the entry is left as it is (a person may have edited it).
        let edited = format!("{text}X-Edited-By-Hand=true\n");
        std::fs::write(paths.autostart_entry(), &edited).unwrap();
        refresh_autostart(&paths, &binary).unwrap();
        assert_eq!(std::fs::read_to_string(paths.autostart_entry()).unwrap(), edited);

        // The app moved: the link follows it.
        let moved = dir.path().join("Other Place/spotoken-app");
        std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
        std::fs::write(&moved, "").unwrap();
        refresh_autostart(&paths, &moved).unwrap();
        assert_eq!(std::fs::read_link(&program).unwrap(), moved);

        set_autostart(&paths, &binary, false).unwrap();
        assert!(!paths.autostart_entry().exists());
        assert_eq!(autostart_program(&paths), None);
        set_autostart(&paths, &binary, false).unwrap();
        // An entry that cannot be removed is said, not taken as already gone.
        std::fs::create_dir_all(paths.autostart_entry().join("inside")).unwrap();
        let kept = set_autostart(&paths, &binary, false).unwrap_err();
        assert!(kept.0.contains("cannot remove") && kept.0.contains(AUTOSTART_FILE), "{kept:?}");
    }

    #[test]
    fn the_command_to_make_it_the_default_is_xdg_mimes() {
        assert_eq!(default_handler_command(), "xdg-mime default spotoken-handler.desktop x-scheme-handler/spotoken");
    }
}
