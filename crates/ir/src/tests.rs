//! The builder's inference and insertion rules, errors that name the op,
//! and serialisation.

use crate::*;

fn two_party_matmul() -> (GraphBuilder, Tensor, Tensor) {
    let mut g = GraphBuilder::new();
    let w = g.private_input("model-owner", "w", &[4, 3]).unwrap();
    let x = g.private_input("prediction-client", "x", &[2, 4]).unwrap();
    (g, w, x)
}

#[test]
fn private_operands_of_two_parties_are_shared_once_and_products_truncated() {
    let (mut g, w, x) = two_party_matmul();
    let y = g.matmul(x, w).unwrap();
    let z = g.matmul(x, w).unwrap();
    assert_eq!(g.ty(y).visibility, Visibility::Shared);
    assert_eq!(g.ty(y).shape, vec![2, 3]);
    assert_eq!(g.ty(y).dtype, DType::Fixed { fractional_bits: 16 });
    g.output("prediction-client", "y", y).unwrap();
    g.output("prediction-client", "z", z).unwrap();
    let graph = g.finish();
    let names: Vec<&str> = graph.nodes().iter().map(|n| n.op.name()).collect();
    assert_eq!(
        names,
        [
            "input", "input", "share", "share", "matmul", "truncate", "matmul", "truncate", "reveal",
            "output", "reveal", "output"
        ]
    );
}

#[test]
fn one_partys_private_values_stay_private_and_local() {
    let mut g = GraphBuilder::new();
    let x = g.private_input("client", "x", &[3]).unwrap();
    let c = g.constant(&[3], &[1.0, 2.0, 3.0]).unwrap();
    let y = g.mul(x, c).unwrap();
    assert_eq!(g.ty(y).visibility, Visibility::Private("client".into()));
    g.output("client", "y", y).unwrap();
    assert!(g.finish().nodes().iter().all(|n| !matches!(n.op, Op::Share { .. })));
}

#[test]
fn errors_name_the_op_and_the_mismatch() {
    let (mut g, w, x) = two_party_matmul();
    let error = g.matmul(w, x).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("matmul") && text.contains("[4, 3]") && text.contains("[2, 4]"), "{text}");
    let error = g.add(x, w).unwrap_err();
    assert!(matches!(error, GraphError::ShapeMismatch { op: "add", .. }), "{error}");
    let y = g.matmul(x, w).unwrap();
    let error = g.output("model-owner", "x", x).unwrap_err();
    assert!(error.to_string().contains("private to prediction-client"), "{error}");
    let error = g.reshape(y, &[5]).unwrap_err();
    assert!(error.to_string().contains("reshape"), "{error}");
    assert!(g.private_input("model-owner", "w", &[1]).is_err(), "duplicate input names");
    let error = g.transpose(y, Some(&[0, 0])).unwrap_err();
    assert!(error.to_string().contains("transpose"));
    let integer = g.integer_constant(&[2, 3], &[1, 2, 3, 4, 5, 6]).unwrap();
    assert!(matches!(g.add(y, integer).unwrap_err(), GraphError::DTypeMismatch { .. }));
}

