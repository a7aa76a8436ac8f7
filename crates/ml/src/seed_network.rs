//! The seed's private prediction: tf-encrypted's introductory program. The
//! model owner's weights and the prediction client's input enter as private
//! inputs; two hidden layers with a polynomial sigmoid; the logits go to
//! the client alone.
//!
//! ```text
//! x [B, 784] (prediction-client)
//! h1 = sigmoid(x · w0 + b0)       w0 [784, 128], b0 [128] (model-owner)
//! h2 = sigmoid(h1 · w1 + b1)      w1 [128, 128], b1 [128]
//! logits = h2 · w2 + b2           w2 [128, 10],  b2 [10]   -> prediction-client
//! ```
//!
//! Weights are Glorot-uniform from a fixed seed and inputs uniform in
//! [0, 1): the program's shape and cost, not a trained model.

use std::collections::HashMap;

use blindfold_ir::{Graph, GraphBuilder, GraphError, Inputs};
use ndarray::ArrayD;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use blindfold_ir::parties::{MODEL_OWNER, PREDICTION_CLIENT as CLIENT};
/// Layer widths: input, two hidden layers, classes.
pub const WIDTHS: [usize; 4] = [784, 128, 128, 10];

/// The hidden layers' activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// The seed's polynomial sigmoid.
    Sigmoid,
    /// Exact ReLU (a comparison and a product): MNIST network A's layers.
    Relu,
}

/// The graph for a batch of `batch` inputs, with the seed's sigmoid.
pub fn graph(batch: usize) -> Result<Graph, GraphError> {
    graph_with(batch, Activation::Sigmoid)
}

/// The graph for a batch of `batch` inputs with `activation`.
pub fn graph_with(batch: usize, activation: Activation) -> Result<Graph, GraphError> {
    let mut g = GraphBuilder::new();
    let mut layer = g.private_input(CLIENT, "x", &[batch, WIDTHS[0]])?;
    for index in 0..3 {
        let weights =
            g.private_input(MODEL_OWNER, &format!("w{index}"), &[WIDTHS[index], WIDTHS[index + 1]])?;
        let bias = g.private_input(MODEL_OWNER, &format!("b{index}"), &[WIDTHS[index + 1]])?;
        let product = g.matmul(layer, weights)?;
        layer = g.add(product, bias)?;
        if index < 2 {
            layer = match activation {
                Activation::Sigmoid => g.sigmoid(layer)?,
                Activation::Relu => g.relu(layer)?,
            };
        }
    }
    g.output(CLIENT, "logits", layer)?;
    Ok(g.finish())
}

/// The model owner's weights and the client's `batch` inputs, from `seed`.
pub fn inputs(batch: usize, seed: u64) -> Inputs {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut uniform = |shape: &[usize], bound: f64| {
        let values = (0..shape.iter().product()).map(|_| rng.random_range(-bound..bound)).collect();
        ArrayD::from_shape_vec(shape.to_vec(), values).expect("length matches")
    };
    let mut owner = HashMap::new();
    for index in 0..3 {
        let (fan_in, fan_out) = (WIDTHS[index], WIDTHS[index + 1]);
        let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
        owner.insert(format!("w{index}"), uniform(&[fan_in, fan_out], bound));
        owner.insert(format!("b{index}"), uniform(&[fan_out], 0.1));
    }
    let client = HashMap::from([("x".to_string(), uniform(&[batch, WIDTHS[0]], 1.0).mapv(|v| v.abs()))]);
    Inputs::from([(MODEL_OWNER.to_string(), owner), (CLIENT.to_string(), client)])
}
