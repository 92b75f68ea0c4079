//! A DisCo-Diff model conditioned on one latent per row, as a [`Denoiser`] for every sampler, with
//! classifier-free guidance on the latent (thesis Sec. 4.3.1, l.1011–1015).
//!
//! The guidance scale w is explicit: D̃ = D(z) + w (D(z) − D(∅)) = (1 + w) D(z) − w D(∅), so w = 0
//! is the conditional model (bit for bit: D(∅) is then not evaluated) and w = −1 the unconditional
//! one. The printed formula D̃ = w D(z) + (1 − w) D(∅) is this with w_printed = 1 + w: under it
//! w_printed = 1 would be no guidance, while Table 4.3 lists cfg = 0, 1, 2 as distinct settings and
//! calls cfg = 0 its oracle row (spec §6 item 10). An experiment says which reading it uses.

use crate::latent::Latent;
use crate::network::DiscoDiff;
use anyhow::{ensure, Result};
use diffusion::Denoiser;

/// D̃(x; σ) with row r conditioned on `latents[r]` and guidance scale `scale`.
pub struct Guided<'a> {
    net: &'a DiscoDiff,
    latents: Vec<Latent>,
    scale: f64,
}

impl<'a> Guided<'a> {
    /// `net` conditioned row by row on `latents`, guided with scale w = `scale`.
    pub fn new(net: &'a DiscoDiff, latents: Vec<Latent>, scale: f64) -> Result<Self> {
        ensure!(scale.is_finite(), "latent guidance: the scale w = {scale} must be finite");
        Ok(Guided { net, latents, scale })
    }

    /// The rows' latents.
    pub fn latents(&self) -> &[Latent] {
        &self.latents
    }

    /// Replaces the rows' latents (e.g. to switch z → z′ part-way through sampling, Fig. 4.7 right).
    pub fn set_latents(&mut self, latents: Vec<Latent>) -> Result<()> {
        ensure!(
            latents.len() == self.latents.len(),
            "latent guidance: {} latents given for {} rows",
            latents.len(),
            self.latents.len()
        );
        self.latents = latents;
        Ok(())
    }
}

/// D(z) + w (D(z) − D(∅)), elementwise (l.1013 with the explicit scale; module doc).
pub fn guide(conditional: &[f64], unconditional: &[f64], scale: f64) -> Vec<f64> {
    conditional.iter().zip(unconditional).map(|(c, u)| c + scale * (c - u)).collect()
}

impl Denoiser for Guided<'_> {
    fn dim(&self) -> usize {
        self.net.config().data_dim()
    }

    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> Result<()> {
        let n = self.latents.len();
        ensure!(
            x.len() == n * self.dim() && out.len() == x.len(),
            "latent guidance: {} input and {} output values for {n} latents of dimension {}",
            x.len(),
            out.len(),
            self.dim()
        );
        let sigmas = vec![sigma; n];
        let conditional = self.net.denoise_rows(x, &sigmas, &self.latents)?;
        if self.scale == 0.0 {
            out.copy_from_slice(&conditional);
        } else {
            let unconditional = self.net.denoise_rows(x, &sigmas, &vec![Latent::Null; n])?;
            out.copy_from_slice(&guide(&conditional, &unconditional, self.scale));
        }
        Ok(())
    }
}
