//! `blindfold train`: data owners' CSV files, secret-shared, train a linear
//! regression, a logistic regression or an MLP with Pond, all parties in
//! this process; the model owner gets the weights (written as ONNX), and the
//! same training in plaintext f64 runs beside it for comparison.
//!
//! Standardisation: every owner computes its columns' sums and sums of
//! squares; the servers add the shares and reveal only the pooled sums to
//! each data owner, who standardises its own rows before sharing them. What
//! this reveals: the pooled mean and spread of every column (and each
//! owner's row count, which the graph's shapes show anyway). The exported
//! model takes raw features: the standardisation is folded into its first
//! layer (and, for regression, the label's into its last).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use blindfold_ir::{GraphBuilder, Ring};
use blindfold_ml::training::{self, DenseModel, MODEL_OWNER, ModelKind, TrainingConfig};
use blindfold_onnx::{OutputActivation, dense_model};
use blindfold_runtime::{OutputHook, ProgressHook, Protocol, Session, SessionOptions};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array1, Array2, ArrayD, Axis};
use serde_json::json;

use crate::input::{Header, Table, read_table};

/// What to train, on what.
pub struct Request {
    pub kind: ModelKind,
    /// (data owner, CSV file with a header row).
    pub data: Vec<(String, PathBuf)>,
    pub label_column: String,
    pub test: Option<PathBuf>,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Classes for logreg/mlp; `None`: the largest label + 1.
    pub classes: Option<usize>,
    pub ring: Ring,
    pub fractional_bits: u32,
    pub sigmoid: training::SigmoidMethod,
    /// Compare on x mod 2^bits; `None` or the ring's bits: the whole ring.
    pub comparison_bits: Option<u32>,
    pub reveal_loss: bool,
    pub standardize: bool,
    pub out: Option<PathBuf>,
    pub progress: bool,
    /// Set to stop the session between ops (e.g. on Ctrl-C in Python).
    pub cancel: Option<Arc<AtomicBool>>,
}

/// One data owner's rows: the owner, what to call the rows in messages (a
/// file name), and the table.
pub struct DataSource {
    pub owner: String,
    pub name: String,
    pub table: Table,
}

/// What training found.
pub struct Outcome {
    pub kind: ModelKind,
    pub rows: usize,
    pub owners: Vec<(String, usize)>,
    pub epochs: usize,
    pub steps: usize,
    pub losses: Vec<f64>,
    pub test_rows: Option<usize>,
    /// (private, plaintext twin): R² for regression, accuracy otherwise.
    pub test_metric: Option<(f64, f64)>,
    pub wall_s: f64,
    pub plaintext_s: f64,
    pub bytes_sent: u64,
    pub offline_bytes: u64,
    pub rounds: u64,
    pub out: Option<PathBuf>,
    /// The trained model (raw features in, as ONNX), the model owner's.
    pub model: Vec<u8>,
}

/// A data owner's rows, split into features and labels.
struct OwnerData {
    owner: String,
    features: Array2<f64>,
    labels: Array1<f64>,
}

/// Reads the request's files and trains.
pub fn run(request: &Request) -> Result<Outcome, Box<dyn std::error::Error>> {
    if request.data.is_empty() {
        return Err("no training data: give --data OWNER=FILE.csv at least once".into());
    }
    let sources: Vec<DataSource> = request
        .data
        .iter()
        .map(|(owner, path)| {
            read_table(path, Header::Detect).map(|table| DataSource {
                owner: owner.clone(),
                name: path.display().to_string(),
                table,
            })
        })
        .collect::<Result<_, _>>()?;
    let test = match &request.test {
        Some(path) => Some(DataSource {
            owner: String::new(),
            name: path.display().to_string(),
            table: read_table(path, Header::Detect)?,
        }),
        None => None,
    };
    train(request, &sources, test.as_ref())
}

