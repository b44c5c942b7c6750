//! Which rows of a manifest a shard takes, for bulk runs spread over the
//! tasks of an engine that already exists (a Slurm job array, a
//! Kubernetes Indexed Job, an AWS Batch array job, GNU parallel).
//!
//! A row belongs to shard `SHA-256(row id) mod N` (the first eight bytes,
//! big-endian): the same row always lands in the same shard, whatever the
//! order of the manifest or the machine, so a shard rerun after a failure
//! takes exactly the rows it had.

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::exit::usage;

/// This task's shard: its index (from 0) and the number of shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Whether the row named `id` is this shard's.
    pub fn takes(&self, id: &str) -> bool {
        of(id, self.count) == self.index
    }

    /// The shard from `--shard I/N`, else from the engine's environment:
    /// `SLURM_ARRAY_TASK_ID` (less `SLURM_ARRAY_TASK_MIN`, as arrays may
    /// start above 0) with `SLURM_ARRAY_TASK_COUNT`; `JOB_COMPLETION_INDEX`
    /// (Kubernetes) or `AWS_BATCH_JOB_ARRAY_INDEX` with the count from
    /// `--shards N` or `MAILTUG_SHARDS`. `None`: not sharded.
    pub fn from_options(
        given: Option<&str>,
        shards: Option<u64>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Shard>> {
        if let Some(text) = given {
            let (index, count) = text
                .split_once('/')
                .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)))
                .ok_or_else(|| usage(format!("--shard `{text}` is not I/N (e.g. 0/4)")))?;
            return Shard::checked(index, count, "--shard");
        }
        let number = |name: &str| -> Result<Option<u64>> {
            match env(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(value) => value
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| usage(format!("{name} is `{value}`, not a whole number"))),
            }
        };
        let count_given = match shards {
            Some(n) => Some(n),
            None => number("MAILTUG_SHARDS")?,
        };
        if let Some(task) = number("SLURM_ARRAY_TASK_ID")? {
            let first = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let count = match number("SLURM_ARRAY_TASK_COUNT")? {
                Some(count) => count,
                None => count_given.ok_or_else(|| {
                    usage("SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT; give --shards N")
                })?,
            };
            let index = task.checked_sub(first).ok_or_else(|| {
                usage(format!(
                    "SLURM_ARRAY_TASK_ID {task} is below SLURM_ARRAY_TASK_MIN {first}"
                ))
            })?;
            return Shard::checked(index, count, "SLURM_ARRAY_TASK_ID");
        }
        for name in ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] {
            if let Some(index) = number(name)? {
                let count = count_given.ok_or_else(|| {
                    usage(format!(
                        "{name} is set, but not how many shards there are: give --shards N or \
                         MAILTUG_SHARDS"
                    ))
                })?;
                return Shard::checked(index, count, name);
            }
        }
        match count_given {
            Some(count) if shards.is_some() => Err(usage(format!(
                "--shards {count} without a shard index: give --shard I/{count}, or run \
                 under an engine that sets one"
            ))),
            _ => Ok(None),
        }
    }

    fn checked(index: u64, count: u64, from: &str) -> Result<Option<Shard>> {
        if count == 0 || index >= count {
            return Err(usage(format!(
                "{from}: shard {index} of {count} does not exist (shards are 0 to N-1)"
            )));
        }
        Ok(Some(Shard { index, count }))
    }

    /// A per-host cap for this shard: the whole cap split evenly (at least
    /// one connection each).
    pub fn share_of(&self, cap: usize) -> usize {
        (cap / self.count as usize).max(1)
    }
}

/// The shard of `id` among `count`.
pub fn of(id: &str, count: u64) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % count.max(1)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn shard(
        given: Option<&str>,
        shards: Option<u64>,
        vars: &[(&str, &str)],
    ) -> Result<Option<Shard>> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Shard::from_options(given, shards, |name| vars.get(name).cloned())
    }

    #[test]
    fn every_engines_variables_give_the_same_contract() {
        let two_of_four = Some(Shard { index: 2, count: 4 });
        assert_eq!(shard(Some("2/4"), None, &[]).unwrap(), two_of_four);
        assert_eq!(
            shard(
                None,
                None,
                &[
                    ("SLURM_ARRAY_TASK_ID", "2"),
                    ("SLURM_ARRAY_TASK_COUNT", "4")
                ]
            )
            .unwrap(),
            two_of_four
        );
        // An array numbered 1-4.
        assert_eq!(
            shard(
                None,
                None,
                &[
                    ("SLURM_ARRAY_TASK_ID", "3"),
                    ("SLURM_ARRAY_TASK_MIN", "1"),
                    ("SLURM_ARRAY_TASK_COUNT", "4")
                ]
            )
            .unwrap(),
            two_of_four
        );
        assert_eq!(
            shard(None, Some(4), &[("JOB_COMPLETION_INDEX", "2")]).unwrap(),
            two_of_four
        );
        assert_eq!(
            shard(
                None,
                None,
                &[("JOB_COMPLETION_INDEX", "2"), ("MAILTUG_SHARDS", "4")]
            )
            .unwrap(),
            two_of_four
        );
        assert_eq!(
            shard(
                None,
                None,
                &[("AWS_BATCH_JOB_ARRAY_INDEX", "2"), ("MAILTUG_SHARDS", "4")]
            )
            .unwrap(),
            two_of_four
        );
        // --shard wins over the environment.
        assert_eq!(
            shard(
                Some("2/4"),
                None,
                &[
                    ("SLURM_ARRAY_TASK_ID", "0"),
                    ("SLURM_ARRAY_TASK_COUNT", "8")
                ]
            )
            .unwrap(),
            two_of_four
        );
        assert_eq!(shard(None, None, &[]).unwrap(), None);
    }

    #[test]
    fn impossible_shards_are_usage_errors() {
        for (given, shards, vars) in [
            (Some("4/4"), None, vec![]),
            (Some("x"), None, vec![]),
            (Some("0/0"), None, vec![]),
            (None, None, vec![("JOB_COMPLETION_INDEX", "1")]),
            (None, Some(4), vec![]),
            (
                None,
                None,
                vec![
                    ("SLURM_ARRAY_TASK_ID", "one"),
                    ("SLURM_ARRAY_TASK_COUNT", "4"),
                ],
            ),
        ] {
            let err = shard(given, shards, &vars).unwrap_err();
            assert_eq!(
                crate::exit::classify(&err),
                crate::exit::ExitCode::Usage,
                "{err:#}"
            );
        }
    }

    #[test]
    fn rows_spread_over_the_shards_and_always_land_in_the_same_one() {
        let ids: Vec<String> = (0..1000).map(|i| format!("user{i}@example.org")).collect();
        let mut counts = [0u32; 4];
        for id in &ids {
            counts[of(id, 4) as usize] += 1;
            assert_eq!(of(id, 4), of(&id.clone(), 4));
        }
        assert!(
            counts.iter().all(|&c| (200..300).contains(&c)),
            "{counts:?}"
        );
        // The documented function, pinned: a change would move rows.
        assert_eq!(
            of("alice", 4),
            u64::from_be_bytes(Sha256::digest(b"alice")[..8].try_into().unwrap()) % 4
        );
    }
}
