//! The Slurm executor: a run as a job array whose tasks are ordinary `depthscale` commands.
//!
//! Everything lives in a work directory (`OUT.slurm/` next to the result `OUT`), created with
//! depthscale's marker and locked while a process drives it:
//! - `config.toml`: what the work directory is for (the run's resolved config and the task
//!   count); a rerun with another config is refused like a resumable run's;
//! - `job.sbatch`: the job script, readable and rerunnable by hand (`sbatch job.sbatch`, or
//!   `sbatch --array=3 job.sbatch` for one task: the shard count is written into the script,
//!   never read from `$SLURM_ARRAY_TASK_COUNT`);
//! - `logs/task-<i>.log`: each task's output, appended to across requeues and resubmissions
//!   (`--open-mode=append`);
//! - `state.json`: the job ids submitted and how often each task was submitted;
//! - the tasks' own output directories (`shards/shard-<i>/`, or `runs/<preset>/`).
//!
//! A task is done when its output directory holds `summary.json`; it is alive while `squeue`
//! lists it (pending, running, requeued, completing). A task neither done nor alive failed
//! (cancelled, timed out, node failure, an error): it is resubmitted alone
//! (`sbatch --array=<i>`), at most [`SlurmOptions::max_resubmits`] times. `--requeue` in the
//! script lets Slurm itself requeue preempted tasks; every task resumes from its files.

use super::shell_quote;
use crate::experiment::output::{self, Output, Protected};
use crate::progress::Progress;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How to submit and watch the jobs.
#[derive(Clone, Debug)]
pub struct SlurmOptions {
    /// Tasks of a shardable run's array (its shard count `N`).
    pub shards: usize,
    /// `#SBATCH --partition`.
    pub partition: Option<String>,
    /// `#SBATCH --time` (e.g. `01:00:00`).
    pub time: Option<String>,
    /// `#SBATCH --cpus-per-task`; each task runs with as many threads.
    pub cpus_per_task: Option<usize>,
    /// At most this many tasks of the array at once (`--array=0-N%K`).
    pub array_parallelism: Option<usize>,
    /// More `#SBATCH` lines, each an `sbatch` option (e.g. `--account=abc`).
    pub sbatch_args: Vec<String>,
    /// How often a failed task is submitted again before the run fails.
    pub max_resubmits: u32,
    /// Wait for the jobs and finish the run; `false`: submit and return.
    pub wait: bool,
    /// Between two looks at the tasks.
    pub poll: Duration,
    /// The experiments of a reproduction that cannot be sharded run in this process instead of
    /// as one more job array.
    pub local_rest: bool,
    /// The `depthscale` executable the jobs run.
    pub program: PathBuf,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        Self {
            shards: 4,
            partition: None,
            time: None,
            cpus_per_task: None,
            array_parallelism: None,
            sbatch_args: Vec::new(),
            max_resubmits: 2,
            wait: true,
            poll: Duration::from_secs(10),
            local_rest: false,
            program: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("depthscale")),
        }
    }
}

/// One task of a job array: the `depthscale` arguments it runs (after the program and
/// `--threads`), its output directory and its size in progress units.
#[derive(Clone, Debug)]
pub struct Task {
    /// Arguments of `depthscale`, e.g. `["run", "fig9", "--quick"]`, `--out` included.
    pub args: Vec<String>,
    /// Its output directory: the task is done when it holds `summary.json`.
    pub out: PathBuf,
    /// Progress units: the cells of a shard (counted from its `cells.csv`), else 1.
    pub cells: Option<usize>,
}

/// A job array to drive in a work directory.
#[derive(Clone, Debug)]
pub struct ArrayJob {
    /// The job name (`#SBATCH --job-name`).
    pub name: String,
    /// The work directory (normalized).
    pub work: PathBuf,
    /// What the work directory is for (written as its `config.toml`).
    pub identity: String,
    /// The tasks, by array index.
    pub tasks: Vec<Task>,
    /// For a shardable run: the run's arguments without `--shard`/`--out` and the shard count;
    /// the script then runs `--shard "$SLURM_ARRAY_TASK_ID/N"` (one line for any `N`).
    pub sharded: Option<(Vec<String>, usize)>,
}

