//! A seed gives bit-identical weights whatever the number of threads.
//!
//! candle's CPU matmul is `gemm` with `Parallelism::Rayon(n)`, n = `candle_core::utils::get_num_threads()`
//! (read from `RAYON_NUM_THREADS` at every call, else the number of physical cores), run on the
//! current rayon pool; element-wise ops on ≥ 64 Ki elements run on candle's own barrier pool sized
//! from the same variable. Both split only output elements between threads, never a sum, so the
//! thread count should not change a bit. These tests check that: batch 1024 × width 64 = 64 Ki
//! elements puts the element-wise ops on the parallel path and every matmul above gemm's threading
//! threshold.

use std::process::Command;
use training::{MlpConfig, TrainConfig, Trainer, TrainingSet};

const OUT_VAR: &str = "TRAINING_DETERMINISM_OUT";

/// Weights, EMA weights and losses of a 50-step run, as bits.
fn fingerprint() -> Vec<u32> {
    let points = seeding::normals(&mut seeding::Stream::new(4).rng(), 16 * 3000);
    let data = TrainingSet::new(16, points.into_iter().map(|v| 0.5 * v.tanh()).collect()).unwrap();
    let model = MlpConfig {
        residual: true,
        layers: 2,
        ..MlpConfig::new(16)
    };
    let cfg = TrainConfig {
        steps: 50,
        batch: 1024,
        log_every: 10,
        seed: 17,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(&model, &cfg, &data).unwrap();
    t.run_until(cfg.steps).unwrap();
    let ema = t.ema().unwrap().values().unwrap();
    let net = t.net().values().unwrap();
    let losses = t.losses().points().iter().map(|p| p.loss as f32);
    let mut bits: Vec<u32> = net.iter().chain(&ema).flatten().copied().chain(losses).map(f32::to_bits).collect();
    bits.extend(unet_fingerprint());
    bits
}

/// The U-Net's custom ops (tap gather, pooling, scale-shift, their backward passes) and its
/// chunked parallel sampling: 10 VE training steps on 8×8 images, each batch in two
/// parts, then D(x; σ) of 1500 images.
fn unet_fingerprint() -> Vec<u32> {
    use diffusion::Denoiser;
    use training::{Network, UNetConfig};
    let points = seeding::normals(&mut seeding::Stream::new(5).rng(), 64 * 500);
    let data = TrainingSet::new(64, points.into_iter().map(|v| v.tanh()).collect()).unwrap();
    let model = UNetConfig {
        ve: true,
        ..UNetConfig::new(8, 8, 8)
    };
    let cfg = TrainConfig {
        steps: 10,
        batch: 64,
        seed: 3,
        log_uniform_sigma: Some([0.01, 10.0]),
        // Two parts in parallel, as the image experiments train.
        parts: 2,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(&model, &cfg, &data).unwrap();
    t.run_until(cfg.steps).unwrap();
    let net = t.net();
    let x = seeding::normals(&mut seeding::Stream::new(6).rng(), 64 * 1500);
    let mut d = vec![0.0; x.len()];
    net.denoise(&x, 0.8, &mut d).unwrap();
    let weights = net.values().unwrap().into_iter().flatten().map(f32::to_bits);
    weights.chain(d.iter().map(|v| (*v as f32).to_bits())).collect()
}

fn in_pool(threads: usize) -> Vec<u32> {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(fingerprint)
}

/// Runs [`child_writes_fingerprint`] in a fresh process with `RAYON_NUM_THREADS = threads`, which
/// also switches gemm between `Parallelism::None` (1) and `Rayon(n)` and sizes candle's pool.
fn in_process(threads: usize, dir: &std::path::Path) -> Vec<u32> {
    let out = dir.join(format!("{threads}.bin"));
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["child_writes_fingerprint", "--exact", "--ignored", "--quiet"])
        .env("RAYON_NUM_THREADS", threads.to_string())
        .env(OUT_VAR, &out)
        .status()
        .unwrap();
    assert!(status.success(), "child with {threads} threads failed");
    std::fs::read(&out)
        .unwrap()
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// One test, so that the runs do not compete for the cores with each other (candle's spinning
/// barrier pool slows down badly when oversubscribed).
#[test]
fn same_weights_whatever_the_thread_count() {
    let reference = in_pool(1);
    let dir = tempfile::tempdir().unwrap();
    for (label, run) in [
        ("a 2-thread rayon pool", in_pool(2)),
        ("RAYON_NUM_THREADS=1", in_process(1, dir.path())),
        ("RAYON_NUM_THREADS=2", in_process(2, dir.path())),
    ] {
        assert_eq!(run.len(), reference.len(), "{label}");
        let differing = reference.iter().zip(&run).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 0, "{label}: {differing} of {} numbers differ from a 1-thread pool", run.len());
    }
}

#[test]
#[ignore = "helper: run in a child process by same_weights_whatever_the_thread_count"]
fn child_writes_fingerprint() {
    let Some(out) = std::env::var_os(OUT_VAR) else {
        eprintln!("{OUT_VAR} not set; nothing to do");
        return;
    };
    let bytes: Vec<u8> = fingerprint().into_iter().flat_map(u32::to_le_bytes).collect();
    std::fs::write(out, bytes).unwrap();
}
