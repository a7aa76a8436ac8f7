//! Encrypted linear prediction between a client and a server.
//!
//! 1. The client encrypts its rows of features under its own key (DJN
//!    encryption by CRT) and sends the public key, a declared bound on |x|,
//!    and the ciphertexts.
//! 2. The server checks that its model cannot overflow the key for inputs
//!    within the bound, computes Enc(x)·W + b by multi-exponentiation (in
//!    time independent of its weights' values), re-randomises every score
//!    with a uniform r^n (so that the reply reveals nothing but the scores,
//!    not how they were computed, even to the key's owner), and replies
//!    with the scores and how to finish them (the post-transform, class
//!    labels, a normalisation).
//! 3. The client decrypts, then applies the post-transform (sigmoid,
//!    softmax) and reads the labels.
//!
//! The server never sees the features; the client sees only the scores
//! and the model's public interface (its output kind and class labels).

use serde::{Deserialize, Serialize};

use crate::encoding::{FixedPoint, WeightFormat, check_dot_product};
use crate::error::{PaillierError, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::linear::EncryptedMatrix;
use crate::pool::RandomnessPool;
use crate::wire::VERSION;

/// What the client computes from the decrypted scores (ONNX's
/// `post_transform` of linear models).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostTransform {
    /// The scores as they are.
    None,
    /// sigmoid(score) per output.
    Logistic,
    /// softmax over a row's scores.
    Softmax,
    /// softmax over a row's non-zero scores (zeros stay zero).
    SoftmaxZero,
}

/// A classifier's class labels, in output order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassLabels {
    Integers(Vec<i64>),
    Strings(Vec<String>),
}

impl ClassLabels {
    pub fn len(&self) -> usize {
        match self {
            ClassLabels::Integers(l) => l.len(),
            ClassLabels::Strings(l) => l.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Label `index` as text.
    pub fn name(&self, index: usize) -> String {
        match self {
            ClassLabels::Integers(l) => l[index].to_string(),
            ClassLabels::Strings(l) => l[index].clone(),
        }
    }
}

/// A normalisation of each row of probabilities (ONNX's `Normalizer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    L1,
    L2,
    Max,
}

/// The public part of a model: how a client finishes its scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finish {
    pub post_transform: PostTransform,
    pub labels: Option<ClassLabels>,
    pub normalization: Option<Normalization>,
}

/// A linear model: `weights[feature][output]`, `bias[output]`, and how its
/// scores are finished.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    pub weights: Vec<Vec<f64>>,
    pub bias: Vec<f64>,
    pub finish: Finish,
}

/// The JSON weights file's kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Scores as they are.
    Linear,
    /// sigmoid(score), applied by the client after decryption.
    Logistic,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonModel {
    /// Free text about the model (ignored).
    #[serde(default, rename = "description")]
    _description: Option<String>,
    kind: ModelKind,
    weights: Vec<Vec<f64>>,
    bias: Vec<f64>,
}

impl LinearModel {
    /// Reads the JSON weights file `{"kind": "linear"|"logistic",
    /// "weights": [[...] per feature], "bias": [...]}`, checking its shape.
    pub fn from_json(text: &str) -> Result<LinearModel> {
        let model: JsonModel = serde_json::from_str(text)
            .map_err(|e| PaillierError::Malformed { what: "model", reason: e.to_string() })?;
        let post_transform = match model.kind {
            ModelKind::Linear => PostTransform::None,
            ModelKind::Logistic => PostTransform::Logistic,
        };
        LinearModel::new(
            model.weights,
            model.bias,
            Finish { post_transform, labels: None, normalization: None },
        )
    }

