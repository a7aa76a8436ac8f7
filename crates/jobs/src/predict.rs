//! A private prediction: an ONNX model's weights are the model owner's
//! private input, the client's rows are shared batch by batch, and only the
//! client learns the outputs. All parties run in this process. The one
//! batch loop behind `blindfold predict` and Python's `predict`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use blindfold_ir::parties::PREDICTION_CLIENT;
use blindfold_onnx::{ImportOptions, ImportedModel, SigmoidMethod, import};
use blindfold_runtime::{OverflowPolicy, Protocol, Report, Session, SessionOptions};
use ndarray::{ArrayD, Axis, IxDyn, concatenate};
use serde_json::{Value, json};

use crate::error::{JobError, Result};

/// How to predict.
#[derive(Clone)]
pub struct PredictOptions {
    /// Inputs per session.
    pub batch: usize,
    pub protocol: Protocol,
    pub sigmoid: SigmoidMethod,
    /// Compare on x mod 2^bits (`None`: the whole ring).
    pub comparison_bits: Option<u32>,
    /// Also run the model in plaintext f64 on the same rows.
    pub compare_plaintext: bool,
    /// Deliver this intermediate value (an ONNX value name) instead of the
    /// model's output: its first layers as a feature extractor.
    pub output: Option<String>,
    /// How long a party waits on a silent peer.
    pub timeout: Duration,
    /// When set, the session stops before its next op.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Refuse (the default) or run a model whose values could overflow
    /// fixed point on these inputs.
    pub overflow: OverflowPolicy,
    /// Called after each batch with the inputs done so far and all inputs.
    pub progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
}

impl Default for PredictOptions {
    fn default() -> PredictOptions {
        PredictOptions {
            batch: 100,
            protocol: Protocol::Pond,
            sigmoid: SigmoidMethod::default(),
            comparison_bits: None,
            compare_plaintext: false,
            output: None,
            overflow: OverflowPolicy::Refuse,
            timeout: Duration::from_secs(60),
            cancel: None,
            progress: None,
        }
    }
}

/// What a prediction delivered and cost.
pub struct Prediction {
    pub protocol: Protocol,
    /// The client's output for every input, first axis the inputs, and its name.
    pub outputs: ArrayD<f64>,
    pub output_name: String,
    /// The same model in plaintext f64, when asked for.
    pub plaintext: Option<ArrayD<f64>>,
    /// Whether the model's final Softmax was left to the client (the
    /// outputs are its logits: the same argmax).
    pub softmax_removed: bool,
    pub inputs: usize,
    pub batches: usize,
    pub wall_s: f64,
    /// Online bytes and the producer's, all batches.
    pub bytes_sent: u64,
    pub offline_bytes: u64,
    /// The most rounds of any batch.
    pub rounds: u64,
    /// Bytes each party received, all batches (what each saw: shares and
    /// masked values of these sizes).
    pub received: Vec<(String, u64)>,
    /// The first batch's profile (for a trace).
    pub first_report: Option<Report>,
}

