//! The shipped diabetes models predict under Paillier what they predict in
//! the clear, and bad files are clear errors.

use std::path::Path;

use blindfold_cli::predict_paillier;

fn repository(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

#[test]
fn shipped_models_agree_with_the_plaintext() {
    for model in ["models/diabetes-linear.json", "models/diabetes-logistic.json"] {
        let prediction =
            predict_paillier::run(&repository(model), &repository("models/diabetes-sample.csv"), 2048)
                .unwrap();
        assert_eq!(prediction.rows, 8);
        // Encoding error: 10 terms of inputs up to ~300 with 32 fractional bits.
        assert!(prediction.max_difference() < 1e-6, "{model}: {}", prediction.max_difference());
        let record = prediction.json();
        assert_eq!(record["plaintext_agreement"], 1.0);
        assert!(record["bytes_to_server"].as_u64().unwrap() > 80 * 512);
    }
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
    let prediction = predict_paillier::run(&repository("models/diabetes-linear.json"), &bom, 2048).unwrap();
    assert_eq!(prediction.rows, rows.len());
    assert_eq!(prediction.json()["rows_read"], rows.len());
    assert!(prediction.to_string().contains(&format!("read {} row(s)", rows.len())));
}

#[test]
fn mismatched_and_malformed_files_are_errors() {
    let sample = repository("models/diabetes-sample.csv");
    let dir = std::env::temp_dir().join(format!("blindfold-predict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let narrow = dir.join("narrow.json");
    std::fs::write(&narrow, r#"{"kind": "linear", "weights": [[1.0], [2.0]], "bias": [0.0]}"#).unwrap();
    let error = predict_paillier::run(&narrow, &sample, 2048).err().expect("an error").to_string();
    assert!(error.contains("10 columns") && error.contains("2 features"), "{error}");
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{not json").unwrap();
    assert!(
        predict_paillier::run(&broken, &sample, 2048)
            .err()
            .expect("an error")
            .to_string()
            .contains("broken.json")
    );
    let missing = dir.join("missing.csv");
    assert!(predict_paillier::run(&repository("models/diabetes-linear.json"), &missing, 2048).is_err());
}

/// All 442 patients of ../shared/data/diabetes: the encrypted linear
/// regression equals the plaintext model within 1e-6 relative error.
#[test]
fn encrypted_diabetes_predictions_equal_the_plaintext_ones() {
    use blindfold_paillier::{Client, FixedPoint, LinearModel, PrivateKey, Server};
    let table =
        blindfold_cli::input::read_matrix(&repository("../shared/data/diabetes/diabetes.csv")).unwrap();
    assert_eq!((table.rows, table.columns), (442, 11));
    let features: Vec<f64> = table.values.chunks(11).flat_map(|row| row[..10].to_vec()).collect();
    let model =
        LinearModel::from_json(&std::fs::read_to_string(repository("models/diabetes-linear.json")).unwrap())
            .unwrap();
    let client = Client::new(PrivateKey::generate(2048).unwrap(), FixedPoint::default());
    let mut server = Server::new(model.clone(), FixedPoint::default());
    let predictions =
        client.read(&server.respond(&client.request(&features, 442, 10).unwrap()).unwrap()).unwrap();
    for (got, want) in predictions.iter().zip(model.predict(&features)) {
        assert!((got - want).abs() <= 1e-6 * want.abs(), "{got} vs {want}");
    }
}
