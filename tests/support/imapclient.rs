//! A small synchronous IMAP client for the test side: it loads mail into a
//! test server and reads back what the server holds, on any of the test
//! servers, independently of mailtug's own IMAP code (a bug there must not
//! hide itself by being on both sides of an assertion).
//!
//! Plaintext TCP on loopback only; LOGIN or AUTHENTICATE PLAIN. Literals are
//! always synchronizing (Courier has no LITERAL+). Folder names go out quoted
//! and in modified UTF-7 (RFC 3501 §5.1.3) and come back decoded, so callers
//! use plain UTF-8 names with the server's own prefix and separator.
//!
//! Protocol errors panic (this is test code); a tagged NO or BAD from the
//! commands a test may expect to fail (CREATE, APPEND) is returned as `Err`
//! with the server's text.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

/// How long a test server may take to answer one command.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A logged-in session (see the module docs).
pub struct ImapClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_tag: u32,
    /// The server's greeting line.
    pub greeting: String,
}

/// One tagged command's result: the untagged responses that came before it,
/// then its own status line.
#[derive(Debug)]
pub struct Reply {
    /// Every untagged response, each whole (literals inline), CRLF removed.
    pub untagged: Vec<Vec<u8>>,
    /// `OK`, `NO` or `BAD`.
    pub status: String,
    /// The text after the status, with any response code.
    pub text: String,
}

/// One entry of a LIST reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry {
    /// UTF-8, decoded from modified UTF-7.
    pub name: String,
    /// `None` for a flat name space (`NIL`).
    pub delimiter: Option<char>,
    /// As sent, e.g. `\HasNoChildren`, `\Sent`.
    pub attributes: Vec<String>,
}

/// The first personal namespace of a NAMESPACE reply (RFC 2342).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    pub prefix: String,
    pub separator: Option<char>,
}

/// A STATUS reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub messages: u32,
    pub uidnext: u32,
    pub uidvalidity: u32,
}

/// One message as the server serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub uid: u32,
    /// As sent, without `\Recent` (which says something about the session,
    /// not the message, and only some servers send).
    pub flags: Vec<String>,
    /// INTERNALDATE as unix seconds.
    pub internal_date: i64,
    /// BODY[] exactly as served.
    pub raw: Vec<u8>,
}

/// A parsed piece of a response (RFC 3501 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An atom or number, with any `[...]` section that follows it
    /// (`BODY[]`, `\Seen`, `42`).
    Atom(String),
    /// A quoted string (unescaped) or a literal.
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Nil,
}

impl ImapClient {
    /// Connects to 127.0.0.1:`port` and reads the greeting.
    pub fn connect(port: u16) -> io::Result<ImapClient> {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let mut client = ImapClient {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            next_tag: 1,
            greeting: String::new(),
        };
        let greeting = read_response(&mut client.reader)?;
        client.greeting = String::from_utf8_lossy(&greeting).into_owned();
        if !client.greeting.starts_with("* OK") {
            return Err(io::Error::other(format!(
                "unexpected IMAP greeting on port {port}: {:?}",
                client.greeting
            )));
        }
        Ok(client)
    }

    /// Logs in with LOGIN; panics if the server refuses.
    pub fn login(port: u16, user: &str, password: &str) -> ImapClient {
        let mut client = ImapClient::connect(port)
            .unwrap_or_else(|e| panic!("connecting to IMAP port {port}: {e}"));
        let reply = client.command(&format!("LOGIN {} {}", quote(user), quote(password)));
        assert_eq!(
            reply.status, "OK",
            "IMAP LOGIN of `{user}` on port {port} refused: {}",
            reply.text
        );
        client
    }

    /// Logs in with AUTHENTICATE PLAIN (RFC 4616), the initial response sent
    /// after the continuation (not every server has SASL-IR).
    pub fn authenticate_plain(port: u16, user: &str, password: &str) -> ImapClient {
        let mut client = ImapClient::connect(port)
            .unwrap_or_else(|e| panic!("connecting to IMAP port {port}: {e}"));
        let tag = client.send_tagged("AUTHENTICATE PLAIN");
        client.expect_continuation(&tag);
        let token = base64_encode(format!("\0{user}\0{password}").as_bytes());
        client.write_all(format!("{token}\r\n").as_bytes());
        let reply = client.finish(&tag);
        assert_eq!(
            reply.status, "OK",
            "IMAP AUTHENTICATE PLAIN of `{user}` on port {port} refused: {}",
            reply.text
        );
        client
    }

