//! What the DisCo-Diff experiments (`fig-4.3`, `table-4.3`, `fig-4.7`; `fig-4.4` for the draws)
//! share: labelled draws from a Gaussian mixture, the Bayes component of a point, the declared
//! denoiser MLP and optimisation, and Heun from the prior on the declared EDM grid.

use anyhow::Result;
use diffusion::Denoiser;
use disco_diff::PriorTraining;
use exact_denoisers::GaussianMixture;
use rand::Rng as _;
use registry::Params;
use samplers::{grid::edm_main, heun::sample_heun, Particles};
use seeding::Stream;
use training::{MlpConfig, TrainConfig};

/// `n` i.i.d. draws from `mixture` (any dimension) with their components; draw i uses only
/// `stream.child(i)` (one uniform for the component, then the normals).
pub fn fresh(mixture: &GaussianMixture, n: usize, stream: Stream) -> (Vec<f64>, Vec<usize>) {
    let d = mixture.dim();
    let (mut x, mut labels) = (Vec::with_capacity(n * d), Vec::with_capacity(n));
    let mut o = vec![0.0; d];
    for i in 0..n {
        let mut rng = stream.child(i as u64).rng();
        let (u, z) = (rng.random::<f64>(), seeding::normals(&mut rng, d));
        mixture.sample_with(u, &z, &mut o);
        x.extend_from_slice(&o);
        labels.push(mixture.component_for(u));
    }
    (x, labels)
}

/// `per_component` draws of every component in turn (B.2.2: "1000 data points from each
/// component, totaling 8000"), point i of component k from `stream.child(k·per_component + i)`.
pub fn stratified(mixture: &GaussianMixture, per_component: usize, stream: Stream) -> (Vec<f64>, Vec<usize>) {
    let d = mixture.dim();
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for k in 0..mixture.components() {
        let s = mixture.variances[k].sqrt();
        for i in 0..per_component {
            let z = seeding::normals(&mut stream.child((k * per_component + i) as u64).rng(), d);
            x.extend(mixture.mean(k).iter().zip(&z).map(|(m, zi)| m + s * zi));
            labels.push(k);
        }
    }
    (x, labels)
}

/// The component of highest posterior probability of each row at σ = 0 (the Bayes classifier).
pub fn components_of(mixture: &GaussianMixture, x: &[f64]) -> Vec<usize> {
    x.chunks(mixture.dim())
        .map(|row| {
            let lj = mixture.log_joint(row, 0.0);
            (0..lj.len()).max_by(|&a, &b| lj[a].total_cmp(&lj[b])).unwrap_or(0)
        })
        .collect()
}

/// The denoiser MLP of the declaration (`hidden`, `layers`, `time_embedding`, `sigma_data`) for
/// `dim`-dimensional data: the diffusion model, and DisCo-Diff's decoder (or the ring's H_θ).
pub fn denoiser_mlp(p: &Params, dim: usize) -> Result<MlpConfig> {
    Ok(MlpConfig {
        hidden: p.usize("hidden")?,
        layers: p.usize("layers")?,
        time_embedding: p.usize("time_embedding")?,
        sigma_data: p.f64("sigma_data")?,
        ..MlpConfig::new(dim)
    })
}

/// The declared stage-1 optimisation, the same for every model of an experiment (B.2.2: Adam,
/// lr 1e−3; the rest declared).
pub fn train_config(p: &Params) -> Result<TrainConfig> {
    Ok(TrainConfig {
        steps: p.u64("train_steps")?,
        batch: p.usize("train_batch")?,
        lr: p.f64("lr")?,
        ema_decay: p.f64("ema_decay")?,
        p_mean: p.f64("p_mean")?,
        p_std: p.f64("p_std")?,
        seed: p.u64("train_seed")?,
        ..TrainConfig::default()
    })
}

/// The declared second-stage optimisation (Alg. 6): Adam on the prior's cross-entropy.
pub fn prior_training(p: &Params) -> Result<PriorTraining> {
    Ok(PriorTraining {
        steps: p.u64("prior_steps")?,
        batch: p.usize("prior_batch")?,
        lr: p.f64("prior_lr")?,
        seed: p.u64("train_seed")?,
    })
}

/// The declared sampling grid: EDM's scheme from `sigma_max` to `sigma_min` in `steps` steps, then 0.
pub fn grid(p: &Params) -> Result<Vec<f64>> {
    Ok(edm_main(p.f64("sigma_min")?, p.f64("sigma_max")?, p.usize("steps")?, p.f64("rho")?))
}

/// `n` samples by Heun along the declared grid from `start`'s prior draws (Alg. 7).
pub fn heun_from_prior(den: &dyn Denoiser, n: usize, p: &Params, start: Stream) -> Result<Vec<f64>> {
    let grid = grid(p)?;
    let mut parts = Particles::from_prior(n, den.dim(), grid[0], start);
    sample_heun(den, &mut parts, &grid)?;
    Ok(parts.x)
}
