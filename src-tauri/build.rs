//! tauri-build reads `tauri.conf.json` beside the top-level Cargo.toml; the
//! capabilities stay in src-tauri/. Each app command gets an `allow-…` permission, so
//! the window can call only the commands its capability lists.

macro_rules! app_commands {
    ($( $name:ident ( $($declared:tt)* ) $($async:ident)? -> $ret:ty ; )*) => {
        &[$(stringify!($name)),*]
    };
}

/// The window's commands, from their one declaration.
const COMMANDS: &[&str] = include!("src/command_list.rs");

fn main() {
    println!("cargo::rerun-if-changed=src-tauri/src/command_list.rs");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        println!("cargo::error={e:#}");
    }
}
