//! Hostile use of output directories (issue 20, items 2 to 4 and the property of "Done means"):
//! a directory depthscale did not create is never adopted nor marked, nothing is ever written
//! through a symbolic link planted in or as an output file, a table that is a symbolic link is
//! never repaired, and random sequences of runs, resumes, `--force`, merges and kills over
//! random trees of user files, symbolic links and markers change nothing depthscale did not
//! create.

mod common;
use common::hostile::*;
use common::ok;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A sweep of one or two tiny cells (well under a second each).
fn tiny_sweep(out: &str, lrs: &str) -> Vec<String> {
    [
        "run",
        "fig9",
        "--set",
        &format!("lr={lrs}"),
        "--set",
        "hurst=[0.5]",
        "--set",
        "beta=[0.5]",
        "--set",
        "epochs=1",
        "--set",
        "train_samples=300",
        "--set",
        "test_samples=100",
        "--set",
        "depth=20",
        "--set",
        "width=8",
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Asserts the file at `path` holds `text`.
#[track_caller]
fn holds(path: &Path, text: &str) {
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        text,
        "{}",
        path.display()
    );
}

#[test]
fn a_foreign_directory_is_never_adopted_nor_marked() {
    // item 2: `mkdir p; cp runs/x/config.toml p/; echo n > p/notes.md; run p/config.toml --out p`
    let t = tmp();
    ok(&run(t.path(), &args(&tiny_sweep("x", "[0.01]"))));
    let p = t.path().join("p");
    std::fs::create_dir(&p).unwrap();
    std::fs::copy(t.path().join("x/config.toml"), p.join("config.toml")).unwrap();
    std::fs::write(p.join("notes.md"), "n\n").unwrap();
    std::fs::write(p.join("summary.json"), "{\"mine\": 1}").unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let mut a = vec!["run", "p/config.toml", "--out", "p"];
        a.extend(extra);
        refused(&run(t.path(), &a), &["not created by depthscale", "p"]);
        holds(&p.join("notes.md"), "n\n");
        holds(&p.join("summary.json"), "{\"mine\": 1}");
        assert!(!p.join(".depthscale").exists(), "marker planted");
        assert_eq!(std::fs::read_dir(&p).unwrap().count(), 3);
    }
    // The same for a reproduction directory.
    refused(
        &run(
            t.path(),
            &["reproduce", "--quick", "--only", "fig6", "--out", "p"],
        ),
        &["not created by depthscale"],
    );
    assert!(!p.join(".depthscale").exists(), "marker planted");
    // The run's own directory still resumes.
    let stdout = ok(&run(t.path(), &args(&tiny_sweep("x", "[0.01]"))));
    assert!(stdout.contains("1 of 1 cells done"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn a_symlink_named_like_the_marker_is_never_written_through() {
    // item 3: `mkdir d; ln -s ~/thesis.tex d/.depthscale; run fig6 --quick --out d --force`
    let t = tmp();
    let thesis = t.path().join("thesis.tex");
    std::fs::write(&thesis, "\\begin{document}\n").unwrap();
    let d = t.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::os::unix::fs::symlink(&thesis, d.join(".depthscale")).unwrap();
    for cmd in [
        &["run", "fig6", "--quick", "--out", "d", "--force"][..],
        &["run", "fig6", "--quick", "--out", "d"][..],
        &["run", "fig9", "--quick", "--out", "d", "--force"][..],
        &["run", "fig9", "--quick", "--out", "d"][..],
    ] {
        refused(&run(t.path(), cmd), &["d"]);
        holds(&thesis, "\\begin{document}\n");
        assert!(d.join(".depthscale").is_symlink());
    }
    // A stale staging directory whose marker is a link is not depthscale's either.
    let s = t.path().join("s.partial");
    std::fs::create_dir(&s).unwrap();
    std::os::unix::fs::symlink(&thesis, s.join(".depthscale")).unwrap();
    refused(
        &run(t.path(), &["run", "fig6", "--quick", "--out", "s"]),
        &["s.partial"],
    );
    holds(&thesis, "\\begin{document}\n");
}

#[cfg(unix)]
#[test]
fn a_sweep_table_that_is_a_symlink_is_refused_not_repaired() {
    // item 4: resuming a sweep whose cells.csv links to a user file with a partial last line.
    let t = tmp();
    let sweep = tiny_sweep("sw", "[0.01, 0.001]");
    ok(&run(t.path(), &args(&sweep)));
    let user = t.path().join("notes.csv");
    let text = "a,b\n1,2\nunfinished";
    std::fs::write(&user, text).unwrap();
    for table in ["cells.csv", "metrics.csv"] {
        let path = t.path().join("sw").join(table);
        let kept = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&user, &path).unwrap();
        refused(&run(t.path(), &args(&sweep)), &[table, "symbolic link"]);
        holds(&user, text);
        // merge reads the same tables
        refused(
            &run(t.path(), &["merge", "sw", "--out", "m"]),
            &[table, "symbolic link"],
        );
        holds(&user, text);
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, kept).unwrap();
    }
}

// ---- the property: random trees and random sequences of commands --------------------------

/// Contents and modes of every entry under `root` (links by their target, never followed),
/// except the output directories `ours` depthscale created.
fn snapshot(root: &Path, ours: &[PathBuf]) -> BTreeMap<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let mut map = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if ours.iter().any(|o| p == *o || p == staging(o)) {
                continue;
            }
            let m = std::fs::symlink_metadata(&p).unwrap();
            let mode = m.permissions().mode();
            let v = if m.file_type().is_symlink() {
                format!("link {:?}", std::fs::read_link(&p).unwrap())
            } else if m.is_dir() {
                stack.push(p.clone());
                format!("dir {mode:o}")
            } else {
                let bytes = std::fs::read(&p).unwrap();
                format!("file {mode:o} {} bytes {:016x}", bytes.len(), fnv(&bytes))
            };
            map.insert(p.strip_prefix(root).unwrap().to_owned(), v);
        }
    }
    map
}

