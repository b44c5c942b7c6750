//! A thin layer over `async-imap` that covers its known defects
//! (`../shared/CRATES.md` §1), so the IMAP store above it can trust what it
//! gets back:
//!
//! - every network await has a timeout (the crate has none);
//! - streaming commands (FETCH, LIST) swallow a tagged NO/BAD and end as if
//!   empty, so callers compare what arrived with what they asked for, and an
//!   empty LIST is an error;
//! - LIST names arrive still quoted-escaped: they are unescaped here, then
//!   modified-UTF-7 decoded by the store;
//! - `append()` throws away APPENDUID and waits for `+` before every literal:
//!   APPEND is written by hand, with non-synchronizing literals (LITERAL+ /
//!   LITERAL-) when the server offers them, pipelined, and answered in order
//!   at `finish_appends`;
//! - FETCH results are never collected: each item holds a ≥ 4 KiB buffer;
//! - a message over 512 MiB kills the session, so sizes are checked first;
//! - after any protocol error the session is not trusted again: the error is
//!   marked `Disconnected` and the store reconnects;
//! - a reply the parser rejects ends async-imap's reading for good (its
//!   stream stops at a parse error), but the connection was fine and asking
//!   again gets the same reply: the error is marked `Unparsable`, not
//!   `Disconnected`, so the folder fails at once, and the session is
//!   replaced before the next folder is opened.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Context, Result};
use async_imap::imap_proto::rfc4315::UidSetMember;
use async_imap::imap_proto::{self, Response, ResponseCode, Status};
use async_imap::types::{Fetch, NameAttribute};
use async_imap::{Authenticator, Client, Session};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::date;
use crate::endpoint::{Remote, Tls};
use crate::error::{Disconnected, MessageRejected, Refused};
use crate::exit;
use crate::net::{self, deadline, Stream, TlsOptions};
use crate::report;
use crate::secret::Secret;
use crate::store::imap::namespace::Namespaces;
use crate::store::imap::wire::Wire;

/// async-imap refuses (and kills the session on) any response above this.
pub const MAX_MESSAGE_SIZE: u64 = 512 * 1024 * 1024 - 64 * 1024;

/// How to authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthMechanism {
    /// AUTHENTICATE PLAIN when offered, else LOGIN.
    #[default]
    Auto,
    Login,
    Plain,
    /// Google's XOAUTH2 with an access token as the secret.
    XOAuth2,
    /// RFC 7628 OAUTHBEARER with an access token as the secret.
    OAuthBearer,
}

/// Everything needed to open one authenticated session.
#[derive(Clone, Debug)]
pub struct Login {
    pub remote: Remote,
    pub user: String,
    /// Log in as this administrator and act as `user` (SASL PLAIN's
    /// authorization identity).
    pub admin: Option<String>,
    pub secret: Secret,
    /// An OAuth2 sign-in, whose access tokens replace `secret`.
    pub tokens: Option<std::sync::Arc<crate::oauth::TokenSource>>,
    pub auth: AuthMechanism,
    /// As a destination, set `\Flagged` again after APPEND (a server that
    /// drops it, as Microsoft 365 does).
    pub reapply_flagged: bool,
    pub tls: TlsOptions,
    /// `--tls none`: an `imap://` endpoint stays unencrypted.
    pub plaintext: bool,
    pub timeout: Duration,
}

/// A folder as LIST shows it.
#[derive(Clone, Debug)]
pub struct ListedFolder {
    /// The name as the server spells it (unescaped, still modified UTF-7).
    pub name: String,
    pub delimiter: Option<char>,
    pub selectable: bool,
    /// `\Noinferiors`: no folder can be created under it.
    pub childless: bool,
    /// RFC 6154 attribute such as `\Sent`, if any.
    pub special_use: Option<&'static str>,
}

/// A quota root and the two resources mailtug reads: `(usage, limit)`,
/// STORAGE in units of 1024 octets, MESSAGE in messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaRoot {
    pub root: String,
    pub storage: Option<(u64, u64)>,
    pub messages: Option<(u64, u64)>,
}

/// What SELECT/EXAMINE/STATUS tell about a folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderState {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub exists: u32,
    /// The flags a STORE can set for good (PERMANENTFLAGS; `\\*` when
    /// new keywords may be made). Empty when the server did not say.
    pub permanent_flags: Vec<String>,
    /// HIGHESTMODSEQ, with CONDSTORE on: any change to the folder's
    /// messages or flags raises it.
    pub highest_modseq: Option<u64>,
}

impl FolderState {
    /// Whether STORE can set `flag` for good (RFC 3501 §7.1: without
    /// PERMANENTFLAGS, every flag can be).
    pub fn keeps(&self, flag: &str) -> bool {
        self.permanent_flags.is_empty()
            || self
                .permanent_flags
                .iter()
                .any(|f| f.eq_ignore_ascii_case(flag))
            || (!flag.starts_with('\\') && self.permanent_flags.iter().any(|f| f == "\\*"))
    }
}

/// What changed in a folder since a known state, as a QRESYNC open
/// reports it.
#[derive(Debug, Default)]
pub struct Resync {
    /// UIDs expunged since (VANISHED (EARLIER)). It may name UIDs that
    /// never existed, never one that still does.
    pub vanished: Vec<std::ops::RangeInclusive<u32>>,
    /// The UID and flags of every message changed since.
    pub changed: Vec<(u32, Vec<String>)>,
}

/// One response to a QRESYNC SELECT/EXAMINE, as far as it matters.
enum OpenStep {
    /// The tagged answer: OK, or the text of a NO/BAD.
    Done(Result<(), String>),
    UidValidity(u32),
    UidNext(u32),
    HighestModSeq(u64),
    PermanentFlags(Vec<String>),
    Exists(u32),
    Vanished(Vec<std::ops::RangeInclusive<u32>>),
    /// A FETCH: its UID (if it had one) and flags.
    Changed(Option<u32>, Vec<String>),
    Other,
}

impl OpenStep {
    fn of(response: &Response<'_>, tag: &str) -> OpenStep {
        use imap_proto::{AttributeValue, MailboxDatum};
        match response {
            Response::Done {
                tag: done,
                status,
                outcome,
            } if done.0 == tag => match status {
                Status::Ok => OpenStep::Done(Ok(())),
                _ => OpenStep::Done(Err(outcome
                    .information
                    .as_deref()
                    .unwrap_or("no reason given")
                    .to_string())),
            },
            Response::Data { outcome, .. } => match &outcome.code {
                Some(ResponseCode::UidValidity(n)) => OpenStep::UidValidity(*n),
                Some(ResponseCode::UidNext(n)) => OpenStep::UidNext(*n),
                Some(ResponseCode::HighestModSeq(n)) => OpenStep::HighestModSeq(*n),
                Some(ResponseCode::PermanentFlags(flags)) => {
                    OpenStep::PermanentFlags(flags.iter().map(|f| f.to_string()).collect())
                }
                _ => OpenStep::Other,
            },
            Response::MailboxData(MailboxDatum::Exists(n)) => OpenStep::Exists(*n),
            Response::Vanished { uids, .. } => OpenStep::Vanished(uids.clone()),
            Response::Fetch(_, attributes) => {
                let mut uid = None;
                let mut flags = Vec::new();
                for attribute in attributes {
                    match attribute {
                        AttributeValue::Uid(n) => uid = Some(*n),
                        AttributeValue::Flags(list) => {
                            flags = list.iter().map(|f| f.to_string()).collect()
                        }
                        _ => {}
                    }
                }
                OpenStep::Changed(uid, flags)
            }
            _ => OpenStep::Other,
        }
    }
}

/// What the selected folder holds, as the server has told since opening it.
#[derive(Clone, Copy, Debug, Default)]
struct Selected {
    /// EXISTS in the SELECT/EXAMINE answer.
    exists_at_open: u32,
    /// EXISTS now (new mail raises it, EXPUNGE lowers it).
    exists: u32,
    /// Messages expunged since opening.
    expunged: u32,
    /// Opened with SELECT (CLOSE would expunge it), not EXAMINE.
    writable: bool,
}

/// Messages up to this size may travel in a MULTIAPPEND group.
const GROUP_MESSAGE_MAX: usize = 1024 * 1024;
/// A group holds at most this many messages (10–50 measured best on Dovecot;
/// 200 was three times slower)…
const GROUP_MESSAGES: usize = 32;
/// …and this many bytes. Against 16 messages and 1 MiB, Dovecot stores the
/// benchmark's IMAP->IMAP copy 3-8% sooner (5 of 5 paired runs), for about
/// 2-4 MiB more peak memory.
const GROUP_BYTES: usize = 2 * 1024 * 1024;
/// Unanswered groups keep at most this many bytes of messages in memory
/// (per connection); beyond it, answers are collected before more is sent.
const RETAINED_MAX: usize = 4 * 1024 * 1024;

/// One APPEND command sent and not yet answered.
struct Pending {
    tag: String,
    /// How many messages it carries.
    count: usize,
    /// The messages of a MULTIAPPEND group, kept for a retry one by one.
    retained: Vec<Retained>,
}

