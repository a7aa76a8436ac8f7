//! An encrypted prediction (Paillier): the client encrypts its rows
//! under a fresh key of its own, the server scores them with its plaintext
//! linear model, the client decrypts and finishes the scores (sigmoid,
//! softmax, labels). Both roles run in this process; the figures are per
//! role, and the bytes each way are the messages' real sizes. The model is
//! an ONNX file linear in its input (scikit-learn's linear models as
//! skl2onnx exports them, or MatMul/Gemm + Add (+ Sigmoid/Softmax)) or a
//! JSON weights file.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use blindfold_onnx::linear::{Labels, LinearPipeline, Norm, PostTransform as OnnxPost};
use blindfold_paillier::{
    ClassLabels, Client, Finish, FixedPoint, LinearModel, Normalization, PostTransform, PrivateKey, Server,
};
use serde_json::{Value, json};

use crate::error::{JobError, Result};
use crate::input::read_matrix;

/// A model for the encrypted path, and the names of the outputs it fills.
pub struct EncryptedModel {
    pub model: LinearModel,
    /// The output carrying the scores or probabilities, and the labels'.
    pub score_output: String,
    pub label_output: Option<String>,
}

/// Reads `path`: `.json` as a weights file, anything else as ONNX.
pub fn read_model(path: &Path) -> Result<EncryptedModel> {
    let file = path.display().to_string();
    let encrypted = |source| JobError::EncryptedModel { file: file.clone(), source };
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        let text = std::fs::read_to_string(path).map_err(|e| JobError::file(path, e))?;
        let model = LinearModel::from_json(&text).map_err(encrypted)?;
        return Ok(EncryptedModel { model, score_output: "scores".into(), label_output: None });
    }
    let bytes = std::fs::read(path).map_err(|e| JobError::file(path, e))?;
    let pipeline = blindfold_onnx::linear_model(&bytes)
        .map_err(|source| JobError::Model { file: file.clone(), source })?;
    from_pipeline(pipeline).map_err(encrypted)
}

/// The encrypted path's model of an ONNX linear pipeline.
pub fn from_pipeline(
    pipeline: LinearPipeline,
) -> std::result::Result<EncryptedModel, blindfold_paillier::PaillierError> {
    let post_transform = match pipeline.post_transform {
        OnnxPost::None => PostTransform::None,
        OnnxPost::Logistic => PostTransform::Logistic,
        OnnxPost::Softmax => PostTransform::Softmax,
        OnnxPost::SoftmaxZero => PostTransform::SoftmaxZero,
    };
    let labels = pipeline.labels.map(|labels| match labels {
        Labels::Integers(l) => ClassLabels::Integers(l),
        Labels::Strings(l) => ClassLabels::Strings(l),
    });
    let normalization = pipeline.normalization.map(|norm| match norm {
        Norm::L1 => Normalization::L1,
        Norm::L2 => Normalization::L2,
        Norm::Max => Normalization::Max,
    });
    let model =
        LinearModel::new(pipeline.weights, pipeline.bias, Finish { post_transform, labels, normalization })?;
    let score_output = if pipeline.score_output.is_empty() { "scores".into() } else { pipeline.score_output };
    Ok(EncryptedModel { model, score_output, label_output: pipeline.label_output })
}

/// What a run measured.
pub struct Prediction {
    pub model: String,
    pub input: String,
    pub rows: usize,
    pub score_output: String,
    pub label_output: Option<String>,
    /// The client's finished outputs (row-major, `columns` per row) and labels.
    pub result: blindfold_paillier::Prediction,
    /// The same model in the clear.
    pub plaintext: blindfold_paillier::Prediction,
    pub key_bits: u32,
    pub kernel: &'static str,
    pub keygen_s: f64,
    pub encrypt_s: f64,
    pub server_s: f64,
    pub decrypt_s: f64,
    pub bytes_to_server: usize,
    pub bytes_to_client: usize,
}

/// Rows per request: the messages of one chunk (about 5 KB per feature
/// per row at 2048 bits) stay in memory, not the whole file's.
pub const ROWS_PER_REQUEST: usize = 1000;

/// How to run an encrypted prediction.
#[derive(Clone)]
pub struct PaillierOptions {
    /// Bits of the client's modulus (2048, 3072 or 4096).
    pub key_bits: u32,
    /// Only the first rows of the input.
    pub limit: Option<usize>,
    /// Called after each request with the rows done and all rows.
    pub progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
}

impl Default for PaillierOptions {
    fn default() -> PaillierOptions {
        PaillierOptions { key_bits: 2048, limit: None, progress: None }
    }
}

