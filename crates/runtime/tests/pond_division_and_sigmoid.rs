//! The nonlinear ops built on comparisons besides ReLU: the clamped sigmoid
//! (bounded error on the whole line), the reciprocal (comparisons for the
//! first guess, then Newton) and the seed's softmax alternative
//! relu(x_i)/Σ relu(x_j). Each is held to its real-number definition within
//! its documented bound, and to its documented rounds.

mod common;

use blindfold_ir::GraphBuilder;
use blindfold_runtime::Session;
use common::{assert_matches_reference, inputs, random};
use ndarray::ArrayD;

const A: &str = "alice";

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn the_clamped_sigmoid_is_close_everywhere_and_the_polynomial_only_inside() {
    let mut values = vec![0.0, 2f64.powi(-16), -2f64.powi(-16), 5.99, 6.0, 6.01, -6.0, -6.01, 12.0, -12.0];
    values.extend([1e3, -1e3, 3e4, -3e4]); // the last 4 before the random ones
    values.extend(random(&[200], 12.0, 5).iter());
    let n = values.len();
    let mut g = GraphBuilder::new();
    let x = g.private_input(A, "x", &[n]).unwrap();
    let x = g.share(x).unwrap();
    let clamped = g.sigmoid_clamped(x).unwrap();
    // The plain polynomial on the values it does not overflow on.
    let moderate = g.slice(x, 0, 0, n - 4 - 200).unwrap();
    let moderate_tail = g.slice(x, 0, n - 200, n).unwrap();
    let moderate = g.concat(&[moderate, moderate_tail], 0).unwrap();
    let polynomial = g.sigmoid(moderate).unwrap();
    g.output(A, "clamped", clamped).unwrap();
    g.output(A, "polynomial", polynomial).unwrap();
    let graph = g.finish();
    let x = ArrayD::from_shape_vec(vec![n], values.clone()).unwrap();
    // Each truncation errs by up to 1 ulp, and the degree-11 coefficients
    // (up to 11) scale the errors of the powers: 128 ulps = 0.002.
    let result = assert_matches_reference(&graph, &inputs(vec![(A, "x", x)]), 128.0);
    for (v, c) in values.iter().zip(result.output(A, "clamped").unwrap()) {
        assert!((c - sigmoid(*v)).abs() <= 0.003, "clamped sigmoid({v}) = {c}, not {}", sigmoid(*v));
    }
    let moderate: Vec<f64> = values[..n - 204].iter().chain(&values[n - 200..]).copied().collect();
    let mut worst_outside = 0f64;
    for (v, p) in moderate.iter().zip(result.output(A, "polynomial").unwrap()) {
        if v.abs() <= 8.0 {
            assert!((p - sigmoid(*v)).abs() <= 0.033, "polynomial sigmoid({v}) = {p}");
        } else {
            worst_outside = worst_outside.max((p - sigmoid(*v)).abs());
        }
    }
    assert!(worst_outside > 0.5, "the plain polynomial should be useless outside [-8, 8]");
}

#[test]
fn the_reciprocal_is_within_its_bound_across_its_range() {
    // [2^-8, 2^12) at F = 16, both ends and values in between.
    let mut values = vec![2f64.powi(-8), 2f64.powi(-7) - 2f64.powi(-16), 1.0, 1.5, 3.0, 4095.9];
    values.extend((0..100).map(|i| 2f64.powf(-8.0 + 20.0 * (i as f64 * 0.618_033_988_7).fract())));
    let n = values.len();
    let mut g = GraphBuilder::new();
    let x = g.private_input(A, "x", &[n]).unwrap();
    let x = g.share(x).unwrap();
    let y = g.reciprocal(x, 12).unwrap();
    g.output(A, "y", y).unwrap();
    let graph = g.finish();
    // Against 1/x, not the fixed-point reference: a 1-ulp truncation in
    // x·y moves y by y·ulp, so the error is relative.
    let result = Session::new(graph)
        .run(inputs(vec![(A, "x", ArrayD::from_shape_vec(vec![n], values.clone()).unwrap())]))
        .unwrap();
    let ulp = 2f64.powi(-16);
    let mut worst = 0f64;
    for (v, y) in values.iter().zip(result.output(A, "y").unwrap()) {
        // Of the encoded input: x itself carries up to half an ulp.
        let exact = 1.0 / ((v * 65536.0).round() / 65536.0);
        worst = worst.max((y - exact).abs() / exact);
        assert!((y - exact).abs() <= exact * 2f64.powi(-14) + 4.0 * ulp, "1/{v}: {y} vs {exact}");
    }
    eprintln!("worst relative error {worst:.2e}");
    // share, comparison, 4 × (2 products), reveal.
    assert_eq!(result.report.rounds, 1 + 1 + 8 + 1);
}

#[test]
fn a_reciprocal_range_beyond_the_precision_is_refused() {
    let mut g = GraphBuilder::new();
    let x = g.private_input(A, "x", &[3]).unwrap();
    let error = g.reciprocal(x, 13).unwrap_err().to_string();
    assert!(error.contains("max_exponent 13"), "{error}");
}

#[test]
fn the_softmax_alternative_normalises_the_rectified_logits() {
    let mut logits = random(&[8, 10], 12.0, 3);
    for v in logits.index_axis_mut(ndarray::Axis(0), 0) {
        *v = -v.abs() - 1.0; // every logit negative: zeros
    }
    let mut g = GraphBuilder::new();
    let x = g.private_input(A, "x", &[8, 10]).unwrap();
    let x = g.share(x).unwrap();
    let p = g.softmax_alternative(x, 10).unwrap();
    g.output(A, "p", p).unwrap();
    let graph = g.finish();
    let result = Session::new(graph.clone()).run(inputs(vec![(A, "x", logits.clone())])).unwrap();
    let p = result.output(A, "p").unwrap();
    for (row, (logit_row, p_row)) in logits.outer_iter().zip(p.outer_iter()).enumerate() {
        let total: f64 = logit_row.iter().map(|v| v.max(0.0)).sum();
        for (v, q) in logit_row.iter().zip(p_row) {
            let expected = if total > 0.0 { v.max(0.0) / total } else { 0.0 };
            assert!((q - expected).abs() <= 2e-4, "row {row}: {q} vs {expected}");
        }
    }
    // share, drelu, mul (relu), reciprocal (9), mul, reveal.
    assert_eq!(result.report.rounds, 1 + 2 + 9 + 1 + 1);
}
