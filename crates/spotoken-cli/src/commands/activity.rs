//! `spotoken activity`: what happened to the tokens and the anomalies noticed, newest
//! last; `--ack` acknowledges an anomaly. Never a token: the record holds none.

use spotoken_core::activity::{ActivityReport, Filter};
use spotoken_core::{Engine, Error};
use std::time::Duration;

use crate::exit::Exit;
use crate::io::Io;

#[derive(Debug)]
pub struct ActivityOptions {
    pub account: Option<String>,
    pub since: Option<Duration>,
    pub json: bool,
    pub ack: Option<String>,
}

pub fn run(engine: &Engine, options: ActivityOptions, io: &mut Io) -> Result<Exit, Error> {
    let now = engine.clock().now();
    if let Some(id) = options.ack {
        let which = (id != "all").then_some(id.as_str());
        let n = engine.activity().acknowledge(which, options.account.as_deref(), now)?;
        if n == 0 && which.is_some() {
            io.tell(format!("spotoken: no open anomaly has the id {id}. Fix: run `spotoken activity` for the ids."));
            return Ok(Exit::OTHER);
        }
        io.tell(format!("Acknowledged {n} anomal{}.", if n == 1 { "y" } else { "ies" }));
        return Ok(Exit::Success);
    }
    let since = options.since.map(|d| now.plus_secs(-i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
    let report = engine.activity().report(&Filter { account: options.account, since }, now);
    if options.json {
        crate::commands::print_json(io, &report)?;
    } else {
        print(&report, io);
    }
    Ok(Exit::Success)
}

fn print(report: &ActivityReport, io: &mut Io) {
    let open: Vec<_> = report.anomalies.iter().filter(|a| !a.acknowledged).collect();
    if !open.is_empty() {
        io.say(format!("Anomalies not acknowledged ({}):", open.len()));
        for a in &open {
            io.say(format!("  [{}] {}  {}  {}", a.id, a.at.to_rfc3339(), a.account, a.code));
            io.say(format!("      {}", a.message));
            io.say(format!("      Fix: {}", a.fix));
        }
        io.say("  (Acknowledge with `spotoken activity --ack ID` or `--ack all`.)");
        io.say("");
    }
    if report.events.is_empty() {
        io.say("Nothing recorded in this period.");
        return;
    }
    io.say(format!(
        "{:<20}  {:<16}  {:<9}  {:<13}  {:<9}  {:<10}  PROGRAM",
        "WHEN (UTC)", "ACCOUNT", "KIND", "CHANNEL/BY", "TOKEN", "OUTCOME"
    ));
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
        io.say(format!(
            "{:<20}  {:<16}  {:<9}  {:<13}  {:<9}  {:<10}  {}",
            e.at.to_rfc3339(),
            e.account,
            kind,
            e.channel.as_deref().or(e.by.as_deref()).unwrap_or(""),
            e.fingerprint.as_deref().unwrap_or(""),
            outcome,
            program
        ));
    }
}