/// The client encrypts `input`'s rows under a fresh key, the server scores
/// them with the model at `model_path`, the client decrypts: in requests
/// of [`ROWS_PER_REQUEST`] rows, beside the plaintext model.
pub fn run(model_path: &Path, input: &Path, options: &PaillierOptions) -> Result<Prediction> {
    let encrypted = read_model(model_path)?;
    let model = encrypted.model;
    let mut x = read_matrix(input)?;
    if x.columns != model.features() {
        return Err(JobError::Invalid(format!(
            "{}: {} columns, the model takes {} features",
            input.display(),
            x.columns,
            model.features()
        )));
    }
    if let Some(limit) = options.limit.filter(|&limit| limit < x.rows) {
        x.rows = limit;
        x.values.truncate(limit * x.columns);
    }
    let format = FixedPoint::default();
    let started = Instant::now();
    let key = PrivateKey::generate(options.key_bits)?;
    let keygen_s = started.elapsed().as_secs_f64();
    let kernel = key.public_key().kernel().name();
    let client = Client::new(key.clone(), format);
    let mut server = Server::new(model.clone());
    let (mut encrypt_s, mut server_s, mut decrypt_s) = (0.0, 0.0, 0.0);
    let (mut bytes_to_server, mut bytes_to_client) = (0, 0);
    let mut result = blindfold_paillier::Prediction { outputs: Vec::new(), columns: 0, labels: None };
    for (index, rows) in x.values.chunks(ROWS_PER_REQUEST * x.columns.max(1)).enumerate() {
        let count = rows.len() / x.columns.max(1);
        let started = Instant::now();
        let request = client.request(rows, count, x.columns)?;
        encrypt_s += started.elapsed().as_secs_f64();
        let started = Instant::now();
        let response = server.respond(&request)?;
        server_s += started.elapsed().as_secs_f64();
        let started = Instant::now();
        let part = client.read(&response)?;
        decrypt_s += started.elapsed().as_secs_f64();
        (bytes_to_server, bytes_to_client) =
            (bytes_to_server + request.len(), bytes_to_client + response.len());
        result.columns = part.columns;
        result.outputs.extend(part.outputs);
        if let Some(labels) = part.labels {
            result.labels.get_or_insert_with(Vec::new).extend(labels);
        }
        if let Some(progress) = &options.progress {
            progress((index * ROWS_PER_REQUEST + count).min(x.rows), x.rows);
        }
    }
    Ok(Prediction {
        model: model_path.display().to_string(),
        input: input.display().to_string(),
        rows: x.rows,
        score_output: encrypted.score_output,
        label_output: encrypted.label_output,
        plaintext: model.predict(&x.values),
        result,
        key_bits: options.key_bits,
        kernel,
        keygen_s,
        encrypt_s,
        server_s,
        decrypt_s,
        bytes_to_server,
        bytes_to_client,
    })
}

impl Prediction {
    /// The largest difference from the plaintext model's outputs.
    pub fn max_difference(&self) -> f64 {
        self.result
            .outputs
            .iter()
            .zip(&self.plaintext.outputs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    /// The rows of the finished outputs.
    pub fn rows_of_outputs(&self) -> Vec<&[f64]> {
        self.result.outputs.chunks(self.result.columns.max(1)).collect()
    }

    /// The record of an encrypted prediction, every output by name (the
    /// same for the CLI and Python).
    pub fn record(&self) -> Value {
        let p = self;
        let mut outputs = serde_json::Map::new();
        outputs.insert(p.score_output.clone(), json!(p.rows_of_outputs()));
        if let (Some(name), Some(labels)) = (&p.label_output, &p.result.labels) {
            outputs.insert(name.clone(), json!(labels));
        }
        let agreement = match (&p.result.labels, &p.plaintext.labels) {
            (Some(a), Some(b)) => {
                json!(a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / p.rows.max(1) as f64)
            }
            _ => json!(null),
        };
        json!({
            "model": p.model,
            "protocol": "paillier",
            "transport": "in-process",
            "inputs": p.rows,
            "rows_read": p.rows,
            "outputs": outputs,
            "labels": p.result.labels,
            "plaintext_agreement": agreement,
            "wall_s": p.wall_s(),
            "bytes_sent": p.bytes_to_server + p.bytes_to_client,
            "rounds": 1,
            "key_bits": p.key_bits,
            "kernel": p.kernel,
            "keygen_s": p.keygen_s,
            "encrypt_s": p.encrypt_s,
            "server_s": p.server_s,
            "decrypt_s": p.decrypt_s,
            "per_prediction_s": p.wall_s() / p.rows.max(1) as f64,
            "bytes_to_server": p.bytes_to_server,
            "bytes_to_client": p.bytes_to_client,
            "max_difference_to_plaintext": p.max_difference(),
        })
    }

    /// Client-side seconds and the server's: encrypt + server + decrypt.
    pub fn wall_s(&self) -> f64 {
        self.encrypt_s + self.server_s + self.decrypt_s
    }
}
