//! `mailtug mirror` from an mbox file: flags another program changed in the
//! file's headers follow at the destination, and so do deletions, which a
//! mail reader makes by rewriting the file: the rewritten file is another
//! instance of the folder, whose messages are found again by fingerprint.

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

#[test]
fn a_rewritten_mbox_is_matched_again_by_fingerprint_and_only_what_left_is_deleted() {
    let env = TestEnv::new();
    fs::write(env.path("src.mbox"), SOURCE).unwrap();
    assert_exit(&mirror(&env), 0);

    // A mail reader deletes message 2 and marks message 3 read: every
    // offset after the first message moves.
    let rewritten = "\
From a@b Thu Jan  1 00:00:00 2024\nStatus: RO\nMessage-ID: <1@mbox.example>\nSubject: 1\n\none\n\n\
From a@b Thu Jan  1 00:00:00 2024\nStatus: RO\nMessage-ID: <3@mbox.example>\nSubject: 3\n\nthree\n";
    fs::write(env.path("src.mbox"), rewritten).unwrap();
    let (from, to) = (
        env.endpoint("mbox", "src.mbox"),
        env.endpoint("maildir", "dst"),
    );
    let output = env.run(&["mirror", "--json", "--delete", &from, &to]);
    assert_exit(&output, 0);
    let events = json_events(&output);
    let done = summary(&events);
    assert_eq!(
        count(done, "messages_copied"),
        0,
        "nothing downloaded again"
    );
    assert_eq!(count(done, "messages_deleted"), 1);
    assert_eq!(count(done, "flags_updated"), 1);
    assert!(events_of(&events, "deleted")[0]["key"].is_null());
    assert_eq!(
        destination(&env.path("dst")),
        [(1, "S".into()), (3, "S".into())]
    );
    // And the new instance is mirrored from now on.
    let output = mirror(&env);
    assert_exit(&output, 0);
    assert_eq!(count(summary(&json_events(&output)), "flags_updated"), 0);
}
