//! A batch of samples with one random stream each and the NFE spent on it.

use anyhow::{bail, Result};
use diffusion::Denoiser;
use rayon::prelude::*;
use seeding::{Rng, Stream};

/// Samples in flight: row-major states, a generator per row, and the evaluations spent.
pub struct Particles {
    /// Dimension of one sample.
    pub dim: usize,
    /// States, row-major.
    pub x: Vec<f64>,
    rngs: Vec<Rng>,
    /// Network function evaluations so far (one per batched denoiser call).
    pub nfe: usize,
}

impl Particles {
    /// `n` samples from the prior N(0, σ_max² I); sample i draws only from `stream.child(i)`.
    pub fn from_prior(n: usize, dim: usize, sigma_max: f64, stream: Stream) -> Self {
        let mut p = Particles::from_states(dim, vec![0.0; n * dim], stream);
        p.add_noise(sigma_max);
        p
    }

    /// Samples starting at given states (e.g. data plus noise, or a previous sampler's output).
    pub fn from_states(dim: usize, x: Vec<f64>, stream: Stream) -> Self {
        let n = x.len() / dim;
        Particles {
            dim,
            x,
            rngs: (0..n).map(|i| stream.child(i as u64).rng()).collect(),
            nfe: 0,
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.rngs.len()
    }

    /// True for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.rngs.is_empty()
    }

    /// x ← x + scale·ε, ε ~ N(0, I), each row from its own stream.
    pub fn add_noise(&mut self, scale: f64) {
        let dim = self.dim;
        self.x.par_chunks_mut(dim).zip(self.rngs.par_iter_mut()).for_each_init(
            || vec![0.0; dim],
            |z, (row, rng)| {
                seeding::fill_normal(rng, z);
                row.iter_mut().zip(z.iter()).for_each(|(x, z)| *x += scale * z);
            },
        );
    }

    /// One standard normal vector per row, each from its row's own generator (rows in parallel), row-major.
    pub fn draw_normals(&mut self) -> Vec<f64> {
        let mut z = vec![0.0; self.x.len()];
        z.par_chunks_mut(self.dim)
            .zip(self.rngs.par_iter_mut())
            .for_each(|(row, rng)| seeding::fill_normal(rng, row));
        z
    }

    /// Applies `f` to every row with that row's own generator (rows in parallel).
    pub fn move_rows(&mut self, f: impl Fn(&mut Rng, &mut [f64]) + Sync) {
        let dim = self.dim;
        self.x.par_chunks_mut(dim).zip(self.rngs.par_iter_mut()).for_each(|(row, rng)| f(rng, row));
    }

    /// D(x; σ) for the whole batch, counting one NFE.
    pub fn denoise(&mut self, den: &dyn Denoiser, x: &[f64], sigma: f64) -> Result<Vec<f64>> {
        let mut out = vec![0.0; x.len()];
        den.denoise(x, sigma, &mut out)?;
        self.nfe += 1;
        Ok(out)
    }

    /// Stops with an error naming the sampler, step and σ when a state is not finite or explodes.
    pub fn check(&self, sampler: &str, step: usize, sigma: f64) -> Result<()> {
        if let Some(i) = self.x.iter().position(|v| !v.is_finite() || v.abs() > 1e12) {
            bail!("{sampler}: sample {} diverged (value {}) at step {step}, σ = {sigma}", i / self.dim, self.x[i]);
        }
        Ok(())
    }
}
