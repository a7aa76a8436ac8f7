//! Exact comparison and what is built on it: DReLU, ReLU, max-pooling and
//! argmax equal the plaintext exactly (no truncation is involved), across
//! the whole representable range, in both rings; their measured bytes and
//! rounds equal the documented counts.

mod common;

use blindfold_ir::{Conv2dGeometry, GraphBuilder, Ring};
use blindfold_protocols::dcf::DcfKeys;
use blindfold_runtime::Session;
use common::{assert_matches_reference, inputs, random};
use ndarray::ArrayD;

const A: &str = "alice";

/// Edge values of the representable range for `ring` with its default precision.
fn edge_values(ring: Ring) -> Vec<f64> {
    let f = ring.default_fractional_bits() as i32;
    let ulp = 2f64.powi(-f);
    let top = 2f64.powi(ring.bits() as i32 - 1 - f); // 2^(k-1-F): the range's edge
    let mut values =
        vec![0.0, ulp, -ulp, 2.0 * ulp, -2.0 * ulp, 1.0, -1.0, -top, top - top * 1e-9, -top / 2.0, top / 2.0];
    values.extend((0..40).map(|i| ((i as f64 * 0.6180339887).fract() - 0.5) * top));
    values
}

/// DReLU of shared `values` (on x mod 2^bits if given), held to the
/// fixed-point reference exactly.
fn run_drelu(
    ring: Ring,
    bits: Option<u32>,
    values: &[f64],
) -> (blindfold_ir::Graph, blindfold_runtime::SessionResult) {
    let mut g = GraphBuilder::with_ring(ring);
    g.set_comparison_bits(bits).unwrap();
    let x = g.private_input(A, "x", &[values.len()]).unwrap();
    let x = g.share(x).unwrap();
    let d = g.drelu(x).unwrap();
    g.output(A, "d", d).unwrap();
    let graph = g.finish();
    let x = ArrayD::from_shape_vec(vec![values.len()], values.to_vec()).unwrap();
    let result = assert_matches_reference(&graph, &inputs(vec![(A, "x", x)]), 0.0);
    (graph, result)
}

#[test]
fn drelu_is_exact_across_the_range() {
    for ring in [Ring::Z64, Ring::Z128] {
        let values = edge_values(ring);
        let (_, result) = run_drelu(ring, None, &values);
        for (v, d) in values.iter().zip(result.output(A, "d").unwrap()) {
            assert_eq!(*d, if *v >= 0.0 { 1.0 } else { 0.0 }, "drelu({v}) in {ring:?}");
        }
    }
}

