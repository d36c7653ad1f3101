//! Hostile and careless use of the `depthscale` executable (issue 7): every case must exit
//! non-zero with exactly one `error:` line and no panic, leave no directory that looks complete
//! (no `summary.json` outside a finished run), and never remove a file depthscale did not
//! create. Each data-loss, crash or unbounded-resource defect found on the way has its own test
//! here.
//!
//! The binary is the one cargo built for the tests, or `$DEPTHSCALE_BIN` (`tests/abuse.sh` runs
//! this file against the release binary). Every child runs under a virtual-memory cap
//! (`ulimit -v`) and a timeout, so a regression aborts the child instead of exhausting the
//! machine.

mod common;

use common::hostile::*;
use common::ok;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---- data loss ----------------------------------------------------------------------------

#[test]
fn force_never_replaces_the_current_directory_its_ancestors_or_home() {
    let t = tmp();
    let cwd = t.path().join("work");
    std::fs::create_dir(&cwd).unwrap();
    std::fs::write(cwd.join("keep"), "user data").unwrap();
    for out in [".", "..", "./", "../work"] {
        let line = refused(
            &run(&cwd, &["run", "fig1", "--quick", "--out", out, "--force"]),
            &["refusing to replace"],
        );
        assert!(line.contains("current directory"), "{line}");
        assert!(
            cwd.join("keep").is_file(),
            "--out {out} --force removed a file"
        );
    }
    let home = t.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join("thesis.tex"), "x").unwrap();
    std::fs::write(home.join(".depthscale"), "forged marker").unwrap();
    refused(
        &run_capped(
            &cwd,
            &["run", "fig6", "--quick", "--out", s(&home), "--force"],
            &[("HOME", s(&home))],
            4 << 20,
        ),
        &["home directory"],
    );
    assert!(home.join("thesis.tex").is_file());
    refused(
        &run(&cwd, &["run", "fig6", "--quick", "--out", "/", "--force"]),
        &["root"],
    );
}

#[test]
fn force_replaces_only_directories_depthscale_made() {
    let t = tmp();
    let user = t.path().join("results");
    std::fs::create_dir(&user).unwrap();
    std::fs::write(user.join("paper.pdf"), "x").unwrap();
    refused(
        &run(
            t.path(),
            &["run", "fig6", "--quick", "--out", "results", "--force"],
        ),
        &["not created by depthscale", ".depthscale"],
    );
    assert!(user.join("paper.pdf").is_file());
    // A sweep (written in place) follows the same rule.
    refused(
        &run(
            t.path(),
            &["run", "fig9", "--quick", "--out", "results", "--force"],
        ),
        &["not created by depthscale"],
    );
    assert!(user.join("paper.pdf").is_file());
    // A foreign `NAME.partial` is never taken for a stale staging directory.
    std::fs::create_dir(t.path().join("x.partial")).unwrap();
    std::fs::write(t.path().join("x.partial/notes"), "x").unwrap();
    refused(
        &run(t.path(), &["run", "fig6", "--quick", "--out", "x"]),
        &["x.partial", "not created by depthscale"],
    );
    assert!(t.path().join("x.partial/notes").is_file());
    // depthscale's own output is replaced.
    ok(&run(t.path(), &["run", "fig6", "--quick", "--out", "mine"]));
    assert!(t.path().join("mine/.depthscale").is_file());
    ok(&run(
        t.path(),
        &["run", "fig6", "--quick", "--out", "mine", "--force"],
    ));
    assert!(t.path().join("mine/summary.json").is_file());
}

#[test]
fn a_trailing_slash_keeps_the_finished_run() {
    let t = tmp();
    let stdout = ok(&run(
        t.path(),
        &["run", "fig6", "--quick", "--out", "runs/x/"],
    ));
    assert!(stdout.contains("runs/x"), "{stdout}");
    for f in ["config.toml", "results.csv", "summary.json", ".depthscale"] {
        assert!(t.path().join("runs/x").join(f).is_file(), "missing {f}");
    }
    assert!(!t.path().join("runs/x.partial").exists());
    assert!(!t.path().join("runs/x/.partial").exists());
}

