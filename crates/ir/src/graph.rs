//! [`Graph`]: the nodes in order, each with its op and the inferred type of
//! its value; validation, serialisation and the content hash.

use serde::{Deserialize, Serialize};

use crate::error::{GraphError, Result};
use crate::inference::infer;
use crate::op::{NodeId, Op};
use crate::types::{Ring, ValueType};

/// One node: an op and the type of the value it produces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub op: Op,
    pub ty: ValueType,
}

/// A validated dataflow graph. Nodes are in a valid execution order (every
/// operand comes earlier), and every type is the one inference gives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    ring: Ring,
    fractional_bits: u32,
    nodes: Vec<Node>,
}

/// The serialised format's version, first in every encoded graph.
const FORMAT_VERSION: u16 = 1;

impl Graph {
    /// Checks `nodes` (operands earlier, types as inferred) and builds a graph.
    pub fn new(ring: Ring, fractional_bits: u32, nodes: Vec<Node>) -> Result<Graph> {
        let mut graph = Graph { ring, fractional_bits, nodes: Vec::with_capacity(nodes.len()) };
        for node in nodes {
            let id = NodeId(graph.nodes.len() as u32);
            let inferred = infer(&graph, id, &node.op, Some(&node.ty))?;
            if inferred != node.ty {
                return Err(GraphError::InvalidArgument {
                    node: id,
                    op: node.op.name(),
                    reason: format!("declared type {:?} differs from the inferred {:?}", node.ty, inferred),
                });
            }
            graph.nodes.push(node);
        }
        Ok(graph)
    }

    /// An empty graph (the builder's start).
    pub(crate) fn empty(ring: Ring, fractional_bits: u32) -> Graph {
        Graph { ring, fractional_bits, nodes: Vec::new() }
    }

    pub(crate) fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        NodeId(self.nodes.len() as u32 - 1)
    }

    /// The ring.
    pub fn ring(&self) -> Ring {
        self.ring
    }

    /// Fractional bits of fixed-point values after truncation.
    pub fn fractional_bits(&self) -> u32 {
        self.fractional_bits
    }

    /// The nodes in execution order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node with `id`.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.index())
    }

    /// Every party the graph names (inputs, reveals, outputs), sorted.
    pub fn parties(&self) -> Vec<String> {
        let mut parties: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|node| match &node.op {
                Op::Input { party, .. } | Op::Reveal { party, .. } | Op::Output { party, .. } => {
                    Some(party.clone())
                }
                _ => None,
            })
            .collect();
        parties.sort();
        parties.dedup();
        parties
    }

    /// Checks that every party the graph names is in `known`.
    pub fn check_parties(&self, known: &[String]) -> Result<()> {
        for (index, node) in self.nodes.iter().enumerate() {
            if let Op::Input { party, .. } | Op::Reveal { party, .. } | Op::Output { party, .. } = &node.op
                && !known.contains(party)
            {
                return Err(GraphError::UnknownParty {
                    node: NodeId(index as u32),
                    op: node.op.name(),
                    party: party.clone(),
                    known: known.to_vec(),
                });
            }
        }
        Ok(())
    }

    /// The graph's portable encoding: a version, then postcard.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = FORMAT_VERSION.to_le_bytes().to_vec();
        bytes.extend(postcard::to_allocvec(self).expect("graphs always serialise"));
        bytes
    }

    /// Reads and re-validates an encoded graph.
    pub fn from_bytes(bytes: &[u8]) -> Result<Graph> {
        let (version, body) = bytes
            .split_first_chunk::<2>()
            .ok_or_else(|| GraphError::Encoding("the encoding is shorter than its version".into()))?;
        let version = u16::from_le_bytes(*version);
        if version != FORMAT_VERSION {
            return Err(GraphError::Encoding(format!(
                "format version {version} is not the supported {FORMAT_VERSION}"
            )));
        }
        let decoded: Graph =
            postcard::from_bytes(body).map_err(|error| GraphError::Encoding(error.to_string()))?;
        Graph::new(decoded.ring, decoded.fractional_bits, decoded.nodes)
    }

    /// The content hash (BLAKE3 of the encoding), hex: what a party approves.
    pub fn hash(&self) -> String {
        blake3::hash(&self.to_bytes()).to_hex().to_string()
    }
}
