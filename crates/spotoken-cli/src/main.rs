//! `spotoken`: Spotify Web API tokens for scripts, from the OS keychain.
//!
//! A thin layer over `spotoken-core`: it parses arguments, prints, and maps every
//! failure to one line of reason and fix on stderr plus a documented exit code. It
//! reads standard input only for `login --no-browser` (the pasted address), so
//! scripts cannot hang on it.

#![allow(clippy::print_stdout)]

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use spotoken_core::clock::human_duration;
use spotoken_core::config::{LOOPBACK_REDIRECT_TO_REGISTER, validate_client_id};
use spotoken_core::diagnose::{DASHBOARD_URL, REVOKE_URL};
use spotoken_core::{AccountState, Engine, Error, LoopbackLogin, scopes};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Exit codes, documented in the README.
mod exit {
    pub const NEEDS_SIGN_IN_IN_STATUS: u8 = 1;
    /// `scopes`: the account cannot make the call (a scope missing, or withdrawn).
    pub const CANNOT_CALL: u8 = 9;
    /// `exec`: the command could not be started (as a shell's 127).
    pub const CANNOT_RUN: u8 = 127;
    pub const OTHER: u8 = 1;
}

/// Spotify Web API tokens for scripts: log in once, then `spotoken token` prints a fresh
/// access token whenever you need one. Tokens live only in the OS keychain.
#[derive(Debug, Parser)]
#[command(name = "spotoken", version, propagate_version = true)]
struct Cli {
    /// Log what happens to stderr (never a token). RUST_LOG gives finer control.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign in to Spotify in the browser (Authorization Code with PKCE, loopback redirect).
    Login {
        /// Scope to ask for; repeat for several. Default: the settings' scopes, else user-read-private and user-read-email.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Add a preset group of scopes: profile, playback, playlists, read-only.
        #[arg(long = "preset", value_name = "NAME")]
        presets: Vec<String>,
        /// Print the consent URL and open no browser: for SSH sessions and headless machines.
        /// Open the URL in any browser (on another machine too), then paste the address the
        /// browser ended on (http://127.0.0.1:…/callback?…) here, on standard input.
        #[arg(long)]
        no_browser: bool,
        /// Your app's Client ID from the Spotify dashboard; saved for next time.
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Ask Spotify to show the consent page again (to add scopes or switch accounts).
        #[arg(long)]
        show_dialog: bool,
        /// Give up if no answer comes back within this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        timeout: u64,
        /// Listen on this 127.0.0.1 port (default: a free one; Spotify accepts any port).
        #[arg(long)]
        port: Option<u16>,
        /// Sign this account in again (to add scopes, or after "needs sign-in"): should
        /// Spotify answer as another user, Spotoken raises an anomaly.
        #[arg(long, value_name = "ID")]
        account: Option<String>,
    },
    /// Print an access token (and only that) on stdout, refreshing it first if needed.
    Token {
        /// Spotify user id of the account (optional when only one is signed in).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Refresh first if the token would expire within this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        min_valid: u64,
        /// Give up after this many seconds in all when Spotify does not answer (retries
        /// included); the sign-in is kept.
        #[arg(long, value_name = "SECONDS", default_value_t = 20)]
        deadline: u64,
        /// Print one JSON object instead, as the agent answers: access_token, token_type,
        /// expires_at, expires_in, scope, account.
        #[arg(long)]
        json: bool,
    },
    /// Show each account: time left on its tokens, scopes, and whether it needs sign-in.
    /// Exits 1 if any account needs sign-in.
    Status {
        /// Print the documented JSON shape instead.
        #[arg(long)]
        json: bool,
    },
    /// What happened to the tokens: every hand-out (when, where, which program),
    /// refresh, sign-in, sign-out and scope change, and the anomalies noticed, newest last.
    /// Never a token.
    Activity {
        /// Only this account (Spotify user id).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Only the last DURATION: 30m, 24h, 7d, 2w. Default: all that is kept (90 days).
        #[arg(long, value_name = "DURATION", value_parser = parse_since)]
        since: Option<Duration>,
        /// Print one JSON object (version 1) instead.
        #[arg(long)]
        json: bool,
        /// Acknowledge the anomaly with this id (from the list), or `all`.
        #[arg(long, value_name = "ID")]
        ack: Option<String>,
    },
    /// Which scopes a Web API call needs, and whether each account has them, from
    /// Spotify's own list of operations. Exits 0 when the account can make the call, 9
    /// when it cannot (a scope missing, or the call withdrawn for development-mode apps).
    Scopes {
        /// The call: `GET /me/player/queue`, a path alone (every method on it), with or
        /// without `/v1`, a query or the `https://api.spotify.com` in front.
        #[arg(value_name = "[METHOD] PATH", num_args = 1..=2, required_unless_present = "list")]
        call: Vec<String>,
        /// Only this account (Spotify user id); without it, every account is shown and
        /// the exit code says whether any of them can make the call.
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Print one JSON object (version 1) instead.
        #[arg(long)]
        json: bool,
        /// Print every operation with the scopes it needs.
        #[arg(long, conflicts_with = "call")]
        list: bool,
    },
    /// Call the Web API with a fresh token and print the answer, in the manner of
    /// `gh api`. Refreshes once if Spotify says the token expired, waits out a short
    /// Retry-After, and says which scope is missing when Spotify refuses for one.
    Api {
        /// The path (/me, /v1/me/player/queue, me/playlists?limit=5) or a URL on
        /// https://api.spotify.com.
        path: String,
        /// The HTTP method.
        #[arg(short = 'X', long = "method", value_name = "METHOD", default_value = "GET")]
        method: String,
        /// A string field, key=value: a query parameter for GET and DELETE, a member of
        /// the JSON body otherwise. Repeat for several.
        #[arg(short = 'f', long = "raw-field", value_name = "KEY=VALUE")]
        raw_fields: Vec<String>,
        /// A typed field: numbers, true, false and null as JSON, key=@file for a file's
        /// contents (@- for standard input).
        #[arg(short = 'F', long = "field", value_name = "KEY=VALUE")]
        fields: Vec<String>,
        /// The request body, from a file (- for standard input).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["raw_fields", "fields"])]
        input: Option<PathBuf>,
        /// An extra header, "Name: value".
        #[arg(short = 'H', long = "header", value_name = "HEADER")]
        headers: Vec<String>,
        /// Follow `next` through every page and print one JSON array of all `items`.
        #[arg(long)]
        paginate: bool,
        /// With --paginate: stop after this many pages (exit 5, pagination_stopped).
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PAGES, requires = "paginate",
              value_parser = clap::value_parser!(u32).range(1..))]
        max_pages: u32,
        /// Print the status line and the response headers before the body.
        #[arg(short = 'i', long)]
        include: bool,
        /// Spotify user id of the account (optional when only one is signed in).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
    },
    /// Run a command with SPOTIFY_ACCESS_TOKEN set to a token valid for at least
    /// --min-valid seconds; exits with the command's exit code. For short jobs: a
    /// program that runs longer should call `spotoken token` whenever it needs one.
    Exec {
        /// Spotify user id of the account (optional when only one is signed in).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// The token is valid for at least this many seconds when the command starts.
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        min_valid: u64,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell).
    /// E.g. `spotoken completions bash > ~/.local/share/bash-completion/completions/spotoken`.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `spotoken manpage | man -l -`; with DIR, write
    /// spotoken.1 and a page per command (spotoken-api.1, …) there.
    #[command(hide = true)]
    Manpage {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Serve fresh tokens to programs over a Unix socket, in the foreground, keeping them
    /// refreshed: `curl --unix-socket "$XDG_RUNTIME_DIR/spotoken/agent.sock"
    /// http://agent/v1/token`. `spotoken token` asks it first (SPOTOKEN_AGENT=off: not).
    Agent,
    /// Make a key for the encrypted-file token store (machines without a keychain):
    /// an age identity in FILE, readable by you only. Then SPOTOKEN_STORE=encrypted-file
    /// and SPOTOKEN_KEY_FILE=FILE (or `store = "encrypted-file"` in settings.toml).
    StoreKey {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Forget an account's tokens and records on this computer.
    Logout {
        /// Spotify user id of the account (optional when only one is signed in).
        #[arg(long, value_name = "ID", conflicts_with = "all")]
        account: Option<String>,
        /// Sign out every account.
        #[arg(long)]
        all: bool,
    },
}

fn parse_since(text: &str) -> Result<Duration, String> {
    spotoken_core::clock::parse_duration(text)
        .ok_or_else(|| format!("`{text}` is not a duration; write it as 30m, 24h, 7d or 2w"))
}

fn scope_help() -> String {
    let mut text = String::from("Scopes:\n");
    for s in scopes::SCOPES {
        text.push_str(&format!("  {:<29} {}\n", s.name, s.meaning));
    }
    text.push_str("\nPresets:\n");
    for p in scopes::PRESETS {
        text.push_str(&format!("  {:<12} {}\n", p.name, p.scopes.join(" ")));
    }
    text.push_str(&format!(
        "\nRegister {LOOPBACK_REDIRECT_TO_REGISTER} as a redirect URI of your app at {DASHBOARD_URL}."
    ));
    text
}

/// The command line as clap sees it (the help, the completions and the man page).
fn cli_command() -> clap::Command {
    Cli::command().mut_subcommand("login", |c| c.after_long_help(scope_help()))
}

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&cli_command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // These need no engine: they describe the command line itself.
    match cli.command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cli_command(), "spotoken", &mut script);
            return print_bytes(&script);
        }
        Command::Manpage { dir: Some(dir) } => {
            return match clap_mangen::generate_to(cli_command(), &dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("spotoken: cannot write the man pages to {}: {e}", dir.display());
                    ExitCode::from(exit::OTHER)
                }
            };
        }
        Command::Manpage { dir: None } => {
            let mut page = Vec::new();
            if let Err(e) = clap_mangen::Man::new(cli_command()).render(&mut page) {
                eprintln!("spotoken: cannot make the man page: {e}");
                return ExitCode::from(exit::OTHER);
            }
            return print_bytes(&page);
        }
        _ => {}
    }
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("spotoken: cannot start: {e}");
            return ExitCode::from(exit::OTHER);
        }
    };
    match runtime.block_on(async {
        // A refreshed token being stored finishes before Ctrl-C or SIGTERM ends us.
        spotoken_core::shutdown::install();
        run(cli.command).await
    }) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let d = e.diagnose();
            let clean = spotoken_core::text::clean;
            eprintln!("spotoken: {} Fix: {} [{}]", clean(&d.message), clean(&d.fix_for_command_line()), d.code);
            ExitCode::from(exit_code(&e))
        }
    }
}

