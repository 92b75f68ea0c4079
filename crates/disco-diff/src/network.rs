//! DisCo-Diff's first-stage model (thesis Sec. 4.2.1, Eq. 4.1, Alg. 5): the latent-conditioned
//! denoiser D_θ(x; σ, z) in EDM's preconditioning, the encoder E_ϕ on the clean point, and the
//! learned embeddings of the latent values and of ∅.
//!
//! Two decoders ([`DecoderConfig`]):
//! * `Conditioned`: D = c_skip x + c_out F_θ(c_in x; c_noise, e(z)), the workspace [`Mlp`] with the
//!   latent embedding e(z) concatenated to its first layer's input (for m discrete latents e(z) is
//!   the m learned `embedding`-wide vectors of the values, for a continuous latent z itself; ∅ has
//!   its own learned vector);
//! * `Ring`: the 2-D reparameterisation of App. B.2.2, G(x, t, z) = (F(z) − x)/(t² + σ₁²) + H(x, t)
//!   with G the score, i.e. D = x + t²G = (σ₁² x + t² F(z))/(t² + σ₁²) + t²H. F(z) is the learned
//!   2-D embedding of z, so the first term is the exact denoiser of N(F(z), σ₁² I). H is
//!   preconditioned as EDM preconditions a whole network: t²H(x, t) = c_out(t) H_θ(c_in(t) x;
//!   c_noise(t)) with H_θ the workspace [`Mlp`], so H_θ's output has unit scale at every t and the
//!   loss weight λ = 1/c_out² weighs its error as EDM's loss does. H has no z input, as printed.
//!
//! The encoder is a [`DenseStack`] on y/σ_data giving m·k logits (or d_z means and log-variances).
//! Training ([`Network::denoise_training`], called by the shared trainer, so θ and ϕ are updated
//! together by one Adam step as in Alg. 5): z ~ E_ϕ(y) by the Gumbel-softmax relaxation at
//! temperature τ (Alg. 5 line 5), or z = μ + σ ε for the continuous latent with the penalty
//! β·KL(N(μ, σ²) ‖ N(0, I)); then each row is replaced by ∅ with probability `dropout`.
//!
//! Parameters: the decoder MLP's under `decoder.<name>` (drawn from `stream.named("decoder")`),
//! then `encoder.<l>.weight/bias`, then `embedding.<i>` (discrete: (k + 1) × width, row k = ∅) or
//! `embedding.null` (continuous, d_z), each drawn from `stream.named(name)`.

use crate::gumbel::{argmax_blocks, gumbel_noise, relaxed_tensor};
use crate::latent::{Code, Latent, LatentConfig};
use crate::layers::{dense_specs, DenseStack};
use anyhow::{bail, ensure, Context, Result};
use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use training::params::{initial_values, varmap_of, Init, ParamSpec};
use training::precond::{Coefficients, EdmPrecond, Precond};
use training::{Mlp, MlpConfig, Network, NetworkConfig, TrainingOutput};

/// The temperature at which the thesis extracts latents for the second stage (B.2.2 l.4043).
pub const EXTRACTION_TEMPERATURE: f64 = 0.01;

/// How D_θ uses the latent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DecoderConfig {
    /// The MLP sees the latent embedding beside c_in x and the time embedding; its `condition`
    /// width must be m × `embedding` (discrete) or d_z (continuous).
    Conditioned(MlpConfig),
    /// The ring reparameterisation (module doc): `residual` is H_θ (no condition), `sigma1` is σ₁.
    Ring {
        /// H_θ.
        residual: MlpConfig,
        /// σ₁, the component standard deviation the Gaussian term assumes.
        sigma1: f64,
    },
}

impl DecoderConfig {
    /// The decoder's MLP.
    pub fn mlp(&self) -> &MlpConfig {
        match self {
            DecoderConfig::Conditioned(m) | DecoderConfig::Ring { residual: m, .. } => m,
        }
    }
}