/// A message kept until the server answers for it.
struct Retained {
    folder: String,
    flags: Vec<String>,
    date: Option<SystemTime>,
    raw: Vec<u8>,
}

struct OpenGroup {
    folder: String,
    count: usize,
    bytes: usize,
}

/// The flag list and date of an APPEND: `(\Seen $Label1) "01-Jan-2020 10:00:00 +0000"`.
fn append_attributes(message: &Retained) -> String {
    let flags: Vec<&str> = message
        .flags
        .iter()
        .map(String::as_str)
        .filter(|f| is_atom(f))
        .collect();
    let mut text = format!("({})", flags.join(" "));
    if let Some(date) = message.date {
        text.push_str(&format!(" \"{}\"", imap_date(date)));
    }
    text
}

/// A response, as far as pipelined APPENDs care.
enum Event {
    Continue,
    Done(String, Appended),
    Other,
}

/// The outcome of one APPEND.
#[derive(Debug)]
pub enum Appended {
    /// Stored; the new UIDs when the server gave APPENDUID (UIDPLUS).
    Stored(Vec<u32>),
    /// The server refused this message (NO): the text it gave.
    Rejected(String),
}

pub struct ImapClient {
    session: Session<Wire>,
    /// For a new session after an unparsable reply.
    login: Login,
    /// A reply could not be parsed: async-imap reads nothing more.
    is_over: bool,
    capabilities: HashSet<String>,
    /// CONDSTORE was turned on (ENABLE, RFC 7162): folders report
    /// HIGHESTMODSEQ.
    condstore: bool,
    /// QRESYNC was turned on (it implies CONDSTORE): folders can be opened
    /// with what changed since a known state, and expunges are reported
    /// as VANISHED.
    qresync: bool,
    timeout: Duration,
    /// Where errors and logs say we are talking to (`user@host:port`).
    label: String,
    /// APPENDs sent and not yet answered, in order.
    pending: VecDeque<Pending>,
    /// The MULTIAPPEND command still being written (the last of `pending`).
    open_group: Option<OpenGroup>,
    /// Bytes of messages kept for groups not yet answered.
    retained_bytes: usize,
    /// Answers collected so far, one per message, in order.
    answers: Vec<Appended>,
    /// Answers to APPENDs that arrived while waiting for something else, by tag.
    early_answers: HashMap<String, Appended>,
    /// The folder selected, if any.
    selected: Option<Selected>,
}

impl ImapClient {
    /// Connects, secures and authenticates a session.
    pub async fn connect(login: &Login) -> Result<ImapClient> {
        match &login.tokens {
            Some(tokens) => {
                crate::oauth::log_in_with(tokens, |token| async move {
                    ImapClient::connect_with(login, &token).await
                })
                .await
            }
            None => ImapClient::connect_with(login, &login.secret).await,
        }
    }

