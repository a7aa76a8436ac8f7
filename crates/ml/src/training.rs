//! Private training: several data owners' rows, secret-shared, train one
//! dense model with mini-batch SGD, and only the model owner learns the
//! weights.
//!
//! The whole run is one graph: each owner shares its features and labels
//! once; every epoch takes a public shuffle of the pooled rows (a local
//! gather on shares); every step is the forward pass, the loss gradient at
//! the outputs, the backward pass that [`GraphBuilder::backward`] derives
//! from the forward ops, and the SGD update. Weights start public (zeros for
//! linear models, He-normal from a public seed for hidden layers) and are
//! shared from the first update on. The same graph under
//! `Protocol::PlaintextFloat` is the plaintext twin: the same SGD in f64.
//!
//! Models: linear regression (mean squared error), logistic regression
//! (binary cross-entropy, one-vs-rest for several classes) and an MLP with
//! ReLU hidden layers and one-vs-rest sigmoid outputs. For the cross-entropy
//! losses the gradient at the logits is σ(z) − y, so no logarithm is needed;
//! the loss that can be revealed per epoch is the mean squared error of the
//! predictions (the Brier score for classifiers).

use std::collections::HashMap;

use blindfold_ir::{Graph, GraphBuilder, GraphError, Ring, Tensor};
use blindfold_ir::{Inputs, Outputs};
use blindfold_runtime::{Protocol, Session, SessionOptions, SessionResult};
use ndarray::ArrayD;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use blindfold_ir::parties::MODEL_OWNER;

/// What to train.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelKind {
    LinearRegression,
    /// One output per class (one-vs-rest); a single output for binary labels.
    LogisticRegression,
    /// ReLU hidden layers of these widths, one-vs-rest sigmoid outputs.
    Mlp {
        hidden: Vec<usize>,
    },
}

impl ModelKind {
    /// The kinds' names, as the command line and Python take them.
    pub const NAMES: [&str; 3] = ["linreg", "logreg", "mlp"];

    /// The kind's name: "linreg", "logreg" or "mlp".
    pub fn name(&self) -> &'static str {
        match self {
            ModelKind::LinearRegression => "linreg",
            ModelKind::LogisticRegression => "logreg",
            ModelKind::Mlp { .. } => "mlp",
        }
    }

    /// The kind `name` names; an mlp gets the `hidden` widths.
    pub fn from_name(name: &str, hidden: Vec<usize>) -> Result<ModelKind, UnknownKind> {
        match name {
            "linreg" => Ok(ModelKind::LinearRegression),
            "logreg" => Ok(ModelKind::LogisticRegression),
            "mlp" => Ok(ModelKind::Mlp { hidden }),
            other => Err(UnknownKind(other.to_string())),
        }
    }
}

/// A model kind's name that is not one of [`ModelKind::NAMES`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("kind '{0}': choose linreg, logreg or mlp")]
pub struct UnknownKind(pub String);

/// How the classifiers' sigmoid is computed (the builder's two methods).
pub use blindfold_ir::SigmoidMethod;

/// Training settings. Everything here is public to every party.
#[derive(Clone, Debug)]
pub struct TrainingConfig {
    pub kind: ModelKind,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// SGD with momentum μ (PyTorch's form: v ← μ·v + g, w ← w − η·v);
    /// 0 is plain SGD. In [0, 1).
    pub momentum: f64,
    /// Differentially private SGD ([`crate::dp_sgd`]); `None`: plain.
    pub dp: Option<crate::dp_sgd::DpSgd>,
    pub ring: Ring,
    pub fractional_bits: u32,
    pub sigmoid: SigmoidMethod,
    /// Reveal each epoch's mean squared error to the model owner.
    pub reveal_loss: bool,
    /// Seeds the public shuffles and initial weights.
    pub seed: u64,
    /// Compare on x mod 2^bits (`GraphBuilder::set_comparison_bits`);
    /// default F + 24: exact while compared values stay below 2^23 in
    /// magnitude (standardised data, logits and activations are far
    /// below), at 55 DCF levels instead of 127 in Z_2^128.
    pub comparison_bits: Option<u32>,
    /// The secret-sharing protocol the training runs under (Pond or
    /// replicated).
    pub protocol: Protocol,
}

