//! How the command prints a job's outcome for a person: byte counts in
//! human units, long lists cut with "showing N of M". (With `--json` it
//! prints the job's own record, exact counts in docs/benchmarks.md's
//! formats: the same record Python returns.)

use std::fmt::Write;

use blindfold_jobs::predict::FilePrediction;
use blindfold_jobs::predict_paillier::Prediction as PaillierPrediction;
use blindfold_jobs::train::TrainOutcome;
use blindfold_network::control::Holdings;
use blindfold_network::launcher::Launched;
use blindfold_runtime::Protocol;

/// Rows shown before a list is cut.
const SHOWN: usize = 5;

/// `bytes` in decimal units, three figures: "812 B", "3.70 MB", "34.3 MB", "635 kB".
pub fn bytes(count: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = count as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{count} B"),
        _ if value < 10.0 => format!("{value:.2} {}", UNITS[unit]),
        _ if value < 100.0 => format!("{value:.1} {}", UNITS[unit]),
        _ => format!("{value:.0} {}", UNITS[unit]),
    }
}

/// "the first 5 inputs" / "showing 5 of 16 inputs" / "all 3 inputs".
fn showing(shown: usize, total: usize, what: &str) -> String {
    if shown < total { format!("showing {shown} of {total} {what}") } else { format!("all {total} {what}") }
}

/// How the text names a protocol.
fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Pond => "Pond",
        Protocol::Replicated => "replicated secret sharing among three servers",
        Protocol::PlaintextFixed => "Pond's fixed point in the clear (plaintext-fixed)",
        Protocol::PlaintextFloat => "f64 in the clear (plaintext-f64)",
    }
}

/// What the input-independent bytes are: Pond's producer material, the
/// replicated servers' key setup.
fn offline_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Replicated => "of key setup (no producer)",
        _ => "of producer material",
    }
}

/// A private prediction, as text.
pub fn prediction_text(outcome: &FilePrediction) -> String {
    let p = &outcome.prediction;
    let mut text = String::new();
    let protocol = protocol_name(p.protocol);
    let _ = writeln!(text, "blindfold: private prediction with {protocol} (all parties in this process)");
    let _ = writeln!(
        text,
        "  model {} (the owner's weights stay shared); {} input(s) in {} batch(es)",
        outcome.model, p.inputs, p.batches
    );
    let _ = writeln!(text, "  read {} row(s) from {}", outcome.rows_read, outcome.input);
    if !p.comparison_widths.is_empty() {
        let widths: Vec<String> =
            p.comparison_widths.iter().map(|(bits, count)| format!("{count} on {bits} bits")).collect();
        let _ = writeln!(text, "  comparisons calibrated on the owner's sample: {}", widths.join(", "));
    }
    if p.softmax_removed {
        let _ = writeln!(
            text,
            "  the model's final Softmax is the client's: it is applied to the revealed logits in the clear"
        );
    }
    let shown = outcome.classes.len().min(SHOWN);
    let _ =
        writeln!(text, "\nwhat the client learned ({}):", showing(shown, outcome.classes.len(), "inputs"));
    for (index, class) in outcome.classes.iter().enumerate().take(shown) {
        let mut shown_outputs = Vec::new();
        for output in &p.named {
            let row = output.values.index_axis(ndarray::Axis(0), index);
            let values: Vec<String> = row
                .iter()
                .take(10)
                .map(|v| if output.integer { format!("{v}") } else { format!("{v:.3}") })
                .collect();
            let more = if row.len() > 10 { format!(", … ({} values)", row.len()) } else { String::new() };
            shown_outputs.push(format!("{} [{}{more}]", output.name, values.join(", ")));
        }
        let _ = writeln!(text, "  input {index}: class {class}  {}", shown_outputs.join("  "));
    }
    if let Some(accuracy) = outcome.accuracy {
        let _ = writeln!(text, "\naccuracy {:.2}%", accuracy * 100.0);
    }
    if let Some(plaintext) = outcome.plaintext_accuracy {
        let _ = writeln!(text, "plaintext accuracy {:.2}%", plaintext * 100.0);
    }
    if let Some(agreement) = outcome.plaintext_agreement {
        let _ = writeln!(text, "agreement with the plaintext model {:.2}%", agreement * 100.0);
    }
    if !p.received.is_empty() {
        let _ = writeln!(
            text,
            "\nwhat each party received (sizes only; the servers see shares and masked values):"
        );
        for (party, count) in &p.received {
            let _ = writeln!(text, "  {party:<18} {:>12}", bytes(*count));
        }
    }
    let _ = write!(
        text,
        "\ntime {:.3} s ({:.2} ms per input), {} online + {} {}, {} rounds per batch",
        p.wall_s,
        p.wall_s * 1e3 / p.inputs.max(1) as f64,
        bytes(p.bytes_sent),
        bytes(p.offline_bytes),
        offline_name(p.protocol),
        p.rounds
    );
    text
}

