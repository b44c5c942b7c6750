//! A real single-node Slurm for the shard tests: munged, slurmctld and
//! slurmd started from a private directory, on free ports of 127.0.0.1,
//! with a private munge key and socket, so nothing of the machine's own
//! Slurm or munge (if any) is used or disturbed.
//!
//! The daemons run in the foreground (`-F`, `-D`), forked through
//! `spawn_kept`: they get SIGTERM when the test process ends, in whatever
//! way. One instance serves the whole test binary ([`Slurm::shared`]); its
//! directory `$TMPDIR/mailtug-slurm-<pid>-0` is removed by a later run.
//!
//! Slurm runs jobs as the user who submits them, and slurmd must be root
//! to do that for any user; the tests run as root (scripts/test installs
//! the packages then).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::system::{find_program, free_ports, has_exited, remove_stale_dirs, spawn_kept, tail};

const NOT_INSTALLED: &str = "Slurm is not installed: run `apt-get install --no-install-recommends \
                             slurmctld slurmd slurm-client munge` (scripts/test does this when \
                             run as root)";

/// How long the daemons may take to come up, and a job array to finish.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running single-node Slurm. See the module docs.
pub struct Slurm {
    dir: PathBuf,
    conf: PathBuf,
    /// munged, slurmctld, slurmd: kept so that they are not reaped early.
    _daemons: Mutex<Vec<Child>>,
}

/// One task's outcome in a finished job array.
#[derive(Debug)]
pub struct Task {
    pub index: u32,
    /// What it printed (its `--output` file).
    pub output: String,
}

