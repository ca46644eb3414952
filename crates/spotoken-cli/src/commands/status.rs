//! `spotoken status`: each account, the time left on its tokens, its scopes, what is
//! wrong with it; the exit code says the worst of it.

use spotoken_core::clock::human_duration;
use spotoken_core::store::accounts::REFRESH_TOKEN_MONTHS;
use spotoken_core::{AccountState, ClockStyle, Engine, Error, StatusReport, Timestamp};

use crate::commands::list_or_none;
use crate::exit::Exit;
use crate::io::Io;

pub fn run(engine: &Engine, json: bool, io: &mut Io) -> Result<Exit, Error> {
    let report = engine.status_checked()?;
    if json {
        crate::commands::print_json(io, &report)?;
    } else if report.accounts.is_empty() {
        io.tell("No account is signed in. Run `spotoken login`.");
    } else {
        print(&report, io);
    }
    // The worst fact decides: a sign-in Spotify refused (1), then tokens that could not
    // be read (4 for an entry not there, 6 for a keychain that did not open).
    Ok(if report.any_needs_sign_in() {
        Exit::NeedsSignIn
    } else {
        report.keychain_problem().map_or(Exit::Success, Exit::Failed)
    })
}

fn print(report: &StatusReport, io: &mut Io) {
    for (i, a) in report.accounts.iter().enumerate() {
        if i > 0 {
            io.say("");
        }
        let keychain_problem = a.keychain.as_ref().filter(|k| k.problem.is_some());
        let state = match (a.state, keychain_problem) {
            (AccountState::NeedsSignIn, _) => "NEEDS SIGN-IN".to_string(),
            // The tokens could not be looked at: that, not "ok", heads the account.
            (_, Some(check)) => format!("KEYCHAIN {}", check.state.replace('_', " ").to_uppercase()),
            (AccountState::Ok, None) => "ok".into(),
            (AccountState::Error, None) => "error (sign-in kept)".into(),
        };
        io.say(format!("{} ({})  {state}", a.display_name.as_deref().unwrap_or(&a.id), a.id));
        io.say(format!("  client id      {}…", a.client_id.short()));
        io.say(if a.access_token.seconds_left > 0 {
            format!(
                "  access token   valid for {} (until {}); refreshed on demand",
                human_duration(a.access_token.seconds_left),
                a.access_token.expires_at
            )
        } else {
            "  access token   expired; the next `spotoken token` refreshes it".into()
        });
        io.say(format!(
            "  refresh token  {} of {REFRESH_TOKEN_MONTHS} months left (until {})",
            human_duration(a.refresh_token.seconds_left),
            a.refresh_token.expires_at
        ));
        io.say(format!("  scopes         granted: {}", list_or_none(&a.scopes.granted)));
        if !a.scopes.missing.is_empty() {
            io.say(format!("                 missing: {}", a.scopes.missing.join(", ")));
        }
        if let Some(check) = &a.keychain {
            io.say(match &check.problem {
                None => "  keychain       ok (the tokens are there)".to_string(),
                Some(d) => {
                    format!(
                        "  keychain       {}: {} {}",
                        check.state.to_uppercase(),
                        d.message,
                        d.fix_for_command_line()
                    )
                }
            });
        }
        if let Some(e) = &a.last_error {
            io.say(format!("  last error     {} {}", e.message, e.fix_for_command_line()));
        }
        if let Some(quota) = &a.quota_exceeded {
            let until = match (quota.until_unix, quota.seconds_left) {
                (Some(until), Some(left)) => format!(
                    "until {} (local time, in {})",
                    ClockStyle::of_process().local_day_and_time(Timestamp(until)),
                    human_duration(left)
                ),
                _ => "for a time Spotify did not say".into(),
            };
            io.say(format!(
                "  quota          USED UP {until}: Spotify refuses every program using this Client ID (QUOTA_EXCEEDED)"
            ));
        }
        for w in &a.warnings {
            io.say(format!("  warning        {w}"));
        }
        for anomaly in &a.anomalies {
            io.say(format!("  ANOMALY        {} {}", anomaly.message, anomaly.fix));
        }
        if !a.anomalies.is_empty() {
            io.say("                 (`spotoken activity` lists them; `spotoken activity --ack all` acknowledges)");
        }
    }
}
