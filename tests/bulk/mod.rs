//! `mailtug bulk`: many account pairs on the test Dovecot, with bad rows, a
//! refused login (not retried), a destination over quota, a busy server and
//! a dead one (retried with backoff), the failed.csv round trip,
//! --skip-completed, per-host caps counted at a proxy, a stop signal, and
//! shards (`engines.rs`: on GNU parallel and Slurm).

mod engines;

use std::fs;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use crate::support::account::Account;
use crate::support::faultproxy::{FaultProxy, Plan};
use crate::support::Dovecot;
use crate::util::{assert_exit, path_arg, stderr, TestEnv};

/// `n` small messages for `user`'s INBOX.
pub(crate) fn load(account: &Account, tag: &str, n: usize) {
    load_into(account, "INBOX", tag, n);
}

/// `n` small messages for a folder of `user`'s.
fn load_into(account: &Account, folder: &str, tag: &str, n: usize) {
    let messages: Vec<(Vec<u8>, &str, std::time::SystemTime)> = (0..n)
        .map(|i| {
            let raw = format!(
                "Message-ID: <{tag}-{i}@bulk.example>\r\nSubject: {tag} {i}\r\n\r\nbody {i}\r\n"
            );
            (
                raw.into_bytes(),
                "S",
                UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i as u64),
            )
        })
        .collect();
    account.user.load(account.server, folder, &messages);
}

