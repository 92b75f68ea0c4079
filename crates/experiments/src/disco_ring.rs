//! The 8-Gaussian ring of the thesis's DisCo-Diff toy (App. B.2.2 l.4111–4119; spec seeds-ch2-5
//! §2.3), its 8000-point training set, and the two models trained on it — the plain diffusion model (the workspace [`Mlp`] with
//! EDM's preconditioning and loss) and DisCo-Diff with one latent of k values and the ring
//! reparameterisation — shared by `fig-4.4` (the ring only), `fig-4.3` and `fig-4.7`, which declare
//! the same parameters and so reuse one cached pair of checkpoints under `results/.checkpoints/`.

use crate::disco_setup::{denoiser_mlp, prior_training, stratified, train_config};
use crate::Run;
use anyhow::{ensure, Result};
use disco_diff::{DiscoConfig, DiscoDiff, LatentPrior, PriorConfig, EXTRACTION_TEMPERATURE};
use exact_denoisers::GaussianMixture;
use registry::Params;
use seeding::Stream;
use training::{Mlp, NetworkConfig};

/// The ring: `modes` equal components of standard deviation `component_std` on the circle of
/// radius `radius` (μ₇ = (−3/√2, −3/√2): the printed μ₆ = μ₇ is a typo, spec §2.3 / §6 item 9).
pub fn ring(p: &Params) -> Result<GaussianMixture> {
    let (k, r, std) = (p.usize("modes")?, p.f64("radius")?, p.f64("component_std")?);
    let means = (0..k).flat_map(|j| {
        let a = std::f64::consts::TAU * j as f64 / k as f64;
        [r * a.cos(), r * a.sin()]
    });
    Ok(GaussianMixture::new(2, vec![1.0; k], means.collect(), vec![std * std; k]))
}

/// The training set of the declared ring: `per_component` points per component from `data_seed`.
pub fn training_data(p: &Params) -> Result<(Vec<f64>, Vec<usize>)> {
    Ok(stratified(
        &ring(p)?,
        p.usize("per_component")?,
        Stream::new(p.u64("data_seed")?).named("ring-training-set"),
    ))
}

/// DisCo-Diff's architecture: one latent of `values` values, H_θ as the diffusion model's MLP.
pub fn disco_config(p: &Params) -> Result<DiscoConfig> {
    Ok(DiscoConfig {
        encoder_hidden: p.usize("encoder_hidden")?,
        encoder_layers: p.usize("encoder_layers")?,
        dropout: p.f64("dropout")?,
        temperature: p.f64("temperature")?,
        ..DiscoConfig::ring(denoiser_mlp(p, 2)?, p.usize("values")?, p.f64("sigma1")?)
    })
}

/// The EMA network of `model` trained on the declared training set, cached under the hash of the
/// model, the optimisation and the data parameters.
fn trained<C: NetworkConfig>(run: &Run, model: &C) -> Result<C::Net> {
    let p = run.params;
    let data_key = (
        p.usize("modes")?,
        p.f64("radius")?,
        p.f64("component_std")?,
        p.usize("per_component")?,
        p.u64("data_seed")?,
    );
    run.trained("ring", model, &train_config(p)?, training_data(p)?.0, &data_key)
}

/// The trained plain diffusion model.
pub fn diffusion_model(run: &Run) -> Result<Mlp> {
    trained(run, &denoiser_mlp(run.params, 2)?)
}

/// Trained DisCo-Diff with its second stage: the latents of the training set extracted at τ = 0.01
/// (B.2.2 l.4043) and the categorical prior (m = 1) fitted to them by cross-entropy (Alg. 6).
pub struct RingDisco {
    /// Stage 1: encoder, embeddings F(z) and H_θ.
    pub net: DiscoDiff,
    /// Stage 2: p_ψ(z).
    pub prior: LatentPrior,
    /// The extracted latent of every training point.
    pub training_latents: Vec<usize>,
}

/// DisCo-Diff trained on the declared ring, with its prior.
pub fn disco(run: &Run) -> Result<RingDisco> {
    let p = run.params;
    let net: DiscoDiff = trained(run, &disco_config(p)?)?;
    let (data, _) = training_data(p)?;
    let latents = net.encode(&data, EXTRACTION_TEMPERATURE, Stream::new(p.u64("train_seed")?).named("extract"))?;
    let z: Vec<Vec<usize>> = latents
        .iter()
        .map(|l| match l {
            disco_diff::Latent::Discrete(v) => Ok(v.clone()),
            other => anyhow::bail!("the ring's DisCo-Diff gave a non-discrete latent {other:?}"),
        })
        .collect::<Result<_>>()?;
    let config = PriorConfig {
        count: 1,
        values: p.usize("values")?,
        hidden: 1,
    };
    let training = prior_training(p)?;
    let (prior, _) = LatentPrior::fit(&config, &z, &training)?;
    ensure!(z.iter().all(|v| v.len() == 1), "the ring's DisCo-Diff has one latent");
    Ok(RingDisco {
        net,
        prior,
        training_latents: z.into_iter().map(|v| v[0]).collect(),
    })
}
