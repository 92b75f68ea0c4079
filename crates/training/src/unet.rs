//! A small convolutional U-Net denoiser for 8×8 to 28×28 images, in EDM's or VE's
//! preconditioning: D_θ(x; σ) = c_skip x + c_out F_θ(c_in x; c_noise).
//!
//! The layout follows EDM's `SongUNet` (DDPM++, `training/networks.py`) at a CPU-sized scale:
//! * the noise embedding: the [`time_features`] of c_noise through a two-layer SiLU mapping
//!   network of width `4·base` (EDM's `map_layer0`, `map_layer1`);
//! * an input 3×3 convolution to `base` channels, then per level `l` (resolution side/2^l,
//!   `base·multipliers[l]` channels) `blocks` residual blocks, 2× average pooling between levels,
//!   one block at the bottom, and the mirror path up with nearest upsampling, the first block of
//!   each level taking the encoder's output at that level as a concatenated skip;
//! * a residual block: h = conv₁(SiLU(GN(x))) + W_e·emb, h = conv₂(SiLU(GN(h))),
//!   out = (skip(x) + h)/√2, with skip a 1×1 convolution where the width changes (EDM's
//!   `UNetBlock` with `skip_scale = √½`), conv₂ starting at zero so each block starts as its skip;
//! * GN → SiLU → a zero-initialised 3×3 convolution to the image channels.
//!
//! Attention layers are left out: at these sides every pixel is within a few 3×3 receptive fields
//! of every other. Rows of data are flattened (C, H, W) images, as `datasets::ImageSet` stores
//! them; the network works channels-last ([`crate::image_layers`]).

