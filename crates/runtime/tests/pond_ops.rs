//! Every secure op equals the plaintext fixed-point reference within its
//! stated bound, on random inputs, in both rings: linear ops exactly; one
//! truncated product within one ulp (local truncation); polynomials within
//! the accumulated truncation error of their powers.

mod common;

use blindfold_ir::{Conv2dGeometry, GraphBuilder, Ring, SIGMOID_COEFFICIENTS_OVER_8, Tensor};
use blindfold_protocols::polynomial::error_bound_ulps;
use common::{assert_matches_reference, inputs, random};
use proptest::prelude::*;

const A: &str = "alice";
const B: &str = "bob";

/// Builds `op` on alice's x and bob's y (shared), outputs to alice.
fn check(
    ring: Ring,
    x_shape: &[usize],
    y_shape: &[usize],
    seed: u64,
    ulps: f64,
    op: impl Fn(&mut GraphBuilder, Tensor, Tensor) -> Tensor,
) {
    let mut g = GraphBuilder::with_ring(ring);
    let x = g.private_input(A, "x", x_shape).unwrap();
    let y = g.private_input(B, "y", y_shape).unwrap();
    let (x, y) = (g.share(x).unwrap(), g.share(y).unwrap());
    let z = op(&mut g, x, y);
    g.output(A, "z", z).unwrap();
    let graph = g.finish();
    let values = inputs(vec![(A, "x", random(x_shape, 4.0, seed)), (B, "y", random(y_shape, 4.0, seed + 1))]);
    assert_matches_reference(&graph, &values, ulps);
}

fn both_rings(mut test: impl FnMut(Ring)) {
    test(Ring::Z64);
    test(Ring::Z128);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn linear_ops_are_exact(rows in 1usize..5, columns in 1usize..6, seed: u64) {
        both_rings(|ring| {
            check(ring, &[rows, columns], &[columns], seed, 0.0, |g, x, y| g.add(x, y).unwrap());
            check(ring, &[rows, columns], &[rows, columns], seed, 0.0, |g, x, y| g.sub(x, y).unwrap());
            check(ring, &[rows, columns], &[1], seed, 0.0, |g, x, _| g.neg(x).unwrap());
            check(ring, &[rows, columns], &[rows, columns], seed, 0.0, |g, x, y| g.concat(&[x, y], 1).unwrap());
            check(ring, &[rows, columns], &[1], seed, 0.0, |g, x, _| g.sum(x, &[0], false).unwrap());
            check(ring, &[rows, columns], &[1], seed, 0.0, |g, x, _| g.transpose(x, None).unwrap());
            check(ring, &[rows, columns], &[1], seed, 0.0, |g, x, _| g.reshape(x, &[columns * rows]).unwrap());
            check(ring, &[rows, columns], &[1], seed, 0.0, |g, x, _| {
                let c = g.constant(&[columns], &vec![1.5; columns]).unwrap();
                let shifted = g.add(x, c).unwrap();
                let negated = g.sub(c, shifted).unwrap();
                g.neg(negated).unwrap()
            });
        });
    }

    #[test]
    fn products_are_within_one_ulp(m in 1usize..5, k in 1usize..7, n in 1usize..5, seed: u64) {
        both_rings(|ring| {
            check(ring, &[m, k], &[k, n], seed, 1.0, |g, x, y| g.matmul(x, y).unwrap());
            check(ring, &[m, k], &[k], seed, 1.0, |g, x, y| g.mul(x, y).unwrap());
            check(ring, &[m, k], &[1], seed, 1.0, |g, x, _| g.square(x).unwrap());
            check(ring, &[m, k], &[1], seed, 1.0, |g, x, _| g.scale(x, -0.375).unwrap());
            check(ring, &[m, k], &[1], seed, 1.0, |g, x, _| g.mean(x, &[1], true).unwrap());
        });
    }

    #[test]
    fn convolution_and_pooling_are_within_one_ulp(
        batch in 1usize..3, channels in 1usize..3, size in 4usize..7, stride in 1usize..3, seed: u64,
    ) {
        both_rings(|ring| {
            let geometry = Conv2dGeometry::uniform(stride, 1);
            check(ring, &[batch, channels, size, size], &[2, channels, 3, 3], seed, 1.0, |g, x, y| {
                g.conv2d(x, y, geometry).unwrap()
            });
            let pool = Conv2dGeometry { stride: (2, 2), padding: (0, 0, 0, 0) };
            check(ring, &[batch, channels, size, size], &[1], seed, 1.0, |g, x, _| g.avg_pool2d(x, (2, 2), pool).unwrap());
        });
    }

    #[test]
    fn polynomials_are_within_their_truncation_error(columns in 1usize..8, seed: u64) {
        // Inputs are within ±4; sigmoid evaluates on x/8 (within ±0.5),
        // which is itself a truncated product (1 ulp).
        let sigmoid = error_bound_ulps(&SIGMOID_COEFFICIENTS_OVER_8, 0.5, 1.0);
        let cubic = [0.25, -1.0, 0.5, 0.125];
        let cubic_bound = error_bound_ulps(&cubic, 4.0, 0.0);
        both_rings(|ring| {
            check(ring, &[2, columns], &[1], seed, sigmoid, |g, x, _| g.sigmoid(x).unwrap());
            check(ring, &[2, columns], &[1], seed, cubic_bound, |g, x, _| g.polynomial(x, &cubic).unwrap());
        });
    }
}

