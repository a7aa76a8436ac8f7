//! Private training on the diabetes table (data/diabetes.csv): two
//! hospitals' rows, shared; the private model matches its plaintext twin
//! (the same graph in f64) and the weights after a few steps match the
//! fixed-point plaintext run within the truncation bound.

use blindfold_ml::training::{self, DenseModel, ModelKind, TrainingConfig};
use blindfold_runtime::{Protocol, Session, SessionOptions};
use ndarray::{Array2, ArrayD, Axis, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random reals in [−bound, bound) of `shape`.
fn random(shape: &[usize], bound: f64, seed: u64) -> ArrayD<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values = (0..shape.iter().product()).map(|_| rng.random_range(-bound..bound)).collect();
    ArrayD::from_shape_vec(shape.to_vec(), values).unwrap()
}

/// The table, standardised with the training rows' statistics: (x, y).
fn diabetes() -> (Array2<f64>, Array2<f64>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/diabetes.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<Vec<f64>> =
        text.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    let table = Array2::from_shape_vec((rows.len(), 11), rows.concat()).unwrap();
    let mut x = table.slice(s![.., ..10]).to_owned();
    let train = x.slice(s![..342, ..]);
    let (mean, std) = (train.mean_axis(Axis(0)).unwrap(), train.std_axis(Axis(0), 0.0));
    x = (x - &mean) / &std;
    let y = table.slice(s![.., 10..]).to_owned();
    (x, y)
}

fn r_squared(model: &DenseModel, x: &Array2<f64>, y: &Array2<f64>) -> f64 {
    let predicted = model.predict(x);
    let mean = y.mean().unwrap();
    let residual: f64 = (&predicted - y).mapv(|v| v * v).sum();
    let total: f64 = y.mapv(|v| (v - mean) * (v - mean)).sum();
    1.0 - residual / total
}

fn owners_data(x: &Array2<f64>, y: &Array2<f64>) -> Vec<(String, ArrayD<f64>, ArrayD<f64>)> {
    let (x, y) = (x.slice(s![..342, ..]).to_owned(), y.slice(s![..342, ..]).to_owned());
    training::split_rows(&x, &y, &["hospital-a", "hospital-b"])
}

#[test]
fn private_linear_regression_matches_its_plaintext_twin() {
    let (x, y) = diabetes();
    let data = owners_data(&x, &y);
    let mut config = TrainingConfig::new(ModelKind::LinearRegression);
    config.epochs = 20;
    config.learning_rate = 0.05;
    config.reveal_loss = true;
    let run = training::train_with_twin(&config, &data, SessionOptions::default()).unwrap();
    let (x_test, y_test) = (x.slice(s![342.., ..]).to_owned(), y.slice(s![342.., ..]).to_owned());
    let (r2_private, r2_twin) =
        (r_squared(&run.private, &x_test, &y_test), r_squared(&run.twin, &x_test, &y_test));
    eprintln!(
        "diabetes linear regression, test R²: private {r2_private:.4}, plaintext twin {r2_twin:.4} ({:.2} s, {} rounds, {} bytes)",
        run.private_s, run.session.report.rounds, run.session.report.bytes_sent
    );
    assert!((r2_private - r2_twin).abs() <= 0.01, "{r2_private} vs {r2_twin}");
    assert!(r2_twin > 0.5);
}

fn accuracy(model: &DenseModel, x: &Array2<f64>, labels: &Array2<f64>) -> f64 {
    let p = model.predict(x);
    let correct =
        p.outer_iter().zip(labels.outer_iter()).filter(|(p, y)| (p[0] > 0.5) == (y[0] > 0.5)).count();
    correct as f64 / x.nrows() as f64
}

#[test]
fn private_logistic_regression_matches_its_plaintext_twin() {
    let (x, y) = diabetes();
    let mut sorted: Vec<f64> = y.slice(s![..342, 0]).to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[170] + sorted[171]) / 2.0;
    let labels = y.mapv(|v| if v > median { 1.0 } else { 0.0 });
    let data = owners_data(&x, &labels);
    for method in [training::SigmoidMethod::Clamped, training::SigmoidMethod::Polynomial] {
        let mut config = TrainingConfig::new(ModelKind::LogisticRegression);
        config.epochs = 10;
        config.sigmoid = method;
        let run = training::train_with_twin(&config, &data, SessionOptions::default());
        let run = run.unwrap();
        let (x_test, y_test) = (x.slice(s![342.., ..]).to_owned(), labels.slice(s![342.., ..]).to_owned());
        let (a_private, a_twin) =
            (accuracy(&run.private, &x_test, &y_test), accuracy(&run.twin, &x_test, &y_test));
        let report = &run.session.report;
        eprintln!(
            "diabetes logistic regression ({method:?} sigmoid), test accuracy: private {a_private:.3}, twin {a_twin:.3} ({:.2} s, {} rounds, {} bytes online, {} offline)",
            run.private_s, report.rounds, report.bytes_sent, report.offline_bytes_sent
        );
        assert!((a_private - a_twin).abs() <= 0.02, "{a_private} vs {a_twin}");
        assert!(a_twin > 0.7);
    }
}

