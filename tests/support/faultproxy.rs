//! A fault-injecting TCP proxy for the protocol tests: it listens on
//! `127.0.0.1:0`, forwards every connection to a port of the test Dovecot,
//! and breaks connections the way networks and servers do, following a
//! [`Plan`] the test can change at any time ([`FaultProxy::set_plan`]):
//!
//! - drop a connection (both sides closed, as a dead link or a killed
//!   server shows) after N bytes in one direction ([`Fault::DropAfter`]);
//! - stall one direction for T ms at a byte offset ([`Fault::StallAt`]);
//! - delay every chunk of one direction ([`Fault::Latency`]);
//! - cut the client off while what it sent still trickles into the server
//!   ([`Fault::LateDelivery`]);
//! - rewrite bytes, to hide a capability from the client
//!   ([`Fault::Rewrite`]);
//! - send a line of the proxy's own (`* BYE …` for IMAP, `-ERR [SYS/TEMP] …`
//!   for POP3) at a response boundary and hang up ([`Fault::InjectAndClose`]);
//! - answer the Nth IMAP command of a kind with a line of the proxy's own
//!   (`NO [THROTTLED] …`), as a throttling provider does
//!   ([`Fault::AnswerTagged`]).
//!
//! Each [`Rule`] applies to some connections ([`Connections`]), counted from
//! 0 from when its plan was set. The proxy counts connections, bytes and
//! fired faults ([`Stats`]), so a test can assert its faults really
//! happened rather than trust that they did.
//!
//! The proxy sees bytes, not protocols: with TLS (`imaps`, `pop3s`) it
//! counts and cuts encrypted bytes, which is what a handshake cut needs;
//! byte offsets and injected lines are meaningful on plaintext connections
//! (`imap://`/`pop3://` with `--tls none`, allowed on loopback).
//!
//! Plain `std::net` and two threads per connection: nothing here needs to
//! scale, and blocking code keeps the byte accounting obvious. Dropping the
//! proxy closes its listener and every connection it still forwards.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The longest marker [`Fault::InjectAndClose`] finds across two reads.
const MARKER_MAX: usize = 64;

/// Which way bytes flow through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the client (mailtug) to the server (Dovecot).
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// One thing that goes wrong on a connection, in one direction.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Forward exactly this many bytes, then close both sides of the
    /// connection (a FIN to each peer; what a peer sends after it is
    /// answered with a reset). The count is per connection.
    DropAfter(u64),
    /// Forward `offset` bytes, then send nothing for `millis` ms before
    /// going on (a server or link that hangs).
    StallAt { offset: u64, millis: u64 },
    /// Sleep this many ms before forwarding each chunk read (up to 16 KiB).
    Latency { millis: u64 },
    /// For [`Direction::ToServer`]: after `after` bytes, cut the client off
    /// (both ways, as a drop) while the server side stays open: what the
    /// client had already sent, up to `in_flight` more bytes, still reaches
    /// the server, slowly (16 KiB every `millis` ms), and only then does the
    /// server see the end. This is a server still busy with a dead
    /// client's pipelined commands (big APPENDs, a slow disk) while the
    /// client reconnects. Counted as a drop.
    LateDelivery {
        after: u64,
        in_flight: usize,
        millis: u64,
    },
    /// At the end of the line holding the first `marker` that ends at or
    /// past stream offset `after`, stop forwarding, send `line` in place of
    /// the rest and end the stream, as a server shutting down mid-command
    /// does. Only this direction ends: what the client sends still reaches
    /// the server (and its answers are dropped), so the client learns of
    /// the end only by reading it. Markers: `b")\r\n"` ends an IMAP FETCH response,
    /// `b"Examine completed"` is in the answer to EXAMINE, `b"\r\n.\r\n"`
    /// ends a POP3 multi-line answer; at most 64 bytes. An empty `marker`
    /// means at `after` itself, wherever that falls.
    InjectAndClose {
        after: u64,
        marker: Vec<u8>,
        line: Vec<u8>,
    },
    /// Replace every `from` found within one read by `to`, of the same
    /// length (so byte offsets stay true): `QRESYNC` → `XRESYNC` hides an
    /// extension the server offers on plaintext connections.
    Rewrite { from: Vec<u8>, to: Vec<u8> },
    /// For [`Direction::ToClient`] of a plaintext IMAP connection: the
    /// client commands whose line holds `command` (`b"BODY.PEEK[]"` for
    /// the FETCH of message bodies) are counted from 1; for numbers `nth`
    /// up to `nth + count - 1`, whatever the server answers to the command
    /// is dropped and its tagged completion becomes `TAG line` (`line`
    /// without the tag or CRLF: `NO [THROTTLED] Request is throttled.`).
    /// The server still runs the command: use it on commands that change
    /// nothing. With `keep_data`, the server's untagged answers go through
    /// and only the tagged completion is replaced (`OK Success
    /// [THROTTLED]`: done, but slow down). Counted as an injection.
    AnswerTagged {
        command: Vec<u8>,
        nth: usize,
        count: usize,
        line: Vec<u8>,
        keep_data: bool,
    },
}

