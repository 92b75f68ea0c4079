//! `cargo xtask bench`: throughput of the samplers on the exact score of the thesis's 2000-point
//! 20-D set (§5.4.1), the wall time of an exact 2000 × 2000 W1, and the cost of particle
//! guidance's pairwise potential (O(n²d) per step) and of one fig-b.20 cell. Timings live here, not in tests.

use anyhow::Result;
use diffusion::Denoiser;
use exact_denoisers::PointSet;
use samplers::grid::edm_default;
use samplers::spec::SamplerSpec;
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

/// Runs the benchmarks (all, or the group named by `only`) and prints one line each.
pub fn bench(only: Option<&str>) -> Result<()> {
    match only {
        None => {
            samplers_bench()?;
            particle_guidance_bench()?;
            training_bench()
        }
        Some("samplers") => samplers_bench(),
        Some("particle-guidance") => particle_guidance_bench(),
        Some("training") => training_bench(),
        Some(other) => anyhow::bail!("unknown benchmark group `{other}`: the groups are `samplers`, `particle-guidance` and `training`"),
    }
}

/// Sampler throughput on the exact and the MLP score, and exact W1.
fn samplers_bench() -> Result<()> {
    let n = 2000;
    let data = PointSet::new(20, datasets::restart_mixture_20d(n, 0));
    println!("{} rayon threads", rayon::current_num_threads());
    let run_on = |den: &dyn Denoiser, f: &dyn Fn(&dyn Denoiser, &mut Particles) -> Result<()>| -> Result<usize> {
        let mut p = Particles::from_prior(n, 20, 80.0, Stream::new(0));
        f(den, &mut p)?;
        Ok(p.nfe)
    };
    let run = |f: &dyn Fn(&dyn Denoiser, &mut Particles) -> Result<()>| run_on(&data, f);
    let grid = edm_default(18);
    report(
        "Heun, 18 steps (NFE 35), exact 2000-point score",
        n,
        time(3, || run(&|d, p| sample_heun(d, p, &grid)))?,
    );
    let restart = SamplerSpec::parse("restart 18 3 2 0.14 0.30")?;
    report(
        "Restart {18; 3, 2, 0.14, 0.30} (NFE 43), target < 0.5 s",
        n,
        time(3, || run(&|d, p| restart.sample(d, p)))?,
    );
    // The samples' bits, hashed: compare runs with different RAYON_NUM_THREADS (they must agree).
    let mut p = Particles::from_prior(n, 20, 80.0, Stream::new(0));
    restart.sample(&data, &mut p)?;
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for v in &p.x {
        hash = (hash ^ v.to_bits()).wrapping_mul(0x0100_0000_01b3);
    }
    println!("{:<58} {hash:016x}", "  its 2000 samples, FNV-1a hash of the bits");
    let em = edm_default(100);
    report("Euler–Maruyama, 100 steps", n, time(3, || run(&|d, p| sample_euler_maruyama(d, p, &em, 1.0)))?);
    // The MLP of the Restart experiments (four layers of width 64); its cost does not depend on
    // the weights, so an untrained one is timed.
    let mlp = training::Mlp::new(&training::MlpConfig::new(20), Stream::new(0))?;
    report(
        "Heun, 18 steps (NFE 35), MLP 4×64",
        n,
        time(3, || run_on(&mlp, &|d, p| sample_heun(d, p, &grid)))?,
    );
    report(
        "Restart {18; 3, 2, 0.14, 0.30} (NFE 43), MLP 4×64",
        n,
        time(3, || run_on(&mlp, &|d, p| restart.sample(d, p)))?,
    );
    let mut samples = Particles::from_prior(n, 20, 80.0, Stream::new(1));
    sample_heun(&data, &mut samples, &grid)?;
    let mut w1 = 0.0;
    let (secs, _) = time(3, || {
        w1 = metrics::w1_exact(&samples.x, data.points(), 20).distance;
        Ok(0)
    })?;
    println!("{:<58} {secs:>8.3} s  (W1 = {w1:.4})", "exact W1 by assignment, 2000 × 2000 in 20-D");
    // Samples that do not sit on the data points (as a trained model's do) make a harder
    // assignment: the data plus N(0, 0.3²) noise.
    let mut noisy = Particles::from_states(20, data.points().to_vec(), Stream::new(2));
    noisy.add_noise(0.3);
    let (secs, _) = time(3, || {
        w1 = metrics::w1_exact(&noisy.x, data.points(), 20).distance;
        Ok(0)
    })?;
    println!("{:<58} {secs:>8.3} s  (W1 = {w1:.4})", "  the same, samples off the data (data + 0.3·noise)");
    Ok(())
}