#[test]
fn a_few_sgd_steps_under_pond_equal_the_fixed_point_plaintext() {
    // Logistic regression, 3 steps of batch 8 on 24 random rows, two owners.
    let mut config = TrainingConfig::new(ModelKind::LogisticRegression);
    config.epochs = 1;
    config.batch_size = 8;
    let owners = vec![("a".to_string(), 12), ("b".to_string(), 12)];
    let plan = training::build(&config, &owners, 5, 1).unwrap();
    let label = |values: ArrayD<f64>| values.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let data = vec![
        ("a".to_string(), random(&[12, 5], 2.0, 1), label(random(&[12, 1], 1.0, 2))),
        ("b".to_string(), random(&[12, 5], 2.0, 3), label(random(&[12, 1], 1.0, 4))),
    ];
    let values = training::inputs(&data);
    let secure = Session::new(plan.graph.clone()).run(values.clone()).unwrap();
    let fixed = Session::new(plan.graph.clone()).protocol(Protocol::PlaintextFixed).run(values).unwrap();
    // Each step's products truncate with an error of at most one ulp (2^-32)
    // per truncation; three steps of forward, backward and update stay far
    // below 2^-24 (measured: 4 ulps).
    let mut worst = 0f64;
    for name in [training::weight_name(0), training::bias_name(0)] {
        let (a, b) =
            (&secure.outputs[training::MODEL_OWNER][&name], &fixed.outputs[training::MODEL_OWNER][&name]);
        for (x, y) in a.iter().zip(b) {
            worst = worst.max((x - y).abs());
        }
    }
    eprintln!("largest difference from the fixed-point plaintext: {worst:e}");
    assert!(worst <= 2f64.powi(-24), "{worst}");
    assert!(secure.outputs[training::MODEL_OWNER][&training::weight_name(0)].iter().any(|&w| w != 0.0));
}

/// SGD with momentum (PyTorch's form): under Pond it equals its f64 twin,
/// it moves the weights differently from plain SGD, and at a small rate
/// it reaches in 3 epochs what plain SGD does not.
#[test]
fn sgd_with_momentum_matches_its_twin() {
    let (x, y) = diabetes();
    let data = owners_data(&x, &y);
    let (x_test, y_test) = (x.slice(s![342.., ..]).to_owned(), y.slice(s![342.., ..]).to_owned());
    let mut config = TrainingConfig::new(ModelKind::LinearRegression);
    config.epochs = 3;
    config.learning_rate = 0.005;
    config.momentum = 0.9;
    let run = training::train_with_twin(&config, &data, SessionOptions::default()).unwrap();
    let worst = run.private.layers[0]
        .0
        .iter()
        .zip(run.twin.layers[0].0.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    assert!(worst <= 1e-6, "momentum: private and twin weights differ by {worst}");
    config.momentum = 0.0;
    let plain = training::train_with_twin(&config, &data, SessionOptions::default()).unwrap();
    let (with, without) = (r_squared(&run.twin, &x_test, &y_test), r_squared(&plain.twin, &x_test, &y_test));
    eprintln!(
        "diabetes, 3 epochs at rate 0.005: test R² with momentum 0.9 {with:.4}, plain SGD {without:.4}"
    );
    assert!(with > without + 0.05, "{with} vs {without}");
    config.momentum = 1.0;
    assert!(training::train_with_twin(&config, &data, SessionOptions::default()).is_err());
}

/// DP-SGD: with clipping that never binds and noise near zero it is plain
/// SGD; with noise, Pond equals its f64 twin given the same noise draws
/// (the servers' inputs), and the noise moves the weights.
#[test]
fn dp_sgd_clips_and_noises_like_its_twin() {
    use blindfold_ml::dp_sgd::DpSgd;
    // Targets in hundreds: per-example gradients of norm about 5 at first.
    let (x, y) = diabetes();
    let y = y.mapv(|v| v / 100.0);
    let data = owners_data(&x, &y);
    let mut config = TrainingConfig::new(ModelKind::LinearRegression);
    config.epochs = 2;
    config.learning_rate = 0.05;
    let plain = training::train_with_twin(&config, &data, SessionOptions::default()).unwrap();
    config.dp = Some(DpSgd { noise_multiplier: 1e-9, max_grad_norm: 1e3, delta: 1e-5 });
    let unclipped = training::train_with_twin(&config, &data, SessionOptions::default()).unwrap();
    let largest_difference = |a: &training::DenseModel, b: &training::DenseModel| {
        a.layers[0].0.iter().zip(b.layers[0].0.iter()).map(|(p, q)| (p - q).abs()).fold(0.0f64, f64::max)
    };
    // (The factor C/√max(‖g‖², C²) is 1 to the inverse square root's 2^−20,
    // and the noise σ·C/√2 = 7·10^−7 per coordinate.)
    let (twin_moved, private_moved) = (
        largest_difference(&plain.twin, &unclipped.twin),
        largest_difference(&plain.private, &unclipped.private),
    );
    eprintln!(
        "DP-SGD with clipping that never binds: weights moved by {twin_moved:e} (twin), {private_moved:e} (Pond)"
    );
    assert!(twin_moved < 1e-4 && private_moved < 1e-4, "clipping at 1000 changed plain SGD");
    config.dp = Some(DpSgd { noise_multiplier: 1.0, max_grad_norm: 0.5, delta: 1e-5 });
    let private = training::train_with_twin(&config, &data, SessionOptions::default()).unwrap();
    assert!(largest_difference(&private.private, &private.twin) < 1e-5, "Pond and the twin differ");
    assert!(largest_difference(&private.twin, &plain.twin) > 1e-3, "clipping and noise changed nothing");
}
