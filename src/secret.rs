//! Passwords and tokens: where they come from, and how they stay secret.
//!
//! A secret is never taken from the command line (where `ps` shows it), never
//! printed, and never written to a checkpoint. `Secret`'s `Debug` and
//! `Display` print a placeholder, so a secret cannot leak through an error
//! chain or a debug log by accident. A password command runs through `sh -c`
//! with the secret coming back on its stdout, never on any argv.

use std::fmt;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::exit;

/// A password or an OAuth access token.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The secret itself, for the one place that sends it to a server.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text`, a server's reply to a login, with `***` for the secret in
    /// every form a client of ours sends it in: as it is, IMAP-quoted, and
    /// in base64 alone or inside a SASL PLAIN, XOAUTH2 or OAUTHBEARER
    /// message for `user`. A careless server may quote the credentials it
    /// refuses; its words are worth showing, the secret never.
    pub(crate) fn redact(&self, user: &str, text: &str) -> String {
        let secret = &self.0;
        let quoted = secret.replace('\\', "\\\\").replace('"', "\\\"");
        let messages = [
            secret.clone(),
            format!("\0{user}\0{secret}"),
            format!("user={user}\x01auth=Bearer {secret}\x01\x01"),
            format!("n,a={user},\x01auth=Bearer {secret}\x01\x01"),
        ];
        let mut forms: Vec<String> = messages.iter().map(|m| base64(m.as_bytes())).collect();
        forms.push(quoted);
        forms.push(secret.clone());
        // Longest first, so no form is left half-replaced by a shorter one.
        forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
        let mut redacted = text.to_owned();
        for form in forms.iter().filter(|form| !form.is_empty()) {
            redacted = redacted.replace(form.as_str(), "***");
        }
        redacted
    }
}

/// RFC 4648 base64, as SASL messages travel.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes RFC 4648 base64 (padding optional); `None` when it is not.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut bits = 0u32;
    let mut count = 0;
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: do not leave the secret in freed memory (copies made
        // on the way in, such as the line read from a file, are not covered).
        // SAFETY: only zero bytes are written, and zero bytes are valid UTF-8.
        wipe(unsafe { self.0.as_mut_vec() });
    }
}

