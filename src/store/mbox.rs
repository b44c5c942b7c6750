//! mbox files and directories of them, in mboxrd form.
//!
//! `mbox:FILE` is one folder (INBOX). `mbox:DIR` is a tree: each `*.mbox`
//! file, or other file that starts with a `From ` line, is a folder, and
//! nested directories (also Thunderbird's `Name.sbd/`) are the hierarchy.
//!
//! Writing keeps the file whole across crashes: before the first byte of a
//! batch goes past the committed end, a journal file `.NAME.mailtug-journal`
//! records that end and is made durable; `commit` fsyncs the mbox and only
//! then removes the journal. A run that finds a journal truncates the mbox
//! back to the recorded end, so a half-written message never survives and the
//! checkpoint (saved only after `commit`) never names bytes that are gone.
//! Writers lock the file with `flock` and a `NAME.lock` dotlock, as mutt,
//! Dovecot and procmail expect.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::checkpoint::{Done, FolderProgress};
use crate::checkpoint::{FolderIdentity, IndexMark};
use crate::durable;
use crate::error::{refused_if_local, Refused};
use crate::exit;
use crate::fingerprint::Fingerprint;
use crate::folder::{mbox_relative_path, FolderName};
use crate::mboxrd::{self, MboxFormat, MboxReader};
use crate::message::DestinationKey;
use crate::message::{Flags, Form, MaildirFile, Message, SourceKey};
use crate::report;
use crate::spool::{Listed, ListingSpool};
use crate::store::{
    Capabilities, Committed, Create, Fetched, Filters, FingerprintSet, FlagsNow, FolderStats,
    FolderStatus, Opened, Outbox, SingleFolder, Sink, Source,
};

const READ_BUFFER: usize = 256 * 1024;
const WRITE_BUFFER: usize = 256 * 1024;
/// A dotlock whose owner cannot be identified is taken over after this long
/// (procmail and mutt use similar timeouts).
const STALE_DOTLOCK: Duration = Duration::from_secs(10 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// One file: the INBOX.
    File,
    /// A directory tree of mbox files.
    Directory,
}

/// What mbox files can do: keywords are kept by name (`X-Keywords:`), a
/// message is known by its offset in a file only ever appended to, and a
/// file changes only at its end, so neither flags nor messages change in
/// place. As a mirror source, a file is read again for the flags its
/// messages have now (another program may have rewritten their headers).
/// `single_file`: the destination is one file, one folder.
pub fn capabilities(single_file: bool) -> Capabilities {
    Capabilities {
        noun: "an mbox file",
        single_folder: single_file.then_some(SingleFolder::File),
        deletes_at_source: false,
        is_maildrop: false,
        form: Form::File,
        keeps_unnamed_keyword_letters: false,
        special_use: false,
        stable_message_keys: true,
        fingerprints_first: false,
        mirrors_from: true,
        updates_flags: false,
        deletes_at_destination: false,
        copies_within: false,
        has_other_writers: false,
    }
}

pub struct Mbox {
    root: PathBuf,
    layout: Layout,
    read_only: bool,
    /// Files found by `folders()`, so odd file names still open the right file.
    files: BTreeMap<FolderName, PathBuf>,
    source: Option<SourceFolder>,
    sink: Option<SinkFile>,
    /// As a source: which messages to offer.
    filters: Filters,
    /// `--mbox-format`; `None` is `auto`: each file as it shows itself.
    format: Option<MboxFormat>,
    /// Opened as a source: what its listing skips is mail left unread.
    is_source: bool,
}

struct SourceFolder {
    path: PathBuf,
    format: MboxFormat,
    /// Where `fetch` starts: the checkpoint's contiguous prefix, or 0.
    resume_at: u64,
    /// Mirror: the flags of every message of the file by where it starts,
    /// read by the first `flags_of`. `open` reads only past the checkpoint,
    /// and the messages a mirror asks about are the ones before it.
    flags: Option<ListingSpool>,
}

struct SinkFile {
    name: FolderName,
    path: PathBuf,
    format: MboxFormat,
    writer: BufWriter<File>,
    /// The file length that is durable and that the checkpoint may cover.
    committed_len: u64,
    /// Bytes written past `committed_len` in this batch.
    written: u64,
    /// Where each message of this batch starts (its From_ line), in order.
    starts: Vec<u64>,
    /// Set while uncommitted bytes may exist past `committed_len`.
    journal: Option<PathBuf>,
    _dotlock: Dotlock,
}

impl Mbox {
    /// Opens an existing mbox file or directory as a source.
    pub fn open_source(path: &Path, filters: Filters, format: Option<MboxFormat>) -> Result<Mbox> {
        let meta = fs::metadata(path).map_err(|e| open_error(path, e))?;
        let layout = if meta.is_dir() {
            Layout::Directory
        } else if meta.is_file() {
            Layout::File
        } else {
            // A FIFO would block the first read until a writer came, and a
            // device such as /dev/zero never ends.
            return Err(exit::usage(format!(
                "mbox `{}` is not a regular file or a directory",
                path.display()
            )));
        };
        refuse_maildir(path)?;
        let mut mbox = Mbox::new(path, layout, true);
        mbox.filters = filters;
        mbox.format = format;
        mbox.is_source = true;
        Ok(mbox)
    }

