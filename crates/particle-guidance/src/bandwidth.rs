//! Bandwidths h of the kernels k = exp(−d²/h): fixed, a power of σ (the authors' notebook), and the
//! median heuristic as the thesis prints it (B.4.2, l.4687: h = m²/log n, "following SVGD") and as
//! the authors' Stable Diffusion code computes it.

/// How the bandwidth is chosen at each step, from the set's pairwise distances and the noise level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bandwidth {
    /// A constant h.
    Fixed(f64),
    /// h = scale·σ^power. The notebook uses h = σ for the Euclidean kernel and h = πσ for the radial one.
    Sigma {
        /// The factor.
        scale: f64,
        /// The power of σ.
        power: f64,
    },
    /// The thesis's median heuristic: one h = m²/ln n for the whole set, m the median of the
    /// n(n−1)/2 pairwise distances (the mean of the two middle ones for an even count).
    MedianPaper,
    /// The authors' code (`pipeline_stable_diffusion_particle.py`, pixel kernel): the diagonal is
    /// dropped and each particle gets its own h_i = m_i²/ln(n−1), m_i the lower median of its n−1
    /// distances to the others (`torch.median` returns the lower of the two middle values).
    MedianCode,
}

impl Bandwidth {
    /// Whether the rule reads the pairwise distances (the median heuristics); the others may be
    /// given an empty matrix, which spares a set its O(n²) distances.
    pub fn uses_distances(&self) -> bool {
        matches!(self, Bandwidth::MedianPaper | Bandwidth::MedianCode)
    }

    /// The bandwidth of each of the n particles of a set, from its row-major n × n matrix of squared
    /// distances (in the kernel's coordinates) at noise level σ. A set too small for the heuristic
    /// (n < 2, or n < 3 for [`Bandwidth::MedianCode`]) gets h = ∞, that is no repulsion.
    pub fn per_particle(&self, sq_dist: &[f64], n: usize, sigma: f64) -> Vec<f64> {
        assert!(
            !self.uses_distances() || sq_dist.len() == n * n,
            "bandwidth: {} squared distances for {n} particles",
            sq_dist.len()
        );
        match *self {
            Bandwidth::Fixed(h) => vec![h; n],
            Bandwidth::Sigma { scale, power } => vec![scale * sigma.powf(power); n],
            Bandwidth::MedianPaper => {
                let mut d: Vec<f64> = (0..n)
                    .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                    .map(|(i, j)| sq_dist[i * n + j].sqrt())
                    .collect();
                if d.is_empty() {
                    return vec![f64::INFINITY; n];
                }
                d.sort_by(f64::total_cmp);
                let k = d.len();
                let m = if k % 2 == 1 { d[k / 2] } else { 0.5 * (d[k / 2 - 1] + d[k / 2]) };
                vec![m * m / (n as f64).ln(); n]
            }
            Bandwidth::MedianCode => (0..n)
                .map(|i| {
                    let mut d: Vec<f64> = (0..n).filter(|&j| j != i).map(|j| sq_dist[i * n + j].sqrt()).collect();
                    if d.len() < 2 {
                        return f64::INFINITY;
                    }
                    d.sort_by(f64::total_cmp);
                    let m = d[(d.len() - 1) / 2];
                    m * m / ((n - 1) as f64).ln()
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Squared distances of points on a line.
    fn line(points: &[f64]) -> Vec<f64> {
        points.iter().flat_map(|a| points.iter().map(move |b| (a - b) * (a - b))).collect()
    }

    #[test]
    fn median_heuristics_on_a_known_set() {
        // Points 0, 1, 3: distances 1, 3, 2 → median 2, h = 4/ln 3.
        let d = line(&[0.0, 1.0, 3.0]);
        let h = Bandwidth::MedianPaper.per_particle(&d, 3, 0.5);
        assert!(h.iter().all(|&v| (v - 4.0 / 3f64.ln()).abs() < 1e-15));
        // Per particle, lower median of the other two: {1, 3} → 1, {1, 2} → 1, {3, 2} → 2; ln(n − 1) = ln 2.
        let h = Bandwidth::MedianCode.per_particle(&d, 3, 0.5);
        let want = [1.0 / 2f64.ln(), 1.0 / 2f64.ln(), 4.0 / 2f64.ln()];
        for (a, b) in h.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
    }

    #[test]
    fn even_count_uses_the_mean_of_the_middle_pair_in_the_paper_form() {
        // Points 0, 1, 3, 7: six distances 1, 3, 7, 2, 6, 4 → sorted 1 2 3 4 6 7 → median 3.5.
        let d = line(&[0.0, 1.0, 3.0, 7.0]);
        let h = Bandwidth::MedianPaper.per_particle(&d, 4, 1.0);
        assert!((h[0] - 3.5f64.powi(2) / 4f64.ln()).abs() < 1e-14);
    }

    #[test]
    fn notebook_bandwidths_are_powers_of_sigma() {
        let d = line(&[0.0, 1.0]);
        assert_eq!(Bandwidth::Sigma { scale: 1.0, power: 1.0 }.per_particle(&d, 2, 0.3), vec![0.3, 0.3]);
        let radial = Bandwidth::Sigma {
            scale: std::f64::consts::PI,
            power: 1.0,
        };
        assert_eq!(radial.per_particle(&d, 2, 0.5)[1], std::f64::consts::PI * 0.5);
        assert_eq!(Bandwidth::MedianCode.per_particle(&d, 2, 0.5), vec![f64::INFINITY; 2]);
    }
}
