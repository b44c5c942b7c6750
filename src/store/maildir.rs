//! Maildir trees, in the two layouts real trees come in.
//!
//! The root maildir is INBOX. Subfolders are laid out either as Maildir++
//! (Dovecot's and Courier's default: `Archive/2023` lives in `.Archive.2023/`,
//! names in modified UTF-7) or in the fs layout (mbsync `SubFolders Verbatim`,
//! Dovecot `LAYOUT=fs`: `Archive/2023/`, names in UTF-8). In the fs layout a
//! folder can be a maildir and hold subfolders at once, a parent can be a bare
//! directory, and mbsync keeps INBOX in `INBOX/` rather than in the root.
//! [`Layout`] says which to use: `auto` reads every subfolder a tree holds,
//! in either layout (saying so when it holds both), and writes new folders in
//! the layout of the existing tree, Maildir++ for a new one. A folder never
//! goes unread without a warning naming it.
//!
//! Flags live in the file name (`:2,DFPRST` plus Dovecot keyword letters from
//! `dovecot-keywords`; `!2,` and `;2,` are read too, and `:2,` is written),
//! the internal date in the file's mtime. Whether a message sits in `new/` or
//! `cur/` travels with it to a maildir destination, and so do keyword letters
//! that `dovecot-keywords` does not name.
//!
//! Delivery keeps the maildir rule — write in `tmp/`, make it durable, rename
//! into `cur/` or `new/`, make the rename durable — but batches the durability:
//! `append` only writes files in `tmp/`; `commit` flushes them all with one
//! `syncfs(2)`, renames them, and fsyncs the directories. The `maildir` crate
//! would fsync every file before its rename (5,000 fsyncs for 5,000 messages)
//! and never fsyncs the directory, and its listing knows neither the fs layout
//! nor info separators other than `:`, so listing and delivery are ours.
//! Files are created 0600, directories 0700.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};

use crate::checkpoint::{Done, FolderIdentity, FolderProgress, IndexMark};
use crate::cli::Removal;
use crate::durable;
use crate::exit;
use crate::fingerprint::{body_offset, Fingerprint};
use crate::folder::{
    folder_from_fs_path, folder_from_maildir_dir, fs_relative_path, maildir_dir_name, FolderName,
};
use crate::message::DestinationKey;
use crate::message::{Flags, Form, MaildirFile, Message, SourceKey};
use crate::report;
use crate::spool::{Listed, ListingSpool};
use crate::store::{
    Capabilities, Committed, Create, DestinationMessage, Fetched, Filters, FingerprintSet,
    FlagChange, FlagsNow, FolderStats, FolderStatus, Opened, Outbox, Sink, Source,
};

/// Dovecot's keyword table: letter `a` + index ↔ keyword. At most 26.
const KEYWORD_FILE: &str = "dovecot-keywords";
const MAX_KEYWORDS: usize = 26;
/// Maildir convention: a file in `tmp/` untouched this long is abandoned.
const STALE_TMP: Duration = Duration::from_secs(36 * 3600);
/// A maildir's own directories; never folders of the fs layout.
const MAILDIR_SUBDIRS: [&str; 3] = ["cur", "new", "tmp"];
/// Recorded names read from the state at a time.
const DONE_PAGE: usize = 10_000;
/// Destination fingerprints read before they go into the index.
const INDEX_CHUNK: usize = 10_000;
/// Listed files taken from the spool at a time while fetching.
const FETCH_PAGE: usize = 1_000;

/// How a maildir tree lays out its subfolders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// Reading: every subfolder the tree holds, in either layout. Writing:
    /// new folders in the layout of the subfolders already there, Maildir++
    /// when there are none, or some of each.
    #[default]
    Auto,
    /// `.Archive.2023/` below the root, names in modified UTF-7.
    MaildirPlusPlus,
    /// `Archive/2023/`, names in UTF-8.
    Fs,
}

impl Layout {
    /// The spelling of the command line and of job keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Auto => "auto",
            Layout::MaildirPlusPlus => "maildir++",
            Layout::Fs => "fs",
        }
    }

    /// The layout named `text`, as [`Layout::as_str`] spells it.
    pub fn parse(text: &str) -> Option<Layout> {
        [Layout::Auto, Layout::MaildirPlusPlus, Layout::Fs]
            .into_iter()
            .find(|layout| layout.as_str() == text)
    }

    fn reads_plus_plus(self) -> bool {
        self != Layout::Fs
    }

    fn reads_fs(self) -> bool {
        self != Layout::MaildirPlusPlus
    }
}

/// What a maildir tree can do: it keeps keyword letters a source has no
/// name for, its file names are stable keys, and a message's flags live in
/// its file name, so they can change by a rename.
pub fn capabilities() -> Capabilities {
    Capabilities {
        noun: "a maildir",
        single_folder: None,
        deletes_at_source: false,
        is_maildrop: false,
        form: Form::File,
        keeps_unnamed_keyword_letters: true,
        special_use: false,
        stable_message_keys: true,
        fingerprints_first: false,
        mirrors_from: true,
        updates_flags: true,
        deletes_at_destination: true,
        copies_within: true,
        has_other_writers: false,
    }
}

pub struct Maildir {
    root: PathBuf,
    read_only: bool,
    /// The layout asked for.
    layout: Layout,
    /// Where a folder not found on disk goes: Maildir++ or fs, never auto.
    placement: Layout,
    /// Directory of each folder found on disk, so names that do not
    /// round-trip (undecodable, mbsync's `INBOX/`, a `~2` suffix) still open
    /// the right directory. A Maildir++ destination leaves it empty: there,
    /// one folder name is one directory name, as it always was.
    dirs: BTreeMap<FolderName, PathBuf>,
    open: Option<OpenFolder>,
    /// Files written in `tmp/`, waiting for `commit`.
    pending: Vec<PendingFile>,
    /// As a source: which messages to offer.
    filters: Filters,
    /// As a mirror destination: the folder whose files were last looked
    /// up by unique name, listed once for the run.
    located: Option<(FolderName, ListingSpool)>,
    /// Opened as a source: what its listing leaves out is mail left unread.
    is_source: bool,
    hostname: String,
    counter: u64,
}

struct OpenFolder {
    name: FolderName,
    dir: PathBuf,
    keywords: Keywords,
    /// Listing taken by `open` for `fetch`, sorted by unique name. On disk:
    /// a folder can hold millions of files. `None` for a destination
    /// folder, and for a source folder whose stamp showed nothing new.
    listing: Option<ListingSpool>,
}

///
/// Compact, as a folder's listing is held while it is copied: one string
/// per file instead of three (about 110 bytes a message instead of 250).
struct Entry {
    /// The file name as listed (made readable when it is not UTF-8).
    name: Box<str>,
    /// `name[..id_end]` is the unique name, up to the info separator (`:2,`).
    id_end: u32,
    /// `name[info.0..info.1]` are the info letters after the separator.
    info: (u32, u32),
    /// Found in `new/` rather than `cur/`.
    in_new: bool,
    /// The real path of a file whose name is not UTF-8, which `name`
    /// cannot rebuild.
    odd_path: Option<Box<Path>>,
}

impl Entry {
    /// The entry for file `item` of the folder's `new/` or `cur/`.
    fn new(item: &fs::DirEntry, in_new: bool) -> Entry {
        Entry::named(&item.file_name(), in_new, || item.path())
    }

    /// The entry for a file called `os_name` in `new/` or `cur/`, whose
    /// full path `path` gives (asked only when the name is not UTF-8).
    fn named(os_name: &OsStr, in_new: bool, path: impl FnOnce() -> PathBuf) -> Entry {
        let name = os_name.to_string_lossy();
        let (id, info) = split_info(&name);
        let offset = |part: &str| (part.as_ptr() as usize - name.as_ptr() as usize) as u32;
        let info = match info {
            Some(info) => (offset(info), offset(info) + info.len() as u32),
            None => (name.len() as u32, name.len() as u32),
        };
        let odd_path = os_name.to_str().is_none().then(|| path().into_boxed_path());
        Entry {
            id_end: id.len() as u32,
            info,
            in_new,
            odd_path,
            name: name.into(),
        }
    }

    /// How the listing spool keeps the entry: `n` or `c` for `new/` or
    /// `cur/`, then what follows the unique name (the info). A name that
    /// is not UTF-8 is kept whole, as the file system has it, after `N` or
    /// `C`. The key is the unique name, so most of a name is written once.
    fn listed(&self, os_name: &OsStr) -> Listed {
        let (sub, whole) = match (self.odd_path.is_some(), self.in_new) {
            (false, true) => (b'n', false),
            (false, false) => (b'c', false),
            (true, true) => (b'N', true),
            (true, false) => (b'C', true),
        };
        let rest = if whole {
            os_name.as_encoded_bytes()
        } else {
            &self.name.as_bytes()[self.id_end as usize..]
        };
        let mut place = Vec::with_capacity(1 + rest.len());
        place.push(sub);
        place.extend_from_slice(rest);
        Listed {
            key: self.id().to_string(),
            place,
        }
    }

    /// The entry the spool kept as `listed`, in folder directory `dir`.
    fn from_listed(listed: &Listed, dir: &Path) -> Entry {
        let (&sub, rest) = listed.place.split_first().unwrap_or((&b'c', &[]));
        let in_new = sub.eq_ignore_ascii_case(&b'n');
        let subdir = dir.join(if in_new { "new" } else { "cur" });
        if sub.is_ascii_uppercase() {
            let os_name = OsStr::from_bytes(rest);
            return Entry::named(os_name, in_new, || subdir.join(os_name));
        }
        let mut name = Vec::with_capacity(listed.key.len() + rest.len());
        name.extend_from_slice(listed.key.as_bytes());
        name.extend_from_slice(rest);
        let os_name = OsStr::from_bytes(&name);
        Entry::named(os_name, in_new, || subdir.join(os_name))
    }

    /// Unique name: the file name up to the info separator.
    fn id(&self) -> &str {
        &self.name[..self.id_end as usize]
    }

    /// The info letters after the separator.
    fn info(&self) -> &str {
        &self.name[self.info.0 as usize..self.info.1 as usize]
    }

    /// The file's path in folder directory `dir`.
    fn path(&self, dir: &Path) -> PathBuf {
        match &self.odd_path {
            Some(path) => path.to_path_buf(),
            None => dir
                .join(if self.in_new { "new" } else { "cur" })
                .join(&*self.name),
        }
    }
}

