//! The README's error-code table against the engine's one list of codes and their exit
//! classes (`spotoken_core::Code`): a code added, renamed or moved to another exit code
//! fails here until the README says so too.
// Through the Linux keychain session scripts/test starts (gnome-keyring on a private D-Bus).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use spotoken_core::Code;
use std::collections::BTreeMap;

fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme.find(heading).unwrap_or_else(|| panic!("README has no {heading:?}"));
    let body = &readme[start + heading.len()..];
    &body[..body.find("\n#").unwrap_or(body.len())]
}

/// Table rows of a section: first cell → second cell.
fn rows(section: &str) -> BTreeMap<String, String> {
    section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells.len() >= 2).then(|| (cells[0].to_string(), cells[1].to_string()))
        })
        .collect()
}

fn expected() -> BTreeMap<String, String> {
    let mut table: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for code in Code::ALL {
        let key =
            if code.app_only() { "desktop app only".to_string() } else { code.exit_class().exit_code().to_string() };
        table.entry(key).or_default().push(code.as_str());
    }
    table
        .into_iter()
        .map(|(k, codes)| (k, codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")))
        .collect()
}

#[test]
fn the_readme_lists_every_error_code_under_its_exit_code() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let documented = rows(section(&readme, "### Error codes"));
    let want = expected();
    let table: String = want.iter().map(|(k, v)| format!("| {k} | {v} |\n")).collect();
    assert_eq!(
        documented.into_iter().filter(|(k, _)| k != "exit code").collect::<BTreeMap<_, _>>(),
        want,
        "README's *Error codes* table should read:\n| exit code | codes |\n|---|---|\n{table}"
    );

    // Every exit code a code can end with has its row under *Exit codes*.
    let exits = rows(section(&readme, "### Exit codes"));
    for code in Code::ALL.iter().filter(|c| !c.app_only()) {
        let exit = code.exit_class().exit_code().to_string();
        assert!(exits.contains_key(&exit), "*Exit codes* has no row for {exit} ({code})");
    }
    // And every code the command line's own table gives without a failure.
    for exit in spotoken_cli::Exit::DOCUMENTED {
        let code = exit.code().to_string();
        let row = exits.keys().find(|k| k.split_whitespace().next() == Some(code.as_str()));
        assert!(row.is_some(), "*Exit codes* has no row for {code} ({exit:?})");
    }
}
