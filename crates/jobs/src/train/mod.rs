//! Private training, all parties in this process: the data owners' tables
//! are secret-shared, a model is trained with SGD under Pond
//! ([`blindfold_ml::training`]), only the model owner gets it (as ONNX),
//! and the same training in plaintext f64 runs beside it for comparison.
//! Columns are standardised first with privately pooled statistics
//! ([`blindfold_ml::standardize`]); the exported model takes raw features.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use blindfold_ir::parties::{MODEL_OWNER, PRODUCER, SERVER2, SERVERS};
use blindfold_ml::metrics::{accuracy, r_squared};
use blindfold_ml::standardize::{OwnerColumns, pooled_statistics};
use blindfold_ml::training::{self, DenseModel, ModelKind, TrainingConfig};
use blindfold_onnx::{OutputActivation, dense_model};
use blindfold_runtime::{OutputHook, OverflowPolicy, ProgressHook, Protocol, SessionOptions};
use ndarray::{Array1, Array2, ArrayD, Axis};
use serde_json::{Value, json};

use crate::error::{JobError, Result};
use crate::input::{Header, Table, read_table};

mod architecture;

/// Where training is, for a progress display: nodes done of all, the
/// epoch, and the last loss the model owner received (if it asked).
#[derive(Clone, Debug)]
pub struct TrainingProgress {
    pub done: usize,
    pub total: usize,
    pub epoch: usize,
    pub epochs: usize,
    pub loss: Option<(String, f64)>,
}

/// What to train, and how.
#[derive(Clone)]
pub struct TrainRequest {
    /// The model, SGD and precision settings (all public).
    pub config: TrainingConfig,
    pub label_column: String,
    /// Classes for a classifier; `None`: the largest label + 1.
    pub classes: Option<usize>,
    /// Standardise with privately pooled statistics first.
    pub standardize: bool,
    pub progress: Option<Arc<dyn Fn(TrainingProgress) + Send + Sync>>,
    /// When set, the session stops before its next op.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Refuse (the default) or run a training whose values could
    /// overflow fixed point.
    pub overflow: OverflowPolicy,
    /// An ONNX model to train instead of `config.kind` (its architecture,
    /// from the weights in the file): `blindfold train --model INIT.onnx`.
    pub architecture: Option<Vec<u8>>,
    /// Multiplies every feature (e.g. 1/255 for pixels), in the training
    /// and the test rows; the model then takes features so scaled.
    pub scale: Option<f64>,
}

impl TrainRequest {
    /// A request with `config`, standardising, without hooks.
    pub fn new(config: TrainingConfig, label_column: &str) -> TrainRequest {
        TrainRequest {
            config,
            label_column: label_column.to_string(),
            classes: None,
            standardize: true,
            progress: None,
            cancel: None,
            overflow: OverflowPolicy::Refuse,
            architecture: None,
            scale: None,
        }
    }
}

/// One data owner's rows: the owner, what to call the rows in messages (a
/// file name), and the table.
pub struct DataSource {
    pub owner: String,
    pub name: String,
    pub table: Table,
}

/// Reads each owner's rows: a CSV file, or `IMAGES:LABELS`, an array file
/// of samples (.npy or IDX, first axis the rows: images of any shape) and
/// one of their labels, read as a table of the flattened samples followed
/// by a column named "label".
pub fn read_sources(data: &[(String, PathBuf)]) -> Result<Vec<DataSource>> {
    data.iter()
        .map(|(owner, path)| {
            let text = path.display().to_string();
            let table = match text.split_once(':').filter(|_| !path.exists()) {
                Some((samples, labels)) => samples_table(Path::new(samples), Path::new(labels))?,
                None => read_table(path, Header::Detect)?,
            };
            Ok(DataSource { owner: owner.clone(), name: text, table })
        })
        .collect()
}

