//! Alg. 2 (RSD App. D, reconstructed from the authors' `algos/rsd.py`, spec pg-rsd §2.3):
//! augmented half-quadratic splitting for y = A x + v with a latent prior z ∼ p and a decoder
//! x ≈ D(z) — here a fixed linear map W (the identity for a pixel-space prior). Per descending
//! timestep t, for every particle i:
//!
//!   eᵢ = sg(ε̂(z̃ᵢ) − εᵢ + γ σ̃ ∇_{z̃ᵢ} log Σⱼ k(z̃ᵢ, z̃ⱼ)),   z̃ᵢ = zᵢ + σ̃ εᵢ       (Eq. 15)
//!   z-step: L_z = ½‖xᵢ − W zᵢ‖²_mean + (λ/ρ) ω(t) mean(eᵢ ⊙ zᵢ)                  (Adam on z)
//!   x-step: L_x = ½‖y − A xᵢ‖²_mean + ρ ½‖xᵢ − sg(W zᵢ)‖²_mean                    (Adam on x)
//!
//! with ω(t) = σ_t/α_t (the code's "linear" weighting) and the code's ρ (a knob that multiplies
//! the coupling in the x-step and divides the prior weight in the z-step). "mean" is over one
//! particle's coordinates. [`solve_red_diff`] is Table 1's non-augmented baseline, latent RED-diff,
//! with the same prior term.

use crate::repulsion::{grad_log_kde, FeatureMap, Repulsion};
use crate::schedule::{Ddpm, Weighting};
use crate::{Adam, AdamParams};
use anyhow::{ensure, Result};
use diffusion::Denoiser;
use seeding::{fill_normal, Stream};

/// A linear inverse problem y = A x + v with a linear decoder x = W z.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearProblem {
    /// A, row-major (measurements × dim_x).
    pub a: Vec<f64>,
    /// W, row-major (dim_x × dim_z).
    pub decoder: Vec<f64>,
    /// The measurement y.
    pub y: Vec<f64>,
    /// dim_x.
    pub dim_x: usize,
    /// dim_z.
    pub dim_z: usize,
}

impl LinearProblem {
    pub(crate) fn measurements(&self) -> usize {
        self.y.len()
    }

    /// M v for a row-major (rows × cols) M.
    pub(crate) fn apply(m: &[f64], cols: usize, v: &[f64]) -> Vec<f64> {
        m.chunks_exact(cols).map(|r| r.iter().zip(v).map(|(a, b)| a * b).sum()).collect()
    }

    /// Mᵀ v for a row-major (rows × cols) M.
    pub(crate) fn apply_t(m: &[f64], cols: usize, v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; cols];
        for (r, vi) in m.chunks_exact(cols).zip(v) {
            out.iter_mut().zip(r).for_each(|(o, a)| *o += a * vi);
        }
        out
    }

    /// W z.
    pub fn decode(&self, z: &[f64]) -> Vec<f64> {
        Self::apply(&self.decoder, self.dim_z, z)
    }
}

/// Alg. 2's weights and steps.
#[derive(Clone, Debug)]
pub struct Hqs {
    /// Denoising (score-matching) weight λ.
    pub lambda: f64,
    /// The code's coupling knob ρ.
    pub rho: f64,
    /// Repulsion weight γ.
    pub gamma: f64,
    /// The kernel density estimate of the repulsion.
    pub repulsion: Repulsion,
    /// Adam on x.
    pub adam_x: AdamParams,
    /// Adam on z.
    pub adam_z: AdamParams,
    /// The DDPM schedule.
    pub schedule: Ddpm,
    /// The timesteps, in the order run (descending in the paper).
    pub timesteps: Vec<usize>,
}

/// The particles' final (x, z), each row-major (n × dim).
pub struct HqsResult {
    /// The pixel-space particles x.
    pub x: Vec<f64>,
    /// The latent particles z.
    pub z: Vec<f64>,
}

