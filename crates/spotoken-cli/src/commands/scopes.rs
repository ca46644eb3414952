//! `spotoken scopes`: the operations a call names, the scopes they need (Spotify's own
//! list, `spotoken_core::catalog`), and what each account, or the one named, lacks:
//! the same `Operation::missing` the window's "Can it call…?" asks.

use serde::Serialize;
use spotoken_core::catalog::{self, Operation};
use spotoken_core::{AccountRecord, Engine, Error, NextStep};

use crate::exit::Exit;
use crate::io::Io;

pub fn run(engine: &Engine, call: &[String], account: Option<&str>, json: bool, io: &mut Io) -> Result<Exit, Error> {
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
    let answer = Answer::new(&ops, &accounts);
    if json {
        crate::commands::print_json(io, &answer)?;
    } else {
        answer.print(&ops, io);
    }
    Ok(if answer.can_call { Exit::Success } else { Exit::CannotCall })
}

/// `scopes --list`: every operation with the scopes it needs.
pub fn list(json: bool, io: &mut Io) -> Result<Exit, Error> {
    let ops = catalog::operations();
    if json {
        #[derive(Serialize)]
        struct List<'a> {
            version: u32,
            operations: &'a [Operation],
        }
        crate::commands::print_json(io, &List { version: 1, operations: ops })?;
    } else {
        for op in ops {
            let scopes = if op.scopes.is_empty() { "-".to_string() } else { op.scopes.join(",") };
            let withdrawn = if op.deprecated { "  (withdrawn for development-mode apps)" } else { "" };
            io.say(format!("{:<7}{:<45}{scopes}{withdrawn}", op.method, op.path));
        }
    }
    Ok(Exit::Success)
}

/// The answer, as `--json` prints it (version 1).
#[derive(Serialize)]
struct Answer<'a> {
    version: u32,
    operations: Vec<OperationView<'a>>,
    accounts: Vec<AccountVerdict<'a>>,
    can_call: bool,
}

#[derive(Serialize)]
struct OperationView<'a> {
    method: &'a str,
    path: &'a str,
    operation_id: &'a str,
    summary: &'a str,
    scopes: &'a [String],
    optional_scopes: &'a [String],
    withdrawn: bool,
    reference: String,
    replacement: Option<Call<'a>>,
}

#[derive(Serialize)]
struct Call<'a> {
    method: &'a str,
    path: &'a str,
}

#[derive(Serialize)]
struct AccountVerdict<'a> {
    id: &'a str,
    display_name: Option<&'a str>,
    can_call: bool,
    missing: Vec<&'a str>,
    /// The login that adds the missing scopes.
    fix: Option<String>,
    #[serde(skip)]
    name: &'a str,
}

impl<'a> Answer<'a> {
    fn new(ops: &[&'a Operation], accounts: &'a [AccountRecord]) -> Self {
        let withdrawn = ops.iter().any(|o| o.deprecated);
        let accounts: Vec<AccountVerdict<'a>> = accounts
            .iter()
            .map(|a| {
                let mut missing: Vec<&str> = Vec::new();
                for scope in ops.iter().flat_map(|o| o.missing(&a.granted_scopes)) {
                    if !missing.contains(&scope) {
                        missing.push(scope);
                    }
                }
                let fix = (!missing.is_empty()).then(|| {
                    NextStep::add_scopes(&a.id, &a.granted_scopes, &missing).add_scopes_login().unwrap_or_default()
                });
                AccountVerdict {
                    id: &a.id,
                    display_name: a.display_name.as_deref(),
                    can_call: !withdrawn && missing.is_empty(),
                    missing,
                    fix,
                    name: a.name(),
                }
            })
            .collect();
        let operations = ops
            .iter()
            .map(|o| OperationView {
                method: &o.method,
                path: &o.path,
                operation_id: &o.operation_id,
                summary: &o.summary,
                scopes: o.required(),
                optional_scopes: o.widening(),
                withdrawn: o.deprecated,
                reference: o.reference_url(),
                replacement: catalog::replacement(o).map(|r| Call { method: &r.method, path: &r.path }),
            })
            .collect();
        let can_call = accounts.iter().any(|a| a.can_call);
        Self { version: 1, operations, accounts, can_call }
    }

    fn print(&self, ops: &[&Operation], io: &mut Io) {
        for (op, view) in ops.iter().zip(&self.operations) {
            io.say(format!("{} {} — {}", op.method, op.path, op.summary));
            let scopes =
                if view.scopes.is_empty() { "no scope (any access token)".into() } else { view.scopes.join(", ") };
            io.say(format!("  needs        {scopes}"));
            if !view.optional_scopes.is_empty() {
                io.say(format!("  optional     {} (each adds fields to the answer)", view.optional_scopes.join(", ")));
            }
            if op.deprecated {
                io.say(match &view.replacement {
                    Some(r) => format!("  WITHDRAWN    for development-mode apps; use {} {} instead", r.method, r.path),
                    None => {
                        "  WITHDRAWN    for development-mode apps (only apps with extended quota may call it)".into()
                    }
                });
            }
            io.say(format!("  reference    {}", view.reference));
        }
        if self.accounts.is_empty() {
            io.say("No account is signed in. Run `spotoken login`.");
        }
        let withdrawn = ops.iter().any(|o| o.deprecated);
        for a in &self.accounts {
            let who = format!("{} ({})", a.name, a.id);
            io.say(match (withdrawn, a.fix.as_deref()) {
                (_, Some(fix)) => format!("✗ {who}: missing {}. Run `{fix}`.", a.missing.join(", ")),
                (true, None) => format!("✗ {who}: has the scopes, but the call is withdrawn for development-mode apps"),
                (false, None) => format!("✓ {who}: can call it"),
            });
        }
    }
}
