//! The replicated protocol's measured bytes and rounds equal the counts in
//! its docs, exactly, in both rings: share, reveal, products, truncation,
//! polynomials and comparisons; no producer and no offline material beyond
//! the 48 bytes of pairwise keys.

mod common;

use blindfold_ir::{Conv2dGeometry, Graph, GraphBuilder, Ring};
use blindfold_protocols::replicated::{and_gates, comparison_rounds};
use blindfold_runtime::{Protocol, Report};
use common::{op_figures, run_costs};

fn run(graph: &Graph, values: Vec<(&str, &str, &[usize])>) -> Report {
    run_costs(Protocol::Replicated, graph, values)
}

#[test]
fn share_reveal_matmul_and_truncation_cost_what_their_docs_say() {
    for ring in [Ring::Z64, Ring::Z128] {
        let l = ring.bits() as u64 / 8;
        let (m, k, n) = (3u64, 5u64, 4u64);
        let mut g = GraphBuilder::with_ring(ring);
        let x = g.private_input("client", "x", &[3, 5]).unwrap();
        let w = g.private_input("owner", "w", &[5, 4]).unwrap();
        let y = g.matmul(x, w).unwrap();
        g.output("client", "y", y).unwrap();
        let graph = g.finish();
        let report = run(&graph, vec![("client", "x", &[3, 5]), ("owner", "w", &[5, 4])]);
        assert!(report.parties.iter().all(|p| p.party != "producer"));
        // share by a party outside the servers: 2·n·k/8 + 64 bytes, one round.
        assert_eq!(op_figures(&graph, &report, "share", 0), (2 * m * k * l + 64, 0, 1));
        assert_eq!(op_figures(&graph, &report, "share", 1), (2 * k * n * l + 64, 0, 1));
        // matmul: 3·|z|·k/8, one round, whatever the inner dimension.
        assert_eq!(op_figures(&graph, &report, "matmul", 0), (3 * m * n * l, 0, 1));
        // truncation: 2·|z|·k/8, one round.
        assert_eq!(op_figures(&graph, &report, "truncate", 0), (2 * m * n * l, 0, 1));
        // reveal to a party outside the servers: 3·n·k/8, one round.
        assert_eq!(op_figures(&graph, &report, "reveal", 0), (3 * m * n * l, 0, 1));
        // The only input-independent bytes: the pairwise keys.
        assert_eq!(report.offline_bytes_sent, 48);
        assert_eq!(report.rounds, 4);
    }
}

#[test]
fn a_server_that_owns_an_input_sends_one_share_and_reveals_cost_one_share() {
    let mut g = GraphBuilder::new();
    let x = g.private_input("server1", "x", &[7]).unwrap();
    let y = g.private_input("client", "y", &[7]).unwrap();
    let z = g.mul(x, y).unwrap();
    g.output("server2", "z", z).unwrap();
    let graph = g.finish();
    let report = run(&graph, vec![("server1", "x", &[7]), ("client", "y", &[7])]);
    // A server owner: n·k/8 + 48 bytes.
    assert_eq!(op_figures(&graph, &report, "share", 0), (7 * 8 + 48, 0, 1));
    // To a server: the one share it lacks, n·k/8.
    assert_eq!(op_figures(&graph, &report, "reveal", 0), (7 * 8, 0, 1));
}

#[test]
fn convolutions_products_and_polynomials_cost_what_their_docs_say() {
    for ring in [Ring::Z64, Ring::Z128] {
        let l = ring.bits() as u64 / 8;
        let mut g = GraphBuilder::with_ring(ring);
        let x = g.private_input("a", "x", &[2, 3, 6, 6]).unwrap();
        let f = g.private_input("b", "f", &[4, 3, 3, 3]).unwrap();
        let v = g.private_input("b", "v", &[6]).unwrap();
        let conv = g.conv2d(x, f, Conv2dGeometry::uniform(1, 1)).unwrap(); // [2, 4, 6, 6]
        let scaled = g.mul(conv, v).unwrap();
        let cubic = g.polynomial(scaled, &[0.5, 0.25, 0.0, -0.01]).unwrap();
        g.output("a", "z", cubic).unwrap();
        let graph = g.finish();
        let report =
            run(&graph, vec![("a", "x", &[2, 3, 6, 6]), ("b", "f", &[4, 3, 3, 3]), ("b", "v", &[6])]);
        let out = 2 * 4 * 36;
        assert_eq!(op_figures(&graph, &report, "conv2d", 0), (3 * out * l, 0, 1));
        assert_eq!(op_figures(&graph, &report, "mul", 0), (3 * out * l, 0, 1));
        // x² then x³: two plan rounds of a product and a truncation, then
        // the sum's truncation: 2·(3 + 2)·n + 2·n elements. Five exchanges,
        // four on the critical path: servers 0 and 1 hold their truncated
        // shares at once, and server 2's wait overlaps the next product.
        assert_eq!(op_figures(&graph, &report, "polynomial", 0), (12 * out * l, 0, 4));
    }
}

#[test]
fn comparisons_cost_what_their_docs_say() {
    for (ring, bits) in [
        (Ring::Z64, Some(18)),
        (Ring::Z64, Some(19)),
        (Ring::Z64, Some(24)),
        (Ring::Z64, Some(32)),
        (Ring::Z64, Some(33)),
        (Ring::Z64, None),
        (Ring::Z128, None),
        (Ring::Z64, Some(20)),
        (Ring::Z128, Some(40)),
    ] {
        let l = ring.bits() as u64 / 8;
        let n = 100u64;
        let mut g = GraphBuilder::with_ring(ring);
        g.set_comparison_bits(bits).unwrap();
        let x = g.private_input("a", "x", &[n as usize]).unwrap();
        let x = g.share(x).unwrap();
        let positive = g.drelu(x).unwrap();
        g.output("a", "d", positive).unwrap();
        let graph = g.finish();
        let report = run(&graph, vec![("a", "x", &[n as usize])]);
        let m = bits.unwrap_or(ring.bits());
        let words = n.div_ceil(64);
        let gates = and_gates(m) as u64;
        let expected = 8 * words * m as u64 + 3 * 8 * words * gates + 3 * n * l;
        assert_eq!(
            op_figures(&graph, &report, "drelu", 0),
            (expected, 0, comparison_rounds(m)),
            "{ring:?} m = {m}"
        );
    }
    // What the docs quote for the whole 64-bit ring, per element.
    assert_eq!(and_gates(64), 181);
    assert_eq!(comparison_rounds(64), 9);
}
