//! `predict(model, x)`: an ONNX model (the model owner's) applied to the
//! client's rows, `batch` inputs per session, every party in this process
//! (`blindfold_jobs::predict`).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use std::collections::HashMap;

use blindfold_jobs::predict::{PredictOptions, predict_inputs};
use blindfold_runtime::OverflowPolicy;
use numpy::{PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;

use crate::arrays::to_numpy;
use crate::builder::{protocol, sigmoid_method};
use crate::errors::{job_error, value_error};
use crate::interrupt::{self, Progress};

/// The first output as revealed, the job's record (JSON), and every output
/// by name as the model defines it (finishing steps applied), with whether
/// it holds integers (labels).
type PredictResult<'py> =
    (Bound<'py, PyArrayDyn<f64>>, String, Vec<(String, Bound<'py, PyArrayDyn<f64>>, bool)>);

/// Runs `model` (ONNX bytes) on the rows of `x` (first axis: inputs; the
/// model's first graph input) and `named_inputs` (other graph inputs by
/// name), graph inputs given to parties by `input_owners`.
#[pyfunction]
#[pyo3(signature = (
    model, x, protocol = "pond", batch = 100, sigmoid = "clamped", comparison_bits = None, timeout = 60.0,
    progress = false, accept_overflow = false, named_inputs = Vec::new(), input_owners = HashMap::new(),
    x_name = None, calibration = None
))]
#[allow(clippy::too_many_arguments)]
pub fn predict<'py>(
    py: Python<'py>,
    model: Vec<u8>,
    x: PyReadonlyArrayDyn<'py, f64>,
    protocol: &str,
    batch: usize,
    sigmoid: &str,
    comparison_bits: Option<u32>,
    timeout: f64,
    progress: bool,
    accept_overflow: bool,
    named_inputs: Vec<(String, PyReadonlyArrayDyn<'py, f64>)>,
    input_owners: HashMap<String, String>,
    x_name: Option<String>,
    calibration: Option<PyReadonlyArrayDyn<'py, f64>>,
) -> PyResult<PredictResult<'py>> {
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(value_error(format!("timeout {timeout}: a positive number of seconds")));
    }
    if batch == 0 {
        return Err(value_error("batch: at least 1 input per session"));
    }
    let mut inputs = vec![(x_name, x.as_array().to_owned())];
    inputs
        .extend(named_inputs.iter().map(|(name, values)| (Some(name.clone()), values.as_array().to_owned())));
    let cancel = Arc::new(AtomicBool::new(false));
    let shown = progress.then(|| Progress::new("inputs"));
    let hook = shown.clone().map(|shown| {
        Arc::new(move |done: usize, total: usize| shown.set(done, total))
            as Arc<dyn Fn(usize, usize) + Send + Sync>
    });
    let options = PredictOptions {
        batch,
        protocol: self::protocol(protocol)?,
        sigmoid: sigmoid_method(sigmoid)?,
        comparison_bits,
        timeout: Duration::from_secs_f64(timeout),
        cancel: Some(Arc::clone(&cancel)),
        progress: hook,
        overflow: if accept_overflow { OverflowPolicy::Accept } else { OverflowPolicy::Refuse },
        input_owners,
        calibration: calibration.map(|sample| sample.as_array().to_owned()),
        ..PredictOptions::default()
    };
    let prediction = interrupt::run_showing(py, cancel, shown, move || {
        predict_inputs(&model, "the model", &inputs, &options)
    })?
    .map_err(job_error)?;
    let record = prediction.record().to_string();
    let named = prediction
        .named
        .into_iter()
        .map(|output| (output.name, to_numpy(py, output.values), output.integer))
        .collect();
    Ok((to_numpy(py, prediction.outputs), record, named))
}