    async fn connect_with(login: &Login, secret: &Secret) -> Result<ImapClient> {
        let remote = &login.remote;
        let label = format!("{}@{}:{}", login.user, remote.host, remote.port);
        let timeout = login.timeout;
        let tcp = net::connect_tcp(&remote.host, remote.port, timeout).await?;
        // The same account written for the other kind of port, for errors
        // that find the port is of that kind.
        let plain_url = format!("imap://{}@{}:{}", login.user, remote.host, remote.port);
        let tls_url = format!("imaps://{}@{}:{}", login.user, remote.host, remote.port);
        let mut client = match remote.tls {
            Tls::Implicit => {
                let tls =
                    net::start_tls(tcp, &remote.host, &login.tls, timeout, &plain_url).await?;
                let mut client = Client::new(Wire::new(tls));
                read_greeting(&mut client, &label, timeout).await?;
                client
            }
            Tls::StartTls => {
                let mut plain = Client::new(Wire::new(Stream::plain(tcp)));
                net::plain_greeting(
                    read_greeting(&mut plain, &label, timeout),
                    &remote.host,
                    remote.port,
                    &tls_url,
                )
                .await?;
                if login.plaintext {
                    if !net::is_loopback(&remote.host) {
                        return Err(exit::usage(format!(
                            "refusing to send a password unencrypted to {}: --tls none is only allowed for loopback addresses",
                            remote.host
                        )));
                    }
                    plain
                } else {
                    deadline(timeout, "starting TLS", async {
                        plain
                            .run_command_and_check_ok("STARTTLS", None)
                            .await
                            .map_err(|e| {
                                exit::unreachable(format!(
                                    "{label} does not offer STARTTLS ({e}); use imaps:// or, on loopback only, --tls none"
                                ))
                            })
                    })
                    .await?;
                    let Some(tcp) = plain.into_inner().into_inner().into_plain() else {
                        unreachable!("the stream was plain before STARTTLS")
                    };
                    // RFC 3501 §6.2.1: no greeting follows the handshake.
                    Client::new(Wire::new(
                        net::start_tls(tcp, &remote.host, &login.tls, timeout, &plain_url).await?,
                    ))
                }
            }
        };
        let offered = pre_login_capabilities(&mut client, timeout)
            .await
            .map_err(|e| opening_failed(&label, e))?;
        let session = authenticate(client, login, secret, &label, &offered).await?;
        let mut this = ImapClient {
            session,
            login: login.clone(),
            is_over: false,
            capabilities: HashSet::new(),
            timeout,
            label,
            pending: VecDeque::new(),
            open_group: None,
            retained_bytes: 0,
            answers: Vec::new(),
            early_answers: HashMap::new(),
            selected: None,
            condstore: false,
            qresync: false,
        };
        this.refresh_capabilities().await?;
        Ok(this)
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Notes an unparsable reply in `result`: the session is over.
    fn note<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            self.is_over |= is_unparsable(e);
        }
        result
    }

    /// Replaces a session that met an unparsable reply with a new one. Only
    /// where a folder is about to be opened: nothing of the old session's
    /// state (selected folder, unanswered APPENDs) is carried over.
    async fn renew_if_over(&mut self) -> Result<()> {
        if !self.is_over || !self.pending.is_empty() {
            return Ok(());
        }
        report::debug(&format!(
            "{}: a new session after an unparsable reply",
            self.label
        ));
        let fresh = Box::pin(ImapClient::connect(&self.login)).await?;
        *self = fresh;
        Ok(())
    }

    async fn refresh_capabilities(&mut self) -> Result<()> {
        let timeout = self.timeout;
        let caps = deadline(timeout, "asking for capabilities", async {
            self.session.capabilities().await.map_err(protocol_error)
        })
        .await?;
        self.capabilities = caps
            .iter()
            .map(|c| match c {
                async_imap::types::Capability::Imap4rev1 => "IMAP4REV1".to_string(),
                async_imap::types::Capability::Auth(a) => {
                    format!("AUTH={}", a.to_ascii_uppercase())
                }
                async_imap::types::Capability::Atom(a) => a.to_ascii_uppercase(),
            })
            .collect();
        report::debug(&format!(
            "{} capabilities: {}",
            self.label,
            self.capabilities
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        ));
        Ok(())
    }

    /// True when the server advertises `capability` (case-insensitive).
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.contains(&capability.to_ascii_uppercase())
    }

    /// The largest message the server accepts, when it advertises
    /// `APPENDLIMIT=N` (RFC 7889). A bare `APPENDLIMIT` means each folder
    /// has its own, which is not asked for.
    pub fn append_limit(&self) -> Option<u64> {
        self.capabilities
            .iter()
            .find_map(|c| c.strip_prefix("APPENDLIMIT="))
            .and_then(|n| n.parse().ok())
    }

    /// The quota roots of folder `name` (RFC 9208 GETQUOTAROOT). Empty
    /// without the QUOTA capability.
    pub async fn quota_roots(&mut self, name: &str) -> Result<Vec<QuotaRoot>> {
        use async_imap::types::QuotaResourceName;
        if !self.has("QUOTA") {
            return Ok(Vec::new());
        }
        let timeout = self.timeout;
        let session = &mut self.session;
        let answer = deadline(timeout, "asking for the quota", async {
            session
                .get_quota_root(name)
                .await
                .map_err(|e| folder_error(e, name))
        })
        .await;
        let (_, quotas) = self.note(answer)?;
        Ok(quotas
            .into_iter()
            .map(|quota| {
                let resource = |wanted: QuotaResourceName| {
                    quota
                        .resources
                        .iter()
                        .find(|r| r.name == wanted)
                        .map(|r| (r.usage, r.limit))
                };
                QuotaRoot {
                    storage: resource(QuotaResourceName::Storage),
                    messages: resource(QuotaResourceName::Message),
                    root: quota.root_name,
                }
            })
            .collect())
    }

    /// Every folder, with its attributes.
    pub async fn list(&mut self) -> Result<Vec<ListedFolder>> {
        self.renew_if_over().await?;
        let timeout = self.timeout;
        let pattern = if self.has("SPECIAL-USE") && self.has("LIST-EXTENDED") {
            "\"*\" RETURN (SPECIAL-USE)"
        } else {
            "\"*\""
        };
        let session = &mut self.session;
        let folders = deadline(timeout, "listing folders", async {
            let mut stream = session
                .list(Some(""), Some(pattern))
                .await
                .map_err(protocol_error)?;
            let mut folders = Vec::new();
            while let Some(name) = stream.next().await {
                let name = name.map_err(protocol_error)?;
                folders.push(listed(&name));
            }
            Ok(folders)
        })
        .await;
        let folders = self.note(folders)?;
        self.drain_unsolicited();
        self.check_alive("listing folders").await?;
        if folders.is_empty() {
            // Every account has an INBOX: an empty list is a swallowed NO/BAD.
            return Err(
                Disconnected(format!("{} answered LIST with no folders", self.label)).into(),
            );
        }
        Ok(folders)
    }

    /// The server's namespaces (RFC 2342), when it offers NAMESPACE. The
    /// response has no parser in async-imap: [`Wire`] takes it out of the
    /// stream and it is read here.
    pub async fn namespaces(&mut self) -> Result<Option<Namespaces>> {
        if !self.has("NAMESPACE") {
            return Ok(None);
        }
        self.renew_if_over().await?;
        let timeout = self.timeout;
        let session = &mut self.session;
        let tag = deadline(timeout, "asking for namespaces", async {
            session
                .run_command("NAMESPACE")
                .await
                .map_err(protocol_error)
        })
        .await?
        .0;
        let answer = loop {
            let done = self
                .read_reply("asking for namespaces", |response| match response {
                    Response::Done {
                        tag: done, status, ..
                    } if done.0 == tag => Some(*status == Status::Ok),
                    _ => None,
                })
                .await?;
            if let Some(status) = done {
                break status;
            }
        };
        let diverted = self.session.get_mut().take_diverted();
        if !answer {
            report::debug(&format!("{}: NAMESPACE was refused", self.label));
            return Ok(None);
        }
        let Some(response) = diverted.last() else {
            return Ok(None);
        };
        let namespaces = Namespaces::parse(response).with_context(|| {
            format!(
                "{} sent a NAMESPACE response mailtug cannot read: {}",
                self.label,
                String::from_utf8_lossy(response).trim_end()
            )
        })?;
        report::debug(&format!("{} namespaces: {namespaces:?}", self.label));
        Ok(Some(namespaces))
    }

    /// Turns CONDSTORE on for the session (ENABLE, RFC 5161 and 7162), so
    /// opened folders report HIGHESTMODSEQ. False when the server offers
    /// neither; a refusal is not an error, only the slower way.
    pub async fn enable_condstore(&mut self) -> Result<bool> {
        if !self.condstore && self.enable("CONDSTORE").await {
            self.condstore = true;
        }
        Ok(self.condstore)
    }

    /// Turns QRESYNC on for the session (RFC 7162 §3.2.3; CONDSTORE comes
    /// with it), so a folder can be opened with what changed since a known
    /// state ([`ImapClient::open_folder_since`]). False when the server
    /// does not offer it or refuses.
    pub async fn enable_qresync(&mut self) -> Result<bool> {
        if !self.qresync && self.enable("QRESYNC").await {
            self.qresync = true;
            self.condstore = true;
        }
        Ok(self.qresync)
    }

    /// ENABLE `extension`, when the server offers it and ENABLE.
    async fn enable(&mut self, extension: &str) -> bool {
        if !self.has(extension) || !self.has("ENABLE") {
            return false;
        }
        let session = &mut self.session;
        let command = format!("ENABLE {extension}");
        let enabled = deadline(self.timeout, "turning an extension on", async {
            session
                .run_command_and_check_ok(&command)
                .await
                .map_err(protocol_error)
        })
        .await;
        self.drain_unsolicited();
        match enabled {
            Ok(()) => true,
            Err(e) => {
                report::debug(&format!("{}: {command}: {e:#}", self.label));
                false
            }
        }
    }

    /// Whether QRESYNC is on for the session.
    pub fn has_qresync(&self) -> bool {
        self.qresync
    }

    /// EXAMINE: opens a folder read-only (reading never changes \Seen or \Recent).
    pub async fn examine(&mut self, name: &str) -> Result<FolderState> {
        self.open_folder(name, false).await
    }

    /// SELECT: opens a folder read-write (to store flags and expunge).
    pub async fn select(&mut self, name: &str) -> Result<FolderState> {
        self.open_folder(name, true).await
    }

    async fn open_folder(&mut self, name: &str, writable: bool) -> Result<FolderState> {
        self.renew_if_over().await?;
        let timeout = self.timeout;
        let session = &mut self.session;
        let mailbox = deadline(timeout, "opening a folder", async {
            let result = if writable {
                session.select(name).await
            } else {
                session.examine(name).await
            };
            result.map_err(|e| folder_error(e, name))
        })
        .await;
        self.selected = None;
        let mailbox = self.note(mailbox)?;
        self.selected = Some(Selected {
            exists_at_open: mailbox.exists,
            exists: mailbox.exists,
            expunged: 0,
            writable,
        });
        self.drain_unsolicited();
        let uid_validity = mailbox.uid_validity.ok_or_else(|| {
            anyhow!(
                "the server gave no UIDVALIDITY for folder `{name}`; it cannot be copied safely"
            )
        })?;
        Ok(FolderState {
            uid_validity,
            uid_next: mailbox.uid_next.unwrap_or(0),
            exists: mailbox.exists,
            permanent_flags: mailbox
                .permanent_flags
                .iter()
                .map(super::flag_name)
                .collect(),
            highest_modseq: mailbox.highest_modseq.filter(|_| self.condstore),
        })
    }

    /// Opens a folder as [`ImapClient::examine`] and [`ImapClient::select`]
    /// do, with QRESYNC's parameters (RFC 7162 §3.2.5): `since` is a
    /// UIDVALIDITY and a HIGHESTMODSEQ seen before. When the folder still
    /// has that UIDVALIDITY, the same reply tells which UIDs were expunged
    /// since (VANISHED (EARLIER)) and the flags of every message changed
    /// since (FETCH): that is the [`Resync`]. The reply is read here one
    /// response at a time, because async-imap queues the FETCH and VANISHED
    /// responses of an open as unsolicited ones and drops those past the
    /// 100th.
    pub async fn open_folder_since(
        &mut self,
        name: &str,
        writable: bool,
        since: (u32, u64),
    ) -> Result<(FolderState, Option<Resync>)> {
        if !self.qresync || name.contains(['\r', '\n']) {
            // A name that needs a literal is opened the usual way.
            return Ok((self.open_folder(name, writable).await?, None));
        }
        self.renew_if_over().await?;
        let command = format!(
            "{} {} (QRESYNC ({} {}))",
            if writable { "SELECT" } else { "EXAMINE" },
            quote(name),
            since.0,
            since.1
        );
        self.selected = None;
        let session = &mut self.session;
        let sent = deadline(self.timeout, "opening a folder", async {
            session.run_command(&command).await.map_err(protocol_error)
        })
        .await;
        let tag = self.note(sent)?.0;
        let mut state = FolderState::default();
        let mut uid_validity = None;
        let mut resync = Resync::default();
        let mut whole = true;
        loop {
            let step = self
                .read_reply("opening a folder", |response| OpenStep::of(response, &tag))
                .await;
            match self.note(step)? {
                OpenStep::Done(Ok(())) => break,
                OpenStep::Done(Err(text)) => {
                    return Err(Refused(format!("the server refused: {text}")))
                        .with_context(|| format!("folder `{name}`"));
                }
                OpenStep::UidValidity(n) => uid_validity = Some(n),
                OpenStep::UidNext(n) => state.uid_next = n,
                OpenStep::HighestModSeq(n) => state.highest_modseq = Some(n),
                OpenStep::PermanentFlags(flags) => state.permanent_flags = flags,
                OpenStep::Exists(n) => state.exists = n,
                OpenStep::Vanished(uids) => resync.vanished.extend(uids),
                OpenStep::Changed(Some(uid), flags) => resync.changed.push((uid, flags)),
                OpenStep::Changed(None, _) => whole = false,
                OpenStep::Other => {}
            }
        }
        self.selected = Some(Selected {
            exists_at_open: state.exists,
            exists: state.exists,
            expunged: 0,
            writable,
        });
        self.drain_unsolicited();
        state.uid_validity = uid_validity.ok_or_else(|| {
            anyhow!(
                "the server gave no UIDVALIDITY for folder `{name}`; it cannot be copied safely"
            )
        })?;
        // Another UIDVALIDITY: the server ignored the parameters (§3.2.5.2).
        // Without HIGHESTMODSEQ (NOMODSEQ), changes are not tracked at all.
        let resync = (state.uid_validity == since.0 && state.highest_modseq.is_some())
            .then_some(resync)
            .filter(|_| {
                if !whole {
                    report::debug(&format!(
                        "{}: folder `{name}`: a FETCH without UID in the QRESYNC answer; \
                         reading changes the CONDSTORE way",
                        self.label
                    ));
                }
                whole
            });
        Ok((state, resync))
    }

    /// Leaves a folder opened with EXAMINE (UNSELECT, RFC 3691, or CLOSE,
    /// which expunges nothing in a read-only folder). Courier refuses APPEND
    /// while a folder is selected read-only, so a sink that indexed its
    /// folder with EXAMINE leaves it before appending. A folder opened with
    /// SELECT takes APPENDs, and CLOSE would expunge it: it stays.
    pub async fn leave_read_only(&mut self) -> Result<()> {
        if self.selected.is_none_or(|s| s.writable) {
            return Ok(());
        }
        let command = if self.has("UNSELECT") {
            "UNSELECT"
        } else {
            "CLOSE"
        };
        let session = &mut self.session;
        let closed = deadline(self.timeout, "leaving a folder", async {
            session
                .run_command_and_check_ok(command)
                .await
                .map_err(protocol_error)
        })
        .await;
        self.note(closed)?;
        self.selected = None;
        self.drain_unsolicited();
        Ok(())
    }

    /// How many of the messages the selected folder held when it was opened
    /// are still there; their sequence numbers are 1 to this (mail arriving
    /// since comes after them).
    pub fn messages_since_open(&self) -> u32 {
        self.selected
            .map(|s| s.exists_at_open.saturating_sub(s.expunged))
            .unwrap_or(0)
    }

    /// How many messages the selected folder holds now.
    pub fn exists(&self) -> u32 {
        self.selected.map(|s| s.exists).unwrap_or(0)
    }

    /// The UID of the message with sequence number `number` in the selected
    /// folder (FETCH n (UID)), `None` when the server sends none.
    pub async fn uid_at(&mut self, number: u32) -> Result<Option<u32>> {
        let timeout = self.timeout;
        let session = &mut self.session;
        let uid = deadline(timeout, "fetching a UID", async {
            let stream = session
                .fetch(number.to_string(), "(UID)")
                .await
                .map_err(protocol_error)?;
            futures_util::pin_mut!(stream);
            let mut uid = None;
            while let Some(fetch) = stream.next().await {
                let fetch = fetch.map_err(protocol_error)?;
                if fetch.message == number {
                    uid = uid.or(fetch.uid);
                }
            }
            Ok(uid)
        })
        .await;
        let uid = self.note(uid)?;
        self.drain_unsolicited();
        if uid.is_none() {
            self.check_alive("fetching a UID").await?;
        }
        Ok(uid)
    }

    /// Every UID in `range` of the selected folder by UID FETCH (UID): the
    /// form to fall back on when a server's UID SEARCH answers wrongly.
    pub async fn uids_by_fetch(&mut self, range: &str) -> Result<Vec<u32>> {
        let timeout = self.timeout;
        let session = &mut self.session;
        let uids = deadline(timeout, "listing UIDs", async {
            let stream = session
                .uid_fetch(range, "(UID)")
                .await
                .map_err(protocol_error)?;
            futures_util::pin_mut!(stream);
            let mut uids = Vec::new();
            while let Some(fetch) = stream.next().await {
                if let Some(uid) = fetch.map_err(protocol_error)?.uid {
                    uids.push(uid);
                }
            }
            Ok(uids)
        })
        .await;
        let mut uids = self.note(uids)?;
        self.drain_unsolicited();
        self.check_alive("listing UIDs").await?;
        uids.sort_unstable();
        uids.dedup();
        Ok(uids)
    }

    /// STATUS (UIDVALIDITY UIDNEXT MESSAGES) without selecting the folder.
    pub async fn status(&mut self, name: &str) -> Result<FolderState> {
        self.renew_if_over().await?;
        let timeout = self.timeout;
        let session = &mut self.session;
        let mailbox = deadline(timeout, "asking for a folder's status", async {
            session
                .status(name, "(UIDVALIDITY UIDNEXT MESSAGES)")
                .await
                .map_err(|e| folder_error(e, name))
        })
        .await;
        let mailbox = self.note(mailbox)?;
        Ok(FolderState {
            uid_validity: mailbox.uid_validity.unwrap_or(0),
            uid_next: mailbox.uid_next.unwrap_or(0),
            exists: mailbox.exists,
            permanent_flags: Vec::new(),
            highest_modseq: None,
        })
    }

    /// MESSAGES of each folder in `names` (server names), from STATUS
    /// commands sent in windows without waiting for each answer: one round
    /// trip per window, not per folder. Folders the server refuses are left
    /// out. After any error the session is replaced before its next folder,
    /// as answers may still be on their way.
    pub async fn message_counts(&mut self, names: &[String]) -> Result<HashMap<String, u32>> {
        let result = self.pipelined_status(names).await;
        if result.is_err() {
            self.is_over = true;
        }
        result
    }

    async fn pipelined_status(&mut self, names: &[String]) -> Result<HashMap<String, u32>> {
        // A window the socket buffers hold either way, so sending never
        // waits on a server that waits for its answers to be read.
        const WINDOW: usize = 64;
        self.renew_if_over().await?;
        let timeout = self.timeout;
        let mut counts = HashMap::with_capacity(names.len());
        for window in names.chunks(WINDOW) {
            let mut unanswered = HashSet::with_capacity(window.len());
            for name in window {
                let command = format!("STATUS {} (MESSAGES)", quote(name));
                let session = &mut self.session;
                let tag = deadline(timeout, "asking for folder sizes", async {
                    session.run_command(&command).await.map_err(protocol_error)
                })
                .await?
                .0;
                unanswered.insert(tag);
            }
            while !unanswered.is_empty() {
                self.read_reply("asking for folder sizes", |response| match response {
                    Response::MailboxData(imap_proto::MailboxDatum::Status { mailbox, status }) => {
                        for attribute in status {
                            if let imap_proto::StatusAttribute::Messages(n) = attribute {
                                counts.insert(unescape_quoted(mailbox), *n);
                            }
                        }
                    }
                    Response::Done { tag, .. } => {
                        unanswered.remove(&*tag.0);
                    }
                    _ => {}
                })
                .await?;
            }
        }
        Ok(counts)
    }

    /// UID SEARCH in the selected folder; `criteria` is raw IMAP search syntax.
    pub async fn uid_search(&mut self, criteria: &str) -> Result<Vec<u32>> {
        let timeout = self.timeout;
        let session = &mut self.session;
        let uids = deadline(timeout, "searching", async {
            session.uid_search(criteria).await.map_err(protocol_error)
        })
        .await;
        let uids = self.note(uids)?;
        self.check_alive("searching").await?;
        let mut uids: Vec<u32> = uids.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// UID FETCH `uids` with `items`, calling `each` on every answer as it
    /// arrives. Returns the UIDs that came back; the caller compares them with
    /// what it asked for, because a refused FETCH looks like an empty one.
    pub async fn uid_fetch<F, Fut>(
        &mut self,
        uids: &[u32],
        items: &str,
        mut each: F,
    ) -> Result<HashSet<u32>>
    where
        F: FnMut(Fetch) -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        let mut seen = HashSet::with_capacity(uids.len());
        if uids.is_empty() {
            return Ok(seen);
        }
        let set = uid_set(uids);
        // Only what the server says to this FETCH counts below.
        let _ = self.session.get_mut().take_throttle();
        let timeout = self.timeout;
        let session = &mut self.session;
        let mut stream = match deadline(timeout, "fetching", async {
            session.uid_fetch(&set, items).await.map_err(protocol_error)
        })
        .await
        {
            Ok(stream) => stream,
            Err(e) => {
                self.is_over |= is_unparsable(&e);
                return Err(e);
            }
        };
        let mut failed = None;
        loop {
            // The timeout applies to each answer, not to the whole batch, so a
            // slow but steady download of a big message is not cut off.
            let next = tokio::time::timeout(timeout, stream.next())
                .await
                .map_err(|_| {
                    Disconnected(format!(
                        "no answer from the server within {} s while fetching",
                        timeout.as_secs()
                    ))
                })?;
            let Some(fetch) = next else { break };
            let fetch = match fetch.map_err(protocol_error) {
                Ok(fetch) => fetch,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            if let Some(uid) = fetch.uid {
                seen.insert(uid);
            }
            each(fetch).await?;
        }
        drop(stream);
        if let Some(e) = failed {
            self.is_over |= is_unparsable(&e);
            return Err(e);
        }
        self.drain_unsolicited();
        if let Some(words) = self.session.get_mut().take_throttle() {
            match crate::throttle::later(&words) {
                // async-imap ends a refused FETCH as if it were complete:
                // the words it swallowed say the server throttled it.
                Some(e) if seen.len() < uids.len() => return Err(e),
                // `OK Success [THROTTLED]`: done, but slow down.
                _ => crate::rate::slow_down(&words),
            }
        }
        if seen.len() < uids.len() {
            self.check_alive("fetching").await?;
        }
        Ok(seen)
    }

    /// Proves the session alive with a NOOP. async-imap ends a streamed
    /// answer (LIST, SEARCH, FETCH) at the end of the connection just as at
    /// its tagged completion, so a server that hangs up mid-answer (after a
    /// `* BYE`, or between two responses) looks like one that answered in
    /// full: a SEARCH cut short would make the missing messages look done.
    /// An answer that may be short is trusted only once this succeeds.
    async fn check_alive(&mut self, what: &str) -> Result<()> {
        let session = &mut self.session;
        let alive = deadline(self.timeout, what, async {
            session
                .run_command_and_check_ok("NOOP")
                .await
                .map_err(|e| match e {
                    async_imap::error::Error::ConnectionLost => {
                        Disconnected(format!("the server closed the connection while {what}"))
                            .into()
                    }
                    other => protocol_error(other),
                })
        })
        .await;
        self.note(alive)?;
        self.drain_unsolicited();
        Ok(())
    }

    /// CREATE (and SUBSCRIBE) a folder; an existing folder is fine. With a
    /// special use (`\Sent`) and CREATE-SPECIAL-USE (RFC 6154 §3), the
    /// folder is created with that use; a server that cannot give it
    /// (`[USEATTR]`) gets a plain CREATE.
    pub async fn create(&mut self, name: &str, special_use: Option<&str>) -> Result<()> {
        self.renew_if_over().await?;
        let timeout = self.timeout;
        let special_use = special_use.filter(|_| self.has("CREATE-SPECIAL-USE"));
        let session = &mut self.session;
        let created = deadline(timeout, "creating a folder", async {
            let mut result = match special_use {
                Some(special_use) => {
                    session
                        .run_command_and_check_ok(format!(
                            "CREATE {} (USE ({special_use}))",
                            quote(name)
                        ))
                        .await
                }
                None => session.create(name).await,
            };
            if let (Some(_), Err(async_imap::error::Error::No(text))) = (special_use, &result) {
                if text.to_ascii_uppercase().contains("USEATTR") {
                    result = session.create(name).await;
                }
            }
            match result {
                Ok(()) => {}
                // RFC 5530 [ALREADYEXISTS]; older servers only say NO.
                Err(async_imap::error::Error::No(text))
                    if text.to_ascii_lowercase().contains("exist") => {}
                Err(e) => return Err(folder_error(e, name)),
            }
            // Subscribing is a courtesy to mail readers; a refusal changes nothing.
            let _ = session.subscribe(name).await;
            Ok(())
        })
        .await;
        self.note(created)
    }

    /// Sends an APPEND without waiting for its answer when the server takes
    /// non-synchronizing literals; `finish_appends` collects the answers.
    ///
    /// With MULTIAPPEND (RFC 3502) and LITERAL+, small messages for the same
    /// folder travel in groups of a few in one APPEND command: Dovecot then
    /// stores a group in one transaction, which measured 1.6x faster than
    /// one APPEND per message. A group is atomic, so its messages are kept
    /// until it is answered; if the server refuses the group, they are sent
    /// again one by one, so one bad message fails alone.
    pub async fn append(
        &mut self,
        folder: &str,
        flags: &[String],
        date: Option<SystemTime>,
        raw: Vec<u8>,
    ) -> Result<()> {
        if raw.len() as u64 > MAX_MESSAGE_SIZE {
            return Err(MessageRejected(format!(
                "the message is {} bytes, more than this IMAP client can send",
                raw.len()
            ))
            .into());
        }
        let message = Retained {
            folder: folder.to_string(),
            flags: flags.to_vec(),
            date,
            raw,
        };
        let groupable = self.has("MULTIAPPEND")
            && self.has("LITERAL+")
            && message.raw.len() <= GROUP_MESSAGE_MAX;
        if !groupable {
            self.close_group().await?;
            let tag = self.send_single(&message).await?;
            self.pending.push_back(Pending {
                tag,
                count: 1,
                retained: Vec::new(),
            });
            return Ok(());
        }
        let joins_open_group = self.open_group.as_ref().is_some_and(|group| {
            group.folder == message.folder
                && group.count < GROUP_MESSAGES
                && group.bytes + message.raw.len() <= GROUP_BYTES
        });
        let timeout = self.timeout;
        if joins_open_group {
            let part = format!(
                " {} {{{}+}}\r\n",
                append_attributes(&message),
                message.raw.len()
            );
            let stream = self.session.get_mut();
            deadline(timeout, "sending a message", async {
                stream.write_all(part.as_bytes()).await?;
                stream.write_all(&message.raw).await?;
                stream.flush().await?;
                Ok(())
            })
            .await
            .map_err(|e| Disconnected(format!("{e:#}")))?;
        } else {
            self.close_group().await?;
            // Collect only the oldest answers, as many as make room: the
            // server keeps working on the rest meanwhile.
            while self.retained_bytes + message.raw.len() > RETAINED_MAX && !self.pending.is_empty()
            {
                self.resolve_oldest().await?;
            }
            let command = format!(
                "APPEND {} {} {{{}+}}",
                quote(&message.folder),
                append_attributes(&message),
                message.raw.len()
            );
            let tag = deadline(timeout, "sending APPEND", async {
                self.session
                    .run_command(&command)
                    .await
                    .map_err(protocol_error)
            })
            .await?
            .0;
            let stream = self.session.get_mut();
            deadline(timeout, "sending a message", async {
                stream.write_all(&message.raw).await?;
                stream.flush().await?;
                Ok(())
            })
            .await
            .map_err(|e| Disconnected(format!("{e:#}")))?;
            self.pending.push_back(Pending {
                tag,
                count: 0,
                retained: Vec::new(),
            });
            self.open_group = Some(OpenGroup {
                folder: message.folder.clone(),
                count: 0,
                bytes: 0,
            });
        }
        if let (Some(group), Some(pending)) = (self.open_group.as_mut(), self.pending.back_mut()) {
            group.count += 1;
            group.bytes += message.raw.len();
            pending.count += 1;
            self.retained_bytes += message.raw.len();
            pending.retained.push(message);
        }
        Ok(())
    }

    /// Sends one message in its own APPEND and returns the tag.
    async fn send_single(&mut self, message: &Retained) -> Result<String> {
        let raw = &message.raw;
        let non_sync = self.has("LITERAL+") || (self.has("LITERAL-") && raw.len() <= 4096);
        let command = format!(
            "APPEND {} {} {{{}{}}}",
            quote(&message.folder),
            append_attributes(message),
            raw.len(),
            if non_sync { "+" } else { "" }
        );
        let timeout = self.timeout;
        let tag = deadline(timeout, "sending APPEND", async {
            self.session
                .run_command(&command)
                .await
                .map_err(protocol_error)
        })
        .await?
        .0;
        if !non_sync {
            self.wait_for_continuation(&tag).await?;
            if self.early_answers.contains_key(&tag) {
                // Refused before the literal was sent.
                return Ok(tag);
            }
        }
        let stream = self.session.get_mut();
        deadline(timeout, "sending a message", async {
            stream.write_all(raw).await?;
            stream.write_all(b"\r\n").await?;
            stream.flush().await?;
            Ok(())
        })
        .await
        .map_err(|e| Disconnected(format!("{e:#}")))?;
        Ok(tag)
    }

    /// Ends the MULTIAPPEND command being written, if any.
    async fn close_group(&mut self) -> Result<()> {
        if self.open_group.take().is_none() {
            return Ok(());
        }
        let timeout = self.timeout;
        let stream = self.session.get_mut();
        deadline(timeout, "sending APPEND", async {
            stream.write_all(b"\r\n").await?;
            stream.flush().await?;
            Ok(())
        })
        .await
        .map_err(|e| Disconnected(format!("{e:#}")).into())
    }

    /// Waits for the `+` before a synchronizing literal, recording answers to
    /// earlier APPENDs that arrive first.
    async fn wait_for_continuation(&mut self, tag: &str) -> Result<()> {
        loop {
            match self
                .next_event("waiting for the server to accept a message")
                .await?
            {
                Event::Continue => return Ok(()),
                Event::Done(done, answer) => {
                    let refused_now = done == tag;
                    self.early_answers.insert(done, answer);
                    if refused_now {
                        return Ok(());
                    }
                }
                Event::Other => {}
            }
        }
    }

    /// The answer to the APPEND sent with `tag`.
    async fn answer(&mut self, tag: &str) -> Result<Appended> {
        if let Some(answer) = self.early_answers.remove(tag) {
            return Ok(answer);
        }
        loop {
            if let Event::Done(done, answer) =
                self.next_event("waiting for APPEND to finish").await?
            {
                if done == tag {
                    return Ok(answer);
                }
                self.early_answers.insert(done, answer);
            }
        }
    }

    /// Collects the answers to every APPEND sent so far, one per message, in
    /// order; a refused group is retried message by message.
    async fn resolve(&mut self) -> Result<()> {
        self.close_group().await?;
        while !self.pending.is_empty() {
            self.resolve_oldest().await?;
        }
        Ok(())
    }

    /// Collects the answer to the oldest APPEND still unanswered (which must
    /// not be the group being written).
    async fn resolve_oldest(&mut self) -> Result<()> {
        let Some(pending) = self.pending.pop_front() else {
            return Ok(());
        };
        let answer = self.answer(&pending.tag).await?;
        let retained: usize = pending.retained.iter().map(|m| m.raw.len()).sum();
        match answer {
            // Throttled: sending the group again message by message would
            // only meet the same answer, many times over. Each message
            // gets the refusal; the caller waits and sends them again.
            Appended::Rejected(text)
                if pending.retained.len() > 1 && crate::throttle::later(&text).is_some() =>
            {
                for _ in 0..pending.count {
                    self.answers.push(Appended::Rejected(text.clone()));
                }
            }
            Appended::Rejected(_) if pending.retained.len() > 1 => {
                report::debug(&format!(
                    "{}: a group of {} messages was refused; sending them one by one",
                    self.label,
                    pending.retained.len()
                ));
                for message in &pending.retained {
                    let tag = self.send_single(message).await?;
                    let answer = self.answer(&tag).await?;
                    self.answers.push(answer);
                }
            }
            Appended::Stored(uids) => {
                for i in 0..pending.count {
                    let uid = uids.get(i).copied();
                    self.answers
                        .push(Appended::Stored(uid.into_iter().collect()));
                }
            }
            rejected @ Appended::Rejected(_) => self.answers.push(rejected),
        }
        self.retained_bytes -= retained;
        Ok(())
    }

    /// Waits for the answers to every APPEND sent since the last call: one
    /// per message, in the order they were appended.
    pub async fn finish_appends(&mut self) -> Result<Vec<Appended>> {
        self.resolve().await?;
        Ok(std::mem::take(&mut self.answers))
    }

    /// Reads one response and says what it means for APPEND.
    async fn next_event(&mut self, what: &str) -> Result<Event> {
        self.read_reply(what, |response| match response {
            Response::Continue(_) => Event::Continue,
            Response::Done {
                tag,
                status,
                outcome,
            } => Event::Done(tag.0.clone(), append_answer(status, outcome)),
            _ => Event::Other,
        })
        .await
    }

    /// Reads one response for commands sent through the raw-command API and
    /// hands it to `interpret`. A closed connection and a `* BYE` are lost
    /// connections.
    async fn read_reply<T>(
        &mut self,
        what: &str,
        interpret: impl FnOnce(&Response<'_>) -> T,
    ) -> Result<T> {
        let timeout = self.timeout;
        let session = &mut self.session;
        deadline(timeout, what, async {
            let response = match session.read_response().await {
                Ok(Some(response)) => response,
                Ok(None) => {
                    return Err(Disconnected("the server closed the connection".into()).into())
                }
                Err(e) => return Err(Disconnected(format!("reading from the server: {e}")).into()),
            };
            if let Response::Data {
                status: Status::Bye,
                outcome,
            } = response.parsed()
            {
                return Err(Disconnected(format!(
                    "the server closed the session: {}",
                    outcome.information.as_deref().unwrap_or("BYE")
                ))
                .into());
            }
            Ok(interpret(response.parsed()))
        })
        .await
    }

    /// UID STORE `change` (`+FLAGS.SILENT (\\Seen)`) on `uids` of the
    /// selected folder, which must be open read-write.
    pub async fn store_flags(&mut self, uids: &[u32], change: &str) -> Result<()> {
        let timeout = self.timeout;
        for chunk in uids.chunks(500) {
            let set = uid_set(chunk);
            let session = &mut self.session;
            let stored = deadline(timeout, "changing flags", async {
                let stream = session
                    .uid_store(&set, change)
                    .await
                    .map_err(protocol_error)?;
                futures_util::pin_mut!(stream);
                while let Some(item) = stream.next().await {
                    item.map_err(protocol_error)?;
                }
                Ok(())
            })
            .await;
            self.note(stored)?;
        }
        self.drain_unsolicited();
        Ok(())
    }

    /// Moves `uids` of the selected folder into folder `target`: UID MOVE
    /// (RFC 6851), or UID COPY then the removal of exactly those UIDs.
    pub async fn move_uids(&mut self, uids: &[u32], target: &str) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let timeout = self.timeout;
        let moves = self.has("MOVE");
        for chunk in uids.chunks(500) {
            let set = uid_set(chunk);
            let session = &mut self.session;
            let moved = deadline(timeout, "moving messages", async {
                let result = match moves {
                    true => session.uid_mv(&set, target).await,
                    false => session.uid_copy(&set, target).await,
                };
                result.map_err(protocol_error)
            })
            .await;
            self.note(moved)?;
            if !moves {
                self.delete_uids(chunk).await?;
            }
        }
        self.drain_unsolicited();
        Ok(())
    }

    /// UID COPY `uids` of the selected folder into `target`, returning the
    /// UID each copy got there (COPYUID, RFC 4315 §3), by source UID. A UID
    /// no longer in the folder is left out of the answer, as the server
    /// copies only what it has.
    pub async fn copy_uids(&mut self, uids: &[u32], target: &str) -> Result<HashMap<u32, u32>> {
        let mut copies = HashMap::with_capacity(uids.len());
        for chunk in uids.chunks(500) {
            let command = format!("UID COPY {} {}", uid_set(chunk), quote(target));
            let session = &mut self.session;
            let sent = deadline(self.timeout, "copying messages", async {
                session.run_command(&command).await.map_err(protocol_error)
            })
            .await;
            let tag = self.note(sent)?.0;
            let label = self.label.clone();
            let answer = loop {
                let done = self
                    .read_reply("copying messages", |response| match response {
                        Response::Done {
                            tag: done,
                            status,
                            outcome,
                        } if done.0 == tag => Some(match (status, &outcome.code) {
                            (Status::Ok, Some(ResponseCode::CopyUid(_, from, to))) => {
                                Ok(expand(from).zip(expand(to)).collect::<Vec<_>>())
                            }
                            (Status::Ok, _) => {
                                Err(format!("{label} copied without saying where (no COPYUID)"))
                            }
                            _ => Err(format!(
                                "the server refused: {}",
                                outcome.information.as_deref().unwrap_or("NO")
                            )),
                        }),
                        _ => None,
                    })
                    .await;
                if let Some(answer) = self.note(done)? {
                    break answer;
                }
            };
            copies.extend(answer.map_err(Refused)?);
        }
        self.drain_unsolicited();
        Ok(copies)
    }

    /// Sets \Deleted on `uids` and removes exactly them (UID EXPUNGE, RFC
    /// 4315), never a plain EXPUNGE that could remove other clients' deleted
    /// messages. Without UIDPLUS nothing is deleted.
    pub async fn delete_uids(&mut self, uids: &[u32]) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        if !self.has("UIDPLUS") {
            return Err(anyhow!(
                "{} lacks UIDPLUS, so messages cannot be removed without touching others; nothing was deleted",
                self.label
            ));
        }
        let timeout = self.timeout;
        for chunk in uids.chunks(500) {
            let set = uid_set(chunk);
            self.store_flags(chunk, "+FLAGS.SILENT (\\Deleted)").await?;
            let session = &mut self.session;
            let expunged = deadline(timeout, "expunging messages", async {
                let stream = session.uid_expunge(&set).await.map_err(protocol_error)?;
                futures_util::pin_mut!(stream);
                while let Some(item) = stream.next().await {
                    item.map_err(protocol_error)?;
                }
                Ok(())
            })
            .await;
            self.note(expunged)?;
        }
        self.drain_unsolicited();
        Ok(())
    }

    /// Empties the channel of unsolicited responses, which silently drops
    /// anything past 100 entries, keeping count of the selected folder's
    /// messages from EXISTS and EXPUNGE.
    fn drain_unsolicited(&mut self) {
        use async_imap::types::UnsolicitedResponse;
        while let Ok(response) = self.session.unsolicited_responses.try_recv() {
            let Some(selected) = self.selected.as_mut() else {
                continue;
            };
            match response {
                UnsolicitedResponse::Exists(n) => selected.exists = n,
                UnsolicitedResponse::Expunge(_) => {
                    selected.exists = selected.exists.saturating_sub(1);
                    selected.expunged += 1;
                }
                // With QRESYNC on, expunges come as VANISHED (RFC 7162
                // §3.2.10): each UID is one message fewer.
                UnsolicitedResponse::Other(data) => {
                    if let Response::Vanished {
                        earlier: false,
                        uids,
                    } = data.parsed()
                    {
                        let gone: u64 = uids
                            .iter()
                            .map(|range| u64::from(range.end() - range.start()) + 1)
                            .sum();
                        let gone = u32::try_from(gone).unwrap_or(u32::MAX);
                        selected.exists = selected.exists.saturating_sub(gone);
                        selected.expunged = selected.expunged.saturating_add(gone);
                    }
                }
                _ => {}
            }
        }
    }

    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.session.logout()).await;
    }
}

