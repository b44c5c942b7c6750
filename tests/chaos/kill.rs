//! Runs that die: a seeded PRNG that picks kill points, and a spawned
//! `mailtug` whose stdout is drained on its own thread (so the run never
//! stalls on a full pipe, whatever the kill point) while its `message`
//! events are counted for the kill points that wait for progress.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::proxy::Pop3Step;
use crate::util::TestEnv;

/// SplitMix64: small, seedable, and the same on every platform, so a seed
/// printed by a failing run replays the same kill plan.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// Uniform in `0..=max` milliseconds.
    pub fn millis(&mut self, max: u64) -> Duration {
        Duration::from_millis(self.below(max + 1))
    }
}

/// Where a run is killed.
#[derive(Clone, Copy, Debug)]
pub enum KillPoint {
    /// This long after spawn, whatever the run is doing then (starting,
    /// indexing the destination, writing, committing, exiting).
    AfterTime(Duration),
    /// After this run printed `n` `message` events (each printed once its
    /// batch is committed), then `delay` more.
    AfterMessages(usize, Duration),
    /// After `n` events, about what is left of the job, then `delay`: near
    /// the end, where the last commit, the final checkpoint save and the
    /// source deletions happen.
    NearEnd(usize, Duration),
    /// At a step of the POP3 session (see `proxy`): the proxy kills it.
    AtPop3(Pop3Step),
}

impl KillPoint {
    pub fn kind(&self) -> &'static str {
        match self {
            KillPoint::AfterTime(_) => "time",
            KillPoint::AfterMessages(..) => "events",
            KillPoint::NearEnd(..) => "near-end",
            KillPoint::AtPop3(_) => "pop3-step",
        }
    }
}

/// What the stdout thread has seen so far.
#[derive(Default)]
struct Seen {
    messages: usize,
    first_message: Option<Instant>,
    last_message: Option<Instant>,
    /// Lines that are not JSON events (there should be none).
    garbage: Vec<String>,
    /// The `summary` event, once printed.
    summary: Option<Value>,
    /// stdout reached EOF: the process is exiting or gone.
    closed: bool,
}

/// A spawned run.
pub struct Run {
    child: Child,
    started: Instant,
    seen: Arc<(Mutex<Seen>, Condvar)>,
    stdout: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
}

/// How a run ended.
pub struct Ended {
    pub status: ExitStatus,
    pub stderr: String,
    /// Spawn to the first `message` event, and the mean time between events.
    pub startup: Option<Duration>,
    pub per_message: Option<Duration>,
    pub garbage: Vec<String>,
    pub summary: Option<Value>,
}

impl Ended {
    pub fn was_killed(&self) -> bool {
        self.status.signal() == Some(libc::SIGKILL)
    }
}

impl Run {
    pub fn spawn(env: &TestEnv, args: &[String]) -> Run {
        let mut child = env
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the mailtug binary");
        let started = Instant::now();
        let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let shared = seen.clone();
        let stdout = std::thread::spawn(move || {
            let (lock, changed) = &*shared;
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                let mut seen = lock.lock().unwrap();
                match serde_json::from_str::<Value>(&line) {
                    Ok(event) if event["event"] == "message" => {
                        let now = Instant::now();
                        seen.messages += 1;
                        seen.first_message.get_or_insert(now);
                        seen.last_message = Some(now);
                    }
                    Ok(event) if event["event"] == "summary" => seen.summary = Some(event),
                    Ok(event) if event["event"].is_string() => {}
                    _ => seen.garbage.push(line),
                }
                changed.notify_all();
            }
            lock.lock().unwrap().closed = true;
            changed.notify_all();
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Run {
            child,
            started,
            seen,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// Waits until `n` `message` events arrived or stdout closed; a run that
    /// makes no progress for a minute is a hang, and fails the test.
    fn wait_for_messages(&self, n: usize, what: &str) {
        let (lock, changed) = &*self.seen;
        let mut seen = lock.lock().unwrap();
        let mut last_progress = (Instant::now(), seen.messages);
        while seen.messages < n && !seen.closed {
            let (next, _) = changed
                .wait_timeout(seen, Duration::from_millis(200))
                .unwrap();
            seen = next;
            if seen.messages != last_progress.1 {
                last_progress = (Instant::now(), seen.messages);
            }
            assert!(
                last_progress.0.elapsed() < Duration::from_secs(60),
                "{what}: no progress for 60 s while waiting for {n} message events \
                 ({} so far)",
                seen.messages
            );
        }
    }

    /// Waits for the kill point, then sends SIGKILL (unless the run ended
    /// first) and reaps the process.
    pub fn kill_at(mut self, point: KillPoint, what: &str) -> Ended {
        match point {
            KillPoint::AfterTime(after) => {
                let deadline = self.started + after;
                // Stop waiting early if the run ends by itself.
                while Instant::now() < deadline {
                    if self.child.try_wait().ok().flatten().is_some() {
                        break;
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    std::thread::sleep(left.min(Duration::from_millis(5)));
                }
            }
            KillPoint::AfterMessages(n, delay) | KillPoint::NearEnd(n, delay) => {
                self.wait_for_messages(n, what);
                std::thread::sleep(delay);
            }
            // The proxy kills it, or it ends by itself.
            KillPoint::AtPop3(_) => return self.wait(what),
        }
        // Ok or "already exited" (ESRCH after reaping): either way it is over.
        let _ = self.child.kill();
        self.finish()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the run to end by itself (with a generous deadline).
    pub fn wait(mut self, what: &str) -> Ended {
        let deadline = Instant::now() + Duration::from_secs(300);
        while self.child.try_wait().ok().flatten().is_none() {
            assert!(
                Instant::now() < deadline,
                "{what}: the run did not finish within 300 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.finish()
    }

    fn finish(&mut self) -> Ended {
        let status = self.child.wait().expect("waiting for mailtug");
        if let Some(handle) = self.stdout.take() {
            let _ = handle.join();
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        let seen = self.seen.0.lock().unwrap();
        // Events come in bursts, one per committed batch (100 messages):
        // only a run that printed several batches tells the pace.
        let per_message = match (seen.first_message, seen.last_message) {
            (Some(first), Some(last)) if seen.messages > 250 && last > first => {
                Some((last - first) / (seen.messages as u32 - 1))
            }
            _ => None,
        };
        Ended {
            status,
            stderr,
            startup: seen.first_message.map(|t| t - self.started),
            per_message,
            garbage: seen.garbage.clone(),
            summary: seen.summary.clone(),
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        // Never leave a run behind a failed assertion.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
