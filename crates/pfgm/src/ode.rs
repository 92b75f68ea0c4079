//! The backward ODE anchored by z (thesis Sec. 7.3.3, Eq. 7.6), integrated by RK45.
//!
//! In z: dx/dz = E_x/E_z from z_max down to z_min; in t' = ln z: dx/dt' = z·E_x/E_z from ln z_max
//! down to ln z_min (B.5.2 writes t' = −ln z with the opposite sign: the same ODE). Only x is
//! integrated and z is read off the time variable (z = t or z = e^{t'}), as the authors' code does
//! (`methods.Poisson.ode`): an RK45 stage may then overshoot in t' by a whole unit without ever
//! evaluating the field at z ≤ 0. The batch is one system, as their `scipy.integrate.solve_ivp`
//! call has it, so the NFE is per batch. The exact empirical field gives dx/dz = Σ_k w_k (x − y_k)/z.
//! Without augmentation (Sec. 7.2) the flow runs in the data plane along −Ê of the N-dimensional field.

use crate::PoissonField;
use anyhow::{ensure, Result};
use rayon::prelude::*;
use samplers::rk45::{solve_rk45, Rk45, VectorField};

/// The variable the backward ODE is integrated in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// d(x, z)/dz (Eq. 7.6, first form).
    Z,
    /// d(x, z)/dt' with z = e^{t'} (Eq. 7.6, exponential form).
    LogZ,
}

/// The backward ODE's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backward {
    /// The time variable.
    pub anchor: Anchor,
    /// Start height (the prior's plane).
    pub z_max: f64,
    /// End height (1e−3 in the thesis).
    pub z_min: f64,
    /// RK45 tolerances (rtol = atol = 1e−4 in the thesis, B.5.2).
    pub rk45: Rk45,
}

/// End points of a batch and what reaching them cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampled {
    /// The x parts at the end, row-major (the z parts are dropped).
    pub x: Vec<f64>,
    /// Evaluations of the field over the whole batch.
    pub nfe: usize,
    /// Accepted RK45 steps.
    pub steps: usize,
    /// The trajectories: the x parts of the whole batch at the start and after every accepted step.
    pub path: Vec<Vec<f64>>,
}

/// A vector field that records the state (the x of every sample) after every accepted step.
struct Recorded<F> {
    f: F,
    path: Vec<Vec<f64>>,
}

impl<F: FnMut(&[f64], f64) -> Vec<f64>> Recorded<F> {
    fn new(f: F, start: &[f64]) -> Self {
        Recorded { f, path: vec![start.to_vec()] }
    }
}

impl<F: FnMut(&[f64], f64) -> Vec<f64>> VectorField for Recorded<F> {
    fn eval(&mut self, x: &[f64], t: f64) -> Result<Vec<f64>> {
        Ok((self.f)(x, t))
    }

    fn accepted(&mut self, _step: usize, _t: f64, x: &[f64]) -> Result<()> {
        self.path.push(x.to_vec());
        Ok(())
    }
}

/// A field that gives the backward ODE's slope dx/dz = E_x/E_z at a batch of states (x, z): the
/// exact empirical field, or a network trained on its normalised version (Alg. 2).
pub trait ZField: Sync {
    /// N, the data dimension.
    fn dim(&self) -> usize;
    /// dx/dz for every row (x, z) of `states` (N + 1 values each), into the rows of `out` (N each).
    fn dx_dz_rows(&self, states: &[f64], out: &mut [f64]) -> Result<()>;
}

impl ZField for PoissonField {
    fn dim(&self) -> usize {
        PoissonField::dim(self)
    }

    fn dx_dz_rows(&self, states: &[f64], out: &mut [f64]) -> Result<()> {
        let n = PoissonField::dim(self);
        // One row per task, each computed whole by one thread: the bits do not depend on the threads.
        states
            .par_chunks_exact(n + 1)
            .zip(out.par_chunks_exact_mut(n))
            .for_each(|(xz, o)| self.dx_dz(&xz[..n], xz[n], o));
        Ok(())
    }
}

