//! tauri-build reads `tauri.conf.json` beside the top-level Cargo.toml; the
//! capabilities stay in src-tauri/. Each app command gets an `allow-…` permission, so
//! the window can call only the commands its capability lists.

const COMMANDS: &[&str] = &[
    "overview",
    "scope_catalog",
    "save_settings",
    "start_login",
    "cancel_login",
    "refresh_now",
    "copy_token",
    "reveal_token",
    "sign_out",
    "copy_redirect_uri",
    "open_link",
    "ui_ready",
    "check_deep_link",
    "paste_redirect",
    "copy_login_address",
    "dismiss_notice",
    "set_autostart",
    "activity",
    "acknowledge",
    "answer_request",
    "set_ask_new_programs",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        println!("cargo::error={e:#}");
    }
}
