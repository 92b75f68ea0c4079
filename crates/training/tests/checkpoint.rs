//! Checkpoints: a run interrupted and resumed ends bit-identical to an uninterrupted one, saved
//! networks load back exactly, and wrong or missing checkpoints are refused with a usable message.

use diffusion::Denoiser;
use std::path::Path;
use training::checkpoint::{self, CONFIG_FILE, MODEL_FILE};
use training::{train, Mlp, MlpConfig, RunConfig, TrainConfig, TrainOptions, Trainer, TrainingSet};

fn setup() -> (TrainingSet, MlpConfig, TrainConfig) {
    let points = seeding::normals(&mut seeding::Stream::new(8).rng(), 3 * 500);
    let data = TrainingSet::new(3, points.into_iter().map(|v| 0.5 * v).collect()).unwrap();
    let model = MlpConfig {
        hidden: 32,
        layers: 3,
        ..MlpConfig::new(3)
    };
    // log_every = 7 puts the interruption at step 20 inside an open loss window.
    let cfg = TrainConfig {
        steps: 40,
        batch: 64,
        log_every: 7,
        seed: 21,
        ..TrainConfig::default()
    };
    (data, model, cfg)
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap()
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let (data, model, cfg) = setup();
    let root = tempfile::tempdir().unwrap();
    let (straight, resumed, via_train) = (root.path().join("straight"), root.path().join("resumed"), root.path().join("train"));

    let mut t = Trainer::new(&model, &cfg, &data).unwrap();
    t.run_until(40).unwrap();
    t.save(&straight).unwrap();
    let straight_ema = t.ema().unwrap().values().unwrap();

    let mut t = Trainer::new(&model, &cfg, &data).unwrap();
    t.run_until(20).unwrap();
    t.save(&resumed).unwrap();
    t.save(&via_train).unwrap();
    drop(t);
    let mut t = Trainer::resume(&resumed, &model, &cfg, &data).unwrap();
    assert_eq!(t.step(), 20);
    t.run_until(40).unwrap();
    t.save(&resumed).unwrap();
    assert_eq!(t.ema().unwrap().values().unwrap(), straight_ema);
    assert_eq!(t.losses().points().len(), 5);
    // Weights, EMA, Adam moments, step and loss record: the whole file, byte for byte.
    assert!(read(&straight, MODEL_FILE) == read(&resumed, MODEL_FILE), "resumed checkpoint differs");
    assert_eq!(read(&straight, CONFIG_FILE), read(&resumed, CONFIG_FILE));

    // `train` with a checkpoint folder resumes too, and saves at the end.
    let options = TrainOptions {
        checkpoint: Some(&via_train),
        checkpoint_every: 10,
        ..TrainOptions::default()
    };
    let trained = train(&model, &cfg, &data, &options).unwrap();
    assert_eq!(trained.ema.values().unwrap(), straight_ema);
    assert!(read(&straight, MODEL_FILE) == read(&via_train, MODEL_FILE), "train() after resuming differs");
    // Nothing left to do: a second call only reloads.
    let again = train(&model, &cfg, &data, &options).unwrap();
    assert_eq!(again.net.values().unwrap(), trained.net.values().unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(&via_train).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "temporary files left behind: {leftovers:?}");
}

#[test]
fn save_then_load_gives_identical_denoiser_outputs() {
    let (data, model, cfg) = setup();
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::new(&model, &cfg, &data).unwrap();
    t.run_until(15).unwrap();
    t.save(dir.path()).unwrap();
    let wanted = RunConfig {
        model: model.clone(),
        train: cfg.clone(),
    };
    let loaded_ema = checkpoint::load_ema(dir.path(), &wanted).unwrap();
    let loaded_net = Mlp::from_values(&model, checkpoint::load(dir.path(), &wanted).unwrap().net).unwrap();
    assert_eq!(checkpoint::read_config(dir.path()).unwrap(), wanted);
    let x = seeding::normals(&mut seeding::Stream::new(1).rng(), 3 * 100);
    for sigma in [0.002, 0.1, 1.0, 80.0] {
        for (original, loaded) in [(&t.ema().unwrap(), &loaded_ema), (t.net(), &loaded_net)] {
            let (mut a, mut b) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            original.denoise(&x, sigma, &mut a).unwrap();
            loaded.denoise(&x, sigma, &mut b).unwrap();
            assert!(
                a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()),
                "σ = {sigma}: outputs differ after loading"
            );
        }
    }
    // The weights also round-trip through candle's own VarMap safetensors writer.
    let path = dir.path().join("weights.safetensors");
    t.net().varmap().save(&path).unwrap();
    let tensors = candle_core::safetensors::load(&path, &candle_core::Device::Cpu).unwrap();
    for (name, values) in t.net().names().iter().zip(t.net().values().unwrap()) {
        assert_eq!(tensors[name].flatten_all().unwrap().to_vec1::<f32>().unwrap(), values, "{name}");
    }
}

