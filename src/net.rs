//! Network plumbing shared by the IMAP and POP3 clients: TCP with timeouts,
//! TLS with verified certificates, and one stream type for plain and TLS.
//!
//! Certificates are verified against the system store by default; a CA file
//! adds trust (self-signed servers); `--insecure` turns verification off and
//! says so loudly. TLS 1.0 and 1.1 are refused.

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncRead, AsyncWrite, BufReader, BufWriter, ReadBuf};
use tokio::net::TcpStream;
use tokio_native_tls::native_tls::{self, Certificate, Protocol};
use tokio_native_tls::{TlsConnector, TlsStream};

use crate::exit;
use crate::report;

/// How to trust a server's certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Extra CA certificates (PEM), for servers with a private CA or a self-signed certificate.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate. Never the default.
    pub insecure: bool,
    /// The option that gives this side's CA file (`--src-ca-file`), named
    /// when a certificate is not trusted.
    pub ca_option: &'static str,
}

impl TlsOptions {
    /// The connector for these options, built once per process: building
    /// one loads the system trust store (twice, inside native-tls), about
    /// 60 ms, which every connection of a run would otherwise pay again.
    pub fn connector(&self) -> Result<TlsConnector> {
        type Key = (Option<PathBuf>, bool);
        static BUILT: Mutex<Vec<(Key, TlsConnector)>> = Mutex::new(Vec::new());
        let key = (self.ca_file.clone(), self.insecure);
        let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, connector)) = built.iter().find(|(built, _)| *built == key) {
            return Ok(connector.clone());
        }
        let connector = self.build_connector()?;
        built.push((key, connector.clone()));
        Ok(connector)
    }

    fn build_connector(&self) -> Result<TlsConnector> {
        let mut builder = native_tls::TlsConnector::builder();
        builder.min_protocol_version(Some(Protocol::Tlsv12));
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading CA file `{}`", path.display()))
                .map_err(|e| exit::usage(format!("{e:#}")))?;
            let certificate = Certificate::from_pem(&pem).map_err(|e| {
                exit::usage(format!(
                    "CA file `{}` holds no usable PEM certificate: {e}",
                    path.display()
                ))
            })?;
            builder.add_root_certificate(certificate);
        }
        if self.insecure {
            builder.danger_accept_invalid_certs(true);
            builder.danger_accept_invalid_hostnames(true);
        }
        let connector = builder
            .build()
            .map_err(|e| exit::usage(format!("setting up TLS: {e}")))?;
        Ok(TlsConnector::from(connector))
    }
}

/// How much ciphertext one read from the socket may bring in.
///
/// OpenSSL reads a record's 5-byte header and then its body, each with its
/// own read, and servers often send records far below the 16 KiB maximum
/// (Dovecot's TLS proxy sends what its 8 KiB buffer held). Straight on the
/// socket that is two or more system calls per record: about 470,000
/// `recvfrom` calls to download 1 GB. Buffered, one call takes whatever
/// has arrived, and the records are cut out of memory.
const TLS_READ_BUFFER: usize = 128 * 1024;

/// How much a connection gathers before it writes.
///
/// async-imap writes a command as four pieces (tag, space, text, CRLF) and
/// an APPEND sends its attributes apart from the message; each write would
/// otherwise be a TLS record and a TCP segment of its own, and the server's
/// TLS proxy wakes for each one. Everything written is flushed by whoever
/// waits for an answer, so nothing stays behind in the buffer.
const WRITE_BUFFER: usize = 64 * 1024;

/// A connection to a server, before or after TLS.
#[derive(Debug)]
pub enum Stream {
    Plain(BufWriter<TcpStream>),
    Tls(Box<BufWriter<TlsStream<BufReader<TcpStream>>>>),
}

impl Stream {
    /// A connection without TLS (yet).
    pub fn plain(tcp: TcpStream) -> Stream {
        Stream::Plain(BufWriter::with_capacity(WRITE_BUFFER, tcp))
    }