/// `spotoken token`'s output: the token and a newline, nothing else.
fn print_token(token: &str) -> Result<u8, Error> {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{token}").and_then(|()| out.flush()) {
        eprintln!("spotoken: cannot write the token to stdout: {e}");
        return Ok(exit::OTHER);
    }
    Ok(0)
}

/// `spotoken agent`: listens until SIGINT or SIGTERM (which wait for a token being
/// stored, as everywhere), refreshing in the background. A socket left behind is
/// removed by the next agent; clients meanwhile find no one there and go on without.
#[cfg(unix)]
async fn agent_command(engine: Engine) -> Result<u8, Error> {
    // The machine's refresher for weeks on end: tokens served from memory while valid.
    let engine = std::sync::Arc::new(engine.with_tokens_in_memory());
    let socket = spotoken_core::agent::socket_path(engine.paths());
    let listening = spotoken_core::agent::listen(&socket)?;
    eprintln!("Spotoken agent: serving tokens on {} (Ctrl-C stops it).", listening.path().display());
    let refresher = spotoken_core::background::Refresher::new(engine.clone(), spotoken_core::background::DEFAULT_LEAD)
        .by(spotoken_core::activity::Actor::Agent);
    tokio::spawn(refresher.run(|event| tracing::info!(?event, "background refresh")));
    listening.serve(engine).await;
    Ok(0)
}

