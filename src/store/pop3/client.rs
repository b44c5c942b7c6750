//! A POP3 client (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595), SASL
//! (RFC 5034) and pipelining, on tokio.
//!
//! No POP3 crate was fit to carry mail (one keeps stuffed `..` lines, drops
//! the final CRLF and caps messages at 20 MiB), so this is ours. Its rules:
//! bytes, never `String`, for message data; a multi-line response ends at a
//! line that is exactly `.` (CRLF or, from broken servers, bare LF); a line
//! starting with `..` loses one dot; no size cap; every read has a deadline;
//! `-ERR` texts (with RFC 3206 codes such as `[IN-USE]`) reach the user.
//!
//! The parser is a pure function over bytes (`MultiLine`), so it is tested
//! on recorded transcripts without a server.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::endpoint::{Remote, Tls};
use crate::error::Disconnected;
use crate::exit;
use crate::net::{self, deadline, Stream, TlsOptions};
use crate::report;
use crate::secret::{base64, Secret};

/// Bytes read from the server at a time.
const READ_BUFFER: usize = 256 * 1024;

/// Commands in flight with PIPELINING (RFC 2449).
const PIPELINE_WINDOW: usize = 128;

/// A single response line longer than this is not POP3.
const MAX_LINE: usize = 64 * 1024;

/// How to log in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pop3Auth {
    /// AUTH PLAIN when offered, else USER/PASS.
    #[default]
    Auto,
    UserPass,
    Plain,
    /// APOP (RFC 1939 §7), only when the greeting offers a timestamp.
    Apop,
    XOAuth2,
}

/// Everything needed to open one authenticated session.
#[derive(Clone, Debug)]
pub struct Pop3Login {
    pub remote: Remote,
    pub user: String,
    /// Log in as this administrator and act as `user` (SASL PLAIN).
    pub admin: Option<String>,
    pub secret: Secret,
    /// An OAuth2 sign-in, whose access tokens replace `secret`.
    pub tokens: Option<std::sync::Arc<crate::oauth::TokenSource>>,
    pub auth: Pop3Auth,
    pub tls: TlsOptions,
    pub plaintext: bool,
    pub timeout: Duration,
}

/// An authenticated POP3 session in the TRANSACTION state.
pub struct Pop3Client {
    stream: BufReader<Stream>,
    capabilities: HashSet<String>,
    timeout: Duration,
    label: String,
}

/// One line of a multi-line response, after dot-unstuffing.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A data line, with its line ending as the server sent it.
    Data(Vec<u8>),
    /// The terminating `.` line.
    End,
}

/// How errors name a POP3 account: `user@host:port`.
fn label_of(login: &Pop3Login) -> String {
    format!("{}@{}:{}", login.user, login.remote.host, login.remote.port)
}

impl Pop3Client {
    pub async fn connect(login: &Pop3Login) -> Result<Pop3Client> {
        match &login.tokens {
            Some(tokens) => {
                crate::oauth::log_in_with(tokens, |token| async move {
                    Pop3Client::connect_with(login, &token).await
                })
                .await
            }
            None => Pop3Client::connect_with(login, &login.secret).await,
        }
    }

    async fn connect_with(login: &Pop3Login, secret: &Secret) -> Result<Pop3Client> {
        let remote = &login.remote;
        let label = format!("{}@{}:{}", login.user, remote.host, remote.port);
        let timeout = login.timeout;
        let tcp = net::connect_tcp(&remote.host, remote.port, timeout).await?;
        let plain_url = format!("pop3://{}@{}:{}", login.user, remote.host, remote.port);
        let tls_url = format!("pop3s://{}@{}:{}", login.user, remote.host, remote.port);
        let stream = match remote.tls {
            Tls::Implicit => {
                net::start_tls(tcp, &remote.host, &login.tls, timeout, &plain_url).await?
            }
            Tls::StartTls => Stream::plain(tcp),
        };
        let mut client = Pop3Client {
            stream: BufReader::with_capacity(READ_BUFFER, stream),
            capabilities: HashSet::new(),
            timeout,
            label,
        };
        let greeting = client.status_line("waiting for the greeting");
        let greeting = match remote.tls {
            Tls::Implicit => greeting.await,
            Tls::StartTls => {
                net::plain_greeting(greeting, &remote.host, remote.port, &tls_url).await
            }
        }
        .map_err(|e| {
            if exit::classify(&e) == exit::ExitCode::Unreachable {
                return e;
            }
            let text = format!("{}: {e:#}", label_of(login));
            exit::turned_away(text.clone(), &text)
        })?;
        let apop_timestamp = apop_timestamp(&greeting);
        client.read_capabilities().await;
        if remote.tls == Tls::StartTls {
            if login.plaintext {
                if !net::is_loopback(&remote.host) {
                    return Err(exit::usage(format!(
                        "refusing to send a password unencrypted to {}: --tls none is only allowed for loopback addresses",
                        remote.host
                    )));
                }
            } else {
                client = client.start_tls(login).await?;
            }
        }
        client.enable_utf8().await;
        client
            .authenticate(login, secret, apop_timestamp.as_deref())
            .await?;
        // Some servers only list PIPELINING and friends after login.
        client.read_capabilities().await;
        report::debug(&format!(
            "{} capabilities: {}",
            client.label,
            client
                .capabilities
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        ));
        Ok(client)
    }

    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.contains(&capability.to_ascii_uppercase())
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// CAPA; a server without it simply has no capabilities we rely on.
    async fn read_capabilities(&mut self) {
        let result: Result<HashSet<String>> = async {
            self.send("CAPA").await?;
            self.status_line("asking for capabilities").await?;
            let mut capabilities = HashSet::new();
            for line in self.multi_line("asking for capabilities").await? {
                add_capability(&line, &mut capabilities);
            }
            Ok(capabilities)
        }
        .await;
        self.capabilities = result.unwrap_or_default();
    }

