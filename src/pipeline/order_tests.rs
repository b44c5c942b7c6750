//! The order commit → state → delete under injected failures, recorded by
//! the in-memory store, whose log orders the sink's commits against the
//! source's deletions when one store plays both roles.
//!
//! - A message the sink refuses at commit is neither recorded nor deleted,
//!   alongside duplicates and stored messages of the same batch, and stays
//!   so over a rerun (`a_refused_message…` in the pipeline's own tests
//!   covers the plain case).
//! - A commit that fails as a whole (the destination failed) records
//!   nothing of its batch and deletes nothing, while earlier commits of the
//!   folder stay recorded.
//! - A state that cannot be written (a full disk, simulated by a trigger
//!   that makes SQLite refuse the rows) stops the folder after the sink's
//!   commit and before any deletion; the next run finds the messages at the
//!   destination by fingerprint, records them, and only then deletes.

use std::path::PathBuf;

use super::connect::Stores;
use super::folder::{FolderCopy, FolderDone};
use super::*;
use crate::checkpoint::JobKey;
use crate::endpoint::Endpoint;
use crate::job::FolderSelection;
use crate::message::Flags;
use crate::store::memory::{Held, Logged, Memory, FAIL_COMMIT_HEADER, REJECT_HEADER};
use crate::store::{Access, AnySink, AnySource, SourceOptions};

fn folder(name: &str) -> FolderName {
    FolderName::parse(name).unwrap()
}

fn raw(id: u32) -> String {
    format!("Message-ID: <{id}@order.example>\nSubject: {id}\n\nbody {id}\n")
}

fn with_header(header: &str, id: u32) -> String {
    format!("{header}\n{}", raw(id))
}

/// A job between memory stores (deleting at the source when `delete`);
/// its endpoints are never opened. The state lives in a directory of its
/// own. The pipeline's other tests use it too.
pub(super) fn memory_job(tag: &str, delete: bool) -> Job {
    let dir = std::env::temp_dir().join(format!("mailtug-pipeline-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Job {
        source: Endpoint::Maildir(dir.join("source")),
        destination: Endpoint::Maildir(dir.join("destination")),
        source_access: Access::default(),
        destination_access: Access::default(),
        folders: FolderSelection::new(&[], &[], &[]).unwrap(),
        dedup: true,
        dry_run: false,
        plan_max_size: None,
        jobs: 1,
        retries: 0,
        special_use_map: true,
        source_options: SourceOptions {
            dedup: true,
            delete,
            ..SourceOptions::default()
        },
        key: JobKey {
            source: "memory:source".into(),
            destination: "memory:destination".into(),
            options: Vec::new(),
        },
        mirror: None,
        checkpoint_path: dir.join("state.sqlite"),
        legacy_checkpoint: None,
        max_bytes_per_second: None,
        max_messages_per_second: None,
        src_daily_bytes: None,
        dst_daily_bytes: None,
        presets: Default::default(),
    }
}

fn state_dir(job: &Job) -> PathBuf {
    job.checkpoint_path.parent().unwrap().to_path_buf()
}

pub(super) fn shared_for(job: &Job) -> Shared {
    open_shared(job).0
}

/// The job's state behind its writer, and the writer's thread, which ends
/// (closing the file) once every handle is dropped.
fn open_shared(job: &Job) -> (Shared, crate::state::WriterThread) {
    let state = State::open(&job.checkpoint_path, None, &job.key).unwrap();
    let (state, thread) = StateWriter::spawn(state).unwrap();
    let shared = Shared {
        state,
        in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_BYTES as usize)),
        deferred: std::sync::Mutex::new(Vec::new()),
        results: std::sync::Mutex::new(Vec::new()),
        meters: Default::default(),
        labels: Default::default(),
    };
    (shared, thread)
}

/// Runs `sql` on the job's state file while no run has it open (a run
/// holds it exclusively).
fn alter_state(job: &Job, sql: &str) {
    rusqlite::Connection::open(&job.checkpoint_path)
        .and_then(|conn| conn.execute_batch(sql))
        .unwrap();
}

