//! The watch: anomalies raised, held back, acknowledged, reported and pruned.

use super::*;

#[test]
fn a_program_is_new_once_per_account() {
    let (_dir, activity) = new_record();
    let alice = sample("alice");
    let bob = sample("bob");
    let sh = Program { name: "sh".into(), path: Some("/bin/sh".into()) };
    let py = Program { name: "python3".into(), path: Some("/usr/bin/python3".into()) };
    let codes = |v: Vec<Anomaly>| v.into_iter().map(|a| a.code).collect::<Vec<_>>();
    assert_eq!(codes(activity.check_handout(&alice, Some(&sh), NOON, 30)), ["new_program"]);
    assert!(activity.check_handout(&alice, Some(&sh), NOON, 30).is_empty());
    assert_eq!(codes(activity.check_handout(&alice, Some(&py), NOON, 30)), ["new_program"]);
    assert_eq!(codes(activity.check_handout(&bob, Some(&sh), NOON, 30)), ["new_program"]);
    assert!(activity.check_handout(&alice, None, NOON, 30).is_empty());
    let open = activity.open_anomalies(Some("alice"));
    assert_eq!(open.len(), 2);
    assert!(open[0].message.contains("sh (/bin/sh)"), "{}", open[0].message);
    assert_eq!(open[0].severity, Severity::Notice);
}

#[test]
fn more_than_the_limit_in_a_minute_is_one_burst() {
    let (_dir, activity) = new_record();
    let alice = sample("alice");
    let mut bursts = 0;
    for i in 0..40 {
        let at = NOON.plus_secs(i);
        activity.record(&handout(at, "alice", "t"));
        // Another account's hand-outs do not count towards alice's.
        activity.record(&handout(at, "bob", "t"));
        bursts += activity.check_handout(&alice, None, at, 30).len();
        if i == 29 {
            assert_eq!(bursts, 0, "30 in a minute is within the limit");
        }
    }
    assert_eq!(bursts, 1);
    // Spread out, the same number is no burst.
    let (_dir, calm) = new_record();
    for i in 0..40 {
        let at = NOON.plus_secs(i * 3);
        calm.record(&handout(at, "alice", "t"));
        assert!(calm.check_handout(&alice, None, at, 30).is_empty());
    }
    // While it is open, another burst adds nothing; once acknowledged, a new one is raised.
    for i in 0..31 {
        let at = NOON.plus_secs(100 + i);
        activity.record(&handout(at, "alice", "t"));
        bursts += activity.check_handout(&alice, None, at, 30).len();
    }
    assert_eq!(bursts, 1);
    activity.acknowledge(None, Some("alice"), NOON).unwrap();
    for i in 0..31 {
        let at = NOON.plus_secs(200 + i);
        activity.record(&handout(at, "alice", "t"));
        bursts += activity.check_handout(&alice, None, at, 30).len();
    }
    assert_eq!(bursts, 2);
    assert!(activity.open_anomalies(Some("alice"))[0].message.starts_with("31 access tokens"));
    assert_eq!(activity.anomalies().len(), 2);
}

#[test]
fn early_rejection_of_the_newest_token_is_an_alert_once() {
    let (_dir, activity) = new_record();
    let mut alice = sample("alice");
    alice.authorized_at = NOON.plus_secs(-10 * DAY);
    let raised = activity.check_rejection(&alice, true, NOON).unwrap();
    assert_eq!((raised.code.as_str(), raised.severity), ("refresh_token_rejected_early", Severity::Alert));
    assert!(raised.message.contains("possibly used elsewhere or access removed at spotify.com/account/apps"));
    assert!(activity.check_rejection(&alice, true, NOON).is_none(), "one open at a time");
    // Not the newest token (one lost to a crash): no alert.
    let (_dir2, other) = new_record();
    assert!(other.check_rejection(&alice, false, NOON).is_none());
    // Near the end of the six months: expected, no alert.
    alice.authorized_at = NOON.plus_secs(-170 * DAY);
    assert!(other.check_rejection(&alice, true, NOON).is_none());
}

