//! Special functions of the GELU activation: `erf` and `exp` in `f64`, written without branches
//! (every case is computed and the right one selected) so that a loop over a slice vectorizes,
//! and with basic IEEE operations only (no fused multiply-add): a vectorized loop and a scalar
//! call give the same bits, whatever the SIMD width the CPU offers.

// the coefficients are msun's, digit for digit as published
#![allow(clippy::excessive_precision)]

/// `exp(x)` in `f64`, within 2 ulp of the correctly rounded value for `x` in `[-708, 709]`;
/// `0` below `-708` (where `exp` is below `3.3e-308`), `NaN` for `NaN`. Larger `x` is not
/// supported (the result is `exp(709)`); the GELU only asks for `exp` of non-positive numbers.
///
/// Cody-Waite reduction `x = k ln 2 + r`, `|r| <= ln(2)/2` (msun's split of `ln 2`, whose high
/// part times `k` is exact), a degree-13 Taylor polynomial for `exp(r)` (truncation below
/// `1e-17` relative) and `2^k` built in the exponent bits. `k` is rounded with the `1.5 * 2^52`
/// shift, which also leaves it in the low bits of the shifted value.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    /// msun's `ln2HI`: `ln 2` to 32 bits (`0x3fe62e42_fee00000`).
    const LN2_HI: f64 = 6.93147180369123816490e-01;
    /// msun's `ln2LO`: `ln 2 - LN2_HI`.
    const LN2_LO: f64 = 1.90821492927058770002e-10;
    /// `1.5 * 2^52`: adding it rounds to an integer, kept in the low mantissa bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    // (NaN stays NaN)
    let xc = x.clamp(-708.0, 709.0);
    let shifted = xc * LOG2_E + SHIFT;
    let k = shifted - SHIFT;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    // exp(r) = sum_{i <= 13} r^i / i!, by Horner
    let mut p = 1.0 / 6_227_020_800.0;
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = c + r * p;
    }
    // 2^k for k in [-1022, 1023]: the biased exponent k + 1023 in bits 52..62
    let k_int = shifted.to_bits().wrapping_sub(SHIFT.to_bits());
    let scale = f64::from_bits(k_int.wrapping_add(1023) << 52);
    let y = p * scale;
    if x < -708.0 { 0.0 } else { y }
}

/// `erf(x)` in `f64`, within about `1e-15` of the correctly rounded value.
///
/// The algorithm of FreeBSD's msun `s_erf.c` (Sun Microsystems, 1993: "Permission to use, copy,
/// modify, and distribute this software is freely granted, provided that this notice is
/// preserved"): on each of the intervals `|x| < 0.84375`, `< 1.25`, `< 1/0.35` and `< 6` one
/// rational approximation `R(t)/S(t)` with msun's coefficients, with `t = x^2`, `|x| - 1` or
/// `1/x^2`; then `erf = x + x R/S`, `erx + R/S`, or `1 - erfc` with `erfc(|x|) = exp(-x^2 -
/// 0.5625 + R/S) / |x|`, and `1` beyond 6. Unlike msun, the four rational functions are one
/// Horner scheme whose coefficients are selected by interval (zeros pad the shorter ones, which
/// leaves their values unchanged), the `erfc` tail takes one [`exp`] of the whole exponent
/// instead of msun's two that make `x^2` exact (a relative error below `4e-15` on `erfc`, below
/// `3e-16` on `erf`), and nothing branches.
#[inline(always)]
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    let (i0, i1, i2) = (a < 0.84375, a < 1.25, a < 1.0 / 0.35);
    let pick = |c: [f64; 4]| {
        if i0 {
            c[0]
        } else if i1 {
            c[1]
        } else if i2 {
            c[2]
        } else {
            c[3]
        }
    };
    let inv = 1.0 / a;
    let t = if i0 {
        a * a
    } else if i1 {
        a - 1.0
    } else {
        inv * inv
    };
    let mut r = pick(R[7]);
    for c in R[..7].iter().rev() {
        r = pick(*c) + t * r;
    }
    let mut s = pick(S[7]);
    for c in S[..7].iter().rev() {
        s = pick(*c) + t * s;
    }
    let q = r / (1.0 + t * s);
    // each interval's formula, for |x|
    let small = x + x * q;
    let near_one = ERX + q;
    let tail = 1.0 - exp(-a * a - 0.5625 + q) * inv;
    let large = if i1 {
        near_one
    } else if a < 6.0 {
        tail
    } else if a.is_nan() {
        x
    } else {
        1.0 - f64::MIN_POSITIVE
    };
    if i0 { small } else { large.copysign(x) }
}

/// msun's `erx`: `erf(1)` rounded to single precision.
const ERX: f64 = 8.45062911510467529297e-01;

