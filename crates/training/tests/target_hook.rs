//! The regression-target hook: the default target is the clean batch, and a replacement target
//! sees a consistent batch and changes what is learned.

use training::{MlpConfig, TargetBatch, TrainConfig, Trainer, TrainingSet};

#[test]
fn target_hook_sees_the_batch_and_replaces_the_target() {
    let points = seeding::normals(&mut seeding::Stream::new(2).rng(), 2 * 300);
    let data = TrainingSet::new(2, points).unwrap();
    let model = MlpConfig {
        hidden: 16,
        ..MlpConfig::new(2)
    };
    let cfg = TrainConfig {
        batch: 32,
        ..TrainConfig::default()
    };
    let run = |t: Trainer| -> Vec<Vec<f32>> {
        let mut t = t;
        t.run_until(5).unwrap();
        t.net().values().unwrap()
    };
    let plain = run(Trainer::new(&model, &cfg, &data).unwrap());

    let clean = |b: &TargetBatch| -> anyhow::Result<Vec<f32>> {
        assert_eq!((b.clean.len(), b.noisy.len(), b.sigma.len(), b.dim), (64, 64, 32, 2));
        // x = y + σn with ln σ ~ N(−1.2, 1.2²): the noise per row is finite and scaled by σ.
        for ((y, x), s) in b.clean.chunks(2).zip(b.noisy.chunks(2)).zip(b.sigma) {
            assert!(*s > 0.0 && (x[0] - y[0]).abs() < 10.0 * s && (x[1] - y[1]).abs() < 10.0 * s);
        }
        Ok(b.clean.iter().map(|&v| v as f32).collect())
    };
    assert_eq!(run(Trainer::new(&model, &cfg, &data).unwrap().with_target(&clean)), plain);

    let zero = |b: &TargetBatch| -> anyhow::Result<Vec<f32>> { Ok(vec![0.0; b.clean.len()]) };
    assert_ne!(run(Trainer::new(&model, &cfg, &data).unwrap().with_target(&zero)), plain);

    let short = |_: &TargetBatch| -> anyhow::Result<Vec<f32>> { Ok(vec![0.0; 3]) };
    let mut t = Trainer::new(&model, &cfg, &data).unwrap().with_target(&short);
    let err = t.train_step().unwrap_err().to_string();
    assert!(err.contains("target function gave 3 values"), "{err}");
}
