//! Private MNIST prediction with the shipped networks A–D: the client's
//! classes agree with the plaintext model and the labels.

use std::path::{Path, PathBuf};

use blindfold_jobs::JobError;
use blindfold_jobs::predict::{FilePrediction, PredictFiles, PredictOptions, predict, predict_files};
use blindfold_runtime::Protocol;

/// The binary's allocator and settings: batches of CNN comparisons move GBs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn request(input: &str, labels: &str, limit: usize) -> PredictFiles {
    request_for("b", input, labels, limit)
}

fn request_for(network: &str, input: &str, labels: &str, limit: usize) -> PredictFiles {
    PredictFiles {
        model: repository(&format!("models/mnist-{network}.onnx")),
        input: repository(input),
        input_name: None,
        named_inputs: Vec::new(),
        calibration: None,
        labels: Some(repository(labels)),
        scale: Some(1.0 / 255.0),
        limit: Some(limit),
    }
}

/// Pond at batch 100, beside the plaintext model.
fn run(files: &PredictFiles) -> Result<FilePrediction, JobError> {
    run_under(Protocol::Pond, files)
}

/// `protocol` at batch 100, beside the plaintext model.
fn run_under(protocol: Protocol, files: &PredictFiles) -> Result<FilePrediction, JobError> {
    let options =
        PredictOptions { batch: 100, compare_plaintext: true, protocol, ..PredictOptions::default() };
    predict_files(files, &options)
}

#[test]
fn the_shipped_samples_are_classified_correctly() {
    let outcome =
        run(&request("models/mnist-sample-images.npy", "models/mnist-sample-labels.npy", 16)).unwrap();
    assert_eq!(outcome.classes.len(), 16);
    assert_eq!(outcome.plaintext_agreement, Some(1.0));
    assert_eq!(outcome.accuracy, Some(1.0));
    let prediction = &outcome.prediction;
    assert_eq!((prediction.rounds, prediction.batches, prediction.inputs), (9, 1, 16));
    let received: Vec<&str> = prediction.received.iter().map(|(party, _)| party.as_str()).collect();
    assert!(received.contains(&"server0") && received.contains(&"server1"), "{received:?}");
}

/// A file of the full data sets beside the checkout (for ignored tests),
/// or a panic that says where it goes.
fn shared(path: &str) -> String {
    let full = format!("../shared/data/{path}");
    assert!(
        repository(&full).exists(),
        "needs {full} (the full set, beside the checkout): see data/README.md"
    );
    full
}

/// Runs `network` on the first `limit` MNIST test images of `images` and
/// `labels`, and checks docs/benchmarks.md's bar: agreement with the
/// plaintext ONNX model on at least 99.9%, accuracy within 0.1 points of
/// the plaintext accuracy.
fn check_test_set(network: &str, files: (&str, &str), limit: usize) {
    check_test_set_under(Protocol::Pond, network, files, limit, 0.999);
}

/// [`check_test_set`] under `protocol`, with agreement at least `agreement`.
fn check_test_set_under(
    protocol: Protocol,
    network: &str,
    (images, labels): (&str, &str),
    limit: usize,
    agreement_bar: f64,
) {
    blindfold_jobs::allocator::keep_freed_memory();
    let outcome = run_under(protocol, &request_for(network, images, labels, limit)).unwrap();
    let agreement = outcome.plaintext_agreement.unwrap();
    let (private, plaintext) = (outcome.accuracy.unwrap(), outcome.plaintext_accuracy.unwrap());
    eprintln!(
        "{} network {network}, {} images: private accuracy {:.2}%, plaintext {:.2}%, agreement {:.2}% ({:.1} s)",
        protocol.name(),
        outcome.classes.len(),
        private * 100.0,
        plaintext * 100.0,
        agreement * 100.0,
        outcome.prediction.wall_s
    );
    assert_eq!(outcome.classes.len(), limit);
    assert!(agreement >= agreement_bar, "network {network}: agreement {agreement}");
    assert!(
        (private - plaintext).abs() <= 0.001,
        "network {network}: accuracy {private} vs plaintext {plaintext}"
    );
    assert!(private > 0.95, "network {network}: accuracy {private}");
}

/// The shipped sample (data/mnist): 100 test images through each network.
#[test]
fn a_hundred_test_images_agree_with_the_plaintext_model() {
    let sample =
        ("data/mnist/t10k-sample-images.idx3-ubyte.gz", "data/mnist/t10k-sample-labels.idx1-ubyte.gz");
    for network in ["a", "b", "c", "d"] {
        check_test_set(network, sample, 100);
    }
}

