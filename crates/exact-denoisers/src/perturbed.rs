//! An exact denoiser plus a controlled, smooth model error: D_η(x; σ) = D(x; σ) + η·c_out(σ)·g(x).
//!
//! It stands in for a trained network's approximation error where the ground truth must stay
//! known (thesis §5.4.1 separates approximation from discretization error; spec ch2-5 §3.6's
//! exact variant). g is a fixed random Fourier field, g(x) = √(2/M)·A cos(Ωx + b) with
//! Ω ~ N(0, I/ℓ²), b ~ U(0, 2π), A ~ N(0, 1), so each coordinate has unit mean square over the
//! field's randomness and varies on the length scale ℓ. The factor c_out(σ) = σσ_d/√(σ² + σ_d²)
//! (EDM's output scaling, σ_d = 1) shapes the error as a preconditioned network's is shaped: ∝ σ
//! at small σ, bounded at large σ, so the score error ε = (D_η − D)/σ² stays O(η/σ).

use diffusion::Denoiser;
use rand::Rng as _;
use rayon::prelude::*;
use seeding::Stream;

/// A denoiser with an added smooth random error of size η.
pub struct Perturbed<D> {
    inner: D,
    eta: f64,
    omega: Vec<f64>,
    phase: Vec<f64>,
    amplitude: Vec<f64>,
    features: usize,
}

impl<D: Denoiser> Perturbed<D> {
    /// `inner` plus η·c_out(σ)·g(x), g a random Fourier field of `features` features and length
    /// scale `length`, drawn from `stream`.
    pub fn new(inner: D, eta: f64, features: usize, length: f64, stream: Stream) -> Self {
        let dim = inner.dim();
        let mut rng = stream.named("random-fourier-field").rng();
        let omega = seeding::normals(&mut rng, features * dim).into_iter().map(|w| w / length).collect();
        let phase = (0..features).map(|_| 2.0 * std::f64::consts::PI * rng.random::<f64>()).collect();
        let amplitude = seeding::normals(&mut rng, dim * features);
        Perturbed {
            inner,
            eta,
            omega,
            phase,
            amplitude,
            features,
        }
    }

    /// The field g(x) at one point.
    pub fn field(&self, x: &[f64], out: &mut [f64]) {
        let (dim, m) = (x.len(), self.features);
        let c: Vec<f64> = (0..m)
            .map(|k| {
                let w = &self.omega[k * dim..(k + 1) * dim];
                (w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + self.phase[k]).cos()
            })
            .collect();
        let scale = (2.0 / m as f64).sqrt();
        for (j, o) in out.iter_mut().enumerate() {
            *o = scale * self.amplitude[j * m..(j + 1) * m].iter().zip(&c).map(|(a, b)| a * b).sum::<f64>();
        }
    }
}

impl<D: Denoiser> Denoiser for Perturbed<D> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> anyhow::Result<()> {
        self.inner.denoise(x, sigma, out)?;
        if self.eta == 0.0 {
            return Ok(());
        }
        let c_out = sigma / (sigma * sigma + 1.0).sqrt();
        let dim = self.dim();
        out.par_chunks_mut(dim).zip(x.par_chunks(dim)).for_each(|(o, xi)| {
            let mut g = vec![0.0; dim];
            self.field(xi, &mut g);
            o.iter_mut().zip(&g).for_each(|(o, g)| *o += self.eta * c_out * g);
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PointSet;

    fn set() -> PointSet {
        PointSet::new(3, vec![0.0, 1.0, -1.0, 2.0, 0.5, 0.0, -1.0, -1.0, 1.0])
    }

    #[test]
    fn zero_eta_is_the_exact_denoiser_and_the_error_is_linear_in_eta() {
        let x = [0.3, -0.2, 0.9, 1.5, 0.1, -0.4];
        let mut exact = [0.0; 6];
        set().denoise(&x, 0.7, &mut exact).unwrap();
        let run = |eta: f64| {
            let mut o = [0.0; 6];
            Perturbed::new(set(), eta, 32, 2.0, Stream::new(5)).denoise(&x, 0.7, &mut o).unwrap();
            o
        };
        assert_eq!(run(0.0), exact);
        let (a, b) = (run(0.1), run(0.2));
        for i in 0..6 {
            assert!(((b[i] - exact[i]) - 2.0 * (a[i] - exact[i])).abs() < 1e-12);
            assert!(a[i] != exact[i]);
        }
    }

    #[test]
    fn field_has_unit_mean_square_over_draws_and_the_stated_error_scale() {
        // E_{Ω,b,A} g_j(x)² = 1 for any x: average over independent fields.
        let x = [0.4, -1.2, 2.0];
        let (draws, mut total) = (4000, 0.0);
        for s in 0..draws {
            let p = Perturbed::new(set(), 1.0, 16, 1.5, Stream::new(s));
            let mut g = [0.0; 3];
            p.field(&x, &mut g);
            total += g.iter().map(|v| v * v).sum::<f64>() / 3.0;
        }
        let mean = total / draws as f64;
        assert!((mean - 1.0).abs() < 0.06, "mean square {mean}");

        // D_η − D = η·c_out(σ)·g(x) with c_out(σ) = σ/√(σ² + 1).
        let p = Perturbed::new(set(), 0.3, 16, 1.5, Stream::new(1));
        let (mut d, mut e, mut g) = ([0.0; 3], [0.0; 3], [0.0; 3]);
        p.denoise(&x, 2.0, &mut d).unwrap();
        set().denoise(&x, 2.0, &mut e).unwrap();
        p.field(&x, &mut g);
        for j in 0..3 {
            assert!((d[j] - e[j] - 0.3 * 2.0 / 5f64.sqrt() * g[j]).abs() < 1e-12);
        }
    }
}