/// Samples and labels as one table: each row a flattened sample, then its label.
fn samples_table(samples: &Path, labels: &Path) -> Result<Table> {
    let x = crate::input::read_array(samples)?;
    let y = crate::input::read_array(labels)?;
    let rows = x.shape().first().copied().unwrap_or(0);
    if rows == 0 || y.len() != rows {
        return Err(JobError::Invalid(format!(
            "{} has {rows} samples and {} has {} labels: one label per sample",
            samples.display(),
            labels.display(),
            y.len()
        )));
    }
    let width = x.len() / rows;
    let mut values = Vec::with_capacity(rows * (width + 1));
    for (sample, label) in x.outer_iter().zip(y.iter()) {
        values.extend(sample.iter());
        values.push(*label);
    }
    let mut header: Vec<String> = (0..width).map(|i| format!("x{i}")).collect();
    header.push("label".into());
    Ok(Table { header: Some(header), columns: width + 1, rows, values })
}

/// What training found.
pub struct TrainOutcome {
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
    /// The trained model (raw features in, as ONNX), the model owner's.
    pub model: Vec<u8>,
    /// Trained from an ONNX model's architecture (`--model`).
    pub architecture: bool,
    /// A regression (R²) rather than a classifier (accuracy).
    pub regression: bool,
    /// DP-SGD's guarantee, when trained with it.
    pub privacy: Option<PrivacyReport>,
    /// The protocol it trained under.
    pub protocol: Protocol,
}

/// What DP-SGD guarantees for the released model ([`blindfold_ml::privacy`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PrivacyReport {
    pub noise_multiplier: f64,
    pub max_grad_norm: f64,
    pub delta: f64,
    /// ε against the model owner and anyone who sees the model.
    pub epsilon: f64,
    /// ε against a server colluding with the model owner (it knows its half
    /// of the noise: σ/√2).
    pub epsilon_colluding: f64,
    /// The batch's sampling rate and the steps accounted.
    pub sampling_rate: f64,
    pub steps: usize,
}

impl PrivacyReport {
    /// The guarantee of `dp` over `steps` steps of `batch` rows of `rows`.
    pub fn new(dp: &blindfold_ml::dp_sgd::DpSgd, batch: usize, rows: usize, steps: usize) -> PrivacyReport {
        let q = batch as f64 / rows.max(1) as f64;
        let (epsilon, _) = blindfold_ml::privacy::epsilon(q, dp.noise_multiplier, steps, dp.delta);
        let (epsilon_colluding, _) = blindfold_ml::privacy::epsilon(
            q,
            dp.noise_multiplier / std::f64::consts::SQRT_2,
            steps,
            dp.delta,
        );
        PrivacyReport {
            noise_multiplier: dp.noise_multiplier,
            max_grad_norm: dp.max_grad_norm,
            delta: dp.delta,
            epsilon,
            epsilon_colluding,
            sampling_rate: q,
            steps,
        }
    }
}

impl TrainOutcome {
    /// The record of a training run (docs/benchmarks.md's train format,
    /// plus the twin's), with where the model went if it was written.
    pub fn record(&self, out: Option<&std::path::Path>) -> Value {
        let o = self;
        let regression = o.regression;
        let kind = if o.architecture { "onnx" } else { o.kind.name() };
        let pick = |private: bool, want_r2: bool| {
            o.test_metric.filter(|_| want_r2 == regression).map(|(p, t)| if private { p } else { t })
        };
        json!({
            "model_kind": kind,
            "protocol": o.protocol.name(),
            "rows": o.rows,
            "epochs": o.epochs,
            "test_accuracy": pick(true, false),
            "test_r2": pick(true, true),
            "plaintext_test_accuracy": pick(false, false),
            "plaintext_test_r2": pick(false, true),
            "losses": o.losses,
            "wall_s": o.wall_s,
            "bytes_sent": o.bytes_sent + o.offline_bytes,
            "rounds": o.rounds,
            "out": out.map(|p| p.display().to_string()),
            "dp": o.privacy.as_ref().map(|p| json!({
                "noise_multiplier": p.noise_multiplier,
                "max_grad_norm": p.max_grad_norm,
                "delta": p.delta,
                "epsilon": p.epsilon,
                "epsilon_colluding_server": p.epsilon_colluding,
                "sampling_rate": p.sampling_rate,
                "steps": p.steps,
            })),
        })
    }
}