/// Runs `model` (ONNX bytes, named `model_name` in errors) on the rows of
/// `x` (first axis: the inputs), `options.batch` per session.
pub fn predict(
    model: &[u8],
    model_name: &str,
    x: &ArrayD<f64>,
    options: &PredictOptions,
) -> Result<Prediction> {
    let rows = x.shape().first().copied().unwrap_or(0);
    if x.ndim() < 2 || rows == 0 {
        return Err(JobError::Invalid(format!(
            "inputs of shape {:?}: give a batch of inputs, the first axis the inputs",
            x.shape()
        )));
    }
    let batch = options.batch.clamp(1, rows);
    let import_at = |size: usize| {
        let import_options = ImportOptions {
            batch: size,
            sigmoid: options.sigmoid,
            comparison_bits: options.comparison_bits,
            output: options.output.clone(),
            ..ImportOptions::default()
        };
        import(model, import_options)
            .map_err(|source| JobError::Model { file: model_name.to_string(), source })
    };
    // The model must import, and take x's rows, before anything runs.
    let mut models: HashMap<usize, ImportedModel> = HashMap::from([(batch, import_at(batch)?)]);
    let per_input: usize = models[&batch].input_shape[1..].iter().product();
    let given: usize = x.shape()[1..].iter().product();
    if per_input != given {
        return Err(JobError::Invalid(format!(
            "inputs of shape {:?}; the model takes {:?}",
            &x.shape()[1..],
            &models[&batch].input_shape[1..]
        )));
    }
    let started = Instant::now();
    let (mut outputs, mut plaintext) = (Vec::new(), Vec::new());
    let (mut bytes_sent, mut offline_bytes, mut rounds, mut batches) = (0, 0, 0, 0);
    let mut received: Vec<(String, u64)> = Vec::new();
    let mut first_report = None;
    let mut output_name = String::new();
    for start in (0..rows).step_by(batch) {
        let size = batch.min(rows - start);
        let model = match models.entry(size) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(import_at(size)?),
        };
        output_name.clone_from(&model.output);
        // Each batch copied once, into the memory its session owns.
        let slice = x
            .slice_axis(Axis(0), (start..start + size).into())
            .to_owned()
            .into_shape_with_order(IxDyn(&model.input_shape))
            .expect("sizes checked above");
        let session_options = SessionOptions {
            timeout: options.timeout,
            cancel: options.cancel.clone(),
            overflow: options.overflow,
            ..SessionOptions::default()
        };
        let mut result = Session::new(model.graph.clone())
            .protocol(options.protocol)
            .options(session_options)
            .run(model.inputs(slice.clone()))?;
        let output = result
            .outputs
            .get_mut(PREDICTION_CLIENT)
            .and_then(|received| received.remove(&model.output))
            .expect("the session delivers the client's output");
        outputs.push(output);
        for party in &result.report.parties {
            match received.iter_mut().find(|(name, _)| *name == party.party) {
                Some((_, total)) => *total += party.bytes_received,
                None => received.push((party.party.clone(), party.bytes_received)),
            }
        }
        bytes_sent += result.report.bytes_sent;
        offline_bytes += result.report.offline_bytes_sent;
        rounds = rounds.max(result.report.rounds);
        batches += 1;
        if options.compare_plaintext {
            let mut clear = Session::new(model.graph.clone())
                .protocol(Protocol::PlaintextFloat)
                .run(model.inputs(slice))?;
            plaintext.push(
                clear
                    .outputs
                    .get_mut(PREDICTION_CLIENT)
                    .and_then(|received| received.remove(&model.output))
                    .expect("the plaintext run delivers the output"),
            );
        }
        first_report.get_or_insert(result.report);
        if let Some(progress) = &options.progress {
            progress(start + size, rows);
        }
    }
    let join = |parts: &[ArrayD<f64>]| -> Result<ArrayD<f64>> {
        let views: Vec<_> = parts.iter().map(|o| o.view()).collect();
        concatenate(Axis(0), &views)
            .map_err(|e| JobError::Invalid(format!("the batches' outputs differ: {e}")))
    };
    Ok(Prediction {
        protocol: options.protocol,
        outputs: join(&outputs)?,
        output_name,
        plaintext: if options.compare_plaintext { Some(join(&plaintext)?) } else { None },
        softmax_removed: models.values().any(|m| m.softmax_removed),
        inputs: rows,
        batches,
        wall_s: started.elapsed().as_secs_f64(),
        bytes_sent,
        offline_bytes,
        rounds,
        received,
        first_report,
    })
}

impl Prediction {
    /// The record of what it cost (docs/benchmarks.md's predict format,
    /// without the outputs): the same for the CLI and Python.
    pub fn record(&self) -> Value {
        let received: serde_json::Map<String, Value> =
            self.received.iter().map(|(party, bytes)| (party.clone(), json!(bytes))).collect();
        json!({
            "protocol": self.protocol.name(),
            "transport": "in-process",
            "inputs": self.inputs,
            "batches": self.batches,
            "wall_s": self.wall_s,
            "bytes_sent": self.bytes_sent + self.offline_bytes,
            "online_bytes": self.bytes_sent,
            "offline_bytes": self.offline_bytes,
            "rounds": self.rounds,
            "softmax_removed": self.softmax_removed,
            "received": received,
        })
    }
}

