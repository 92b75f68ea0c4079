//! The training-loss record: the mean loss over each window of `log_every` steps.

use serde::{Deserialize, Serialize};

/// The mean loss over steps (step − log_every, step].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    /// Number of completed steps at the end of the window.
    pub step: u64,
    /// Mean of the per-step batch losses in the window.
    pub loss: f64,
}

/// Closed windows plus the running sum of the open one; saved in checkpoints, so a resumed run
/// reports the same record as an uninterrupted one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossLog {
    points: Vec<LossPoint>,
    window_sum: f64,
    window_len: u64,
}

impl LossLog {
    /// Adds the loss of step number `step` (1-based); closes the window when `step` is a multiple of `every`.
    pub fn record(&mut self, step: u64, loss: f64, every: u64) {
        self.window_sum += loss;
        self.window_len += 1;
        if step.is_multiple_of(every) {
            self.points.push(LossPoint {
                step,
                loss: self.window_sum / self.window_len as f64,
            });
            self.window_sum = 0.0;
            self.window_len = 0;
        }
    }

    /// The closed windows, oldest first.
    pub fn points(&self) -> &[LossPoint] {
        &self.points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_average_their_steps() {
        let mut log = LossLog::default();
        for step in 1..=7 {
            log.record(step, step as f64, 3);
        }
        assert_eq!(log.points(), &[LossPoint { step: 3, loss: 2.0 }, LossPoint { step: 6, loss: 5.0 }]);
    }
}
