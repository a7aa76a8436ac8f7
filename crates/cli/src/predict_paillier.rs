//! `blindfold predict --protocol paillier`: the client encrypts its rows
//! under a fresh key of its own, the server scores them with its plaintext
//! linear or logistic model, the client decrypts. Both roles run in this
//! process; the figures are per role, and the bytes each way are the
//! messages' real sizes.

use std::path::Path;
use std::time::Instant;

use blindfold_paillier::{Client, FixedPoint, LinearModel, ModelKind, PrivateKey, Server};
use serde_json::json;

use crate::input::read_matrix;

/// What a run measured.
pub struct Prediction {
    pub model: String,
    pub input: String,
    pub kind: ModelKind,
    pub rows: usize,
    pub outputs: usize,
    pub values: Vec<f64>,
    pub plaintext: Vec<f64>,
    pub key_bits: u32,
    pub keygen_s: f64,
    pub encrypt_s: f64,
    pub server_s: f64,
    pub decrypt_s: f64,
    pub bytes_to_server: usize,
    pub bytes_to_client: usize,
}

pub fn run(model_path: &Path, input: &Path, key_bits: u32) -> Result<Prediction, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(model_path).map_err(|e| format!("{}: {e}", model_path.display()))?;
    let model = LinearModel::from_json(&text).map_err(|e| format!("{}: {e}", model_path.display()))?;
    let x = read_matrix(input)?;
    if x.columns != model.features() {
        return Err(format!(
            "{}: {} columns, the model takes {} features",
            input.display(),
            x.columns,
            model.features()
        )
        .into());
    }
    let format = FixedPoint::default();
    let started = Instant::now();
    let key = PrivateKey::generate(key_bits)?;
    let keygen_s = started.elapsed().as_secs_f64();
    let client = Client::new(key.clone(), format);
    let mut server = Server::new(model.clone(), format);
    let started = Instant::now();
    let request = client.request(&x.values, x.rows, x.columns)?;
    let encrypt_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let response = server.respond(&request)?;
    let server_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let values = client.read(&response)?;
    let decrypt_s = started.elapsed().as_secs_f64();
    Ok(Prediction {
        model: model_path.display().to_string(),
        input: input.display().to_string(),
        kind: model.kind,
        rows: x.rows,
        outputs: model.outputs(),
        plaintext: model.predict(&x.values),
        values,
        key_bits,
        keygen_s,
        encrypt_s,
        server_s,
        decrypt_s,
        bytes_to_server: request.len(),
        bytes_to_client: response.len(),
    })
}

impl Prediction {
    fn wall_s(&self) -> f64 {
        self.encrypt_s + self.server_s + self.decrypt_s
    }

    /// The largest difference from the plaintext model.
    pub fn max_difference(&self) -> f64 {
        self.values.iter().zip(&self.plaintext).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
    }

    /// The record of ../shared/BENCHMARKS.md, with Paillier's figures in extra fields.
    pub fn json(&self) -> serde_json::Value {
        let predicted = classes(&self.values, self.outputs);
        let plaintext = classes(&self.plaintext, self.outputs);
        let agreement =
            predicted.iter().zip(&plaintext).filter(|(a, b)| a == b).count() as f64 / self.rows as f64;
        json!({
            "model": self.model,
            "protocol": "paillier",
            "transport": "in-process",
            "inputs": self.rows,
            "rows_read": self.rows,
            "predictions": predicted,
            "outputs": self.values.chunks(self.outputs).collect::<Vec<_>>(),
            "accuracy": null,
            "plaintext_agreement": agreement,
            "wall_s": self.wall_s(),
            "bytes_sent": self.bytes_to_server + self.bytes_to_client,
            "rounds": 1,
            "key_bits": self.key_bits,
            "keygen_s": self.keygen_s,
            "encrypt_s": self.encrypt_s,
            "server_s": self.server_s,
            "decrypt_s": self.decrypt_s,
            "per_prediction_s": self.wall_s() / self.rows as f64,
            "bytes_to_server": self.bytes_to_server,
            "bytes_to_client": self.bytes_to_client,
            "max_difference_to_plaintext": self.max_difference(),
        })
    }
}

/// Argmax per row, or the output thresholded at 0.5 for a single output.
fn classes(values: &[f64], outputs: usize) -> Vec<usize> {
    values
        .chunks(outputs)
        .map(|row| match row {
            [single] => usize::from(*single > 0.5),
            _ => row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i),
        })
        .collect()
}

impl std::fmt::Display for Prediction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "blindfold: encrypted {:?} prediction with Paillier ({}-bit key)",
            self.kind, self.key_bits
        )?;
        writeln!(
            f,
            "  the client read {} row(s) from {} and encrypted them; the server scored them with {}; only the client can decrypt",
            self.rows, self.input, self.model
        )?;
        writeln!(f, "\n{:>5} {:>14} {:>14}", "row", "private", "plaintext")?;
        for (row, (got, want)) in self.values.iter().zip(&self.plaintext).enumerate() {
            writeln!(f, "{row:>5} {got:>14.6} {want:>14.6}")?;
        }
        writeln!(f, "\nmax |private - plaintext| = {:.2e}", self.max_difference())?;
        writeln!(
            f,
            "key generation {:.1} ms; client encrypt {:.1} ms, server {:.1} ms, client decrypt {:.1} ms: {:.2} ms per prediction",
            self.keygen_s * 1e3,
            self.encrypt_s * 1e3,
            self.server_s * 1e3,
            self.decrypt_s * 1e3,
            self.wall_s() * 1e3 / self.rows as f64
        )?;
        write!(
            f,
            "bytes: {} client -> server, {} server -> client",
            self.bytes_to_server, self.bytes_to_client
        )
    }
}
