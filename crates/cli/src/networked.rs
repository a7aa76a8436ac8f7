//! The CLI's side of networked sessions: how a worker reads its inputs from
//! its own disk (the file formats of `blindfold predict`, an ONNX model's
//! weights), and `blindfold run predict`: build the prediction graph, launch
//! it on the workers, report where the client's outputs went.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use blindfold_ir::Graph;
use blindfold_network::Config;
use blindfold_network::control::{InputSource, PartyRequest};
use blindfold_network::launcher::{Launch, Launched, launch};
use blindfold_network::worker::{InputReader, WantedInput};
use blindfold_onnx::{ImportOptions, ImportedModel, SigmoidMethod, import};
use blindfold_protocols::pond::{PRODUCER, SERVERS};
use ndarray::{ArrayD, Axis, IxDyn};
use serde_json::json;

use crate::input::read_array;

/// A model's weights as last read: (modified, length, weights).
type WeightsCache = Mutex<HashMap<PathBuf, (SystemTime, u64, Arc<HashMap<String, ArrayD<f64>>>)>>;

/// How a worker reads an input source from its disk. A model's weights are
/// kept between sessions until its file changes.
pub fn input_reader() -> Arc<InputReader> {
    let cache: WeightsCache = Mutex::new(HashMap::new());
    Arc::new(move |path: &Path, source: &InputSource, wanted: &[WantedInput]| {
        read_source(path, source, wanted, &cache)
    })
}

/// The weights of the ONNX model at `path`, from `cache` if unchanged.
fn model_weights(path: &Path, cache: &WeightsCache) -> Result<Arc<HashMap<String, ArrayD<f64>>>, String> {
    let file = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let metadata = std::fs::metadata(path).map_err(|e| format!("{file}: {e}"))?;
    let stamp = (metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH), metadata.len());
    if let Some((modified, length, weights)) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(path)
        && (*modified, *length) == stamp
    {
        return Ok(Arc::clone(weights));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{file}: {e}"))?;
    let weights =
        Arc::new(import(&bytes, ImportOptions::default()).map_err(|e| format!("{file}: {e}"))?.weights);
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(path.to_path_buf(), (stamp.0, stamp.1, Arc::clone(&weights)));
    Ok(weights)
}

fn read_source(
    path: &Path,
    source: &InputSource,
    wanted: &[WantedInput],
    cache: &WeightsCache,
) -> Result<HashMap<String, ArrayD<f64>>, String> {
    let file = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    match source {
        InputSource::Array { input, scale, rows, .. } => {
            let shape = &wanted
                .iter()
                .find(|(name, _)| name == input)
                .ok_or_else(|| format!("the graph has no input '{input}' of this party"))?
                .1;
            let mut array = read_array(path).map_err(|e| e.replace(&path.display().to_string(), &file))?;
            if let Some((first, count)) = rows {
                let available = array.shape().first().copied().unwrap_or(0);
                if first + count > available {
                    return Err(format!("{file}: rows {first}..{} asked, it has {available}", first + count));
                }
                array = array.slice_axis(Axis(0), (*first..first + count).into()).to_owned();
            }
            if let Some(scale) = scale {
                array.mapv_inplace(|v| v * scale);
            }
            let expected: usize = shape.iter().product();
            if array.len() != expected {
                return Err(format!(
                    "{file}: {} values (shape {:?}), input '{input}' takes shape {shape:?}",
                    array.len(),
                    array.shape()
                ));
            }
            let array = array.into_shape_with_order(IxDyn(shape)).map_err(|e| format!("{file}: {e}"))?;
            Ok(HashMap::from([(input.clone(), array)]))
        }
        InputSource::ModelWeights { .. } => {
            let weights: HashMap<String, ArrayD<f64>> = model_weights(path, cache)?
                .iter()
                .filter(|(name, _)| wanted.iter().any(|(w, _)| w == *name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            if weights.is_empty() {
                return Err(format!("{file}: none of its weights is an input of the graph"));
            }
            Ok(weights)
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

/// A networked prediction.
pub struct PredictRequest {
    pub model: PathBuf,
    /// The model file on the model owner's disk (in its data folder).
    pub weights: String,
    /// The client's inputs on its disk (in its data folder).
    pub input: String,
    pub scale: Option<f64>,
    pub batch: usize,
    /// The first row of the client's file to predict.
    pub first: usize,
    /// Where the client writes its outputs (in its data folder).
    pub out: Option<String>,
    pub sigmoid: SigmoidMethod,
    pub comparison_bits: Option<u32>,
    pub timeout: Option<Duration>,
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
                    rows: Some((request.first, request.batch)),
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

/// Launches any graph file: `PARTY:INPUT=PATH` inputs, read by their owners.
pub fn run_graph(
    config: &Config,
    operator: &str,
    graph: Graph,
    inputs: &[String],
    out: Option<String>,
    timeout: Option<Duration>,
) -> Result<Launched, String> {
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
    launch(config, operator, Launch { graph, parties, parts, timeout: timeout.unwrap_or(config.timeout) })
        .map_err(|e| e.to_string())
}
