//! DisCo-Diff's second stage (thesis Eq. 4.2, Alg. 6): a prior p_ψ(z) = Π_i p_ψ(z_i | z_<i) over
//! the m discrete latents, fitted by maximum likelihood — minimising the cross-entropy
//! −Σ_i log p_ψ(z_i | z_<i) (Alg. 6 prints the log-likelihood as its "loss"; spec §6 item 12) — on
//! latents extracted from the training data.
//!
//! z_0 has a categorical distribution with k learned logits (for m = 1 that is the whole prior).
//! The conditionals of z_1 … z_{m−1} come from one small MLP ([`DenseStack`]) whose input is the
//! one-hot previous latents (slots j ≥ i zeroed) and the one-hot position i − 1: an autoregressive
//! model in the role of the thesis's 12-layer Transformer decoder, which m ≤ a few does not need.

use crate::layers::{dense_specs, DenseStack};
use anyhow::{ensure, Context, Result};
use candle_core::{Device, Tensor, Var, D};
use candle_nn::VarMap;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use training::adam::{Adam, AdamParams};
use training::params::{initial_values, varmap_of, Init, ParamSpec};

/// The prior's architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorConfig {
    /// m, the number of latents.
    pub count: usize,
    /// k, the codebook size.
    pub values: usize,
    /// Hidden width of the autoregressive MLP (unused for m = 1).
    pub hidden: usize,
}

impl PriorConfig {
    fn validate(&self) -> Result<()> {
        ensure!(
            self.count > 0 && self.values >= 2 && self.hidden > 0,
            "latent prior: count (m = {}) and hidden ({}) must be positive and values (k = {}) at least 2",
            self.count,
            self.hidden,
            self.values
        );
        Ok(())
    }

    /// Input width of the autoregressive MLP: (m − 1) one-hot slots of k and the position one-hot.
    fn ar_inputs(&self) -> usize {
        (self.count - 1) * (self.values + 1)
    }

    fn params(&self) -> Vec<ParamSpec> {
        let mut specs = vec![ParamSpec::new("first.logits".into(), vec![1, self.values], Init::Zero)];
        if self.count > 1 {
            dense_specs(&mut specs, "ar", &[self.ar_inputs(), self.hidden, self.hidden, self.values]);
        }
        specs
    }
}

/// How [`LatentPrior::fit`] optimises: Adam on mini-batches drawn with replacement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriorTraining {
    /// Adam steps.
    pub steps: u64,
    /// Latent vectors per batch.
    pub batch: usize,
    /// Adam's learning rate (β₁ = 0.9, β₂ = 0.999, ε = 1e−8).
    pub lr: f64,
    /// Seed of the initial weights and of every batch.
    pub seed: u64,
}

/// A fitted (or given) prior over m discrete latents.
pub struct LatentPrior {
    config: PriorConfig,
    varmap: VarMap,
    names: Vec<String>,
    first: Tensor,
    net: Option<DenseStack>,
}

impl LatentPrior {
    /// Fresh parameters: uniform first latent (zero logits), the MLP drawn from `stream.named(name)`.
    pub fn new(config: &PriorConfig, stream: seeding::Stream) -> Result<Self> {
        config.validate()?;
        Self::from_values(config, initial_values(&config.params(), &stream))
    }

    /// A prior holding `values`: `first.logits` (k), then the MLP's `ar.<l>.weight/bias`.
    pub fn from_values(config: &PriorConfig, values: Vec<Vec<f32>>) -> Result<Self> {
        config.validate()?;
        let specs = config.params();
        let varmap = varmap_of(&specs, values, "latent prior")?;
        let get = |name: &str| -> Tensor {
            let data = varmap.data().lock().expect("not poisoned");
            data[name].as_tensor().clone()
        };
        Ok(LatentPrior {
            first: get("first.logits"),
            net: (config.count > 1).then(|| DenseStack::new("ar", 3, get)),
            names: specs.into_iter().map(|s| s.name).collect(),
            config: config.clone(),
            varmap,
        })
    }

    /// The architecture.
    pub fn config(&self) -> &PriorConfig {
        &self.config
    }

    fn vars(&self) -> Vec<Var> {
        let data = self.varmap.data().lock().expect("not poisoned");
        self.names.iter().map(|n| data[n].clone()).collect()
    }

    /// The parameter values, flat, in [`LatentPrior::from_values`] order.
    pub fn values(&self) -> Result<Vec<Vec<f32>>> {
        self.vars().iter().map(|v| Ok(v.as_tensor().flatten_all()?.to_vec1::<f32>()?)).collect()
    }

    fn check(&self, z: &[Vec<usize>], len: usize) -> Result<()> {
        for (r, row) in z.iter().enumerate() {
            ensure!(row.len() == len, "latent prior: row {r} has {} latents, expected {len}", row.len());
            ensure!(
                row.iter().all(|&v| v < self.config.values),
                "latent prior: row {r} = {row:?} has a value outside the codebook of k = {}",
                self.config.values
            );
        }
        Ok(())
    }

