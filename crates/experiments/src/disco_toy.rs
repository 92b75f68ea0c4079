//! The many-mode toy of the Table 4.3 analog (spec seeds-ch2-5 §2.5, "Analog B"): 25 isotropic
//! Gaussians whose means are a 5 × 5 grid in the plane mapped into R^dim by a fixed random linear map
//! with orthonormal columns, so that exact samples and mode labels exist; and the models trained on
//! it — the plain diffusion model, DisCo-Diff with discrete latents (categorical prior), and the
//! continuous-latent variant for two KL weights (diffusion prior on the latent means). Shared by
//! `table-4.3` and `fig-4.7`, which declare the same parameters and so reuse the cached checkpoints.

use crate::disco_setup::{denoiser_mlp, prior_training, stratified, train_config};
use crate::Run;
use anyhow::{bail, ensure, Result};
use disco_diff::latent_diffusion::latent_means;
use disco_diff::{DiscoConfig, DiscoDiff, Latent, LatentPrior, PriorConfig, EXTRACTION_TEMPERATURE};
use exact_denoisers::GaussianMixture;
use registry::Params;
use seeding::Stream;
use training::{Mlp, MlpConfig, TrainConfig};

/// The embedding R² → R^dim: `dim` × 2 with orthonormal columns (Gram–Schmidt of Gaussian draws).
fn embedding(dim: usize, seed: u64) -> Vec<f64> {
    let g = seeding::normals(&mut Stream::new(seed).named("toy-embedding").rng(), 2 * dim);
    let (a, b) = g.split_at(dim);
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let e1: Vec<f64> = a.iter().map(|x| x / norm(a)).collect();
    let dot: f64 = b.iter().zip(&e1).map(|(x, y)| x * y).sum();
    let r: Vec<f64> = b.iter().zip(&e1).map(|(x, y)| x - dot * y).collect();
    let e2: Vec<f64> = r.iter().map(|x| x / norm(&r)).collect();
    (0..dim).flat_map(|i| [e1[i], e2[i]]).collect()
}

/// The mixture: `grid_side`² equal components at the grid points (spacing `grid_spacing`, centred
/// at 0) mapped into R^dim, each N(A μ, component_std² I).
pub fn mixture(p: &Params) -> Result<GaussianMixture> {
    let (dim, side, h, std) = (p.usize("dim")?, p.usize("grid_side")?, p.f64("grid_spacing")?, p.f64("component_std")?);
    ensure!(dim >= 2, "parameter `dim` must be at least 2 for a planar grid");
    let a = embedding(dim, p.u64("data_seed")?);
    let offset = 0.5 * (side - 1) as f64 * h;
    let means: Vec<f64> = (0..side * side)
        .flat_map(|k| {
            let (u, v) = ((k % side) as f64 * h - offset, (k / side) as f64 * h - offset);
            (0..dim).map(|i| a[2 * i] * u + a[2 * i + 1] * v).collect::<Vec<_>>()
        })
        .collect();
    Ok(GaussianMixture::new(dim, vec![1.0; side * side], means, vec![std * std; side * side]))
}

/// The training set: `per_component` points of every component.
pub fn training_data(p: &Params) -> Result<Vec<f64>> {
    Ok(stratified(
        &mixture(p)?,
        p.usize("per_component")?,
        Stream::new(p.u64("data_seed")?).named("toy-training-set"),
    )
    .0)
}

/// The hash of everything that shapes the data.
fn data_key(p: &Params) -> Result<String> {
    let key = (
        p.usize("dim")?,
        p.usize("grid_side")?,
        p.f64("grid_spacing")?,
        p.f64("component_std")?,
        p.usize("per_component")?,
        p.u64("data_seed")?,
    );
    Ok(artifacts::sha256_hex(serde_json::to_string(&key)?.as_bytes()))
}

/// The plain diffusion model.
pub fn diffusion_model(run: &Run) -> Result<Mlp> {
    let p = run.params;
    run.trained(
        "toy-dm",
        &denoiser_mlp(p, p.usize("dim")?)?,
        &train_config(p)?,
        training_data(p)?,
        &data_key(p)?,
    )
}

