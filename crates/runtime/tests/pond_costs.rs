//! The measured bytes and rounds of share, reveal, mul, matmul and conv2d
//! equal the counts in their docs, exactly, in both rings; mask reuse opens
//! a value once; outputs reach their receiver only.

mod common;

use blindfold_ir::{Conv2dGeometry, Graph, GraphBuilder, NodeId, Op, Ring};
use blindfold_runtime::{Protocol, Report, Session};
use common::{inputs, op_figures, random, run_costs};

fn run(graph: &Graph, values: Vec<(&str, &str, &[usize])>) -> Report {
    run_costs(Protocol::Pond, graph, values)
}

fn element_bytes(ring: Ring) -> u64 {
    ring.bits() as u64 / 8
}

#[test]
fn share_reveal_and_matmul_cost_what_their_docs_say() {
    for ring in [Ring::Z64, Ring::Z128] {
        let l = element_bytes(ring);
        let (m, k, n) = (3u64, 5u64, 4u64);
        let mut g = GraphBuilder::with_ring(ring);
        let x = g.private_input("client", "x", &[3, 5]).unwrap();
        let w = g.private_input("owner", "w", &[5, 4]).unwrap();
        let y = g.matmul(x, w).unwrap();
        g.output("client", "y", y).unwrap();
        let graph = g.finish();
        let report = run(&graph, vec![("client", "x", &[3, 5]), ("owner", "w", &[5, 4])]);
        // share: n·k/8 + 16 bytes, one round.
        assert_eq!(op_figures(&graph, &report, "share", 0), (m * k * l + 16, 0, 1));
        assert_eq!(op_figures(&graph, &report, "share", 1), (k * n * l + 16, 0, 1));
        // matmul: 2·(mk + kn)·ℓ/8 online in one round; |z|·ℓ/8 from the producer.
        assert_eq!(op_figures(&graph, &report, "matmul", 0), (2 * (m * k + k * n) * l, m * n * l, 1));
        // truncation is local.
        assert_eq!(op_figures(&graph, &report, "truncate", 0), (0, 0, 0));
        // reveal to a non-server: 2·n·ℓ/8, one round.
        assert_eq!(op_figures(&graph, &report, "reveal", 0), (2 * m * n * l, 0, 1));
        // Totals: setup seeds; critical path share → matmul → reveal.
        assert_eq!(report.offline_bytes_sent, 32 + m * n * l);
        assert_eq!(report.rounds, 3);
    }
}

#[test]
fn elementwise_products_and_convolutions_cost_what_their_docs_say() {
    for ring in [Ring::Z64, Ring::Z128] {
        let l = element_bytes(ring);
        let mut g = GraphBuilder::with_ring(ring);
        let x = g.private_input("a", "x", &[2, 3, 6, 6]).unwrap();
        let f = g.private_input("b", "f", &[4, 3, 3, 3]).unwrap();
        let v = g.private_input("b", "v", &[6]).unwrap();
        let conv = g.conv2d(x, f, Conv2dGeometry::uniform(1, 1)).unwrap(); // [2, 4, 6, 6]
        let scaled = g.mul(conv, v).unwrap(); // broadcast over the last axis
        let squared = g.square(scaled).unwrap();
        g.output("a", "z", squared).unwrap();
        let graph = g.finish();
        let report =
            run(&graph, vec![("a", "x", &[2, 3, 6, 6]), ("b", "f", &[4, 3, 3, 3]), ("b", "v", &[6])]);
        let (input, filters, out) = (2 * 3 * 36, 4 * 3 * 9, 2 * 4 * 36);
        assert_eq!(op_figures(&graph, &report, "conv2d", 0), (2 * (input + filters) * l, out * l, 1));
        // mul opens the (new) conv output and v: 2·(|x| + |y|)·ℓ/8.
        assert_eq!(op_figures(&graph, &report, "mul", 0), (2 * (out + 6) * l, out * l, 1));
        // square opens its operand once: 2·|x|·ℓ/8.
        assert_eq!(op_figures(&graph, &report, "mul", 1), (2 * out * l, out * l, 1));
    }
}

#[test]
fn a_value_multiplied_again_is_not_opened_again() {
    let mut g = GraphBuilder::new();
    let w = g.private_input("owner", "w", &[8, 2]).unwrap();
    let first = g.private_input("client", "first", &[4, 8]).unwrap();
    let second = g.private_input("client", "second", &[4, 8]).unwrap();
    let y1 = g.matmul(first, w).unwrap();
    let y2 = g.matmul(second, w).unwrap();
    let again = g.matmul(first, w).unwrap();
    for (name, y) in [("y1", y1), ("y2", y2), ("again", again)] {
        g.output("client", name, y).unwrap();
    }
    let graph = g.finish();
    let report = run(
        &graph,
        vec![("owner", "w", &[8, 2]), ("client", "first", &[4, 8]), ("client", "second", &[4, 8])],
    );
    assert_eq!(op_figures(&graph, &report, "matmul", 0), (2 * (32 + 16) * 8, 8 * 8, 1));
    // The weights' mask is open already: only the new batch is opened.
    assert_eq!(op_figures(&graph, &report, "matmul", 1), (2 * 32 * 8, 8 * 8, 1));
    // Both masks open: no communication at all, only the producer's c1.
    assert_eq!(op_figures(&graph, &report, "matmul", 2), (0, 8 * 8, 0));
}

#[test]
fn only_the_receiver_gets_anything_of_an_output() {
    let mut g = GraphBuilder::new();
    let x = g.private_input("alice", "x", &[5]).unwrap();
    let y = g.private_input("bob", "y", &[5]).unwrap();
    let z = g.mul(x, y).unwrap();
    g.output("carol", "z", z).unwrap();
    let graph = g.finish();
    let result = Session::new(graph.clone())
        .run(inputs(vec![("alice", "x", random(&[5], 1.0, 1)), ("bob", "y", random(&[5], 1.0, 2))]))
        .unwrap();
    assert_eq!(result.outputs.keys().collect::<Vec<_>>(), ["carol"]);
    let reveal = graph.nodes().iter().position(|n| matches!(n.op, Op::Reveal { .. })).unwrap() as u32;
    for party in &result.report.parties {
        let received: u64 =
            party.events.iter().filter(|e| e.node == Some(reveal)).map(|e| e.bytes_received).sum();
        if party.party == "carol" {
            assert_eq!(received, 2 * 5 * 8);
        } else {
            assert_eq!(received, 0, "{} received part of carol's output", party.party);
        }
    }
    let _ = NodeId(reveal);
}
