//! The equations of Tables 9.1 and 9.2 and their dispersion relations ω(k).
//!
//! Substituting φ = exp(−iωt + ik·x) turns ∂_t into −iω and ∇² into −k² (Sec. 9.3, A.139), so
//! each PDE becomes a polynomial P_k(ω) = Σ_j c_j(k) ω^j of degree equal to its order in time.
//! [`Equation::branches`] gives the roots in closed form, as the tables write them (with the
//! sign errata of spec §7 corrected); [`Equation::numeric_roots`] finds them independently as
//! the eigenvalues of the companion matrix (faer).

use faer::Mat;

/// Complex numbers (faer's, i.e. `num_complex::Complex<f64>`).
pub type C64 = faer::c64;

const I: C64 = C64 { re: 0.0, im: 1.0 };

fn c(re: f64) -> C64 {
    C64 { re, im: 0.0 }
}

/// One physical equation of Table 9.1 or 9.2, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Equation {
    /// φ_t − ∇²φ = 0 (Table 9.1 row 1).
    Diffusion,
    /// φ_tt + ∇²φ = 0, one spatial axis read as time (row 2).
    Poisson,
    /// φ_tt − ∇²φ = 0 (row 3).
    Wave,
    /// φ_tt + 2εφ_t − ∇²φ = 0, the telegrapher's equation (row 4).
    DissipativeWave {
        /// Damping ε > 0.
        eps: f64,
    },
    /// φ_tt + ∇²φ + k₀²φ = 0 (row 5).
    Helmholtz {
        /// Wavenumber k₀ > 0.
        k0: f64,
    },
    /// φ_tt + ∇²φ − m²φ = 0, screened Poisson / Yukawa (row 6).
    ScreenedPoisson {
        /// Mass m > 0.
        m: f64,
    },
    /// iφ_t + ∇²φ = 0, free Schrödinger (row 7).
    Schrodinger,
    /// aφ_tt − bφ_t + ∇²φ = 0, a, b > 0 (Table 9.2 row 1).
    MixedDiffusionPoisson {
        /// Coefficient of φ_tt.
        a: f64,
        /// Coefficient of −φ_t.
        b: f64,
    },
    /// φ_t + (−Δ)^β φ = 0, β > 0 (Table 9.2 row 2).
    FractionalDiffusion {
        /// The power β.
        beta: f64,
    },
    /// φ_ttt − Δφ = 0 (Table 9.2 row 3; the thesis writes "Δu").
    ThirdOrderDiffusion,
    /// φ_t + ∇²∇²φ = 0, elasticity / biharmonic (Table 9.2 row 4).
    Biharmonic,
}

impl Equation {
    /// The coefficients c_0, c_1, … of P_k(ω) = e^{iωt − ik·x} L̂ e^{−iωt + ik·x}, lowest power first.
    pub fn polynomial(&self, k: f64) -> Vec<C64> {
        let k2 = k * k;
        match *self {
            // −iω + k²
            Equation::Diffusion => vec![c(k2), -I],
            // −ω² − k²
            Equation::Poisson => vec![c(-k2), c(0.0), c(-1.0)],
            // −ω² + k²
            Equation::Wave => vec![c(k2), c(0.0), c(-1.0)],
            // −ω² − 2iεω + k²
            Equation::DissipativeWave { eps } => vec![c(k2), -2.0 * eps * I, c(-1.0)],
            // −ω² − k² + k₀²
            Equation::Helmholtz { k0 } => vec![c(k0 * k0 - k2), c(0.0), c(-1.0)],
            // −ω² − k² − m²
            Equation::ScreenedPoisson { m } => vec![c(-k2 - m * m), c(0.0), c(-1.0)],
            // i(−iω) − k² = ω − k²
            Equation::Schrodinger => vec![c(-k2), c(1.0)],
            // −aω² + ibω − k²
            Equation::MixedDiffusionPoisson { a, b } => vec![c(-k2), b * I, c(-a)],
            // −iω + k^{2β}: (−Δ)^β is the Fourier multiplier |k|^{2β}
            Equation::FractionalDiffusion { beta } => vec![c(k.abs().powf(2.0 * beta)), -I],
            // (−iω)³ + k² = iω³ + k²
            Equation::ThirdOrderDiffusion => vec![c(k2), c(0.0), c(0.0), I],
            // −iω + k⁴
            Equation::Biharmonic => vec![c(k2 * k2), -I],
        }
    }

    /// P_k(ω), the PDE's symbol: zero exactly on the dispersion relation.
    pub fn symbol(&self, omega: C64, k: f64) -> C64 {
        self.polynomial(k).iter().rev().fold(c(0.0), |acc, &cj| acc * omega + cj)
    }

