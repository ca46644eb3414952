//! The activity record: every token handed out, every refresh, sign-in, sign-out and
//! scope change, and the anomalies noticed in them. Never a token.
//!
//! Kept by the engine, so the command line and the app write one record, in
//! `activity/` in the data folder:
//! - `events-YYYY-MM-DD-NN.jsonl`: one JSON object per line, appended with a single
//!   `write` on a file opened `O_APPEND`, so processes writing at once never interleave
//!   or tear a line and a hand-out takes no lock. A day's file moves on to the next
//!   number past [`SEGMENT_BYTES`]. Pruning deletes whole files (older than
//!   [`RETENTION_DAYS`], or the oldest while all of them pass [`MAX_BYTES`]): a file
//!   being appended to is never rewritten, so pruning cannot lose a line or block one.
//! - `watch.json`: the programs seen per account and the anomalies with their
//!   acknowledgement; rarely changed, always under a lock and written atomically.
//!
//! What identifies a hand-out is a fingerprint: the first 8 hex characters of the
//! access token's SHA-256. It tells two hand-outs of the same token apart from two of
//! different ones and cannot be turned back into the token. Lines are not synced to
//! disk one by one: a crash may lose the last few, never the tokens.

pub mod approval;
mod model;
mod program;
pub mod rules;
mod timeline;

pub use model::*;
pub use program::Program;
pub use rules::{AnomalyCode, Severity};
pub use timeline::{CHART_HOURS, Timeline, handouts_per_hour};

use model::rfc3339;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::lock::FileLock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// Events and anomalies older than this are dropped.
pub const RETENTION_DAYS: i64 = 90;
/// The record's files together stay under this.
pub const MAX_BYTES: u64 = 10 * 1024 * 1024;
/// A day's file moves on to the next past this size.
pub const SEGMENT_BYTES: u64 = 1024 * 1024;
/// The version of `spotoken activity --json`.
pub const ACTIVITY_VERSION: u32 = 1;

const DAY: i64 = 86_400;

/// A program seen getting a token for an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct KnownProgram {
    key: String,
    name: String,
    #[serde(with = "rfc3339")]
    first_seen: Timestamp,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct WatchFile {
    version: u32,
    #[serde(default)]
    programs: BTreeMap<String, Vec<KnownProgram>>,
    #[serde(default)]
    anomalies: Vec<Anomaly>,
}

/// The record's folder and its lock.
#[derive(Debug, Clone)]
pub struct Activity {
    dir: PathBuf,
    lock_path: PathBuf,
}

