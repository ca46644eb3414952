//! The code's shape, kept: in each crate the modules import in one direction (no two
//! of them need each other, directly or through others), and no source file is over
//! 500 lines except generated ones. Read from the sources as they are: a `crate::x`
//! path (or `crate::{x, …}`) outside comments and test modules is a use of `x`.
// The sources are read where they were built; under Wine that path is not a Windows one.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LONGEST: usize = 500;
/// Written by a generator, not by hand.
const GENERATED: &[&str] = &["ui/src/bindings.ts"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn files_under(dir: &Path, ends: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("node_modules") {
                files_under(&path, ends, out);
            }
        } else if ends.iter().any(|e| path.to_string_lossy().ends_with(e)) {
            out.push(path);
        }
    }
}

/// Each top-level module of the crate whose sources are in `src`, with the other
/// top-level modules it uses.
fn uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    files_under(src, &[".rs"], &mut files);
    let module_of = |file: &Path| {
        let rel = file.strip_prefix(src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        first.trim_end_matches(".rs").to_string()
    };
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).filter(|m| m != "lib" && m != "main").collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for file in &files {
        let module = module_of(file);
        let in_tests = file.components().any(|c| c.as_os_str() == "tests") || file.ends_with("tests.rs");
        if !modules.contains(&module) || in_tests {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // What the file itself is built from: its test module's imports do not count.
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group.split([',', '}']).collect(),
                    None => vec![rest],
                };
                for name in names {
                    let name: String =
                        name.trim().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                    if name != module && modules.contains(&name) {
                        edges.get_mut(&module).unwrap().insert(name);
                    }
                }
            }
        }
    }
    edges
}

/// The modules that can reach themselves again, each with the way round.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for start in edges.keys() {
        // Breadth first from `start`, remembering how each module was reached.
        let mut came_from: BTreeMap<&String, &String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(at) = queue.pop_front() {
            for next in &edges[at] {
                if next == start {
                    let mut way = vec![at.clone()];
                    let mut step = at;
                    while step != start {
                        step = came_from[step];
                        way.push(step.clone());
                    }
                    way.reverse();
                    way.push(start.clone());
                    found.push(way);
                    queue.clear();
                    break;
                }
                if !came_from.contains_key(next) && next != start {
                    came_from.insert(next, at);
                    queue.push_back(next);
                }
            }
        }
    }
    found
}

#[test]
fn modules_import_in_one_direction() {
    let root = root();
    for src in ["crates/spotoken-core/src", "crates/spotoken-cli/src", "crates/spotoken-desktop/src", "src-tauri/src"] {
        let edges = uses(&root.join(src));
        assert!(edges.len() >= 3, "{src}: the modules were not found");
        let found = circles(&edges);
        assert!(found.is_empty(), "{src}: modules that need each other: {found:?}");
    }
}

#[test]
fn the_circle_finder_finds_circles() {
    let edges: BTreeMap<String, BTreeSet<String>> = [("a", &["b"][..]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]
        .iter()
        .map(|(m, to)| (m.to_string(), to.iter().map(|t| t.to_string()).collect()))
        .collect();
    let found = circles(&edges);
    assert!(found.contains(&vec!["a".to_string(), "b".into(), "c".into(), "a".into()]), "{found:?}");
    assert!(!found.iter().any(|way| way[0] == "d"), "{found:?}");
}

#[test]
fn no_source_file_is_over_500_lines() {
    let root = root();
    let mut files = Vec::new();
    for dir in ["crates", "src-tauri/src", "ui/src", "tests"] {
        files_under(&root.join(dir), &[".rs", ".ts", ".svelte"], &mut files);
    }
    assert!(files.len() > 50, "the sources were not found");
    let long: Vec<String> = files
        .iter()
        .filter(|f| !GENERATED.iter().any(|g| f.ends_with(g)))
        .filter(|f| !f.components().any(|c| c.as_os_str() == "target"))
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > LONGEST).then(|| format!("{} ({lines})", f.strip_prefix(&root).unwrap().display()))
        })
        .collect();
    assert!(long.is_empty(), "over {LONGEST} lines: {long:?}");
}
