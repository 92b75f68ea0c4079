//! The STF regression target used in training (thesis Alg. 1, Eq. 3.4): a noisy point x = y + σn is
//! regressed not on its own clean y but on the posterior mean of the uniform mixture over a
//! reference batch {y, r₁, …, r_{n−1}}, with r_k drawn from the data:
//! target(x) = Σ_k softmax_k(−‖x − y_k‖²/(2σ²)) y_k. With n = 1 the target is y: DSM. For PFGM++
//! (thesis B.6.3) the weights are those of its perturbation kernel at r = σ√D,
//! ∝ (‖x − y_k‖² + r²)^{−(N+D)/2}.

use anyhow::{ensure, Result};
use exact_denoisers::{softmax_in_place, squared_distance};
use rand::Rng as _;
use rayon::prelude::*;

/// The perturbation kernel whose posterior weights the target uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StfKernel {
    /// The Gaussian N(y, σ²I) of diffusion models (PFGM++ with D = ∞).
    Gaussian,
    /// PFGM++'s p_r(x | y) ∝ (‖x − y‖² + r²)^{−(N+D)/2} at r = σ√D (B.6.3).
    Pfgmpp {
        /// The augmentation dimension D > 0.
        augment: f64,
    },
}

/// The STF target over a data set, with reference batches of `reference` points.
#[derive(Clone, Debug)]
pub struct StfTarget {
    dim: usize,
    data: Vec<f64>,
    reference: usize,
    kernel: StfKernel,
}

impl StfTarget {
    /// Targets over `data` (row-major, rows of `dim`) with reference batches of n = `reference` ≥ 1 points.
    pub fn new(dim: usize, data: Vec<f64>, reference: usize) -> Result<Self> {
        ensure!(
            dim > 0 && !data.is_empty() && data.len().is_multiple_of(dim),
            "STF target: {} values are not rows of {dim}",
            data.len()
        );
        ensure!(
            reference >= 1,
            "STF target: the reference batch size n must be at least 1 (n = 1 is DSM), got {reference}"
        );
        Ok(StfTarget {
            dim,
            data,
            reference,
            kernel: StfKernel::Gaussian,
        })
    }

    /// The same target with PFGM++'s kernel at D = `augment` (finite and positive).
    pub fn with_pfgmpp(mut self, augment: f64) -> Result<Self> {
        ensure!(augment > 0.0 && augment.is_finite(), "STF target: PFGM++ needs a finite D > 0, got {augment}");
        self.kernel = StfKernel::Pfgmpp { augment };
        Ok(self)
    }

    /// The reference batch size n.
    pub fn reference(&self) -> usize {
        self.reference
    }