    /// The TCP connection under a plain stream, for STARTTLS; `None` once
    /// TLS is on. Called after the command was flushed, so no buffered byte
    /// is lost.
    pub fn into_plain(self) -> Option<TcpStream> {
        match self {
            Stream::Plain(s) => {
                debug_assert!(s.buffer().is_empty(), "unflushed bytes before STARTTLS");
                Some(s.into_inner())
            }
            Stream::Tls(_) => None,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// Opens a TCP connection, failing after `timeout`.
pub async fn connect_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream> {
    let target = format!("{host}:{port}");
    let connect = TcpStream::connect((host, port));
    let stream = tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| {
            exit::unreachable(format!(
                "cannot connect to {target}: no answer within {} s",
                timeout.as_secs()
            ))
        })?
        .map_err(|e| exit::unreachable(format!("cannot connect to {target}: {e}")))?;
    // Commands are small and latency-bound; do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Runs the TLS handshake, saying in plain words what went wrong when it
/// fails (OpenSSL's own text only at `-vv`). `plain_url` is the endpoint
/// as it would be written for the plain-text port (`imap://…`), offered
/// when the server answers in plain text.
pub async fn start_tls(
    tcp: TcpStream,
    host: &str,
    options: &TlsOptions,
    timeout: Duration,
    plain_url: &str,
) -> Result<Stream> {
    let connector = options.connector()?;
    let port = tcp.peer_addr().map(|a| a.port()).unwrap_or_default();
    // The buffer starts empty here, so nothing received before the
    // handshake (say, after a STARTTLS answer) can pass for TLS data.
    let handshake = connector.connect(host, BufReader::with_capacity(TLS_READ_BUFFER, tcp));
    let tls = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| exit::unreachable(format!("TLS handshake with {host} timed out")))?
        .map_err(|e| {
            let raw = e.to_string();
            report::debug(&format!("TLS handshake with {host}:{port}: {raw}"));
            exit::unreachable(tls_failure(&raw, host, port, options, plain_url))
        })?;
    Ok(Stream::Tls(Box::new(BufWriter::with_capacity(
        WRITE_BUFFER,
        tls,
    ))))
}

/// A failed handshake in a person's words, from OpenSSL's error text
/// (`error:0A000086:SSL routines:…:certificate verify failed:…:
/// (unable to get local issuer certificate)`).
fn tls_failure(raw: &str, host: &str, port: u16, options: &TlsOptions, plain_url: &str) -> String {
    if raw.contains("wrong version number") || raw.contains("packet length too long") {
        return format!(
            "{host}:{port} answered in plain text, not TLS: for this port write {plain_url} \
             (plain text upgraded with STARTTLS)"
        );
    }
    // OpenSSL puts the verification result last, in parentheses.
    let detail = raw
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .filter(|_| raw.trim_end().ends_with(')'));
    if raw.contains("certificate verify failed") {
        let reason = detail.unwrap_or("certificate verify failed");
        if reason.to_ascii_lowercase().contains("hostname mismatch") {
            return format!(
                "the certificate of {host}:{port} is for another host name (hostname \
                 mismatch); connect with the name the certificate is for"
            );
        }
        let mut text = format!("the certificate of {host}:{port} is not trusted ({reason})");
        if options.ca_file.is_none() {
            let side = match options.ca_option {
                "" => "--src-ca-file or --dst-ca-file".to_string(),
                option => option.to_string(),
            };
            text.push_str(&format!(
                "; if the server uses a private CA or a self-signed certificate, give the CA \
                 certificate with {side} FILE (--ca-file FILE for both sides)"
            ));
        }
        return text;
    }
    // `error:HEX:SSL routines:FUNCTION:REASON:FILE:LINE:` → REASON.
    let reason = raw
        .split(':')
        .nth(4)
        .filter(|_| raw.starts_with("error:"))
        .unwrap_or(raw);
    format!("TLS handshake with {host}:{port} failed: {reason} (-vv shows more)")
}

/// Whether the server at `host:port` speaks TLS from its first byte: after
/// a plain-text connection got no greeting, this tells a TLS port (which
/// waits for the client to speak first) from a slow server. Any
/// certificate will do: only the handshake's start matters.
pub async fn speaks_tls(host: &str, port: u16) -> bool {
    let probe = async {
        let tcp = TcpStream::connect((host, port)).await.ok()?;
        let connector = native_tls::TlsConnector::builder()
            .danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true)
            .build()
            .ok()?;
        TlsConnector::from(connector).connect(host, tcp).await.ok()
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), probe).await,
        Ok(Some(_))
    )
}

/// How long a plain-text server may keep its greeting before mailtug
/// checks whether the port speaks TLS instead.
pub const GREETING_PATIENCE: Duration = Duration::from_secs(1);

/// Waits for a plain-text server's greeting; when none has come within
/// [`GREETING_PATIENCE`] and the port turns out to speak TLS, fails at
/// once with the endpoint to write instead (`tls_url`) rather than wait
/// out the whole timeout.
pub async fn plain_greeting<T>(
    greeting: impl std::future::Future<Output = Result<T>>,
    host: &str,
    port: u16,
    tls_url: &str,
) -> Result<T> {
    tokio::pin!(greeting);
    tokio::select! {
        result = &mut greeting => return result,
        () = tokio::time::sleep(GREETING_PATIENCE) => {}
    }
    tokio::select! {
        result = &mut greeting => result,
        tls = speaks_tls(host, port) => {
            if tls {
                Err(exit::unreachable(format!(
                    "{host}:{port} sent no greeting: it speaks TLS from the start; write \
                     {tls_url}"
                )))
            } else {
                greeting.await
            }
        }
    }
}

/// True for `localhost` and loopback addresses, where a plaintext password
/// never leaves the machine.
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Runs `future` with a timeout, turning expiry into a clear error.
pub async fn deadline<T>(
    timeout: Duration,
    what: &str,
    future: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(timeout, future).await {
        Ok(result) => result,
        Err(_) => Err(crate::error::Disconnected(format!(
            "no answer from the server within {} s while {what}",
            timeout.as_secs()
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.8.9.1",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "example.org",
            "10.0.0.1",
            "192.168.1.1",
            "localhost.example.org",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
