//! The energy distance of Székely & Rizzo, 2E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖ (≥ 0, zero iff the
//! laws agree), in its V-statistic form: the exact energy distance between the two empirical
//! measures. It is the "FID analog" of the inverse-problem toys (distance of a particle set to
//! exact posterior draws) and the statistic of the permutation tests of Prop. 3.

use crate::euclidean::squared_distance;

/// The energy distance between the two groups of a pooled sample, from its row-major m × m
/// matrix of distances `d` and a label per point (true = Y): the V-statistic
/// mean_{X,Y} d − mean_{X,X} d − mean_{Y,Y} d, sums taken row by row in order.
pub fn energy_distance_from_distances(d: &[f64], label: &[bool]) -> f64 {
    let m = label.len();
    let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
    for i in 0..m {
        let row = &d[i * m..(i + 1) * m];
        for j in 0..m {
            match (label[i], label[j]) {
                (false, false) => xx += row[j],
                (true, true) => yy += row[j],
                _ => xy += row[j],
            }
        }
    }
    let nx = label.iter().filter(|&&l| !l).count() as f64;
    let ny = m as f64 - nx;
    xy / (nx * ny) - xx / (nx * nx) - yy / (ny * ny)
}

/// The energy distance between the empirical measures of the rows of `x` and of `y` (row-major,
/// `dim` coordinates per point, at least one point each).
pub fn energy_distance(x: &[f64], y: &[f64], dim: usize) -> f64 {
    let (nx, ny) = (x.len() / dim, y.len() / dim);
    assert!(
        nx >= 1 && ny >= 1 && x.len() == nx * dim && y.len() == ny * dim,
        "energy distance: need whole points of {dim} coordinates in both sets"
    );
    let pooled: Vec<&[f64]> = x.chunks_exact(dim).chain(y.chunks_exact(dim)).collect();
    let m = pooled.len();
    let d: Vec<f64> = (0..m * m).map(|q| squared_distance(pooled[q / m], pooled[q % m]).sqrt()).collect();
    let label: Vec<bool> = (0..m).map(|i| i >= nx).collect();
    energy_distance_from_distances(&d, &label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_distance_of_two_point_groups() {
        // X = {0, 0}, Y = {1, 1} on a line: 2·1 − 0 − 0; the same points split evenly: 2·½ − ½ − ½ = 0.
        let pts = [0.0f64, 0.0, 1.0, 1.0];
        let d: Vec<f64> = (0..16).map(|q| (pts[q / 4] - pts[q % 4]).abs()).collect();
        assert!((energy_distance_from_distances(&d, &[false, false, true, true]) - 2.0).abs() < 1e-15);
        assert!(energy_distance_from_distances(&d, &[false, true, false, true]) < 1e-15);
    }

    #[test]
    fn point_masses_and_a_known_one_dimensional_pair() {
        // δ₀ against δ₃ in the plane: 2·3 − 0 − 0.
        assert!((energy_distance(&[0.0, 0.0], &[3.0, 4.0], 2) - 10.0).abs() < 1e-12);
        // X = {0, 2}, Y = {1}: E|X − Y| = 1, E|X − X'| = (0 + 2 + 2 + 0)/4 = 1, E|Y − Y'| = 0 → 2 − 1 = 1.
        assert!((energy_distance(&[0.0, 2.0], &[1.0], 1) - 1.0).abs() < 1e-15);
        // Symmetric in its arguments.
        let (a, b) = ([0.3, -1.0, 2.0, 0.5, 1.1, 0.0], [0.0, 0.2, -0.7, 1.9]);
        assert!((energy_distance(&a, &b, 2) - energy_distance(&b, &a, 2)).abs() < 1e-14);
    }
}