async fn read_greeting(client: &mut Client<Wire>, label: &str, timeout: Duration) -> Result<()> {
    let greeting = deadline(timeout, "waiting for the greeting", async {
        client
            .read_response()
            .await
            .map_err(|e| exit::unreachable(format!("{label}: {e}")))?
            .ok_or_else(|| {
                exit::unreachable(format!("{label} closed the connection before greeting"))
            })
    })
    .await
    .map_err(|e| opening_failed(label, e))?;
    match greeting.parsed() {
        Response::Data {
            status: Status::Ok | Status::PreAuth,
            ..
        } => Ok(()),
        Response::Data {
            status: Status::Bye,
            outcome,
        } => {
            // Codes the parser does not know (RFC 5530's `UNAVAILABLE`)
            // stay in the text.
            let words = outcome.information.as_deref().unwrap_or("BYE");
            Err(exit::turned_away(
                format!("{label} refused the connection: {words}"),
                words,
            ))
        }
        _ => Err(exit::unreachable(format!(
            "{label} did not greet like an IMAP server"
        ))),
    }
}

/// A failure before login, a silent server's included, means the endpoint
/// could not be opened (exit 3), as for POP3.
fn opening_failed(label: &str, e: anyhow::Error) -> anyhow::Error {
    if exit::classify(&e) == exit::ExitCode::Partial {
        exit::unreachable(format!("{label}: {e:#}"))
    } else {
        e
    }
}

