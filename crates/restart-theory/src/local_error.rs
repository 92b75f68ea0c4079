//! Local error orders of one step on the toy with the exact score (l.1101): the Euler step of the
//! ODE errs by O(δ²); the Euler–Maruyama step of the SDE by O(δ^{3/2}) in mean square, against a
//! reference driven by the same Brownian path on a fine grid.

use crate::toy::Toy;
use rayon::prelude::*;
use seeding::Stream;

/// |Euler(x; t → t − δ) − ODE(x; t → t − δ)| for one starting point x.
pub fn ode_euler_error(toy: &Toy, x: f64, t: f64, delta: f64) -> f64 {
    let exact = x * ((toy.a + (t - delta).powi(2)) / (toy.a + t * t)).sqrt();
    // dx/dt = x·t/(a + t²) for the probability-flow ODE (EDM Eq. 4 with σ = t).
    let euler = x - delta * x * t / (toy.a + t * t);
    (euler - exact).abs()
}

/// Root-mean-square error of one Euler–Maruyama step t → t − δ of the exact reverse SDE against
/// `fine` sub-steps driven by the same Brownian increments, over `paths` paths from x ~ p_t.
pub fn sde_em_rms_error(toy: &Toy, t: f64, delta: f64, fine: usize, paths: usize, stream: Stream) -> f64 {
    let sq: Vec<f64> = (0..paths)
        .into_par_iter()
        .map(|i| {
            let mut rng = stream.child(i as u64).rng();
            let z = seeding::normals(&mut rng, fine + 1);
            let x0 = (toy.a + t * t).sqrt() * z[fine];
            let h = delta / fine as f64;
            let (mut y, mut dw) = (x0, 0.0);
            for (j, zj) in z[..fine].iter().enumerate() {
                let tj = t - j as f64 * h;
                let inc = h.sqrt() * zj;
                y += 2.0 * h * (-tj * y / (toy.a + tj * tj)) + (2.0 * tj).sqrt() * inc;
                dw += inc;
            }
            let coarse = x0 + 2.0 * delta * (-t * x0 / (toy.a + t * t)) + (2.0 * t).sqrt() * dw;
            (coarse - y).powi(2)
        })
        .collect();
    (sq.iter().sum::<f64>() / paths as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_orders_are_two_and_three_halves() {
        let toy = Toy { a: 1.0, eps: 0.0, b: 30.0 };
        let (d1, d2) = (0.08, 0.02);
        let ode = (ode_euler_error(&toy, 1.3, 1.5, d1) / ode_euler_error(&toy, 1.3, 1.5, d2)).ln() / (d1 / d2).ln();
        assert!((ode - 2.0).abs() < 0.1, "ODE order {ode}");
        let (e1, e2) = (
            sde_em_rms_error(&toy, 1.5, d1, 64, 20_000, Stream::new(1)),
            sde_em_rms_error(&toy, 1.5, d2, 64, 20_000, Stream::new(2)),
        );
        let sde = (e1 / e2).ln() / (d1 / d2).ln();
        assert!((sde - 1.5).abs() < 0.15, "SDE order {sde}");
    }
}
