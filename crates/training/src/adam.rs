//! Adam (Kingma & Ba 2015, Alg. 1) in PyTorch's arithmetic, with its moment estimates held in
//! plain vectors so that a checkpoint can save and restore them: `candle_nn::AdamW` keeps its
//! moments private, so a run built on it could not resume bit for bit.

/// Adam's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    /// Step size α.
    pub lr: f64,
    /// Decay of the first-moment estimate β₁.
    pub beta1: f64,
    /// Decay of the second-moment estimate β₂.
    pub beta2: f64,
    /// ε added to √v̂.
    pub eps: f64,
}

/// Adam's state: the first and second moment estimates m and v of every parameter tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    params: AdamParams,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// Zero moments for parameter tensors of the given lengths.
    pub fn new(params: AdamParams, lengths: &[usize]) -> Self {
        let zeros = || lengths.iter().map(|&n| vec![0.0; n]).collect();
        Adam {
            params,
            m: zeros(),
            v: zeros(),
        }
    }

    /// Restores saved moments.
    pub fn from_moments(params: AdamParams, m: Vec<Vec<f32>>, v: Vec<Vec<f32>>) -> Self {
        Adam { params, m, v }
    }

    /// The first moment estimates m.
    pub fn first_moments(&self) -> &[Vec<f32>] {
        &self.m
    }

    /// The second moment estimates v.
    pub fn second_moments(&self) -> &[Vec<f32>] {
        &self.v
    }

    /// Update number `t` (1-based) of `theta` from the gradients `grads` (Alg. 1, in PyTorch's
    /// form: θ ← θ − (α / (1 − β₁ᵗ)) m / (√v / √(1 − β₂ᵗ) + ε)).
    pub fn update(&mut self, t: u64, theta: &mut [Vec<f32>], grads: &[Vec<f32>]) {
        let AdamParams { lr, beta1, beta2, eps } = self.params;
        let t = i32::try_from(t).unwrap_or(i32::MAX);
        let step_size = (lr / (1.0 - beta1.powi(t))) as f32;
        let bias2_sqrt = (1.0 - beta2.powi(t)).sqrt() as f32;
        let (b1, b2, eps) = (beta1 as f32, beta2 as f32, eps as f32);
        for (((theta, g), m), v) in theta.iter_mut().zip(grads).zip(&mut self.m).zip(&mut self.v) {
            for (((p, &g), m), v) in theta.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = b1 * *m + (1.0 - b1) * g; // biased first moment
                *v = b2 * *v + (1.0 - b2) * g * g; // biased second raw moment
                *p -= step_size * *m / (v.sqrt() / bias2_sqrt + eps);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_coordinate_by_about_lr_against_its_gradient() {
        let params = AdamParams {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        };
        let mut adam = Adam::new(params, &[3]);
        let mut theta = vec![vec![1.0f32, 1.0, 1.0]];
        adam.update(1, &mut theta, &[vec![4.0, -0.5, 0.0]]);
        // m̂ = g and v̂ = g² after one step, so the move is lr·sign(g) (and 0 for g = 0).
        assert!((theta[0][0] - 0.99).abs() < 1e-6 && (theta[0][1] - 1.01).abs() < 1e-6 && theta[0][2] == 1.0);
        assert!((adam.first_moments()[0][0] - 0.4).abs() < 1e-6);
        assert!((adam.second_moments()[0][0] - 0.016).abs() < 1e-6);
    }

    #[test]
    fn minimises_a_quadratic() {
        let params = AdamParams {
            lr: 0.05,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        };
        let mut adam = Adam::new(params, &[2]);
        let mut theta = vec![vec![3.0f32, -2.0]];
        for t in 1..=2000 {
            let g = vec![theta[0].iter().map(|x| 2.0 * (x - 0.5)).collect()];
            adam.update(t, &mut theta, &g);
        }
        assert!(theta[0].iter().all(|x| (x - 0.5).abs() < 1e-2), "{theta:?}");
    }
}
