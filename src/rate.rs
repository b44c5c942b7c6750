//! How fast, and how much per day, a run may take from its source account
//! and give to its destination account.
//!
//! Providers meter accounts, not connections: Gmail allows about 2,500 MB
//! of IMAP downloads and 500 MB of uploads a day, and both Gmail and
//! Microsoft 365 throttle bursts. So every limit here is one per account
//! and direction (the source's downloads, the destination's uploads),
//! shared by all the run's connections to that account.
//!
//! - [`TokenBucket`]: `--max-bytes-per-second` and
//!   `--max-messages-per-second`. A bucket starts empty and holds up to one
//!   second of its rate; taking more than it holds is allowed and paid for
//!   by waiting, so a message larger than a second's worth is never refused.
//! - [`DailyWindow`]: `--src-max-bytes-per-day` / `--dst-max-bytes-per-day`,
//!   a rolling 24-hour window of what was moved, kept in the job's state so
//!   that the next run counts what this one did.
//!
//! Invariants: the clock is a parameter of every decision (tests pass their
//! own), and nothing here sleeps while holding a lock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The rolling window of a daily budget.
pub const DAY: u64 = 24 * 60 * 60;

/// A token bucket of `rate` units per second, holding at most one second's
/// worth. Taking is by reservation: the units are taken at once (the level
/// may go below zero) and the caller waits until the level would have been
/// back at zero, so callers are served in the order they came.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    level: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: u64, now: Instant) -> TokenBucket {
        let rate = rate.max(1) as f64;
        TokenBucket {
            rate,
            // Empty at the start, so no second of the run ever sees more
            // than the rate (a full bucket would let twice as much through
            // the first second).
            level: 0.0,
            last: now,
        }
    }

    /// Takes `units` at `now`; returns how long the caller must wait
    /// before using them.
    pub fn reserve(&mut self, units: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.level = (self.level + elapsed * self.rate).min(self.rate);
        self.level -= units as f64;
        if self.level >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.level / self.rate)
        }
    }
}

/// A byte budget over a rolling 24-hour window: what was moved, when.
#[derive(Clone, Debug, Default)]
pub struct DailyWindow {
    pub budget: u64,
    /// (unix seconds, bytes), oldest first; nothing older than a day.
    entries: Vec<(u64, u64)>,
}

impl DailyWindow {
    pub fn new(budget: u64, mut entries: Vec<(u64, u64)>, now: u64) -> DailyWindow {
        entries.sort_unstable();
        let mut window = DailyWindow { budget, entries };
        window.prune(now);
        window
    }

    fn prune(&mut self, now: u64) {
        let start = now.saturating_sub(DAY);
        self.entries.retain(|&(time, _)| time > start);
    }

    /// Bytes moved in the 24 hours before `now`.
    pub fn used(&mut self, now: u64) -> u64 {
        self.prune(now);
        self.entries.iter().map(|&(_, bytes)| bytes).sum()
    }

    /// Whether `bytes` more fit in the window at `now`. A message larger
    /// than the whole budget fits an empty window, or it could never be
    /// moved at all.
    pub fn fits(&mut self, bytes: u64, now: u64) -> bool {
        let used = self.used(now);
        used == 0 || used.saturating_add(bytes) <= self.budget
    }

    /// Counts `bytes` moved at `now`.
    pub fn add(&mut self, bytes: u64, now: u64) {
        if bytes == 0 {
            return;
        }
        match self.entries.last_mut() {
            Some((time, sum)) if *time == now => *sum += bytes,
            _ => self.entries.push((now, bytes)),
        }
    }

    /// The unix second from which `bytes` more fit: when enough of what was
    /// moved has left the window (or it is empty).
    pub fn fits_from(&mut self, bytes: u64, now: u64) -> u64 {
        let mut used = self.used(now);
        for &(time, moved) in &self.entries {
            if used == 0 || used.saturating_add(bytes) <= self.budget {
                break;
            }
            used -= moved;
            if used == 0 || used.saturating_add(bytes) <= self.budget {
                return time + DAY;
            }
        }
        now
    }
}