/// The architecture of a [`DiscoDiff`]; stored in `config.json` beside every checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoConfig {
    /// The latent.
    pub latent: LatentConfig,
    /// The denoiser.
    pub decoder: DecoderConfig,
    /// Width of each discrete latent's embedding (the ring: the data dimension, F(z) ∈ R²).
    pub embedding: usize,
    /// Hidden width of the encoder.
    pub encoder_hidden: usize,
    /// Number of linear layers of the encoder (the thesis's toy: 3).
    pub encoder_layers: usize,
    /// Probability of replacing z by ∅ in training (0.1 in the thesis, l.843).
    pub dropout: f64,
    /// Gumbel-softmax temperature τ in training (1 in the thesis, l.4043).
    pub temperature: f64,
}

impl DiscoConfig {
    /// m discrete latents of k values with `embedding`-wide embeddings, conditioning the MLP
    /// `mlp` (its `condition` is set to m·embedding); a three-layer encoder as wide as the MLP,
    /// dropout 0.1 and τ = 1 (the thesis's settings).
    pub fn discrete(mlp: MlpConfig, count: usize, values: usize, embedding: usize) -> Self {
        DiscoConfig {
            latent: LatentConfig::Discrete { count, values },
            encoder_hidden: mlp.hidden,
            decoder: DecoderConfig::Conditioned(MlpConfig {
                condition: count * embedding,
                ..mlp
            }),
            embedding,
            encoder_layers: 3,
            dropout: 0.1,
            temperature: 1.0,
        }
    }

    /// A continuous latent of `dims` coordinates with KL weight β conditioning `mlp`.
    pub fn continuous(mlp: MlpConfig, dims: usize, kl_weight: f64) -> Self {
        DiscoConfig {
            latent: LatentConfig::Continuous { dims, kl_weight },
            encoder_hidden: mlp.hidden,
            decoder: DecoderConfig::Conditioned(MlpConfig { condition: dims, ..mlp }),
            embedding: dims,
            encoder_layers: 3,
            dropout: 0.1,
            temperature: 1.0,
        }
    }

    /// The ring reparameterisation with one latent of k values, H_θ = `residual`, σ₁ = `sigma1`.
    pub fn ring(residual: MlpConfig, values: usize, sigma1: f64) -> Self {
        DiscoConfig {
            latent: LatentConfig::Discrete { count: 1, values },
            encoder_hidden: residual.hidden,
            embedding: residual.dim,
            decoder: DecoderConfig::Ring { residual, sigma1 },
            encoder_layers: 3,
            dropout: 0.1,
            temperature: 1.0,
        }
    }

    /// The data dimension.
    pub fn data_dim(&self) -> usize {
        self.decoder.mlp().dim
    }

    /// σ_data of the preconditioning (the decoder MLP's).
    pub fn sigma_data(&self) -> f64 {
        self.decoder.mlp().sigma_data
    }

    /// The parameters of the encoder and embeddings (the decoder's come from its MLP).
    fn own_params(&self) -> Vec<ParamSpec> {
        let (d, h) = (self.data_dim(), self.encoder_hidden);
        let mut widths = vec![d];
        widths.extend(std::iter::repeat_n(h, self.encoder_layers - 1));
        widths.push(self.latent.encoder_outputs());
        let mut specs = Vec::new();
        dense_specs(&mut specs, "encoder", &widths);
        match (&self.latent, &self.decoder) {
            (LatentConfig::Discrete { count, values }, decoder) => {
                // nn.Embedding-like unit-variance entries U(±√3); the ring's F(z) starts spread
                // like the data, σ_data per coordinate.
                let scale = if matches!(decoder, DecoderConfig::Ring { .. }) {
                    self.sigma_data()
                } else {
                    1.0
                };
                for i in 0..*count {
                    specs.push(ParamSpec::new(
                        format!("embedding.{i}"),
                        vec![values + 1, self.embedding],
                        Init::Uniform(3f64.sqrt() * scale),
                    ));
                }
            }
            (LatentConfig::Continuous { dims, .. }, _) => specs.push(ParamSpec::new("embedding.null".into(), vec![*dims], Init::Zero)),
        }
        specs
    }
}