/// An encrypted prediction, as text.
pub fn paillier_text(p: &PaillierPrediction) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "blindfold: encrypted prediction with Paillier ({}-bit key, {} kernel)",
        p.key_bits, p.kernel
    );
    let _ = writeln!(
        text,
        "  the client read {} row(s) from {} and encrypted them; the server scored them with {}; only the client can decrypt",
        p.rows, p.input, p.model
    );
    let rows = p.rows_of_outputs();
    let shown = rows.len().min(SHOWN);
    let _ = writeln!(text, "\nwhat the client learned ({}):", showing(shown, rows.len(), "rows"));
    for (row, outputs) in rows.iter().take(shown).enumerate() {
        let label = p.result.labels.as_ref().map(|l| format!("label {}  ", l[row])).unwrap_or_default();
        let values: Vec<String> = outputs.iter().take(10).map(|v| format!("{v:.6}")).collect();
        let _ = writeln!(text, "  row {row}: {label}{} [{}]", p.score_output, values.join(", "));
    }
    let _ = writeln!(text, "\nmax |private - plaintext| = {:.2e}", p.max_difference());
    let _ = writeln!(
        text,
        "key generation {:.1} ms; client encrypt {:.1} ms, server {:.1} ms, client decrypt {:.1} ms: {:.2} ms per prediction",
        p.keygen_s * 1e3,
        p.encrypt_s * 1e3,
        p.server_s * 1e3,
        p.decrypt_s * 1e3,
        p.wall_s() * 1e3 / p.rows.max(1) as f64
    );
    let _ = write!(
        text,
        "bytes: {} client -> server, {} server -> client",
        bytes(p.bytes_to_server as u64),
        bytes(p.bytes_to_client as u64)
    );
    text
}

/// A training run, as text.
pub fn training_text(o: &TrainOutcome, out: Option<&std::path::Path>) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "blindfold: private training with {} (all parties in this process)",
        protocol_name(o.protocol)
    );
    let owners: Vec<String> = o.owners.iter().map(|(owner, rows)| format!("{owner} ({rows} rows)")).collect();
    let _ = writeln!(
        text,
        "  {} on {} rows from {}; {} epochs, {} SGD steps",
        if o.architecture { "the ONNX model's architecture" } else { o.kind.name() },
        o.rows,
        owners.join(", "),
        o.epochs,
        o.steps
    );
    if let Some(p) = &o.privacy {
        let _ = writeln!(
            text,
            "  DP-SGD: each example's gradient clipped to {}, noise σ = {} (half from each server): (ε = {:.3}, δ = {:e}) for the released model ({} steps at sampling rate {:.4}; ε = {:.3} against a server colluding with the model owner)",
            p.max_grad_norm,
            p.noise_multiplier,
            p.epsilon,
            p.delta,
            p.steps,
            p.sampling_rate,
            p.epsilon_colluding
        );
    }
    if !o.losses.is_empty() {
        let shown: Vec<String> = o.losses.iter().map(|l| format!("{l:.4}")).collect();
        let _ = writeln!(
            text,
            "  mean squared error per epoch (revealed to the model owner): {}",
            shown.join(", ")
        );
    }
    if let (Some(rows), Some((private, twin))) = (o.test_rows, o.test_metric) {
        let what = if o.regression { "R²" } else { "accuracy" };
        let _ = writeln!(text, "\ntest {what} on {rows} rows:");
        let _ = writeln!(text, "  private ({:<10})        {private:.4}", o.protocol.name());
        let _ = writeln!(text, "  plaintext twin (f64)        {twin:.4}");
    }
    if let Some(out) = out {
        let _ = writeln!(text, "\nthe model owner's model: {}", out.display());
    }
    let _ = write!(
        text,
        "\ntime {:.2} s (plaintext twin {:.3} s), {} online + {} {}, {} rounds",
        o.wall_s,
        o.plaintext_s,
        bytes(o.bytes_sent),
        bytes(o.offline_bytes),
        offline_name(o.protocol),
        o.rounds
    );
    text
}

/// The operator's summary of a launched session.
pub fn launched_text(launched: &Launched) -> String {
    let report = &launched.report;
    let mut text = format!(
        "session {:016x} (graph {}): {:.3} s, {} online + {} offline, {} rounds\n",
        launched.session,
        launched.hash,
        report.wall_s,
        bytes(report.bytes_sent),
        bytes(report.offline_bytes_sent),
        report.rounds
    );
    for (party, files) in &launched.outputs {
        let _ = writeln!(text, "{party} wrote, on its own disk: {}", files.join(", "));
    }
    text
}

/// One worker's holdings, as a line.
pub fn status_line(party: &str, h: &Holdings) -> String {
    format!(
        "{party}: {} connections ({} in their handshake), {} sessions, {} mailboxes holding {}, {} threads",
        h.connections,
        h.handshaking,
        h.sessions,
        h.mailboxes,
        bytes(h.buffered_bytes as u64),
        h.threads.map_or("?".to_string(), |t| t.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_in_human_units() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(3_700_000), "3.70 MB");
        assert_eq!(bytes(34_300_000), "34.3 MB");
        assert_eq!(bytes(3_360_000_000), "3.36 GB");
        assert_eq!(bytes(635_040), "635 kB");
        assert_eq!(showing(5, 16, "inputs"), "showing 5 of 16 inputs");
        assert_eq!(showing(3, 3, "rows"), "all 3 rows");
    }
}
