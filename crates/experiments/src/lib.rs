//! One function per declared experiment, turning parameters into tables, numbers and figures.
//!
//! An experiment is a set of independent cells (a t of a sweep, a configuration, a seed): the
//! runner may run any subset of them (`--shard i/N`), caches each finished cell, and hands all
//! cells' tables, in cell order, to [`Experiment::finish`], which derives the final tables, the
//! quantities compared with the paper, and the figures. Adding an experiment means a file here,
//! a line in [`runners`] and a declaration in `experiments/`; the runner does not change.

pub mod coverage_mc;
pub mod disco_ring;
pub mod disco_setup;
pub mod disco_toy;
pub mod eq_6_6;
pub mod fig_4_3;
pub mod fig_4_4;
pub mod fig_4_7;
pub mod fig_5_2;
pub mod fig_6_2;
pub mod fig_7_2;
pub mod fig_7_3;
pub mod fig_b_18;
pub mod fig_b_20;
pub mod genphys_tables;
pub mod image_model;
pub mod outcome;
pub mod pfgm_vs_diffusion;
pub mod pfgmpp_phases;
pub mod pfgmpp_stf;
pub mod pg_vs_svgd;
pub mod prop_6_3;
pub mod prop_6_4;
pub mod prop_6_5;
pub mod restart_model;
pub mod restart_nfe;
pub mod restart_sweeps;
pub mod restart_theory;
pub mod rsd_fig_9;
pub mod rsd_inverse_toy;
pub mod rsd_table_1;
pub mod rsd_tables_2_6;
pub mod solver_identities;
pub mod stf_convergence;
pub mod stf_images;
pub mod stf_overhead;
pub mod stf_theorem1;
pub mod stf_variance;
pub mod table_4_3;
pub mod table_5_1;
pub mod table_5_1_digits;
pub mod table_5_1_pfgmpp;
pub mod table_6_1;
pub mod table_8_4;
pub mod table_a_1;
pub mod table_b_16;
pub mod table_b_26;
pub mod thm_6;
pub mod thm_6_5;
pub mod thm_8_limit;

pub use outcome::{Outcome, Quantity};

use anyhow::{Context, Result};
use artifacts::Tables;
use registry::{Params, Tier};
use seeding::Stream;

/// What a run of cells is given.
pub struct Run<'a> {
    /// The final parameters.
    pub params: &'a Params,
    /// The tier being run.
    pub tier: Tier,
    /// The root random stream; cell c must draw only from `stream.child(c)`.
    pub stream: Stream,
    /// Folder of trained checkpoints shared by all runs (`results/.checkpoints/`).
    pub checkpoints: std::path::PathBuf,
    /// Train again even where a checkpoint is cached (`--retrain`).
    pub retrain: bool,
}

impl Run<'_> {
    /// The checkpoint folder `name` under [`Run::checkpoints`]. With `retrain`, the folder's
    /// earlier contents are removed the first time this process asks for it, so the model is
    /// trained from scratch once and then shared by every cell of the run.
    pub fn checkpoint_dir(&self, name: &str) -> Result<std::path::PathBuf> {
        static CLEARED: std::sync::Mutex<std::collections::BTreeSet<std::path::PathBuf>> = std::sync::Mutex::new(std::collections::BTreeSet::new());
        let dir = self.checkpoints.join(name);
        if self.retrain && CLEARED.lock().expect("no panics while holding the lock").insert(dir.clone()) && dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("--retrain: removing the cached checkpoint {}", dir.display()))?;
        }
        Ok(dir)
    }
}

impl Run<'_> {
    /// The EMA network of `model` trained by `train` on `data` (rows of the model's dimension),
    /// resumed from or cached in the checkpoint folder `<prefix>-<hash>`, the hash (sha256) covering
    /// the model, the optimisation and `data_key` (whatever identifies the data).
    pub fn trained<C: training::NetworkConfig>(
        &self,
        prefix: &str,
        model: &C,
        train: &training::TrainConfig,
        data: Vec<f64>,
        data_key: &impl serde::Serialize,
    ) -> Result<C::Net> {
        let key = artifacts::sha256_hex(serde_json::to_string(&(model, train, data_key))?.as_bytes());
        let set = training::TrainingSet::new(model.dim(), data)?;
        let dir = self.checkpoint_dir(&format!("{prefix}-{}", &key[..16]))?;
        let options = training::TrainOptions {
            checkpoint: Some(&dir),
            checkpoint_every: 2000,
            progress: true,
            target: None,
        };
        Ok(training::train(model, train, &set, &options)?.ema)
    }
}