/// Copies one folder between memory stores, as a worker would. The
/// pipeline's other tests use it too.
pub(super) async fn copy_memory(
    job: &Job,
    source: &Memory,
    sink: &Memory,
    (from, to): (&str, &str),
    shared: &Shared,
) -> Result<FolderDone> {
    let mut stores = Stores::new(AnySource::from(source.clone()), AnySink::from(sink.clone()));
    let (_stop, mut stopped) = watch::channel(false);
    let mut committed = Counts::default();
    let (from, to) = (folder(from), folder(to));
    let progress = Progress::new(1);
    let mut copy = FolderCopy {
        job,
        shared,
        progress: &progress,
        stop: &mut stopped,
        folder: &from,
        destination: &to,
        destination_unsettled: false,
    };
    copy.run(&mut stores, &mut committed).await
}

/// Copies INBOX into Backup within one memory store.
async fn copy_inbox(job: &Job, store: &Memory, shared: &Shared) -> Result<FolderDone> {
    copy_memory(job, store, store, ("INBOX", "Backup"), shared).await
}

/// The source keys the state records for INBOX, with where each went.
async fn recorded_rows(shared: &Shared) -> Vec<(serde_json::Value, serde_json::Value)> {
    shared
        .state
        .call(|state| state.messages(&folder("INBOX")))
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.source_key, row.destination_key))
        .collect()
}

fn uids(held: Option<Vec<Held>>) -> Vec<u32> {
    held.unwrap_or_default().iter().map(|m| m.uid).collect()
}

#[tokio::test]
async fn refused_duplicate_and_stored_messages_of_one_batch_are_recorded_and_deleted_apart() {
    let job = memory_job("refused", true);
    // Backup already holds message 2: it is a duplicate, found by
    // fingerprint, recorded without a destination key, and deleted.
    let store = Memory::new()
        .with_folder(
            "INBOX",
            &[
                (&raw(1), Flags::default()),
                (&raw(2), Flags::default()),
                (&with_header(REJECT_HEADER, 3), Flags::default()),
                (&raw(4), Flags::default()),
            ],
        )
        .with_folder("Backup", &[(&raw(2), Flags::default())]);
    let shared = shared_for(&job);

    let done = copy_inbox(&job, &store, &shared).await.unwrap();
    assert!(done.error.is_none(), "{:?}", done.error);
    assert_eq!(
        (
            done.counts.messages_copied,
            done.counts.messages_duplicate,
            done.counts.messages_failed
        ),
        (2, 1, 1)
    );
    // The refused message sat between the two stored ones: their
    // destination keys must not shift onto each other.
    assert_eq!(
        recorded_rows(&shared).await,
        [
            (serde_json::json!(1), serde_json::json!(2)),
            (serde_json::json!(2), serde_json::Value::Null),
            (serde_json::json!(4), serde_json::json!(3)),
        ]
    );
    assert_eq!(
        store.log(),
        [
            Logged::Committed(folder("Backup"), vec![2, 3]),
            Logged::Deleted(folder("INBOX"), vec![1, 2, 4]),
        ]
    );
    assert_eq!(uids(store.messages("INBOX")), [3]);

    // A rerun meets the refusal again: still not recorded, still not deleted.
    let again = copy_inbox(&job, &store, &shared).await.unwrap();
    assert_eq!(again.counts.messages_failed, 1);
    assert_eq!(
        store.log()[2..],
        [Logged::Committed(folder("Backup"), vec![])],
        "the rerun commits nothing and deletes nothing"
    );
    assert_eq!(uids(store.messages("INBOX")), [3]);
    assert_eq!(recorded_rows(&shared).await.len(), 3);
    let _ = std::fs::remove_dir_all(state_dir(&job));
}