/// Overwrites every byte of `bytes`' allocation, spare capacity included,
/// with zeros. A plain `fill(0)` just before the buffer is freed is a dead
/// store the optimiser may remove; volatile writes are never removed, and
/// the fence keeps them from being moved past the deallocation.
fn wipe(bytes: &mut Vec<u8>) {
    let start = bytes.as_mut_ptr();
    for i in 0..bytes.capacity() {
        // SAFETY: `i` is within the allocation of `capacity()` bytes, and a
        // `u8` may be written to uninitialised memory.
        unsafe { std::ptr::write_volatile(start.add(i), 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// Where to get a secret, as the user said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SecretSource {
    /// The first line of a file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// The first line of a shell command's stdout (`pass show mail`, a keyring tool…).
    Command(String),
    /// Ask on the terminal, without echo; refused when stdin is not a terminal.
    Prompt,
}

impl SecretSource {
    /// Picks the one source the options name; `Prompt` when none is given.
    pub fn from_options(
        side: &str,
        file: Option<PathBuf>,
        env: Option<String>,
        command: Option<String>,
    ) -> Result<SecretSource> {
        let given = [file.is_some(), env.is_some(), command.is_some()]
            .iter()
            .filter(|&&g| g)
            .count();
        if given > 1 {
            return Err(exit::usage(format!(
                "give only one of --{side}-password-file, --{side}-password-env and --{side}-password-command"
            )));
        }
        Ok(match (file, env, command) {
            (Some(file), _, _) => SecretSource::File(file),
            (_, Some(env), _) => SecretSource::Env(env),
            (_, _, Some(command)) => SecretSource::Command(command),
            _ => SecretSource::Prompt,
        })
    }

    /// Reads the secret. `prompt` names what it is for (`password for me@host`).
    pub fn read(&self, prompt: &str) -> Result<Secret> {
        let secret = match self {
            SecretSource::File(path) if path.as_os_str() == "-" => read_stdin(prompt)?,
            SecretSource::File(path) => {
                let text = std::fs::read(path)
                    .with_context(|| format!("reading password file `{}`", path.display()))
                    .map_err(|e| exit::usage(format!("{e:#}")))?;
                warn_if_others_can_read(path);
                first_line(&text)
            }
            SecretSource::Env(name) => {
                let value = std::env::var(name).map_err(|_| {
                    exit::usage(format!("environment variable `{name}` is not set"))
                })?;
                first_line(value.as_bytes())
            }
            SecretSource::Command(command) => run_command(command)?,
            SecretSource::Prompt => ask(prompt)?,
        };
        if secret.is_empty() {
            return Err(exit::usage(format!("the {prompt} is empty")));
        }
        Ok(Secret(secret))
    }
}

/// `--…-password-file -`: the first line of stdin, which only one side
/// can have.
fn read_stdin(prompt: &str) -> Result<String> {
    static TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Err(exit::usage(
            "only one password can come from stdin (`-`); give the other a file, \
             an environment variable or a command",
        ));
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .with_context(|| format!("reading the {prompt} from stdin"))
        .map_err(|e| exit::usage(format!("{e:#}")))?;
    let secret = first_line(line.as_bytes());
    wipe(&mut line.into_bytes());
    Ok(secret)
}

/// A password file others can read is a password others may know: said
/// once per file, and the run goes on (the file is the user's to fix).
fn warn_if_others_can_read(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::metadata(path) else {
        return;
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        crate::report::warn(&format!(
            "password file `{}` can be read by other users (mode {mode:o}); \
             make it private with: chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
}

fn first_line(text: &[u8]) -> String {
    let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

fn run_command(command: &str) -> Result<String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| "running the password command")?;
    if !output.status.success() {
        bail!(exit::UsageError(format!(
            "the password command failed ({})",
            output.status
        )));
    }
    Ok(first_line(&output.stdout))
}

/// Asks on the terminal with echo off. Scripts never hang on a prompt: when
/// stdin is not a terminal, this is an error telling which options to use.
fn ask(prompt: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(exit::usage(format!(
            "no {prompt} given and stdin is not a terminal; use --src/--dst-password-file, -env or -command"
        )));
    }
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "{}: ", crate::report::sanitize(prompt))?;
    stderr.flush()?;
    let echo = EchoOff::new();
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    drop(echo);
    writeln!(stderr)?;
    read.context("reading the password")?;
    Ok(first_line(line.as_bytes()))
}

/// Turns terminal echo off until dropped.
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        unsafe {
            let mut term: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut term) != 0 {
                return EchoOff(None);
            }
            let saved = term;
            term.c_lflag &= !libc::ECHO;
            term.c_lflag |= libc::ECHONL;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &term) != 0 {
                return EchoOff(None);
            }
            EchoOff(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_themselves() {
        let secret = Secret::new("hunter2".into());
        assert_eq!(format!("{secret} {secret:?}"), "*** Secret(***)");
        let err = anyhow::anyhow!("login failed for {secret:?}");
        assert!(!format!("{err:#}").contains("hunter2"));
    }

    #[test]
    fn wipe_zeroes_the_whole_allocation() {
        let mut bytes = b"hunter2".to_vec();
        bytes.reserve(9);
        bytes.truncate(3);
        let capacity = bytes.capacity();
        wipe(&mut bytes);
        // SAFETY: `wipe` wrote every byte up to the capacity.
        unsafe { bytes.set_len(capacity) };
        assert!(capacity >= 16 && bytes.iter().all(|&b| b == 0), "{bytes:?}");
    }

    #[test]
    fn redact_hides_every_form_the_secret_travels_in() {
        let secret = Secret::new("pa\"ss\\word".into());
        let forms = [
            "pa\"ss\\word".to_owned(),
            "\"pa\\\"ss\\\\word\"".to_owned(),
            base64(b"pa\"ss\\word"),
            base64(b"\0me\0pa\"ss\\word"),
            base64(b"user=me\x01auth=Bearer pa\"ss\\word\x01\x01"),
            base64(b"n,a=me,\x01auth=Bearer pa\"ss\\word\x01\x01"),
        ];
        for form in forms {
            let reply = format!("[AUTHENTICATIONFAILED] refused: LOGIN me {form} (sorry)");
            let redacted = secret.redact("me", &reply);
            assert!(!redacted.contains("ss"), "{form}: {redacted}");
            assert!(redacted.starts_with("[AUTHENTICATIONFAILED] refused: LOGIN me "));
            assert!(redacted.ends_with("*** (sorry)") || redacted.ends_with("***\" (sorry)"));
        }
        assert_eq!(secret.redact("me", "plain words"), "plain words");
        assert_eq!(base64(b"\0u\0p"), "AHUAcA==");
        assert_eq!(base64(b"abc"), "YWJj");
        for text in [&b""[..], b"a", b"ab", b"abc", b"{\"status\":\"401\"}"] {
            assert_eq!(base64_decode(&base64(text)).as_deref(), Some(text));
        }
        assert_eq!(base64_decode("not base64!"), None);
    }

    #[test]
    fn sources_read_the_first_line() {
        let dir = std::env::temp_dir().join(format!("mailtug-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "s3cret\r\nsecond line\n").unwrap();
        assert_eq!(
            SecretSource::File(file).read("password").unwrap().expose(),
            "s3cret"
        );
        assert_eq!(
            SecretSource::Command("printf 'tok en\\nmore'".into())
                .read("token")
                .unwrap()
                .expose(),
            "tok en"
        );
        std::env::set_var("MAILTUG_TEST_SECRET_VAR", "from-env");
        assert_eq!(
            SecretSource::Env("MAILTUG_TEST_SECRET_VAR".into())
                .read("password")
                .unwrap()
                .expose(),
            "from-env"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_sources_are_usage_errors() {
        let cases = [
            SecretSource::Env("MAILTUG_TEST_SURELY_UNSET".into()),
            SecretSource::File("/nonexistent/pw".into()),
            SecretSource::Command("exit 3".into()),
            SecretSource::Command("true".into()),
        ];
        for source in cases {
            let err = source.read("password").unwrap_err();
            assert_eq!(
                crate::exit::classify(&err),
                crate::exit::ExitCode::Usage,
                "{source:?}"
            );
        }
        assert!(
            SecretSource::from_options("src", Some("f".into()), Some("E".into()), None).is_err()
        );
    }
}
