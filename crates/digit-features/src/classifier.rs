//! The digit classifier: 64 → 128 → 64 → 10 with SiLU, trained by Adam on cross-entropy with
//! seeded initial weights and seeded mini-batches, so the same seed gives the same weights.

use anyhow::{ensure, Context, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{Linear, Module, Optimizer, VarMap};
use rand::seq::SliceRandom;
use rand::Rng as _;
use std::path::Path;

/// Pixels per image (8 × 8).
pub const PIXELS: usize = 64;
/// Width of the penultimate layer, whose activations are the features.
pub const FEATURES: usize = 64;
const HIDDEN: usize = 128;
const CLASSES: usize = 10;

/// Layer names and shapes (out, in), in order.
const LAYERS: [(&str, usize, usize); 3] = [("fc1", HIDDEN, PIXELS), ("fc2", FEATURES, HIDDEN), ("out", CLASSES, FEATURES)];

/// Training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed of the initial weights and of the batch order.
    pub seed: u64,
}

/// The trained classifier.
pub struct Classifier {
    varmap: VarMap,
    layers: Vec<Linear>,
}

impl Classifier {
    /// Fresh weights: uniform in ±1/√fan_in (PyTorch's default), zero biases, drawn from `stream`.
    pub fn new(stream: seeding::Stream) -> Result<Self> {
        let varmap = VarMap::new();
        {
            let mut data = varmap.data().lock().expect("a fresh VarMap is not poisoned");
            for (name, out, inp) in LAYERS {
                let mut rng = stream.named(name).rng();
                let bound = 1.0 / (inp as f32).sqrt();
                let w: Vec<f32> = (0..out * inp).map(|_| rng.random_range(-bound..bound)).collect();
                data.insert(format!("{name}.weight"), Var::from_tensor(&Tensor::from_vec(w, (out, inp), &Device::Cpu)?)?);
                data.insert(format!("{name}.bias"), Var::from_tensor(&Tensor::zeros(out, DType::F32, &Device::Cpu)?)?);
            }
        }
        Self::from_varmap(varmap)
    }

    fn from_varmap(varmap: VarMap) -> Result<Self> {
        let layers = {
            let data = varmap.data().lock().expect("not poisoned");
            LAYERS
                .iter()
                .map(|(name, _, _)| {
                    Linear::new(
                        data[&format!("{name}.weight")].as_tensor().clone(),
                        Some(data[&format!("{name}.bias")].as_tensor().clone()),
                    )
                })
                .collect()
        };
        Ok(Classifier { varmap, layers })
    }