#[test]
fn a_second_process_on_the_same_output_fails_at_once_naming_the_first() {
    let t = tmp();
    let mut first = Command::new(bin())
        .args(["train", "--epochs", "3", "--out", "lk"])
        .current_dir(t.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&t.path().join("lk.partial/.depthscale"));
    let start = Instant::now();
    let line = refused(
        &run(t.path(), &["train", "--quick", "--out", "lk"]),
        &["in use by another depthscale process"],
    );
    assert!(line.contains(&format!("pid {}", first.id())), "{line}");
    refused(
        &run(t.path(), &["train", "--quick", "--out", "lk", "--force"]),
        &["in use"],
    );
    assert!(start.elapsed() < Duration::from_secs(20), "not at once");
    assert!(first.wait().unwrap().success());
    let summary = std::fs::read_to_string(t.path().join("lk/summary.json")).unwrap();
    assert!(summary.contains("\"epochs_run\": 3"), "{summary}");

    // A sweep written in place takes the same lock.
    let mut sweep = SMALL_SWEEP.to_vec();
    sweep.extend(["--out", "sw"]);
    let mut first = Command::new(bin())
        .args(&sweep)
        .current_dir(t.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&t.path().join("sw/.depthscale"));
    refused(&run(t.path(), &sweep), &["sw", "in use", "pid"]);
    assert!(first.wait().unwrap().success());
}

#[test]
fn a_sweep_killed_mid_run_resumes_to_the_same_cells() {
    let t = tmp();
    let mut args = SMALL_SWEEP.to_vec();
    args.push("--out");
    let mut child = Command::new(bin())
        .args(&args)
        .arg("killed")
        .current_dir(t.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let cells = t.path().join("killed/cells.csv");
    let start = Instant::now();
    loop {
        let rows = std::fs::read_to_string(&cells).map_or(0, |c| c.lines().count());
        if rows >= 3 || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    not_complete(&t.path().join("killed"));
    let mut full = args.to_vec();
    full.push("killed");
    let stdout = ok(&run(t.path(), &full));
    assert!(stdout.contains("8 of 8 cells done"), "{stdout}");
    let mut fresh = args.to_vec();
    fresh.push("fresh");
    ok(&run(t.path(), &fresh));
    let rows = |d: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_to_string(t.path().join(d).join("cells.csv"))
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(rows("killed"), rows("fresh"));
    assert_eq!(rows("killed").len(), 9);
}

#[test]
fn merge_protects_its_inputs_and_names_shards_that_gave_nothing() {
    let t = tmp();
    ok(&run(
        t.path(),
        &["run", "fig9", "--quick", "--shard", "0/2", "--out", "s0"],
    ));
    std::fs::create_dir(t.path().join("s1")).unwrap();
    std::fs::copy(
        t.path().join("s0/config.toml"),
        t.path().join("s1/config.toml"),
    )
    .unwrap();
    // issue 22: missing cells are refused, naming the shard that owns them
    refused(
        &run(t.path(), &["merge", "s0", "s1", "--out", "m"]),
        &[
            "4 of 8 cells are missing",
            "shard 1 of 2",
            "--allow-partial",
        ],
    );
    assert!(!t.path().join("m").exists() && !t.path().join("m.partial").exists());
    let out = run(
        t.path(),
        &["merge", "s0", "s1", "--out", "m", "--allow-partial"],
    );
    let stdout = ok(&out);
    assert!(stdout.contains("merged 4 of 8 cells"), "{stdout}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: ") && err.contains("s1 contributed no cells"),
        "{err}"
    );
    for bad in [["s0", "--force"], [".", "--force"]] {
        refused(
            &run(t.path(), &["merge", "s0", "s1", "--out", bad[0], bad[1]]),
            &["refusing to replace"],
        );
    }
    assert!(t.path().join("s0/cells.csv").is_file());
}

// ---- panics and unbounded resources -------------------------------------------------------

#[test]
fn sizes_that_overflow_or_exceed_the_machine_are_refused_naming_the_field() {
    let t = tmp();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["train", "--depth", "576460752303423488", "--width", "32"],
            &["`depth`", "too large"],
        ),
        (&["train", "--depth", "9223372036854775807"], &["`depth`"]),
        (&["train", "--epochs", "1000000000000000000"], &["`epochs`"]),
        (&["run", "fig1", "--set", "depth=1000000000"], &["`depth`"]),
        (
            &["run", "fig1", "--set", "depth=1000000001"],
            &["depth", "1..=1000000000"],
        ),
        (&["run", "fig1", "--set", "width=100000"], &["`width`"]),
        (
            // C alone (d^2 x d^2 f64 = 205 GB at d = 400) is over the limit
            &[
                "run",
                "fig1-correlated",
                "--set",
                "width=400",
                "--set",
                "depth=[10]",
            ],
            &["`width`", "correlation"],
        ),
        (
            &[
                "run",
                "fig1-correlated",
                "--set",
                "init_v=\"correlated(correlated(gaussian))\"",
            ],
            &["init_v", "correlated(gaussian)"],
        ),
        (
            &["run", "fig1", "--set", "samples=1000000000000"],
            &["`samples`"],
        ),
        (
            &["run", "fig1", "--set", "beta={linspace=[0, 1, 10000000]}"],
            &["`beta`"],
        ),
        (
            &[
                "run",
                "ode",
                "--set",
                "reference_factor=1024",
                "--set",
                "depth=[4096, 16384]",
                "--set",
                "width=256",
            ],
            &["`reference_factor`"],
        ),
        (
            &[
                "run",
                "fig6",
                "--set",
                "steps=10000000",
                "--set",
                "paths=1000",
            ],
            &["`steps`"],
        ),
        (
            &[
                "run",
                "fig9",
                "--set",
                "lr={linspace=[0.001, 0.1, 10000]}",
                "--set",
                "beta={linspace=[0, 1, 10000]}",
            ],
            &["`lr`", "cells"],
        ),
    ];
    for (args, needles) in cases {
        let mut a = args.to_vec();
        a.extend(["--out", "o"]);
        refused(&run(t.path(), &a), needles);
        assert!(!t.path().join("o").exists() && !t.path().join("o.partial").exists());
    }
    // The documented cap applies below the machine's memory.
    refused(
        &run_capped(
            t.path(),
            &["train", "--out", "o"],
            &[("DEPTHSCALE_MAX_MEMORY", "1M")],
            4 << 20,
        ),
        &["DEPTHSCALE_MAX_MEMORY"],
    );
    refused(
        &run_capped(
            t.path(),
            &["run", "fig1", "--quick", "--out", "o"],
            &[("DEPTHSCALE_MAX_DISK", "lots")],
            4 << 20,
        ),
        &["DEPTHSCALE_MAX_DISK", "bytes"],
    );
}

