//! Sessions launched on running workers (`blindfold run`, Python's
//! `Graph.run(parties=...)`): the graph a job runs, each party's part (the
//! files its own worker reads, where its outputs go), as typed requests.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use blindfold_ir::parties::{MODEL_OWNER, PREDICTION_CLIENT};
use blindfold_ir::{Graph, Op};
use blindfold_ml::training::{self, ModelKind, TrainingConfig};
use blindfold_network::Config;
use blindfold_network::control::{
    InputRange, InputSource, OverflowCheck, PartyRequest, SecretSharing, TableShape,
};
use blindfold_network::launcher::{Launch, Launched, describe};
use blindfold_onnx::{ImportOptions, ImportedModel, SigmoidMethod, import};
use serde_json::json;

use crate::error::{JobError, Result};

/// The prediction graph `blindfold run predict` and `blindfold graph build`
/// make from an ONNX model.
pub fn prediction_graph(
    model: &Path,
    batch: usize,
    sigmoid: SigmoidMethod,
    comparison_bits: Option<u32>,
) -> Result<ImportedModel> {
    let bytes = std::fs::read(model).map_err(|e| JobError::file(model, e))?;
    import(&bytes, ImportOptions { batch, sigmoid, comparison_bits, ..ImportOptions::default() })
        .map_err(|source| JobError::Model { file: model.display().to_string(), source })
}

/// Where a networked prediction's files are: the model's weights on the
/// owner's disk, the rows on the client's (the model's batch of them).
pub struct PredictionLaunch {
    /// The model file on the model owner's disk (in its data folder).
    pub weights: String,
    /// The client's inputs on its disk (in its data folder).
    pub input: String,
    pub scale: Option<f64>,
    /// The first row of the client's file to predict.
    pub first: usize,
    /// Where the client writes its outputs (in its data folder).
    pub out: Option<String>,
    /// The range every (scaled) input value lies in: the client's worker
    /// checks its rows against it, the owner's bounds the model on it.
    pub input_range: Option<(f64, f64)>,
    /// Run without the overflow check (the operator accepts the risk).
    pub accept_overflow_risk: bool,
}

/// Every party of a Pond prediction: Pond's three, the owner, the client.
pub fn prediction_parties() -> Vec<String> {
    prediction_parties_for(SecretSharing::Pond)
}

/// Every party of a prediction under `protocol`: its servers, the owner,
/// the client.
pub fn prediction_parties_for(protocol: SecretSharing) -> Vec<String> {
    protocol.servers().iter().chain([&MODEL_OWNER, &PREDICTION_CLIENT]).map(|s| s.to_string()).collect()
}

