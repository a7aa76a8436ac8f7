//! Private training on the diabetes table (data/diabetes.csv): two
//! hospitals' CSV files, private linear regression beside its plaintext
//! twin, the ONNX model it makes, and the errors for bad files.

use std::path::{Path, PathBuf};

use blindfold_ir::Ring;
use blindfold_jobs::JobError;
use blindfold_jobs::train::{TrainOutcome, TrainRequest, read_sources, train};
use blindfold_ml::training::{ModelKind, SigmoidMethod, TrainingConfig};
use blindfold_onnx::{ImportOptions, import};
use blindfold_runtime::{Protocol, Session};
use ndarray::{ArrayD, IxDyn};

/// Writes the table's rows `from..to` (data rows, 0-based) with the header.
fn split(dir: &Path, name: &str, from: usize, to: usize, transform: impl Fn(&str) -> String) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/diabetes.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<String> = lines.skip(from).take(to - from).map(&transform).collect();
    let out = dir.join(name);
    std::fs::write(&out, format!("{}\n{}\n", transform(header), rows.join("\n"))).unwrap();
    out
}

fn workspace(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("blindfold-train-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The settings `blindfold train` uses, with 20 epochs at rate 0.05 and
/// the losses revealed.
fn request(kind: ModelKind, label: &str) -> TrainRequest {
    let mut config = TrainingConfig::new(kind);
    config.epochs = 20;
    config.batch_size = 32;
    config.learning_rate = 0.05;
    config.ring = Ring::Z128;
    config.fractional_bits = 32;
    config.sigmoid = SigmoidMethod::Clamped;
    config.comparison_bits = Some(56);
    config.reveal_loss = true;
    TrainRequest::new(config, label)
}

/// Reads the owners' files (and the test file) and trains.
fn run(
    request: &TrainRequest,
    data: &[(String, PathBuf)],
    test: Option<PathBuf>,
) -> Result<TrainOutcome, JobError> {
    let sources = read_sources(data)?;
    let test = test.map(|path| read_sources(&[("test".into(), path)])).transpose()?;
    train(request, &sources, test.as_ref().and_then(|t| t.first()))
}

#[test]
fn two_hospitals_train_a_linear_regression_as_good_as_the_plaintext_one() {
    let dir = workspace("linreg");
    let same = |line: &str| line.to_string();
    let data = vec![
        ("hospital-a".to_string(), split(&dir, "a.csv", 0, 171, same)),
        ("hospital-b".to_string(), split(&dir, "b.csv", 171, 342, same)),
    ];
    let request = request(ModelKind::LinearRegression, "target");
    let outcome = run(&request, &data, Some(split(&dir, "test.csv", 342, 442, same))).unwrap();
    let (private, twin) = outcome.test_metric.unwrap();
    eprintln!("test R²: private {private:.4}, plaintext twin {twin:.4}");
    assert!((private - twin).abs() <= 0.01, "R² {private} vs plaintext {twin}");
    assert!(private > 0.5, "R² {private}");
    assert_eq!(outcome.losses.len(), 20);
    assert!(outcome.losses[19] < outcome.losses[0]);
    assert_eq!(outcome.kind.name(), "linreg");

    // The ONNX model takes raw features and predicts what the model owner's
    // weights predict.
    let model = import(&outcome.model, ImportOptions { batch: 2, ..ImportOptions::default() }).unwrap();
    let rows = ArrayD::from_shape_vec(
        IxDyn(&[2, 10]),
        vec![
            59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0, 48.0, 1.0, 21.6, 87.0, 183.0,
            103.2, 70.0, 3.0, 3.8918, 69.0,
        ],
    )
    .unwrap();
    let result =
        Session::new(model.graph.clone()).protocol(Protocol::PlaintextFloat).run(model.inputs(rows)).unwrap();
    let predicted = result.output("prediction-client", &model.output).unwrap();
    // Rows 0 and 1 of the table (targets 151 and 75): a fitted line, not noise.
    assert!(predicted[[0, 0]] > predicted[[1, 0]] + 30.0, "{predicted:?}");
    assert!((100.0..260.0).contains(&predicted[[0, 0]]), "{predicted:?}");
}

#[test]
fn a_file_with_other_columns_is_refused_before_training() {
    let dir = workspace("columns");
    let a = split(&dir, "a.csv", 0, 50, |l| l.to_string());
    let drop_first = |l: &str| l.split_once(',').unwrap().1.to_string();
    let b = split(&dir, "b.csv", 50, 100, drop_first);
    let request = request(ModelKind::LinearRegression, "target");
    let error = run(&request, &[("a".into(), a), ("b".into(), b)], None).err().expect("refused");
    assert!(matches!(error, JobError::Invalid(_)), "{error:?}");
    let error = error.to_string();
    assert!(error.contains("b.csv has 10 columns") && error.contains("a.csv has 11"), "{error}");
}

#[test]
fn bad_files_are_errors_naming_file_line_and_column() {
    let dir = workspace("bad");
    let good = split(&dir, "good.csv", 0, 40, |l| l.to_string());
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let cases = [
        (write("ragged.csv", "x,target\n1,2\n3\n"), "ragged.csv:3: 1 cells, 2 in the first line"),
        (write("text.csv", "x,target\n1,2\n3,high\n"), "text.csv:3: column 'target': not a finite number"),
        (write("empty.csv", ""), "empty.csv: empty file"),
    ];
    for (path, expected) in &cases {
        let error = run(&request(ModelKind::LinearRegression, "target"), &[("a".into(), path.clone())], None)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains(expected), "{error}");
    }
    let error = run(&request(ModelKind::LinearRegression, "outcome"), &[("a".into(), good.clone())], None)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("no label column 'outcome'") && error.contains("good.csv"), "{error}");
    let error = run(&request(ModelKind::LogisticRegression, "bmi"), &[("a".into(), good.clone())], None)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("good.csv:2: the label is not a class number"), "{error}");
    assert!(!error.contains("32.1"), "a private label in an error: {error}");
    let error = run(&request(ModelKind::LogisticRegression, "target"), &[("a".into(), good)], None)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("give the number of classes"), "{error}");
}
