//! The kernel of a fixed potential log Φ = −(α/2) Σᵢⱼ k(xᵢ, xⱼ) (Eq. 6.4) and the repulsion it exerts
//! on one set of particles.

use crate::{modulus, radial, rbf, Bandwidth};

/// How the radial kernel's angular force moves a particle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Angular {
    /// Rotate about the origin by the force times the step (the authors' notebook): the potential
    /// acts on the angle as on a coordinate of its own, like the torsional kernel of B.4.2.
    Rotation,
    /// Move along the Cartesian gradient −∇ₓ Σⱼ k (Eq. 6.4 read literally; it grows as 1/r near the origin).
    Gradient,
}

/// A pairwise kernel with its bandwidth rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kernel {
    /// k = exp(−‖xᵢ − xⱼ‖²/h) on the whole state.
    Rbf(Bandwidth),
    /// k = exp(−Δθᵢⱼ²/h) on the wrapped angles about the origin of the first two coordinates.
    Radial {
        /// The bandwidth rule, applied to the angle differences.
        bandwidth: Bandwidth,
        /// How the angular force is applied.
        apply: Angular,
    },
    /// k = exp(−(‖xᵢ‖ − ‖xⱼ‖)²/h) on the distances from the origin: invariant under rotating any
    /// one particle (the condition of Prop. 3); it repels radii only.
    Modulus(Bandwidth),
}

/// The repulsion −∇ Σⱼ k(xᵢ, xⱼ) on every particle of one or more sets, in the coordinates it acts in.
#[derive(Clone, Debug, PartialEq)]
pub enum Repulsion {
    /// A displacement direction per particle (row-major n × dim).
    Displacement(Vec<f64>),
    /// An angular velocity per particle: rotate about the origin by this times the step.
    Rotation(Vec<f64>),
}

impl Kernel {
    /// The repulsion on each particle of one set (row-major n × dim) at noise level σ.
    pub fn repulsion(&self, set: &[f64], dim: usize, sigma: f64) -> Repulsion {
        let n = set.len() / dim;
        match *self {
            Kernel::Rbf(bw) => {
                let d2 = rbf::squared_distances(set, dim);
                let h = bw.per_particle(&d2, n, sigma);
                Repulsion::Displacement(rbf::repulsion(set, dim, &d2, &h))
            }
            Kernel::Radial { bandwidth, apply } => {
                let theta = radial::angles(set, dim);
                // The angle matrix costs as much as the force itself: build it only for a rule that reads it.
                let d2 = if bandwidth.uses_distances() {
                    radial::squared_distances(&theta)
                } else {
                    Vec::new()
                };
                let h = bandwidth.per_particle(&d2, n, sigma);
                let force = radial::angular_repulsion(&theta, &h);
                match apply {
                    Angular::Rotation => Repulsion::Rotation(force),
                    Angular::Gradient => Repulsion::Displacement(radial::cartesian(set, dim, &force)),
                }
            }
            Kernel::Modulus(bw) => {
                let rho = modulus::moduli(set, dim);
                let h = bw.per_particle(&modulus::squared_distances(&rho), n, sigma);
                Repulsion::Displacement(modulus::repulsion(set, dim, &rho, &h))
            }
        }
    }
}

impl Repulsion {
    /// The values, whatever the variant.
    pub fn values(&self) -> &[f64] {
        match self {
            Repulsion::Displacement(v) | Repulsion::Rotation(v) => v,
        }
    }

    /// Joins the repulsions of consecutive sets (all of one kernel, hence one variant).
    pub fn concat(parts: Vec<Repulsion>) -> Repulsion {
        let rotation = matches!(parts.first(), Some(Repulsion::Rotation(_)));
        let all: Vec<f64> = parts
            .into_iter()
            .flat_map(|p| match p {
                Repulsion::Displacement(v) | Repulsion::Rotation(v) => v,
            })
            .collect();
        if rotation {
            Repulsion::Rotation(all)
        } else {
            Repulsion::Displacement(all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notebook_repulsion_is_n_times_smaller() {
        // Notebook (Euclidean): repulsive_i = Σⱼ (2/h)(xᵢ − xⱼ) exp(−‖xᵢ − xⱼ‖²/h) / n with h = √var = σ.
        let x = [1.0, 0.0, 0.8, 0.5, -0.2, 0.9];
        let (n, sigma) = (3usize, 0.6);
        let rep = Kernel::Rbf(Bandwidth::Sigma { scale: 1.0, power: 1.0 }).repulsion(&x, 2, sigma);
        let Repulsion::Displacement(rep) = rep else {
            panic!("Euclidean RBF gives a displacement")
        };
        for i in 0..n {
            for k in 0..2 {
                let nb: f64 = (0..n)
                    .map(|j| {
                        let d2 = (x[2 * i] - x[2 * j]).powi(2) + (x[2 * i + 1] - x[2 * j + 1]).powi(2);
                        2.0 / sigma * (x[2 * i + k] - x[2 * j + k]) * (-d2 / sigma).exp()
                    })
                    .sum::<f64>()
                    / n as f64;
                assert!((rep[2 * i + k] / n as f64 - nb).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn radial_kernel_pushes_neighbours_apart_in_angle() {
        // Two particles at angles ±0.1: the one above rotates up, the one below down.
        let x = [0.1f64.cos(), 0.1f64.sin(), 0.1f64.cos(), -(0.1f64.sin())];
        let k = Kernel::Radial {
            bandwidth: Bandwidth::Fixed(0.5),
            apply: Angular::Rotation,
        };
        let Repulsion::Rotation(w) = k.repulsion(&x, 2, 1.0) else {
            panic!("rotation expected")
        };
        assert!(w[0] > 0.0 && w[1] < 0.0 && (w[0] + w[1]).abs() < 1e-15);
    }
}
