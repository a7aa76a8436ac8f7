//! Private training on MNIST: one-vs-rest logistic regression and the
//! 784-128-128-10 ReLU MLP, each beside its plaintext twin (the same SGD in
//! f64). CI trains on the shipped sample (data/mnist); the ignored tests
//! train on all 60,000 images of ../shared/data/mnist (minutes each, in
//! release).

use std::path::Path;

use blindfold_jobs::input::read_array;
use blindfold_ml::training::{self, DenseModel, ModelKind, TrainingConfig};
use blindfold_runtime::{Protocol, SessionOptions};
use ndarray::{Array2, Axis};

/// The first `rows` images of a split: from the shipped sample when it
/// has enough, else from the full set beside the checkout.
fn mnist(split: &str, rows: usize) -> (Array2<f64>, Vec<usize>) {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sample = repository.join(format!("data/mnist/{split}-sample-images.idx3-ubyte.gz"));
    let (images, labels) =
        if read_array(&repository.join(format!("data/mnist/{split}-sample-labels.idx1-ubyte.gz")))
            .is_ok_and(|labels| labels.len() >= rows)
        {
            (sample, repository.join(format!("data/mnist/{split}-sample-labels.idx1-ubyte.gz")))
        } else {
            let full = repository.join("../shared/data/mnist");
            let images = full.join(format!("{split}-images.idx3-ubyte.gz"));
            assert!(
                images.exists(),
                "needs {} (the full set, beside the checkout): see data/README.md",
                images.display()
            );
            (images, full.join(format!("{split}-labels.idx1-ubyte.gz")))
        };
    let x = read_array(&images).unwrap();
    let y = read_array(&labels).unwrap();
    let x = x.slice_axis(Axis(0), (0..rows).into()).to_owned();
    let x =
        x.into_shape_with_order((rows, 784)).unwrap().into_dimensionality().unwrap().mapv(|p: f64| p / 255.0);
    (x, y.iter().take(rows).map(|&v| v as usize).collect())
}

fn accuracy(model: &DenseModel, x: &Array2<f64>, y: &[usize]) -> f64 {
    let p = model.predict(x);
    let correct = p
        .outer_iter()
        .zip(y)
        .filter(|(row, label)| row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0 == **label)
        .count();
    correct as f64 / y.len() as f64
}

/// Trains `kind` on the first `rows` training images split between two
/// owners; returns (private, twin) test accuracy on `test_rows` test images.
fn train(
    kind: ModelKind,
    rows: usize,
    epochs: usize,
    batch: usize,
    rate: f64,
    test_rows: usize,
) -> (f64, f64) {
    train_under(Protocol::Pond, kind, rows, epochs, batch, rate, test_rows)
}

/// [`train`] under `protocol`.
fn train_under(
    protocol: Protocol,
    kind: ModelKind,
    rows: usize,
    epochs: usize,
    batch: usize,
    rate: f64,
    test_rows: usize,
) -> (f64, f64) {
    let (x, y) = mnist("train", rows);
    let mut one_hot = Array2::zeros((rows, 10));
    for (row, &label) in y.iter().enumerate() {
        one_hot[[row, label]] = 1.0;
    }
    let data = training::split_rows(&x, &one_hot, &["bank-a", "bank-b"]);
    let mut config = TrainingConfig::new(kind.clone());
    config.epochs = epochs;
    config.batch_size = batch;
    config.learning_rate = rate;
    config.protocol = protocol;
    let run = training::train_with_twin(&config, &data, SessionOptions::default()).unwrap();
    let (test_x, test_y) = mnist("t10k", test_rows);
    let (a, b) = (accuracy(&run.private, &test_x, &test_y), accuracy(&run.twin, &test_x, &test_y));
    let (seconds, report) = (run.private_s, &run.session.report);
    eprintln!(
        "{} {kind:?} on {rows} images, {epochs} epoch(s), batch {batch}: test accuracy private {:.2}%, plaintext twin {:.2}% ({seconds:.1} s, {} bytes, {} rounds)",
        protocol.name(),
        a * 100.0,
        b * 100.0,
        report.bytes_sent + report.offline_bytes_sent,
        report.rounds
    );
    (a, b)
}

#[test]
fn logistic_regression_on_a_sample_matches_its_twin() {
    let (private, twin) = train(ModelKind::LogisticRegression, 1024, 1, 64, 0.5, 1000);
    assert!((private - twin).abs() <= 0.01, "{private} vs {twin}");
    assert!(private > 0.7, "{private}");
}

#[test]
fn the_mlp_on_a_sample_matches_its_twin() {
    let (private, twin) = train(ModelKind::Mlp { hidden: vec![128, 128] }, 512, 1, 64, 0.1, 1000);
    assert!((private - twin).abs() <= 0.015, "{private} vs {twin}");
    assert!(private > 0.3, "{private}");
}

#[test]
fn under_the_replicated_protocol_both_match_their_twins_too() {
    let (private, twin) =
        train_under(Protocol::Replicated, ModelKind::LogisticRegression, 1024, 1, 64, 0.5, 1000);
    assert!((private - twin).abs() <= 0.01, "{private} vs {twin}");
    let mlp = ModelKind::Mlp { hidden: vec![128, 128] };
    let (private, twin) = train_under(Protocol::Replicated, mlp, 512, 1, 64, 0.1, 1000);
    assert!((private - twin).abs() <= 0.015, "{private} vs {twin}");
}

/// All 60,000 training images: `cargo test --release -p blindfold-jobs --test
/// train_mnist -- --ignored --nocapture`.
#[test]
#[ignore = "needs the full MNIST set in ../shared/data/mnist; minutes in release"]
fn logistic_regression_on_all_of_mnist() {
    let (private, twin) = train(ModelKind::LogisticRegression, 60_000, 1, 128, 0.5, 10_000);
    assert!((private - twin).abs() <= 0.01, "{private} vs {twin}");
}

#[test]
#[ignore = "needs the full MNIST set in ../shared/data/mnist; minutes in release"]
fn the_mlp_on_all_of_mnist() {
    let (private, twin) = train(ModelKind::Mlp { hidden: vec![128, 128] }, 60_000, 1, 128, 0.1, 10_000);
    assert!((private - twin).abs() <= 0.015, "{private} vs {twin}");
}
