//! Private training of any architecture the ONNX importer reads, from the
//! weights in the file: `blindfold train --model INIT.onnx`.
//!
//! The run is the same as [`crate::training`]'s: the data owners share
//! their rows once, every epoch takes a public shuffle, every step is the
//! forward pass, the loss gradient at the output, the backward pass
//! ([`GraphBuilder::backward`]: dense, convolution and pooling rules) and
//! the SGD update. Here the forward pass is the model's own graph
//! ([`blindfold_onnx::forward`]) on the current shared weights, and the
//! weights start as the model owner's private inputs (the file's
//! initializers), shared before the first step.
//!
//! The loss follows the model's end: a final Softmax, or logits of several
//! classes (as PyTorch classifiers end, their CrossEntropyLoss outside),
//! train with softmax cross-entropy (gradient softmax(z) − y at the logits,
//! the softmax computed privately); a final Sigmoid with binary
//! cross-entropy (σ(z) − y); a single linear output with squared error
//! (z − y).

use std::collections::HashMap;

use blindfold_ir::{Graph, GraphBuilder, GraphError, Inputs, Tensor};
use blindfold_onnx::{Bindings, ClientStep, ImportOptions, OnnxError, forward, parameters};
use blindfold_runtime::{SessionOptions, SessionResult};
use ndarray::ArrayD;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::training::{
    MAX_PARAMETERS, MODEL_OWNER, Schedule, TrainingConfig, TrainingError, inputs, run_both, run_schedule,
    shared_rows,
};

/// How the loss is taken at the model's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Mean squared error (a regression).
    SquaredError,
    /// Binary cross-entropy after the model's final Sigmoid.
    Logistic,
    /// Cross-entropy after the model's final Softmax (one-hot labels).
    Softmax,
}

/// A training graph for a model's architecture.
pub struct ArchitecturePlan {
    pub graph: Graph,
    /// The trained initializers, in the model's order.
    pub parameters: Vec<String>,
    pub loss: Loss,
    /// The model's output width (label columns).
    pub outputs: usize,
    pub steps_per_epoch: usize,
    /// The index of the last node of each epoch (for progress).
    pub epoch_ends: Vec<u32>,
    /// The servers' DP-SGD noise inputs (empty without DP).
    pub noise: Vec<crate::dp_sgd::NoiseInput>,
}

/// The model owner's input (and output) name of a trained initializer.
pub fn parameter_name(initializer: &str) -> String {
    format!("parameter/{initializer}")
}

/// The loss and output width of `model` (its first output, one row).
pub fn loss_of(model: &[u8], config: &TrainingConfig) -> Result<(Loss, usize), TrainingError> {
    let mut g = GraphBuilder::with_precision(config.ring, config.fractional_bits);
    let (input, row) = blindfold_onnx::input_row_shape(model)?;
    let mut shape = vec![1];
    shape.extend(&row);
    let x = g.private_input("probe", &input, &shape)?;
    let bindings = Bindings { inputs: HashMap::from([(input, x)]), parameters: HashMap::new() };
    let out = forward(&mut g, model, &import_options(config), &bindings)?;
    let width = g.ty(out.output).shape.last().copied().unwrap_or(1);
    let loss = if out.steps.iter().any(|s| matches!(s, ClientStep::Softmax { .. })) {
        Loss::Softmax
    } else if out.ends_in_sigmoid {
        Loss::Logistic
    } else if out.steps.is_empty() && width > 1 {
        // Logits, as PyTorch classifiers end (CrossEntropyLoss outside).
        Loss::Softmax
    } else if out.steps.is_empty() {
        Loss::SquaredError
    } else {
        return Err(TrainingError::Model(OnnxError::Signature(format!(
            "the model ends in {:?}: train a model that ends in Softmax, Sigmoid or a linear layer",
            out.steps.iter().map(|s| s.name()).collect::<Vec<_>>()
        ))));
    };
    Ok((loss, width))
}

fn import_options(config: &TrainingConfig) -> ImportOptions {
    ImportOptions { ring: config.ring, sigmoid: config.sigmoid, ..ImportOptions::default() }
}

