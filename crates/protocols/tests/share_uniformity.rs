//! Each server's view of a shared secret is uniformly random whatever the
//! secret: over many sharings of a fixed secret, the bytes server0 derives
//! (from its seed) and the bytes server1 receives pass a chi-square test of
//! uniformity, for a zero secret and for a large one alike.

use std::collections::HashMap;
use std::sync::Arc;

use blindfold_ir::{Graph, GraphBuilder, NodeId};
use blindfold_protocols::pond::PondParty;
use blindfold_protocols::{Communicator, Executor, Result, Traffic};
use blindfold_ring::{Prg, RingTensor, Seed};
use ndarray::ArrayD;

/// Records what the owner sends, per receiver.
#[derive(Default)]
struct Recorder {
    sent: HashMap<String, Vec<u8>>,
}

impl Communicator for Recorder {
    fn send(&mut self, to: &str, payload: Vec<u8>, _: Traffic) -> Result<()> {
        self.sent.insert(to.to_string(), payload);
        Ok(())
    }
    fn receive(&mut self, from: &str, _: usize) -> Result<Vec<u8>> {
        panic!("the owner receives nothing while sharing (asked for {from})")
    }
}

fn graph(elements: usize) -> Graph {
    let mut g = GraphBuilder::new();
    let x = g.private_input("owner", "x", &[elements]).unwrap();
    g.share(x).unwrap();
    g.finish()
}

/// The two servers' shares of `secret`, as server0 and server1 see them.
fn views(graph: &Arc<Graph>, secret: &ArrayD<f64>) -> (Vec<u8>, Vec<u8>) {
    let inputs = HashMap::from([("x".to_string(), secret.clone())]);
    let mut owner = PondParty::<u64>::new("owner", Arc::clone(graph), inputs);
    let mut recorder = Recorder::default();
    owner.setup(&mut recorder).unwrap();
    owner.execute(NodeId(0), &mut recorder).unwrap();
    owner.execute(NodeId(1), &mut recorder).unwrap();
    let seed: [u8; 16] = recorder.sent["server0"].clone().try_into().expect("server0 gets a 16-byte seed");
    let share0: RingTensor<u64> = Prg::new(&Seed::from_bytes(seed)).ring_tensor(&[secret.len()]);
    (share0.to_le_bytes(), recorder.sent["server1"].clone())
}

fn chi_square(bytes: &[u8]) -> f64 {
    let mut counts = [0f64; 256];
    for &b in bytes {
        counts[b as usize] += 1.0;
    }
    let expected = bytes.len() as f64 / 256.0;
    counts.iter().map(|c| (c - expected).powi(2) / expected).sum()
}

/// Critical value of chi-square with 255 degrees of freedom at 10^-6.
const CRITICAL: f64 = 375.0;

#[test]
fn server_views_are_uniform_for_any_secret() {
    let elements = 64;
    let graph = Arc::new(graph(elements));
    for secret_value in [0.0, 12_345.678, -1.0e9] {
        let secret = ArrayD::from_elem(vec![elements], secret_value);
        let (mut server0, mut server1) = (Vec::new(), Vec::new());
        for _ in 0..2_000 {
            let (view0, view1) = views(&graph, &secret);
            server0.extend(view0);
            server1.extend(view1);
        }
        assert!(chi_square(&server0) < CRITICAL, "server0's view of {secret_value} is not uniform");
        assert!(chi_square(&server1) < CRITICAL, "server1's view of {secret_value} is not uniform");
        // The shares still add up to the secret.
        let (view0, view1) = views(&graph, &secret);
        let sum = RingTensor::<u64>::from_le_bytes(&[elements], &view0)
            .unwrap()
            .add(&RingTensor::from_le_bytes(&[elements], &view1).unwrap())
            .unwrap();
        let decoded = blindfold_ring::FixedPoint::binary(16).decode(&sum);
        assert!(decoded.iter().all(|v| (v - secret_value).abs() < 1e-4));
    }
}

#[test]
fn the_test_would_catch_a_share_that_leaks_the_secret() {
    // A "share" equal to the encoded secret itself is far from uniform.
    let secret = RingTensor::<u64>::filled(&[128_000], 12_345 << 16);
    assert!(chi_square(&secret.to_le_bytes()) > CRITICAL);
}
