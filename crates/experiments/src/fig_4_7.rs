//! Figure 4.7 analog (thesis l.996–998; Fig. B.5 l.4140; spec seeds-ch2-5 §2.5): on the models of
//! `fig-4.3` (the 8-Gaussian ring) and `table-4.3` (the 25-mode toy), (left) the denoising loss
//! λ(σ)‖D(y + σn; σ[, z]) − y‖² per σ on a log grid, the plain diffusion model against DisCo-Diff
//! with the encoder's latents of the clean points; (right) latent switching: Heun sampling with z
//! for the first p% of the steps and with z′ (a value naming another component) for the rest, and
//! the share of samples that end in z′'s component. Cell 0 is the ring, cell 1 the toy; their
//! parameters are declared with the prefixes `ring_` and `toy_` (equal to `fig-4.3`'s and
//! `table-4.3`'s, so the cached checkpoints are shared).

use crate::disco_setup::{components_of, fresh, grid};
use crate::{CellDone, Experiment, Outcome, Quantity, Run};
use anyhow::{anyhow, ensure, Result};
use artifacts::{Column, Table, Tables};
use diffusion::Denoiser;
use disco_diff::{DiscoDiff, Guided, Latent, LatentPrior, EXTRACTION_TEMPERATURE};
use exact_denoisers::GaussianMixture;
use figures::{Figure, Panel, Series, Style};
use rand::Rng as _;
use rayon::prelude::*;
use registry::Params;
use samplers::{heun::sample_heun, Particles};
use seeding::Stream;
use training::{Mlp, Network};

/// The runner `disco-loss-and-switching`.
pub struct Fig47;

const SETTINGS: [(&str, &str); 2] = [("ring", "ring_"), ("toy", "toy_")];

/// The parameters of one setting: its prefixed keys without the prefix, and the shared keys.
fn sub_params(p: &Params, prefix: &str) -> Params {
    Params(
        p.0.iter()
            .filter_map(|(k, v)| match k.strip_prefix(prefix) {
                Some(rest) => Some((rest.to_string(), v.clone())),
                None if SETTINGS.iter().all(|(_, pre)| !k.starts_with(pre)) => Some((k.clone(), v.clone())),
                None => None,
            })
            .collect(),
    )
}

/// One setting's trained models and its data law.
struct Setting {
    mixture: GaussianMixture,
    dm: Mlp,
    net: DiscoDiff,
    prior: LatentPrior,
}

fn setting(run: &Run, which: &str) -> Result<Setting> {
    Ok(if which == "ring" {
        let d = crate::disco_ring::disco(run)?;
        Setting {
            mixture: crate::disco_ring::ring(run.params)?,
            dm: crate::disco_ring::diffusion_model(run)?,
            net: d.net,
            prior: d.prior,
        }
    } else {
        let d = crate::disco_toy::discrete(run)?;
        Setting {
            mixture: crate::disco_toy::mixture(run.params)?,
            dm: crate::disco_toy::diffusion_model(run)?,
            net: d.net,
            prior: d.prior,
        }
    })
}

/// The per-σ loss of both models on held-out labelled points, the same noise for both.
fn losses(name: &str, s: &Setting, p: &Params, stream: Stream) -> Result<Table> {
    let n = p.usize("loss_points")?;
    let d = s.mixture.dim();
    let (y, _) = fresh(&s.mixture, n, stream.named("points"));
    let z = s.net.encode(&y, EXTRACTION_TEMPERATURE, stream.named("latents"))?;
    let (lo, hi, count) = (p.f64("loss_sigma_min")?, p.f64("loss_sigma_max")?, p.usize("loss_sigmas")?);
    ensure!(
        count >= 2 && lo > 0.0 && hi > lo,
        "parameters `loss_sigmas` ≥ 2 and 0 < `loss_sigma_min` < `loss_sigma_max`"
    );
    let sigmas: Vec<f64> = (0..count).map(|i| lo * (hi / lo).powf(i as f64 / (count - 1) as f64)).collect();
    let (mut l_dm, mut l_dc) = (vec![], vec![]);
    for (i, &sigma) in sigmas.iter().enumerate() {
        let noise = seeding::normals(&mut stream.named("noise").child(i as u64).rng(), n * d);
        let x: Vec<f64> = y.iter().zip(&noise).map(|(a, e)| a + sigma * e).collect();
        let mut dm = vec![0.0; x.len()];
        s.dm.denoise(&x, sigma, &mut dm)?;
        let dc = s.net.denoise_rows(&x, &vec![sigma; n], &z)?;
        // EDM Eq. 8 per σ: λ(σ) = 1/c_out² (both models share σ_data within a setting).
        let loss = |out: &[f64], lambda: f64| out.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>() * lambda / n as f64;
        l_dm.push(loss(&dm, s.dm.precond().loss_weight(sigma)));
        l_dc.push(loss(&dc, s.net.precond().loss_weight(sigma)));
    }
    Ok(Table::new()
        .str("setting", vec![name.into(); count])
        .f64("sigma", sigmas)
        .f64("loss_dm", l_dm)
        .f64("loss_disco", l_dc))
}