#[test]
fn fewer_scopes_and_another_user_are_raised() {
    let (_dir, activity) = new_record();
    let mut alice = sample("alice");
    alice.granted_scopes = vec!["user-read-private".into()];
    let before = vec!["user-read-private".to_string(), "user-read-email".to_string()];
    let a = activity.check_scopes(&alice, &before, NOON).unwrap();
    assert!(a.message.contains("user-read-email"), "{}", a.message);
    assert!(activity.check_scopes(&alice, &["user-read-private".into()], NOON).is_none());
    assert!(activity.check_identity(&alice, "alice", NOON).is_none());
    let a = activity.check_identity(&alice, "mallory", NOON).unwrap();
    assert_eq!((a.code.as_str(), a.account.as_str()), ("identity_changed", "alice"));
}

#[test]
fn acknowledging_by_id_account_or_all() {
    let (_dir, activity) = new_record();
    let (alice, bob) = (sample("alice"), sample("bob"));
    let p = |n: &str| Program { name: n.into(), path: None };
    let first = activity.check_handout(&alice, Some(&p("a")), NOON, 30).remove(0);
    activity.check_handout(&alice, Some(&p("b")), NOON, 30);
    activity.check_handout(&bob, Some(&p("a")), NOON, 30);
    assert_eq!(activity.acknowledge(Some(&first.id), None, NOON).unwrap(), 1);
    assert_eq!(activity.open_anomalies(None).len(), 2);
    assert_eq!(activity.acknowledge(None, Some("alice"), NOON).unwrap(), 1);
    assert_eq!(activity.open_anomalies(None).iter().map(|a| a.account.as_str()).collect::<Vec<_>>(), ["bob"]);
    assert_eq!(activity.acknowledge(None, None, NOON).unwrap(), 1);
    assert!(activity.open_anomalies(None).is_empty());
    let all = activity.anomalies();
    assert!(all.iter().all(|a| a.acknowledged && a.acknowledged_at.as_deref() == Some("2026-11-25T12:00:00Z")));
    // Acknowledged ones go with the retention.
    activity.prune(NOON.plus_secs((RETENTION_DAYS + 1) * DAY));
    assert!(activity.anomalies().is_empty());
}

fn anomaly_at(id: &str, at: Timestamp, acknowledged: bool) -> Anomaly {
    Anomaly {
        id: id.into(),
        at,
        account: "alice".into(),
        code: "burst".into(),
        severity: Severity::Alert,
        message: String::new(),
        fix: String::new(),
        acknowledged,
        acknowledged_at: None,
        program: None,
        notified: false,
    }
}

#[test]
fn only_acknowledged_anomalies_past_the_retention_are_pruned() {
    let (_dir, activity) = new_record();
    let now = NOON.plus_secs(200 * DAY);
    let oldest = now.plus_secs(-RETENTION_DAYS * DAY);
    activity
        .update_watch(|w| {
            w.anomalies = vec![
                anomaly_at("old-ack", oldest.plus_secs(-1), true),
                anomaly_at("edge-ack", oldest, true),
                anomaly_at("old-open", NOON, false),
                anomaly_at("new-ack", now, true),
            ]
        })
        .unwrap();
    activity.prune(now);
    let ids: Vec<String> = activity.anomalies().into_iter().map(|a| a.id).collect();
    assert_eq!(ids, ["edge-ack", "old-open", "new-ack"]);
}

#[test]
fn notified_anomalies_are_marked_so_and_the_others_not() {
    let (_dir, activity) = new_record();
    activity.update_watch(|w| w.anomalies = vec![anomaly_at("a", NOON, false), anomaly_at("b", NOON, false)]).unwrap();
    activity.mark_notified(&["b".to_string()]).unwrap();
    let notified: Vec<(String, bool)> = activity.anomalies().into_iter().map(|a| (a.id, a.notified)).collect();
    assert_eq!(notified, [("a".to_string(), false), ("b".to_string(), true)]);
}

