//! The field of the continuous uniform disk in its own plane (thesis Sec. 7.2, Fig. 7.2a left).
//!
//! By Gauss's law in ℝ² a rotation-invariant charge sees only the charge inside the circle through
//! x: for the uniform disk of radius R and unit total charge, E(x) = x/(2π max(‖x‖, R)²) — radial
//! and pointing outward everywhere, so the backward flow −E takes every start to the centre.

/// The 2-D field of the uniform disk of radius `radius` and unit charge at x (two coordinates).
pub fn uniform_disk_field(x: &[f64], radius: f64) -> [f64; 2] {
    let r2 = (x[0] * x[0] + x[1] * x[1]).max(radius * radius);
    let c = 1.0 / (std::f64::consts::TAU * r2);
    [c * x[0], c * x[1]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PoissonField;
    use exact_denoisers::PointSet;

    #[test]
    fn the_empirical_field_of_many_disk_points_approaches_it() {
        // 200 × 200 charges on a polar grid of equal areas; E/n·(1/2π) against the continuum at a few points.
        let (rings, per_ring) = (200usize, 200usize);
        let pts: Vec<f64> = (0..rings)
            .flat_map(|i| {
                let r = ((i as f64 + 0.5) / rings as f64).sqrt();
                (0..per_ring).flat_map(move |j| {
                    let t = std::f64::consts::TAU * (j as f64 + 0.5 * (i % 2) as f64) / per_ring as f64;
                    [r * t.cos(), r * t.sin()]
                })
            })
            .collect();
        let n = (rings * per_ring) as f64;
        let field = PoissonField::new(PointSet::new(2, pts));
        // Outside the disk to 0.2%; inside, the nearest charges of the grid add a few per cent.
        for (x, tol) in [([2.0, 1.0], 2e-3), ([0.0, -1.5], 2e-3), ([0.33, 0.41], 5e-2)] {
            let e = field.in_data_plane(&x).value();
            let want = uniform_disk_field(&x, 1.0);
            for j in 0..2 {
                let got = e[j] / (n * std::f64::consts::TAU);
                assert!((got - want[j]).abs() < tol * want[j].abs().max(0.1), "{x:?}: {got} vs {}", want[j]);
            }
        }
    }
}
