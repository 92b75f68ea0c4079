//! Noise-level grids: EDM's scheme (Alg. 8; EDM Eq. 5), the VP and VE grids of EDM's ablation
//! sampler, and snapping a Restart interval's t_min to the main grid (Alg. 9, line 2).

/// Alg. 8 `EDM_Scheme(t_min, t_max, N, ρ)`: N levels from t_max down to t_min, equally spaced in t^{1/ρ}.
pub fn edm_scheme(t_min: f64, t_max: f64, n: usize, rho: f64) -> Vec<f64> {
    assert!(n >= 2, "an EDM grid needs at least 2 levels");
    let (a, b) = (t_max.powf(1.0 / rho), t_min.powf(1.0 / rho));
    (0..n).map(|i| (a + i as f64 / (n - 1) as f64 * (b - a)).powf(rho)).collect()
}

/// The main grid of EDM and Restart: `edm_scheme(σ_min, σ_max, N)` followed by σ = 0 (N steps).
pub fn edm_main(sigma_min: f64, sigma_max: f64, n: usize, rho: f64) -> Vec<f64> {
    let mut g = edm_scheme(sigma_min, sigma_max, n, rho);
    g.push(0.0);
    g
}

/// EDM's defaults: σ_min = 0.002, σ_max = 80, ρ = 7.
pub fn edm_default(n: usize) -> Vec<f64> {
    edm_main(0.002, 80.0, n, 7.0)
}

/// The VP grid of EDM's ablation sampler: t uniform from 1 to ε_s = 1e-3, σ = √(exp(½β_d t² + β_min t) − 1), then 0.
pub fn vp_main(n: usize, beta_min: f64, beta_d: f64, eps_s: f64) -> Vec<f64> {
    let mut g: Vec<f64> = (0..n)
        .map(|i| {
            let t = 1.0 + i as f64 / (n - 1) as f64 * (eps_s - 1.0);
            (0.5 * beta_d * t * t + beta_min * t).exp_m1().sqrt()
        })
        .collect();
    g.push(0.0);
    g
}

/// The VE grid of EDM's ablation sampler: σ geometric from σ_max to σ_min, then 0.
pub fn ve_main(n: usize, sigma_min: f64, sigma_max: f64) -> Vec<f64> {
    let mut g: Vec<f64> = (0..n).map(|i| sigma_max * (sigma_min / sigma_max).powf(i as f64 / (n - 1) as f64)).collect();
    g.push(0.0);
    g
}

/// The grid value nearest to `t` (Alg. 9, line 2), ignoring the final 0.
pub fn snap(grid: &[f64], t: f64) -> f64 {
    grid.iter()
        .copied()
        .filter(|g| *g > 0.0)
        .min_by(|a, b| (a - t).abs().total_cmp(&(b - t).abs()))
        .expect("grid has positive levels")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edm_18_step_grid_matches_the_spec_table() {
        // spec §3.5 [derived]: 0: 80.0, 2: 40.7856, 4: 19.3525, 9: 1.9233, 10: 1.0882, 12: 0.2964, 14: 0.0599, 17: 0.002.
        let g = edm_default(18);
        assert_eq!(g.len(), 19);
        for (i, v) in [
            (0, 80.0),
            (2, 40.7856),
            (4, 19.3525),
            (9, 1.9233),
            (10, 1.0882),
            (12, 0.2964),
            (14, 0.0599),
            (17, 0.002),
        ] {
            assert!((g[i] - v).abs() < 5e-5, "t_{i} = {} vs {v}", g[i]);
        }
        assert_eq!(g[18], 0.0);
    }

    #[test]
    fn snapping_reproduces_the_spec_roundings() {
        // spec §3.5: N_main = 36 → 19.35→20.2393, 1.09→0.9654, 0.06→0.0555; N_main = 14 → 1.09→0.8229; N_main = 20 → 0.06→0.0449.
        let g36 = edm_default(36);
        for (t, want) in [(19.35, 20.2393), (1.09, 0.9654), (0.59, 0.5233), (0.30, 0.2675), (0.06, 0.0555)] {
            assert!((snap(&g36, t) - want).abs() < 5e-5, "{t} → {}", snap(&g36, t));
        }
        assert!((snap(&edm_default(14), 1.09) - 0.8229).abs() < 5e-5);
        assert!((snap(&edm_default(20), 0.06) - 0.0449).abs() < 5e-5);
    }

    #[test]
    fn vp_and_ve_grids_end_points() {
        let vp = vp_main(18, 0.1, 19.9, 1e-3);
        assert!((vp[0] - (0.5f64 * 19.9 + 0.1).exp_m1().sqrt()).abs() < 1e-9 && (vp[17] - 0.010486).abs() < 1e-5);
        let ve = ve_main(18, 0.02, 100.0);
        assert!((ve[0] - 100.0).abs() < 1e-12 && (ve[17] - 0.02).abs() < 1e-12);
    }
}
