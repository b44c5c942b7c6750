//! What mailtug knows of the big mail services, in one place: how many
//! connections an account may have, how much a day may cross, what their
//! folders mean, and what they refuse. A preset is chosen with
//! `--src-provider`/`--dst-provider`, or found from the server's host name.
//!
//! Gmail's folders are labels: a message labelled Work and Receipts is in
//! `Work`, in `Receipts` and in `[Gmail]/All Mail` at once, so copying every
//! folder would store it three times. [`GmailLabels`] says what to make of
//! that, once per job.

use crate::endpoint::Endpoint;
use crate::folder::FolderName;

/// A mail service with a preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    // Gmail and Google Workspace.
    Gmail,
    // Microsoft 365, Outlook.com and Exchange Online.
    Microsoft,
    // No preset, whatever the host name.
    None,
}

/// What to make of Gmail's labels when Gmail is the source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum GmailLabels {
    // A copy in each label's folder; `[Gmail]/All Mail` gives only the
    // messages in no other folder copied (the archive).
    #[default]
    Folders,
    // INBOX and `[Gmail]/All Mail` (without INBOX's messages): each
    // message once, its labels as keywords.
    Keywords,
    // `[Gmail]/All Mail` only: each message once.
    AllMail,
}

impl GmailLabels {
    pub fn as_str(self) -> &'static str {
        match self {
            GmailLabels::Folders => "folders",
            GmailLabels::Keywords => "keywords",
            GmailLabels::AllMail => "all-mail",
        }
    }
}

/// The presets of a job's two sides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Presets {
    pub source: Option<Service>,
    pub destination: Option<Service>,
    /// Only where the source is Gmail.
    pub gmail_labels: GmailLabels,
}

impl Presets {
    pub fn gmail_source(&self) -> bool {
        self.source == Some(Service::Gmail)
    }

    /// The special use of a source folder known by its name alone.
    pub fn source_special_use(&self, folder: &FolderName) -> Option<&'static str> {
        self.source.and_then(|s| s.special_use_by_name(folder))
    }

    /// Whether a source folder takes part, unless the user named it: Gmail's
    /// Starred and Important never (their messages are in other folders);
    /// with `--gmail-labels all-mail`, only All Mail.
    pub fn takes(&self, folder: &FolderName) -> bool {
        let Some(service) = self.source else {
            return true;
        };
        if service.leaves_out(folder) {
            return false;
        }
        if !self.gmail_source() {
            return true;
        }
        match self.gmail_labels {
            GmailLabels::Folders => true,
            GmailLabels::Keywords => is_gmail_all_mail(folder) || folder.is_inbox(),
            GmailLabels::AllMail => is_gmail_all_mail(folder),
        }
    }

    /// The special use a destination folder is created with, for a source
    /// folder of `special_use`: Gmail's All Mail becomes an archive (what
    /// is left of it once the label folders are copied); its Starred and
    /// Important make no folder of their kind.
    pub fn created_special_use(&self, special_use: &'static str) -> Option<&'static str> {
        match special_use {
            "\\All" if self.gmail_source() => Some("\\Archive"),
            "\\Flagged" | "\\Important" if self.gmail_source() => None,
            other => Some(other),
        }
    }

    /// For a Gmail source's `[Gmail]/…` folder, the name its kind of folder
    /// usually has elsewhere, for a destination that has none of that
    /// kind yet (not Gmail itself, which has them all).
    pub fn usual_name(&self, folder: &FolderName, special_use: &str) -> Option<FolderName> {
        if !self.gmail_source()
            || self.destination == Some(Service::Gmail)
            || gmail_system_folder(folder).is_none()
        {
            return None;
        }
        let name = match special_use {
            "\\Sent" => "Sent",
            "\\Drafts" => "Drafts",
            "\\Junk" => "Junk",
            "\\Trash" => "Trash",
            "\\All" => "Archive",
            _ => return None,
        };
        FolderName::parse(name).ok()
    }

    /// The name a destination folder gets instead, where the destination
    /// refuses the one it would have.
    pub fn renamed_at_destination(&self, folder: &FolderName) -> Option<FolderName> {
        self.destination.and_then(|d| d.renamed(folder))
    }

    /// The smallest connection cap of the two sides.
    pub fn max_connections(&self) -> Option<usize> {
        [self.source, self.destination]
            .into_iter()
            .flatten()
            .filter_map(Service::max_connections)
            .min()
    }

    /// What the job key says of the presets: only what changes the result.
    pub fn key_options(&self) -> Vec<String> {
        match (self.gmail_source(), self.gmail_labels) {
            (true, GmailLabels::Folders) | (false, _) => Vec::new(),
            (true, other) => vec![format!("--gmail-labels={}", other.as_str())],
        }
    }
}