/// The direction of a transfer, as an account sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The source account's downloads.
    Download,
    /// The destination account's uploads.
    Upload,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Download => "download",
            Direction::Upload => "upload",
        }
    }

    /// The side of the job, as the command line names it.
    pub fn side(self) -> &'static str {
        match self {
            Direction::Download => "SRC",
            Direction::Upload => "DST",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Direction::Download => "downloaded",
            Direction::Upload => "uploaded",
        }
    }
}

/// The limits of one account and direction for a run.
#[derive(Debug, Default)]
pub struct Meter {
    bytes: Option<Mutex<TokenBucket>>,
    messages: Option<Mutex<TokenBucket>>,
    daily: Option<Mutex<DailyWindow>>,
    /// Bytes counted in `daily` since they were last written to the state.
    unsaved: Mutex<u64>,
}

/// Why a transfer may not happen now: the daily budget is spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetSpent {
    pub direction: Direction,
    pub used: u64,
    pub budget: u64,
    /// Unix seconds from which the next message fits.
    pub resume_at: u64,
}

impl BudgetSpent {
    /// The one line a person reads: what was used, and when to run again.
    pub fn sentence(&self) -> String {
        format!(
            "daily limit of {} reached for {} ({} {} in the last 24 hours); run the same \
             command again after {} to resume",
            crate::report::bytes(self.budget),
            self.direction.side(),
            crate::report::bytes(self.used),
            self.direction.verb(),
            local_time(self.resume_at, unix_now()),
        )
    }
}

impl Meter {
    pub fn new(
        bytes_per_second: Option<u64>,
        messages_per_second: Option<u64>,
        daily: Option<DailyWindow>,
    ) -> Meter {
        let now = Instant::now();
        Meter {
            bytes: bytes_per_second.map(|r| Mutex::new(TokenBucket::new(r, now))),
            messages: messages_per_second.map(|r| Mutex::new(TokenBucket::new(r, now))),
            daily: daily.map(Mutex::new),
            unsaved: Mutex::new(0),
        }
    }

    pub fn has_daily(&self) -> bool {
        self.daily.is_some()
    }

    /// Counts one message of `bytes` against the daily budget, or says
    /// when it would fit. Checked before anything is sent.
    pub fn admit(&self, direction: Direction, bytes: u64) -> Result<(), BudgetSpent> {
        let Some(daily) = &self.daily else {
            return Ok(());
        };
        let now = unix_now();
        let mut window = lock(daily);
        if !window.fits(bytes, now) {
            return Err(BudgetSpent {
                direction,
                used: window.used(now),
                budget: window.budget,
                resume_at: window.fits_from(bytes, now),
            });
        }
        window.add(bytes, now);
        *lock(&self.unsaved) += bytes;
        Ok(())
    }

    /// The budget when it is spent to the last byte: a run stops before it
    /// reads anything, rather than download up to its read-ahead first.
    pub fn spent(&self, direction: Direction) -> Option<BudgetSpent> {
        let daily = self.daily.as_ref()?;
        let now = unix_now();
        let mut window = lock(daily);
        (!window.fits(1, now)).then(|| BudgetSpent {
            direction,
            used: window.used(now),
            budget: window.budget,
            resume_at: window.fits_from(1, now),
        })
    }

