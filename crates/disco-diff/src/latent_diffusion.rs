//! The generative prior of the continuous-latent ablation (Table 4.3: "we trained a DiT-based DM on
//! the continuous latents", l.990): here a small EDM diffusion model on R^{d_z}, the workspace
//! [`Mlp`] trained by the shared trainer ([`training::train`]) on the encoder's latent means
//! ([`latent_means`]), sampled with Heun ([`sample_latent_diffusion`]).

use crate::latent::Latent;
use anyhow::{bail, ensure, Result};
use samplers::{heun::sample_heun, Particles};
use training::Mlp;

/// The means of continuous latents, row-major (rows × d_z).
pub fn latent_means(latents: &[Latent]) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for (r, l) in latents.iter().enumerate() {
        match l {
            Latent::Continuous(v) => out.extend_from_slice(v),
            other => bail!("latent diffusion prior: row {r} is {other:?}, not a continuous latent"),
        }
    }
    Ok(out)
}

/// `n` latents from the prior: Heun along `grid` from N(0, grid[0]² I), row r drawing from
/// `stream.child(r)`.
pub fn sample_latent_diffusion(prior: &Mlp, n: usize, grid: &[f64], stream: seeding::Stream) -> Result<Vec<Latent>> {
    ensure!(grid.len() >= 2, "latent diffusion prior: a sampling grid needs at least two levels");
    let d = prior.config().dim;
    let mut p = Particles::from_prior(n, d, grid[0], stream);
    sample_heun(prior, &mut p, grid)?;
    Ok(p.x.chunks(d).map(|v| Latent::Continuous(v.to_vec())).collect())
}
