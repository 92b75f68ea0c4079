//! Restart sampling (thesis Alg. 8–10, App. B.3.1): a main backward process on the EDM grid that,
//! whenever it reaches the t_min of a Restart interval, repeats K times a forward jump
//! N(0, (t_max² − t_min²)I)·S_noise and a Heun backward pass on the interval's own EDM grid.
//! Fixes of the printed pseudocode (spec §6 item 14): the inner loop runs N_Restart − 1 steps over
//! the N_Restart-point grid, and the main loop continues from x^K_{t_min}.

use crate::{
    grid::{edm_scheme, snap},
    jump::Jump,
    steps::{churn, euler_step, heun_step},
    Particles,
};
use anyhow::{bail, Result};
use diffusion::Denoiser;

/// One Restart interval {N_Restart, K, t_min, t_max}.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Levels of the interval's EDM grid (N_Restart − 1 Heun steps).
    pub n_restart: usize,
    /// Restart iterations K.
    pub k: usize,
    /// Lower end (snapped to the main grid).
    pub t_min: f64,
    /// Upper end.
    pub t_max: f64,
}

/// The solver of the main backward process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MainSolver {
    /// Heun (Alg. 10); the last step to 0 is Euler.
    Heun,
    /// Euler (the DDIM main process of the Stable Diffusion runs).
    Euler,
    /// DPM-Solver-3 (the "VP w/ DPM-Solver-3" rows of Table B.6).
    DpmSolver3,
}

/// Everything Restart needs besides the denoiser.
#[derive(Clone, Debug, PartialEq)]
pub struct Restart {
    /// Main grid, decreasing, usually `edm_default(N_main)` ending at 0.
    pub main_grid: Vec<f64>,
    /// Restart intervals.
    pub intervals: Vec<Interval>,
    /// Main solver.
    pub main: MainSolver,
    /// S_noise multiplying the forward jump (1.003 on ImageNet-64, 1 on CIFAR-10).
    pub s_noise: f64,
    /// Inner churn γ in the Restart backward steps for σ in [0.01, 1] (authors' code; 0 = off).
    pub gamma: f64,
    /// ρ of the inner EDM grids.
    pub rho: f64,
    /// The forward jump: Gaussian, or PFGM++'s move in N + D dimensions.
    pub jump: Jump,
}

impl Restart {
    /// The intervals with t_min snapped to the main grid (Alg. 9, line 2).
    pub fn snapped(&self) -> Vec<Interval> {
        self.intervals
            .iter()
            .map(|iv| Interval {
                t_min: snap(&self.main_grid, iv.t_min),
                ..*iv
            })
            .collect()
    }

    /// NFE by the thesis's formula (l.4262): (2N_main − 1) + Σ K_i·2(N_Restart,i − 1) for Heun;
    /// N_main + Σ K_i·2(N_Restart,i − 1) for Euler; 3(N_main − 1) + Σ K_i·3(N_Restart,i − 1) for
    /// DPM-Solver-3, whose inner passes are DPM-Solver-3 too ([derived] from Table B.6).
    pub fn nfe_formula(n_main: usize, intervals: &[Interval], main: MainSolver) -> usize {
        let inner = |per_step: usize| intervals.iter().map(|iv| iv.k * per_step * (iv.n_restart - 1)).sum::<usize>();
        match main {
            MainSolver::Heun => 2 * n_main - 1 + inner(2),
            MainSolver::Euler => n_main + inner(2),
            MainSolver::DpmSolver3 => 3 * (n_main - 1) + inner(3),
        }
    }

    /// Alg. 9 on `p`, which starts at σ = main_grid[0].
    pub fn sample(&self, den: &dyn Denoiser, p: &mut Particles) -> Result<()> {
        if self.intervals.iter().any(|iv| iv.n_restart < 2 || iv.t_max <= iv.t_min) {
            bail!("restart: every interval needs N_Restart ≥ 2 and t_max > t_min");
        }
        let intervals = self.snapped();
        for (i, w) in self.main_grid.windows(2).enumerate() {
            if self.main == MainSolver::DpmSolver3 && w[1] == 0.0 {
                // DPM-Solver returns its state at σ_min without a final denoising step (Lu et al.'s
                // sampler); only then does the 3(N_main − 1) of Table B.6's NFE column hold.
                break;
            }
            match self.main {
                MainSolver::Heun => heun_step(p, den, w[0], w[1])?, // Alg. 9, line 5
                MainSolver::Euler => euler_step(p, den, w[0], w[1])?,
                MainSolver::DpmSolver3 => crate::dpm_solver::sample_dpm_solver3(den, p, w)?,
            }
            p.check("restart (main)", i, w[1])?;
            for iv in intervals.iter().filter(|iv| iv.t_min == w[1]) {
                self.restart_iterations(den, p, iv)?;
            }
        }
        Ok(())
    }

    /// Alg. 9, lines 7–16 for one interval: K times, jump forward from t_min to t_max with fresh
    /// noise N(0, (t_max² − t_min²)I)·S_noise, then integrate back on the inner EDM grid of
    /// N_Restart levels. `p` must be at σ = t_min; only `main`, `s_noise`, `gamma` and `rho` are used.
    pub fn restart_iterations(&self, den: &dyn Denoiser, p: &mut Particles, iv: &Interval) -> Result<()> {
        let inner = edm_scheme(iv.t_min, iv.t_max, iv.n_restart, self.rho);
        for k in 0..iv.k {
            self.jump.apply(p, iv.t_min, iv.t_max, self.s_noise); // lines 10–11
            for (m, v) in inner.windows(2).enumerate() {
                if self.main == MainSolver::DpmSolver3 {
                    crate::dpm_solver::sample_dpm_solver3(den, p, v)?;
                } else {
                    let gamma = if (0.01..=1.0).contains(&v[0]) { self.gamma } else { 0.0 };
                    let t_hat = churn(p, v[0], gamma, self.s_noise);
                    heun_step(p, den, t_hat, v[1])?; // line 14
                }
                p.check(&format!("restart (interval t_min = {}, iteration {k})", iv.t_min), m, v[1])?;
            }
        }
        Ok(())
    }
}
