//! Replacing the process waits for token work: its own test binary, since the guards
//! are process-wide.

use spotoken_core::shutdown::{WorkGuard, quiesce};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn quiesce_waits_for_work_and_holds_new_work_back_until_given_up() {
    let work = WorkGuard::enter();
    assert!(quiesce().is_none(), "quiesced while a refresh was under way");
    drop(work);

    let quiet = quiesce().expect("nothing under way, yet not quiet");
    assert!(quiesce().is_none(), "two could quiesce at once");
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _work = WorkGuard::enter();
        tx.send(()).unwrap();
    });
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "work started while quiet");
    drop(quiet);
    rx.recv_timeout(Duration::from_secs(5)).expect("work stayed held after the attempt was given up");
    worker.join().unwrap();
    assert!(quiesce().is_some());
}