/// CAPABILITY before login, written by hand with a tag of our own (the crate
/// offers the command only on a session): it says which login mechanisms
/// the server takes.
async fn pre_login_capabilities(
    client: &mut Client<Wire>,
    timeout: Duration,
) -> Result<HashSet<String>> {
    deadline(timeout, "asking for capabilities", async {
        let stream = client.get_mut();
        stream.write_all(b"C0 CAPABILITY\r\n").await?;
        stream.flush().await?;
        let mut offered = HashSet::new();
        loop {
            let response = client
                .read_response()
                .await
                .map_err(|e| Disconnected(format!("reading from the server: {e}")))?
                .ok_or_else(|| Disconnected("the server closed the connection".into()))?;
            match response.parsed() {
                Response::Capabilities(caps) => {
                    for cap in caps {
                        offered.insert(match cap {
                            imap_proto::Capability::Imap4rev1 => "IMAP4REV1".to_string(),
                            imap_proto::Capability::Auth(a) => {
                                format!("AUTH={}", a.to_ascii_uppercase())
                            }
                            imap_proto::Capability::Atom(a) => a.to_ascii_uppercase(),
                        });
                    }
                }
                Response::Done { tag, .. } if tag.0 == "C0" => return Ok(offered),
                _ => {}
            }
        }
    })
    .await
}

