//! What the user types to name a source or a destination, parsed once.
//!
//! One syntax serves both sides: `maildir:PATH`, `mbox:PATH`,
//! `imap[s]://USER@HOST[:PORT][/FOLDER]`, `pop3[s]://USER@HOST[:PORT]`, or a
//! plain path whose kind is evident on disk (a directory with `cur/ new/ tmp/`
//! is a maildir, a regular file is an mbox). Parsing never touches the
//! network; it only looks at the file system to resolve plain paths.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::exit::usage;

/// A parsed endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Maildir(PathBuf),
    Mbox(PathBuf),
    Imap(Remote),
    Pop3(Remote),
}

/// A server endpoint: IMAP or POP3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// Implicit TLS (`imaps://`, `pop3s://`) or STARTTLS/STLS.
    pub tls: Tls,
    pub user: Option<String>,
    pub host: String,
    pub port: u16,
    /// For IMAP, the one folder to use (`imaps://host/Archive`); `None` means all.
    pub folder: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    /// TLS from the first byte (ports 993, 995).
    Implicit,
    /// Plain connection upgraded with STARTTLS / STLS before authenticating.
    StartTls,
}

impl Endpoint {
    /// Parses an endpoint to read from: a local path must exist (nothing
    /// is created at a source, so the error does not offer to).
    pub fn parse_source(text: &str) -> anyhow::Result<Endpoint> {
        let endpoint = Endpoint::parse(text);
        if endpoint.is_err() && !text.contains(':') && !expand_home(text).exists() {
            return Err(usage(format!(
                "source `{text}` does not exist; check the path"
            )));
        }
        endpoint
    }

    /// Parses an endpoint as typed on the command line.
    pub fn parse(text: &str) -> anyhow::Result<Endpoint> {
        if text.is_empty() {
            return Err(usage("an endpoint cannot be empty"));
        }
        if let Some((scheme, rest)) = text.split_once("://") {
            if is_scheme(scheme) {
                return parse_url(&scheme.to_ascii_lowercase(), rest, text);
            }
        }
        if let Some(path) = text.strip_prefix("maildir:") {
            return Ok(Endpoint::Maildir(non_empty_path(path, text)?));
        }
        if let Some(path) = text.strip_prefix("mbox:") {
            return Ok(Endpoint::Mbox(non_empty_path(path, text)?));
        }
        let expanded = expand_home(text);
        let path = expanded.as_path();
        if path.join("cur").is_dir() && path.join("new").is_dir() && path.join("tmp").is_dir() {
            return Ok(Endpoint::Maildir(path.to_path_buf()));
        }
        if path.is_file() {
            return Ok(Endpoint::Mbox(path.to_path_buf()));
        }
        if let Some((kind, _)) = text.split_once(':') {
            if is_scheme(kind) && !path.exists() {
                return Err(usage(format!(
                    "unknown endpoint kind `{kind}` in `{text}`; use maildir:, mbox:, imap://, imaps://, pop3:// or pop3s://"
                )));
            }
        }
        if path.exists() {
            Err(usage(format!(
                "`{text}` is neither a maildir (no cur/ new/ tmp/) nor an mbox file; write maildir:{text} or mbox:{text} to say which it should be"
            )))
        } else {
            Err(usage(format!(
                "`{text}` does not exist; write maildir:{text} or mbox:{text} to create it"
            )))
        }
    }

    /// The endpoint in a normalised, absolute form: the same mailbox always
    /// gives the same text, so it can key a checkpoint.
    pub fn normalized(&self) -> String {
        match self {
            Endpoint::Maildir(path) => format!("maildir:{}", absolute(path).display()),
            Endpoint::Mbox(path) => format!("mbox:{}", absolute(path).display()),
            Endpoint::Imap(remote) | Endpoint::Pop3(remote) => self.to_string_with(remote),
        }
    }

    fn to_string_with(&self, remote: &Remote) -> String {
        let scheme = match (self, remote.tls) {
            (Endpoint::Imap(_), Tls::Implicit) => "imaps",
            (Endpoint::Imap(_), Tls::StartTls) => "imap",
            (_, Tls::Implicit) => "pop3s",
            (_, Tls::StartTls) => "pop3",
        };
        let user = remote
            .user
            .as_deref()
            .map(|u| format!("{}@", percent_encode(u, false)))
            .unwrap_or_default();
        let host = if remote.host.contains(':') {
            format!("[{}]", remote.host)
        } else {
            remote.host.to_ascii_lowercase()
        };
        let folder = remote
            .folder
            .as_deref()
            .map(|f| format!("/{}", percent_encode(f, true)))
            .unwrap_or_default();
        format!("{scheme}://{user}{host}:{}{folder}", remote.port)
    }