impl NetworkConfig for DiscoConfig {
    type Net = DiscoDiff;

    fn dim(&self) -> usize {
        self.data_dim()
    }

    fn validate(&self) -> Result<()> {
        self.latent.validate()?;
        let mlp = self.decoder.mlp();
        mlp.validate()?;
        ensure!(
            self.encoder_hidden > 0 && self.encoder_layers >= 1 && self.embedding > 0,
            "DisCo-Diff config: encoder_hidden ({}), encoder_layers ({}) and embedding ({}) must be positive",
            self.encoder_hidden,
            self.encoder_layers,
            self.embedding
        );
        ensure!(
            (0.0..1.0).contains(&self.dropout),
            "DisCo-Diff config: dropout ({}) must lie in [0, 1)",
            self.dropout
        );
        ensure!(
            self.temperature.is_finite() && self.temperature > 0.0,
            "DisCo-Diff config: temperature (τ = {}) must be positive",
            self.temperature
        );
        match (&self.decoder, &self.latent) {
            (DecoderConfig::Conditioned(m), LatentConfig::Discrete { count, .. }) => ensure!(
                m.condition == count * self.embedding,
                "DisCo-Diff config: the decoder's condition width ({}) must be count × embedding = {}",
                m.condition,
                count * self.embedding
            ),
            (DecoderConfig::Conditioned(m), LatentConfig::Continuous { dims, .. }) => ensure!(
                m.condition == *dims && self.embedding == *dims,
                "DisCo-Diff config: with a continuous latent the decoder's condition width ({}) and embedding ({}) must equal dims ({dims})",
                m.condition,
                self.embedding
            ),
            (DecoderConfig::Ring { residual, sigma1 }, latent) => {
                ensure!(
                    matches!(latent, LatentConfig::Discrete { count: 1, .. }),
                    "DisCo-Diff config: the ring decoder takes one discrete latent (m = 1), not {latent:?}"
                );
                ensure!(
                    residual.condition == 0 && self.embedding == residual.dim,
                    "DisCo-Diff config: the ring's H takes no condition (condition = {}) and F(z) has the data dimension (embedding = {}, dim = {})",
                    residual.condition,
                    self.embedding,
                    residual.dim
                );
                ensure!(
                    sigma1.is_finite() && *sigma1 > 0.0,
                    "DisCo-Diff config: sigma1 (σ₁ = {sigma1}) must be positive"
                );
            }
        }
        Ok(())
    }

    fn parameter_layout(&self) -> Vec<(String, Vec<usize>)> {
        let mut layout: Vec<(String, Vec<usize>)> = self
            .decoder
            .mlp()
            .parameter_layout()
            .into_iter()
            .map(|(n, s)| (format!("decoder.{n}"), s))
            .collect();
        layout.extend(self.own_params().into_iter().map(|s| (s.name, s.shape)));
        layout
    }
}

/// A DisCo-Diff network: encoder, latent embeddings and the latent-conditioned denoiser.
///
/// As a [`diffusion::Denoiser`] (and in [`Network::denoise_tensor`]) it is the unconditional
/// model D_θ(x; σ, ∅); [`crate::Guided`] conditions it on one latent per row.
pub struct DiscoDiff {
    config: DiscoConfig,
    decoder: Mlp,
    varmap: VarMap,
    names: Vec<String>,
    own_names: Vec<String>,
    encoder: DenseStack,
    embeddings: Vec<Tensor>,
    precond: EdmPrecond,
}

impl DiscoDiff {
    /// The architecture.
    pub fn config(&self) -> &DiscoConfig {
        &self.config
    }

    /// The decoder's MLP (F_θ, or the ring's H_θ).
    pub fn decoder(&self) -> &Mlp {
        &self.decoder
    }

