//! Every sampler against a Gaussian target, whose probability-flow ODE has the closed-form solution
//! x(σ) = μ + (x(σ₀) − μ)·√(s² + σ²)/√(s² + σ₀²); the solver identities of App. A.2.3; Restart's
//! NFE formula against counted evaluations.

use diffusion::Denoiser;
use exact_denoisers::GaussianMixture;
use samplers::{
    ddim::sample_ddim,
    dpm_solver::{sample_dpm_solver2, sample_dpm_solver3, sample_dpm_solver_pp_2m},
    edm_sde::{sample_edm_sde, Churn},
    euler::sample_euler,
    euler_maruyama::sample_euler_maruyama,
    grid::{edm_default, edm_scheme},
    heun::sample_heun,
    restart::{Interval, MainSolver, Restart},
    rk45::{sample_rk45, Rk45},
    Particles,
};
use seeding::Stream;

const MU: [f64; 2] = [1.0, -0.5];
const S2: f64 = 0.25;

fn target() -> GaussianMixture {
    GaussianMixture::new(2, vec![1.0], MU.to_vec(), vec![S2])
}

fn start() -> Vec<f64> {
    vec![3.0, 2.0, -4.0, 0.5]
}

fn exact(x0: &[f64], sigma0: f64, sigma: f64) -> Vec<f64> {
    let f = ((S2 + sigma * sigma) / (S2 + sigma0 * sigma0)).sqrt();
    x0.iter().enumerate().map(|(i, v)| MU[i % 2] + (v - MU[i % 2]) * f).collect()
}

type Sampler = fn(&dyn Denoiser, &mut Particles, &[f64]) -> anyhow::Result<()>;

fn error(sampler: Sampler, n: usize) -> f64 {
    let grid = edm_scheme(0.1, 10.0, n + 1, 7.0);
    let mut p = Particles::from_states(2, start(), Stream::new(0));
    sampler(&target(), &mut p, &grid).unwrap();
    let want = exact(&start(), 10.0, 0.1);
    p.x.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

fn order(sampler: Sampler) -> f64 {
    let (e1, e2) = (error(sampler, 12), error(sampler, 24));
    (e1 / e2).log2()
}

#[test]
fn deterministic_solvers_converge_at_their_order() {
    let dpm2: Sampler = |d, p, g| sample_dpm_solver2(d, p, g, 0.5);
    for (name, s, want) in [
        ("euler", sample_euler as Sampler, 1.0),
        ("ddim", sample_ddim, 1.0),
        ("heun", sample_heun, 2.0),
        ("dpm-solver-2", dpm2, 2.0),
        ("dpm-solver-3", sample_dpm_solver3, 3.0),
        ("dpm-solver++(2m)", sample_dpm_solver_pp_2m, 2.0),
    ] {
        let got = order(s);
        assert!((got - want).abs() < 0.35, "{name}: observed order {got:.3}, expected {want}");
    }
}

#[test]
fn ddim_is_euler_and_heun_is_dpm_solver_2_with_r1_one() {
    // App. A.2.3, on a two-mode mixture so the score is not linear.
    let mix = GaussianMixture::new(2, vec![0.3, 0.7], vec![1.0, 1.0, -1.0, 0.0], vec![0.05, 0.1]);
    let grid = edm_default(18);
    let run = |s: Sampler| {
        let mut p = Particles::from_prior(64, 2, 80.0, Stream::new(3));
        s(&mix, &mut p, &grid).unwrap();
        (p.x, p.nfe)
    };
    let (a, na) = run(sample_euler);
    let (b, nb) = run(sample_ddim);
    assert_eq!(na, nb);
    assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + x.abs())));
    let (c, nc) = run(sample_heun);
    let (d, nd) = run(|d, p, g| sample_dpm_solver2(d, p, g, 1.0));
    assert_eq!(nc, nd);
    assert!(c.iter().zip(&d).all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + x.abs())));
}

#[test]
fn rk45_meets_its_tolerance() {
    let mut p = Particles::from_states(2, start(), Stream::new(0));
    let steps = sample_rk45(
        &target(),
        &mut p,
        10.0,
        0.1,
        &Rk45 {
            rtol: 1e-6,
            atol: 1e-6,
            max_steps: 10_000,
        },
    )
    .unwrap();
    let want = exact(&start(), 10.0, 0.1);
    let err = p.x.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(err < 1e-4, "error {err}");
    assert!(steps > 0 && p.nfe > 6 * steps, "{steps} steps, {} NFE", p.nfe);
}

fn moments(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (m, x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0))
}