    /// The file or directory of a local endpoint; `None` for a server.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Endpoint::Maildir(path) | Endpoint::Mbox(path) => Some(path),
            Endpoint::Imap(_) | Endpoint::Pop3(_) => None,
        }
    }

    /// The server of a server endpoint; `None` for a local one.
    pub fn remote(&self) -> Option<&Remote> {
        match self {
            Endpoint::Imap(remote) | Endpoint::Pop3(remote) => Some(remote),
            Endpoint::Maildir(_) | Endpoint::Mbox(_) => None,
        }
    }

    /// A short word for messages: "maildir", "mbox", "IMAP", "POP3".
    pub fn kind(&self) -> &'static str {
        match self {
            Endpoint::Maildir(_) => "maildir",
            Endpoint::Mbox(_) => "mbox",
            Endpoint::Imap(_) => "IMAP",
            Endpoint::Pop3(_) => "POP3",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Maildir(path) => write!(f, "maildir:{}", path.display()),
            Endpoint::Mbox(path) => write!(f, "mbox:{}", path.display()),
            Endpoint::Imap(remote) | Endpoint::Pop3(remote) => {
                f.write_str(&self.to_string_with(remote))
            }
        }
    }
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn non_empty_path(path: &str, text: &str) -> anyhow::Result<PathBuf> {
    if path.is_empty() {
        return Err(usage(format!("`{text}` names no path")));
    }
    Ok(expand_home(path))
}

/// A path as a shell would take it: a leading `~` or `~/` is the home
/// directory (`$HOME`), `~user/` that user's home directory. The README
/// writes `maildir:~/Mail`; without this a directory named `~` appeared in
/// the working directory. Anything else, and a `~` whose home cannot be
/// found, stays as written.
pub(crate) fn expand_home(path: &str) -> PathBuf {
    let Some(rest) = path.strip_prefix('~') else {
        return PathBuf::from(path);
    };
    let (user, tail) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash + 1..]),
        None => (rest, ""),
    };
    let home = if user.is_empty() {
        std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
    } else {
        home_of(user)
    };
    match home {
        Some(home) if tail.is_empty() => home,
        Some(home) => home.join(tail),
        None => PathBuf::from(path),
    }
}

/// The home directory of `user` in the user database.
fn home_of(user: &str) -> Option<PathBuf> {
    use std::ffi::{CStr, CString};
    use std::os::unix::ffi::OsStrExt;
    let name = CString::new(user).ok()?;
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwnam_r writes into `entry` and `buffer`, which outlive
    // the call and the reads below; `found` is null or points at `entry`.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() || entry.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir points into `buffer`, a NUL-terminated string.
    let dir = unsafe { CStr::from_ptr(entry.pw_dir) };
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes())))
}

