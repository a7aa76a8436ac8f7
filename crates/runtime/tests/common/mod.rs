//! Helpers shared by the runtime's integration tests.

#![allow(dead_code)]

use blindfold_ir::Graph;
use blindfold_protocols::Inputs;
use blindfold_runtime::{Protocol, Report, Session, SessionResult};
use ndarray::ArrayD;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The report's (online bytes, offline bytes, rounds) of the `skip`-th
/// node with op `name`.
pub fn op_figures(graph: &Graph, report: &Report, name: &str, skip: usize) -> (u64, u64, u32) {
    let (index, _) =
        graph.nodes().iter().enumerate().filter(|(_, n)| n.op.name() == name).nth(skip).expect("op present");
    let op = report.op(index as u32).expect("profiled");
    (op.bytes_sent, op.offline_bytes_sent, op.rounds)
}

/// Runs `graph` under `protocol` on random inputs in [−1, 1) of the given
/// (party, name, shape); returns the report.
pub fn run_costs(protocol: Protocol, graph: &Graph, values: Vec<(&str, &str, &[usize])>) -> Report {
    let values =
        values.into_iter().enumerate().map(|(i, (p, n, s))| (p, n, random(s, 1.0, i as u64))).collect();
    Session::new(graph.clone()).protocol(protocol).run(inputs(values)).unwrap().report
}

/// Random reals in [−bound, bound) of `shape`.
pub fn random(shape: &[usize], bound: f64, seed: u64) -> ArrayD<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values = (0..shape.iter().product()).map(|_| rng.random_range(-bound..bound)).collect();
    ArrayD::from_shape_vec(shape.to_vec(), values).unwrap()
}

/// Inputs from (party, name, values) triples.
pub fn inputs(entries: Vec<(&str, &str, ArrayD<f64>)>) -> Inputs {
    let mut inputs = Inputs::new();
    for (party, name, values) in entries {
        inputs.entry(party.to_string()).or_default().insert(name.to_string(), values);
    }
    inputs
}

/// Runs `graph` under Pond and under the replicated protocol, and the
/// fixed-point plaintext, and checks every output of both agrees within
/// `ulps` units of 2^−F. Returns Pond's result.
pub fn assert_matches_reference(graph: &Graph, inputs: &Inputs, ulps: f64) -> SessionResult {
    let replicated = assert_protocol_matches_reference(Protocol::Replicated, graph, inputs, ulps);
    assert!(replicated.report.parties.iter().all(|p| p.party != "producer"));
    assert_protocol_matches_reference(Protocol::Pond, graph, inputs, ulps)
}

/// Runs `graph` under `protocol` and the fixed-point plaintext and checks
/// every output agrees within `ulps` units of 2^−F.
pub fn assert_protocol_matches_reference(
    protocol: Protocol,
    graph: &Graph,
    inputs: &Inputs,
    ulps: f64,
) -> SessionResult {
    let ulp = 2f64.powi(-(graph.fractional_bits() as i32));
    let secure = Session::new(graph.clone()).protocol(protocol).run(inputs.clone()).expect("secure run");
    let reference = Session::new(graph.clone())
        .protocol(Protocol::PlaintextFixed)
        .run(inputs.clone())
        .expect("plaintext run");
    assert_eq!(secure.outputs.keys().collect::<Vec<_>>(), reference.outputs.keys().collect::<Vec<_>>());
    let name = protocol.name();
    for (party, outputs) in &reference.outputs {
        for (output, expected) in outputs {
            let got = &secure.outputs[party][output];
            assert_eq!(got.shape(), expected.shape(), "{party}/{output}");
            for (index, (g, e)) in got.iter().zip(expected.iter()).enumerate() {
                assert!(
                    (g - e).abs() <= ulps * ulp,
                    "{party}/{output}[{index}]: {name} {g} vs plaintext {e} (more than {ulps} ulps in {:?})",
                    graph.ring()
                );
            }
        }
    }
    secure
}
