//! Graph errors: each names the op (its id and kind) and what is wrong.

use thiserror::Error;

use crate::op::NodeId;

/// What is wrong with a graph or a builder call.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GraphError {
    /// Operand shapes do not fit the op.
    #[error("{node} ({op}): shapes {left:?} and {right:?} do not match: {reason}")]
    ShapeMismatch { node: NodeId, op: &'static str, left: Vec<usize>, right: Vec<usize>, reason: String },
    /// Operand dtypes do not fit the op.
    #[error("{node} ({op}): {reason}")]
    DTypeMismatch { node: NodeId, op: &'static str, reason: String },
    /// A value's visibility does not allow the op.
    #[error("{node} ({op}): {reason}")]
    Visibility { node: NodeId, op: &'static str, reason: String },
    /// An argument of the op is invalid.
    #[error("{node} ({op}): {reason}")]
    InvalidArgument { node: NodeId, op: &'static str, reason: String },
    /// A value with more elements than a graph allows.
    #[error("{node} ({op}): a value of shape {shape:?} ({elements} elements) is more than the limit of {limit} elements", limit = crate::types::MAX_ELEMENTS)]
    TooLarge { node: NodeId, op: &'static str, shape: Vec<usize>, elements: String },
    /// An operand refers to a node that does not exist or comes later.
    #[error("{node} ({op}): operand {operand} is not an earlier node of this graph")]
    UnknownOperand { node: NodeId, op: &'static str, operand: NodeId },
    /// A graph names a party the session does not have.
    #[error("{node} ({op}): party '{party}' is not one of the session's parties {known:?}")]
    UnknownParty { node: NodeId, op: &'static str, party: String, known: Vec<String> },
    /// The graph could not be (de)serialised.
    #[error("graph encoding: {0}")]
    Encoding(String),
}

/// Result of a graph operation.
pub type Result<T> = std::result::Result<T, GraphError>;