/// U-Net training throughput (images/s) on the digits and the LFW faces, in one pass and with the
/// batch in two parts on the two cores, the Stable Target Field's overhead per step at n = 1024
/// (its target alone, and a whole step against DSM's), and the
/// U-Net's sampling throughput (images·NFE/s).
fn training_bench() -> Result<()> {
    use training::{Network, TrainConfig, Trainer, TrainingSet, UNet, UNetConfig};
    let digits = datasets::digits(&datasets::root())?.rows_f64()?;
    let faces = datasets::lfw(&datasets::root())?.rows_f64()?;
    let batch = 128;
    for (name, rows, side, base) in [("digits 8×8", &digits, 8, 16), ("digits 8×8", &digits, 8, 32), ("LFW 25×25", &faces, 25, 16)] {
        let dim = side * side;
        let set = TrainingSet::new(dim, rows.clone())?;
        let model = UNetConfig::new(side, side, base);
        let stf = training::stf_target(stable_target::StfTarget::new(dim, rows.clone(), 1024)?);
        let runs = [
            ("DSM", None, 1),
            ("DSM, 2 parts", None, 2),
            ("STF n = 1024, 2 parts", Some(&stf as &training::TargetFn), 2),
        ];
        for (objective, target, parts) in runs {
            let cfg = TrainConfig {
                batch,
                parts,
                ..TrainConfig::default()
            };
            let mut trainer = Trainer::new(&model, &cfg, &set)?;
            if let Some(t) = target {
                trainer = trainer.with_target(t);
            }
            trainer.run_until(3)?;
            let steps = 20;
            let (secs, _) = time(1, || {
                let to = trainer.step() + steps;
                trainer.run_until(to)?;
                Ok(0)
            })?;
            println!(
                "{:<58} {:>8.1} ms/step {:>8.0} images/s",
                format!("U-Net base {base}, {name}, batch {batch}, {objective}"),
                secs / steps as f64 * 1e3,
                (steps as usize * batch) as f64 / secs
            );
        }
        // The target alone: n = 1024 reference images per batch of 128, log-space softmax weights.
        let target = stable_target::StfTarget::new(dim, rows.clone(), 1024)?;
        let clean: Vec<f64> = rows[..batch * dim].to_vec();
        let noisy: Vec<f64> = clean.iter().map(|v| v + 0.5).collect();
        let (secs, _) = time(5, || {
            std::hint::black_box(target.target(&clean, &noisy, &vec![0.5; batch], &mut Stream::new(1).rng())?);
            Ok(0)
        })?;
        println!("{:<58} {:>8.1} ms", format!("  STF target alone, n = 1024, {name}, batch {batch}"), secs * 1e3);
        let net = UNet::init(&model, Stream::new(0))?;
        let n = 2048;
        report(
            &format!("Heun, 18 steps (NFE 35), U-Net base {base}, {name}"),
            n,
            time(1, || {
                let mut p = Particles::from_prior(n, dim, 80.0, Stream::new(0));
                sample_heun(&net, &mut p, &edm_default(18))?;
                Ok(p.nfe)
            })?,
        );
    }
    Ok(())
}

/// The pairwise RBF repulsion of one set of n particles (O(n²d)) for n up to 256, and one cell of
/// fig-b.20 (100 sets of 10 particles, 200 steps) split into its denoiser and its repulsion.
fn particle_guidance_bench() -> Result<()> {
    use particle_guidance::{geometric_variance_grid, sample_pg, Angular, Bandwidth, Kernel, ParticleGuidance, Scheme};
    for dim in [2, 64] {
        for n in [8, 32, 128, 256] {
            let set = seeding::normals(&mut Stream::new(3).rng(), n * dim);
            let reps = (2_000_000 / (n * n * dim)).max(1);
            let kernel = Kernel::Rbf(Bandwidth::MedianPaper);
            let (secs, _) = time(3, || {
                for _ in 0..reps {
                    std::hint::black_box(kernel.repulsion(std::hint::black_box(&set), dim, 1.0));
                }
                Ok(0)
            })?;
            let per = secs / reps as f64;
            println!(
                "{:<58} {:>8.3} µs  {:>6.2} ns per pair·dim",
                format!("RBF repulsion + median bandwidth, n = {n}, d = {dim}"),
                per * 1e6,
                per * 1e9 / (n * n * dim) as f64
            );
        }
    }
    let k = 10;
    let ring = exact_denoisers::GaussianMixture::new(
        2,
        vec![1.0; k],
        (0..k)
            .flat_map(|j| {
                let a = std::f64::consts::TAU * j as f64 / k as f64;
                [a.cos(), a.sin()]
            })
            .collect(),
        vec![0.005; k],
    );
    let grid = geometric_variance_grid(1e-3, 1.0, 200);
    let radial = Kernel::Radial {
        bandwidth: Bandwidth::Sigma {
            scale: std::f64::consts::PI,
            power: 1.0,
        },
        apply: Angular::Rotation,
    };
    let euclid = Kernel::Rbf(Bandwidth::Sigma { scale: 1.0, power: 1.0 });
    for (name, kernel, alpha) in [("no guidance", euclid, 0.0), ("Euclidean RBF", euclid, 1.0), ("radial", radial, 1.0)] {
        let pg = ParticleGuidance::constant(kernel, alpha, 10);
        report(
            &format!("fig-b.20 cell (1000 particles, 200 steps), {name}"),
            1000,
            time(3, || {
                let mut p = Particles::from_prior(1000, 2, 1.0, Stream::new(4));
                sample_pg(&ring, &mut p, &grid, &pg, Scheme::notebook(0.1))?;
                Ok(p.nfe)
            })?,
        );
    }
    Ok(())
}
