//! Crash chaos: every source → sink pair (sources mbox, maildir, IMAP,
//! POP3; sinks maildir, mbox, IMAP) copies about 2,000 small messages while
//! the run is killed with SIGKILL at pseudo-random points, at least ten
//! times, then runs to completion. After every kill, the destination holds
//! only source messages, none twice (for mbox: the part no journal
//! disowns), and a run with `--delete-source` has deleted from the source
//! server only messages the destination holds. At the end the destination
//! holds exactly
//! the deduplicated source: every fingerprint once, bytes identical (line
//! ends normalised where a server is on either side, as servers speak
//! CRLF and mailtug stores LF), flags and internal dates kept where both
//! stores hold them (maildir letters and mtime, mbox `Status`/`X-Status`/
//! `X-Keywords` and the From_ line date, IMAP flags and INTERNALDATE; POP3
//! has neither), no `tmp/` files, no lock or journal files, every mbox file
//! whole by mailtug's reader and by an independent strict check, and after
//! `--delete-source` the source server empty.
//!
//! The corpus is `util::corpus::synthetic` (some messages without
//! Message-ID, some with CRLF, some needing mbox quoting, flags and keywords
//! in every combination, distinct dates; most of about 250 bytes, one in
//! four of 12 KB and one in 400 of 300 KB) in two folders, INBOX and Lists
//! (POP3: all in INBOX), plus 20 resent copies: a Message-ID of INBOX again
//! with another body and other flags, later in the folder, which dedup
//! leaves out, whatever the kill points.
//!
//! An IMAP source moves (`--delete-source`: UID EXPUNGE once the checkpoint
//! holds the messages) when the pair's seed is odd, and copies otherwise.
//! POP3 runs as from cron: `--delete-source --max-messages=400`, so every
//! run that gets to its end deletes what it stored, and mailtug reaches
//! Dovecot through a plaintext proxy on loopback (`proxy`) that can kill the
//! run at a protocol step: at the n-th DELE, at QUIT, or just after QUIT.
//!
//! Kill points come from a seeded PRNG (SplitMix64): a time after spawn
//! (while the run starts: connecting, listing, indexing the destination, or
//! later in the copy), a number of `message` events (printed once their
//! batch is committed) plus up to 100 ms, near the end of the job (the last
//! commit, the final checkpoint save, the deletions), or a POP3 step. A run
//! that finishes the job before its kill point is checked like the last
//! one, and the job starts again towards a new destination (after a move:
//! with the messages put back on the server), so the kills left land
//! mid-run. Pairs
//! run on a few threads at once. The seed is printed with the figures (and
//! with any failure); to replay:
//!
//! ```sh
//! MAILTUG_CHAOS_SEED=<seed> MAILTUG_CHAOS_PAIRS=pop3-mbox \
//!     cargo test --test integration chaos:: -- --nocapture
//! ```
//!
//! Settings (environment):
//! - `MAILTUG_CHAOS_SEED`: the seed (decimal or 0x-hex); default: from the clock.
//! - `MAILTUG_CHAOS_PAIRS`: a comma-separated subset, e.g. `imap-imap,mbox-maildir`.
//! - `MAILTUG_CHAOS_KILLS`: kills per pair per cycle (default 10).
//! - `MAILTUG_CHAOS_SOAK`: a long soak: `600s` repeats the pairs with new
//!   kill points until 600 seconds have passed; a plain number is that many
//!   cycles.
//! - `MAILTUG_CHAOS_THREADS`: pairs run at once (default 3).
//! - `MAILTUG_CHAOS_VERBOSE`: print every kill point and where it landed.

mod kill;
mod locks;
mod proxy;
mod stores;

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mailtug::fingerprint::Fingerprint;

use crate::support::Dovecot;
use crate::util::corpus::{padded, synthetic, Synthetic};
use crate::util::crlf::lf;
use crate::util::model::{
    assert_maildir_layout, assert_mbox_dir_layout, assert_same_messages, deduplicated, mapped,
    mbox_files, Model, Stored,
};
use crate::util::{assert_no_panic, list_files, TestEnv};

use kill::{Ended, KillPoint, Rng, Run};
use proxy::Pop3Step;
use stores::{check_mbox_file, maildir_tmp_files, Sink, SinkKind, Source, SourceKind};

