//! The paper's settings, shipped as named TOML presets. Each experiment kind declares its own
//! presets ([`super::Experiment::PRESETS`]: the TOML, its place in `depthscale presets` and, if
//! `depthscale reproduce` runs it, its [`Reproduce`] entry); [`PRESETS`] is every registered
//! kind's presets in listing order. The TOML files live in `crates/depthscale/presets/`, inside
//! the crate so that it packages on its own, and are compiled into the binary
//! (`preset_toml!`).

use std::sync::LazyLock;

/// A named experiment config.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// Name used on the command line (`depthscale run fig7`).
    pub name: &'static str,
    /// The TOML text.
    pub toml: &'static str,
    /// Its place in `depthscale presets` (ascending; unique over all presets).
    pub listed: u16,
    /// How `depthscale reproduce` runs it; `None`: the reproduction does not.
    pub reproduce: Option<Reproduce>,
}

/// A preset's experiment in `depthscale reproduce`: its place in the report, its quick size,
/// its expected times and the paper's claim it checks (the claims themselves are the kind's
/// [`super::Experiment::claims`]).
#[derive(Clone, Copy, Debug)]
pub struct Reproduce {
    /// Its place in the report (ascending; unique over all presets).
    pub place: u16,
    /// The quick-size `--set` overrides; `None`: the runner's `--quick`.
    pub quick: Option<&'static [&'static str]>,
    /// Expected run time in seconds at the quick size, on the 2-core development machine (the
    /// weight of its progress).
    pub quick_seconds: f64,
    /// Expected run time in seconds at the paper's size.
    pub full_seconds: f64,
    /// Whether it trains on a dataset (`reproduce --dataset/--data` then apply to it).
    pub data: bool,
    /// What the paper claims this experiment shows (two lines of the report).
    pub claim: &'static str,
}

impl Preset {
    /// The first comment line of the preset: what it reproduces.
    pub fn description(&self) -> &'static str {
        self.toml
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .unwrap_or("")
    }
}

/// The text of the shipped preset file `crates/depthscale/presets/NAME.toml`, compiled in.
macro_rules! preset_toml {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/presets/",
            $name,
            ".toml"
        ))
    };
}
pub(crate) use preset_toml;

/// Every shipped preset: the presets of every registered kind ([`super::registry::REGISTRY`]),
/// in listing order ([`Preset::listed`]).
pub static PRESETS: LazyLock<Vec<Preset>> = LazyLock::new(|| {
    let mut all: Vec<Preset> = super::registry::REGISTRY
        .iter()
        .flat_map(|k| k.presets.iter().copied())
        .collect();
    all.sort_by_key(|p| p.listed);
    all
});

/// The preset called `name`.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The presets whose names are closest to `name` (case ignored): those at the smallest edit
/// distance (at most three), if it is within a third of the longer name (at least 2). `Fig1` gives
/// `fig1`; `fig10` gives `fig1`; `coordcheck` gives `coord-check`.
pub fn similar_presets(name: &str) -> Vec<&'static str> {
    similar_names(name, PRESETS.iter().map(|p| p.name))
}

/// The `candidates` closest to `name` by the rule of [`similar_presets`] (case ignored; edit
/// distance at most a third of the longer name, at least 2; at most three, the nearest only).
pub fn similar_names(
    name: &str,
    candidates: impl IntoIterator<Item = &'static str>,
) -> Vec<&'static str> {
    let lower = name.to_lowercase();
    let mut scored: Vec<(usize, &'static str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let d = edit_distance(&lower, c);
            let bound = (lower.chars().count().max(c.chars().count()) / 3).max(2);
            (d <= bound).then_some((d, c))
        })
        .collect();
    scored.sort();
    let best = scored.first().map_or(0, |s| s.0);
    scored
        .into_iter()
        .take_while(|s| s.0 == best)
        .take(3)
        .map(|(_, n)| n)
        .collect()
}

/// `did you mean a?`, `did you mean a or b?`, `did you mean a, b or c?`; `None` for no names.
pub fn did_you_mean(names: &[&str]) -> Option<String> {
    match names {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [init @ .., last] => Some(format!("did you mean {} or {last}?", init.join(", "))),
    }
}

/// The text that follows an unknown preset name in errors: `did you mean fig1?` (or two or
/// three names), else where to see them.
pub fn unknown_preset_hint(name: &str) -> String {
    did_you_mean(&similar_presets(name))
        .unwrap_or_else(|| "list them with `depthscale presets`".into())
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_get_the_nearest_presets() {
        assert_eq!(similar_presets("Fig1"), ["fig1"]);
        assert_eq!(similar_presets("fig10"), ["fig1"]);
        assert_eq!(similar_presets("fig"), ["fig1", "fig2", "fig3"]);
        assert_eq!(similar_presets("coordcheck"), ["coord-check"]);
        assert_eq!(similar_presets("Transfer"), ["transfer"]);
        assert!(similar_presets("banana-bread").is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(unknown_preset_hint("SDE"), "did you mean sde?");
        assert_eq!(
            unknown_preset_hint("zzzzzzzz"),
            "list them with `depthscale presets`"
        );
    }

    #[test]
    fn every_preset_parses_and_has_a_description_and_kind() {
        for p in PRESETS.iter() {
            let t: toml::Table =
                toml::from_str(p.toml).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(t.contains_key("kind"), "{} has no kind", p.name);
            assert!(!p.description().is_empty(), "{} has no description", p.name);
        }
    }
}
