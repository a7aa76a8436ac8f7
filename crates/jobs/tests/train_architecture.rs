//! Private training of an architecture as users define it: a small CNN
//! exported PyTorch-style (crates/onnx/tests/fixtures/exported/cnn-init.onnx,
//! made by scripts/make_exported_style_models.py) trained on two owners'
//! MNIST rows under Pond, beside the same SGD in f64: the same accuracy,
//! and the trained model is the same ONNX architecture onnxruntime-style
//! readers take (here: blindfold's importer in f64).

use std::path::{Path, PathBuf};

use blindfold_jobs::input::{Table, read_array};
use blindfold_jobs::train::{DataSource, TrainRequest, train};
use blindfold_ml::training::{ModelKind, TrainingConfig};
use blindfold_onnx::parameters;

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// Rows `from..to` of the shipped MNIST training sample as a table: 784
/// pixels in [0, 1], then the label.
fn mnist_rows(owner: &str, from: usize, to: usize) -> DataSource {
    let images = read_array(&repository("data/mnist/train-sample-images.idx3-ubyte.gz")).unwrap();
    let labels = read_array(&repository("data/mnist/train-sample-labels.idx1-ubyte.gz")).unwrap();
    let mut values = Vec::new();
    for row in from..to {
        values.extend(images.index_axis(ndarray::Axis(0), row).iter().map(|p| p / 255.0));
        values.push(labels[[row]]);
    }
    DataSource {
        owner: owner.into(),
        name: format!("{owner}'s rows"),
        table: Table { header: None, columns: 785, rows: to - from, values },
    }
}

#[test]
fn a_cnn_from_onnx_trains_privately_like_its_twin() {
    let model = std::fs::read(repository("crates/onnx/tests/fixtures/exported/cnn-init.onnx")).unwrap();
    let mut config = TrainingConfig::new(ModelKind::LinearRegression);
    config.epochs = 1;
    config.batch_size = 32;
    config.learning_rate = 0.5;
    let mut request = TrainRequest::new(config, "784");
    request.architecture = Some(model.clone());
    let sources = [mnist_rows("hospital-a", 0, 96), mnist_rows("hospital-b", 96, 192)];
    let test = mnist_rows("test", 1024, 1280);
    let outcome = train(&request, &sources, Some(&test)).unwrap();
    let (private, twin) = outcome.test_metric.unwrap();
    eprintln!(
        "cnn-init, 192 rows, 1 epoch: accuracy private {private:.3}, twin {twin:.3} ({:.1} s, {} rounds)",
        outcome.wall_s, outcome.rounds
    );
    assert!((private - twin).abs() <= 0.02, "{private} vs {twin}");
    assert!(private > 0.25, "six SGD steps should beat chance: {private}");
    // The same architecture, new weights.
    let (before, after) = (parameters(&model).unwrap(), parameters(&outcome.model).unwrap());
    assert_eq!(before.len(), after.len());
    for ((name, initial), (trained_name, trained)) in before.iter().zip(&after) {
        assert_eq!((name, initial.shape()), (trained_name, trained.shape()));
        assert!(initial.iter().zip(trained.iter()).any(|(a, b)| (a - b).abs() > 1e-4), "{name} did not move");
    }
    assert_eq!(outcome.record(None)["model_kind"], "onnx");
}

/// `OWNER=SAMPLES:LABELS`: image arrays as a data owner's rows, flattened,
/// the label column named "label"; a count mismatch is an error naming both.
#[test]
fn image_owners_read_samples_and_labels() {
    use blindfold_jobs::train::read_sources;
    let images = repository("data/mnist/t10k-sample-images.idx3-ubyte.gz");
    let labels = repository("data/mnist/t10k-sample-labels.idx1-ubyte.gz");
    let both = PathBuf::from(format!("{}:{}", images.display(), labels.display()));
    let sources = read_sources(&[("clinic".into(), both)]).unwrap();
    let table = &sources[0].table;
    assert_eq!((table.rows, table.columns), (1000, 785));
    assert_eq!(table.column_named("label").unwrap(), 784);
    assert_eq!(table.column(784)[..3], [7.0, 2.0, 1.0]);
    let mismatched = PathBuf::from(format!("{}:{}", images.display(), images.display()));
    let error = read_sources(&[("clinic".into(), mismatched)]).err().unwrap().to_string();
    assert!(error.contains("one label per sample"), "{error}");
}
