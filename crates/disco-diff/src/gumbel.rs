//! The Gumbel-softmax relaxation of a categorical latent (Jang et al. 2017, thesis ref. [83]; thesis
//! Sec. 4.2.1 and App. B.2.2 l.4043): with g_j = −ln(−ln u_j), u_j ~ U(0, 1), the sample
//! y = softmax((ℓ + g)/τ) is differentiable in the logits ℓ. As τ → 0 it tends to the one-hot
//! vector of argmax(ℓ + g), a draw from softmax(ℓ) (the Gumbel-max trick); as τ → ∞ it tends to
//! the uniform 1/k. The thesis trains at τ = 1 and extracts latents for the prior at τ = 0.01.

use anyhow::{ensure, Result};
use candle_core::{Device, Tensor, D};
use rand::Rng as _;

/// One standard Gumbel draw g = −ln(−ln u), u ~ U(0, 1).
pub fn gumbel(rng: &mut seeding::Rng) -> f64 {
    // `random` gives [0, 1): u = 0 would make g = −∞, so it is moved to the smallest positive double.
    let u = rng.random::<f64>().max(f64::MIN_POSITIVE);
    -(-u.ln()).ln()
}

/// `n` independent standard Gumbel draws.
pub fn gumbel_noise(rng: &mut seeding::Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| gumbel(rng)).collect()
}

fn check(logits: usize, noise: usize, k: usize, tau: f64) -> Result<()> {
    ensure!(
        k > 0 && logits.is_multiple_of(k),
        "Gumbel-softmax: {logits} logits are not blocks of k = {k} values"
    );
    ensure!(noise == logits, "Gumbel-softmax: {noise} Gumbel draws for {logits} logits");
    ensure!(
        tau.is_finite() && tau > 0.0,
        "Gumbel-softmax: the temperature τ = {tau} must be positive and finite"
    );
    Ok(())
}

/// y = softmax((ℓ + g)/τ) over each consecutive block of `k` logits (one block per latent).
pub fn relaxed(logits: &[f64], gumbel: &[f64], k: usize, tau: f64) -> Result<Vec<f64>> {
    check(logits.len(), gumbel.len(), k, tau)?;
    let mut out: Vec<f64> = logits.iter().zip(gumbel).map(|(l, g)| (l + g) / tau).collect();
    for block in out.chunks_mut(k) {
        let max = block.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for v in block.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        block.iter_mut().for_each(|v| *v /= sum);
    }
    Ok(out)
}

/// The same relaxation as a differentiable tensor: `logits` is rows × (m·k), `gumbel` holds the
/// rows × (m·k) draws row-major; the result is rows × m × k.
pub fn relaxed_tensor(logits: &Tensor, gumbel: &[f64], k: usize, tau: f64) -> Result<Tensor> {
    let (rows, width) = logits.dims2()?;
    check(width * rows, gumbel.len(), k, tau)?;
    let g = Tensor::from_vec(gumbel.iter().map(|&v| v as f32).collect::<Vec<_>>(), (rows, width), &Device::Cpu)?;
    let z = ((logits + g)? / tau)?.reshape((rows, width / k, k))?;
    Ok(candle_nn::ops::softmax(&z, D::Minus1)?)
}

