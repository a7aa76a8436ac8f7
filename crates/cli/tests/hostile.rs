//! The hostile cases of issue 17, through the command a user runs: each
//! ends in a clear error (exit status 2, the caller's mistake) and never in
//! a panic, a signal, a hang or a silently wrong answer.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use blindfold_onnx::proto::ModelProto;
use prost::Message;

const BINARY: &str = env!("CARGO_BIN_EXE_blindfold");

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("blindfold-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn blindfold(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().unwrap()
}

/// The command failed as a usage error, with `expected` in its message and
/// no sign of a crash.
fn refused(output: &Output, expected: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(expected), "expected '{expected}' in: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
    stderr
}

/// `mnist-b.onnx` with every value of its first dense layer's weights
/// multiplied by `factor` (the pattern of the structurally mutated models).
fn scaled_model(factor: f32) -> PathBuf {
    let mut model =
        ModelProto::decode(std::fs::read(repository("models/mnist-b.onnx")).unwrap().as_slice()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let largest = graph.initializer.iter_mut().max_by_key(|t| t.dims.iter().product::<i64>()).unwrap();
    if let Some(raw) = largest.raw_data.as_mut() {
        for chunk in raw.chunks_exact_mut(4) {
            let value = f32::from_le_bytes(chunk.try_into().unwrap()) * factor;
            chunk.copy_from_slice(&value.to_le_bytes());
        }
    } else {
        largest.float_data.iter_mut().for_each(|v| *v *= factor);
    }
    let path = scratch().join(format!("mnist-b-times-{factor}.onnx"));
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    path
}

#[test]
fn weights_scaled_a_million_times_are_refused_not_wrapped() {
    let model = scaled_model(1e6);
    let images = repository("models/mnist-sample-images.npy");
    let args = |extra: &[&str]| {
        let mut args =
            vec!["predict", "--model", model.to_str().unwrap(), "--input", images.to_str().unwrap()];
        args.extend(["--scale", "0.00392156862745098", "--limit", "4", "--json"]);
        args.extend(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| Command::new(BINARY).args(args(extra)).output().unwrap();
    let stderr = refused(&run(&[]), "fixed point would overflow at %");
    // The caller holds every party's data here, so it sees the bound.
    assert!(stderr.contains("in detail") && stderr.contains("e"), "{stderr}");
    // Accepting the risk runs it, and the comparison shows the damage.
    let accepted = run(&["--accept-overflow-risk", "--compare-plaintext"]);
    assert!(accepted.status.success(), "{}", String::from_utf8_lossy(&accepted.stderr));
    // Ordinary weights pass the same check.
    let ordinary = scaled_model(1.0);
    let fine = blindfold(&[
        "predict",
        "--model",
        ordinary.to_str().unwrap(),
        "--input",
        images.to_str().unwrap(),
        "--limit",
        "2",
        "--scale",
        "0.0039",
    ]);
    assert!(fine.status.success(), "{}", String::from_utf8_lossy(&fine.stderr));
}

#[test]
fn malformed_models_and_files_are_usage_errors() {
    let dir = scratch();
    let images = repository("models/mnist-sample-images.npy");
    // A BatchNormalization whose mean is shorter than the channels.
    let mut cnn = ModelProto::decode(
        std::fs::read(repository("crates/onnx/tests/fixtures/cnn.onnx")).unwrap().as_slice(),
    )
    .unwrap();
    let graph = cnn.graph.as_mut().unwrap();
    let mean = graph.initializer.iter_mut().find(|t| t.name.as_deref() == Some("m")).unwrap();
    mean.dims = vec![2];
    mean.raw_data = Some([0.5f32, 0.5].iter().flat_map(|v| v.to_le_bytes()).collect());
    mean.float_data.clear();
    let bad = dir.join("short-mean.onnx");
    std::fs::write(&bad, cnn.encode_to_vec()).unwrap();
    let bad = bad.to_str().unwrap();
    refused(
        &blindfold(&["predict", "--model", bad, "--input", images.to_str().unwrap()]),
        "BatchNormalization",
    );
    let out = dir.join("never.graph");
    refused(
        &blindfold(&["graph", "predict", "--model", bad, "--out", out.to_str().unwrap()]),
        "its mean has shape [2]",
    );
    // A .npy whose header declares 10^16 values.
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000, 100000000), }";
    let padded = format!("{header:<117}\n");
    npy.extend((padded.len() as u16).to_le_bytes());
    npy.extend(padded.as_bytes());
    npy.extend([0u8; 64]);
    let huge = dir.join("huge.npy");
    std::fs::write(&huge, npy).unwrap();
    let model = repository("models/mnist-b.onnx");
    refused(
        &blindfold(&["predict", "--model", model.to_str().unwrap(), "--input", huge.to_str().unwrap()]),
        "limit",
    );
    // A missing file is said to be missing.
    let missing = dir.join("absent.npy");
    refused(
        &blindfold(&["predict", "--model", model.to_str().unwrap(), "--input", missing.to_str().unwrap()]),
        "no such file",
    );
}

#[test]
fn sizes_past_their_limits_are_refused_before_allocating() {
    let data = format!("a={}", repository("data/diabetes.csv").display());
    let base = ["train", "--data", &data, "--label-column", "sex", "--epochs", "1"];
    let with = |kind: &str, extra: &[&str]| {
        let mut args = vec![base[0], kind];
        args.extend(&base[1..]);
        args.extend(extra);
        blindfold(&args)
    };
    refused(&with("logreg", &["--classes", "1000000"]), "--classes");
    refused(&with("mlp", &["--hidden", "65536,65536"]), "parameters");
    refused(&with("mlp", &["--hidden", "100000"]), "--hidden");
}

#[test]
fn an_encrypted_model_with_several_outputs_answers() {
    let dir = scratch();
    let model = dir.join("three.json");
    let weights: Vec<String> = (0..10).map(|i| format!("[{i}.0, -1.0, 0.5]")).collect();
    std::fs::write(
        &model,
        format!(r#"{{"kind": "linear", "weights": [{}], "bias": [1, 2, 3]}}"#, weights.join(",")),
    )
    .unwrap();
    let output = blindfold(&[
        "predict",
        "--protocol",
        "paillier",
        "--json",
        "--model",
        model.to_str().unwrap(),
        "--input",
        repository("models/diabetes-sample.csv").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let record: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(record["outputs"]["scores"][0].as_array().unwrap().len(), 3);
}