    /// UTF8 (RFC 6856 §2), in the AUTHORIZATION state, when offered. Without
    /// it a server may serve a message whose headers hold raw UTF-8 as
    /// something else: Courier replaces it with a made-up "Cannot display
    /// Unicode content" wrapper, new on every download, so the message
    /// would be neither kept nor recognised again. A refusal changes nothing.
    async fn enable_utf8(&mut self) {
        if !self.has("UTF8") {
            return;
        }
        let result = async {
            self.send("UTF8").await?;
            self.status_line("enabling UTF-8").await
        }
        .await;
        if let Err(e) = result {
            report::debug(&format!("{}: UTF8 was refused: {e:#}", self.label));
        }
    }

    async fn start_tls(mut self, login: &Pop3Login) -> Result<Pop3Client> {
        if !self.has("STLS") {
            return Err(exit::unreachable(format!(
                "{} does not offer STLS; use pop3s:// or, on loopback only, --tls none",
                self.label
            )));
        }
        self.send("STLS").await?;
        self.status_line("starting TLS")
            .await
            .map_err(|e| exit::unreachable(format!("{}: STLS failed: {e:#}", self.label)))?;
        if !self.stream.buffer().is_empty() {
            // RFC 2595 §4: nothing may follow +OK before the handshake.
            bail!(exit::EndpointError(format!(
                "{} sent data after STLS; refusing to continue",
                self.label
            )));
        }
        let Some(tcp) = self.stream.into_inner().into_plain() else {
            unreachable!("the stream was plain before STLS")
        };
        let plain_url = label_of(login);
        let tls = net::start_tls(
            tcp,
            &login.remote.host,
            &login.tls,
            login.timeout,
            &plain_url,
        )
        .await?;
        let mut client = Pop3Client {
            stream: BufReader::with_capacity(READ_BUFFER, tls),
            capabilities: HashSet::new(),
            timeout: self.timeout,
            label: self.label,
        };
        // RFC 2595 §4: capabilities may differ once encrypted.
        client.read_capabilities().await;
        Ok(client)
    }

    async fn authenticate(
        &mut self,
        login: &Pop3Login,
        password: &Secret,
        apop_timestamp: Option<&str>,
    ) -> Result<()> {
        let user = &login.user;
        let secret = password.expose();
        let mut said_of_token = String::new();
        let mechanism = match login.auth {
            Pop3Auth::Auto if login.tokens.is_some() => Pop3Auth::XOAuth2,
            Pop3Auth::Auto if self.has("SASL=PLAIN") => Pop3Auth::Plain,
            Pop3Auth::Auto if login.admin.is_some() => {
                return Err(exit::unreachable(format!(
                    "{} does not offer SASL PLAIN, which an administrator login needs \
                     (with Dovecot, log in as `USER*ADMIN` instead)",
                    self.label
                )))
            }
            Pop3Auth::Auto => Pop3Auth::UserPass,
            chosen => chosen,
        };
        if login.admin.is_some() && mechanism != Pop3Auth::Plain {
            return Err(exit::usage(format!(
                "an administrator login to {} uses SASL PLAIN; drop the other --auth",
                self.label
            )));
        }
        let result = match mechanism {
            Pop3Auth::Plain => {
                let (act_as, log_in_as) = match &login.admin {
                    Some(admin) => (user.as_str(), admin.as_str()),
                    None => ("", user.as_str()),
                };
                let token = base64(format!("{act_as}\0{log_in_as}\0{secret}").as_bytes());
                self.send_secret(&format!("AUTH PLAIN {token}")).await?;
                self.status_line("logging in").await
            }
            Pop3Auth::XOAuth2 => {
                let token =
                    base64(format!("user={user}\x01auth=Bearer {secret}\x01\x01").as_bytes());
                self.send_secret(&format!("AUTH XOAUTH2 {token}")).await?;
                match self.status_line("logging in").await {
                    // An error challenge (`+ base64 json`) wants an empty answer first.
                    Err(e) if e.to_string().starts_with("challenge") => {
                        let json = e.to_string()["challenge".len()..].trim().to_owned();
                        if let Some(json) = crate::secret::base64_decode(&json) {
                            said_of_token = format!(
                                "; about the token it said {}",
                                report::sanitize(&String::from_utf8_lossy(&json))
                            );
                        }
                        self.send("").await?;
                        self.status_line("logging in").await
                    }
                    other => other,
                }
            }
            Pop3Auth::Apop => {
                let timestamp = apop_timestamp.ok_or_else(|| {
                    exit::unreachable(format!("{} does not offer APOP", self.label))
                })?;
                let digest = md5_hex(format!("{timestamp}{secret}").as_bytes());
                self.send_secret(&format!("APOP {user} {digest}")).await?;
                self.status_line("logging in").await
            }
            Pop3Auth::UserPass | Pop3Auth::Auto => {
                self.send(&format!("USER {user}")).await?;
                match self.status_line("logging in").await {
                    Ok(_) => {
                        self.send_secret(&format!("PASS {secret}")).await?;
                        self.status_line("logging in").await
                    }
                    Err(e) => Err(e),
                }
            }
        };
        result
            .map(|_| ())
            // The server's own words, never the secret it may quote.
            .map_err(|e| {
                let text = password.redact(user, &format!("{e:#}"));
                let text = format!("login to {} failed: {text}{said_of_token}", self.label);
                // A connection lost while logging in says nothing about
                // the credentials.
                if e.chain().any(|cause| cause.is::<Disconnected>()) {
                    exit::unreachable(text)
                } else {
                    exit::login_failed(text.clone(), &text)
                }
            })
    }