/// Gmail's folders under `[Gmail]/` (`[Google Mail]/` in some countries),
/// with the special use Gmail gives them. Gmail says so itself in LIST;
/// the table is for when it does not (an old XLIST-only session, a copy of
/// a Gmail tree on another server).
const GMAIL_SYSTEM_FOLDERS: &[(&str, &str)] = &[
    ("All Mail", "\\All"),
    ("Sent Mail", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Spam", "\\Junk"),
    ("Trash", "\\Trash"),
    ("Bin", "\\Trash"),
    ("Starred", "\\Flagged"),
    ("Important", "\\Important"),
];

/// Folders of Microsoft 365 mailboxes that cannot hold mail: `Files` is
/// reserved (Exchange's attachments view), so a source folder of that name
/// goes to [`MICROSOFT_RENAMED_FILES`].
const MICROSOFT_RESERVED: &[&str] = &["Files"];
const MICROSOFT_RENAMED_FILES: &str = "Files (mail)";

impl Service {
    pub fn title(self) -> &'static str {
        match self {
            Service::Gmail => "Gmail",
            Service::Microsoft => "Microsoft 365",
            Service::None => "no preset",
        }
    }

    /// The service whose mail servers `host` names.
    pub fn for_host(host: &str) -> Option<Service> {
        match crate::oauth::Provider::for_host(host)? {
            crate::oauth::Provider::Google => Some(Service::Gmail),
            crate::oauth::Provider::Microsoft => Some(Service::Microsoft),
        }
    }

    /// The preset of `endpoint`: the one asked for, else the host's.
    pub fn of(asked: Option<Service>, endpoint: &Endpoint) -> Option<Service> {
        match asked {
            Some(Service::None) => None,
            Some(service) => Some(service),
            None => endpoint.remote().and_then(|r| Service::for_host(&r.host)),
        }
    }

    /// The most connections a run opens to one account. Gmail allows 15 per
    /// account for all clients together (a phone and a mail program count
    /// too); Exchange Online throttles far below its hard limit of 20.
    pub fn max_connections(self) -> Option<usize> {
        match self {
            Service::Gmail => Some(8),
            Service::Microsoft => Some(4),
            Service::None => None,
        }
    }

    /// What may be downloaded over IMAP in a day (Gmail: about 2,500 MB).
    pub fn daily_download_bytes(self) -> Option<u64> {
        match self {
            Service::Gmail => Some(2_500_000_000),
            _ => None,
        }
    }

    /// What may be uploaded over IMAP in a day (Gmail: about 500 MB).
    pub fn daily_upload_bytes(self) -> Option<u64> {
        match self {
            Service::Gmail => Some(500_000_000),
            _ => None,
        }
    }

    /// The special use of a folder known by its name alone.
    pub fn special_use_by_name(self, folder: &FolderName) -> Option<&'static str> {
        match self {
            Service::Gmail => gmail_system_folder(folder),
            _ => None,
        }
    }

    /// Whether a source folder is left out unless asked for by name:
    /// Gmail's Starred and Important hold messages that are in other
    /// folders too (their flag or Gmail's guess are kept with them).
    pub fn leaves_out(self, folder: &FolderName) -> bool {
        self == Service::Gmail
            && matches!(
                gmail_system_folder(folder),
                Some("\\Flagged" | "\\Important")
            )
    }

    /// A folder name this service refuses as a destination, and the name
    /// used instead.
    pub fn renamed(self, folder: &FolderName) -> Option<FolderName> {
        if self != Service::Microsoft {
            return None;
        }
        let mut components: Vec<&str> = folder.components().collect();
        let first = components.first()?;
        MICROSOFT_RESERVED
            .iter()
            .any(|reserved| first.eq_ignore_ascii_case(reserved))
            .then(|| {
                components[0] = MICROSOFT_RENAMED_FILES;
                FolderName::from_components(&components).ok()
            })
            .flatten()
    }

    /// Whether the service drops `\Flagged` from an APPEND, so that it has
    /// to be set again with a STORE once the message is in.
    pub fn drops_flagged_on_append(self) -> bool {
        self == Service::Microsoft
    }
}