/// DisCo-Diff with discrete latents and its categorical / autoregressive prior.
pub struct ToyDiscrete {
    /// Stage 1.
    pub net: DiscoDiff,
    /// Stage 2, fitted to the training set's latents extracted at τ = 0.01.
    pub prior: LatentPrior,
}

/// The shared DisCo-Diff settings of the declaration.
fn disco_settings(p: &Params, config: DiscoConfig) -> Result<DiscoConfig> {
    Ok(DiscoConfig {
        encoder_hidden: p.usize("encoder_hidden")?,
        encoder_layers: p.usize("encoder_layers")?,
        dropout: p.f64("dropout")?,
        temperature: p.f64("temperature")?,
        ..config
    })
}

/// Trains (or loads) DisCo-Diff with `latents` discrete latents of `values` values and fits its prior.
pub fn discrete(run: &Run) -> Result<ToyDiscrete> {
    let p = run.params;
    let (m, k) = (p.usize("latents")?, p.usize("values")?);
    let config = disco_settings(p, DiscoConfig::discrete(denoiser_mlp(p, p.usize("dim")?)?, m, k, p.usize("embedding")?))?;
    let data = training_data(p)?;
    let net: DiscoDiff = run.trained("toy-discrete", &config, &train_config(p)?, data.clone(), &data_key(p)?)?;
    let z = net
        .encode(&data, EXTRACTION_TEMPERATURE, Stream::new(p.u64("train_seed")?).named("extract"))?
        .into_iter()
        .map(|l| match l {
            Latent::Discrete(v) => Ok(v),
            other => bail!("discrete DisCo-Diff gave {other:?}"),
        })
        .collect::<Result<Vec<_>>>()?;
    let prior = PriorConfig {
        count: m,
        values: k,
        hidden: p.usize("prior_hidden")?,
    };
    let training = prior_training(p)?;
    Ok(ToyDiscrete {
        net,
        prior: LatentPrior::fit(&prior, &z, &training)?.0,
    })
}

/// The continuous-latent variant and its generative prior.
pub struct ToyContinuous {
    /// Stage 1 (Gaussian encoder, KL weight β).
    pub net: DiscoDiff,
    /// The diffusion model on the encoder's latent means.
    pub prior: Mlp,
}

/// Trains (or loads) the continuous variant with KL weight `beta` and its latent diffusion prior.
pub fn continuous(run: &Run, beta: f64) -> Result<ToyContinuous> {
    let p = run.params;
    let dims = p.usize("continuous_dims")?;
    let config = disco_settings(p, DiscoConfig::continuous(denoiser_mlp(p, p.usize("dim")?)?, dims, beta))?;
    let data = training_data(p)?;
    let dk = data_key(p)?;
    let net: DiscoDiff = run.trained(&format!("toy-continuous-{beta}"), &config, &train_config(p)?, data.clone(), &dk)?;
    let means = latent_means(&net.encode(&data, EXTRACTION_TEMPERATURE, Stream::new(0))?)?;
    // The prior network's σ_data is the latents' own per-coordinate standard deviation.
    let n = (means.len() / dims) as f64;
    let mean = means.iter().sum::<f64>() / means.len() as f64;
    let sd = (means.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / means.len() as f64).sqrt().max(1e-3);
    let prior_model = MlpConfig {
        hidden: p.usize("prior_hidden")?,
        sigma_data: sd,
        ..MlpConfig::new(dims)
    };
    let prior_train = TrainConfig {
        steps: p.u64("latent_prior_steps")?,
        ..train_config(p)?
    };
    ensure!(n >= 1.0, "no latents to fit a prior to");
    // The cache key of the prior covers the stage-1 model through its latents' hash.
    let latents_key = artifacts::sha256_hex(&means.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
    let prior: Mlp = run.trained(&format!("toy-latent-prior-{beta}"), &prior_model, &prior_train, means, &latents_key)?;
    Ok(ToyContinuous { net, prior })
}