    /// Opens an mbox destination. A path that does not exist yet becomes a
    /// single file when it ends in `.mbox`, and a directory tree otherwise.
    pub fn open_sink(path: &Path, format: Option<MboxFormat>) -> Result<Mbox> {
        // Created with its first folder, so a run that stops early leaves nothing.
        refuse_maildir(path)?;
        let layout = layout_for_sink(path)?;
        let mut mbox = Mbox::new(path, layout, false);
        mbox.format = format;
        mbox.remove_stale_dotlocks();
        Ok(mbox)
    }

    /// Opens an mbox destination only to read it; nothing is created or locked.
    pub fn open_read_only(path: &Path, format: Option<MboxFormat>) -> Result<Mbox> {
        refuse_maildir(path)?;
        let layout = layout_for_sink(path)?;
        let mut mbox = Mbox::new(path, layout, true);
        mbox.format = format;
        Ok(mbox)
    }

    /// The format to read and write `path` in: the one asked for, else the
    /// one the file shows (mboxrd for a file that does not exist yet).
    fn format_of(&self, path: &Path) -> Result<MboxFormat> {
        if let Some(format) = self.format {
            return Ok(format);
        }
        match File::open(path) {
            Ok(file) => mboxrd::detect_format(BufReader::new(file))
                .with_context(|| format!("reading mbox `{}`", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(MboxFormat::Mboxrd),
            Err(e) => Err(e).with_context(|| format!("opening mbox `{}`", path.display())),
        }
    }

    fn new(root: &Path, layout: Layout, read_only: bool) -> Mbox {
        Mbox {
            root: root.to_path_buf(),
            layout,
            read_only,
            files: BTreeMap::new(),
            source: None,
            sink: None,
            filters: Filters::default(),
            format: None,
            is_source: false,
        }
    }

    fn list_folders(&mut self) -> Result<Vec<FolderName>> {
        for (path, why) in self.list_files()? {
            if self.is_source {
                report::skipped(&path, &why);
            } else {
                report::warn(&format!("`{}`: {why}", path.display()));
            }
        }
        Ok(self.files.keys().cloned().collect())
    }

    /// Finds the folders' files; returns what was skipped, and why.
    fn list_files(&mut self) -> Result<Vec<(PathBuf, String)>> {
        let mut files = BTreeMap::new();
        let mut skipped = Vec::new();
        match self.layout {
            Layout::File => {
                if self.root.is_file() {
                    files.insert(FolderName::inbox(), self.root.clone());
                }
            }
            Layout::Directory => {
                if self.root.is_dir() {
                    find_mbox_files(&self.root, &mut Vec::new(), &mut files, &mut skipped)?;
                }
            }
        }
        self.files = files;
        Ok(skipped)
    }

    /// Removes the dotlocks that killed runs left beside destination files.
    /// Opening a folder takes over such a lock, but a run killed after a
    /// folder's last commit leaves its lock on a folder no later run opens
    /// (nothing new to copy), where mail readers would find it. The mbox is
    /// `flock`ed while its dotlock is checked, so a lock a live writer
    /// (another worker of this run included) takes meanwhile is never
    /// removed.
    fn remove_stale_dotlocks(&mut self) {
        let Ok(folders) = self.list_folders() else {
            return;
        };
        for folder in folders {
            let path = self.folder_path(&folder);
            let lock = dotlock_path(&path);
            durable::remove_stale_temps(&lock);
            if !lock.exists() {
                continue;
            }
            let Ok(file) = File::open(&path) else {
                continue;
            };
            if file.try_lock().is_ok() && dotlock_is_stale(&lock) {
                report::warn(&format!("removing stale lock `{}`", lock.display()));
                let _ = fs::remove_file(&lock);
            }
        }
    }

    fn folder_path(&self, folder: &FolderName) -> PathBuf {
        if let Some(path) = self.files.get(folder) {
            return path.clone();
        }
        match self.layout {
            Layout::File => self.root.clone(),
            Layout::Directory => self.root.join(mbox_relative_path(folder)),
        }
    }

    /// Closes the open destination file; uncommitted bytes are rolled back.
    fn close_sink(&mut self) -> Result<()> {
        if let Some(sink) = self.sink.take() {
            sink.roll_back()?;
        }
        Ok(())
    }
}

/// As a source, a file is read from where the checkpoint stops.
impl Source for Mbox {
    fn capabilities(&self) -> Capabilities {
        capabilities(self.layout == Layout::File)
    }

    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        self.list_folders()
    }

    /// The size in bytes of each of `folders`' files, for starting the
    /// largest first.
    async fn weights(&mut self, folders: &[FolderName]) -> HashMap<FolderName, u64> {
        folders
            .iter()
            .filter_map(|folder| {
                let size = fs::metadata(self.folder_path(folder)).ok()?.len();
                Some((folder.clone(), size))
            })
            .collect()
    }

    async fn open(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
    ) -> Result<FolderStatus> {
        if self.files.is_empty() && matches!(self.layout, Layout::Directory) {
            // A worker's own connection: find the file the listing chose
            // (`plain` over `plain.mbox`), without repeating its warnings.
            self.list_files()?;
        }
        // One file is one folder, which its listing calls INBOX; any other
        // name would read that file under a name it does not have.
        if self.layout == Layout::File && !folder.is_inbox() {
            bail!(
                "no folder `{folder}` in mbox `{}`: a single mbox file holds one folder, INBOX",
                self.root.display()
            );
        }
        let path = self.folder_path(folder);
        let meta = fs::metadata(&path)
            .with_context(|| format!("opening folder `{folder}` at `{}`", path.display()))?;
        let identity = FolderIdentity::Inode {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        let mut status = FolderStatus {
            identity: Some(identity.clone()),
            ..FolderStatus::default()
        };
        let mut resume_at = 0;
        if let Done::Offsets {
            through, anchor, ..
        } = &progress.done
        {
            status.changed = if progress.identity.as_ref().is_some_and(|id| *id != identity) {
                Some(format!(
                    "mbox `{}` was replaced since the last run",
                    path.display()
                ))
            } else if meta.len() < *through {
                Some(format!(
                    "mbox `{}` is shorter than at the last run (truncated or rewritten)",
                    path.display()
                ))
            } else if let Some(anchor) = anchor {
                match read_one(&path, anchor.start, self.format_of(&path)?) {
                    Ok(Some((end, fingerprint)))
                        if end == anchor.end && fingerprint == anchor.fingerprint =>
                    {
                        None
                    }
                    _ => Some(format!(
                        "mbox `{}` was rewritten since the last run",
                        path.display()
                    )),
                }
            } else {
                None
            };
            if status.changed.is_none() {
                resume_at = *through;
                status.pending = (*through == meta.len()).then_some(0);
            }
        }
        if status.pending != Some(0) && meta.len() > resume_at {
            // A file that is not an mbox fails here, before the destination
            // folder is created for it.
            check_from_line_at(&path, resume_at)?;
        }
        let format = self.format_of(&path)?;
        self.source = Some(SourceFolder {
            path,
            format,
            resume_at,
            flags: None,
        });
        Ok(status)
    }

    async fn fetch(
        &mut self,
        progress: &FolderProgress,
        _known: &FingerprintSet,
        out: &Outbox,
    ) -> Result<()> {
        let source = self.source.as_ref().context("no folder is open")?;
        let mut reader = open_reader(&source.path, source.resume_at, source.format)?;
        while let Some(entry) = durable::blocking(|| reader.next_message()) {
            for note in reader.take_notes() {
                report::warn(&format!(
                    "mbox `{}`, byte {}: {}",
                    source.path.display(),
                    note.offset,
                    note.text
                ));
            }
            let entry =
                entry.with_context(|| format!("reading mbox `{}`", source.path.display()))?;
            let key = SourceKey::Offset {
                start: entry.start,
                end: entry.end,
            };
            if progress.is_done(&key) {
                continue;
            }
            let item = if entry.raw.is_empty() {
                // No store can hold a message of 0 bytes (IMAP refuses the
                // APPEND, a maildir file of 0 bytes is not a message).
                Fetched::Failed(
                    key,
                    anyhow!(
                        "the message in mbox `{}` is empty: its From_ line is followed by nothing",
                        source.path.display()
                    ),
                )
            } else {
                let mut message = Message::new(key, entry.raw, entry.flags, entry.date);
                message.envelope_sender =
                    mboxrd::envelope_sender(&entry.from_line).map(<[u8]>::to_vec);
                // `Status: O` (or `RO`): a mail reader has taken it in, so a
                // maildir keeps it in cur/, not new/, even without flags.
                message.maildir = Some(MaildirFile {
                    in_new: !entry.old,
                    unnamed_keyword_letters: String::new(),
                });
                if !self
                    .filters
                    .matches(message.internal_date, message.wire_size())
                {
                    continue;
                }
                Fetched::Message(message)
            };
            if out.send(item).await.is_err() {
                break;
            }
        }
        Ok(())
    }

    /// From one read of the whole file, on the first call for the open
    /// folder: a message is there when one starts at its offset now. A file
    /// rewritten so that offsets moved is a replaced folder to `open`
    /// already, so the offset is the message's identity here.
    async fn flags_of(&mut self, keys: &[SourceKey]) -> Result<Vec<FlagsNow>> {
        let source = self.source.as_mut().context("no folder is open")?;
        let spool = match &mut source.flags {
            Some(spool) => spool,
            empty => empty.insert(durable::blocking(|| {
                list_flags(&source.path, source.format)
            })?),
        };
        let starts: Vec<String> = keys.iter().map(start_key).collect();
        let found = durable::blocking(|| spool.find(&starts))?;
        Ok(found
            .into_iter()
            .map(|listed| {
                listed
                    .map(|listed| Flags::from_imap(&String::from_utf8_lossy(&listed.place)))
                    .into()
            })
            .collect())
    }

    async fn stats(&mut self) -> Result<FolderStats> {
        let source = self.source.as_ref().context("no folder is open")?;
        let mut stats = FolderStats::default();
        for entry in open_reader(&source.path, 0, source.format)? {
            let entry =
                entry.with_context(|| format!("reading mbox `{}`", source.path.display()))?;
            stats.messages += 1;
            stats.bytes += entry.raw.len() as u64;
        }
        Ok(stats)
    }
}

/// As a sink, a file is appended to under a lock, and a journal rolls
/// back a batch that was never committed.
impl Sink for Mbox {
    fn capabilities(&self) -> Capabilities {
        capabilities(self.layout == Layout::File)
    }

    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        self.list_folders()
    }

    /// Whether the destination holds `folder` (its file).
    fn holds(&self, folder: &FolderName) -> bool {
        self.folder_path(folder).is_file()
    }

    fn refuses(&self, folder: &FolderName) -> Option<String> {
        crate::store::local_name_problem(&self.root, &self.folder_path(folder))
    }

    async fn room(&mut self) -> Result<Option<crate::store::Room>> {
        crate::store::file_system_room(&self.root)
    }

    async fn open(
        &mut self,
        folder: &FolderName,
        create: Create,
        _cached: Option<IndexMark>,
        fingerprints: &FingerprintSet,
    ) -> Result<Option<Opened>> {
        let create = create.is_yes();
        self.close_sink()?;
        let path = self.folder_path(folder);
        if !path.exists() {
            if !create || self.read_only {
                return Ok(None);
            }
            if let Some(parent) = path.parent() {
                durable::create_private_dir(parent)
                    .with_context(|| format!("creating directory `{}`", parent.display()))
                    .map_err(refused_if_local)?;
            }
        }
        // Reading a FIFO blocks until a writer comes, and nothing but a
        // regular file can hold an mbox.
        if fs::metadata(&path).is_ok_and(|meta| !meta.is_file()) {
            return Err(Refused(format!("mbox `{}` is not a regular file", path.display())).into());
        }
        let format = self.format_of(&path)?;
        if self.read_only {
            return durable::blocking(|| index(&path, format, fingerprints))
                .map(|()| Some(Opened::default()));
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening mbox `{}` for writing", path.display()))
            .map_err(refused_if_local)?;
        file.try_lock().map_err(|e| match e {
            fs::TryLockError::WouldBlock => anyhow::Error::new(Refused(format!(
                "mbox `{}` is locked by another program; try again when it is done",
                path.display()
            ))),
            fs::TryLockError::Error(e) => {
                anyhow::Error::new(e).context(format!("locking mbox `{}`", path.display()))
            }
        })?;
        let dotlock = Dotlock::acquire(&path)?;
        durable::blocking(|| {
            recover_interrupted_write(&path, &file)?;
            index(&path, format, fingerprints)
        })?;
        let committed_len = file.metadata()?.len();
        self.sink = Some(SinkFile {
            name: folder.clone(),
            path,
            format,
            writer: BufWriter::with_capacity(WRITE_BUFFER, file),
            committed_len,
            written: 0,
            starts: Vec::new(),
            journal: None,
            _dotlock: dotlock,
        });
        Ok(Some(Opened::default()))
    }

    async fn append(&mut self, message: Message) -> Result<()> {
        let sink = self.sink.as_mut().context("no folder is open")?;
        if sink.journal.is_none() {
            sink.begin_batch()?;
        }
        let start = sink.committed_len + sink.written;
        let written = durable::blocking(|| {
            mboxrd::write_message_as(
                &mut sink.writer,
                &message.file_bytes(),
                &message.flags,
                message.internal_date,
                message.envelope_sender.as_deref(),
                sink.format,
            )
        })
        .with_context(|| {
            format!(
                "writing {} to folder `{}` at `{}`",
                message.key,
                sink.name,
                sink.path.display()
            )
        })?;
        sink.written += written;
        sink.starts.push(start);
        Ok(())
    }

    async fn commit(&mut self) -> Result<Committed> {
        let Some(sink) = self.sink.as_mut() else {
            return Ok(Committed::default());
        };
        durable::blocking(|| sink.commit())?;
        let stored = sink
            .starts
            .drain(..)
            .enumerate()
            .map(|(index, start)| (index, DestinationKey::Offset(start)))
            .collect();
        Ok(Committed {
            stored,
            ..Committed::default()
        })
    }
}

impl Drop for Mbox {
    fn drop(&mut self) {
        if let Err(e) = self.close_sink() {
            report::error(&format!("{e:#}"));
        }
    }
}

impl SinkFile {
    /// Records the committed end in the journal, durably, before any byte
    /// of the batch is written past it.
    fn begin_batch(&mut self) -> Result<()> {
        let journal = journal_path(&self.path);
        // Written aside and renamed into place, so a journal under its real
        // name always holds a whole number, whenever the process dies.
        durable::write_atomically(&journal, format!("{}\n", self.committed_len).as_bytes())
            .with_context(|| format!("creating journal `{}`", journal.display()))?;
        // mboxrd needs a blank line before each From_ line: mend a file that
        // another program left without one.
        let tail = read_tail(&self.path, self.committed_len)?;
        let padding = mboxrd::append_padding(&tail);
        self.writer.write_all(padding)?;
        self.written = padding.len() as u64;
        self.starts.clear();
        self.journal = Some(journal);
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        let Some(journal) = self.journal.take() else {
            return Ok(());
        };
        let result = (|| -> std::io::Result<()> {
            self.writer.flush()?;
            // Order is important: the data must be durable before the journal
            // goes, and the journal must be gone before the checkpoint moves.
            self.writer.get_ref().sync_all()?;
            fs::remove_file(&journal)?;
            durable::sync_parent(&journal)
        })();
        if let Err(e) = result {
            self.journal = Some(journal);
            return Err(e)
                .with_context(|| format!("flushing mbox `{}` to disk", self.path.display()));
        }
        self.committed_len += self.written;
        self.written = 0;
        Ok(())
    }

    /// Drops uncommitted bytes, restoring the file to its committed end, and
    /// closes the file.
    fn roll_back(self) -> Result<()> {
        // Never flushed: after a failed write (disk full) the buffer still
        // holds part of a message, and flushing it once the truncation has
        // made room would append that part to the last committed message.
        let (file, _discarded) = self.writer.into_parts();
        let rolled_back = match &self.journal {
            None => Ok(()),
            Some(journal) => file
                .set_len(self.committed_len)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("rolling back mbox `{}`", self.path.display()))
                .and_then(|()| Ok(fs::remove_file(journal)?))
                .and_then(|()| Ok(durable::sync_parent(journal)?)),
        };
        // The lock is released by hand, not left to the close: a process
        // forked meanwhile shares the open file until it execs, and would
        // hold the lock that long, refusing the next writer of the file.
        let _ = file.unlock();
        rolled_back
    }
}

/// A `NAME.lock` dotlock holding our pid; removed on drop.
struct Dotlock {
    path: PathBuf,
}

impl Dotlock {
    fn acquire(mbox: &Path) -> Result<Dotlock> {
        let path = dotlock_path(mbox);
        for _ in 0..2 {
            match create_dotlock(&path) {
                Ok(()) => return Ok(Dotlock { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !dotlock_is_stale(&path) {
                        bail!(
                            "mbox `{}` is locked by another program (`{}` exists)",
                            mbox.display(),
                            path.display()
                        );
                    }
                    report::warn(&format!("removing stale lock `{}`", path.display()));
                    let _ = fs::remove_file(&path);
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("creating lock `{}`", path.display()))
                }
            }
        }
        bail!("could not lock mbox `{}`", mbox.display())
    }
}

fn dotlock_path(mbox: &Path) -> PathBuf {
    let mut path = mbox.as_os_str().to_owned();
    path.push(".lock");
    PathBuf::from(path)
}

/// Creates the dotlock `path` holding our pid, failing with `AlreadyExists`
/// if it exists. The pid is written to a file aside that is then hard-linked
/// under the lock's name (as liblockfile and Dovecot do), so the lock never
/// exists without its pid: a lock created empty and then written would stay
/// empty if the run were killed in between, and an empty lock cannot be told
/// from a live one (other programs write them), so every later run would
/// refuse the mbox for `STALE_DOTLOCK`. File systems without hard links get
/// the plain exclusive create.
fn create_dotlock(path: &Path) -> std::io::Result<()> {
    let pid = std::process::id();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The name `durable::remove_stale_temps` looks for once its writer is gone.
    let temp = path.with_file_name(format!(".{name}.tmp.{pid}"));
    durable::remove_stale_temps(path);
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| write!(file, "{pid}"));
    let linked = written.and_then(|()| fs::hard_link(&temp, path));
    let _ = fs::remove_file(&temp);
    match linked {
        Err(e) if is_no_hard_links(&e) => {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
            write!(file, "{pid}")
        }
        result => result,
    }
}

