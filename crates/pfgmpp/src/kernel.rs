//! The PFGM++ perturbation kernel (thesis Eq. 8.3, B.6): in N dimensions with D augmented ones,
//! p_r(x | y) = Γ((N+D)/2) r^D / (π^{N/2} Γ(D/2)) · (‖x − y‖² + r²)^{−(N+D)/2},
//! parameterised by σ = r/√D. Its radius R = ‖x − y‖ has R²/r² ~ BetaPrime(N/2, D/2), and as D → ∞
//! it tends to N(y, σ²I) (Theorem 8, Eq. 8.5). The normalising constant is taken relative to the
//! Gaussian's ([`ln_gamma_ratio_excess`]) and ln(1 + s/D) through `ln_1p`, so densities and the
//! log-ratio to the Gaussian keep f64 precision for any D.

use crate::gamma_ratio::{ln_gamma_ratio_excess, u_minus_log1p};
use statrs::function::beta::beta_reg;
use statrs::function::gamma::{gamma_lr, ln_gamma};

/// The perturbation kernel of PFGM++ with `n` data dimensions and `d` augmented ones
/// (`d = f64::INFINITY` is the Gaussian limit).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kernel {
    /// N, the data dimension.
    pub n: usize,
    /// D > 0, the number of augmented dimensions (any positive real, or ∞).
    pub d: f64,
}

impl Kernel {
    /// The kernel in `n` dimensions with `d` augmented ones; panics unless n ≥ 1 and d > 0.
    pub fn new(n: usize, d: f64) -> Self {
        assert!(n >= 1 && d > 0.0, "PFGM++ kernel needs N ≥ 1 and D > 0 (N = {n}, D = {d})");
        Kernel { n, d }
    }

    /// ln p(x|y) − ln N(x; y, σ²I) as a function of s = ‖x − y‖²/σ², with r = σ√D:
    /// ln[Γ((N+D)/2)/(Γ(D/2)(D/2)^{N/2})] + s/2 − ((N+D)/2) ln(1 + s/D). It is 0 for D = ∞, and
    /// equally the log-ratio of the radius densities of the two laws.
    pub fn log_ratio_to_gaussian(&self, s: f64) -> f64 {
        if self.d.is_infinite() {
            return 0.0;
        }
        let (n, d) = (self.n as f64, self.d);
        let u = s / d;
        // s/2 − ((N+D)/2) ln(1 + u) = −N s/(2D) + ((N+D)/2)(u − ln(1 + u)), no cancellation of O(s) terms.
        ln_gamma_ratio_excess(0.5 * d, 0.5 * n) - 0.5 * n * u + 0.5 * (n + d) * u_minus_log1p(u)
    }

    /// ln[(2πσ²)^{N/2} p_r(x|y)] as a function of s = ‖x − y‖²/σ², with r = σ√D:
    /// ln[Γ((N+D)/2)/(Γ(D/2)(D/2)^{N/2})] − ((N+D)/2) ln(1 + s/D), or −s/2 for D = ∞. Used for the
    /// densities, as it has no ±s/2 to cancel when s is large.
    fn log_shape(&self, s: f64) -> f64 {
        if self.d.is_infinite() {
            return -0.5 * s;
        }
        let (n, d) = (self.n as f64, self.d);
        ln_gamma_ratio_excess(0.5 * d, 0.5 * n) - 0.5 * (n + d) * (s / d).ln_1p()
    }

    /// ln p_r(x|y) at squared distance ‖x − y‖² = `dist2`, with r = σ√D.
    pub fn log_density_at_squared_distance(&self, dist2: f64, sigma: f64) -> f64 {
        -0.5 * self.n as f64 * (2.0 * std::f64::consts::PI * sigma * sigma).ln() + self.log_shape(dist2 / (sigma * sigma))
    }

    /// ln p_r(x|y), r = σ√D.
    pub fn log_density(&self, x: &[f64], y: &[f64], sigma: f64) -> f64 {
        assert_eq!(x.len(), self.n);
        self.log_density_at_squared_distance(exact_denoisers::squared_distance(x, y), sigma)
    }

    /// ln of the density of R = ‖x − y‖ at `radius`: ∝ R^{N−1}/(R² + r²)^{(N+D)/2} (thesis B.6), the
    /// σ·χ_N density for D = ∞.
    pub fn radius_log_density(&self, radius: f64, sigma: f64) -> f64 {
        let n = self.n as f64;
        let rho = radius / sigma;
        std::f64::consts::LN_2 + (n - 1.0) * rho.ln() - 0.5 * n * std::f64::consts::LN_2 - ln_gamma(0.5 * n) - sigma.ln() + self.log_shape(rho * rho)
    }

    /// P(R ≤ radius): the regularised incomplete Beta I_{u/(1+u)}(N/2, D/2) with u = R²/r², or the
    /// χ²_N distribution function at R²/σ² for D = ∞.
    pub fn radius_cdf(&self, radius: f64, sigma: f64) -> f64 {
        let (n, s) = (self.n as f64, (radius / sigma).powi(2));
        if self.d.is_infinite() {
            return gamma_lr(0.5 * n, 0.5 * s);
        }
        let u = s / self.d;
        beta_reg(0.5 * n, 0.5 * self.d, u / (1.0 + u))
    }

