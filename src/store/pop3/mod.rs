//! POP3 accounts, as a source: one folder, INBOX.
//!
//! A message is known by its UIDL; the checkpoint keeps the UIDLs delivered
//! (with the day they were first delivered, for `--delete-after`) and drops
//! those no longer on the server, so it stays bounded. When dedup is on,
//! `TOP n 0` headers are read first and messages the destination already
//! holds are never downloaded. RETR and TOP are pipelined when the server
//! advertises PIPELINING. Nothing is deleted unless asked, and then only
//! messages that are stored and recorded: DELE, then QUIT, whose answer
//! says the server committed the deletions. A session that ends any other
//! way deletes nothing.

pub mod client;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};

use crate::checkpoint::{Done, FolderProgress};
use crate::fingerprint::Fingerprint;
use crate::folder::FolderName;
use crate::message::{Flags, Form, Message, SourceKey};
use crate::report;
use crate::store::{
    Capabilities, Fetched, FingerprintSet, FolderStats, FolderStatus, Outbox, Source, SourceOptions,
};

pub use client::{Pop3Auth, Pop3Client, Pop3Login};

/// Messages whose headers are read (TOP) before bodies are fetched, per
/// round; each round drains the pipeline once, so rounds are long.
const ROUND: usize = 2048;

pub struct Pop3 {
    /// `None` once the session ended with QUIT.
    client: Option<Pop3Client>,
    options: SourceOptions,
    /// Every message on the server: number, key, size.
    messages: Vec<Listed>,
    /// Indexes into `messages` still to copy, in server order.
    pending: Vec<usize>,
}

struct Listed {
    number: u32,
    /// The UIDL, or for servers without UIDL a key made from the headers.
    id: String,
    size: u64,
}

impl Pop3 {
    pub async fn connect(login: &Pop3Login, options: SourceOptions) -> Result<Pop3> {
        // Its errors name the server (`user@host:port`).
        let client = Pop3Client::connect(login).await?;
        Ok(Pop3 {
            client: Some(client),
            options,
            messages: Vec::new(),
            pending: Vec::new(),
        })
    }

    /// For servers without UIDL: a key per message from its headers.
    async fn ids_from_headers(&mut self, sizes: &HashMap<u32, u64>) -> Result<Vec<(u32, String)>> {
        let mut numbers: Vec<u32> = sizes.keys().copied().collect();
        numbers.sort_unstable();
        let mut ids = Vec::with_capacity(numbers.len());
        let commands: Vec<(u32, String)> = numbers.iter().map(|&n| (n, top(n))).collect();
        self.client()?
            .pipelined(&commands, |number, headers| {
                if let Ok(headers) = headers {
                    ids.push((number, format!("headers:{}", Fingerprint::of(&headers))));
                }
                async { true }
            })
            .await?;
        Ok(ids)
    }

    fn client(&mut self) -> Result<&mut Pop3Client> {
        self.client
            .as_mut()
            .ok_or_else(|| anyhow!("the POP3 session has ended"))
    }
}

/// What a POP3 account can do: one folder, messages known by UIDL, deletion
/// at the source, and per-run limits; it is never a destination.
pub fn capabilities() -> Capabilities {
    Capabilities {
        noun: "a POP3 server",
        single_folder: None,
        deletes_at_source: true,
        is_maildrop: true,
        form: Form::Wire,
        keeps_unnamed_keyword_letters: false,
        special_use: false,
        stable_message_keys: true,
        fingerprints_first: true,
        mirrors_from: false,
        updates_flags: false,
        deletes_at_destination: false,
        copies_within: false,
        has_other_writers: false,
    }
}

impl Source for Pop3 {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    /// A POP3 account has one folder.
    async fn folders(&mut self) -> Result<Vec<FolderName>> {
        Ok(vec![FolderName::inbox()])
    }

    async fn open(
        &mut self,
        folder: &FolderName,
        progress: &FolderProgress,
    ) -> Result<FolderStatus> {
        if !folder.is_inbox() {
            return Err(anyhow!("a POP3 account has only INBOX, not `{folder}`"));
        }
        let client = self.client()?;
        let ids = match client.uidl().await? {
            Some(ids) => ids,
            None => {
                report::warn(&format!(
                    "{} has no UIDL: messages are recognised by their headers (TOP n 0), which is slower",
                    client.label()
                ));
                let sizes: HashMap<u32, u64> = client.list().await?.into_iter().collect();
                self.ids_from_headers(&sizes).await?
            }
        };
        self.messages = ids
            .into_iter()
            .map(|(number, id)| Listed {
                number,
                size: 0,
                id,
            })
            .collect();
        let delivered = match &progress.done {
            Done::Uidls { delivered } => delivered.clone(),
            _ => Default::default(),
        };
        let present: std::collections::HashSet<&str> =
            self.messages.iter().map(|m| m.id.as_str()).collect();
        let mut status = FolderStatus {
            vanished: delivered
                .keys()
                .filter(|id| !present.contains(id.as_str()))
                .map(|id| SourceKey::Uidl(id.clone()))
                .collect(),
            ..FolderStatus::default()
        };
        let now = unix_now();
        self.pending.clear();
        for (index, message) in self.messages.iter().enumerate() {
            match delivered.get(&message.id) {
                None => self.pending.push(index),
                Some(&first_delivered) => {
                    let delete = self.options.delete
                        || self.options.delete_after.is_some_and(|keep| {
                            now.saturating_sub(first_delivered) >= keep.as_secs()
                        });
                    if delete {
                        status
                            .done_but_present
                            .push(SourceKey::Uidl(message.id.clone()));
                    }
                }
            }
        }
        // Sizes only matter for messages to fetch; a server may have to read
        // every file to answer LIST, so a run with nothing new skips it.
        if !self.pending.is_empty() {
            let sizes: HashMap<u32, u64> = self.client()?.list().await?.into_iter().collect();
            for message in &mut self.messages {
                message.size = sizes.get(&message.number).copied().unwrap_or(0);
            }
        }
        status.pending = Some(self.pending.len() as u64);
        Ok(status)
    }

