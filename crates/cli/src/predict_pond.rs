//! `blindfold predict` with Pond: an ONNX model's weights are the model
//! owner's private input, the client's inputs are shared batch by batch, and
//! only the client learns the outputs. All parties run in this process.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use blindfold_onnx::{ImportOptions, ImportedModel, SigmoidMethod, import};
use blindfold_runtime::{Protocol, Report, Session};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{ArrayD, Axis, IxDyn};
use serde_json::json;

use crate::input::read_array;

/// What to predict.
pub struct Request {
    pub model: PathBuf,
    pub input: PathBuf,
    pub batch: usize,
    /// Multiplies every input value (e.g. 1/255 for pixels).
    pub scale: Option<f64>,
    pub labels: Option<PathBuf>,
    pub compare_plaintext: bool,
    pub sigmoid: SigmoidMethod,
    /// Compare on x mod 2^bits (`None`: the whole ring).
    pub comparison_bits: Option<u32>,
    /// Only the first inputs.
    pub limit: Option<usize>,
    pub trace: Option<PathBuf>,
    pub progress: bool,
}

/// What a run found.
pub struct Outcome {
    pub model: String,
    /// The input file, and how many rows it held (all of them are counted,
    /// so that a row lost in reading would show).
    pub input: String,
    pub rows_read: usize,
    pub outputs: Vec<Vec<f64>>,
    pub predictions: Vec<usize>,
    pub accuracy: Option<f64>,
    pub plaintext_accuracy: Option<f64>,
    pub plaintext_agreement: Option<f64>,
    pub wall_s: f64,
    pub bytes_sent: u64,
    pub offline_bytes: u64,
    pub rounds_per_batch: u64,
    pub batches: usize,
    pub softmax_removed: bool,
    /// Bytes each party received, all batches: what each server saw is
    /// shares and masked values of these sizes, nothing else.
    pub received: Vec<(String, u64)>,
}

