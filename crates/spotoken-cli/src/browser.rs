//! Opening the consent page in the person's browser.
//!
//! `$BROWSER` wins when set (a `:`-separated list of commands, `%s` standing for the
//! URL, as in the long-standing Unix convention); tests use it to play the browser.
//! Otherwise the platform's opener. The browser is started and left running.

use std::process::{Command, Stdio};

pub fn open(url: &str) -> Result<(), String> {
    if let Ok(list) = std::env::var("BROWSER") {
        let mut last = String::from("$BROWSER is empty");
        for entry in list.split(':').filter(|e| !e.trim().is_empty()) {
            let mut words: Vec<String> = entry.split_whitespace().map(str::to_string).collect();
            if words.iter().any(|w| w.contains("%s")) {
                words = words.into_iter().map(|w| w.replace("%s", url)).collect();
            } else {
                words.push(url.to_string());
            }
            match spawn(&words[0], &words[1..]) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        return Err(last);
    }
    let (program, args): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("rundll32", vec!["url.dll,FileProtocolHandler", url])
    } else {
        ("xdg-open", vec![url])
    };
    let args: Vec<String> = args.into_iter().map(str::to_string).collect();
    spawn(program, &args)
}

fn spawn(program: &str, args: &[String]) -> Result<(), String> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_child| ())
        .map_err(|e| format!("{program}: {e}"))
}
