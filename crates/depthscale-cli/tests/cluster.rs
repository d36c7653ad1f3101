//! Issue 22: the user's path to a cluster. Shards in logs (plain progress, shard-local counts),
//! a single resubmitted index, `merge` refusing missing cells, the gap-fill command for any
//! config, and the Slurm executor driven through a fake `sbatch`/`squeue` (the real Slurm is
//! exercised by `tests/slurm.sh`).

mod common;

use common::{depthscale, ok};
use std::path::Path;
use std::process::{Command, Output};

fn run_env(args: &[&str], path_prefix: &Path, envs: &[(&str, &str)]) -> Output {
    let path = format!(
        "{}:{}",
        path_prefix.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(env!("CARGO_BIN_EXE_depthscale"));
    c.args(args).env("PATH", path).env_remove("RUST_BACKTRACE");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("the binary runs")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `cells.csv` without its last column (seconds), sorted.
fn cells(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = read(&dir.join("cells.csv"))
        .lines()
        .skip(1)
        .map(|l| l.rsplit_once(',').unwrap().0.to_owned())
        .collect();
    v.sort();
    v
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&read(&dir.join("summary.json"))).unwrap()
}

#[test]
fn a_shard_in_a_log_prints_plain_bounded_lines_with_its_own_counts() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("s1");
    // stderr is a pipe here, as in a Slurm log
    let o = depthscale(&[
        "run",
        "fig9",
        "--quick",
        "--shard",
        "1/2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = ok(&o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stdout.contains(
            "shard 1/2: 4 of 4 cells of this shard done (4 run now; 8 cells in the whole grid)"
        ),
        "{stdout}"
    );
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("training cells: "))
        .collect();
    // the shard's 4 cells, not the grid's 8; at most one line per 5% and the start
    assert!(
        lines
            .first()
            .unwrap()
            .starts_with("training cells: 0/4 (0%)"),
        "{stderr}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("training cells: 4/4 (100%)"),
        "{stderr}"
    );
    assert!(lines.len() <= 5, "{stderr}");
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );
}

#[test]
fn a_resubmitted_single_index_is_explained() {
    let t = tempfile::tempdir().unwrap();
    let o = depthscale(&[
        "run",
        "fig9",
        "--quick",
        "--shard",
        "1/1",
        "--out",
        t.path().join("x").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("SLURM_ARRAY_TASK_COUNT") && e.lines().count() == 1,
        "{e}"
    );
}

#[test]
fn merge_refuses_missing_cells_naming_the_shards_and_the_gap_fill_completes_any_config() {
    let t = tempfile::tempdir().unwrap();
    let p = |n: &str| t.path().join(n);
    let s = |n: &str| p(n).to_str().unwrap().to_owned();
    let base = ["run", "fig9", "--quick", "--set", "seed=3"];
    for i in [0, 1] {
        let shard = format!("{i}/3");
        let out = s(&format!("shard-{i}"));
        let mut a = base.to_vec();
        a.extend(["--shard", &shard, "--out", &out]);
        ok(&depthscale(&a));
    }
    // shard 2 never ran: its directory does not exist
    let (s0, s1, all) = (s("shard-0"), s("shard-1"), s("all"));
    let o = depthscale(&["merge", &s0, &s1, "--out", &all]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("2 of 8 cells are missing")
            && e.contains("shard 2 of 3")
            && e.contains("--allow-partial"),
        "{e}"
    );
    assert!(!p("all").exists() && !p("all.partial").exists());
    let stdout = ok(&depthscale(&[
        "merge",
        &s0,
        &s1,
        "--out",
        &all,
        "--allow-partial",
    ]));
    assert!(stdout.contains("shard(s) 2 of 3"), "{stdout}");
    let m = summary(&p("all"));
    assert_eq!(m["quick"], true, "the shards ran with --quick");
    assert_eq!(m["results"]["cells_done"], 6);
    // the documented gap-fill, for a config made with --quick and --set
    let cfg = format!("{all}/config.toml");
    let stdout = ok(&depthscale(&["run", &cfg, "--out", &all]));
    assert!(stdout.contains("8 of 8 cells done (2 run now)"), "{stdout}");
    assert_eq!(summary(&p("all"))["quick"], true);
    let whole = s("whole");
    let mut a = base.to_vec();
    a.extend(["--out", &whole]);
    ok(&depthscale(&a));
    assert_eq!(cells(&p("all")), cells(&p("whole")));
}

/// A fake `sbatch` that runs the array's tasks at once, one after the other (dropping task
/// `FAKE_SBATCH_DROP` the first time, as if it was cancelled), and a `squeue` that lists
/// nothing (every task has ended when sbatch returns).
fn fake_slurm(dir: &Path) {
    let sbatch = r#"#!/bin/bash
set -u
dir="$(dirname "$0")"
array=""; script=""
for a in "$@"; do
  case "$a" in --parsable) ;; --array=*) array="${a#--array=}" ;; *) script="$a" ;; esac