    /// Sends one command (without tag and CRLF) and reads its reply.
    pub fn command(&mut self, command: &str) -> Reply {
        let tag = self.send_tagged(command);
        self.finish(&tag)
    }

    /// The CAPABILITY list, as sent (upper or mixed case).
    pub fn capabilities(&mut self) -> Vec<String> {
        let reply = self.ok("CAPABILITY");
        reply
            .untagged_named("CAPABILITY")
            .into_iter()
            .flat_map(|values| values.into_iter().skip(1))
            .filter_map(|value| value.as_atom().map(str::to_owned))
            .collect()
    }

    /// Whether CAPABILITY lists `name` (case-insensitive).
    pub fn has_capability(&mut self, name: &str) -> bool {
        self.capabilities()
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    /// The first personal namespace.
    pub fn namespace(&mut self) -> Namespace {
        let reply = self.ok("NAMESPACE");
        let values = reply
            .untagged_named("NAMESPACE")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no NAMESPACE response: {reply:?}"));
        parse_namespace(&values).unwrap_or_else(|| panic!("unexpected NAMESPACE: {values:?}"))
    }

    /// `LIST "" "*"`: every folder, in the server's order.
    pub fn list(&mut self) -> Vec<ListEntry> {
        self.list_entries("LIST \"\" \"*\"")
    }

    /// Every folder with its special use among the attributes: `LIST ""
    /// "*" RETURN (SPECIAL-USE)` (RFC 6154 §2) where the server offers
    /// SPECIAL-USE, as a plain LIST need not show the uses; a plain LIST on
    /// a server without special uses.
    pub fn list_with_special_use(&mut self) -> Vec<ListEntry> {
        if self.has_capability("SPECIAL-USE") {
            self.list_entries("LIST \"\" \"*\" RETURN (SPECIAL-USE)")
        } else {
            self.list()
        }
    }

    fn list_entries(&mut self, command: &str) -> Vec<ListEntry> {
        let reply = self.ok(command);
        reply
            .untagged_named("LIST")
            .iter()
            .map(|values| {
                parse_list(values).unwrap_or_else(|| panic!("unexpected LIST: {values:?}"))
            })
            .collect()
    }

    /// CREATE; `Err` holds the text of a NO or BAD.
    pub fn create(&mut self, name: &str) -> Result<(), String> {
        self.command(&format!("CREATE {}", mailbox(name)))
            .into_result()
    }

    /// CREATE with a special use such as `\Sent` (RFC 6154 CREATE-SPECIAL-USE);
    /// `Err` when the server does not offer it or refuses.
    pub fn create_special_use(&mut self, name: &str, special_use: &str) -> Result<(), String> {
        if !self.has_capability("CREATE-SPECIAL-USE") {
            return Err("the server does not offer CREATE-SPECIAL-USE".to_owned());
        }
        self.command(&format!("CREATE {} (USE ({special_use}))", mailbox(name)))
            .into_result()
    }

    /// APPEND with `flags` (`\Seen`, keywords) and, if given, an internal
    /// date (unix seconds, sent in UTC). `Err` holds the text of a NO or BAD.
    pub fn append(
        &mut self,
        folder: &str,
        raw: &[u8],
        flags: &[&str],
        internal_date: Option<i64>,
    ) -> Result<(), String> {
        let mut command = format!("APPEND {} ({})", mailbox(folder), flags.join(" "));
        if let Some(secs) = internal_date {
            command.push_str(&format!(" \"{}\"", format_internal_date(secs)));
        }
        command.push_str(&format!(" {{{}}}", raw.len()));
        let tag = self.send_tagged(&command);
        // A NO instead of the continuation (such as Courier's refusal while
        // a folder is open read-only) is the answer.
        self.wait_continuation(&tag)?;
        self.write_all(raw);
        self.write_all(b"\r\n");
        self.finish(&tag).into_result()
    }

    /// STATUS (MESSAGES UIDNEXT UIDVALIDITY).
    pub fn status(&mut self, folder: &str) -> Status {
        let reply = self.ok(&format!(
            "STATUS {} (MESSAGES UIDNEXT UIDVALIDITY)",
            mailbox(folder)
        ));
        let values = reply
            .untagged_named("STATUS")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no STATUS response: {reply:?}"));
        parse_status(&values).unwrap_or_else(|| panic!("unexpected STATUS: {values:?}"))
    }

    /// Every message of `folder` in UID order, read with EXAMINE and
    /// `UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])`, so nothing
    /// changes. The folder is closed afterwards: Courier refuses APPEND while
    /// a folder is open read-only.
    pub fn messages(&mut self, folder: &str) -> Vec<Fetched> {
        let reply = self.ok(&format!("EXAMINE {}", mailbox(folder)));
        let exists = reply
            .untagged
            .iter()
            .filter_map(|line| {
                let text = String::from_utf8_lossy(line);
                let mut words = text.split(' ');
                match (words.next(), words.next(), words.next()) {
                    (Some("*"), Some(n), Some(kind)) if kind.eq_ignore_ascii_case("EXISTS") => {
                        n.parse::<u32>().ok()
                    }
                    _ => None,
                }
            })
            .next_back()
            .unwrap_or(0);
        let mut messages = Vec::new();
        if exists > 0 {
            let reply = self.ok("UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])");
            for values in reply.untagged.iter().map(|line| parse(line)) {
                if let Some(message) = parse_fetch(&values) {
                    messages.push(message);
                }
            }
        }
        self.ok("CLOSE");
        messages.sort_by_key(|m| m.uid);
        messages
    }

    /// LOGOUT, then the connection is closed.
    pub fn logout(mut self) {
        let tag = self.send_tagged("LOGOUT");
        let _ = self.try_finish(&tag);
    }

    /// Runs `command` and panics unless it answers OK.
    pub fn ok(&mut self, command: &str) -> Reply {
        let reply = self.command(command);
        assert_eq!(
            reply.status, "OK",
            "IMAP `{command}` failed: {} {}",
            reply.status, reply.text
        );
        reply
    }

    fn send_tagged(&mut self, command: &str) -> String {
        let tag = format!("t{}", self.next_tag);
        self.next_tag += 1;
        self.write_all(format!("{tag} {command}\r\n").as_bytes());
        tag
    }

    fn write_all(&mut self, bytes: &[u8]) {
        self.writer
            .write_all(bytes)
            .and_then(|()| self.writer.flush())
            .unwrap_or_else(|e| panic!("writing to the IMAP server: {e}"));
    }

    /// Reads until a continuation request, or returns the text of the tagged
    /// reply that came instead.
    fn wait_continuation(&mut self, tag: &str) -> Result<(), String> {
        loop {
            let line = read_response(&mut self.reader)
                .unwrap_or_else(|e| panic!("reading from the IMAP server: {e}"));
            if line.starts_with(b"+") {
                return Ok(());
            }
            if let Some(rest) = line.strip_prefix(format!("{tag} ").as_bytes()) {
                return Err(String::from_utf8_lossy(rest).into_owned());
            }
        }
    }

    fn expect_continuation(&mut self, tag: &str) {
        if let Err(text) = self.wait_continuation(tag) {
            panic!("expected a continuation, got: {text}");
        }
    }

    fn finish(&mut self, tag: &str) -> Reply {
        self.try_finish(tag)
            .unwrap_or_else(|e| panic!("reading from the IMAP server: {e}"))
    }

    fn try_finish(&mut self, tag: &str) -> io::Result<Reply> {
        let mut untagged = Vec::new();
        loop {
            let line = read_response(&mut self.reader)?;
            if let Some(rest) = line.strip_prefix(format!("{tag} ").as_bytes()) {
                let rest = String::from_utf8_lossy(rest).into_owned();
                let (status, text) = rest.split_once(' ').unwrap_or((&rest, ""));
                return Ok(Reply {
                    untagged,
                    status: status.to_ascii_uppercase(),
                    text: text.to_owned(),
                });
            }
            if line.starts_with(b"* ") {
                untagged.push(line);
            }
            // A continuation request nobody asked for is ignored.
        }
    }
}

impl Reply {
    fn into_result(self) -> Result<(), String> {
        if self.status == "OK" {
            Ok(())
        } else {
            Err(format!("{} {}", self.status, self.text))
        }
    }

