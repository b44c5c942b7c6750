//! `mailtug mirror` from an mbox file: flags another program changed in the
//! file's headers follow at the destination.
//!
//! Deletions are not tested here: a message leaves an mbox only by a
//! rewrite of the file, which makes it shorter or moves the last recorded
//! message, and `open` takes such a file for a replaced folder (its state
//! is forgotten and its messages are found again by dedup), so nothing of
//! the old file is left to delete.

use std::fs;
use std::process::Output;

use super::destination;
use crate::util::{assert_exit, count, events_of, json_events, summary, TestEnv};

/// Three messages: the first read, the other two seen but unread.
const SOURCE: &str = "\
From a@b Thu Jan  1 00:00:00 2024\nStatus: RO\nMessage-ID: <1@mbox.example>\nSubject: 1\n\none\n\n\
From a@b Thu Jan  1 00:00:00 2024\nStatus: O\nMessage-ID: <2@mbox.example>\nSubject: 2\n\ntwo\n\n\
From a@b Thu Jan  1 00:00:00 2024\nStatus: O\nMessage-ID: <3@mbox.example>\nSubject: 3\n\nthree\n";

fn mirror(env: &TestEnv) -> Output {
    let (from, to) = (
        env.endpoint("mbox", "src.mbox"),
        env.endpoint("maildir", "dst"),
    );
    env.run(&["mirror", "--json", &from, &to])
}

#[test]
fn a_flag_changed_in_an_mbox_header_follows_at_the_destination() {
    let env = TestEnv::new();
    fs::write(env.path("src.mbox"), SOURCE).unwrap();
    let output = mirror(&env);
    assert_exit(&output, 0);
    assert_eq!(count(summary(&json_events(&output)), "messages_copied"), 3);
    assert_eq!(
        destination(&env.path("dst")),
        [(1, "S".into()), (2, "".into()), (3, "".into())]
    );

    // The middle message is read. `Status: R` is as long as `Status: O`, so
    // every message keeps its offset, as the state knows them by it; a
    // longer header would move the last one, and the file would be taken
    // for a replaced one.
    let read = SOURCE.replacen(
        "Status: O\nMessage-ID: <2@",
        "Status: R\nMessage-ID: <2@",
        1,
    );
    assert_eq!(read.len(), SOURCE.len());
    fs::write(env.path("src.mbox"), read).unwrap();
    let output = mirror(&env);
    assert_exit(&output, 0);
    let events = json_events(&output);
    assert_eq!(count(summary(&events), "flags_updated"), 1);
    assert_eq!(count(summary(&events), "messages_copied"), 0);
    let updated = events_of(&events, "flags_updated")[0];
    assert_eq!(
        updated["key"],
        serde_json::json!({"offset": {"start": 91, "end": 181}})
    );
    assert_eq!(updated["flags"], "\\Seen");
    assert_eq!(
        destination(&env.path("dst")),
        [(1, "S".into()), (2, "S".into()), (3, "".into())]
    );

    let output = mirror(&env);
    assert_exit(&output, 0);
    assert_eq!(
        count(summary(&json_events(&output)), "flags_updated"),
        0,
        "flags already follow"
    );
}