#[test]
fn the_report_keeps_open_anomalies_and_acknowledged_ones_since() {
    let (_dir, activity) = new_record();
    let mut bob = anomaly_at("bob", NOON, false);
    bob.account = "bob".into();
    activity
        .update_watch(|w| {
            w.anomalies = vec![
                anomaly_at("open-old", NOON, false),
                anomaly_at("ack-old", NOON, true),
                anomaly_at("ack-new", NOON.plus_secs(DAY), true),
                bob,
            ]
        })
        .unwrap();
    let ids = |filter: Filter| -> Vec<String> {
        activity.report(&filter, NOON.plus_secs(2 * DAY)).anomalies.into_iter().map(|a| a.id).collect()
    };
    let since = Some(NOON.plus_secs(DAY));
    assert_eq!(ids(Filter { account: Some("alice".into()), since }), ["open-old", "ack-new"]);
    assert_eq!(ids(Filter { account: None, since }), ["open-old", "ack-new", "bob"]);
    assert_eq!(ids(Filter { account: Some("alice".into()), since: None }), ["open-old", "ack-old", "ack-new"]);
}

#[test]
fn a_program_already_raised_as_new_is_not_raised_again_whatever_else_is_open() {
    let (_dir, activity) = new_record();
    let alice = sample("alice");
    let x = Program { name: "x".into(), path: Some("/opt/x".into()) };
    // Raised before but not learned (the record kept, the known list lost).
    let mut raised = anomaly_at("00000001", NOON, false);
    (raised.code, raised.program) = ("new_program".into(), Some("/opt/x".into()));
    activity.update_watch(|w| w.anomalies = vec![raised]).unwrap();
    assert!(activity.check_handout(&alice, Some(&x), NOON, 30).is_empty());
    // Another kind of anomaly naming the same program does not stand in for it.
    let (_dir, other) = new_record();
    let mut burst = anomaly_at("00000002", NOON, false);
    burst.program = Some("/opt/x".into());
    other.update_watch(|w| w.anomalies = vec![burst]).unwrap();
    let new = other.check_handout(&alice, Some(&x), NOON, 30);
    assert_eq!(new.iter().map(|a| a.code.as_str()).collect::<Vec<_>>(), ["new_program"]);
}

#[test]
fn an_early_rejection_says_how_many_days_were_left() {
    let (_dir, activity) = new_record();
    let mut alice = sample("alice");
    // Authorized 2026-11-15: its six months end 2027-05-15, 171 days after NOON.
    alice.authorized_at = NOON.plus_secs(-10 * DAY);
    let raised = activity.check_rejection(&alice, true, NOON).unwrap();
    assert!(raised.message.contains("refresh token 171 days before it was due to end"), "{}", raised.message);
}

#[test]
fn a_scope_change_is_recorded_as_what_was_added_and_removed() {
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let event = Event::scopes(NOON, "alice", &s(&["a", "b"]), &s(&["b", "c", "d"])).unwrap();
    assert_eq!((event.kind, event.detail.as_deref()), (Kind::Scopes, Some("+c +d -a")));
    assert!(Event::scopes(NOON, "alice", &s(&["a", "b"]), &s(&["b", "a"])).is_none());
    let only_removed = Event::scopes(NOON, "alice", &s(&["a"]), &[]).unwrap();
    assert_eq!(only_removed.detail.as_deref(), Some("-a"));
}

#[test]
fn an_early_rejection_is_held_back_only_by_the_same_accounts_open_one() {
    let mut alice = sample("alice");
    alice.authorized_at = NOON.plus_secs(-10 * DAY);
    let with = |open: Vec<Anomaly>| {
        let (dir, activity) = new_record();
        activity.update_watch(|w| w.anomalies = open).unwrap();
        (dir, activity.check_rejection(&alice, true, NOON).is_some())
    };
    let rejection = |account: &str, acknowledged: bool| {
        let mut a = anomaly_at("00000003", NOON, acknowledged);
        (a.account, a.code) = (account.into(), "refresh_token_rejected_early".into());
        a
    };
    assert!(with(vec![anomaly_at("00000004", NOON, false)]).1, "an open burst of the same account");
    assert!(with(vec![rejection("bob", false)]).1, "another account's open rejection");
    assert!(with(vec![rejection("alice", true)]).1, "the same account's, acknowledged");
    assert!(!with(vec![rejection("alice", false)]).1, "the same account's, open");
}
