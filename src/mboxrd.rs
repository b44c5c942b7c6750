//! Streaming mbox reader and writer (RFC 4155; mboxrd, mboxo, mboxcl2), because no crate on the
//! verified list reads mbox correctly (mbox-reader 0.2.0 drops the last
//! message and panics).
//!
//! Invariant: for every message `m` that is empty or ends in `\n` and carries
//! no mailbox metadata header (`Status`, `X-Status`, `X-Keywords`, `X-UID`,
//! `X-IMAP`, `X-IMAPbase`), `write_message` followed by `MboxReader` gives
//! back exactly the bytes of `m`, its flags and its date to the second, and
//! the reader's `start..end` ranges tile the file without gaps or overlaps.
//!
//! Format, as written and read here:
//! - Each message opens with a From_ line, `From <sender> <asctime date>`.
//!   When reading, a `From ` line opens a message as the file's first line
//!   (after blank lines), or past it when it carries a year and a time (see
//!   `is_separator` for why) and either follows a blank line or is followed
//!   by a header block (pipermail archives have no blank line there); but
//!   not while a MIME multipart or a Sun "Begin Included Message" block of
//!   the message is open and closes later, nor inside a body whose
//!   Content-Length agrees with the file (`MboxReader::starts_a_message`).
//! - Quoting ([`MboxFormat`]): mboxrd, where a line matching `^>*From ` gains
//!   one `>` when written and a line matching `^>+From ` loses one when
//!   read, so any body round-trips; mboxo (`^From ` only); or mboxcl2,
//!   unquoted, each body's size in a Content-Length header.
//! - One blank line follows each message; it belongs to the separator.
//! - Flags live in `Status` / `X-Status` / `X-Keywords` headers (the mutt,
//!   Dovecot and UW-IMAP convention), which the reader removes from the
//!   message and turns into [`Flags`].
//!
//! Bytes are bytes: nothing here requires UTF-8, CRLF and bare CR are kept as
//! they are, and no input makes the reader or the date parser panic.

use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::iter::FusedIterator;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::date::{civil_from_days, days_from_civil, days_in_month, unix_seconds, SECONDS_PER_DAY};
use crate::message::Flags;

/// One message read from an mbox file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MboxEntry {
    /// Byte offset in the file of this message's From_ line.
    pub start: u64,
    /// Byte offset just past this message: the next message's `start`, or the
    /// file length for the last one.
    pub end: u64,
    /// The From_ line without its line terminator.
    pub from_line: Vec<u8>,
    /// The message with `>From` unquoted, metadata headers removed and the
    /// separating blank line dropped.
    pub raw: Vec<u8>,
    /// From the removed `Status`, `X-Status` and `X-Keywords` headers.
    pub flags: Flags,
    /// The From_ line's date; `None` when it cannot be parsed.
    pub date: Option<SystemTime>,
    /// A `Status` header said `O` (old): a mail reader has seen the message
    /// arrive, read or not.
    pub old: bool,
}

/// How an mbox file keeps `From ` lines in messages apart from the From_
/// lines between them (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MboxFormat {
    /// Every line matching `^>*From ` gains one `>` (RFC 4155's
    /// recommendation, and what mailtug writes by default): lossless.
    #[default]
    Mboxrd,
    /// Only `^From ` lines gain a `>`, and `>From ` stays as it is (most
    /// mail clients, Python's `mailbox`). A `>From ` the message had comes
    /// back as `From `: the format cannot tell them apart.
    Mboxo,
    /// Nothing is quoted; a `Content-Length` header gives the size of each
    /// body (Solaris mail, qmail's mboxcl2). The header is mailbox metadata.
    Mboxcl2,
}

impl MboxFormat {
    /// The name `--mbox-format` takes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            MboxFormat::Mboxrd => "mboxrd",
            MboxFormat::Mboxo => "mboxo",
            MboxFormat::Mboxcl2 => "mboxcl2",
        }
    }

    /// Undoes the format's quoting on one body line, in place.
    fn unquote(self, raw: &mut Vec<u8>, line_start: usize) {
        let line = &raw[line_start..];
        let quoted = match self {
            MboxFormat::Mboxrd => is_quoted_from(line),
            MboxFormat::Mboxo => line.starts_with(b">From "),
            MboxFormat::Mboxcl2 => false,
        };
        if quoted {
            raw.remove(line_start);
        }
    }
}

/// Something the reader decided that the person running mailtug should
/// hear about, at a byte offset of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub offset: u64,
    pub text: String,
}

/// A line read ahead, with where it starts in the file.
#[derive(Debug)]
struct Line {
    offset: u64,
    bytes: Vec<u8>,
}

/// A stretch of a message that must not be cut by a From_ line: a MIME
/// multipart, until its closing boundary, or a Sun "Begin Included
/// Message" block, until its end line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Enclosure {
    /// The line that closes it, without its line end.
    close: Vec<u8>,
}

/// How far the reader looks ahead for a line that closes an enclosure; a
/// closing line further away is taken as missing.
const LOOKAHEAD_MAX: usize = 64 * 1024 * 1024;
/// The longest `Content-Length` body the reader checks before trusting it.
const CONTENT_LENGTH_MAX: u64 = 512 * 1024 * 1024;

/// Reads messages one at a time; memory is bounded by the largest message
/// (and, while looking for the end of an enclosure, by `LOOKAHEAD_MAX`).
pub struct MboxReader<R: BufRead> {
    reader: R,
    format: MboxFormat,
    /// Offset in the file of the next byte `reader` yields.
    offset: u64,
    /// Lines read from `reader` but not yet taken, oldest first.
    ahead: VecDeque<Line>,
    ahead_bytes: usize,
    /// `reader` has reached its end.
    at_eof: bool,
    /// The From_ line (terminator included) that opens the next message. It
    /// is only recognised while reading the previous message, so it is kept
    /// here until the next call.
    next_from_line: Vec<u8>,
    next_start: u64,
    state: ReaderState,
    /// Closing lines looked for up to the end of the file and not found.
    never_closed: Vec<Vec<u8>>,
    notes: Vec<Note>,
    /// Messages that began at a From_ line with no blank line before it
    /// (followed by a header block), and the first such line.
    unblanked_starts: u64,
    first_unblanked: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReaderState {
    /// Nothing read yet: the next line must be a From_ line.
    AtBoundary,
    /// `next_from_line` holds the From_ line of the next message.
    HaveFromLine,
    /// EOF or an error: the iterator is fused.
    Done,
}

/// Why reading cannot start at `offset`: no From_ line begins there.
pub(crate) fn no_from_line_at(offset: u64) -> String {
    if offset == 0 {
        "does not start with a `From ` line".to_string()
    } else {
        format!("byte {offset} does not start with a `From ` line")
    }
}

impl<R: BufRead> MboxReader<R> {
    /// `reader` is positioned at byte `offset` of the file, which is a message
    /// boundary (0 or an `end` returned earlier). Reads mboxrd.
    pub fn new(reader: R, offset: u64) -> Self {
        MboxReader::with_format(reader, offset, MboxFormat::Mboxrd)
    }

    /// As [`MboxReader::new`], for a file in `format`.
    pub(crate) fn with_format(reader: R, offset: u64, format: MboxFormat) -> Self {
        MboxReader {
            reader,
            format,
            offset,
            ahead: VecDeque::new(),
            ahead_bytes: 0,
            at_eof: false,
            next_from_line: Vec::new(),
            next_start: offset,
            state: ReaderState::AtBoundary,
            never_closed: Vec::new(),
            notes: Vec::new(),
            unblanked_starts: 0,
            first_unblanked: 0,
        }
    }

    /// What the reader decided so far that a person should hear about (a
    /// From_ line kept inside a message, a Content-Length that did not
    /// match), oldest first; each note is handed out once.
    pub(crate) fn take_notes(&mut self) -> Vec<Note> {
        if self.unblanked_starts > 0 {
            let count = self.unblanked_starts;
            self.notes.push(Note {
                offset: self.first_unblanked,
                text: format!(
                    "{count} message{} began at a From_ line with no blank line before it, \
                     because a header block follows it",
                    if count == 1 { "" } else { "s" }
                ),
            });
            self.unblanked_starts = 0;
        }
        std::mem::take(&mut self.notes)
    }

    /// Next message, `None` at EOF. At offset 0, a file whose first line
    /// (after blank lines) is not a `From ` line is an error (`InvalidData`);
    /// an empty file has no messages. After an error the reader yields
    /// nothing more.
    pub(crate) fn next_message(&mut self) -> Option<io::Result<MboxEntry>> {
        if self.state == ReaderState::AtBoundary {
            match self.read_first_from_line() {
                Ok(true) => self.state = ReaderState::HaveFromLine,
                Ok(false) => self.state = ReaderState::Done,
                Err(err) => {
                    self.state = ReaderState::Done;
                    return Some(Err(err));
                }
            }
        }
        if self.state == ReaderState::Done {
            return None;
        }
        match self.read_message() {
            Ok(entry) => Some(Ok(entry)),
            Err(err) => {
                self.state = ReaderState::Done;
                Some(Err(err))
            }
        }
    }

    /// Appends the next line to `raw` (straight from the file when nothing
    /// was read ahead) and returns where it starts in the file.
    fn take_line_into(&mut self, raw: &mut Vec<u8>) -> io::Result<Option<u64>> {
        if let Some(line) = self.ahead.pop_front() {
            self.ahead_bytes -= line.bytes.len();
            raw.extend_from_slice(&line.bytes);
            return Ok(Some(line.offset));
        }
        if self.at_eof {
            return Ok(None);
        }
        let read = self.reader.read_until(b'\n', raw)?;
        if read == 0 {
            self.at_eof = true;
            return Ok(None);
        }
        let offset = self.offset;
        self.offset += read as u64;
        Ok(Some(offset))
    }

    /// The next line, from the lines read ahead or from the file.
    fn take_line(&mut self) -> io::Result<Option<Line>> {
        if let Some(line) = self.ahead.pop_front() {
            self.ahead_bytes -= line.bytes.len();
            return Ok(Some(line));
        }
        self.read_line()
    }

