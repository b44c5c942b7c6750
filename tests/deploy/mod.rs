//! What `deploy/` ships, checked against the binary it deploys: the
//! Kubernetes Indexed Job (its failure policy against mailtug's exit
//! codes, and its command run for real as one index would run it), the
//! container build file and the systemd units. The Slurm and GNU parallel
//! recipes run on their engines in `tests/bulk/engines.rs`.

use std::fs;
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use mailtug::exit::ExitCode;

use crate::util::{assert_exit, crate_dir, stderr, TestEnv};

fn deploy_file(relative: &str) -> String {
    fs::read_to_string(crate_dir().join("deploy").join(relative))
        .unwrap_or_else(|e| panic!("deploy/{relative}: {e}"))
}

/// `node[key]`, which must be there.
fn at<'a>(node: &'a Yaml, key: &str) -> &'a Yaml {
    let value = &node[key];
    assert!(!value.is_badvalue(), "no `{key}` in {node:?}");
    value
}

fn text(node: &Yaml) -> &str {
    node.as_str()
        .unwrap_or_else(|| panic!("not a string: {node:?}"))
}

fn list(node: &Yaml) -> &[Yaml] {
    node.as_vec()
        .unwrap_or_else(|| panic!("not a list: {node:?}"))
}

/// The value of the environment variable `name` in a container spec.
fn env_value<'a>(container: &'a Yaml, name: &str) -> Option<&'a str> {
    list(at(container, "env"))
        .iter()
        .find(|var| text(at(var, "name")) == name)
        .map(|var| text(at(var, "value")))
}

#[test]
fn the_kubernetes_indexed_job_fails_an_index_on_a_refused_login_and_runs_as_a_shard() {
    let documents = YamlLoader::load_from_str(&deploy_file("kubernetes/mailtug-bulk-job.yaml"))
        .expect("the Kubernetes manifest is YAML");
    let job = documents
        .iter()
        .find(|doc| doc["kind"].as_str() == Some("Job"))
        .expect("a Job");
    assert_eq!(text(at(job, "apiVersion")), "batch/v1");
    let spec = at(job, "spec");
    assert_eq!(text(at(spec, "completionMode")), "Indexed");
    let completions = at(spec, "completions").as_i64().expect("completions");
    assert!(at(spec, "backoffLimitPerIndex").as_i64().unwrap() >= 1);

    let pod = at(at(spec, "template"), "spec");
    // podFailurePolicy needs pods that are not restarted in place.
    assert_eq!(text(at(pod, "restartPolicy")), "Never");
    let containers = list(at(pod, "containers"));
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    let name = text(at(container, "name"));

    // The failure policy, by mailtug's documented exit codes.
    let rules = list(at(at(spec, "podFailurePolicy"), "rules"));
    let action_for = |code: ExitCode| -> Option<&str> {
        rules.iter().find_map(|rule| {
            let on = &rule["onExitCodes"];
            if on.is_badvalue() {
                return None;
            }
            assert_eq!(text(at(on, "containerName")), name, "{rule:?}");
            assert_eq!(text(at(on, "operator")), "In", "{rule:?}");
            list(at(on, "values"))
                .iter()
                .any(|v| v.as_i64() == Some(i64::from(code.code())))
                .then(|| text(at(rule, "action")))
        })
    };
    assert_eq!(action_for(ExitCode::LoginRefused), Some("FailIndex"));
    assert_eq!(action_for(ExitCode::Usage), Some("FailJob"));
    // Accounts that failed for other reasons are retried, up to the
    // per-index limit.
    assert_eq!(action_for(ExitCode::Partial), None);
    let ignores_disruption = rules.iter().any(|rule| {
        text(at(rule, "action")) == "Ignore"
            && rule["onPodConditions"].as_vec().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"].as_str() == Some("DisruptionTarget"))
            })
    });
    assert!(ignores_disruption, "an evicted pod does not count");

    // The shard count mailtug is told is the Job's.
    assert_eq!(
        env_value(container, "MAILTUG_SHARDS"),
        Some(completions.to_string().as_str())
    );

    // Every mount has a volume, and the manifest and data are on them.
    let volumes = list(at(pod, "volumes"));
    let mounts: Vec<(&str, &str)> = list(at(container, "volumeMounts"))
        .iter()
        .map(|m| (text(at(m, "name")), text(at(m, "mountPath"))))
        .collect();
    for (volume, _) in &mounts {
        assert!(
            volumes.iter().any(|v| v["name"].as_str() == Some(volume)),
            "volume `{volume}` is mounted but not defined"
        );
    }
    let mounted = |path: &str| mounts.iter().any(|(_, at)| Path::new(path).starts_with(at));
    let args: Vec<String> = list(at(container, "args"))
        .iter()
        .map(|a| text(a).to_string())
        .collect();
    assert_eq!(args[0], "bulk");
    let manifest = &args[1];
    assert!(mounted(manifest), "{manifest} is on a volume");
    let work = text(at(container, "workingDir"));
    assert!(mounted(work), "the reports go to {work}, on a volume");
    let state = env_value(container, "XDG_STATE_HOME").expect("XDG_STATE_HOME");
    assert!(mounted(state), "the checkpoints go to {state}, on a volume");
    let claim = volumes
        .iter()
        .find(|v| !v["persistentVolumeClaim"].is_badvalue())
        .expect("a persistent volume");
    let claim_mount = mounts
        .iter()
        .find(|(volume, _)| Some(*volume) == claim["name"].as_str())
        .expect("the persistent volume is mounted")
        .1;
    assert!(Path::new(work).starts_with(claim_mount));
    assert!(Path::new(state).starts_with(claim_mount));

    // The container's command, run as index 3 would run it, on a local
    // manifest and a local working directory.
    let env = TestEnv::new();
    let rows = crate::bulk::local_manifest(&env, "accounts.csv", 12, "out");
    let mut command = env.command(args.iter().map(|arg| {
        if arg == manifest {
            rows.to_str().unwrap()
        } else {
            arg
        }
    }));
    command.env("JOB_COMPLETION_INDEX", "3");
    for var in list(at(container, "env")) {
        let name = text(at(var, "name"));
        if name == "MAILTUG_SHARDS" {
            command.env(name, text(at(var, "value")));
        }
    }
    let output = command.output().unwrap();
    assert_exit(&output, 0);
    let shard = format!("mailtug-report/shard-3-of-{completions}");
    let report = fs::read_to_string(env.path(&shard).join("report.jsonl"))
        .unwrap_or_else(|e| panic!("{shard}: {e}\n{}", stderr(&output)));
    // Index 3 ran its rows and only its rows.
    let expected: Vec<String> = (0..12)
        .map(|i| format!("pair{i}"))
        .filter(|id| {
            mailtug::shard::Shard {
                index: 3,
                count: completions as u64,
            }
            .takes(id)
        })
        .collect();
    assert!(!expected.is_empty(), "index 3 has rows of the 12");
    let ran: Vec<String> = report
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["id"].to_string())
        .map(|id| id.trim_matches('"').to_string())
        .collect();
    assert_eq!(ran, expected);
}

