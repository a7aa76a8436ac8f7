//! A private prediction: an ONNX model's weights are the model owner's
//! private input, the client's rows are shared batch by batch, and only the
//! client learns the outputs. All parties run in this process. The one
//! batch loop behind `blindfold predict` and Python's `predict`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use blindfold_onnx::{ClientStep, ImportOptions, ImportedModel, SigmoidMethod, import};
use blindfold_protocols::bounds::{Known, KnownInputs};
use blindfold_protocols::calibration;
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
    /// Owners of graph inputs by name, beyond the defaults (the first is
    /// the client's, any other the model owner's).
    pub input_owners: HashMap<String, String>,
    /// The model owner's sample of inputs (rows of the first graph input)
    /// on which each comparison's width is calibrated
    /// ([`blindfold_protocols::calibration`]); `None`: exact comparisons on
    /// the whole ring (or `comparison_bits`).
    pub calibration: Option<ArrayD<f64>>,
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
            input_owners: HashMap::new(),
            calibration: None,
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
    /// Every model output, as the model defines it (finishing steps such
    /// as a final softmax applied, labels rounded), in the model's order.
    pub named: Vec<NamedOutput>,
    /// Comparison nodes per calibrated width in bits (empty without
    /// calibration).
    pub comparison_widths: std::collections::BTreeMap<u32, usize>,
}

/// One model output of a prediction.
pub struct NamedOutput {
    pub name: String,
    pub values: ArrayD<f64>,
    /// Labels or indices (integers).
    pub integer: bool,
}

/// Runs `model` (ONNX bytes, named `model_name` in errors) on the rows of
/// `x` (first axis: the inputs), `options.batch` per session: a model
/// with one graph input.
pub fn predict(
    model: &[u8],
    model_name: &str,
    x: &ArrayD<f64>,
    options: &PredictOptions,
) -> Result<Prediction> {
    predict_inputs(model, model_name, &[(None, x.clone())], options)
}

