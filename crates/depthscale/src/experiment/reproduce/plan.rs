//! Stage 1, plan: which presets run, at which size, with what overrides, and how long each is
//! expected to take (the weights of the overall progress display).

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

/// Every preset of the paper, in report order: name, quick-size overrides (`None`: the
/// runner's `--quick`), measured quick and full seconds, and the paper's claim.
///
/// The quick sizes are chosen so that each claim of [`super::claims`] holds at that size:
/// depth stays at the paper's L = 1000 for the probes (the runner's `--quick` caps it at 100,
/// where the closed forms and the phase boundary are not yet sharp); the limits keep the
/// runner's `--quick` (three depths up to 256, 48 paths: slopes within about 0.12 of theory).
/// One row of [`PRESETS`]: name, quick overrides, quick seconds, full seconds, claim.
type PresetRow = (
    &'static str,
    Option<&'static [&'static str]>,
    f64,
    f64,
    &'static str,
);

const PRESETS: &[PresetRow] = &[
    (
        "fig1",
        Some(&["depth={linspace=[10, 1000, 4]}", "draws=100"]),
        4.0,
        4.0,
        "Hidden states at initialization (res3, i.i.d. weights): beta = 1/2 is the critical scaling, where h_diff follows the closed form sqrt((1 + L^-2beta/2)^L - 1); beta = 1 collapses to the identity, beta = 1/4 explodes.",
    ),
    (
        "fig2",
        Some(&["draws=400", "samples=1", "width=30"]),
        3.0,
        100.0,
        "At beta = 1/2 and L = 1000 the norm ratio ||h_L||/||h_0|| has a non-degenerate distribution whose second moment is (1 + 1/(2L))^L, about e^(1/2).",
    ),
    (
        "fig3",
        Some(&["depth={linspace=[10, 1000, 4]}", "draws=100"]),
        4.0,
        4.0,
        "Gradients at initialization behave like the hidden states: g_diff is O(1) at beta = 1/2, vanishes at beta = 1 and explodes at beta = 1/4.",
    ),
    (
        "fig4",
        Some(&["depth={linspace=[10, 1000, 4]}", "draws=100"]),
        3.0,
        2.0,
        "With smooth weights the critical scaling moves to beta = 1: beta = 1/2 explodes, beta = 1 gives a non-trivial limit (a neural ODE), beta = 2 the identity. Weights are the Gaussian process's values at k/L; the reference normalises its increments instead (rbf(0.1, increments)): measured at the quick size, seed 0, mean log10 h_diff at L = 1000, beta = 1 is -0.70 with increments against -0.53 with values (g_diff -0.68 against -0.58), and both conventions pass these claims (drift at beta = 1: -0.008 and -0.007, beta = 2: -0.175 and -0.181, theory -0.174).",
    ),
    (
        "fig5",
        Some(&["depth={linspace=[10, 1000, 4]}", "draws=100"]),
        3.0,
        2.0,
        "Gradients with smooth weights: the same three regimes, explosion at beta = 1/2, O(1) at beta = 1, identity at beta = 2. Weights are the Gaussian process's values at k/L; the reference normalises its increments instead (rbf(0.1, increments)): measured at the quick size, seed 0, mean log10 h_diff at L = 1000, beta = 1 is -0.70 with increments against -0.53 with values (g_diff -0.68 against -0.58), and both conventions pass these claims (drift at beta = 1: -0.008 and -0.007, beta = 2: -0.175 and -0.181, theory -0.174).",
    ),
    (
        "fig6",
        Some(&[]),
        0.1,
        0.1,
        "Fractional Brownian motion interpolates between rough (H < 1/2, negatively correlated increments) and smooth (H > 1/2) paths; lag-1 increment correlation 2^(2H-1) - 1.",
    ),
    (
        "fig7",
        Some(&[
            "hurst={linspace=[0.05, 0.95, 10]}",
            "beta={linspace=[0.0, 1.3, 27]}",
            "draws=10",
            "samples=2",
        ]),
        7.0,
        28.0,
        "The phase diagram over (H, beta): with fBm(H) weights the critical beta where the network leaves the identity without exploding is max(H, 1/2).",
    ),
    (
        "fig8",
        Some(&["epochs=2", "train_samples=4000", "test_samples=1000"]),
        3.5,
        13.0,
        "Training keeps the regularity of the initialization: smooth weights stay smooth (Hurst estimate near 1), i.i.d. weights trained at beta = 1/2 stay rough (near 1/2).",
    ),
    (
        "fig9",
        Some(&[
            "lr=[1e-3, 1e-2, 1e-1]",
            "hurst={linspace=[0.1, 0.9, 5]}",
            "beta={linspace=[0.1, 0.9, 5]}",
            "epochs=1",
            "train_samples=2000",
            "test_samples=1000",
        ]),
        16.0,
        1500.0,
        "After training, the best test accuracy over learning rates is high above the line beta = max(H, 1/2) and poor below it, where the network explodes at initialization.",
    ),
    (
        "ode",
        None,
        0.3,
        9.0,
        "Smooth weights with beta = 1: the ResNet is the Euler scheme of a neural ODE and converges to it at rate 1/L; beta = 1/2 explodes.",
    ),
    (
        "sde",
        None,
        0.3,
        12.0,
        "I.i.d. weights with beta = 1/2: the ResNet converges strongly to a neural SDE at rate L^-1/2; beta = 1 collapses to the identity.",
    ),
    (
        "fbm-limit",
        None,
        0.2,
        3.0,
        "fBm(H) weights with beta = H > 1/2: the ResNet converges to a Young ODE at rate L^-(2H-1); beta = 1/2 explodes and beta = 1 collapses to the identity.",
    ),
    (
        "fig1-correlated",
        Some(&["depth={linspace=[10, 1000, 4]}", "draws=15"]),
        4.5,
        19.0,
        "Revision: weights correlated across entries (i.i.d. over depth) change nothing in the scaling: h_diff and g_diff at L = 1000 match the uncorrelated weights at every beta.",
    ),
    (
        "fig4-correlated",
        Some(&["depth={linspace=[10, 1000, 4]}", "draws=15"]),
        4.0,
        19.0,
        "Revision: smooth weights correlated across entries keep the smooth scaling: at L = 1000 they match the uncorrelated smooth weights at every beta.",
    ),
    (
        "fig1-leaky",
        Some(&["depth={linspace=[10, 1000, 4]}", "draws=100"]),
        4.0,
        3.0,
        "Revision: with leaky_relu(0.8) the closed form holds with m2 = (1 + 0.8^2)/2 = 0.82 in place of ReLU's 1/2.",
    ),
    (
        "ode-after-training",
        None,
        4.0,
        52.0,
        "Revision: after training (MSE, SGD), smooth weights with beta = 1 stay a discretization of a neural ODE: the gap between the trained layers 2k of depth L and k of depth L/2 (same initialization) decays like 1/L.",
    ),
    (
        "implicit-regularization",
        None,
        3.0,
        36.0,
        "Follow-up (ICLR 2024): with beta = 1 and a smooth initialization, gradient descent keeps the trained weights Lipschitz in the layer index (max_k ||Z_(k+1) - Z_k|| ~ 1/L at every step) and the depth-L network within O(1/L) of a much deeper one: a neural ODE after training.",
    ),
    (
        "coord-check",
        Some(&["samples=64"]),
        8.0,
        15.0,
        "Beyond the paper: a depth coord check. After a few Adam steps at one learning rate, the hidden states and logits stay flat over L = 8..4096 with depth-muP (lr / sqrt(L)) and CompleteP (1/L branches), grow with L for 1/sqrt(L) branches without a rule, and explode for beta = 0.",
    ),
    (
        "transfer",
        Some(&[
            "parameterizations=[\"sqrt-depth\", \"depth-mup\", \"complete-p\"]",
            "depths=[8, 512]",
            "lr={ geomspace = [0.0009765625, 0.03125, 6] }",
            "seeds=2",
            "train_samples=4000",
            "test_samples=500",
        ]),
        18.0,
        160.0,
        "Beyond the paper: the Adam learning rate tuned at L = 8 transfers to L = 512 with CompleteP (drift of lr* within a quarter of an octave) and far better with depth-muP than with plain 1/sqrt(L) branches, whose lr* drifts down by more than half an octave.",
    ),
    (
        "adjoint",
        None,
        1.0,
        8.0,
        "Beyond the paper (issue 23, Chen et al. 2018): the adjoint gradient converges to the exact gradient of the discretized network at the scheme's order (Euler 1, RK4 4); its backward reconstruction of h(0) fails for i.i.d. weights at beta = 1/2; it holds two states whatever the depth, checkpointing sqrt(L), back-propagation L.",
    ),
];