/// Runs Alg. 2 for `n` particles started at x, z ∼ N(0, I) (the code's random start), all draws
/// from `stream`; `prior` is the latent prior's denoiser.
pub fn solve(prior: &dyn Denoiser, problem: &LinearProblem, hqs: &Hqs, n: usize, stream: Stream, features: Option<&dyn FeatureMap>) -> Result<HqsResult> {
    let (dx, dz, m) = (problem.dim_x, problem.dim_z, problem.measurements());
    ensure!(prior.dim() == dz, "hqs: prior of dimension {} for latents of dimension {dz}", prior.dim());
    ensure!(
        problem.a.len() == m * dx && problem.decoder.len() == dx * dz,
        "hqs: A must be {m} × {dx} and W {dx} × {dz}"
    );
    ensure!(hqs.rho > 0.0, "hqs: rho = {} must be > 0", hqs.rho);
    let mut rng = stream.rng();
    let mut x = vec![0.0; n * dx];
    let mut z = vec![0.0; n * dz];
    fill_normal(&mut rng, &mut x);
    fill_normal(&mut rng, &mut z);
    let (mut ax, mut az) = (Adam::new(hqs.adam_x, x.len()), Adam::new(hqs.adam_z, z.len()));
    for (step, &t) in hqs.timesteps.iter().enumerate() {
        let sigma = hqs.schedule.sigma(t);
        let omega = hqs.schedule.weight(t, Weighting::Linear);
        let e = prior_error(prior, &z, sigma, hqs.gamma, &hqs.repulsion, features, &mut rng)?;
        // z-step: ∇_z L_z = −Wᵀ(x − Wz)/dx + (λ/ρ) ω e/dz.
        let mut gz = vec![0.0; z.len()];
        for i in 0..n {
            let zi = &z[i * dz..(i + 1) * dz];
            let r: Vec<f64> = x[i * dx..(i + 1) * dx].iter().zip(problem.decode(zi)).map(|(a, b)| a - b).collect();
            let wt = LinearProblem::apply_t(&problem.decoder, dz, &r);
            for c in 0..dz {
                gz[i * dz + c] = -wt[c] / dx as f64 + hqs.lambda / hqs.rho * omega * e[i * dz + c] / dz as f64;
            }
        }
        az.step(&mut z, &gz);
        // x-step with the updated z: ∇_x L_x = −Aᵀ(y − Ax)/m + ρ(x − Wz)/dx.
        let mut gx = vec![0.0; x.len()];
        for i in 0..n {
            let xi = &x[i * dx..(i + 1) * dx];
            let r: Vec<f64> = problem.y.iter().zip(LinearProblem::apply(&problem.a, dx, xi)).map(|(y, ax)| y - ax).collect();
            let at = LinearProblem::apply_t(&problem.a, dx, &r);
            let wz = problem.decode(&z[i * dz..(i + 1) * dz]);
            for c in 0..dx {
                gx[i * dx + c] = -at[c] / m as f64 + hqs.rho * (xi[c] - wz[c]) / dx as f64;
            }
        }
        ax.step(&mut x, &gx);
        ensure!(
            x.iter().chain(&z).all(|v| v.is_finite()),
            "hqs: a particle diverged at step {step} (t = {t}, γ = {})",
            hqs.gamma
        );
    }
    Ok(HqsResult { x, z })
}

