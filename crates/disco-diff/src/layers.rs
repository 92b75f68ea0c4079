//! A plain stack of linear layers with SiLU between them and no time embedding: DisCo-Diff's
//! encoder ("a three-layer MLP", thesis App. B.2.2) and the autoregressive prior's network.

use anyhow::{ensure, Result};
use candle_core::Tensor;
use candle_nn::{Linear, Module};
use training::params::{kaiming, lecun, linear_specs, ParamSpec};

/// Appends the parameters of a stack with layer widths `widths` = [in, hidden…, out] under
/// `<prefix>.<l>.weight` / `.bias`: He-uniform hidden layers and a U(±1/√fan_in) output layer
/// (so outputs — logits, means — start small), zero biases.
pub fn dense_specs(specs: &mut Vec<ParamSpec>, prefix: &str, widths: &[usize]) {
    let last = widths.len().saturating_sub(2);
    for (l, w) in widths.windows(2).enumerate() {
        let init = if l == last { lecun(w[0]) } else { kaiming(w[0]) };
        linear_specs(specs, &format!("{prefix}.{l}"), w[0], w[1], init);
    }
}

/// The layers of a stack built by [`dense_specs`].
pub struct DenseStack {
    layers: Vec<Linear>,
}

impl DenseStack {
    /// The `layers` linear maps `<prefix>.<l>`, their tensors looked up by `get` (a `VarMap`'s,
    /// so that training updates them in place).
    pub fn new(prefix: &str, layers: usize, get: impl Fn(&str) -> Tensor) -> Self {
        DenseStack {
            layers: (0..layers)
                .map(|l| Linear::new(get(&format!("{prefix}.{l}.weight")), Some(get(&format!("{prefix}.{l}.bias")))))
                .collect(),
        }
    }

    /// h ← SiLU(W h + b) through every layer but the last, which is affine.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        ensure!(!self.layers.is_empty(), "a dense stack needs at least one layer");
        let mut h = x.clone();
        for (l, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if l + 1 < self.layers.len() {
                h = h.silu()?;
            }
        }
        Ok(h)
    }
}