struct PendingFile {
    tmp: PathBuf,
    target: PathBuf,
    /// The unique name: what the sink reports as the message's place.
    unique: String,
}

impl Maildir {
    /// Opens an existing maildir tree as a source.
    pub fn open_source(root: &Path, filters: Filters, layout: Layout) -> Result<Maildir> {
        let meta = fs::metadata(root).map_err(|e| open_error(root, e))?;
        if !meta.is_dir() {
            return Err(exit::usage(format!(
                "maildir `{}` is a file, not a directory; if it is an mbox file, write mbox:{}",
                root.display(),
                root.display()
            )));
        }
        let mut maildir = Maildir::new(root, true, layout);
        maildir.filters = filters;
        maildir.is_source = true;
        if maildir.list_folders()?.is_empty() {
            return Err(exit::usage(format!(
                "`{}` is not a maildir: it has no cur/ or new/ directory and no subfolders with one \
                 (in {} layout)",
                root.display(),
                match layout {
                    Layout::Auto => "Maildir++ or fs",
                    other => other.as_str(),
                }
            )));
        }
        Ok(maildir)
    }

    /// Opens a maildir tree as a destination, creating its root when missing.
    pub fn open_sink(root: &Path, layout: Layout) -> Result<Maildir> {
        match fs::metadata(root) {
            Ok(meta) if !meta.is_dir() => {
                return Err(exit::usage(format!(
                    "maildir `{}` is a file, not a directory; if it is an mbox file, write mbox:{}",
                    root.display(),
                    root.display()
                )))
            }
            // Created with its first folder, so a run that stops early leaves nothing.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(open_error(root, e)),
        }
        let mut maildir = Maildir::new(root, false, layout);
        maildir.settle_placement()?;
        Ok(maildir)
    }

    /// Opens a maildir tree to read its index only; it may not exist.
    pub fn open_read_only(root: &Path, layout: Layout) -> Result<Maildir> {
        let mut maildir = Maildir::new(root, true, layout);
        maildir.settle_placement()?;
        Ok(maildir)
    }

    fn new(root: &Path, read_only: bool, layout: Layout) -> Maildir {
        Maildir {
            root: root.to_path_buf(),
            read_only,
            layout,
            placement: Layout::MaildirPlusPlus,
            dirs: BTreeMap::new(),
            open: None,
            pending: Vec::new(),
            filters: Filters::default(),
            is_source: false,
            located: None,
            hostname: hostname(),
            counter: 0,
        }
    }

    /// INBOX (when the root is a maildir) and every subfolder of the layout
    /// asked for; with `auto`, of both layouts.
    fn list_folders(&mut self) -> Result<Vec<FolderName>> {
        let tree = Tree::scan(&self.root)?;
        let root = self.root.display();
        match self.layout {
            Layout::Auto if !tree.plus_plus.is_empty() && !tree.fs.is_empty() => {
                report_once(&format!(
                    "maildir `{root}` holds subfolders in both layouts, Maildir++ ({}) and fs \
                     ({}): reading both",
                    tree.plus_plus_examples(),
                    tree.fs_examples()
                ));
            }
            Layout::MaildirPlusPlus if !tree.fs.is_empty() => report_once(&format!(
                "maildir `{root}` also holds fs-layout subfolders ({}), which the Maildir++ \
                 layout leaves out",
                tree.fs_examples()
            )),
            Layout::Fs if !tree.plus_plus.is_empty() => report_once(&format!(
                "maildir `{root}` also holds Maildir++ subfolders ({}), which the fs layout \
                 leaves out",
                tree.plus_plus_examples()
            )),
            _ => {}
        }
        self.dirs = tree.folders(self.layout);
        if self.is_source {
            // Folders of the other layout were left out by choice, and said so.
            let every_folder: Vec<&PathBuf> = tree
                .plus_plus
                .iter()
                .map(|(_, path, _)| path)
                .chain(tree.fs.iter().map(|(_, path)| path))
                .chain(self.dirs.values())
                .collect();
            self.report_unread_entries(&every_folder);
            // Directories whose names give a folder another one already is
            // (`.INBOX` beside the root, `.a..b` beside `.a.b`).
            let plus_plus = tree
                .plus_plus
                .iter()
                .filter(|_| self.layout.reads_plus_plus())
                .map(|(folder, path, utf8)| (folder, path, *utf8));
            let fs = tree
                .fs
                .iter()
                .filter(|_| self.layout.reads_fs())
                .map(|(folder, path)| (folder, path, true));
            for (folder, path, utf8) in plus_plus.chain(fs) {
                if self.dirs.values().any(|chosen| chosen == path) {
                    continue;
                }
                let how = if utf8 {
                    "its name gives"
                } else {
                    "its name is not UTF-8, and made readable it gives"
                };
                let why = match self.dirs.get(folder) {
                    Some(taken) => format!(
                        "{how} folder `{folder}`, which `{}` already is",
                        taken.display()
                    ),
                    None => format!("{how} folder `{folder}`, which is read elsewhere"),
                };
                report::skipped(path, &why);
            }
        }
        Ok(self.dirs.keys().cloned().collect())
    }

    /// Reports what lies in the source's folder directories and is read as
    /// neither a message nor a folder (a stray file, a directory holding
    /// no maildir), leaving out hidden names (by the maildir convention not
    /// mail) and the files mail programs keep there.
    fn report_unread_entries(&self, every_folder: &[&PathBuf]) {
        for dir in self.dirs.values() {
            let Ok(listing) = fs::read_dir(dir) else {
                continue;
            };
            for entry in listing.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.')
                    || matches!(name.as_ref(), "cur" | "new" | "tmp")
                    || is_program_file(&name)
                {
                    continue;
                }
                let path = entry.path();
                if path.is_dir() {
                    // A folder below this one, or a parent of one, is read.
                    if every_folder.iter().any(|folder| folder.starts_with(&path))
                        || is_empty_dir(&path)
                    {
                        continue;
                    }
                    report::skipped(&path, "a directory holding no maildir (no cur/ or new/)");
                } else {
                    report::skipped(&path, "a file beside cur/ and new/, where no mail is read");
                }
            }
        }
    }

    /// Decides, as a destination, where folders not on disk yet go, and
    /// which folders on disk are written where they are.
    fn settle_placement(&mut self) -> Result<()> {
        let tree = Tree::scan(&self.root)?;
        let (has_plus_plus, has_fs) = (!tree.plus_plus.is_empty(), !tree.fs.is_empty());
        let root = self.root.display();
        self.placement = match self.layout {
            Layout::Auto if has_fs && !has_plus_plus => Layout::Fs,
            Layout::Auto => {
                if has_fs {
                    report_once(&format!(
                        "maildir `{root}` holds subfolders in both layouts, Maildir++ ({}) and \
                         fs ({}): folders there are written where they are, new ones in \
                         Maildir++ layout",
                        tree.plus_plus_examples(),
                        tree.fs_examples()
                    ));
                }
                Layout::MaildirPlusPlus
            }
            Layout::Fs => {
                if has_plus_plus {
                    report_once(&format!(
                        "maildir `{root}` holds Maildir++ subfolders ({}): folders are written \
                         in fs layout beside them",
                        tree.plus_plus_examples()
                    ));
                }
                Layout::Fs
            }
            Layout::MaildirPlusPlus => {
                if has_fs {
                    report_once(&format!(
                        "maildir `{root}` holds fs-layout subfolders ({}): folders are written \
                         in Maildir++ layout beside them",
                        tree.fs_examples()
                    ));
                }
                Layout::MaildirPlusPlus
            }
        };
        // fs-layout directory names need not be what a folder name gives
        // (modified UTF-7 from Dovecot or mbsync 1.4, mbsync's `INBOX/`), so
        // the folders found are written where they are.
        if has_fs && self.layout != Layout::MaildirPlusPlus {
            self.dirs = tree.folders(self.layout);
        }
        Ok(())
    }

    /// A source folder's directory and status before any listing:
    /// identity, whether it was replaced, its listing stamp; and whether
    /// the stamp shows nothing new since the last pass that left nothing
    /// behind.
    fn look(
        &self,
        folder: &FolderName,
        progress: &FolderProgress,
    ) -> Result<(PathBuf, FolderStatus, bool)> {
        let dir = self.folder_dir(folder);
        let meta = fs::metadata(&dir)
            .with_context(|| format!("opening folder `{folder}` at `{}`", dir.display()))?;
        let identity = FolderIdentity::Inode {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        let changed = match &progress.identity {
            Some(recorded) if *recorded != identity => Some(format!(
                "maildir folder `{}` was replaced since the last run",
                dir.display()
            )),
            _ => None,
        };
        // Stamped before listing: a change made while listing shows as a
        // new stamp next time. Filters decide by a file's date and size,
        // which can change with no trace in the directory: no stamp then.
        let stamp = match self.filters.is_empty() {
            true => listing_stamp(&dir, SystemTime::now()),
            false => None,
        };
        let unchanged = changed.is_none()
            && stamp.as_ref().is_some_and(|stamp| {
                progress.listing_stamp.as_deref() == Some(stamp.text.as_str())
            });
        let status = FolderStatus {
            identity: Some(identity),
            changed,
            // Renames (flag changes) and removals change it too.
            mirror_stamp: stamp.as_ref().filter(|s| s.settled).map(|s| s.text.clone()),
            listing_stamp: stamp.filter(|s| s.settled).map(|s| s.text),
            ..FolderStatus::default()
        };
        Ok((dir, status, unchanged))
    }

    /// Opens a source folder whose stamp shows nothing new: nothing added,
    /// removed or renamed since a pass that left nothing behind, so there
    /// is no need to read a million names again.
    fn open_unlisted(
        &mut self,
        folder: &FolderName,
        dir: PathBuf,
        mut status: FolderStatus,
    ) -> Result<FolderStatus> {
        report::debug(&format!(
            "folder `{folder}`: unchanged since its last complete pass, not listed"
        ));
        status.pending = Some(0);
        self.open = Some(OpenFolder {
            name: folder.clone(),
            keywords: Keywords::load(&dir)?,
            dir,
            listing: None,
        });
        Ok(status)
    }

    fn folder_dir(&self, folder: &FolderName) -> PathBuf {
        if let Some(dir) = self.dirs.get(folder) {
            return dir.clone();
        }
        let relative = match self.placement {
            Layout::Fs => fs_relative_path(folder),
            Layout::Auto | Layout::MaildirPlusPlus => maildir_dir_name(folder).map(PathBuf::from),
        };
        match relative {
            None => self.root.clone(),
            Some(relative) => self.root.join(relative),
        }
    }
}