/// The names of every preset the reproduction runs, in report order.
pub fn preset_names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.0).collect()
}

/// Refuses an empty list of experiment names, or a name that is not a preset of the
/// reproduction; `field` names the option (`--only`, `--redo`) in errors.
pub fn check_names(field: &str, names: &[String]) -> crate::Result<()> {
    if names.is_empty() {
        return Err(crate::Error::config(field, "name at least one experiment"));
    }
    for name in names {
        if !PRESETS.iter().any(|p| p.0 == name) {
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
    Ok(PRESETS
        .iter()
        .filter(|p| only.is_none_or(|o| o.iter().any(|n| n == p.0)))
        .map(|&(preset, sizes, quick_s, full_s, claim)| {
            let mut overrides = Vec::new();
            if let (Some((name, dir)), "fig8" | "fig9") = (data, preset) {
                overrides.push(format!("dataset={}", quote(name)));
                overrides.push(format!("data_dir={}", quote(dir)));
            }
            if let Some(seed) = seed {
                overrides.push(format!("seed={seed}"));
            }
            let runner_quick = quick && sizes.is_none();
            if quick {
                overrides.extend(sizes.unwrap_or(&[]).iter().map(|s| s.to_string()));
            }
            Entry {
                preset,
                runner_quick,
                overrides,
                seconds: if quick { quick_s } else { full_s },
                claim,
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
        assert_eq!(quick.len(), PRESETS.len());
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