/// A shardable run to execute as a job array, merged into `out` at the end.
#[derive(Clone, Debug)]
pub struct ShardedJob {
    /// The job name (the preset).
    pub name: String,
    /// The run's `depthscale` arguments without `--shard` and `--out`, e.g.
    /// `["run", "fig9", "--quick"]`.
    pub args: Vec<String>,
    /// The resolved `config.toml` of the run.
    pub config: String,
    /// The cells of the whole grid.
    pub cells: usize,
    /// Where the merged result goes (normalized); the work directory is `OUT.slurm`.
    pub out: PathBuf,
}

/// Where a driven job stands when the driver returns.
#[derive(Debug)]
pub enum Finished<T> {
    /// Every task is done; the result.
    Done(T),
    /// Submitted or still running (`wait` was off): what to tell the user.
    Waiting(String),
}

/// The work directory of the result `out`: `OUT.slurm`.
pub fn work_dir(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".slurm");
    PathBuf::from(s)
}

/// The state kept in `state.json`.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct State {
    /// Every job id submitted, oldest first.
    jobs: Vec<String>,
    /// How often each task was submitted.
    submitted: Vec<u32>,
}

impl ArrayJob {
    /// The job script.
    pub fn script(&self, opts: &SlurmOptions) -> String {
        let q = |p: &Path| shell_quote(&p.display().to_string());
        let n = self.tasks.len();
        let mut s = String::from("#!/bin/bash\n");
        s += &format!(
            "# Written by depthscale: {n} task(s) of `{}`. Submit again by hand with\n#   sbatch {}\n# or one task (index I, 0 <= I < {n}) with `sbatch --array=I {}`.\n",
            self.name,
            q(&self.work.join("job.sbatch")),
            q(&self.work.join("job.sbatch")),
        );
        let mut sb = vec![
            format!(
                "--job-name={}",
                shell_quote(&format!("depthscale-{}", self.name))
            ),
            format!(
                "--array=0-{}{}",
                n.saturating_sub(1),
                opts.array_parallelism
                    .map_or(String::new(), |k| format!("%{k}"))
            ),
            format!("--output={}", q(&self.work.join("logs/task-%a.log"))),
            "--open-mode=append".into(),
            "--requeue".into(),
        ];
        if let Ok(cwd) = std::env::current_dir() {
            sb.push(format!("--chdir={}", q(&cwd)));
        }
        if let Some(c) = opts.cpus_per_task {
            sb.push(format!("--cpus-per-task={c}"));
        }
        if let Some(t) = &opts.time {
            sb.push(format!("--time={}", shell_quote(t)));
        }
        if let Some(p) = &opts.partition {
            sb.push(format!("--partition={}", shell_quote(p)));
        }
        sb.extend(opts.sbatch_args.iter().cloned());
        for a in sb {
            s += &format!("#SBATCH {a}\n");
        }
        s += "set -euo pipefail\n";
        s += "echo \"depthscale task $SLURM_ARRAY_TASK_ID on $(hostname), job ${SLURM_JOB_ID:-?}, restart ${SLURM_RESTART_COUNT:-0}, $(date -u +%FT%TZ)\"\n";
        let program = format!(
            "{} --threads \"${{SLURM_CPUS_PER_TASK:-1}}\"",
            q(&opts.program)
        );
        let line = |args: &[String]| {
            args.iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        };
        match &self.sharded {
            Some((args, n)) => {
                s += &format!(
                    "exec {program} {} \\\n    --shard \"$SLURM_ARRAY_TASK_ID/{n}\" \\\n    --out {}\"/shard-$SLURM_ARRAY_TASK_ID\"\n",
                    line(args),
                    q(&self.work.join("shards"))
                );
            }
            None => {
                s += "case \"$SLURM_ARRAY_TASK_ID\" in\n";
                for (i, t) in self.tasks.iter().enumerate() {
                    s += &format!(
                        "  {i}) [ -f {} ] || exec {program} {} ;;\n",
                        q(&t.out.join("summary.json")),
                        line(&t.args)
                    );
                }
                s += "  *) echo \"no task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n";
            }
        }
        s
    }