/// As a source, a maildir tree is read folder by folder, each listed once
/// when opened.
impl Source for Maildir {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        self.list_folders()
    }

    /// How many messages each of `folders` holds (entries of `cur/` and
    /// `new/`), for starting the largest first.
    async fn weights(&mut self, folders: &[FolderName]) -> HashMap<FolderName, u64> {
        folders
            .iter()
            .map(|folder| {
                let dir = self.folder_dir(folder);
                let entries =
                    |sub: &str| fs::read_dir(dir.join(sub)).map_or(0, |d| d.count() as u64);
                (folder.clone(), entries("cur") + entries("new"))
            })
            .collect()
    }

    async fn open(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
    ) -> Result<FolderStatus> {
        let (dir, mut status, unchanged) = self.look(folder, progress)?;
        if unchanged {
            return self.open_unlisted(folder, dir, status);
        }
        let mut listing = durable::blocking(|| spool_entries(&dir))?;
        if status.changed.is_none() {
            // The sorted listing is merged with the done names, which come
            // from the state in the same order a page at a time: neither
            // set is ever whole in memory.
            let mut merge = listing.reconcile();
            if let Done::Files { names } = &progress.done {
                durable::blocking(|| merge.done(names))?;
            }
            progress
                .recorded
                .each_page(DONE_PAGE, |page| durable::blocking(|| merge.done(&page)))
                .await
                .with_context(|| format!("reading the recorded names of folder `{folder}`"))?;
            let vanished = durable::blocking(|| merge.finish())?;
            status.pending = Some(listing.pending());
            status.vanished = vanished.into_iter().map(SourceKey::File).collect();
        } else {
            // Another folder instance: its earlier progress says nothing,
            // and every message is fetched (dedup finds those copied).
            durable::blocking(|| listing.reconcile().finish())?;
        }
        self.open = Some(OpenFolder {
            name: folder.clone(),
            keywords: Keywords::load(&dir)?,
            dir,
            listing: Some(listing),
        });
        Ok(status)
    }

    /// Only by the folder's stamp: a listing would cost as much as the
    /// worker's own, which would list the folder again.
    async fn open_if_unchanged(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
    ) -> Result<Option<FolderStatus>> {
        match self.look(folder, progress)? {
            (dir, status, true) => self.open_unlisted(folder, dir, status).map(Some),
            _ => Ok(None),
        }
    }

    async fn fetch(
        &mut self,
        _progress: &FolderProgress,
        _known: &FingerprintSet,
        out: &Outbox,
    ) -> Result<()> {
        let open = self.open.as_ref().context("no folder is open")?;
        let Some(listing) = &open.listing else {
            // Not listed: its stamp showed nothing new.
            return Ok(());
        };
        let mut taken = 0;
        loop {
            let page = durable::blocking(|| listing.pending_page(taken, FETCH_PAGE))?;
            if page.is_empty() {
                return Ok(());
            }
            taken += page.len() as u64;
            for listed in &page {
                let entry = Entry::from_listed(listed, &open.dir);
                let read = durable::blocking(|| read_message(&entry, &open.dir, &open.keywords));
                let item = match read {
                    Ok(message)
                        if !self
                            .filters
                            .matches(message.internal_date, message.wire_size()) =>
                    {
                        continue
                    }
                    Ok(message) => Fetched::Message(message),
                    Err(e) => Fetched::Failed(SourceKey::File(listed.key.clone()), e),
                };
                if out.send(item).await.is_err() {
                    return Ok(());
                }
            }
        }
    }

    /// From the listing `open` took: a file's flags are its info letters.
    async fn flags_of(&mut self, keys: &[SourceKey]) -> Result<Vec<FlagsNow>> {
        let open = self.open.as_ref().context("no folder is open")?;
        let listing = open
            .listing
            .as_ref()
            .with_context(|| format!("folder `{}` was not listed", open.name))?;
        let names: Vec<String> = keys.iter().map(file_name_key).collect();
        let found = durable::blocking(|| listing.find(&names))?;
        Ok(found
            .into_iter()
            .map(|listed| {
                listed
                    .map(|listed| {
                        let entry = Entry::from_listed(&listed, &open.dir);
                        open.keywords.flags_from_info(entry.info()).0
                    })
                    .into()
            })
            .collect())
    }

    async fn stats(&mut self) -> Result<FolderStats> {
        let open = self.open.as_ref().context("no folder is open")?;
        let listing = open.listing.as_ref().context("no source folder is open")?;
        let mut stats = FolderStats::default();
        durable::blocking(|| -> Result<()> {
            let mut after: Option<String> = None;
            loop {
                let page = listing.entries_after(after.as_deref(), FETCH_PAGE)?;
                let Some(last) = page.last() else {
                    return Ok(());
                };
                after = Some(last.key.clone());
                for listed in &page {
                    stats.messages += 1;
                    stats.bytes +=
                        fs::metadata(Entry::from_listed(listed, &open.dir).path(&open.dir))
                            .map(|m| m.len())
                            .unwrap_or(0);
                }
            }
        })?;
        Ok(stats)
    }
}

