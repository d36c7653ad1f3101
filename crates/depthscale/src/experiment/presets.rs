//! The paper's settings, shipped as named TOML presets (the files live in
//! `crates/depthscale/presets/`, inside the crate so that it packages on its own, and are
//! compiled into the binary).

/// A named experiment config.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// Name used on the command line (`depthscale run fig7`).
    pub name: &'static str,
    /// The TOML text.
    pub toml: &'static str,
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

macro_rules! presets {
    ($($name:literal),* $(,)?) => {
        /// Every shipped preset.
        pub const PRESETS: &[Preset] = &[
            $(Preset { name: $name, toml: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/presets/", $name, ".toml")) },)*
        ];
    };
}

presets![
    "adjoint",
    "fig1",
    "fig2",
    "fig3",
    "fig4",
    "fig5",
    "fig6",
    "fig7",
    "fig8",
    "fig9",
    "train",
    "ode",
    "sde",
    "fbm-limit",
    "fig1-correlated",
    "fig4-correlated",
    "fig1-leaky",
    "ode-after-training",
    "implicit-regularization",
    "coord-check",
    "transfer",
    "transfer-phase",
];

/// The preset called `name`.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_has_a_description_and_kind() {
        for p in PRESETS {
            let t: toml::Table =
                toml::from_str(p.toml).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(t.contains_key("kind"), "{} has no kind", p.name);
            assert!(!p.description().is_empty(), "{} has no description", p.name);
        }
    }
}
