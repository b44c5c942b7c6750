//! The bytes between an IMAP server and async-imap's parser.
//!
//! Two things real servers send would otherwise end a session that is fine:
//!
//! - **Bare LF line ends.** Some servers end a reply line with `\n` alone
//!   (seen on a tagged AUTHENTICATE OK). imap-proto accepts only CRLF and
//!   async-imap stops reading for good at the first line it cannot parse.
//!   A bare LF is given its CR here when it ends a line: when a literal's
//!   announcement (`{n}`) comes before it, when a response starts after it
//!   (`* `, `+ `, or a tag and OK/NO/BAD), or when it is the last byte the
//!   server has sent so far. Any other bare LF is text the server sent raw
//!   (Dovecot echoes a folder name holding a newline in a NO): it stays, and
//!   that reply fails to parse as before, with the right command. Literals
//!   (message bodies, names sent as `{n}`) pass byte for byte. On a server
//!   that always sends CRLF nothing changes.
//! - **Responses imap-proto has no parser for** (NAMESPACE, RFC 2342). They
//!   are taken out of the stream whole, before async-imap sees them, and
//!   kept for the client to read with its own parser.
//!
//! Invariant: the bytes async-imap reads are the server's bytes, with a CR
//! added before each LF that ends a line without one (outside literals),
//! and without the diverted responses. A message body that arrives while
//! nothing is buffered is read straight into async-imap's buffer.

use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::Stream;

/// Untagged responses taken out of the stream (the keyword after `* `).
const DIVERTED: [&[u8]; 1] = [b"NAMESPACE"];

/// A partial line longer than this is passed on before its end arrives (a
/// SEARCH answer over a million UIDs is one line of megabytes); only its
/// last bytes are kept to recognise a literal's announcement.
const LINE_HOLD_MAX: usize = 64 * 1024;
/// What is kept of a partial line passed on early: enough for `{4294967295+}`.
const LINE_TAIL: usize = 32;

/// How much is read from the server at a time outside literals.
const READ_CHUNK: usize = 64 * 1024;

/// The reframing state, independent of any I/O (so it can be tested alone).
#[derive(Debug, Default)]
struct Reframer {
    /// Bytes of a literal still to come; 0 outside literals.
    literal: u64,
    /// Bytes received and not yet passed on: the current line so far, and
    /// what came after it.
    input: Vec<u8>,
    /// Where in `input` to look for the next LF (earlier ones are text).
    scan: usize,
    /// Whether the start of the current line was already passed on.
    line_started: bool,
    /// The current line is the first of a response (not text after a literal).
    at_response_start: bool,
    /// The current response is being diverted.
    diverting: bool,
    /// The diverted response being assembled.
    diverted_part: Vec<u8>,
    /// Complete diverted responses, oldest first.
    diverted: Vec<Vec<u8>>,
    /// Bytes ready for the reader.
    out: Vec<u8>,
    /// The last status line (`A7 NO …`, `* BYE …`, `A8 OK … [THROTTLED]`)
    /// that asked to slow down, not yet taken: async-imap swallows the
    /// text of a NO that ends a FETCH, and never shows an OK's.
    throttle: Option<String>,
}

impl Reframer {
    fn new() -> Reframer {
        Reframer {
            at_response_start: true,
            ..Reframer::default()
        }
    }

    /// Takes bytes from the server.
    fn feed(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
        self.process(false);
    }

    /// Nothing more has arrived for now: a bare LF at the very end ends its
    /// line (the server may wait for our next command).
    fn flush(&mut self) {
        self.process(true);
    }

