//! DisCo-Diff's network against closed forms and independent computations: the ring decoder with
//! H ≡ 0 is the exact denoiser of N(F(z), σ₁² I), guidance at w = 0 is the conditional model bit for
//! bit, dropout 0 never reaches ∅, the KL penalty is the Gaussian closed form, the score Jacobian
//! matches finite differences, and end-to-end training lowers the loss and makes the encoder name
//! the components of well-separated data.

use diffusion::Denoiser;
use disco_diff::geometry::mlp_score_jacobian;
use disco_diff::{DiscoConfig, DiscoDiff, Guided, Latent};
use exact_denoisers::GaussianMixture;
use rand::Rng as _;
use training::{Mlp, MlpConfig, Network, NetworkConfig, TrainConfig, TrainOptions, Trainer, TrainingSet};

fn ring_config(values: usize) -> DiscoConfig {
    DiscoConfig::ring(
        MlpConfig {
            hidden: 32,
            sigma_data: 1.5,
            ..MlpConfig::new(2)
        },
        values,
        0.2,
    )
}

/// The network with the named parameters replaced.
fn with(net: &DiscoDiff, edit: impl Fn(&str, &mut Vec<f32>)) -> DiscoDiff {
    let mut values = net.values().unwrap();
    for (name, v) in net.names().iter().zip(values.iter_mut()) {
        edit(name, v);
    }
    DiscoDiff::from_values(net.config(), values).unwrap()
}

/// Four clusters of std 0.1 at (±2, ±2), `n` points, with their labels.
fn clusters(n: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
    let centres = [[2.0, 2.0], [-2.0, 2.0], [-2.0, -2.0], [2.0, -2.0]];
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let mut rng = seeding::Stream::new(seed).child(i as u64).rng();
        let c = rng.random_range(0..4);
        let z = seeding::normals(&mut rng, 2);
        x.extend([centres[c][0] + 0.1 * z[0], centres[c][1] + 0.1 * z[1]]);
        labels.push(c);
    }
    (x, labels)
}

#[test]
fn ring_decoder_with_zero_residual_is_the_exact_gaussian_denoiser() {
    let cfg = ring_config(3);
    let net = DiscoDiff::init(&cfg, seeding::Stream::new(1)).unwrap();
    let means = [[3.0, 0.0], [-1.5, 2.6], [0.4, -2.9]];
    let null = [0.7, -0.2];
    let net = with(&net, |name, v| {
        if name.starts_with("decoder.out.") {
            v.fill(0.0); // H_θ's output layer: H ≡ 0
        }
        if name == "embedding.0" {
            *v = means.iter().flatten().chain(&null).map(|&m| m as f32).collect();
        }
    });
    let x = [0.3, -1.2, 2.9, 0.4, -4.0, 1.0];
    for sigma in [0.002, 0.05, 0.2, 1.0, 7.0, 80.0] {
        for (k, mu) in means.iter().enumerate() {
            let exact = GaussianMixture::new(2, vec![1.0], mu.to_vec(), vec![0.04]);
            let mut want = [0.0; 6];
            exact.denoise(&x, sigma, &mut want).unwrap();
            let got = net.denoise_rows(&x, &[sigma; 3], &vec![Latent::Discrete(vec![k]); 3]).unwrap();
            for (g, w) in got.iter().zip(&want) {
                // F(z) enters in f32.
                assert!((g - w).abs() < 1e-6 * (1.0 + w.abs()), "σ = {sigma}, z = {k}: {got:?} vs {want:?}");
            }
        }
        // ∅ has its own learned F(∅).
        let exact = GaussianMixture::new(2, vec![1.0], null.to_vec(), vec![0.04]);
        let mut want = [0.0; 6];
        exact.denoise(&x, sigma, &mut want).unwrap();
        let mut got = [0.0; 6];
        net.denoise(&x, sigma, &mut got).unwrap();
        assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-6 * (1.0 + w.abs())), "∅ at σ = {sigma}");
    }
    let mut out = [0.0; 6];
    net.denoise(&x, 0.0, &mut out).unwrap();
    assert_eq!(out, x);
}

