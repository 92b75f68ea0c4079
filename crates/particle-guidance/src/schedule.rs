//! The noise schedule of the authors' synthetic notebook: variances geometric from v_min to v_max.

/// `steps` variances v_k = exp(ln v_min + k/(steps − 1)·(ln v_max − ln v_min)) (numpy's
/// `exp(linspace(log v_min, log v_max, steps))`) as a decreasing σ-grid √v_{steps−1}, …, √v₀, 0:
/// `steps` steps, the last from √v₀ to 0, as the notebook's loop `for i in range(steps, 0, -1)`.
pub fn geometric_variance_grid(v_min: f64, v_max: f64, steps: usize) -> Vec<f64> {
    assert!(
        steps >= 2 && v_min > 0.0 && v_max > v_min,
        "geometric grid: need steps ≥ 2 and 0 < v_min < v_max"
    );
    let (a, b) = (v_min.ln(), v_max.ln());
    let mut g: Vec<f64> = (0..steps).rev().map(|k| (a + k as f64 / (steps - 1) as f64 * (b - a)).exp().sqrt()).collect();
    g.push(0.0);
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notebook_schedule_end_points_and_ratio() {
        let g = geometric_variance_grid(1e-3, 1.0, 200);
        assert_eq!(g.len(), 201);
        assert!((g[0] - 1.0).abs() < 1e-15 && (g[199] * g[199] - 1e-3).abs() < 1e-17 && g[200] == 0.0);
        // Consecutive variances differ by the factor 1000^(1/199).
        let r = 1000f64.powf(1.0 / 199.0);
        assert!((g[10] * g[10] / (g[11] * g[11]) - r).abs() < 1e-12);
    }
}
