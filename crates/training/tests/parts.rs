//! A batch split into parts: the parts' losses and gradients sum to those of the whole batch,
//! and `config.json` (hence every cache key) of a one-part run is what it was before parts existed.

use training::{MlpConfig, TrainConfig, Trainer, TrainingSet};

fn relative_error(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    let (mut diff, mut norm) = (0.0, 0.0);
    for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
        diff += (*x as f64 - *y as f64).powi(2);
        norm += (*y as f64).powi(2);
    }
    (diff / norm).sqrt()
}

#[test]
fn the_parts_of_a_batch_sum_to_its_loss_and_gradient() {
    let points = seeding::normals(&mut seeding::Stream::new(8).rng(), 4 * 500);
    let data = TrainingSet::new(4, points).unwrap();
    let model = MlpConfig {
        hidden: 32,
        ..MlpConfig::new(4)
    };
    let whole = TrainConfig {
        batch: 100,
        seed: 5,
        ..TrainConfig::default()
    };
    let mut reference = Trainer::new(&model, &whole, &data).unwrap();
    // 3 parts of 33, 33 and 34 rows: unequal shares must still add up to the batch mean.
    let split = TrainConfig { parts: 3, ..whole.clone() };
    let mut parted = Trainer::new(&model, &split, &data).unwrap();
    for step in 0..3 {
        let (loss, grads) = reference.next_gradients().unwrap();
        let (loss_p, grads_p) = parted.next_gradients().unwrap();
        assert!((loss - loss_p).abs() < 1e-6 * loss, "step {step}: loss {loss} whole, {loss_p} in parts");
        let err = relative_error(&grads_p, &grads);
        assert!(err < 1e-5, "step {step}: gradients differ by {err:e} (relative L2)");
        reference.train_step().unwrap();
        parted.train_step().unwrap();
    }
}

#[test]
fn one_part_is_left_out_of_the_config_and_parts_round_trip() {
    let one = serde_json::to_string(&TrainConfig::default()).unwrap();
    assert!(!one.contains("parts"), "{one}");
    let two = TrainConfig {
        parts: 2,
        ..TrainConfig::default()
    };
    let back: TrainConfig = serde_json::from_str(&serde_json::to_string(&two).unwrap()).unwrap();
    assert_eq!(back, two);
    let err = TrainConfig {
        parts: 0,
        ..TrainConfig::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(err.contains("parts = 0"), "{err}");
}