/// The errors of `link(2)` on a file system that has no hard links.
fn is_no_hard_links(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EPERM | libc::EOPNOTSUPP | libc::EMLINK | libc::EXDEV)
    )
}

impl Drop for Dotlock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn dotlock_is_stale(path: &Path) -> bool {
    let pid = fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
        .filter(|&pid| pid > 0);
    match pid {
        Some(pid) => !durable::process_exists(pid),
        None => fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > STALE_DOTLOCK),
    }
}

fn journal_path(mbox: &Path) -> PathBuf {
    let name = mbox
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    mbox.with_file_name(format!(".{name}.mailtug-journal"))
}

/// Finishes what a killed run left: truncates the file to the end its journal
/// recorded, so no partial message stays at the end.
fn recover_interrupted_write(path: &Path, file: &File) -> Result<()> {
    let journal = journal_path(path);
    durable::remove_stale_temps(&journal);
    let text = match fs::read_to_string(&journal) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e).with_context(|| format!("reading journal `{}`", journal.display()))
        }
    };
    if text.trim().is_empty() {
        // Journals written before they were renamed into place could be
        // empty after a crash; an empty one was never followed by data.
        fs::remove_file(&journal)?;
        durable::sync_parent(&journal)?;
        return Ok(());
    }
    let committed: u64 = text.trim().parse().with_context(|| {
        format!(
            "journal `{}` is damaged; check the end of `{}` by hand, then remove it",
            journal.display(),
            path.display()
        )
    })?;
    let len = file.metadata()?.len();
    if len > committed {
        file.set_len(committed)?;
        file.sync_all()?;
        report::warn(&format!(
            "mbox `{}`: removed {} bytes an interrupted run had not finished writing",
            path.display(),
            len - committed
        ));
    }
    fs::remove_file(&journal)?;
    durable::sync_parent(&journal)?;
    Ok(())
}

