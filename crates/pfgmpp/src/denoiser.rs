//! The exact empirical PFGM++ field of a finite point set {y_k} in ℝ^N (thesis §3.1, Eq. 8.2):
//! dx/dr = (x − Σ_k w_k y_k)/r with w_k ∝ (‖x − y_k‖² + r²)^{−(N+D)/2}, i.e. the denoiser
//! D(x; σ) = Σ_k w_k y_k at r = σ√D, so that dx/dσ = (x − D(x; σ))/σ is EDM's ODE and every
//! sampler runs on it unchanged (Alg. 14). As D → ∞ the weights become softmax(−‖x − y_k‖²/(2σ²))
//! (Theorem 8); D = ∞ is the Gaussian point-set denoiser itself.

use diffusion::Denoiser;
use exact_denoisers::{softmax_in_place, squared_distance, PointSet};
use rayon::prelude::*;

/// The uniform distribution on a point set, perturbed by the PFGM++ kernel with `d` augmented
/// dimensions (`f64::INFINITY`: by the Gaussian).
#[derive(Clone, Debug)]
pub struct PfgmppPointSet {
    points: PointSet,
    d: f64,
}

impl PfgmppPointSet {
    /// The point set `points` with D = `d` > 0 augmented dimensions.
    pub fn new(points: PointSet, d: f64) -> Self {
        assert!(d > 0.0, "PFGM++ needs D > 0, not {d}");
        PfgmppPointSet { points, d }
    }

    /// D, the number of augmented dimensions.
    pub fn aug_dim(&self) -> f64 {
        self.d
    }

    /// The points.
    pub fn points(&self) -> &PointSet {
        &self.points
    }

    /// Posterior logits of every point given x at r = σ√D, up to a constant:
    /// −((N+D)/2) ln(1 + ‖x − y_k‖²/(Dσ²)), or −‖x − y_k‖²/(2σ²) for D = ∞.
    pub fn posterior_logits(&self, x: &[f64], sigma: f64, out: &mut [f64]) {
        let n = self.points.dim();
        for (k, o) in out.iter_mut().enumerate() {
            *o = posterior_logit(n, self.d, squared_distance(x, self.points.point(k)) / (sigma * sigma));
        }
    }

    /// The posterior p_{0|r}(y_k | x) at r = σ√D, normalised in log-space.
    pub fn posterior(&self, x: &[f64], sigma: f64) -> Vec<f64> {
        let mut w = vec![0.0; self.points.len()];
        self.posterior_logits(x, sigma, &mut w);
        softmax_in_place(&mut w);
        w
    }

    /// D(x; σ) at one x by the direct sum over the points, in order of k (the same arithmetic for
    /// every D, D = ∞ included, so that differences between D are not rounding).
    pub fn denoise_one(&self, x: &[f64], sigma: f64, out: &mut [f64]) {
        let w = self.posterior(x, sigma);
        out.fill(0.0);
        for (k, &wk) in w.iter().enumerate() {
            if wk > 0.0 {
                out.iter_mut().zip(self.points.point(k)).for_each(|(o, y)| *o += wk * y);
            }
        }
    }
}

/// The posterior logit ln p_r(x | y) + const (thesis B.6.2, l.5100) of a data point y at squared
/// distance ‖x − y‖² = s·σ² from x, in N = `n` dimensions with D = `d` augmented ones and r = σ√D:
/// −((N+D)/2) ln(1 + s/D), i.e. ln (‖x − y‖² + r²)^{−(N+D)/2} up to a constant, or −s/2 for D = ∞.
/// Softmax over the points gives p_{0|r}(y_k | x); callers that know the distances (e.g. from a
/// Gram matrix) use it without forming x.
pub fn posterior_logit(n: usize, d: f64, s: f64) -> f64 {
    if d.is_infinite() {
        -0.5 * s
    } else {
        -0.5 * (n as f64 + d) * (s / d).ln_1p()
    }
}

