//! The exponential moving average of the weights that sampling uses (EDM `training/training_loop.py`:
//! θ_ema ← θ + β (θ_ema − θ), i.e. `p_net.lerp(p_ema, ema_beta)`), with a constant decay β.

/// Running averages of every parameter tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Ema {
    decay: f32,
    values: Vec<Vec<f32>>,
}

impl Ema {
    /// An average that starts at `initial` and keeps a fraction `decay` of itself at each update.
    pub fn new(decay: f64, initial: Vec<Vec<f32>>) -> Self {
        Ema {
            decay: decay as f32,
            values: initial,
        }
    }

    /// One update towards the current parameters `theta`.
    pub fn update(&mut self, theta: &[Vec<f32>]) {
        for (avg, p) in self.values.iter_mut().zip(theta) {
            for (a, &p) in avg.iter_mut().zip(p) {
                *a = p + self.decay * (*a - p);
            }
        }
    }

    /// The averaged parameters.
    pub fn values(&self) -> &[Vec<f32>] {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_geometrically_to_a_constant_target() {
        let mut e = Ema::new(0.9, vec![vec![0.0]]);
        for _ in 0..10 {
            e.update(&[vec![1.0]]);
        }
        // After k updates the average is 1 − 0.9^k.
        assert!((e.values()[0][0] - (1.0 - 0.9f32.powi(10))).abs() < 1e-6);
    }
}