impl TrainingConfig {
    /// Defaults for `kind`: Z_2^128 with 32 fractional bits (see
    /// [`default_precision`]), batch 32, learning rate 0.1, 10 epochs,
    /// the clamped sigmoid.
    pub fn new(kind: ModelKind) -> TrainingConfig {
        let (ring, fractional_bits) = default_precision();
        TrainingConfig {
            kind,
            epochs: 10,
            batch_size: 32,
            learning_rate: 0.1,
            momentum: 0.0,
            dp: None,
            ring,
            fractional_bits,
            sigmoid: SigmoidMethod::Clamped,
            reveal_loss: false,
            seed: 2026,
            comparison_bits: Some(fractional_bits + 24),
            protocol: Protocol::Pond,
        }
    }

    /// Trains in `ring` with its fractional bits (Z_2^128: 32; Z_2^64: 20,
    /// see [`default_precision`]) and the default comparison width for them.
    pub fn set_ring(&mut self, ring: Ring) {
        self.ring = ring;
        self.fractional_bits = match ring {
            Ring::Z128 => 32,
            Ring::Z64 => 20,
        };
        self.comparison_bits = Some(self.fractional_bits + 24);
    }
}

/// The default ring and precision for training: Z_2^128 with 32 fractional
/// bits, because training truncates millions of products and local
/// truncation fails (destroys a value) with probability about 2^(ℓ+1−k)
/// for a ℓ-bit product in Z_2^k. In Z_2^64 a product of two values near 1 at
/// 16 fractional bits has ℓ ≈ 32, so one failure in about 2^31 truncations,
/// and at 20 bits (which SGD's small updates want) one in 2^23: an MNIST
/// epoch of the 784-128-128-10 MLP truncates about 5·10^7 values and would
/// fail several times, each failure ruining a weight for good (measured:
/// one diabetes regression run in a handful lost a weight this way). In
/// Z_2^128 the rate is below 2^−60 and 32 bits make SGD's updates exact to
/// 2^−32. Z_2^64 stays an option for short runs.
pub fn default_precision() -> (Ring, u32) {
    (Ring::Z128, 32)
}

/// The most weights and biases a trained model may have: 2^24 (16.8
/// million), so that the shares, masks and updates of one step stay near a
/// gigabyte in Z_2^128.
pub const MAX_PARAMETERS: usize = 1 << 24;

/// The training graph and what the caller needs to run and read it.
pub struct TrainingGraph {
    pub graph: Graph,
    /// (rows) per data owner, in the order given.
    pub owners: Vec<(String, usize)>,
    pub features: usize,
    pub outputs: usize,
    pub steps_per_epoch: usize,
    /// The index of the last node of each epoch (for progress).
    pub epoch_ends: Vec<u32>,
    /// Layer shapes: (inputs, outputs) per dense layer.
    pub layers: Vec<(usize, usize)>,
    /// The servers' DP-SGD noise inputs (empty without DP).
    pub noise: Vec<crate::dp_sgd::NoiseInput>,
}

/// Output names of the trained parameters (the model owner's outputs).
pub fn weight_name(layer: usize) -> String {
    format!("layer{layer}.weight")
}

pub fn bias_name(layer: usize) -> String {
    format!("layer{layer}.bias")
}

/// The name of epoch `epoch`'s revealed loss.
pub fn loss_name(epoch: usize) -> String {
    format!("loss.epoch{epoch}")
}

