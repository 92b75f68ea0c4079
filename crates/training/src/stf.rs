//! The Stable Target Field as the trainer's regression target (thesis Alg. 1): the trainer draws
//! y, σ and x = y + σn as for DSM, and regresses D_θ(x; σ) on the reference-batch posterior mean
//! of [`stable_target::StfTarget`] instead of y. Its extra reference points come from the step's
//! private `target` stream, so a run stays reproducible and resumable.

use crate::loss::TargetBatch;
use anyhow::{ensure, Result};
use stable_target::StfTarget;

/// The STF target of `stf` in the form [`crate::Trainer::with_target`] takes (it owns `stf`:
/// [`crate::TargetFn`] objects are `'static`).
pub fn stf_target(stf: StfTarget) -> impl Fn(&TargetBatch<'_>) -> Result<Vec<f32>> + Sync + 'static {
    move |b: &TargetBatch<'_>| {
        ensure!(
            b.clean.len() == b.sigma.len() * b.dim,
            "STF target: batch of {} values for {} rows",
            b.clean.len(),
            b.sigma.len()
        );
        let t = stf.target(b.clean, b.noisy, b.sigma, &mut b.stream.rng())?;
        Ok(t.into_iter().map(|v| v as f32).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MlpConfig, TrainConfig, Trainer, TrainingSet};

    fn run(data: &TrainingSet, target: Option<&crate::TargetFn>) -> Vec<Vec<f32>> {
        let model = MlpConfig::new(3);
        let train = TrainConfig {
            steps: 5,
            batch: 16,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(&model, &train, data).unwrap();
        if let Some(f) = target {
            t = t.with_target(f);
        }
        t.run_until(5).unwrap();
        t.net().values().unwrap()
    }

    #[test]
    fn stf_with_one_reference_point_trains_exactly_as_dsm() {
        let points = seeding::normals(&mut seeding::Stream::new(1).rng(), 64 * 3);
        let data = TrainingSet::new(3, points.clone()).unwrap();
        let dsm = run(&data, None);
        let one = StfTarget::new(3, points.clone(), 1).unwrap();
        assert_eq!(run(&data, Some(&stf_target(one))), dsm, "n = 1 must be DSM bit for bit");
        // And the target does act: with a reference batch of 32 the weights move differently.
        let many = StfTarget::new(3, points, 32).unwrap();
        assert_ne!(run(&data, Some(&stf_target(many))), dsm);
    }
}