/// As a sink, files are written in `tmp/` and published at `commit`.
impl Sink for Maildir {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        self.list_folders()
    }

    /// Whether the destination holds `folder` (its directory with `cur/`
    /// or `new/`).
    fn holds(&self, folder: &FolderName) -> bool {
        is_folder_dir(&self.folder_dir(folder))
    }

    fn refuses(&self, folder: &FolderName) -> Option<String> {
        crate::store::local_name_problem(&self.root, &self.folder_dir(folder))
    }

    async fn room(&mut self) -> Result<Option<crate::store::Room>> {
        crate::store::file_system_room(&self.root)
    }

    async fn open(
        &mut self,
        folder: &FolderName,
        create: Create,
        _cached: Option<IndexMark>,
        index: &FingerprintSet,
    ) -> Result<Option<Opened>> {
        let create = create.is_yes();
        let dir = self.folder_dir(folder);
        if !dir.join("cur").is_dir() {
            if !create || self.read_only {
                return Ok(None);
            }
            create_folder(&self.root, &dir)
                .with_context(|| format!("creating folder `{folder}` at `{}`", dir.display()))
                .map_err(crate::error::refused_if_local)?;
        } else if !self.read_only {
            remove_abandoned_tmp_files(&dir.join("tmp"));
            durable::remove_stale_temps(&dir.join(KEYWORD_FILE));
        }
        let mut keywords = Keywords::load(&dir)?;
        durable::blocking(|| -> Result<_> {
            let mut fingerprints = Vec::with_capacity(INDEX_CHUNK);
            walk_entries(&dir, |entry, _| {
                // Letters files use without a name must keep meaning
                // nothing: a new keyword given one of them would name those
                // messages too.
                keywords.reserve_unnamed(entry.info());
                // An unreadable file cannot be a duplicate of anything we could copy.
                if let Ok(fingerprint) = fingerprint_file(&entry.path(&dir)) {
                    fingerprints.push(fingerprint);
                }
                if fingerprints.len() == INDEX_CHUNK {
                    index.extend(&fingerprints)?;
                    fingerprints.clear();
                }
                Ok(())
            })?;
            index.extend(&fingerprints)
        })?;
        self.open = Some(OpenFolder {
            name: folder.clone(),
            keywords,
            dir,
            listing: None,
        });
        Ok(Some(Opened::default()))
    }

    async fn append(&mut self, message: Message) -> Result<()> {
        let open = self.open.as_mut().context("no folder is open")?;
        let raw = message.file_bytes();
        let unnamed = message
            .maildir
            .as_ref()
            .map_or("", |file| file.unnamed_keyword_letters.as_str());
        let (info, left_out) = open.keywords.info_letters(&message.flags, unnamed);
        if !left_out.is_empty() {
            report::warn(&format!(
                "{}: keyword letters `{left_out}` have no name in the source folder's \
                 {KEYWORD_FILE}, and folder `{}` uses them for other keywords: left out",
                message.key, open.name
            ));
        }
        let unique = self.unique_name(raw.len() as u64);
        let open = self.open.as_mut().context("no folder is open")?;
        let tmp = open.dir.join("tmp").join(&unique);
        // A maildir source's message returns to where it was: one a mail
        // reader has taken in stays in cur/ without flags, rather than show as
        // new again. One with flags goes to cur/, as the maildir spec keeps
        // info out of new/. From other stores, a message without any flag or
        // keyword is new.
        let in_new = match &message.maildir {
            Some(file) => file.in_new && info.is_empty(),
            None => message.flags.is_empty(),
        };
        // Written with `:`, the separator of the maildir spec, whatever the
        // source used.
        let target = if in_new {
            open.dir.join("new").join(&unique)
        } else {
            open.dir.join("cur").join(format!("{unique}:2,{info}"))
        };
        durable::blocking(|| write_tmp_file(&tmp, &raw, message.internal_date)).with_context(
            || {
                format!(
                    "writing {} to folder `{}` at `{}`",
                    message.key,
                    open.name,
                    tmp.display()
                )
            },
        )?;
        self.pending.push(PendingFile {
            tmp,
            target,
            unique,
        });
        Ok(())
    }

    async fn commit(&mut self) -> Result<Committed> {
        if self.pending.is_empty() {
            return Ok(Committed::default());
        }
        let (open, pending) = (
            self.open.as_mut().context("no folder is open")?,
            &mut self.pending,
        );
        durable::blocking(|| publish(open, pending))
    }

    /// Renames each file to its new info letters, in `cur/` (a message
    /// with flags has been seen by a reader). Keyword letters are saved
    /// before any name uses them, and the directories are flushed before
    /// this returns.
    async fn set_flags(
        &mut self,
        folder: &FolderName,
        changes: &[FlagChange],
    ) -> Result<Vec<Result<()>>> {
        let dir = self.folder_dir(folder);
        let mut keywords = Keywords::load(&dir)?;
        let hints = hints(&keywords, changes.iter().map(|c| (&c.key, c.was.as_ref())));
        let found = self.locate(folder, &hints)?;
        let mut results = Vec::with_capacity(changes.len());
        let mut renames = Vec::new();
        for (change, entry) in changes.iter().zip(found) {
            let Some(entry) = entry else {
                let key = &change.key;
                results.push(Err(anyhow!("{key} is no longer in folder `{folder}`")));
                continue;
            };
            let (_, unnamed) = keywords.flags_from_info(entry.info());
            let (letters, _) = keywords.info_letters(&change.now, &unnamed);
            let target = dir.join("cur").join(format!("{}:2,{letters}", entry.id()));
            renames.push((results.len(), entry.path(&dir), target));
            results.push(Ok(()));
        }
        durable::blocking(|| -> Result<()> {
            keywords
                .save(&dir)
                .with_context(|| format!("saving keywords of folder `{folder}`"))?;
            // Only a directory an entry left or entered needs flushing.
            let mut touched = BTreeSet::new();
            for (index, from, to) in renames {
                if from != to {
                    match fs::rename(&from, &to) {
                        Ok(()) => {
                            touched.extend(from.parent().map(Path::to_path_buf));
                            touched.extend(to.parent().map(Path::to_path_buf));
                        }
                        Err(e) => {
                            results[index] =
                                Err(anyhow!(e).context(format!("renaming `{}`", from.display())))
                        }
                    }
                }
            }
            for sub in touched {
                durable::sync_dir(&sub)
                    .with_context(|| format!("flushing folder `{folder}` to disk"))?;
            }
            Ok(())
        })?;
        Ok(results)
    }

    /// Unlinks each file, or moves it into the Trash folder's `cur/`.
    async fn remove(
        &mut self,
        folder: &FolderName,
        messages: &[DestinationMessage],
        how: Removal,
    ) -> Result<Vec<Result<()>>> {
        let dir = self.folder_dir(folder);
        let keys: Vec<&DestinationKey> = messages.iter().map(|m| &m.key).collect();
        let trash = match how {
            Removal::Expunge => None,
            Removal::Trash => {
                let name = FolderName::parse("Trash").expect("a folder name");
                let trash = self.folder_dir(&name);
                if !trash.join("cur").is_dir() {
                    create_folder(&self.root, &trash).with_context(|| {
                        format!("creating folder `Trash` at `{}`", trash.display())
                    })?;
                }
                Some(trash)
            }
        };
        let hints = hints(
            &Keywords::load(&dir)?,
            messages.iter().map(|m| (&m.key, m.flags.as_ref())),
        );
        let found = self.locate(folder, &hints)?;
        let results = durable::blocking(|| -> Result<Vec<Result<()>>> {
            let mut results = Vec::with_capacity(keys.len());
            let mut touched = BTreeSet::new();
            for (key, entry) in keys.iter().zip(found) {
                // Already gone: what was asked is done.
                let Some(entry) = entry else {
                    results.push(Ok(()));
                    continue;
                };
                let path = entry.path(&dir);
                let done = match &trash {
                    None => fs::remove_file(&path),
                    Some(trash) => fs::rename(&path, trash.join("cur").join(&*entry.name)),
                };
                touched.extend(path.parent().map(Path::to_path_buf));
                results.push(match done {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(anyhow!(e).context(format!("removing {key} from folder `{folder}`")))
                    }
                    _ => Ok(()),
                });
            }
            // Only a directory an entry left needs flushing.
            for sub in touched {
                durable::sync_dir(&sub)
                    .with_context(|| format!("flushing folder `{folder}` to disk"))?;
            }
            if let Some(trash) = &trash {
                durable::sync_dir(&trash.join("cur"))
                    .with_context(|| "flushing folder `Trash` to disk".to_string())?;
            }
            Ok(results)
        })?;
        Ok(results)
    }

    /// Links each file into the open folder's `cur/` under a new unique
    /// name, with the info letters its flags have there (keyword letters
    /// are per folder); a copy where a link cannot be made. Durable when
    /// this returns.
    async fn copy_in(
        &mut self,
        from: &FolderName,
        keys: &[DestinationKey],
    ) -> Result<Vec<Result<DestinationKey>>> {
        let from_dir = self.folder_dir(from);
        let hints: Vec<(DestinationKey, Option<String>)> =
            keys.iter().map(|key| (key.clone(), None)).collect();
        let found = self.locate(from, &hints)?;
        let from_keywords = Keywords::load(&from_dir)?;
        let mut planned = Vec::with_capacity(keys.len());
        for (key, entry) in keys.iter().zip(found) {
            let Some(entry) = entry else {
                planned.push(Err(anyhow!("{key} is no longer in folder `{from}`")));
                continue;
            };
            let path = entry.path(&from_dir);
            let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let unique = self.unique_name(size);
            let open = self.open.as_mut().context("no folder is open")?;
            let (flags, unnamed) = from_keywords.flags_from_info(entry.info());
            let (letters, _) = open.keywords.info_letters(&flags, &unnamed);
            let target = open.dir.join("cur").join(format!("{unique}:2,{letters}"));
            let tmp = open.dir.join("tmp").join(&unique);
            planned.push(Ok((path, tmp, target, unique)));
        }
        let open = self.open.as_mut().context("no folder is open")?;
        durable::blocking(|| -> Result<Vec<Result<DestinationKey>>> {
            open.keywords
                .save(&open.dir)
                .with_context(|| format!("saving keywords of folder `{}`", open.name))?;
            let results: Vec<Result<DestinationKey>> = planned
                .into_iter()
                .map(|plan| {
                    let (path, tmp, target, unique) = plan?;
                    link_or_copy(&path, &tmp, &target)
                        .with_context(|| format!("copying `{}`", path.display()))?;
                    Ok(DestinationKey::File(unique))
                })
                .collect();
            durable::sync_dir(&open.dir.join("cur"))
                .with_context(|| format!("flushing folder `{}` to disk", open.name))?;
            Ok(results)
        })
    }
}

/// Publishes the files written since the last commit: keywords, contents
/// and renames made durable in that order (see `commit`).
impl Maildir {
    /// A new file's unique name, per the maildir spec: time, pid and a
    /// counter, plus Dovecot's `,S=` size so it need not stat the file.
    fn unique_name(&mut self, size: u64) -> String {
        self.counter += 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        format!(
            "{}.M{}P{}Q{}.{},S={size}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            self.counter,
            self.hostname,
        )
    }

    /// The files of `folder` stored under `keys`, where they are now (a
    /// reader may have renamed them). The folder is listed once for the run:
    /// each message changes at most once in a mirror.
    fn locate(
        &mut self,
        folder: &FolderName,
        wanted: &[(DestinationKey, Option<String>)],
    ) -> Result<Vec<Option<Entry>>> {
        let dir = self.folder_dir(folder);
        let mut found: Vec<Option<Entry>> = wanted
            .iter()
            .map(|(key, expected)| probe(&dir, &destination_name(key), expected.as_deref()))
            .collect();
        let missed: Vec<usize> = (0..wanted.len()).filter(|&i| found[i].is_none()).collect();
        if missed.is_empty() {
            return Ok(found);
        }
        if self.located.as_ref().is_none_or(|(name, _)| name != folder) {
            let listing = durable::blocking(|| spool_entries(&dir))
                .with_context(|| format!("listing folder `{folder}`"))?;
            self.located = Some((folder.clone(), listing));
        }
        let (_, listing) = self.located.as_ref().expect("listed above");
        let names: Vec<String> = missed
            .iter()
            .map(|&i| destination_name(&wanted[i].0))
            .collect();
        let listed = durable::blocking(|| listing.find(&names))?;
        for (i, listed) in missed.into_iter().zip(listed) {
            found[i] = listed.map(|listed| Entry::from_listed(&listed, &dir));
        }
        Ok(found)
    }
}

/// Where each message is expected: most files are where the last mirror or
/// copy left them, named with the info letters of the flags recorded, so
/// they are looked for there first and the folder is listed only for
/// those that moved.
fn hints<'a>(
    keywords: &Keywords,
    messages: impl Iterator<Item = (&'a DestinationKey, Option<&'a Flags>)>,
) -> Vec<(DestinationKey, Option<String>)> {
    messages
        .map(|(key, flags)| {
            let expected = flags.map(|flags| {
                // A copy of the table: a guess must not give out letters.
                let letters = keywords.clone().info_letters(flags, "").0;
                format!("{}:2,{letters}", destination_name(key))
            });
            (key.clone(), expected)
        })
        .collect()
}

/// The file of unique name `unique` where it is expected: `cur/` under
/// `expected` (its name with the info letters it was given), or `new/`
/// without info, as a copy leaves a message without flags.
fn probe(dir: &Path, unique: &str, expected: Option<&str>) -> Option<Entry> {
    let candidates = expected
        .map(|name| ("cur", name.to_string()))
        .into_iter()
        .chain([("new", unique.to_string()), ("cur", format!("{unique}:2,"))]);
    for (sub, name) in candidates {
        let path = dir.join(sub).join(&name);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            return Some(Entry::named(OsStr::new(&name), sub == "new", || path));
        }
    }
    None
}

/// The unique name a destination key names in a maildir.
fn destination_name(key: &DestinationKey) -> String {
    match key {
        DestinationKey::File(name) => name.clone(),
        other => other.to_string(),
    }
}

/// The unique name a source key stands for in a maildir.
fn file_name_key(key: &SourceKey) -> String {
    match key {
        SourceKey::File(name) => name.clone(),
        other => other.to_string(),
    }
}

/// Puts a hard link to `from` at `target`; where the file system cannot
/// link (another device), copies through `tmp` and flushes the copy first.
fn link_or_copy(from: &Path, tmp: &Path, target: &Path) -> std::io::Result<()> {
    if fs::hard_link(from, target).is_ok() {
        return Ok(());
    }
    fs::copy(from, tmp)?;
    File::open(tmp)?.sync_all()?;
    fs::rename(tmp, target)
}

fn publish(open: &mut OpenFolder, pending: &mut Vec<PendingFile>) -> Result<Committed> {
    // Order is important: keyword letters must be on disk before any file
    // name that uses them, file contents before the renames that publish
    // them, and the renames before the checkpoint records the messages.
    open.keywords
        .save(&open.dir)
        .with_context(|| format!("saving keywords of folder `{}`", open.name))?;
    sync_file_system(&open.dir)
        .with_context(|| format!("flushing folder `{}` to disk", open.name))?;
    let mut committed = Committed::default();
    for (index, file) in pending.drain(..).enumerate() {
        fs::rename(&file.tmp, &file.target).with_context(|| {
            format!(
                "moving `{}` into place in folder `{}`",
                file.tmp.display(),
                open.name
            )
        })?;
        committed
            .stored
            .push((index, DestinationKey::File(file.unique)));
    }
    for sub in ["new", "cur"] {
        durable::sync_dir(&open.dir.join(sub))
            .with_context(|| format!("flushing folder `{}` to disk", open.name))?;
    }
    Ok(committed)
}