async fn authenticate(
    client: Client<Wire>,
    login: &Login,
    password: &Secret,
    label: &str,
    offered: &HashSet<String>,
) -> Result<Session<Wire>> {
    let timeout = login.timeout;
    let user = login.user.as_str();
    let secret = password.expose();
    let mechanism = match login.auth {
        // A signed-in account: XOAUTH2 where offered (Gmail, Microsoft),
        // else the standard OAUTHBEARER (RFC 7628).
        AuthMechanism::Auto
            if login.tokens.is_some()
                && !offered.contains("AUTH=XOAUTH2")
                && offered.contains("AUTH=OAUTHBEARER") =>
        {
            AuthMechanism::OAuthBearer
        }
        AuthMechanism::Auto if login.tokens.is_some() => AuthMechanism::XOAuth2,
        AuthMechanism::Auto if offered.contains("AUTH=PLAIN") => AuthMechanism::Plain,
        AuthMechanism::Auto if login.admin.is_some() => {
            return Err(exit::unreachable(format!(
                "{label} does not offer AUTH=PLAIN, which an administrator login needs \
                 (with Dovecot, log in as `USER*ADMIN` instead)"
            )))
        }
        AuthMechanism::Auto => AuthMechanism::Login,
        chosen => chosen,
    };
    if login.admin.is_some() && mechanism != AuthMechanism::Plain {
        return Err(exit::usage(format!(
            "an administrator login to {label} uses SASL PLAIN; drop the other --auth"
        )));
    }
    let authorize_as = match &login.admin {
        // RFC 4616: authorization identity, authentication identity, password.
        Some(admin) => (user, admin.as_str()),
        None => ("", user),
    };
    if offered.contains("LOGINDISABLED") && mechanism == AuthMechanism::Login {
        return Err(exit::unreachable(format!(
            "{label} does not allow LOGIN on this connection (LOGINDISABLED)"
        )));
    }
    let challenge = std::sync::Arc::new(std::sync::Mutex::new(None));
    let sasl = |name: &'static str, message: String, after_error: &'static str| {
        (name, Sasl::new(message, after_error, challenge.clone()))
    };
    let result = match mechanism {
        AuthMechanism::Login => tokio::time::timeout(timeout, client.login(user, secret)).await,
        AuthMechanism::Auto
        | AuthMechanism::Plain
        | AuthMechanism::XOAuth2
        | AuthMechanism::OAuthBearer => {
            let (name, authenticator) = match mechanism {
                // After an error challenge: XOAUTH2 takes an empty answer;
                // OAUTHBEARER a single %x01 (RFC 7628 §3.2.3).
                AuthMechanism::XOAuth2 => sasl(
                    "XOAUTH2",
                    format!("user={user}\x01auth=Bearer {secret}\x01\x01"),
                    "",
                ),
                AuthMechanism::OAuthBearer => sasl(
                    "OAUTHBEARER",
                    format!("n,a={user},\x01auth=Bearer {secret}\x01\x01"),
                    "\x01",
                ),
                // RFC 4616: the identity to act as (none: the user
                // itself), the one to log in as, the password.
                _ => sasl(
                    "PLAIN",
                    format!("{}\0{}\0{secret}", authorize_as.0, authorize_as.1),
                    "",
                ),
            };
            tokio::time::timeout(timeout, client.authenticate(name, authenticator)).await
        }
    }
    .map(|r| r.map_err(|(e, _)| e));
    match result {
        Err(_) => Err(exit::unreachable(format!(
            "{label}: no answer to the login within {} s",
            timeout.as_secs()
        ))),
        Ok(Ok(session)) => Ok(session),
        // The server's own words, never the password (it may quote it).
        Ok(Err(e)) => {
            let said_of_token = challenge
                .lock()
                .unwrap()
                .take()
                .map(|json: String| format!("; about the token it said {json}"))
                .unwrap_or_default();
            let text = format!(
                "login to {label} failed: {}{said_of_token}",
                password.redact(user, &server_text(&e))
            );
            match &e {
                // The raw reply keeps the response code server_text drops.
                async_imap::error::Error::No(raw) | async_imap::error::Error::Bad(raw) => {
                    Err(exit::login_failed(text, raw))
                }
                // A connection lost while logging in says nothing about
                // the credentials.
                _ => Err(exit::unreachable(text)),
            }
        }
    }
}

