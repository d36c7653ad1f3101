//! What this process may really use: the memory left under every limit that applies to it (the
//! machine's available memory, the cgroup's `memory.max`, `RLIMIT_AS` and `RLIMIT_DATA`), and the
//! free space of the file system that will hold an output (`statvfs`, tmpfs included).

use super::Limit;
use std::path::Path;

/// The smallest of the memory limits that apply to this process, naming it; `None` when none is
/// known.
pub(super) fn memory() -> Option<Limit> {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    let total = sys.total_memory();
    let mut limits = Vec::new();
    if sys.available_memory() > 0 {
        limits.push(Limit {
            bytes: sys.available_memory(),
            source: "available on this machine".into(),
        });
    }
    limits.extend(cgroup(Path::new("/"), total));
    limits.extend(rlimits());
    limits.into_iter().min_by_key(|l| l.bytes)
}

/// The memory left under the cgroup limit of this process (v2 `memory.max`, v1
/// `memory.limit_in_bytes`): the limit minus the usage that cannot be reclaimed (usage less the
/// inactive file cache). `root` is `/` (tests give a fake tree); a limit at or above `total`
/// (the machine's memory) is no limit.
pub(super) fn cgroup(root: &Path, total: u64) -> Option<Limit> {
    let membership = std::fs::read_to_string(root.join("proc/self/cgroup")).ok()?;
    let cg = root.join("sys/fs/cgroup");
    // (directory, limit file, usage file, stat file, inactive-file key, name shown)
    let mut candidates = Vec::new();
    for line in membership.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let rel = path.trim_start_matches('/');
        if controllers.is_empty() {
            for dir in [cg.join(rel), cg.clone()] {
                candidates.push((
                    dir,
                    "memory.max",
                    "memory.current",
                    "inactive_file",
                    "memory.max",
                ));
            }
        } else if controllers.split(',').any(|c| c == "memory") {
            for dir in [cg.join("memory").join(rel), cg.join("memory")] {
                candidates.push((
                    dir,
                    "memory.limit_in_bytes",
                    "memory.usage_in_bytes",
                    "total_inactive_file",
                    "memory.limit_in_bytes",
                ));
            }
        }
    }
    candidates
        .into_iter()
        .filter_map(|(dir, max, current, inactive, shown)| {
            let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
            let limit: u64 = read(max)?.trim().parse().ok()?;
            if limit >= total {
                return None;
            }
            let used: u64 = read(current)?.trim().parse().ok()?;
            let cache = read("memory.stat")
                .and_then(|s| {
                    s.lines().find_map(|l| {
                        let (k, v) = l.split_once(' ')?;
                        (k == inactive).then(|| v.trim().parse::<u64>().ok())?
                    })
                })
                .unwrap_or(0);
            Some(Limit {
                bytes: limit.saturating_sub(used.saturating_sub(cache)),
                source: format!("left under this process's cgroup memory limit ({shown})"),
            })
        })
        .min_by_key(|l| l.bytes)
}

/// Address space the allocator reserves per thread that allocates (glibc maps a 64 MiB arena
/// for each), counted against `RLIMIT_AS` but not yet mapped when the limit is read.
const ARENA_BYTES: u64 = 64 << 20;

/// Address space each worker thread reserves beyond the run's own buffers, counted against
/// `RLIMIT_AS` but not yet mapped when the limit is read: its allocator arena, and the scratch
/// buffer of the matrix-multiply kernels (faer's x86 gemm keeps twice the L3 cache size per
/// thread, read from sysfs where available).
fn per_thread_reserve() -> u64 {
    let l3 = (0..8)
        .find_map(|i| {
            let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
            let level = std::fs::read_to_string(format!("{dir}/level")).ok()?;
            if level.trim() != "3" {
                return None;
            }
            let size = std::fs::read_to_string(format!("{dir}/size")).ok()?;
            super::parse_size(size.trim())
        })
        .unwrap_or(32 << 20);
    ARENA_BYTES.saturating_add(l3.saturating_mul(2))
}

/// The memory left under `RLIMIT_AS` (`ulimit -v`) and `RLIMIT_DATA` (`ulimit -d`): each limit
/// less what the process already maps (its virtual size, its data segment); the address space
/// also less what the worker threads will reserve ([`per_thread_reserve`]).
#[cfg(unix)]
fn rlimits() -> Vec<Limit> {
    let (virtual_size, data_size) = mapped();
    let arenas = per_thread_reserve().saturating_mul(rayon::current_num_threads() as u64);
    let virtual_size = virtual_size.saturating_add(arenas);
    let mut out = Vec::new();
    for (resource, used, shown) in [
        (
            libc::RLIMIT_AS,
            virtual_size,
            "the address-space limit (RLIMIT_AS, ulimit -v)",
        ),
        (
            libc::RLIMIT_DATA,
            data_size,
            "the data-segment limit (RLIMIT_DATA, ulimit -d)",
        ),
    ] {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `r` is a valid, writable rlimit; getrlimit only writes it.
        if unsafe { libc::getrlimit(resource, &mut r) } != 0 || r.rlim_cur == libc::RLIM_INFINITY {
            continue;
        }
        #[allow(clippy::useless_conversion)]
        let cap = u64::try_from(r.rlim_cur).unwrap_or(u64::MAX);
        out.push(Limit {
            bytes: cap.saturating_sub(used),
            source: format!("left under {shown}"),
        });
    }
    out
}