    /// A model from its parts, checked: every weight row as long as the
    /// bias, finite values, labels matching the outputs.
    pub fn new(weights: Vec<Vec<f64>>, bias: Vec<f64>, finish: Finish) -> Result<LinearModel> {
        let malformed = |reason: String| PaillierError::Malformed { what: "model", reason };
        let outputs = bias.len();
        if weights.is_empty() || outputs == 0 {
            return Err(malformed("a model needs weights and a bias".into()));
        }
        if let Some(row) = weights.iter().position(|r| r.len() != outputs) {
            return Err(malformed(format!(
                "weights row {row} has {} values, the bias {outputs}",
                weights[row].len()
            )));
        }
        if weights.iter().flatten().chain(&bias).any(|v| !v.is_finite()) {
            return Err(malformed("weights and bias must be finite".into()));
        }
        if let Some(labels) = &finish.labels
            && labels.len() != outputs
            && !(outputs == 1 && labels.len() == 2)
        {
            return Err(malformed(format!("{} class labels for {outputs} outputs", labels.len())));
        }
        Ok(LinearModel { weights, bias, finish })
    }

    pub fn features(&self) -> usize {
        self.weights.len()
    }

    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// The scores in the clear (the reference), row-major.
    pub fn scores(&self, x: &[f64]) -> Vec<f64> {
        x.chunks(self.features())
            .flat_map(|row| {
                self.bias.iter().enumerate().map(move |(output, bias)| {
                    row.iter().zip(&self.weights).map(|(v, w)| v * w[output]).sum::<f64>() + bias
                })
            })
            .collect()
    }

    /// The plaintext prediction (the reference).
    pub fn predict(&self, x: &[f64]) -> Prediction {
        self.finish.apply(&self.scores(x), self.outputs())
    }
}

/// What a client gets: per row, the finished outputs (probabilities, or
/// scores) and, for a classifier, the label.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Row-major, `columns` per row.
    pub outputs: Vec<f64>,
    pub columns: usize,
    /// One per row, for a classifier.
    pub labels: Option<Vec<String>>,
}

impl Finish {
    /// Applies the post-transform, the binary expansion, the normalisation
    /// and the labels to decrypted `scores` (row-major, `outputs` per row).
    pub fn apply(&self, scores: &[f64], outputs: usize) -> Prediction {
        let binary = outputs == 1 && self.labels.as_ref().is_some_and(|l| l.len() == 2);
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for row in scores.chunks(outputs.max(1)) {
            // A binary classifier with one score s reads as scores (−s, s).
            let row: Vec<f64> = if binary { vec![-row[0], row[0]] } else { row.to_vec() };
            let winner =
                row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(index, _)| index);
            let mut finished = match self.post_transform {
                PostTransform::None => row,
                PostTransform::Logistic => row.iter().map(|s| 1.0 / (1.0 + (-s).exp())).collect(),
                PostTransform::Softmax => softmax(&row, false),
                PostTransform::SoftmaxZero => softmax(&row, true),
            };
            if let Some(norm) = self.normalization {
                normalize(&mut finished, norm);
            }
            if let Some(names) = &self.labels {
                labels.push(names.name(winner));
            }
            rows.push(finished);
        }
        let columns = rows.first().map_or(0, Vec::len);
        Prediction { outputs: rows.concat(), columns, labels: self.labels.as_ref().map(|_| labels) }
    }
}

fn softmax(row: &[f64], keep_zeros: bool) -> Vec<f64> {
    let counted = |v: &f64| !(keep_zeros && *v == 0.0);
    let largest = row.iter().filter(|v| counted(v)).fold(f64::NEG_INFINITY, |m, v| m.max(*v));
    let exps: Vec<f64> = row.iter().map(|v| if counted(v) { (v - largest).exp() } else { 0.0 }).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| if total > 0.0 { e / total } else { 0.0 }).collect()
}

fn normalize(row: &mut [f64], norm: Normalization) {
    let size = match norm {
        Normalization::L1 => row.iter().map(|v| v.abs()).sum::<f64>(),
        Normalization::L2 => row.iter().map(|v| v * v).sum::<f64>().sqrt(),
        Normalization::Max => row.iter().fold(0.0f64, |m, v| m.max(v.abs())),
    };
    if size > 0.0 {
        row.iter_mut().for_each(|v| *v /= size);
    }
}

