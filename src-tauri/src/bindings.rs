//! `ui/src/bindings.ts`, generated: every type in `ui_types.rs` (ts-rs), the engine's
//! error codes, the window's commands from `command_list.rs` as typed calls, and the
//! app's events. The test at the bottom fails when the file is stale
//! (`UPDATE_BINDINGS=1 cargo test -p spotoken-app --lib bindings` rewrites it).

use crate::ui_types::*;
use spotoken_core::NextStep;
use spotoken_core::diagnose::WebPage;
use ts_rs::TS;

/// The generated TypeScript for every type above.
pub fn typescript() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from src-tauri/src/ui_types.rs and src-tauri/src/command_list.rs by ts-rs. Do not\n\
         // edit: run `UPDATE_BINDINGS=1 cargo test -p spotoken-app --lib` after changing them.\n\n\
         import { invoke } from \"@tauri-apps/api/core\";\n\
         import { listen, type UnlistenFn } from \"@tauri-apps/api/event\";\n\n",
    );
    // The codes, from the engine's one list (with the few only the app reports).
    let codes: Vec<String> = spotoken_core::Code::ALL.iter().map(|c| format!("\"{c}\"")).collect();
    out.push_str(&format!("export type ErrorCode = {} | \"unknown\";\n\n", codes.join(" | ")));
    // Constants the window shows or checks, from the engine's own.
    out.push_str(&format!(
        "/** A Client ID as the engine accepts it. */\nexport const CLIENT_ID_PATTERN = /^[0-9a-fA-F]{{{}}}$/;\n\n",
        spotoken_core::config::CLIENT_ID_LEN
    ));
    out.push_str(&format!(
        "/** How long Spotify keeps a sign-in's refresh token. */\nexport const REFRESH_TOKEN_MONTHS = {};\n\n",
        spotoken_core::store::accounts::REFRESH_TOKEN_MONTHS
    ));
    let decls = [
        Diagnosis::decl(&cfg),
        RedirectKind::decl(&cfg),
        spotoken_core::AccountState::decl(&cfg),
        spotoken_core::status::Scopes::decl(&cfg),
        AccountView::decl(&cfg),
        QuotaView::decl(&cfg),
        AnomalyView::decl(&cfg),
        RequestView::decl(&cfg),
        Approval::decl(&cfg),
        ActivityEventView::decl(&cfg),
        ActivityQuery::decl(&cfg),
        ActivityView::decl(&cfg),
        SettingsView::decl(&cfg),
        AnomalyKind::decl(&cfg),
        SettingsInput::decl(&cfg),
        RedirectUris::decl(&cfg),
        Overview::decl(&cfg),
        LoginView::decl(&cfg),
        LinkCheck::decl(&cfg),
        LoginFinished::decl(&cfg),
        ScopeInfo::decl(&cfg),
        Preset::decl(&cfg),
        ScopeCatalog::decl(&cfg),
        Copied::decl(&cfg),
        CallCheck::decl(&cfg),
        WebPage::decl(&cfg),
        NextStep::decl(&cfg),
        Page::decl(&cfg),
        Theme::decl(&cfg),
        spotoken_core::ClockStyle::decl(&cfg),
    ];
    for decl in decls {
        out.push_str("export ");
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    out.push_str(
        "/** The window's commands, typed as declared: each rejects with a Diagnosis. */\nexport const commands = {\n",
    );
    out.push_str(&crate::ipc::typescript(&cfg));
    out.push_str("};\n\n");
    out.push_str(&crate::events::events_typescript(&cfg));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bindings_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings.ts");
        let fresh = super::typescript();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/bindings.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p spotoken-app --lib bindings`"
        );
    }

    /// The window may call exactly the declared commands: one missing from the
    /// capability would be refused at run time, one extra would be allowed for nothing.
    #[test]
    fn the_capability_grants_exactly_the_declared_commands() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri/capabilities/main.json");
        let capability: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut granted: Vec<String> = capability["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str()?.strip_prefix("allow-").map(str::to_string))
            .collect();
        let mut declared: Vec<String> = crate::COMMANDS.iter().map(|c| c.replace('_', "-")).collect();
        granted.sort();
        declared.sort();
        assert_eq!(granted, declared, "src-tauri/capabilities/main.json against src-tauri/src/command_list.rs");
    }
}
