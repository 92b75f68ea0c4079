//! Lemma 7 (App. A.2.2, l.2697): for ξ_x, ξ_y ~ N(0, σ²I),
//! TV(x + ξ_x, y + ξ_y) = 1 − 2Q(r) ≤ 1 − (2r/(r² + 1))φ(r), r = ‖x − y‖/(2σ).

use crate::{phi, q};

/// The identity's right-hand side 1 − 2Q(r).
pub fn tv_identity(r: f64) -> f64 {
    1.0 - 2.0 * q(r)
}

/// The upper bound 1 − (2r/(r² + 1))φ(r), from Q(r) ≥ (r/(r² + 1))φ(r).
pub fn tv_upper_bound(r: f64) -> f64 {
    1.0 - 2.0 * r / (r * r + 1.0) * phi(r)
}
