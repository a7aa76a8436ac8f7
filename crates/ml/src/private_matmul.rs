//! The private matmul workload of docs/benchmarks.md: the client's x [m, k]
//! times the model owner's w [k, n], shared, the product revealed to the
//! client.

use std::collections::HashMap;

use blindfold_ir::Inputs;
use blindfold_ir::{Graph, GraphBuilder, GraphError};
use ndarray::ArrayD;

use crate::seed_network::{CLIENT, MODEL_OWNER};

/// The graph and deterministic inputs for (m×k)·(k×n).
pub fn workload(m: usize, k: usize, n: usize) -> Result<(Graph, Inputs), GraphError> {
    let mut g = GraphBuilder::new();
    let x = g.private_input(CLIENT, "x", &[m, k])?;
    let w = g.private_input(MODEL_OWNER, "w", &[k, n])?;
    let y = g.matmul(x, w)?;
    g.output(CLIENT, "y", y)?;
    let filler = |shape: [usize; 2]| {
        let values = (0..shape[0] * shape[1]).map(|i| ((i * 7919) % 1000) as f64 / 1000.0 - 0.5).collect();
        ArrayD::from_shape_vec(shape.to_vec(), values).expect("length matches")
    };
    let inputs = Inputs::from([
        (CLIENT.to_string(), HashMap::from([("x".to_string(), filler([m, k]))])),
        (MODEL_OWNER.to_string(), HashMap::from([("w".to_string(), filler([k, n]))])),
    ]);
    Ok((g.finish(), inputs))
}