    /// Waits until the per-second limits let one message of `bytes` go.
    pub async fn pace(&self, bytes: u64) {
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        if let Some(bucket) = &self.bytes {
            wait = wait.max(lock(bucket).reserve(bytes, now));
        }
        if let Some(bucket) = &self.messages {
            wait = wait.max(lock(bucket).reserve(1, now));
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes the bytes counted since the last call, to write to the state.
    pub fn take_unsaved(&self) -> u64 {
        std::mem::take(&mut *lock(&self.unsaved))
    }
}

/// The run's meters: the source account's downloads and the destination
/// account's uploads.
#[derive(Debug, Default)]
pub struct Meters {
    pub download: Meter,
    pub upload: Meter,
    /// The accounts, as the job's state names them (normalised endpoints).
    pub source: String,
    pub destination: String,
}

impl Meters {
    /// The meter of `direction`, and the account it meters.
    pub fn of(&self, direction: Direction) -> (&Meter, &str) {
        match direction {
            Direction::Download => (&self.download, &self.source),
            Direction::Upload => (&self.upload, &self.destination),
        }
    }
}

/// Until when every connection of the run holds back, after a server asked
/// one of them to slow down: the others would only be told the same, and
/// Microsoft 365 drops a session after about ten throttled answers. One
/// job runs per process, so this is the process's.
static HELD_UNTIL: Mutex<Option<Instant>> = Mutex::new(None);
/// Throttled answers waited out, and the time spent waiting.
static WAITS: Mutex<(u64, Duration)> = Mutex::new((0, Duration::ZERO));

/// Holds every connection back for `wait`, and counts the wait.
pub fn hold(wait: Duration) {
    let until = Instant::now() + wait;
    let mut held = lock(&HELD_UNTIL);
    *held = Some(held.map_or(until, |h| h.max(until)));
    let mut waits = lock(&WAITS);
    waits.0 += 1;
    waits.1 += wait;
}

/// A server finished a command but asked to slow down (`OK Success
/// [THROTTLED]`): everyone holds back a little, as after a first refusal.
pub fn slow_down(words: &str) {
    if let Some(throttle) = crate::throttle::classify(words) {
        crate::report::debug(&format!("the server asked to slow down: {words}"));
        hold(crate::throttle::backoff(
            throttle,
            1,
            crate::throttle::random(),
        ));
    }
}

/// Waits while the connections are held back.
pub async fn wait_if_held() {
    let until = *lock(&HELD_UNTIL);
    if let Some(until) = until {
        tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
    }
}

/// Throttled answers waited out so far, and the time spent waiting.
pub fn waits() -> (u64, Duration) {
    *lock(&WAITS)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every update under these locks is a plain assignment: a panic
    // cannot leave them half-done.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The time now in unix seconds. `MAILTUG_TEST_CLOCK_OFFSET` (seconds,
/// may be negative) shifts it, so the tests can see a day pass.
pub fn unix_now() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let offset: i64 = std::env::var("MAILTUG_TEST_CLOCK_OFFSET")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    now.saturating_add_signed(offset)
}

/// `HH:MM` in local time, with ` tomorrow` (or the date further on) when
/// `at` is not on the day of `now`.
pub fn local_time(at: u64, now: u64) -> String {
    let parts = |t: u64| -> Option<libc::tm> {
        let t = t as libc::time_t;
        // SAFETY: localtime_r writes only into `tm`, and `t` lives across the call.
        unsafe {
            let mut tm: libc::tm = std::mem::zeroed();
            (!libc::localtime_r(&t, &mut tm).is_null()).then_some(tm)
        }
    };
    match (parts(at), parts(now)) {
        (Some(a), Some(n)) => {
            let hm = format!("{:02}:{:02}", a.tm_hour, a.tm_min);
            if (a.tm_year, a.tm_yday) == (n.tm_year, n.tm_yday) {
                hm
            } else if a.tm_year == n.tm_year && a.tm_yday == n.tm_yday + 1
                || a.tm_year == n.tm_year + 1 && a.tm_yday == 0
            {
                format!("{hm} tomorrow")
            } else {
                format!(
                    "{hm} on {}-{:02}-{:02}",
                    a.tm_year + 1900,
                    a.tm_mon + 1,
                    a.tm_mday
                )
            }
        }
        _ => {
            let (_, _, _, h, m, _) =
                crate::date::utc_parts(std::time::UNIX_EPOCH + Duration::from_secs(at));
            format!("{h:02}:{m:02} UTC")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_paces_from_the_start_and_saves_up_at_most_a_second() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, start);
        let waits: Vec<u128> = (0..3)
            .map(|_| bucket.reserve(1, start).as_millis())
            .collect();
        assert_eq!(waits, [100, 200, 300]);
        // Half a second later two units came back beyond what was owed.
        let later = start + Duration::from_millis(500);
        assert_eq!(bucket.reserve(2, later), Duration::ZERO);
        assert_eq!(bucket.reserve(1, later), Duration::from_millis(100));
        // Never more than a second's worth saved up.
        let much_later = later + Duration::from_secs(60);
        assert_eq!(bucket.reserve(10, much_later), Duration::ZERO);
        assert_eq!(bucket.reserve(1, much_later), Duration::from_millis(100));
    }

    #[test]
    fn a_message_larger_than_a_seconds_worth_is_paid_for_by_waiting() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000, start);
        assert_eq!(bucket.reserve(3000, start), Duration::from_secs(3));
        // The next caller waits behind it.
        assert_eq!(bucket.reserve(500, start), Duration::from_millis(3500));
    }

