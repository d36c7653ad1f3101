//! Where a config comes from (a preset or a file) and `--set key=value` overrides.

use super::presets::preset;
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
    /// A preset by name, or else a TOML file by path.
    pub fn resolve(spec: &str) -> Result<Self> {
        if let Some(p) = preset(spec) {
            return Self::parse(p.name, p.toml, Path::new(spec));
        }
        let path = Path::new(spec);
        if !path.exists() {
            let names: Vec<&str> = super::PRESETS.iter().map(|p| p.name).collect();
            return Err(Error::config(
                "experiment",
                format!(
                    "{spec:?} is neither a preset nor an existing file; presets: {}",
                    names.join(", ")
                ),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".into());
        Self::parse(&name, &text, path)
    }

    /// Parses TOML text (`origin` names it in errors).
    pub fn parse(name: &str, text: &str, origin: &Path) -> Result<Self> {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            Error::data(origin, format!("not valid TOML: {}", one_line(e.message())))
        })?;
        Ok(Self {
            name: name.to_owned(),
            table,
        })
    }
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
        Ok(mut t) => t.remove("v").expect("parsed key"),
        Err(_) => toml::Value::String(raw.to_owned()),
    };
    let mut parts: Vec<&str> = key.split('.').collect();
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
    }
}