#[test]
fn stochastic_samplers_reach_the_target_distribution() {
    let g = GaussianMixture::new(1, vec![1.0], vec![1.0], vec![S2]);
    let n = 20_000;
    let grid = edm_default(64);
    let restart = Restart {
        main_grid: edm_default(32),
        intervals: vec![Interval {
            n_restart: 6,
            k: 3,
            t_min: 0.3,
            t_max: 1.0,
        }],
        main: MainSolver::Heun,
        s_noise: 1.0,
        gamma: 0.0,
        rho: 7.0,
        jump: samplers::jump::Jump::Gaussian,
    };
    type Run<'a> = (&'a str, Box<dyn Fn(&mut Particles) + 'a>);
    let runs: Vec<Run> = vec![
        (
            "euler-maruyama",
            Box::new(|p: &mut Particles| sample_euler_maruyama(&g, p, &edm_default(400), 1.0).unwrap()),
        ),
        (
            "edm-sde",
            Box::new(|p: &mut Particles| {
                sample_edm_sde(
                    &g,
                    p,
                    &grid,
                    &Churn {
                        s_churn: 40.0,
                        s_tmin: 0.05,
                        s_tmax: 50.0,
                        s_noise: 1.0,
                    },
                )
                .unwrap()
            }),
        ),
        ("restart", Box::new(|p: &mut Particles| restart.sample(&g, p).unwrap())),
    ];
    for (name, run) in runs {
        let mut p = Particles::from_prior(n, 1, 80.0, Stream::new(9));
        run(&mut p);
        let (m, v) = moments(&p.x);
        // Standard errors: 0.5/√n ≈ 0.0035 for the mean, 0.25·√(2/n) ≈ 0.0025 for the variance.
        assert!((m - 1.0).abs() < 0.02 && (v - S2).abs() < 0.02, "{name}: mean {m}, variance {v}");
    }
}

#[test]
fn restart_without_iterations_is_heun_and_counts_match_the_formula() {
    let mix = GaussianMixture::new(2, vec![0.3, 0.7], vec![1.0, 1.0, -1.0, 0.0], vec![0.05, 0.1]);
    let grid = edm_default(18);
    let mut a = Particles::from_prior(16, 2, 80.0, Stream::new(1));
    let mut b = Particles::from_prior(16, 2, 80.0, Stream::new(1));
    sample_heun(&mix, &mut a, &grid).unwrap();
    let r0 = Restart {
        main_grid: grid.clone(),
        intervals: vec![Interval {
            n_restart: 3,
            k: 0,
            t_min: 0.14,
            t_max: 0.30,
        }],
        main: MainSolver::Heun,
        s_noise: 1.0,
        gamma: 0.0,
        rho: 7.0,
        jump: samplers::jump::Jump::Gaussian,
    };
    r0.sample(&mix, &mut b).unwrap();
    assert_eq!(a.x, b.x);
    assert_eq!(a.nfe, 35);

    for (n_main, ivs, main) in [
        (
            18,
            vec![Interval {
                n_restart: 3,
                k: 2,
                t_min: 0.14,
                t_max: 0.30,
            }],
            MainSolver::Heun,
        ),
        (
            36,
            vec![
                Interval {
                    n_restart: 10,
                    k: 3,
                    t_min: 19.35,
                    t_max: 40.79,
                },
                Interval {
                    n_restart: 7,
                    k: 25,
                    t_min: 0.06,
                    t_max: 0.30,
                },
            ],
            MainSolver::Heun,
        ),
        (
            30,
            vec![Interval {
                n_restart: 10,
                k: 2,
                t_min: 0.1,
                t_max: 2.0,
            }],
            MainSolver::Euler,
        ),
        (
            8,
            vec![Interval {
                n_restart: 3,
                k: 1,
                t_min: 0.06,
                t_max: 0.3,
            }],
            MainSolver::DpmSolver3,
        ),
    ] {
        let r = Restart {
            main_grid: edm_default(n_main),
            intervals: ivs.clone(),
            main,
            s_noise: 1.0,
            gamma: 0.05,
            rho: 7.0,
            jump: samplers::jump::Jump::Gaussian,
        };
        let mut p = Particles::from_prior(4, 2, 80.0, Stream::new(2));
        r.sample(&mix, &mut p).unwrap();
        assert_eq!(p.nfe, Restart::nfe_formula(n_main, &ivs, main), "{n_main} {ivs:?} {main:?}");
    }
}

#[test]
fn a_sample_does_not_depend_on_its_batch() {
    let g = target();
    let grid = edm_default(20);
    let mut small = Particles::from_prior(3, 2, 80.0, Stream::new(5));
    let mut large = Particles::from_prior(9, 2, 80.0, Stream::new(5));
    sample_euler_maruyama(&g, &mut small, &grid, 1.0).unwrap();
    sample_euler_maruyama(&g, &mut large, &grid, 1.0).unwrap();
    assert_eq!(small.x[..], large.x[..6]);
}

#[test]
fn divergence_names_sampler_step_and_sigma() {
    struct Exploding;
    impl Denoiser for Exploding {
        fn dim(&self) -> usize {
            1
        }
        fn denoise(&self, x: &[f64], _sigma: f64, out: &mut [f64]) -> anyhow::Result<()> {
            out.iter_mut().zip(x).for_each(|(o, v)| *o = if v.abs() > 5.0 { f64::NAN } else { -1e3 * v });
            Ok(())
        }
    }
    let mut p = Particles::from_states(1, vec![1.0], Stream::new(0));
    let e = sample_heun(&Exploding, &mut p, &edm_default(10)).unwrap_err().to_string();
    assert!(e.contains("heun") && e.contains("step") && e.contains("σ ="), "{e}");
}