#[test]
fn guidance_zero_is_the_conditional_model_and_the_scale_extrapolates() {
    let cfg = DiscoConfig::discrete(
        MlpConfig {
            hidden: 16,
            ..MlpConfig::new(3)
        },
        2,
        4,
        5,
    );
    let net = DiscoDiff::init(&cfg, seeding::Stream::new(2)).unwrap();
    let x = [0.1, -0.5, 0.9, 1.2, 0.0, -0.3];
    let z = vec![Latent::Discrete(vec![1, 3]), Latent::Discrete(vec![0, 2])];
    let conditional = net.denoise_rows(&x, &[0.7; 2], &z).unwrap();
    let mut out = [0.0; 6];
    Guided::new(&net, z.clone(), 0.0).unwrap().denoise(&x, 0.7, &mut out).unwrap();
    assert_eq!(out.to_vec(), conditional);
    let mut unconditional = [0.0; 6];
    net.denoise(&x, 0.7, &mut unconditional).unwrap();
    assert_ne!(unconditional.to_vec(), conditional);
    // w = 2: D(z) + 2 (D(z) − D(∅)); w = −1: the unconditional model.
    Guided::new(&net, z.clone(), 2.0).unwrap().denoise(&x, 0.7, &mut out).unwrap();
    for i in 0..6 {
        assert!((out[i] - (3.0 * conditional[i] - 2.0 * unconditional[i])).abs() < 1e-12);
    }
    Guided::new(&net, z.clone(), -1.0).unwrap().denoise(&x, 0.7, &mut out).unwrap();
    assert!(out.iter().zip(&unconditional).all(|(a, b)| (a - b).abs() < 1e-12));
    // The two discrete latents both matter.
    let other = net
        .denoise_rows(&x, &[0.7; 2], &[Latent::Discrete(vec![1, 0]), Latent::Discrete(vec![0, 2])])
        .unwrap();
    assert_ne!(other[..3], conditional[..3]);
    assert_eq!(other[3..], conditional[3..]);
    // Bad latents are refused with the parameter named.
    let err = net
        .denoise_rows(&x, &[0.7; 2], &[Latent::Discrete(vec![1, 4]), Latent::Null])
        .unwrap_err()
        .to_string();
    assert!(err.contains("k = 4"), "{err}");
    let err = net
        .denoise_rows(&x, &[0.7; 2], &[Latent::Continuous(vec![0.0]), Latent::Null])
        .unwrap_err()
        .to_string();
    assert!(err.contains("continuous"), "{err}");
    assert!(Guided::new(&net, z, f64::NAN).is_err());
}

#[test]
fn dropout_zero_never_uses_the_null_embedding() {
    let (data, _) = clusters(64, 3);
    let x: Vec<f64> = data.iter().map(|v| v + 0.3).collect();
    let sigma = vec![0.5; 64];
    let stream = seeding::Stream::new(11);
    let output = |dropout: f64, null: f32| -> Vec<f32> {
        let cfg = DiscoConfig { dropout, ..ring_config(4) };
        let net = DiscoDiff::init(&cfg, seeding::Stream::new(4)).unwrap();
        let net = with(&net, |name, v| {
            if name == "embedding.0" {
                let n = v.len();
                v[n - 2..].fill(null); // F(∅)
            }
        });
        let out = net.denoise_training(&x, &sigma, &data, stream).unwrap();
        assert!(out.penalty.is_none());
        out.denoised.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    };
    assert_eq!(output(0.0, 0.0), output(0.0, 9.0));
    assert_ne!(output(0.5, 0.0), output(0.5, 9.0));
}

#[test]
fn the_kl_penalty_is_the_gaussian_closed_form() {
    let beta = 0.3;
    let cfg = DiscoConfig::continuous(
        MlpConfig {
            hidden: 16,
            ..MlpConfig::new(2)
        },
        3,
        beta,
    );
    let net = DiscoDiff::init(&cfg, seeding::Stream::new(6)).unwrap();
    let (data, _) = clusters(32, 5);
    let out = net.denoise_training(&data, &[1.0; 32], &data, seeding::Stream::new(1)).unwrap();
    let penalty = out.penalty.expect("a continuous latent has a KL penalty").to_scalar::<f32>().unwrap() as f64;
    let enc = net.encoder_distribution(&data).unwrap();
    let kl: f64 = enc
        .chunks(6)
        .map(|r| (0..3).map(|j| 0.5 * (r[j] * r[j] + r[3 + j].exp() - 1.0 - r[3 + j])).sum::<f64>())
        .sum::<f64>()
        / 32.0;
    assert!((penalty - beta * kl).abs() < 1e-5 * (1.0 + kl), "{penalty} vs {}", beta * kl);
    // Oracle latents are the encoder's means.
    let z = net.encode(&data, 0.01, seeding::Stream::new(2)).unwrap();
    assert_eq!(z[1], Latent::Continuous(enc[6..9].to_vec()));
}