/// Builds the whole training run: `owners` are (party, rows), every owner
/// has `features` feature columns and `outputs` label columns.
pub fn build(
    config: &TrainingConfig,
    owners: &[(String, usize)],
    features: usize,
    outputs: usize,
) -> Result<TrainingGraph, GraphError> {
    let total: usize = owners.iter().map(|(_, rows)| rows).sum();
    let invalid = |reason: String| GraphError::InvalidArgument {
        node: blindfold_ir::NodeId(0),
        op: "training",
        reason,
    };
    if owners.is_empty() || total == 0 {
        return Err(invalid("no training rows".into()));
    }
    if config.batch_size == 0 || config.batch_size > total {
        return Err(invalid(format!("batch size {} with {total} rows", config.batch_size)));
    }
    if features == 0 || outputs == 0 {
        return Err(invalid("no features or no labels".into()));
    }
    let (mut g, x_all, y_all) = shared_rows(config, owners, features, outputs)?;

    let widths: Vec<usize> = match &config.kind {
        ModelKind::Mlp { hidden } => {
            std::iter::once(features).chain(hidden.iter().copied()).chain([outputs]).collect()
        }
        _ => vec![features, outputs],
    };
    let layers: Vec<(usize, usize)> = widths.windows(2).map(|w| (w[0], w[1])).collect();
    let parameters = layers
        .iter()
        .try_fold(0usize, |total, &(fan_in, fan_out)| {
            total.checked_add(fan_in.checked_mul(fan_out)?)?.checked_add(fan_out)
        })
        .filter(|&total| total <= MAX_PARAMETERS);
    if parameters.is_none() {
        return Err(invalid(format!(
            "layers {widths:?} have more than the limit of {MAX_PARAMETERS} parameters (each is held, \
             masked and updated under sharing at every step)"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut parameters: Vec<(Tensor, Tensor)> = Vec::new();
    for &(fan_in, fan_out) in &layers {
        let weights: Vec<f64> = if matches!(config.kind, ModelKind::Mlp { .. }) {
            let scale = (2.0 / fan_in as f64).sqrt();
            (0..fan_in * fan_out).map(|_| standard_normal(&mut rng) * scale).collect()
        } else {
            vec![0.0; fan_in * fan_out]
        };
        let w = g.constant(&[fan_in, fan_out], &weights)?;
        let b = g.constant(&[fan_out], &vec![0.0; fan_out])?;
        parameters.push((w, b));
    }

    let mut flat: Vec<Tensor> = parameters.iter().flat_map(|&(w, b)| [w, b]).collect();
    let schedule = run_schedule(
        &mut g,
        config,
        (x_all, y_all, total),
        outputs,
        &mut rng,
        &mut flat,
        |g, xb, yb, current| {
            let pairs: Vec<(Tensor, Tensor)> = current.chunks(2).map(|pair| (pair[0], pair[1])).collect();
            let logits = forward(g, xb, &pairs)?;
            let predictions = match config.kind {
                ModelKind::LinearRegression => logits,
                _ => g.sigmoid_by(config.sigmoid, logits)?,
            };
            Ok::<_, GraphError>((logits, g.sub(predictions, yb)?))
        },
    )?;
    let parameters: Vec<(Tensor, Tensor)> = flat.chunks(2).map(|pair| (pair[0], pair[1])).collect();
    let Schedule { steps_per_epoch, epoch_ends, noise } = schedule;
    for (layer, (w, b)) in parameters.into_iter().enumerate() {
        g.output(MODEL_OWNER, &weight_name(layer), w)?;
        g.output(MODEL_OWNER, &bias_name(layer), b)?;
    }
    Ok(TrainingGraph {
        graph: g.finish(),
        owners: owners.to_vec(),
        features,
        outputs,
        steps_per_epoch,
        epoch_ends,
        layers,
        noise,
    })
}

/// What the SGD schedule built: steps per epoch, the last node of each
/// epoch, and the servers' DP-SGD noise inputs.
pub(crate) struct Schedule {
    pub steps_per_epoch: usize,
    pub epoch_ends: Vec<u32>,
    pub noise: Vec<crate::dp_sgd::NoiseInput>,
}

/// The SGD schedule both trainings share: every epoch a public shuffle of
/// the pooled `rows` (features, labels, count); every step the batch's rows
/// given to `step`, which builds the forward pass on the current
/// `parameters` and returns the logits and the prediction error (∂(Σ
/// loss)/∂logits); then the gradients (plain or DP-SGD) and the optimizer's
/// update of `parameters`. Each epoch's mean squared error goes to the model
/// owner when asked.
pub(crate) fn run_schedule<E: From<GraphError>>(
    g: &mut GraphBuilder,
    config: &TrainingConfig,
    rows: (Tensor, Tensor, usize),
    outputs: usize,
    rng: &mut ChaCha8Rng,
    parameters: &mut [Tensor],
    mut step: impl FnMut(&mut GraphBuilder, Tensor, Tensor, &[Tensor]) -> Result<(Tensor, Tensor), E>,
) -> Result<Schedule, E> {
    let (x_all, y_all, total) = rows;
    let batch = config.batch_size;
    let steps_per_epoch = total / batch;
    let mut optimizer = Optimizer::new(config)?;
    let mut noise = Vec::new();
    let mut order: Vec<usize> = (0..total).collect();
    let mut epoch_ends = Vec::new();
    for epoch in 0..config.epochs {
        order.shuffle(rng);
        let used = &order[..steps_per_epoch * batch];
        let x_epoch = g.gather(x_all, used)?;
        let y_epoch = g.gather(y_all, used)?;
        let mut loss_sum: Option<Tensor> = None;
        for index in 0..steps_per_epoch {
            let (start, end) = (index * batch, (index + 1) * batch);
            let xb = g.slice(x_epoch, 0, start, end)?;
            let yb = g.slice(y_epoch, 0, start, end)?;
            let (logits, error) = step(g, xb, yb, parameters)?;
            if config.reveal_loss {
                let squared = g.square(error)?;
                let total = g.sum(squared, &[0, 1], false)?;
                loss_sum = Some(match loss_sum {
                    Some(sum) => g.add(sum, total)?,
                    None => total,
                });
            }
            let number = epoch * steps_per_epoch + index;
            let gradients = step_gradients(g, config, logits, error, parameters, number, &mut noise)?;
            for (position, (value, gradient)) in parameters.iter_mut().zip(gradients).enumerate() {
                *value = optimizer.step(g, position, *value, gradient)?;
            }
        }
        if let Some(sum) = loss_sum {
            let mean = g.scale(sum, 1.0 / (steps_per_epoch * batch * outputs) as f64)?;
            g.output(MODEL_OWNER, &loss_name(epoch), mean)?;
        }
        epoch_ends.push(g.graph().nodes().len() as u32 - 1);
    }
    Ok(Schedule { steps_per_epoch, epoch_ends, noise })
}

/// The step's gradient for each of `wrt`: the batch's mean gradient, or
/// DP-SGD's clipped and noised one. `error` is ∂(Σ loss)/∂logits.
pub(crate) fn step_gradients(
    g: &mut GraphBuilder,
    config: &TrainingConfig,
    logits: Tensor,
    error: Tensor,
    wrt: &[Tensor],
    step: usize,
    noise: &mut Vec<crate::dp_sgd::NoiseInput>,
) -> Result<Vec<Tensor>, GraphError> {
    match &config.dp {
        Some(dp) => crate::dp_sgd::private_gradients(g, dp, logits, error, wrt, step, noise),
        None => {
            // ∂L/∂logits of the mean loss over the batch: (prediction − y)/B
            // for squared error (halved) and for cross-entropy after a sigmoid.
            let batch = g.ty(error).shape[0];
            let seed = g.scale(error, 1.0 / batch as f64)?;
            g.backward(logits, seed, wrt)
        }
    }
}

/// SGD's update, with momentum when configured: each parameter's velocity
/// is graph state carried from step to step (shared like the weights).
pub(crate) struct Optimizer {
    learning_rate: f64,
    momentum: f64,
    velocities: HashMap<usize, Tensor>,
}

impl Optimizer {
    pub(crate) fn new(config: &TrainingConfig) -> Result<Optimizer, GraphError> {
        if !(0.0..1.0).contains(&config.momentum) {
            return Err(GraphError::InvalidArgument {
                node: blindfold_ir::NodeId(0),
                op: "training",
                reason: format!("momentum {}: in [0, 1)", config.momentum),
            });
        }
        Ok(Optimizer {
            learning_rate: config.learning_rate,
            momentum: config.momentum,
            velocities: HashMap::new(),
        })
    }

    /// Parameter `index`'s next value: w − η·v with v = μ·v + g (v = g at
    /// the first step; plain SGD, w − η·g, when μ = 0).
    pub(crate) fn step(
        &mut self,
        g: &mut GraphBuilder,
        index: usize,
        value: Tensor,
        gradient: Tensor,
    ) -> Result<Tensor, GraphError> {
        let direction = match (self.momentum > 0.0, self.velocities.get(&index)) {
            (false, _) => gradient,
            (true, None) => gradient,
            (true, Some(&velocity)) => {
                let kept = g.scale(velocity, self.momentum)?;
                g.add(kept, gradient)?
            }
        };
        if self.momentum > 0.0 {
            self.velocities.insert(index, direction);
        }
        let step = g.scale(direction, self.learning_rate)?;
        g.sub(value, step)
    }
}

/// A training graph's start: the builder for `config`'s precision, and
/// every owner's features and labels shared once and pooled (rows in the
/// owners' order).
pub(crate) fn shared_rows(
    config: &TrainingConfig,
    owners: &[(String, usize)],
    features: usize,
    outputs: usize,
) -> Result<(GraphBuilder, Tensor, Tensor), GraphError> {
    let mut g = GraphBuilder::with_precision(config.ring, config.fractional_bits);
    g.set_comparison_bits(config.comparison_bits.filter(|&bits| bits < config.ring.bits()))?;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (owner, rows) in owners {
        let x = g.private_input(owner, "features", &[*rows, features])?;
        let y = g.private_input(owner, "labels", &[*rows, outputs])?;
        xs.push(g.share(x)?);
        ys.push(g.share(y)?);
    }
    let x_all = if xs.len() == 1 { xs[0] } else { g.concat(&xs, 0)? };
    let y_all = if ys.len() == 1 { ys[0] } else { g.concat(&ys, 0)? };
    Ok((g, x_all, y_all))
}

/// Dense layers with ReLU between them; the last layer's logits.
fn forward(g: &mut GraphBuilder, x: Tensor, parameters: &[(Tensor, Tensor)]) -> Result<Tensor, GraphError> {
    let mut h = x;
    for (index, &(w, b)) in parameters.iter().enumerate() {
        let product = g.matmul(h, w)?;
        let z = g.add(product, b)?;
        h = if index + 1 < parameters.len() { g.relu(z)? } else { z };
    }
    Ok(h)
}

fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// The session's inputs: each owner's features and labels (rows as given).
pub fn inputs(data: &[(String, ArrayD<f64>, ArrayD<f64>)]) -> Inputs {
    data.iter()
        .map(|(owner, x, y)| {
            (
                owner.clone(),
                HashMap::from([("features".to_string(), x.clone()), ("labels".to_string(), y.clone())]),
            )
        })
        .collect()
}

/// `x` and `y` ([rows, ·]) split into consecutive, nearly equal parts, one
/// per owner: the (owner, features, labels) rows that [`inputs`] takes.
pub fn split_rows(
    x: &ndarray::Array2<f64>,
    y: &ndarray::Array2<f64>,
    owners: &[&str],
) -> Vec<(String, ArrayD<f64>, ArrayD<f64>)> {
    let rows = x.nrows();
    owners
        .iter()
        .enumerate()
        .map(|(i, owner)| {
            let range = i * rows / owners.len()..(i + 1) * rows / owners.len();
            let part =
                |a: &ndarray::Array2<f64>| a.slice(ndarray::s![range.clone(), ..]).to_owned().into_dyn();
            (owner.to_string(), part(x), part(y))
        })
        .collect()
}

/// A private training run beside its plaintext twin.
pub struct TrainedPair {
    /// The model owner's model from the Pond session.
    pub private: DenseModel,
    /// The same graph in plaintext f64.
    pub twin: DenseModel,
    /// The Pond session's outputs (the model owner's, including any losses)
    /// and profile.
    pub session: SessionResult,
    /// Seconds of the Pond session and of the twin.
    pub private_s: f64,
    pub twin_s: f64,
    /// SGD steps per epoch.
    pub steps_per_epoch: usize,
}

/// Why a training run failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    #[error("no training data: no data owners")]
    NoData,
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Session(#[from] blindfold_runtime::RuntimeError),
    #[error("the model owner did not receive every layer")]
    MissingLayers,
    /// The model to train could not be read or built.
    #[error(transparent)]
    Model(#[from] blindfold_onnx::OnnxError),
    /// The operating system's randomness (for DP-SGD's noise) failed.
    #[error("the operating system's randomness failed: {0}")]
    Randomness(String),
}

/// The training graph for `data` ((owner, features, labels) as [`inputs`]
/// takes): its shapes from the first owner's.
pub fn plan_for(
    config: &TrainingConfig,
    data: &[(String, ArrayD<f64>, ArrayD<f64>)],
) -> Result<TrainingGraph, TrainingError> {
    let (first_x, first_y) = (&data.first().ok_or(TrainingError::NoData)?.1, &data[0].2);
    let (features, outputs) = (first_x.shape()[1], first_y.shape()[1]);
    let owners: Vec<(String, usize)> = data.iter().map(|(o, x, _)| (o.clone(), x.shape()[0])).collect();
    Ok(build(config, &owners, features, outputs)?)
}

/// Builds the training graph for `data`, runs it under Pond with `options`
/// and in plaintext f64, and reads both models.
pub fn train_with_twin(
    config: &TrainingConfig,
    data: &[(String, ArrayD<f64>, ArrayD<f64>)],
    options: SessionOptions,
) -> Result<TrainedPair, TrainingError> {
    let plan = plan_for(config, data)?;
    run_with_twin(config, &plan, data, options)
}

/// Runs `plan` on `data` under Pond with `options` and in plaintext f64,
/// and reads both models (for callers that need the plan first: its epoch
/// boundaries for a progress bar).
pub fn run_with_twin(
    config: &TrainingConfig,
    plan: &TrainingGraph,
    data: &[(String, ArrayD<f64>, ArrayD<f64>)],
    options: SessionOptions,
) -> Result<TrainedPair, TrainingError> {
    let (session, private_s, twin, twin_s) =
        run_both(config, &plan.graph, inputs(data), &plan.noise, options)?;
    let read = |outputs: &Outputs| {
        DenseModel::from_outputs(&config.kind, plan.layers.len(), outputs).ok_or(TrainingError::MissingLayers)
    };
    Ok(TrainedPair {
        private: read(&session.outputs)?,
        twin: read(&twin.outputs)?,
        session,
        private_s,
        twin_s,
        steps_per_epoch: plan.steps_per_epoch,
    })
}

/// Runs a training `graph` on `inputs` (with the servers' DP-SGD noise
/// when configured, the same draws for both runs) under Pond with
/// `options`, then in plaintext f64: (session, its seconds, twin, its seconds).
pub(crate) fn run_both(
    config: &TrainingConfig,
    graph: &Graph,
    mut inputs: Inputs,
    noise: &[crate::dp_sgd::NoiseInput],
    options: SessionOptions,
) -> Result<(SessionResult, f64, SessionResult, f64), TrainingError> {
    if let Some(dp) = &config.dp {
        inputs.extend(crate::dp_sgd::noise_inputs(dp, noise)?);
    }
    let started = std::time::Instant::now();
    let session =
        Session::new(graph.clone()).protocol(config.protocol).options(options).run(inputs.clone())?;
    let private_s = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let twin = Session::new(graph.clone()).protocol(Protocol::PlaintextFloat).run(inputs)?;
    Ok((session, private_s, twin, started.elapsed().as_secs_f64()))
}

/// A trained dense model: per layer (weights [in, out], bias [out]).
#[derive(Clone, Debug)]
pub struct DenseModel {
    pub kind: ModelKind,
    pub layers: Vec<(ArrayD<f64>, ArrayD<f64>)>,
}

impl DenseModel {
    /// Reads the model owner's outputs of a training session.
    pub fn from_outputs(kind: &ModelKind, layers: usize, outputs: &Outputs) -> Option<DenseModel> {
        let outputs = outputs.get(MODEL_OWNER)?;
        let layers = (0..layers)
            .map(|l| Some((outputs.get(&weight_name(l))?.clone(), outputs.get(&bias_name(l))?.clone())))
            .collect::<Option<Vec<_>>>()?;
        Some(DenseModel { kind: kind.clone(), layers })
    }

    /// The model's outputs for rows `x` ([n, features]) in f64: the
    /// regression value, or the per-class probabilities.
    pub fn predict(&self, x: &ndarray::Array2<f64>) -> ndarray::Array2<f64> {
        let mut h = x.clone();
        for (index, (w, b)) in self.layers.iter().enumerate() {
            let w = w.view().into_dimensionality::<ndarray::Ix2>().expect("a weight matrix");
            let b = b.view().into_dimensionality::<ndarray::Ix1>().expect("a bias vector");
            h = h.dot(&w) + b;
            if index + 1 < self.layers.len() {
                h.mapv_inplace(|v| v.max(0.0));
            }
        }
        if self.kind != ModelKind::LinearRegression {
            h.mapv_inplace(|v| 1.0 / (1.0 + (-v).exp()));
        }
        h
    }
}
