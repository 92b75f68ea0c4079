//! A synthetic stand-in for CIFAR-10-4096 (App. B.1.1 l.3841): N "images" of 32×32×3 in (−1, 1).
//!
//! Generator: 10 class prototypes, each a smooth random field (a sum of 12 low-frequency plane
//! waves with random colours); each image adds within-class variation along 24 smooth random
//! directions with decaying amplitudes, then pixel noise, then tanh to stay in (−1, 1).
//! Why it is a fair stand-in for the variance study: the exact posterior p_{0|t}(·|x̃) of a
//! uniform point set depends on the data only through distances, and what shapes V_DSM(t), D(t)
//! and V_STF(t; n) is the spread of those distances across scales — between classes, within a
//! class, and pixel-level. CIFAR-10 has all three (classes, correlated smooth image content,
//! texture noise) in 3072 dimensions at per-pixel spreads of order 0.5 in EDM's scaling; the
//! generator reproduces that structure and scale, and its distance statistics are reported by
//! the experiment. It cannot reproduce CIFAR's exact numbers, which the thesis does not give anyway.

use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};
use seeding::Stream;

/// Parameters of the generator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClusteredImages {
    /// Number of images N.
    pub n: usize,
    /// Side of the square image (32 for CIFAR).
    pub side: usize,
    /// Channels (3 for CIFAR).
    pub channels: usize,
    /// Number of classes.
    pub classes: usize,
    /// Standard deviation of the pixel noise.
    pub pixel_noise: f64,
}

impl Default for ClusteredImages {
    fn default() -> Self {
        ClusteredImages {
            n: 4096,
            side: 32,
            channels: 3,
            classes: 10,
            pixel_noise: 0.1,
        }
    }
}

/// A smooth random field: a sum of `waves` low-frequency plane waves with random colours.
fn smooth_field(side: usize, channels: usize, waves: usize, amplitude: f64, rng: &mut seeding::Rng) -> Vec<f64> {
    let mut f = vec![0.0; side * side * channels];
    for _ in 0..waves {
        let (fx, fy) = (rng.random_range(0..4) as f64, rng.random_range(0..4) as f64);
        let phase = rng.random::<f64>() * std::f64::consts::TAU;
        let colour: Vec<f64> = (0..channels).map(|_| StandardNormal.sample(rng)).collect();
        for c in 0..channels {
            for i in 0..side {
                for j in 0..side {
                    let arg = std::f64::consts::TAU * (fx * i as f64 + fy * j as f64) / side as f64 + phase;
                    f[(c * side + i) * side + j] += amplitude * colour[c] * arg.cos() / (waves as f64).sqrt();
                }
            }
        }
    }
    f
}

/// Generates the set, row-major N × (channels·side·side), deterministic in `seed`.
pub fn clustered_images(spec: &ClusteredImages, seed: u64) -> Vec<f64> {
    let root = Stream::new(seed).named("clustered-images");
    let d = spec.side * spec.side * spec.channels;
    let protos: Vec<Vec<f64>> = (0..spec.classes)
        .map(|c| smooth_field(spec.side, spec.channels, 12, 0.6, &mut root.named("prototype").child(c as u64).rng()))
        .collect();
    let directions: Vec<Vec<f64>> = (0..24)
        .map(|k| smooth_field(spec.side, spec.channels, 6, 1.0, &mut root.named("direction").child(k).rng()))
        .collect();
    let mut out = vec![0.0; spec.n * d];
    for (i, row) in out.chunks_mut(d).enumerate() {
        let mut rng = root.named("image").child(i as u64).rng();
        let class = i % spec.classes;
        row.copy_from_slice(&protos[class]);
        for (k, dir) in directions.iter().enumerate() {
            // Amplitudes decay like k^{-1/2}: a few strong and many weak modes of variation.
            let a: f64 = StandardNormal.sample(&mut rng);
            let a = 0.35 * a / (1.0 + k as f64).sqrt();
            row.iter_mut().zip(dir).for_each(|(x, v)| *x += a * v);
        }
        for x in row.iter_mut() {
            let z: f64 = StandardNormal.sample(&mut rng);
            *x = (*x + spec.pixel_noise * z).tanh();
        }
    }
    out
}

/// The dataset S of the thesis's Restart study (§5.4.1, App. B.3.2 l.4282–4286): n points of
/// 0.3 N(a, I) + 0.7 N(−a, I) in ℝ⁴ with a = (3, 3, 3, 3), mapped by a random 20 × 4 matrix with
/// N(0, 1) entries, each coordinate then scaled to unit variance. Row-major n × 20.
pub fn restart_mixture_20d(n: usize, seed: u64) -> Vec<f64> {
    let root = Stream::new(seed).named("restart-mixture-20d");
    let mut prng = root.named("projection").rng();
    let proj = seeding::normals(&mut prng, 20 * 4);
    let mut out = vec![0.0; n * 20];
    for (i, row) in out.chunks_mut(20).enumerate() {
        let mut rng = root.named("point").child(i as u64).rng();
        let sign = if rng.random::<f64>() < 0.3 { 1.0 } else { -1.0 };
        let z = seeding::normals(&mut rng, 4);
        let s1: Vec<f64> = z.iter().map(|v| 3.0 * sign + v).collect();
        for (j, o) in row.iter_mut().enumerate() {
            *o = (0..4).map(|k| proj[j * 4 + k] * s1[k]).sum();
        }
    }
    for j in 0..20 {
        let mean = out.iter().skip(j).step_by(20).sum::<f64>() / n as f64;
        let sd = (out.iter().skip(j).step_by(20).map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64).sqrt();
        out.iter_mut().skip(j).step_by(20).for_each(|v| *v /= sd);
    }
    out
}

