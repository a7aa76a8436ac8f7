//! Reverse-mode differentiation on the graph: the backward ops the builder
//! derives equal finite differences of the forward graph (in f64). (SGD steps
//! under Pond against the fixed-point plaintext: crates/ml/tests/training.rs.)

mod common;

use blindfold_ir::{GraphBuilder, Ring, Tensor};
use blindfold_protocols::Inputs;
use blindfold_runtime::{Protocol, Session};
use common::{inputs, random};
use ndarray::ArrayD;

const A: &str = "alice";

/// f(w) = Σ G ⊙ h(x, w) for a small network h using every differentiable
/// op kind the models use; returns the builder, w's input and the output.
fn network(g: &mut GraphBuilder) -> (Tensor, Tensor) {
    let x = g.private_input(A, "x", &[4, 3]).unwrap();
    let w = g.private_input(A, "w", &[3, 5]).unwrap();
    let (x, w) = (g.share(x).unwrap(), g.share(w).unwrap());
    let bias = g.constant(&[5], &[0.1, -0.2, 0.3, 0.0, 0.5]).unwrap();
    let z = g.matmul(x, w).unwrap();
    let z = g.add(z, bias).unwrap();
    let r = g.relu(z).unwrap();
    let s = g.sigmoid(z).unwrap();
    let m = g.mul(r, s).unwrap();
    let t = g.transpose(m, None).unwrap();
    let left = g.slice(t, 0, 0, 2).unwrap();
    let right = g.slice(t, 0, 2, 5).unwrap();
    let squared = g.square(right).unwrap();
    let joined = g.concat(&[squared, left], 0).unwrap();
    let flat = g.reshape(joined, &[20]).unwrap();
    let row_max = g.reshape(z, &[4, 5]).unwrap();
    let best = g.max_last_axis(row_max).unwrap();
    let total = g.sum(best, &[0], true).unwrap();
    let out = g.mul(flat, total).unwrap();
    (w, out)
}

fn run_float(graph: &blindfold_ir::Graph, values: &Inputs) -> ArrayD<f64> {
    let result = Session::new(graph.clone()).protocol(Protocol::PlaintextFloat).run(values.clone()).unwrap();
    result.output(A, "y").unwrap().clone()
}

#[test]
fn backward_equals_finite_differences() {
    let weights = random(&[3, 5], 1.0, 11);
    let x = random(&[4, 3], 1.0, 12);
    let seed = random(&[20], 1.0, 13);

    // The gradient graph.
    let mut g = GraphBuilder::with_ring(Ring::Z128);
    let (w, out) = network(&mut g);
    let gradient = g.constant(&[20], seed.as_slice().unwrap()).unwrap();
    let [dw] = g.backward(out, gradient, &[w]).unwrap()[..] else { panic!("one gradient") };
    g.output(A, "y", dw).unwrap();
    let backward = g.finish();
    let values = inputs(vec![(A, "x", x.clone()), (A, "w", weights.clone())]);
    let analytic = run_float(&backward, &values);

    // The forward graph, Σ seed ⊙ out, at w ± ε.
    let mut g = GraphBuilder::with_ring(Ring::Z128);
    let (_, out) = network(&mut g);
    let gradient = g.constant(&[20], seed.as_slice().unwrap()).unwrap();
    let weighted = g.mul(out, gradient).unwrap();
    let loss = g.sum(weighted, &[0], false).unwrap();
    g.output(A, "y", loss).unwrap();
    let forward = g.finish();
    let epsilon = 1e-5;
    for index in 0..weights.len() {
        let at = |delta: f64| {
            let mut moved = weights.clone();
            moved.as_slice_mut().unwrap()[index] += delta;
            run_float(&forward, &inputs(vec![(A, "x", x.clone()), (A, "w", moved)]))[[]]
        };
        let numeric = (at(epsilon) - at(-epsilon)) / (2.0 * epsilon);
        let got = analytic.as_slice().unwrap()[index];
        assert!(
            (numeric - got).abs() <= 1e-4 * (1.0 + numeric.abs()),
            "w[{index}]: backward {got}, finite differences {numeric}"
        );
    }
}