/// The prior term of Eq. 15 at one timestep for every particle of a set z (row-major n × dz):
/// eᵢ = ε̂(z̃ᵢ) − εᵢ + γ σ̃ ∇_{z̃ᵢ} log Σⱼ k(z̃ᵢ, z̃ⱼ) with z̃ = z + σ̃ε and fresh ε from `rng`, a
/// constant (stop-gradient) in the loss, which enters it as ω(t)·mean(e ⊙ z) (RED-diff's surrogate).
fn prior_error(
    prior: &dyn Denoiser,
    z: &[f64],
    sigma: f64,
    gamma: f64,
    repulsion: &Repulsion,
    features: Option<&dyn FeatureMap>,
    rng: &mut seeding::Rng,
) -> Result<Vec<f64>> {
    let mut eps = vec![0.0; z.len()];
    fill_normal(rng, &mut eps);
    let zt: Vec<f64> = z.iter().zip(&eps).map(|(z, e)| z + sigma * e).collect();
    let mut d = vec![0.0; z.len()];
    prior.denoise(&zt, sigma, &mut d)?;
    let rep = if gamma != 0.0 {
        grad_log_kde(&zt, prior.dim(), sigma, repulsion, features)
    } else {
        vec![0.0; zt.len()]
    };
    // Alg. 2: e = ε̂ − ε + γσ̃∇log Σk (Eq. 15).
    Ok((0..zt.len()).map(|k| (zt[k] - d[k]) / sigma - eps[k] + gamma * sigma * rep[k]).collect())
}

/// Latent RED-diff (Mardani et al. 2023 in the latent space of a decoder; RSD §5.1 and App. D.3,
/// the non-augmented baseline of Table 1): Adam on z alone, per descending timestep, on
///
///   L = ½‖y − A W z‖²_mean + λ ω(t) mean(sg(ε̂(z̃) − ε) ⊙ z),   ω(t) = σ_t/α_t,
///
/// the HQS z-step with the data term in place of the coupling (no x, no ρ, no repulsion).
#[derive(Clone, Debug)]
pub struct RedDiff {
    /// The regulariser weight λ.
    pub lambda: f64,
    /// Adam on z.
    pub adam: AdamParams,
    /// The DDPM schedule.
    pub schedule: Ddpm,
    /// The timesteps, in the order run (descending).
    pub timesteps: Vec<usize>,
}

