//! A validated copy job: the command line turned, once, into what the
//! pipeline needs. Nothing past this point sees a clap type.

use std::path::PathBuf;

use anyhow::Result;

use crate::checkpoint::{self, JobKey};
use crate::cli::{DeleteLimit, Removal};
use crate::endpoint::Endpoint;
use crate::exit::usage;
use crate::folder::{glob_matches, FolderName};
use crate::store::maildir::Layout;
use crate::store::{self, Access, Filters, SourceOptions};

/// Which source folders a command works on, and what they are called at the destination.
#[derive(Clone, Debug, Default)]
pub struct FolderSelection {
    /// `--folder`: only these (exact names); empty means all.
    pub only: Vec<FolderName>,
    /// `--exclude`: glob patterns on source folder names.
    pub exclude: Vec<String>,
    /// `--map OLD=NEW`: renames OLD and everything below it.
    pub map: Vec<(FolderName, FolderName)>,
    /// `--all-namespaces`: IMAP folders of other users' and shared
    /// namespaces take part too.
    pub all_namespaces: bool,
    /// `--merge`: a folder named in the destination's URL receives every
    /// source folder itself, instead of being their parent.
    pub merge: bool,
}

impl FolderSelection {
    pub fn new(only: &[String], exclude: &[String], map: &[String]) -> Result<FolderSelection> {
        let only = only
            .iter()
            .map(|name| {
                FolderName::parse(name).map_err(|e| usage(format!("--folder `{name}`: {e:#}")))
            })
            .collect::<Result<_>>()?;
        let map = map
            .iter()
            .map(|rule| {
                let (old, new) = rule
                    .split_once('=')
                    .ok_or_else(|| usage(format!("--map `{rule}` must look like OLD=NEW")))?;
                let parse = |name: &str| {
                    FolderName::parse(name).map_err(|e| usage(format!("--map `{rule}`: {e:#}")))
                };
                Ok((parse(old)?, parse(new)?))
            })
            .collect::<Result<_>>()?;
        Ok(FolderSelection {
            only,
            exclude: exclude.to_vec(),
            map,
            all_namespaces: false,
            merge: false,
        })
    }

    /// Where a source folder goes at a destination whose URL names a
    /// folder (`imaps://host/Restored`). A source that holds one folder
    /// (POP3, an mbox file, a URL naming a folder) goes into it; a source
    /// of several folders keeps its tree under it (`Restored/Sent`,
    /// `Restored/Archive/2023`, after `--map`); `--merge` puts everything
    /// into it.
    pub fn under_url_folder(
        &self,
        url_folder: &FolderName,
        source_holds_one: bool,
        folder: &FolderName,
    ) -> FolderName {
        if self.merge || source_holds_one {
            return url_folder.clone();
        }
        let mapped = self.destination(folder);
        FolderName::from_components(url_folder.components().chain(mapped.components()))
            .unwrap_or_else(|_| url_folder.clone())
    }

    /// True when `folder` takes part in the run.
    pub fn includes(&self, folder: &FolderName) -> bool {
        (self.only.is_empty() || self.only.contains(folder))
            && !self.exclude.iter().any(|glob| glob_matches(glob, folder))
    }

    /// The destination name of a source folder. The longest matching `--map`
    /// rule wins; a rule for `Archive` also renames `Archive/2023`.
    pub fn destination(&self, folder: &FolderName) -> FolderName {
        let mut best: Option<(&FolderName, &FolderName)> = None;
        for (old, new) in &self.map {
            let matches =
                folder == old || folder.as_str().starts_with(&format!("{}/", old.as_str()));
            if matches && best.is_none_or(|(b, _)| old.as_str().len() > b.as_str().len()) {
                best = Some((old, new));
            }
        }
        match best {
            None => folder.clone(),
            Some((old, new)) => {
                let rest = &folder.as_str()[old.as_str().len()..];
                FolderName::parse(&format!("{}{rest}", new.as_str()))
                    .unwrap_or_else(|_| new.clone())
            }
        }
    }

    /// The options, normalised, for the job key: they change the result.
    fn key_options(&self) -> Vec<String> {
        let mut options: Vec<String> = self
            .only
            .iter()
            .map(|f| format!("--folder={f}"))
            .chain(self.exclude.iter().map(|g| format!("--exclude={g}")))
            .chain(self.map.iter().map(|(o, n)| format!("--map={o}={n}")))
            .collect();
        if self.all_namespaces {
            options.push("--all-namespaces".into());
        }
        if self.merge {
            options.push("--merge".into());
        }
        options.sort();
        options
    }
}

