//! A job's state in SQLite: one row per source message stored, one per folder.
//!
//! Invariant (the same as the JSON checkpoints this replaces): the state never
//! runs ahead of the destination. The pipeline hands a batch to [`State::record`]
//! only after the sink's `commit` returned, and a source message is deleted
//! only after the transaction that records it has committed. SQLite in WAL
//! mode with `synchronous = FULL` makes each commit durable with one append
//! and one fsync of the write-ahead log, so a commit costs what changed, not
//! the size of the mailbox.
//!
//! Each row keeps the source key (IMAP UID under the folder's UIDVALIDITY,
//! maildir unique name, mbox byte offset, POP3 UIDL), the fingerprint, where
//! the destination stored the message (IMAP APPENDUID, maildir file name,
//! mbox offset) and the flags as copied: what mirroring needs to update or
//! remove a copy later. The file is plain SQLite (`sqlite3 FILE .schema`);
//! its layout is documented in mailtug(1) under FILES.
//!
//! The state is written by one thread ([`StateWriter`]), so no async worker
//! ever waits on an fsync while holding a lock.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use futures_util::future::BoxFuture;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};
use tokio::sync::oneshot;

use crate::checkpoint::{Anchor, Checkpoint, Done, FolderProgress, JobKey, KeyPages, RecordedKeys};
use crate::checkpoint::{FolderIdentity, IndexCache, IndexMark};
use crate::durable;
use crate::exit::usage;
use crate::fingerprint::{self, Fingerprint};
use crate::folder::FolderName;
use crate::message::DestinationKey;
use crate::message::{Flags, SourceKey};
use crate::store::Location;

/// The layout of the state file this build reads and writes (`PRAGMA
/// user_version`). Format 1 was the JSON checkpoint, migrated on first use.
pub const FORMAT: i64 = 3;

/// What format 3 added to format 2: the folders' listing and mirror
/// stamps, and the messages set aside from replaced folders. A format 2
/// file gains them in place (a stamp that is not there only means one more
/// listing); so does a format 3 file written while format 3 was growing,
/// which lacks some of them.
const FORMAT_3_COLUMNS: [(&str, &str); 2] = [
    (
        "listing_stamp",
        "ALTER TABLE folders ADD COLUMN listing_stamp TEXT",
    ),
    (
        "mirror_stamp",
        "ALTER TABLE folders ADD COLUMN mirror_stamp TEXT",
    ),
];
const FORMAT_3_TABLES: &str = "CREATE TABLE IF NOT EXISTS set_aside (folder TEXT NOT NULL, \
     fingerprint TEXT NOT NULL, destination_folder TEXT NOT NULL, destination_key NOT NULL, \
     flags TEXT); \
     CREATE INDEX IF NOT EXISTS set_aside_by_fingerprint ON set_aside(folder, fingerprint);";

/// Brings a format 2 file, or an incomplete format 3 one, to format 3.
fn complete_format_3(conn: &Connection) -> rusqlite::Result<()> {
    let columns: Vec<String> = {
        let mut statement = conn.prepare("SELECT name FROM pragma_table_info('folders')")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let missing: Vec<_> = FORMAT_3_COLUMNS
        .iter()
        .filter(|(column, _)| !columns.iter().any(|c| c == column))
        .collect();
    let has_set_aside: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'set_aside_by_fingerprint'",
        [],
        |row| row.get(0),
    )?;
    let format: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if missing.is_empty() && has_set_aside && format == 3 {
        return Ok(());
    }
    let mut sql = String::from("BEGIN; ");
    for (_, add) in missing {
        sql.push_str(add);
        sql.push_str("; ");
    }
    sql.push_str(FORMAT_3_TABLES);
    sql.push_str(" PRAGMA user_version = 3; COMMIT;");
    conn.execute_batch(&sql)
}

/// Bytes each account moved, for the daily budgets (`--src-max-bytes-per-day`,
/// `--dst-max-bytes-per-day`): a row per commit and direction, dropped once
/// a day old. Created when first needed, so a state without budgets is the
/// same file as before.
const DAILY_BYTES: &str = "CREATE TABLE IF NOT EXISTS daily_bytes (
    account TEXT NOT NULL,              -- the endpoint, normalised (as in the job)
    direction TEXT NOT NULL,            -- download (SRC) | upload (DST)
    time INTEGER NOT NULL,              -- unix seconds
    bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS daily_bytes_by_account ON daily_bytes(account, direction, time);";

/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

const SCHEMA: &str = "
CREATE TABLE job (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    options TEXT NOT NULL,              -- JSON array of normalised options
    fingerprint_rules INTEGER NOT NULL, -- rules the fingerprints below were made by
    updated INTEGER NOT NULL            -- unix seconds of the last commit
);
CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,          -- source folder, `/`-separated
    kind TEXT NOT NULL,                 -- nothing | files | offsets | uids | uidls
    identity TEXT,                      -- JSON: inode or UIDVALIDITY of the instance
    uid_validity INTEGER,               -- IMAP
    uid_next INTEGER,                   -- IMAP: UIDNEXT after the last clean pass
    highest_modseq INTEGER,             -- IMAP with CONDSTORE
    through INTEGER NOT NULL DEFAULT 0, -- UIDs or mbox bytes all done below this
    anchor TEXT,                        -- mbox: JSON of the last message below `through`
    listing_stamp TEXT,                 -- maildir: listing stamp after the last clean pass
    mirror_stamp TEXT                   -- mirror: the source's stamp after the last clean mirror
);
CREATE TABLE messages (
    folder INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    source_key NOT NULL,                -- UID, mbox start offset (integers); file name, UIDL (text)
    source_end INTEGER,                 -- mbox: end offset
    fingerprint TEXT,                   -- NULL when migrated from a JSON checkpoint
    destination_folder TEXT,
    destination_key,                    -- APPENDUID UID, mbox offset (integers); maildir file (text)
    flags TEXT,                         -- IMAP syntax, as copied
    bytes INTEGER,                      -- size with CRLF line ends (older rows: as stored)
    stored INTEGER NOT NULL,            -- unix seconds it was first stored
    PRIMARY KEY (folder, source_key)
) WITHOUT ROWID;
CREATE TABLE destination_indexes (
    folder TEXT PRIMARY KEY,            -- destination folder
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL
);
CREATE TABLE destination_fingerprints (
    folder TEXT NOT NULL REFERENCES destination_indexes(folder) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL
);
CREATE INDEX destination_fingerprints_by_folder ON destination_fingerprints(folder);
CREATE TABLE set_aside (
    folder TEXT NOT NULL,               -- source folder whose instance was replaced
    fingerprint TEXT NOT NULL,
    destination_folder TEXT NOT NULL,   -- where the message was stored
    destination_key NOT NULL,
    flags TEXT                          -- as last given to the destination
);
CREATE INDEX set_aside_by_fingerprint ON set_aside(folder, fingerprint);
";

/// One message the destination has made durable, ready to be recorded.
#[derive(Clone, Debug)]
pub struct Stored {
    pub key: SourceKey,
    pub fingerprint: Fingerprint,
    pub destination_folder: FolderName,
    /// `None` for a duplicate (nothing stored) or a store that names no key.
    pub destination_key: Option<DestinationKey>,
    /// The flags it was stored with; `None` when not known (a copy a
    /// killed run stored, found again).
    pub flags: Option<Flags>,
    pub bytes: u64,
}

/// A folder's row as stored, before its JSON columns are read.
struct FolderRow {
    kind: String,
    identity: Option<String>,
    through: i64,
    anchor: Option<String>,
    uid_next: Option<i64>,
    stamp: Option<String>,
    mirror_stamp: Option<String>,
}

/// A message recorded as copied, as a mirror reads it back.
#[derive(Clone, Debug, PartialEq)]
pub struct Copied {
    pub key: SourceKey,
    pub destination_folder: Option<FolderName>,
    /// `None` when the message was found already at the destination (dedup)
    /// or the destination names no key: a mirror cannot reach it.
    pub destination_key: Option<DestinationKey>,
    /// The flags the destination was last given; `None` from a JSON
    /// checkpoint, which did not keep them.
    pub flags: Option<Flags>,
}

/// An open state file (or an in-memory copy of one, for dry runs).
pub struct State {
    conn: Connection,
    path: PathBuf,
    job: JobKey,
    updated: u64,
    folder_ids: HashMap<FolderName, i64>,
    /// Source folders with messages set aside from a replaced instance.
    set_aside: HashSet<FolderName>,
}

