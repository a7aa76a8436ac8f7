//! Each server's view is simulatable. For every protocol op a graph runs
//! (multiplication, matmul, truncation, comparison/ReLU, max-pooling,
//! argmax), over many sessions:
//!
//! - the bytes each server receives in the op have the same distribution
//!   whatever the secrets: a two-sample chi-square test of the byte values
//!   for two very different pairs of secrets, and the same sizes;
//! - no mask serves two values: the openings a server receives from the
//!   other server are distinct words, even where the secrets are all
//!   equal, and the openings of two elements are uncorrelated across
//!   sessions (a reused mask would make them equal, or differ by a
//!   constant).
//!
//! Both protocols: Pond's two servers, and the replicated protocol's three.
//! Every party runs as a thread over the in-process transport, each
//! endpoint wrapped so that what its party receives is recorded.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blindfold_ir::{Conv2dGeometry, Graph, GraphBuilder, Op};
use blindfold_protocols::Traffic;
use blindfold_runtime::transport::in_process::{InProcessEndpoint, network};
use blindfold_runtime::transport::{Endpoint, Message, TransportError};
use blindfold_runtime::{Protocol, Session};
use common::random;
use ndarray::ArrayD;

const A: &str = "alice";
const B: &str = "bob";
const SERVERS: [&str; 3] = ["server0", "server1", "server2"];

/// What one party received: (from, node, traffic, payload).
type Received = Vec<(String, u32, Traffic, Vec<u8>)>;

/// An endpoint that records every message its party receives.
struct Recording {
    inner: InProcessEndpoint,
    received: Arc<Mutex<Received>>,
}

impl Endpoint for Recording {
    fn send(&mut self, peer: &str, message: Message, timeout: Duration) -> Result<(), TransportError> {
        self.inner.send(peer, message, timeout)
    }

    fn receive(&mut self, peer: &str, timeout: Duration) -> Result<Message, TransportError> {
        let message = self.inner.receive(peer, timeout)?;
        let record = (peer.to_string(), message.op, message.traffic, message.payload.clone());
        self.received.lock().unwrap().push(record);
        Ok(message)
    }

    fn heartbeat(&mut self) {
        self.inner.heartbeat();
    }
}

/// Runs `graph` once on `inputs` (party → name → value); returns what each
/// server received.
fn views(
    protocol: Protocol,
    graph: &Graph,
    inputs: &BTreeMap<String, Vec<(String, ArrayD<f64>)>>,
) -> BTreeMap<String, Received> {
    let session = Session::new(graph.clone()).protocol(protocol);
    let parties = session.parties().unwrap();
    let id = blindfold_runtime::session_id();
    let started = Instant::now();
    let mut records = BTreeMap::new();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for endpoint in network(&parties, usize::MAX) {
            let name = endpoint.name().to_string();
            let received = Arc::new(Mutex::new(Vec::new()));
            records.insert(name.clone(), Arc::clone(&received));
            let own = inputs.get(&name).cloned().unwrap_or_default().into_iter().collect();
            let session = &session;
            handles.push(scope.spawn(move || {
                let endpoint = Recording { inner: endpoint, received };
                session.run_party(&name, id, Box::new(endpoint), own, started).map(|_| ())
            }));
        }
        for handle in handles {
            handle.join().unwrap().unwrap();
        }
    });
    records
        .into_iter()
        .filter(|(name, _)| SERVERS.contains(&name.as_str()))
        .map(|(name, received)| (name, Arc::try_unwrap(received).unwrap().into_inner().unwrap()))
        .collect()
}

/// Chi-square statistic of two byte samples' histograms (homogeneity,
/// 255 degrees of freedom).
fn chi_square_two_samples(first: &[u8], second: &[u8]) -> f64 {
    let (mut a, mut b) = ([0f64; 256], [0f64; 256]);
    first.iter().for_each(|&x| a[x as usize] += 1.0);
    second.iter().for_each(|&x| b[x as usize] += 1.0);
    let (n, m) = (first.len() as f64, second.len() as f64);
    (0..256)
        .filter(|&i| a[i] + b[i] > 0.0)
        .map(|i| {
            let total = a[i] + b[i];
            let (expected_a, expected_b) = (total * n / (n + m), total * m / (n + m));
            (a[i] - expected_a).powi(2) / expected_a + (b[i] - expected_b).powi(2) / expected_b
        })
        .sum()
}

/// Chi-square with 255 degrees of freedom exceeds this with probability
/// 10^-6.
const CRITICAL: f64 = 375.0;

/// Bytes each server received in each op, over `runs` sessions.
type Pooled = BTreeMap<(String, u32), (Vec<usize>, Vec<u8>)>;