/// The special use of a Gmail system folder (`[Gmail]/Sent Mail`…).
pub fn gmail_system_folder(folder: &FolderName) -> Option<&'static str> {
    let mut components = folder.components();
    let root = components.next()?;
    let name = components.next()?;
    if components.next().is_some() || !(root == "[Gmail]" || root == "[Google Mail]") {
        return None;
    }
    GMAIL_SYSTEM_FOLDERS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, special_use)| *special_use)
}

/// Whether `folder` is Gmail's All Mail.
pub fn is_gmail_all_mail(folder: &FolderName) -> bool {
    gmail_system_folder(folder) == Some("\\All")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> FolderName {
        FolderName::parse(text).unwrap()
    }

    #[test]
    fn host_names_choose_the_preset_unless_told_otherwise() {
        let gmail = Endpoint::parse("imaps://me@gmail.com@imap.gmail.com").unwrap();
        let other = Endpoint::parse("imaps://me@mail.example.org").unwrap();
        let office = Endpoint::parse("imaps://me@example.com@outlook.office365.com").unwrap();
        assert_eq!(Service::of(None, &gmail), Some(Service::Gmail));
        assert_eq!(Service::of(None, &office), Some(Service::Microsoft));
        assert_eq!(Service::of(None, &other), None);
        assert_eq!(Service::of(Some(Service::None), &gmail), None);
        assert_eq!(
            Service::of(Some(Service::Gmail), &other),
            Some(Service::Gmail)
        );
    }

    #[test]
    fn gmail_system_folders_have_their_roles() {
        let cases = [
            ("[Gmail]/Sent Mail", Some("\\Sent")),
            ("[Google Mail]/Spam", Some("\\Junk")),
            ("[Gmail]/All Mail", Some("\\All")),
            ("[Gmail]/Starred", Some("\\Flagged")),
            ("[Gmail]", None),
            ("Work/Sent Mail", None),
            ("[Gmail]/Sent Mail/2023", None),
        ];
        for (folder, role) in cases {
            assert_eq!(
                Service::Gmail.special_use_by_name(&name(folder)),
                role,
                "{folder}"
            );
        }
        assert_eq!(
            Service::Microsoft.special_use_by_name(&name("[Gmail]/Spam")),
            None
        );
        assert!(Service::Gmail.leaves_out(&name("[Gmail]/Important")));
        assert!(!Service::Gmail.leaves_out(&name("[Gmail]/All Mail")));
        assert!(is_gmail_all_mail(&name("[Google Mail]/All Mail")));
    }

    #[test]
    fn microsoft_reserved_files_folder_is_renamed_with_its_children() {
        let renamed = Service::Microsoft.renamed(&name("Files/2023")).unwrap();
        assert_eq!(renamed.as_str(), "Files (mail)/2023");
        assert_eq!(
            Service::Microsoft.renamed(&name("files")).unwrap().as_str(),
            "Files (mail)"
        );
        assert_eq!(Service::Microsoft.renamed(&name("Work/Files")), None);
        assert_eq!(Service::Gmail.renamed(&name("Files")), None);
    }

    #[test]
    fn limits_are_the_documented_ones() {
        assert_eq!(Service::Gmail.max_connections(), Some(8));
        assert_eq!(Service::Gmail.daily_download_bytes(), Some(2_500_000_000));
        assert_eq!(Service::Gmail.daily_upload_bytes(), Some(500_000_000));
        assert_eq!(Service::Microsoft.daily_upload_bytes(), None);
        assert!(Service::Microsoft.drops_flagged_on_append());
    }
}
