//! Sizes and resource budgets: checked buffer-size arithmetic, the caps on untrusted input, and
//! the memory and disk a run may use.
//!
//! - Buffer lengths that come from user input are computed with [`len`]: a checked product whose
//!   overflow (or a size no allocation could have) is an [`Error::TooLarge`] naming the field,
//!   never a wrapped multiplication or a "capacity overflow" panic.
//! - Before a run allocates anything, the runner asks the experiment for its [`Footprint`]
//!   (estimated from the resolved config: the big buffers, the rows kept in memory, the bytes of
//!   the files it writes) and checks it against [`Limits`]: the memory this process may still
//!   use (the smallest of the machine's available memory, the cgroup limit and `RLIMIT_AS` /
//!   `RLIMIT_DATA`) and the free space of the output's file system (`statvfs`), each lowered by the environment variables `DEPTHSCALE_MAX_MEMORY` and
//!   `DEPTHSCALE_MAX_DISK` when they are set (a number of bytes, optionally followed by `K`, `M`,
//!   `G` or `T`, powers of 1024). A run over a limit is refused in one line naming the field to
//!   shrink.
//! - Reads of untrusted files are capped: configs at [`MAX_CONFIG_BYTES`], dataset files by what
//!   their headers declare (see [`crate::train::data`]), checkpoints by their own header; and
//!   they are opened with [`open_regular`], which refuses a FIFO, a device or a socket at once
//!   instead of blocking on it.

mod machine;
mod regular;

pub use regular::open_regular;

use crate::{Error, Result};
use std::path::Path;

/// The largest config file (TOML) read: 1 MiB.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The longest `title` (in characters) a config may give its figures.
pub const MAX_TITLE_CHARS: usize = 500;

/// `--threads` may be at most this multiple of the cores available to the process.
pub const THREADS_PER_CORE: usize = 8;

/// Environment variable capping the memory a run may plan to use.
pub const MEMORY_VAR: &str = "DEPTHSCALE_MAX_MEMORY";

/// Environment variable capping the disk space a run may plan to write.
pub const DISK_VAR: &str = "DEPTHSCALE_MAX_DISK";

/// The length of a buffer of `elem_bytes`-byte elements with `factors` as its shape: their
/// product, checked. Overflow, or a size in bytes beyond what any allocation can have
/// (`isize::MAX`), is an [`Error::TooLarge`] naming `field`.
pub fn len(field: &str, elem_bytes: usize, factors: &[usize]) -> Result<usize> {
    let n = factors
        .iter()
        .try_fold(1usize, |acc, &f| acc.checked_mul(f))
        .filter(|n| {
            n.checked_mul(elem_bytes.max(1))
                .is_some_and(|b| b <= isize::MAX as usize)
        });
    n.ok_or_else(|| {
        let shape: Vec<String> = factors.iter().map(usize::to_string).collect();
        Error::too_large(
            field,
            format!(
                "a buffer of shape {} overflows the address space; shrink `{field}`",
                shape.join(" x ")
            ),
        )
    })
}

/// `elem_bytes * prod(factors)` for estimates: saturating at `u128::MAX`, never wrapping.
pub fn bytes(elem_bytes: usize, factors: &[usize]) -> u128 {
    factors
        .iter()
        .fold(elem_bytes as u128, |acc, &f| acc.saturating_mul(f as u128))
}

