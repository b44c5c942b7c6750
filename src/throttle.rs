//! What a server means when it says "not so fast".
//!
//! Providers throttle in words, not in a protocol: RFC 5530 response codes
//! (`[THROTTLED]`, `[UNAVAILABLE]`, `[OVERQUOTA]`, `[LIMIT]`, `[TOOBIG]`),
//! Microsoft 365's `Request is throttled. Suggested Backoff Time: N
//! milliseconds`, Gmail's `[OVERQUOTA] Account exceeded command or
//! bandwidth limits`, and the same words after a POP3 `-ERR`. async-imap
//! does not parse these codes (CRATES.md §10): they reach us as the text of
//! a NO, BAD or OK, so they are told apart here, from the text, once.
//!
//! Invariant: a [`Throttle`] says what the server asked for; what to do
//! about it (wait and retry, stop the run, fail one message) is decided by
//! the pipeline, which knows how long it has been told to wait already.

use std::fmt;
use std::time::Duration;

/// A wait at most this long is waited out and the command tried again;
/// a longer one stops the run, to be run again later (exit 75). A minute
/// keeps a run alive through Microsoft's usual backoffs (milliseconds to
/// seconds) without sitting idle for hours on a daily allowance.
pub const SHORT_WAIT: Duration = Duration::from_secs(60);

/// What kind of limit the server ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleKind {
    /// Slow down and try again: `[THROTTLED]`, `[UNAVAILABLE]`, Microsoft's
    /// "Request is throttled".
    SlowDown,
    /// An allowance of the account is used up for hours (Gmail's
    /// `[OVERQUOTA] Account exceeded command or bandwidth limits`): asking
    /// again soon only risks a suspended account.
    Allowance,
    /// The destination account's storage is full (`[OVERQUOTA]` otherwise):
    /// each message fails alone; nothing is gained by waiting.
    MailboxFull,
    /// The message is larger than the server takes (`[TOOBIG]`, and
    /// `[LIMIT]`, an implementation limit, which on APPEND is the size).
    TooBig,
}

impl ThrottleKind {
    /// The word for scripts and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleKind::SlowDown => "slow_down",
            ThrottleKind::Allowance => "allowance",
            ThrottleKind::MailboxFull => "over_quota",
            ThrottleKind::TooBig => "too_big",
        }
    }

    /// True for the kinds that ask to come back later (rather than to
    /// give up on one message).
    pub fn is_later(self) -> bool {
        matches!(self, ThrottleKind::SlowDown | ThrottleKind::Allowance)
    }
}

/// A server's answer read as a limit: what kind, and how long it asked to
/// wait, when it said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    pub kind: ThrottleKind,
    pub wait: Option<Duration>,
}

/// Reads a server's words (a NO/BAD/OK text, a BYE, a POP3 -ERR line) as
/// a limit; `None` when they are not one.
pub fn classify(words: &str) -> Option<Throttle> {
    let upper = words.to_ascii_uppercase();
    let has = |sign: &str| upper.contains(sign);
    let wait = suggested_wait(&upper);
    let kind = if wait.is_some() || has("[THROTTLED]") || has("REQUEST IS THROTTLED") {
        ThrottleKind::SlowDown
    } else if has("[OVERQUOTA]") {
        // Gmail uses the storage quota's code for its bandwidth and command
        // allowances; only its words tell them apart.
        if has("BANDWIDTH") || has("COMMAND") {
            ThrottleKind::Allowance
        } else {
            ThrottleKind::MailboxFull
        }
    } else if has("[TOOBIG]") || has("[LIMIT]") {
        ThrottleKind::TooBig
    } else if has("[UNAVAILABLE]") {
        // POP3's `[SYS/TEMP]` is not read here: POP3 servers say it of one
        // message that cannot be read now, which fails that message alone.
        ThrottleKind::SlowDown
    } else {
        return None;
    };
    Some(Throttle { kind, wait })
}

/// Microsoft's `Suggested Backoff Time: N milliseconds` (seconds are
/// accepted too, should it ever say so).
fn suggested_wait(upper: &str) -> Option<Duration> {
    let (_, rest) = upper.split_once("SUGGESTED BACKOFF TIME:")?;
    let rest = rest.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let n: u64 = digits.parse().ok()?;
    let unit = rest[digits.len()..].trim_start();
    if unit.starts_with("MILLISECOND") || unit.starts_with("MS") {
        Some(Duration::from_millis(n))
    } else if unit.starts_with("SECOND") || unit.starts_with('S') {
        Some(Duration::from_secs(n))
    } else {
        // Microsoft's unit; a bare number is taken in it.
        Some(Duration::from_millis(n))
    }
}

/// Marks an error as a server asking to slow down or come back later.
/// The pipeline waits and retries a short wait, and stops the run (exit
/// 75) for a long one.
#[derive(Debug)]
pub struct Throttled {
    pub throttle: Throttle,
    /// The server's words, cut short.
    pub words: String,
}

impl fmt::Display for Throttled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the server asked to slow down: {}", self.words)
    }
}
impl std::error::Error for Throttled {}

