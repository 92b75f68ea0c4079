//! Log-sum-exp and softmax: the one place posterior weights are normalised.

/// log Σᵢ exp(vᵢ), exact for any finite inputs; −∞ for an empty slice or all −∞.
pub fn logsumexp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// log((1/n) Σᵢ exp(vᵢ)): the log of a mean of quantities given by their logs.
pub fn log_mean_exp(v: &[f64]) -> f64 {
    logsumexp(v) - (v.len() as f64).ln()
}

/// Replaces logits by their softmax and returns their log-sum-exp (the log normaliser).
pub fn softmax_in_place(v: &mut [f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for x in v.iter_mut() {
        *x = (*x - m).exp();
        total += *x;
    }
    for x in v.iter_mut() {
        *x /= total;
    }
    m + total.ln()
}

/// Logits more than this far below the largest get weight exactly 0 in
/// [`softmax_truncated_in_place`]. Each such weight is below e^−50 < 2e−22 of the largest, so N of
/// them change the normaliser by a relative amount below N · 2e−22: under half an ulp of 1
/// (1.1e−16) for any N < 5 · 10⁵.
pub const SOFTMAX_CUTOFF: f64 = 50.0;

/// Lanes of the running max and sum: independent accumulators that the compiler keeps in vector
/// registers. The order of every reduction is fixed by the slice alone.
const LANES: usize = 8;

/// The softmax of [`softmax_in_place`], to f64 precision but without evaluating the negligible
/// weights: logits below max − [`SOFTMAX_CUTOFF`] get weight exactly 0 (their total is under half
/// an ulp of the normaliser for fewer than 5 · 10⁵ logits, see the constant), and the others go
/// through [`exp_nonpositive`] (within 2 ulps of e^x), branch-free so that it vectorises. Returns
/// the log-sum-exp of the kept logits. A row of NaN or −∞ gives NaN weights.
pub fn softmax_truncated_in_place(v: &mut [f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA, as just checked.
        return unsafe { softmax_truncated_avx2(v) };
    }
    softmax_truncated(v)
}

/// [`softmax_truncated`] compiled for 4-wide vectors with fused multiply-adds. Its only FMAs are
/// the explicit `mul_add`s, which the baseline build computes (slowly) with the same single
/// rounding, so both give the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_truncated_avx2(v: &mut [f64]) -> f64 {
    softmax_truncated(v)
}

#[inline(always)]
fn softmax_truncated(v: &mut [f64]) -> f64 {
    let m = max(v);
    let floor = -SOFTMAX_CUTOFF;
    let mut sums = [0.0; LANES];
    let weigh = |x: &mut f64, s: &mut f64| {
        let t = *x - m;
        let e = exp_nonpositive(t.max(floor));
        *x = if t >= floor { e } else { 0.0 };
        *s += *x;
    };
    let mut chunks = v.chunks_exact_mut(LANES);
    for c in &mut chunks {
        // At small σ most chunks lie wholly below the cutoff: zeros, without evaluating e^x.
        if c.iter().fold(false, |any, x| any | (*x - m >= floor)) {
            c.iter_mut().zip(&mut sums).for_each(|(x, s)| weigh(x, s));
        } else {
            c.fill(0.0);
        }
    }
    chunks.into_remainder().iter_mut().zip(&mut sums).for_each(|(x, s)| weigh(x, s));
    let total = sums.iter().sum::<f64>();
    let scale = 1.0 / total;
    v.iter_mut().for_each(|x| *x *= scale);
    m + total.ln()
}

