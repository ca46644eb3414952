//! The window's commands through Tauri's own IPC, in-process: a Tauri app on its mock
//! runtime, with the commands registered as the app registers them (`ipc::handler`), the
//! app's shell over an engine on the sandbox with tokens in memory. Each call carries
//! the arguments as the window sends them, by name: what the typed calls in
//! `ui/src/bindings.ts` send. The real window, tray and keychain are tested in
//! `tests/desktop/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use spotify_sandbox::{Sandbox, SandboxConfig};
use spotoken_app::ipc;
use spotoken_app::shell::Shell;
use spotoken_core::login_flow::LoginFlow;
use spotoken_core::secret::RedirectAddress;
use spotoken_core::{Endpoints, Engine, MemoryStore, Paths, SystemClock};
use std::sync::Arc;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::{InvokeRequest, WebviewWindow};

/// Calls `command` as the window does; its answer, or the Diagnosis it was refused with.
fn call(window: &WebviewWindow<MockRuntime>, command: &str, args: Value) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: command.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(window, request).map(|body| body.deserialize::<Value>().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_windows_calls_reach_their_commands_by_the_declared_names() {
    let dir = tempfile::tempdir().unwrap();
    let user = spotify_sandbox::User { id: format!("ipc-{}", std::process::id()), display_name: "Ipc".into() };
    let sandbox = Sandbox::start(SandboxConfig { user: user.clone(), ..Default::default() }, 0).await.unwrap();
    let engine = Arc::new(
        Engine::new(
            Paths::under(dir.path()),
            Endpoints::new(&sandbox.url(), &sandbox.url()).unwrap(),
            MemoryStore::default(),
            Arc::new(SystemClock),
        )
        .unwrap()
        .with_client_id_override(Some(spotify_sandbox::DEMO_CLIENT_ID.into())),
    );
    // Signed in through the engine as a deep link would finish it.
    let login = engine.begin_login(&["user-read-private".into()], "spotoken://callback".into(), false).unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let consent = http.get(login.authorize_url().as_str()).send().await.unwrap();
    let location = consent.headers()["location"].to_str().unwrap().to_string();
    engine.complete_login_from_url(&login, &RedirectAddress::of(location)).await.unwrap();

    let flow = LoginFlow::new(engine.clone(), std::time::Duration::from_secs(60), Arc::new(|_| {}));
    let app = mock_builder()
        .manage(Shell::new(engine.clone(), flow, Arc::new(tokio::sync::Notify::new())))
        .invoke_handler(ipc::handler())
        .build(mock_context(noop_assets()))
        .unwrap();
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();

    let overview = call(&window, "overview", json!({})).unwrap();
    let account = overview["accounts"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(account, user.id);
    let expires = overview["accounts"][0]["access_expires_at"].as_i64().unwrap();

    // One argument, by its name: a refresh Spotify sees, and the overview it answers.
    let refreshes = sandbox.token_requests("refresh_token").len();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let after = call(&window, "refresh_now", json!({ "account": account })).unwrap();
    assert_eq!(sandbox.token_requests("refresh_token").len(), refreshes + 1);
    assert!(after["accounts"][0]["access_expires_at"].as_i64().unwrap() > expires, "{after}");
    assert_eq!(call(&window, "stop_refresh", json!({ "account": account })).unwrap(), json!(false));

    // Two arguments, each by its name.
    let checks = call(&window, "can_call", json!({ "account": account, "query": "GET /v1/me" })).unwrap();
    assert!(checks.as_array().unwrap().iter().any(|c| c["path"] == "/me"), "{checks}");

    // A struct argument: the settings, saved and read back.
    let mut input = json!({
        "client_id": spotify_sandbox::DEMO_CLIENT_ID,
        "redirect": "loopback",
        "scopes": ["user-read-private", "playlist-read-private"],
        "clipboard_clear_secs": 30,
        "notify_anomalies": [],
        "burst_per_minute": 12,
    });
    let saved = call(&window, "save_settings", json!({ "input": input })).unwrap();
    assert_eq!(saved["settings"]["clipboard_clear_secs"], 30, "{saved}");
    assert_eq!(engine.settings().burst_per_minute, Some(12));

    // A key the command does not declare is refused, and nothing happens.
    let refused = call(&window, "refresh_now", json!({ "acct": account })).unwrap_err();
    assert!(refused.to_string().contains("account"), "{refused}");
    assert_eq!(sandbox.token_requests("refresh_token").len(), refreshes + 1);
    input["burst_per_minute"] = json!("many");
    assert!(call(&window, "save_settings", json!({ "input": input })).is_err());
    assert_eq!(engine.settings().burst_per_minute, Some(12));

    // An engine error comes back as the Diagnosis the window shows: code, message and fix.
    let unknown = call(&window, "can_call", json!({ "account": "nobody", "query": "me" })).unwrap_err();
    assert_eq!(unknown["code"], "account_unknown", "{unknown}");
    assert!(!unknown["fix"].as_str().unwrap().is_empty());

    let signed_out = call(&window, "sign_out", json!({ "account": account })).unwrap();
    assert_eq!(signed_out["accounts"], json!([]), "{signed_out}");
}