/// Runs the backward ODE from the rows of `x0` (N coordinates each) at z = z_max down to z_min.
pub fn sample_backward(field: &dyn ZField, x0: &[f64], cfg: &Backward) -> Result<Sampled> {
    let n = field.dim();
    let anchor = cfg.anchor;
    let mut failure = None;
    let mut rhs = |x: &[f64], t: f64| {
        let z = if anchor == Anchor::LogZ { t.exp() } else { t };
        let states: Vec<f64> = x.chunks_exact(n).flat_map(|row| row.iter().copied().chain([z])).collect();
        let mut slope = vec![0.0; x.len()];
        if let Err(e) = field.dx_dz_rows(&states, &mut slope) {
            failure.get_or_insert(e);
        }
        // dx/dt' = (dx/dz)(dz/dt') = z·dx/dz.
        if anchor == Anchor::LogZ {
            slope.iter_mut().for_each(|v| *v *= z);
        }
        slope
    };
    let (start, end) = match anchor {
        Anchor::Z => (cfg.z_max, cfg.z_min),
        Anchor::LogZ => (cfg.z_max.ln(), cfg.z_min.ln()),
    };
    let mut ode = Recorded::new(&mut rhs, x0);
    let sol = solve_rk45(&mut ode, x0.to_vec(), start, end, &cfg.rk45);
    let path = ode.path;
    if let Some(e) = failure {
        return Err(e.context("the backward PFGM ODE's field failed"));
    }
    let sol = sol?;
    Ok(Sampled {
        x: sol.x,
        nfe: sol.nfe,
        steps: sol.accepted,
        path,
    })
}

/// Forward Euler on the backward ODE in t' = ln z with `steps` equal steps from ln z_max to
/// ln z_min, integrating z exactly (B.5.2, "we integrate the z in the Euler method"): with
/// h = t'_{i+1} − t'_i < 0, x ← x + (dx/dz)(e^{t'_{i+1}} − e^{t'_i}) and z ← e^{t'_{i+1}}. NFE = `steps`.
pub fn sample_euler(field: &dyn ZField, x0: &[f64], z_max: f64, z_min: f64, steps: usize) -> Result<Sampled> {
    let n = field.dim();
    ensure!(
        steps > 0 && z_max > z_min && z_min > 0.0,
        "PFGM Euler needs steps > 0 and z_max > z_min > 0 (got {steps}, {z_max}, {z_min})"
    );
    let rows = x0.len() / n;
    let mut state: Vec<f64> = x0.chunks_exact(n).flat_map(|x| x.iter().copied().chain([z_max])).collect();
    let (start, end) = (z_max.ln(), z_min.ln());
    let mut path = vec![x0.to_vec()];
    let mut slope = vec![0.0; rows * n];
    let mut z_now = z_max;
    for i in 0..steps {
        let z_next = if i + 1 == steps {
            z_min
        } else {
            (start + (end - start) * (i + 1) as f64 / steps as f64).exp()
        };
        field.dx_dz_rows(&state, &mut slope)?;
        for (xz, dx) in state.chunks_exact_mut(n + 1).zip(slope.chunks_exact(n)) {
            for (x, d) in xz[..n].iter_mut().zip(dx) {
                *x += d * (z_next - z_now);
            }
            xz[n] = z_next;
        }
        z_now = z_next;
        ensure!(
            state.iter().all(|v| v.is_finite()),
            "PFGM Euler diverged at step {} of {steps} (z = {z_next})",
            i + 1
        );
        path.push(state.chunks_exact(n + 1).flat_map(|xz| xz[..n].to_vec()).collect());
    }
    Ok(Sampled {
        x: state.chunks_exact(n + 1).flat_map(|xz| xz[..n].to_vec()).collect(),
        nfe: steps,
        steps,
        path,
    })
}