    fn process(&mut self, nothing_more: bool) {
        loop {
            if self.literal > 0 {
                if self.input.is_empty() {
                    return;
                }
                let take = self
                    .input
                    .len()
                    .min(usize::try_from(self.literal).unwrap_or(usize::MAX));
                self.literal -= take as u64;
                let target = if self.diverting {
                    &mut self.diverted_part
                } else {
                    &mut self.out
                };
                target.extend_from_slice(&self.input[..take]);
                self.input.drain(..take);
                continue;
            }
            let unscanned = self.input.get(self.scan..).unwrap_or_default();
            let Some(found) = memchr::memchr(b'\n', unscanned) else {
                self.scan = self.input.len();
                if self.input.len() > LINE_HOLD_MAX {
                    self.pass_on_line_head();
                }
                return;
            };
            let lf = self.scan + found;
            let ends_line = if (lf > 0 && self.input[lf - 1] == b'\r')
                || announced_literal(&self.input[..lf]).is_some()
            {
                true
            } else {
                let after = &self.input[lf + 1..];
                match starts_response(after) {
                    Some(starts) => starts,
                    None if after.is_empty() && nothing_more => true,
                    // The next line has begun: wait for enough of it.
                    None => return,
                }
            };
            if ends_line {
                self.end_line(lf);
            } else {
                self.scan = lf + 1;
            }
        }
    }

    /// Decides, at the first bytes of a response, whether to divert it.
    fn decide(&mut self) {
        if self.at_response_start && !self.line_started {
            self.diverting = is_diverted(&self.input);
        }
    }

    /// Passes on all but the tail of a long partial line.
    fn pass_on_line_head(&mut self) {
        self.decide();
        let head = self.input.len() - LINE_TAIL;
        let target = if self.diverting {
            &mut self.diverted_part
        } else {
            &mut self.out
        };
        target.extend_from_slice(&self.input[..head]);
        self.input.drain(..head);
        self.scan = self.scan.saturating_sub(head);
        self.line_started = true;
    }

    /// The line ending with the LF at `lf` is complete: passes it on with a
    /// CRLF, and notes whether a literal follows.
    fn end_line(&mut self, lf: usize) {
        self.decide();
        let mut line: Vec<u8> = self.input.drain(..=lf).collect();
        self.scan = 0;
        if !line.ends_with(b"\r\n") {
            line.insert(line.len() - 1, b'\r');
        }
        let announced = announced_literal(&line[..line.len() - 2]);
        if self.at_response_start && !self.line_started && announced.is_none() {
            if let Some(words) = status_words(&line) {
                if crate::throttle::classify(&words).is_some_and(|t| t.kind.is_later()) {
                    self.throttle = Some(words);
                }
            }
        }
        self.literal = announced.unwrap_or(0);
        let response_ends = announced.is_none();
        if self.diverting {
            self.diverted_part.extend_from_slice(&line);
        } else {
            self.out.extend_from_slice(&line);
        }
        self.line_started = false;
        self.at_response_start = response_ends;
        if response_ends && self.diverting {
            self.diverted.push(std::mem::take(&mut self.diverted_part));
            self.diverting = false;
        }
    }
}

