//! Servers that are wrong on purpose, on this machine only (127.0.0.1, or
//! its own address for the tests about non-loopback hosts): a fake IMAP or
//! POP3 server, plain, behind TLS or with STARTTLS/STLS, with a certificate
//! chosen by the test (expired, self-signed, for another host), that
//! refuses every login (or drops the connection at it) and records what it
//! received; and
//! `openssl s_server` speaking only an old TLS version. Certificates are
//! made with `openssl` at test time.
//!
//! The fake servers never accept a login: a test that reaches one has proved
//! what it needs (the TLS handshake went through, or it did not), and a
//! refusal ends the client's run at once.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio_native_tls::native_tls;

/// A certificate and its key, PEM files.
#[derive(Clone, Debug)]
pub struct CertPair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `openssl req` arguments for a new, unencrypted P-256 key.
pub const EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// A private CA and server certificates for 127.0.0.1 that are wrong in
/// one way each.
pub struct TestCerts {
    /// The CA that signed `good`, `expired` and `wrong_host`.
    pub ca: PathBuf,
    /// Valid now, for IP 127.0.0.1 and localhost.
    pub good: CertPair,
    /// For 127.0.0.1, but its validity ended before the tests started.
    pub expired: CertPair,
    /// Valid, but only for `mail.example.org`.
    pub wrong_host: CertPair,
    /// For 127.0.0.1, signed by its own key: no CA vouches for it.
    pub self_signed: CertPair,
}

impl TestCerts {
    /// Makes them in `dir` (created).
    pub fn make(dir: &Path) -> TestCerts {
        std::fs::create_dir_all(dir).unwrap();
        let p = |name: &str| dir.join(name).to_str().expect("UTF-8 paths").to_owned();
        let server_ext = |name: &str, san: &str| {
            let path = p(name);
            std::fs::write(
                &path,
                format!(
                    "subjectAltName = {san}\nbasicConstraints = critical, CA:FALSE\n\
                     keyUsage = critical, digitalSignature, keyEncipherment\n\
                     extendedKeyUsage = serverAuth\n"
                ),
            )
            .unwrap();
            path
        };
        let local_ext = server_ext("local.ext", "IP:127.0.0.1, DNS:localhost");
        let other_ext = server_ext("other.ext", "DNS:mail.example.org");
        let steps: Vec<Vec<String>> = vec![
            [
                &[
                    "req",
                    "-x509",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=mailtug trust test CA",
                ][..],
                &["-keyout", &p("ca.key"), "-out", &p("ca.pem")],
                &["-addext", "basicConstraints = critical, CA:TRUE"],
                &["-addext", "keyUsage = critical, keyCertSign, cRLSign"],
                &EC_KEY,
            ]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect(),
            [
                &["req", "-new", "-subj", "/CN=localhost"][..],
                &["-keyout", &p("server.key"), "-out", &p("server.csr")],
                &EC_KEY,
            ]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect(),
            sign(&p, "good.pem", "1", &local_ext),
            // A negative validity: notAfter lies a day before notBefore (now).
            sign(&p, "expired.pem", "-1", &local_ext),
            sign(&p, "wrong-host.pem", "1", &other_ext),
            [
                &["req", "-x509", "-days", "1", "-subj", "/CN=localhost"][..],
                &["-keyout", &p("self.key"), "-out", &p("self.pem")],
                &["-addext", "subjectAltName = IP:127.0.0.1, DNS:localhost"],
                &EC_KEY,
            ]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ];
        for args in steps {
            openssl(&args);
        }
        // The expired certificate must really be expired, or the test that
        // uses it would prove nothing.
        let check = Command::new("openssl")
            .args(["x509", "-noout", "-checkend", "0", "-in", &p("expired.pem")])
            .output()
            .expect("running openssl");
        assert!(
            !check.status.success(),
            "openssl made a certificate that has not expired: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        let pair = |cert: &str, key: &str| CertPair {
            cert: dir.join(cert),
            key: dir.join(key),
        };
        TestCerts {
            ca: dir.join("ca.pem"),
            good: pair("good.pem", "server.key"),
            expired: pair("expired.pem", "server.key"),
            wrong_host: pair("wrong-host.pem", "server.key"),
            self_signed: pair("self.pem", "self.key"),
        }
    }
}

