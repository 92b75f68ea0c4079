//! The two time discretisations of the PG reverse process in the VE/EDM convention σ(t) = t, where
//! g² dt = dσ²: Euler–Maruyama in σ (the samplers crate's) and in the variance σ² (the notebook's).

/// How one step σ → σ_next moves x, given the score s = (D − x)/σ² and the repulsion r = −∇Σⱼk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scheme {
    /// Euler–Maruyama in σ with noise multiplier β (thesis B.3.2; `samplers::euler_maruyama`):
    /// x ← x + (1 + β) σ h (s + α r) + √(2βσh) z, h = σ − σ_next, no noise on the step to σ = 0.
    /// β = 1 is the PG reverse SDE (Eq. 6.4), β = 0 its probability-flow ODE (l.1374: ½g²).
    Sigma {
        /// The noise multiplier β ≥ 0.
        beta: f64,
    },
    /// Euler–Maruyama in v = σ² (the authors' `particle_reverse_diffusion`):
    /// x ← x + drift·Δv (s + α r) + noise·√Δv z, Δv = σ² − σ_next², noise on every step.
    /// drift = noise = 1 is the reverse SDE and drift = ½, noise = 0 the ODE; the notebook keeps
    /// drift = 1 and sweeps noise over [0.01, 1], which interpolates neither (spec pg-rsd §1.3).
    Variance {
        /// Factor on the score and guidance drift.
        drift: f64,
        /// Factor on the injected noise.
        noise: f64,
    },
}

impl Scheme {
    /// The PG reverse SDE, Euler–Maruyama in σ.
    pub fn sde() -> Self {
        Scheme::Sigma { beta: 1.0 }
    }

    /// The PG probability-flow ODE, Euler in σ.
    pub fn ode() -> Self {
        Scheme::Sigma { beta: 0.0 }
    }

    /// The notebook's update with noise weight w: x ← x + Δv (s + α r) + w √Δv z.
    pub fn notebook(noise_weight: f64) -> Self {
        Scheme::Variance {
            drift: 1.0,
            noise: noise_weight,
        }
    }
}