    /// The logits of z_i given the first i latents of each row (rows × k).
    fn logits(&self, prefixes: &[Vec<usize>], i: usize) -> Result<Tensor> {
        let n = prefixes.len();
        if i == 0 {
            return Ok(self.first.broadcast_as((n, self.config.values))?.contiguous()?);
        }
        let (m, k) = (self.config.count, self.config.values);
        let width = self.config.ar_inputs();
        let mut input = vec![0.0f32; n * width];
        for (r, z) in prefixes.iter().enumerate() {
            let row = &mut input[r * width..(r + 1) * width];
            for (j, &v) in z.iter().take(i).enumerate() {
                row[j * k + v] = 1.0;
            }
            row[(m - 1) * k + (i - 1)] = 1.0;
        }
        let net = self.net.as_ref().context("latent prior: m = 1 has no conditionals beyond z_0")?;
        net.forward(&Tensor::from_vec(input, (n, width), &Device::Cpu)?)
    }

    /// Σ_i log p_ψ(z_i | z_<i) per row as a differentiable tensor (rows).
    fn log_likelihood(&self, z: &[Vec<usize>]) -> Result<Tensor> {
        let (n, k) = (z.len(), self.config.values);
        let mut total = Tensor::zeros(n, candle_core::DType::F32, &Device::Cpu)?;
        for i in 0..self.config.count {
            let log_p = candle_nn::ops::log_softmax(&self.logits(z, i)?, D::Minus1)?;
            let mut hot = vec![0.0f32; n * k];
            z.iter().enumerate().for_each(|(r, row)| hot[r * k + row[i]] = 1.0);
            let picked = (log_p * Tensor::from_vec(hot, (n, k), &Device::Cpu)?)?.sum(1)?;
            total = (total + picked)?;
        }
        Ok(total)
    }

    /// log p_ψ(z) of each row (m values each).
    pub fn log_prob(&self, z: &[Vec<usize>]) -> Result<Vec<f64>> {
        self.check(z, self.config.count)?;
        Ok(self.log_likelihood(z)?.to_vec1::<f32>()?.into_iter().map(f64::from).collect())
    }

    /// p_ψ(z_i = · | z_<i) for rows holding their first i latents: rows × k probabilities.
    pub fn conditional(&self, prefixes: &[Vec<usize>], i: usize) -> Result<Vec<f64>> {
        ensure!(i < self.config.count, "latent prior: latent {i} of m = {}", self.config.count);
        self.check(&prefixes.iter().map(|p| p[..i.min(p.len())].to_vec()).collect::<Vec<_>>(), i)?;
        let p = candle_nn::ops::softmax(&self.logits(prefixes, i)?, D::Minus1)?;
        Ok(p.flatten_all()?.to_vec1::<f32>()?.into_iter().map(f64::from).collect())
    }

    /// `n` latent vectors by ancestral sampling (Alg. 7, lines 1–2); row r draws from `stream.child(r)` only.
    pub fn sample(&self, n: usize, stream: seeding::Stream) -> Result<Vec<Vec<usize>>> {
        let k = self.config.values;
        let mut rngs: Vec<seeding::Rng> = (0..n).map(|r| stream.child(r as u64).rng()).collect();
        let mut z: Vec<Vec<usize>> = vec![Vec::with_capacity(self.config.count); n];
        for i in 0..self.config.count {
            let p = self.conditional(&z, i)?;
            for (r, rng) in rngs.iter_mut().enumerate() {
                // Inverse CDF; the last value takes any rounding remainder.
                let u: f64 = rng.random();
                let (mut acc, mut v) = (0.0, k - 1);
                for (j, q) in p[r * k..(r + 1) * k].iter().enumerate() {
                    acc += q;
                    if u < acc {
                        v = j;
                        break;
                    }
                }
                z[r].push(v);
            }
        }
        Ok(z)
    }

