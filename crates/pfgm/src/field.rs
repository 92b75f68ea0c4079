//! The exact empirical Poisson field of a point set (thesis Eq. 7.4, Sec. 7.3.2), in log-space.
//!
//! With charges ỹ_k = (y_k, 0) in the z = 0 plane of ℝ^{N+1}, the field at x̃ = (x, z) is
//! E(x̃) = Σ_k (x̃ − ỹ_k)/‖x̃ − ỹ_k‖^{N+1} (Eq. 7.4 up to its positive factor 1/(n·S_N(1)), which
//! changes no trajectory). Written as E = c · Σ_k w_k (x̃ − ỹ_k) with logits
//! −(N+1) ln‖x̃ − ỹ_k‖, c = exp(logsumexp) and w = softmax, the direction Ê = Σ_k w_k (x̃ − ỹ_k)
//! (the normalised field of Sec. 7.3.2, Ê_z = z exactly) never overflows or underflows, for
//! N = 3072 as for N = 2; ln‖E‖ = ln c + ln‖Ê‖ is finite wherever E is nonzero.

use diffusion::Denoiser as _;
use exact_denoisers::{softmax_in_place, squared_distance, PointSet};

/// The Poisson field of a finite point set placed in the z = 0 plane of ℝ^{N+1}.
#[derive(Clone, Debug)]
pub struct PoissonField {
    points: PointSet,
}

/// A field value E = exp(`log_scale`) · `direction`, kept apart so that neither part overflows.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldValue {
    /// ln Σ_k ‖x̃ − ỹ_k‖^{−p}, p the kernel's power.
    pub log_scale: f64,
    /// Σ_k w_k (x̃ − ỹ_k) with w = softmax(−p ln‖x̃ − ỹ_k‖): the x components, then z (if any).
    pub direction: Vec<f64>,
}

impl FieldValue {
    /// ln‖E‖.
    pub fn log_norm(&self) -> f64 {
        self.log_scale + 0.5 * self.direction.iter().map(|v| v * v).sum::<f64>().ln()
    }

    /// E itself (infinite or zero components where it does not fit an f64).
    pub fn value(&self) -> Vec<f64> {
        let c = self.log_scale.exp();
        self.direction.iter().map(|v| c * v).collect()
    }
}

impl PoissonField {
    /// The field of `points` (rows of N coordinates), placed at z = 0.
    pub fn new(points: PointSet) -> Self {
        PoissonField { points }
    }

    /// The charges' positions in the data plane.
    pub fn points(&self) -> &PointSet {
        &self.points
    }

    /// N, the data dimension (the field lives in N + 1).
    pub fn dim(&self) -> usize {
        self.points.dim()
    }

    /// The weights w_k = softmax_k(−(p/2) ln(‖x − y_k‖² + z²)) into `w` (one per point); returns
    /// their log-sum-exp, ln Σ_k (‖x − y_k‖² + z²)^{−p/2}.
    fn weights(&self, x: &[f64], z: f64, power: f64, w: &mut [f64]) -> f64 {
        for (k, o) in w.iter_mut().enumerate() {
            *o = -0.5 * power * (squared_distance(x, self.points.point(k)) + z * z).ln();
        }
        softmax_in_place(w)
    }

    /// E(x̃) at x̃ = (x, z) in ℝ^{N+1} (Eq. 7.4): `direction` has N + 1 components, the last E_z/c = z.
    pub fn at(&self, x: &[f64], z: f64) -> FieldValue {
        let mut w = vec![0.0; self.points.len()];
        let log_scale = self.weights(x, z, self.dim() as f64 + 1.0, &mut w);
        let mut direction = self.weighted_offset(x, &w);
        // Σ_k w_k (z − 0) = z, since the weights sum to one.
        direction.push(z);
        FieldValue { log_scale, direction }
    }

    /// The field without augmentation (Sec. 7.2): the N-dimensional field Σ_k (x − y_k)/‖x − y_k‖^N
    /// of the charges in ℝ^N itself, at x in the data plane (`direction` has N components).
    pub fn in_data_plane(&self, x: &[f64]) -> FieldValue {
        let mut w = vec![0.0; self.points.len()];
        let log_scale = self.weights(x, 0.0, self.dim() as f64, &mut w);
        FieldValue {
            log_scale,
            direction: self.weighted_offset(x, &w),
        }
    }

    /// dx/dz = E_x/E_z = Σ_k w_k (x − y_k)/z, the backward ODE anchored by z (Eq. 7.6), into `out`.
    pub fn dx_dz(&self, x: &[f64], z: f64, out: &mut [f64]) {
        let mut w = vec![0.0; self.points.len()];
        self.weights(x, z, self.dim() as f64 + 1.0, &mut w);
        for (o, v) in out.iter_mut().zip(self.weighted_offset(x, &w)) {
            *o = v / z;
        }
    }

