//! Adam (Kingma & Ba 2015, Alg. 1) in PyTorch's arithmetic on `f64` particles. The `training`
//! crate's Adam updates `f32` candle tensors and would pull candle into this crate; the particles
//! here are `f64` like every exact score.

/// Adam's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    /// Step size.
    pub lr: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε added to √v̂.
    pub eps: f64,
}

impl AdamParams {
    /// The RSD code's optimiser: betas (0.9, 0.99), ε = 1e-8 (spec pg-rsd §2.3, Alg. 2).
    pub fn rsd(lr: f64) -> Self {
        AdamParams {
            lr,
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
        }
    }
}

/// Adam's moments for one parameter vector.
#[derive(Clone, Debug)]
pub struct Adam {
    params: AdamParams,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    /// Zero moments for `n` parameters.
    pub fn new(params: AdamParams, n: usize) -> Self {
        Adam {
            params,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    /// One step θ ← θ − (α/(1 − β₁ᵗ)) m/(√v/√(1 − β₂ᵗ) + ε).
    pub fn step(&mut self, theta: &mut [f64], grad: &[f64]) {
        let AdamParams { lr, beta1, beta2, eps } = self.params;
        self.t = self.t.saturating_add(1);
        let step = lr / (1.0 - beta1.powi(self.t));
        let bias2 = (1.0 - beta2.powi(self.t)).sqrt();
        for (((p, &g), m), v) in theta.iter_mut().zip(grad).zip(&mut self.m).zip(&mut self.v) {
            *m = beta1 * *m + (1.0 - beta1) * g;
            *v = beta2 * *v + (1.0 - beta2) * g * g;
            *p -= step * *m / (v.sqrt() / bias2 + eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_lr_against_the_gradient_sign() {
        let mut a = Adam::new(AdamParams::rsd(0.1), 2);
        let mut x = [1.0, -1.0];
        a.step(&mut x, &[3.0, -0.5]);
        assert!((x[0] - 0.9).abs() < 1e-8 && (x[1] + 0.9).abs() < 1e-8, "{x:?}");
    }

    #[test]
    fn minimises_a_quadratic() {
        let mut a = Adam::new(AdamParams::rsd(0.05), 1);
        let mut x = [5.0];
        for _ in 0..3000 {
            let g = [2.0 * (x[0] - 1.5)];
            a.step(&mut x, &g);
        }
        assert!((x[0] - 1.5).abs() < 1e-3, "{x:?}");
    }
}