pub(super) fn records(env: &TestEnv, dir: &str) -> Vec<Value> {
    fs::read_to_string(env.path(dir).join("report.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_bulk_run_copies_every_pair_reports_each_and_replays_its_failures() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let ca = path_arg(server.ca_file());
    let mut lines =
        vec!["id,src,dst,src_password_file,dst_password_file,src_ca_file,dst_ca_file".to_string()];
    let mut destinations = Vec::new();
    for i in 0..48 {
        let src = Account::new(&env, server, &format!("bulk-src{i}"), None);
        let dst = Account::new(&env, server, &format!("bulk-dst{i}"), None);
        load(&src, &format!("a{i}"), 3);
        lines.push(format!(
            "pair{i},{},{},{},{},{ca},{ca}",
            src.imaps(),
            dst.imaps(),
            path_arg(&src.password_file),
            path_arg(&dst.password_file)
        ));
        destinations.push(dst);
    }
    // A wrong password: refused, and never tried again.
    let locked_out = Account::new(&env, server, "bulk-wrongpw", None);
    load(&locked_out, "w", 2);
    let wrong = env.write_secret("wrong.password", "not-this-one-93kd");
    let wrong_dst = Account::new(&env, server, "bulk-wrongpw-dst", None);
    lines.push(format!(
        "wrong,{},{},{},{},{ca},{ca}",
        locked_out.imaps(),
        wrong_dst.imaps(),
        path_arg(&wrong),
        path_arg(&wrong_dst.password_file)
    ));
    // A destination over its quota: the messages fail, the run goes on.
    let big = Account::new(&env, server, "bulk-big", None);
    let messages: Vec<(Vec<u8>, &str, std::time::SystemTime)> = (0..3)
        .map(|i| {
            let raw = format!(
                "Message-ID: <big-{i}@bulk.example>\r\nSubject: big\r\n\r\n{}\r\n",
                "x".repeat(40_000)
            );
            (
                raw.into_bytes(),
                "",
                UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            )
        })
        .collect();
    big.user.load(server, "INBOX", &messages);
    let small = Account::new(&env, server, "bulk-small", Some("30K"));
    lines.push(format!(
        "quota,{},{},{},{},{ca},{ca}",
        big.imaps(),
        small.imaps(),
        path_arg(&big.password_file),
        path_arg(&small.password_file)
    ));
    let manifest = env.path("accounts.csv");
    fs::write(&manifest, lines.join("\n") + "\n").unwrap();

    let output = env.run(&[
        "bulk",
        &path_arg(&manifest),
        "--accounts",
        "4",
        "--max-connections-per-host",
        "6",
        "--report",
        "report",
        "--retry-wait",
        "1",
    ]);
    // A refused login outranks the other failure: an engine running this
    // as a shard must not run it again as is.
    assert_exit(&output, 7);
    let report = records(&env, "report");
    assert_eq!(report.len(), 50);
    let by_id = |id: &str| report.iter().find(|r| r["id"] == id).unwrap().clone();
    for (i, destination) in destinations.iter().enumerate() {
        let record = by_id(&format!("pair{i}"));
        assert_eq!(record["status"], "ok", "{record}");
        assert_eq!(record["messages_copied"], 3, "{record}");
        assert_eq!(destination.user.count(server, "INBOX"), 3);
    }
    let wrong = by_id("wrong");
    assert_eq!(wrong["status"], "failed");
    assert_eq!(wrong["error_kind"], "auth", "{wrong}");
    assert_eq!(wrong["retryable"], false);
    assert_eq!(wrong["attempts"], 1, "a refused login is not tried again");
    let quota = by_id("quota");
    assert_eq!(quota["status"], "failed");
    assert_eq!(quota["error_kind"], "partial", "{quota}");
    assert!(quota["messages_failed"].as_u64().unwrap() >= 1, "{quota}");
    assert!(!stderr(&output).contains("not-this-one-93kd"));
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(env.path("report/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        (summary["ok"].as_u64(), summary["failed"].as_u64()),
        (Some(48), Some(2))
    );
    assert_eq!(summary["exit_code"], 7);
    assert!(summary["messages_copied"].as_u64().unwrap() >= 144);

    // failed.csv is a manifest of the failed rows: fixed, it runs again.
    let failed = fs::read_to_string(env.path("report/failed.csv")).unwrap();
    assert_eq!(failed.lines().count(), 3, "{failed}");
    let fixed = failed
        .lines()
        .filter(|line| !line.starts_with("quota,"))
        .map(|line| {
            line.replace(
                &path_arg(&env.path("wrong.password")),
                &path_arg(&locked_out.password_file),
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let retry = env.path("retry.csv");
    fs::write(&retry, fixed + "\n").unwrap();
    let output = env.run(&["bulk", &path_arg(&retry), "--report", "retry"]);
    assert_exit(&output, 0);
    assert_eq!(wrong_dst.user.count(server, "INBOX"), 2);

    // --skip-completed: what went well is not run again.
    let output = env.run(&[
        "bulk",
        &path_arg(&manifest),
        "--report",
        "report",
        "--skip-completed",
        "--retry-wait",
        "1",
    ]);
    assert_exit(&output, 7);
    let report = records(&env, "report");
    let skipped = report.iter().filter(|r| r["status"] == "skipped").count();
    assert_eq!(skipped, 48, "{report:?}");
}

#[test]
fn a_manifest_with_bad_rows_starts_nothing_and_names_every_line() {
    let env = TestEnv::new();
    let manifest = env.path("bad.csv");
    fs::write(
        &manifest,
        "src,dst,src_pasword_file\n\
         imaps://a@127.0.0.1,maildir:/tmp/x,f\n\
         ,maildir:/tmp/y,\n\
         ftp://nowhere,maildir:/tmp/z,\n\
         imaps://b@127.0.0.1,maildir:/tmp/w\n",
    )
    .unwrap();
    let output = env.run(&["bulk", &path_arg(&manifest), "--report", "report"]);
    assert_exit(&output, 2);
    let err = stderr(&output);
    for expected in [
        "line 1: unknown column `src_pasword_file`; did you mean `src_password_file`?",
        "line 3: no `src` endpoint",
        "line 4: `src`",
        "line 5: 2 fields where the header has 3",
    ] {
        assert!(err.contains(expected), "{expected}: {err}");
    }
    assert!(!env.path("report").exists(), "nothing started");

    let jsonl = env.path("bad.jsonl");
    fs::write(
        &jsonl,
        "{\"src\": \"maildir:/tmp/a\", \"dst\": \"maildir:/tmp/b\", \"jobz\": 2}\nnot json\n",
    )
    .unwrap();
    let output = env.run(&["bulk", &path_arg(&jsonl)]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("line 1: unknown key `jobz`; did you mean `jobs`?"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("line 2: not JSON"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_per_host_cap_holds_whatever_the_rows_ask_for() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let ca = path_arg(server.ca_file());
    let mut pairs = Vec::new();
    for i in 0..6 {
        let src = Account::new(&env, server, &format!("cap-src{i}"), None);
        for folder in ["INBOX", "Archive", "Lists", "Sent"] {
            load_into(&src, folder, &format!("c{i}-{folder}"), 5);
        }
        let capped = Account::new(&env, server, &format!("cap-dst{i}"), None);
        let uncapped = Account::new(&env, server, &format!("cap-free{i}"), None);
        pairs.push((src, capped, uncapped));
    }
    // Every row reaches the server through a proxy, which counts the
    // sessions open at once; each row asks for 8 connections a side.
    let manifest = |name: &str, port: u16, capped: bool| {
        let mut lines = vec![
            "src,dst,src_password_file,dst_password_file,src_ca_file,dst_ca_file,jobs".to_string(),
        ];
        for (src, capped_dst, uncapped_dst) in &pairs {
            let dst = if capped { capped_dst } else { uncapped_dst };
            lines.push(format!(
                "{},{},{},{},{ca},{ca},8",
                src.url("imaps", port),
                dst.url("imaps", port),
                path_arg(&src.password_file),
                path_arg(&dst.password_file)
            ));
        }
        let path = env.path(name);
        fs::write(&path, lines.join("\n") + "\n").unwrap();
        path_arg(&path)
    };

    // Five connections to the one host, though six pairs may run at once:
    // a pair gets 2 a side, so two pairs never run at once.
    let proxy = FaultProxy::start(server.imaps_port(), Plan::clean());
    let output = env.run(&[
        "bulk",
        &manifest("capped.csv", proxy.port(), true),
        "--accounts",
        "6",
        "--max-connections-per-host",
        "5",
        "--report",
        "capped",
    ]);
    assert_exit(&output, 0);
    for (_, destination, _) in &pairs {
        assert_eq!(destination.user.count(server, "Sent"), 5);
    }
    let most_open = proxy.stats().most_open;
    assert!(
        most_open <= 5,
        "at most 5 sessions at once, saw {most_open}"
    );
    assert!(
        most_open >= 3,
        "a pair used its share, saw {most_open} at most"
    );
    let mut spans: Vec<(f64, f64)> = records(&env, "capped")
        .iter()
        .map(|r| {
            (
                r["started_at"].as_f64().unwrap(),
                r["ended_at"].as_f64().unwrap(),
            )
        })
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "pairs overlapped: {spans:?}");
    }

    // Without the cap the same rows run side by side: the count above is
    // the cap's doing.
    let proxy = FaultProxy::start(server.imaps_port(), Plan::clean());
    let output = env.run(&[
        "bulk",
        &manifest("uncapped.csv", proxy.port(), false),
        "--accounts",
        "6",
        "--report",
        "uncapped",
    ]);
    assert_exit(&output, 0);
    let most_open = proxy.stats().most_open;
    assert!(most_open > 5, "uncapped, {most_open} sessions at most");
}

/// A manifest of `n` local account pairs (maildirs of two messages each)
/// whose destinations are under `dst_root`.
pub(crate) fn local_manifest(
    env: &TestEnv,
    name: &str,
    n: usize,
    dst_root: &str,
) -> std::path::PathBuf {
    let mut lines = vec!["id,src,dst".to_string()];
    for i in 0..n {
        let src = env.path(&format!("sources/{i}"));
        if !src.exists() {
            for sub in ["cur", "new", "tmp"] {
                fs::create_dir_all(src.join(sub)).unwrap();
            }
            for m in 0..2 {
                fs::write(
                    src.join(format!("cur/{}.M{m}P1.host:2,S", 1_700_000_000 + i)),
                    format!("Message-ID: <{i}-{m}@shard.example>\nSubject: {i}\n\nbody\n"),
                )
                .unwrap();
            }
        }
        lines.push(format!(
            "pair{i},maildir:{},maildir:{}",
            src.display(),
            env.path(&format!("{dst_root}/{i}")).display()
        ));
    }
    let path = env.path(name);
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// (id, status, messages copied) of every record of a report, sorted.
pub(super) fn outcomes(env: &TestEnv, dir: &str) -> Vec<(String, String, u64)> {
    let mut outcomes: Vec<_> = records(env, dir)
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["messages_copied"].as_u64().unwrap(),
            )
        })
        .collect();
    outcomes.sort();
    outcomes
}

#[test]
fn shards_take_every_row_once_and_their_merged_report_equals_one_run() {
    let env = TestEnv::new();
    let whole = local_manifest(&env, "whole.csv", 12, "whole");
    let output = env.run(&["bulk", &path_arg(&whole), "--report", "all", "--json"]);
    assert_exit(&output, 0);
    // --json: an account_done per account as it ends, then the totals;
    // the same as the report's files.
    let events = crate::util::json_events(&output);
    let mut done: Vec<Value> = events
        .iter()
        .filter(|e| e["event"] == "account_done")
        .map(|e| {
            let mut record = e.clone();
            record.as_object_mut().unwrap().remove("event");
            record
        })
        .collect();
    done.sort_by_key(|r| r["line"].as_u64());
    assert_eq!(done, records(&env, "all"));
    let last = events.last().unwrap().clone();
    assert_eq!(last["event"], "summary");
    let mut totals = last;
    totals.as_object_mut().unwrap().remove("event");
    let written: Value =
        serde_json::from_str(&fs::read_to_string(env.path("all/summary.json")).unwrap()).unwrap();
    assert_eq!(totals, written);

    let sharded = local_manifest(&env, "sharded.csv", 12, "sharded");
    let mut dirs = Vec::new();
    for i in 0..4 {
        let dir = format!("shard{i}");
        // Shard 1 from Slurm's variables (an array numbered from 1), the
        // others from --shard.
        let output = match i {
            1 => env
                .command(["bulk", &path_arg(&sharded), "--report", &dir])
                .env("SLURM_ARRAY_TASK_ID", "2")
                .env("SLURM_ARRAY_TASK_MIN", "1")
                .env("SLURM_ARRAY_TASK_COUNT", "4")
                .output()
                .unwrap(),
            _ => env.run(&[
                "bulk",
                &path_arg(&sharded),
                "--shard",
                &format!("{i}/4"),
                "--report",
                &dir,
            ]),
        };
        assert_exit(&output, 0);
        dirs.push(dir);
    }
    let mut merge = vec!["report", "merge", "--into", "merged"];
    merge.extend(dirs.iter().map(String::as_str));
    let output = env.run(&merge);
    assert_exit(&output, 0);
    assert_eq!(outcomes(&env, "merged"), outcomes(&env, "all"));
    let summary: Value = serde_json::from_str(&crate::util::stdout(&output)).unwrap();
    assert_eq!(summary["ok"], 12);
    assert_eq!(summary["messages_copied"], 24);

    // A shard's rows are the same whatever engine names it.
    let output = env
        .command([
            "bulk",
            &path_arg(&sharded),
            "--report",
            "k8s",
            "--shards",
            "4",
        ])
        .env("JOB_COMPLETION_INDEX", "3")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let ids = |dir: &str| {
        outcomes(&env, dir)
            .into_iter()
            .map(|o| o.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("k8s"), ids("shard3"));
    // A shard that does not exist is a usage error, before anything runs.
    let output = env.run(&["bulk", &path_arg(&sharded), "--shard", "4/4"]);
    assert_exit(&output, 2);
}

/// A server that turns every connection away at once, as an overloaded
/// one does, and counts them.
struct BusyServer {
    port: u16,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl BusyServer {
    fn start() -> BusyServer {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = stream
                    .write_all(b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n");
            }
        });
        BusyServer { port, connections }
    }
}

#[test]
fn an_account_stopped_by_a_daily_limit_is_not_retried_within_the_run_but_listed_to_run_again() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let source = Account::new(&env, server, "bulk-daily", None);
    load(&source, "daily", 6);
    let manifest = env.path("daily.csv");
    fs::write(
        &manifest,
        format!(
            "id,src,dst,src_password_file,src_ca_file\n\
             daily,{},{},{},{}\n",
            source.imaps(),
            env.endpoint("maildir", "out"),
            path_arg(&source.password_file),
            path_arg(server.ca_file()),
        ),
    )
    .unwrap();
    let output = env.run(&[
        "bulk",
        &path_arg(&manifest),
        "--retries",
        "2",
        "--retry-wait",
        "1",
        "--report",
        "report",
        "--",
        "--src-max-bytes-per-day",
        "100",
    ]);
    assert_exit(&output, 1);
    let report = records(&env, "report");
    let record = &report[0];
    assert_eq!(record["exit_code"], 75, "{record}");
    assert_eq!(record["error_kind"], "throttled", "{record}");
    assert_eq!(record["retryable"], true, "{record}");
    assert_eq!(
        record["attempts"], 1,
        "its limit lifts hours later: {record}"
    );
    assert!(
        record["error"]
            .as_str()
            .unwrap_or_default()
            .contains("run the same command again after "),
        "{record}"
    );
    let failed = fs::read_to_string(env.path("report/failed.csv")).unwrap();
    assert_eq!(failed.lines().count(), 2, "listed to run again:\n{failed}");
}

#[test]
fn failures_are_retried_by_class_and_a_refused_login_never() {
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let busy = BusyServer::start();
    // A port nothing listens on: the network failed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = Account::new(&env, server, "retry-refused", None);
    let wrong = env.write_secret("wrong.password", "not-it-4hq2");
    let password = env.write_secret("any.password", "whatever-7xv1");
    let out = |name: &str| env.endpoint("maildir", name);
    let manifest = env.path("retry.csv");
    fs::write(
        &manifest,
        format!(
            "id,src,dst,src_password_file,src_ca_file\n\
             busy,imap://me@127.0.0.1:{},{},{},\n\
             network,imaps://me@127.0.0.1:{closed_port},{},{},\n\
             refused,{},{},{},{}\n",
            busy.port,
            out("busy"),
            path_arg(&password),
            out("network"),
            path_arg(&password),
            refused.imaps(),
            out("refused"),
            path_arg(&wrong),
            path_arg(server.ca_file()),
        ),
    )
    .unwrap();
    let output = env.run(&[
        "bulk",
        &path_arg(&manifest),
        "--retries",
        "2",
        "--retry-wait",
        "1",
        "--report",
        "report",
        "--",
        "--tls",
        "none",
    ]);
    assert_exit(&output, 7);
    let report = records(&env, "report");
    let by_id = |id: &str| report.iter().find(|r| r["id"] == id).unwrap().clone();
    let busy_record = by_id("busy");
    assert_eq!(busy_record["error_kind"], "throttled", "{busy_record}");
    assert_eq!(busy_record["retryable"], true);
    assert_eq!(busy_record["attempts"], 3, "tried again twice");
    assert!(
        busy_record["error"]
            .as_str()
            .unwrap()
            .contains("Too many connections"),
        "{busy_record}"
    );
    assert_eq!(
        busy.connections.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "one connection an attempt: the busy server is not hammered"
    );
    // Backing off: 1 s, then 2 s.
    let busy_span =
        busy_record["ended_at"].as_f64().unwrap() - busy_record["started_at"].as_f64().unwrap();
    assert!(busy_span >= 3.0, "waited {busy_span} s in all");
    let network = by_id("network");
    assert_eq!(network["error_kind"], "network", "{network}");
    assert_eq!(network["attempts"], 3);
    let refused_record = by_id("refused");
    assert_eq!(refused_record["error_kind"], "auth", "{refused_record}");
    assert_eq!(refused_record["attempts"], 1);
    assert_eq!(refused_record["exit_code"], 7);
    let failed = fs::read_to_string(env.path("report/failed.csv")).unwrap();
    assert_eq!(
        failed.lines().count(),
        4,
        "all three, to run again:\n{failed}"
    );
}

#[test]
fn a_stop_signal_to_bulk_alone_stops_its_rows_cleanly_and_a_rerun_finishes_without_duplicates() {
    use crate::support::faultproxy::{Fault, Rule};
    let env = TestEnv::new();
    let server = Dovecot::shared();
    let ca = path_arg(server.ca_file());
    // A slow link, so the first row is still copying when the stop comes.
    let proxy = FaultProxy::start(
        server.imaps_port(),
        Plan::clean().with(Rule::to_client(Fault::Latency { millis: 40 })),
    );
    let mut lines =
        vec!["src,dst,src_password_file,dst_password_file,src_ca_file,dst_ca_file".to_string()];
    let mut destinations = Vec::new();
    for i in 0..3 {
        let src = Account::new(&env, server, &format!("stop-src{i}"), None);
        let dst = Account::new(&env, server, &format!("stop-dst{i}"), None);
        load(&src, &format!("s{i}"), 200);
        lines.push(format!(
            "{},{},{},{},{ca},{ca}",
            src.url("imaps", proxy.port()),
            dst.url("imaps", proxy.port()),
            path_arg(&src.password_file),
            path_arg(&dst.password_file)
        ));
        destinations.push(dst);
    }
    let manifest = env.path("stop.csv");
    fs::write(&manifest, lines.join("\n") + "\n").unwrap();
    let args = [
        "bulk",
        &path_arg(&manifest),
        "--accounts",
        "1",
        "--report",
        "report",
        "--json",
    ];
    let mut running = env.spawn(&args);
    // The first row's own events: stop once it has stored a message.
    let events = env.path("report/accounts");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let copying = fs::read_dir(&events)
            .into_iter()
            .flatten()
            .flatten()
            .any(|file| {
                fs::read_to_string(file.path())
                    .is_ok_and(|text| text.contains("\"event\":\"message\""))
            });
        if copying {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first row never copied"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGTERM to bulk alone, as Kubernetes, systemd and Slurm send it.
    running.signal("TERM");
    let finished = running.finish();
    assert_eq!(finished.status.code(), Some(4), "{}", finished.stderr);
    let report = records(&env, "report");
    let mut statuses: Vec<&str> = report
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        ["failed", "not_started", "not_started"],
        "{report:?}"
    );
    // The rows wait for the one slot together, so any of them may be the
    // one that started; that one stopped.
    let started = report.iter().find(|r| r["status"] == "failed").unwrap();
    assert_eq!(started["error_kind"], "interrupted", "{started}");
    assert_eq!(started["exit_code"], 4, "the row stopped itself, cleanly");
    // What it stored before stopping is in its state (all of it, when the
    // stop came during its last batch).
    let copied_before = started["messages_copied"].as_u64().unwrap();
    let failed = fs::read_to_string(env.path("report/failed.csv")).unwrap();
    assert_eq!(
        failed.lines().count(),
        4,
        "every unfinished row, to run again"
    );

    // The same command again: each row resumes from its state.
    let output = env.run(&args);
    assert_exit(&output, 0);
    for destination in &destinations {
        assert_eq!(
            destination.user.count(server, "INBOX"),
            200,
            "all, and once"
        );
    }
    let rerun = records(&env, "report");
    let resumed = rerun.iter().find(|r| r["id"] == started["id"]).unwrap();
    assert_eq!(
        resumed["messages_copied"].as_u64().unwrap() + copied_before,
        200,
        "the stopped row copied only what it had not"
    );
}