    /// The parsed untagged responses `* NAME ...`, without the `*`.
    pub fn untagged_named(&self, name: &str) -> Vec<Vec<Value>> {
        self.untagged
            .iter()
            .filter(|line| {
                line.get(2..2 + name.len())
                    .is_some_and(|word| word.eq_ignore_ascii_case(name.as_bytes()))
                    && matches!(line.get(2 + name.len()), None | Some(b' '))
            })
            .map(|line| parse(&line[2..]))
            .collect()
    }
}

impl Value {
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Value::Atom(atom) => Some(atom),
            _ => None,
        }
    }

    /// An atom, a string or NIL as text (NIL as `None`).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Atom(atom) => Some(atom.clone()),
            Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }
}

/// Reads one response line, with any literals (`{n}` or `{n+}` at the end
/// of a line, then n bytes) inline, and the final CRLF removed.
pub fn read_response(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut response = Vec::new();
    loop {
        let start = response.len();
        reader.read_until(b'\n', &mut response)?;
        if response.len() == start || !response.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the IMAP server closed the connection; last: {:?}",
                    String::from_utf8_lossy(&response)
                ),
            ));
        }
        let line = &response[start..];
        let line = line.strip_suffix(b"\r\n").unwrap_or(line);
        match literal_length(line) {
            Some(length) => {
                // Keep `{n}\r\n`, then the literal, then read on.
                let mut literal = vec![0; length];
                reader.read_exact(&mut literal)?;
                response.extend_from_slice(&literal);
            }
            None => {
                response.truncate(start + line.len());
                return Ok(response);
            }
        }
    }
}

