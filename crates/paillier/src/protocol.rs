//! Encrypted linear prediction between a client and a server.
//!
//! 1. The client encrypts its rows of features under its own key and sends
//!    the public key, a declared bound on |x|, and the ciphertexts.
//! 2. The server checks that its model cannot overflow the key for inputs
//!    within the bound, computes Enc(x)·W + b with plaintext multiplies and
//!    ciphertext additions, re-randomises every score (so the reply reveals
//!    nothing but the scores, not how they were computed), and replies.
//! 3. The client decrypts; for logistic regression it applies the sigmoid.
//!
//! The server never sees the features; the client sees only the scores.

use serde::{Deserialize, Serialize};

use crate::encoding::FixedPoint;
use crate::error::{PaillierError, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::linear::EncryptedMatrix;
use crate::pool::RandomnessPool;
use crate::wire::VERSION;

/// What the model computes from its scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Scores as they are.
    Linear,
    /// sigmoid(score), applied by the client after decryption.
    Logistic,
}

/// A linear or logistic regression model: `weights[feature][output]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    pub kind: ModelKind,
    pub weights: Vec<Vec<f64>>,
    pub bias: Vec<f64>,
}

impl LinearModel {
    /// Reads the JSON weights file `{"kind": "linear"|"logistic",
    /// "weights": [[...] per feature], "bias": [...]}`, checking its shape.
    pub fn from_json(text: &str) -> Result<LinearModel> {
        let model: LinearModel = serde_json::from_str(text)
            .map_err(|e| PaillierError::Malformed { what: "model", reason: e.to_string() })?;
        let outputs = model.bias.len();
        let malformed = |reason: String| PaillierError::Malformed { what: "model", reason };
        if model.weights.is_empty() || outputs == 0 {
            return Err(malformed("a model needs weights and a bias".into()));
        }
        if let Some(row) = model.weights.iter().position(|r| r.len() != outputs) {
            return Err(malformed(format!(
                "weights row {row} has {} values, the bias {outputs}",
                model.weights[row].len()
            )));
        }
        if model.weights.iter().flatten().chain(&model.bias).any(|v| !v.is_finite()) {
            return Err(malformed("weights and bias must be finite".into()));
        }
        Ok(model)
    }

    pub fn features(&self) -> usize {
        self.weights.len()
    }

    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// The plaintext prediction (the reference).
    pub fn predict(&self, x: &[f64]) -> Vec<f64> {
        let rows = x.len() / self.features();
        let mut out = Vec::with_capacity(rows * self.outputs());
        for row in x.chunks(self.features()) {
            for (output, bias) in self.bias.iter().enumerate() {
                let score: f64 =
                    row.iter().zip(&self.weights).map(|(v, w)| v * w[output]).sum::<f64>() + bias;
                out.push(self.finish(score));
            }
        }
        out
    }

    fn finish(&self, score: f64) -> f64 {
        match self.kind {
            ModelKind::Linear => score,
            ModelKind::Logistic => 1.0 / (1.0 + (-score).exp()),
        }
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
    kind: ModelKind,
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
        Ok(postcard::to_allocvec(&request).expect("serialises"))
    }

    /// The predictions in a response: scores, or probabilities for a
    /// logistic model; row-major, rows × outputs.
    pub fn read(&self, response: &[u8]) -> Result<Vec<f64>> {
        let response: Response = postcard::from_bytes(response).map_err(|e| malformed("response", e))?;
        if response.version != VERSION {
            return Err(malformed("response", format!("format version {}", response.version)));
        }
        let scores = EncryptedMatrix::from_bytes(self.key.public_key(), &response.scores)?;
        let values = scores.decrypt(&self.key);
        Ok(match response.kind {
            ModelKind::Linear => values,
            ModelKind::Logistic => values.into_iter().map(|s| 1.0 / (1.0 + (-s).exp())).collect(),
        })
    }
}

/// The server: holds the model and a stock of randomness for replies.
pub struct Server {
    model: LinearModel,
    format: FixedPoint,
    pool: Option<RandomnessPool>,
}

impl Server {
    pub fn new(model: LinearModel, format: FixedPoint) -> Server {
        Server { model, format, pool: None }
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
        let max_weight = self.model.weights.iter().flatten().fold(0.0, |m: f64, w| m.max(w.abs()));
        let max_bias = self.model.bias.iter().fold(0.0, |m: f64, b| m.max(b.abs()));
        self.format.check_dot_product(&key, features.columns, request.max_abs_input, max_weight, max_bias)?;
        let weights: Vec<f64> = self.model.weights.iter().flatten().copied().collect();
        let mut scores = features.matmul_plain(
            &key,
            self.format,
            &weights,
            self.model.outputs(),
            Some(&self.model.bias),
        )?;
        let count = scores.values.len();
        let randomizers = match self.pool.as_mut() {
            Some(pool) if pool_matches(pool, &key) => pool.take(&key, count)?,
            _ => RandomnessPool::new(&key, count)?.take(&key, count)?,
        };
        scores.rerandomize(&key, randomizers)?;
        let response = Response { version: VERSION, kind: self.model.kind, scores: scores.to_bytes(&key) };
        Ok(postcard::to_allocvec(&response).expect("serialises"))
    }
}

fn pool_matches(pool: &RandomnessPool, key: &PublicKey) -> bool {
    pool.key() == key.modulus()
}
