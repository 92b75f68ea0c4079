//! Noise schedules x_t = s(t)(x₀ + σ(t) n) in the EDM parameterisation (EDM Table 1), with the
//! thesis's VE (l.503: σ(t) = σ_min (σ_max/σ_min)^t), VP (l.503 and App. A.1.4) and EDM (Eq. 2.6, σ(t) = t).

/// A noise schedule: σ(t), the scaling s(t), their derivatives and the inverse of σ.
pub trait Schedule: Sync {
    /// Noise level σ(t).
    fn sigma(&self, t: f64) -> f64;
    /// dσ/dt.
    fn sigma_deriv(&self, t: f64) -> f64;
    /// The time at which the noise level is σ.
    fn sigma_inv(&self, sigma: f64) -> f64;
    /// Signal scaling s(t) (1 for VE and EDM).
    fn scale(&self, _t: f64) -> f64 {
        1.0
    }
    /// ds/dt.
    fn scale_deriv(&self, _t: f64) -> f64 {
        0.0
    }
}

/// Variance exploding, geometric: σ(t) = σ_min (σ_max/σ_min)^t for t ∈ [0, 1] (thesis l.503, l.597).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VeGeometric {
    /// σ at t = 0.
    pub sigma_min: f64,
    /// σ at t = 1.
    pub sigma_max: f64,
}

impl Schedule for VeGeometric {
    fn sigma(&self, t: f64) -> f64 {
        self.sigma_min * (self.sigma_max / self.sigma_min).powf(t)
    }
    fn sigma_deriv(&self, t: f64) -> f64 {
        self.sigma(t) * (self.sigma_max / self.sigma_min).ln()
    }
    fn sigma_inv(&self, sigma: f64) -> f64 {
        (sigma / self.sigma_min).ln() / (self.sigma_max / self.sigma_min).ln()
    }
}

/// Variance preserving with linear β(t) = β_min + β_d t: σ(t) = √(exp(½β_d t² + β_min t) − 1),
/// s(t) = 1/√(1 + σ(t)²) (EDM Table 1; the thesis's kernel in App. A.1.4 is the same process).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpLinear {
    /// β(0); EDM's default 0.1.
    pub beta_min: f64,
    /// β(1) − β(0); EDM's default 19.9.
    pub beta_d: f64,
}

impl Default for VpLinear {
    fn default() -> Self {
        VpLinear { beta_min: 0.1, beta_d: 19.9 }
    }
}

impl VpLinear {
    fn exponent(&self, t: f64) -> f64 {
        0.5 * self.beta_d * t * t + self.beta_min * t
    }
}

impl Schedule for VpLinear {
    fn sigma(&self, t: f64) -> f64 {
        self.exponent(t).exp_m1().sqrt()
    }
    fn sigma_deriv(&self, t: f64) -> f64 {
        0.5 * (self.beta_min + self.beta_d * t) * self.exponent(t).exp() / self.sigma(t)
    }
    fn sigma_inv(&self, sigma: f64) -> f64 {
        let e = (sigma * sigma).ln_1p();
        ((self.beta_min * self.beta_min + 2.0 * self.beta_d * e).sqrt() - self.beta_min) / self.beta_d
    }
    fn scale(&self, t: f64) -> f64 {
        (-0.5 * self.exponent(t)).exp()
    }
    fn scale_deriv(&self, t: f64) -> f64 {
        -0.5 * (self.beta_min + self.beta_d * t) * self.scale(t)
    }
}

/// EDM: σ(t) = t, s(t) = 1 (thesis Eq. 2.6; used by all of Chapter 5).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Edm;

impl Schedule for Edm {
    fn sigma(&self, t: f64) -> f64 {
        t
    }
    fn sigma_deriv(&self, _t: f64) -> f64 {
        1.0
    }
    fn sigma_inv(&self, sigma: f64) -> f64 {
        sigma
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &dyn Schedule, ts: &[f64]) {
        for &t in ts {
            let h = 1e-6;
            let fd = (s.sigma(t + h) - s.sigma(t - h)) / (2.0 * h);
            assert!(
                (fd - s.sigma_deriv(t)).abs() <= 1e-6 * (1.0 + fd.abs()),
                "dσ/dt at {t}: {fd} vs {}",
                s.sigma_deriv(t)
            );
            let fd = (s.scale(t + h) - s.scale(t - h)) / (2.0 * h);
            assert!((fd - s.scale_deriv(t)).abs() <= 1e-6 * (1.0 + fd.abs()), "ds/dt at {t}");
            let back = s.sigma_inv(s.sigma(t));
            assert!((back - t).abs() < 1e-10 * (1.0 + t), "σ⁻¹(σ({t})) = {back}");
        }
    }

    #[test]
    fn derivatives_and_inverses() {
        check(
            &VeGeometric {
                sigma_min: 0.01,
                sigma_max: 50.0,
            },
            &[0.05, 0.3, 0.5, 0.95],
        );
        check(&VpLinear::default(), &[0.01, 0.2, 0.5, 0.9]);
        check(&Edm, &[0.002, 1.0, 80.0]);
    }

    #[test]
    fn ve_endpoints_and_vp_kernel() {
        let ve = VeGeometric {
            sigma_min: 0.01,
            sigma_max: 50.0,
        };
        assert!((ve.sigma(0.0) - 0.01).abs() < 1e-15 && (ve.sigma(1.0) - 50.0).abs() < 1e-12);
        // App. A.1.4: the VP kernel has mean factor e^{−¼t²(β_M−β_m) − ½tβ_m} and variance 1 − e^{−½t²(β_M−β_m) − tβ_m},
        // which must equal s(t) and s(t)²σ(t)².
        let vp = VpLinear::default();
        for t in [0.1, 0.5, 1.0] {
            let mean = (-0.25 * t * t * vp.beta_d - 0.5 * t * vp.beta_min).exp();
            let var = 1.0 - (-0.5 * t * t * vp.beta_d - t * vp.beta_min).exp();
            assert!((vp.scale(t) - mean).abs() < 1e-14);
            assert!((vp.scale(t).powi(2) * vp.sigma(t).powi(2) - var).abs() < 1e-14);
        }
    }
}