/// Everything `mailtug copy` was asked to do.
#[derive(Clone, Debug)]
pub struct Job {
    pub source: Endpoint,
    pub destination: Endpoint,
    pub source_access: Access,
    pub destination_access: Access,
    pub folders: FolderSelection,
    pub dedup: bool,
    pub dry_run: bool,
    /// A dry run's `--max-size`, applied to what the source sends instead
    /// of by the source, so the plan can count what it leaves out.
    pub plan_max_size: Option<u64>,
    /// Folders copied at the same time (each with its own source and sink).
    pub jobs: usize,
    /// Reconnections allowed per folder after a dropped connection.
    pub retries: u32,
    /// Map special-use folders (\Sent…) onto the destination's own.
    pub special_use_map: bool,
    pub source_options: SourceOptions,
    pub key: JobKey,
    /// `mailtug mirror`: what to do beyond the copy.
    pub mirror: Option<Mirror>,
    /// The job's state file (SQLite).
    pub checkpoint_path: PathBuf,
    /// The JSON checkpoint older releases kept for this job at the default
    /// place, migrated into the state file on first use.
    pub legacy_checkpoint: Option<PathBuf>,
    /// Bytes a second read from the source, and written to the destination,
    /// each over all connections (`--max-bytes-per-second`).
    pub max_bytes_per_second: Option<u64>,
    /// Messages a second, the same way (`--max-messages-per-second`).
    pub max_messages_per_second: Option<u64>,
    /// Bytes the source account may send in any 24 hours, counted across
    /// runs in the job's state (`--src-max-bytes-per-day`).
    pub src_daily_bytes: Option<u64>,
    /// Bytes the destination account may take in any 24 hours
    /// (`--dst-max-bytes-per-day`).
    pub dst_daily_bytes: Option<u64>,
    /// What the providers of the two sides are, and their presets.
    pub presets: crate::provider::Presets,
}

/// The options of a copy job beyond its endpoints and folders.
#[derive(Clone, Debug, Default)]
pub struct JobOptions {
    pub dedup: bool,
    pub dry_run: bool,
    pub jobs: usize,
    pub retries: u32,
    pub special_use_map: bool,
    pub delete_source: bool,
    pub delete_after_days: Option<u64>,
    pub max_messages: Option<u64>,
    pub max_bytes: Option<u64>,
    pub filters: Filters,
    pub checkpoint_path: Option<PathBuf>,
    /// `mailtug mirror`: what to do beyond the copy.
    pub mirror: Option<Mirror>,
    pub max_bytes_per_second: Option<u64>,
    pub max_messages_per_second: Option<u64>,
    pub src_daily_bytes: Option<u64>,
    pub dst_daily_bytes: Option<u64>,
    pub presets: crate::provider::Presets,
}

/// What `mailtug mirror` does beyond a copy. The job's state is the copy's:
/// a mirror knows every message a copy of the same job stored.
#[derive(Clone, Copy, Debug)]
pub struct Mirror {
    /// Remove from the destination what is gone from the source, and how.
    pub delete: Option<Removal>,
    /// Deletions allowed per folder (`None`: the default limit).
    pub max_delete: Option<DeleteLimit>,
}