    /// The learned embedding table of discrete latent i ((k + 1) × width, row k = ∅), row-major.
    pub fn embedding_table(&self, i: usize) -> Result<Vec<f64>> {
        ensure!(
            matches!(self.config.latent, LatentConfig::Discrete { count, .. } if i < count),
            "DisCo-Diff: no discrete latent {i}"
        );
        Ok(self.embeddings[i].flatten_all()?.to_vec1::<f32>()?.into_iter().map(f64::from).collect())
    }

    /// The encoder's raw output on clean rows: rows × (m·k) logits, or rows × 2d_z (means, then
    /// log-variances).
    pub fn encoder_output(&self, clean: &[f64]) -> Result<Tensor> {
        let d = self.config.data_dim();
        ensure!(
            clean.len().is_multiple_of(d),
            "DisCo-Diff encoder: {} values are not rows of dimension {d}",
            clean.len()
        );
        let s = self.precond.sigma_data;
        let y: Vec<f32> = clean.iter().map(|&v| (v / s) as f32).collect();
        self.encoder.forward(&Tensor::from_vec(y, (clean.len() / d, d), &Device::Cpu)?)
    }

    /// The encoder's distribution as f64 rows: per row the m·k probabilities softmax(ℓ) of each
    /// latent (discrete), or the d_z means and d_z log-variances (continuous).
    pub fn encoder_distribution(&self, clean: &[f64]) -> Result<Vec<f64>> {
        let out = self.encoder_output(clean)?;
        let out = match self.config.latent {
            LatentConfig::Discrete { count, values } => {
                let n = out.dim(0)?;
                candle_nn::ops::softmax(&out.reshape((n, count, values))?, candle_core::D::Minus1)?
            }
            LatentConfig::Continuous { .. } => out,
        };
        Ok(out.flatten_all()?.to_vec1::<f32>()?.into_iter().map(f64::from).collect())
    }

    /// z ~ E_ϕ(y) for each clean row, as the second stage sees them: discrete latents are the
    /// arg-max of a Gumbel-softmax sample at temperature `tau` (the thesis uses
    /// [`EXTRACTION_TEMPERATURE`]; the arg-max of softmax((ℓ + g)/τ) is argmax(ℓ + g) at any τ, a
    /// draw from softmax(ℓ)), row r drawing from `stream.child(r)`; continuous latents are the
    /// encoder's means.
    pub fn encode(&self, clean: &[f64], tau: f64, stream: seeding::Stream) -> Result<Vec<Latent>> {
        let out = self.encoder_output(clean)?;
        let rows = out.dim(0)?;
        let v: Vec<f64> = out.flatten_all()?.to_vec1::<f32>()?.into_iter().map(f64::from).collect();
        match self.config.latent {
            LatentConfig::Discrete { values, .. } => {
                let width = self.config.latent.encoder_outputs();
                (0..rows)
                    .map(|r| {
                        let g = gumbel_noise(&mut stream.child(r as u64).rng(), width);
                        let y = crate::gumbel::relaxed(&v[r * width..(r + 1) * width], &g, values, tau)?;
                        Ok(Latent::Discrete(argmax_blocks(&y, values)))
                    })
                    .collect()
            }
            LatentConfig::Continuous { dims, .. } => Ok(v.chunks(2 * dims).map(|row| Latent::Continuous(row[..dims].to_vec())).collect()),
        }
    }