#[test]
fn score_jacobian_matches_finite_differences_of_the_denoiser() {
    let net = DiscoDiff::init(&ring_config(3), seeding::Stream::new(7)).unwrap();
    let dm = Mlp::new(&MlpConfig::new(2), seeding::Stream::new(8)).unwrap();
    let x = [0.5, -1.0, 2.0, 1.5];
    let z = vec![Latent::Discrete(vec![2]); 2];
    for t in [0.5, 2.0] {
        // ∇ₓG = (∇ₓD − I)/t², by central differences of D in f64 around f32 networks.
        let fd = |f: &dyn Fn(&[f64]) -> Vec<f64>| -> Vec<f64> {
            let h = 1e-3;
            (0..2)
                .map(|r| {
                    let mut m = [0.0; 4];
                    for j in 0..2 {
                        let (mut up, mut down) = (x, x);
                        up[2 * r + j] += h;
                        down[2 * r + j] -= h;
                        let (a, b) = (f(&up), f(&down));
                        for i in 0..2 {
                            let dd = (a[2 * r + i] - b[2 * r + i]) / (2.0 * h);
                            m[2 * i + j] = (dd - if i == j { 1.0 } else { 0.0 }) / (t * t);
                        }
                    }
                    m.iter().map(|v| v * v).sum()
                })
                .collect()
        };
        let want = fd(&|y| net.denoise_rows(y, &[t; 2], &z).unwrap());
        let got = net.score_jacobian(&x, t, &z).unwrap();
        let want_dm = fd(&|y| {
            let mut o = vec![0.0; 4];
            dm.denoise(y, t, &mut o).unwrap();
            o
        });
        let got_dm = mlp_score_jacobian(&dm, &x, t).unwrap();
        for r in 0..2 {
            assert!((got.whole[r] - want[r]).abs() < 1e-3 * want[r], "t = {t}: {:?} vs {want:?}", got.whole);
            assert!(
                (got_dm.whole[r] - want_dm[r]).abs() < 1e-3 * want_dm[r],
                "t = {t}: {:?} vs {want_dm:?}",
                got_dm.whole
            );
            assert!(got.network[r] >= 0.0 && got.network[r] != got.whole[r]);
        }
    }
}

#[test]
fn checkpoints_resume_bit_for_bit() {
    let (data, _) = clusters(200, 1);
    let set = TrainingSet::new(2, data).unwrap();
    let cfg = ring_config(4);
    let train = TrainConfig {
        steps: 6,
        batch: 32,
        ..TrainConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::<DiscoConfig>::new(&cfg, &train, &set).unwrap();
    t.run_until(3).unwrap();
    t.save(dir.path()).unwrap();
    let mut resumed = Trainer::<DiscoConfig>::open(dir.path(), &cfg, &train, &set).unwrap();
    resumed.run_until(6).unwrap();
    t.run_until(6).unwrap();
    assert_eq!(t.net().values().unwrap(), resumed.net().values().unwrap());
    assert_eq!(cfg.parameter_layout().len(), t.net().names().len());
}

#[test]
fn training_lowers_the_loss_and_the_encoder_names_the_components() {
    let (data, _) = clusters(2000, 2);
    let set = TrainingSet::new(2, data).unwrap();
    // An over-complete codebook (k = 8 for 4 clusters) and σ drawn around e (P_mean = 1): with
    // k equal to the number of clusters, or EDM's P_mean = −1.2, two clusters often share a value
    // (the relaxation's dead codes; see the fig-4.3 declaration).
    let cfg = DiscoConfig {
        dropout: 0.0,
        ..ring_config(8)
    };
    let train = TrainConfig {
        steps: 1500,
        batch: 128,
        log_every: 100,
        p_mean: 1.0,
        ..TrainConfig::default()
    };
    let trained = training::train(&cfg, &train, &set, &TrainOptions::default()).unwrap();
    let losses = trained.losses.points();
    assert!(losses.last().unwrap().loss < 0.5 * losses[0].loss, "{losses:?}");
    // Fresh labelled points: each latent value should hold one cluster (purity), and each cluster
    // should have a value of its own.
    let (fresh, labels) = clusters(1000, 99);
    let z = trained.ema.encode(&fresh, 0.01, seeding::Stream::new(5)).unwrap();
    let mut counts = [[0usize; 4]; 8];
    for (l, c) in z.iter().zip(&labels) {
        let Latent::Discrete(v) = l else { panic!("discrete") };
        counts[v[0]][*c] += 1;
    }
    let purity = counts.iter().map(|row| *row.iter().max().unwrap()).sum::<usize>() as f64 / 1000.0;
    assert!(purity > 0.95, "purity {purity}: {counts:?}");
    let owners: std::collections::BTreeSet<usize> = counts
        .iter()
        .filter(|row| row.iter().sum::<usize>() > 0)
        .map(|row| (0..4).max_by_key(|&c| row[c]).unwrap())
        .collect();
    assert_eq!(owners.len(), 4, "{counts:?}");
}
