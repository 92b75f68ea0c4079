//! EDM's preconditioning (Karras et al. 2022, Table 1 "Network and preconditioning", Eq. 7):
//! D_θ(x; σ) = c_skip(σ) x + c_out(σ) F_θ(c_in(σ) x; c_noise(σ)), and the loss weight λ(σ) of Eq. 8.
//!
//! The coefficients make the network's input and effective training target unit-variance
//! whatever σ is (EDM App. B.6): c_in² (σ² + σ_d²) = 1, c_skip minimises c_out, and
//! λ(σ) c_out(σ)² = 1 so that every σ contributes equally to the loss.

/// The four preconditioning coefficients at one σ (EDM Table 1, "EDM" column).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coefficients {
    /// c_skip(σ) = σ_d² / (σ² + σ_d²): how much of the noisy input passes through.
    pub c_skip: f64,
    /// c_out(σ) = σ σ_d / √(σ² + σ_d²): the scale of the network's output.
    pub c_out: f64,
    /// c_in(σ) = 1 / √(σ² + σ_d²): scales the noisy input to unit variance.
    pub c_in: f64,
    /// c_noise(σ) = ¼ ln σ: the noise-level input of the network.
    pub c_noise: f64,
}

/// EDM's preconditioning for data of per-coordinate standard deviation σ_data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EdmPrecond {
    /// σ_data, the standard deviation of one data coordinate (EDM uses 0.5 for images in [−1, 1]).
    pub sigma_data: f64,
}

impl EdmPrecond {
    /// The coefficients at noise level `sigma` (EDM Table 1).
    pub fn coefficients(&self, sigma: f64) -> Coefficients {
        let sd2 = self.sigma_data * self.sigma_data;
        let total = sigma * sigma + sd2;
        Coefficients {
            c_skip: sd2 / total,
            c_out: sigma * self.sigma_data / total.sqrt(),
            c_in: 1.0 / total.sqrt(),
            c_noise: 0.25 * sigma.ln(),
        }
    }

    /// The loss weight λ(σ) = (σ² + σ_d²) / (σ σ_d)² of EDM Eq. 8 (Table 1), which equals 1 / c_out(σ)².
    pub fn loss_weight(&self, sigma: f64) -> f64 {
        let sd2 = self.sigma_data * self.sigma_data;
        (sigma * sigma + sd2) / (sigma * sigma * sd2)
    }
}

/// The preconditioning of a network: EDM's, or the VE one of Song et al.'s NCSN++ (EDM Table 1,
/// "VE" column: c_skip = 1, c_out = σ, c_in = 1, c_noise = ln(σ/2), λ(σ) = 1/σ²), under which
/// D_θ = x + σF_θ, i.e. the network predicts −σ times the score as NCSN++ does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Precond {
    /// EDM's (Table 1, "EDM" column).
    Edm(EdmPrecond),
    /// Song et al.'s VE (Table 1, "VE" column).
    Ve,
}

impl Precond {
    /// The coefficients at noise level `sigma`.
    pub fn coefficients(&self, sigma: f64) -> Coefficients {
        match self {
            Precond::Edm(p) => p.coefficients(sigma),
            Precond::Ve => Coefficients {
                c_skip: 1.0,
                c_out: sigma,
                c_in: 1.0,
                c_noise: (0.5 * sigma).ln(),
            },
        }
    }

    /// The loss weight λ(σ) = 1/c_out(σ)² (EDM Table 1 for both columns).
    pub fn loss_weight(&self, sigma: f64) -> f64 {
        match self {
            Precond::Edm(p) => p.loss_weight(sigma),
            Precond::Ve => 1.0 / (sigma * sigma),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGMAS: [f64; 7] = [0.002, 0.01, 0.1, 0.5, 1.0, 7.0, 80.0];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn coefficients_satisfy_edms_closed_forms() {
        for sigma_data in [0.5, 1.0, 2.0] {
            let p = EdmPrecond { sigma_data };
            for sigma in SIGMAS {
                let c = p.coefficients(sigma);
                // Unit-variance input (EDM App. B.6): c_in² (σ² + σ_d²) = 1.
                assert!(close(c.c_in * c.c_in * (sigma * sigma + sigma_data * sigma_data), 1.0));
                // c_skip + c_out² / σ_d² = 1 and c_out² = σ² c_skip (both from Table 1's closed forms).
                assert!(close(c.c_skip + c.c_out * c.c_out / (sigma_data * sigma_data), 1.0));
                assert!(close(c.c_out * c.c_out, sigma * sigma * c.c_skip));
                // The effective target (y − c_skip x)/c_out has unit variance (EDM App. B.6):
                // ((1 − c_skip)² σ_d² + c_skip² σ²) / c_out² = 1.
                let var = ((1.0 - c.c_skip).powi(2) * sigma_data * sigma_data + c.c_skip.powi(2) * sigma * sigma) / (c.c_out * c.c_out);
                assert!(close(var, 1.0), "σ = {sigma}: effective target variance {var}");
                // λ(σ) c_out(σ)² = 1 (EDM App. B.6: uniform effective weight).
                assert!(close(p.loss_weight(sigma) * c.c_out * c.c_out, 1.0));
                assert!(close(c.c_noise, sigma.ln() / 4.0));
            }
        }
    }

    #[test]
    fn ve_weights_the_score_matching_loss_like_song_et_al() {
        // λ(σ)‖D − y‖² with D = x + σF and x = y + σn is ‖F + n‖²: NCSN++'s σ²-weighted score loss
        // ‖σ s_θ + n‖² with s_θ = F/σ.
        for sigma in SIGMAS {
            let c = Precond::Ve.coefficients(sigma);
            assert_eq!((c.c_skip, c.c_in), (1.0, 1.0));
            assert!(close(Precond::Ve.loss_weight(sigma) * c.c_out * c.c_out, 1.0));
            assert!(close(c.c_noise, (sigma / 2.0).ln()));
        }
        let edm = EdmPrecond { sigma_data: 0.5 };
        assert_eq!(Precond::Edm(edm).coefficients(0.3), edm.coefficients(0.3));
        assert_eq!(Precond::Edm(edm).loss_weight(0.3), edm.loss_weight(0.3));
    }

    #[test]
    fn limits_at_zero_and_infinite_noise() {
        let p = EdmPrecond { sigma_data: 0.5 };
        let zero = p.coefficients(0.0);
        assert_eq!(zero.c_skip, 1.0);
        assert_eq!(zero.c_out, 0.0);
        assert_eq!(zero.c_in, 2.0);
        let big = p.coefficients(1e8);
        assert!(big.c_skip < 1e-16 && (big.c_out - 0.5).abs() < 1e-12);
    }
}