impl Drop for Maildir {
    fn drop(&mut self) {
        // Uncommitted messages were never recorded; leave no half-delivered files.
        for file in self.pending.drain(..) {
            let _ = fs::remove_file(&file.tmp);
        }
    }
}

/// Files mail programs keep in a maildir folder, which hold no mail:
/// Dovecot's and Courier's indexes, UID lists, keyword files and quotas,
/// the Maildir++ folder marker and subscription lists.
fn is_program_file(name: &str) -> bool {
    const NAMES: [&str; 9] = [
        KEYWORD_FILE,
        "maildirfolder",
        "maildirsize",
        "subscriptions",
        "courierimapacl",
        "courierimapkeywords",
        "courierimapuiddb",
        "courierpop3dsizelist",
        "courierimaphieracl",
    ];
    NAMES.contains(&name) || name.starts_with("dovecot") || name.starts_with("courierimap")
}

/// Whether `dir` has no entries (or cannot be listed: nothing to lose).
fn is_empty_dir(dir: &Path) -> bool {
    fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none())
}

/// A warning printed once per process: every worker lists the folders.
fn report_once(warning: &str) {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !seen.iter().any(|w| w == warning) {
        seen.push(warning.to_string());
        report::warn(warning);
    }
}

/// Whether `dir` holds a folder: a `cur/` or a `new/`. A delivery agent
/// that made only `new/` (Dovecot makes `cur/` when it first opens the
/// folder) still left mail there, which must not be passed over.
fn is_folder_dir(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

/// The subfolders a tree holds, in each layout, as found on disk.
#[derive(Default)]
struct Tree {
    root: PathBuf,
    /// The root itself is a maildir: INBOX in either layout.
    root_is_folder: bool,
    /// Maildir++ directories (`.A.B`) below the root, in name order, with
    /// their folder and whether their name is UTF-8.
    plus_plus: Vec<(FolderName, PathBuf, bool)>,
    /// fs-layout folders, parents before children and in name order within
    /// a level.
    fs: Vec<(FolderName, PathBuf)>,
    /// Maildirs below the root level whose name starts with `.`: not
    /// folders of the fs layout, which leaves hidden directories alone.
    hidden: Vec<PathBuf>,
}

impl Tree {
    /// Lists the tree at `root`; a missing root holds nothing.
    fn scan(root: &Path) -> Result<Tree> {
        let mut tree = Tree {
            root: root.to_path_buf(),
            root_is_folder: is_folder_dir(root),
            ..Tree::default()
        };
        let entries = match sorted_entries(root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(tree),
            Err(e) => return Err(open_error(root, e)),
        };
        let mut visited = HashSet::new();
        if let Ok(meta) = fs::metadata(root) {
            visited.insert((meta.dev(), meta.ino()));
        }
        for entry in entries {
            let path = entry.path();
            let file_name = entry.file_name();
            // A name that is not UTF-8 (an old tool's Latin-1) is still a
            // folder: it is read through its real path under a lossy name.
            let name = file_name.to_string_lossy();
            if name.starts_with('.') {
                if is_folder_dir(&path) {
                    if let Some(folder) = folder_from_maildir_dir(&name) {
                        let utf8 = file_name.to_str().is_some();
                        tree.plus_plus.push((folder, path, utf8));
                    }
                }
            } else if !MAILDIR_SUBDIRS.contains(&name.as_ref()) {
                tree.walk_fs(&path, &mut vec![name.into_owned()], &mut visited);
            }
        }
        Ok(tree)
    }

    /// Records `dir` (at `levels` below the root) and the fs-layout folders
    /// below it. A directory is visited once, so a symbolic link back up
    /// the tree ends the walk instead of looping.
    fn walk_fs(&mut self, dir: &Path, levels: &mut Vec<String>, visited: &mut HashSet<(u64, u64)>) {
        // A file, a dangling link, or a directory reached before.
        let Ok(meta) = fs::metadata(dir) else { return };
        if !meta.is_dir() || !visited.insert((meta.dev(), meta.ino())) {
            return;
        }
        if is_folder_dir(dir) {
            let levels: Vec<&str> = levels.iter().map(String::as_str).collect();
            if let Some(folder) = folder_from_fs_path(&levels) {
                self.fs.push((folder, dir.to_path_buf()));
            }
        }
        let entries = match sorted_entries(dir) {
            Ok(entries) => entries,
            Err(e) => {
                report_once(&format!(
                    "cannot list `{}`: {e}; folders below it are left out",
                    dir.display()
                ));
                return;
            }
        };
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if MAILDIR_SUBDIRS.contains(&name.as_str()) {
                continue;
            }
            let path = entry.path();
            if name.starts_with('.') {
                if is_folder_dir(&path) {
                    self.hidden.push(path);
                }
                continue;
            }
            levels.push(name);
            self.walk_fs(&path, levels, visited);
            levels.pop();
        }
    }

    /// The folders of `layout` and their directories; `auto` takes both.
    fn folders(&self, layout: Layout) -> BTreeMap<FolderName, PathBuf> {
        let mut dirs = BTreeMap::new();
        if self.root_is_folder {
            dirs.insert(FolderName::inbox(), self.root.clone());
        }
        if layout.reads_plus_plus() {
            for (folder, path, utf8) in &self.plus_plus {
                match dirs.entry(folder.clone()) {
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert(path.clone());
                    }
                    // Of two directories giving one name, the one mailtug
                    // would write keeps it (`.a.b`, not `.a..b`); a folder
                    // never replaces the root's INBOX. A source reports the
                    // other one as not read.
                    std::collections::btree_map::Entry::Occupied(mut taken) => {
                        let canonical = crate::folder::maildir_dir_name(folder)
                            .is_some_and(|name| path.file_name() == Some(name.as_ref()));
                        if *utf8 && canonical && *taken.get() != self.root {
                            taken.insert(path.clone());
                        }
                    }
                }
            }
        }
        if layout.reads_fs() {
            for (folder, path) in &self.fs {
                claim(&mut dirs, folder, path);
            }
            for path in &self.hidden {
                report_once(&format!(
                    "skipping `{}`: in the fs layout a directory whose name starts with `.` is \
                     not a folder; rename it to copy it",
                    path.display()
                ));
            }
        }
        dirs
    }

    /// A few Maildir++ directory names, for a message.
    fn plus_plus_examples(&self) -> String {
        examples(self.plus_plus.iter().map(|(_, path, _)| path), &self.root)
    }

    /// A few fs-layout directories, for a message.
    fn fs_examples(&self) -> String {
        examples(self.fs.iter().map(|(_, path)| path), &self.root)
    }
}

/// Up to three paths relative to `root`, and how many more there are.
fn examples<'a>(paths: impl ExactSizeIterator<Item = &'a PathBuf>, root: &Path) -> String {
    let count = paths.len();
    let mut text: Vec<String> = paths
        .take(3)
        .map(|path| {
            let relative = path.strip_prefix(root).unwrap_or(path);
            format!("`{}`", relative.display())
        })
        .collect();
    if count > 3 {
        text.push(format!("{} more", count - 3));
    }
    text.join(", ")
}

/// Gives `dir` the name `folder`, or the first free `folder~N` when another
/// directory has it, saying so. A tree holding both layouts (or mbsync's
/// `INBOX/` beside a root maildir) can spell one name twice, and neither
/// directory is passed over.
fn claim(dirs: &mut BTreeMap<FolderName, PathBuf>, folder: &FolderName, dir: &Path) {
    let Some(taken_by) = dirs.get(folder).cloned() else {
        dirs.insert(folder.clone(), dir.to_path_buf());
        return;
    };
    for n in 2.. {
        let Ok(candidate) = FolderName::parse(&format!("{folder}~{n}")) else {
            return;
        };
        if let std::collections::btree_map::Entry::Vacant(slot) = dirs.entry(candidate) {
            report_once(&format!(
                "`{}` is read as folder `{}`: `{}` already has the name `{folder}`",
                dir.display(),
                slot.key(),
                taken_by.display()
            ));
            slot.insert(dir.to_path_buf());
            return;
        }
    }
}

/// The entries of `dir` in name order, so that every run sees a tree the same way.
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<fs::DirEntry>> {
    let mut entries = fs::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    Ok(entries)
}

/// Splits a message file name into its unique name and its info letters
/// (`None` when there is no info).
///
/// The maildir spec separates them with `:2,`. `:` cannot appear in file
/// names on FAT or Windows shares, so tools writing there use another
/// character: `;` (mbsync's `InfoDelimiter` on Windows) or `!` (the example
/// in Python's `mailbox.Maildir.colon`). Those are taken at their last `2,`,
/// where info ends a name; `:2,` at its first, and up to a second one, as
/// the `maildir` crate split, which keeps the unique names a checkpoint
/// records.
fn split_info(name: &str) -> (&str, Option<&str>) {
    if let Some((unique, info)) = name.split_once(":2,") {
        let info = info.split(":2,").next().unwrap_or_default();
        return (unique, Some(info));
    }
    let alternative = [name.rfind("!2,"), name.rfind(";2,")]
        .into_iter()
        .flatten()
        .max();
    match alternative {
        Some(at) => (&name[..at], Some(&name[at + 3..])),
        None => (name, None),
    }
}

/// Visits every message file of `cur/` and `new/`, in directory order.
/// Dot files are not messages (the maildir spec's rule, which also skips
/// the `._` files macOS leaves); anything else is, whatever it looks like,
/// and is reported if it cannot be read rather than passed over. A folder
/// without `cur/` (a delivery agent made only `new/`) is fine.
fn walk_entries(dir: &Path, mut visit: impl FnMut(Entry, &OsStr) -> Result<()>) -> Result<()> {
    for sub in ["new", "cur"] {
        let path = dir.join(sub);
        let listing = match fs::read_dir(&path) {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("listing `{}`", path.display())),
        };
        for item in listing {
            let item = item.with_context(|| format!("listing `{}`", path.display()))?;
            // A name that is not UTF-8 is read through its real path; its
            // unique name is made readable, as the `maildir` crate did.
            let os_name = item.file_name();
            if os_name.as_encoded_bytes().starts_with(b".") {
                continue;
            }
            visit(Entry::new(&item, sub == "new"), &os_name)?;
        }
    }
    Ok(())
}