/// The largest element (−∞ for an empty slice; NaNs are skipped), in [`LANES`] independent lanes.
#[inline(always)]
pub(crate) fn max(v: &[f64]) -> f64 {
    let mut lanes = [f64::NEG_INFINITY; LANES];
    let mut chunks = v.chunks_exact(LANES);
    for c in &mut chunks {
        lanes.iter_mut().zip(c).for_each(|(l, x)| *l = if *x > *l { *x } else { *l });
    }
    lanes.iter_mut().zip(chunks.remainder()).for_each(|(l, x)| *l = if *x > *l { *x } else { *l });
    lanes.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// e^x for −708 ≤ x ≤ 0, within 2 ulps, without branches (so it vectorises): x = k ln 2 + r with
/// |r| ≤ ln 2 / 2 (Cody–Waite, ln 2 split in two so k · LN2_HI is exact), e^r by its Taylor
/// polynomial of degree 13 (truncation error r¹⁴/14! < 5e−18, 0.05 ulp) evaluated by Estrin's
/// scheme (a short dependency chain), times 2^k built in the exponent bits.
#[inline(always)]
pub fn exp_nonpositive(x: f64) -> f64 {
    const SHIFT: f64 = 6755399441055744.0; // 1.5 · 2^52: adding it rounds to an integer in the low bits
    const LN2_HI: f64 = 0.693_147_180_369_123_8; // ln 2 to 21 bits (fdlibm's ln2_hi, 0x3fe62e42fee00000)
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10; // ln 2 − LN2_HI (0x3dea39ef35793c76)
    const C: [f64; 14] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let shifted = x * std::f64::consts::LOG2_E + SHIFT;
    let k = shifted - SHIFT;
    let r = (-k).mul_add(LN2_LO, (-k).mul_add(LN2_HI, x));
    let (r2, r4) = (r * r, (r * r) * (r * r));
    let q = |i: usize| C[i + 1].mul_add(r, C[i]);
    let low = q(6).mul_add(r2, q(4)).mul_add(r4, q(2).mul_add(r2, q(0)));
    let high = q(12).mul_add(r4, q(10).mul_add(r2, q(8)));
    let p = high.mul_add(r4 * r4, low);
    // The low 12 bits of `shifted`'s representation are k + 1023 mod 2^12 after adding 1023
    // (SHIFT's own low bits are zero); shifted into the exponent field they make 2^k.
    p * f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logsumexp_is_stable_and_exact() {
        assert!((logsumexp(&[0.0, 0.0]) - 2f64.ln()).abs() < 1e-15);
        assert!((logsumexp(&[-1e5, -1e5 + 2f64.ln()]) - (-1e5 + 3f64.ln())).abs() < 1e-9);
        assert_eq!(logsumexp(&[f64::NEG_INFINITY]), f64::NEG_INFINITY);
        assert!((log_mean_exp(&[1000.0, 1000.0, 1000.0]) - 1000.0).abs() < 1e-12);
    }

    /// Distance in ulps between two positive finite doubles.
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exp_nonpositive_is_within_two_ulps() {
        // 10⁶ points spread over the whole domain, plus the ends and the reduction's seams.
        let mut worst = 0;
        let grid = (0..1_000_000).map(|i| -708.0 * (i as f64 / 999_999.0).powi(3));
        let seams = (0..1022).flat_map(|k| {
            let s = -(k as f64 + 0.5) * std::f64::consts::LN_2;
            [s, s.next_up(), s.next_down(), -(k as f64) * std::f64::consts::LN_2]
        });
        for x in grid.chain(seams).chain([0.0, -0.0, -1e-300, -708.0]) {
            let (got, want) = (exp_nonpositive(x), x.exp());
            worst = worst.max(ulps(got, want));
            assert!(ulps(got, want) <= 2, "e^{x}: {got:e} vs {want:e}");
        }
        assert!(worst >= 1, "compared against itself?");
    }

    #[test]
    fn truncated_softmax_matches_the_full_one() {
        // Logits −1000 − 400u⁴ (u uniform in [0, 1]), scaled: from all kept to nearly all dropped.
        let logits: Vec<f64> = (0..2003).map(|i| -1e3 - 400.0 * ((i * 7919 % 2003) as f64 / 2002.0).powi(4)).collect();
        for scale in [1e-3, 0.1, 1.0, 10.0] {
            let mut full: Vec<f64> = logits.iter().map(|v| v * scale).collect();
            let mut cut = full.clone();
            let (lse_full, lse_cut) = (softmax_in_place(&mut full), softmax_truncated_in_place(&mut cut));
            assert!((lse_full - lse_cut).abs() <= 1e-15 * lse_full.abs(), "{lse_full} vs {lse_cut}");
            for (a, b) in full.iter().zip(&cut) {
                // Dropped weights were below e^−50 of the largest; kept ones agree up to the rounding
                // of the 2003-term normalisers, summed in different orders (observed ≤ 2.4e−15).
                if *b == 0.0 {
                    assert!(*a < (-SOFTMAX_CUTOFF).exp() * full.iter().copied().fold(0.0, f64::max));
                } else {
                    assert!((a - b).abs() <= 1e-14 * a, "{a:e} vs {b:e}");
                }
            }
            assert!((cut.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        }
        // The baseline build (used on CPUs without AVX2 and FMA) gives the same bits.
        let mut a: Vec<f64> = logits.iter().map(|v| v * 0.1).collect();
        let mut b = a.clone();
        softmax_truncated_in_place(&mut a);
        softmax_truncated(&mut b);
        assert!(a.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits()));
        // All −∞ (no admissible point) gives NaN weights, as the full softmax does.
        let mut v = [f64::NEG_INFINITY; 3];
        softmax_truncated_in_place(&mut v);
        assert!(v.iter().all(|w| w.is_nan()));
    }

    #[test]
    fn softmax_sums_to_one_far_from_zero() {
        let mut v = vec![-1e6, -1e6 - 1.0, -2e6];
        let lse = softmax_in_place(&mut v);
        assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!((v[0] / v[1] - 1f64.exp()).abs() < 1e-12);
        assert_eq!(v[2], 0.0);
        assert!((lse - (-1e6 + (1.0 + (-1f64).exp()).ln())).abs() < 1e-9);
    }
}