/// Runs `model` on several graph inputs: `inputs` pairs a graph input's
/// name (`None`: the first) with its values. Inputs whose first dimension
/// is the batch are split into batches of `options.batch` rows; the others
/// (weights given as inputs, say) go whole to every session.
pub fn predict_inputs(
    model: &[u8],
    model_name: &str,
    inputs: &[(Option<String>, ArrayD<f64>)],
    options: &PredictOptions,
) -> Result<Prediction> {
    let first = inputs.first().map(|(_, x)| x).ok_or_else(|| JobError::Invalid("no inputs given".into()))?;
    let rows = first.shape().first().copied().unwrap_or(0);
    if first.ndim() < 2 || rows == 0 {
        return Err(JobError::Invalid(format!(
            "inputs of shape {:?}: give a batch of inputs, the first axis the inputs",
            first.shape()
        )));
    }
    let batch = options.batch.clamp(1, rows);
    let import_at = |size: usize| {
        let import_options = ImportOptions {
            batch: size,
            sigmoid: options.sigmoid,
            comparison_bits: options.comparison_bits,
            output: options.output.clone(),
            input_owners: options.input_owners.clone(),
            ..ImportOptions::default()
        };
        import(model, import_options)
            .map_err(|source| JobError::Model { file: model_name.to_string(), source })
    };
    // The model must import, and take the inputs, before anything runs.
    let mut models: HashMap<usize, ImportedModel> = HashMap::from([(batch, import_at(batch)?)]);
    let widths = match &options.calibration {
        Some(sample) => Some(calibrate(&import_at, sample, inputs, model_name)?),
        None => None,
    };
    let import_at = |size: usize| -> Result<ImportedModel> {
        let mut model = import_at(size)?;
        if let Some(widths) = &widths {
            model.graph = calibration::apply(&model.graph, widths).map_err(JobError::Graph)?;
        }
        Ok(model)
    };
    if widths.is_some() {
        models.insert(batch, import_at(batch)?);
    }
    let mut named: HashMap<String, ArrayD<f64>> = HashMap::new();
    for (name, values) in inputs {
        let name = name.clone().unwrap_or_else(|| models[&batch].input.clone());
        if named.insert(name.clone(), values.clone()).is_some() {
            return Err(JobError::Invalid(format!("input '{name}' is given twice")));
        }
    }
    for input in &models[&batch].model_inputs {
        let Some(values) = named.get_mut(&input.name) else {
            return Err(JobError::Invalid(format!(
                "the model reads input '{}' ({}'s): give it (--input {}=FILE)",
                input.name, input.party, input.name
            )));
        };
        let (given, expected) = if input.batched {
            (&values.shape()[1..], &input.shape[1..])
        } else {
            (values.shape(), input.shape.as_slice())
        };
        if given.iter().product::<usize>() != expected.iter().product::<usize>() {
            return Err(JobError::Invalid(format!(
                "input '{}' has shape {:?}; the model takes {:?}",
                input.name, given, expected
            )));
        }
        if input.batched && values.shape()[0] != rows {
            return Err(JobError::Invalid(format!(
                "input '{}' has {} rows where the first input has {rows}",
                input.name,
                values.shape()[0]
            )));
        }
        if !input.batched {
            *values = values.clone().into_shape_with_order(IxDyn(&input.shape)).expect("sizes checked");
        }
    }
    if let Some(unknown) = named.keys().find(|n| !models[&batch].model_inputs.iter().any(|i| &i.name == *n)) {
        return Err(JobError::Invalid(format!("the model has no input '{unknown}'")));
    }
    if options.protocol == Protocol::Pond {
        check_memory(&models[&batch].graph, batch)?;
    }
    let started = Instant::now();
    let output_count = models[&batch].outputs.len();
    let (mut outputs, mut plaintext): (Vec<Vec<ArrayD<f64>>>, Vec<ArrayD<f64>>) =
        (vec![Vec::new(); output_count], Vec::new());
    let (mut bytes_sent, mut offline_bytes, mut rounds, mut batches) = (0, 0, 0, 0);
    let mut received: Vec<(String, u64)> = Vec::new();
    let mut first_report = None;
    for start in (0..rows).step_by(batch) {
        let size = batch.min(rows - start);
        let model = match models.entry(size) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(import_at(size)?),
        };
        // Each batch copied once, into the memory its session owns.
        let mut batch_inputs = HashMap::new();
        for input in &model.model_inputs {
            let values = &named[&input.name];
            let values = if input.batched {
                values
                    .slice_axis(Axis(0), (start..start + size).into())
                    .to_owned()
                    .into_shape_with_order(IxDyn(&input.shape))
                    .expect("sizes checked above")
            } else {
                values.clone()
            };
            batch_inputs.insert(input.name.clone(), values);
        }
        let session_inputs = model
            .inputs_named(batch_inputs)
            .map_err(|source| JobError::Model { file: model_name.to_string(), source })?;
        let session_options = SessionOptions {
            timeout: options.timeout,
            cancel: options.cancel.clone(),
            overflow: options.overflow,
            ..SessionOptions::default()
        };
        // The plaintext twin needs the inputs after the session: copied only then.
        let twin_inputs = options.compare_plaintext.then(|| session_inputs.clone());
        let mut result = Session::new(model.graph.clone())
            .protocol(options.protocol)
            .options(session_options)
            .run(session_inputs)?;
        for (index, output) in model.outputs.iter().enumerate() {
            let revealed = result
                .outputs
                .get_mut(&output.party)
                .and_then(|received| received.remove(&output.name))
                .expect("the session delivers every output");
            outputs[index].push(revealed);
        }
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
        if let Some(twin_inputs) = twin_inputs {
            let mut clear =
                Session::new(model.graph.clone()).protocol(Protocol::PlaintextFloat).run(twin_inputs)?;
            let first_output = &model.outputs[0];
            plaintext.push(
                clear
                    .outputs
                    .get_mut(&first_output.party)
                    .and_then(|received| received.remove(&first_output.name))
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
    let definitions = models[&batch].outputs.clone();
    // Each output joined once: the first as revealed, every one as defined.
    let mut joined = outputs.iter().map(|parts| join(parts)).collect::<Result<Vec<_>>>()?;
    let named_outputs: Vec<NamedOutput> = definitions
        .iter()
        .zip(&joined)
        .map(|(definition, values)| NamedOutput {
            name: definition.name.clone(),
            values: definition.finish(values),
            integer: definition.integer,
        })
        .collect();
    Ok(Prediction {
        protocol: options.protocol,
        outputs: joined.swap_remove(0),
        output_name: definitions[0].name.clone(),
        plaintext: if options.compare_plaintext { Some(join(&plaintext)?) } else { None },
        softmax_removed: definitions[0].steps.iter().any(|s| matches!(s, ClientStep::Softmax { .. })),
        inputs: rows,
        batches,
        wall_s: started.elapsed().as_secs_f64(),
        bytes_sent,
        offline_bytes,
        rounds,
        received,
        first_report,
        named: named_outputs,
        comparison_widths: widths.map(|w| w.histogram()).unwrap_or_default(),
    })
}

/// The memory an in-process session may use: `BLINDFOLD_MEMORY_BYTES`, or
/// what the system has available (Linux's MemAvailable); `None` if unknown.
fn available_memory() -> Option<u64> {
    if let Some(bytes) = std::env::var("BLINDFOLD_MEMORY_BYTES").ok().and_then(|v| v.parse().ok()) {
        return Some(bytes);
    }
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|line| line.starts_with("MemAvailable:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

/// Refuses a batch whose comparison keys alone would not fit in memory: in
/// one process the producer runs ahead of the servers and its keys wait in
/// memory, so a batch too large would be killed by the system instead.
fn check_memory(graph: &blindfold_ir::Graph, batch: usize) -> Result<()> {
    let link_budget = blindfold_runtime::SessionOptions::default().link_budget_bytes;
    let (Some(available), needed) =
        (available_memory(), blindfold_protocols::pond::comparison_material_held_bytes(graph, link_budget))
    else {
        return Ok(());
    };
    if needed <= available / 2 {
        return Ok(());
    }
    let fitting = ((batch as u128 * available as u128 / 2) / needed.max(1) as u128).max(1);
    let human = |bytes: u64| match bytes {
        b if b >= 1_000_000_000 => format!("{:.1} GB", b as f64 / 1e9),
        b => format!("{:.1} MB", b as f64 / 1e6),
    };
    Err(JobError::Invalid(format!(
        "a batch of {batch} needs about {} of the producer's comparison keys in this process at once (the \
         producer runs ahead of the servers), and {} of memory is available: use --batch {fitting} or less, \
         --calibrate for narrower comparisons, or run the parties as separate processes (blindfold run)",
        human(needed),
        human(available)
    )))
}

/// The widths of the model's comparisons on the owner's `sample` (rows of
/// the first graph input; the other inputs as given): `import_at` imports
/// the model at a batch size.
pub fn calibrate(
    import_at: &dyn Fn(usize) -> Result<ImportedModel>,
    sample: &ArrayD<f64>,
    inputs: &[(Option<String>, ArrayD<f64>)],
    model_name: &str,
) -> Result<calibration::Widths> {
    let rows = sample.shape().first().copied().unwrap_or(0);
    if rows == 0 {
        return Err(JobError::Invalid("the calibration sample has no rows".into()));
    }
    let model = import_at(rows)?;
    let mut given: HashMap<String, ArrayD<f64>> = HashMap::new();
    for input in &model.model_inputs {
        let values = if input.name == model.input {
            sample.clone()
        } else {
            let Some((_, values)) = inputs.iter().find(|(name, _)| name.as_deref() == Some(&input.name))
            else {
                continue;
            };
            if input.batched {
                return Err(JobError::Invalid(format!(
                    "calibration takes a sample of the first input only; '{}' is also one per row",
                    input.name
                )));
            }
            values.clone()
        };
        let count: usize = input.shape.iter().product();
        if values.len() != count {
            return Err(JobError::Invalid(format!(
                "the calibration sample of '{}' has shape {:?}; the model takes {:?}",
                input.name,
                values.shape(),
                &input.shape[1..]
            )));
        }
        given.insert(
            input.name.clone(),
            values.into_shape_with_order(IxDyn(&input.shape)).expect("sizes checked"),
        );
    }
    let session_inputs = model
        .inputs_named(given)
        .map_err(|source| JobError::Model { file: model_name.to_string(), source })?;
    let known: KnownInputs = session_inputs
        .into_iter()
        .flat_map(|(party, named)| {
            named.into_iter().map(move |(name, values)| ((party.clone(), name), Known::Exact(values)))
        })
        .collect();
    calibration::calibrate(&model.graph, &known).map_err(|e| JobError::Invalid(format!("calibration: {e}")))
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
            "comparison_widths": self.comparison_widths.iter().map(|(bits, count)| (bits.to_string(), json!(count))).collect::<serde_json::Map<String, Value>>(),
        })
    }

    /// Every output by name: a list of rows each (labels as integers).
    pub fn named_record(&self) -> Value {
        let named: serde_json::Map<String, Value> = self
            .named
            .iter()
            .map(|output| {
                let value = if output.integer {
                    json!(output.values.iter().map(|&v| v as i64).collect::<Vec<_>>())
                } else if output.values.ndim() <= 1 {
                    json!(output.values.iter().copied().collect::<Vec<_>>())
                } else {
                    json!(rows(&output.values))
                };
                (output.name.clone(), value)
            })
            .collect();
        Value::Object(named)
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
    /// The first input's file (its rows are the inputs), and its graph
    /// input's name (`None`: the model's first).
    pub input: std::path::PathBuf,
    pub input_name: Option<String>,
    /// Files of other graph inputs, by input name (not scaled or limited
    /// unless their first dimension is the batch: then limited).
    pub named_inputs: Vec<(String, std::path::PathBuf)>,
    pub labels: Option<std::path::PathBuf>,
    /// Multiplies every input value (e.g. 1/255 for pixels).
    pub scale: Option<f64>,
    /// Only the first inputs.
    pub limit: Option<usize>,
    /// The model owner's calibration sample (scaled like the inputs).
    pub calibration: Option<std::path::PathBuf>,
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
            "named_outputs": self.prediction.named_record(),
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
    let mut inputs = vec![(files.input_name.clone(), x)];
    for (name, path) in &files.named_inputs {
        inputs.push((Some(name.clone()), crate::input::read_array(path)?));
    }
    let mut options = options.clone();
    if let Some(path) = &files.calibration {
        let mut sample = crate::input::read_array(path)?;
        if let Some(scale) = files.scale {
            sample.mapv_inplace(|v| v * scale);
        }
        options.calibration = Some(sample);
    }
    let prediction = predict_inputs(&model, &files.model.display().to_string(), &inputs, &options)?;
    let first_is_labels = prediction.named.first().is_some_and(|o| o.integer && o.values.ndim() == 1);
    let plaintext_classes = prediction.plaintext.as_ref().map(|p| {
        if first_is_labels { p.iter().map(|&v| v.round().max(0.0) as usize).collect() } else { classes(p) }
    });
    // A model that outputs labels (an integer vector) gives the classes.
    let labelled = prediction.named.iter().find(|o| o.integer && o.values.ndim() == 1);
    let classes = match labelled {
        Some(output) => output.values.iter().map(|&v| v.max(0.0) as usize).collect(),
        None => classes(&prediction.outputs),
    };
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
