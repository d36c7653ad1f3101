//! Stage 1, plan: which presets run, at which size, with what overrides, and how long each is
//! expected to take (the weights of the overall progress display), from the presets' [`Reproduce`]
//! entries.

use crate::experiment::{PRESETS, Reproduce};

/// One experiment of the reproduction.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The preset's name (also its subdirectory of the reproduction's output).
    pub preset: &'static str,
    /// Whether the runner's own `--quick` applies.
    pub runner_quick: bool,
    /// `--set` overrides, applied before the runner's `--quick`.
    pub overrides: Vec<String>,
    /// Expected run time in seconds on the 2-core development machine (progress weights).
    pub seconds: f64,
    /// What the paper claims this experiment shows (two lines of the report).
    pub claim: &'static str,
}

/// Every preset the reproduction runs, in report order: the registered presets with a
/// [`Reproduce`] entry (declared by their kinds), sorted by [`Reproduce::place`].
///
/// The quick sizes are chosen so that each claim of [`super::claims`] holds at that size:
/// depth stays at the paper's L = 1000 for the probes (the runner's `--quick` caps it at 100,
/// where the closed forms and the phase boundary are not yet sharp); the limits keep the
/// runner's `--quick` (three depths up to 256, 48 paths: slopes within about 0.12 of theory).
fn reproduced() -> Vec<(&'static str, Reproduce)> {
    let mut all: Vec<(&'static str, Reproduce)> = PRESETS
        .iter()
        .filter_map(|p| p.reproduce.map(|r| (p.name, r)))
        .collect();
    all.sort_by_key(|(_, r)| r.place);
    all
}

/// The names of every preset the reproduction runs, in report order.
pub fn preset_names() -> Vec<&'static str> {
    reproduced().into_iter().map(|(name, _)| name).collect()
}

/// Refuses an empty list of experiment names, or a name that is not a preset of the
/// reproduction; `field` names the option (`--only`, `--redo`) in errors.
pub fn check_names(field: &str, names: &[String]) -> crate::Result<()> {
    if names.is_empty() {
        return Err(crate::Error::config(field, "name at least one experiment"));
    }
    for name in names {
        if !reproduced().iter().any(|(p, _)| p == name) {
            let near = crate::experiment::presets::similar_names(name, preset_names());
            let hint = crate::experiment::presets::did_you_mean(&near).unwrap_or_else(|| {
                format!(
                    "the reproduction's experiments: {}",
                    preset_names().join(", ")
                )
            });
            return Err(crate::Error::config(
                field,
                format!("unknown experiment {name:?}; {hint}"),
            ));
        }
    }
    Ok(())
}

/// The entries to run: every preset, or those of `only` (in report order); `quick` selects
/// the reduced sizes; `data` (dataset name and directory) applies to the training presets.
pub fn plan(
    only: Option<&[String]>,
    quick: bool,
    data: Option<(&str, &str)>,
    seed: Option<u64>,
) -> crate::Result<Vec<Entry>> {
    if let Some(only) = only {
        check_names("--only", only)?;
    }
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    Ok(reproduced()
        .into_iter()
        .filter(|(preset, _)| only.is_none_or(|o| o.iter().any(|n| n == preset)))
        .map(|(preset, r)| {
            let mut overrides = Vec::new();
            if let (Some((name, dir)), true) = (data, r.data) {
                overrides.push(format!("dataset={}", quote(name)));
                overrides.push(format!("data_dir={}", quote(dir)));
            }
            if let Some(seed) = seed {
                overrides.push(format!("seed={seed}"));
            }
            let runner_quick = quick && r.quick.is_none();
            if quick {
                overrides.extend(r.quick.unwrap_or(&[]).iter().map(|s| s.to_string()));
            }
            Entry {
                preset,
                runner_quick,
                overrides,
                seconds: if quick {
                    r.quick_seconds
                } else {
                    r.full_seconds
                },
                claim: r.claim,
            }
        })
        .collect())
}

impl Entry {
    /// The command that reruns this experiment alone (into `out`).
    pub fn command(&self, out: &str) -> String {
        let mut c = format!("depthscale run {}", self.preset);
        if self.runner_quick {
            c.push_str(" --quick");
        }
        for o in &self.overrides {
            c.push_str(&format!(" --set '{}'", o.replace('\'', "'\\''")));
        }
        c.push_str(&format!(" --out {out}"));
        c
    }

    /// Whether the experiment runs below the paper's settings.
    pub fn reduced(&self) -> bool {
        self.runner_quick
            || self.overrides.iter().any(|o| {
                !["dataset=", "data_dir=", "seed="]
                    .iter()
                    .any(|p| o.starts_with(p))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README and `depthscale reproduce --help` say "about 1.5 minutes on 2 cores" for
    /// `reproduce --quick` (the CLI test `first_hour` checks they agree): the sum of the
    /// measured per-experiment seconds here is what that phrase rounds.
    #[test]
    fn the_quick_times_add_up_to_the_documented_minute_and_a_half() {
        let total: f64 = plan(None, true, None, None)
            .unwrap()
            .iter()
            .map(|e| e.seconds)
            .sum();
        assert!((75.0..=105.0).contains(&total), "{total} s");
    }

    #[test]
    fn quick_plan_keeps_the_paper_depth_and_full_plan_has_no_overrides() {
        let quick = plan(None, true, None, None).unwrap();
        assert_eq!(quick.len(), reproduced().len());
        let fig1 = &quick[0];
        assert_eq!(fig1.preset, "fig1");
        assert!(!fig1.runner_quick && fig1.reduced());
        assert!(fig1.overrides.iter().any(|o| o.contains("1000")));
        let ode = quick.iter().find(|e| e.preset == "ode").unwrap();
        assert!(ode.runner_quick && ode.overrides.is_empty());
        assert!(!quick.iter().find(|e| e.preset == "fig6").unwrap().reduced());
        for e in plan(None, false, None, None).unwrap() {
            assert!(
                !e.runner_quick && e.overrides.is_empty() && !e.reduced(),
                "{e:?}"
            );
        }
    }

    #[test]
    fn only_keeps_report_order_and_data_reaches_the_training_presets() {
        let only = ["sde".to_string(), "fig8".to_string()];
        let p = plan(Some(&only), false, Some(("mnist", "/d/it's")), Some(3)).unwrap();
        assert_eq!(
            p.iter().map(|e| e.preset).collect::<Vec<_>>(),
            ["fig8", "sde"]
        );
        assert_eq!(
            p[0].overrides,
            ["dataset=\"mnist\"", "data_dir=\"/d/it's\"", "seed=3"]
        );
        assert_eq!(p[1].overrides, ["seed=3"]);
        assert!(!p[0].reduced());
        assert!(p[0].command("o").contains("'data_dir=\"/d/it'\\''s\"'"));
        assert!(plan(Some(&["nope".to_string()]), true, None, None).is_err());
        assert!(plan(Some(&[]), true, None, None).is_err());
    }
}
