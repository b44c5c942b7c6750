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
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};

use crate::fingerprint::Fingerprint;
use crate::store::{Elsewhere, Location};

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
///
/// Each fingerprint is kept once with the number of messages that have it,
/// so the spool also knows how many messages it describes (a destination
/// may hold the same message twice).
pub struct FingerprintSpool {
    conn: Mutex<Connection>,
    /// Messages described (each copy counted).
    messages: AtomicU64,
    /// Mirror: where else the destination holds messages, so one moved
    /// between source folders is copied there rather than read again.
    elsewhere: Option<Arc<dyn Elsewhere>>,
}

impl std::fmt::Debug for FingerprintSpool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FingerprintSpool({} messages)", self.messages())
    }
}

impl FingerprintSpool {
    pub fn new() -> Result<FingerprintSpool> {
        let conn = scratch_database()?;
        conn.execute_batch(
            "CREATE TABLE fingerprints (fingerprint TEXT PRIMARY KEY, copies INTEGER NOT NULL, \
             this_run INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID; \
             CREATE TABLE arrivals (fingerprint TEXT NOT NULL, uid INTEGER NOT NULL); \
             CREATE INDEX arrivals_by_fingerprint ON arrivals(fingerprint);",
        )
        .context("setting up a temporary database")?;
        Ok(FingerprintSpool {
            conn: Mutex::new(conn),
            messages: AtomicU64::new(0),
            elsewhere: None,
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

    /// The spool, also finding messages the destination holds in its other
    /// folders ([`FingerprintSpool::stored_elsewhere`]).
    pub fn looking_elsewhere(mut self, elsewhere: Arc<dyn Elsewhere>) -> FingerprintSpool {
        self.elsewhere = Some(elsewhere);
        self
    }

    /// Where the destination holds a message with `fingerprint` and
    /// `wire_size` in another folder, when this spool looks elsewhere at
    /// all and it does.
    pub async fn stored_elsewhere(
        &self,
        fingerprint: &Fingerprint,
        wire_size: u64,
    ) -> Result<Option<Location>> {
        match &self.elsewhere {
            Some(elsewhere) => elsewhere.find(fingerprint, wire_size).await,
            None => Ok(None),
        }
    }

    /// For each (fingerprint, wire size), whether another folder of the
    /// destination holds such a message (all false when this spool does
    /// not look elsewhere).
    pub async fn held_elsewhere(&self, wanted: Vec<(Fingerprint, u64)>) -> Result<Vec<bool>> {
        match &self.elsewhere {
            Some(elsewhere) if !wanted.is_empty() => elsewhere.holds_any(wanted).await,
            _ => Ok(vec![false; wanted.len()]),
        }
    }

    /// Whether this spool looks in other folders of the destination.
    pub fn looks_elsewhere(&self) -> bool {
        self.elsewhere.is_some()
    }

    /// Notes messages that arrived in the destination folder since an
    /// earlier run indexed it, with their UIDs: one may be the copy a run
    /// killed before recording it stored ([`FingerprintSpool::arrivals`]).
    pub fn note_arrivals(&self, arrived: &[(Fingerprint, u32)]) -> Result<()> {
        let mut conn = lock(&self.conn);
        let tx = conn.transaction()?;
        {
            let mut insert =
                tx.prepare_cached("INSERT INTO arrivals (fingerprint, uid) VALUES (?1, ?2)")?;
            for (fingerprint, uid) in arrived {
                insert.execute(params![fingerprint.to_string(), uid])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The UIDs of the arrivals with `fingerprint`, ascending.
    pub fn arrivals(&self, fingerprint: &Fingerprint) -> Result<Vec<u32>> {
        let conn = lock(&self.conn);
        let mut select =
            conn.prepare_cached("SELECT uid FROM arrivals WHERE fingerprint = ?1 ORDER BY uid")?;
        let uids = select.query_map([fingerprint.to_string()], |row| row.get(0))?;
        Ok(uids.collect::<rusqlite::Result<_>>()?)
    }

    /// Adds the fingerprints of messages, one each.
    pub fn extend<'a>(
        &self,
        fingerprints: impl IntoIterator<Item = &'a Fingerprint>,
    ) -> Result<()> {
        self.extend_counted(fingerprints.into_iter().map(|f| (f.to_string(), 1)))
    }

    /// Adds fingerprints (as text, as [`FingerprintSpool::page`] gives
    /// them) with how many messages have each.
    pub fn extend_counted(
        &self,
        fingerprints: impl IntoIterator<Item = (String, u64)>,
    ) -> Result<()> {
        self.insert(fingerprints, false)
    }

    /// Adds the fingerprints of messages this run stored, one each; a
    /// fingerprint the folder held before stays one it held before.
    pub fn extend_this_run<'a>(
        &self,
        fingerprints: impl IntoIterator<Item = &'a Fingerprint>,
    ) -> Result<()> {
        self.insert(fingerprints.into_iter().map(|f| (f.to_string(), 1)), true)
    }

    /// Adds counted fingerprints, a transaction per many rows; `this_run`
    /// tags those new to the spool as stored by this run.
    fn insert(
        &self,
        fingerprints: impl IntoIterator<Item = (String, u64)>,
        this_run: bool,
    ) -> Result<()> {
        let mut conn = lock(&self.conn);
        let mut fingerprints = fingerprints.into_iter().peekable();
        while fingerprints.peek().is_some() {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO fingerprints (fingerprint, copies, this_run) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (fingerprint) DO UPDATE SET copies = copies + excluded.copies",
                )?;
                for (fingerprint, copies) in fingerprints.by_ref().take(ROWS_PER_TRANSACTION) {
                    insert.execute(params![fingerprint, copies as i64, this_run])?;
                    self.messages.fetch_add(copies, Ordering::Relaxed);
                }
            }
            tx.commit()?;
        }
        Ok(())
    }

    /// Whether `fingerprint` is only here because this run stored it
    /// (`extend_this_run`): another copy of it is a duplicate within the
    /// source, not a message the destination already had.
    pub fn stored_this_run(&self, fingerprint: &Fingerprint) -> bool {
        lock(&self.conn)
            .prepare_cached("SELECT this_run FROM fingerprints WHERE fingerprint = ?1")
            .and_then(|mut select| {
                select
                    .query_row([fingerprint.to_string()], |row| row.get::<_, i64>(0))
                    .optional()
            })
            .ok()
            .flatten()
            == Some(1)
    }

    /// Empties the spool (a destination folder indexed again from scratch).
    pub fn clear(&self) -> Result<()> {
        lock(&self.conn).execute_batch("DELETE FROM fingerprints; DELETE FROM arrivals;")?;
        self.messages.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Up to `limit` fingerprints after `after` in text order, each with
    /// how many messages have it.
    pub fn page(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, u64)>> {
        let conn = lock(&self.conn);
        let mut statement = conn.prepare_cached(
            "SELECT fingerprint, copies FROM fingerprints WHERE fingerprint > ?1 \
             ORDER BY fingerprint LIMIT ?2",
        )?;
        let rows = statement.query_map(params![after.unwrap_or(""), limit as i64], |row| {
            Ok((row.get(0)?, row.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every fingerprint, once each (for `verify`, which compares sets).
    pub fn to_vec(&self) -> Result<Vec<Fingerprint>> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.page(after.as_deref(), 10_000)?;
            let Some((last, _)) = page.last() else {
                return Ok(all);
            };
            after = Some(last.clone());
            for (text, _) in page {
                all.push(text.parse().map_err(|_| {
                    anyhow::anyhow!("a temporary database gave back `{text}`, not a fingerprint")
                })?);
            }
        }
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

    /// How many messages the spool describes (each copy counted).
    pub fn messages(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.messages() == 0
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
///
/// Entries arrive in directory order, which is random; inserted into a
/// sorted tree one by one, each would land on a random page, and with a
/// small cache every insert would read and write pages. So they are
/// appended as they come and sorted once, by building an index that holds
/// every column (SQLite sorts in runs spilled to disk and merges them).
/// The done keys come from the state in key order too, and the two sorted
/// streams are merged a page at a time ([`Reconcile`]): the entries not
/// done are appended, still in key order, to a table `fetch` reads.
pub struct ListingSpool {
    conn: Mutex<Connection>,
    sorted: bool,
    pending: u64,
}

impl ListingSpool {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    fn conn_mut(&mut self) -> &mut Connection {
        self.conn.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    pub fn new() -> Result<ListingSpool> {
        let conn = scratch_database()?;
        conn.execute_batch(
            "CREATE TABLE listing (key TEXT NOT NULL, place BLOB NOT NULL); \
             CREATE TABLE pending (key TEXT NOT NULL, place BLOB NOT NULL);",
        )
        .context("setting up a temporary database")?;
        Ok(ListingSpool {
            conn: Mutex::new(conn),
            sorted: false,
            pending: 0,
        })
    }

    /// Adds listed entries; all of them come before [`ListingSpool::sort`].
    pub fn list(&mut self, entries: impl IntoIterator<Item = Listed>) -> Result<()> {
        debug_assert!(!self.sorted, "entries listed after the listing was sorted");
        append(self.conn_mut(), "listing", entries)
    }

    /// Sorts the listing, once every entry is in; returns how many keys
    /// were listed more than once (the same unique name in `new/` and
    /// `cur/` while a mail reader moves it: the first in key order is read).
    pub fn sort(&mut self) -> Result<u64> {
        let conn = self.conn_mut();
        conn.execute("CREATE INDEX listing_by_key ON listing (key, place)", [])?;
        let repeated: i64 = conn.query_row(
            "SELECT count(*) - count(DISTINCT key) FROM listing",
            [],
            |row| row.get(0),
        )?;
        self.sorted = true;
        Ok(repeated as u64)
    }

    /// Starts comparing the sorted listing with the done keys.
    pub fn reconcile(&mut self) -> Reconcile<'_> {
        debug_assert!(self.sorted, "a listing compared before it was sorted");
        Reconcile {
            spool: self,
            page: std::collections::VecDeque::new(),
            after: None,
            exhausted: false,
            pending: Vec::new(),
            vanished: Vec::new(),
        }
    }

    /// How many listed keys are not done (known once reconciled).
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Up to `limit` entries not done, in key order, after the `after`-th.
    pub fn pending_page(&self, after: u64, limit: usize) -> Result<Vec<Listed>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT key, place FROM pending WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
        )?;
        let rows = statement.query_map(params![after as i64, limit as i64], read_listed)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Up to `limit` entries, done or not, in key order, after key `after`;
    /// each key once.
    pub fn entries_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<Listed>> {
        debug_assert!(self.sorted);
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT key, place FROM listing INDEXED BY listing_by_key WHERE key > ?1 \
             ORDER BY key LIMIT ?2",
        )?;
        // Every key sorts after the empty string.
        let rows = statement.query_map(params![after.unwrap_or(""), limit as i64], read_listed)?;
        let mut page: Vec<Listed> = rows.collect::<rusqlite::Result<_>>()?;
        // A key listed twice is read once; the next page starts after it.
        page.dedup_by(|later, earlier| later.key == earlier.key);
        Ok(page)
    }
}

impl ListingSpool {
    /// The entry listed under each of `keys` (the first in key order when
    /// listed twice), `None` for a key not listed.
    pub fn find(&self, keys: &[String]) -> Result<Vec<Option<Listed>>> {
        debug_assert!(self.sorted);
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT key, place FROM listing INDEXED BY listing_by_key WHERE key = ?1 \
             ORDER BY key, place LIMIT 1",
        )?;
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            found.push(statement.query_row([key], read_listed).optional()?);
        }
        Ok(found)
    }
}

fn read_listed(row: &rusqlite::Row<'_>) -> rusqlite::Result<Listed> {
    Ok(Listed {
        key: row.get(0)?,
        place: row.get(1)?,
    })
}

/// Appends entries to `table`, a transaction per batch of rows.
fn append(
    conn: &mut Connection,
    table: &str,
    entries: impl IntoIterator<Item = Listed>,
) -> Result<()> {
    let sql = format!("INSERT INTO {table} (key, place) VALUES (?1, ?2)");
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(&sql)?;
            for entry in entries.by_ref().take(ROWS_PER_TRANSACTION) {
                insert.execute(params![entry.key, entry.place])?;
            }
        }
        tx.commit()?;
    }
    Ok(())
}

/// Listed entries read from the sorted listing at a time.
const MERGE_PAGE: usize = 10_000;

/// A merge of the sorted listing with the done keys, fed in key order a
/// page at a time: holds one page of each, whatever the folder's size.
pub struct Reconcile<'a> {
    spool: &'a mut ListingSpool,
    /// Listed entries read ahead, not yet compared.
    page: std::collections::VecDeque<Listed>,
    /// The last key read from the listing.
    after: Option<String>,
    exhausted: bool,
    /// Entries found not done, waiting to be appended.
    pending: Vec<Listed>,
    vanished: Vec<String>,
}

impl Reconcile<'_> {
    /// Compares the next done keys, which must come in key order, after
    /// every key of earlier calls.
    pub fn done<S: AsRef<str>>(&mut self, keys: impl IntoIterator<Item = S>) -> Result<()> {
        for key in keys {
            let key = key.as_ref();
            loop {
                let Some(next) = self.peek()? else {
                    self.vanished.push(key.to_string());
                    break;
                };
                match next.key.as_str().cmp(key) {
                    std::cmp::Ordering::Less => self.take_pending()?,
                    std::cmp::Ordering::Equal => {
                        self.page.pop_front();
                        break;
                    }
                    std::cmp::Ordering::Greater => {
                        self.vanished.push(key.to_string());
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Ends the comparison: every entry left is pending. Returns the done
    /// keys that are no longer listed, in key order.
    pub fn finish(mut self) -> Result<Vec<String>> {
        while self.peek()?.is_some() {
            self.take_pending()?;
        }
        self.flush()?;
        Ok(self.vanished)
    }

    /// The next listed entry, each key once.
    fn peek(&mut self) -> Result<Option<&Listed>> {
        if self.page.is_empty() && !self.exhausted {
            let page = self
                .spool
                .entries_after(self.after.as_deref(), MERGE_PAGE)?;
            match page.last() {
                Some(last) => self.after = Some(last.key.clone()),
                None => self.exhausted = true,
            }
            self.page.extend(page);
        }
        Ok(self.page.front())
    }

    fn take_pending(&mut self) -> Result<()> {
        if let Some(entry) = self.page.pop_front() {
            self.pending.push(entry);
            if self.pending.len() >= ROWS_PER_TRANSACTION {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let entries = std::mem::take(&mut self.pending);
        self.spool.pending += entries.len() as u64;
        append(self.spool.conn_mut(), "pending", entries)
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

    /// Reconciles `listing` against `done`, the done keys fed in pages of
    /// `page` keys; returns the pending keys and the vanished ones.
    fn reconcile(listing: &[&str], done: &[&str], page: usize) -> (Vec<String>, Vec<String>) {
        let mut spool = ListingSpool::new().unwrap();
        spool.list(listing.iter().map(|key| listed(key))).unwrap();
        spool.sort().unwrap();
        let mut merge = spool.reconcile();
        for keys in done.chunks(page.max(1)) {
            merge.done(keys).unwrap();
        }
        let vanished = merge.finish().unwrap();
        let mut pending = Vec::new();
        loop {
            let got = spool.pending_page(pending.len() as u64, 2).unwrap();
            if got.is_empty() {
                break;
            }
            pending.extend(got.into_iter().map(|l| l.key));
        }
        assert_eq!(spool.pending(), pending.len() as u64);
        (pending, vanished)
    }

    #[test]
    fn pending_and_vanished_come_from_the_listing_against_the_done_keys() {
        let listing = ["c", "a", "e", "b", "d", "a"];
        for page in [1, 2, 10] {
            let (pending, vanished) = reconcile(&listing, &["0", "b", "d", "y", "z"], page);
            assert_eq!(pending, ["a", "c", "e"], "done keys in pages of {page}");
            assert_eq!(vanished, ["0", "y", "z"], "done keys in pages of {page}");
        }
        assert_eq!(reconcile(&listing, &[], 1).0, ["a", "b", "c", "d", "e"]);
        assert_eq!(reconcile(&[], &["a"], 1), (vec![], vec!["a".to_string()]));
        let mut spool = ListingSpool::new().unwrap();
        spool.list(listing.iter().map(|key| listed(key))).unwrap();
        assert_eq!(spool.sort().unwrap(), 1);
        assert_eq!(spool.entries_after(Some("c"), 10).unwrap().len(), 2);
    }

    #[test]
    fn a_spool_larger_than_its_cache_keeps_every_row_in_order() {
        let keys: Vec<String> = (0..60_000).rev().map(|n| format!("{n:08}.M1P1")).collect();
        let listing: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut done: Vec<&str> = listing
            .iter()
            .copied()
            .filter(|k| k.starts_with("0000"))
            .collect();
        done.sort();
        let (pending, vanished) = reconcile(&listing, &done, 7_000);
        assert_eq!(pending.len(), 50_000);
        assert!(pending.windows(2).all(|w| w[0] < w[1]));
        assert!(vanished.is_empty());
    }

    #[test]
    fn fingerprints_are_found_counted_and_paged() {
        let a: Fingerprint = "<a@example.org>".parse().unwrap();
        let b: Fingerprint = "<b@example.org>".parse().unwrap();
        let spool = FingerprintSpool::of([&a, &a]);
        assert_eq!(spool.messages(), 2);
        assert!(spool.contains(&a) && !spool.contains(&b));
        spool.extend([&b, &a]).unwrap();
        assert!(spool.contains(&a) && spool.contains(&b));
        assert_eq!(spool.messages(), 4);
        let page = spool.page(None, 10).unwrap();
        assert_eq!(page, [(a.to_string(), 3), (b.to_string(), 1)]);
        let copy = FingerprintSpool::new().unwrap();
        copy.extend_counted(page).unwrap();
        assert_eq!(
            (copy.messages(), copy.to_vec().unwrap()),
            (4, vec![a.clone(), b])
        );
        copy.clear().unwrap();
        assert!(copy.is_empty() && !copy.contains(&a));
    }
}
