//! The seed's private prediction, run end to end: Pond with every party in
//! this process, beside the plaintext runs of the same graph.

use blindfold_runtime::{Protocol, Report, RuntimeError, Session, SessionOptions};

use crate::seed_network::{self, CLIENT};

/// What the demo found.
pub struct Demo {
    pub batch: usize,
    /// The protocol of the main run (Pond, or a plaintext one for debugging).
    pub protocol: Protocol,
    /// The client's logits from the main run, row-major.
    pub private: Vec<f64>,
    /// The same from the fixed-point plaintext run.
    pub plaintext_fixed: Vec<f64>,
    /// The same in f64, no fixed point.
    pub plaintext_float: Vec<f64>,
    pub report: Report,
    /// The graph's content hash.
    pub graph_hash: String,
}

impl Demo {
    /// Runs the seed's network on `batch` inputs under `protocol`, and under
    /// both plaintext backends for comparison.
    pub fn run(batch: usize, protocol: Protocol, options: SessionOptions) -> Result<Demo, RuntimeError> {
        let graph = seed_network::graph(batch)?;
        let graph_hash = graph.hash();
        let inputs = seed_network::inputs(batch, 2026);
        let session = Session::new(graph).options(options);
        let logits = |protocol: Protocol| -> Result<(Vec<f64>, Report), RuntimeError> {
            let result = session.clone().protocol(protocol).run(inputs.clone())?;
            let values =
                result.output(CLIENT, "logits").expect("the graph outputs logits").iter().copied().collect();
            Ok((values, result.report))
        };
        let (private, report) = logits(protocol)?;
        let (plaintext_fixed, _) = logits(Protocol::PlaintextFixed)?;
        let (plaintext_float, _) = logits(Protocol::PlaintextFloat)?;
        Ok(Demo { batch, protocol, private, plaintext_fixed, plaintext_float, report, graph_hash })
    }

    /// The largest difference between the private and the f64 logits.
    pub fn max_error_to_float(&self) -> f64 {
        self.private.iter().zip(&self.plaintext_float).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
    }

    /// The largest difference between the private and the fixed-point
    /// plaintext logits (the protocol's own error).
    pub fn max_error_to_fixed(&self) -> f64 {
        self.private.iter().zip(&self.plaintext_fixed).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
    }
}

impl std::fmt::Display for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "blindfold: the seed's private prediction ({}, all parties in this process)",
            self.protocol.name()
        )?;
        writeln!(f, "  model-owner: weights 784-128-128-10 (private input, never leaves its shares)")?;
        writeln!(f, "  prediction-client: {} input(s) of 784 values (private input)", self.batch)?;
        writeln!(f, "  graph hash: {}\n", self.graph_hash)?;
        writeln!(f, "what the prediction client learned (logits of the first input):")?;
        let row =
            |values: &[f64]| values.iter().take(10).map(|v| format!("{v:8.4}")).collect::<Vec<_>>().join(" ");
        writeln!(f, "  {:<19} {}", format!("{}:", self.protocol.name()), row(&self.private))?;
        writeln!(f, "  plaintext (fixed)   {}", row(&self.plaintext_fixed))?;
        writeln!(f, "  plaintext (f64)     {}", row(&self.plaintext_float))?;
        writeln!(
            f,
            "  max |this - fixed| = {:.2e}   max |this - f64| = {:.2e}\n",
            self.max_error_to_fixed(),
            self.max_error_to_float()
        )?;
        writeln!(f, "what each server saw: random-looking shares only")?;
        for party in self.report.parties.iter().filter(|p| p.party.starts_with("server")) {
            writeln!(
                f,
                "  {:<8} received {:>9} bytes: its shares, and values masked by the producer's randomness",
                party.party, party.bytes_received
            )?;
        }
        writeln!(
            f,
            "\ntime {:.2} ms, {} bytes online + {} bytes of producer material, {} rounds\n",
            self.report.wall_s * 1e3,
            self.report.bytes_sent,
            self.report.offline_bytes_sent,
            self.report.rounds
        )?;
        write!(f, "{}", self.report.table())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_agrees_with_the_plaintext_runs() {
        let demo = Demo::run(2, Protocol::Pond, SessionOptions::default()).unwrap();
        assert_eq!(demo.private.len(), 20);
        // Three truncated layers: a few ulps of 2^-16 each, amplified by the
        // weights; far below the logits' spread.
        assert!(demo.max_error_to_fixed() < 1e-3, "{}", demo.max_error_to_fixed());
        assert!(demo.max_error_to_float() < 1e-2, "{}", demo.max_error_to_float());
        assert_eq!(demo.report.rounds, 11);
        let text = demo.to_string();
        assert!(text.contains("server0") && text.contains("rounds"));
    }
}
