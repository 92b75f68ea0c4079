//! App. A.2.3 (l.2728–2744): DPM-Solver-1 ≡ DDIM ≡ EDM's Euler step in σ, and Heun ≡ DPM-Solver-2
//! with r₁ = 1, checked to rounding on an exact Gaussian-mixture score. One cell per grid size.

use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, Result};
use artifacts::{Table, Tables};
use exact_denoisers::GaussianMixture;
use registry::Params;
use samplers::{ddim::sample_ddim, dpm_solver::sample_dpm_solver2, euler::sample_euler, grid::edm_default, heun::sample_heun, Particles};
use seeding::Stream;

/// The runner `solver-identities`.
pub struct SolverIdentities;

fn mixture(p: &Params) -> Result<GaussianMixture> {
    let (dim, k) = (p.usize("dim")?, p.usize("components")?);
    let mut rng = Stream::new(p.u64("mixture_seed")?).named("mixture").rng();
    let means: Vec<f64> = seeding::normals(&mut rng, dim * k).iter().map(|v| 2.0 * v).collect();
    let weights: Vec<f64> = (1..=k).map(|i| i as f64).collect();
    let variances: Vec<f64> = (0..k).map(|i| 0.01 * (1 + i) as f64).collect();
    Ok(GaussianMixture::new(dim, weights, means, variances))
}

/// max |a − b| / max(1, max |a|).
fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let scale = a.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max) / scale
}

impl Experiment for SolverIdentities {
    fn cells(&self, params: &Params) -> Result<Vec<String>> {
        Ok(params.usize_list("steps")?.iter().map(|n| format!("N={n}")).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        let mix = mixture(run.params)?;
        let (steps, samples) = (run.params.usize_list("steps")?, run.params.usize("samples")?);
        for &c in cells {
            let grid = edm_default(steps[c]);
            let go = |f: &dyn Fn(&mut Particles) -> Result<()>| -> Result<(Vec<f64>, usize)> {
                let mut p = Particles::from_prior(samples, mix.dim(), grid[0], run.stream.child(c as u64));
                f(&mut p)?;
                Ok((p.x, p.nfe))
            };
            let (euler, n_euler) = go(&|p| sample_euler(&mix, p, &grid))?;
            let (ddim, n_ddim) = go(&|p| sample_ddim(&mix, p, &grid))?;
            let (heun, n_heun) = go(&|p| sample_heun(&mix, p, &grid))?;
            let (dpm2, n_dpm2) = go(&|p| sample_dpm_solver2(&mix, p, &grid, 1.0))?;
            let t = Table::new()
                .i64("steps", vec![steps[c] as i64])
                .f64("ddim_vs_euler_rel_diff", vec![rel_diff(&euler, &ddim)])
                .f64("dpm2_r1_vs_heun_rel_diff", vec![rel_diff(&heun, &dpm2)])
                .i64("nfe_euler", vec![n_euler as i64])
                .i64("nfe_ddim", vec![n_ddim as i64])
                .i64("nfe_heun", vec![n_heun as i64])
                .i64("nfe_dpm2", vec![n_dpm2 as i64]);
            done(c, vec![("identities".into(), t)])?;
        }
        Ok(())
    }

    fn finish(&self, _params: &Params, tables: Tables) -> Result<Outcome> {
        let t = &tables.iter().find(|(n, _)| n == "identities").ok_or_else(|| anyhow!("no identities table"))?.1;
        let max = |c: &str| t.f64_column(c).unwrap_or_default().iter().fold(0.0f64, |m, v| m.max(*v));
        let nfe_equal = |a: &str, b: &str| t.f64_column(a) == t.f64_column(b);
        let mut out = Outcome {
            tables: tables.clone(),
            ..Default::default()
        };
        out.quantities = vec![
            Quantity::exact("ddim_vs_euler_max_rel_diff", max("ddim_vs_euler_rel_diff")),
            Quantity::exact("dpm2_r1_vs_heun_max_rel_diff", max("dpm2_r1_vs_heun_rel_diff")),
            Quantity::exact(
                "nfe_equal",
                if nfe_equal("nfe_euler", "nfe_ddim") && nfe_equal("nfe_heun", "nfe_dpm2") {
                    1.0
                } else {
                    0.0
                },
            ),
        ];
        Ok(out)
    }
}