    /// Claims the work directory (`force`: emptied first), submits what is not done or alive,
    /// and (with `opts.wait`) watches the tasks until all are done, resubmitting failed ones.
    pub fn drive(
        &self,
        opts: &SlurmOptions,
        force: bool,
        progress: &dyn Progress,
    ) -> Result<Finished<()>> {
        if force {
            cancel_recorded(&self.work);
        }
        let (out, resuming) =
            Output::in_place(&self.work, force, &self.identity, &Protected::standard())?;
        let work = out.dir().to_owned();
        if !resuming {
            output::write_atomic(&work.join("config.toml"), &self.identity)?;
        }
        let logs = work.join("logs");
        std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
        let script = work.join("job.sbatch");
        output::write_atomic(&script, self.script(opts))?;
        let state_path = work.join("state.json");
        let mut state: State = match output::read_capped(&state_path, 16 << 20, "state.json") {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::data(&state_path, format!("unreadable: {e}")))?,
            Err(_) => State::default(),
        };
        state.submitted.resize(self.tasks.len(), 0);
        let total: u64 = self.tasks.iter().map(|t| t.cells.unwrap_or(1) as u64).sum();
        progress.start(&format!("slurm: {}", self.name), total);
        let mut shown = 0u64;
        loop {
            let alive = if state.jobs.is_empty() {
                BTreeMap::new()
            } else {
                squeue(&state.jobs)?
            };
            let mut done_units = 0u64;
            let (mut n_done, mut failed, mut running, mut pending) = (0, Vec::new(), 0, 0);
            let mut busy = Vec::new();
            for (i, t) in self.tasks.iter().enumerate() {
                let units = t.cells.unwrap_or(1) as u64;
                if t.out.join("summary.json").is_file() {
                    n_done += 1;
                    done_units += units;
                    continue;
                }
                let cells = t
                    .cells
                    .map_or(0, |c| (count_rows(&t.out) as u64).min(c as u64));
                done_units += cells.min(units.saturating_sub(1));
                match alive.get(&i).map(String::as_str) {
                    Some("RUNNING" | "COMPLETING") => {
                        running += 1;
                        if let Some(c) = t.cells {
                            busy.push(format!("{i}: {cells}/{c}"));
                        }
                    }
                    Some(_) => pending += 1,
                    None => failed.push(i),
                }
            }
            if done_units > shown {
                progress.advance(done_units - shown);
                shown = done_units;
            }
            let n = self.tasks.len();
            let status = format!(
                "{n_done}/{n} done, {running} running, {pending} pending{}{}",
                if failed.is_empty() || state.jobs.is_empty() {
                    String::new()
                } else {
                    format!(", {} to resubmit", failed.len())
                },
                if busy.is_empty() {
                    String::new()
                } else {
                    format!("; cells {}", busy.join(", "))
                }
            );
            progress.note(&status);
            if n_done == n {
                progress.finish();
                return Ok(Finished::Done(()));
            }
            let mut submitted_now = String::new();
            if !failed.is_empty() {
                if let Some(&i) = failed
                    .iter()
                    .find(|&&i| state.submitted[i] > opts.max_resubmits)
                {
                    return Err(Error::data(
                        &self.tasks[i].out,
                        format!(
                            "task {i} of `{}` failed after {} submissions (see {}); fix the cause, then rerun the same command (`--force` starts over)",
                            self.name,
                            state.submitted[i],
                            logs.join(format!("task-{i}.log")).display()
                        ),
                    ));
                }
                let id = sbatch(&script, &failed, n)?;
                for &i in &failed {
                    state.submitted[i] += 1;
                }
                submitted_now = format!(
                    "submitted {} task(s) as job {id}; before that: ",
                    failed.len()
                );
                state.jobs.push(id);
                output::write_atomic(
                    &state_path,
                    serde_json::to_string_pretty(&state).expect("json values serialize"),
                )?;
            }
            if !opts.wait {
                progress.finish();
                return Ok(Finished::Waiting(format!(
                    "{}: {submitted_now}{status}; job(s) {}; logs in {}",
                    self.name,
                    state.jobs.join(", "),
                    logs.display()
                )));
            }
            std::thread::sleep(opts.poll);
        }
    }
}