/// Which connections a rule applies to, counted from 0 in the order the
/// proxy accepted them since the plan was set.
#[derive(Clone, Debug)]
pub enum Connections {
    All,
    /// The first `k` connections.
    First(usize),
    /// Connections whose number is in the range.
    Numbers(Range<usize>),
}

impl Connections {
    fn includes(&self, number: usize) -> bool {
        match self {
            Connections::All => true,
            Connections::First(k) => number < *k,
            Connections::Numbers(range) => range.contains(&number),
        }
    }
}

/// A fault, the direction it acts on and the connections it hits.
#[derive(Clone, Debug)]
pub struct Rule {
    pub direction: Direction,
    pub fault: Fault,
    pub connections: Connections,
}

impl Rule {
    /// `fault` on server → client bytes of every connection.
    pub fn to_client(fault: Fault) -> Rule {
        Rule {
            direction: Direction::ToClient,
            fault,
            connections: Connections::All,
        }
    }

    /// `fault` on client → server bytes of every connection.
    pub fn to_server(fault: Fault) -> Rule {
        Rule {
            direction: Direction::ToServer,
            fault,
            connections: Connections::All,
        }
    }

    /// The same rule, for the given connections only.
    pub fn on(mut self, connections: Connections) -> Rule {
        self.connections = connections;
        self
    }
}

/// What the proxy does to the connections it accepts from now on.
/// `Plan::default()` forwards everything untouched.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub rules: Vec<Rule>,
}

impl Plan {
    /// A plan that forwards everything untouched.
    pub fn clean() -> Plan {
        Plan::default()
    }

    /// This plan with one more rule.
    pub fn with(mut self, rule: Rule) -> Plan {
        self.rules.push(rule);
        self
    }

    /// Every connection is dropped after `bytes` bytes in `direction`.
    pub fn drop_every(direction: Direction, bytes: u64) -> Plan {
        Plan::clean().with(Rule {
            direction,
            fault: Fault::DropAfter(bytes),
            connections: Connections::All,
        })
    }
}

/// Counters since the proxy started (never reset by `set_plan`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted.
    pub connections: u64,
    /// Bytes forwarded client → server (injected bytes excluded).
    pub bytes_to_server: u64,
    /// Bytes forwarded server → client (injected bytes excluded).
    pub bytes_to_client: u64,
    /// Connections closed by a [`Fault::DropAfter`].
    pub drops: u64,
    /// [`Fault::StallAt`] pauses that happened.
    pub stalls: u64,
    /// Lines sent by a [`Fault::InjectAndClose`].
    pub injections: u64,
    /// The most connections that were open at the same time.
    pub most_open: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    bytes_to_server: AtomicU64,
    bytes_to_client: AtomicU64,
    drops: AtomicU64,
    stalls: AtomicU64,
    injections: AtomicU64,
    open_now: AtomicU64,
    most_open: AtomicU64,
}