    /// Targets for a mini-batch in the VE/EDM convention x = y + σn (`clean`, `noisy` row-major,
    /// one σ per row). The n − 1 extra reference points are drawn uniformly with replacement from
    /// the data by `rng` and shared by the whole mini-batch, as the authors' code shares its large
    /// batch; each row's own clean point is always in its reference set (Eq. 3.4's x₁), so the
    /// target is an unbiased estimate of E[y | x] (Theorem 1). VP (x = αy + σn) is the same target
    /// at x/α and σ/α.
    pub fn target(&self, clean: &[f64], noisy: &[f64], sigma: &[f64], rng: &mut seeding::Rng) -> Result<Vec<f64>> {
        let dim = self.dim;
        ensure!(
            clean.len() == noisy.len() && clean.len() == sigma.len() * dim,
            "STF target: {} clean and {} noisy values for {} noise levels in dimension {dim}",
            clean.len(),
            noisy.len(),
            sigma.len()
        );
        let rows = self.data.len() / dim;
        let extra: Vec<usize> = (1..self.reference).map(|_| rng.random_range(0..rows)).collect();
        let mut out = vec![0.0; clean.len()];
        out.par_chunks_mut(dim)
            .zip(clean.par_chunks(dim))
            .zip(noisy.par_chunks(dim))
            .zip(sigma.par_iter())
            .for_each_init(
                || vec![0.0; self.reference],
                |w, (((o, y), x), &s)| {
                    let point = |k: usize| {
                        if k == 0 {
                            y
                        } else {
                            &self.data[extra[k - 1] * dim..extra[k - 1] * dim + dim]
                        }
                    };
                    // Eq. 3.4: posterior weights of the reference points given x, in log space.
                    for (k, wk) in w.iter_mut().enumerate() {
                        let d2 = squared_distance(x, point(k));
                        *wk = match self.kernel {
                            StfKernel::Gaussian => -d2 / (2.0 * s * s),
                            StfKernel::Pfgmpp { augment } => -0.5 * (dim as f64 + augment) * (d2 + s * s * augment).ln(),
                        };
                    }
                    softmax_in_place(w);
                    for (k, &wk) in w.iter().enumerate() {
                        for (oi, yi) in o.iter_mut().zip(point(k)) {
                            *oi += wk * yi;
                        }
                    }
                },
            );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffusion::Denoiser;
    use exact_denoisers::PointSet;

    fn data(rows: usize, dim: usize) -> Vec<f64> {
        seeding::normals(&mut seeding::Stream::new(1).rng(), rows * dim)
    }

    fn noisy(clean: &[f64], sigma: &[f64], dim: usize) -> Vec<f64> {
        let z = seeding::normals(&mut seeding::Stream::new(2).rng(), clean.len());
        clean.iter().enumerate().map(|(i, y)| y + sigma[i / dim] * z[i]).collect()
    }

    #[test]
    fn with_one_reference_point_the_target_is_the_clean_point_dsm() {
        let dim = 5;
        let stf = StfTarget::new(dim, data(50, dim), 1).unwrap();
        let clean = data(8, dim);
        let sigma = [0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 20.0, 80.0];
        let t = stf
            .target(&clean, &noisy(&clean, &sigma, dim), &sigma, &mut seeding::Stream::new(3).rng())
            .unwrap();
        assert_eq!(t, clean);
    }

    #[test]
    fn the_target_is_the_exact_denoiser_of_the_reference_batch_mixture() {
        let (dim, n) = (4, 16);
        let set = data(40, dim);
        let stf = StfTarget::new(dim, set.clone(), n).unwrap();
        let clean = set[..6 * dim].to_vec();
        let sigma = [0.2, 0.5, 1.0, 1.5, 3.0, 10.0];
        let x = noisy(&clean, &sigma, dim);
        let t = stf.target(&clean, &x, &sigma, &mut seeding::Stream::new(4).rng()).unwrap();
        // The same draws of the extra reference points, made independently here.
        let mut rng = seeding::Stream::new(4).rng();
        let extra: Vec<usize> = (1..n).map(|_| rng.random_range(0..40)).collect();
        for i in 0..6 {
            let mut points = clean[i * dim..(i + 1) * dim].to_vec();
            extra.iter().for_each(|&k| points.extend_from_slice(&set[k * dim..(k + 1) * dim]));
            let mut d = vec![0.0; dim];
            PointSet::new(dim, points).denoise(&x[i * dim..(i + 1) * dim], sigma[i], &mut d).unwrap();
            for (a, b) in t[i * dim..(i + 1) * dim].iter().zip(&d) {
                assert!((a - b).abs() < 1e-12 * (1.0 + b.abs()), "row {i}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn the_pfgmpp_target_is_the_exact_pfgmpp_denoiser_of_the_reference_batch() {
        let (dim, n) = (4, 12);
        let set = data(30, dim);
        let clean = set[..5 * dim].to_vec();
        let sigma = [0.3, 0.8, 1.5, 4.0, 20.0];
        let x = noisy(&clean, &sigma, dim);
        for d in [1.0, 16.0, 2048.0] {
            let stf = StfTarget::new(dim, set.clone(), n).unwrap().with_pfgmpp(d).unwrap();
            let t = stf.target(&clean, &x, &sigma, &mut seeding::Stream::new(8).rng()).unwrap();
            let mut rng = seeding::Stream::new(8).rng();
            let extra: Vec<usize> = (1..n).map(|_| rng.random_range(0..30)).collect();
            for i in 0..5 {
                let mut points = clean[i * dim..(i + 1) * dim].to_vec();
                extra.iter().for_each(|&k| points.extend_from_slice(&set[k * dim..(k + 1) * dim]));
                let mut out = vec![0.0; dim];
                pfgmpp::PfgmppPointSet::new(PointSet::new(dim, points), d)
                    .denoise(&x[i * dim..(i + 1) * dim], sigma[i], &mut out)
                    .unwrap();
                for (a, b) in t[i * dim..(i + 1) * dim].iter().zip(&out) {
                    assert!((a - b).abs() < 1e-10 * (1.0 + b.abs()), "D {d}, row {i}: {a} vs {b}");
                }
            }
            // n = 1 is still the clean point, and D must be finite and positive.
            let one = StfTarget::new(dim, set.clone(), 1).unwrap().with_pfgmpp(d).unwrap();
            assert_eq!(one.target(&clean, &x, &sigma, &mut seeding::Stream::new(9).rng()).unwrap(), clean);
        }
        assert!(StfTarget::new(dim, set, n).unwrap().with_pfgmpp(0.0).is_err());
    }

    #[test]
    fn the_vp_target_is_the_ve_target_at_x_over_alpha() {
        // VP posterior weights ∝ exp(−‖x − αy_k‖²/(2σ²)), computed directly, against the rescaled VE target.
        let (dim, n) = (3, 8);
        let set = data(20, dim);
        let stf = StfTarget::new(dim, set.clone(), n).unwrap();
        let (alpha, sigma) = (0.6, 0.8);
        let clean = set[..dim].to_vec();
        let z = seeding::normals(&mut seeding::Stream::new(5).rng(), dim);
        let x: Vec<f64> = clean.iter().zip(&z).map(|(y, z)| alpha * y + sigma * z).collect();
        let scaled: Vec<f64> = x.iter().map(|v| v / alpha).collect();
        let t = stf.target(&clean, &scaled, &[sigma / alpha], &mut seeding::Stream::new(6).rng()).unwrap();
        let mut rng = seeding::Stream::new(6).rng();
        let refs: Vec<&[f64]> = std::iter::once(&clean[..])
            .chain((1..n).map(|_| rng.random_range(0..20)).map(|k| &set[k * dim..(k + 1) * dim]))
            .collect();
        let w: Vec<f64> = refs
            .iter()
            .map(|y| (-y.iter().zip(&x).map(|(a, b)| (b - alpha * a).powi(2)).sum::<f64>() / (2.0 * sigma * sigma)).exp())
            .collect();
        let total: f64 = w.iter().sum();
        for c in 0..dim {
            let direct: f64 = refs.iter().zip(&w).map(|(y, wk)| wk * y[c]).sum::<f64>() / total;
            assert!((t[c] - direct).abs() < 1e-12, "coordinate {c}: {} vs {direct}", t[c]);
        }
    }

    #[test]
    fn bad_shapes_and_sizes_are_named() {
        assert!(StfTarget::new(3, vec![0.0; 7], 4).is_err());
        let e = StfTarget::new(2, vec![0.0; 8], 0).unwrap_err().to_string();
        assert!(e.contains("at least 1"), "{e}");
        let stf = StfTarget::new(2, vec![0.0; 8], 2).unwrap();
        assert!(stf.target(&[0.0; 4], &[0.0; 4], &[1.0], &mut seeding::Stream::new(0).rng()).is_err());
    }
}