    async fn fetch(
        &mut self,
        _progress: &FolderProgress,
        known: &FingerprintSet,
        out: &Outbox,
    ) -> Result<()> {
        // Per-run limits for slow links: the rest waits for the next run.
        let mut chosen = Vec::new();
        let mut bytes = 0u64;
        for &index in &self.pending {
            let message = &self.messages[index];
            if self
                .options
                .max_messages
                .is_some_and(|max| chosen.len() as u64 >= max)
            {
                break;
            }
            if self
                .options
                .max_bytes
                .is_some_and(|max| !chosen.is_empty() && bytes + message.size > max)
            {
                break;
            }
            // POP3 has no internal date: only the size filter applies.
            if self
                .options
                .filters
                .max_size
                .is_some_and(|max| message.size > max)
            {
                continue;
            }
            bytes += message.size;
            chosen.push(index);
        }
        let ids: HashMap<u32, String> = self
            .messages
            .iter()
            .map(|m| (m.number, m.id.clone()))
            .collect();
        let closed = AtomicBool::new(false);
        for round in chosen.chunks(ROUND) {
            let numbers: Vec<u32> = round.iter().map(|&i| self.messages[i].number).collect();
            // 1. Headers first, so duplicates are never downloaded.
            let mut wanted = Vec::with_capacity(numbers.len());
            if self.options.dedup && !known.is_empty() {
                let mut duplicates = Vec::new();
                let commands: Vec<(u32, String)> = numbers.iter().map(|&n| (n, top(n))).collect();
                self.client()?
                    .pipelined(&commands, |number, headers| {
                        let fingerprint = headers
                            .ok()
                            .map(|h| Fingerprint::of(&h))
                            .filter(|f| f.message_id().is_some() && known.contains(f));
                        match fingerprint {
                            Some(fp) => duplicates.push((number, fp)),
                            None => wanted.push(number),
                        }
                        async { true }
                    })
                    .await?;
                for (number, fingerprint) in duplicates {
                    let key = SourceKey::Uidl(ids[&number].clone());
                    if out
                        .send(Fetched::Duplicate(key, fingerprint))
                        .await
                        .is_err()
                    {
                        return Ok(());
                    }
                }
            } else {
                wanted = numbers.clone();
            }
            // 2. Bodies, streamed into the pipeline as they arrive.
            let form = self.options.form;
            let commands: Vec<(u32, String)> =
                wanted.iter().map(|&n| (n, format!("RETR {n}"))).collect();
            self.client()?
                .pipelined(&commands, |number, body| {
                    let key = SourceKey::Uidl(ids[&number].clone());
                    let item = match body {
                        Ok(raw) => Fetched::Message(Message::from_server(
                            key,
                            &raw,
                            form,
                            Flags::default(),
                            None,
                        )),
                        Err(e) => Fetched::Failed(key, e.context("the server refused RETR")),
                    };
                    let closed = &closed;
                    async move {
                        if out.send(item).await.is_err() {
                            closed.store(true, Ordering::Relaxed);
                            return false;
                        }
                        true
                    }
                })
                .await?;
            if closed.load(Ordering::Relaxed) {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn stats(&mut self) -> Result<FolderStats> {
        let (messages, bytes) = self.client()?.stat().await?;
        Ok(FolderStats {
            messages: u64::from(messages),
            bytes,
        })
    }

    /// DELE for every key, then QUIT: the server commits the deletions only
    /// at QUIT, so a run that dies before it deletes nothing.
    async fn delete(&mut self, keys: &[SourceKey]) -> Result<()> {
        let numbers: HashMap<&str, u32> = self
            .messages
            .iter()
            .map(|m| (m.id.as_str(), m.number))
            .collect();
        let mut chosen: Vec<u32> = keys
            .iter()
            .filter_map(|k| match k {
                SourceKey::Uidl(id) => numbers.get(id.as_str()).copied(),
                _ => None,
            })
            .collect();
        chosen.sort_unstable();
        chosen.dedup();
        let mut client = self
            .client
            .take()
            .ok_or_else(|| anyhow!("the POP3 session has ended"))?;
        client.delete(&chosen).await?;
        client.quit().await
    }

    /// Ends the session with QUIT, unless `delete` already did. No message
    /// is marked for deletion here, so the server deletes nothing.
    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), client.quit()).await;
        }
    }
}

/// The headers of message `n`, without body lines.
fn top(number: u32) -> String {
    format!("TOP {number} 0")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}