use crate::embedding::time_features;
use crate::image_layers::{add_bias, avg_pool2, cat_channels, conv1x1, conv3x3, group_norm, scale_shift, upsample2};
use crate::network::{Network, NetworkConfig};
use crate::params::{initial_values, kaiming, lecun, linear_specs, varmap_of, Init, ParamSpec};
use crate::precond::{Coefficients, EdmPrecond, Precond};
use anyhow::{ensure, Context, Result};
use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The architecture of a [`UNet`]; stored beside every checkpoint as part of `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UNetConfig {
    /// Image channels.
    pub channels: usize,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Channels at full resolution.
    pub base: usize,
    /// Channel multiplier per resolution level (EDM's `channel_mult`); its length is the number of levels.
    pub multipliers: Vec<usize>,
    /// Residual blocks per level on the way down (EDM's `num_blocks`).
    pub blocks: usize,
    /// Number of sinusoidal features of c_noise (even).
    pub time_embedding: usize,
    /// σ_data of EDM's preconditioning (unused with `ve`).
    pub sigma_data: f64,
    /// Song et al.'s VE preconditioning (c_skip = 1, c_out = σ, c_in = 1) instead of EDM's.
    pub ve: bool,
}

impl UNetConfig {
    /// A two-level U-Net (`base`, `2·base` channels), one block per level, 32 time features,
    /// EDM's preconditioning with σ_data = 0.5, for single-channel `height` × `width` images.
    pub fn new(height: usize, width: usize, base: usize) -> Self {
        UNetConfig {
            channels: 1,
            height,
            width,
            base,
            multipliers: vec![1, 2],
            blocks: 1,
            time_embedding: 32,
            sigma_data: 0.5,
            ve: false,
        }
    }

    /// Channels at level `l`.
    fn width_at(&self, l: usize) -> usize {
        self.base * self.multipliers[l]
    }

    /// Width of the mapped noise embedding.
    fn embedding_width(&self) -> usize {
        4 * self.base
    }

    /// The residual blocks, in evaluation order: (name, input channels, output channels).
    fn block_layout(&self) -> Vec<(String, usize, usize)> {
        let levels = self.multipliers.len();
        let mut out = Vec::new();
        let mut c = self.base;
        for l in 0..levels {
            for k in 0..self.blocks {
                out.push((format!("enc.{l}.{k}"), c, self.width_at(l)));
                c = self.width_at(l);
            }
        }
        out.push(("mid".to_string(), c, c));
        for l in (0..levels).rev() {
            for k in 0..self.blocks {
                // The first block of a level sees the encoder's output at this level beside h.
                let inp = if k == 0 { c + self.width_at(l) } else { c };
                out.push((format!("dec.{l}.{k}"), inp, self.width_at(l)));
                c = self.width_at(l);
            }
        }
        out
    }

    /// Multiply-adds ×2 of one forward pass on one image in the matrix products (3×3 and 1×1
    /// convolutions, the embedding maps, group-norm statistics excluded): the network's share of
    /// a training step's arithmetic, for cost comparisons that do not depend on the machine.
    pub fn forward_flops(&self) -> f64 {
        let levels = self.multipliers.len();
        let side = |l: usize| -> f64 {
            let (mut h, mut w) = (self.height, self.width);
            for _ in 0..l {
                h = h.div_ceil(2);
                w = w.div_ceil(2);
            }
            (h * w) as f64
        };
        // The block of each name runs at the resolution of its level (the middle one at the last).
        let level_of = |name: &str| -> usize { name.split('.').nth(1).and_then(|l| l.parse().ok()).unwrap_or(levels - 1) };
        let m = self.embedding_width() as f64;
        let mut flops = 2.0 * (self.time_embedding as f64 * m + m * m);
        flops += 2.0 * side(0) * 9.0 * (self.channels * self.base) as f64 * 2.0;
        for (name, inp, out) in self.block_layout() {
            let (px, (i, o)) = (side(level_of(&name)), (inp as f64, out as f64));
            flops += 2.0 * px * 9.0 * (i * o + o * o) + 2.0 * m * o;
            if inp != out {
                flops += 2.0 * px * i * o;
            }
        }
        flops
    }

    /// Every parameter in a fixed order: its name, shape and initialisation.
    fn params(&self) -> Vec<ParamSpec> {
        let (e, m) = (self.time_embedding, self.embedding_width());
        let mut specs = Vec::new();
        linear_specs(&mut specs, "map0", e, m, kaiming(e));
        linear_specs(&mut specs, "map1", m, m, kaiming(m));
        conv_specs(&mut specs, "in", self.channels, self.base, kaiming(9 * self.channels));
        for (name, inp, out) in self.block_layout() {
            norm_specs(&mut specs, &format!("{name}.norm0"), inp);
            conv_specs(&mut specs, &format!("{name}.conv0"), inp, out, kaiming(9 * inp));
            specs.push(ParamSpec::new(format!("{name}.emb.weight"), vec![m, out], kaiming(m)));
            norm_specs(&mut specs, &format!("{name}.norm1"), out);
            conv_specs(&mut specs, &format!("{name}.conv1"), out, out, Init::Zero);
            if inp != out {
                specs.push(ParamSpec::new(format!("{name}.skip.weight"), vec![inp, out], lecun(inp)));
                specs.push(ParamSpec::new(format!("{name}.skip.bias"), vec![out], Init::Zero));
            }
        }
        norm_specs(&mut specs, "out.norm", self.base);
        conv_specs(&mut specs, "out.conv", self.base, self.channels, Init::Zero);
        specs
    }
}

/// A 3×3 convolution's weight (9·inp, out) and bias.
fn conv_specs(specs: &mut Vec<ParamSpec>, prefix: &str, inp: usize, out: usize, init: Init) {
    specs.push(ParamSpec::new(format!("{prefix}.weight"), vec![9 * inp, out], init));
    specs.push(ParamSpec::new(format!("{prefix}.bias"), vec![out], Init::Zero));
}

/// A group norm's scale (ones) and shift (zeros).
fn norm_specs(specs: &mut Vec<ParamSpec>, prefix: &str, channels: usize) {
    specs.push(ParamSpec::new(format!("{prefix}.gamma"), vec![channels], Init::One));
    specs.push(ParamSpec::new(format!("{prefix}.beta"), vec![channels], Init::Zero));
}

/// EDM's `GroupNorm` group count: at most 32 groups of at least 4 channels.
fn groups(channels: usize) -> usize {
    let mut g = (channels / 4).clamp(1, 32);
    while !channels.is_multiple_of(g) {
        g -= 1;
    }
    g
}

impl NetworkConfig for UNetConfig {
    type Net = UNet;

    fn dim(&self) -> usize {
        self.channels * self.height * self.width
    }

    fn validate(&self) -> Result<()> {
        ensure!(
            self.channels > 0 && self.height > 0 && self.width > 0 && self.base > 0 && self.blocks > 0,
            "U-Net config: channels ({}), height ({}), width ({}), base ({}) and blocks ({}) must be positive",
            self.channels,
            self.height,
            self.width,
            self.base,
            self.blocks
        );
        ensure!(
            !self.multipliers.is_empty() && self.multipliers.iter().all(|&m| m > 0),
            "U-Net config: multipliers ({:?}) must list at least one positive multiplier",
            self.multipliers
        );
        let smallest = (self.height.min(self.width) as f64 / 2f64.powi(self.multipliers.len() as i32 - 1)).ceil();
        ensure!(
            smallest >= 2.0,
            "U-Net config: {} levels take a {}×{} image below 2×2 pixels",
            self.multipliers.len(),
            self.height,
            self.width
        );
        ensure!(
            self.time_embedding > 0 && self.time_embedding.is_multiple_of(2),
            "U-Net config: time_embedding ({}) must be even and positive",
            self.time_embedding
        );
        ensure!(
            self.sigma_data.is_finite() && self.sigma_data > 0.0,
            "U-Net config: sigma_data ({}) must be positive",
            self.sigma_data
        );
        Ok(())
    }

    fn parameter_layout(&self) -> Vec<(String, Vec<usize>)> {
        self.params().into_iter().map(|s| (s.name, s.shape)).collect()
    }
}

/// A U-Net denoiser D_θ; implements [`diffusion::Denoiser`] and [`Network`].
pub struct UNet {
    config: UNetConfig,
    varmap: VarMap,
    names: Vec<String>,
    tensors: HashMap<String, Tensor>,
}

impl UNet {
    fn get(&self, name: &str) -> &Tensor {
        &self.tensors[name]
    }

    /// One residual block on `x` (B, H, W, C) with the mapped embedding `emb` (B, 4·base).
    fn block(&self, name: &str, x: &Tensor, emb: &Tensor) -> Result<Tensor> {
        let p = |s: &str| self.get(&format!("{name}.{s}"));
        let (b, _, _, c) = x.dims4()?;
        let h = group_norm(x, groups(c), p("norm0.gamma"), p("norm0.beta"))?.silu()?;
        let h = conv3x3(&h, p("conv0.weight"), p("conv0.bias"))?;
        let out = h.dim(3)?;
        let (_, hh, ww, _) = h.dims4()?;
        let ones = Tensor::ones((b, out), h.dtype(), h.device())?;
        let h = scale_shift(&h.reshape((b * hh * ww, out))?, &ones, &emb.matmul(p("emb.weight"))?, hh * ww)?.reshape((b, hh, ww, out))?;
        let h = group_norm(&h, groups(out), p("norm1.gamma"), p("norm1.beta"))?.silu()?;
        let h = conv3x3(&h, p("conv1.weight"), p("conv1.bias"))?;
        let skip = if c != out { conv1x1(x, p("skip.weight"), p("skip.bias"))? } else { x.clone() };
        Ok(((skip + h)? * std::f64::consts::FRAC_1_SQRT_2)?)
    }

    /// F_θ(input; c_noise) for rows already scaled by c_in, as a differentiable (rows × dim) tensor.
    fn forward_raw(&self, input: &[f64], c_noise: &[f64]) -> Result<Tensor> {
        let cfg = &self.config;
        let (n, d, e) = (c_noise.len(), cfg.dim(), cfg.time_embedding);
        ensure!(input.len() == n * d, "U-Net: {} input values for {n} images of {d} values", input.len());
        let mut features = Vec::with_capacity(n * e);
        let (mut row, mut last) = (vec![0.0; e], f64::NAN);
        for &c in c_noise {
            // Sampling calls share one σ: the features are computed once, not once per image.
            if c != last {
                time_features(c, &mut row);
                last = c;
            }
            features.extend(row.iter().map(|&f| f as f32));
        }
        let dev = &Device::Cpu;
        let linear =
            |x: &Tensor, name: &str| -> Result<Tensor> { add_bias(&x.matmul(&self.get(&format!("{name}.weight")).t()?)?, self.get(&format!("{name}.bias"))) };
        let emb = linear(&Tensor::from_vec(features, (n, e), dev)?, "map0")?.silu()?;
        let emb = linear(&emb, "map1")?.silu()?;
        let pixels: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        let x = Tensor::from_vec(pixels, (n, cfg.channels, cfg.height, cfg.width), dev)?
            .permute((0, 2, 3, 1))?
            .contiguous()?;
        let mut h = conv3x3(&x, self.get("in.weight"), self.get("in.bias"))?;
        let levels = cfg.multipliers.len();
        let mut skips = Vec::with_capacity(levels);
        for l in 0..levels {
            for k in 0..cfg.blocks {
                h = self.block(&format!("enc.{l}.{k}"), &h, &emb)?;
            }
            skips.push(h.clone());
            if l + 1 < levels {
                h = avg_pool2(&h)?;
            }
        }
        h = self.block("mid", &h, &emb)?;
        for l in (0..levels).rev() {
            let skip = &skips[l];
            if l + 1 < levels {
                let (_, sh, sw, _) = skip.dims4()?;
                h = upsample2(&h, sh, sw)?;
            }
            for k in 0..cfg.blocks {
                let inp = if k == 0 { cat_channels(&h, skip)? } else { h };
                h = self.block(&format!("dec.{l}.{k}"), &inp, &emb)?;
            }
        }
        let c = cfg.base;
        h = group_norm(&h, groups(c), self.get("out.norm.gamma"), self.get("out.norm.beta"))?.silu()?;
        let out = conv3x3(&h, self.get("out.conv.weight"), self.get("out.conv.bias"))?;
        Ok(out.permute((0, 3, 1, 2))?.contiguous()?.reshape((n, d))?)
    }

    /// F_θ(c_in x; c_noise) and the coefficients for a batch with one σ per row.
    fn network(&self, x: &[f64], sigma: &[f64]) -> Result<(Tensor, Vec<Coefficients>)> {
        let d = self.config.dim();
        ensure!(x.len() == sigma.len() * d, "U-Net: {} values for {} images of {d}", x.len(), sigma.len());
        let precond = self.precond();
        let coefs: Vec<Coefficients> = sigma.iter().map(|&s| precond.coefficients(s)).collect();
        let scaled: Vec<f64> = x.chunks_exact(d).zip(&coefs).flat_map(|(row, c)| row.iter().map(move |v| c.c_in * v)).collect();
        let c_noise: Vec<f64> = coefs.iter().map(|c| c.c_noise).collect();
        Ok((self.forward_raw(&scaled, &c_noise)?, coefs))
    }
}

impl Network for UNet {
    type Config = UNetConfig;

    fn init(config: &UNetConfig, stream: seeding::Stream) -> Result<Self> {
        config.validate()?;
        Self::from_values(config, initial_values(&config.params(), &stream))
    }

    fn from_values(config: &UNetConfig, values: Vec<Vec<f32>>) -> Result<Self> {
        config.validate()?;
        let specs = config.params();
        let varmap = varmap_of(&specs, values, "U-Net")?;
        let tensors = {
            let data = varmap.data().lock().expect("not poisoned");
            specs.iter().map(|s| (s.name.clone(), data[&s.name].as_tensor().clone())).collect()
        };
        Ok(UNet {
            config: config.clone(),
            names: specs.into_iter().map(|s| s.name).collect(),
            varmap,
            tensors,
        })
    }

    fn config(&self) -> &UNetConfig {
        &self.config
    }

    fn precond(&self) -> Precond {
        if self.config.ve {
            Precond::Ve
        } else {
            Precond::Edm(EdmPrecond {
                sigma_data: self.config.sigma_data,
            })
        }
    }

    fn names(&self) -> &[String] {
        &self.names
    }

    fn vars(&self) -> Vec<Var> {
        let data = self.varmap.data().lock().expect("not poisoned");
        self.names.iter().map(|n| data[n].clone()).collect()
    }

    fn denoise_tensor(&self, x: &[f64], sigma: &[f64]) -> Result<Tensor> {
        let (f, coefs) = self.network(x, sigma)?;
        let d = self.config.dim();
        let skip: Vec<f32> = x
            .chunks_exact(d)
            .zip(&coefs)
            .flat_map(|(row, c)| row.iter().map(move |v| (c.c_skip * v) as f32))
            .collect();
        let c_out: Vec<f32> = coefs.iter().map(|c| c.c_out as f32).collect();
        let dev = &Device::Cpu;
        let n = sigma.len();
        Ok((Tensor::from_vec(skip, (n, d), dev)? + f.broadcast_mul(&Tensor::from_vec(c_out, (n, 1), dev)?)?)?)
    }
}

/// Images per forward pass when sampling. Small chunks keep each layer's activations near the
/// caches and give the two cores many chunks to share: one forward of 2048 digits images at base
/// 16 took 333–433 ms with chunks of 64, 344–410 with 128 and 387–454 with 512 (`unet_profile`,
/// five runs each on a shared machine, 2 threads, CANDLE_NUM_THREADS = 1).
const SAMPLING_CHUNK: usize = 64;

impl diffusion::Denoiser for UNet {
    fn dim(&self) -> usize {
        self.config.dim()
    }

    /// The skip term c_skip x is added in f64, so D − x keeps f64 accuracy at small σ.
    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> Result<()> {
        let d = self.config.dim();
        if !crate::network::begin_denoise("U-Net", d, x, sigma, out)? {
            return Ok(());
        }
        // Chunks in parallel: candle's element-wise CPU ops run on one thread here
        // (CANDLE_NUM_THREADS = 1), so two chunks at once use both cores; each chunk's result
        // does not depend on the others or on the threads.
        x.par_chunks(SAMPLING_CHUNK * d)
            .zip(out.par_chunks_mut(SAMPLING_CHUNK * d))
            .try_for_each(|(xs, os)| -> Result<()> {
                let (f, coefs) = self.network(xs, &vec![sigma; xs.len() / d])?;
                let f = f.flatten_all()?.to_vec1::<f32>().context("reading the U-Net output")?;
                let c = coefs[0];
                for ((o, xi), fi) in os.iter_mut().zip(xs).zip(f) {
                    *o = c.c_skip * xi + c.c_out * fi as f64;
                }
                Ok(())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffusion::Denoiser;

    fn small(height: usize, width: usize) -> UNetConfig {
        UNetConfig {
            base: 8,
            time_embedding: 8,
            ..UNetConfig::new(height, width, 8)
        }
    }

    #[test]
    fn a_fresh_network_is_the_skip_path_and_shapes_hold_at_odd_sides() {
        // conv1 of every block and the output convolution start at zero, so F_θ = 0 and D = c_skip x.
        for (h, w) in [(8, 8), (25, 25), (7, 9)] {
            let cfg = small(h, w);
            let net = UNet::init(&cfg, seeding::Stream::new(1)).unwrap();
            let x: Vec<f64> = (0..2 * h * w).map(|i| (i as f64 * 0.37).sin()).collect();
            let mut out = vec![0.0; x.len()];
            net.denoise(&x, 0.7, &mut out).unwrap();
            let c_skip = net.precond().coefficients(0.7).c_skip;
            assert!(out.iter().zip(&x).all(|(o, x)| (o - c_skip * x).abs() < 1e-12), "{h}×{w}");
        }
    }

    #[test]
    fn the_batched_tensor_and_the_denoiser_agree_after_a_perturbation() {
        // Non-zero weights everywhere: the f64 denoiser and the training tensor give the same D.
        let cfg = UNetConfig { ve: true, ..small(8, 8) };
        let values: Vec<Vec<f32>> = cfg
            .params()
            .iter()
            .enumerate()
            .map(|(k, s)| {
                (0..s.shape.iter().product::<usize>())
                    .map(|i| 0.05 * ((i * 7 + k * 13) % 11) as f32 - 0.25)
                    .collect()
            })
            .collect();
        let net = UNet::from_values(&cfg, values).unwrap();
        let x: Vec<f64> = (0..3 * 64).map(|i| (i as f64 * 0.11).cos()).collect();
        let mut out = vec![0.0; x.len()];
        net.denoise(&x, 2.0, &mut out).unwrap();
        let t = net.denoise_tensor(&x, &[2.0; 3]).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let gap = out.iter().zip(&t).map(|(a, b)| (a - *b as f64).abs()).fold(0.0, f64::max);
        assert!(gap < 1e-4, "largest gap {gap}");
        assert!(out.iter().zip(&x).any(|(o, x)| (o - x).abs() > 1e-3), "the network must act");
    }

    #[test]
    fn forward_flops_count_the_products_of_a_one_level_net() {
        // One level, one block, 8 → 8 channels on 4×4: input conv 1→8, enc 8→8, mid 8→8, dec 16→8
        // (with a 1×1 skip), output conv 8→1, and the two embedding maps (E = 8 → 32 → 32).
        let cfg = UNetConfig {
            multipliers: vec![1],
            time_embedding: 8,
            ..UNetConfig::new(4, 4, 8)
        };
        let px = 16.0;
        let conv = |i: f64, o: f64| 2.0 * px * 9.0 * i * o;
        let block = |i: f64, o: f64| conv(i, o) + conv(o, o) + 2.0 * 32.0 * o;
        let want = 2.0 * (8.0 * 32.0 + 32.0 * 32.0) + 2.0 * conv(1.0, 8.0) + block(8.0, 8.0) + block(8.0, 8.0) + block(16.0, 8.0) + 2.0 * px * 16.0 * 8.0;
        assert_eq!(cfg.forward_flops(), want);
    }

    #[test]
    fn bad_configurations_name_the_field() {
        let err = UNetConfig {
            multipliers: vec![1, 1, 1, 1],
            ..small(8, 8)
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("levels"), "{err}");
        let err = UNetConfig {
            time_embedding: 7,
            ..small(8, 8)
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("time_embedding"), "{err}");
    }
}