/// The session a prediction launches: the owner's worker reads the model's
/// weights, the client's its rows; only the client receives. Without an
/// input range the overflow check has nothing to bound the model on: an
/// error, unless the operator accepts the risk.
pub fn prediction_launch(
    model: &ImportedModel,
    request: &PredictionLaunch,
    timeout: Duration,
    protocol: SecretSharing,
) -> Result<Launch> {
    let overflow = match (request.input_range, request.accept_overflow_risk) {
        (_, true) => OverflowCheck::Accepted,
        (Some((low, high)), false) => {
            let range = InputRange { party: PREDICTION_CLIENT.into(), input: model.input.clone(), low, high };
            OverflowCheck::Ranges(vec![checked_range(range)?])
        }
        (None, false) => {
            return Err(JobError::Invalid(
                "give the range of the client's (scaled) input values, --input-range LOW:HIGH (e.g. 0:1 for \
                 pixels scaled by 1/255), so that the model owner's worker can check that fixed point holds the \
                 model; or --accept-overflow-risk"
                    .into(),
            ));
        }
    };
    let parts = BTreeMap::from([
        (
            MODEL_OWNER.to_string(),
            PartyRequest {
                inputs: vec![InputSource::ModelWeights { path: request.weights.clone() }],
                outputs: None,
            },
        ),
        (
            PREDICTION_CLIENT.to_string(),
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
    Ok(Launch {
        graph: model.graph.clone(),
        parties: prediction_parties_for(protocol),
        parts,
        timeout,
        overflow,
        protocol,
    })
}

/// A declared range of finite numbers, low ≤ high.
fn checked_range(range: InputRange) -> Result<InputRange> {
    if range.low.is_finite() && range.high.is_finite() && range.low <= range.high {
        return Ok(range);
    }
    Err(JobError::Invalid(format!(
        "the range [{}, {}] of {}'s input '{}' is not a range of finite numbers",
        range.low, range.high, range.party, range.input
    )))
}

/// `LOW:HIGH`: a prediction input's declared range.
pub fn parse_low_high(text: &str) -> Result<(f64, f64)> {
    let number = |part: &str| part.trim().parse::<f64>().ok();
    match text.split_once(':').and_then(|(low, high)| Some((number(low)?, number(high)?))) {
        Some(range) => Ok(range),
        None => Err(JobError::Invalid(format!("'{text}': expected LOW:HIGH"))),
    }
}

/// `PARTY:INPUT=LOW:HIGH`: a graph input's declared range.
pub fn parse_input_range(text: &str) -> Result<InputRange> {
    let invalid = || JobError::Invalid(format!("'{text}': expected PARTY:INPUT=LOW:HIGH"));
    let (name, numbers) = text.split_once('=').ok_or_else(invalid)?;
    let (party, input) =
        name.split_once(':').filter(|(p, i)| !p.is_empty() && !i.is_empty()).ok_or_else(invalid)?;
    let (low, high) = parse_low_high(numbers).map_err(|_| invalid())?;
    Ok(InputRange { party: party.into(), input: input.into(), low, high })
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

/// The operator to act as: the one given, or the file's only operator.
pub fn operator(config: &Config, given: Option<String>) -> Result<String> {
    match (given, config.operators.keys().collect::<Vec<_>>().as_slice()) {
        (Some(name), _) => Ok(name),
        (None, [only]) => Ok((*only).clone()),
        (None, []) => Err(JobError::Invalid(format!(
            "{}: no [operators.NAME] to launch sessions as",
            config.path.display()
        ))),
        (None, many) => Err(JobError::Invalid(format!(
            "{} names several operators ({}): choose one (--as NAME)",
            config.path.display(),
            many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// One graph input a party's worker reads from its own disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphInput {
    pub party: String,
    pub input: String,
    /// The file, inside the party's data folder.
    pub path: String,
}

impl std::str::FromStr for GraphInput {
    type Err = JobError;

    /// `PARTY:INPUT=PATH`, as the command line writes it.
    fn from_str(text: &str) -> Result<GraphInput> {
        let parsed = text.split_once(':').and_then(|(party, rest)| {
            rest.split_once('=').map(|(input, path)| (party.to_string(), input.to_string(), path.to_string()))
        });
        match parsed.filter(|(p, i, f)| !p.is_empty() && !i.is_empty() && !f.is_empty()) {
            Some((party, input, path)) => Ok(GraphInput { party, input, path }),
            None => Err(JobError::Invalid(format!("'{text}': expected PARTY:INPUT=PATH"))),
        }
    }
}

/// How a graph launch is checked for overflow: declared input ranges, or
/// the operator's acceptance of the risk.
#[derive(Clone, Debug, Default)]
pub struct OverflowOptions {
    pub ranges: Vec<InputRange>,
    pub accept_risk: bool,
}

/// The session of any graph: `PARTY:INPUT=PATH` inputs, read by their
/// owners; outputs into `out` in each receiver's data folder. Unless the
/// risk is accepted, some party must know every input (its own exactly,
/// the rest by a declared range), so that it can check the graph.
pub fn graph_launch(
    graph: Graph,
    inputs: &[GraphInput],
    out: Option<String>,
    timeout: Duration,
    overflow: &OverflowOptions,
    protocol: SecretSharing,
) -> Result<Launch> {
    let mut parties: Vec<String> = protocol.servers().iter().map(|s| s.to_string()).collect();
    for party in graph.parties() {
        if !parties.contains(&party) {
            parties.push(party);
        }
    }
    let mut parts: BTreeMap<String, PartyRequest> = parties
        .iter()
        .map(|party| (party.clone(), PartyRequest { inputs: Vec::new(), outputs: out.clone() }))
        .collect();
    for GraphInput { party, input, path } in inputs {
        let part = parts.get_mut(party).ok_or_else(|| {
            JobError::Invalid(format!("input '{input}': '{party}' is not a party of the graph"))
        })?;
        part.inputs.push(InputSource::Array {
            input: input.clone(),
            path: path.clone(),
            scale: None,
            rows: None,
        });
    }
    let overflow = if overflow.accept_risk {
        OverflowCheck::Accepted
    } else {
        let ranges = overflow.ranges.iter().cloned().map(checked_range).collect::<Result<Vec<_>>>()?;
        let inputs: Vec<(String, String)> = graph
            .nodes()
            .iter()
            .filter_map(|node| match &node.op {
                Op::Input { party, name } => Some((party.clone(), name.clone())),
                _ => None,
            })
            .collect();
        let unranged = |party: &str| {
            inputs
                .iter()
                .filter(|(p, i)| p != party && !ranges.iter().any(|r| &r.party == p && &r.input == i))
                .map(|(p, i)| format!("{p}:{i}"))
                .collect::<Vec<_>>()
        };
        if !parties.iter().any(|party| unranged(party).is_empty()) {
            let missing = parties.iter().map(|p| unranged(p)).min_by_key(Vec::len).unwrap_or_default();
            return Err(JobError::Invalid(format!(
                "no party knows every input to check the graph for overflow: declare the range of {} \
                 (--input-range PARTY:INPUT=LOW:HIGH), or --accept-overflow-risk",
                missing.join(", ")
            )));
        }
        OverflowCheck::Ranges(ranges)
    };
    Ok(Launch { graph, parties, parts, timeout, overflow, protocol })
}

/// A networked training run: each data owner's worker reads its own table.
pub struct TrainingLaunch {
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
    request: &TrainingLaunch,
    timeout: Duration,
    protocol: SecretSharing,
) -> Result<Launch> {
    if request.data.is_empty() {
        return Err(JobError::Invalid("no training data: give a data owner's table at least once".into()));
    }
    let mut owners = Vec::new();
    let mut first: Option<(String, TableShape)> = None;
    for (owner, path) in &request.data {
        let shape = describe(config, operator, owner, path)?;
        match &first {
            Some((first_owner, first_shape))
                if (first_shape.columns, &first_shape.header) != (shape.columns, &shape.header) =>
            {
                return Err(JobError::Invalid(format!(
                    "{owner}'s {path} has {} columns{}, {first_owner}'s has {}{}: every owner must have the same columns",
                    shape.columns,
                    shape.header.as_ref().map(|h| format!(" ({})", h.join(","))).unwrap_or_default(),
                    first_shape.columns,
                    first_shape.header.as_ref().map(|h| format!(" ({})", h.join(","))).unwrap_or_default(),
                )));
            }
            Some(_) => {}
            None => first = Some((owner.clone(), shape.clone())),
        }
        owners.push((owner.clone(), shape.rows));
    }
    let Some((first_owner, shape)) = first else {
        return Err(JobError::Invalid("no training data".into()));
    };
    match &shape.header {
        Some(names) if !names.contains(&request.label_column) => {
            return Err(JobError::Invalid(format!(
                "no label column '{}' in {first_owner}'s table (its header names {})",
                request.label_column,
                names.join(",")
            )));
        }
        Some(_) => {}
        None if request.label_column.parse::<usize>().is_ok_and(|i| i < shape.columns) => {}
        None => {
            return Err(JobError::Invalid(format!(
                "{first_owner}'s table has no header line (its first line is data, and stays on its worker): \
                 name the label by its column number, from 0 (it has {} columns)",
                shape.columns
            )));
        }
    }
    let columns = shape.columns;
    let features = columns - 1;
    let outputs = match (&request.training.kind, request.classes) {
        (ModelKind::LinearRegression, _) => 1,
        (ModelKind::LogisticRegression, None | Some(2)) => 1,
        (_, Some(classes)) if classes >= 2 => classes,
        (_, _) => {
            return Err(JobError::Invalid("give the number of classes (2 or more) for a classifier".into()));
        }
    };
    let plan = training::build(&request.training, &owners, features, outputs)?;
    let mut parties: Vec<String> = protocol.servers().iter().map(|s| s.to_string()).collect();
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
    // SGD's weights have no bound ahead of time: an interval analysis of
    // the unrolled steps widens past any ring. The in-process `train`
    // checks the same graph on the actual values (docs/security.md).
    Ok(Launch { graph: plan.graph, parties, parts, timeout, overflow: OverflowCheck::Accepted, protocol })
}
