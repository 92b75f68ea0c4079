//! The 1-D Gaussian toy: data N(0, a), p_t = N(0, a + t²), exact and learned (biased, discretised)
//! ODE, SDE and Restart maps on Gaussians, and the constants of Theorems 9–10 on |x| ≤ B/2.

use crate::gaussian1d::Gauss;
use crate::q;

/// The toy: data variance `a`, a learned score with constant bias t·s_θ = t·s + ε (so that
/// ‖t s_θ − t∇log p_t‖ = ε_approx exactly), and the support radius B/2 used by the theorems.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Toy {
    /// Data variance a = s².
    pub a: f64,
    /// ε_approx: the bias of t·s_θ.
    pub eps: f64,
    /// B: the diameter bound of the supports (‖x_t‖ < B/2).
    pub b: f64,
}

/// Constants of Theorem 9's assumptions on t ∈ [t_min, t_max], |x| ≤ B/2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Constants {
    /// Lipschitz constant of t·s_θ(x, ·) in time.
    pub l0: f64,
    /// Bound on ‖t s_θ‖.
    pub l1: f64,
    /// Lipschitz constant of t·s_θ(·, t) in x.
    pub l2: f64,
}

impl Toy {
    /// p_t = N(0, a + t²).
    pub fn marginal(&self, t: f64) -> Gauss {
        Gauss {
            mean: 0.0,
            var: self.a + t * t,
        }
    }

    /// The exact probability-flow ODE from t to r: x ↦ x·√((a + r²)/(a + t²)).
    pub fn ode(&self, g: Gauss, t: f64, r: f64) -> Gauss {
        let c2 = (self.a + r * r) / (self.a + t * t);
        Gauss {
            mean: g.mean * c2.sqrt(),
            var: g.var * c2,
        }
    }

    /// The exact reverse SDE dx = −2t∇log p_t dt + √(2t)dB from t down to r: mean × c², variance
    /// c⁴v + (a + r²)(1 − c²) with c² = (a + r²)/(a + t²) (it fixes p_t).
    pub fn sde(&self, g: Gauss, t: f64, r: f64) -> Gauss {
        let c2 = (self.a + r * r) / (self.a + t * t);
        Gauss {
            mean: g.mean * c2,
            var: c2 * c2 * g.var + (self.a + r * r) * (1.0 - c2),
        }
    }

    /// One exact Restart iteration (Eq. 5.1–5.2): noise N(0, t_max² − t_min²), then the exact ODE back.
    pub fn restart(&self, g: Gauss, t_min: f64, t_max: f64) -> Gauss {
        self.ode(
            Gauss {
                mean: g.mean,
                var: g.var + t_max * t_max - t_min * t_min,
            },
            t_max,
            t_min,
        )
    }

    /// t·s_θ(x, t) = −t x/(a + t²) + ε, affine in x: returns (slope, offset).
    fn t_score(&self, t: f64) -> (f64, f64) {
        (-t / (self.a + t * t), self.eps)
    }

    /// ODE_θ of Eq. A.4 with step δ from t_max to t_min (the last step shortened to land on t_min):
    /// x̄_{t−h} = x̄_t − ½((t − h)² − t²)·s_θ(x̄_t, t).
    pub fn ode_theta(&self, g: Gauss, t_max: f64, t_min: f64, delta: f64) -> Gauss {
        let (mut m, mut v, mut t) = (g.mean, g.var, t_max);
        while t > t_min + 1e-12 {
            let r = (t - delta).max(t_min);
            let (k, e) = self.t_score(t);
            // ½(t² − r²)·s_θ = ½(t² − r²)/t · (k x + e).
            let f = 0.5 * (t * t - r * r) / t;
            m += f * (k * m + e);
            v *= (1.0 + f * k).powi(2);
            t = r;
        }
        Gauss { mean: m, var: v }
    }

