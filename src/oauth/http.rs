//! Just enough HTTP/1.1 for OAuth2: a form POST to a token endpoint over
//! TLS, and the one request a browser sends to the loopback redirect.
//!
//! Why not a general HTTP client: the token, device and revocation
//! endpoints take one form-encoded POST and answer a small JSON object, so
//! a request with `Connection: close`, read to the end, is all it takes.
//! A general client would bring a large tree of crates (and a second TLS
//! set-up) for three requests a day.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::net::{self, TlsOptions};

/// An `https://` address (or `http://` to a loopback address, which only
/// the test override uses), cut into what a request needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// The path and query, starting with `/`.
    pub path: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url> {
        let (tls, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else {
            bail!("`{text}` is not an http(s) address");
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse()
                    .with_context(|| format!("`{text}` has a bad port"))?,
            ),
            None => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            bail!("`{text}` names no host");
        }
        if !tls && host != "127.0.0.1" && host != "localhost" {
            bail!("`{text}` is not encrypted; only https:// addresses are used");
        }
        Ok(Url {
            tls,
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

/// An answer: its status and its body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON, naming `what` when it is not.
    pub fn json(&self, what: &str) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "{what} answered HTTP {} with something other than JSON: {}",
                self.status,
                crate::report::sanitize(&String::from_utf8_lossy(
                    &self.body[..self.body.len().min(200)]
                ))
            )
        })
    }
}

/// POSTs `form` (`application/x-www-form-urlencoded`) to `url`.
pub async fn post_form(url: &Url, form: &[(&str, &str)], timeout: Duration) -> Result<Response> {
    let body = form_encode(form);
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mailtug/{}\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        url.path,
        url.host,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    let exchange = async {
        let tcp = net::connect_tcp(&url.host, url.port, timeout).await?;
        let mut stream = if url.tls {
            let plain = format!("http://{}", url.host);
            net::start_tls(tcp, &url.host, &TlsOptions::default(), timeout, &plain).await?
        } else {
            net::Stream::plain(tcp)
        };
        stream.write_all(request.as_bytes()).await?;
        stream.flush().await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        anyhow::Ok(raw)
    };
    let raw = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| {
            crate::exit::unreachable(format!(
                "{}: no answer within {} s",
                url.host,
                timeout.as_secs()
            ))
        })?
        .with_context(|| format!("talking to {}", url.host))?;
    parse_response(&raw).with_context(|| format!("reading the answer of {}", url.host))
}

/// Parses a whole HTTP/1.1 answer read to the end of the connection.
fn parse_response(raw: &[u8]) -> Result<Response> {
    let end = find(raw, b"\r\n\r\n").context("the answer ended inside its header")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("`{status_line}` is not an HTTP status line"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else {
        match length {
            Some(length) if length <= rest.len() => rest[..length].to_vec(),
            Some(_) => bail!("the answer is shorter than its Content-Length"),
            None => rest.to_vec(),
        }
    };
    Ok(Response { status, body })
}

/// The body of a `Transfer-Encoding: chunked` answer.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n").context("a chunk size line is cut off")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("`{size_text}` is not a chunk size"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size {
            bail!("a chunk is cut off");
        }
        body.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// `application/x-www-form-urlencoded`, as RFC 6749 appendix B asks.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    percent_encode_except(text, b"-._~")
}

/// Percent-encodes every byte but ASCII letters, digits and `keep`.
pub fn percent_encode_except(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Undoes `percent_encode` and the form encoding's `+` for a space.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `name=value` pairs of a query string.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_https_or_loopback() {
        let url = Url::parse("https://oauth2.googleapis.com/token").unwrap();
        assert_eq!(
            url,
            Url {
                tls: true,
                host: "oauth2.googleapis.com".into(),
                port: 443,
                path: "/token".into()
            }
        );
        let url = Url::parse("http://127.0.0.1:8080/a/b?c=d").unwrap();
        assert_eq!(
            (url.tls, url.port, url.path.as_str()),
            (false, 8080, "/a/b?c=d")
        );
        assert!(Url::parse("http://example.org/token").is_err());
        assert!(Url::parse("ftp://example.org/").is_err());
    }

    #[test]
    fn answers_with_a_length_or_in_chunks_are_read_whole() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
        let answer = parse_response(plain).unwrap();
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (200, &b"{\"a\":1}"[..])
        );
        let chunked = b"HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n\
                        4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n";
        let answer = parse_response(chunked).unwrap();
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (400, &b"{\"a\":1}"[..])
        );
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").is_err());
    }

    #[test]
    fn forms_round_trip_through_the_encoding() {
        let form = form_encode(&[("redirect_uri", "http://127.0.0.1:5/"), ("scope", "a b+c")]);
        assert_eq!(
            form,
            "redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2F&scope=a%20b%2Bc"
        );
        let pairs = query_pairs(&form);
        assert_eq!(pairs[0].1, "http://127.0.0.1:5/");
        assert_eq!(pairs[1].1, "a b+c");
        assert_eq!(percent_decode("a+b%2"), "a b%2");
    }
}
