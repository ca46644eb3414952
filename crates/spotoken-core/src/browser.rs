//! Opening the consent page in the person's browser.
//!
//! `$BROWSER` wins when set (a `:`-separated list of commands, `%s` standing for the
//! URL, as in the long-standing Unix convention); tests use it to play the browser.
//! Otherwise the platform's opener (`xdg-open`, `open`, the URL handler), for the
//! command line and the desktop app alike. The browser is started and left running.

use std::process::{Command, Stdio};

/// `$BROWSER` if set, else the platform's opener.
pub fn open(url: &str) -> Result<(), String> {
    open_without(url, &[])
}

/// As [`open`], and the browser does not inherit the variables named in `withheld`
/// (the desktop app's own rendering choices, see its `rendering.rs`).
pub fn open_without(url: &str, withheld: &[&str]) -> Result<(), String> {
    match std::env::var("BROWSER").ok().filter(|l| !l.trim().is_empty()) {
        Some(list) => open_with_list(&list, url, withheld),
        None => open_with_platform(url, withheld),
    }
}

fn open_with_list(list: &str, url: &str, withheld: &[&str]) -> Result<(), String> {
    let mut last = String::from("$BROWSER is empty");
    for entry in list.split(':').filter(|e| !e.trim().is_empty()) {
        let mut words: Vec<String> = entry.split_whitespace().map(str::to_string).collect();
        if words.iter().any(|w| w.contains("%s")) {
            words = words.into_iter().map(|w| w.replace("%s", url)).collect();
        } else {
            words.push(url.to_string());
        }
        match spawn(&words[0], &words[1..], withheld) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// How the desktop is asked to open a URL (a web page or a `spotoken://` link), as the
/// program and its arguments: `open` on macOS, the URL handler on Windows, `xdg-open`
/// elsewhere. The program's name alone, for messages, is `.0`.
pub fn desktop_opener(url: &str) -> (&'static str, Vec<String>) {
    let (program, args): (&'static str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("rundll32", vec!["url.dll,FileProtocolHandler", url])
    } else {
        ("xdg-open", vec![url])
    };
    (program, args.into_iter().map(str::to_string).collect())
}

fn open_with_platform(url: &str, withheld: &[&str]) -> Result<(), String> {
    let (program, args) = desktop_opener(url);
    spawn(program, &args, withheld)
}

fn spawn(program: &str, args: &[String], withheld: &[&str]) -> Result<(), String> {
    let mut command = Command::new(program);
    for name in withheld {
        command.env_remove(name);
    }
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|mut child| {
            // Reaped when it ends (a browser may run for hours), so it never lingers as a zombie.
            std::thread::spawn(move || child.wait());
        })
        .map_err(|e| format!("{program}: {e}"))
}