/// Runs latent RED-diff for `n` independent particles started at z ∼ N(0, I), all draws from
/// `stream`; returns the latents z (row-major n × dim_z).
pub fn solve_red_diff(prior: &dyn Denoiser, problem: &LinearProblem, red: &RedDiff, n: usize, stream: Stream) -> Result<Vec<f64>> {
    let (dx, dz, m) = (problem.dim_x, problem.dim_z, problem.measurements());
    ensure!(prior.dim() == dz, "red-diff: prior of dimension {} for latents of dimension {dz}", prior.dim());
    ensure!(
        problem.a.len() == m * dx && problem.decoder.len() == dx * dz,
        "red-diff: A must be {m} × {dx} and W {dx} × {dz}"
    );
    let mut rng = stream.rng();
    let mut z = vec![0.0; n * dz];
    fill_normal(&mut rng, &mut z);
    let mut adam = Adam::new(red.adam, z.len());
    for (step, &t) in red.timesteps.iter().enumerate() {
        let sigma = red.schedule.sigma(t);
        let omega = red.schedule.weight(t, Weighting::Linear);
        let e = prior_error(prior, &z, sigma, 0.0, &Repulsion::code(), None, &mut rng)?;
        // ∇_z L = −(AW)ᵀ(y − AWz)/m + λ ω e/dz.
        let mut g = vec![0.0; z.len()];
        for i in 0..n {
            let x = problem.decode(&z[i * dz..(i + 1) * dz]);
            let r: Vec<f64> = problem.y.iter().zip(LinearProblem::apply(&problem.a, dx, &x)).map(|(y, ax)| y - ax).collect();
            let wt = LinearProblem::apply_t(&problem.decoder, dz, &LinearProblem::apply_t(&problem.a, dx, &r));
            for c in 0..dz {
                g[i * dz + c] = -wt[c] / m as f64 + red.lambda * omega * e[i * dz + c] / dz as f64;
            }
        }
        adam.step(&mut z, &g);
        ensure!(z.iter().all(|v| v.is_finite()), "red-diff: a particle diverged at step {step} (t = {t})");
    }
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exact_denoisers::GaussianMixture;

    /// Solves the dense system M u = b by Gaussian elimination with partial pivoting.
    fn solve_dense(mut m: Vec<f64>, mut b: Vec<f64>) -> Vec<f64> {
        let n = b.len();
        for c in 0..n {
            let p = (c..n).max_by(|&i, &j| m[i * n + c].abs().total_cmp(&m[j * n + c].abs())).unwrap();
            for k in 0..n {
                m.swap(c * n + k, p * n + k);
            }
            b.swap(c, p);
            for r in c + 1..n {
                let f = m[r * n + c] / m[c * n + c];
                for k in c..n {
                    m[r * n + k] -= f * m[c * n + k];
                }
                b[r] -= f * b[c];
            }
        }
        let mut u = vec![0.0; n];
        for r in (0..n).rev() {
            u[r] = (b[r] - (r + 1..n).map(|k| m[r * n + k] * u[k]).sum::<f64>()) / m[r * n + r];
        }
        u
    }

    /// The prior N(μ, s²I) in 2-D, W = I and the half mask A = [1 0] with measurement y.
    fn half_masked_gaussian(mu: [f64; 2], s2: f64, y: f64) -> (GaussianMixture, LinearProblem) {
        let prior = GaussianMixture::new(2, vec![1.0], mu.to_vec(), vec![s2]);
        let problem = LinearProblem {
            a: vec![1.0, 0.0],
            decoder: vec![1.0, 0.0, 0.0, 1.0],
            y: vec![y],
            dim_x: 2,
            dim_z: 2,
        };
        (prior, problem)
    }

    #[test]
    fn gaussian_prior_without_repulsion_reaches_the_closed_form_fixed_point() {
        // Prior N(μ, s²I) in 2-D, W = I, A = [1 0] (a half mask), y = 1.2. At one noise level σ̃ the
        // expected prior term is E[ε̂ − ε] = c (z − μ) with c = σ̃/(s² + σ̃²), so the expected
        // alternating updates stop where
        //   (z − x)/2 + (λ/ρ) σ̃ c (z − μ)/2 = 0   and   Aᵀ(Ax − y) + ρ(x − z)/2 = 0,
        // a linear system in (x, z), which is the MAP of a Gaussian model with prior precision
        // (λ/ρ)σ̃c. The particles' final average must land on it.
        let (mu, s2) = ([0.5, -1.0], 0.8);
        let (prior, problem) = half_masked_gaussian(mu, s2, 1.2);
        let schedule = Ddpm::stable_diffusion(1000);
        let t = 300;
        let sigma = schedule.sigma(t);
        let (lambda, rho) = (0.4, 0.5);
        let steps = 20000;
        let hqs = Hqs {
            lambda,
            rho,
            gamma: 0.0,
            repulsion: Repulsion::code(),
            adam_x: AdamParams::rsd(0.002),
            adam_z: AdamParams::rsd(0.002),
            schedule: schedule.clone(),
            timesteps: vec![t; steps],
        };
        let p = lambda / rho * sigma * sigma / (s2 + sigma * sigma);
        // Unknowns (x0, x1, z0, z1).
        #[rustfmt::skip]
        let mat = vec![
            -0.5, 0.0, 0.5 + 0.5 * p, 0.0,
            0.0, -0.5, 0.0, 0.5 + 0.5 * p,
            1.0 + rho / 2.0, 0.0, -rho / 2.0, 0.0,
            0.0, rho / 2.0, 0.0, -rho / 2.0,
        ];
        let want = solve_dense(mat, vec![0.5 * p * mu[0], 0.5 * p * mu[1], 1.2, 0.0]);
        // Particles are independent at γ = 0: their spread around the fixed point is the Adam
        // noise, which the average over particles shrinks.
        let mut avg = [0.0; 4];
        let particles = 16;
        let full = solve(&prior, &problem, &hqs, particles, Stream::new(3), None).unwrap();
        for i in 0..particles {
            for c in 0..2 {
                avg[c] += full.x[2 * i + c] / particles as f64;
                avg[2 + c] += full.z[2 * i + c] / particles as f64;
            }
        }
        for k in 0..4 {
            assert!((avg[k] - want[k]).abs() < 0.03, "coordinate {k}: {} vs {}", avg[k], want[k]);
        }
    }

    #[test]
    fn matched_weights_give_the_exact_posterior_mean() {
        // Same model as above, the Bayes posterior of y = x₁ + v, v ~ N(0, σ_v²), prior N(μ, s²I):
        // E[x₁ | y] = (y + (σ_v²/s²)μ₁)/(1 + σ_v²/s²), E[x₂ | y] = μ₂. Eliminating z from the two
        // stationarity equations gives x₁ = (y + κμ₁)/(1 + κ) with κ = (ρ/2)·p/(1 + p), p = (λ/ρ)σ̃c,
        // so λ chosen to make κ = σ_v²/s² must land on the posterior mean.
        let (mu, s2, noise_var, y) = ([0.5, -1.0], 0.8, 0.3, 1.2);
        let (prior, problem) = half_masked_gaussian(mu, s2, y);
        let schedule = Ddpm::stable_diffusion(1000);
        let t = 300;
        let sigma = schedule.sigma(t);
        let rho = 2.0;
        let kappa = noise_var / s2;
        let p = 2.0 * kappa / rho / (1.0 - 2.0 * kappa / rho);
        let lambda = p * rho * (s2 + sigma * sigma) / (sigma * sigma);
        let hqs = Hqs {
            lambda,
            rho,
            gamma: 0.0,
            repulsion: Repulsion::code(),
            adam_x: AdamParams::rsd(0.002),
            adam_z: AdamParams::rsd(0.002),
            schedule,
            timesteps: vec![t; 20000],
        };
        let particles = 16;
        let r = solve(&prior, &problem, &hqs, particles, Stream::new(5), None).unwrap();
        let posterior_mean = [(y + kappa * mu[0]) / (1.0 + kappa), mu[1]];
        for (c, want) in posterior_mean.iter().enumerate() {
            let avg = (0..particles).map(|i| r.x[2 * i + c]).sum::<f64>() / particles as f64;
            assert!((avg - want).abs() < 0.03, "coordinate {c}: {avg} vs {want}");
        }
    }

    #[test]
    fn latent_red_diff_reaches_its_fixed_point() {
        // Prior N(μ, s²I), W = I, A = [1 0], one noise level: E[ε̂ − ε] = c(z − μ), c = σ̃/(s² + σ̃²),
        // so the expected gradient −Aᵀ(y − Az) + λωc(z − μ)/2 (ω = σ̃) vanishes at
        // z₁ = (y + qμ₁)/(1 + q), z₂ = μ₂ with q = λωc/2.
        let (mu, s2, y) = ([0.5, -1.0], 0.8, 1.2);
        let (prior, problem) = half_masked_gaussian(mu, s2, y);
        let schedule = Ddpm::stable_diffusion(1000);
        let t = 300;
        let sigma = schedule.sigma(t);
        let lambda = 0.6;
        let red = RedDiff {
            lambda,
            adam: AdamParams::rsd(0.002),
            schedule,
            timesteps: vec![t; 20000],
        };
        let particles = 16;
        let z = solve_red_diff(&prior, &problem, &red, particles, Stream::new(9)).unwrap();
        let q = lambda * sigma * sigma / (s2 + sigma * sigma) / 2.0;
        let want = [(y + q * mu[0]) / (1.0 + q), mu[1]];
        for (c, w) in want.iter().enumerate() {
            let avg = (0..particles).map(|i| z[2 * i + c]).sum::<f64>() / particles as f64;
            assert!((avg - w).abs() < 0.03, "coordinate {c}: {avg} vs {w}");
        }
    }
}