#[cfg(not(unix))]
async fn agent_command(_engine: Engine) -> Result<u8, Error> {
    eprintln!("spotoken: the agent listens on a Unix socket; this build has none. Use `spotoken token`.");
    Ok(exit::OTHER)
}

/// Writes to stdout; a reader that went away (`| head`) is no failure.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spotoken: cannot write to stdout: {e}");
            ExitCode::from(exit::OTHER)
        }
    }
}

fn init_tracing(verbose: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.is_empty() => f,
        _ if verbose => "spotoken_core=info,spotoken=info".into(),
        _ => "off".into(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Each code carries its exit class (`spotoken_core::Code`), so the exit code follows
/// the code printed beside it.
fn exit_code(e: &Error) -> u8 {
    e.diagnose().code.exit_class().exit_code()
}

async fn run(command: Command) -> Result<u8, Error> {
    let mut engine = Engine::from_env()?;
    // A person at a terminal can answer the keychain's unlock prompt: give them time,
    // and say what is being waited for. Scripts keep the short timeout.
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        engine = engine.with_interactive_keychain();
    }
    spotoken_core::store::keychain::on_waiting(|up_to| {
        let provider = spotoken_core::store::provider::Provider::detect();
        let name = match provider {
            spotoken_core::store::provider::Provider::OtherSecretService => "your keychain".to_string(),
            other => other.name().to_string(),
        };
        eprintln!(
            "Unlock {name} to continue (its unlock window may be open on your screen); Spotoken waits up to {}. \
             Longer: SPOTOKEN_KEYCHAIN_TIMEOUT_SECS.",
            human_duration(up_to.as_secs() as i64)
        );
    });
    match command {
        Command::Login { scopes, presets, no_browser, client_id, show_dialog, timeout, port, account } => {
            if let Some(id) = client_id {
                let id = validate_client_id(&id)?;
                if engine.settings().client_id.as_deref() != Some(id.as_str()) {
                    engine.update_settings(|settings| {
                        settings.client_id = Some(id.clone());
                        Ok(())
                    })?;
                    eprintln!("Saved the Client ID to {}.", engine.paths().settings_file().display());
                }
                engine = engine.with_client_id_override(Some(id));
            }
            let mut wanted = scopes;
            for name in presets {
                let preset = scopes::PRESETS
                    .iter()
                    .find(|p| p.name == name)
                    .ok_or(Error::UnknownScope(format!("preset {name}")))?;
                wanted.extend(preset.scopes.iter().map(|s| s.to_string()));
            }
            // The account's key, however it was named (user id, user@client-prefix).
            let account = match account {
                Some(id) => Some(engine.resolve_account(Some(&id))?.id),
                None => None,
            };
            let options =
                LoopbackLogin { scopes: wanted, show_dialog, port, timeout: Duration::from_secs(timeout), account };
            // Only with --no-browser is standard input read: otherwise a script never
            // waits on it.
            let (paste_tx, mut pasted) = tokio::sync::mpsc::unbounded_channel();
            let show = |url: &url::Url| {
                eprintln!("Sign in to Spotify in your browser. If it did not open, visit:\n\n  {url}\n");
                eprintln!(
                    "(If Spotify shows \"redirect_uri: Not matching configuration\" or \"INVALID_CLIENT: Invalid redirect URI\", add {LOOPBACK_REDIRECT_TO_REGISTER} to your app at {DASHBOARD_URL}.)"
                );
                if no_browser {
                    eprintln!(
                        "Browser on another machine? After you agree, it goes to http://127.0.0.1:…/callback?… \
                         and may say it cannot connect: copy that whole address from its address bar and \
                         paste it here, then press Enter."
                    );
                    read_pasted_lines(paste_tx);
                } else if let Err(why) = spotoken_core::browser::open(url.as_str()) {
                    eprintln!("Could not open a browser ({why}); open the address above yourself.");
                }
                eprintln!("Waiting for Spotify (up to {})…", human_duration(timeout as i64));
            };
            let refused = |d: &spotoken_core::Diagnosis| {
                eprintln!(
                    "That address was refused: {} {} [{}] Still waiting; paste the right one.",
                    d.message,
                    d.fix_for_command_line(),
                    d.code
                );
            };
            let record = engine.login_loopback_or_pasted(&options, show, &mut pasted, refused).await?;
            let status = spotoken_core::AccountStatus::new(&record, engine.clock().now());
            println!("Logged in as {} ({}).", record.name(), record.id);
            warn_of_anomalies_since(&engine, None, record.authorized_at, false);
            println!("Granted scopes: {}", list_or_none(&status.scopes.granted));
            if !status.scopes.missing.is_empty() {
                println!("Not granted: {}", status.scopes.missing.join(", "));
            }
            Ok(0)
        }
        Command::Token { account, min_valid, deadline, json } => {
            // A running agent answers without a keychain round trip.
            #[cfg(unix)]
            if std::env::var("SPOTOKEN_AGENT").as_deref() != Ok("off") {
                let socket = spotoken_core::agent::socket_path(engine.paths());
                match spotoken_core::agent::ask_for_token(&socket, account.as_deref(), min_valid).await {
                    Some(spotoken_core::agent::Answer::Token { access_token, object }) => {
                        tracing::debug!("the agent answered");
                        return print_token(if json { object.secret() } else { access_token.secret() });
                    }
                    Some(spotoken_core::agent::Answer::Failed(diagnosis)) => return Err(Error::Agent(diagnosis)),
                    None => tracing::debug!("no agent answers; going to the keychain"),
                }
            }
            let retry = spotoken_core::RetryPolicy {
                deadline: Some(Duration::from_secs(deadline.max(1))),
                ..Default::default()
            };
            let engine = engine.with_retry(retry);
            let to = spotoken_core::activity::Recipient::cli();
            let started = engine.clock().now();
            let token = match engine.hand_out(account.as_deref(), Duration::from_secs(min_valid), &to).await {
                Ok(token) => token,
                Err(e) => {
                    // An alert raised by this very attempt is said along with the failure.
                    warn_of_anomalies_since(&engine, account.as_deref(), started, true);
                    return Err(e);
                }
            };
            if json {
                return print_token(&engine.token_object(&token).to_string());
            }
            print_token(token.access_token.secret())
        }
        Command::Agent => agent_command(engine).await,
        Command::StoreKey { file } => {
            spotoken_core::store::encrypted::make_key_file(&file)?;
            eprintln!(
                "Wrote a new key to {}. Keep it secret and backed up: the tokens stored with it cannot be read \
                 without it. Use it with SPOTOKEN_STORE=encrypted-file SPOTOKEN_KEY_FILE={}.",
                file.display(),
                file.display()
            );
            Ok(0)
        }
        Command::Status { json } => {
            let report = engine.status_checked()?;
            if json {
                let text = serde_json::to_string_pretty(&report)
                    .map_err(|e| Error::UnexpectedResponse { what: "status", detail: e.to_string() })?;
                println!("{text}");
            } else if report.accounts.is_empty() {
                eprintln!("No account is signed in. Run `spotoken login`.");
            } else {
                print_status(&report);
            }
            // The worst fact decides: a sign-in Spotify refused (1), then tokens that could
            // not be read (4 for an entry not there, 6 for a keychain that did not open).
            Ok(if report.any_needs_sign_in() {
                exit::NEEDS_SIGN_IN_IN_STATUS
            } else {
                report.keychain_problem().map_or(0, spotoken_core::ExitClass::exit_code)
            })
        }
        Command::Activity { account, since, json, ack } => {
            let now = engine.clock().now();
            if let Some(id) = ack {
                let which = (id != "all").then_some(id.as_str());
                let n = engine.activity().acknowledge(which, account.as_deref(), now)?;
                if n == 0 && which.is_some() {
                    eprintln!("spotoken: no open anomaly has the id {id}. Fix: run `spotoken activity` for the ids.");
                    return Ok(exit::OTHER);
                }
                eprintln!("Acknowledged {n} anomal{}.", if n == 1 { "y" } else { "ies" });
                return Ok(0);
            }
            let since = since.map(|d| now.plus_secs(-i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
            let filter = spotoken_core::activity::Filter { account, since };
            let report = engine.activity().report(&filter, now);
            if json {
                let text = serde_json::to_string_pretty(&report)
                    .map_err(|e| Error::UnexpectedResponse { what: "activity", detail: e.to_string() })?;
                println!("{text}");
            } else {
                print_activity(&report);
            }
            Ok(0)
        }
        Command::Api { path, method, raw_fields, fields, input, headers, paginate, max_pages, include, account } => {
            let options =
                ApiOptions { method, raw_fields, fields, input, headers, paginate, max_pages, include, account };
            api_command(&engine, &path, options).await
        }
        Command::Exec { account, min_valid, command } => {
            let to = spotoken_core::activity::Recipient::cli_as(spotoken_core::activity::Channel::CliExec);
            let token = engine.hand_out(account.as_deref(), Duration::from_secs(min_valid), &to).await?;
            let status = std::process::Command::new(&command[0])
                .args(&command[1..])
                .env("SPOTIFY_ACCESS_TOKEN", token.access_token.secret())
                .status();
            match status {
                Ok(status) => {
                    // As a shell reports it: the code, or 128 + the signal that ended it.
                    let code = spotoken_core::platform::process::exit_code(status);
                    Ok(code.and_then(|c| u8::try_from(c).ok()).unwrap_or(exit::OTHER))
                }
                Err(e) => {
                    eprintln!("spotoken: cannot run {}: {e}. Fix: check the command's name and PATH.", command[0]);
                    Ok(exit::CANNOT_RUN)
                }
            }
        }
        Command::Completions { .. } | Command::Manpage { .. } => Ok(0),
        Command::Scopes { call, account, json, list } => scopes_command(&engine, &call, account.as_deref(), json, list),
        Command::Logout { account, all } => {
            let ids: Vec<String> = if all {
                engine.accounts()?.into_iter().map(|a| a.id).collect()
            } else {
                vec![engine.resolve_account(account.as_deref())?.id]
            };
            if ids.is_empty() {
                eprintln!("No account is signed in; nothing to forget.");
            }
            for id in ids {
                let gone = engine.logout(&id)?;
                let name = gone.display_name.as_deref().unwrap_or(&gone.id);
                println!(
                    "Signed out {name} ({}): its tokens are deleted from the keychain and its records from Spotoken.",
                    gone.id
                );
            }
            eprintln!(
                "Spotify has no revoke endpoint, so it still trusts this app: remove it at {REVOKE_URL} \
                 (an access token already handed out can keep working for up to an hour)."
            );
            Ok(0)
        }
    }
}

/// Prints, as warnings on stderr, the open anomalies (of `account`, or all) raised at
/// or after `since`: only alerts when `alerts_only`.
fn warn_of_anomalies_since(engine: &Engine, account: Option<&str>, since: spotoken_core::Timestamp, alerts_only: bool) {
    let clean = spotoken_core::text::clean;
    for a in engine.activity().open_anomalies(account) {
        if a.at >= since && (!alerts_only || a.severity == spotoken_core::activity::Severity::Alert) {
            eprintln!("spotoken: WARNING: {} {}", clean(&a.message), clean(&a.fix));
        }
    }
}

/// Sends each line of standard input to `lines`, from a thread of its own: a blocking
/// read must not keep the process alive once the login has finished another way.
fn read_pasted_lines(lines: tokio::sync::mpsc::UnboundedSender<String>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
}

fn print_activity(report: &spotoken_core::activity::ActivityReport) {
    let clean = spotoken_core::text::clean;
    let open: Vec<_> = report.anomalies.iter().filter(|a| !a.acknowledged).collect();
    if !open.is_empty() {
        println!("Anomalies not acknowledged ({}):", open.len());
        for a in &open {
            println!("  [{}] {}  {}  {}", a.id, a.at.to_rfc3339(), clean(&a.account), a.code);
            println!("      {}", clean(&a.message));
            println!("      Fix: {}", clean(&a.fix));
        }
        println!("  (Acknowledge with `spotoken activity --ack ID` or `--ack all`.)");
        println!();
    }
    if report.events.is_empty() {
        println!("Nothing recorded in this period.");
        return;
    }
    println!(
        "{:<20}  {:<16}  {:<9}  {:<13}  {:<9}  {:<10}  PROGRAM",
        "WHEN (UTC)", "ACCOUNT", "KIND", "CHANNEL/BY", "TOKEN", "OUTCOME"
    );
    for e in &report.events {
        let kind = serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let outcome = match (&e.outcome, &e.code) {
            (Some(o), Some(code)) => format!("{o} ({code})"),
            (Some(o), None) => o.clone(),
            (None, _) => e.detail.clone().unwrap_or_default(),
        };
        let program = match (&e.program, &e.program_path) {
            (Some(name), Some(path)) => format!("{name} ({path})"),
            (Some(name), None) => name.clone(),
            _ => String::new(),
        };
        println!(
            "{:<20}  {:<16}  {:<9}  {:<13}  {:<9}  {:<10}  {}",
            e.at.to_rfc3339(),
            clean(&e.account),
            kind,
            e.channel.as_deref().or(e.by.as_deref()).unwrap_or(""),
            e.fingerprint.as_deref().unwrap_or(""),
            clean(&outcome),
            clean(&program)
        );
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() { "(none)".into() } else { items.join(", ") }
}

fn print_status(report: &spotoken_core::StatusReport) {
    for (i, a) in report.accounts.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let keychain_problem = a.keychain.as_ref().filter(|k| k.problem.is_some());
        let state = match (a.state, keychain_problem) {
            (AccountState::NeedsSignIn, _) => "NEEDS SIGN-IN".to_string(),
            // The tokens could not be looked at: that, not "ok", heads the account.
            (_, Some(check)) => format!("KEYCHAIN {}", check.state.replace('_', " ").to_uppercase()),
            (AccountState::Ok, None) => "ok".into(),
            (AccountState::Error, None) => "error (sign-in kept)".into(),
        };
        // Records written by older versions may hold raw outside text: clean on the way out too.
        let clean = spotoken_core::text::clean;
        println!("{} ({})  {state}", clean(a.display_name.as_deref().unwrap_or(&a.id)), clean(&a.id));
        println!("  client id      {}…", spotoken_core::config::short_client_id(&a.client_id));
        let access = if a.access_token.seconds_left > 0 {
            format!(
                "valid for {} (until {}); refreshed on demand",
                human_duration(a.access_token.seconds_left),
                a.access_token.expires_at
            )
        } else {
            "expired; the next `spotoken token` refreshes it".into()
        };
        println!("  access token   {access}");
        println!(
            "  refresh token  {} of 6 months left (until {})",
            human_duration(a.refresh_token.seconds_left),
            a.refresh_token.expires_at
        );
        println!("  scopes         granted: {}", list_or_none(&a.scopes.granted));
        if !a.scopes.missing.is_empty() {
            println!("                 missing: {}", a.scopes.missing.join(", "));
        }
        if let Some(check) = &a.keychain {
            match &check.problem {
                None => println!("  keychain       ok (the tokens are there)"),
                Some(d) => {
                    println!(
                        "  keychain       {}: {} {}",
                        check.state.to_uppercase(),
                        clean(&d.message),
                        clean(&d.fix_for_command_line())
                    )
                }
            }
        }
        if let Some(e) = &a.last_error {
            println!("  last error     {} {}", clean(&e.message), clean(&e.fix_for_command_line()));
        }
        if let Some(quota) = &a.quota_exceeded {
            let until = match (quota.until_unix, quota.seconds_left) {
                (Some(until), Some(left)) => format!(
                    "until {} (local time, in {})",
                    spotoken_core::ClockStyle::of_process().local_day_and_time(spotoken_core::Timestamp(until)),
                    human_duration(left)
                ),
                _ => "for a time Spotify did not say".into(),
            };
            println!(
                "  quota          USED UP {until}: Spotify refuses every program using this Client ID (QUOTA_EXCEEDED)"
            );
        }
        for w in &a.warnings {
            println!("  warning        {w}");
        }
        for anomaly in &a.anomalies {
            println!("  ANOMALY        {} {}", clean(&anomaly.message), clean(&anomaly.fix));
        }
        if !a.anomalies.is_empty() {
            println!("                 (`spotoken activity` lists them; `spotoken activity --ack all` acknowledges)");
        }
    }
}

/// `spotoken scopes`: the operations `call` names, the scopes they need, and what each
/// account (or the one named) lacks.
fn scopes_command(
    engine: &Engine,
    call: &[String],
    account: Option<&str>,
    json: bool,
    list: bool,
) -> Result<u8, Error> {
    use spotoken_core::catalog;
    if list {
        let ops = catalog::operations();
        if json {
            let text = serde_json::json!({ "version": 1, "operations": ops });
            println!("{text:#}");
        } else {
            for op in ops {
                let scopes = if op.scopes.is_empty() { "-".to_string() } else { op.scopes.join(",") };
                let withdrawn = if op.deprecated { "  (withdrawn for development-mode apps)" } else { "" };
                println!("{:<7}{:<45}{scopes}{withdrawn}", op.method, op.path);
            }
        }
        return Ok(0);
    }
    let (method, path) = match call {
        [path] => (None, path.as_str()),
        [method, path, ..] => (Some(method.as_str()), path.as_str()),
        [] => return Err(Error::UnknownEndpoint(String::new())),
    };
    let ops = catalog::find(method, path);
    if ops.is_empty() {
        return Err(Error::UnknownEndpoint(call.join(" ")));
    }
    let accounts = match account {
        Some(id) => vec![engine.resolve_account(Some(id))?],
        None => engine.accounts()?,
    };
    let withdrawn = ops.iter().any(|o| o.deprecated);
    let mut needed: Vec<&str> = Vec::new();
    for scope in ops.iter().flat_map(|o| o.required()) {
        if !needed.contains(&scope.as_str()) {
            needed.push(scope);
        }
    }
    let verdicts: Vec<(&spotoken_core::AccountRecord, Vec<&str>)> = accounts
        .iter()
        .map(|a| (a, needed.iter().copied().filter(|s| !a.granted_scopes.iter().any(|g| g == s)).collect()))
        .collect();
    let add_scopes = |a: &spotoken_core::AccountRecord, missing: &[&str]| {
        spotoken_core::NextStep::add_scopes(&a.id, &a.granted_scopes, missing).add_scopes_login().unwrap_or_default()
    };
    let can_call = !withdrawn && verdicts.iter().any(|(_, missing)| missing.is_empty());
    if json {
        let text = serde_json::json!({
            "version": 1,
            "operations": ops.iter().map(|o| serde_json::json!({
                "method": o.method, "path": o.path, "operation_id": o.operation_id, "summary": o.summary,
                "scopes": o.required(), "optional_scopes": o.widening(), "withdrawn": o.deprecated,
                "reference": o.reference_url(),
                "replacement": catalog::replacement(o).map(|r| serde_json::json!({"method": r.method, "path": r.path})),
            })).collect::<Vec<_>>(),
            "accounts": verdicts.iter().map(|(a, missing)| serde_json::json!({
                "id": a.id, "display_name": a.display_name, "can_call": !withdrawn && missing.is_empty(),
                "missing": missing, "fix": (!missing.is_empty()).then(|| add_scopes(a, missing)),
            })).collect::<Vec<_>>(),
            "can_call": can_call,
        });
        println!("{text:#}");
    } else {
        let clean = spotoken_core::text::clean;
        for op in &ops {
            println!("{} {} — {}", op.method, op.path, op.summary);
            let scopes =
                if op.required().is_empty() { "no scope (any access token)".into() } else { op.required().join(", ") };
            println!("  needs        {scopes}");
            if !op.widening().is_empty() {
                println!("  optional     {} (each adds fields to the answer)", op.widening().join(", "));
            }
            if op.deprecated {
                match catalog::replacement(op) {
                    Some(r) => {
                        println!("  WITHDRAWN    for development-mode apps; use {} {} instead", r.method, r.path)
                    }
                    None => {
                        println!("  WITHDRAWN    for development-mode apps (only apps with extended quota may call it)")
                    }
                }
            }
            println!("  reference    {}", op.reference_url());
        }
        if verdicts.is_empty() {
            println!("No account is signed in. Run `spotoken login`.");
        }
        for (a, missing) in &verdicts {
            let who = format!("{} ({})", clean(a.name()), a.id);
            match (withdrawn, missing.is_empty()) {
                (_, false) => println!("✗ {who}: missing {}. Run `{}`.", missing.join(", "), add_scopes(a, missing)),
                (true, true) => {
                    println!("✗ {who}: has the scopes, but the call is withdrawn for development-mode apps")
                }
                (false, true) => println!("✓ {who}: can call it"),
            }
        }
    }
    Ok(if can_call { 0 } else { exit::CANNOT_CALL })
}

/// `spotoken api`'s options beside the path.
#[derive(Debug)]
struct ApiOptions {
    method: String,
    raw_fields: Vec<String>,
    fields: Vec<String>,
    input: Option<PathBuf>,
    headers: Vec<String>,
    paginate: bool,
    max_pages: u32,
    include: bool,
    account: Option<String>,
}

/// `api --paginate` stops after this many pages unless `--max-pages` says otherwise:
/// 10,000 items at 50 a page.
const DEFAULT_MAX_PAGES: u32 = 200;

/// `api --paginate`'s answer: one JSON array written as the pages arrive, so a long list
/// is never held in memory, and closed whatever ends the paging.
#[derive(Default)]
struct ItemStream {
    /// `[` is written (an item was).
    open: bool,
}

impl ItemStream {
    fn push(&mut self, out: &mut impl Write, items: &[serde_json::Value]) {
        for item in items {
            let lead = if self.open { ",\n" } else { "[\n" };
            self.open = true;
            let indented = format!("{item:#}").replace('\n', "\n  ");
            let _ = write!(out, "{lead}  {indented}");
        }
        let _ = out.flush();
    }

    fn close(self, out: &mut impl Write) {
        let _ = writeln!(out, "{}", if self.open { "\n]" } else { "[]" });
        let _ = out.flush();
    }
}

fn read_input(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| Error::Io {
            action: "read",
            path: PathBuf::from("standard input"),
            source: e,
        })?;
        Ok(bytes)
    } else {
        std::fs::read(path).map_err(|e| Error::Io { action: "read", path: path.to_path_buf(), source: e })
    }
}

/// `-f`/`-F` fields: (key, JSON value).
fn api_fields(options: &ApiOptions) -> Result<Vec<(String, serde_json::Value)>, Error> {
    let split = |field: &str| -> Result<(String, String), Error> {
        field
            .split_once('=')
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .ok_or_else(|| Error::NotTheWebApi(format!("the field {field:?} is not key=value")))
    };
    let mut out = Vec::new();
    for field in &options.raw_fields {
        let (k, v) = split(field)?;
        out.push((k, serde_json::Value::String(v)));
    }
    for field in &options.fields {
        let (k, v) = split(field)?;
        let value = if let Some(file) = v.strip_prefix('@') {
            let text = String::from_utf8_lossy(&read_input(std::path::Path::new(file))?).into_owned();
            serde_json::from_str(text.trim()).unwrap_or(serde_json::Value::String(text))
        } else {
            match v.as_str() {
                "true" => serde_json::Value::Bool(true),
                "false" => serde_json::Value::Bool(false),
                "null" => serde_json::Value::Null,
                _ => v.parse::<i64>().map(Into::into).or_else(|_| v.parse::<f64>().map(Into::into)).unwrap_or(v.into()),
            }
        };
        out.push((k, value));
    }
    Ok(out)
}

/// `spotoken api`: see its help.
async fn api_command(engine: &Engine, path: &str, options: ApiOptions) -> Result<u8, Error> {
    use spotoken_core::call::ApiRequest;
    let method = options.method.to_ascii_uppercase();
    let fields = api_fields(&options)?;
    let in_query = method == "GET" || method == "DELETE";
    let query: Vec<(String, String)> = if in_query {
        fields.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect()
    } else {
        Vec::new()
    };
    let body = match (&options.input, in_query || fields.is_empty()) {
        (Some(file), _) => Some(read_input(file)?),
        (None, false) => Some(serde_json::Value::Object(fields.into_iter().collect()).to_string().into_bytes()),
        (None, true) => None,
    };
    let headers = options
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| Error::NotTheWebApi(format!("the header {h:?} is not \"Name: value\"")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let to = spotoken_core::activity::Recipient::cli_as(spotoken_core::activity::Channel::CliApi);
    let mut request =
        ApiRequest { method, path: path.to_string(), query, body, headers, account: options.account.clone() };
    let mut out = std::io::stdout().lock();
    let mut items: Option<ItemStream> = None;
    let mut seen = std::collections::HashSet::new();
    let mut pages = 0usize;
    loop {
        let response = engine.call_api(&request, &to).await?;
        if options.include {
            let _ = writeln!(out, "HTTP {} {}", response.status, response.reason);
            for (k, v) in &response.headers {
                let _ = writeln!(out, "{k}: {v}");
            }
            let _ = writeln!(out);
        }
        let json: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
        if let Some(problem) = response.problem {
            match items.take() {
                // Later pages: the items so far stay valid JSON; the refusal goes to stderr.
                Some(stream) => stream.close(&mut out),
                None => print_body(&mut out, json.as_ref(), &response.body),
            }
            return Err(problem);
        }
        if !options.paginate {
            print_body(&mut out, json.as_ref(), &response.body);
            return Ok(0);
        }
        let page = json.unwrap_or_default();
        pages += 1;
        match (page.get("items").and_then(|i| i.as_array()), items.take()) {
            (Some(page_items), stream) => items.insert(stream.unwrap_or_default()).push(&mut out, page_items),
            (None, Some(stream)) => {
                // A later page with no list: what came before stays valid.
                stream.close(&mut out);
                return Ok(0);
            }
            (None, None) => {
                // Nothing to page through: the answer as it is.
                print_body(&mut out, Some(&page), &response.body);
                return Ok(0);
            }
        }
        let mut stop = |why: String| {
            if let Some(stream) = items.take() {
                stream.close(&mut out);
            }
            Err(Error::PaginationStopped { pages, why })
        };
        // Each page names itself (`href`) and the page after it (`next`).
        if let Some(href) = page.get("href").and_then(|h| h.as_str()) {
            seen.insert(href.to_string());
        }
        match page.get("next").and_then(|n| n.as_str()) {
            Some(next) if !seen.insert(next.to_string()) => {
                return stop("Spotify's `next` points to a page already fetched".into());
            }
            Some(_) if pages >= options.max_pages as usize => {
                return stop(format!("--max-pages is {}", options.max_pages));
            }
            Some(next) => {
                // The next page's URL says it all; the account stays the one first used.
                request = ApiRequest {
                    path: next.to_string(),
                    query: Vec::new(),
                    account: Some(response.account),
                    ..request
                };
            }
            None => {
                if let Some(stream) = items.take() {
                    stream.close(&mut out);
                }
                return Ok(0);
            }
        }
    }
}

/// JSON pretty-printed; anything else as it came.
fn print_body(out: &mut impl Write, json: Option<&serde_json::Value>, raw: &[u8]) {
    let _ = match json {
        Some(value) => writeln!(out, "{value:#}"),
        None if raw.is_empty() => Ok(()),
        None => out.write_all(raw).and_then(|()| if raw.ends_with(b"\n") { Ok(()) } else { writeln!(out) }),
    };
    let _ = out.flush();
}