/// Checks that a message's From_ line begins at `offset`, as the reader
/// will, with its words for the error.
fn check_from_line_at(path: &Path, offset: u64) -> Result<()> {
    let found = starts_with_from_line(path, offset)
        .with_context(|| format!("reading mbox `{}`", path.display()))?;
    if found {
        return Ok(());
    }
    Err(anyhow!(
        "reading mbox `{}`: {}",
        path.display(),
        mboxrd::no_from_line_at(offset)
    ))
}

/// Whether a From_ line begins at `offset` of the file; at its start,
/// after blank lines, as the reader skips them there.
fn starts_with_from_line(path: &Path, offset: u64) -> std::io::Result<bool> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut head = Vec::with_capacity(512);
    file.take(512).read_to_end(&mut head)?;
    let mut rest = &head[..];
    if offset == 0 {
        loop {
            if let Some(after) = rest.strip_prefix(b"\n") {
                rest = after;
            } else if let Some(after) = rest.strip_prefix(b"\r\n") {
                rest = after;
            } else {
                break;
            }
        }
    }
    Ok(rest.starts_with(b"From "))
}

fn open_reader(
    path: &Path,
    offset: u64,
    format: MboxFormat,
) -> Result<MboxReader<BufReader<File>>> {
    let mut file =
        File::open(path).with_context(|| format!("opening mbox `{}`", path.display()))?;
    if offset > 0 {
        file.seek(SeekFrom::Start(offset))?;
    }
    Ok(MboxReader::with_format(
        BufReader::with_capacity(READ_BUFFER, file),
        offset,
        format,
    ))
}

