// The window's commands, declared once, in `commands.rs` order. `lib.rs` registers them
// with Tauri, `build.rs` gives each an `allow-…` permission, a test checks that
// `capabilities/main.json` grants exactly these, and the bindings test writes their names
// as `CommandName` for `ui/src/api.ts`. (This file is `include!`d: a macro call only.)
app_commands![
    overview,
    scope_catalog,
    save_settings,
    start_login,
    cancel_login,
    refresh_now,
    copy_token,
    reveal_token,
    sign_out,
    copy_redirect_uri,
    open_link,
    ui_ready,
    check_deep_link,
    paste_redirect,
    copy_login_address,
    dismiss_notice,
    set_autostart,
    activity,
    acknowledge,
    answer_request,
    set_ask_new_programs,
    can_call,
]
