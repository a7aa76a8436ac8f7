//! What the runtime drives: one party's interpreter state for one graph.

use std::collections::BTreeMap;

use blindfold_ir::NodeId;
use ndarray::ArrayD;

use crate::communicator::Communicator;
use crate::error::Result;

/// One party of a session: runs its part of every node in order.
pub trait Executor: Send {
    /// Work before the first node (Pond: the producer deals its seeds).
    fn setup(&mut self, communicator: &mut dyn Communicator) -> Result<()>;

    /// This party's part of node `id`.
    fn execute(&mut self, id: NodeId, communicator: &mut dyn Communicator) -> Result<()>;

    /// The outputs this party received, by name, decoded to reals.
    fn take_outputs(&mut self) -> BTreeMap<String, ArrayD<f64>>;

    /// The output `name` this party has received so far, if any.
    fn output(&self, name: &str) -> Option<&ArrayD<f64>>;
}

/// For each node, the last node that reads its value (itself if none), so
/// that parties can free values they no longer need.
pub fn last_uses(graph: &blindfold_ir::Graph) -> Vec<usize> {
    let mut last: Vec<usize> = (0..graph.nodes().len()).collect();
    for (index, node) in graph.nodes().iter().enumerate() {
        for operand in node.op.operands() {
            last[operand.index()] = last[operand.index()].max(index);
        }
    }
    last
}
