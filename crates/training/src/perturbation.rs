//! The training perturbation x ~ p_σ(·|y): EDM's Gaussian y + σn, or the PFGM++ kernel in N + D
//! dimensions (thesis Eq. 8.3, Alg. 12), y + R·u with u uniform on the sphere and R from the radius
//! law at r = σ√D (B.6.2, l.5140–5163).
//!
//! Under PFGM++ the network stays conditioned on σ = r/√D with EDM's preconditioning and loss
//! weight (the hyper-parameter transfer of Sec. 8.3, Alg. 12; the authors' `EDMLoss` with
//! `pfgmpp = True`), so the switch changes nothing but how the noisy batch is drawn. D = ∞ is the
//! Gaussian case (Theorem 8, Prop. 2): it is [`Perturbation::Gaussian`], not a value of D.

use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};

/// How a training batch is perturbed; part of [`crate::TrainConfig`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Perturbation {
    /// x = y + σn, n ~ N(0, I) (EDM Eq. 8; PFGM++ with D = ∞).
    #[default]
    Gaussian,
    /// x = y + R·u with R ~ p_r(R) ∝ R^{N−1}/(R² + r²)^{(N+D)/2}, r = σ√D (Alg. 12).
    Pfgmpp {
        /// The number D of augmented dimensions, finite and positive.
        augment: f64,
    },
}

impl Perturbation {
    /// True for EDM's Gaussian perturbation, the default (omitted from `config.json`, so that
    /// checkpoints and cache keys written before this switch existed stay valid).
    pub fn is_gaussian(&self) -> bool {
        *self == Perturbation::Gaussian
    }

    /// Checks that D is a finite positive number (D = ∞ is [`Perturbation::Gaussian`]).
    pub fn validate(&self) -> Result<()> {
        if let Perturbation::Pfgmpp { augment } = *self {
            ensure!(
                augment.is_finite() && augment > 0.0,
                "train config: perturbation Pfgmpp augment = {augment} must be a finite positive D (D = ∞ is the Gaussian perturbation)"
            );
        }
        Ok(())
    }