#[test]
fn sigmoid_is_within_its_approximation_error_of_the_real_sigmoid() {
    let mut g = GraphBuilder::new();
    let x = g.private_input(A, "x", &[161]).unwrap();
    let x = g.share(x).unwrap();
    let y = g.sigmoid(x).unwrap();
    g.output(A, "y", y).unwrap();
    let points: Vec<f64> = (0..161).map(|i| -8.0 + i as f64 * 0.1).collect();
    let values = inputs(vec![(A, "x", ndarray::ArrayD::from_shape_vec(vec![161], points.clone()).unwrap())]);
    let result = blindfold_runtime::Session::new(g.finish()).run(values).unwrap();
    for (x, y) in points.iter().zip(result.output(A, "y").unwrap().iter()) {
        let exact = 1.0 / (1.0 + (-x).exp());
        assert!((y - exact).abs() < 0.033, "sigmoid({x}) = {y}, exact {exact}");
    }
}

#[test]
fn private_values_of_one_party_stay_in_the_clear_at_that_party() {
    let mut g = GraphBuilder::new();
    let x = g.private_input(A, "x", &[2, 3]).unwrap();
    let w = g.constant(&[3, 2], &[1.0, 0.5, -1.0, 2.0, 0.25, 0.0]).unwrap();
    let y = g.matmul(x, w).unwrap();
    g.output(A, "y", y).unwrap();
    let graph = g.finish();
    let result = assert_matches_reference(&graph, &inputs(vec![(A, "x", random(&[2, 3], 2.0, 1))]), 0.0);
    assert_eq!(result.report.bytes_sent, 0, "nothing needs to leave alice");
    // Only the producer's two setup seeds travel.
    assert_eq!(result.report.offline_bytes_sent, 32);
}

/// The output hook sees each output when its receiver gets it, with the
/// value the session returns at the end; the progress hook counts nodes.
#[test]
fn hooks_report_outputs_and_progress_as_they_happen() {
    use std::sync::{Arc, Mutex};
    let mut g = GraphBuilder::new();
    let x = g.private_input("alice", "x", &[3]).unwrap();
    let x = g.share(x).unwrap();
    let doubled = g.scale(x, 2.0).unwrap();
    g.output("bob", "first", doubled).unwrap();
    let squared = g.square(x).unwrap();
    g.output("bob", "second", squared).unwrap();
    let graph = g.finish();
    type Seen = Vec<(String, String, Vec<f64>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let steps: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
    let (seen_hook, steps_hook) = (Arc::clone(&seen), Arc::clone(&steps));
    let options = blindfold_runtime::SessionOptions {
        on_output: Some(blindfold_runtime::OutputHook(Arc::new(move |party, name, value| {
            seen_hook.lock().unwrap().push((party.into(), name.into(), value.iter().copied().collect()));
        }))),
        progress: Some(blindfold_runtime::ProgressHook(Arc::new(move |done, total| {
            steps_hook.lock().unwrap().push((done, total));
        }))),
        ..Default::default()
    };
    let values =
        inputs(vec![("alice", "x", ndarray::ArrayD::from_shape_vec(vec![3], vec![1.0, -2.0, 0.5]).unwrap())]);
    let result = blindfold_runtime::Session::new(graph.clone()).options(options).run(values).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.iter().map(|(p, n, _)| (p.as_str(), n.as_str())).collect::<Vec<_>>(),
        [("bob", "first"), ("bob", "second")]
    );
    for (_, name, value) in seen.iter() {
        assert_eq!(value, &result.output("bob", name).unwrap().iter().copied().collect::<Vec<_>>());
    }
    let steps = steps.lock().unwrap();
    assert_eq!(steps.len(), graph.nodes().len());
    assert_eq!(steps.last(), Some(&(graph.nodes().len(), graph.nodes().len())));
}
