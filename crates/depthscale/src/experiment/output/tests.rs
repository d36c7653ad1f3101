use super::*;

#[test]
fn normalize_resolves_dots_and_trailing_separators() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let n = |p: &Path| normalize("--out", p).unwrap();
    assert_eq!(n(&base.join("runs/x/")), base.join("runs/x"));
    assert_eq!(n(&base.join("runs/./x")), base.join("runs/x"));
    assert_eq!(n(&base.join("runs/x/..")), base.join("runs"));
    assert_eq!(n(&base.join("a/../../b")), base.parent().unwrap().join("b"));
    assert_eq!(staging_path(&n(&base.join("x/"))), base.join("x.partial"));
    assert!(normalize("--out", Path::new("")).is_err());
}

#[test]
fn protected_directories_and_their_ancestors_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("shards/s0");
    std::fs::create_dir_all(&input).unwrap();
    let p = Protected::standard().with(std::slice::from_ref(&input), "an input of this merge");
    for bad in [input.clone(), tmp.path().join("shards"), PathBuf::from("/")] {
        let err = p.check("--out", &bad).unwrap_err().to_string();
        assert!(err.contains("refusing to replace"), "{err}");
    }
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    p.check("--out", &other).unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert!(p.check("--out", &cwd).is_err());
    assert!(p.check("--out", cwd.parent().unwrap()).is_err());
}

#[test]
fn the_lock_is_exclusive_and_names_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let held = DirLock::exclusive(tmp.path()).unwrap();
    match DirLock::exclusive(tmp.path()) {
        Err(Error::InUse { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        DirLock::shared(tmp.path()),
        Err(Error::InUse { .. })
    ));
    drop(held);
    let a = DirLock::shared(tmp.path()).unwrap().unwrap();
    let b = DirLock::shared(tmp.path()).unwrap().unwrap();
    assert!(DirLock::exclusive(tmp.path()).is_err());
    drop((a, b));
    DirLock::exclusive(tmp.path()).unwrap();
}

#[test]
fn staged_outputs_replace_only_marked_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Protected::standard();
    let dir = tmp.path().join("user");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("keep"), "x").unwrap();
    let err = Output::staged(&dir, true, &p).unwrap_err().to_string();
    assert!(err.contains("not created by depthscale"), "{err}");
    assert!(dir.join("keep").is_file());
    // A directory depthscale made is replaced with --force, only at commit.
    let ours = tmp.path().join("ours");
    let out = Output::staged(&ours, false, &p).unwrap();
    std::fs::write(out.dir().join("a"), "1").unwrap();
    out.commit().unwrap();
    assert!(ours.join("a").is_file() && has_marker(&ours));
    assert!(Output::staged(&ours, false, &p).is_err());
    let out = Output::staged(&ours, true, &p).unwrap();
    assert!(ours.join("a").is_file(), "replaced before commit");
    std::fs::write(out.dir().join("b"), "2").unwrap();
    out.commit().unwrap();
    assert!(!ours.join("a").exists() && ours.join("b").is_file());
    // A foreign `.partial` is never deleted.
    let foreign = tmp.path().join("f.partial");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("data"), "x").unwrap();
    assert!(Output::staged(&tmp.path().join("f"), false, &p).is_err());
    assert!(foreign.join("data").is_file());
}

#[test]
fn atomic_writes_leave_no_temporary() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("summary.json");
    write_atomic(&path, "{}").unwrap();
    write_atomic(&path, "{\"a\": 1}").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\": 1}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn capped_reads_stop_at_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f");
    std::fs::write(&path, [7u8; 100]).unwrap();
    assert_eq!(read_capped(&path, 100, "f").unwrap().len(), 100);
    assert!(matches!(
        read_capped(&path, 99, "f"),
        Err(Error::TooLarge { .. })
    ));
    #[cfg(unix)]
    assert!(read_capped(Path::new("/dev/zero"), 1 << 16, "f").is_err());
}

/// A file outside any output directory, with known contents (what must never change).
fn user_file(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, "\\documentclass{article}\n").unwrap();
    p
}