/// The component each latent value names: the majority component of held-out points it encodes.
fn owners(s: &Setting, p: &Params, stream: Stream) -> Result<std::collections::BTreeMap<Vec<usize>, usize>> {
    let n = p.usize("loss_points")?;
    let (y, labels) = fresh(&s.mixture, n, stream.named("owners"));
    let z = s.net.encode(&y, EXTRACTION_TEMPERATURE, stream.named("owner-latents"))?;
    let mut counts = std::collections::BTreeMap::<Vec<usize>, Vec<usize>>::new();
    for (l, &c) in z.iter().zip(&labels) {
        if let Latent::Discrete(v) = l {
            counts.entry(v.clone()).or_insert_with(|| vec![0; s.mixture.components()])[c] += 1;
        }
    }
    Ok(counts
        .into_iter()
        .map(|(v, c)| {
            let owner = (0..c.len()).max_by_key(|&k| c[k]).unwrap_or(0);
            (v, owner)
        })
        .collect())
}

/// Latent switching: for each p, the share of samples ending in z′'s component and in z's.
fn switching(name: &str, s: &Setting, p: &Params, stream: Stream) -> Result<Table> {
    let n = p.usize("switch_samples")?;
    let owner = owners(s, p, stream)?;
    let used: Vec<&Vec<usize>> = owner.keys().collect();
    ensure!(used.len() >= 2, "latent switching needs two latent values naming different components");
    let z: Vec<Vec<usize>> = s.prior.sample(n, stream.named("z"))?;
    // z′: a value drawn uniformly among those whose component differs from z's.
    let z2: Vec<Vec<usize>> = z
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let own = owner.get(v).copied();
            let others: Vec<&&Vec<usize>> = used.iter().filter(|u| Some(owner[**u]) != own).collect();
            let pick = stream.named("z-prime").child(i as u64).rng().random_range(0..others.len());
            (**others[pick]).clone()
        })
        .collect();
    let grid = grid(p)?;
    let steps = grid.len() - 1;
    let lat = |v: &[Vec<usize>]| v.iter().map(|x| Latent::Discrete(x.clone())).collect::<Vec<_>>();
    let (mut pct, mut to_new, mut to_old) = (vec![], vec![], vec![]);
    for percent in p.f64_list("switch_percents")? {
        ensure!((0.0..=100.0).contains(&percent), "parameter `switch_percents`: {percent} is not a percentage");
        let k = ((percent / 100.0) * steps as f64).round() as usize;
        let mut g = Guided::new(&s.net, lat(&z), 0.0)?;
        let mut parts = Particles::from_prior(n, s.mixture.dim(), grid[0], stream.named("prior"));
        sample_heun(&g, &mut parts, &grid[..=k])?;
        g.set_latents(lat(&z2))?;
        sample_heun(&g, &mut parts, &grid[k..])?;
        let comp = components_of(&s.mixture, &parts.x);
        let share = |target: &[Vec<usize>]| (0..n).filter(|&i| owner.get(&target[i]) == Some(&comp[i])).count() as f64 / n as f64;
        pct.push(percent);
        to_new.push(share(&z2));
        to_old.push(share(&z));
    }
    Ok(Table::new()
        .str("setting", vec![name.into(); pct.len()])
        .f64("switch_percent", pct)
        .f64("ends_in_new_latents_component", to_new)
        .f64("ends_in_old_latents_component", to_old))
}

impl Experiment for Fig47 {
    fn cells(&self, _params: &Params) -> Result<Vec<String>> {
        Ok(SETTINGS.iter().map(|s| s.0.to_string()).collect())
    }

    fn run_cells(&self, run: &Run, cells: &[usize], done: &CellDone) -> Result<()> {
        cells.par_iter().try_for_each(|&c| -> Result<()> {
            let (name, prefix) = SETTINGS[c];
            let params = sub_params(run.params, prefix);
            let sub = Run {
                params: &params,
                tier: run.tier,
                stream: run.stream,
                checkpoints: run.checkpoints.clone(),
                retrain: run.retrain,
            };
            let s = setting(&sub, name)?;
            let stream = run.stream.child(c as u64);
            done(
                c,
                vec![
                    ("loss_per_sigma".into(), losses(name, &s, &params, stream.named("loss"))?),
                    ("switching".into(), switching(name, &s, &params, stream.named("switch"))?),
                ],
            )
        })
    }

