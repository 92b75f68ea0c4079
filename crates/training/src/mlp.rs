//! The MLP denoiser network: F_θ in candle (f32, CPU) wrapped in EDM's preconditioning (EDM Eq. 7,
//! Table 1), D_θ(x; σ) = c_skip(σ) x + c_out(σ) F_θ(c_in(σ) x; c_noise(σ)).
//!
//! Three bodies, chosen by [`MlpConfig::residual`] and [`MlpConfig::pfgmpp_toy`]:
//! * plain: `layers` hidden layers of width `hidden`, h ← SiLU(W h + b), with the time embedding
//!   concatenated to the scaled input;
//! * residual: an input projection, then `layers` pre-activation blocks
//!   h ← h + W₂ SiLU(W₁ SiLU(h) + b₁ + U e) + b₂ (He et al. 2016; the embedding e enters every block
//!   as in EDM's `UNetBlock`, and W₂, b₂ start at zero like its `conv1`, so each block starts as the
//!   identity), then SiLU and the output layer;
//! * the PFGM++ authors' toy network (`pfgmpp_toy.ipynb`, thesis B.6.3 "four-layer UNet", widths
//!   dim–latent–latent–latent–dim), with `hidden` as the latent width and x̂ = c_in x:
//!   h₁ = fc1(x̂) + e, e the EDM positional embedding of c_noise with `hidden` channels;
//!   h₃ = ReLU(fc2(ReLU h₁)) + fc1_skip(h₁); h₄ = ReLU(fc3(h₃)) + fc_skip(x̂); F = fc4(h₄).
//!   Its preconditioning keeps the notebook's quirk: the skip term multiplies the already scaled
//!   input, D_θ = c_skip·c_in·x + c_out·F (the network's `forward` returns c_out·F + c_skip·x of
//!   its own input, which the training loop has scaled by c_in). Weights and biases start as
//!   PyTorch's `nn.Linear` does, U(±1/√fan_in).
//!
//! The plain and residual bodies can take a conditioning input of width [`MlpConfig::condition`]
//! beside the scaled input and the time embedding (DisCo-Diff's latent embedding, whose encoder
//! upstream is trained through it); [`Mlp::input_jacobian`] gives ∂F_θ/∂input by autodiff.
//!
//! Weights are drawn from a [`seeding::Stream`] (candle's CPU generator cannot be seeded): He-uniform
//! weights, zero biases (EDM's `Linear` has `init_bias = 0`), a smaller U(±1/√fan_in) output layer.
//! They live in a `candle_nn::VarMap` under the names listed by [`Mlp::names`].

use crate::embedding::{positional_features, time_features};
use crate::network::{Network, NetworkConfig};
use crate::params::{initial_values, kaiming, lecun, linear_specs, varmap_of, Init, ParamSpec};
use crate::precond::{Coefficients, EdmPrecond, Precond};
use anyhow::{ensure, Context, Result};
use candle_core::{Device, Tensor, Var};
use candle_nn::{Linear, Module, VarMap};
use serde::{Deserialize, Serialize};

/// The architecture of an [`Mlp`]; stored beside every checkpoint as part of `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Dimension of one data point.
    pub dim: usize,
    /// Width of the hidden (latent) layers.
    pub hidden: usize,
    /// Number of hidden layers (plain body) or of residual blocks (residual body).
    pub layers: usize,
    /// Number of sinusoidal features of c_noise (even).
    pub time_embedding: usize,
    /// Residual blocks instead of a plain stack. The activation is always SiLU, as in EDM's networks.
    pub residual: bool,
    /// σ_data of the preconditioning (EDM Table 1).
    pub sigma_data: f64,
    /// The PFGM++ authors' four-layer toy network instead of the plain or residual body; then
    /// `residual` must be false, `layers` 4 and `time_embedding` equal to `hidden` (even).
    /// Left out of `config.json` when false, so earlier checkpoints and cache keys stay valid.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pfgmpp_toy: bool,
    /// Width of an extra conditioning input that the first layer sees beside the scaled input and
    /// the time embedding (DisCo-Diff's latent embedding, crate `disco-diff`); 0 for none. A
    /// network with a condition is evaluated through [`Mlp::forward_conditioned`] only. Left out
    /// of `config.json` when 0, so earlier checkpoints and cache keys stay valid.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub condition: usize,
}