    /// Weights saved by [`Classifier::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let mut c = Self::new(seeding::Stream::new(0))?;
        c.varmap
            .load(path)
            .with_context(|| format!("loading the FD-digits classifier from {}", path.display()))?;
        Self::from_varmap(c.varmap)
    }

    /// Writes the weights as safetensors.
    pub fn save(&self, path: &Path) -> Result<()> {
        Ok(self.varmap.save(path)?)
    }

    fn rows(x: &[f64]) -> Result<Tensor> {
        ensure!(x.len().is_multiple_of(PIXELS), "FD-digits: {} values are not rows of {PIXELS} pixels", x.len());
        Ok(Tensor::from_vec(
            x.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            (x.len() / PIXELS, PIXELS),
            &Device::Cpu,
        )?)
    }

    /// (features, logits) of a batch.
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let h = self.layers[0].forward(x)?.silu()?;
        let f = self.layers[1].forward(&h)?.silu()?;
        let logits = self.layers[2].forward(&f)?;
        Ok((f, logits))
    }

    /// Penultimate features (rows × 64, f64) of images given as rows of 64 pixels in [−1, 1].
    pub fn features(&self, x: &[f64]) -> Result<Vec<f64>> {
        let (f, _) = self.forward(&Self::rows(x)?)?;
        Ok(f.flatten_all()?.to_vec1::<f32>()?.into_iter().map(f64::from).collect())
    }

    /// Fraction of images whose arg-max class is their label.
    pub fn accuracy(&self, x: &[f64], labels: &[u8]) -> Result<f64> {
        let (_, logits) = self.forward(&Self::rows(x)?)?;
        let pred = logits.argmax(1)?.to_vec1::<u32>()?;
        Ok(pred.iter().zip(labels).filter(|(p, l)| **p == u32::from(**l)).count() as f64 / labels.len() as f64)
    }

    /// Trains on images (rows of 64 pixels) and labels by Adam on the cross-entropy.
    pub fn train(x: &[f64], labels: &[u8], config: &TrainConfig) -> Result<Self> {
        let n = labels.len();
        ensure!(x.len() == n * PIXELS && n > 0, "FD-digits: {} pixel values for {n} labels", x.len());
        let root = seeding::Stream::new(config.seed);
        let c = Self::new(root.named("init"))?;
        let params = candle_nn::ParamsAdamW {
            lr: config.lr,
            weight_decay: 0.0,
            ..Default::default()
        };
        let mut opt = candle_nn::AdamW::new(c.varmap.all_vars(), params)?;
        let mut order: Vec<usize> = (0..n).collect();
        for epoch in 0..config.epochs {
            order.shuffle(&mut root.named("batches").child(epoch as u64).rng());
            for chunk in order.chunks(config.batch) {
                let xb: Vec<f64> = chunk.iter().flat_map(|&i| x[i * PIXELS..(i + 1) * PIXELS].iter().copied()).collect();
                let yb = Tensor::from_vec(chunk.iter().map(|&i| u32::from(labels[i])).collect::<Vec<_>>(), chunk.len(), &Device::Cpu)?;
                let (_, logits) = c.forward(&Self::rows(&xb)?)?;
                opt.backward_step(&candle_nn::loss::cross_entropy(&logits, &yb)?)?;
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_the_digits_deterministically_and_round_trips_through_safetensors() {
        let set = datasets::images::digits(&datasets::root()).unwrap();
        let x = set.rows_f64().unwrap();
        let labels = set.labels.clone().unwrap();
        let split = 1500;
        let config = TrainConfig {
            epochs: 30,
            batch: 64,
            lr: 1e-3,
            seed: 0,
        };
        let c = Classifier::train(&x[..split * PIXELS], &labels[..split], &config).unwrap();
        let acc = c.accuracy(&x[split * PIXELS..], &labels[split..]).unwrap();
        assert!(acc > 0.9, "held-out accuracy {acc}");
        let again = Classifier::train(&x[..split * PIXELS], &labels[..split], &config).unwrap();
        assert_eq!(c.features(&x[..640]).unwrap(), again.features(&x[..640]).unwrap());
        let dir = std::env::temp_dir().join(format!("fd-digits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("classifier.safetensors");
        c.save(&path).unwrap();
        assert_eq!(Classifier::load(&path).unwrap().features(&x[..640]).unwrap(), c.features(&x[..640]).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fd_digits_grows_with_corruption() {
        let set = datasets::images::digits(&datasets::root()).unwrap();
        let x = set.rows_f64().unwrap();
        let labels = set.labels.clone().unwrap();
        let c = Classifier::train(
            &x[..1000 * PIXELS],
            &labels[..1000],
            &TrainConfig {
                epochs: 20,
                batch: 64,
                lr: 1e-3,
                seed: 1,
            },
        )
        .unwrap();
        let (a, b) = (&x[..800 * PIXELS], &x[800 * PIXELS..1600 * PIXELS]);
        let same = crate::fd_digits(&c, a, b).unwrap();
        // Uniform pixel noise of growing width must push FD-digits up step by step.
        let mut last = same;
        for (k, width) in [0.4, 0.8, 1.6].into_iter().enumerate() {
            let mut rng = seeding::Stream::new(9).child(k as u64).rng();
            let noisy: Vec<f64> = b.iter().map(|v| (v + width * (rng.random::<f64>() - 0.5)).clamp(-1.0, 1.0)).collect();
            let fd = crate::fd_digits(&c, a, &noisy).unwrap();
            assert!(fd > last, "noise width {width}: FD-digits {fd} after {last}");
            last = fd;
        }
    }
}