fn sign(p: &dyn Fn(&str) -> String, out: &str, days: &str, ext: &str) -> Vec<String> {
    let serial = format!(
        "0x{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    );
    [
        "x509",
        "-req",
        "-days",
        days,
        "-in",
        &p("server.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-set_serial",
        &serial,
        "-extfile",
        ext,
        "-out",
        &p(out),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn openssl(args: &[String]) {
    let output = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is not installed: run `apt-get install openssl`");
    assert!(
        output.status.success(),
        "`openssl {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Which protocol a fake server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Imap,
    Pop3,
}

/// What a fake server does when a client sends credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnLogin {
    /// Refuses with a fixed text.
    Refuse,
    /// Refuses quoting what the client sent, as careless servers do.
    RefuseQuoting,
    /// Closes the connection without an answer.
    Drop,
    /// Never greets: says nothing at all, and reads until the client leaves.
    Silent,
}

/// A fake IMAP or POP3 server on 127.0.0.1 (see the module docs). It serves
/// any number of connections until dropped.
pub struct FakeServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<u8>>>,
    logins: Arc<AtomicUsize>,
    handshakes: Arc<AtomicUsize>,
    handle: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Plaintext (clients need `--tls none`, which loopback allows).
    pub fn plain(protocol: Protocol, on_login: OnLogin) -> FakeServer {
        FakeServer::start(Ipv4Addr::LOCALHOST.into(), protocol, on_login, Tls::None)
    }

    /// Plaintext until STARTTLS (IMAP) or STLS (POP3), then TLS with the
    /// given certificate; before that it offers no login at all.
    pub fn starttls(protocol: Protocol, on_login: OnLogin, pair: &CertPair) -> FakeServer {
        let tls = Tls::Upgrade(acceptor(pair));
        FakeServer::start(Ipv4Addr::LOCALHOST.into(), protocol, on_login, tls)
    }

    /// Plaintext on another address of this machine (see
    /// [`non_loopback_address`]), for what clients must not do beyond loopback.
    pub fn plain_on(ip: IpAddr, protocol: Protocol, on_login: OnLogin) -> FakeServer {
        FakeServer::start(ip, protocol, on_login, Tls::None)
    }

    /// Implicit TLS (`imaps://`, `pop3s://`) with the given certificate.
    pub fn tls(protocol: Protocol, on_login: OnLogin, pair: &CertPair) -> FakeServer {
        FakeServer::start(
            Ipv4Addr::LOCALHOST.into(),
            protocol,
            on_login,
            Tls::Implicit(acceptor(pair)),
        )
    }

    /// Implicit TLS, after which it never says a word (no greeting).
    pub fn silent_tls(protocol: Protocol, pair: &CertPair) -> FakeServer {
        FakeServer::start(
            Ipv4Addr::LOCALHOST.into(),
            protocol,
            OnLogin::Silent,
            Tls::Implicit(acceptor(pair)),
        )
    }

    fn start(ip: IpAddr, protocol: Protocol, on_login: OnLogin, tls: Tls) -> FakeServer {
        let listener = TcpListener::bind((ip, 0)).expect("binding the fake server");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(Mutex::new(Vec::new()));
        let logins = Arc::new(AtomicUsize::new(0));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let session = Session {
            protocol,
            on_login,
            received: received.clone(),
            logins: logins.clone(),
        };
        let (stop_flag, handshake_count) = (stop.clone(), handshakes.clone());
        let handle = std::thread::spawn(move || {
            let mut sessions = Vec::new();
            // Bounded: no test runs anywhere near this long.
            let deadline = Instant::now() + Duration::from_secs(600);
            while !stop_flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                let stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Err(_) => break,
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let (session, tls, handshakes) =
                    (session.clone(), tls.clone(), handshake_count.clone());
                sessions.push(std::thread::spawn(move || match tls {
                    Tls::None => session.serve(stream, true),
                    Tls::Implicit(acceptor) => {
                        if let Ok(tls) = acceptor.accept(stream) {
                            handshakes.fetch_add(1, Ordering::Relaxed);
                            session.serve(tls, true);
                        }
                    }
                    Tls::Upgrade(acceptor) => {
                        let Some(stream) = session.until_starttls(stream) else {
                            return;
                        };
                        if let Ok(tls) = acceptor.accept(stream) {
                            handshakes.fetch_add(1, Ordering::Relaxed);
                            // RFC 3501 §6.2.1, RFC 2595 §4: no new greeting.
                            session.serve(tls, false);
                        }
                    }
                }));
            }
            for session in sessions {
                let _ = session.join();
            }
        });
        FakeServer {
            port,
            stop,
            received,
            logins,
            handshakes,
            handle: Some(handle),
        }
    }

    /// Everything clients sent after any TLS handshake, as text.
    pub fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }

    /// How many times a client sent credentials.
    pub fn logins(&self) -> usize {
        self.logins.load(Ordering::Relaxed)
    }

    /// How many TLS handshakes completed.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::Relaxed)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn acceptor(pair: &CertPair) -> native_tls::TlsAcceptor {
    let cert = std::fs::read(&pair.cert).unwrap();
    let key = std::fs::read(&pair.key).unwrap();
    let identity = native_tls::Identity::from_pkcs8(&cert, &key).expect("a PKCS#8 identity");
    native_tls::TlsAcceptor::new(identity).expect("a TLS acceptor")
}

/// How a fake server's connections are protected.
#[derive(Clone)]
enum Tls {
    None,
    Implicit(native_tls::TlsAcceptor),
    Upgrade(native_tls::TlsAcceptor),
}

#[derive(Clone)]
struct Session {
    protocol: Protocol,
    on_login: OnLogin,
    received: Arc<Mutex<Vec<u8>>>,
    logins: Arc<AtomicUsize>,
}

const IMAP_CAPABILITIES: &str = "IMAP4rev1 AUTH=PLAIN AUTH=LOGIN";

impl Session {
    fn serve<S: Read + Write>(&self, stream: S, greet: bool) {
        let mut stream = BufReader::new(stream);
        if self.on_login == OnLogin::Silent {
            while self.line(&mut stream).is_some() {}
            return;
        }
        let _ = match self.protocol {
            Protocol::Imap => self.imap(&mut stream, greet),
            Protocol::Pop3 => self.pop3(&mut stream, greet),
        };
    }

    /// The plaintext part of a STARTTLS/STLS session: capabilities without
    /// any login, credentials refused (and counted), and the stream back
    /// once the client asks for TLS.
    fn until_starttls(&self, stream: TcpStream) -> Option<TcpStream> {
        let mut stream = BufReader::new(stream);
        let greeting = match self.protocol {
            Protocol::Imap => "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] fake ready\r\n",
            Protocol::Pop3 => "+OK fake ready\r\n",
        };
        Self::send(&mut stream, greeting).ok()?;
        while let Some(line) = self.line(&mut stream) {
            let mut words = line.split_whitespace();
            let (tag, command) = match self.protocol {
                Protocol::Imap => (words.next().unwrap_or("*"), words.next().unwrap_or("")),
                Protocol::Pop3 => ("", words.next().unwrap_or("")),
            };
            let command = command.to_ascii_uppercase();
            let answer = match (self.protocol, command.as_str()) {
                (Protocol::Imap, "STARTTLS") => {
                    Self::send(&mut stream, &format!("{tag} OK begin TLS\r\n")).ok()?;
                    return Some(stream.into_inner());
                }
                (Protocol::Pop3, "STLS") => {
                    Self::send(&mut stream, "+OK begin TLS\r\n").ok()?;
                    return Some(stream.into_inner());
                }
                (Protocol::Imap, "CAPABILITY") => {
                    format!("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n{tag} OK done\r\n")
                }
                (Protocol::Pop3, "CAPA") => "+OK\r\nSTLS\r\n.\r\n".to_owned(),
                (_, "LOGIN" | "AUTHENTICATE" | "USER" | "PASS" | "AUTH") => {
                    self.logins.fetch_add(1, Ordering::Relaxed);
                    match self.protocol {
                        Protocol::Imap => format!("{tag} NO not before STARTTLS\r\n"),
                        Protocol::Pop3 => "-ERR not before STLS\r\n".to_owned(),
                    }
                }
                (_, "LOGOUT" | "QUIT") => return None,
                (Protocol::Imap, _) => format!("{tag} BAD not here\r\n"),
                (Protocol::Pop3, _) => "-ERR not here\r\n".to_owned(),
            };
            Self::send(&mut stream, &answer).ok()?;
        }
        None
    }

    /// One line from the client, recorded; None at the end of the stream.
    fn line<S: Read + Write>(&self, stream: &mut BufReader<S>) -> Option<String> {
        let mut line = Vec::new();
        match stream.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                self.received.lock().unwrap().extend_from_slice(&line);
                Some(String::from_utf8_lossy(&line).trim_end().to_owned())
            }
        }
    }

    fn send<S: Read + Write>(stream: &mut BufReader<S>, text: &str) -> io::Result<()> {
        stream.get_mut().write_all(text.as_bytes())?;
        stream.get_mut().flush()
    }

    /// Sends the prompts of a SASL exchange (IMAP `AUTHENTICATE`, POP3
    /// `AUTH`) whose mechanism and initial response are in `words`, and
    /// records the client's answers in `sent`; false if the client went away.
    fn sasl_prompts<'w, S: Read + Write>(
        &self,
        stream: &mut BufReader<S>,
        mut words: impl Iterator<Item = &'w str>,
        sent: &mut Vec<String>,
    ) -> io::Result<bool> {
        let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
        let has_initial = words.next().is_some();
        let prompts: &[&str] = match (mechanism.as_str(), has_initial) {
            ("LOGIN", false) => &["VXNlcm5hbWU6", "UGFzc3dvcmQ6"],
            ("LOGIN", true) => &["UGFzc3dvcmQ6"],
            (_, false) => &[""],
            (_, true) => &[],
        };
        for prompt in prompts {
            Self::send(stream, &format!("+ {prompt}\r\n"))?;
            match self.line(stream) {
                Some(line) => sent.push(line),
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// The answer to credentials `sent` (None: close the connection).
    fn refusal(&self, sent: &[String]) -> Option<String> {
        self.logins.fetch_add(1, Ordering::Relaxed);
        match self.on_login {
            OnLogin::Refuse => Some("fake server refuses".to_owned()),
            OnLogin::RefuseQuoting => Some(format!("refused: {}", sent.join(" "))),
            OnLogin::Drop | OnLogin::Silent => None,
        }
    }

    fn imap<S: Read + Write>(&self, stream: &mut BufReader<S>, greet: bool) -> io::Result<()> {
        if greet {
            Self::send(
                stream,
                &format!("* OK [CAPABILITY {IMAP_CAPABILITIES}] fake ready\r\n"),
            )?;
        }
        while let Some(line) = self.line(stream) {
            let mut words = line.split_whitespace();
            let tag = words.next().unwrap_or("*").to_owned();
            let command = words.next().unwrap_or("").to_ascii_uppercase();
            let mut sent = vec![line.clone()];
            let answer = match command.as_str() {
                "CAPABILITY" => format!("* CAPABILITY {IMAP_CAPABILITIES}\r\n{tag} OK done\r\n"),
                "LOGOUT" => {
                    Self::send(stream, &format!("* BYE\r\n{tag} OK bye\r\n"))?;
                    return Ok(());
                }
                "LOGIN" | "AUTHENTICATE" => {
                    if command == "AUTHENTICATE" && !self.sasl_prompts(stream, words, &mut sent)? {
                        return Ok(());
                    }
                    match self.refusal(&sent) {
                        Some(text) => format!("{tag} NO [AUTHENTICATIONFAILED] {text}\r\n"),
                        None => return Ok(()),
                    }
                }
                _ => format!("{tag} BAD not here\r\n"),
            };
            Self::send(stream, &answer)?;
        }
        Ok(())
    }

    fn pop3<S: Read + Write>(&self, stream: &mut BufReader<S>, greet: bool) -> io::Result<()> {
        if greet {
            Self::send(stream, "+OK fake ready\r\n")?;
        }
        while let Some(line) = self.line(stream) {
            let mut words = line.split_whitespace();
            let command = words.next().unwrap_or("").to_ascii_uppercase();
            let mut sent = vec![line.clone()];
            let answer = match command.as_str() {
                "CAPA" => "+OK\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n".to_owned(),
                "USER" => "+OK\r\n".to_owned(),
                "QUIT" => {
                    Self::send(stream, "+OK bye\r\n")?;
                    return Ok(());
                }
                "PASS" | "AUTH" => {
                    if command == "AUTH" && !self.sasl_prompts(stream, words, &mut sent)? {
                        return Ok(());
                    }
                    match self.refusal(&sent) {
                        Some(text) => format!("-ERR [AUTH] {text}\r\n"),
                        None => return Ok(()),
                    }
                }
                _ => "-ERR not here\r\n".to_owned(),
            };
            Self::send(stream, &answer)?;
        }
        Ok(())
    }
}

/// `openssl s_server` on 127.0.0.1 with extra options (an old protocol
/// version, say); killed when dropped.
pub struct OpenSslServer {
    pub port: u16,
    child: Child,
    // Kept open: s_server stops at the end of its stdin.
    _stdin: ChildStdin,
}

impl OpenSslServer {
    pub fn start(pair: &CertPair, options: &[&str]) -> OpenSslServer {
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-cert"])
            .arg(&pair.cert)
            .arg("-key")
            .arg(&pair.key)
            .args(options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl is not installed: run `apt-get install openssl`");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut port = None;
        let mut seen = String::new();
        let mut line = String::new();
        while port.is_none() {
            line.clear();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                let _ = child.wait();
                panic!("openssl s_server {options:?} did not start:\n{seen}");
            }
            seen.push_str(&line);
            port = line
                .strip_prefix("ACCEPT ")
                .and_then(|a| a.trim().rsplit(':').next())
                .and_then(|p| p.parse::<u16>().ok());
        }
        // Drained, so the server never blocks on a full pipe.
        std::thread::spawn(move || io::copy(&mut stdout, &mut io::sink()));
        OpenSslServer {
            port: port.unwrap(),
            child,
            _stdin: stdin,
        }
    }
}

impl Drop for OpenSslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The handshake `openssl s_client` makes with `options`, as s_client
/// reports it (`Protocol  : TLSv1`, `Cipher is …`), for checking what a
/// server really offers.
pub fn openssl_client(port: u16, options: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(options)
        .stdin(Stdio::null())
        .output()
        .expect("running openssl s_client");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// This machine's address on its default route, if it has one: not a
/// loopback address, yet local, so a fake server can listen on it and no
/// packet leaves the machine.
pub fn non_loopback_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing; it only picks the route.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}