/// Held by both pumps of a connection: the connection counts as open
/// until both directions are done.
struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    fn new(shared: &Arc<Shared>) -> OpenConnection {
        let counters = &shared.counters;
        let now = counters.open_now.fetch_add(1, Ordering::SeqCst) + 1;
        counters.most_open.fetch_max(now, Ordering::SeqCst);
        OpenConnection(shared.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.counters.open_now.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Shared {
    target_port: u16,
    counters: Counters,
    /// The plan, and how many connections were accepted under it.
    plan: Mutex<(Plan, usize)>,
    stopping: AtomicBool,
    /// Both ends of every connection, to close them when the proxy goes.
    open: Mutex<Vec<TcpStream>>,
}

/// A running proxy. See the module docs.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `127.0.0.1:target_port` following `plan`.
    pub fn start(target_port: u16, plan: Plan) -> FaultProxy {
        check(&plan);
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding the fault proxy");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            target_port,
            counters: Counters::default(),
            plan: Mutex::new((plan, 0)),
            stopping: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("faultproxy-{port}"))
                .spawn(move || accept_loop(listener, shared))
                .expect("starting the fault proxy")
        };
        FaultProxy {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The port to give mailtug instead of the server's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Replaces the plan for connections accepted from now on (connections
    /// already open keep theirs) and restarts the connection numbering that
    /// [`Connections`] refers to.
    pub fn set_plan(&self, plan: Plan) {
        check(&plan);
        *lock(&self.shared.plan) = (plan, 0);
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        Stats {
            connections: c.connections.load(Ordering::SeqCst),
            bytes_to_server: c.bytes_to_server.load(Ordering::SeqCst),
            bytes_to_client: c.bytes_to_client.load(Ordering::SeqCst),
            drops: c.drops.load(Ordering::SeqCst),
            stalls: c.stalls.load(Ordering::SeqCst),
            injections: c.injections.load(Ordering::SeqCst),
            most_open: c.most_open.load(Ordering::SeqCst),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wakes the blocking accept.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for stream in lock(&self.shared.open).drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Refuses a plan the proxy would not follow as written.
fn check(plan: &Plan) {
    for rule in &plan.rules {
        if let Fault::InjectAndClose { marker, .. } = &rule.fault {
            assert!(
                marker.len() <= MARKER_MAX,
                "an injection marker is at most {MARKER_MAX} bytes: {rule:?}"
            );
        }
        if let Fault::Rewrite { from, to } = &rule.fault {
            assert!(
                !from.is_empty() && from.len() == to.len(),
                "a rewrite keeps the length: {rule:?}"
            );
        }
    }
}

/// Replaces each `from` in `bytes` by `to` (same length).
fn rewrite(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(from.len()).position(|w| w == from) {
        bytes[at + found..at + found + to.len()].copy_from_slice(to);
        at += found + from.len();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let rules: Vec<Rule> = {
            let mut plan = lock(&shared.plan);
            let number = plan.1;
            plan.1 += 1;
            plan.0
                .rules
                .iter()
                .filter(|r| r.connections.includes(number))
                .cloned()
                .collect()
        };
        shared.counters.connections.fetch_add(1, Ordering::SeqCst);
        let server = match TcpStream::connect((Ipv4Addr::LOCALHOST, shared.target_port)) {
            Ok(server) => server,
            Err(_) => {
                // The client sees a connection closed at once, as with a dead server.
                let _ = client.shutdown(Shutdown::Both);
                continue;
            }
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let ends = (
            client.try_clone().expect("cloning a socket"),
            server.try_clone().expect("cloning a socket"),
        );
        {
            let mut open = lock(&shared.open);
            open.push(ends.0.try_clone().expect("cloning a socket"));
            open.push(ends.1.try_clone().expect("cloning a socket"));
        }
        let server_lingers = Arc::new(AtomicBool::new(false));
        let open_connection = Arc::new(OpenConnection::new(&shared));
        let answers: Vec<AnswerRule> = rules
            .iter()
            .filter(|r| r.direction == Direction::ToClient)
            .filter_map(|r| match &r.fault {
                Fault::AnswerTagged {
                    command,
                    nth,
                    count,
                    line,
                    keep_data,
                } => Some(AnswerRule {
                    command: command.clone(),
                    numbers: *nth..*nth + *count,
                    line: line.clone(),
                    keep_data: *keep_data,
                }),
                _ => None,
            })
            .collect();
        let answering = (!answers.is_empty()).then(|| Arc::new(Answering::new(answers)));
        for direction in [Direction::ToServer, Direction::ToClient] {
            let (from, to) = match direction {
                Direction::ToServer => (&client, &server),
                Direction::ToClient => (&server, &client),
            };
            let pump = Pump {
                from: from.try_clone().expect("cloning a socket"),
                to: to.try_clone().expect("cloning a socket"),
                ends: (
                    ends.0.try_clone().expect("cloning a socket"),
                    ends.1.try_clone().expect("cloning a socket"),
                ),
                direction,
                faults: rules
                    .iter()
                    .filter(|r| r.direction == direction)
                    .map(|r| r.fault.clone())
                    .collect(),
                shared: shared.clone(),
                server_lingers: server_lingers.clone(),
                answering: answering.clone(),
                _open: open_connection.clone(),
            };
            std::thread::spawn(move || pump.run());
        }
    }
}

/// Copies one direction of one connection, applying its faults.
struct Pump {
    from: TcpStream,
    to: TcpStream,
    /// (client, server), to close both on a drop.
    ends: (TcpStream, TcpStream),
    direction: Direction,
    faults: Vec<Fault>,
    shared: Arc<Shared>,
    /// Set by [`Fault::LateDelivery`]: the client is gone, the server side
    /// must stay open until the late bytes are delivered.
    server_lingers: Arc<AtomicBool>,
    /// The connection's [`Fault::AnswerTagged`] rules, seen by both pumps.
    answering: Option<Arc<Answering>>,
    _open: Arc<OpenConnection>,
}

/// One [`Fault::AnswerTagged`].
struct AnswerRule {
    command: Vec<u8>,
    /// The numbers of the matching commands it answers, from 1.
    numbers: Range<usize>,
    line: Vec<u8>,
    keep_data: bool,
}

/// What both directions of a connection know of [`Fault::AnswerTagged`]:
/// the client's commands are read line by line as they pass, and the tags
/// to answer are queued before the command reaches the server, so the
/// server's answer always finds its tag there.
struct Answering {
    rules: Vec<AnswerRule>,
    state: Mutex<AnsweringState>,
}

#[derive(Default)]
struct AnsweringState {
    /// Matching commands seen so far, per rule.
    seen: Vec<usize>,
    /// The start of the client's current line.
    client_line: Vec<u8>,
    /// The server's current line, while it is held.
    server_line: Vec<u8>,
    /// Tags whose answer is replaced, oldest first, with the line to send
    /// and whether the untagged answers before it go through.
    pending: std::collections::VecDeque<(Vec<u8>, Vec<u8>, bool)>,
}

impl Answering {
    fn new(rules: Vec<AnswerRule>) -> Answering {
        let state = AnsweringState {
            seen: vec![0; rules.len()],
            ..AnsweringState::default()
        };
        Answering {
            rules,
            state: Mutex::new(state),
        }
    }

    /// Reads client bytes (before they are forwarded), queueing the tags of
    /// the commands to answer.
    fn observe_client(&self, bytes: &[u8]) {
        let mut state = lock(&self.state);
        for &b in bytes {
            if b != b'\n' {
                if state.client_line.len() < 512 {
                    state.client_line.push(b);
                }
                continue;
            }
            let line = std::mem::take(&mut state.client_line);
            let Some(space) = line.iter().position(|&c| c == b' ') else {
                continue;
            };
            let tag = &line[..space];
            if tag.is_empty() || !tag.iter().all(u8::is_ascii_alphanumeric) {
                continue;
            }
            for (i, rule) in self.rules.iter().enumerate() {
                if line.windows(rule.command.len()).any(|w| w == rule.command) {
                    state.seen[i] += 1;
                    if rule.numbers.contains(&state.seen[i]) {
                        let answer = rule.line.clone();
                        state
                            .pending
                            .push_back((tag.to_vec(), answer, rule.keep_data));
                    }
                }
            }
        }
    }

    /// Server bytes as the client is to see them, and how many answers
    /// were replaced.
    fn filter_server(&self, bytes: &[u8]) -> (Vec<u8>, u64) {
        let mut state = lock(&self.state);
        let mut out = Vec::with_capacity(bytes.len());
        let mut replaced = 0;
        for &b in bytes {
            state.server_line.push(b);
            if b != b'\n' {
                continue;
            }
            let line = std::mem::take(&mut state.server_line);
            match state.pending.front().cloned() {
                None => out.extend_from_slice(&line),
                Some((tag, answer, keep_data)) => {
                    if line.starts_with(&tag) && line.get(tag.len()) == Some(&b' ') {
                        out.extend_from_slice(&tag);
                        out.push(b' ');
                        out.extend_from_slice(&answer);
                        out.extend_from_slice(b"\r\n");
                        state.pending.pop_front();
                        replaced += 1;
                    } else if keep_data {
                        out.extend_from_slice(&line);
                    }
                    // Else everything up to the tagged completion is dropped.
                }
            }
        }
        if state.pending.is_empty() {
            // Nothing to replace: a partial line goes on at once.
            out.extend_from_slice(&std::mem::take(&mut state.server_line));
        }
        (out, replaced)
    }
}

impl Pump {
    fn run(mut self) {
        let mut forwarded: u64 = 0;
        let mut stalled = vec![false; self.faults.len()];
        // Per fault: where its marker was found (the stream offset of its
        // last byte), while the end of that line has not come yet.
        let mut armed: Vec<Option<u64>> = vec![None; self.faults.len()];
        // The last bytes forwarded (up to `MARKER_MAX`), so a marker split
        // between two reads is found.
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match self.from.read(&mut buf) {
                Ok(0) | Err(_) => {
                    // The sender is done: pass the end on, as TCP would.
                    let _ = self.to.shutdown(Shutdown::Write);
                    return;
                }
                Ok(n) => n,
            };
            if let Some(answering) = &self.answering {
                if self.direction == Direction::ToServer {
                    answering.observe_client(&buf[..n]);
                } else {
                    let (out, replaced) = answering.filter_server(&buf[..n]);
                    self.shared
                        .counters
                        .injections
                        .fetch_add(replaced, Ordering::SeqCst);
                    if self.to.write_all(&out).is_err() {
                        self.close_both();
                        return;
                    }
                    self.count(n);
                    continue;
                }
            }
            for fault in &self.faults {
                match fault {
                    Fault::Latency { millis } => std::thread::sleep(Duration::from_millis(*millis)),
                    Fault::Rewrite { from, to } => rewrite(&mut buf[..n], from, to),
                    _ => {}
                }
            }
            let mut chunk = &buf[..n];
            while !chunk.is_empty() {
                // How much may go before the next fault point in this chunk.
                let mut take = chunk.len();
                let mut action: Option<usize> = None;
                for (i, fault) in self.faults.iter().enumerate() {
                    let point = match fault {
                        Fault::DropAfter(limit) | Fault::LateDelivery { after: limit, .. } => {
                            Some(limit.saturating_sub(forwarded))
                        }
                        Fault::StallAt { offset, .. } if !stalled[i] && *offset >= forwarded => {
                            Some(offset - forwarded)
                        }
                        Fault::InjectAndClose { after, marker, .. } => {
                            injection_point(forwarded, *after, marker, &tail, chunk, &mut armed[i])
                        }
                        _ => None,
                    };
                    if let Some(point) = point {
                        if (point as usize) <= take && point <= chunk.len() as u64 {
                            if (point as usize) < take || action.is_none() {
                                action = Some(i);
                            }
                            take = point as usize;
                        }
                    }
                }
                if take > 0 {
                    if self.to.write_all(&chunk[..take]).is_err() {
                        self.close_both();
                        return;
                    }
                    self.count(take);
                    forwarded += take as u64;
                    tail.extend_from_slice(&chunk[..take]);
                    let keep = tail.len().saturating_sub(MARKER_MAX);
                    tail.drain(..keep);
                    chunk = &chunk[take..];
                }
                let Some(i) = action else { continue };
                match &self.faults[i] {
                    Fault::DropAfter(_) => {
                        self.shared.counters.drops.fetch_add(1, Ordering::SeqCst);
                        self.close_both();
                        return;
                    }
                    Fault::StallAt { millis, .. } => {
                        stalled[i] = true;
                        self.shared.counters.stalls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(*millis));
                    }
                    Fault::InjectAndClose { line, .. } => {
                        let _ = self.to.write_all(line);
                        let _ = self.to.flush();
                        self.shared
                            .counters
                            .injections
                            .fetch_add(1, Ordering::SeqCst);
                        // The end of the stream (a FIN) follows the line, and
                        // nothing more: the client's writes still succeed, so
                        // only its reads see the end, every time, rather than
                        // when a reset happens to win the race.
                        let _ = self.to.shutdown(Shutdown::Write);
                        return;
                    }
                    Fault::Latency { .. } | Fault::Rewrite { .. } | Fault::AnswerTagged { .. } => {}
                    Fault::LateDelivery {
                        in_flight, millis, ..
                    } => {
                        let late = self.read_in_flight(chunk, *in_flight);
                        self.shared.counters.drops.fetch_add(1, Ordering::SeqCst);
                        self.server_lingers.store(true, Ordering::SeqCst);
                        let _ = self.ends.0.shutdown(Shutdown::Both);
                        for piece in late.chunks(16 * 1024) {
                            std::thread::sleep(Duration::from_millis(*millis));
                            if self.to.write_all(piece).is_err() {
                                break;
                            }
                            self.count(piece.len());
                        }
                        let _ = self.ends.1.shutdown(Shutdown::Both);
                        return;
                    }
                }
            }
        }
    }

    fn count(&self, bytes: usize) {
        let counter = match self.direction {
            Direction::ToServer => &self.shared.counters.bytes_to_server,
            Direction::ToClient => &self.shared.counters.bytes_to_client,
        };
        counter.fetch_add(bytes as u64, Ordering::SeqCst);
    }

    fn close_both(&self) {
        let _ = self.ends.0.shutdown(Shutdown::Both);
        if !self.server_lingers.load(Ordering::SeqCst) {
            let _ = self.ends.1.shutdown(Shutdown::Both);
        }
    }

    /// `rest` and what the client sends next, up to `limit` more bytes or
    /// until it pauses for 300 ms.
    fn read_in_flight(&self, rest: &[u8], limit: usize) -> Vec<u8> {
        let mut late = rest.to_vec();
        let _ = self.from.set_read_timeout(Some(Duration::from_millis(300)));
        let mut buf = vec![0u8; 16 * 1024];
        while late.len() < rest.len() + limit {
            match (&self.from).read(&mut buf) {
                Ok(n) if n > 0 => late.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        late.truncate(rest.len() + limit);
        late
    }
}

/// Where in `chunk` (bytes from its start) an injection goes: at the end
/// of the line holding the first `marker` that ends at or past stream offset
/// `after`, where `forwarded` bytes precede `chunk` and `tail` holds the
/// last of them. `armed` keeps where the marker was found, for a line that
/// ends in a later chunk.
fn injection_point(
    forwarded: u64,
    after: u64,
    marker: &[u8],
    tail: &[u8],
    chunk: &[u8],
    armed: &mut Option<u64>,
) -> Option<u64> {
    let end = forwarded + chunk.len() as u64;
    if marker.is_empty() {
        return (end >= after).then(|| after.saturating_sub(forwarded));
    }
    if armed.is_none() {
        if end < after {
            return None;
        }
        // Search the tail plus the chunk, so a marker across reads is found.
        let mut window = tail.to_vec();
        window.extend_from_slice(chunk);
        let base = forwarded - tail.len() as u64;
        *armed = window
            .windows(marker.len())
            .enumerate()
            .filter(|(_, w)| *w == marker)
            .map(|(i, _)| base + (i + marker.len()) as u64)
            .find(|&marker_end| marker_end >= after && marker_end > forwarded)
            .map(|marker_end| marker_end - 1);
    }
    // The line end at or after the marker's last byte.
    let from = armed.as_ref()?.saturating_sub(forwarded) as usize;
    chunk
        .get(from..)?
        .iter()
        .position(|&b| b == b'\n')
        .map(|j| (from + j + 1) as u64)
}
