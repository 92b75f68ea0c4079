//! The paper's numbers and claims, and the verdict of ours against them.

use serde::{Deserialize, Serialize};

/// What kind of statement a reference is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A number the paper reports; ours must lie within the tolerance.
    Number,
    /// An inequality the theory asserts; ours must lie within [lower, upper].
    Bound,
    /// A qualitative claim measured by an indicator; ours must lie within [lower, upper].
    Qualitative,
}

/// One reference value or claim, tied to a quantity the experiment computes (`key`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The key of the computed quantity this reference is compared with.
    pub key: String,
    /// What the quantity is, for the side-by-side table.
    pub quantity: String,
    /// Number, bound or qualitative.
    pub kind: Kind,
    /// The paper's value (kind = number).
    #[serde(default)]
    pub paper: Option<f64>,
    /// Absolute tolerance on |ours − paper| (kind = number).
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// Lower end of the accepted range (bound, qualitative).
    #[serde(default)]
    pub lower: Option<f64>,
    /// Upper end of the accepted range (bound, qualitative).
    #[serde(default)]
    pub upper: Option<f64>,
    /// Where the reference comes from (section, line, table cell).
    pub source: String,
    /// The claim in words, or how the paper's value was read.
    #[serde(default)]
    pub note: String,
}

/// The outcome of comparing ours with a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// A number within tolerance.
    Reproduced,
    /// A number outside tolerance.
    Differs,
    /// A bound that holds.
    BoundHolds,
    /// A bound that fails.
    BoundFails,
    /// A qualitative claim that holds.
    ClaimHolds,
    /// A qualitative claim that fails.
    ClaimFails,
}

impl Verdict {
    /// The words printed in tables.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::Differs => "differs",
            Verdict::BoundHolds => "bound holds",
            Verdict::BoundFails => "bound fails",
            Verdict::ClaimHolds => "qualitative claim holds",
            Verdict::ClaimFails => "qualitative claim fails",
        }
    }
}

impl Reference {
    /// Checks that the fields needed by the kind are present.
    pub fn validate(&self) -> Result<(), String> {
        match self.kind {
            Kind::Number if self.paper.is_none() || self.tolerance.is_none() => {
                Err(format!("reference `{}`: kind = \"number\" needs `paper` and `tolerance`", self.key))
            }
            Kind::Bound | Kind::Qualitative if self.lower.is_none() && self.upper.is_none() => {
                Err(format!("reference `{}`: kind = \"{:?}\" needs `lower` and/or `upper`", self.key, self.kind).to_lowercase())
            }
            _ if self.tolerance.is_some_and(|t| t.is_nan() || t < 0.0) => Err(format!("reference `{}`: tolerance must be ≥ 0", self.key)),
            _ => Ok(()),
        }
    }

    /// The verdict for our value.
    pub fn verdict(&self, ours: f64) -> Verdict {
        let within = |lo: Option<f64>, hi: Option<f64>| lo.is_none_or(|l| ours >= l) && hi.is_none_or(|h| ours <= h);
        match self.kind {
            Kind::Number => {
                let (p, t) = (self.paper.unwrap_or(f64::NAN), self.tolerance.unwrap_or(0.0));
                if (ours - p).abs() <= t {
                    Verdict::Reproduced
                } else {
                    Verdict::Differs
                }
            }
            Kind::Bound => {
                if within(self.lower, self.upper) {
                    Verdict::BoundHolds
                } else {
                    Verdict::BoundFails
                }
            }
            Kind::Qualitative => {
                if within(self.lower, self.upper) {
                    Verdict::ClaimHolds
                } else {
                    Verdict::ClaimFails
                }
            }
        }
    }

    /// The paper column of the side-by-side table.
    pub fn paper_text(&self) -> String {
        match (self.kind, self.paper) {
            (Kind::Number, Some(p)) => format!("{p}"),
            _ => self.note.clone(),
        }
    }

    /// The tolerance column of the side-by-side table.
    pub fn tolerance_text(&self) -> String {
        let num = |x: f64| if x != 0.0 && x.abs() < 1e-3 { format!("{x:e}") } else { format!("{x}") };
        match self.kind {
            Kind::Number => format!("± {}", num(self.tolerance.unwrap_or(0.0))),
            _ => match (self.lower, self.upper) {
                (Some(l), Some(u)) => format!("in [{}, {}]", num(l), num(u)),
                (Some(l), None) => format!("≥ {}", num(l)),
                (None, Some(u)) => format!("≤ {}", num(u)),
                (None, None) => String::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: Kind) -> Reference {
        Reference {
            key: "k".into(),
            quantity: "q".into(),
            kind,
            paper: Some(1.73),
            tolerance: Some(0.02),
            lower: None,
            upper: Some(0.0),
            source: "s".into(),
            note: String::new(),
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(r(Kind::Number).verdict(1.74), Verdict::Reproduced);
        assert_eq!(r(Kind::Number).verdict(1.80), Verdict::Differs);
        assert_eq!(r(Kind::Number).verdict(f64::NAN), Verdict::Differs);
        assert_eq!(r(Kind::Bound).verdict(0.0), Verdict::BoundHolds);
        assert_eq!(r(Kind::Bound).verdict(1.0), Verdict::BoundFails);
        assert_eq!(r(Kind::Qualitative).verdict(-1.0), Verdict::ClaimHolds);
        assert_eq!(r(Kind::Qualitative).verdict(f64::NAN), Verdict::ClaimFails);
    }

    #[test]
    fn incomplete_references_are_rejected() {
        let mut x = r(Kind::Number);
        x.tolerance = None;
        assert!(x.validate().unwrap_err().contains("tolerance"));
        let mut y = r(Kind::Bound);
        y.upper = None;
        assert!(y.validate().is_err());
    }
}