/// Runs a flow without augmentation (Sec. 7.2): dx/ds = −F(x) in the data plane for a time
/// `duration`, from the rows of `x0` (`dim` coordinates each), F any positive multiple of the field
/// (the trajectories are the same, Sec. 7.2's rescalability): e.g. the normalised empirical field
/// Ê (≈ x far away, ≈ x − y_k near a charge) or the continuous disk's [`crate::disk::uniform_disk_field`].
pub fn sample_in_plane(field: impl Fn(&[f64]) -> Vec<f64> + Sync, dim: usize, x0: &[f64], duration: f64, rk45: &Rk45) -> Result<Sampled> {
    // Integrated from s = duration down to 0 as dx/ds = +F, i.e. forward in time along −F.
    let rhs = |s: &[f64], _t: f64| {
        let mut out = vec![0.0; s.len()];
        s.par_chunks_exact(dim)
            .zip(out.par_chunks_exact_mut(dim))
            .for_each(|(x, o)| o.copy_from_slice(&field(x)));
        out
    };
    let mut ode = Recorded::new(rhs, x0);
    let sol = solve_rk45(&mut ode, x0.to_vec(), duration, 0.0, rk45)?;
    Ok(Sampled {
        x: sol.x,
        nfe: sol.nfe,
        steps: sol.accepted,
        path: ode.path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use exact_denoisers::PointSet;

    fn opts() -> Rk45 {
        Rk45 {
            rtol: 1e-6,
            atol: 1e-6,
            max_steps: 100_000,
        }
    }

    #[test]
    fn one_charge_at_the_origin_draws_every_start_to_it() {
        // dx/dz = x/z: x(z) = x(z_max)·z/z_max, so at z_min the point is x0·z_min/z_max, for both anchors.
        for n in [2usize, 20, 64] {
            let field = PoissonField::new(PointSet::new(n, vec![0.0; n]));
            let x0: Vec<f64> = (0..3 * n).map(|i| 50.0 * ((i as f64) * 1.3).sin()).collect();
            for anchor in [Anchor::Z, Anchor::LogZ] {
                let cfg = Backward {
                    anchor,
                    z_max: 40.0,
                    z_min: 1e-3,
                    rk45: opts(),
                };
                let out = sample_backward(&field, &x0, &cfg).unwrap();
                for (a, b) in out.x.iter().zip(&x0) {
                    let want = b * 1e-3 / 40.0;
                    assert!((a - want).abs() < 1e-5 * b.abs().max(1.0), "N = {n}, {anchor:?}: {a} vs {want}");
                }
                assert!(out.nfe > 0 && out.steps > 0 && out.path.len() == out.steps + 1);
                assert_eq!(out.path[0], x0);
            }
        }
    }

    #[test]
    fn without_augmentation_one_charge_also_draws_every_start_to_it() {
        let field = PoissonField::new(PointSet::new(2, vec![0.5, -0.5]));
        let x0 = vec![3.0, 4.0, -10.0, 0.0];
        let out = sample_in_plane(|x| field.in_data_plane(x).direction, 2, &x0, 20.0, &opts()).unwrap();
        // x − y decays as e^{−s}.
        for (row, start) in out.x.chunks(2).zip(x0.chunks(2)) {
            let want = [0.5 + (start[0] - 0.5) * (-20f64).exp(), -0.5 + (start[1] + 0.5) * (-20f64).exp()];
            assert!((row[0] - want[0]).abs() < 1e-6 && (row[1] - want[1]).abs() < 1e-6, "{row:?}");
        }
    }

    #[test]
    fn the_continuous_disk_collapses_every_start_to_its_centre() {
        let x0 = vec![5.0, 0.0, -3.0, 4.0, 0.2, -0.1];
        let out = sample_in_plane(|x| crate::disk::uniform_disk_field(x, 1.0).to_vec(), 2, &x0, 200.0, &opts()).unwrap();
        assert!(out.x.iter().all(|v| v.abs() < 1e-6), "{:?}", out.x);
    }

    #[test]
    fn euler_with_the_exact_z_update_is_exact_for_one_charge() {
        // dx/dz = x/z: each step multiplies x by z_{i+1}/z_i, so after any number of steps x = x0·z_min/z_max.
        let field = PoissonField::new(PointSet::new(3, vec![0.0; 3]));
        let x0 = vec![10.0, -4.0, 2.5, 0.3, 7.0, -1.0];
        for steps in [1, 7, 100] {
            let out = sample_euler(&field, &x0, 40.0, 1e-3, steps).unwrap();
            for (a, b) in out.x.iter().zip(&x0) {
                assert!((a - b * 1e-3 / 40.0).abs() < 1e-12 * b.abs(), "{steps} steps: {a} vs {}", b * 1e-3 / 40.0);
            }
            assert_eq!((out.nfe, out.path.len()), (steps, steps + 1));
        }
    }

    #[test]
    fn euler_converges_to_the_rk45_solution_at_first_order() {
        // Two charges: no closed form, so compare with a tight RK45 solve; halving the step halves the error.
        let field = PoissonField::new(PointSet::new(2, vec![1.0, 0.0, -1.0, 0.5]));
        let x0 = vec![8.0, -3.0, -2.0, 9.0];
        let cfg = Backward {
            anchor: Anchor::LogZ,
            z_max: 20.0,
            z_min: 0.05,
            rk45: Rk45 {
                rtol: 1e-10,
                atol: 1e-10,
                max_steps: 100_000,
            },
        };
        let exact = sample_backward(&field, &x0, &cfg).unwrap().x;
        let error = |steps| {
            let x = sample_euler(&field, &x0, 20.0, 0.05, steps).unwrap().x;
            x.iter().zip(&exact).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
        };
        let (coarse, fine) = (error(200), error(400));
        assert!(coarse < 0.05 && (1.7..2.3).contains(&(coarse / fine)), "errors {coarse} and {fine}");
    }
}
