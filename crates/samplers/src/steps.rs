//! The steps samplers share: the ODE derivative, Euler and Heun steps, and EDM's noise increase.

use crate::Particles;
use anyhow::Result;
use diffusion::Denoiser;

/// dx/dσ = (x − D(x; σ))/σ, the probability-flow ODE in EDM form (EDM Eq. 4 with σ(t) = t).
pub fn derivative(p: &mut Particles, den: &dyn Denoiser, x: &[f64], sigma: f64) -> Result<Vec<f64>> {
    let d = p.denoise(den, x, sigma)?;
    Ok(x.iter().zip(&d).map(|(xi, di)| (xi - di) / sigma).collect())
}

/// x + h·d.
pub fn axpy(x: &[f64], h: f64, d: &[f64]) -> Vec<f64> {
    x.iter().zip(d).map(|(a, b)| a + h * b).collect()
}

/// One Euler step σ → σ_next (1 NFE).
pub fn euler_step(p: &mut Particles, den: &dyn Denoiser, sigma: f64, sigma_next: f64) -> Result<()> {
    let x = std::mem::take(&mut p.x);
    let d = derivative(p, den, &x, sigma)?;
    p.x = axpy(&x, sigma_next - sigma, &d);
    Ok(())
}

/// One Heun step σ → σ_next (Alg. 10; EDM Alg. 1 lines 5–8): Euler, then the trapezoidal
/// correction unless σ_next = 0 (2 NFE, 1 on the last step to 0).
pub fn heun_step(p: &mut Particles, den: &dyn Denoiser, sigma: f64, sigma_next: f64) -> Result<()> {
    let x = std::mem::take(&mut p.x);
    let d = derivative(p, den, &x, sigma)?; // Alg. 10, line 1
    let euler = axpy(&x, sigma_next - sigma, &d); // line 2
    p.x = if sigma_next != 0.0 {
        let d2 = derivative(p, den, &euler, sigma_next)?; // line 4
        let avg: Vec<f64> = d.iter().zip(&d2).map(|(a, b)| 0.5 * (a + b)).collect();
        axpy(&x, sigma_next - sigma, &avg) // line 5
    } else {
        euler
    };
    Ok(())
}

/// EDM's "increase noise temporarily" (EDM Alg. 2 lines 5–6): σ̂ = σ(1 + γ),
/// x̂ = x + √(σ̂² − σ²)·S_noise·ε. Returns σ̂.
pub fn churn(p: &mut Particles, sigma: f64, gamma: f64, s_noise: f64) -> f64 {
    let sigma_hat = sigma * (1.0 + gamma);
    if gamma > 0.0 {
        p.add_noise((sigma_hat * sigma_hat - sigma * sigma).sqrt() * s_noise);
    }
    sigma_hat
}