/// The end and fingerprint of the message starting at `start`, if one does.
fn read_one(path: &Path, start: u64, format: MboxFormat) -> Result<Option<(u64, Fingerprint)>> {
    let mut reader = open_reader(path, start, format)?;
    match reader.next_message() {
        Some(Ok(entry)) if entry.start == start => {
            Ok(Some((entry.end, Fingerprint::of(&entry.raw))))
        }
        _ => Ok(None),
    }
}

/// The flags of every message of the file, keyed by [`start_key`], with
/// the flags as `Flags` writes them: on disk, as a multi-GB file has
/// millions of messages.
fn list_flags(path: &Path, format: MboxFormat) -> Result<ListingSpool> {
    let mut spool = ListingSpool::new()?;
    let mut reader = open_reader(path, 0, format)?;
    let mut failed = None;
    // The reader yields one message at a time and the spool takes them in
    // batches, so the file is read once and never held whole.
    let entries = std::iter::from_fn(|| {
        let entry = reader.next_message()?;
        // `fetch` reported these when it first read the messages; the
        // notes are dropped as they come so they do not pile up.
        drop(reader.take_notes());
        match entry {
            Ok(entry) => Some(Listed {
                key: start_key(&SourceKey::Offset {
                    start: entry.start,
                    end: entry.end,
                }),
                place: entry.flags.to_string().into_bytes(),
            }),
            Err(e) => {
                failed = Some(e);
                None
            }
        }
    });
    spool.list(entries)?;
    if let Some(e) = failed {
        return Err(e).with_context(|| format!("reading mbox `{}`", path.display()));
    }
    spool.sort()?;
    Ok(spool)
}

