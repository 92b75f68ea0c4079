//! Training throughput of the Figure 5.2 model (thesis Sec. 5.4.1, App. B.3.2): a plain 4-layer MLP
//! of width 64 on 20-D data, batch 256, EDM preconditioning and loss.
//!
//! The data follow the figure's recipe: 2000 points of 0.3 N(a, I) + 0.7 N(−a, I) in ℝ⁴ with
//! a = (3, 3, 3, 3), mapped to ℝ²⁰ by a Gaussian random projection, each coordinate scaled to unit
//! variance (so σ_data = 1).
//!
//! `cargo run --release -p training --example train_bench [steps]`

use anyhow::Result;
use rand::Rng as _;
use std::time::Instant;
use training::{MlpConfig, TrainConfig, Trainer, TrainingSet};

/// The Figure 5.2 data set S (2000 × 20).
fn figure_5_2_data(stream: seeding::Stream) -> Result<TrainingSet> {
    let (n, low, high) = (2000, 4, 20);
    let mut rng = stream.named("mixture").rng();
    let mut s1 = Vec::with_capacity(n * low);
    for _ in 0..n {
        let centre = if rng.random::<f64>() < 0.3 { 3.0 } else { -3.0 };
        s1.extend(seeding::normals(&mut rng, low).into_iter().map(|z| centre + z));
    }
    let p = seeding::normals(&mut stream.named("projection").rng(), high * low);
    let mut s2: Vec<f64> = s1
        .chunks_exact(low)
        .flat_map(|x| p.chunks_exact(low).map(move |row| row.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()))
        .collect();
    for j in 0..high {
        let col = || s2.iter().skip(j).step_by(high);
        let mean = col().sum::<f64>() / n as f64;
        let sd = (col().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        for v in s2.iter_mut().skip(j).step_by(high) {
            *v = (*v - mean) / sd;
        }
    }
    TrainingSet::new(high, s2)
}

fn main() -> Result<()> {
    let steps: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let data = figure_5_2_data(seeding::Stream::new(0))?;
    let model = MlpConfig {
        sigma_data: 1.0,
        ..MlpConfig::new(20)
    };
    let cfg = TrainConfig {
        steps,
        batch: 256,
        ..TrainConfig::default()
    };
    let warmup = 50;
    let mut trainer = Trainer::new(&model, &cfg, &data)?;
    trainer.run_until(warmup)?;
    let start = Instant::now();
    trainer.run_until(warmup + steps)?;
    let secs = start.elapsed().as_secs_f64();
    let params: usize = trainer.net().values()?.iter().map(Vec::len).sum();
    println!(
        "Figure 5.2 model: 20-D, hidden {}, {} layers, {params} parameters, batch {}; candle threads {}",
        model.hidden,
        model.layers,
        cfg.batch,
        candle_core::utils::get_num_threads()
    );
    println!(
        "{steps} steps in {secs:.2} s: {:.0} steps/s, {:.0} samples/s (last logged loss {:.4})",
        steps as f64 / secs,
        (steps * cfg.batch as u64) as f64 / secs,
        trainer.losses().points().last().map_or(f64::NAN, |p| p.loss)
    );
    Ok(())
}