/// A one-step SASL exchange (PLAIN, XOAUTH2, OAUTHBEARER): the message
/// once; to an error challenge (XOAUTH2 and OAUTHBEARER send `+ <json>`
/// when they refuse a token) the mechanism's answer that ends the
/// exchange, after which the server gives its final NO. The challenge is
/// kept, to show the user (`{"status":"401","schemes":"bearer",…}`).
struct Sasl {
    message: Option<String>,
    after_error: &'static str,
    challenge: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Sasl {
    fn new(
        message: String,
        after_error: &'static str,
        challenge: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    ) -> Sasl {
        Sasl {
            message: Some(message),
            after_error,
            challenge,
        }
    }
}

impl Authenticator for Sasl {
    type Response = Vec<u8>;
    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        match self.message.take() {
            Some(message) => message.into_bytes(),
            None => {
                let text = String::from_utf8_lossy(challenge);
                *self.challenge.lock().unwrap() =
                    Some(crate::report::sanitize(text.trim()).into_owned());
                self.after_error.as_bytes().to_vec()
            }
        }
    }
}

fn listed(name: &async_imap::types::Name) -> ListedFolder {
    let mut selectable = true;
    let mut childless = false;
    let mut special_use = None;
    for attribute in name.attributes() {
        match attribute {
            NameAttribute::NoSelect => selectable = false,
            NameAttribute::NoInferiors => childless = true,
            NameAttribute::Extension(ext) if ext.eq_ignore_ascii_case("\\NonExistent") => {
                selectable = false
            }
            NameAttribute::Sent => special_use = Some("\\Sent"),
            NameAttribute::Drafts => special_use = Some("\\Drafts"),
            NameAttribute::Trash => special_use = Some("\\Trash"),
            NameAttribute::Junk => special_use = Some("\\Junk"),
            NameAttribute::Archive => special_use = Some("\\Archive"),
            _ => {}
        }
    }
    ListedFolder {
        name: list_name(name),
        delimiter: name
            .delimiter()
            .and_then(|d| unescape_quoted(d).chars().next()),
        selectable,
        childless,
        special_use,
    }
}