/// Whether a width is 0 (serde's `skip_serializing_if` for [`MlpConfig::condition`]).
fn is_zero(v: &usize) -> bool {
    *v == 0
}

impl MlpConfig {
    /// A plain 4-layer MLP of width 64 with 32 time features and σ_data = 0.5 (EDM's default).
    pub fn new(dim: usize) -> Self {
        MlpConfig {
            dim,
            hidden: 64,
            layers: 4,
            time_embedding: 32,
            residual: false,
            sigma_data: 0.5,
            pfgmpp_toy: false,
            condition: 0,
        }
    }

    /// The PFGM++ toy network of latent width `latent` (even) for `dim`-dimensional data, with the
    /// notebook's σ_data = 1.
    pub fn pfgmpp_toy(dim: usize, latent: usize) -> Self {
        MlpConfig {
            dim,
            hidden: latent,
            layers: 4,
            time_embedding: latent,
            residual: false,
            sigma_data: 1.0,
            pfgmpp_toy: true,
            condition: 0,
        }
    }

    /// Checks that the sizes are positive, the embedding even and σ_data a positive number.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.dim > 0 && self.hidden > 0 && self.layers > 0,
            "MLP config: dim ({}), hidden ({}) and layers ({}) must be positive",
            self.dim,
            self.hidden,
            self.layers
        );
        ensure!(
            self.time_embedding > 0 && self.time_embedding.is_multiple_of(2),
            "MLP config: time_embedding ({}) must be even and positive (cosine and sine pairs)",
            self.time_embedding
        );
        ensure!(
            self.sigma_data.is_finite() && self.sigma_data > 0.0,
            "MLP config: sigma_data ({}) must be positive",
            self.sigma_data
        );
        ensure!(
            !self.pfgmpp_toy || (!self.residual && self.layers == 4 && self.time_embedding == self.hidden),
            "MLP config: the PFGM++ toy network (pfgmpp_toy) has four layers (layers = {}), no residual blocks \
             (residual = {}) and an embedding as wide as its latent layer (time_embedding = {}, hidden = {})",
            self.layers,
            self.residual,
            self.time_embedding,
            self.hidden
        );
        ensure!(
            !self.pfgmpp_toy || self.condition == 0,
            "MLP config: the PFGM++ toy network (pfgmpp_toy) takes no conditioning input (condition = {})",
            self.condition
        );
        Ok(())
    }

    /// Every parameter's name and shape, in the fixed order of [`Mlp::names`].
    pub fn parameter_layout(&self) -> Vec<(String, Vec<usize>)> {
        self.params().into_iter().map(|s| (s.name, s.shape)).collect()
    }

    /// Every parameter in a fixed order: its name, shape and initialisation.
    fn params(&self) -> Vec<ParamSpec> {
        let (d, h, e, c) = (self.dim, self.hidden, self.time_embedding, self.condition);
        let mut specs = Vec::new();
        if self.pfgmpp_toy {
            // The notebook's `nn.Linear` layers, in its declaration order.
            for (name, inp, out) in [
                ("fc1", d, h),
                ("fc_skip", d, h),
                ("fc1_skip", h, h),
                ("fc2", h, h),
                ("fc3", h, h),
                ("fc4", h, d),
            ] {
                specs.push(ParamSpec::new(format!("{name}.weight"), vec![out, inp], lecun(inp)));
                specs.push(ParamSpec::new(format!("{name}.bias"), vec![out], lecun(inp)));
            }
            return specs;
        }
        linear_specs(&mut specs, "in", d + e + c, h, kaiming(d + e + c));
        if self.residual {
            for l in 0..self.layers {
                linear_specs(&mut specs, &format!("block.{l}.fc1"), h, h, kaiming(h));
                specs.push(ParamSpec::new(format!("block.{l}.emb.weight"), vec![h, e], kaiming(e)));
                linear_specs(&mut specs, &format!("block.{l}.fc2"), h, h, Init::Zero);
            }
        } else {
            for l in 1..self.layers {
                linear_specs(&mut specs, &format!("hidden.{l}"), h, h, kaiming(h));
            }
        }
        linear_specs(&mut specs, "out", h, d, lecun(h));
        specs
    }
}

