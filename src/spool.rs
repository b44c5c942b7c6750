//! Sets that grow with a folder, kept on disk instead of in memory.
//!
//! A folder of a million messages has a million unique names to sort and
//! compare, and a million fingerprints to deduplicate against. Held in
//! memory they cost a few hundred bytes each; here they live in a private
//! temporary SQLite database (deleted when closed), whose page cache is
//! capped, so a run's memory stays flat whatever the folder's size. The
//! operating system's file cache keeps the lookups fast.
//!
//! A spool is held across the awaits of the task that reads it, so its
//! connection sits behind a mutex (SQLite connections are not `Sync`);
//! only that one task uses it, and the lock is never contended.
//!
//! These databases are scratch space: no journal, no fsync. A crash loses
//! them, and nothing depends on them surviving one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};

use crate::fingerprint::Fingerprint;

/// Page cache of each spool, in KiB (SQLite's negative `cache_size`).
const CACHE_KIB: i64 = 1024;

/// Rows written per transaction when filling a spool.
const ROWS_PER_TRANSACTION: usize = 10_000;

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic elsewhere cannot leave a scratch database half-changed in a
    // way that matters: its reader is gone with it.
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

fn scratch_database() -> Result<Connection> {
    // An empty path is SQLite's private temporary database: its file is
    // made only when the cache spills, in the temporary directory, and
    // removed on close.
    let conn = Connection::open("").context("creating a temporary database")?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; \
         PRAGMA cache_size = -{CACHE_KIB}; PRAGMA temp_store = FILE;"
    ))
    .context("setting up a temporary database")?;
    Ok(conn)
}

/// Fingerprints, for deduplication: the ones a destination folder holds and
/// the ones a run stored there. Shared by the task that reads the source
/// (to skip downloading duplicates) and the one that writes the sink.
pub struct FingerprintSpool {
    conn: Mutex<Connection>,
    len: AtomicU64,
}

impl std::fmt::Debug for FingerprintSpool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FingerprintSpool({} fingerprints)", self.len())
    }
}

impl FingerprintSpool {
    pub fn new() -> Result<FingerprintSpool> {
        let conn = scratch_database()?;
        conn.execute(
            "CREATE TABLE fingerprints (fingerprint TEXT PRIMARY KEY) WITHOUT ROWID",
            [],
        )
        .context("setting up a temporary database")?;
        Ok(FingerprintSpool {
            conn: Mutex::new(conn),
            len: AtomicU64::new(0),
        })
    }

    /// A spool holding `fingerprints` (for tests and small sets).
    pub fn of<'a>(fingerprints: impl IntoIterator<Item = &'a Fingerprint>) -> FingerprintSpool {
        let spool = FingerprintSpool::new().expect("a temporary database opens");
        spool
            .extend(fingerprints)
            .expect("a temporary database takes rows");
        spool
    }

    /// Adds fingerprints; one already there is kept once.
    pub fn extend<'a>(
        &self,
        fingerprints: impl IntoIterator<Item = &'a Fingerprint>,
    ) -> Result<()> {
        let mut conn = lock(&self.conn);
        let mut fingerprints = fingerprints.into_iter().peekable();
        while fingerprints.peek().is_some() {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO fingerprints (fingerprint) VALUES (?1)",
                )?;
                for fingerprint in fingerprints.by_ref().take(ROWS_PER_TRANSACTION) {
                    let added = insert.execute([fingerprint.to_string()])? as u64;
                    self.len.fetch_add(added, Ordering::Relaxed);
                }
            }
            tx.commit()?;
        }
        Ok(())
    }

    /// Whether the spool holds `fingerprint`. A lookup that fails (the
    /// temporary directory's disk failing) answers no, with a warning: a
    /// duplicate copied is better than a message left out.
    pub fn contains(&self, fingerprint: &Fingerprint) -> bool {
        let found = lock(&self.conn)
            .prepare_cached("SELECT 1 FROM fingerprints WHERE fingerprint = ?1")
            .and_then(|mut select| {
                select
                    .query_row([fingerprint.to_string()], |_| Ok(()))
                    .optional()
            });
        match found {
            Ok(found) => found.is_some(),
            Err(e) => {
                crate::report::warn(&format!(
                    "looking up {fingerprint} for deduplication failed ({e}); copying it"
                ));
                false
            }
        }
    }

    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One entry of a folder's listing: its sort key (the unique name), and
/// where the store finds it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// The store's own note of where the entry is (a file name, a path).
    pub place: Vec<u8>,
}

/// A folder's listing, sorted by key, against the keys an earlier run
/// recorded as done: what is pending, and what has vanished since.
pub struct ListingSpool {
    conn: Mutex<Connection>,
    /// Entries whose key was listed twice (the same unique name in `new/`
    /// and `cur/` while a mail reader moves it): the first is kept.
    pub repeated: u64,
}

impl ListingSpool {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    pub fn new() -> Result<ListingSpool> {
        let conn = scratch_database()?;
        conn.execute_batch(
            "CREATE TABLE listing (key TEXT PRIMARY KEY, place BLOB NOT NULL) WITHOUT ROWID; \
             CREATE TABLE done (key TEXT PRIMARY KEY) WITHOUT ROWID;",
        )
        .context("setting up a temporary database")?;
        Ok(ListingSpool {
            conn: Mutex::new(conn),
            repeated: 0,
        })
    }

