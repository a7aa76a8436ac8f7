//! The CLI's side of networked sessions: how a worker reads its inputs from
//! its own disk (the file formats of `blindfold predict`, an ONNX model's
//! weights), and `blindfold run predict`: build the prediction graph, launch
//! it on the workers, report where the client's outputs went.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use blindfold_ir::Graph;
use blindfold_ml::training::{self, MODEL_OWNER, ModelKind, TrainingConfig};
use blindfold_network::Config;
use blindfold_network::control::{InputSource, PartyRequest, TableShape};
use blindfold_network::launcher::{Launch, Launched, describe};
use blindfold_network::worker::{InputFiles, InputReader, ReadError, WantedInput};
use blindfold_onnx::{ImportOptions, ImportedModel, SigmoidMethod, import};
use blindfold_protocols::pond::{PRODUCER, SERVERS};
use ndarray::{ArrayD, Axis, IxDyn};
use serde_json::json;

use crate::input::{Header, InputError, read_array, read_table};

/// A model's weights as last read: (modified, length, weights).
type WeightsCache = Mutex<HashMap<PathBuf, (SystemTime, u64, Arc<HashMap<String, ArrayD<f64>>>)>>;

/// How a worker reads its files: arrays (`.npy`, IDX, CSV), an ONNX
/// model's weights (kept between sessions until the file changes), tables.
#[derive(Default)]
pub struct WorkerFiles {
    weights: WeightsCache,
}

impl InputFiles for WorkerFiles {
    fn read(
        &self,
        path: &Path,
        source: &InputSource,
        wanted: &[WantedInput],
    ) -> Result<HashMap<String, ArrayD<f64>>, ReadError> {
        read_source(path, source, wanted, &self.weights)
    }

    fn describe(&self, path: &Path) -> Result<TableShape, ReadError> {
        let table = read_table(path, Header::Detect).map_err(|e| private(e, path))?;
        Ok(TableShape { header: table.header, columns: table.columns, rows: table.rows })
    }
}

/// A reading error as a worker reports it: the file by its name, not its
/// place on disk; the line only in the worker's own log.
fn private(error: InputError, path: &Path) -> ReadError {
    let error = error.renamed(&file_name(path));
    ReadError { public: error.public(), private: error.location.is_some().then(|| error.to_string()) }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
}

/// The reader `blindfold worker` uses.
pub fn input_reader() -> Arc<InputReader> {
    Arc::new(WorkerFiles::default())
}

/// The weights of the ONNX model at `path`, from `cache` if unchanged.
fn model_weights(path: &Path, cache: &WeightsCache) -> Result<Arc<HashMap<String, ArrayD<f64>>>, ReadError> {
    let file = file_name(path);
    let metadata = std::fs::metadata(path).map_err(|e| ReadError::public(format!("{file}: {e}")))?;
    let stamp = (metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH), metadata.len());
    if let Some((modified, length, weights)) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(path)
        && (*modified, *length) == stamp
    {
        return Ok(Arc::clone(weights));
    }
    let bytes = std::fs::read(path).map_err(|e| ReadError::public(format!("{file}: {e}")))?;
    let weights = Arc::new(
        import(&bytes, ImportOptions::default())
            .map_err(|e| ReadError::public(format!("{file}: {e}")))?
            .weights,
    );
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(path.to_path_buf(), (stamp.0, stamp.1, Arc::clone(&weights)));
    Ok(weights)
}

