//! Secrets and trust: passwords go nowhere but to the server (no argv, no
//! environment, no output, no log, no checkpoint, no error, whatever the
//! server does), what mailtug writes is private whatever the umask, and a
//! server must prove who it is over TLS 1.2 or later before it gets one.
//!
//! Servers are the shared Dovecot (`support::dovecot`) where a real one is
//! needed, and the fake servers of `support::tlsserver` where the server
//! must misbehave; all on 127.0.0.1.

mod modes;
mod plaintext;
mod secrets;
mod tls;

use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, SystemTime};

use mailtug::secret::base64;

/// Every form in which `secret` of `user` could leak: itself, and as it
/// travels in SASL PLAIN (with and without an authorization identity) and
/// LOGIN.
fn secret_forms(user: &str, secret: &str) -> Vec<String> {
    vec![
        secret.to_owned(),
        base64(secret.as_bytes()),
        base64(format!("\0{user}\0{secret}").as_bytes()),
        base64(format!("{user}\0{user}\0{secret}").as_bytes()),
    ]
}

/// Panics naming `what` if `text` holds any of `forms`.
#[track_caller]
fn assert_clean(what: &str, text: &str, forms: &[String]) {
    for form in forms {
        assert!(
            !text.contains(form.as_str()),
            "{what} holds a secret (as `{form}`):\n{text}"
        );
    }
}

/// A process as /proc shows it: parent, command line, environment.
struct Process {
    ppid: u32,
    cmdline: Vec<u8>,
    environ: Vec<u8>,
}

/// Every process this test can see.
fn processes() -> BTreeMap<u32, Process> {
    let mut all = BTreeMap::new();
    let Ok(listing) = fs::read_dir("/proc") else {
        return all;
    };
    for entry in listing.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        // A process may end between the listing and the reads.
        let Ok(status) = fs::read_to_string(dir.join("status")) else {
            continue;
        };
        let ppid = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0);
        all.insert(
            pid,
            Process {
                ppid,
                cmdline: fs::read(dir.join("cmdline")).unwrap_or_default(),
                environ: fs::read(dir.join("environ")).unwrap_or_default(),
            },
        );
    }
    all
}

/// `root` and its descendants among `all`.
fn family(all: &BTreeMap<u32, Process>, root: u32) -> Vec<u32> {
    all.keys()
        .copied()
        .filter(|&pid| {
            let mut at = pid;
            for _ in 0..64 {
                if at == root {
                    return true;
                }
                match all.get(&at) {
                    Some(p) if p.ppid != 0 => at = p.ppid,
                    _ => return false,
                }
            }
            false
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// What a look at the processes found: the command lines of `root`'s
/// family, and every place a secret showed.
struct ProcessScan {
    family: Vec<String>,
    leaks: Vec<String>,
}

/// Looks for `secrets` on the command line of every process, and in the
/// environment of `root` and its descendants.
fn scan_processes(root: u32, secrets: &[&str]) -> ProcessScan {
    let all = processes();
    let family_pids = family(&all, root);
    let mut leaks = Vec::new();
    for (pid, process) in &all {
        for secret in secrets {
            if contains(&process.cmdline, secret) {
                leaks.push(format!(
                    "argv of pid {pid}: {}",
                    String::from_utf8_lossy(&process.cmdline)
                ));
            }
            if family_pids.contains(pid) && contains(&process.environ, secret) {
                leaks.push(format!("environment of pid {pid}"));
            }
        }
    }
    let family = family_pids
        .iter()
        .map(|pid| String::from_utf8_lossy(&all[pid].cmdline).replace('\0', " "))
        .collect();
    ProcessScan { family, leaks }
}

/// 2024-03-01 12:00 UTC, a date for loaded messages.
fn date() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_294_400)
}

/// Message `i` of series `tag`, with a Message-ID.
fn mail(tag: &str, i: usize) -> Vec<u8> {
    format!(
        "From: Sender <sender@example.org>\nTo: rcpt@example.net\n\
         Subject: {tag} {i}\nMessage-ID: <{tag}.{i}@mailtug.test>\n\nBody {i}.\n"
    )
    .into_bytes()
}
