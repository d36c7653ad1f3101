//! Hostile use of the executable, part two (issue 20): resource limits, footprints and data
//! files. Huge values in every preset field never abort the binary under a memory cap (item
//! 12); the memory check honours `ulimit -v` / `ulimit -d` and names the limit (item 14); the
//! disk check sees a small tmpfs (item 18); a FIFO given as a config or data file is refused at
//! once (item 16); a run or merge across different data is refused, naming the field (item 5).

mod common;
use common::hostile::*;

use depthscale::budget::{Limit, Limits};
use depthscale::experiment::{ConfigSource, PRESETS, RunOptions, check};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The virtual-memory cap of the huge-value runs: 4 GiB (one worker thread reserves about 1 GiB
/// of address space of its own, see `budget::Limits::detect`).
const CAP_KIB: u64 = 4 << 20;

/// Runs the executable in `cwd` under `ulimit -v` of `mem_kib` and a timeout of `secs`
/// (a run still going then ends with status 124).
fn run_for(cwd: &Path, args: &[&str], mem_kib: u64, secs: u32) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {mem_kib} 2>/dev/null; exec timeout -k 5 {secs} \"$@\""
        ))
        .arg("sh")
        .arg(bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .env_remove("DEPTHSCALE_MAX_MEMORY")
        .env_remove("DEPTHSCALE_MAX_DISK")
        .env("RAYON_NUM_THREADS", "1")
        .stdin(Stdio::null())
        .output()
        .expect("sh runs")
}

/// Every variant of a table with one numeric value replaced by a huge (or tiny) one:
/// `(dotted path, table)`.
fn variants(table: &toml::Table) -> Vec<(String, toml::Table)> {
    fn walk(v: &toml::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            toml::Value::Table(t) => t.iter().for_each(|(k, v)| {
                path.push(k.clone());
                walk(v, path, out);
                path.pop();
            }),
            toml::Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| {
                path.push(i.to_string());
                walk(v, path, out);
                path.pop();
            }),
            toml::Value::Integer(_) | toml::Value::Float(_) => out.push(path.clone()),
            _ => {}
        }
    }
    fn at<'a>(v: &'a mut toml::Value, path: &[String]) -> &'a mut toml::Value {
        path.iter().fold(v, |v, k| match v {
            toml::Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
            other => other.get_mut(k.as_str()).unwrap(),
        })
    }
    let root = toml::Value::Table(table.clone());
    let mut paths = Vec::new();
    walk(&root, &mut Vec::new(), &mut paths);
    let mut out = Vec::new();
    for path in paths {
        let huge: Vec<toml::Value> = match at(&mut root.clone(), &path) {
            toml::Value::Integer(_) => {
                [100_000_000i64, 1_000_000_000_000, 1_000_000_000_000_000_000]
                    .map(toml::Value::Integer)
                    .to_vec()
            }
            _ => [1e300, 1e-300].map(toml::Value::Float).to_vec(),
        };
        for h in huge {
            let mut changed = root.clone();
            *at(&mut changed, &path) = h;
            let toml::Value::Table(t) = changed else {
                unreachable!()
            };
            out.push((path.join("."), t));
        }
    }
    out
}

