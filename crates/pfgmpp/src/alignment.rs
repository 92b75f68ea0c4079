//! The phase alignment r = σ√D (thesis Sec. 8.3, l.1940–1944; B.6.1): PFGM++ at augmented radius r
//! behaves like diffusion at noise level σ = r/√D, so EDM's σ schedules, p(σ) and samplers carry over.

/// The augmented radius r = σ√D of noise level σ with D augmented dimensions.
pub fn radius_of_sigma(sigma: f64, d: f64) -> f64 {
    sigma * d.sqrt()
}

/// The noise level σ = r/√D of augmented radius r with D augmented dimensions.
pub fn sigma_of_radius(r: f64, d: f64) -> f64 {
    r / d.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for d in [1.0, 128.0, 2048.0, 3.072e6] {
            let r = radius_of_sigma(80.0, d);
            assert!((sigma_of_radius(r, d) - 80.0).abs() < 1e-12);
        }
    }
}
