//! The sandbox's fidelity, checked by code we did not write: spotipy, a widely used
//! Spotify client from PyPI, signs in with PKCE, calls `/v1/me/` (with the trailing
//! slash it uses), pages through playlists with `next`, reads a playlist's items, gets
//! Spotify's 403 for a missing scope, and refreshes. `scripts/install-deps --for-tests`
//! puts spotipy in `target/test-python` (or set SPOTOKEN_TEST_PYTHON).
// spotipy runs from the Linux virtual environment scripts/install-deps makes.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use spotify_sandbox::{DEMO_CLIENT_ID, Sandbox, SandboxConfig, User};
use std::path::PathBuf;

#[tokio::test(flavor = "multi_thread")]
async fn spotipy_signs_in_calls_pages_and_refreshes_against_the_sandbox() {
    let user = User { id: "spotipy-listener".into(), display_name: "Spotipy Listener".into() };
    let sandbox = Sandbox::start(SandboxConfig { user, ..SandboxConfig::default() }, 0).await.unwrap();
    let python = spotify_sandbox::test_python();
    assert!(python.exists(), "{} is missing: run scripts/install-deps --for-tests", python.display());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/spotipy_client.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(sandbox.url())
        .arg(DEMO_CLIENT_ID)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "spotipy failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["me"], "spotipy-listener");
    assert_eq!(result["me_after_refresh"], "spotipy-listener");
    let names: Vec<&str> = result["playlists"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert_eq!(names.len(), 7, "{names:?}");
    assert_eq!(names[6], "Sandbox Playlist 6");
    assert_eq!(result["items"], 3);
    // Spotify's 403 body, as spotipy reads it: the status and the message.
    assert_eq!(result["queue_error"][0], 403, "{result}");
    assert!(result["queue_error"][1].as_str().unwrap().ends_with("Insufficient client scope"), "{result}");
    // spotipy keeps a rotated refresh token, and the one it has when none comes back.
    assert_eq!(result["rotated"], sandbox.rotation() == spotify_sandbox::Rotation::Rotate);
    // What spotipy sent: PKCE with no client secret, `me/` with its slash.
    let log = sandbox.log();
    assert!(log.iter().filter(|e| e.endpoint == "token").all(|e| !e.had_authorization_header), "{log:?}");
    assert_eq!(sandbox.token_requests("refresh_token").len(), 1);
}
