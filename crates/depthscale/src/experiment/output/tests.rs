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
