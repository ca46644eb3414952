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

#[cfg(test)]
#[cfg(unix)] // The browser here is a shell script.
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A browser that writes what it was given (its arguments, and `$HOME` if it has
    /// one) to `out`.
    fn recording_browser(dir: &std::path::Path) -> (String, std::path::PathBuf) {
        recording_program(dir, "browser.sh")
    }

    /// A program named `name` in `dir` that records as [`recording_browser`] does, to
    /// `dir/<name>.opened`.
    fn recording_program(dir: &std::path::Path, name: &str) -> (String, std::path::PathBuf) {
        let out = dir.join(format!("{name}.opened"));
        let script = dir.join(name);
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$* home=${{HOME-none}}\" > '{}.tmp'\nmv '{0}.tmp' '{0}'\n", out.display()),
        )
        .unwrap();
        std::process::Command::new("chmod").arg("+x").arg(&script).status().unwrap();
        (script.display().to_string(), out)
    }

    fn opened(out: &std::path::Path) -> String {
        let started = Instant::now();
        while !out.exists() {
            assert!(started.elapsed() < Duration::from_secs(10), "the browser was not started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::read_to_string(out).unwrap().trim().to_string()
    }

    /// `$BROWSER`'s entries are tried in turn until one starts; `%s` is where the URL
    /// goes, else it comes last; withheld variables do not reach the browser.
    #[test]
    fn the_first_browser_that_starts_is_given_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let (browser, out) = recording_browser(dir.path());
        let url = "https://accounts.example/authorize?state=x";
        open_with_list(&format!(": /nonexistent/browser --new :{browser} --tab %s --x"), url, &[]).unwrap();
        assert!(opened(&out).starts_with(&format!("--tab {url} --x home=/")), "{}", opened(&out));
        std::fs::remove_file(&out).unwrap();
        open_with_list(&browser, url, &["HOME"]).unwrap();
        assert_eq!(opened(&out), format!("{url} home=none"));
        let none = open_with_list("/nonexistent/one:/nonexistent/two", url, &[]).unwrap_err();
        assert!(none.starts_with("/nonexistent/two: "), "the last failure is said: {none}");
        assert_eq!(open_with_list(" : ", url, &[]).unwrap_err(), "$BROWSER is empty");
    }

    /// `open` gives the URL to `$BROWSER` when it names something, and to the desktop's
    /// opener when it is blank; in a child run, with both recording and the opener
    /// found first on `PATH`.
    #[test]
    fn open_asks_the_browser_variable_else_the_desktop() {
        const URL: &str = "https://accounts.example/authorize?state=y";
        if let Some(out) = std::env::var_os(crate::TEST_CHILD_OUT) {
            std::fs::write(out, open(URL).err().unwrap_or_else(|| "ok".into())).unwrap();
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (browser, by_browser) = recording_browser(dir.path());
        let (_, by_desktop) = recording_program(dir.path(), desktop_opener(URL).0);
        let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
        let test = "browser::tests::open_asks_the_browser_variable_else_the_desktop";
        for (variable, chosen, passed_over) in [
            (browser.as_str(), &by_browser, &by_desktop),
            ("", &by_desktop, &by_browser),
            (" ", &by_desktop, &by_browser),
        ] {
            assert_eq!(crate::run_as_child(test, &[("BROWSER", variable), ("PATH", &path)]), "ok", "{variable:?}");
            assert!(opened(chosen).starts_with(URL), "{variable:?}: {}", opened(chosen));
            assert!(!passed_over.exists(), "{variable:?}: {passed_over:?} was started too");
            std::fs::remove_file(chosen).unwrap();
        }
    }

    #[test]
    fn the_desktop_is_asked_through_its_own_opener() {
        let url = "spotoken://callback?code=c";
        let expected = if cfg!(target_os = "macos") {
            ("open", vec![url.to_string()])
        } else {
            ("xdg-open", vec![url.to_string()])
        };
        assert_eq!(desktop_opener(url), expected);
    }
}