#[test]
fn relu_max_pool_and_argmax_are_exact() {
    for ring in [Ring::Z64, Ring::Z128] {
        let mut g = GraphBuilder::with_ring(ring);
        let x = g.private_input(A, "x", &[2, 3, 5, 5]).unwrap();
        let x = g.share(x).unwrap();
        let relu = g.relu(x).unwrap();
        let pooled =
            g.max_pool2d(x, (2, 2), Conv2dGeometry { stride: (2, 2), padding: (0, 0, 1, 1) }).unwrap();
        let pooled3 = g.max_pool2d(x, (3, 3), Conv2dGeometry::uniform(1, 1)).unwrap();
        let flat = g.reshape(x, &[6, 25]).unwrap();
        let best = g.argmax(flat).unwrap();
        for (name, value) in [("relu", relu), ("pooled", pooled), ("pooled3", pooled3), ("best", best)] {
            g.output(A, name, value).unwrap();
        }
        let graph = g.finish();
        let values = inputs(vec![(A, "x", random(&[2, 3, 5, 5], 100.0, 7))]);
        let result = assert_matches_reference(&graph, &values, 0.0);
        // And against the real-number definitions.
        let x = &values[A]["x"];
        let encoded = |v: f64| (v * 65536.0).round() / 65536.0;
        for (got, v) in result.output(A, "relu").unwrap().iter().zip(x.iter()) {
            let expected = if ring == Ring::Z64 { encoded(v.max(0.0)) } else { got.max(0.0) };
            assert_eq!(*got, expected);
        }
        let best = result.output(A, "best").unwrap();
        for (row, index) in best.iter().enumerate() {
            let slice: Vec<f64> = x.iter().skip(row * 25).take(25).copied().collect();
            let max = slice.iter().cloned().fold(f64::MIN, f64::max);
            assert_eq!(slice[*index as usize], max, "row {row}");
        }
        let pooled = result.output(A, "pooled").unwrap();
        assert_eq!(pooled.shape(), &[2, 3, 3, 3]);
        // The padded bottom-right window holds only x[4][4].
        let corner = x[[1, 2, 4, 4]];
        assert!((pooled[[1, 2, 2, 2]] - corner).abs() < 1e-4);
        // The float backend agrees within the encoding error.
        let float = Session::new(graph.clone())
            .protocol(blindfold_runtime::Protocol::PlaintextFloat)
            .run(values.clone())
            .unwrap();
        for name in ["relu", "pooled", "pooled3", "best"] {
            for (a, b) in result.output(A, name).unwrap().iter().zip(float.output(A, name).unwrap()) {
                assert!((a - b).abs() < 1e-4, "{name}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn ties_go_to_the_first_index() {
    let mut g = GraphBuilder::new();
    let x = g.private_input(A, "x", &[2, 5]).unwrap();
    let x = g.share(x).unwrap();
    let best = g.argmax(x).unwrap();
    g.output(A, "best", best).unwrap();
    let values =
        ArrayD::from_shape_vec(vec![2, 5], vec![1.0, 3.0, 3.0, -2.0, 3.0, -5.0, -5.0, -5.0, -5.0, -5.0])
            .unwrap();
    let graph = g.finish();
    let result = Session::new(graph.clone()).run(inputs(vec![(A, "x", values.clone())])).unwrap();
    assert_eq!(result.output(A, "best").unwrap().as_slice().unwrap(), &[1.0, 0.0]);
    let float = Session::new(graph)
        .protocol(blindfold_runtime::Protocol::PlaintextFloat)
        .run(inputs(vec![(A, "x", values)]))
        .unwrap();
    assert_eq!(float.output(A, "best").unwrap().as_slice().unwrap(), &[1.0, 0.0]);
}

#[test]
fn comparison_costs_what_its_docs_say() {
    for ring in [Ring::Z64, Ring::Z128] {
        let l = ring.bits() as u64 / 8;
        let n = 37u64;
        let mut g = GraphBuilder::with_ring(ring);
        let x = g.private_input(A, "x", &[n as usize]).unwrap();
        let x = g.share(x).unwrap();
        let r = g.relu(x).unwrap();
        g.output(A, "r", r).unwrap();
        let graph = g.finish();
        let result =
            Session::new(graph.clone()).run(inputs(vec![(A, "x", random(&[n as usize], 3.0, 1))])).unwrap();
        let index = |name: &str| graph.nodes().iter().position(|node| node.op.name() == name).unwrap() as u32;
        let drelu = result.report.op(index("drelu")).unwrap();
        let keys = match ring {
            Ring::Z64 => DcfKeys::<u64>::byte_len(63, n as usize),
            Ring::Z128 => DcfKeys::<u128>::byte_len(127, n as usize),
        } as u64;
        assert_eq!((drelu.bytes_sent, drelu.rounds), (2 * n * l, 1));
        assert_eq!(drelu.offline_bytes_sent, 2 * keys + n * l);
        // The estimate an in-process prediction checks its memory with.
        assert_eq!(blindfold_protocols::pond::comparison_material_bytes(&graph), drelu.offline_bytes_sent);
        // ReLU's product opens the comparison bits and x: one more round.
        let product = result.report.op(index("mul")).unwrap();
        assert_eq!((product.bytes_sent, product.rounds), (2 * 2 * n * l, 1));
        assert_eq!(result.report.rounds, 4, "share, drelu, mul, reveal");
    }
}

/// Comparisons on x mod 2^m: exact for |x| < 2^(m−1) ulps, including the
/// bound's edges, with m−1 DCF levels and ⌈m/8⌉ bytes per opened element.
#[test]
fn bounded_comparison_is_exact_within_its_bound_and_costs_less() {
    for (ring, m) in [(Ring::Z64, 32u32), (Ring::Z64, 40), (Ring::Z128, 56)] {
        let f = ring.default_fractional_bits() as i32;
        let ulp = 2f64.powi(-f);
        // Just below the bound: 2^(m−1) ulps less one ulp, or less the
        // nearest step f64 can hold.
        let bound = 2f64.powi(m as i32 - 1 - f);
        let edge = (bound - ulp).min(bound * (1.0 - 2f64.powi(-40)));
        let mut values = vec![0.0, ulp, -ulp, edge, -edge, -bound, 1.0, -1.0];
        values.extend((0..60).map(|i| ((i as f64 * 0.618_033_988_7).fract() - 0.5) * 2.0 * edge));
        let n = values.len();
        let (graph, result) = run_drelu(ring, Some(m), &values);
        for (v, d) in values.iter().zip(result.output(A, "d").unwrap()) {
            assert_eq!(*d, if *v >= 0.0 { 1.0 } else { 0.0 }, "drelu({v}) on {m} bits in {ring:?}");
        }
        let index = graph.nodes().iter().position(|node| node.op.name() == "drelu").unwrap() as u32;
        let drelu = result.report.op(index).unwrap();
        let (n, l) = (n as u64, ring.bits() as u64 / 8);
        let keys = match ring {
            Ring::Z64 => DcfKeys::<u64>::byte_len(m - 1, n as usize),
            Ring::Z128 => DcfKeys::<u128>::byte_len(m - 1, n as usize),
        } as u64;
        assert_eq!((drelu.bytes_sent, drelu.rounds), (2 * n * m.div_ceil(8) as u64, 1));
        assert_eq!(drelu.offline_bytes_sent, 2 * keys + n * l);
    }
}

#[test]
fn comparison_bits_must_fit_the_precision_and_the_ring() {
    let mut g = GraphBuilder::new(); // Z_2^64, 16 fractional bits
    assert!(g.set_comparison_bits(Some(17)).is_err());
    assert!(g.set_comparison_bits(Some(65)).is_err());
    assert!(g.set_comparison_bits(Some(18)).is_ok());
    assert!(g.set_comparison_bits(None).is_ok());
}