/// A table's columns as `features` and its label column as `labels`.
fn read_training_table(
    path: &Path,
    label_column: &str,
    (features, labels): (&str, &str),
    classes: Option<usize>,
) -> Result<HashMap<String, ArrayD<f64>>, ReadError> {
    let file = file_name(path);
    let table = read_table(path, Header::Detect).map_err(|e| private(e, path))?;
    let label = table.column_named(label_column).map_err(|e| ReadError::public(format!("{file}: {e}")))?;
    let x = ArrayD::from_shape_vec(vec![table.rows, table.columns - 1], table.without_column(label))
        .map_err(|e| ReadError::public(format!("{file}: {e}")))?;
    let values = table.column(label);
    let y = match classes {
        None => ArrayD::from_shape_vec(vec![table.rows, 1], values)
            .map_err(|e| ReadError::public(format!("{file}: {e}")))?,
        Some(classes) => {
            let mut one_hot = ArrayD::zeros(vec![table.rows, classes]);
            let first_line = if table.header.is_some() { 2 } else { 1 };
            for (row, &value) in values.iter().enumerate() {
                if value < 0.0 || value.fract() != 0.0 || value as usize >= classes {
                    // Neither the value nor the row leaves this worker.
                    return Err(ReadError {
                        public: format!("{file}: a label is not a class number below {classes}"),
                        private: Some(format!(
                            "{file}:{}: the label is not a class number",
                            row + first_line
                        )),
                    });
                }
                one_hot[[row, value as usize]] = 1.0;
            }
            one_hot
        }
    };
    Ok(HashMap::from([(features.to_string(), x), (labels.to_string(), y)]))
}