    /// The condition the decoder sees: rows × (m·width) embeddings, F(z) for the ring, or the
    /// continuous latent with ∅'s vector on masked rows.
    fn condition(&self, code: &Code) -> Result<Tensor> {
        match code {
            Code::Weights(w) => {
                let parts = self
                    .embeddings
                    .iter()
                    .enumerate()
                    .map(|(i, table)| Ok(w.narrow(1, i, 1)?.squeeze(1)?.matmul(table)?))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Tensor::cat(&parts, 1)?)
            }
            Code::Values { z, keep } => {
                let null = self.embeddings[0].unsqueeze(0)?;
                let drop = keep.affine(-1.0, 1.0)?;
                Ok((z.broadcast_mul(keep)? + drop.broadcast_mul(&null)?)?)
            }
        }
    }

    /// D_θ(x; σ, code) split as a·x (the factor a per row, kept in f64 so that D − x keeps f64
    /// accuracy at small σ) plus the rest as a differentiable tensor (rows × dim).
    fn decode(&self, x: &[f64], sigma: &[f64], code: &Code) -> Result<(Vec<f64>, Tensor)> {
        let (n, d) = (sigma.len(), self.config.data_dim());
        ensure!(x.len() == n * d, "DisCo-Diff: {} values for {n} rows of dimension {d}", x.len());
        ensure!(
            sigma.iter().all(|s| s.is_finite() && *s > 0.0),
            "DisCo-Diff: every σ must be a positive noise level"
        );
        let coefs: Vec<Coefficients> = sigma.iter().map(|&s| self.precond.coefficients(s)).collect();
        let scaled: Vec<f32> = x
            .chunks(d)
            .zip(&coefs)
            .flat_map(|(row, c)| row.iter().map(move |v| (c.c_in * v) as f32))
            .collect();
        let scaled = Tensor::from_vec(scaled, (n, d), &Device::Cpu)?;
        let c_noise: Vec<f64> = coefs.iter().map(|c| c.c_noise).collect();
        let column = |v: Vec<f64>| Tensor::from_vec(v.into_iter().map(|a| a as f32).collect::<Vec<_>>(), (n, 1), &Device::Cpu);
        let c_out = column(coefs.iter().map(|c| c.c_out).collect())?;
        let cond = self.condition(code)?;
        match &self.config.decoder {
            DecoderConfig::Conditioned(_) => {
                // EDM Eq. 7 with the latent embedding as an extra input of F_θ.
                let f = self.decoder.forward_conditioned(&scaled, &c_noise, Some(&cond))?;
                Ok((coefs.iter().map(|c| c.c_skip).collect(), f.broadcast_mul(&c_out)?))
            }
            DecoderConfig::Ring { sigma1, .. } => {
                // B.2.2: D = (σ₁² x + t² F(z))/(t² + σ₁²) + c_out H_θ(c_in x; c_noise).
                let s2 = sigma1 * sigma1;
                let b = column(sigma.iter().map(|t| t * t / (t * t + s2)).collect())?;
                let h = self.decoder.forward_conditioned(&scaled, &c_noise, None)?;
                let part = (cond.broadcast_mul(&b)? + h.broadcast_mul(&c_out)?)?;
                Ok((sigma.iter().map(|t| s2 / (t * t + s2)).collect(), part))
            }
        }
    }

    /// D_θ as a tensor from its split form.
    fn decode_tensor(&self, x: &[f64], sigma: &[f64], code: &Code) -> Result<Tensor> {
        let (a, part) = self.decode(x, sigma, code)?;
        let d = self.config.data_dim();
        let ax: Vec<f32> = x.chunks(d).zip(&a).flat_map(|(row, a)| row.iter().map(move |v| (a * v) as f32)).collect();
        Ok((Tensor::from_vec(ax, (sigma.len(), d), &Device::Cpu)? + part)?)
    }

    /// D_θ(xᵣ; σᵣ, zᵣ) for rows with one σ and one latent each, in f64 (a·x added in f64). σ = 0
    /// gives D = x.
    pub fn denoise_rows(&self, x: &[f64], sigma: &[f64], latents: &[Latent]) -> Result<Vec<f64>> {
        let d = self.config.data_dim();
        ensure!(
            latents.len() == sigma.len() && x.len() == sigma.len() * d,
            "DisCo-Diff: {} values, {} noise levels and {} latents do not make the same rows of dimension {d}",
            x.len(),
            sigma.len(),
            latents.len()
        );
        let mut out = x.to_vec();
        // c_skip(0) = 1, c_out(0) = 0 (and the ring's weights are 1 and 0): D(x; 0) = x.
        let rows: Vec<usize> = (0..sigma.len()).filter(|&r| sigma[r] != 0.0).collect();
        if rows.is_empty() {
            return Ok(out);
        }
        let pick = |r: &usize| &x[r * d..(r + 1) * d];
        let xs: Vec<f64> = rows.iter().flat_map(|r| pick(r).iter().copied()).collect();
        let ss: Vec<f64> = rows.iter().map(|&r| sigma[r]).collect();
        let ls: Vec<Latent> = rows.iter().map(|&r| latents[r].clone()).collect();
        let (a, part) = self.decode(&xs, &ss, &Code::of(&self.config.latent, &ls)?)?;
        let part = part.flatten_all()?.to_vec1::<f32>().context("reading the decoder output")?;
        for (k, &r) in rows.iter().enumerate() {
            for j in 0..d {
                out[r * d + j] = a[k] * xs[k * d + j] + part[k * d + j] as f64;
            }
        }
        Ok(out)
    }

    /// Per row, ‖∇ₓG‖²_F of the whole score G = (D − x)/t² and of the network's share of it
    /// (App. B.2.2 l.4127 / Fig. 4.4's caption; see [`crate::geometry::PreconditionedJacobian`]):
    /// for the ring the network is H, which has no z input, so `latents` only matter for the
    /// conditioned decoder.
    pub fn score_jacobian(&self, x: &[f64], t: f64, latents: &[Latent]) -> Result<crate::geometry::JacobianNorms> {
        let n = latents.len();
        let c = self.precond.coefficients(t);
        let jac = crate::geometry::PreconditionedJacobian {
            mlp: &self.decoder,
            coefficients: c,
            skip: match &self.config.decoder {
                DecoderConfig::Conditioned(_) => c.c_skip,
                DecoderConfig::Ring { sigma1, .. } => sigma1 * sigma1 / (t * t + sigma1 * sigma1),
            },
        };
        let cond = match &self.config.decoder {
            DecoderConfig::Conditioned(_) => Some(self.condition(&Code::of(&self.config.latent, latents)?)?),
            DecoderConfig::Ring { .. } => None,
        };
        ensure!(x.len() == n * self.config.data_dim(), "DisCo-Diff: {} values for {n} latents", x.len());
        jac.norms(x, t, cond.as_ref())
    }
}

