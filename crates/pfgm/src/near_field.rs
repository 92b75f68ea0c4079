//! The near-field z-substitution (thesis B.5.2, l.4836–4848): close to the data plane the
//! network's z output is small and relatively imprecise, and dx/dz = v_x/v_z divides by it. Since
//! the exact normalised field has Ê_z = z (Sec. 7.3.2), v_z can be rebuilt from v_x and z alone.
//!
//! With e = ‖Ê_x‖ and a = ‖v_x‖/√N = e/(√(e² + z²) + γ) (Alg. 2's target), the thesis prints
//!
//!   v_z ← −√N z / √((γa/(1 − a))² + z² + γ)                                   ([`NearField::Printed`]),
//!
//! with a "+ γ" under the root that no inversion of the target produces (spec ch6-9 §7). The
//! authors' code (`methods.Poisson.ode`, `z_exp`) puts it outside:
//!
//!   v_z ← −√N z / (√((γa/(1 − a))² + z²) + γ)                                 ([`NearField::Code`]),
//!
//! which reads e ≈ γa/(1 − a), exact when z ≪ e. Solving a = e/(√(e² + z²) + γ) for e exactly,
//! (1 − a²) e² − 2aγ e + a²(γ² − z²) = 0, whose root with e ≥ aγ is
//!
//!   e = a (γ + √(a²γ² + (1 − a²) z²)) / (1 − a²),   v_z = −√N z/(√(e² + z²) + γ)   ([`NearField::Exact`]),
//!
//! which returns the exact field's v_z from its v_x (tested below).

/// Which formula rebuilds v_z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NearField {
    /// B.5.2's formula as printed.
    Printed,
    /// The authors' code: the near-field reading e ≈ γa/(1 − a) with γ outside the root.
    Code,
    /// The exact inversion of Alg. 2's target.
    Exact,
}

impl NearField {
    /// v_z rebuilt from the x part `v_x` of a prediction at height z, for the target's γ.
    pub fn v_z(self, v_x: &[f64], z: f64, gamma: f64) -> f64 {
        let root_n = (v_x.len() as f64).sqrt();
        // a < 1 for any target (‖v_x‖ < √N); a prediction may overshoot, so keep the inversion finite.
        let a = (v_x.iter().map(|v| v * v).sum::<f64>().sqrt() / root_n).min(1.0 - 1e-12);
        match self {
            NearField::Printed => {
                let e = gamma * a / (1.0 - a);
                -root_n * z / (e * e + z * z + gamma).sqrt()
            }
            NearField::Code => {
                let e = gamma * a / (1.0 - a);
                -root_n * z / ((e * e + z * z).sqrt() + gamma)
            }
            NearField::Exact => {
                let e = a * (gamma + (a * a * gamma * gamma + (1.0 - a * a) * z * z).sqrt()) / (1.0 - a * a);
                -root_n * z / ((e * e + z * z).sqrt() + gamma)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{normalized_target, PoissonField};
    use exact_denoisers::PointSet;

    fn field() -> PoissonField {
        let points: Vec<f64> = (0..60).map(|i| ((i * 29 % 17) as f64 - 8.0) / 4.0).collect();
        PoissonField::new(PointSet::new(3, points))
    }

    #[test]
    fn the_exact_inversion_returns_the_exact_fields_z_component() {
        let f = field();
        for (x, z) in [([0.3, -0.2, 1.1], 0.01), ([2.0, 1.0, -1.0], 0.5), ([10.0, 4.0, 3.0], 20.0)] {
            let v = normalized_target(&f, &x, z, 5.0);
            let rebuilt = NearField::Exact.v_z(&v[..3], z, 5.0);
            assert!((rebuilt - v[3]).abs() < 1e-12 * v[3].abs().max(1e-3), "z = {z}: {rebuilt} vs {}", v[3]);
        }
    }

    #[test]
    fn the_codes_formula_is_exact_in_the_near_field_only() {
        // With z ≪ e the code's e ≈ γa/(1 − a) is exact; at z comparable with e it is not.
        let f = field();
        let relative = |x: [f64; 3], z: f64| {
            let v = normalized_target(&f, &x, z, 5.0);
            (NearField::Code.v_z(&v[..3], z, 5.0) - v[3]).abs() / v[3].abs()
        };
        assert!(relative([3.0, 3.0, 3.0], 1e-3) < 1e-6);
        let worst = [0.3, 1.0, 3.0, 10.0]
            .iter()
            .flat_map(|&z| [[3.0, 3.0, 3.0], [6.0, 0.0, 0.0], [1.0, -2.0, 0.5]].map(|x| relative(x, z)))
            .fold(0.0, f64::max);
        assert!(worst > 0.01, "largest relative error {worst}");
    }

    #[test]
    fn the_printed_formula_approaches_the_exact_one_only_when_the_field_dwarfs_gamma() {
        // The printed denominator √(e² + z² + γ) against the exact √(e² + z²) + γ: their ratio is
        // ≈ 1 − γ/e for e ≫ γ, and far from 1 where e is comparable with γ.
        let f = field();
        let relative = |x: [f64; 3]| {
            let v = normalized_target(&f, &x, 1e-3, 5.0);
            (NearField::Printed.v_z(&v[..3], 1e-3, 5.0) - v[3]).abs() / v[3].abs()
        };
        let (close, far) = (relative([3.0, 3.0, 3.0]), relative([300.0, 300.0, 300.0]));
        assert!(close > 0.3, "e ≈ γ: relative difference {close}");
        assert!(far < 0.02, "e ≈ 100γ: relative difference {far}");
    }
}