/// The n of a line ending in `{n}` or `{n+}`.
fn literal_length(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"}")?;
    let open = line.iter().rposition(|&b| b == b'{')?;
    let digits = &line[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Parses a response (as `read_response` returns it) into values: atoms,
/// quoted strings (with `\\` and `\"` unescaped), literals, lists, NIL.
pub fn parse(input: &[u8]) -> Vec<Value> {
    let mut parser = Parser { input, at: 0 };
    let mut values = Vec::new();
    while let Some(value) = parser.value() {
        values.push(value);
    }
    values
}

struct Parser<'a> {
    input: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    /// The next value, or `None` at the end of the input or of a list.
    fn value(&mut self) -> Option<Value> {
        self.skip_spaces();
        match self.peek()? {
            b')' => None,
            b'(' => {
                self.at += 1;
                let mut items = Vec::new();
                while let Some(item) = self.value() {
                    items.push(item);
                }
                self.skip_spaces();
                if self.peek() == Some(b')') {
                    self.at += 1;
                }
                Some(Value::List(items))
            }
            b'"' => {
                self.at += 1;
                let mut bytes = Vec::new();
                while let Some(b) = self.peek() {
                    self.at += 1;
                    match b {
                        b'"' => break,
                        b'\\' => {
                            if let Some(escaped) = self.peek() {
                                bytes.push(escaped);
                                self.at += 1;
                            }
                        }
                        _ => bytes.push(b),
                    }
                }
                Some(Value::Bytes(bytes))
            }
            b'{' => {
                let close = self.input[self.at..].iter().position(|&b| b == b'}')? + self.at;
                let digits = &self.input[self.at + 1..close];
                let digits = digits.strip_suffix(b"+").unwrap_or(digits);
                let length: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
                // `}` CRLF, then the literal.
                let start = close + 3;
                let end = (start + length).min(self.input.len());
                self.at = end;
                Some(Value::Bytes(self.input[start.min(end)..end].to_vec()))
            }
            _ => {
                let start = self.at;
                let mut depth = 0;
                while let Some(b) = self.peek() {
                    match b {
                        b'[' => depth += 1,
                        b']' => depth -= 1,
                        b' ' | b'(' | b')' if depth == 0 => break,
                        _ => {}
                    }
                    self.at += 1;
                }
                let atom = String::from_utf8_lossy(&self.input[start..self.at]).into_owned();
                if atom.eq_ignore_ascii_case("NIL") {
                    Some(Value::Nil)
                } else {
                    Some(Value::Atom(atom))
                }
            }
        }
    }
}

