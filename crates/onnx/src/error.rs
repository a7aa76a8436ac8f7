//! Import errors: each names the node, its op, and what is missing.

use thiserror::Error;

/// Why a model could not be imported.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OnnxError {
    /// The bytes are not an ONNX model.
    #[error("not a valid ONNX model: {0}")]
    Decode(String),
    /// The model's opset is outside 1–21.
    #[error("opset {0} is not supported (1 to 21 are)")]
    Opset(i64),
    /// An op the importer does not take.
    #[error("node '{node}': op {op} is not supported")]
    UnsupportedOp { node: String, op: String },
    /// An attribute value the importer does not take.
    #[error("node '{node}' ({op}): {what}")]
    Unsupported { node: String, op: String, what: String },
    /// A node's input that nothing produces.
    #[error("node '{node}' ({op}): input '{input}' is not produced by any node or initializer")]
    MissingValue { node: String, op: String, input: String },
    /// A tensor that cannot be read.
    #[error("tensor '{name}': {reason}")]
    Tensor { name: String, reason: String },
    /// The model's input or output is not what a prediction needs.
    #[error("model signature: {0}")]
    Signature(String),
    /// The converted graph is inconsistent (a shape mismatch, …).
    #[error("node '{node}' ({op}): {source}")]
    Graph { node: String, op: String, source: Box<blindfold_ir::GraphError> },
}

/// Result of an import.
pub type Result<T> = std::result::Result<T, OnnxError>;