    /// The noisy batch for `clean` (rows of `dim` values) at one σ per row, drawn from `stream` only.
    ///
    /// Gaussian: all `rows × dim` normals from `stream.rng()` in row order (the trainer's historical
    /// draws, bit for bit). PFGM++: row i draws its direction and radius from `stream.child(i)`
    /// (`pfgmpp::perturb`: the normalised Gaussian direction, then R = σ·√(G_N/(G_D/D))).
    pub fn perturb(&self, stream: seeding::Stream, clean: &[f64], sigma: &[f64], dim: usize) -> Vec<f64> {
        match *self {
            Perturbation::Gaussian => {
                let noise = seeding::normals(&mut stream.rng(), clean.len());
                clean
                    .chunks_exact(dim)
                    .zip(noise.chunks_exact(dim))
                    .zip(sigma)
                    .flat_map(|((y, n), &s)| y.iter().zip(n).map(move |(y, n)| y + s * n))
                    .collect()
            }
            Perturbation::Pfgmpp { augment } => {
                let mut out = vec![0.0; clean.len()];
                for (i, ((y, x), &s)) in clean.chunks_exact(dim).zip(out.chunks_exact_mut(dim)).zip(sigma).enumerate() {
                    pfgmpp::perturb(&mut stream.child(i as u64).rng(), y, augment, s, x);
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pfgmpp::Kernel;

    /// √n times the Kolmogorov–Smirnov distance of samples to a distribution function.
    fn scaled_ks(v: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
        metrics::ks_distance(&v, cdf) * (v.len() as f64).sqrt()
    }

    /// The norms ‖x − y‖/σ of one big batch perturbed at per-row σ.
    fn scaled_norms(p: Perturbation, rows: usize, dim: usize, seed: u64) -> Vec<f64> {
        let clean: Vec<f64> = (0..rows * dim).map(|k| (k % 7) as f64 - 3.0).collect();
        let sigma: Vec<f64> = (0..rows).map(|i| 0.01 * (1.0 + (i % 50) as f64)).collect();
        let noisy = p.perturb(seeding::Stream::new(seed), &clean, &sigma, dim);
        noisy
            .chunks_exact(dim)
            .zip(clean.chunks_exact(dim))
            .zip(&sigma)
            .map(|((x, y), s)| x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt() / s)
            .collect()
    }

    #[test]
    fn gaussian_is_the_historical_draw() {
        // The trainer used to draw `normals(stream.rng(), b·d)` and form y + σn: same values here.
        let (clean, sigma) = (vec![1.0, -2.0, 0.5, 4.0], vec![0.3, 2.0]);
        let s = seeding::Stream::new(4).named("noise");
        let n = seeding::normals(&mut s.rng(), 4);
        let want: Vec<f64> = (0..4).map(|k| clean[k] + sigma[k / 2] * n[k]).collect();
        assert_eq!(Perturbation::Gaussian.perturb(s, &clean, &sigma, 2), want);
    }

    #[test]
    fn norms_follow_the_radius_law_at_finite_and_infinite_d() {
        // K–S at the 0.1% level (√n·D_n < 1.95); fixed streams, so deterministic.
        let (rows, dim) = (4000, 10);
        for d in [3.0, 10.0, 1000.0] {
            let k = Kernel::new(dim, d);
            let stat = scaled_ks(scaled_norms(Perturbation::Pfgmpp { augment: d }, rows, dim, 1), |r| k.radius_cdf(r, 1.0));
            assert!(stat < 1.95, "D = {d}: √n·KS = {stat}");
        }
        // D = ∞: the Gaussian perturbation has norms σ·χ_N, the D → ∞ radius law (Theorem 8).
        let k = Kernel::new(dim, f64::INFINITY);
        let stat = scaled_ks(scaled_norms(Perturbation::Gaussian, rows, dim, 2), |r| k.radius_cdf(r, 1.0));
        assert!(stat < 1.95, "Gaussian: √n·KS = {stat}");
        // A very large finite D has the same law as the Gaussian one.
        let stat = scaled_ks(scaled_norms(Perturbation::Pfgmpp { augment: 1e9 }, rows, dim, 3), |r| k.radius_cdf(r, 1.0));
        assert!(stat < 1.95, "D = 1e9 against σ·χ_N: √n·KS = {stat}");
        // And a small D does not: the test can fail.
        let stat = scaled_ks(scaled_norms(Perturbation::Pfgmpp { augment: 3.0 }, rows, dim, 4), |r| k.radius_cdf(r, 1.0));
        assert!(stat > 5.0, "D = 3 against σ·χ_N: √n·KS = {stat}");
    }

    #[test]
    fn directions_are_isotropic_around_the_clean_point() {
        let (rows, dim) = (4000, 3);
        let clean = vec![0.5; rows * dim];
        let sigma = vec![1.0; rows];
        let noisy = Perturbation::Pfgmpp { augment: 50.0 }.perturb(seeding::Stream::new(8), &clean, &sigma, dim);
        // E[x − y] = 0; per coordinate Var = σ²·D/(D − 2) ≈ 1.04, s.e. ≈ 0.016.
        for j in 0..dim {
            let m = noisy.iter().skip(j).step_by(dim).map(|x| x - 0.5).sum::<f64>() / rows as f64;
            assert!(m.abs() < 0.07, "coordinate {j}: mean offset {m}");
        }
    }

    #[test]
    fn infinite_or_negative_d_is_refused_and_gaussian_is_the_default() {
        assert!(Perturbation::Pfgmpp { augment: f64::INFINITY }.validate().is_err());
        let err = Perturbation::Pfgmpp { augment: -1.0 }.validate().unwrap_err().to_string();
        assert!(err.contains("augment = -1"), "{err}");
        assert!(Perturbation::Pfgmpp { augment: 2048.0 }.validate().is_ok());
        assert!(Perturbation::default().is_gaussian());
    }
}