/// The field whose count is largest (the first on ties): the one to name when a product of
/// several counts is too large.
pub fn largest(fields: &[(&'static str, usize)]) -> &'static str {
    fields
        .iter()
        .fold(
            None,
            |best: Option<(&'static str, usize)>, &(f, n)| match best {
                Some((_, m)) if m >= n => best,
                _ => Some((f, n)),
            },
        )
        .map_or("config", |(f, _)| f)
}

/// One entry of a [`Footprint`]: what needs the bytes and which field to shrink.
#[derive(Clone, Debug, PartialEq)]
pub struct Need {
    /// The config field that drives this need (named in the error).
    pub field: &'static str,
    /// What the bytes are for, with its shape (e.g. `"weights V: depth x width^2 f64"`).
    pub what: String,
    /// Estimated bytes.
    pub bytes: u128,
}

/// The estimated peak memory and the disk space of one run, entry by entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Footprint {
    /// What lives in memory at the peak (summed).
    pub memory: Vec<Need>,
    /// What is written to the output directory (summed).
    pub disk: Vec<Need>,
}

impl Footprint {
    /// Adds a memory need.
    pub fn memory(mut self, field: &'static str, what: impl Into<String>, bytes: u128) -> Self {
        self.memory.push(Need {
            field,
            what: what.into(),
            bytes,
        });
        self
    }

    /// Adds a disk need.
    pub fn disk(mut self, field: &'static str, what: impl Into<String>, bytes: u128) -> Self {
        self.disk.push(Need {
            field,
            what: what.into(),
            bytes,
        });
        self
    }

    /// Total estimated memory in bytes (saturating).
    pub fn memory_bytes(&self) -> u128 {
        total(&self.memory)
    }

    /// Total estimated disk space in bytes (saturating).
    pub fn disk_bytes(&self) -> u128 {
        total(&self.disk)
    }

    /// Refuses a footprint over `limits`, naming the field of its largest need.
    pub fn check(&self, limits: &Limits) -> Result<()> {
        check_one("memory", &self.memory, limits.memory.as_ref())?;
        check_one("disk space", &self.disk, limits.disk.as_ref())
    }
}

fn total(needs: &[Need]) -> u128 {
    needs.iter().fold(0u128, |a, n| a.saturating_add(n.bytes))
}

fn check_one(resource: &str, needs: &[Need], limit: Option<&Limit>) -> Result<()> {
    let Some(limit) = limit else { return Ok(()) };
    let need = total(needs);
    if need <= u128::from(limit.bytes) {
        return Ok(());
    }
    let top = needs
        .iter()
        .max_by_key(|n| n.bytes)
        .expect("a non-zero total has an entry");
    Err(Error::too_large(
        top.field,
        format!(
            "the run needs about {} of {resource} ({}: {}), more than the {} {}; shrink `{}`",
            human(need),
            top.what,
            human(top.bytes),
            human(u128::from(limit.bytes)),
            limit.source,
            top.field
        ),
    ))
}

/// Footprints needing less memory than this are not compared with the machine's memory (every
/// machine running depthscale has it; this spares small calls a query of the system), unless
/// `DEPTHSCALE_MAX_MEMORY` is set.
pub const SMALL_MEMORY: u128 = 64 << 20;

/// Checks the memory of `footprint` (its disk needs are ignored) against the memory limit of
/// [`Limits::detect`]: for work that keeps its results in memory and writes nothing, such as
/// the Python binding's calls. Over the limit: an [`Error::TooLarge`] naming the field of the
/// largest need.
pub fn check_memory(footprint: &Footprint) -> Result<()> {
    if footprint.memory_bytes() < SMALL_MEMORY && std::env::var_os(MEMORY_VAR).is_none() {
        return Ok(());
    }
    let limits = Limits {
        disk: None,
        ..Limits::detect(Path::new("."))?
    };
    footprint.check(&limits)
}

/// A limit on one resource and where it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    /// The limit in bytes.
    pub bytes: u64,
    /// Where it comes from, as shown in errors (e.g. `"available on this machine"`).
    pub source: String,
}

/// The memory and disk a run may use; `None`: unlimited (unknown).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// Memory limit.
    pub memory: Option<Limit>,
    /// Disk limit for the output directory.
    pub disk: Option<Limit>,
}