    /// Adds listed entries.
    pub fn list(&mut self, entries: impl IntoIterator<Item = Listed>) -> Result<()> {
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let conn = self.conn.get_mut().unwrap_or_else(|e| e.into_inner());
            let tx = conn.transaction()?;
            {
                let mut insert = tx
                    .prepare_cached("INSERT OR IGNORE INTO listing (key, place) VALUES (?1, ?2)")?;
                for entry in entries.by_ref().take(ROWS_PER_TRANSACTION) {
                    if insert.execute(params![entry.key, entry.place])? == 0 {
                        self.repeated += 1;
                    }
                }
            }
            tx.commit()?;
        }
        Ok(())
    }

    /// Adds keys recorded as done.
    pub fn done<S: AsRef<str>>(&mut self, keys: impl IntoIterator<Item = S>) -> Result<()> {
        let mut keys = keys.into_iter().peekable();
        while keys.peek().is_some() {
            let conn = self.conn.get_mut().unwrap_or_else(|e| e.into_inner());
            let tx = conn.transaction()?;
            {
                let mut insert =
                    tx.prepare_cached("INSERT OR IGNORE INTO done (key) VALUES (?1)")?;
                for key in keys.by_ref().take(ROWS_PER_TRANSACTION) {
                    insert.execute([key.as_ref()])?;
                }
            }
            tx.commit()?;
        }
        Ok(())
    }

    /// How many listed entries are not done.
    pub fn pending(&self) -> Result<u64> {
        let count: i64 = self.conn().query_row(
            "SELECT count(*) FROM listing WHERE key NOT IN (SELECT key FROM done)",
            [],
            |row| row.get(0),
        )?;
        Ok(count as u64)
    }

    /// Up to `limit` entries not done, in key order, after `after`.
    pub fn pending_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>> {
        self.page(
            "SELECT key, place FROM listing WHERE key > ?1 \
             AND key NOT IN (SELECT key FROM done) ORDER BY key LIMIT ?2",
            after,
            limit,
        )
    }

    /// Up to `limit` entries, done or not, in key order, after `after`.
    pub fn entries_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>> {
        self.page(
            "SELECT key, place FROM listing WHERE key > ?1 ORDER BY key LIMIT ?2",
            after,
            limit,
        )
    }

    fn page(&self, sql: &str, after: Option<&str>, limit: usize) -> Result<Vec<Listed>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(sql)?;
        // Every key sorts after the empty string.
        let rows = statement.query_map(params![after.unwrap_or(""), limit as i64], |row| {
            Ok(Listed {
                key: row.get(0)?,
                place: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Keys done but no longer listed, in key order.
    pub fn vanished(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT key FROM done WHERE key NOT IN (SELECT key FROM listing) ORDER BY key",
        )?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(key: &str) -> Listed {
        Listed {
            key: key.to_string(),
            place: format!("cur/{key}:2,S").into_bytes(),
        }
    }

    #[test]
    fn pending_and_vanished_come_from_the_listing_against_the_done_keys() {
        let mut spool = ListingSpool::new().unwrap();
        spool
            .list(["c", "a", "e", "b", "d"].into_iter().map(listed))
            .unwrap();
        spool.list([listed("a")]).unwrap();
        spool.done(["b", "d", "z", "y"]).unwrap();
        assert_eq!(spool.repeated, 1);
        assert_eq!(spool.pending().unwrap(), 3);
        let first = spool.pending_after(None, 2).unwrap();
        assert_eq!(first, vec![listed("a"), listed("c")]);
        let rest = spool.pending_after(Some("c"), 2).unwrap();
        assert_eq!(rest, vec![listed("e")]);
        assert_eq!(spool.vanished().unwrap(), ["y", "z"]);
        assert_eq!(spool.entries_after(Some("c"), 10).unwrap().len(), 2);
    }

    #[test]
    fn a_spool_larger_than_its_cache_keeps_every_row_in_order() {
        let mut spool = ListingSpool::new().unwrap();
        let keys: Vec<String> = (0..60_000).rev().map(|n| format!("{n:08}.M1P1")).collect();
        spool.list(keys.iter().map(|key| listed(key))).unwrap();
        spool
            .done(keys.iter().filter(|k| k.starts_with("0000")))
            .unwrap();
        assert_eq!(spool.pending().unwrap(), 50_000);
        let mut after = None;
        let mut seen = 0;
        loop {
            let page = spool.pending_after(after.as_deref(), 7_000).unwrap();
            let Some(last) = page.last() else { break };
            assert!(page.windows(2).all(|w| w[0].key < w[1].key));
            seen += page.len();
            after = Some(last.key.clone());
        }
        assert_eq!(seen, 50_000);
    }

    #[test]
    fn fingerprints_are_found_and_counted_once() {
        let a: Fingerprint = "<a@example.org>".parse().unwrap();
        let b: Fingerprint = "<b@example.org>".parse().unwrap();
        let spool = FingerprintSpool::of([&a, &a]);
        assert_eq!(spool.len(), 1);
        assert!(spool.contains(&a) && !spool.contains(&b));
        spool.extend([&b, &a]).unwrap();
        assert!(spool.contains(&a) && spool.contains(&b));
        assert_eq!(spool.len(), 2);
    }
}