fn read_source(
    path: &Path,
    source: &InputSource,
    wanted: &[WantedInput],
    cache: &WeightsCache,
) -> Result<HashMap<String, ArrayD<f64>>, ReadError> {
    let file = file_name(path);
    let public = |message: String| ReadError::public(format!("{file}: {message}"));
    match source {
        InputSource::Array { input, scale, rows, .. } => {
            let shape = &wanted
                .iter()
                .find(|(name, _)| name == input)
                .ok_or_else(|| ReadError::public(format!("the graph has no input '{input}' of this party")))?
                .1;
            let mut array = read_array(path).map_err(|e| private(e, path))?;
            if let Some((first, count)) = rows {
                let available = array.shape().first().copied().unwrap_or(0);
                if first + count > available {
                    return Err(public(format!("rows {first}..{} asked, it has {available}", first + count)));
                }
                array = array.slice_axis(Axis(0), (*first..first + count).into()).to_owned();
            }
            if let Some(scale) = scale {
                array.mapv_inplace(|v| v * scale);
            }
            let expected: usize = shape.iter().product();
            if array.len() != expected {
                return Err(public(format!(
                    "{} values (shape {:?}), input '{input}' takes shape {shape:?}",
                    array.len(),
                    array.shape()
                )));
            }
            let array = array.into_shape_with_order(IxDyn(shape)).map_err(|e| public(e.to_string()))?;
            Ok(HashMap::from([(input.clone(), array)]))
        }
        InputSource::ModelWeights { .. } => {
            let weights: HashMap<String, ArrayD<f64>> = model_weights(path, cache)?
                .iter()
                .filter(|(name, _)| wanted.iter().any(|(w, _)| w == *name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            if weights.is_empty() {
                return Err(public("none of its weights is an input of the graph".into()));
            }
            Ok(weights)
        }
        InputSource::Table { label_column, features, labels, classes, .. } => {
            read_training_table(path, label_column, (features, labels), *classes)
        }
    }
}

/// The prediction graph `blindfold run predict` and `blindfold graph build`
/// make from an ONNX model.
pub fn prediction_graph(
    model: &Path,
    batch: usize,
    sigmoid: SigmoidMethod,
    comparison_bits: Option<u32>,
) -> Result<ImportedModel, String> {
    let bytes = std::fs::read(model).map_err(|e| format!("{}: {e}", model.display()))?;
    import(&bytes, ImportOptions { batch, sigmoid, comparison_bits, ..ImportOptions::default() })
        .map_err(|e| format!("{}: {e}", model.display()))
}

/// Where a networked prediction's files are: the model's weights on the
/// owner's disk, the rows on the client's (the model's batch of them).
pub struct PredictRequest {
    /// The model file on the model owner's disk (in its data folder).
    pub weights: String,
    /// The client's inputs on its disk (in its data folder).
    pub input: String,
    pub scale: Option<f64>,
    /// The first row of the client's file to predict.
    pub first: usize,
    /// Where the client writes its outputs (in its data folder).
    pub out: Option<String>,
}

/// Every party of a prediction: Pond's three, the owner, the client.
pub fn prediction_parties() -> Vec<String> {
    let options = ImportOptions::default();
    SERVERS
        .iter()
        .chain([&PRODUCER])
        .map(|s| s.to_string())
        .chain([options.model_owner, options.client])
        .collect()
}

/// The session a prediction launches: the owner's worker reads the model's
/// weights, the client's its rows; only the client receives.
pub fn prediction_launch(model: &ImportedModel, request: &PredictRequest, timeout: Duration) -> Launch {
    let options = ImportOptions::default();
    let parts = BTreeMap::from([
        (
            options.model_owner.clone(),
            PartyRequest {
                inputs: vec![InputSource::ModelWeights { path: request.weights.clone() }],
                outputs: None,
            },
        ),
        (
            options.client.clone(),
            PartyRequest {
                inputs: vec![InputSource::Array {
                    input: model.input.clone(),
                    path: request.input.clone(),
                    scale: request.scale,
                    rows: Some((request.first, model.input_shape[0])),
                }],
                outputs: request.out.clone(),
            },
        ),
    ]);
    Launch { graph: model.graph.clone(), parties: prediction_parties(), parts, timeout }
}

/// The operator's record of a launched session (no values: it has none).
pub fn launched_json(launched: &Launched) -> serde_json::Value {
    json!({
        "session": format!("{:016x}", launched.session),
        "graph": launched.hash,
        "transport": "tls",
        "wall_s": launched.report.wall_s,
        "bytes_sent": launched.report.bytes_sent + launched.report.offline_bytes_sent,
        "online_bytes": launched.report.bytes_sent,
        "rounds": launched.report.rounds,
        "outputs": launched.outputs,
    })
}

/// The operator's summary.
pub fn launched_text(launched: &Launched) -> String {
    let mut text = format!(
        "session {:016x} (graph {}): {:.3} s, {} bytes online + {} offline, {} rounds\n",
        launched.session,
        launched.hash,
        launched.report.wall_s,
        launched.report.bytes_sent,
        launched.report.offline_bytes_sent,
        launched.report.rounds
    );
    for (party, files) in &launched.outputs {
        text += &format!("{party} wrote, on its own disk: {}\n", files.join(", "));
    }
    text
}

/// The operator to act as: the one given, or the file's only operator.
pub fn operator(config: &Config, given: Option<String>) -> Result<String, String> {
    match (given, config.operators.keys().collect::<Vec<_>>().as_slice()) {
        (Some(name), _) => Ok(name),
        (None, [only]) => Ok((*only).clone()),
        (None, []) => Err(format!("{}: no [operators.NAME] to launch sessions as", config.path.display())),
        (None, many) => Err(format!(
            "{} names several operators ({}): choose one with --as",
            config.path.display(),
            many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The session of any graph: `PARTY:INPUT=PATH` inputs, read by their
/// owners; outputs into `out` in each receiver's data folder.
pub fn graph_launch(
    graph: Graph,
    inputs: &[String],
    out: Option<String>,
    timeout: Duration,
) -> Result<Launch, String> {
    let mut parties: Vec<String> = SERVERS.iter().chain([&PRODUCER]).map(|s| s.to_string()).collect();
    for party in graph.parties() {
        if !parties.contains(&party) {
            parties.push(party);
        }
    }
    let mut parts: BTreeMap<String, PartyRequest> = parties
        .iter()
        .map(|party| (party.clone(), PartyRequest { inputs: Vec::new(), outputs: out.clone() }))
        .collect();
    for text in inputs {
        let parsed = text.split_once(':').and_then(|(party, rest)| {
            rest.split_once('=').map(|(input, path)| (party.to_string(), input.to_string(), path.to_string()))
        });
        let Some((party, input, path)) =
            parsed.filter(|(p, i, f)| !p.is_empty() && !i.is_empty() && !f.is_empty())
        else {
            return Err(format!("--input '{text}': expected PARTY:INPUT=PATH"));
        };
        let part = parts
            .get_mut(&party)
            .ok_or_else(|| format!("--input '{text}': '{party}' is not a party of the graph"))?;
        part.inputs.push(InputSource::Array { input, path, scale: None, rows: None });
    }
    Ok(Launch { graph, parties, parts, timeout })
}

/// A networked training run: each data owner's worker reads its own table.
pub struct TrainRequest {
    /// The model, SGD and precision settings.
    pub training: TrainingConfig,
    /// (data owner, table path inside its data folder).
    pub data: Vec<(String, String)>,
    pub label_column: String,
    /// Classes (logreg, mlp).
    pub classes: Option<usize>,
    /// The folder, inside the model owner's data folder, for the weights.
    pub out: Option<String>,
}

/// The training session: the owners' tables described (header and row
/// count, the graph's shapes), checked alike, and the SGD graph built.
pub fn training_launch(
    config: &Config,
    operator: &str,
    request: &TrainRequest,
    timeout: Duration,
) -> Result<Launch, String> {
    if request.data.is_empty() {
        return Err("no training data: give --data OWNER=PATH at least once".into());
    }
    let mut owners = Vec::new();
    let mut first: Option<(String, TableShape)> = None;
    for (owner, path) in &request.data {
        let shape = describe(config, operator, owner, path).map_err(|e| e.to_string())?;
        match &first {
            Some((first_owner, first_shape))
                if (first_shape.columns, &first_shape.header) != (shape.columns, &shape.header) =>
            {
                return Err(format!(
                    "{owner}'s {path} has {} columns{}, {first_owner}'s has {}{}: every owner must have the same columns",
                    shape.columns,
                    shape.header.as_ref().map(|h| format!(" ({})", h.join(","))).unwrap_or_default(),
                    first_shape.columns,
                    first_shape.header.as_ref().map(|h| format!(" ({})", h.join(","))).unwrap_or_default(),
                ));
            }
            Some(_) => {}
            None => first = Some((owner.clone(), shape.clone())),
        }
        owners.push((owner.clone(), shape.rows));
    }
    let Some((first_owner, shape)) = first else {
        return Err("no training data: give --data OWNER=PATH at least once".into());
    };
    match &shape.header {
        Some(names) if !names.contains(&request.label_column) => {
            return Err(format!(
                "no label column '{}' in {first_owner}'s table (its header names {})",
                request.label_column,
                names.join(",")
            ));
        }
        Some(_) => {}
        None if request.label_column.parse::<usize>().is_ok_and(|i| i < shape.columns) => {}
        None => {
            return Err(format!(
                "{first_owner}'s table has no header line (its first line is data, and stays on its worker): \
                 name the label by its column number, from 0 (it has {} columns)",
                shape.columns
            ));
        }
    }
    let columns = shape.columns;
    let features = columns - 1;
    let outputs = match (&request.training.kind, request.classes) {
        (ModelKind::LinearRegression, _) => 1,
        (ModelKind::LogisticRegression, None | Some(2)) => 1,
        (_, Some(classes)) if classes >= 2 => classes,
        (_, _) => return Err("give --classes (2 or more) for a classifier".into()),
    };
    let plan = training::build(&request.training, &owners, features, outputs).map_err(|e| e.to_string())?;
    let mut parties: Vec<String> = SERVERS.iter().chain([&PRODUCER]).map(|s| s.to_string()).collect();
    let mut parts = BTreeMap::new();
    for (owner, path) in &request.data {
        parties.push(owner.clone());
        let source = InputSource::Table {
            path: path.clone(),
            label_column: request.label_column.clone(),
            features: "features".into(),
            labels: "labels".into(),
            classes: (outputs > 1).then_some(outputs),
        };
        parts.insert(owner.clone(), PartyRequest { inputs: vec![source], outputs: None });
    }
    parties.push(MODEL_OWNER.to_string());
    parts.insert(MODEL_OWNER.to_string(), PartyRequest { inputs: Vec::new(), outputs: request.out.clone() });
    Ok(Launch { graph: plan.graph, parties, parts, timeout })
}
