//! A plaintext POP3 proxy on 127.0.0.1 between mailtug and Dovecot that
//! can kill the run at a protocol step: when the n-th DELE arrives, when
//! QUIT arrives, or just after QUIT went on to the server. These windows
//! (between the first DELE and QUIT, and between the server's commit and
//! its answer) last a few milliseconds, too short for kill points drawn
//! from time or progress events to land in often.
//!
//! Unarmed, it only relays bytes. mailtug reaches it with `pop3://` and
//! `--tls none`, which mailtug allows to loopback addresses only.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Where the proxy kills the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pop3Step {
    /// When the n-th DELE command (from 1) arrives, before it goes on.
    BeforeDele(usize),
    /// When QUIT arrives, before it goes on: the server deletes nothing.
    BeforeQuit,
    /// Right after QUIT went on: the server commits its deletions, and the
    /// run may die before it reads the answer.
    AfterQuit,
}

impl Pop3Step {
    pub fn name(self) -> &'static str {
        match self {
            Pop3Step::BeforeDele(_) => "before a DELE",
            Pop3Step::BeforeQuit => "before QUIT",
            Pop3Step::AfterQuit => "after QUIT",
        }
    }
}

#[derive(Default)]
struct Armed {
    step: Option<Pop3Step>,
    pid: Option<u32>,
    deles: usize,
    fired: bool,
}

pub struct Pop3Proxy {
    pub port: u16,
    armed: Arc<Mutex<Armed>>,
    stop: Arc<AtomicBool>,
    listener: Option<JoinHandle<()>>,
}

impl Pop3Proxy {
    /// A proxy to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> Pop3Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("binding the POP3 proxy");
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(Mutex::new(Armed::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (armed.clone(), stop.clone());
        let listener = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let armed = shared.clone();
                std::thread::spawn(move || relay(client, upstream, &armed));
            }
        });
        Pop3Proxy {
            port,
            armed,
            stop,
            listener: Some(listener),
        }
    }

    /// Kills `pid` at `step` of its sessions.
    pub fn arm(&self, step: Pop3Step, pid: u32) {
        *self.armed.lock().unwrap() = Armed {
            step: Some(step),
            pid: Some(pid),
            ..Armed::default()
        };
    }

    /// Disarms; true if the step was reached and the run killed there.
    pub fn disarm(&self) -> bool {
        std::mem::take(&mut *self.armed.lock().unwrap()).fired
    }
}

impl Drop for Pop3Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop up so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(handle) = self.listener.take() {
            let _ = handle.join();
        }
    }
}

/// Relays one session; commands from the client line by line, so the
/// armed step is checked before each goes on.
fn relay(client: TcpStream, upstream: u16, armed: &Mutex<Armed>) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let (Ok(mut to_client), Ok(mut from_server)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let answers = std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_server, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Both);
    });
    let mut to_server = &server;
    let mut commands = BufReader::new(&client);
    let mut line = Vec::new();
    loop {
        line.clear();
        match commands.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let verb = line
            .split(|b| b.is_ascii_whitespace())
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let kill = {
            let mut armed = armed.lock().unwrap();
            if verb == b"DELE" {
                armed.deles += 1;
            }
            let now = match armed.step {
                Some(Pop3Step::BeforeDele(n)) => verb == b"DELE" && armed.deles == n,
                Some(Pop3Step::BeforeQuit) => verb == b"QUIT",
                _ => false,
            };
            if now {
                fire(&mut armed);
            }
            now
        };
        if kill {
            break;
        }
        if to_server.write_all(&line).is_err() {
            break;
        }
        if verb == b"QUIT" {
            let mut armed = armed.lock().unwrap();
            if armed.step == Some(Pop3Step::AfterQuit) {
                fire(&mut armed);
            }
        }
    }
    // The client is gone (or killed): the server sees the connection drop.
    let _ = server.shutdown(Shutdown::Both);
    let _ = client.shutdown(Shutdown::Both);
    let _ = answers.join();
}

fn fire(armed: &mut Armed) {
    if let (Some(pid), false) = (armed.pid, armed.fired) {
        // SAFETY: a plain kill(2) of the run this test spawned and has not
        // reaped yet, so the pid cannot belong to another process.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        armed.fired = true;
    }
}