impl Limits {
    /// The memory this process may still use (the smallest of the machine's available
    /// memory, what is left under the cgroup's memory limit and under `RLIMIT_AS` /
    /// `RLIMIT_DATA`, the one that binds named in errors) and the free space of the file system
    /// that will hold `out` (`statvfs` of its nearest existing ancestor), each lowered by
    /// `DEPTHSCALE_MAX_MEMORY` / `DEPTHSCALE_MAX_DISK` when set. A malformed variable is an
    /// [`Error::Config`] naming it.
    pub fn detect(out: &Path) -> Result<Self> {
        let disk = machine::free_space(out).map(|bytes| Limit {
            bytes,
            source: "free on the output's file system".into(),
        });
        Ok(Self {
            memory: lower(machine::memory(), MEMORY_VAR)?,
            disk: lower(disk, DISK_VAR)?,
        })
    }

    /// No limit at all (for callers that check resources themselves).
    pub fn unlimited() -> Self {
        Self::default()
    }
}

/// `limit` lowered to the cap in the environment variable `var`, if set.
fn lower(limit: Option<Limit>, var: &str) -> Result<Option<Limit>> {
    let Some(raw) = std::env::var_os(var) else {
        return Ok(limit);
    };
    let text = raw.to_string_lossy();
    let cap = parse_size(&text).ok_or_else(|| {
        Error::config(
            var,
            format!(
                "expected a number of bytes, optionally followed by K, M, G or T (powers of 1024), got {text:?}"
            ),
        )
    })?;
    Ok(match limit {
        Some(l) if l.bytes <= cap => Some(l),
        _ => Some(Limit {
            bytes: cap,
            source: format!("allowed by {var}"),
        }),
    })
}

/// Parses `123`, `64K`, `8G`, `1.5T` (powers of 1024) into bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&s[..i], 1 << 20),
        (i, 'G' | 'g') => (&s[..i], 1 << 30),
        (i, 'T' | 't') => (&s[..i], 1 << 40),
        _ => (s, 1),
    };
    let x: f64 = num.trim().parse().ok()?;
    let b = x * mult as f64;
    (b.is_finite() && b >= 0.0 && b < u64::MAX as f64).then_some(b as u64)
}

/// Bytes for people: `512 B`, `3.4 MB`, `1.2 TB` (powers of 1000).
pub fn human(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut x = bytes as f64;
    let mut unit = 0;
    while x >= 1000.0 && unit < UNITS.len() - 1 {
        x /= 1000.0;
        unit += 1;
    }
    if x >= 1000.0 {
        format!("{x:.1e} {}", UNITS[unit])
    } else {
        format!("{x:.1} {}", UNITS[unit])
    }
}

/// The largest `--threads` accepted: [`THREADS_PER_CORE`] times the cores available to this
/// process.
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    THREADS_PER_CORE * cores
}

/// Checks a requested thread count against `1..=max_threads()`; `field` names the flag.
pub fn check_threads(field: &str, n: usize) -> Result<()> {
    let max = max_threads();
    if (1..=max).contains(&n) {
        Ok(())
    } else {
        Err(Error::config(
            field,
            format!(
                "must lie in 1..={max} ({THREADS_PER_CORE} x the {} cores available), got {n}",
                max / THREADS_PER_CORE
            ),
        ))
    }
}

/// Checks a figure title's length against [`MAX_TITLE_CHARS`], and that it is printable
/// ([`check_printable`]).
pub fn check_title(field: &str, title: &str) -> Result<()> {
    let n = title.chars().count();
    if n > MAX_TITLE_CHARS {
        return Err(Error::config(
            field,
            format!("must be at most {MAX_TITLE_CHARS} characters, got {n}"),
        ));
    }
    check_printable(field, title)
}

