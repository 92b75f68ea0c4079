//! The geometry of probability-flow paths that Fig. 4.4 measures (App. B.2.2 l.4121–4127): the
//! mean curvature of the ODE trajectories and the squared Frobenius norm of the score's Jacobian.
//!
//! The velocity is EDM's dx/dt = (x − D(x; t))/t (the spec's convention note: the thesis writes
//! dx/dt = G with G the score, whose probability-flow velocity is −tG; the unit tangent is the
//! same up to sign). For a preconditioned network D = a(t)x + c_out(t) F(c_in(t) x; …) + (terms
//! constant in x), the score G = (D − x)/t² has the Jacobian
//! ∇ₓG = (a − 1)/t² I + (c_out c_in/t²) J_F, J_F the network's input Jacobian (autodiff).

use anyhow::{ensure, Result};
use candle_core::Tensor;
use diffusion::Denoiser;
use training::precond::Coefficients;
use training::Mlp;

/// The EDM probability-flow velocity dx/dt = (x − D(x; t))/t at every row.
pub fn velocity(den: &dyn Denoiser, x: &[f64], t: f64) -> Result<Vec<f64>> {
    let mut d = vec![0.0; x.len()];
    den.denoise(x, t, &mut d)?;
    Ok(x.iter().zip(&d).map(|(xi, di)| (xi - di) / t).collect())
}

fn unit(v: &[f64]) -> [f64; 2] {
    let n = v[0].hypot(v[1]);
    [v[0] / n, v[1] / n]
}

/// Mean curvature at time t over 2-D rows (App. B.2.2 l.4123): κ ≈ ‖T(x, t) − T(x', t − Δt)‖/‖x − x'‖
/// with the unit tangent T = v/‖v‖ and x' = x − v Δt, one Euler step back along the ODE.
pub fn mean_curvature(den: &dyn Denoiser, x: &[f64], t: f64, dt: f64) -> Result<f64> {
    ensure!(den.dim() == 2 && x.len().is_multiple_of(2), "curvature: the planar formula needs 2-D rows");
    let v = velocity(den, x, t)?;
    let back: Vec<f64> = x.iter().zip(&v).map(|(xi, vi)| xi - vi * dt).collect();
    let v_back = velocity(den, &back, t - dt)?;
    let rows = x.len() / 2;
    let total: f64 = (0..rows)
        .map(|i| {
            let (a, b) = (unit(&v[2 * i..2 * i + 2]), unit(&v_back[2 * i..2 * i + 2]));
            (a[0] - b[0]).hypot(a[1] - b[1]) / (dt * v[2 * i].hypot(v[2 * i + 1]))
        })
        .sum();
    Ok(total / rows as f64)
}

/// The squared Frobenius norm of a matrix given as its entries.
pub fn frobenius2(m: &[f64]) -> f64 {
    m.iter().map(|v| v * v).sum()
}

/// Per-row squared Frobenius norms of a score Jacobian: of the whole score G, and of the
/// network's share (c_out c_in/t²) J_F alone.
#[derive(Clone, Debug, PartialEq)]
pub struct JacobianNorms {
    /// ‖∇ₓG‖²_F per row.
    pub whole: Vec<f64>,
    /// ‖(c_out c_in/t²) J_F‖²_F per row.
    pub network: Vec<f64>,
}

/// A score of the form G = ((a − 1)x + c_out F(c_in x; c_noise, cond) + const)/t².
pub struct PreconditionedJacobian<'a> {
    /// F.
    pub mlp: &'a Mlp,
    /// c_out, c_in and c_noise at t.
    pub coefficients: Coefficients,
    /// a, the factor of x in D.
    pub skip: f64,
}

impl PreconditionedJacobian<'_> {
    /// The norms at each row of `x` at time `t` (`cond`: the rows' conditioning input, if the MLP takes one).
    pub fn norms(&self, x: &[f64], t: f64, cond: Option<&Tensor>) -> Result<JacobianNorms> {
        ensure!(t > 0.0 && t.is_finite(), "score Jacobian: t = {t} must be a positive noise level");
        let d = self.mlp.config().dim;
        ensure!(x.len().is_multiple_of(d), "score Jacobian: {} values are not rows of dimension {d}", x.len());
        let c = self.coefficients;
        let rows = x.len() / d;
        let scaled: Vec<f64> = x.iter().map(|v| c.c_in * v).collect();
        let j = self.mlp.input_jacobian(&scaled, &vec![c.c_noise; rows], cond)?;
        let (diag, gain) = ((self.skip - 1.0) / (t * t), c.c_out * c.c_in / (t * t));
        let (mut whole, mut network) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for m in j.chunks(d * d) {
            let net: Vec<f64> = m.iter().map(|v| gain * v).collect();
            let all: Vec<f64> = net.iter().enumerate().map(|(k, v)| if k % (d + 1) == 0 { v + diag } else { *v }).collect();
            network.push(frobenius2(&net));
            whole.push(frobenius2(&all));
        }
        Ok(JacobianNorms { whole, network })
    }
}

/// The norms for the workspace's EDM-preconditioned [`Mlp`] denoiser (a = c_skip): the plain
/// diffusion model, whose network is its whole score in the thesis's reading.
pub fn mlp_score_jacobian(mlp: &Mlp, x: &[f64], t: f64) -> Result<JacobianNorms> {
    ensure!(
        !mlp.config().pfgmpp_toy,
        "score Jacobian: the PFGM++ toy network's skip term is c_skip·c_in, not c_skip"
    );
    let c = training::EdmPrecond {
        sigma_data: mlp.config().sigma_data,
    }
    .coefficients(t);
    PreconditionedJacobian {
        mlp,
        coefficients: c,
        skip: c.c_skip,
    }
    .norms(x, t, None)
}