/// Trains on tables already read (`request.data` and `request.test` are
/// not used): all parties in this process, with the plaintext twin.
pub fn train(
    request: &Request,
    sources: &[DataSource],
    test: Option<&DataSource>,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    if sources.is_empty() {
        return Err("no training data".into());
    }
    let mut names: Vec<&str> = sources.iter().map(|source| source.owner.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(format!("data owner '{}' is named twice", pair[0]).into());
    }
    if names.iter().any(|n| ["server0", "server1", "producer", MODEL_OWNER].contains(n)) {
        return Err("a data owner may not be named server0, server1, producer or model-owner".into());
    }
    // Check every owner's columns agree before anything is shared.
    let tables: Vec<(String, &str, &Table)> =
        sources.iter().map(|source| (source.owner.clone(), source.name.as_str(), &source.table)).collect();
    let (first_owner, first_path, first) = &tables[0];
    for (owner, path, table) in &tables[1..] {
        if (table.columns, &table.header) != (first.columns, &first.header) {
            return Err(format!(
                "{owner}'s {} has {}, {first_owner}'s {} has {}: every data owner must send the same columns",
                path,
                columns_text(table),
                first_path,
                columns_text(first),
            )
            .into());
        }
    }
    let label = first.column_named(&request.label_column).map_err(|e| format!("{first_path}: {e}"))?;
    let feature_count = first.columns - 1;
    if feature_count == 0 {
        return Err(format!("{first_path}: no feature columns besides the label").into());
    }
    let mut data: Vec<OwnerData> = tables
        .iter()
        .map(|(owner, _, table)| OwnerData {
            owner: owner.clone(),
            features: Array2::from_shape_vec((table.rows, feature_count), table.without_column(label))
                .expect("sizes from the table"),
            labels: Array1::from(table.column(label)),
        })
        .collect();

    let classes = class_count(request, &tables, label)?;
    let outputs = match (&request.kind, classes) {
        (ModelKind::LinearRegression, _) => 1,
        (ModelKind::LogisticRegression, 2) => 1,
        (_, classes) => classes,
    };

    // Standardise with pooled statistics computed privately.
    let regression = request.kind == ModelKind::LinearRegression;
    let statistics = if request.standardize { Some(pooled_statistics(&data, regression)?) } else { None };
    if let Some(stats) = &statistics {
        for owner in &mut data {
            stats.standardize(&mut owner.features, &mut owner.labels, regression);
        }
    }

    let mut config = TrainingConfig::new(request.kind.clone());
    config.epochs = request.epochs;
    config.batch_size = request.batch_size;
    config.learning_rate = request.learning_rate;
    config.ring = request.ring;
    config.fractional_bits = request.fractional_bits;
    config.sigmoid = request.sigmoid;
    config.reveal_loss = request.reveal_loss;
    config.comparison_bits = request.comparison_bits;
    let owners: Vec<(String, usize)> = data.iter().map(|d| (d.owner.clone(), d.features.nrows())).collect();
    let plan = training::build(&config, &owners, feature_count, outputs)?;
    let session_data: Vec<(String, ArrayD<f64>, ArrayD<f64>)> = data
        .iter()
        .map(|d| {
            (d.owner.clone(), d.features.clone().into_dyn(), encode_labels(&d.labels, outputs, regression))
        })
        .collect();
    let inputs = training::inputs(&session_data);

    let bar = if request.progress {
        let bar = ProgressBar::new(plan.graph.nodes().len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:40} {percent}% ({elapsed}, {eta} left)")
                .expect("valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let epoch_ends = plan.epoch_ends.clone();
    // The last loss the model owner received (only if it asked for them).
    let last_loss: Arc<Mutex<Option<(String, f64)>>> = Arc::new(Mutex::new(None));
    let (hook_bar, hook_loss) = (bar.clone(), Arc::clone(&last_loss));
    let progress = ProgressHook(Arc::new(move |done, _total| {
        if done % 64 == 0 {
            let epochs = epoch_ends.len();
            let epoch = epoch_ends.iter().position(|&end| done <= end as usize + 1).unwrap_or(epochs);
            let loss = match &*hook_loss.lock().expect("loss lock") {
                Some((name, value)) => format!(", {name}: mean squared error {value:.4}"),
                None => String::new(),
            };
            hook_bar.set_message(format!("epoch {}/{epochs}{loss}", (epoch + 1).min(epochs)));
            hook_bar.set_position(done as u64);
        }
    }));
    let on_output = OutputHook(Arc::new(move |party, name, value| {
        if party == MODEL_OWNER && name.starts_with("loss.") {
            let shown = name.trim_start_matches("loss.").to_string();
            *last_loss.lock().expect("loss lock") = value.iter().next().map(|&v| (shown, v));
        }
    }));
    let started = Instant::now();
    let options = SessionOptions {
        progress: Some(progress),
        on_output: Some(on_output),
        cancel: request.cancel.clone(),
        ..SessionOptions::default()
    };
    let private = Session::new(plan.graph.clone()).options(options).run(inputs.clone())?;
    let wall_s = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let started = Instant::now();
    let twin = Session::new(plan.graph.clone()).protocol(Protocol::PlaintextFloat).run(inputs)?;
    let plaintext_s = started.elapsed().as_secs_f64();

    let read = |outputs: &blindfold_protocols::Outputs| -> Result<DenseModel, String> {
        DenseModel::from_outputs(&request.kind, plan.layers.len(), outputs)
            .ok_or_else(|| "the model owner did not receive every layer".to_string())
    };
    let raw = |model: DenseModel| match &statistics {
        Some(stats) => stats.fold_into(model, regression),
        None => model,
    };
    let (private_model, twin_model) = (raw(read(&private.outputs)?), raw(read(&twin.outputs)?));
    let losses: Vec<f64> = (0..request.epochs)
        .filter_map(|e| {
            private
                .output(MODEL_OWNER, &training::loss_name(e))
                .map(|v| v.iter().copied().next().unwrap_or(f64::NAN))
        })
        .collect();

    let mut test_rows = None;
    let mut test_metric = None;
    if let Some(test) = test {
        let table = &test.table;
        if (table.columns, &table.header) != (first.columns, &first.header) {
            return Err(format!(
                "{}: {} differ from the training data's {}",
                test.name,
                columns_text(table),
                columns_text(first)
            )
            .into());
        }
        let x =
            Array2::from_shape_vec((table.rows, feature_count), table.without_column(label)).expect("sizes");
        let y = Array1::from(table.column(label));
        let metric = |model: &DenseModel| match request.kind {
            ModelKind::LinearRegression => r_squared(&model.predict(&x), &y),
            _ => accuracy(&model.predict(&x), &y),
        };
        test_rows = Some(table.rows);
        test_metric = Some((metric(&private_model), metric(&twin_model)));
    }

    let model = {
        let layers: Vec<(Array2<f64>, Array1<f64>)> = private_model
            .layers
            .iter()
            .map(|(w, b)| {
                (
                    w.clone().into_dimensionality().expect("a matrix"),
                    b.clone().into_dimensionality().expect("a vector"),
                )
            })
            .collect();
        let activation = if regression { OutputActivation::Identity } else { OutputActivation::Sigmoid };
        let doc = format!(
            "trained privately by blindfold ({}, {} rows from {} data owners, {} epochs)",
            kind_name(&request.kind),
            owners.iter().map(|(_, r)| r).sum::<usize>(),
            owners.len(),
            request.epochs
        );
        dense_model(&layers, activation, "features", "output", &doc)
    };
    if let Some(path) = &request.out {
        std::fs::write(path, &model).map_err(|e| format!("{}: {e}", path.display()))?;
    }

    Ok(Outcome {
        kind: request.kind.clone(),
        rows: owners.iter().map(|(_, r)| r).sum(),
        owners,
        epochs: request.epochs,
        steps: plan.steps_per_epoch * request.epochs,
        losses,
        test_rows,
        test_metric,
        wall_s,
        plaintext_s,
        bytes_sent: private.report.bytes_sent,
        offline_bytes: private.report.offline_bytes_sent,
        rounds: private.report.rounds,
        out: request.out.clone(),
        model,
    })
}

/// More classes than this must be asked for with `--classes`.
const MAX_INFERRED_CLASSES: usize = 100;

/// Classes for a classifier: the option, or the largest label + 1; every
/// label must be an integer in range.
fn class_count(request: &Request, tables: &[(String, &str, &Table)], label: usize) -> Result<usize, String> {
    if request.kind == ModelKind::LinearRegression {
        return Ok(1);
    }
    let mut largest = 0usize;
    for (_, path, table) in tables {
        for (row, value) in table.column(label).iter().enumerate() {
            if *value < 0.0 || value.fract() != 0.0 {
                return Err(format!("{}:{}: the label is not a class number (0, 1, …)", path, row + 2));
            }
            largest = largest.max(*value as usize);
            if let Some(classes) = request.classes.filter(|&c| *value as usize >= c) {
                return Err(format!(
                    "{}:{}: a label of {classes} or more with --classes {classes}",
                    path,
                    row + 2
                ));
            }
        }
    }
    if request.classes.is_none() && largest >= MAX_INFERRED_CLASSES {
        return Err(format!(
            "label column values up to {largest} would make {} classes; give --classes to confirm",
            largest + 1
        ));
    }
    Ok(request.classes.unwrap_or(largest + 1).max(2))
}

/// Labels as the graph wants them: [rows, 1] values, or one-hot [rows, k].
fn encode_labels(labels: &Array1<f64>, outputs: usize, regression: bool) -> ArrayD<f64> {
    if regression || outputs == 1 {
        return labels.clone().insert_axis(Axis(1)).into_dyn();
    }
    let mut one_hot = Array2::zeros((labels.len(), outputs));
    for (row, &class) in labels.iter().enumerate() {
        one_hot[[row, class as usize]] = 1.0;
    }
    one_hot.into_dyn()
}

/// Pooled per-column statistics (the label last, for regression).
struct Statistics {
    mean: Array1<f64>,
    std: Array1<f64>,
}

/// Sums and sums of squares of every column, added up under Pond and
/// revealed to each data owner only as the pooled totals.
fn pooled_statistics(
    data: &[OwnerData],
    include_label: bool,
) -> Result<Statistics, Box<dyn std::error::Error>> {
    let width = data[0].features.ncols() + usize::from(include_label);
    let mut g = GraphBuilder::with_ring(Ring::Z128);
    let mut total = None;
    let mut inputs = blindfold_protocols::Inputs::new();
    for owner in data {
        let sums = g.private_input(&owner.owner, "column-sums", &[2, width])?;
        let shared = g.share(sums)?;
        total = Some(match total {
            Some(t) => g.add(t, shared)?,
            None => shared,
        });
        let mut columns = owner.features.clone();
        if include_label {
            columns.push_column(owner.labels.view()).expect("one label per row");
        }
        let mut local = Array2::zeros((2, width));
        local.row_mut(0).assign(&columns.sum_axis(Axis(0)));
        local.row_mut(1).assign(&columns.mapv(|v| v * v).sum_axis(Axis(0)));
        inputs.insert(owner.owner.clone(), HashMap::from([("column-sums".to_string(), local.into_dyn())]));
    }
    let total = total.expect("at least one owner");
    for owner in data {
        g.output(&owner.owner, "pooled-sums", total)?;
    }
    let result = Session::new(g.finish()).run(inputs)?;
    let sums = result.output(&data[0].owner, "pooled-sums").ok_or("no pooled sums")?;
    let rows: usize = data.iter().map(|d| d.features.nrows()).sum();
    let n = rows as f64;
    let mean: Array1<f64> = (0..width).map(|j| sums[[0, j]] / n).collect();
    let std: Array1<f64> = (0..width)
        .map(|j| (sums[[1, j]] / n - mean[j] * mean[j]).max(0.0).sqrt())
        .map(|s| if s > 1e-12 { s } else { 1.0 })
        .collect();
    Ok(Statistics { mean, std })
}

impl Statistics {
    fn standardize(&self, features: &mut Array2<f64>, labels: &mut Array1<f64>, regression: bool) {
        let d = features.ncols();
        for mut row in features.rows_mut() {
            for j in 0..d {
                row[j] = (row[j] - self.mean[j]) / self.std[j];
            }
        }
        if regression {
            labels.mapv_inplace(|y| (y - self.mean[d]) / self.std[d]);
        }
    }

    /// The same model on raw features (and, for regression, raw labels).
    fn fold_into(&self, mut model: DenseModel, regression: bool) -> DenseModel {
        let (w, b) = &mut model.layers[0];
        let d = w.shape()[0];
        for i in 0..d {
            for k in 0..w.shape()[1] {
                let scaled = w[[i, k]] / self.std[i];
                b[[k]] -= self.mean[i] * scaled;
                w[[i, k]] = scaled;
            }
        }
        if regression {
            let (w, b) = model.layers.last_mut().expect("a layer");
            w.mapv_inplace(|v| v * self.std[d]);
            b.mapv_inplace(|v| v * self.std[d] + self.mean[d]);
        }
        model
    }
}

fn r_squared(predicted: &Array2<f64>, y: &Array1<f64>) -> f64 {
    let mean = y.mean().unwrap_or(0.0);
    let residual: f64 = predicted.column(0).iter().zip(y).map(|(p, y)| (p - y) * (p - y)).sum();
    let total: f64 = y.iter().map(|y| (y - mean) * (y - mean)).sum();
    1.0 - residual / total
}

fn accuracy(predicted: &Array2<f64>, y: &Array1<f64>) -> f64 {
    let correct = predicted
        .outer_iter()
        .zip(y)
        .filter(|(p, y)| {
            let class = if p.len() == 1 {
                usize::from(p[0] > 0.5)
            } else {
                p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i)
            };
            class as f64 == **y
        })
        .count();
    correct as f64 / y.len() as f64
}

pub fn kind_name(kind: &ModelKind) -> &'static str {
    match kind {
        ModelKind::LinearRegression => "linreg",
        ModelKind::LogisticRegression => "logreg",
        ModelKind::Mlp { .. } => "mlp",
    }
}