/// The numerators' coefficients by power of `t` (row) and interval (column: msun's `pp`, `pa`,
/// `ra`, `rb`), zero-padded to degree 7.
const R: [[f64; 4]; 8] = [
    [
        1.28379167095512558561e-01,
        -2.36211856075265944077e-03,
        -9.86494403484714822705e-03,
        -9.86494292470009928597e-03,
    ],
    [
        -3.25042107247001499370e-01,
        4.14856118683748331666e-01,
        -6.93858572707181764372e-01,
        -7.99283237680523006574e-01,
    ],
    [
        -2.84817495755985104766e-02,
        -3.72207876035701323847e-01,
        -1.05586262253232909814e+01,
        -1.77579549177547519889e+01,
    ],
    [
        -5.77027029648944159157e-03,
        3.18346619901161753674e-01,
        -6.23753324503260060396e+01,
        -1.60636384855821916062e+02,
    ],
    [
        -2.37630166566501626084e-05,
        -1.10894694282396677476e-01,
        -1.62396669462573470355e+02,
        -6.37566443368389627722e+02,
    ],
    [
        0.0,
        3.54783043256182359371e-02,
        -1.84605092906711035994e+02,
        -1.02509513161107724954e+03,
    ],
    [
        0.0,
        -2.16637559486879084300e-03,
        -8.12874355063065934246e+01,
        -4.83519191608651397019e+02,
    ],
    [0.0, 0.0, -9.81432934416914548592e+00, 0.0],
];

/// The denominators' coefficients `S` in `1 + t S(t)` (msun's `qq`, `qa`, `sa`, `sb`, from
/// the power 1), zero-padded to degree 8.
const S: [[f64; 4]; 8] = [
    [
        3.97917223959155352819e-01,
        1.06420880400844228286e-01,
        1.96512716674392571292e+01,
        3.03380607434824582924e+01,
    ],
    [
        6.50222499887672944485e-02,
        5.40397917702171048937e-01,
        1.37657754143519042600e+02,
        3.25792512996573918826e+02,
    ],
    [
        5.08130628187576562776e-03,
        7.18286544141962662868e-02,
        4.34565877475229228821e+02,
        1.53672958608443695994e+03,
    ],
    [
        1.32494738004321644526e-04,
        1.26171219808761642112e-01,
        6.45387271733267880336e+02,
        3.19985821950859553908e+03,
    ],
    [
        -3.96022827877536812320e-06,
        1.36370839120290507362e-02,
        4.29008140027567833386e+02,
        2.55305040643316442583e+03,
    ],
    [
        0.0,
        1.19844998467991074170e-02,
        1.08635005541779435134e+02,
        4.74528541206955367215e+02,
    ],
    [
        0.0,
        0.0,
        6.57024977031928170135e+00,
        -2.24409524465858183362e+01,
    ],
    [0.0, 0.0, -6.04244152148580987438e-02, 0.0],
];

#[cfg(test)]
mod tests {
    #[test]
    fn erf_agrees_with_libm_everywhere() {
        // a fine grid over [-7, 7] (every interval and its boundaries) plus special values
        let mut worst = 0.0f64;
        for i in -70_000..=70_000 {
            let x = i as f64 * 1e-4 + 1e-9;
            worst = worst.max((super::erf(x) - libm::erf(x)).abs());
        }
        for x in [0.84375, 1.25, 1.0 / 0.35, 6.0, 1e-300, 1e-20, 3e-9] {
            for x in [x, -x, x * (1.0 + f64::EPSILON), x * (1.0 - f64::EPSILON)] {
                worst = worst.max((super::erf(x) - libm::erf(x)).abs());
            }
        }
        assert!(worst < 1e-15, "max |erf - libm::erf| = {worst:e}");
        assert_eq!(super::erf(0.0), 0.0);
        assert_eq!(super::erf(f64::INFINITY), 1.0);
        assert_eq!(super::erf(f64::NEG_INFINITY), -1.0);
        assert_eq!(super::erf(-30.0), -1.0);
        assert!(super::erf(f64::NAN).is_nan());
        // erf(2) from the standard normal table: 2 Phi(2 sqrt 2) - 1 = 0.9953222650189527
        assert!((super::erf(2.0) - 0.995_322_265_018_952_7).abs() < 2e-16);
        // small x: erf(x) = 2x/sqrt(pi) (1 - x^2/3), relative
        let x = 1e-5;
        let want = 2.0 * x / std::f64::consts::PI.sqrt() * (1.0 - x * x / 3.0);
        assert!((super::erf(x) / want - 1.0).abs() < 1e-15);
    }

    #[test]
    fn exp_is_within_two_ulp_of_std() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -708.0 + i as f64 * (1416.0 / 200_000.0) + 1e-7;
            let (got, want) = (super::exp(x), x.exp());
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(
            worst < 2.0 * f64::EPSILON,
            "max relative error {worst:e} (ulp {:e})",
            f64::EPSILON
        );
        assert_eq!(super::exp(0.0), 1.0);
        assert_eq!(super::exp(-708.5), 0.0);
        assert_eq!(super::exp(f64::NEG_INFINITY), 0.0);
        assert!(super::exp(f64::NAN).is_nan());
        assert!((super::exp(-708.0) / (-708.0f64).exp() - 1.0).abs() < 4.5e-16);
    }
}
