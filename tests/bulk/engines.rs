//! The shipped recipes in `deploy/` on the engines they are for: GNU
//! parallel running four shards, and a real single-node Slurm running a
//! four-task job array. Each merged report must equal one unsharded run's.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{local_manifest, outcomes, records};
use crate::support::slurm::Slurm;
use crate::support::system::find_program;
use crate::util::{assert_exit, crate_dir, path_arg, stderr, stdout, TestEnv};

/// A shipped script, run in the test directory with the test's own state
/// and the mailtug under test.
fn script(env: &TestEnv, relative: &str) -> Command {
    let mut command = Command::new(crate_dir().join(relative));
    command
        .current_dir(env.root())
        .env("MAILTUG", env!("CARGO_BIN_EXE_mailtug"))
        .env("XDG_STATE_HOME", env.state_home())
        .env("HOME", env.path("home"))
        .env_remove("MAILTUG_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("MAILTUG_SHARDS")
        .stdin(std::process::Stdio::null());
    command
}

/// The totals of a summary.json that do not depend on timing.
fn totals(summary: &Value) -> Vec<(String, Value)> {
    summary
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| *key != "seconds")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// Every row of a report is in exactly one shard's report.
fn assert_each_row_in_one_shard(env: &TestEnv, shards: &[String], rows: usize) {
    let mut ids: Vec<String> = shards
        .iter()
        .flat_map(|dir| records(env, dir))
        .map(|record| record["id"].as_str().unwrap().to_string())
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((all, ids.len()), (rows, rows), "{shards:?}");
}

#[test]
fn gnu_parallel_runs_four_shards_whose_merged_report_equals_one_run() {
    assert!(
        find_program("parallel").is_some(),
        "GNU parallel is not installed: run `apt-get install parallel` (scripts/test does this \
         when run as root)"
    );
    let env = TestEnv::new();
    let whole = local_manifest(&env, "whole.csv", 16, "whole");
    assert_exit(&env.run(&["bulk", &path_arg(&whole), "--report", "all"]), 0);

    let sharded = local_manifest(&env, "sharded.csv", 16, "sharded");
    let output = script(&env, "deploy/parallel/mailtug-bulk-parallel")
        .arg("4")
        .arg(&sharded)
        .args(["--accounts", "2"])
        .output()
        .expect("running deploy/parallel/mailtug-bulk-parallel");
    assert_exit(&output, 0);
    let shards: Vec<String> = (0..4)
        .map(|i| format!("mailtug-report/shard-{i}-of-4"))
        .collect();
    assert_each_row_in_one_shard(&env, &shards, 16);
    assert_eq!(outcomes(&env, "mailtug-report/all"), outcomes(&env, "all"));
    assert_eq!(
        totals(&summary(&env.path("mailtug-report/all"))),
        totals(&summary(&env.path("all")))
    );
    // The merged summary is also what the script prints last.
    let printed: Value = serde_json::from_str(
        &stdout(&output)[stdout(&output).rfind("{\n").expect("a printed summary")..],
    )
    .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&output), stderr(&output)));
    assert_eq!(printed["ok"], 16);
    for i in 0..16 {
        assert!(
            env.path(&format!("sharded/{i}")).exists(),
            "pair {i} copied"
        );
    }
}

#[test]
fn a_slurm_job_array_runs_four_shards_whose_merged_report_equals_one_run() {
    let slurm = Slurm::shared();
    let env = TestEnv::new();
    let whole = local_manifest(&env, "whole.csv", 16, "whole");
    assert_exit(&env.run(&["bulk", &path_arg(&whole), "--report", "all"]), 0);

    let sharded = local_manifest(&env, "sharded.csv", 16, "sharded");
    let state = env.state_home();
    let tasks = slurm.run_array(
        &crate_dir().join("deploy/slurm/mailtug-bulk.sbatch"),
        &[&path_arg(&sharded), "--accounts", "2"],
        4,
        env.root(),
        &[
            ("MAILTUG", env!("CARGO_BIN_EXE_mailtug")),
            ("MAILTUG_STATE", &path_arg(&state)),
            ("HOME", &path_arg(&env.path("home"))),
        ],
    );
    // Each task found its shard in Slurm's variables, wrote its report
    // under its own name and went well.
    let shards: Vec<String> = (0..4)
        .map(|i| format!("mailtug-report/shard-{i}-of-4"))
        .collect();
    for (task, dir) in tasks.iter().zip(&shards) {
        let summary = summary(&env.path(dir));
        assert_eq!(
            summary["exit_code"],
            0,
            "task {}: {summary}\n{}\n{}",
            task.index,
            task.output,
            slurm.logs()
        );
    }
    assert_each_row_in_one_shard(&env, &shards, 16);
    // The checkpoints are where the script put them: one per pair.
    assert!(fs::read_dir(state.join("mailtug")).unwrap().count() >= 16);

    let mut merge = vec!["report", "merge", "--into", "merged"];
    merge.extend(shards.iter().map(String::as_str));
    assert_exit(&env.run(&merge), 0);
    assert_eq!(outcomes(&env, "merged"), outcomes(&env, "all"));
    assert_eq!(
        totals(&summary(&env.path("merged"))),
        totals(&summary(&env.path("all")))
    );
}