    /// STAT: message count and total size.
    pub async fn stat(&mut self) -> Result<(u32, u64)> {
        self.send("STAT").await?;
        let line = self.status_line("asking for the mailbox size").await?;
        parse_stat(&line)
    }

    /// LIST: (message number, size) of every message.
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>> {
        self.send("LIST").await?;
        self.status_line("listing messages").await?;
        self.multi_line("listing messages")
            .await?
            .iter()
            .map(|line| parse_list_line(line))
            .collect()
    }

    /// UIDL: (message number, unique id) of every message; `None` when the
    /// server has no UIDL.
    pub async fn uidl(&mut self) -> Result<Option<Vec<(u32, String)>>> {
        self.send("UIDL").await?;
        if self.status_line("listing unique ids").await.is_err() {
            return Ok(None);
        }
        self.multi_line("listing unique ids")
            .await?
            .iter()
            .map(|line| parse_uidl_line(line))
            .collect::<Result<_>>()
            .map(Some)
    }

    /// Sends multi-line commands (`RETR n`, `TOP n 0`), each for message
    /// `n`, in windows without waiting for answers when the server offers
    /// PIPELINING (RFC 2449), handing each whole answer, dot-unstuffed, to
    /// `each` in order. `each` returns false to stop.
    pub async fn pipelined<F, Fut>(&mut self, commands: &[(u32, String)], mut each: F) -> Result<()>
    where
        F: FnMut(u32, Result<Vec<u8>>) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        // Commands are a few bytes each, so a deep window costs nothing and
        // keeps the link busy: with 20 ms of round trip and small messages,
        // a window of 16 lost 39% of the rate.
        let window = if self.has("PIPELINING") {
            PIPELINE_WINDOW
        } else {
            1
        };
        let mut sent = 0;
        let mut answered = 0;
        // An -ERR counts as this message refused only once the session is
        // known to be alive: servers that shut down answer the command in
        // flight with `-ERR [SYS/TEMP]` and hang up, and that message must be
        // retried after reconnecting, not failed.
        let mut refused: Vec<(u32, anyhow::Error)> = Vec::new();
        // A link that breaks while commands are sent may still have brought
        // the answers to those sent before: they are read (and their
        // messages kept) before the error is returned, or a link that drops
        // every few hundred KB would lose the whole window each time.
        let mut send_error: Option<anyhow::Error> = None;
        while answered < commands.len() {
            if send_error.is_none() {
                while sent < commands.len() && sent - answered < window {
                    if let Err(e) = self.send_buffered(&commands[sent].1).await {
                        send_error = Some(e);
                        break;
                    }
                    sent += 1;
                }
                if send_error.is_none() {
                    if let Err(e) = self.flush().await {
                        send_error = Some(e);
                    }
                }
            }
            if answered == sent {
                if let Some(e) = send_error {
                    return Err(e);
                }
            }
            let number = commands[answered].0;
            answered += 1;
            let body = match self.status_line("reading a message").await {
                Ok(_) => self
                    .multi_line_joined("reading a message")
                    .await
                    .map_err(|e| after_refusals(e, &refused))?,
                Err(e) if crate::error::is_disconnected(&e) => {
                    return Err(after_refusals(e, &refused))
                }
                Err(e) => {
                    refused.push((number, e));
                    continue;
                }
            };
            let mut go_on = true;
            for (number, e) in refused.drain(..) {
                go_on &= each(number, Err(e)).await;
            }
            go_on &= each(number, Ok(body)).await;
            if !go_on {
                // Answers still in flight must be read before anything else is sent.
                while answered < sent {
                    answered += 1;
                    if self.status_line("reading a message").await.is_ok() {
                        self.multi_line_joined("reading a message").await?;
                    }
                }
                return Ok(());
            }
        }
        if !refused.is_empty() {
            self.send("NOOP")
                .await
                .map_err(|e| after_refusals(e, &refused))?;
            self.status_line("checking the session")
                .await
                .map_err(|e| {
                    after_refusals(
                        Disconnected(format!("the server ended the session: {e:#}")).into(),
                        &refused,
                    )
                })?;
            for (number, e) in refused {
                if !each(number, Err(e)).await {
                    break;
                }
            }
        }
        Ok(())
    }

    /// DELE for each message number, pipelined; the server deletes them only
    /// when the session ends with QUIT.
    pub async fn delete(&mut self, numbers: &[u32]) -> Result<()> {
        let mut errors = Vec::new();
        for chunk in numbers.chunks(if self.has("PIPELINING") { 64 } else { 1 }) {
            for n in chunk {
                self.send_buffered(&format!("DELE {n}")).await?;
            }
            self.flush().await?;
            for n in chunk {
                if let Err(e) = self.status_line("deleting a message").await {
                    if crate::error::is_disconnected(&e) {
                        return Err(e);
                    }
                    errors.push(format!("message {n}: {e:#}"));
                }
            }
        }
        if !errors.is_empty() {
            bail!("the server refused to delete: {}", errors.join("; "));
        }
        Ok(())
    }

    /// QUIT: ends the session; in the UPDATE state the server removes the
    /// messages marked with DELE, and its +OK says it did.
    pub async fn quit(mut self) -> Result<()> {
        self.send("QUIT").await?;
        self.status_line("committing deletions")
            .await
            .context("the server did not confirm the deletions at QUIT")?;
        Ok(())
    }

    async fn send(&mut self, command: &str) -> Result<()> {
        report::debug(&format!("{} C: {command}", self.label));
        self.send_buffered(command).await?;
        self.flush().await
    }

    /// Like `send`, but never logs the line (it holds a secret).
    async fn send_secret(&mut self, command: &str) -> Result<()> {
        self.send_buffered(command).await?;
        self.flush().await
    }

    async fn send_buffered(&mut self, command: &str) -> Result<()> {
        let timeout = self.timeout;
        let stream = self.stream.get_mut();
        deadline(timeout, "sending a command", async {
            stream.write_all(command.as_bytes()).await?;
            stream.write_all(b"\r\n").await?;
            Ok(())
        })
        .await
        .map_err(|e| Disconnected(format!("{e:#}")).into())
    }

    async fn flush(&mut self) -> Result<()> {
        let timeout = self.timeout;
        let stream = self.stream.get_mut();
        deadline(timeout, "sending a command", async {
            Ok(stream.flush().await?)
        })
        .await
        .map_err(|e| Disconnected(format!("{e:#}")).into())
    }

    /// Reads one raw line (terminator included); EOF is a lost connection.
    async fn read_line(&mut self, what: &str, line: &mut Vec<u8>) -> Result<()> {
        line.clear();
        let timeout = self.timeout;
        let stream = &mut self.stream;
        deadline(timeout, what, async {
            let n = stream
                .read_until(b'\n', line)
                .await
                .map_err(|e| Disconnected(format!("reading from the server: {e}")))?;
            if n == 0 {
                return Err(Disconnected("the server closed the connection".into()).into());
            }
            if !line.ends_with(b"\n") {
                return Err(
                    Disconnected("the server closed the connection mid-line".into()).into(),
                );
            }
            Ok(())
        })
        .await
    }

    /// A status line: `+OK text` gives the text, `-ERR text` an error with the
    /// server's words, a `+ challenge` an error starting with "challenge".
    async fn status_line(&mut self, what: &str) -> Result<String> {
        let mut line = Vec::new();
        self.read_line(what, &mut line).await?;
        if line.len() > MAX_LINE {
            bail!(Disconnected(
                "the server sent an overlong status line".into()
            ));
        }
        parse_status(&line)
    }

    /// The data lines of a multi-line response, each without its line end.
    async fn multi_line(&mut self, what: &str) -> Result<Vec<Vec<u8>>> {
        let mut lines = Vec::new();
        let mut line = Vec::new();
        loop {
            self.read_line(what, &mut line).await?;
            if line.len() > MAX_LINE {
                bail!(Disconnected(
                    "the server sent an overlong line in a listing".into()
                ));
            }
            match unstuff(&line) {
                Line::End => return Ok(lines),
                Line::Data(data) => lines.push(strip_line_end(&data).to_vec()),
            }
        }
    }

    /// A whole multi-line response as the message it carries: dot-unstuffed,
    /// line ends kept (no length limit: a message is as long as it is).
    async fn multi_line_joined(&mut self, what: &str) -> Result<Vec<u8>> {
        // Works on the read buffer directly, all complete lines at once: a
        // 1 GB mailbox is 13 million lines, too many for a timer and an
        // allocation each.
        let mut response = JoinedResponse::default();
        loop {
            let timeout = self.timeout;
            let buffer = match tokio::time::timeout(timeout, self.stream.fill_buf()).await {
                Err(_) => {
                    return Err(Disconnected(format!(
                        "no answer from the server within {} s while {what}",
                        timeout.as_secs()
                    ))
                    .into())
                }
                Ok(Err(e)) => {
                    return Err(Disconnected(format!("reading from the server: {e}")).into())
                }
                Ok(Ok(buffer)) => buffer,
            };
            if buffer.is_empty() {
                return Err(
                    Disconnected("the server closed the connection mid-message".into()).into(),
                );
            }
            let (consumed, finished) = response.feed(buffer);
            self.stream.consume(consumed);
            if finished {
                return Ok(response.into_message());
            }
        }
    }
}