/// `LIST (attributes) delimiter name` (after `LIST`).
fn parse_list(values: &[Value]) -> Option<ListEntry> {
    let [_, attributes, delimiter, name] = values else {
        return None;
    };
    let attributes = attributes
        .as_list()?
        .iter()
        .filter_map(|a| a.as_atom().map(str::to_owned))
        .collect();
    let delimiter = match delimiter {
        Value::Nil => None,
        other => other.as_text()?.chars().next(),
    };
    Some(ListEntry {
        name: decode_mailbox(&name.as_text()?),
        delimiter,
        attributes,
    })
}

/// `NAMESPACE personal other shared`: the first personal one.
fn parse_namespace(values: &[Value]) -> Option<Namespace> {
    let personal = values.get(1)?.as_list()?.first()?.as_list()?;
    let prefix = decode_mailbox(&personal.first()?.as_text()?);
    let separator = match personal.get(1)? {
        Value::Nil => None,
        other => other.as_text()?.chars().next(),
    };
    Some(Namespace { prefix, separator })
}

/// `STATUS name (MESSAGES n UIDNEXT n UIDVALIDITY n)`.
fn parse_status(values: &[Value]) -> Option<Status> {
    let items = values.get(2)?.as_list()?;
    let get = |key: &str| -> Option<u32> {
        let at = items
            .iter()
            .position(|v| v.as_atom().is_some_and(|a| a.eq_ignore_ascii_case(key)))?;
        items.get(at + 1)?.as_atom()?.parse().ok()
    };
    Some(Status {
        messages: get("MESSAGES")?,
        uidnext: get("UIDNEXT")?,
        uidvalidity: get("UIDVALIDITY")?,
    })
}

/// `* n FETCH (UID u FLAGS (...) INTERNALDATE "..." BODY[] {n}...)`; `None`
/// for other responses and for FETCH responses without a body (such as
/// unsolicited flag updates).
fn parse_fetch(values: &[Value]) -> Option<Fetched> {
    let [star, _seq, kind, items] = values else {
        return None;
    };
    if star.as_atom() != Some("*") || !kind.as_atom()?.eq_ignore_ascii_case("FETCH") {
        return None;
    }
    let items = items.as_list()?;
    let (mut uid, mut flags, mut date, mut raw) = (None, None, None, None);
    for pair in items.chunks(2) {
        let [key, value] = pair else { break };
        let key = key.as_atom()?.to_ascii_uppercase();
        match key.as_str() {
            "UID" => uid = value.as_atom()?.parse().ok(),
            "FLAGS" => {
                flags = Some(
                    value
                        .as_list()?
                        .iter()
                        .filter_map(|f| f.as_atom())
                        .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
                        .map(str::to_owned)
                        .collect::<Vec<_>>(),
                )
            }
            "INTERNALDATE" => date = parse_internal_date(&value.as_text()?),
            "BODY[]" => {
                if let Value::Bytes(bytes) = value {
                    raw = Some(bytes.clone());
                }
            }
            _ => {}
        }
    }
    Some(Fetched {
        uid: uid?,
        flags: flags?,
        internal_date: date?,
        raw: raw?,
    })
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Unix seconds as an RFC 3501 date-time in UTC: `01-Feb-2023 04:05:06 +0000`.
pub fn format_internal_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{day:02}-{}-{year:04} {:02}:{:02}:{:02} +0000",
        MONTHS[month as usize - 1],
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// An RFC 3501 date-time (`d-Mon-yyyy hh:mm:ss +zzzz`, day maybe
/// space-padded) as unix seconds.
pub fn parse_internal_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(' ')?;
    let (time, zone) = rest.trim_start().split_once(' ')?;
    let mut date_parts = date.split('-');
    let day: i64 = date_parts.next()?.trim().parse().ok()?;
    let month_name = date_parts.next()?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month_name))? as i64
        + 1;
    let year: i64 = date_parts.next()?.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [hour, minute, second] = hms[..] else {
        return None;
    };
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let zone: i64 = zone.get(1..5)?.parse().ok()?;
    let offset = sign * (zone / 100 * 3600 + zone % 100 * 60);
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of `days_from_civil`: (year, month 1-12, day 1-31).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A folder name as a command argument: modified UTF-7, quoted.
pub fn mailbox(name: &str) -> String {
    quote(&encode_mailbox(name))
}