/// The rows of `outputs` ([inputs, ...]) as flat vectors.
pub fn rows(outputs: &ArrayD<f64>) -> Vec<Vec<f64>> {
    outputs.outer_iter().map(|row| row.iter().copied().collect()).collect()
}

/// The class of each row (argmax; a single output thresholded at 0.5).
pub fn classes(outputs: &ArrayD<f64>) -> Vec<usize> {
    rows(outputs).iter().map(|row| blindfold_ml::metrics::class(row)).collect()
}

/// A prediction's files: the model, the client's inputs, optionally their
/// true classes.
#[derive(Clone, Debug)]
pub struct PredictFiles {
    pub model: std::path::PathBuf,
    pub input: std::path::PathBuf,
    pub labels: Option<std::path::PathBuf>,
    /// Multiplies every input value (e.g. 1/255 for pixels).
    pub scale: Option<f64>,
    /// Only the first inputs.
    pub limit: Option<usize>,
}

/// A prediction from files, with what the files let us judge.
pub struct FilePrediction {
    pub prediction: Prediction,
    pub model: String,
    pub input: String,
    /// Rows in the input file (all counted, so that a lost row would show).
    pub rows_read: usize,
    /// The class of each input (argmax; a single output at 0.5).
    pub classes: Vec<usize>,
    pub accuracy: Option<f64>,
    pub plaintext_accuracy: Option<f64>,
    pub plaintext_agreement: Option<f64>,
}

impl FilePrediction {
    /// The prediction's record with the outputs and what the files let
    /// us judge.
    pub fn record(&self) -> Value {
        let mut record = self.prediction.record();
        let fields = json!({
            "model": self.model,
            "rows_read": self.rows_read,
            "predictions": self.classes,
            "outputs": rows(&self.prediction.outputs),
            "output_name": self.prediction.output_name,
            "accuracy": self.accuracy,
            "plaintext_accuracy": self.plaintext_accuracy,
            "plaintext_agreement": self.plaintext_agreement,
        });
        if let (Value::Object(record), Value::Object(fields)) = (&mut record, fields) {
            record.extend(fields);
        }
        record
    }
}

/// Reads `files` and predicts: [`predict`] on the (scaled, limited) inputs,
/// and the accuracy against the labels, the agreement with plaintext.
pub fn predict_files(files: &PredictFiles, options: &PredictOptions) -> Result<FilePrediction> {
    let model = std::fs::read(&files.model).map_err(|e| JobError::file(&files.model, e))?;
    let mut x = crate::input::read_array(&files.input)?;
    let rows_read = x.shape().first().copied().unwrap_or(0);
    let count = files.limit.unwrap_or(usize::MAX).min(rows_read);
    if count == 0 {
        return Err(JobError::Invalid(format!("{}: no inputs", files.input.display())));
    }
    if count < rows_read {
        x = x.slice_axis(Axis(0), (0..count).into()).to_owned();
    }
    if let Some(scale) = files.scale {
        x.mapv_inplace(|v| v * scale);
    }
    let labels = match &files.labels {
        Some(path) => {
            let labels: Vec<usize> = crate::input::read_array(path)?.iter().map(|&v| v as usize).collect();
            if labels.len() < count {
                return Err(JobError::Invalid(format!(
                    "{}: {} labels for {count} inputs",
                    path.display(),
                    labels.len()
                )));
            }
            Some(labels)
        }
        None => None,
    };
    let prediction = predict(&model, &files.model.display().to_string(), &x, options)?;
    let plaintext_classes = prediction.plaintext.as_ref().map(classes);
    let classes = classes(&prediction.outputs);
    let accuracy_of =
        |predicted: &[usize]| labels.as_ref().map(|l| blindfold_ml::metrics::agreement(predicted, l));
    Ok(FilePrediction {
        accuracy: accuracy_of(&classes),
        plaintext_accuracy: plaintext_classes.as_deref().and_then(accuracy_of),
        plaintext_agreement: plaintext_classes
            .as_deref()
            .map(|p| blindfold_ml::metrics::agreement(&classes, p)),
        classes,
        prediction,
        model: files.model.display().to_string(),
        input: files.input.display().to_string(),
        rows_read,
    })
}