#[derive(Serialize, Deserialize)]
struct Request {
    version: u16,
    public_key: Vec<u8>,
    max_abs_input: f64,
    features: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Response {
    version: u16,
    finish: Finish,
    scores: Vec<u8>,
}

fn malformed(what: &'static str, error: impl std::fmt::Display) -> PaillierError {
    PaillierError::Malformed { what, reason: error.to_string() }
}

/// The client: holds the key.
pub struct Client {
    key: PrivateKey,
    format: FixedPoint,
}

impl Client {
    pub fn new(key: PrivateKey, format: FixedPoint) -> Client {
        Client { key, format }
    }

    /// The request for `rows` rows of `features` features (row-major).
    pub fn request(&self, x: &[f64], rows: usize, features: usize) -> Result<Vec<u8>> {
        let encrypted = EncryptedMatrix::encrypt(&self.key, self.format, x, rows, features)?;
        let request = Request {
            version: VERSION,
            public_key: self.key.public_key().to_bytes(),
            max_abs_input: x.iter().fold(0.0, |m: f64, v| m.max(v.abs())),
            features: encrypted.to_bytes(self.key.public_key()),
        };
        postcard::to_allocvec(&request).map_err(|e| malformed("request", e))
    }

    /// The prediction in a response.
    pub fn read(&self, response: &[u8]) -> Result<Prediction> {
        let response: Response = postcard::from_bytes(response).map_err(|e| malformed("response", e))?;
        if response.version != VERSION {
            return Err(malformed("response", format!("format version {}", response.version)));
        }
        let scores = EncryptedMatrix::from_bytes(self.key.public_key(), &response.scores)?;
        let values = scores.decrypt(&self.key);
        Ok(response.finish.apply(&values, scores.columns))
    }
}

/// The server: holds the model and a stock of randomness for replies.
pub struct Server {
    model: LinearModel,
    weights: WeightFormat,
    pool: Option<RandomnessPool>,
}

impl Server {
    /// A server for `model`, its weights in the default [`WeightFormat`].
    pub fn new(model: LinearModel) -> Server {
        Server { model, weights: WeightFormat::default(), pool: None }
    }

    /// The same server with weights encoded in `format`.
    pub fn with_weight_format(mut self, format: WeightFormat) -> Server {
        self.weights = format;
        self
    }

    /// Precomputes `count` randomizers for `key` (the offline part of
    /// replying to that client).
    pub fn prepare(&mut self, key: &PublicKey, count: usize) -> Result<()> {
        self.pool = Some(RandomnessPool::new(key, count)?);
        Ok(())
    }

    /// Answers one request.
    pub fn respond(&mut self, request: &[u8]) -> Result<Vec<u8>> {
        let request: Request = postcard::from_bytes(request).map_err(|e| malformed("request", e))?;
        if request.version != VERSION {
            return Err(malformed("request", format!("format version {}", request.version)));
        }
        let key = PublicKey::from_bytes(&request.public_key)?;
        let features = EncryptedMatrix::from_bytes(&key, &request.features)?;
        if features.columns != self.model.features() {
            return Err(PaillierError::Shape(format!(
                "the request has {} features, the model {}",
                features.columns,
                self.model.features()
            )));
        }
        if features.fractional_bits > 64 {
            return Err(malformed(
                "request",
                format!("{} fractional bits (at most 64)", features.fractional_bits),
            ));
        }
        let inputs = FixedPoint { fractional_bits: features.fractional_bits };
        check_dot_product(&key, features.columns, inputs, request.max_abs_input, self.weights)?;
        let weights: Vec<f64> = self.model.weights.iter().flatten().copied().collect();
        let mut scores = features.matmul_plain(
            &key,
            self.weights,
            &weights,
            self.model.outputs(),
            Some(&self.model.bias),
        )?;
        let count = scores.values.len();
        let randomizers = match self.pool.as_mut() {
            Some(pool) if pool.is_for(&key) => pool.take(&key, count)?,
            _ => RandomnessPool::new(&key, count)?.take(&key, count)?,
        };
        scores.rerandomize(&key, randomizers)?;
        let response =
            Response { version: VERSION, finish: self.model.finish.clone(), scores: scores.to_bytes(&key) };
        postcard::to_allocvec(&response).map_err(|e| malformed("response", e))
    }
}