pub fn run(request: &Request) -> Result<Outcome, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(&request.model).map_err(|e| format!("{}: {e}", request.model.display()))?;
    let mut x = read_array(&request.input)?;
    if let Some(scale) = request.scale {
        x.mapv_inplace(|v| v * scale);
    }
    let rows_read = x.shape().first().copied().unwrap_or(0);
    let total = request.limit.unwrap_or(usize::MAX).min(rows_read);
    if total == 0 {
        return Err(format!("{}: no inputs", request.input.display()).into());
    }
    let labels = match &request.labels {
        Some(path) => Some(read_array(path)?.iter().map(|&v| v as usize).collect::<Vec<_>>()),
        None => None,
    };
    if labels.as_ref().is_some_and(|l| l.len() < total) {
        return Err("fewer labels than inputs".into());
    }
    let batch = request.batch.clamp(1, total);
    let mut models: HashMap<usize, ImportedModel> = HashMap::new();
    let progress = if request.progress {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} inputs, {elapsed} ({eta} left)")
                .expect("valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let (mut outputs, mut plaintext_outputs) = (Vec::new(), Vec::new());
    let (mut bytes_sent, mut offline_bytes, mut rounds) = (0, 0, 0);
    let mut first_report: Option<Report> = None;
    let mut received: Vec<(String, u64)> = Vec::new();
    for start in (0..total).step_by(batch) {
        let size = batch.min(total - start);
        if let std::collections::hash_map::Entry::Vacant(slot) = models.entry(size) {
            let imported = import(
                &bytes,
                ImportOptions {
                    batch: size,
                    sigmoid: request.sigmoid,
                    comparison_bits: request.comparison_bits,
                    ..ImportOptions::default()
                },
            )
            .map_err(|e| format!("{}: {e}", request.model.display()))?;
            slot.insert(imported);
        }
        let model = &models[&size];
        let per_input: usize = model.input_shape[1..].iter().product();
        let slice = x.slice_axis(Axis(0), (start..start + size).into()).to_owned();
        if slice.len() != size * per_input {
            return Err(format!(
                "{}: {} values per input, the model takes {:?}",
                request.input.display(),
                slice.len() / size,
                &model.input_shape[1..]
            )
            .into());
        }
        let slice = slice.into_shape_with_order(IxDyn(&model.input_shape)).expect("sizes checked");
        let result = Session::new(model.graph.clone()).run(model.inputs(slice.clone()))?;
        outputs.extend(rows(result.output("prediction-client", &model.output).expect("the client's output")));
        for party in &result.report.parties {
            match received.iter_mut().find(|(name, _)| *name == party.party) {
                Some((_, total)) => *total += party.bytes_received,
                None => received.push((party.party.clone(), party.bytes_received)),
            }
        }
        bytes_sent += result.report.bytes_sent;
        offline_bytes += result.report.offline_bytes_sent;
        rounds = rounds.max(result.report.rounds);
        if request.compare_plaintext {
            let clear = Session::new(model.graph.clone())
                .protocol(Protocol::PlaintextFloat)
                .run(model.inputs(slice))?;
            plaintext_outputs
                .extend(rows(clear.output("prediction-client", &model.output).expect("the output")));
        }
        first_report.get_or_insert(result.report);
        progress.inc(size as u64);
    }
    progress.finish_and_clear();
    let wall_s = started.elapsed().as_secs_f64();
    if let (Some(path), Some(report)) = (&request.trace, &first_report) {
        report.write_chrome_trace(path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let predictions: Vec<usize> = outputs.iter().map(|o| class(o)).collect();
    let plaintext_predictions: Vec<usize> = plaintext_outputs.iter().map(|o| class(o)).collect();
    let accuracy_of = |predicted: &[usize]| {
        labels
            .as_ref()
            .map(|l| predicted.iter().zip(l).filter(|(p, l)| p == l).count() as f64 / predicted.len() as f64)
    };
    Ok(Outcome {
        model: request.model.display().to_string(),
        input: request.input.display().to_string(),
        rows_read,
        accuracy: accuracy_of(&predictions),
        plaintext_accuracy: if request.compare_plaintext {
            accuracy_of(&plaintext_predictions)
        } else {
            None
        },
        plaintext_agreement: request.compare_plaintext.then(|| {
            predictions.iter().zip(&plaintext_predictions).filter(|(a, b)| a == b).count() as f64
                / total as f64
        }),
        outputs,
        predictions,
        wall_s,
        bytes_sent,
        offline_bytes,
        rounds_per_batch: rounds,
        batches: total.div_ceil(batch),
        softmax_removed: models.values().any(|m| m.softmax_removed),
        received,
    })
}

fn rows(output: &ArrayD<f64>) -> Vec<Vec<f64>> {
    let per_row = output.len() / output.shape().first().copied().unwrap_or(1).max(1);
    output.iter().copied().collect::<Vec<_>>().chunks(per_row.max(1)).map(|r| r.to_vec()).collect()
}

/// Argmax, or the output thresholded at 0.5 for a single output.
fn class(output: &[f64]) -> usize {
    match output {
        [single] => usize::from(*single > 0.5),
        _ => output.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i),
    }
}

impl Outcome {
    /// BENCHMARKS.md's predict record.
    pub fn json(&self) -> serde_json::Value {
        json!({
            "model": self.model,
            "protocol": "pond",
            "transport": "in-process",
            "inputs": self.predictions.len(),
            "rows_read": self.rows_read,
            "predictions": self.predictions,
            "outputs": self.outputs,
            "accuracy": self.accuracy,
            "plaintext_accuracy": self.plaintext_accuracy,
            "plaintext_agreement": self.plaintext_agreement,
            "wall_s": self.wall_s,
            "bytes_sent": self.bytes_sent + self.offline_bytes,
            "rounds": self.rounds_per_batch,
        })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "blindfold: private prediction with Pond (all parties in this process)")?;
        writeln!(
            f,
            "  model {} (the owner's weights stay shared); {} input(s) in {} batch(es)",
            self.model,
            self.predictions.len(),
            self.batches
        )?;
        writeln!(f, "  read {} row(s) from {}", self.rows_read, self.input)?;
        if self.softmax_removed {
            writeln!(f, "  the model's final Softmax is left out: the client gets the logits (same argmax)")?;
        }
        writeln!(f, "\nwhat the client learned (first inputs):")?;
        for (index, (output, class)) in self.outputs.iter().zip(&self.predictions).take(5).enumerate() {
            let shown: Vec<String> = output.iter().take(10).map(|v| format!("{v:.3}")).collect();
            writeln!(f, "  input {index}: class {class}  outputs [{}]", shown.join(", "))?;
        }
        if let Some(accuracy) = self.accuracy {
            writeln!(f, "\naccuracy {:.2}%", accuracy * 100.0)?;
        }
        if let Some(plaintext) = self.plaintext_accuracy {
            writeln!(f, "plaintext accuracy {:.2}%", plaintext * 100.0)?;
        }
        if let Some(agreement) = self.plaintext_agreement {
            writeln!(f, "agreement with the plaintext model {:.2}%", agreement * 100.0)?;
        }
        writeln!(f, "\nwhat each party received (sizes only; the servers see shares and masked values):")?;
        for (party, bytes) in &self.received {
            writeln!(f, "  {party:<18} {bytes:>14} bytes")?;
        }
        write!(
            f,
            "\ntime {:.3} s ({:.2} ms per input), {} bytes online + {} of producer material, {} rounds per batch",
            self.wall_s,
            self.wall_s * 1e3 / self.predictions.len() as f64,
            self.bytes_sent,
            self.offline_bytes,
            self.rounds_per_batch
        )
    }
}