/// Trains on `sources`, all parties in this process, with the plaintext
/// twin; `test`'s rows (same columns) measure both models.
pub fn train(
    request: &TrainRequest,
    sources: &[DataSource],
    test: Option<&DataSource>,
) -> Result<TrainOutcome> {
    let (first_source, rest) = sources.split_first().ok_or(JobError::Invalid("no training data".into()))?;
    let mut names: Vec<&str> = sources.iter().map(|source| source.owner.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(JobError::Invalid(format!("data owner '{}' is named twice", pair[0])));
    }
    let reserved = [SERVERS[0], SERVERS[1], SERVER2, PRODUCER, MODEL_OWNER];
    if let Some(name) = names.iter().find(|n| reserved.contains(n)) {
        return Err(JobError::Invalid(format!(
            "a data owner may not be named '{name}' (server0, server1, server2, producer and model-owner are taken)"
        )));
    }
    // Every owner's columns agree before anything is shared.
    let first = &first_source.table;
    for source in rest {
        let table = &source.table;
        if (table.columns, &table.header) != (first.columns, &first.header) {
            return Err(JobError::Invalid(format!(
                "{}'s {} has {}, {}'s {} has {}: every data owner must send the same columns",
                source.owner,
                source.name,
                columns_text(table),
                first_source.owner,
                first_source.name,
                columns_text(first)
            )));
        }
    }
    let label = first
        .column_named(&request.label_column)
        .map_err(|source| JobError::Column { file: first_source.name.clone(), source })?;
    let feature_count = first.columns - 1;
    if feature_count == 0 {
        return Err(JobError::Invalid(format!(
            "{}: no feature columns besides the label",
            first_source.name
        )));
    }
    if let Some(factor) = request.scale.filter(|&f| f != 1.0) {
        if !factor.is_finite() {
            return Err(JobError::Invalid(format!("scale {factor}: a finite number")));
        }
        let scaled = |source: &DataSource| DataSource {
            owner: source.owner.clone(),
            name: source.name.clone(),
            table: source.table.scaled_except(label, factor),
        };
        let (sources, test): (Vec<DataSource>, Option<DataSource>) =
            (sources.iter().map(scaled).collect(), test.map(scaled));
        let unscaled = TrainRequest { scale: None, ..request.clone() };
        return train(&unscaled, &sources, test.as_ref());
    }
    if let Some(model) = &request.architecture {
        return architecture::train(request, model, sources, test, label);
    }
    let kind = &request.config.kind;
    let regression = *kind == ModelKind::LinearRegression;
    let classes = class_count(request, sources, label)?;
    let outputs = match (kind, classes) {
        (ModelKind::LinearRegression, _) | (ModelKind::LogisticRegression, 2) => 1,
        (_, classes) => classes,
    };
    let mut owners: Vec<(String, Array2<f64>, Array1<f64>)> = sources
        .iter()
        .map(|source| {
            let table = &source.table;
            let x = Array2::from_shape_vec((table.rows, feature_count), table.without_column(label))
                .expect("sizes from the table");
            (source.owner.clone(), x, Array1::from(table.column(label)))
        })
        .collect();
    // Standardise with pooled statistics computed privately.
    let statistics = if request.standardize {
        let pooled: Vec<OwnerColumns> = owners
            .iter()
            .map(|(owner, x, y)| OwnerColumns {
                owner: owner.clone(),
                features: x,
                labels: regression.then_some(y),
            })
            .collect();
        Some(pooled_statistics(&pooled, request.config.protocol)?)
    } else {
        None
    };
    if let Some(stats) = &statistics {
        for (_, x, y) in &mut owners {
            stats.standardize(x, y, regression);
        }
    }
    let data: Vec<(String, ArrayD<f64>, ArrayD<f64>)> = owners
        .iter()
        .map(|(owner, x, y)| (owner.clone(), x.clone().into_dyn(), encode_labels(y, outputs, regression)))
        .collect();
    let config = &request.config;
    let plan = training::plan_for(config, &data)?;
    let options = session_options(request, &plan);
    let run = training::run_with_twin(config, &plan, &data, options)?;
    let raw = |model: DenseModel| match &statistics {
        Some(stats) => stats.fold_into(model, regression),
        None => model,
    };
    let (private_model, twin_model) = (raw(run.private), raw(run.twin));
    let losses = revealed_losses(&run.session, config.epochs);
    let mut test_metric = None;
    if let Some(test) = test {
        let (x, y) = test_rows(test, first, label)?;
        let metric = |model: &DenseModel| {
            if regression { r_squared(&model.predict(&x), &y) } else { accuracy(&model.predict(&x), &y) }
        };
        test_metric = Some((metric(&private_model), metric(&twin_model)));
    }
    let owner_rows: Vec<(String, usize)> = owners.iter().map(|(o, x, _)| (o.clone(), x.nrows())).collect();
    let rows = owner_rows.iter().map(|(_, r)| r).sum();
    let report = &run.session.report;
    Ok(TrainOutcome {
        protocol: config.protocol,
        kind: kind.clone(),
        rows,
        epochs: config.epochs,
        steps: run.steps_per_epoch * config.epochs,
        model: onnx_model(&private_model, kind, rows, owner_rows.len(), config.epochs),
        owners: owner_rows,
        losses,
        test_rows: test.map(|t| t.table.rows),
        test_metric,
        wall_s: run.private_s,
        plaintext_s: run.twin_s,
        bytes_sent: report.bytes_sent,
        offline_bytes: report.offline_bytes_sent,
        rounds: report.rounds,
        architecture: false,
        regression,
        privacy: config
            .dp
            .as_ref()
            .map(|dp| PrivacyReport::new(dp, config.batch_size, rows, run.steps_per_epoch * config.epochs)),
    })
}

