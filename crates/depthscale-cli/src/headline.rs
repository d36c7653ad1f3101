//! What a finished run prints besides `wrote DIR`: the paper's claims checked on its output
//! (for a preset that `depthscale reproduce` checks), else its main numbers, in a few lines.

use depthscale::experiment::RunReport;
use depthscale::experiment::reproduce::claims::{self, Claim, num};
use serde_json::Value;

/// At most this many claim lines; the rest are counted.
const MAX_CLAIMS: usize = 8;
/// At most this many numbers of a run without claims.
const MAX_NUMBERS: usize = 6;

/// The headline lines of `report`, a run of `preset` (`None`: a config file).
pub fn lines(preset: Option<&str>, report: &RunReport) -> Vec<String> {
    let quick = report.summary["quick"].as_bool().unwrap_or(false);
    let checked = preset.and_then(|p| claims::claims(p, &report.dir, &report.summary, quick).ok());
    match checked {
        Some(c) if !c.is_empty() => claim_lines(&c),
        _ => number_lines(&report.summary["results"]),
    }
}

/// `K of N claims agree (...)`, then one line per claim, those that disagree first.
fn claim_lines(claims: &[Claim]) -> Vec<String> {
    let agree = claims.iter().filter(|c| c.agrees()).count();
    let mut out = vec![format!(
        "{agree} of {} claims of the paper agree at this run's size:",
        claims.len()
    )];
    let mut ordered: Vec<&Claim> = claims.iter().filter(|c| !c.agrees()).collect();
    ordered.extend(claims.iter().filter(|c| c.agrees()));
    for c in ordered.iter().take(MAX_CLAIMS) {
        out.push(format!(
            "  {}: {}: measured {}, expected {}",
            c.verdict(),
            c.name,
            c.measured_text(),
            c.expected_text()
        ));
    }
    if ordered.len() > MAX_CLAIMS {
        out.push(format!(
            "  ... {} more (every claim with its tolerance: `depthscale reproduce --only NAME`)",
            ordered.len() - MAX_CLAIMS
        ));
    }
    out
}

/// The first numbers of a summary's `results` (a number, or a short list of numbers), as
/// `key = value` with 4 significant digits.
fn number_lines(results: &Value) -> Vec<String> {
    let Some(map) = results.as_object() else {
        return Vec::new();
    };
    let show = |v: &Value| -> Option<String> {
        match v {
            Value::Number(n) => n.as_f64().map(num),
            Value::Array(a) if (1..=6).contains(&a.len()) => a
                .iter()
                .map(|x| x.as_f64().map(num))
                .collect::<Option<Vec<_>>>()
                .map(|v| format!("[{}]", v.join(", "))),
            _ => None,
        }
    };
    let items: Vec<String> = map
        .iter()
        .filter_map(|(k, v)| show(v).map(|s| format!("{k} = {s}")))
        .take(MAX_NUMBERS)
        .collect();
    if items.is_empty() {
        Vec::new()
    } else {
        vec![items.join(", ")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_few() {
        let r = serde_json::json!({
            "slope": -0.4976968077968972, "depths": [64, 128, 256], "name": "x",
            "a": 1, "b": 2, "c": 3, "d": 4, "e": 5
        });
        let l = number_lines(&r);
        assert_eq!(l.len(), 1);
        assert!(l[0].contains("depths = [64, 128, 256]"), "{l:?}");
        assert!(!l[0].contains("slope"), "only six numbers: {l:?}");
        assert!(
            number_lines(&serde_json::json!({"slope": -0.4976968077968972}))[0]
                .contains("slope = -0.4977")
        );
    }
}