    /// E R² = r² N/(D − 2) = σ² N D/(D − 2) (beta-prime mean), ∞ for D ≤ 2; σ² N for D = ∞.
    pub fn radius_squared_mean(&self, sigma: f64) -> f64 {
        let (n, d) = (self.n as f64, self.d);
        match d {
            _ if d.is_infinite() => sigma * sigma * n,
            _ if d <= 2.0 => f64::INFINITY,
            _ => sigma * sigma * n / (1.0 - 2.0 / d),
        }
    }

    /// Var R² = r⁴ a(a + b − 1)/((b − 2)(b − 1)²) with a = N/2, b = D/2 (beta-prime variance), ∞ for
    /// D ≤ 4; 2Nσ⁴ for D = ∞.
    pub fn radius_squared_variance(&self, sigma: f64) -> f64 {
        let (n, d, s4) = (self.n as f64, self.d, sigma.powi(4));
        match d {
            _ if d.is_infinite() => 2.0 * n * s4,
            _ if d <= 4.0 => f64::INFINITY,
            _ => {
                let (a, b) = (0.5 * n, 0.5 * d);
                // r⁴ = σ⁴D² = 4σ⁴b²; written with b/(b − 1) factors so that it is exact as b → ∞.
                4.0 * s4 * a * (a + b - 1.0) / (b - 2.0) * (b / (b - 1.0)).powi(2)
            }
        }
    }

    /// E R = r Γ((N+1)/2) Γ((D−1)/2)/(Γ(N/2) Γ(D/2)) (thesis §3.1), ∞ for D ≤ 1;
    /// σ√2 Γ((N+1)/2)/Γ(N/2) for D = ∞.
    pub fn radius_mean(&self, sigma: f64) -> f64 {
        let (n, d) = (self.n as f64, self.d);
        // Γ((N+1)/2)/(Γ(N/2)) = (N/2)^{1/2} e^{excess(N/2, 1/2)}.
        let chi = (0.5 * n).sqrt() * ln_gamma_ratio_excess(0.5 * n, 0.5).exp();
        match d {
            _ if d.is_infinite() => sigma * std::f64::consts::SQRT_2 * chi,
            _ if d <= 1.0 => f64::INFINITY,
            _ => {
                // √D Γ((D−1)/2)/Γ(D/2) = √(2D/(D − 1)) e^{−excess((D−1)/2, 1/2)}.
                let x = 0.5 * (d - 1.0);
                sigma * (d / x).sqrt() * (-ln_gamma_ratio_excess(x, 0.5)).exp() * chi
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quadrature::integrate;

    #[test]
    fn density_integrates_to_one_and_matches_the_closed_form() {
        for (n, d) in [(1, 1.0), (3, 0.5), (20, 8.0), (20, 3.0e6), (20, f64::INFINITY)] {
            let k = Kernel::new(n, d);
            let sigma = 0.7;
            // Radius density integrated in t = ln R over a wide range (D = 0.5 has a heavy tail).
            let mass = integrate(|t: f64| (k.radius_log_density(t.exp(), sigma) + t).exp(), -40.0, 250.0, 2000);
            assert!((mass - 1.0).abs() < 1e-10, "N = {n}, D = {d}: mass {mass}");
            if d.is_finite() {
                // The definition, at a moderate D where ln Γ has no cancellation problem.
                if d < 100.0 {
                    let (nf, dist2, r) = (n as f64, 1.3f64, sigma * d.sqrt());
                    let direct = ln_gamma(0.5 * (nf + d)) + d * r.ln()
                        - 0.5 * nf * std::f64::consts::PI.ln()
                        - ln_gamma(0.5 * d)
                        - 0.5 * (nf + d) * (dist2 + r * r).ln();
                    let ours = k.log_density_at_squared_distance(dist2, sigma);
                    assert!((ours - direct).abs() < 1e-12 * direct.abs().max(1.0), "{ours} vs {direct}");
                }
            }
        }
    }

    #[test]
    fn moments_match_quadrature() {
        for d in [5.5, 64.0, 3.0e6] {
            let k = Kernel::new(20, d);
            let sigma = 1.3;
            let moment = |p: i32| integrate(|t: f64| (k.radius_log_density(t.exp(), sigma) + t).exp() * t.exp().powi(p), -40.0, 60.0, 2000);
            let (m1, m2, m4) = (moment(1), moment(2), moment(4));
            assert!((m1 / k.radius_mean(sigma) - 1.0).abs() < 1e-10, "D = {d}: E R");
            assert!((m2 / k.radius_squared_mean(sigma) - 1.0).abs() < 1e-10, "D = {d}: E R²");
            assert!(((m4 - m2 * m2) / k.radius_squared_variance(sigma) - 1.0).abs() < 1e-8, "D = {d}: Var R²");
        }
    }

    #[test]
    fn large_d_tends_to_the_gaussian() {
        let g = Kernel::new(20, f64::INFINITY);
        for d in [1e4, 1e6, 1e8] {
            let k = Kernel::new(20, d);
            for s in [0.0, 5.0, 20.0, 60.0] {
                let lr = k.log_ratio_to_gaussian(s);
                // First order: ((s − N)² − 2N)/(4D).
                let first = ((s - 20.0).powi(2) - 40.0) / (4.0 * d);
                assert!((lr - first).abs() < 10.0 * (60.0f64).powi(3) / (d * d), "D = {d}, s = {s}: {lr} vs {first}");
            }
            assert!((k.radius_mean(1.0) / g.radius_mean(1.0) - 1.0).abs() < 10.0 / d);
            assert!((k.radius_cdf(4.5, 1.0) - g.radius_cdf(4.5, 1.0)).abs() < 10.0 / d);
        }
    }
}