impl Activity {
    pub fn new(dir: PathBuf, lock_path: PathBuf) -> Self {
        Self { dir, lock_path }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn watch_file(&self) -> PathBuf {
        self.dir.join("watch.json")
    }

    /// Appends `event`. A record that cannot be written is logged, never a reason to
    /// withhold a token.
    pub fn record(&self, event: &Event) {
        if let Err(e) = self.append(event) {
            tracing::warn!(error = %e, "could not add to the activity record");
        }
    }

    fn append(&self, event: &Event) -> Result<()> {
        let mut line = serde_json::to_vec(event)
            .map_err(|e| Error::UnexpectedResponse { what: "activity event", detail: e.to_string() })?;
        line.push(b'\n');
        crate::store::create_private_dir(&self.dir)?;
        let (path, new_file) = self.segment_for(day_of(event.at))?;
        let mut options = std::fs::File::options();
        options.append(true).create(true);
        crate::platform::files::file_access(&mut options, crate::platform::files::Visibility::Private);
        let mut file = options.open(&path).map_err(Error::io("open", &path))?;
        // Whole, at the end, whoever else is writing (one O_APPEND write on Unix).
        crate::platform::files::append_whole(&mut file, &self.dir, &line).map_err(Error::io("write", &path))?;
        if new_file {
            self.prune(event.at);
        }
        Ok(())
    }

    /// The file today's events go to, and whether it is new.
    fn segment_for(&self, day: String) -> Result<(PathBuf, bool)> {
        for n in 0..100 {
            let path = self.dir.join(segment_name(&day, n));
            match std::fs::metadata(&path) {
                Ok(meta) if meta.len() >= SEGMENT_BYTES && n < 99 => continue,
                Ok(_) => return Ok((path, false)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((path, true)),
                Err(e) => return Err(Error::io("read", &path)(e)),
            }
        }
        unreachable!("the loop returns by n = 99")
    }

    /// The record's files, oldest first, with their sizes.
    fn segments(&self) -> Vec<(PathBuf, String, u64)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut out: Vec<(PathBuf, String, u64)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                parse_segment_name(&name)?;
                let size = e.metadata().ok()?.len();
                Some((e.path(), name, size))
            })
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    }

    /// Deletes the files past [`RETENTION_DAYS`], then the oldest until the record
    /// leaves room for the newest file to fill up within [`MAX_BYTES`] (the newest file
    /// always stays), and acknowledged anomalies past the retention.
    pub fn prune(&self, now: Timestamp) {
        let cutoff = day_of(now.plus_secs(-RETENTION_DAYS * DAY));
        let mut kept = Vec::new();
        for (path, name, size) in self.segments() {
            let old = parse_segment_name(&name).is_some_and(|day| day < cutoff.as_str());
            if old {
                remove(&path);
            } else {
                kept.push((path, size));
            }
        }
        let mut total: u64 = kept.iter().map(|k| k.1).sum();
        for (path, size) in kept.iter().take(kept.len().saturating_sub(1)) {
            if total <= MAX_BYTES - SEGMENT_BYTES {
                break;
            }
            remove(path);
            total -= size;
        }
        let oldest = now.plus_secs(-RETENTION_DAYS * DAY);
        let stale = |a: &Anomaly| a.acknowledged && a.at < oldest;
        if self.load_watch().anomalies.iter().any(stale)
            && let Err(e) = self.update_watch(|w| w.anomalies.retain(|a| !stale(a)))
        {
            tracing::warn!(error = %e, "could not prune the anomalies");
        }
    }

    /// Events matching `filter` within the retention, oldest first.
    pub fn events(&self, filter: &Filter, now: Timestamp) -> Vec<Event> {
        let oldest = now.plus_secs(-RETENTION_DAYS * DAY);
        let since = filter.since.map_or(oldest, |s| s.max(oldest));
        let first_day = day_of(since);
        let mut events = Vec::new();
        for (path, name, _) in self.segments() {
            if parse_segment_name(&name).is_some_and(|day| day < first_day.as_str()) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            events.extend(
                parse_lines(&text).filter(|e| e.at >= since && e.at <= now && filter.keeps_account(&e.account)),
            );
        }
        // Files are per day, lines in the order written: sorting keeps that order for
        // equal times.
        events.sort_by_key(|e| e.at);
        events
    }

    /// Hand-outs for `account` at or after `since` (within the last day), counted
    /// backwards from the end of the newest files: a few stats and one read of the
    /// file's tail, however large the record.
    fn handouts_since(&self, account: &str, since: Timestamp, now: Timestamp) -> usize {
        const TAIL: u64 = 64 * 1024;
        let mut files = Vec::new();
        let mut days = vec![day_of(now)];
        if day_of(since) != days[0] {
            days.insert(0, day_of(since));
        }
        for day in &days {
            for n in 0..100 {
                let path = self.dir.join(segment_name(day, n));
                match std::fs::metadata(&path) {
                    Ok(meta) => files.push((path, meta.len())),
                    Err(_) => break,
                }
            }
        }
        let account_field = format!(r#""account":{}"#, serde_json::Value::from(account));
        let mut count = 0;
        for (path, size) in files.iter().rev() {
            let Ok(mut file) = std::fs::File::open(path) else { continue };
            let start = size.saturating_sub(TAIL);
            let mut text = String::new();
            if file.seek(std::io::SeekFrom::Start(start)).is_err() || file.read_to_string(&mut text).is_err() {
                continue;
            }
            // Newest first; a line cut at the start of the tail is skipped. Lines are
            // looked at, not parsed: this runs on every hand-out, and a burst means
            // many lines within the minute.
            for line in text.lines().rev() {
                let Some(at) = line.strip_prefix(r#"{"at":""#).and_then(|rest| rest.get(..20)) else { continue };
                let Some(at) = Timestamp::parse_rfc3339(at) else { continue };
                if at < since {
                    return count;
                }
                let served = line.contains(r#""kind":"handout""#) && !line.contains(r#""outcome":"failed""#);
                if served && line.contains(&account_field) && line.ends_with('}') {
                    count += 1;
                }
            }
            if start > 0 {
                // A minute of hand-outs larger than the tail: count what it holds.
                return count;
            }
        }
        count
    }

    fn load_watch(&self) -> WatchFile {
        match std::fs::read(self.watch_file()) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the activity watch file is damaged; starting it again");
                WatchFile::default()
            }),
            Err(_) => WatchFile::default(),
        }
    }

    fn update_watch<T>(&self, change: impl FnOnce(&mut WatchFile) -> T) -> Result<T> {
        let _lock = FileLock::exclusive(&self.lock_path)?;
        let mut watch = self.load_watch();
        let out = change(&mut watch);
        watch.version = 1;
        let bytes = serde_json::to_vec_pretty(&watch)
            .map_err(|e| Error::UnexpectedResponse { what: "activity watch file", detail: e.to_string() })?;
        crate::store::write_atomically(&self.watch_file(), &bytes)?;
        Ok(out)
    }

    /// Every anomaly kept, oldest first.
    pub fn anomalies(&self) -> Vec<Anomaly> {
        self.load_watch().anomalies
    }

    /// The anomalies not acknowledged yet, for `account` or all.
    pub fn open_anomalies(&self, account: Option<&str>) -> Vec<Anomaly> {
        let mut all = self.anomalies();
        all.retain(|a| !a.acknowledged && account.is_none_or(|id| a.account == id));
        all
    }

    /// Acknowledges the anomaly `id`, or all of `account`'s, or all; returns how many.
    pub fn acknowledge(&self, id: Option<&str>, account: Option<&str>, now: Timestamp) -> Result<usize> {
        self.update_watch(|w| {
            let mut n = 0;
            for a in w.anomalies.iter_mut().filter(|a| !a.acknowledged) {
                if id.is_none_or(|id| a.id == id) && account.is_none_or(|acc| a.account == acc) {
                    a.acknowledged = true;
                    a.acknowledged_at = Some(now.to_rfc3339());
                    n += 1;
                }
            }
            n
        })
    }

    /// Marks anomalies as shown in a notification.
    pub fn mark_notified(&self, ids: &[String]) -> Result<()> {
        self.update_watch(|w| {
            for a in w.anomalies.iter_mut().filter(|a| ids.contains(&a.id)) {
                a.notified = true;
            }
        })
    }

    /// Adds `anomaly` unless `same` finds it already raised; returns it if added.
    fn raise(&self, anomaly: Anomaly, same: impl Fn(&Anomaly) -> bool) -> Option<Anomaly> {
        // Looked at without the lock first: during a burst every hand-out gets here.
        if self.load_watch().anomalies.iter().any(&same) {
            return None;
        }
        let result = self.update_watch(|w| {
            if w.anomalies.iter().any(&same) {
                return None;
            }
            w.anomalies.push(anomaly.clone());
            Some(anomaly)
        });
        match result {
            Ok(raised) => {
                if let Some(a) = &raised {
                    tracing::warn!(account = %a.account, code = %a.code, "anomaly: {}", a.message);
                }
                raised
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not record an anomaly");
                None
            }
        }
    }

    /// Whether `program` was seen getting a token for `account` before; remembers it.
    /// Read without the lock first: a known program costs one small read.
    pub(crate) fn learn_program(&self, account: &str, program: &Program, now: Timestamp) -> Result<bool> {
        let known = |w: &WatchFile| w.programs.get(account).is_some_and(|p| p.iter().any(|k| k.key == program.key()));
        if known(&self.load_watch()) {
            return Ok(false);
        }
        self.update_watch(|w| {
            if known(w) {
                return false;
            }
            w.programs.entry(account.to_string()).or_default().push(KnownProgram {
                key: program.key().to_string(),
                name: program.name.clone(),
                first_seen: now,
            });
            true
        })
    }

    /// The report `spotoken activity --json` prints.
    pub fn report(&self, filter: &Filter, now: Timestamp) -> ActivityReport {
        let mut anomalies = self.anomalies();
        anomalies.retain(|a| {
            filter.keeps_account(&a.account) && (!a.acknowledged || filter.since.is_none_or(|s| a.at >= s))
        });
        ActivityReport { version: ACTIVITY_VERSION, events: self.events(filter, now), anomalies }
    }
}

fn day_of(at: Timestamp) -> String {
    at.to_rfc3339()[..10].to_string()
}

fn segment_name(day: &str, n: u32) -> String {
    format!("events-{day}-{n:02}.jsonl")
}

/// The day of a record file's name, if it is one.
fn parse_segment_name(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("events-")?.strip_suffix(".jsonl")?;
    let (day, n) = rest.split_at_checked(10)?;
    let n = n.strip_prefix('-')?;
    (n.len() == 2
        && n.bytes().all(|b| b.is_ascii_digit())
        && Timestamp::parse_rfc3339(&format!("{day}T00:00:00Z")).is_some())
    .then_some(day)
}

/// The lines that parse; a line cut by a concurrent write or a crash is skipped.
pub(crate) fn parse_lines(text: &str) -> impl Iterator<Item = Event> + '_ {
    text.lines().filter_map(|line| serde_json::from_str(line).ok())
}

fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, path = %path.display(), "could not prune the activity record");
    }
}

#[cfg(test)]
mod tests;
