//! A model with no initializers whose weights are a second graph input:
//! `--input NAME=FILE` per input and `--input-owner` say who gives which,
//! every output comes back by name, equal to onnxruntime's (labels exactly,
//! probabilities within 1e-3); a missing input or an unknown owner's name
//! is a usage error naming it.

use std::path::{Path, PathBuf};
use std::process::Command;

use blindfold_jobs::input::read_array;
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_blindfold");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../onnx/tests/fixtures/exported").join(name)
}

fn blindfold(arguments: &[String]) -> std::process::Output {
    Command::new(BINARY).args(arguments).output().unwrap()
}

fn arguments(inputs: &[String]) -> Vec<String> {
    let mut all = vec!["predict".into(), "--json".into(), "--batch".into(), "4".into(), "--model".into()];
    all.push(fixture("weights-as-input.onnx").display().to_string());
    all.extend(inputs.iter().cloned());
    all
}

#[test]
fn weights_given_as_a_graph_input_from_their_own_file() {
    let x = fixture("weights-as-input-x.npy").display().to_string();
    let w = fixture("weights-as-input-w.npy").display().to_string();
    let output = blindfold(&arguments(&[
        "--input".into(),
        x.clone(),
        "--input".into(),
        format!("w={w}"),
        "--input-owner".into(),
        "w=model-owner".into(),
    ]));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let record: Value = serde_json::from_slice(&output.stdout).unwrap();
    let named = &record["named_outputs"];
    let labels: Vec<i64> = named["label"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    let expected_labels = read_array(&fixture("weights-as-input-label.npy")).unwrap();
    assert_eq!(labels, expected_labels.iter().map(|&v| v as i64).collect::<Vec<_>>());
    let expected = read_array(&fixture("weights-as-input-probabilities.npy")).unwrap();
    let got: Vec<f64> = named["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>())
        .collect();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(expected.iter()) {
        assert!((g - e).abs() <= 1e-3, "{g} vs onnxruntime {e}");
    }
    // The weights stay the model owner's: the client received shares and
    // its outputs only (7 parties' bytes are counted, the owner gave w).
    assert!(record["received"]["model-owner"].as_u64().is_some());

    // Without w: a usage error naming it.
    let missing = blindfold(&arguments(&["--input".into(), x.clone()]));
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("'w'"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    // An owner for an input the model does not have.
    let unknown = blindfold(&arguments(&[
        "--input".into(),
        x,
        "--input".into(),
        format!("w={w}"),
        "--input-owner".into(),
        "bias=model-owner".into(),
    ]));
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("'bias'"));
}