/// A multi-line response read straight from the read buffer, one chunk at a
/// time: dot-unstuffed, line ends kept. Pure, so that a response split at any
/// byte gives the same message.
#[derive(Debug, Default)]
pub struct JoinedResponse {
    message: Vec<u8>,
    /// The start of a line that the last chunk cut off.
    partial: Vec<u8>,
}

impl JoinedResponse {
    /// Takes the lines in `buffer` up to and including the terminating `.`
    /// line. Returns how many bytes it used (all of them unless the
    /// terminator was found: bytes after it belong to the next answer) and
    /// whether the terminator was found.
    pub fn feed(&mut self, buffer: &[u8]) -> (usize, bool) {
        let mut consumed = 0;
        while let Some(newline) = buffer[consumed..].iter().position(|&b| b == b'\n') {
            let end = consumed + newline + 1;
            let line: &[u8] = if self.partial.is_empty() {
                &buffer[consumed..end]
            } else {
                self.partial.extend_from_slice(&buffer[consumed..end]);
                &self.partial
            };
            consumed = end;
            let finished = match unstuffed(line) {
                None => true,
                Some(data) => {
                    self.message.extend_from_slice(data);
                    false
                }
            };
            self.partial.clear();
            if finished {
                return (consumed, true);
            }
        }
        self.partial.extend_from_slice(&buffer[consumed..]);
        (buffer.len(), false)
    }

