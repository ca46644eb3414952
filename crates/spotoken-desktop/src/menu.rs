//! What the tray shows, as plain data built from the accounts' state.
//!
//! The desktop shell turns a [`TrayModel`] into a native menu and routes clicks back by
//! the [`Action`] each item carries; keeping the model here makes it testable without a
//! tray. With one account its items sit at the top level; with several, each account
//! gets a submenu. Each account's line carries its token's expiry as a clock time
//! ("token valid until 14:05"): Linux tray hosts show no tooltip, every host shows the
//! menu, and a clock time stays true without a ticking timer (the menu is redrawn
//! whenever a refresh changes it).

use spotoken_core::clock::Timestamp;
use spotoken_core::status::{AccountState, StatusReport};

/// Anomaly lines the menu shows before "and N more".
const MAX_ANOMALY_LINES: usize = 3;

/// What a menu item does when clicked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    CopyToken(String),
    Refresh(String),
    Open,
    /// The window's Activity view.
    Activity,
    Login,
    Quit,
}

impl Action {
    /// A stable id for the native menu.
    pub fn id(&self) -> String {
        match self {
            Self::CopyToken(a) => format!("copy:{a}"),
            Self::Refresh(a) => format!("refresh:{a}"),
            Self::Open => "open".into(),
            Self::Activity => "activity".into(),
            Self::Login => "login".into(),
            Self::Quit => "quit".into(),
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        match id.split_once(':') {
            Some(("copy", a)) => Some(Self::CopyToken(a.to_string())),
            Some(("refresh", a)) => Some(Self::Refresh(a.to_string())),
            _ => match id {
                "open" => Some(Self::Open),
                "activity" => Some(Self::Activity),
                "login" => Some(Self::Login),
                "quit" => Some(Self::Quit),
                _ => None,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuEntry {
    Item {
        label: String,
        action: Action,
        enabled: bool,
    },
    /// A label that does nothing (an account's state).
    Note(String),
    Submenu {
        label: String,
        entries: Vec<MenuEntry>,
    },
    Separator,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayModel {
    pub tooltip: String,
    /// Some account needs sign-in: the icon should say so.
    pub attention: bool,
    pub entries: Vec<MenuEntry>,
}

fn item(label: &str, action: Action) -> MenuEntry {
    MenuEntry::Item { label: label.to_string(), action, enabled: true }
}

/// The tray for `report`; `clock` renders a moment as the person's local "14:32".
/// `notice` is a failure the person has not seen yet (a tray copy that failed with no
/// notification daemon to say so): it leads the menu and marks the icon.
pub fn tray_model(report: &StatusReport, clock: &dyn Fn(Timestamp) -> String, notice: Option<&str>) -> TrayModel {
    let accounts = &report.accounts;
    let name = |a: &spotoken_core::status::AccountStatus| a.display_name.clone().unwrap_or_else(|| a.id.clone());
    let line = |a: &spotoken_core::status::AccountStatus| -> String {
        let at = clock(Timestamp(a.access_token.expires_at_unix));
        match a.state {
            AccountState::NeedsSignIn => format!("{}: needs sign-in", name(a)),
            _ if a.access_token.seconds_left > 0 => format!("{}: token valid until {at}", name(a)),
            _ => format!("{}: token expired at {at}", name(a)),
        }
    };
    let account_entries = |a: &spotoken_core::status::AccountStatus| -> Vec<MenuEntry> {
        if a.state == AccountState::NeedsSignIn {
            // The account's line (or its submenu's label) already says it needs sign-in.
            vec![item("Sign in again…", Action::Login)]
        } else {
            vec![
                item("Copy access token", Action::CopyToken(a.id.clone())),
                item("Refresh now", Action::Refresh(a.id.clone())),
            ]
        }
    };
    let mut entries = Vec::new();
    if let Some(notice) = notice {
        entries.push(MenuEntry::Note(notice.to_string()));
        entries.push(MenuEntry::Separator);
    }
    // Anomalies stay at the top until acknowledged in the Activity view.
    // One raised before the account's latest sign-in is history: listed, marked so, and
    // no longer a reason to mark the icon (the sign-in was the remedy).
    let open: Vec<(String, &spotoken_core::activity::Anomaly, bool)> = accounts
        .iter()
        .flat_map(|a| {
            let signed_in = Timestamp::parse_rfc3339(&a.authorized_at);
            a.anomalies.iter().map(move |x| (name(a), x, signed_in.is_some_and(|s| x.at < s)))
        })
        .collect();
    if !open.is_empty() {
        for (who, anomaly, before) in open.iter().take(MAX_ANOMALY_LINES) {
            let title = spotoken_core::activity::AnomalyCode::parse(&anomaly.code).map_or("Anomaly", |c| c.title());
            let when = if *before { " (before the new sign-in)" } else { "" };
            entries.push(MenuEntry::Note(format!("⚠ {who}: {title}{when}")));
        }
        if open.len() > MAX_ANOMALY_LINES {
            entries.push(MenuEntry::Note(format!("⚠ and {} more", open.len() - MAX_ANOMALY_LINES)));
        }
        entries.push(item("Review activity…", Action::Activity));
        entries.push(MenuEntry::Separator);
    }
    match accounts.as_slice() {
        [] => {}
        [only] => {
            entries.push(MenuEntry::Note(line(only)));
            entries.extend(account_entries(only));
            entries.push(MenuEntry::Separator);
        }
        several => {
            for a in several {
                entries.push(MenuEntry::Submenu { label: line(a), entries: account_entries(a) });
            }
            entries.push(MenuEntry::Separator);
        }
    }
    entries.push(item("Open Spotoken", Action::Open));
    entries.push(item("Log in…", Action::Login));
    entries.push(MenuEntry::Separator);
    entries.push(item("Quit", Action::Quit));

    let attention = notice.is_some()
        || open.iter().any(|(_, _, before)| !before)
        || accounts.iter().any(|a| a.state == AccountState::NeedsSignIn);
    let tooltip = if let Some(a) = accounts.iter().find(|a| a.state == AccountState::NeedsSignIn) {
        format!("Spotoken: {} needs sign-in", name(a))
    } else if let Some(a) = accounts.iter().min_by_key(|a| a.access_token.seconds_left) {
        // A clock time, not a countdown: it stays true without redrawing every minute.
        format!("Spotoken: {}'s token expires at {}", name(a), clock(Timestamp(a.access_token.expires_at_unix)))
    } else {
        "Spotoken: not signed in".to_string()
    };
    TrayModel { tooltip, attention, entries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spotoken_core::store::accounts::sample;

    fn report(records: &[spotoken_core::AccountRecord], now: i64) -> StatusReport {
        StatusReport::new(records, Timestamp(now))
    }

    fn model(report: &StatusReport) -> TrayModel {
        tray_model(report, &|t| t.to_rfc3339()[11..16].to_string(), None)
    }

    fn actions(entries: &[MenuEntry]) -> Vec<String> {
        entries
            .iter()
            .flat_map(|e| match e {
                MenuEntry::Item { action, .. } => vec![action.id()],
                MenuEntry::Submenu { entries, .. } => actions(entries),
                _ => vec![],
            })
            .collect()
    }

    #[test]
    fn no_account() {
        let model = model(&report(&[], 0));
        assert_eq!(actions(&model.entries), ["open", "login", "quit"]);
        assert_eq!(model.tooltip, "Spotoken: not signed in");
        assert!(!model.attention);
    }

    #[test]
    fn one_account_sits_at_the_top_level() {
        let model = model(&report(&[sample("alice")], 400));
        assert_eq!(model.entries[0], MenuEntry::Note("alice name: token valid until 00:16".into()));
        assert_eq!(actions(&model.entries), ["copy:alice", "refresh:alice", "open", "login", "quit"]);
        assert_eq!(model.tooltip, "Spotoken: alice name's token expires at 00:16");
    }

    #[test]
    fn several_accounts_get_submenus_and_the_soonest_expiry_leads() {
        let mut bob = sample("bob");
        bob.access_expires_at = Timestamp(700);
        let model = model(&report(&[sample("alice"), bob], 400));
        assert!(
            matches!(&model.entries[0], MenuEntry::Submenu { label, .. } if label == "alice name: token valid until 00:16")
        );
        assert!(
            matches!(&model.entries[1], MenuEntry::Submenu { label, .. } if label == "bob name: token valid until 00:11")
        );
        assert_eq!(
            actions(&model.entries),
            ["copy:alice", "refresh:alice", "copy:bob", "refresh:bob", "open", "login", "quit"]
        );
        assert_eq!(model.tooltip, "Spotoken: bob name's token expires at 00:11");
    }

    #[test]
    fn needing_sign_in_changes_items_tooltip_and_icon() {
        let mut bob = sample("bob");
        bob.needs_sign_in = true;
        let model = model(&report(&[sample("alice"), bob], 400));
        assert!(model.attention);
        assert_eq!(model.tooltip, "Spotoken: bob name needs sign-in");
        assert!(matches!(&model.entries[1], MenuEntry::Submenu { label, .. } if label == "bob name: needs sign-in"));
        assert_eq!(actions(&model.entries), ["copy:alice", "refresh:alice", "login", "open", "login", "quit"]);
        let MenuEntry::Submenu { entries, .. } = &model.entries[1] else { unreachable!() };
        assert_eq!(
            entries.len(),
            1,
            "the label says it needs sign-in; the submenu only offers the sign-in: {entries:?}"
        );

        let mut carol = sample("carol");
        carol.needs_sign_in = true;
        let alone = self::model(&report(&[carol], 400));
        let said =
            alone.entries.iter().filter(|e| matches!(e, MenuEntry::Note(n) if n.contains("needs sign-in"))).count();
        assert_eq!(said, 1, "one account that needs sign-in is said once: {:?}", alone.entries);
    }

    #[test]
    fn an_expired_token_says_so_and_a_failure_leads_the_menu() {
        let model = model(&report(&[sample("alice")], 2000));
        assert_eq!(model.entries[0], MenuEntry::Note("alice name: token expired at 00:16".into()));
        assert!(!model.attention);
        let failed = tray_model(&report(&[sample("alice")], 400), &|_| "x".into(), Some("Copy failed: no clipboard."));
        assert_eq!(failed.entries[0], MenuEntry::Note("Copy failed: no clipboard.".into()));
        assert_eq!(failed.entries[1], MenuEntry::Separator);
        assert!(failed.attention, "an unseen failure marks the icon");
    }

    #[test]
    fn open_anomalies_lead_the_menu_until_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let record = spotoken_core::activity::Activity::new(dir.path().join("a"), dir.path().join("a.lock"));
        let alice = sample("alice");
        for n in 0..5 {
            let program = spotoken_core::activity::Program { name: format!("p{n}"), path: None };
            record.check_handout(&alice, Some(&program), Timestamp(400), 30);
        }
        let mut status = report(&[alice], 400);
        status.accounts[0].anomalies = record.open_anomalies(None);
        let model = model(&status);
        assert_eq!(model.entries[0], MenuEntry::Note("⚠ alice name: A new program got a token".into()));
        assert_eq!(model.entries[3], MenuEntry::Note("⚠ and 2 more".into()));
        assert_eq!(actions(&model.entries)[0], "activity");
        assert!(model.attention);
        status.accounts[0].anomalies.clear();
        assert!(!self::model(&status).attention);
    }

    #[test]
    fn an_anomaly_from_before_a_new_sign_in_is_listed_as_history_and_marks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let record = spotoken_core::activity::Activity::new(dir.path().join("a"), dir.path().join("a.lock"));
        let mut alice = sample("alice");
        let program = spotoken_core::activity::Program { name: "p".into(), path: None };
        record.check_handout(&alice, Some(&program), Timestamp(300), 30);
        alice.authorized_at = Timestamp(350);
        let mut status = report(&[alice], 400);
        status.accounts[0].anomalies = record.open_anomalies(None);
        let model = model(&status);
        assert_eq!(
            model.entries[0],
            MenuEntry::Note("⚠ alice name: A new program got a token (before the new sign-in)".into())
        );
        assert!(!model.attention, "the sign-in after it was the remedy");
        status.accounts[0].anomalies[0].at = Timestamp(360);
        assert!(self::model(&status).attention, "one raised after the sign-in marks the icon");
    }

    #[test]
    fn ids_round_trip() {
        for a in [
            Action::CopyToken("x:y".into()),
            Action::Refresh("z".into()),
            Action::Open,
            Action::Activity,
            Action::Login,
            Action::Quit,
        ] {
            assert_eq!(Action::from_id(&a.id()), Some(a));
        }
        assert_eq!(Action::from_id("nonsense"), None);
    }
}