#[test]
fn a_batch_larger_than_the_data_is_the_whole_data() {
    let t = tmp();
    let stdout = ok(&run(
        t.path(),
        &[
            "train",
            "--quick",
            "--batch-size",
            "1000000000",
            "--out",
            "b",
        ],
    ));
    assert!(stdout.contains("1 steps"), "{stdout}");
}

#[test]
fn threads_and_titles_are_bounded() {
    let t = tmp();
    let start = Instant::now();
    refused(
        &run(t.path(), &["--threads", "100000", "presets"]),
        &["--threads", "100000"],
    );
    refused(
        &run_capped(
            t.path(),
            &["presets"],
            &[("RAYON_NUM_THREADS", "100000")],
            4 << 20,
        ),
        &["RAYON_NUM_THREADS"],
    );
    refused(
        &run(t.path(), &["--threads", "0", "presets"]),
        &["--threads"],
    );
    let title = format!("title=\"{}\"", "x".repeat(100_000));
    refused(
        &run(
            t.path(),
            &["run", "fig6", "--quick", "--set", &title, "--out", "o"],
        ),
        &["title", "500"],
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    // A title at the cap draws quickly.
    let title = format!("title=\"{}\"", "W".repeat(500));
    let start = Instant::now();
    ok(&run(
        t.path(),
        &["run", "fig6", "--quick", "--set", &title, "--out", "o"],
    ));
    assert!(start.elapsed() < Duration::from_secs(30));
}

/// Gzip members concatenated: an IDX image header declaring `n` images, then `mib` MiB of
/// zeros (a small file that inflates to much more than it declares).
fn gzip_bomb(n: u32, mib: usize) -> Vec<u8> {
    let member = |bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    let mut head = Vec::new();
    for v in [2051u32, n, 28, 28] {
        head.extend_from_slice(&v.to_be_bytes());
    }
    let mut out = member(&head);
    let zeros = member(&vec![0u8; 16 << 20]);
    for _ in 0..mib / 16 {
        out.extend_from_slice(&zeros);
    }
    out
}

#[test]
fn reads_are_bounded_by_headers_and_caps() {
    let t = tmp();
    // 8 GiB of zeros behind a header declaring 10 images, under a 4 GiB address-space cap (of
    // which the worker threads' allocator and matrix-product reservations take a part).
    let dir = t.path().join("bomb");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("train-images-idx3-ubyte.gz"), gzip_bomb(10, 8192)).unwrap();
    for f in [
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        std::fs::write(dir.join(f), b"").unwrap();
    }
    let start = Instant::now();
    refused(
        &run_capped(
            t.path(),
            &[
                "--threads",
                "1",
                "train",
                "--quick",
                "--dataset",
                "mnist",
                "--data",
                "bomb",
                "--out",
                "o",
            ],
            &[],
            4 << 20,
        ),
        &["train-images-idx3-ubyte.gz", "more than"],
    );
    assert!(start.elapsed() < Duration::from_secs(20));
    // A header declaring more images than any dataset has.
    std::fs::write(
        dir.join("train-images-idx3-ubyte.gz"),
        gzip_bomb(4_000_000_000, 16),
    )
    .unwrap();
    refused(
        &run(
            t.path(),
            &[
                "train",
                "--quick",
                "--dataset",
                "mnist",
                "--data",
                "bomb",
                "--out",
                "o",
            ],
        ),
        &["declares 4000000000 items"],
    );
    // Configs are regular files read up to 1 MiB: /dev/zero is refused at once, not read until
    // memory runs out.
    refused(
        &run_capped(t.path(), &["run", "/dev/zero"], &[], 4 << 20),
        &["/dev/zero", "not a regular file"],
    );
    let big = t.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; (1 << 20) + 1]).unwrap();
    refused(
        &run(t.path(), &["run", s(&big)]),
        &["big.toml", "larger than"],
    );
}