/// Builds the whole training run of `model`: `owners` are (party, rows),
/// every owner has `features` feature columns (the model's input row,
/// flattened) and the model's output width of label columns.
pub fn build(
    config: &TrainingConfig,
    model: &[u8],
    owners: &[(String, usize)],
    features: usize,
) -> Result<ArchitecturePlan, TrainingError> {
    let total: usize = owners.iter().map(|(_, rows)| rows).sum();
    let invalid = |reason: String| {
        TrainingError::Graph(GraphError::InvalidArgument {
            node: blindfold_ir::NodeId(0),
            op: "training",
            reason,
        })
    };
    if owners.is_empty() || total == 0 {
        return Err(TrainingError::NoData);
    }
    if config.batch_size == 0 || config.batch_size > total {
        return Err(invalid(format!("batch size {} with {total} rows", config.batch_size)));
    }
    let (loss, outputs) = loss_of(model, config)?;
    let (input, row) = blindfold_onnx::input_row_shape(model)?;
    if row.iter().product::<usize>() != features {
        return Err(invalid(format!("{features} feature columns for a model that takes {row:?} per row")));
    }
    let initial = parameters(model)?;
    let count: usize = initial.iter().map(|(_, v)| v.len()).sum();
    if count > MAX_PARAMETERS {
        return Err(invalid(format!("{count} parameters: more than the limit of {MAX_PARAMETERS}")));
    }
    let (mut g, x_all, y_all) = shared_rows(config, owners, features, outputs)?;
    let mut current: Vec<(String, Tensor)> = Vec::new();
    for (name, values) in &initial {
        let owned = g.private_input(MODEL_OWNER, &parameter_name(name), values.shape())?;
        current.push((name.clone(), g.share(owned)?));
    }

    let batch = config.batch_size;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut shape = vec![batch];
    shape.extend(&row);
    let names: Vec<String> = current.iter().map(|(name, _)| name.clone()).collect();
    let mut values: Vec<Tensor> = current.iter().map(|(_, tensor)| *tensor).collect();
    let schedule = run_schedule(
        &mut g,
        config,
        (x_all, y_all, total),
        outputs,
        &mut rng,
        &mut values,
        |g, xb, yb, now| {
            let xb = g.reshape(xb, &shape)?;
            let bindings = Bindings {
                inputs: HashMap::from([(input.clone(), xb)]),
                parameters: names.iter().cloned().zip(now.iter().copied()).collect(),
            };
            let logits = forward(g, model, &import_options(config), &bindings)?.output;
            let logits = g.reshape(logits, &[batch, outputs])?;
            let predictions = match loss {
                Loss::SquaredError => logits,
                Loss::Logistic => g.sigmoid_by(config.sigmoid, logits)?,
                Loss::Softmax => g.softmax(logits)?,
            };
            Ok::<_, TrainingError>((logits, g.sub(predictions, yb)?))
        },
    )?;
    let current: Vec<(String, Tensor)> = names.into_iter().zip(values).collect();
    let Schedule { steps_per_epoch, epoch_ends, noise } = schedule;
    for (name, value) in &current {
        g.output(MODEL_OWNER, &parameter_name(name), *value)?;
    }
    Ok(ArchitecturePlan {
        graph: g.finish(),
        parameters: current.into_iter().map(|(name, _)| name).collect(),
        loss,
        outputs,
        steps_per_epoch,
        epoch_ends,
        noise,
    })
}

/// A trained architecture: the Pond session's parameters and the twin's.
pub struct ArchitectureTrained {
    pub private: HashMap<String, ArrayD<f64>>,
    pub twin: HashMap<String, ArrayD<f64>>,
    pub session: SessionResult,
    pub private_s: f64,
    pub twin_s: f64,
}

/// Runs `plan` on `data` ((owner, features, labels)) with the model's
/// initial weights, under Pond with `options` and in plaintext f64.
pub fn run_with_twin(
    config: &TrainingConfig,
    plan: &ArchitecturePlan,
    model: &[u8],
    data: &[(String, ArrayD<f64>, ArrayD<f64>)],
    options: SessionOptions,
) -> Result<ArchitectureTrained, TrainingError> {
    let mut values: Inputs = inputs(data);
    let owned: HashMap<String, ArrayD<f64>> =
        parameters(model)?.into_iter().map(|(name, v)| (parameter_name(&name), v)).collect();
    values.insert(MODEL_OWNER.to_string(), owned);
    let (session, private_s, twin, twin_s) = run_both(config, &plan.graph, values, &plan.noise, options)?;
    let read = |result: &SessionResult| -> Result<HashMap<String, ArrayD<f64>>, TrainingError> {
        plan.parameters
            .iter()
            .map(|name| {
                let value =
                    result.output(MODEL_OWNER, &parameter_name(name)).ok_or(TrainingError::MissingLayers)?;
                Ok((name.clone(), value.clone()))
            })
            .collect()
    };
    Ok(ArchitectureTrained { private: read(&session)?, twin: read(&twin)?, session, private_s, twin_s })
}