impl Network for DiscoDiff {
    type Config = DiscoConfig;

    fn init(config: &DiscoConfig, stream: seeding::Stream) -> Result<Self> {
        config.validate()?;
        let decoder = Mlp::new(config.decoder.mlp(), stream.named("decoder"))?;
        let mut values = decoder.values()?;
        values.extend(initial_values(&config.own_params(), &stream));
        Self::from_values(config, values)
    }

    fn from_values(config: &DiscoConfig, mut values: Vec<Vec<f32>>) -> Result<Self> {
        config.validate()?;
        let n_decoder = config.decoder.mlp().parameter_layout().len();
        ensure!(
            values.len() > n_decoder,
            "DisCo-Diff: {} parameter tensors given, the decoder alone has {n_decoder}",
            values.len()
        );
        let own = values.split_off(n_decoder);
        let decoder = Mlp::from_values(config.decoder.mlp(), values)?;
        let specs = config.own_params();
        let varmap = varmap_of(&specs, own, "DisCo-Diff")?;
        let get = |name: &str| -> Tensor {
            let data = varmap.data().lock().expect("not poisoned");
            data[name].as_tensor().clone()
        };
        let encoder = DenseStack::new("encoder", config.encoder_layers, get);
        let embeddings = match config.latent {
            LatentConfig::Discrete { count, .. } => (0..count).map(|i| get(&format!("embedding.{i}"))).collect(),
            LatentConfig::Continuous { .. } => vec![get("embedding.null")],
        };
        let own_names: Vec<String> = specs.into_iter().map(|s| s.name).collect();
        let names = decoder
            .names()
            .iter()
            .map(|n| format!("decoder.{n}"))
            .chain(own_names.iter().cloned())
            .collect();
        Ok(DiscoDiff {
            precond: EdmPrecond {
                sigma_data: config.sigma_data(),
            },
            config: config.clone(),
            decoder,
            varmap,
            names,
            own_names,
            encoder,
            embeddings,
        })
    }