    /// Fits a prior to `latents` by Adam on the mean cross-entropy (Alg. 6); returns it with the
    /// loss of every step. Step s draws its batch from `Stream::new(seed).named("batch").child(s)`.
    pub fn fit(config: &PriorConfig, latents: &[Vec<usize>], training: &PriorTraining) -> Result<(Self, Vec<f64>)> {
        ensure!(!latents.is_empty(), "latent prior: no latents to fit");
        ensure!(
            training.batch > 0 && training.lr > 0.0,
            "latent prior: batch ({}) and lr ({}) must be positive",
            training.batch,
            training.lr
        );
        let prior = LatentPrior::new(config, seeding::Stream::new(training.seed).named("init"))?;
        prior.check(latents, config.count)?;
        let vars = prior.vars();
        let lengths: Vec<usize> = vars.iter().map(|v| v.as_tensor().elem_count()).collect();
        let mut adam = Adam::new(
            AdamParams {
                lr: training.lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            &lengths,
        );
        let mut losses = Vec::with_capacity(training.steps as usize);
        for step in 0..training.steps {
            let mut rng = seeding::Stream::new(training.seed).named("batch").child(step).rng();
            let batch: Vec<Vec<usize>> = (0..training.batch).map(|_| latents[rng.random_range(0..latents.len())].clone()).collect();
            let loss = prior.log_likelihood(&batch)?.mean_all()?.neg()?;
            losses.push(loss.to_scalar::<f32>()? as f64);
            let grads = loss.backward()?;
            let g = vars
                .iter()
                .zip(&prior.names)
                .map(|(v, name)| {
                    Ok(grads
                        .get(v)
                        .with_context(|| format!("no gradient reached {name}"))?
                        .flatten_all()?
                        .to_vec1::<f32>()?)
                })
                .collect::<Result<Vec<_>>>()?;
            let mut theta = prior.values()?;
            adam.update(step + 1, &mut theta, &g);
            for (var, v) in vars.iter().zip(&theta) {
                var.set(&Tensor::from_slice(v, var.shape(), &Device::Cpu)?)?;
            }
        }
        Ok((prior, losses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::{ChiSquared, ContinuousCDF};

    fn config(count: usize, values: usize) -> PriorConfig {
        PriorConfig { count, values, hidden: 16 }
    }

    #[test]
    fn a_fixed_table_gives_its_probabilities_and_samples_follow_them() {
        // m = 2, k = 3: z_0 ~ p0 from the logits, and the MLP's output layer zeroed with biases ln q,
        // so p(z_1 | z_0) = q whatever z_0: the joint is p0 ⊗ q.
        let (p0, q) = ([0.5, 0.3, 0.2], [0.1, 0.6, 0.3]);
        let cfg = config(2, 3);
        let mut values = LatentPrior::new(&cfg, seeding::Stream::new(1)).unwrap().values().unwrap();
        values[0] = p0.iter().map(|p: &f64| p.ln() as f32).collect();
        let n = values.len();
        values[n - 2].fill(0.0);
        values[n - 1] = q.iter().map(|p: &f64| p.ln() as f32).collect();
        let prior = LatentPrior::from_values(&cfg, values).unwrap();
        let all: Vec<Vec<usize>> = (0..9).map(|c| vec![c / 3, c % 3]).collect();
        let lp = prior.log_prob(&all).unwrap();
        for (z, l) in all.iter().zip(&lp) {
            assert!((l.exp() - p0[z[0]] * q[z[1]]).abs() < 1e-6, "{z:?}: {}", l.exp());
        }
        let draws = 30_000;
        let mut counts = [0usize; 9];
        for z in prior.sample(draws, seeding::Stream::new(4)).unwrap() {
            counts[z[0] * 3 + z[1]] += 1;
        }
        let chi2: f64 = (0..9)
            .map(|c| {
                let e = draws as f64 * p0[c / 3] * q[c % 3];
                (counts[c] as f64 - e).powi(2) / e
            })
            .sum();
        let critical = ChiSquared::new(8.0).unwrap().inverse_cdf(1.0 - 1e-4);
        assert!(chi2 < critical, "χ² = {chi2} ≥ {critical}: {counts:?}");
    }

    #[test]
    fn fitting_recovers_a_dependent_table_and_a_categorical() {
        // z_0 ~ (0.6, 0.4); z_1 | z_0 from a table that depends on z_0.
        let table = [[0.8, 0.1, 0.1], [0.1, 0.2, 0.7]];
        let mut rng = seeding::Stream::new(9).rng();
        let data: Vec<Vec<usize>> = (0..4000)
            .map(|_| {
                let z0 = usize::from(rng.random::<f64>() >= 0.6);
                let u: f64 = rng.random();
                let z1 = if u < table[z0][0] {
                    0
                } else if u < table[z0][0] + table[z0][1] {
                    1
                } else {
                    2
                };
                vec![z0, z1]
            })
            .collect();
        let training = PriorTraining {
            steps: 600,
            batch: 256,
            lr: 1e-2,
            seed: 3,
        };
        let (prior, losses) = LatentPrior::fit(&config(2, 3), &data, &training).unwrap();
        assert!(losses[losses.len() - 1] < losses[0]);
        for z0 in 0..2 {
            let n = data.iter().filter(|z| z[0] == z0).count() as f64;
            let p = prior.conditional(&[vec![z0]], 1).unwrap();
            for (z1, q) in p.iter().enumerate() {
                let freq = data.iter().filter(|z| z[0] == z0 && z[1] == z1).count() as f64 / n;
                assert!((q - freq).abs() < 0.03, "p(z1 = {z1} | z0 = {z0}) = {q} vs {freq}");
            }
        }
        // m = 1: the prior is a categorical whose fit is the empirical frequencies.
        let single: Vec<Vec<usize>> = data.iter().map(|z| vec![z[1]]).collect();
        let (cat, _) = LatentPrior::fit(&config(1, 3), &single, &training).unwrap();
        let p = cat.conditional(&[vec![]], 0).unwrap();
        for (v, q) in p.iter().enumerate() {
            let freq = single.iter().filter(|z| z[0] == v).count() as f64 / single.len() as f64;
            assert!((q - freq).abs() < 0.02, "p({v}) = {q} vs {freq}");
        }
        assert!(cat.log_prob(&[vec![3]]).unwrap_err().to_string().contains("codebook"));
    }
}