/// A message's key in [`list_flags`]' spool: its start, zero-padded so
/// that text order is numeric order. Other keys name no mbox message and
/// are found nowhere.
fn start_key(key: &SourceKey) -> String {
    match key {
        SourceKey::Offset { start, .. } => format!("{start:020}"),
        other => other.to_string(),
    }
}

/// Adds the fingerprint of every message in the file to `index`.
fn index(path: &Path, format: MboxFormat, index: &FingerprintSet) -> Result<()> {
    const CHUNK: usize = 10_000;
    let mut fingerprints = Vec::with_capacity(CHUNK);
    for entry in open_reader(path, 0, format)? {
        let entry = entry.with_context(|| {
            format!("destination `{}` is not a valid mbox file", path.display())
        })?;
        fingerprints.push(Fingerprint::of(&entry.raw));
        if fingerprints.len() == CHUNK {
            index.extend(&fingerprints)?;
            fingerprints.clear();
        }
    }
    index.extend(&fingerprints)
}

/// The last three bytes before `end`, to see whether the file ends with a
/// blank line (`\n\n` or `\n\r\n`).
fn read_tail(path: &Path, end: u64) -> Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let start = end.saturating_sub(3);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::with_capacity(3);
    file.take(end - start).read_to_end(&mut tail)?;
    Ok(tail)
}

/// Walks a directory tree for mbox files: `*.mbox`, and other regular files
/// that start with `From `. Hidden files, lock files and index files are skipped.
fn find_mbox_files(
    dir: &Path,
    parents: &mut Vec<String>,
    found: &mut BTreeMap<FolderName, PathBuf>,
    skipped: &mut Vec<(PathBuf, String)>,
) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("listing `{}`", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("listing `{}`", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let file_name = entry.file_name();
        let path = entry.path();
        let Some(name) = file_name.to_str() else {
            skipped.push((path, "its name is not UTF-8".into()));
            continue;
        };
        if is_known_metadata(name) {
            continue;
        }
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            if name.starts_with('.') {
                // Programs' own directories (Dovecot's `.imap`, `.notmuch`).
                continue;
            }
            let folder = name.strip_suffix(".sbd").unwrap_or(name);
            parents.push(folder.to_string());
            find_mbox_files(&path, parents, found, skipped)?;
            parents.pop();
            continue;
        }
        if !path.is_file() {
            // A dangling symbolic link, a FIFO, a device: nothing that can
            // be read, but it may have been meant as a folder.
            skipped.push((path, "it is not a regular file".into()));
            continue;
        }
        let folder = match name.strip_suffix(".mbox") {
            Some(stem) => stem,
            None if starts_with_from_line(&path, 0).unwrap_or(false) => name,
            // Nothing in it: no mail to leave out.
            None if fs::metadata(&path).is_ok_and(|meta| meta.len() == 0) => continue,
            None => {
                skipped.push((
                    path,
                    "it does not start with a `From ` line, so it is not an mbox file".into(),
                ));
                continue;
            }
        };
        let components = parents.iter().map(String::as_str).chain([folder]);
        let Ok(folder) = FolderName::from_components(components) else {
            skipped.push((path, "it gives no folder name".into()));
            continue;
        };
        match found.entry(folder) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(path);
            }
            std::collections::btree_map::Entry::Occupied(taken) => {
                let why = format!("it is the same folder as `{}`", taken.get().display());
                skipped.push((path, why));
            }
        }
    }
    Ok(())
}