// ---- clear errors -------------------------------------------------------------------------

#[test]
fn errors_name_the_field_the_value_and_what_is_accepted() {
    let t = tmp();
    let o = ["--out", "o"];
    let case = |args: &[&str], needles: &[&str]| {
        let mut a = args.to_vec();
        a.extend(o);
        let line = refused(&run(t.path(), &a), needles);
        not_complete(&t.path().join("o"));
        line
    };
    let line = case(
        &["run", "fig1", "--quick", "--set", "depth=\"many\""],
        &["depth", "linspace", "a list of numbers"],
    );
    assert!(!line.contains("untagged"), "{line}");
    case(
        &["train", "--quick", "--seed", "18446744073709551615"],
        &["seed", "9223372036854775807"],
    );
    case(
        &["train", "--quick", "--seed", "-1"],
        &["seed", "0..=9223372036854775807"],
    );
    case(
        &[
            "run",
            "fig1",
            "--quick",
            "--set",
            "seed=18446744073709551615",
        ],
        &["seed", "out of range"],
    );
    // A clap error is one line too.
    case(&["train", "--no-such-flag"], &["--no-such-flag", "--help"]);
    // An OS error is printed once.
    let line = refused(
        &run(
            t.path(),
            &["run", "fig6", "--quick", "--out", "/proc/no/such/dir"],
        ),
        &["os error"],
    );
    assert_eq!(line.matches("os error").count(), 1, "{line}");
    // TOML syntax errors give the line and the column.
    let cfg = t.path().join("bad.toml");
    std::fs::write(&cfg, "kind = \"probe\"\ndepth = [10,\nbeta = 1\n").unwrap();
    case(&["run", s(&cfg)], &["bad.toml", "line", "column"]);
    // /dev/null is neither a dataset directory nor an archive, and is not called missing.
    let line = case(
        &[
            "train",
            "--quick",
            "--dataset",
            "cifar10",
            "--data",
            "/dev/null",
        ],
        &["/dev/null"],
    );
    assert!(!line.contains("no such file"), "{line}");
    // A gzip that is not a tar: a plain message, no raw bytes.
    let mut noise = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.push((x >> 24) as u8);
    }
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&noise).unwrap();
    std::fs::write(t.path().join("c.tar.gz"), e.finish().unwrap()).unwrap();
    let line = case(
        &[
            "train",
            "--quick",
            "--dataset",
            "cifar10",
            "--data",
            "c.tar.gz",
        ],
        &["c.tar.gz", "not a tar archive"],
    );
    assert!(
        line.chars().all(|c| !c.is_control() && c != '\u{fffd}'),
        "{line}"
    );
    assert!(line.len() < 300, "{line}");
}

#[cfg(unix)]
#[test]
fn non_utf8_data_paths_are_refused_not_mangled() {
    use std::os::unix::ffi::OsStrExt;
    let t = tmp();
    let name = std::ffi::OsStr::from_bytes(b"data-\xff\xfe");
    std::fs::create_dir(t.path().join(name)).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304; exec \"$@\"")
        .arg("sh")
        .arg(bin())
        .args([
            "train",
            "--quick",
            "--dataset",
            "mnist",
            "--out",
            "o",
            "--data",
        ])
        .arg(name)
        .current_dir(t.path())
        .output()
        .unwrap();
    refused(&out, &["--data", "UTF-8"]);
}
