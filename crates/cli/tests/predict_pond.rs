//! Private MNIST prediction with the shipped network B: the client's
//! classes agree with the plaintext model and the labels.

use std::path::{Path, PathBuf};

use blindfold_cli::predict_pond::{Request, run};

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn request(input: &str, labels: &str, limit: usize) -> Request {
    Request {
        model: repository("models/mnist-b.onnx"),
        input: repository(input),
        batch: 100,
        scale: Some(1.0 / 255.0),
        labels: Some(repository(labels)),
        compare_plaintext: true,
        limit: Some(limit),
        trace: None,
        progress: false,
    }
}

#[test]
fn the_shipped_samples_are_classified_correctly() {
    let outcome =
        run(&request("models/mnist-sample-images.npy", "models/mnist-sample-labels.npy", 16)).unwrap();
    assert_eq!(outcome.predictions.len(), 16);
    assert_eq!(outcome.plaintext_agreement, Some(1.0));
    assert_eq!(outcome.accuracy, Some(1.0));
    let record = outcome.json();
    assert_eq!(record["protocol"], "pond");
    assert_eq!(record["rounds"], 9);
    let text = outcome.to_string();
    assert!(text.contains("server0") && text.contains("server1"));
}

/// 500 images of the MNIST test set (../shared/data): agreement with the
/// plaintext ONNX model on at least 99.9%, accuracy within 0.1 points.
#[test]
fn five_hundred_test_images_agree_with_the_plaintext_model() {
    let outcome = run(&request(
        "../shared/data/mnist/t10k-images.idx3-ubyte.gz",
        "../shared/data/mnist/t10k-labels.idx1-ubyte.gz",
        500,
    ))
    .unwrap();
    let agreement = outcome.plaintext_agreement.unwrap();
    let (private, plaintext) = (outcome.accuracy.unwrap(), outcome.plaintext_accuracy.unwrap());
    assert!(agreement >= 0.999, "agreement {agreement}");
    assert!((private - plaintext).abs() <= 0.001, "accuracy {private} vs plaintext {plaintext}");
    assert!(private > 0.95, "accuracy {private}");
}

#[test]
fn a_corrupt_input_or_model_is_a_clear_error() {
    let mut bad = request("models/mnist-sample-labels.npy", "models/mnist-sample-labels.npy", 4);
    let error = run(&bad).err().expect("labels are not images").to_string();
    assert!(error.contains("values per input"), "{error}");
    bad.model = repository("models/diabetes-linear.json");
    bad.input = repository("models/mnist-sample-images.npy");
    let error = run(&bad).err().expect("JSON is not ONNX").to_string();
    assert!(error.contains("diabetes-linear.json"), "{error}");
}
