//! `spotify-sandbox`: run the fake Spotify by hand to try Spotoken with no account.

use clap::Parser;
use spotify_sandbox::{DEMO_CLIENT_ID, Decision, Sandbox, SandboxConfig, User};

/// A fake Spotify accounts service and Web API on 127.0.0.1, for trying Spotoken offline.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8899)]
    port: u16,
    /// Client IDs the fake accepts.
    #[arg(long = "client-id", default_value = DEMO_CLIENT_ID)]
    client_ids: Vec<String>,
    /// Registered redirect URIs (loopback ones match any port).
    #[arg(long = "redirect-uri", default_values = ["http://127.0.0.1/callback", "spotoken://callback"])]
    redirect_uris: Vec<String>,
    /// Spotify user id of the person who signs in.
    #[arg(long, default_value = "sandbox-listener")]
    user_id: String,
    /// Display name of that person.
    #[arg(long, default_value = "Sandbox Listener")]
    display_name: String,
    /// Approve at once instead of showing the consent page.
    #[arg(long)]
    auto_approve: bool,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    access_ttl: i64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let args = Args::parse();
    let config = SandboxConfig {
        client_ids: args.client_ids.clone(),
        redirect_uris: args.redirect_uris,
        user: User { id: args.user_id, display_name: args.display_name },
        decision: if args.auto_approve { Decision::Approve } else { Decision::Ask },
        access_ttl_secs: args.access_ttl,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config, args.port).await?;
    let url = sandbox.url();
    eprintln!("Spotify sandbox listening on {url}");
    eprintln!("Point Spotoken at it:");
    eprintln!("  export SPOTOKEN_ACCOUNTS_URL={url} SPOTOKEN_API_URL={url} SPOTOKEN_CLIENT_ID={}", args.client_ids[0]);
    eprintln!("Switches: POST {url}/sandbox/control (JSON), requests: GET {url}/sandbox/log. Ctrl-C stops.");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