/// How old a directory's last change must be before its stamp is trusted:
/// a change within the same tick of a coarse file-system clock (FAT keeps
/// 2 seconds) would leave the stamp as it was.
const STAMP_SETTLED_AFTER: Duration = Duration::from_secs(2);

/// The change stamp of a folder's `new/` and `cur/`, taken at `now`.
struct ListingStamp {
    text: String,
    /// Both directories last changed well before `now`, so any later change
    /// gives another stamp: only then may the stamp stand for the listing.
    settled: bool,
}

/// Stamps a folder's listing by its directories' inode, change and
/// modification times and size. Adding, removing or renaming a file changes
/// them, and so does setting a directory's times back (the change time
/// cannot be set). `None` when a directory cannot be read.
fn listing_stamp(dir: &Path, now: SystemTime) -> Option<ListingStamp> {
    let mut text = String::new();
    let mut settled = true;
    for sub in ["new", "cur"] {
        match fs::metadata(dir.join(sub)) {
            Ok(meta) => {
                text.push_str(&format!(
                    "{sub}={}.{}.{}.{}.{}.{} ",
                    meta.ino(),
                    meta.ctime(),
                    meta.ctime_nsec(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                    meta.size()
                ));
                let changed = SystemTime::UNIX_EPOCH
                    + Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec() as u32);
                settled &= changed + STAMP_SETTLED_AFTER <= now;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                text.push_str(&format!("{sub}=none "));
            }
            Err(_) => return None,
        }
    }
    text.pop();
    Some(ListingStamp { text, settled })
}

/// Lists `cur/` and `new/` into a spool, which sorts them by unique name.
fn spool_entries(dir: &Path) -> Result<ListingSpool> {
    const CHUNK: usize = 10_000;
    let mut spool = ListingSpool::new()?;
    let mut chunk = Vec::with_capacity(CHUNK);
    walk_entries(dir, |entry, os_name| {
        chunk.push(entry.listed(os_name));
        if chunk.len() == CHUNK {
            spool.list(chunk.drain(..))?;
        }
        Ok(())
    })?;
    spool.list(chunk)?;
    let repeated = spool.sort()?;
    if repeated > 0 {
        // The same unique name in `new/` and `cur/`: a mail reader moving
        // the file as we listed. It is one message, read once.
        report::debug(&format!(
            "`{}`: {repeated} unique names listed twice (moved while listing), each read once",
            dir.display(),
        ));
    }
    Ok(spool)
}

fn read_message(entry: &Entry, dir: &Path, keywords: &Keywords) -> Result<Message> {
    let path = entry.path(dir);
    let (mut file, info, in_new) = match open_message_file(&path) {
        Ok(file) => (file, entry.info().to_string(), entry.in_new),
        // A mail reader may have renamed it since the listing (new/ → cur/,
        // flags changed); the unique name stays, so look for it once more.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && path.is_symlink() => {
            return Err(e)
                .with_context(|| format!("`{}` is a symbolic link to nothing", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let moved = relocate(dir, entry.id())
                .with_context(|| format!("reading `{}`", path.display()))?;
            let moved_path = moved.path(dir);
            let file = open_message_file(&moved_path)
                .with_context(|| format!("reading `{}`", moved_path.display()))?;
            (file, moved.info().to_string(), moved.in_new)
        }
        Err(e) => return Err(e).with_context(|| format!("reading `{}`", path.display())),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(anyhow!("`{}` is not a regular file", path.display()));
    }
    let mut raw = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut raw)
        .with_context(|| format!("reading `{}`", path.display()))?;
    if raw.is_empty() {
        return Err(anyhow!("`{}` is empty, not a message", path.display()));
    }
    let (flags, unnamed_keyword_letters) = keywords.flags_from_info(&info);
    let mut message = Message::new(
        SourceKey::File(entry.id().to_string()),
        raw,
        flags,
        meta.modified().ok(),
    );
    message.maildir = Some(MaildirFile {
        in_new,
        unnamed_keyword_letters,
    });
    Ok(message)
}

