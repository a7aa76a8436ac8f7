//! scikit-learn's ONNX exports as users make them (skl2onnx, default
//! options: scripts/make_sklearn_models.py), predicted privately under Pond
//! from the command line: every output by name in `--json`, onnxruntime's
//! labels on every test row, its probabilities within 1e-3, a regressor's
//! predictions within 1e-3 relative.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_blindfold");

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn numbers(value: &Value) -> Vec<f64> {
    match value {
        Value::Array(items) => items.iter().flat_map(numbers).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not a number: {other}"),
    }
}

fn check(name: &str) {
    let model = repository(&format!("models/sklearn/{name}.onnx"));
    let rows = repository(&format!("models/sklearn/{name}-rows.csv"));
    let output = Command::new(BINARY)
        .args(["predict", "--json", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(&rows)
        .output()
        .unwrap();
    assert!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
    let record: Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(repository(&format!("models/sklearn/{name}-expected.json"))).unwrap(),
    )
    .unwrap();
    let named = &record["named_outputs"];
    for (output, reference) in expected["outputs"].as_object().unwrap() {
        let got = numbers(&named[output]);
        let want = numbers(&reference["values"]);
        assert_eq!(got.len(), want.len(), "{name} {output}");
        match reference["kind"].as_str().unwrap() {
            "labels" => assert_eq!(got, want, "{name}: labels differ from onnxruntime's"),
            "probabilities" => {
                let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
                assert!(worst <= 1e-3, "{name} {output}: off by {worst}");
            }
            _ => {
                let worst =
                    got.iter().zip(&want).map(|(g, w)| (g - w).abs() / w.abs().max(1.0)).fold(0.0, f64::max);
                assert!(worst <= 1e-3, "{name} {output}: off by {worst} (relative)");
            }
        }
    }
}

#[test]
fn linear_regression_on_diabetes() {
    check("diabetes-linear");
}

#[test]
fn logistic_regression_binary_on_breast_cancer() {
    check("breast-cancer-logistic");
}

#[test]
fn logistic_regression_ten_classes_on_digits() {
    check("digits-logistic");
}

#[test]
fn mlp_classifier_on_digits() {
    check("digits-mlp");
}

#[test]
fn scaler_and_logistic_regression_pipeline() {
    check("breast-cancer-pipeline");
}