    /// The message read so far (all of it once `feed` found the terminator).
    pub fn into_message(self) -> Vec<u8> {
        self.message
    }
}

/// A STAT answer's text (after `+OK`): message count and total size.
pub fn parse_stat(text: &str) -> Result<(u32, u64)> {
    let mut words = text.split_whitespace();
    let count = words.next().and_then(|w| w.parse().ok());
    let size = words.next().and_then(|w| w.parse().ok());
    match (count, size) {
        (Some(count), Some(size)) => Ok((count, size)),
        _ => Err(anyhow!("the server answered STAT with `{text}`")),
    }
}

/// One line of a LIST listing (without its line end): message number and size.
pub fn parse_list_line(line: &[u8]) -> Result<(u32, u64)> {
    let text = String::from_utf8_lossy(line);
    let mut words = text.split_whitespace();
    let number = words.next().and_then(|w| w.parse().ok());
    let size = words.next().and_then(|w| w.parse().ok());
    match (number, size) {
        (Some(n), Some(s)) => Ok((n, s)),
        _ => bail!("the server sent a bad LIST line `{}`", text.trim()),
    }
}

/// One line of a UIDL listing (without its line end): message number and unique id.
pub fn parse_uidl_line(line: &[u8]) -> Result<(u32, String)> {
    let text = String::from_utf8_lossy(line);
    let mut words = text.split_whitespace();
    let number = words.next().and_then(|w| w.parse().ok());
    // RFC 1939: 1 to 70 characters in 0x21..0x7E.
    let id = words.next().filter(|id| {
        !id.is_empty() && id.len() <= 70 && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
    });
    match (number, id) {
        (Some(n), Some(id)) => Ok((n, id.to_string())),
        _ => bail!("the server sent a bad UIDL line `{}`", text.trim()),
    }
}

/// Adds what one CAPA line (without its line end) offers: the capability
/// name, upper-cased, and for `SASL PLAIN LOGIN` also `SASL=PLAIN` and
/// `SASL=LOGIN`.
pub fn add_capability(line: &[u8], capabilities: &mut HashSet<String>) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if let Some(name) = text.split_whitespace().next() {
        capabilities.insert(name.to_ascii_uppercase());
    }
    // `SASL PLAIN LOGIN` lists the mechanisms.
    if let Some(mechanisms) = text.strip_prefix("SASL ") {
        for mechanism in mechanisms.split_whitespace() {
            capabilities.insert(format!("SASL={}", mechanism.to_ascii_uppercase()));
        }
    }
}

/// Parses a status line.
/// A lost session, with the last `-ERR` the server gave before it: a
/// server shutting down says why there (`[SYS/TEMP] shutting down`), and
/// then hangs up.
fn after_refusals(e: anyhow::Error, refused: &[(u32, anyhow::Error)]) -> anyhow::Error {
    match refused.last() {
        Some((number, why)) => e.context(format!("after refusing message {number} ({why:#})")),
        None => e,
    }
}

pub fn parse_status(line: &[u8]) -> Result<String> {
    let text = String::from_utf8_lossy(strip_line_end(line)).into_owned();
    if let Some(rest) = text.strip_prefix("+OK") {
        return Ok(rest.trim().to_string());
    }
    if let Some(rest) = text.strip_prefix("-ERR") {
        let rest = rest.trim();
        if let Some(throttled) = crate::throttle::later(rest) {
            return Err(throttled.context(format!("the server said: {rest}")));
        }
        bail!(
            "the server said: {}",
            if rest.is_empty() { "-ERR" } else { rest }
        );
    }
    if let Some(rest) = text.strip_prefix('+') {
        bail!("challenge {}", rest.trim());
    }
    let shown: String = text.chars().take(100).collect();
    Err(Disconnected(format!("the server sent `{shown}`, not a POP3 answer")).into())
}

/// One line of a multi-line response: the terminator, or data with one
/// leading dot removed from a dot-stuffed line (RFC 1939 §3).
pub fn unstuff(line: &[u8]) -> Line {
    match unstuffed(line) {
        None => Line::End,
        Some(data) => Line::Data(data.to_vec()),
    }
}

/// `unstuff` without copying: `None` for the terminating `.` line.
fn unstuffed(line: &[u8]) -> Option<&[u8]> {
    if strip_line_end(line) == b"." {
        return None;
    }
    Some(line.strip_prefix(b".").unwrap_or(line))
}

fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The `<…>` timestamp of an APOP-capable greeting.
fn apop_timestamp(greeting: &str) -> Option<String> {
    let start = greeting.find('<')?;
    let end = greeting[start..].find('>')? + start;
    Some(greeting[start..=end].to_string())
}

