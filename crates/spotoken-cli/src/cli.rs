//! The command line as clap reads it: every command, option and help text, and the
//! checks an argument gets before any command runs (a duration, a preset's name, a
//! field's `key=value`, a header's `Name: value`): a wrong one is a usage error (exit
//! 2) with clap's own message.

use clap::{CommandFactory, Parser, Subcommand};
use spotoken_core::config::LOOPBACK_REDIRECT_TO_REGISTER;
use spotoken_core::diagnose::DASHBOARD_URL;
use spotoken_core::scopes;
use std::path::PathBuf;
use std::time::Duration;

/// `api --paginate` stops after this many pages unless `--max-pages` says otherwise:
/// 10,000 items at 50 a page.
pub const DEFAULT_MAX_PAGES: u32 = 200;

/// `-f`/`-F`'s `key=value` (what the value becomes: `commands::api::fields`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub key: String,
    pub value: String,
}

impl Field {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (key, value) = text.split_once('=').ok_or_else(|| format!("`{text}` is not key=value (e.g. limit=5)"))?;
        Ok(Self { key: key.into(), value: value.into() })
    }
}

/// `-H`'s `Name: value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}` is not \"Name: value\" (e.g. \"Accept-Language: de\")"))?;
        Ok(Self { name: name.trim().into(), value: value.trim().into() })
    }
}

/// Spotify Web API tokens for scripts: log in once, then `spotoken token` prints a fresh
/// access token whenever you need one. Tokens live only in the OS keychain.
#[derive(Debug, Parser)]
#[command(name = "spotoken", version, propagate_version = true)]
pub struct Cli {
    /// Log what happens to stderr (never a token). RUST_LOG gives finer control.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in to Spotify in the browser (Authorization Code with PKCE, loopback redirect).
    Login {
        /// Scope to ask for; repeat for several. Default: the settings' scopes, else user-read-private and user-read-email.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Add a preset group of scopes: profile, playback, playlists, read-only.
        #[arg(long = "preset", value_name = "NAME", value_parser = preset_names())]
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
        #[arg(short = 'f', long = "raw-field", value_name = "KEY=VALUE", value_parser = Field::parse)]
        raw_fields: Vec<Field>,
        /// A typed field: numbers, true, false and null as JSON, key=@file for a file's
        /// contents (@- for standard input).
        #[arg(short = 'F', long = "field", value_name = "KEY=VALUE", value_parser = Field::parse)]
        fields: Vec<Field>,
        /// The request body, from a file (- for standard input).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["raw_fields", "fields"])]
        input: Option<PathBuf>,
        /// An extra header, "Name: value".
        #[arg(short = 'H', long = "header", value_name = "HEADER", value_parser = Header::parse)]
        headers: Vec<Header>,
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

fn preset_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(scopes::PRESETS.iter().map(|p| p.name))
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
pub fn command() -> clap::Command {
    Cli::command().mut_subcommand("login", |c| c.after_long_help(scope_help()))
}

impl Cli {
    /// `args` (the program's name first) as the command line reads them.
    pub fn parse_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::FromArgMatches;
        Self::from_arg_matches(&command().try_get_matches_from(args)?)
    }
}