/// The losses the model owner received, epoch by epoch (if it asked).
pub(crate) fn revealed_losses(session: &blindfold_runtime::SessionResult, epochs: usize) -> Vec<f64> {
    (0..epochs)
        .filter_map(|e| {
            session.output(MODEL_OWNER, &training::loss_name(e)).and_then(|v| v.iter().copied().next())
        })
        .collect()
}

/// The test table's features and labels, its columns checked against the
/// training data's (`first`).
pub(crate) fn test_rows(
    test: &DataSource,
    first: &Table,
    label: usize,
) -> Result<(Array2<f64>, Array1<f64>)> {
    let table = &test.table;
    if (table.columns, &table.header) != (first.columns, &first.header) {
        return Err(JobError::Invalid(format!(
            "{}: {} differ from the training data's {}",
            test.name,
            columns_text(table),
            columns_text(first)
        )));
    }
    let x =
        Array2::from_shape_vec((table.rows, table.columns - 1), table.without_column(label)).expect("sizes");
    Ok((x, Array1::from(table.column(label))))
}

/// The session's hooks: progress per node with the epoch and the last
/// revealed loss, and the cancel flag.
fn session_options(request: &TrainRequest, plan: &training::TrainingGraph) -> SessionOptions {
    session_options_for(request, plan.epoch_ends.clone())
}

/// The session's hooks for a graph whose epochs end at `epoch_ends`.
pub(crate) fn session_options_for(request: &TrainRequest, epoch_ends: Vec<u32>) -> SessionOptions {
    let mut options = SessionOptions {
        cancel: request.cancel.clone(),
        overflow: request.overflow,
        ..SessionOptions::default()
    };
    let Some(report) = request.progress.clone() else { return options };
    let last_loss: Arc<Mutex<Option<(String, f64)>>> = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&last_loss);
    options.progress = Some(ProgressHook(Arc::new(move |done, total| {
        if done % 64 == 0 || done == total {
            let epochs = epoch_ends.len();
            let epoch = epoch_ends.iter().position(|&end| done <= end as usize + 1).unwrap_or(epochs);
            let loss = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
            report(TrainingProgress { done, total, epoch: (epoch + 1).min(epochs), epochs, loss });
        }
    })));
    options.on_output = Some(OutputHook(Arc::new(move |party, name, value| {
        if party == MODEL_OWNER && name.starts_with("loss.") {
            let shown = name.trim_start_matches("loss.").to_string();
            *last_loss.lock().unwrap_or_else(|p| p.into_inner()) = value.iter().next().map(|&v| (shown, v));
        }
    })));
    options
}