impl Slurm {
    /// The instance shared by every test of the test binary, started on
    /// first use. Panics in every test that asks if it cannot start.
    pub fn shared() -> &'static Slurm {
        static SHARED: OnceLock<Result<Slurm, String>> = OnceLock::new();
        match SHARED.get_or_init(Slurm::try_start) {
            Ok(slurm) => slurm,
            Err(message) => panic!("{message}"),
        }
    }

    fn try_start() -> Result<Slurm, String> {
        let programs: Vec<PathBuf> = [
            "munged",
            "mungekey",
            "slurmctld",
            "slurmd",
            "sbatch",
            "squeue",
            "sinfo",
        ]
        .iter()
        .map(|name| {
            find_program(name).ok_or_else(|| format!("{NOT_INSTALLED} ({name} is missing)"))
        })
        .collect::<Result<_, _>>()?;
        let [munged, mungekey, slurmctld, slurmd, ..] = &programs[..] else {
            unreachable!()
        };
        if !super::system::is_root() {
            return Err(
                "the Slurm tests run slurmd, which must run as root: run the tests as \
                        root (scripts/test)"
                    .into(),
            );
        }
        remove_stale_dirs("mailtug-slurm-");
        let dir = std::env::temp_dir().join(format!("mailtug-slurm-{}-0", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        // munged checks its directories: the key's private, the socket's
        // searchable by all.
        for (sub, mode) in [
            ("munge-key", 0o700),
            ("munge-socket", 0o755),
            ("state", 0o755),
            ("spool", 0o755),
            ("log", 0o755),
        ] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                .map_err(|e| e.to_string())?;
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        let key = dir.join("munge-key/munge.key");
        let made = Command::new(mungekey)
            .args(["--create", "--keyfile"])
            .arg(&key)
            .output()
            .map_err(|e| format!("running mungekey: {e}"))?;
        if !made.status.success() {
            return Err(format!(
                "mungekey failed: {}",
                String::from_utf8_lossy(&made.stderr)
            ));
        }
        let socket = dir.join("munge-socket/munge.socket");
        let mut munge = Command::new(munged);
        munge
            .arg("--foreground")
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--key-file={}", key.display()))
            .arg(format!(
                "--log-file={}",
                dir.join("log/munged.log").display()
            ))
            .arg(format!(
                "--pid-file={}",
                dir.join("munge-key/munged.pid").display()
            ))
            .arg(format!(
                "--seed-file={}",
                dir.join("munge-key/munged.seed").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut daemons =
            vec![spawn_kept(munge, libc::SIGTERM).map_err(|e| format!("starting munged: {e}"))?];
        wait_for(|| socket.exists(), "munged to open its socket", &dir)?;

        let ports = free_ports(2).map_err(|e| e.to_string())?;
        let host = short_hostname()?;
        let conf = dir.join("slurm.conf");
        let d = dir.display();
        fs::write(
            &conf,
            format!(
                "ClusterName=mailtugtest\n\
                 SlurmctldHost={host}(127.0.0.1)\n\
                 SlurmUser=root\n\
                 SlurmctldPort={ctld}\n\
                 SlurmdPort={slurmd}\n\
                 AuthType=auth/munge\n\
                 AuthInfo=socket={socket}\n\
                 CredType=cred/munge\n\
                 StateSaveLocation={d}/state\n\
                 SlurmdSpoolDir={d}/spool\n\
                 SlurmctldPidFile={d}/slurmctld.pid\n\
                 SlurmdPidFile={d}/slurmd.pid\n\
                 SlurmctldLogFile={d}/log/slurmctld.log\n\
                 SlurmdLogFile={d}/log/slurmd.log\n\
                 ProctrackType=proctrack/linuxproc\n\
                 TaskPlugin=task/none\n\
                 MpiDefault=none\n\
                 JobCompType=jobcomp/none\n\
                 AccountingStorageType=accounting_storage/none\n\
                 SchedulerType=sched/backfill\n\
                 SelectType=select/cons_tres\n\
                 SelectTypeParameters=CR_CPU\n\
                 ReturnToService=2\n\
                 NodeName={host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=4096 State=UNKNOWN\n\
                 PartitionName=main Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
                ctld = ports[0],
                slurmd = ports[1],
                socket = socket.display(),
            ),
        )
        .map_err(|e| e.to_string())?;
        for (program, log) in [(slurmctld, "slurmctld.out"), (slurmd, "slurmd.out")] {
            let out = fs::File::create(dir.join("log").join(log)).map_err(|e| e.to_string())?;
            let mut daemon = Command::new(program);
            daemon
                .arg("-D")
                .arg("-f")
                .arg(&conf)
                .env("SLURM_CONF", &conf)
                .stdin(Stdio::null())
                .stdout(out.try_clone().map_err(|e| e.to_string())?)
                .stderr(out);
            daemons.push(
                spawn_kept(daemon, libc::SIGTERM)
                    .map_err(|e| format!("starting {}: {e}", program.display()))?,
            );
        }
        let slurm = Slurm {
            dir,
            conf,
            _daemons: Mutex::new(daemons),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let states = slurm.command("sinfo").args(["-h", "-o", "%t"]).output();
            if let Ok(states) = &states {
                if String::from_utf8_lossy(&states.stdout).trim() == "idle" {
                    return Ok(slurm);
                }
            }
            let exited = slurm._daemons.lock().unwrap().iter().any(has_exited);
            if exited || Instant::now() > deadline {
                return Err(format!(
                    "the test Slurm did not come up{}:\n{}",
                    if exited { " (a daemon exited)" } else { "" },
                    slurm.logs()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A Slurm client command (`sbatch`, `squeue`, …) pointed at this
    /// instance.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(find_program(program).unwrap_or_else(|| program.into()));
        command.env("SLURM_CONF", &self.conf);
        command
    }

    /// Submits `script` as a job array of `tasks` tasks (`--array=0-N`),
    /// from `dir` with `env` added to the job's environment, waits for it
    /// to finish and returns each task's output file.
    pub fn run_array(
        &self,
        script: &Path,
        args: &[&str],
        tasks: u32,
        dir: &Path,
        env: &[(&str, &str)],
    ) -> Vec<Task> {
        let mut submit = self.command("sbatch");
        submit
            .current_dir(dir)
            .arg("--parsable")
            .arg(format!("--array=0-{}", tasks - 1))
            .arg(format!("--output={}/slurm-task-%a.out", dir.display()))
            .arg(script)
            .args(args);
        for (name, value) in env {
            submit.env(name, value);
        }
        let submitted = submit.output().expect("running sbatch");
        assert!(
            submitted.status.success(),
            "sbatch failed: {}\n{}",
            String::from_utf8_lossy(&submitted.stderr),
            self.logs()
        );
        let job = String::from_utf8_lossy(&submitted.stdout)
            .trim()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        // `sbatch --wait` polls every few seconds; squeue every 200 ms
        // is quicker.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let queued = self
                .command("squeue")
                .args(["-h", "-j", &job, "-o", "%i"])
                .output()
                .expect("running squeue");
            if queued.status.success() && queued.stdout.iter().all(u8::is_ascii_whitespace) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "job {job} did not finish in {} s:\n{}",
                START_TIMEOUT.as_secs(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        (0..tasks)
            .map(|index| Task {
                index,
                output: fs::read_to_string(dir.join(format!("slurm-task-{index}.out")))
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The daemons' last log lines, for failure messages.
    pub fn logs(&self) -> String {
        [
            "slurmctld.log",
            "slurmd.log",
            "slurmctld.out",
            "slurmd.out",
            "munged.log",
        ]
        .iter()
        .map(|log| {
            format!(
                "--- {log} ---\n{}",
                tail(&self.dir.join("log").join(log), 15)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
    }

    /// A client command's output, for tests that ask Slurm something.
    pub fn query(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).output().expect(program)
    }
}

/// The host name slurmd finds for itself, which the node must be named.
fn short_hostname() -> Result<String, String> {
    let output = Command::new("hostname")
        .arg("-s")
        .output()
        .map_err(|e| format!("running hostname: {e}"))?;
    let name = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if name.is_empty() {
        return Err("`hostname -s` printed nothing".into());
    }
    Ok(name)
}

fn wait_for(ready: impl Fn() -> bool, what: &str, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    while !ready() {
        if Instant::now() > deadline {
            return Err(format!(
                "timed out waiting for {what}:\n{}",
                tail(&dir.join("log/munged.log"), 20)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
