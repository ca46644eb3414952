//! Asking the person before a program never seen for an account gets a token from
//! `spotoken token` (a per-account setting).
//!
//! The command line cannot show a dialog of its own, so it asks the running app: it
//! drops `request-<id>.json` into the activity folder, which the app watches, and waits
//! for `answer-<id>.json`. The app holds `asker.lock` (a `flock`) for as long as it
//! runs; when nobody holds it, nobody can answer, and the command fails at once rather
//! than hang a script.

use super::{Activity, Program};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, TryLockError};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long `spotoken token` waits for an answer.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(60);

/// A program waiting to be allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: String,
    #[serde(with = "super::rfc3339")]
    pub at: Timestamp,
    pub account: String,
    pub program: Program,
}

/// The person's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// This hand-out only; the next one asks again.
    AllowOnce,
    /// From now on: the program is known for the account.
    Always,
    Deny,
}

/// Held by the app while it can ask; released when dropped (or when the app dies).
#[derive(Debug)]
pub struct Asker {
    _file: File,
}

impl Activity {
    fn asker_lock(&self) -> PathBuf {
        self.lock_path.with_file_name("asker.lock")
    }

    /// Takes the asker's lock, for the life of the app.
    pub fn hold_asker(&self) -> Result<Asker> {
        let path = self.asker_lock();
        if let Some(dir) = path.parent() {
            crate::store::create_private_dir(dir)?;
        }
        let file = crate::store::open_private(&path).map_err(Error::io("open", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(Asker { _file: file }),
            Err(TryLockError::WouldBlock) => {
                Err(Error::io("lock", &path)(std::io::Error::other("another Spotoken app holds it")))
            }
            Err(TryLockError::Error(e)) => Err(Error::io("lock", &path)(e)),
        }
    }

    /// Whether an app is running to answer.
    fn asker_present(&self) -> bool {
        let Ok(file) = File::open(self.asker_lock()) else { return false };
        matches!(file.try_lock(), Err(TryLockError::WouldBlock))
    }

    /// Whether `program` has got a token for `account` before (or was allowed always).
    pub fn is_known(&self, account: &str, program: &Program) -> bool {
        self.load_watch().programs.get(account).is_some_and(|p| p.iter().any(|k| k.key == program.key()))
    }

    /// Asks the running app whether `program` may have `account`'s token; waits up to
    /// `timeout` for the answer.
    pub async fn ask(&self, account: &str, program: &Program, now: Timestamp, timeout: Duration) -> Result<Decision> {
        if !self.asker_present() {
            return Err(Error::ApprovalUnavailable {
                program: program.describe(),
                why: "the Spotoken app is not running to ask you".into(),
            });
        }
        let id = format!("{:016x}", crate::store::unpredictable());
        let request = Request { id: id.clone(), at: now, account: account.to_string(), program: program.clone() };
        let bytes = serde_json::to_vec(&request)
            .map_err(|e| Error::UnexpectedResponse { what: "approval request", detail: e.to_string() })?;
        let (asked, answered) =
            (self.dir.join(format!("request-{id}.json")), self.dir.join(format!("answer-{id}.json")));
        crate::store::write_atomically(&asked, &bytes)?;
        tracing::info!(program = %program.describe(), "asking the app whether the program may have a token");
        let started = Instant::now();
        let result = loop {
            if let Ok(bytes) = std::fs::read(&answered) {
                break serde_json::from_slice::<Decision>(&bytes)
                    .map_err(|e| Error::UnexpectedResponse { what: "approval answer", detail: e.to_string() });
            }
            if started.elapsed() >= timeout {
                break Err(Error::ApprovalUnavailable {
                    program: program.describe(),
                    why: format!("nobody answered in the Spotoken window within {} s", timeout.as_secs()),
                });
            }
            if !self.asker_present() {
                break Err(Error::ApprovalUnavailable {
                    program: program.describe(),
                    why: "the Spotoken app quit before you answered".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let _ = std::fs::remove_file(&asked);
        let _ = std::fs::remove_file(&answered);
        result
    }

    /// The requests waiting for an answer, oldest first; ones older than
    /// [`ASK_TIMEOUT`] (their asker has given up) are removed.
    pub fn pending_requests(&self, now: Timestamp) -> Vec<Request> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut out: Vec<Request> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("request-") && name.ends_with(".json")) {
                continue;
            }
            let Some(request) =
                std::fs::read(entry.path()).ok().and_then(|b| serde_json::from_slice::<Request>(&b).ok())
            else {
                continue;
            };
            let answered = self.dir.join(format!("answer-{}.json", request.id)).exists();
            if request.at.secs_after(now) < -(ASK_TIMEOUT.as_secs() as i64) - 5 {
                let _ = std::fs::remove_file(entry.path());
            } else if !answered {
                out.push(request);
            }
        }
        out.sort_by_key(|r| r.at);
        out
    }

    /// Answers request `id`; `Always` makes its program known for the account.
    pub fn answer(&self, id: &str, decision: Decision, now: Timestamp) -> Result<()> {
        if !id.bytes().all(|b| b.is_ascii_hexdigit()) || id.is_empty() {
            return Err(Error::UnexpectedResponse { what: "approval answer", detail: "not a request id".into() });
        }
        let request =
            self.pending_requests(now).into_iter().find(|r| r.id == id).ok_or_else(|| Error::ApprovalUnavailable {
                program: "the program".into(),
                why: "that request is no longer waiting".into(),
            })?;
        if decision == Decision::Always {
            self.learn_program(&request.account, &request.program, now)?;
        }
        let bytes = serde_json::to_vec(&decision)
            .map_err(|e| Error::UnexpectedResponse { what: "approval answer", detail: e.to_string() })?;
        crate::store::write_atomically(&self.dir.join(format!("answer-{id}.json")), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> (tempfile::TempDir, Activity) {
        let dir = tempfile::tempdir().unwrap();
        let activity = Activity::new(dir.path().join("activity"), dir.path().join("state/activity.lock"));
        (dir, activity)
    }

    fn python() -> Program {
        Program { name: "python3".into(), path: Some("/usr/bin/python3".into()) }
    }

    #[tokio::test]
    async fn with_no_app_to_ask_the_answer_is_at_once_no() {
        let (_dir, activity) = record();
        let started = Instant::now();
        let result = activity.ask("ann", &python(), Timestamp(100), ASK_TIMEOUT).await;
        assert!(matches!(result, Err(Error::ApprovalUnavailable { ref why, .. }) if why.contains("not running")));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_app_answers_and_always_makes_the_program_known() {
        let (_dir, activity) = record();
        let asker = activity.hold_asker().unwrap();
        assert!(activity.hold_asker().is_err(), "one app asks at a time");
        for decision in [Decision::AllowOnce, Decision::Deny, Decision::Always] {
            let app = activity.clone();
            let answering = std::thread::spawn(move || {
                let started = Instant::now();
                loop {
                    if let Some(r) = app.pending_requests(Timestamp(100)).first() {
                        assert_eq!((r.account.as_str(), r.program.name.as_str()), ("ann", "python3"));
                        app.answer(&r.id, decision, Timestamp(100)).unwrap();
                        return;
                    }
                    assert!(started.elapsed() < Duration::from_secs(5), "no request came");
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
            let got = activity.ask("ann", &python(), Timestamp(100), ASK_TIMEOUT).await.unwrap();
            answering.join().unwrap();
            assert_eq!(got, decision);
            assert_eq!(activity.is_known("ann", &python()), decision == Decision::Always);
            assert!(activity.pending_requests(Timestamp(100)).is_empty(), "request and answer are cleaned up");
        }
        // Nobody answering: the asker gives up after its timeout.
        let result = activity.ask("ann", &python(), Timestamp(100), Duration::from_millis(300)).await;
        assert!(matches!(result, Err(Error::ApprovalUnavailable { ref why, .. }) if why.contains("nobody answered")));
        drop(asker);
        let result = activity.ask("ann", &python(), Timestamp(100), ASK_TIMEOUT).await;
        assert!(matches!(result, Err(Error::ApprovalUnavailable { .. })));
    }

    #[test]
    fn an_answer_needs_a_waiting_request() {
        let (_dir, activity) = record();
        assert!(activity.answer("../../etc", Decision::Always, Timestamp(0)).is_err());
        assert!(activity.answer("abcdef", Decision::Always, Timestamp(0)).is_err());
    }

    #[test]
    fn pending_requests_are_the_unanswered_ones_under_a_minute_old_by_their_file_names() {
        let (_dir, activity) = record();
        std::fs::create_dir_all(&activity.dir).unwrap();
        let now = Timestamp(1_000);
        let write = |file: &str, id: &str, age: i64| {
            let request = Request { id: id.into(), at: now.plus_secs(-age), account: "ann".into(), program: python() };
            std::fs::write(activity.dir.join(file), serde_json::to_vec(&request).unwrap()).unwrap();
        };
        write("request-0a.json", "0a", 30);
        write("request-0b.json", "0b", 10);
        std::fs::write(activity.dir.join("answer-0b.json"), b"\"deny\"").unwrap();
        // Its asker gave up 60 s after asking; 5 s more for clocks.
        write("request-0c.json", "0c", 60);
        write("request-0d.json", "0d", 65);
        write("request-0e.json", "0e", 66);
        write("request-0f.json", "0f", 100);
        // Only request-….json files are requests.
        write("request-10.txt", "10", 1);
        write("answer-11.json", "11", 1);
        write("other-12.json", "12", 1);
        let ids: Vec<String> = activity.pending_requests(now).into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["0d", "0c", "0a"]);
        assert!(!activity.dir.join("request-0e.json").exists() && !activity.dir.join("request-0f.json").exists());
        assert!(activity.dir.join("request-0b.json").exists(), "an answered request is its asker's to remove");
    }

    #[test]
    fn an_answer_needs_a_request_id_made_of_hex_digits() {
        let (_dir, activity) = record();
        for id in ["", "../x", "0a/", "zz"] {
            let e = activity.answer(id, Decision::Deny, Timestamp(0)).unwrap_err();
            assert!(matches!(e, Error::UnexpectedResponse { .. }), "{id:?}: {e:?}");
        }
        let e = activity.answer("0a", Decision::Deny, Timestamp(0)).unwrap_err();
        assert!(matches!(e, Error::ApprovalUnavailable { .. }), "{e:?}");
    }
}