impl Denoiser for PfgmppPointSet {
    fn dim(&self) -> usize {
        self.points.dim()
    }

    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> anyhow::Result<()> {
        if self.d.is_infinite() {
            return self.points.denoise(x, sigma, out);
        }
        // One row per task, each computed whole by one thread: the bits do not depend on the threads.
        let dim = self.points.dim();
        x.par_chunks(dim)
            .zip(out.par_chunks_mut(dim))
            .for_each(|(xi, oi)| self.denoise_one(xi, sigma, oi));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kernel;

    fn set() -> PointSet {
        let pts: Vec<f64> = (0..40 * 5).map(|i| ((i * 7919 % 101) as f64 / 50.0 - 1.0) * 2.0).collect();
        PointSet::new(5, pts)
    }

    #[test]
    fn weights_are_the_normalised_kernel_densities() {
        let p = PfgmppPointSet::new(set(), 7.0);
        let k = Kernel::new(5, 7.0);
        let x = [0.3, -0.2, 1.0, 0.0, 0.5];
        let w = p.posterior(&x, 0.8);
        let dens: Vec<f64> = (0..40).map(|j| k.log_density(&x, p.points().point(j), 0.8).exp()).collect();
        let total: f64 = dens.iter().sum();
        for (a, b) in w.iter().zip(&dens) {
            assert!((a - b / total).abs() < 1e-14);
        }
    }

    #[test]
    fn logits_from_distances_are_the_log_kernel_up_to_a_constant() {
        let k = Kernel::new(5, 7.0);
        let (y1, y2, x) = ([0.0; 5], [1.0, 2.0, 0.0, -1.0, 0.5], [0.3, -0.2, 1.0, 0.0, 0.5]);
        let s = |y: &[f64]| squared_distance(&x, y) / 0.64;
        let ours = posterior_logit(5, 7.0, s(&y1)) - posterior_logit(5, 7.0, s(&y2));
        let direct = k.log_density(&x, &y1, 0.8) - k.log_density(&x, &y2, 0.8);
        assert!((ours - direct).abs() < 1e-13, "{ours} vs {direct}");
        assert_eq!(posterior_logit(5, f64::INFINITY, 3.0), -1.5);
    }

    #[test]
    fn large_d_weights_converge_to_the_gaussian_softmax_at_rate_one_over_d() {
        let x = [0.3, -0.2, 1.0, 0.0, 0.5];
        let g = PfgmppPointSet::new(set(), f64::INFINITY).posterior(&x, 0.8);
        let gap = |d: f64| {
            let w = PfgmppPointSet::new(set(), d).posterior(&x, 0.8);
            w.iter().zip(&g).map(|(a, b)| (a - b).abs()).sum::<f64>()
        };
        let (a, b) = (gap(1e5), gap(1e7));
        assert!(b < 1e-5, "D = 1e7: ‖w − softmax‖₁ = {b:e}");
        assert!((a / b / 100.0 - 1.0).abs() < 0.01, "not O(1/D): {a:e}, {b:e}");
        let w = PfgmppPointSet::new(set(), 3.0e6).posterior(&x, 0.8);
        assert!(w.iter().all(|v| v.is_finite()) && (w.iter().sum::<f64>() - 1.0).abs() < 1e-14);
    }

    #[test]
    fn denoiser_rows_match_the_direct_sum_and_the_gaussian_case_is_the_point_set() {
        let x: Vec<f64> = (0..64 * 5).map(|i| ((i * 104729 % 997) as f64 / 498.5 - 1.0) * 2.5).collect();
        for d in [1.0, 128.0, f64::INFINITY] {
            let p = PfgmppPointSet::new(set(), d);
            let mut out = vec![0.0; x.len()];
            p.denoise(&x, 0.5, &mut out).unwrap();
            for (xi, oi) in x.chunks(5).zip(out.chunks(5)) {
                let mut one = [0.0; 5];
                p.denoise_one(xi, 0.5, &mut one);
                assert!(oi.iter().zip(&one).all(|(a, b)| (a - b).abs() < 1e-9), "D = {d}");
            }
        }
    }

    #[test]
    fn the_same_bits_on_one_and_three_threads() {
        let p = PfgmppPointSet::new(set(), 64.0);
        let x: Vec<f64> = (0..50 * 5).map(|i| (i % 13) as f64 / 6.0 - 1.0).collect();
        let outs: Vec<Vec<u64>> = [1, 3]
            .iter()
            .map(|&t| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
                let mut out = vec![0.0; x.len()];
                pool.install(|| p.denoise(&x, 0.3, &mut out)).unwrap();
                out.iter().map(|v| v.to_bits()).collect()
            })
            .collect();
        assert_eq!(outs[0], outs[1]);
    }
}
