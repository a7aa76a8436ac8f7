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

/// A small CNN using every windowed op: conv2d (stride 1, zero padding),
/// relu, max pooling with padding (window gathers and the tournament),
/// average pooling (window sums), a strided conv2d, a gather of rows and a
/// dense layer. Returns the filters, the dense weights and the output.
fn convolutional(g: &mut GraphBuilder) -> (Tensor, Tensor, Tensor, Tensor) {
    use blindfold_ir::Conv2dGeometry;
    let x = g.private_input(A, "x", &[2, 2, 6, 6]).unwrap();
    let filters = g.private_input(A, "filters", &[3, 2, 3, 3]).unwrap();
    let strided = g.private_input(A, "strided", &[2, 3, 2, 2]).unwrap();
    let dense = g.private_input(A, "dense", &[8, 3]).unwrap();
    let (x, filters, strided, dense) =
        (g.share(x).unwrap(), g.share(filters).unwrap(), g.share(strided).unwrap(), g.share(dense).unwrap());
    let same = Conv2dGeometry { stride: (1, 1), padding: (1, 1, 1, 1) };
    let c = g.conv2d(x, filters, same).unwrap();
    let r = g.relu(c).unwrap();
    let m = g.max_pool2d(r, (2, 2), Conv2dGeometry { stride: (1, 1), padding: (1, 0, 0, 1) }).unwrap();
    let a = g.avg_pool2d(m, (2, 2), Conv2dGeometry { stride: (2, 2), padding: (0, 0, 0, 0) }).unwrap();
    let s = g.conv2d(a, strided, Conv2dGeometry { stride: (2, 2), padding: (1, 1, 0, 0) }).unwrap();
    let flat = g.reshape(s, &[2, 8]).unwrap();
    let rows = g.gather(flat, &[1, 0, 1]).unwrap();
    let out = g.matmul(rows, dense).unwrap();
    let out = g.reshape(out, &[9]).unwrap();
    (x, filters, strided, out)
}

/// Backward through convolutions and pooling equals finite differences,
/// for the input, both filters and through a gather.
#[test]
fn convolution_and_pooling_gradients_equal_finite_differences() {
    let values = vec![
        ("x", random(&[2, 2, 6, 6], 1.0, 21)),
        ("filters", random(&[3, 2, 3, 3], 0.5, 22)),
        ("strided", random(&[2, 3, 2, 2], 0.5, 23)),
        ("dense", random(&[8, 3], 0.5, 24)),
    ];
    let seed = random(&[9], 1.0, 25);
    let named =
        |moved: &[(&str, ArrayD<f64>)]| inputs(moved.iter().map(|(n, v)| (A, *n, v.clone())).collect());

    let mut g = GraphBuilder::with_ring(Ring::Z128);
    let (x, filters, strided, out) = convolutional(&mut g);
    let gradient = g.constant(&[9], seed.as_slice().unwrap()).unwrap();
    let gradients = g.backward(out, gradient, &[x, filters, strided]).unwrap();
    for (name, dw) in ["x", "filters", "strided"].iter().zip(gradients) {
        g.output(A, &format!("d{name}"), dw).unwrap();
    }
    let backward = g.finish();
    let analytic = Session::new(backward).protocol(Protocol::PlaintextFloat).run(named(&values)).unwrap();

    let mut g = GraphBuilder::with_ring(Ring::Z128);
    let (_, _, _, out) = convolutional(&mut g);
    let gradient = g.constant(&[9], seed.as_slice().unwrap()).unwrap();
    let weighted = g.mul(out, gradient).unwrap();
    let loss = g.sum(weighted, &[0], false).unwrap();
    g.output(A, "y", loss).unwrap();
    let forward = g.finish();
    let epsilon = 1e-6;
    let (mut checked, mut moving) = (0, 0);
    for (which, name) in ["x", "filters", "strided"].iter().enumerate() {
        let got = analytic.output(A, &format!("d{name}")).unwrap();
        let base = values[which].1.clone();
        // Every element of the small tensors, a spread of the input's.
        for index in (0..base.len()).step_by(if *name == "x" { 7 } else { 1 }) {
            let at = |delta: f64| {
                let mut moved = values.clone();
                moved[which].1.as_slice_mut().unwrap()[index] += delta;
                let result = Session::new(forward.clone())
                    .protocol(Protocol::PlaintextFloat)
                    .run(named(&moved))
                    .unwrap();
                result.output(A, "y").unwrap()[[]]
            };
            let numeric = (at(epsilon) - at(-epsilon)) / (2.0 * epsilon);
            let analytic = got.as_slice().unwrap()[index];
            checked += 1;
            moving += usize::from(numeric.abs() > 1e-3);
            assert!(
                (numeric - analytic).abs() <= 1e-4 * (1.0 + numeric.abs()),
                "{name}[{index}]: backward {analytic}, finite differences {numeric}"
            );
        }
    }
    // (The comparison is not vacuous: most of the checked gradients move.)
    assert!(checked > 90 && moving * 2 > checked, "{moving} of {checked} gradients are nonzero");
}

