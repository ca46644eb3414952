//! What the engine's integration tests share: an engine on the sandbox with tokens in a
//! `MemoryStore` (or a store the test brings), and a sign-in through the deep link that
//! follows the consent page as a browser would.
#![allow(dead_code)]

use spotify_sandbox::Sandbox;
use spotoken_core::secret::RedirectAddress;
use spotoken_core::{Clock, Endpoints, Engine, MemoryStore, Paths, TokenStore};
use std::path::Path;
use std::sync::Arc;

/// An engine keeping its files under `dir`, talking to `sandbox` with its demo Client ID.
pub fn engine_on(dir: &Path, sandbox: &Sandbox, clock: Arc<dyn Clock>) -> Engine {
    engine_with(dir, sandbox, MemoryStore::default(), clock)
}

/// [`engine_on`] with tokens in `store` (a `MemoryStore`'s clone shares them; a
/// `Keychain` on a service of the test's own).
pub fn engine_with(dir: &Path, sandbox: &Sandbox, store: impl TokenStore + 'static, clock: Arc<dyn Clock>) -> Engine {
    Engine::new(Paths::under(dir), Endpoints::new(&sandbox.url(), &sandbox.url()).unwrap(), store, clock)
        .unwrap()
        .with_client_id_override(Some(spotify_sandbox::DEMO_CLIENT_ID.into()))
}

/// Where the consent page at `url` sends the browser (the sandbox consents at once).
pub async fn consent(url: &url::Url) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = http.get(url.as_str()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302);
    response.headers()["location"].to_str().unwrap().to_string()
}

/// A whole sign-in through the deep link, asking for `scopes`.
pub async fn sign_in(engine: &Engine, scopes: &[String]) {
    let login = engine.begin_login(scopes, "spotoken://callback".into(), false).unwrap();
    let location = consent(login.authorize_url()).await;
    engine.complete_login_from_url(&login, &RedirectAddress::of(location)).await.unwrap();
}
