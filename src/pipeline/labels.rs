//! A source whose folders are labels (Gmail): one message shows in every
//! folder it is labelled with and in `[Gmail]/All Mail`. The job's
//! `--gmail-labels` policy says what each folder gives, so that All Mail does
//! not repeat every labelled message and no destination folder gets a
//! message twice:
//! - `folders`: every folder; All Mail gives only what no other copied
//!   folder holds (the archived mail).
//! - `keywords`: INBOX and All Mail only; All Mail without INBOX's
//!   messages; every message carries its labels as keywords (Starred as
//!   `\Flagged`).
//! - `all-mail`: All Mail only (see `provider::Presets::takes`).
//!
//! Membership is learned by fingerprint from each folder's index (headers
//! only) before any folder is copied, so it works on any server holding
//! such a tree, not only with Gmail's X-GM-EXT-1.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, Result};

use super::plan::Unit;
use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::job::Job;
use crate::message::Message;
use crate::provider::{gmail_system_folder, is_gmail_all_mail, GmailLabels};
use crate::report;
use crate::store::{AnySource, Source};

/// What the label policy adds to a run.
#[derive(Debug, Default)]
pub(super) struct Labels {
    /// All Mail's name, and the fingerprints it leaves to other folders.
    elsewhere: Option<(FolderName, Vec<Fingerprint>)>,
    /// `keywords`: each message's labels.
    keywords: HashMap<Fingerprint, Vec<String>>,
    /// `keywords`: messages in Starred, which become `\Flagged`.
    starred: HashSet<Fingerprint>,
}

/// Whether a folder is a label of its messages: not All Mail, Spam, Trash
/// or Drafts (places, not labels), nor `[Gmail]` itself.
fn is_label(folder: &FolderName) -> bool {
    folder.as_str() != "[Gmail]"
        && folder.as_str() != "[Google Mail]"
        && !matches!(
            gmail_system_folder(folder),
            Some("\\All" | "\\Junk" | "\\Trash" | "\\Drafts")
        )
}

/// A label as an IMAP keyword: an atom, so spaces and the characters IMAP
/// gives a meaning to become `_` (`Work/Projects` → `Work_Projects`).
pub(crate) fn label_keyword(label: &str) -> String {
    label
        .chars()
        .map(|c| match c {
            c if c.is_ascii_graphic() && !"(){%*\"\\]/".contains(c) => c,
            c if !c.is_ascii() => c,
            _ => '_',
        })
        .collect()
}

impl Labels {
    /// Reads what the job's policy needs; nothing for other sources.
    pub(super) async fn gather(
        job: &Job,
        source: &mut AnySource,
        units: &[Unit],
    ) -> Result<Labels> {
        let mut labels = Labels::default();
        let policy = job.presets.gmail_labels;
        if !job.presets.gmail_source() || policy == GmailLabels::AllMail {
            return Ok(labels);
        }
        let selected: Vec<&FolderName> = units.iter().flatten().map(|(f, _)| f).collect();
        let Some(all_mail) = selected
            .iter()
            .find(|f| is_gmail_all_mail(f))
            .map(|f| (*f).clone())
        else {
            return Ok(labels);
        };
        let to_read: Vec<FolderName> = match policy {
            GmailLabels::Folders => selected
                .iter()
                .filter(|f| !is_gmail_all_mail(f))
                .map(|f| (*f).clone())
                .collect(),
            // Every label, copied as a folder or not.
            _ => source
                .folders()
                .await
                .with_context(|| format!("listing folders of `{}`", job.source))?
                .into_iter()
                .filter(is_label)
                .collect(),
        };
        let mut elsewhere = HashSet::new();
        for folder in &to_read {
            let Some(fingerprints) = source
                .index(folder)
                .await
                .with_context(|| format!("reading the Message-IDs of `{folder}`"))?
            else {
                report::warn(&format!(
                    "`{all_mail}` is copied whole: {} cannot tell which of its messages \
                     `{folder}` holds without reading them",
                    source.capabilities().noun
                ));
                return Ok(Labels::default());
            };
            let copied = selected.contains(&folder);
            for fingerprint in fingerprints {
                if policy == GmailLabels::Keywords && !folder.is_inbox() {
                    labels.label(&fingerprint, folder);
                }
                if copied {
                    elsewhere.insert(fingerprint);
                }
            }
        }
        report::info(&format!(
            "`{all_mail}` gives only the messages in no other folder copied \
             (--gmail-labels {}): {} are in the others",
            policy.as_str(),
            elsewhere.len()
        ));
        labels.elsewhere = Some((all_mail, elsewhere.into_iter().collect()));
        Ok(labels)
    }

    fn label(&mut self, fingerprint: &Fingerprint, folder: &FolderName) {
        let keyword = match gmail_system_folder(folder) {
            Some("\\Flagged") => {
                self.starred.insert(fingerprint.clone());
                return;
            }
            // `[Gmail]/Sent Mail` → `Sent_Mail`.
            Some(_) => label_keyword(folder.components().last().unwrap_or_default()),
            None => label_keyword(folder.as_str()),
        };
        let keywords = self.keywords.entry(fingerprint.clone()).or_default();
        if !keywords.contains(&keyword) {
            keywords.push(keyword);
        }
    }

    /// The fingerprints `folder` leaves to the other folders copied.
    pub(super) fn elsewhere(&self, folder: &FolderName) -> Option<&[Fingerprint]> {
        match &self.elsewhere {
            Some((all_mail, fingerprints)) if all_mail == folder => Some(fingerprints),
            _ => None,
        }
    }

    /// Gives a message its labels as keywords (`keywords` policy).
    pub(super) fn apply(&self, message: &mut Message) {
        if let Some(keywords) = self.keywords.get(&message.fingerprint) {
            for keyword in keywords {
                message.flags.add_keyword(keyword);
            }
        }
        if self.starred.contains(&message.fingerprint) {
            message.flags.flagged = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> FolderName {
        FolderName::parse(s).unwrap()
    }

    #[test]
    fn labels_become_keywords_and_starred_becomes_flagged() {
        let raw = b"Message-ID: <a@example.com>\r\n\r\nhi\r\n".to_vec();
        let id = Fingerprint::of(&raw);
        let mut labels = Labels::default();
        for folder in [
            "Work",
            "Work/Projects",
            "[Gmail]/Sent Mail",
            "[Gmail]/Starred",
            "Work",
        ] {
            labels.label(&id, &name(folder));
        }
        let mut message = Message::new(
            crate::message::SourceKey::Uid(1),
            raw,
            crate::message::Flags::default(),
            None,
        );
        labels.apply(&mut message);
        assert_eq!(
            message.flags.keywords,
            ["Work", "Work_Projects", "Sent_Mail"]
        );
        assert!(message.flags.flagged);
    }

    #[test]
    fn places_are_not_labels() {
        for place in [
            "[Gmail]/All Mail",
            "[Gmail]/Trash",
            "[Gmail]/Spam",
            "[Gmail]",
            "[Gmail]/Drafts",
        ] {
            assert!(!is_label(&name(place)), "{place}");
        }
        for label in ["INBOX", "Work", "[Gmail]/Important", "[Gmail]/Sent Mail"] {
            assert!(is_label(&name(label)), "{label}");
        }
        assert_eq!(label_keyword("Travel plans (2024)"), "Travel_plans__2024_");
        assert_eq!(label_keyword("Reçus"), "Reçus");
    }
}
