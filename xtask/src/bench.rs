//! `cargo xtask bench`: throughput of the samplers on the exact score of the thesis's 2000-point
//! 20-D set (§5.4.1), and the wall time of an exact 2000 × 2000 W1. Timings live here, not in tests.

use anyhow::Result;
use diffusion::Denoiser;
use exact_denoisers::PointSet;
use samplers::grid::edm_default;
use samplers::restart::{Interval, MainSolver, Restart};
use samplers::{euler_maruyama::sample_euler_maruyama, heun::sample_heun, Particles};
use seeding::Stream;
use std::time::Instant;

/// Best wall time of `reps` runs and the NFE of the last.
fn time(reps: usize, mut f: impl FnMut() -> Result<usize>) -> Result<(f64, usize)> {
    let mut best = f64::INFINITY;
    let mut nfe = 0;
    for _ in 0..reps {
        let t0 = Instant::now();
        nfe = f()?;
        best = best.min(t0.elapsed().as_secs_f64());
    }
    Ok((best, nfe))
}

fn report(name: &str, samples: usize, (secs, nfe): (f64, usize)) {
    println!("{name:<58} {secs:>8.3} s  NFE {nfe:>4}  {:>12.3e} samples·NFE/s", (samples * nfe) as f64 / secs);
}

/// Runs the benchmarks and prints one line each.
pub fn bench() -> Result<()> {
    let n = 2000;
    let data = PointSet::new(20, datasets::restart_mixture_20d(n, 0));
    println!("{} rayon threads", rayon::current_num_threads());
    let run = |f: &dyn Fn(&dyn Denoiser, &mut Particles) -> Result<()>| -> Result<usize> {
        let mut p = Particles::from_prior(n, 20, 80.0, Stream::new(0));
        f(&data, &mut p)?;
        Ok(p.nfe)
    };
    let grid = edm_default(18);
    report(
        "Heun, 18 steps (NFE 35), exact 2000-point score",
        n,
        time(3, || run(&|d, p| sample_heun(d, p, &grid)))?,
    );
    let restart = Restart {
        main_grid: grid.clone(),
        intervals: vec![Interval {
            n_restart: 3,
            k: 2,
            t_min: 0.14,
            t_max: 0.30,
        }],
        main: MainSolver::Heun,
        s_noise: 1.0,
        gamma: 0.0,
        rho: 7.0,
    };
    report(
        "Restart {18; 3, 2, 0.14, 0.30} (NFE 43), target < 0.5 s",
        n,
        time(3, || run(&|d, p| restart.sample(d, p)))?,
    );
    let em = edm_default(100);
    report("Euler–Maruyama, 100 steps", n, time(3, || run(&|d, p| sample_euler_maruyama(d, p, &em, 1.0)))?);
    let mut samples = Particles::from_prior(n, 20, 80.0, Stream::new(1));
    sample_heun(&data, &mut samples, &grid)?;
    let mut w1 = 0.0;
    let (secs, _) = time(3, || {
        w1 = metrics::w1_exact(&samples.x, data.points(), 20).distance;
        Ok(0)
    })?;
    println!("{:<58} {secs:>8.3} s  (W1 = {w1:.4})", "exact W1 by assignment, 2000 × 2000 in 20-D");
    Ok(())
}
