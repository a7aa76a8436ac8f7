//! Imported models compute what onnxruntime computed for the same inputs
//! (fixtures made by scripts/make_onnx_fixtures.py), in the clear and under
//! Pond; bad models are errors naming the node.

use std::path::PathBuf;

use blindfold_onnx::{ImportOptions, OnnxError, SigmoidMethod, import};
use blindfold_runtime::{Protocol, Session};
use ndarray::ArrayD;
use ndarray_npy::read_npy;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn softmax_rows(values: &ArrayD<f64>) -> Vec<f64> {
    let columns = *values.shape().last().unwrap();
    let flat: Vec<f64> = values.iter().copied().collect();
    flat.chunks(columns)
        .flat_map(|row| {
            let max = row.iter().cloned().fold(f64::MIN, f64::max);
            let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
            row.iter().map(move |v| (v - max).exp() / sum).collect::<Vec<_>>()
        })
        .collect()
}

/// Runs `name` under `protocol` and returns the client's output (softmax
/// applied when the model's final Softmax was removed) and onnxruntime's.
fn run(name: &str, protocol: Protocol) -> (Vec<f64>, Vec<f64>) {
    let bytes = std::fs::read(fixture(&format!("{name}.onnx"))).unwrap();
    let model = import(&bytes, ImportOptions { batch: 3, ..ImportOptions::default() }).unwrap();
    let x: ArrayD<f32> = read_npy(fixture(&format!("{name}-input.npy"))).unwrap();
    let expected: ArrayD<f32> = read_npy(fixture(&format!("{name}-expected.npy"))).unwrap();
    let result =
        Session::new(model.graph.clone()).protocol(protocol).run(model.inputs(x.mapv(f64::from))).unwrap();
    let output = result.output("prediction-client", &model.output).unwrap();
    let got = if model.softmax_removed { softmax_rows(output) } else { output.iter().copied().collect() };
    (got, expected.iter().map(|&v| v as f64).collect())
}

fn assert_close(name: &str, protocol: Protocol, tolerance: f64) {
    let (got, expected) = run(name, protocol);
    assert_eq!(got.len(), expected.len(), "{name}");
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert!((g - e).abs() <= tolerance, "{name} {protocol:?} [{i}]: {g} vs onnxruntime {e}");
    }
}

#[test]
fn the_float_backend_matches_onnxruntime() {
    assert_close("mlp", Protocol::PlaintextFloat, 1e-5);
    assert_close("cnn", Protocol::PlaintextFloat, 1e-5);
    // misc's Sigmoid is the degree-7 polynomial: within its 0.032 of the real one.
    assert_close("misc", Protocol::PlaintextFloat, 0.033);
}

#[test]
fn pond_matches_onnxruntime_within_fixed_point_error() {
    assert_close("mlp", Protocol::Pond, 1e-3);
    assert_close("cnn", Protocol::Pond, 1e-3);
    assert_close("misc", Protocol::Pond, 0.034);
}

#[test]
fn weights_are_the_owners_private_inputs_and_batch_norm_is_folded() {
    let bytes = std::fs::read(fixture("cnn.onnx")).unwrap();
    let model = import(&bytes, ImportOptions::default()).unwrap();
    assert_eq!(model.input_shape, vec![1, 1, 10, 10]);
    assert!(
        model.weights.keys().any(|k| k.contains("folded")),
        "{:?}",
        model.weights.keys().collect::<Vec<_>>()
    );
    let owner_inputs = model
        .graph
        .nodes()
        .iter()
        .filter(|n| matches!(&n.op, blindfold_ir::Op::Input { party, .. } if party == "model-owner"))
        .count();
    assert_eq!(owner_inputs, model.weights.len());
}

#[test]
fn bad_models_are_errors_that_name_the_node() {
    let bytes = std::fs::read(fixture("unsupported.onnx")).unwrap();
    match import(&bytes, ImportOptions::default()) {
        Err(OnnxError::UnsupportedOp { node, op }) => {
            assert_eq!((node.as_str(), op.as_str()), ("determinant", "Det"))
        }
        Err(other) => panic!("unexpected {other}"),
        Ok(_) => panic!("Det was accepted"),
    }
    let bytes = std::fs::read(fixture("mlp.onnx")).unwrap();
    assert!(matches!(import(&bytes[..bytes.len() / 2], ImportOptions::default()), Err(OnnxError::Decode(_))));
    assert!(matches!(
        import(b"definitely not protobuf \xff\xff", ImportOptions::default()),
        Err(OnnxError::Decode(_))
    ));
}

/// Elements compared (DReLU evaluations) in one run of `graph`.
fn comparisons(graph: &blindfold_ir::Graph) -> usize {
    graph
        .nodes()
        .iter()
        .filter(|n| matches!(n.op, blindfold_ir::Op::Drelu { .. }))
        .map(|n| n.ty.shape.iter().product::<usize>())
        .sum()
}