/// A residual block's three linear maps.
struct ResidualBlock {
    fc1: Linear,
    emb: Linear,
    fc2: Linear,
}

/// The toy network's layers besides fc1 (the input projection) and fc4 (the output layer).
struct ToyLayers {
    fc2: Linear,
    fc3: Linear,
    fc1_skip: Linear,
    fc_skip: Linear,
}

/// The layers between the input projection and the output layer.
enum Body {
    Plain(Vec<Linear>),
    Residual(Vec<ResidualBlock>),
    Toy(ToyLayers),
}

/// An EDM-preconditioned MLP denoiser D_θ; implements [`diffusion::Denoiser`].
pub struct Mlp {
    config: MlpConfig,
    precond: EdmPrecond,
    varmap: VarMap,
    names: Vec<String>,
    input: Linear,
    body: Body,
    output: Linear,
}

impl Mlp {
    /// A freshly initialised network; parameter `name` is drawn from `stream.named(name)`, so a
    /// parameter's initial value depends only on the seed path and its name.
    pub fn new(config: &MlpConfig, stream: seeding::Stream) -> Result<Self> {
        config.validate()?;
        Self::from_values(config, initial_values(&config.params(), &stream))
    }

    /// A network holding `values`, one flat row-major vector per parameter in [`Mlp::names`] order.
    pub fn from_values(config: &MlpConfig, values: Vec<Vec<f32>>) -> Result<Self> {
        config.validate()?;
        let specs = config.params();
        let varmap = varmap_of(&specs, values, "MLP")?;
        let get = |name: &str| -> Tensor {
            let data = varmap.data().lock().expect("not poisoned");
            data[name].as_tensor().clone()
        };
        let linear = |prefix: &str| Linear::new(get(&format!("{prefix}.weight")), Some(get(&format!("{prefix}.bias"))));
        let body = if config.pfgmpp_toy {
            Body::Toy(ToyLayers {
                fc2: linear("fc2"),
                fc3: linear("fc3"),
                fc1_skip: linear("fc1_skip"),
                fc_skip: linear("fc_skip"),
            })
        } else if config.residual {
            Body::Residual(
                (0..config.layers)
                    .map(|l| ResidualBlock {
                        fc1: linear(&format!("block.{l}.fc1")),
                        emb: Linear::new(get(&format!("block.{l}.emb.weight")), None),
                        fc2: linear(&format!("block.{l}.fc2")),
                    })
                    .collect(),
            )
        } else {
            Body::Plain((1..config.layers).map(|l| linear(&format!("hidden.{l}"))).collect())
        };
        Ok(Mlp {
            config: config.clone(),
            precond: EdmPrecond { sigma_data: config.sigma_data },
            names: specs.into_iter().map(|s| s.name).collect(),
            input: linear(if config.pfgmpp_toy { "fc1" } else { "in" }),
            output: linear(if config.pfgmpp_toy { "fc4" } else { "out" }),
            body,
            varmap,
        })
    }

    /// The architecture.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The preconditioning (EDM's, σ_data from the config).
    pub fn precond(&self) -> Precond {
        Precond::Edm(self.precond)
    }

    /// The factor of x in D_θ: c_skip, or c_skip·c_in for the toy network (its quirk, see the module doc).
    fn skip(&self, c: &Coefficients) -> f64 {
        if self.config.pfgmpp_toy {
            c.c_skip * c.c_in
        } else {
            c.c_skip
        }
    }

    /// The parameter names, in the fixed order used by [`Mlp::from_values`], [`Mlp::values`] and [`Mlp::vars`].
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The parameters as a candle `VarMap` (e.g. for `VarMap::save` as safetensors).
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// The trainable variables, in [`Mlp::names`] order.
    pub fn vars(&self) -> Vec<Var> {
        let data = self.varmap.data().lock().expect("not poisoned");
        self.names.iter().map(|n| data[n].clone()).collect()
    }

