//! `predict(model, x)`: an ONNX model (the model owner's) applied to the
//! client's rows, batch by batch, every party in this process.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use blindfold_onnx::{ImportOptions, ImportedModel, import};
use blindfold_runtime::{Session, SessionOptions};
use ndarray::{ArrayD, Axis, IxDyn, concatenate};
use numpy::{PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use serde_json::json;

use crate::arrays::to_numpy;
use crate::builder::{protocol, sigmoid_method};
use crate::errors::{protocol_error, session_error, value_error};
use crate::interrupt;

/// Runs `model` (ONNX bytes) on the rows of `x` (first axis: inputs);
/// returns the client's outputs for every row and a JSON summary.
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
    let protocol = self::protocol(protocol)?;
    let sigmoid = sigmoid_method(sigmoid)?;
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(value_error(format!("timeout {timeout}: a positive number of seconds")));
    }
    let x = x.as_array();
    let rows = x.shape().first().copied().unwrap_or(0);
    if x.ndim() < 2 || rows == 0 {
        return Err(value_error(format!(
            "x of shape {:?}: give a batch of inputs, first axis the inputs (e.g. x[None] for one)",
            x.shape()
        )));
    }
    let batch = batch.unwrap_or(rows).clamp(1, rows);
    // The model must parse, and take x's rows, before anything runs.
    let options = move |size: usize| ImportOptions {
        batch: size,
        sigmoid,
        comparison_bits,
        ..ImportOptions::default()
    };
    let first = import(&model, options(batch)).map_err(|e| value_error(format!("the model: {e}")))?;
    let per_input: usize = first.input_shape[1..].iter().product();
    let given: usize = x.shape()[1..].iter().product();
    if per_input != given {
        return Err(value_error(format!(
            "x has inputs of shape {:?}, the model takes {:?}",
            &x.shape()[1..],
            &first.input_shape[1..]
        )));
    }
    // Each batch copied once, into the memory its session owns.
    let slices: Vec<ArrayD<f64>> = (0..rows)
        .step_by(batch)
        .map(|start| x.slice_axis(Axis(0), (start..rows.min(start + batch)).into()).to_owned())
        .collect();
    let cancel = Arc::new(AtomicBool::new(false));
    let watch = Arc::clone(&cancel);
    let work = move || -> PyResult<(ArrayD<f64>, serde_json::Value)> {
        let mut models: HashMap<usize, ImportedModel> = HashMap::from([(batch, first)]);
        let started = Instant::now();
        let (mut outputs, mut bytes, mut offline, mut rounds, mut batches) = (Vec::new(), 0, 0, 0, 0);
        for slice in slices {
            let size = slice.shape()[0];
            let imported = match models.entry(size) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(import(&model, options(size)).map_err(value_error)?)
                }
            };
            let slice = slice.into_shape_with_order(IxDyn(&imported.input_shape)).map_err(value_error)?;
            let session_options = SessionOptions {
                timeout: Duration::from_secs_f64(timeout),
                cancel: Some(Arc::clone(&watch)),
                ..SessionOptions::default()
            };
            let mut result = Session::new(imported.graph.clone())
                .protocol(protocol)
                .options(session_options)
                .run(imported.inputs(slice))
                .map_err(session_error)?;
            let output = result
                .outputs
                .get_mut("prediction-client")
                .and_then(|received| received.remove(&imported.output))
                .ok_or_else(|| protocol_error("the client received no output"))?;
            outputs.push(output);
            bytes += result.report.bytes_sent;
            offline += result.report.offline_bytes_sent;
            rounds = rounds.max(result.report.rounds);
            batches += 1;
        }
        let views: Vec<_> = outputs.iter().map(|o| o.view()).collect();
        let all = concatenate(Axis(0), &views).map_err(protocol_error)?;
        let summary = json!({
            "protocol": protocol.name(),
            "inputs": rows,
            "batches": batches,
            "wall_s": started.elapsed().as_secs_f64(),
            "bytes_sent": bytes + offline,
            "online_bytes": bytes,
            "offline_bytes": offline,
            "rounds_per_batch": rounds,
            "softmax_removed": models.values().any(|m| m.softmax_removed),
        });
        Ok((all, summary))
    };
    let (outputs, summary) = interrupt::run(py, cancel, work)??;
    Ok((to_numpy(py, outputs), summary.to_string()))
}