    /// SDE_θ by Euler–Maruyama with step δ (thesis A.2 preamble, dȳ = −2t s_θ dt + √(2t)dB):
    /// ȳ_{t−h} = ȳ_t + 2h·(t s_θ(ȳ_t, t)) + √(2th) z, with t s_θ = kȳ + e affine.
    pub fn sde_theta(&self, g: Gauss, t_max: f64, t_min: f64, delta: f64) -> Gauss {
        let (mut m, mut v, mut t) = (g.mean, g.var, t_max);
        while t > t_min + 1e-12 {
            let r = (t - delta).max(t_min);
            let h = t - r;
            let (k, e) = self.t_score(t);
            m += 2.0 * h * (k * m + e);
            v = (1.0 + 2.0 * h * k).powi(2) * v + 2.0 * t * h;
            t = r;
        }
        Gauss { mean: m, var: v }
    }

    /// Restart_θ(K) of Eq. A.5 from x̄⁰_{t_min}: K times exact noise then ODE_θ.
    pub fn restart_theta(&self, g: Gauss, t_min: f64, t_max: f64, delta: f64, k: usize) -> Gauss {
        (0..k).fold(g, |g, _| {
            self.ode_theta(
                Gauss {
                    mean: g.mean,
                    var: g.var + t_max * t_max - t_min * t_min,
                },
                t_max,
                t_min,
                delta,
            )
        })
    }

    /// λ = 2Q(B/(2√(t_max² − t_min²))) of Theorems 9–10 and Lemma 1.
    pub fn lambda(&self, t_min: f64, t_max: f64) -> f64 {
        2.0 * q(self.b / (2.0 * (t_max * t_max - t_min * t_min).sqrt()))
    }

    /// L₀, L₁, L₂ on t, s ∈ [t_min, t_max] and |x| ≤ B/2, maximised on a fine grid of times.
    pub fn constants(&self, t_min: f64, t_max: f64) -> Constants {
        let grid: Vec<f64> = (0..=2000).map(|i| t_min + (t_max - t_min) * i as f64 / 2000.0).collect();
        let r = self.b / 2.0;
        let l2 = grid.iter().map(|t| t / (self.a + t * t)).fold(0.0, f64::max);
        let l1 = grid.iter().map(|t| t * r / (self.a + t * t)).fold(0.0, f64::max) + self.eps.abs();
        // ‖t s_θ(x,t) − t s_θ(x,s)‖ ≤ t·sup_s |∂_s s_θ(x, s)|·|t − s|, ∂_s s_θ = 2xs/(a + s²)² − ε/s².
        let ds = grid
            .iter()
            .map(|s| 2.0 * r * s / (self.a + s * s).powi(2) + self.eps.abs() / (s * s))
            .fold(0.0, f64::max);
        Constants { l0: t_max * ds, l1, l2 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_maps_preserve_the_marginals() {
        let toy = Toy { a: 1.0, eps: 0.0, b: 30.0 };
        let p = toy.marginal(1.5);
        let (o, s) = (toy.ode(p, 1.5, 1.0), toy.sde(p, 1.5, 1.0));
        let want = toy.marginal(1.0);
        assert!((o.var - want.var).abs() < 1e-14 && (s.var - want.var).abs() < 1e-14);
        let r = toy.restart(want, 1.0, 1.5);
        assert!((r.var - want.var).abs() < 1e-14 && r.mean == 0.0);
    }

    #[test]
    fn discretised_maps_converge_to_the_exact_ones() {
        let toy = Toy { a: 1.0, eps: 0.0, b: 30.0 };
        let g = Gauss { mean: 0.7, var: 2.0 };
        let exact = toy.ode(g, 1.5, 1.0);
        let e1 = (toy.ode_theta(g, 1.5, 1.0, 0.01).mean - exact.mean).abs();
        let e2 = (toy.ode_theta(g, 1.5, 1.0, 0.005).mean - exact.mean).abs();
        assert!(e1 < 1e-3 && (e1 / e2 - 2.0).abs() < 0.1, "first order: {e1} {e2}");
        let sde = toy.sde(g, 1.5, 1.0);
        let fine = toy.sde_theta(g, 1.5, 1.0, 1e-5);
        assert!((fine.mean - sde.mean).abs() < 1e-4 && (fine.var - sde.var).abs() < 1e-4, "{fine:?} vs {sde:?}");
    }
}