/// The index of the largest value of each block of `k` (the latent a relaxed sample names).
pub fn argmax_blocks(values: &[f64], k: usize) -> Vec<usize> {
    values
        .chunks(k)
        .map(|b| {
            b.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |m, (j, &v)| if v > m.1 { (j, v) } else { m })
                .0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::{ChiSquared, ContinuousCDF};

    fn softmax(l: &[f64]) -> Vec<f64> {
        let m = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = l.iter().map(|v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    }

    #[test]
    fn cold_limit_is_the_gumbel_max_draw_with_softmax_frequencies() {
        let logits = [1.2, -0.3, 0.0, 2.0, -1.5];
        let p = softmax(&logits);
        let n = 40_000;
        let mut counts = [0usize; 5];
        let mut mean = [0.0; 5];
        for i in 0..n {
            let g = gumbel_noise(&mut seeding::Stream::new(3).child(i).rng(), 5);
            let y = relaxed(&logits, &g, 5, 1e-3).unwrap();
            let shifted: Vec<f64> = logits.iter().zip(&g).map(|(l, g)| l + g).collect();
            let j = argmax_blocks(&shifted, 5)[0];
            // τ → 0: the one-hot of argmax(ℓ + g). The runner-up gets e^{−gap/τ}, below 1e-6 once the
            // gap between the two largest ℓ + g exceeds 0.014; closer pairs are skipped.
            let mut sorted = shifted.clone();
            sorted.sort_by(f64::total_cmp);
            if sorted[4] - sorted[3] > 0.02 {
                assert!(y[j] > 1.0 - 1e-6, "{y:?} at {shifted:?}");
            }
            counts[argmax_blocks(&y, 5)[0]] += 1;
            mean.iter_mut().zip(&y).for_each(|(m, v)| *m += v / n as f64);
        }
        // Pearson's χ² against softmax(ℓ), 4 degrees of freedom, rejected at level 1e-4.
        let chi2: f64 = counts.iter().zip(&p).map(|(&c, &q)| (c as f64 - n as f64 * q).powi(2) / (n as f64 * q)).sum();
        let critical = ChiSquared::new(4.0).unwrap().inverse_cdf(1.0 - 1e-4);
        assert!(chi2 < critical, "χ² = {chi2} ≥ {critical}: counts {counts:?} vs p {p:?}");
        // B.2.2 l.4043: the expected relaxed sample is softmax(ℓ) as τ → 0 (s.e. ≤ 0.0025 per entry).
        for (m, q) in mean.iter().zip(&p) {
            assert!((m - q).abs() < 0.01, "mean {mean:?} vs {p:?}");
        }
    }

    #[test]
    fn hot_limit_is_uniform() {
        let logits = [3.0, -2.0, 0.5, 1.0];
        for i in 0..100 {
            let g = gumbel_noise(&mut seeding::Stream::new(5).child(i).rng(), 4);
            let y = relaxed(&logits, &g, 4, 1e7).unwrap();
            assert!(y.iter().all(|v| (v - 0.25).abs() < 1e-5), "{y:?}");
        }
        // At τ = 1 the sample is not uniform: the hot limit is not a property of every τ.
        let y = relaxed(&logits, &[0.0; 4], 4, 1.0).unwrap();
        assert!((y[0] - softmax(&logits)[0]).abs() < 1e-12 && y[0] > 0.5);
    }

    #[test]
    fn tensor_form_matches_the_f64_form_per_block_and_bad_input_is_refused() {
        let logits = [0.3, -1.0, 2.0, 0.1, 0.0, -0.5, 1.5, 0.7, -2.0, 0.4, 0.9, 0.2];
        let g = gumbel_noise(&mut seeding::Stream::new(8).rng(), 12);
        let want = relaxed(&logits, &g, 3, 0.7).unwrap();
        let t = Tensor::from_vec(logits.iter().map(|&v| v as f32).collect::<Vec<_>>(), (2, 6), &Device::Cpu).unwrap();
        let got = relaxed_tensor(&t, &g, 3, 0.7).unwrap();
        assert_eq!(got.dims(), &[2, 2, 3]);
        for (a, b) in got.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().zip(&want) {
            assert!((*a as f64 - b).abs() < 1e-6);
        }
        assert!(want.chunks(3).all(|b| (b.iter().sum::<f64>() - 1.0).abs() < 1e-12));
        assert!(relaxed(&logits, &g, 5, 1.0).unwrap_err().to_string().contains("k = 5"));
        assert!(relaxed(&logits, &g, 3, 0.0).unwrap_err().to_string().contains("temperature"));
        assert!(relaxed(&logits, &g[..6], 3, 1.0).is_err());
    }
}