    fn read_line(&mut self) -> io::Result<Option<Line>> {
        if self.at_eof {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        let read = self.reader.read_until(b'\n', &mut bytes)?;
        if read == 0 {
            self.at_eof = true;
            return Ok(None);
        }
        let line = Line {
            offset: self.offset,
            bytes,
        };
        self.offset += read as u64;
        Ok(Some(line))
    }

    /// The line `index` places after the next one (0 is the next line),
    /// reading ahead as needed; `None` past the end of the file.
    fn peek(&mut self, index: usize) -> io::Result<Option<&Line>> {
        while self.ahead.len() <= index {
            match self.read_line()? {
                Some(line) => {
                    self.ahead_bytes += line.bytes.len();
                    self.ahead.push_back(line);
                }
                None => return Ok(None),
            }
        }
        Ok(self.ahead.get(index))
    }

    /// Reads the From_ line at the starting offset. It is trusted without the
    /// date heuristic: the caller promised a boundary, and the first line of
    /// a file has no earlier message it could belong to. At the start of the
    /// file, blank lines before it are skipped (some exporters write one):
    /// they belong to the first message's range.
    fn read_first_from_line(&mut self) -> io::Result<bool> {
        self.next_start = self.offset;
        let at_file_start = self.offset == 0;
        let line = loop {
            match self.take_line()? {
                None => return Ok(false),
                Some(line) if at_file_start && is_blank(&line.bytes) => continue,
                Some(line) => break line,
            }
        };
        if !line.bytes.starts_with(b"From ") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                no_from_line_at(self.next_start),
            ));
        }
        // No LF up to the end of the file, but CRs: the file has classic Mac
        // OS line ends, so it has no lines at all here and would read as one
        // empty message with a From_ line as long as the file.
        if !line.bytes.ends_with(b"\n") && line.bytes.contains(&b'\r') {
            let text = format!(
                "the `From ` line at byte {} ends in a bare CR: the file has CR (classic Mac OS) \
                 line ends, not LF, and is not an mbox file",
                line.offset
            );
            return Err(io::Error::new(io::ErrorKind::InvalidData, text));
        }
        self.next_from_line = line.bytes;
        Ok(true)
    }

    fn read_message(&mut self) -> io::Result<MboxEntry> {
        let start = self.next_start;
        let from_line = without_line_terminator(&self.next_from_line).to_vec();
        let date = parse_from_line_date(&from_line);
        let mut flags = Flags::default();
        let mut headers = HeaderFilter {
            content_length_is_metadata: self.format == MboxFormat::Mboxcl2,
            ..HeaderFilter::default()
        };
        let mut raw = Vec::new();
        let mut enclosures: Vec<Enclosure> = Vec::new();
        // A `Content-Type:` field of a body part being gathered (it may be
        // folded), to learn the boundary of a nested multipart.
        let mut part_content_type: Option<Vec<u8>> = None;
        // Length of the last line if it was blank: that blank line is the
        // separator's, not the message's, if a From_ line or EOF follows.
        let mut trailing_blank_len = 0;
        // Up to here the body's Content-Length holds the message together.
        let mut protected_until = 0;
        let end = loop {
            // Lines are read straight into the message buffer, so body
            // bytes are copied once; a line that must go is cut off again.
            let line_start = raw.len();
            let Some(line_offset) = self.take_line_into(&mut raw)? else {
                self.state = ReaderState::Done;
                break self.offset;
            };
            let line_len = (raw.len() - line_start) as u64;
            if raw[line_start..].starts_with(b"From ") && is_separator(&raw[line_start..]) {
                let from_line = raw[line_start..].to_vec();
                if self.starts_a_message(
                    line_offset,
                    trailing_blank_len > 0,
                    &enclosures,
                    protected_until,
                )? {
                    raw.truncate(line_start);
                    self.next_start = line_offset;
                    self.next_from_line = from_line;
                    break self.next_start;
                }
            }
            let was_blank = is_blank(&raw[line_start..]);
            self.format.unquote(&mut raw, line_start);
            if headers.in_headers {
                if !headers.keep(&raw[line_start..], &mut flags) {
                    raw.truncate(line_start);
                }
                if !headers.in_headers {
                    // The header section just ended: what it says about
                    // the body.
                    let header_bytes = &raw[..line_start];
                    if let Some(boundary) = multipart_boundary(header_bytes) {
                        enclosures.push(Enclosure {
                            close: closing_boundary(&boundary),
                        });
                    }
                    if let Some(length) = headers.content_length.take() {
                        match self.lines_of_length(length)? {
                            // mboxcl2: the length decides where the message ends.
                            Some(lines) if self.format == MboxFormat::Mboxcl2 => {
                                trailing_blank_len = 0;
                                break self.take_body(&mut raw, lines)?;
                            }
                            // Elsewhere it only keeps From_ lines inside
                            // the body from ending the message.
                            Some(_) => protected_until = line_offset + line_len + length,
                            None if self.format == MboxFormat::Mboxcl2 => {
                                self.notes.push(Note {
                                    offset: line_offset,
                                    text: format!(
                                        "the Content-Length of {length} bytes does not end at a \
                                         From_ line; the message ends at the next From_ line instead"
                                    ),
                                });
                            }
                            None => {}
                        }
                    }
                }
                trailing_blank_len = if was_blank { line_len as usize } else { 0 };
                continue;
            }
            let body_line = &raw[line_start..];
            trailing_blank_len = if is_blank(body_line) {
                body_line.len()
            } else {
                0
            };
            track_enclosures(body_line, &mut enclosures, &mut part_content_type);
        };
        raw.truncate(raw.len().saturating_sub(trailing_blank_len));
        // A From_ line with no date, or the placeholder some exporters write
        // (`Thu Jan  1 00:00:00 1970`), says nothing: the Date header does.
        let date = date
            .filter(|&date| date != UNIX_EPOCH)
            .or_else(|| header_date(&raw));
        Ok(MboxEntry {
            start,
            end,
            from_line,
            raw,
            flags,
            date,
            old: headers.old,
        })
    }

    /// Whether `line`, a `From ` line with a date, starts the next message:
    /// after a blank line, or followed by a header block; but not while an
    /// enclosure of the message is open and its closing line comes later.
    fn starts_a_message(
        &mut self,
        line_offset: u64,
        after_blank: bool,
        enclosures: &[Enclosure],
        protected_until: u64,
    ) -> io::Result<bool> {
        let header_block = !after_blank && self.header_block_follows()?;
        if !after_blank && !header_block {
            return Ok(false);
        }
        if line_offset < protected_until {
            self.notes.push(Note {
                offset: line_offset,
                text: format!(
                    "a From_ line inside a message is kept in it: its Content-Length runs to \
                     byte {protected_until}"
                ),
            });
            return Ok(false);
        }
        for enclosure in enclosures.iter().rev() {
            if let Some(close_offset) = self.closing_line_ahead(&enclosure.close)? {
                self.notes.push(Note {
                    offset: line_offset,
                    text: format!(
                        "a From_ line inside a message is kept in it: `{}` closes the part it \
                         is in at byte {close_offset}",
                        String::from_utf8_lossy(&enclosure.close)
                    ),
                });
                return Ok(false);
            }
        }
        if header_block {
            if self.unblanked_starts == 0 {
                self.first_unblanked = line_offset;
            }
            self.unblanked_starts += 1;
        }
        Ok(true)
    }

    /// Whether the lines after the next one's place form a header block:
    /// header fields (and their continuations) up to a blank line, at least
    /// two of them, one a field every message has.
    fn header_block_follows(&mut self) -> io::Result<bool> {
        const COMMON: [&[u8]; 8] = [
            b"from",
            b"date",
            b"subject",
            b"message-id",
            b"received",
            b"return-path",
            b"to",
            b"delivered-to",
        ];
        let mut fields = 0;
        let mut common = false;
        for index in 0..200 {
            let Some(line) = self.peek(index)? else {
                // A last message of headers only.
                return Ok(fields >= 2 && common);
            };
            let bytes = &line.bytes;
            if is_blank(bytes) {
                return Ok(fields >= 2 && common);
            }
            if matches!(bytes.first(), Some(b' ' | b'\t')) && fields > 0 {
                continue;
            }
            let Some(name) = field_name(bytes) else {
                return Ok(false);
            };
            fields += 1;
            common |= COMMON.iter().any(|c| name.eq_ignore_ascii_case(c));
        }
        Ok(false)
    }

    /// The offset of the next line that is exactly `close` (before its line
    /// end, trailing blanks allowed), looking ahead up to `LOOKAHEAD_MAX`.
    fn closing_line_ahead(&mut self, close: &[u8]) -> io::Result<Option<u64>> {
        if self.never_closed.iter().any(|c| c == close) {
            return Ok(None);
        }
        let mut index = 0;
        loop {
            if self.ahead_bytes > LOOKAHEAD_MAX {
                self.never_closed.push(close.to_vec());
                return Ok(None);
            }
            let Some(line) = self.peek(index)? else {
                // Up to the end of the file: it is never closed, so the next
                // From_ line need not look again.
                self.never_closed.push(close.to_vec());
                return Ok(None);
            };
            if without_line_terminator(&line.bytes).trim_ascii_end() == close {
                return Ok(Some(line.offset));
            }
            index += 1;
        }
    }

    /// Whether the first message carries a `Content-Length` that agrees
    /// with the file: what marks an mboxcl2 file (see [`detect_format`]).
    fn first_message_has_exact_length(mut self) -> io::Result<bool> {
        if !self.read_first_from_line()? {
            return Ok(false);
        }
        let mut length = None;
        loop {
            let Some(line) = self.take_line()? else {
                return Ok(false);
            };
            if is_blank(&line.bytes) {
                break;
            }
            if let Some(value) = header_value(&line.bytes, b"Content-Length") {
                length = length.or_else(|| {
                    std::str::from_utf8(value.trim_ascii())
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok())
                });
            }
        }
        match length {
            Some(length) => Ok(self.lines_of_length(length)?.is_some()),
            None => Ok(false),
        }
    }

    /// How many lines after the header section make exactly `length`
    /// bytes, when they end at a line end followed by the end of the file, a
    /// From_ line, or a blank line and then one of those: a Content-Length
    /// that agrees with the file.
    fn lines_of_length(&mut self, length: u64) -> io::Result<Option<usize>> {
        if length > CONTENT_LENGTH_MAX {
            return Ok(None);
        }
        let mut lines = 0;
        let mut bytes = 0u64;
        while bytes < length {
            match self.peek(lines)? {
                Some(line) => {
                    bytes += line.bytes.len() as u64;
                    lines += 1;
                }
                None => return Ok(None),
            }
        }
        if bytes != length {
            return Ok(None);
        }
        let agrees = match self.peek(lines)? {
            None => true,
            Some(next) if next.bytes.starts_with(b"From ") => true,
            Some(next) if is_blank(&next.bytes) => match self.peek(lines + 1)? {
                None => true,
                Some(after) => after.bytes.starts_with(b"From "),
            },
            Some(_) => false,
        };
        Ok(agrees.then_some(lines))
    }

    /// Takes `lines` body lines whole (mboxcl2), then the blank line and the
    /// From_ line after them; returns where the message ends.
    fn take_body(&mut self, raw: &mut Vec<u8>, lines: usize) -> io::Result<u64> {
        for _ in 0..lines {
            let line_start = raw.len();
            self.take_line_into(raw)?;
            self.format.unquote(raw, line_start);
        }
        // The blank line after the body belongs to the separator.
        if self.peek(0)?.is_some_and(|next| is_blank(&next.bytes)) {
            self.take_line()?;
        }
        match self.take_line()? {
            None => {
                self.state = ReaderState::Done;
                Ok(self.offset)
            }
            Some(from) => {
                self.next_start = from.offset;
                self.next_from_line = from.bytes;
                Ok(self.next_start)
            }
        }
    }
}

/// The format a file shows (`--mbox-format auto`): mboxcl2 when its first
/// message carries a `Content-Length` that ends exactly at the next From_
/// line (or the end of the file), else mboxrd, which also reads mboxo
/// files right but for lines that were `>From ` in the message.
pub(crate) fn detect_format<R: BufRead>(reader: R) -> io::Result<MboxFormat> {
    let exact = MboxReader::new(reader, 0).first_message_has_exact_length()?;
    Ok(if exact {
        MboxFormat::Mboxcl2
    } else {
        MboxFormat::Mboxrd
    })
}

/// The name of the header field `line` starts, if it starts one.
fn field_name(line: &[u8]) -> Option<&[u8]> {
    let name_len = line
        .iter()
        .position(|&b| b <= b' ' || b == b':' || b == 0x7f)?;
    if name_len == 0 {
        return None;
    }
    let rest = line[name_len..].trim_ascii_start();
    (rest.first() == Some(&b':')).then(|| &line[..name_len])
}

/// The boundary of a `multipart/*` Content-Type among `header_bytes`.
fn multipart_boundary(header_bytes: &[u8]) -> Option<Vec<u8>> {
    let value = crate::fingerprint::header_value(header_bytes, "content-type")?;
    boundary_parameter(&value)
}

/// The `boundary` parameter of a multipart Content-Type value.
fn boundary_parameter(value: &[u8]) -> Option<Vec<u8>> {
    let lower = value.to_ascii_lowercase();
    if !lower.trim_ascii_start().starts_with(b"multipart/") {
        return None;
    }
    let at = lower.windows(9).position(|w| w == b"boundary=")? + 9;
    let rest = &value[at..];
    let boundary = match rest.strip_prefix(b"\"") {
        Some(quoted) => &quoted[..quoted.iter().position(|&b| b == b'"')?],
        None => {
            let len = rest
                .iter()
                .position(|&b| b == b';' || b.is_ascii_whitespace())
                .unwrap_or(rest.len());
            &rest[..len]
        }
    };
    (!boundary.is_empty()).then(|| boundary.to_vec())
}

fn closing_boundary(boundary: &[u8]) -> Vec<u8> {
    let mut close = b"--".to_vec();
    close.extend_from_slice(boundary);
    close.extend_from_slice(b"--");
    close
}

const SUN_BEGIN: &[u8] = b"----- Begin Included Message -----";
const SUN_END: &[u8] = b"----- End Included Message -----";

/// Follows a body line: opens enclosures (a nested multipart declared in a
/// part's headers, a Sun included message) and closes them at their line.
fn track_enclosures(
    line: &[u8],
    enclosures: &mut Vec<Enclosure>,
    part_content_type: &mut Option<Vec<u8>>,
) {
    let text = without_line_terminator(line);
    if let Some(field) = part_content_type.as_mut() {
        if matches!(text.first(), Some(b' ' | b'\t')) {
            field.extend_from_slice(text);
            return;
        }
        if let Some(boundary) = boundary_parameter(field) {
            enclosures.push(Enclosure {
                close: closing_boundary(&boundary),
            });
        }
        *part_content_type = None;
    }
    if text.len() > 13 && text[..13].eq_ignore_ascii_case(b"content-type:") {
        *part_content_type = Some(text[13..].to_vec());
        return;
    }
    let trimmed = text.trim_ascii_end();
    if trimmed == SUN_BEGIN {
        enclosures.push(Enclosure {
            close: SUN_END.to_vec(),
        });
    } else if let Some(at) = enclosures.iter().rposition(|e| e.close == trimmed) {
        enclosures.truncate(at);
    }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = io::Result<MboxEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_message()
    }
}

impl<R: BufRead> FusedIterator for MboxReader<R> {}

/// The mailbox metadata headers, which describe the mailbox's view of a
/// message rather than the message, so they move into `Flags` or vanish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MetadataHeader {
    Status,
    XStatus,
    XKeywords,
    /// Dovecot / UW-IMAP UID bookkeeping: meaningless outside that mailbox.
    Bookkeeping,
}

const METADATA_HEADERS: [(&[u8], MetadataHeader); 6] = [
    (b"Status", MetadataHeader::Status),
    (b"X-Status", MetadataHeader::XStatus),
    (b"X-Keywords", MetadataHeader::XKeywords),
    (b"X-UID", MetadataHeader::Bookkeeping),
    (b"X-IMAP", MetadataHeader::Bookkeeping),
    (b"X-IMAPbase", MetadataHeader::Bookkeeping),
];

/// Tracks the header section (everything up to the first blank line) of the
/// message being read, so that metadata headers are only recognised there.
struct HeaderFilter {
    in_headers: bool,
    /// The metadata header whose folded continuation lines are being removed.
    removing: Option<MetadataHeader>,
    /// mboxcl2: `Content-Length` is the mailbox's, not the message's.
    content_length_is_metadata: bool,
    /// The value of the first `Content-Length` header.
    content_length: Option<u64>,
    /// A `Status` header holds `O`.
    old: bool,
}

impl Default for HeaderFilter {
    fn default() -> Self {
        HeaderFilter {
            in_headers: true,
            removing: None,
            content_length_is_metadata: false,
            content_length: None,
            old: false,
        }
    }
}

