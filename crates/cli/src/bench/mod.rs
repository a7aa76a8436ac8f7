//! The benchmark harness behind `blindfold bench`: timing with warm-up and
//! repeated runs, the JSON record of docs/benchmarks.md, and the table; one
//! file per suite beside it.

pub mod inference;
pub mod kernels;
pub mod network;
pub mod paillier;
pub mod pond;
pub mod training;

use std::path::PathBuf;
use std::time::Instant;

use blindfold_jobs::{JobError, Result};
use blindfold_runtime::Protocol;
use blindfold_runtime::profile::seconds;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Suite {
    /// Ring matmul (u64, u128) and conv2d against f32 gemm; PRG throughput.
    Kernels,
    /// Pond sessions: private matmul and the seed's network at batch 1 and 100.
    Pond,
    /// The MNIST networks A–D (and their sigmoid/average-pool adaptations)
    /// from models/*.onnx with Pond at batch 1 and 100.
    Inference,
    /// Private training: logistic regression with 100 features, one SGD
    /// step at batch 128 and one epoch over 10,000 rows.
    Training,
    /// Paillier at 2048 and 3072 bits beside python-paillier: keygen,
    /// encrypt, decrypt, add, plaintext multiply, a 100-feature dot product.
    Paillier,
}

/// Where the inference suite's parties run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// Threads of this process.
    InProcess,
    /// Also worker processes of this binary on loopback, mutual TLS.
    Tls,
}

/// What a suite measures.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Timed runs per workload.
    pub runs: usize,
    /// Skip the slowest workloads.
    pub quick: bool,
    /// inference: the folder with mnist-NAME.onnx and the sample images.
    pub models: PathBuf,
    /// inference: which networks (all when empty).
    pub networks: Vec<String>,
    /// inference: compare on x mod 2^bits.
    pub comparison_bits: Option<u32>,
    /// inference: the secret-sharing protocols to measure.
    pub protocols: Vec<Protocol>,
    /// inference: the images to calibrate comparison widths on.
    pub calibrate: Option<PathBuf>,
    pub transport: Transport,
    /// paillier: the Python with python-paillier.
    pub python_paillier: Option<PathBuf>,
}

/// Measures `suite`.
pub fn run(suite: Suite, options: BenchOptions) -> Result<Vec<Record>> {
    if options.transport == Transport::Tls && suite != Suite::Inference {
        return Err(JobError::Invalid("--transport tls applies to the inference suite".into()));
    }
    let runs = options.runs;
    match suite {
        Suite::Kernels => Ok(kernels::run(runs, options.quick)),
        Suite::Pond => pond::run(runs),
        Suite::Inference => {
            let mut names = options.networks.clone();
            if names.is_empty() {
                names = inference::NETWORKS.iter().map(|n| n.to_string()).collect();
            }
            let mut workers = if options.transport == Transport::Tls {
                Some(network::TlsBench::start(&options.protocols)?)
            } else {
                None
            };
            inference::run(&options, &names, workers.as_mut())
        }
        Suite::Training => training::run(runs, options.quick),
        Suite::Paillier => paillier::run(runs, options.quick, options.python_paillier),
    }
}

/// One measured workload, in the format of docs/benchmarks.md.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub suite: &'static str,
    pub name: String,
    pub protocol: Option<String>,
    pub transport: Option<String>,
    pub batch: Option<usize>,
    pub runs: usize,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    pub bytes_sent: Option<u64>,
    pub rounds: Option<u64>,
    pub plaintext_median_s: Option<f64>,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Median, minimum and maximum seconds per call over several runs.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub runs: usize,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
}

/// Each run lasts at least this long; short calls are repeated within a run.
const MIN_RUN_SECONDS: f64 = 0.05;

/// Times `work`: one warm-up call, then `runs` runs, each repeating the call
/// enough times to last [`MIN_RUN_SECONDS`]; reports seconds per call.
pub fn time(runs: usize, mut work: impl FnMut()) -> Timing {
    let start = Instant::now();
    work();
    let once = start.elapsed().as_secs_f64().max(1e-9);
    let repeats = ((MIN_RUN_SECONDS / once).ceil() as usize).clamp(1, 1_000_000);
    let mut samples: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            for _ in 0..repeats {
                work();
            }
            start.elapsed().as_secs_f64() / repeats as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let middle = samples.len() / 2;
    let median_s =
        if samples.len() % 2 == 1 { samples[middle] } else { (samples[middle - 1] + samples[middle]) / 2.0 };
    Timing { runs: samples.len(), median_s, min_s: samples[0], max_s: samples[samples.len() - 1] }
}

impl Record {
    /// A record of `suite`/`name` with `timing`; other fields empty.
    pub fn new(suite: &'static str, name: String, timing: Timing) -> Record {
        Record {
            suite,
            name,
            protocol: None,
            transport: None,
            batch: None,
            runs: timing.runs,
            median_s: timing.median_s,
            min_s: timing.min_s,
            max_s: timing.max_s,
            bytes_sent: None,
            rounds: None,
            plaintext_median_s: None,
            extra: serde_json::Map::new(),
        }
    }

    /// Adds a suite-specific figure to `extra`.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Record {
        self.extra.insert(key.to_string(), value.into());
        self
    }
}

/// Prints records as JSON (one array) or as an aligned table.
pub fn print(records: &[Record], json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(records).expect("records serialize"));
        return;
    }
    println!(
        "{:<28} {:>5} {:>4} {:>11} {:>11} {:>11} {:>11} {:>14} {:>6}  extra",
        "name", "batch", "runs", "median", "min", "max", "plaintext", "bytes", "rounds"
    );
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    for record in records {
        let extra: Vec<String> = record.extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "{:<28} {:>5} {:>4} {:>11} {:>11} {:>11} {:>11} {:>14} {:>6}  {}",
            record.name,
            or_dash(record.batch.map(|b| b.to_string())),
            record.runs,
            seconds(record.median_s),
            seconds(record.min_s),
            seconds(record.max_s),
            or_dash(record.plaintext_median_s.map(seconds)),
            or_dash(record.bytes_sent.map(|b| b.to_string())),
            or_dash(record.rounds.map(|r| r.to_string())),
            extra.join(" ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_orders_its_figures() {
        let mut calls = 0;
        let timing = time(3, || calls += 1);
        assert_eq!(timing.runs, 3);
        assert!(timing.min_s <= timing.median_s && timing.median_s <= timing.max_s);
        assert!(calls > 3);
    }

    #[test]
    fn records_serialize_with_every_field() {
        let timing = Timing { runs: 5, median_s: 1.0, min_s: 0.5, max_s: 2.0 };
        let record = Record::new("kernels", "x".into(), timing).with("gmacs", 3.5);
        let value = serde_json::to_value(&record).unwrap();
        for field in [
            "suite",
            "name",
            "protocol",
            "transport",
            "batch",
            "runs",
            "median_s",
            "min_s",
            "max_s",
            "bytes_sent",
            "rounds",
            "plaintext_median_s",
            "extra",
        ] {
            assert!(value.get(field).is_some(), "missing {field}");
        }
        assert_eq!(value["extra"]["gmacs"], 3.5);
        assert!(value["rounds"].is_null());
    }
}