fn pooled(
    protocol: Protocol,
    graph: &Graph,
    inputs: &BTreeMap<String, Vec<(String, ArrayD<f64>)>>,
    runs: usize,
) -> Pooled {
    let mut pooled: Pooled = BTreeMap::new();
    for _ in 0..runs {
        for (server, received) in views(protocol, graph, inputs) {
            let mut sizes: BTreeMap<u32, usize> = BTreeMap::new();
            for (_, op, _, payload) in received {
                *sizes.entry(op).or_default() += payload.len();
                pooled.entry((server.clone(), op)).or_default().1.extend(payload);
            }
            for (op, size) in sizes {
                pooled.entry((server.clone(), op)).or_default().0.push(size);
            }
        }
    }
    pooled
}

fn two_party_inputs(x: ArrayD<f64>, y: ArrayD<f64>) -> BTreeMap<String, Vec<(String, ArrayD<f64>)>> {
    BTreeMap::from([(A.to_string(), vec![("x".to_string(), x)]), (B.to_string(), vec![("y".to_string(), y)])])
}

/// The op's graph over alice's x and bob's y (both [rows, columns]).
fn graph(op: &str, rows: usize, columns: usize) -> Graph {
    let mut g = GraphBuilder::new();
    let x = g.private_input(A, "x", &[rows, columns]).unwrap();
    let y = g.private_input(B, "y", &[rows, columns]).unwrap();
    let (x, y) = (g.share(x).unwrap(), g.share(y).unwrap());
    let result = match op {
        "mul" => g.mul(x, y).unwrap(),
        "matmul" => {
            let y = g.transpose(y, None).unwrap();
            g.matmul(x, y).unwrap()
        }
        "relu" => {
            let d = g.sub(x, y).unwrap();
            g.relu(d).unwrap()
        }
        "max-pool" => {
            let d = g.sub(x, y).unwrap();
            let image = g.reshape(d, &[1, 1, rows, columns]).unwrap();
            let pooled = g
                .max_pool2d(image, (2, 2), Conv2dGeometry { stride: (2, 2), padding: (0, 0, 0, 0) })
                .unwrap();
            g.reshape(pooled, &[rows * columns / 4]).unwrap()
        }
        "argmax" => {
            let d = g.sub(x, y).unwrap();
            g.argmax(d).unwrap()
        }
        other => panic!("no op {other}"),
    };
    g.output(A, "result", result).unwrap();
    g.finish()
}

fn assert_views_do_not_depend_on_the_secrets(op: &str) {
    for protocol in [Protocol::Pond, Protocol::Replicated] {
        assert_views_under(protocol, op);
    }
}

fn assert_views_under(protocol: Protocol, op: &str) {
    let (rows, columns) = (4, 16);
    let graph = graph(op, rows, columns);
    let zeros = ArrayD::zeros(vec![rows, columns]);
    let first = two_party_inputs(zeros.clone(), zeros);
    let second = two_party_inputs(random(&[rows, columns], 1000.0, 1), random(&[rows, columns], 3.0, 2));
    let runs = 60;
    let (views_first, views_second) =
        (pooled(protocol, &graph, &first, runs), pooled(protocol, &graph, &second, runs));
    let servers =
        views_first.keys().map(|(server, _)| server.as_str()).collect::<std::collections::BTreeSet<_>>();
    let expected: &[&str] = if protocol == Protocol::Pond { &SERVERS[..2] } else { &SERVERS };
    assert_eq!(servers.into_iter().collect::<Vec<_>>(), expected, "{op}: the servers that received");
    assert_eq!(views_first.keys().collect::<Vec<_>>(), views_second.keys().collect::<Vec<_>>(), "{op}");
    for ((server, node), (sizes, bytes)) in &views_first {
        let (other_sizes, other_bytes) = &views_second[&(server.clone(), *node)];
        assert_eq!(sizes, other_sizes, "{op}: {server}'s message sizes in node {node} depend on the secrets");
        let statistic = chi_square_two_samples(bytes, other_bytes);
        assert!(
            statistic < CRITICAL,
            "{op}: what {server} receives in node {node} ({}) depends on the secrets: chi-square {statistic:.0}",
            graph.nodes()[*node as usize].op.name()
        );
    }
    // Pond's truncation is local: no node that only truncates sends anything.
    for (index, node) in graph.nodes().iter().enumerate().filter(|_| protocol == Protocol::Pond) {
        if matches!(node.op, Op::Truncate { .. }) {
            assert!(views_first.keys().all(|(_, n)| *n != index as u32), "{op}: truncation sent bytes");
        }
    }
}