done
[ -n "$array" ] || array=$(sed -n 's/^#SBATCH --array=\([0-9-]*\).*/\1/p' "$script")
n=$(cat "$dir/jobs" 2>/dev/null || echo 100); n=$((n + 1)); echo "$n" > "$dir/jobs"
echo "$@" >> "$dir/calls"
IFS=, read -ra parts <<< "$array"
for p in "${parts[@]}"; do
  for ((i = ${p%-*}; i <= ${p#*-}; i++)); do
    if [ "$i" = "${FAKE_SBATCH_DROP:-x}" ] && [ ! -e "$dir/dropped" ]; then
      touch "$dir/dropped"; continue
    fi
    SLURM_ARRAY_TASK_ID=$i SLURM_JOB_ID=$n bash "$script" >> "$dir/task-$i.log" 2>&1
  done
done
echo "$n"
"#;
    for (name, text) in [("sbatch", sbatch), ("squeue", "#!/bin/sh\nexit 0\n")] {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn the_slurm_executor_submits_resubmits_a_lost_task_and_merges_bitwise() {
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    fake_slurm(&bin);
    let out = t.path().join("fig9");
    let o = run_env(
        &[
            "run",
            "fig9",
            "--quick",
            "--set",
            "seed=5",
            "--executor",
            "slurm",
            "--shards",
            "3",
            "--poll",
            "0.05",
            "--time",
            "00:05:00",
            "--out",
            out.to_str().unwrap(),
        ],
        &bin,
        &[("FAKE_SBATCH_DROP", "1")],
    );
    let stdout = ok(&o);
    assert!(stdout.contains("8 of 8 cells done"), "{stdout}");
    let work = t.path().join("fig9.slurm");
    let script = read(&work.join("job.sbatch"));
    for want in [
        "#SBATCH --array=0-2\n",
        "#SBATCH --requeue\n",
        "#SBATCH --open-mode=append\n",
        "#SBATCH --time=00:05:00\n",
        "--shard \"$SLURM_ARRAY_TASK_ID/3\"",
    ] {
        assert!(script.contains(want), "{want:?} not in {script}");
    }
    // the lost task 1 was submitted again, alone
    let calls = read(&bin.join("calls"));
    assert_eq!(calls.lines().count(), 2, "{calls}");
    assert!(
        calls.lines().nth(1).unwrap().contains("--array=1 "),
        "{calls}"
    );
    let state: serde_json::Value = serde_json::from_str(&read(&work.join("state.json"))).unwrap();
    assert_eq!(state["submitted"], serde_json::json!([1, 2, 1]));
    // the merged result is the unsharded run's, bit for bit (timings aside)
    let whole = t.path().join("whole");
    ok(&depthscale(&[
        "run",
        "fig9",
        "--quick",
        "--set",
        "seed=5",
        "--out",
        whole.to_str().unwrap(),
    ]));
    assert_eq!(cells(&out), cells(&whole));
    assert_eq!(summary(&out)["quick"], true);
    // rerunning re-attaches: already complete, nothing submitted
    ok(&run_env(
        &[
            "run",
            "fig9",
            "--quick",
            "--set",
            "seed=5",
            "--executor",
            "slurm",
            "--shards",
            "3",
            "--out",
            out.to_str().unwrap(),
        ],
        &bin,
        &[],
    ));
    assert_eq!(read(&bin.join("calls")).lines().count(), 2);
    // an experiment that cannot be sharded is refused on `run`
    let o = run_env(
        &[
            "run",
            "fig6",
            "--executor",
            "slurm",
            "--out",
            t.path().join("f6").to_str().unwrap(),
        ],
        &bin,
        &[],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("reproduce --executor slurm"));
}

#[test]
fn reproduce_on_slurm_runs_the_rest_as_an_array_and_writes_the_same_claims() {
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    fake_slurm(&bin);
    let (local, slurm) = (t.path().join("local"), t.path().join("slurm"));
    let args = |out: &Path| {
        vec![
            "reproduce".to_owned(),
            "--quick".into(),
            "--only".into(),
            "fig6,fig4".into(),
            "--out".into(),
            out.to_str().unwrap().to_owned(),
        ]
    };
    let a = args(&local);
    ok(&depthscale(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let mut a = args(&slurm);
    a.extend(["--executor".into(), "slurm".into(), "--no-wait".into()]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    // --no-wait submits (the fake sbatch runs the tasks at once) and returns
    let stdout = ok(&run_env(&a, &bin, &[]));
    assert!(
        stdout.contains("submitted: rest: submitted 2 task(s) as job 101")
            && !slurm.join("summary.json").exists(),
        "{stdout}"
    );
    // the same command again re-attaches: every task is done, the report is written
    let stdout = ok(&run_env(&a, &bin, &[]));
    assert!(stdout.contains("claims agree"), "{stdout}");
    assert_eq!(read(&bin.join("calls")).lines().count(), 1);
    assert!(slurm.join("rest.slurm/job.sbatch").is_file());
    assert!(
        slurm.join("fig6/summary.json").is_file() && !slurm.join("rest.slurm/runs/fig6").exists()
    );
    let claims = |d: &Path| {
        let mut s = summary(d)["claims"].clone();
        for c in s.as_array_mut().unwrap() {
            c.as_object_mut()
                .unwrap()
                .retain(|k, _| !k.contains("second") && k != "command");
        }
        s
    };
    assert_eq!(claims(&local), claims(&slurm));
}