/// Messages in INBOX and in Lists (most about 250 bytes).
const INBOX: usize = 1500;
const LISTS: usize = 500;
/// Every this many messages, one of about 12 KB, and one of about 300 KB:
/// with them a batch of 100 outgrows the mbox writer's 256 KiB buffer, so a
/// killed run leaves part of a batch (and often part of a message) in the
/// file for the journal to undo, and servers send some messages in many
/// reads.
const BIGGER_EVERY: usize = 4;
const BIGGER_BYTES: usize = 12_000;
const LARGE_EVERY: usize = 400;
const LARGE_BYTES: usize = 300_000;
/// Every this many INBOX messages (with a Message-ID), one is sent again
/// with another body at the end of the folder.
const RESENT_EVERY: usize = 75;
/// `--max-messages` of the POP3 runs.
const POP3_PER_RUN: usize = 400;
const DEFAULT_KILLS: usize = 10;
const DEFAULT_THREADS: usize = 3;

#[test]
fn every_pair_survives_kill_9_at_random_points_and_ends_exact() {
    let config = Config::from_env();
    let started = Instant::now();
    // Started before the threads, so its start-up is not a pair's; not at
    // all for local pairs.
    if config
        .pairs
        .iter()
        .any(|&(source, sink)| source.is_server() || sink == SinkKind::Imap)
    {
        Dovecot::shared();
    }
    let mut queue = VecDeque::new();
    let mut cycle = 0;
    loop {
        for &pair in &config.pairs {
            queue.push_back((pair, cycle));
        }
        cycle += 1;
        match config.soak {
            Soak::Cycles(n) if cycle >= n => break,
            Soak::Until(_) if cycle >= 1 => break,
            _ => {}
        }
    }
    let queue = Arc::new(Mutex::new(queue));
    let figures = Arc::new(Mutex::new(Vec::<Figures>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let threads: Vec<_> = (0..config.threads)
        .map(|n| {
            let (queue, figures, failures, config) = (
                queue.clone(),
                figures.clone(),
                failures.clone(),
                config.clone(),
            );
            std::thread::Builder::new()
                .name(format!("chaos-{n}"))
                .spawn(move || loop {
                    let next = queue.lock().unwrap().pop_front();
                    let Some((pair, cycle)) = next else { break };
                    let seed = pair_seed(config.seed, pair, cycle);
                    let name = pair_name(pair);
                    let outcome = catch_unwind(AssertUnwindSafe(|| {
                        run_pair(pair, cycle, seed, config.kills)
                    }));
                    match outcome {
                        Ok(f) => {
                            let _ = writeln!(std::io::stderr(), "chaos: {}", f.line());
                            figures.lock().unwrap().push(f);
                        }
                        Err(payload) => {
                            let message = payload
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default();
                            failures.lock().unwrap().push(format!(
                                "pair {name} (cycle {cycle}, seed {:#x}; replay with \
                                 MAILTUG_CHAOS_SEED={:#x} MAILTUG_CHAOS_PAIRS={name}{}): {message}",
                                seed,
                                config.seed,
                                if cycle > 0 {
                                    format!(" MAILTUG_CHAOS_SOAK={}", cycle + 1)
                                } else {
                                    String::new()
                                }
                            ));
                        }
                    }
                    if let Soak::Until(deadline) = config.soak {
                        if Instant::now() < deadline {
                            queue.lock().unwrap().push_back((pair, cycle + 1));
                        }
                    }
                })
                .expect("starting a chaos thread")
        })
        .collect();
    for thread in threads {
        thread.join().expect("a chaos thread");
    }

    let figures = figures.lock().unwrap();
    let mut out = String::new();
    let total = |f: fn(&Figures) -> usize| figures.iter().map(f).sum::<usize>();
    let pairs: BTreeSet<&str> = figures
        .iter()
        .filter_map(|f| f.pair.split(' ').next())
        .collect();
    out.push_str(&format!(
        "chaos: seed {:#x}: {} pairs, {} cycles, {} kills delivered ({} mid-run, {} after \
         completion; {} by time, {} after events, {} near the end, {} at a POP3 step), {} runs, \
         {} jobs ({} messages) checked at their end, {:.1} s\n",
        config.seed,
        pairs.len(),
        figures.len(),
        total(|f| f.kills),
        total(|f| f.mid_run),
        total(|f| f.after_completion),
        total(|f| f.by_kind.get("time").copied().unwrap_or(0)),
        total(|f| f.by_kind.get("events").copied().unwrap_or(0)),
        total(|f| f.by_kind.get("near-end").copied().unwrap_or(0)),
        total(|f| f.pop3_steps.values().sum()),
        total(|f| f.runs),
        total(|f| f.jobs),
        total(|f| f.jobs * f.messages),
        started.elapsed().as_secs_f64()
    ));
    let _ = std::io::stderr().write_all(out.as_bytes());
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} pair runs failed (seed {:#x}):\n{}",
        failures.len(),
        failures.len() + figures.len(),
        config.seed,
        failures.join("\n\n")
    );
}

// ------------------------------------------------------------ settings

type Pair = (SourceKind, SinkKind);

#[derive(Clone, Copy, Debug)]
enum Soak {
    Cycles(usize),
    Until(Instant),
}

#[derive(Clone, Debug)]
struct Config {
    seed: u64,
    pairs: Vec<Pair>,
    kills: usize,
    threads: usize,
    soak: Soak,
}

impl Config {
    fn from_env() -> Config {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let seed = match var("MAILTUG_CHAOS_SEED") {
            Some(text) => parse_u64(&text)
                .unwrap_or_else(|| panic!("MAILTUG_CHAOS_SEED={text:?} is not a number")),
            None => {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                Rng::new(now.as_nanos() as u64 ^ u64::from(std::process::id())).next()
            }
        };
        let all: Vec<Pair> = SourceKind::ALL
            .iter()
            .flat_map(|&source| SinkKind::ALL.iter().map(move |&sink| (source, sink)))
            .collect();
        let pairs = match var("MAILTUG_CHAOS_PAIRS") {
            None => all,
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|name| {
                    *all.iter()
                        .find(|&&p| pair_name(p) == name)
                        .unwrap_or_else(|| {
                            panic!(
                                "MAILTUG_CHAOS_PAIRS: no pair `{name}`; pairs are {}",
                                all.iter()
                                    .map(|&p| pair_name(p))
                                    .collect::<Vec<_>>()
                                    .join(",")
                            )
                        })
                })
                .collect(),
        };
        let number = |name: &str, default: usize| match var(name) {
            Some(text) => parse_u64(&text)
                .filter(|&n| n > 0)
                .unwrap_or_else(|| panic!("{name}={text:?} is not a positive number"))
                as usize,
            None => default,
        };
        let soak = match var("MAILTUG_CHAOS_SOAK") {
            None => Soak::Cycles(1),
            Some(text) => match text.trim().strip_suffix('s') {
                Some(seconds) => Soak::Until(
                    Instant::now()
                        + Duration::from_secs(parse_u64(seconds).unwrap_or_else(|| {
                            panic!("MAILTUG_CHAOS_SOAK={text:?}: seconds such as `600s`")
                        })),
                ),
                None => Soak::Cycles(number("MAILTUG_CHAOS_SOAK", 1)),
            },
        };
        Config {
            seed,
            pairs,
            kills: number("MAILTUG_CHAOS_KILLS", DEFAULT_KILLS),
            threads: number("MAILTUG_CHAOS_THREADS", DEFAULT_THREADS),
            soak,
        }
    }
}

fn parse_u64(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn pair_name((source, sink): Pair) -> String {
    format!("{}-{}", source.name(), sink.name())
}

/// The seed of one pair in one cycle: the same for a given run seed, so
/// a subset of pairs replays exactly.
fn pair_seed(seed: u64, pair: Pair, cycle: usize) -> u64 {
    let index = SourceKind::ALL.iter().position(|&s| s == pair.0).unwrap() * 3
        + SinkKind::ALL.iter().position(|&s| s == pair.1).unwrap();
    let mut rng = Rng::new(seed ^ ((index as u64 + 1) << 32) ^ cycle as u64);
    rng.next()
}

// ------------------------------------------------------------ corpus

/// A resent copy of message `i`: the same Message-ID, another body, other
/// flags, a later date.
fn resent(i: usize) -> Synthetic {
    let original = synthetic(i);
    let text = String::from_utf8(original.raw.clone()).unwrap();
    let raw = text.replace(
        &format!("Body of synthetic message {i}."),
        &format!("Body of a resent copy of synthetic message {i}, with other words."),
    );
    assert_ne!(raw, text, "message {i} has the expected body line");
    let mut flags = synthetic(i + 1).flags;
    flags.flagged = !flags.flagged;
    Synthetic {
        raw: raw.into_bytes(),
        flags,
        date: original.date + 7,
    }
}

/// Message `i` with body lines added up to about `bytes` bytes.
fn enlarged(i: usize, bytes: usize) -> Synthetic {
    padded(synthetic(i), bytes, |n| {
        format!("large body line {n:06} ..........................")
    })
}

/// The source folders, in order.
fn corpus(source: SourceKind) -> Vec<(String, Vec<Synthetic>)> {
    let message = |i: usize| match i {
        _ if i % LARGE_EVERY == LARGE_EVERY - 1 => enlarged(i, LARGE_BYTES),
        _ if i % BIGGER_EVERY == 2 => enlarged(i, BIGGER_BYTES),
        _ => synthetic(i),
    };
    let mut inbox: Vec<Synthetic> = (0..INBOX).map(message).collect();
    inbox.extend(
        (0..INBOX)
            .step_by(RESENT_EVERY)
            .map(|i| if i % 10 == 3 { i + 1 } else { i })
            .map(resent),
    );
    let lists: Vec<Synthetic> = (INBOX..INBOX + LISTS).map(message).collect();
    if source == SourceKind::Pop3 {
        inbox.extend(lists);
        vec![("INBOX".to_string(), inbox)]
    } else {
        vec![("INBOX".to_string(), inbox), ("Lists".to_string(), lists)]
    }
}

/// A model as the pair can compare it: LF line ends when a server is on
/// either side; no flags and dates from POP3.
fn comparable(model: &Model, pair: Pair) -> Model {
    let (source, sink) = pair;
    let server = source.is_server() || sink == SinkKind::Imap;
    mapped(model, |m| Stored {
        raw: if server { lf(&m.raw) } else { m.raw.clone() },
        flags: if source.has_metadata() {
            m.flags.clone()
        } else {
            "-".into()
        },
        date: if source.has_metadata() { m.date } else { None },
    })
}

// ------------------------------------------------------------ one pair

struct Figures {
    pair: String,
    kills: usize,
    mid_run: usize,
    after_completion: usize,
    by_kind: BTreeMap<&'static str, usize>,
    runs: usize,
    /// Jobs run to the end and checked: one, plus one for every run that
    /// finished the job before its kill point (the job then starts again).
    jobs: usize,
    messages: usize,
    seconds: f64,
    seed: u64,
    cycle: usize,
    /// POP3: kills the proxy delivered, by protocol step.
    pop3_steps: BTreeMap<&'static str, usize>,
}

impl Figures {
    fn line(&self) -> String {
        let kinds: Vec<String> = self
            .by_kind
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        let deleting = if !self.pop3_steps.is_empty() {
            let steps: Vec<String> = self
                .pop3_steps
                .iter()
                .map(|(step, n)| format!("{n} {step}"))
                .collect();
            format!("; POP3 steps hit: {}", steps.join(", "))
        } else {
            String::new()
        };
        format!(
            "{} (cycle {}, seed {:#x}): {} kills survived ({} mid-run, {} after completion; \
             {}{deleting}), {} runs, {} jobs of {} messages checked at their end, {:.1} s",
            self.pair,
            self.cycle,
            self.seed,
            self.kills,
            self.mid_run,
            self.after_completion,
            kinds.join(", "),
            self.runs,
            self.jobs,
            self.messages,
            self.seconds
        )
    }
}

/// What the next kill point is drawn from, learnt from earlier runs.
struct Pace {
    startup: Duration,
    per_message: Duration,
}

/// What one pair compares against, and how it runs.
struct Job {
    name: String,
    pair: Pair,
    folders: Vec<(String, Vec<Synthetic>)>,
    source: Source,
    /// The deduplicated source, comparable with what the sink holds.
    expected: Model,
    /// Every source message by folder, comparable with what the sink holds.
    allowed: BTreeMap<String, BTreeSet<Stored>>,
    fingerprints: BTreeSet<Fingerprint>,
    source_total: usize,
    expected_total: usize,
    /// `--delete-source`: POP3 always, IMAP in half the runs (by seed).
    moves: bool,
    /// POP3: `--max-messages`.
    per_run: Option<usize>,
}

impl Job {
    fn args(&self, sink: &Sink) -> Vec<String> {
        let mut args = vec![
            "--json".to_string(),
            "copy".into(),
            self.source.endpoint.clone(),
            sink.endpoint.clone(),
        ];
        args.extend(self.source.args.iter().cloned());
        args.extend(sink.args.iter().cloned());
        if self.moves {
            args.push("--delete-source".into());
        }
        if let Some(max) = self.per_run {
            args.push(format!("--max-messages={max}"));
        }
        args
    }
}

fn run_pair(pair: Pair, cycle: usize, seed: u64, kills: usize) -> Figures {
    let started = Instant::now();
    let (source_kind, sink_kind) = pair;
    let env = TestEnv::new();
    let folders = corpus(source_kind);
    let source = Source::set_up(source_kind, &env, &folders);
    let source_model: Model = folders
        .iter()
        .map(|(folder, messages)| (folder.clone(), crate::util::corpus::stored(messages)))
        .collect();
    let expected = comparable(&deduplicated(&source_model), pair);
    let moves = match source_kind {
        SourceKind::Pop3 => true,
        SourceKind::Imap => seed & 1 == 1,
        _ => false,
    };
    let job = Job {
        name: format!("{}{}", pair_name(pair), if moves { " (move)" } else { "" }),
        pair,
        source,
        allowed: comparable(&source_model, pair)
            .into_iter()
            .map(|(folder, messages)| (folder, messages.into_iter().collect()))
            .collect(),
        fingerprints: expected
            .values()
            .flatten()
            .map(Stored::fingerprint)
            .collect(),
        source_total: folders.iter().map(|(_, m)| m.len()).sum(),
        expected_total: expected.values().map(Vec::len).sum(),
        expected,
        folders,
        // POP3 as from cron: a few hundred messages per run, each run ending
        // with its deletions (DELE, then QUIT), so kills land there too.
        per_run: (source_kind == SourceKind::Pop3).then_some(POP3_PER_RUN),
        moves,
    };
    let name = &job.name;
    let mut leg = 0;
    let mut sink = Sink::set_up(sink_kind, &env, "dst-0");
    let mut args = job.args(&sink);

    let mut rng = Rng::new(seed);
    let mut figures = Figures {
        pair: name.clone(),
        kills: 0,
        mid_run: 0,
        after_completion: 0,
        by_kind: BTreeMap::new(),
        runs: 0,
        jobs: 0,
        messages: 0,
        seconds: 0.0,
        seed,
        cycle,
        pop3_steps: BTreeMap::new(),
    };
    let mut pace = Pace {
        startup: Duration::from_millis(150),
        per_message: Duration::from_micros(800),
    };
    let mut present = 0usize;
    let verbose = std::env::var_os("MAILTUG_CHAOS_VERBOSE").is_some();
    for round in 0..kills {
        let left = kills - round;
        let remaining = job.source_total.saturating_sub(present);
        // What the next run would copy if it were not killed.
        let this_run = remaining.min(job.per_run.unwrap_or(usize::MAX));
        let share = (remaining / left).clamp(1, this_run.max(1)) as u64;
        let near_end = |rng: &mut Rng| {
            KillPoint::NearEnd(
                this_run.saturating_sub(rng.below(20) as usize),
                Duration::from_micros(rng.below(40_000)),
            )
        };
        let pop3_step = |rng: &mut Rng| {
            KillPoint::AtPop3(match rng.below(4) {
                0 => Pop3Step::BeforeQuit,
                1 => Pop3Step::AfterQuit,
                _ => Pop3Step::BeforeDele(1 + rng.below(this_run.max(1) as u64) as usize),
            })
        };
        let startup_ms = pace.startup.as_millis() as u64;
        let point = if left <= 2 {
            if job.source.proxy.is_some() && left == 2 {
                pop3_step(&mut rng)
            } else {
                near_end(&mut rng)
            }
        } else if job.source.proxy.is_some() && rng.below(4) == 0 {
            pop3_step(&mut rng)
        } else {
            match rng.below(10) {
                // Somewhere in the batch after the n-th committed message.
                0..=3 => {
                    KillPoint::AfterMessages(1 + rng.below(2 * share) as usize, rng.millis(100))
                }
                // While starting: connecting, listing, indexing the
                // destination, the first batch.
                4..=5 => KillPoint::AfterTime(rng.millis(startup_ms * 3 / 2)),
                6..=7 => {
                    KillPoint::AfterTime(pace.startup + pace.per_message * rng.below(share) as u32)
                }
                _ => near_end(&mut rng),
            }
        };
        let what = format!("{name}, kill {} of {kills} ({point:?})", round + 1);
        let run = Run::spawn(&env, &args);
        if let (KillPoint::AtPop3(step), Some(proxy)) = (point, &job.source.proxy) {
            proxy.arm(step, run.pid());
        }
        let ended = run.kill_at(point, &what);
        if let Some(proxy) = &job.source.proxy {
            if let (true, KillPoint::AtPop3(step)) = (proxy.disarm(), point) {
                *figures.pop3_steps.entry(step.name()).or_default() += 1;
            }
        }
        figures.runs += 1;
        figures.kills += 1;
        *figures.by_kind.entry(point.kind()).or_default() += 1;
        check_ended(&ended, &what);
        if ended.was_killed() {
            figures.mid_run += 1;
        } else {
            figures.after_completion += 1;
        }
        if verbose {
            let _ = writeln!(
                std::io::stderr(),
                "chaos: {what}: {}, {present} of {} stored before it",
                if ended.was_killed() {
                    "killed mid-run"
                } else {
                    "had finished"
                },
                job.expected_total
            );
        }
        if let Some(startup) = ended.startup {
            pace.startup = startup;
        }
        if let Some(per_message) = ended.per_message {
            pace.per_message = per_message;
        }

        // What a killed run left behind.
        wait_for_server_sessions(&job, &sink, &what);
        let committed = comparable(&sink.committed(), pair);
        present = assert_only_source_messages(&job.allowed, &committed, &what);
        if job.moves {
            assert_deleted_only_what_is_stored(&job, &committed, &what);
        }

        // A run that finished the job before its kill point: check the job
        // as at the end, then start it again towards a new destination, so
        // that the kills left land mid-run rather than in runs with
        // nothing to do.
        if !ended.was_killed() && present >= job.expected_total && left > 1 {
            finish_and_check(&job, &env, &sink, &args, &mut figures);
            leg += 1;
            sink = Sink::set_up(sink_kind, &env, &format!("dst-{leg}"));
            args = job.args(&sink);
            if job.moves {
                job.source.reload(&job.folders);
            }
            present = 0;
        }
    }
    finish_and_check(&job, &env, &sink, &args, &mut figures);
    figures.messages = job.expected_total;
    figures.seconds = started.elapsed().as_secs_f64();
    figures
}

/// Runs the job to the end (POP3: as many runs as its per-run limit
/// needs), then once more, which must have nothing to do, and checks the
/// destination (and the POP3 server) against the source.
fn finish_and_check(job: &Job, env: &TestEnv, sink: &Sink, args: &[String], figures: &mut Figures) {
    let name = &job.name;
    let finishing = 1 + job.per_run.map_or(0, |max| job.source_total.div_ceil(max));
    for n in 0..=finishing {
        let last = n == finishing;
        let what = format!("{name}, run {} to the end", n + 1);
        let ended = Run::spawn(env, args).wait(&what);
        figures.runs += 1;
        check_ended(&ended, &what);
        assert_eq!(
            ended.status.code(),
            Some(0),
            "{what}: exit code\n{}",
            ended.stderr
        );
        let summary = ended
            .summary
            .unwrap_or_else(|| panic!("{what}: no summary event\n{}", ended.stderr));
        if last {
            assert_eq!(summary["messages_copied"], 0, "{what}: {summary}");
        }
        wait_for_server_sessions(job, sink, &what);
        if !last && summary["messages_copied"] == 0 && summary["messages_duplicate"] == 0 {
            // Nothing was left: this was the run with nothing to do.
            break;
        }
    }
    figures.jobs += 1;

    let what = format!("{name}, at the end of job {}", figures.jobs);
    let actual = comparable(&sink.read(), job.pair);
    let fingerprints: Vec<Fingerprint> =
        actual.values().flatten().map(Stored::fingerprint).collect();
    let unique: HashSet<&Fingerprint> = fingerprints.iter().collect();
    assert_eq!(
        unique.len(),
        fingerprints.len(),
        "{what}: a fingerprint is stored twice in a folder or in two"
    );
    let have: BTreeSet<Fingerprint> = fingerprints.into_iter().collect();
    let missing: Vec<&Fingerprint> = job.fingerprints.difference(&have).collect();
    assert!(
        missing.is_empty(),
        "{what}: {} fingerprints lost: {missing:?}",
        missing.len()
    );
    assert_same_messages(&job.expected, &actual, &what);
    // Files written aside and renamed into place (checkpoints, journals,
    // `dovecot-keywords`): a killed run's are removed by the next.
    let temps: Vec<PathBuf> = [env.checkpoint_dir(), sink.root.clone()]
        .iter()
        .flat_map(|dir| list_files(dir))
        .filter(|file| file.to_string_lossy().contains(".tmp."))
        .collect();
    assert!(temps.is_empty(), "{what}: temp files left: {temps:?}");
    match sink.kind {
        SinkKind::Maildir => {
            let leftovers = maildir_tmp_files(&sink.root);
            assert!(leftovers.is_empty(), "{what}: tmp/ leftovers {leftovers:?}");
            assert_maildir_layout(&sink.root);
        }
        SinkKind::Mbox => {
            assert_mbox_dir_layout(&sink.root);
            for (folder, path) in mbox_files(&sink.root) {
                let count = job.expected.get(&folder).map_or(0, Vec::len);
                if let Err(problem) = check_mbox_file(&path, count) {
                    panic!("{what}: {problem}");
                }
            }
        }
        SinkKind::Imap => {}
    }
    if job.moves {
        let held = job.source.held();
        assert!(
            held.is_empty(),
            "{what}: the source server still holds {} messages after --delete-source",
            held.len()
        );
    }
}

/// A run ended either by the kill or by itself with exit code 0, printed
/// only JSON events on stdout, and did not panic.
fn check_ended(ended: &Ended, what: &str) {
    assert_no_panic(&ended.stderr);
    assert!(
        ended.garbage.is_empty(),
        "{what}: stdout lines that are not JSON events: {:?}",
        ended.garbage
    );
    assert!(
        ended.was_killed() || ended.status.code() == Some(0),
        "{what}: the run failed ({:?})\n--- stderr ---\n{}",
        ended.status,
        ended.stderr
    );
}

/// A killed client's sessions are over on the server side before anyone
/// looks: an APPEND the server had whole is stored, deletions a QUIT asked
/// for are done (or not).
fn wait_for_server_sessions(job: &Job, sink: &Sink, what: &str) {
    for account in [&job.source.account, &sink.account].into_iter().flatten() {
        account.wait_for_sessions_to_end(what);
    }
}

/// Every stored message is one of the source folder's messages (bytes,
/// flags, date), and no fingerprint is stored twice. Returns how many
/// messages are stored.
#[track_caller]
fn assert_only_source_messages(
    allowed: &BTreeMap<String, BTreeSet<Stored>>,
    actual: &Model,
    what: &str,
) -> usize {
    let mut count = 0;
    for (folder, messages) in actual {
        let source = allowed
            .get(folder)
            .unwrap_or_else(|| panic!("{what}: unexpected folder {folder:?} at the destination"));
        let mut seen = HashSet::new();
        for message in messages {
            assert!(
                seen.insert(message.fingerprint()),
                "{what}: folder {folder} holds {} twice",
                message.describe()
            );
            assert!(
                source.contains(message),
                "{what}: folder {folder} holds a message the source does not have as such: {}\n\
                 (bytes, flags or date differ from every source message)",
                message.describe()
            );
        }
        count += messages.len();
    }
    count
}

/// `--delete-source` removed from the source server (POP3 or IMAP) only
/// messages whose fingerprint the destination holds.
fn assert_deleted_only_what_is_stored(job: &Job, committed: &Model, what: &str) {
    let held: BTreeSet<Fingerprint> = job
        .source
        .held()
        .iter()
        .map(|raw| Fingerprint::of(raw))
        .collect();
    let stored: BTreeSet<Fingerprint> = committed
        .values()
        .flatten()
        .map(Stored::fingerprint)
        .collect();
    let gone: Vec<&Fingerprint> = job
        .fingerprints
        .iter()
        .filter(|f| !held.contains(f) && !stored.contains(f))
        .collect();
    assert!(
        gone.is_empty(),
        "{what}: {} messages were deleted from the source server but are not at the \
         destination: {:?}",
        gone.len(),
        &gone[..gone.len().min(10)]
    );
}
