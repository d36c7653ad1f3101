//! Axis ranges, tick positions and tick labels.
//!
//! Everything is computed in *axis space*: the data value itself on a linear axis, its base-10
//! logarithm on a log axis. Charts are then plain linear charts over axis space with the tick
//! positions and labels chosen here.
//!
//! Why not plotters' own axes: its default tick labels are the values' `Debug` text
//! (`0.30000000000000004`, `1000.0`), and its logarithmic coordinates have no `10^k` decade
//! labels or mantissa ticks (`2, 5 x 10^k`) for ranges under a decade; the round ticks, shortest
//! labels and decade/mantissa choice below are what a paper figure needs.

/// Values of larger magnitude are treated like infinities (they would overflow pixel maths).
const LIMIT: f64 = 1e300;

/// One axis: its range, major ticks with their labels, and minor grid positions (axis space).
#[derive(Debug, Clone)]
pub(super) struct Axis {
    /// Whether axis space is log10 of the data.
    pub log: bool,
    /// Lower end of the range (axis space).
    pub lo: f64,
    /// Upper end of the range (axis space), always above `lo`.
    pub hi: f64,
    /// Major tick positions (axis space).
    pub ticks: Vec<f64>,
    /// Labels of `ticks`, one each.
    pub labels: Vec<String>,
    /// Minor grid positions (axis space).
    pub minor: Vec<f64>,
    /// Keep only integer ticks (for counts; linear axes only).
    pub integer: bool,
}

impl Axis {
    /// Maps a data value to axis space; `None` when it cannot be drawn (non-finite, or
    /// non-positive on a log axis).
    pub fn to_axis(log: bool, v: f64) -> Option<f64> {
        if !v.is_finite() || v.abs() > LIMIT {
            None
        } else if log {
            (v > 0.0).then(|| v.log10())
        } else {
            Some(v)
        }
    }

    /// An axis spanning the given axis-space values with a 4% margin. Equal values get a widened
    /// range, and no values at all give `[0, 1]` (`[1, 10]` on a log axis).
    pub fn fit(values: impl IntoIterator<Item = f64>, log: bool) -> Self {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let (lo, hi) = if lo > hi {
            (0.0, 1.0)
        } else if hi - lo <= 1e-12 * lo.abs().max(hi.abs()) {
            let c = 0.5 * (lo + hi);
            let w = if log {
                0.5
            } else if c == 0.0 {
                1.0
            } else {
                0.1 * c.abs()
            };
            (c - w, c + w)
        } else {
            let m = 0.04 * (hi - lo);
            (lo - m, hi + m)
        };
        Self::exact(lo, hi, log)
    }

    /// An axis over exactly `[lo, hi]` (axis space; swapped if reversed, widened if empty).
    pub fn exact(lo: f64, hi: f64, log: bool) -> Self {
        let (mut lo, mut hi) = (lo.min(hi), lo.max(hi));
        if hi <= lo {
            lo -= 0.5;
            hi += 0.5;
        }
        Self {
            log,
            lo,
            hi,
            ticks: Vec::new(),
            labels: Vec::new(),
            minor: Vec::new(),
            integer: false,
        }
    }

    /// The same axis, restricted to integer ticks.
    pub fn integer(self) -> Self {
        Self {
            integer: true,
            ..self
        }
    }

    /// Chooses about `target` major ticks (never more than twice that) and labels them.
    pub fn with_ticks(mut self, target: usize) -> Self {
        let target = target.max(2);
        if self.log {
            self.log_ticks(target);
        } else {
            self.ticks = linear_ticks(self.lo, self.hi, target);
            if self.integer {
                self.ticks.retain(|t| t.fract() == 0.0);
            }
            self.labels = format_linear(&self.ticks);
            self.minor.clear();
        }
        self
    }

    /// Major ticks at exactly the data values `at` that lie inside the range, labelled with their
    /// shortest decimal (e.g. the depths of a depth sweep); no minor grid.
    pub fn with_fixed_ticks(mut self, at: &[f64]) -> Self {
        self.ticks.clear();
        self.labels.clear();
        self.minor.clear();
        for &v in at {
            if let Some(t) = Self::to_axis(self.log, v)
                && (self.lo..=self.hi).contains(&t)
                && !self.ticks.contains(&t)
            {
                self.ticks.push(t);
                self.labels.push(format!("{v}"));
            }
        }
        self
    }