/// Network C (models/mnist-c.onnx): Conv · Relu · MaxPool runs as
/// Conv · MaxPool · Relu, a quarter of the ReLUs for the same values.
#[test]
fn max_pooling_runs_before_relu() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/mnist-c.onnx");
    let model = import(&std::fs::read(path).unwrap(), ImportOptions::default()).unwrap();
    // ReLUs after pooling: 16·12·12 + 16·4·4 + 100; pooling tournaments:
    // 3 comparisons per 2x2 window, 16·12·12 + 16·4·4 windows.
    let (relus, windows) = (16 * 12 * 12 + 16 * 4 * 4 + 100, 16 * 12 * 12 + 16 * 4 * 4);
    assert_eq!(comparisons(&model.graph), relus + 3 * windows);
}

/// The two sigmoids: the clamped one compares (two per element), the
/// polynomial one does not.
#[test]
fn the_sigmoid_method_is_an_option() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/mnist-a-sigmoid.onnx");
    let bytes = std::fs::read(path).unwrap();
    let clamped = import(&bytes, ImportOptions::default()).unwrap();
    assert_eq!(comparisons(&clamped.graph), 2 * (128 + 128));
    let polynomial =
        import(&bytes, ImportOptions { sigmoid: SigmoidMethod::Polynomial, ..ImportOptions::default() })
            .unwrap();
    assert_eq!(comparisons(&polynomial.graph), 0);
}

/// Bounded comparisons (x mod 2^32) give the same predictions on the
/// fixtures, whose values are far below 2^15.
#[test]
fn bounded_comparisons_match_onnxruntime_too() {
    for name in ["mlp", "cnn"] {
        let bytes = std::fs::read(fixture(&format!("{name}.onnx"))).unwrap();
        let options = ImportOptions { batch: 3, comparison_bits: Some(32), ..ImportOptions::default() };
        let model = import(&bytes, options).unwrap();
        assert!(
            model
                .graph
                .nodes()
                .iter()
                .any(|n| matches!(n.op, blindfold_ir::Op::DreluBounded { bits: 32, .. }))
        );
        let x: ArrayD<f32> = read_npy(fixture(&format!("{name}-input.npy"))).unwrap();
        let expected: ArrayD<f32> = read_npy(fixture(&format!("{name}-expected.npy"))).unwrap();
        let result = Session::new(model.graph.clone()).run(model.inputs(x.mapv(f64::from))).unwrap();
        let output = result.output("prediction-client", &model.output).unwrap();
        let got = if model.softmax_removed { softmax_rows(output) } else { output.iter().copied().collect() };
        for (g, e) in got.iter().zip(expected.iter()) {
            assert!((g - *e as f64).abs() <= 1e-3, "{name}: {g} vs onnxruntime {e}");
        }
    }
    let bytes = std::fs::read(fixture("mlp.onnx")).unwrap();
    let options = ImportOptions { comparison_bits: Some(70), ..ImportOptions::default() };
    assert!(import(&bytes, options).is_err());
}

/// Models shaped as torch.onnx writes them (scripts/make_exported_style_models.py):
/// under Pond they give onnxruntime's outputs within fixed point's error
/// (1e-3), and within the private softmax's error (stated in
/// `GraphBuilder::softmax`, 5e-3 after the layer it feeds) for the softmax
/// in the middle of the graph.
#[test]
fn exported_style_models_match_onnxruntime_under_pond() {
    for (name, tolerance) in [
        ("depthwise", 1e-3),
        ("avgpool-ceil-include-pad-0", 1e-3),
        ("avgpool-ceil-include-pad-1", 1e-3),
        ("batchnorm-after-relu", 1e-3),
        ("softmax-middle", 5e-3),
    ] {
        let folder = fixture("exported");
        let bytes = std::fs::read(folder.join(format!("{name}.onnx"))).unwrap();
        let model = import(&bytes, ImportOptions { batch: 3, ..ImportOptions::default() }).unwrap();
        let x: ArrayD<f32> = read_npy(folder.join(format!("{name}-input.npy"))).unwrap();
        let expected: ArrayD<f32> = read_npy(folder.join(format!("{name}-expected.npy"))).unwrap();
        let result = Session::new(model.graph.clone())
            .protocol(Protocol::Pond)
            .run(model.inputs(x.mapv(f64::from)))
            .unwrap();
        let output = &model.outputs[0];
        let got = output.finish(result.output(&output.party, &output.name).unwrap());
        assert_eq!(got.shape(), expected.shape(), "{name}");
        for (g, e) in got.iter().zip(expected.iter()) {
            assert!((g - *e as f64).abs() <= tolerance, "{name}: {g} vs onnxruntime {e}");
        }
    }
}
