//! Sinusoidal features of the noise-level input c_noise(σ) = ¼ ln σ, the network's time embedding.
//!
//! EDM feeds c_noise through a positional (DDPM++) or random Fourier (NCSN++) embedding
//! (`training/networks.py`, `PositionalEmbedding` and `FourierEmbedding`): [cos(ω_k c), sin(ω_k c)].
//! Here the frequencies are fixed and geometric, ω_k = ω_max^{k/(h−1)} for k = 0 … h−1, from 1 to
//! ω_max = 8 radians per unit of c_noise. Over EDM's σ range [0.002, 80] c_noise spans
//! [−1.55, 1.10]: the slowest feature is monotone there and the fastest makes about 3.4 turns.
//! EDM's own positional embedding with c_noise = ¼ ln σ stays at or below ω = 1 and relies on a
//! mapping network; a small MLP without one learned fastest (on four 2-D clusters) with ω_max
//! between 4 and 16 and markedly slower with ω_max = 100. Fixed frequencies need no random draw
//! and nothing in a checkpoint.

/// The highest angular frequency ω_max, in radians per unit of c_noise.
const MAX_FREQUENCY: f64 = 8.0;

/// Writes the `out.len()` features of `c_noise` into `out`: the h = len/2 cosines, then the h sines.
///
/// `out.len()` must be even and positive (checked by `MlpConfig::validate`).
pub fn time_features(c_noise: f64, out: &mut [f64]) {
    let h = out.len() / 2;
    let (cos, sin) = out.split_at_mut(h);
    for k in 0..h {
        let omega = if h == 1 { 1.0 } else { MAX_FREQUENCY.powf(k as f64 / (h - 1) as f64) };
        let (s, c) = (omega * c_noise).sin_cos();
        cos[k] = c;
        sin[k] = s;
    }
}

/// The largest position of EDM's `PositionalEmbedding` (`max_positions = 10000`): the slowest
/// frequency is 1/10000 radian per unit of c_noise.
const MAX_POSITIONS: f64 = 10_000.0;

/// EDM's `PositionalEmbedding` (`training/networks.py`, `endpoint = False`), as the PFGM++ toy
/// notebook uses it: with h = len/2, ω_k = (1/10000)^{k/h} for k = 0 … h−1, and `out` =
/// [cos(ω_k c_noise)…, sin(ω_k c_noise)…]. Over c_noise ∈ [−1.55, 1.10] only the first few
/// features vary; the rest are nearly constant (EDM adds a mapping network, the notebook does not).
///
/// `out.len()` must be even and positive.
pub fn positional_features(c_noise: f64, out: &mut [f64]) {
    let h = out.len() / 2;
    let (cos, sin) = out.split_at_mut(h);
    for k in 0..h {
        let omega = (1.0 / MAX_POSITIONS).powf(k as f64 / h as f64);
        let (s, c) = (omega * c_noise).sin_cos();
        cos[k] = c;
        sin[k] = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_features_are_edms_frequencies() {
        // h = 2: ω = 1 and (1/10000)^{1/2} = 0.01.
        let c = -0.7;
        let mut f = [0.0; 4];
        positional_features(c, &mut f);
        let want = [c.cos(), (0.01 * c).cos(), c.sin(), (0.01 * c).sin()];
        for (a, b) in f.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{f:?} vs {want:?}");
        }
    }

    #[test]
    fn features_span_one_to_max_frequency_and_have_unit_norm_pairs() {
        let c = 0.3;
        let mut f = [0.0; 8];
        time_features(c, &mut f);
        assert!((f[0] - c.cos()).abs() < 1e-15 && (f[4] - c.sin()).abs() < 1e-15);
        assert!((f[3] - (MAX_FREQUENCY * c).cos()).abs() < 1e-12 && (f[7] - (MAX_FREQUENCY * c).sin()).abs() < 1e-12);
        for k in 0..4 {
            assert!((f[k] * f[k] + f[k + 4] * f[k + 4] - 1.0).abs() < 1e-12);
        }
    }
}