#[test]
fn the_container_file_builds_from_files_that_exist_and_runs_unprivileged() {
    let containerfile = deploy_file("container/Containerfile");
    let stages =
        containerfile.matches("\nFROM ").count() + usize::from(containerfile.starts_with("FROM "));
    assert_eq!(stages, 2, "a build stage and a slim one");
    for line in containerfile.lines() {
        let Some(rest) = line.strip_prefix("COPY ") else {
            continue;
        };
        if rest.starts_with("--from=") {
            continue;
        }
        let words: Vec<&str> = rest.split_whitespace().collect();
        for source in &words[..words.len() - 1] {
            assert!(
                crate_dir().join(source).exists(),
                "COPY {source}: not in the source tree"
            );
        }
    }
    let last_stage = containerfile.rsplit("\nFROM ").next().unwrap();
    let user = last_stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the image names its user");
    assert!(
        !user.starts_with("0") && !user.starts_with("root"),
        "{user}"
    );
    assert!(
        last_stage.contains("ENTRYPOINT [\"/usr/local/bin/mailtug\"]"),
        "the image runs mailtug"
    );
    assert!(
        last_stage.contains("--release --locked") || containerfile.contains("--release --locked"),
        "a locked release build"
    );
}

/// `[Section]` → key → values, as systemd reads a unit (comments and
/// blank lines dropped; a key may repeat).
fn unit(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut entries = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line.split_once('=').expect(line);
        entries.push((
            section.clone(),
            key.trim().to_string(),
            value.trim().to_string(),
        ));
    }
    entries
}

fn unit_value<'a>(entries: &'a [(String, String, String)], section: &str, key: &str) -> &'a str {
    entries
        .iter()
        .find(|(s, k, _)| s == section && k == key)
        .map(|(_, _, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key}= in [{section}]"))
}

#[test]
fn the_systemd_units_run_a_config_job_on_a_timer() {
    let service = unit(&deploy_file("systemd/mailtug-run@.service"));
    let timer = unit(&deploy_file("systemd/mailtug-run@.timer"));
    assert_eq!(unit_value(&service, "Service", "Type"), "oneshot");
    assert!(unit_value(&timer, "Timer", "OnCalendar").contains('/'));
    assert_eq!(unit_value(&timer, "Timer", "Persistent"), "true");
    assert_eq!(unit_value(&timer, "Install", "WantedBy"), "timers.target");
    // A run still holding its job's lock is not a failure of the next one.
    let success: Vec<i32> = unit_value(&service, "Service", "SuccessExitStatus")
        .split_whitespace()
        .map(|code| code.parse().unwrap())
        .collect();
    assert_eq!(success, [ExitCode::Locked.code()]);

    // ExecStart, with the instance name as a job of a config file, runs.
    let exec = unit_value(&service, "Service", "ExecStart");
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert!(words[0].ends_with("/mailtug"), "{exec}");
    assert_eq!(&words[1..], ["run", "%i"]);
    let env = TestEnv::new();
    let config = env.path("home/.config/mailtug/config.toml");
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(
        &config,
        format!(
            "[jobs.fetch]\nsrc = \"mbox:{}\"\ndst = \"maildir:{}\"\n",
            crate::util::fixtures_dir().join("single.mbox").display(),
            env.path("Mail").display()
        ),
    )
    .unwrap();
    let output = env.run(&[words[1], &words[2].replace("%i", "fetch")]);
    assert_exit(&output, 0);
    assert!(env.path("Mail/cur").exists() || env.path("Mail/new").exists());
    // Quiet when it went well: a timer's journal holds only trouble.
    assert_eq!(stderr(&output), "");
}
