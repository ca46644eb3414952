// The window's commands, declared once: name, what the app injects (app, shell, window),
// after `|` the arguments the window sends (their names are the keys it sends), `async`
// for those that are, and what each answers (an error is always a Diagnosis). `ipc.rs`
// makes each a Tauri command with exactly these parameters, calling the `commands::`
// function of the same name (so the compiler checks it), and registers them; `build.rs`
// gives each an `allow-…` permission; a test checks `capabilities/main.json` grants
// exactly these; the bindings test writes them into `ui/src/bindings.ts` as `commands`
// (typed calls). (This file is `include!`d: a macro call only.)
app_commands! {
    overview(shell) -> Overview;
    scope_catalog() -> ScopeCatalog;
    save_settings(app, shell | input: SettingsInput) -> Overview;
    start_login(app, shell | scopes: Vec<String>, show_dialog: bool, account: Option<String>) async -> Overview;
    cancel_login(app, shell) -> Overview;
    refresh_now(app, shell | account: String) async -> Overview;
    stop_refresh(shell | account: String) -> bool;
    copy_token(app, shell | account: String) async -> Copied;
    reveal_token(app, shell | account: String) async -> String;
    sign_out(app, shell | account: String) async -> Overview;
    copy_redirect_uri(app | which: RedirectKind) -> ();
    open_link(| link: WebPage) -> ();
    ui_ready(window) -> ();
    appearance(window) -> Option<Theme>;
    check_deep_link(app) async -> LinkCheck;
    paste_redirect(app, shell | address: String) async -> Overview;
    copy_login_address(app, shell) -> ();
    dismiss_notice(app, shell) -> Overview;
    set_autostart(app | enabled: bool) -> Overview;
    activity(shell | query: ActivityQuery) async -> ActivityView;
    acknowledge(app, shell | id: Option<String>, account: Option<String>) -> Overview;
    answer_request(app, shell | id: String, approval: Approval) -> Overview;
    set_ask_new_programs(app, shell | account: String, enabled: bool) -> Overview;
    can_call(shell | account: String, query: String) -> Vec<CallCheck>;
}