/// Refuses text shown in figures and tables (titles, names) that holds a control character
/// (`U+0000..=U+001F`, `U+007F..=U+009F`, newlines and tabs included): an SVG cannot hold most
/// of them, and none prints.
pub fn check_printable(field: &str, text: &str) -> Result<()> {
    match text.chars().position(char::is_control) {
        None => Ok(()),
        Some(at) => {
            let c = text.chars().nth(at).expect("a position of the text");
            Err(Error::config(
                field,
                format!(
                    "holds the control character U+{:04X} at character {at} of {text:?}; accepted: one line of printable text",
                    c as u32
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn len_checks_products_and_names_the_field() {
        assert_eq!(len("depth", 4, &[1000, 30, 30]).unwrap(), 900_000);
        match len("depth", 4, &[576_460_752_303_423_488, 32, 32]) {
            Err(Error::TooLarge { field, .. }) => assert_eq!(field, "depth"),
            other => panic!("{other:?}"),
        }
        // fits in usize but not in an allocation of f64
        assert!(len("n", 8, &[usize::MAX / 4]).is_err());
        assert_eq!(bytes(8, &[usize::MAX, usize::MAX, 4]), u128::MAX);
        assert_eq!(largest(&[("a", 3), ("b", 7), ("c", 7)]), "b");
    }

    #[test]
    fn footprint_over_a_limit_names_the_largest_need() {
        let f = Footprint::default()
            .memory("samples", "rows", 10)
            .memory("depth", "weights", 2_000)
            .disk("samples", "results.csv", 5);
        let limits = |m: u64, d: u64| Limits {
            memory: Some(Limit {
                bytes: m,
                source: "test".into(),
            }),
            disk: Some(Limit {
                bytes: d,
                source: "test".into(),
            }),
        };
        f.check(&limits(2_010, 5)).unwrap();
        let err = f.check(&limits(2_009, 5)).unwrap_err().to_string();
        assert!(err.starts_with("`depth` is too large"), "{err}");
        assert!(
            err.contains("2.0 kB of memory") && err.contains("weights"),
            "{err}"
        );
        let err = f.check(&limits(1 << 20, 4)).unwrap_err().to_string();
        assert!(err.contains("`samples`") && err.contains("disk"), "{err}");
        f.check(&Limits::unlimited()).unwrap();
    }

    #[test]
    fn memory_checks_ignore_the_disk_and_pass_small_footprints() {
        let small = Footprint::default()
            .memory("depth", "weights", 1 << 20)
            .disk("depth", "results.csv", u128::MAX);
        check_memory(&small).unwrap();
        let huge = Footprint::default().memory("width", "weights", 1 << 80);
        let err = check_memory(&huge).unwrap_err().to_string();
        assert!(err.starts_with("`width` is too large"), "{err}");
    }

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("64K"), Some(65_536));
        assert_eq!(parse_size("1.5g"), Some(3 << 29));
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(human(999), "999 B");
        assert_eq!(human(3_600_000_000_000), "3.6 TB");
        assert!(human(u128::MAX).ends_with("EB"));
    }

    #[test]
    fn threads_and_titles_are_bounded() {
        assert!(check_threads("--threads", 1).is_ok());
        assert!(check_threads("--threads", max_threads()).is_ok());
        assert!(check_threads("--threads", 0).is_err());
        let err = check_threads("--threads", 100_000).unwrap_err().to_string();
        assert!(err.contains("--threads") && err.contains("100000"), "{err}");
        assert!(check_title("title", &"x".repeat(MAX_TITLE_CHARS)).is_ok());
        assert!(check_title("title", &"é".repeat(MAX_TITLE_CHARS + 1)).is_err());
        for bad in ["a\u{1b}b", "a\nb", "\t", "\u{7f}", "\u{85}"] {
            let err = check_title("title", bad).unwrap_err().to_string();
            assert!(err.contains("title") && err.contains("U+"), "{err}");
        }
        assert!(check_title("title", "H = 0.5, β ≤ 1 & <ok>").is_ok());
    }

    #[test]
    fn machine_limits_are_read() {
        let l = Limits::detect(Path::new(".")).unwrap();
        // Any machine running the tests has some memory available and a file system.
        assert!(
            l.memory.as_ref().is_some_and(|m| m.bytes > 1 << 20),
            "{l:?}"
        );
        assert!(l.disk.is_some(), "{l:?}");
    }
}
