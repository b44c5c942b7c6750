//! A small synchronous POP3 client for the test side (RFC 1939, CAPA from
//! RFC 2449, UTF8 from RFC 6856), independent of mailtug's own, for checking
//! what a test server's POP3 service does. Plaintext TCP on loopback, USER
//! and PASS. Protocol errors panic; `-ERR` answers are returned as `Err`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A session (see the module docs).
pub struct Pop3Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// The server's greeting line.
    pub greeting: String,
}

impl Pop3Client {
    /// Connects to 127.0.0.1:`port` and reads the greeting.
    pub fn connect(port: u16) -> io::Result<Pop3Client> {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let mut client = Pop3Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            greeting: String::new(),
        };
        client.greeting = client.read_line()?;
        if !client.greeting.starts_with("+OK") {
            return Err(io::Error::other(format!(
                "unexpected POP3 greeting on port {port}: {:?}",
                client.greeting
            )));
        }
        Ok(client)
    }

    /// Logs in with USER and PASS; panics if the server refuses.
    pub fn login(port: u16, user: &str, password: &str) -> Pop3Client {
        let mut client = Pop3Client::connect(port)
            .unwrap_or_else(|e| panic!("connecting to POP3 port {port}: {e}"));
        client
            .command(&format!("USER {user}"))
            .unwrap_or_else(|e| panic!("POP3 USER `{user}` on port {port} refused: {e}"));
        client
            .command(&format!("PASS {password}"))
            .unwrap_or_else(|e| panic!("POP3 PASS of `{user}` on port {port} refused: {e}"));
        client
    }

    /// A command with a one-line answer: the text after `+OK`, or `Err`
    /// with the whole `-ERR` line.
    pub fn command(&mut self, command: &str) -> Result<String, String> {
        self.send(command);
        let line = self
            .read_line()
            .unwrap_or_else(|e| panic!("reading the POP3 answer to `{command}`: {e}"));
        match line.strip_prefix("+OK") {
            Some(rest) => Ok(rest.trim_start().to_owned()),
            None => Err(line),
        }
    }

    /// A command with a multi-line answer: its data, dot-unstuffed, each
    /// line ending in CRLF as sent, without the final `.` line.
    pub fn multiline(&mut self, command: &str) -> Result<Vec<u8>, String> {
        self.command(command)?;
        let mut data = Vec::new();
        loop {
            let mut line = Vec::new();
            self.reader
                .read_until(b'\n', &mut line)
                .unwrap_or_else(|e| panic!("reading the POP3 data of `{command}`: {e}"));
            assert!(
                line.ends_with(b"\n"),
                "the POP3 server closed the connection in the data of `{command}`"
            );
            if line == b".\r\n" || line == b".\n" {
                return Ok(data);
            }
            // RFC 1939 §3: a line starting with `.` had one more prepended.
            let line = if line.starts_with(b".") {
                &line[1..]
            } else {
                &line[..]
            };
            data.extend_from_slice(line);
        }
    }

    /// The CAPA list, one capability line each (`TOP`, `SASL PLAIN`).
    pub fn capabilities(&mut self) -> Vec<String> {
        let data = self.multiline("CAPA").unwrap_or_default();
        String::from_utf8_lossy(&data)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// STAT: (messages, octets).
    pub fn stat(&mut self) -> (u32, u64) {
        let text = self
            .command("STAT")
            .unwrap_or_else(|e| panic!("POP3 STAT failed: {e}"));
        let mut words = text.split_whitespace();
        let count = words.next().and_then(|w| w.parse().ok());
        let size = words.next().and_then(|w| w.parse().ok());
        match (count, size) {
            (Some(count), Some(size)) => (count, size),
            _ => panic!("unexpected POP3 STAT answer: {text:?}"),
        }
    }

    /// RETR `n`: the message as served (CRLF, dot-unstuffed).
    pub fn retr(&mut self, n: u32) -> Result<Vec<u8>, String> {
        self.multiline(&format!("RETR {n}"))
    }

    /// TOP `n` `lines`.
    pub fn top(&mut self, n: u32, lines: u32) -> Result<Vec<u8>, String> {
        self.multiline(&format!("TOP {n} {lines}"))
    }

    /// QUIT: the session ends and deletions marked with DELE happen.
    pub fn quit(mut self) {
        let _ = self.command("QUIT");
    }

    fn send(&mut self, command: &str) {
        self.writer
            .write_all(format!("{command}\r\n").as_bytes())
            .and_then(|()| self.writer.flush())
            .unwrap_or_else(|e| panic!("writing `{command}` to the POP3 server: {e}"));
    }

    fn read_line(&mut self) -> io::Result<String> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the POP3 server closed the connection",
            ));
        }
        let text = String::from_utf8_lossy(&line);
        Ok(text.trim_end_matches(['\r', '\n']).to_owned())
    }
}