    fn finish(&self, _params: &Params, tables: Tables) -> Result<Outcome> {
        let get = |name: &str| tables.iter().find(|(t, _)| t == name).map(|(_, t)| t).ok_or_else(|| anyhow!("no {name} table"));
        let (loss, switch) = (get("loss_per_sigma")?, get("switching")?);
        let setting_of = |t: &Table| -> Result<Vec<String>> {
            match t.column("setting") {
                Some(Column::Str(v)) => Ok(v.clone()),
                _ => Err(anyhow!("no setting column")),
            }
        };
        let col = |t: &Table, c: &str| t.f64_column(c).ok_or_else(|| anyhow!("column {c}"));
        let (ls, sigma, l_dm, l_dc) = (setting_of(loss)?, col(loss, "sigma")?, col(loss, "loss_dm")?, col(loss, "loss_disco")?);
        let (ss, pct, new, old) = (
            setting_of(switch)?,
            col(switch, "switch_percent")?,
            col(switch, "ends_in_new_latents_component")?,
            col(switch, "ends_in_old_latents_component")?,
        );
        let mut out = Outcome::default();
        let mut loss_panels = vec![];
        let mut switch_series = vec![];
        for (c, (name, _)) in SETTINGS.iter().enumerate() {
            let rows: Vec<usize> = (0..ls.len()).filter(|&i| ls[i] == *name).collect();
            let gain: Vec<f64> = rows.iter().map(|&i| 1.0 - l_dc[i] / l_dm[i]).collect();
            let half = gain.len() / 2;
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let (low, high) = (mean(&gain[..half]), mean(&gain[gain.len() - half..]));
            let (peak, peak_sigma) = rows
                .iter()
                .zip(&gain)
                .fold((f64::MIN, 0.0), |m, (&i, &g)| if g > m.0 { (g, sigma[i]) } else { m });
            out.quantities
                .push(Quantity::exact(format!("{name}.loss_gain_high_minus_low_sigma"), high - low));
            out.quantities.push(Quantity::exact(format!("{name}.loss_gain_low_sigma_half"), low));
            out.quantities.push(Quantity::exact(format!("{name}.loss_gain_high_sigma_half"), high));
            out.quantities.push(Quantity::exact(format!("{name}.loss_gain_peak"), peak));
            out.quantities.push(Quantity::exact(format!("{name}.loss_gain_peak_sigma"), peak_sigma));
            let srows: Vec<usize> = (0..ss.len()).filter(|&i| ss[i] == *name).collect();
            let late = srows.iter().filter(|&&i| pct[i] >= 80.0).map(|&i| new[i]).fold(0.0, f64::max);
            let early = srows.iter().find(|&&i| pct[i] == 0.0).map_or(f64::NAN, |&i| new[i]);
            out.quantities.push(Quantity::exact(format!("{name}.switch_late_max_in_new_component"), late));
            out.quantities.push(Quantity::exact(format!("{name}.switch_at_0_in_new_component"), early));
            let half_way = srows.iter().filter(|&&i| new[i] < 0.5).map(|&i| pct[i]).fold(f64::INFINITY, f64::min);
            out.quantities
                .push(Quantity::exact(format!("{name}.switch_first_percent_below_half"), half_way));
            let xs: Vec<f64> = rows.iter().map(|&i| sigma[i]).collect();
            let (a, b): (Vec<f64>, Vec<f64>) = rows.iter().map(|&i| (l_dm[i], l_dc[i])).unzip();
            loss_panels.push(Panel {
                title: format!("({}) loss vs σ, {name}", ["a", "b"][c]),
                x_label: "σ".into(),
                y_label: "λ(σ)‖D − y‖²".into(),
                x_log: true,
                y_log: true,
                series: vec![
                    Series::new("diffusion model", &xs, &a, Style::LineMarkers, 0),
                    Series::new("DisCo-Diff (encoder's z)", &xs, &b, Style::LineMarkers, 1),
                ],
            });
            let (px, py, po): (Vec<f64>, Vec<f64>, Vec<f64>) =
                srows
                    .iter()
                    .map(|&i| (pct[i], new[i], old[i]))
                    .fold((vec![], vec![], vec![]), |mut acc, (x, y, z)| {
                        acc.0.push(x);
                        acc.1.push(y);
                        acc.2.push(z);
                        acc
                    });
            switch_series.push(Series::new(format!("{name}: ends in z′'s component"), &px, &py, Style::LineMarkers, 2 * c));
            switch_series.push(Series::new(format!("{name}: ends in z's component"), &px, &po, Style::Dashed, 2 * c + 1));
        }
        loss_panels.push(Panel {
            title: "(c) switching z → z′ after p% of the Heun steps".into(),
            x_label: "p (% of steps with z)".into(),
            y_label: "share of samples".into(),
            series: switch_series,
            ..Default::default()
        });
        out.figures.push((
            String::new(),
            Figure {
                title: "Fig. 4.7 analog: where the latent lowers the loss, and when it stops mattering".into(),
                panels: loss_panels,
                columns: 3,
            },
        ));
        out.tables = vec![("loss_per_sigma".into(), loss.clone()), ("switching".into(), switch.clone())];
        Ok(out)
    }
}
