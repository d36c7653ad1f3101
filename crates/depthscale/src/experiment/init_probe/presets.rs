//! The `probe` kind's presets: Figures 1 to 5 and 7, and the revision's correlated and leaky
//! weights.

use crate::experiment::presets::preset_toml;
use crate::experiment::{Preset, Reproduce};

/// The presets of [`super::ProbeConfig`].
pub(super) const PRESETS: &[Preset] = &[
    Preset {
        name: "fig1",
        toml: preset_toml!("fig1"),
        listed: 1,
        reproduce: Some(Reproduce {
            place: 1,
            quick: Some(&["depth={linspace=[10, 1000, 4]}", "draws=100"]),
            quick_seconds: 4.0,
            full_seconds: 4.0,
            data: false,
            claim: "Hidden states at initialization (res3, i.i.d. weights): beta = 1/2 is the critical scaling, where h_diff follows the closed form sqrt((1 + L^-2beta/2)^L - 1); beta = 1 collapses to the identity, beta = 1/4 explodes.",
        }),
    },
    Preset {
        name: "fig2",
        toml: preset_toml!("fig2"),
        listed: 2,
        reproduce: Some(Reproduce {
            place: 2,
            quick: Some(&["draws=400", "samples=1", "width=30"]),
            quick_seconds: 3.0,
            full_seconds: 100.0,
            data: false,
            claim: "At beta = 1/2 and L = 1000 the norm ratio ||h_L||/||h_0|| has a non-degenerate distribution whose second moment is (1 + 1/(2L))^L, about e^(1/2).",
        }),
    },
    Preset {
        name: "fig3",
        toml: preset_toml!("fig3"),
        listed: 3,
        reproduce: Some(Reproduce {
            place: 3,
            quick: Some(&["depth={linspace=[10, 1000, 4]}", "draws=100"]),
            quick_seconds: 4.0,
            full_seconds: 4.0,
            data: false,
            claim: "Gradients at initialization behave like the hidden states: g_diff is O(1) at beta = 1/2, vanishes at beta = 1 and explodes at beta = 1/4.",
        }),
    },
    Preset {
        name: "fig4",
        toml: preset_toml!("fig4"),
        listed: 4,
        reproduce: Some(Reproduce {
            place: 4,
            quick: Some(&["depth={linspace=[10, 1000, 4]}", "draws=100"]),
            quick_seconds: 3.0,
            full_seconds: 2.0,
            data: false,
            claim: "With smooth weights the critical scaling moves to beta = 1: beta = 1/2 explodes, beta = 1 gives a non-trivial limit (a neural ODE), beta = 2 the identity. Weights are the Gaussian process's values at k/L; the reference normalises its increments instead (rbf(0.1, increments)): measured at the quick size, seed 0, mean log10 h_diff at L = 1000, beta = 1 is -0.70 with increments against -0.53 with values (g_diff -0.68 against -0.58), and both conventions pass these claims (drift at beta = 1: -0.008 and -0.007, beta = 2: -0.175 and -0.181, theory -0.174).",
        }),
    },
    Preset {
        name: "fig5",
        toml: preset_toml!("fig5"),
        listed: 5,
        reproduce: Some(Reproduce {
            place: 5,
            quick: Some(&["depth={linspace=[10, 1000, 4]}", "draws=100"]),
            quick_seconds: 3.0,
            full_seconds: 2.0,
            data: false,
            claim: "Gradients with smooth weights: the same three regimes, explosion at beta = 1/2, O(1) at beta = 1, identity at beta = 2. Weights are the Gaussian process's values at k/L; the reference normalises its increments instead (rbf(0.1, increments)): measured at the quick size, seed 0, mean log10 h_diff at L = 1000, beta = 1 is -0.70 with increments against -0.53 with values (g_diff -0.68 against -0.58), and both conventions pass these claims (drift at beta = 1: -0.008 and -0.007, beta = 2: -0.175 and -0.181, theory -0.174).",
        }),
    },
    Preset {
        name: "fig7",
        toml: preset_toml!("fig7"),
        listed: 7,
        reproduce: Some(Reproduce {
            place: 7,
            quick: Some(&[
                "hurst={linspace=[0.05, 0.95, 10]}",
                "beta={linspace=[0.0, 1.3, 27]}",
                "draws=10",
                "samples=2",
            ]),
            quick_seconds: 7.0,
            full_seconds: 28.0,
            data: false,
            claim: "The phase diagram over (H, beta): with fBm(H) weights the critical beta where the network leaves the identity without exploding is max(H, 1/2).",
        }),
    },
    Preset {
        name: "fig1-correlated",
        toml: preset_toml!("fig1-correlated"),
        listed: 14,
        reproduce: Some(Reproduce {
            place: 13,
            quick: Some(&["depth={linspace=[10, 1000, 4]}", "draws=15"]),
            quick_seconds: 4.5,
            full_seconds: 19.0,
            data: false,
            claim: "Revision: weights correlated across entries (i.i.d. over depth) change nothing in the scaling: h_diff and g_diff at L = 1000 match the uncorrelated weights at every beta.",
        }),
    },
    Preset {
        name: "fig4-correlated",
        toml: preset_toml!("fig4-correlated"),
        listed: 15,
        reproduce: Some(Reproduce {
            place: 14,
            quick: Some(&["depth={linspace=[10, 1000, 4]}", "draws=15"]),
            quick_seconds: 4.0,
            full_seconds: 19.0,
            data: false,
            claim: "Revision: smooth weights correlated across entries keep the smooth scaling: at L = 1000 they match the uncorrelated smooth weights at every beta.",
        }),
    },
    Preset {
        name: "fig1-leaky",
        toml: preset_toml!("fig1-leaky"),
        listed: 16,
        reproduce: Some(Reproduce {
            place: 15,
            quick: Some(&["depth={linspace=[10, 1000, 4]}", "draws=100"]),
            quick_seconds: 4.0,
            full_seconds: 3.0,
            data: false,
            claim: "Revision: with leaky_relu(0.8) the closed form holds with m2 = (1 + 0.8^2)/2 = 0.82 in place of ReLU's 1/2.",
        }),
    },
];