    /// The current parameter values, flat row-major, in [`Mlp::names`] order.
    pub fn values(&self) -> Result<Vec<Vec<f32>>> {
        self.vars().iter().map(|v| Ok(v.as_tensor().flatten_all()?.to_vec1::<f32>()?)).collect()
    }

    /// F_θ(c_in x; c_noise) for a batch of rows `x` (row-major, f64) with one σ per row, together
    /// with each row's preconditioning coefficients.
    fn network(&self, x: &[f64], sigma: &[f64]) -> Result<(Tensor, Vec<Coefficients>)> {
        let (n, d) = (sigma.len(), self.config.dim);
        ensure!(x.len() == n * d, "MLP: {} input values for {n} rows of dimension {d}", x.len());
        let coefs: Vec<Coefficients> = sigma.iter().map(|&s| self.precond.coefficients(s)).collect();
        let scaled: Vec<f64> = x.chunks_exact(d).zip(&coefs).flat_map(|(row, c)| row.iter().map(|v| c.c_in * v)).collect();
        let c_noise: Vec<f64> = coefs.iter().map(|c| c.c_noise).collect();
        Ok((self.forward_raw(&scaled, &c_noise)?, coefs))
    }

    /// The bare network F_θ(input; c_noise) as a differentiable f32 tensor (rows × dim), for rows
    /// already scaled by the caller: EDM's D_θ wraps it in its preconditioning, and a network with
    /// another conditioning (PFGM's f_θ(x, z), whose "noise level" is z) calls it directly.
    pub fn forward_raw(&self, input: &[f64], c_noise: &[f64]) -> Result<Tensor> {
        let (n, d) = (c_noise.len(), self.config.dim);
        ensure!(input.len() == n * d, "MLP: {} input values for {n} rows of dimension {d}", input.len());
        let scaled: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        self.forward_conditioned(&Tensor::from_vec(scaled, (n, d), &Device::Cpu)?, c_noise, None)
    }

    /// F_θ(input; c_noise, condition) on an input tensor (rows × dim, already scaled), with the
    /// conditioning rows (rows × [`MlpConfig::condition`]) that the first layer sees beside the
    /// input and the time embedding; `condition` must be given exactly when the configuration has
    /// one. Gradients flow into `input` and `condition` (a latent encoder upstream, or the input
    /// Jacobian of [`Mlp::input_jacobian`]).
    pub fn forward_conditioned(&self, x: &Tensor, c_noise: &[f64], condition: Option<&Tensor>) -> Result<Tensor> {
        let (n, d, e, c) = (c_noise.len(), self.config.dim, self.config.time_embedding, self.config.condition);
        ensure!(x.dims() == [n, d], "MLP: input of shape {:?} for {n} rows of dimension {d}", x.dims());
        match condition {
            Some(cond) => ensure!(
                c > 0 && cond.dims() == [n, c],
                "MLP: a condition of shape {:?} given to a network with condition width {c} and {n} rows",
                cond.dims()
            ),
            None => ensure!(c == 0, "MLP: this network takes a condition of width {c} (call forward_conditioned with it)"),
        }
        let mut emb = Vec::with_capacity(n * e);
        let mut features = vec![0.0; e];
        let mut last = f64::NAN;
        for &level in c_noise {
            // Sampling calls share one σ: the embedding is computed once, not once per row.
            if level != last {
                if self.config.pfgmpp_toy {
                    positional_features(level, &mut features);
                } else {
                    time_features(level, &mut features);
                }
                last = level;
            }
            emb.extend(features.iter().map(|&f| f as f32));
        }
        let emb = Tensor::from_vec(emb, (n, e), &Device::Cpu)?;
        // The plain and residual bodies' first layer sees [c_in x, embedding(c_noise), condition].
        let first = || match condition {
            Some(cond) => self.input.forward(&Tensor::cat(&[x, &emb, cond], 1)?),
            None => self.input.forward(&Tensor::cat(&[x, &emb], 1)?),
        };
        let f = match &self.body {
            Body::Plain(layers) => {
                let mut h = first()?.silu()?;
                for layer in layers {
                    h = layer.forward(&h)?.silu()?;
                }
                self.output.forward(&h)?
            }
            Body::Residual(blocks) => {
                let mut h = first()?;
                for b in blocks {
                    let a = (b.fc1.forward(&h.silu()?)? + b.emb.forward(&emb)?)?;
                    h = (h + b.fc2.forward(&a.silu()?)?)?;
                }
                self.output.forward(&h.silu()?)?
            }
            Body::Toy(t) => {
                // pfgmpp_toy.ipynb `mlp.forward` on the scaled input; the embedding is added, not concatenated.
                let h1 = (self.input.forward(x)? + &emb)?;
                let h3 = (t.fc2.forward(&h1.relu()?)?.relu()? + t.fc1_skip.forward(&h1)?)?;
                let h4 = (t.fc3.forward(&h3)?.relu()? + t.fc_skip.forward(x)?)?;
                self.output.forward(&h4)?
            }
        };
        Ok(f)
    }

