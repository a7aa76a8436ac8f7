//! `predict(model, x)`: an ONNX model (the model owner's) applied to the
//! client's rows, batch by batch, every party in this process
//! (`blindfold_jobs::predict`).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use blindfold_jobs::predict::{PredictOptions, predict as predict_rows};
use numpy::{PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;

use crate::arrays::to_numpy;
use crate::builder::{protocol, sigmoid_method};
use crate::errors::{job_error, value_error};
use crate::interrupt;

/// Runs `model` (ONNX bytes) on the rows of `x` (first axis: inputs);
/// returns the client's outputs for every row and the job's record as JSON.
#[pyfunction]
#[pyo3(signature = (model, x, protocol = "pond", batch = None, sigmoid = "clamped", comparison_bits = None, timeout = 60.0))]
#[allow(clippy::too_many_arguments)]
pub fn predict<'py>(
    py: Python<'py>,
    model: Vec<u8>,
    x: PyReadonlyArrayDyn<'py, f64>,
    protocol: &str,
    batch: Option<usize>,
    sigmoid: &str,
    comparison_bits: Option<u32>,
    timeout: f64,
) -> PyResult<(Bound<'py, PyArrayDyn<f64>>, String)> {
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(value_error(format!("timeout {timeout}: a positive number of seconds")));
    }
    let x = x.as_array().to_owned();
    let cancel = Arc::new(AtomicBool::new(false));
    let options = PredictOptions {
        batch: batch.unwrap_or(usize::MAX),
        protocol: self::protocol(protocol)?,
        sigmoid: sigmoid_method(sigmoid)?,
        comparison_bits,
        timeout: Duration::from_secs_f64(timeout),
        cancel: Some(Arc::clone(&cancel)),
        ..PredictOptions::default()
    };
    let prediction = interrupt::run(py, cancel, move || predict_rows(&model, "the model", &x, &options))?
        .map_err(job_error)?;
    let record = prediction.record().to_string();
    Ok((to_numpy(py, prediction.outputs), record))
}
