//! PFGM's regression target (thesis Alg. 2, l.1615–1633): the negative normalised empirical field
//! of the large batch B_L, v_{B_L}(ỹ) = −√N Ê_{B_L}(ỹ)/(‖Ê_{B_L}(ỹ)‖₂ + γ), where Ê is the field's
//! direction Σ_k w_k (ỹ − x̃_k) (Sec. 7.3.2). The γ > 0 keeps the target bounded, ‖v‖ < √N, and
//! makes it vanish smoothly at a charge; the thesis uses γ = 5 (Sec. 7.4).

use crate::PoissonField;

/// v_{B_L}(y, z) (N + 1 values: the x part, then z) for the field of the large batch.
pub fn normalized_target(field: &PoissonField, y: &[f64], z: f64, gamma: f64) -> Vec<f64> {
    let e = field.at(y, z).direction;
    let norm = e.iter().map(|v| v * v).sum::<f64>().sqrt();
    let scale = -(field.dim() as f64).sqrt() / (norm + gamma);
    e.iter().map(|v| scale * v).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use exact_denoisers::PointSet;

    #[test]
    fn one_charge_gives_the_scaled_unit_offset() {
        // One charge at the origin: Ê = (x, z) exactly, so v = −√N (x, z)/(‖(x, z)‖ + γ).
        let field = PoissonField::new(PointSet::new(3, vec![0.0; 3]));
        let (x, z, gamma) = ([1.0, -2.0, 0.5], 0.7, 5.0);
        let norm = (1.0f64 + 4.0 + 0.25 + 0.49).sqrt();
        let v = normalized_target(&field, &x, z, gamma);
        let want: Vec<f64> = [1.0, -2.0, 0.5, 0.7].iter().map(|c| -3f64.sqrt() * c / (norm + gamma)).collect();
        for (a, b) in v.iter().zip(&want) {
            assert!((a - b).abs() < 1e-14, "{v:?} vs {want:?}");
        }
    }

    #[test]
    fn the_target_points_back_towards_the_data_and_stays_below_root_n() {
        let points: Vec<f64> = (0..40).map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0).collect();
        let field = PoissonField::new(PointSet::new(4, points));
        for (x, z) in [([30.0, -10.0, 4.0, 2.0], 50.0), ([0.1, 0.2, -0.3, 0.4], 0.01)] {
            let v = normalized_target(&field, &x, z, 5.0);
            let norm = v.iter().map(|c| c * c).sum::<f64>().sqrt();
            assert!(norm < 2.0, "‖v‖ = {norm} must stay below √N = 2");
            // v_z = −√N z/(‖Ê‖ + γ) < 0: the backward flow descends in z.
            assert!(v[4] < 0.0);
        }
    }
}
