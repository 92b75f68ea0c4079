//! Named parameter tensors: their shapes and initialisations, seeded initial values, and the
//! candle `VarMap` that holds them, shared by every network of this crate and by networks built
//! on it elsewhere (DisCo-Diff's encoder and prior in `disco-diff`).
//!
//! Weights are drawn from a [`seeding::Stream`] (candle's CPU generator cannot be seeded), each
//! parameter from `stream.named(name)`, so a parameter's initial value depends only on the seed
//! path and its name.

use anyhow::{ensure, Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use rand::Rng as _;

/// How a parameter starts.
#[derive(Clone, Copy, Debug)]
pub enum Init {
    /// U(±bound).
    Uniform(f64),
    /// All zeros.
    Zero,
    /// All ones (a normalisation's scale).
    One,
}

/// He et al. (2015) uniform initialisation for a layer with `n` inputs, U(±√(6/n)) (the ReLU gain;
/// SiLU is close). With PyTorch's smaller default U(±1/√n) a 4-mode 2-D set stayed on the trivial
/// solution F_θ ≈ 0 for over a thousand steps.
pub fn kaiming(n: usize) -> Init {
    Init::Uniform((6.0 / n as f64).sqrt())
}

/// PyTorch's `nn.Linear` default for a layer with `n` inputs, U(±1/√n): used for output layers
/// so that F_θ starts small.
pub fn lecun(n: usize) -> Init {
    Init::Uniform(1.0 / (n as f64).sqrt())
}

/// One parameter tensor: name, shape, initialisation.
pub struct ParamSpec {
    /// The parameter's name (a `VarMap` key and a checkpoint tensor name).
    pub name: String,
    /// Its shape (a weight is out × in).
    pub shape: Vec<usize>,
    /// How it starts.
    pub init: Init,
}

impl ParamSpec {
    /// A parameter `name` of `shape` initialised by `init`.
    pub fn new(name: String, shape: Vec<usize>, init: Init) -> Self {
        ParamSpec { name, shape, init }
    }

    fn len(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Appends `<prefix>.weight` (out × inp), initialised by `init`, and `<prefix>.bias` (out), zero
/// like EDM's `Linear` (`init_bias = 0`).
pub fn linear_specs(specs: &mut Vec<ParamSpec>, prefix: &str, inp: usize, out: usize, init: Init) {
    specs.push(ParamSpec::new(format!("{prefix}.weight"), vec![out, inp], init));
    specs.push(ParamSpec::new(format!("{prefix}.bias"), vec![out], Init::Zero));
}

/// Initial values of `specs`, parameter `name` drawn from `stream.named(name)`.
pub fn initial_values(specs: &[ParamSpec], stream: &seeding::Stream) -> Vec<Vec<f32>> {
    specs
        .iter()
        .map(|spec| {
            let mut rng = stream.named(&spec.name).rng();
            match spec.init {
                Init::Uniform(bound) => {
                    let b = bound as f32;
                    (0..spec.len()).map(|_| rng.random_range(-b..b)).collect()
                }
                Init::Zero => vec![0.0; spec.len()],
                Init::One => vec![1.0; spec.len()],
            }
        })
        .collect()
}

/// The gradient of every parameter in `vars` (named by `names`, in order) as one flat row-major
/// vector each, the layout Adam and the EMA update; a parameter the loss does not reach is an error.
pub fn flat_gradients(grads: &GradStore, vars: &[Var], names: &[String]) -> Result<Vec<Vec<f32>>> {
    vars.iter()
        .zip(names)
        .map(|(v, name)| {
            Ok(grads
                .get(v)
                .with_context(|| format!("no gradient reached parameter {name}"))?
                .flatten_all()?
                .to_vec1::<f32>()?)
        })
        .collect()
}

/// A `VarMap` holding `values` under the names of `specs` (one flat row-major vector each, in
/// order); `what` names the network in errors.
pub fn varmap_of(specs: &[ParamSpec], values: Vec<Vec<f32>>, what: &str) -> Result<VarMap> {
    ensure!(
        values.len() == specs.len(),
        "{what}: {} parameter tensors given, the architecture has {}",
        values.len(),
        specs.len()
    );
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().expect("a fresh VarMap is not poisoned");
        for (spec, v) in specs.iter().zip(values) {
            ensure!(
                v.len() == spec.len(),
                "{what}: parameter {} has {} values, its shape {:?} needs {}",
                spec.name,
                v.len(),
                spec.shape,
                spec.len()
            );
            let var = Var::from_tensor(&Tensor::from_vec(v, spec.shape.as_slice(), &Device::Cpu)?)?;
            data.insert(spec.name.clone(), var);
        }
    }
    Ok(varmap)
}
