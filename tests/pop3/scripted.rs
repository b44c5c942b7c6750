//! Server behaviour Dovecot shows only by chance, played by a scripted POP3
//! server: the test picks the exact moment the server gives up.
//!
//! When an administrator kicks a session (`doveadm kick`) or the server
//! shuts down, Dovecot answers whatever comes next with
//! `-ERR [SYS/TEMP] Server shutting down.` and closes the connection. Under
//! the real server the kick lands at a random point of the byte stream, most
//! often inside a message being sent (which then just ends: a lost
//! connection), now and then exactly between two answers. The scripted
//! server makes that second case certain.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::util::{count, summary, TestEnv};

use super::{args, assert_same_raws, maildir_inbox, mails, path_arg, with_status};

/// A plaintext POP3 server on 127.0.0.1 holding `messages`. In its first
/// session, RETR of message `kick_at` (1-based) is answered the way Dovecot
/// answers a kicked session; later sessions serve everything.
struct ScriptedPop3 {
    port: u16,
    sessions: Arc<AtomicUsize>,
    _thread: JoinHandle<()>,
}

impl ScriptedPop3 {
    fn start(messages: Vec<Vec<u8>>, kick_at: usize) -> ScriptedPop3 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = listener.local_addr().unwrap().port();
        let sessions = Arc::new(AtomicUsize::new(0));
        let counter = sessions.clone();
        // Serves sessions one after the other, until the test process ends.
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
                let _ = serve(stream, &messages, first.then_some(kick_at));
            }
        });
        ScriptedPop3 {
            port,
            sessions,
            _thread: thread,
        }
    }

    fn sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }
}

/// One session (RFC 1939, no PIPELINING, so answers come one by one).
fn serve(stream: TcpStream, messages: &[Vec<u8>], kick_at: Option<usize>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"+OK scripted POP3 ready\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |i: usize| -> Option<usize> {
            words
                .get(i)
                .and_then(|w| w.parse::<usize>().ok())
                .filter(|n| (1..=messages.len()).contains(n))
        };
        let command = words.first().map(|w| w.to_ascii_uppercase());
        match command.as_deref() {
            Some("CAPA") => out.write_all(b"+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n")?,
            Some("USER") | Some("PASS") | Some("NOOP") => out.write_all(b"+OK\r\n")?,
            Some("STAT") => {
                let bytes: usize = messages.iter().map(|m| crlf(m).len()).sum();
                write!(out, "+OK {} {bytes}\r\n", messages.len())?;
            }
            Some("LIST") => {
                let mut answer = String::from("+OK\r\n");
                for (i, m) in messages.iter().enumerate() {
                    answer.push_str(&format!("{} {}\r\n", i + 1, crlf(m).len()));
                }
                answer.push_str(".\r\n");
                out.write_all(answer.as_bytes())?;
            }
            Some("UIDL") => {
                let mut answer = String::from("+OK\r\n");
                for i in 1..=messages.len() {
                    answer.push_str(&format!("{i} scripted-{i}\r\n"));
                }
                answer.push_str(".\r\n");
                out.write_all(answer.as_bytes())?;
            }
            Some("RETR") if number(1).is_some() && number(1) == kick_at => {
                out.write_all(b"-ERR [SYS/TEMP] Server shutting down.\r\n")?;
                return Ok(());
            }
            Some("RETR") if number(1).is_some() => {
                let raw = &messages[number(1).unwrap() - 1];
                out.write_all(b"+OK message follows\r\n")?;
                out.write_all(&stuffed(&crlf(raw)))?;
                out.write_all(b".\r\n")?;
            }
            Some("TOP") if number(1).is_some() => {
                let raw = crlf(&messages[number(1).unwrap() - 1]);
                let end = raw
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(raw.len(), |i| i + 4);
                out.write_all(b"+OK headers follow\r\n")?;
                out.write_all(&stuffed(&raw[..end]))?;
                out.write_all(b".\r\n")?;
            }
            Some("DELE") if number(1).is_some() => out.write_all(b"+OK\r\n")?,
            Some("QUIT") => {
                out.write_all(b"+OK bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"-ERR unknown command\r\n")?,
        }
    }
}

/// LF → CRLF, for messages written with LF.
fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    for &b in raw {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Dot-stuffs every line starting with `.` (RFC 1939 §3).
fn stuffed(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 8);
    let mut at_line_start = true;
    for &b in raw {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    out
}

/// A session that the server ends between two answers (Dovecot's answer to
/// `doveadm kick` or a shutdown) is a lost connection: mailtug reconnects
/// (`--retries`) and fetches the rest, and since every message ends up
/// stored, the run succeeds.
#[test]
fn a_session_the_server_ends_between_two_answers_is_retried_not_failed() {
    let env = TestEnv::new();
    let raws = mails("scripted", 3, 700);
    let server = ScriptedPop3::start(raws.clone(), 2);
    let password = env.write_secret("scripted.password", "Scripted-Pw-31337");
    let copy = args([
        "--json",
        "copy",
        &format!("pop3://someone@127.0.0.1:{}", server.port),
        &env.endpoint("maildir", "out"),
        "--tls",
        "none",
        "--src-password-file",
        &path_arg(&password),
    ]);
    let output = env.run_owned(&copy);
    let events = crate::util::json_events(&output);
    let text = crate::util::stderr(&output);
    assert!(server.sessions() >= 2, "mailtug reconnected:\n{text}");
    assert_same_raws(&raws, &maildir_inbox(&env.path("out")), "the destination");
    assert!(
        with_status(&events, "failed").is_empty(),
        "no message failed: it was stored by the retry\n{text}"
    );
    crate::util::assert_exit(&output, 0);
    assert_eq!(count(summary(&events), "messages_copied"), 3);
}