/// The model owner's model as ONNX (raw features in).
fn onnx_model(model: &DenseModel, kind: &ModelKind, rows: usize, owners: usize, epochs: usize) -> Vec<u8> {
    let layers: Vec<(Array2<f64>, Array1<f64>)> = model
        .layers
        .iter()
        .map(|(w, b)| {
            (
                w.clone().into_dimensionality().expect("a matrix"),
                b.clone().into_dimensionality().expect("a vector"),
            )
        })
        .collect();
    let activation = if *kind == ModelKind::LinearRegression {
        OutputActivation::Identity
    } else {
        OutputActivation::Sigmoid
    };
    let doc = format!(
        "trained privately by blindfold ({}, {rows} rows from {owners} data owners, {epochs} epochs)",
        kind.name()
    );
    dense_model(&layers, activation, "features", "output", &doc)
}

/// More classes than this must be asked for with `classes`.
const MAX_INFERRED_CLASSES: usize = 100;

/// The most classes a classifier may have (its one-hot labels and outputs
/// are sized by it).
pub const MAX_CLASSES: usize = 10_000;

/// Classes for a classifier: the request's, or the largest label + 1;
/// every label must be an integer in range. Errors name the row only in
/// the owner's own process (this one: all parties are here).
fn class_count(request: &TrainRequest, sources: &[DataSource], label: usize) -> Result<usize> {
    if request.config.kind == ModelKind::LinearRegression {
        return Ok(1);
    }
    if let Some(classes) = request.classes.filter(|&c| !(2..=MAX_CLASSES).contains(&c)) {
        return Err(JobError::Invalid(format!("{classes} classes: between 2 and {MAX_CLASSES}")));
    }
    let mut largest = 0usize;
    for source in sources {
        let first_line = if source.table.header.is_some() { 2 } else { 1 };
        for (row, value) in source.table.column(label).iter().enumerate() {
            if *value < 0.0 || value.fract() != 0.0 || *value >= MAX_CLASSES as f64 {
                return Err(JobError::Invalid(format!(
                    "{}:{}: the label is not a class number (0, 1, …)",
                    source.name,
                    row + first_line
                )));
            }
            largest = largest.max(*value as usize);
            if let Some(classes) = request.classes.filter(|&c| *value as usize >= c) {
                return Err(JobError::Invalid(format!(
                    "{}:{}: a label of {classes} or more with {classes} classes",
                    source.name,
                    row + first_line
                )));
            }
        }
    }
    if request.classes.is_none() && largest >= MAX_INFERRED_CLASSES {
        return Err(JobError::Invalid(format!(
            "label column values up to {largest} would make {} classes; give the number of classes to confirm",
            largest + 1
        )));
    }
    Ok(request.classes.unwrap_or(largest + 1).max(2))
}

/// Labels as the graph wants them: [rows, 1] values, or one-hot [rows, k].
pub(crate) fn encode_labels(labels: &Array1<f64>, outputs: usize, regression: bool) -> ArrayD<f64> {
    if regression || outputs == 1 {
        return labels.clone().insert_axis(Axis(1)).into_dyn();
    }
    let mut one_hot = Array2::zeros((labels.len(), outputs));
    for (row, &class) in labels.iter().enumerate() {
        one_hot[[row, class as usize]] = 1.0;
    }
    one_hot.into_dyn()
}

/// A table's columns as errors name them: the count, and the header's
/// names where it has one.
pub(crate) fn columns_text(table: &Table) -> String {
    match &table.header {
        Some(names) => format!("{} columns ({})", table.columns, names.join(",")),
        None => format!("{} columns (no header)", table.columns),
    }
}
