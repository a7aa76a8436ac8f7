//! `blindfold bench training`: the seed's performance slide, logistic
//! regression with 100 features (docs/benchmarks.md's logreg-100): one SGD step
//! at batch 128, and one epoch over 10,000 rows, under Pond beside the same
//! graph in plaintext f32, with the clamped and the polynomial sigmoid.
//!
//! The rows are synthetic (Gaussian features, labels from a random
//! hyperplane with 10% of them flipped), split between two data owners. A
//! step's graph shares its 128 rows, runs one step and reveals the weights;
//! the epoch's shares all 10,000 rows once.

use blindfold_ml::training::{self, DenseModel, ModelKind, SigmoidMethod, TrainingConfig};
use blindfold_runtime::Session;
use ndarray::{Array2, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::bench::pond::measure;
use blindfold_jobs::{JobError, Result};

use crate::bench::Record;

const FEATURES: usize = 100;
const BATCH: usize = 128;

pub fn run(runs: usize, quick: bool) -> Result<Vec<Record>> {
    let (x, y) = synthetic(10_000, 7);
    let mut records = Vec::new();
    for (method, suffix) in [(SigmoidMethod::Clamped, ""), (SigmoidMethod::Polynomial, "-polynomial")] {
        for rows in if quick { vec![BATCH] } else { vec![BATCH, 10_000] } {
            let mut config = TrainingConfig::new(ModelKind::LogisticRegression);
            config.epochs = 1;
            config.batch_size = BATCH;
            config.learning_rate = 0.5;
            config.sigmoid = method;
            let (x_rows, y_rows) = (x.slice(s![..rows, ..]).to_owned(), y.slice(s![..rows, ..]).to_owned());
            let data = training::split_rows(&x_rows, &y_rows, &["owner-a", "owner-b"]);
            let owners: Vec<(String, usize)> =
                data.iter().map(|(o, x, _)| (o.clone(), x.shape()[0])).collect();
            let plan = training::build(&config, &owners, FEATURES, 1)?;
            let inputs = training::inputs(&data);
            let trained = Session::new(plan.graph.clone()).run(inputs.clone())?;
            let model = DenseModel::from_outputs(&config.kind, 1, &trained.outputs)
                .ok_or(JobError::Invalid("the session output no trained model".into()))?;
            let predicted = model.predict(&x);
            let correct = predicted
                .column(0)
                .iter()
                .zip(y.column(0))
                .filter(|(p, y)| (**p > 0.5) == (**y > 0.5))
                .count();
            let name = if rows == BATCH {
                format!("logreg-100-step{suffix}")
            } else {
                format!("logreg-100-epoch{suffix}")
            };
            let record = measure("training", &name, Some(BATCH), plan.graph, inputs, runs)?
                .with("rows", rows)
                .with("steps", plan.steps_per_epoch)
                .with("accuracy", correct as f64 / x.nrows() as f64);
            records.push(record);
        }
    }
    Ok(records)
}

/// `rows` rows of Gaussian features and 0/1 labels of a random hyperplane,
/// a tenth of them flipped.
fn synthetic(rows: usize, seed: u64) -> (Array2<f64>, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut gaussian = || {
        let (u, v): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    };
    let normal: Vec<f64> = (0..FEATURES).map(|_| gaussian()).collect();
    let x = Array2::from_shape_fn((rows, FEATURES), |_| gaussian());
    let mut flip = ChaCha8Rng::seed_from_u64(seed + 1);
    let y = Array2::from_shape_fn((rows, 1), |(row, _)| {
        let score: f64 = x.row(row).iter().zip(&normal).map(|(a, b)| a * b).sum();
        let label = score > 0.0;
        f64::from(u8::from(label != (flip.random::<f64>() < 0.1)))
    });
    (x, y)
}
