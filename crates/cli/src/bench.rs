//! The benchmark harness behind `blindfold bench`: timing with warm-up and
//! repeated runs, the JSON record of ../shared/BENCHMARKS.md, and the table.

use std::time::Instant;

use blindfold_runtime::profile::seconds;
use serde::Serialize;

/// One measured workload, in the format of BENCHMARKS.md.
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