fn absolute(path: &Path) -> PathBuf {
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    // A destination that does not exist yet: anchor it at the working directory.
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn parse_url(scheme: &str, rest: &str, text: &str) -> anyhow::Result<Endpoint> {
    let (tls, default_port, is_imap) = match scheme {
        "imaps" => (Tls::Implicit, 993, true),
        "imap" => (Tls::StartTls, 143, true),
        "pop3s" | "pops" => (Tls::Implicit, 995, false),
        "pop3" | "pop" => (Tls::StartTls, 110, false),
        _ => {
            return Err(usage(format!(
                "unknown endpoint kind `{scheme}://` in `{text}`; use imap://, imaps://, pop3:// or pop3s://"
            )))
        }
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (user, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let user = match user {
        Some("") => return Err(usage(format!("`{text}` has an empty user name"))),
        Some(u) if u.contains(':') => {
            return Err(usage(format!(
                "`{text}` has a password in it; passwords never go on the command line, use --src-password-file, --src-password-env or --src-password-command"
            )))
        }
        Some(u) => Some(percent_decode(u).map_err(|e| usage(format!("`{text}`: {e}")))?),
        None => None,
    };
    let (host, port) = split_host_port(hostport, default_port, text)?;
    let folder = match path {
        None | Some("") => None,
        Some(p) => {
            if !is_imap {
                return Err(usage(format!(
                    "`{text}`: a POP3 account has no folders; drop the `/{p}`"
                )));
            }
            Some(percent_decode(p).map_err(|e| usage(format!("`{text}`: {e}")))?)
        }
    };
    let remote = Remote {
        tls,
        user,
        host,
        port,
        folder,
    };
    Ok(if is_imap {
        Endpoint::Imap(remote)
    } else {
        Endpoint::Pop3(remote)
    })
}

fn split_host_port(hostport: &str, default_port: u16, text: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| usage(format!("`{text}` has an unclosed `[` in its host")))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                usage(format!(
                    "`{text}` has `{after}` after its `[…]` host, where only `:PORT` may follow"
                ))
            })?),
        };
        (host, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(usage(format!("`{text}` names no host")));
    }
    // Brackets only enclose a whole host (an IPv6 literal); a host containing
    // them could not be printed so that it parses back.
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '[' || c == ']')
    {
        return Err(usage(format!("`{text}` has an invalid host name")));
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| usage(format!("`{text}` has an invalid port `{p}`")))?,
    };
    Ok((host.to_string(), port))
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape at `{}`", &s[i..]))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent escapes do not form UTF-8".to_string())
}