#[test]
fn unknown_parties_are_reported_with_the_op() {
    let (mut g, w, x) = two_party_matmul();
    let y = g.matmul(x, w).unwrap();
    g.output("auditor", "y", y).unwrap();
    let graph = g.finish();
    let known: Vec<String> = ["model-owner", "prediction-client"].map(String::from).to_vec();
    let error = graph.check_parties(&known).unwrap_err();
    match &error {
        GraphError::UnknownParty { op, party, .. } => {
            assert_eq!(*op, "reveal");
            assert_eq!(party, "auditor");
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn shapes_of_every_op() {
    let mut g = GraphBuilder::new();
    let x = g.private_input("a", "x", &[2, 3, 8, 8]).unwrap();
    let f = g.private_input("b", "f", &[4, 3, 3, 3]).unwrap();
    let y = g.conv2d(x, f, Conv2dGeometry::uniform(2, 1)).unwrap();
    assert_eq!(g.ty(y).shape, vec![2, 4, 4, 4]);
    let p = g.avg_pool2d(y, (2, 2), Conv2dGeometry { stride: (2, 2), padding: (0, 0, 0, 0) }).unwrap();
    assert_eq!(g.ty(p).shape, vec![2, 4, 2, 2]);
    let m = g.mean(p, &[2, 3], false).unwrap();
    assert_eq!(g.ty(m).shape, vec![2, 4]);
    let s = g.sum(p, &[1], true).unwrap();
    assert_eq!(g.ty(s).shape, vec![2, 1, 2, 2]);
    let t = g.transpose(m, None).unwrap();
    assert_eq!(g.ty(t).shape, vec![4, 2]);
    let c = g.concat(&[m, m], 1).unwrap();
    assert_eq!(g.ty(c).shape, vec![2, 8]);
    let q = g.sigmoid(c).unwrap();
    assert_eq!(g.ty(q).shape, vec![2, 8]);
    let r = g.reshape(q, &[16]).unwrap();
    assert_eq!(g.ty(r).shape, vec![16]);
    assert_eq!(g.ty(r).dtype, DType::Fixed { fractional_bits: 16 });
    let wrong_channels = g.private_input("b", "g", &[4, 2, 3, 3]).unwrap();
    let bad = g.conv2d(x, wrong_channels, Conv2dGeometry::default()).unwrap_err();
    assert!(bad.to_string().contains("conv2d"));
}

#[test]
fn graphs_round_trip_and_hash_by_content() {
    let (mut g, w, x) = two_party_matmul();
    let y = g.matmul(x, w).unwrap();
    g.output("prediction-client", "y", y).unwrap();
    let graph = g.finish();
    let bytes = graph.to_bytes();
    let decoded = Graph::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, graph);
    assert_eq!(decoded.hash(), graph.hash());
    assert_eq!(graph.hash().len(), 64);
    assert!(Graph::from_bytes(&bytes[..bytes.len() - 3]).is_err());
    assert!(Graph::from_bytes(&[9, 9, 1, 2]).is_err());
    let mut other = GraphBuilder::new();
    let w = other.private_input("model-owner", "w", &[4, 3]).unwrap();
    other.output("model-owner", "w", w).unwrap();
    assert_ne!(other.finish().hash(), graph.hash());
}

#[test]
fn a_tampered_graph_is_refused_when_read() {
    let (mut g, w, x) = two_party_matmul();
    let y = g.matmul(x, w).unwrap();
    g.output("prediction-client", "y", y).unwrap();
    let mut nodes = g.finish().nodes().to_vec();
    // Claim a shared value is public.
    nodes[4].ty.visibility = Visibility::Public;
    assert!(Graph::new(Ring::Z64, 16, nodes.clone()).is_err());
    // An operand that points forward.
    nodes[4] = Node { op: Op::Neg { source: NodeId(9) }, ty: nodes[4].ty.clone() };
    assert!(matches!(Graph::new(Ring::Z64, 16, nodes).unwrap_err(), GraphError::UnknownOperand { .. }));
}

#[test]
fn values_too_large_to_allocate_are_refused_when_built() {
    let mut g = GraphBuilder::new();
    // Dimensions whose product wraps, and a product just over the limit.
    for shape in [vec![1usize << 40, 1 << 40], vec![MAX_ELEMENTS + 1], vec![usize::MAX, 2]] {
        let error = g.private_input("client", &format!("x{}", shape.len()), &shape).unwrap_err();
        assert!(matches!(error, GraphError::TooLarge { .. }), "{shape:?}: {error}");
        assert!(error.to_string().contains("limit"), "{error}");
    }
    // A convolution padded without end: refused, not allocated.
    let x = g.private_input("client", "image", &[1, 1, 8, 8]).unwrap();
    let f = g.private_input("owner", "filter", &[1, 1, 3, 3]).unwrap();
    let huge = Conv2dGeometry { stride: (1, 1), padding: (1 << 20, 1 << 20, 1 << 20, 1 << 20) };
    assert!(matches!(g.conv2d(x, f, huge).unwrap_err(), GraphError::TooLarge { .. }));
    let wrapping = Conv2dGeometry { stride: (1, 1), padding: (usize::MAX, 1, 1, 1) };
    assert!(g.conv2d(x, f, wrapping).is_err());
    let window = g.max_pool2d(x, (1 << 33, 1 << 33), huge);
    assert!(window.is_err());
}