/// Before a work directory is emptied (`--force`): `scancel` the jobs its `state.json`
/// records, so that no task of the old submission writes into the new one. Best effort.
fn cancel_recorded(work: &Path) {
    let path = work.join("state.json");
    let Ok(bytes) = output::read_capped(&path, 16 << 20, "state.json") else {
        return;
    };
    let Ok(state) = serde_json::from_slice::<State>(&bytes) else {
        return;
    };
    if !state.jobs.is_empty() && output::has_marker(work) {
        let _ = Command::new("scancel").args(&state.jobs).status();
    }
}

/// Rows of `dir/cells.csv` (complete lines after the header); 0 without one.
fn count_rows(dir: &Path) -> usize {
    std::fs::read(dir.join("cells.csv"))
        .map(|b| b.iter().filter(|&&c| c == b'\n').count().saturating_sub(1))
        .unwrap_or(0)
}

/// Submits `script` for the array indices `indices` (all `n`: the script's own `--array`);
/// returns the job id.
fn sbatch(script: &Path, indices: &[usize], n: usize) -> Result<String> {
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable");
    if indices.len() != n {
        let list: Vec<String> = indices.iter().map(usize::to_string).collect();
        cmd.arg(format!("--array={}", list.join(",")));
    }
    cmd.arg(script);
    let out = cmd.output().map_err(|e| {
        Error::config(
            "--executor",
            format!("cannot run sbatch ({e}); is Slurm installed on this machine?"),
        )
    })?;
    if !out.status.success() {
        return Err(Error::config(
            "--executor",
            format!(
                "sbatch {} failed: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text
        .trim()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::config(
            "--executor",
            format!("sbatch printed no job id: {:?}", text.trim()),
        ));
    }
    Ok(id)
}

/// The array indices of the jobs `jobs` that `squeue` lists, with their state (PENDING,
/// RUNNING, ...). The newest job listing an index wins.
fn squeue(jobs: &[String]) -> Result<BTreeMap<usize, String>> {
    let out = Command::new("squeue")
        .args(["--noheader", "--array", "--format=%i|%T"])
        .output()
        .map_err(|e| Error::config("--executor", format!("cannot run squeue ({e})")))?;
    if !out.status.success() {
        return Err(Error::config(
            "--executor",
            format!(
                "squeue failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(parse_squeue(&String::from_utf8_lossy(&out.stdout), jobs))
}

/// Parses `squeue --array --format=%i|%T` lines (`123_4|RUNNING`, `123_[5-7%2]|PENDING`),
/// keeping the jobs `jobs`.
pub fn parse_squeue(text: &str, jobs: &[String]) -> BTreeMap<usize, String> {
    let mut alive = BTreeMap::new();
    for j in jobs {
        for line in text.lines() {
            let Some((id, state)) = line.trim().split_once('|') else {
                continue;
            };
            let Some((job, idx)) = id.split_once('_') else {
                continue;
            };
            if job != j {
                continue;
            }
            let idx = idx.trim_start_matches('[').trim_end_matches(']');
            let idx = idx.split('%').next().unwrap_or("");
            for part in idx.split(',') {
                let (a, b) = part.split_once('-').unwrap_or((part, part));
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    for i in a..=b.min(a + 1_000_000) {
                        alive.insert(i, state.trim().to_owned());
                    }
                }
            }
        }
    }
    alive
}

/// Runs a shardable run as a job array of `opts.shards` shards into `OUT.slurm/shards/` and,
/// once all are done, merges them into `job.out` (refusing missing cells; `force` replaces an
/// existing `OUT`).
pub fn run_sharded(
    job: &ShardedJob,
    opts: &SlurmOptions,
    force: bool,
    progress: &dyn Progress,
) -> Result<Finished<crate::experiment::RunReport>> {
    let n = opts.shards;
    if n == 0 {
        return Err(Error::config("--shards", "must be at least 1"));
    }
    if !force && let Some(report) = complete(&job.out, &job.config) {
        return Ok(Finished::Done(report));
    }
    let work = work_dir(&job.out);
    let shards = work.join("shards");
    let tasks: Vec<Task> = (0..n)
        .map(|i| Task {
            args: Vec::new(),
            out: shards.join(format!("shard-{i}")),
            cells: Some((job.cells + n - 1 - i) / n),
        })
        .collect();
    let array = ArrayJob {
        name: job.name.clone(),
        work,
        identity: format!("{}\n[executor]\nshards = {n}\n", job.config.trim_end()),
        tasks,
        sharded: Some((job.args.clone(), n)),
    };
    match array.drive(opts, force, progress)? {
        Finished::Waiting(s) => Ok(Finished::Waiting(s)),
        Finished::Done(()) => {
            let inputs: Vec<PathBuf> = array.tasks.iter().map(|t| t.out.clone()).collect();
            let ropts = crate::experiment::RunOptions {
                out: Some(job.out.clone()),
                force,
                ..Default::default()
            };
            crate::experiment::merge_checked(&inputs, &ropts, false, progress).map(Finished::Done)
        }
    }
}

/// The report of `out` when it is already a complete run of `config` (marker, equal
/// `config.toml`, readable `summary.json`): a rerun after the merge does nothing.
fn complete(out: &Path, config: &str) -> Option<crate::experiment::RunReport> {
    match crate::experiment::reproduce::dirs::state(out, config, true).ok()? {
        crate::experiment::reproduce::dirs::State::Complete(summary) => {
            Some(crate::experiment::RunReport {
                dir: out.to_owned(),
                summary,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_expand_to_the_alive_indices_of_our_jobs() {
        let text = "12_0|RUNNING\n12_[3-5%2]|PENDING\n13_7|COMPLETING\n99_1|RUNNING\n14|RUNNING\n";
        let a = parse_squeue(text, &["12".into(), "13".into()]);
        let keys: Vec<usize> = a.keys().copied().collect();
        assert_eq!(keys, vec![0, 3, 4, 5, 7]);
        assert_eq!(a[&0], "RUNNING");
        assert_eq!(a[&4], "PENDING");
        assert!(parse_squeue(text, &["98".into()]).is_empty());
    }

    #[test]
    fn the_job_script_fixes_the_shard_count_appends_and_requeues() {
        let work = PathBuf::from("/tmp/x y/fig9.slurm");
        let job = ArrayJob {
            name: "fig9".into(),
            work: work.clone(),
            identity: String::new(),
            tasks: vec![
                Task {
                    args: vec![],
                    out: work.join("shards/shard-0"),
                    cells: Some(3)
                };
                8
            ],
            sharded: Some((
                vec![
                    "run".into(),
                    "fig9".into(),
                    "--set".into(),
                    "lr=[1, 2]".into(),
                ],
                8,
            )),
        };
        let opts = SlurmOptions {
            array_parallelism: Some(3),
            cpus_per_task: Some(2),
            time: Some("00:10:00".into()),
            sbatch_args: vec!["--account=abc".into()],
            program: PathBuf::from("/opt/depthscale"),
            ..SlurmOptions::default()
        };
        let s = job.script(&opts);
        for want in [
            "#SBATCH --array=0-7%3\n",
            "#SBATCH --requeue\n",
            "#SBATCH --open-mode=append\n",
            "#SBATCH --output='/tmp/x y/fig9.slurm/logs/task-%a.log'\n",
            "#SBATCH --cpus-per-task=2\n",
            "#SBATCH --time=00:10:00\n",
            "#SBATCH --account=abc\n",
            "--shard \"$SLURM_ARRAY_TASK_ID/8\"",
            "/opt/depthscale --threads \"${SLURM_CPUS_PER_TASK:-1}\" run fig9 --set 'lr=[1, 2]'",
        ] {
            assert!(s.contains(want), "{want:?} not in\n{s}");
        }
        assert!(!s.contains("SLURM_ARRAY_TASK_COUNT"), "{s}");
        // valid bash
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("job.sbatch");
        std::fs::write(&p, &s).unwrap();
        let ok = Command::new("bash").arg("-n").arg(&p).status().unwrap();
        assert!(ok.success());
    }
}