/// Escapes all but unreserved characters and `+`. `/` stays as it is only
/// where it separates nothing (`keep_slash`, the folder): in the user name
/// it would end the authority.
fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~+".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(tls: Tls, user: Option<&str>, host: &str, port: u16, folder: Option<&str>) -> Remote {
        Remote {
            tls,
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
            folder: folder.map(str::to_string),
        }
    }

    #[test]
    fn parses_the_documented_forms() {
        let cases: Vec<(&str, Endpoint)> = vec![
            (
                "maildir:/var/mail/me",
                Endpoint::Maildir("/var/mail/me".into()),
            ),
            ("mbox:backup.mbox", Endpoint::Mbox("backup.mbox".into())),
            ("mbox:dir/", Endpoint::Mbox("dir/".into())),
            (
                "imaps://me@mail.example.org",
                Endpoint::Imap(remote(
                    Tls::Implicit,
                    Some("me"),
                    "mail.example.org",
                    993,
                    None,
                )),
            ),
            (
                "imap://me%40example.org@127.0.0.1:1143/Archive/2023",
                Endpoint::Imap(remote(
                    Tls::StartTls,
                    Some("me@example.org"),
                    "127.0.0.1",
                    1143,
                    Some("Archive/2023"),
                )),
            ),
            (
                "IMAPS://host/INBOX",
                Endpoint::Imap(remote(Tls::Implicit, None, "host", 993, Some("INBOX"))),
            ),
            (
                "pop3s://me@pop.example.org",
                Endpoint::Pop3(remote(
                    Tls::Implicit,
                    Some("me"),
                    "pop.example.org",
                    995,
                    None,
                )),
            ),
            (
                "pop3://u@[::1]:1110",
                Endpoint::Pop3(remote(Tls::StartTls, Some("u"), "::1", 1110, None)),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(Endpoint::parse(input).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn rejects_bad_endpoints_with_a_usage_error() {
        let cases = [
            ("", "empty"),
            ("ftp://host/x", "unknown endpoint kind `ftp://`"),
            ("gopher:thing", "unknown endpoint kind `gopher`"),
            ("imaps://user:secret@host", "password"),
            ("imaps://@host", "empty user"),
            ("imaps://host:0", "invalid port"),
            ("imaps://host:99999", "invalid port"),
            ("imaps://", "no host"),
            ("imaps://[::1]x", "after its `[…]` host"),
            ("imaps://[::1]]:993", "after its `[…]` host"),
            ("imaps://[a[b]", "invalid host name"),
            ("imaps://a]b", "invalid host name"),
            ("pop3s://me@host/INBOX", "no folders"),
            ("imaps://me%zz@host", "bad percent escape"),
            ("maildir:", "names no path"),
            ("/definitely/not/here", "does not exist"),
        ];
        for (input, expected) in cases {
            let err = Endpoint::parse(input).unwrap_err();
            assert!(format!("{err:#}").contains(expected), "{input}: {err:#}");
            assert_eq!(crate::exit::classify(&err), crate::exit::ExitCode::Usage);
        }
    }

    #[test]
    fn plain_paths_are_recognised_by_what_is_on_disk() {
        let dir = std::env::temp_dir().join(format!("mailtug-endpoint-{}", std::process::id()));
        let maildir = dir.join("md");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        let mbox = dir.join("file");
        std::fs::write(&mbox, b"From x Wed Jan  1 10:00:00 2020\n\nhi\n").unwrap();
        assert_eq!(
            Endpoint::parse(maildir.to_str().unwrap()).unwrap(),
            Endpoint::Maildir(maildir.clone())
        );
        assert_eq!(
            Endpoint::parse(mbox.to_str().unwrap()).unwrap(),
            Endpoint::Mbox(mbox.clone())
        );
        let err = Endpoint::parse(dir.to_str().unwrap()).unwrap_err();
        assert!(format!("{err}").contains("neither a maildir"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn normalized_form_is_absolute_and_hides_nothing_secret() {
        let ep = Endpoint::parse("imaps://Me%40x.org@Mail.Example.org/Sent").unwrap();
        assert_eq!(
            ep.normalized(),
            "imaps://Me%40x.org@mail.example.org:993/Sent"
        );
        let ep = Endpoint::parse("maildir:relative/dir").unwrap();
        assert!(ep.normalized().starts_with("maildir:/"));
    }

    /// Found by the `endpoint` fuzz target, input `pop3s://carol[::1]:995`
    /// (fuzz/regressions/endpoint/bracket-in-host): the host `carol[::1]`
    /// printed as `[carol[::1]]:995`, which parsed as host `carol[::1`, the
    /// `]:995` after the first `]` silently ignored.
    #[test]
    fn regression_fuzz_brackets_inside_a_host_are_refused() {
        for input in ["pop3s://carol[::1]:995", "pop3s://[carol[::1]]:995"] {
            let err = Endpoint::parse(input).unwrap_err();
            assert_eq!(crate::exit::classify(&err), crate::exit::ExitCode::Usage);
        }
        let ep = Endpoint::parse("pop3s://carol@[::1]:995").unwrap();
        assert_eq!(ep.normalized(), "pop3s://carol@[::1]:995");
    }

    /// Found by the `endpoint` fuzz target, input `imaps://%2F@host`
    /// (fuzz/regressions/endpoint/slash-in-user): the user name `/` printed
    /// as `imaps:///@host:993`, which names no host.
    #[test]
    fn regression_fuzz_slash_in_user_name_is_escaped_when_printed() {
        for (input, printed) in [
            ("imaps://%2F@host", "imaps://%2F@host:993"),
            (
                "imap://dept%2Falice@host/a/b",
                "imap://dept%2Falice@host:143/a/b",
            ),
        ] {
            let ep = Endpoint::parse(input).unwrap();
            assert_eq!(ep.normalized(), printed);
            assert_eq!(Endpoint::parse(printed).unwrap(), ep);
        }
    }

    #[test]
    fn a_leading_tilde_is_the_home_directory_as_in_a_shell() {
        let home = PathBuf::from(std::env::var("HOME").expect("tests run with HOME set"));
        let root_home = home_of("root").expect("root is in the user database");
        let cases: [(&str, PathBuf); 7] = [
            ("~", home.clone()),
            ("~/", home.clone()),
            ("~/Mail", home.join("Mail")),
            ("~root/Mail/x", root_home.join("Mail/x")),
            (
                "~no-such-user-here/Mail",
                PathBuf::from("~no-such-user-here/Mail"),
            ),
            ("a/~/b", PathBuf::from("a/~/b")),
            ("/abs", PathBuf::from("/abs")),
        ];
        for (text, expected) in cases {
            assert_eq!(expand_home(text), expected, "{text}");
        }
        assert_eq!(
            Endpoint::parse("maildir:~/Mail").unwrap(),
            Endpoint::Maildir(home.join("Mail"))
        );
        assert_eq!(
            Endpoint::parse("mbox:~root/a.mbox").unwrap(),
            Endpoint::Mbox(root_home.join("a.mbox"))
        );
    }
}