/// The whole test set, 10,000 images through each network (several minutes
/// in release: `cargo test --release -p blindfold-jobs --test predict --
/// --ignored --nocapture`).
#[test]
#[ignore = "needs the full MNIST test set in ../shared/data/mnist; minutes in release"]
fn the_full_test_set_agrees_with_the_plaintext_model() {
    let full = (shared("mnist/t10k-images.idx3-ubyte.gz"), shared("mnist/t10k-labels.idx1-ubyte.gz"));
    for network in ["a", "b", "c", "d"] {
        check_test_set(network, (&full.0, &full.1), 10_000);
    }
}

/// The replicated protocol on 500 sample test images through each network:
/// every class equal to the plaintext model's.
#[test]
fn under_the_replicated_protocol_five_hundred_test_images_agree_with_the_plaintext_model() {
    let sample =
        ("data/mnist/t10k-sample-images.idx3-ubyte.gz", "data/mnist/t10k-sample-labels.idx1-ubyte.gz");
    for network in ["a", "b", "c", "d"] {
        check_test_set_under(Protocol::Replicated, network, sample, 500, 1.0);
    }
}

/// The whole test set under the replicated protocol: 100% agreement
/// (`cargo test --release -p blindfold-jobs --test predict -- --ignored
/// --nocapture`).
#[test]
#[ignore = "needs the full MNIST test set in ../shared/data/mnist; minutes in release"]
fn under_the_replicated_protocol_the_full_test_set_agrees_with_the_plaintext_model() {
    let full = (shared("mnist/t10k-images.idx3-ubyte.gz"), shared("mnist/t10k-labels.idx1-ubyte.gz"));
    for network in ["a", "b", "c", "d"] {
        check_test_set_under(Protocol::Replicated, network, (&full.0, &full.1), 10_000, 1.0);
    }
}

#[test]
fn a_corrupt_input_or_model_is_a_clear_error() {
    let mut bad = request("models/mnist-sample-labels.npy", "models/mnist-sample-labels.npy", 4);
    let error = run(&bad).err().expect("labels are not images");
    assert!(matches!(error, JobError::Invalid(_)), "{error:?}");
    assert!(error.to_string().contains("inputs of shape [4]"), "{error}");
    bad.model = repository("models/diabetes-linear.json");
    bad.input = repository("models/mnist-sample-images.npy");
    let error = run(&bad).err().expect("JSON is not ONNX");
    assert!(
        matches!(&error, JobError::Model { file, .. } if file.ends_with("diabetes-linear.json")),
        "{error:?}"
    );
}

/// Comparison widths calibrated on the model owner's sample (its 2,048
/// training images): networks C and D compare on 32 bits instead of 64,
/// about half the producer's bytes, with the same classes as plaintext on
/// 40 test images. Inputs beyond what the widths hold (the images × 10^5)
/// are refused before anything runs, never compared wrongly.
#[test]
fn calibrated_comparison_widths_halve_the_keys_and_change_no_class() {
    for network in ["c", "d"] {
        let test =
            ("data/mnist/t10k-sample-images.idx3-ubyte.gz", "data/mnist/t10k-sample-labels.idx1-ubyte.gz");
        let exact = run(&request_for(network, test.0, test.1, 40)).unwrap();
        let mut files = request_for(network, test.0, test.1, 40);
        files.calibration = Some(repository("data/mnist/train-sample-images.idx3-ubyte.gz"));
        let calibrated = run(&files).unwrap();
        assert_eq!(calibrated.plaintext_agreement, Some(1.0), "network {network}");
        assert_eq!(calibrated.classes, exact.classes, "network {network}");
        let widths = &calibrated.prediction.comparison_widths;
        assert!(widths.get(&32).copied().unwrap_or(0) > 0, "network {network}: {widths:?}");
        let (narrow, wide) =
            (calibrated.prediction.offline_bytes as f64, exact.prediction.offline_bytes as f64);
        assert!(narrow < 0.6 * wide, "network {network}: {narrow} offline bytes against {wide}");

        // The same widths, inputs 10^5 times larger: refused.
        let read = |path: &str| blindfold_jobs::input::read_array(&repository(path)).unwrap();
        let sample = read("data/mnist/train-sample-images.idx3-ubyte.gz").mapv(|v| v / 255.0);
        let images = read(test.0).slice_axis(ndarray::Axis(0), (0..4).into()).mapv(|v| v * 1e5 / 255.0);
        let images = images.into_shape_with_order(ndarray::IxDyn(&[4, 1, 28, 28])).unwrap();
        let model = std::fs::read(repository(&format!("models/mnist-{network}.onnx"))).unwrap();
        let options = PredictOptions { batch: 4, calibration: Some(sample), ..PredictOptions::default() };
        match predict(&model, network, &images, &options) {
            Err(error) => {
                let message = error.to_string();
                assert!(message.contains("overflow") || message.contains("compared on"), "{message}");
            }
            Ok(_) => panic!("network {network}: inputs beyond the calibrated widths ran"),
        }
    }
}
