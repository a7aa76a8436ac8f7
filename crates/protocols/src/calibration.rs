//! Comparison widths calibrated on the model owner's plaintext sample.
//!
//! A comparison on x mod 2^m is exact while |x| < 2^(m−1) ulps, and costs
//! about (m−1)/(k−1) of the whole ring's (the DCF has m − 1 levels). The
//! model owner runs its model on a sample of its own inputs, in f64
//! ([`crate::bounds`] with exact values), takes the largest |x| each
//! comparison sees, multiplies it by the margin 2^[`MARGIN_BITS`] (16×), and
//! gives that comparison the smallest power-of-two width that holds it
//! (at least F + 2 bits, at most the ring's). The widths are stored in the
//! graph's ops, so every party sees them and approves them with the
//! graph's hash.
//!
//! What they reveal: for each comparison node, a power of two above
//! 16× the largest value the owner's sample reached there (which of 32 or
//! 64 bits, in Z_2^64): at most one bit per comparison node of the model
//! about the scale of its activations, nothing about any input.
//!
//! An input beyond the calibrated range is never compared wrongly in
//! silence: every in-process session bounds its values on the actual inputs
//! before it runs ([`crate::headroom`], check 3) and refuses, naming the
//! node (not the value); between workers each worker checks its declared
//! input ranges the same way.

use std::collections::BTreeMap;

use blindfold_ir::{Graph, GraphError, Node, NodeId, Op};

use crate::bounds::{BoundsError, KnownInputs, propagate};

/// The margin over the largest value seen on the sample: 2^4 = 16×.
pub const MARGIN_BITS: u32 = 4;

/// Each calibrated comparison's width in bits, by node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Widths {
    pub by_node: BTreeMap<NodeId, u32>,
}

impl Widths {
    /// How many comparison nodes got each width (for reports).
    pub fn histogram(&self) -> BTreeMap<u32, usize> {
        let mut counts = BTreeMap::new();
        for &bits in self.by_node.values() {
            *counts.entry(bits).or_insert(0) += 1;
        }
        counts
    }
}

/// The width each exact comparison (`Op::Drelu`) of `graph` needs for the
/// values `sample` (every input's values) give it, with the margin.
pub fn calibrate(graph: &Graph, sample: &KnownInputs) -> Result<Widths, BoundsError> {
    let bounds = propagate(graph, sample)?;
    let (ring_bits, fractional) = (graph.ring().bits(), graph.fractional_bits());
    let mut widths = Widths::default();
    for (index, node) in graph.nodes().iter().enumerate() {
        let Op::Drelu { source } = node.op else { continue };
        let source_bits = graph.node(source).expect("operands precede").ty.dtype.fractional_bits();
        let largest = bounds[source.index()].value * 2f64.powi((source_bits + MARGIN_BITS) as i32);
        // The smallest power of two m > F + 1 with largest < 2^(m−1).
        let mut bits = (fractional + 2).next_power_of_two();
        while bits < ring_bits && (largest.is_nan() || largest >= 2f64.powi(bits as i32 - 1)) {
            bits *= 2;
        }
        widths.by_node.insert(NodeId(index as u32), bits.min(ring_bits));
    }
    Ok(widths)
}

/// `graph` with each calibrated comparison narrower than the ring compared
/// on its width (`Op::DreluBounded`); the same graph otherwise.
pub fn apply(graph: &Graph, widths: &Widths) -> Result<Graph, GraphError> {
    // Widths calibrated on the same model at another batch size sit on the
    // same nodes; anything else is a mistake, not a graph to narrow.
    if let Some((&id, _)) = widths
        .by_node
        .iter()
        .find(|(id, _)| !matches!(graph.node(**id).map(|n| &n.op), Some(Op::Drelu { .. })))
    {
        return Err(GraphError::InvalidArgument {
            node: id,
            op: "calibration",
            reason: "the calibrated widths are not this graph's: no comparison here".into(),
        });
    }
    let nodes: Vec<Node> = graph
        .nodes()
        .iter()
        .enumerate()
        .map(|(index, node)| match (&node.op, widths.by_node.get(&NodeId(index as u32))) {
            (Op::Drelu { source }, Some(&bits)) if bits < graph.ring().bits() => {
                Node { op: Op::DreluBounded { source: *source, bits }, ty: node.ty.clone() }
            }
            _ => node.clone(),
        })
        .collect();
    Graph::new(graph.ring(), graph.fractional_bits(), nodes)
}

#[cfg(test)]
mod tests {
    use blindfold_ir::{GraphBuilder, Ring};
    use ndarray::{ArrayD, IxDyn};

    use super::*;
    use crate::bounds::Known;

    fn relu_of(values: Vec<f64>) -> (Graph, KnownInputs) {
        let mut g = GraphBuilder::with_ring(Ring::Z64);
        let x = g.private_input("a", "x", &[values.len()]).unwrap();
        let x = g.share(x).unwrap();
        let y = g.relu(x).unwrap();
        g.output("a", "y", y).unwrap();
        let known = KnownInputs::from([(
            ("a".to_string(), "x".to_string()),
            Known::Exact(ArrayD::from_shape_vec(IxDyn(&[values.len()]), values).unwrap()),
        )]);
        (g.finish(), known)
    }

    #[test]
    fn small_values_get_32_bits_and_large_ones_the_ring() {
        // 16 fractional bits: 32-bit comparisons hold |x| < 2^15 / 16 = 2048.
        let (graph, sample) = relu_of(vec![-3.0, 2047.0 / 16.0 * 15.9]);
        let widths = calibrate(&graph, &sample).unwrap();
        assert_eq!(widths.histogram(), BTreeMap::from([(32, 1)]));
        let narrowed = apply(&graph, &widths).unwrap();
        assert!(narrowed.nodes().iter().any(|n| matches!(n.op, Op::DreluBounded { bits: 32, .. })));
        let (graph, sample) = relu_of(vec![3000.0]);
        assert_eq!(calibrate(&graph, &sample).unwrap().histogram(), BTreeMap::from([(64, 1)]));
        // A width of the ring leaves the comparison exact on the whole ring.
        let unchanged = apply(&graph, &calibrate(&graph, &sample).unwrap()).unwrap();
        assert_eq!(unchanged, graph);
    }
}
