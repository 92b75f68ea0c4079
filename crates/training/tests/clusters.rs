//! A small MLP trained on four 2-D Gaussian clusters: the loss falls to near the Bayes floor (the
//! loss of the exact mixture denoiser), and the trained denoiser maps noisy points back to the clusters.
//!
//! With EDM's weighting λ(σ) = 1/c_out(σ)² the trivial denoiser F_θ = 0 (D = c_skip x) scores
//! exactly `dim` and most of that is irreducible: at σ ≫ σ_data and σ ≪ the cluster width the
//! exact posterior mean cannot do much better. So the large factor to look for is in the excess
//! loss over the Bayes floor, not in the loss itself.

use diffusion::Denoiser;
use exact_denoisers::GaussianMixture;
use seeding::Stream;
use training::{train, EdmPrecond, Mlp, MlpConfig, TrainConfig, TrainOptions, TrainingSet};

const CLUSTER_STD: f64 = 0.05;

fn clusters() -> GaussianMixture {
    let means = vec![0.5, 0.5, 0.5, -0.5, -0.5, 0.5, -0.5, -0.5];
    GaussianMixture::new(2, vec![1.0; 4], means, vec![CLUSTER_STD * CLUSTER_STD; 4])
}

fn sample(gm: &GaussianMixture, n: usize, stream: Stream) -> Vec<f64> {
    let mut rng = stream.rng();
    let mut out = vec![0.0; 2 * n];
    for row in out.chunks_exact_mut(2) {
        let u: f64 = rand::Rng::random(&mut rng);
        let z = seeding::normals(&mut rng, 2);
        gm.sample_with(u, &z, row);
    }
    out
}

/// Mean of λ(σ)‖D(y + σn; σ) − y‖² over EDM's training distribution: 80 draws of σ, each applied
/// (batched) to an equal share of `clean`.
fn edm_loss_of(den: &dyn Denoiser, precond: EdmPrecond, clean: &[f64], stream: Stream) -> f64 {
    let sigmas = training::loss::draw_sigmas(&mut stream.named("sigma").rng(), 80, -1.2, 1.2);
    let noise = seeding::normals(&mut stream.named("noise").rng(), clean.len());
    let rows = clean.len() / 2 / sigmas.len();
    let mut total = 0.0;
    for (k, &sigma) in sigmas.iter().enumerate() {
        let y = &clean[2 * rows * k..2 * rows * (k + 1)];
        let x: Vec<f64> = y.iter().zip(&noise[2 * rows * k..]).map(|(y, n)| y + sigma * n).collect();
        let mut d = vec![0.0; x.len()];
        den.denoise(&x, sigma, &mut d).unwrap();
        total += precond.loss_weight(sigma) * d.iter().zip(y).map(|(d, y)| (d - y) * (d - y)).sum::<f64>();
    }
    total / (rows * sigmas.len()) as f64
}

#[test]
fn plain_mlp_reaches_the_bayes_floor_and_denoises_back_to_the_clusters() {
    check_on_clusters(&MlpConfig::new(2));
}

#[test]
fn residual_mlp_reaches_the_bayes_floor_and_denoises_back_to_the_clusters() {
    check_on_clusters(&MlpConfig {
        residual: true,
        layers: 2,
        ..MlpConfig::new(2)
    });
}

fn check_on_clusters(model: &MlpConfig) {
    let gm = clusters();
    let root = Stream::new(11);
    let data = TrainingSet::new(2, sample(&gm, 4096, root.named("train set"))).unwrap();
    let cfg = TrainConfig {
        steps: 1500,
        batch: 256,
        lr: 2e-3,
        ema_decay: 0.99,
        log_every: 100,
        seed: 3,
        ..TrainConfig::default()
    };
    let start = std::time::Instant::now();
    let trained = train(model, &cfg, &data, &TrainOptions::default()).unwrap();
    let elapsed = start.elapsed().as_secs_f64();

    let precond = EdmPrecond { sigma_data: model.sigma_data };
    let test = sample(&gm, 8000, root.named("test set"));
    let eval = root.named("eval");
    let untrained = Mlp::new(model, Stream::new(cfg.seed).named("init")).unwrap();
    let initial = edm_loss_of(&untrained, precond, &test, eval);
    let trained_loss = edm_loss_of(&trained.ema, precond, &test, eval);
    let floor = edm_loss_of(&gm, precond, &test, eval);
    let points = trained.losses.points();
    let (first, last) = (points[0].loss, points[points.len() - 1].loss);
    println!(
        "{} body: {elapsed:.2} s for {} steps; held-out loss: untrained {initial:.4}, trained (EMA) {trained_loss:.4}, exact mixture {floor:.4}; \
         logged window losses {first:.4} → {last:.4}",
        if model.residual { "residual" } else { "plain" },
        cfg.steps
    );
    let excess_ratio = (initial - floor) / (trained_loss - floor).max(1e-12);
    println!(
        "excess loss over the floor: {:.4} → {:.4} ({excess_ratio:.0}×)",
        initial - floor,
        trained_loss - floor
    );
    assert!(
        trained_loss < 1.03 * floor,
        "trained loss {trained_loss} not within 3 % of the Bayes floor {floor}"
    );
    assert!(excess_ratio > 20.0, "excess loss fell only {excess_ratio}×");
    assert!(first > 1.3 * last, "logged loss fell only from {first} to {last}");

    // Noisy points at σ = 0.2 (4× the cluster width, below the cluster spacing) are denoised back
    // near their cluster, as the exact posterior mean does.
    let sigma = 0.2;
    let clean = sample(&gm, 2000, root.named("denoise"));
    let noise = seeding::normals(&mut root.named("denoise noise").rng(), clean.len());
    let noisy: Vec<f64> = clean.iter().zip(&noise).map(|(y, n)| y + sigma * n).collect();
    let mut net = vec![0.0; noisy.len()];
    let mut exact = vec![0.0; noisy.len()];
    trained.ema.denoise(&noisy, sigma, &mut net).unwrap();
    gm.denoise(&noisy, sigma, &mut exact).unwrap();
    let nearest = |p: &[f64]| {
        (0..4)
            .map(|k| exact_denoisers::squared_distance(p, gm.mean(k)).sqrt())
            .fold(f64::INFINITY, f64::min)
    };
    let mean = |v: &[f64], f: &dyn Fn(&[f64]) -> f64| v.chunks_exact(2).map(f).sum::<f64>() / (v.len() / 2) as f64;
    let noisy_dist = mean(&noisy, &nearest);
    let net_dist = mean(&net, &nearest);
    let gap = net
        .chunks_exact(2)
        .zip(exact.chunks_exact(2))
        .map(|(a, b)| exact_denoisers::squared_distance(a, b).sqrt())
        .sum::<f64>()
        / 2000.0;
    println!("σ = {sigma}: mean distance to the nearest centre: noisy {noisy_dist:.4}, denoised {net_dist:.4}; mean |D_θ − D*| = {gap:.4}");
    assert!(
        net_dist < 0.25 * noisy_dist && net_dist < 0.06,
        "denoised points are {net_dist} from the centres (noisy: {noisy_dist})"
    );
    assert!(gap < 0.03, "trained denoiser is {gap} from the exact one");
}