    /// The branches ω_b(k) in closed form, in a fixed order (the decaying one first where the
    /// tables single one out). Square roots are principal, so each branch is one analytic
    /// expression over all k ≥ 0.
    pub fn branches(&self, k: f64) -> Vec<C64> {
        let k2 = k * k;
        match *self {
            // ω = −ik² (Table 9.1)
            Equation::Diffusion => vec![-I * k2],
            // ω = ±ik
            Equation::Poisson => vec![-I * k, I * k],
            // ω = ±k
            Equation::Wave => vec![c(k), c(-k)],
            // ω = −iε ± √(k² − ε²): i(−ε ± √(ε² − k²)) for k ≤ ε, −iε ± √(k² − ε²) for k > ε
            // (the table's "iε ±" for k > ε is the erratum of spec §7).
            Equation::DissipativeWave { eps } => {
                let s = c(k2 - eps * eps).sqrt();
                vec![-I * eps + s, -I * eps - s]
            }
            // ω = ∓i√(k² − k₀²): ±√(k₀² − k²) for k ≤ k₀, ∓i√(k² − k₀²) for k > k₀
            Equation::Helmholtz { k0 } => {
                let s = c(k2 - k0 * k0).sqrt();
                vec![-I * s, I * s]
            }
            // ω = ∓i√(k² + m²)
            Equation::ScreenedPoisson { m } => {
                let s = (k2 + m * m).sqrt();
                vec![-I * s, I * s]
            }
            // ω = k²
            Equation::Schrodinger => vec![c(k2)],
            // ω = (i/2a)(b ∓ √(b² + 4ak²))
            Equation::MixedDiffusionPoisson { a, b } => {
                let s = (b * b + 4.0 * a * k2).sqrt();
                vec![I * ((b - s) / (2.0 * a)), I * ((b + s) / (2.0 * a))]
            }
            // ω = −ik^{2β}
            Equation::FractionalDiffusion { beta } => vec![-I * k.abs().powf(2.0 * beta)],
            // ω ∈ {−i, e^{iπ/6}, e^{i5π/6}} k^{2/3}
            Equation::ThirdOrderDiffusion => {
                let r = k.abs().powf(2.0 / 3.0);
                let pi = std::f64::consts::PI;
                vec![-I * r, C64::from_polar(r, pi / 6.0), C64::from_polar(r, 5.0 * pi / 6.0)]
            }
            // ω = −ik⁴
            Equation::Biharmonic => vec![-I * (k2 * k2)],
        }
    }

    /// The roots of P_k by the eigenvalues of its companion matrix, in faer's order.
    pub fn numeric_roots(&self, k: f64) -> Vec<C64> {
        let p = self.polynomial(k);
        let d = p.len() - 1;
        let lead = p[d];
        // Companion matrix of the monic polynomial ω^d + Σ a_j ω^j: ones below the diagonal,
        // −a_j in the last column.
        let m = Mat::<C64>::from_fn(d, d, |i, j| {
            if j == d - 1 {
                -p[i] / lead
            } else if i == j + 1 {
                c(1.0)
            } else {
                c(0.0)
            }
        });
        m.eigenvalues().expect("the companion matrix of a degree ≤ 3 polynomial has eigenvalues")
    }

