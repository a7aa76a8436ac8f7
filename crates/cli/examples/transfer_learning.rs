//! Transfer learning: a public feature extractor and a privately trained head.
//!
//! The first layers of a CNN trained in the clear (MNIST network C,
//! `models/mnist-c.onnx`, up to its 256-feature Flatten) are public. Each
//! data owner runs them on its own images locally, in the clear; only the
//! 256 features per image are secret-shared, and a one-vs-rest logistic
//! regression head is trained on them under Pond. The model owner receives
//! the head; the same training in f64 runs beside it.
//!
//!     cargo run --release -p blindfold-cli --example transfer_learning [ROWS] [EPOCHS]
//!
//! (ROWS training images split between two owners, default 10,000; the
//! MNIST files are read from ../shared/data/mnist, or, without it, from the
//! shipped sample in data/mnist, at most 2,048 rows.)

use std::path::Path;

use blindfold_jobs::JobError;
use blindfold_jobs::input::read_array;
use blindfold_jobs::predict::{PredictOptions, predict};
use blindfold_ml::training::{self, DenseModel, ModelKind, TrainingConfig};
use blindfold_runtime::{Protocol, SessionOptions};
use ndarray::{Array2, ArrayD, Axis};

/// The extractor: network C up to its Flatten ("t6": [N, 256]).
const FEATURES: &str = "t6";

fn main() -> Result<(), JobError> {
    let mut args = std::env::args().skip(1);
    let mut number = |default: usize| match args.next() {
        Some(text) => text.parse().map_err(|_| JobError::Invalid(format!("'{text}': expected a count"))),
        None => Ok(default),
    };
    let (rows, epochs) = (number(10_000)?, number(2)?);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let full = root.join("../shared/data/mnist");
    let (data, infix, rows) = if full.join("train-images.idx3-ubyte.gz").exists() {
        (full, "", rows)
    } else {
        (root.join("data/mnist"), "sample-", rows.min(2048))
    };
    let file = |split: &str, kind: &str| {
        let suffix = if kind == "images" { "idx3-ubyte.gz" } else { "idx1-ubyte.gz" };
        data.join(format!("{split}-{infix}{kind}.{suffix}"))
    };
    let model_path = root.join("models/mnist-c.onnx");
    let model = std::fs::read(&model_path).map_err(|e| JobError::file(&model_path, e))?;

    // Each owner, locally and in the clear: the public extractor's features.
    let options = PredictOptions {
        batch: 500,
        protocol: Protocol::PlaintextFloat,
        output: Some(FEATURES.into()),
        ..PredictOptions::default()
    };
    let extract = |images: &ArrayD<f64>| -> Result<Array2<f64>, JobError> {
        let pixels = images.mapv(|p| p / 255.0).insert_axis(Axis(1));
        let features = predict(&model, "mnist-c.onnx", &pixels, &options)?.outputs;
        Ok(features.into_dimensionality().expect("[N, 256] features"))
    };
    let images = read_array(&file("train", "images"))?;
    let labels = read_array(&file("train", "labels"))?;
    let features = extract(&images.slice_axis(Axis(0), (0..rows).into()).to_owned())?;
    let mut one_hot = Array2::zeros((rows, 10));
    for (row, &label) in labels.iter().take(rows).enumerate() {
        one_hot[[row, label as usize]] = 1.0;
    }
    let owners_data = training::split_rows(&features, &one_hot, &["hospital-a", "hospital-b"]);

    // The private head: shared features, one-vs-rest logistic regression.
    let mut config = TrainingConfig::new(ModelKind::LogisticRegression);
    config.epochs = epochs;
    config.batch_size = 128;
    config.learning_rate = 0.1;
    let run = training::train_with_twin(&config, &owners_data, SessionOptions::default())?;

    // Test on 1,000 test images through the extractor and each head.
    let test_images = read_array(&file("t10k", "images"))?;
    let test_labels = read_array(&file("t10k", "labels"))?;
    let test_features = extract(&test_images.slice_axis(Axis(0), (0..1000).into()).to_owned())?;
    let accuracy = |head: &DenseModel| {
        let p = head.predict(&test_features);
        let correct = p
            .outer_iter()
            .zip(test_labels.iter())
            .filter(|(row, label)| {
                row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0 == **label as usize
            })
            .count();
        correct as f64 / 1000.0
    };
    println!("transfer learning: network C's public convolutions, a private logistic-regression head");
    println!(
        "  {rows} training images from two owners, {epochs} epochs, batch 128, 256 shared features per image"
    );
    println!(
        "  test accuracy (1,000 images): private head {:.2}%, plaintext twin {:.2}%",
        accuracy(&run.private) * 100.0,
        accuracy(&run.twin) * 100.0
    );
    println!(
        "  private training {:.1} s, {} bytes online + {} of producer material, {} rounds",
        run.private_s,
        run.session.report.bytes_sent,
        run.session.report.offline_bytes_sent,
        run.session.report.rounds
    );
    Ok(())
}