/// An ASCII string as an IMAP quoted string (`\` and `"` escaped). Test
/// names and passwords never hold CR, LF or 8-bit bytes; those would need a
/// literal.
pub fn quote(text: &str) -> String {
    assert!(
        text.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "not quotable, would need a literal: {text:?}"
    );
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '\\' || c == '"' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// UTF-8 to modified UTF-7 (RFC 3501 §5.1.3): printable ASCII as is, `&` as
/// `&-`, anything else as UTF-16BE in modified base64 (`,` for `/`, no
/// padding) between `&` and `-`.
pub fn encode_mailbox(name: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if !pending.is_empty() {
            let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&base64_encode(&bytes).replace('/', ",").replace('=', ""));
            out.push('-');
            pending.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Modified UTF-7 to UTF-8; a malformed run is kept as it was sent.
pub fn decode_mailbox(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(end) = after.find('-') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let encoded = &after[..end];
        if encoded.is_empty() {
            out.push('&');
        } else {
            let decoded = base64_decode(&encoded.replace(',', "/"))
                .filter(|bytes| bytes.len() % 2 == 0)
                .and_then(|bytes| {
                    let units: Vec<u16> = bytes
                        .chunks(2)
                        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                        .collect();
                    String::from_utf16(&units).ok()
                });
            match decoded {
                Some(text) => out.push_str(&text),
                None => out.push_str(&rest[at..at + 1 + end + 1]),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

use mailtug::secret::base64_decode;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_utf7_round_trips_the_rfc_examples() {
        // RFC 3501 §5.1.3 and the shapes servers send.
        let cases = [
            ("INBOX", "INBOX"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("A&B", "A&-B"),
            ("Reçu & envoyé", "Re&AOc-u &- envoy&AOk-"),
            ("😀", "&2D3eAA-"),
            ("Sent.Drafts", "Sent.Drafts"),
        ];
        for (utf8, utf7) in cases {
            assert_eq!(encode_mailbox(utf8), utf7, "encoding {utf8:?}");
            assert_eq!(decode_mailbox(utf7), utf8, "decoding {utf7:?}");
        }
    }

    #[test]
    fn malformed_modified_utf7_is_kept_as_sent() {
        assert_eq!(decode_mailbox("a&b"), "a&b");
        assert_eq!(decode_mailbox("a&*-b"), "a&*-b");
    }

    #[test]
    fn quoting_escapes_backslash_and_double_quote() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(mailbox("Entwürfe"), "\"Entw&APw-rfe\"");
    }

    #[test]
    fn a_response_with_literals_is_read_whole() {
        let wire = b"* 1 FETCH (UID 7 BODY[] {5}\r\na\r\nb\r FLAGS (\\Seen))\r\nt1 OK done\r\n";
        let mut reader = &wire[..];
        let first = read_response(&mut reader).unwrap();
        assert_eq!(
            first,
            b"* 1 FETCH (UID 7 BODY[] {5}\r\na\r\nb\r FLAGS (\\Seen))".to_vec()
        );
        assert_eq!(read_response(&mut reader).unwrap(), b"t1 OK done".to_vec());
        assert!(read_response(&mut reader).is_err());
    }

    #[test]
    fn values_parse_quoted_strings_literals_lists_and_nil() {
        let line = b"LIST (\\HasNoChildren \\Sent) \"/\" \"a \\\"q\\\" \\\\ b\"";
        assert_eq!(
            parse(line),
            vec![
                Value::Atom("LIST".into()),
                Value::List(vec![
                    Value::Atom("\\HasNoChildren".into()),
                    Value::Atom("\\Sent".into())
                ]),
                Value::Bytes(b"/".to_vec()),
                Value::Bytes(b"a \"q\" \\ b".to_vec()),
            ]
        );
        assert_eq!(
            parse(b"LIST () NIL {3}\r\nx y"),
            vec![
                Value::Atom("LIST".into()),
                Value::List(vec![]),
                Value::Nil,
                Value::Bytes(b"x y".to_vec()),
            ]
        );
    }

    #[test]
    fn list_entries_decode_names_and_delimiters() {
        let cases: [(&[u8], ListEntry); 3] = [
            (
                b"LIST (\\HasNoChildren) \".\" \"INBOX.Entw&APw-rfe\"",
                ListEntry {
                    name: "INBOX.Entwürfe".into(),
                    delimiter: Some('.'),
                    attributes: vec!["\\HasNoChildren".into()],
                },
            ),
            (
                b"LIST (\\Noselect) NIL Archive",
                ListEntry {
                    name: "Archive".into(),
                    delimiter: None,
                    attributes: vec!["\\Noselect".into()],
                },
            ),
            (
                b"LIST () \"/\" {7}\r\na\"b\\c d",
                ListEntry {
                    name: "a\"b\\c d".into(),
                    delimiter: Some('/'),
                    attributes: vec![],
                },
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_list(&parse(line)), Some(expected));
        }
    }

    #[test]
    fn namespace_takes_the_first_personal_one() {
        let cases: [(&[u8], Namespace); 3] = [
            (
                b"NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) NIL",
                Namespace {
                    prefix: String::new(),
                    separator: Some('/'),
                },
            ),
            (
                b"NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\")(\"shared.\" \".\"))",
                Namespace {
                    prefix: "INBOX.".into(),
                    separator: Some('.'),
                },
            ),
            (
                b"NAMESPACE ((\"\" NIL)) NIL NIL",
                Namespace {
                    prefix: String::new(),
                    separator: None,
                },
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_namespace(&parse(line)), Some(expected));
        }
    }

    #[test]
    fn status_reads_its_items_in_any_order() {
        let values = parse(b"STATUS \"INBOX.a b\" (UIDNEXT 5 MESSAGES 4 UIDVALIDITY 99)");
        assert_eq!(
            parse_status(&values),
            Some(Status {
                messages: 4,
                uidnext: 5,
                uidvalidity: 99
            })
        );
    }

    #[test]
    fn fetch_keeps_the_body_bytes_and_drops_recent() {
        let line = b"* 3 FETCH (UID 12 FLAGS (\\Seen \\Recent \\Flagged $Label1) \
                     INTERNALDATE \" 2-Jan-2023 03:04:05 +0100\" BODY[] {8}\r\nA: \xff\r\n\r\n)";
        assert_eq!(
            parse_fetch(&parse(line)),
            Some(Fetched {
                uid: 12,
                flags: vec!["\\Seen".into(), "\\Flagged".into(), "$Label1".into()],
                internal_date: 1_672_625_045,
                raw: b"A: \xff\r\n\r\n".to_vec(),
            })
        );
        // An unsolicited flag update carries no body.
        assert_eq!(parse_fetch(&parse(b"* 3 FETCH (FLAGS (\\Seen))")), None);
    }

    #[test]
    fn internal_dates_round_trip() {
        let cases = [
            (0, "01-Jan-1970 00:00:00 +0000"),
            (1_672_625_045, "02-Jan-2023 02:04:05 +0000"),
            (951_782_400, "29-Feb-2000 00:00:00 +0000"),
            (-86_400, "31-Dec-1969 00:00:00 +0000"),
        ];
        for (secs, text) in cases {
            assert_eq!(format_internal_date(secs), text);
            assert_eq!(parse_internal_date(text), Some(secs));
        }
        assert_eq!(
            parse_internal_date("17-Jul-1996 02:44:25 -0700"),
            Some(837_596_665)
        );
        assert_eq!(parse_internal_date("17-Jux-1996 02:44:25 -0700"), None);
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded).unwrap(), plain.as_bytes());
        }
    }
}