/// Called once per finished cell, possibly from several threads.
pub type CellDone<'a> = dyn Fn(usize, Tables) -> Result<()> + Sync + 'a;

/// An experiment function.
pub trait Experiment: Sync {
    /// Labels of the independent cells, in order.
    fn cells(&self, params: &Params) -> Result<Vec<String>>;

    /// Runs the listed cells, reporting each one's tables through `done`.
    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()>;

    /// Derives the outputs from every cell's tables (concatenated per table, in cell order).
    fn finish(&self, params: &Params, tables: Tables) -> Result<Outcome>;
}

/// Every experiment function by the name declarations use in `runner = "…"`.
pub fn runners() -> Vec<(&'static str, &'static dyn Experiment)> {
    vec![
        ("stf-variance", &stf_variance::StfVariance),
        ("stf-theorem1", &stf_theorem1::StfTheorem1),
        ("stf-vs-dsm-images", &stf_images::StfImages),
        ("stf-convergence", &stf_convergence::StfConvergence),
        ("stf-overhead", &stf_overhead::StfOverhead),
        ("restart-nfe", &restart_nfe::RestartNfe),
        ("solver-identities", &solver_identities::SolverIdentities),
        ("restart-theory", &restart_theory::RestartTheory),
        ("table-5-1", &table_5_1::Table51),
        ("table-5-1-pfgmpp", &table_5_1_pfgmpp::Table51Pfgmpp),
        ("table-5-1-digits", &table_5_1_digits::Table51Digits),
        ("restart-errors", &fig_5_2::Fig52),
        ("restart-sweeps", &restart_sweeps::RestartSweeps),
        ("pg-ring-modes", &fig_b_20::FigB20),
        ("iid-coverage-curve", &fig_b_18::FigB18),
        ("iid-expected-modes", &prop_6_4::Prop64),
        ("coupon-collector", &prop_6_5::Prop65),
        ("pg-marginal-toy", &table_a_1::TableA1),
        ("pg-feynman-kac", &thm_6_5::Thm65),
        ("pg-rotation-invariance", &prop_6_3::Prop63),
        ("pg-vs-svgd", &pg_vs_svgd::PgVsSvgd),
        ("pg-cfg-diversity", &fig_6_2::Fig62),
        ("pg-torsion-conformers", &table_6_1::Table61),
        ("pg-doob-oracle", &eq_6_6::Eq66),
        ("pfgmpp-gaussian-limit", &thm_8_limit::Thm8Limit),
        ("pfgmpp-posterior-phase", &pfgmpp_phases::Fig83),
        ("pfgmpp-field-and-radius", &pfgmpp_phases::Fig84),
        ("pfgm-anchor-nfe", &table_b_16::TableB16),
        ("pfgm-disk-collapse", &fig_7_2::Fig72),
        ("disco-oracle-geometry", &fig_4_4::Fig44),
        ("disco-ring-trained", &fig_4_3::Fig43),
        ("disco-latent-ablation", &table_4_3::Table43),
        ("disco-loss-and-switching", &fig_4_7::Fig47),
        ("rsd-bimodal-collapse", &rsd_fig_9::RsdFig9),
        ("rsd-vsd-tradeoff", &rsd_tables_2_6::RsdTables26),
        ("rsd-hqs-posterior", &rsd_inverse_toy::RsdInverseToy),
        ("rsd-latent-inverse", &rsd_table_1::RsdTable1),
        ("genphys-table-9-1", &genphys_tables::Table91),
        ("genphys-table-9-2", &genphys_tables::Table92),
        ("pfgm-forward-hemisphere", &thm_6::Thm6),
        ("pfgm-norm-spread", &fig_7_3::Fig73),
        ("pfgmpp-1000d", &table_b_26::TableB26),
        ("pfgmpp-1000d-robustness", &table_8_4::Table84),
        ("pfgm-vs-diffusion", &pfgm_vs_diffusion::PfgmVsDiffusion),
        ("pfgmpp-stf-target", &pfgmpp_stf::PfgmppStf),
    ]
}

/// The experiment function named `name`.
pub fn runner(name: &str) -> Option<&'static dyn Experiment> {
    runners().into_iter().find(|(n, _)| *n == name).map(|(_, e)| e)
}
