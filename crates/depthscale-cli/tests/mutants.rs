//! The mutant test (issue 21, section 2): each deliberately wrong implementation
//! ([`depthscale::mutant`], switched on by `DEPTHSCALE_MUTANT`) runs at the reproduction's quick
//! size, and every claim that lists it must fail, while the unmutated run of the same
//! experiments agrees. The default test covers the cheap experiments (fig1-leaky,
//! implicit-regularization, fig6, adjoint, ode and fbm-limit: seconds); the whole
//! matrix (every mutant against every experiment whose claims list it, about 10 minutes on
//! two cores) runs with `cargo test -p depthscale-cli --test mutants -- --ignored`.

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

/// Runs `depthscale reproduce --quick --only ONLY` into a fresh directory under mutant
/// `mutant` (`None`: unmutated) and returns its `summary.json`.
fn reproduce(only: &[&str], mutant: Option<&str>) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rep");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_depthscale"));
    cmd.args(["reproduce", "--quick", "--only", &only.join(",")])
        .arg("--out")
        .arg(&out)
        .env_remove("DEPTHSCALE_MUTANT");
    if let Some(m) = mutant {
        cmd.env("DEPTHSCALE_MUTANT", m);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{mutant:?} {only:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

fn claims(summary: &Value) -> Vec<Value> {
    summary["claims"].as_array().unwrap().clone()
}

fn lists(claim: &Value, mutant: &str) -> bool {
    claim["mutants"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == mutant)
}

/// The unmutated run of `only` agrees on every claim; under each mutant of `mutants`, every
/// claim listing it (at least one) disagrees, and the report says which mutant ran.
fn check(only: &[&str], mutants: &[&str]) {
    let clean = reproduce(only, None);
    assert_eq!(clean["mutant"], Value::Null);
    for c in claims(&clean) {
        assert_eq!(c["verdict"], "agrees", "unmutated: {c}");
    }
    for &m in mutants {
        let listed: BTreeSet<String> = claims(&clean)
            .iter()
            .filter(|c| lists(c, m))
            .map(|c| format!("{}: {}", c["experiment"], c["name"]))
            .collect();
        assert!(!listed.is_empty(), "no claim of {only:?} lists {m}");
        let run = reproduce(only, Some(m));
        assert_eq!(run["mutant"], m);
        for c in claims(&run).iter().filter(|c| lists(c, m)) {
            assert_ne!(c["verdict"], "agrees", "{m} not caught by {c}");
        }
    }
}

#[test]
fn cheap_mutants_are_caught() {
    check(&["fig1-leaky"], &["m2", "residual-scale"]);
    check(&["implicit-regularization"], &["gd-lr", "residual-scale"]);
    check(&["ode", "fbm-limit"], &["beta-ignored"]);
    check(&["fig6"], &["fgn-exponent", "fgn-variance"]);
    check(
        &["adjoint"],
        &[
            "adjoint-sign",
            "adjoint-euler",
            "adjoint-stored-states",
            "checkpoint-fixed",
        ],
    );
}

#[test]
fn an_unknown_mutant_is_an_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_depthscale"))
        .args(["presets"])
        .env("DEPTHSCALE_MUTANT", "nope")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("DEPTHSCALE_MUTANT") && err.contains("m2"),
        "{err}"
    );
}

/// The whole matrix: every mutant against every experiment of the reproduction whose claims
/// list it (several minutes).
#[test]
#[ignore]
fn every_mutant_is_caught_by_the_claims_listing_it() {
    let all = depthscale::experiment::reproduce::plan::preset_names();
    let clean = reproduce(&all, None);
    for c in claims(&clean) {
        assert_eq!(c["verdict"], "agrees", "unmutated: {c}");
    }
    for m in depthscale::mutant::Mutant::ALL.map(|m| m.name()) {
        let only: BTreeSet<String> = claims(&clean)
            .iter()
            .filter(|c| lists(c, m))
            .map(|c| c["experiment"].as_str().unwrap().to_owned())
            .collect();
        if only.is_empty() {
            eprintln!("{m}: no claim lists it");
            continue;
        }
        let only: Vec<&str> = only.iter().map(String::as_str).collect();
        let run = reproduce(&only, Some(m));
        for c in claims(&run).iter().filter(|c| lists(c, m)) {
            assert_ne!(c["verdict"], "agrees", "{m} not caught by {c}");
        }
        eprintln!("{m}: caught by every claim listing it in {only:?}");
    }
}