/// The text of a status response (tagged or untagged OK, NO, BAD, or a
/// BYE), without its line end; `None` for any other line.
fn status_words(line: &[u8]) -> Option<String> {
    if line.len() > 1024 {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?.trim_end();
    let mut words = text.splitn(3, ' ');
    let (_tag, status) = (words.next()?, words.next()?);
    matches!(
        status.to_ascii_uppercase().as_str(),
        "OK" | "NO" | "BAD" | "BYE"
    )
    .then(|| text.to_string())
}

/// Whether `bytes` start a response: `* `, `+ ` (or a bare `+`), or a tag of
/// letters and digits followed by OK, NO or BAD. `None` while too few bytes
/// have arrived to tell.
fn starts_response(bytes: &[u8]) -> Option<bool> {
    let first = *bytes.first()?;
    if first == b'*' || first == b'+' {
        let second = *bytes.get(1)?;
        return Some(second == b' ' || (first == b'+' && matches!(second, b'\r' | b'\n')));
    }
    let letters = bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let digits = bytes[letters..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let rest = &bytes[letters + digits..];
    if rest.is_empty() {
        return None;
    }
    if letters == 0 || digits == 0 || rest[0] != b' ' {
        return Some(false);
    }
    let word = &rest[1..];
    for status in [&b"OK"[..], b"NO", b"BAD"] {
        let n = word.len().min(status.len());
        if word[..n].eq_ignore_ascii_case(&status[..n]) {
            return match word.get(status.len()) {
                None => None,
                Some(b' ' | b'\r' | b'\n') => Some(true),
                Some(_) => Some(false),
            };
        }
    }
    Some(false)
}

/// Whether a response's first bytes start an untagged response of a kind in
/// [`DIVERTED`].
fn is_diverted(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"* ") else {
        return false;
    };
    DIVERTED.iter().any(|keyword| {
        rest.len() > keyword.len()
            && rest[..keyword.len()].eq_ignore_ascii_case(keyword)
            && matches!(rest[keyword.len()], b' ' | b'\r' | b'\n')
    })
}

/// The size a line announces when it ends with `{n}` or `{n+}` (RFC 3501
/// §4.3, RFC 7888), the literal's bytes following the line end.
fn announced_literal(text: &[u8]) -> Option<u64> {
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let inner = text.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A server connection as async-imap reads it. See the module docs.
#[derive(Debug)]
pub struct Wire {
    inner: Stream,
    reframer: Reframer,
    /// Where `reframer.out` has been read up to.
    out_read: usize,
    scratch: Vec<u8>,
}

impl Wire {
    pub fn new(inner: Stream) -> Wire {
        Wire {
            inner,
            reframer: Reframer::new(),
            out_read: 0,
            scratch: Vec::new(),
        }
    }

    /// The connection under it, for STARTTLS (nothing is pending then: the
    /// server waits for the handshake).
    pub fn into_inner(self) -> Stream {
        self.inner
    }

    /// The responses taken out of the stream so far (each with its CRLF),
    /// oldest first.
    pub fn take_diverted(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.reframer.diverted)
    }

    /// The last status line that asked to slow down, since the last call.
    pub fn take_throttle(&mut self) -> Option<String> {
        self.reframer.throttle.take()
    }
}

impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let ready = &this.reframer.out[this.out_read..];
            if !ready.is_empty() {
                let n = ready.len().min(buf.remaining());
                buf.put_slice(&ready[..n]);
                this.out_read += n;
                if this.out_read == this.reframer.out.len() {
                    this.reframer.out.clear();
                    this.out_read = 0;
                }
                return Poll::Ready(Ok(()));
            }
            let reframer = &mut this.reframer;
            if reframer.literal > 0 && !reframer.diverting && reframer.input.is_empty() {
                // A message body: straight into the reader's buffer.
                let limit = buf
                    .remaining()
                    .min(usize::try_from(reframer.literal).unwrap_or(usize::MAX));
                let mut limited = ReadBuf::new(buf.initialize_unfilled_to(limit));
                return match Pin::new(&mut this.inner).poll_read(cx, &mut limited) {
                    Poll::Ready(Ok(())) => {
                        let n = limited.filled().len();
                        buf.advance(n);
                        reframer.literal -= n as u64;
                        Poll::Ready(Ok(()))
                    }
                    other => other,
                };
            }
            this.scratch.resize(READ_CHUNK, 0);
            let mut chunk = ReadBuf::new(&mut this.scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut chunk) {
                Poll::Ready(Ok(())) => {
                    let filled = chunk.filled();
                    if filled.is_empty() {
                        // The end of the stream: whatever is left goes to
                        // the reader, which sees it cut short.
                        this.reframer.flush();
                        let rest = std::mem::take(&mut this.reframer.input);
                        this.reframer.scan = 0;
                        this.reframer.out.extend_from_slice(&rest);
                        if this.reframer.out.is_empty() {
                            return Poll::Ready(Ok(()));
                        }
                        continue;
                    }
                    this.reframer.feed(filled);
                }
                Poll::Pending => {
                    // Nothing more for now: a line waiting on its last
                    // byte (a bare LF) is complete.
                    this.reframer.flush();
                    if this.reframer.out.is_empty() {
                        return Poll::Pending;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes; returns what the reader
    /// gets and the diverted responses.
    fn reframe(input: &[u8], step: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut reframer = Reframer::new();
        for piece in input.chunks(step.max(1)) {
            reframer.feed(piece);
        }
        reframer.flush();
        (reframer.out, reframer.diverted)
    }

    #[test]
    fn bare_lf_line_ends_get_their_cr_outside_literals_only() {
        let cases: [(&[u8], &[u8]); 7] = [
            // Already right: unchanged.
            (
                b"* OK ready\r\nA1 OK done\r\n",
                b"* OK ready\r\nA1 OK done\r\n",
            ),
            // The server that ends AUTHENTICATE's OK with a bare LF.
            (
                b"A1 OK [CAPABILITY IMAP4rev1] Logged in\n",
                b"A1 OK [CAPABILITY IMAP4rev1] Logged in\r\n",
            ),
            // A literal announced with a bare LF keeps its own bare LFs.
            (
                b"* 1 FETCH (BODY[] {6}\na\nb\nc\n)\nA2 OK\n",
                b"* 1 FETCH (BODY[] {6}\r\na\nb\nc\n)\r\nA2 OK\r\n",
            ),
            // Non-synchronizing form and an empty literal.
            (
                b"* X {3+}\r\n\n\n\n\r\n* Y {0}\n\n",
                b"* X {3+}\r\n\n\n\n\r\n* Y {0}\r\n\r\n",
            ),
            // Braces that are not at the end of a line announce nothing.
            (b"* OK {5} later\nA2 OK\n", b"* OK {5} later\r\nA2 OK\r\n"),
            // A raw newline inside a reply's text (Dovecot echoing a folder
            // name) does not end it: the reply fails to parse, as it should.
            (
                b"A5 NO Mailbox doesn't exist: nl\nname (0.001 secs).\r\nA6 OK done\n",
                b"A5 NO Mailbox doesn't exist: nl\nname (0.001 secs).\r\nA6 OK done\r\n",
            ),
            (
                b"* LIST () \".\" x\n+ go\n* 1 EXISTS\nA0007 BAD x\nA0008 no y\n",
                b"* LIST () \".\" x\r\n+ go\r\n* 1 EXISTS\r\nA0007 BAD x\r\nA0008 no y\r\n",
            ),
        ];
        for (input, expected) in cases {
            for step in [1, 2, 3, 7, 1000] {
                let (out, diverted) = reframe(input, step);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(expected),
                    "step {step}"
                );
                assert!(diverted.is_empty());
            }
        }
    }

    #[test]
    fn namespace_responses_are_taken_out_whole_with_their_literals() {
        let input: &[u8] = b"* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL\r\n\
            A1 OK done\r\n\
            * namespace (({3}\r\na/b \"/\")) NIL NIL\n\
            * 3 EXISTS\r\n";
        for step in [1, 5, 1000] {
            let (out, diverted) = reframe(input, step);
            assert_eq!(out, b"A1 OK done\r\n* 3 EXISTS\r\n", "step {step}");
            assert_eq!(
                diverted,
                [
                    b"* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL\r\n".to_vec(),
                    b"* namespace (({3}\r\na/b \"/\")) NIL NIL\r\n".to_vec(),
                ]
            );
        }
    }

    #[test]
    fn only_a_response_start_is_taken_for_a_diverted_keyword() {
        // `* NAMESPACE` inside a literal, or as text after one, is data.
        let input: &[u8] = b"* 1 FETCH (BODY[] {13}\r\n* NAMESPACE\r\n)\r\n* NAMESPACEX\r\n";
        let (out, diverted) = reframe(input, 4);
        assert_eq!(out, input);
        assert!(diverted.is_empty());
    }

    #[test]
    fn a_long_line_is_passed_on_before_its_end_without_losing_a_literal() {
        let mut input = b"* SEARCH".to_vec();
        for uid in 1..30_000 {
            input.extend_from_slice(format!(" {uid}").as_bytes());
        }
        input.extend_from_slice(b"\n* 1 FETCH (BODY[] {2}\n\n\n)\n");
        let (out, _) = reframe(&input, 4096);
        let mut expected = input.clone();
        // The SEARCH line, the literal's line and the last line get a CR.
        let text = String::from_utf8(expected.clone()).unwrap();
        let repaired = text
            .replacen(
                "\n* 1 FETCH (BODY[] {2}\n",
                "\r\n* 1 FETCH (BODY[] {2}\r\n",
                1,
            )
            .replacen("\n\n)\n", "\n\n)\r\n", 1);
        expected = repaired.into_bytes();
        assert_eq!(out, expected);
    }

    #[test]
    fn a_bare_lf_waits_for_the_next_bytes_unless_nothing_more_comes() {
        let mut reframer = Reframer::new();
        reframer.feed(b"A1 OK logged in\n");
        // It may be the end of the line, or text: the next bytes tell.
        assert!(reframer.out.is_empty());
        reframer.feed(b"A");
        assert!(reframer.out.is_empty());
        reframer.feed(b"2 OK");
        assert!(reframer.out.is_empty(), "`OK` could still be `OKAY`");
        reframer.feed(b" done\n");
        assert_eq!(reframer.out, b"A1 OK logged in\r\n");
        // The server sends nothing more until it gets a command.
        reframer.flush();
        assert_eq!(reframer.out, b"A1 OK logged in\r\nA2 OK done\r\n");
    }

    #[test]
    fn responses_are_recognised_from_their_first_bytes() {
        let cases: [(&[u8], Option<bool>); 12] = [
            (b"* 3 EXISTS", Some(true)),
            (b"+ ", Some(true)),
            (b"+\r\n", Some(true)),
            (b"A0001 OK x", Some(true)),
            (b"C0 bad", None),
            (b"C0 bad\r", Some(true)),
            (b"name (0.001 secs)", Some(false)),
            (b"A12 OKAY", Some(false)),
            (b"*x", Some(false)),
            (b"", None),
            (b"A00", None),
            (b"A1 N", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                starts_response(bytes),
                expected,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[tokio::test]
    async fn a_connection_cut_mid_line_ends_the_stream_and_reading_on_stays_at_the_end() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket
                .write_all(
                    b"* NAMESPACE ((\"\" \".\")) NIL NIL\nA1 OK x\n* 1 FETCH (BODY[] {9}\na\nb",
                )
                .await
                .unwrap();
        });
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let mut wire = Wire::new(Stream::plain(tcp));
        server.await.unwrap();
        let mut received = Vec::new();
        wire.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"A1 OK x\r\n* 1 FETCH (BODY[] {9}\r\na\nb");
        assert_eq!(wire.take_diverted().len(), 1);
        let mut more = [0u8; 16];
        assert_eq!(wire.read(&mut more).await.unwrap(), 0);
    }

    #[test]
    fn status_lines_asking_to_slow_down_are_kept_for_the_client() {
        let mut reframer = Reframer::new();
        reframer.feed(
            b"* 1 FETCH (UID 7 BODY[] {26}\r\nSubject: [THROTTLED] x\r\n\r\n)\r\n\
              A5 NO [THROTTLED] Request is throttled. Suggested Backoff Time: 300 milliseconds\r\n",
        );
        assert_eq!(
            reframer.throttle.take().as_deref(),
            Some(
                "A5 NO [THROTTLED] Request is throttled. Suggested Backoff Time: 300 milliseconds"
            )
        );
        reframer
            .feed(b"A6 OK Success [THROTTLED]\r\n* BYE Session expired\r\nA7 NO [TRYCREATE] x\r\n");
        assert_eq!(
            reframer.throttle.take().as_deref(),
            Some("A6 OK Success [THROTTLED]")
        );
        reframer.feed(b"* 2 FETCH (FLAGS (\\Seen))\r\nA8 OK Fetch completed.\r\n");
        assert_eq!(reframer.throttle, None);
    }

    #[test]
    fn literal_announcements_are_read_from_the_end_of_a_line() {
        assert_eq!(announced_literal(b"* 1 FETCH (BODY[] {1234}"), Some(1234));
        assert_eq!(announced_literal(b"A APPEND x {12+}"), Some(12));
        assert_eq!(announced_literal(b"* OK {x}"), None);
        assert_eq!(announced_literal(b"* OK {}"), None);
        assert_eq!(announced_literal(b"* OK {99999999999}"), None);
        assert_eq!(announced_literal(b"* OK done"), None);
    }
}
