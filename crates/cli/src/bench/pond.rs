//! `blindfold bench pond`: Pond sessions with every party in this process,
//! beside the plaintext f32 run of the same graph on the same machine.
//!
//! Workloads: the private matmul 128x784·784x128 (inputs shared, product
//! revealed to the client), the seed's three-layer network at batch 1
//! and 100, and the same network with exact ReLU (MNIST network A's shape,
//! random weights). `median_s` is the whole session with the producer overlapped;
//! `extra.online_median_s` is the servers' online phase alone, with the
//! producer run first.

use blindfold_ir::Graph;
use blindfold_ml::{private_matmul, seed_network};
use blindfold_protocols::{Inputs, float};
use blindfold_runtime::{OfflinePhase, OverflowPolicy, Protocol, RuntimeError, Session, SessionOptions};

use blindfold_jobs::{JobError, Result};

use crate::bench::{Record, time};

pub fn run(runs: usize) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    let (graph, inputs) = private_matmul::workload(128, 784, 128)?;
    records.push(measure("pond", "matmul-128x784x128", None, graph, inputs, runs)?);
    for batch in [1, 100] {
        let graph = seed_network::graph(batch)?;
        let inputs = seed_network::inputs(batch, 7);
        records.push(measure("pond", "seed-network", Some(batch), graph, inputs, runs)?);
    }
    for batch in [1, 100] {
        let graph = seed_network::graph_with(batch, seed_network::Activation::Relu)?;
        let inputs = seed_network::inputs(batch, 7);
        records.push(measure("pond", "network-A-shape-relu", Some(batch), graph, inputs, runs)?);
    }
    Ok(records)
}

/// Times `graph` with Pond (producer overlapped, and apart for the online
/// time) and with the plaintext f32 evaluator, as one record of `suite`.
pub(crate) fn measure(
    suite: &'static str,
    name: &str,
    batch: Option<usize>,
    graph: Graph,
    inputs: Inputs,
    runs: usize,
) -> Result<Record> {
    measure_with(Protocol::Pond, OverflowPolicy::Refuse, suite, name, batch, graph, inputs, runs)
}

/// [`measure`] under `protocol` (Pond or replicated; the replicated
/// protocol has no producer, so its online time is its whole time), with
/// the overflow check's `overflow` policy.
#[allow(clippy::too_many_arguments)]
pub(crate) fn measure_with(
    protocol: Protocol,
    overflow: OverflowPolicy,
    suite: &'static str,
    name: &str,
    batch: Option<usize>,
    graph: Graph,
    inputs: Inputs,
    runs: usize,
) -> Result<Record> {
    let overlapped = Session::new(graph.clone())
        .protocol(protocol)
        .options(SessionOptions { overflow, ..SessionOptions::default() });
    let separate = Session::new(graph.clone()).protocol(protocol).options(SessionOptions {
        offline_phase: OfflinePhase::Separate,
        overflow,
        ..SessionOptions::default()
    });
    // One checked run first: its report gives the bytes and rounds.
    let report = overlapped.run(inputs.clone())?.report;
    let mut failure = None;
    let timing = time(runs, || {
        if let Err(error) = overlapped.run(inputs.clone()) {
            failure = Some(error);
        }
    });
    let mut online = Vec::new();
    if protocol == Protocol::Pond {
        for _ in 0..runs {
            let result = separate.run(inputs.clone())?;
            online.push(result.report.online_s.unwrap_or(result.report.wall_s));
        }
    } else {
        online.push(timing.median_s);
    }
    if let Some(error) = failure {
        return Err(error.into());
    }
    online.sort_by(f64::total_cmp);
    let prepared = float::prepare::<f32>(&graph, &inputs)
        .map_err(|e| JobError::Session(RuntimeError::Plaintext(Box::new(e))))?;
    let plaintext = time(runs, || {
        std::hint::black_box(float::evaluate::<f32>(&graph, &prepared));
    });
    let mut record = Record::new(suite, name.to_string(), timing)
        .with("online_median_s", online[online.len() / 2])
        .with("offline_bytes", report.offline_bytes_sent)
        .with("ratio_to_plaintext", (timing.median_s / plaintext.median_s).round());
    record.protocol = Some(protocol.name().into());
    record.transport = Some("in-process".into());
    record.batch = batch;
    record.bytes_sent = Some(report.bytes_sent + report.offline_bytes_sent);
    record.rounds = Some(report.rounds);
    record.plaintext_median_s = Some(plaintext.median_s);
    Ok(record)
}