/// Opens a file of `cur/` or `new/` for reading without blocking: opening a
/// FIFO for reading waits for a writer, forever if none comes, so a FIFO
/// where a message should be would hang the run (and ignore Ctrl-C, which
/// waits for the current batch). `O_NONBLOCK` makes that open return at
/// once; the caller then refuses anything that is not a regular file, for
/// which the flag changes nothing.
fn open_message_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Finds a message by unique name after it moved within the folder.
fn relocate(dir: &Path, id: &str) -> std::io::Result<Entry> {
    for sub in ["cur", "new"] {
        let listing = match fs::read_dir(dir.join(sub)) {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for item in listing {
            let item = item?;
            let entry = Entry::new(&item, sub == "new");
            if entry.id() == id && !entry.name.starts_with('.') {
                return Ok(entry);
            }
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "the message was deleted while mailtug was reading the folder",
    ))
}

/// The fingerprint of a stored file, reading only its head when the
/// Message-ID is there (the common case) and the whole file otherwise.
fn fingerprint_file(path: &Path) -> Result<Fingerprint> {
    const HEAD: usize = 64 * 1024;
    let mut file = open_message_file(path)?;
    if !file.metadata()?.is_file() {
        return Err(anyhow!("`{}` is not a regular file", path.display()));
    }
    let mut head = vec![0; HEAD];
    let mut filled = 0;
    while filled < HEAD {
        let n = file.read(&mut head[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    let headers_complete = body_offset(&head) < head.len() || filled < HEAD;
    if headers_complete {
        let fingerprint = Fingerprint::of(&head);
        if fingerprint.message_id().is_some() || filled < HEAD {
            return Ok(fingerprint);
        }
    }
    file.read_to_end(&mut head)?;
    Ok(Fingerprint::of(&head))
}

fn write_tmp_file(path: &Path, raw: &[u8], date: Option<SystemTime>) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let result = (|| {
        file.write_all(raw)?;
        if let Some(date) = date {
            // Before the rename, so the published file never shows the wrong date.
            file.set_times(fs::FileTimes::new().set_modified(date).set_accessed(date))?;
        }
        Ok(())
    })();
    if result.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    result
}

/// Creates the maildir `dir` below `root` (and any bare parent directories
/// an fs-layout folder needs), and makes the creation durable.
fn create_folder(root: &Path, dir: &Path) -> Result<()> {
    // The root of a tree is itself a maildir (INBOX), so a tree that starts
    // with a subfolder is still one Dovecot and mutt can open — unless it
    // keeps INBOX in `INBOX/`, as mbsync does, where a root maildir would be
    // a second, empty INBOX.
    let inbox_in_subdirectory = !is_folder_dir(root) && is_folder_dir(&root.join("INBOX"));
    let bases: &[&Path] = if inbox_in_subdirectory {
        &[dir]
    } else {
        &[root, dir]
    };
    for base in bases {
        // cur/ last: another worker takes a folder with cur/ as made.
        for sub in ["tmp", "new", "cur"] {
            durable::create_private_dir(&base.join(sub))?;
        }
    }
    let is_plus_plus = dir.parent() == Some(root)
        && dir
            .file_name()
            .is_some_and(|name| name.as_encoded_bytes().starts_with(b"."));
    if is_plus_plus {
        // Maildir++ marker that Courier and Dovecot write into subfolders.
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(dir.join("maildirfolder"))?;
    }
    // The new directory, and every directory that gained an entry, up to the root.
    durable::sync_dir(dir)?;
    for parent in dir.ancestors().skip(1) {
        if !parent.starts_with(root) {
            break;
        }
        durable::sync_dir(parent)?;
    }
    Ok(())
}

/// Flushes every dirty file of the file system holding `dir` in one call:
/// much cheaper than one fsync per message, and enough because the renames
/// come after it.
fn sync_file_system(dir: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let handle = File::open(dir)?;
    // SAFETY: syncfs only reads the descriptor, which stays open for the call.
    let rc = unsafe { libc::syncfs(handle.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Removes files in `tmp/` that a killed mailtug left behind (its pid is gone)
/// and any file older than the maildir convention's 36 hours.
fn remove_abandoned_tmp_files(tmp: &Path) {
    let Ok(listing) = fs::read_dir(tmp) else {
        return;
    };
    let now = SystemTime::now();
    for entry in listing.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours_and_dead = writer_pid(name).is_some_and(|pid| !durable::process_exists(pid));
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > STALE_TMP);
        if ours_and_dead || stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The pid in a unique name mailtug wrote: `secs.M<usec>P<pid>Q<n>.host…`.
fn writer_pid(name: &str) -> Option<i32> {
    let (_, rest) = name.split_once(".M")?;
    let (_, rest) = rest.split_once('P')?;
    let (pid, rest) = rest.split_once('Q')?;
    rest.chars().next().filter(char::is_ascii_digit)?;
    pid.parse().ok()
}

fn hostname() -> String {
    let raw = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = raw.trim();
    let name = if name.is_empty() { "localhost" } else { name };
    // Maildir spec: `/` and `:` cannot appear in a unique name.
    name.replace('/', "\\057").replace(':', "\\072")
}

fn open_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            exit::usage(format!("maildir `{}` does not exist", path.display()))
        }
        _ => exit::unreachable(format!("cannot open maildir `{}`: {e}", path.display())),
    }
}

/// Dovecot's `dovecot-keywords`: `N keyword` lines, letter `a`+N in file names.
#[derive(Clone, Default)]
struct Keywords {
    by_index: Vec<Option<String>>,
    by_name: HashMap<String, usize>,
    /// Letters that files of the folder use without a name here (bit N for
    /// letter `a`+N). A new keyword never gets one: it would name them.
    unnamed: u32,
    dirty: bool,
}

impl Keywords {
    fn load(dir: &Path) -> Result<Keywords> {
        let mut keywords = Keywords::default();
        let path = dir.join(KEYWORD_FILE);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keywords),
            Err(e) => return Err(e).with_context(|| format!("reading `{}`", path.display())),
        };
        for line in String::from_utf8_lossy(&text).lines() {
            let Some((index, name)) = line.split_once(' ') else {
                continue;
            };
            let (Ok(index), name) = (index.parse::<usize>(), name.trim()) else {
                continue;
            };
            if index < MAX_KEYWORDS && !name.is_empty() {
                if keywords.by_index.len() <= index {
                    keywords.by_index.resize(index + 1, None);
                }
                keywords.by_index[index] = Some(name.to_string());
                keywords.by_name.insert(name.to_string(), index);
            }
        }
        Ok(keywords)
    }

    fn is_named(&self, index: usize) -> bool {
        matches!(self.by_index.get(index), Some(Some(_)))
    }

    /// Flags from the letters after `:2,`, and the keyword letters this
    /// table does not name (in ASCII order). `P` (passed) is `$Forwarded`,
    /// as isync and Dovecot's IMAP keyword map treat it.
    fn flags_from_info(&self, info: &str) -> (Flags, String) {
        let mut flags = Flags::default();
        let mut unnamed = Vec::new();
        for c in info.chars() {
            match c {
                'D' => flags.draft = true,
                'F' => flags.flagged = true,
                'P' => flags.add_keyword("$Forwarded"),
                'R' => flags.answered = true,
                'S' => flags.seen = true,
                'T' => flags.deleted = true,
                'a'..='z' => {
                    let index = (c as u8 - b'a') as usize;
                    match self.by_index.get(index) {
                        Some(Some(name)) => flags.add_keyword(name),
                        _ => unnamed.push(c),
                    }
                }
                _ => {}
            }
        }
        unnamed.sort_unstable();
        unnamed.dedup();
        (flags, unnamed.into_iter().collect())
    }

    /// Keeps the letters of `info` that this table does not name from being
    /// given to a new keyword.
    fn reserve_unnamed(&mut self, info: &str) {
        for c in info.chars().filter(char::is_ascii_lowercase) {
            let index = (c as u8 - b'a') as usize;
            if !self.is_named(index) {
                self.unnamed |= 1 << index;
            }
        }
    }

    /// The info letters for `flags` and the source's unnamed keyword letters
    /// `unnamed`, in ASCII order as the spec requires, assigning new keyword
    /// letters as needed; and the unnamed letters this folder names
    /// otherwise, which cannot be kept. Keywords beyond Dovecot's 26 letters
    /// cannot be stored in a maildir and are left out.
    fn info_letters(&mut self, flags: &Flags, unnamed: &str) -> (String, String) {
        let mut letters = Vec::new();
        let mut left_out = String::new();
        // Before any new keyword takes a letter: the message's own unnamed
        // letters are not free for it.
        for c in unnamed.chars().filter(char::is_ascii_lowercase) {
            let index = (c as u8 - b'a') as usize;
            if self.is_named(index) {
                left_out.push(c);
            } else {
                self.unnamed |= 1 << index;
                letters.push(c);
            }
        }
        for (set, letter) in [
            (flags.draft, 'D'),
            (flags.flagged, 'F'),
            (flags.answered, 'R'),
            (flags.seen, 'S'),
            (flags.deleted, 'T'),
        ] {
            if set {
                letters.push(letter);
            }
        }
        for keyword in &flags.keywords {
            if keyword.eq_ignore_ascii_case("$Forwarded") {
                letters.push('P');
            } else if let Some(index) = self.index_of(keyword) {
                letters.push((b'a' + index as u8) as char);
            }
        }
        letters.sort_unstable();
        letters.dedup();
        (letters.into_iter().collect(), left_out)
    }

    fn index_of(&mut self, keyword: &str) -> Option<usize> {
        if let Some(&index) = self.by_name.get(keyword) {
            return Some(index);
        }
        if keyword.is_empty() || keyword.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let index = (0..MAX_KEYWORDS)
            .find(|&index| !self.is_named(index) && self.unnamed & (1 << index) == 0)?;
        if self.by_index.len() <= index {
            self.by_index.resize(index + 1, None);
        }
        self.by_index[index] = Some(keyword.to_string());
        self.by_name.insert(keyword.to_string(), index);
        self.dirty = true;
        Some(index)
    }

    fn save(&mut self, dir: &Path) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut text = String::new();
        for (index, name) in self.by_index.iter().enumerate() {
            if let Some(name) = name {
                text.push_str(&format!("{index} {name}\n"));
            }
        }
        durable::write_atomically(&dir.join(KEYWORD_FILE), text.as_bytes())?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_letters_are_sorted_and_keywords_get_letters() {
        let mut keywords = Keywords::default();
        let flags = Flags {
            seen: true,
            flagged: true,
            answered: true,
            keywords: vec!["Work".into(), "$Forwarded".into(), "Later".into()],
            ..Flags::default()
        };
        assert_eq!(
            keywords.info_letters(&flags, ""),
            ("FPRSab".into(), "".into())
        );
        assert!(keywords.dirty);
        let (back, unnamed) = keywords.flags_from_info("FPRSab");
        assert!(back.seen && back.flagged && back.answered);
        assert_eq!(back.keywords, vec!["$Forwarded", "Work", "Later"]);
        assert_eq!(unnamed, "");
    }

    #[test]
    fn keyword_file_round_trips_and_keeps_its_letters() {
        let dir = std::env::temp_dir().join(format!("mailtug-kw-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(KEYWORD_FILE), "0 $Label1\n2 Junk\nbroken line\n").unwrap();
        let mut keywords = Keywords::load(&dir).unwrap();
        assert_eq!(
            keywords.flags_from_info("ac").0.keywords,
            vec!["$Label1", "Junk"]
        );
        let flags = Flags {
            keywords: vec!["New".into()],
            ..Flags::default()
        };
        // The free slot b is reused.
        assert_eq!(keywords.info_letters(&flags, ""), ("b".into(), "".into()));
        keywords.save(&dir).unwrap();
        let reloaded = Keywords::load(&dir).unwrap();
        assert_eq!(
            reloaded.flags_from_info("abc").0.keywords,
            vec!["$Label1", "New", "Junk"]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fifo_among_the_messages_is_refused_without_waiting_for_a_writer() {
        let dir = std::env::temp_dir().join(format!("mailtug-fifo-{}", std::process::id()));
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let fifo = dir.join("cur/1700000000.M1P1.fifo:2,S");
        let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        // Without O_NONBLOCK both calls would block forever: nobody writes.
        let mut entries = Vec::new();
        walk_entries(&dir, |entry, _| {
            entries.push(entry);
            Ok(())
        })
        .unwrap();
        assert_eq!(entries.len(), 1);
        let err = read_message(&entries[0], &dir, &Keywords::default()).unwrap_err();
        assert!(
            format!("{err:#}").contains("is not a regular file"),
            "{err:#}"
        );
        assert!(fingerprint_file(&fifo).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_comes_back_whole_from_the_listing_spool() {
        let dir = Path::new("/m/.Archive");
        let names: [&[u8]; 5] = [
            b"1700000000.M1P2.host:2,FS",
            b"1700000000.M1P2.host!2,",
            b"1700000001.M3P4.host",
            b"1700000002.M5P6.h\xf6st:2,S",
            b"odd;2,R",
        ];
        for raw in names {
            for in_new in [true, false] {
                let os_name = OsStr::from_bytes(raw);
                let sub = if in_new { "new" } else { "cur" };
                let entry = Entry::named(os_name, in_new, || dir.join(sub).join(os_name));
                let back = Entry::from_listed(&entry.listed(os_name), dir);
                assert_eq!(back.path(dir), dir.join(sub).join(os_name), "{raw:?}");
                assert_eq!((back.id(), back.info()), (entry.id(), entry.info()));
                assert_eq!(back.in_new, in_new);
            }
        }
    }

    #[test]
    fn file_names_split_into_unique_name_and_info_at_any_separator() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("1234.M5P6.host:2,S", "1234.M5P6.host", Some("S")),
            ("1234.M5P6.host!2,S", "1234.M5P6.host", Some("S")),
            ("1234.M5P6.host;2,FSa", "1234.M5P6.host", Some("FSa")),
            ("1234.M5P6.host,S=10:2,", "1234.M5P6.host,S=10", Some("")),
            ("1234.M5P6.host!2,", "1234.M5P6.host", Some("")),
            ("1234.M5P6.host", "1234.M5P6.host", None),
            ("1234.M5P6.host:1,x", "1234.M5P6.host:1,x", None),
            // `:` wins, at its first `2,`, as the `maildir` crate split.
            ("1234.a!2,b:2,S", "1234.a!2,b", Some("S")),
            ("1234.a:2,S:2,F", "1234.a", Some("S")),
            // Other separators at their last `2,`, where info ends a name.
            ("1234.a!2,b;2,RS", "1234.a!2,b", Some("RS")),
            ("1234.a;2,b!2,", "1234.a;2,b", Some("")),
            ("1234.host!2", "1234.host!2", None),
            ("", "", None),
        ];
        for (name, unique, info) in cases {
            assert_eq!(split_info(name), (*unique, *info), "{name:?}");
        }
    }

    #[test]
    fn unnamed_keyword_letters_are_read_kept_and_never_given_to_new_keywords() {
        let dir = temp_dir("unnamed");
        fs::write(dir.join(KEYWORD_FILE), "0 $Label1\n2 Junk\n").unwrap();
        let source = Keywords::load(&dir).unwrap();
        // (info, keywords, unnamed letters)
        let cases: &[(&str, &[&str], &str)] = &[
            ("Sa", &["$Label1"], ""),
            ("Sb", &[], "b"),
            ("Sdbbz", &[], "bdz"),
            ("acd", &["$Label1", "Junk"], "d"),
            ("SZx", &[], "x"),
        ];
        for (info, keywords, unnamed) in cases {
            let (flags, letters) = source.flags_from_info(info);
            assert_eq!(flags.keywords, *keywords, "{info:?}");
            assert_eq!(letters, *unnamed, "{info:?}");
        }

        // A destination whose `c` is Junk: `b` and `d` can be kept, `c` not,
        // and a new keyword takes neither `b` nor `d`.
        let mut sink = Keywords::load(&dir).unwrap();
        sink.reserve_unnamed("Sd");
        let flags = Flags {
            seen: true,
            keywords: vec!["New".into()],
            ..Flags::default()
        };
        assert_eq!(sink.info_letters(&flags, "bc"), ("Sbe".into(), "c".into()));
        assert_eq!(sink.by_index[4].as_deref(), Some("New"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_keyword_waits_for_a_letter_no_file_uses() {
        let mut keywords = Keywords::default();
        for letter in 'a'..='y' {
            keywords.reserve_unnamed(&letter.to_string());
        }
        let flags = |name: &str| Flags {
            keywords: vec![name.into()],
            ..Flags::default()
        };
        assert_eq!(
            keywords.info_letters(&flags("One"), ""),
            ("z".into(), "".into())
        );
        // No letter is left: the keyword cannot be stored, as past 26.
        assert_eq!(
            keywords.info_letters(&flags("Two"), ""),
            ("".into(), "".into())
        );
    }

    #[test]
    fn a_listing_stamp_changes_with_the_listing_and_is_trusted_once_settled() {
        let dir = temp_dir("stamp");
        make_folder(&dir);
        let stamp = || listing_stamp(&dir, SystemTime::now() + Duration::from_secs(3)).unwrap();
        let fresh = listing_stamp(&dir, SystemTime::now()).unwrap();
        assert!(
            !fresh.settled,
            "a change in the same clock tick would not show"
        );
        let first = stamp();
        assert!(first.settled);
        assert_eq!(first.text, fresh.text);
        assert_eq!(stamp().text, first.text, "nothing changed");

        let mut seen = vec![first.text];
        let changes: [(&str, &dyn Fn()); 6] = [
            ("a delivery", &|| {
                fs::write(dir.join("new/1.a.host"), "x").unwrap()
            }),
            ("a move to cur/", &|| {
                fs::rename(dir.join("new/1.a.host"), dir.join("cur/1.a.host:2,")).unwrap()
            }),
            ("a flag change", &|| {
                fs::rename(dir.join("cur/1.a.host:2,"), dir.join("cur/1.a.host:2,S")).unwrap()
            }),
            ("a file's contents", &|| {
                // Not a change to the listing: the stamp may stay.
                fs::write(dir.join("cur/1.a.host:2,S"), "y").unwrap()
            }),
            ("times set back", &|| {
                let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
                let times = fs::FileTimes::new().set_modified(old).set_accessed(old);
                File::open(dir.join("cur"))
                    .unwrap()
                    .set_times(times)
                    .unwrap();
            }),
            ("a removal", &|| {
                fs::remove_file(dir.join("cur/1.a.host:2,S")).unwrap()
            }),
        ];
        for (what, change) in changes {
            // Past a tick of the kernel's coarse clock.
            std::thread::sleep(Duration::from_millis(20));
            change();
            let now = stamp().text;
            if what == "a file's contents" {
                continue;
            }
            assert!(
                !seen.contains(&now),
                "{what} left the stamp as it was: {now}"
            );
            seen.push(now);
        }
        fs::remove_dir_all(dir.join("cur")).unwrap();
        assert!(stamp().text.ends_with("cur=none"), "{}", stamp().text);
        fs::remove_dir_all(&dir).unwrap();
    }

    fn temp_dir(tag: &str) -> PathBuf {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("mailtug-maildir-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn make_folder(dir: &Path) {
        for sub in MAILDIR_SUBDIRS {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
    }

    /// The folders `layout` finds in `root`, with their directories below it.
    fn folders_of(root: &Path, layout: Layout) -> Vec<(String, String)> {
        let mut maildir = Maildir::new(root, true, layout);
        maildir.list_folders().unwrap();
        maildir
            .dirs
            .iter()
            .map(|(folder, dir)| {
                let relative = dir.strip_prefix(root).unwrap().to_string_lossy();
                (folder.to_string(), relative.into_owned())
            })
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(folder, dir)| (folder.to_string(), dir.to_string()))
            .collect()
    }

    #[test]
    fn an_fs_tree_reads_nested_folders_parents_with_mail_and_bare_parents() {
        let root = temp_dir("fs");
        for dir in [
            "",
            "Work",
            "Work/Project",
            "Work/Project/cur/not-a-folder",
            "Archive/2023",
            "INBOX/sub",
            "Entw&APw-rfe",
            "Work/.hidden",
        ] {
            make_folder(&root.join(dir));
        }
        // Not folders: a file, a directory without cur/ or new/ and nothing
        // below, a link back up the tree.
        fs::write(root.join("dovecot-uidlist"), "3 V1 N1\n").unwrap();
        fs::create_dir_all(root.join("courierimapkeywords")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("Work/loop")).unwrap();
        let expected = pairs(&[
            ("Archive/2023", "Archive/2023"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("INBOX", ""),
            ("INBOX/sub", "INBOX/sub"),
            ("Work", "Work"),
            ("Work/Project", "Work/Project"),
        ]);
        assert_eq!(folders_of(&root, Layout::Fs), expected);
        assert_eq!(folders_of(&root, Layout::Auto), expected);
        // Maildir++ sees the root only, and says what it leaves out.
        assert_eq!(
            folders_of(&root, Layout::MaildirPlusPlus),
            pairs(&[("INBOX", "")])
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn mbsyncs_inbox_directory_is_inbox_and_a_second_inbox_gets_a_suffix() {
        let root = temp_dir("mbsync");
        for dir in ["INBOX", "INBOX/sub", "Sent"] {
            make_folder(&root.join(dir));
        }
        assert_eq!(
            folders_of(&root, Layout::Auto),
            pairs(&[
                ("INBOX", "INBOX"),
                ("INBOX/sub", "INBOX/sub"),
                ("Sent", "Sent")
            ])
        );
        // A root maildir as well (Dovecot's INBOX): both are read.
        make_folder(&root);
        assert_eq!(
            folders_of(&root, Layout::Fs),
            pairs(&[
                ("INBOX", ""),
                ("INBOX/sub", "INBOX/sub"),
                ("INBOX~2", "INBOX"),
                ("Sent", "Sent")
            ])
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_tree_with_both_layouts_reads_both_and_names_collide_apart() {
        let root = temp_dir("mixed");
        for dir in ["", ".Sent", ".Archive.2023", "Sent", "Work", "Work~2"] {
            make_folder(&root.join(dir));
        }
        assert_eq!(
            folders_of(&root, Layout::Auto),
            pairs(&[
                ("Archive/2023", ".Archive.2023"),
                ("INBOX", ""),
                ("Sent", ".Sent"),
                ("Sent~2", "Sent"),
                ("Work", "Work"),
                ("Work~2", "Work~2"),
            ])
        );
        assert_eq!(
            folders_of(&root, Layout::MaildirPlusPlus),
            pairs(&[
                ("Archive/2023", ".Archive.2023"),
                ("INBOX", ""),
                ("Sent", ".Sent")
            ])
        );
        assert_eq!(
            folders_of(&root, Layout::Fs),
            pairs(&[
                ("INBOX", ""),
                ("Sent", "Sent"),
                ("Work", "Work"),
                ("Work~2", "Work~2")
            ])
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_destination_writes_in_the_layout_of_its_tree_or_the_one_asked_for() {
        // (directories already there, layout asked for, folder, its directory)
        let cases: &[(&[&str], Layout, &str, &str)] = &[
            (&[], Layout::Auto, "Work/Sub", ".Work.Sub"),
            (&[""], Layout::Auto, "Work/Sub", ".Work.Sub"),
            (&["", ".Sent"], Layout::Auto, "Work/Sub", ".Work.Sub"),
            (&["", "Sent"], Layout::Auto, "Work/Sub", "Work/Sub"),
            (&["", "Sent"], Layout::Auto, "INBOX", ""),
            (&["INBOX"], Layout::Auto, "Work/Sub", "Work/Sub"),
            (&["INBOX"], Layout::Auto, "INBOX", "INBOX"),
            (
                &["", ".Sent", "Sent"],
                Layout::Auto,
                "Work/Sub",
                ".Work.Sub",
            ),
            (&[], Layout::Fs, "Work/Sub", "Work/Sub"),
            (&[], Layout::Fs, "INBOX", ""),
            (&["", ".Sent"], Layout::Fs, "Work/Sub", "Work/Sub"),
            (
                &["", "Sent"],
                Layout::MaildirPlusPlus,
                "Work/Sub",
                ".Work.Sub",
            ),
            // A folder already there is written where it is.
            (&["", "Work/Sub"], Layout::Auto, "Work/Sub", "Work/Sub"),
            (
                &["", ".Sent", "Work/Sub"],
                Layout::Auto,
                "Work/Sub",
                "Work/Sub",
            ),
            (
                &["", "Entw&APw-rfe"],
                Layout::Auto,
                "Entwürfe",
                "Entw&APw-rfe",
            ),
            (
                &["", "Entw&APw-rfe"],
                Layout::Auto,
                "Entwürfe/x",
                "Entwürfe/x",
            ),
        ];
        for (existing, layout, folder, expected) in cases {
            let root = temp_dir("placement");
            for dir in *existing {
                make_folder(&root.join(dir));
            }
            let sink = Maildir::open_read_only(&root, *layout).unwrap();
            let dir = sink.folder_dir(&FolderName::parse(folder).unwrap());
            assert_eq!(
                dir.strip_prefix(&root).unwrap(),
                Path::new(expected),
                "{existing:?} {layout:?} {folder}"
            );
            fs::remove_dir_all(&root).unwrap();
        }
    }

    #[tokio::test]
    async fn commit_reports_the_unique_name_of_each_file_it_published() {
        let root = temp_dir("destination-keys");
        let mut sink = Maildir::open_sink(&root, Layout::Auto).unwrap();
        let inbox = FolderName::inbox();
        crate::store::open_unindexed(&mut sink, &inbox, Create::Yes(None))
            .await
            .unwrap();
        for (n, flags) in [
            (1, Flags::default()),
            (
                2,
                Flags {
                    seen: true,
                    ..Flags::default()
                },
            ),
        ] {
            let raw = format!("Message-ID: <{n}@example.org>\n\nbody {n}\n").into_bytes();
            let message = Message::new(SourceKey::Uid(n), raw, flags, None);
            sink.append(message).await.unwrap();
        }
        let committed = sink.commit().await.unwrap();
        let names: Vec<(usize, String)> = committed
            .stored
            .into_iter()
            .map(|(index, key)| match key {
                DestinationKey::File(name) => (index, name),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1]);
        // The first has no flags and went to new/, the second to cur/ with
        // its info; both are named by their unique name alone.
        assert!(root.join("new").join(&names[0].1).is_file());
        assert!(root
            .join("cur")
            .join(format!("{}:2,S", names[1].1))
            .is_file());
        assert!(names.iter().all(|(_, name)| !name.contains(':')));
        // Nothing appended since: nothing to report.
        assert!(sink.commit().await.unwrap().stored.is_empty());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn writer_pid_reads_only_our_unique_names() {
        assert_eq!(writer_pid("1700000000.M12P4242Q7.host,S=10"), Some(4242));
        assert_eq!(writer_pid("1700000000.M12P4242.host"), None);
        assert_eq!(writer_pid("1700000000.#1M12P4242V1I2.host"), None);
    }
}