impl HeaderFilter {
    /// Whether a header-section line stays in the message; metadata lines are
    /// turned into `flags` instead.
    fn keep(&mut self, line: &[u8], flags: &mut Flags) -> bool {
        if is_blank(line) {
            self.in_headers = false;
            self.removing = None;
            return true;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            // RFC 5322 §2.2.3: a line starting with WSP continues the header above.
            return match self.removing {
                Some(header) => {
                    apply_metadata(header, line, flags);
                    false
                }
                None => true,
            };
        }
        if let Some(value) = header_value(line, b"Content-Length") {
            if self.content_length.is_none() {
                self.content_length = std::str::from_utf8(value.trim_ascii())
                    .ok()
                    .and_then(|v| v.parse().ok());
            }
            if self.content_length_is_metadata {
                self.removing = Some(MetadataHeader::Bookkeeping);
                return false;
            }
        }
        self.removing = metadata_header(line);
        match self.removing {
            Some(header) => {
                let value = line
                    .iter()
                    .position(|&b| b == b':')
                    .map_or(&[][..], |colon| &line[colon + 1..]);
                if header == MetadataHeader::Status && value.contains(&b'O') {
                    self.old = true;
                }
                apply_metadata(header, value, flags);
                false
            }
            None => true,
        }
    }
}

fn metadata_header(line: &[u8]) -> Option<MetadataHeader> {
    // Cheap rejection: every metadata header name starts with S or X.
    if !matches!(line.first(), Some(b'S' | b's' | b'X' | b'x')) {
        return None;
    }
    let colon = line.iter().position(|&b| b == b':')?;
    // RFC 822 allowed whitespace before the colon; old mailers still write it.
    let name = line[..colon].trim_ascii();
    METADATA_HEADERS
        .iter()
        .find(|(known, _)| name.eq_ignore_ascii_case(known))
        .map(|&(_, header)| header)
}

fn apply_metadata(header: MetadataHeader, value: &[u8], flags: &mut Flags) {
    match header {
        MetadataHeader::Status => {
            // `O` ("old", no longer \Recent) has no IMAP flag to map to.
            if value.contains(&b'R') {
                flags.seen = true;
            }
        }
        MetadataHeader::XStatus => {
            for &letter in value {
                match letter {
                    b'A' => flags.answered = true,
                    b'F' => flags.flagged = true,
                    b'T' => flags.draft = true,
                    b'D' => flags.deleted = true,
                    _ => {}
                }
            }
        }
        MetadataHeader::XKeywords => {
            for keyword in value
                .split(|&b| b == b',' || b.is_ascii_whitespace())
                .filter(|keyword| !keyword.is_empty())
            {
                flags.add_keyword(&String::from_utf8_lossy(keyword));
            }
        }
        MetadataHeader::Bookkeeping => {}
    }
}

/// `^>+From `: a From line quoted by an mboxrd writer.
fn is_quoted_from(line: &[u8]) -> bool {
    line.first() == Some(&b'>') && without_quote_marks(line).starts_with(b"From ")
}

/// `^>*From `: a line the writer must quote.
fn needs_quoting(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'>' | b'F')) && without_quote_marks(line).starts_with(b"From ")
}

fn without_quote_marks(line: &[u8]) -> &[u8] {
    let quote_marks = line.iter().take_while(|&&b| b == b'>').count();
    line.get(quote_marks..).unwrap_or(&[])
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

fn without_line_terminator(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether a `From ` line after a blank line starts a new message.
///
/// Heuristic: old mboxo files (and careless writers) leave `From ` lines in
/// bodies unquoted, and RFC 4155 only promises that a real From_ line carries
/// a date. So after `From <sender>` the line must contain a token that is a
/// 4-digit year 19xx/20xx and a token that is a time `H:MM` / `HH:MM[:SS]`,
/// or be a whole date `parse_from_line_date` reads (which also takes an
/// asctime date with a two-digit year).
/// Prose such as "From the desk of ..." stays in the body. The first line of
/// the file (or of a resumed read) is exempt: it has nothing to belong to.
fn is_separator(line: &[u8]) -> bool {
    let Some(rest) = without_line_terminator(line).strip_prefix(b"From ") else {
        return false;
    };
    let mut has_year = false;
    let mut has_time = false;
    for token in tokens(rest).skip(1) {
        has_year |= token.len() == 4
            && (token.starts_with(b"19") || token.starts_with(b"20"))
            && token.iter().all(u8::is_ascii_digit);
        has_time |= parse_time(token).is_some();
        if has_year && has_time {
            return true;
        }
    }
    // Old mailers wrote two-digit years (`Fri Jan  1 10:00:00 99`); such a
    // line is a separator when it is a whole asctime date, month name and day
    // included, which prose hardly ever is.
    parse_from_line_date(line).is_some()
}

/// Whitespace-separated words; `From_` lines use spaces and sometimes tabs.
fn tokens(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|token| !token.is_empty())
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// The date of a From_ line, in UTC unless the line names a numeric zone.
///
/// Accepted, after `From <sender>`: the asctime form `Wed Jan  1 10:00:00
/// 2020` (day padded or not, seconds optional, the weekday not checked) with
/// an optional zone before or after the year (`+0100`, or a name such as
/// `GMT`, which is read as UTC; with both, the numeric one counts); and, because some tools write it, the RFC
/// 5322 order `Wed, 1 Jan 2020 10:00:00 +0100`. Anything else gives `None`.
fn parse_from_line_date(from_line: &[u8]) -> Option<SystemTime> {
    let rest = without_line_terminator(from_line).strip_prefix(b"From ")?;
    let words: Vec<&[u8]> = tokens(rest).collect();
    // The sender may itself look like anything, so try each month-name token
    // as the anchor of a date and take the first that parses.
    (0..words.len()).find_map(|anchor| {
        let month = month_number(words[anchor])?;
        let after = words.get(anchor + 1..).unwrap_or(&[]);
        asctime_date(month, after).or_else(|| {
            let day = words.get(anchor.checked_sub(1)?)?;
            rfc5322_date(day, month, after)
        })
    })
}

/// `Jan 1 10:00:00 [zone] 2020 [zone]`, starting after the month.
fn asctime_date(month: u32, words: &[&[u8]]) -> Option<SystemTime> {
    let (day, time, rest) = match words {
        [day, time, rest @ ..] => (day, time, rest),
        _ => return None,
    };
    let day = parse_number(day, 1, 2)?;
    let time = parse_time(time)?;
    let (zone_before_year, rest) = match rest.split_first() {
        Some((word, after)) if parse_zone(word).is_some() => (Some(*word), after),
        _ => (None, rest),
    };
    let year = parse_asctime_year(rest.first()?)?;
    let zone_after_year = rest.get(1).copied();
    // A numeric offset wins over a zone name wherever each stands: in
    // `10:00:00 CEST 2020 +0200` the offset says everything (Dovecot reads
    // such lines the same way); a known name alone gives its offset.
    let zones = [zone_before_year, zone_after_year];
    let zone = zones
        .into_iter()
        .flatten()
        .find_map(parse_numeric_zone)
        .or_else(|| zones.into_iter().flatten().find_map(named_zone))
        .unwrap_or(0);
    to_system_time(i64::from(year), month, day, time, zone)
}

/// `1 Jan 2020 10:00:00 [zone]`, given the day and the words after the month.
fn rfc5322_date(day: &[u8], month: u32, words: &[&[u8]]) -> Option<SystemTime> {
    let (year, time, rest) = match words {
        [year, time, rest @ ..] => (year, time, rest),
        _ => return None,
    };
    let day = parse_number(day, 1, 2)?;
    let year = parse_number(year, 4, 4)?;
    let time = parse_time(time)?;
    let zone = rest.first().and_then(|word| parse_zone(word)).unwrap_or(0);
    to_system_time(i64::from(year), month, day, time, zone)
}

/// Four digits, or two as old mailers wrote them, read as mutt reads them:
/// 70–99 are 19xx and 00–69 are 20xx.
fn parse_asctime_year(word: &[u8]) -> Option<u32> {
    match word.len() {
        4 => parse_number(word, 4, 4),
        2 => parse_number(word, 2, 2).map(|yy| if yy < 70 { 2000 + yy } else { 1900 + yy }),
        _ => None,
    }
}

fn month_number(word: &[u8]) -> Option<u32> {
    let position = MONTHS
        .iter()
        .position(|month| word.eq_ignore_ascii_case(&month[..]))?;
    u32::try_from(position + 1).ok()
}

/// An unsigned decimal of `min..=max` digits; the length cap keeps absurd
/// numbers from overflowing.
fn parse_number(word: &[u8], min_digits: usize, max_digits: usize) -> Option<u32> {
    if word.len() < min_digits || word.len() > max_digits || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        word.iter()
            .fold(0, |n, &digit| n * 10 + u32::from(digit - b'0')),
    )
}

/// `H:MM`, `HH:MM`, `H:MM:SS` or `HH:MM:SS` as (hours, minutes, seconds).
fn parse_time(word: &[u8]) -> Option<(u32, u32, u32)> {
    let mut parts = word.split(|&b| b == b':');
    let hours = parse_number(parts.next()?, 1, 2)?;
    let minutes = parse_number(parts.next()?, 2, 2)?;
    let seconds = match parts.next() {
        Some(seconds) => parse_number(seconds, 2, 2)?,
        None => 0,
    };
    // 60 is a leap second, which asctime can print.
    let valid = parts.next().is_none() && hours < 24 && minutes < 60 && seconds <= 60;
    valid.then_some((hours, minutes, seconds))
}

/// A zone as seconds east of UTC: `+hhmm` / `-hhmm`, or an alphabetic name:
/// one of [`ZONE_NAMES`], else (ambiguous or unknown without a zone
/// database) UTC.
fn parse_zone(word: &[u8]) -> Option<i64> {
    match word {
        [b'+' | b'-', ..] => parse_numeric_zone(word),
        _ if (1..=5).contains(&word.len()) && word.iter().all(u8::is_ascii_alphabetic) => {
            Some(named_zone(word).unwrap_or(0))
        }
        _ => None,
    }
}

/// Zone names old mailers and From_ lines use, with their offsets in hours
/// (RFC 5322 §4.3's North American zones, and the common European and
/// Asia-Pacific ones). Names that mean several zones (IST, CST outside
/// North America) keep RFC 5322's meaning or are left out.
const ZONE_NAMES: [(&str, f32); 34] = [
    ("UT", 0.0),
    ("UTC", 0.0),
    ("GMT", 0.0),
    ("Z", 0.0),
    ("WET", 0.0),
    ("BST", 1.0),
    ("WEST", 1.0),
    ("CET", 1.0),
    ("MET", 1.0),
    ("MEZ", 1.0),
    ("CEST", 2.0),
    ("MEST", 2.0),
    ("MESZ", 2.0),
    ("EET", 2.0),
    ("EEST", 3.0),
    ("MSK", 3.0),
    ("HKT", 8.0),
    ("SGT", 8.0),
    ("AWST", 8.0),
    ("JST", 9.0),
    ("KST", 9.0),
    ("ACST", 9.5),
    ("AEST", 10.0),
    ("AEDT", 11.0),
    ("NZST", 12.0),
    ("NZDT", 13.0),
    ("EST", -5.0),
    ("EDT", -4.0),
    ("CST", -6.0),
    ("CDT", -5.0),
    ("MST", -7.0),
    ("MDT", -6.0),
    ("PST", -8.0),
    ("PDT", -7.0),
];

fn named_zone(word: &[u8]) -> Option<i64> {
    ZONE_NAMES
        .iter()
        .find(|(name, _)| word.eq_ignore_ascii_case(name.as_bytes()))
        .map(|&(_, hours)| (hours * 3600.0) as i64)
}

/// The date of a message's `Date:` header (RFC 5322: `[Wed,] 1 Jan 2020
/// 10:00:00 +0100`, zone names as above), for a From_ line that gives none.
fn header_date(raw: &[u8]) -> Option<SystemTime> {
    let value = crate::fingerprint::header_value(raw, "date")?;
    let words: Vec<&[u8]> = tokens(&value).collect();
    (1..words.len()).find_map(|anchor| {
        let month = month_number(words[anchor])?;
        let after = words.get(anchor + 1..).unwrap_or(&[]);
        rfc5322_date(words[anchor - 1], month, after)
    })
}

/// `+hhmm` / `-hhmm` (or `+hh:mm`, as ISO 8601 writers put it) as seconds
/// east of UTC.
fn parse_numeric_zone(word: &[u8]) -> Option<i64> {
    let [sign @ (b'+' | b'-'), digits @ ..] = word else {
        return None;
    };
    let (hours, minutes) = match digits {
        [h1, h2, b':', m1, m2] => (
            parse_number(&[*h1, *h2], 2, 2)?,
            parse_number(&[*m1, *m2], 2, 2)?,
        ),
        _ => {
            let hhmm = parse_number(digits, 4, 4)?;
            (hhmm / 100, hhmm % 100)
        }
    };
    if hours >= 24 || minutes >= 60 {
        return None;
    }
    let seconds = i64::from(hours * 3600 + minutes * 60);
    Some(if *sign == b'-' { -seconds } else { seconds })
}

fn to_system_time(
    year: i64,
    month: u32,
    day: u32,
    (hours, minutes, seconds): (u32, u32, u32),
    zone_east_seconds: i64,
) -> Option<SystemTime> {
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let local = days_from_civil(year, month, day) * SECONDS_PER_DAY
        + i64::from(hours * 3600 + minutes * 60 + seconds);
    let unix_seconds = local - zone_east_seconds;
    if unix_seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(unix_seconds.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(unix_seconds.unsigned_abs()))
    }
}