#[test]
fn multiplication_and_truncation_views_do_not_depend_on_the_secrets() {
    assert_views_do_not_depend_on_the_secrets("mul");
}

#[test]
fn matmul_views_do_not_depend_on_the_secrets() {
    assert_views_do_not_depend_on_the_secrets("matmul");
}

#[test]
fn comparison_views_do_not_depend_on_the_secrets() {
    assert_views_do_not_depend_on_the_secrets("relu");
}

#[test]
fn max_pool_views_do_not_depend_on_the_secrets() {
    assert_views_do_not_depend_on_the_secrets("max-pool");
}

#[test]
fn argmax_views_do_not_depend_on_the_secrets() {
    assert_views_do_not_depend_on_the_secrets("argmax");
}

/// The online words one server received from the other in each op.
fn openings(received: &Received, from: &str) -> BTreeMap<u32, Vec<u64>> {
    let mut words: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for (peer, op, traffic, payload) in received {
        if peer == from && *traffic == Traffic::Online && payload.len() % 8 == 0 {
            let entry = words.entry(*op).or_default();
            entry.extend(payload.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().unwrap())));
        }
    }
    words
}

/// Pearson correlation of two samples.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (mean_a, mean_b) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let covariance: f64 = a.iter().zip(b).map(|(x, y)| (x - mean_a) * (y - mean_b)).sum();
    let spread = |s: &[f64], m: f64| s.iter().map(|x| (x - m).powi(2)).sum::<f64>().sqrt();
    covariance / (spread(a, mean_a) * spread(b, mean_b))
}

#[test]
fn no_mask_serves_two_values() {
    // Pond: the openings between its servers; replicated: what each
    // server receives from its successor (re-sharings, AND gates).
    let pond = [("server0", "server1"), ("server1", "server0")];
    let replicated = [("server0", "server1"), ("server1", "server2"), ("server2", "server0")];
    for (protocol, op) in [Protocol::Pond, Protocol::Replicated]
        .into_iter()
        .flat_map(|protocol| ["mul", "matmul", "relu"].map(|op| (protocol, op)))
    {
        let pairs: &[(&str, &str)] = if protocol == Protocol::Pond { &pond } else { &replicated };
        let (rows, columns) = (4, 16);
        let graph = graph(op, rows, columns);
        // Every element of x equal, and of y: a reused mask would show.
        let same = two_party_inputs(
            ArrayD::from_elem(vec![rows, columns], 1.5),
            ArrayD::from_elem(vec![rows, columns], -0.25),
        );
        let runs = 200;
        let mut first_words: BTreeMap<(String, u32), Vec<(f64, f64)>> = BTreeMap::new();
        for _ in 0..runs {
            let views = views(protocol, &graph, &same);
            for &(server, other) in pairs {
                for (node, words) in openings(&views[server], other) {
                    let mut distinct = words.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    assert_eq!(
                        distinct.len(),
                        words.len(),
                        "{op}: {server} saw a repeated opening in node {node}"
                    );
                    if words.len() >= 2 {
                        let top = |w: u64| (w >> 11) as f64;
                        first_words
                            .entry((server.to_string(), node))
                            .or_default()
                            .push((top(words[0]), top(words[1])));
                    }
                }
            }
        }
        assert!(!first_words.is_empty(), "{op}: no openings between the servers");
        for ((server, node), pairs) in first_words {
            let (a, b): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            let r = correlation(&a, &b);
            // 200 runs: the correlation of independent words has standard
            // deviation 1/sqrt(200) = 0.07; a reused mask gives 1.
            assert!(r.abs() < 0.35, "{op}: {server}'s first two openings in node {node} correlate ({r:.2})");
        }
    }
}

#[test]
fn the_tests_would_catch_a_value_sent_in_the_clear() {
    // The encoded secrets themselves, as a leaky protocol would send them.
    let encode = |values: &ArrayD<f64>| -> Vec<u8> {
        values.iter().flat_map(|v| ((v * 65536.0).round() as i64 as u64).to_le_bytes()).collect()
    };
    let zeros: Vec<u8> = (0..60).flat_map(|_| encode(&ArrayD::zeros(vec![64]))).collect();
    let values: Vec<u8> = (0..60).flat_map(|seed| encode(&random(&[64], 1000.0, seed))).collect();
    assert!(chi_square_two_samples(&zeros, &values) > CRITICAL);
    // And a mask reused for two elements: equal openings, correlation 1.
    let a: Vec<f64> = (0..200).map(|i| ((i * 7919) % 1000) as f64).collect();
    assert!(correlation(&a, &a.iter().map(|x| x + 3.0).collect::<Vec<_>>()) > 0.99);
}