    /// max_b |ω_b(k) − nearest numeric root| / (1 + |ω_b(k)|), pairing roots one to one.
    pub fn numeric_gap(&self, k: f64) -> f64 {
        let closed = self.branches(k);
        let numeric = self.numeric_roots(k);
        assert_eq!(closed.len(), numeric.len(), "{self:?}: branch count");
        // Best of all pairings (degree ≤ 3: at most 6).
        permutations(numeric.len())
            .into_iter()
            .map(|perm| {
                closed
                    .iter()
                    .zip(&perm)
                    .map(|(w, &j)| (w - numeric[j]).norm() / (1.0 + w.norm()))
                    .fold(0.0, f64::max)
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// Short name of the row.
    pub fn name(&self) -> &'static str {
        match self {
            Equation::Diffusion => "diffusion",
            Equation::Poisson => "poisson",
            Equation::Wave => "ideal-wave",
            Equation::DissipativeWave { .. } => "dissipative-wave",
            Equation::Helmholtz { .. } => "helmholtz",
            Equation::ScreenedPoisson { .. } => "screened-poisson",
            Equation::Schrodinger => "schrodinger",
            Equation::MixedDiffusionPoisson { .. } => "mixed-diffusion-poisson",
            Equation::FractionalDiffusion { .. } => "fractional-diffusion",
            Equation::ThirdOrderDiffusion => "third-order-diffusion",
            Equation::Biharmonic => "biharmonic",
        }
    }
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n <= 1 {
        return vec![(0..n).collect()];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for pos in 0..n {
            let mut q = p.clone();
            q.insert(pos, n - 1);
            out.push(q);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Equation> {
        vec![
            Equation::Diffusion,
            Equation::Poisson,
            Equation::Wave,
            Equation::DissipativeWave { eps: 0.7 },
            Equation::Helmholtz { k0: 1.3 },
            Equation::ScreenedPoisson { m: 0.5 },
            Equation::Schrodinger,
            Equation::MixedDiffusionPoisson { a: 0.8, b: 1.5 },
            Equation::FractionalDiffusion { beta: 0.75 },
            Equation::ThirdOrderDiffusion,
            Equation::Biharmonic,
        ]
    }

    /// L̂ applied to the plane wave e^{−iωt + ikx} in 1-D by central differences in t and x
    /// (spacing h), divided by the wave: an operator evaluation independent of `polynomial`.
    fn finite_difference_symbol(eq: &Equation, omega: C64, k: f64, h: f64) -> C64 {
        let wave = |t: f64, x: f64| (-I * omega * t + I * k * x).exp();
        let (t, x) = (0.3, -0.2);
        let u = wave(t, x);
        let dt = (wave(t + h, x) - wave(t - h, x)) / (2.0 * h);
        let dtt = (wave(t + h, x) - 2.0 * u + wave(t - h, x)) / (h * h);
        let dttt = (wave(t + 2.0 * h, x) - 2.0 * wave(t + h, x) + 2.0 * wave(t - h, x) - wave(t - 2.0 * h, x)) / (2.0 * h * h * h);
        let dxx = (wave(t, x + h) - 2.0 * u + wave(t, x - h)) / (h * h);
        // The fourth difference divides by h⁴: a coarser step keeps its rounding error small.
        let g = 10.0 * h;
        let dxxxx = (wave(t, x + 2.0 * g) - 4.0 * wave(t, x + g) + 6.0 * u - 4.0 * wave(t, x - g) + wave(t, x - 2.0 * g)) / (g * g * g * g);
        let v = match *eq {
            Equation::Diffusion => dt - dxx,
            Equation::Poisson => dtt + dxx,
            Equation::Wave => dtt - dxx,
            Equation::DissipativeWave { eps } => dtt + 2.0 * eps * dt - dxx,
            Equation::Helmholtz { k0 } => dtt + dxx + k0 * k0 * u,
            Equation::ScreenedPoisson { m } => dtt + dxx - m * m * u,
            Equation::Schrodinger => I * dt + dxx,
            Equation::MixedDiffusionPoisson { a, b } => a * dtt - b * dt + dxx,
            // (−Δ)^β has no local stencil; β = 1 is −Δ, checked by the caller.
            Equation::FractionalDiffusion { .. } => dt - dxx,
            Equation::ThirdOrderDiffusion => dttt - dxx,
            Equation::Biharmonic => dt + dxxxx,
        };
        v / u
    }

    #[test]
    fn every_branch_is_a_root_of_the_pde_applied_to_a_plane_wave() {
        for eq in all() {
            for k in [0.0, 0.1, 0.5, 0.7, 1.0, 1.3, 2.0, 5.0] {
                for w in eq.branches(k) {
                    // The polynomial, exactly.
                    let scale = 1.0 + w.norm().powi(3) + k.powi(4);
                    assert!(eq.symbol(w, k).norm() < 1e-12 * scale, "{eq:?} k = {k}: P(ω) = {}", eq.symbol(w, k));
                    // The operator by finite differences (O(h²) error), for the local PDEs.
                    let local = match eq {
                        Equation::FractionalDiffusion { .. } => Equation::FractionalDiffusion { beta: 1.0 },
                        e => e,
                    };
                    let w_local = if local == eq { w } else { local.branches(k)[0] };
                    if k <= 2.0 {
                        let r = finite_difference_symbol(&local, w_local, k, 1e-3);
                        assert!(r.norm() < 1e-4 * scale, "{local:?} k = {k}: L̂φ/φ = {r}");
                    }
                }
                // And a non-root is not one.
                let off = eq.branches(k)[0] + C64::new(0.3, 0.2);
                assert!(eq.symbol(off, k).norm() > 1e-3, "{eq:?}: symbol vanishes off the relation");
            }
        }
    }

    #[test]
    fn companion_eigenvalues_agree_with_the_closed_forms() {
        for eq in all() {
            for k in [0.0, 0.05, 0.6, 1.0, 3.0, 10.0] {
                assert!(eq.numeric_gap(k) < 1e-8, "{eq:?} at k = {k}: gap {}", eq.numeric_gap(k));
            }
        }
    }

    #[test]
    fn the_tables_printed_forms_hold_on_each_side_of_the_threshold() {
        // Dissipative wave: i(−ε + √(ε² − k²)) below ε, −iε + √(k² − ε²) above (corrected sign).
        let eq = Equation::DissipativeWave { eps: 1.0 };
        let w = eq.branches(0.6)[0];
        assert!((w - I * (-1.0 + 0.8)).norm() < 1e-15);
        let w = eq.branches(2.0)[0];
        assert!((w - (-I + c(3f64.sqrt()))).norm() < 1e-15);
        // Helmholtz: √(k₀² − k²) below k₀, −i√(k² − k₀²) above.
        let eq = Equation::Helmholtz { k0: 1.0 };
        assert!((eq.branches(0.6)[0] - c(0.8)).norm() < 1e-15);
        assert!((eq.branches(2.0)[0] + I * 3f64.sqrt()).norm() < 1e-15);
    }
}
