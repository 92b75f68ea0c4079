//! The tables' last columns: can the equation become a generative model (Sec. 9.4)? Fixed rules,
//! stated before any table was computed: smooth from Eq. 9.8 and the unsmoothed plateau, density
//! flow from the sign of the induced density, and the verdict the weaker of the two.

use crate::smoothness::Criterion;

/// The sign of the induced density on the grid it was checked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Positivity {
    /// p ≥ 0 everywhere.
    Holds,
    /// p ≥ 0 only while a parameter stays in a window (Helmholtz: k₀ρ below the first sign change).
    Window,
    /// p ≥ 0 but with zeros where the velocity is singular (Schrödinger, A.128).
    Zeros,
    /// p < 0 somewhere.
    Fails,
}

/// Can / conditionally / cannot, ordered from worst to best.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// No.
    Cannot,
    /// Only in a parameter regime (the tables' "conditionally").
    Conditionally,
    /// Yes.
    Can,
}

impl Verdict {
    /// 1, ½ or 0: the number compared with the paper's cell.
    pub fn code(&self) -> f64 {
        match self {
            Verdict::Can => 1.0,
            Verdict::Conditionally => 0.5,
            Verdict::Cannot => 0.0,
        }
    }

    /// The word in the tables.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Can => "yes",
            Verdict::Conditionally => "conditionally",
            Verdict::Cannot => "no",
        }
    }
}

/// Below this, a plateau weight counts as zero (it is e^{−(k-growth)·T} at k = 10⁸ otherwise).
pub const PLATEAU_ZERO: f64 = 1e-100;

/// The smooth column: Eq. 9.8 failing is "no"; holding only with equality on part of the k-range
/// (modes that never fade), or with a non-vanishing plateau (a fraction of the source that is
/// never spread and only dies out as the parameters make it, e^{−εT}), is "conditionally".
pub fn smooth(criterion: Criterion, plateau: f64) -> Verdict {
    match criterion {
        Criterion::Fails => Verdict::Cannot,
        Criterion::Marginal => Verdict::Conditionally,
        Criterion::Holds if plateau > PLATEAU_ZERO => Verdict::Conditionally,
        Criterion::Holds => Verdict::Can,
    }
}

/// The density-flow column from the sign of p.
pub fn density_flow(p: Positivity) -> Verdict {
    match p {
        Positivity::Holds => Verdict::Can,
        Positivity::Window => Verdict::Conditionally,
        Positivity::Zeros | Positivity::Fails => Verdict::Cannot,
    }
}

/// The "smooth density flow" column: both conditions, so the weaker of the two.
pub fn generative(smooth: Verdict, density: Verdict) -> Verdict {
    smooth.min(density)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weaker_condition_decides() {
        assert_eq!(generative(smooth(Criterion::Holds, 0.0), density_flow(Positivity::Holds)), Verdict::Can);
        assert_eq!(smooth(Criterion::Holds, 1e-3), Verdict::Conditionally);
        assert_eq!(generative(Verdict::Can, density_flow(Positivity::Window)), Verdict::Conditionally);
        assert_eq!(generative(smooth(Criterion::Fails, 1.0), Verdict::Can), Verdict::Cannot);
        assert_eq!(generative(Verdict::Conditionally, density_flow(Positivity::Zeros)), Verdict::Cannot);
    }
}