    /// The label of the tick nearest to `v` (axis space).
    pub fn label(&self, v: f64) -> String {
        let nearest = self
            .ticks
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1 - v).abs().total_cmp(&(b.1 - v).abs()));
        match nearest {
            Some((i, t)) if (t - v).abs() <= 1e-6 * (self.hi - self.lo) => self.labels[i].clone(),
            _ => format_linear(&[if self.log { 10f64.powf(v) } else { v }]).remove(0),
        }
    }

    /// Log-axis ticks: decades when at least three fit (thinned to about `target`), else
    /// 1-2-5 mantissas, else plain round values.
    fn log_ticks(&mut self, target: usize) {
        let (lo, hi) = (self.lo, self.hi);
        self.ticks.clear();
        self.labels.clear();
        self.minor.clear();
        if !(hi - lo).is_finite() || hi - lo > 1e4 {
            return;
        }
        let decades = hi.floor() - lo.ceil() + 1.0;
        let fine = self.fine_points();
        let majors = fine.iter().filter(|t| matches!(t.1, 1 | 2 | 5)).count();
        if decades >= 3.0 || (decades >= 2.0 && !(3..=2 * target + 1).contains(&majors)) {
            self.decade_ticks(target);
        } else if majors >= 2 {
            let (major, minor): (Vec<_>, Vec<_>) =
                fine.into_iter().partition(|t| matches!(t.1, 1 | 2 | 5));
            let plain = major.iter().all(|t| (-3..=4).contains(&t.2));
            self.ticks = major.iter().map(|t| t.0).collect();
            self.labels = major
                .iter()
                .map(|t| mantissa_label(t.1, t.2, plain))
                .collect();
            self.minor = minor.iter().map(|t| t.0).collect();
        } else {
            let values: Vec<f64> = linear_ticks(10f64.powf(lo), 10f64.powf(hi), target)
                .into_iter()
                .filter(|v| *v > 0.0)
                .collect();
            self.labels = format_linear(&values);
            self.ticks = values.iter().map(|v| v.log10()).collect();
        }
    }

    /// Every `m * 10^k` (m = 1..9) inside the range: (axis position, m, k).
    fn fine_points(&self) -> Vec<(f64, u32, i32)> {
        let mut fine = Vec::new();
        for k in (self.lo.floor() as i64)..=(self.hi.ceil() as i64) {
            for m in 1..=9u32 {
                let v = k as f64 + (m as f64).log10();
                if (self.lo..=self.hi).contains(&v) {
                    fine.push((v, m, k as i32));
                }
            }
        }
        fine
    }

    /// Ticks at every `stride`-th power of ten, minor grid at the other mantissas or decades.
    fn decade_ticks(&mut self, target: usize) {
        let (lo, hi) = (self.lo, self.hi);
        let (first, last) = (lo.ceil(), hi.floor());
        let stride = ((last - first + 1.0) / target as f64).ceil().max(1.0);
        let mut k = (first / stride).ceil() * stride;
        while k <= last {
            self.ticks.push(k);
            k += stride;
        }
        let plain = self.ticks.iter().all(|&k| (-3.0..=4.0).contains(&k));
        self.labels = self
            .ticks
            .iter()
            .map(|&k| mantissa_label(1, k as i32, plain))
            .collect();
        if stride == 1.0 && hi - lo <= 12.0 {
            self.minor = self
                .fine_points()
                .into_iter()
                .filter(|t| t.1 != 1)
                .map(|t| t.0)
                .collect();
        } else {
            self.minor = (lo.ceil() as i64..=hi.floor() as i64)
                .map(|k| k as f64)
                .filter(|k| !self.ticks.contains(k))
                .collect();
        }
    }
}

/// Nicely rounded (1, 2 or 5 times a power of ten) ticks inside `[lo, hi]`.
fn linear_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return Vec::new();
    }
    // Among 1, 2, 5 times powers of ten near span / target, take the step whose tick count is
    // closest to the target (the smaller step on ties).
    let e = (span / target as f64).log10().floor();
    let count = |step: f64| ((hi / step).floor() - (lo / step).ceil() + 1.0).max(0.0);
    let mut step = 10f64.powf(e + 1.0);
    for k in [1.0, 0.0, -1.0] {
        for m in [5.0, 2.0, 1.0] {
            let s = m * 10f64.powf(e + k);
            if (count(s) - target as f64).abs() <= (count(step) - target as f64).abs() {
                step = s;
            }
        }
    }
    let (k0, k1) = ((lo / step).ceil(), (hi / step).floor());
    if !(k0.is_finite() && k1.is_finite()) || k1 < k0 || k1 - k0 > 4.0 * target as f64 {
        return Vec::new();
    }
    (0..=((k1 - k0) as usize))
        .map(|i| (k0 + i as f64) * step)
        .map(|v| if v.abs() < 1e-9 * step { 0.0 } else { v })
        .collect()
}