#[cfg(not(unix))]
fn rlimits() -> Vec<Limit> {
    Vec::new()
}

/// This process's virtual size and data segment in bytes (`/proc/self/statm`; zeros where it
/// cannot be read).
#[cfg(unix)]
fn mapped() -> (u64, u64) {
    // SAFETY: sysconf has no preconditions.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return (0, 0);
    };
    let fields: Vec<u64> = statm
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| fields.get(i).copied().unwrap_or(0).saturating_mul(page);
    (at(0), at(5))
}

/// The space an unprivileged process may still write on the file system holding `path`, or its
/// nearest existing ancestor (`statvfs`: `f_bavail x f_frsize`; tmpfs and every other file
/// system alike; `None` where the file system reports no capacity, as `/proc` does).
#[cfg(unix)]
pub(super) fn free_space(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let abs = std::path::absolute(path).ok()?;
    let existing = abs.ancestors().find(|a| a.exists())?;
    let c_path = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is a NUL-terminated path and `st` a writable statvfs.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    // A file system that reports no capacity at all (`/proc`, `/sys`) has no meaningful free
    // space: unknown, and the write itself reports what goes wrong.
    if st.f_blocks == 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    let (blocks, size) = (u64::from(st.f_bavail), st.f_frsize as u64);
    Some(blocks.saturating_mul(size))
}

/// The free space of the disk holding `path` (sysinfo's disk list).
#[cfg(not(unix))]
pub(super) fn free_space(path: &Path) -> Option<u64> {
    let abs = std::path::absolute(path).ok()?;
    let existing = abs.ancestors().find_map(|a| a.canonicalize().ok())?;
    let disks = sysinfo::Disks::new_with_refreshed_list();
    disks
        .list()
        .iter()
        .filter(|d| existing.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| d.available_space())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn cgroup_limits_v1_and_v2_are_read_less_the_reclaimable_cache() {
        let total = 64 << 30;
        let v2 = tempfile::tempdir().unwrap();
        let r = v2.path();
        write(r, "proc/self/cgroup", "0::/job/42\n");
        write(r, "sys/fs/cgroup/job/42/memory.max", "1073741824\n");
        write(r, "sys/fs/cgroup/job/42/memory.current", "600000000\n");
        write(
            r,
            "sys/fs/cgroup/job/42/memory.stat",
            "anon 1\ninactive_file 100000000\n",
        );
        let l = cgroup(r, total).unwrap();
        assert_eq!(l.bytes, 1_073_741_824 - 500_000_000);
        assert!(l.source.contains("memory.max"), "{}", l.source);
        write(r, "sys/fs/cgroup/job/42/memory.max", "max\n");
        assert_eq!(cgroup(r, total), None);

        let v1 = tempfile::tempdir().unwrap();
        let r = v1.path();
        write(r, "proc/self/cgroup", "5:cpu:/\n4:memory:/pod/x\n0::/\n");
        write(
            r,
            "sys/fs/cgroup/memory/pod/x/memory.limit_in_bytes",
            "2147483648",
        );
        write(
            r,
            "sys/fs/cgroup/memory/pod/x/memory.usage_in_bytes",
            "147483648",
        );
        let l = cgroup(r, total).unwrap();
        assert_eq!(l.bytes, 2_000_000_000);
        assert!(l.source.contains("memory.limit_in_bytes"), "{}", l.source);
        // unlimited (v1 writes a huge number)
        write(
            r,
            "sys/fs/cgroup/memory/pod/x/memory.limit_in_bytes",
            "9223372036854771712",
        );
        assert_eq!(cgroup(r, total), None);
        assert_eq!(cgroup(Path::new("/nonexistent"), total), None);
    }

    #[cfg(unix)]
    #[test]
    fn free_space_is_read_from_the_nearest_existing_ancestor() {
        let t = tempfile::tempdir().unwrap();
        let deep = t.path().join("a/b/c");
        let free = free_space(&deep).unwrap();
        assert!(free > 0);
        assert!(free_space(Path::new("relative/not/there")).is_some());
    }
}
