//! Where the work of a run goes: the executor seam.
//!
//! - [`Executor::Local`]: this process runs the experiment (the runner, [`local`]), as
//!   `depthscale run` always did.
//! - [`Executor::Slurm`]: a shardable experiment runs as a Slurm job array, one shard per task
//!   ([`slurm`]): the job script is written into the run's work directory `OUT.slurm/`
//!   (readable, rerunnable by hand), submitted with `sbatch`, watched through the shards' own
//!   files and `squeue`, failed or timed-out shards are resubmitted a bounded number of times,
//!   and the shards are merged into `OUT` ([`crate::experiment::merge_checked`]).
//!
//! The design follows submitit's: the submission writes everything a job needs into a folder
//! (script, logs, state), the job itself is an ordinary command that resumes from its files,
//! and the state a waiting or re-attaching process needs is read back from that folder and the
//! scheduler, never kept only in memory. Unlike submitit, the result of a task is not a pickle
//! but the shard's output directory, which the runner already makes resumable and mergeable.
//! submitit requeues a job from inside it, on the signal Slurm sends before the time limit
//! (and on preemption); here the waiting (or re-attaching) process resubmits a task that timed
//! out, was cancelled or failed, and the task resumes from its `cells.csv`: a kill costs at
//! most the cells in progress, so no signal handling is needed in the job.

pub mod local;
pub mod slurm;

pub use slurm::{Finished, ShardedJob, SlurmOptions};

/// Where a run's work goes.
#[derive(Clone, Debug, Default)]
pub enum Executor {
    /// In this process.
    #[default]
    Local,
    /// As Slurm jobs.
    Slurm(SlurmOptions),
}

/// Quotes `s` for a POSIX shell: as it is when it is made of safe characters only, else in
/// single quotes (a single quote written `'\''`).
pub fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_the_shell() {
        for s in ["fig9", "beta=[0.5, 1]", "it's", "a\"b$c`d\\e", "", "--set"] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quote(s)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
        }
        assert_eq!(shell_quote("fig9"), "fig9");
        assert_eq!(shell_quote("a b"), "'a b'");
    }
}