impl State {
    /// Opens the job's state at `path` for writing, creating it or migrating
    /// a JSON checkpoint found at `path` or at `legacy` (the JSON file of the
    /// same job from older releases, removed once migrated).
    pub fn open(path: &Path, legacy: Option<&Path>, job: &JobKey) -> Result<State> {
        durable::remove_stale_temps(path);
        match file_kind(path)? {
            FileKind::Missing => match legacy.filter(|l| file_kind(l).ok() == Some(FileKind::Json))
            {
                Some(json) => {
                    migrate(json, path)?;
                    std::fs::remove_file(json).with_context(|| {
                        format!("removing migrated checkpoint `{}`", json.display())
                    })?;
                    remove_lock_of(json);
                }
                None => create_empty(path, job)?,
            },
            FileKind::Json => migrate(path, path)?,
            FileKind::Sqlite => {}
            FileKind::Other => return Err(not_a_state_file(path)),
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .with_context(|| format!("opening state `{}`", path.display()))?;
        configure(&conn, path)?;
        State::from_connection(conn, path, Some(job))
    }

    /// Reads the state at `path` (SQLite or a JSON checkpoint) into a
    /// private copy, never writing the file: for dry runs, which record what
    /// they would do without keeping it, and for `state show`. A missing
    /// file gives an empty state of `job`. The copy is SQLite's temporary
    /// database, on disk but deleted on close, so a state of millions of
    /// messages does not have to fit in memory.
    pub fn read_copy(path: &Path, job: Option<&JobKey>) -> Result<State> {
        let mut conn = Connection::open("").context("opening a private copy of the state")?;
        conn.execute_batch("PRAGMA cache_size = -2048")
            .context("opening a private copy of the state")?;
        match file_kind(path)? {
            FileKind::Missing => {
                let job = job.ok_or_else(|| no_state(path))?;
                initialise(&mut conn, job)?;
            }
            FileKind::Json => import_checkpoint(&mut conn, &load_checkpoint(path)?)?,
            FileKind::Sqlite => conn
                .restore(
                    rusqlite::MAIN_DB,
                    path,
                    None::<fn(rusqlite::backup::Progress)>,
                )
                .map_err(|e| damaged(path, &e))?,
            FileKind::Other => return Err(not_a_state_file(path)),
        }
        State::from_connection(conn, path, job)
    }

    /// Opens an existing state (SQLite, or a JSON checkpoint read into
    /// memory) whatever job it belongs to: for `mailtug state`.
    pub fn inspect(path: &Path) -> Result<State> {
        match file_kind(path)? {
            FileKind::Missing => Err(no_state(path)),
            FileKind::Json => State::read_copy(path, None),
            FileKind::Other => Err(not_a_state_file(path)),
            FileKind::Sqlite => {
                let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
                    .with_context(|| format!("opening state `{}`", path.display()))?;
                configure(&conn, path)?;
                State::from_connection(conn, path, None)
            }
        }
    }

    fn from_connection(conn: Connection, path: &Path, expected: Option<&JobKey>) -> Result<State> {
        let mut format: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| damaged(path, &e))?;
        if format == 2 || format == 3 {
            complete_format_3(&conn).with_context(|| {
                format!("bringing state `{}` to format {FORMAT}", path.display())
            })?;
            format = FORMAT;
        }
        if format != FORMAT {
            return Err(usage(format!(
                "state `{}` has format {format}, this mailtug reads format {FORMAT}; remove it or use a matching mailtug",
                path.display()
            )));
        }
        let (job, updated, rules) = conn
            .query_row(
                "SELECT source, destination, options, updated, fingerprint_rules FROM job",
                [],
                |row| {
                    let options: String = row.get(2)?;
                    Ok((
                        JobKey {
                            source: row.get(0)?,
                            destination: row.get(1)?,
                            options: serde_json::from_str(&options).unwrap_or_default(),
                        },
                        row.get::<_, i64>(3)? as u64,
                        row.get::<_, i64>(4)?,
                    ))
                },
            )
            .map_err(|e| damaged(path, &e))?;
        if let Some(expected) = expected {
            if *expected != job {
                return Err(usage(format!(
                    "state `{}` belongs to another job ({} → {}); give another --state file or remove it",
                    path.display(),
                    job.source,
                    job.destination
                )));
            }
        }
        let mut state = State {
            conn,
            path: path.to_path_buf(),
            job,
            updated,
            folder_ids: HashMap::new(),
            set_aside: HashSet::new(),
        };
        if rules != i64::from(fingerprint::RULES) {
            // Indexes of fingerprints made by other rules would miss
            // messages the destination holds: the folders are indexed again.
            let tx = state.transaction()?;
            tx.execute("DELETE FROM destination_indexes", [])?;
            tx.execute(
                "UPDATE job SET fingerprint_rules = ?1",
                [i64::from(fingerprint::RULES)],
            )?;
            tx.commit()?;
        }
        let ids: Vec<(String, i64)> = {
            let mut statement = state.conn.prepare("SELECT name, id FROM folders")?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (name, id) in ids {
            let name = FolderName::parse(&name)
                .with_context(|| format!("state `{}` names a folder `{name}`", path.display()))?;
            state.folder_ids.insert(name, id);
        }
        let set_aside: Vec<String> = {
            let mut statement = state
                .conn
                .prepare("SELECT DISTINCT folder FROM set_aside")?;
            let rows = statement.query_map([], |row| row.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for name in set_aside {
            if let Ok(name) = FolderName::parse(&name) {
                state.set_aside.insert(name);
            }
        }
        Ok(state)
    }

    pub fn job(&self) -> &JobKey {
        &self.job
    }

    /// Records `run` as the job's last run, on the run's own connection.
    pub fn set_last_run(&mut self, run: &LastRun) -> Result<()> {
        write_last_run(&self.conn, &self.path, run)
    }

    /// How the job's last run went, when a run of this release recorded it.
    pub fn last_run(&self) -> Option<LastRun> {
        self.conn
            .query_row("SELECT run FROM last_run", [], |row| {
                row.get::<_, String>(0)
            })
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
    }

    /// What `account` moved in `direction` (`download`, `upload`) in the
    /// 24 hours before `now`, as (unix seconds, bytes), oldest first. Older
    /// rows are dropped: nothing reads them again.
    pub fn daily_bytes(
        &mut self,
        account: &str,
        direction: &str,
        now: u64,
    ) -> Result<Vec<(u64, u64)>> {
        let since = now.saturating_sub(crate::rate::DAY) as i64;
        let read = || -> rusqlite::Result<Vec<(u64, u64)>> {
            self.conn.execute_batch(DAILY_BYTES)?;
            self.conn
                .execute("DELETE FROM daily_bytes WHERE time <= ?1", [since])?;
            let mut statement = self.conn.prepare(
                "SELECT time, bytes FROM daily_bytes WHERE account = ?1 AND direction = ?2 \
                 ORDER BY time",
            )?;
            let rows = statement.query_map(params![account, direction], |row| {
                Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64))
            })?;
            rows.collect()
        };
        read().with_context(|| {
            format!(
                "reading the bytes moved in the last 24 hours from state `{}`",
                self.path.display()
            )
        })
    }

    /// Counts `bytes` moved by `account` in `direction` at `time`.
    pub fn add_daily_bytes(
        &mut self,
        account: &str,
        direction: &str,
        time: u64,
        bytes: u64,
    ) -> Result<()> {
        self.conn
            .execute_batch(DAILY_BYTES)
            .and_then(|()| {
                self.conn.execute(
                    "INSERT INTO daily_bytes (account, direction, time, bytes) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![account, direction, time as i64, bytes as i64],
                )
            })
            .with_context(|| {
                format!(
                    "recording the bytes moved in state `{}`",
                    self.path.display()
                )
            })?;
        Ok(())
    }

    /// Seconds since the epoch of the last commit.
    pub fn updated(&self) -> u64 {
        self.updated
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The source folders the state records, in name order.
    pub fn folder_names(&self) -> Vec<FolderName> {
        let mut names: Vec<FolderName> = self.folder_ids.keys().cloned().collect();
        names.sort();
        names
    }

    pub fn has_folder(&self, folder: &FolderName) -> bool {
        self.folder_ids.contains_key(folder)
    }

    /// How many message rows the state holds.
    pub fn message_count(&self) -> Result<u64> {
        let count: i64 = self
            .conn
            .query_row("SELECT count(*) FROM messages", [], |row| row.get(0))?;
        Ok(count as u64)
    }

    /// How many messages of `folder` the state records as done.
    pub fn messages_in(&self, folder: &FolderName) -> Result<u64> {
        let Some(&id) = self.folder_ids.get(folder) else {
            return Ok(0);
        };
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM messages WHERE folder = ?1",
            [id],
            |row| row.get(0),
        )?;
        Ok(count as u64)
    }

    /// The progress of one source folder, as the stores read it; `None`
    /// when the folder was never recorded.
    pub fn folder(&self, folder: &FolderName) -> Result<Option<FolderProgress>> {
        self.load_folder(folder, true)
    }

    /// A folder's progress as [`State::folder`], but a maildir folder's
    /// names stay in the state: [`StateWriter::folder`] reads them in pages.
    fn folder_without_names(&self, folder: &FolderName) -> Result<Option<FolderProgress>> {
        self.load_folder(folder, false)
    }

    /// The largest integer key recorded for `folder` that is at most
    /// `limit` (a UID), if any.
    pub fn largest_key_at_most(&self, folder: &FolderName, limit: u32) -> Result<Option<u32>> {
        let Some(&id) = self.folder_ids.get(folder) else {
            return Ok(None);
        };
        // Text keys sort after every integer, so `<=` an integer leaves them out.
        let largest: Option<i64> = self.conn.query_row(
            "SELECT max(source_key) FROM messages WHERE folder = ?1 AND source_key <= ?2",
            params![id, i64::from(limit)],
            |row| row.get(0),
        )?;
        Ok(largest.map(|uid| uid as u32))
    }

    /// Up to `limit` recorded keys of a folder after `after`, in key order.
    fn text_keys_after(
        &self,
        folder: &FolderName,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>> {
        let Some(&id) = self.folder_ids.get(folder) else {
            return Ok(Vec::new());
        };
        // Text keys sort after every integer key, so `after` starts at the
        // first text key; the primary key keeps them in order on disk.
        let mut statement = self.conn.prepare_cached(
            "SELECT source_key FROM messages WHERE folder = ?1 AND source_key > ?2 \
             ORDER BY source_key LIMIT ?3",
        )?;
        let rows = statement.query_map(params![id, after.unwrap_or(""), limit as i64], |row| {
            row.get::<_, String>(0)
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn load_folder(&self, folder: &FolderName, names: bool) -> Result<Option<FolderProgress>> {
        let Some(&id) = self.folder_ids.get(folder) else {
            return Ok(None);
        };
        let FolderRow {
            kind,
            identity,
            through,
            anchor,
            uid_next,
            stamp,
            mirror_stamp,
        } = self.conn.query_row(
            "SELECT kind, identity, through, anchor, uid_next, listing_stamp, mirror_stamp \
             FROM folders WHERE id = ?1",
            [id],
            |row| {
                Ok(FolderRow {
                    kind: row.get(0)?,
                    identity: row.get(1)?,
                    through: row.get(2)?,
                    anchor: row.get(3)?,
                    uid_next: row.get(4)?,
                    stamp: row.get(5)?,
                    mirror_stamp: row.get(6)?,
                })
            },
        )?;
        let identity = identity
            .map(|text| serde_json::from_str::<FolderIdentity>(&text))
            .transpose()
            .with_context(|| self.damaged_folder(folder))?;
        let anchor = anchor
            .map(|text| serde_json::from_str::<Anchor>(&text))
            .transpose()
            .with_context(|| self.damaged_folder(folder))?;
        let done = match kind.as_str() {
            "nothing" => Done::Nothing,
            "files" if !names => Done::Files {
                names: BTreeSet::new(),
            },
            "files" => Done::Files {
                names: self
                    .text_keys(id)?
                    .into_iter()
                    .map(|(name, _)| name)
                    .collect(),
            },
            "uidls" => Done::Uidls {
                delivered: self.text_keys(id)?.into_iter().collect(),
            },
            "uids" => Done::Uids {
                through: through as u32,
                above: self
                    .integer_keys_above(id, through)?
                    .into_iter()
                    .map(|(uid, _)| uid as u32)
                    .collect(),
                uid_next: uid_next.unwrap_or(0) as u32,
            },
            "offsets" => Done::Offsets {
                through: through as u64,
                anchor,
                above: self
                    .integer_keys_above(id, through)?
                    .into_iter()
                    .map(|(start, end)| (start as u64, end.unwrap_or(start) as u64))
                    .collect(),
            },
            other => {
                return Err(anyhow!("unknown progress kind `{other}`"))
                    .with_context(|| self.damaged_folder(folder))
            }
        };
        Ok(Some(FolderProgress {
            identity,
            done,
            recorded: RecordedKeys::default(),
            listing_stamp: stamp,
            mirror_stamp,
        }))
    }

    fn damaged_folder(&self, folder: &FolderName) -> String {
        format!(
            "state `{}` is damaged at folder `{folder}`; remove it with `mailtug state forget` to start over",
            self.path.display()
        )
    }

    /// Text keys of a folder (maildir names, UIDLs) with when each was stored.
    fn text_keys(&self, id: i64) -> Result<Vec<(String, u64)>> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT source_key, stored FROM messages WHERE folder = ?1")?;
        let rows = statement.query_map([id], |row| {
            let key = match row.get_ref(0)? {
                ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                ValueRef::Integer(n) => n.to_string(),
                _ => String::new(),
            };
            Ok((key, row.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Integer keys of a folder above `through` (UIDs, mbox starts), with their ends.
    fn integer_keys_above(&self, id: i64, through: i64) -> Result<Vec<(i64, Option<i64>)>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT source_key, source_end FROM messages WHERE folder = ?1 AND source_key > ?2",
        )?;
        let rows =
            statement.query_map(params![id, through], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn try_record(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
        stored: &[Stored],
    ) -> Result<()> {
        let now = now_secs();
        let tx = self.conn.transaction()?;
        let id = upsert_folder(&tx, &mut self.folder_ids, folder, progress)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (folder, source_key, source_end, fingerprint, \
                 destination_folder, destination_key, flags, bytes, stored) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (folder, source_key) DO UPDATE SET \
                 source_end = excluded.source_end, fingerprint = excluded.fingerprint, \
                 destination_folder = excluded.destination_folder, \
                 destination_key = excluded.destination_key, flags = excluded.flags, \
                 bytes = excluded.bytes",
            )?;
            let mut adopt = tx.prepare_cached(
                "DELETE FROM set_aside WHERE rowid = (SELECT rowid FROM set_aside \
                 WHERE folder = ?1 AND fingerprint = ?2 LIMIT 1) \
                 RETURNING destination_folder, destination_key, flags",
            )?;
            for message in stored {
                let (key, end) = key_columns(&message.key);
                let fingerprint = message.fingerprint.to_string();
                let mut place = (
                    Value::Text(message.destination_folder.as_str().to_string()),
                    message
                        .destination_key
                        .as_ref()
                        .map_or(Value::Null, destination_column),
                    message.flags.as_ref().map(Flags::to_string),
                );
                if self.set_aside.contains(folder) {
                    // A message of the folder's earlier instance, found
                    // again: where it was stored is known after all. One
                    // stored anew keeps its new copy (the old one stays).
                    let found: Option<(Value, Value, Option<String>)> = adopt
                        .query_row(params![folder.as_str(), fingerprint], |row| {
                            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                        })
                        .optional()?;
                    if let (Some(found), None) = (found, &message.destination_key) {
                        place = found;
                    }
                }
                insert.execute(params![
                    id,
                    key,
                    end,
                    fingerprint,
                    place.0,
                    place.1,
                    place.2,
                    message.bytes as i64,
                    now as i64,
                ])?;
            }
        }
        tx.execute("UPDATE job SET updated = ?1", [now as i64])?;
        tx.commit()?;
        self.updated = now;
        Ok(())
    }

    fn try_save_folder(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
        vanished: &[SourceKey],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        let id = upsert_folder(&tx, &mut self.folder_ids, folder, progress)?;
        {
            let mut delete =
                tx.prepare_cached("DELETE FROM messages WHERE folder = ?1 AND source_key = ?2")?;
            for key in vanished {
                delete.execute(params![id, key_columns(key).0])?;
            }
        }
        tx.commit()
            .with_context(|| format!("committing state `{}`", self.path.display()))?;
        Ok(())
    }

    /// Forgets a source folder replaced by another instance, setting its
    /// stored messages aside: the new instance's copy finds them again by
    /// fingerprint (a mirror then knows where each is at the destination),
    /// and what it does not find is gone from the source.
    pub fn replace_folder(&mut self, folder: &FolderName) -> Result<()> {
        let result = self.try_forget(folder, true);
        result.map_err(|e| self.write_failed(e))
    }

    /// Messages of a replaced instance of `folder` not found again, with
    /// where they are at the destination: (row, destination folder, key).
    pub fn set_aside(&self, folder: &FolderName) -> Result<Vec<(i64, FolderName, DestinationKey)>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT rowid, destination_folder, destination_key FROM set_aside WHERE folder = ?1",
        )?;
        let rows = statement.query_map([folder.as_str()], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Value>(2)?,
            ))
        })?;
        let mut found = Vec::new();
        for row in rows {
            let (rowid, place, key) = row?;
            let key = match key {
                Value::Integer(uid) => DestinationKey::Uid(uid as u32),
                Value::Text(name) => DestinationKey::File(name),
                _ => continue,
            };
            let place = FolderName::parse(&place).with_context(|| self.damaged_folder(folder))?;
            found.push((rowid, place, key));
        }
        Ok(found)
    }

    /// Drops set-aside messages removed from the destination.
    pub fn drop_set_aside(&mut self, rows: &[i64]) -> Result<()> {
        let result = (|| -> Result<()> {
            let tx = self.conn.transaction()?;
            {
                let mut delete = tx.prepare_cached("DELETE FROM set_aside WHERE rowid = ?1")?;
                for row in rows {
                    delete.execute([row])?;
                }
            }
            tx.commit()?;
            Ok(())
        })();
        result.map_err(|e| self.write_failed(e))
    }

    fn try_forget(&mut self, folder: &FolderName, set_aside: bool) -> Result<()> {
        if let Some(id) = self.folder_ids.remove(folder) {
            let tx = self.conn.transaction()?;
            if set_aside {
                tx.execute(
                    "INSERT INTO set_aside \
                     (folder, fingerprint, destination_folder, destination_key, flags) \
                     SELECT ?2, fingerprint, destination_folder, destination_key, flags \
                     FROM messages WHERE folder = ?1 AND fingerprint IS NOT NULL \
                     AND destination_folder IS NOT NULL AND destination_key IS NOT NULL",
                    params![id, folder.as_str()],
                )?;
                self.set_aside.insert(folder.clone());
            }
            tx.execute("DELETE FROM messages WHERE folder = ?1", [id])?;
            tx.execute("DELETE FROM folders WHERE id = ?1", [id])?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The destination folder's fingerprint index kept by an earlier run.
    pub fn index(&self, folder: &FolderName) -> Result<Option<IndexCache>> {
        let Some((uid_validity, uid_next)) = self.index_row(folder)? else {
            return Ok(None);
        };
        let mut statement = self
            .conn
            .prepare_cached("SELECT fingerprint FROM destination_fingerprints WHERE folder = ?1")?;
        let rows = statement.query_map([folder.as_str()], |row| row.get::<_, String>(0))?;
        let mut fingerprints = Vec::new();
        for text in rows {
            let text = text?;
            match text.parse() {
                Ok(fingerprint) => fingerprints.push(fingerprint),
                // An index that cannot be read is made again.
                Err(_) => return Ok(None),
            }
        }
        Ok(Some(IndexCache {
            uid_validity: uid_validity as u32,
            uid_next: uid_next as u32,
            fingerprints,
        }))
    }

    fn try_forget_index(&mut self, folder: &FolderName) -> Result<()> {
        self.conn.execute(
            "DELETE FROM destination_indexes WHERE folder = ?1",
            [folder.as_str()],
        )?;
        Ok(())
    }

    /// Records the folder's progress summary (identity, watermarks) and the
    /// messages in `stored`, in one transaction. Order is important: call it
    /// only after the sink's `commit` returned for every message in `stored`.
    pub fn record(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
        stored: &[Stored],
    ) -> Result<()> {
        let result = self.try_record(folder, progress, stored);
        result.map_err(|e| self.write_failed(e))
    }

    /// Up to `limit` messages of source folder `folder` recorded as copied,
    /// in source-key order after `after`: what a mirror compares with the
    /// source now.
    pub fn copied_page(
        &self,
        folder: &FolderName,
        after: Option<&SourceKey>,
        limit: usize,
    ) -> Result<Vec<Copied>> {
        let Some(&id) = self.folder_ids.get(folder) else {
            return Ok(Vec::new());
        };
        let kind: String =
            self.conn
                .query_row("SELECT kind FROM folders WHERE id = ?1", [id], |row| {
                    row.get(0)
                })?;
        // Two forms: with `?2 IS NULL OR …` SQLite cannot seek to `after`
        // and walks the folder from its first row for every page.
        let mut statement = self.conn.prepare_cached(match after {
            None => {
                "SELECT source_key, source_end, destination_folder, destination_key, flags \
                 FROM messages WHERE folder = ?1 AND ?2 IS NULL \
                 ORDER BY source_key LIMIT ?3"
            }
            Some(_) => {
                "SELECT source_key, source_end, destination_folder, destination_key, flags \
                 FROM messages WHERE folder = ?1 AND source_key > ?2 \
                 ORDER BY source_key LIMIT ?3"
            }
        })?;
        let after = after.map(|key| key_columns(key).0);
        let rows = statement.query_map(params![id, after, limit as i64], |row| {
            Ok((
                row.get::<_, Value>(0)?,
                row.get::<_, Option<i64>>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Value>(3)?,
                row.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut page = Vec::new();
        for row in rows {
            let (key, end, destination_folder, destination_key, flags) = row?;
            let key = match (kind.as_str(), key) {
                ("files", Value::Text(name)) => SourceKey::File(name),
                ("uidls", Value::Text(uidl)) => SourceKey::Uidl(uidl),
                ("uids", Value::Integer(uid)) => SourceKey::Uid(uid as u32),
                ("offsets", Value::Integer(start)) => SourceKey::Offset {
                    start: start as u64,
                    end: end.unwrap_or(start) as u64,
                },
                (kind, key) => {
                    return Err(anyhow!(
                        "a message key {key:?} in a folder of kind `{kind}`"
                    ))
                    .with_context(|| self.damaged_folder(folder))
                }
            };
            let destination_key = match destination_key {
                Value::Integer(uid) => Some(DestinationKey::Uid(uid as u32)),
                Value::Text(name) => Some(DestinationKey::File(name)),
                _ => None,
            };
            let destination_folder = destination_folder
                .map(|name| FolderName::parse(&name))
                .transpose()
                .with_context(|| self.damaged_folder(folder))?;
            page.push(Copied {
                key,
                destination_folder,
                destination_key,
                flags: flags.map(|text| Flags::from_imap(&text)),
            });
        }
        Ok(page)
    }

    /// Records the flags messages of `folder` now have at the destination.
    pub fn set_copied_flags(
        &mut self,
        folder: &FolderName,
        flags: &[(SourceKey, Flags)],
    ) -> Result<()> {
        let result = self.try_set_copied_flags(folder, flags);
        result.map_err(|e| self.write_failed(e))
    }

    fn try_set_copied_flags(
        &mut self,
        folder: &FolderName,
        flags: &[(SourceKey, Flags)],
    ) -> Result<()> {
        let Some(&id) = self.folder_ids.get(folder) else {
            return Ok(());
        };
        let tx = self.conn.transaction()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE messages SET flags = ?3 WHERE folder = ?1 AND source_key = ?2",
            )?;
            for (key, flags) in flags {
                update.execute(params![id, key_columns(key).0, flags.to_string()])?;
            }
        }
        tx.commit()
            .with_context(|| format!("committing state `{}`", self.path.display()))?;
        Ok(())
    }

    /// Forgets messages of `folder`: removed from the destination, as they
    /// are gone from the source.
    pub fn forget_messages(&mut self, folder: &FolderName, keys: &[SourceKey]) -> Result<()> {
        let result = self.try_forget_messages(folder, keys);
        result.map_err(|e| self.write_failed(e))
    }

    fn try_forget_messages(&mut self, folder: &FolderName, keys: &[SourceKey]) -> Result<()> {
        let Some(&id) = self.folder_ids.get(folder) else {
            return Ok(());
        };
        let tx = self.conn.transaction()?;
        {
            let mut delete =
                tx.prepare_cached("DELETE FROM messages WHERE folder = ?1 AND source_key = ?2")?;
            for key in keys {
                delete.execute(params![id, key_columns(key).0])?;
            }
        }
        tx.commit()
            .with_context(|| format!("committing state `{}`", self.path.display()))?;
        Ok(())
    }

    /// Mirror: indexes the recorded messages by fingerprint, so a message
    /// moved between source folders is found where the destination holds
    /// it ([`State::stored_elsewhere`]). Built once, on the first mirror
    /// of a job; a copy never needs it.
    pub fn index_fingerprints(&mut self) -> Result<()> {
        let result = self
            .conn
            .execute_batch(
                "CREATE INDEX IF NOT EXISTS messages_by_fingerprint ON messages(fingerprint)",
            )
            .map_err(anyhow::Error::from);
        result.map_err(|e| self.write_failed(e))
    }

    /// Whether messages of source folders other than `folder` are recorded
    /// (two seeks on the primary key, whatever the size of the state).
    pub fn records_other_folders(&self, folder: &FolderName) -> Result<bool> {
        let id = self.folder_ids.get(folder).copied().unwrap_or(-1);
        let found: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE folder < ?1) \
             OR EXISTS (SELECT 1 FROM messages WHERE folder > ?1)",
            [id],
            |row| row.get(0),
        )?;
        Ok(found)
    }

    /// Where the destination holds a message with `fingerprint` and
    /// `wire_size` bytes (with CRLF line ends), stored for this job in a
    /// destination folder other than `not_in`.
    pub fn stored_elsewhere(
        &self,
        fingerprint: &Fingerprint,
        wire_size: u64,
        not_in: &FolderName,
    ) -> Result<Option<Location>> {
        let found: Option<(String, Value, Option<String>)> = self
            .conn
            .prepare_cached(
                "SELECT destination_folder, destination_key, flags FROM messages \
                 WHERE fingerprint = ?1 AND bytes = ?3 AND destination_key IS NOT NULL \
                 AND destination_folder IS NOT NULL AND destination_folder != ?2 LIMIT 1",
            )?
            .query_row(
                params![fingerprint.to_string(), not_in.as_str(), wire_size as i64],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((folder, key, flags)) = found else {
            return Ok(None);
        };
        let key = match key {
            Value::Integer(uid) => DestinationKey::Uid(uid as u32),
            Value::Text(name) => DestinationKey::File(name),
            _ => return Ok(None),
        };
        Ok(Some(Location {
            folder: FolderName::parse(&folder)
                .with_context(|| format!("a destination folder `{folder}` in the state"))?,
            key,
            flags: flags.map(|text| Flags::from_imap(&text)),
        }))
    }

    /// The UIDs of destination folder `folder` that recorded messages with
    /// `fingerprint` were stored under (mirror: with its index).
    pub fn claimed_uids(&self, fingerprint: &Fingerprint, folder: &FolderName) -> Result<Vec<u32>> {
        let mut select = self.conn.prepare_cached(
            "SELECT destination_key FROM messages WHERE fingerprint = ?1 \
             AND destination_folder = ?2 AND typeof(destination_key) = 'integer'",
        )?;
        let uids = select.query_map(params![fingerprint.to_string(), folder.as_str()], |row| {
            row.get::<_, i64>(0)
        })?;
        Ok(uids
            .map(|uid| uid.map(|uid| uid as u32))
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Forgets that the destination holds a message at `location`: it was
    /// not there when asked for. The row stays, as for a message found at
    /// the destination rather than copied.
    pub fn forget_location(&mut self, location: &Location) -> Result<()> {
        let result = self
            .conn
            .execute(
                "UPDATE messages SET destination_key = NULL \
                 WHERE destination_folder = ?1 AND destination_key = ?2",
                params![location.folder.as_str(), destination_column(&location.key)],
            )
            .map(drop)
            .map_err(anyhow::Error::from);
        result.map_err(|e| self.write_failed(e))
    }

    /// Records the folder's progress summary alone (a new identity, a
    /// finished pass, a first sight), and forgets the messages in `vanished`.
    pub fn save_folder(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
        vanished: &[SourceKey],
    ) -> Result<()> {
        let result = self.try_save_folder(folder, progress, vanished);
        result.map_err(|e| self.write_failed(e))
    }

    /// Forgets a source folder and everything recorded in it: its copy is
    /// gone, or the folder was replaced by another instance.
    pub fn forget_folder(&mut self, folder: &FolderName) -> Result<()> {
        let result = self.try_forget(folder, false);
        result.map_err(|e| self.write_failed(e))
    }

    /// Keeps a destination folder's fingerprint index for the next run.
    /// Forgets a destination folder's fingerprint index.
    pub fn forget_index(&mut self, folder: &FolderName) -> Result<()> {
        let result = self.try_forget_index(folder);
        result.map_err(|e| self.write_failed(e))
    }

    /// The UIDVALIDITY and UIDNEXT of the kept index of `folder`; `None`
    /// without one, or while it is being written (UIDVALIDITY 0).
    fn index_row(&self, folder: &FolderName) -> Result<Option<(i64, i64)>> {
        let found: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT uid_validity, uid_next FROM destination_indexes WHERE folder = ?1",
                [folder.as_str()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        Ok(found.filter(|&(uid_validity, _)| uid_validity != 0))
    }

    /// What the kept index of destination folder `folder` covers; `None`
    /// when there is none, or one whose writing did not finish.
    pub fn index_mark(&self, folder: &FolderName) -> Result<Option<IndexMark>> {
        let Some((uid_validity, uid_next)) = self.index_row(folder)? else {
            return Ok(None);
        };
        let messages: i64 = self.conn.query_row(
            "SELECT count(*) FROM destination_fingerprints WHERE folder = ?1",
            [folder.as_str()],
            |row| row.get(0),
        )?;
        Ok(Some(IndexMark {
            uid_validity: uid_validity as u32,
            uid_next: uid_next as u32,
            messages: messages as u64,
        }))
    }

    /// Up to `limit` fingerprints of the kept index of `folder` after row
    /// `after` (0 for the first), with their row numbers.
    pub fn index_page(
        &self,
        folder: &FolderName,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT rowid, fingerprint FROM destination_fingerprints \
             WHERE folder = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3",
        )?;
        let rows = statement.query_map(params![folder.as_str(), after, limit as i64], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Starts replacing the kept index of `folder`, which is written in
    /// parts: until [`State::finish_index`] it has no valid mark (a
    /// UIDVALIDITY of 0, which no server gives), so an index left half
    /// written by a crash is never trusted.
    pub fn begin_index(&mut self, folder: &FolderName) -> Result<()> {
        let result = (|| -> Result<()> {
            let tx = self.conn.transaction()?;
            tx.execute(
                "DELETE FROM destination_indexes WHERE folder = ?1",
                [folder.as_str()],
            )?;
            tx.execute(
                "INSERT INTO destination_indexes (folder, uid_validity, uid_next) \
                 VALUES (?1, 0, 0)",
                [folder.as_str()],
            )?;
            tx.commit()?;
            Ok(())
        })();
        result.map_err(|e| self.write_failed(e))
    }

    /// Adds fingerprints to the index being written, each as many times as
    /// messages have it.
    pub fn add_to_index(&mut self, folder: &FolderName, page: &[(String, u64)]) -> Result<()> {
        let result = (|| -> Result<()> {
            let tx = self.conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO destination_fingerprints (folder, fingerprint) VALUES (?1, ?2)",
                )?;
                for (fingerprint, copies) in page {
                    for _ in 0..*copies {
                        insert.execute(params![folder.as_str(), fingerprint])?;
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })();
        result.map_err(|e| self.write_failed(e))
    }

    /// Makes the index written since [`State::begin_index`] valid as of `mark`.
    pub fn finish_index(&mut self, folder: &FolderName, mark: IndexMark) -> Result<()> {
        let result = self
            .conn
            .execute(
                "UPDATE destination_indexes SET uid_validity = ?2, uid_next = ?3 WHERE folder = ?1",
                params![
                    folder.as_str(),
                    i64::from(mark.uid_validity),
                    i64::from(mark.uid_next)
                ],
            )
            .map(drop)
            .map_err(anyhow::Error::from);
        result.map_err(|e| self.write_failed(e))
    }

    fn write_failed(&self, e: anyhow::Error) -> anyhow::Error {
        let e = match e.downcast::<rusqlite::Error>() {
            Ok(sql) => explain(&self.conn, &self.path, sql),
            Err(e) => e,
        };
        e.context(format!("writing state `{}`", self.path.display()))
    }

    fn transaction(&mut self) -> Result<Transaction<'_>> {
        Ok(self.conn.transaction()?)
    }

    /// The whole state in the shape of the JSON checkpoints of earlier
    /// releases, for `mailtug state show`.
    pub fn to_checkpoint(&self) -> Result<Checkpoint> {
        let mut checkpoint = Checkpoint::new(self.job.clone());
        checkpoint.updated = self.updated;
        for name in self.folder_names() {
            if let Some(progress) = self.folder(&name)? {
                checkpoint.folders.insert(name, progress);
            }
        }
        let names: Vec<String> = {
            let mut statement = self
                .conn
                .prepare("SELECT folder FROM destination_indexes")?;
            let rows = statement.query_map([], |row| row.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for name in names {
            let folder = FolderName::parse(&name)?;
            if let Some(cache) = self.index(&folder)? {
                checkpoint.destinations.insert(folder, cache);
            }
        }
        Ok(checkpoint)
    }

    /// The messages recorded in `folder`, with where each went: for `state
    /// show --messages` and tests.
    pub fn messages(&self, folder: &FolderName) -> Result<Vec<MessageRow>> {
        let Some(&id) = self.folder_ids.get(folder) else {
            return Ok(Vec::new());
        };
        let mut statement = self.conn.prepare(
            "SELECT source_key, source_end, fingerprint, destination_folder, destination_key, \
             flags, bytes, stored FROM messages WHERE folder = ?1 ORDER BY source_key",
        )?;
        let rows = statement.query_map([id], |row| {
            Ok(MessageRow {
                source_key: value_to_json(row.get(0)?),
                source_end: row.get(1)?,
                fingerprint: row.get(2)?,
                destination_folder: row.get(3)?,
                destination_key: value_to_json(row.get(4)?),
                flags: row.get(5)?,
                bytes: row.get(6)?,
                stored: row.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// One message row as `state show --messages` prints it.
#[derive(Debug, serde::Serialize)]
pub struct MessageRow {
    pub source_key: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_end: Option<i64>,
    pub fingerprint: Option<String>,
    pub destination_folder: Option<String>,
    pub destination_key: serde_json::Value,
    pub flags: Option<String>,
    pub bytes: Option<i64>,
    pub stored: i64,
}

fn value_to_json(value: Value) -> serde_json::Value {
    match value {
        Value::Integer(n) => n.into(),
        Value::Text(text) => text.into(),
        _ => serde_json::Value::Null,
    }
}

/// The source key as its column values: integers for UIDs and mbox offsets
/// (so they compare as numbers), text for names.
fn key_columns(key: &SourceKey) -> (Value, Option<i64>) {
    match key {
        SourceKey::Uid(uid) => (Value::Integer(i64::from(*uid)), None),
        SourceKey::Offset { start, end } => (Value::Integer(*start as i64), Some(*end as i64)),
        SourceKey::File(name) => (Value::Text(name.clone()), None),
        SourceKey::Uidl(uidl) => (Value::Text(uidl.clone()), None),
    }
}

fn destination_column(key: &DestinationKey) -> Value {
    match key {
        DestinationKey::Uid(uid) => Value::Integer(i64::from(*uid)),
        DestinationKey::Offset(start) => Value::Integer(*start as i64),
        DestinationKey::File(name) => Value::Text(name.clone()),
    }
}

/// Writes a folder's summary row, returning its id.
fn upsert_folder(
    tx: &Transaction<'_>,
    ids: &mut HashMap<FolderName, i64>,
    folder: &FolderName,
    progress: &FolderProgress,
) -> Result<i64> {
    let identity = progress
        .identity
        .as_ref()
        .map(|identity| serde_json::to_string(identity).expect("an identity serialises"));
    let uid_validity = match &progress.identity {
        Some(FolderIdentity::UidValidity { uid_validity }) => Some(i64::from(*uid_validity)),
        _ => None,
    };
    let stamp = progress.listing_stamp.as_deref();
    let mirror_stamp = progress.mirror_stamp.as_deref();
    let (kind, through, anchor, uid_next): (&str, i64, Option<String>, Option<i64>) =
        match &progress.done {
            Done::Nothing => ("nothing", 0, None, None),
            Done::Files { .. } => ("files", 0, None, None),
            Done::Uidls { .. } => ("uidls", 0, None, None),
            Done::Uids {
                through, uid_next, ..
            } => (
                "uids",
                i64::from(*through),
                None,
                Some(i64::from(*uid_next)),
            ),
            Done::Offsets {
                through, anchor, ..
            } => (
                "offsets",
                *through as i64,
                anchor
                    .as_ref()
                    .map(|a| serde_json::to_string(a).expect("an anchor serialises")),
                None,
            ),
        };
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO folders \
             (name, kind, identity, uid_validity, uid_next, through, anchor, listing_stamp, \
             mirror_stamp) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, \
             identity = excluded.identity, uid_validity = excluded.uid_validity, \
             uid_next = excluded.uid_next, through = excluded.through, anchor = excluded.anchor, \
             listing_stamp = excluded.listing_stamp, mirror_stamp = excluded.mirror_stamp \
             RETURNING id",
        )?
        .query_row(
            params![
                folder.as_str(),
                kind,
                identity,
                uid_validity,
                uid_next,
                through,
                anchor,
                stamp,
                mirror_stamp
            ],
            |row| row.get(0),
        )?;
    ids.insert(folder.clone(), id);
    Ok(id)
}

fn insert_index(tx: &Transaction<'_>, folder: &FolderName, cache: &IndexCache) -> Result<()> {
    tx.execute(
        "INSERT INTO destination_indexes (folder, uid_validity, uid_next) VALUES (?1, ?2, ?3)",
        params![
            folder.as_str(),
            i64::from(cache.uid_validity),
            i64::from(cache.uid_next)
        ],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO destination_fingerprints (folder, fingerprint) VALUES (?1, ?2)",
    )?;
    for fingerprint in &cache.fingerprints {
        insert.execute(params![folder.as_str(), fingerprint.to_string()])?;
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum FileKind {
    Missing,
    Sqlite,
    Json,
    Other,
}

fn file_kind(path: &Path) -> Result<FileKind> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(e).with_context(|| format!("opening state `{}`", path.display())),
    };
    let mut start = [0u8; 16];
    let mut filled = 0;
    while filled < start.len() {
        match file.read(&mut start[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return Err(e).with_context(|| format!("reading state `{}`", path.display())),
        }
    }
    let start = &start[..filled];
    Ok(if start == SQLITE_MAGIC {
        FileKind::Sqlite
    } else if start.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        FileKind::Json
    } else {
        FileKind::Other
    })
}

fn not_a_state_file(path: &Path) -> anyhow::Error {
    usage(format!(
        "`{}` is not a mailtug state file; give another --state file, or remove it with `mailtug state forget` to start over",
        path.display()
    ))
}

fn no_state(path: &Path) -> anyhow::Error {
    usage(format!("there is no state `{}`", path.display()))
}

fn damaged(path: &Path, e: &dyn std::fmt::Display) -> anyhow::Error {
    usage(format!(
        "state `{}` is damaged ({e}); remove it with `mailtug state forget` to start over",
        path.display()
    ))
}

/// Sets up a connection. WAL: a commit appends to the log instead of
/// rewriting pages in place; FULL: the log is fsynced at every commit, so a
/// committed batch survives a power cut. Exclusive locking (which must come
/// before the first access to apply to the log): the file stays locked while
/// it is open, as a run holds its job lock anyway, and the log's index lives
/// in memory instead of a `-shm` file, so on a full disk a run fails only
/// when it has something to record and `state show` still reads.
/// How a run of the job went, kept in its state for `mailtug state list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LastRun {
    /// `running` (until it ends; if it never does, it was killed),
    /// `finished`, `failed` (some messages or folders failed, or the run
    /// stopped on an error) or `interrupted`.
    pub status: String,
    /// Seconds since the epoch.
    pub started: u64,
    pub ended: Option<u64>,
    pub messages_copied: u64,
    pub messages_duplicate: u64,
    pub messages_failed: u64,
    pub bytes_copied: u64,
}

/// Records `run` as the last run of the job whose state is at `path`, on a
/// connection of its own (the run's writer may still hold one).
pub fn record_last_run(path: &Path, run: &LastRun) -> Result<()> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .with_context(|| format!("opening state `{}`", path.display()))?;
    configure(&conn, path)?;
    write_last_run(&conn, path, run)
}

fn write_last_run(conn: &Connection, path: &Path, run: &LastRun) -> Result<()> {
    let text = serde_json::to_string(run)?;
    // How a run went is worth no fsync of its own: a no-op run would pay
    // two, and a status lost with a power cut is only a status (the next
    // commit makes it durable anyway).
    conn.pragma_update(None, "synchronous", "OFF")
        .map_err(|e| explain(conn, path, e))?;
    let written = conn
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS last_run \
         (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), run TEXT NOT NULL)",
        )
        .and_then(|()| {
            conn.execute(
                "INSERT INTO last_run (singleton, run) VALUES (1, ?1) \
             ON CONFLICT (singleton) DO UPDATE SET run = excluded.run",
                [text],
            )
        })
        .with_context(|| format!("recording the run in state `{}`", path.display()));
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| explain(conn, path, e))?;
    written.map(|_| ())
}

fn configure(conn: &Connection, path: &Path) -> Result<()> {
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .and_then(|()| conn.busy_timeout(std::time::Duration::from_secs(2)))
        .and_then(|()| conn.pragma_update(None, "journal_mode", "WAL"))
        .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
        .and_then(|()| conn.pragma_update(None, "foreign_keys", "ON"))
        .map_err(|e| explain(conn, path, e))
}

/// Turns a SQLite error into one that says what happened to the file: a
/// file that is not a database (or is damaged) is the user's to decide
/// (exit 2); an I/O failure carries the operating system's reason (`No
/// space left on device`), which SQLite itself does not print; a file
/// locked by a running job says so.
fn explain(conn: &Connection, path: &Path, e: rusqlite::Error) -> anyhow::Error {
    use rusqlite::ErrorCode;
    let code = e.sqlite_error_code();
    match code {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => damaged(path, &e),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => anyhow!(
            "state `{}` is in use by a running mailtug job; try again when it has finished",
            path.display()
        ),
        Some(ErrorCode::SystemIoFailure | ErrorCode::DiskFull | ErrorCode::CannotOpen) => {
            // SAFETY: the handle is only read, on the thread that owns the
            // connection, right after the failed call.
            let mut errno = unsafe { rusqlite::ffi::sqlite3_system_errno(conn.handle()) };
            if errno == 0 && code == Some(ErrorCode::DiskFull) {
                // SQLite clears the errno of the write that found no room.
                errno = libc::ENOSPC;
            }
            let error = anyhow::Error::new(e);
            if errno != 0 {
                error.context(std::io::Error::from_raw_os_error(errno).to_string())
            } else {
                error
            }
        }
        _ => anyhow::Error::new(e),
    }
}

fn initialise(conn: &mut Connection, job: &JobKey) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    tx.execute(
        "INSERT INTO job (singleton, source, destination, options, fingerprint_rules, updated) \
         VALUES (1, ?1, ?2, ?3, ?4, 0)",
        params![
            job.source,
            job.destination,
            serde_json::to_string(&job.options).expect("options serialise"),
            i64::from(fingerprint::RULES)
        ],
    )?;
    tx.pragma_update(None, "user_version", FORMAT)?;
    tx.commit()?;
    Ok(())
}

/// Creates an empty state file, 0600 from the start (SQLite gives its
/// journal files the mode of the database file).
fn create_empty(path: &Path, job: &JobKey) -> Result<()> {
    build_file(path, |conn| initialise(conn, job))
}

/// Builds a state file next to `path` and moves it into place only once it
/// is complete and durable, so a crash leaves the old file or the new one.
fn build_file(path: &Path, fill: impl FnOnce(&mut Connection) -> Result<()>) -> Result<()> {
    let dir = crate::checkpoint::parent_dir(path);
    crate::checkpoint::create_private_dir(dir)?;
    let temp = durable::temp_path(path);
    let made = (|| -> Result<()> {
        durable::create_private_file(&temp)?;
        let mut conn = Connection::open(&temp)?;
        fill(&mut conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.close().map_err(|(_, e)| e)?;
        durable::sync_file(&temp)?;
        durable::rename_durably(&temp, path)?;
        Ok(())
    })();
    if made.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    made.with_context(|| format!("creating state `{}`", path.display()))
}

fn load_checkpoint(path: &Path) -> Result<Checkpoint> {
    Checkpoint::load(path)?.ok_or_else(|| no_state(path))
}

/// Turns the JSON checkpoint at `json` into a state file at `path` (which
/// may be the same file: it is replaced atomically).
fn migrate(json: &Path, path: &Path) -> Result<()> {
    let checkpoint = load_checkpoint(json)?;
    build_file(path, |conn| import_checkpoint(conn, &checkpoint))
        .with_context(|| format!("migrating checkpoint `{}`", json.display()))?;
    crate::report::info(&format!(
        "migrated checkpoint `{}` to state `{}`",
        json.display(),
        path.display()
    ));
    Ok(())
}

/// Writes everything a JSON checkpoint records as rows. Messages it only
/// covered by a watermark (UIDs or mbox bytes below `through`) stay covered
/// by the folder's `through`; the rest become rows without a fingerprint.
fn import_checkpoint(conn: &mut Connection, checkpoint: &Checkpoint) -> Result<()> {
    initialise(conn, &checkpoint.job)?;
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE job SET updated = ?1, fingerprint_rules = ?2",
        params![
            checkpoint.updated as i64,
            i64::from(checkpoint.fingerprint_rules)
        ],
    )?;
    let mut ids = HashMap::new();
    for (folder, progress) in &checkpoint.folders {
        let id = upsert_folder(&tx, &mut ids, folder, progress)?;
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO messages (folder, source_key, source_end, stored) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        let now = checkpoint.updated as i64;
        match &progress.done {
            Done::Nothing => {}
            Done::Files { names } => {
                for name in names {
                    insert.execute(params![id, name, None::<i64>, now])?;
                }
            }
            Done::Uidls { delivered } => {
                for (uidl, when) in delivered {
                    insert.execute(params![id, uidl, None::<i64>, *when as i64])?;
                }
            }
            Done::Uids { above, .. } => {
                for uid in above {
                    insert.execute(params![id, i64::from(*uid), None::<i64>, now])?;
                }
            }
            Done::Offsets { above, .. } => {
                for (start, end) in above {
                    insert.execute(params![id, *start as i64, *end as i64, now])?;
                }
            }
        }
    }
    for (folder, cache) in &checkpoint.destinations {
        insert_index(&tx, folder, cache)?;
    }
    tx.commit()?;
    Ok(())
}

fn remove_lock_of(path: &Path) {
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    let _ = std::fs::remove_file(PathBuf::from(lock));
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

type Call = Box<dyn FnOnce(&mut State) + Send>;

/// The one thread that owns a job's [`State`]: async code hands it work and
/// awaits the answer, so SQLite's fsyncs never run on a runtime thread and no
/// lock is held across one.
#[derive(Clone)]
pub struct StateWriter {
    calls: std_mpsc::Sender<Call>,
}

/// Waits for the writer thread to finish, closing the database cleanly
/// (which folds the write-ahead log back into the file).
pub struct WriterThread(std::thread::JoinHandle<()>);

impl StateWriter {
    pub fn spawn(mut state: State) -> Result<(StateWriter, WriterThread)> {
        let (calls, inbox) = std_mpsc::channel::<Call>();
        let thread = std::thread::Builder::new()
            .name("mailtug-state".into())
            .spawn(move || {
                for call in inbox {
                    call(&mut state);
                }
            })
            .context("starting the state writer")?;
        Ok((StateWriter { calls }, WriterThread(thread)))
    }

    /// Runs `work` on the state and returns its result.
    pub async fn call<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut State) -> Result<R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send(Box::new(move |state| {
                let _ = reply.send(work(state));
            }))
            .map_err(|_| anyhow!("the state writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow!("the state writer has stopped"))?
    }
}

impl StateWriter {
    /// The recorded progress of a source folder, `None` the first time. A
    /// maildir folder's names are not loaded: its progress reads them from
    /// the state a page at a time, so memory does not grow with the folder.
    pub async fn folder(&self, folder: &FolderName) -> Result<Option<FolderProgress>> {
        let name = folder.clone();
        let progress = self
            .call(move |state| state.folder_without_names(&name))
            .await?;
        Ok(progress.map(|mut progress| {
            if let Done::Files { .. } = progress.done {
                progress.recorded = RecordedKeys::in_state(Arc::new(NamePages {
                    writer: self.clone(),
                    folder: folder.clone(),
                }));
            }
            progress
        }))
    }
}

/// A folder's recorded names, read from the state through its writer.
struct NamePages {
    writer: StateWriter,
    folder: FolderName,
}

impl KeyPages for NamePages {
    fn after(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<String>>> {
        let (writer, folder) = (self.writer.clone(), self.folder.clone());
        Box::pin(async move {
            writer
                .call(move |state| state.text_keys_after(&folder, after.as_deref(), limit))
                .await
        })
    }
}

impl WriterThread {
    /// Waits until every handle is dropped and the state is closed.
    pub async fn join(self) {
        let _ = tokio::task::spawn_blocking(move || self.0.join()).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn folder(name: &str) -> FolderName {
        FolderName::parse(name).unwrap()
    }

    fn fp(n: u32) -> Fingerprint {
        Fingerprint::MessageId(format!("<{n}@x>"))
    }

    fn job() -> JobKey {
        JobKey {
            source: "mbox:/a".into(),
            destination: "maildir:/b".into(),
            options: vec!["--folder=INBOX".into()],
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mailtug-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        durable::create_private_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn bytes_moved_are_kept_a_day_per_account_and_direction_across_opens() {
        let dir = temp_dir("daily");
        let path = dir.join("job.sqlite");
        let now = 1_800_000_000;
        {
            let mut state = State::open(&path, None, &job()).unwrap();
            assert_eq!(state.daily_bytes("imap://a", "download", now).unwrap(), []);
            state
                .add_daily_bytes("imap://a", "download", now - 90_000, 50)
                .unwrap();
            state
                .add_daily_bytes("imap://a", "download", now - 60, 700)
                .unwrap();
            state
                .add_daily_bytes("imap://a", "upload", now - 30, 10)
                .unwrap();
            state
                .add_daily_bytes("imap://b", "download", now - 20, 1)
                .unwrap();
        }
        let mut state = State::open(&path, None, &job()).unwrap();
        assert_eq!(
            state.daily_bytes("imap://a", "download", now).unwrap(),
            [(now - 60, 700)],
            "the row older than a day is gone"
        );
        assert_eq!(
            state.daily_bytes("imap://a", "upload", now).unwrap(),
            [(now - 30, 10)]
        );
        let rows: i64 = state
            .conn
            .query_row("SELECT count(*) FROM daily_bytes", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A checkpoint as the JSON release wrote them, with every kind of progress.
    fn every_kind() -> Checkpoint {
        let mut checkpoint = Checkpoint::new(job());
        checkpoint.updated = 1_700_000_000;
        checkpoint.folders.insert(
            folder("Maildir"),
            FolderProgress {
                identity: Some(FolderIdentity::Inode { dev: 1, ino: 2 }),
                done: Done::Files {
                    names: ["a", "b,S=12"].iter().map(|s| s.to_string()).collect(),
                },
                ..FolderProgress::default()
            },
        );
        checkpoint.folders.insert(
            folder("Mbox"),
            FolderProgress {
                identity: Some(FolderIdentity::Inode { dev: 1, ino: 3 }),
                done: Done::Offsets {
                    through: 500,
                    anchor: Some(Anchor {
                        start: 400,
                        end: 500,
                        fingerprint: fp(4),
                    }),
                    above: BTreeMap::from([(17_705, 18_000), (20_000, 20_100)]),
                },
                ..FolderProgress::default()
            },
        );
        checkpoint.folders.insert(
            folder("Imap/Sub"),
            FolderProgress {
                identity: Some(FolderIdentity::UidValidity { uid_validity: 7 }),
                done: Done::Uids {
                    through: 40,
                    above: BTreeSet::from([42, 50]),
                    uid_next: 0,
                },
                ..FolderProgress::default()
            },
        );
        checkpoint.folders.insert(
            folder("INBOX"),
            FolderProgress {
                identity: None,
                done: Done::Uidls {
                    delivered: BTreeMap::from([
                        ("u1".into(), 1_600_000_000),
                        ("u2".into(), 1_650_000_000),
                    ]),
                },
                ..FolderProgress::default()
            },
        );
        checkpoint
            .folders
            .insert(folder("Empty"), FolderProgress::default());
        checkpoint.destinations.insert(
            folder("INBOX"),
            IndexCache {
                uid_validity: 9,
                uid_next: 31,
                fingerprints: vec![fp(1), fp(2), Fingerprint::of(b"Subject: x\n\nbody\n")],
            },
        );
        checkpoint
    }

    #[test]
    fn a_json_checkpoint_migrates_without_losing_anything() {
        let dir = temp_dir("migrate");
        let legacy = dir.join("job.json");
        let path = dir.join("job.sqlite");
        let mut checkpoint = every_kind();
        checkpoint.save(&legacy).unwrap();
        let before = Checkpoint::load(&legacy).unwrap().unwrap();

        let state = State::open(&path, Some(&legacy), &job()).unwrap();
        let after = state.to_checkpoint().unwrap();
        assert_eq!(after.folders, before.folders);
        assert_eq!(after.destinations, before.destinations);
        assert_eq!(after.job, before.job);
        assert!(
            !legacy.exists(),
            "the JSON checkpoint is removed once migrated"
        );
        drop(state);

        // Reopened: the same.
        let again = State::open(&path, Some(&legacy), &job()).unwrap();
        assert_eq!(again.to_checkpoint().unwrap().folders, before.folders);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_explicit_json_state_file_is_replaced_by_its_migration() {
        let dir = temp_dir("in-place");
        let path = dir.join("job.json");
        every_kind().save(&path).unwrap();
        let state = State::open(&path, None, &job()).unwrap();
        assert_eq!(state.folder_names().len(), 5);
        drop(state);
        assert_eq!(file_kind(&path).unwrap(), FileKind::Sqlite);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn recorded_messages_come_back_with_their_destination_keys() {
        let dir = temp_dir("record");
        let path = dir.join("job.sqlite");
        let mut state = State::open(&path, None, &job()).unwrap();
        let inbox = folder("INBOX");
        let mut progress = FolderProgress::default();
        let mut flags = Flags::default();
        flags.set_imap("\\Seen");
        flags.set_imap("$Work");
        let stored: Vec<Stored> = [(0u64, 100u64), (100, 250)]
            .iter()
            .enumerate()
            .map(|(i, &(start, end))| Stored {
                key: SourceKey::Offset { start, end },
                fingerprint: fp(i as u32),
                destination_folder: folder("Archive"),
                destination_key: Some(DestinationKey::File(format!("17.M{i}.host"))),
                flags: Some(flags.clone()),
                bytes: end - start,
            })
            .collect();
        for message in &stored {
            progress.mark_done(&message.key, &message.fingerprint);
        }
        state.record(&inbox, &progress.summary(), &stored).unwrap();
        drop(state);

        let state = State::open(&path, None, &job()).unwrap();
        assert_eq!(state.folder(&inbox).unwrap(), Some(progress));
        let rows = state.messages(&inbox).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].source_key, serde_json::json!(100));
        assert_eq!(rows[1].source_end, Some(250));
        assert_eq!(rows[1].destination_key, serde_json::json!("17.M1.host"));
        assert_eq!(rows[1].destination_folder.as_deref(), Some("Archive"));
        assert_eq!(rows[1].flags.as_deref(), Some("\\Seen $Work"));
        assert_eq!(rows[1].fingerprint.as_deref(), Some("<1@x>"));
        assert_eq!(state.message_count().unwrap(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_state_of_another_job_or_format_is_refused_with_the_file_named() {
        let dir = temp_dir("refuse");
        let path = dir.join("job.sqlite");
        drop(State::open(&path, None, &job()).unwrap());
        let other = JobKey {
            source: "mbox:/other".into(),
            ..job()
        };
        let error = format!("{:#}", State::open(&path, None, &other).err().unwrap());
        assert!(
            error.contains("belongs to another job") && error.contains("job.sqlite"),
            "{error}"
        );

        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let error = format!("{:#}", State::open(&path, None, &job()).err().unwrap());
        assert!(
            error.contains("format 99") && error.contains("job.sqlite"),
            "{error}"
        );

        let garbage = dir.join("garbage");
        std::fs::write(&garbage, b"not a state").unwrap();
        let error = format!("{:#}", State::open(&garbage, None, &job()).err().unwrap());
        assert!(error.contains("not a mailtug state file"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_format_2_state_is_brought_to_format_3_and_keeps_its_progress() {
        let dir = temp_dir("format2");
        let path = dir.join("job.sqlite");
        let inbox = folder("INBOX");
        let mut progress = FolderProgress {
            identity: Some(FolderIdentity::UidValidity { uid_validity: 7 }),
            done: Done::Uids {
                through: 5,
                above: BTreeSet::new(),
                uid_next: 6,
            },
            ..FolderProgress::default()
        };
        {
            let mut state = State::open(&path, None, &job()).unwrap();
            state.save_folder(&inbox, &progress, &[]).unwrap();
        }
        // The file as the release before listing stamps left it.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "ALTER TABLE folders DROP COLUMN listing_stamp; \
             ALTER TABLE folders DROP COLUMN mirror_stamp; DROP TABLE set_aside; \
             PRAGMA user_version = 2;",
        )
        .unwrap();
        drop(conn);

        let mut state = State::open(&path, None, &job()).unwrap();
        let read = state.folder(&inbox).unwrap().unwrap();
        assert_eq!(read.identity, progress.identity);
        assert!(read.is_done(&SourceKey::Uid(5)));
        assert_eq!(read.listing_stamp, None);
        progress.listing_stamp = Some("new=1.2 cur=3.4".into());
        state.save_folder(&inbox, &progress, &[]).unwrap();
        drop(state);
        let state = State::open(&path, None, &job()).unwrap();
        let read = state.folder(&inbox).unwrap().unwrap();
        assert_eq!(read.listing_stamp.as_deref(), Some("new=1.2 cur=3.4"));
        let format: i64 = state
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(format, FORMAT);
        drop(state);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_format_3_file_written_before_format_3_was_whole_is_completed() {
        let dir = temp_dir("format3-partial");
        let path = dir.join("job.sqlite");
        drop(State::open(&path, None, &job()).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("ALTER TABLE folders DROP COLUMN mirror_stamp; DROP TABLE set_aside;")
            .unwrap();
        drop(conn);
        let mut state = State::open(&path, None, &job()).unwrap();
        let progress = FolderProgress {
            mirror_stamp: Some("1.2.3.4".into()),
            ..FolderProgress::default()
        };
        state.save_folder(&folder("INBOX"), &progress, &[]).unwrap();
        state.replace_folder(&folder("INBOX")).unwrap();
        drop(state);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dry_run_copy_never_writes_the_file() {
        let dir = temp_dir("copy");
        let path = dir.join("job.sqlite");
        drop(State::open(&path, None, &job()).unwrap());
        let before = std::fs::read(&path).unwrap();
        let mut copy = State::read_copy(&path, Some(&job())).unwrap();
        let inbox = folder("INBOX");
        let mut progress = FolderProgress::default();
        progress.mark_done(&SourceKey::Uid(5), &fp(5));
        copy.save_folder(&inbox, &progress.summary(), &[]).unwrap();
        assert!(copy.has_folder(&inbox));
        drop(copy);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(State::read_copy(&dir.join("missing.sqlite"), Some(&job())).is_ok());
        assert!(!dir.join("missing.sqlite").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
