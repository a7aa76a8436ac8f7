//! `train(kind, data, label)`: private training on the data owners' tables,
//! every party in this process; the model owner's model comes back as ONNX
//! bytes, with the metrics of the plaintext twin beside the private run's.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use blindfold_ir::Ring;
use blindfold_jobs::input::{Header, Table, read_table};
use blindfold_jobs::train::{DataSource, TrainRequest, TrainingProgress, train as train_tables};
use blindfold_ml::training::{ModelKind, SigmoidMethod, TrainingConfig};
use blindfold_runtime::{OverflowPolicy, Protocol};
use numpy::PyReadonlyArrayDyn;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::errors::{job_error, value_error};
use crate::interrupt::{self, Progress};

/// A table from a CSV path or a (columns, 2-D float64 array) pair.
fn table(owner: &str, value: &Bound<'_, PyAny>) -> PyResult<(String, Table)> {
    if let Ok(path) = value.cast::<PyString>() {
        let path = path.to_string();
        let table = read_table(Path::new(&path), Header::Detect).map_err(value_error)?;
        return Ok((path, table));
    }
    let (columns, values): (Vec<String>, PyReadonlyArrayDyn<'_, f64>) = value.extract()?;
    let array = values.as_array();
    let [rows, width] = array.shape() else {
        return Err(value_error(format!(
            "{owner}'s data: a 2-D array (rows × columns), not shape {:?}",
            array.shape()
        )));
    };
    if *width != columns.len() {
        return Err(value_error(format!("{owner}'s data: {width} columns but {} names", columns.len())));
    }
    let table = Table {
        header: Some(columns),
        columns: *width,
        rows: *rows,
        values: array.iter().copied().collect(),
    };
    Ok((format!("{owner}'s array"), table))
}

/// Trains `kind` ("linreg", "logreg", "mlp", or "onnx" with `model`, the
/// ONNX model whose architecture and weights to train) on `data` ({owner: table});
/// returns (the model as ONNX, the metrics as JSON).
#[pyfunction]
#[pyo3(signature = (
    kind, data, label, test = None, epochs = 10, batch_size = 32, learning_rate = 0.1, classes = None,
    hidden = vec![128, 128], ring = "z128", sigmoid = "clamped", comparison_bits = None, reveal_loss = false,
    standardize = true, progress = false, accept_overflow = false, model = None, momentum = 0.0,
    dp_noise_multiplier = None, max_grad_norm = 1.0, dp_delta = 1e-5, protocol = "pond"
))]
#[allow(clippy::too_many_arguments)]
pub fn train<'py>(
    py: Python<'py>,
    kind: &str,
    data: &Bound<'py, PyDict>,
    label: String,
    test: Option<&Bound<'py, PyAny>>,
    epochs: usize,
    batch_size: usize,
    learning_rate: f64,
    classes: Option<usize>,
    hidden: Vec<usize>,
    ring: &str,
    sigmoid: &str,
    comparison_bits: Option<u32>,
    reveal_loss: bool,
    standardize: bool,
    progress: bool,
    accept_overflow: bool,
    model: Option<Vec<u8>>,
    momentum: f64,
    dp_noise_multiplier: Option<f64>,
    max_grad_norm: f64,
    dp_delta: f64,
    protocol: &str,
) -> PyResult<(Bound<'py, PyBytes>, String)> {
    let protocol = match crate::builder::protocol(protocol)? {
        secure @ (Protocol::Pond | Protocol::Replicated) => secure,
        other => {
            return Err(value_error(format!(
                "protocol '{}': training runs under pond or replicated",
                other.name()
            )));
        }
    };
    // "onnx": the architecture (and initial weights) of `model`.
    let architecture = match (kind, model) {
        ("onnx", Some(bytes)) => Some(bytes),
        ("onnx", None) => return Err(value_error("kind 'onnx' needs model= (the ONNX model to train)")),
        (_, Some(_)) => return Err(value_error("model= is for kind 'onnx'")),
        (_, None) => None,
    };
    let kind = if architecture.is_some() {
        ModelKind::LinearRegression
    } else {
        ModelKind::from_name(kind, hidden).map_err(value_error)?
    };
    let ring: Ring = ring.parse().map_err(value_error)?;
    let sigmoid: SigmoidMethod = sigmoid.parse().map_err(value_error)?;
    if epochs == 0 || batch_size == 0 || !(learning_rate.is_finite() && learning_rate > 0.0) {
        return Err(value_error("epochs and batch_size must be positive, learning_rate a positive number"));
    }
    let mut sources = Vec::new();
    for (owner, value) in data.iter() {
        let owner: String = owner.extract()?;
        let (name, table) = table(&owner, &value)?;
        sources.push(DataSource { owner, name, table });
    }
    let test = match test {
        Some(value) => {
            let (name, table) = table("test", value)?;
            Some(DataSource { owner: String::new(), name, table })
        }
        None => None,
    };
    let mut config = TrainingConfig::new(kind);
    config.protocol = protocol;
    config.epochs = epochs;
    config.batch_size = batch_size;
    config.learning_rate = learning_rate;
    config.momentum = momentum;
    if let Some(noise_multiplier) = dp_noise_multiplier {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !(positive(noise_multiplier) && positive(max_grad_norm) && positive(dp_delta) && dp_delta < 1.0) {
            return Err(value_error(
                "dp_noise_multiplier and max_grad_norm must be positive, dp_delta in (0, 1)",
            ));
        }
        config.dp = Some(blindfold_ml::dp_sgd::DpSgd { noise_multiplier, max_grad_norm, delta: dp_delta });
    }
    config.set_ring(ring);
    config.sigmoid = sigmoid;
    config.comparison_bits = comparison_bits.or(config.comparison_bits);
    config.reveal_loss = reveal_loss;
    let cancel = Arc::new(AtomicBool::new(false));
    let mut request = TrainRequest::new(config, &label);
    request.classes = classes;
    request.standardize = standardize && architecture.is_none();
    request.architecture = architecture;
    request.cancel = Some(Arc::clone(&cancel));
    request.overflow = if accept_overflow { OverflowPolicy::Accept } else { OverflowPolicy::Refuse };
    let shown = progress.then(|| Progress::new("ops"));
    if let Some(shown) = shown.clone() {
        request.progress = Some(Arc::new(move |at: TrainingProgress| shown.set(at.done, at.total)));
    }
    let outcome =
        interrupt::run_showing(py, cancel, shown, move || train_tables(&request, &sources, test.as_ref()))?
            .map_err(job_error)?;
    let metrics = outcome.record(None).to_string();
    Ok((PyBytes::new(py, &outcome.model), metrics))
}