    /// The Jacobian of F_θ with respect to its (already scaled) input at each row, by candle's
    /// reverse-mode autodiff: rows × dim × dim, entry (r, i, j) = ∂F_i/∂input_j at row r (one
    /// backward pass per output coordinate; rows do not interact, so the gradient of the summed
    /// i-th output is each row's i-th Jacobian row).
    pub fn input_jacobian(&self, input: &[f64], c_noise: &[f64], condition: Option<&Tensor>) -> Result<Vec<f64>> {
        let (n, d) = (c_noise.len(), self.config.dim);
        ensure!(input.len() == n * d, "MLP: {} input values for {n} rows of dimension {d}", input.len());
        let x = Var::from_vec(input.iter().map(|&v| v as f32).collect::<Vec<_>>(), (n, d), &Device::Cpu)?;
        let f = self.forward_conditioned(x.as_tensor(), c_noise, condition.map(Tensor::detach).as_ref())?;
        let mut jac = vec![0.0; n * d * d];
        for i in 0..d {
            let grads = f.narrow(1, i, 1)?.sum_all()?.backward()?;
            let g = grads
                .get(x.as_tensor())
                .context("no gradient reached the MLP input")?
                .flatten_all()?
                .to_vec1::<f32>()?;
            for r in 0..n {
                for j in 0..d {
                    jac[(r * d + i) * d + j] = g[r * d + j] as f64;
                }
            }
        }
        Ok(jac)
    }

    /// D_θ(x; σ) as a differentiable f32 tensor (rows × dim), one σ per row (EDM Eq. 7); used by training.
    pub fn denoise_tensor(&self, x: &[f64], sigma: &[f64]) -> Result<Tensor> {
        let (f, coefs) = self.network(x, sigma)?;
        let d = self.config.dim;
        let skip: Vec<f32> = x
            .chunks_exact(d)
            .zip(&coefs)
            .flat_map(|(row, c)| {
                let skip = self.skip(c);
                row.iter().map(move |v| (skip * v) as f32)
            })
            .collect();
        let c_out: Vec<f32> = coefs.iter().map(|c| c.c_out as f32).collect();
        let dev = &Device::Cpu;
        Ok((Tensor::from_vec(skip, (sigma.len(), d), dev)? + f.broadcast_mul(&Tensor::from_vec(c_out, (sigma.len(), 1), dev)?)?)?)
    }
}

impl NetworkConfig for MlpConfig {
    type Net = Mlp;

    fn dim(&self) -> usize {
        self.dim
    }

    fn validate(&self) -> Result<()> {
        MlpConfig::validate(self)
    }

    fn parameter_layout(&self) -> Vec<(String, Vec<usize>)> {
        MlpConfig::parameter_layout(self)
    }
}

impl Network for Mlp {
    type Config = MlpConfig;

    fn init(config: &MlpConfig, stream: seeding::Stream) -> Result<Self> {
        Mlp::new(config, stream)
    }

    fn from_values(config: &MlpConfig, values: Vec<Vec<f32>>) -> Result<Self> {
        Mlp::from_values(config, values)
    }

    fn config(&self) -> &MlpConfig {
        &self.config
    }

    fn precond(&self) -> Precond {
        Mlp::precond(self)
    }

    fn names(&self) -> &[String] {
        &self.names
    }

    fn vars(&self) -> Vec<Var> {
        Mlp::vars(self)
    }