    #[test]
    fn the_window_forgets_what_is_a_day_old_and_says_when_the_next_fits() {
        let now = 10 * DAY;
        let mut window = DailyWindow::new(
            1000,
            vec![(now - DAY - 5, 900), (now - 3600, 400), (now - 60, 500)],
            now,
        );
        assert_eq!(window.used(now), 900, "the entry older than a day is gone");
        assert!(window.fits(100, now));
        assert!(!window.fits(101, now));
        // 400 bytes leave the window 23 hours from now.
        assert_eq!(window.fits_from(101, now), now - 3600 + DAY);
        assert_eq!(window.fits_from(600, now), now - 60 + DAY);
        window.add(100, now);
        assert_eq!(window.used(now), 1000);
        assert!(!window.fits(1, now));
        // A day after the last entry, all of it fits again.
        assert!(window.fits(1000, now + DAY));
        assert_eq!(window.used(now + DAY), 0);
    }

    #[test]
    fn a_message_larger_than_the_budget_goes_through_an_empty_window_only() {
        let now = 5 * DAY;
        let mut window = DailyWindow::new(100, Vec::new(), now);
        assert!(window.fits(5000, now));
        window.add(5000, now);
        assert!(!window.fits(1, now + 10));
        assert_eq!(window.fits_from(1, now + 10), now + DAY);
    }

    #[test]
    fn a_meter_refuses_past_its_budget_and_keeps_what_to_save() {
        let now = unix_now();
        let meter = Meter::new(
            None,
            None,
            Some(DailyWindow::new(1000, vec![(now - 10, 700)], now)),
        );
        assert!(meter.admit(Direction::Download, 200).is_ok());
        let spent = meter.admit(Direction::Download, 200).unwrap_err();
        assert_eq!((spent.used, spent.budget), (900, 1000));
        assert_eq!(spent.resume_at, now - 10 + DAY);
        assert!(spent.sentence().starts_with(
            "daily limit of 1000 B reached for SRC (900 B downloaded in the last 24 hours); \
             run the same command again after "
        ));
        assert_eq!(meter.take_unsaved(), 200);
        assert_eq!(meter.take_unsaved(), 0);
        assert_eq!(meter.spent(Direction::Download), None, "100 bytes are left");
        assert!(meter.admit(Direction::Download, 100).is_ok());
        let spent = meter.spent(Direction::Download).unwrap();
        assert_eq!((spent.used, spent.resume_at), (1000, now - 10 + DAY));
    }

    #[test]
    fn local_times_name_the_day_when_it_is_not_today() {
        let now = unix_now();
        assert_eq!(local_time(now, now).len(), 5);
        assert!(local_time(now + DAY, now).ends_with(" tomorrow"));
        assert!(local_time(now + 3 * DAY, now).contains(" on "));
    }
}