    fn config(&self) -> &DiscoConfig {
        &self.config
    }

    fn precond(&self) -> Precond {
        Precond::Edm(self.precond)
    }

    fn names(&self) -> &[String] {
        &self.names
    }

    fn vars(&self) -> Vec<Var> {
        let mut vars = self.decoder.vars();
        let data = self.varmap.data().lock().expect("not poisoned");
        vars.extend(self.own_names.iter().map(|n| data[n].clone()));
        vars
    }

    /// The unconditional model D_θ(x; σ, ∅).
    fn denoise_tensor(&self, x: &[f64], sigma: &[f64]) -> Result<Tensor> {
        self.decode_tensor(x, sigma, &Code::of(&self.config.latent, &vec![Latent::Null; sigma.len()])?)
    }

    /// Alg. 5 (lines 5–6): z ~ E_ϕ(y) through the relaxation (or the reparameterised Gaussian,
    /// with β·KL as the penalty), ∅ with probability `dropout`, then D_θ(x; σ, z).
    fn denoise_training(&self, x: &[f64], sigma: &[f64], clean: &[f64], stream: seeding::Stream) -> Result<TrainingOutput> {
        let n = sigma.len();
        let dev = &Device::Cpu;
        let out = self.encoder_output(clean)?;
        ensure!(out.dim(0)? == n, "DisCo-Diff: {} clean rows for {n} noisy rows", out.dim(0)?);
        let mut rng = stream.named("dropout").rng();
        let keep: Vec<f32> = (0..n).map(|_| if rng.random::<f64>() < self.config.dropout { 0.0 } else { 1.0 }).collect();
        let (code, penalty) = match self.config.latent {
            LatentConfig::Discrete { count, values } => {
                let g = gumbel_noise(&mut stream.named("gumbel").rng(), n * count * values);
                let y = relaxed_tensor(&out, &g, values, self.config.temperature)?;
                let keep = Tensor::from_vec(keep, (n, 1, 1), dev)?;
                let null = keep.affine(-1.0, 1.0)?.broadcast_as((n, count, 1))?;
                (Code::Weights(Tensor::cat(&[&y.broadcast_mul(&keep)?, &null], 2)?), None)
            }
            LatentConfig::Continuous { dims, kl_weight } => {
                let (mu, log_var) = (out.narrow(1, 0, dims)?, out.narrow(1, dims, dims)?);
                let eps = seeding::normals(&mut stream.named("latent").rng(), n * dims);
                let eps = Tensor::from_vec(eps.into_iter().map(|v| v as f32).collect::<Vec<_>>(), (n, dims), dev)?;
                // Reparameterisation z = μ + exp(½ ln σ²) ε.
                let z = (&mu + (log_var.affine(0.5, 0.0)?.exp()? * eps)?)?;
                // KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² − 1 − ln σ²), averaged over the batch as the loss is.
                let kl = ((mu.sqr()? + log_var.exp()?)? - log_var)?.affine(0.5, -0.5)?.sum_keepdim(1)?.mean_all()?;
                let code = Code::Values {
                    z,
                    keep: Tensor::from_vec(keep, (n, 1), dev)?,
                };
                (code, Some(kl.affine(kl_weight, 0.0)?))
            }
        };
        Ok(TrainingOutput {
            denoised: self.decode_tensor(x, sigma, &code)?,
            penalty,
        })
    }
}

impl diffusion::Denoiser for DiscoDiff {
    fn dim(&self) -> usize {
        self.config.data_dim()
    }

    /// The unconditional model D_θ(x; σ, ∅).
    fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) -> Result<()> {
        let d = self.config.data_dim();
        if !x.len().is_multiple_of(d) || out.len() != x.len() {
            bail!("DisCo-Diff denoiser: input of {} and output of {} values for dimension {d}", x.len(), out.len());
        }
        let n = x.len() / d;
        out.copy_from_slice(&self.denoise_rows(x, &vec![sigma; n], &vec![Latent::Null; n])?);
        Ok(())
    }
}
