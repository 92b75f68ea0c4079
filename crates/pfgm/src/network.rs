//! PFGM's network f_θ(x, z) ≈ v_{B_L}(x, z) (thesis Alg. 2), and the backward ODE's slope
//! dx/dz = f_x/f_z it gives (Eq. 7.6), with the near-field z-substitution as an option (B.5.2).
//!
//! The body is the workspace's [`Mlp`] of width N + 1 on the state (x, z). The authors' DDPM++
//! feeds z where a diffusion network feeds its time (Sec. 7.4); here the embedding sees
//! c_noise = ¼ ln z (EDM's form for σ, since z plays σ's part: Fig. 7.3's norms grow with z like
//! VE's with σ), and the state enters scaled by c_in = 1/√(σ_data² + z²) so that the inputs have
//! unit scale at every height, as EDM's c_in does for σ.

use crate::near_field::NearField;
use crate::ZField;
use anyhow::{ensure, Result};
use candle_core::Tensor;
use std::sync::atomic::{AtomicU64, Ordering};
use training::Mlp;

/// A trained PFGM network, ready to drive the backward ODE.
pub struct PfgmNet {
    mlp: Mlp,
    sigma_data: f64,
    gamma: f64,
    near_field: Option<(NearField, f64)>,
    wrong_sign: AtomicU64,
    evaluations: AtomicU64,
}

/// The largest v_z the backward ODE divides by (see [`PfgmNet`]'s `ZField` implementation).
pub const V_Z_CEILING: f64 = -1e-6;

impl PfgmNet {
    /// Wraps `mlp` (dimension N + 1) trained with data scale `sigma_data` and target constant γ.
    pub fn new(mlp: Mlp, sigma_data: f64, gamma: f64) -> Result<Self> {
        ensure!(mlp.config().dim >= 2, "a PFGM network needs N + 1 ≥ 2 inputs, not {}", mlp.config().dim);
        ensure!(
            sigma_data > 0.0 && gamma > 0.0,
            "PFGM network: σ_data and γ must be positive (got {sigma_data}, {gamma})"
        );
        Ok(PfgmNet {
            mlp,
            sigma_data,
            gamma,
            near_field: None,
            wrong_sign: AtomicU64::new(0),
            evaluations: AtomicU64::new(0),
        })
    }

    /// (wrong-sign v_z, all row evaluations) since the last call, which resets both counts.
    pub fn take_sign_counts(&self) -> (u64, u64) {
        (self.wrong_sign.swap(0, Ordering::Relaxed), self.evaluations.swap(0, Ordering::Relaxed))
    }

    /// Rebuilds v_z by `formula` wherever z < `below` (B.5.2: 5 for CIFAR-10), or, with `None`,
    /// uses the network's own v_z everywhere.
    pub fn set_near_field(&mut self, near_field: Option<(NearField, f64)>) {
        self.near_field = near_field;
    }

    /// The underlying MLP (its weights).
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }

    /// f_θ at the rows (x, z) of `states` as a differentiable tensor (rows × (N + 1)); used by training.
    pub fn predict_tensor(&self, states: &[f64]) -> Result<Tensor> {
        let width = self.mlp.config().dim;
        ensure!(
            states.len().is_multiple_of(width),
            "PFGM network: {} values are not rows of {width}",
            states.len()
        );
        let mut input = Vec::with_capacity(states.len());
        let mut c_noise = Vec::with_capacity(states.len() / width);
        for row in states.chunks_exact(width) {
            let z = row[width - 1];
            ensure!(z > 0.0 && z.is_finite(), "PFGM network: z must be positive and finite, got {z}");
            let c_in = 1.0 / (self.sigma_data * self.sigma_data + z * z).sqrt();
            input.extend(row.iter().map(|v| c_in * v));
            c_noise.push(0.25 * z.ln());
        }
        self.mlp.forward_raw(&input, &c_noise)
    }

    /// f_θ at the rows (x, z) of `states`, row-major f64.
    pub fn predict(&self, states: &[f64]) -> Result<Vec<f64>> {
        Ok(self
            .predict_tensor(states)?
            .flatten_all()?
            .to_vec1::<f32>()?
            .into_iter()
            .map(f64::from)
            .collect())
    }
}

/// The slope dx/dz = v_x/v_z of the network's field (Eq. 7.6). The exact field always has v_z < 0
/// (it points back to the data plane); a learned one can predict v_z ≥ 0 close to the plane,
/// where |v_z| ≈ √N z/γ is small and within the network's error — the imprecision the near-field
/// substitution (B.5.2) exists for. There the ODE is undefined (a zero v_z divides by zero), so
/// v_z is capped at [`V_Z_CEILING`] and the event counted ([`PfgmNet::take_sign_counts`]).
impl ZField for PfgmNet {
    fn dim(&self) -> usize {
        self.mlp.config().dim - 1
    }

    fn dx_dz_rows(&self, states: &[f64], out: &mut [f64]) -> Result<()> {
        let n = ZField::dim(self);
        let v = self.predict(states)?;
        for ((row, o), xz) in v.chunks_exact(n + 1).zip(out.chunks_exact_mut(n)).zip(states.chunks_exact(n + 1)) {
            let z = xz[n];
            let v_z = match self.near_field {
                Some((formula, below)) if z < below => formula.v_z(&row[..n], z, self.gamma),
                _ => row[n],
            };
            self.evaluations.fetch_add(1, Ordering::Relaxed);
            let v_z = if v_z > V_Z_CEILING {
                self.wrong_sign.fetch_add(1, Ordering::Relaxed);
                V_Z_CEILING
            } else {
                v_z
            };
            for (o, v_x) in o.iter_mut().zip(&row[..n]) {
                *o = v_x / v_z;
            }
            ensure!(
                o.iter().all(|d| d.is_finite()),
                "PFGM network: dx/dz is not finite at z = {z} (predicted v_z = {v_z})"
            );
        }
        Ok(())
    }
}