/// A directory with `cur/` and `new/` is a maildir: read or written as an
/// mbox tree it would look empty, or fill up with mbox files.
fn refuse_maildir(path: &Path) -> Result<()> {
    if path.join("cur").is_dir() && path.join("new").is_dir() {
        return Err(exit::usage(format!(
            "`{}` is a maildir (it has cur/ and new/), not an mbox; write maildir:{}",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Files of mail programs that are known not to hold mail, left alone in an
/// mbox tree: locks and journals (ours, mutt's, procmail's), Thunderbird's
/// summaries and settings, Dovecot's and the desktop's own files.
fn is_known_metadata(name: &str) -> bool {
    const SUFFIXES: [&str; 6] = [
        ".lock",
        ".msf",
        ".mailtug-journal",
        ".dat",
        ".html",
        ".json",
    ];
    const NAMES: [&str; 6] = [
        ".DS_Store",
        "Thumbs.db",
        ".subscriptions",
        "subscriptions",
        ".mailboxlist",
        "dovecot.index.log",
    ];
    NAMES.contains(&name)
        || SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
        || name.starts_with("dovecot.")
        || (name.starts_with('.') && name.contains(".tmp."))
}

/// True when an mbox destination at `path` is a single file (one folder).
pub fn is_single_file_destination(path: &Path) -> bool {
    matches!(layout_for_sink(path), Ok(Layout::File))
}

fn layout_for_sink(path: &Path) -> Result<Layout> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(Layout::Directory),
        Ok(meta) if meta.is_file() => Ok(Layout::File),
        Ok(_) => Err(exit::usage(format!(
            "mbox `{}` is not a regular file or a directory",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if path.extension().is_some_and(|ext| ext == "mbox") {
                Ok(Layout::File)
            } else {
                Ok(Layout::Directory)
            }
        }
        Err(e) => Err(open_error(path, e)),
    }
}

fn open_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            exit::usage(format!("mbox `{}` does not exist", path.display()))
        }
        _ => exit::unreachable(format!("cannot open mbox `{}`: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_worker_without_the_listing_opens_the_file_the_listing_chose() {
        // `plain` and `plain.mbox` are both folder `plain`; the listing keeps
        // `plain`. A worker's own source, which never listed, must read the
        // same file, or which messages are copied depends on the worker.
        let dir = temp_dir("same-folder");
        fs::write(dir.join("plain"), "From a@b Thu Jan  1 00:00:00 2024\nSubject: 1\n\none\n\nFrom a@b Thu Jan  1 00:00:00 2024\nSubject: 2\n\ntwo\n").unwrap();
        fs::write(
            dir.join("plain.mbox"),
            "From a@b Thu Jan  1 00:00:00 2024\nSubject: 3\n\nthree\n",
        )
        .unwrap();
        let folder = FolderName::parse("plain").unwrap();
        let mut lister = Mbox::open_source(&dir, Filters::default(), None).unwrap();
        assert_eq!(
            Source::folders(&mut lister).await.unwrap(),
            vec![folder.clone()]
        );
        let mut worker = Mbox::open_source(&dir, Filters::default(), None).unwrap();
        let listed = Source::open(&mut lister, &folder, &FolderProgress::default())
            .await
            .unwrap();
        let unlisted = Source::open(&mut worker, &folder, &FolderProgress::default())
            .await
            .unwrap();
        assert_eq!(unlisted.identity, listed.identity);
        assert_eq!(worker.folder_path(&folder), dir.join("plain"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn flags_of_reads_the_messages_before_the_checkpoint_by_their_offset() {
        let dir = temp_dir("flags-of");
        let path = dir.join("inbox.mbox");
        let text = "From a@b Thu Jan  1 00:00:00 2024\nStatus: RO\nSubject: 1\n\none\n\n\
                    From a@b Thu Jan  1 00:00:00 2024\nStatus: O\nX-Status: AF\nSubject: 2\n\ntwo\n\n\
                    From a@b Thu Jan  1 00:00:00 2024\nX-Keywords: $Label1 work\nSubject: 3\n\nthree\n";
        fs::write(&path, text).unwrap();
        let starts: Vec<u64> = text
            .match_indices("From a@b")
            .map(|(at, _)| at as u64)
            .collect();
        // Every message is recorded as copied, so `open` reads none of them:
        // `flags_of` must read the file from its start.
        let mut progress = FolderProgress::default();
        let mut keys = Vec::new();
        for &start in &starts {
            let (end, fingerprint) = read_one(&path, start, MboxFormat::Mboxrd).unwrap().unwrap();
            let key = SourceKey::Offset { start, end };
            progress.mark_done(&key, &fingerprint);
            keys.push(key);
        }
        // Inside the first message: no message starts there.
        keys.push(SourceKey::Offset { start: 1, end: 9 });
        let mut source = Mbox::open_source(&path, Filters::default(), None).unwrap();
        let status = Source::open(&mut source, &FolderName::inbox(), &progress)
            .await
            .unwrap();
        assert_eq!((status.changed, status.pending), (None, Some(0)));

        let flags = source.flags_of(&keys).await.unwrap();
        let shown: Vec<Option<String>> = flags
            .iter()
            .map(|now| match now {
                FlagsNow::Are(flags) => Some(flags.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            shown,
            [
                Some("\\Seen".to_string()),
                Some("\\Answered \\Flagged".to_string()),
                Some("$Label1 work".to_string()),
                None,
            ]
        );
        // Asked again, the same answer comes from the flags read once.
        assert_eq!(source.flags_of(&keys[1..2]).await.unwrap(), flags[1..2]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn commit_reports_where_each_from_line_starts() {
        let dir = temp_dir("destination-offsets");
        let path = dir.join("inbox.mbox");
        // Another program's message, without the blank line mboxrd wants
        // before the next From_ line: the padding comes before our offset.
        fs::write(
            &path,
            "From a@b Thu Jan  1 00:00:00 2024\nSubject: 0\n\nzero\n",
        )
        .unwrap();
        let mut sink = Mbox::open_sink(&path, None).unwrap();
        let inbox = FolderName::inbox();
        crate::store::open_unindexed(&mut sink, &inbox, Create::Yes(None))
            .await
            .unwrap();
        let mut committed = Vec::new();
        for batch in [[1, 2], [3, 4]] {
            for n in batch {
                let raw = format!("Message-ID: <{n}@example.org>\n\nbody {n}\n").into_bytes();
                let message = Message::new(
                    SourceKey::Uid(n),
                    raw,
                    crate::message::Flags::default(),
                    None,
                );
                sink.append(message).await.unwrap();
            }
            committed.push(sink.commit().await.unwrap().stored);
        }
        drop(sink);
        let text = fs::read(&path).unwrap();
        for (batch, stored) in committed.iter().enumerate() {
            assert_eq!(stored.len(), 2);
            for (index, key) in stored {
                let DestinationKey::Offset(start) = key else {
                    panic!("{key:?}")
                };
                let n = batch * 2 + index + 1;
                let rest = &text[*start as usize..];
                assert!(rest.starts_with(b"From "), "{n}");
                let wanted = format!("<{n}@example.org>");
                let first = rest
                    .windows(wanted.len())
                    .position(|w| w == wanted.as_bytes());
                let next = rest[1..].windows(6).position(|w| w == b"\nFrom ");
                assert!(
                    first.is_some_and(|at| next.is_none_or(|end| at < end)),
                    "{n}"
                );
            }
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mailtug-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The pid of a process that has ended and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn a_dotlock_appears_with_its_pid_and_leaves_no_temp_file() {
        let dir = temp_dir("dotlock");
        let lock = dir.join("INBOX.mbox.lock");
        // What a run killed between writing its pid aside and linking it leaves.
        let abandoned = dir.join(format!(".INBOX.mbox.lock.tmp.{}", dead_pid()));
        fs::write(&abandoned, b"1").unwrap();

        create_dotlock(&lock).unwrap();
        assert_eq!(
            fs::read_to_string(&lock).unwrap(),
            std::process::id().to_string()
        );
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["INBOX.mbox.lock"], "no temp file is left");

        fs::write(&lock, b"4242").unwrap();
        let taken = create_dotlock(&lock).unwrap_err();
        assert_eq!(taken.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(
            fs::read_to_string(&lock).unwrap(),
            "4242",
            "a held lock is kept"
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn opening_a_destination_removes_dead_runs_dotlocks_only() {
        let dir = temp_dir("stale-dotlocks");
        for name in ["Done.mbox", "Busy.mbox", "Foreign.mbox", "Held.mbox"] {
            fs::write(dir.join(name), b"From a Wed Jan  1 10:00:00 2020\n\nx\n\n").unwrap();
        }
        fs::write(dir.join("Done.mbox.lock"), dead_pid().to_string()).unwrap();
        fs::write(dir.join("Busy.mbox.lock"), std::process::id().to_string()).unwrap();
        // Empty, as other programs write them, and fresh: someone holds it.
        fs::write(dir.join("Foreign.mbox.lock"), b"").unwrap();
        // A writer that holds the flock is about to replace a dead lock.
        fs::write(dir.join("Held.mbox.lock"), dead_pid().to_string()).unwrap();
        let held = File::open(dir.join("Held.mbox")).unwrap();
        held.try_lock().unwrap();

        let _sink = Mbox::open_sink(&dir, None).unwrap();
        assert!(
            !dir.join("Done.mbox.lock").exists(),
            "a dead run's lock is removed"
        );
        assert!(
            dir.join("Busy.mbox.lock").exists(),
            "a live process's lock stays"
        );
        assert!(
            dir.join("Foreign.mbox.lock").exists(),
            "a fresh empty lock stays"
        );
        assert!(
            dir.join("Held.mbox.lock").exists(),
            "nothing is removed under a writer's flock"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
