//! What a config field accepts, declared in one line beside its name: the experiments' and the
//! training config's `validate` list their fields as `(name, value, accepted)` rows checked
//! here, so that every refusal reads the same ("`width`: must be an integer in 1..=256, got 0").

use crate::{Error, Result};
use std::ops::RangeInclusive;

/// The integer fields `(name, value, accepted range)`, in order: the first one outside its
/// range is refused, naming it, its range and the value.
pub(crate) fn integers(fields: &[(&str, usize, RangeInclusive<usize>)]) -> Result<()> {
    for (field, v, range) in fields {
        if !range.contains(v) {
            let accepted = if *range.end() == usize::MAX {
                format!(">= {}", range.start())
            } else {
                format!("in {}..={}", range.start(), range.end())
            };
            return Err(Error::config(
                *field,
                format!("must be an integer {accepted}, got {v}"),
            ));
        }
    }
    Ok(())
}

/// Checks that the list `field` holds between `range.start()` and `range.end()` entries.
pub(crate) fn list_len(field: &str, len: usize, range: RangeInclusive<usize>) -> Result<()> {
    if range.contains(&len) {
        return Ok(());
    }
    Err(Error::config(
        field,
        format!(
            "must list {}..={} entries, got {len}",
            range.start(),
            range.end()
        ),
    ))
}

/// The integer fields `(name, value)` that must be at least 1 (no upper bound of their own):
/// the first one at 0 is refused, naming it.
pub(crate) fn positive_integers(fields: &[(&str, usize)]) -> Result<()> {
    match fields.iter().find(|(_, v)| *v == 0) {
        Some((field, v)) => Err(Error::config(
            *field,
            format!("must be a positive integer (>= 1), got {v}"),
        )),
        None => Ok(()),
    }
}

/// The real field `field` is finite and lies in the closed interval `range`.
pub(crate) fn real(field: &str, v: f64, range: RangeInclusive<f64>) -> Result<()> {
    if v.is_finite() && range.contains(&v) {
        return Ok(());
    }
    Err(Error::config(
        field,
        format!("must lie in [{}, {}], got {v}", range.start(), range.end()),
    ))
}

/// The real field `field` is finite and positive.
pub(crate) fn positive(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        return Ok(());
    }
    Err(Error::config(
        field,
        format!("must be a finite positive number (> 0), got {v}"),
    ))
}

/// The real field `field` is finite and not negative.
pub(crate) fn non_negative(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        return Ok(());
    }
    Err(Error::config(
        field,
        format!("must be a finite number >= 0, got {v}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message of the refusal of `r`.
    fn refusal(r: Result<()>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn the_first_field_out_of_range_is_named_with_its_range_and_value() {
        assert!(integers(&[("width", 1, 1..=256), ("draws", 1000, 1..=1000)]).is_ok());
        let e = refusal(integers(&[
            ("width", 40, 1..=256),
            ("draws", 0, 1..=1000),
            ("classes", 1, 2..=256),
        ]));
        assert!(
            e.contains("`draws`") && e.contains("1..=1000, got 0"),
            "{e}"
        );
        let e = refusal(integers(&[("classes", 257, 2..=256)]));
        assert!(
            e.contains("`classes`") && e.contains("2..=256, got 257"),
            "{e}"
        );
        let e = refusal(integers(&[("depth", 3, 16..=usize::MAX)]));
        assert!(e.contains("`depth`") && e.contains(">= 16, got 3"), "{e}");
        assert!(list_len("models", 12, 1..=12).is_ok());
        let e = refusal(list_len("models", 0, 1..=12));
        assert!(
            e.contains("`models`") && e.contains("1..=12 entries, got 0"),
            "{e}"
        );
        assert!(positive_integers(&[("width", 1), ("epochs", 7)]).is_ok());
        let e = refusal(positive_integers(&[
            ("width", 3),
            ("epochs", 0),
            ("depth", 0),
        ]));
        assert!(e.contains("`epochs`") && e.contains(">= 1), got 0"), "{e}");
        let e = refusal(integers(&[("classes", 257, 2..=256)]));
        assert!(
            e.contains("`classes`") && e.contains("2..=256, got 257"),
            "{e}"
        );
    }

    #[test]
    fn reals_refuse_nan_infinities_and_the_outside_of_their_interval() {
        assert!(real("bandwidth", 0.01, 0.01..=10.0).is_ok());
        assert!(real("bandwidth", 10.0, 0.01..=10.0).is_ok());
        for bad in [f64::NAN, f64::INFINITY, 0.0, 10.5] {
            let e = refusal(real("bandwidth", bad, 0.01..=10.0));
            assert!(e.contains("`bandwidth`") && e.contains("[0.01, 10]"), "{e}");
        }
        assert!(positive("lr", 1e-300).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(refusal(positive("lr", bad)).contains("finite positive"));
        }
        assert!(non_negative("w_std", 0.0).is_ok());
        for bad in [-1e-300, f64::NAN, f64::NEG_INFINITY] {
            assert!(refusal(non_negative("w_std", bad)).contains(">= 0"));
        }
    }
}