/// Item 12: every numeric field of every preset set to a huge value. The dry run sorts out the
/// runs refused under a 1 GiB memory limit (the binary's own refusal of those is cheap and
/// covered by the library's walk); every other variant is started under `ulimit -v` 4 GiB for
/// a second: it must be refused cleanly, finish, or still be running, never abort.
///
/// Several minutes on 2 cores (every accepted variant runs for a second), so it is ignored by
/// default: `cargo test -p depthscale-cli --test abuse_lim -- --ignored`. The library's walk
/// (`experiment::footprint_tests`) runs every time.
#[test]
#[ignore = "several minutes: run with --ignored"]
fn huge_values_in_any_preset_field_never_abort_the_binary() {
    let t = tmp();
    let limits = Limits {
        memory: Some(Limit {
            bytes: (CAP_KIB << 10) / 4,
            source: "test".into(),
        }),
        disk: Some(Limit {
            bytes: 1 << 30,
            source: "test".into(),
        }),
    };
    let mut started = 0;
    let mut failures = Vec::new();
    for (n, p) in PRESETS.iter().enumerate() {
        let base: toml::Table = toml::from_str(p.toml).unwrap();
        for (i, (field, table)) in variants(&base).into_iter().enumerate() {
            let source = ConfigSource {
                name: p.name.into(),
                table: table.clone(),
            };
            let accepted = check(source, &RunOptions::default())
                .and_then(|f| f.check(&limits))
                .is_ok();
            if !accepted {
                continue;
            }
            started += 1;
            let file = t.path().join(format!("{n}-{i}.toml"));
            std::fs::write(&file, toml::to_string(&table).unwrap()).unwrap();
            let out_dir = t.path().join(format!("out-{n}-{i}"));
            let out = run_for(
                t.path(),
                &["run", s(&file), "--out", s(&out_dir)],
                CAP_KIB,
                3,
            );
            let err = String::from_utf8_lossy(&out.stderr);
            // 124: still running when the timeout stopped it
            let clean = matches!(out.status.code(), Some(0 | 1 | 2 | 124));
            if !clean || err.contains("panicked") || err.contains("memory allocation") {
                failures.push(format!("{} {field}: {:?} {err}", p.name, out.status));
            }
            let _ = std::fs::remove_dir_all(&out_dir);
        }
    }
    assert!(started > 0);
    assert!(
        failures.is_empty(),
        "{} of {started} started runs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Item 12: the reproducer, and the same value for train and fig8.
#[test]
fn a_huge_epoch_count_is_refused_by_every_training_experiment() {
    let t = tmp();
    for name in ["ode-after-training", "train", "fig8"] {
        let out = t.path().join(name);
        refused(
            &run_capped(
                t.path(),
                &["run", name, "--set", "epochs=100000000", "--out", s(&out)],
                &[],
                4 << 20,
            ),
            &["`epochs` is too large"],
        );
        not_complete(&out);
    }
}

/// Item 14: a run over `ulimit -v` is refused naming that limit, not aborted; `ulimit -d` too.
#[test]
fn the_memory_check_honours_the_process_limits_and_names_the_one_that_refused() {
    let t = tmp();
    let args = [
        "run",
        "fig1",
        "--set",
        "width=500",
        "--set",
        "depth=[1000]",
        "--set",
        "draws=2",
        "--set",
        "samples=2",
        "--out",
    ];
    let out = t.path().join("as");
    let mut a = args.to_vec();
    a.push(s(&out));
    let line = refused(
        &run_capped(t.path(), &a, &[], 2_000_000),
        &["memory", "RLIMIT_AS"],
    );
    assert!(line.contains("ulimit -v"), "{line}");
    not_complete(&out);

    let out = t.path().join("data");
    let mut a = args.to_vec();
    a.push(s(&out));
    let capped = Command::new("sh")
        .arg("-c")
        .arg("ulimit -d 2000000 && exec \"$@\"")
        .arg("sh")
        .arg(bin())
        .args(&a)
        .env_remove("RUST_BACKTRACE")
        .env_remove("DEPTHSCALE_MAX_MEMORY")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    refused(&capped, &["memory", "RLIMIT_DATA"]);
}

/// A tmpfs of `size` mounted at `dir` for the life of the guard (`None` where mounting is not
/// allowed: not root, or a sandbox without mounts).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                s(dir),
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Item 18: the free space of a small tmpfs is seen (statvfs), so a run that cannot fit is
/// refused before it starts instead of failing mid-run with ENOSPC. Without the right to mount,
/// the same path is checked with `DEPTHSCALE_MAX_DISK`.
#[test]
fn a_run_that_cannot_fit_a_small_tmpfs_is_refused_before_it_starts() {
    let t = tmp();
    let mnt = t.path().join("mnt");
    match Tmpfs::mount(&mnt, "256k") {
        Some(_guard) => {
            for (name, extra) in [("fig6", "steps=20000"), ("coord-check", "steps=5")] {
                let out = mnt.join(name);
                let line = refused(
                    &run(
                        t.path(),
                        &["run", name, "--quick", "--set", extra, "--out", s(&out)],
                    ),
                    &["disk space", "free on the output's file system"],
                );
                assert!(!line.contains("No space"), "{line}");
                assert!(!out.exists(), "{} was created", out.display());
            }
        }
        None => eprintln!("tmpfs cannot be mounted here: checked with DEPTHSCALE_MAX_DISK only"),
    }
    let out = t.path().join("fig6");
    refused(
        &run_capped(
            t.path(),
            &["run", "fig6", "--quick", "--out", s(&out)],
            &[("DEPTHSCALE_MAX_DISK", "50K")],
            4 << 20,
        ),
        &["disk space", "DEPTHSCALE_MAX_DISK"],
    );
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success());
}

/// Item 16: a FIFO with no writer given as the config, or as a data file, is refused at once.
#[test]
fn a_fifo_config_or_data_file_is_refused_at_once() {
    let t = tmp();
    let fifo = t.path().join("fifo.toml");
    mkfifo(&fifo);
    let line = refused(
        &run_for(t.path(), &["run", s(&fifo)], 4 << 20, 20),
        &["fifo.toml"],
    );
    assert!(
        line.contains("FIFO") && line.contains("not a regular file"),
        "{line}"
    );
    let data = t.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for f in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        mkfifo(&data.join(f));
    }
    let out = t.path().join("out");
    let line = refused(
        &run_for(
            t.path(),
            &[
                "run",
                "train",
                "--quick",
                "--set",
                "dataset=mnist",
                "--set",
                "data_dir=data",
                "--out",
                s(&out),
            ],
            4 << 20,
            20,
        ),
        &["train-images-idx3-ubyte", "FIFO"],
    );
    assert!(line.contains("not a regular file"), "{line}");
    not_complete(&out);
}

