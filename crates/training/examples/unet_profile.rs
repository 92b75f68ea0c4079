//! Where the U-Net's time goes on CPU: forward passes on a sampling batch and training steps on
//! 8×8 images, for `perf record`. `cargo run --release -p training --example unet_profile [base]`

use anyhow::Result;
use diffusion::Denoiser;
use std::time::Instant;
use training::{Network, TrainConfig, Trainer, TrainingSet, UNet, UNetConfig};

fn main() -> Result<()> {
    let base: usize = std::env::args().nth(1).map_or(Ok(16), |s| s.parse())?;
    let model = UNetConfig::new(8, 8, base);
    let net = UNet::init(&model, seeding::Stream::new(0))?;
    let x = seeding::normals(&mut seeding::Stream::new(1).rng(), 2048 * 64);
    let mut out = vec![0.0; x.len()];
    let reps = if std::env::args().nth(2).as_deref() == Some("train") { 0 } else { 5 };
    let t = Instant::now();
    for _ in 0..reps {
        net.denoise(&x, 1.0, &mut out)?;
    }
    println!("forward, 2048 images: {:.1} ms", t.elapsed().as_secs_f64() / reps.max(1) as f64 * 1e3);
    let set = TrainingSet::new(64, x[..1024 * 64].to_vec())?;
    let cfg = TrainConfig {
        batch: 128,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(&model, &cfg, &set)?;
    let t = Instant::now();
    if reps == 0 {
        trainer.run_until(40)?;
    }
    println!("training step, batch 128: {:.1} ms", t.elapsed().as_secs_f64() / 40.0 * 1e3);
    Ok(())
}