/// A LIST name as the server meant it. async-imap hands out a quoted
/// string's text still escaped, and a literal's bytes as they are: only the
/// first is unescaped (`{10}` then `back\slash` is a name with a backslash).
fn list_name(name: &async_imap::types::Name) -> String {
    let text = name.name();
    let raw: &[u8] = name.borrow_owner().borrow_owner();
    // Where the name sits in the response tells how it was sent; a name
    // that is not a slice of it (bytes that were not UTF-8) is judged by
    // the response's shape.
    let start = (text.as_ptr() as usize).wrapping_sub(raw.as_ptr() as usize);
    let sent_as_literal = if start <= raw.len() && start > 0 {
        raw[start - 1] == b'\n'
    } else {
        raw.windows(3).any(|w| w == b"}\r\n")
    };
    if sent_as_literal {
        text.to_string()
    } else {
        unescape_quoted(text)
    }
}

/// Undoes quoted-string escaping (`\\` and `\"`), which async-imap leaves in.
pub fn unescape_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next) => out.push(next),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// An IMAP quoted string.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// True for a flag that can be sent as an atom (system flag or keyword).
pub(super) fn is_atom(flag: &str) -> bool {
    let name = flag.strip_prefix('\\').unwrap_or(flag);
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b > 0x20 && b < 0x7f && !b"(){%*\"\\]".contains(&b))
}

/// A compact UID set: `1:5,7,9:12` (input in any order).
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// INTERNALDATE syntax (RFC 3501 `date-time`), in UTC: `01-Jan-2020 10:00:00 +0000`.
pub fn imap_date(time: SystemTime) -> String {
    let (year, month, day, hours, minutes, seconds) = date::utc_parts(time);
    format!(
        "{day:02}-{}-{year:04} {hours:02}:{minutes:02}:{seconds:02} +0000",
        date::MONTHS[(month - 1) as usize]
    )
}

/// The UIDs of a UID set from a response code, in its order.
fn expand(members: &[UidSetMember]) -> impl Iterator<Item = u32> + '_ {
    members.iter().flat_map(|m| match m {
        UidSetMember::Uid(uid) => *uid..=*uid,
        UidSetMember::UidRange(range) => range.clone(),
    })
}

fn append_answer(status: &Status, outcome: &imap_proto::rfc3501::Outcome<'_>) -> Appended {
    match status {
        Status::Ok => {
            // RFC 4315: one UID per message appended, in order (a set for
            // MULTIAPPEND); keep the first here, `resolve` hands them out.
            let uids = match &outcome.code {
                Some(ResponseCode::AppendUid(_, members)) => members
                    .iter()
                    .flat_map(|m| match m {
                        UidSetMember::Uid(uid) => *uid..=*uid,
                        UidSetMember::UidRange(range) => range.clone(),
                    })
                    .take(GROUP_MESSAGES)
                    .collect(),
                _ => Vec::new(),
            };
            Appended::Stored(uids)
        }
        // Response codes the parser does not know ([OVERQUOTA], [LIMIT]…)
        // stay at the start of the text.
        _ => Appended::Rejected(format!(
            "the server refused the message: {}",
            outcome.information.as_deref().unwrap_or("NO")
        )),
    }
}

/// The server's explanation in an async-imap error, cut short: the crate
/// embeds whole buffers (up to 512 MiB) in parse errors.
fn server_text(e: &async_imap::error::Error) -> String {
    let text = match e {
        async_imap::error::Error::No(t) | async_imap::error::Error::Bad(t) => t.clone(),
        other => other.to_string(),
    };
    // NO/BAD texts come as `code: …, info: Some("…")`, or from a SELECT as
    // `outcome: Outcome { code: …, information: Some("…") }`: keep the
    // server's words.
    let text = match text
        .split_once("info: Some(\"")
        .or_else(|| text.split_once("information: Some(\""))
    {
        Some((_, rest)) => rest
            .strip_suffix("\") }")
            .or_else(|| rest.strip_suffix("\")"))
            .unwrap_or(rest)
            .replace("\\\"", "\""),
        None => text,
    };
    // A reply the parser rejects (Dovecot echoes a folder name holding a
    // newline raw) comes as a debug dump of the parser state, then the reply.
    let text = match text.split_once(" during parsing of ") {
        Some((_, reply)) => format!("the server's reply is not valid IMAP: {reply}"),
        None => text,
    };
    let mut short: String = text.chars().take(300).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// A failed command: NO/BAD are the server's answer; anything else means the
/// session can no longer be trusted.
fn protocol_error(e: async_imap::error::Error) -> anyhow::Error {
    match e {
        async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
            let text = server_text(&e);
            let refused = Refused(format!("the server refused: {text}"));
            // A refusal that asks to slow down is retried after a wait (or
            // stops the run until later), not taken for a folder's failure.
            match crate::throttle::later(&text) {
                Some(throttled) => throttled.context(refused),
                None => refused.into(),
            }
        }
        // async-imap says `io: bytes remaining in stream` for this.
        async_imap::error::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Disconnected("the server closed the connection in the middle of an answer".into())
                .into()
        }
        // async-imap says `… during parsing of "<reply>"` for this.
        async_imap::error::Error::Io(io)
            if io.kind() == std::io::ErrorKind::Other
                && io.to_string().contains(" during parsing of ") =>
        {
            Unparsable(server_text(&async_imap::error::Error::Io(io))).into()
        }
        other => Disconnected(format!("IMAP connection failed: {}", server_text(&other))).into(),
    }
}

/// Marks a reply that could not be parsed, on a connection that was fine:
/// the server's answer (asking again gets the same), not a reason to
/// reconnect and retry. The session cannot be used again, though:
/// `ImapClient` replaces it before the next folder.
#[derive(Debug)]
pub struct Unparsable(pub String);

fn is_unparsable(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<Unparsable>())
}

impl std::fmt::Display for Unparsable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Unparsable {}

fn folder_error(e: async_imap::error::Error, name: &str) -> anyhow::Error {
    protocol_error(e).context(format!("folder `{name}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_ended_mid_answer_is_said_plainly_and_retried() {
        let cut = std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "bytes remaining in stream",
        );
        let err = protocol_error(async_imap::error::Error::Io(cut));
        assert!(crate::error::is_disconnected(&err));
        assert_eq!(
            err.to_string(),
            "the server closed the connection in the middle of an answer"
        );
    }

    #[test]
    fn an_unparsable_reply_is_the_servers_answer_not_a_lost_connection() {
        let unparsed = std::io::Error::other(
            "Error(Error { input: [10], code: Tag }) during parsing of \"A1 NO x\\ny\\r\\n\"",
        );
        let err = protocol_error(async_imap::error::Error::Io(unparsed));
        assert!(!crate::error::is_disconnected(&err), "{err:#}");
        assert!(err.chain().any(|c| c.is::<Unparsable>()));
        assert_eq!(
            err.to_string(),
            "the server's reply is not valid IMAP: \"A1 NO x\\ny\\r\\n\""
        );
    }

    #[test]
    fn uid_sets_are_compact_ranges() {
        let cases: [(&[u32], &str); 5] = [
            (&[1], "1"),
            (&[1, 2, 3], "1:3"),
            (&[5, 1, 2, 3, 9, 7, 8], "1:3,5,7:9"),
            (&[4, 4, 4], "4"),
            (&[10, 12], "10,12"),
        ];
        for (uids, expected) in cases {
            assert_eq!(uid_set(uids), expected);
        }
    }

    #[test]
    fn quoting_round_trips_through_unescaping() {
        for name in ["INBOX", "Sp ace \"q\"", "back\\slash", ""] {
            let quoted = quote(name);
            assert_eq!(unescape_quoted(&quoted[1..quoted.len() - 1]), name);
        }
    }

    #[test]
    fn internal_dates_are_rfc3501_date_times() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_872_800);
        assert_eq!(imap_date(t), "01-Jan-2020 10:00:00 +0000");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_868_799);
        assert_eq!(imap_date(t), "29-Feb-2000 23:59:59 +0000");
    }

    #[test]
    fn refusals_show_the_server_text_in_both_forms_async_imap_gives() {
        use async_imap::error::Error;
        let cases = [
            "code: None, info: Some(\"Mailbox doesn't exist: x\")",
            "outcome: Outcome { code: None, information: Some(\"Mailbox doesn't exist: x\") }",
        ];
        for case in cases {
            assert_eq!(
                server_text(&Error::No(case.into())),
                "Mailbox doesn't exist: x"
            );
        }
        let unparsed = Error::Io(std::io::Error::other(
            "Error(Error { input: [10], code: Tag }) during parsing of \"A1 NO x\\ny\\r\\n\"",
        ));
        assert_eq!(
            server_text(&unparsed),
            "the server's reply is not valid IMAP: \"A1 NO x\\ny\\r\\n\""
        );
    }

    #[test]
    fn only_atoms_are_sent_as_flags() {
        assert!(is_atom("\\Seen") && is_atom("$Label1") && is_atom("Junk"));
        assert!(!is_atom("has space") && !is_atom("par(en") && !is_atom("") && !is_atom("\\"));
    }
}
