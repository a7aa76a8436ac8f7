//! The encrypted path (`blindfold predict --protocol paillier`): the shipped
//! JSON models predict what they predict in the clear; scikit-learn's
//! linear models, exported by skl2onnx with its default options
//! (`scripts/make_sklearn_models.py`), give onnxruntime's labels and
//! probabilities; a model that is not linear, a feature count that does
//! not match and malformed files are clear errors.

use std::path::Path;
use std::process::Command;

use blindfold_jobs::predict_paillier::{self, PaillierOptions, ROWS_PER_REQUEST};

const BINARY: &str = env!("CARGO_BIN_EXE_blindfold");

fn repository(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

#[test]
fn shipped_models_agree_with_the_plaintext() {
    for model in ["models/diabetes-linear.json", "models/diabetes-logistic.json"] {
        let prediction = predict_paillier::run(
            &repository(model),
            &repository("models/diabetes-sample.csv"),
            &PaillierOptions::default(),
        )
        .unwrap();
        assert_eq!(prediction.rows, 8);
        // Encoding error: 10 terms of inputs up to ~300 with 32 fractional bits.
        assert!(prediction.max_difference() < 1e-6, "{model}: {}", prediction.max_difference());
        // 8 rows of 10 encrypted features, 512 bytes each at 2048 bits.
        assert!(prediction.bytes_to_server > 80 * 512);
    }
}

/// `blindfold predict --protocol paillier --json` on an skl2onnx export and
/// its test rows, against onnxruntime's outputs on the same rows.
fn against_onnxruntime(name: &str, tolerance: f64) {
    let model = repository(&format!("models/sklearn/{name}.onnx"));
    let rows = repository(&format!("models/sklearn/{name}-rows.csv"));
    let output = Command::new(BINARY)
        .args(["predict", "--protocol", "paillier", "--json", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(&rows)
        .output()
        .unwrap();
    assert!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
    let record: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repository(&format!("models/sklearn/{name}-expected.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(record["rows_read"], 100, "{name}");
    for (output_name, reference) in expected["outputs"].as_object().unwrap() {
        let got = &record["outputs"][output_name];
        assert!(!got.is_null(), "{name}: no output '{output_name}' in {}", record["outputs"]);
        match reference["kind"].as_str().unwrap() {
            "labels" => {
                let want: Vec<String> =
                    reference["values"].as_array().unwrap().iter().map(|v| v.to_string()).collect();
                let got: Vec<String> =
                    got.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
                assert_eq!(got, want, "{name}: labels");
            }
            _ => {
                let flatten = |v: &serde_json::Value| -> Vec<f64> {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .flat_map(|row| match row.as_array() {
                            Some(values) => values.iter().map(|x| x.as_f64().unwrap()).collect(),
                            None => vec![row.as_f64().unwrap()],
                        })
                        .collect()
                };
                let (got, want) = (flatten(got), flatten(&reference["values"]));
                assert_eq!(got.len(), want.len(), "{name}: {output_name}");
                let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                assert!(worst <= tolerance, "{name}: {output_name} differs by {worst:e} from onnxruntime");
            }
        }
    }
}

#[test]
fn a_linear_regression_exported_by_skl2onnx_gives_onnxruntimes_predictions() {
    // Predictions around 150 in float32 (onnxruntime's arithmetic): its own
    // rounding is about 1e-5.
    against_onnxruntime("diabetes-linear", 5e-5);
}

#[test]
fn a_logistic_regression_exported_by_skl2onnx_gives_onnxruntimes_labels_and_probabilities() {
    against_onnxruntime("breast-cancer-logistic", 1e-6);
}

#[test]
fn a_scaler_and_logistic_regression_pipeline_gives_onnxruntimes_labels_and_probabilities() {
    against_onnxruntime("breast-cancer-pipeline", 1e-6);
}

#[test]
fn a_ten_class_logistic_regression_gives_onnxruntimes_labels_and_probabilities() {
    against_onnxruntime("digits-logistic", 1e-6);
}

#[test]
fn models_that_are_not_linear_and_mismatched_files_are_errors() {
    let sample = repository("models/diabetes-sample.csv");
    // An MLP has a ReLU: not linear in its input.
    let error = predict_paillier::run(
        &repository("models/sklearn/digits-mlp.onnx"),
        &sample,
        &PaillierOptions::default(),
    )
    .err()
    .expect("an error")
    .to_string();
    assert!(error.contains("Relu") && error.contains("not linear"), "{error}");
    // A feature count that does not match.
    let error = predict_paillier::run(
        &repository("models/sklearn/breast-cancer-logistic.onnx"),
        &sample,
        &PaillierOptions::default(),
    )
    .err()
    .expect("an error")
    .to_string();
    assert!(error.contains("10 columns") && error.contains("30 features"), "{error}");
    let dir = std::env::temp_dir().join(format!("blindfold-predict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let narrow = dir.join("narrow.json");
    std::fs::write(&narrow, r#"{"kind": "linear", "weights": [[1.0], [2.0]], "bias": [0.0]}"#).unwrap();
    let error = predict_paillier::run(&narrow, &sample, &PaillierOptions::default())
        .err()
        .expect("an error")
        .to_string();
    assert!(error.contains("10 columns") && error.contains("2 features"), "{error}");
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{not json").unwrap();
    let error = predict_paillier::run(&broken, &sample, &PaillierOptions::default())
        .err()
        .expect("an error")
        .to_string();
    assert!(error.contains("broken.json"), "{error}");
    let garbage = dir.join("garbage.onnx");
    std::fs::write(&garbage, b"\x08\x07garbage").unwrap();
    assert!(predict_paillier::run(&garbage, &sample, &PaillierOptions::default()).is_err());
    let missing = dir.join("missing.csv");
    assert!(
        predict_paillier::run(
            &repository("models/diabetes-linear.json"),
            &missing,
            &PaillierOptions::default()
        )
        .is_err()
    );
}

/// A headerless table whose first row begins with a byte-order mark: every
/// row is predicted, and the count read is reported beside the result.
#[test]
fn no_row_is_lost_and_the_count_read_is_reported() {
    let text = std::fs::read_to_string(repository("models/diabetes-sample.csv")).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).filter(|l| !l.trim().is_empty()).collect();
    let dir = std::env::temp_dir().join(format!("blindfold-predict-bom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bom = dir.join("bom.csv");
    std::fs::write(&bom, format!("\u{feff}{}\n", rows.join("\n"))).unwrap();
    let prediction =
        predict_paillier::run(&repository("models/diabetes-linear.json"), &bom, &PaillierOptions::default())
            .unwrap();
    assert_eq!(prediction.rows, rows.len());
    let command = |json: bool| {
        let mut command = Command::new(BINARY);
        command.args(["predict", "--protocol", "paillier", "--model"]);
        command.arg(repository("models/diabetes-linear.json")).arg("--input").arg(&bom);
        if json {
            command.arg("--json");
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let record: serde_json::Value = serde_json::from_str(&command(true)).unwrap();
    assert_eq!(record["rows_read"], rows.len());
    assert!(command(false).contains(&format!("read {} row(s)", rows.len())));
}

/// More rows than one request holds: every row comes back, in order, and
/// `limit` cuts the input; progress is reported per request.
#[test]
fn rows_go_in_requests_of_a_bounded_size() {
    let dir = std::env::temp_dir().join(format!("blindfold-predict-chunks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("double.json");
    std::fs::write(&model, r#"{"kind": "linear", "weights": [[2.0]], "bias": [0.5]}"#).unwrap();
    let rows = ROWS_PER_REQUEST + 7;
    let input = dir.join("rows.csv");
    let text: Vec<String> = (0..rows).map(|i| format!("{}", i as f64 / 8.0)).collect();
    std::fs::write(&input, format!("x\n{}\n", text.join("\n"))).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&seen);
    let progress: std::sync::Arc<dyn Fn(usize, usize) + Send + Sync> =
        std::sync::Arc::new(move |done, total| record.lock().unwrap().push((done, total)));
    let options = PaillierOptions { progress: Some(progress), ..PaillierOptions::default() };
    let prediction = predict_paillier::run(&model, &input, &options).unwrap();
    assert_eq!(prediction.rows, rows);
    for (i, &y) in prediction.result.outputs.iter().enumerate() {
        assert!((y - (2.0 * i as f64 / 8.0 + 0.5)).abs() < 1e-6, "row {i}: {y}");
    }
    assert_eq!(*seen.lock().unwrap(), [(ROWS_PER_REQUEST, rows), (rows, rows)]);
    let limited = PaillierOptions { limit: Some(5), ..PaillierOptions::default() };
    assert_eq!(predict_paillier::run(&model, &input, &limited).unwrap().result.outputs.len(), 5);
}

/// All 442 patients of data/diabetes.csv: the encrypted linear regression
/// equals the plaintext model within 1e-6 relative error.
#[test]
fn encrypted_diabetes_predictions_equal_the_plaintext_ones() {
    use blindfold_paillier::{Client, FixedPoint, LinearModel, PrivateKey, Server};
    let path = repository("data/diabetes.csv");
    let table = blindfold_jobs::input::read_matrix(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((table.rows, table.columns), (442, 11));
    let features: Vec<f64> = table.values.chunks(11).flat_map(|row| row[..10].to_vec()).collect();
    let model =
        LinearModel::from_json(&std::fs::read_to_string(repository("models/diabetes-linear.json")).unwrap())
            .unwrap();
    let client = Client::new(PrivateKey::generate(2048).unwrap(), FixedPoint::default());
    let mut server = Server::new(model.clone());
    let predictions =
        client.read(&server.respond(&client.request(&features, 442, 10).unwrap()).unwrap()).unwrap();
    for (got, want) in predictions.outputs.iter().zip(&model.predict(&features).outputs) {
        assert!((got - want).abs() <= 1e-6 * want.abs(), "{got} vs {want}");
    }
}