/// Dimension of the lifted two-cluster set of [`pfgmpp_two_clusters`].
pub const PFGMPP_TOY_DIM: usize = 1000;

/// The PFGM++ 1000-dimensional robustness set (thesis B.6.3, l.5221–5231; `pfgmpp_toy.ipynb`):
/// `per_cluster` points of N(+1, 0.2² I₁₀) then `per_cluster` of N(−1, 0.2² I₁₀) (1 = all-ones),
/// each mapped to ℝ¹⁰⁰⁰ by one random 10 × 1000 matrix W with N(0, 1) entries (x = y W), plus
/// 0.01·N(0, I) (mean 0: the thesis's "N(1, 0.01²)" is read as the notebook's `randn * 0.01`), then
/// clipped to [−100, 100]. Row-major (2·per_cluster) × 1000, unnormalised.
pub fn pfgmpp_two_clusters(per_cluster: usize, seed: u64) -> Vec<f64> {
    const LATENT: usize = 10;
    let root = Stream::new(seed).named("pfgmpp-two-clusters");
    let w = seeding::normals(&mut root.named("projection").rng(), LATENT * PFGMPP_TOY_DIM);
    let mut out = vec![0.0; 2 * per_cluster * PFGMPP_TOY_DIM];
    for (i, row) in out.chunks_mut(PFGMPP_TOY_DIM).enumerate() {
        let mut rng = root.named("point").child(i as u64).rng();
        let mean = if i < per_cluster { 1.0 } else { -1.0 };
        let y: Vec<f64> = seeding::normals(&mut rng, LATENT).iter().map(|z| mean + 0.2 * z).collect();
        let noise = seeding::normals(&mut rng, PFGMPP_TOY_DIM);
        for (j, (o, e)) in row.iter_mut().zip(noise).enumerate() {
            let lifted: f64 = (0..LATENT).map(|k| y[k] * w[k * PFGMPP_TOY_DIM + j]).sum();
            *o = (lifted + 0.01 * e).clamp(-100.0, 100.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pfgmpp_two_clusters_are_two_antipodal_clusters_of_a_ten_dimensional_map() {
        let per = 200;
        let s = pfgmpp_two_clusters(per, 3);
        assert_eq!(s.len(), 2 * per * PFGMPP_TOY_DIM);
        let mean = |rows: std::ops::Range<usize>| -> Vec<f64> {
            let n = rows.len() as f64;
            let mut m = vec![0.0; PFGMPP_TOY_DIM];
            for i in rows {
                m.iter_mut()
                    .zip(&s[i * PFGMPP_TOY_DIM..(i + 1) * PFGMPP_TOY_DIM])
                    .for_each(|(a, b)| *a += b / n);
            }
            m
        };
        // The cluster means are ±1ᵀW: opposite up to sampling error (s.e. per coordinate ≈ 0.2·√10/√200 ≈ 0.045).
        let (a, b) = (mean(0..per), mean(per..2 * per));
        let worst = a.iter().zip(&b).map(|(x, y)| (x + y).abs()).fold(0.0, f64::max);
        assert!(worst < 0.4, "cluster means not opposite: {worst}");
        // Each coordinate of 1ᵀW is N(0, 10): the mean squared centre is ≈ 10.
        let ms = a.iter().map(|x| x * x).sum::<f64>() / PFGMPP_TOY_DIM as f64;
        assert!((ms - 10.0).abs() < 1.5, "mean squared centre {ms}");
        // The clip holds.
        assert!(s.iter().all(|v| v.abs() <= 100.0));
    }

    #[test]
    fn restart_mixture_has_unit_variance_coordinates_and_two_clusters() {
        let s = restart_mixture_20d(2000, 0);
        assert_eq!(s.len(), 40_000);
        for j in 0..20 {
            let col: Vec<f64> = s.iter().skip(j).step_by(20).copied().collect();
            let m = col.iter().sum::<f64>() / 2000.0;
            let v = col.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 2000.0;
            assert!((v - 1.0).abs() < 1e-12, "coordinate {j}: variance {v}");
        }
        assert_eq!(s, restart_mixture_20d(2000, 0));
    }

    #[test]
    fn deterministic_bounded_and_clustered() {
        let spec = ClusteredImages { n: 40, ..Default::default() };
        let a = clustered_images(&spec, 1);
        assert_eq!(a, clustered_images(&spec, 1));
        assert_ne!(a, clustered_images(&spec, 2));
        assert!(a.iter().all(|v| v.abs() < 1.0));
        let d = 3072;
        let dist = |i: usize, j: usize| {
            a[i * d..(i + 1) * d]
                .iter()
                .zip(&a[j * d..(j + 1) * d])
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
        };
        // Images 0 and 10 share class 0; 0 and 1 do not: within-class distances are smaller on average.
        let within: f64 = (0..10).map(|i| dist(i, i + 10)).sum::<f64>();
        let between: f64 = (0..10).map(|i| dist(i, i + 1)).sum::<f64>();
        assert!(within < 0.8 * between, "within {within} between {between}");
    }
}