/// Three SGD steps of a small CNN (conv 3x3 with padding, ReLU, 2x2 max
/// pooling, a dense layer, squared error) on the data owner's images,
/// the model owner's weights, all in one graph, under Pond: the trained
/// weights equal the fixed-point plaintext's within 64 ulps (2^−26 at 32
/// fractional bits). Pond's local truncation errs by at most one ulp per
/// truncation and the comparisons are exact, so the two runs differ only
/// by these roundings carried through three steps (measured: a few ulps).
#[test]
fn three_sgd_steps_of_a_small_cnn_under_pond_equal_the_fixed_point_plaintext() {
    use blindfold_ir::Conv2dGeometry;
    const OWNER: &str = "model-owner";
    let mut g = GraphBuilder::with_ring(Ring::Z128);
    let images = g.private_input(A, "images", &[4, 1, 6, 6]).unwrap();
    let targets = g.private_input(A, "targets", &[4, 2]).unwrap();
    let mut filters = g.private_input(OWNER, "filters", &[2, 1, 3, 3]).unwrap();
    let mut dense = g.private_input(OWNER, "dense", &[18, 2]).unwrap();
    let (images, targets) = (g.share(images).unwrap(), g.share(targets).unwrap());
    filters = g.share(filters).unwrap();
    dense = g.share(dense).unwrap();
    let same = Conv2dGeometry { stride: (1, 1), padding: (1, 1, 1, 1) };
    let pool = Conv2dGeometry { stride: (2, 2), padding: (0, 0, 0, 0) };
    for _ in 0..3 {
        let c = g.conv2d(images, filters, same).unwrap();
        let r = g.relu(c).unwrap();
        let m = g.max_pool2d(r, (2, 2), pool).unwrap();
        let flat = g.reshape(m, &[4, 18]).unwrap();
        let y = g.matmul(flat, dense).unwrap();
        let error = g.sub(y, targets).unwrap();
        let gradient = g.scale(error, 2.0 / 4.0).unwrap();
        let [df, dd] = g.backward(y, gradient, &[filters, dense]).unwrap()[..] else {
            panic!("two gradients")
        };
        let (step_f, step_d) = (g.scale(df, 0.1).unwrap(), g.scale(dd, 0.1).unwrap());
        filters = g.sub(filters, step_f).unwrap();
        dense = g.sub(dense, step_d).unwrap();
    }
    g.output(OWNER, "filters", filters).unwrap();
    g.output(OWNER, "dense", dense).unwrap();
    let graph = g.finish();
    let values = inputs(vec![
        (A, "images", random(&[4, 1, 6, 6], 1.0, 31)),
        (A, "targets", random(&[4, 2], 1.0, 32)),
        (OWNER, "filters", random(&[2, 1, 3, 3], 0.5, 33)),
        (OWNER, "dense", random(&[18, 2], 0.5, 34)),
    ]);
    let trained = common::assert_matches_reference(&graph, &values, 64.0);
    let start = random(&[18, 2], 0.5, 34);
    let moved = trained.outputs[OWNER]["dense"]
        .iter()
        .zip(start.iter())
        .filter(|(a, b)| (*a - *b).abs() > 1e-6)
        .count();
    assert!(moved > 0, "the steps changed nothing");
}
