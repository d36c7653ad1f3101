//! Where a config comes from (a preset or a file) and `--set key=value` overrides.

use super::output::read_capped;
use super::presets::preset;
use crate::budget::MAX_CONFIG_BYTES;
use crate::{Error, Result};
use std::path::Path;

/// A config before it is typed: its name (preset name or file stem) and its TOML table.
#[derive(Clone, Debug)]
pub struct ConfigSource {
    /// Preset name or file stem; names the default output directory.
    pub name: String,
    /// The raw table, `kind` included.
    pub table: toml::Table,
}

impl ConfigSource {
    /// A preset by name, or else a TOML file by path (at most
    /// [`MAX_CONFIG_BYTES`](crate::budget::MAX_CONFIG_BYTES), UTF-8).
    pub fn resolve(spec: &str) -> Result<Self> {
        if let Some(p) = preset(spec) {
            return Self::parse(p.name, p.toml, Path::new(spec));
        }
        let path = Path::new(spec);
        if !path.exists() {
            return Err(Error::config(
                "experiment",
                format!(
                    "{spec:?} is neither a preset nor an existing file; {}",
                    super::unknown_preset_hint(spec)
                ),
            ));
        }
        if path.is_dir() {
            return Err(Error::config(
                "experiment",
                format!(
                    "{spec} is a directory; give a TOML config file (e.g. {spec}/config.toml) or a preset"
                ),
            ));
        }
        let text = read_text(path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".into());
        Self::parse(&name, &text, path)
    }

    /// Parses TOML text (`origin` names it in errors, with the line and column of a syntax
    /// error).
    pub fn parse(name: &str, text: &str, origin: &Path) -> Result<Self> {
        Ok(Self {
            name: name.to_owned(),
            table: parse_toml(text, origin)?,
        })
    }
}

/// Reads a config file as UTF-8 text, at most [`MAX_CONFIG_BYTES`] bytes.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = read_capped(path, MAX_CONFIG_BYTES, "config")?;
    String::from_utf8(bytes).map_err(|e| {
        Error::data(
            path,
            format!(
                "not a text file (invalid UTF-8 at byte {}); configs are TOML text",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Reads and parses a TOML file (capped like [`read_text`]).
pub(crate) fn read_toml(path: &Path) -> Result<toml::Table> {
    parse_toml(&read_text(path)?, path)
}

/// Parses TOML text; a syntax error names `origin`, the line and the column.
pub(crate) fn parse_toml(text: &str, origin: &Path) -> Result<toml::Table> {
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(" at line {line}, column {col}")
            })
            .unwrap_or_default();
        Error::data(
            origin,
            format!("not valid TOML{at}: {}", one_line(e.message())),
        )
    })
}

/// Applies `key=value` to a table. The value is read as TOML (`depth=2000`, `beta=[0.5,1]`,
/// `hurst={linspace=[0.1,0.9,9]}`, `title="x"`); if it is not valid TOML it is taken as a
/// string (`init_v=fbm(0.3)`). Dotted keys address nested tables.
pub fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<()> {
    let (key, raw) = assignment
        .split_once('=')
        .ok_or_else(|| Error::config("--set", format!("expected KEY=VALUE, got {assignment:?}")))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(Error::config(
            "--set",
            format!("empty key in {assignment:?}"),
        ));
    }
    let raw = raw.trim();
    let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => match t.remove("v") {
            Some(v) if t.is_empty() => v,
            _ => toml::Value::String(raw.to_owned()),
        },
        Err(_) if looks_like_integer(raw) => {
            return Err(Error::config(
                key,
                format!(
                    "integer {raw} is out of range: config integers are 64-bit, in {}..={}",
                    i64::MIN,
                    i64::MAX
                ),
            ));
        }
        Err(_) => toml::Value::String(raw.to_owned()),
    };
    let mut parts: Vec<&str> = key.split('.').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(Error::config(
            "--set",
            format!("empty component in the key of {assignment:?}"),
        ));
    }
    let last = parts.pop().expect("non-empty key");
    let mut cur = table;
    for part in parts {
        cur = cur
            .entry(part)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| Error::config(key, format!("`{part}` is not a table")))?;
    }
    cur.insert(last.to_owned(), value);
    Ok(())
}

/// Whether `s` is spelled like a decimal integer (optional sign, digits and `_`).
fn looks_like_integer(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && digits.bytes().any(|b| b.is_ascii_digit())
}

/// Collapses a multi-line message into one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_toml_values_and_fall_back_to_strings() {
        let mut t = toml::Table::new();
        apply_override(&mut t, "depth=2000").unwrap();
        apply_override(&mut t, "beta=[0.5, 1]").unwrap();
        apply_override(&mut t, "init_v=fbm(0.3)").unwrap();
        apply_override(&mut t, "a.b=true").unwrap();
        assert_eq!(t["depth"].as_integer(), Some(2000));
        assert_eq!(t["beta"].as_array().unwrap().len(), 2);
        assert_eq!(t["init_v"].as_str(), Some("fbm(0.3)"));
        assert_eq!(t["a"]["b"].as_bool(), Some(true));
        assert!(apply_override(&mut t, "novalue").is_err());
        assert!(apply_override(&mut t, "a..b=1").is_err());
        // `x = 1` inside the value is not a second key
        apply_override(&mut t, "title=a\nb = 2").unwrap();
        assert_eq!(t["title"].as_str(), Some("a\nb = 2"));
        let err = apply_override(&mut t, "seed=18446744073709551615")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("seed") && err.contains("9223372036854775807"),
            "{err}"
        );
    }

    #[test]
    fn toml_errors_give_line_and_column_and_files_are_capped() {
        let err = ConfigSource::parse("x", "a = 1\nb = = 2\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.toml") && err.contains("line 2, column 5"),
            "{err}"
        );
        let tmp = tempfile::tempdir().unwrap();
        let big = tmp.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_CONFIG_BYTES as usize + 1]).unwrap();
        let err = ConfigSource::resolve(big.to_str().unwrap()).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        let bin = tmp.path().join("bin.toml");
        std::fs::write(&bin, [0xff, 0xfe, 0]).unwrap();
        let err = ConfigSource::resolve(bin.to_str().unwrap()).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
        #[cfg(unix)]
        {
            // not regular files: refused at once, never read (a FIFO would block forever)
            let err = ConfigSource::resolve("/dev/zero").unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
    }
}