impl Outcome {
    /// BENCHMARKS.md's train record (plus the twin's R²).
    pub fn json(&self) -> serde_json::Value {
        let regression = self.kind == ModelKind::LinearRegression;
        let pick = |private: bool, want_r2: bool| {
            self.test_metric.filter(|_| want_r2 == regression).map(|(p, t)| if private { p } else { t })
        };
        json!({
            "model_kind": kind_name(&self.kind),
            "protocol": "pond",
            "rows": self.rows,
            "epochs": self.epochs,
            "test_accuracy": pick(true, false),
            "test_r2": pick(true, true),
            "plaintext_test_accuracy": pick(false, false),
            "plaintext_test_r2": pick(false, true),
            "losses": self.losses,
            "wall_s": self.wall_s,
            "bytes_sent": self.bytes_sent + self.offline_bytes,
            "rounds": self.rounds,
            "out": self.out.as_ref().map(|p| p.display().to_string()),
        })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "blindfold: private training with Pond (all parties in this process)")?;
        let owners: Vec<String> = self.owners.iter().map(|(o, r)| format!("{o} ({r} rows)")).collect();
        writeln!(
            f,
            "  {} on {} rows from {}; {} epochs, {} SGD steps",
            kind_name(&self.kind),
            self.rows,
            owners.join(", "),
            self.epochs,
            self.steps
        )?;
        if !self.losses.is_empty() {
            let shown: Vec<String> = self.losses.iter().map(|l| format!("{l:.4}")).collect();
            writeln!(
                f,
                "  mean squared error per epoch (revealed to the model owner): {}",
                shown.join(", ")
            )?;
        }
        if let (Some(rows), Some((private, twin))) = (self.test_rows, self.test_metric) {
            let what = if self.kind == ModelKind::LinearRegression { "R²" } else { "accuracy" };
            writeln!(f, "\ntest {what} on {rows} rows:")?;
            writeln!(f, "  private (Pond)              {private:.4}")?;
            writeln!(f, "  plaintext twin (f64)        {twin:.4}")?;
        }
        if let Some(out) = &self.out {
            writeln!(f, "\nthe model owner's model: {}", out.display())?;
        }
        write!(
            f,
            "\ntime {:.2} s (plaintext twin {:.3} s), {} bytes online + {} of producer material, {} rounds",
            self.wall_s, self.plaintext_s, self.bytes_sent, self.offline_bytes, self.rounds
        )
    }
}

/// A table's columns as errors name them: the count, and the header's
/// names where it has one.
fn columns_text(table: &Table) -> String {
    match &table.header {
        Some(names) => format!("{} columns ({})", table.columns, names.join(",")),
        None => format!("{} columns (no header)", table.columns),
    }
}