#[test]
fn an_unmarked_directory_is_never_adopted_nor_marked() {
    // issue 20, item 2: a copied config.toml does not make a directory depthscale's.
    let tmp = tempfile::tempdir().unwrap();
    let p = Protected::standard();
    let dir = tmp.path().join("p");
    std::fs::create_dir(&dir).unwrap();
    let config = "kind = \"sweep\"\nepochs = 1\n";
    std::fs::write(dir.join("config.toml"), config).unwrap();
    std::fs::write(dir.join("notes.md"), "n").unwrap();
    std::fs::write(dir.join("summary.json"), "{}").unwrap();
    for force in [false, true] {
        let err = Output::in_place(&dir, force, config, &p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not created by depthscale"), "{err}");
        assert!(dir.join("summary.json").is_file() && dir.join("notes.md").is_file());
        assert!(!dir.join(MARKER).exists(), "marker planted");
    }
    // A directory depthscale made is resumed.
    let ours = tmp.path().join("ours");
    let (out, resuming) = Output::in_place(&ours, false, config, &p).unwrap();
    assert!(!resuming);
    write_atomic(&out.dir().join("config.toml"), config).unwrap();
    drop(out);
    let (_, resuming) = Output::in_place(&ours, false, config, &p).unwrap();
    assert!(resuming);
}

#[cfg(unix)]
#[test]
fn a_symlinked_marker_is_never_written_through() {
    // issue 20, item 3: `ln -s ~/thesis.tex d/.depthscale; run --out d --force`.
    let tmp = tempfile::tempdir().unwrap();
    let p = Protected::standard();
    let thesis = user_file(tmp.path(), "thesis.tex");
    let before = std::fs::read(&thesis).unwrap();
    let d = tmp.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::os::unix::fs::symlink(&thesis, d.join(MARKER)).unwrap();
    assert!(!has_marker(&d));
    assert!(Output::staged(&d, true, &p).is_err());
    assert!(Output::in_place(&d, true, "a = 1\n", &p).is_err());
    assert!(DirLock::exclusive(&d).is_err());
    assert!(DirLock::shared(&d).unwrap().is_none());
    assert_eq!(std::fs::read(&thesis).unwrap(), before);
    // A stale staging directory whose marker is a symlink is not ours either.
    let s = tmp.path().join("s.partial");
    std::fs::create_dir(&s).unwrap();
    std::os::unix::fs::symlink(&thesis, s.join(MARKER)).unwrap();
    assert!(Output::staged(&tmp.path().join("s"), false, &p).is_err());
    assert!(s.join(MARKER).is_symlink());
    assert_eq!(std::fs::read(&thesis).unwrap(), before);
}

#[cfg(unix)]
#[test]
fn files_in_an_output_are_never_written_through_a_symlink() {
    // issue 20, item 3: CSVs, summaries, figures and temporaries alike.
    let tmp = tempfile::tempdir().unwrap();
    let thesis = user_file(tmp.path(), "thesis.tex");
    let before = std::fs::read(&thesis).unwrap();
    let d = tmp.path().join("d");
    std::fs::create_dir(&d).unwrap();
    let planted_tmp = format!(".summary.json.{}.tmp", std::process::id());
    for name in ["summary.json", "results.csv", &planted_tmp] {
        std::os::unix::fs::symlink(&thesis, d.join(name)).unwrap();
    }
    let err = write_atomic(&d.join("summary.json"), "{}")
        .unwrap_err()
        .to_string();
    assert!(err.contains("symbolic link"), "{err}");
    for how in [WriteMode::Truncate, WriteMode::Append, WriteMode::New] {
        let err = open_for_writing(&d.join("results.csv"), how)
            .unwrap_err()
            .to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }
    assert_eq!(std::fs::read(&thesis).unwrap(), before);
    assert!(d.join("summary.json").is_symlink());
    // A directory or a FIFO in the way is refused too, at once.
    std::fs::create_dir(d.join("sub")).unwrap();
    assert!(open_for_writing(&d.join("sub"), WriteMode::Truncate).is_err());
    assert!(write_atomic(&d.join("sub"), "x").is_err());
    let fifo = d.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = open_for_writing(&fifo, WriteMode::Truncate)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a regular file"), "{err}");
    // A regular file is written; temporaries never linger.
    write_atomic(&d.join("ok.json"), "{}").unwrap();
    let mut f = open_for_writing(&d.join("ok.json"), WriteMode::Truncate).unwrap();
    std::io::Write::write_all(&mut f, b"1").unwrap();
    assert_eq!(std::fs::read_to_string(d.join("ok.json")).unwrap(), "1");
}

/// The property test of the output rules (issue 20, "Done means"): random trees of user files,
/// symbolic links and markers, random sequences of staged and in-place runs, resumes, `--force`,
/// merges (inputs protected) and kills (an output dropped before commit); afterwards nothing
/// outside the directories depthscale may take has changed, contents and modes compared.
#[cfg(unix)]
mod property {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;

    const NAMES: [&str; 3] = ["a", "b", "c"];
    const ENTRIES: [&str; 6] = [
        MARKER,
        "config.toml",
        "summary.json",
        "cells.csv",
        "notes.md",
        "fig.png",
    ];
    const CONFIG: &str = "kind = \"sweep\"\nepochs = 1\n";

    /// Every entry under `root` (links by target, never followed) with its mode and contents.
    fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
        let mut map = BTreeMap::new();
        let mut stack = vec![root.to_owned()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                let m = std::fs::symlink_metadata(&p).unwrap();
                let mode = m.permissions().mode();
                let v = if m.file_type().is_symlink() {
                    format!("link {:?}", std::fs::read_link(&p).unwrap())
                } else if m.is_dir() {
                    stack.push(p.clone());
                    format!("dir {mode:o}")
                } else {
                    format!("file {mode:o} {:?}", std::fs::read(&p).unwrap())
                };
                map.insert(p.strip_prefix(root).unwrap().to_owned(), v);
            }
        }
        map
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// A staged run into `name`, committed unless killed.
        Staged {
            name: usize,
            force: bool,
            kill: bool,
        },
        /// An in-place (resumable) run into `name`, writing its tables; killed or finished.
        InPlace {
            name: usize,
            force: bool,
            kill: bool,
        },
        /// A merge of `input` into `name` (staged, the input protected).
        Merge {
            input: usize,
            name: usize,
            force: bool,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..3usize, any::<bool>(), any::<bool>()).prop_map(|(name, force, kill)| Op::Staged {
                name,
                force,
                kill
            }),
            (0..3usize, any::<bool>(), any::<bool>()).prop_map(|(name, force, kill)| Op::InPlace {
                name,
                force,
                kill
            }),
            (0..3usize, 0..3usize, any::<bool>()).prop_map(|(input, name, force)| Op::Merge {
                input,
                name,
                force
            }),
        ]
    }

    /// Per directory: absent, or its entries (index into [`ENTRIES`], 0 a user file, 1 a link
    /// to the secret, 2 a regular file with depthscale's own content for config.toml), and its
    /// mode.
    type Tree = Vec<Option<(Vec<(usize, u8)>, bool)>>;

    fn tree() -> impl Strategy<Value = Tree> {
        proptest::collection::vec(
            proptest::option::of((
                proptest::collection::vec((0..ENTRIES.len(), 0..3u8), 0..5),
                any::<bool>(),
            )),
            NAMES.len(),
        )
    }

    fn plant(root: &Path, secret: &Path, tree: &Tree) {
        for (n, dir) in NAMES.iter().zip(tree) {
            let Some((entries, read_only)) = dir else {
                continue;
            };
            let d = root.join(n);
            std::fs::create_dir(&d).unwrap();
            for (e, kind) in entries {
                let p = d.join(ENTRIES[*e]);
                if std::fs::symlink_metadata(&p).is_ok() {
                    continue;
                }
                match kind {
                    0 => std::fs::write(&p, format!("user {e}\n")).unwrap(),
                    1 => std::os::unix::fs::symlink(secret, &p).unwrap(),
                    _ => std::fs::write(&p, CONFIG).unwrap(),
                }
            }
            if *read_only {
                let f = d.join("notes.md");
                if f.is_file() && !f.is_symlink() {
                    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o400)).unwrap();
                }
            }
        }
    }

    /// Writes what a run writes into `dir` (errors are refusals, allowed).
    fn fill(dir: &Path) {
        let _ = write_atomic(&dir.join("config.toml"), CONFIG);
        if let Ok(mut f) = open_for_writing(&dir.join("cells.csv"), WriteMode::Append) {
            std::io::Write::write_all(&mut f, b"x,y\n1,2\n").unwrap();
        }
        let _ = open_for_writing(&dir.join("fig.png"), WriteMode::Truncate);
        let _ = write_atomic(&dir.join("summary.json"), "{}");
    }

    fn apply(root: &Path, op: &Op) {
        let p = Protected::standard();
        match *op {
            Op::Staged { name, force, kill } => {
                if let Ok(out) = Output::staged(&root.join(NAMES[name]), force, &p) {
                    fill(out.dir());
                    if !kill {
                        let _ = out.commit();
                    }
                }
            }
            Op::InPlace { name, force, kill } => {
                if let Ok((out, _)) = Output::in_place(&root.join(NAMES[name]), force, CONFIG, &p) {
                    fill(out.dir());
                    if !kill {
                        let _ = out.commit();
                    }
                }
            }
            Op::Merge { input, name, force } => {
                let input = root.join(NAMES[input]);
                let _lock = DirLock::shared(&input);
                let p = p.with(std::slice::from_ref(&input), "an input of this merge");
                if let Ok(out) = Output::staged(&root.join(NAMES[name]), force, &p) {
                    fill(out.dir());
                    let _ = out.commit();
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn nothing_depthscale_did_not_create_changes(
            tree in tree(),
            ops in proptest::collection::vec(op(), 1..7),
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let root = tmp.path().canonicalize().unwrap();
            let secret = root.join("secret.txt");
            std::fs::write(&secret, "secret\n").unwrap();
            plant(&root, &secret, &tree);
            let before = snapshot(&root);
            // What depthscale may take: a directory absent or empty before, or one holding a
            // regular `.depthscale` file (that is the marker).
            let ours: Vec<&str> = NAMES
                .iter()
                .copied()
                .filter(|n| {
                    let d = root.join(n);
                    !d.exists() || std::fs::read_dir(&d).unwrap().next().is_none() || has_marker(&d)
                })
                .collect();
            for op in &ops {
                apply(&root, op);
            }
            let keep = |m: BTreeMap<PathBuf, String>| -> BTreeMap<PathBuf, String> {
                m.into_iter()
                    .filter(|(p, _)| {
                        let top = p.components().next().unwrap().as_os_str().to_string_lossy();
                        let top = top.strip_suffix(STAGING_SUFFIX).unwrap_or(&top).to_owned();
                        !ours.contains(&top.as_str())
                    })
                    .collect()
            };
            prop_assert_eq!(keep(before), keep(snapshot(&root)));
            prop_assert_eq!(std::fs::read_to_string(&secret).unwrap(), "secret\n");
        }
    }
}