/// FNV-1a of `bytes` (a snapshot compares contents without printing them).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn staging(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// A small deterministic generator (xorshift), seeded per case.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Plants a random user tree in `dir`: files, links to the user's file `secret` (outside), and
/// maybe a marker (a file or a link) that depthscale did not write.
#[cfg(unix)]
fn plant(rng: &mut Rng, dir: &Path, secret: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for name in [
        "notes.md",
        "config.toml",
        "summary.json",
        "cells.csv",
        "metrics.csv",
        ".depthscale",
        "accuracy.png",
    ] {
        match rng.below(4) {
            0 => std::fs::write(dir.join(name), format!("user {name}\n")).unwrap(),
            1 => std::os::unix::fs::symlink(secret, dir.join(name)).unwrap(),
            _ => {}
        }
    }
}

#[cfg(unix)]
#[test]
fn random_commands_over_random_trees_change_nothing_depthscale_did_not_create() {
    let cases: u64 = std::env::var("ABUSE_OUT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    for case in 0..cases {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (case + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
        let t = tmp();
        let root = t.path();
        let secret = root.join("secret.txt");
        std::fs::write(&secret, "secret\n").unwrap();
        let names = ["a", "b", "c"];
        for n in names {
            if rng.below(2) == 0 {
                plant(&mut rng, &root.join(n), &secret);
            }
        }
        let before = snapshot(root, &[]);
        // What depthscale may take: a directory absent or empty before, or one the user marked
        // with a regular `.depthscale` file (that is the marker); staging directories.
        let ours: Vec<PathBuf> = names
            .iter()
            .filter(|n| {
                let entries = before
                    .keys()
                    .filter(|p| p.starts_with(n) && p.as_path() != Path::new(n))
                    .count();
                let marker = before
                    .get(&Path::new(n).join(".depthscale"))
                    .is_some_and(|v| v.starts_with("file"));
                entries == 0 || marker
            })
            .map(|n| root.join(n))
            .collect();
        let mut log = Vec::new();
        for _ in 0..4 {
            let out = names[rng.below(names.len())];
            let mut cmd: Vec<String> = match rng.below(4) {
                0 | 1 => tiny_sweep(out, "[0.01, 0.001]"),
                2 => ["run", "fig6", "--quick", "--out", out]
                    .map(String::from)
                    .to_vec(),
                _ => {
                    let input = names[rng.below(names.len())];
                    ["merge", input, "--out", out].map(String::from).to_vec()
                }
            };
            if rng.below(3) == 0 {
                cmd.push("--force".into());
            }
            let kill = rng.below(3) == 0;
            log.push(format!("{cmd:?} kill={kill}"));
            if kill {
                let mut child = Command::new(bin())
                    .args(&cmd)
                    .current_dir(root)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let start = Instant::now();
                let wait = Duration::from_millis(50 + 50 * rng.below(6) as u64);
                while start.elapsed() < wait && child.try_wait().unwrap().is_none() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let _ = child.kill();
                child.wait().unwrap();
            } else {
                let o = run(root, &args(&cmd));
                if !o.status.success() {
                    refused(&o, &[]);
                }
            }
        }
        let after = snapshot(root, &ours);
        let before: BTreeMap<_, _> = before
            .into_iter()
            .filter(|(p, _)| !ours.iter().any(|o| root.join(p).starts_with(o)))
            .collect();
        let after: BTreeMap<_, _> = after
            .into_iter()
            .filter(|(p, _)| !p.to_string_lossy().ends_with(".partial"))
            .collect();
        assert_eq!(before, after, "case {case}: {log:#?}");
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret\n");
    }
}