/// MD5, for APOP only (RFC 1939 §7 defines it so; it protects nothing else here).
fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut message = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_le_bytes());
    for block in message.chunks(64) {
        let m: Vec<u32> = block
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k[i])
                .wrapping_add(m[g])
                .rotate_left(S[i]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(rotated);
        }
        state[0] = state[0].wrapping_add(a);
        state[1] = state[1].wrapping_add(b);
        state[2] = state[2].wrapping_add(c);
        state[3] = state[3].wrapping_add(d);
    }
    state
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// One exchange of a recorded session: what the client must send (a
    /// prefix), and the bytes the server answers with.
    type Step = (&'static str, &'static [u8]);

    /// Plays a recorded server session on loopback and returns its port and
    /// the task that checks what the client sent.
    async fn replay(
        greeting: &'static [u8],
        steps: Vec<Step>,
    ) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let mut socket = BufReader::new(socket);
            socket.get_mut().write_all(greeting).await.unwrap();
            let mut seen = Vec::new();
            for (expected, answer) in steps {
                let mut line = Vec::new();
                if socket.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                    break;
                }
                let line = String::from_utf8_lossy(&line).trim_end().to_string();
                assert!(
                    line.starts_with(expected),
                    "client sent `{line}`, expected `{expected}`"
                );
                seen.push(line);
                socket.get_mut().write_all(answer).await.unwrap();
            }
            // Drain whatever else the client sends, then hang up.
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(Duration::from_millis(200), socket.read_to_end(&mut rest))
                .await;
            seen
        });
        (port, task)
    }

    fn login(port: u16) -> Pop3Login {
        Pop3Login {
            remote: Remote {
                tls: Tls::StartTls,
                user: Some("me".into()),
                host: "127.0.0.1".into(),
                port,
                folder: None,
            },
            user: "me".into(),
            admin: None,
            secret: Secret::new("pw".into()),
            tokens: None,
            auth: Pop3Auth::Auto,
            tls: TlsOptions::default(),
            plaintext: true,
            timeout: Duration::from_secs(5),
        }
    }

    const CAPA: Step = ("CAPA", b"+OK\r\nUSER\r\nUIDL\r\nPIPELINING\r\n.\r\n");
    const USER: Step = ("USER me", b"+OK\r\n");
    const PASS: Step = ("PASS pw", b"+OK logged in\r\n");

    async fn retrieve(steps: Vec<Step>) -> Result<Vec<Vec<u8>>> {
        let mut script = vec![CAPA, USER, PASS, CAPA];
        script.extend(steps);
        let (port, server) = replay(b"+OK ready\r\n", script).await;
        let mut client = Pop3Client::connect(&login(port)).await?;
        let mut bodies = Vec::new();
        let commands = vec![(1, "RETR 1".to_string()), (2, "RETR 2".to_string())];
        let result = client
            .pipelined(&commands, |_, body| {
                bodies.push(body);
                async { true }
            })
            .await;
        drop(client);
        let _ = server.await;
        result?;
        bodies.into_iter().collect()
    }

    #[tokio::test]
    async fn utf8_is_turned_on_before_login_when_the_server_offers_it() {
        let capa: Step = ("CAPA", b"+OK\r\nUSER\r\nUIDL\r\nUTF8 USER\r\n.\r\n");
        let script = vec![capa, ("UTF8", b"+OK UTF8 enabled\r\n"), USER, PASS, capa];
        let (port, server) = replay(b"+OK ready\r\n", script).await;
        let client = Pop3Client::connect(&login(port)).await.unwrap();
        drop(client);
        let seen = server.await.unwrap();
        assert_eq!(seen, ["CAPA", "UTF8", "USER me", "PASS pw", "CAPA"]);
    }

    #[tokio::test]
    async fn recorded_sessions_are_read_byte_exact() {
        // Dot-stuffing, an empty line, a lone `..`, and a server that ends
        // lines with bare LF.
        let bodies = retrieve(vec![
            ("RETR 1", b"+OK 20 octets\r\nA: b\r\n\r\n..x\r\n..\r\n.\r\n"),
            ("RETR 2", b"+OK\nbare: lf\n\nbody\n.\n"),
        ])
        .await
        .unwrap();
        assert_eq!(bodies[0], b"A: b\r\n\r\n.x\r\n.\r\n");
        assert_eq!(bodies[1], b"bare: lf\n\nbody\n");
    }

    #[tokio::test]
    async fn an_err_answer_fails_one_message_and_the_session_goes_on() {
        let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut script = vec![CAPA, USER, PASS, CAPA];
        script.push(("RETR 1", b"-ERR [SYS/TEMP] message vanished\r\n"));
        script.push(("RETR 2", b"+OK\r\nok\r\n.\r\n"));
        let (port, server) = replay(b"+OK ready\r\n", script).await;
        let mut client = Pop3Client::connect(&login(port)).await.unwrap();
        let commands = vec![(1, "RETR 1".to_string()), (2, "RETR 2".to_string())];
        let seen = bodies.clone();
        client
            .pipelined(&commands, move |n, body| {
                seen.lock()
                    .unwrap()
                    .push((n, body.map_err(|e| e.to_string())));
                async { true }
            })
            .await
            .unwrap();
        let bodies = std::mem::take(&mut *bodies.lock().unwrap());
        assert!(matches!(&bodies[0], (1, Err(e)) if e.contains("[SYS/TEMP] message vanished")));
        assert_eq!(bodies[1], (2, Ok(b"ok\r\n".to_vec())));
        drop(client);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn answers_received_before_a_send_fails_are_kept() {
        // The server answers three of a full window of RETRs and resets the
        // connection: the next RETR cannot be sent, yet the three answers
        // already here are handed on before the error, so a link that drops
        // every few hundred KB still makes progress on each connection.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let mut socket = BufReader::new(socket);
            socket.get_mut().write_all(b"+OK ready\r\n").await.unwrap();
            let mut line = Vec::new();
            for (_, answer) in [CAPA, USER, PASS, CAPA] {
                socket.read_until(b'\n', &mut line).await.unwrap();
                socket.get_mut().write_all(answer).await.unwrap();
            }
            for _ in 0..PIPELINE_WINDOW {
                socket.read_until(b'\n', &mut line).await.unwrap();
            }
            socket
                .get_mut()
                .write_all(b"+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n+OK\r\nthree\r\n.\r\n")
                .await
                .unwrap();
            socket.get_ref().set_zero_linger().unwrap();
        });
        let mut client = Pop3Client::connect(&login(port)).await.unwrap();
        let commands: Vec<(u32, String)> = (1..=PIPELINE_WINDOW as u32 + 8)
            .map(|n| (n, format!("RETR {n}")))
            .collect();
        let mut bodies = Vec::new();
        let result = client
            .pipelined(&commands, |n, body| {
                bodies.push((n, body.map_err(|e| e.to_string())));
                async { true }
            })
            .await;
        server.await.unwrap();
        let err = result.expect_err("the connection was reset");
        assert!(crate::error::is_disconnected(&err), "{err:#}");
        assert_eq!(
            bodies,
            vec![
                (1, Ok(b"one\r\n".to_vec())),
                (2, Ok(b"two\r\n".to_vec())),
                (3, Ok(b"three\r\n".to_vec())),
            ]
        );
    }

    #[tokio::test]
    async fn a_hang_up_after_an_err_is_a_lost_session_that_gives_the_servers_reason() {
        let err = retrieve(vec![("RETR 1", b"-ERR [SYS/TEMP] shutting down\r\n")])
            .await
            .unwrap_err();
        assert!(crate::error::is_disconnected(&err), "{err:#}");
        let text = format!("{err:#}");
        assert!(
            text.contains("message 1") && text.contains("[SYS/TEMP] shutting down"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_connection_cut_mid_message_is_a_lost_connection_not_a_short_message() {
        let err = retrieve(vec![("RETR 1", b"+OK\r\nSubject: cut\r\npartial line")])
            .await
            .unwrap_err();
        assert!(crate::error::is_disconnected(&err), "{err:#}");
    }

    #[tokio::test]
    async fn garbage_and_bad_listings_are_clear_errors() {
        // A greeting that is not POP3.
        let (port, server) = replay(b"HTTP/1.1 400 Bad Request\r\n", vec![]).await;
        let err = Pop3Client::connect(&login(port))
            .await
            .err()
            .expect("garbage greeting");
        assert!(format!("{err:#}").contains("not a POP3 answer"), "{err:#}");
        server.abort();

        // `-ERR` inside a listing is data, and not a UIDL line.
        let (port, server) = replay(
            b"+OK ready\r\n",
            vec![
                CAPA,
                USER,
                PASS,
                CAPA,
                ("UIDL", b"+OK\r\n1 abc\r\n-ERR oops\r\n.\r\n"),
            ],
        )
        .await;
        let mut client = Pop3Client::connect(&login(port)).await.unwrap();
        let err = client.uidl().await.unwrap_err();
        assert!(
            format!("{err:#}").contains("bad UIDL line `-ERR oops`"),
            "{err:#}"
        );
        drop(client);
        let _ = server.await;

        // A listing line longer than any POP3 line.
        let huge: &'static [u8] = Box::leak(
            [b"+OK\r\n1 ".as_slice(), &vec![b'9'; 70_000], b"\r\n.\r\n"]
                .concat()
                .into_boxed_slice(),
        );
        let (port, server) = replay(
            b"+OK ready\r\n",
            vec![CAPA, USER, PASS, CAPA, ("LIST", huge)],
        )
        .await;
        let mut client = Pop3Client::connect(&login(port)).await.unwrap();
        let err = client.list().await.unwrap_err();
        assert!(format!("{err:#}").contains("overlong"), "{err:#}");
        drop(client);
        let _ = server.await;
    }

    #[tokio::test]
    async fn a_refused_login_names_the_servers_reason_and_never_the_password() {
        let (port, server) = replay(
            b"+OK ready\r\n",
            vec![
                CAPA,
                USER,
                ("PASS pw", b"-ERR [AUTH] Authentication failed.\r\n"),
            ],
        )
        .await;
        let err = Pop3Client::connect(&login(port))
            .await
            .err()
            .expect("refused");
        let text = format!("{err:#}");
        assert!(text.contains("[AUTH] Authentication failed."), "{text}");
        assert!(!text.contains("pw\"") && !text.contains("PASS"), "{text}");
        assert_eq!(
            crate::exit::classify(&err),
            crate::exit::ExitCode::LoginRefused
        );
        let _ = server.await;
    }

    #[tokio::test]
    async fn pipelining_sends_the_next_commands_before_the_first_answer() {
        // The server answers nothing until it has seen both RETRs: a client
        // that waited for each answer would hang here (and time out).
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let mut socket = BufReader::new(socket);
            socket.get_mut().write_all(b"+OK ready\r\n").await.unwrap();
            let mut line = Vec::new();
            for answer in [CAPA.1, USER.1, PASS.1, CAPA.1] {
                line.clear();
                socket.read_until(b'\n', &mut line).await.unwrap();
                socket.get_mut().write_all(answer).await.unwrap();
            }
            let mut commands = Vec::new();
            for _ in 0..2 {
                line.clear();
                socket.read_until(b'\n', &mut line).await.unwrap();
                commands.push(String::from_utf8_lossy(&line).trim().to_string());
            }
            socket
                .get_mut()
                .write_all(b"+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n")
                .await
                .unwrap();
            commands
        });
        let mut login = login(port);
        login.timeout = Duration::from_secs(2);
        let mut client = Pop3Client::connect(&login).await.unwrap();
        let mut bodies = Vec::new();
        let commands = vec![(1, "RETR 1".to_string()), (2, "RETR 2".to_string())];
        client
            .pipelined(&commands, |_, body| {
                bodies.push(body.unwrap());
                async { true }
            })
            .await
            .unwrap();
        assert_eq!(bodies, vec![b"one\r\n".to_vec(), b"two\r\n".to_vec()]);
        assert_eq!(server.await.unwrap(), vec!["RETR 1", "RETR 2"]);
    }

    #[test]
    fn a_throttled_answer_carries_its_backoff_and_a_temporary_one_does_not() {
        let err = parse_status(
            b"-ERR Request is throttled. Suggested Backoff Time: 300 milliseconds\r\n",
        )
        .unwrap_err();
        assert_eq!(
            crate::throttle::of(&err),
            Some(crate::throttle::Throttle {
                kind: crate::throttle::ThrottleKind::SlowDown,
                wait: Some(std::time::Duration::from_millis(300)),
            })
        );
        assert!(format!("{err:#}").starts_with("the server said: Request is throttled."));
        // One message that cannot be read now fails alone, as before.
        let err = parse_status(b"-ERR [SYS/TEMP] message vanished\r\n").unwrap_err();
        assert_eq!(crate::throttle::of(&err), None);
    }

    #[test]
    fn status_lines_are_parsed_with_the_servers_words() {
        assert_eq!(
            parse_status(b"+OK Dovecot ready.\r\n").unwrap(),
            "Dovecot ready."
        );
        assert_eq!(parse_status(b"+OK\n").unwrap(), "");
        let err = parse_status(b"-ERR [IN-USE] Mailbox is locked\r\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the server said: [IN-USE] Mailbox is locked"
        );
        let err = parse_status(b"-ERR [SYS/TEMP] try later\r\n").unwrap_err();
        assert!(err.to_string().contains("[SYS/TEMP]"));
        assert!(parse_status(b"+ eyJzdGF0dXMiOiI0MDEifQ==\r\n")
            .unwrap_err()
            .to_string()
            .starts_with("challenge"));
        let garbage = parse_status(b"\x1b[2J HTTP/1.1 400\r\n").unwrap_err();
        assert!(crate::error::is_disconnected(&garbage));
    }

    #[test]
    fn multi_line_lines_are_unstuffed_and_ended_correctly() {
        let cases: [(&[u8], Line); 8] = [
            (b".\r\n", Line::End),
            (b".\n", Line::End),
            (b"..\r\n", Line::Data(b".\r\n".to_vec())),
            (b"...x\r\n", Line::Data(b"..x\r\n".to_vec())),
            (b".x\r\n", Line::Data(b"x\r\n".to_vec())),
            (b"plain\n", Line::Data(b"plain\n".to_vec())),
            (b". \r\n", Line::Data(b" \r\n".to_vec())),
            (b"\r\n", Line::Data(b"\r\n".to_vec())),
        ];
        for (line, expected) in cases {
            assert_eq!(
                unstuff(line),
                expected,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn joined_responses_do_not_depend_on_where_reads_split_them() {
        let answer = b"a\r\n..b\r\n.c\n\r\n.\r\n+OK next\r\n";
        let body_end = answer.len() - b"+OK next\r\n".len();
        for split in 0..=answer.len() {
            let mut response = JoinedResponse::default();
            let (first, finished) = response.feed(&answer[..split]);
            let used = if finished {
                first
            } else {
                assert_eq!(first, split);
                let (second, finished) = response.feed(&answer[split..]);
                assert!(finished, "split at {split}");
                split + second
            };
            assert_eq!(used, body_end, "split at {split}");
            assert_eq!(
                response.into_message(),
                b"a\r\n.b\r\nc\n\r\n",
                "split at {split}"
            );
        }
    }

    #[test]
    fn listing_lines_are_parsed_or_refused() {
        assert_eq!(parse_list_line(b"1 120").unwrap(), (1, 120));
        assert_eq!(parse_list_line(b"2 5 extra").unwrap(), (2, 5));
        assert!(parse_list_line(b"x 5").is_err());
        assert!(parse_list_line(b"1").is_err());
        assert_eq!(parse_stat("3 360").unwrap(), (3, 360));
        assert!(parse_stat("").is_err());
        assert_eq!(
            parse_uidl_line(b"1 whqtswO00WBw418f9t5JxYwZ").unwrap(),
            (1, "whqtswO00WBw418f9t5JxYwZ".to_string())
        );
        assert!(parse_uidl_line(b"1").is_err());
        assert!(parse_uidl_line(format!("1 {}", "x".repeat(71)).as_bytes()).is_err());
        assert!(parse_uidl_line("1 caf\u{e9}".as_bytes()).is_err());
        let mut capabilities = HashSet::new();
        for line in [
            &b"sasl PLAIN login"[..],
            b"SASL PLAIN xoauth2",
            b"  pipelining ",
        ] {
            add_capability(line, &mut capabilities);
        }
        let mut names: Vec<_> = capabilities.into_iter().collect();
        names.sort();
        assert_eq!(names, ["PIPELINING", "SASL", "SASL=PLAIN", "SASL=XOAUTH2"]);
    }

    #[test]
    fn apop_digest_and_base64_match_their_rfcs() {
        // RFC 1939 §7 example.
        let timestamp = apop_timestamp("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
        assert_eq!(
            timestamp.as_deref(),
            Some("<1896.697170952@dbc.mtview.ca.us>")
        );
        assert_eq!(
            md5_hex(b"<1896.697170952@dbc.mtview.ca.us>tanstaaf"),
            "c4c9334bac560ecc979e58001b3e22fb"
        );
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("\0u\0p", "AHUAcA=="),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(apop_timestamp("+OK ready"), None);
    }
}
