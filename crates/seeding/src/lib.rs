//! Counter-based random streams: one reproducible generator per (seed, path), independent of thread count.
//!
//! Every random draw in the workspace comes from a [`Stream`]: a master seed plus a path of
//! integers (experiment cell, t index, sample index, purpose …). The path is folded into a
//! 256-bit ChaCha key with SplitMix64, so the draws of sample `i` depend only on `(seed, path, i)`
//! and never on which rayon thread ran it or in which order. candle's CPU generator cannot be
//! seeded (`Device::Cpu.set_seed` errors), so network weights and noise are drawn here too.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// The generator every stream hands out.
pub type Rng = ChaCha8Rng;

/// SplitMix64 finaliser: a bijective mixer with full avalanche, used to fold path labels into keys.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A node in the tree of random streams: a seed and a path below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stream {
    state: u64,
}

impl Stream {
    /// The root stream of an experiment run.
    pub fn new(seed: u64) -> Self {
        Stream {
            state: splitmix64(seed ^ 0x5EED_0000_0000_0000),
        }
    }

    /// The sub-stream labelled `label` (a cell index, a sample index, a purpose tag …).
    pub fn child(self, label: u64) -> Self {
        Stream {
            state: splitmix64(self.state ^ splitmix64(label.wrapping_add(0xA5A5_A5A5))),
        }
    }

    /// The sub-stream named by a string tag, for readable purposes ("noise", "init").
    pub fn named(self, tag: &str) -> Self {
        // FNV-1a: stable across platforms and releases, unlike `DefaultHasher`.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in tag.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.child(h)
    }

    /// A fresh generator for this stream; two calls give the same draws.
    pub fn rng(self) -> Rng {
        let mut key = [0u8; 32];
        let mut s = self.state;
        for chunk in key.chunks_exact_mut(8) {
            s = splitmix64(s);
            chunk.copy_from_slice(&s.to_le_bytes());
        }
        Rng::from_seed(key)
    }
}

/// Fills `out` with independent standard normal draws.
pub fn fill_normal(rng: &mut Rng, out: &mut [f64]) {
    for v in out.iter_mut() {
        *v = StandardNormal.sample(rng);
    }
}

/// A vector of `n` independent standard normal draws.
pub fn normals(rng: &mut Rng, n: usize) -> Vec<f64> {
    let mut v = vec![0.0; n];
    fill_normal(rng, &mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn same_path_same_draws_different_path_different_draws() {
        let a = Stream::new(7).child(3).named("noise");
        let b = Stream::new(7).child(3).named("noise");
        let c = Stream::new(7).child(4).named("noise");
        let d = Stream::new(8).child(3).named("noise");
        let draw = |s: Stream| -> Vec<u64> {
            let mut r = s.rng();
            (0..4).map(|_| r.random()).collect()
        };
        assert_eq!(draw(a), draw(b));
        assert_ne!(draw(a), draw(c));
        assert_ne!(draw(a), draw(d));
    }

    #[test]
    fn child_is_not_commutative() {
        let s = Stream::new(0);
        assert_ne!(s.child(1).child(2), s.child(2).child(1));
    }

    #[test]
    fn normals_have_unit_moments() {
        let mut r = Stream::new(1).rng();
        let v = normals(&mut r, 200_000);
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64;
        // Standard errors: 1/sqrt(n) ≈ 0.0022 for the mean, sqrt(2/n) ≈ 0.0032 for the variance.
        assert!(m.abs() < 0.011, "mean {m}");
        assert!((var - 1.0).abs() < 0.016, "variance {var}");
    }
}