    fn denoise_tensor(&self, x: &[f64], sigma: &[f64]) -> Result<Tensor> {
        Mlp::denoise_tensor(self, x, sigma)
    }
}

impl diffusion::Denoiser for Mlp {
    fn dim(&self) -> usize {
        self.config.dim
    }

    /// The skip term c_skip x is added in f64, so D − x keeps f64 accuracy at small σ; only the
    /// network's share c_out F_θ carries f32 rounding.
    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> Result<()> {
        let d = self.config.dim;
        if !crate::network::begin_denoise("MLP", d, x, sigma, out)? {
            return Ok(());
        }
        let (f, coefs) = self.network(x, &vec![sigma; x.len() / d])?;
        let f = f.flatten_all()?.to_vec1::<f32>().context("reading the network output")?;
        let c = coefs[0];
        let skip = self.skip(&c);
        for ((o, xi), fi) in out.iter_mut().zip(x).zip(f) {
            *o = skip * xi + c.c_out * fi as f64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffusion::Denoiser;

    #[test]
    fn parameter_counts_and_shapes() {
        let plain = Mlp::new(&MlpConfig::new(20), seeding::Stream::new(1)).unwrap();
        let count = |m: &Mlp| m.values().unwrap().iter().map(Vec::len).sum::<usize>();
        // (20+32)·64+64 + 3·(64·64+64) + 64·20+20
        assert_eq!(count(&plain), 3392 + 3 * 4160 + 1300);
        assert_eq!(plain.varmap().all_vars().len(), plain.names().len());
        let res = Mlp::new(
            &MlpConfig {
                residual: true,
                layers: 2,
                ..MlpConfig::new(3)
            },
            seeding::Stream::new(1),
        )
        .unwrap();
        // in (35·64+64) + 2 blocks of (64·64+64 + 64·32 + 64·64+64) + out (64·3+3)
        assert_eq!(count(&res), 2304 + 2 * (4160 + 2048 + 4160) + 195);
    }

    #[test]
    fn initialisation_is_seeded_with_zero_biases_and_identity_residual_blocks() {
        let cfg = MlpConfig {
            residual: true,
            ..MlpConfig::new(3)
        };
        let a = Mlp::new(&cfg, seeding::Stream::new(5)).unwrap().values().unwrap();
        let b = Mlp::new(&cfg, seeding::Stream::new(5)).unwrap().values().unwrap();
        let c = Mlp::new(&cfg, seeding::Stream::new(6)).unwrap().values().unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let m = Mlp::new(&cfg, seeding::Stream::new(5)).unwrap();
        for (name, v) in m.names().iter().zip(&a) {
            let zero = name.contains("fc2") || name.ends_with("bias");
            assert_eq!(zero, v.iter().all(|&w| w == 0.0), "{name}");
        }
    }

    #[test]
    fn denoiser_matches_the_tensor_path_and_the_preconditioning() {
        let cfg = MlpConfig::new(2);
        let m = Mlp::new(&cfg, seeding::Stream::new(3)).unwrap();
        let x = [0.3, -1.2, 2.0, 0.5, -0.7, 0.1];
        let sigma = 0.8;
        let mut out = [0.0; 6];
        m.denoise(&x, sigma, &mut out).unwrap();
        let t = m.denoise_tensor(&x, &[sigma; 3]).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for (a, b) in out.iter().zip(&t) {
            assert!((a - *b as f64).abs() < 1e-5, "{a} vs {b}");
        }
        // Zeroing the output layer leaves D = c_skip x.
        let mut values = m.values().unwrap();
        let n = values.len();
        values[n - 2].fill(0.0);
        values[n - 1].fill(0.0);
        let z = Mlp::from_values(&cfg, values).unwrap();
        z.denoise(&x, sigma, &mut out).unwrap();
        let c_skip = z.precond().coefficients(sigma).c_skip;
        for (o, xi) in out.iter().zip(&x) {
            assert!((o - c_skip * xi).abs() < 1e-15);
        }
        z.denoise(&x, 0.0, &mut out).unwrap();
        assert_eq!(out, x);
        assert!(z.denoise(&x, -1.0, &mut out).is_err());
    }

    /// y = W x + b for a row-major weight of shape out × inp.
    fn affine(w: &[f32], b: &[f32], x: &[f64]) -> Vec<f64> {
        b.iter()
            .enumerate()
            .map(|(o, &bo)| bo as f64 + x.iter().enumerate().map(|(i, xi)| w[o * x.len() + i] as f64 * xi).sum::<f64>())
            .collect()
    }

    #[test]
    fn toy_network_matches_the_notebooks_forward_pass() {
        let (dim, latent) = (5, 4);
        let cfg = MlpConfig::pfgmpp_toy(dim, latent);
        let m = Mlp::new(&cfg, seeding::Stream::new(2)).unwrap();
        // fc1, fc_skip: dim → latent; fc1_skip, fc2, fc3: latent → latent; fc4: latent → dim; all with biases.
        let count: usize = m.values().unwrap().iter().map(Vec::len).sum();
        assert_eq!(count, 2 * (dim * latent + latent) + 3 * (latent * latent + latent) + latent * dim + dim);
        // Biases start non-zero, as PyTorch's nn.Linear.
        assert!(m.values().unwrap()[1].iter().any(|&b| b != 0.0));
        let v = m.values().unwrap();
        let p = |name: &str| &v[m.names().iter().position(|n| n == name).unwrap()];
        let layer = |name: &str, x: &[f64]| affine(p(&format!("{name}.weight")), p(&format!("{name}.bias")), x);
        let relu = |v: Vec<f64>| v.into_iter().map(|a| a.max(0.0)).collect::<Vec<_>>();
        let add = |a: Vec<f64>, b: Vec<f64>| a.iter().zip(&b).map(|(a, b)| a + b).collect::<Vec<_>>();
        let x = [0.4, -1.3, 2.2, 0.1, -0.6];
        for sigma in [0.05, 0.9, 30.0] {
            // Independent f64 evaluation of pfgmpp_toy.ipynb with σ_data = 1.
            let c_in = 1.0 / (sigma * sigma + 1.0f64).sqrt();
            let c_skip = 1.0 / (sigma * sigma + 1.0);
            let c_out = sigma * c_in;
            let xs: Vec<f64> = x.iter().map(|v| c_in * v).collect();
            let t = 0.25 * f64::ln(sigma);
            // PositionalEmbedding(4): frequencies 1 and 10000^{-1/2}.
            let emb = vec![t.cos(), (0.01 * t).cos(), t.sin(), (0.01 * t).sin()];
            let h1 = add(layer("fc1", &xs), emb);
            let h3 = add(relu(layer("fc2", &relu(h1.clone()))), layer("fc1_skip", &h1));
            let h4 = add(relu(layer("fc3", &h3)), layer("fc_skip", &xs));
            let f = layer("fc4", &h4);
            let want: Vec<f64> = xs.iter().zip(&f).map(|(xi, fi)| c_skip * xi + c_out * fi).collect();
            let mut out = [0.0; 5];
            m.denoise(&x, sigma, &mut out).unwrap();
            let t = m.denoise_tensor(&x, &[sigma]).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for k in 0..dim {
                assert!((out[k] - want[k]).abs() < 1e-5 * (1.0 + want[k].abs()), "σ = {sigma}: {out:?} vs {want:?}");
                assert!(
                    (t[k] as f64 - want[k]).abs() < 1e-5 * (1.0 + want[k].abs()),
                    "σ = {sigma}: tensor {t:?} vs {want:?}"
                );
            }
        }
        assert!(MlpConfig { layers: 3, ..cfg.clone() }.validate().is_err());
        assert!(MlpConfig { residual: true, ..cfg.clone() }.validate().is_err());
        assert!(MlpConfig { time_embedding: 8, ..cfg }.validate().is_err());
    }

    #[test]
    fn input_jacobian_matches_finite_differences_and_the_condition_is_required() {
        let cfg = MlpConfig {
            condition: 3,
            hidden: 16,
            ..MlpConfig::new(2)
        };
        let m = Mlp::new(&cfg, seeding::Stream::new(4)).unwrap();
        let input = [0.3, -0.8, 1.1, 0.2];
        let c_noise = [0.1, -0.4];
        let cond = Tensor::from_vec(vec![0.5f32, -1.0, 0.2, 0.0, 0.7, -0.3], (2, 3), &Device::Cpu).unwrap();
        let jac = m.input_jacobian(&input, &c_noise, Some(&cond)).unwrap();
        let eval = |inp: &[f64]| -> Vec<f64> {
            let x = Tensor::from_vec(inp.iter().map(|&v| v as f32).collect::<Vec<_>>(), (2, 2), &Device::Cpu).unwrap();
            let f = m.forward_conditioned(&x, &c_noise, Some(&cond)).unwrap();
            f.flatten_all().unwrap().to_vec1::<f32>().unwrap().into_iter().map(f64::from).collect()
        };
        // Central differences in f32: truncation O(h²) and rounding ~1e-7/h, both far below 1e-3.
        let h = 1e-2;
        for r in 0..2 {
            for j in 0..2 {
                let (mut up, mut down) = (input, input);
                up[r * 2 + j] += h;
                down[r * 2 + j] -= h;
                let (fu, fd) = (eval(&up), eval(&down));
                for i in 0..2 {
                    let fd_ij = (fu[r * 2 + i] - fd[r * 2 + i]) / (2.0 * h);
                    let ad = jac[(r * 2 + i) * 2 + j];
                    assert!((fd_ij - ad).abs() < 1e-3 * (1.0 + ad.abs()), "row {r}: ∂F_{i}/∂x_{j} {ad} vs {fd_ij}");
                }
            }
        }
        // The condition moves the output, and must be given exactly when configured.
        let other = Tensor::zeros((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        let x = Tensor::from_vec(input.iter().map(|&v| v as f32).collect::<Vec<_>>(), (2, 2), &Device::Cpu).unwrap();
        let a = m
            .forward_conditioned(&x, &c_noise, Some(&other))
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_ne!(a, eval(&input).iter().map(|&v| v as f32).collect::<Vec<_>>());
        let err = m.forward_raw(&input, &c_noise).unwrap_err().to_string();
        assert!(err.contains("condition of width 3"), "{err}");
        let plain = Mlp::new(&MlpConfig::new(2), seeding::Stream::new(4)).unwrap();
        assert!(plain.forward_conditioned(&x, &c_noise, Some(&cond)).is_err());
        assert!(MlpConfig {
            condition: 2,
            ..MlpConfig::pfgmpp_toy(4, 8)
        }
        .validate()
        .is_err());
    }

    #[test]
    fn the_new_switches_leave_existing_configurations_unchanged_on_disk() {
        // Checkpoint cache keys hash these JSON strings: the defaults must not appear in them.
        let json = serde_json::to_string(&MlpConfig::new(3)).unwrap();
        assert!(!json.contains("pfgmpp_toy") && !json.contains("condition"), "{json}");
        let back: MlpConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, MlpConfig::new(3));
        let toy = serde_json::to_string(&MlpConfig::pfgmpp_toy(10, 8)).unwrap();
        assert!(toy.contains("\"pfgmpp_toy\":true"), "{toy}");
        let train = crate::TrainConfig::default();
        let json = serde_json::to_string(&train).unwrap();
        assert!(!json.contains("perturbation"), "{json}");
        let pf = crate::TrainConfig {
            perturbation: crate::Perturbation::Pfgmpp { augment: 100.0 },
            ..train
        };
        let json = serde_json::to_string(&pf).unwrap();
        assert_eq!(serde_json::from_str::<crate::TrainConfig>(&json).unwrap(), pf);
    }

    #[test]
    fn bad_configs_and_values_are_refused() {
        assert!(Mlp::new(
            &MlpConfig {
                time_embedding: 7,
                ..MlpConfig::new(2)
            },
            seeding::Stream::new(0)
        )
        .is_err());
        assert!(Mlp::new(
            &MlpConfig {
                layers: 0,
                ..MlpConfig::new(2)
            },
            seeding::Stream::new(0)
        )
        .is_err());
        let err = Mlp::from_values(&MlpConfig::new(2), vec![vec![0.0; 3]]).err().unwrap().to_string();
        assert!(err.contains("parameter tensors"), "{err}");
    }
}