    /// Σ_k w_k (x − y_k), summed in order of k.
    fn weighted_offset(&self, x: &[f64], w: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; x.len()];
        for (k, &wk) in w.iter().enumerate() {
            if wk > 0.0 {
                out.iter_mut()
                    .zip(x.iter().zip(self.points.point(k)))
                    .for_each(|(o, (xi, yi))| *o += wk * (xi - yi));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(n: usize, dim: usize) -> PointSet {
        PointSet::new(dim, (0..n * dim).map(|i| ((i * 7919 % 101) as f64 / 50.0 - 1.0) * 0.5).collect())
    }

    /// Eq. 7.4 summed directly, in N + 1 dimensions.
    fn direct(p: &PointSet, x: &[f64], z: f64) -> Vec<f64> {
        let n = p.dim();
        let mut e = vec![0.0; n + 1];
        for k in 0..p.len() {
            let r = (squared_distance(x, p.point(k)) + z * z).sqrt();
            let f = r.powi(-(n as i32 + 1));
            for j in 0..n {
                e[j] += f * (x[j] - p.point(k)[j]);
            }
            e[n] += f * z;
        }
        e
    }

    #[test]
    fn a_single_charge_gives_a_radial_field_of_magnitude_one_over_r_to_the_n() {
        for n in [2usize, 5, 64, 3072] {
            let y: Vec<f64> = (0..n).map(|j| (j as f64 * 0.37).sin()).collect();
            let field = PoissonField::new(PointSet::new(n, y.clone()));
            let x: Vec<f64> = y.iter().enumerate().map(|(j, v)| v + 0.01 * (j as f64).cos()).collect();
            let z = 0.3;
            let e = field.at(&x, z);
            // Radial: the direction is x̃ − ỹ itself (the single weight is 1).
            let offset: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).chain([z]).collect();
            assert!(e.direction.iter().zip(&offset).all(|(a, b)| (a - b).abs() <= 1e-15 * b.abs().max(1e-3)));
            // |E| = r · r^{−(N+1)} = r^{−N}, in log-space (r^{−3072} underflows an f64 for r < 0.8).
            let r = offset.iter().map(|v| v * v).sum::<f64>().sqrt();
            let want = -(n as f64) * r.ln();
            assert!(
                (e.log_norm() - want).abs() <= 1e-12 * want.abs().max(1.0),
                "N = {n}: {} vs {want}",
                e.log_norm()
            );
        }
    }

    #[test]
    fn log_space_equals_the_direct_sum_where_that_does_not_overflow() {
        for (n, z) in [(2usize, 0.05), (5, 0.4), (20, 1.0), (20, 3.0)] {
            let p = cloud(40, n);
            let field = PoissonField::new(p.clone());
            let x: Vec<f64> = (0..n).map(|j| 0.2 * (j as f64 + 1.0).sin()).collect();
            let want = direct(&p, &x, z);
            let got = field.at(&x, z).value();
            let scale = want.iter().map(|v| v.abs()).fold(0.0, f64::max);
            assert!(scale.is_finite() && scale > 0.0);
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-12 * scale, "N = {n}, z = {z}: {a} vs {b}");
            }
            // dx/dz = E_x/E_z.
            let mut d = vec![0.0; n];
            field.dx_dz(&x, z, &mut d);
            for j in 0..n {
                assert!((d[j] - want[j] / want[n]).abs() <= 1e-12 * (1.0 + d[j].abs()));
            }
        }
        // Far beyond the direct sum's range the log-space value stays finite: N = 3072 at distance 10³.
        let p = cloud(10, 3072);
        let e = PoissonField::new(p).at(&vec![1000.0; 3072], 5.0);
        assert!(e.log_norm().is_finite() && e.log_scale < -700.0 * 3.0);
    }

    #[test]
    fn the_data_plane_field_is_the_n_dimensional_one() {
        let p = cloud(30, 2);
        let field = PoissonField::new(p.clone());
        let x = [0.9, -1.3];
        let mut want = [0.0; 2];
        for k in 0..p.len() {
            let d2 = squared_distance(&x, p.point(k));
            for j in 0..2 {
                want[j] += (x[j] - p.point(k)[j]) / d2;
            }
        }
        let got = field.in_data_plane(&x).value();
        assert!(
            got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12 * b.abs().max(1.0)),
            "{got:?} vs {want:?}"
        );
    }
}
