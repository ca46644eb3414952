use super::*;
use crate::secret::Secret;
use crate::store::accounts::sample;
use std::io::Write;

// 2026-11-25T12:00:00Z
const NOON: Timestamp = Timestamp(1_795_608_000);

mod watch;

fn new_record() -> (tempfile::TempDir, Activity) {
    let dir = tempfile::tempdir().unwrap();
    let activity = Activity::new(dir.path().join("activity"), dir.path().join("activity.lock"));
    (dir, activity)
}

fn handout(at: Timestamp, account: &str, token: &str) -> Event {
    let to = Recipient {
        channel: Channel::CliToken,
        program: Some(Program { name: "sh".into(), path: Some("/bin/sh".into()) }),
    };
    Event::handout(at, account, &to, Ok((&Secret::of(token.to_string()), false)))
}

#[test]
fn a_handout_is_written_and_read_back_without_the_token() {
    let (_dir, activity) = new_record();
    activity.record(&handout(NOON, "alice", "BQ-secret-access"));
    let events = activity.events(&Filter::default(), NOON);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.kind, e.channel.as_deref(), e.program.as_deref()), (Kind::Handout, Some("cli-token"), Some("sh")));
    assert_eq!(
        e.fingerprint.as_deref(),
        Some(fingerprint(&crate::secret::AccessToken::of("BQ-secret-access".into())).as_str())
    );
    assert_eq!(e.outcome.as_deref(), Some("served"));
    let text = std::fs::read_to_string(activity.dir().join("events-2026-11-25-00.jsonl")).unwrap();
    assert!(text.contains(r#""at":"2026-11-25T12:00:00Z""#), "{text}");
    assert!(!text.contains("BQ-secret-access"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(activity.dir().join("events-2026-11-25-00.jsonl")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(activity.dir()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }
}

#[test]
fn the_fingerprint_is_the_start_of_the_sha256() {
    // printf %s abc | sha256sum
    assert_eq!(fingerprint(&crate::secret::AccessToken::of("abc".into())), "ba7816bf");
}

#[test]
fn threads_writing_at_once_lose_and_tear_nothing() {
    let (_dir, activity) = new_record();
    std::thread::scope(|s| {
        for t in 0..8 {
            let activity = &activity;
            s.spawn(move || {
                for i in 0..200 {
                    activity.record(&handout(NOON, &format!("acc{t}"), &format!("token-{t}-{i}")));
                }
            });
        }
    });
    let events = activity.events(&Filter::default(), NOON);
    assert_eq!(events.len(), 1600);
    for t in 0..8 {
        let filter = Filter { account: Some(format!("acc{t}")), since: None };
        assert_eq!(activity.events(&filter, NOON).len(), 200);
    }
    let text = std::fs::read_to_string(activity.dir().join("events-2026-11-25-00.jsonl")).unwrap();
    assert!(text.lines().all(|l| serde_json::from_str::<Event>(l).is_ok()));
}

#[test]
fn a_line_cut_short_is_skipped_and_the_rest_still_reads() {
    let (_dir, activity) = new_record();
    activity.record(&handout(NOON, "alice", "a"));
    let path = activity.dir().join("events-2026-11-25-00.jsonl");
    let mut file = std::fs::File::options().append(true).open(&path).unwrap();
    file.write_all(br#"{"at":"2026-11-25T12:00:00Z","acc"#).unwrap();
    file.write_all(b"\n").unwrap();
    activity.record(&handout(NOON, "alice", "b"));
    assert_eq!(activity.events(&Filter::default(), NOON).len(), 2);
}

#[test]
fn events_past_90_days_are_pruned_by_whole_days() {
    let (_dir, activity) = new_record();
    let day = |n: i64| NOON.plus_secs(n * DAY);
    for n in 0..=100 {
        activity.record(&handout(day(n), "alice", "t"));
    }
    // Writing day 100's file pruned everything before day 10.
    let files: Vec<String> = activity.segments().into_iter().map(|s| s.1).collect();
    assert_eq!(files.len(), 91, "{files:?}");
    assert_eq!(files[0], format!("events-{}-00.jsonl", day_of(day(10))));
    let events = activity.events(&Filter::default(), day(100));
    assert_eq!(events.first().map(|e| e.at), Some(day(10)));
    // Reading leaves out what is past 90 days even before the next prune.
    let events = activity.events(&Filter::default(), day(100).plus_secs(3600));
    assert_eq!(events.first().map(|e| e.at), Some(day(10).plus_secs(DAY)));
}

#[test]
fn the_record_stays_under_10_mb_and_keeps_the_newest() {
    let (_dir, activity) = new_record();
    // ~170 bytes a line: 12 MB over six days of 2 MB each.
    let per_day = 12_000;
    for d in 0..6 {
        for i in 0..per_day {
            activity.record(&handout(NOON.plus_secs(d * DAY + i), "alice", "t"));
        }
    }
    let total: u64 = activity.segments().iter().map(|s| s.2).sum();
    assert!(total <= MAX_BYTES, "{total}");
    assert!(total > MAX_BYTES - 3 * SEGMENT_BYTES, "pruned too much: {total}");
    let now = NOON.plus_secs(6 * DAY);
    let events = activity.events(&Filter::default(), now);
    assert_eq!(events.last().map(|e| e.at), Some(NOON.plus_secs(5 * DAY + per_day - 1)));
    assert!(events.first().unwrap().at > NOON, "the oldest day went first");
}

#[test]
fn the_chart_counts_handouts_per_hour_up_to_now() {
    let events = vec![
        handout(NOON.plus_secs(-7 * DAY), "a", "t"), // too old
        handout(NOON.plus_secs(-3600), "a", "t"),
        handout(NOON.plus_secs(-1), "a", "t"),
        handout(NOON, "a", "t"),
        handout(NOON.plus_secs(59 * 60), "a", "t"),
        Event::sign_out(NOON, "a"),
    ];
    let buckets = handouts_per_hour(&events, NOON.plus_secs(1800), 168);
    assert_eq!(buckets.len(), 168);
    assert_eq!(buckets[167], 2);
    assert_eq!(buckets[166], 2);
    assert_eq!(buckets.iter().sum::<u32>(), 4);
}

#[test]
fn the_json_has_the_documented_shape() {
    let (_dir, activity) = new_record();
    activity.record(&handout(NOON, "alice", "t"));
    activity.check_handout(&sample("alice"), Some(&Program { name: "sh".into(), path: None }), NOON, 30);
    let value = serde_json::to_value(activity.report(&Filter::default(), NOON)).unwrap();
    assert_eq!(value["version"], 1);
    let event = &value["events"][0];
    for key in ["at", "account", "kind", "channel", "program", "fingerprint", "outcome"] {
        assert!(event.get(key).is_some(), "event lacks {key}: {event}");
    }
    assert_eq!(event["kind"], "handout");
    let anomaly = &value["anomalies"][0];
    for key in ["at", "account", "code", "message", "fix", "acknowledged"] {
        assert!(anomaly.get(key).is_some(), "anomaly lacks {key}: {anomaly}");
    }
    assert_eq!(anomaly["acknowledged"], false);
}

#[test]
fn record_file_names_are_recognised_strictly() {
    assert_eq!(parse_segment_name("events-2026-11-25-00.jsonl"), Some("2026-11-25"));
    assert_eq!(parse_segment_name("events-2026-11-25-07.jsonl"), Some("2026-11-25"));
    for other in ["watch.json", "events-2026-11-25.jsonl", "events-2026-13-25-00.jsonl", "events-2026-11-25-0a.jsonl"] {
        assert_eq!(parse_segment_name(other), None, "{other}");
    }
}

#[test]
fn the_timeline_filters_and_lists_what_it_can_filter_by() {
    let (_dir, activity) = new_record();
    activity.record(&handout(NOON.plus_secs(-3 * DAY), "alice", "a"));
    let tray = Recipient::app(Channel::TrayCopy);
    activity.record(&Event::handout(NOON.plus_secs(-60), "bob", &tray, Ok((&Secret::of("b".into()), true))));
    let refreshed = Ok((&Secret::of("c".into()), RefreshOutcome::Omitted));
    activity.record(&Event::refresh(NOON.plus_secs(-60), "bob", Actor::Tray, refreshed));
    let all = activity.timeline(None, None, None, NOON);
    assert_eq!(all.accounts, ["alice", "bob"]);
    assert_eq!(all.channels, ["cli-token", "tray", "tray-copy"]);
    assert_eq!(all.programs, ["sh"]);
    assert_eq!(all.events.first().map(|e| e.kind), Some(Kind::Refresh), "newest first");
    assert_eq!(all.per_hour.iter().sum::<u32>(), 2);
    assert_eq!(all.per_hour_from, NOON.plus_secs(-167 * 3600));
    let bob = activity.timeline(Some("bob"), Some("tray-copy"), None, NOON);
    assert_eq!(bob.events.len(), 1);
    assert_eq!(bob.events[0].outcome.as_deref(), Some("refreshed"));
    assert_eq!(activity.timeline(None, None, Some("sh"), NOON).events.len(), 1);
    // Anomalies: the chosen account's, open first, newest first.
    let p = |n: &str| Program { name: n.into(), path: None };
    let older = activity.check_handout(&sample("bob"), Some(&p("a")), NOON.plus_secs(-60), 30).remove(0);
    activity.check_handout(&sample("bob"), Some(&p("b")), NOON, 30);
    activity.check_handout(&sample("alice"), Some(&p("a")), NOON, 30);
    activity.acknowledge(Some(&older.id), None, NOON).unwrap();
    activity.check_handout(&sample("bob"), Some(&p("c")), NOON.plus_secs(-30), 30);
    let bob = activity.timeline(Some("bob"), None, None, NOON).anomalies;
    let order: Vec<(&str, bool)> = bob.iter().map(|a| (a.program.as_deref().unwrap(), a.acknowledged)).collect();
    assert_eq!(order, [("b", false), ("c", false), ("a", true)]);
}

/// A record file of `len` bytes (sparse: nothing is written).
fn sized_segment(activity: &Activity, day: &str, n: u32, len: u64) {
    std::fs::create_dir_all(&activity.dir).unwrap();
    std::fs::File::create(activity.dir.join(segment_name(day, n))).unwrap().set_len(len).unwrap();
}

#[test]
fn a_full_file_gives_way_to_the_next_and_the_hundredth_takes_the_rest() {
    let (_dir, activity) = new_record();
    let day = day_of(NOON);
    let file = |n| activity.dir.join(segment_name(&day, n));
    assert_eq!(activity.segment_for(day.clone()).unwrap(), (file(0), true));
    sized_segment(&activity, &day, 0, SEGMENT_BYTES - 1);
    assert_eq!(activity.segment_for(day.clone()).unwrap(), (file(0), false));
    sized_segment(&activity, &day, 0, SEGMENT_BYTES);
    assert_eq!(activity.segment_for(day.clone()).unwrap(), (file(1), true));
    for n in 0..100 {
        sized_segment(&activity, &day, n, SEGMENT_BYTES);
    }
    assert_eq!(activity.segment_for(day.clone()).unwrap(), (file(99), false));
}

#[test]
fn a_record_folder_that_is_not_one_is_an_error_not_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_folder = dir.path().join("activity");
    std::fs::write(&not_a_folder, b"").unwrap();
    let activity = Activity::new(not_a_folder, dir.path().join("activity.lock"));
    // On Unix the file's name under a file is "not a directory", said as such. Windows
    // calls it "path not found", as for a missing file; there the writing below is the
    // first to fail.
    #[cfg(unix)]
    {
        let e = activity.segment_for(day_of(NOON)).unwrap_err();
        assert!(e.diagnose().message.starts_with("Could not read "), "{}", e.diagnose().message);
    }
    assert!(activity.append(&handout(NOON, "alice", "t")).is_err());
    assert_eq!(
        std::fs::read(dir.path().join("activity")).unwrap(),
        b"",
        "the file in the folder's place is left alone"
    );
}

#[test]
fn pruning_by_size_removes_the_oldest_until_the_newest_has_room() {
    let (_dir, activity) = new_record();
    // Twelve days of 1 MB each, all within the retention.
    for d in 0..12 {
        sized_segment(&activity, &day_of(NOON.plus_secs(d * DAY)), 0, SEGMENT_BYTES);
    }
    activity.prune(NOON.plus_secs(12 * DAY));
    let kept: Vec<String> = activity.segments().into_iter().map(|s| s.1).collect();
    // 9 MB left: room for the newest to grow by one more file's worth within 10 MB.
    assert_eq!(kept.len(), 9, "{kept:?}");
    assert_eq!(kept[0], segment_name(&day_of(NOON.plus_secs(3 * DAY)), 0));
}

#[test]
fn hand_outs_are_counted_from_since_on_and_only_served_ones_of_the_account() {
    let (_dir, activity) = new_record();
    let since = NOON;
    let token = Secret::of("t".to_string());
    activity.record(&handout(since.plus_secs(-1), "alice", "t"));
    activity.record(&handout(since, "alice", "t"));
    activity.record(&handout(since.plus_secs(5), "bob", "t"));
    activity.record(&Event::refresh(since.plus_secs(6), "alice", Actor::Cli, Ok((&token, RefreshOutcome::Kept))));
    let to = Recipient::cli();
    activity.record(&Event::handout(since.plus_secs(7), "alice", &to, Err(&Error::NotConfigured)));
    activity.record(&handout(since.plus_secs(8), "alice", "t"));
    assert_eq!(activity.handouts_since("alice", since, since.plus_secs(10)), 2);
}

#[test]
fn hand_outs_across_midnight_are_counted_from_both_days() {
    let (_dir, activity) = new_record();
    // 2026-11-25T23:59:30Z to 2026-11-26T00:00:20Z.
    let before = NOON.plus_secs(12 * 3600 - 30);
    for i in 0..3 {
        activity.record(&handout(before.plus_secs(i * 20), "alice", "t"));
    }
    let files = activity.segments();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(activity.handouts_since("alice", before, before.plus_secs(50)), 3);
}

#[test]
fn a_tail_past_its_limit_counts_what_it_holds_and_no_older_file() {
    let (_dir, activity) = new_record();
    let before = NOON.plus_secs(12 * 3600 - 30);
    activity.record(&handout(before, "alice", "t"));
    // The next day's file: more hand-outs within the minute than its 64 KiB tail holds.
    let after = before.plus_secs(40);
    for _ in 0..600 {
        activity.record(&handout(after, "alice", "t"));
    }
    let newest = activity.segments().pop().unwrap();
    let text = std::fs::read_to_string(&newest.0).unwrap();
    let tail = &text[text.len() - 64 * 1024..];
    // A line cut at the start of the tail is not counted.
    let whole = tail.lines().filter(|l| l.starts_with(r#"{"at":""#)).count();
    assert!(whole < 600);
    assert_eq!(activity.handouts_since("alice", before, after), whole);
}

#[test]
fn refresh_outcomes_have_their_words() {
    let words: Vec<&str> =
        [RefreshOutcome::Rotated, RefreshOutcome::Kept, RefreshOutcome::Omitted].iter().map(|o| o.as_str()).collect();
    assert_eq!(words, ["rotated", "kept", "omitted"]);
}

#[cfg(target_os = "linux")]
#[test]
fn the_program_that_started_this_one_is_known() {
    let parent = Program::parent().expect("the test's own parent process");
    assert!(!parent.name.is_empty() && parent.path.as_deref().is_some_and(|p| p.starts_with('/')), "{parent:?}");
}