/// Earliest and latest dates the writer puts on a From_ line. The reader's
/// separator heuristic wants a 19xx/20xx year, so a date outside this range
/// is clamped to it rather than producing a file that reads back merged.
const EARLIEST_FROM_LINE_SECONDS: i64 = -2_208_988_800; // 1900-01-01T00:00:00Z
const LATEST_FROM_LINE_SECONDS: i64 = 4_102_444_799; // 2099-12-31T23:59:59Z

/// `Wed Jan  1 10:00:00 2020`, in UTC, as asctime(3) prints it.
fn asctime(time: SystemTime) -> String {
    let seconds = unix_seconds(time).clamp(EARLIEST_FROM_LINE_SECONDS, LATEST_FROM_LINE_SECONDS);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[(days + 4).rem_euclid(7) as usize];
    let month = MONTHS[(month as usize).saturating_sub(1) % 12];
    format!(
        "{weekday} {} {day:>2} {:02}:{:02}:{:02} {year}",
        String::from_utf8_lossy(&month[..]),
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    )
}

/// The asctime From_ line used by `write_message`, e.g.
/// `b"From MAILER-DAEMON Wed Jan  1 10:00:00 2020"`, without a line
/// terminator. A sender that is empty or contains whitespace or control bytes
/// would break the line apart, so `MAILER-DAEMON` stands in for it; dates
/// outside 1900–2099 are clamped to that range so the reader's separator
/// heuristic still recognises the line.
pub(crate) fn from_line(sender: &[u8], date: SystemTime) -> Vec<u8> {
    let sender = if is_plain_address(sender) {
        sender
    } else {
        b"MAILER-DAEMON"
    };
    let mut line = b"From ".to_vec();
    line.extend_from_slice(sender);
    line.push(b' ');
    line.extend_from_slice(asctime(date).as_bytes());
    line
}

/// Non-empty and free of whitespace and control bytes; 8-bit bytes are fine
/// (SMTPUTF8 addresses).
fn is_plain_address(address: &[u8]) -> bool {
    !address.is_empty() && address.iter().all(|&b| b > b' ' && b != 0x7f)
}

impl HeaderSection {
    /// The From_ line's sender: the envelope sender the message came with
    /// (from another mbox), else the `Return-Path` address, else
    /// `MAILER-DAEMON`.
    fn sender<'a>(&'a self, envelope_sender: Option<&'a [u8]>) -> &'a [u8] {
        envelope_sender
            .filter(|sender| is_plain_address(sender))
            .or(self.return_path.as_deref())
            .unwrap_or(b"MAILER-DAEMON")
    }
}

/// The sender word of a From_ line (`From SENDER date`), if it has one.
pub(crate) fn envelope_sender(from_line: &[u8]) -> Option<&[u8]> {
    let rest = without_line_terminator(from_line).strip_prefix(b"From ")?;
    tokens(rest)
        .next()
        .filter(|sender| is_plain_address(sender))
}

/// What the writer needs from the header section of a message.
struct HeaderSection {
    /// Where metadata headers go: the start of the first blank line, or the
    /// end of the message when it is all headers.
    end: usize,
    /// The address inside the first `Return-Path: <addr>` header.
    return_path: Option<Vec<u8>>,
    /// The message's own line ending, for the lines the writer adds.
    line_ending: &'static [u8],
}

fn header_section(raw: &[u8]) -> HeaderSection {
    let first_line_end = raw.iter().position(|&b| b == b'\n');
    let line_ending: &'static [u8] = match first_line_end {
        Some(newline) if newline > 0 && raw.get(newline - 1) == Some(&b'\r') => b"\r\n",
        _ => b"\n",
    };
    let mut return_path: Option<Vec<u8>> = None;
    let mut in_return_path = false;
    let mut position = 0;
    while position < raw.len() {
        let rest = &raw[position..];
        let line_len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |newline| newline + 1);
        let line = &rest[..line_len];
        // A lone `\r` can only be an unterminated last line; once the writer
        // ends it with `\n` it is a CRLF blank line, so metadata lines after
        // it would land in the body.
        if is_blank(line) || line == b"\r" {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let (true, Some(value)) = (in_return_path, return_path.as_mut()) {
                value.extend_from_slice(line);
            }
        } else {
            in_return_path = false;
            if return_path.is_none() {
                if let Some(value) = header_value(line, b"Return-Path") {
                    return_path = Some(value.to_vec());
                    in_return_path = true;
                }
            }
        }
        position += line_len;
    }
    let return_path = return_path.and_then(|value| {
        let address = value.trim_ascii().strip_prefix(b"<")?.strip_suffix(b">")?;
        is_plain_address(address).then(|| address.to_vec())
    });
    HeaderSection {
        end: position,
        return_path,
        line_ending,
    }
}

/// The value of `line` if it is the header `name` (case-insensitive).
fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let colon = line.iter().position(|&b| b == b':')?;
    line[..colon]
        .trim_ascii()
        .eq_ignore_ascii_case(name)
        .then(|| &line[colon + 1..])
}

/// A keyword survives an `X-Keywords` round trip only if it contains no
/// separator (comma, whitespace) and no control byte. IMAP atoms never do.
fn is_representable_keyword(keyword: &str) -> bool {
    !keyword.is_empty() && keyword.bytes().all(|b| b > b' ' && b != b',' && b != 0x7f)
}

/// The `Status` / `X-Status` / `X-Keywords` lines for non-empty `flags`.
fn metadata_lines(flags: &Flags, line_ending: &[u8]) -> Vec<u8> {
    let mut lines = Vec::new();
    // `O` marks the message as no longer new, which is true once it is copied.
    lines.extend_from_slice(if flags.seen {
        b"Status: RO"
    } else {
        b"Status: O"
    });
    lines.extend_from_slice(line_ending);
    let x_status: Vec<u8> = [
        (flags.answered, b'A'),
        (flags.flagged, b'F'),
        (flags.draft, b'T'),
        (flags.deleted, b'D'),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|&(_, letter)| letter)
    .collect();
    if !x_status.is_empty() {
        lines.extend_from_slice(b"X-Status: ");
        lines.extend_from_slice(&x_status);
        lines.extend_from_slice(line_ending);
    }
    let mut keywords = flags
        .keywords
        .iter()
        .filter(|keyword| is_representable_keyword(keyword))
        .peekable();
    if keywords.peek().is_some() {
        lines.extend_from_slice(b"X-Keywords:");
        for keyword in keywords {
            lines.push(b' ');
            lines.extend_from_slice(keyword.as_bytes());
        }
        lines.extend_from_slice(line_ending);
    }
    lines
}

/// Writes `text`, which starts at a line start, adding one `>` to each line
/// the format quotes (`^>*From ` for mboxrd, `^From ` for mboxo, none for
/// mboxcl2); unquoted runs go out in one `write_all`.
fn write_quoted<W: Write>(out: &mut W, text: &[u8], format: MboxFormat) -> io::Result<u64> {
    if format == MboxFormat::Mboxcl2 {
        out.write_all(text)?;
        return Ok(text.len() as u64);
    }
    let mut quote_marks = 0;
    let mut run_start = 0;
    let mut line_start = 0;
    while line_start < text.len() {
        let rest = &text[line_start..];
        let quote = match format {
            MboxFormat::Mboxo => rest.starts_with(b"From "),
            _ => needs_quoting(rest),
        };
        if quote {
            out.write_all(&text[run_start..line_start])?;
            out.write_all(b">")?;
            quote_marks += 1;
            run_start = line_start;
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(newline) => line_start += newline + 1,
            None => break,
        }
    }
    out.write_all(&text[run_start..])?;
    Ok(text.len() as u64 + quote_marks)
}

/// Writes one message in mboxrd form; returns the bytes written. See
/// [`write_message_as`].
pub fn write_message<W: Write>(
    out: &mut W,
    raw: &[u8],
    flags: &Flags,
    date: Option<SystemTime>,
) -> io::Result<u64> {
    write_message_as(out, raw, flags, date, None, MboxFormat::Mboxrd)
}

/// Writes one message in `format`; returns the bytes written.
///
/// The From_ line names the `Return-Path` address (else `MAILER-DAEMON`) and
/// `date` in UTC, or the current time when `date` is `None`. Non-empty
/// `flags` become `Status` / `X-Status` / `X-Keywords` headers at the end of
/// the header section; keywords an `X-Keywords` header cannot carry (with
/// whitespace, commas or control bytes) are left out. mboxcl2 adds a
/// `Content-Length` header there too, in place of any the message had. The
/// message is followed by one blank line. The From_ line, that blank line
/// and a missing final line end take the message's own line end (CRLF when
/// its first line ends so), so a CRLF mbox stays CRLF. A message that does
/// not end in `\n` cannot be stored exactly in mbox: it gains a line end.
pub fn write_message_as<W: Write>(
    out: &mut W,
    raw: &[u8],
    flags: &Flags,
    date: Option<SystemTime>,
    envelope_sender: Option<&[u8]>,
    format: MboxFormat,
) -> io::Result<u64> {
    if format == MboxFormat::Mboxcl2 {
        return write_mboxcl2(out, raw, flags, date, envelope_sender);
    }
    let headers = header_section(raw);
    // The From_ line, the separator and a missing final line end take the
    // message's own line end, so a CRLF mbox stays CRLF throughout.
    let eol = headers.line_ending;
    let sender = headers.sender(envelope_sender);
    let mut line = from_line(sender, date.unwrap_or_else(SystemTime::now));
    line.extend_from_slice(eol);
    out.write_all(&line)?;
    let mut written = line.len() as u64;

    let mut ends_with_newline = raw.is_empty() || raw.ends_with(b"\n");
    if flags.is_empty() {
        written += write_quoted(out, raw, format)?;
    } else {
        let (header_lines, rest) = raw.split_at(headers.end.min(raw.len()));
        written += write_quoted(out, header_lines, format)?;
        if !header_lines.is_empty() && !header_lines.ends_with(b"\n") {
            // Headers only, last line unterminated: end it before adding ours,
            // with the same line end any unterminated message gains.
            out.write_all(eol)?;
            written += eol.len() as u64;
        }
        let metadata = metadata_lines(flags, headers.line_ending);
        out.write_all(&metadata)?;
        written += metadata.len() as u64;
        written += write_quoted(out, rest, format)?;
        ends_with_newline |= rest.is_empty();
    }

    if !ends_with_newline {
        out.write_all(eol)?;
        written += eol.len() as u64;
    }
    out.write_all(eol)?;
    written += eol.len() as u64;
    Ok(written)
}

/// mboxcl2: the From_ line, the header section without the message's own
/// `Content-Length` (the mailbox's replaces it) and with the metadata
/// headers, then the body unquoted, its size in `Content-Length`.
fn write_mboxcl2<W: Write>(
    out: &mut W,
    raw: &[u8],
    flags: &Flags,
    date: Option<SystemTime>,
    envelope_sender: Option<&[u8]>,
) -> io::Result<u64> {
    let headers = header_section(raw);
    let sender = headers.sender(envelope_sender);
    let eol = headers.line_ending;
    let mut head = from_line(sender, date.unwrap_or_else(SystemTime::now));
    head.extend_from_slice(eol);
    let (header_lines, rest) = raw.split_at(headers.end.min(raw.len()));
    let mut skipping = false;
    for line in header_lines.split_inclusive(|&b| b == b'\n') {
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if !skipping {
                head.extend_from_slice(line);
            }
            continue;
        }
        skipping = header_value(line, b"Content-Length").is_some();
        if !skipping {
            head.extend_from_slice(line);
        }
    }
    if !head.ends_with(b"\n") {
        head.extend_from_slice(eol);
    }
    if !flags.is_empty() {
        head.extend_from_slice(&metadata_lines(flags, eol));
    }
    // The body is what follows the header section's blank line; a message
    // of headers only gets an empty body (and the blank line mbox needs).
    let body = rest
        .strip_prefix(eol)
        .or_else(|| rest.strip_prefix(b"\n"))
        .unwrap_or(rest);
    let blank = &rest[..rest.len() - body.len()];
    let mut body = body.to_vec();
    if !body.is_empty() && !body.ends_with(b"\n") {
        body.extend_from_slice(eol);
    }
    head.extend_from_slice(format!("Content-Length: {}", body.len()).as_bytes());
    head.extend_from_slice(eol);
    head.extend_from_slice(if blank.is_empty() { eol } else { blank });
    out.write_all(&head)?;
    out.write_all(&body)?;
    out.write_all(eol)?;
    Ok((head.len() + body.len() + eol.len()) as u64)
}