impl Job {
    pub fn new(
        source: Endpoint,
        destination: Endpoint,
        source_access: Access,
        destination_access: Access,
        folders: FolderSelection,
        options: JobOptions,
    ) -> Result<Job> {
        let JobOptions {
            dedup,
            dry_run,
            jobs,
            retries,
            special_use_map,
            delete_source,
            delete_after_days,
            max_messages,
            max_bytes,
            filters,
            checkpoint_path,
            mirror,
            max_bytes_per_second,
            max_messages_per_second,
            src_daily_bytes,
            dst_daily_bytes,
            presets,
        } = options;
        let source_can = store::capabilities(&source);
        if !source_can.is_maildrop
            && (delete_after_days.is_some() || max_messages.is_some() || max_bytes.is_some())
        {
            return Err(usage(
                "--delete-after, --max-messages and --max-bytes work with POP3 sources only",
            ));
        }
        if jobs == 0 {
            return Err(usage("--jobs must be at least 1"));
        }
        if mirror.is_some() {
            let sink_can = store::capabilities(&destination);
            if source_can.is_maildrop {
                return Err(usage(format!(
                    "{} keeps no flags to follow and is not a mirror source; use copy",
                    source_can.noun
                )));
            }
            if !source_can.mirrors_from {
                return Err(usage(format!(
                    "mirror cannot read flag changes and deletions from {}; use copy",
                    source_can.noun
                )));
            }
            if !sink_can.updates_flags || !sink_can.deletes_at_destination {
                return Err(usage(format!(
                    "mirror cannot change flags or remove messages in {}; use copy",
                    sink_can.noun
                )));
            }
        }
        if (delete_source || delete_after_days.is_some()) && !source_can.deletes_at_source {
            return Err(usage(
                "--delete-source works with IMAP and POP3 sources only; local files are never deleted",
            ));
        }
        // Checked here, before the job's lock is taken, so a mistyped path
        // leaves nothing behind in the state directory.
        if let Some(path) = source.path() {
            if !path.exists() {
                return Err(usage(format!(
                    "{} `{}` does not exist",
                    source.kind(),
                    path.display()
                )));
            }
        }
        if source.normalized() == destination.normalized() {
            return Err(usage(format!(
                "source and destination are the same: `{source}`"
            )));
        }
        let mut options = folders.key_options();
        if !dedup {
            options.push("--no-dedup".into());
        }
        if !special_use_map {
            options.push("--no-special-use-map".into());
        }
        options.extend(filters.key_options());
        options.extend(presets.key_options());
        // Both sides take the same --mbox-format.
        if let Some(format) = source_access.mbox_format {
            options.push(format!("--mbox-format={}", format.name()));
        }
        // Another layout reads or writes other directories: another job.
        for (side, access) in [("src", &source_access), ("dst", &destination_access)] {
            if access.maildir_layout != Layout::Auto {
                options.push(format!(
                    "--{side}-maildir-layout={}",
                    access.maildir_layout.as_str()
                ));
            }
        }
        let key = JobKey {
            source: source.normalized(),
            destination: destination.normalized(),
            options,
        };
        let (checkpoint_path, legacy_checkpoint) = match checkpoint_path {
            Some(path) => (path, None),
            None => (
                checkpoint::default_path(&key)?,
                Some(checkpoint::legacy_path(&key)?),
            ),
        };
        let all_namespaces = folders.all_namespaces;
        let mut filters = filters;
        let plan_max_size = match dry_run {
            true => filters.max_size.take(),
            false => None,
        };
        // Messages from a server reach a file destination with LF line ends.
        let form = store::capabilities(&destination).form;
        Ok(Job {
            source,
            destination,
            source_access,
            destination_access,
            folders,
            dedup,
            dry_run,
            plan_max_size,
            jobs,
            retries,
            special_use_map,
            source_options: SourceOptions {
                dedup,
                delete: delete_source,
                delete_after: delete_after_days
                    .map(|days| std::time::Duration::from_secs(days.saturating_mul(86_400))),
                filters,
                max_messages,
                max_bytes,
                form,
                all_namespaces,
                mirror: mirror.is_some(),
            },
            key,
            mirror,
            checkpoint_path,
            legacy_checkpoint,
            max_bytes_per_second,
            max_messages_per_second,
            src_daily_bytes,
            dst_daily_bytes,
            presets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> FolderName {
        FolderName::parse(s).unwrap()
    }

    #[test]
    fn a_folder_in_the_destination_url_is_the_parent_of_a_tree_and_the_home_of_one_folder() {
        let restored = name("Restored");
        let mut selection = FolderSelection::new(&[], &[], &["Sent=Outbox".into()]).unwrap();
        let cases = [
            ("INBOX", false, "Restored/INBOX"),
            ("Archive/2023", false, "Restored/Archive/2023"),
            ("Sent", false, "Restored/Outbox"),
            ("INBOX", true, "Restored"),
        ];
        for (folder, one, expected) in cases {
            assert_eq!(
                selection.under_url_folder(&restored, one, &name(folder)),
                name(expected),
                "{folder}"
            );
        }
        selection.merge = true;
        assert_eq!(
            selection.under_url_folder(&restored, false, &name("Archive/2023")),
            restored
        );
    }

    #[test]
    fn map_renames_a_folder_and_its_children_longest_rule_first() {
        let selection = FolderSelection::new(
            &[],
            &[],
            &[
                "Archive=Old".into(),
                "Archive/2023=Y2023".into(),
                "inbox=Imported".into(),
            ],
        )
        .unwrap();
        let cases = [
            ("Archive", "Old"),
            ("Archive/2022", "Old/2022"),
            ("Archive/2023", "Y2023"),
            ("Archive/2023/Q1", "Y2023/Q1"),
            ("ArchiveX", "ArchiveX"),
            ("INBOX", "Imported"),
            ("Sent", "Sent"),
        ];
        for (from, to) in cases {
            assert_eq!(selection.destination(&name(from)), name(to), "{from}");
        }
    }

    #[test]
    fn a_maildir_layout_other_than_auto_is_part_of_the_job_key() {
        let source = std::env::temp_dir();
        let key = |src: Layout, dst: Layout| {
            let access = |layout| Access {
                maildir_layout: layout,
                ..Access::default()
            };
            let job = Job::new(
                Endpoint::Maildir(source.clone()),
                Endpoint::Maildir(source.join("mailtug-job-key-test")),
                access(src),
                access(dst),
                FolderSelection::default(),
                JobOptions {
                    dedup: true,
                    special_use_map: true,
                    jobs: 1,
                    checkpoint_path: Some(PathBuf::from("unused.json")),
                    ..JobOptions::default()
                },
            )
            .unwrap();
            job.key.options
        };
        assert!(key(Layout::Auto, Layout::Auto).is_empty());
        assert_eq!(
            key(Layout::Fs, Layout::MaildirPlusPlus),
            ["--src-maildir-layout=fs", "--dst-maildir-layout=maildir++"]
        );
        assert_eq!(key(Layout::Auto, Layout::Fs), ["--dst-maildir-layout=fs"]);
    }

    #[test]
    fn selection_applies_only_and_exclude() {
        let selection =
            FolderSelection::new(&["INBOX".into(), "Sent".into()], &["Sent".into()], &[]).unwrap();
        assert!(selection.includes(&name("inbox")));
        assert!(!selection.includes(&name("Sent")));
        assert!(!selection.includes(&name("Drafts")));
        assert!(FolderSelection::new(&[], &[], &["noequals".into()]).is_err());
    }
}