#[tokio::test]
async fn a_failed_commit_records_nothing_of_its_batch_and_deletes_nothing() {
    let job = memory_job("failed-commit", true);
    // One full batch commits; the next holds a message that fails its commit.
    let count = COMMIT_EVERY_MESSAGES as u32 + 1;
    let messages: Vec<String> = (1..=count)
        .map(|id| match id {
            id if id == count => with_header(FAIL_COMMIT_HEADER, id),
            id => raw(id),
        })
        .collect();
    let listed: Vec<(&str, Flags)> = messages
        .iter()
        .map(|m| (m.as_str(), Flags::default()))
        .collect();
    let store = Memory::new().with_folder("INBOX", &listed);
    let shared = shared_for(&job);

    let error = copy_inbox(&job, &store, &shared)
        .await
        .err()
        .expect("the destination failed: the folder's copy fails");
    assert!(
        format!("{error:#}").contains("the memory store failed the commit"),
        "{error:#}"
    );
    let log = store.log();
    assert_eq!(
        log.last(),
        Some(&Logged::CommitFailed(folder("Backup"))),
        "{log:?}"
    );
    assert!(
        !log.iter().any(|l| matches!(l, Logged::Deleted(..))),
        "nothing is deleted after a failed commit: {log:?}"
    );
    // What earlier commits stored is recorded, exactly that, and the
    // failed batch is not.
    let stored: Vec<u32> = log
        .iter()
        .filter_map(|l| match l {
            Logged::Committed(_, uids) => Some(uids.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let rows = recorded_rows(&shared).await;
    assert_eq!(rows.len(), stored.len());
    assert!(
        rows.len() < count as usize,
        "the failed batch is not recorded"
    );
    assert_eq!(uids(store.messages("Backup")), stored);
    assert_eq!(
        store.messages("INBOX").unwrap().len(),
        count as usize,
        "the source keeps everything"
    );
    let _ = std::fs::remove_dir_all(state_dir(&job));
}

#[tokio::test]
async fn a_state_that_cannot_be_written_stops_the_folder_before_anything_is_deleted() {
    let job = memory_job("state-full", true);
    let store = Memory::new().with_folder(
        "INBOX",
        &[
            (&raw(1), Flags::default()),
            (&raw(2), Flags::default()),
            (&raw(3), Flags::default()),
        ],
    );
    // SQLite refuses every message row, as a full disk would; the folder
    // row still saves, so the failure comes where the commit's batch is
    // recorded.
    drop(State::open(&job.checkpoint_path, None, &job.key).unwrap());
    alter_state(
        &job,
        "CREATE TRIGGER full BEFORE INSERT ON messages \
         BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;",
    );
    let (shared, thread) = open_shared(&job);

    let error = copy_inbox(&job, &store, &shared)
        .await
        .err()
        .expect("a state that cannot be written fails the copy");
    assert!(format!("{error:#}").contains("disk is full"), "{error:#}");
    assert_eq!(
        store.log(),
        [Logged::Committed(folder("Backup"), vec![1, 2, 3])],
        "committed at the destination, and nothing deleted"
    );
    assert_eq!(uids(store.messages("INBOX")), [1, 2, 3]);
    assert_eq!(recorded_rows(&shared).await, []);

    // Writable again: the next run finds all three at the destination by
    // fingerprint, stores nothing twice, records them, then deletes them.
    drop(shared);
    thread.join().await;
    alter_state(&job, "DROP TRIGGER full;");
    let shared = shared_for(&job);
    let done = copy_inbox(&job, &store, &shared).await.unwrap();
    assert!(done.error.is_none(), "{:?}", done.error);
    assert_eq!(done.counts.messages_duplicate, 3);
    assert_eq!(
        store.log()[1..],
        [
            Logged::Committed(folder("Backup"), vec![]),
            Logged::Deleted(folder("INBOX"), vec![1, 2, 3]),
        ]
    );
    assert_eq!(recorded_rows(&shared).await.len(), 3);
    assert_eq!(uids(store.messages("Backup")), [1, 2, 3]);
    assert_eq!(uids(store.messages("INBOX")), Vec::<u32>::new());
    let _ = std::fs::remove_dir_all(state_dir(&job));
}