#[test]
fn a_checkpoint_of_another_configuration_is_refused_naming_file_and_fields() {
    let (data, model, cfg) = setup();
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::new(&model, &cfg, &data).unwrap();
    t.run_until(3).unwrap();
    t.save(dir.path()).unwrap();

    let narrower = MlpConfig { hidden: 16, ..model.clone() };
    let err = format!("{:#}", Trainer::resume(dir.path(), &narrower, &cfg, &data).err().unwrap());
    assert!(err.contains(&dir.path().join(CONFIG_FILE).display().to_string()), "{err}");
    assert!(err.contains("model.hidden: saved 32, requested 16"), "{err}");
    assert!(err.contains("fresh checkpoint folder"), "{err}");

    let faster = TrainConfig {
        lr: 2e-3,
        seed: 5,
        ..cfg.clone()
    };
    let err = format!("{:#}", Trainer::open(dir.path(), &model, &faster, &data).err().unwrap());
    assert!(
        err.contains("train.lr: saved 0.001, requested 0.002") && err.contains("train.seed: saved 21, requested 5"),
        "{err}"
    );

    // Only the logging cadence may change.
    let chattier = TrainConfig { log_every: 1, ..cfg.clone() };
    assert_eq!(Trainer::resume(dir.path(), &model, &chattier, &data).unwrap().step(), 3);
}

#[test]
fn missing_or_broken_files_are_reported_with_how_to_make_them() {
    let (data, model, cfg) = setup();
    let wanted = RunConfig {
        model: model.clone(),
        train: cfg.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let err = format!("{:#}", checkpoint::load(dir.path(), &wanted).err().unwrap());
    assert!(
        err.contains(&dir.path().join(CONFIG_FILE).display().to_string()) && err.contains("train the model first"),
        "{err}"
    );
    // An empty folder starts a fresh run.
    assert_eq!(Trainer::open(dir.path(), &model, &cfg, &data).unwrap().step(), 0);

    Trainer::new(&model, &cfg, &data).unwrap().save(dir.path()).unwrap();
    std::fs::remove_file(dir.path().join(MODEL_FILE)).unwrap();
    let err = format!("{:#}", Trainer::open(dir.path(), &model, &cfg, &data).err().unwrap());
    assert!(
        err.contains(&dir.path().join(MODEL_FILE).display().to_string()) && err.contains("TrainOptions::checkpoint"),
        "{err}"
    );

    std::fs::write(dir.path().join(MODEL_FILE), b"not safetensors").unwrap();
    let err = format!("{:#}", checkpoint::load_ema(dir.path(), &wanted).err().unwrap());
    assert!(err.contains("is not a training checkpoint"), "{err}");
}

/// fig-3.4/3.5 train in stretches (`run_until`, save, sample the EMA model, repeat) and leave the
/// checkpoint that `table-3.1` then loads as if `train` had made it; the two must be the same file,
/// for the VE U-Net with the STF target and two parts, as those experiments train.
#[test]
fn a_run_in_stretches_with_evaluations_leaves_trains_checkpoint() {
    use diffusion::Denoiser;
    use training::UNetConfig;
    let rows = seeding::normals(&mut seeding::Stream::new(9).rng(), 64 * 200);
    let rows: Vec<f64> = rows.into_iter().map(|v| v.tanh()).collect();
    let data = TrainingSet::new(64, rows.clone()).unwrap();
    let model = UNetConfig {
        ve: true,
        ..UNetConfig::new(8, 8, 4)
    };
    let cfg = TrainConfig {
        steps: 12,
        batch: 32,
        parts: 2,
        log_every: 5,
        seed: 4,
        log_uniform_sigma: Some([0.01, 10.0]),
        ..TrainConfig::default()
    };
    let stf = training::stf_target(stable_target::StfTarget::new(64, rows, 8).unwrap());
    let root = tempfile::tempdir().unwrap();
    let (straight, stretches) = (root.path().join("train"), root.path().join("stretches"));

    let options = TrainOptions {
        checkpoint: Some(&straight),
        checkpoint_every: 5,
        target: Some(&stf),
        ..TrainOptions::default()
    };
    train(&model, &cfg, &data, &options).unwrap();

    let mut t = Trainer::open(&stretches, &model, &cfg, &data).unwrap().with_target(&stf);
    let x = seeding::normals(&mut seeding::Stream::new(2).rng(), 64 * 10);
    for s in [4, 8, 12] {
        t.run_until(s).unwrap();
        t.save(&stretches).unwrap();
        let mut d = vec![0.0; x.len()];
        t.ema().unwrap().denoise(&x, 1.0, &mut d).unwrap();
    }
    assert!(read(&straight, MODEL_FILE) == read(&stretches, MODEL_FILE), "the run in stretches differs");
    assert_eq!(read(&straight, CONFIG_FILE), read(&stretches, CONFIG_FILE));
}
