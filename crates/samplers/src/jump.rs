//! Restart's forward jump from t_min to t_max (Alg. 9, lines 10–11): Gaussian for diffusion models,
//! and for PFGM++ the authors' move in N + D dimensions (`generate_restart.py`, `--pfgmpp=1`): the
//! hidden augmented part z ∈ ℝᴰ is drawn on the sphere of radius r_old = t_min√D, a direction
//! v ~ N(0, I_{N+D}) is scaled so that its augmented part has unit norm, and the move length m
//! solves ‖z + m v_D‖ = r_new = t_max√D, m = −⟨z, v_D⟩ − √(⟨z, v_D⟩² + r_new² − r_old²) (the
//! code's `randint(1)` always picks this root); the data part moves by m·v_N. As D → ∞ the move
//! tends to the Gaussian jump N(0, (t_max² − t_min²)I).

use crate::Particles;

/// How Restart jumps forward from t_min to t_max.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Jump {
    /// x ← x + √(t_max² − t_min²)·S_noise·ε (diffusion models; PFGM++ with D = ∞).
    Gaussian,
    /// The PFGM++ move in N + D dimensions with r = σ√D.
    Pfgmpp {
        /// The augmentation dimension D.
        augment: usize,
    },
}

impl Jump {
    /// Moves every particle of `p` (at σ = t_min) forward to σ = t_max, scaled by `s_noise`.
    pub fn apply(&self, p: &mut Particles, t_min: f64, t_max: f64, s_noise: f64) {
        match *self {
            Jump::Gaussian => p.add_noise((t_max * t_max - t_min * t_min).sqrt() * s_noise),
            Jump::Pfgmpp { augment } => {
                let d = augment as f64;
                let (r_old, r_new) = (t_min * d.sqrt(), t_max * d.sqrt());
                p.move_rows(|rng, row| {
                    let z = seeding::normals(rng, augment);
                    let z_norm = z.iter().map(|v| v * v).sum::<f64>().sqrt();
                    let v_data = seeding::normals(rng, row.len());
                    let v_aug = seeding::normals(rng, augment);
                    let v_aug_norm = v_aug.iter().map(|v| v * v).sum::<f64>().sqrt();
                    // ⟨z, v_D⟩ with z = r_old·ẑ and v_D = g_D/‖g_D‖.
                    let dot = r_old * z.iter().zip(&v_aug).map(|(a, b)| a * b).sum::<f64>() / (z_norm * v_aug_norm);
                    let m = -dot - (dot * dot + r_new * r_new - r_old * r_old).sqrt();
                    for (x, v) in row.iter_mut().zip(&v_data) {
                        *x += m * v / v_aug_norm * s_noise;
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seeding::Stream;

    fn moves(jump: Jump, n: usize, dim: usize, t_min: f64, t_max: f64) -> Vec<f64> {
        let mut p = Particles::from_states(dim, vec![0.0; n * dim], Stream::new(7));
        jump.apply(&mut p, t_min, t_max, 1.0);
        p.x
    }

    #[test]
    fn the_move_length_takes_the_augmented_radius_from_r_old_to_r_new() {
        // The quadratic's root, checked on the explicit augmented vectors.
        let (r_old, r_new) = (0.7, 2.3);
        let mut rng = Stream::new(3).rng();
        for _ in 0..100 {
            let z: Vec<f64> = seeding::normals(&mut rng, 16);
            let zn = z.iter().map(|v| v * v).sum::<f64>().sqrt();
            let z: Vec<f64> = z.iter().map(|v| r_old * v / zn).collect();
            let g = seeding::normals(&mut rng, 16);
            let gn = g.iter().map(|v| v * v).sum::<f64>().sqrt();
            let v: Vec<f64> = g.iter().map(|x| x / gn).collect();
            let dot: f64 = z.iter().zip(&v).map(|(a, b)| a * b).sum();
            let m = -dot - (dot * dot + r_new * r_new - r_old * r_old).sqrt();
            let after = z.iter().zip(&v).map(|(a, b)| (a + m * b).powi(2)).sum::<f64>().sqrt();
            assert!((after - r_new).abs() < 1e-12, "{after} vs {r_new}");
        }
    }

    #[test]
    fn with_large_d_the_jump_is_the_gaussian_one() {
        // Per-coordinate variance of the move: t_max² − t_min² in the limit; E m²/‖g_D‖² ≈ D(t_max² − t_min²)/D
        // up to O(1/D) (r_old² enters through ⟨z, v_D⟩² of mean r_old²/D).
        let (t_min, t_max, n, dim) = (0.3, 1.2, 4000, 3);
        let want = t_max * t_max - t_min * t_min;
        let var = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
        let gauss = var(&moves(Jump::Gaussian, n, dim, t_min, t_max));
        let big = var(&moves(Jump::Pfgmpp { augment: 4096 }, n, dim, t_min, t_max));
        // 12 000 squared normals: relative s.e. of a variance √(2/12 000) ≈ 1.3%.
        assert!((gauss / want - 1.0).abs() < 0.05, "Gaussian {gauss} vs {want}");
        assert!((big / want - 1.0).abs() < 0.05, "D = 4096: {big} vs {want}");
        // Small D: the move is heavier-tailed (kurtosis above the Gaussian 3).
        let small = moves(Jump::Pfgmpp { augment: 4 }, n, dim, t_min, t_max);
        let kurt = small.iter().map(|v| v.powi(4)).sum::<f64>() / small.len() as f64 / var(&small).powi(2);
        assert!(kurt > 4.0, "D = 4: kurtosis {kurt}");
    }
}