/// A [`Throttled`] error for `words` when they ask to come back later
/// (not for a full mailbox or a message too big: those fail one message).
pub fn later(words: &str) -> Option<anyhow::Error> {
    let throttle = classify(words).filter(|t| t.kind.is_later())?;
    let mut words: String = words.trim().chars().take(200).collect();
    if words.is_empty() {
        words.push_str("(no text)");
    }
    Some(Throttled { throttle, words }.into())
}

/// The throttle in an error's chain, if any.
pub fn of(err: &anyhow::Error) -> Option<Throttle> {
    err.chain()
        .find_map(|c| c.downcast_ref::<Throttled>())
        .map(|t| t.throttle)
}

/// How long to wait before trying again after the `attempt`-th throttle
/// in a row (1 for the first): the server's own suggestion when it gave
/// one, else 1, 2, 4… s up to a minute; plus up to a quarter more at
/// random, so that connections throttled together do not come back
/// together.
pub fn backoff(throttle: Throttle, attempt: u32, random: u64) -> Duration {
    let base = throttle.wait.unwrap_or_else(|| {
        Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6)).min(SHORT_WAIT)
    });
    let quarter = base.as_millis() as u64 / 4;
    let jitter = match quarter {
        0 => 0,
        q => random % (q + 1),
    };
    base + Duration::from_millis(jitter)
}

/// A little randomness for jitter, without a dependency: the clock's
/// nanoseconds, mixed.
pub fn random() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a line is read as: its kind and suggested wait.
    type Reading = Option<(ThrottleKind, Option<Duration>)>;

    fn kind(words: &str) -> Reading {
        classify(words).map(|t| (t.kind, t.wait))
    }

    #[test]
    fn real_server_lines_are_read_as_the_limit_they_are() {
        use ThrottleKind::*;
        let ms = |n| Some(Duration::from_millis(n));
        let table: &[(&str, Reading)] = &[
            // Microsoft 365 (Exchange Online).
            (
                "A7 NO Request is throttled. Suggested Backoff Time: 300 milliseconds",
                Some((SlowDown, ms(300))),
            ),
            (
                "A7 NO [THROTTLED] Request is throttled. Suggested Backoff Time: 12000 milliseconds",
                Some((SlowDown, ms(12_000))),
            ),
            (
                "-ERR Request is throttled. Suggested Backoff Time: 5 seconds",
                Some((SlowDown, Some(Duration::from_secs(5)))),
            ),
            // Gmail.
            (
                "A3 NO [OVERQUOTA] Account exceeded command or bandwidth limits. x1mb123",
                Some((Allowance, None)),
            ),
            ("A4 OK Success [THROTTLED]", Some((SlowDown, None))),
            // Dovecot's quota plugin, on APPEND.
            (
                "A5 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)",
                Some((MailboxFull, None)),
            ),
            (
                "A6 NO [TOOBIG] Message size exceeds the limit",
                Some((TooBig, None)),
            ),
            ("A6 NO [LIMIT] Message too large", Some((TooBig, None))),
            (
                "* BYE [UNAVAILABLE] Server is shutting down",
                Some((SlowDown, None)),
            ),
            ("-ERR [SYS/TEMP] try again later", None),
            // Not limits.
            ("A8 NO [TRYCREATE] Mailbox doesn't exist: Foo", None),
            ("A9 NO [AUTHENTICATIONFAILED] Authentication failed.", None),
            ("* BYE Session expired, please login again.", None),
            ("A2 NO Message contains invalid header", None),
        ];
        for (words, expected) in table {
            assert_eq!(kind(words), *expected, "{words}");
        }
    }

    #[test]
    fn only_answers_asking_for_later_become_throttled_errors() {
        let e = later("NO [OVERQUOTA] Account exceeded command or bandwidth limits").unwrap();
        assert_eq!(of(&e).unwrap().kind, ThrottleKind::Allowance);
        assert!(e
            .to_string()
            .starts_with("the server asked to slow down: NO [OVERQUOTA]"));
        assert!(later("NO [OVERQUOTA] Quota exceeded").is_none());
        assert!(later("NO [TOOBIG] too big").is_none());
        assert!(of(&anyhow::anyhow!("other")).is_none());
    }

    #[test]
    fn backoff_follows_the_server_or_doubles_up_to_a_minute_with_some_jitter() {
        let told = Throttle {
            kind: ThrottleKind::SlowDown,
            wait: Some(Duration::from_millis(300)),
        };
        let untold = Throttle {
            kind: ThrottleKind::SlowDown,
            wait: None,
        };
        assert_eq!(backoff(told, 1, 0), Duration::from_millis(300));
        assert_eq!(backoff(told, 5, 75), Duration::from_millis(375));
        assert_eq!(backoff(told, 5, 76), Duration::from_millis(300));
        let plain: Vec<u64> = (1..=8).map(|a| backoff(untold, a, 0).as_secs()).collect();
        assert_eq!(plain, [1, 2, 4, 8, 16, 32, 60, 60]);
        for random in [1, 999, 123_456_789] {
            let waited = backoff(untold, 3, random);
            assert!(waited >= Duration::from_secs(4) && waited <= Duration::from_secs(5));
        }
    }
}