/// The bundled mnist-10k as an on-disk MNIST directory at `dir`; `swapped`: with the training
/// and test files exchanged (other data, still valid).
fn mnist_copy(dir: &Path, swapped: bool) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../depthscale/data/mnist-10k");
    std::fs::create_dir_all(dir).unwrap();
    for (from, to) in [("train", "t10k"), ("t10k", "train")] {
        for kind in ["images-idx3", "labels-idx1"] {
            let name = |set: &str| format!("{set}-{kind}-ubyte.gz");
            let target = if swapped { name(to) } else { name(from) };
            std::fs::copy(src.join(name(from)), dir.join(target)).unwrap();
        }
    }
}

/// A sweep of 2 cells on `data_dir=data`, relative, one shard of two.
fn tiny_sweep(shard: &str, out: &Path) -> Vec<String> {
    [
        "run",
        "fig9",
        "--set",
        "dataset=mnist",
        "--set",
        "data_dir=data",
        "--set",
        "lr=[0.01]",
        "--set",
        "hurst=[0.3, 0.7]",
        "--set",
        "beta=[0.5]",
        "--set",
        "depth=8",
        "--set",
        "epochs=1",
        "--set",
        "train_samples=300",
        "--set",
        "test_samples=100",
        "--shard",
        shard,
        "--out",
        s(out),
    ]
    .map(String::from)
    .to_vec()
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Item 5: a relative `data_dir` is recorded absolute with the data's fingerprint; resuming
/// from another directory, resuming after the data changed, or merging shards run on other
/// data is refused naming the field.
#[test]
fn runs_on_other_data_are_never_resumed_or_merged() {
    let t = tmp();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    mnist_copy(&a.join("data"), false);
    mnist_copy(&b.join("data"), true);
    let s0 = t.path().join("s0");
    common::ok(&run(&a, &args(&tiny_sweep("0/2", &s0))));
    let config = std::fs::read_to_string(s0.join("config.toml")).unwrap();
    let abs = std::fs::canonicalize(a.join("data")).unwrap();
    assert!(
        config.contains(&format!("data_dir = \"{}\"", abs.display())),
        "{config}"
    );
    assert!(config.contains("data_fingerprint = \""), "{config}");
    // the same command again gives the same config.toml (and resumes the finished shard)
    let again = t.path().join("s0-again");
    common::ok(&run(&a, &args(&tiny_sweep("0/2", &again))));
    assert_eq!(
        std::fs::read_to_string(again.join("config.toml")).unwrap(),
        config
    );

    // from directory b, `data` is other data: refused, not mixed
    let s1 = t.path().join("s1");
    common::ok(&run(&b, &args(&tiny_sweep("1/2", &s1))));
    refused(
        &run(&b, &args(&tiny_sweep("0/2", &s0))),
        &["`data_dir` differs"],
    );
    let merged = t.path().join("merged");
    refused(
        &run(t.path(), &["merge", s(&s0), s(&s1), "--out", s(&merged)]),
        &["differs"],
    );
    not_complete(&merged);

    // the data of a changes in place: the recorded fingerprint no longer matches
    std::fs::remove_dir_all(a.join("data")).unwrap();
    mnist_copy(&a.join("data"), true);
    refused(
        &run(&a, &args(&tiny_sweep("0/2", &s0))),
        &["`data_fingerprint` differs"],
    );
    refused(
        &run(
            &a,
            &[
                "run",
                s(&s0.join("config.toml")),
                "--shard",
                "0/2",
                "--out",
                s(&t.path().join("rerun")),
            ],
        ),
        &["data_fingerprint", "not the data this config was run with"],
    );
}