/// Labels for evenly spaced ticks: fixed decimals fitted to the spacing, or `m×10ᵉ` for very
/// large or very small magnitudes.
fn format_linear(ticks: &[f64]) -> Vec<String> {
    let step = match ticks {
        [a, b, ..] => (b - a).abs(),
        [a] if *a != 0.0 => a.abs(),
        _ => 1.0,
    };
    let big = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    let step_exp = (step.log10() + 1e-9).floor() as i32;
    if big >= 1e5 || (big > 0.0 && big < 1e-3) {
        let e = (big.log10() + 1e-9).floor() as i32;
        let digits = (e - step_exp).clamp(0, 6) as usize;
        ticks.iter().map(|&t| scientific(t, digits)).collect()
    } else {
        let digits = (-step_exp).clamp(0, 12) as usize;
        ticks
            .iter()
            .map(|&t| {
                let s = format!("{t:.digits$}");
                if s.trim_start_matches('-')
                    .chars()
                    .all(|c| c == '0' || c == '.')
                {
                    s.trim_start_matches('-').to_string()
                } else {
                    s
                }
            })
            .collect()
    }
}

/// `t` as `m×10ᵉ` with `digits` decimals in the mantissa (`10ᵉ` when the mantissa is 1).
fn scientific(t: f64, digits: usize) -> String {
    if t == 0.0 {
        return "0".into();
    }
    let s = format!("{t:.digits$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    match mantissa
        .trim_start_matches('-')
        .trim_end_matches('0')
        .trim_end_matches('.')
    {
        "1" => format!("{}10{}", if t < 0.0 { "-" } else { "" }, superscript(exp)),
        _ => format!("{mantissa}×10{}", superscript(exp)),
    }
}

/// The label of `m·10^k` on a log axis: plain decimals, or powers of ten (used for a whole axis
/// as soon as one of its ticks is outside `10^-3 ..= 10^4`).
fn mantissa_label(m: u32, k: i32, plain: bool) -> String {
    if plain {
        let digits = (-k).max(0) as usize;
        format!("{:.digits$}", m as f64 * 10f64.powi(k))
    } else if m == 1 {
        format!("10{}", superscript(k))
    } else {
        format!("{m}×10{}", superscript(k))
    }
}

/// An integer in Unicode superscript digits.
fn superscript(n: i32) -> String {
    n.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round_and_labelled() {
        let a = Axis::exact(-0.03, 1.03, false).with_ticks(5);
        assert_eq!(a.labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let b = Axis::exact(0.0, 3e6, false).with_ticks(4);
        assert_eq!(b.labels, ["0", "10⁶", "2×10⁶", "3×10⁶"]);
    }

    #[test]
    fn log_ticks_use_decades_or_mantissas() {
        let a = Axis::exact(-0.1, 3.1, true).with_ticks(6);
        assert_eq!(a.labels, ["1", "10", "100", "1000"]);
        assert!(a.minor.contains(&2f64.log10()));
        let b = Axis::exact(-9.2, 0.2, true).with_ticks(4);
        assert_eq!(b.labels, ["10⁻⁹", "10⁻⁶", "10⁻³", "10⁰"]);
        let c = Axis::exact(0.05, 0.95, true).with_ticks(5);
        assert_eq!(c.labels, ["2", "5"]);
        let d = Axis::exact(-1.35, 0.05, true).with_ticks(4);
        assert_eq!(d.labels, ["0.05", "0.1", "0.2", "0.5", "1"]);
        let e = Axis::exact(0.01, 0.2, true).with_ticks(4);
        assert_eq!(e.labels, ["1.1", "1.2", "1.3", "1.4", "1.5"]);
    }

    #[test]
    fn fit_handles_degenerate_data() {
        let e = Axis::fit([], false);
        assert_eq!((e.lo, e.hi), (0.0, 1.0));
        let c = Axis::fit([3.0, 3.0], false);
        assert!(c.lo < 3.0 && c.hi > 3.0);
        let z = Axis::fit([0.0], false);
        assert_eq!((z.lo, z.hi), (-1.0, 1.0));
        assert_eq!(Axis::to_axis(true, -1.0), None);
        assert_eq!(Axis::to_axis(false, f64::NAN), None);
    }
}