/// What to write before appending a message to an existing mbox file, so that
/// the new From_ line follows a blank line and is read as a separator; a file
/// another program wrote may lack that blank line.
///
/// `file_tail` is the file's last 3 bytes (all of them if the file is
/// shorter; empty for an empty file). Three bytes are needed to see a CRLF
/// blank line (`\n\r\n`); with fewer, the answer errs towards one more `\n`,
/// which can add a blank line to the previous message but never merges the
/// new message into it.
pub(crate) fn append_padding(file_tail: &[u8]) -> &'static [u8] {
    let ends_with_blank_line =
        file_tail.is_empty() || file_tail.ends_with(b"\n\n") || file_tail.ends_with(b"\n\r\n");
    if ends_with_blank_line {
        b""
    } else if file_tail.ends_with(b"\n") {
        b"\n"
    } else {
        b"\n\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2020-01-01T10:00:00Z, the date most tables write.
    const NEW_YEAR_TEN_AM: i64 = 1_577_872_800;
    const NEW_YEAR_FROM_LINE: &str = "From MAILER-DAEMON Wed Jan  1 10:00:00 2020\n";

    fn at(seconds: i64) -> SystemTime {
        if seconds >= 0 {
            UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
        }
    }

    /// `system` holds the letters S(een) A(nswered) F(lagged) D(eleted) T (draft).
    fn flags(system: &str, keywords: &[&str]) -> Flags {
        let mut flags = Flags {
            seen: system.contains('S'),
            answered: system.contains('A'),
            flagged: system.contains('F'),
            deleted: system.contains('D'),
            draft: system.contains('T'),
            keywords: Vec::new(),
        };
        for keyword in keywords {
            flags.add_keyword(keyword);
        }
        flags
    }

    fn read_all(file: &[u8]) -> Vec<MboxEntry> {
        MboxReader::new(file, 0)
            .collect::<io::Result<Vec<_>>>()
            .expect("test file reads")
    }

    fn write_all(messages: &[(&[u8], Flags, SystemTime)]) -> Vec<u8> {
        let mut file = Vec::new();
        for (raw, flags, date) in messages {
            let written = write_message(&mut file, raw, flags, Some(*date)).expect("Vec write");
            assert!(written > 0);
        }
        file
    }

    /// Every entry ends where the next starts, the first starts at `offset`
    /// and the last ends at the end of the file.
    fn assert_offsets_tile(entries: &[MboxEntry], offset: u64, file_len: usize) {
        let mut expected_start = offset;
        for entry in entries {
            assert_eq!(entry.start, expected_start, "entry {entry:?}");
            assert!(entry.end > entry.start, "entry {entry:?}");
            expected_start = entry.end;
        }
        assert_eq!(expected_start, file_len as u64);
    }

    /// `NEW_YEAR_FROM_LINE` ended the way the writer ends it for `raw`.
    fn new_year_from_line(raw: &[u8]) -> Vec<u8> {
        let mut line = NEW_YEAR_FROM_LINE.trim_end().as_bytes().to_vec();
        line.extend_from_slice(header_section(raw).line_ending);
        line
    }

    fn show(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn from_line_dates_parse_in_every_supported_form() {
        let cases: &[(&[u8], i64)] = &[
            (b"From a Wed Jan  1 10:00:00 2020", NEW_YEAR_TEN_AM),
            (b"From a Wed Jan 01 10:00:00 2020", NEW_YEAR_TEN_AM),
            (b"From a Wed Jan 1 10:00:00 2020", NEW_YEAR_TEN_AM),
            (b"From a Wed Jan 1 10:00:00 2020\r\n", NEW_YEAR_TEN_AM),
            (b"From a Wed Jan 1 10:00 2020", NEW_YEAR_TEN_AM),
            (b"From a\tWed\tJan 1 10:00:00 2020", NEW_YEAR_TEN_AM),
            (b"From a Wed JAN 1 10:00:00 2020", NEW_YEAR_TEN_AM),
            (
                b"From a Wed Jan 1 10:00:00 2020 +0100",
                NEW_YEAR_TEN_AM - 3600,
            ),
            (
                b"From a Wed Jan 1 10:00:00 +0100 2020",
                NEW_YEAR_TEN_AM - 3600,
            ),
            (
                b"From a Wed Jan 1 10:00:00 -0230 2020",
                NEW_YEAR_TEN_AM + 9000,
            ),
            (b"From a Wed Jan 1 10:00:00 GMT 2020", NEW_YEAR_TEN_AM),
            (
                b"From a Wed Jan 1 10:00:00 CET 2020 +0100",
                NEW_YEAR_TEN_AM - 3600,
            ),
            (
                b"From a Wed Jan 1 10:00:00 2020 +01:00",
                NEW_YEAR_TEN_AM - 3600,
            ),
            (
                b"From a Wed Jan 1 10:00:00 -05:30 2020",
                NEW_YEAR_TEN_AM + 19_800,
            ),
            (
                b"From a Wed Jan 1 10:00:00 +0100 2020 GMT",
                NEW_YEAR_TEN_AM - 3600,
            ),
            (
                b"From a Wed Jan 1 10:00:00 2020 remote from uucp",
                NEW_YEAR_TEN_AM,
            ),
            (b"From a Wed Jan 1 9:05 2020", NEW_YEAR_TEN_AM - 3300),
            (b"From - Mon Jan 01 00:00:00 2001", 978_307_200),
            (b"From Jan Wed Jan 1 10:00:00 2020", NEW_YEAR_TEN_AM),
            (b"From \xff\xfe Wed Jan 1 10:00:00 2020", NEW_YEAR_TEN_AM),
            (b"From a Thu Feb 29 23:59:59 2024", 1_709_251_199),
            (b"From a Sat Dec 31 23:59:60 2016", 1_483_228_800),
            (b"From a Sat Dec 31 23:59:59 1960", -283_996_801),
            (
                b"From a Wed, 1 Jan 2020 10:00:00 +0100",
                NEW_YEAR_TEN_AM - 3600,
            ),
            (b"From a 1 Jan 2020 10:00:00", NEW_YEAR_TEN_AM),
            (b"From a Fri Jan  1 10:00:00 99", 915_184_800),
            (b"From a Wed Jan  1 10:00:00 20", NEW_YEAR_TEN_AM),
            (b"From a Tue Jan  1 10:00:00 69", 3_124_260_000),
            (b"From a Thu Jan  1 10:00:00 70", 36_000),
        ];
        for (line, seconds) in cases {
            assert_eq!(
                parse_from_line_date(line),
                Some(at(*seconds)),
                "{}",
                show(line)
            );
        }
    }

    #[test]
    fn unparseable_from_lines_have_no_date() {
        let cases: &[&[u8]] = &[
            b"",
            b"From",
            b"From ",
            b"From a",
            b"From a Jan",
            b"From a Wed Jan 1 10:00:00",
            b"From a Wed Jan 32 10:00:00 2020",
            b"From a Wed Jan 0 10:00:00 2020",
            b"From a Sun Feb 29 10:00:00 2021",
            b"From a Wed Jan 1 24:00:00 2020",
            b"From a Wed Jan 1 10:60 2020",
            b"From a Wed Jan 1 1:2:3 2020",
            b"From a Wed Jan 1 10:00:00:00 2020",
            b"From a Wed Jan 1 10:00:00 20200",
            b"From a Wed Jan 1 10:00:00 202",
            b"From a Wed Jan 1 10:00:00 2",
            b"From a Wed Jan 1 10:00:00 +2500 2020",
            b"From a Wed Jan 1 10:00:00 +25:00 2020",
            b"From a Wed Jan 1 10:00:00 +1:00 2020",
            b"From a Wed Foo 1 10:00:00 2020",
            b"From a Wed Jan 99999999999999999999 10:00:00 2020",
            b"From a Wed Jan 1 99999999999999999999:00 2020",
            b"From \xff\xfe Jan \xff 10:00 2020",
            b"Sender Wed Jan 1 10:00:00 2020",
        ];
        for line in cases {
            assert_eq!(parse_from_line_date(line), None, "{}", show(line));
        }
    }

    #[test]
    fn separator_heuristic_needs_a_year_and_a_time_after_the_sender() {
        let cases: &[(&[u8], bool)] = &[
            (b"From a Wed Jan  1 10:00:00 2020\n", true),
            (b"From - Mon Jan 01 00:00:00 2001\r\n", true),
            (b"From a 1999 9:30\n", true),
            (b"From \xff\xfe 10:00 2020\n", true),
            (b"From a Wed Jan 1 10:00:00 2020", true),
            // Prose with a year and a time is indistinguishable; RFC 4155
            // puts the blame on the writer that left it unquoted.
            (b"From 1999 until 2005 we met at 10:30\n", true),
            (b"From here on we meet at 10:30.\n", false),
            (b"From the 2020 meeting\n", false),
            (b"From a Wed Jan 1 2020\n", false),
            (b"From a Fri Jan  1 10:00:00 99\n", true),
            (b"From a Fri Jan  1 10:00:00 PST 99\n", true),
            (b"From the 99 reasons at 10:00\n", false),
            (b"From a Fri Jan  1 10:00:00 999\n", false),
            (b"From a 10:00:00 1899\n", false),
            (b"From a 10:00:00 2100\n", false),
            (b"From a 123:00 2020\n", false),
            (b"From 10:00 2020\n", false),
            (b"From \n", false),
            (b"From\n", false),
            (b">From a Wed Jan 1 10:00:00 2020\n", false),
        ];
        for (line, expected) in cases {
            assert_eq!(is_separator(line), *expected, "{}", show(line));
        }
    }

    #[test]
    fn writer_quotes_from_lines_and_ends_with_one_blank_line() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b"\n"),
            (b"A: b\n", b"A: b\n\n"),
            (
                b"A: b\n\nFrom x\n>From y\n>>From z\r\nFrom\nFromage\n >From w\n",
                b"A: b\n\n>From x\n>>From y\n>>>From z\r\n\
                  From\nFromage\n >From w\n\n",
            ),
            (b"From x\n\nFrom y", b">From x\n\n>From y\n\n"),
            (b"A: b\n\nno newline", b"A: b\n\nno newline\n\n"),
            (b"A: b\n\nbare CR\r", b"A: b\n\nbare CR\r\n\n"),
            // A CRLF message gets a CRLF From_ line and separator.
            (b"A: b\r\n\r\nx\r\n", b"A: b\r\n\r\nx\r\n\r\n"),
        ];
        for (raw, expected_after_from_line) in cases {
            let mut file = Vec::new();
            let written =
                write_message(&mut file, raw, &Flags::default(), Some(at(NEW_YEAR_TEN_AM)))
                    .expect("Vec write");
            let mut expected = new_year_from_line(raw);
            expected.extend_from_slice(expected_after_from_line);
            assert_eq!(show(&file), show(&expected), "raw {}", show(raw));
            assert_eq!(written, file.len() as u64);
        }
    }

    #[test]
    fn writer_puts_flags_at_the_end_of_the_header_section() {
        let cases: &[(&[u8], Flags, &[u8])] = &[
            (
                b"A: b\n\nbody\n",
                flags("SAFTD", &["$a", "b"]),
                b"A: b\nStatus: RO\nX-Status: AFTD\nX-Keywords: $a b\n\nbody\n\n",
            ),
            (
                b"A: b\n\nbody\n",
                flags("", &["k"]),
                b"A: b\nStatus: O\nX-Keywords: k\n\nbody\n\n",
            ),
            (
                b"A: b\n\nbody\n",
                flags("D", &[]),
                b"A: b\nStatus: O\nX-Status: D\n\nbody\n\n",
            ),
            (b"A: b\n c\n", flags("S", &[]), b"A: b\n c\nStatus: RO\n\n"),
            (b"A: b", flags("S", &[]), b"A: b\nStatus: RO\n\n"),
            (b"", flags("S", &[]), b"Status: RO\n\n"),
            (
                b"\nbody\n",
                flags("", &["k"]),
                b"Status: O\nX-Keywords: k\n\nbody\n\n",
            ),
            (
                b"A: b\r\n\r\nx\r\n",
                flags("SF", &[]),
                b"A: b\r\nStatus: RO\r\nX-Status: F\r\n\r\nx\r\n\r\n",
            ),
            (
                b"A: b\r\n\n",
                flags("S", &[]),
                b"A: b\r\nStatus: RO\r\n\n\r\n",
            ),
            (
                b"From x\n\nb\n",
                flags("S", &[]),
                b">From x\nStatus: RO\n\nb\n\n",
            ),
            (
                b"A: b\n\nFrom x",
                flags("S", &[]),
                b"A: b\nStatus: RO\n\n>From x\n\n",
            ),
            (
                b"A: b\n\nc\n",
                flags("", &["ok", "two words", "com,ma", "new\nline", ""]),
                b"A: b\nStatus: O\nX-Keywords: ok\n\nc\n\n",
            ),
            (
                b"A: b\n\nc\n",
                flags("", &["new\nline"]),
                b"A: b\nStatus: O\n\nc\n\n",
            ),
        ];
        for (raw, flags, expected_after_from_line) in cases {
            let mut file = Vec::new();
            let written =
                write_message(&mut file, raw, flags, Some(at(NEW_YEAR_TEN_AM))).expect("Vec write");
            let mut expected = new_year_from_line(raw);
            expected.extend_from_slice(expected_after_from_line);
            assert_eq!(
                show(&file),
                show(&expected),
                "raw {} flags {flags:?}",
                show(raw)
            );
            assert_eq!(written, file.len() as u64);
        }
    }

    /// Found by the `mboxrd` fuzz target, input `F\n\r`
    /// (fuzz/regressions/mboxrd/lone-cr: two bytes choosing flags and date,
    /// then the message `\r`). The `\n` that ends an unterminated `\r` line
    /// made it a blank line, so the flag headers went into the body and the
    /// flags were lost.
    #[test]
    fn regression_fuzz_lone_cr_last_line_keeps_flags_in_the_header_section() {
        for raw in [&b"\r"[..], b"A: b\n\r", b"A: b\r\n\r"] {
            let flags = flags("AF", &["Junk"]);
            let mut file = Vec::new();
            write_message(&mut file, raw, &flags, Some(at(NEW_YEAR_TEN_AM))).expect("Vec write");
            let entries = read_all(&file);
            assert_eq!(entries.len(), 1, "{}", show(&file));
            let mut expected = raw.to_vec();
            expected.extend_from_slice(header_section(raw).line_ending);
            assert_eq!(show(&entries[0].raw), show(&expected), "{}", show(&file));
            assert_eq!(entries[0].flags, flags, "{}", show(&file));
        }
    }

    #[test]
    fn writer_names_the_return_path_address_only_when_it_is_plain() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"Return-Path: <a@b>\n\nx\n", b"a@b"),
            (b"return-path:   <a@b>  \n", b"a@b"),
            (b"Return-Path : <a@b>\n", b"a@b"),
            (b"Return-Path: <a@b>", b"a@b"),
            (b"Return-Path: <a@b>\r\n\r\n", b"a@b"),
            (b"Return-Path:\n <a@b>\n", b"a@b"),
            (
                b"Subject: s\nReturn-Path: <first@x>\nReturn-Path: <second@x>\n",
                b"first@x",
            ),
            (b"Return-Path: <\xc3\xa9@x>\n", b"\xc3\xa9@x"),
            (b"Return-Path: <>\n", b"MAILER-DAEMON"),
            (
                b"Return-Path: <>\nReturn-Path: <second@x>\n",
                b"MAILER-DAEMON",
            ),
            (b"Return-Path: a@b\n", b"MAILER-DAEMON"),
            (b"Return-Path: <a b@c>\n", b"MAILER-DAEMON"),
            (b"Return-Path: <a@b\n", b"MAILER-DAEMON"),
            (b"Return-Path: <a@b>\n (comment)\n", b"MAILER-DAEMON"),
            (b"Return-Path: <a\x01@b>\n", b"MAILER-DAEMON"),
            (b"X-Return-Path: <a@b>\n", b"MAILER-DAEMON"),
            (b"A: b\n\nReturn-Path: <body@x>\n", b"MAILER-DAEMON"),
            (b"", b"MAILER-DAEMON"),
        ];
        for (raw, sender) in cases {
            let mut file = Vec::new();
            write_message(&mut file, raw, &Flags::default(), Some(at(NEW_YEAR_TEN_AM)))
                .expect("Vec write");
            let mut expected = b"From ".to_vec();
            expected.extend_from_slice(sender);
            expected.extend_from_slice(b" Wed Jan  1 10:00:00 2020");
            expected.extend_from_slice(header_section(raw).line_ending);
            assert!(
                file.starts_with(&expected),
                "raw {} gave {}",
                show(raw),
                show(&file)
            );
        }
    }

    #[test]
    fn from_line_formats_asctime_in_utc_and_refuses_senders_that_break_the_line() {
        let cases: &[(&[u8], i64, &[u8])] = &[
            (
                b"MAILER-DAEMON",
                NEW_YEAR_TEN_AM,
                b"From MAILER-DAEMON Wed Jan  1 10:00:00 2020",
            ),
            (b"a@b", 978_307_200, b"From a@b Mon Jan  1 00:00:00 2001"),
            (b"a@b", 1_709_251_199, b"From a@b Thu Feb 29 23:59:59 2024"),
            (b"a@b", 0, b"From a@b Thu Jan  1 00:00:00 1970"),
            (b"a@b", -283_996_801, b"From a@b Sat Dec 31 23:59:59 1960"),
            // Clamped into 1900..=2099 so the separator heuristic still matches.
            (b"a@b", -9_000_000_000, b"From a@b Mon Jan  1 00:00:00 1900"),
            (b"a@b", 9_000_000_000, b"From a@b Thu Dec 31 23:59:59 2099"),
            (
                b"",
                NEW_YEAR_TEN_AM,
                b"From MAILER-DAEMON Wed Jan  1 10:00:00 2020",
            ),
            (
                b"a b",
                NEW_YEAR_TEN_AM,
                b"From MAILER-DAEMON Wed Jan  1 10:00:00 2020",
            ),
            (
                b"a\nFrom",
                NEW_YEAR_TEN_AM,
                b"From MAILER-DAEMON Wed Jan  1 10:00:00 2020",
            ),
        ];
        for (sender, seconds, expected) in cases {
            assert_eq!(show(&from_line(sender, at(*seconds))), show(expected));
        }
        let before_epoch_with_nanos = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(
            show(&from_line(b"a@b", before_epoch_with_nanos)),
            "From a@b Wed Dec 31 23:59:58 1969"
        );
    }

    #[test]
    fn reader_turns_metadata_headers_into_flags_and_removes_them() {
        let cases: &[(&[u8], &[u8], Flags)] = &[
            (
                b"Status: RO\nSubject: x\n\nbody\n",
                b"Subject: x\n\nbody\n",
                flags("S", &[]),
            ),
            (b"Status: O\nA: b\n", b"A: b\n", flags("", &[])),
            (b"Status: R\n", b"", flags("S", &[])),
            (b"Status : R\n", b"", flags("S", &[])),
            (b"STATUS: R\n", b"", flags("S", &[])),
            (b"X-Status: AFTD\n\nb\n", b"\nb\n", flags("AFTD", &[])),
            (b"X-Status: F\n", b"", flags("F", &[])),
            (b"X-Status: aftd\n", b"", flags("", &[])),
            (
                b"X-Keywords: $a, b,c  d\n",
                b"",
                flags("", &["$a", "b", "c", "d"]),
            ),
            (b"X-Keywords: a a b\n", b"", flags("", &["a", "b"])),
            (
                b"x-keywords: a\nX-KEYWORDS: b\n",
                b"",
                flags("", &["a", "b"]),
            ),
            (
                b"X-Keywords: a,\n b\n\tc\nSubject: s\n",
                b"Subject: s\n",
                flags("", &["a", "b", "c"]),
            ),
            (b"X-Keywords:\n", b"", flags("", &[])),
            (
                b"X-Keywords: caf\xc3\xa9 \xff\n",
                b"",
                flags("", &["caf\u{e9}", "\u{fffd}"]),
            ),
            (
                b"X-UID: 5\nX-IMAP: 1 2\nX-IMAPbase: 1 2\n  3\nA: b\n",
                b"A: b\n",
                flags("", &[]),
            ),
            (
                b"Status: RO\r\nA: b\r\n\r\nx\r\n",
                b"A: b\r\n\r\nx\r\n",
                flags("S", &[]),
            ),
            (
                b"A: b\n\nStatus: R\nX-Keywords: k\nX-UID: 1\n",
                b"A: b\n\nStatus: R\nX-Keywords: k\nX-UID: 1\n",
                flags("", &[]),
            ),
            (
                b"Subject: x\n folded\n",
                b"Subject: x\n folded\n",
                flags("", &[]),
            ),
            (
                b" leading continuation\nA: b\n",
                b" leading continuation\nA: b\n",
                flags("", &[]),
            ),
            (
                b"Content-Length: 5\n",
                b"Content-Length: 5\n",
                flags("", &[]),
            ),
            (
                b"Statusx: R\nStatus\nX-Statuses: A\n",
                b"Statusx: R\nStatus\nX-Statuses: A\n",
                flags("", &[]),
            ),
            (b">From x\nStatus: R\n", b"From x\n", flags("S", &[])),
        ];
        for (message, expected_raw, expected_flags) in cases {
            let mut file = b"From a Wed Jan 1 10:00:00 2020\n".to_vec();
            file.extend_from_slice(message);
            file.push(b'\n');
            let entries = read_all(&file);
            assert_eq!(entries.len(), 1, "message {}", show(message));
            assert_eq!(
                show(&entries[0].raw),
                show(expected_raw),
                "message {}",
                show(message)
            );
            assert_eq!(
                &entries[0].flags,
                expected_flags,
                "message {}",
                show(message)
            );
        }
    }

    #[test]
    fn three_messages_give_three_entries_including_the_last() {
        let file = b"From a Wed Jan 1 10:00:00 2020\nSubject: 1\n\none\n\n\
                     From b Wed Jan 1 11:00:00 2020\nSubject: 2\n\ntwo\n\n\
                     From c Wed Jan 1 12:00:00 2020\nSubject: 3\n\nthree\n\n";
        let entries = read_all(file);
        let raws: Vec<String> = entries.iter().map(|entry| show(&entry.raw)).collect();
        assert_eq!(
            raws,
            [
                "Subject: 1\n\none\n",
                "Subject: 2\n\ntwo\n",
                "Subject: 3\n\nthree\n"
            ]
        );
        let from_lines: Vec<String> = entries.iter().map(|entry| show(&entry.from_line)).collect();
        assert_eq!(
            from_lines,
            [
                "From a Wed Jan 1 10:00:00 2020",
                "From b Wed Jan 1 11:00:00 2020",
                "From c Wed Jan 1 12:00:00 2020"
            ]
        );
        let dates: Vec<Option<SystemTime>> = entries.iter().map(|entry| entry.date).collect();
        assert_eq!(
            dates,
            [
                Some(at(NEW_YEAR_TEN_AM)),
                Some(at(NEW_YEAR_TEN_AM + 3600)),
                Some(at(NEW_YEAR_TEN_AM + 7200))
            ]
        );
        assert_eq!((entries[0].start, entries[0].end), (0, 48));
        assert_offsets_tile(&entries, 0, file.len());
    }

    /// A From_ line first, after blank lines at most.
    fn starts_with_from_line(file: &[u8]) -> bool {
        let blanks = file
            .split_inclusive(|&b| b == b'\n')
            .take_while(|line| is_blank(line))
            .map(<[u8]>::len)
            .sum::<usize>();
        file[blanks..].starts_with(b"From ")
    }

    fn read_format(file: &[u8], format: MboxFormat) -> (Vec<MboxEntry>, Vec<Note>) {
        let mut reader = MboxReader::with_format(file, 0, format);
        let entries = reader
            .by_ref()
            .collect::<io::Result<Vec<_>>>()
            .expect("test file reads");
        let notes = reader.take_notes();
        assert_offsets_tile(&entries, 0, file.len());
        (entries, notes)
    }

    fn subjects(entries: &[MboxEntry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| {
                crate::fingerprint::header_value(&e.raw, "subject")
                    .map(|v| show(&v))
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn a_from_line_followed_by_a_header_block_starts_a_message_without_a_blank_line() {
        // Pipermail archives, and a message after a signature.
        let file = b"From alice at example.org  Mon Jan  1 10:00:00 2007\n\
From: alice at example.org (Alice)\n\
Date: Mon, 1 Jan 2007 10:00:00 +0000\n\
Subject: one\n\
\n\
text\n\
-- \n\
Alice\n\
From bob at example.org  Mon Jan  1 11:00:00 2007\n\
From: bob at example.org (Bob)\n\
Date: Mon, 1 Jan 2007 11:00:00 +0000\n\
Subject: two\n\
\n\
From now on, all is well.\n\
From the desk of Bob Mon Jan  1 11:00:00 2007\n\
and more text\n";
        let (entries, notes) = read_format(file, MboxFormat::Mboxrd);
        assert_eq!(subjects(&entries), ["one", "two"]);
        assert!(
            entries[0].raw.ends_with(b"-- \nAlice\n"),
            "{}",
            show(&entries[0].raw)
        );
        // Lines that are not followed by a header block stay in the body.
        assert!(entries[1]
            .raw
            .ends_with(b"From the desk of Bob Mon Jan  1 11:00:00 2007\nand more text\n"));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].text.starts_with("1 message began"), "{notes:?}");
    }

    #[test]
    fn a_forwarded_mailbox_stays_in_its_mime_part() {
        let file = b"From a@x Mon Jan  1 10:00:00 2007\n\
From: a@x\n\
Subject: outer\n\
Content-Type: multipart/mixed;\n boundary=\"XYZ\"\n\
\n\
--XYZ\n\
Content-Type: text/plain\n\
\n\
see attached\n\
--XYZ\n\
Content-Type: application/mbox\n\
\n\
From b@x Mon Jan  1 09:00:00 2007\n\
From: b@x\n\
Subject: inner one\n\
\n\
body\n\
\n\
From c@x Mon Jan  1 09:30:00 2007\n\
From: c@x\n\
Subject: inner two\n\
\n\
body\n\
\n\
--XYZ--\n\
\n\
From d@x Mon Jan  1 11:00:00 2007\n\
From: d@x\n\
Subject: next\n\
\n\
body\n";
        let (entries, notes) = read_format(file, MboxFormat::Mboxrd);
        assert_eq!(subjects(&entries), ["outer", "next"]);
        assert_eq!(notes.len(), 2, "one note per From_ line kept: {notes:?}");
        assert!(notes[0].text.contains("`--XYZ--` closes"), "{notes:?}");
    }

    #[test]
    fn an_included_message_block_stays_whole_and_an_unclosed_part_does_not_swallow_the_rest() {
        let file = b"From a@x Mon Jan  1 10:00:00 1996\n\
Subject: with inclusion\n\
\n\
----- Begin Included Message -----\n\
\n\
From b@x Mon Jan  1 09:00:00 1996\n\
From: b@x\n\
Subject: included\n\
\n\
old text\n\
\n\
----- End Included Message -----\n\
\n\
From c@x Mon Jan  1 11:00:00 1996\n\
Subject: cut short\n\
Content-Type: multipart/mixed; boundary=NEVER\n\
\n\
--NEVER\n\
\n\
From d@x Mon Jan  1 12:00:00 1996\n\
From: d@x\n\
Subject: after\n\
\n\
body\n";
        let (entries, _) = read_format(file, MboxFormat::Mboxrd);
        assert_eq!(subjects(&entries), ["with inclusion", "cut short", "after"]);
    }

    #[test]
    fn a_content_length_that_agrees_with_the_file_keeps_from_lines_in_the_body() {
        let body = b"line\n\nFrom x@y Mon Jan  1 10:00:00 2007\nFrom: x@y\nSubject: fake\n\nmore\n";
        let mut file = b"From a@x Mon Jan  1 10:00:00 2007\nSubject: real\n".to_vec();
        file.extend_from_slice(format!("Content-Length: {}\n\n", body.len()).as_bytes());
        file.extend_from_slice(body);
        file.extend_from_slice(b"\nFrom b@x Mon Jan  1 11:00:00 2007\nSubject: next\n\nb\n");
        let (entries, notes) = read_format(&file, MboxFormat::Mboxrd);
        assert_eq!(subjects(&entries), ["real", "next"]);
        assert!(entries[0].raw.ends_with(body), "{}", show(&entries[0].raw));
        assert!(notes[0].text.contains("Content-Length"), "{notes:?}");

        // mboxcl2: the length decides, nothing is unquoted, and the header
        // is the mailbox's.
        let body = b">From kept\nFrom x@y Mon Jan  1 10:00:00 2007\n";
        let mut file = b"From a@x Mon Jan  1 10:00:00 2007\nSubject: cl2\n".to_vec();
        file.extend_from_slice(format!("Content-Length: {}\n\n", body.len()).as_bytes());
        file.extend_from_slice(body);
        file.extend_from_slice(
            b"\nFrom b@x Mon Jan  1 11:00:00 2007\nSubject: next\nContent-Length: 2\n\nb\n",
        );
        let (entries, _) = read_format(&file, MboxFormat::Mboxcl2);
        assert_eq!(subjects(&entries), ["cl2", "next"]);
        assert_eq!(
            show(&entries[0].raw),
            show(b"Subject: cl2\n\n>From kept\nFrom x@y Mon Jan  1 10:00:00 2007\n")
        );
        assert_eq!(entries[1].raw, b"Subject: next\n\nb\n");
    }

    #[test]
    fn mboxo_unquotes_only_one_level_of_from() {
        let file = b"From a@x Mon Jan  1 10:00:00 2007\nSubject: q\n\n>From one\n>>From two\n";
        let (mboxo, _) = read_format(file, MboxFormat::Mboxo);
        assert_eq!(mboxo[0].raw, b"Subject: q\n\nFrom one\n>>From two\n");
        let (mboxrd, _) = read_format(file, MboxFormat::Mboxrd);
        assert_eq!(mboxrd[0].raw, b"Subject: q\n\nFrom one\n>From two\n");
    }

    #[test]
    fn a_placeholder_or_missing_from_line_date_gives_way_to_the_date_header() {
        let file = b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n\
Date: Tue, 2 Jun 1998 14:30:00 MEST\n\
Subject: old\n\
\n\
body\n\
\n\
From x@y Wed Jun  3 10:00:00 EDT 1998\n\
Date: Thu, 1 Jan 2004 00:00:00 +0000\n\
\n\
body\n";
        let (entries, _) = read_format(file, MboxFormat::Mboxrd);
        let dates: Vec<i64> = entries
            .iter()
            .map(|e| crate::date::unix_seconds(e.date.expect("a date")))
            .collect();
        // 14:30 MEST is 12:30 UTC; EDT is four hours behind UTC.
        assert_eq!(dates, [896_790_600, 896_882_400]);
        // The first line of a file opens a message even without a date.
        let (entries, _) = read_format(
            b"From someone@example.org\nDate: 3 Jun 1998 09:00:00 -0400\n\nbody\n",
            MboxFormat::Mboxrd,
        );
        assert_eq!(
            entries[0].date.map(crate::date::unix_seconds),
            Some(896_878_800)
        );
    }

    #[test]
    fn blank_lines_before_the_first_from_line_belong_to_the_first_message() {
        let file = b"\n\r\nFrom a Wed Jan  1 10:00:00 2020\nSubject: x\n\nbody\n";
        let entries = read_all(file);
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].start, entries[0].end), (0, file.len() as u64));
        assert_eq!(entries[0].raw, b"Subject: x\n\nbody\n");
        assert_eq!(entries[0].from_line, b"From a Wed Jan  1 10:00:00 2020");
    }

    #[test]
    fn file_not_starting_with_a_from_line_is_invalid_data_and_ends_the_iteration() {
        for file in [&b"Subject: x\n\nbody\n"[..], b"\n\nSubject: x\n", b"From"] {
            let mut reader = MboxReader::new(file, 0);
            let err = match reader.next() {
                Some(Err(err)) => err,
                other => panic!("expected an error for {}, got {other:?}", show(file)),
            };
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert_eq!(err.to_string(), "does not start with a `From ` line");
            assert!(reader.next().is_none());
        }
    }

    #[test]
    fn resuming_at_an_offset_that_is_not_a_boundary_is_invalid_data() {
        let mut reader = MboxReader::new(&b"body\n"[..], 42);
        let err = match reader.next() {
            Some(Err(err)) => err,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            err.to_string(),
            "byte 42 does not start with a `From ` line"
        );
    }

    #[test]
    fn empty_file_has_no_messages() {
        assert!(read_all(b"").is_empty());
        assert!(MboxReader::new(&b""[..], 100).next().is_none());
    }

    #[test]
    fn truncated_last_message_keeps_its_bytes() {
        let cases: &[(&[u8], &[u8])] = &[
            (
                b"A: b\n\nbody without newline",
                b"A: b\n\nbody without newline",
            ),
            (b"A: b\n\nbody\n", b"A: b\n\nbody\n"),
            (b"A: b\n\nbody\r\n", b"A: b\n\nbody\r\n"),
            (b"A: b\n\nbody\r", b"A: b\n\nbody\r"),
            (b"A: b", b"A: b"),
            (b"", b""),
            // Only one blank line belongs to the separator.
            (b"A: b\n\nbody\n\n\n", b"A: b\n\nbody\n\n"),
            (b"A: b\n\nbody\r\n\r\n", b"A: b\n\nbody\r\n"),
        ];
        for (message, expected) in cases {
            let mut file = b"From a Wed Jan 1 10:00:00 2020\nX: first\n\n".to_vec();
            let second_start = file.len();
            file.extend_from_slice(b"From b Wed Jan 1 10:00:00 2020\n");
            file.extend_from_slice(message);
            let entries = read_all(&file);
            assert_eq!(entries.len(), 2, "message {}", show(message));
            assert_eq!(show(&entries[0].raw), "X: first\n");
            assert_eq!(entries[1].start, second_start as u64);
            assert_eq!(
                show(&entries[1].raw),
                show(expected),
                "message {}",
                show(message)
            );
            assert_offsets_tile(&entries, 0, file.len());
        }
    }

    #[test]
    fn from_lines_that_are_not_separators_stay_in_the_body() {
        let cases: &[&[u8]] = &[
            // After a blank line but without a date: prose, not a separator.
            b"A: b\n\nFrom here on we talk.\nx\n",
            b"A: b\n\nFrom a@b\nx\n",
            // Dated but not after a blank line.
            b"A: b\n\nline\nFrom a Wed Jan 1 10:00:00 2020\nx\n",
            b"A: b\nFrom a Wed Jan 1 10:00:00 2020\n",
            // A line that only looks blank.
            b"A: b\n\n \nFrom a Wed Jan 1 10:00:00 2020\n",
            b"A: b\n\n\r\r\nFrom a Wed Jan 1 10:00:00 2020\n",
        ];
        for message in cases {
            let mut file = b"From a Wed Jan 1 10:00:00 2020\n".to_vec();
            file.extend_from_slice(message);
            file.push(b'\n');
            let entries = read_all(&file);
            assert_eq!(entries.len(), 1, "message {}", show(message));
            assert_eq!(show(&entries[0].raw), show(message));
        }
    }

    #[test]
    fn reading_from_a_returned_end_offset_resumes_at_the_next_message() {
        let file = write_all(&[
            (
                b"Subject: 1\n\nFrom x\n",
                flags("S", &[]),
                at(NEW_YEAR_TEN_AM),
            ),
            (
                b"Subject: 2\n\n>From y\n",
                flags("", &["k"]),
                at(NEW_YEAR_TEN_AM + 60),
            ),
            (b"", Flags::default(), at(NEW_YEAR_TEN_AM + 120)),
            (b"Subject: 4\n", flags("F", &[]), at(NEW_YEAR_TEN_AM + 180)),
        ]);
        let all = read_all(&file);
        assert_eq!(all.len(), 4);
        for (index, entry) in all.iter().enumerate() {
            let offset = usize::try_from(entry.end).expect("small file");
            let rest = file.get(offset..).expect("end within the file");
            let resumed = MboxReader::new(rest, entry.end)
                .collect::<io::Result<Vec<_>>>()
                .expect("resumed read");
            assert_eq!(resumed, all[index + 1..].to_vec());
        }
        let first_start = usize::try_from(all[1].start).expect("small file");
        let resumed_at_start = read_all_from(&file[first_start..], all[1].start);
        assert_eq!(resumed_at_start, all[1..].to_vec());
    }

    fn read_all_from(rest: &[u8], offset: u64) -> Vec<MboxEntry> {
        MboxReader::new(rest, offset)
            .collect::<io::Result<Vec<_>>>()
            .expect("resumed read")
    }

    #[test]
    fn crlf_files_keep_their_line_endings() {
        let file = b"From a Wed Jan 1 10:00:00 2020\r\nStatus: RO\r\nSubject: 1\r\n\r\n\
                     >From quoted\r\nbare\rCR\r\n\r\n\
                     From b Wed Jan 1 10:00:00 2020\r\nSubject: 2\r\n\r\ntwo\r\n\r\n";
        let entries = read_all(file);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            show(&entries[0].from_line),
            "From a Wed Jan 1 10:00:00 2020"
        );
        assert_eq!(
            show(&entries[0].raw),
            "Subject: 1\r\n\r\nFrom quoted\r\nbare\rCR\r\n"
        );
        assert_eq!(entries[0].flags, flags("S", &[]));
        assert_eq!(show(&entries[1].raw), "Subject: 2\r\n\r\ntwo\r\n");
        assert_offsets_tile(&entries, 0, file.len());
    }

    #[test]
    fn cr_only_line_ends_are_refused_not_read_as_one_empty_message() {
        let file = b"From a Wed Jan 1 10:00:00 2020\rSubject: 1\r\rbody\r\r\
                     From b Wed Jan 1 10:00:00 2020\rSubject: 2\r\rtwo\r";
        let results: Vec<io::Result<MboxEntry>> = MboxReader::new(&file[..], 0).collect();
        assert_eq!(results.len(), 1);
        let err = results
            .into_iter()
            .next()
            .and_then(Result::err)
            .expect("an error");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("bare CR"), "{err}");
    }

    #[test]
    fn folded_x_keywords_are_read_as_one_list() {
        let file = b"From a Wed Jan 1 10:00:00 2020\n\
                     Subject: s\nX-Keywords: $Forwarded,\n\t$Junk\n  Label1, $Forwarded\n\
                     To: t\n\nbody\n\n";
        let entries = read_all(file);
        assert_eq!(entries.len(), 1);
        assert_eq!(show(&entries[0].raw), "Subject: s\nTo: t\n\nbody\n");
        assert_eq!(entries[0].flags.keywords, ["$Forwarded", "$Junk", "Label1"]);
    }

    #[test]
    fn reader_unquotes_exactly_one_level() {
        let file = b"From a Wed Jan 1 10:00:00 2020\nA: b\n\n\
                     >From 1\n>>From 2\n>>>From 3\n>From\n>Fromage\n> From x\n\n";
        let entries = read_all(file);
        assert_eq!(
            show(&entries[0].raw),
            "A: b\n\nFrom 1\n>From 2\n>>From 3\n>From\n>Fromage\n> From x\n"
        );
    }

    struct FailingReader {
        data: &'static [u8],
    }

    impl io::Read for FailingReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let count = buf.len().min(self.data.len());
            buf[..count].copy_from_slice(&self.data[..count]);
            self.data = &self.data[count..];
            Ok(count)
        }
    }

    #[test]
    fn io_error_is_reported_once_and_ends_the_iteration() {
        let reader = io::BufReader::new(FailingReader {
            data: b"From a Wed Jan 1 10:00:00 2020\nA: b\n\nbody",
        });
        let results: Vec<io::Result<MboxEntry>> = MboxReader::new(reader, 0).collect();
        assert_eq!(results.len(), 1);
        let err = results
            .into_iter()
            .next()
            .and_then(Result::err)
            .expect("an error");
        assert_eq!(err.to_string(), "disk on fire");
    }

    #[test]
    fn round_trip_preserves_bytes_flags_and_dates() {
        let cases: &[(&[u8], Flags)] = &[
            (b"", Flags::default()),
            (b"", flags("S", &[])),
            (b"\n", Flags::default()),
            (b"\n", flags("A", &["k"])),
            (b"\r\n", flags("F", &[])),
            (b"\n\n\n", Flags::default()),
            (b"A: b\n", Flags::default()),
            (b"A: b\n", flags("SAFTD", &["$a", "$b"])),
            (b"A: b\n\n", flags("T", &[])),
            (
                b"A: b\n\nFrom x\n\nFrom a Wed Jan 1 10:00:00 2020\n",
                flags("S", &[]),
            ),
            (
                b"From a Wed Jan 1 10:00:00 2020\n\n>From \n>>From \n",
                flags("D", &[]),
            ),
            (b"A: b\r\n\r\nFrom \r\n\r\n", flags("S", &["x"])),
            (
                b"A: b\n\nbare\rCR\r\n\0\xff\x80\n",
                flags("", &["caf\u{e9}"]),
            ),
            (b"Return-Path: <a@b>\nA: b\n c\n\nbody\n", flags("S", &[])),
            (b" continuation first\n\n", flags("S", &[])),
            (b"A: b\n\n\n", flags("S", &[])),
        ];
        // Not 0: `Thu Jan  1 00:00:00 1970` is read as a placeholder.
        let dates = [NEW_YEAR_TEN_AM, 1, -283_996_801, 4_102_444_799];
        let messages: Vec<(&[u8], Flags, SystemTime)> = cases
            .iter()
            .enumerate()
            .map(|(index, (raw, flags))| (*raw, flags.clone(), at(dates[index % dates.len()])))
            .collect();
        // Alone, and all in one file, so each message also follows every other.
        for chunk in [&messages[..]].into_iter().chain(messages.chunks(1)) {
            let file = write_all(chunk);
            let entries = read_all(&file);
            assert_eq!(entries.len(), chunk.len(), "file {}", show(&file));
            for ((raw, flags, date), entry) in chunk.iter().zip(&entries) {
                assert_eq!(show(&entry.raw), show(raw));
                assert_eq!(&entry.flags, flags, "raw {}", show(raw));
                assert_eq!(entry.date, Some(*date), "raw {}", show(raw));
            }
            assert_offsets_tile(&entries, 0, file.len());
        }
    }

    /// xorshift64*: deterministic, so a failure reproduces.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound as u64) as usize
        }

        fn chance(&mut self, one_in: usize) -> bool {
            self.below(one_in) == 0
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    /// Lines chosen to hit every rule; none is a metadata header.
    const NASTY_LINES: &[&[u8]] = &[
        b"From x\n",
        b"From \n",
        b">From y\n",
        b">>From z\r\n",
        b">>>From \n",
        b"From\n",
        b"Fromage\n",
        b">From\n",
        b" From x\n",
        b"From a Wed Jan 1 10:00:00 2020\n",
        b"From - Mon Jan 01 00:00:00 2001\r\n",
        b"From 1999 until 2005 at 10:30\n",
        b"\n",
        b"\r\n",
        b"\r\r\n",
        b"\r\n\r\n",
        b" \n",
        b"Subject: hello\n",
        b"Subject: hello\r\n",
        b" folded\n",
        b"\tfolded\r\n",
        b"Return-Path: <a@b>\n",
        b"Return-Path: <>\n",
        b"Content-Length: 12\n",
        b"bare\rCR\n",
        b"\0\xff\x80\xfe\n",
        b"Status\n",
        b"X-Statuses: RO\n",
        b"body text\n",
    ];

    fn nasty_message(random: &mut Random) -> Vec<u8> {
        let mut raw = Vec::new();
        for _ in 0..random.below(12) {
            if random.chance(5) {
                for _ in 0..random.below(9) {
                    let byte = random.next() as u8;
                    raw.push(if byte == b'\n' { b'\r' } else { byte });
                }
                raw.push(b'\n');
            } else {
                raw.extend_from_slice(random.pick(NASTY_LINES));
            }
        }
        if random.chance(4) {
            // An unterminated last line.
            raw.extend_from_slice(b"From x");
        }
        raw
    }

    fn random_flags(random: &mut Random) -> Flags {
        let keyword_pool = [
            "$Forwarded",
            "$Junk",
            "Label1",
            "caf\u{e9}",
            "x",
            "$Forwarded",
        ];
        let mut flags = Flags {
            seen: random.chance(2),
            answered: random.chance(3),
            flagged: random.chance(3),
            deleted: random.chance(5),
            draft: random.chance(5),
            keywords: Vec::new(),
        };
        for _ in 0..random.below(4) {
            flags.add_keyword(random.pick(&keyword_pool));
        }
        if random.chance(3) {
            flags = Flags::default();
        }
        flags
    }

    #[test]
    fn round_trip_holds_for_pseudo_random_nasty_messages() {
        let mut random = Random(0x5eed_cafe_f00d_d00d);
        for _ in 0..3000 {
            let count = 1 + random.below(5);
            let mut file = Vec::new();
            let mut expected = Vec::new();
            for _ in 0..count {
                let raw = nasty_message(&mut random);
                let flags = random_flags(&mut random);
                let nanos = if random.chance(3) { 999_999_999 } else { 0 };
                let span = (LATEST_FROM_LINE_SECONDS - EARLIEST_FROM_LINE_SECONDS) as u64;
                let seconds = EARLIEST_FROM_LINE_SECONDS + (random.next() % span) as i64;
                let date = at(seconds) + Duration::from_nanos(nanos);
                let written =
                    write_message(&mut file, &raw, &flags, Some(date)).expect("Vec write");
                assert!(written > 0);
                // A message without a final line end gains its own one.
                let mut stored = raw.clone();
                if !stored.is_empty() && !stored.ends_with(b"\n") {
                    stored.extend_from_slice(header_section(&raw).line_ending);
                }
                expected.push((raw, stored, flags, at(seconds)));
            }
            let entries = read_all(&file);
            assert_eq!(entries.len(), count, "file {}", show(&file));
            for ((raw, stored, flags, date), entry) in expected.iter().zip(&entries) {
                assert_eq!(show(&entry.raw), show(stored), "raw {}", show(raw));
                assert_eq!(&entry.flags, flags, "raw {}", show(raw));
                assert_eq!(entry.date, Some(*date), "raw {}", show(raw));
            }
            assert_offsets_tile(&entries, 0, file.len());
        }
    }

    /// A message as mail is: header fields, a blank line, then a body full
    /// of what mbox formats must keep apart: `From ` lines, `>From` at
    /// every depth, CRLF, a missing final newline.
    fn body_heavy_message(random: &mut Random) -> Vec<u8> {
        const BODY_LINES: &[&[u8]] = &[
            b"From x\n",
            b"From a Wed Jan 1 10:00:00 2020\n",
            b"From b@example.org Mon Jan  1 10:00:00 2007\r\n",
            b">From y\n",
            b">>From z\r\n",
            b">>>From deep\n",
            b"\n",
            b"\r\n",
            b"From: not a header here\n",
            b"Subject: nor this\n",
            b"Content-Length: 3\n",
            b"--XYZ--\n",
            b"text\n",
            b"\0\xff\x80\n",
        ];
        let eol: &[u8] = if random.chance(3) { b"\r\n" } else { b"\n" };
        let mut raw = Vec::new();
        for field in [
            &b"From: a@example.org"[..],
            b"Subject: s",
            b"Content-Type: text/plain",
        ] {
            raw.extend_from_slice(field);
            raw.extend_from_slice(eol);
        }
        raw.extend_from_slice(eol);
        for _ in 0..random.below(15) {
            raw.extend_from_slice(random.pick(BODY_LINES));
        }
        if random.chance(4) {
            raw.extend_from_slice(b"From no newline");
        }
        raw
    }

    /// What reading gives back for `raw` written in `format`: the message
    /// (with a final newline), but for what the format cannot keep.
    fn as_read_back(raw: &[u8], format: MboxFormat) -> Vec<u8> {
        let mut stored = raw.to_vec();
        if !stored.is_empty() && !stored.ends_with(b"\n") {
            stored.extend_from_slice(header_section(raw).line_ending);
        }
        match format {
            // A `>From ` the message had cannot be told from a quoted `From `.
            MboxFormat::Mboxo => stored
                .split_inclusive(|&b| b == b'\n')
                .flat_map(|line| {
                    line.strip_prefix(b">")
                        .filter(|l| l.starts_with(b"From "))
                        .unwrap_or(line)
                        .to_vec()
                })
                .collect(),
            _ => stored,
        }
    }

    #[test]
    fn every_format_reads_back_what_it_wrote() {
        for format in [MboxFormat::Mboxrd, MboxFormat::Mboxo, MboxFormat::Mboxcl2] {
            let mut random = Random(0x00f0_12a7_5eed);
            for _ in 0..2000 {
                let count = 1 + random.below(5);
                let mut file = Vec::new();
                let mut expected = Vec::new();
                for _ in 0..count {
                    let raw = body_heavy_message(&mut random);
                    let flags = random_flags(&mut random);
                    let seconds = EARLIEST_FROM_LINE_SECONDS + random.below(1_000_000_000) as i64;
                    write_message_as(&mut file, &raw, &flags, Some(at(seconds)), None, format)
                        .expect("Vec write");
                    expected.push((as_read_back(&raw, format), flags, at(seconds)));
                }
                let mut reader = MboxReader::with_format(&file[..], 0, format);
                let entries: Vec<MboxEntry> =
                    reader.by_ref().collect::<io::Result<_>>().expect("reads");
                assert_eq!(entries.len(), count, "{format:?}: file {}", show(&file));
                assert_offsets_tile(&entries, 0, file.len());
                for ((raw, flags, date), entry) in expected.iter().zip(&entries) {
                    assert_eq!(
                        show(&entry.raw),
                        show(raw),
                        "{format:?}: file {}",
                        show(&file)
                    );
                    assert_eq!(&entry.flags, flags, "{format:?}");
                    assert_eq!(entry.date, Some(*date), "{format:?}");
                }
                // Auto detection sees what was written.
                let detected = detect_format(&file[..]).expect("reads");
                let expected_detection = match format {
                    MboxFormat::Mboxcl2 => MboxFormat::Mboxcl2,
                    _ => MboxFormat::Mboxrd,
                };
                assert_eq!(detected, expected_detection, "file {}", show(&file));
            }
        }
    }

    #[test]
    fn random_bytes_never_panic_and_entries_still_tile_the_file() {
        let mut random = Random(0x0bad_5eed_0bad_5eed);
        for _ in 0..3000 {
            let mut file = Vec::new();
            if random.chance(2) {
                file.extend_from_slice(b"From ");
            }
            for _ in 0..random.below(40) {
                if random.chance(2) {
                    file.extend_from_slice(random.pick(NASTY_LINES));
                } else {
                    file.extend_from_slice(random.pick(&[
                        &b"Status: RO\n"[..],
                        b"X-Keywords: a,\n",
                        b"X-Status: AFTD\n",
                        b" b\n",
                        b"X-UID: 1\n",
                    ]));
                }
                for _ in 0..random.below(4) {
                    file.push(random.next() as u8);
                }
            }
            let mut entries = Vec::new();
            for result in MboxReader::new(&file[..], 0) {
                match result {
                    Ok(entry) => {
                        let _ = parse_from_line_date(&entry.from_line);
                        entries.push(entry);
                    }
                    Err(err) => {
                        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
                        assert!(!starts_with_from_line(&file));
                    }
                }
            }
            if starts_with_from_line(&file) {
                assert_offsets_tile(&entries, 0, file.len());
            } else {
                assert!(entries.is_empty());
            }
        }
    }

    #[test]
    fn random_bytes_never_panic_the_date_parser() {
        let mut random = Random(0xdead_beef_dead_beef);
        let words: &[&[u8]] = &[
            b"Jan",
            b"feb",
            b"1",
            b"31",
            b"00",
            b"10:00",
            b"9:5",
            b"23:59:60",
            b"2020",
            b"1899",
            b"99999",
            b"+0100",
            b"-9999",
            b"GMT",
            b",",
            b"\xff",
            b"\t",
            b"",
        ];
        for _ in 0..20_000 {
            let mut line = b"From ".to_vec();
            for _ in 0..random.below(9) {
                line.extend_from_slice(random.pick(words));
                if !random.chance(5) {
                    line.push(b' ');
                }
                if random.chance(10) {
                    line.push(random.next() as u8);
                }
            }
            let _ = parse_from_line_date(&line);
            let _ = is_separator(&line);
        }
    }

    #[test]
    fn absent_date_uses_the_current_time() {
        let before = unix_seconds(SystemTime::now());
        let mut file = Vec::new();
        write_message(&mut file, b"A: b\n", &Flags::default(), None).expect("Vec write");
        let after = unix_seconds(SystemTime::now());
        let entries = read_all(&file);
        let date = unix_seconds(entries[0].date.expect("a date"));
        assert!(
            before <= date && date <= after,
            "{before} <= {date} <= {after}"
        );
    }

    #[test]
    fn dates_outside_the_separator_years_are_clamped_so_messages_stay_apart() {
        let file = write_all(&[
            (b"A: 1\n", Flags::default(), at(-9_000_000_000)),
            (b"A: 2\n", Flags::default(), at(9_000_000_000)),
            (b"A: 3\n", Flags::default(), at(9_000_000_000)),
        ]);
        let entries = read_all(&file);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].date, Some(at(EARLIEST_FROM_LINE_SECONDS)));
        assert_eq!(entries[1].date, Some(at(LATEST_FROM_LINE_SECONDS)));
    }

    #[test]
    fn append_padding_makes_the_next_from_line_a_separator() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            // Too short to tell a blank line from the end of a longer one.
            (b"\n", b"\n"),
            (b"\r\n", b"\n"),
            (b"x\n\n", b""),
            (b"\n\r\n", b""),
            (b"x\r\n", b"\n"),
            (b"xy\n", b"\n"),
            (b"\r\r\n", b"\n"),
            (b"xyz", b"\n\n"),
            (b"\n\r", b"\n\n"),
        ];
        for (tail, padding) in cases {
            assert_eq!(
                show(append_padding(tail)),
                show(padding),
                "tail {}",
                show(tail)
            );
        }
        // A file a foreign writer left without the final blank line.
        let mut file = b"From a Wed Jan 1 10:00:00 2020\nA: 1\n\nbody".to_vec();
        let tail_start = file.len().saturating_sub(3);
        let padding = append_padding(&file[tail_start..]);
        file.extend_from_slice(padding);
        write_message(&mut file, b"A: 2\n", &Flags::default(), Some(at(0))).expect("Vec write");
        let entries = read_all(&file);
        let raws: Vec<String> = entries.iter().map(|entry| show(&entry.raw)).collect();
        assert_eq!(raws, ["A: 1\n\nbody\n", "A: 2\n"]);
    }

    #[test]
    fn calendar_conversions_agree_over_four_centuries_around_the_epoch() {
        for days in (-200 * 366..=200 * 366).step_by(7) {
            let (year, month, day) = civil_from_days(days);
            assert!((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month));
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }
}
